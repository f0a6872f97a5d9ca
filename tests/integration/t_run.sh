# nucleus run: exit statuses, signals, context, environment, identity,
# errors.

# vm-tier
test_exit_status_passes_through() {
	local c
	for c in 0 1 42 255; do
		assert_status $c "$NUCLEUS" run -- "$PROBE" exit $c
	done
}

# vm-tier
test_exit_126_and_127() {
	local err
	err=$("$NUCLEUS" run -- /nonexistent 2>&1 >/dev/null)
	assert_status 127 "$NUCLEUS" run -- /nonexistent
	assert_eq "$err" "nucleus: exec \`/nonexistent\`: No such file or directory" "message"
	err=$("$NUCLEUS" run -- no-such-command-here 2>&1 >/dev/null)
	assert_status 127 "$NUCLEUS" run -- no-such-command-here
	assert_contains "$err" "executable file not found in \$PATH" "message"
	assert_status 126 "$NUCLEUS" run -- /etc/passwd
	assert_status 126 "$NUCLEUS" run -- /tmp
}

# vm-tier
test_exit_137_when_killed() {
	local out pid child
	out=$(mktemp)
	"$NUCLEUS" run -- "$PROBE" sleep 60 >"$out" 2>&1 &
	pid=$!
	wait_for pgrep -P $pid -x probe >/dev/null || fail "container did not start"
	child=$(pgrep -P $pid -x probe)
	kill -KILL "$child"
	wait $pid
	assert_eq "$?" 137 "status after SIGKILL"
	rm -f "$out"
}

check_forward() { # SIGNAME NUMBER
	local out pid st
	out=$(mktemp)
	"$NUCLEUS" run -- "$PROBE" wait-signal >"$out" 2>&1 &
	pid=$!
	wait_for grep -q ready "$out" || fail "probe not ready"
	kill -$1 $pid
	wait $pid
	st=$?
	assert_eq "$st" $((100 + $2)) "status after $1"
	assert_contains "$(cat "$out")" "signal $2" "probe saw $1"
	rm -f "$out"
}

# vm-tier
test_signals_forwarded() {
	check_forward TERM 15
	check_forward INT 2
	check_forward HUP 1
	check_forward USR1 10
	check_forward USR2 12
	check_forward QUIT 3
}

# vm-tier
test_container_dies_with_supervisor() {
	local out pid child
	out=$(mktemp)
	"$NUCLEUS" run --name orphan-$$ -- "$PROBE" sleep 60 >"$out" 2>&1 &
	pid=$!
	wait_for pgrep -P $pid -x probe >/dev/null || fail "no container"
	child=$(pgrep -P $pid -x probe)
	kill -KILL $pid
	wait $pid 2>/dev/null
	wait_for sh -c "! kill -0 $child 2>/dev/null" || fail "container outlived its supervisor"
	# what the dead supervisor could not clean up, nucleus rm does
	"$NUCLEUS" rm orphan-$$ >/dev/null || fail "rm"
	rm -f "$out"
}

# vm-tier
test_context_copy() {
	local ctx out
	ctx=$(mktemp -d)
	echo data >"$ctx/file"
	chmod 0751 "$ctx/file"
	mkdir "$ctx/dir"
	ln -s /etc/shadow "$ctx/evil"
	out=$(probe --context "$ctx" -- sh -c 'pwd; stat -c "%a %n" file; cat file; readlink evil; cat evil 2>&1; echo new > file2 && echo wrote; ls dir')
	assert_contains "$out" "/context" "workdir defaults to /context"
	assert_contains "$out" "751 file" "mode kept"
	assert_contains "$out" "data" "content"
	assert_contains "$out" "/etc/shadow" "symlink copied as a link"
	assert_not_contains "$out" "root:" "the host's shadow never shows"
	assert_contains "$out" "wrote" "copy is writable"
	[ -e "$ctx/file2" ] && fail "a write in the copy reached the host"
	rm -rf "$ctx"
}

