#!/usr/bin/env bash
# Installs the system programs the tests use, skipping what is present: redis-server and redis-cli,
# kubectl, prometheus and promtool, Debian's chromium (the browser tests; never a downloaded browser),
# and Debian's python3-socketio, -requests and -websocket (docs/clients.md's example). Debian/Ubuntu (apt).
# `npm test` runs it first; so does .ci/run, through `npm test`. HERALD_SKIP_SETUP=1 skips it.
set -euo pipefail
[ "${HERALD_SKIP_SETUP:-}" = 1 ] && exit 0

packages=()
command -v redis-server >/dev/null || packages+=(redis-server)
command -v redis-cli >/dev/null || packages+=(redis-tools)
command -v kubectl >/dev/null || packages+=(kubernetes-client)
command -v prometheus >/dev/null && command -v promtool >/dev/null || packages+=(prometheus)
[ -x /usr/bin/chromium ] || packages+=(chromium)
[ -x /usr/bin/python3 ] && /usr/bin/python3 -c 'import socketio, requests, websocket' 2>/dev/null \
  || packages+=(python3 python3-socketio python3-requests python3-websocket)
[ ${#packages[@]} -eq 0 ] && exit 0

echo "setup: installing ${packages[*]} (about 3 minutes the first time)"
if ! command -v apt-get >/dev/null; then
  echo "setup: no apt-get here; install these yourself: ${packages[*]}" >&2
  exit 1
fi
sudo=()
if [ "$(id -u)" != 0 ]; then
  if command -v sudo >/dev/null; then sudo=(sudo); else
    echo "setup: run as root, or install: apt-get install ${packages[*]}" >&2
    exit 1
  fi
fi
# Install without starting the packages' services: the tests start their own servers.
policy=/usr/sbin/policy-rc.d
added_policy=""
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' | "${sudo[@]}" tee "$policy" >/dev/null && "${sudo[@]}" chmod +x "$policy" && added_policy=1
fi
trap '[ -n "$added_policy" ] && "${sudo[@]}" rm -f "$policy"' EXIT
"${sudo[@]}" apt-get -o DPkg::Lock::Timeout=600 update -qq
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get -o DPkg::Lock::Timeout=600 install -y -qq "${packages[@]}"
