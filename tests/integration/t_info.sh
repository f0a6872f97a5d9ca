# nucleus info and the top-level command line.

test_info_text() {
	local out
	out=$("$NUCLEUS" info) || fail "nucleus info failed"
	assert_contains "$out" "Cgroups:" "cgroups"
	assert_contains "$out" "Landlock:" "landlock"
	assert_contains "$out" "cgroup_skb" "bpf"
	assert_contains "$out" "Lockdown:" "lockdown"
}

test_info_json_matches_probes() {
	local j layout abi
	j=$("$NUCLEUS" info --json) || fail "info --json failed"
	layout=$(echo "$j" | python3 -c 'import json,sys; print(json.load(sys.stdin)["cgroups"]["layout"])')
	# what the host really has, from mountinfo
	if grep -q ' - cgroup2 ' /proc/self/mountinfo && grep -q ' - cgroup ' /proc/self/mountinfo; then
		assert_eq "$layout" hybrid "layout"
	elif grep -q ' - cgroup2 ' /proc/self/mountinfo; then
		assert_eq "$layout" unified "layout"
	fi
	abi=$(echo "$j" | python3 -c 'import json,sys; print(json.load(sys.stdin)["landlock"]["abi"])')
	[ "$abi" -ge 1 ] || fail "Landlock ABI $abi"
	assert_eq "$(echo "$j" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["bpf"]["programs"]["cgroup_skb"]["loads"], d["bpf"]["ringbuf"])')" "True True" "cgroup_skb and ringbuf load"
	assert_eq "$(echo "$j" | python3 -c 'import json,sys; print(" ".join(json.load(sys.stdin)["namespaces"]))')" \
		"pid mount net uts ipc cgroup user time" "namespaces"
	assert_contains "$(echo "$j" | python3 -c 'import json,sys; print(json.load(sys.stdin)["seccomp"]["actions"])')" "kill_process" "seccomp actions"
}

test_info_lsm_probe_is_real() {
	# The LSM program type either loads, or the audit source says why not.
	local j
	j=$("$NUCLEUS" info --json)
	echo "$j" | python3 -c '
import json, sys
d = json.load(sys.stdin)
lsm = d["bpf"]["programs"]["lsm"]
src = d["audit"]["source"]
assert (src == "lsm") == (lsm["loads"] and "bpf" in (d["lsm"] or "")), (lsm, src)
assert lsm["loads"] or lsm["error"], lsm
' || fail "lsm probe and audit source disagree"
}

test_help_and_version() {
	assert_contains "$("$NUCLEUS" --help)" "Usage: nucleus" "--help"
	assert_contains "$("$NUCLEUS" run --help)" "--context-mode" "run --help"
	assert_contains "$("$NUCLEUS" --version)" "nucleus version" "--version"
	assert_status 125 "$NUCLEUS" no-such-command
	assert_status 125 "$NUCLEUS" info --bogus
}
