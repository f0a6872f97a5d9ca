# Detached containers, ps, stats, logs, stop, kill, rm, attach, crash
# recovery.

# vm-tier
test_detach_prints_id_and_runs() {
	local id
	id=$("$NUCLEUS" run -d --name det-$$ -- "$PROBE" sleep 30)
	rm_on_exit det-$$
	assert_eq "${#id}" 32 "full id printed"
	assert_contains "$("$NUCLEUS" ps)" "det-$$" "listed"
	assert_contains "$("$NUCLEUS" ps -q)" "${id:0:12}" "ps -q"
	"$NUCLEUS" rm -f det-$$ >/dev/null || fail "rm -f"
	assert_not_contains "$("$NUCLEUS" ps -a)" "det-$$" "gone after rm -f"
}

# vm-tier
test_detached_survives_the_calling_shell() {
	setsid bash -c "'$NUCLEUS' run -d --name surv-$$ -- '$PROBE' sleep 30 >/dev/null; exit 0"
	rm_on_exit surv-$$
	sleep 0.3
	assert_contains "$("$NUCLEUS" ps)" "surv-$$" "still running after the shell exited"
	"$NUCLEUS" stop -t 1 surv-$$ >/dev/null || fail "stop"
	assert_contains "$("$NUCLEUS" ps -a)" "Exited (137)" "stopped"
	"$NUCLEUS" rm surv-$$ >/dev/null
}

# vm-tier
test_stop_terminates_gracefully() {
	local out
	"$NUCLEUS" run -d --name stop-$$ -- "$PROBE" wait-signal >/dev/null || fail "start"
	rm_on_exit stop-$$
	wait_for sh -c "'$NUCLEUS' logs stop-$$ | grep -q ready" || fail "not ready"
	out=$("$NUCLEUS" stop stop-$$)
	assert_eq "$out" "stop-$$" "stop prints the name"
	assert_contains "$("$NUCLEUS" ps -a)" "Exited (115)" "SIGTERM handled by the workload"
	assert_contains "$("$NUCLEUS" logs stop-$$)" "signal 15" "log"
	"$NUCLEUS" rm stop-$$ >/dev/null
}

# vm-tier
test_stop_kills_the_whole_cgroup_after_timeout() {
	local id start elapsed
	id=$("$NUCLEUS" run -d --name stopk-$$ -- /bin/sh -c "trap '' TERM; $PROBE sleep 60 & $PROBE sleep 60") || fail "start"
	rm_on_exit stopk-$$
	start=$(date +%s)
	"$NUCLEUS" stop -t 1 stopk-$$ >/dev/null
	elapsed=$(( $(date +%s) - start ))
	[ $elapsed -le 5 ] || fail "stop took $elapsed s"
	assert_contains "$("$NUCLEUS" ps -a)" "Exited (137)" "killed"
	[ -n "$(pgrep -f "probe sleep 60" 2>/dev/null | while read p; do grep -l "$id" /proc/$p/cgroup 2>/dev/null; done)" ] &&
		fail "a process survived the stop"
	"$NUCLEUS" rm stopk-$$ >/dev/null
}

# vm-tier
test_kill_sends_signals() {
	"$NUCLEUS" run -d --name kill-$$ -- "$PROBE" wait-signal >/dev/null || fail "start"
	rm_on_exit kill-$$
	wait_for sh -c "'$NUCLEUS' logs kill-$$ | grep -q ready" || fail "not ready"
	assert_eq "$("$NUCLEUS" kill -s USR1 kill-$$)" "kill-$$" "kill prints the name"
	wait_for sh -c "'$NUCLEUS' ps -a | grep -q 'Exited (110)'" || fail "USR1 did not arrive"
	assert_status 1 "$NUCLEUS" kill kill-$$
	assert_contains "$("$NUCLEUS" kill kill-$$ 2>&1)" "is not running" "message"
	"$NUCLEUS" rm kill-$$ >/dev/null
	"$NUCLEUS" run -d --name kill2-$$ -- "$PROBE" sleep 30 >/dev/null
	rm_on_exit kill2-$$
	"$NUCLEUS" kill kill2-$$ >/dev/null
	wait_for sh -c "'$NUCLEUS' ps -a | grep -q 'Exited (137)'" || fail "default KILL"
	"$NUCLEUS" rm kill2-$$ >/dev/null
	assert_status 125 "$NUCLEUS" kill -s NOPE x
}

