#!/usr/bin/env bash
# Start-up latency: the wall time of running /bin/true, fork+exec to exit,
# under each runner, all measured in the same run. See docs/benchmarks.md.
#
#   tools/bench/startup.sh BUILD_DIR      (normally via: make bench)
#
# Writes BUILD_DIR/bench/startup.json; the last line printed is
#   bench-startup: nucleus=…ms bwrap=…ms unshare=…ms crun_seccomp=…ms nucleus/bwrap=… nucleus/unshare=… …
# Before it, the stage timeline of nucleus's own start (lib/stages.py, medians
# over BENCH_STAGE_RUNS debug-logged runs; BUILD_DIR/bench/startup-stages.json).
set -euo pipefail

BUILD=$(cd "${1:?usage: startup.sh BUILD_DIR}" && pwd)
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
# shellcheck source=lib/common.bash
source "$HERE/lib/common.bash"

[ "$(id -u)" = 0 ] || bench_die "startup: run as root (crun, runc and nucleus's full sandbox need it)"
bench_require hyperfine jq python3 unshare bwrap crun "${CC:-cc}"
NUCLEUS=$BUILD/nucleus
[ -x "$NUCLEUS" ] || bench_die "startup: $NUCLEUS not built (make)"
# Docker's default profile, as the project ships it (config/seccomp).
PROFILE=${BENCH_SECCOMP_PROFILE:-$REPO/config/seccomp/docker-default.json}
# (the same file, unchanged, is kept with the fuzz seeds)
[ -r "$PROFILE" ] || PROFILE=$REPO/tests/fuzz/seeds/seccomp/docker-default.json
[ -r "$PROFILE" ] || bench_die "startup: seccomp profile not found: $PROFILE (set BENCH_SECCOMP_PROFILE)"
PROFILE=$(cd "$(dirname "$PROFILE")" && pwd)/$(basename "$PROFILE")
BUSYBOX=${BENCH_BUSYBOX:-/bin/busybox}
[ -x "$BUSYBOX" ] || bench_die "startup: $BUSYBOX missing (package busybox-static)"

OUT=$BUILD/bench
mkdir -p "$OUT"
WORK=$(mktemp -d "$OUT/startup.XXXXXX")
case "$WORK" in *[[:space:]]*) bench_die "startup: the build path must not contain spaces: $WORK" ;; esac
TAG=nucleus-bench-$$          # cgroup parent and container-id stem, unique per run
HOST_MNTNS=$(readlink /proc/self/ns/mnt)

# Run a command where crun sees a cgroup v1 host: a private mount namespace
# in which the (controller-bearing) v2 hierarchy looks empty. See lib/v1-view.
in_v1_view() {
  BENCH_PARENT_MNTNS=$HOST_MNTNS unshare -m --propagation private "$BENCH_LIB/v1-view" "$@"
}
CRUN=(crun "--root=$WORK/crun-state" --cgroup-manager=cgroupfs)
RUNC=(runc "--root=$WORK/runc-state")

