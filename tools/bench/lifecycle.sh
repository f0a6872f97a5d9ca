#!/usr/bin/env bash
# Lifecycle: what listing many containers and keeping one running cost, each
# figure against a peer measured in the same run. See docs/benchmarks.md.
#
#   tools/bench/lifecycle.sh BUILD_DIR      (normally via: make bench)
#
# 1. `nucleus ps -a` and `nucleus ps -a --json` over 500 exited containers
#    (500 real `nucleus run -d -- /bin/true`, kept until `nucleus rm`), against
#    `runc list` and `runc list -f json` over 500 stopped runc containers (500
#    real `runc run -d` of a busybox bundle running /bin/true, kept until
#    `runc delete`); both state stores private to this run, on a tmpfs, like
#    /run. The same four commands over empty state stores give the floor.
#    Interleaved rounds, order rotated, hyperfine -N.
# 2. Memory of the process that stays with a running container: the nucleus
#    supervisor (`nucleus run -- sleep`, and the same with -d) against the
#    outer bwrap process (`bwrap --unshare-all --die-with-parent --ro-bind / /
#    sleep`): VmRSS, VmHWM and Pss from /proc, and the same summed over every
#    runtime process of the container (the workload left out). runc and crun
#    keep no process of their own once the container runs (checked for runc).
#
# Start-up with limits against without is in startup.sh (nucleus_limits).
#
# Writes BUILD_DIR/bench/lifecycle.json; the last line printed is
#   bench-lifecycle: nucleus_ps=…ms runc_list=…ms nucleus_ps/runc_list=… nucleus_ps_json/runc_list_json=… nucleus_rss_kib=… bwrap_rss_kib=… nucleus/bwrap_rss=… …
set -euo pipefail

BUILD=$(cd "${1:?usage: lifecycle.sh BUILD_DIR}" && pwd)
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
# shellcheck source=lib/common.bash
source "$HERE/lib/common.bash"

[ "$(id -u)" = 0 ] || bench_die "lifecycle: run as root (runc, and nucleus's full sandbox need it)"
bench_require hyperfine jq python3 runc bwrap xargs mountpoint setsid pgrep
NUCLEUS=$BUILD/nucleus
[ -x "$NUCLEUS" ] || bench_die "lifecycle: $NUCLEUS not built (make)"
BUSYBOX=${BENCH_BUSYBOX:-/bin/busybox}
[ -x "$BUSYBOX" ] || bench_die "lifecycle: $BUSYBOX missing (package busybox-static)"

# ---- settings ------------------------------------------------------------------
ENTRIES=${BENCH_LIFECYCLE_ENTRIES:-500}
# A listing takes tens of milliseconds: BENCH_RUNS/4 timed runs per runner
# (50 by default) unless BENCH_LIFECYCLE_RUNS says otherwise.
RUNS=${BENCH_LIFECYCLE_RUNS:-$(( (BENCH_RUNS + 3) / 4 ))}
ROUNDS=$(( BENCH_ROUNDS < RUNS ? BENCH_ROUNDS : RUNS ))
WARMUP=$(( (BENCH_WARMUP + 3) / 4 ))
RSS_RUNS=${BENCH_RSS_RUNS:-20}
PARALLEL=${BENCH_LIFECYCLE_PARALLEL:-$(( $(nproc) * 2 ))}
for v in ENTRIES RUNS ROUNDS RSS_RUNS PARALLEL; do
  [ "${!v}" -ge 1 ] 2>/dev/null || bench_die "lifecycle: $v must be a positive integer (got '${!v}')"
done
PER_ROUND=$(( (RUNS + ROUNDS - 1) / ROUNDS ))
warmup_for_round() {   # like bench_warmup_for_round, on this benchmark's WARMUP
  if [ "$1" -eq 1 ]; then echo "$WARMUP"; else echo $(( (WARMUP + 19) / 20 )); fi
}

OUT=$BUILD/bench
mkdir -p "$OUT"
WORK=$(mktemp -d "$OUT/lifecycle.XXXXXX")
case "$WORK" in *[[:space:]]*) bench_die "lifecycle: the build path must not contain spaces: $WORK" ;; esac
TAG=nucleus-bench-lc-$$              # runc cgroup parent and id stem, unique per run
# The state stores: a tmpfs of this run's own (as /run is on most hosts), so
# the machine's /run/nucleus is never touched (nucleus honours NUCLEUS_ROOT).
RUNDIR=$WORK/run
NROOT=$RUNDIR/nucleus                # nucleus, ENTRIES exited containers
NROOT0=$RUNDIR/nucleus-empty         # nucleus, nothing
RROOT=$RUNDIR/runc                   # runc, ENTRIES stopped containers
RROOT0=$RUNDIR/runc-empty            # runc, nothing
export NUCLEUS_ROOT=$NROOT
MOUNTED=0
RSS_PIDS=()                          # foreground runners of the RSS part still running

