# Audit: kernel events from the active source, lifecycle in order, tail.

audit_json() { # NAME [TYPE...]: the container's events as JSON lines
	local name=$1 t args=()
	shift
	for t in "$@"; do args+=(--type "$t"); done
	"$NUCLEUS" audit tail --json "${args[@]}" "$name"
}

# Which source this kernel gives: lsm where BPF-LSM runs, tracepoint
# otherwise. The VM tier boots with lsm=...,bpf: there it must be lsm.
# (No python here: the VM tier runs these tests too.)
expected_source() {
	if [ "${NUCLEUS_VM:-}" = 1 ]; then
		echo lsm
	else
		"$NUCLEUS" info --json | tr -d ' \n' | sed -n 's/.*"audit":{[^}]*"source":"\([a-z]*\)".*/\1/p'
	fi
}

# The types of a container's runtime events, in order.
runtime_types() {
	"$NUCLEUS" audit tail --json "$1" | sed -n 's/.*"type":"\([a-z_]*\)","source":"runtime".*/\1/p' | tr '\n' ' ' | sed 's/ $//'
}

# vm-tier
test_audit_exec_connect_open_events() {
	local out src
	src=$(expected_source)
	"$NUCLEUS" run -d --audit --name aud-$$ -- /bin/sh -c \
		"$PROBE exit 0; cat /proc/sys/kernel/hostname >/dev/null; $PROBE connect 127.0.0.1 5353 udp; sleep 2" >/dev/null || fail "start"
	rm_on_exit aud-$$
	wait_for sh -c "'$NUCLEUS' audit tail --json aud-$$ | grep -q '\"type\":\"connect\"'" || fail "no connect event"
	out=$(audit_json aud-$$ exec)
	assert_contains "$out" "\"filename\":\"$PROBE\"" "exec filename"
	assert_contains "$out" "\"argv\":[\"$PROBE\",\"exit\",\"0\"]" "exec argv"
	assert_contains "$out" "\"source\":\"$src\"" "source $src"
	assert_contains "$out" "\"name\":\"aud-$$\"" "container name"
	out=$(audit_json aud-$$ connect)
	assert_contains "$out" "\"address\":\"127.0.0.1\",\"port\":5353" "connect destination"
	assert_contains "$out" "\"comm\":\"probe\"" "comm"
	out=$(audit_json aud-$$ open)
	assert_contains "$out" "/proc/sys/kernel/hostname" "a sensitive open"
	# pids as the container sees them: the shell is pid 1
	assert_contains "$(audit_json aud-$$ exec | head -1)" "\"pid\":1," "pid inside the container"
}

# vm-tier
test_audit_mount_and_ptrace_attempts() {
	local out prof
	# the default seccomp filter stops mount and ptrace before any LSM hook or
	# tracepoint; with an allow-all filter (trace mode) the attempts reach them
	"$NUCLEUS" run -d --audit --name audm-$$ --seccomp-mode trace --seccomp-log /dev/null -- /bin/sh -c \
		"$PROBE syscall mount; $PROBE syscall ptrace; $PROBE syscall bpf; sleep 1" >/dev/null || fail "start"
	rm_on_exit audm-$$
	wait_for sh -c "'$NUCLEUS' audit tail --json audm-$$ | grep -q '\"type\":\"exit\"'" || fail "did not exit"
	out=$(audit_json audm-$$ mount ptrace bpf)
	assert_contains "$out" "\"type\":\"mount\"" "mount attempt"
	assert_contains "$out" "\"fstype\":\"tmpfs\"" "mount details"
	assert_contains "$out" "\"type\":\"ptrace\"" "ptrace attempt"
	if [ "$(expected_source)" = lsm ]; then
		# seen at the LSM layer's entry, with its answer (Landlock refuses mounts)
		assert_contains "$(audit_json audm-$$ mount)" "\"refused\":\"EPERM\"" "the mount's verdict"
	fi
	# The syscall tracepoint sees every bpf(2); the LSM hook only calls the
	# kernel lets through to it (a kernel with unprivileged BPF disabled
	# refuses a caller without CAP_BPF before the hook).
	if [ "$(expected_source)" = tracepoint ] || [ "$(cat /proc/sys/kernel/unprivileged_bpf_disabled)" = 0 ]; then
		assert_contains "$out" "\"type\":\"bpf\"" "bpf attempt"
	fi
}

