# --sd-notify: what the supervisor tells $NOTIFY_SOCKET (MAINPID first,
# READY=1 by mode, STATUS, STOPPING, WATCHDOG), --sd-notify=container's
# socket inside the container and what of it reaches systemd; and the
# audit log in journald. systemd is played by notify_listener.py: a
# SO_PASSCRED datagram socket that records "<sender pid> <line>".

LISTENER=$(dirname "${BASH_SOURCE[0]}")/notify_listener.py

# Start a listener at $NOTIFY_DIR/notify.sock; $NOTIFY_DIR/out gets its
# lines. The listener is killed when the test ends, and the containers
# named in RM_ON_EXIT removed (rm_on_exit would replace this trap: add to
# RM_ON_EXIT instead).
listen() {
	NOTIFY_DIR=$(mktemp -d /tmp/sdnotify.XXXXXX)
	chmod 0755 "$NOTIFY_DIR"
	# its output not the test's: the harness waits for that to close
	python3 "$LISTENER" "$NOTIFY_DIR/notify.sock" "$NOTIFY_DIR/out" >/dev/null 2>&1 &
	LISTENER_PID=$!
	trap 'kill $LISTENER_PID 2>/dev/null; rm -rf "$NOTIFY_DIR"; "$NUCLEUS" rm -f $RM_ON_EXIT >/dev/null 2>&1' EXIT
	wait_for grep -qx listening "$NOTIFY_DIR/out" 2>/dev/null || fail "the listener did not start"
}

# The lines received, without the listener's own first line.
received() {
	grep -vx listening "$NOTIFY_DIR/out"
}

# The line number of the first received line that is exactly "PID LINE",
# or 0.
line_no() { # PID LINE
	received | grep -nxF -- "$1 $2" | head -1 | cut -d: -f1 | grep . || echo 0
}

got() { # LINE (any sender)
	received | cut -d' ' -f2- | grep -qxF -- "$1"
}

test_sdnotify_started_mainpid_then_ready() {
	local pid out mainpid ready stopping
	listen
	NOTIFY_SOCKET=$NOTIFY_DIR/notify.sock "$NUCLEUS" run --sd-notify=started -- "$PROBE" sleep 2 &
	pid=$!
	# ready right after the start: while the workload still sleeps
	wait_for got READY=1 || fail "no READY=1 while the container runs: [$(received)]"
	kill -0 $pid 2>/dev/null || fail "READY=1 came only after the end"
	wait $pid || fail "run failed"
	out=$(received)
	# the unit's main process is the supervisor: the nucleus run process
	assert_eq "$(echo "$out" | head -1)" "$pid MAINPID=$pid" "MAINPID first, from and naming the supervisor"
	mainpid=$(line_no $pid MAINPID=$pid)
	ready=$(line_no $pid READY=1)
	stopping=$(line_no $pid STOPPING=1)
	[ "$ready" -gt "$mainpid" ] || fail "READY=1 before MAINPID: [$out]"
	[ "$(echo "$out" | grep -c 'READY=1')" = 1 ] || fail "READY=1 more than once: [$out]"
	assert_contains "$out" "$pid STATUS=running" "STATUS at the start"
	[ "$stopping" -gt "$ready" ] || fail "no STOPPING=1 after READY=1: [$out]"
	assert_contains "$out" "$pid STATUS=exited (0)" "STATUS at the end"
	# nobody but the supervisor spoke
	assert_eq "$(echo "$out" | cut -d' ' -f1 | sort -u)" "$pid" "sender"
}

# A bare --sd-notify with no health or readiness check: ready at the start.
test_sdnotify_bare_ready_at_start_without_checks() {
	local pid
	listen
	NOTIFY_SOCKET=$NOTIFY_DIR/notify.sock "$NUCLEUS" run --sd-notify -- "$PROBE" sleep 2 &
	pid=$!
	wait_for got READY=1 || fail "no READY=1: [$(received)]"
	kill -0 $pid 2>/dev/null || fail "READY=1 came only after the end"
	wait $pid
	[ "$(line_no $pid READY=1)" -gt "$(line_no $pid MAINPID=$pid)" ] || fail "order: [$(received)]"
}

