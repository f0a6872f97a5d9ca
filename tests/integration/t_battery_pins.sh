# Upgrades while containers run: two builds of nucleus whose BPF objects
# differ share one host, as during a package upgrade with services running.
# Build A is the nucleus under test; build B is this tree built again with a
# tag compiled into its BPF objects (another object hash, another version).
# Each build keeps its own pinned set; the containers of either keep their
# policy, their counters and their cleanup, whichever build asks; the old
# build's set and anchor go after its last container (at the new build's
# next load, container end or rm), not before.
#
# The pins live in a bpffs of the test's own (a private mount namespace), so
# that other nucleus runs on the host neither see nor collect them; the
# builds and B's anchor cgroup are removed at the end.

PINS_HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PINS_ROOT=$(cd "$PINS_HERE/../.." && pwd)

pins_version() { # BUILD_DIR OBJECT (egress, audit)
	sed -n 's/.*_BPF_VERSION "\(.*\)".*/\1/p' "$1/bpf/$2.version.h"
}

# Build B into a directory of the test's own; exports B, BUILD_B, VA, VB (the
# egress versions of A and B) and AA, AB (the audit versions).
pins_build_b() {
	BUILD_B=$(mktemp -d /tmp/nucleus-pins-b.XXXXXX) || fail "mktemp"
	trap pins_teardown EXIT
	make -C "$PINS_ROOT" --no-print-directory -j"$(nproc)" BUILD="$BUILD_B" \
		BPF_EXTRA_CFLAGS=-DNUCLEUS_BPF_BUILD_TAG=2 "$BUILD_B/nucleus" >"$BUILD_B/make.log" 2>&1 ||
		fail "build B: $(tail -5 "$BUILD_B/make.log")"
	export B=$BUILD_B/nucleus BUILD_B
	export VA=$(pins_version "$NUCLEUS_TEST_BUILD" egress) VB=$(pins_version "$BUILD_B" egress)
	export AA=$(pins_version "$NUCLEUS_TEST_BUILD" audit) AB=$(pins_version "$BUILD_B" audit)
	[ -n "$VA" ] && [ -n "$VB" ] || fail "no egress versions ($VA, $VB)"
	assert_ne "$VB" "$VA" "build B's egress object version"
	assert_ne "$AB" "$AA" "build B's audit object version"
}

pins_teardown() {
	local v2
	"$NUCLEUS" rm -f $PINS_NAMES >/dev/null 2>&1
	# B's set was the last one and stays pinned, in the test's bpffs that
	# went with its namespace; its anchor is a cgroup of the host's
	v2=$(awk '$9 == "cgroup2" { print $5; exit }' /proc/self/mountinfo)
	[ -n "${VB:-}" ] && [ -n "$v2" ] && rmdir "$v2/nucleus/.egress-anchor-$VB" 2>/dev/null
	[ -n "${BUILD_B:-}" ] && rm -rf "$BUILD_B"
	return 0
}

# Run a function of this file in a private mount namespace with a bpffs of
# its own (the nucleus commands it runs see only these pins).
pins_private() { # FUNCTION
	unshare -m --propagation private bash -c "
		. '$PINS_HERE/lib.sh'; . '$PINS_HERE/t_battery_pins.sh'; set -u
		mount -t bpf bpf /sys/fs/bpf || fail 'mount a bpffs of the test'\''s own'
		$1"
}

# The pinned sets a container's state records.
pins_of() { # NAME
	python3 -c 'import json, sys; print(" ".join(json.load(open(sys.argv[1])).get("bpf_pins") or []))' \
		"$RUNTIME_DIR/$(container_id "$1")/state.json"
}

# The errno of a connect() inside a container, run by a given build: 1 is
# EPERM (the policy refused it), 101 ENETUNREACH (allowed; no route).
pins_connect() { # BUILD NAME ADDRESS
	"$1" attach "$2" -- "$PROBE" connect "$3" 80 >/dev/null 2>&1
	echo $?
}

# network.denied_calls in `stats`, as a given build reads it ("None" when
# it cannot).
pins_denied() { # BUILD NAME
	"$1" stats --no-stream --json "$2" |
		python3 -c 'import json, sys; n = json.load(sys.stdin)[0]["network"]; print(n and n["denied_calls"])'
}

pins_map_id() { # PINNED_MAP
	bpftool map show pinned "$1" 2>/dev/null | sed -n '1s/:.*//p'
}

pins_entries() { # PINNED_MAP
	bpftool map dump pinned "$1" 2>/dev/null | grep -c 'key'
}