# vm-tier
test_rm_refuses_running_without_force() {
	local err
	"$NUCLEUS" run -d --name rmr-$$ -- "$PROBE" sleep 30 >/dev/null
	rm_on_exit rmr-$$
	err=$("$NUCLEUS" rm rmr-$$ 2>&1)
	assert_status 1 "$NUCLEUS" rm rmr-$$
	assert_contains "$err" "is running" "message"
	"$NUCLEUS" rm -f rmr-$$ >/dev/null || fail "rm -f"
}

# vm-tier
test_logs_follow_and_tail() {
	local out pid
	"$NUCLEUS" run -d --name logs-$$ -- /bin/sh -c 'for i in 1 2 3 4 5; do echo line$i; done; sleep 1; echo late; echo err >&2' >/dev/null
	out=$("$NUCLEUS" logs -f logs-$$ 2>/dev/null)
	assert_eq "$(echo $out)" "line1 line2 line3 line4 line5 late" "logs -f until exit"
	# the last two lines are one on each stream
	assert_eq "$("$NUCLEUS" logs -n 2 logs-$$ 2>/dev/null)" "late" "--tail 2, stdout"
	assert_eq "$("$NUCLEUS" logs -n 2 logs-$$ 2>&1 >/dev/null)" "err" "--tail 2, stderr"
	assert_eq "$("$NUCLEUS" logs --tail 0 logs-$$ 2>&1)" "" "--tail 0"
	"$NUCLEUS" rm logs-$$ >/dev/null
	assert_status 1 "$NUCLEUS" logs no-such-container-$$
}

test_ps_and_stats_json() {
	local id j
	id=$("$NUCLEUS" run -d --name json-$$ --memory 64M -- "$PROBE" spin 5) || fail "start"
	rm_on_exit json-$$
	j=$("$NUCLEUS" ps --json)
	echo "$j" | python3 -c "
import json, sys
d = [c for c in json.load(sys.stdin) if c['name'] == 'json-$$'][0]
assert d['id'] == '$id' and d['status'] == 'running' and d['pid'] > 0, d
assert d['command'][1] == 'spin', d" || fail "ps --json: $j"
	j=$("$NUCLEUS" stats --no-stream --json json-$$)
	echo "$j" | python3 -c "
import json, sys
d = json.load(sys.stdin)[0]
assert d['name'] == 'json-$$', d
assert d['memory_limit'] == 64 << 20, d
assert d['pids'] == 1, d
assert d['cpu_percent'] > 20, d" || fail "stats --json: $j"
	assert_contains "$("$NUCLEUS" stats --no-stream)" "json-$$" "stats table"
	"$NUCLEUS" rm -f json-$$ >/dev/null
}

# vm-tier
test_lookup_by_prefix_and_errors() {
	local id
	id=$("$NUCLEUS" run -d --name pre-$$ -- "$PROBE" sleep 30) || fail "start"
	rm_on_exit pre-$$
	assert_contains "$("$NUCLEUS" stats --no-stream "${id:0:8}")" "pre-$$" "unique prefix"
	assert_contains "$("$NUCLEUS" stats --no-stream "$id")" "pre-$$" "full id"
	assert_status 1 "$NUCLEUS" stop nope-$$
	assert_contains "$("$NUCLEUS" stop nope-$$ 2>&1)" "no such container: nope-$$" "message"
	assert_status 125 "$NUCLEUS" ps --bogus
	assert_status 125 "$NUCLEUS" stop
	"$NUCLEUS" rm -f pre-$$ >/dev/null
}

