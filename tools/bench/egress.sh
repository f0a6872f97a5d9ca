#!/usr/bin/env bash
# Egress policy: what a BPF allowlist costs at start-up and on the wire, each
# figure against a peer measured in the same run. See docs/benchmarks.md.
#
#   tools/bench/egress.sh BUILD_DIR      (normally via: make bench)
#
# 1. start-up: `nucleus run -- /bin/true` against the same with ten
#    --egress-allow prefixes (pinned set already loaded), interleaved rounds,
#    in two states: no other container ("anchored": the egress anchor keeps
#    the kernel's cgroup-BPF static keys on, see docs/egress.md) and another
#    policy container running ("held"); then, separately, a cold load (the
#    egress-* pins and the anchor removed first: the first run after boot).
# 1b. host cost of the anchor: a UDP sendto loop outside any container, with
#    the anchor (static keys on) against without it, alternating rounds.
# 2. throughput: iperf3 from a nucleus container (in a network namespace of
#    this script's) to a server in another one over a veth pair, both ends
#    pinned to one CPU, under: no filter, nucleus's BPF allowlist of 1,000
#    prefixes, the same list as iptables rules (nft backend, without the
#    established shortcut, and legacy if present) and as an nftables interval
#    set; interleaved rounds.
#
# Writes BUILD_DIR/bench/egress.json; the last line printed is
#   bench-egress: startup_delta_ms=… … bpf_gbps=… nofilter_gbps=… … bpf/nofilter=… bpf/iptables=…
set -euo pipefail

BUILD=$(cd "${1:?usage: egress.sh BUILD_DIR}" && pwd)
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
# shellcheck source=lib/common.bash
source "$HERE/lib/common.bash"

[ "$(id -u)" = 0 ] || bench_die "egress: run as root (network namespaces, BPF, iptables)"
bench_require hyperfine jq python3 iperf3 ip nsenter flock timeout ss iptables iptables-restore nft
NUCLEUS=$BUILD/nucleus
[ -x "$NUCLEUS" ] || bench_die "egress: $NUCLEUS not built (make)"
PIN_ROOT=/sys/fs/bpf/nucleus

ROUNDS=${BENCH_EGRESS_ROUNDS:-5}
SECONDS_PER_RUN=${BENCH_EGRESS_SECONDS:-5}
NRULES=${BENCH_EGRESS_RULES:-1000}
COLD_RUNS=${BENCH_EGRESS_COLD_RUNS:-5}
CONFIGS=${BENCH_EGRESS_CONFIGS:-nofilter bpf iptables iptables_nostate iptables_legacy nft}
# Both iperf3 ends (and so the softirq work of the veth path) on one CPU:
# every cycle a filter costs is then a cycle the transfer does not get, and
# the run does not flip between "same CPU" and "two CPUs" from one run to the
# next. "none": leave placement to the scheduler.
CPU=${BENCH_EGRESS_CPU:-$(( $(nproc) - 1 ))}
AFFINITY=()
if [ "$CPU" != none ]; then
  if ! [ "$CPU" -ge 0 ] 2>/dev/null || [ "$CPU" -ge "$(nproc)" ]; then
    bench_die "egress: BENCH_EGRESS_CPU must be 0..$(( $(nproc) - 1 )) or none"
  fi
  AFFINITY=(-A "$CPU")
fi
if ! [ "$NRULES" -ge 2 ] 2>/dev/null || [ "$NRULES" -gt 60000 ]; then
  bench_die "egress: BENCH_EGRESS_RULES must be 2..60000"
fi

OUT=$BUILD/bench
mkdir -p "$OUT"
WORK=$(mktemp -d "$OUT/egress.XXXXXX")
case "$WORK" in *[[:space:]]*) bench_die "egress: the build path must not contain spaces: $WORK" ;; esac
NS=nucleus-bench-egress-$$      # stem of this run's network namespace names
NS_SERVER=$NS-srv
NETNS_MADE=()                    # namespaces this run created (deleted at exit)
SERVER_PID=""                    # the iperf3 server this run started
RUN_PID=""                       # the nucleus run in progress, if any
HOLDER=""                        # the background container of the start-up rounds
PINS_REMOVED=0

