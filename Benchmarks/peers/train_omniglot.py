#!/usr/bin/env python3
"""MetaJIT's Omniglot recipe in PyTorch: meta-train MAML or ProtoNet on the meta-train
alphabets (4 rotations each), then evaluate on test episodes of the meta-test alphabets.
Prints ONE JSON line: accuracy (mean over episodes), ci95 (1.96 * std / sqrt(episodes)).

  .venv/bin/python train_omniglot.py --framework torch --algorithm maml --ways 5 --shots 1 --iterations 1000
"""
from __future__ import annotations

import argparse
import math
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

import omniglot  # noqa: E402
import torch_peer as tp  # noqa: E402
from common import conv4_params, log, peak_rss_bytes  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--framework", default="torch", choices=["torch"])
    ap.add_argument("--algorithm", required=True, choices=["maml", "fomaml", "protonet"])
    ap.add_argument("--ways", type=int, default=5, help="test ways (and MAML's training ways)")
    ap.add_argument("--shots", type=int, default=1)
    ap.add_argument("--iterations", type=int, default=1000, help="meta-iterations")
    ap.add_argument("--train-ways", type=int, help="default: --ways (MAML), 60 (ProtoNet)")
    ap.add_argument("--train-queries", type=int, help="default: 15 (MAML), 5 (ProtoNet)")
    ap.add_argument("--test-queries", type=int, default=15)
    ap.add_argument("--meta-batch", type=int, help="default: 32 (MAML), 1 (ProtoNet)")
    ap.add_argument("--inner-steps", type=int, default=1)
    ap.add_argument("--inner-lr", type=float, default=0.4)
    ap.add_argument("--eval-inner-steps", type=int, default=3)
    ap.add_argument("--outer-lr", type=float, default=1e-3)
    ap.add_argument("--episodes", type=int, default=600, help="test episodes")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--data-dir", default=omniglot.default_data_dir())
    ap.add_argument("--log-every", type=int, default=50)
    a = ap.parse_args(argv)

    proto = a.algorithm == "protonet"
    train_ways = a.train_ways or (60 if proto else a.ways)
    train_queries = a.train_queries or (5 if proto else 15)
    meta_batch = a.meta_batch or (1 if proto else 32)
    strided = not proto
    tp.set_threads(a.threads)
    torch.manual_seed(a.seed)

    t_start = time.perf_counter()
    alphabets = omniglot.load_alphabets([os.path.join(a.data_dir, z) for z in omniglot.DEFAULT_ZIPS])
    train = omniglot.make_classes(alphabets, omniglot.TRAIN_ALPHABETS, rotations=(0, 90, 180, 270))
    test = omniglot.make_classes(alphabets, omniglot.TEST_ALPHABETS)
    log(f"loaded {len(alphabets)} alphabets: {train.shape[0]} train classes (with rotations), "
        f"{test.shape[0]} test classes, {time.perf_counter() - t_start:.1f} s")

    params = tp.to_params(conv4_params(np.random.default_rng(a.seed), ways=0 if proto else a.ways, strided=strided))
    opt = torch.optim.Adam(params.values(), lr=a.outer_lr)
    fwd = lambda p, x: tp.conv4(p, x, strided)  # noqa: E731
    sampler = omniglot.EpisodeSampler(train, a.seed + 1)

    t_train = time.perf_counter()
    for it in range(1, a.iterations + 1):
        sx, sy, qx, qy = (torch.from_numpy(v) for v in sampler.sample(meta_batch, train_ways, a.shots, train_queries))
        opt.zero_grad(set_to_none=True)
        loss_sum = acc_sum = 0.0
        for t in range(meta_batch):
            if proto:
                logits = tp.protonet_logits(params, sx[t], qx[t], train_ways, a.shots)
            else:
                fast = tp.adapt(params, sx[t], sy[t], fwd, F.cross_entropy, a.inner_steps, a.inner_lr,
                                create_graph=a.algorithm == "maml")
                logits = fwd(fast, qx[t])
            loss = F.cross_entropy(logits, qy[t])
            (loss / meta_batch).backward()
            loss_sum += float(loss.detach())
            acc_sum += float(tp.accuracy(logits.detach(), qy[t]))
        opt.step()
        if it % a.log_every == 0 or it == a.iterations:
            log(f"iter {it}: loss {loss_sum / meta_batch:.4f} acc {acc_sum / meta_batch:.3f} "
                f"({(time.perf_counter() - t_train) / it:.3f} s/iter)")
    train_s = time.perf_counter() - t_train

    test_sampler = omniglot.EpisodeSampler(test, a.seed + 2)
    accs = []
    t_eval = time.perf_counter()
    for _ in range(a.episodes):
        sx, sy, qx, qy = (torch.from_numpy(v[0]) for v in test_sampler.sample(1, a.ways, a.shots, a.test_queries))
        if proto:
            with torch.no_grad():
                logits = tp.protonet_logits(params, sx, qx, a.ways, a.shots)
        else:
            fast = tp.adapt(params, sx, sy, fwd, F.cross_entropy, a.eval_inner_steps, a.inner_lr, create_graph=False)
            with torch.no_grad():
                logits = fwd({k: v.detach() for k, v in fast.items()}, qx)
        accs.append(float(tp.accuracy(logits, qy)))
    accs = np.asarray(accs)
    ci95 = 1.96 * accs.std(ddof=1) / math.sqrt(len(accs)) if len(accs) > 1 else float("nan")
    log(f"eval: {accs.mean():.4f} ± {ci95:.4f} over {len(accs)} episodes ({time.perf_counter() - t_eval:.1f} s)")
    import json
    print(json.dumps({
        "framework": a.framework, "algorithm": a.algorithm, "ways": a.ways, "shots": a.shots,
        "train_ways": train_ways, "train_queries": train_queries, "meta_batch": meta_batch,
        "inner_steps": a.inner_steps, "eval_inner_steps": None if proto else a.eval_inner_steps,
        "accuracy": float(accs.mean()), "ci95": float(ci95), "episodes": int(len(accs)),
        "iterations": a.iterations, "train_s": train_s, "wall_s": time.perf_counter() - t_start,
        "peak_rss_bytes": peak_rss_bytes(), "torch": torch.__version__,
    }), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
