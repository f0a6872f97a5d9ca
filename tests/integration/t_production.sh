# Production mode: every invariant refused before anything exists, the
# satisfied case with what it turns on (mini-init, hidepid, deny-all egress,
# audit), and --require-kernel-lockdown.

CONFIG=$(cd "$(dirname "$NUCLEUS")/../config" 2>/dev/null && pwd || echo /payload/config)
# what production mode needs, and nothing it refuses
PROD=(--service-mode production --memory 64M --no-rootfs-attestation)

# Lines of `leftovers` that were not in BEFORE.
new_leftovers() { # BEFORE
	leftovers | grep -vxF -e "" -f <(echo "$1")
}

# nucleus run FLAGS... -- probe exit 0 is refused: status 125, one line
# naming the rule (each WORD in it), nothing left behind.
refused() { # "WORD..." FLAGS...
	local words=$1 before out st w
	shift
	before=$(leftovers)
	out=$("$NUCLEUS" run --name prodref-$$ "$@" -- "$PROBE" exit 0 2>&1)
	st=$?
	assert_eq "$st" 125 "status of run $*"
	assert_eq "$(echo "$out" | wc -l)" 1 "one line for run $*: [$out]"
	for w in $words; do
		assert_contains "$out" "$w" "the message of run $*"
	done
	assert_eq "$(new_leftovers "$before")" "" "left behind by run $*"
	[ ! -e "$RUNTIME_DIR/.names/prodref-$$" ] || fail "a name was recorded for run $*"
}

# (These refusals are the production policy's, src/container/mode.c.)
test_production_refuses_what_it_forbids() {
	local log
	log=$(mktemp -u)
	refused "production --allow-degraded-security" "${PROD[@]}" --allow-degraded-security
	refused "production --allow-chroot-fallback" "${PROD[@]}" --allow-chroot-fallback
	refused "production host" "${PROD[@]}" --network host --allow-host-network
	refused "production trace" "${PROD[@]}" --seccomp-mode trace --seccomp-log "$log"
	[ ! -e "$log" ] || fail "the refused trace run created its log"
	refused "production best-effort" "${PROD[@]}" --limits best-effort
	# (untrusted is refused in either mode until the gVisor runtime exists)
	refused "untrusted" "${PROD[@]}" --trust-level untrusted
}

test_production_refuses_what_it_lacks() {
	refused "production --memory" --service-mode production --no-rootfs-attestation
	refused "production --dns" "${PROD[@]}" --network bridge
	refused "production attestation" --service-mode production --memory 64M
}

# The satisfied case: it runs, and each invariant is in force.
test_production_runs_with_its_invariants() {
	local name=prod-$$ out st id
	out=$("$NUCLEUS" run "${PROD[@]}" -- "$PROBE" status 2>&1)
	st=$?
	assert_eq "$st" 0 "status of a production run: $out"
	assert_contains "$out" "NoNewPrivs:	1" "the probe ran"
	"$NUCLEUS" run -d --name "$name" "${PROD[@]}" -- "$PROBE" sleep 30 >/dev/null || fail "start detached"
	rm_on_exit "$name"
	id=$(container_id "$name")
	# pid 1 is the mini-init, the command its child
	assert_eq "$("$NUCLEUS" attach "$name" -- cat /proc/1/comm)" "nucleus-init" "pid 1"
	# /proc hides other uids' processes
	out=$("$NUCLEUS" attach "$name" -- grep " /proc " /proc/self/mountinfo)
	assert_contains "$out" "hidepid=invisible" "/proc's options"
	# egress deny-all: a connection out is refused by the policy (without
	# one, the container's empty network would answer ENETUNREACH, 101);
	# its own loopback is exempt (docs/egress.md), so an address beyond it
	"$NUCLEUS" attach "$name" -- "$PROBE" connect 10.9.9.9 80 >/dev/null 2>&1
	assert_eq "$?" 1 "connect out: EPERM from the egress policy"
	grep -q '"egress":true' "$RUNTIME_DIR/$id/state.json" || fail "state.json: no egress policy"
	# the audit trail is on: its log exists and has the start
	[ -s "$(state_field "$name" audit_path)" ] || fail "no audit log"
	out=$("$NUCLEUS" audit tail --json "$name")
	assert_contains "$out" '"type":"start"' "audit start event"
}

