#!/usr/bin/env bash
# The main job, end to end: setup (installs what is missing), then upscale a sample clip x2 with the
# embedded default model (Real-ESRGAN x4fast on the CPU) and print where the output went.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
for d in /usr/local/go/bin /usr/lib/go-1.23/bin; do [ -x "$d/go" ] && export PATH="$d:$PATH"; done
clip=${1:-../shared/clips/01_dog.mp4}
mkdir -p out
if [ ! -f "$clip" ]; then
	clip=out/sample.mp4
	ffmpeg -v error -y -f lavfi -i testsrc2=s=640x360:r=30 -f lavfi -i sine=f=440 -t 3 -c:v libx264 -c:a aac -shortest "$clip"
fi
# Real-ESRGAN x4fast costs about 10 s per 720p frame on a 2-core CPU, so the demo does the first
# half second (15 frames); drop -t to do the whole clip.
bin/ugcsr -i "$clip" -t 0.5 -s 2 -y out/demo.mp4
echo "output: $(pwd)/out/demo.mp4"
