#!/usr/bin/env bash
# gVisor start-up: the wall time of /bin/true under
#   nucleus_gvisor  nucleus run --runtime gvisor --gvisor-platform ptrace
#   runsc           runsc run of a hand-written minimal bundle (the same
#                   platform, --network none, --ignore-cgroups): the host's
#                   /usr read-only with the /bin, /lib symlinks, /proc, a
#                   /tmp tmpfs, no capabilities
#   runsc_nucleus_bundle
#                   runsc run (with --oci-seccomp) of the bundle `nucleus
#                   bundle` writes for the same command: what nucleus's
#                   bundle costs runsc, apart from nucleus's own work
#   nucleus         native nucleus run
# all measured in the same run, interleaved. Target: nucleus_gvisor/runsc
# <= 1.05 (nucleus adds the bundle's generation, its cgroup and the
# supervisor); nucleus/nucleus_gvisor is reported, with no target.
# See docs/gvisor.md and docs/benchmarks.md.
#
#   tools/bench/gvisor.sh BUILD_DIR      (normally via: make bench)
#
# A gVisor start is ~0.2 s, so this benchmark's defaults are BENCH_RUNS=100
# and BENCH_WARMUP=5 (20 rounds of 5 runs per runner) unless set.
# Writes BUILD_DIR/bench/gvisor.json; the last line printed is
#   bench-gvisor: nucleus_gvisor=…ms runsc=…ms nucleus_gvisor/runsc=… nucleus_gvisor/runsc_nucleus_bundle=… …
set -euo pipefail

BUILD=$(cd "${1:?usage: gvisor.sh BUILD_DIR}" && pwd)
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
BENCH_RUNS=${BENCH_RUNS:-100}
BENCH_WARMUP=${BENCH_WARMUP:-5}
# shellcheck source=lib/common.bash
source "$HERE/lib/common.bash"

[ "$(id -u)" = 0 ] || bench_die "gvisor: run as root (runsc and nucleus's full sandbox need it)"
bench_require hyperfine jq python3 runsc
NUCLEUS=$BUILD/nucleus
[ -x "$NUCLEUS" ] || bench_die "gvisor: $NUCLEUS not built (make)"
PLATFORM=${BENCH_GVISOR_PLATFORM:-ptrace}

OUT=$BUILD/bench
mkdir -p "$OUT"
WORK=$(mktemp -d "$OUT/gvisor.XXXXXX")
case "$WORK" in *[[:space:]]*) bench_die "gvisor: the build path must not contain spaces: $WORK" ;; esac
TAG=nucleus-bench-gv-$$
RUNSC=(runsc "--root=$WORK/runsc-state" "--platform=$PLATFORM" --network=none --ignore-cgroups)

