# Health checks and readiness checks: docker's states and rules, the probe
# attached to the container as the container (its cgroup, its identity,
# its restrictions), killed at its timeout with every process it started;
# what ps, ps --json and inspect show. (The on-failure actions and the
# restarts are t_restart's.)

# The container's state.json, one line of compact JSON.
hstate() { # NAME
	cat "$RUNTIME_DIR/$(container_id "$1")/state.json"
}

# The health check's status and failing streak as state.json says.
hstatus() { # NAME
	hstate "$1" | sed -n 's/.*"health":{"Status":"\([a-z]*\)".*/\1/p'
}
hstreak() { # NAME
	hstate "$1" | sed -n 's/.*"health":{"Status":"[a-z]*","FailingStreak":\([0-9]*\).*/\1/p'
}
# The exit codes of the results kept, oldest first, one per line.
hcodes() { # NAME
	hstate "$1" | grep -o '"ExitCode":-\{0,1\}[0-9]*' | sed 's/.*://'
}

# Wait (up to ~10 s) for the status.
wait_health() { # NAME STATUS
	local i
	for i in $(seq 1 200); do
		[ "$(hstatus "$1")" = "$2" ] && return 0
		sleep 0.05
	done
	fail "$1 never $2 (it is [$(hstatus "$1")], streak $(hstreak "$1"), codes $(hcodes "$1" | tr '\n' ' '))"
}

# A directory the test and the probe share (a --volume).
flag_dir() {
	local d
	d=$(mktemp -d /tmp/nucleus-health.XXXXXX) || fail "mktemp"
	chmod 0777 "$d"
	echo "$d"
}

# vm-tier
test_health_starting_healthy_unhealthy_healthy() {
	local d out
	d=$(flag_dir)
	# a long start period: `starting` until the first pass, however slow
	# the host; after that pass, failures count
	"$NUCLEUS" run -d --name hc-$$ --volume "$d:/hw" --health-cmd 'test -e /hw/ok' --health-start-period 600 \
		--health-start-interval 0.1 --health-interval 0.2 --health-retries 2 -- "$PROBE" sleep 60 >/dev/null ||
		fail "start"
	rm_on_exit hc-$$
	sleep 0.5
	assert_eq "$(hstatus hc-$$)" starting "status before the first pass"
	assert_ne "$(hcodes hc-$$ | head -1)" "" "checks ran"
	assert_contains "$("$NUCLEUS" ps --filter name=hc-$$ --format '{{.Status}}')" "(health: starting)" "ps"
	touch "$d/ok"
	wait_health hc-$$ healthy
	assert_contains "$("$NUCLEUS" ps --filter name=hc-$$ --format '{{.Status}}')" "(healthy)" "ps"
	assert_eq "$(hstreak hc-$$)" 0 "streak when healthy"
	rm "$d/ok"
	wait_health hc-$$ unhealthy
	assert_contains "$("$NUCLEUS" ps --filter name=hc-$$ --format '{{.Status}}')" "(unhealthy)" "ps"
	out=$(hcodes hc-$$ | tail -2 | tr '\n' ' ')
	assert_eq "$out" "1 1 " "the last two results failed"
	touch "$d/ok"
	wait_health hc-$$ healthy
	assert_eq "$(hstreak hc-$$)" 0 "a pass resets the streak"
	# docker keeps five results
	sleep 1.5
	assert_eq "$(hcodes hc-$$ | wc -l)" 5 "results kept"
	"$NUCLEUS" rm -f hc-$$ >/dev/null
	rm -rf "$d"
}

# Failures inside the start period do not count: still `starting` after
# several failed checks (run every start interval); counted after it.
# vm-tier
test_health_start_period() {
	local n streak
	"$NUCLEUS" run -d --name hsp-$$ --health-cmd 'exit 1' --health-start-period 1.5 \
		--health-start-interval 0.1 --health-interval 0.2 --health-retries 1 -- "$PROBE" sleep 60 >/dev/null ||
		fail "start"
	rm_on_exit hsp-$$
	sleep 0.9
	n=$(hcodes hsp-$$ | wc -l)
	streak=$(hstreak hsp-$$)
	assert_eq "$(hstatus hsp-$$)" starting "status within the start period"
	[ "$n" -ge 4 ] || fail "checks every start interval: $n results in 0.9 s"
	assert_eq "$streak" 0 "failures in the start period are not counted"
	wait_health hsp-$$ unhealthy
	# the first counted failure made it unhealthy (retries 1): the streak
	# counts from there (a check or two more on a slow host), not the
	# dozen of the start period
	streak=$(hstreak hsp-$$)
	[ "$streak" -ge 1 ] && [ "$streak" -le 3 ] || fail "streak after the start period: $streak"
	"$NUCLEUS" rm -f hsp-$$ >/dev/null
}

