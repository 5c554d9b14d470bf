#!/usr/bin/env bash
# The test command (docs/testing.md): installs what is missing, builds, runs every test
# through ctest, then the unit and integration tests under ASan+UBSan, a short libFuzzer
# run of each fuzz target (AGORA_FUZZ_SECONDS, default 20) and the sync tests under TSan.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh
(cd build && ctest --output-on-failure -j 2 --timeout 300 "$@")
bash scripts/sanitize.sh asan
bash scripts/fuzz.sh "${AGORA_FUZZ_SECONDS:-20}"
bash scripts/sanitize.sh tsan
