# The workload's stdio: the detached log and its streams, -i and -t, the
# environment attach starts from, what /etc holds, what a context copy
# leaves out, and the order of the audit log's first events.

wait_exited() { # NAME
	wait_for sh -c "'$NUCLEUS' ps -a | grep ' $1 ' | grep -q Exited" || fail "$1 did not exit"
}

# The records of a container's log as "stream:text" lines (text without
# its newline; only simple text).
log_records() { # NAME
	sed -n 's/^{"stream":"\([a-z]*\)","log":"\([^"\\]*\)\(\\n\)\{0,1\}","time":"[0-9T:.Z-]*"}$/\1:\2/p' \
		"$(state_field "$1" log_path)"
}

test_logs_keep_stderr_on_stderr() {
	local dir
	dir=$(mktemp -d)
	"$NUCLEUS" run -d --name lse-$$ -- sh -c 'echo out; echo err >&2' >/dev/null || fail "start"
	rm_on_exit lse-$$
	wait_exited lse-$$
	"$NUCLEUS" logs lse-$$ >"$dir/out" 2>"$dir/err" || fail "logs"
	assert_eq "$(cat "$dir/out")" "out" "stdout"
	assert_eq "$(cat "$dir/err")" "err" "stderr"
	# one JSON record per line, the stream kept
	assert_eq "$(log_records lse-$$ | sort | tr '\n' ' ')" "stderr:err stdout:out " "records"
	"$NUCLEUS" rm lse-$$ >/dev/null
	rm -rf "$dir"
}

test_logs_keep_the_order_of_interleaved_writes() {
	"$NUCLEUS" run -d --name lso-$$ -- sh -c \
		'echo o1; sleep 0.1; echo e1 >&2; sleep 0.1; echo o2; sleep 0.1; echo e2 >&2; sleep 0.1; echo o3' >/dev/null ||
		fail "start"
	rm_on_exit lso-$$
	wait_exited lso-$$
	assert_eq "$(log_records lso-$$ | tr '\n' ' ')" "stdout:o1 stderr:e1 stdout:o2 stderr:e2 stdout:o3 " "in the file"
	assert_eq "$("$NUCLEUS" logs lso-$$ 2>&1 | tr '\n' ' ')" "o1 e1 o2 e2 o3 " "as logs gives them back"
	"$NUCLEUS" rm lso-$$ >/dev/null
}

test_logs_tail_and_timestamps() {
	"$NUCLEUS" run -d --name lst-$$ -- sh -c 'echo a; echo b; sleep 0.1; echo c >&2' >/dev/null || fail "start"
	rm_on_exit lst-$$
	wait_exited lst-$$
	assert_eq "$("$NUCLEUS" logs --tail 1 lst-$$ 2>&1 >/dev/null)" "c" "--tail 1: the last line, on stderr"
	assert_eq "$("$NUCLEUS" logs --tail 1 lst-$$ 2>/dev/null)" "" "--tail 1: nothing on stdout"
	assert_eq "$("$NUCLEUS" logs -n 2 lst-$$ 2>/dev/null)" "b" "-n 2"
	assert_eq "$("$NUCLEUS" logs -n all lst-$$ 2>/dev/null | tr '\n' ' ')" "a b " "-n all"
	"$NUCLEUS" logs -t lst-$$ 2>&1 | grep -Eq '^20[0-9]{2}-[0-9]{2}-[0-9]{2}T[0-9:]{8}\.[0-9]{9}Z a$' ||
		fail "-t: $("$NUCLEUS" logs -t lst-$$ 2>&1)"
	"$NUCLEUS" rm lst-$$ >/dev/null
}

# vm-tier
test_logs_follow_sees_later_output() {
	local dir pid
	dir=$(mktemp -d)
	"$NUCLEUS" run -d --name lsf-$$ -- sh -c 'echo first; sleep 1.5; echo second; sleep 0.1; echo third >&2' >/dev/null ||
		fail "start"
	rm_on_exit lsf-$$
	"$NUCLEUS" logs -f lsf-$$ >"$dir/out" 2>"$dir/err" &
	pid=$!
	wait_for grep -q first "$dir/out" || fail "no first line"
	assert_eq "$(cat "$dir/out")" "first" "-f started before the rest was written"
	wait $pid || fail "logs -f failed"
	assert_eq "$(cat "$dir/out" | tr '\n' ' ')" "first second " "stdout followed"
	assert_eq "$(cat "$dir/err")" "third" "stderr followed"
	"$NUCLEUS" rm lsf-$$ >/dev/null
	rm -rf "$dir"
}

test_logs_partial_line() {
	"$NUCLEUS" run -d --name lsp-$$ -- sh -c 'printf abc; sleep 1; printf "def\n"' >/dev/null || fail "start"
	rm_on_exit lsp-$$
	# what was written without a newline is in the log at once
	wait_for sh -c "[ \"\$('$NUCLEUS' logs lsp-$$)\" = abc ]" || fail "partial line not logged: $("$NUCLEUS" logs lsp-$$)"
	wait_exited lsp-$$
	assert_eq "$(log_records lsp-$$ | tr '\n' ' ')" "stdout:abc stdout:def " "two records"
	assert_eq "$("$NUCLEUS" logs lsp-$$ | od -An -c | tr -s ' ')" " a b c d e f \n" "concatenated"
	"$NUCLEUS" rm lsp-$$ >/dev/null
}

