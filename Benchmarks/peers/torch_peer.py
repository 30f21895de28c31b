"""PyTorch peer: functional Conv-4 / MLP, MAML (second and first order), ProtoNet.

Two variants of the meta-step:
  eager    plain autograd; inner gradients with `torch.autograd.grad(create_graph=True)`
           (second order) and a per-task backward that accumulates the meta-gradient.
  compile  `torch.compile` of the whole meta-gradient written with `torch.func`
           (`grad` of the inner loss inside `vmap` over tasks, `grad_and_value` outside);
           Adam stays `torch.optim.Adam`.
"""
from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch
import torch.nn.functional as F

from common import Workload

EPS = 1e-5


def set_threads(n: int = 2, variant: str = "eager") -> dict:
    """n intra-op threads, 1 inter-op thread (eager and inductor code run ops one at a time);
    `eager-ftz` also flushes subnormals to zero, as MetaJIT does."""
    torch.set_num_threads(n)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass
    if variant == "eager-ftz":
        torch.set_flush_denormal(True)
    return {"intra_op": torch.get_num_threads(), "inter_op": torch.get_num_interop_threads(),
            "OMP_WAIT_POLICY": os.environ.get("OMP_WAIT_POLICY", "")}


def denormals() -> str:
    """Probed: the smallest normal float times 0.5 on the calling thread."""
    x = torch.tensor([1.1754944e-38], dtype=torch.float32) * 0.5
    return "flush-to-zero" if float(x[0]) == 0.0 else "gradual underflow (subnormals kept)"


def to_params(np_params: dict, requires_grad: bool = True) -> dict:
    return {k: torch.tensor(v, requires_grad=requires_grad) for k, v in np_params.items()}


def batch_norm(h, gamma, beta):
    """Batch statistics of the batch at hand (no running stats), biased variance."""
    mu = h.mean(dim=(0, 2, 3), keepdim=True)
    var = (h - mu).square().mean(dim=(0, 2, 3), keepdim=True)
    return (h - mu) * torch.rsqrt(var + EPS) * gamma.view(1, -1, 1, 1) + beta.view(1, -1, 1, 1)


def conv4_embed(p: dict, x, strided: bool, fused_bn: bool = True):
    h = x
    for i in range(1, 5):
        h = F.conv2d(h, p[f"conv{i}.w"], p[f"conv{i}.b"], stride=2 if strided else 1, padding=1)
        if fused_bn:
            h = F.batch_norm(h, None, None, p[f"bn{i}.gamma"], p[f"bn{i}.beta"], training=True, eps=EPS)
        else:
            h = batch_norm(h, p[f"bn{i}.gamma"], p[f"bn{i}.beta"])
        h = F.relu(h)
        if not strided:
            h = F.max_pool2d(h, 2)
    return h.flatten(1)


def conv4(p: dict, x, strided: bool, fused_bn: bool = True):
    e = conv4_embed(p, x, strided, fused_bn)
    return e @ p["head.w"] + p["head.b"] if "head.w" in p else e


def mlp(p: dict, x):
    h = F.relu(x @ p["w1"] + p["b1"])
    h = F.relu(h @ p["w2"] + p["b2"])
    return h @ p["w3"] + p["b3"]


def protonet_logits(p: dict, sx, qx, ways: int, shots: int, fused_bn: bool = True):
    es = conv4_embed(p, sx, strided=False, fused_bn=fused_bn)
    eq = conv4_embed(p, qx, strided=False, fused_bn=fused_bn)
    protos = es.view(ways, shots, -1).mean(1)
    qq = eq.square().sum(1, keepdim=True)
    pp = protos.square().sum(1).view(1, -1)
    return -(qq - 2 * eq @ protos.t() + pp)


def accuracy(logits, y):
    return (logits.argmax(-1) == y).float().mean()


def model_and_loss(w: Workload):
    if w.kind == "sinusoid":
        return (lambda p, x: mlp(p, x)), F.mse_loss
    return (lambda p, x: conv4(p, x, w.strided)), F.cross_entropy


def adapt(p: dict, sx, sy, fwd, loss_fn, steps: int, lr: float, create_graph: bool):
    """`steps` SGD steps on the support set; differentiable iff `create_graph`."""
    fast = p
    for _ in range(steps):
        names = list(fast)
        grads = torch.autograd.grad(loss_fn(fwd(fast, sx), sy), [fast[n] for n in names],
                                    create_graph=create_graph)
        fast = {n: fast[n] - lr * g for n, g in zip(names, grads)}
    return fast


# ----------------------------------------------------------------------------- eager

