# Checkpoint and restore through CRIU (docs/checkpoint.md). The workload is
# the probe's counter: one process appending 1, 2, 3... to /tmp/count (its
# tmpfs) every 100 ms, so the file shows whether a restored container went
# on from where it was saved: no number missing, none written twice (one
# tick of slack at the restore point).
#
# CRIU 3.17 works in the VM tier (tests/vm/run --criu); on a host where
# `criu check` fails, the vm-tier tests check the refusal there and stop
# (t_checkpoint_host.sh has the host's own tests).
# Plain shell and busybox tools: the VM tier runs these.

# Whether CRIU works here. In the VM it must: a failing `criu check` there
# is a broken tier, not a host to skip.
ckpt_criu_works() {
	local out
	out=$(criu check 2>&1) && return 0
	[ "${NUCLEUS_VM:-}" = 1 ] && fail "criu check fails in the VM: $(echo "$out" | tail -n 1)"
	return 1
}

# The refusal where CRIU does not work: status 125, one line with CRIU's
# reason, DIR not created, the container untouched.
ckpt_assert_host_refusal() { # NAME DIR
	local out st
	out=$("$NUCLEUS" checkpoint "$1" --output "$2" 2>&1)
	st=$?
	assert_eq "$st" 125 "status of checkpoint where criu check fails: [$out]"
	assert_eq "$(echo "$out" | wc -l)" 1 "one line: [$out]"
	assert_contains "$out" "criu" "CRIU named: [$out]"
	assert_contains "$out" "$(ckpt_criu_reason)" "CRIU's reason: [$out]"
	[ ! -e "$2" ] || fail "the refused checkpoint left $2"
	assert_contains "$("$NUCLEUS" ps)" "$1" "the container still listed"
}

# CRIU's reason, as `criu check` gives it: its last error line's text.
ckpt_criu_reason() {
	criu check 2>&1 | sed -n 's/^Error ([^)]*): //p' | tail -n 1
}

ckpt_pid() { # NAME: the workload's host pid, from the state
	local id
	id=$(container_id "$1") || return 1
	sed -n 's/.*"pid":\([0-9]*\).*/\1/p' "$RUNTIME_DIR/$id/state.json"
}

# The counter file as the container sees it (its /tmp, through its root).
ckpt_count() { # NAME
	local pid
	pid=$(ckpt_pid "$1") && [ -n "$pid" ] && cat "/proc/$pid/root/tmp/count" 2>/dev/null
}

ckpt_lines() { # NAME: how many numbers the counter wrote
	ckpt_count "$1" | wc -l
}

ckpt_counted() { # NAME N: at least N numbers written
	[ "$(ckpt_lines "$1")" -ge "$2" ] 2>/dev/null
}

# The counter's file is 1, 2, 3... with nothing missing; one number twice
# is allowed (the tick during which the dump was taken). Prints its last
# number.
ckpt_assert_sequence() { # CONTENT WHAT
	local r
	r=$(echo "$1" | awk '
		NR == 1 && $1 != 1 { print "starts at " $1; bad = 1; exit }
		NR > 1 && $1 == prev { if (++rep > 1) { print "repeats " $1 " (a second time)"; bad = 1; exit } }
		NR > 1 && $1 != prev && $1 != prev + 1 { print "jumps from " prev " to " $1; bad = 1; exit }
		{ prev = $1 }
		END { if (!bad) print "last " prev }')
	case "$r" in "last "*) echo "${r#last }" ;; *) fail "$2: the counter $r" ;; esac
}

# Start the counter workload NAME with FLAGS, and let it count a little.
ckpt_start() { # NAME FLAGS...
	local name=$1
	shift
	"$NUCLEUS" run -d --name "$name" "$@" -- "$PROBE" counter /tmp/count >/dev/null || fail "start $name"
	rm_on_exit "$name"
	wait_for ckpt_counted "$name" 5 || fail "$name did not count: [$(ckpt_count "$name")]"
}

# The probe with ARGS run on the host in cgroup CG; prints its exit status.
ckpt_in_cgroup() { # CG ARGS...
	local cg=$1
	shift
	sh -c 'echo $$ >"$1/cgroup.procs" && shift && exec "$@"' sh "$cg" "$PROBE" "$@" >/dev/null 2>&1
	echo $?
}