# ---- cleanup: only what this run made -----------------------------------------
cleanup() {
  set +e
  if [ -n "$RUN_PID" ]; then kill -TERM "$RUN_PID" 2>/dev/null; wait "$RUN_PID" 2>/dev/null; fi
  if [ -n "$HOLDER" ]; then "$NUCLEUS" rm -f "$HOLDER" >/dev/null 2>&1; fi
  if [ -n "$SERVER_PID" ]; then kill -TERM "$SERVER_PID" 2>/dev/null; wait "$SERVER_PID" 2>/dev/null; fi
  local n
  for n in ${NETNS_MADE[@]+"${NETNS_MADE[@]}"}; do
    ip netns del "$n" 2>/dev/null
  done
  # Interrupted between removing the pins and the cold run: load them again,
  # so the host is left as it was found (a loaded set).
  if [ "$PINS_REMOVED" = 1 ] && ! compgen -G "$PIN_ROOT/egress-*" >/dev/null; then
    "$NUCLEUS" run --egress-allow 192.0.2.0/24 -- /bin/true >/dev/null 2>&1
  fi
  if [ "${BENCH_KEEP:-0}" = 1 ]; then
    echo "egress: kept the raw hyperfine and iperf3 outputs in $WORK" >&2
  else
    rm -rf "$WORK"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

bench_start "== egress: start-up cost and throughput of an egress allowlist"

# Container dirs in /run/nucleus (dot entries are nucleus's own indexes).
nucleus_leftovers() {
  { ls /run/nucleus 2>/dev/null; find /sys/fs/cgroup -mindepth 2 -maxdepth 4 -type d -path '*/nucleus/*' 2>/dev/null; } | wc -l
}
LEFT_BEFORE=$(nucleus_leftovers)

# probe PROTO ADDR PORT TIMEOUT: the container's connect() outcome, printed as
# EPERM, ECONNREFUSED, timeout, connected, ... (the workload of a sanity run).
PROBE='import errno, socket, sys
proto, addr, port, wait = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
s = socket.socket(fam, socket.SOCK_DGRAM if proto == "udp" else socket.SOCK_STREAM)
s.settimeout(wait)
try:
    s.connect((addr, port))
    print("connected")
except socket.timeout:
    print("timeout")
except OSError as e:
    print(errno.errorcode.get(e.errno, str(e.errno)))'

FAILED=""
RETRIED=""
fail() { bench_warn "$*"; FAILED="$FAILED; $*"; }

# ==== 1. start-up ===============================================================
# Ten prefixes, IPv4 and IPv6 mixed; none covers 192.0.2.1 (the denied probe).
STARTUP_CIDRS=(10.20.0.0/16 172.16.0.0/12 198.51.100.0/24 203.0.113.0/24 100.64.0.0/10
               2001:db8::/32 fd00:1234::/32 2001:db8:ffff::/48 2606:4700::/32 2a00:1450:4000::/37)
EGRESS10=()
for c in "${STARTUP_CIDRS[@]}"; do EGRESS10+=(--egress-allow "$c"); done

bench_note ""
bench_note "-- start-up: nucleus run -- /bin/true, without and with ${#STARTUP_CIDRS[@]} --egress-allow (network none)"
# Warm: make sure the pinned set exists, so loading is not in the timed runs.
"$NUCLEUS" run "${EGRESS10[@]}" -- /bin/true || bench_die "egress: nucleus run with a policy failed"
compgen -G "$PIN_ROOT/egress-*" >/dev/null || bench_die "egress: no pinned egress set under $PIN_ROOT after a run"
"$NUCLEUS" run -- /bin/true || bench_die "egress: nucleus run -- /bin/true failed"
# Sanity: the policy is in force (a denied UDP connect is EPERM before any
# packet; an allowed one goes on to routing, and this netns has only lo).
got=$("$NUCLEUS" run "${EGRESS10[@]}" -- python3 -c "$PROBE" udp 192.0.2.1 9 1 2>/dev/null) || true
[ "$got" = EPERM ] || fail "start-up sanity: denied UDP connect gave '$got', expected EPERM"
got=$("$NUCLEUS" run "${EGRESS10[@]}" -- python3 -c "$PROBE" udp 203.0.113.1 9 1 2>/dev/null) || true
case "$got" in EPERM|"") fail "start-up sanity: allowed UDP connect gave '${got:-nothing}'" ;; esac

# Two states, interleaved round by round. "anchored": no other container
# with a policy; the anchor cgroup's programs keep the kernel's per-type
# static keys on (without it each run would flip 8 keys on at attach and off
# at release, patching kernel text on every CPU). "held": another nucleus
# container with a policy is running (started and stopped by this script
# each round). Both should cost the same: an attach is only the attach.
PAIRS_FIRST=(nucleus "$NUCLEUS run -- /bin/true" nucleus_egress10 "$NUCLEUS run ${EGRESS10[*]} -- /bin/true")
PAIRS_HELD=(nucleus_held "$NUCLEUS run -- /bin/true" nucleus_egress10_held "$NUCLEUS run ${EGRESS10[*]} -- /bin/true")
printf '%s\t%s\n' "${PAIRS_FIRST[@]}" > "$WORK/order-first.tsv"
printf '%s\t%s\n' "${PAIRS_HELD[@]}" > "$WORK/order-held.tsv"
holder_start() {   # holder_start ROUND
  HOLDER=$("$NUCLEUS" run -d --rm --name "nucleus-bench-egress-$$-hold$1" "${EGRESS10[@]}" -- sleep 3600) ||
    bench_die "egress: could not start the background container"
}
holder_stop() {
  "$NUCLEUS" stop -t 0 "$HOLDER" >/dev/null || bench_warn "egress: nucleus stop $HOLDER failed"
  HOLDER=""
}
PER_ROUND=$(bench_runs_per_round)
bench_note "timing: $BENCH_ROUNDS rounds x $PER_ROUND runs per runner and state, warmup $BENCH_WARMUP (first round) / $(bench_warmup_for_round 2) (later rounds), hyperfine -N"
EXPORTS_FIRST=(); EXPORTS_HELD=()
for (( r = 1; r <= BENCH_ROUNDS; r++ )); do
  warm=$(bench_warmup_for_round "$r")
  for state in $( [ $((r % 2)) = 1 ] && echo "first held" || echo "held first" ); do
    if [ "$state" = first ]; then
      mapfile -t round < <(bench_rotate "$r" "${PAIRS_FIRST[@]}")
      bench_hyperfine "$WORK/round$r-first.json" "$warm" "$PER_ROUND" "${round[@]}"
      EXPORTS_FIRST+=("$WORK/round$r-first.json")
    else
      holder_start "$r"
      mapfile -t round < <(bench_rotate "$r" "${PAIRS_HELD[@]}")
      bench_hyperfine "$WORK/round$r-held.json" "$warm" "$PER_ROUND" "${round[@]}"
      EXPORTS_HELD+=("$WORK/round$r-held.json")
      holder_stop
    fi
  done
  if [ $((r % 5)) = 0 ] || [ "$r" = "$BENCH_ROUNDS" ]; then
    bench_note "  round $r/$BENCH_ROUNDS done ($(( $(date +%s) - T0 ))s, load $(bench_loadavg))"
  fi
