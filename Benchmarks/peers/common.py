"""Framework-independent parts of the peers: workload definitions, parameter specs with
MetaJIT's initialisers, synthetic episode data, and result helpers.

Parameter names, shapes and layouts match MetaJIT (`Sources/MetaLearning/Models.swift`):
conv weights OIHW, linear weights [in, out] (y = x @ W + b), items class-major.
"""
from __future__ import annotations

import json
import math
import os
import platform
import resource
import sys
from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Workload:
    name: str
    kind: str                  # "maml" | "protonet" | "sinusoid"
    ways: int = 5
    shots: int = 1
    queries: int = 15
    meta_batch: int = 32
    inner_steps: int = 1
    inner_lr: float = 0.4
    first_order: bool = False
    strided: bool = True       # Conv-4 variant: stride-2 convs (MAML) or max-pool (ProtoNet)
    outer_lr: float = 1e-3
    image_size: int = 28
    width: int = 64


WORKLOADS = {w.name: w for w in [
    Workload("maml-5w1s", "maml", ways=5, shots=1, queries=15, meta_batch=32, inner_steps=1, inner_lr=0.4),
    Workload("maml-5w1s-pool", "maml", ways=5, shots=1, queries=15, meta_batch=32, inner_steps=1, inner_lr=0.4,
             strided=False),
    Workload("fomaml-5w1s", "maml", ways=5, shots=1, queries=15, meta_batch=32, inner_steps=1, inner_lr=0.4,
             first_order=True),
    Workload("maml-20w1s", "maml", ways=20, shots=1, queries=15, meta_batch=16, inner_steps=5, inner_lr=0.1),
    Workload("protonet-20w", "protonet", ways=20, shots=1, queries=15, meta_batch=1, strided=False),
    Workload("maml-sinusoid", "sinusoid", shots=10, queries=10, meta_batch=25, inner_steps=1, inner_lr=0.01),
]}


def log(*args):
    print("[peers]", *args, file=sys.stderr, flush=True)


# ----------------------------------------------------------------------------- parameters

def glorot(rng: np.random.Generator, shape, fan_in: int, fan_out: int) -> np.ndarray:
    a = math.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-a, a, size=shape).astype(np.float32)


def weight(rng, shape):
    """MetaJIT's `.weight`: Glorot uniform; 4-D (OIHW) fans include the receptive field."""
    if len(shape) == 4:
        r = shape[2] * shape[3]
        return glorot(rng, shape, shape[1] * r, shape[0] * r)
    return glorot(rng, shape, shape[0], shape[1] if len(shape) > 1 else shape[0])


def conv4_final_size(size: int, strided: bool) -> int:
    for _ in range(4):
        size = (size + 2 - 3) // 2 + 1 if strided else size // 2
    return size


def conv4_params(rng, ways: int, strided: bool, channels: int = 1, size: int = 28, width: int = 64):
    """Ordered dict of numpy arrays: conv{i}.w/b, bn{i}.gamma/beta, then head.w/b if ways > 0."""
    p = {}
    for i in range(1, 5):
        cin = channels if i == 1 else width
        p[f"conv{i}.w"] = weight(rng, (width, cin, 3, 3))
        p[f"conv{i}.b"] = np.zeros(width, np.float32)
        p[f"bn{i}.gamma"] = np.ones(width, np.float32)
        p[f"bn{i}.beta"] = np.zeros(width, np.float32)
    if ways > 0:
        emb = width * conv4_final_size(size, strided) ** 2
        p["head.w"] = weight(rng, (emb, ways))
        p["head.b"] = np.zeros(ways, np.float32)
    return p


def mlp_params(rng, hidden: int = 40):
    return {"w1": weight(rng, (1, hidden)), "b1": np.zeros(hidden, np.float32),
            "w2": weight(rng, (hidden, hidden)), "b2": np.zeros(hidden, np.float32),
            "w3": weight(rng, (hidden, 1)), "b3": np.zeros(1, np.float32)}


def init_params(w: Workload, seed: int):
    rng = np.random.default_rng(seed)
    if w.kind == "sinusoid":
        return mlp_params(rng)
    return conv4_params(rng, ways=w.ways if w.kind == "maml" else 0, strided=w.strided,
                        size=w.image_size, width=w.width)


# ----------------------------------------------------------------------------- data

def synthetic_batch(w: Workload, seed: int):
    """(support_x, support_y, query_x, query_y) with tasks on axis 0, class-major labels.

    Images: uniform [0, 1], `[T, N*K, 1, 28, 28]`. Sinusoid: x ~ U[-5, 5] `[T, K, 1]`,
    y = A sin(x - phase) with A ~ U[0.1, 5], phase ~ U[0, pi].
    """
    rng = np.random.default_rng(seed + 1)
    t = w.meta_batch
    if w.kind == "sinusoid":
        amp = rng.uniform(0.1, 5.0, (t, 1, 1)).astype(np.float32)
        phase = rng.uniform(0.0, math.pi, (t, 1, 1)).astype(np.float32)
        sx = rng.uniform(-5, 5, (t, w.shots, 1)).astype(np.float32)
        qx = rng.uniform(-5, 5, (t, w.queries, 1)).astype(np.float32)
        return sx, (amp * np.sin(sx - phase)).astype(np.float32), qx, (amp * np.sin(qx - phase)).astype(np.float32)
    s = w.image_size
    sx = rng.uniform(0, 1, (t, w.ways * w.shots, 1, s, s)).astype(np.float32)
    qx = rng.uniform(0, 1, (t, w.ways * w.queries, 1, s, s)).astype(np.float32)
    sy = np.tile(np.repeat(np.arange(w.ways, dtype=np.int64), w.shots), (t, 1))
    qy = np.tile(np.repeat(np.arange(w.ways, dtype=np.int64), w.queries), (t, 1))
    return sx, sy, qx, qy


