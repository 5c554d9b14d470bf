#!/usr/bin/env bash
# The test command: installs what is missing, builds, runs every test through ctest, then a
# short libFuzzer run of each fuzz target (docs/testing.md; AGORA_FUZZ_SECONDS, default 20).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh
(cd build && ctest --output-on-failure -j 2 --timeout 300 "$@")
bash scripts/fuzz.sh "${AGORA_FUZZ_SECONDS:-20}"
