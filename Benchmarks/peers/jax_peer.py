"""JAX peer: the whole meta-step (forward, meta-gradient, Adam) under one `jax.jit`,
`vmap` over tasks, `jax.grad` of the inner loss inside; hand-written Adam."""
from __future__ import annotations

import jax
import jax.numpy as jnp
from jax import lax

from common import Workload

EPS = 1e-5
VARIANTS = ["map", "vmap"]   # how the jitted meta-step runs over tasks


def conv2d(x, w, b, stride: int):
    y = lax.conv_general_dilated(x, w, (stride, stride), ((1, 1), (1, 1)),
                                 dimension_numbers=("NCHW", "OIHW", "NCHW"))
    return y + b.reshape(1, -1, 1, 1)


def batch_norm(h, gamma, beta):
    mu = h.mean(axis=(0, 2, 3), keepdims=True)
    var = jnp.square(h - mu).mean(axis=(0, 2, 3), keepdims=True)
    return (h - mu) * lax.rsqrt(var + EPS) * gamma.reshape(1, -1, 1, 1) + beta.reshape(1, -1, 1, 1)


def max_pool2x2(h):
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
    return h.reshape(h.shape[0], -1)


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


def versions() -> dict:
    import jaxlib
    return {"jax": jax.__version__, "jaxlib": jaxlib.__version__, "jax_backend": jax.default_backend(),
            "jax_devices": len(jax.devices())}
