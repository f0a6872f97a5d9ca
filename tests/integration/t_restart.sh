# --restart: the supervisor starts the workload again, in the same cgroup,
# BPF policy, network and state; a stop is not a crash.

HERE=$(dirname "${BASH_SOURCE[0]}")

# A workload that counts its runs in DIR/runs and exits with the status
# STATUSES gives for that run (the last one repeats).
counting() { # DIR STATUSES...
	local dir=$1
	shift
	echo 'n=$(( $(cat /data/n 2>/dev/null || echo 0) + 1 )); echo $n >/data/n; echo run >>/data/runs;'\
	     "set -- $*; shift \$(( n < \$# ? n - 1 : \$# - 1 )); exit \$1"
}

# DIR/runs has at least N lines (for wait_for: evaluated at each try).
runs_at_least() { # DIR N
	[ "$(wc -l <"$1/runs" 2>/dev/null || echo 0)" -ge "$2" ]
}

# vm-tier
test_restart_on_failure_until_success() {
	local d out st
	d=$(mktemp -d)
	out=$("$NUCLEUS" run --audit --restart on-failure -v "$d:/data" -- /bin/sh -c "$(counting "$d" 1 1 1 0)" 2>&1)
	st=$?
	assert_eq "$st" 0 "status after the workload succeeded on its 4th run [$out]"
	assert_eq "$(wc -l <"$d/runs")" 4 "runs"
	rm -rf "$d"
}

test_restart_on_failure_stops_at_its_maximum() {
	local d st
	d=$(mktemp -d)
	"$NUCLEUS" run --restart on-failure:2 -v "$d:/data" -- /bin/sh -c "$(counting "$d" 5)" >/dev/null 2>&1
	st=$?
	assert_eq "$st" 5 "status: the last run's"
	assert_eq "$(wc -l <"$d/runs")" 3 "runs: the first and 2 restarts"
	rm -rf "$d"
}

test_restart_no_is_the_default() {
	local d st
	d=$(mktemp -d)
	"$NUCLEUS" run -v "$d:/data" -- /bin/sh -c "$(counting "$d" 1)" >/dev/null 2>&1
	st=$?
	assert_eq "$st" 1 "status"
	assert_eq "$(wc -l <"$d/runs")" 1 "runs"
	# on-failure does not restart a success
	"$NUCLEUS" run --restart on-failure -v "$d:/data" -- /bin/sh -c "$(counting "$d" 0)" >/dev/null 2>&1
	assert_eq "$(wc -l <"$d/runs")" 2 "runs after a success under on-failure"
	rm -rf "$d"
}

# Each restart is in the audit log, and the state counts them.
test_restart_is_audited_and_counted() {
	local name=rs-audit-$$ d log
	d=$(mktemp -d)
	rm_on_exit "$name"
	"$NUCLEUS" run -d --name "$name" --audit --restart on-failure:3 -v "$d:/data" \
		-- /bin/sh -c "$(counting "$d" 7)" >/dev/null || fail "run -d"
	wait_for grep -q '"status":"exited"' "$RUNTIME_DIR/$(container_id "$name")/state.json" ||
		fail "never exited: $(cat "$RUNTIME_DIR/$(container_id "$name")/state.json")"
	assert_eq "$(wc -l <"$d/runs")" 4 "runs"
	log=$(state_field "$name" audit_path)
	assert_eq "$(grep -c '"type":"restart"' "$log")" 3 "restart events"
	assert_contains "$(grep '"type":"restart"' "$log" | tail -1)" '"exit_code":7' "the exit that caused it"
	assert_contains "$(cat "$RUNTIME_DIR/$(container_id "$name")/state.json")" '"restarts":3' "restarts in the state"
	"$NUCLEUS" rm "$name" >/dev/null
	rm -rf "$d"
}

# The restarted workload is in the same cgroup, with the same address and
# the same egress policy.
test_restart_keeps_cgroup_network_and_egress_policy() {
	local name=rs-net-$$ out
	rm_on_exit "$name"
	# runs 1 and 2 print their address and the errno of a connection to the
	# bridge's gateway (the host: nothing leaves it) that the policy denies
	out=$("$NUCLEUS" run --name "$name" --network bridge --egress-allow 192.0.2.1/32 --restart on-failure:1 \
		-- /bin/sh -c 'ip -4 -o addr show eth0 | awk "{print \$4}"; '"$PROBE"' connect "$(ip -4 route show default | awk "{print \$3}")" 9; echo "errno $?"; exit 1' 2>&1)
	assert_eq "$(echo "$out" | grep -c '^10\.')" 2 "two runs printed an address [$out]"
	assert_eq "$(echo "$out" | grep '^10\.' | sort -u | wc -l)" 1 "the same address both times [$out]"
	assert_eq "$(echo "$out" | grep -c '^errno 1$')" 2 "EPERM from the egress policy in both runs [$out]"
}

