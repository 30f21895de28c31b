#!/usr/bin/env bash
# kill -9 soak test of `metajit train --resume`.
#
# Trains a small Conv-4 MAML configuration with frequent checkpoints, SIGKILLs it again and
# again (some kills aimed at the moment the checkpoint's temporary file exists, some during
# start-up, some at random moments of training), resumes each time with --resume until the
# run completes, then trains the same configuration uninterrupted into another folder and
# checks that
#   * the two final checkpoints hold bit-identical tensors (and the same metadata),
#   * metrics.jsonl has exactly one record per iteration 1...N, whose loss, accuracy and lr
#     equal the uninterrupted run's (elapsed_s and episodes_per_s legitimately differ),
#   * nothing but the checkpoint and the log is left in the output folder (no temporaries).
# Exits non-zero on any difference.
#
# Usage: scripts/soak-kill9.sh [--kills 60] [--seed 1] [--bin PATH] [--iterations 500]
#                               [--checkpoint-every 2] [--training-delay 0.25] [--data DIR]
#                               [--work DIR] [--json FILE]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
exec python3 - "$here" "$@" <<'PY'
import argparse, json, os, random, signal, struct, subprocess, sys, tempfile, time

root = sys.argv[1]
ap = argparse.ArgumentParser(prog="soak-kill9.sh")
ap.add_argument("--kills", type=int, default=60, help="SIGKILLs before the run may finish")
ap.add_argument("--seed", type=int, default=1, help="seed of the kill schedule and of training")
ap.add_argument("--bin", help="metajit binary (default .build/release/metajit if present, else debug)")
ap.add_argument("--iterations", type=int, default=500)
ap.add_argument("--checkpoint-every", type=int, default=2)
ap.add_argument("--training-delay", type=float, default=0.25,
                help="training kills land up to this many seconds after the first new iteration")
ap.add_argument("--data", help="Omniglot folder (default: the bundled data/omniglot)")
ap.add_argument("--work", help="work folder (default: a new temporary folder)")
ap.add_argument("--json", help="also write the summary as JSON here")
args = ap.parse_args(sys.argv[2:])

def pick_binary():
    if args.bin:
        return os.path.abspath(args.bin)
    for b in ("release", "debug"):
        p = os.path.join(root, ".build", b, "metajit")
        if os.access(p, os.X_OK):
            return p
    sys.exit("soak: no metajit binary under .build; run `swift build` or pass --bin")

binary = pick_binary()
data = args.data or os.path.join(root, "data", "omniglot")
work = args.work or tempfile.mkdtemp(prefix="metajit-soak-")
os.makedirs(work, exist_ok=True)
soak_dir, ref_dir = os.path.join(work, "soak"), os.path.join(work, "reference")
env = dict(os.environ, METAJIT_CACHE_DIR=os.path.join(work, "cache"))
rng = random.Random(args.seed)
CKPT, METRICS = "checkpoint.safetensors", "metrics.jsonl"
TMP_PREFIX = "." + CKPT + ".tmp-"

def command(out, resume):
    c = [binary, "train", "conv4", "--algorithm", "maml", "--ways", "5", "--shots", "1", "--queries", "5",
         "--meta-batch", "2", "--width", "8", "--iterations", str(args.iterations),
         "--checkpoint-every", str(args.checkpoint_every), "--eval-every", "0", "--seed", str(args.seed),
         "--quiet", "--data", data, "--out", out]
    return c + (["--resume"] if resume else [])

def spawn(out, resume):
    return subprocess.Popen(command(out, resume), env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

def read_safetensors(path):
    """(metadata, {name: (dtype, shape, bytes)}) parsed from the safetensors header."""
    with open(path, "rb") as f:
        blob = f.read()
    (n,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + n])
    body = blob[8 + n:]
    meta = header.pop("__metadata__", {})
    tensors = {}
    for name, e in header.items():
        lo, hi = e["data_offsets"]
        tensors[name] = (e["dtype"], e["shape"], body[lo:hi])
    return meta, tensors

