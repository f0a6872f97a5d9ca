# --allow-degraded-security (agent mode only): a security layer that cannot
# be put in place is a warning instead of an error. Each layer is made to
# fail for real: Landlock by a rule on a path the container lacks, seccomp
# by a caller whose filter stack is already full (the kernel caps it).

ll_missing_path_policy() { # FILE
	printf '[[rules]]\npath = "/usr"\naccess = ["read", "execute"]\n[[rules]]\npath = "/nonexistent-%s"\naccess = ["read"]\n' "$$" >"$1"
}

test_landlock_failure_is_fatal_by_default() {
	local pol=/tmp/nucleus-ll-$$.toml out rc
	ll_missing_path_policy "$pol"
	out=$("$NUCLEUS" run --landlock-policy "$pol" -- /bin/echo ran 2>&1); rc=$?
	rm -f "$pol"
	assert_eq "$rc" "125" "exit status"
	assert_not_contains "$out" "ran" "the workload did not run"
	assert_contains "$out" "does not exist in the container" "the Landlock failure named"
}

test_degraded_security_runs_without_landlock_and_says_so() {
	local pol=/tmp/nucleus-ll-$$.toml out rc
	ll_missing_path_policy "$pol"
	out=$("$NUCLEUS" run --allow-degraded-security --landlock-policy "$pol" -- \
		sh -c "$PROBE write /proc/self/comm; echo comm=\$?; grep '^Seccomp:' /proc/self/status" 2>&1); rc=$?
	rm -f "$pol"
	assert_eq "$rc" "0" "exit status"
	assert_contains "$out" "warning: Landlock rule path" "warned"
	assert_contains "$out" "running without it: --allow-degraded-security" "the warning names the flag"
	# the default rules deny writing /proc/self/comm (13); without Landlock it works
	assert_contains "$out" "comm=0" "Landlock really is off"
	assert_contains "$out" "Seccomp:	2" "seccomp still on"
}

test_seccomp_failure_is_fatal_by_default() {
	local out rc
	out=$("$PROBE" seccomp-stack "$NUCLEUS" run -- /bin/echo ran 2>&1); rc=$?
	assert_eq "$rc" "125" "exit status"
	assert_not_contains "$out" "ran" "the workload did not run"
	assert_contains "$out" "install seccomp filter: Cannot allocate memory" "the failure named"
	assert_eq "$(leftovers)" "" "nothing left behind"
}

test_degraded_security_runs_without_seccomp_and_says_so() {
	local out rc
	out=$("$PROBE" seccomp-stack "$NUCLEUS" run --allow-degraded-security -- \
		sh -c "$PROBE syscall clone3; echo clone3=\$?; $PROBE write /proc/self/comm; echo comm=\$?" 2>&1); rc=$?
	assert_eq "$rc" "0" "exit status"
	assert_contains "$out" "warning: install seccomp filter" "warned"
	assert_contains "$out" "running without it: --allow-degraded-security" "the warning names the flag"
	# nucleus's profile answers clone3 with ENOSYS (38); the caller's
	# allow-all filters do not
	assert_not_contains "$out" "clone3=38" "nucleus's filter really is absent"
	assert_contains "$out" "comm=13" "Landlock still on"
}

test_degraded_security_changes_nothing_when_nothing_fails() {
	local out
	out=$("$NUCLEUS" run --allow-degraded-security -- sh -c "$PROBE syscall clone3; echo clone3=\$?;
		$PROBE write /proc/self/comm; echo comm=\$?" 2>&1)
	assert_contains "$out" "clone3=38" "seccomp on"
	assert_contains "$out" "comm=13" "Landlock on"
	assert_not_contains "$out" "warning" "no warning"
}

test_untrusted_trust_level_is_refused_without_gvisor() {
	local out rc
	out=$("$NUCLEUS" run --trust-level untrusted --runtime native -- /bin/echo ran 2>&1); rc=$?
	assert_eq "$rc" "125" "exit status"
	assert_contains "$out" "--trust-level untrusted runs under --runtime gvisor only, not native" "message"
	assert_not_contains "$out" "ran" "not run"
	assert_eq "$(leftovers)" "" "nothing created"
	out=$("$NUCLEUS" run --trust-level trusted -- /bin/echo ran 2>&1)
	assert_eq "$out" "ran" "trusted runs"
	assert_status 125 "$NUCLEUS" run --trust-level sort-of -- true
}

test_production_says_where_audit_events_come_from() {
	local out rc
	out=$("$NUCLEUS" run --service-mode production --memory 64M --no-rootfs-attestation -- /bin/true 2>&1); rc=$?
	assert_eq "$rc" "0" "exit status"
	if grep -qw bpf /sys/kernel/security/lsm 2>/dev/null && [ -n "${NUCLEUS_VM:-}" ]; then
		assert_not_contains "$out" "tracepoint fallback" "BPF-LSM in use"
	else
		assert_contains "$out" "audit: kernel events come from the tracepoint fallback, not BPF-LSM" "fallback named"
	fi
	out=$("$NUCLEUS" run --service-mode production --memory 64M --no-rootfs-attestation --no-audit -- /bin/true 2>&1)
	assert_not_contains "$out" "audit" "--no-audit: no audit trail"
	assert_status 125 "$NUCLEUS" run --audit --no-audit -- true
}

# Production needs Landlock ABI 3 (truncate handled): this host has it, the
# VM tier's Debian 6.1 kernel has ABI 2 and must refuse.
# vm-tier
test_production_requires_landlock_abi_3() {
	local abi out rc
	abi=$("$NUCLEUS" info | sed -n 's/^Landlock: *ABI \([0-9]*\).*/\1/p')
	[ -n "$abi" ] || fail "nucleus info names no Landlock ABI"
	out=$("$NUCLEUS" run --service-mode production --memory 64M --no-rootfs-attestation --no-audit \
		-- /bin/echo ran 2>&1); rc=$?
	if [ "$abi" -ge 3 ]; then
		assert_eq "$rc" "0" "ABI $abi: runs"
		assert_eq "$out" "ran" "output"
	else
		assert_eq "$rc" "125" "ABI $abi: refused"
		assert_contains "$out" "production mode requires Landlock ABI 3 or later; this kernel has ABI $abi" "message"
		assert_not_contains "$out" "ran" "not run"
		assert_eq "$(leftovers)" "" "nothing created"
	fi
}
