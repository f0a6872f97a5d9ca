# --verify-context-integrity: the context is hashed before launch and the
# populated /context (a copy, or the live bind) is verified against that,
# through the fd of the container's own /context. A change in between is
# refused; the supervisor is paused at a point to make one.

make_context() { # DIR
	rm -rf "$1"
	mkdir -p "$1/sub"
	echo hello >"$1/a.txt"
	echo nested >"$1/sub/b.txt"
	ln -s a.txt "$1/link"
}

# Start nucleus paused at POINT, run CHANGE, let it go on; its output in OUT.
run_changed_at() { # POINT OUT CHANGE -- RUN-ARGS...
	local point=$1 out=$2 change=$3 pid i
	shift 4
	NUCLEUS_DEBUG_PAUSE=$point "$NUCLEUS" run "$@" >"$out" 2>&1 &
	pid=$!
	for i in $(seq 100); do
		grep -q '^State:.*stopped' /proc/$pid/status 2>/dev/null && break
		sleep 0.05
	done
	grep -q '^State:.*stopped' /proc/$pid/status || fail "nucleus never paused at $point"
	eval "$change"
	kill -CONT $pid
	wait $pid
}

test_context_integrity_unchanged_runs() {
	local ctx=/tmp/nucleus-ctx-$$ out
	make_context "$ctx"
	out=$("$NUCLEUS" run --context "$ctx" --verify-context-integrity -- sh -c 'cat /context/a.txt /context/link /context/sub/b.txt' 2>&1)
	assert_eq "$out" "hello
hello
nested" "copy mode"
	out=$("$NUCLEUS" run --context "$ctx" --context-mode bind --verify-context-integrity -- cat /context/sub/b.txt 2>&1)
	assert_eq "$out" "nested" "bind mode"
	rm -rf "$ctx"
}

test_context_changed_before_the_copy_is_refused() {
	local ctx=/tmp/nucleus-ctx-$$ out=/tmp/nucleus-ctx-out-$$ rc
	make_context "$ctx"
	# a file added after the hash, before the copy: the copy has it
	run_changed_at context-hashed "$out" "echo sneaky >$ctx/new.txt" -- \
		--context "$ctx" --verify-context-integrity -- /bin/echo ran; rc=$?
	assert_eq "$rc" "125" "added file"
	assert_contains "$(cat "$out")" "--verify-context-integrity: /context is not the context hashed at launch: \`new.txt\`" "message"
	assert_not_contains "$(cat "$out")" "ran" "not run"
	# a symlink retargeted
	make_context "$ctx"
	run_changed_at context-hashed "$out" "ln -sfn sub/b.txt $ctx/link" -- \
		--context "$ctx" --verify-context-integrity -- /bin/echo ran; rc=$?
	assert_eq "$rc" "125" "retargeted link"
	assert_contains "$(cat "$out")" "\`link\`" "names the link"
	rm -rf "$ctx" "$out"
	assert_eq "$(leftovers)" "" "nothing left behind"
}

test_context_changed_under_the_bind_is_refused() {
	local ctx=/tmp/nucleus-ctx-$$ out=/tmp/nucleus-ctx-out-$$ rc
	make_context "$ctx"
	# bind mode shows the live directory: a change after the hash shows
	run_changed_at cgroup "$out" "echo tampered >$ctx/a.txt" -- \
		--context "$ctx" --context-mode bind --verify-context-integrity -- /bin/echo ran; rc=$?
	assert_eq "$rc" "125" "changed file"
	assert_contains "$(cat "$out")" "\`a.txt\` changed" "message"
	assert_not_contains "$(cat "$out")" "ran" "not run"
	make_context "$ctx"
	run_changed_at cgroup "$out" "rm $ctx/sub/b.txt" -- \
		--context "$ctx" --context-mode bind --verify-context-integrity -- /bin/echo ran; rc=$?
	assert_eq "$rc" "125" "removed file"
	assert_contains "$(cat "$out")" "\`sub/b.txt\`" "names the file"
	rm -rf "$ctx" "$out"
	assert_eq "$(leftovers)" "" "nothing left behind"
}

test_context_integrity_refuses_what_it_cannot_hash() {
	local ctx=/tmp/nucleus-ctx-$$ out rc
	make_context "$ctx"
	mkfifo "$ctx/pipe"
	out=$("$NUCLEUS" run --context "$ctx" --verify-context-integrity -- /bin/echo ran 2>&1); rc=$?
	rm -rf "$ctx"
	assert_eq "$rc" "125" "exit status"
	assert_contains "$out" "--verify-context-integrity: hash" "message"
	assert_contains "$out" "pipe" "names the fifo"
	assert_eq "$(leftovers)" "" "nothing left behind"
}

test_context_integrity_rootless_copy() {
	local user=nucleus-ci$$ ctx out rc uid
	useradd -M -s /usr/sbin/nologin "$user" || fail "useradd"
	uid=$(id -u "$user")
	ctx=/tmp/nucleus-ctx-$$
	make_context "$ctx"
	chmod -R a+rX "$ctx"
	# an ordinary user's child makes the copy; the supervisor checks it
	out=$(cd /tmp && setpriv --reuid="$user" --regid="$user" --clear-groups \
		env -i PATH=/usr/bin:/bin HOME=/nonexistent XDG_RUNTIME_DIR= \
		"$NUCLEUS" run --context "$ctx" --verify-context-integrity -- cat /context/sub/b.txt 2>/dev/null); rc=$?
	rm -rf "/tmp/nucleus-$uid" "/tmp/nucleus-cache-$uid" "$ctx"
	userdel "$user"
	assert_eq "$rc" "0" "exit status"
	assert_eq "$out" "nested" "output"
}
