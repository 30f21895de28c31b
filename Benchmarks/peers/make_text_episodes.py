#!/usr/bin/env python3
"""Writes a synthetic few-shot text episode file in the layout `metajit text-episodes` exports
(what `text_peer.py` reads), for testing the peer without the Swift exporter.

  python make_text_episodes.py --out /tmp/text.safetensors [--ways 5 --shots 5 --queries 5
      --length 12 --vocabulary 400 --embedding 16 --hidden 24 --train 300 --test 100 --seed 0]

Tensors, for s in {train, test}: `{s}_support` I32 [E, N·K, T], `{s}_support_mask` F32
[E, N·K, T], `{s}_query` I32 [E, N·Q, T], `{s}_query_mask` F32, `{s}_query_labels` I32
[E, N·Q] (support class-major: row r has label r // K; queries class-major too); initial
weights `table` F32 [V, E], `wx` [E, 4H], `wh` [H, 4H], `b` [4H] (gate order i, f, g, o;
`--forget-bias` is added to b's f slice and recorded). Token ids: 0 unknown, 1..V-1 words,
-1 padding where the mask is 0 (sentences are left-aligned, padded at the end).

The task is learnable but not trivial: ids 1..P are "content" words, the rest "filler".
Each class is a random set of `--topic` content words; a sentence of length U(3, T) draws
each token from its class's topic with probability `--signal`, else uniformly from all
words (a few become 0, unknown). Train and test classes are distinct draws from the same
content words, so what the encoder learns on train classes transfers to test classes.
"""
from __future__ import annotations

import argparse
import math
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402

from common import log, write_safetensors  # noqa: E402


def sentences(rng, topic, count, length, vocab, signal, unknown):
    toks = np.full((count, length), -1, np.int32)
    mask = np.zeros((count, length), np.float32)
    for i in range(count):
        u = int(rng.integers(3, length + 1))
        from_topic = rng.random(u) < signal
        words = np.where(from_topic, rng.choice(topic, u), rng.integers(1, vocab, u))
        words = np.where(rng.random(u) < unknown, 0, words)
        toks[i, :u] = words
        mask[i, :u] = 1
    return toks, mask


def split(rng, episodes, classes, a):
    n, k, q, t = a.ways, a.shots, a.queries, a.length
    out = {n_: [] for n_ in ("support", "support_mask", "query", "query_mask", "query_labels")}
    for _ in range(episodes):
        chosen = rng.choice(len(classes), n, replace=False)
        st, sm, qt, qm = [], [], [], []
        for c in chosen:
            toks, mask = sentences(rng, classes[c], k + q, t, a.vocabulary, a.signal, a.unknown)
            st.append(toks[:k]); sm.append(mask[:k]); qt.append(toks[k:]); qm.append(mask[k:])
        out["support"].append(np.concatenate(st)); out["support_mask"].append(np.concatenate(sm))
        out["query"].append(np.concatenate(qt)); out["query_mask"].append(np.concatenate(qm))
        out["query_labels"].append(np.repeat(np.arange(n, dtype=np.int32), q))
    return {k_: np.stack(v) for k_, v in out.items()}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    ap.add_argument("--ways", type=int, default=5)
    ap.add_argument("--shots", type=int, default=5)
    ap.add_argument("--queries", type=int, default=5)
    ap.add_argument("--length", type=int, default=12)
    ap.add_argument("--vocabulary", type=int, default=400)
    ap.add_argument("--embedding", type=int, default=16)
    ap.add_argument("--hidden", type=int, default=24)
    ap.add_argument("--train", type=int, default=300, help="training episodes")
    ap.add_argument("--test", type=int, default=100, help="test episodes")
    ap.add_argument("--content", type=int, default=150, help="content words (ids 1..P)")
    ap.add_argument("--topic", type=int, default=6, help="content words per class")
    ap.add_argument("--classes", type=int, default=40, help="train classes (as many again for test)")
    ap.add_argument("--signal", type=float, default=0.4, help="probability a token is from the class topic")
    ap.add_argument("--unknown", type=float, default=0.05, help="probability a token is 0 (unknown)")
    ap.add_argument("--outer-lr", type=float, default=1e-2)
    ap.add_argument("--forget-bias", type=float, default=None, help="added to b's forget-gate slice, recorded")
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args(argv)
    rng = np.random.default_rng(a.seed)
    v, e, h = a.vocabulary, a.embedding, a.hidden
    classes = [rng.choice(np.arange(1, a.content + 1), a.topic, replace=False) for _ in range(2 * a.classes)]
    tensors = {}
    for name, episodes, cls in (("train", a.train, classes[:a.classes]), ("test", a.test, classes[a.classes:])):
        for k, arr in split(rng, episodes, cls, a).items():
            tensors[f"{name}_{k}"] = arr
    # The initialisers of Tests/LoweringTests/ProtoNetLSTMTests.swift.
    tensors["table"] = (rng.standard_normal((v, e)) * 0.3).astype(np.float32)
    tensors["wx"] = (rng.standard_normal((e, 4 * h)) / math.sqrt(e)).astype(np.float32)
    tensors["wh"] = (rng.standard_normal((h, 4 * h)) / math.sqrt(h)).astype(np.float32)
    b = np.zeros(4 * h, np.float32)
    meta = {"ways": a.ways, "shots": a.shots, "queries": a.queries, "length": a.length, "vocabulary": v,
            "embedding": e, "hidden": h, "outer_lr": a.outer_lr, "recipe": "synthetic-text", "gate_order": "ifgo"}
    if a.forget_bias is not None:
        b[h:2 * h] += a.forget_bias
        meta["forget_bias"] = a.forget_bias
    tensors["b"] = b
    write_safetensors(a.out, tensors, meta)
    log(f"wrote {a.out}: {a.train} train / {a.test} test episodes, {a.ways}-way {a.shots}-shot {a.queries} queries, "
        f"T={a.length}, V={v}, E={e}, H={h}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
