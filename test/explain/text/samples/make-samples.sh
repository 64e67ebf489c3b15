#!/usr/bin/env bash
# Regenerates the pcaps and tcpdump text renderings in this folder.
# Needs root (network namespaces), tcpdump 4.99, editcap, node 20 and python3.
# Each capture runs in its own namespace, so shaping lo never touches the host.
set -euo pipefail
cd "$(dirname "$0")"

ns='' pid='' pids='' nsb=''
cleanup() {
  for p in $pid $pids; do kill "$p" 2>/dev/null || true; done
  for n in $ns $nsb; do ip netns del "$n" 2>/dev/null || true; done
  pid='' pids='' ns='' nsb=''
}
trap cleanup EXIT

capture() { # capture NAME IFACE SETUP-COMMANDS... -- TRAFFIC-COMMAND...
  local name=$1 iface=$2 snaplen=262144; shift 2
  case $name in bulk-sack | zero-window) snaplen=128 ;; esac
  ns="gwtext-$name-$$"
  ip netns add "$ns"
  ip netns exec "$ns" ip link set lo up
  while [ "$1" != "--" ]; do ip netns exec "$ns" sh -c "$1"; shift; done
  shift
  ip netns exec "$ns" tcpdump -i "$iface" -s "$snaplen" --immediate-mode -U -Z root -w "$name.pcap" 2>"/tmp/$ns.log" &
  pid=$!
  for _ in $(seq 50); do grep -qs listening "/tmp/$ns.log" && break; sleep 0.1; done
  ip netns exec "$ns" "$@"
  sleep 0.5
  kill "$pid"
  wait "$pid" || true
  pid=''
  rm -f "/tmp/$ns.log"
  cleanup
}

capture basic lo -- node traffic.mjs basic
capture ipv6-any any -- node traffic.mjs ipv6
capture bulk-sack lo 'ip link set lo mtu 1500' 'sysctl -qw net.ipv4.tcp_ecn=1' \
  'tc qdisc add dev lo root tbf rate 20mbit burst 6kb latency 2ms' -- node traffic.mjs bulk
capture chatty lo -- node traffic.mjs chatty
capture zero-window lo 'ip link set lo mtu 1500' 'sysctl -qw net.ipv4.tcp_rmem="4096 8192 16384"' \
  -- node traffic.mjs zeroWindow
capture urgent lo -- python3 urgent.py
capture http-alt lo -- node traffic.mjs httpAlt

# Two namespaces joined by a veth pair, captured on the client side three
# ways at once: -i any (Linux cooked v2: interface and In/Out), -i any with
# Linux cooked v1, and the Ethernet interface itself (real MAC addresses).
veth() {
  ns="gwtext-va-$$" nsb="gwtext-vb-$$"
  ip netns add "$ns"
  ip netns add "$nsb"
  ip link add gwtxt0 netns "$ns" type veth peer name gwtxt1 netns "$nsb"
  ip -n "$ns" addr add 10.231.0.1/24 dev gwtxt0
  ip -n "$nsb" addr add 10.231.0.2/24 dev gwtxt1
  ip -n "$ns" addr add fd00:231::1/64 dev gwtxt0 nodad
  ip -n "$nsb" addr add fd00:231::2/64 dev gwtxt1 nodad
  for n in "$ns" "$nsb"; do ip -n "$n" link set lo up; done
  ip -n "$ns" link set gwtxt0 up
  ip -n "$nsb" link set gwtxt1 up
  local log="/tmp/$ns.log"
  ip netns exec "$ns" tcpdump -i any --immediate-mode -U -Z root -w veth-any.pcap 2>"$log.1" &
  pids="$!"
  ip netns exec "$ns" tcpdump -i any -y LINUX_SLL --immediate-mode -U -Z root -w veth-sll1.pcap 2>"$log.2" &
  pids="$pids $!"
  ip netns exec "$ns" tcpdump -i gwtxt0 --immediate-mode -U -Z root -w veth-eth.pcap 2>"$log.3" &
  pids="$pids $!"
  for _ in $(seq 50); do
    [ "$(cat "$log".? | grep -c listening)" = 3 ] && break
    sleep 0.1
  done
  ip netns exec "$nsb" node traffic.mjs echoServe :: &
  local server=$!
  sleep 0.5
  ip netns exec "$ns" node traffic.mjs echoTalk 10.231.0.2 fd00:231::2
  wait "$server"
  sleep 0.5
  for p in $pids; do kill "$p"; wait "$p" || true; done
  pids=''
  rm -f "$log".?
  cleanup
}
veth

# Captures that start mid-stream: drop the handshake and first exchange of
# `chatty` so the first packet of the connection is a pure ACK or carries data.
editcap -r chatty.pcap midstream-ack.pcap 5-1000000
editcap -r chatty.pcap midstream-data.pcap 6-1000000
# ... and one that starts at the first ACK carrying a SACK block.
first_sack=$(tcpdump -nr bulk-sack.pcap 2>/dev/null | awk '/sack 1 [{]/ && !n { n = NR } END { print n }')
editcap -r bulk-sack.pcap midstream-sack.pcap "$first_sack-1000000"

render() { # render PCAP SUFFIX TCPDUMP-FLAGS...
  local pcap=$1 suffix=$2; shift 2
  TZ=UTC tcpdump -r "$pcap" "$@" >"${pcap%.pcap}.$suffix.txt" 2>/dev/null
}

for pcap in *.pcap; do
  render "$pcap" n -n
  render "$pcap" S -n -S
  case $pcap in bulk-sack.pcap | midstream-sack.pcap) ;; *) render "$pcap" vv -n -vv ;; esac
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
render veth-any.pcap e -e -n
render veth-any.pcap v -v -n
render veth-sll1.pcap e -e -n
render veth-eth.pcap e -e -n
render veth-eth.pcap e-names -e
render veth-eth.pcap e-v -e -v -n
render urgent.pcap v -v -n
render urgent.pcap X -X -n
render urgent.pcap numbered -# -n
render urgent.pcap numbered-t -# -t -n
render urgent.pcap q -q -n
render http-alt.pcap X -X -n
render http-alt.pcap A -A -n
render http-alt.pcap t -t -n