def checkpoint_iteration(out):
    try:
        return int(read_safetensors(os.path.join(out, CKPT))[0].get("iteration", 0))
    except (OSError, ValueError, KeyError, struct.error):
        return 0

def metric_lines(out):
    try:
        with open(os.path.join(out, METRICS)) as f:
            return f.read().splitlines()
    except OSError:
        return []

def stray(out):
    """Anything besides the checkpoint and the log: debris of a killed write."""
    return sorted(n for n in os.listdir(out) if n not in (CKPT, METRICS)) if os.path.isdir(out) else []

def trained_past(out, iteration, since):
    path = os.path.join(out, METRICS)
    try:
        if os.stat(path).st_mtime < since - 0.01:
            return False
    except OSError:
        return False
    lines = metric_lines(out)
    try:
        return bool(lines) and json.loads(lines[-1])["iteration"] > iteration
    except (ValueError, KeyError):
        return False  # a line being appended

def temporaries(out, pid=None):
    try:
        names = os.listdir(out)
    except OSError:
        return []
    return [n for n in names if n.startswith(TMP_PREFIX) and (pid is None or n == TMP_PREFIX + str(pid))]

def wait_exit(p, seconds):
    try:
        p.wait(timeout=seconds)
        return True
    except subprocess.TimeoutExpired:
        return False

def finish(p, label):
    _, err = p.communicate()
    if p.returncode != 0:
        sys.stderr.write(err.decode(errors="replace"))
        sys.exit(f"soak: {label} exited with status {p.returncode}")

stats = {"kills": 0, "kills_during_write": 0, "write_aimed": 0, "startup_kills": 0, "training_kills": 0,
         "resumes": 0, "fresh_starts": 0, "completed_early": 0}
# Start-up time (data decode; compile, cached after the first run) bounds the start-up kills.
startup = None

while stats["kills"] < args.kills:
    resume = os.path.exists(os.path.join(soak_dir, CKPT))
    stats["resumes" if resume else "fresh_starts"] += 1
    before = checkpoint_iteration(soak_dir) if resume else 0
    mode = rng.choices(["write", "training", "startup"], weights=[45, 40, 15])[0]
    if startup is None:
        mode = "training"  # the first run measures start-up
    started, started_wall = time.monotonic(), time.time()
    p = spawn(soak_dir, resume)
    killed = False
    if mode == "startup":
        if not wait_exit(p, rng.uniform(0, startup)):
            os.kill(p.pid, signal.SIGKILL); killed = True
    elif mode == "write":
        mine = TMP_PREFIX + str(p.pid)
        deadline = started + startup * 3 + 30 if startup else started + 120
        while p.poll() is None and time.monotonic() < deadline:
            try:
                if mine in os.listdir(soak_dir):
                    os.kill(p.pid, signal.SIGKILL); killed = True
                    break
            except FileNotFoundError:
                pass
            time.sleep(0.0002)
    else:
        # Training has begun once this process's log (rewritten at start-up, so newer than
        # the spawn) holds an iteration past the checkpoint's.
        while p.poll() is None and not trained_past(soak_dir, before, started_wall):
            time.sleep(0.002)
        took = time.monotonic() - started
        startup = took if startup is None else min(startup, took)
        if p.poll() is None and not wait_exit(p, rng.uniform(0, args.training_delay)):
            os.kill(p.pid, signal.SIGKILL); killed = True
    p.wait()
    if not killed:
        if p.returncode == 0:
            stats["completed_early"] += 1
            print(f"soak: the run completed after {stats['kills']} kills; raise --iterations", file=sys.stderr)
            break
        sys.stderr.write(p.stderr.read().decode(errors="replace"))
        sys.exit(f"soak: training exited with status {p.returncode} (resume={resume})")
    stats["kills"] += 1
    stats[{"write": "write_aimed", "training": "training_kills", "startup": "startup_kills"}[mode]] += 1
    # The kill landed inside writeAtomically when its temporary file is still there.
    if temporaries(soak_dir, p.pid):
        stats["kills_during_write"] += 1
    print(f"kill {stats['kills']:3d} ({mode:8s}) pid {p.pid}: checkpoint at iteration "
          f"{checkpoint_iteration(soak_dir)}, {len(stray(soak_dir))} stray files", flush=True)

