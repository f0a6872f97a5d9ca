#!/usr/bin/env bash
# Checkpoint and restore times of the counter workload (the test probe's
# `counter`: one process appending a number to a file in /tmp every 100 ms)
# under nucleus, against CRIU run by hand on the same program, in the same
# boot of the VM tier: CRIU 3.17 does not work on newer kernels, Debian
# 6.1's runs it (tests/vm/run --criu). See docs/checkpoint.md.
#
#   tools/bench/checkpoint.sh BUILD_DIR      (normally via: make bench)
#
# In the guest, each of BENCH_CHECKPOINT_ROUNDS rounds (default 5) times,
# one after the other:
#   nucleus   `nucleus checkpoint NAME --output DIR` of a container running
#             the counter (the container ends), then `nucleus restore
#             --input DIR -d` (returns once the restored container runs);
#   criu      `criu dump -t PID -D DIR` of the counter started by hand as a
#             session leader (no namespaces, no cgroup), then `criu restore
#             -D DIR -d`; both with nucleus's log level (-v4, a log file).
# Each restore is checked (its counter goes on from where it was saved)
# before its time counts. The medians are printed with their ratios: what
# nucleus adds to CRIU's own work (the container's namespaces, its tmpfs
# and mounts, the cgroup, the manifest and integrity checksum, a new
# supervisor with its limits and BPF policy).
#
# Writes BUILD_DIR/bench/checkpoint.json; the last line printed is
#   bench-checkpoint: nucleus_dump_ms=… criu_dump_ms=… dump_ratio=… nucleus_restore_ms=… criu_restore_ms=… restore_ratio=…
set -euo pipefail

BUILD=$(cd "${1:?usage: checkpoint.sh BUILD_DIR}" && pwd)
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
# shellcheck source=lib/common.bash
source "$HERE/lib/common.bash"