test_logs_keep_output_written_right_before_exit() {
	local dir
	dir=$(mktemp -d)
	"$NUCLEUS" run -d --name lsx-$$ -- sh -c 'seq 1 200000; seq 1 50000 >&2; printf "no newline at the end"' >/dev/null ||
		fail "start"
	rm_on_exit lsx-$$
	wait_exited lsx-$$
	"$NUCLEUS" logs lsx-$$ >"$dir/out" 2>"$dir/err"
	assert_eq "$(grep -c . "$dir/out")" 200001 "every stdout line"
	assert_eq "$(tail -c 21 "$dir/out")" "no newline at the end" "the last partial line"
	assert_eq "$(wc -l <"$dir/err" | tr -d ' ')" 50000 "every stderr line"
	assert_eq "$(tail -1 "$dir/err")" 50000 "the last stderr line"
	"$NUCLEUS" rm lsx-$$ >/dev/null
	rm -rf "$dir"
}

# A grandchild that holds the pipes does not outlive the container (its pid
# namespace dies with its init): the supervisor finishes at once.
test_logs_background_child_does_not_hold_the_supervisor() {
	local start
	"$NUCLEUS" run -d --name lsb-$$ -- sh -c 'sleep 30 & echo started' >/dev/null || fail "start"
	rm_on_exit lsb-$$
	start=$(date +%s%N)
	wait_exited lsb-$$
	[ $(( ($(date +%s%N) - start) / 1000000 )) -lt 2000 ] || fail "the supervisor waited for the pipe"
	assert_eq "$("$NUCLEUS" logs lsb-$$)" "started" "output"
	"$NUCLEUS" rm lsb-$$ >/dev/null
}

# The supervisor's own messages land in the log as stderr.
test_logs_supervisor_messages_are_stderr() {
	local ctx err
	# what the supervisor says once detached lands in the log, as stderr
	"$NUCLEUS" run -d --name lsm-$$ --memory 24M -- sh -c 'echo hello; exec "$0" alloc 256' "$PROBE" >/dev/null ||
		fail "start"
	rm_on_exit lsm-$$
	wait_exited lsm-$$
	assert_eq "$("$NUCLEUS" logs lsm-$$ 2>/dev/null)" "hello" "stdout"
	assert_contains "$("$NUCLEUS" logs lsm-$$ 2>&1 >/dev/null)" "nucleus: killed: out of memory" "stderr"
	"$NUCLEUS" rm lsm-$$ >/dev/null
	# what it says before (the context copy, made before the container
	# exists) reaches the caller who asked for -d
	ctx=$(mktemp -d)
	mkfifo "$ctx/fifo"
	err=$("$NUCLEUS" run -d --rm --context "$ctx" -- true 2>&1 >/dev/null) || fail "start with a fifo"
	assert_contains "$err" "nucleus: warning: context copy skipped 1 fifo" "the caller's stderr"
	rm -rf "$ctx"
}

test_run_detached_interactive_keeps_stdin_open() {
	"$NUCLEUS" run -d -i --name sti-$$ -- cat >/dev/null || fail "start -d -i"
	"$NUCLEUS" run -d --name stn-$$ -- cat >/dev/null || fail "start -d"
	rm_on_exit sti-$$ stn-$$
	wait_exited stn-$$
	assert_contains "$("$NUCLEUS" ps -a | grep " stn-$$ ")" "Exited (0)" "without -i, stdin is /dev/null"
	sleep 1
	assert_contains "$("$NUCLEUS" ps | grep " sti-$$ ")" "Up" "-d -i: cat waits on stdin"
	"$NUCLEUS" rm -f sti-$$ stn-$$ >/dev/null
}

test_run_it_gives_a_terminal() {
	local out
	out=$(script -qec "'$NUCLEUS' run -it -- tty" /dev/null </dev/null)
	assert_contains "$out" "/dev/pts/0" "-it: a pty"
	# foreground -i passes stdin on, as without it
	assert_eq "$(echo piped | "$NUCLEUS" run -i -- cat)" "piped" "-i: stdin"
}

test_run_detached_tty_output_goes_to_the_log() {
	"$NUCLEUS" run -dt --name stt-$$ -- sh -c 'tty; echo on-the-pty >&2' >/dev/null || fail "start -dt"
	rm_on_exit stt-$$
	wait_exited stt-$$
	assert_eq "$("$NUCLEUS" logs stt-$$ 2>/dev/null | tr -d '\r' | tr '\n' ' ')" "/dev/pts/0 on-the-pty " "the pty's output"
	"$NUCLEUS" run -dit --name stit-$$ -- sh >/dev/null || fail "start -dit"
	rm_on_exit stt-$$ stit-$$
	sleep 1
	assert_contains "$("$NUCLEUS" ps | grep " stit-$$ ")" "Up" "-dit: sh waits on its terminal"
	"$NUCLEUS" rm -f stt-$$ stit-$$ >/dev/null
}