# vm-tier
test_audit_outside_process_not_recorded() {
	local n
	cp "$PROBE" /tmp/probe-twin-$$
	"$NUCLEUS" run -d --audit --name audo-$$ -- "$PROBE" sleep 2 >/dev/null || fail "start"
	rm_on_exit audo-$$
	for i in 1 2 3; do /tmp/probe-twin-$$ exit 0; done
	/tmp/probe-twin-$$ read /proc/sys/kernel/hostname >/dev/null
	sleep 0.3
	n=$(audit_json audo-$$ exec open | grep -c probe-twin)
	assert_eq "$n" 0 "a host process with the same name"
	rm -f /tmp/probe-twin-$$
}

# vm-tier
test_audit_lifecycle_in_order() {
	local types
	"$NUCLEUS" run -d --audit --name audl-$$ -- "$PROBE" sleep 30 >/dev/null || fail "start"
	rm_on_exit audl-$$
	"$NUCLEUS" stop -t 1 audl-$$ >/dev/null
	"$NUCLEUS" rm audl-$$ >/dev/null
	types=$(runtime_types audl-$$)
	assert_eq "$types" "audit create capabilities seccomp landlock start stop exit rm" "lifecycle order"
}

# vm-tier
test_audit_header_names_the_source() {
	local first
	"$NUCLEUS" run --audit --name audh-$$ -d -- "$PROBE" sleep 1 >/dev/null || fail "start"
	rm_on_exit audh-$$
	first=$("$NUCLEUS" audit tail --json audh-$$ | head -1)
	assert_contains "$first" "\"type\":\"audit\"" "first line"
	assert_contains "$first" "\"source\":\"$(expected_source)\"" "names the source"
	assert_contains "$first" "\"reason\":" "says why"
}

# vm-tier
test_audit_secrets_redacted() {
	local out
	API_TOKEN=s3cr3t-value-123 "$NUCLEUS" run --audit --name audr-$$ -e API_TOKEN -e PLAIN=visible-value \
		-d -- /bin/sh -c 'sleep 0.2; /bin/echo s3cr3t-value-123 visible-value' >/dev/null || fail "start"
	rm_on_exit audr-$$
	sleep 1
	out=$("$NUCLEUS" audit tail --json audr-$$)
	assert_not_contains "$out" "s3cr3t-value-123" "the secret's value"
	assert_contains "$out" "***" "redacted in argv"
	assert_contains "$out" "visible-value" "ordinary values stay"
	assert_not_contains "$(grep audr-$$ /var/log/nucleus/audit.jsonl)" "s3cr3t-value-123" "host log too"
}

# vm-tier
test_audit_egress_denials() {
	local out
	# the container's netns has only lo: nothing could leave it even if allowed
	"$NUCLEUS" run --audit --name aude-$$ -d --egress-allow 10.0.0.0/8 -- /bin/sh -c \
		"$PROBE connect 192.0.2.1 443; sleep 1" >/dev/null 2>&1 || fail "start"
	rm_on_exit aude-$$
	wait_for sh -c "'$NUCLEUS' audit tail --json aude-$$ | grep -q egress_denied" || fail "no event"
	out=$(audit_json aude-$$ egress_denied egress)
	assert_contains "$out" "\"address\":\"192.0.2.1\",\"port\":443" "denied destination"
	assert_contains "$out" "\"allow\":[\"10.0.0.0/8\"]" "the policy at setup"
}

test_audit_ten_thousand_execs_no_drops() {
	local n
	"$NUCLEUS" run --audit --name aud10k-$$ -d -- /bin/sh -c \
		'i=0; while [ $i -lt 10000 ]; do /bin/true; i=$((i+1)); done' >/dev/null || fail "start"
	rm_on_exit aud10k-$$
	wait_for_long() { local i; for i in $(seq 1 1200); do "$@" && return 0; sleep 0.1; done; return 1; }
	wait_for_long sh -c "'$NUCLEUS' audit tail --json --type exit aud10k-$$ | grep -q exit" || fail "did not finish"
	n=$(audit_json aud10k-$$ exec | grep -c '"filename":"/bin/true"')
	assert_eq "$n" 10000 "one exec event per exec"
	assert_eq "$(audit_json aud10k-$$ audit_lost)" "" "no drops"
}