# The cgroup v2 directory of a container by name.
ckpt_cgroup() { # NAME
	cgroup_dir "$(container_id "$1")" pids
}

# vm-tier
test_checkpoint_criu_check_in_vm() {
	local out
	[ "${NUCLEUS_VM:-}" = 1 ] || return 0   # the host's kernel: see the refusal test
	out=$(criu check 2>&1)
	assert_eq "$?" 0 "criu check status: [$out]"
	assert_contains "$out" "Looks good." "criu check"
	out=$("$NUCLEUS" info 2>&1)
	assert_contains "$out" "criu" "nucleus info names CRIU"
	assert_not_contains "$(echo "$out" | grep -i criu)" "fail" "nucleus info: CRIU works here"
}

# vm-tier
test_checkpoint_restore_counter_limits_policy() {
	local dir old_id old_pid before_dump last1 last2 before out st cg pid
	before=$(leftovers)
	dir=$(mktemp -d)/ckpt
	ckpt_start ck-$$ --memory 64M --pids 16 --egress-allow 10.0.0.0/8
	if ! ckpt_criu_works; then
		ckpt_assert_host_refusal ck-$$ "$dir"
		return 0
	fi
	old_id=$(container_id ck-$$) old_pid=$(ckpt_pid ck-$$)
	before_dump=$(ckpt_lines ck-$$)
	out=$("$NUCLEUS" checkpoint ck-$$ --output "$dir" 2>&1) || fail "checkpoint: [$out]"
	# without --leave-running the container ends, recorded as checkpointed
	kill -0 "$old_pid" 2>/dev/null && fail "the workload still runs after checkpoint"
	assert_contains "$("$NUCLEUS" ps -a | grep "ck-$$")" "checkpointed" "ps -a after checkpoint"
	for f in images config.json manifest.json integrity; do
		[ -e "$dir/$f" ] || fail "no $f in the checkpoint"
	done
	"$NUCLEUS" rm ck-$$ >/dev/null 2>&1 || fail "rm of the checkpointed container"
	sleep 1   # ten ticks: a restore that restarted or skipped would show
	out=$("$NUCLEUS" restore --input "$dir" -d 2>&1) || fail "restore: [$out]"
	assert_ne "$(container_id ck-$$)" "$old_id" "a new id"
	wait_for ckpt_counted ck-$$ $((before_dump + 5)) || fail "the restored counter does not count: [$(ckpt_count ck-$$ | tail -n 3)]"
	last1=$(ckpt_assert_sequence "$(ckpt_count ck-$$)" "after restore") || exit 1
	[ "$last1" -ge "$before_dump" ] || fail "restored counter at $last1, it was at $before_dump"
	out=$("$NUCLEUS" ps)
	assert_contains "$(echo "$out" | grep "ck-$$")" "Up" "ps shows the restored container"
	# the limits, written again by nucleus (CRIU would leave max)
	cg=$(ckpt_cgroup ck-$$) || fail "no cgroup for the restored container"
	assert_eq "$(cat "$cg/memory.max")" 67108864 "memory.max after restore"
	assert_eq "$(cat "$cg/pids.max")" 16 "pids.max after restore"
	# Processes put into the restored container's cgroup (as attach would,
	# without its namespaces): the egress programs attached again deny and
	# count, the pids limit refuses forks, and the memory limit OOM-kills
	# (the whole container: memory.oom.group), last.
	assert_eq "$(ckpt_in_cgroup "$cg" connect 192.0.2.1 80)" 1 "a denied connect after restore (EPERM)"
	out=$("$NUCLEUS" stats --no-stream --json ck-$$)
	assert_contains "$(echo "$out" | tr -d ' \n')" '"denied_calls":1' "the denial counted after restore: [$out]"
	assert_eq "$(ckpt_in_cgroup "$cg" forks 20)" 11 "forking past --pids after restore (EAGAIN)"
	# the counter went on through all of that
	wait_for ckpt_counted ck-$$ $((last1 + 3)) || fail "the counter stopped after the limit checks"
	last2=$(ckpt_assert_sequence "$(ckpt_count ck-$$)" "later") || exit 1
	[ "$last2" -gt "$last1" ] || fail "the counter did not go on ($last1, then $last2)"
	pid=$(ckpt_pid ck-$$)
	assert_eq "$(ckpt_in_cgroup "$cg" alloc 256)" 137 "allocating past --memory after restore"
	kill -0 "$pid" 2>/dev/null && fail "the restored workload survived its cgroup's OOM kill"
	wait_for sh -c "'$NUCLEUS' ps -a | grep ck-$$ | grep -q 'OOM killed'" ||
		fail "ps -a does not show the OOM kill: [$("$NUCLEUS" ps -a | grep "ck-$$")]"
	"$NUCLEUS" rm ck-$$ >/dev/null 2>&1 || fail "rm"
	assert_eq "$(new_leftovers "$before")" "" "left behind after rm"
	rm -rf "${dir%/ckpt}"
}

