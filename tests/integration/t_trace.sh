# The seccomp trace recorder (BPF) and `nucleus seccomp trace|generate`.

# name,count pairs of a trace, sorted: "getppid 1000000"
trace_counts() {
	python3 -c '
import json, sys
for l in open(sys.argv[1]):
    d = json.loads(l); print(d["name"], d["count"])' "$1" | sort
}

trace_names() {
	trace_counts "$1" | cut -d" " -f1
}

test_trace_run_writes_ndjson() {
	local log
	log=$(mktemp)
	"$NUCLEUS" run --seccomp-mode trace --seccomp-log "$log" -- /bin/sh -c 'echo hi >/dev/null' || fail "run"
	python3 -c '
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
assert lines, "empty"
for d in lines:
    assert set(d) >= {"syscall", "name", "abi", "count"}, d
    assert d["abi"] == "x86_64" and d["count"] >= 1, d
names = [d["name"] for d in lines]
assert "execve" in names and "exit_group" in names, names
assert names.index("execve") >= 0' "$log" || fail "bad trace: $(head -3 "$log")"
	rm -f "$log"
}

test_trace_starts_at_exec() {
	local log
	log=$(mktemp)
	"$NUCLEUS" run --seccomp-mode trace --seccomp-log "$log" -- "$PROBE" exit 0 || fail "run"
	# the runtime's own setup calls (mount, pivot_root, landlock, seccomp ...) are not the workload's
	for sc in mount pivot_root landlock_create_ruleset seccomp sethostname unshare; do
		assert_not_contains "$(trace_names "$log")" "$sc" "$sc recorded before exec"
	done
	assert_contains "$(trace_counts "$log")" "execve 1" "the exec itself"
	rm -f "$log"
}

test_trace_no_loss_exact_counts() {
	local log
	log=$(mktemp)
	"$NUCLEUS" run --seccomp-mode trace --seccomp-log "$log" -- "$PROBE" getppid 1000000 2>"$log.err" || fail "run"
	assert_contains "$(trace_counts "$log")" "getppid 1000000" "every call counted"
	assert_not_contains "$(cat "$log.err")" "lost" "no drops"
	rm -f "$log" "$log.err"
}

test_trace_tiny_ring_drops_are_counted() {
	local log err
	log=$(mktemp)
	# 500 first-seen syscalls in well under a millisecond, into a 4 KiB ring;
	# on one CPU, so the supervisor cannot drain it while the burst runs
	err=$(NUCLEUS_RING_BYTES=4096 taskset -c 0 "$NUCLEUS" run --seccomp-mode trace --seccomp-log "$log" -- \
		"$PROBE" enosys 500 1000 2>&1)
	assert_contains "$err" "live events lost" "drops reported"
	# ... and the recorded set itself is still complete
	assert_eq "$(trace_names "$log" | grep -c '^syscall_')" 500 "all 500 recorded despite the drops"
	rm -f "$log"
}

# The same workload, the same binary and environment, under strace on the
# host: the sets must be equal (strace -c leaves out exit_group, which does
# not return, and starts after its own execve, which the recorder counts).
test_trace_matches_strace() {
	local log ours theirs script
	log=$(mktemp)
	script='import os, socket, tempfile
with tempfile.TemporaryFile(dir="/tmp") as f: f.write(b"x" * 100000); f.seek(0); f.read()
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); s.sendto(b"x", s.getsockname()); s.recv(1)
os.listdir("/usr")'
	"$NUCLEUS" run --seccomp-mode trace --seccomp-log "$log" -w / -- /usr/bin/python3 -S -c "$script" || fail "run"
	ours=$(trace_names "$log" | sort -u)
	( cd / && env -i PATH=/usr/bin:/bin HOME=/tmp strace -f -c -o "$log.strace" \
		/usr/bin/python3 -S -c "$script" >/dev/null 2>&1 )
	theirs=$( (awk 'NR > 2 && $NF != "total" && $1 !~ /^-/ { print $NF }' "$log.strace"; echo exit_group; echo execve) | sort -u)
	if [ "$ours" != "$theirs" ]; then
		fail "recorder and strace differ: $(diff <(echo "$ours") <(echo "$theirs") | grep '^[<>]' | tr '\n' ' ')"
	fi
	rm -f "$log" "$log.strace"
}

