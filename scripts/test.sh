#!/usr/bin/env bash
# The test command (docs/testing.md): installs what is missing, checks the formatting,
# builds with warnings as errors, runs every test
# through ctest, builds and checks the Debian package (install, unit, serve, removal), then the unit and integration tests under ASan+UBSan, a short libFuzzer
# run of each fuzz target (AGORA_FUZZ_SECONDS, default 20) and the sync tests under TSan.
# Extra arguments go to the first ctest run.
set -euo pipefail
cd "$(dirname "$0")/.."
stage() {  # runs a stage and says how long it took; the first failing stage ends the run
  local name=$1 start=$SECONDS
  shift
  "$@"
  echo "test.sh: $name passed in $((SECONDS - start)) s"
}
run_ctest() { (cd build && ctest --output-on-failure -j 2 --timeout 300 "$@"); }
# The project's own code builds with warnings as errors here (CONTRIBUTING.md).
export AGORA_WERROR=${AGORA_WERROR:-ON}
stage setup bash scripts/setup.sh
stage format bash scripts/format.sh --check
stage build bash scripts/build.sh
stage ctest run_ctest "$@"
stage package bash scripts/package.sh --check
stage asan bash scripts/sanitize.sh asan
stage fuzz bash scripts/fuzz.sh "${AGORA_FUZZ_SECONDS:-20}"
stage tsan bash scripts/sanitize.sh tsan
echo "test.sh: every stage passed in $SECONDS s"
