#!/usr/bin/env bash
# Service supervision: the start-up of `nucleus run -- /bin/true` with a
# service feature on, against the plain start, interleaved in the same run.
# See docs/benchmarks.md and docs/services.md.
#
#   tools/bench/services.sh BUILD_DIR      (normally via: make bench)
#
# Variants (one `variant` line each, below), each against its plain peer:
#   otlp      OTEL_EXPORTER_OTLP_ENDPOINT set to a live receiver on 127.0.0.1
#             (lib/otlp_sink.py, answering each POST as soon as its body is
#             in): the whole run, the spans' POST and the wait for its answer
#             at the exit included (against plain)
#   otlp_d    the same with -d --rm: the start path alone, what the caller
#             waits for until the container runs (against plain_d)
#   health    --health-cmd true --health-interval 30s (against plain), and
#   health_d  the same with -d --rm (against plain_d)
#   plain2    plain again (against plain): the noise floor of this run
# Every runner, the plain ones included, starts through `env VAR=VALUE`, so
# that exec of env is in every figure. A detached run's supervisor goes on
# beside the runs that follow it (its export, its cleanup), as it would on
# a host starting containers back to back; each round waits for them to
# end. (A --prepare that waits for them before each run would be cleaner,
# but any --prepare adds milliseconds to the run after it.) BENCH_ROUNDS
# interleaved rounds, the order rotated, hyperfine -N; medians over the
# pooled samples.
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
bench_require hyperfine jq python3 pgrep
NUCLEUS=$BUILD/nucleus
[ -x "$NUCLEUS" ] || bench_die "services: $NUCLEUS not built (make)"

# the plain runners export nothing, whatever the caller's environment says
unset OTEL_EXPORTER_OTLP_TRACES_ENDPOINT OTEL_EXPORTER_OTLP_ENDPOINT NUCLEUS_OTLP_ENDPOINT \
  OTEL_SERVICE_NAME OTEL_RESOURCE_ATTRIBUTES OTEL_BSP_SCHEDULE_DELAY OTEL_SDK_DISABLED OTEL_TRACES_EXPORTER

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
# variant NAME PEER VAR=VALUE [RUN-OPTION...]: `env VAR=VALUE nucleus run
# OPTIONS -- /bin/true`, compared with PEER (- for none: a peer itself),
# after a sanity run (nothing on stderr; without -d, the exit status comes
# through); no word may contain spaces.
RATIOS=()
variant() {
  local name=$1 peer=$2 env=$3; shift 3
  local ok=1 rc=0
  env "$env" "$NUCLEUS" run "$@" -- /bin/true </dev/null >/dev/null 2>"$WORK/sanity.err" || rc=$?
  if [ "$rc" != 0 ] || [ -s "$WORK/sanity.err" ]; then
    bench_warn "sanity: $name exited $rc: $(head -c 400 "$WORK/sanity.err" | tr '\n' ' ')"
    ok=0
  fi
  case " $* " in
    *" -d "*) ;;
    *) [ "$ok" = 0 ] || expect 3 env "$env" "$NUCLEUS" run "$@" -- /bin/sh -c 'exit 3' || ok=0 ;;
  esac
  if [ "$ok" = 1 ]; then
    SET+=("$name" "env $env $NUCLEUS run $* -- /bin/true")
    printf '%s\t%s\n' "$name" "env $env $NUCLEUS run $* -- /bin/true" >> "$ORDER"
    [ "$peer" = - ] || RATIOS+=(--ratio "$name/$peer")
  else
    FAILED="$FAILED $name"
  fi
}
variant plain - NUCLEUS_BENCH=1
variant plain2 plain NUCLEUS_BENCH=2
variant otlp plain "OTEL_EXPORTER_OTLP_ENDPOINT=$OTLP"
variant plain_d - NUCLEUS_BENCH=1 -d --rm
variant otlp_d plain_d "OTEL_EXPORTER_OTLP_ENDPOINT=$OTLP" -d --rm
variant health plain NUCLEUS_BENCH=1 --health-cmd true --health-interval 30s
variant health_d plain_d NUCLEUS_BENCH=1 --health-cmd true --health-interval 30s -d --rm
[ -z "$FAILED" ] || bench_warn "left out after a failed sanity run:$FAILED"
grep -qx plain <(cut -f1 "$ORDER") || bench_die "services: the plain start failed its sanity run"
# The detached containers' supervisors (this run's private copy of the
# binary, bench_start) end by themselves (--rm): none is left running when
# the next round starts or the receiver goes.
wait_detached() {
  local i
  for (( i = 0; i < 100; i++ )); do
    pgrep -f "^$NUCLEUS run " >/dev/null || return 0
    sleep 0.1
  done
  bench_warn "detached containers still running after 10 s"
}
wait_detached
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
  wait_detached
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
python3 "$BENCH_LIB/report.py" --label services --order "$ORDER" \
  --primary plain ${RATIOS[@]+"${RATIOS[@]}"} \
  --meta "$WORK/meta.json" --json "$OUT/services.json" "${EXPORTS[@]}"
