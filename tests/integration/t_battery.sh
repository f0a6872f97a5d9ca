# The escape and fault battery: attempts found by attacking nucleus and by
# injecting faults, each asserting the refusal or the recovery. Every
# test here is named test_battery_* so the battery runs (and fails) as one
# (TESTS=battery).

# Every hierarchy (v1 controllers too) is rooted at the container's own
# cgroup, every time: the namespace is created only after the supervisor
# has joined the child to all of them.
test_battery_cgroup_namespace_every_hierarchy_50_runs() {
	local i bad=0 out
	for i in $(seq 1 50); do
		out=$("$NUCLEUS" run -- cat /proc/self/cgroup) || fail "run $i"
		echo "$out" | grep -qv ':/$' && { bad=$((bad + 1)); last=$out; }
	done
	assert_eq "$bad" 0 "runs with a host cgroup path (last: ${last:-})"
}


# memfd_create + execveat runs code that never was a file under a noexec
# mount: vm.memfd_noexec is 2 in the container's pid namespace (Linux 6.3+).
memfd_exec_status() { # FLAGS...
	local ctx st
	ctx=$(mktemp -d)
	cat >"$ctx/memfd.py" <<-'EOF'
		import os, sys
		fd = os.memfd_create("x", 0)
		os.write(fd, open("/bin/true", "rb").read())
		try:
		    os.execv("/proc/self/fd/%d" % fd, ["t"])
		except OSError as e:
		    sys.exit(3)
	EOF
	"$NUCLEUS" run "$@" --context "$ctx" -- python3 /context/memfd.py >/dev/null 2>&1
	st=$?
	rm -rf "$ctx"
	echo $st
}

test_battery_memfd_exec_refused() {
	[ -e /proc/sys/vm/memfd_noexec ] || fail "this kernel has no vm.memfd_noexec (Linux < 6.3)"
	local host
	host=$(cat /proc/sys/vm/memfd_noexec)
	assert_eq "$(memfd_exec_status)" 3 "memfd exec in a default container"
	assert_eq "$(memfd_exec_status --userns)" 3 "memfd exec with --userns"
	assert_eq "$("$NUCLEUS" run -- cat /proc/sys/vm/memfd_noexec)" 2 "the sysctl inside"
	assert_eq "$(cat /proc/sys/vm/memfd_noexec)" "$host" "the host's value is unchanged"
	if [ "$host" = 0 ]; then
		assert_eq "$(memfd_exec_status --allow-memfd-exec)" 0 "--allow-memfd-exec relaxes it"
	fi
}

# Every tmpfs nucleus mounts has a size: /tmp (default 1G, at most
# --memory), and a copied /context grows by at most as much.
test_battery_tmpfs_sizes() {
	local ctx out
	assert_eq "$("$NUCLEUS" run -- stat -f -c '%b*%S' /tmp | bc)" 1073741824 "default /tmp size"
	assert_eq "$("$NUCLEUS" run --memory 64M -- stat -f -c '%b*%S' /tmp | bc)" 67108864 "/tmp under --memory 64M"
	assert_status 1 "$NUCLEUS" run --tmpfs-size 8M -- dd if=/dev/zero of=/tmp/f bs=1M count=16 status=none
	assert_status 0 "$NUCLEUS" run --tmpfs-size 8M -- dd if=/dev/zero of=/tmp/f bs=1M count=4 status=none
	ctx=$(mktemp -d)
	dd if=/dev/zero of="$ctx/data" bs=1M count=4 status=none
	assert_status 0 "$NUCLEUS" run --context "$ctx" --tmpfs-size 2M -- dd if=/dev/zero of=/context/more bs=1M count=1 status=none
	assert_status 1 "$NUCLEUS" run --context "$ctx" --tmpfs-size 2M -- dd if=/dev/zero of=/context/more bs=1M count=3 status=none
	out=$("$NUCLEUS" run --memory 64M --tmpfs-size 128M -- true 2>&1)
	assert_status 125 "$NUCLEUS" run --memory 64M --tmpfs-size 128M -- true
	assert_contains "$out" "--tmpfs-size 128M is more than --memory 64M" "message"
	rm -rf "$ctx"
}
