# nucleus checkpoint and restore where CRIU cannot work (this host's 6.18
# kernel: criu 3.17's `criu check` fails on its vDSO): one line with
# CRIU's own reason, exit 125, nothing created, the container untouched;
# nucleus info says the same. (The VM tier, where CRIU works, has the
# checkpoint and restore tests: t_checkpoint.sh.)

# CRIU's last error line of `criu check`, without its "Error (file:line): ".
criu_check_reason() {
	criu check 2>&1 | grep '^Error (' | tail -n 1 | sed 's/^Error ([^)]*): //'
}

test_checkpoint_refused_where_criu_check_fails() {
	local why before out st dir name=ckpt-host-$$
	command -v criu >/dev/null || fail "criu is not installed (tools/deps installs it)"
	criu check >/dev/null 2>&1 && fail "criu check passes on this host: this test is for a host where it fails"
	why=$(criu_check_reason)
	[ -n "$why" ] || fail "criu check gave no error line"
	rm_on_exit "$name"
	"$NUCLEUS" run -d --name "$name" -- "$PROBE" sleep 30 >/dev/null || fail "run -d failed"
	dir=$(mktemp -u /tmp/nucleus-ckpt.XXXXXX)
	before=$(leftovers)
	out=$("$NUCLEUS" checkpoint "$name" --output "$dir" 2>&1)
	st=$?
	assert_eq "$st" 125 "checkpoint status [$out]"
	assert_eq "$(echo "$out" | wc -l)" 1 "one line [$out]"
	assert_contains "$out" "nucleus: CRIU cannot work on this host: criu check failed: " "the refusal"
	assert_contains "$out" "$why" "CRIU's reason"
	[ ! -e "$dir" ] || fail "checkpoint created $dir"
	[ ! -e "$dir.criu-dump.log" ] || fail "checkpoint left $dir.criu-dump.log"
	assert_eq "$(new_leftovers "$before")" "" "left behind by checkpoint"
	# the container was not touched: still running, still its own
	assert_contains "$("$NUCLEUS" ps)" "$name" "still running after the refusal"
	assert_eq "$("$NUCLEUS" inspect "$name" | grep -c '"checkpointed": true')" 0 "not recorded as checkpointed"

	# --leave-running: the same refusal
	out=$("$NUCLEUS" checkpoint --leave-running "$name" -o "$dir" 2>&1)
	assert_eq "$?" 125 "checkpoint --leave-running status [$out]"
	assert_contains "$out" "criu check failed: " "the refusal with --leave-running"
	[ ! -e "$dir" ] || fail "checkpoint --leave-running created $dir"
	"$NUCLEUS" rm -f "$name" >/dev/null
}

test_restore_refused_where_criu_check_fails() {
	local why before out st dir
	criu check >/dev/null 2>&1 && fail "criu check passes on this host: this test is for a host where it fails"
	why=$(criu_check_reason)
	# a directory that is no checkpoint at all: CRIU's refusal comes first
	dir=$(mktemp -d /tmp/nucleus-ckpt.XXXXXX)
	before=$(leftovers)
	out=$("$NUCLEUS" restore --input "$dir" -d 2>&1)
	st=$?
	rmdir "$dir"
	assert_eq "$st" 125 "restore status [$out]"
	assert_eq "$(echo "$out" | wc -l)" 1 "one line [$out]"
	assert_contains "$out" "nucleus: CRIU cannot work on this host: criu check failed: $why" "the refusal"
	assert_eq "$(new_leftovers "$before")" "" "left behind by restore"
}

test_info_criu_line() {
	local out why
	why=$(criu_check_reason)
	out=$("$NUCLEUS" info | grep '^CRIU:')
	assert_contains "$out" "$(command -v criu) $(criu --version | sed -n 's/^Version: //p')" "path and version"
	if criu check >/dev/null 2>&1; then
		assert_contains "$out" "(criu check: ok)" "criu check passes"
	else
		assert_contains "$out" "(criu check failed: $why" "criu check's reason"
	fi
	assert_eq "$("$NUCLEUS" info --json | /usr/bin/python3 -c 'import json,sys; c=json.load(sys.stdin)["criu"]; print(c["works"], c["version"])')" \
		"$(criu check >/dev/null 2>&1 && echo True || echo False) $(criu --version | sed -n 's/^Version: //p')" "info --json"
}
