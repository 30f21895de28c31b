#!/usr/bin/env python3
"""PyTorch peer of MetaJIT's metric learners: Relation Networks and Matching Networks (±FCE).

The same models, parameter names and layouts as `Sources/MetaLearning/RelationNetwork.swift`,
`MatchingNetwork.swift` and `MetricSteps.swift`, trained one episode per step with Adam, and
timed as training episodes per second. Prints ONE JSON line on stdout (logs on stderr).

  .venv/bin/python metric_peer.py --workload relation-5w1s --variant eager \
      --warmup 5 --iterations 30 --threads 2 [--init CHECKPOINT] [--data omniglot|synthetic]
  .venv/bin/python metric_peer.py --workload relation-5w1s --init CHECKPOINT --check-manifest M.json
      # the loss of the manifest's first episode with the checkpoint's parameters (no training),
      # to compare with `metajit eval DIR --manifest M.json --episodes 1`

Relation Network (Sung et al. 2018): embedding of 4 blocks (3x3 conv, BN with the batch's own
statistics, ReLU; 2x2 max-pool after the first two; padding 0 there, 1 in the last two),
support and query embedded separately (as MetaJIT does: separate batch statistics), K-shot
support maps summed per class, pairs concatenated on channels into 2 pooled conv blocks, FC
64->8 ReLU, FC 8->1 sigmoid, MSE against one-hot; gradients clipped at norm 0.5 for the
embedding and for the relation module separately (MetaJIT's `clipByGlobalNorm` per group,
`min(1, 0.5 / (norm + 1e-6))`, which is what `clip_grad_norm_` computes); Adam 1e-3.

Matching Network (Vinyals et al. 2016): max-pool Conv-4 (padding 1, `conv{i}` / `bn{i}`),
softmax attention over cosine similarities (x / sqrt(sum x^2 + 1e-8)), loss the NLL of the
attention-weighted one-hot labels; `fce`: bidirectional LSTM over the support set in episode
order (g = h_fw + h_bw + g'), attention LSTM over each query for K = 5 steps with input f',
recurrent input [h, r], h_k = h^_k + f'; LSTM gate order i, f, g, o; `wx` [in, 4H],
`wh` [R, 4H], `b` [4H].

Variants: `eager` (plain autograd, torch.optim.Adam) and `compile` (`torch.compile` of the
loss-and-gradient function; clipping and Adam outside it). A variant that fails, or whose
first call exceeds --compile-timeout, prints {"skipped": true, "reason": ...} and exits 0.

Data: `metajit` (default) replays MetaJIT's own training episodes for --seed (a replica of
its Xoshiro256 sampler over the bundled meta-train alphabets with rotations 0/90/180/270,
`omniglot.py`'s preprocessing), assembled every step inside the timed loop; `synthetic`
reuses one uniform-random episode. Initial values: by default MetaJIT's own for --seed (a
replica of `ParameterStore(specs:seed:)`), so with the same seed the peer starts from the
same weights and trains on the same episodes as `metajit train`, and `--losses` lists the
per-step losses to compare with the run's metrics.jsonl.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import signal
import struct
import sys
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
# Passive OpenMP waiting unless the caller chose otherwise: on this shared 2-core machine the
# default (spinning) policy made 2-thread PyTorch 8-12x slower whenever another process held a
# core (relation-5w1s: 0.64 ep/s spinning, 8.0 passive, 8.4 on one thread).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402

from common import base_versions, emit, log, peak_rss_bytes, weight  # noqa: E402

WORKLOADS = {
    # name: (algorithm, ways, shots, queries, fce)  -- MetaJIT recipe and flags in metric-speed.sh
    "relation-5w1s": ("relation", 5, 1, 19, False),
    "relation-20w1s": ("relation", 20, 1, 10, False),
    "matching-5w1s": ("matching", 5, 1, 15, False),
    "matching-fce-5w1s": ("matching", 5, 1, 15, True),
    "matching-20w1s": ("matching", 20, 1, 10, False),
    "matching-fce-20w1s": ("matching", 20, 1, 10, True),
}
WIDTH, HIDDEN, SIZE, EPS, CLIP, STEPS_K = 64, 8, 28, 1e-5, 0.5, 5


# ----------------------------------------------------------------------------- safetensors

def read_safetensors(path: str):
    """({name: float32 array}, metadata) of a safetensors file (F32/F64/I32 tensors)."""
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    meta = header.pop("__metadata__", {}) or {}
    body = data[8 + n:]
    kinds = {"F32": np.float32, "F64": np.float64, "I32": np.int32, "I64": np.int64}
    out = {}
    for name, h in header.items():
        a, b = h["data_offsets"]
        arr = np.frombuffer(body[a:b], dtype=kinds[h["dtype"]]).reshape(h["shape"])
        out[name] = arr.astype(np.float32)
    return out, meta


# ----------------------------------------------------------------------------- MetaJIT's generators

M64 = (1 << 64) - 1
SM_INC = 0x9E3779B97F4A7C15


def splitmix64_stream(seed: int, count: int) -> np.ndarray:
    """The first `count` outputs of MetaIR's `SplitMix64(seed:)` (vectorised)."""
    with np.errstate(over="ignore"):
        k = np.arange(1, count + 1, dtype=np.uint64)
        z = np.uint64(seed & M64) + k * np.uint64(SM_INC)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def splitmix64_next(state: int):
    state = (state + SM_INC) & M64
    z = state
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
    return state, z ^ (z >> 31)


