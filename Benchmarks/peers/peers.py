#!/usr/bin/env python3
"""Times one MetaJIT benchmark workload in PyTorch or JAX and prints ONE JSON line.

  .venv/bin/python peers.py --framework torch --workload maml-5w1s --variant eager \
      --warmup 2 --iterations 5 --json

The first call (tracing/compilation included) is timed as `compile_s` and counts as the
first warm-up iteration; the remaining warm-ups are untimed; then `--iterations` timed
meta-iterations. Logs go to stderr. A variant that cannot run here (e.g. torch.compile
failing, or compiling for longer than --compile-timeout) prints a JSON line with
"skipped": true and a "reason", and exits 0; bad arguments exit 2.
"""
from __future__ import annotations

import argparse
import os
import signal
import sys
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from common import WORKLOADS, base_versions, emit, init_params, load_inputs, log, peak_rss_bytes, \
    peak_rss_children_bytes, pin_cpus, synthetic_batch  # noqa: E402

VARIANTS = {"torch": ["eager", "eager-cl", "eager-ftz", "compile"],
            "jax": ["unroll", "unroll-nhwc", "map", "vmap"],
            "tf": ["function", "xla"]}


class CompileTimeout(Exception):
    pass


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--framework", required=True, choices=sorted(VARIANTS))
    ap.add_argument("--workload", required=True, choices=sorted(WORKLOADS))
    ap.add_argument("--variant", help="torch: eager (default) | compile; jax: map (default, lax.map over tasks) | vmap")
    ap.add_argument("--warmup", type=int, default=2, help="warm-up iterations incl. the first call (min 1)")
    ap.add_argument("--iterations", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2, help="threads: torch intra-op, XLA/TF intra-op")
    ap.add_argument("--cpus", help="pin this process to these CPUs (e.g. 0,1) with os.sched_setaffinity")
    ap.add_argument("--inputs", help="initial parameters and batch from `metajit bench --single W --write-inputs F`")
    ap.add_argument("--compile-timeout", type=float, default=300.0,
                    help="seconds allowed for the first call before the variant is skipped")
    ap.add_argument("--json", action="store_true", help="print the JSON result line (always on)")
    a = ap.parse_args(argv)
    variant = a.variant or VARIANTS[a.framework][0]
    if variant not in VARIANTS[a.framework]:
        ap.error(f"--variant for {a.framework} must be one of {VARIANTS[a.framework]}")
    if a.iterations < 1:
        ap.error("--iterations must be >= 1")

    w = WORKLOADS[a.workload]
    result = {"framework": a.framework, "variant": variant, "workload": w.name, "affinity": pin_cpus(a.cpus)}
    if a.framework == "torch":
        import torch_peer as peer
    elif a.framework == "jax":
        os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " --xla_cpu_multi_thread_eigen=true"
                                   f" intra_op_parallelism_threads={a.threads}").strip()
        import jax_peer as peer
    else:
        import tf_peer as peer
    result["threads"] = peer.set_threads(a.threads, variant)
    result["denormals"] = peer.denormals()
    result["versions"] = {**base_versions(), **peer.versions()}

    if a.inputs:
        params, batch = load_inputs(a.inputs, w)
        result["inputs"] = a.inputs
    else:
        params, batch = init_params(w, a.seed), synthetic_batch(w, a.seed)
    log(f"{a.framework}/{variant} {w.name}: building")

    def on_alarm(signum, frame):
        raise CompileTimeout()

    try:
        step = peer.make_step(w, params, batch, variant)
        old = signal.signal(signal.SIGALRM, on_alarm)
        signal.setitimer(signal.ITIMER_REAL, a.compile_timeout)
        t0 = time.perf_counter()
        try:
            loss_first, _ = step()
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, old)
        compile_s = time.perf_counter() - t0
    except CompileTimeout:
        reason = f"first call exceeded --compile-timeout {a.compile_timeout:g} s"
        log("skipped:", reason)
        emit({**result, "skipped": True, "reason": reason, "peak_rss_bytes": peak_rss_bytes()})
        return 0
    except Exception as e:  # a variant that does not work here is skipped, with the reason
        traceback.print_exc(file=sys.stderr)
        reason = f"{type(e).__name__}: {str(e).strip().splitlines()[0] if str(e).strip() else ''}"[:500]
        log("skipped:", reason)
        emit({**result, "skipped": True, "reason": reason, "peak_rss_bytes": peak_rss_bytes()})
        return 0
    log(f"first call {compile_s:.3f} s, loss {loss_first:.4f}")

    for _ in range(max(a.warmup, 1) - 1):
        step()
    t0 = time.perf_counter()
    loss = acc = None
    for _ in range(a.iterations):
        loss, acc = step()
    elapsed = time.perf_counter() - t0
    spi = elapsed / a.iterations
    log(f"{a.iterations} iterations in {elapsed:.3f} s: {spi:.4f} s/iter, loss {loss:.4f}")
    emit({**result, "iterations_per_s": 1.0 / spi, "seconds_per_iteration": spi,
          "iterations": a.iterations, "warmup": max(a.warmup, 1), "compile_s": compile_s,
          "peak_rss_bytes": peak_rss_bytes(), "peak_rss_children_bytes": peak_rss_children_bytes(),
          "loss_first": loss_first, "loss_last": loss, "accuracy_last": acc})
    return 0


if __name__ == "__main__":
    sys.exit(main())