done
# report.py's own summary line is not this benchmark's: keep it out of the output.
bench_note ""
bench_note "state anchored (no other policy container while timing; the anchor holds the keys):"
python3 "$BENCH_LIB/report.py" --label egress-startup --order "$WORK/order-first.tsv" \
  --primary nucleus_egress10 --peer nucleus --json "$WORK/startup-first.json" "${EXPORTS_FIRST[@]}" |
  grep -v '^bench-' | sed '/^$/d; s/^/  /' || bench_die "egress: start-up report failed"
bench_note ""
bench_note "state held (another container with a policy running while timing):"
python3 "$BENCH_LIB/report.py" --label egress-startup --order "$WORK/order-held.tsv" \
  --primary nucleus_egress10_held --peer nucleus_held --json "$WORK/startup-held.json" "${EXPORTS_HELD[@]}" |
  grep -v '^bench-' | sed '/^$/d; s/^/  /' || bench_die "egress: start-up report failed"

# Cold load: the pins removed (under nucleus's load lock, the pin directory),
# then one timed run, COLD_RUNS times; the warm runs in the same hyperfine
# are the reference. Nothing but the egress-* pins is touched.
V2=$(awk '$9 == "cgroup2" { print $5; exit }' /proc/self/mountinfo)
ANCHOR_GLOB="$V2/nucleus/.egress-anchor-*"
cat > "$WORK/unpin" <<EOF
#!/bin/sh
exec flock $PIN_ROOT sh -c 'rm -rf $PIN_ROOT/egress-*; rmdir $ANCHOR_GLOB 2>/dev/null; true'
EOF
chmod +x "$WORK/unpin"
bench_note ""
bench_note "-- cold load: $COLD_RUNS runs with the $PIN_ROOT/egress-* pins and the anchor removed before each"
PINS_REMOVED=1
hyperfine -N --style basic --warmup 1 --runs "$COLD_RUNS" --export-json "$WORK/cold.json" \
  --prepare "$WORK/unpin" -n cold "$NUCLEUS run ${EGRESS10[*]} -- /bin/true" \
  --prepare /bin/true -n warm "$NUCLEUS run ${EGRESS10[*]} -- /bin/true" \
  >"$WORK/cold.log" 2>&1 || { cat "$WORK/cold.log" >&2; bench_die "egress: cold-load timing failed"; }
compgen -G "$PIN_ROOT/egress-*" >/dev/null || bench_die "egress: the cold runs left no pinned set"
PINS_REMOVED=0

# ==== 1b. host cost of the anchor ================================================
# A process outside any container, with the keys on (the anchor) and off (the
# anchor removed, so no program of these types is attached anywhere: only
# when no other policy container runs, which this script checks each round).
ANCHOR_ROUNDS=${BENCH_EGRESS_ANCHOR_ROUNDS:-6}
ANCHOR_CALLS=${BENCH_EGRESS_ANCHOR_CALLS:-300000}
bench_note ""
bench_note "-- host cost of the anchor: $ANCHOR_ROUNDS rounds of $ANCHOR_CALLS UDP sendto() on 127.0.0.1 outside any container, CPU $CPU"
"${BENCH_CC:-gcc}" -O2 -Wall -Wextra -o "$WORK/sendto_loop" "$BENCH_LIB/sendto_loop.c" ||
  bench_die "egress: could not build $BENCH_LIB/sendto_loop.c"
: > "$WORK/anchor.tsv"
for (( r = 1; r <= ANCHOR_ROUNDS; r++ )); do
  for keys in $( [ $((r % 2)) = 1 ] && echo "on off" || echo "off on" ); do
    if [ "$keys" = on ]; then
      "$NUCLEUS" run "${EGRESS10[@]}" -- /bin/true || bench_die "egress: a policy run (to make the anchor) failed"
      compgen -G "$ANCHOR_GLOB" >/dev/null || bench_die "egress: no anchor after a policy run"
    else
      flock "$PIN_ROOT" sh -c "rmdir $ANCHOR_GLOB 2>/dev/null; true"
      sleep 0.2   # the cgroup's release (and the keys' switch) is deferred work
    fi
    if [ "$CPU" = none ]; then ns=$("$WORK/sendto_loop" "$ANCHOR_CALLS")
    else ns=$(taskset -c "$CPU" "$WORK/sendto_loop" "$ANCHOR_CALLS"); fi || bench_die "egress: sendto_loop failed"
    printf '%s\t%d\t%s\n' "$keys" "$r" "$ns" >> "$WORK/anchor.tsv"
  done
done
"$NUCLEUS" run "${EGRESS10[@]}" -- /bin/true >/dev/null || true   # leave the anchor as a run would

# ==== 2. throughput ==============================================================
bench_note ""
bench_note "-- throughput: iperf3 -t $SECONDS_PER_RUN from a nucleus container over a veth pair, $ROUNDS rounds, both ends on CPU $CPU"
IPT_VERSION=$(iptables --version 2>/dev/null | head -1)
IPT_LEGACY_VERSION=$(iptables-legacy --version 2>/dev/null | head -1 || true)
bench_note "iptables: $IPT_VERSION${IPT_LEGACY_VERSION:+; iptables-legacy: $IPT_LEGACY_VERSION}"

