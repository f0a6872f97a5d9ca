# Resource limits, on whichever cgroup layout the host has.

# vm-tier
test_memory_limit_oom_is_reported() {
	local err st
	err=$("$NUCLEUS" run --memory 32M -- "$PROBE" alloc 256 2>&1 >/dev/null)
	st=$?
	assert_eq "$st" 137 "status"
	assert_contains "$err" "killed: out of memory (limit 32M)" "message"
}

# vm-tier
test_memory_limit_allows_what_fits() {
	assert_eq "$(probe --memory 64M -- "$PROBE" alloc 16)" "allocated 16 MiB" "16M in 64M"
}

# vm-tier
test_oom_in_state_and_ps() {
	local id out
	id=$("$NUCLEUS" run -d --name oom-$$ --memory 24M -- "$PROBE" alloc 256) || fail "start"
	rm_on_exit oom-$$
	wait_for sh -c "'$NUCLEUS' ps -a --json | grep -q '\"oom_killed\": true'" || fail "no OOM in ps --json"
	out=$("$NUCLEUS" ps -a)
	assert_contains "$out" "Exited (137)" "ps status"
	assert_contains "$out" "OOM" "ps shows the OOM kill"
	"$NUCLEUS" rm oom-$$ >/dev/null
}

# vm-tier
test_memory_limit_written() {
	local id d
	id=$("$NUCLEUS" run -d --name mem-$$ --memory 48M -- "$PROBE" sleep 30) || fail "start"
	rm_on_exit mem-$$
	if d=$(cgroup_dir "$id" memory) && [ -e "$d/memory.limit_in_bytes" ]; then
		assert_eq "$(cat "$d/memory.limit_in_bytes")" $((48 << 20)) "memory.limit_in_bytes"
		[ -e "$d/memory.memsw.limit_in_bytes" ] &&
			assert_eq "$(cat "$d/memory.memsw.limit_in_bytes")" $((48 << 20)) "no swap"
	else
		d=$(cgroup_dir "$id" "") || fail "no cgroup"
		assert_eq "$(cat "$d/memory.max")" $((48 << 20)) "memory.max"
		assert_eq "$(cat "$d/memory.high")" $(( (48 << 20) / 10 * 9 / 4096 * 4096 )) "memory.high at 90%"
		assert_eq "$(cat "$d/memory.swap.max")" 0 "no swap"
		assert_eq "$(cat "$d/memory.oom.group")" 1 "oom.group"
	fi
	"$NUCLEUS" rm -f mem-$$ >/dev/null
}

# vm-tier
test_pids_limit_fork_fails_inside() {
	assert_eq "$(probe_errno_with --pids 8 -- forks 20)" 11 "fork beyond --pids 8 (EAGAIN)"
	assert_eq "$(probe_errno_with --pids 0 -- forks 20)" 0 "--pids 0 is unlimited"
	assert_eq "$(probe_errno_with -- forks 20)" 0 "default 512"
}

probe_errno_with() { # FLAGS... -- PROBE-ARGS...
	local flags=()
	while [ "$1" != -- ]; do flags+=("$1"); shift; done
	shift
	"$NUCLEUS" run "${flags[@]}" -- "$PROBE" "$@" >/dev/null 2>&1
	echo $?
}

# vm-tier
test_default_pids_limit_is_512() {
	local id d
	id=$("$NUCLEUS" run -d --name pids-$$ -- "$PROBE" sleep 30) || fail "start"
	rm_on_exit pids-$$
	d=$(cgroup_dir "$id" pids) || fail "no pids cgroup"
	assert_eq "$(cat "$d/pids.max")" 512 "pids.max"
	"$NUCLEUS" rm -f pids-$$ >/dev/null
}

# The child joins the v1 hierarchies itself (it is handed their `tasks`
# files at its release): from the host, the workload is in the container's
# pids and memory cgroups, and in its v2 one.
test_workload_in_every_v1_hierarchy() {
	local id d p
	[ -d /sys/fs/cgroup/pids ] && [ -d /sys/fs/cgroup/memory ] || return 0   # no v1 controllers
	id=$("$NUCLEUS" run -d --name v1join-$$ -- "$PROBE" sleep 30) || fail "start"
	rm_on_exit v1join-$$
	d=$(cgroup_dir "$id" pids) || fail "no pids cgroup"
	wait_for grep -q . "$d/cgroup.procs" || fail "nothing in the pids cgroup"
	p=$(head -1 "$d/cgroup.procs")
	grep -q ":pids:/nucleus/$id\$" /proc/$p/cgroup || fail "not in the pids cgroup: $(cat /proc/$p/cgroup)"
	grep -q ":memory:/nucleus/$id\$" /proc/$p/cgroup || fail "not in the memory cgroup: $(cat /proc/$p/cgroup)"
	assert_eq "$(cat "$(cgroup_dir "$id" memory)/cgroup.procs")" "$p" "the memory cgroup's one process"
	"$NUCLEUS" rm -f v1join-$$ >/dev/null
}