test_restart_same_cgroup() {
	local name=rs-cg-$$ id cg pids1 pids2 d
	d=$(mktemp -d)
	rm_on_exit "$name"
	"$NUCLEUS" run -d --name "$name" --restart always -v "$d:/data" \
		-- /bin/sh -c 'echo run >>/data/runs; while [ ! -e /data/next ]; do sleep 0.05; done; rm /data/next; exit 1' \
		>/dev/null || fail "run -d"
	id=$(container_id "$name")
	cg=$(cgroup_dir "$id" unified) || cg=$(cgroup_dir "$id" pids) || fail "no cgroup"
	wait_for grep -q . "$cg/cgroup.procs" || fail "nothing in the cgroup"
	pids1=$(cat "$cg/cgroup.procs")
	touch "$d/next"
	wait_for runs_at_least "$d" 2 || fail "not restarted"
	wait_for grep -q . "$cg/cgroup.procs" || fail "the restarted workload is not in the container's cgroup"
	pids2=$(cat "$cg/cgroup.procs")
	assert_ne "$pids2" "$pids1" "a new workload"
	assert_eq "$(cgroup_dir "$id" unified || cgroup_dir "$id" pids)" "$cg" "the same cgroup"
	"$NUCLEUS" rm -f "$name" >/dev/null
	rm -rf "$d"
}

# `nucleus stop` of a container under --restart always stops it for good,
# also while it waits out a restart's backoff.
test_restart_stop_is_not_restarted() {
	local name=rs-stop-$$ d t0 st
	d=$(mktemp -d)
	rm_on_exit "$name"
	# (--init: a pid 1 without handlers would take stop's 10 s grace)
	"$NUCLEUS" run -d --init --name "$name" --restart always -v "$d:/data" \
		-- /bin/sh -c 'echo run >>/data/runs; exec sleep 30' >/dev/null || fail "run -d"
	wait_for [ -s "$d/runs" ] || fail "not started"
	t0=$SECONDS
	"$NUCLEUS" stop "$name" >/dev/null || fail "stop"
	[ $((SECONDS - t0)) -lt 8 ] || fail "stop took $((SECONDS - t0)) s"
	sleep 0.5
	assert_eq "$(wc -l <"$d/runs")" 1 "runs after stop"
	st=$("$NUCLEUS" ps -a | grep " $name ")
	assert_contains "$st" "Exited" "ps after stop"
	"$NUCLEUS" rm "$name" >/dev/null
	# during the backoff: a workload that fails at once, stopped between two runs
	"$NUCLEUS" run -d --name "$name" --restart always -v "$d:/data" -- /bin/sh -c 'echo run >>/data/runs; exit 1' \
		>/dev/null || fail "run -d (2)"
	wait_for runs_at_least "$d" 3 || fail "not restarted"
	"$NUCLEUS" stop "$name" >/dev/null || fail "stop (2)"
	local n
	n=$(wc -l <"$d/runs")
	sleep 1
	assert_eq "$(wc -l <"$d/runs")" "$n" "runs after a stop during the backoff"
	assert_contains "$("$NUCLEUS" ps -a | grep " $name ")" "Exited" "ps after stop (2)"
	"$NUCLEUS" rm "$name" >/dev/null
	rm -rf "$d"
}

# SIGTERM to a foreground supervisor (systemctl stop) ends the container.
test_restart_sigterm_to_the_supervisor_stops() {
	local d pid st
	d=$(mktemp -d)
	"$NUCLEUS" run --restart always -v "$d:/data" -- /bin/sh -c 'echo run >>/data/runs; exec sleep 30' \
		>/dev/null 2>&1 &
	pid=$!
	wait_for [ -s "$d/runs" ] || { kill -KILL $pid; fail "not started"; }
	kill -TERM $pid
	wait $pid
	st=$?
	assert_eq "$st" 143 "status: SIGTERM's"
	assert_eq "$(wc -l <"$d/runs")" 1 "runs"
	rm -rf "$d"
}

