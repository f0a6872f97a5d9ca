# The default agent sandbox, seen from inside by the probe.

# vm-tier
test_pid_namespace() {
	local s
	s=$(probe -- "$PROBE" status)
	assert_contains "$s" "Pid:	1" "pid"
	assert_contains "$s" "PPid:	0" "ppid"
}

# vm-tier
test_capabilities_all_empty() {
	local s set
	s=$(probe -- "$PROBE" status)
	for set in CapInh CapPrm CapEff CapBnd CapAmb; do
		assert_contains "$s" "$set:	0000000000000000" "$set"
	done
}

# vm-tier
test_no_new_privs_and_seccomp() {
	local s
	s=$(probe -- "$PROBE" status)
	assert_contains "$s" "NoNewPrivs:	1" "no_new_privs"
	assert_contains "$s" "Seccomp:	2" "seccomp filter mode"
}

# vm-tier
test_seccomp_denies_with_eperm() {
	local sc
	for sc in mount unshare unshare-net keyctl add_key bpf ptrace perf_event_open userfaultfd \
		io_uring_setup kexec_load init_module setns clone-newns; do
		assert_eq "$(probe_errno syscall $sc)" 1 "$sc"
	done
}

# vm-tier
test_seccomp_clone3_enosys_fork_works() {
	assert_eq "$(probe_errno syscall clone3)" 38 "clone3"
	assert_eq "$(probe_errno syscall fork)" 0 "fork"
}

# vm-tier
test_seccomp_socket_families() {
	assert_eq "$(probe_errno socket 38 5)" 1 "AF_ALG"
	assert_eq "$(probe_errno socket 40 1)" 1 "AF_VSOCK"
	assert_eq "$(probe_errno socket 1 1)" 0 "AF_UNIX"
	assert_eq "$(probe_errno socket 2 2)" 0 "AF_INET"
}

# vm-tier
test_hostname_default_and_flag() {
	local h
	h=$(probe --name sbx-host-$$ -- "$PROBE" hostname)
	assert_eq "$h" "sbx-host-$$" "default hostname is the name"
	h=$(probe --hostname box7 -- "$PROBE" hostname)
	assert_eq "$h" "box7" "--hostname"
	h=$(probe --hostname box7 -- cat /etc/hostname)
	assert_eq "$h" "box7" "/etc/hostname"
}

# vm-tier
test_only_loopback_and_up() {
	local i
	i=$(probe -- "$PROBE" ifaces)
	assert_eq "$i" "lo" "interfaces"
	i=$(probe -- cat /sys/class/net/lo/operstate 2>&1)
	# /sys is absent; ask the kernel through /proc instead
	i=$(probe -- cat /proc/net/dev)
	assert_contains "$i" "lo:" "lo in /proc/net/dev"
	assert_not_contains "$i" "eth" "no other links"
}

# vm-tier
test_root_and_host_binds_readonly() {
	local p
	for p in /x /usr/x /etc/passwd /etc/x /bin/x /lib/x; do
		assert_eq "$(probe_errno write $p)" 30 "write $p (EROFS)"
	done
	assert_eq "$(probe_errno write /tmp/x)" 0 "write /tmp"
	assert_eq "$(probe_errno write /dev/shm/x)" 0 "write /dev/shm"
}

# vm-tier
test_landlock_denies_writes_outside_tmp_and_context() {
	# /proc/self/comm is writable by its owner on a read-write /proc; only
	# Landlock stands in the way.
	assert_eq "$(probe_errno write /proc/self/comm)" 13 "write /proc/self/comm (EACCES)"
	assert_eq "$(probe_errno write /dev/null)" 0 "write /dev/null"
}

# vm-tier
test_landlock_and_noexec_deny_exec_outside_system_dirs() {
	local out
	out=$(probe -- /bin/sh -c "cp $PROBE /tmp/p && /tmp/p exit 0; echo status=\$?" 2>&1)
	assert_contains "$out" "status=126" "exec from /tmp"
	assert_eq "$(probe -- /usr/bin/env true; echo $?)" 0 "exec from /usr"
}