pins_has_entries() { # PINNED_MAP N
	[ "$(pins_entries "$1")" = "$2" ]
}

pins_egress_inside() {
	local a1=pinsa1-$PINS_ID a2=pinsa2-$PINS_ID b1=pinsb1-$PINS_ID sa sb id sup v2 policy name
	v2=$(awk '$9 == "cgroup2" { print $5; exit }' /proc/self/mountinfo)
	"$NUCLEUS" run -d --name $a1 --egress-allow 192.0.2.0/24 -- "$PROBE" sleep 120 >/dev/null || fail "A: start $a1"
	sa=$(pins_of $a1)
	assert_contains "$sa" "egress-$VA-l" "the set A's container records"
	sa=/sys/fs/bpf/nucleus/$sa
	policy=$(pins_map_id "$sa/policy")
	[ -n "$policy" ] || fail "A's set is not pinned at $sa"
	assert_eq "$(pins_connect "$NUCLEUS" $a1 198.51.100.1)" 1 "A's container, a denied address"

	# the upgrade: B starts a container of its own
	"$B" run -d --name $b1 --egress-allow 192.0.2.0/24 -- "$PROBE" sleep 120 >/dev/null || fail "B: start $b1"
	sb=$(pins_of $b1)
	assert_contains "$sb" "egress-$VB-l" "the set B's container records"
	sb=/sys/fs/bpf/nucleus/$sb
	assert_eq "$(pins_map_id "$sa/policy")" "$policy" "A's set, still pinned after B loaded its own"
	[ -n "$(pins_map_id "$sb/policy")" ] || fail "B's set is not pinned at $sb"
	[ -d "$v2/nucleus/.egress-anchor-$VA" ] || fail "A's anchor went when B made its own"
	# both enforce, whichever build runs the command in them
	assert_eq "$(pins_connect "$NUCLEUS" $a1 198.51.100.1)" 1 "A's container after B started"
	assert_eq "$(pins_connect "$B" $a1 198.51.100.2)" 1 "A's container, by B's attach"
	assert_eq "$(pins_connect "$B" $b1 198.51.100.1)" 1 "B's container"
	assert_eq "$(pins_connect "$B" $b1 192.0.2.1)" 101 "B's container, an allowed address"
	# A's counters, read by either build
	assert_eq "$(pins_denied "$NUCLEUS" $a1)" 3 "A's counters read by A"
	assert_eq "$(pins_denied "$B" $a1)" 3 "A's counters read by B"
	assert_eq "$(pins_denied "$NUCLEUS" $b1)" 1 "B's counters read by A"
	assert_contains "$("$B" ps)" "$a1" "B's ps lists A's container"

	# A runs again (its turn): it reuses its set and leaves B's alone
	"$NUCLEUS" run --name $a2 --egress-allow 192.0.2.0/24 -- "$PROBE" sleep 120 >/dev/null 2>&1 &
	sup=$!
	wait_for pins_has_entries "$sa/policy" 2 || fail "A's second container never had its entry"
	assert_eq "$(pins_map_id "$sa/policy")" "$policy" "A's set, not loaded again"
	assert_eq "$(pins_denied "$B" $b1)" 1 "B's counters after A ran again"
	assert_eq "$(pins_connect "$B" $b1 198.51.100.1)" 1 "B's container after A ran again"
	# A's supervisor dies; B's rm collects the entries it left in A's maps
	kill -KILL $sup
	wait $sup 2>/dev/null
	"$B" rm -f $a2 >/dev/null 2>&1
	assert_eq "$(pins_entries "$sa/policy")" 1 "A's entries after B removed the crashed container"
	for m in rules4 counters ratelimit events; do
		assert_eq "$(pins_entries "$sa/$m")" 1 "entries in A's $m"
	done

	# A's set and anchor stay while A's last container runs, whatever B
	# collects, and go after it
	"$B" run --egress-allow 192.0.2.0/24 -- true || fail "B: a run that ends (and collects)"
	[ -d "$sa" ] || fail "A's set went while its container runs"
	[ -d "$v2/nucleus/.egress-anchor-$VA" ] || fail "A's anchor went while its container runs"
	"$B" rm -f $a1 >/dev/null || fail "B: rm -f $a1"
	"$B" run --egress-allow 192.0.2.0/24 -- true || fail "B: a run that ends (and collects)"
	[ -e "$sa" ] && fail "A's set stayed after its last container: $(ls /sys/fs/bpf/nucleus)"
	[ -d "$v2/nucleus/.egress-anchor-$VA" ] && fail "A's anchor stayed after its last container"
	# B's container is untouched, and B's set is the one left for the next run
	assert_eq "$(pins_connect "$B" $b1 198.51.100.3)" 1 "B's container after A's set went"
	assert_eq "$(pins_denied "$B" $b1)" 3 "B's counters after A's set went"
	"$B" rm -f $b1 >/dev/null || fail "B: rm -f $b1"
	[ -n "$(pins_map_id "$sb/policy")" ] || fail "B's set, the last one, went"
	assert_eq "$(pins_entries "$sb/policy")" 0 "entries left in B's set"
	return 0
}

