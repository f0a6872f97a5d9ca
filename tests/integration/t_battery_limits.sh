# The battery, limits: what nucleus says it enforces is enforced, or the
# run is refused. Rootless checks run as a throw-away user made and deleted
# here (an ordinary user has no cgroup nucleus may write on this host).

# Run "$@" as a new unprivileged user; its runtime and cache directories go
# with it. LIM_UID is its uid while it runs.
as_user() {
	local user=nucleus-l$$ rc
	useradd -M -s /usr/sbin/nologin "$user" || fail "useradd"
	LIM_UID=$(id -u "$user")
	( cd /tmp && setpriv --reuid="$user" --regid="$user" --clear-groups \
		env -i PATH=/usr/bin:/bin HOME=/nonexistent "$@" )
	rc=$?
	rm -rf "/tmp/nucleus-$LIM_UID" "/tmp/nucleus-cache-$LIM_UID"
	userdel "$user"
	return $rc
}

# Container state directories left in the user's runtime directory.
LEFT='ls /tmp/nucleus-$(id -u) 2>/dev/null | grep -c "^[0-9a-f]\{32\}$"'

# An explicit limit that cannot be applied (no cgroup for an ordinary user)
# is an error naming it, and nothing is left; --limits best-effort runs
# without it and names it. (It used to run with a generic warning.)
test_battery_limits_rootless_explicit_limit_refused() {
	local out
	out=$(as_user sh -c "'$NUCLEUS' run --memory 64M -- true; echo st=\$?; echo left=\$($LEFT)" 2>&1)
	assert_contains "$out" "nucleus: --memory 64M cannot be enforced:" "the refusal names the limit"
	assert_contains "$out" "Permission denied (--limits best-effort runs without it)" "says why and what to do"
	assert_eq "$(echo "$out" | tail -2 | tr '\n' ' ')" "st=125 left=0 " "125 and nothing left"
	assert_eq "$(echo "$out" | wc -l)" 3 "one line"
	out=$(as_user "$NUCLEUS" run --memory 64M --cpus 0.5 -- true 2>&1)
	assert_contains "$out" "--memory 64M, --cpus 0.5 cannot be enforced" "both named"
	out=$(as_user "$NUCLEUS" run --memory 64M --limits best-effort -- echo ran 2>&1; echo st=$?)
	assert_contains "$out" "running without a cgroup; not enforced: --memory 64M;" "best effort names what it drops"
	assert_contains "$out" "$(printf 'ran\nst=0')" "best effort runs"
}

# The default pids limit without a cgroup: RLIMIT_NPROC in the container's
# user namespace, which counts that namespace's processes only (not the
# user's others: 100 of them run meanwhile). A fork bomb used to reach
# past 700.
test_battery_limits_rootless_default_pids_bounded() {
	local out
	out=$(as_user sh -c "for i in \$(seq 100); do sleep 30 & p=\"\$p \$!\"; done
		'$NUCLEUS' run -- python3 -c '
import os, time
n = 0
for i in range(700):
    try:
        p = os.fork()
    except OSError:
        break
    if p == 0:
        time.sleep(5); os._exit(0)
    n += 1
print(\"started\", n)'
		'$NUCLEUS' run --pids 40 -- python3 -c '
import os, time
n = 0
for i in range(100):
    try:
        p = os.fork()
    except OSError:
        break
    if p == 0:
        time.sleep(5); os._exit(0)
    n += 1
print(\"explicit\", n)'
		'$NUCLEUS' run -- grep 'Max processes' /proc/self/limits
		kill \$p; wait" 2>&1)
	assert_contains "$out" "started 511" "511 children and the container's init: the default 512"
	assert_contains "$out" "explicit 39" "--pids 40 as RLIMIT_NPROC"
	assert_contains "$out" "--pids 512 (the default) as RLIMIT_NPROC" "the warning says how pids are bounded"
	assert_contains "$(echo "$out" | grep 'Max processes')" "512                  512" "soft and hard limit"
}

# BPF features as an ordinary user: one line saying why, before anything
# exists (the trace log is not even created). They used to fail later
# with a cgroup or a bare EPERM message.
test_battery_limits_rootless_bpf_features_say_why() {
	local out log
	log=/tmp/nucleus-lim-trace-$$
	out=$(as_user sh -c "'$NUCLEUS' run --seccomp-mode trace --seccomp-log $log -- true; echo st=\$?
		'$NUCLEUS' run --audit -- true; echo st=\$?
		'$NUCLEUS' run --egress-allow 10.0.0.0/8 -- true; echo st=\$?" 2>&1)
	assert_contains "$out" "--seccomp-mode trace needs root: its recorder is a BPF program (CAP_BPF and CAP_PERFMON" "trace"
	assert_contains "$out" "--audit needs root" "audit"
	assert_contains "$out" "egress flags need root" "egress"
	assert_eq "$(echo "$out" | grep -c 'st=125')" 3 "three refusals"
	assert_eq "$(echo "$out" | grep -vc 'st=')" 3 "one line each"
	[ -e "$log" ] && { rm -f "$log"; fail "the trace log was created"; }
	return 0
}

# As root, one limit that cannot be written (a device that does not
# exist) is an error naming it; with --limits best-effort the others still
# apply (the memory limit kills an allocation beyond it). It used to drop
# every limit with a warning.
test_battery_limits_one_failed_limit_keeps_the_others() {
	local out st
	out=$("$NUCLEUS" run --io-limit "259:9999 rbps=1M" -- true 2>&1)
	st=$?
	assert_eq "$st" 125 "status"
	assert_contains "$out" "--io-limit 259:9999 cannot be enforced:" "names the limit"
	assert_eq "$(echo "$out" | wc -l)" 1 "one line"
	out=$("$NUCLEUS" run --io-limit "259:9999 rbps=1M" --memory 32M --limits best-effort -- "$PROBE" alloc 256 2>&1)
	st=$?
	assert_eq "$st" 137 "the memory limit still applies"
	assert_contains "$out" "not enforced: --io-limit 259:9999" "the warning names the dropped limit"
	assert_status 125 "$NUCLEUS" run --limits some -- true
}
