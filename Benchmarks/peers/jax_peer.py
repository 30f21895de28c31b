"""JAX peer: the whole meta-step (forward, meta-gradient, Adam) under one `jax.jit`,
`vmap` over tasks, `jax.grad` of the inner loss inside; hand-written Adam."""
from __future__ import annotations

import jax
import jax.numpy as jnp
from jax import lax

from common import Workload

EPS = 1e-5
VARIANTS = ["unroll", "unroll-nhwc", "map", "vmap"]   # how the jitted meta-step runs over tasks


NHWC = False   # set by make_step for "unroll-nhwc": activations NHWC, conv weights HWIO


def conv2d(x, w, b, stride: int):
    if NHWC:
        y = lax.conv_general_dilated(x, w, (stride, stride), ((1, 1), (1, 1)),
                                     dimension_numbers=("NHWC", "HWIO", "NHWC"))
        return y + b.reshape(1, 1, 1, -1)
    y = lax.conv_general_dilated(x, w, (stride, stride), ((1, 1), (1, 1)),
                                 dimension_numbers=("NCHW", "OIHW", "NCHW"))
    return y + b.reshape(1, -1, 1, 1)


def batch_norm(h, gamma, beta):
    axes, shape = ((0, 1, 2), (1, 1, 1, -1)) if NHWC else ((0, 2, 3), (1, -1, 1, 1))
    mu = h.mean(axis=axes, keepdims=True)
    var = jnp.square(h - mu).mean(axis=axes, keepdims=True)
    return (h - mu) * lax.rsqrt(var + EPS) * gamma.reshape(shape) + beta.reshape(shape)


def max_pool2x2(h):
    if NHWC:
        n, hh, ww, c = h.shape
        ho, wo = hh // 2, ww // 2
        return h[:, :ho * 2, :wo * 2, :].reshape(n, ho, 2, wo, 2, c).max(axis=(2, 4))
    n, c, hh, ww = h.shape
    ho, wo = hh // 2, ww // 2
    return h[:, :, :ho * 2, :wo * 2].reshape(n, c, ho, 2, wo, 2).max(axis=(3, 5))


def conv4_embed(p, x, strided: bool):
    h = x
    for i in range(1, 5):
        h = conv2d(h, p[f"conv{i}.w"], p[f"conv{i}.b"], 2 if strided else 1)
        h = jax.nn.relu(batch_norm(h, p[f"bn{i}.gamma"], p[f"bn{i}.beta"]))
        if not strided:
            h = max_pool2x2(h)
    return h.reshape(h.shape[0], -1)   # NHWC flattens (h, w, c): head.w rows are permuted to match


def conv4(p, x, strided: bool):
    e = conv4_embed(p, x, strided)
    return e @ p["head.w"] + p["head.b"] if "head.w" in p else e


def mlp(p, x):
    h = jax.nn.relu(x @ p["w1"] + p["b1"])
    h = jax.nn.relu(h @ p["w2"] + p["b2"])
    return h @ p["w3"] + p["b3"]


def cross_entropy(logits, y):
    return -jnp.take_along_axis(jax.nn.log_softmax(logits), y[:, None], axis=1).mean()


def mse(out, y):
    return jnp.square(out - y).mean()


def accuracy(logits, y):
    return (logits.argmax(-1) == y).astype(jnp.float32).mean()


def protonet_logits(p, sx, qx, ways: int, shots: int):
    es, eq = conv4_embed(p, sx, False), conv4_embed(p, qx, False)
    protos = es.reshape(ways, shots, -1).mean(1)
    qq = jnp.square(eq).sum(1, keepdims=True)
    pp = jnp.square(protos).sum(1)[None, :]
    return -(qq - 2 * eq @ protos.T + pp)


def adam_init(p):
    zeros = lambda: jax.tree_util.tree_map(jnp.zeros_like, p)
    return {"m": zeros(), "v": zeros(), "t": jnp.zeros((), jnp.int32)}


def adam_update(p, g, s, lr, b1=0.9, b2=0.999, eps=1e-8):
    t = s["t"] + 1
    m = jax.tree_util.tree_map(lambda m, g: b1 * m + (1 - b1) * g, s["m"], g)
    v = jax.tree_util.tree_map(lambda v, g: b2 * v + (1 - b2) * g * g, s["v"], g)
    c1 = 1 - b1 ** t.astype(jnp.float32)
    c2 = 1 - b2 ** t.astype(jnp.float32)
    p = jax.tree_util.tree_map(lambda p, m, v: p - lr * (m / c1) / (jnp.sqrt(v / c2) + eps), p, m, v)
    return p, {"m": m, "v": v, "t": t}