cleanup() {
  set +e
  local id
  if [ -d "$WORK/runsc-state" ]; then
    for id in $("${RUNSC[@]}" list -q 2>/dev/null); do
      "${RUNSC[@]}" delete -force "$id" >/dev/null 2>&1
    done
  fi
  if [ "${BENCH_KEEP:-0}" = 1 ]; then
    echo "gvisor: kept the bundle and raw hyperfine exports in $WORK" >&2
  else
    rm -rf "$WORK"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

bench_start "== gvisor: wall time of /bin/true under gVisor (runsc --platform=$PLATFORM), by nucleus and by hand"

# ---- the hand-written bundle ---------------------------------------------------
# mkbundle NAME ARG...: config.json running ARGS as root with no
# capabilities, over a read-only root whose /usr is the host's (read-only
# bind) and whose /bin, /sbin, /lib, /lib64 are the usual symlinks into it.
mkdir -p "$WORK/rootfs/usr" "$WORK/rootfs/proc" "$WORK/rootfs/tmp" "$WORK/rootfs/dev"
for l in bin sbin lib lib64; do
  if [ -L "/$l" ]; then ln -s "$(readlink "/$l")" "$WORK/rootfs/$l"; else mkdir -p "$WORK/rootfs/$l"; fi
done
mkbundle() {
  local name=$1; shift
  local argv mounts
  argv=$(printf '%s\n' "$@" | jq -Rn '[inputs]')
  mounts='[{"destination": "/proc", "type": "proc", "source": "proc"},
           {"destination": "/tmp", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "nodev"]},
           {"destination": "/usr", "type": "bind", "source": "/usr", "options": ["rbind", "ro", "nosuid", "nodev"]}]'
  for l in bin sbin lib lib64; do
    [ -L "/$l" ] || [ ! -d "/$l" ] ||
      mounts=$(jq --arg d "/$l" '. + [{destination: $d, type: "bind", source: $d, options: ["rbind", "ro"]}]' <<<"$mounts")
  done
  mkdir -p "$WORK/$name"
  jq -n --arg root "$WORK/rootfs" --argjson argv "$argv" --argjson mounts "$mounts" '{
    ociVersion: "1.0.2",
    process: {terminal: false, user: {uid: 0, gid: 0}, args: $argv,
              env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
              cwd: "/", noNewPrivileges: true,
              capabilities: {bounding: [], effective: [], inheritable: [], permitted: [], ambient: []}},
    root: {path: $root, readonly: true},
    hostname: "bench",
    mounts: $mounts,
    linux: {namespaces: [{type: "pid"}, {type: "network"}, {type: "ipc"}, {type: "uts"}, {type: "mount"}]}
  }' > "$WORK/$name/config.json"
}
mkbundle runsc /bin/true
mkbundle runsc.exit3 /bin/sh -c 'exit 3'
# gVisor's kernel is not the host's (its dmesg would say so too, but the
# default seccomp profile refuses syslog(2))
GVISOR_CHECK="! grep -qF '$(uname -r)' /proc/version"
mkbundle runsc.check /bin/sh -c "$GVISOR_CHECK"

# ---- sanity: each runs, its exit status comes through, gVisor is gVisor --------
expect() {   # expect WANT CMD...
  local want=$1 rc=0; shift
  "$@" </dev/null >"$WORK/sanity.log" 2>&1 || rc=$?
  [ "$rc" = "$want" ] && return 0
  bench_die "sanity: '$*' exited $rc, expected $want: $(head -c 400 "$WORK/sanity.log" | tr '\n' ' ')"
}
expect 0 "${RUNSC[@]}" run "--bundle=$WORK/runsc" "$TAG-t"
expect 3 "${RUNSC[@]}" run "--bundle=$WORK/runsc.exit3" "$TAG-x"
expect 0 "${RUNSC[@]}" run "--bundle=$WORK/runsc.check" "$TAG-c"
GV=(--runtime gvisor --gvisor-platform "$PLATFORM")
expect 0 "$NUCLEUS" run "${GV[@]}" -- /bin/true
expect 3 "$NUCLEUS" run "${GV[@]}" -- /bin/sh -c 'exit 3'
expect 0 "$NUCLEUS" run "${GV[@]}" -- /bin/sh -c "$GVISOR_CHECK"
expect 0 "$NUCLEUS" run -- /bin/true
"$NUCLEUS" bundle -o "$WORK/nbundle" "${GV[@]}" -- /bin/true >/dev/null || bench_die "gvisor: nucleus bundle failed"
expect 0 "${RUNSC[@]}" --oci-seccomp run "--bundle=$WORK/nbundle" "$TAG-nt"
expect 1 "$NUCLEUS" run -- /bin/sh -c "$GVISOR_CHECK"

ORDER=$WORK/order.tsv; : > "$ORDER"
SET=()
add() {   # add NAME COMMAND (no word with spaces: hyperfine -N splits it)
  SET+=("$1" "$2")
  printf '%s\t%s\n' "$1" "$2" >> "$ORDER"
}
# runsc deletes a container that `run` ended, so one id serves every run
add nucleus_gvisor "$NUCLEUS run ${GV[*]} -- /bin/true"
add runsc "${RUNSC[*]} run --bundle=$WORK/runsc $TAG-r"
# What nucleus hands runsc (its bundle, --oci-seccomp), run by hand: splits
# nucleus_gvisor/runsc into the bundle's content and nucleus's own work
add runsc_nucleus_bundle "${RUNSC[*]} --oci-seccomp run --bundle=$WORK/nbundle $TAG-n"
add nucleus "$NUCLEUS run -- /bin/true"
bench_note "runners: $(cut -f1 "$ORDER" | tr '\n' ' ')"

