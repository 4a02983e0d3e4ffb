#!/usr/bin/env bash
# The whole test suite: setup (installs what is missing), vet, then every package's tests with the
# ONNX Runtime tests required (UGCSR_REQUIRE_ORT=1 turns their "runtime missing" skips into failures).
# Setup also lays out the GPU build (--gpu; no GPU needed), so that every run checks the core/provider
# pairing and what --device cuda says on a machine without a GPU (~291 MB fetched once, then cached).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh --gpu
for d in /usr/local/go/bin /usr/lib/go-1.23/bin; do [ -x "$d/go" ] && export PATH="$d:$PATH"; done
export UGCSR_REQUIRE_ORT=${UGCSR_REQUIRE_ORT:-1}
go vet ./...
go test -count=1 -timeout 50m ./... "$@"
# The Kubernetes manifest is checked against k8s.io/api in a module of its own (ugcsr does not depend on it).
(cd tools/k8scheck && go test -count=1 ./...)
# The pipeline's and the preview's concurrency is also checked under the race detector.
go test -count=1 -race -timeout 20m ./pipeline/ ./temporal/ ./frame/ ./preview/
