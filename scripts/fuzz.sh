#!/usr/bin/env bash
# Builds the libFuzzer targets and runs each for a given time.
#
#   scripts/fuzz.sh [seconds-per-target] [target...]     targets: parser png idx manifest safetensors
#
# Each target is the module's sources compiled with `swiftc -sanitize=fuzzer,address` plus an
# entry file in Tests/Fuzz/harness/. Seeds come from Tests/Fuzz/<target>/ (read-only, recursive,
# regressions included), with the dictionary Tests/Fuzz/<target>.dict where there is one; new
# inputs and crash reproducers go to $FUZZ_OUT/<target>/ (default .build/fuzz/out). A crash
# does not end the target's time: libFuzzer is restarted on the grown corpus until the time is
# used, and every reproducer is kept (crash-*, oom-*, timeout-*; older ones move to previous/).
# Prints one line per target: executions, seconds, crashes. Exit status 1 if anything crashed.
set -euo pipefail
cd "$(dirname "$0")/.."
export PKG_CONFIG_PATH=${PKG_CONFIG_PATH:-/usr/local/lib/pkgconfig}
# The Swift runtime's backtracer fights ASan over the crash; libFuzzer reports the signal itself.
export SWIFT_BACKTRACE=enable=no

per_target=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(parser png idx manifest safetensors)

B=.build/fuzz
OUT=${FUZZ_OUT:-$B/out}
mkdir -p "$B/mod" "$OUT"
SWIFTC=(swiftc -O -j2 -parse-as-library -sanitize=fuzzer,address -I "$B/mod" -L "$B")

# True when $1 is missing or older than any of the remaining files.
stale() {
  local out=$1; shift
  [ -e "$out" ] || return 0
  local f
  for f in "$@"; do [ "$f" -nt "$out" ] && return 0; done
  return 1
}

# ZIPFoundation (used by EpisodeData's Omniglot zip store) is linked from SwiftPM's own build,
# uninstrumented: only our code needs coverage.
swift build --target ZIPFoundation 2>&1 | grep -v -e PrivacyInfo -e "unhandled; explicitly" || true
bin=$(swift build --show-bin-path)
zip_objects=("$bin"/ZIPFoundation.build/*.o)
zip_includes=(-I "$bin/Modules" -I .build/checkouts/ZIPFoundation/Sources/CZLib)

metair_sources=(Sources/MetaIR/*.swift)
if stale "$B/libMetaIR.a" "${metair_sources[@]}"; then
  echo "fuzz: building MetaIR (instrumented)"
  "${SWIFTC[@]}" -emit-library -static -emit-module -enable-testing -module-name MetaIR \
    -emit-module-path "$B/mod/MetaIR.swiftmodule" -o "$B/libMetaIR.a" "${metair_sources[@]}"
fi

episode_sources=(Sources/EpisodeData/*.swift)
needs_episode_data=0
for t in "${targets[@]}"; do case $t in png|idx|manifest) needs_episode_data=1 ;; esac; done
if [ $needs_episode_data = 1 ] && stale "$B/libEpisodeData.a" "${episode_sources[@]}" "$B/libMetaIR.a"; then
  echo "fuzz: building EpisodeData (instrumented)"
  "${SWIFTC[@]}" -emit-library -static -emit-module -enable-testing -module-name EpisodeData \
    -I Sources/CMetaZlib "${zip_includes[@]}" \
    -emit-module-path "$B/mod/EpisodeData.swiftmodule" -o "$B/libEpisodeData.a" "${episode_sources[@]}"
fi

build_target() {
  local t=$1 exe="$B/fuzz-$1" harness="Tests/Fuzz/harness/$1.swift"
  case $t in
    parser)
      stale "$exe" "$harness" "$B/libMetaIR.a" || return 0
      "${SWIFTC[@]}" -o "$exe" "$harness" "$B/libMetaIR.a" ;;
    png|idx|manifest)
      stale "$exe" "$harness" "$B/libMetaIR.a" "$B/libEpisodeData.a" || return 0
      "${SWIFTC[@]}" -I Sources/CMetaZlib "${zip_includes[@]}" -o "$exe" "$harness" \
        "$B/libEpisodeData.a" "$B/libMetaIR.a" "${zip_objects[@]}" -lz ;;
    safetensors)
      # Runtime links LLVM; the reader needs only its own file and MetaIR.
      stale "$exe" "$harness" Sources/Runtime/SafeTensors.swift "$B/libMetaIR.a" || return 0
      "${SWIFTC[@]}" -module-name FuzzSafeTensors -o "$exe" "$harness" Sources/Runtime/SafeTensors.swift \
        "$B/libMetaIR.a" ;;
    *) echo "fuzz: unknown target '$t' (parser png idx manifest safetensors)" >&2; exit 2 ;;
  esac
}

summary=()
total_crashes=0
for t in "${targets[@]}"; do
  echo "fuzz: building $t"
  # ld.gold warns about every ASan-internal symbol; those lines are noise.
  if ! build_target "$t" >"$B/build-$t.log" 2>&1; then
    grep -v "Cannot export local symbol" "$B/build-$t.log" >&2
    echo "fuzz: $t did not build" >&2
    exit 1
  fi
  grep -v "Cannot export local symbol" "$B/build-$t.log" || true
  dir="$OUT/$t"
  mkdir -p "$dir/corpus" "$dir/previous"
  # Reproducers of earlier runs (maybe fixed since) move aside so the count is this run's.
  find "$dir" -maxdepth 1 -type f \( -name 'crash-*' -o -name 'oom-*' -o -name 'timeout-*' -o -name 'leak-*' \) \
    -exec mv {} "$dir/previous/" \;
  rm -f "$dir"/run*.log
  dict=()
  [ -f "Tests/Fuzz/$t.dict" ] && dict=(-dict="Tests/Fuzz/$t.dict")
  start=$(date +%s)
  runs=0 execs=0
  while :; do
    left=$(( per_target - ($(date +%s) - start) ))
    [ $left -gt 0 ] || break
    runs=$((runs + 1))
    log="$dir/run$runs.log"
    # -rss_limit_mb also caps single allocations: a length field that asks for gigabytes is a bug.
    "$B/fuzz-$t" "$dir/corpus" "Tests/Fuzz/$t" -max_total_time=$left -timeout=10 -rss_limit_mb=2048 \
      -print_final_stats=1 -artifact_prefix="$dir/" "${dict[@]}" >"$log" 2>&1 || true
    n=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    execs=$((execs + ${n:-0}))
    # libFuzzer stops at the first crash (after writing the reproducer to $dir): go on with
    # the rest of the time unless this run ended cleanly. A seed that still crashes makes
    # every restart stop at once; the count then shows it.
    grep -q '^stat::number_of_executed_units' "$log" && ! grep -qE 'ERROR: (libFuzzer|AddressSanitizer)' "$log" && break
  done
  seconds=$(( $(date +%s) - start ))
  crashes=$(find "$dir" -maxdepth 1 -type f \( -name 'crash-*' -o -name 'oom-*' -o -name 'timeout-*' -o -name 'leak-*' \) | wc -l)
  total_crashes=$((total_crashes + crashes))
  line=$(printf '%-12s executions %10d  seconds %4d  crashes %d' "$t" "$execs" "$seconds" "$crashes")
  echo "fuzz: $line"
  summary+=("$line")
done

echo "fuzz: summary (libFuzzer, ${per_target}s per target, reproducers under $OUT/<target>/)"
printf '  %s\n' "${summary[@]}"
[ $total_crashes = 0 ]
