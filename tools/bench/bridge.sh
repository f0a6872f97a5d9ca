#!/usr/bin/env bash
# Bridge networking: what --network bridge costs at start-up, and what a
# container behind the bridge and NAT gets on the wire, each figure against
# a peer measured in the same run. See docs/benchmarks.md, docs/networking.md.
#
#   tools/bench/bridge.sh BUILD_DIR      (normally via: make bench)
#
# Everything happens in two network namespaces this script makes, never on
# the machine's own network: "host" (nucleus runs there, under nsenter; the
# bridge, NAT and forwarding are its) and "outside" (an iperf3 server),
# joined by a veth pair.
#
# 1. start-up: `nucleus run -- /bin/true` with --network none, with
#    --network bridge, and with --network bridge -p 8080:80, interleaved
#    rounds (the bridge exists already: it is made once, by the warm-up).
#    Target: bridge <= none + 3 ms (medians).
# 2. throughput: iperf3 -c to the outside server from a bridge container
#    (veth, bridge, forwarding, masquerade) and from the "host" namespace
#    itself (the same veth to the outside, no bridge, no NAT), alternating,
#    both ends on one CPU. Target: container/host >= 0.95 (medians).
#
# Writes BUILD_DIR/bench/bridge.json; the last line printed is
#   bench-bridge: none=…ms bridge=…ms publish=…ms delta_ms=… container_gbps=… host_gbps=… container/host=…
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
bench_require hyperfine jq python3 iperf3 ip nsenter ss timeout

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
NETNS_MADE=()
SERVER_PID=""
RUN_PID=""
NSINO=""

cleanup() {
  set +e
  if [ -n "$RUN_PID" ]; then kill -TERM "$RUN_PID" 2>/dev/null; wait "$RUN_PID" 2>/dev/null; fi
  if [ -n "$SERVER_PID" ]; then kill -TERM "$SERVER_PID" 2>/dev/null; wait "$SERVER_PID" 2>/dev/null; fi
  local n
  for n in ${NETNS_MADE[@]+"${NETNS_MADE[@]}"}; do ip netns del "$n" 2>/dev/null; done
  # the leases directory of the namespace that is gone (empty unless interrupted)
  [ -n "$NSINO" ] && rm -rf "/run/nucleus/.net/ns-$NSINO"
  if [ "${BENCH_KEEP:-0}" = 1 ]; then
    echo "bridge: kept the raw hyperfine and iperf3 outputs in $WORK" >&2
  else
    rm -rf "$WORK"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

bench_note "== bridge: start-up cost of --network bridge, and container vs host throughput"
bench_check_load "at start"
LOAD_START=$(bench_loadavg)
T0=$(date +%s)
# Time a private copy of the binary: a concurrent `make` may rewrite it.
cp "$NUCLEUS" "$WORK/nucleus"
NUCLEUS=$WORK/nucleus

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

# ---- 1. start-up --------------------------------------------------------------------
bench_note ""
bench_note "-- start-up: nucleus run -- /bin/true, --network none / bridge / bridge -p 8080:80"
ORDER=$WORK/order.tsv
printf '%s\t%s\n' none "$NONE /bin/true" bridge "$BRIDGE /bin/true" bridge_publish "$PUBLISH /bin/true" > "$ORDER"
PAIRS=(none "$NONE /bin/true" bridge "$BRIDGE /bin/true" bridge_publish "$PUBLISH /bin/true")
PER_ROUND=$(bench_runs_per_round)
bench_note "timing: $BENCH_ROUNDS rounds x $PER_ROUND runs per runner, warmup $BENCH_WARMUP (first round) / $(bench_warmup_for_round 2) (later rounds), hyperfine -N"
EXPORTS=()
for (( r = 1; r <= BENCH_ROUNDS; r++ )); do
  mapfile -t round < <(bench_rotate "$r" "${PAIRS[@]}")
  bench_hyperfine "$WORK/round$r.json" "$(bench_warmup_for_round "$r")" "$PER_ROUND" "${round[@]}"
  EXPORTS+=("$WORK/round$r.json")
  if [ $((r % 5)) = 0 ] || [ "$r" = "$BENCH_ROUNDS" ]; then
    bench_note "  round $r/$BENCH_ROUNDS done ($(( $(date +%s) - T0 ))s, load $(bench_loadavg))"
  fi
done
python3 "$BENCH_LIB/report.py" --label bridge-startup --order "$ORDER" \
  --primary bridge --peer none --json "$WORK/startup.json" "${EXPORTS[@]}" |
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
  --arg failed "${FAILED#; }" \
  '{date: $date, kernel: $kernel, cpus: ($cpus|tonumber),
    load_start: ($load_start|tonumber), load_end: ($load_end|tonumber),
    startup: {runs: ($runs|tonumber), rounds: ($rounds|tonumber),
              runs_per_round: ($per_round|tonumber), warmup: ($warmup|tonumber)},
    throughput: {rounds: ($tp_rounds|tonumber), seconds: ($tp_seconds|tonumber), cpu: $cpu},
    elapsed_s: ($elapsed|tonumber),
    nucleus: $nucleus, nucleus_sha256: $nucleus_sha256, commit: $commit,
    tools: {hyperfine: $hyperfine, iperf3: $iperf3},
    failed_checks: ($failed | split("; ") | map(select(. != "")))}' > "$WORK/meta.json"

bench_note ""
python3 - "$WORK" "$OUT/bridge.json" <<'EOF'
import json, os, statistics, sys

work, out_p = sys.argv[1:3]
med = statistics.median
st = json.load(open(os.path.join(work, "startup.json")))["results"]
none, bridge, pub = (st[k]["median_ms"] for k in ("none", "bridge", "bridge_publish"))
delta = bridge - none
tp = {"container": [], "host": []}
retr = {"container": [], "host": []}
for line in open(os.path.join(work, "iperf.tsv")):
    who, rnd, bps, rt = line.rstrip("\n").split("\t")
    tp[who].append(float(bps) / 1e9)
    retr[who].append(int(rt))
c, h = med(tp["container"]), med(tp["host"])
ratios = [a / b for a, b in zip(tp["container"], tp["host"])]
meta = json.load(open(os.path.join(work, "meta.json")))

print("start-up, median of pooled rounds (ms):  none %.2f  bridge %.2f  bridge -p %.2f" % (none, bridge, pub))
print("  bridge - none = %+.2f ms (target <= +3.00: %s); -p adds %+.2f ms more"
      % (delta, "met" if delta <= 3.0 else "NOT met", pub - bridge))
print("throughput, median over %d rounds (Gbit/s):  container %.2f  host %.2f  container/host %.3f (target >= 0.95: %s)"
      % (len(ratios), c, h, c / h, "met" if c / h >= 0.95 else "NOT met"))
print("  per round container/host: %s" % " ".join("%.3f" % x for x in ratios))
if meta["failed_checks"]:
    print("failed checks: " + "; ".join(meta["failed_checks"]))
json.dump({"startup_ms": {"none": none, "bridge": bridge, "bridge_publish": pub, "delta": delta,
                          "details": st},
           "throughput_gbps": {"container": tp["container"], "host": tp["host"],
                               "container_median": c, "host_median": h, "ratio": c / h,
                               "ratio_per_round": ratios,
                               "retransmits": retr},
           "meta": meta}, open(out_p, "w"), indent=2)
print("bench-bridge: none=%.2fms bridge=%.2fms publish=%.2fms delta_ms=%+.2f container_gbps=%.2f host_gbps=%.2f container/host=%.3f"
      % (none, bridge, pub, delta, c, h, c / h))
EOF
[ -z "$FAILED" ] || exit 1