# --health-retries 3: healthy through the first two failures, unhealthy
# at the third.
# vm-tier
test_health_retries() {
	local d i s k seen=""
	d=$(flag_dir)
	touch "$d/ok"
	"$NUCLEUS" run -d --name hr-$$ --volume "$d:/hw" --health-cmd 'test -e /hw/ok' \
		--health-interval 0.4 --health-retries 3 -- "$PROBE" sleep 60 >/dev/null || fail "start"
	rm_on_exit hr-$$
	wait_health hr-$$ healthy
	rm "$d/ok"
	for i in $(seq 1 150); do
		s=$(hstate hr-$$)
		k=$(echo "$s" | sed -n 's/.*"FailingStreak":\([0-9]*\).*/\1/p')
		st=$(echo "$s" | sed -n 's/.*"health":{"Status":"\([a-z]*\)".*/\1/p')
		case $k in
		1|2) assert_eq "$st" healthy "status at streak $k"; seen="$seen$k" ;;
		3) assert_eq "$st" unhealthy "status at streak 3"; break ;;
		esac
		sleep 0.05
	done
	assert_eq "$k" 3 "streak"
	assert_contains "$seen" 1 "streak 1 seen"
	assert_contains "$seen" 2 "streak 2 seen"
	"$NUCLEUS" rm -f hr-$$ >/dev/null
	rm -rf "$d"
}

# A probe still running at --health-timeout fails (-1, docker's message)
# and is killed with what it started, a child in a session of its own
# included: the first check times out, the next ones pass at once.
# vm-tier
test_health_timeout_kills_the_probe_and_its_children() {
	local d id cg p left=""
	d=$(flag_dir)
	"$NUCLEUS" run -d --name hto-$$ --volume "$d:/hw" --health-interval 0.2 --health-timeout 0.5 \
		--health-cmd "[ -e /hw/once ] && exit 0; touch /hw/once; setsid $PROBE sleep 997 & echo started > /hw/bg; sleep 999" \
		-- "$PROBE" sleep 60 >/dev/null || fail "start"
	rm_on_exit hto-$$
	wait_health hto-$$ healthy
	[ -e "$d/bg" ] || fail "the background child never ran"
	assert_eq "$(hcodes hto-$$ | head -1)" -1 "a timed-out check's exit code"
	assert_contains "$(hstate hto-$$)" '"Output":"Health check exceeded timeout (0.5s)"' "its output"
	# nothing of it is left in the container's cgroup
	id=$(container_id hto-$$)
	cg=$(cgroup_dir "$id" pids) || fail "no pids cgroup"
	for p in $(cat "$cg/cgroup.procs"); do
		case "$(tr '\0' ' ' < /proc/$p/cmdline 2>/dev/null)" in
		*"sleep 997"*|*"sleep 999"*) left="$left $p" ;;
		esac
	done
	assert_eq "$left" "" "processes of the timed-out check left"
	# The next checks (every 0.2 s) come and go in the cgroup too: between
	# two of them the workload is alone there; a leaked process never is.
	only_workload() { [ "$(wc -l < "$cg/cgroup.procs")" = 1 ]; }
	wait_for only_workload || fail "only the workload in the cgroup: $(cat "$cg/cgroup.procs" | tr '\n' ' ')"
	"$NUCLEUS" rm -f hto-$$ >/dev/null
	rm -rf "$d"
}

# The probe is in the container's cgroup: under --pids 8 it cannot fork 20
# (EAGAIN, 11), where the same probe in a container without that limit can.
# vm-tier
test_health_probe_counts_against_the_pids_limit() {
	"$NUCLEUS" run -d --name hpid-$$ --pids 8 --health-cmd "[\"$PROBE\",\"forks\",\"20\"]" \
		--health-interval 0.3 --health-retries 1 -- "$PROBE" sleep 60 >/dev/null || fail "start"
	"$NUCLEUS" run -d --name hpid2-$$ --health-cmd "[\"$PROBE\",\"forks\",\"20\"]" \
		--health-interval 0.3 --health-retries 1 -- "$PROBE" sleep 60 >/dev/null || fail "start"
	rm_on_exit hpid-$$ hpid2-$$
	wait_health hpid-$$ unhealthy
	assert_eq "$(hcodes hpid-$$ | head -1)" 11 "fork beyond --pids in the probe"
	wait_health hpid2-$$ healthy
	"$NUCLEUS" rm -f hpid-$$ hpid2-$$ >/dev/null
}

