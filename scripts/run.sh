#!/usr/bin/env bash
# The main job: installs what is missing, builds, and runs `agora demo`: the six cities of
# the 2007 Copenhagen workshop as six nodes on this machine (data in ./agora-demo), until
# Ctrl-C. Arguments go to `agora demo` (e.g. --any-ports, --fresh).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh
exec ./build/agora demo "$@"
