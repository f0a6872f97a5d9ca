#!/bin/bash
# The VM tier: one boot of Debian's kernel (pure cgroup v2, lsm=...,bpf)
# running the integration tests that matter on such a kernel, against the
# same nucleus binary. Last line: "vm: N passed, M failed".
set -u
BUILD=${1:-build}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=$(cd "$ROOT" && readlink -f "$BUILD")

# The tests the guest runs: every integration test function with a
# `# vm-tier` line right above it (those that need python3, useradd or
# setpriv stay on the host tier; the guest has busybox, bash and what
# VM_BINARIES adds). A marker above anything but a test function fails the
# tier, and so does a count of tests run in the guest other than the count
# marked, so a renamed or moved test cannot drop out unseen. VM_TESTS, a
# regex, narrows the marked tests (one run by hand); matching none fails.
marked=$(cd "$ROOT/tests/integration" && awk '
	FNR == 1 { prev = "" }
	prev == "# vm-tier" {
		if (match($0, /^test_[A-Za-z0-9_]+\(\)/))
			print substr($0, 1, RLENGTH - 2)
		else {
			print "vm: a # vm-tier marker above no test function: " FILENAME ":" FNR - 1 > "/dev/stderr"
			bad = 1
		}
	}
	{ prev = $0 }
	END { exit bad }' t_*.sh) || { echo "vm: 0 passed, 1 failed"; exit 1; }
[ -n "${VM_TESTS:-}" ] && marked=$(echo "$marked" | grep -E "$VM_TESTS")
want=$(echo "$marked" | grep -c .)
if [ "$want" = 0 ]; then
	echo "vm: no integration test is marked # vm-tier${VM_TESTS:+ and matches $VM_TESTS}"
	echo "vm: 0 passed, 1 failed"
	exit 1
fi
VM_TESTS="^($(echo "$marked" | paste -sd'|'))\$"

payload=$(mktemp -d)
trap 'rm -rf "$payload"' EXIT
mkdir -p "$payload/build/tests" "$payload/tests"
cp "$BUILD/nucleus" "$payload/build/nucleus"
cp "$BUILD/tests/probe" "$payload/build/tests/probe"
cp -r "$ROOT/tests/integration" "$payload/tests/"
cp -r "$ROOT/config" "$payload/config"
mkdir -p "$payload/tests/fuzz/seeds/seccomp"
cp "$ROOT/tests/fuzz/seeds/seccomp/docker-default.json" "$payload/tests/fuzz/seeds/seccomp/"
cat > "$payload/vm-run.sh" <<SCRIPT
#!/bin/bash
cd /payload
echo "kernel \$(uname -r); cgroup: \$(stat -f -c %T /sys/fs/cgroup); lsm: \$(cat /sys/kernel/security/lsm)"
TESTS='$VM_TESTS' tests/integration/run.sh build 2>&1 | tee /tmp/vm.out | grep -v '^integration: [0-9]* passed'
rc=\${PIPESTATUS[0]}
p=\$(sed -n 's/^integration: \([0-9]*\) passed, \([0-9]*\) failed\$/\1/p' /tmp/vm.out)
f=\$(sed -n 's/^integration: \([0-9]*\) passed, \([0-9]*\) failed\$/\2/p' /tmp/vm.out)
p=\${p:-0} f=\${f:-0}
if [ \$((p + f)) != $want ]; then
	echo "vm: $want tests marked # vm-tier, \$((p + f)) ran"
	f=\$(( $want > p ? $want - p : f + 1 ))
	rc=1
fi
echo "vm: \$p passed, \$f failed"
exit \$rc
SCRIPT
chmod +x "$payload/vm-run.sh"

"$ROOT/tests/vm/run" --timeout "${VM_TIMEOUT:-900}" --payload "$payload" \
	--modules brd --binaries "/usr/bin/readlink /usr/bin/stat /usr/bin/pgrep" -- /payload/vm-run.sh