# vm-tier
test_checkpoint_leave_running_restore_by_name() {
	local dir old_pid at_dump lines last out pid
	dir=$(mktemp -d)/ckpt
	ckpt_start ckl-$$
	if ! ckpt_criu_works; then
		ckpt_assert_host_refusal ckl-$$ "$dir"
		return 0
	fi
	old_pid=$(ckpt_pid ckl-$$)
	"$NUCLEUS" checkpoint ckl-$$ --output "$dir" --leave-running >/dev/null 2>&1 || fail "checkpoint --leave-running"
	kill -0 "$old_pid" 2>/dev/null || fail "the workload ended despite --leave-running"
	at_dump=$(ckpt_lines ckl-$$)
	wait_for ckpt_counted ckl-$$ $((at_dump + 3)) || fail "the original stopped counting"
	# its name is taken: a restore under it is refused, one under another works
	out=$("$NUCLEUS" restore --input "$dir" -d 2>&1)
	assert_eq "$?" 125 "restore under a name in use: [$out]"
	"$NUCLEUS" restore --input "$dir" --name ckr-$$ -d >/dev/null 2>&1 || fail "restore --name"
	rm_on_exit ckl-$$ ckr-$$
	wait_for ckpt_counted ckr-$$ 5 || fail "the restored copy does not count"
	last=$(ckpt_assert_sequence "$(ckpt_count ckr-$$)" "the restored copy") || exit 1
	lines=$(ckpt_count ckr-$$ | awk 'NR == 1 { n = 0 } $1 <= '"$at_dump"' { n++ } END { print n + 0 }')
	[ "$lines" -ge $((at_dump - 1)) ] || fail "the copy has $lines of the $at_dump numbers written before the dump"
	assert_ne "$(ckpt_pid ckr-$$)" "$old_pid" "the copy is another process"
	kill -0 "$old_pid" 2>/dev/null || fail "the original ended when its copy started"
	out=$("$NUCLEUS" ps)
	assert_contains "$(echo "$out" | grep "ckl-$$")" "Up" "ps: the original"
	assert_contains "$(echo "$out" | grep "ckr-$$")" "Up" "ps: the copy"
	pid=$(ckpt_pid ckr-$$)
	"$NUCLEUS" stop ckr-$$ >/dev/null 2>&1 || fail "stop the copy"
	kill -0 "$pid" 2>/dev/null && fail "the copy runs after stop"
	assert_contains "$("$NUCLEUS" ps -a | grep "ckr-$$")" "Exited" "ps -a: the stopped copy"
	kill -0 "$old_pid" 2>/dev/null || fail "stopping the copy stopped the original"
	"$NUCLEUS" rm -f ckl-$$ ckr-$$ >/dev/null 2>&1
	rm -rf "${dir%/ckpt}"
}

# A checkpoint directory's integrity file written again after an edit, as
# nucleus computes it (src/checkpoint/integrity.c): sha256 over
# config.json, manifest.json and images/*, in byte order of their paths,
# each as its path, a NUL, its size (8 bytes, big-endian) and its content.
ckpt_reseal() { # DIR
	local f size i hex
	hex=$(cd "$1" && { echo config.json; echo manifest.json; ls images | sed 's|^|images/|'; } | LC_ALL=C sort |
		while IFS= read -r f; do
			printf '%s\0' "$f"
			size=$(wc -c <"$f")
			for i in 56 48 40 32 24 16 8 0; do
				printf "\\x$(printf %02x $(( (size >> i) & 255 )))"
			done
			cat "$f"
		done | sha256sum | cut -d' ' -f1)
	echo "sha256:$hex" >"$1/integrity"
}