test_trace_outside_processes_never_recorded() {
	local log pid
	log=$(mktemp)
	# a process on the host with the same name, busy with a distinctive call
	cp "$PROBE" /tmp/probe-twin-$$
	( /tmp/probe-twin-$$ getppid 200000; /tmp/probe-twin-$$ syscalls 0 ) &
	pid=$!
	"$NUCLEUS" run --seccomp-mode trace --seccomp-log "$log" -- "$PROBE" exit 0 || fail "run"
	wait $pid
	assert_not_contains "$(trace_names "$log")" "getppid" "the host's getppid"
	assert_not_contains "$(trace_names "$log")" "sched_yield" "the host's sched_yield"
	rm -f "$log" /tmp/probe-twin-$$
}

test_trace_running_container_by_name_and_follow() {
	local out log pid
	log=$(mktemp)
	"$NUCLEUS" run -d --name tr-$$ -- "$PROBE" syscalls 1 >/dev/null || fail "start"
	rm_on_exit tr-$$
	"$NUCLEUS" seccomp trace --follow -o "$log" tr-$$ >"$log.live" 2>&1 &
	pid=$!
	wait $pid
	assert_contains "$(trace_names "$log")" "sched_yield" "recorded after the trace started"
	assert_contains "$(trace_names "$log")" "getpriority" "recorded"
	assert_contains "$(cat "$log.live")" "sched_yield" "--follow printed it live"
	rm -f "$log" "$log.live"
}

test_trace_concurrent_and_detached_after_last() {
	local a b pa pb dir
	a=$(mktemp) b=$(mktemp)
	"$NUCLEUS" run -d --name tra-$$ -- "$PROBE" syscalls 2 >/dev/null || fail "start a"
	"$NUCLEUS" run -d --name trb-$$ -- /bin/sh -c "sleep 2; $PROBE getppid 1000" >/dev/null || fail "start b"
	rm_on_exit tra-$$ trb-$$
	"$NUCLEUS" seccomp trace -o "$a" tra-$$ 2>/dev/null &
	pa=$!
	"$NUCLEUS" seccomp trace -o "$b" trb-$$ 2>/dev/null &
	pb=$!
	sleep 0.5
	dir=$(ls -d /sys/fs/bpf/nucleus/trace-$(sed -n 's/.*_BPF_VERSION "\(.*\)".*/\1/p' \
		"$NUCLEUS_TEST_BUILD/bpf/syscall_trace.version.h")-l* | head -1)
	[ -e "$dir/link_enter" ] || fail "tracepoint not attached while traces run"
	wait $pa
	wait $pb
	assert_contains "$(trace_names "$a")" "sched_yield" "a's trace"
	assert_not_contains "$(trace_names "$a")" "wait4" "b's calls not in a's trace"
	assert_contains "$(trace_names "$b")" "wait4" "b's trace"
	assert_not_contains "$(trace_names "$b")" "sched_yield" "a's calls not in b's trace"
	[ -e "$dir/link_enter" ] && fail "tracepoint still attached after the last trace"
	bpftool link list 2>/dev/null | grep -q 'raw_tracepoint.*sys_enter' && fail "a sys_enter link lives on"
	rm -f "$a" "$b"
}