# vm-tier
test_cpu_quota_bounds_cpu_time() {
	local used
	used=$(probe --cpus 0.5 -- "$PROBE" spin 2)
	# 0.5 CPU x 2 s = 1 s; allow 20 % and one period of slack
	awk -v u="$used" 'BEGIN { exit !(u <= 1.3 && u >= 0.5) }' || fail "CPU time $used s with --cpus 0.5 over 2 s"
	used=$(probe -- "$PROBE" spin 1)
	awk -v u="$used" 'BEGIN { exit !(u >= 0.8) }' || fail "unlimited spin used only $used s"
}

# vm-tier
test_cpu_limits_written() {
	local id d
	id=$("$NUCLEUS" run -d --name cpu-$$ --cpus 1.5 --cpu-weight 200 -- "$PROBE" sleep 30) || fail "start"
	rm_on_exit cpu-$$
	if d=$(cgroup_dir "$id" cpu) && [ -e "$d/cpu.cfs_quota_us" ]; then
		assert_eq "$(cat "$d/cpu.cfs_quota_us") $(cat "$d/cpu.cfs_period_us")" "150000 100000" "cfs quota"
		assert_eq "$(cat "$d/cpu.shares")" $((2 + (199 * 262142) / 9999)) "shares from weight"
	else
		d=$(cgroup_dir "$id" "") || fail "no cgroup"
		assert_eq "$(cat "$d/cpu.max")" "150000 100000" "cpu.max"
		assert_eq "$(cat "$d/cpu.weight")" 200 "cpu.weight"
	fi
	"$NUCLEUS" rm -f cpu-$$ >/dev/null
}

# vm-tier
test_io_limit_written() {
	local dev id d line
	# the disk holding /, as MAJ:MIN of a whole block device
	dev=$(awk '$5 == "/" { print $3; exit }' /proc/self/mountinfo)
	[ -e "/sys/dev/block/$dev/partition" ] && dev=$(cat "/sys/dev/block/$dev/../dev")
	[ -e "/sys/dev/block/$dev" ] || dev=$(ls /sys/dev/block | head -1)
	[ -n "$dev" ] || fail "no block device to limit"
	id=$("$NUCLEUS" run -d --name io-$$ --io-limit "$dev rbps=1M wiops=100" -- "$PROBE" sleep 30) || fail "start"
	rm_on_exit io-$$
	if d=$(cgroup_dir "$id" blkio) && [ -e "$d/blkio.throttle.read_bps_device" ]; then
		assert_eq "$(cat "$d/blkio.throttle.read_bps_device")" "$dev 1048576" "read bps"
		assert_eq "$(cat "$d/blkio.throttle.write_iops_device")" "$dev 100" "write iops"
	else
		d=$(cgroup_dir "$id" "") || fail "no cgroup"
		line=$(grep "^$dev " "$d/io.max")
		assert_contains "$line" "rbps=1048576" "io.max rbps"
		assert_contains "$line" "wiops=100" "io.max wiops"
	fi
	"$NUCLEUS" rm -f io-$$ >/dev/null
}

# vm-tier
test_limit_flags_bad_values() {
	local args err
	for args in "--memory 12Q" "--memory -1" "--cpus abc" "--cpus 0" "--cpus 999" "--cpu-weight 0" \
		"--cpu-weight 10001" "--pids x" "--io-limit 8:0" "--io-limit 8:0 foo=1" "--io-limit x rbps=1" \
		"--memlock lots"; do
		err=$("$NUCLEUS" run $args -- true 2>&1)
		assert_status 125 "$NUCLEUS" run $args -- true
		assert_eq "$(echo "$err" | wc -l)" 1 "one line for [$args]"
	done
}

# vm-tier
test_memlock_rlimit() {
	assert_contains "$(probe --memlock 8M -- cat /proc/self/limits)" "Max locked memory         8388608" "--memlock"
	assert_contains "$(probe -- cat /proc/self/limits)" "Max locked memory         65536" "default 64K"
}

test_require_cgroup_fails_when_unavailable() {
	local out user=nucleus-cg$$
	useradd -M -s /usr/sbin/nologin "$user" || fail "useradd"
	out=$(cd /tmp && setpriv --reuid="$user" --regid="$user" --clear-groups env -i PATH=/usr/bin:/bin \
		"$NUCLEUS" run --require-cgroup -- true 2>&1; echo "st=$?")
	rm -rf "/tmp/nucleus-$(id -u "$user")" "/tmp/nucleus-cache-$(id -u "$user")"
	userdel "$user"
	assert_contains "$out" "st=125" "fatal with --require-cgroup"
	assert_contains "$out" "cgroup" "says why"
}
