"""TensorFlow 2 peer: the meta-step (tasks unrolled, nested `tf.GradientTape` for the
second-order inner step, Adam written out as MetaJIT's and the other peers' formula) under
`tf.function`, with (`xla`: `jit_compile=True`) or without (`function`) XLA.

TensorFlow's CPU convolutions take NHWC only, so activations are NHWC and conv weights HWIO;
the parameters MetaJIT wrote (OIHW, head rows in (c, h, w) order) are transposed once at
set-up, which leaves every loss unchanged.
"""
from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from common import Workload  # noqa: E402

EPS = 1e-5


def set_threads(n: int, variant: str = "") -> dict:
    tf.config.threading.set_intra_op_parallelism_threads(n)
    tf.config.threading.set_inter_op_parallelism_threads(n)
    return {"intra_op": tf.config.threading.get_intra_op_parallelism_threads(),
            "inter_op": tf.config.threading.get_inter_op_parallelism_threads()}


def denormals() -> str:
    """Probed: the smallest normal float times 0.5 in a `tf.function`."""
    x = tf.function(lambda v: v * 0.5)(tf.fill([16], tf.constant(1.1754944e-38, tf.float32)))
    return "flush-to-zero" if float(x[0]) == 0.0 else "gradual underflow (subnormals kept)"


def conv4_embed(p, x, strided: bool):
    h = x
    for i in range(1, 5):
        h = tf.nn.conv2d(h, p[f"conv{i}.w"], strides=2 if strided else 1,
                         padding=[[0, 0], [1, 1], [1, 1], [0, 0]]) + p[f"conv{i}.b"]
        mu = tf.reduce_mean(h, axis=[0, 1, 2], keepdims=True)
        var = tf.reduce_mean(tf.square(h - mu), axis=[0, 1, 2], keepdims=True)
        h = tf.nn.relu((h - mu) * tf.math.rsqrt(var + EPS) * p[f"bn{i}.gamma"] + p[f"bn{i}.beta"])
        if not strided:
            h = tf.nn.max_pool2d(h, 2, 2, "VALID")
    return tf.reshape(h, [tf.shape(h)[0], -1])


def mlp(p, x):
    h = tf.nn.relu(x @ p["w1"] + p["b1"])
    h = tf.nn.relu(h @ p["w2"] + p["b2"])
    return h @ p["w3"] + p["b3"]


def cross_entropy(logits, y):
    return tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits))


def accuracy(logits, y):
    return tf.reduce_mean(tf.cast(tf.equal(tf.argmax(logits, -1, output_type=y.dtype), y), tf.float32))


def build(w: Workload, names, jit: bool):
    if w.kind == "sinusoid":
        fwd, loss_fn = mlp, (lambda o, y: tf.reduce_mean(tf.square(o - y)))
    else:
        def fwd(p, x):
            e = conv4_embed(p, x, w.strided)
            return e @ p["head.w"] + p["head.b"]
        loss_fn = cross_entropy

    def task_loss(p, sx, sy, qx, qy):
        fast = p
        for _ in range(w.inner_steps):
            with tf.GradientTape() as inner:
                inner.watch(list(fast.values()))
                l = loss_fn(fwd(fast, sx), sy)
            g = inner.gradient(l, [fast[n] for n in names])
            if w.first_order:
                g = [tf.stop_gradient(x) for x in g]
            fast = {n: fast[n] - w.inner_lr * gi for n, gi in zip(names, g)}
        out = fwd(fast, qx)
        acc = accuracy(out, qy) if w.kind != "sinusoid" else tf.zeros(())
        return loss_fn(out, qy), acc

    def meta_loss(p, sx, sy, qx, qy):
        if w.kind == "protonet":
            es, eq = conv4_embed(p, sx[0], False), conv4_embed(p, qx[0], False)
            protos = tf.reduce_mean(tf.reshape(es, [w.ways, w.shots, -1]), axis=1)
            logits = -(tf.reduce_sum(tf.square(eq), 1, keepdims=True) - 2 * eq @ tf.transpose(protos)
                       + tf.reduce_sum(tf.square(protos), 1)[None, :])
            return cross_entropy(logits, qy[0]), accuracy(logits, qy[0])
        out = [task_loss(p, sx[t], sy[t], qx[t], qy[t]) for t in range(w.meta_batch)]
        return tf.reduce_mean(tf.stack([o[0] for o in out])), tf.reduce_mean(tf.stack([o[1] for o in out]))

    def step(vars_, m, v, t, sx, sy, qx, qy):
        p = dict(zip(names, vars_))
        with tf.GradientTape() as outer:
            outer.watch(vars_)
            loss, acc = meta_loss(p, sx, sy, qx, qy)
        g = outer.gradient(loss, vars_)
        t = t + 1.0
        c1, c2 = 1 - 0.9 ** t, 1 - 0.999 ** t
        new_p, new_m, new_v = [], [], []
        for pi, gi, mi, vi in zip(vars_, g, m, v):
            mi = 0.9 * mi + 0.1 * gi
            vi = 0.999 * vi + 0.001 * gi * gi
            new_p.append(pi - w.outer_lr * (mi / c1) / (tf.sqrt(vi / c2) + 1e-8))
            new_m.append(mi)
            new_v.append(vi)
        return new_p, new_m, new_v, t, loss, acc

    return tf.function(step, jit_compile=jit)


def make_step(w: Workload, np_params: dict, batch_np, variant: str):
    if variant not in ("function", "xla"):
        raise ValueError(f"unknown tf variant {variant!r} (function | xla)")
    np_params, batch_np = dict(np_params), list(batch_np)
    if w.kind != "sinusoid":
        for k in list(np_params):
            if np_params[k].ndim == 4:
                np_params[k] = np.ascontiguousarray(np_params[k].transpose(2, 3, 1, 0))   # OIHW -> HWIO
        if "head.w" in np_params:   # rows (c, h, w) -> (h, w, c), NHWC's flatten order
            hw = np_params["head.w"]
            side = int(round((hw.shape[0] // w.width) ** 0.5))
            np_params["head.w"] = np.ascontiguousarray(
                hw.reshape(w.width, side, side, -1).transpose(1, 2, 0, 3).reshape(hw.shape))
        for i in (0, 2):
            batch_np[i] = np.ascontiguousarray(batch_np[i].transpose(0, 1, 3, 4, 2))
        for i in (1, 3):
            batch_np[i] = batch_np[i].astype(np.int32)
    names = list(np_params)
    state = {"p": [tf.constant(np_params[n]) for n in names]}
    state["m"] = [tf.zeros_like(x) for x in state["p"]]
    state["v"] = [tf.zeros_like(x) for x in state["p"]]
    state["t"] = tf.constant(0.0)
    batch = [tf.constant(b) for b in batch_np]
    step = build(w, names, variant == "xla")

    def run():
        state["p"], state["m"], state["v"], state["t"], loss, acc = step(
            state["p"], state["m"], state["v"], state["t"], *batch)
        return float(loss), float(acc)

    return run


def versions() -> dict:
    return {"tensorflow": tf.__version__}