def eager_step(w: Workload, params: dict, opt, batch):
    """One meta-iteration. Returns (loss, accuracy) as Python floats."""
    sx, sy, qx, qy = batch
    opt.zero_grad(set_to_none=True)
    if w.kind == "protonet":
        logits = protonet_logits(params, sx[0], qx[0], w.ways, w.shots)
        loss = F.cross_entropy(logits, qy[0])
        loss.backward()
        opt.step()
        return float(loss.detach()), float(accuracy(logits.detach(), qy[0]))
    fwd, loss_fn = model_and_loss(w)
    total, acc = 0.0, 0.0
    for t in range(w.meta_batch):
        fast = adapt(params, sx[t], sy[t], fwd, loss_fn, w.inner_steps, w.inner_lr,
                     create_graph=not w.first_order)
        out = fwd(fast, qx[t])
        lq = loss_fn(out, qy[t])
        (lq / w.meta_batch).backward()       # per-task backward: same gradient, less memory
        total += float(lq.detach())
        if w.kind != "sinusoid":
            acc += float(accuracy(out.detach(), qy[t]))
    opt.step()
    return total / w.meta_batch, acc / w.meta_batch


# ----------------------------------------------------------------------------- torch.func + compile

def func_meta_grad(w: Workload):
    """A pure function params -> (grads, (loss, acc)) built from torch.func, for compiling."""
    from torch.func import grad, grad_and_value, vmap

    if w.kind == "sinusoid":
        fwd, loss_fn = (lambda p, x: mlp(p, x)), F.mse_loss
    else:
        # Hand-written batch norm: functorch's batching rule for the fused op is not needed.
        fwd, loss_fn = (lambda p, x: conv4(p, x, w.strided, fused_bn=False)), F.cross_entropy

    def task_loss(p, sx, sy, qx, qy):
        fast = p
        for _ in range(w.inner_steps):
            g = grad(lambda q: loss_fn(fwd(q, sx), sy))(fast)
            if w.first_order:
                g = {k: v.detach() for k, v in g.items()}
            fast = {k: fast[k] - w.inner_lr * g[k] for k in fast}
        out = fwd(fast, qx)
        a = accuracy(out, qy) if w.kind != "sinusoid" else torch.zeros(())
        return loss_fn(out, qy), a

    def meta_loss(p, sx, sy, qx, qy):
        if w.kind == "protonet":
            logits = protonet_logits(p, sx[0], qx[0], w.ways, w.shots, fused_bn=False)
            return F.cross_entropy(logits, qy[0]), accuracy(logits, qy[0])
        losses, accs = vmap(task_loss, in_dims=(None, 0, 0, 0, 0))(p, sx, sy, qx, qy)
        return losses.mean(), accs.mean()

    def step(p, sx, sy, qx, qy):
        g, (loss, acc) = grad_and_value(meta_loss, has_aux=True)(p, sx, sy, qx, qy)
        return g, loss, acc

    return step


class CompiledStep:
    def __init__(self, w: Workload, params: dict, opt):
        self.w, self.params, self.opt = w, params, opt
        self.fn = torch.compile(func_meta_grad(w), fullgraph=False)

    def __call__(self, batch):
        detached = {k: v.detach() for k, v in self.params.items()}
        g, loss, acc = self.fn(detached, *batch)
        for k, v in self.params.items():
            v.grad = g[k]
        self.opt.step()
        return float(loss), float(acc)


def make_step(w: Workload, np_params: dict, batch_np, variant: str):
    params = to_params(np_params)
    batch = tuple(torch.from_numpy(a) for a in batch_np)
    if variant == "eager-cl" and w.kind != "sinusoid":
        # channels_last: NHWC storage of the conv weights (same values and shapes).
        params = {k: (v.detach().to(memory_format=torch.channels_last).requires_grad_(True) if v.dim() == 4 else v)
                  for k, v in params.items()}
        # The images have one channel, so NCHW and NHWC storage coincide for them; a
        # channels_last weight makes every conv output channels_last from the first layer on.
    opt = torch.optim.Adam(params.values(), lr=w.outer_lr)
    if variant in ("eager", "eager-cl", "eager-ftz"):
        return lambda: eager_step(w, params, opt, batch)
    if variant == "compile":
        step = CompiledStep(w, params, opt)
        return lambda: step(batch)
    raise ValueError(f"unknown torch variant {variant!r}")


def versions() -> dict:
    return {"torch": torch.__version__, "torch_threads": torch.get_num_threads(),
            "torch_cuda": torch.version.cuda}
