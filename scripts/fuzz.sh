#!/usr/bin/env bash
# Fuzzes the protocol layer with libFuzzer (clang, ASan+UBSan): each target for SECONDS
# (default 60) from its seed corpus (tests/fuzz/corpus/TARGET); new interesting inputs go
# to build-asan/corpus/TARGET, crashes to build-asan/crashes/. Exit 1 on any crash: copy the
# crashing input to tests/fuzz/regressions/TARGET/ so ctest replays it from then on. The
# targets live in the ASan build of scripts/sanitize.sh (built here if needed).
#   bash scripts/fuzz.sh            # one minute per target
#   bash scripts/fuzz.sh 3600       # an hour per target (longer runs: see docs/testing.md)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
bash scripts/sanitize.sh build asan
mkdir -p build-asan/crashes
status=0
for target in sync_message record input http_query; do
  work=build-asan/corpus/$target
  mkdir -p "$work"
  echo "fuzz: $target for ${seconds}s"
  if ! ./build-asan/tests/fuzz/fuzz_$target "$work" "tests/fuzz/corpus/$target" \
      -max_total_time="$seconds" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
      -artifact_prefix="build-asan/crashes/$target-" -print_final_stats=1 \
      >"build-asan/$target.log" 2>&1; then
    echo "fuzz: $target CRASHED; see build-asan/$target.log and build-asan/crashes/" >&2
    status=1
  fi
  grep -E "stat::number_of_executed_units|stat::new_units_added" "build-asan/$target.log" | sed "s/^/  /" || true
done
exit $status
