#!/usr/bin/env bash
# Runs tests on a sanitized clang build (docs/testing.md):
#   bash scripts/sanitize.sh asan          # ASan+UBSan (+LeakSanitizer): unit and integration tests
#   bash scripts/sanitize.sh tsan          # ThreadSanitizer: the tests that run a node's threads
#   bash scripts/sanitize.sh build asan    # only build (scripts/fuzz.sh fuzzes in build-asan/)
# LABELS picks other ctest labels (LABELS='unit|sync|fuzz|system' adds the system tests,
# built then too); extra arguments go to ctest (e.g. -R fork). Reports from any process —
# test binaries and the `agora` processes they start — are written to
# build-MODE/sanitizer-reports/; the stage fails if a test fails or any report was written.
set -euo pipefail
cd "$(dirname "$0")/.."
build_only=0
if [ "${1:-}" = build ]; then build_only=1; shift; fi
mode=${1:-asan}
shift || true
case "$mode" in
  # The fuzz targets' coverage instrumentation rides along, so that one build serves the
  # ASan tests and the fuzzing stage.
  asan) options=(-DAGORA_FUZZ=ON)
        targets=(agora agora_tests agora_sync_tests fuzz_sync_message fuzz_record fuzz_input fuzz_http_query)
        labels=${LABELS:-unit|sync|fuzz} ;;
  tsan) options=(-DAGORA_SANITIZE=thread)
        targets=(agora agora_sync_tests)
        labels=${LABELS:-tsan} ;;
  *) echo "usage: scripts/sanitize.sh [build] asan|tsan [ctest args]" >&2; exit 2 ;;
esac
[[ "$labels" == *system* ]] && targets+=(agora_system_tests)
command -v clang++ >/dev/null || { echo "sanitize: clang++ is needed (apt-get install clang)" >&2; exit 2; }
dir=build-$mode
if [ ! -f "$dir/build.ninja" ]; then
  launcher=()
  command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  # -O1 with line tables only, and unity batches: a sanitized build of the node is the
  # slowest step of CI on two cores; reports still name file and line.
  CC=clang CXX=clang++ cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "${launcher[@]}" \
    -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -gline-tables-only" -DCMAKE_UNITY_BUILD=ON \
    -DAGORA_WERROR="${AGORA_WERROR:-OFF}" "${options[@]}" >/dev/null
fi
[ -n "${AGORA_WERROR:-}" ] && cmake -S . -B "$dir" -DAGORA_WERROR="$AGORA_WERROR" >/dev/null
cmake --build "$dir" -j "${JOBS:-2}" --target "${targets[@]}"
[ $build_only -eq 1 ] && exit 0
reports=$PWD/$dir/sanitizer-reports
rm -rf "$reports" && mkdir -p "$reports"
export ASAN_OPTIONS="log_path=$reports/asan:detect_leaks=1:abort_on_error=0:detect_stack_use_after_return=0"
export UBSAN_OPTIONS="log_path=$reports/ubsan:print_stacktrace=1:halt_on_error=1"
export TSAN_OPTIONS="log_path=$reports/tsan:halt_on_error=0:second_deadlock_stack=1:suppressions=$PWD/tests/tsan.supp"
export LSAN_OPTIONS="suppressions=$PWD/tests/lsan.supp:print_suppressions=0"
status=0
(cd "$dir" && ctest --output-on-failure --no-tests=error -j 2 --timeout 600 -L "$labels" "$@") || status=1
if compgen -G "$reports/*" >/dev/null; then
  echo "sanitize: $mode reports in $reports:" >&2
  for f in "$reports"/*; do echo "== $f" >&2; head -60 "$f" >&2; done
  status=1
fi
[ $status -eq 0 ] && echo "sanitize: $mode clean"
exit $status