# As the workload: its user, no capabilities, no_new_privs, its seccomp
# filter, its namespaces (the container's hostname; its pid 1 in sight from
# the probe's own nested pid namespace).
# vm-tier
test_health_probe_runs_as_the_workload() {
	local s
	"$NUCLEUS" run -d --name hid-$$ --user 1000 --hostname hbox --health-interval 0.2 \
		--health-cmd 'id -u; hostname; grep -E "^(CapEff|NoNewPrivs|Seccomp):" /proc/self/status; tr "\0" " " < /proc/1/cmdline' \
		-- "$PROBE" sleep 60 >/dev/null || fail "start"
	rm_on_exit hid-$$
	wait_health hid-$$ healthy
	s=$(hstate hid-$$)
	assert_contains "$s" '"Output":"1000\nhbox\nCapEff:\t0000000000000000\nNoNewPrivs:\t1\nSeccomp:\t2\n'"$PROBE"' sleep 60 "' \
		"the probe's identity, and the container's processes in sight"
	"$NUCLEUS" rm -f hid-$$ >/dev/null
}

# The exec form (a JSON array) runs without a shell; the shell form with
# /bin/sh -c; both carried by ps --json and inspect with exit code and output.
# vm-tier
test_health_exec_and_shell_forms_in_ps_and_inspect() {
	local out
	"$NUCLEUS" run -d --name hex-$$ --health-cmd "[\"$PROBE\",\"exit\",\"3\"]" --health-interval 0.2 \
		--health-retries 1 -- "$PROBE" sleep 60 >/dev/null || fail "start"
	"$NUCLEUS" run -d --name hsh-$$ --health-cmd 'echo "hi from $0"; exit 4' --health-interval 0.2 \
		--health-retries 1 -- "$PROBE" sleep 60 >/dev/null || fail "start"
	rm_on_exit hex-$$ hsh-$$
	wait_health hex-$$ unhealthy
	wait_health hsh-$$ unhealthy
	assert_eq "$(hcodes hex-$$ | head -1)" 3 "exec form"
	assert_eq "$(hcodes hsh-$$ | head -1)" 4 "shell form"
	out=$("$NUCLEUS" ps --json --filter name=hsh-$$)
	assert_contains "$out" '"status": "unhealthy"' "ps --json"
	assert_contains "$out" '"failing_streak": ' "ps --json: the streak"
	assert_contains "$out" '"exit_code": 4' "ps --json: the last result"
	assert_contains "$out" '"output": "hi from /bin/sh\n"' "ps --json: its output"
	assert_contains "$out" '"ready": false' "ps --json: not ready"
	assert_contains "$out" '"restarts": 0' "ps --json: restarts"
	out=$("$NUCLEUS" inspect hsh-$$ hex-$$)
	assert_contains "$out" '"Status": "unhealthy"' "inspect"
	assert_contains "$out" '"ExitCode": 3' "inspect: exec form's result"
	assert_contains "$out" '"Output": "hi from /bin/sh\n"' "inspect: shell form's output"
	assert_contains "$out" '"shell": true' "inspect: the configuration"
	assert_eq "$(echo "$out" | grep -c '"name": "hsh-'$$'"')" 2 "config and state of hsh"
	"$NUCLEUS" rm -f hex-$$ hsh-$$ >/dev/null
}

# vm-tier
test_inspect_unknown_and_running_without_check() {
	local out st
	"$NUCLEUS" run -d --name hnone-$$ -- "$PROBE" sleep 60 >/dev/null || fail "start"
	rm_on_exit hnone-$$
	out=$("$NUCLEUS" inspect hnone-$$)
	assert_contains "$out" '"health": null' "no health check"
	assert_contains "$out" '"status": "running"' "status"
	assert_not_contains "$("$NUCLEUS" ps --filter name=hnone-$$ --format '{{.Status}}')" "health" "ps"
	out=$("$NUCLEUS" inspect nope-$$ 2>&1 >/dev/null)
	st=$?
	assert_eq "$st" 1 "status for an unknown container"
	assert_eq "$out" "nucleus: no such container: nope-$$" "one line"
	"$NUCLEUS" rm -f hnone-$$ >/dev/null
}

# --readiness-cmd: ready when it first passes, not before; the health
# check's status is not what makes it ready then.
# vm-tier
test_readiness_cmd() {
	local d
	d=$(flag_dir)
	"$NUCLEUS" run -d --name hrd-$$ --volume "$d:/hw" --readiness-cmd 'test -e /hw/ready' \
		-- "$PROBE" sleep 60 >/dev/null || fail "start"
	rm_on_exit hrd-$$
	sleep 0.5
	assert_contains "$(hstate hrd-$$)" '"ready":false' "not ready before the check passes"
	touch "$d/ready"
	wait_for sh -c "grep -q '\"ready\":true' $RUNTIME_DIR/$(container_id hrd-$$)/state.json" || fail "never ready"
	assert_contains "$("$NUCLEUS" ps --json --filter name=hrd-$$)" '"ready": true' "ps --json"
	"$NUCLEUS" rm -f hrd-$$ >/dev/null
	rm -rf "$d"
}