# NRULES-1 distinct, non-overlapping prefixes (/24../28, one per /24 block
# with first octet 11..199 except 127) that cannot cover 10.199.0.0/16, in
# the order they are added; the server's /32 comes last.
python3 - "$NRULES" > "$WORK/cidrs.txt" <<'EOF'
import sys
n = int(sys.argv[1]) - 1
firsts = [a for a in range(11, 200) if a != 127]
seen = set()
for i in range(n):
    a = firsts[i % len(firsts)]
    b = (i // len(firsts)) % 256
    c = (i // (len(firsts) * 256) * 7 + i * 13) % 256
    key = (a, b, c)
    assert key not in seen
    seen.add(key)
    print("%d.%d.%d.0/%d" % (a, b, c, 24 + i % 5))
EOF
[ "$(sort -u "$WORK/cidrs.txt" | wc -l)" = $((NRULES - 1)) ] || bench_die "egress: CIDR generator gave duplicates"

# Which configurations run. iptables_legacy only where iptables-legacy exists.
CFGS=()
for c in $CONFIGS; do
  case "$c" in
    nofilter|bpf|bpf_1rule|iptables|iptables_nostate|nft) CFGS+=("$c") ;;
    iptables_legacy)
      if command -v iptables-legacy-restore >/dev/null; then CFGS+=("$c")
      else bench_warn "iptables-legacy not installed: iptables_legacy left out"; fi ;;
    *) bench_die "egress: unknown configuration '$c' (nofilter bpf bpf_1rule iptables iptables_nostate iptables_legacy nft)" ;;
  esac
done
for need in nofilter bpf; do
  printf '%s\n' "${CFGS[@]}" | grep -qx "$need" || bench_die "egress: BENCH_EGRESS_CONFIGS must include $need"
done

# One client namespace per configuration (so one configuration's netfilter
# tables and conntrack are never in another's path), each with a veth pair
# into the one server namespace: client 10.199.K.1, server 10.199.K.2, and a
# second server address 10.199.K.3 that no policy allows.
mkns() {
  ip netns add "$1"
  NETNS_MADE+=("$1")
  ip netns exec "$1" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
  ip -n "$1" link set lo up
}
mkns "$NS_SERVER"
declare -A CLIENT_NS SERVER_ADDR DENIED_ADDR
k=0
for c in "${CFGS[@]}"; do
  k=$((k + 1))
  n=$NS-$k-$c
  mkns "$n"
  ip -n "$n" link add veth0 type veth peer name veth$k netns "$NS_SERVER"
  ip -n "$n" addr add 10.199.$k.1/24 dev veth0
  ip -n "$n" link set veth0 up
  ip -n "$NS_SERVER" addr add 10.199.$k.2/24 dev veth$k
  ip -n "$NS_SERVER" addr add 10.199.$k.3/24 dev veth$k
  ip -n "$NS_SERVER" link set veth$k up
  CLIENT_NS[$c]=$n
  SERVER_ADDR[$c]=10.199.$k.2
  DENIED_ADDR[$c]=10.199.$k.3
done

# The policies. iptables: OUTPUT accepts lo and established/related first
# (the reply path of what the policy already let out), then one ACCEPT per
# prefix in order, the server's /32 last, then DROP. iptables_nostate: the
# same without the established rule, so every packet walks the list.
ipt_rules() {   # ipt_rules STATEFUL(1|0) SERVER
  printf '*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n'
  printf -- '-A OUTPUT -o lo -j ACCEPT\n'
  [ "$1" = 1 ] && printf -- '-A OUTPUT -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT\n'
  sed 's/^/-A OUTPUT -d /; s/$/ -j ACCEPT/' "$WORK/cidrs.txt"
  printf -- '-A OUTPUT -d %s/32 -j ACCEPT\n-A OUTPUT -j DROP\nCOMMIT\n' "$2"
}
nft_rules() {   # nft_rules SERVER
  printf 'table ip nucleus_bench {\n  set allow {\n    type ipv4_addr; flags interval;\n    elements = {\n'
  sed 's/^/      /; s/$/,/' "$WORK/cidrs.txt"
  printf '      %s/32\n    }\n  }\n' "$1"
  printf '  chain output {\n    type filter hook output priority filter; policy drop;\n'
  printf '    oifname "lo" accept\n    ct state established,related accept\n'
  printf '    ip daddr @allow accept\n  }\n}\n'
}
expect_rules() {   # expect_rules CFG GOT WANT
  [ "$2" = "$3" ] || bench_die "egress: $1: $2 rules/elements installed, expected $3"
}
for c in "${CFGS[@]}"; do
  n=${CLIENT_NS[$c]}
  case "$c" in
    iptables|iptables_nostate)
      ipt_rules "$([ "$c" = iptables ] && echo 1 || echo 0)" "${SERVER_ADDR[$c]}" > "$WORK/$c.rules"
      ip netns exec "$n" iptables-restore < "$WORK/$c.rules"
      expect_rules "$c" "$(ip netns exec "$n" iptables -S OUTPUT | grep -c '^-A')" "$(grep -c '^-A' "$WORK/$c.rules")" ;;
    iptables_legacy)
      ipt_rules 1 "${SERVER_ADDR[$c]}" > "$WORK/$c.rules"
      ip netns exec "$n" iptables-legacy-restore < "$WORK/$c.rules"
      expect_rules "$c" "$(ip netns exec "$n" iptables-legacy -S OUTPUT | grep -c '^-A')" "$(grep -c '^-A' "$WORK/$c.rules")" ;;
    nft)
      nft_rules "${SERVER_ADDR[$c]}" > "$WORK/$c.rules"
      ip netns exec "$n" nft -f "$WORK/$c.rules"
      expect_rules "$c" "$(ip netns exec "$n" nft -j list set ip nucleus_bench allow | jq '[.nftables[] | select(.set) | .set.elem[]] | length')" "$NRULES" ;;
  esac
