# Production mode: every invariant refused before anything exists, the
# satisfied case with what it turns on (mini-init, hidepid, deny-all egress,
# audit), and --require-kernel-lockdown.

CONFIG=$(cd "$(dirname "$NUCLEUS")/../config" 2>/dev/null && pwd || echo /payload/config)
# what production mode needs, and nothing it refuses
PROD=(--service-mode production --memory 64M --no-rootfs-attestation)

# nucleus run FLAGS... -- probe exit 0 is refused (run_refused) with a
# line naming the rule (each WORD in it).
refused() { # "WORD..." FLAGS...
	local words=$1 out w
	shift
	out=$(run_refused prodref-$$ "$@") || exit 1
	for w in $words; do
		assert_contains "$out" "$w" "the message of run $*"
	done
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
	# untrusted runs under gVisor or not at all
	refused "untrusted native" "${PROD[@]}" --trust-level untrusted --runtime native
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

. "$(dirname "${BASH_SOURCE[0]}")/nixstore.sh"

# The production example (README, "Production mode"): a service from a Nix
# store path, its manifest pinned and verified on the mounts, run as its
# own user, detached, with a published port, a memory limit, deny-all
# egress, the audit trail, hidepid and the mini-init; then stopped and
# removed, nothing left behind.
test_production_service_from_an_attested_nix_store_path() {
	local t pin rootfs tools name=prodsvc-$$ port=$((20000 + $$ % 10000)) out id st a pid child
	command -v nix-store >/dev/null || fail "nix-store is not installed (package nix-bin)"
	t=$(mktemp -d /tmp/prod-nix.XXXXXX)
	mkdir -p "$t/tools/bin" "$t/rootfs/bin" "$t/rootfs/etc" "$t/rootfs/srv/data" "$t/rootfs/var/cache" "$t/state"
	# its data: a key (a secret), a state directory (a volume), scratch (a tmpfs)
	echo "key-$$-material" >"$t/tls.key"
	chmod 0600 "$t/tls.key"
	chown 7070:7070 "$t/state"
	cp "$(command -v busybox)" "$t/tools/bin/busybox"
	cp "$PROBE" "$t/tools/bin/probe"
	tools=$(nix-store --store "$t/nixroot" --add "$t/tools" 2>/dev/null) || fail "nix-store --add tools"
	for a in sh id cat httpd ls stat touch grep; do
		ln -s "$tools/bin/busybox" "$t/rootfs/bin/$a"
	done
	ln -s "$tools/bin/probe" "$t/rootfs/bin/probe"
	printf 'root:x:0:0:root:/root:/bin/sh\nweb:x:7070:7070:web service:/srv:/bin/sh\n' >"$t/rootfs/etc/passwd"
	printf 'root:x:0:\nweb:x:7070:\n' >"$t/rootfs/etc/group"
	echo "hello from the store" >"$t/rootfs/srv/index.html"
	echo "$tools" >"$t/rootfs/.nucleus-rootfs-store-paths"
	# the manifest covers the rootfs and the closure's store path
	pin=$("$NUCLEUS" rootfs attest --store "$t/nixroot/nix/store" "$t/rootfs" | awk '{print $1}')
	[ ${#pin} = 64 ] || fail "rootfs attest printed no pin"
	grep -q "  $tools/bin/busybox\$" "$t/rootfs/.nucleus-rootfs-sha256" || fail "the closure is not in the manifest"
	rootfs=$(nix-store --store "$t/nixroot" --add "$t/rootfs" 2>/dev/null) || fail "nix-store --add rootfs"
	nix_mountpoint
	out=$(in_store_ns "$t" "$NUCLEUS" run -d --service-mode production --name "$name" \
		--rootfs "$rootfs" --verify-rootfs-attestation --rootfs-attestation-sha256 "$pin" \
		--user web --memory 128M --cpus 1 --pids 64 \
		--secret "$t/tls.key:/run/secrets/tls.key" -v "$t/state:/srv/data:rw" --tmpfs /var/cache:size=8m \
		--network bridge --dns 10.0.42.1 -p "127.0.0.1:$port:8080" \
		--require-kernel-lockdown integrity \
		-- /bin/httpd -f -p 8080 -h /srv 2>&1); st=$?
	nix_mountpoint_done
	rm_on_exit "$name"
	assert_eq "$st" 0 "the service starts: $out"
	# it serves, through the published port
	wait_for sh -c "busybox wget -qO- http://127.0.0.1:$port/index.html 2>/dev/null | grep -q 'hello from the store'" ||
		fail "the service does not answer on 127.0.0.1:$port"
	out=$("$NUCLEUS" ps --filter "name=$name" --format '{{.Status}}')
	assert_contains "$out" "Up" "ps"
	# attach runs as the service's identity; the service's processes are
	# not its to see (hidepid=invisible, and a Landlock domain of its own)
	out=$("$NUCLEUS" attach "$name" -- /bin/sh -c 'id; ls /proc/1 >/dev/null 2>&1 || echo pid1=hidden;
		/bin/probe connect 10.0.42.1 80; echo egress=$?; grep " /proc " /proc/self/mountinfo' 2>&1)
	assert_contains "$out" "uid=7070(web) gid=7070(web)" "attach's identity"
	assert_contains "$out" "pid1=hidden" "hidepid"
	assert_contains "$out" "egress=1" "deny-all egress (EPERM)"
	assert_contains "$out" "hidepid=invisible" "/proc hidepid"
	# the service's data: its secret (0400, its own), its volume, its scratch
	out=$("$NUCLEUS" attach "$name" -- /bin/sh -c 'cat /run/secrets/tls.key; stat -c "%a %u" /run/secrets/tls.key;
		touch /srv/data/written && echo vol=rw; echo tmpfs=$(grep -c " /var/cache .* tmpfs .*size=8192k" /proc/self/mountinfo)' 2>&1)
	assert_contains "$out" "key-$$-material" "the secret's content"
	assert_contains "$out" "400 7070" "the secret's mode and owner"
	assert_contains "$out" "vol=rw" "the volume is writable"
	[ -e "$t/state/written" ] || fail "the volume's write did not reach the host"
	assert_contains "$out" "tmpfs=1" "the sized tmpfs"
	id=$(container_id "$name")
	grep -q "key-$$-material" "$RUNTIME_DIR/$id/state.json" && fail "the secret's content is in the state"
	# pid 1 is the mini-init, and the service its child, both as web
	pid=$(sed -n 's/.*"pid": *\([0-9]*\).*/\1/p' "$RUNTIME_DIR/$id/state.json")
	assert_eq "$(cat /proc/$pid/comm)" "nucleus-init" "pid 1"
	assert_eq "$(awk '/^Uid:/{print $2}' /proc/$pid/status)" "7070" "the init's uid"
	child=$(cat /proc/$pid/task/$pid/children)
	assert_eq "$(cat /proc/${child%% *}/comm)" "httpd" "the service under the init"
	assert_eq "$(awk '/^Uid:/{print $2}' /proc/${child%% *}/status)" "7070" "the service's uid"
	grep -q '"verify_attestation": *true' "$RUNTIME_DIR/$id/state.json" || fail "the state does not record the attestation"
	a=$(state_field "$name" audit_path)
	[ -s "$a" ] || fail "no audit trail at [$a]"
	grep -q '"start"' "$a" || fail "no start event in the audit trail"
	"$NUCLEUS" stop "$name" >/dev/null || fail "stop"
	"$NUCLEUS" rm "$name" >/dev/null || fail "rm"
	rm -rf "$t"
}
