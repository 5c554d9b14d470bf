#!/usr/bin/env bash
# Installs the Debian packages Agora builds with, only those that are missing.
set -euo pipefail
packages=(build-essential cmake ninja-build pkg-config ccache
  libboost1.81-dev nlohmann-json3-dev liblmdb-dev lmdb-utils catch2 libssl-dev
  libcli11-dev libspdlog-dev libtomlplusplus-dev libzstd-dev libxapian-dev zlib1g-dev libicu-dev libvalijson-dev
  openssl chromium clang clang-format faketime wrk dpkg-dev systemd)  # openssl: test certificates, verify rate; chromium: the browsing-page test;
# clang: fuzzing; clang-format: the format check; faketime: the clock-skew system test; wrk: HTTP load in the system tests;
# dpkg-dev (dpkg-shlibdeps), systemd (systemd-analyze): the package check
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}" >&2
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
