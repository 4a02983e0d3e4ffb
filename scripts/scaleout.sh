#!/usr/bin/env bash
# The figures of the README's scale-out throughput model, measured here: one clip upscaled whole, then
# planned in N segments, each segment run alone in its own process (as one pod does), all N at once
# (what N pods do, minus Kubernetes; on this machine they share its cores), and joined.
#
# Usage: scripts/scaleout.sh [CLIP] [SECONDS] [SEGMENTS] [job options...]
#   default: ../shared/clips/01_dog.mp4, its first 4 s scaled to 320x180, 4 segments, the default job
#   (Real-ESRGAN x4fast, x2).
set -euo pipefail
cd "$(dirname "$0")/.."
clip=${1:-../shared/clips/01_dog.mp4}
secs=${2:-4}
n=${3:-4}
shift $(( $# < 3 ? $# : 3 ))
[ -x bin/ugcsr ] || go build -o bin/ugcsr ./cmd/ugcsr
bin=$(pwd)/bin/ugcsr
work=$(mktemp -d /tmp/ugcsr-scaleout.XXXXXX)
trap 'rm -rf "$work"' EXIT
ffmpeg -v error -i "$clip" -t "$secs" -vf scale=320:180 -c:v libx264 -c:a copy "$work/in.mp4"
now() { date +%s.%N; }
calc() { awk "BEGIN { print $* }"; }
timed() { local s; s=$(now); "$@" >"$work/log" 2>&1 || { cat "$work/log"; exit 1; }; calc "$(now) - $s"; }

whole=$(timed "$bin" -i "$work/in.mp4" "$@" -y "$work/whole.mp4")
plan=$(timed "$bin" plan -i "$work/in.mp4" "$@" --segments "$n" -o "$work/p/plan.json")
frames=$(grep -m1 -o '"frames": [0-9]*' "$work/p/plan.json" | grep -o '[0-9]*$')
segs=()
sum=0
max=0
for ((k = 0; k < n; k++)); do
	s=$(timed "$bin" run-segment --plan "$work/p/plan.json" --index "$k")
	segs+=("$s")
	sum=$(calc "$sum + $s")
	max=$(calc "($s > $max) ? $s : $max")
done
join=$(timed "$bin" join --plan "$work/p/plan.json" -y "$work/joined.mp4")
rm -f "$work"/p/seg-*.nut
s=$(now)
for ((k = 0; k < n; k++)); do
	JOB_COMPLETION_INDEX=$k "$bin" run-segment --plan "$work/p/plan.json" >"$work/log$k" 2>&1 &
done
wait
parallel=$(calc "$(now) - $s")

cores=$(nproc)
model=$(grep -m1 -o 'model name.*' /proc/cpuinfo | sed 's/model name[^:]*: //')
printf 'machine: %s, %s cores; clip: %s, %s s at 320x180 (%s frames); job: %s\n' "$model" "$cores" "$clip" "$secs" "$frames" "${*:-default}"
printf 'whole run:                     %7.1f s (%.2f s/frame)\n' "$whole" "$(calc "$whole / $frames")"
printf 'plan:                          %7.1f s\n' "$plan"
for ((k = 0; k < n; k++)); do printf 'segment %d alone:               %7.1f s\n' "$k" "${segs[$k]}"; done
printf 'join:                          %7.1f s\n' "$join"
printf 'per-segment overhead:          %7.1f s  ((sum of segments - whole run) / segments)\n' "$(calc "($sum - $whole) / $n")"
printf '%d segments at once, here:      %7.1f s  (they share %s cores)\n' "$n" "$parallel" "$cores"
printf 'expected on %d machines:        %7.1f s  (plan + slowest segment + join), %.2fx the whole run\n' \
	"$n" "$(calc "$plan + $max + $join")" "$(calc "$whole / ($plan + $max + $join)")"