done

# nucleus's policy: the same prefixes, the server's /32 added last.
bpf_allow() {   # bpf_allow SERVER: the --egress-allow words
  sed 's/^/--egress-allow\n/' "$WORK/cidrs.txt"
  printf -- '--egress-allow\n%s/32\n' "$1"
}

# The server: one iperf3, all addresses, until the end of the run.
ip netns exec "$NS_SERVER" iperf3 -s ${AFFINITY[@]+"${AFFINITY[@]}"} --logfile "$WORK/server.log" &
SERVER_PID=$!
for _ in $(seq 50); do
  ip netns exec "$NS_SERVER" ss -Hltn 'sport = :5201' | grep -q . && break
  sleep 0.1
done
ip netns exec "$NS_SERVER" ss -Hltn 'sport = :5201' | grep -q . || bench_die "egress: iperf3 server did not start"

RUN_SEQ=0
# container CFG OUT ERR ARG...: run ARG... as the workload of a nucleus
# container in CFG's client namespace (host network mode there), under CFG's
# nucleus policy if any; background + wait so that cleanup can stop it. Each
# container is named $NS-CFG-N, so that the end can tell its own leftovers
# from other users' containers.
container() {
  local c=$1 out=$2 err=$3 rc=0; shift 3
  RUN_SEQ=$((RUN_SEQ + 1))
  local -a args=(run --name "$NS-$c-$RUN_SEQ" --network host --allow-host-network)
  if [ "$c" = bpf ]; then
    local -a allow
    mapfile -t allow < <(bpf_allow "${SERVER_ADDR[$c]}")
    args+=("${allow[@]}")
  elif [ "$c" = bpf_1rule ]; then
    args+=(--egress-allow "${SERVER_ADDR[$c]}/32")
  fi
  timeout -k 5 $((SECONDS_PER_RUN + 60)) nsenter "--net=/run/netns/${CLIENT_NS[$c]}" \
    "$NUCLEUS" "${args[@]}" -- "$@" >"$out" 2>"$err" </dev/null &
  RUN_PID=$!
  wait "$RUN_PID" || rc=$?
  RUN_PID=""
  return "$rc"
}

# Sanity: the server's address is reachable only through its /32 (the other
# prefixes do not cover it), and each filter really filters.
bench_note "sanity: each policy refuses 10.199.K.3, the address it does not list"
for c in "${CFGS[@]}"; do
  case "$c" in
    bpf)
      container bpf "$WORK/probe.out" "$WORK/probe.err" python3 -c "$PROBE" tcp "${DENIED_ADDR[$c]}" 5201 2 || true
      got=$(cat "$WORK/probe.out")
      [ "$got" = EPERM ] || fail "bpf: connect to denied ${DENIED_ADDR[$c]} gave '$got', expected EPERM"
      bench_note "  bpf: connect(${DENIED_ADDR[$c]}:5201) -> $got"
      # the same policy with the server's /32 left out: the server is denied too
      mapfile -t others < <(sed 's/^/--egress-allow\n/' "$WORK/cidrs.txt")
      got=$(timeout 60 nsenter "--net=/run/netns/${CLIENT_NS[$c]}" "$NUCLEUS" run --network host --allow-host-network \
              "${others[@]}" -- python3 -c "$PROBE" tcp "${SERVER_ADDR[$c]}" 5201 2 2>/dev/null </dev/null) || true
      [ "$got" = EPERM ] || fail "bpf: the $((NRULES - 1)) other prefixes let ${SERVER_ADDR[$c]} through ('$got')"
      bench_note "  bpf: without the server's /32, connect(${SERVER_ADDR[$c]}:5201) -> $got" ;;
    bpf_1rule)
      container "$c" "$WORK/probe.out" "$WORK/probe.err" python3 -c "$PROBE" tcp "${DENIED_ADDR[$c]}" 5201 2 || true
      got=$(cat "$WORK/probe.out")
      [ "$got" = EPERM ] || fail "$c: connect to denied ${DENIED_ADDR[$c]} gave '$got', expected EPERM"
      bench_note "  $c: connect(${DENIED_ADDR[$c]}:5201) -> $got" ;;
    iptables|iptables_legacy|iptables_nostate|nft)
      container "$c" "$WORK/probe.out" "$WORK/probe.err" python3 -c "$PROBE" tcp "${DENIED_ADDR[$c]}" 5201 1 || true
      got=$(cat "$WORK/probe.out")
      # DROP on OUTPUT: the SYN is dropped (EPERM from the local stack) or
      # never answered (timeout); either way no connection.
      case "$got" in EPERM|timeout) ;; *) fail "$c: connect to denied ${DENIED_ADDR[$c]} gave '$got'" ;; esac
      bench_note "  $c: connect(${DENIED_ADDR[$c]}:5201) -> $got" ;;
  esac
done

