#!/usr/bin/env bash
# Runs a command in a network namespace of its own (unshare -n) where only loopback exists and is up: the test
# suite's traffic cannot leave the machine, and the shaped-link tests may change `lo` (tc, iptables) without
# touching the machine's own network. Needs root, or sudo.
set -euo pipefail
if [ "${TSFU_NETNS:-}" != "1" ]; then
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo --preserve-env)
  # PATH passed on explicitly: sudo resets it (secure_path), and npm scripts put node_modules/.bin on it.
  exec "${sudo_cmd[@]}" unshare --net -- env TSFU_NETNS=1 PATH="$PATH" bash "$0" "$@"
fi
ip link set lo up
exec "$@"
