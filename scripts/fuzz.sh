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
# One target per core at a time (JOBS, default 2): each libFuzzer process is single-threaded.
fuzz_one() {
  local target=$1 work=build-asan/corpus/$1
  mkdir -p "$work"
  if ! ./build-asan/tests/fuzz/fuzz_$target "$work" "tests/fuzz/corpus/$target" \
      -max_total_time="$seconds" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
      -artifact_prefix="build-asan/crashes/$target-" -print_final_stats=1 \
      >"build-asan/$target.log" 2>&1; then
    echo "fuzz: $target CRASHED; see build-asan/$target.log and build-asan/crashes/" >&2
    return 1
  fi
}
status=0
targets=(sync_message record input http_query)
jobs=${JOBS:-2}
for ((i = 0; i < ${#targets[@]}; i += jobs)); do
  pids=()
  for target in "${targets[@]:i:jobs}"; do
    echo "fuzz: $target for ${seconds}s"
    fuzz_one "$target" &
    pids+=($!)
  done
  for pid in "${pids[@]}"; do wait "$pid" || status=1; done
done
for target in "${targets[@]}"; do
  echo "fuzz: $target"
  grep -E "stat::number_of_executed_units|stat::new_units_added" "build-asan/$target.log" | sed "s/^/  /" || true
done
exit $status
