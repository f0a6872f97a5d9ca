# Signals to a foreground run, and --init.

# A `sleep` runs as a child or grandchild (under --init) of PID.
has_sleep() {
	local kids
	kids=$(pgrep -d, -P "$1")
	pgrep -x sleep -P "$1${kids:+,$kids}" >/dev/null
}

# Start `nucleus run ARGS...` in the background, wait until its command
# runs, send SIG to nucleus, and print "STATUS SECONDS".
signal_run() { # SIG ARGS...
	local sig=$1 pid t0 st
	shift
	t0=$EPOCHREALTIME
	"$NUCLEUS" run "$@" >/dev/null 2>&1 &
	pid=$!
	wait_for has_sleep $pid || { kill -KILL $pid; fail "no sleep started"; }
	kill -"$sig" $pid
	wait $pid
	st=$?
	echo "$st $(echo "$EPOCHREALTIME - $t0" | bc)"
}

# vm-tier
test_signals_stop_a_pid1_without_handlers() {
	local out
	# sleep as pid 1 has no handlers: the kernel would drop the signal
	for s in INT:130 TERM:143 HUP:129 QUIT:131; do
		out=$(signal_run "${s%:*}" -- sleep 30)
		assert_eq "${out% *}" "${s#*:}" "status after SIG${s%:*}"
		[ "$(echo "${out#* } < 10" | bc)" = 1 ] || fail "SIG${s%:*} took ${out#* } s"
	done
}

# vm-tier
test_signals_ignored_on_purpose_stay_ignored() {
	local name=ign-$$ pid
	# the workload ignores SIGTERM itself (exec keeps SIG_IGN): it lives on
	"$NUCLEUS" run --name "$name" -- sh -c 'trap "" TERM; exec sleep 30' >/dev/null 2>&1 &
	pid=$!
	wait_for has_sleep $pid || fail "not started"
	kill -TERM $pid
	sleep 0.5
	kill -0 $pid 2>/dev/null || fail "a workload that ignores SIGTERM was ended"
	"$NUCLEUS" kill "$name" >/dev/null
	wait $pid
	assert_eq "$?" 137 "status after nucleus kill"
}

# vm-tier
test_signals_caller_ignores_do_not_reach_the_workload() {
	local out
	# a background job of a script ignores SIGINT; the container must not
	out=$(bash -c 'trap "" INT QUIT; "$0" run -- grep -E "^SigIgn" /proc/self/status' "$NUCLEUS")
	assert_eq "$out" "SigIgn:	0000000000000000" "dispositions inside"
}

# vm-tier
test_init_forwards_signals_to_the_command() {
	local out pid st
	out=$(mktemp)
	"$NUCLEUS" run --init -- sh -c 'trap "echo got-term; exit 3" TERM; echo ready; sleep 30 & wait' >"$out" 2>&1 &
	pid=$!
	wait_for grep -q ready "$out" || fail "not ready"
	kill -TERM $pid
	wait $pid
	st=$?
	assert_eq "$st" 3 "status: the command's own"
	assert_contains "$(cat "$out")" "got-term" "the command's handler ran"
	rm -f "$out"
	# a command without handlers, under --init, dies of the signal
	out=$(signal_run INT --init -- sleep 30)
	assert_eq "${out% *}" 130 "status after SIGINT with --init"
}

# An orphan is reparented to pid 1; a command that never waits (sleep,
# after exec) leaves it a zombie, the init reaps it.
zombies_of() { # FLAGS...
	local name=zomb-$$-$RANDOM out
	"$NUCLEUS" run -d --name "$name" "$@" -- sh -c '(sh -c "sleep 0.1 &"); exec sleep 3' >/dev/null || fail "start"
	sleep 0.8
	out=$("$NUCLEUS" attach "$name" -- sh -c 'for s in /proc/[0-9]*/stat; do read -r l <"$s"; echo "$l"; done')
	"$NUCLEUS" rm -f "$name" >/dev/null
	echo "$out"
}

# vm-tier
test_init_is_pid1_and_reaps_orphans() {
	local out
	out=$("$NUCLEUS" run --init -- sh -c 'cat /proc/1/comm; echo pid=$$' 2>&1)
	assert_contains "$out" "nucleus-init" "pid 1"
	assert_contains "$out" "pid=2" "the command's pid"
	out=$(zombies_of --init)
	assert_contains "$out" "(sleep) S" "the command runs"
	assert_not_contains "$out" ") Z " "with --init, a zombie is left"
	out=$(zombies_of)
	assert_contains "$out" "(sleep) Z" "the control: without --init the orphan is not reaped"
}

# vm-tier
test_init_exit_statuses() {
	local err id
	assert_status 7 "$NUCLEUS" run --init -- sh -c 'exit 7'
	assert_status 137 "$NUCLEUS" run --init -- sh -c 'kill -KILL $$'
	assert_status 127 "$NUCLEUS" run --init -- /nonexistent
	err=$("$NUCLEUS" run --init -- /nonexistent 2>&1)
	assert_eq "$err" "nucleus: exec \`/nonexistent\`: No such file or directory" "message"
	id=$("$NUCLEUS" run --init -d --rm -- true) || fail "run -d --rm"
	# the detached supervisor cleans up after the test's command returned
	wait_for sh -c "[ ! -e '$RUNTIME_DIR/$id' ] && ! ls -d /sys/fs/cgroup/*/nucleus/$id >/dev/null 2>&1" ||
		fail "--rm left $id behind"
}

test_init_command_owns_the_terminal() {
	local out
	command -v script >/dev/null || fail "script (util-linux) is missing"
	# fields 5 and 8 of /proc/self/stat: process group and the terminal's
	# foreground group
	out=$(script -qec "$NUCLEUS run -t --init -- sh -c 'read -r l </proc/self/stat; set -- \$l; echo pg=\$5 fg=\$8'" /dev/null | tr -d '\r')
	case "$out" in
	*"pg="*" fg="*) ;;
	*) fail "no answer: [$out]" ;;
	esac
	local pg=${out#*pg=} fg=${out#*fg=}
	pg=${pg%%[!0-9]*}
	fg=${fg%%[!0-9]*}
	assert_eq "$fg" "$pg" "the command's group is in the foreground"
}

# vm-tier
test_init_reaps_fifty_abandoned_children() {
	local out
	# 50 grandchildren orphaned at once, all reparented to pid 1
	out=$("$NUCLEUS" run --init -- "$PROBE" abandon 50) || fail "run --init"
	assert_eq "$out" "zombies 0" "with --init"
	# the control: the probe as pid 1 never reaps what it did not start
	out=$("$NUCLEUS" run -- "$PROBE" abandon 50) || fail "run"
	assert_eq "$out" "zombies 50" "without --init"
}

# Every signal a process can catch reaches the command, whether sent to
# the foreground `nucleus run` (which forwards to pid 1) or with `nucleus
# kill`; the command handles them and ends with a status of its own.
# vm-tier
test_init_forwards_every_forwardable_signal() {
	local name=fwd-$$ out pid s st
	out=$(mktemp)
	"$NUCLEUS" run --init --name "$name" -- sh -c '
		for s in HUP INT QUIT USR1 USR2 WINCH; do trap "echo got-$s" $s; done
		trap "echo got-TERM; exit 9" TERM
		echo ready; while :; do sleep 0.1; done' >"$out" 2>&1 &
	pid=$!
	wait_for grep -q ready "$out" || { kill -KILL $pid; fail "not ready: $(cat "$out")"; }
	for s in HUP INT QUIT USR1 USR2; do
		kill -$s $pid
		wait_for grep -q "got-$s" "$out" || { kill -KILL $pid; fail "SIG$s to nucleus run did not reach the command"; }
	done
	for s in WINCH USR1; do
		: >"$out"
		"$NUCLEUS" kill -s $s "$name" || fail "nucleus kill -s $s"
		wait_for grep -q "got-$s" "$out" || { kill -KILL $pid; fail "nucleus kill -s $s did not reach the command"; }
	done
	"$NUCLEUS" kill -s TERM "$name" || fail "nucleus kill -s TERM"
	wait $pid
	st=$?
	assert_eq "$st" 9 "status: the command's own, after its TERM handler"
	assert_contains "$(cat "$out")" "got-TERM" "the TERM handler ran"
	rm -f "$out"
}

# The container ends with its command, as docker's tini does: orphans
# still running do not keep pid 1 (and the container) alive.
# vm-tier
test_init_ends_with_the_command_not_its_orphans() {
	local t0 st secs
	t0=$EPOCHREALTIME
	"$NUCLEUS" run --init -- sh -c "\"$PROBE\" sleep 31 & exit 5"
	st=$?
	secs=$(echo "$EPOCHREALTIME - $t0" | bc)
	assert_eq "$st" 5 "the command's status"
	[ "$(echo "$secs < 10" | bc)" = 1 ] || fail "the run waited for the orphan: $secs s"
	# the orphan went with the pid namespace
	! pgrep -f "$PROBE sleep 31" >/dev/null || fail "the orphan outlived the container"
}
