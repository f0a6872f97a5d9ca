# Rootless runs as an ordinary user, and root's --userns.

with_test_user() { # run "$@" as a throw-away unprivileged user
	local user=nucleus-t$$ rc
	useradd -M -s /usr/sbin/nologin "$user" || fail "useradd"
	( cd /tmp && setpriv --reuid="$user" --regid="$user" --clear-groups \
		env -i PATH=/usr/bin:/bin HOME=/nonexistent XDG_RUNTIME_DIR= "$@" )
	rc=$?
	rm -rf "/tmp/nucleus-$(id -u "$user")" "/tmp/nucleus-cache-$(id -u "$user")"
	userdel "$user"
	return $rc
}

test_rootless_as_unprivileged_user() {
	local out
	out=$(with_test_user "$NUCLEUS" run --rootless -- sh -c "$PROBE status; cat /proc/self/uid_map; $PROBE syscall mount; echo mount=\$?" 2>/dev/null)
	assert_contains "$out" "Uid:	0	0	0	0" "root inside"
	assert_contains "$out" "CapEff:	0000000000000000" "no capabilities"
	assert_contains "$out" "NoNewPrivs:	1" "nnp"
	assert_contains "$out" "Seccomp:	2" "seccomp"
	assert_eq "$(echo "$out" | awk '/^ *0 /{print $3}')" "1" "a single-id map"
	assert_contains "$out" "mount=1" "mount refused"
}

test_rootless_is_default_for_users() {
	local out
	out=$(with_test_user "$NUCLEUS" run -- "$PROBE" exit 7 2>/dev/null; echo "st=$?")
	assert_contains "$out" "st=7" "runs without --rootless"
}

test_rootless_sandbox_matches() {
	local out
	out=$(with_test_user sh -c "$NUCLEUS run -- $PROBE write /usr/x; echo usr=\$?;
		$NUCLEUS run -- $PROBE write /proc/self/comm; echo comm=\$?;
		$NUCLEUS run -- $PROBE write /tmp/x; echo tmp=\$?;
		$NUCLEUS run -- $PROBE syscall clone3; echo clone3=\$?;
		$NUCLEUS run -- $PROBE ifaces" 2>/dev/null)
	assert_contains "$out" "usr=30" "host binds read-only"
	assert_contains "$out" "comm=13" "Landlock"
	assert_contains "$out" "tmp=0" "/tmp writable"
	assert_contains "$out" "clone3=38" "seccomp"
	assert_contains "$out" "lo" "loopback"
}

# vm-tier
test_userns_maps_root_to_unprivileged_range() {
	local out
	out=$(probe --userns -- sh -c "cat /proc/self/uid_map /proc/self/gid_map; $PROBE status")
	assert_eq "$(echo "$out" | awk 'NR==1{print $1, $2, $3}')" "0 100000 65536" "uid map"
	assert_eq "$(echo "$out" | awk 'NR==2{print $1, $2, $3}')" "0 100000 65536" "gid map"
	assert_contains "$out" "Uid:	0	0	0	0" "root inside"
	assert_contains "$out" "CapEff:	0000000000000000" "no capabilities"
}

# vm-tier
test_userns_host_files_are_nobody() {
	local out
	out=$(probe --userns -- stat -c '%u' /usr/bin/env)
	assert_eq "$out" "65534" "host root is unmapped"
}

test_userns_needs_root() {
	local out
	out=$(with_test_user "$NUCLEUS" run --userns -- true 2>&1; echo "st=$?")
	assert_contains "$out" "st=125" "refused"
	assert_contains "$out" "--userns needs root" "message"
}

# An ordinary user's child copies the context itself; the tmpfs it copies
# into keeps what --allow-exec asked for when its size is capped (the cap's
# remount used to add noexec back).
test_rootless_allow_exec_context() {
	local ctx out
	ctx=$(mktemp -d /tmp/nucleus-ctx.XXXXXX)
	cp /bin/true "$ctx/tool"
	chmod -R a+rX "$ctx"
	out=$(with_test_user sh -c "$NUCLEUS run --context $ctx --allow-exec /context -- /context/tool; echo exec=\$?;
		$NUCLEUS run --context $ctx -- /context/tool; echo noexec=\$?" 2>&1)
	rm -rf "$ctx"
	assert_contains "$out" "exec=0" "--allow-exec /context runs the copy"
	assert_contains "$out" "noexec=126" "without it, still refused"
}
