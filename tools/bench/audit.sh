#!/usr/bin/env bash
# Audit: what `nucleus run --audit` costs an exec-heavy and an open-heavy
# workload, against the same workload without --audit in the same run; and
# how long an audit event takes to reach `nucleus audit tail -f`, against a
# plain file follower (coreutils `tail -F` of the same file) in the same run.
# See docs/benchmarks.md.
#
#   tools/bench/audit.sh BUILD_DIR      (normally via: make bench)
#
# Workloads (static, lib/exec_loop.c and lib/open_loop.c): 2,000 fork+exec
# of /bin/true; 200,000 open+close, 1 in 100 of a /proc/sys file (an audit
# event each). Runners: host (reference), nucleus, nucleus_audit;
# interleaved rounds, order rotated; hyperfine -N.
#
# Writes BUILD_DIR/bench/audit.json; the last line printed is
#   bench-audit: exec_off=…ms exec_audit=…ms exec_audit/off=… open_off=… … tail_median_ms=… tail_p99_ms=… …
set -euo pipefail

BUILD=$(cd "${1:?usage: audit.sh BUILD_DIR}" && pwd)
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
# shellcheck source=lib/common.bash
source "$HERE/lib/common.bash"

[ "$(id -u)" = 0 ] || bench_die "audit: run as root (audit loads BPF programs)"
CC_STATIC=${BENCH_CC:-gcc}
bench_require hyperfine jq python3 tail "$CC_STATIC"
NUCLEUS=$BUILD/nucleus
[ -x "$NUCLEUS" ] || bench_die "audit: $NUCLEUS not built (make)"
HOST_LOG=/var/log/nucleus/audit.jsonl      # AUDIT_HOST_LOG in include/nucleus/audit.h

# ---- settings ------------------------------------------------------------------
# Runs take seconds: runs per runner are BENCH_RUNS/20 (10 by default)
# unless BENCH_AUDIT_RUNS says otherwise.
RUNS=${BENCH_AUDIT_RUNS:-$(( (BENCH_RUNS + 19) / 20 ))}
ROUNDS=${BENCH_AUDIT_ROUNDS:-$(( BENCH_ROUNDS < RUNS ? BENCH_ROUNDS : RUNS ))}
EXECS=${BENCH_AUDIT_EXECS:-2000}
OPENS=${BENCH_AUDIT_OPENS:-200000}
EVERY=${BENCH_AUDIT_SENSITIVE_EVERY:-100}
LAT_EVENTS=${BENCH_AUDIT_LAT_EVENTS:-300}
LAT_INTERVAL_MS=${BENCH_AUDIT_LAT_INTERVAL_MS:-5}
for v in RUNS ROUNDS EXECS OPENS LAT_EVENTS; do
  [ "${!v}" -ge 1 ] 2>/dev/null || bench_die "audit: $v must be a positive integer (got '${!v}')"
done
for v in EVERY LAT_INTERVAL_MS; do
  [ "${!v}" -ge 0 ] 2>/dev/null || bench_die "audit: $v must be an integer >= 0 (got '${!v}')"
done
PER_ROUND=$(( (RUNS + ROUNDS - 1) / ROUNDS ))

OUT=$BUILD/bench
mkdir -p "$OUT"
WORK=$(mktemp -d "$OUT/audit.XXXXXX")
case "$WORK" in *[[:space:]]*) bench_die "audit: the build path must not contain spaces: $WORK" ;; esac
TAG=nucleus-bench-audit-$$          # container names of this run
# The container sees the host's /usr read-only but not /work: the loops are
# run from a directory of this run's own under /usr/local/lib (removed at exit).
BIN_PARENT=/usr/local/lib/nucleus-bench
BIN=$BIN_PARENT/audit-$$
PIDS=()                              # readers this run started in the background

