#!/usr/bin/env python3
"""PyTorch peer of MetaJIT's sequence meta-learners (issue 13): training-step speed of MANN
(Santoro et al. 2016) and SNAIL (Mishra et al. 2018) on random inputs of the right shapes.
Speed only: accuracy is not compared. Prints ONE JSON line on stdout (logs on stderr).

  .venv/bin/python sequence_peer.py --model mann|snail --ways N --shots K --batch B \
      --iterations I --threads T [--warmup W] [--variant eager|compile] [--cpus 0]

One step = forward over a batch of B episodes, backward, the gradient clipped to global norm
10 (`--clip`, MetaJIT's `clipNorm`), one Adam step (torch.optim.Adam, lr 1e-3, fused). Inputs are drawn once (--seed) and reused; parameters Glorot uniform
(MetaJIT's `.weight`, `common.weight`), biases zero. Layouts follow MetaJIT: linear weights
[in, out], sequences [B, T, C], causal convolutions as `Sources/GraphDSL/SequenceComposites.swift`
writes them ([2C, F] weights stacking the x[t − d] and x[t] taps).

MANN (`--shots` = samples per class, default 10; T = N·S), as `Sources/MetaLearning/MANN.swift`
(branch seq13) builds it: per step the flattened 20×20 image (400) ⊕ the previous step's label
(zeros at t = 0), one-hot N by default (the `mann-omniglot-5way` recipe) or, with
`--labels strings`, Santoro's five-character strings (5 one-hot groups of 5, 25 values).
LSTM controller, 200 units, gate order i, f, g, o, input
[x, label, previous reads 4×40] (the x/label part of its input projection is one matmul over
all steps before the time loop; reads and h enter through one [360, 800] matmul per step).
Memory 128 × 40, 4 heads, each with a key tanh(h·W_k + b_k) (40), a write gate α = h·W_α + b_α
and a key strength β = 1 + softplus(h·W_β + b_β) from the controller output (one [200, 168]
matmul for all three). Per step (`lruMemoryStep`): w^lu = one-hot of the
least-used slot of w^u(t−1), w^w = σ(α)·w^r(t−1) + (1 − σ(α))·w^lu, the least-used row
zeroed, M += w^wᵀ·k; w^r = softmax(β·cos(k, M)), reads r = w^r·M; w^u = 0.95·w^u + Σ w^r + Σ w^w.
The memory starts at 1e-6, usage and previous read weights at zero. Output: linear from
[h, reads] to N logits (strings: 25; one matmul over all steps after the loop); loss the
cross-entropy (strings: summed over the 5 groups), mean over steps and episodes; backprop
through the whole unrolled episode.

SNAIL (Omniglot, T = N·K + 1): Conv-4 (4 × [3×3 conv 64 padding 1, batch norm with the
batch's statistics over all B·T images, ReLU, 2×2 max-pool], 28×28 → 64) + linear 64 → 64;
per-step input [embedding, label one-hot N] (zeros at the last, query step); then
attention(key 64, value 32) → TC(128) → attention(256, 128) → TC(128) → attention(512, 256)
→ per-step linear to N. Dense block: causal dilated conv kernel 2, tanh(x_f)·σ(x_g) (filter
and gate convolutions as one [2C, 2F] matmul), output concatenated to its input; TC block:
⌈log₂ T⌉ dense blocks with dilations 1, 2, 4, …; attention block: causally masked
softmax(QKᵀ/√key)·V concatenated to its input. Loss: cross-entropy of the last step only.

Variants: `eager` (default) and `compile` (`torch.compile` of the loss; backward through
AOTAutograd). A variant that fails, or whose first step exceeds --compile-timeout, prints
{"skipped": true, "reason": ...} and exits 0. `compile_s`/`first_step_s` is the first step;
it counts as the first warm-up step; `steps_per_s` is over the `--iterations` timed steps.
"""
from __future__ import annotations

import argparse
import math
import os
import signal
import sys
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402

from common import base_versions, emit, log, peak_rss_bytes, pin_cpus, weight  # noqa: E402

