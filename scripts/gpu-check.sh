#!/usr/bin/env bash
# The one prepared GPU check (issue 10). Three verbs:
#   scripts/gpu-check.sh pack          here (CPU machine): build FFmpeg-free test binaries, gather the
#                                      GPU build of ONNX Runtime, the ncnn models and the goldens into one
#                                      zstd archive split into parts < 60 MiB under .dev/gpu/
#   scripts/gpu-check.sh recv PART     on the GPU machine, one run per part (carry .dev/gpu/PART):
#                                      appends the part to /tmp/ugcsr-gpu/bundle.tar.zst
#   scripts/gpu-check.sh run [PART]    on the GPU machine, the last run: appends PART if given, checks the
#                                      checksum, unpacks and runs the checks, most important first,
#                                      printing one table row per check; logs go to $OUT when set
#   scripts/gpu-check.sh dryrun        here: pack, recv every part into a scratch dir, run (on a machine
#                                      without a GPU every CUDA row says why it could not run)
# See ../shared/method/gpu.md for why the files travel this way. No number is written anywhere but
# this script's output: copy measured figures into README by hand, with the machine named.
set -uo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
PACK=$repo/.dev/gpu
WORK=${UGCSR_GPU_WORK:-/tmp/ugcsr-gpu}
CACHE=${UGCSR_CACHE:-$HOME/.cache/ugcsr}
models=upscayl/package/dist/upscaler/sub-classes/model-manager/models

