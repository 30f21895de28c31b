#!/usr/bin/env bash
# Cold compile time of whole meta-training steps: each run gets an empty compile cache, builds
# the step, compiles it (graph passes, fusion, lowering, LLVM on THREADS cores) and runs it.
# With several binaries (an A/B of two commits), their runs alternate within each round, so a
# busy host slows both alike. Prints a Markdown table: per binary and workload, every round's
# compile seconds, their median, and the median step rate (it/s) as a check that the faster
# compile did not cost speed.
#
#   bash Benchmarks/cold-compile.sh [ROUNDS] [BIN...]
#
# ROUNDS (default 3); BINs (default .build/release/metajit). Environment: WORKLOADS (default
# "maml-5w1s maml-20w1s"), THREADS (2), ITERATIONS (4).
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS="${1:-3}"; shift || true
BINS=("$@"); [ ${#BINS[@]} -gt 0 ] || BINS=(.build/release/metajit)
WORKLOADS="${WORKLOADS:-maml-5w1s maml-20w1s}"
THREADS="${THREADS:-2}"; ITERATIONS="${ITERATIONS:-4}"
for b in "${BINS[@]}"; do [ -x "$b" ] || { echo "no $b: swift build -c release --product metajit" >&2; exit 1; }; done
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
echo "host: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(grep -c processor /proc/cpuinfo) CPUs; $ROUNDS rounds, $THREADS threads, empty cache per run"
echo
echo "| binary | workload | compile s (rounds) | median compile s | median it/s |"
echo "| --- | --- | --- | --- | --- |"
for w in $WORKLOADS; do
  for r in $(seq 1 "$ROUNDS"); do
    for i in "${!BINS[@]}"; do
      rm -rf "$tmp/cache"; mkdir -p "$tmp/cache"
      METAJIT_CACHE_DIR="$tmp/cache" "${BINS[$i]}" bench --single "$w" --threads "$THREADS" --warmup 1 --iterations "$ITERATIONS" 2>/dev/null \
        | tail -n 1 | python3 -c 'import json,sys; d=json.loads(sys.stdin.read()); assert not d["compile_cached"]; print(d["compile_s"], d["iterations_per_s"])' \
        >> "$tmp/$i-$w"
    done
  done
  for i in "${!BINS[@]}"; do
    python3 - "${BINS[$i]}" "$w" "$tmp/$i-$w" <<'PY'
import statistics, sys
rows = [tuple(map(float, line.split())) for line in open(sys.argv[3])]
compile = [c for c, _ in rows]
print(f"| {sys.argv[1]} | {sys.argv[2]} | {', '.join(f'{c:.2f}' for c in compile)} | "
      f"{statistics.median(compile):.2f} | {statistics.median(r for _, r in rows):.3f} |")
PY
  done
done
