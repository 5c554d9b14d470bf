#!/usr/bin/env bash
# Fuzzes the protocol layer with libFuzzer (clang, ASan+UBSan): each target for SECONDS
# (default 60) from its seed corpus (tests/fuzz/corpus/TARGET); new interesting inputs go
# to build-fuzz/corpus/TARGET, crashes to build-fuzz/crashes/. Exit 1 on any crash: copy the
# crashing input to tests/fuzz/regressions/TARGET/ so ctest replays it from then on.
#   bash scripts/fuzz.sh            # one minute per target
#   bash scripts/fuzz.sh 3600       # an hour per target (longer runs: see docs/testing.md)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
command -v clang++ >/dev/null || { echo "fuzz: clang++ is needed (apt-get install clang)" >&2; exit 2; }
if [ ! -f build-fuzz/build.ninja ]; then
  CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DAGORA_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
cmake --build build-fuzz -j "${JOBS:-2}"
mkdir -p build-fuzz/crashes
status=0
for target in sync_message record input http_query; do
  work=build-fuzz/corpus/$target
  mkdir -p "$work"
  echo "fuzz: $target for ${seconds}s"
  if ! ./build-fuzz/tests/fuzz/fuzz_$target "$work" "tests/fuzz/corpus/$target" \
      -max_total_time="$seconds" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
      -artifact_prefix="build-fuzz/crashes/$target-" -print_final_stats=1 \
      >"build-fuzz/$target.log" 2>&1; then
    echo "fuzz: $target CRASHED; see build-fuzz/$target.log and build-fuzz/crashes/" >&2
    status=1
  fi
  grep -E "stat::number_of_executed_units|stat::new_units_added" "build-fuzz/$target.log" | sed "s/^/  /" || true
done
exit $status
