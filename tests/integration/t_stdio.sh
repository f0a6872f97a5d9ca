# The workload's stdio: the detached log and its streams, -i and -t, the
# environment attach starts from, what /etc holds, what a context copy
# leaves out, and the order of the audit log's first events.

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