# ---- cleanup: only what this run made -----------------------------------------
nucleus_ids() {   # the container directories in a nucleus state root
  local d
  for d in "$1"/*; do
    d=${d##*/}
    [[ $d =~ ^[0-9a-f]{32}$ ]] && echo "$d"
  done
  return 0
}
runc_ids() {   # the container directories in a runc state root
  local d
  for d in "$1"/*/; do
    [ -d "$d" ] && { d=${d%/}; echo "${d##*/}"; }
  done
  return 0
}
# Commands that create or delete containers run in a session of their own
# (run_creator), so that a Ctrl-C never kills a `nucleus run -d` or a `runc
# run -d` half-way through its start; the cleanup lets whatever is in flight
# finish first, and only then removes what exists.
CREATOR=""                           # session id (= pid) of the creator running
CREATOR_STOP=0                       # 1: it is an xargs, TERM it to launch no more
run_creator() {   # run_creator STOP(0|1) COMMAND...
  local stop=$1 rc=0; shift
  # <&0: an asynchronous command would otherwise get /dev/null as its stdin;
  # without job control, setsid execs in place, so $! leads the session.
  setsid -w "$@" <&0 &
  CREATOR=$!; CREATOR_STOP=$stop
  wait "$CREATOR" || rc=$?
  drain_creator
  return "$rc"
}
drain_creator() {
  [ -n "$CREATOR" ] || return 0
  local i
  [ "$CREATOR_STOP" = 1 ] && kill -TERM "$CREATOR" 2>/dev/null
  for (( i = 0; i < 600; i++ )); do
    pgrep -s "$CREATOR" >/dev/null || break
    sleep 0.1
  done
  pgrep -s "$CREATOR" >/dev/null && echo "lifecycle: commands of session $CREATOR still running after 60 s" >&2
  wait "$CREATOR" 2>/dev/null
  CREATOR=""
  return 0
}
remove_all() {   # every container of this run's state roots, whatever its state
  local d ids id
  for d in "$NROOT" "$NROOT0"; do
    mapfile -t ids < <(nucleus_ids "$d")
    [ ${#ids[@]} -eq 0 ] || NUCLEUS_ROOT=$d "$NUCLEUS" rm -f "${ids[@]}" >/dev/null 2>&1
  done
  for d in "$RROOT" "$RROOT0"; do
    for id in $(runc_ids "$d"); do
      runc --root "$d" delete -f "$id" >/dev/null 2>&1
    done
  done
}
cleanup() {
  set +e
  local p d i pass left
  drain_creator
  if [ "$MOUNTED" = 1 ]; then
    for (( pass = 1; pass <= 5; pass++ )); do
      remove_all
      # The RSS part's foreground runner, if interrupted there: a nucleus
      # one ends with its container (removed above, or in the next pass if
      # it had not written its state yet); bwrap ends on SIGTERM.
      for p in ${RSS_PIDS[@]+"${RSS_PIDS[@]}"}; do
        kill -0 "$p" 2>/dev/null || continue
        if [ "$pass" -lt 5 ]; then kill -TERM "$p" 2>/dev/null; else kill -KILL "$p" 2>/dev/null; fi
        for (( i = 0; i < 20; i++ )); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
      done
      # Busy while any supervisor still holds a file in it.
      if umount "$RUNDIR" 2>/dev/null; then MOUNTED=0; break; fi
      sleep 1
    done
    for p in ${RSS_PIDS[@]+"${RSS_PIDS[@]}"}; do wait "$p" 2>/dev/null; done
    if [ "$MOUNTED" = 1 ]; then
      echo "lifecycle: $RUNDIR still busy after 5 removal passes; detaching it (umount -l)" >&2
      umount -l "$RUNDIR" 2>/dev/null && MOUNTED=0
    fi
  fi
  # Only the cgroups this run asked runc to create: rmdir, deepest first.
  for d in /sys/fs/cgroup/"$TAG" /sys/fs/cgroup/*/"$TAG"; do
    [ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null
  done
  # nucleus's cgroups of this run's containers: its own to remove; report any.
  left=$( { awk '$2 ~ /^[0-9a-f]+$/ { print $2 }' "$WORK/nucleus-made.txt"; cat "$WORK"/ids-*.txt; } 2>/dev/null |
         while read -r id; do
           for d in /sys/fs/cgroup/nucleus/"$id" /sys/fs/cgroup/*/nucleus/"$id"; do [ -d "$d" ] && echo "$d"; done
         done)
  [ -z "$left" ] || echo "lifecycle: nucleus cgroups left behind by this run's containers: $left" >&2
  if [ "$MOUNTED" = 1 ]; then
    echo "lifecycle: could not unmount $RUNDIR; $WORK kept" >&2
  elif [ "${BENCH_KEEP:-0}" = 1 ]; then
    echo "lifecycle: kept the raw hyperfine exports and RSS samples in $WORK" >&2
  else
    rm -rf "$WORK"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

bench_start "== lifecycle: ps -a over $ENTRIES containers against runc list; the supervisor's memory against bwrap's"

mkdir -p "$RUNDIR"
mount -t tmpfs -o mode=0711,size=256m,nosuid,nodev,noexec tmpfs "$RUNDIR"
MOUNTED=1
mkdir -m 0711 "$NROOT" "$NROOT0"
mkdir -m 0700 "$RROOT" "$RROOT0"

FAILED=""
fail() { bench_warn "$*"; FAILED="$FAILED; $*"; }

# ==== 1. populate ================================================================
# runc: one bundle directory (config.json only) per container, all over one
# read-only busybox rootfs; `runc spec`'s default config with the command,
# no terminal, and a cgroup of its own under $TAG.
mkdir -p "$WORK/rootfs/bin" "$WORK/bundles"
cp "$BUSYBOX" "$WORK/rootfs/bin/busybox"
for applet in true sleep; do ln -s busybox "$WORK/rootfs/bin/$applet"; done
(cd "$WORK" && runc spec)
mv "$WORK/config.json" "$WORK/spec-default.json"
mkbundle() {   # mkbundle NAME ARG...
  mkdir -p "$WORK/bundles/$1"
  local name=$1 argv; shift
  argv=$(printf '%s\n' "$@" | jq -Rn '[inputs]')
  jq --arg root "$WORK/rootfs" --arg cg "/$TAG/$name" --argjson argv "$argv" '
    .root = {path: $root, readonly: true}
    | .process.args = $argv
    | .process.terminal = false
    | .linux.cgroupsPath = $cg
  ' "$WORK/spec-default.json" > "$WORK/bundles/$name/config.json"
}
python3 - "$WORK" "$TAG" "$ENTRIES" <<'EOF'
import json, os, sys
work, tag, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
spec = json.load(open(os.path.join(work, "spec-default.json")))
spec["root"] = {"path": os.path.join(work, "rootfs"), "readonly": True}
spec["process"]["args"] = ["/bin/true"]
spec["process"]["terminal"] = False
for i in range(1, n + 1):
    d = os.path.join(work, "bundles", "bench%d" % i)
    os.makedirs(d)
    spec["linux"]["cgroupsPath"] = "/%s/bench%d" % (tag, i)
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(spec, f, indent="\t")
EOF
seq 1 "$ENTRIES" | sed 's/^/bench/' > "$WORK/names.txt"

bench_note ""
bench_note "-- populating: $ENTRIES x 'nucleus run -d --name benchN -- /bin/true' and $ENTRIES x 'runc run -d' ($PARALLEL at a time)"
# Each helper prints one line per container: NAME and the outcome.
cat > "$WORK/nucleus-one" <<EOF
#!/bin/sh
if id=\$("$NUCLEUS" run -d --name "\$1" -- /bin/true 2>"$WORK/err.\$1" </dev/null); then
  echo "\$1 \$id"; rm -f "$WORK/err.\$1"
else echo "\$1 FAILED"; fi
EOF
cat > "$WORK/runc-one" <<EOF
#!/bin/sh
if runc --root "$RROOT" run -d --bundle "$WORK/bundles/\$1" "\$1" </dev/null >/dev/null 2>"$WORK/err.\$1"; then
  echo "\$1 ok"; rm -f "$WORK/err.\$1"
else echo "\$1 FAILED"; fi
EOF
chmod +x "$WORK/nucleus-one" "$WORK/runc-one"
t=$(date +%s.%N)
run_creator 1 xargs -r -P "$PARALLEL" -n 1 "$WORK/nucleus-one" < "$WORK/names.txt" > "$WORK/nucleus-made.txt" || true
NUCLEUS_POPULATE_S=$(awk -v a="$t" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
t=$(date +%s.%N)
run_creator 1 xargs -r -P "$PARALLEL" -n 1 "$WORK/runc-one" < "$WORK/names.txt" > "$WORK/runc-made.txt" || true
RUNC_POPULATE_S=$(awk -v a="$t" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
for rt in nucleus runc; do
  bad=$(grep -c ' FAILED$' "$WORK/$rt-made.txt" || true)
  if [ "$bad" != 0 ]; then
    first=$(grep -m1 ' FAILED$' "$WORK/$rt-made.txt" | cut -d' ' -f1)
    bench_die "lifecycle: $bad of $ENTRIES $rt containers failed to start; e.g. $first: $(head -c 400 "$WORK/err.$first" | tr '\n' ' ')"
  fi
done
bench_note "  nucleus: ${NUCLEUS_POPULATE_S}s, runc: ${RUNC_POPULATE_S}s"

# Every /bin/true has exited and every supervisor recorded it and went away.
for (( i = 0; i < 200; i++ )); do
  [ -z "$("$NUCLEUS" ps -q)" ] && break
  sleep 0.05
done
# ---- sanity: both listings show ENTRIES exited/stopped containers -------------
n_json=$("$NUCLEUS" ps -a --json)
n_all=$(jq length <<<"$n_json")
n_exited=$(jq '[.[] | select(.status == "exited" and .exit_code == 0)] | length' <<<"$n_json")
n_table=$(( $("$NUCLEUS" ps -a | wc -l) - 1 ))
if [ "$n_all" != "$ENTRIES" ] || [ "$n_exited" != "$ENTRIES" ] || [ "$n_table" != "$ENTRIES" ]; then
  bench_die "lifecycle: nucleus ps -a lists $n_all containers ($n_exited exited with 0, $n_table table rows), expected $ENTRIES exited"
fi
r_json=$(runc --root "$RROOT" list -f json)
r_all=$(jq length <<<"$r_json")
r_stopped=$(jq '[.[] | select(.status == "stopped")] | length' <<<"$r_json")
r_table=$(( $(runc --root "$RROOT" list | wc -l) - 1 ))
if [ "$r_all" != "$ENTRIES" ] || [ "$r_stopped" != "$ENTRIES" ] || [ "$r_table" != "$ENTRIES" ]; then
  bench_die "lifecycle: runc list shows $r_all containers ($r_stopped stopped, $r_table table rows), expected $ENTRIES stopped"
fi
[ "$(NUCLEUS_ROOT=$NROOT0 "$NUCLEUS" ps -a -q | wc -l)" = 0 ] || bench_die "lifecycle: the empty nucleus root is not empty"
[ "$(runc --root "$RROOT0" list -q | wc -l)" = 0 ] || bench_die "lifecycle: the empty runc root is not empty"
# No cgroup is left for an exited nucleus container (runc keeps its stopped
# containers' cgroups until `runc delete`).
n_cg=0
while read -r _ id; do
  for d in /sys/fs/cgroup/*/nucleus/"$id" /sys/fs/cgroup/nucleus/"$id"; do [ -d "$d" ] && n_cg=$((n_cg + 1)); done
done < "$WORK/nucleus-made.txt"
[ "$n_cg" = 0 ] || fail "$n_cg cgroup directories remain for exited nucleus containers"
N_STATE_BYTES=$(cat "$NROOT"/*/state.json | wc -c)
R_STATE_BYTES=$(cat "$RROOT"/*/state.json | wc -c)
bench_note "  nucleus ps -a: $n_all exited; runc list: $r_all stopped; state.json: nucleus $(( N_STATE_BYTES / ENTRIES )) bytes, runc $(( R_STATE_BYTES / ENTRIES )) bytes each on average"

# ==== 2. timing the listings =====================================================
# Two groups, one hyperfine each per round: the full stores, and the empty
# ones (nucleus finds its store through NUCLEUS_ROOT, set per group).
FULL_SET=(nucleus_ps "$NUCLEUS ps -a" nucleus_ps_json "$NUCLEUS ps -a --json"
          runc_list "runc --root $RROOT list" runc_list_json "runc --root $RROOT list -f json")
EMPTY_SET=(nucleus_ps_0 "$NUCLEUS ps -a" runc_list_0 "runc --root $RROOT0 list")
ORDER=$WORK/order.tsv
printf '%s\t%s\n' "${FULL_SET[@]}" "${EMPTY_SET[@]}" > "$ORDER"

bench_note ""
bench_note "-- listing $ENTRIES containers: $ROUNDS rounds x $PER_ROUND runs per runner, warmup $WARMUP (first round) / $(warmup_for_round 2) (later rounds), hyperfine -N"
EXPORTS=()
for (( r = 1; r <= ROUNDS; r++ )); do
  warm=$(warmup_for_round "$r")
  mapfile -t full_round < <(bench_rotate "$r" "${FULL_SET[@]}")
  mapfile -t empty_round < <(bench_rotate "$r" "${EMPTY_SET[@]}")
  for group in $( [ $((r % 2)) = 1 ] && echo "full empty" || echo "empty full" ); do
    if [ "$group" = full ]; then
      BENCH_PREFIX=(env "NUCLEUS_ROOT=$NROOT")
      bench_hyperfine "$WORK/round$r-full.json" "$warm" "$PER_ROUND" "${full_round[@]}"
      EXPORTS+=("$WORK/round$r-full.json")
    else
      BENCH_PREFIX=(env "NUCLEUS_ROOT=$NROOT0")
      bench_hyperfine "$WORK/round$r-empty.json" "$warm" "$PER_ROUND" "${empty_round[@]}"
      EXPORTS+=("$WORK/round$r-empty.json")
    fi
  done
  if [ $((r % 5)) = 0 ] || [ "$r" = "$ROUNDS" ]; then
    bench_note "  round $r/$ROUNDS done ($(( $(date +%s) - T0 ))s, load $(bench_loadavg))"
  fi
done
# The listings must not have changed anything.
[ "$("$NUCLEUS" ps -a -q | wc -l)" = "$ENTRIES" ] || fail "nucleus ps -a no longer lists $ENTRIES containers after timing"
[ "$(runc --root "$RROOT" list -q | wc -l)" = "$ENTRIES" ] || fail "runc list no longer lists $ENTRIES containers after timing"

# ---- removing them (timed for information, not a benchmark figure) -------------
mapfile -t NIDS < <(awk '{ print $2 }' "$WORK/nucleus-made.txt")
t=$(date +%s.%N)
"$NUCLEUS" rm "${NIDS[@]}" >/dev/null || fail "nucleus rm of the $ENTRIES containers failed"
NUCLEUS_RM_S=$(awk -v a="$t" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
t=$(date +%s.%N)
sed "s|^|--root $RROOT delete |" "$WORK/names.txt" > "$WORK/runc-delete.txt"
run_creator 1 xargs -r -P "$PARALLEL" -L 1 runc < "$WORK/runc-delete.txt" >/dev/null 2>&1 || fail "runc delete of some of the $ENTRIES containers failed"
RUNC_RM_S=$(awk -v a="$t" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
left_n=$(nucleus_ids "$NROOT" | wc -l)
left_r=$(runc_ids "$RROOT" | wc -l)
[ "$left_n" = 0 ] || fail "$left_n nucleus containers left after nucleus rm"
[ "$left_r" = 0 ] || fail "$left_r runc containers left after runc delete"
bench_note "  removed: nucleus rm (one command, $ENTRIES ids) ${NUCLEUS_RM_S}s; runc delete ($ENTRIES commands, $PARALLEL at a time) ${RUNC_RM_S}s"

# ==== 3. memory of what stays with a running container ============================
cat > "$WORK/rss.py" <<'EOF'
"""rss.py PID: wait until a process named `sleep` runs below PID (the
workload has exec'd), let the runtime settle, then print
  vmrss_kib vmhwm_kib pss_kib tree_rss_kib tree_pss_kib tree_procs
for PID itself and summed over PID and its descendants, the workload and
whatever is below it left out."""
import os, sys, time

def children(pid):
    out = []
    try:
        for t in os.listdir("/proc/%d/task" % pid):
            with open("/proc/%d/task/%s/children" % (pid, t)) as f:
                out += [int(x) for x in f.read().split()]
    except OSError:
        pass
    return out

def comm(pid):
    try:
        with open("/proc/%d/comm" % pid) as f:
            return f.read().strip()
    except OSError:
        return ""

def fields(path, keys):
    got = {}
    with open(path) as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in keys:
                got[k] = int(v.split()[0])
    return got

def walk(pid, acc):
    """The runtime's processes below pid (pid included), not the workload's."""
    if comm(pid) == "sleep":
        return True
    acc.append(pid)
    found = False
    for c in children(pid):
        found = walk(c, acc) or found
    return found

pid, settle = int(sys.argv[1]), float(sys.argv[2])
deadline = time.monotonic() + 10
while True:
    procs = []
    if walk(pid, procs):
        break
    if time.monotonic() > deadline or not os.path.exists("/proc/%d" % pid):
        sys.exit("rss.py: no workload below pid %d" % pid)
    time.sleep(0.01)
time.sleep(settle)
procs = []
walk(pid, procs)
st = fields("/proc/%d/status" % pid, ("VmRSS", "VmHWM"))
pss = fields("/proc/%d/smaps_rollup" % pid, ("Pss",))["Pss"]
trss = tpss = 0
for p in procs:
    trss += fields("/proc/%d/status" % p, ("VmRSS",))["VmRSS"]
    tpss += fields("/proc/%d/smaps_rollup" % p, ("Pss",))["Pss"]
print(st["VmRSS"], st["VmHWM"], pss, trss, tpss, len(procs))
EOF
SETTLE=0.2
RSS=$WORK/rss.txt; : > "$RSS"
BWRAP=(bwrap --unshare-all --die-with-parent --ro-bind / / sleep 3600)
rss_once() {   # rss_once RUNNER ROUND
  local name=$1 i=$2 pid id line
  case "$name" in
    nucleus)
      "$NUCLEUS" run --name "rss$i" -- sleep 3600 </dev/null >/dev/null 2>&1 &
      pid=$!; RSS_PIDS=("$pid") ;;
    bwrap)
      "${BWRAP[@]}" </dev/null >/dev/null 2>&1 &
      pid=$!; RSS_PIDS=("$pid") ;;
    nucleus_detached)
      run_creator 0 "$NUCLEUS" run -d --rm --name "rssd$i" -- sleep 3600 </dev/null >"$WORK/rssd.id" ||
        { fail "RSS: nucleus run -d failed"; return 1; }
      id=$(cat "$WORK/rssd.id"); echo "$id" >> "$WORK/ids-rss.txt"
      pid=$(jq -r .supervisor "$NROOT/$id/state.json") ;;
  esac
  if line=$(python3 "$WORK/rss.py" "$pid" "$SETTLE"); then
    echo "$name $line" >> "$RSS"
  else
    fail "RSS: $name: no workload showed up below pid $pid"
  fi
  # A TERM to the foreground supervisor is forwarded to the workload, and
  # sleep, pid 1 of its namespace without a handler, ignores it: stop it the
  # way a user would. bwrap's outer process dies of TERM, its child with it.
  case "$name" in
    nucleus)
      readlink "$NROOT/.names/rss$i" >> "$WORK/ids-rss.txt" || true
      "$NUCLEUS" stop -t 0 "rss$i" >/dev/null || fail "RSS: nucleus stop rss$i failed"
      wait "$pid" 2>/dev/null || true; RSS_PIDS=() ;;
    bwrap)
      kill -TERM "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true; RSS_PIDS=() ;;
    nucleus_detached)
      "$NUCLEUS" rm -f "$id" >/dev/null || fail "RSS: nucleus rm -f $id failed" ;;
  esac
}
RSS_SET=(nucleus nucleus_detached bwrap)
bench_note ""
bench_note "-- memory with a container running sleep: $RSS_RUNS samples per runner, interleaved (read ${SETTLE}s after the workload's exec)"
for (( i = 1; i <= RSS_RUNS; i++ )); do
  for (( k = 0; k < ${#RSS_SET[@]}; k++ )); do
    rss_once "${RSS_SET[$(( (k + i) % ${#RSS_SET[@]} ))]}" "$i"
  done
done

# Does runc keep a process with a running container? Start one, find its
# init's parent, delete it.
RUNC_MONITOR="not checked"
mkbundle probe /bin/sleep 3600
if runc --root "$RROOT" run -d --bundle "$WORK/bundles/probe" probe </dev/null >/dev/null 2>"$WORK/probe.err"; then
  ipid=$(runc --root "$RROOT" state probe | jq -r .pid)
  ppid=$(awk '{ print $4 }' "/proc/$ipid/stat" 2>/dev/null || echo 0)
  pcomm=$(cat "/proc/$ppid/comm" 2>/dev/null || echo "?")
  if [ "$pcomm" = runc ] || [ "$pcomm" = runc:init ]; then
    RUNC_MONITOR="a runc process ($ppid) is the running container's parent"
  else
    RUNC_MONITOR="none: once runc run -d has returned, the container's init (pid $ipid) is a child of pid $ppid ($pcomm)"
  fi
  runc --root "$RROOT" delete -f probe >/dev/null 2>&1 || fail "runc delete -f probe failed"
else
  RUNC_MONITOR="check failed: $(head -c 200 "$WORK/probe.err" | tr '\n' ' ')"
fi
if command -v conmon >/dev/null; then CONMON=installed; else CONMON="not installed"; fi
CRUN_MONITOR="none: crun run -d exits once the workload is started and nothing of crun stays (the same model as runc); a monitor such as conmon would, and conmon is $CONMON"

# ---- leftovers -------------------------------------------------------------------
left=$(nucleus_ids "$NROOT" | wc -l)
[ "$left" = 0 ] || fail "$left nucleus containers left in this run's state root"
left=$( { find /sys/fs/cgroup/"$TAG" /sys/fs/cgroup/*/"$TAG" -mindepth 1 -type d 2>/dev/null || true; } | wc -l)
[ "$left" = 0 ] || fail "$left runc cgroups left under $TAG"

ELAPSED=$(( $(date +%s) - T0 ))
bench_check_load "at end" 1
jq -n \
  --arg date "$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
  --arg kernel "$(uname -r)" --arg cpus "$(nproc)" \
  --arg load_start "$LOAD_START" --arg load_end "$(bench_loadavg)" \
  --arg entries "$ENTRIES" --arg runs "$RUNS" --arg rounds "$ROUNDS" --arg per_round "$PER_ROUND" \
  --arg warmup "$WARMUP" --arg rss_runs "$RSS_RUNS" --arg settle "$SETTLE" --arg parallel "$PARALLEL" \
  --arg elapsed "$ELAPSED" \
  --arg np "$NUCLEUS_POPULATE_S" --arg rp "$RUNC_POPULATE_S" --arg nr "$NUCLEUS_RM_S" --arg rr "$RUNC_RM_S" \
  --arg nsb "$N_STATE_BYTES" --arg rsb "$R_STATE_BYTES" \
  --arg nucleus "$("$NUCLEUS" version 2>/dev/null | head -1)" \
  --arg nucleus_sha256 "$(sha256sum < "$NUCLEUS" | cut -d' ' -f1)" \
  --arg commit "$(git -C "$REPO" describe --always --dirty 2>/dev/null || echo unknown)" \
  --arg hyperfine "$(hyperfine --version)" --arg bwrap "$(bwrap --version)" \
  --arg runc "$(runc --version 2>/dev/null | head -1)" \
  --arg crun "$(crun --version 2>/dev/null | head -1 || echo 'not installed')" \
  --arg busybox "$("$BUSYBOX" 2>&1 | head -1)" \
  --arg runc_monitor "$RUNC_MONITOR" --arg crun_monitor "$CRUN_MONITOR" \
  --arg failed "${FAILED#; }" \
  '{date: $date, kernel: $kernel, cpus: ($cpus|tonumber),
    load_start: ($load_start|tonumber), load_end: ($load_end|tonumber),
    entries: ($entries|tonumber), runs: ($runs|tonumber), rounds: ($rounds|tonumber),
    runs_per_round: ($per_round|tonumber), warmup: ($warmup|tonumber),
    rss_runs: ($rss_runs|tonumber), rss_settle_s: ($settle|tonumber), parallel: ($parallel|tonumber),
    elapsed_s: ($elapsed|tonumber),
    populate_s: {nucleus: ($np|tonumber), runc: ($rp|tonumber)},
    remove_s: {nucleus: ($nr|tonumber), runc: ($rr|tonumber)},
    state_json_bytes_total: {nucleus: ($nsb|tonumber), runc: ($rsb|tonumber)},
    nucleus: $nucleus, nucleus_sha256: $nucleus_sha256, commit: $commit,
    tools: {hyperfine: $hyperfine, bwrap: $bwrap, runc: $runc, crun: $crun, busybox: $busybox},
    monitor_process: {runc: $runc_monitor, crun: $crun_monitor},
    failed_checks: ($failed | split("; ") | map(select(. != "")))}' > "$WORK/meta.json"

# ---- report ------------------------------------------------------------------------
# report.py pools the listing rounds; its own summary line is not this
# benchmark's: keep it out of the output.
bench_note ""
bench_note "listing $ENTRIES containers (nucleus: exited, runc: stopped; *_0: the same over an empty store):"
python3 "$BENCH_LIB/report.py" --label lifecycle --order "$ORDER" \
  --primary nucleus_ps --peer runc_list \
  --ratio nucleus_ps_json/runc_list_json --ratio nucleus_ps_0/runc_list_0 \
  --json "$WORK/ps.json" "${EXPORTS[@]}" | grep -v '^bench-' | sed '/^$/d' ||
  bench_die "lifecycle: listing report failed"
python3 - "$WORK" "$OUT/lifecycle.json" "$ENTRIES" <<'EOF'
import json, os, statistics, sys

work, out_p, entries = sys.argv[1], sys.argv[2], int(sys.argv[3])
med = statistics.median
ps = json.load(open(os.path.join(work, "ps.json")))
meta = json.load(open(os.path.join(work, "meta.json")))
res = ps["results"]

def m(name):
    return res[name]["median_ms"] if name in res else None

def ratio(a, b):
    return a / b if a is not None and b is not None and b else None

def fmt(x, f="%.2f"):
    return "n/a" if x is None else f % x

# per-entry cost: (full store - empty store) / entries, in microseconds
per_entry = {}
for full, empty in (("nucleus_ps", "nucleus_ps_0"), ("nucleus_ps_json", "nucleus_ps_0"),
                    ("runc_list", "runc_list_0"), ("runc_list_json", "runc_list_0")):
    if m(full) is not None and m(empty) is not None:
        per_entry[full] = (m(full) - m(empty)) * 1e3 / entries
print()
print("per container listed, (median over %d - median over 0) / %d:" % (entries, entries))
for k, v in per_entry.items():
    print("  %-16s %7.1f us" % (k, v))

# -- memory
cols = ("vmrss_kib", "vmhwm_kib", "pss_kib", "tree_rss_kib", "tree_pss_kib", "tree_procs")
samples = {}
for line in open(os.path.join(work, "rss.txt")):
    f = line.split()
    if len(f) == 7:
        samples.setdefault(f[0], []).append(dict(zip(cols, map(int, f[1:]))))
rss = {}
for name, rows in samples.items():
    rss[name] = {"n": len(rows)}
    for c in cols:
        v = sorted(r[c] for r in rows)
        rss[name][c] = {"median": med(v), "min": v[0], "max": v[-1]}
print()
print("memory with a running container (KiB, median of samples; the workload itself left out):")
print("  %-17s %8s %8s %8s %14s %14s %6s %4s" % ("runner", "VmRSS", "VmHWM", "Pss",
      "all_runtime_RSS", "all_runtime_Pss", "procs", "n"))
for name in ("nucleus", "nucleus_detached", "bwrap"):
    if name not in rss:
        continue
    r = rss[name]
    print("  %-17s %8.0f %8.0f %8.0f %14.0f %14.0f %6.0f %4d" % (
        name, r["vmrss_kib"]["median"], r["vmhwm_kib"]["median"], r["pss_kib"]["median"],
        r["tree_rss_kib"]["median"], r["tree_pss_kib"]["median"], r["tree_procs"]["median"], r["n"]))
print("  runc              no process of its own stays: %s" % meta["monitor_process"]["runc"].split(": ", 1)[-1])
print("  crun              no process of its own stays: %s" % meta["monitor_process"]["crun"].split(": ", 1)[-1])
print("  nucleus: the supervisor (the process `nucleus run` started, or the one -d leaves);")
print("  bwrap: the outer bwrap process; all_runtime_*: summed over every process of the")
print("  runtime in the container's tree (bwrap: outer + its pid-1 child)")

def rm(name, col):
    return rss[name][col]["median"] if name in rss else None

rss_ratios = {
    "nucleus/bwrap_rss": ratio(rm("nucleus", "vmrss_kib"), rm("bwrap", "vmrss_kib")),
    "nucleus/bwrap_hwm": ratio(rm("nucleus", "vmhwm_kib"), rm("bwrap", "vmhwm_kib")),
    "nucleus/bwrap_pss": ratio(rm("nucleus", "pss_kib"), rm("bwrap", "pss_kib")),
    "nucleus/bwrap_all_rss": ratio(rm("nucleus", "tree_rss_kib"), rm("bwrap", "tree_rss_kib")),
    "nucleus_detached/bwrap_rss": ratio(rm("nucleus_detached", "vmrss_kib"), rm("bwrap", "vmrss_kib")),
}
print()
for k, v in rss_ratios.items():
    print("%s = %s" % (k, fmt(v)))

ps_ratios = {
    "nucleus_ps/runc_list": ratio(m("nucleus_ps"), m("runc_list")),
    "nucleus_ps_json/runc_list_json": ratio(m("nucleus_ps_json"), m("runc_list_json")),
    "nucleus_ps_0/runc_list_0": ratio(m("nucleus_ps_0"), m("runc_list_0")),
}
summary = "bench-lifecycle: entries=%d" % entries
for n in ("nucleus_ps", "nucleus_ps_json", "runc_list", "runc_list_json"):
    summary += " %s=%sms" % (n, fmt(m(n)))
for k in ("nucleus_ps/runc_list", "nucleus_ps_json/runc_list_json"):
    summary += " %s=%s" % (k, fmt(ps_ratios[k]))
summary += " nucleus_rss_kib=%s nucleus_detached_rss_kib=%s bwrap_rss_kib=%s" % (
    fmt(rm("nucleus", "vmrss_kib"), "%.0f"), fmt(rm("nucleus_detached", "vmrss_kib"), "%.0f"),
    fmt(rm("bwrap", "vmrss_kib"), "%.0f"))
summary += " nucleus/bwrap_rss=%s nucleus/bwrap_all_rss=%s" % (
    fmt(rss_ratios["nucleus/bwrap_rss"]), fmt(rss_ratios["nucleus/bwrap_all_rss"]))

doc = {"benchmark": "lifecycle", "summary": summary, "meta": meta,
       "listing": {"unit": "ms", "statistic": "median", "entries": entries,
                   "results": res, "ratios": ps_ratios,
                   "ratio_per_round": ps.get("ratio_per_round", {}),
                   "per_entry_us": per_entry},
       "memory": {"unit": "KiB", "statistic": "median of samples",
                  "what": {"vmrss_kib": "VmRSS of the runtime's process that stays (nucleus: the supervisor; bwrap: the outer bwrap)",
                           "vmhwm_kib": "VmHWM of the same",
                           "pss_kib": "Pss (smaps_rollup) of the same",
                           "tree_rss_kib": "VmRSS summed over every runtime process of the container, the workload left out",
                           "tree_pss_kib": "Pss summed over the same"},
                  "runners": rss, "ratios": rss_ratios,
                  "no_process": meta["monitor_process"]}}
with open(out_p, "w") as f:
    json.dump(doc, f, indent=2, sort_keys=True)
    f.write("\n")
if meta.get("failed_checks"):
    print("failed checks: " + "; ".join(meta["failed_checks"]))
print()
print(summary)
missing = [n for n in ("nucleus_ps", "runc_list") if n not in res] + \
          [n for n in ("nucleus", "bwrap") if n not in rss]
sys.exit(1 if missing else 0)
EOF
[ -z "$FAILED" ] || exit 1
