#!/usr/bin/env bash
# Bridge networking: what --network bridge costs at start-up, and what a
# container behind the bridge and NAT gets on the wire, each figure against
# a peer measured in the same run. See docs/benchmarks.md, docs/networking.md.
#
#   tools/bench/bridge.sh BUILD_DIR      (normally via: make bench)
#
# Everything happens in two network namespaces this script makes, never on
# the machine's own network: "host" (nucleus, crun and runc run there, under
# nsenter; the bridges, NAT and forwarding are its) and "outside" (an iperf3
# server), joined by a veth pair.
#
# 1. start-up: `nucleus run -- /bin/true` with --network none, with
#    --network bridge, and with --network bridge -p 8080:80, interleaved
#    rounds (the bridge exists already: it is made once, by the warm-up).
#    Target: bridge <= none + 3 ms (medians).
#    Peers in the same rounds: `crun run` (and `runc run`, left out with a
#    warning if it fails) of the busybox bundle startup.sh uses (/bin/true,
#    Docker's seccomp profile, no capabilities, its own network namespace),
#    once as is (crun_none, runc_none) and once wired to a bridge of their
#    own (crun_bridge, runc_bridge) the way a CNI bridge plugin would, by an
#    OCI createRuntime hook: a veth pair, one end eth0 in the container's
#    namespace, the other on the bridge, addresses (IPv4, and IPv6 when the
#    namespace has it, as nucleus's bridge does), default routes, lo up —
#    done with `ip` from iproute2, as a crun user without CNI would. No NAT
#    for that bridge (nucleus adds none either for a container without -p on
#    an existing bridge). Printed: nucleus_bridge/crun_bridge and the deltas
#    bridge - none of each runtime.
# 2. throughput: iperf3 -c to the outside server from a bridge container
#    (veth, bridge, forwarding, masquerade) and from the "host" namespace
#    itself (the same veth to the outside, no bridge, no NAT), alternating,
#    both ends on one CPU. Target: container/host >= 0.95 (medians).
#
# Writes BUILD_DIR/bench/bridge.json; the last line printed is
#   bench-bridge: none=…ms bridge=…ms publish=…ms delta_ms=… crun_none=…ms crun_bridge=…ms
#     crun_delta_ms=… bridge/crun_bridge=… runc_none=…ms runc_bridge=…ms runc_delta_ms=…
#     bridge/runc_bridge=… container_gbps=… host_gbps=… container/host=…   (one line; runc n/a
#     when it was left out)
set -euo pipefail

BUILD=$(cd "${1:?usage: bridge.sh BUILD_DIR}" && pwd)
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
# shellcheck source=lib/common.bash
source "$HERE/lib/common.bash"

[ "$(id -u)" = 0 ] || bench_die "bridge: run as root (network namespaces, bridges, nftables)"
NUCLEUS=$BUILD/nucleus
[ -x "$NUCLEUS" ] || bench_die "bridge: $NUCLEUS not built (make)"
OUT=$BUILD/bench
mkdir -p "$OUT"
bench_require hyperfine jq python3 iperf3 ip nsenter ss timeout crun unshare
# The OCI bundle of the crun/runc peers: as in startup.sh.
PROFILE=${BENCH_SECCOMP_PROFILE:-$REPO/config/seccomp/docker-default.json}
[ -r "$PROFILE" ] || PROFILE=$REPO/tests/fuzz/seeds/seccomp/docker-default.json
[ -r "$PROFILE" ] || bench_die "bridge: seccomp profile not found: $PROFILE (set BENCH_SECCOMP_PROFILE)"
BUSYBOX=${BENCH_BUSYBOX:-/bin/busybox}
[ -x "$BUSYBOX" ] || bench_die "bridge: $BUSYBOX missing (package busybox-static)"

ROUNDS=${BENCH_BRIDGE_ROUNDS:-5}
SECONDS_PER_RUN=${BENCH_BRIDGE_SECONDS:-5}
# Both iperf3 ends on one CPU (as in egress.sh): the softirq work of the
# path follows them, and a run does not flip between one and two CPUs.
CPU=${BENCH_BRIDGE_CPU:-$(( $(nproc) - 1 ))}
AFFINITY=()
if [ "$CPU" != none ]; then
  if ! [ "$CPU" -ge 0 ] 2>/dev/null || [ "$CPU" -ge "$(nproc)" ]; then
    bench_die "bridge: BENCH_BRIDGE_CPU must be 0..$(( $(nproc) - 1 )) or none"
  fi
  AFFINITY=(-A "$CPU")
fi