# vm-tier
test_context_bind() {
	local ctx out
	ctx=$(mktemp -d)
	echo data >"$ctx/file"
	out=$(probe --context "$ctx" --context-mode bind -- sh -c 'cat file; echo x > file2 && echo wrote' 2>&1)
	assert_contains "$out" "data" "content"
	assert_contains "$out" "Read-only file system" "bind is read-only"
	assert_not_contains "$out" "wrote" "no write"
	[ -e "$ctx/file2" ] && fail "write reached the host"
	echo later >"$ctx/late"
	out=$(probe --context "$ctx" --context-mode bind -- cat /context/late)
	assert_eq "$out" "later" "bind shows the live directory"
	rm -rf "$ctx"
}

# vm-tier
test_workdir_and_env() {
	assert_eq "$(probe -- "$PROBE" cwd)" "/" "default cwd without context"
	assert_eq "$(probe -w /tmp -- "$PROBE" cwd)" "/tmp" "-w"
	assert_eq "$(probe --workdir /proc -- "$PROBE" cwd)" "/proc" "--workdir"
	assert_eq "$(probe -e FOO=bar -- "$PROBE" env FOO)" "bar" "-e K=V"
	assert_eq "$(probe --env 'A=x=y' -- "$PROBE" env A)" "x=y" "value with ="
	assert_eq "$(HOSTVAR=fromhost probe -e HOSTVAR -- "$PROBE" env HOSTVAR)" "fromhost" "-e K takes the host value"
	assert_eq "$(probe -- "$PROBE" env PATH)" "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" "PATH"
	assert_eq "$(SECRET=1 probe -- "$PROBE" env SECRET; echo $?)" "1" "host env does not leak"
	assert_status 125 "$NUCLEUS" run -w /nonexistent -- true
}

# vm-tier
test_env_loader_variables_refused() {
	local v err
	for v in LD_PRELOAD=/tmp/x.so LD_LIBRARY_PATH=/tmp LD_AUDIT=/x LD_DEBUG_OUTPUT=/x GLIBC_TUNABLES=x; do
		err=$("$NUCLEUS" run -e "$v" -- true 2>&1)
		assert_status 125 "$NUCLEUS" run -e "$v" -- true
		assert_contains "$err" "is not allowed" "$v"
		assert_eq "$(echo "$err" | wc -l)" 1 "one line for $v"
	done
}

# vm-tier
test_bad_input_one_line_125_nothing_created() {
	local args err
	for args in "--no-such-flag -- true" "--context /nonexistent -- true" "-e =x -- true" "" \
		"--context-mode zip -- true" "--name bad/name -- true" "--network host -- true" \
		"--hostname -bad -- true" "-w relative -- true" "--rootless --userns -- true"; do
		err=$("$NUCLEUS" run $args 2>&1)
		assert_status 125 "$NUCLEUS" run $args
		assert_eq "$(echo "$err" | wc -l)" 1 "one line for [$args]: $err"
		assert_contains "$err" "nucleus: " "prefix for [$args]"
	done
	assert_eq "$(leftovers)" "" "nothing created"
}

test_tty() {
	local out
	out=$(python3 - "$NUCLEUS" <<'PY'
import os, pty, sys, fcntl, termios, struct, select
pid, fd = pty.fork()
if pid == 0:
    os.execv(sys.argv[1], [sys.argv[1], "run", "-t", "--", "/bin/sh", "-c", "tty; stty size; echo TERM=$TERM"])
fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 33, 101, 0, 0))
buf = b""
while True:
    r, _, _ = select.select([fd], [], [], 10)
    if not r: break
    try: d = os.read(fd, 4096)
    except OSError: break
    if not d: break
    buf += d
_, st = os.waitpid(pid, 0)
print(buf.decode(errors="replace").replace("\r", ""))
print("status", os.waitstatus_to_exitcode(st))
PY
)
	assert_contains "$out" "/dev/pts/0" "a pty from the container's devpts"
	assert_contains "$out" "33 101" "window size"
	assert_contains "$out" "status 0" "exit status"
}