# MANN (Santoro et al. 2016, MetaJIT issue 13)
MANN_IMAGE = 400
MANN_HIDDEN, MANN_SLOTS, MANN_WIDTH, MANN_HEADS, MANN_GAMMA = 200, 128, 40, 4, 0.95
# SNAIL (Mishra et al. 2018, Omniglot)
SNAIL_SIZE, SNAIL_WIDTH, SNAIL_EMBED, SNAIL_FILTERS = 28, 64, 64, 128
SNAIL_ATTENTION = [(64, 32), (256, 128), (512, 256)]
EPS = 1e-5


class CompileTimeout(Exception):
    pass


def tc_depth(length: int) -> int:
    """`tcBlockDepth`: ⌈log₂ T⌉, at least 1."""
    d = 0
    while (1 << d) < length:
        d += 1
    return max(d, 1)


# ----------------------------------------------------------------------------- parameters and data

def label_shape(ways: int, strings: bool):
    """(groups, alphabet) of MANN's label encoding: five one-hot groups of five (Santoro's
    strings) or one group of `ways` (one-hot, the `mann-omniglot-5way` recipe)."""
    return (5, 5) if strings else (1, ways)


def mann_params(rng, label_width: int):
    x_in = MANN_IMAGE + label_width
    rec = MANN_HEADS * MANN_WIDTH + MANN_HIDDEN
    head_out = MANN_HEADS * (MANN_WIDTH + 2)
    read_out = MANN_HIDDEN + MANN_HEADS * MANN_WIDTH
    # The controller's input weight [x ⊕ label ⊕ reads, 4H] is split into its x/label rows
    # (`ctrl.wx`) and, stacked over the recurrent weight, its reads rows (`ctrl.wr`): the
    # same [585, 800] matrix (Glorot over the full fan-in) and [200, 800] recurrent weight.
    wx_full = weight(rng, (x_in + MANN_HEADS * MANN_WIDTH, 4 * MANN_HIDDEN))
    wh = weight(rng, (MANN_HIDDEN, 4 * MANN_HIDDEN))
    return {
        "ctrl.wx": wx_full[:x_in], "ctrl.wrh": np.concatenate([wx_full[x_in:], wh]),   # [160 + 200, 800]
        "ctrl.b": np.zeros(4 * MANN_HIDDEN, np.float32),
        "heads.w": weight(rng, (MANN_HIDDEN, head_out)), "heads.b": np.zeros(head_out, np.float32),
        "out.w": weight(rng, (read_out, label_width)), "out.b": np.zeros(label_width, np.float32),
    }, rec


def mann_inputs(rng, ways, shots, batch, strings: bool = False):
    t = ways * shots
    groups, alphabet = label_shape(ways, strings)
    x = rng.uniform(0, 1, (batch, t, MANN_IMAGE)).astype(np.float32)
    targets = rng.integers(0, alphabet, (batch, t, groups)).astype(np.int64)
    onehot = np.eye(alphabet, dtype=np.float32)[targets].reshape(batch, t, groups * alphabet)
    labels = np.zeros_like(onehot)
    labels[:, 1:] = onehot[:, :-1]                                    # the previous step's label
    return x, labels, targets


def snail_params(rng, ways, length):
    p = {}
    for i in range(1, 5):
        cin = 1 if i == 1 else SNAIL_WIDTH
        p[f"conv{i}.w"] = weight(rng, (SNAIL_WIDTH, cin, 3, 3))
        p[f"conv{i}.b"] = np.zeros(SNAIL_WIDTH, np.float32)
        p[f"bn{i}.gamma"] = np.ones(SNAIL_WIDTH, np.float32)
        p[f"bn{i}.beta"] = np.zeros(SNAIL_WIDTH, np.float32)
    p["embed.w"] = weight(rng, (SNAIL_WIDTH, SNAIL_EMBED))
    p["embed.b"] = np.zeros(SNAIL_EMBED, np.float32)
    c = SNAIL_EMBED + ways
    depth = tc_depth(length)
    for a, (key, value) in enumerate(SNAIL_ATTENTION):
        # Q and K [C, key] and V [C, value] as one [C, 2·key + value] matmul (same values).
        p[f"att{a}.wqkv"] = np.concatenate([weight(rng, (c, key)), weight(rng, (c, key)), weight(rng, (c, value))], 1)
        c += value
        if a < 2:
            for d in range(depth):
                # filter and gate [2C, F] each, side by side: [2C, 2F]
                p[f"tc{a}.{d}.w"] = np.concatenate([weight(rng, (2 * c, SNAIL_FILTERS)),
                                                    weight(rng, (2 * c, SNAIL_FILTERS))], 1)
                p[f"tc{a}.{d}.b"] = np.zeros(2 * SNAIL_FILTERS, np.float32)
                c += SNAIL_FILTERS
    p["out.w"] = weight(rng, (c, ways))
    p["out.b"] = np.zeros(ways, np.float32)
    return p, c


