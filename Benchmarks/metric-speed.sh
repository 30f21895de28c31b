#!/usr/bin/env bash
# Training episodes/s of the metric learners (Relation Networks, Matching Networks ± FCE) in
# MetaJIT beside the same models in PyTorch (Benchmarks/peers/metric_peer.py), measured in
# the same run: for each round and workload, MetaJIT and the peer run one after the other
# (the order alternating between rounds), both pinned with taskset to the same CPUs and on
# the same number of threads. Prints a Markdown table of medians over the rounds.
#
#   bash Benchmarks/metric-speed.sh [ROUNDS] [WORKLOAD...]
#
# ROUNDS (default 3). WORKLOADS (default all): relation-5w1s relation-20w1s matching-5w1s
# matching-fce-5w1s matching-20w1s matching-fce-20w1s.
# Environment: BIN (metajit binary), THREADS (2), CPUS (taskset list, default 0-$((THREADS-1))),
# N5 / N20 (steps per run at 5 / 20 ways: 40 / 12), SKIP5 / SKIP20 (first steps not timed:
# 5 / 3), COMPILE=1 adds torch.compile runs of the peer (skipped when the first call takes
# over COMPILE_TIMEOUT = 150 s), CHECK=1 (default) first compares
# the first CHECK_STEPS (10) training losses of MetaJIT and the peer from the same initial
# weights on the same episodes, LOG (raw JSON lines, default
# Benchmarks/results/metric-speed.jsonl, appended).
#
# MetaJIT's rate is read from the run's metrics.jsonl (`elapsed_s` after the last step minus
# after step SKIP, over N − SKIP steps); it includes its episode sampling (streaming loader)
# but not compilation, which happens before the first step. The peer samples an Omniglot
# episode every step inside its timed loop (numpy, same preprocessing), and times
# N − SKIP steps after SKIP untimed ones.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS="${1:-3}"; shift || true
WORKLOADS="${*:-relation-5w1s relation-20w1s matching-5w1s matching-fce-5w1s matching-20w1s matching-fce-20w1s}"
BIN="${BIN:-.build/release/metajit}"
THREADS="${THREADS:-2}"
CPUS="${CPUS:-0-$((THREADS - 1))}"
N5="${N5:-40}"; N20="${N20:-12}"; SKIP5="${SKIP5:-5}"; SKIP20="${SKIP20:-3}"
COMPILE="${COMPILE:-0}"; CHECK="${CHECK:-1}"; COMPILE_TIMEOUT="${COMPILE_TIMEOUT:-150}"
PY="Benchmarks/peers/.venv/bin/python"
PEER="Benchmarks/peers/metric_peer.py"
LOG="${LOG:-Benchmarks/results/metric-speed.jsonl}"
RUNS="${RUNS_DIR:-runs/metric-speed}"
[ -x "$BIN" ] || { echo "no $BIN: swift build -c release --product metajit" >&2; exit 1; }
[ -x "$PY" ] || { echo "no $PY: bash Benchmarks/peers/setup.sh" >&2; exit 1; }
mkdir -p "$RUNS" "$(dirname "$LOG")"
STAMP="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
PIN=(taskset -c "$CPUS")

flags() {  # workload → MetaJIT recipe and flags
  case $1 in
    relation-5w1s) echo "relationnet-omniglot-5w1s" ;;
    relation-20w1s) echo "relationnet-omniglot-20w1s" ;;
    matching-5w1s) echo "matchingnet-omniglot-5w1s" ;;
    matching-fce-5w1s) echo "matchingnet-omniglot-5w1s --fce" ;;
    matching-20w1s) echo "matchingnet-omniglot-5w1s --ways 20 --queries 10" ;;
    matching-fce-20w1s) echo "matchingnet-omniglot-5w1s --fce --ways 20 --queries 10" ;;
    *) echo "unknown workload $1" >&2; exit 2 ;;
  esac
}
shape() {  # workload → "ways queries"
  case $1 in *-5w1s) echo "5 $([ "${1%%-*}" = relation ] && echo 19 || echo 15)" ;; *-20w1s) echo "20 10" ;; esac
}

metajit_run() {  # workload round
  local w=$1 round=$2 n skip dir
  read -r ways _ <<<"$(shape "$w")"
  if [ "$ways" = 5 ]; then n=$N5; skip=$SKIP5; else n=$N20; skip=$SKIP20; fi
  dir="$RUNS/$w"; rm -rf "$dir"
  local t0; t0=$(date +%s.%N)
  # shellcheck disable=SC2046
  "${PIN[@]}" "$BIN" train $(flags "$w") --iterations "$n" --eval-every 0 --checkpoint-every "$n" \
      --threads "$THREADS" --quiet --out "$dir" >"$dir.log" 2>&1 || { cat "$dir.log" >&2; return 1; }
  local t1; t1=$(date +%s.%N)
  python3 - "$dir/metrics.jsonl" "$w" "$round" "$n" "$skip" "$t0" "$t1" "$STAMP" "$THREADS" "$CPUS" "$(flags "$w")" <<'PY'
import json, sys
path, w, rnd, n, skip, t0, t1, stamp, threads, cpus, cmd = sys.argv[1:]
n, skip = int(n), int(skip)
rows = [json.loads(l) for l in open(path) if l.strip()]
by = {int(r["iteration"]): r for r in rows}
dt = by[n]["elapsed_s"] - by[skip]["elapsed_s"]
print(json.dumps({"framework": "metajit", "variant": "jit", "workload": w, "round": int(rnd), "stamp": stamp,
                  "episodes_per_s": (n - skip) / dt, "timed_steps": n - skip, "skipped_steps": skip,
                  "first_step_s": by[1]["elapsed_s"], "process_wall_s": float(t1) - float(t0),
                  "loss_first": by[1]["loss"], "loss_last": by[n]["loss"], "threads": int(threads), "cpus": cpus,
                  "command": "metajit train " + cmd}))
PY
}

