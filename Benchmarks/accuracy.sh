#!/usr/bin/env bash
# Held-out accuracy of every algorithm on the bundled Omniglot (meta-train: Balinese,
# Early_Aramaic, Greek, Korean, Japanese_(katakana), Sanskrit; meta-test: Latin, Tagalog),
# 5-way 1-shot, 600 test episodes with a 95% CI, next to the PyTorch peer for MAML and
# ProtoNet with the same recipe and number of iterations.
#
#   bash Benchmarks/accuracy.sh [ITERATIONS] [PROTONET_EPISODES]
#
# Writes Benchmarks/results/accuracy.jsonl (one JSON object per run) and accuracy.md.
set -euo pipefail
cd "$(dirname "$0")/.."
IT="${1:-200}"
PROTO_IT="${2:-500}"
OUT=Benchmarks/results
RUNS="${RUNS_DIR:-runs/accuracy}"
BIN=.build/release/metajit
PY=Benchmarks/peers/.venv/bin/python
mkdir -p "$OUT" "$RUNS"
: > "$OUT/accuracy.jsonl"

now() { date +%s.%N; }

metajit() {  # recipe iterations
  local recipe=$1 it=$2 dir="$RUNS/$1"
  rm -rf "$dir"
  local t0; t0=$(now)
  "$BIN" train "$recipe" --iterations "$it" --eval-every 0 --checkpoint-every "$it" --quiet --out "$dir"
  local t1; t1=$(now)
  local json; json=$("$BIN" eval "$dir" --episodes 600 | tail -n 1)
  python3 - "$json" "$recipe" "$it" "$t0" "$t1" >> "$OUT/accuracy.jsonl" <<'PY'
import json, sys
r = json.loads(sys.argv[1])
print(json.dumps({"runner": "metajit", "recipe": sys.argv[2], "algorithm": r["algorithm"], "iterations": int(sys.argv[3]),
                  "train_wall_s": float(sys.argv[5]) - float(sys.argv[4]), "accuracy": r["accuracy"], "ci95": r["ci95"],
                  "episodes": r["episodes"], "ways": r["ways"], "shots": r["shots"], "inner_steps": r["inner_steps"]}))
PY
  tail -n 1 "$OUT/accuracy.jsonl"
}

peer() {  # algorithm iterations
  [ -x "$PY" ] || { echo "accuracy: no peers' virtualenv (bash Benchmarks/peers/setup.sh)" >&2; return 0; }
  local json; json=$("$PY" Benchmarks/peers/train_omniglot.py --framework torch --algorithm "$1" --ways 5 --shots 1 \
      --iterations "$2" --episodes 600 | tail -n 1)
  python3 - "$json" "$1" "$2" >> "$OUT/accuracy.jsonl" <<'PY'
import json, sys
r = json.loads(sys.argv[1])
print(json.dumps({"runner": "torch", "recipe": sys.argv[2] + "-omniglot-5w1s", "algorithm": sys.argv[2],
                  "iterations": int(sys.argv[3]), "train_wall_s": r.get("train_s", r.get("wall_s")),
                  "accuracy": r["accuracy"], "ci95": r["ci95"], "episodes": r["episodes"], "ways": 5, "shots": 1}))
PY
  tail -n 1 "$OUT/accuracy.jsonl"
}

metajit maml-omniglot-5w1s "$IT"
peer maml "$IT"
metajit fomaml-omniglot-5w1s "$IT"
metajit metasgd-omniglot-5w1s "$IT"
metajit anil-omniglot-5w1s "$IT"
metajit reptile-omniglot-5w1s "$IT"
metajit protonet-omniglot-5w1s "$PROTO_IT"
peer protonet "$PROTO_IT"

python3 - "$OUT/accuracy.jsonl" > "$OUT/accuracy.md" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
print("| runner | recipe | iterations | train wall time | held-out accuracy (600 episodes, 95% CI) |")
print("| --- | --- | --- | --- | --- |")
for r in rows:
    print(f"| {r['runner']} | {r['recipe']} | {r['iterations']} | {r['train_wall_s']:.0f} s | "
          f"{100 * r['accuracy']:.2f}% ± {100 * r['ci95']:.2f}% |")
PY
cat "$OUT/accuracy.md"
