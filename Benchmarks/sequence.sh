#!/usr/bin/env bash
# MANN and SNAIL (issue 13) at a bounded budget on the bundled Omniglot: trains each sequence
# recipe (meta-train alphabets, 4 rotations), evaluates it on the held-out alphabets (Latin,
# Tagalog; 600 episodes, seed 2024), times the PyTorch peer's training steps on the same
# model sizes, and writes Benchmarks/results/sequence-<date>.md.
#
#   bash Benchmarks/sequence.sh [MANN_IT] [SNAIL5_IT] [SNAIL20_IT] [PEER_IT]
#
# Defaults 1200 / 300 / 150 iterations (batches of 16 / 32 / 16 episodes) and 20 peer steps:
# 13 min of training on the 2-core machine of 2026-12-02 (MANN 4.2, SNAIL 5-way 2.1, 20-way
# 1.0 steps/s), up to 35 min when it is shared with other jobs (MANN 1.4, SNAIL 5-way 0.46
# steps/s under load). The papers train far longer (MANN 100,000 episodes), so the
# accuracies are those of a short run, not a reproduction.
# METAJIT (default .build/release/metajit, else .build/debug/metajit) picks the binary;
# PEER_PY (default Benchmarks/peers/.venv/bin/python) the peer's interpreter: without it, or
# without Benchmarks/peers/sequence_peer.py, the peer is skipped with a message.
set -euo pipefail
cd "$(dirname "$0")/.."
MANN_IT=${1:-1200}
SNAIL5_IT=${2:-300}
SNAIL20_IT=${3:-150}
PEER_IT=${4:-20}
BIN=${METAJIT:-}
if [ -z "$BIN" ]; then
  BIN=.build/release/metajit
  [ -x "$BIN" ] || BIN=.build/debug/metajit
fi
PY=${PEER_PY:-Benchmarks/peers/.venv/bin/python}
PEER=Benchmarks/peers/sequence_peer.py
RUNS=${RUNS_DIR:-runs/sequence}
DATE=$(date -u +%Y-%m-%d)
OUT=Benchmarks/results/sequence-$DATE.md
mkdir -p "$RUNS" Benchmarks/results
THREADS=2

# recipe iterations ways shots batch model
train_eval() {
  local recipe=$1 it=$2 dir="$RUNS/$1"
  rm -rf "$dir"
  "$BIN" train "$recipe" --iterations "$it" --eval-every 0 --checkpoint-every "$it" --threads "$THREADS" --quiet \
    --out "$dir" 2> "$dir.train.log" || { cat "$dir.train.log" >&2; return 1; }
  cat "$dir.train.log" >&2
  "$BIN" eval "$dir" --episodes 600 > "$dir.eval.txt"
  cat "$dir.eval.txt" >&2
}

peer() {  # model ways shots batch -> JSON line or empty
  if [ ! -x "$PY" ]; then echo "sequence: no peers' virtualenv at $PY (bash Benchmarks/peers/setup.sh); skipping the PyTorch peer" >&2; return 0; fi
  if [ ! -f "$PEER" ]; then echo "sequence: $PEER not found; skipping the PyTorch peer" >&2; return 0; fi
  "$PY" "$PEER" --model "$1" --ways "$2" --shots "$3" --batch "$4" --iterations "$PEER_IT" --threads "$THREADS" | tail -n 1 \
    || echo "sequence: the peer failed for $1 $2-way" >&2
}

train_eval mann-omniglot-5way "$MANN_IT"
train_eval snail-omniglot-5w1s "$SNAIL5_IT"
train_eval snail-omniglot-20w1s "$SNAIL20_IT"
P_MANN=$(peer mann 5 10 16)
P_S5=$(peer snail 5 1 32)
P_S20=$(peer snail 20 1 16)

python3 - "$RUNS" "$OUT" "$MANN_IT" "$SNAIL5_IT" "$SNAIL20_IT" "$BIN" "$P_MANN" "$P_S5" "$P_S20" <<'PY'
import json, os, re, sys
runs, out, mann_it, s5_it, s20_it, binary = sys.argv[1:7]
peers = sys.argv[7:10]
def read(recipe):
    log = open(os.path.join(runs, recipe + ".train.log")).read()
    m = re.search(r"trained (\d+) iterations in ([\d.]+) s \(([\d.]+) steps/s, ([\d.]+) episodes/s", log)
    c = re.search(r"compiled the \w+ step \((\d+) nodes, T = (\d+)\) in ([\d.]+) s", log)
    ev = open(os.path.join(runs, recipe + ".eval.txt")).read().strip().splitlines()
    return {"iterations": int(m.group(1)), "train_s": float(m.group(2)), "steps_per_s": float(m.group(3)),
            "episodes_per_s": float(m.group(4)), "nodes": int(c.group(1)), "length": int(c.group(2)),
            "compile_s": float(c.group(3)), "line": ev[0], "json": json.loads(ev[-1])}
