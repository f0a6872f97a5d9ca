#!/bin/bash
# make fuzz: every libFuzzer target, tests/fuzz/fuzz_*.c (built by the
# Makefile: clang, ASan + UBSan), run for a bounded time. The kept
# regression inputs run first, each as a single input. A crash, leak or
# sanitizer report fails the target; its input is saved under
# $BUILD/fuzz/artifacts/<target>/ to be kept in tests/fuzz/regress/<target>/
# once fixed. SECONDS 0 only replays: the regression inputs and the seeds,
# each once (the sanitizer tier of `make test`).
# Usage: tests/fuzz/run.sh [BUILD] [SECONDS] [TARGET...]
# Last line: "fuzz: N passed, M failed".
set -u
BUILD=${1:-build}
SECONDS_EACH=${2:-60}
shift $(( $# > 2 ? 2 : $# ))
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
OUT=$BUILD/fuzz
SHARED=${SHARED_DATA:-}
for d in "$ROOT/../shared/data" /work/shared/data; do
	[ -z "$SHARED" ] && [ -d "$d" ] && SHARED=$d
done

pass=0 failed=0
targets=("$@")
if [ ${#targets[@]} = 0 ]; then
	for src in tests/fuzz/fuzz_*.c; do
		[ -f "$src" ] && { t=${src#tests/fuzz/fuzz_}; targets+=("${t%.c}"); }
	done
fi
if [ ${#targets[@]} = 0 ]; then
	echo "fuzz: no tests/fuzz/fuzz_*.c"; echo "fuzz: 0 passed, 1 failed"; exit 1
fi

# Up to date already when make called this; built here when run by hand.
mkdir -p "$OUT"
if ! env -u MAKEFLAGS -u MAKELEVEL make -s --no-print-directory -j"$(nproc)" BUILD="$BUILD" \
	"${targets[@]/#/$OUT/fuzz_}" >"$OUT.build.log" 2>&1; then
	tail -20 "$OUT.build.log"
	echo "fuzz: cannot build the targets"; echo "fuzz: 0 passed, ${#targets[@]} failed"; exit 1
fi

# Seeds: the kept corpus, the shipped configuration, the shared data.
seed() { # target dir
	local t=$1 d=$2 f i=0
	mkdir -p "$d"
	# any target: its kept inputs and its seeds directory
	cp tests/fuzz/regress/$t/* tests/fuzz/seeds/$t/* "$d"/ 2>/dev/null
	case $t in
	toml)
		cp config/*/*.toml "$d"/ 2>/dev/null
		if [ -n "$SHARED" ]; then
			for f in $(find "$SHARED/toml-test/valid" -name '*.toml' 2>/dev/null | head -300); do
				cp "$f" "$d/shared-$((i++)).toml"
			done
		fi ;;
	seccomp)
		cp config/seccomp/*.json "$d"/ 2>/dev/null ;;
	policy)
		for f in config/caps/*.toml; do
			{ printf '\0'; cat "$f"; } >"$d/caps-$(basename "$f")"
		done
		for f in config/landlock/*.toml; do
			{ printf '\1'; cat "$f"; } >"$d/landlock-$(basename "$f")"
		done ;;
	run_args)
		printf -- '--name\0web\0--memory\0064M\0--cpus\0001.5\0--\0sh' >"$d/basic"
		printf -- '-e\0A=1\0-w\0/tmp\0--hostname\0h\0--context\0/tmp\0true' >"$d/env"
		printf -- '--egress-allow\00010.0.0.0/8\0--egress-tcp-port\000443\0--dns\0001.1.1.1\0true' >"$d/egress"
		printf -- '--io-limit\0008:0 riops=10 wbps=1M\0--pids\00016\0--seccomp-mode\0trace\0--seccomp-log\0/tmp/x\0true' >"$d/limits"
		printf -- '--caps-policy\0/x.toml\0--landlock-policy-sha256\0abc\0-d\0--rm\0-t\0true' >"$d/policies"
		printf -- '--network\0bridge\0--subnet\00010.9.0.0/24\0-p\0127.0.0.1:8080:80/tcp\0--add-host\0db:host-gateway\0--dns-search\0a.example\0true' >"$d/bridge" ;;
	config_json)
		cp tests/fuzz/seeds/config_json/* "$d"/ 2>/dev/null ;;
	portspec)
		printf '\0008080:80' >"$d/p1"; printf '\000[::]:8000-8010:9000-9010/udp' >"$d/p2"
		printf '\000127.0.0.1:53:53/udp' >"$d/p3"; printf '\00110.0.42.0/24' >"$d/s1"
		printf '\001fd00:1::/64' >"$d/s2"; printf '\002db:10.0.0.1' >"$d/h1"
		printf '\002v6:2001:db8::1' >"$d/h2"; printf '\003corp.example' >"$d/d1"
		printf '\004id 0123456789abcdef0123456789abcdef\nports 8080:80/tcp\n' >"$d/l1" ;;
	esac
}

for t in "${targets[@]}"; do
	src=tests/fuzz/fuzz_$t.c
	bin=$OUT/fuzz_$t
	if [ ! -f "$src" ] || [ ! -x "$bin" ]; then
		echo "FAIL fuzz_$t: no $src or $bin"; failed=$((failed + 1)); continue
	fi
	export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
	export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
	export LSAN_OPTIONS=
	[ -f tests/fuzz/$t.lsan.supp ] && export LSAN_OPTIONS=suppressions=$ROOT/tests/fuzz/$t.lsan.supp
	dict=()
	[ -f tests/fuzz/$t.dict ] && dict=(-dict=tests/fuzz/$t.dict)
	log=$OUT/fuzz_$t.log
	art=$OUT/artifacts/$t/
	mkdir -p "$art"
	# 1. every kept regression input, once
	if [ -d tests/fuzz/regress/$t ] && ls tests/fuzz/regress/$t/* >/dev/null 2>&1; then
		if ! "$bin" -timeout=25 "${dict[@]}" tests/fuzz/regress/$t/* >"$log.regress" 2>&1; then
			echo "FAIL fuzz_$t: a regression input fails again (see $log.regress)"
			grep -E 'ERROR|SUMMARY|Running:' "$log.regress" | tail -5 | sed 's/^/    /'
			failed=$((failed + 1)); continue
		fi
	fi
	# 2. fuzz from the seeds for the given time (or run each seed once)
	corpus=$OUT/corpus/$t
	seeds=$OUT/seeds/$t
	rm -rf "$seeds"
	seed "$t" "$seeds"
	start=$(date +%s)
	if [ "$SECONDS_EACH" = 0 ]; then
		"$bin" "${dict[@]}" -runs=0 -timeout=25 -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 \
			-artifact_prefix="$art" "$seeds" >"$log" 2>&1
	else
		mkdir -p "$corpus"
		"$bin" "${dict[@]}" -max_total_time="$SECONDS_EACH" -timeout=25 -rss_limit_mb=2048 \
			-max_len=65536 -print_final_stats=1 -artifact_prefix="$art" "$corpus" "$seeds" >"$log" 2>&1
	fi
	rc=$?
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
	cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1)
	secs=$(( $(date +%s) - start ))
	if [ $rc = 0 ]; then
		pass=$((pass + 1))
		printf 'ok   fuzz_%-10s %6ss %10s runs  %s\n' "$t" "$secs" "${runs:-?}" "$cov"
	else
		failed=$((failed + 1))
		printf 'FAIL fuzz_%-10s %6ss (see %s; input in %s)\n' "$t" "$secs" "$log" "$art"
		grep -E '^(==[0-9]+==ERROR|SUMMARY|.*runtime error)' "$log" | head -5 | sed 's/^/    /'
	fi
done
echo "fuzz: $pass passed, $failed failed"
[ $failed = 0 ]
