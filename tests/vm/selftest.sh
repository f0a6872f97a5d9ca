#!/bin/bash
# tests/vm/selftest.sh: self-test of the VM test tier (tools/vm-image,
# tests/vm/init, tests/vm/run).  Runs on the host, as root.
#
#   tests/vm/selftest.sh [--quick]
#
# One boot runs a payload script (/payload/vm-run.sh, the default command)
# that checks the guest: Debian's kernel, Landlock and BPF-LSM active, pure
# cgroup v2 with the controllers usable in a child, bpffs, the payload and an
# extra dynamic binary, modules veth and bridge loaded and usable,
# pivot_root possible, and then exits 3, which tests/vm/run must return.
# A second boot runs `true` (boot time, status 0).  Unless --quick, the
# failure paths follow: qemu missing, kernel panic, guest and host time
# bounds (about 25 s more).
# Last line: "N passed, M failed"; the exit status is non-zero on failure.
set -eu
set -o pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
run="$root/tests/vm/run"
quick=
case "${1:-}" in
  --quick) quick=1 ;;
  '') ;;
  *) echo "usage: $0 [--quick]" >&2; exit 2 ;;
esac

passed=0 failed=0
ok() { passed=$((passed + 1)); printf 'ok   %s\n' "$*"; }
bad() { failed=$((failed + 1)); printf 'FAIL %s\n' "$*"; }
check() { local name=$1; shift; if "$@"; then ok "$name"; else bad "$name"; fi; }
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/nucleus-vm-selftest.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# ---- image (timed; cold if the kernel is not cached yet) --------------------
payload="$tmp/payload"
mkdir -p "$payload/sub"
echo "payload-data-$$" >"$payload/sub/data.txt"
printf '#!/bin/sh\necho payload-script-ran\n' >"$payload/hello.sh"
chmod +x "$payload/hello.sh"
cat >"$payload/vm-run.sh" <<'GUEST'
#!/bin/bash
# Runs inside the VM: one "ok NAME" or "not-ok NAME: why" line per check.
n=0
pass() { n=$((n + 1)); echo "ok $1"; }
fail() { n=$((n + 1)); echo "not-ok $1: $2"; }
t() { local name=$1; shift; if "$@" >/tmp/t.out 2>&1; then pass "$name";
      else fail "$name" "$(tr '\n' ' ' </tmp/t.out | cut -c1-200)"; fi; }

echo "kernel: $(uname -r) ($(uname -v))"
echo "lsm: $(cat /sys/kernel/security/lsm)"
echo "cgroup.controllers: $(cat /sys/fs/cgroup/cgroup.controllers)"
echo "cgroup.subtree_control: $(cat /sys/fs/cgroup/cgroup.subtree_control)"
fstype() { awk -v m="$1" '$2 == m { t = $3 } END { print t }' /proc/mounts; }
has_words() { local f=$1 w; shift; for w; do grep -qw -- "$w" "$f" || { echo "$w missing from $f: $(cat "$f")"; return 1; }; done; }

t kernel-version   test "$(uname -r)" = "$(cat /payload/expected-kver)"
t lsm-landlock     has_words /sys/kernel/security/lsm landlock
t lsm-bpf          has_words /sys/kernel/security/lsm bpf
t cgroup2-root     test "$(fstype /sys/fs/cgroup)" = cgroup2
t no-cgroup-v1     sh -c '! grep -q " cgroup " /proc/mounts &&
                     ! mount -t cgroup -o memory cgroup /mnt 2>/dev/null'
t cgroup-controllers has_words /sys/fs/cgroup/cgroup.controllers cpu memory pids io
t cgroup-subtree   has_words /sys/fs/cgroup/cgroup.subtree_control cpu memory pids io
t cgroup-child     sh -c 'mkdir /sys/fs/cgroup/selftest &&
                     grep -qw memory /sys/fs/cgroup/selftest/cgroup.controllers &&
                     echo 64M >/sys/fs/cgroup/selftest/memory.max &&
                     echo 20 >/sys/fs/cgroup/selftest/pids.max &&
                     echo $$ >/sys/fs/cgroup/selftest/cgroup.procs &&
                     grep -qx 0::/selftest /proc/self/cgroup'
t bpffs            test "$(fstype /sys/fs/bpf)" = bpf
t securityfs       test "$(fstype /sys/kernel/security)" = securityfs
t tmpfs-run-tmp    test "$(fstype /run) $(fstype /tmp)" = "tmpfs tmpfs"
t devtmpfs         test -c /dev/null -a -c /dev/ttyS1 -a "$(fstype /dev)" = devtmpfs
t hostname         test "$(hostname)" = nucleus-vm
t loopback-up      sh -c 'ip link show lo | grep -q "UP"'
t payload-file     test "$(cat /payload/sub/data.txt)" = "$(cat /payload/expected-data)"
t payload-script   sh -c 'test "$(/payload/hello.sh)" = payload-script-ran'
t extra-binary     sh -c '/usr/bin/env --version | grep -q "GNU coreutils"'
t bash-present     test -x /bin/bash
t module-veth      sh -c 'test -d /sys/module/veth && ip link add vst0 type veth && ip link show vst0'
t module-bridge    sh -c 'test -d /sys/module/bridge && brctl addbr brst0 && ip link show brst0'
t pivot-root       unshare -m sh -c 'mount -t tmpfs t /mnt && mkdir /mnt/old && cd /mnt && pivot_root . old'
echo "checks-done $n"
exit 3
GUEST
chmod +x "$payload/vm-run.sh"