[ "$(id -u)" = 0 ] || bench_die "checkpoint: run as root"
NUCLEUS=$BUILD/nucleus
[ -x "$NUCLEUS" ] || bench_die "checkpoint: $NUCLEUS not built (make)"
command -v criu >/dev/null || bench_die "checkpoint: criu not found (tools/deps vm)"
ROUNDS=${BENCH_CHECKPOINT_ROUNDS:-5}
OUT=$BUILD/bench
mkdir -p "$OUT"
WORK=$(mktemp -d "$OUT/checkpoint.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

echo "== checkpoint: nucleus checkpoint/restore against criu dump/restore by hand, in the VM tier (median of $ROUNDS)"
bench_check_load "at start"

mkdir -p "$WORK/payload"
cp "$NUCLEUS" "$WORK/payload/nucleus"
# the test probe (its `counter`), as `make test-build` builds it
if [ -x "$BUILD/tests/probe" ]; then
  cp "$BUILD/tests/probe" "$WORK/payload/probe"
else
  "${CC:-cc}" -std=gnu17 -O2 -Wall -static -o "$WORK/payload/probe" "$REPO/tests/integration/probe.c" ||
    bench_die "checkpoint: cannot build the test probe"
fi
cat > "$WORK/payload/vm-run.sh" <<'GUEST'
#!/bin/bash
# In the guest: ROUNDS rounds; one line per timing, "what ms".
set -u
rounds=$1
N=/payload/nucleus
# the probe where a container may execute it (as the integration tests do)
mkdir -p /usr/local/lib/nucleus-bench && cp /payload/probe /usr/local/lib/nucleus-bench/probe
P=/usr/local/lib/nucleus-bench/probe
now() { local t=${EPOCHREALTIME/./}; echo "${t}"; }   # microseconds
ms() { echo $(( ($2 - $1) / 1000 )); }
die() { echo "guest: $*"; exit 1; }
lines() { wc -l <"$1" 2>/dev/null || echo 0; }
# until FILE has at least N lines (10 s at most)
wait_lines() { local i; for i in $(seq 1 200); do [ "$(lines "$1")" -ge "$2" ] && return 0; sleep 0.05; done; return 1; }
state_pid() { sed -n 's/.*"pid":\([0-9]*\).*/\1/p' "/run/nucleus/$(readlink "/run/nucleus/.names/$1")/state.json"; }
criu check >/dev/null 2>&1 || die "criu check fails: $(criu check 2>&1 | tail -n 1)"
echo "kernel $(uname -r); criu $(criu --version | sed -n 's/^Version: //p')"
for r in $(seq 1 "$rounds"); do
  # nucleus
  name=bench-$r dir=/tmp/nucleus-$r
  $N run -d --name $name -- $P counter /tmp/count >/dev/null || die "run"
  wait_lines /proc/$(state_pid $name)/root/tmp/count 5 || die "the container's counter"
  t0=$(now); $N checkpoint $name --output $dir >/dev/null 2>&1 || die "nucleus checkpoint: $(tail -n 3 $dir/criu-dump.log 2>/dev/null)"; t1=$(now)
  echo "nucleus_dump $(ms $t0 $t1)"
  $N rm $name >/dev/null
  t0=$(now); $N restore --input $dir -d >/dev/null 2>&1 || die "nucleus restore"; t1=$(now)
  echo "nucleus_restore $(ms $t0 $t1)"
  f=/proc/$(state_pid $name)/root/tmp/count
  n=$(lines $f)
  [ "$n" -ge 5 ] || die "the restored container's counter starts over ($n)"
  wait_lines $f $((n + 2)) || die "the restored container's counter does not count"
  $N rm -f $name >/dev/null
  rm -rf $dir
  # criu by hand, the same program
  dir=/tmp/criu-$r f=/tmp/hand-$r.count
  mkdir -p $dir
  setsid $P counter $f </dev/null >/dev/null 2>&1 &
  pid=$!
  disown $pid   # (no "Killed" from bash when the dump ends it)
  wait_lines $f 5 || die "the hand-started counter"
  t0=$(now); criu dump -t $pid -D $dir -v4 -o dump.log || die "criu dump: $(tail -n 3 $dir/dump.log)"; t1=$(now)
  echo "criu_dump $(ms $t0 $t1)"
  n=$(lines $f)
  t0=$(now); criu restore -D $dir -d -v4 -o restore.log || die "criu restore: $(tail -n 3 $dir/restore.log)"; t1=$(now)
  echo "criu_restore $(ms $t0 $t1)"
  wait_lines $f $((n + 2)) || die "the hand-restored counter does not count"
  pkill -f "counter $f"
  rm -rf $dir $f
done
echo "guest: done"
GUEST
chmod +x "$WORK/payload/vm-run.sh"

"$REPO/tests/vm/run" -q --criu --timeout "${BENCH_CHECKPOINT_TIMEOUT:-900}" --payload "$WORK/payload" \
  --binaries "/usr/bin/pgrep /usr/bin/pkill" -- /payload/vm-run.sh "$ROUNDS" | tee "$WORK/guest.out" ||
  bench_die "checkpoint: the guest run failed (see $REPO/build/vm/logs/last or VM_DIR's)"
grep -q '^guest: done$' "$WORK/guest.out" || bench_die "checkpoint: the guest did not finish"

median() { # WHAT: the median of the guest's lines "WHAT ms"
  awk -v w="$1" '$1 == w { print $2 }' "$WORK/guest.out" | sort -n |
    awk '{ a[NR] = $1 } END { if (!NR) exit 1; print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}
nd=$(median nucleus_dump) cd=$(median criu_dump) nr=$(median nucleus_restore) cr=$(median criu_restore)
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
rd=$(ratio "$nd" "$cd") rr=$(ratio "$nr" "$cr")
printf '  %-14s %12s %12s\n' "" checkpoint restore
printf '  %-14s %9s ms %9s ms\n' nucleus "$nd" "$nr" "criu by hand" "$cd" "$cr"
printf '  %-14s %11sx %11sx\n' nucleus/criu "$rd" "$rr"
cat > "$OUT/checkpoint.json" <<EOF
{"rounds": $ROUNDS, "where": "VM tier (Debian 6.1 kernel, qemu TCG)",
 "nucleus_dump_ms": $nd, "criu_dump_ms": $cd, "nucleus_over_criu_dump": $rd,
 "nucleus_restore_ms": $nr, "criu_restore_ms": $cr, "nucleus_over_criu_restore": $rr}
EOF
echo "bench-checkpoint: nucleus_dump_ms=$nd criu_dump_ms=$cd dump_ratio=$rd nucleus_restore_ms=$nr criu_restore_ms=$cr restore_ratio=$rr"
