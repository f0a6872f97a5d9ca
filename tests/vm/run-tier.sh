#!/bin/bash
# The VM tier: boots of Debian's kernel (pure cgroup v2, lsm=...,bpf)
# running the integration tests that matter on such a kernel, against the
# same nucleus binary. Last line: "vm: N passed, M failed", over all boots.
set -u
BUILD=${1:-build}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=$(cd "$ROOT" && readlink -f "$BUILD")

# The tests the guest runs: every integration test function with a
# `# vm-tier` line right above it (those that need python3, useradd or
# setpriv stay on the host tier; the guest has busybox, bash and what
# VM_BINARIES adds). `# vm-tier ARG=VALUE...` marks a test for a boot of
# its own with those words added to the kernel command line (e.g.
# lockdown=confidentiality, which would refuse the BPF programs of the
# other tests); one boot per distinct set of words, after the plain one.
# A marker above anything but a test function fails the tier, and so does
# a count of tests run in a boot other than the count marked for it, so a
# renamed or moved test cannot drop out unseen. VM_TESTS, a regex, narrows
# the marked tests (one run by hand); matching none fails.
# Each line: "ARGS<tab>test_name" (ARGS empty for the plain boot).
marked=$(cd "$ROOT/tests/integration" && awk '
	FNR == 1 { prev = "" }
	prev ~ /^# vm-tier/ {
		args = substr(prev, 10)
		sub(/^ /, "", args)
		if (prev !~ /^# vm-tier( [A-Za-z0-9_.]+=[A-Za-z0-9_.,-]+)*$/) {
			print "vm: a malformed # vm-tier marker: " FILENAME ":" FNR - 1 > "/dev/stderr"
			bad = 1
		} else if (match($0, /^test_[A-Za-z0-9_]+\(\)/))
			print args "\t" substr($0, 1, RLENGTH - 2)
		else {
			print "vm: a # vm-tier marker above no test function: " FILENAME ":" FNR - 1 > "/dev/stderr"
			bad = 1
		}
	}
	{ prev = $0 }
	END { exit bad }' t_*.sh) || { echo "vm: 0 passed, 1 failed"; exit 1; }
[ -n "${VM_TESTS:-}" ] && marked=$(echo "$marked" | awk -F'\t' -v re="$VM_TESTS" '$2 ~ re')
if [ "$(echo "$marked" | grep -c .)" = 0 ]; then
	echo "vm: no integration test is marked # vm-tier${VM_TESTS:+ and matches $VM_TESTS}"
	echo "vm: 0 passed, 1 failed"
	exit 1
fi
# the boots: the plain one first, then the others in the order first marked
boots=$( (echo "$marked" | awk -F'\t' '$1 == "" { print "-"; exit }'
	echo "$marked" | awk -F'\t' '$1 != "" && !seen[$1]++ { print $1 }') )

payload=$(mktemp -d)
out=$(mktemp)
trap 'rm -rf "$payload" "$out"' EXIT
mkdir -p "$payload/build/tests" "$payload/tests"
cp "$BUILD/nucleus" "$payload/build/nucleus"
cp "$BUILD/tests/probe" "$payload/build/tests/probe"
cp -r "$ROOT/tests/integration" "$payload/tests/"
cp -r "$ROOT/config" "$payload/config"
mkdir -p "$payload/tests/fuzz/seeds/seccomp"
cp "$ROOT/tests/fuzz/seeds/seccomp/docker-default.json" "$payload/tests/fuzz/seeds/seccomp/"
# vm-run.sh REGEX COUNT: the tests of one boot, and how many must run
cat > "$payload/vm-run.sh" <<'SCRIPT'
#!/bin/bash
cd /payload
echo "kernel $(uname -r); cgroup: $(stat -f -c %T /sys/fs/cgroup); lsm: $(cat /sys/kernel/security/lsm)"
TESTS=$1 tests/integration/run.sh build 2>&1 | tee /tmp/vm.out | grep -v '^integration: [0-9]* passed'
rc=${PIPESTATUS[0]}
p=$(sed -n 's/^integration: \([0-9]*\) passed, \([0-9]*\) failed$/\1/p' /tmp/vm.out)
f=$(sed -n 's/^integration: \([0-9]*\) passed, \([0-9]*\) failed$/\2/p' /tmp/vm.out)
p=${p:-0} f=${f:-0}
if [ $((p + f)) != "$2" ]; then
	echo "vm: $2 tests marked # vm-tier for this boot, $((p + f)) ran"
	f=$(( $2 > p ? $2 - p : f + 1 ))
	rc=1
fi
echo "vm boot: $p passed, $f failed"
exit $rc
SCRIPT
chmod +x "$payload/vm-run.sh"

pass=0 failed=0 status=0
while IFS= read -r b <&3; do
	[ "$b" = - ] && args= || args=$b
	tests=$(echo "$marked" | awk -F'\t' -v a="$args" '$1 == a { print $2 }')
	want=$(echo "$tests" | grep -c .)
	regex="^($(echo "$tests" | paste -sd'|'))\$"
	[ -z "$args" ] || echo "vm: a boot with $args ($want tests)"
	# (the plain boot took 1181 s on a host at load 7-10, the checkpoint
	# tests ~220 s of it; 900 s was the bound before them)
	"$ROOT/tests/vm/run" --timeout "${VM_TIMEOUT:-1500}" --payload "$payload" ${args:+--append "$args"} \
		--criu --modules brd --binaries "/usr/bin/readlink /usr/bin/stat /usr/bin/pgrep" \
		-- /payload/vm-run.sh "$regex" "$want" </dev/null | tee "$out"
	rc=${PIPESTATUS[0]}
	p=$(sed -n 's/^vm boot: \([0-9]*\) passed, \([0-9]*\) failed$/\1/p' "$out")
	f=$(sed -n 's/^vm boot: \([0-9]*\) passed, \([0-9]*\) failed$/\2/p' "$out")
	if [ -z "$p" ]; then
		# the VM itself failed: none of this boot's tests counts as passed
		echo "vm: the boot${args:+ with $args} ended without a count (status $rc)"
		p=0 f=$want
	elif [ "$rc" != 0 ] && [ "$f" = 0 ]; then
		f=1
	fi
	pass=$((pass + p)) failed=$((failed + f))
	[ "$rc" = 0 ] || status=1
done 3<<<"$boots"
echo "vm: $pass passed, $failed failed"
exit $status