# docker's backoff: 100 ms doubled at each restart.
test_restart_backs_off() {
	local d pid n
	d=$(mktemp -d)
	"$NUCLEUS" run --restart always -v "$d:/data" -- /bin/sh -c 'echo run >>/data/runs; exit 1' >/dev/null 2>&1 &
	pid=$!
	sleep 2
	kill -TERM $pid
	wait $pid
	n=$(wc -l <"$d/runs")
	# 0.1+0.2+0.4+0.8 s: 5 runs within 2 s (and with the starts' cost, at
	# least 4); without a backoff it would be dozens
	[ "$n" -ge 4 ] && [ "$n" -le 6 ] || fail "$n runs in 2 s"
	rm -rf "$d"
}

test_restart_refusals() {
	local out
	out=$(run_refused rs-bad-$$ --restart sometimes) || exit 1
	assert_contains "$out" "--restart: invalid restart policy \`sometimes\`" "message"
	out=$(run_refused rs-bad-$$ --restart always:3) || exit 1
	assert_contains "$out" "only on-failure takes a maximum" "message"
	out=$(run_refused rs-bad-$$ -d --rm --restart always) || exit 1
	assert_contains "$out" "--restart conflicts with --rm" "message"
}

# --health-on-failure: what the supervisor does once the check turns
# unhealthy (podman's semantics). The check passes while DIR/ok exists.
# Sets the array HF to those flags.
unhealthy_flags() { # DIR
	HF=(--health-cmd "test -e /data/ok" --health-interval 0.1 --health-retries 1 -v "$1:/data")
}

test_health_on_failure_kill() {
	local d st HF
	d=$(mktemp -d)
	unhealthy_flags "$d"
	# no restart policy: killed, and the exit is SIGKILL's
	timeout 20 "$NUCLEUS" run --health-on-failure kill "${HF[@]}" \
		-- /bin/sh -c 'echo run >>/data/runs; exec sleep 30' >/dev/null 2>&1
	st=$?
	assert_eq "$st" 137 "status after the kill"
	assert_eq "$(wc -l <"$d/runs")" 1 "runs"
	# with --restart on-failure, 137 is a failure: restarted (until the
	# maximum)
	timeout 20 "$NUCLEUS" run --health-on-failure kill --restart on-failure:1 "${HF[@]}" \
		-- /bin/sh -c 'echo run >>/data/runs; exec sleep 30' >/dev/null 2>&1
	st=$?
	assert_eq "$st" 137 "status after the kill and one restart"
	assert_eq "$(wc -l <"$d/runs")" 3 "runs (1 before, and 2)"
	rm -rf "$d"
}

test_health_on_failure_restart() {
	local name=hof-rs-$$ d out HF
	d=$(mktemp -d)
	unhealthy_flags "$d"
	rm_on_exit "$name"
	# unhealthy until the second run makes it healthy: restarted once,
	# whatever --restart says (no)
	"$NUCLEUS" run -d --name "$name" --audit --health-on-failure restart "${HF[@]}" \
		-- /bin/sh -c 'echo run >>/data/runs; [ $(wc -l </data/runs) -ge 2 ] && touch /data/ok; exec sleep 30' \
		>/dev/null || fail "run -d"
	wait_for runs_at_least "$d" 2 || fail "not restarted"
	health_is() { "$NUCLEUS" ps --json --filter name="$name" | grep -q "\"status\": \"$1\""; }
	wait_for health_is healthy || fail "not healthy after the restart: $("$NUCLEUS" ps --json --filter name="$name")"
	out=$("$NUCLEUS" ps --json --filter name="$name")
	assert_contains "$out" '"restarts": 1' "ps --json counts the restart"
	assert_eq "$(wc -l <"$d/runs")" 2 "runs"
	assert_contains "$(grep '"type":"health_action"' "$(state_field "$name" audit_path)")" '"action":"restart"' \
		"the action in the audit log"
	"$NUCLEUS" rm -f "$name" >/dev/null
	rm -rf "$d"
}

test_health_on_failure_stop() {
	local d st t0 HF
	d=$(mktemp -d)
	unhealthy_flags "$d"
	t0=$SECONDS
	# stopped (SIGTERM: the workload's handler exits 0), and --restart always
	# does not bring it back
	timeout 20 "$NUCLEUS" run --init --health-on-failure stop --restart always "${HF[@]}" \
		-- /bin/sh -c 'echo run >>/data/runs; trap "exit 0" TERM; sleep 30 & wait' >/dev/null 2>&1
	st=$?
	assert_eq "$st" 0 "status: the workload's own, after its SIGTERM handler"
	assert_eq "$(wc -l <"$d/runs")" 1 "runs"
	[ $((SECONDS - t0)) -lt 10 ] || fail "the stop took $((SECONDS - t0)) s"
	rm -rf "$d"
}
