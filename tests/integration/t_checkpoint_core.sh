# nucleus checkpoint and restore, end to end where CRIU works (the VM
# tier): the restored container is a supervised one of its own (state,
# ps, attach, limits written again by nucleus, pid 1 of its pid
# namespace), its processes continue where the dump left them. The
# counter/OOM/egress battery is t_checkpoint.sh's. On a host where `criu
# check` fails (the host tier's 6.18 kernel) the same checkpoint is
# refused instead, the container untouched.

# vm-tier
test_checkpoint_core_roundtrip() {
	local name=ckcore-$$ dir out id n after
	dir=$(mktemp -u /tmp/nucleus-ckpt.XXXXXX)
	rm_on_exit "$name"
	"$NUCLEUS" run -d --name "$name" --memory 48M --pids 24 --egress-allow 192.0.2.1/32 -- \
		sh -c 'i=0; while :; do i=$((i+1)); echo $i > /tmp/n; sleep 0.1; done' >/dev/null || fail "run -d"
	sleep 1
	if ! criu check >/dev/null 2>&1; then
		out=$("$NUCLEUS" checkpoint "$name" --output "$dir" 2>&1)
		assert_eq "$?" 125 "checkpoint where criu check fails [$out]"
		assert_contains "$out" "criu check failed" "the refusal"
		[ ! -e "$dir" ] || fail "checkpoint created $dir"
		assert_contains "$("$NUCLEUS" ps)" "$name" "still running"
		"$NUCLEUS" rm -f "$name" >/dev/null
		return 0
	fi
	"$NUCLEUS" attach "$name" -- sh -c 'echo kept > /tmp/kept' || fail "attach before"
	# the egress policy refuses at connect (EPERM, before any route: the
	# namespace has only lo)
	"$NUCLEUS" attach "$name" -- "$PROBE" connect 198.51.100.7 80
	assert_eq "$?" 1 "connect denied (EPERM) before the checkpoint"
	out=$("$NUCLEUS" checkpoint "$name" --output "$dir" 2>&1) || fail "checkpoint: $out"
	# the original ended as a checkpointed exit
	assert_contains "$("$NUCLEUS" ps -a)" "(checkpointed)" "ps -a after checkpoint"
	for f in config.json manifest.json integrity images/nucleus-root.tar images/inventory.img; do
		[ -s "$dir/$f" ] || fail "no $f in the checkpoint"
	done
	"$NUCLEUS" rm "$name" >/dev/null || fail "rm of the checkpointed container"

	# a damaged image is refused before CRIU reads it
	cp "$dir/images/inventory.img" "$dir/inv.bak"
	printf 'x' >> "$dir/images/inventory.img"
	out=$("$NUCLEUS" restore --input "$dir" -d 2>&1)
	assert_eq "$?" 125 "restore of a damaged checkpoint [$out]"
	assert_contains "$out" "integrity check failed" "the refusal"
	mv "$dir/inv.bak" "$dir/images/inventory.img"

	id=$("$NUCLEUS" restore --input "$dir" -d) || fail "restore: $id"
	assert_eq "$(container_id "$name")" "$id" "the restored container has the name and a new id"
	assert_contains "$("$NUCLEUS" ps)" "$name" "ps shows it"
	n=$("$NUCLEUS" attach "$name" -- cat /tmp/n) || fail "attach after restore"
	sleep 0.5
	after=$("$NUCLEUS" attach "$name" -- cat /tmp/n)
	[ "$after" -gt "$n" ] || fail "the counter does not go on: $n then $after"
	assert_eq "$("$NUCLEUS" attach "$name" -- cat /tmp/kept)" "kept" "/tmp's content"
	assert_eq "$("$NUCLEUS" attach "$name" -- sh -c 'grep NSpid /proc/1/status | cut -f2-')" "1" "pid 1 of its namespace"
	assert_eq "$(cat "$(cgroup_dir "$id" memory)/memory.max")" $((48 << 20)) "memory.max written again"
	assert_eq "$(cat "$(cgroup_dir "$id" pids)/pids.max")" 24 "pids.max written again"
	assert_eq "$(state_field "$name" restored_from)" "$dir" "state: restored_from"
	# the BPF egress policy attached again, to the new cgroup
	"$NUCLEUS" attach "$name" -- "$PROBE" connect 198.51.100.7 80
	assert_eq "$?" 1 "connect denied (EPERM) after the restore"
	"$NUCLEUS" stop -t 1 "$name" >/dev/null || fail "stop"
	"$NUCLEUS" rm "$name" >/dev/null || fail "rm"
	rm -rf "$dir"
}

# --init: the init is nucleus's own process (a fork of the binary, its
# libraries the host's), handed back to CRIU by restore; it is pid 1 again
# and still forwards stop's SIGTERM to the workload.
# vm-tier
test_checkpoint_core_init() {
	local name=ckinit-$$ dir out n after
	dir=$(mktemp -u /tmp/nucleus-ckpt.XXXXXX)
	rm_on_exit "$name"
	"$NUCLEUS" run -d --init --name "$name" -- \
		sh -c 'trap "exit 7" TERM; i=0; while :; do i=$((i+1)); echo $i > /tmp/n; sleep 0.1; done' >/dev/null ||
		fail "run -d --init"
	sleep 1
	if ! criu check >/dev/null 2>&1; then
		out=$("$NUCLEUS" checkpoint "$name" --output "$dir" 2>&1)
		assert_eq "$?" 125 "checkpoint where criu check fails [$out]"
		assert_contains "$out" "criu check failed" "the refusal"
		[ ! -e "$dir" ] || fail "checkpoint created $dir"
		"$NUCLEUS" rm -f "$name" >/dev/null
		return 0
	fi
	out=$("$NUCLEUS" checkpoint "$name" --output "$dir" 2>&1) || fail "checkpoint: $out"
	assert_contains "$(cat "$dir/manifest.json")" "\"path\": \"$(readlink -f "$NUCLEUS")\"" "the init's binary recorded"
	"$NUCLEUS" rm "$name" >/dev/null || fail "rm"
	"$NUCLEUS" restore --input "$dir" -d >/dev/null 2>&1 || fail "restore"
	assert_eq "$("$NUCLEUS" attach "$name" -- sh -c 'grep Name /proc/1/status | cut -f2-')" "nucleus-init" "pid 1"
	n=$("$NUCLEUS" attach "$name" -- cat /tmp/n)
	sleep 0.5
	after=$("$NUCLEUS" attach "$name" -- cat /tmp/n)
	[ "$after" -gt "$n" ] || fail "the counter does not go on: $n then $after"
	"$NUCLEUS" stop -t 5 "$name" >/dev/null || fail "stop"
	assert_contains "$("$NUCLEUS" ps -a)" "Exited (7)" "the init forwarded SIGTERM to the workload"
	"$NUCLEUS" rm "$name" >/dev/null
	rm -rf "$dir"
}