# vm-tier
test_audit_tiny_ring_drops_reported() {
	local out
	# 2,000 sensitive opens in a few milliseconds into a 4 KiB ring (six events)
	# (on one CPU, so the supervisor cannot drain the ring during the burst)
	NUCLEUS_RING_BYTES=4096 taskset -c 0 "$NUCLEUS" run --audit --name audt-$$ -d -- /bin/sh -c \
		"$PROBE opens 2000 /proc/sys/kernel/hostname; sleep 3" >/dev/null || fail "start"
	rm_on_exit audt-$$
	# while it runs, nucleus stats shows the drops too
	wait_for sh -c "'$NUCLEUS' stats --no-stream --json audt-$$ | grep -q '\"events_lost\": *[1-9]'" ||
		fail "stats: $("$NUCLEUS" stats --no-stream --json audt-$$)"
	wait_for_long() { local i; for i in $(seq 1 300); do "$@" && return 0; sleep 0.1; done; return 1; }
	wait_for_long sh -c "'$NUCLEUS' audit tail --json --type exit audt-$$ | grep -q exit" || fail "did not finish"
	out=$(audit_json audt-$$ audit_lost)
	assert_contains "$out" "\"lost\":" "drops counted and written to the log"
	local lost got
	lost=$(echo "$out" | sed -n 's/.*"lost":\([0-9]*\).*/\1/p')
	got=$(audit_json audt-$$ open | grep -c hostname)
	assert_eq "$((lost + got))" 2000 "every event either arrived or was counted as lost"
}

# vm-tier
test_audit_tail_follow_sees_new_events() {
	local pid f
	f=$(mktemp)
	"$NUCLEUS" run --audit --name audf-$$ -d -- /bin/sh -c "sleep 1; $PROBE exit 0; sleep 1" >/dev/null || fail "start"
	rm_on_exit audf-$$
	"$NUCLEUS" audit tail -f --json audf-$$ >"$f" &
	pid=$!
	wait_for grep -q "\"filename\":\"$PROBE\"" "$f" || fail "tail -f did not see the exec: $(cat "$f")"
	wait $pid   # ends when the container does
	assert_contains "$(cat "$f")" "\"type\":\"exit\"" "tail -f runs to the exit"
	rm -f "$f"
}

# vm-tier
test_audit_tail_stable_output_and_errors() {
	local a b
	"$NUCLEUS" run --audit --name auds-$$ -- "$PROBE" exit 0 || fail "run"
	# a foreground container is gone, its events remain in the host log
	a=$("$NUCLEUS" audit tail --type exec auds-$$)
	b=$("$NUCLEUS" audit tail --type exec auds-$$)
	assert_eq "$a" "$b" "the same output twice"
	assert_contains "$a" "exec" "human form"
	assert_contains "$("$NUCLEUS" audit tail auds-$$ -n 1 --json)" "\"type\":\"exit\"" "-n 1 is the last"
	assert_status 1 "$NUCLEUS" audit tail never-existed-$$
	"$NUCLEUS" run -d --name auno-$$ -- "$PROBE" sleep 5 >/dev/null
	rm_on_exit auno-$$
	assert_contains "$("$NUCLEUS" audit tail auno-$$ 2>&1)" "has no audit data" "not audited"
	assert_status 125 "$NUCLEUS" audit tail --since yesterday auds-$$
}

# vm-tier
test_audit_seccomp_log_denied() {
	local out n=scd-$$
	"$NUCLEUS" run -d --name "$n" --seccomp-log-denied -- sh -c \
		"$PROBE syscall keyctl; echo keyctl=\$?; $PROBE syscall mount; echo mount=\$?; $PROBE syscall fork; echo fork=\$?" >/dev/null || fail "start"
	rm_on_exit "$n"
	wait_for sh -c "'$NUCLEUS' ps -a | grep '$n' | grep -q Exited" || fail "did not exit"
	out=$("$NUCLEUS" logs "$n")
	assert_contains "$out" "keyctl=1" "keyctl still gets EPERM"
	assert_contains "$out" "mount=1" "mount still gets EPERM"
	assert_contains "$out" "fork=0" "fork works"
	out=$(audit_json "$n" seccomp_denied)
	assert_eq "$(echo "$out" | wc -l)" 2 "two denials, nothing else: $out"
	assert_contains "$(echo "$out" | head -1)" '"syscall":"keyctl","nr":250,"arch":"x86_64"' "keyctl event"
	assert_contains "$(echo "$out" | tail -1)" '"syscall":"mount","nr":165' "mount event"
	assert_contains "$out" '"source":"seccomp"' "source"
	assert_contains "$out" '"comm":"probe"' "comm"
	assert_contains "$out" '"errno":1,"errno_name":"EPERM"' "the answer"
	assert_not_contains "$out" '"comm":"nucleus"' "the runtime's own calls are not the workload's"
	# the pid as the container sees it: sh is 1, its children follow
	assert_not_contains "$out" '"pid":1,' "not the shell"
}

