#!/usr/bin/env bash
# The supervisor's memory while it supervises: VmRSS and VmHWM of a
# detached container's supervisor with health checks running (every
# BENCH_HEALTH_INTERVAL, default 0.1 s, and a TCP readiness check), against
# the same container without checks, in the same run. See docs/services.md.
#
#   tools/bench/supervisor.sh BUILD_DIR      (normally via: make bench)
#
# Each of BENCH_SUPERVISOR_ROUNDS rounds (default 5) starts both containers
# (`sleep 60`), lets them run BENCH_SUPERVISOR_SECONDS (default 5; ~50
# probes each at 0.1 s), reads /proc/<supervisor>/status, and removes them.
# The medians are printed with their ratio and the issue's target (< 4 MiB).
#
# Writes BUILD_DIR/bench/supervisor.json; the last line printed is
#   bench-supervisor: plain_rss_kib=… health_rss_kib=… health/plain_rss=… health_hwm_kib=… probes=…
set -euo pipefail

BUILD=$(cd "${1:?usage: supervisor.sh BUILD_DIR}" && pwd)
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib/common.bash
source "$HERE/lib/common.bash"

[ "$(id -u)" = 0 ] || bench_die "supervisor: run as root"
bench_require python3
NUCLEUS=$BUILD/nucleus
[ -x "$NUCLEUS" ] || bench_die "supervisor: $NUCLEUS not built (make)"
ROUNDS=${BENCH_SUPERVISOR_ROUNDS:-5}
SECS=${BENCH_SUPERVISOR_SECONDS:-5}
INTERVAL=${BENCH_HEALTH_INTERVAL:-0.1}
OUT=$BUILD/bench
mkdir -p "$OUT"
NAMES=()
cleanup() {
  local n
  for n in "${NAMES[@]}"; do "$NUCLEUS" rm -f "$n" >/dev/null 2>&1 || true; done
}
trap cleanup EXIT

echo "== supervisor: memory of a supervisor with health checks every ${INTERVAL}s, against one without"

# kib FIELD PID: a /proc/PID/status field in KiB
kib() { awk -v f="$1:" '$1 == f { print $2 }' "/proc/$2/status"; }
supervisor_of() { # NAME
  "$NUCLEUS" ps --json --filter name="$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["supervisor_pid"])'
}
probes_of() { # NAME: results kept (at most 5) and whether the last passed
  "$NUCLEUS" inspect "$1" | python3 -c '
import json,sys
h = json.load(sys.stdin)[0]["state"].get("health") or {}
print(h.get("Status"), len(h.get("Log", [])))'
}

plain=() health=() hwm=()
for (( r = 1; r <= ROUNDS; r++ )); do
  p=sv-plain-$$-$r h=sv-health-$$-$r
  NAMES+=("$p" "$h")
  "$NUCLEUS" run -d --name "$p" -- /bin/sleep 60 >/dev/null
  "$NUCLEUS" run -d --name "$h" --health-cmd true --health-interval "$INTERVAL" \
    --health-start-interval "$INTERVAL" --readiness-tcp 9 -- /bin/sleep 60 >/dev/null
  sleep "$SECS"
  read -r hs hn < <(probes_of "$h")
  [ "$hs" = healthy ] && [ "$hn" = 5 ] || bench_die "supervisor: the checks did not run (status $hs, $hn results)"
  sp=$(supervisor_of "$p") sh=$(supervisor_of "$h")
  plain+=("$(kib VmRSS "$sp")") health+=("$(kib VmRSS "$sh")") hwm+=("$(kib VmHWM "$sh")")
  echo "  round $r: plain ${plain[-1]} KiB, health ${health[-1]} KiB (peak ${hwm[-1]} KiB)"
  "$NUCLEUS" rm -f "$p" "$h" >/dev/null
done

median() { printf '%s\n' "$@" | sort -n | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
mp=$(median "${plain[@]}") mh=$(median "${health[@]}") mw=$(median "${hwm[@]}")
ratio=$(awk -v a="$mh" -v b="$mp" 'BEGIN { printf "%.2f", a / b }')
probes=$(awk -v s="$SECS" -v i="$INTERVAL" 'BEGIN { printf "%d", s / i }')
verdict=$(awk -v w="$mw" 'BEGIN { print (w < 4096) ? "under" : "OVER" }')
echo "  median RSS: plain $mp KiB, with checks $mh KiB (${ratio}x); peak $mw KiB: $verdict the 4 MiB target"
cat > "$OUT/supervisor.json" <<EOF
{"rounds": $ROUNDS, "seconds": $SECS, "interval_s": $INTERVAL, "plain_rss_kib": $mp, "health_rss_kib": $mh,
 "health_hwm_kib": $mw, "health_over_plain": $ratio, "probes_per_round": $probes}
EOF
echo "bench-supervisor: plain_rss_kib=$mp health_rss_kib=$mh health/plain_rss=$ratio health_hwm_kib=$mw probes=$probes"
