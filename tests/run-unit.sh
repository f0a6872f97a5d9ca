#!/bin/bash
# Unit tier: every cmocka binary, then the toml-test suite. A skipped test
# counts as a failure. Last line: "unit: N passed, M failed".
set -u
BUILD=${1:-build}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SHARED=${SHARED_DATA:-}
if [ -z "$SHARED" ]; then
	for d in "$ROOT/../shared/data" /work/shared/data; do
		[ -d "$d" ] && { SHARED=$d; break; }
	done
fi
export SHARED_DATA=${SHARED:-$ROOT/../shared/data}
SHARED=$SHARED_DATA
pass=0 failed=0

for t in "$BUILD"/tests/test_*; do
	[ -x "$t" ] || continue
	out=$("$t" 2>&1)
	rc=$?
	p=$(echo "$out" | sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p')
	f=$(echo "$out" | sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p')
	s=$(echo "$out" | sed -n 's/^\[  SKIPPED \] \([0-9]*\) test.*/\1/p')
	p=${p:-0} f=${f:-0} s=${s:-0}
	if [ $rc != 0 ] && [ "$f" = 0 ]; then f=1; fi   # crashed
	pass=$((pass + p))
	failed=$((failed + f + s))
	printf '%-4s %-28s %3d passed, %d failed, %d skipped\n' \
		"$([ $((f + s)) = 0 ] && echo ok || echo FAIL)" "$(basename "$t")" "$p" "$f" "$s"
	[ $((f + s)) = 0 ] || echo "$out" | grep -E '^\[  (ERROR|FAILED|SKIPPED|  LINE)|Sanitizer|runtime error' |
		head -20 | sed 's/^/    /'
done

if [ -x "$BUILD/tests/toml-test-suite" ]; then
	out=$("$BUILD/tests/toml-test-suite" "$SHARED/toml-test/files-toml-1.0.0" "$SHARED/toml-test" 2>&1)
	line=$(echo "$out" | tail -1)
	p=$(echo "$line" | sed -n 's/^toml-test: \([0-9]*\) passed, \([0-9]*\) failed.*/\1/p')
	f=$(echo "$line" | sed -n 's/^toml-test: \([0-9]*\) passed, \([0-9]*\) failed.*/\2/p')
	if [ -z "$p" ]; then p=0 f=1; echo "$out" | tail -5; fi
	pass=$((pass + p))
	failed=$((failed + f))
	echo "$line"
	[ "$f" = 0 ] || echo "$out" | grep '^FAIL' | head -20
fi
echo "unit: $pass passed, $failed failed"
[ $failed = 0 ]
