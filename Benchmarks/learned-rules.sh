#!/usr/bin/env bash
# Learned inner-loop rules beside MAML and Meta-SGD at one equal budget on the bundled
# Omniglot split (meta-train: Balinese, Early_Aramaic, Greek, Korean, Japanese_(katakana),
# Sanskrit; meta-test: Latin, Tagalog), 5-way 1-shot: held-out accuracy ± 95% CI over 600
# episodes (15 queries per class, evaluation seed 2024) and training wall time per iteration.
#
#   bash Benchmarks/learned-rules.sh [ITERATIONS] [META_BATCH] [INNER_STEPS]
#
# Every learner gets the same budget: ITERATIONS (default 200) meta-iterations of META_BATCH
# (default 8) tasks, INNER_STEPS (default 2) inner steps at train and test time, inner rate
# α = 0.4 (MAML's Omniglot rate; the initial rate of the learned rules, the meta-LSTM's
# initial input gate), Adam 1e-3, training seed $SEED (default 1), the strided Conv-4 of MAML's
# Omniglot model.
# MAML and Meta-SGD train second order; so do MAML++ (LSLR) and LRAIN; the meta-LSTM follows
# Ravi & Larochelle and treats the learner's gradients as inputs.
# Writes Benchmarks/results/learned-rules.jsonl (one JSON object per run) and prints a table.
set -euo pipefail
cd "$(dirname "$0")/.."
ITERS="${1:-200}"; MB="${2:-8}"; STEPS="${3:-2}"; SEED="${SEED:-1}"
BIN="${BIN:-.build/release/metajit}"
[ -x "$BIN" ] || BIN=.build/debug/metajit
RUNS="${RUNS_DIR:-runs/learned-rules}"
LOG="${LOG:-Benchmarks/results/learned-rules.jsonl}"
mkdir -p "$RUNS" "$(dirname "$LOG")"
now() { date +%s.%N; }

for pair in "MAML:maml-omniglot-5w1s" "Meta-SGD:metasgd-omniglot-5w1s" "MAML++ (LSLR):mamlpp-omniglot-5w1s" \
            "LRAIN:lrain-omniglot-5w1s" "Meta-LSTM:metalstm-omniglot-5w1s"; do
  label=${pair%%:*}; recipe=${pair#*:}; dir="$RUNS/$recipe"; rm -rf "$dir"
  t0=$(now)
  "$BIN" train "$recipe" --iterations "$ITERS" --meta-batch "$MB" --inner-steps "$STEPS" --inner-lr 0.4 \
    --seed "$SEED" --eval-every 0 --checkpoint-every "$ITERS" --quiet --out "$dir" >&2
  t1=$(now)
  json=$("$BIN" eval "$dir" --episodes 600 | tail -n 1)
  t2=$(now)
  python3 - "$json" "$label" "$recipe" "$ITERS" "$MB" "$STEPS" "$t0" "$t1" "$t2" "$(uptime | sed 's/.*load average: //')" "$SEED" >> "$LOG" <<'PY'
import json, sys
r = json.loads(sys.argv[1])
a = sys.argv
print(json.dumps({"learner": a[2], "recipe": a[3], "algorithm": r["algorithm"], "iterations": int(a[4]), "meta_batch": int(a[5]),
                  "inner_steps": int(a[6]), "train_wall_s": float(a[8]) - float(a[7]), "eval_wall_s": float(a[9]) - float(a[8]),
                  "accuracy": r["accuracy"], "ci95": r["ci95"], "episodes": r["episodes"], "eval_seed": r["seed"],
                  "load_average_after": a[10], "train_seed": int(a[11])}))
PY
  tail -n 1 "$LOG"
done

python3 - "$LOG" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
print("| learner | seed | iterations × tasks | inner steps | train wall | s / iteration (incl. compile) | held-out 5w1s accuracy (600 ep., 95% CI) |")
print("| --- | --- | --- | --- | --- | --- | --- |")
for r in rows:
    print(f"| {r['learner']} | {r.get('train_seed', 1)} | {r['iterations']} × {r['meta_batch']} | {r['inner_steps']} | {r['train_wall_s']:.0f} s "
          f"| {r['train_wall_s'] / r['iterations']:.2f} | {100*r['accuracy']:.2f}% ± {100*r['ci95']:.2f}% |")
PY
