#!/usr/bin/env bash
# Fault injection ("make mutants", not part of CI): every scripts/mutants/*.patch is applied to a
# scratch copy of the tree, which must still build, and the tests the patch names must then fail.
# The script fails unless every fault is caught.
#
# A patch is a unified diff (git diff) preceded by header lines, before the first "diff --git":
#   # fault: what the patch breaks, in words
#   # test: ./sr/diffusion -run 'TestOracleCFG|TestX'      (go test arguments; one or more lines)
# Usage: scripts/mutants.sh [PATTERN]   (only patches whose file name contains PATTERN)
set -uo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
shared=$(cd .. && pwd)/shared
for d in /usr/local/go/bin /usr/lib/go-1.23/bin; do [ -x "$d/go" ] && export PATH="$d:$PATH"; done
export UGCSR_REQUIRE_ORT=${UGCSR_REQUIRE_ORT:-1}
scratch=$(mktemp -d /tmp/ugcsr-mutants.XXXXXX)
trap 'rm -rf "$scratch"' EXIT
ln -s "$shared" "$scratch/shared"
caught=0; survived=(); broken=()
for p in scripts/mutants/*.patch; do
	name=$(basename "$p" .patch)
	[[ -n "${1:-}" && "$name" != *"$1"* ]] && continue
	fault=$(sed -n 's/^# fault: //p' "$p" | head -1)
	mapfile -t tests < <(sed -n '/^diff --git/q; s/^# test: //p' "$p")
	rm -rf "$scratch/repo"
	mkdir "$scratch/repo"
	git ls-files -z --cached --others --exclude-standard | xargs -0 cp --parents -t "$scratch/repo" 2>/dev/null
	if ! (cd "$scratch/repo" && git apply --unidiff-zero "$repo/$p" 2>/dev/null || patch -s -p1 <"$repo/$p" >/dev/null); then
		broken+=("$name (does not apply)"); continue
	fi
	fail=0 build=0
	for t in "${tests[@]}"; do
		eval "args=($t)"
		# A package in a module of its own (tools/k8scheck) is tested from its directory, with the
		# patched tree still beside it.
		mod=.
		if [[ -f "$scratch/repo/${args[0]}/go.mod" ]]; then mod=${args[0]}; args[0]=./...; fi
		if ! (cd "$scratch/repo/$mod" && go vet "${args[0]}" >/dev/null 2>&1 && go test -count=1 -run '^$' "${args[0]}" >/dev/null 2>&1); then
			build=1; break
		fi
		if ! (cd "$scratch/repo/$mod" && go test -count=1 "${args[@]}" >"$scratch/log" 2>&1); then
			fail=1
			first=$(grep -m1 -E '^\s+--- FAIL|_test.go:[0-9]+:' "$scratch/log" | sed 's/^\s*//')
		fi
	done
	if ((build)); then
		broken+=("$name (does not build)")
	elif ((fail)); then
		caught=$((caught + 1)); printf 'caught   %-34s %s\n         by: %s\n' "$name" "$fault" "$first"
	else
		survived+=("$name"); printf 'SURVIVED %-34s %s\n' "$name" "$fault"
	fi
done
echo "mutants: ${caught} caught, ${#survived[@]} survived, ${#broken[@]} broken"
for b in "${broken[@]}"; do echo "broken: $b"; done
((${#survived[@]} == 0 && ${#broken[@]} == 0))