def build_step(w: Workload, over_tasks: str = "map"):
    """`over_tasks`: "vmap" batches the tasks (per-task fast weights become grouped
    convolutions, which XLA:CPU runs very slowly); "map" runs them with `lax.map` (a
    compiled loop, one task body)."""
    if w.kind == "sinusoid":
        fwd, loss_fn = mlp, mse
    else:
        fwd, loss_fn = (lambda p, x: conv4(p, x, w.strided)), cross_entropy

    def task(p, sx, sy, qx, qy):
        fast = p
        for _ in range(w.inner_steps):
            g = jax.grad(lambda q: loss_fn(fwd(q, sx), sy))(fast)
            if w.first_order:
                g = lax.stop_gradient(g)
            fast = jax.tree_util.tree_map(lambda a, b: a - w.inner_lr * b, fast, g)
        out = fwd(fast, qx)
        acc = accuracy(out, qy) if w.kind != "sinusoid" else jnp.zeros(())
        return loss_fn(out, qy), acc

    def meta_loss(p, sx, sy, qx, qy):
        if w.kind == "protonet":
            logits = protonet_logits(p, sx[0], qx[0], w.ways, w.shots)
            return cross_entropy(logits, qy[0]), accuracy(logits, qy[0])
        if over_tasks.startswith("unroll"):
            out = [task(p, sx[t], sy[t], qx[t], qy[t]) for t in range(w.meta_batch)]
            return jnp.stack([o[0] for o in out]).mean(), jnp.stack([o[1] for o in out]).mean()
        if over_tasks == "vmap":
            losses, accs = jax.vmap(task, in_axes=(None, 0, 0, 0, 0))(p, sx, sy, qx, qy)
        else:
            losses, accs = lax.map(lambda b: task(p, *b), (sx, sy, qx, qy))
        return losses.mean(), accs.mean()

    def step(p, s, sx, sy, qx, qy):
        (loss, acc), g = jax.value_and_grad(meta_loss, has_aux=True)(p, sx, sy, qx, qy)
        p, s = adam_update(p, g, s, w.outer_lr)
        return p, s, loss, acc

    return jax.jit(step, donate_argnums=(0, 1))


def make_step(w: Workload, np_params: dict, batch_np, variant: str):
    if variant not in VARIANTS:
        raise ValueError(f"unknown jax variant {variant!r} (one of {VARIANTS})")
    global NHWC
    NHWC = variant == "unroll-nhwc" and w.kind != "sinusoid"
    np_params = dict(np_params)
    batch_np = list(batch_np)
    if NHWC:
        import numpy as np
        for k in list(np_params):
            if np_params[k].ndim == 4:
                np_params[k] = np.ascontiguousarray(np_params[k].transpose(2, 3, 1, 0))   # OIHW -> HWIO
        if "head.w" in np_params:   # rows in (c, h, w) order -> (h, w, c)
            hw = np_params["head.w"]
            c = w.width
            side = int(round((hw.shape[0] // c) ** 0.5))
            np_params["head.w"] = np.ascontiguousarray(
                hw.reshape(c, side, side, -1).transpose(1, 2, 0, 3).reshape(hw.shape))
        for i in (0, 2):
            batch_np[i] = np.ascontiguousarray(batch_np[i].transpose(0, 1, 3, 4, 2))    # [T,N,C,H,W] -> [T,N,H,W,C]
    state = {"p": {k: jnp.asarray(v) for k, v in np_params.items()}}
    state["s"] = adam_init(state["p"])
    sx, sy, qx, qy = (jnp.asarray(a) for a in batch_np)
    sy, qy = (y.astype(jnp.int32) if y.dtype.kind == "i" else y for y in (sy, qy))
    step = build_step(w, variant)

    def run():
        state["p"], state["s"], loss, acc = step(state["p"], state["s"], sx, sy, qx, qy)
        loss.block_until_ready()
        return float(loss), float(acc)

    return run


def set_threads(n: int, variant: str = "") -> dict:
    """XLA's threads come from XLA_FLAGS, which peers.py sets before importing jax."""
    import os
    return {"XLA_FLAGS": os.environ.get("XLA_FLAGS", "")}


def denormals() -> str:
    """Probed: the smallest normal float times 0.5 in a jitted function."""
    x = jax.jit(lambda v: v * 0.5)(jnp.full((16,), 1.1754944e-38, jnp.float32))
    return "flush-to-zero" if float(x[0]) == 0.0 else "gradual underflow (subnormals kept)"


def versions() -> dict:
    import jaxlib
    return {"jax": jax.__version__, "jaxlib": jaxlib.__version__, "jax_backend": jax.default_backend(),
            "jax_devices": len(jax.devices())}