cleanup() {
  set +e
  local p
  for p in ${PIDS[@]+"${PIDS[@]}"}; do kill -TERM "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
  bench_rm_named "$TAG"
  rm -rf "$BIN"
  rmdir "$BIN_PARENT" 2>/dev/null       # only when no other run uses it
  if [ "${BENCH_KEEP:-0}" = 1 ]; then
    echo "audit: kept the raw hyperfine exports and latency samples in $WORK" >&2
  else
    rm -rf "$WORK"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

bench_start "== audit: what --audit costs, and how fast audit tail -f sees an event"

mkdir -p "$BIN_PARENT"
mkdir "$BIN"
for prog in exec_loop open_loop; do
  "$CC_STATIC" -static -O2 -Wall -Wextra -o "$WORK/$prog" "$BENCH_LIB/$prog.c" ||
    bench_die "audit: could not build $BENCH_LIB/$prog.c statically (gcc, libc6-dev)"
  mv -f "$WORK/$prog" "$OUT/$prog"
  cp "$OUT/$prog" "$BIN/$prog"
done
EXEC_LOOP=$BIN/exec_loop
OPEN_LOOP=$BIN/open_loop

FAILED=""
fail() { bench_warn "$*"; FAILED="$FAILED; $*"; }
expect0() {   # expect0 WHAT CMD...
  local what=$1; shift
  "$@" </dev/null >"$WORK/sanity.log" 2>&1 && return 0
  fail "sanity: $what failed: $(head -c 400 "$WORK/sanity.log" | tr '\n' ' ')"
  return 1
}
# events NAME: the JSON lines of a container (gone or not) of this run
events() { "$NUCLEUS" audit tail --json "$1"; }

# ---- sanity: the runners run, and audit records what the workloads do -------------
SOURCE=unknown REASON=""
expect0 "host exec loop" "$EXEC_LOOP" 3 /bin/true || true
expect0 "host open loop" "$OPEN_LOOP" 100 10 || true
expect0 "nucleus exec loop" "$NUCLEUS" run --name "$TAG-check" -- "$EXEC_LOOP" 3 /bin/true || true
if expect0 "nucleus --audit exec loop" "$NUCLEUS" run --audit --name "$TAG-check-exec" -- "$EXEC_LOOP" 20 /bin/true x; then
  got=$(events "$TAG-check-exec" | jq -c 'select(.type == "exec" and .details.filename == "/bin/true")' | wc -l)
  [ "$got" = 20 ] || fail "sanity: $got exec events of /bin/true, expected 20"
  SOURCE=$(events "$TAG-check-exec" | jq -r 'select(.type == "audit") | .details.source' | head -1)
  REASON=$(events "$TAG-check-exec" | jq -r 'select(.type == "audit") | .details.reason' | head -1)
fi
if expect0 "nucleus --audit open loop" "$NUCLEUS" run --audit --name "$TAG-check-open" -- "$OPEN_LOOP" 1000 10; then
  got=$(events "$TAG-check-open" | jq -c 'select(.type == "open" and (.details.path | startswith("/proc/sys/")))' | wc -l)
  [ "$got" = 100 ] || fail "sanity: $got open events under /proc/sys, expected 100 (1000 opens, 1 in 10)"
  got=$(events "$TAG-check-open" | jq -c 'select(.type == "open" and (.details.path | startswith("/etc/")))' | wc -l)
  [ "$got" = 0 ] || fail "sanity: $got open events of /etc files, expected none (not sensitive)"
fi
[ -z "$FAILED" ] || bench_die "audit: sanity checks failed:${FAILED#;}"
bench_note "audit source on this host: $SOURCE ($REASON)"

# ---- part 1: overhead, interleaved rounds ---------------------------------------------
EXEC_RUN=(
  host "$EXEC_LOOP $EXECS /bin/true"
  nucleus "$NUCLEUS run --name $TAG-exec -- $EXEC_LOOP $EXECS /bin/true"
  nucleus_audit "$NUCLEUS run --name $TAG-exec --audit -- $EXEC_LOOP $EXECS /bin/true"
)
OPEN_RUN=(
  host "$OPEN_LOOP $OPENS $EVERY"
  nucleus "$NUCLEUS run --name $TAG-open -- $OPEN_LOOP $OPENS $EVERY"
  nucleus_audit "$NUCLEUS run --name $TAG-open --audit -- $OPEN_LOOP $OPENS $EVERY"
)
{ printf 'exec\t%s\t%s\n' "${EXEC_RUN[@]}"; printf 'open\t%s\t%s\n' "${OPEN_RUN[@]}"; } > "$WORK/runners.tsv"
SENSITIVE=$(( EVERY > 0 ? OPENS / EVERY : 0 ))
bench_note ""
bench_note "-- overhead: exec = $EXECS x fork+exec /bin/true; open = $OPENS x open+close, $SENSITIVE of them under /proc/sys (audit events)"
bench_note "timing: $ROUNDS rounds x $PER_ROUND runs per runner (BENCH_AUDIT_RUNS=$RUNS), hyperfine -N, order rotated each round"
HOST_LOG_START=$(stat -c %s "$HOST_LOG" 2>/dev/null || echo 0)
for (( r = 1; r <= ROUNDS; r++ )); do
  for w in $( [ $((r % 2)) = 1 ] && echo "exec open" || echo "open exec" ); do
    if [ "$w" = exec ]; then mapfile -t round < <(bench_rotate "$r" "${EXEC_RUN[@]}")
    else mapfile -t round < <(bench_rotate "$r" "${OPEN_RUN[@]}"); fi
    for (( i = 0; i < ${#round[@]}; i += 2 )); do
      bench_hyperfine "$WORK/round$r-$w-${round[i]}.json" 0 "$PER_ROUND" "${round[i]}" "${round[i+1]}" ||
        bench_die "audit: $w/${round[i]} failed in round $r"
    done
  done
  bench_note "  round $r/$ROUNDS done ($(( $(date +%s) - T0 ))s, load $(bench_loadavg))"
done
# Events the timed audited runs lost (ring buffer full): the supervisor
# writes one audit_lost line per run that lost any. Look in the host log and
# its rotations (other containers write there too: filter by this run's names).
LOST=$({ cat "$HOST_LOG" "$HOST_LOG".[1-9] 2>/dev/null || true; } |
  { grep -F -e "\"name\":\"$TAG-exec\"" -e "\"name\":\"$TAG-open\"" || true; } |
  jq -s '[.[] | select(.type == "audit_lost") | .details.lost] | add // 0')
[ "$LOST" = 0 ] || bench_warn "the timed audited runs lost $LOST events (ring buffer full): they did less work than a lossless run"

# ---- part 2: event-to-tail latency -------------------------------------------------------
# A detached audited container waits for /context/go (a live, read-only bind
# of a directory of this run), then execs /bin/true LAT_EVENTS times,
# LAT_INTERVAL_MS apart. Two readers follow its audit file from before the
# first exec: `nucleus audit tail -f --json` (inotify on the file, a 200 ms
# poll as a fallback; see src/cli/audit.c) and coreutils `tail -F` of the
# same file. Each stamps every line with CLOCK_REALTIME as it arrives; the
# event's own "time" is the kernel's timestamp of the exec (bpf_ktime_get_ns
# at sched_process_exec, shifted to CLOCK_REALTIME by the supervisor).
# stamp.py OUT -- COMMAND...: run COMMAND, write each line of its output to
# OUT as "arrival_ns<TAB>line"; on SIGTERM, stop COMMAND and finish.
cat > "$WORK/stamp.py" <<'EOF'
import os, signal, subprocess, sys, time
out = open(sys.argv[1], "w")
p = subprocess.Popen(sys.argv[3:], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
signal.signal(signal.SIGTERM, lambda *_: p.terminate())
fd, buf = p.stdout.fileno(), b""
while True:
    chunk = os.read(fd, 65536)
    if not chunk:
        break
    now = time.clock_gettime_ns(time.CLOCK_REALTIME)
    buf += chunk
    *lines, buf = buf.split(b"\n")
    for line in lines:
        out.write("%d\t%s\n" % (now, line.decode("utf-8", "replace")))
    out.flush()
p.wait()
EOF
LAT=$TAG-lat
mkdir "$WORK/ctx"
bench_note ""
bench_note "-- latency: $LAT_EVENTS exec events, ${LAT_INTERVAL_MS} ms apart, event time -> line read from 'nucleus audit tail -f --json' / 'tail -F FILE'"
LAT_ID=$("$NUCLEUS" run -d --audit --name "$LAT" --context "$WORK/ctx" --context-mode bind -- \
  "$EXEC_LOOP" -g /context/go -t 120 -i $(( LAT_INTERVAL_MS * 1000 )) "$LAT_EVENTS" /bin/true lat) ||
  bench_die "audit: could not start the latency container"
AUDIT_FILE=$(jq -r .audit_path "/run/nucleus/$LAT_ID/state.json" 2>/dev/null) || true
[ -f "$AUDIT_FILE" ] || bench_die "audit: the latency container's audit file '$AUDIT_FILE' is missing"
python3 "$WORK/stamp.py" "$WORK/lat-nucleus.tsv" -- "$NUCLEUS" audit tail -f --json "$LAT" &
PID_A=$!; PIDS+=("$PID_A")
python3 "$WORK/stamp.py" "$WORK/lat-file.tsv" -- tail -n +1 -F "$AUDIT_FILE" &
PID_B=$!; PIDS+=("$PID_B")
ready=0
for _ in $(seq 1 200); do
  if grep -qs '"type":"exec"' "$WORK/lat-nucleus.tsv" && grep -qs '"type":"exec"' "$WORK/lat-file.tsv"; then ready=1; break; fi
  sleep 0.05
done
[ "$ready" = 1 ] || bench_die "audit: the readers did not print the container's first events within 10 s"
touch "$WORK/ctx/go"
# `audit tail -f NAME` ends when the container does.
deadline=$(( $(date +%s) + 60 + LAT_EVENTS * (LAT_INTERVAL_MS + 100) / 1000 ))
while kill -0 "$PID_A" 2>/dev/null && [ "$(date +%s)" -lt "$deadline" ]; do sleep 0.2; done
kill -0 "$PID_A" 2>/dev/null && fail "latency: the container or 'audit tail -f' did not end in time"
sleep 0.5                     # let tail -F catch up with the last lines, then stop it
kill -TERM "$PID_A" "$PID_B" 2>/dev/null || true
wait "$PID_A" "$PID_B" 2>/dev/null || true
PIDS=()
LAT_STATUS=$("$NUCLEUS" ps -a --json 2>/dev/null | jq -r --arg n "$LAT" '.[] | select(.name == $n) | .state' 2>/dev/null || true)
case "$LAT_STATUS" in "Exited (0)"*) ;; *) fail "latency: the container's state is '$LAT_STATUS', expected Exited (0)" ;; esac
"$NUCLEUS" rm -f "$LAT" >/dev/null || fail "nucleus rm -f $LAT failed"
for link in /run/nucleus/.names/"$TAG"-*; do
  [ -L "$link" ] && fail "container ${link##*/} left behind"
done

bench_check_load "at end" 1
jq -n \
  --arg date "$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
  --arg kernel "$(uname -r)" --arg cpus "$(nproc)" \
  --arg load_start "$LOAD_START" --arg load_end "$(bench_loadavg)" \
  --arg runs "$RUNS" --arg rounds "$ROUNDS" --arg per_round "$PER_ROUND" \
  --arg execs "$EXECS" --arg opens "$OPENS" --arg every "$EVERY" --arg sensitive "$SENSITIVE" \
  --arg lat_events "$LAT_EVENTS" --arg lat_interval "$LAT_INTERVAL_MS" \
  --arg source "$SOURCE" --arg reason "$REASON" --arg lost "$LOST" \
  --arg host_log_start "$HOST_LOG_START" --arg host_log_end "$(stat -c %s "$HOST_LOG" 2>/dev/null || echo 0)" \
  --arg lat_status "$LAT_STATUS" \
  --arg elapsed "$(( $(date +%s) - T0 ))" \
  --arg nucleus "$("$NUCLEUS" --version 2>/dev/null | head -1)" \
  --arg nucleus_sha256 "$(sha256sum < "$NUCLEUS" | cut -d' ' -f1)" \
  --arg commit "$(git -C "$REPO" describe --always --dirty 2>/dev/null || echo unknown)" \
  --arg hyperfine "$(hyperfine --version)" --arg tail "$(tail --version | head -1)" \
  --arg cc "$("$CC_STATIC" --version | head -1)" \
  --arg failed "${FAILED#; }" \
  '{date: $date, kernel: $kernel, cpus: ($cpus|tonumber),
    load_start: ($load_start|tonumber), load_end: ($load_end|tonumber),
    runs: ($runs|tonumber), rounds: ($rounds|tonumber), runs_per_round: ($per_round|tonumber),
    execs: ($execs|tonumber), opens: ($opens|tonumber), sensitive_every: ($every|tonumber),
    sensitive_opens: ($sensitive|tonumber),
    latency_events: ($lat_events|tonumber), latency_interval_ms: ($lat_interval|tonumber),
    latency_container_status: $lat_status,
    audit_source: $source, audit_source_reason: $reason, timed_runs_lost_events: ($lost|tonumber),
    host_log_bytes_start: ($host_log_start|tonumber), host_log_bytes_end: ($host_log_end|tonumber),
    elapsed_s: ($elapsed|tonumber),
    nucleus: $nucleus, nucleus_sha256: $nucleus_sha256, commit: $commit,
    tools: {hyperfine: $hyperfine, tail: $tail, cc: $cc},
    failed_checks: ($failed | split("; ") | map(select(. != "")))}' > "$WORK/meta.json"

# ---- report ------------------------------------------------------------------------
bench_note ""
python3 - "$WORK" "$OUT/audit.json" <<'EOF' || exit 1
import calendar, glob, json, math, os, re, statistics, sys, time

work, out_p = sys.argv[1:3]
med = statistics.median
meta = json.load(open(os.path.join(work, "meta.json")))
TARGET, LAT_TARGET_MS = 1.10, 100.0
failed = list(meta["failed_checks"])

def pct(vals, q):
    """nearest rank: the smallest sample with at least q% at or below it"""
    v = sorted(vals)
    return v[max(1, math.ceil(q / 100.0 * len(v))) - 1]

# -- overhead
order, cmds = {}, {}
for line in open(os.path.join(work, "runners.tsv")):
    w, name, cmd = line.rstrip("\n").split("\t", 2)
    order.setdefault(w, []).append(name)
    cmds[(w, name)] = cmd
samples, rounds = {}, {}
for path in glob.glob(os.path.join(work, "round*-*.json")):
    m = re.match(r"round(\d+)-([a-z]+)-(\w+)\.json$", os.path.basename(path))
    r, w, name = int(m.group(1)), m.group(2), m.group(3)
    t = [x * 1e3 for x in json.load(open(path))["results"][0]["times"]]
    samples.setdefault(w, {}).setdefault(name, []).extend(t)
    rounds.setdefault(w, {}).setdefault(r, {})[name] = med(t)

def ratio(w, a, b):
    return med(samples[w][a]) / med(samples[w][b])

doc = {"benchmark": "audit", "unit": "ms", "statistic": "median", "meta": meta,
       "targets": {"audit/off": "<= %.2f" % TARGET, "tail_p99_ms": "< %g" % LAT_TARGET_MS},
       "overhead": {}}
units = {"exec": ("execs", meta["execs"], "us/exec", 1e3), "open": ("opens", meta["opens"], "ns/open", 1e6)}
for w in ("exec", "open"):
    what, n, unit, mult = units[w]
    print("workload %s: %s" % (w, cmds[(w, "host")]))
    print("%-14s %10s %10s %10s %3s %9s %9s %7s" % ("runner", "median_ms", "min_ms", "max_ms", "n", unit, "/nucleus", "/host"))
    res = {}
    for name in order[w]:
        t = sorted(samples[w][name])
        res[name] = {"command": cmds[(w, name)], "n": len(t), "median_ms": med(t), "min_ms": t[0],
                     "max_ms": t[-1], "mean_ms": statistics.fmean(t),
                     "per_item": med(t) * mult / n, "per_item_unit": unit,
                     "ratio": {"nucleus": ratio(w, name, "nucleus"), "host": ratio(w, name, "host")}}
        print("%-14s %10.1f %10.1f %10.1f %3d %9.1f %9.3f %7.3f" % (
            name, med(t), t[0], t[-1], len(t), res[name]["per_item"],
            res[name]["ratio"]["nucleus"], res[name]["ratio"]["host"]))
    pr = [x["nucleus_audit"] / x["nucleus"] for _, x in sorted(rounds[w].items())
          if "nucleus_audit" in x and "nucleus" in x]
    print("  nucleus_audit/nucleus per round: %s (spread %.3f..%.3f)" % (
        " ".join("%.3f" % x for x in pr), min(pr), max(pr)))
    rr = ratio(w, "nucleus_audit", "nucleus")
    print("  target audit/off <= %.2f: %s (%.3f)" % (TARGET, "met" if rr <= TARGET else "NOT met", rr))
    print()
    doc["overhead"][w] = {"command": cmds[(w, "host")], what: n, "results": res,
                          "audit/off": rr, "audit/off_per_round": pr, "target_met": rr <= TARGET}
if meta["timed_runs_lost_events"]:
    print("warning: the timed audited runs lost %d events" % meta["timed_runs_lost_events"])

# -- latency
def rfc3339_ns(s):
    # "2026-11-28T12:48:41.262617230Z"
    base, _, frac = s.rstrip("Z").partition(".")
    secs = calendar.timegm(time.strptime(base, "%Y-%m-%dT%H:%M:%S"))
    return secs * 10**9 + int((frac + "000000000")[:9])

lat = {}
for reader, fname in (("nucleus_tail", "lat-nucleus.tsv"), ("file_tail", "lat-file.tsv")):
    seen = {}
    path = os.path.join(work, fname)
    for line in open(path) if os.path.exists(path) else []:
        arrived, _, text = line.rstrip("\n").partition("\t")
        try:
            e = json.loads(text)
        except ValueError:
            continue
        d = e.get("details", {})
        argv = d.get("argv") or []
        if e.get("type") != "exec" or d.get("filename") != "/bin/true" or len(argv) != 3 or argv[1] != "lat":
            continue
        seen.setdefault(int(argv[2]), (int(arrived) - rfc3339_ns(e["time"])) / 1e6)
    ms = [seen[k] for k in sorted(seen)]
    lat[reader] = {"n": len(ms), "expected": meta["latency_events"]}
    if len(ms) != meta["latency_events"]:
        failed.append("latency: %s saw %d of the %d exec events" % (reader, len(ms), meta["latency_events"]))
    if ms:
        lat[reader].update({"median_ms": med(ms), "p90_ms": pct(ms, 90), "p99_ms": pct(ms, 99),
                            "min_ms": min(ms), "max_ms": max(ms), "mean_ms": statistics.fmean(ms),
                            "samples_ms": ms})
print("latency: event time (kernel) -> line read by the reader (CLOCK_REALTIME), %d exec events %d ms apart"
      % (meta["latency_events"], meta["latency_interval_ms"]))
print("%-40s %5s %9s %9s %9s %9s %9s" % ("reader", "n", "median_ms", "p90_ms", "p99_ms", "max_ms", "/file_tail"))
labels = {"nucleus_tail": "nucleus audit tail -f --json NAME", "file_tail": "tail -F FILE (coreutils, the floor)"}
for reader in ("nucleus_tail", "file_tail"):
    l = lat[reader]
    if "median_ms" not in l:
        print("%-40s %5d %9s" % (labels[reader], l["n"], "-"))
        continue
    l["ratio_file_tail"] = l["median_ms"] / lat["file_tail"]["median_ms"] if "median_ms" in lat["file_tail"] else None
    print("%-40s %5d %9.3f %9.3f %9.3f %9.3f %9s" % (
        labels[reader], l["n"], l["median_ms"], l["p90_ms"], l["p99_ms"], l["max_ms"],
        "%.2f" % l["ratio_file_tail"] if l["ratio_file_tail"] else "n/a"))
nt = lat["nucleus_tail"]
lat_ok = "p99_ms" in nt and nt["p99_ms"] < LAT_TARGET_MS
print("  target p99 < %g ms: %s" % (LAT_TARGET_MS, "met" if lat_ok else "NOT met"))
doc["latency"] = {"unit": "ms", "readers": lat, "target_met": lat_ok,
                  "measured": "arrival (CLOCK_REALTIME, when the reader's read() returned the line) minus "
                              "the event's own time field (kernel timestamp of the exec)"}
if failed:
    print("failed checks: " + "; ".join(failed))
doc["failed_checks"] = failed

def f(x, fmt):
    return fmt % x if x is not None else "n/a"
ex, op, ft = doc["overhead"]["exec"], doc["overhead"]["open"], lat["file_tail"]
summary = ("bench-audit: exec_off=%.0fms exec_audit=%.0fms exec_audit/off=%.3f open_off=%.0fms open_audit=%.0fms "
           "open_audit/off=%.3f tail_median_ms=%s tail_p99_ms=%s file_tail_median_ms=%s tail/file_tail=%s" % (
               ex["results"]["nucleus"]["median_ms"], ex["results"]["nucleus_audit"]["median_ms"], ex["audit/off"],
               op["results"]["nucleus"]["median_ms"], op["results"]["nucleus_audit"]["median_ms"], op["audit/off"],
               f(nt.get("median_ms"), "%.2f"), f(nt.get("p99_ms"), "%.2f"), f(ft.get("median_ms"), "%.2f"),
               f(nt.get("ratio_file_tail"), "%.2f")))
doc["summary"] = summary
with open(out_p, "w") as fh:
    json.dump(doc, fh, indent=2, sort_keys=True)
    fh.write("\n")
print()
print(summary)
sys.exit(1 if failed else 0)
EOF
[ -z "$FAILED" ] || exit 1