# vm-tier
test_audit_seccomp_log_denied_strict_profile() {
	# a profile without sendmsg/recvmsg: the start must not wedge, and the
	# workload's own denial is logged with the profile's errno
	local log prof n=scd2-$$ out
	log=$(mktemp) prof=$(mktemp)
	"$NUCLEUS" run --seccomp-mode trace --seccomp-log "$log" -- "$PROBE" exit 0 || fail "trace"
	"$NUCLEUS" seccomp generate "$log" -o "$prof" || fail "generate"
	grep -q recvmsg "$prof" && fail "the probe's profile allows recvmsg"
	sed -i 's/"defaultErrnoRet": *1,/"defaultErrnoRet": 13,/' "$prof"
	grep -q '"defaultErrnoRet": *13' "$prof" || fail "profile: $(cat "$prof")"
	timeout 20 "$NUCLEUS" run -d --name "$n" --seccomp-log-denied --seccomp-profile "$prof" -- "$PROBE" syscall keyctl >/dev/null ||
		fail "start"
	rm_on_exit "$n"
	wait_for sh -c "'$NUCLEUS' ps -a | grep '$n' | grep -q 'Exited (13)'" || fail "keyctl not answered with EACCES: $("$NUCLEUS" ps -a)"
	out=$(audit_json "$n" seccomp_denied)
	assert_eq "$(echo "$out" | wc -l)" 1 "one denial: $out"
	assert_contains "$out" '"syscall":"keyctl"' "keyctl"
	assert_contains "$out" '"errno":13,"errno_name":"EACCES"' "answered with the profile's errno"
	rm -f "$log" "$prof"
}

# vm-tier
test_audit_seccomp_log_denied_attach_and_errors() {
	local n=scd3-$$
	assert_status 125 "$NUCLEUS" run --seccomp-log-denied --seccomp-mode trace --seccomp-log /tmp/x-$$ -- true
	assert_eq "$(leftovers)" "" "nothing created"
	"$NUCLEUS" run -d --name "$n" --seccomp-log-denied -- "$PROBE" sleep 30 >/dev/null || fail "start"
	rm_on_exit "$n"
	"$NUCLEUS" attach "$n" -- "$PROBE" syscall keyctl
	assert_eq "$?" 1 "attach: keyctl refused with the same errno"
	"$NUCLEUS" attach "$n" -- "$PROBE" syscall fork
	assert_eq "$?" 0 "attach: fork works"
}

# The kernel side of a container whose supervisor was killed: `rm` takes
# its entries out of the audit maps (a zombie supervisor, never reaped
# under a PID 1 that does not reap, is no owner), and the same for the
# syscall recorder's maps.
bpf_keys_of() { # DIR MAP...: the cgroup ids (first 8 key bytes) in the maps
	local d=$1 m
	shift
	for m in "$@"; do
		bpftool -j map dump pinned "$d/$m" 2>/dev/null | python3 -c '
import json, sys
for e in json.load(sys.stdin):
    print(int.from_bytes(bytes(int(b, 16) for b in e["key"][:8]), "little"))'
	done | sort -u
}

test_audit_and_trace_entries_of_a_killed_supervisor_are_collected() {
	local v2 id cgid sup d log
	v2=$(awk '$9 == "cgroup2" { print $5; exit }' /proc/self/mountinfo)
	log=$(mktemp)
	id=$("$NUCLEUS" run -d --audit --seccomp-mode trace --seccomp-log "$log" --name akill-$$ \
		-- "$PROBE" sleep 30) || fail "start"
	rm_on_exit akill-$$
	cgid=$(stat -c %i "$v2/nucleus/$id") || fail "no cgroup"
	for d in /sys/fs/bpf/nucleus/audit-*; do
		bpf_keys_of "$d" scopes | grep -qx "$cgid" && break
	done
	assert_contains "$(bpf_keys_of "$d" scopes stats events)" "$cgid" "audited: its entries"
	local t
	for t in /sys/fs/bpf/nucleus/trace-*; do
		bpf_keys_of "$t" traced | grep -qx "$cgid" && break
	done
	assert_contains "$(bpf_keys_of "$t" traced stats events)" "$cgid" "traced: its entries"
	sup=$(sed -n "s/.*\"supervisor\":\([0-9]*\).*/\1/p" "$RUNTIME_DIR/$id/state.json")
	[ -n "$sup" ] || fail "no supervisor pid"
	kill -KILL "$sup"
	"$NUCLEUS" rm -f akill-$$ >/dev/null || fail "rm -f"
	rm -f "$log"
	assert_not_contains "$(bpf_keys_of "$d" scopes stats events)" "$cgid" "audit entries left after rm"
	assert_not_contains "$(bpf_keys_of "$t" traced stats events)" "$cgid" "trace entries left after rm"
}