# Processes of another uid are invisible under production's hidepid, and
# visible in agent mode. As root in the container with CAP_SETUID and
# CAP_SETGID: a sleep as uid 1000, then `ls /proc` as uid 2000.
hidepid_view() { # FLAGS...
	"$NUCLEUS" run "$@" --caps-policy "$CONFIG/caps/docker-default.toml" -- sh -c '
		"$0" setid 1000 1000 sleep 30 & s=$!
		i=0; while ! grep -q "^Uid:	1000" /proc/$s/status && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
		echo "sleep=$s"
		"$0" setid 2000 2000 ls /proc | grep "^[0-9]" | tr "\n" " "; echo
		grep " /proc " /proc/self/mountinfo
		kill $s' "$PROBE"
}

# (Not in the VM tier: its kernel's Landlock ABI 2 is below production's.)
test_production_hidepid_hides_other_uids() {
	local out s
	out=$(hidepid_view "${PROD[@]}" --no-audit) || fail "production run: $out"
	s=$(echo "$out" | sed -n 's/^sleep=//p')
	[ -n "$s" ] || fail "no sleep started: $out"
	assert_contains "$out" "hidepid=invisible" "/proc's options"
	assert_not_contains " $(echo "$out" | sed -n 2p)" " $s " "uid 2000 sees uid 1000's sleep"
	assert_not_contains " $(echo "$out" | sed -n 2p)" " 1 " "uid 2000 sees pid 1"
	# the control: agent mode shows them
	out=$(hidepid_view) || fail "agent run: $out"
	s=$(echo "$out" | sed -n 's/^sleep=//p')
	assert_not_contains "$out" "hidepid" "agent mode's /proc"
	assert_contains " $(echo "$out" | sed -n 2p)" " $s " "agent mode: the sleep"
	assert_contains " $(echo "$out" | sed -n 2p)" " 1 " "agent mode: pid 1"
}

# The kernel's lockdown level, read as the test's own (securityfs mounted
# in a private mount namespace when the host has not mounted it).
kernel_lockdown() {
	local l
	if [ -r /sys/kernel/security/lockdown ]; then
		l=$(cat /sys/kernel/security/lockdown)
	else
		l=$(unshare -m sh -c 'mount -t securityfs securityfs /sys/kernel/security &&
			cat /sys/kernel/security/lockdown' 2>/dev/null)
	fi
	case $l in
	*"[integrity]"*) echo integrity ;;
	*"[confidentiality]"*) echo confidentiality ;;
	*) echo none ;;
	esac
}

lockdown_rank() {
	case $1 in none) echo 0 ;; integrity) echo 1 ;; confidentiality) echo 2 ;; esac
}

# --require-kernel-lockdown WANT passes when the kernel is at least WANT,
# and is refused (125, one line, nothing created) when it is not.
lockdown_both_ways() { # HAVE
	local have=$1 want out st before
	for want in integrity confidentiality; do
		before=$(leftovers)
		out=$("$NUCLEUS" run --require-kernel-lockdown $want -- "$PROBE" hostname 2>&1)
		st=$?
		if [ "$(lockdown_rank $want)" -le "$(lockdown_rank "$have")" ]; then
			assert_eq "$st" 0 "--require-kernel-lockdown $want under $have: $out"
			assert_ne "$out" "" "the command ran"
		else
			assert_eq "$st" 125 "--require-kernel-lockdown $want under $have"
			assert_eq "$(echo "$out" | wc -l)" 1 "one line: [$out]"
			assert_contains "$out" "kernel lockdown is \`$have\`; --require-kernel-lockdown $want needs at least \`$want\`" "message"
			assert_eq "$(new_leftovers "$before")" "" "left behind"
		fi
	done
}

# This host is `integrity`: integrity passes, confidentiality is refused.
# The VM tier's plain boot has `none`: both refused.
# vm-tier
test_lockdown_required_at_most_the_kernels_level() {
	local have
	have=$(kernel_lockdown)
	[ "${NUCLEUS_VM:-}" != 1 ] || assert_eq "$have" none "the plain VM boot's lockdown"
	lockdown_both_ways "$have"
}

# The VM tier boots once more, with lockdown=confidentiality, for this one:
# both levels pass there. (On the host tier, the same check as above.)
# vm-tier lockdown=confidentiality
test_lockdown_confidentiality_kernel() {
	local have
	have=$(kernel_lockdown)
	[ "${NUCLEUS_VM:-}" != 1 ] || assert_eq "$have" confidentiality "the lockdown boot's level"
	lockdown_both_ways "$have"
}