# healthy: READY=1 only once the health check passes (the flag file
# appears after ~1.5 s), with the health status in STATUS.
test_sdnotify_healthy_ready_after_check_passes() {
	local pid out
	listen
	NOTIFY_SOCKET=$NOTIFY_DIR/notify.sock "$NUCLEUS" run --sd-notify=healthy \
		--health-cmd 'test -e /tmp/ok' --health-interval 0.2 --health-retries 100 -- \
		/bin/sh -c "$PROBE sleep 1; : >/tmp/ok; $PROBE sleep 2" &
	pid=$!
	sleep 0.7
	got READY=1 && fail "READY=1 before the check passed: [$(received)]"
	wait_for got READY=1 || fail "no READY=1 once healthy: [$(received)]"
	kill -0 $pid 2>/dev/null || fail "READY=1 came only after the end"
	wait $pid
	out=$(received)
	[ "$(line_no $pid READY=1)" -gt "$(line_no $pid MAINPID=$pid)" ] || fail "order: [$out]"
	# READY=1 and the status that made it, in one message
	[ "$(line_no $pid "STATUS=health: healthy")" = $(($(line_no $pid READY=1) + 1)) ] ||
		fail "READY=1 not with the healthy status: [$out]"
	[ "$(echo "$out" | grep -c 'READY=1')" = 1 ] || fail "READY=1 more than once: [$out]"
}

# A bare --sd-notify with a readiness check: READY=1 once it passes.
test_sdnotify_bare_ready_after_readiness_check() {
	local pid
	listen
	NOTIFY_SOCKET=$NOTIFY_DIR/notify.sock "$NUCLEUS" run --sd-notify \
		--readiness-cmd 'test -e /tmp/ok' --health-interval 0.2 -- \
		/bin/sh -c "$PROBE sleep 1; : >/tmp/ok; $PROBE sleep 2" &
	pid=$!
	sleep 0.7
	got READY=1 && fail "READY=1 before the readiness check passed: [$(received)]"
	wait_for got READY=1 || fail "no READY=1 once ready: [$(received)]"
	kill -0 $pid 2>/dev/null || fail "READY=1 came only after the end"
	wait $pid
	[ "$(line_no $pid READY=1)" -gt "$(line_no $pid MAINPID=$pid)" ] || fail "order: [$(received)]"
}

# --restart: the restarts in STATUS, READY=1 once (systemd's unit stays
# up across them), the supervisor MAINPID throughout.
test_sdnotify_restarts_in_status() {
	local pid out
	listen
	NOTIFY_SOCKET=$NOTIFY_DIR/notify.sock "$NUCLEUS" run --restart on-failure:2 --sd-notify=started -- \
		"$PROBE" exit 1 &
	pid=$!
	wait $pid
	assert_eq "$?" 1 "the last exit"
	out=$(received)
	assert_eq "$(echo "$out" | grep -c READY=1)" 1 "READY=1 once: [$out]"
	assert_eq "$(echo "$out" | grep -c MAINPID=)" 1 "MAINPID once: [$out]"
	[ "$(line_no $pid "STATUS=restarting (1)")" -gt "$(line_no $pid READY=1)" ] || fail "first restart: [$out]"
	[ "$(line_no $pid "STATUS=restarting (2)")" -gt "$(line_no $pid "STATUS=restarting (1)")" ] ||
		fail "second restart: [$out]"
	[ "$(line_no $pid "STATUS=exited (1)")" -gt "$(line_no $pid "STATUS=restarting (2)")" ] || fail "the end: [$out]"
	assert_eq "$(echo "$out" | grep -c STOPPING=1)" 1 "STOPPING=1 once, at the end: [$out]"
}