# nucleus must not leave state behind, nor runsc processes
nucleus_leftovers() {
  { ls -A /run/nucleus 2>/dev/null; find /sys/fs/cgroup -mindepth 2 -maxdepth 4 -type d -path '*/nucleus/*' 2>/dev/null
    pgrep -f 'runsc-sandbox --root=/run/nucleus/' 2>/dev/null || true; } | wc -l
}
LEFT_BEFORE=$(nucleus_leftovers)

# ---- timing: BENCH_ROUNDS rounds, each runs every runner; samples pooled ------
PER_ROUND=$(bench_runs_per_round)
bench_note "timing: $BENCH_ROUNDS rounds x $PER_ROUND runs per runner, warmup $BENCH_WARMUP (first round) / $(bench_warmup_for_round 2) (later rounds), hyperfine -N"
T0=$(date +%s)
EXPORTS=()
for (( r = 1; r <= BENCH_ROUNDS; r++ )); do
  mapfile -t round < <(bench_rotate "$r" "${SET[@]}")
  BENCH_PREFIX=()
  bench_hyperfine "$WORK/round$r.json" "$(bench_warmup_for_round "$r")" "$PER_ROUND" "${round[@]}"
  EXPORTS+=("$WORK/round$r.json")
  if [ $((r % 5)) = 0 ] || [ "$r" = "$BENCH_ROUNDS" ]; then
    bench_note "  round $r/$BENCH_ROUNDS done ($(( $(date +%s) - T0 ))s, load $(bench_loadavg))"
  fi
done
ELAPSED=$(( $(date +%s) - T0 ))

LEFT_AFTER=$(nucleus_leftovers)
[ "$LEFT_AFTER" -le "$LEFT_BEFORE" ] ||
  bench_warn "nucleus left state behind: $LEFT_BEFORE entries (state, cgroups, sandboxes) before, $LEFT_AFTER after"
[ -z "$("${RUNSC[@]}" list -q 2>/dev/null)" ] || bench_warn "runsc containers of the hand-written bundle left behind (removed at exit)"

bench_check_load "at end" 1
jq -n \
  --arg date "$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
  --arg kernel "$(uname -r)" --arg cpus "$(nproc)" \
  --arg load_start "$LOAD_START" --arg load_end "$(bench_loadavg)" \
  --arg runs "$BENCH_RUNS" --arg rounds "$BENCH_ROUNDS" --arg per_round "$PER_ROUND" \
  --arg warmup "$BENCH_WARMUP" --arg elapsed "$ELAPSED" --arg platform "$PLATFORM" \
  --arg nucleus "$("$NUCLEUS" version 2>/dev/null | head -1)" \
  --arg nucleus_sha256 "$(sha256sum < "$NUCLEUS" | cut -d' ' -f1)" \
  --arg commit "$(git -C "$REPO" describe --always --dirty 2>/dev/null || echo unknown)" \
  --arg hyperfine "$(hyperfine --version)" \
  --arg runsc "$(runsc --version 2>/dev/null | head -1)" \
  --arg bundle_sha256 "$(sha256sum < "$WORK/runsc/config.json" | cut -d' ' -f1)" \
  '{date: $date, kernel: $kernel, cpus: ($cpus|tonumber),
    load_start: ($load_start|tonumber), load_end: ($load_end|tonumber),
    runs: ($runs|tonumber), rounds: ($rounds|tonumber),
    runs_per_round: ($per_round|tonumber), warmup: ($warmup|tonumber),
    elapsed_s: ($elapsed|tonumber), platform: $platform,
    nucleus: $nucleus, nucleus_sha256: $nucleus_sha256, commit: $commit,
    tools: {hyperfine: $hyperfine, runsc: $runsc},
    runsc_bundle_sha256: $bundle_sha256}' > "$WORK/meta.json"

bench_note ""
python3 "$BENCH_LIB/report.py" --label gvisor --order "$ORDER" \
  --primary nucleus_gvisor --peer runsc \
  --ratio nucleus_gvisor/runsc_nucleus_bundle --ratio runsc_nucleus_bundle/runsc --ratio nucleus/nucleus_gvisor \
  --meta "$WORK/meta.json" --json "$OUT/gvisor.json" "${EXPORTS[@]}"