peer_run() {  # workload round variant
  local w=$1 round=$2 variant=$3 n skip
  read -r ways _ <<<"$(shape "$w")"
  if [ "$ways" = 5 ]; then n=$N5; skip=$SKIP5; else n=$N20; skip=$SKIP20; fi
  "${PIN[@]}" "$PY" "$PEER" --workload "$w" --variant "$variant" --warmup "$skip" --iterations "$((n - skip))" \
      --threads "$THREADS" --compile-timeout "$COMPILE_TIMEOUT" 2>>"$RUNS/peer.log" \
    | python3 -c 'import json,sys; r=json.loads(sys.stdin.readlines()[-1]); r.update(round=int(sys.argv[1]), stamp=sys.argv[2], cpus=sys.argv[3]); print(json.dumps(r))' \
        "$round" "$STAMP" "$CPUS"
}

if [ "$CHECK" = 1 ]; then
  # Same weights, same episodes: the peer starts from MetaJIT's initial values for seed 0 and
  # replays its training episodes (metric_peer.py replicates ParameterStore's initialiser and
  # the EpisodeSampler); compare the loss of each of the first CHECK_STEPS training steps with
  # the run's metrics.jsonl (step 1: the same forward pass; later steps: also the gradients,
  # the clipping and Adam). Not timed.
  CHECK_STEPS="${CHECK_STEPS:-10}"
  for w in $WORKLOADS; do
    dir="$RUNS/check-$w"; rm -rf "$dir"
    # shellcheck disable=SC2046
    "${PIN[@]}" "$BIN" train $(flags "$w") --iterations "$CHECK_STEPS" --eval-every 0 --checkpoint-every "$CHECK_STEPS" \
        --threads "$THREADS" --quiet --out "$dir" >"$dir.log" 2>&1 || { cat "$dir.log" >&2; exit 1; }
    pt=$("${PIN[@]}" "$PY" "$PEER" --workload "$w" --warmup 1 --iterations "$((CHECK_STEPS - 1))" --threads "$THREADS" \
        --losses 2>>"$RUNS/peer.log" | tail -n 1)
    python3 - "$w" "$dir/metrics.jsonl" "$pt" "$STAMP" <<'PY' | tee -a "$LOG"
import json, sys
w, path, pt, stamp = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), sys.argv[4]
mj = [json.loads(l)["loss"] for l in open(path) if l.strip()]
tl = pt["losses"]
rel = [abs(a - b) / max(abs(a), 1e-30) for a, b in zip(mj, tl)]
print(json.dumps({"check": "same-weights-same-episodes", "workload": w, "stamp": stamp, "steps": len(rel),
                  "rel_diff_first": rel[0], "rel_diff_max": max(rel), "metajit_losses": mj, "torch_losses": tl}))
PY
  done
fi

for round in $(seq 1 "$ROUNDS"); do
  for w in $WORKLOADS; do
    if [ $((round % 2)) = 1 ]; then
      metajit_run "$w" "$round" | tee -a "$LOG"; peer_run "$w" "$round" eager | tee -a "$LOG"
    else
      peer_run "$w" "$round" eager | tee -a "$LOG"; metajit_run "$w" "$round" | tee -a "$LOG"
    fi
    if [ "$COMPILE" = 1 ]; then peer_run "$w" "$round" compile | tee -a "$LOG"; fi
  done
done

python3 - "$LOG" "$STAMP" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
rows = [r for r in rows if r.get("stamp") == sys.argv[2] and "episodes_per_s" in r]
def med(fw, var, w):
    v = [r["episodes_per_s"] for r in rows if r["framework"] == fw and r["variant"] == var and r["workload"] == w]
    return (statistics.median(v), len(v), min(v), max(v)) if v else None
order = []
for r in rows:
    if r["workload"] not in order: order.append(r["workload"])
def paired(var, w):  # median over rounds of MetaJIT's rate / the peer's rate in the same round
    a = {r["round"]: r["episodes_per_s"] for r in rows if r["framework"] == "metajit" and r["workload"] == w}
    b = {r["round"]: r["episodes_per_s"] for r in rows if r["framework"] == "torch" and r["variant"] == var and r["workload"] == w}
    v = [a[k] / b[k] for k in a if k in b]
    return f"{statistics.median(v):.2f}× ({min(v):.2f}–{max(v):.2f})" if v else "–"
print("| workload | MetaJIT ep/s | PyTorch eager ep/s | PyTorch compile ep/s | MetaJIT / eager | MetaJIT / compile |")
print("| --- | --- | --- | --- | --- | --- |")
fmt = lambda m: f"{m[0]:.2f} ({m[2]:.2f}–{m[3]:.2f}, n={m[1]})" if m else "–"
for w in order:
    a, e, c = med("metajit", "jit", w), med("torch", "eager", w), med("torch", "compile", w)
    print(f"| {w} | {fmt(a)} | {fmt(e)} | {fmt(c)} | {paired('eager', w)} | {paired('compile', w)} |")
print()
print("Rates: median over rounds (min–max, rounds). Ratios: median over rounds of MetaJIT's rate over the peer's in the same round (min–max).")
PY
