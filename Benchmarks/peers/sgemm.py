"""Best single-precision GEMM rate of one framework on this machine (`metajit bench --limits`).

    python sgemm.py --framework numpy|torch|jax --n 4096 --threads 2 [--repeats 5]

Prints one JSON line: framework, n, threads, gflops_best, gflops_median, seconds_best,
versions and, for NumPy, the BLAS that threadpoolctl reports (internal API, kernel
architecture, version). Threads are set before the framework is imported. For NumPy the
caller unsets OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE in this process's environment only.
"""
import argparse
import json
import os
import statistics
import sys
import time


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--framework", choices=["numpy", "torch", "jax"], required=True)
    ap.add_argument("--n", type=int, default=4096)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=5)
    a = ap.parse_args()
    t = str(a.threads)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = t
    if a.framework == "jax":
        os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") +
                                   f" --xla_cpu_multi_thread_eigen=true intra_op_parallelism_threads={t}").strip()
    import numpy as np
    rng = np.random.default_rng(0)
    a_np = rng.random((a.n, a.n), dtype=np.float32)
    b_np = rng.random((a.n, a.n), dtype=np.float32)
    info = {}
    if a.framework == "numpy":
        f = lambda: a_np @ b_np
        try:
            from threadpoolctl import threadpool_info
            info["blas"] = [{k: d.get(k) for k in ("internal_api", "architecture", "version", "num_threads", "filepath")}
                            for d in threadpool_info() if d.get("user_api") == "blas"]
        except Exception as e:  # threadpoolctl missing: say so rather than guess the kernel
            info["blas"] = f"threadpoolctl unavailable: {e}"
        info["openblas_coretype"] = os.environ.get("OPENBLAS_CORETYPE")
        versions = {"numpy": np.__version__}
    elif a.framework == "torch":
        import torch
        torch.set_num_threads(a.threads)
        x, y = torch.from_numpy(a_np), torch.from_numpy(b_np)
        f = lambda: torch.mm(x, y)
        versions = {"torch": torch.__version__}
        info["torch_threads"] = torch.get_num_threads()
    else:
        import jax
        import jax.numpy as jnp
        x, y = jnp.asarray(a_np), jnp.asarray(b_np)
        mm = jax.jit(lambda p, q: p @ q)
        f = lambda: mm(x, y).block_until_ready()
        versions = {"jax": jax.__version__}
    f()  # warm-up (and compile, for JAX)
    times = []
    for _ in range(a.repeats):
        t0 = time.perf_counter()
        f()
        times.append(time.perf_counter() - t0)
    flops = 2.0 * a.n ** 3
    print(json.dumps({"framework": a.framework, "n": a.n, "threads": a.threads,
                      "gflops_best": flops / min(times) / 1e9, "gflops_median": flops / statistics.median(times) / 1e9,
                      "seconds_best": min(times), "versions": versions, **info}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