# vm-tier
test_names_are_unique() {
	"$NUCLEUS" run -d --name dup-$$ -- "$PROBE" sleep 30 >/dev/null || fail "start"
	rm_on_exit dup-$$
	assert_status 125 "$NUCLEUS" run --name dup-$$ -- true
	assert_contains "$("$NUCLEUS" run --name dup-$$ -- true 2>&1)" "already in use" "message"
	"$NUCLEUS" rm -f dup-$$ >/dev/null
	assert_status 0 "$NUCLEUS" run --name dup-$$ -- true
}

# vm-tier
test_twenty_in_parallel() {
	local i ok=0 dir
	dir=$(mktemp -d)
	rm_on_exit same-$$ $(for i in $(seq 1 20); do echo par$i-$$; done)
	for i in $(seq 1 20); do
		( "$NUCLEUS" run -d --name par$i-$$ -- "$PROBE" sleep 20 >"$dir/$i" 2>&1; echo $? >>"$dir/$i" ) &
	done
	wait
	for i in $(seq 1 20); do tail -1 "$dir/$i" | grep -qx 0 && ok=$((ok + 1)); done
	assert_eq "$ok" 20 "all started"
	assert_eq "$("$NUCLEUS" ps | grep -c "par[0-9]*-$$")" 20 "all listed"
	assert_eq "$("$NUCLEUS" ps -q | sort -u | wc -l | tr -d ' ')" 20 "20 distinct ids"
	# the same name twenty times at once: exactly one wins
	for i in $(seq 1 20); do
		( "$NUCLEUS" run -d --name same-$$ -- "$PROBE" sleep 20 >/dev/null 2>&1; echo $? >"$dir/s$i" ) &
	done
	wait
	assert_eq "$(cat "$dir"/s* | grep -cx 0)" 1 "one container per name"
	"$NUCLEUS" rm -f $(for i in $(seq 1 20); do echo par$i-$$; done) same-$$ >/dev/null
	rm -rf "$dir"
}

# vm-tier
test_attach_runs_under_the_same_restrictions() {
	local out
	"$NUCLEUS" run -d --name att-$$ --hostname attbox -- "$PROBE" sleep 30 >/dev/null || fail "start"
	rm_on_exit att-$$
	out=$("$NUCLEUS" attach att-$$ -- "$PROBE" status)
	assert_contains "$out" "CapEff:	0000000000000000" "no capabilities"
	assert_contains "$out" "CapBnd:	0000000000000000" "no bounding set"
	assert_contains "$out" "NoNewPrivs:	1" "nnp"
	assert_contains "$out" "Seccomp:	2" "seccomp"
	assert_eq "$("$NUCLEUS" attach att-$$ -- "$PROBE" hostname)" "attbox" "uts namespace"
	assert_eq "$("$NUCLEUS" attach att-$$ -- cat /proc/1/cmdline | tr '\0' ' ')" "$PROBE sleep 30 " "pid namespace"
	assert_eq "$("$NUCLEUS" attach att-$$ -- "$PROBE" ifaces)" "lo" "net namespace"
	assert_status 1 "$NUCLEUS" attach att-$$ -- "$PROBE" syscall mount
	assert_status 1 "$NUCLEUS" attach att-$$ -- "$PROBE" syscall unshare
	assert_status 38 "$NUCLEUS" attach att-$$ -- "$PROBE" syscall clone3
	assert_status 13 "$NUCLEUS" attach att-$$ -- "$PROBE" write /proc/self/comm
	assert_status 30 "$NUCLEUS" attach att-$$ -- "$PROBE" write /usr/x
	assert_status 7 "$NUCLEUS" attach att-$$ -- "$PROBE" exit 7
	assert_status 127 "$NUCLEUS" attach att-$$ -- nope-nope
	assert_eq "$(echo "echo hi" | "$NUCLEUS" attach att-$$)" "hi" "default /bin/sh reads stdin"
	local id d
	id=$(container_id att-$$)
	d=$(cgroup_dir "$id" pids)
	"$NUCLEUS" attach att-$$ -- "$PROBE" sleep 2 &
	wait_for sh -c "[ \$(cat $d/pids.current) -ge 2 ]" || fail "attached process not in the container's cgroup"
	wait
	"$NUCLEUS" rm -f att-$$ >/dev/null
	assert_status 1 "$NUCLEUS" attach att-$$ -- true
}

