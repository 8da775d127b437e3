#!/usr/bin/env bash
# kernel-capture.sh OUT.pcap [FRAMES=2000000]: capture one real, long MPTCP v1 transfer with two
# subflows, small snaplen, for the whole-trace benchmark (`npm run bench -- --kernel`).
#
# Needs root and a kernel with MPTCP. Builds two fresh network namespaces (mpsb-<pid>-{c,s}) joined
# by two veth pairs, everything inside them:
#   client c0 10.0.1.1/24 -- s0 10.0.1.2/24 server
#   client c1 10.0.2.1/24 -- s1 10.0.2.2/24 server   (client endpoint 10.0.2.1 'subflow' -> MP_JOIN)
# turns segmentation offloads off (so frames are MSS-sized, as on a real link), shapes each client
# link to RATE (tbf, default 400mbit) so tcpdump keeps up, captures on the server with
# `tcpdump -i any -y LINUX_SLL2 -s 128` and uploads FRAMES × 1000 bytes (about what one frame carries
# on average here: 1424-byte data segments plus the ACKs; the frame count is approximate, 0.7–1.1 kB
# per frame depending on ACK coalescing) with fixtures/generator/mptcp_xfer.py.
# Everything created is removed on exit, error and Ctrl-C; only processes this script started are
# ended, by PID. Prints tcpdump's counters (check "dropped by kernel").
# Environment: RATE (tbf rate per client link), SNAPLEN (default 128).
set -euo pipefail
[ $# -ge 1 ] || { echo "usage: $0 OUT.pcap [FRAMES]" >&2; exit 2; }
OUT=$(realpath -m "$1")
FRAMES=${2:-2000000}
RATE=${RATE:-400mbit}
SNAPLEN=${SNAPLEN:-128}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
GEN="$HERE/../fixtures/generator"
NS_C="mpsb-$$-c"
NS_S="mpsb-$$-s"
PIDS=()
WORK=$(mktemp -d /tmp/mpsb.XXXXXX)
log() { printf '[kernel-capture %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

[ "$(id -u)" = 0 ] || { log "needs root"; exit 2; }
[ "$(sysctl -n net.mptcp.enabled 2>/dev/null || echo 0)" = 1 ] || { log "kernel without MPTCP (net.mptcp.enabled)"; exit 2; }

kill_pid() {
  local p=$1 i
  kill -0 "$p" 2>/dev/null || return 0
  kill -INT "$p" 2>/dev/null || true
  for i in $(seq 30); do kill -0 "$p" 2>/dev/null || return 0; sleep 0.1; done
  kill -KILL "$p" 2>/dev/null || true
}
cleanup() {
  local rc=$? p ns
  trap - EXIT INT TERM HUP
  for p in "${PIDS[@]}"; do kill_pid "$p"; done
  for ns in "$NS_C" "$NS_S"; do
    [ -e "/run/netns/$ns" ] || continue
    for p in $(ip netns pids "$ns" 2>/dev/null); do kill_pid "$p"; done
    ip netns del "$ns" 2>/dev/null || log "warning: could not delete $ns"
  done
  rm -rf "$WORK"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

for ns in "$NS_C" "$NS_S"; do
  ip netns add "$ns"
  ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1 2>/dev/null || true
  ip netns exec "$ns" sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0
  ip -n "$ns" link set lo up
done
ip -n "$NS_C" link add c0 type veth peer name s0 netns "$NS_S"
ip -n "$NS_C" link add c1 type veth peer name s1 netns "$NS_S"
ip -n "$NS_C" addr add 10.0.1.1/24 dev c0
ip -n "$NS_C" addr add 10.0.2.1/24 dev c1
ip -n "$NS_S" addr add 10.0.1.2/24 dev s0
ip -n "$NS_S" addr add 10.0.2.2/24 dev s1
ip netns exec "$NS_C" sysctl -qw net.ipv4.conf.c0.rp_filter=0 net.ipv4.conf.c1.rp_filter=0
ip netns exec "$NS_S" sysctl -qw net.ipv4.conf.s0.rp_filter=0 net.ipv4.conf.s1.rp_filter=0
ip netns exec "$NS_C" python3 "$GEN/netdev_offload.py" off c0 c1 > /dev/null
ip netns exec "$NS_S" python3 "$GEN/netdev_offload.py" off s0 s1 > /dev/null
for d in c0 c1; do ip -n "$NS_C" link set "$d" up; done
for d in s0 s1; do ip -n "$NS_S" link set "$d" up; done
# path 2: traffic from 10.0.2.1 leaves through c1 (the server answers on s1 by its connected route)
ip -n "$NS_C" route add default via 10.0.2.2 dev c1 table 2
ip -n "$NS_C" rule add from 10.0.2.1 table 2
ip -n "$NS_C" mptcp limits set subflow 2 add_addr_accepted 2
ip -n "$NS_S" mptcp limits set subflow 2 add_addr_accepted 2
ip -n "$NS_C" mptcp endpoint add 10.0.2.1 dev c1 id 2 subflow
for d in c0 c1; do tc -n "$NS_C" qdisc add dev "$d" root tbf rate "$RATE" burst 256kb latency 50ms; done

BYTES=$((FRAMES * 1000))
ip netns exec "$NS_S" tcpdump -i any -y LINUX_SLL2 -s "$SNAPLEN" -B 262144 -n -Z root -w "$OUT" 'tcp port 5201' 2> "$WORK/tcpdump.err" &
PIDS+=($!)
for i in $(seq 100); do grep -q "listening on" "$WORK/tcpdump.err" 2>/dev/null && break; sleep 0.05; done
ip netns exec "$NS_S" python3 "$GEN/mptcp_xfer.py" server --bind 0.0.0.0 --port 5201 --ready-file "$WORK/ready" --timeout 600 > "$WORK/server.json" 2> "$WORK/server.err" &
PIDS+=($!)
for i in $(seq 100); do [ -s "$WORK/ready" ] && break; sleep 0.05; done
log "uploading $BYTES bytes over 2 subflows (tbf $RATE per path, snaplen $SNAPLEN) -> $OUT"
ip netns exec "$NS_C" python3 "$GEN/mptcp_xfer.py" client --connect 10.0.1.2 --port 5201 --bind 10.0.1.1 --bytes "$BYTES" --timeout 600 > "$WORK/client.json"
# let tcpdump drain its ring buffer: wait until the file stops growing (at most 60 s), then SIGINT
prev=-1
for i in $(seq 120); do
  cur=$(stat -c %s "$OUT" 2>/dev/null || echo 0)
  [ "$cur" = "$prev" ] && break
  prev=$cur
  sleep 0.5
done
kill_pid "${PIDS[0]}"
wait "${PIDS[0]}" 2>/dev/null || true
grep -E "captured|received|dropped" "$WORK/tcpdump.err" >&2 || true
log "client: $(head -c 300 "$WORK/client.json")"
