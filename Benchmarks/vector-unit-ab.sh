#!/usr/bin/env bash
# A/B of the GEMM register tiles: the same release binary and workload, once with the tiles
# sized for AVX-512 (32 zmm: up to 6×64) and once for AVX2 (16 ymm: 6×16), forced with
# METAJIT_VECTOR_UNIT, alternating for ROUNDS rounds. On an AVX2 host the AVX-512 tiles are
# what every build used before the tiles followed the host; on an AVX-512 host the AVX2
# tiles show what the wider tile buys. Prints a Markdown table of medians (it/s).
#
#   bash Benchmarks/vector-unit-ab.sh [ROUNDS] [WORKLOAD...]
#
# ROUNDS (default 3); WORKLOADS (default maml-5w1s maml-5w1s-pool fomaml-5w1s maml-20w1s
# protonet-20w). Environment: BIN (default .build/release/metajit), THREADS (2), WARMUP (2),
# ITERATIONS (3).
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS="${1:-3}"; shift || true
WORKLOADS="${*:-maml-5w1s maml-5w1s-pool fomaml-5w1s maml-20w1s protonet-20w}"
BIN="${BIN:-.build/release/metajit}"
THREADS="${THREADS:-2}"; WARMUP="${WARMUP:-2}"; ITERATIONS="${ITERATIONS:-3}"
[ -x "$BIN" ] || { echo "no $BIN: swift build -c release --product metajit" >&2; exit 1; }
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
rate() {  # unit workload -> "it/s first-loss"
  METAJIT_VECTOR_UNIT="$1" "$BIN" bench --single "$2" --threads "$THREADS" --warmup "$WARMUP" --iterations "$ITERATIONS" 2>/dev/null \
    | tail -n 1 | python3 -c 'import json,sys; d=json.loads(sys.stdin.read()); print(d["iterations_per_s"], d["loss_first"])'
}
echo "host: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(grep -c processor /proc/cpuinfo) CPUs, avx512f: $(grep -qw avx512f /proc/cpuinfo && echo yes || echo no); $ROUNDS rounds, $THREADS threads"
echo
echo "| workload | AVX-512 tiles it/s (rounds) | AVX2 tiles it/s (rounds) | AVX2 / AVX-512 (medians) | first losses |"
echo "| --- | --- | --- | --- | --- |"
for w in $WORKLOADS; do
  for r in $(seq 1 "$ROUNDS"); do
    # Alternate which unit goes first.
    if (( r % 2 )); then order="avx512 avx2"; else order="avx2 avx512"; fi
    for u in $order; do rate "$u" "$w" >> "$tmp/$w.$u"; done
  done
  python3 - "$tmp/$w.avx512" "$tmp/$w.avx2" "$w" <<'PY'
import statistics, sys
def read(p):
    rows = [l.split() for l in open(p) if l.strip()]
    return [float(r[0]) for r in rows], [r[1] for r in rows]
a, la = read(sys.argv[1]); b, lb = read(sys.argv[2])
fmt = lambda xs: ", ".join(f"{x:.3f}" for x in xs)
ma, mb = statistics.median(a), statistics.median(b)
print(f"| {sys.argv[3]} | {ma:.3f} ({fmt(a)}) | {mb:.3f} ({fmt(b)}) | {mb / ma:.2f}× | {la[0]} / {lb[0]} |")
PY
done