class Xoshiro256:
    """`EpisodeData.Xoshiro256` (xoshiro256**, Lemire bounded ints, partial Fisher-Yates)."""

    def __init__(self, seed: int, stream: int | None = None):
        if stream is not None:
            _, a = splitmix64_next(seed & M64)
            st, _ = splitmix64_next(a ^ ((stream * 0xD1B54A32D192ED03) & M64))
            _, b = splitmix64_next(st)
            seed = b ^ stream
        st, self.s = seed & M64, []
        for _ in range(4):
            st, v = splitmix64_next(st)
            self.s.append(v)

    def next(self) -> int:
        s0, s1, s2, s3 = self.s
        x = (s1 * 5) & M64
        result = ((((x << 7) | (x >> 57)) & M64) * 9) & M64
        t = (s1 << 17) & M64
        s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3
        s2 ^= t
        s3 = ((s3 << 45) | (s3 >> 19)) & M64
        self.s = [s0, s1, s2, s3]
        return result

    def next_int(self, bound: int) -> int:
        if bound <= 1:
            return 0
        m = self.next() * bound
        if (m & M64) < bound:
            threshold = ((1 << 64) - bound) % bound
            while (m & M64) < threshold:
                m = self.next() * bound
        return m >> 64

    def sample(self, count: int, n: int):
        k = max(0, min(count, n))
        swapped, out = {}, []
        for i in range(k):
            j = i + self.next_int(n - i)
            vj, vi = swapped.get(j, j), swapped.get(i, i)
            swapped[j] = vi
            out.append(vj)
        return out


def metajit_init(specs_list, seed: int):
    """`ParameterStore(specs:seed:)`: `SeededRandom(seed)` = SplitMix64(seed + increment), one
    draw per element of each Glorot-uniform spec in order, `-a + 2a·u` rounded to f32."""
    total = sum(int(np.prod(shape)) for _, shape, kind in specs_list if kind == "weight")
    bits = splitmix64_stream((seed + SM_INC) & M64, total)
    u = (bits >> np.uint64(11)).astype(np.float64) * 2.0 ** -53
    out, at = {}, 0
    for name, shape, kind in specs_list:
        if kind == "weight":
            n = int(np.prod(shape))
            if len(shape) == 4:
                r = shape[2] * shape[3]
                fan_in, fan_out = shape[1] * r, shape[0] * r
            else:
                fan_in, fan_out = shape[0], shape[1] if len(shape) > 1 else shape[0]
            a = math.sqrt(6.0 / max(fan_in + fan_out, 1))
            out[name] = (-a + (2 * a) * u[at:at + n]).astype(np.float32).reshape(shape)
            at += n
        else:
            out[name] = (np.ones if kind == "scale" else np.zeros)(shape, np.float32)
    return out