cleanup() {
  set +e
  local id
  if [ -d "$WORK/crun-state" ]; then
    for id in $(in_v1_view "${CRUN[@]}" list -q 2>/dev/null); do
      in_v1_view "${CRUN[@]}" delete -f "$id" >/dev/null 2>&1
    done
  fi
  if [ -d "$WORK/runc-state" ]; then
    for id in $(runc "--root=$WORK/runc-state" list -q 2>/dev/null); do
      runc "--root=$WORK/runc-state" delete -f "$id" >/dev/null 2>&1
    done
  fi
  # Only the cgroups this run asked crun/runc to create: rmdir, deepest first.
  local d
  for d in /sys/fs/cgroup/"$TAG" /sys/fs/cgroup/*/"$TAG"; do
    [ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null
  done
  if [ "${BENCH_KEEP:-0}" = 1 ]; then
    rm -rf "$WORK/crun-state" "$WORK/runc-state"
    echo "startup: kept the bundles and raw hyperfine exports in $WORK" >&2
  else
    rm -rf "$WORK"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

bench_start "== startup: wall time of /bin/true under each runner"

# ---- helpers ------------------------------------------------------------------
"${CC:-cc}" -O2 -Wall -Wextra -o "$WORK/maxrss" "$BENCH_LIB/maxrss.c"
MAXRSS=$WORK/maxrss

# ---- the OCI bundle: busybox-static, Docker's default seccomp profile ---------
mkdir -p "$WORK/rootfs/bin"
cp "$BUSYBOX" "$WORK/rootfs/bin/busybox"
for applet in true sh grep; do ln -s busybox "$WORK/rootfs/bin/$applet"; done
python3 "$BENCH_LIB/docker-seccomp-to-oci.py" "$PROFILE" > "$WORK/seccomp.json"
(cd "$WORK" && crun spec)            # crun's own default config.json, then edit
mv "$WORK/config.json" "$WORK/spec-default.json"

# mkbundle NAME WITH_SECCOMP(true|false) ARG... : a bundle directory whose
# config.json runs ARGS over the shared read-only rootfs, no capabilities,
# namespaces pid/mount/network/uts/ipc/cgroup, cgroupfs path under $TAG.
mkbundle() {
  local name=$1 seccomp=$2; shift 2
  mkdir -p "$WORK/$name"
  local argv
  argv=$(printf '%s\n' "$@" | jq -Rn '[inputs]')  # not --args: jq eats "-c"
  jq --arg root "$WORK/rootfs" --arg cg "/$TAG/$name" --argjson seccomp "$seccomp" \
     --slurpfile profile "$WORK/seccomp.json" --argjson argv "$argv" '
    .root = {path: $root, readonly: true}
    | .process.args = $argv
    | .process.terminal = false
    | .process.capabilities = {bounding: [], effective: [], inheritable: [],
                               permitted: [], ambient: []}
    | .linux.namespaces = [{type: "pid"}, {type: "mount"}, {type: "network"},
                           {type: "uts"}, {type: "ipc"}, {type: "cgroup"}]
    | .linux.cgroupsPath = $cg
    | if $seccomp then .linux.seccomp = $profile[0] else del(.linux.seccomp) end
  ' "$WORK/spec-default.json" > "$WORK/$name/config.json"
}
SECCOMP_ON='grep -q ^Seccomp:[[:space:]]*2$ /proc/self/status'
SECCOMP_OFF='grep -q ^Seccomp:[[:space:]]*0$ /proc/self/status'
mkbundle crun_seccomp true /bin/true
mkbundle crun_seccomp.exit3 true /bin/sh -c 'exit 3'
mkbundle crun_seccomp.check true /bin/sh -c "$SECCOMP_ON"
mkbundle crun false /bin/true
mkbundle crun.exit3 false /bin/sh -c 'exit 3'
mkbundle crun.check false /bin/sh -c "$SECCOMP_OFF"
mkbundle runc true /bin/true
mkbundle runc.exit3 true /bin/sh -c 'exit 3'
mkbundle runc.check true /bin/sh -c "$SECCOMP_ON"

# ---- sanity: every runner runs, and its exit status comes through -------------
# expect WANT CMD... : run CMD, fail unless it exits WANT.
expect() {
  local want=$1 rc=0; shift
  "$@" </dev/null >"$WORK/sanity.log" 2>&1 || rc=$?
  [ "$rc" = "$want" ] && return 0
  bench_warn "sanity: '$*' exited $rc, expected $want: $(head -c 400 "$WORK/sanity.log" | tr '\n' ' ')"
  return 1
}
oci_ok() {   # oci_ok NAME RUNTIME-ARGV... : the three checks for one bundle
  local name=$1; shift
  expect 0 "$@" run "--bundle=$WORK/$name" "$TAG-$name-t" &&
  expect 3 "$@" run "--bundle=$WORK/$name.exit3" "$TAG-$name-x" &&
  expect 0 "$@" run "--bundle=$WORK/$name.check" "$TAG-$name-c"
}
nucleus_ok() {   # nucleus_ok [RUN-OPTION...]
  expect 0 "$NUCLEUS" run "$@" -- /bin/true &&
  expect 3 "$NUCLEUS" run "$@" -- /bin/sh -c 'exit 3' &&
  expect 0 "$NUCLEUS" run "$@" -- /bin/sh -c "$SECCOMP_ON"
}
host_ok() {
  expect 0 "$@" /bin/true && expect 3 "$@" /bin/sh -c 'exit 3'
}

BWRAP=(bwrap --unshare-all --ro-bind / / --proc /proc --dev /dev)
UNSHARE=(unshare -fpmniuC)

# Runners in the host's own view ("name" "command" pairs; no spaces in words).
HOST_SET=()
# Runners that need the cgroup-v1 view (crun on a hybrid host).
V1_SET=()
ORDER=$WORK/order.tsv; : > "$ORDER"
FAILED=""
add() {   # add host|v1 NAME COMMAND
  if [ "$1" = host ]; then HOST_SET+=("$2" "$3"); else V1_SET+=("$2" "$3"); fi
  printf '%s\t%s\n' "$2" "$3" >> "$ORDER"
}

if host_ok; then add host true /bin/true; else FAILED="$FAILED true"; fi
if host_ok "${UNSHARE[@]}"; then add host unshare "${UNSHARE[*]} /bin/true"; else FAILED="$FAILED unshare"; fi
if host_ok "${BWRAP[@]}"; then add host bwrap "${BWRAP[*]} /bin/true"; else FAILED="$FAILED bwrap"; fi
if oci_ok crun_seccomp in_v1_view "${CRUN[@]}"; then
  add v1 crun_seccomp "${CRUN[*]} run --bundle=$WORK/crun_seccomp $TAG-crun-s"
else FAILED="$FAILED crun_seccomp"; fi
if oci_ok crun in_v1_view "${CRUN[@]}"; then
  add v1 crun "${CRUN[*]} run --bundle=$WORK/crun $TAG-crun"
else FAILED="$FAILED crun"; fi
if command -v runc >/dev/null && oci_ok runc "${RUNC[@]}"; then
  add host runc_seccomp "${RUNC[*]} run --bundle=$WORK/runc $TAG-runc"
else bench_warn "runc left out (not installed, or it failed its sanity run)"; fi
if nucleus_ok; then add host nucleus "$NUCLEUS run -- /bin/true"; else FAILED="$FAILED nucleus"; fi
if nucleus_ok --rootless; then add host nucleus_rootless "$NUCLEUS run --rootless -- /bin/true"
else bench_warn "nucleus --rootless left out (failed its sanity run)"; fi
# The same start with Docker's profile (compiled once, then from the cache):
# against crun with the same profile.
if nucleus_ok --seccomp-profile "$PROFILE"; then
  add host nucleus_docker_profile "$NUCLEUS run --seccomp-profile $PROFILE -- /bin/true"
else FAILED="$FAILED nucleus_docker_profile"; fi
# With cgroup limits (memory, cpu, pids written before the workload runs).
if nucleus_ok --memory 256M --cpus 1 --pids 64; then
  add host nucleus_limits "$NUCLEUS run --memory 256M --cpus 1 --pids 64 -- /bin/true"
else FAILED="$FAILED nucleus_limits"; fi
[ -z "$FAILED" ] || bench_warn "left out after a failed sanity run:$FAILED"
bench_note "runners: $(cut -f1 "$ORDER" | tr '\n' ' ')"

# nucleus must not leave state behind: compare before/after.
nucleus_leftovers() {
  { ls -A /run/nucleus 2>/dev/null; find /sys/fs/cgroup -mindepth 2 -maxdepth 4 -type d -path '*/nucleus/*' 2>/dev/null; } | wc -l
}
LEFT_BEFORE=$(nucleus_leftovers)

# ---- timing: BENCH_ROUNDS rounds, each runs every runner; samples pooled ------
PER_ROUND=$(bench_runs_per_round)
bench_note "timing: $BENCH_ROUNDS rounds x $PER_ROUND runs per runner, warmup $BENCH_WARMUP (first round) / $(bench_warmup_for_round 2) (later rounds), hyperfine -N"
T0=$(date +%s)
EXPORTS=()
for (( r = 1; r <= BENCH_ROUNDS; r++ )); do
  warm=$(bench_warmup_for_round "$r")
  mapfile -t host_round < <(bench_rotate "$r" "${HOST_SET[@]}")
  mapfile -t v1_round < <(bench_rotate "$r" "${V1_SET[@]}")
  # Alternate which group goes first, so neither always follows the other.
  for group in $( [ $((r % 2)) = 1 ] && echo "host v1" || echo "v1 host" ); do
    if [ "$group" = host ] && [ ${#host_round[@]} -gt 0 ]; then
      BENCH_PREFIX=()
      bench_hyperfine "$WORK/round$r-host.json" "$warm" "$PER_ROUND" "${host_round[@]}"
      EXPORTS+=("$WORK/round$r-host.json")
    elif [ "$group" = v1 ] && [ ${#v1_round[@]} -gt 0 ]; then
      BENCH_PREFIX=(env "BENCH_PARENT_MNTNS=$HOST_MNTNS" unshare -m --propagation private "$BENCH_LIB/v1-view")
      bench_hyperfine "$WORK/round$r-v1.json" "$warm" "$PER_ROUND" "${v1_round[@]}"
      EXPORTS+=("$WORK/round$r-v1.json")
    fi
  done
  if [ $((r % 5)) = 0 ] || [ "$r" = "$BENCH_ROUNDS" ]; then
    bench_note "  round $r/$BENCH_ROUNDS done ($(( $(date +%s) - T0 ))s, load $(bench_loadavg))"
  fi
done

# ---- peak RSS: ru_maxrss of the runner process (see lib/maxrss.c) -------------
RSS_RUNS=${BENCH_RSS_RUNS:-20}
RSS=$WORK/rss.txt; : > "$RSS"
rss_of() {   # rss_of NAME PREFIX... -- COMMAND...
  local name=$1; shift
  local -a prefix=()
  while [ "$1" != -- ]; do prefix+=("$1"); shift; done; shift
  ${prefix[@]+"${prefix[@]}"} "$MAXRSS" -n "$RSS_RUNS" "$@" | awk -v n="$name" '{ print n, $1 }' >> "$RSS"
}
has() { cut -f1 "$ORDER" | grep -qx "$1"; }
has nucleus && rss_of nucleus -- "$NUCLEUS" run -- /bin/true
has nucleus_rootless && rss_of nucleus_rootless -- "$NUCLEUS" run --rootless -- /bin/true
has bwrap && rss_of bwrap -- "${BWRAP[@]}" /bin/true
has crun_seccomp && rss_of crun_seccomp in_v1_view -- "${CRUN[@]}" run "--bundle=$WORK/crun_seccomp" "$TAG-crun-s"
has runc_seccomp && rss_of runc_seccomp -- "${RUNC[@]}" run "--bundle=$WORK/runc" "$TAG-runc"
ELAPSED=$(( $(date +%s) - T0 ))

LEFT_AFTER=$(nucleus_leftovers)
[ "$LEFT_AFTER" -le "$LEFT_BEFORE" ] ||
  bench_warn "nucleus left state behind: $LEFT_BEFORE entries under /run/nucleus and its cgroups before, $LEFT_AFTER after"
if [ -d "$WORK/crun-state" ] && [ -n "$(in_v1_view "${CRUN[@]}" list -q 2>/dev/null)" ]; then
  bench_warn "crun containers left behind (removed at exit)"
fi

# ---- stage timeline: where nucleus's start spends its time ---------------------
# Separate from the timed runs (debug logging costs a little per line), the
# logs go to files, one per run.
STAGE_RUNS=${BENCH_STAGE_RUNS:-40}
if has nucleus && [ "$STAGE_RUNS" -gt 0 ]; then
  mkdir -p "$WORK/stages"
  for (( i = 1; i <= STAGE_RUNS; i++ )); do
    NUCLEUS_LOG=debug "$NUCLEUS" run -- /bin/true </dev/null >/dev/null 2>"$WORK/stages/$i.log" ||
      bench_warn "stage timeline: run $i failed"
  done
  bench_note ""
  python3 "$BENCH_LIB/stages.py" --json "$OUT/startup-stages.json" "$WORK"/stages/*.log ||
    bench_warn "stage timeline: no figures"
fi

bench_check_load "at end" 1
jq -n \
  --arg date "$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
  --arg kernel "$(uname -r)" --arg cpus "$(nproc)" \
  --arg load_start "$LOAD_START" --arg load_end "$(bench_loadavg)" \
  --arg runs "$BENCH_RUNS" --arg rounds "$BENCH_ROUNDS" --arg per_round "$PER_ROUND" \
  --arg warmup "$BENCH_WARMUP" --arg rss_runs "$RSS_RUNS" --arg elapsed "$ELAPSED" \
  --arg nucleus "$("$NUCLEUS" version 2>/dev/null | head -1)" \
  --arg nucleus_sha256 "$(sha256sum < "$NUCLEUS" | cut -d' ' -f1)" \
  --arg commit "$(git -C "$REPO" describe --always --dirty 2>/dev/null || echo unknown)" \
  --arg hyperfine "$(hyperfine --version)" --arg bwrap "$(bwrap --version)" \
  --arg crun "$(crun --version | head -1)" \
  --arg runc "$(runc --version 2>/dev/null | head -1)" \
  --arg profile "$PROFILE" --arg profile_sha256 "$(sha256sum < "$PROFILE" | cut -d' ' -f1)" \
  --arg oci_seccomp_sha256 "$(sha256sum < "$WORK/seccomp.json" | cut -d' ' -f1)" \
  --arg busybox "$("$BUSYBOX" 2>&1 | head -1)" \
  --arg failed "${FAILED# }" \
  '{date: $date, kernel: $kernel, cpus: ($cpus|tonumber),
    load_start: ($load_start|tonumber), load_end: ($load_end|tonumber),
    runs: ($runs|tonumber), rounds: ($rounds|tonumber),
    runs_per_round: ($per_round|tonumber), warmup: ($warmup|tonumber),
    rss_runs: ($rss_runs|tonumber), elapsed_s: ($elapsed|tonumber),
    nucleus: $nucleus, nucleus_sha256: $nucleus_sha256, commit: $commit,
    tools: {hyperfine: $hyperfine, bwrap: $bwrap, crun: $crun, runc: $runc, busybox: $busybox},
    seccomp_profile: $profile, seccomp_profile_sha256: $profile_sha256,
    oci_seccomp_sha256: $oci_seccomp_sha256,
    failed_sanity: ($failed | split(" ") | map(select(. != "")))}' > "$WORK/meta.json"

bench_note ""
python3 "$BENCH_LIB/report.py" --label startup --order "$ORDER" \
  --primary nucleus --peer bwrap --peer unshare --peer crun_seccomp \
  --ratio nucleus_docker_profile/crun_seccomp --ratio nucleus_limits/nucleus \
  --rss "$RSS" --meta "$WORK/meta.json" --json "$OUT/startup.json" "${EXPORTS[@]}"
