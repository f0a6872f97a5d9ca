#!/usr/bin/env bash
# Compose: `nucleus compose up -d` of N independent services (`sleep 60`)
# against the same N containers started by `nucleus run -d` one after the
# other (what a sequential `docker compose`-like start does; there is no
# docker here). The target is ≤ 0.6× on 2 cores: compose starts the
# services whose dependencies hold in parallel.
#
#   tools/bench/compose.sh BUILD_DIR      (normally via: make bench)
#
# Interleaved rounds, the order rotated each round; each start is followed
# by its teardown (`compose down -t 0`, `rm -f`), untimed. The figure is the
# median of the per-round ratios.
#
# Writes BUILD_DIR/bench/compose.json; the last line printed is
#   bench-compose: services=N compose_up=…ms run_sequential=…ms compose/sequential=…
set -euo pipefail

BUILD=$(cd "${1:?usage: compose.sh BUILD_DIR}" && pwd)
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib/common.bash
source "$HERE/lib/common.bash"

[ "$(id -u)" = 0 ] || bench_die "compose: run as root"
bench_require python3 sleep
NUCLEUS=$BUILD/nucleus
[ -x "$NUCLEUS" ] || bench_die "compose: $NUCLEUS not built (make)"

SERVICES=${BENCH_COMPOSE_SERVICES:-10}
ROUNDS=${BENCH_COMPOSE_ROUNDS:-$(( BENCH_ROUNDS < 10 ? BENCH_ROUNDS : 10 ))}
for v in SERVICES ROUNDS; do
  [ "${!v}" -ge 1 ] 2>/dev/null || bench_die "compose: $v must be a positive integer (got '${!v}')"
done

OUT=$BUILD/bench
mkdir -p "$OUT"
WORK=$(mktemp -d "$OUT/compose.XXXXXX")
NAME=benchc$$                         # the topology, and the run containers' stem
FILE=$WORK/topology.toml
{
  echo "name = \"$NAME\""
  for (( i = 1; i <= SERVICES; i++ )); do
    printf '[services.s%d]\ncommand = ["sleep", "60"]\n' "$i"
  done
} >"$FILE"

teardown() {
  "$NUCLEUS" compose -f "$FILE" down -t 0 >/dev/null 2>&1 || true
  local i
  for (( i = 1; i <= SERVICES; i++ )); do
    "$NUCLEUS" rm -f "$NAME-run-$i" >/dev/null 2>&1 || true
  done
}
cleanup() {
  set +e
  teardown
  if [ "${BENCH_KEEP:-0}" = 1 ]; then echo "compose: kept $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

bench_start "== compose: up -d of $SERVICES independent services against $SERVICES sequential run -d"

"$NUCLEUS" compose -f "$FILE" validate >/dev/null || bench_die "compose: $FILE does not validate"

ms() { echo $(( ($2 - $1) / 1000000 )); }
compose_up() {
  local t0 t1
  t0=$(date +%s%N)
  "$NUCLEUS" compose -f "$FILE" up -d >/dev/null 2>"$WORK/up.err" || { cat "$WORK/up.err" >&2; bench_die "compose: up failed"; }
  t1=$(date +%s%N)
  [ "$("$NUCLEUS" compose -f "$FILE" ps --json | python3 -c 'import json,sys; print(sum(1 for c in json.load(sys.stdin) if c["state"]=="running"))')" = "$SERVICES" ] ||
    bench_die "compose: not every service runs after up"
  echo $(( t1 - t0 ))
}
sequential() {
  local t0 t1 i
  t0=$(date +%s%N)
  for (( i = 1; i <= SERVICES; i++ )); do
    "$NUCLEUS" run -d --name "$NAME-run-$i" -- sleep 60 >/dev/null || bench_die "compose: run -d failed"
  done
  t1=$(date +%s%N)
  echo $(( t1 - t0 ))
}

# one untimed warm-up of each
compose_up >/dev/null; teardown
sequential >/dev/null; teardown

: >"$WORK/rounds.txt"
for (( r = 1; r <= ROUNDS; r++ )); do
  if (( r % 2 )); then
    c=$(compose_up); teardown; s=$(sequential); teardown
  else
    s=$(sequential); teardown; c=$(compose_up); teardown
  fi
  echo "$c $s" >>"$WORK/rounds.txt"
  bench_note "round $r: compose_up=$(( c / 1000000 ))ms run_sequential=$(( s / 1000000 ))ms"
done

python3 - "$WORK/rounds.txt" "$OUT/compose.json" "$SERVICES" "$(nproc)" <<'PY'
import json, statistics, sys
rows = [tuple(int(x) for x in l.split()) for l in open(sys.argv[1]) if l.strip()]
n, cpus = int(sys.argv[3]), int(sys.argv[4])
c = statistics.median(r[0] for r in rows) / 1e6
s = statistics.median(r[1] for r in rows) / 1e6
ratio = statistics.median(r[0] / r[1] for r in rows)
summary = "bench-compose: services=%d cpus=%d compose_up=%.0fms run_sequential=%.0fms compose/sequential=%.2f" % (
    n, cpus, c, s, ratio)
doc = {"benchmark": "compose", "summary": summary, "unit": "ms", "statistic": "median",
       "services": n, "cpus": cpus, "rounds": [{"compose_up_ms": a / 1e6, "run_sequential_ms": b / 1e6} for a, b in rows],
       "results": {"compose_up": c, "run_sequential": s}, "ratios": {"compose/sequential": ratio},
       "target": "compose/sequential <= 0.6 on 2 cores"}
with open(sys.argv[2], "w") as f:
    json.dump(doc, f, indent=2, sort_keys=True)
    f.write("\n")
print()
print(summary)
PY