# ----------------------------------------------------------------------------- parameters

def specs(alg: str, fce: bool):
    """[(name, shape, kind)] in MetaJIT's order; kind: weight | bias | scale."""
    s = []
    def block(name, cin):
        return [(f"{name}.w", (WIDTH, cin, 3, 3), "weight"), (f"{name}.b", (WIDTH,), "bias"),
                (f"{name}.gamma", (WIDTH,), "scale"), (f"{name}.beta", (WIDTH,), "bias")]
    if alg == "relation":
        for i in range(1, 5):
            s += block(f"enc{i}", 1 if i == 1 else WIDTH)
        s += block("rel1", 2 * WIDTH) + block("rel2", WIDTH)
        s += [("fc1.w", (WIDTH, HIDDEN), "weight"), ("fc1.b", (HIDDEN,), "bias"),
              ("fc2.w", (HIDDEN, 1), "weight"), ("fc2.b", (1,), "bias")]
        return s
    for i in range(1, 5):
        cin = 1 if i == 1 else WIDTH
        s += [(f"conv{i}.w", (WIDTH, cin, 3, 3), "weight"), (f"conv{i}.b", (WIDTH,), "bias"),
              (f"bn{i}.gamma", (WIDTH,), "scale"), (f"bn{i}.beta", (WIDTH,), "bias")]
    if fce:
        d = WIDTH  # max-pool Conv-4 on 28x28: 64x1x1
        for name, rec in [("fce.fw", d), ("fce.bw", d), ("fce.att", 2 * d)]:
            s += [(f"{name}.wx", (d, 4 * d), "weight"), (f"{name}.wh", (rec, 4 * d), "weight"),
                  (f"{name}.b", (4 * d,), "bias")]
    return s


def init_params(alg: str, fce: bool, seed: int, checkpoint: str | None, how: str = "metajit"):
    """From a MetaJIT checkpoint (exact values); or MetaJIT's own initial values for `seed`
    (`metajit_init`, the same numbers `metajit train --seed` starts from); or MetaJIT's
    initialisers drawn with numpy (`how="numpy"`)."""
    sp = specs(alg, fce)
    if checkpoint:
        tensors, _ = read_safetensors(checkpoint)
        out = {}
        for name, shape, _ in sp:
            if name not in tensors:
                raise KeyError(f"{checkpoint} has no tensor {name!r}")
            if tuple(tensors[name].shape) != tuple(shape):
                raise ValueError(f"{name}: {tensors[name].shape} in {checkpoint}, expected {shape}")
            out[name] = np.ascontiguousarray(tensors[name])
        return out
    if how == "metajit":
        return metajit_init(sp, seed)
    rng = np.random.default_rng(seed)
    out = {}
    for name, shape, kind in sp:
        out[name] = (weight(rng, shape) if kind == "weight" else
                     np.ones(shape, np.float32) if kind == "scale" else np.zeros(shape, np.float32))
    return out


# ----------------------------------------------------------------------------- models

