#!/usr/bin/env bash
# Regenerates the pcaps and tcpdump text renderings in this folder.
# Needs root (network namespaces), tcpdump 4.99, editcap, node 20 and python3.
# Each capture runs in its own namespace, so shaping lo never touches the host.
set -euo pipefail
cd "$(dirname "$0")"

capture() { # capture NAME IFACE SETUP-COMMANDS... -- TRAFFIC-COMMAND...
  local name=$1 iface=$2; shift 2
  local ns="gwtext-$name-$$"
  ip netns add "$ns"
  trap 'ip netns del "$ns" 2>/dev/null || true' RETURN
  ip netns exec "$ns" ip link set lo up
  while [ "$1" != "--" ]; do ip netns exec "$ns" sh -c "$1"; shift; done
  shift
  ip netns exec "$ns" tcpdump -i "$iface" --immediate-mode -U -Z root -w "$name.pcap" 2>"/tmp/$ns.log" &
  local pid=$!
  for _ in $(seq 50); do grep -q listening "/tmp/$ns.log" && break; sleep 0.1; done
  ip netns exec "$ns" "$@"
  sleep 0.5
  kill "$pid"
  wait "$pid" || true
  rm -f "/tmp/$ns.log"
}

capture basic lo -- node traffic.mjs basic
capture ipv6-any any -- node traffic.mjs ipv6
capture bulk-sack lo 'ip link set lo mtu 1500' 'sysctl -qw net.ipv4.tcp_ecn=1' \
  'tc qdisc add dev lo root tbf rate 20mbit burst 6kb latency 2ms' -- node traffic.mjs bulk
capture chatty lo -- node traffic.mjs chatty
capture zero-window lo 'sysctl -qw net.ipv4.tcp_rmem="4096 8192 16384"' -- node traffic.mjs zeroWindow
capture urgent lo -- python3 urgent.py

# Captures that start mid-stream: drop the handshake and first exchange of
# `chatty` so the first packet of the connection is a pure ACK or carries data.
editcap -r chatty.pcap midstream-ack.pcap 5-1000000
editcap -r chatty.pcap midstream-data.pcap 6-1000000

render() { # render PCAP SUFFIX TCPDUMP-FLAGS...
  local pcap=$1 suffix=$2; shift 2
  TZ=UTC tcpdump -r "$pcap" "$@" >"${pcap%.pcap}.$suffix.txt" 2>/dev/null
}

for pcap in *.pcap; do
  render "$pcap" n -n
  render "$pcap" S -n -S
  render "$pcap" vv -n -vv
done
render basic.pcap names
render basic.pcap nn -nn
render basic.pcap t -t -n
render basic.pcap tt -tt -n
render basic.pcap ttt -ttt -n
render basic.pcap tttt -tttt -n
render basic.pcap ttttt -ttttt -n
render basic.pcap v -v -n
render basic.pcap e -e -n
render basic.pcap x -x -n
render basic.pcap A -A -n
render basic.pcap nano-tt --nano -tt -n
render basic.pcap e-v-S -e -v -S -n
render ipv6-any.pcap names
render ipv6-any.pcap v -v -n
render ipv6-any.pcap e -e -n
render ipv6-any.pcap X -X -n
render bulk-sack.pcap e-v -e -v -n
render urgent.pcap v -v -n
