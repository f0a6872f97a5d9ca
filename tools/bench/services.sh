#!/usr/bin/env bash
# Service supervision: the start-up of `nucleus run -- /bin/true` with a
# service feature on, against the plain start, interleaved in the same run.
# See docs/benchmarks.md and docs/services.md.
#
#   tools/bench/services.sh BUILD_DIR      (normally via: make bench)
#
# Variants (one `variant` line each, below):
#   otlp    OTEL_EXPORTER_OTLP_ENDPOINT set to a live receiver on 127.0.0.1
#           (lib/otlp_sink.py, answering each POST as soon as its body is
#           in): the run's spans exported, the exit waiting for the answer
# Every runner, the plain one included, starts through `env VAR=VALUE`, so
# that exec of env is in every figure. BENCH_ROUNDS interleaved rounds, the
# order rotated, hyperfine -N; medians over the pooled samples.
#
# Writes BUILD_DIR/bench/services.json; the last line printed is
#   bench-services: plain=…ms otlp=…ms … otlp/plain=… …
set -euo pipefail

BUILD=$(cd "${1:?usage: services.sh BUILD_DIR}" && pwd)
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
# shellcheck source=lib/common.bash
source "$HERE/lib/common.bash"

[ "$(id -u)" = 0 ] || bench_die "services: run as root (nucleus's full sandbox needs it)"
bench_require hyperfine jq python3
NUCLEUS=$BUILD/nucleus
[ -x "$NUCLEUS" ] || bench_die "services: $NUCLEUS not built (make)"

