#!/usr/bin/env bash
# Configures (once) and builds Agora into build/ with Ninja; the executable is build/agora.
set -euo pipefail
cd "$(dirname "$0")/.."
build_type=${BUILD_TYPE:-RelWithDebInfo}
if [ ! -f build/build.ninja ]; then
  launcher=()
  command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  # Unity batches: a from-scratch build on two cores takes about half as long. UNITY=OFF
  # gives one object per source, for quicker rebuilds while editing.
  cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE="$build_type" -DCMAKE_UNITY_BUILD="${UNITY:-ON}" \
    -DAGORA_WERROR="${AGORA_WERROR:-OFF}" "${launcher[@]}"
fi
# AGORA_WERROR given (scripts/test.sh sets it): applied to an existing build/ too.
[ -n "${AGORA_WERROR:-}" ] && cmake -S . -B build -DAGORA_WERROR="$AGORA_WERROR" >/dev/null
cmake --build build -j "${JOBS:-2}"
