#!/usr/bin/env bash
# Creates Benchmarks/peers/.venv with CPU-only PyTorch, jax[cpu], tensorflow-cpu, numpy,
# pillow, psutil, threadpoolctl.
# Idempotent: re-running only installs what is missing. Prints versions at the end.
#
# PyTorch: the Linux wheels on PyPI are CUDA builds (~900 MB plus ~3 GB of nvidia-*
# packages). We prefer a CPU wheel (a "+cpu" local version) when pip can see one, e.g.
# through a find-links wheel directory; otherwise we install the PyPI wheel with
# --no-deps and its pure-Python dependencies only (no nvidia-* packages); the CUDA
# wheel imports and runs on CPU without them.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENV="$HERE/.venv"
PYTHON="${PYTHON:-python3}"
PY="$VENV/bin/python"

if [[ ! -x "$PY" ]]; then
  echo "[setup] creating $VENV" >&2
  "$PYTHON" -m venv "$VENV"
fi
PIP=("$PY" -m pip install --disable-pip-version-check -q)

have() { "$PY" -c "import $1" >/dev/null 2>&1; }

if ! have numpy || ! have PIL || ! have psutil; then
  echo "[setup] installing numpy pillow psutil" >&2
  "${PIP[@]}" numpy pillow psutil
fi

if ! have torch; then
  # A CPU build visible to pip (find-links or an index) sorts as e.g. "2.13.0+cpu".
  CPU_VER="$("$PY" -m pip index versions torch 2>/dev/null \
      | sed -n 's/^Available versions: //p' | tr ',' '\n' | tr -d ' ' \
      | grep '+cpu$' | head -n1 || true)"
  if [[ -n "$CPU_VER" ]]; then
    echo "[setup] installing torch==$CPU_VER (CPU wheel)" >&2
    "${PIP[@]}" "torch==$CPU_VER"
  else
    echo "[setup] no CPU torch wheel visible; installing PyPI torch --no-deps" >&2
    "${PIP[@]}" --no-deps torch
    "${PIP[@]}" filelock typing-extensions sympy networkx jinja2 fsspec setuptools
  fi
fi

if ! have jax || ! have jaxlib; then
  echo "[setup] installing jax[cpu]" >&2
  "${PIP[@]}" "jax[cpu]"
fi

if ! have tensorflow; then
  echo "[setup] installing tensorflow-cpu" >&2
  "${PIP[@]}" tensorflow-cpu
fi

if ! have threadpoolctl; then
  "${PIP[@]}" threadpoolctl
fi

"$PY" - <<'EOF'
import json, platform
import tensorflow as tf
import numpy, PIL, psutil, torch, jax, jaxlib
torch.set_num_threads(2)
x = torch.ones(2, 2, requires_grad=True)
(g,) = torch.autograd.grad((x * x).sum(), x)
assert float(g.sum()) == 8.0
import jax.numpy as jnp
assert float(jax.jit(jax.grad(lambda v: (v * v).sum()))(jnp.ones((2, 2))).sum()) == 8.0
print(json.dumps({
    "python": platform.python_version(),
    "numpy": numpy.__version__, "pillow": PIL.__version__, "psutil": psutil.__version__,
    "torch": torch.__version__, "torch_cuda": torch.version.cuda,
    "jax": jax.__version__, "jaxlib": jaxlib.__version__,
    "jax_backend": jax.default_backend(), "tensorflow": tf.__version__,
}))
EOF