def snail_inputs(rng, ways, shots, batch):
    t = ways * shots + 1
    images = rng.uniform(0, 1, (batch, t, 1, SNAIL_SIZE, SNAIL_SIZE)).astype(np.float32)
    classes = np.stack([rng.permutation(np.repeat(np.arange(ways), shots)) for _ in range(batch)])
    labels = np.zeros((batch, t, ways), np.float32)
    labels[np.arange(batch)[:, None], np.arange(t - 1)[None], classes] = 1
    target = rng.integers(0, ways, batch).astype(np.int64)           # the query's class
    return images, labels, target


# ----------------------------------------------------------------------------- models

class DeferredWeightGrad:
    """`x_t @ W` for every step of a time loop, with W's gradient formed by ONE matmul after
    the backward pass (Σ_t x_tᵀ g_t = Xᵀ G) instead of one outer product and one accumulation
    per step. Inside the loop W enters detached; a hook on each product records its incoming
    gradient g_t; `finish()` adds Xᵀ G to W.grad. The gradients are the same (summed in a
    different order); used by the eager MANN for the controller's [360, 800] and the heads'
    [200, 168] weights (about 7% less CPU time per step at batch 4, none measurable at 16)."""

    def __init__(self, w):
        self.w, self.wd, self.xs, self.gs = w, w.detach(), [], {}

    def addmm(self, bias, x):
        y = torch_addmm(bias, x, self.wd)
        if y.requires_grad:
            i = len(self.xs)
            self.xs.append(x.detach())
            y.register_hook(lambda g, i=i: self.gs.__setitem__(i, g))
        return y

    def finish(self):
        if not self.xs:
            return
        import torch
        gs = [self.gs[i] if i in self.gs else self.xs[i].new_zeros(self.xs[i].shape[0], self.w.shape[1])
              for i in range(len(self.xs))]
        g = torch.cat(self.xs).t() @ torch.cat(gs)
        self.w.grad = g if self.w.grad is None else self.w.grad + g


def torch_addmm(bias, x, w):
    import torch
    return torch.addmm(bias, x, w) if bias is not None else torch.mm(x, w)