# SIGTERM to the supervisor (what systemd's stop sends): forwarded, and
# STOPPING=1 goes out before it exits.
test_sdnotify_stopping_on_sigterm() {
	local pid
	listen
	NOTIFY_SOCKET=$NOTIFY_DIR/notify.sock "$NUCLEUS" run --sd-notify=started -- "$PROBE" wait-signal >/dev/null &
	pid=$!
	wait_for got READY=1 || fail "no READY=1"
	got STOPPING=1 && fail "STOPPING=1 before the stop"
	kill -TERM $pid
	wait $pid
	wait_for got STOPPING=1 || fail "no STOPPING=1 after SIGTERM: [$(received)]"
	# at the signal, before the workload's end
	assert_contains "$(received)" "$pid STATUS=stopping" "the stop"
	[ "$(line_no $pid STOPPING=1)" -lt "$(line_no $pid "STATUS=exited (115)")" ] ||
		fail "STOPPING=1 not before the end (100 + SIGTERM): [$(received)]"
	[ "$(received | grep -c STOPPING=1)" = 1 ] || fail "STOPPING=1 more than once: [$(received)]"
}

# -d: the supervisor (not the caller, which exits) is MAINPID and sends
# everything; `nucleus stop` ends in STOPPING=1.
test_sdnotify_detached_supervisor_is_mainpid() {
	local sup out
	listen
	NOTIFY_SOCKET=$NOTIFY_DIR/notify.sock "$NUCLEUS" run -d --name sdn-d-$$ --sd-notify=started -- \
		"$PROBE" wait-signal >/dev/null || fail "start"
	RM_ON_EXIT="$RM_ON_EXIT sdn-d-$$"
	sup=$(sed -n 's/.*"supervisor":\([0-9]*\).*/\1/p' "$RUNTIME_DIR/$(container_id sdn-d-$$)/state.json")
	[ -n "$sup" ] || fail "no supervisor pid in the state"
	wait_for got READY=1 || fail "no READY=1: [$(received)]"
	assert_eq "$(received | head -1)" "$sup MAINPID=$sup" "MAINPID first, the supervisor's"
	"$NUCLEUS" stop sdn-d-$$ >/dev/null || fail "stop"
	wait_for got STOPPING=1 || fail "no STOPPING=1 after stop: [$(received)]"
	out=$(received)
	[ "$(line_no $sup STOPPING=1)" -gt "$(line_no $sup READY=1)" ] || fail "order: [$out]"
	assert_eq "$(echo "$out" | cut -d' ' -f1 | sort -u)" "$sup" "sender"
}

# WATCHDOG_USEC=200000: WATCHDOG=1 every 100 ms; not when WATCHDOG_PID
# names another process (systemd's rule).
test_sdnotify_watchdog() {
	local pid n
	listen
	NOTIFY_SOCKET=$NOTIFY_DIR/notify.sock WATCHDOG_USEC=200000 \
		"$NUCLEUS" run --sd-notify=started -- "$PROBE" sleep 1 &
	pid=$!
	wait $pid
	n=$(received | grep -cx "$pid WATCHDOG=1")
	# ~9 in the second; a loaded host may lose a few ticks, not most
	[ "$n" -ge 5 ] && [ "$n" -le 12 ] || fail "$n WATCHDOG=1 in 1 s at 100 ms: [$(received)]"
	: >"$NOTIFY_DIR/out"
	NOTIFY_SOCKET=$NOTIFY_DIR/notify.sock WATCHDOG_USEC=200000 WATCHDOG_PID=1 \
		"$NUCLEUS" run --sd-notify=started -- "$PROBE" sleep 1 || fail "run"
	got READY=1 || fail "no READY=1 in the second run"
	got WATCHDOG=1 && fail "WATCHDOG=1 though WATCHDOG_PID names another process"
	return 0
}

