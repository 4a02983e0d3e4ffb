#!/usr/bin/env bash
# Benchmarks (measurements, not tests) behind the README's tables. Prints markdown.
#   1. ugcsr bench pipeline: decode, decode+encode, Lanczos x2 job vs ffmpeg's own (issue 2)
#   2. ugcsr bench realesrgan: x4fast per frame vs ONNX Runtime's MatMul peak and the ncnn reference
#      binary on Mesa's CPU Vulkan driver (lavapipe), which needs the vkshim filter from ../shared/tools.
#   3. ugcsr bench quality: Lanczos against x4fast at strengths and stabilized on the shared clips
#      degraded as uploads are (72 frames through the model at 640x360: about 3 minutes of model
#      time on 2 quiet cores).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
for d in /usr/local/go/bin /usr/lib/go-1.23/bin; do [ -x "$d/go" ] && export PATH="$d:$PATH"; done
CACHE=${UGCSR_CACHE:-$HOME/.cache/ugcsr}
SUDO=""
[ "$(id -u)" = 0 ] || SUDO=sudo
if ! dpkg -s mesa-vulkan-drivers libvulkan-dev >/dev/null 2>&1; then
	$SUDO apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends mesa-vulkan-drivers libvulkan1 libvulkan-dev >/dev/null
fi
shim="$CACHE/vkshim.so"
[ -s "$shim" ] || gcc -shared -fPIC -o "$shim" ../shared/tools/vkshim.c -ldl
clip=${1:-../shared/clips/01_dog.mp4}
echo "## pipeline ($(date -u +%F), $(nproc) cores)"
bin/ugcsr bench pipeline -i "$clip"
echo
echo "## Real-ESRGAN x4fast"
bin/ugcsr bench realesrgan --vkshim "$shim"
echo
echo "## Fidelity and flicker"
bin/ugcsr bench quality