def make_mann_loss(ways, shots, deferred: bool = True, strings: bool = False):
    """`loss_fn(p, x, labels, targets) -> (loss, finish)`; call `finish()` after backward
    (it completes the deferred weight gradients; a no-op without `deferred`)."""
    import torch
    import torch.nn.functional as F

    H, N, D, R = MANN_HIDDEN, MANN_SLOTS, MANN_WIDTH, MANN_HEADS
    groups, alphabet = label_shape(ways, strings)

    class Plain:
        def __init__(self, w):
            self.w = w

        def addmm(self, bias, x):
            return torch_addmm(bias, x, self.w)

        def finish(self):
            pass

    def loss_fn(p, x, labels, targets):
        B, T, _ = x.shape
        make = DeferredWeightGrad if deferred else Plain
        rec, heads_w = make(p["ctrl.wrh"]), make(p["heads.w"])
        gx = torch.matmul(torch.cat([x, labels], 2), p["ctrl.wx"]) + p["ctrl.b"]     # [B, T, 4H]
        h = x.new_zeros(B, H)
        c = x.new_zeros(B, H)
        reads = x.new_zeros(B, R * D)
        memory = x.new_full((B, N, D), 1e-6)
        usage = x.new_zeros(B, N)
        w_read = x.new_zeros(B, R, N)
        hs, rs = [], []
        for t in range(T):
            z = rec.addmm(gx[:, t], torch.cat([reads, h], 1))
            s = torch.sigmoid(z)
            c = s[:, H:2 * H] * c + s[:, :H] * torch.tanh(z[:, 2 * H:3 * H])
            h = s[:, 3 * H:] * torch.tanh(c)
            heads = heads_w.addmm(p["heads.b"], h).view(B, R, D + 2)
            keys = torch.tanh(heads[..., :D])
            alpha, beta = heads[..., D:D + 1], F.softplus(heads[..., D + 1:]) + 1
            # least-used slot of the previous usage (no gradient through the selection)
            with torch.no_grad():
                lu = torch.zeros_like(usage).scatter_(1, usage.argmin(1, keepdim=True), 1.0)   # [B, N]
                keep = (1 - lu).unsqueeze(2)                                              # [B, N, 1]
            # σ(α)·w^r(t−1) + (1 − σ(α))·w^lu = lerp(w^lu, w^r(t−1), σ(α))
            w_write = torch.lerp(lu.unsqueeze(1).expand_as(w_read), w_read, torch.sigmoid(alpha))  # [B, R, N]
            memory = torch.baddbmm(memory * keep, w_write.transpose(1, 2), keys)          # zero w^lu's row, write
            # cos(k, M(i)) = k·M(i) / (√(Σk² + ε)·√(ΣM(i)² + ε)), normalised on the [B, R, N] scores
            dots = torch.bmm(keys, memory.transpose(1, 2))
            inv_k = torch.rsqrt(keys.square().sum(2, keepdim=True) + 1e-8)               # [B, R, 1]
            inv_m = torch.rsqrt(memory.square().sum(2) + 1e-8).unsqueeze(1)               # [B, 1, N]
            w_read = torch.softmax(dots * (inv_k * beta) * inv_m, dim=2)                  # [B, R, N]
            usage = torch.add((w_read + w_write).sum(1), usage, alpha=MANN_GAMMA)
            reads = torch.bmm(w_read, memory).reshape(B, R * D)
            hs.append(h)
            rs.append(reads)
        out = torch.cat([torch.stack(hs, 1), torch.stack(rs, 1)], 2)                      # [B, T, H + RD]
        logits = (torch.matmul(out, p["out.w"]) + p["out.b"]).reshape(-1, alphabet)
        # Σ over the label's groups (5 for strings), mean over steps and episodes
        loss = F.cross_entropy(logits, targets.reshape(-1)) * groups

        def finish():
            rec.finish()
            heads_w.finish()
        return loss, finish

    return loss_fn