# container: the workload's READY=1 through /run/notify/notify.sock reaches
# systemd (from the supervisor), its forged MAINPID and fd store do not;
# across the container's pid and network namespaces, as --user, under the
# default Landlock rules.
test_sdnotify_container_forwards_ready_not_mainpid() {
	local pid out
	listen
	NOTIFY_SOCKET=$NOTIFY_DIR/notify.sock "$NUCLEUS" run --sd-notify=container --user 4321 -- /bin/sh -c "
		echo env=\$NOTIFY_SOCKET
		$PROBE sleep 1
		$PROBE notify - MAINPID=1 STATUS=serving READY=1 FDSTORE=1 BARRIER=1; echo sent=\$?
		$PROBE sleep 1" >"$NOTIFY_DIR/stdout" &
	pid=$!
	sleep 0.6
	got READY=1 && fail "READY=1 before the workload said it: [$(received)]"
	got STATUS=running || fail "no STATUS=running at the start: [$(received)]"
	wait_for got READY=1 || fail "the workload's READY=1 did not arrive: [$(received)] [$(cat "$NOTIFY_DIR/stdout")]"
	wait $pid || fail "run failed"
	out=$(received)
	assert_contains "$(cat "$NOTIFY_DIR/stdout")" "env=/run/notify/notify.sock" "NOTIFY_SOCKET in the container"
	assert_contains "$(cat "$NOTIFY_DIR/stdout")" "sent=0" "the workload could send"
	assert_eq "$(echo "$out" | head -1)" "$pid MAINPID=$pid" "MAINPID first"
	got MAINPID=1 && fail "a forged MAINPID: [$out]"
	assert_eq "$(echo "$out" | grep -c MAINPID=)" 1 "one MAINPID, the supervisor's: [$out]"
	assert_not_contains "$out" "FDSTORE" "the fd store"
	assert_not_contains "$out" "BARRIER" "a barrier"
	assert_contains "$out" "$pid STATUS=serving" "the workload's STATUS"
	[ "$(line_no $pid READY=1)" -gt "$(line_no $pid STATUS=serving)" ] || fail "order kept: [$out]"
	# forwarded by the supervisor: systemd sees the main process only
	assert_eq "$(echo "$out" | cut -d' ' -f1 | sort -u)" "$pid" "sender"
}

# A sender outside the container (the host) is dropped, though it can
# reach the socket's path on the host: one still running when its message
# is read (root: by its pid namespace), one gone by then whose uid is not
# the container's (4242: the workload runs as root, without --userns).
test_sdnotify_container_drops_senders_outside() {
	local pid id sock
	listen
	NOTIFY_SOCKET=$NOTIFY_DIR/notify.sock "$NUCLEUS" run --name sdn-c-$$ --sd-notify=container -- /bin/sh -c "
		$PROBE sleep 2
		$PROBE notify - STATUS=inside READY=1
		$PROBE sleep 1" >/dev/null &
	pid=$!
	wait_for test -L "$RUNTIME_DIR/.names/sdn-c-$$" || fail "no container"
	id=$(container_id sdn-c-$$)
	sock=$RUNTIME_DIR/$id/notify/notify.sock
	wait_for test -S "$sock" || fail "no socket at $sock"
	python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.sendto(b"STATUS=forged-by-root\nREADY=1", sys.argv[1])
time.sleep(0.5)' "$sock" || fail "the host could not send"
	"$PROBE" setid 4242 4242 "$PROBE" notify "$sock" STATUS=forged-by-user READY=1 ||
		fail "a host user could not send (errno $?)"
	sleep 0.3
	got STATUS=forged-by-root && fail "a host process's message was forwarded: [$(received)]"
	got STATUS=forged-by-user && fail "a host user's message was forwarded: [$(received)]"
	got READY=1 && fail "READY=1 from a host sender: [$(received)]"
	wait_for got STATUS=inside || fail "the container's message did not arrive: [$(received)]"
	wait $pid
	got READY=1 || fail "no READY=1 from inside"
	# the socket goes with the container
	[ ! -e "$RUNTIME_DIR/$id" ] || fail "the state directory is left"
}