pack() {
	rm -rf "$PACK" && mkdir -p "$PACK/stage/bin" "$PACK/stage/lib" "$PACK/stage/cache/ort-gpu" "$PACK/stage/cache/$models"
	for d in /usr/local/go/bin /usr/lib/go-1.23/bin; do [ -x "$d/go" ] && export PATH="$d:$PATH"; done
	local pkgs=(./sr/ort ./sr/ort/iobind ./sr/realesrgan ./sr/diffusion ./sr/diffusion/synthetic)
	for p in "${pkgs[@]}"; do
		go test -c -o "$PACK/stage/bin/$(basename "$p").test" "$p" || return 1
	done
	# Shared libraries beyond glibc and libstdc++ that the binaries need (FFmpeg's, for the test
	# helpers that decode PNGs and clips), so the GPU machine's image needs none of Debian's.
	for b in "$PACK"/stage/bin/*.test; do ldd "$b"; done | awk '/=> \//{print $3}' | sort -u |
		grep -vE '/(libc|libm|libdl|libpthread|librt|ld-linux[^/]*|libstdc\+\+|libgcc_s)\.so' |
		while read -r l; do cp -L "$l" "$PACK/stage/lib/"; done
	cp "$CACHE"/ort-gpu/{VERSION,libonnxruntime.so.1,libonnxruntime_providers_shared.so,libonnxruntime_providers_cuda.so,libonnxruntime_providers_tensorrt.so} "$PACK/stage/cache/ort-gpu/" || return 1
	cp "$CACHE/$models"/realesrgan-x4{fast,plus}.{param,bin} "$PACK/stage/cache/$models/"
	mkdir -p "$PACK/stage/shared" && cp -r ../shared/golden "$PACK/stage/shared/"
	tar -C "$PACK/stage" -cf - . | zstd -q -9 --long=27 -T0 -o "$PACK/bundle.tar.zst" || return 1
	(cd "$PACK" && sha256sum bundle.tar.zst | awk '{print $1}' >bundle.sha256 && split -b 55M -d bundle.tar.zst part. && rm bundle.tar.zst)
	rm -rf "$PACK/stage"
	ls -l "$PACK"
	echo "gpu-check: $(ls "$PACK"/part.* | wc -l) parts; carry .dev/gpu/part.NN in consecutive runs (recv), the last with run"
}

recv() {
	mkdir -p "$WORK"
	cat "$1" >>"$WORK/bundle.tar.zst" && echo "gpu-check: $(du -h "$WORK/bundle.tar.zst" | cut -f1) received"
	ldd --version | head -1; nvidia-smi -L 2>&1 | head -4
}

row() { printf '| %-34s | %-6s | %s |\n' "$1" "$2" "$3"; }

# check NAME TIMEOUT CMD...: runs CMD in the fake repo, keeps its log, prints a row.
check() {
	local name=$1 limit=$2
	shift 2
	local log="$LOGS/$(echo "$name" | tr ' /' '__').log"
	(cd "$WORK/repo/$PKGDIR" && timeout "$limit" "$@") >"$log" 2>&1
	local rc=$?
	local res=ok
	((rc == 0)) || res="FAIL($rc)"
	local info
	info=$(grep -hE 'gpu-check:|fps|dB|bytes|s/step|ms|PASS|FAIL|ok|no ' "$log" | grep -v '^=== RUN' | tail -3 | tr '\n' ' ' | cut -c1-160)
	row "$name" "$res" "$info"
}

run() {
	[ -n "${1:-}" ] && recv "$1"
	LOGS=${OUT:-$WORK/logs}
	mkdir -p "$LOGS"
	[ "$(sha256sum "$WORK/bundle.tar.zst" | awk '{print $1}')" = "$(cat "$PACK/bundle.sha256")" ] || { echo "gpu-check: checksum differs"; return 1; }
	rm -rf "$WORK/repo" "$WORK/cache" && mkdir -p "$WORK/repo"
	zstd -q -d --long=27 -c "$WORK/bundle.tar.zst" | tar -C "$WORK" -xf - || return 1
	# A repository-shaped folder so the tests find go.mod above them and ../shared beside it.
	mkdir -p "$WORK/repo/sr/ort/iobind" "$WORK/repo/sr/realesrgan" "$WORK/repo/sr/diffusion/synthetic"
	cp "$repo/go.mod" "$WORK/repo/"
	export LD_LIBRARY_PATH="$WORK/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
	export UGCSR_CACHE="$WORK/cache" UGCSR_REQUIRE_ORT=1 UGCSR_ORT_LIB="$WORK/cache/ort-gpu/libonnxruntime.so.1"
	# CUDA 13 / cuDNN 9 from a PyTorch install when the system has none (sr/ort searches these too).
	export UGCSR_CUDA_PATH=$(ls -d /usr/local/lib/python3*/dist-packages/nvidia/*/lib /usr/lib/python3*/dist-packages/nvidia/*/lib \
		/opt/conda/lib/python3*/site-packages/nvidia/*/lib /usr/local/lib/python3*/site-packages/nvidia/*/lib 2>/dev/null | tr '\n' ':')
	(nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits -lms 200 >"$LOGS/gpu-mem.csv" 2>/dev/null &
		echo $! >"$WORK/smi.pid")
	B=$WORK/bin
	echo "| check | result | figures |"
	echo "|---|---|---|"
	PKGDIR=sr/ort
	check "cuda provider loads (probe)" 120 "$B/ort.test" -test.v -test.run 'TestDeviceCUDA|TestGPUBuild'
	check "signals kept around CUDA" 120 "$B/ort.test" -test.v -test.run 'TestNewSessionKeepsSignals'
	PKGDIR=sr/realesrgan
	check "x4fast/x4plus fp16 vs fp32 (>=45 dB)" 300 "$B/realesrgan.test" -test.v -device cuda -test.run 'TestGoldenFP16'
	check "graph resize + batch on cuda" 240 "$B/realesrgan.test" -test.v -device cuda -test.run 'TestGraphResize|TestBatch$'
	check "x4fast fp16 720p->1440p fps" 240 env UGCSR_BENCH_PRECISION=fp16 "$B/realesrgan.test" -device cuda -test.run '^$' -test.bench 'BenchmarkGPUThroughput' -test.benchtime 30x
	check "x4fast fp32 720p->1440p fps" 240 env UGCSR_BENCH_PRECISION=fp32 "$B/realesrgan.test" -device cuda -test.run '^$' -test.bench 'BenchmarkGPUThroughput' -test.benchtime 30x
	check "x4plus fp16 720p->1440p fps" 300 env UGCSR_BENCH_PRECISION=fp16 UGCSR_BENCH_MODEL=realesrgan-x4plus "$B/realesrgan.test" -device cuda -test.run '^$' -test.bench 'BenchmarkGPUThroughput' -test.benchtime 10x
	PKGDIR=sr/ort/iobind
	check "iobind on cuda memory" 180 env UGCSR_TEST_DEVICE=cuda "$B/iobind.test" -test.v
	PKGDIR=sr/diffusion
	check "diffusion on device vs host (>=60 dB)" 300 env UGCSR_TEST_DEVICE=cuda "$B/diffusion.test" -test.v -test.run 'TestBoundMatchesHost|TestBoundBytes|TestBoundProfile'
	check "oracle suite on cuda" 300 env UGCSR_TEST_DEVICE=cuda "$B/diffusion.test" -test.run 'TestOracle'
	row "peak GPU memory (MiB)" "-" "$(sort -n "$LOGS/gpu-mem.csv" 2>/dev/null | tail -1)"
	# The seed method's cost (issue 15): the full-size synthetic bundle (3.2 GB of fp16 weights) is
	# generated here by the carried test binary, not carried, then timed in fp16 with guidance on
	# (batch 2) and off, on 64, 90 and 96 latent tiles, with the cached SAM K/V variant. Figures:
	# $LOGS/seesr_synthetic_fp16_bench.log; the peak GPU memory of this check alone follows.
	PKGDIR=sr/diffusion/synthetic
	local from
	from=$(wc -l <"$LOGS/gpu-mem.csv" 2>/dev/null || echo 0)
	check "seesr synthetic fp16 bench" "${UGCSR_SYNTHETIC_TIMEOUT:-480}" env UGCSR_TEST_DEVICE=${UGCSR_SYNTHETIC_DEVICE:-cuda} \
		UGCSR_SYNTHETIC_BENCH="$WORK/synthetic" UGCSR_SYNTHETIC_STEPS=${UGCSR_SYNTHETIC_STEPS:-5} "$B/synthetic.test" -test.v -test.run '^TestFullBench$'
	grep -h 'gpu-check:' "$LOGS/seesr_synthetic_fp16_bench.log" | sed 's/^ *[a-z_]*_test.go:[0-9]*: gpu-check: /    /'
	row "peak GPU memory, synthetic (MiB)" "-" "$(tail -n +"$((from + 1))" "$LOGS/gpu-mem.csv" 2>/dev/null | sort -n | tail -1)"
	kill "$(cat "$WORK/smi.pid")" 2>/dev/null
	rm -rf "$WORK/synthetic"
}

case "${1:-}" in
pack) pack ;;
recv) recv "$2" ;;
run) run "${2:-}" ;;
dryrun)
	pack || exit 1
	export UGCSR_GPU_WORK=$(mktemp -d) WORK
	WORK=$UGCSR_GPU_WORK
	parts=("$PACK"/part.*)
	for p in "${parts[@]::${#parts[@]}-1}"; do recv "$p"; done
	run "${parts[-1]}"
	rm -rf "$WORK"
	;;
*) sed -n '2,16p' "$0"; exit 2 ;;
esac