WORK=$(mktemp -d "$OUT/bridge.XXXXXX")
case "$WORK" in *[[:space:]]*) bench_die "bridge: the build path must not contain spaces: $WORK" ;; esac
NSH=nucleus-bench-bridge-$$-host
NSO=nucleus-bench-bridge-$$-out
BR=nbb$$                         # this run's bridge and subnet, in its own namespace
SUB=10.197.0.0/24
H4=10.198.0.1 R4=10.198.0.2
# The crun/runc peers' bridge: its own name, subnets and veth names ("ncv"
# and a counter: the hook's), never nucleus's.
BRC=nbc$$
GWC4=10.199.0.1 NETC4=10.199.0
GWC6=fd00:6e62:6300::1 NETC6=fd00:6e62:6300:
TAG=nucleus-bench-bridge-$$      # crun/runc cgroup parent and container-id stem
HOST_MNTNS=$(readlink /proc/self/ns/mnt)
NETNS_MADE=()
SERVER_PID=""
RUN_PID=""
NSINO=""

# crun 1.8 refuses this hybrid cgroup host unless it sees the v2 hierarchy
# without controllers: lib/v1-view, as in startup.sh (docs/benchmarks.md).
in_v1_view() {
  BENCH_PARENT_MNTNS=$HOST_MNTNS unshare -m --propagation private "$BENCH_LIB/v1-view" "$@"
}
CRUN_BIN=$(command -v crun)
RUNC_BIN=$(command -v runc || true)

