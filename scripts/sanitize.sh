#!/usr/bin/env bash
# Runs the tests on a sanitized build (docs/testing.md):
#   bash scripts/sanitize.sh asan   # ASan + UBSan (+ LeakSanitizer): every ctest test
#   bash scripts/sanitize.sh tsan   # ThreadSanitizer: the tests that run nodes' threads
# Extra arguments go to ctest. Reports from any process (test binaries and the `agora`
# processes they start) are written to build-MODE/sanitizer-reports/; the stage fails if
# a test fails or any report was written.
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-asan}
shift || true
case "$mode" in
  asan) flags="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
        tests=() ;;
  tsan) flags="-fsanitize=thread"
        tests=(-L "sync|tsan") ;;
  *) echo "usage: scripts/sanitize.sh asan|tsan [ctest args]" >&2; exit 2 ;;
esac
dir=build-$mode
if [ ! -f "$dir/build.ninja" ]; then
  launcher=()
  command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  # -O1: sanitizer reports keep useful stacks; the build stays within the CI budget.
  cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "${launcher[@]}" \
    -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g" -DCMAKE_CXX_FLAGS="$flags" \
    -DCMAKE_EXE_LINKER_FLAGS="$flags" >/dev/null
fi
cmake --build "$dir" -j "${JOBS:-2}"
reports=$PWD/$dir/sanitizer-reports
rm -rf "$reports" && mkdir -p "$reports"
export ASAN_OPTIONS="log_path=$reports/asan:detect_leaks=1:abort_on_error=0:detect_stack_use_after_return=0"
export UBSAN_OPTIONS="log_path=$reports/ubsan:print_stacktrace=1:halt_on_error=1"
export TSAN_OPTIONS="log_path=$reports/tsan:halt_on_error=0:second_deadlock_stack=1:suppressions=$PWD/tests/tsan.supp"
export LSAN_OPTIONS="suppressions=$PWD/tests/lsan.supp:print_suppressions=0"
status=0
(cd "$dir" && ctest --output-on-failure -j 2 --timeout 600 "${tests[@]}" "$@") || status=1
if compgen -G "$reports/*" >/dev/null; then
  echo "sanitize: $mode reports in $reports:" >&2
  for f in "$reports"/*; do echo "== $f" >&2; head -60 "$f" >&2; done
  status=1
fi
[ $status -eq 0 ] && echo "sanitize: $mode clean"
exit $status