def make_model(alg: str, ways: int, shots: int, fce: bool):
    import torch
    import torch.nn.functional as F

    def block(p, name, x, padding, pool, bn=None):
        gamma, beta = (p[f"{name}.gamma"], p[f"{name}.beta"]) if bn is None else (p[f"{bn}.gamma"], p[f"{bn}.beta"])
        h = F.conv2d(x, p[f"{name}.w"], p[f"{name}.b"], padding=padding)
        h = F.relu(F.batch_norm(h, None, None, gamma, beta, training=True, eps=EPS))
        return F.max_pool2d(h, 2) if pool else h

    def relation_loss(p, sx, sy, qx, qy):
        def maps(x):
            h = block(p, "enc1", x, 0, True)
            h = block(p, "enc2", h, 0, True)
            h = block(p, "enc3", h, 1, False)
            return block(p, "enc4", h, 1, False)
        fs, fq = maps(sx), maps(qx)
        c, m = fs.shape[1], fs.shape[2]
        cls = fs.view(ways, shots, c, m, m).sum(1)
        nq = fq.shape[0]
        pairs = torch.cat([cls.unsqueeze(0).expand(nq, ways, c, m, m),
                           fq.unsqueeze(1).expand(nq, ways, c, m, m)], dim=2).reshape(nq * ways, 2 * c, m, m)
        h = block(p, "rel1", pairs, 1, True)
        h = block(p, "rel2", h, 1, True)
        f1 = F.relu(h.flatten(1) @ p["fc1.w"] + p["fc1.b"])
        scores = torch.sigmoid(f1 @ p["fc2.w"] + p["fc2.b"]).view(nq, ways)
        target = F.one_hot(qy, ways).to(scores.dtype)
        return (scores - target).square().mean(), scores

    def embed(p, x):
        h = x
        for i in range(1, 5):
            h = block(p, f"conv{i}", h, 1, True, bn=f"bn{i}")
        return h.flatten(1)

    def lstm(gx, h, c, wh, b):
        """One step with the input projection `gx` = x @ wx precomputed."""
        i, f, g, o = (gx + h @ wh + b).chunk(4, dim=1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        return torch.sigmoid(o) * torch.tanh(c), c

    def normalize(x):
        return x / torch.sqrt(x.square().sum(1, keepdim=True) + 1e-8)

    def matching_loss(p, sx, sy, qx, qy):
        g0, f0 = embed(p, sx), embed(p, qx)
        g, f = g0, f0
        if fce:
            s, d = g0.shape
            def run(name, order):
                gx = g0 @ p[f"{name}.wx"]                       # all input projections at once
                h = c = g0.new_zeros(1, d)
                out = [None] * s
                for i in order:
                    h, c = lstm(gx[i:i + 1], h, c, p[f"{name}.wh"], p[f"{name}.b"])
                    out[i] = h
                return torch.cat(out, 0)
            g = run("fce.fw", range(s)) + run("fce.bw", reversed(range(s))) + g0
            q = f0.shape[0]
            fx = f0 @ p["fce.att.wx"]
            h = c = r = f0.new_zeros(q, d)
            for _ in range(STEPS_K):
                hh, c = lstm(fx, torch.cat([h, r], 1), c, p["fce.att.wh"], p["fce.att.b"])
                h = hh + f0
                r = torch.softmax(h @ g.t(), dim=1) @ g
            f = h
        att = torch.softmax(normalize(f) @ normalize(g).t(), dim=1)
        logp = torch.log(att @ F.one_hot(sy, ways).to(att.dtype))
        target = F.one_hot(qy, ways).to(logp.dtype)
        return -(target * logp).sum(1).mean(), logp

    return relation_loss if alg == "relation" else matching_loss


# ----------------------------------------------------------------------------- data

class Episodes:
    """Training episodes, one per step.

    `metajit` (default): MetaJIT's own training episodes for `--seed`, episode i being
    `EpisodeSampler.episode(at: i)` (`Xoshiro256(seed, stream: i)`: N classes of the
    meta-train alphabets in store order, character-major with rotations 0/90/180/270, then
    K + Q images of each), so the peer trains on exactly the episodes `metajit train` does.
    `synthetic`: one uniform-random episode reused."""

    ROTATIONS = (0, 90, 180, 270)

    def __init__(self, kind: str, ways: int, shots: int, queries: int, seed: int):
        self.kind, self.ways, self.shots, self.queries, self.seed, self.index = kind, ways, shots, queries, seed, 0
        if kind == "metajit":
            import omniglot
            d = omniglot.default_data_dir()
            alph = omniglot.load_alphabets([os.path.join(d, z) for z in omniglot.DEFAULT_ZIPS])
            self.chars = [c for name in sorted(omniglot.TRAIN_ALPHABETS) for c in alph[name]]
            self.num_classes = len(self.chars) * len(self.ROTATIONS)
            log(f"omniglot: {self.num_classes} training classes")
        else:
            rng = np.random.default_rng(seed + 1)
            n, q = ways * shots, ways * queries
            self.fixed = (rng.uniform(0, 1, (n, 1, SIZE, SIZE)).astype(np.float32), np.repeat(np.arange(ways), shots),
                          rng.uniform(0, 1, (q, 1, SIZE, SIZE)).astype(np.float32), np.repeat(np.arange(ways), queries))

    def episode(self, index: int):
        rng = Xoshiro256(self.seed, stream=index)
        classes = rng.sample(self.ways, self.num_classes)
        k, q = self.shots, self.queries
        sx = np.empty((self.ways * k, 1, SIZE, SIZE), np.float32)
        qx = np.empty((self.ways * q, 1, SIZE, SIZE), np.float32)
        for label, c in enumerate(classes):
            imgs = self.chars[c // len(self.ROTATIONS)]
            turns = self.ROTATIONS[c % len(self.ROTATIONS)] // 90
            picks = rng.sample(k + q, imgs.shape[0])
            for j, im in enumerate(picks):
                img = np.rot90(imgs[im], k=turns)
                if j < k:
                    sx[label * k + j, 0] = img
                else:
                    qx[label * q + j - k, 0] = img
        return sx, np.repeat(np.arange(self.ways), k), qx, np.repeat(np.arange(self.ways), q)

    def next(self):
        import torch
        b = self.episode(self.index) if self.kind == "metajit" else self.fixed
        self.index += 1
        sx, sy, qx, qy = (torch.from_numpy(np.ascontiguousarray(a)) for a in b)
        return sx, sy.long(), qx, qy.long()


def manifest_episode(path: str):
    """Episode 0 of a MetaJIT manifest as (sx, sy, qx, qy) numpy arrays, class-major as listed."""
    import io
    import zipfile
    import omniglot
    with open(path) as f:
        man = json.load(f)
    d = omniglot.default_data_dir()
    zips = [zipfile.ZipFile(os.path.join(d, z)) for z in omniglot.DEFAULT_ZIPS]
    def image(item):
        rel = item["path"].lstrip("/")
        for zf in zips:
            for prefix in (zf.namelist()[0].split("/")[0] + "/", ""):
                try:
                    png = zf.read(prefix + rel)
                except KeyError:
                    continue
                img = omniglot.preprocess(png, SIZE)
                return np.rot90(img, k=int(item.get("rotation", 0)) // 90).copy()
        raise KeyError(f"{rel} not in {omniglot.DEFAULT_ZIPS}")
    ep = man["episodes"][0]
    sx = np.stack([image(i) for i in ep["support"]])[:, None].astype(np.float32)
    qx = np.stack([image(i) for i in ep["query"]])[:, None].astype(np.float32)
    sy = np.array([i["label"] for i in ep["support"]], np.int64)
    qy = np.array([i["label"] for i in ep["query"]], np.int64)
    return man, sx, sy, qx, qy


# ----------------------------------------------------------------------------- steps

class CompileTimeout(Exception):
    pass


class MetaJITAdam:
    """Adam exactly as `Optimizer.adam` emits it: b1t, b2t products, step size
    lr·sqrt(1−b2t)/(1−b1t), update m/(sqrt(v) + 1e-8) (torch.optim.Adam adds its epsilon
    after the bias correction of v, i.e. an epsilon larger by 1/sqrt(1−b2t)). For checks."""

    def __init__(self, params, lr):
        import torch
        self.params, self.lr = list(params), lr
        self.m = [torch.zeros_like(p) for p in self.params]
        self.v = [torch.zeros_like(p) for p in self.params]
        self.b1t = self.b2t = 1.0

    def zero_grad(self, set_to_none=True):
        for p in self.params:
            p.grad = None

    def step(self):
        import torch
        self.b1t *= 0.9
        self.b2t *= 0.999
        size = self.lr * math.sqrt(1 - self.b2t) / (1 - self.b1t)
        with torch.no_grad():
            for p, m, v in zip(self.params, self.m, self.v):
                if p.grad is None:
                    continue
                g = p.grad
                m.mul_(0.9).add_(g, alpha=0.1)
                v.mul_(0.999).addcmul_(g, g, value=0.001)
                p.sub_(size * m / (v.sqrt() + 1e-8))


def build_step(alg, ways, shots, fce, params_np, variant, lr, adam="torch"):
    import torch
    params = {k: torch.tensor(v, requires_grad=True) for k, v in params_np.items()}
    loss_fn = make_model(alg, ways, shots, fce)
    enc = [v for k, v in params.items() if k.startswith("enc")]
    rest = [v for k, v in params.items() if not k.startswith("enc")]
    if adam == "metajit":
        opt, fused = MetaJITAdam(params.values(), lr), False
    else:
        try:
            opt = torch.optim.Adam(params.values(), lr=lr, fused=True)
            fused = True
        except (RuntimeError, TypeError, ValueError):
            opt = torch.optim.Adam(params.values(), lr=lr, foreach=True)
            fused = False

    def clip():
        if alg == "relation":
            torch.nn.utils.clip_grad_norm_(enc, CLIP, foreach=True)
            torch.nn.utils.clip_grad_norm_(rest, CLIP, foreach=True)

    if variant == "eager":
        def step(batch):
            opt.zero_grad(set_to_none=True)
            loss, _ = loss_fn(params, *batch)
            loss.backward()
            clip()
            opt.step()
            return float(loss.detach())
    elif variant == "compile":
        from torch.func import grad_and_value
        names = list(params)
        gv = torch.compile(grad_and_value(lambda p, *b: loss_fn(p, *b)[0]))

        def step(batch):
            g, loss = gv({k: v.detach() for k, v in params.items()}, *batch)
            for k in names:
                params[k].grad = g[k]
            clip()
            opt.step()
            return float(loss)
    else:
        raise ValueError(variant)
    return params, loss_fn, step, fused


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workload", required=True, choices=sorted(WORKLOADS))
    ap.add_argument("--variant", default="eager", choices=["eager", "compile"])
    ap.add_argument("--warmup", type=int, default=5, help="untimed steps incl. the first (min 1)")
    ap.add_argument("--iterations", type=int, default=30, help="timed steps")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--init", help="MetaJIT checkpoint.safetensors to take the initial parameters from")
    ap.add_argument("--data", default="metajit", choices=["metajit", "synthetic"],
                    help="metajit: the episodes `metajit train --seed` trains on; synthetic: one random episode")
    ap.add_argument("--init-from", default="metajit", choices=["metajit", "numpy"],
                    help="without --init: MetaJIT's initial values for --seed, or numpy draws of its initialisers")
    ap.add_argument("--adam", default="torch", choices=["torch", "metajit"],
                    help="torch.optim.Adam (fused; default, timed) or MetaJIT's exact formula (for checks)")
    ap.add_argument("--losses", action="store_true", help="also list every step's loss (for comparing with metrics.jsonl)")
    ap.add_argument("--check-manifest", help="print the loss of this manifest's first episode and exit")
    ap.add_argument("--compile-timeout", type=float, default=300.0)
    a = ap.parse_args(argv)
    alg, ways, shots, queries, fce = WORKLOADS[a.workload]

    import torch
    torch.set_num_threads(a.threads)
    # MetaJIT runs its kernels with flush-to-zero and denormals-are-zero (MXCSR, see
    # Lowering/ProgramLowering.swift); the peer does the same, else denormal Adam moments
    # and activations make it several times slower on x86.
    flush = torch.set_flush_denormal(True)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass
    versions = {**base_versions(), "torch": torch.__version__, "torch_threads": torch.get_num_threads(),
                "flush_denormal": flush, "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY")}
    result = {"framework": "torch", "variant": a.variant, "workload": a.workload, "ways": ways, "shots": shots,
              "queries": queries, "fce": fce, "init": "checkpoint" if a.init else a.init_from, "versions": versions}
    params_np = init_params(alg, fce, a.seed, a.init, a.init_from)

    if a.check_manifest:
        man, sx, sy, qx, qy = manifest_episode(a.check_manifest)
        if (man["ways"], man["shots"]) != (ways, shots):
            raise SystemExit(f"manifest is {man['ways']}-way {man['shots']}-shot, workload {ways}-way {shots}-shot")
        loss_fn = make_model(alg, ways, shots, fce)
        p64 = {k: torch.tensor(v, dtype=torch.float64) for k, v in params_np.items()}
        p32 = {k: torch.tensor(v) for k, v in params_np.items()}
        t = lambda x, dt: torch.from_numpy(x).to(dt)
        with torch.no_grad():
            l32, _ = loss_fn(p32, t(sx, torch.float32), t(sy, torch.long), t(qx, torch.float32), t(qy, torch.long))
            l64, _ = loss_fn(p64, t(sx, torch.float64), t(sy, torch.long), t(qx, torch.float64), t(qy, torch.long))
        emit({**result, "manifest": a.check_manifest, "manifest_queries": man["queries"],
              "loss_f32": float(l32), "loss_f64": float(l64)})
        return 0

    data = Episodes(a.data, ways, shots, queries, a.seed)
    log(f"{a.workload} ({a.variant}): {ways}-way {shots}-shot {queries} queries, threads {a.threads}")

    def on_alarm(signum, frame):
        raise CompileTimeout()

    try:
        _, _, step, fused = build_step(alg, ways, shots, fce, params_np, a.variant, a.lr, a.adam)
        old = signal.signal(signal.SIGALRM, on_alarm)
        signal.setitimer(signal.ITIMER_REAL, a.compile_timeout)
        t0 = time.perf_counter()
        losses = []
        try:
            loss_first = step(data.next())
            losses.append(loss_first)
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, old)
        first_s = time.perf_counter() - t0
    except CompileTimeout:
        emit({**result, "skipped": True, "reason": f"first call exceeded --compile-timeout {a.compile_timeout:g} s"})
        return 0
    except Exception as e:
        traceback.print_exc(file=sys.stderr)
        msg = str(e).strip().splitlines()[0] if str(e).strip() else ""
        emit({**result, "skipped": True, "reason": f"{type(e).__name__}: {msg}"[:500]})
        return 0
    for _ in range(max(a.warmup, 1) - 1):
        losses.append(step(data.next()))
    t0 = time.perf_counter()
    loss = loss_first
    for _ in range(a.iterations):
        loss = step(data.next())
        losses.append(loss)
    elapsed = time.perf_counter() - t0
    if not math.isfinite(loss):
        raise SystemExit(f"non-finite loss {loss}")
    log(f"first step {first_s:.2f} s; {a.iterations} steps in {elapsed:.2f} s; loss {loss_first:.4f} -> {loss:.4f}")
    emit({**result, "episodes_per_s": a.iterations / elapsed, "seconds_per_episode": elapsed / a.iterations,
          "iterations": a.iterations, "warmup": max(a.warmup, 1), "first_step_s": first_s, "adam_fused": fused,
          "data": a.data, "seed": a.seed, "adam": a.adam, "loss_first": loss_first, "loss_last": loss, "peak_rss_bytes": peak_rss_bytes(),
          **({"losses": losses} if a.losses else {})})
    return 0


if __name__ == "__main__":
    sys.exit(main())
