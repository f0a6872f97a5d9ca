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
