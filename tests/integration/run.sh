#!/bin/bash
# Run every tests/integration/t_*.sh test function as root against the
# built nucleus; print one line per test and a final "N passed, M failed".
set -u
BUILD=${1:-build}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
export NUCLEUS=$(cd "$ROOT" && readlink -f "$BUILD/nucleus")
# A directory of its own per run, so two runs on one host do not remove
# each other's probe.
mkdir -p /usr/local/lib
PROBE_DIR=$(mktemp -d /usr/local/lib/nucleus-test.XXXXXX) || exit 1
export PROBE=$PROBE_DIR/probe
export NUCLEUS_TEST_BUILD=$(cd "$ROOT" && readlink -f "$BUILD")
# The shared test data (Docker's seccomp profile, toml-test) next to the
# checkout, or where this machine keeps it.
if [ -z "${SHARED_DATA:-}" ]; then
	for d in "$ROOT/../shared/data" /work/shared/data; do
		[ -d "$d" ] && { SHARED_DATA=$(cd "$d" && pwd); break; }
	done
fi
export SHARED_DATA=${SHARED_DATA:-$ROOT/../shared/data}
FILTER=${TESTS:-}

if [ "$(id -u)" != 0 ]; then
	echo "integration tests need root"
	echo "integration: 0 passed, 1 failed"
	exit 1
fi

# The probe must live in a directory the default Landlock rules let the
# container execute from; it is removed again when the run ends.
chmod 0755 "$PROBE_DIR"
cp "$NUCLEUS_TEST_BUILD/tests/probe" "$PROBE"
chmod 0755 "$PROBE"
trap 'rm -rf "$PROBE_DIR"' EXIT

. "$HERE/lib.sh"

pass=0 failed=0 failures=""
before=$(leftovers)
for file in "$HERE"/t_*.sh; do
	for t in $(bash -c ". '$HERE/lib.sh'; . '$file'; declare -F" | awk '{print $3}' | grep '^test_'); do
		[ -n "$FILTER" ] && ! echo "$t" | grep -qE "$FILTER" && continue
		start=${EPOCHREALTIME/./}
		out=$(cd /tmp && bash -c ". '$HERE/lib.sh'; . '$file'; set -u; $t" 2>&1)
		rc=$?
		ms=$(( (${EPOCHREALTIME/./} - start) / 1000 ))
		# What this test left: what is there now and was not before. A
		# container's veth and cgroup go a moment after it ends, so give
		# them (and other runs' containers on this host) ~5 s to.
		for i in $(seq 1 16); do
			left=$(leftovers)
			new=$(echo "$left" | grep -vxF -e "" -f <(echo "$before"))
			[ -z "$new" ] && break
			sleep 0.3
		done
		if [ -n "$new" ]; then
			out="$out
    left behind:
$(echo "$new" | sed 's/^/      /')"
			rc=1
		fi
		before=$left
		if [ $rc = 0 ]; then
			pass=$((pass + 1))
			printf 'ok   %-50s %5d ms\n' "$(basename "$file" .sh):$t" "$ms"
		else
			failed=$((failed + 1))
			failures="$failures $t"
			printf 'FAIL %-50s %5d ms\n%s\n' "$(basename "$file" .sh):$t" "$ms" "$out"
		fi
	done
done
[ -n "$failures" ] && echo "failed:$failures"
echo "integration: $pass passed, $failed failed"
[ $failed = 0 ]