test_attach_gets_the_run_environment() {
	"$NUCLEUS" run -d --name ste-$$ -e FOO=bar -e KEEP=1 -- sleep 30 >/dev/null || fail "start"
	rm_on_exit ste-$$
	assert_eq "$("$NUCLEUS" attach ste-$$ -- sh -c 'echo $FOO $KEEP $HOSTNAME')" "bar 1 ste-$$" "the run's -e"
	assert_eq "$("$NUCLEUS" attach -e FOO=baz ste-$$ -- sh -c 'echo $FOO $KEEP')" "baz 1" "attach's -e wins"
	assert_status 125 "$NUCLEUS" attach -e LD_PRELOAD=x ste-$$ -- true
	"$NUCLEUS" rm -f ste-$$ >/dev/null
}

test_etc_has_services_protocols_os_release() {
	assert_contains "$("$NUCLEUS" run -- getent services http)" "80/tcp" "getent services"
	assert_status 0 "$NUCLEUS" run -- grep -q '^tcp[[:space:]]' /etc/protocols
	if [ -e /etc/os-release ]; then
		assert_eq "$("$NUCLEUS" run -- cat /etc/os-release)" "$(cat /etc/os-release)" "os-release"
		assert_status 0 "$NUCLEUS" run -- test -f /etc/os-release -a ! -L /etc/os-release
	fi
	assert_status 30 "$NUCLEUS" run -- "$PROBE" write /etc/services
}

# vm-tier
test_context_copy_warns_about_what_it_skips() {
	local ctx err out
	ctx=$(mktemp -d)
	err=$(mktemp)
	mkdir "$ctx/run"
	echo data >"$ctx/file"
	mkfifo "$ctx/fifo"
	"$PROBE" bind-unix "$ctx/run/app.sock" || fail "no socket"
	out=$("$NUCLEUS" run --context "$ctx" -- cat /context/file 2>"$err") || fail "the run failed: $(cat "$err")"
	assert_eq "$out" "data" "the rest is copied"
	assert_eq "$(grep -c warning "$err")" 1 "one warning line: $(cat "$err")"
	assert_contains "$(cat "$err")" "nucleus: warning: context copy skipped 1 fifo, 1 socket" "what"
	assert_contains "$(cat "$err")" "run/app.sock" "where"
	assert_eq "$("$NUCLEUS" run --context "$ctx" --context-mode bind -- true 2>&1)" "" "bind mode skips nothing"
	rm -rf "$ctx" "$err"
}

test_audit_start_precedes_the_first_exec() {
	local i out start exec
	for i in $(seq 1 10); do
		"$NUCLEUS" run --audit --name aso$i-$$ -- /bin/true || fail "run $i"
		out=$("$NUCLEUS" audit tail --json aso$i-$$)
		start=$(echo "$out" | grep -n '"type":"start"' | head -1)
		exec=$(echo "$out" | grep -n '"type":"exec"' | head -1)
		[ -n "$start" ] && [ -n "$exec" ] || fail "run $i: no start or no exec: $out"
		[ "${start%%:*}" -lt "${exec%%:*}" ] || fail "run $i: exec written before start: $out"
		# and by time, which is how `audit tail` orders several sources
		start=$(echo "$start" | sed 's/.*"time":"\([^"]*\)".*/\1/')
		exec=$(echo "$exec" | sed 's/.*"time":"\([^"]*\)".*/\1/')
		[[ "$start" < "$exec" ]] || fail "run $i: exec at $exec, before start at $start"
	done
	out=$("$NUCLEUS" audit tail --json aso1-$$ aso2-$$ | sed -n 's/.*"name":"aso1-[0-9]*","type":"\(start\|exec\)".*/\1/p')
	assert_eq "$(echo $out)" "start exec" "merged by time"
}

# A line the log holds in two records (written in two pieces) is one line
# for --tail, as docker counts.
test_logs_tail_counts_lines_not_records() {
	"$NUCLEUS" run -d --name ltl-$$ -- sh -c 'echo first; printf abc; sleep 0.5; printf "def\n"; echo ghi' >/dev/null ||
		fail "start"
	rm_on_exit ltl-$$
	wait_exited ltl-$$
	assert_eq "$(log_records ltl-$$ | tr '\n' ' ')" "stdout:first stdout:abc stdout:def stdout:ghi " "four records"
	assert_eq "$("$NUCLEUS" logs --tail 1 ltl-$$)" "ghi" "--tail 1"
	assert_eq "$("$NUCLEUS" logs --tail 2 ltl-$$ | tr '\n' ' ')" "abcdef ghi " "--tail 2: the cut line whole"
	assert_eq "$("$NUCLEUS" logs --tail 3 ltl-$$ | tr '\n' ' ')" "first abcdef ghi " "--tail 3"
	assert_eq "$("$NUCLEUS" logs --tail 9 ltl-$$ | tr '\n' ' ')" "first abcdef ghi " "--tail beyond the start"
	"$NUCLEUS" rm ltl-$$ >/dev/null
}