# ----------------------------------------------------------------------------- results

def peak_rss_bytes() -> int:
    r = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(r if sys.platform == "darwin" else r * 1024)


def peak_rss_children_bytes() -> int:
    r = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return int(r if sys.platform == "darwin" else r * 1024)


def base_versions() -> dict:
    return {"python": platform.python_version(), "numpy": np.__version__, "machine": platform.machine()}


def emit(obj: dict):
    print(json.dumps(obj), flush=True)


# ----------------------------------------------------------------------------- shared inputs

def load_inputs(path: str, w: Workload):
    """Parameters and batch that `metajit bench --single W --write-inputs PATH` wrote
    (safetensors, F32; labels stored as F32 and cast back to int64 here), so every runner
    starts from MetaJIT's own initial weights and batch. Returns (params, batch) in the
    order and layout `init_params` / `synthetic_batch` return them."""
    with open(path, "rb") as f:
        data = f.read()
    n = int.from_bytes(data[:8], "little")
    header = json.loads(data[8:8 + n])
    body = memoryview(data)[8 + n:]
    tensors = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        if e["dtype"] != "F32":
            raise ValueError(f"{path}: {name} is {e['dtype']}, expected F32")
        a, b = e["data_offsets"]
        tensors[name] = np.frombuffer(body[a:b], dtype=np.float32).reshape(e["shape"]).copy()
    meta = header.get("__metadata__", {})
    if meta.get("workload") not in (None, w.name):
        raise ValueError(f"{path} holds inputs of {meta.get('workload')}, not {w.name}")
    params = {k: tensors[k] for k in init_params(w, 0)}
    sx, sy, qx, qy = (tensors["input." + k] for k in ("support_x", "support_y", "query_x", "query_y"))
    if w.kind != "sinusoid":
        sy, qy = sy.astype(np.int64), qy.astype(np.int64)
    return params, (sx, sy, qx, qy)


# ----------------------------------------------------------------------------- safetensors

SAFETENSORS_DTYPES = {"F32": np.float32, "F64": np.float64, "I32": np.int32, "I64": np.int64,
                      "U8": np.uint8, "I8": np.int8, "F16": np.float16}


def read_safetensors_typed(path: str):
    """({name: array in its stored dtype}, {metadata: str}) of a safetensors file: an 8-byte
    little-endian header length, a JSON header (dtype, shape, data_offsets per tensor, and
    `__metadata__`), then the raw little-endian data. Numpy only (no `safetensors` package)."""
    with open(path, "rb") as f:
        data = f.read()
    n = int.from_bytes(data[:8], "little")
    header = json.loads(data[8:8 + n])
    meta = header.pop("__metadata__", None) or {}
    body = memoryview(data)[8 + n:]
    out = {}
    for name, e in header.items():
        if e["dtype"] not in SAFETENSORS_DTYPES:
            raise ValueError(f"{path}: {name} has unsupported dtype {e['dtype']}")
        a, b = e["data_offsets"]
        dt = np.dtype(SAFETENSORS_DTYPES[e["dtype"]]).newbyteorder("<")
        out[name] = np.frombuffer(body[a:b], dtype=dt).reshape(e["shape"]).astype(dt.newbyteorder("="))
    return out, meta


def write_safetensors(path: str, tensors: dict, metadata: dict | None = None):
    """Writes `tensors` ({name: numpy array}, dtypes of SAFETENSORS_DTYPES) and string
    `metadata` in the safetensors layout `read_safetensors_typed` reads (header padded with
    spaces to a multiple of 8 bytes, tensors in name order)."""
    names = {v: k for k, v in SAFETENSORS_DTYPES.items()}
    header, blobs, at = {}, [], 0
    for name in sorted(tensors):
        a = np.ascontiguousarray(tensors[name])
        code = names.get(a.dtype.type)
        if code is None:
            raise ValueError(f"{name}: unsupported dtype {a.dtype}")
        raw = a.astype(a.dtype.newbyteorder("<"), copy=False).tobytes()
        header[name] = {"dtype": code, "shape": list(a.shape), "data_offsets": [at, at + len(raw)]}
        blobs.append(raw)
        at += len(raw)
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(len(text).to_bytes(8, "little"))
        f.write(text)
        for raw in blobs:
            f.write(raw)


def pin_cpus(spec: str | None):
    """Pins this process to `spec` (`0,1` or `0-1`); returns the affinity as a list string."""
    if spec and hasattr(os, "sched_setaffinity"):
        cpus = set()
        for part in spec.split(","):
            lo, _, hi = part.partition("-")
            cpus.update(range(int(lo), int(hi or lo) + 1))
        os.sched_setaffinity(0, cpus)
    if hasattr(os, "sched_getaffinity"):
        return ",".join(str(c) for c in sorted(os.sched_getaffinity(0)))
    return None
