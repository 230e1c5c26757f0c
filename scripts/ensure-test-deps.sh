#!/usr/bin/env bash
# Installs the system packages the tests drive (Debian): Chromium for browser tests, coturn's client tools
# for TURN interop, redis-server for cluster tests, iptables and iproute2 (tc) for the shaped-link tests, util-linux
# (unshare) for the network namespace every test runs in, prometheus for promtool (the alert rules are checked by
# test/unit/deploy). Does nothing when they are already there.
set -euo pipefail
need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v turnutils_uclient >/dev/null 2>&1 || need+=(coturn)
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
command -v iptables >/dev/null 2>&1 || need+=(iptables)
command -v tc >/dev/null 2>&1 || need+=(iproute2)
command -v unshare >/dev/null 2>&1 || need+=(util-linux)
command -v promtool >/dev/null 2>&1 || need+=(prometheus)
[ ${#need[@]} -eq 0 ] && exit 0
echo "installing test dependencies: ${need[*]}"
sudo_cmd=()
[ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update
"${sudo_cmd[@]}" apt-get install -y --no-install-recommends "${need[@]}"