# --readiness-tcp: a connect in the container's network namespace (its own
# loopback, which the host cannot reach); ready once the workload listens.
# vm-tier
test_readiness_tcp() {
	"$NUCLEUS" run -d --name hrt-$$ --readiness-tcp 18087 -- "$PROBE" listen 18087 1 >/dev/null || fail "start"
	rm_on_exit hrt-$$
	sleep 0.4
	assert_contains "$(hstate hrt-$$)" '"ready":false' "not ready before it listens"
	wait_for sh -c "grep -q '\"ready\":true' $RUNTIME_DIR/$(container_id hrt-$$)/state.json" || fail "never ready"
	"$NUCLEUS" rm -f hrt-$$ >/dev/null
}

# Without a readiness check, the first healthy is ready.
# vm-tier
test_ready_at_the_first_healthy() {
	"$NUCLEUS" run -d --name hrh-$$ --health-cmd 'exit 0' --health-interval 1 -- "$PROBE" sleep 60 >/dev/null ||
		fail "start"
	rm_on_exit hrh-$$
	assert_contains "$(hstate hrh-$$)" '"ready":false' "not ready while starting"
	wait_health hrh-$$ healthy
	assert_contains "$(hstate hrh-$$)" '"ready":true' "ready once healthy"
	"$NUCLEUS" rm -f hrh-$$ >/dev/null
}

# vm-tier
test_no_healthcheck_and_health_refusals() {
	local out
	out=$(run_refused hrf-$$ --health-on-failure kill) || exit 1
	assert_contains "$out" "--health-on-failure needs --health-cmd" "on-failure without a check"
	out=$(run_refused hrf-$$ --no-healthcheck --health-cmd true) || exit 1
	assert_contains "$out" "--no-healthcheck conflicts with --health-cmd" "both"
	out=$(run_refused hrf-$$ --health-cmd '["probe", 1]') || exit 1
	assert_contains "$out" "the exec form is a non-empty JSON array of strings" "a bad exec form"
	out=$(run_refused hrf-$$ --health-cmd true --health-interval 1x) || exit 1
	assert_contains "$out" "invalid duration" "a bad duration"
	"$NUCLEUS" run -d --name hnh-$$ --no-healthcheck -- "$PROBE" sleep 60 >/dev/null || fail "start"
	rm_on_exit hnh-$$
	assert_not_contains "$(hstate hnh-$$)" '"health":{"Status"' "no health with --no-healthcheck"
	"$NUCLEUS" rm -f hnh-$$ >/dev/null
}

# docker keeps 4096 bytes of a check's output; what is not UTF-8 (a NUL, a
# character the cut splits) is kept as '?', so the state stays JSON. A
# command that is not there fails with 127 and says so.
# vm-tier
test_health_output_truncated_and_not_found() {
	local s out
	# 4095 x, then é (2 bytes, cut after its first), then more
	"$NUCLEUS" run -d --name hout-$$ --health-interval 0.2 --health-retries 1 \
		--health-cmd 'printf "%04095d" 0 | tr 0 x; printf "\303\251\000yyyy"; exit 1' \
		-- "$PROBE" sleep 60 >/dev/null || fail "start"
	"$NUCLEUS" run -d --name hnf-$$ --health-interval 0.2 --health-retries 1 --health-cmd '["no-such-check"]' \
		-- "$PROBE" sleep 60 >/dev/null || fail "start"
	rm_on_exit hout-$$ hnf-$$
	wait_health hout-$$ unhealthy
	wait_health hnf-$$ unhealthy
	s=$(hstate hout-$$)
	out=$(echo "$s" | grep -o '"Output":"x*[^"]*"' | head -1)
	assert_eq "${#out}" $((4096 + 11)) "4096 bytes kept: [${out: -20}]"
	assert_contains "$out" 'xxx?"' "a cut character"
	assert_eq "$(hcodes hnf-$$ | head -1)" 127 "a check that is not there"
	assert_contains "$(hstate hnf-$$)" 'no-such-check' "it says which"
	out=$("$NUCLEUS" inspect hout-$$) || fail "inspect"
	assert_contains "$out" '"ExitCode": 1' "inspect reads it back"
	"$NUCLEUS" rm -f hout-$$ hnf-$$ >/dev/null
}
