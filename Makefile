# Convenience targets; the README's two commands are scripts/demo.sh and scripts/test.sh.
.PHONY: setup build test demo bench fuzz mutants
setup:
	./scripts/setup.sh
build:
	go build -o bin/ugcsr ./cmd/ugcsr
test:
	./scripts/test.sh
demo:
	./scripts/demo.sh
bench: build
	./scripts/bench.sh
fuzz:
	go test -run=NONE -fuzz=FuzzParseParam -fuzztime=60s ./sr/ncnn/
	go test -run=NONE -fuzz=FuzzReadModel -fuzztime=60s ./sr/onnx/
mutants:
	./scripts/mutants.sh
