#!/usr/bin/env bash
# Builds the Debian package agora_VERSION_amd64.deb in build/ (CPack: the binary, the
# systemd unit, /etc/agora/agora.toml, the docs). With --check (as root, as CI runs it):
# installs it with dpkg -i, verifies the unit with systemd-analyze, runs the installed
# binary as the agora user with the installed config (init, serve, /health, SIGTERM), then
# removes and purges the package, checking that the city's data in /var/lib/agora stays.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh >/dev/null
(cd build && cmake . >/dev/null && cpack -G DEB >/dev/null)
deb=$(ls -t build/agora_*_amd64.deb | head -1)
echo "package: $deb"
[ "${1:-}" = "--check" ] || exit 0
if [ "$(id -u)" -ne 0 ]; then echo "package: --check needs root (dpkg -i); skipped" >&2; exit 0; fi
if dpkg-query -W -f='${Status}' agora 2>/dev/null | grep -q 'install ok installed'; then
  echo "package: agora is already installed on this machine; --check installs and removes it: skipped" >&2
  exit 0
fi
if [ -e /var/lib/agora ] || [ -e /etc/agora ]; then
  echo "package: /var/lib/agora or /etc/agora exists on this machine (a node's data?); --check would remove it: skipped" >&2
  exit 0
fi
work=$(mktemp -d)
cleanup() {
  [ -n "${pid:-}" ] && kill "$pid" 2>/dev/null || true
  dpkg --purge agora >/dev/null 2>&1 || true
  rm -rf /var/lib/agora "$work"
}
trap cleanup EXIT
dpkg -i "$deb" >/dev/null
systemd-analyze verify /usr/lib/systemd/system/agora.service
getent passwd agora >/dev/null
[ "$(stat -c %a /var/lib/agora)" = 700 ]
/usr/bin/agora config check /etc/agora/agora.toml >/dev/null
# The installed binary with the installed config, as the service runs it (ports left to
# the system here: the config's are the production ones).
runuser -u agora -- env AGORA_CONFIG=/etc/agora/agora.toml /usr/bin/agora init --city Packaged --country SE >/dev/null 2>&1
setpriv --reuid agora --regid agora --init-groups /usr/bin/agora serve --config /etc/agora/agora.toml --listen 127.0.0.1:0 --http 127.0.0.1:0 \
  > "$work/out" 2> "$work/err" &
pid=$!
for _ in $(seq 1 100); do grep -q '^http ' "$work/out" 2>/dev/null && break; sleep 0.1; done
url=$(awk '/^http /{print $2}' "$work/out")
curl -sf "${url}health" > /dev/null || { echo "package: the installed node does not answer"; cat "$work/err"; exit 1; }
kill -TERM "$pid"
wait "$pid" || { echo "package: the installed node did not stop cleanly on SIGTERM"; exit 1; }
pid=
[ "$(stat -c %a /var/lib/agora/node.key)" = 600 ]
dpkg -r agora >/dev/null
[ ! -e /usr/bin/agora ] || { echo "package: /usr/bin/agora left after dpkg -r"; exit 1; }
[ -e /var/lib/agora/node.key ] || { echo "package: dpkg -r removed the city's data"; exit 1; }
[ -e /etc/agora/agora.toml ] || { echo "package: dpkg -r removed the config (a conffile stays until purge)"; exit 1; }
dpkg --purge agora >/dev/null
[ ! -e /etc/agora/agora.toml ] || { echo "package: the config is left after purge"; exit 1; }
echo "package: installed, verified, served, stopped, removed and purged"
