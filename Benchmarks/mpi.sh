#!/usr/bin/env bash
# Data-parallel meta-training over MPI, measured: meta-iterations/s of one process with 2
# kernel threads, one process with 1 thread, and `mpirun -np 1|2` with 1 thread per rank,
# alternating the configurations ROUNDS times (the machine may be shared: alternating spreads
# the noise over all of them). Prints one JSON line per run and a summary.
#
#   Benchmarks/mpi.sh [ROUNDS] [ITERATIONS] [-- extra metajit train flags]
#
# Needs a release build (swift build -c release --product metajit) and Open MPI.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
iterations=${2:-40}
shift $(( $# >= 2 ? 2 : $# ))
[ "${1:-}" = "--" ] && shift
bin=${METAJIT:-.build/release/metajit}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export METAJIT_CACHE_DIR=${METAJIT_CACHE_DIR:-$(mktemp -d)}
# The workload: second-order MAML, Omniglot 5-way 1-shot, Conv-4 (32 filters), meta-batch 8.
workload=(train maml-omniglot-5w1s --width 32 --meta-batch 8 --eval-every 0 --checkpoint-every 1000
          --iterations "$iterations" --quiet --seed 1 "$@")
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
skip=5   # iterations left out at the start (compile, first data, warm caches)

measure() {  # name, command...
  local name=$1; shift
  rm -rf "$scratch/out"; mkdir -p "$scratch/out"
  "$@" --out "$scratch/out" 2> "$scratch/err" > /dev/null
  python3 - "$name" "$scratch/out/metrics.jsonl" "$scratch/err" "$skip" <<'PY'
import json, re, sys
name, metrics, err, skip = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
rows = [json.loads(l) for l in open(metrics) if l.strip()]
a, b = rows[skip - 1], rows[-1]
rate = (b["iteration"] - a["iteration"]) / (b["elapsed_s"] - a["elapsed_s"])
out = {"config": name, "iterations_per_s": round(rate, 3), "timed_iterations": int(b["iteration"] - a["iteration"])}
m = re.search(r"distributed: (\d+) ranks, \d+ iterations, ([\d.]+) ms per step .*?allreduce ([\d.]+)% of a step, (\d+) bytes", open(err).read())
if m:
    out.update(ranks=int(m[1]), step_ms=float(m[2]), allreduce_share=float(m[3]) / 100, bytes_per_step=int(m[4]))
print(json.dumps(out), flush=True)
PY
}

for r in $(seq "$rounds"); do
  measure "1 process, 2 threads" "$bin" "${workload[@]}" --threads 2
  measure "1 process, 1 thread" "$bin" "${workload[@]}" --threads 1
  measure "mpirun -np 1, 1 thread" mpirun --bind-to none -np 1 "$bin" "${workload[@]}" --threads 1 --distributed mpi
  measure "mpirun -np 2, 1 thread each" mpirun --bind-to none -np 2 "$bin" "${workload[@]}" --threads 1 --distributed mpi
done