OUT=$BUILD/bench
mkdir -p "$OUT"
WORK=$(mktemp -d "$OUT/services.XXXXXX")
case "$WORK" in *[[:space:]]*) bench_die "services: the build path must not contain spaces: $WORK" ;; esac
SINK_PID=""
cleanup() {
  set +e
  if [ -n "$SINK_PID" ]; then kill "$SINK_PID" 2>/dev/null; wait "$SINK_PID" 2>/dev/null; fi
  if [ "${BENCH_KEEP:-0}" = 1 ]; then
    echo "services: kept the raw hyperfine exports in $WORK" >&2
  else
    rm -rf "$WORK"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

bench_start "== services: start-up of /bin/true with a service feature on, against plain"

# ---- the receiver ----------------------------------------------------------------
python3 "$BENCH_LIB/otlp_sink.py" "$WORK/sink.log" "$WORK/sink.port" &
SINK_PID=$!
for (( i = 0; i < 50; i++ )); do [ -s "$WORK/sink.port" ] && break; sleep 0.1; done
[ -s "$WORK/sink.port" ] || bench_die "services: the OTLP receiver did not start"
OTLP=http://127.0.0.1:$(cat "$WORK/sink.port")

# ---- the runners -----------------------------------------------------------------
ORDER=$WORK/order.tsv; : > "$ORDER"
SET=()
FAILED=""
# expect WANT CMD... : run CMD, fail unless it exits WANT.
expect() {
  local want=$1 rc=0; shift
  "$@" </dev/null >"$WORK/sanity.log" 2>&1 || rc=$?
  [ "$rc" = "$want" ] && return 0
  bench_warn "sanity: '$*' exited $rc, expected $want: $(head -c 400 "$WORK/sanity.log" | tr '\n' ' ')"
  return 1
}
# variant NAME VAR=VALUE [RUN-OPTION...]: `env VAR=VALUE nucleus run OPTIONS
# -- /bin/true`, after a sanity run (exit statuses come through, nothing on
# stderr); no word may contain spaces.
variant() {
  local name=$1 env=$2; shift 2
  if expect 0 env "$env" "$NUCLEUS" run "$@" -- /bin/true && [ ! -s "$WORK/sanity.log" ] &&
     expect 3 env "$env" "$NUCLEUS" run "$@" -- /bin/sh -c 'exit 3'; then
    SET+=("$name" "env $env $NUCLEUS run $* -- /bin/true")
    printf '%s\t%s\n' "$name" "env $env $NUCLEUS run $* -- /bin/true" >> "$ORDER"
  else
    FAILED="$FAILED $name"
  fi
}
variant plain NUCLEUS_BENCH=1
variant otlp "OTEL_EXPORTER_OTLP_ENDPOINT=$OTLP"
[ -z "$FAILED" ] || bench_warn "left out after a failed sanity run:$FAILED"
grep -qx plain <(cut -f1 "$ORDER") || bench_die "services: the plain start failed its sanity run"
if grep -qx otlp <(cut -f1 "$ORDER"); then
  # the sanity runs' spans reached the receiver
  grep -q '^/v1/traces ' "$WORK/sink.log" || bench_die "services: no span reached the receiver"
fi
bench_note "runners: $(cut -f1 "$ORDER" | tr '\n' ' ')"
: > "$WORK/sink.log"

# ---- timing ------------------------------------------------------------------------
PER_ROUND=$(bench_runs_per_round)
bench_note "timing: $BENCH_ROUNDS rounds x $PER_ROUND runs per runner, warmup $BENCH_WARMUP (first round) / $(bench_warmup_for_round 2) (later rounds), hyperfine -N"
EXPORTS=()
for (( r = 1; r <= BENCH_ROUNDS; r++ )); do
  mapfile -t round < <(bench_rotate "$r" "${SET[@]}")
  bench_hyperfine "$WORK/round$r.json" "$(bench_warmup_for_round "$r")" "$PER_ROUND" "${round[@]}"
  EXPORTS+=("$WORK/round$r.json")
  if [ $((r % 5)) = 0 ] || [ "$r" = "$BENCH_ROUNDS" ]; then
    bench_note "  round $r/$BENCH_ROUNDS done ($(( $(date +%s) - T0 ))s, load $(bench_loadavg))"
  fi
done
ELAPSED=$(( $(date +%s) - T0 ))
POSTS=$(wc -l < "$WORK/sink.log")
bench_note "the receiver got $POSTS POSTs during the timing"

bench_check_load "at end" 1
jq -n \
  --arg date "$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
  --arg kernel "$(uname -r)" --arg cpus "$(nproc)" \
  --arg load_start "$LOAD_START" --arg load_end "$(bench_loadavg)" \
  --arg runs "$BENCH_RUNS" --arg rounds "$BENCH_ROUNDS" --arg per_round "$PER_ROUND" \
  --arg warmup "$BENCH_WARMUP" --arg elapsed "$ELAPSED" --arg posts "$POSTS" \
  --arg nucleus "$("$NUCLEUS" version 2>/dev/null | head -1)" \
  --arg commit "$(git -C "$REPO" describe --always --dirty 2>/dev/null || echo unknown)" \
  --arg hyperfine "$(hyperfine --version)" --arg failed "${FAILED# }" \
  '{date: $date, kernel: $kernel, cpus: ($cpus|tonumber),
    load_start: ($load_start|tonumber), load_end: ($load_end|tonumber),
    runs: ($runs|tonumber), rounds: ($rounds|tonumber),
    runs_per_round: ($per_round|tonumber), warmup: ($warmup|tonumber),
    elapsed_s: ($elapsed|tonumber), otlp_posts: ($posts|tonumber),
    nucleus: $nucleus, commit: $commit, tools: {hyperfine: $hyperfine},
    failed_sanity: ($failed | split(" ") | map(select(. != "")))}' > "$WORK/meta.json"

bench_note ""
PEERS=()
while IFS=$'\t' read -r name _; do
  [ "$name" = plain ] || PEERS+=(--ratio "$name/plain")
done < "$ORDER"
python3 "$BENCH_LIB/report.py" --label services --order "$ORDER" \
  --primary plain ${PEERS[@]+"${PEERS[@]}"} \
  --meta "$WORK/meta.json" --json "$OUT/services.json" "${EXPORTS[@]}"
