#!/bin/bash
# `make test`: the unit, sanitizer, integration and VM tiers in turn; the
# last line is the combined count, "N passed, M failed".
set -u
BUILD=${1:-build}
HERE=$(cd "$(dirname "$0")" && pwd)
total_pass=0 total_fail=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT

tier() { # name command...
	local name=$1 out rc line p f
	shift
	echo "== $name"
	"$@" 2>&1 | tee "$log"
	rc=${PIPESTATUS[0]}
	out=$(cat "$log")
	line=$(echo "$out" | grep -E '[0-9]+ passed, [0-9]+ failed' | tail -1)
	p=$(echo "$line" | sed -n 's/.*\b\([0-9][0-9]*\) passed, \([0-9][0-9]*\) failed.*/\1/p')
	f=$(echo "$line" | sed -n 's/.*\b\([0-9][0-9]*\) passed, \([0-9][0-9]*\) failed.*/\2/p')
	if [ -z "$p" ]; then
		p=0 f=1
		echo "$name: no summary line (exit $rc)"
	elif [ "$rc" != 0 ] && [ "$f" = 0 ]; then
		f=1
		echo "$name: exited $rc"
	fi
	total_pass=$((total_pass + p))
	total_fail=$((total_fail + f))
}

tier unit "$HERE/run-unit.sh" "$BUILD"
tier sanitize "$HERE/run-sanitize.sh" "$BUILD"
tier integration "$HERE/integration/run.sh" "$BUILD"
if command -v qemu-system-x86_64 >/dev/null && [ -x "$HERE/vm/run-tier.sh" ]; then
	tier vm "$HERE/vm/run-tier.sh" "$BUILD"
else
	echo "== vm: qemu-system-x86_64 not available; tier not run"
fi
echo "$total_pass passed, $total_fail failed"
[ $total_fail = 0 ]