test_battery_pins_egress_two_builds() {
	export PINS_ID=$$
	PINS_NAMES="pinsa1-$PINS_ID pinsa2-$PINS_ID pinsb1-$PINS_ID"
	pins_build_b
	pins_private pins_egress_inside || exit 1
}

pins_audit_trace_inside() {
	local a1=pinsaa-$PINS_ID b1=pinsab-$PINS_ID sa ta log
	log=$(mktemp)
	"$NUCLEUS" run -d --audit --seccomp-mode trace --seccomp-log "$log" --name $a1 -- "$PROBE" sleep 120 \
		>/dev/null || fail "A: start $a1"
	sa=$(pins_of $a1)
	assert_contains "$sa" "audit-$AA-l" "the audit set A's container records"
	sa=/sys/fs/bpf/nucleus/$sa
	ta=$(ls -d /sys/fs/bpf/nucleus/trace-$TA-l*) || fail "A's trace set"
	"$B" run -d --audit --seccomp-mode trace --seccomp-log /dev/null --name $b1 -- "$PROBE" sleep 120 \
		>/dev/null || fail "B: start $b1"
	assert_contains "$(pins_of $b1)" "audit-$AB-l" "the audit set B's container records"
	ls -d /sys/fs/bpf/nucleus/trace-$TB-l* >/dev/null || fail "B's trace set"
	# A's programs stay attached: their links are pinned in A's sets
	ls "$sa" | grep -q '^link_' || fail "A's audit programs were detached when B loaded: $(ls "$sa" 2>&1)"
	[ -e "$ta/link_enter" ] || fail "A's syscall recorder was detached when B loaded: $(ls "$ta" 2>&1)"
	# A's container is still audited and traced: a call after B started is seen
	"$B" attach $a1 -- "$PROBE" syscall userfaultfd >/dev/null 2>&1
	wait_for sh -c "'$NUCLEUS' audit tail --json $a1 | grep -q '\"argv\":\[\"$PROBE\",\"syscall\",\"userfaultfd\"\]'" ||
		fail "A's container lost its audit when B loaded: $("$NUCLEUS" audit tail --json $a1 | tail -3)"
	"$B" stats --no-stream --json $a1 |
		python3 -c 'import json, sys; a = json.load(sys.stdin)[0]["audit"]; sys.exit(not (a and a["events"] >= 2))' ||
		fail "A's audit counters, read by B"
	# B collects A's sets only after A's last container, whose trace is complete
	"$B" run --audit --seccomp-mode trace --seccomp-log /dev/null -- true || fail "B: a run that ends (and collects)"
	[ -e "$sa" ] && [ -e "$ta/link_enter" ] || fail "A's sets went while its container runs"
	"$B" rm -f $a1 >/dev/null || fail "B: rm -f $a1"
	"$B" run --audit --seccomp-mode trace --seccomp-log /dev/null -- true || fail "B: a run that ends (and collects)"
	[ -e "$sa" ] && fail "A's audit set stayed after its last container"
	[ -e "$ta" ] && fail "A's trace set stayed after its last container"
	assert_contains "$(cat "$log")" '"name": "userfaultfd"' "A's trace, recorded after B loaded"
	[ -e "$(ls -d /sys/fs/bpf/nucleus/trace-$TB-l*)/link_enter" ] || fail "B's recorder went with A's"
	"$B" rm -f $b1 >/dev/null || fail "B: rm -f $b1"
	rm -f "$log"
	return 0
}

test_battery_pins_audit_and_trace_two_builds() {
	export PINS_ID=$$
	PINS_NAMES="pinsaa-$PINS_ID pinsab-$PINS_ID"
	pins_build_b
	export TA=$(pins_version "$NUCLEUS_TEST_BUILD" syscall_trace) TB=$(pins_version "$BUILD_B" syscall_trace)
	assert_ne "$TB" "$TA" "build B's trace object version"
	pins_private pins_audit_trace_inside || exit 1
}
