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
	go test -run=NONE -fuzz=FuzzLoadBin -fuzztime=60s ./sr/ncnn/
	go test -run=NONE -fuzz=FuzzTSLoss -fuzztime=60s ./decode/
	go test -run=NONE -fuzz=FuzzReadProfile -fuzztime=60s ./sr/ort/iobind/
	go test -run=NONE -fuzz=FuzzLoadManifest -fuzztime=60s ./sr/diffusion/
	for f in FuzzTokenizer FuzzParsePreset FuzzParseNoiseMode FuzzParseColorFix; do \
		go test -run=NONE -fuzz=^$$f\$$ -fuzztime=30s ./sr/diffusion/ || exit 1; done
	go test -run=NONE -fuzz=FuzzParseFilter -fuzztime=30s ./sr/resample/
	go test -run=NONE -fuzz=FuzzParseDevice -fuzztime=30s ./sr/ort/
	for f in FuzzParseTime FuzzParseScaleFilter FuzzParseBitrate FuzzParseLogLevel FuzzReorderArgs; do \
		go test -run=NONE -fuzz=^$$f\$$ -fuzztime=30s ./cmd/ugcsr/ || exit 1; done
mutants:
	./scripts/mutants.sh