# A restore from DIR must be refused: 125, one line, nothing left behind.
ckpt_restore_refused() { # DIR NAME WHAT
	local before out st
	before=$(leftovers)
	out=$("$NUCLEUS" restore --input "$1" --name "$2" -d 2>&1)
	st=$?
	assert_eq "$st" 125 "status of restore ($3): [$out]"
	assert_eq "$(echo "$out" | wc -l)" 1 "one line ($3): [$out]"
	assert_eq "$(new_leftovers "$before")" "" "left behind by the refused restore ($3)"
	[ ! -e "$RUNTIME_DIR/.names/$2" ] || fail "a name was recorded ($3)"
	echo "$out"
}

# vm-tier
test_checkpoint_restore_refusals() {
	local dir t out
	dir=$(mktemp -d)
	ckpt_start ckx-$$
	if ! ckpt_criu_works; then
		ckpt_assert_host_refusal ckx-$$ "$dir/ckpt"
		rm -rf "$dir"
		return 0
	fi
	"$NUCLEUS" checkpoint ckx-$$ --output "$dir/ckpt" --leave-running >/dev/null 2>&1 || fail "checkpoint"
	"$NUCLEUS" rm -f ckx-$$ >/dev/null 2>&1
	# our own reseal matches what nucleus wrote, so each refusal below is
	# its edit's (the intact directory restores: the tests above)
	cp "$dir/ckpt/integrity" "$dir/integrity.orig"
	ckpt_reseal "$dir/ckpt"
	assert_eq "$(cat "$dir/ckpt/integrity")" "$(cat "$dir/integrity.orig")" "the integrity checksum recomputed"

	# one byte of a memory image changed
	cp -a "$dir/ckpt" "$dir/tampered"
	t=$(ls "$dir"/tampered/images/pages-*.img | head -n 1)
	[ -n "$t" ] || fail "no pages image"
	printf 'X' | dd of="$t" bs=1 seek=100 conv=notrunc 2>/dev/null
	out=$(ckpt_restore_refused "$dir/tampered" ckt-$$ "tampered image") || exit 1
	assert_contains "$out" "integrity" "tampered image: [$out]"

	# a manifest of another architecture, sealed again
	cp -a "$dir/ckpt" "$dir/arch"
	sed -i 's/"arch": "[^"]*"/"arch": "aarch64"/' "$dir/arch/manifest.json"
	assert_contains "$(cat "$dir/arch/manifest.json")" '"arch": "aarch64"' "the edit"
	ckpt_reseal "$dir/arch"
	out=$(ckpt_restore_refused "$dir/arch" cka-$$ "another architecture") || exit 1
	assert_contains "$out" "aarch64" "another architecture: [$out]"

	# made by another major version of nucleus, sealed again
	cp -a "$dir/ckpt" "$dir/version"
	sed -i 's/"nucleus_version": "[^"]*"/"nucleus_version": "99.0.0"/' "$dir/version/manifest.json"
	assert_contains "$(cat "$dir/version/manifest.json")" '"nucleus_version": "99.0.0"' "the edit"
	ckpt_reseal "$dir/version"
	out=$(ckpt_restore_refused "$dir/version" ckv-$$ "another version") || exit 1
	assert_contains "$out" "99.0.0" "another version: [$out]"

	# a configuration with --network bridge, sealed again: its veth and
	# address are not re-created, restore refuses it (as checkpoint does)
	cp -a "$dir/ckpt" "$dir/bridge"
	sed -i 's/"mode": "none"/"mode": "bridge"/' "$dir/bridge/config.json"
	assert_contains "$(cat "$dir/bridge/config.json")" '"mode": "bridge"' "the edit"
	ckpt_reseal "$dir/bridge"
	out=$(ckpt_restore_refused "$dir/bridge" ckb-$$ "bridge network") || exit 1
	assert_contains "$out" "bridge" "bridge network: [$out]"

	rm -rf "$dir"
}