# vm-tier
test_masked_proc_paths_read_empty() {
	local p out
	for p in kcore kallsyms keys timer_list sched_debug sysrq-trigger; do
		out=$(probe -- "$PROBE" read /proc/$p | wc -c)
		assert_eq "$out" 0 "/proc/$p is empty"
	done
	assert_eq "$(probe -- "$PROBE" read /proc/version | wc -c | tr -d ' ')" \
		"$(wc -c < /proc/version | tr -d ' ')" "/proc/version readable"
}

# vm-tier
test_proc_tunables_readonly() {
	local p
	for p in /proc/sys/kernel/hostname /proc/sys/vm/drop_caches; do
		assert_eq "$(probe_errno write $p)" 30 "write $p"
	done
}

# vm-tier
test_sys_absent() {
	assert_eq "$(probe_errno stat /sys)" 2 "/sys"
}

# vm-tier
test_dev_nodes() {
	local n out
	for n in "null 1:3" "zero 1:5" "full 1:7" "random 1:8" "urandom 1:9" "tty 5:0"; do
		set -- $n
		out=$(probe -- "$PROBE" stat /dev/$1)
		assert_contains "$out" "type=chr rdev=$2" "/dev/$1"
		assert_contains "$out" "mode=666" "/dev/$1 mode"
	done
	out=$(probe -- readlink /dev/fd /dev/stdin /dev/stdout /dev/stderr /dev/ptmx)
	assert_eq "$(echo $out)" "/proc/self/fd /proc/self/fd/0 /proc/self/fd/1 /proc/self/fd/2 pts/ptmx" "links"
	out=$(probe -- "$PROBE" stat /dev/pts/ptmx)
	assert_contains "$out" "rdev=5:2" "private devpts"
	assert_eq "$(probe_errno stat /dev/sda)" 2 "no disks"
	assert_eq "$(probe_errno stat /dev/mem)" 2 "no /dev/mem"
}

# vm-tier
test_only_stdio_fds_reach_the_workload() {
	local out
	out=$(probe -- "$PROBE" fds 7</etc/hostname 9>/dev/null)
	assert_eq "$(echo $out)" "0 1 2" "open fds"
}

test_common_programs_run() {
	assert_eq "$(probe -- /bin/sh -c 'echo ok')" "ok" "sh"
	assert_eq "$(probe -- python3 -c 'import json,ssl,socket; print(json.dumps([1]))')" "[1]" "python3"
	assert_eq "$(probe -- awk 'BEGIN { print 6*7 }')" "42" "awk"
	assert_eq "$(probe -- sh -c 'echo b a | tr " " "\n" | sort | head -1')" "a" "coreutils"
	assert_eq "$(probe -- ls /etc | sort | tr '\n' ' ')" \
		"alternatives group hostname hosts ld.so.cache localtime nsswitch.conf os-release passwd protocols resolv.conf services ssl " \
		"minimal /etc"
}

test_tls_certificates_visible() {
	local n
	n=$(probe -- sh -c 'grep -c BEGIN /etc/ssl/certs/ca-certificates.crt')
	[ "$n" -gt 10 ] || fail "CA bundle has $n certificates"
	assert_eq "$(probe_errno stat /etc/ssl/private)" 2 "/etc/ssl/private hidden"
}

# vm-tier
test_cgroup_namespace() {
	assert_eq "$(probe -- cat /proc/self/cgroup | grep '^0::')" "0::/" "own cgroup namespace"
	local out
	out=$(probe --name cgns-$$ --disable-cgroup-namespace -- cat /proc/self/cgroup | grep '^0::')
	assert_contains "$out" "/nucleus/" "host cgroup path visible"
}

# vm-tier
test_time_namespace() {
	local host inside
	host=$(readlink /proc/self/ns/time)
	inside=$(probe --time-namespace -- readlink /proc/self/ns/time)
	assert_ne "$inside" "$host" "time namespace with --time-namespace"
	inside=$(probe -- readlink /proc/self/ns/time)
	assert_eq "$inside" "$host" "no time namespace by default"
}

# vm-tier
test_namespaces_differ_from_host() {
	local ns
	for ns in pid mnt net uts ipc cgroup; do
		assert_ne "$(probe -- readlink /proc/self/ns/$ns)" "$(readlink /proc/self/ns/$ns)" "$ns"
	done
}
