#!/usr/bin/env bash
# Held-out accuracy of every algorithm on the bundled Omniglot (meta-train: Balinese,
# Early_Aramaic, Greek, Korean, Japanese_(katakana), Sanskrit; meta-test: Latin, Tagalog),
# 5-way 1-shot, 600 test episodes with a 95% CI, next to the PyTorch peer for MAML and
# ProtoNet with the same recipe and number of iterations.
#
#   bash Benchmarks/accuracy.sh [ITERATIONS] [PROTONET_EPISODES] [WAYS]
#
# WAYS 5 (default) runs every algorithm; WAYS 20 runs MAML (recipe: meta-batch 16, 5 inner
# steps, α = 0.1) and ProtoNet with their PyTorch peers. Writes
# Benchmarks/results/accuracy[-20w].jsonl (one JSON object per run) and .md.
set -euo pipefail
cd "$(dirname "$0")/.."
IT="${1:-200}"
PROTO_IT="${2:-500}"
WAYS="${3:-5}"
OUT=Benchmarks/results
RUNS="${RUNS_DIR:-runs/accuracy}"
BIN=.build/release/metajit
PY=Benchmarks/peers/.venv/bin/python
SUFFIX=$([ "$WAYS" = 5 ] && echo "" || echo "-${WAYS}w")
LOG="$OUT/accuracy$SUFFIX.jsonl"
mkdir -p "$OUT" "$RUNS"
: > "$LOG"

now() { date +%s.%N; }

metajit() {  # recipe iterations
  local recipe=$1 it=$2 dir="$RUNS/$1"
  rm -rf "$dir"
  local t0; t0=$(now)
  "$BIN" train "$recipe" --iterations "$it" --eval-every 0 --checkpoint-every "$it" --quiet --out "$dir"
  local t1; t1=$(now)
  local json; json=$("$BIN" eval "$dir" --episodes 600 | tail -n 1)
  python3 - "$json" "$recipe" "$it" "$t0" "$t1" >> "$LOG" <<'PY'
import json, sys
r = json.loads(sys.argv[1])
print(json.dumps({"runner": "metajit", "recipe": sys.argv[2], "algorithm": r["algorithm"], "iterations": int(sys.argv[3]),
                  "train_wall_s": float(sys.argv[5]) - float(sys.argv[4]), "accuracy": r["accuracy"], "ci95": r["ci95"],
                  "episodes": r["episodes"], "ways": r["ways"], "shots": r["shots"], "inner_steps": r["inner_steps"]}))
PY
  tail -n 1 "$LOG"
}

peer() {  # algorithm iterations [extra flags]
  [ -x "$PY" ] || { echo "accuracy: no peers' virtualenv (bash Benchmarks/peers/setup.sh)" >&2; return 0; }
  local alg=$1 it=$2; shift 2
  local json; json=$("$PY" Benchmarks/peers/train_omniglot.py --framework torch --algorithm "$alg" --ways "$WAYS" --shots 1 \
      --iterations "$it" --episodes 600 "$@" | tail -n 1)
  python3 - "$json" "$alg" "$it" "$WAYS" >> "$LOG" <<'PY'
import json, sys
r = json.loads(sys.argv[1])
print(json.dumps({"runner": "torch", "recipe": f"{sys.argv[2]}-omniglot-{sys.argv[4]}w1s", "algorithm": sys.argv[2],
                  "iterations": int(sys.argv[3]), "train_wall_s": r.get("train_s", r.get("wall_s")),
                  "accuracy": r["accuracy"], "ci95": r["ci95"], "episodes": r["episodes"], "ways": int(sys.argv[4]), "shots": 1}))
PY
  tail -n 1 "$LOG"
}

if [ "$WAYS" = 5 ]; then
  metajit maml-omniglot-5w1s "$IT"
  peer maml "$IT"
  metajit fomaml-omniglot-5w1s "$IT"
  metajit metasgd-omniglot-5w1s "$IT"
  metajit anil-omniglot-5w1s "$IT"
  metajit reptile-omniglot-5w1s "$IT"
  metajit protonet-omniglot-5w1s "$PROTO_IT"
  peer protonet "$PROTO_IT"
else
  metajit "maml-omniglot-${WAYS}w1s" "$IT"
  peer maml "$IT" --meta-batch 16 --inner-steps 5 --inner-lr 0.1 --eval-inner-steps 5
  metajit "protonet-omniglot-${WAYS}w1s" "$PROTO_IT"
  peer protonet "$PROTO_IT"
fi

python3 - "$LOG" > "$OUT/accuracy$SUFFIX.md" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
print("| runner | recipe | iterations | train wall time | held-out accuracy (600 episodes, 95% CI) |")
print("| --- | --- | --- | --- | --- |")
for r in rows:
    print(f"| {r['runner']} | {r['recipe']} | {r['iterations']} | {r['train_wall_s']:.0f} s | "
          f"{100 * r['accuracy']:.2f}% ± {100 * r['ci95']:.2f}% |")
PY
cat "$OUT/accuracy$SUFFIX.md"