# --userns: the workload's host uid (in the subordinate range) can reach
# the socket, and its message is the container's.
test_sdnotify_container_userns() {
	local st
	listen
	NOTIFY_SOCKET=$NOTIFY_DIR/notify.sock "$NUCLEUS" run --userns --user 1000 --sd-notify=container -- \
		"$PROBE" notify - STATUS=from-userns READY=1
	st=$?
	assert_eq "$st" 0 "the workload's send"
	wait_for got STATUS=from-userns || fail "nothing from a --userns container: [$(received)]"
	got READY=1 || fail "no READY=1"
}

# --rootfs: /run of the root is read-only (nucleus's tmpfs); the socket is
# there all the same.
test_sdnotify_container_rootfs() {
	local t out
	t=$(mktemp -d /tmp/sdn-root.XXXXXX)
	mkdir -p "$t/bin" "$t/etc"
	cp "$(command -v busybox)" "$t/bin/busybox"
	ln -s busybox "$t/bin/sh"
	cp "$PROBE" "$t/bin/probe"
	echo 'root:x:0:0:root:/root:/bin/sh' >"$t/etc/passwd"
	chmod -R go-w "$t"
	listen
	NOTIFY_SOCKET=$NOTIFY_DIR/notify.sock "$NUCLEUS" run --rootfs "$t" --sd-notify=container -- \
		/bin/probe notify - READY=1 STATUS=from-rootfs
	out=$?
	rm -rf "$t"
	assert_eq "$out" 0 "the workload's send"
	wait_for got STATUS=from-rootfs || fail "nothing from a rootfs container: [$(received)]"
	got READY=1 || fail "no READY=1"
}

# NOTIFY_SOCKET unset: --sd-notify does nothing (podman's behaviour): no
# socket in the container, no NOTIFY_SOCKET there.
test_sdnotify_without_notify_socket_does_nothing() {
	local out
	out=$(env -u NOTIFY_SOCKET "$NUCLEUS" run --sd-notify=container -- /bin/sh -c \
		"$PROBE stat /run/notify; echo stat=\$?; echo env=\${NOTIFY_SOCKET:-unset}")
	assert_contains "$out" "stat=2" "no /run/notify"
	assert_contains "$out" "env=unset" "no NOTIFY_SOCKET"
}

# A NOTIFY_SOCKET that is no address: refused before anything exists.
test_sdnotify_bad_notify_socket_refused() {
	local out
	out=$(NOTIFY_SOCKET=relative/path run_refused sdn-bad-$$ --sd-notify) || exit 1
	assert_contains "$out" "nucleus: --sd-notify: NOTIFY_SOCKET \`relative/path\` is not a socket path or @name" "message"
}

# The audit log in journald: a private mount namespace with a tmpfs over
# /run/systemd and a listener at /run/systemd/journal/socket (the host's
# journal, if any, is untouched).
journal_run() { # OUT LIBDIR NAME
	local run=/run/systemd
	[ -d $run ] || { echo "no $run to mount over" >"$1.err"; return 1; }
	unshare -m --propagation private /bin/bash -c "
		mount -t tmpfs tmpfs $run && mkdir $run/journal || exit 99
		python3 '$LISTENER' $run/journal/socket '$1' >/dev/null 2>&1 & l=\$!
		for i in \$(seq 100); do grep -qx listening '$1' 2>/dev/null && break; sleep 0.05; done
		LD_LIBRARY_PATH='$2' JOURNAL_STREAM=8:1234 NUCLEUS_LOG=debug '$NUCLEUS' run --audit --name '$3' -- '$PROBE' exit 3 2>'$1.err'
		st=\$?
		sleep 0.3
		kill \$l
		exit \$st"
}

