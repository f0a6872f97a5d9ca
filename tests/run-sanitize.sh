#!/bin/bash
# The sanitizer tier: the unit tier's tests built with ASan + UBSan (in
# $BUILD/asan), then every fuzz target (clang, ASan + UBSan) replaying its
# regression inputs and seeds once. A sanitizer report fails the test or
# target it comes from. Last line: "sanitize: N passed, M failed".
set -u
BUILD=${1:-build}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
cd "$ROOT"
mkdir -p "$BUILD"
if ! env -u MAKEFLAGS -u MAKELEVEL make -s --no-print-directory -j"$(nproc)" BUILD="$BUILD" \
	sanitize-build fuzz-build >"$BUILD/sanitize.build.log" 2>&1; then
	tail -20 "$BUILD/sanitize.build.log"
	echo "sanitize: cannot build (see $BUILD/sanitize.build.log)"
	echo "sanitize: 0 passed, 1 failed"
	exit 1
fi

pass=0 failed=0
count() { # the output of a tier; adds its "N passed, M failed"
	local line p f
	line=$(echo "$1" | grep -E '[0-9]+ passed, [0-9]+ failed' | tail -1)
	p=$(echo "$line" | sed -n 's/.*\b\([0-9][0-9]*\) passed, \([0-9][0-9]*\) failed.*/\1/p')
	f=$(echo "$line" | sed -n 's/.*\b\([0-9][0-9]*\) passed, \([0-9][0-9]*\) failed.*/\2/p')
	[ -n "$p" ] || { p=0 f=1; }
	[ "$2" != 0 ] && [ "$f" = 0 ] && f=1
	pass=$((pass + p)) failed=$((failed + f))
}

# LeakSanitizer too: a unit test that leaks fails.
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
out=$("$HERE/run-unit.sh" "$BUILD/asan" 2>&1)
rc=$?
echo "$out" | sed 's/^unit:/unit (asan):/'
count "$out" $rc

out=$("$HERE/fuzz/run.sh" "$BUILD" 0 2>&1)
rc=$?
echo "$out" | sed 's/^fuzz:/fuzz (replay):/'
count "$out" $rc

echo "sanitize: $pass passed, $failed failed"
[ $failed = 0 ]
