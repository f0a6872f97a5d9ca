# Helpers shared by the benchmarks under tools/bench/*.sh (sourced, not run).
#
# Settings every benchmark honours (environment):
#   BENCH_RUNS       timed runs per runner, summed over all rounds (200)
#   BENCH_ROUNDS     rounds the runs are spread over (20)
#   BENCH_WARMUP     untimed runs per runner before the first round (20);
#                    each later round starts with a twentieth of that,
#                    rounded up
#   BENCH_LOAD_WARN  1-minute load average above which a warning is printed
#                    (default: half the number of CPUs)

# shellcheck disable=SC2034  # used by the benchmarks that source this file
BENCH_LIB=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BENCH_RUNS=${BENCH_RUNS:-200}
BENCH_ROUNDS=${BENCH_ROUNDS:-20}
BENCH_WARMUP=${BENCH_WARMUP:-20}

bench_note() { printf '%s\n' "$*"; }
bench_warn() { printf 'warning: %s\n' "$*" >&2; }
bench_die() { printf 'bench: %s\n' "$*" >&2; exit 1; }

bench_require() {
  local c
  for c in "$@"; do
    command -v "$c" >/dev/null 2>&1 || bench_die "'$c' not found (run 'make deps' or './tools/deps bench' as root)"
  done
}

bench_loadavg() { cut -d' ' -f1 /proc/loadavg; }

# Warn when the machine is busy: a transient load slows every runner, but a
# sustained one makes the absolute figures meaningless (ratios survive better,
# since the rounds interleave the runners).
#   bench_check_load WHEN [OWN]
# OWN is the load the benchmark itself adds (1 once it has been running for a
# minute: one runnable process at a time), allowed on top of the limit.
bench_check_load() {
  local when=$1 own=${2:-0} load cpus limit
  load=$(bench_loadavg)
  cpus=$(nproc)
  limit=${BENCH_LOAD_WARN:-$(awk -v c="$cpus" 'BEGIN { printf "%.2f", c / 2 }')}
  limit=$(awk -v m="$limit" -v o="$own" 'BEGIN { printf "%.2f", m + o }')
  local self=""
  [ "$own" = 0 ] || self=", allowing $own for this benchmark itself"
  if awk -v l="$load" -v m="$limit" 'BEGIN { exit !(l > m) }'; then
    bench_warn "load average $load $when (> $limit on $cpus CPUs$self): other work is running, figures will be noisy; ratios are more robust than absolute times"
  else
    bench_note "load average $when: $load ($cpus CPUs)"
  fi
}

# Runs per round, so that the rounds add up to at least BENCH_RUNS.
bench_runs_per_round() {
  echo $(( (BENCH_RUNS + BENCH_ROUNDS - 1) / BENCH_ROUNDS ))
}

bench_warmup_for_round() {
  local round=$1
  if [ "$round" -eq 1 ]; then echo "$BENCH_WARMUP"; else echo $(( (BENCH_WARMUP + 19) / 20 )); fi
}

# bench_hyperfine OUT.json WARMUP RUNS NAME COMMAND [NAME COMMAND...]
# hyperfine without a shell (-N): it parses COMMAND into words itself, so no
# word may contain spaces. Its own console output goes to OUT.log. If the
# array BENCH_PREFIX is set, hyperfine runs under it (e.g. in a namespace).
bench_hyperfine() {
  local out=$1 warmup=$2 runs=$3; shift 3
  local args=()
  while [ $# -gt 0 ]; do
    args+=(-n "$1" "$2"); shift 2
  done
  ${BENCH_PREFIX[@]+"${BENCH_PREFIX[@]}"} hyperfine -N --style basic --warmup "$warmup" --runs "$runs" \
    --export-json "$out" "${args[@]}" >"${out%.json}.log" 2>&1 ||
    { cat "${out%.json}.log" >&2; return 1; }
}

# Rotate a list of "name command" pairs by N pairs, so that each round
# starts with a different runner.
bench_rotate() {
  local n=$1; shift
  local -a pairs=("$@")
  local count=$(( ${#pairs[@]} / 2 )) i j
  [ "$count" -gt 0 ] || return 0
  for (( i = 0; i < count; i++ )); do
    j=$(( (i + n) % count ))
    printf '%s\n%s\n' "${pairs[2*j]}" "${pairs[2*j+1]}"
  done
}

# The common start of a benchmark: its title, the load check, LOAD_START and
# T0, and (when WORK and NUCLEUS are set) a private copy of the nucleus
# binary to time: a concurrent `make` may rewrite $BUILD/nucleus meanwhile.
bench_start() { # TITLE
  bench_note "$1"
  bench_check_load "at start"
  LOAD_START=$(bench_loadavg)
  T0=$(date +%s)
  if [ -n "${WORK:-}" ] && [ -n "${NUCLEUS:-}" ]; then
    cp "$NUCLEUS" "$WORK/nucleus"
    NUCLEUS=$WORK/nucleus
  fi
}

# Remove (rm -f) the containers of this run: those named PREFIX-*.
bench_rm_named() { # PREFIX
  local link
  for link in /run/nucleus/.names/"$1"-*; do
    [ -L "$link" ] && "$NUCLEUS" rm -f "${link##*/}" >/dev/null 2>&1
  done
  return 0
}
