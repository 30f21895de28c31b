#!/usr/bin/env bash
# The multi-source benchmark at a small budget: trains protonet-multisource and
# protomaml-multisource on every training source, then evaluates each on every test source
# (600 Meta-Dataset episodes per source). Usage: Benchmarks/multisource.sh [ITERATIONS] [OUT]
set -euo pipefail
iterations=${1:-1000}
out=${2:-/tmp/metajit-multisource}
bin=${METAJIT:-.build/debug/metajit}
mkdir -p "$out"
for recipe in protonet-multisource protomaml-multisource; do
  start=$(date +%s.%N)
  "$bin" train "$recipe" --iterations "$iterations" --eval-every 0 --checkpoint-every "$iterations" --quiet \
    --out "$out/$recipe" 2>&1 | tee "$out/$recipe.train.log"
  echo "train wall: $(echo "$(date +%s.%N) - $start" | bc) s" | tee -a "$out/$recipe.train.log"
  "$bin" eval "$out/$recipe" --per-source --episodes 600 | tee "$out/$recipe.eval.txt"
done