# vm-tier
test_attach_to_rootless_and_userns_containers() {
	"$NUCLEUS" run -d --name attu-$$ --userns -- "$PROBE" sleep 30 >/dev/null || fail "start"
	rm_on_exit attu-$$
	assert_eq "$("$NUCLEUS" attach attu-$$ -- cat /proc/self/uid_map | awk '{print $2}')" 100000 "user namespace joined"
	assert_contains "$("$NUCLEUS" attach attu-$$ -- "$PROBE" status)" "CapEff:	0000000000000000" "no capabilities"
	"$NUCLEUS" rm -f attu-$$ >/dev/null
}

test_attach_tty() {
	local out
	"$NUCLEUS" run -d --name attt-$$ -- "$PROBE" sleep 30 >/dev/null || fail "start"
	rm_on_exit attt-$$
	out=$(python3 - "$NUCLEUS" attt-$$ <<'PY'
import os, pty, sys, select
pid, fd = pty.fork()
if pid == 0:
    os.execv(sys.argv[1], [sys.argv[1], "attach", "-t", sys.argv[2], "--", "/bin/sh", "-c", "tty"])
buf = b""
while True:
    r, _, _ = select.select([fd], [], [], 10)
    if not r: break
    try: d = os.read(fd, 4096)
    except OSError: break
    if not d: break
    buf += d
_, st = os.waitpid(pid, 0)
print(buf.decode(errors="replace").replace("\r", ""), "status", os.waitstatus_to_exitcode(st))
PY
)
	assert_contains "$out" "/dev/pts/" "a pty from the container's devpts"
	assert_contains "$out" "status 0" "status"
	"$NUCLEUS" rm -f attt-$$ >/dev/null
}