def peer(s):
    try:
        return json.loads(s)["steps_per_s"] if s.strip() else None
    except (ValueError, KeyError):
        return None
mann, s5, s20 = read("mann-omniglot-5way"), read("snail-omniglot-5w1s"), read("snail-omniglot-20w1s")
pm, p5, p20 = (peer(p) for p in peers)
load = os.getloadavg()
pi = mann["json"]["per_instance"]
def pct(k): return f"{100 * pi[str(k)]:.1f}%" if str(k) in pi else "n/a"
lines = [f"# Sequence learners (issue 13): MANN and SNAIL, {os.popen('date -u +%Y-%m-%dT%H:%MZ').read().strip()}", "",
         f"Bundled Omniglot (meta-train: 6 alphabets × 4 rotations; held-out: Latin, Tagalog), `{binary}`, "
         f"{os.cpu_count()} cores shared with other jobs (load average at the end {load[0]:.1f}, {load[1]:.1f}, {load[2]:.1f}), "
         "so absolute speeds are low and noisy. `bash Benchmarks/sequence.sh "
         f"{mann_it} {s5_it} {s20_it}`. Test: 600 episodes, seed 2024.", "",
         "## MANN (`mann-omniglot-5way`: 5 classes × 10 samples, one-hot labels, batch 16)", "",
         "| | 1st | 2nd | 3rd | 5th | 10th | episodes trained |", "| --- | --- | --- | --- | --- | --- | --- |",
         f"| MetaJIT MANN, {mann['iterations']} batches | {pct(1)} | {pct(2)} | {pct(3)} | {pct(5)} | {pct(10)} | {16 * mann['iterations']:,} |",
         "| Santoro et al. 2016, MANN | 36.4% | 82.8% | 91.0% | 94.9% | 98.1% | 100,000 |",
         "| Santoro et al. 2016, LSTM | 24.4% | 49.5% | 55.3% | 63.6% | 62.5% | 100,000 |", "",
         f"Mean held-out step accuracy {100 * mann['json']['accuracy']:.1f}% ± {100 * mann['json']['ci95']:.1f}% (chance 20% per step).", "",
         "## SNAIL (1-shot, held-out query accuracy ± 95% CI over 600 episodes)", "",
         "| recipe | MetaJIT | batches × batch | paper (full Omniglot) |", "| --- | --- | --- | --- |",
         f"| `snail-omniglot-5w1s` | {100 * s5['json']['accuracy']:.2f}% ± {100 * s5['json']['ci95']:.2f}% | {s5['iterations']} × 32 | 99.07% |",
         f"| `snail-omniglot-20w1s` | {100 * s20['json']['accuracy']:.2f}% ± {100 * s20['json']['ci95']:.2f}% | {s20['iterations']} × 16 | 97.64% |", "",
         "## Training speed (steps/s: one step = one batch, forward + BPTT + Adam; sampler and loader included)", "",
         "| model | T | graph nodes | compile s | MetaJIT steps/s | PyTorch steps/s | ratio |", "| --- | --- | --- | --- | --- | --- | --- |"]
for name, r, p in [("MANN 5-way, batch 16", mann, pm), ("SNAIL 5-way 1-shot, batch 32", s5, p5), ("SNAIL 20-way 1-shot, batch 16", s20, p20)]:
    ps = f"{p:.2f}" if p else "not run"
    ratio = f"{r['steps_per_s'] / p:.2f}×" if p else "–"
    lines.append(f"| {name} | {r['length']} | {r['nodes']:,} | {r['compile_s']:.1f} | {r['steps_per_s']:.2f} | {ps} | {ratio} |")
if not all((pm, p5, p20)):
    lines += ["", "The PyTorch peer (Benchmarks/peers/sequence_peer.py in the peers' virtualenv) was not available in this run, "
              "so there is no side-by-side ratio for the rows marked \"not run\"."]
open(out, "w").write("\n".join(lines) + "\n")
print(open(out).read())
PY
