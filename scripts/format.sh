#!/usr/bin/env bash
# Formats the project's C++ sources with .clang-format (clang-format 14, Debian's).
# --check: changes nothing, lists the files that are not formatted and fails if any.
set -euo pipefail
cd "$(dirname "$0")/.."
mapfile -t files < <(git ls-files '*.cpp' '*.hpp' '*.cpp.in' | grep -v '^tests/layers/')
if [ "${1:-}" = "--check" ]; then
  bad=0
  for f in "${files[@]}"; do
    if ! clang-format --style=file "$f" | cmp -s - "$f"; then echo "not formatted: $f"; bad=1; fi
  done
  [ "$bad" = 0 ] && echo "format: ${#files[@]} files formatted"
  exit "$bad"
fi
clang-format --style=file -i "${files[@]}"
