#!/usr/bin/env bash
# The seccomp trace recorder: what `nucleus run --seccomp-mode trace` costs a
# syscall-heavy workload, against the same workload untraced in the same run,
# under strace, and on the bare host; and what an attached trace costs a
# process outside the container. See docs/benchmarks.md.
#
#   tools/bench/trace.sh BUILD_DIR      (normally via: make bench)
#
# Workloads: getppid_loop (lib/getppid_loop.c, 10,000,000 getppid calls,
# static) and `dd if=/dev/zero of=/dev/null bs=1 count=1M`. Runners per
# workload: host, nucleus (default filter), nucleus_allowall (the allow-all
# filter trace mode installs, no recorder), nucleus_traced, strace (host,
# 1/BENCH_TRACE_STRACE_DIV of the calls, scaled back); for getppid also
# host_while_traced (the host loop while a traced `sleep` container exists).
# Interleaved rounds, order rotated; hyperfine -N.
#
# Writes BUILD_DIR/bench/trace.json; the last line printed is
#   bench-trace: getppid_untraced=…ms getppid_traced=…ms getppid_traced/untraced=… … outside_traced/untraced=…
set -euo pipefail

BUILD=$(cd "${1:?usage: trace.sh BUILD_DIR}" && pwd)
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
# shellcheck source=lib/common.bash
source "$HERE/lib/common.bash"

[ "$(id -u)" = 0 ] || bench_die "trace: run as root (the recorder loads BPF programs)"
CC_STATIC=${BENCH_CC:-gcc}
bench_require hyperfine jq python3 strace dd bpftool "$CC_STATIC"
NUCLEUS=$BUILD/nucleus
[ -x "$NUCLEUS" ] || bench_die "trace: $NUCLEUS not built (make)"

# ---- settings ------------------------------------------------------------------
# Each run takes seconds, not milliseconds: runs per runner are BENCH_RUNS/40
# (5 by default) unless BENCH_TRACE_RUNS says otherwise.
RUNS=${BENCH_TRACE_RUNS:-$(( (BENCH_RUNS + 39) / 40 ))}
ROUNDS=${BENCH_TRACE_ROUNDS:-$(( BENCH_ROUNDS < RUNS ? BENCH_ROUNDS : RUNS ))}
CALLS=${BENCH_TRACE_CALLS:-10000000}
DD_COUNT_SPEC=${BENCH_TRACE_DD_COUNT:-1M}
STRACE_DIV=${BENCH_TRACE_STRACE_DIV:-100}
for v in RUNS ROUNDS CALLS STRACE_DIV; do
  [ "${!v}" -ge 1 ] 2>/dev/null || bench_die "trace: $v must be a positive integer (got '${!v}')"
done
[[ "$DD_COUNT_SPEC" =~ ^[0-9]+[KM]?$ ]] ||
  bench_die "trace: BENCH_TRACE_DD_COUNT must be N, NK or NM (got '$DD_COUNT_SPEC')"
case "$DD_COUNT_SPEC" in             # dd's own multipliers: K = 1024, M = 1024^2
  *K) DD_COUNT=$(( ${DD_COUNT_SPEC%K} * 1024 )) ;;
  *M) DD_COUNT=$(( ${DD_COUNT_SPEC%M} * 1048576 )) ;;
  *) DD_COUNT=$DD_COUNT_SPEC ;;
esac
[ "$DD_COUNT" -ge 1 ] 2>/dev/null || bench_die "trace: BENCH_TRACE_DD_COUNT must be at least 1"
PER_ROUND=$(( (RUNS + ROUNDS - 1) / ROUNDS ))
# strace's share of each workload (at least one call / block)
STRACE_CALLS=$(( CALLS / STRACE_DIV > 0 ? CALLS / STRACE_DIV : 1 ))
STRACE_DD_COUNT=$(( DD_COUNT / STRACE_DIV > 0 ? DD_COUNT / STRACE_DIV : 1 ))

OUT=$BUILD/bench
mkdir -p "$OUT"
WORK=$(mktemp -d "$OUT/trace.XXXXXX")
case "$WORK" in *[[:space:]]*) bench_die "trace: the build path must not contain spaces: $WORK" ;; esac
TAG=nucleus-bench-trace-$$          # container names of this run
# The container sees the host's /usr read-only but not /work: the loop is
# run from a directory of this run's own under /usr/local/lib (removed at exit).
BIN_PARENT=/usr/local/lib/nucleus-bench
BIN=$BIN_PARENT/trace-$$
HOLDER=""

