#!/usr/bin/env bash
# The main job: installs what is missing, builds, and shows the node in the default
# data dir (./agora-data, or $AGORA_DATA), creating a demo city node there on first run.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh
data=${AGORA_DATA:-./agora-data}
if [ ! -e "$data/node.key" ]; then
  ./build/agora init --data "$data" --city "The Hague" --country NL --region Europe
  ./build/agora publish --data "$data" docs/examples/citizenship-fund.json
fi
./build/agora status --data "$data"