# The timed runs: ROUNDS rounds, every configuration once per round, the
# order rotated from round to round.
RESULTS=$WORK/iperf.tsv; : > "$RESULTS"
nc=${#CFGS[@]}
for (( r = 1; r <= ROUNDS; r++ )); do
  for (( i = 0; i < nc; i++ )); do
    c=${CFGS[$(( (i + r - 1) % nc ))]}
    for attempt in 1 2; do
      j=$WORK/iperf-r$r-$c-$attempt.json
      e=$WORK/iperf-r$r-$c-$attempt.err
      rc=0
      container "$c" "$j" "$e" iperf3 -c "${SERVER_ADDR[$c]}" ${AFFINITY[@]+"${AFFINITY[@]}"} -t "$SECONDS_PER_RUN" -J || rc=$?
      line=$(jq -r --arg c "$c" --arg r "$r" '
        if .error then "error: iperf3: " + .error
        else [$c, $r, .end.sum_sent.bytes, .end.sum_sent.seconds, .end.sum_received.bytes,
              .end.sum_received.seconds, .end.sum_received.bits_per_second,
              .end.cpu_utilization_percent.host_total, .end.cpu_utilization_percent.remote_total,
              (.end.sum_sent.retransmits // 0)] | map(tostring) | join("\t") end' "$j" 2>/dev/null) ||
        line="error: no JSON from iperf3"
      if [ "$rc" != 0 ] && [ "${line#error:}" = "$line" ]; then line="error: nucleus exited $rc"; fi
      if [ "${line#error:}" = "$line" ] && ! awk -v b="$(cut -f3 <<<"$line")" 'BEGIN { exit !(b > 0) }'; then
        line="error: no data transferred"
      fi
      [ "${line#error:}" = "$line" ] && break
      why="$c round $r: ${line#error: } (exit $rc; stderr: $(head -c 400 "$e" | tr '\n' ' '))"
      # One retry: on a shared machine another user's run can get in the
      # way (e.g. a pinned set replaced by another build). Twice is a failure.
      [ "$attempt" = 1 ] || bench_die "egress: $why; failed twice"
      bench_warn "$why; running it again"
      RETRIED="$RETRIED $c/round$r"
    done
    printf '%s\n' "$line" >> "$RESULTS"
  done
  bench_note "  round $r/$ROUNDS done ($(( $(date +%s) - T0 ))s, load $(bench_loadavg))"
done

# ---- teardown checks -------------------------------------------------------------
kill -TERM "$SERVER_PID" 2>/dev/null; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=""
for n in "${NETNS_MADE[@]}"; do ip netns del "$n" || fail "could not delete netns $n"; done
NETNS_MADE=()
if ip netns list | grep -q "^$NS-"; then fail "network namespaces left behind: $(ip netns list | grep "^$NS-" | tr '\n' ' ')"; fi
# This run's named containers (throughput runs, probes, background holders):
# a name whose container state still exists is a leftover.
for link in /run/nucleus/.names/"$NS"-*; do
  [ -L "$link" ] || continue
  id=$(readlink "$link")
  [ -e "/run/nucleus/$id" ] && fail "container ${link##*/} ($id) left behind"
done
# Unnamed ones (the timed start-up runs): by count. Other users' containers
# come and go on a shared machine, so this is a warning only.
LEFT_AFTER=$(nucleus_leftovers)
[ "$LEFT_AFTER" -le "$LEFT_BEFORE" ] ||
  bench_warn "more nucleus state than at the start: $LEFT_BEFORE entries under /run/nucleus and its cgroups before, $LEFT_AFTER after (another user's containers, or leftovers: check 'nucleus ps')"

ELAPSED=$(( $(date +%s) - T0 ))
bench_check_load "at end" 1
jq -n \
  --arg date "$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
  --arg kernel "$(uname -r)" --arg cpus "$(nproc)" \
  --arg load_start "$LOAD_START" --arg load_end "$(bench_loadavg)" \
  --arg runs "$BENCH_RUNS" --arg rounds "$BENCH_ROUNDS" --arg per_round "$PER_ROUND" \
  --arg warmup "$BENCH_WARMUP" --arg cold_runs "$COLD_RUNS" \
  --arg tp_rounds "$ROUNDS" --arg tp_seconds "$SECONDS_PER_RUN" --arg nrules "$NRULES" --arg cpu "$CPU" \
  --arg elapsed "$ELAPSED" \
  --arg nucleus "$("$NUCLEUS" version 2>/dev/null | head -1)" \
  --arg nucleus_sha256 "$(sha256sum < "$NUCLEUS" | cut -d' ' -f1)" \
  --arg commit "$(git -C "$REPO" describe --always --dirty 2>/dev/null || echo unknown)" \
  --arg hyperfine "$(hyperfine --version)" --arg iperf3 "$(iperf3 --version | head -1)" \
  --arg iptables "$IPT_VERSION" --arg iptables_legacy "$IPT_LEGACY_VERSION" \
  --arg nft "$(nft --version)" \
  --arg cidrs_sha256 "$(sha256sum < "$WORK/cidrs.txt" | cut -d' ' -f1)" \
  --arg failed "${FAILED#; }" --arg retried "${RETRIED# }" \
  '{date: $date, kernel: $kernel, cpus: ($cpus|tonumber),
    load_start: ($load_start|tonumber), load_end: ($load_end|tonumber),
    startup: {runs: ($runs|tonumber), rounds: ($rounds|tonumber),
              runs_per_round: ($per_round|tonumber), warmup: ($warmup|tonumber),
              cold_runs: ($cold_runs|tonumber)},
    throughput: {rounds: ($tp_rounds|tonumber), seconds: ($tp_seconds|tonumber),
                 rules: ($nrules|tonumber), cpu: $cpu, generated_cidrs_sha256: $cidrs_sha256},
    elapsed_s: ($elapsed|tonumber),
    nucleus: $nucleus, nucleus_sha256: $nucleus_sha256, commit: $commit,
    tools: {hyperfine: $hyperfine, iperf3: $iperf3, iptables: $iptables,
            iptables_legacy: $iptables_legacy, nft: $nft},
    failed_checks: ($failed | split("; ") | map(select(. != ""))),
    retried_runs: ($retried | split(" ") | map(select(. != "")))}' > "$WORK/meta.json"

# ---- report ------------------------------------------------------------------------
bench_note ""
python3 - "$WORK" "$OUT/egress.json" "${CFGS[*]}" "${STARTUP_CIDRS[*]}" <<'EOF'
import glob, json, os, re, statistics, sys

work, out_p, cfgs, cidrs = sys.argv[1:5]
cfgs = cfgs.split()
med = statistics.median

def fmt(x, f="%.2f"):
    return "n/a" if x is None else f % x

# -- start-up: report.py pooled each state's rounds; deltas per round here
def state(name, plain, pol):
    st = json.load(open(os.path.join(work, "startup-%s.json" % name)))
    a, b = st["results"][plain], st["results"][pol]
    deltas = []
    for path in sorted(glob.glob(os.path.join(work, "round*-%s.json" % name)),
                       key=lambda p: int(re.search(r"round(\d+)", p).group(1))):
        t = {x["command"]: x["times"] for x in json.load(open(path))["results"]}
        deltas.append((med(t[pol]) - med(t[plain])) * 1e3)
    return {"plain": a, "policy": b, "delta_ms": b["median_ms"] - a["median_ms"],
            "ratio": b["median_ms"] / a["median_ms"], "delta_ms_per_round": deltas}

first = state("first", "nucleus", "nucleus_egress10")   # the anchored state
held = state("held", "nucleus_held", "nucleus_egress10_held")
cold = {r["command"]: r for r in json.load(open(os.path.join(work, "cold.json")))["results"]}
cold_med = med(cold["cold"]["times"]) * 1e3
warm_med = med(cold["warm"]["times"]) * 1e3
cold_cost = cold_med - warm_med

print()
print("start-up, median of pooled rounds (ms):   plain   +10 CIDRs   delta   ratio  target delta <= +0.50")
for label, s in (("anchored (no other policy container)", first), ("held (another policy running)", held)):
    print("  %-37s %7.2f %9.2f %+7.2f %7.3f  %s" % (
        label, s["plain"]["median_ms"], s["policy"]["median_ms"], s["delta_ms"], s["ratio"],
        "met" if s["delta_ms"] <= 0.5 else "NOT met"))
    d = s["delta_ms_per_round"]
    print("      delta per round: median %+.2f, spread %+.2f..%+.2f over %d rounds"
          % (med(d), min(d), max(d), len(d)))
print("  cold load (the egress-* pins and the anchor removed before each run, n=%d): %.2f ms against %.2f ms warm"
      % (len(cold["cold"]["times"]), cold_med, warm_med))
print("      in the same hyperfine: loading, verifying, pinning and anchoring cost %.2f ms" % cold_cost)

anc = {"on": [], "off": []}
anc_pr = []
rows_a = {}
for line in open(os.path.join(work, "anchor.tsv")):
    k, r, v = line.split()
    anc[k].append(float(v))
    rows_a.setdefault(int(r), {})[k] = float(v)
for r in sorted(rows_a):
    if "on" in rows_a[r] and "off" in rows_a[r]:
        anc_pr.append(rows_a[r]["on"] / rows_a[r]["off"])
anchor_ratio = med(anc["on"]) / med(anc["off"])
print()
print("host cost of the anchor, sendto() outside any container (ns per call, median of %d rounds):" % len(anc["on"]))
print("  keys on (anchor) %.1f   keys off %.1f   on/off %.3f   per round %s"
      % (med(anc["on"]), med(anc["off"]), anchor_ratio, " ".join("%.3f" % x for x in anc_pr)))

# -- throughput
rows = {}
for line in open(os.path.join(work, "iperf.tsv")):
    f = line.rstrip("\n").split("\t")
    c, r = f[0], int(f[1])
    sent_b, sent_s, recv_b, recv_s, bps, host, remote, retr = map(float, f[2:10])
    rows.setdefault(c, []).append({
        "round": r, "gbps": bps / 1e9, "bytes_sent": int(sent_b), "seconds": sent_s,
        "bytes_received": int(recv_b), "retransmits": int(retr),
        "sender_cpu_percent": host, "receiver_cpu_percent": remote,
        # CPU-seconds of the iperf3 client (sender) per 10^9 bytes it sent
        "sender_cpu_s_per_gb": host / 100.0 * sent_s / (sent_b / 1e9),
        "receiver_cpu_s_per_gb": remote / 100.0 * recv_s / (recv_b / 1e9),
        # both iperf3 processes: the softirq work of the path lands in either
        "both_cpu_s_per_gb": (host + remote) / 100.0 * sent_s / (sent_b / 1e9)})

tp = {}
for c in cfgs:
    rs = rows.get(c, [])
    if not rs:
        continue
    g = [x["gbps"] for x in rs]
    tp[c] = {"n": len(rs), "gbps_median": med(g), "gbps_min": min(g), "gbps_max": max(g),
             "sender_cpu_s_per_gb_median": med([x["sender_cpu_s_per_gb"] for x in rs]),
             "receiver_cpu_s_per_gb_median": med([x["receiver_cpu_s_per_gb"] for x in rs]),
             "both_cpu_s_per_gb_median": med([x["both_cpu_s_per_gb"] for x in rs]),
             "runs": sorted(rs, key=lambda x: x["round"])}

def ratio_of(a, b, key):
    return tp[a][key] / tp[b][key] if a in tp and b in tp else None

for c in tp:
    tp[c]["ratio"] = {p: {"gbps": ratio_of(c, p, "gbps_median"),
                          "sender_cpu_per_gb": ratio_of(c, p, "sender_cpu_s_per_gb_median"),
                          "both_cpu_per_gb": ratio_of(c, p, "both_cpu_s_per_gb_median")}
                      for p in ("nofilter", "iptables") if p in tp}

def per_round(a, b):
    """a/b Gbit/s in each round where both ran."""
    ra = {x["round"]: x["gbps"] for x in tp.get(a, {}).get("runs", [])}
    rb = {x["round"]: x["gbps"] for x in tp.get(b, {}).get("runs", [])}
    return [ra[r] / rb[r] for r in sorted(ra) if r in rb]

print()
print("throughput: Gbit/s = the receiver's end.sum_received.bits_per_second, median of rounds.")
print("CPU s/GB, median of rounds, lower is better: snd = the iperf3 client's (sender's)")
print("end.cpu_utilization_percent.host_total / 100 x end.sum_sent.seconds / (end.sum_sent.bytes / 1e9);")
print("both = the same with host_total + remote_total (client + server process)")
print("%-17s %6s %13s %6s %6s %9s %9s %9s %9s %9s" % (
    "config", "Gbit/s", "(min..max)", "snd", "both", "/nofilter", "/iptables", "snd/nofil", "snd/ipt", "both/nofil"))
for c in cfgs:
    if c not in tp:
        continue
    t = tp[c]
    rn, ri = t["ratio"].get("nofilter", {}), t["ratio"].get("iptables", {})
    print("%-17s %6.2f %13s %6.3f %6.3f %9s %9s %9s %9s %9s" % (
        c, t["gbps_median"], "(%.2f..%.2f)" % (t["gbps_min"], t["gbps_max"]),
        t["sender_cpu_s_per_gb_median"], t["both_cpu_s_per_gb_median"],
        fmt(rn.get("gbps"), "%.3f"), fmt(ri.get("gbps"), "%.3f"),
        fmt(rn.get("sender_cpu_per_gb"), "%.3f"), fmt(ri.get("sender_cpu_per_gb"), "%.3f"),
        fmt(rn.get("both_cpu_per_gb"), "%.3f")))
print()
pr = {}
pairs = [("bpf", c) for c in cfgs if c != "bpf"] + [("iptables", "nofilter")]
for a, b in pairs:
    v = per_round(a, b)
    if v:
        pr["%s/%s" % (a, b)] = v
        print("%s/%s per round: %s (median %.3f, spread %.3f..%.3f)"
              % (a, b, " ".join("%.3f" % x for x in v), med(v), min(v), max(v)))
b_nf = ratio_of("bpf", "nofilter", "gbps_median")
b_ipt = ratio_of("bpf", "iptables", "gbps_median")
print("targets: bpf/nofilter >= 0.97: %s (%s); bpf ahead of iptables: %s (%s)" % (
    "met" if b_nf is not None and b_nf >= 0.97 else "NOT met", fmt(b_nf, "%.3f"),
    "n/a" if b_ipt is None else ("met" if b_ipt > 1 else "NOT met"), fmt(b_ipt, "%.3f")))

summary = ("bench-egress: startup_delta_ms=%.2f startup_delta_held_ms=%.2f startup_ratio=%.3f cold_load_ms=%.2f"
           " anchor_host_on/off=%.3f"
           % (first["delta_ms"], held["delta_ms"], first["ratio"], cold_cost, anchor_ratio))
for c in cfgs:
    if c in tp:
        summary += " %s_gbps=%.2f" % (c, tp[c]["gbps_median"])
summary += " bpf/nofilter=%s bpf/iptables=%s" % (fmt(b_nf, "%.3f"), fmt(b_ipt, "%.3f"))
for c in cfgs:
    if c not in ("nofilter", "bpf", "iptables") and c in tp:
        summary += " bpf/%s=%s" % (c, fmt(ratio_of("bpf", c, "gbps_median"), "%.3f"))

meta = json.load(open(os.path.join(work, "meta.json")))
doc = {"benchmark": "egress", "summary": summary, "meta": meta,
       "startup": {"unit": "ms", "statistic": "median", "cidrs": cidrs.split(),
                   "target_delta_ms": 0.5, "anchored": first, "held": held,
                   "anchor_host_cost": {"unit": "ns per sendto", "on": anc["on"], "off": anc["off"],
                                        "on/off": anchor_ratio, "on/off_per_round": anc_pr},
                   "cold": {"n": len(cold["cold"]["times"]), "cold_median_ms": cold_med,
                            "warm_median_ms": warm_med, "load_cost_ms": cold_cost,
                            "cold_times_ms": [x * 1e3 for x in cold["cold"]["times"]],
                            "warm_times_ms": [x * 1e3 for x in cold["warm"]["times"]]}},
       "throughput": {"unit": "Gbit/s", "statistic": "median of rounds",
                      "gbps": "end.sum_received.bits_per_second / 1e9",
                      "cpu_per_gb": "end.cpu_utilization_percent.host_total / 100 * end.sum_sent.seconds"
                                    " / (end.sum_sent.bytes / 1e9): CPU-seconds of the iperf3 client"
                                    " process (getrusage user+system) per 10^9 bytes sent; both_cpu_per_gb:"
                                    " the same with host_total + remote_total",
                      "configs": tp, "ratio_per_round": pr,
                      "ratio_per_round_median": {k: med(v) for k, v in pr.items()},
                      "targets": {"bpf/nofilter": {"want": ">= 0.97", "got": b_nf},
                                  "bpf/iptables": {"want": "> 1", "got": b_ipt}}}}
with open(out_p, "w") as f:
    json.dump(doc, f, indent=2, sort_keys=True)
    f.write("\n")
if meta.get("retried_runs"):
    print("runs retried once after a failure: " + " ".join(meta["retried_runs"]))
if meta.get("failed_checks"):
    print("failed checks: " + "; ".join(meta["failed_checks"]))
print()
print(summary)
EOF
[ -z "$FAILED" ] || exit 1