cleanup() {
  set +e
  if [ -n "$HOLDER" ]; then "$NUCLEUS" rm -f "$HOLDER" >/dev/null 2>&1; fi
  bench_rm_named "$TAG"
  rm -rf "$BIN"
  rmdir "$BIN_PARENT" 2>/dev/null       # only when no other run uses it
  if [ "${BENCH_KEEP:-0}" = 1 ]; then
    echo "trace: kept the raw hyperfine exports in $WORK" >&2
  else
    rm -rf "$WORK"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

bench_start "== trace: what the seccomp trace recorder costs"

# The loop, static so the same file runs on the host and in the container.
"$CC_STATIC" -static -O2 -Wall -Wextra -o "$WORK/getppid_loop" "$BENCH_LIB/getppid_loop.c" ||
  bench_die "trace: could not build $BENCH_LIB/getppid_loop.c statically (gcc, libc6-dev)"
mv -f "$WORK/getppid_loop" "$OUT/getppid_loop"
mkdir -p "$BIN_PARENT"
mkdir "$BIN"
cp "$OUT/getppid_loop" "$BIN/getppid_loop"
LOOP=$BIN/getppid_loop
DD=$(command -v dd)
# What trace mode installs in place of the default filter, as a profile: the
# nucleus_allowall runner separates the recorder's cost from the filter's.
echo '{"defaultAction": "SCMP_ACT_ALLOW"}' > "$WORK/allow-all.json"

FAILED=""
fail() { bench_warn "$*"; FAILED="$FAILED; $*"; }

# BPF programs on the syscall tracepoints from anyone (other containers
# traced or audited, other tools): each slows every syscall on the host.
syscall_hooks() {
  bpftool -j link list 2>/dev/null |
    jq '[.[] | select(.type == "raw_tracepoint" and (.tp_name == "sys_enter" or .tp_name == "sys_exit"))] | length' 2>/dev/null ||
    echo 0
}
trace_attached() { compgen -G "/sys/fs/bpf/nucleus/trace-*/link_enter" >/dev/null; }

# ---- sanity: every runner runs, and the recorder records -------------------------
expect0() {   # expect0 WHAT CMD...
  local what=$1; shift
  "$@" </dev/null >"$WORK/sanity.log" 2>&1 && return 0
  fail "sanity: $what failed: $(head -c 400 "$WORK/sanity.log" | tr '\n' ' ')"
  return 1
}
# count NAME FILE: the count the recorder wrote for syscall NAME
count_of() { jq -r --arg n "$1" 'select(.name == $n) | .count' "$2" 2>/dev/null | head -1; }

SMALL=100000
expect0 "host loop" "$LOOP" 1000 || true
expect0 "nucleus" "$NUCLEUS" run --name "$TAG-check" -- "$LOOP" 1000 || true
expect0 "nucleus with the allow-all profile" "$NUCLEUS" run --name "$TAG-check" --seccomp-profile "$WORK/allow-all.json" -- \
  /bin/sh -c "grep -q '^Seccomp:[[:space:]]*2$' /proc/self/status && $LOOP 1000" || true
if expect0 "nucleus traced" "$NUCLEUS" run --name "$TAG-check" --seccomp-mode trace --seccomp-log "$WORK/check.ndjson" -- "$LOOP" "$SMALL"; then
  got=$(count_of getppid "$WORK/check.ndjson")
  [ "$got" = "$SMALL" ] || fail "sanity: the recorder counted '${got:-nothing}' getppid calls, expected $SMALL"
fi
if expect0 "nucleus traced dd" "$NUCLEUS" run --name "$TAG-check" --seccomp-mode trace --seccomp-log "$WORK/check.ndjson" -- \
     "$DD" if=/dev/zero of=/dev/null bs=1 count=1000; then
  got=$(count_of write "$WORK/check.ndjson")
  [ "${got:-0}" -ge 1000 ] || fail "sanity: the recorder counted '${got:-nothing}' writes of dd, expected at least 1000"
fi
if expect0 "strace" strace -f -c -o "$WORK/strace-check.txt" "$LOOP" 1000; then
  got=$(awk '$NF == "getppid" { print $4 }' "$WORK/strace-check.txt")
  [ "$got" = 1000 ] || fail "sanity: strace -c counted '${got:-nothing}' getppid calls, expected 1000"
fi
[ -z "$FAILED" ] || bench_die "trace: sanity checks failed:${FAILED#;}"

# ---- the background traced container (for host_while_traced) ---------------------
holder_start() {   # holder_start ROUND
  HOLDER=$TAG-hold$1
  "$NUCLEUS" run -d --name "$HOLDER" --seccomp-mode trace --seccomp-log "$WORK/holder.ndjson" -- sleep 600 >/dev/null ||
    { HOLDER=""; bench_die "trace: could not start the traced background container"; }
  trace_attached || bench_die "trace: no sys_enter link pinned while $HOLDER is traced"
}
holder_stop() {
  "$NUCLEUS" rm -f "$HOLDER" >/dev/null || bench_die "trace: nucleus rm -f $HOLDER failed"
  HOLDER=""
}

# ---- runners ("name" "command" pairs; hyperfine -N splits commands on spaces) ------
GETPPID=(
  host "$LOOP $CALLS"
  host_while_traced "$LOOP $CALLS"
  nucleus "$NUCLEUS run --name $TAG-getppid -- $LOOP $CALLS"
  nucleus_allowall "$NUCLEUS run --name $TAG-getppid --seccomp-profile $WORK/allow-all.json -- $LOOP $CALLS"
  nucleus_traced "$NUCLEUS run --name $TAG-getppid --seccomp-mode trace --seccomp-log $WORK/getppid.ndjson -- $LOOP $CALLS"
  strace "strace -f -c -o /dev/null $LOOP $STRACE_CALLS"
)
DDARGS="if=/dev/zero of=/dev/null bs=1"
DDRUN=(
  host "$DD $DDARGS count=$DD_COUNT"
  nucleus "$NUCLEUS run --name $TAG-dd -- $DD $DDARGS count=$DD_COUNT"
  nucleus_allowall "$NUCLEUS run --name $TAG-dd --seccomp-profile $WORK/allow-all.json -- $DD $DDARGS count=$DD_COUNT"
  nucleus_traced "$NUCLEUS run --name $TAG-dd --seccomp-mode trace --seccomp-log $WORK/dd.ndjson -- $DD $DDARGS count=$DD_COUNT"
  strace "strace -f -c -o /dev/null $DD $DDARGS count=$STRACE_DD_COUNT"
)
{ printf 'getppid\t%s\t%s\n' "${GETPPID[@]}"; printf 'dd\t%s\t%s\n' "${DDRUN[@]}"; } > "$WORK/runners.tsv"

HOOKS=$WORK/hooks.tsv; : > "$HOOKS"    # round workload runner before after
bench_note "workloads: getppid = $LOOP $CALLS; dd = $DD $DDARGS count=$DD_COUNT (2 calls a block)"
bench_note "strace runs 1/$STRACE_DIV of each ($STRACE_CALLS getppid calls, count=$STRACE_DD_COUNT); its times are scaled back"
bench_note "timing: $ROUNDS rounds x $PER_ROUND runs per runner (BENCH_TRACE_RUNS=$RUNS), hyperfine -N, order rotated each round"
[ "$(syscall_hooks)" = 0 ] ||
  bench_warn "a BPF program is attached to sys_enter/sys_exit already (another traced or audited container?): every syscall on the host pays for it, baselines included"

# time_one ROUND WORKLOAD NAME COMMAND
time_one() {
  local r=$1 w=$2 name=$3 cmd=$4 before after
  [ "$name" = host_while_traced ] && holder_start "$r"
  before=$(syscall_hooks)
  bench_hyperfine "$WORK/round$r-$w-$name.json" 0 "$PER_ROUND" "$name" "$cmd" ||
    bench_die "trace: $w/$name failed in round $r"
  after=$(syscall_hooks)
  [ "$name" = host_while_traced ] && holder_stop
  printf '%s\t%s\t%s\t%s\t%s\n' "$r" "$w" "$name" "$before" "$after" >> "$HOOKS"
}

for (( r = 1; r <= ROUNDS; r++ )); do
  for w in $( [ $((r % 2)) = 1 ] && echo "getppid dd" || echo "dd getppid" ); do
    if [ "$w" = getppid ]; then mapfile -t round < <(bench_rotate "$r" "${GETPPID[@]}")
    else mapfile -t round < <(bench_rotate "$r" "${DDRUN[@]}"); fi
    for (( i = 0; i < ${#round[@]}; i += 2 )); do
      time_one "$r" "$w" "${round[i]}" "${round[i+1]}"
    done
  done
  bench_note "  round $r/$ROUNDS done ($(( $(date +%s) - T0 ))s, load $(bench_loadavg))"
done

# The last timed traced runs recorded everything.
got=$(count_of getppid "$WORK/getppid.ndjson")
[ "$got" = "$CALLS" ] || fail "the last timed traced getppid run recorded '${got:-nothing}' getppid calls, expected $CALLS"
got=$(count_of read "$WORK/dd.ndjson")
[ "${got:-0}" -ge "$DD_COUNT" ] || fail "the last timed traced dd run recorded '${got:-nothing}' reads, expected at least $DD_COUNT"
# Nothing of this run may be left: named containers, the trace link.
for link in /run/nucleus/.names/"$TAG"-*; do
  [ -L "$link" ] && fail "container ${link##*/} left behind"
done

bench_check_load "at end" 1
jq -n \
  --arg date "$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
  --arg kernel "$(uname -r)" --arg cpus "$(nproc)" \
  --arg load_start "$LOAD_START" --arg load_end "$(bench_loadavg)" \
  --arg runs "$RUNS" --arg rounds "$ROUNDS" --arg per_round "$PER_ROUND" \
  --arg calls "$CALLS" --arg dd_count "$DD_COUNT" --arg strace_div "$STRACE_DIV" \
  --arg strace_calls "$STRACE_CALLS" --arg strace_dd_count "$STRACE_DD_COUNT" \
  --arg elapsed "$(( $(date +%s) - T0 ))" \
  --arg nucleus "$("$NUCLEUS" --version 2>/dev/null | head -1)" \
  --arg nucleus_sha256 "$(sha256sum < "$NUCLEUS" | cut -d' ' -f1)" \
  --arg loop_sha256 "$(sha256sum < "$LOOP" | cut -d' ' -f1)" \
  --arg commit "$(git -C "$REPO" describe --always --dirty 2>/dev/null || echo unknown)" \
  --arg hyperfine "$(hyperfine --version)" --arg strace "$(strace -V | head -1)" \
  --arg dd "$("$DD" --version | head -1)" --arg cc "$("$CC_STATIC" --version | head -1)" \
  --arg failed "${FAILED#; }" \
  '{date: $date, kernel: $kernel, cpus: ($cpus|tonumber),
    load_start: ($load_start|tonumber), load_end: ($load_end|tonumber),
    runs: ($runs|tonumber), rounds: ($rounds|tonumber), runs_per_round: ($per_round|tonumber),
    getppid_calls: ($calls|tonumber), dd_count: ($dd_count|tonumber),
    strace_div: ($strace_div|tonumber), strace_getppid_calls: ($strace_calls|tonumber),
    strace_dd_count: ($strace_dd_count|tonumber), elapsed_s: ($elapsed|tonumber),
    nucleus: $nucleus, nucleus_sha256: $nucleus_sha256, getppid_loop_sha256: $loop_sha256,
    commit: $commit,
    tools: {hyperfine: $hyperfine, strace: $strace, dd: $dd, cc: $cc},
    failed_checks: ($failed | split("; ") | map(select(. != "")))}' > "$WORK/meta.json"

# ---- report ------------------------------------------------------------------------
bench_note ""
python3 - "$WORK" "$OUT/trace.json" <<'EOF' || exit 1
import glob, json, os, re, statistics, sys

work, out_p = sys.argv[1:3]
med = statistics.median
meta = json.load(open(os.path.join(work, "meta.json")))
calls = {"getppid": meta["getppid_calls"], "dd": 2 * meta["dd_count"]}
# strace ran 1/div of the work: its times are multiplied by the exact factor
scale = {"getppid": meta["getppid_calls"] / meta["strace_getppid_calls"],
         "dd": meta["dd_count"] / meta["strace_dd_count"]}
TARGET = 1.15

order, cmds = {}, {}
for line in open(os.path.join(work, "runners.tsv")):
    w, name, cmd = line.rstrip("\n").split("\t", 2)
    order.setdefault(w, []).append(name)
    cmds[(w, name)] = cmd

samples, rounds = {}, {}
for path in glob.glob(os.path.join(work, "round*-*.json")):
    m = re.match(r"round(\d+)-([a-z]+)-(\w+)\.json$", os.path.basename(path))
    r, w, name = int(m.group(1)), m.group(2), m.group(3)
    t = [x * 1e3 for x in json.load(open(path))["results"][0]["times"]]   # ms
    if name == "strace":
        t = [x * scale[w] for x in t]
    samples.setdefault(w, {}).setdefault(name, []).extend(t)
    rounds.setdefault(w, {}).setdefault(r, {})[name] = med(t)

hooks = []
for line in open(os.path.join(work, "hooks.tsv")):
    r, w, name, before, after = line.split()
    if name != "host_while_traced" and (int(before) or int(after)):
        hooks.append("%s/%s round %s" % (w, name, r))

def ratio(w, a, b):
    s = samples[w]
    return med(s[a]) / med(s[b]) if a in s and b in s else None

def per_round(w, a, b):
    return [x[a] / x[b] for _, x in sorted(rounds[w].items()) if a in x and b in x]

doc = {"benchmark": "trace", "unit": "ms", "statistic": "median", "meta": meta,
       "target": {"traced/untraced": "<= %.2f" % TARGET}, "workloads": {}}
peers = ("nucleus", "host")
for w in ("getppid", "dd"):
    print("workload %s: %s (%d syscalls)" % (w, cmds[(w, "host")], calls[w]))
    print("%-18s %11s %11s %11s %3s %8s %10s %8s" % (
        "runner", "median_ms", "min_ms", "max_ms", "n", "ns/call", "/nucleus", "/host"))
    res = {}
    for name in order[w]:
        t = sorted(samples[w].get(name, []))
        if not t:
            continue
        res[name] = {"command": cmds[(w, name)], "n": len(t), "median_ms": med(t),
                     "min_ms": t[0], "max_ms": t[-1], "mean_ms": statistics.fmean(t),
                     "ns_per_call": med(t) * 1e6 / calls[w],
                     "ratio": {p: ratio(w, name, p) for p in peers}}
        if name == "strace":
            res[name]["scaled_by"] = scale[w]
            res[name]["times_ms_unscaled"] = [x / scale[w] for x in t]
        label = name + (" (x%g)" % scale[w] if name == "strace" else "")
        print("%-18s %11.1f %11.1f %11.1f %3d %8.1f %10.3f %8.3f" % (
            label, res[name]["median_ms"], t[0], t[-1], len(t), res[name]["ns_per_call"],
            res[name]["ratio"]["nucleus"], res[name]["ratio"]["host"]))
    pr = {}
    for a, b in (("nucleus_traced", "nucleus"), ("nucleus_traced", "nucleus_allowall"),
                 ("nucleus_allowall", "nucleus"), ("strace", "nucleus"), ("host_while_traced", "host")):
        v = per_round(w, a, b)
        if v:
            pr["%s/%s" % (a, b)] = v
            print("  %s/%s per round: %s (spread %.3f..%.3f)" % (
                a, b, " ".join("%.3f" % x for x in v), min(v), max(v)))
    tr = ratio(w, "nucleus_traced", "nucleus")
    print("  target traced/untraced <= %.2f: %s (%.3f)" % (TARGET, "met" if tr <= TARGET else "NOT met", tr))
    print()
    doc["workloads"][w] = {"command": cmds[(w, "host")], "syscalls": calls[w], "results": res,
                           "ratio_per_round": pr,
                           "traced/untraced": tr,
                           "traced/allowall": ratio(w, "nucleus_traced", "nucleus_allowall"),
                           "strace/untraced": ratio(w, "strace", "nucleus"),
                           "target_met": tr <= TARGET}

outside = ratio("getppid", "host_while_traced", "host")
doc["outside_traced/untraced"] = outside
print("outside the container: the host getppid loop while a traced container exists / without: %.3f" % outside)
if hooks:
    doc["foreign_syscall_hooks"] = hooks
    print("warning: a sys_enter/sys_exit BPF program not of this run was attached during: " + ", ".join(hooks))
    print("         (another traced or audited container): those baselines ran slower than on a quiet host")
if meta["failed_checks"]:
    print("failed checks: " + "; ".join(meta["failed_checks"]))

g, d = doc["workloads"]["getppid"], doc["workloads"]["dd"]
summary = ("bench-trace: getppid_untraced=%.0fms getppid_traced=%.0fms getppid_traced/untraced=%.3f "
           "getppid_traced/allowall=%.3f getppid_strace/untraced=%.2f dd_untraced=%.0fms dd_traced=%.0fms "
           "dd_traced/untraced=%.3f dd_traced/allowall=%.3f dd_strace/untraced=%.2f outside_traced/untraced=%.3f" % (
               g["results"]["nucleus"]["median_ms"], g["results"]["nucleus_traced"]["median_ms"],
               g["traced/untraced"], g["traced/allowall"], g["strace/untraced"],
               d["results"]["nucleus"]["median_ms"], d["results"]["nucleus_traced"]["median_ms"],
               d["traced/untraced"], d["traced/allowall"], d["strace/untraced"], outside))
doc["summary"] = summary
with open(out_p, "w") as f:
    json.dump(doc, f, indent=2, sort_keys=True)
    f.write("\n")
print()
print(summary)
EOF
[ -z "$FAILED" ] || exit 1