export VM_PAYLOAD="$payload" VM_BINARIES="/usr/bin/env" VM_MODULES="veth bridge"
t0=$(now)
if img=$("$root/tools/vm-image"); then
  ok "tools/vm-image builds the image ($(secs "$t0" "$(now)")s)"
else
  bad "tools/vm-image builds the image"
  echo "$passed passed, $failed failed"
  exit 1
fi
VM_KVER=
eval "$img"
printf '%s\n' "$VM_KVER" >"$payload/expected-kver"
cat "$payload/sub/data.txt" >"$payload/expected-data"
t0=$(now)
"$root/tools/vm-image" >/dev/null 2>&1
echo "     image rebuilt after a payload change in $(secs "$t0" "$(now)")s"
t0=$(now)
"$root/tools/vm-image" >/dev/null 2>&1
echo "     unchanged image checked in $(secs "$t0" "$(now)")s"

# ---- boot 1: the guest checks, status 3 round trip --------------------------
t0=$(now)
rc=0
"$run" -q --timeout 240 >"$tmp/out" 2>"$tmp/err" || rc=$?
echo "     boot with the guest checks: $(secs "$t0" "$(now)")s"
sed -n '/^kernel:\|^lsm:\|^cgroup\./s/^/     guest /p' "$tmp/out"
while read -r word name rest; do
  case "$word" in
    ok) ok "guest: $name" ;;
    not-ok) bad "guest: ${name%:} -- $rest" ;;
  esac
done <"$tmp/out"
check "guest ran all its checks" grep -qx "checks-done $(grep -c '^t ' "$payload/vm-run.sh")" "$tmp/out"
if [ "$rc" = 3 ]; then ok "exit status 3 in the guest -> tests/vm/run exits 3"
else bad "exit status 3 in the guest -> tests/vm/run exits 3 (got $rc)"; sed 's/^/     | /' "$tmp/err"; fi

# ---- boot 2: `true` ----------------------------------------------------------
t0=$(now)
rc=0
"$run" -q --timeout 120 -- true >"$tmp/out" 2>"$tmp/err" || rc=$?
echo "     boot running 'true' (image warm): $(secs "$t0" "$(now)")s"
check "'true' -> status 0, no output" test "$rc" = 0 -a ! -s "$tmp/out"
rc=0
"$run" -q --timeout 120 -- printf '%s|' 'a b' "c'd" '$HOME' '' >"$tmp/out" 2>"$tmp/err" || rc=$?
check "argv reaches the guest as given" test "$rc:$(cat "$tmp/out")" = "0:a b|c'd|\$HOME||"

if [ -n "$quick" ]; then
  echo "$passed passed, $failed failed"
  [ "$failed" = 0 ]
  exit
fi

# ---- failure paths -----------------------------------------------------------
rc=0
VM_QEMU=/nonexistent/qemu-system-x86_64 "$run" -q -- true >"$tmp/out" 2>"$tmp/err" || rc=$?
check "qemu missing -> status 125 and a message" \
  sh -c "[ $rc = 125 ] && grep -q 'not found' '$tmp/err'"

rc=0
"$run" -q --timeout 120 -- bash -c 'echo before-panic; echo c >/proc/sysrq-trigger; sleep 30' \
  >"$tmp/out" 2>"$tmp/err" || rc=$?
check "kernel panic -> status 125, 'panicked'" \
  sh -c "[ $rc = 125 ] && grep -q panicked '$tmp/err' && grep -q before-panic '$tmp/out'"

rc=0
t0=$(now)
"$run" -q --timeout 120 --append vm.timeout=4 -- sleep 600 >"$tmp/out" 2>"$tmp/err" || rc=$?
check "guest time limit -> status 124 ($(secs "$t0" "$(now)")s)" \
  sh -c "[ $rc = 124 ] && grep -q 'timed out' '$tmp/out'"

rc=0
t0=$(now)
"$run" --timeout 10 --append vm.timeout=0 -- sleep 600 >"$tmp/out" 2>"$tmp/err" || rc=$?
qpid=$(sed -n 's/.*(qemu pid \([0-9]*\),.*/\1/p' "$tmp/err")
check "host time bound -> status 124, qemu killed ($(secs "$t0" "$(now)")s)" \
  sh -c "[ $rc = 124 ] && grep -q 'time bound' '$tmp/err' && [ -n '$qpid' ] && ! kill -0 '$qpid' 2>/dev/null"

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