cleanup() {
  set +e
  if [ -n "$RUN_PID" ]; then kill -TERM "$RUN_PID" 2>/dev/null; wait "$RUN_PID" 2>/dev/null; fi
  if [ -n "$SERVER_PID" ]; then kill -TERM "$SERVER_PID" 2>/dev/null; wait "$SERVER_PID" 2>/dev/null; fi
  local n id d
  # crun/runc containers of this run (none unless interrupted), then the
  # cgroups this run asked them to create: rmdir, deepest first.
  if [ -d "$WORK/crun-state" ]; then
    for id in $(in_v1_view "$CRUN_BIN" "--root=$WORK/crun-state" list -q 2>/dev/null); do
      in_v1_view "$CRUN_BIN" "--root=$WORK/crun-state" --cgroup-manager=cgroupfs delete -f "$id" >/dev/null 2>&1
    done
  fi
  if [ -d "$WORK/runc-state" ]; then
    for id in $("$RUNC_BIN" "--root=$WORK/runc-state" list -q 2>/dev/null); do
      "$RUNC_BIN" "--root=$WORK/runc-state" delete -f "$id" >/dev/null 2>&1
    done
  fi
  for d in /sys/fs/cgroup/"$TAG" /sys/fs/cgroup/*/"$TAG"; do
    [ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null
  done
  for n in ${NETNS_MADE[@]+"${NETNS_MADE[@]}"}; do ip netns del "$n" 2>/dev/null; done
  # the leases directory of the namespace that is gone (empty unless interrupted)
  [ -n "$NSINO" ] && rm -rf "/run/nucleus/.net/ns-$NSINO"
  if [ "${BENCH_KEEP:-0}" = 1 ]; then
    rm -rf "$WORK/crun-state" "$WORK/runc-state"
    echo "bridge: kept the bundles, the hook and the raw hyperfine and iperf3 outputs in $WORK" >&2
  else
    rm -rf "$WORK"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

bench_start "== bridge: start-up cost of --network bridge, and container vs host throughput"

for n in "$NSH" "$NSO"; do
  ip netns add "$n"
  NETNS_MADE+=("$n")
  ip -n "$n" link set lo up
done
ip link add veth-bh$$ netns "$NSH" type veth peer name veth-bo$$ netns "$NSO"
ip -n "$NSH" addr add $H4/24 dev veth-bh$$
ip -n "$NSO" addr add $R4/24 dev veth-bo$$
ip -n "$NSH" link set veth-bh$$ up
ip -n "$NSO" link set veth-bo$$ up
NSINO=$(stat -L -c %i "/run/netns/$NSH")
IN_HOST="nsenter --net=/run/netns/$NSH"
NONE="$IN_HOST $NUCLEUS run --network none --"
BRIDGE="$IN_HOST $NUCLEUS run --network bridge --bridge $BR --subnet $SUB --"
PUBLISH="$IN_HOST $NUCLEUS run --network bridge --bridge $BR --subnet $SUB -p 8080:80 --"

FAILED=""
fail() { bench_warn "$*"; FAILED="$FAILED; $*"; }

# ---- sanity ------------------------------------------------------------------------
ip netns exec "$NSO" iperf3 -s ${AFFINITY[@]+"${AFFINITY[@]}"} --logfile "$WORK/server.log" &
SERVER_PID=$!
for _ in $(seq 50); do
  ip netns exec "$NSO" ss -Hltn 'sport = :5201' | grep -q . && break
  sleep 0.1
done
ip netns exec "$NSO" ss -Hltn 'sport = :5201' | grep -q . || bench_die "bridge: iperf3 server did not start"
PROBE='import socket, sys
s = socket.create_connection((sys.argv[1], 5201), timeout=3)
print("connected from", s.getsockname()[0])'
got=$($BRIDGE python3 -c "$PROBE" $R4 2>&1) || true
case "$got" in "connected from 10.197.0."*) ;; *) bench_die "bridge: a bridge container cannot reach the outside server: $got" ;; esac
bench_note "sanity: a bridge container reaches $R4:5201 ($got, masqueraded)"
$NONE /bin/true || bench_die "bridge: nucleus run --network none failed"
$PUBLISH /bin/true || bench_die "bridge: nucleus run -p 8080:80 failed"

# ---- the crun/runc peers: their bridge, the hook, the bundles ---------------------------
# Their own bridge in the "host" namespace, made once (as nucleus's is made
# by its first container), with a fixed MAC (as nucleus's: a bridge takes
# its ports' lowest MAC otherwise, and changes it as they come and go).
V6=0
[ "$(ip netns exec "$NSH" cat /proc/sys/net/ipv6/conf/all/disable_ipv6 2>/dev/null)" = 0 ] && V6=1
ip -n "$NSH" link add "$BRC" address 02:6e:62:63:00:01 type bridge
ip -n "$NSH" addr add $GWC4/24 dev "$BRC"
if [ "$V6" = 1 ]; then ip -n "$NSH" addr add $GWC6/64 dev "$BRC" nodad; fi
ip -n "$NSH" link set "$BRC" up

# The createRuntime hook: crun and runc run it in their own namespaces (the
# "host" netns, where they run under nsenter) once the container's
# namespaces exist, before its process starts, with the container's state
# (JSON, its pid among it) on stdin. A shell script calling iproute2: one
# `ip` in the runtime's namespace makes the veth pair (eth0 straight into
# the container's namespace, the other end on the bridge, up), one `ip
# -batch` under nsenter configures the inside. Its veths are not deleted:
# they go with the container's namespace. Addresses from a counter file,
# .2 to .251 in turn: the runs are sequential (hyperfine), so it needs no
# lock, and an address comes back 250 runs later, long after its veth is
# gone. The veth names (ncv<counter>) are never reused.
HOOK=$WORK/veth-hook
echo 0 > "$WORK/veth-hook.count"
{
  printf '#!/bin/sh\n'
  printf '# bridge.sh: a CNI-bridge-style veth for an OCI createRuntime hook, with iproute2.\n'
  printf 'IP=%s NSENTER=%s BR=%s COUNT=%s BATCH=%s\n' "$(command -v ip)" "$(command -v nsenter)" \
    "$BRC" "$WORK/veth-hook.count" "$WORK/veth-hook.batch"
  printf 'NET4=%s GW4=%s NET6=%s GW6=%s V6=%s\n' "$NETC4" "$GWC4" "$NETC6" "$GWC6" "$V6"
  cat <<'EOF'
set -eu
state=""
read -r state || :
pid=${state#*\"pid\":}
pid=${pid#"${pid%%[0-9]*}"}
pid=${pid%%[!0-9]*}
[ -n "$pid" ] || { echo "veth-hook: no pid in the container state on stdin" >&2; exit 1; }
n=0
read -r n < "$COUNT" || :
n=$((n + 1))
echo "$n" > "$COUNT"
h=$((2 + n % 250))
# "master": fails, with nothing made, where the bridge does not exist
"$IP" link add "ncv$n" master "$BR" up type veth peer name eth0 netns "$pid"
if [ "$V6" = 1 ]; then
  printf '%s\n' "link set lo up" "link set eth0 up" "addr add $NET4.$h/24 dev eth0" \
    "route add default via $GW4" "addr add $NET6:$h/64 dev eth0 nodad" \
    "route add default via $GW6" > "$BATCH"
else
  printf '%s\n' "link set lo up" "link set eth0 up" "addr add $NET4.$h/24 dev eth0" \
    "route add default via $GW4" > "$BATCH"
fi
exec "$NSENTER" --target "$pid" --net "$IP" -batch "$BATCH"
EOF
} > "$HOOK"
chmod 755 "$HOOK"

# The bundle startup.sh times as crun_seccomp: busybox-static over a
# read-only rootfs, /bin/true, Docker's default seccomp profile, no
# capabilities, namespaces pid, mount, network, uts, ipc, cgroup; the
# cgroupfs path under $TAG.
mkdir -p "$WORK/rootfs/bin"
cp "$BUSYBOX" "$WORK/rootfs/bin/busybox"
for applet in true sh grep ip nc; do ln -s busybox "$WORK/rootfs/bin/$applet"; done
python3 "$BENCH_LIB/docker-seccomp-to-oci.py" "$PROFILE" > "$WORK/seccomp.json"
(cd "$WORK" && "$CRUN_BIN" spec)
mv "$WORK/config.json" "$WORK/spec-default.json"
mkbundle() {   # mkbundle NAME WITH_HOOK(true|false) ARG...
  local name=$1 hook=$2; shift 2
  mkdir -p "$WORK/$name"
  local argv
  argv=$(printf '%s\n' "$@" | jq -Rn '[inputs]')
  jq --arg root "$WORK/rootfs" --arg cg "/$TAG/${name%%.*}" --argjson hook "$hook" --arg path "$HOOK" \
     --slurpfile profile "$WORK/seccomp.json" --argjson argv "$argv" '
    .root = {path: $root, readonly: true}
    | .process.args = $argv
    | .process.terminal = false
    | .process.capabilities = {bounding: [], effective: [], inheritable: [],
                               permitted: [], ambient: []}
    | .linux.namespaces = [{type: "pid"}, {type: "mount"}, {type: "network"},
                           {type: "uts"}, {type: "ipc"}, {type: "cgroup"}]
    | .linux.cgroupsPath = $cg
    | .linux.seccomp = $profile[0]
    | if $hook then .hooks = {createRuntime: [{path: $path, args: [$path]}]} else del(.hooks) end
  ' "$WORK/spec-default.json" > "$WORK/$name/config.json"
}
# Inside: only lo without the hook; with it eth0 addressed, default
# route(s), lo up, and the gateway answers (a TCP reset from a closed port).
# shellcheck disable=SC2016  # expanded inside the container
CHECK_NONE='test "$(ip -o link | grep -c .)" = 1 && ip link show lo >/dev/null'
CHECK_BRIDGE="ip -4 addr show dev eth0 | grep -q 'inet $NETC4\\.' && ip -4 route | grep -q '^default via $GWC4 '"
CHECK_BRIDGE="$CHECK_BRIDGE && ip link show lo | grep -q ',UP' && nc -w 2 $GWC4 9 </dev/null 2>&1 | grep -q refused"
if [ "$V6" = 1 ]; then CHECK_BRIDGE="$CHECK_BRIDGE && ip -6 route | grep -q '^default via $GWC6 '"; fi
for rt in crun runc; do
  mkbundle ${rt}_none false /bin/true
  mkbundle ${rt}_none.check false /bin/sh -c "$CHECK_NONE"
  mkbundle ${rt}_bridge true /bin/true
  mkbundle ${rt}_bridge.check true /bin/sh -c "$CHECK_BRIDGE"
done
CRUN="$IN_HOST $CRUN_BIN --root=$WORK/crun-state --cgroup-manager=cgroupfs"
RUNC="$IN_HOST $RUNC_BIN --root=$WORK/runc-state"
oci_sanity() {   # oci_sanity crun|runc COMMAND...: the none and bridge bundles run, and pass their checks
  local rt=$1 b rc; shift
  for b in none none.check bridge bridge.check; do
    rc=0
    "$@" run "--bundle=$WORK/${rt}_$b" "$TAG-$rt-s" </dev/null >"$WORK/sanity-$rt.log" 2>&1 || rc=$?
    if [ "$rc" != 0 ]; then
      printf '%s %s exited %s: %s' "$rt" "${rt}_$b" "$rc" "$(head -c 300 "$WORK/sanity-$rt.log" | tr '\n' ' ')"
      return 1
    fi
  done
}
PEERS_HOST=() PEERS_V1=()
CRUN_OK=0 RUNC_OK=0
# shellcheck disable=SC2086  # $CRUN and $RUNC are words, as hyperfine -N takes them
if why=$(oci_sanity crun in_v1_view $CRUN); then
  CRUN_OK=1
  PEERS_V1=(crun_none "$CRUN run --bundle=$WORK/crun_none $TAG-cn" crun_bridge "$CRUN run --bundle=$WORK/crun_bridge $TAG-cb")
  bench_note "sanity: crun runs the bundle in its own netns, and with the hook (eth0 on $BRC, $NETC4.x/24$( [ "$V6" = 1 ] && echo " and ${NETC6}:x/64"), default route, lo up, the gateway answers)"
else
  fail "crun left out: $why"
fi
if [ -z "$RUNC_BIN" ]; then
  bench_warn "runc left out (not installed)"
elif why=$(oci_sanity runc $RUNC); then
  RUNC_OK=1
  PEERS_HOST=(runc_none "$RUNC run --bundle=$WORK/runc_none $TAG-rn" runc_bridge "$RUNC run --bundle=$WORK/runc_bridge $TAG-rb")
  bench_note "sanity: runc runs the same bundles and hook"
else
  bench_warn "runc left out (failed its sanity run): $why"
fi

# ---- 1. start-up --------------------------------------------------------------------
bench_note ""
bench_note "-- start-up: nucleus run -- /bin/true, --network none / bridge / bridge -p 8080:80"
PEER_RT=""
if [ "$CRUN_OK" = 1 ]; then PEER_RT=crun; fi
if [ "$RUNC_OK" = 1 ]; then PEER_RT="${PEER_RT:+$PEER_RT and }runc"; fi
if [ -n "$PEER_RT" ]; then
  bench_note "   against $PEER_RT run of the busybox bundle (Docker seccomp profile): in its own netns (*_none), and wired to $BRC by the createRuntime hook (*_bridge)"
  bench_note "   the hook does what a crun user without CNI would: iproute2 from /bin/sh (ip link add ... netns PID, then nsenter + ip -batch inside): 4 programs started per container; nucleus does the same over netlink, in-process"
fi
PAIRS=(none "$NONE /bin/true" bridge "$BRIDGE /bin/true" bridge_publish "$PUBLISH /bin/true" ${PEERS_HOST[@]+"${PEERS_HOST[@]}"})
ORDER=$WORK/order.tsv; : > "$ORDER"
for (( i = 0; i < ${#PAIRS[@]}; i += 2 )); do printf '%s\t%s\n' "${PAIRS[i]}" "${PAIRS[i+1]}" >> "$ORDER"; done
for (( i = 0; i < ${#PEERS_V1[@]}; i += 2 )); do printf '%s\t%s\n' "${PEERS_V1[i]}" "${PEERS_V1[i+1]}" >> "$ORDER"; done
PER_ROUND=$(bench_runs_per_round)
bench_note "timing: $BENCH_ROUNDS rounds x $PER_ROUND runs per runner, warmup $BENCH_WARMUP (first round) / $(bench_warmup_for_round 2) (later rounds), hyperfine -N"
[ ${#PEERS_V1[@]} = 0 ] || bench_note "  each round: one hyperfine for the crun runners (in lib/v1-view's mount namespace), one for the others, in alternating order"
EXPORTS=()
for (( r = 1; r <= BENCH_ROUNDS; r++ )); do
  warm=$(bench_warmup_for_round "$r")
  mapfile -t round < <(bench_rotate "$r" "${PAIRS[@]}")
  mapfile -t v1_round < <(bench_rotate "$r" ${PEERS_V1[@]+"${PEERS_V1[@]}"})
  for group in $( [ $((r % 2)) = 1 ] && echo "host v1" || echo "v1 host" ); do
    if [ "$group" = host ]; then
      BENCH_PREFIX=()
      bench_hyperfine "$WORK/round$r-host.json" "$warm" "$PER_ROUND" "${round[@]}"
      EXPORTS+=("$WORK/round$r-host.json")
    elif [ ${#v1_round[@]} -gt 0 ]; then
      BENCH_PREFIX=(env "BENCH_PARENT_MNTNS=$HOST_MNTNS" unshare -m --propagation private "$BENCH_LIB/v1-view")
      bench_hyperfine "$WORK/round$r-v1.json" "$warm" "$PER_ROUND" "${v1_round[@]}"
      EXPORTS+=("$WORK/round$r-v1.json")
    fi
  done
  if [ $((r % 5)) = 0 ] || [ "$r" = "$BENCH_ROUNDS" ]; then
    bench_note "  round $r/$BENCH_ROUNDS done ($(( $(date +%s) - T0 ))s, load $(bench_loadavg))"
  fi
done
PEER_ARGS=(--peer none)
[ "$CRUN_OK" = 0 ] || PEER_ARGS+=(--peer crun_bridge --ratio none/crun_none)
[ "$RUNC_OK" = 0 ] || PEER_ARGS+=(--peer runc_bridge --ratio none/runc_none)
python3 "$BENCH_LIB/report.py" --label bridge-startup --order "$ORDER" \
  --primary bridge "${PEER_ARGS[@]}" --json "$WORK/startup.json" "${EXPORTS[@]}" |
  grep -v '^bench-' || bench_die "bridge: start-up report failed"

# ---- 2. throughput --------------------------------------------------------------------
bench_note ""
bench_note "-- throughput: iperf3 -t $SECONDS_PER_RUN to $R4, from a bridge container and from the host namespace, $ROUNDS rounds, CPU $CPU"
RESULTS=$WORK/iperf.tsv; : > "$RESULTS"
run_iperf() {   # run_iperf WHO OUT: one iperf3 client run, JSON to OUT
  local who=$1 out=$2 rc=0
  if [ "$who" = container ]; then
    timeout -k 5 $((SECONDS_PER_RUN + 60)) $BRIDGE iperf3 -c $R4 ${AFFINITY[@]+"${AFFINITY[@]}"} \
      -t "$SECONDS_PER_RUN" -J >"$out" 2>"$out.err" </dev/null &
  else
    timeout -k 5 $((SECONDS_PER_RUN + 60)) $IN_HOST iperf3 -c $R4 ${AFFINITY[@]+"${AFFINITY[@]}"} \
      -t "$SECONDS_PER_RUN" -J >"$out" 2>"$out.err" </dev/null &
  fi
  RUN_PID=$!
  wait "$RUN_PID" || rc=$?
  RUN_PID=""
  return "$rc"
}
for (( r = 1; r <= ROUNDS; r++ )); do
  for who in $( [ $((r % 2)) = 1 ] && echo "container host" || echo "host container" ); do
    j=$WORK/iperf-r$r-$who.json
    run_iperf "$who" "$j" || true
    line=$(jq -r --arg w "$who" --arg r "$r" '
      if .error then "error: iperf3: " + .error
      else [$w, $r, .end.sum_received.bits_per_second, (.end.sum_sent.retransmits // 0)]
           | map(tostring) | join("\t") end' "$j" 2>/dev/null) || line="error: no JSON from iperf3"
    if [ "${line#error:}" != "$line" ]; then
      bench_die "bridge: $who round $r: ${line#error: } ($(head -c 300 "$j.err" | tr '\n' ' '))"
    fi
    printf '%s\n' "$line" >> "$RESULTS"
  done
  bench_note "  round $r/$ROUNDS done ($(( $(date +%s) - T0 ))s, load $(bench_loadavg))"
done

# ---- teardown checks ------------------------------------------------------------------
kill -TERM "$SERVER_PID" 2>/dev/null; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=""
for _ in $(seq 50); do [ -z "$(ip -n "$NSH" -o link show master "$BR")" ] && break; sleep 0.1; done
[ -z "$(ip -n "$NSH" -o link show master "$BR")" ] || fail "veths left on the bridge"
left=$(ls "/run/nucleus/.net/ns-$NSINO/$BR" 2>/dev/null | grep -vx nat || true)
[ -z "$left" ] || fail "leases left: $left"
ip netns exec "$NSH" nft list table inet nucleus 2>/dev/null | grep -q 'comment "' && fail "published ports left in nftables"
[ "$(ip netns exec "$NSH" cat /proc/sys/net/ipv4/ip_forward)" = 0 ] || fail "IPv4 forwarding left on"
# the bridge stays until someone deletes it; then the next run drops its rules
ip -n "$NSH" link del "$BR"
$NONE /bin/true
[ -e "/run/nucleus/.net/ns-$NSINO/$BR" ] && fail "the deleted bridge's state was not collected"
# the hook's veths go with the containers' namespaces; nothing else to undo
for _ in $(seq 50); do [ -z "$(ip -n "$NSH" -o link show master "$BRC")" ] && break; sleep 0.1; done
[ -z "$(ip -n "$NSH" -o link show master "$BRC")" ] || fail "the hook's veths left on $BRC"
[ -z "$(ip -n "$NSH" -o link show | grep ': ncv[0-9]')" ] || fail "the hook's veths left in the host namespace"
if [ "$CRUN_OK" = 1 ] && [ -n "$(in_v1_view "$CRUN_BIN" "--root=$WORK/crun-state" list -q 2>/dev/null)" ]; then
  fail "crun containers left (removed at exit)"
fi
if [ "$RUNC_OK" = 1 ] && [ -n "$("$RUNC_BIN" "--root=$WORK/runc-state" list -q 2>/dev/null)" ]; then
  fail "runc containers left (removed at exit)"
fi
ip -n "$NSH" link del "$BRC"
HOOK_RUNS=$(cat "$WORK/veth-hook.count")

ELAPSED=$(( $(date +%s) - T0 ))
bench_check_load "at end" 1
jq -n \
  --arg date "$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
  --arg kernel "$(uname -r)" --arg cpus "$(nproc)" \
  --arg load_start "$LOAD_START" --arg load_end "$(bench_loadavg)" \
  --arg runs "$BENCH_RUNS" --arg rounds "$BENCH_ROUNDS" --arg per_round "$PER_ROUND" \
  --arg warmup "$BENCH_WARMUP" --arg tp_rounds "$ROUNDS" --arg tp_seconds "$SECONDS_PER_RUN" \
  --arg cpu "$CPU" --arg elapsed "$ELAPSED" \
  --arg nucleus "$("$NUCLEUS" version 2>/dev/null | head -1)" \
  --arg nucleus_sha256 "$(sha256sum < "$NUCLEUS" | cut -d' ' -f1)" \
  --arg commit "$(git -C "$REPO" describe --always --dirty 2>/dev/null || echo unknown)" \
  --arg hyperfine "$(hyperfine --version)" --arg iperf3 "$(iperf3 --version | head -1)" \
  --arg crun "$("$CRUN_BIN" --version | head -1)" \
  --arg runc "$( [ -n "$RUNC_BIN" ] && "$RUNC_BIN" --version 2>/dev/null | head -1)" \
  --arg iproute2 "$(ip -V)" --arg busybox "$("$BUSYBOX" 2>&1 | head -1)" \
  --arg profile_sha256 "$(sha256sum < "$PROFILE" | cut -d' ' -f1)" \
  --arg crun_ok "$CRUN_OK" --arg runc_ok "$RUNC_OK" --arg v6 "$V6" --arg hook_runs "$HOOK_RUNS" \
  --arg failed "${FAILED#; }" \
  '{date: $date, kernel: $kernel, cpus: ($cpus|tonumber),
    load_start: ($load_start|tonumber), load_end: ($load_end|tonumber),
    startup: {runs: ($runs|tonumber), rounds: ($rounds|tonumber),
              runs_per_round: ($per_round|tonumber), warmup: ($warmup|tonumber)},
    throughput: {rounds: ($tp_rounds|tonumber), seconds: ($tp_seconds|tonumber), cpu: $cpu},
    elapsed_s: ($elapsed|tonumber),
    nucleus: $nucleus, nucleus_sha256: $nucleus_sha256, commit: $commit,
    tools: {hyperfine: $hyperfine, iperf3: $iperf3, crun: $crun, runc: $runc,
            iproute2: $iproute2, busybox: $busybox},
    oci_peers: {crun: ($crun_ok == "1"), runc: ($runc_ok == "1"),
                bundle: "busybox-static /bin/true, read-only rootfs, Docker default seccomp profile, no capabilities, pid/mount/network/uts/ipc/cgroup namespaces",
                seccomp_profile_sha256: $profile_sha256,
                bridge_hook: "createRuntime: /bin/sh; ip link add ncvN master BR up type veth peer name eth0 netns PID; nsenter --net ip -batch (lo up, eth0 up, address, default route)",
                dual_stack: ($v6 == "1"), hook_runs: ($hook_runs|tonumber)},
    failed_checks: ($failed | split("; ") | map(select(. != "")))}' > "$WORK/meta.json"

bench_note ""
python3 - "$WORK" "$OUT/bridge.json" <<'EOF'
import glob, json, os, re, statistics, sys

work, out_p = sys.argv[1:3]
med = statistics.median
st = json.load(open(os.path.join(work, "startup.json")))["results"]
ms = {k: v["median_ms"] for k, v in st.items()}
none, bridge, pub = ms["none"], ms["bridge"], ms["bridge_publish"]
delta = bridge - none

# bridge - none of each runtime, round by round (medians of the round)
rounds = {}
for path in glob.glob(os.path.join(work, "round*.json")):
    rid = int(re.search(r"round(\d+)", os.path.basename(path)).group(1))
    for res in json.load(open(path))["results"]:
        rounds.setdefault(rid, {})[res["command"]] = med(res["times"]) * 1e3
def per_round(b, n):
    return [rounds[r][b] - rounds[r][n] for r in sorted(rounds) if b in rounds[r] and n in rounds[r]]
peers = {}
for rt in ("crun", "runc"):
    if rt + "_none" in ms and rt + "_bridge" in ms:
        n_, b_ = ms[rt + "_none"], ms[rt + "_bridge"]
        peers[rt] = {"none": n_, "bridge": b_, "delta": b_ - n_,
                     "bridge_ratio": bridge / b_, "none_ratio": none / n_,
                     "delta_per_round": per_round(rt + "_bridge", rt + "_none")}

tp = {"container": [], "host": []}
retr = {"container": [], "host": []}
for line in open(os.path.join(work, "iperf.tsv")):
    who, rnd, bps, rt = line.rstrip("\n").split("\t")
    tp[who].append(float(bps) / 1e9)
    retr[who].append(int(rt))
c, h = med(tp["container"]), med(tp["host"])
ratios = [a / b for a, b in zip(tp["container"], tp["host"])]
meta = json.load(open(os.path.join(work, "meta.json")))
nuc_rounds = per_round("bridge", "none")
def spread(v):
    return "median %+.2f, %+.2f..%+.2f" % (med(v), min(v), max(v)) if v else "n/a"

print("start-up, median of pooled rounds (ms):  none %.2f  bridge %.2f  bridge -p %.2f" % (none, bridge, pub))
print("  bridge - none = %+.2f ms (target <= +3.00: %s); -p adds %+.2f ms more; per round %s"
      % (delta, "met" if delta <= 3.0 else "NOT met", pub - bridge, spread(nuc_rounds)))
for rt, p in peers.items():
    print("%s run (busybox bundle, Docker seccomp profile), median (ms):  %s_none %.2f  %s_bridge %.2f"
          % (rt, rt, p["none"], rt, p["bridge"]))
    print("  %s_bridge - %s_none = %+.2f ms (per round %s): veth + addresses + routes by the createRuntime hook, iproute2 from /bin/sh"
          % (rt, rt, p["delta"], spread(p["delta_per_round"])))
    print("  nucleus bridge/%s_bridge = %.2f   nucleus none/%s_none = %.2f   bridge cost: nucleus %+.2f ms vs %s %+.2f ms"
          % (rt, p["bridge_ratio"], rt, p["none_ratio"], delta, rt, p["delta"]))
print("throughput, median over %d rounds (Gbit/s):  container %.2f  host %.2f  container/host %.3f (target >= 0.95: %s)"
      % (len(ratios), c, h, c / h, "met" if c / h >= 0.95 else "NOT met"))
print("  per round container/host: %s" % " ".join("%.3f" % x for x in ratios))
print("load average: %.2f at start, %.2f at end (%d CPUs)" % (meta["load_start"], meta["load_end"], meta["cpus"]))
if meta["failed_checks"]:
    print("failed checks: " + "; ".join(meta["failed_checks"]))
startup = {"none": none, "bridge": bridge, "bridge_publish": pub, "delta": delta,
           "delta_per_round": nuc_rounds}
for rt in ("crun", "runc"):
    p = peers.get(rt)
    startup[rt + "_none"] = p and p["none"]
    startup[rt + "_bridge"] = p and p["bridge"]
    startup[rt + "_delta"] = p and p["delta"]
    startup[rt + "_delta_per_round"] = p and p["delta_per_round"]
    startup["bridge/%s_bridge" % rt] = p and p["bridge_ratio"]
    startup["none/%s_none" % rt] = p and p["none_ratio"]
startup["details"] = st
json.dump({"startup_ms": startup,
           "throughput_gbps": {"container": tp["container"], "host": tp["host"],
                               "container_median": c, "host_median": h, "ratio": c / h,
                               "ratio_per_round": ratios,
                               "retransmits": retr},
           "meta": meta}, open(out_p, "w"), indent=2)
def f(v, fmt):
    return "n/a" if v is None else fmt % v
line = "bench-bridge: none=%.2fms bridge=%.2fms publish=%.2fms delta_ms=%+.2f" % (none, bridge, pub, delta)
for rt in ("crun", "runc"):
    p = peers.get(rt) or {}
    line += " %s_none=%s %s_bridge=%s %s_delta_ms=%s bridge/%s_bridge=%s" % (
        rt, f(p.get("none"), "%.2fms"), rt, f(p.get("bridge"), "%.2fms"),
        rt, f(p.get("delta"), "%+.2f"), rt, f(p.get("bridge_ratio"), "%.2f"))
line += " container_gbps=%.2f host_gbps=%.2f container/host=%.3f" % (c, h, c / h)
print(line)
EOF
[ -z "$FAILED" ] || exit 1