if not stats["completed_early"]:
    resume = os.path.exists(os.path.join(soak_dir, CKPT))
    stats["resumes" if resume else "fresh_starts"] += 1
    finish(spawn(soak_dir, resume), "the final resumed run")
t1 = time.monotonic()
finish(spawn(ref_dir, False), "the uninterrupted run")
ref_seconds = time.monotonic() - t1

problems = []
meta_a, ten_a = read_safetensors(os.path.join(soak_dir, CKPT))
meta_b, ten_b = read_safetensors(os.path.join(ref_dir, CKPT))
if sorted(ten_a) != sorted(ten_b):
    problems.append(f"tensor names differ: {sorted(set(ten_a) ^ set(ten_b))}")
differing = [n for n in sorted(set(ten_a) & set(ten_b)) if ten_a[n] != ten_b[n]]
if differing:
    problems.append(f"{len(differing)} tensors differ: {', '.join(differing[:8])}")
# "run" is the RunRecord as JSON, whose key order varies from process to process (JSONEncoder
# without .sortedKeys): such a value is compared parsed, every other one as text.
def same_value(a, b):
    if a == b:
        return True
    try:
        return a is not None and b is not None and json.loads(a) == json.loads(b)
    except ValueError:
        return False
textual = sorted(k for k in set(meta_a) | set(meta_b) if meta_a.get(k) != meta_b.get(k))
semantic = [k for k in textual if not same_value(meta_a.get(k), meta_b.get(k))]
if semantic:
    problems.append(f"metadata differs in {semantic}")
with open(os.path.join(soak_dir, CKPT), "rb") as f, open(os.path.join(ref_dir, CKPT), "rb") as g:
    identical_files = f.read() == g.read()

def records(out):
    return [json.loads(l) for l in metric_lines(out) if l.strip()]
soak_metrics, ref_metrics = records(soak_dir), records(ref_dir)
iters = [r.get("iteration") for r in soak_metrics]
if iters != list(range(1, args.iterations + 1)):
    problems.append(f"metrics.jsonl iterations are not exactly 1...{args.iterations} "
                    f"({len(iters)} records, first bad at {next((i for i, v in enumerate(iters, 1) if v != i), len(iters) + 1)})")
else:
    for a, b in zip(soak_metrics, ref_metrics):
        bad = [k for k in ("loss", "accuracy", "lr") if a.get(k) != b.get(k)]
        if bad:
            problems.append(f"metrics of iteration {a['iteration']} differ in {bad}")
            break
left = stray(soak_dir)
if left:
    problems.append(f"{len(left)} stray files left in the output folder: {left[:3]}")

summary = dict(stats, iterations=args.iterations, checkpoint_every=args.checkpoint_every, seed=args.seed,
               binary=binary, tensors=len(ten_a), tensors_identical=not differing and sorted(ten_a) == sorted(ten_b),
               metadata_equal=not semantic, metadata_text_differs_in=textual, files_identical=identical_files,
               metrics_records=len(iters), stray_files=len(left),
               startup_seconds=round(startup or 0, 2), uninterrupted_seconds=round(ref_seconds, 2),
               problems=problems, work=work)
print("\nsoak summary")
for k in ("kills", "kills_during_write", "write_aimed", "training_kills", "startup_kills", "resumes",
          "fresh_starts", "iterations", "tensors", "tensors_identical", "metadata_equal", "metadata_text_differs_in", "files_identical",
          "metrics_records", "stray_files", "startup_seconds", "uninterrupted_seconds"):
    print(f"  {k:22s} {summary[k]}")
print("  result                 " + ("PASS: bit-identical to the uninterrupted run" if not problems
                                    else "FAIL: " + "; ".join(problems)))
if args.json:
    with open(args.json, "w") as f:
        json.dump(summary, f, indent=2)
sys.exit(1 if problems or stats["kills"] < args.kills else 0)
PY
