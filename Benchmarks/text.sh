#!/usr/bin/env bash
# Few-shot text benchmark (issue 14): trains each text recipe for a bounded number of
# iterations, evaluates 600 held-out episodes with the nearest-centroid baseline, runs the
# PyTorch ProtoNet-LSTM peer on the exported episodes when its venv exists, and writes
# Benchmarks/results/text-<date>.md.
#
# Usage: Benchmarks/text.sh [PROTONET_ITERS] [MAML_ITERS] [OUT]
# Defaults (about 35 min on the 2-core machine with a release build): ProtoNet 3000
# one-episode iterations, MAML / Meta-SGD 600 iterations of 4 episodes. METAJIT picks the
# binary (default: .build/release/metajit if built, else .build/debug/metajit; the JIT-compiled
# step is the same code either way, the debug build is slower at reading data).
set -euo pipefail
proto_iters=${1:-3000}
maml_iters=${2:-600}
out=${3:-/tmp/metajit-text-bench}
episodes=600
if [[ -z "${METAJIT:-}" ]]; then
  if [[ -x .build/release/metajit ]]; then METAJIT=.build/release/metajit; else METAJIT=.build/debug/metajit; fi
fi
bin=$METAJIT
mkdir -p "$out" Benchmarks/results
report="Benchmarks/results/text-$(date -u +%Y-%m-%d).md"
python=Benchmarks/peers/.venv/bin/python
{
  echo "# Few-shot text (issue 14), $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo
  echo "Machine: $(nproc) cores ($(uptime | sed 's/.*load average/load average/')), binary \`$bin\`."
  echo "ProtoNet: $proto_iters iterations of 1 episode; MAML / Meta-SGD: $maml_iters iterations of 4 episodes."
  echo "Held-out: $episodes test episodes (seed 2024), 5-way 5-shot, 10 queries per class; baseline = nearest centroid"
  echo "(cosine on L2-normalised bag-of-words / character 1-3-gram counts) on the same episodes."
  echo
  echo "| recipe | iterations | train s | train episodes/s | accuracy ± 95% CI | baseline | eval episodes/s |"
  echo "| --- | --- | --- | --- | --- | --- | --- |"
} > "$report"
for recipe in protonet-wordnet-5w5s protonet-langid-5w5s maml-wordnet-5w5s metasgd-wordnet-5w5s; do
  iters=$proto_iters
  [[ $recipe == protonet-* ]] || iters=$maml_iters
  rm -rf "${out:?}/$recipe"
  start=$(date +%s.%N)
  "$bin" train "$recipe" --iterations "$iters" --eval-every 0 --checkpoint-every "$iters" --quiet --out "$out/$recipe" \
    2>&1 | tee "$out/$recipe.train.log"
  wall=$(echo "$(date +%s.%N) - $start" | bc)
  rate=$(grep -o '([0-9.]* episodes/s' "$out/$recipe.train.log" | tr -d '(' | cut -d' ' -f1)
  "$bin" eval "$out/$recipe" --episodes "$episodes" --baseline | tee "$out/$recipe.eval.txt"
  json=$(tail -1 "$out/$recipe.eval.txt")
  row=$(python3 -c 'import json,sys; j=json.loads(sys.argv[1]); print("%.2f%% ± %.2f%% | %.2f%% | %.1f" % (100*j["accuracy"], 100*j["ci95"], 100*j["baseline"]["accuracy"], j["eval_episodes_per_s"]))' "$json")
  printf '| %s | %s | %.0f | %s | %s |\n' "$recipe" "$iters" "$wall" "$rate" "$row" >> "$report"
done
echo >> "$report"
# The PyTorch peer: the same ProtoNet-LSTM on exactly the exported train and test episodes,
# with MetaJIT trained on the same train episodes (--episodes-file) beside it.
for recipe in protonet-wordnet-5w5s protonet-langid-5w5s; do
  file="$out/$recipe.episodes.safetensors"
  "$bin" text-episodes "$recipe" --train-episodes "$proto_iters" --test-episodes "$episodes" --out "$file"
  if [[ -x $python && -f Benchmarks/peers/text_peer.py ]]; then
    peer=$("$python" Benchmarks/peers/text_peer.py --episodes "$file" --threads 2 | tail -1)
    rm -rf "${out:?}/$recipe-file"
    "$bin" train "$recipe" --episodes-file "$file" --iterations "$proto_iters" --eval-every 0 --checkpoint-every "$proto_iters" \
      --quiet --out "$out/$recipe-file" 2>&1 | tee "$out/$recipe-file.train.log"
    ours=$("$bin" eval "$out/$recipe-file" --episodes "$episodes" | tail -1)
    echo "Same episodes, $recipe: MetaJIT \`$ours\`; PyTorch peer \`$peer\`" >> "$report"
  else
    echo "PyTorch peer skipped for $recipe: $python or Benchmarks/peers/text_peer.py not found (run Benchmarks/peers/setup.sh)." | tee -a "$report"
  fi
  echo >> "$report"
done
echo "wrote $report"