journal_check() { # OUT NAME
	local id
	id=$(sed -n 's/^[0-9]* CONTAINER_ID=//p' "$1" | head -1)
	[ ${#id} = 32 ] || fail "no CONTAINER_ID: [$(head -20 "$1")]"
	for f in "SYSLOG_IDENTIFIER=nucleus" "CONTAINER_NAME=$2" "NUCLEUS_EVENT=create" "NUCLEUS_EVENT=start" \
		"NUCLEUS_EVENT=exit" "PRIORITY=6"; do
		grep -qxE "[0-9]+ $f" "$1" || fail "no $f: [$(head -20 "$1")]"
	done
	# MESSAGE is the event's JSON line, the one audit.jsonl has
	grep -E '^[0-9]+ MESSAGE=\{.*"type":"exit"' "$1" | grep -q "\"id\":\"$id\",\"name\":\"$2\"" ||
		fail "no exit event as JSON: [$(grep MESSAGE "$1" | tail -2)]"
}

test_journald_gets_the_audit_events() {
	local out
	out=$(mktemp /tmp/sdn-journal.XXXXXX)
	journal_run "$out" "" sdn-j-$$
	assert_eq "$?" 3 "the workload's status"
	journal_check "$out" sdn-j-$$
	assert_contains "$(cat "$out.err")" "journal: libsystemd loaded" "sent through libsystemd"
	rm -f "$out" "$out.err"
}

# libsystemd cannot be used (a libsystemd.so.0 without sd_journal_sendv
# first in the search path, which is what an absent one comes to): the run
# is the same and the events still reach the journal, natively.
test_journald_without_libsystemd() {
	local out lib
	out=$(mktemp /tmp/sdn-journal.XXXXXX)
	lib=$(mktemp -d /tmp/sdn-nolib.XXXXXX)
	cc -shared -o "$lib/libsystemd.so.0" -x c /dev/null || fail "cc"
	journal_run "$out" "$lib" sdn-jn-$$
	assert_eq "$?" 3 "the workload's status"
	journal_check "$out" sdn-jn-$$
	assert_contains "$(cat "$out.err")" "lacks sd_journal_sendv: the native protocol" "the fallback"
	rm -rf "$out" "$out.err" "$lib"
}

# Under systemd the workload's stdout and stderr are the journal's stream
# (JOURNAL_STREAM): in the foreground the workload has the supervisor's
# own socket as fd 1 and 2, so its lines reach the journal as written,
# with no prefix or timestamp of nucleus's.
test_journal_stream_stdio_unchanged() {
	local out
	out=$(python3 - "$NUCLEUS" "$PROBE" <<'PY'
import os, socket, subprocess, sys, time
a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
st = os.fstat(b.fileno())
env = dict(os.environ, JOURNAL_STREAM="%d:%d" % (st.st_dev, st.st_ino))
p = subprocess.Popen([sys.argv[1], "run", "--", "/bin/sh", "-c",
                      "echo out-line; echo err-line >&2; %s sleep 1" % sys.argv[2]],
                     stdout=b.fileno(), stderr=b.fileno(), env=env)
b.close()
time.sleep(0.5)
kids = subprocess.run(["pgrep", "-P", str(p.pid)], capture_output=True, text=True).stdout.split()
same = [os.readlink("/proc/%s/fd/%d" % (k, fd)) == os.readlink("/proc/%d/fd/%d" % (p.pid, fd))
        for k in kids for fd in (1, 2)]
print("same-fds=%s" % (bool(same) and all(same)))
p.wait()
data = b""
a.settimeout(2)
while True:
    d = a.recv(4096)
    if not d:
        break
    data += d
print("data=%r" % data)
PY
)
	assert_contains "$out" "same-fds=True" "the workload writes to the supervisor's stream itself"
	assert_contains "$out" "data=b'out-line\\nerr-line\\n'" "the bytes as written"
}
