#!/usr/bin/env bash
# Installs what MetaJIT needs on a fresh Debian 12 machine: LLVM 19 (C API + shared library),
# the `cllvm.pc` pkg-config file SwiftPM uses for the CLLVM system-library target, zlib headers,
# Debian's Fashion-MNIST, and Open MPI (openmpi-bin, libopenmpi-dev: `mpirun` and the `ompi-c`
# pkg-config file of the CMPI system-library target, for `--distributed mpi`).
# Idempotent: does nothing when everything is present.
set -euo pipefail

SUDO=""
if [ "$(id -u)" != 0 ] && command -v sudo >/dev/null 2>&1; then SUDO=sudo; fi

need=()
command -v llvm-config-19 >/dev/null 2>&1 || need+=(llvm-19-dev)
[ -f /usr/include/zlib.h ] || need+=(zlib1g-dev)
command -v pkg-config >/dev/null 2>&1 || need+=(pkg-config)
[ -d /usr/share/datasets/fashion-mnist ] || need+=(dataset-fashion-mnist)
command -v mpirun >/dev/null 2>&1 || need+=(openmpi-bin)
[ -f /usr/lib/x86_64-linux-gnu/pkgconfig/ompi-c.pc ] || pkg-config --exists ompi-c 2>/dev/null || need+=(libopenmpi-dev)
# The two-host MPI test builds network namespaces with `ip` (iproute2).
command -v ip >/dev/null 2>&1 || need+=(iproute2)
if [ ${#need[@]} -gt 0 ]; then
  echo "install-deps: apt-get install ${need[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi

pcdir=/usr/local/lib/pkgconfig
pc="$pcdir/cllvm.pc"
inc=$(llvm-config-19 --includedir)
lib=$(llvm-config-19 --libdir)
want="prefix=$(llvm-config-19 --prefix)
Name: cllvm
Description: LLVM 19 C API for MetaJIT
Version: $(llvm-config-19 --version)
Cflags: -I$inc
Libs: -L$lib -lLLVM-19
"
if ! printf '%s' "$want" | cmp -s - "$pc"; then
  $SUDO mkdir -p "$pcdir"
  printf '%s' "$want" | $SUDO tee "$pc" >/dev/null
  echo "install-deps: wrote $pc"
fi