def make_snail_loss(ways, shots, channels_last=False):
    import torch
    import torch.nn.functional as F

    length = ways * shots + 1
    depth = tc_depth(length)

    def embed(p, images):
        B, T = images.shape[:2]
        h = images.reshape(B * T, 1, SNAIL_SIZE, SNAIL_SIZE)
        if channels_last:
            h = h.contiguous(memory_format=torch.channels_last)
        for i in range(1, 5):
            h = F.conv2d(h, p[f"conv{i}.w"], p[f"conv{i}.b"], padding=1)
            h = F.batch_norm(h, None, None, p[f"bn{i}.gamma"], p[f"bn{i}.beta"], training=True, eps=EPS)
            h = F.relu(F.max_pool2d(h, 2))     # = pool(relu(h)): max commutes with relu, 4x fewer elements
        return (torch.matmul(h.flatten(1), p["embed.w"]) + p["embed.b"]).view(B, T, SNAIL_EMBED)

    mask_cache = {}

    def attention(p, a, x, key):
        T = x.shape[1]
        qkv = torch.matmul(x, p[f"att{a}.wqkv"])
        q, k, v = qkv[..., :key], qkv[..., key:2 * key], qkv[..., 2 * key:]
        if T not in mask_cache:
            mask_cache[T] = torch.ones(T, T, dtype=torch.bool).tril()
        scores = torch.matmul(q, k.transpose(1, 2)) * (1.0 / math.sqrt(key))
        scores = scores.masked_fill(~mask_cache[T], -1e9)
        return torch.cat([x, torch.matmul(torch.softmax(scores, -1), v)], 2)

    def tc(p, a, x):
        T = x.shape[1]
        for d in range(depth):
            dil = 1 << d
            shifted = F.pad(x, (0, 0, dil, 0))[:, :T] if dil < T else torch.zeros_like(x)
            fg = torch.matmul(torch.cat([shifted, x], 2), p[f"tc{a}.{d}.w"]) + p[f"tc{a}.{d}.b"]
            x = torch.cat([x, torch.tanh(fg[..., :SNAIL_FILTERS]) * torch.sigmoid(fg[..., SNAIL_FILTERS:])], 2)
        return x

    def loss_fn(p, images, labels, target):
        x = torch.cat([embed(p, images), labels], 2)                 # [B, T, 64 + N]
        x = attention(p, 0, x, SNAIL_ATTENTION[0][0])
        x = tc(p, 0, x)
        x = attention(p, 1, x, SNAIL_ATTENTION[1][0])
        x = tc(p, 1, x)
        x = attention(p, 2, x, SNAIL_ATTENTION[2][0])
        logits = torch.matmul(x[:, -1], p["out.w"]) + p["out.b"]     # the per-step linear, at the query step
        return F.cross_entropy(logits, target), None

    return loss_fn


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True, choices=["mann", "snail"])
    ap.add_argument("--ways", type=int, default=5)
    ap.add_argument("--shots", type=int, help="MANN: samples per class (default 10); SNAIL: shots (default 1)")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--iterations", type=int, default=10, help="timed steps")
    ap.add_argument("--warmup", type=int, default=2, help="untimed steps incl. the first (min 1)")
    ap.add_argument("--threads", type=int, default=1, help="torch intra-op threads (inter-op 1)")
    ap.add_argument("--cpus", help="pin this process to these CPUs (e.g. 0 or 0,1)")
    ap.add_argument("--variant", default="eager", choices=["eager", "eager-plain", "eager-cl", "compile"],
                    help="eager-plain: MANN without the deferred weight gradients; eager-cl: SNAIL's Conv-4 in channels_last")
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--clip", type=float, default=10.0, help="clip the gradient to this global norm (0: off), as MetaJIT's clipNorm")
    ap.add_argument("--labels", default="one-hot", choices=["one-hot", "strings"],
                    help="MANN's label encoding: one-hot N (the mann-omniglot-5way recipe) or Santoro's 5-character strings (25)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--compile-timeout", type=float, default=300.0)
    a = ap.parse_args(argv)
    shots = a.shots if a.shots is not None else (10 if a.model == "mann" else 1)
    if a.ways < 2 or shots < 1 or a.batch < 1 or a.iterations < 1:
        ap.error("needs --ways >= 2, --shots >= 1, --batch >= 1, --iterations >= 1")

    import torch_peer  # sets OMP_WAIT_POLICY=PASSIVE unless set, before torch loads
    import torch

    affinity = pin_cpus(a.cpus)
    threads = torch_peer.set_threads(a.threads)
    flush = torch.set_flush_denormal(True)          # MetaJIT's kernels run with FTZ/DAZ
    rng = np.random.default_rng(a.seed)
    if a.model == "mann":
        strings = a.labels == "strings"
        groups, alphabet = label_shape(a.ways, strings)
        params_np, _ = mann_params(rng, groups * alphabet)
        inputs = mann_inputs(rng, a.ways, shots, a.batch, strings)
        loss_fn = make_mann_loss(a.ways, shots, deferred=a.variant == "eager", strings=strings)
        length = a.ways * shots
    else:
        length = a.ways * shots + 1
        params_np, _ = snail_params(rng, a.ways, length)
        inputs = snail_inputs(rng, a.ways, shots, a.batch)
        loss_fn = make_snail_loss(a.ways, shots, channels_last=a.variant == "eager-cl")
    n_params = int(sum(v.size for v in params_np.values()))
    result = {"framework": "torch", "model": a.model, "variant": a.variant, "ways": a.ways, "shots": shots,
              "batch": a.batch, "length": length, "threads": torch.get_num_threads(), "thread_config": threads,
              "affinity": affinity, "flush_denormal": flush, "torch_version": torch.__version__,
              "parameters": n_params, "clip": a.clip, "lr": a.lr,
              **({"labels": a.labels} if a.model == "mann" else {}), "versions": base_versions()}
    log(f"{a.model} ({a.variant}): {a.ways}-way, {shots} {'samples per class' if a.model == 'mann' else 'shots'}, "
        f"T={length}, batch {a.batch}, {n_params} parameters, {a.threads} thread(s)")

    params = {k: torch.tensor(v, requires_grad=True) for k, v in params_np.items()}
    if a.variant == "eager-cl":
        params = {k: (v.detach().contiguous(memory_format=torch.channels_last).requires_grad_(True)
                      if v.dim() == 4 else v) for k, v in params.items()}
    batch = tuple(torch.from_numpy(x) for x in inputs)
    plist = list(params.values())
    try:
        opt = torch.optim.Adam(params.values(), lr=a.lr, fused=True)
    except (RuntimeError, TypeError, ValueError):
        opt = torch.optim.Adam(params.values(), lr=a.lr, foreach=True)
    if a.variant == "compile":
        compiled = torch.compile(lambda p, *b: loss_fn(p, *b)[0])
        fn = lambda p, *b: (compiled(p, *b), None)  # noqa: E731
    else:
        fn = loss_fn

    def step():
        opt.zero_grad(set_to_none=True)
        loss, finish = fn(params, *batch)
        loss.backward()
        if finish is not None:
            finish()
        if a.clip > 0:
            torch.nn.utils.clip_grad_norm_(plist, a.clip, foreach=True)
        opt.step()
        return float(loss.detach())

    def on_alarm(signum, frame):
        raise CompileTimeout()

    try:
        old = signal.signal(signal.SIGALRM, on_alarm)
        signal.setitimer(signal.ITIMER_REAL, a.compile_timeout)
        t0 = time.perf_counter()
        try:
            loss_first = step()
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, old)
        first_s = time.perf_counter() - t0
    except CompileTimeout:
        emit({**result, "skipped": True, "reason": f"first step exceeded --compile-timeout {a.compile_timeout:g} s"})
        return 0
    except Exception as e:  # noqa: BLE001
        if "CompileTimeout" in f"{type(e).__name__}: {e}":   # raised inside inductor, which wraps it
            emit({**result, "skipped": True, "reason": f"first step exceeded --compile-timeout {a.compile_timeout:g} s"})
            return 0
        traceback.print_exc(file=sys.stderr)
        msg = str(e).strip().splitlines()[0] if str(e).strip() else ""
        emit({**result, "skipped": True, "reason": f"{type(e).__name__}: {msg}"[:500]})
        return 0
    for _ in range(max(a.warmup, 1) - 1):
        step()
    t0 = time.perf_counter()
    loss = loss_first
    for _ in range(a.iterations):
        loss = step()
    elapsed = time.perf_counter() - t0
    if not math.isfinite(loss):
        raise SystemExit(f"non-finite loss {loss}")
    log(f"first step {first_s:.2f} s; {a.iterations} steps in {elapsed:.2f} s "
        f"({elapsed / a.iterations * 1e3:.1f} ms/step); loss {loss_first:.4f} -> {loss:.4f}")
    emit({**result, "steps_per_s": a.iterations / elapsed, "seconds_per_step": elapsed / a.iterations,
          "iterations": a.iterations, "warmup": max(a.warmup, 1), "first_step_s": first_s,
          "loss_first": loss_first, "loss_last": loss, "peak_rss_bytes": peak_rss_bytes()})
    return 0


if __name__ == "__main__":
    sys.exit(main())
