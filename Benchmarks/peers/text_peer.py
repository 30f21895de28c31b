#!/usr/bin/env python3
"""PyTorch peer of MetaJIT's few-shot text learner: Prototypical Networks on a masked LSTM
sentence encoder (`TextGraphs.protoNetLSTM`, `maskedLSTMEncoder`, `lstmCell`), trained one
episode per Adam step on exported training episodes, then evaluated on exported test
episodes. Prints ONE JSON line on stdout (logs on stderr).

  .venv/bin/python text_peer.py --episodes FILE --threads 1 [--train-limit N] [--json OUT]
      [--variant eager|loop|compile] [--adam metajit|torch] [--eval-before] [--cpus 0]

FILE (safetensors, `metajit text-episodes` or `make_text_episodes.py`): for s in {train,test}
`{s}_support` I32 [E, N·K, T] (class-major: row r has label r // K), `{s}_support_mask` F32,
`{s}_query` I32 [E, N·Q, T], `{s}_query_mask` F32, `{s}_query_labels` I32 [E, N·Q]; initial
weights `table` [V, E], `wx` [E, 4H], `wh` [H, 4H], `b` [4H]; metadata ways, shots, queries,
length, vocabulary, embedding, hidden, outer_lr, recipe, gate_order, optionally forget_bias.

Model, exactly as MetaJIT builds it: tokens embedded by gather from `table` (ids outside
0..<V, i.e. the -1 padding, read zero rows and get no gradient); per step
z = x·wx + h·wh + b split into the gates in `gate_order` (MetaJIT: i, f, g, o),
c' = σ(f)·c + σ(i)·tanh(g), h' = σ(o)·tanh(c'), then h = m·h' + (1 − m)·h and likewise c
(m the step's mask: the state is carried unchanged where it is 0); the sentence encoding is
the final h. Prototypes are the means of the K support encodings per class, logits
−‖q − c‖² (as −(‖q‖² − 2q·c + ‖c‖²)), loss the mean cross-entropy over the queries.
`forget_bias`, when present, is only recorded: it is already part of the exported `b`
(MetaJIT's cell has no separate forget-bias term).

Variants (all compute the same function):
  eager    (default) the encoder through PyTorch's fused LSTM kernel (`nn.LSTM`, the same
           i, f, g, o gate order, bias_hh fixed at zero) over the padded sequence, reading
           each row's output at its last masked-in step. Exact for masks of the form
           1…1 0…0 (what the tokenizer writes); any other mask falls back to `loop`.
  loop     the masked cell written out, one step at a time (exact for any 0/1 mask).
  compile  `torch.compile` of `loop`'s loss (forward and backward through AOTAutograd).
Support and query sentences go through the encoder as one batch (no op couples rows).

Adam: `metajit` (default) is MetaJIT's formula (`Optimizer.adam`: β 0.9/0.999, step size
lr·√(1−β₂ᵗ)/(1−β₁ᵗ), update m/(√v + 1e-8)); `torch` is `torch.optim.Adam` (fused), whose
epsilon sits after v's bias correction (i.e. smaller by √(1−β₂ᵗ)).

Timing: `train_episodes_per_s` counts the training steps after the first (which is timed
alone as `first_step_s`, compilation included); `eval_episodes_per_s` likewise for the
evaluation calls (`--eval-batch` episodes per call, default 1, as MetaJIT evaluates).
`ci95` = 1.96·std/√n (sample std, as `Runtime/Evaluation.swift`) over test episodes.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import signal
import sys
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402

from common import base_versions, emit, log, peak_rss_bytes, pin_cpus, read_safetensors_typed  # noqa: E402

GATES = "ifgo"  # MetaJIT's lstmCell order (Sources/GraphDSL/Composites.swift) and nn.LSTM's


def parse_gate_order(text: str | None) -> str:
    letters = "".join(ch for ch in (text or GATES).lower() if ch.isalpha())
    if sorted(letters) != sorted(GATES):
        raise SystemExit(f"gate_order {text!r} is not a permutation of i, f, g, o")
    return letters


def to_metajit_gate_order(a: np.ndarray, order: str, hidden: int) -> np.ndarray:
    """Columns (last axis, 4H) of a weight in gate order `order` rearranged to i, f, g, o."""
    blocks = [a[..., j * hidden:(j + 1) * hidden] for j in range(4)]
    return np.ascontiguousarray(np.concatenate([blocks[order.index(g)] for g in GATES], axis=-1))


def load(path: str):
    t, meta = read_safetensors_typed(path)
    need = ("ways", "shots", "queries", "length", "vocabulary", "embedding", "hidden", "outer_lr")
    missing = [k for k in need if k not in meta]
    if missing:
        raise SystemExit(f"{path}: metadata lacks {missing}")
    cfg = {k: (float(meta[k]) if k == "outer_lr" else int(meta[k])) for k in need}
    cfg["recipe"] = meta.get("recipe", "")
    cfg["gate_order"] = parse_gate_order(meta.get("gate_order"))
    cfg["forget_bias"] = float(meta["forget_bias"]) if "forget_bias" in meta else None
    cfg["learner"] = meta.get("learner")          # `metajit text-episodes` also writes source, seed, test_seed
    cfg["source"], cfg["seed"], cfg["test_seed"] = meta.get("source"), meta.get("seed"), meta.get("test_seed")
    if cfg["learner"] not in (None, "protonet"):
        log(f"{path} was exported for the {cfg['learner']} learner; this peer trains ProtoNet on its episodes and weights")
    n, k, q, T = cfg["ways"], cfg["shots"], cfg["queries"], cfg["length"]
    v, e, h = cfg["vocabulary"], cfg["embedding"], cfg["hidden"]
    expect = {"table": (v, e), "wx": (e, 4 * h), "wh": (h, 4 * h), "b": (4 * h,)}
    for s in ("train", "test"):
        expect.update({f"{s}_support": (None, n * k, T), f"{s}_support_mask": (None, n * k, T),
                       f"{s}_query": (None, n * q, T), f"{s}_query_mask": (None, n * q, T),
                       f"{s}_query_labels": (None, n * q)})
    for name, shape in expect.items():
        if name not in t:
            raise SystemExit(f"{path}: no tensor {name!r}")
        got = t[name].shape
        if len(got) != len(shape) or any(a is not None and a != b for a, b in zip(shape, got)):
            raise SystemExit(f"{path}: {name} has shape {list(got)}, expected {[x if x else 'E' for x in shape]}")
    params = {name: to_metajit_gate_order(t[name].astype(np.float32), cfg["gate_order"], h)
              if name != "table" else np.ascontiguousarray(t[name].astype(np.float32))
              for name in ("table", "wx", "wh", "b")}
    splits = {}
    for s in ("train", "test"):
        st, qt = t[f"{s}_support"].astype(np.int64), t[f"{s}_query"].astype(np.int64)
        sm, qm = t[f"{s}_support_mask"].astype(np.float32), t[f"{s}_query_mask"].astype(np.float32)
        splits[s] = {"tokens": np.concatenate([st, qt], axis=1), "mask": np.concatenate([sm, qm], axis=1),
                     "labels": t[f"{s}_query_labels"].astype(np.int64)}
        lab = splits[s]["labels"]
        if lab.size and (lab.min() < 0 or lab.max() >= n):
            raise SystemExit(f"{path}: {s}_query_labels outside 0..<{n}")
    return cfg, params, splits


def prefix_masks(mask: np.ndarray) -> bool:
    """Every row 1…1 0…0 (0/1 values, non-increasing along time)."""
    binary = np.all((mask == 0) | (mask == 1))
    return bool(binary and np.all(mask[..., 1:] <= mask[..., :-1]))


def build(cfg, params_np, variant: str, adam: str):
    import torch
    import torch.nn.functional as F

    n, k, q = cfg["ways"], cfg["shots"], cfg["queries"]
    v, e, h = cfg["vocabulary"], cfg["embedding"], cfg["hidden"]
    rows = n * k + n * q
    P = {name: torch.tensor(a, requires_grad=True) for name, a in params_np.items()}

    def embed(table, tokens):
        valid = (tokens >= 0) & (tokens < v)
        x = F.embedding(tokens.clamp(0, v - 1), table)
        return x * valid.unsqueeze(-1).to(x.dtype)          # out-of-range ids: zero rows, no gradient

    def encode_loop(p, tokens, mask):
        """MetaJIT's maskedLSTMEncoder, step by step. tokens, mask [B, T]."""
        x = embed(p["table"], tokens)                       # [B, T, E]
        gx = torch.matmul(x, p["wx"]) + p["b"]             # all input projections at once [B, T, 4H]
        B, T = tokens.shape
        hs = x.new_zeros(B, h)
        cs = x.new_zeros(B, h)
        m = mask.unsqueeze(-1)                              # [B, T, 1]
        for t in range(T):
            z = torch.addmm(gx[:, t], hs, p["wh"])
            s = torch.sigmoid(z)
            i, f, o = s[:, :h], s[:, h:2 * h], s[:, 3 * h:]
            g = torch.tanh(z[:, 2 * h:3 * h])
            c2 = f * cs + i * g
            h2 = o * torch.tanh(c2)
            mt = m[:, t]
            hs = mt * h2 + (1 - mt) * hs
            cs = mt * c2 + (1 - mt) * cs
        return hs

    lstm = None
    if variant == "eager":
        lstm = torch.nn.LSTM(e, h, batch_first=True)
        with torch.no_grad():
            lstm.weight_ih_l0.copy_(P["wx"].detach().t())
            lstm.weight_hh_l0.copy_(P["wh"].detach().t())
            lstm.bias_ih_l0.copy_(P["b"].detach())
            lstm.bias_hh_l0.zero_()
        lstm.bias_hh_l0.requires_grad_(False)               # b is one bias; a second would double its steps
        # The trainable parameters in nn.LSTM's layout ([4H, in]); Adam is elementwise.
        P = {"table": P["table"], "wx": lstm.weight_ih_l0, "wh": lstm.weight_hh_l0, "b": lstm.bias_ih_l0}

    def encode_fused(p, tokens, mask):
        """The same for 1…1 0…0 masks: the final carried state is the output at step L − 1."""
        x = embed(p["table"], tokens)
        out, _ = lstm(x)                                    # [B, T, H]
        lengths = mask.sum(1).long()
        last = out[torch.arange(tokens.shape[0]), (lengths - 1).clamp(min=0)]
        return last * (lengths > 0).unsqueeze(-1).to(last.dtype)   # an empty row keeps the zero state

    encode = encode_fused if variant == "eager" else encode_loop

    def logits_of(p, tokens, mask, episodes: int = 1):
        enc = encode(p, tokens.reshape(-1, tokens.shape[-1]), mask.reshape(-1, mask.shape[-1]))
        enc = enc.view(episodes, rows, h)
        es, eq = enc[:, :n * k], enc[:, n * k:]
        protos = es.reshape(episodes, n, k, h).mean(2)                       # [b, N, H]
        qq = eq.square().sum(-1, keepdim=True)
        pp = protos.square().sum(-1).unsqueeze(1)
        return -(qq - 2 * torch.bmm(eq, protos.transpose(1, 2)) + pp)        # [b, NQ, N]

    def loss_fn(p, tokens, mask, labels):
        logits = logits_of(p, tokens.unsqueeze(0), mask.unsqueeze(0))[0]
        return F.cross_entropy(logits, labels)

    train_loss = torch.compile(loss_fn) if variant == "compile" else loss_fn

    params = list(P.values())
    if adam == "metajit":
        from metric_peer import MetaJITAdam
        opt = MetaJITAdam(params, cfg["outer_lr"])
    else:
        try:
            opt = torch.optim.Adam(params, lr=cfg["outer_lr"], fused=True)
        except (RuntimeError, TypeError, ValueError):
            opt = torch.optim.Adam(params, lr=cfg["outer_lr"], foreach=True)

    def step(tokens, mask, labels):
        opt.zero_grad(set_to_none=True)
        loss = train_loss(P, tokens, mask, labels)
        loss.backward()
        opt.step()
        return float(loss.detach())

    def evaluate(tokens, mask, labels):
        """tokens [b, R, T]: per-episode (accuracy, loss) arrays."""
        with torch.inference_mode():
            logits = logits_of(P, tokens, mask, tokens.shape[0])             # [b, NQ, N]
            acc = (logits.argmax(-1) == labels).float().mean(1)
            loss = F.cross_entropy(logits.transpose(1, 2), labels, reduction="none").mean(1)
        return acc.numpy(), loss.numpy()

    return step, evaluate


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--episodes", required=True, help="safetensors episode file (metajit text-episodes)")
    ap.add_argument("--threads", type=int, default=1, help="torch intra-op threads (inter-op 1)")
    ap.add_argument("--cpus", help="pin this process to these CPUs (e.g. 0 or 0,1)")
    ap.add_argument("--train-limit", type=int, help="train on the first N training episodes only")
    ap.add_argument("--test-limit", type=int, help="evaluate the first N test episodes only")
    ap.add_argument("--variant", default="eager", choices=["eager", "loop", "compile"])
    ap.add_argument("--adam", default="metajit", choices=["metajit", "torch"])
    ap.add_argument("--eval-batch", type=int, default=1, help="test episodes per evaluation call")
    ap.add_argument("--eval-before", action="store_true", help="also evaluate the initial weights")
    ap.add_argument("--losses", action="store_true", help="list every training loss in the JSON")
    ap.add_argument("--json", metavar="OUT", help="also write the JSON line to OUT")
    ap.add_argument("--compile-timeout", type=float, default=300.0,
                    help="seconds allowed for the first training step before the variant is skipped")
    a = ap.parse_args(argv)

    import torch_peer  # sets OMP_WAIT_POLICY=PASSIVE unless set, before torch loads
    import torch

    affinity = pin_cpus(a.cpus)
    threads = torch_peer.set_threads(a.threads)
    # MetaJIT's kernels run with flush-to-zero / denormals-are-zero; so does the peer.
    flush = torch.set_flush_denormal(True)
    torch.manual_seed(0)

    cfg, params_np, splits = load(a.episodes)
    train, test = splits["train"], splits["test"]
    n_train = train["tokens"].shape[0] if a.train_limit is None else min(a.train_limit, train["tokens"].shape[0])
    n_test = test["tokens"].shape[0] if a.test_limit is None else min(a.test_limit, test["tokens"].shape[0])
    variant = a.variant
    if variant == "eager" and not (prefix_masks(train["mask"][:n_train]) and prefix_masks(test["mask"][:n_test])):
        log("masks are not all of the form 1…1 0…0; the fused-kernel encoder would differ, using the loop")
        variant = "loop"
    result = {"framework": "torch", "model": "protonet-lstm", "variant": variant, "requested_variant": a.variant,
              "adam": a.adam, "episodes_file": a.episodes, "recipe": cfg["recipe"],
              **{key: cfg[key] for key in ("ways", "shots", "queries", "length", "vocabulary", "embedding",
                                           "hidden", "outer_lr", "gate_order", "forget_bias", "learner", "source",
                                           "seed", "test_seed")},
              "torch_version": torch.__version__, "threads": torch.get_num_threads(), "thread_config": threads,
              "affinity": affinity, "flush_denormal": flush, "versions": base_versions()}
    log(f"{cfg['recipe'] or a.episodes}: {cfg['ways']}-way {cfg['shots']}-shot {cfg['queries']} queries, T={cfg['length']}, "
        f"V={cfg['vocabulary']}, E={cfg['embedding']}, H={cfg['hidden']}; {n_train} train / {n_test} test episodes; "
        f"{variant}, {a.threads} thread(s)")

    T = lambda x: torch.from_numpy(np.ascontiguousarray(x))
    tr = [(T(train["tokens"][i]), T(train["mask"][i]), T(train["labels"][i])) for i in range(n_train)]
    eb = max(1, a.eval_batch)
    te = [(T(test["tokens"][i:i + eb][:n_test - i]), T(test["mask"][i:i + eb][:n_test - i]),
           T(test["labels"][i:i + eb][:n_test - i])) for i in range(0, n_test, eb)]

    try:
        step, evaluate = build(cfg, params_np, variant, a.adam)
    except Exception as ex:  # noqa: BLE001
        traceback.print_exc(file=sys.stderr)
        emit({**result, "skipped": True, "reason": f"{type(ex).__name__}: {str(ex).strip()[:400]}"})
        return 0

    def run_eval():
        accs, losses, times = [], [], []
        for batch in te:
            t0 = time.perf_counter()
            acc, loss = evaluate(*batch)
            times.append(time.perf_counter() - t0)
            accs.append(acc)
            losses.append(loss)
        return np.concatenate(accs), np.concatenate(losses), times

    if a.eval_before:
        acc0, _, _ = run_eval()
        result["accuracy_before"] = float(acc0.mean())
        log(f"before training: accuracy {acc0.mean():.4f}")

    class CompileTimeout(Exception):
        pass

    def on_alarm(signum, frame):
        raise CompileTimeout()

    losses, t_first = [], 0.0
    t0 = time.perf_counter()
    for i, batch in enumerate(tr):
        if i == 0:
            old = signal.signal(signal.SIGALRM, on_alarm)
            signal.setitimer(signal.ITIMER_REAL, a.compile_timeout)
        try:
            losses.append(step(*batch))
        except Exception as ex:  # noqa: BLE001 (a compile failure on the first step: report, not crash)
            if i:
                raise
            text = f"{type(ex).__name__}: {ex}"
            if "CompileTimeout" in text:     # ours, possibly wrapped by inductor
                text = f"first step exceeded --compile-timeout {a.compile_timeout:g} s"
            else:
                traceback.print_exc(file=sys.stderr)
            emit({**result, "skipped": True, "reason": text.strip()[:400]})
            return 0
        finally:
            if i == 0:
                signal.setitimer(signal.ITIMER_REAL, 0)
                signal.signal(signal.SIGALRM, old)
        if i == 0:
            t_first = time.perf_counter() - t0
    train_s = time.perf_counter() - t0
    if losses and not all(math.isfinite(x) for x in losses):
        raise SystemExit("non-finite training loss")
    rest = train_s - t_first
    accs, eval_losses, times = run_eval()
    eval_s = sum(times)
    eval_rest = sum(times[1:])
    eval_rest_eps = n_test - len(te[0][0]) if te else 0
    tail = losses[-max(1, len(losses) // 10):] if losses else []
    ci95 = 1.96 * accs.std(ddof=1) / math.sqrt(len(accs)) if len(accs) > 1 else 0.0
    result.update({
        "accuracy": float(accs.mean()) if len(accs) else float("nan"), "ci95": float(ci95),
        "test_loss": float(eval_losses.mean()) if len(accs) else float("nan"),
        "train_episodes": n_train, "test_episodes": n_test,
        "train_episodes_per_s": (n_train - 1) / rest if n_train > 1 and rest > 0 else (1 / t_first if t_first else None),
        "eval_episodes_per_s": eval_rest_eps / eval_rest if eval_rest > 0 else (n_test / eval_s if eval_s else None),
        "first_step_s": t_first, "train_s": train_s, "eval_s": eval_s, "eval_batch": eb,
        "first_loss": losses[0] if losses else None,
        "last_losses_mean": float(np.mean(tail)) if tail else None,
        "peak_rss_bytes": peak_rss_bytes(),
        **({"losses": losses} if a.losses else {}),
    })
    if losses:
        log(f"train: {n_train} episodes in {train_s:.2f} s (first {t_first:.3f} s), loss {losses[0]:.4f} -> "
            f"{result['last_losses_mean']:.4f} (mean of the last {len(tail)})")
    log(f"test accuracy {result['accuracy']:.4f} ± {ci95:.4f} over {n_test} episodes")
    emit(result)
    if a.json:
        with open(a.json, "w") as f:
            f.write(json.dumps(result) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
