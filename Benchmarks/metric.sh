#!/usr/bin/env bash
# Metric learners beside the baselines, ProtoNet and MAML at one equal budget of training
# steps, on the bundled Omniglot split (meta-train: Balinese, Early_Aramaic, Greek, Korean,
# Japanese_(katakana), Sanskrit; meta-test: Latin, Tagalog), 5-way and 20-way 1-shot:
# held-out accuracy ± 95% CI over 600 episodes (15 queries per class at 5 ways, 5 at 20),
# nearest neighbour on the same episodes, and training wall time.
#
#   bash Benchmarks/metric.sh [STEPS] [WAYS...]
#
# STEPS (default 100) training steps for every learner: one episode per step for Relation,
# Matching and ProtoNet, a 16-image mini-batch for the baselines, a 32-task (5-way) or 16-task
# (20-way) meta-batch for MAML. The baselines are trained once and evaluated at both ways.
# Writes Benchmarks/results/metric.jsonl (one JSON object per run) and prints a Markdown table.
set -euo pipefail
cd "$(dirname "$0")/.."
STEPS="${1:-100}"; shift || true
WAYS_LIST="${*:-5 20}"
BIN="${BIN:-.build/release/metajit}"
[ -x "$BIN" ] || BIN=.build/debug/metajit
RUNS="${RUNS_DIR:-runs/metric}"
LOG="${LOG:-Benchmarks/results/metric.jsonl}"
mkdir -p "$RUNS" "$(dirname "$LOG")"
now() { date +%s.%N; }

train() {  # name recipe [flags...]  → trains into $RUNS/name, prints wall seconds
  local name=$1 recipe=$2; shift 2
  local dir="$RUNS/$name"; rm -rf "$dir"
  local t0; t0=$(now)
  "$BIN" train "$recipe" --iterations "$STEPS" --eval-every 0 --checkpoint-every "$STEPS" --quiet --out "$dir" "$@" >&2
  python3 -c "print(float('$(now)') - float('$t0'))"
}

evaluate() {  # label name ways queries train_seconds
  local label=$1 name=$2 ways=$3 queries=$4 secs=$5
  local t0; t0=$(now)
  local json; json=$("$BIN" eval "$RUNS/$name" --episodes 600 --ways "$ways" --queries "$queries" --nearest-neighbour | tail -n 1)
  local t1; t1=$(now)
  python3 - "$json" "$label" "$STEPS" "$secs" "$t0" "$t1" >> "$LOG" <<'PY'
import json, sys
r = json.loads(sys.argv[1]); nn = r.get("nearest_neighbour", {})
print(json.dumps({"learner": sys.argv[2], "algorithm": r["algorithm"], "steps": int(sys.argv[3]), "ways": r["ways"],
                  "shots": r["shots"], "queries": r["queries"], "train_wall_s": float(sys.argv[4]),
                  "eval_wall_s": float(sys.argv[6]) - float(sys.argv[5]), "accuracy": r["accuracy"], "ci95": r["ci95"],
                  "episodes": r["episodes"], "nn_pixels": nn.get("pixels"), "nn_pixels_ci95": nn.get("pixels_ci95"),
                  "nn_embedding": nn.get("embedding"), "nn_embedding_ci95": nn.get("embedding_ci95")}))
PY
  tail -n 1 "$LOG"
}

for W in $WAYS_LIST; do
  Q=$([ "$W" = 5 ] && echo 15 || echo 5)
  if [ "$W" = 5 ]; then rel=relationnet-omniglot-5w1s; proto=protonet-omniglot-5w1s; maml=maml-omniglot-5w1s; mflags=()
  else rel=relationnet-omniglot-20w1s; proto=protonet-omniglot-20w1s; maml=maml-omniglot-20w1s; mflags=(--ways "$W"); fi
  s=$(train "relation-${W}w" "$rel"); evaluate "Relation Net" "relation-${W}w" "$W" "$Q" "$s"
  s=$(train "matching-${W}w" matchingnet-omniglot-5w1s "${mflags[@]}"); evaluate "Matching Net" "matching-${W}w" "$W" "$Q" "$s"
  s=$(train "matching-fce-${W}w" matchingnet-omniglot-5w1s --fce "${mflags[@]}"); evaluate "Matching Net + FCE" "matching-fce-${W}w" "$W" "$Q" "$s"
  for b in baseline baselinepp; do
    [ -f "$RUNS/$b/checkpoint.safetensors" ] && [ -f "$RUNS/$b/.wall" ] || { train "$b" "$b-omniglot-5w1s" > "$RUNS/.wall-$b"; mv "$RUNS/.wall-$b" "$RUNS/$b/.wall"; }
    evaluate "$([ $b = baseline ] && echo Baseline || echo Baseline++)" "$b" "$W" "$Q" "$(cat "$RUNS/$b/.wall")"
  done
  s=$(train "protonet-${W}w" "$proto"); evaluate "ProtoNet" "protonet-${W}w" "$W" "$Q" "$s"
  s=$(train "maml-${W}w" "$maml"); evaluate "MAML" "maml-${W}w" "$W" "$Q" "$s"
done

python3 - "$LOG" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
print("| learner | setting | steps | train wall | held-out accuracy (600 ep., 95% CI) | NN pixels | NN embedding |")
print("| --- | --- | --- | --- | --- | --- | --- |")
for r in rows:
    pct = lambda a, c: f"{100*a:.2f}% ± {100*c:.2f}%" if a is not None else "–"
    print(f"| {r['learner']} | {r['ways']}w{r['shots']}s | {r['steps']} | {r['train_wall_s']:.0f} s | {pct(r['accuracy'], r['ci95'])} "
          f"| {pct(r['nn_pixels'], r['nn_pixels_ci95'])} | {pct(r['nn_embedding'], r['nn_embedding_ci95'])} |")
PY