test_trace_generate_profile() {
	local log prof
	log=$(mktemp) prof=$(mktemp)
	"$NUCLEUS" run --seccomp-mode trace --seccomp-log "$log" -- "$PROBE" exit 0 || fail "run"
	"$NUCLEUS" seccomp generate "$log" -o "$prof" || fail "generate"
	python3 -c '
import json, sys
p = json.load(open(sys.argv[1]))
assert p["defaultAction"] == "SCMP_ACT_ERRNO", p
assert p["architectures"] == ["SCMP_ARCH_X86_64"], p
names = p["syscalls"][0]["names"]
assert names == sorted(names), names
assert "execve" in names and "exit_group" in names, names' "$prof" || fail "profile: $(cat "$prof")"
	"$NUCLEUS" seccomp generate --default-action kill "$log" | grep -q SCMP_ACT_KILL_PROCESS || fail "kill"
	assert_status 125 "$NUCLEUS" seccomp generate --default-action nope "$log"
	echo 'not json' >"$log.bad"
	assert_contains "$("$NUCLEUS" seccomp generate "$log.bad" 2>&1)" "$log.bad:1:" "names file:line"
	rm -f "$log" "$log.bad" "$prof"
}

test_trace_flag_errors() {
	assert_status 125 "$NUCLEUS" run --seccomp-mode trace -- true
	assert_contains "$("$NUCLEUS" run --seccomp-mode trace -- true 2>&1)" "--seccomp-log" "needs a log"
	assert_status 125 "$NUCLEUS" run --seccomp-mode record --seccomp-log /tmp/x -- true
	assert_status 125 "$NUCLEUS" run --seccomp-log /tmp/x -- true
	assert_status 125 "$NUCLEUS" run --seccomp-mode trace --seccomp-log /nonexistent/dir/x -- true
	assert_status 1 "$NUCLEUS" seccomp trace no-such-$$
	assert_eq "$(leftovers)" "" "nothing created"
}

# trace -> generate -> enforce on a real workload; then the same workload
# plus one call the trace never saw, which the generated profile refuses.
round_trip() { # name workload extra-workload extra-syscall expected-output refusal-marker
	local log prof out
	log=$(mktemp) prof=$(mktemp)
	out=$("$NUCLEUS" run --seccomp-mode trace --seccomp-log "$log" -- sh -c "$2" 2>/dev/null) || fail "$1: traced run"
	assert_contains "$out" "$5" "$1: traced output"
	trace_names "$log" | grep -qx "$4" && fail "$1: $4 was traced; pick another extra call"
	"$NUCLEUS" seccomp generate "$log" -o "$prof" || fail "$1: generate"
	out=$("$NUCLEUS" run --seccomp-profile "$prof" -- sh -c "$2" 2>&1) || fail "$1: enforced run: $out"
	assert_contains "$out" "$5" "$1: enforced output"
	out=$("$NUCLEUS" run --seccomp-profile "$prof" -- sh -c "$3" 2>&1)
	assert_contains "$out" "$6" "$1: $4 refused under the generated profile"
	rm -f "$log" "$prof"
}

test_trace_round_trip_python_files_and_sockets() {
	local py='python3 -c "
import os, socket, threading
with open(\"/tmp/f\", \"w\") as f: f.write(\"x\" * 4096)
with open(\"/tmp/f\") as f: n = len(f.read())
os.rename(\"/tmp/f\", \"/tmp/g\"); os.unlink(\"/tmp/g\")
srv = socket.socket(); srv.bind((\"127.0.0.1\", 0)); srv.listen()
def serve():
    c, _ = srv.accept(); c.sendall(c.recv(100).upper()); c.close()
t = threading.Thread(target=serve); t.start()
cl = socket.create_connection(srv.getsockname()); cl.sendall(b\"ping\")
print(\"io\", n, cl.recv(100).decode()); t.join()
"'
	local extra="$py"'
python3 -c "
import os
try:
    os.getpriority(os.PRIO_PROCESS, 0); print(\"allowed\")
except PermissionError: print(\"refused\")
"'
	round_trip python "$py" "$extra" getpriority "io 4096 PING" refused
}

test_trace_round_trip_busybox_pipeline() {
	local bb='busybox seq 1 100 | busybox grep 7 | busybox sort -r | busybox wc -l'
	# ionice -p 1 asks ioprio_get(2) about pid 1 and reports its error
	round_trip busybox "$bb" "$bb | busybox ionice -p 1" ioprio_get "19" "ioprio_get: Operation not permitted"
}