# Is any live (not zombie) process in a cgroup named after ID?
live_in_cgroup() {
	local f pid
	for f in /proc/[0-9]*/cgroup; do
		grep -q "$1" "$f" 2>/dev/null || continue
		pid=${f#/proc/}
		pid=${pid%/cgroup}
		grep -q '^State:.*zombie' /proc/$pid/status 2>/dev/null || return 0
	done
	return 1
}

crash_at() { # POINT: SIGKILL the supervisor while it is stopped there; prints its id
	local pid id
	NUCLEUS_DEBUG_PAUSE=$1 "$NUCLEUS" run --name crash-$1-$$ -- "$PROBE" sleep 30 >/dev/null 2>&1 &
	pid=$!
	wait_for sh -c "grep -q '^State:.*stopped' /proc/$pid/status" || fail "supervisor never paused at $1"
	# before it registers a name, the directory is all there is
	id=$(cd "$RUNTIME_DIR" && ls -d [0-9a-f]*[0-9a-f] 2>/dev/null | head -1)
	kill -KILL $pid
	wait $pid 2>/dev/null
	[ -n "$id" ] || fail "no state directory at $1"
	echo "$id"
}

# SIGKILL the supervisor at each point; `nucleus rm ID` leaves nothing.
# vm-tier
test_crash_recovery_by_rm() {
	local point id
	for point in cloned registered running; do
		id=$(crash_at $point) || fail "crash at $point"
		"$NUCLEUS" rm "${id:0:12}" >/dev/null || fail "rm after a crash at $point"
		assert_eq "$(leftovers)" "" "nothing left after rm ($point)"
		if live_in_cgroup "$id"; then fail "a process of $id lives on after a crash at $point"; fi
	done
}

# rm -f of a container that is still starting (its directory exists, its
# cgroup and process not yet): what appears is killed, the start fails,
# and nothing is left.
test_rm_force_while_starting() {
	local pid id rm out
	NUCLEUS_DEBUG_PAUSE=prepared "$NUCLEUS" run --name racing-$$ -- "$PROBE" sleep 30 >/dev/null 2>&1 &
	pid=$!
	wait_for sh -c "grep -q '^State:.*stopped' /proc/$pid/status" || fail "supervisor never paused"
	id=$(cd "$RUNTIME_DIR" && ls -d [0-9a-f]*[0-9a-f] 2>/dev/null | head -1)
	[ -n "$id" ] || fail "no state directory"
	"$NUCLEUS" rm -f "${id:0:12}" >"$RUNTIME_DIR.rmout" 2>&1 &
	rm=$!
	sleep 0.3
	kill -CONT $pid
	wait $rm || fail "rm -f failed: $(cat "$RUNTIME_DIR.rmout")"
	rm -f "$RUNTIME_DIR.rmout"
	wait $pid
	assert_ne "$?" 0 "the interrupted start does not report success"
	assert_eq "$(leftovers)" "" "nothing left"
	if live_in_cgroup "$id"; then fail "a process of $id lives on"; fi
	return 0
}

# A child that clone3 could not put into its cgroup (the cgroup is gone:
# removed while the supervisor waits before clone) is cloned outside it and
# then fails to join: the start fails, and the supervisor kills and reaps
# that child itself (under a subreaper, nothing it leaves unreaped shows up).
test_child_that_cannot_join_its_cgroup_is_reaped() {
	local v2 sub sup="" id out
	v2=$(awk '$9 == "cgroup2" { print $5; exit }' /proc/self/mountinfo)
	[ -n "$v2" ] || return 0           # no cgroup v2: no CLONE_INTO_CGROUP
	out=$RUNTIME_DIR.reap-$$
	NUCLEUS_DEBUG_PAUSE=cgroup "$PROBE" subreaper "$NUCLEUS" run --name noj-$$ -- "$PROBE" sleep 30 \
		>"$out" 2>&1 &
	sub=$!
	# (the subreaper's one child is the supervisor)
	wait_for sh -c "sup=\$(tr -d ' ' </proc/$sub/task/$sub/children); [ -n \"\$sup\" ] &&
		grep -q '^State:.*stopped' /proc/\$sup/status" || fail "supervisor never paused at cgroup"
	sup=$(tr -d ' ' </proc/$sub/task/$sub/children)
	id=$(for f in /proc/$sup/fd/*; do readlink "$f"; done | sed -n "s|^$RUNTIME_DIR/\([0-9a-f]\{32\}\)/.*|\1|p" | head -1)
	[ -n "$id" ] && [ -d "$v2/nucleus/$id" ] || { kill -KILL $sup; wait $sub; fail "no cgroup at the pause"; }
	rmdir "$v2/nucleus/$id" || { kill -KILL $sup; wait $sub; fail "cannot remove the cgroup"; }
	kill -CONT $sup
	wait $sub
	assert_eq "$?" 125 "the start fails"
	assert_contains "$(cat "$out")" "nucleus: join cgroup \`nucleus/$id\`: No such file or directory" "says why"
	assert_contains "$(cat "$out")" "orphans 0" "the supervisor reaped its child"
	rm -f "$out"
	assert_not_contains "$(leftovers)" "$id" "nothing left"
}

# The next run, or ps, collects what a crashed supervisor left.
# vm-tier
test_crash_recovery_by_gc() {
	crash_at cloned >/dev/null || fail "crash"
	"$NUCLEUS" run -- true || fail "run"
	assert_eq "$(leftovers)" "" "the next run collected the crashed container"
	crash_at registered >/dev/null || fail "crash"
	"$NUCLEUS" ps >/dev/null
	assert_eq "$(leftovers)" "" "ps collected the crashed container"
	crash_at running >/dev/null || fail "crash"
	"$NUCLEUS" ps -a >/dev/null
	assert_eq "$(leftovers)" "" "ps -a collected the crashed container"
}

# A container started by a nucleus of the first state format (before the
# configuration had one JSON form) is still running after an upgrade: the
# new build lists it, attaches to it with its rules, stops and removes it.
# The file is rewritten in that format, key for key as the older writer
# produced it.
test_state_of_the_first_format_is_still_managed() {
	local id f out
	id=$("$NUCLEUS" run -d --name v1st-$$ --hostname v1host -e V1VAR=kept -- "$PROBE" sleep 60) || fail "start"
	rm_on_exit v1st-$$
	f=$RUNTIME_DIR/$id/state.json
	python3 - "$f" <<'PY' || fail "rewrite the state in the first format"
import json, os, sys
p = sys.argv[1]
s = json.load(open(p))
c = s.pop("config"); s.pop("version")
old = {}
for k in ("id", "name"):
    old[k] = c[k]
for k in ("status", "pid", "pid_start", "supervisor", "created", "created_ns", "started_ns",
          "finished_ns", "exit_code", "oom_killed"):
    old[k] = s[k]
old["detached"] = c["detach"]
old["remove_on_exit"] = s["remove_on_exit"]
old["command"] = c["process"]["argv"]
old["env"] = c["process"]["env"]
old["rootless"] = c["namespaces"]["rootless"]
old["userns"] = c["namespaces"]["userns"]
old["has_context"] = c["filesystem"]["context"] is not None
old["context_mode"] = c["filesystem"]["context_mode"]
for k in ("seccomp_key", "seccomp_flags", "seccomp_profile"):
    old[k] = s[k]
old["seccomp_trace"] = c["security"]["seccomp_trace"]
for k in ("memory_limit", "pids_limit", "cpu_quota_us", "cpu_period_us", "cgroup_layout", "egress"):
    old[k] = s[k]
old["network"] = c["network"]["mode"]
for k in ("addresses", "ports", "audit", "audit_path", "cgroup_level", "bpf_pins", "log_path"):
    old[k] = s[k]
old["hostname"] = c["process"]["hostname"]
old["workdir"] = c["process"]["workdir"]
old["memlock"] = c["resources"]["rlimits"]["memlock"]
old["caps"] = c["security"]["caps"]
old["landlock_policy"] = c["security"]["landlock"]
tmp = p + ".tmp"
with open(tmp, "w") as f:
    json.dump(old, f, separators=(",", ":"))
os.chmod(tmp, 0o600)
os.rename(tmp, p)
PY
	assert_not_contains "$(cat "$f")" '"version"' "the file is of the first format"
	out=$("$NUCLEUS" ps --no-trunc)
	assert_contains "$out" "v1st-$$" "ps lists it"
	assert_contains "$out" "$PROBE sleep 60" "with its command"
	assert_eq "$("$NUCLEUS" attach v1st-$$ -- /bin/hostname)" "v1host" "attach: its hostname"
	assert_eq "$("$NUCLEUS" attach v1st-$$ -- /bin/sh -c 'echo $V1VAR')" "kept" "attach: its environment"
	"$NUCLEUS" attach v1st-$$ -- /bin/sh -c 'echo x >/etc/v1probe' 2>/dev/null &&
		fail "attach: the read-only root is writable"
	"$NUCLEUS" stop -t 1 v1st-$$ >/dev/null || fail "stop"
	assert_contains "$("$NUCLEUS" ps -a)" "v1st-$$" "kept after it exited"
	"$NUCLEUS" rm v1st-$$ >/dev/null || fail "rm"
	assert_not_contains "$("$NUCLEUS" ps -a)" "v1st-$$" "removed"
}
