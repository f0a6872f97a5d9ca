# OCI/Docker seccomp profiles through real containers (--seccomp-profile),
# their pins and errors, and `nucleus seccomp generate --base`.

CONFIG=$(cd "$(dirname "$NUCLEUS")/../config" 2>/dev/null && pwd || echo /payload/config)
# Docker's default profile, unchanged: the shared copy, or the identical one
# kept with the fuzz seeds.
DOCKER=$SHARED_DATA/seccomp/docker-default.json
[ -f "$DOCKER" ] || DOCKER=$(cd "$(dirname "$NUCLEUS")/.." && pwd)/tests/fuzz/seeds/seccomp/docker-default.json

sha() { sha256sum "$1" | cut -d' ' -f1; }

# errno of a probe action under a profile
sc_errno() { # profile probe-args...
	local p=$1
	shift
	"$NUCLEUS" run --seccomp-profile "$p" -- "$PROBE" "$@" >/dev/null 2>&1
	echo $?
}

test_seccomp_docker_profile_runs_real_programs() {
	local out
	out=$("$NUCLEUS" run --seccomp-profile "$DOCKER" -- sh -c '
		echo sh-ok
		seq 1 5 | sort -r | head -1
		ls / | grep -q etc && echo ls-ok
		python3 -c "import os, socket, subprocess; print(\"py-ok\", subprocess.run([\"true\"]).returncode)"' 2>/dev/null)
	assert_contains "$out" "sh-ok" "sh"
	assert_contains "$out" "5" "coreutils pipeline"
	assert_contains "$out" "ls-ok" "ls"
	assert_contains "$out" "py-ok 0" "python3 with a subprocess"
}

# vm-tier
test_seccomp_docker_profile_enforces() {
	assert_eq "$(sc_errno "$DOCKER" syscall unshare)" 1 "unshare: EPERM"
	assert_eq "$(sc_errno "$DOCKER" syscall mount)" 1 "mount: EPERM"
	assert_eq "$(sc_errno "$DOCKER" syscall keyctl)" 1 "keyctl: EPERM"
	assert_eq "$(sc_errno "$DOCKER" syscall clone-newns)" 1 "clone(CLONE_NEWNS): EPERM"
	assert_eq "$(sc_errno "$DOCKER" syscall fork)" 0 "plain fork works"
	assert_eq "$(sc_errno "$DOCKER" syscall clone3)" 38 "clone3: ENOSYS without CAP_SYS_ADMIN"
	assert_eq "$(sc_errno "$DOCKER" socket 38 5)" 1 "socket(AF_ALG): EPERM"
	assert_eq "$(sc_errno "$DOCKER" socket 40 1)" 1 "socket(AF_VSOCK): EPERM"
	assert_eq "$(sc_errno "$DOCKER" socket 1 1)" 0 "socket(AF_UNIX) works"
}

# vm-tier
test_seccomp_profile_decides() {
	# a profile of our own that answers keyctl with EACCES (the built-in
	# answers EPERM): the probe sees the profile's answer
	local p
	p=$(mktemp)
	cat >"$p" <<'JSON'
{"defaultAction": "SCMP_ACT_ALLOW",
 "syscalls": [{"names": ["keyctl"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13}]}
JSON
	assert_eq "$(sc_errno "$p" syscall keyctl)" 13 "keyctl answered by the profile"
	assert_eq "$(probe -- "$PROBE" syscall keyctl >/dev/null 2>&1; echo $?)" 1 "the built-in answers EPERM"
	rm -f "$p"
}

# vm-tier
test_seccomp_unknown_names_one_warning() {
	local p err
	p=$(mktemp)
	cat >"$p" <<'JSON'
{"defaultAction": "SCMP_ACT_ERRNO",
 "syscalls": [{"names": ["no_such_call_1"], "action": "SCMP_ACT_ALLOW"},
              {"names": ["read", "write", "no_such_call_2", "execve", "exit_group", "brk", "mmap",
                         "arch_prctl", "set_tid_address", "close", "openat", "fstat", "newfstatat",
                         "mprotect", "munmap", "rseq", "set_robust_list", "prlimit64",
                         "getrandom", "access", "pread64", "exit"],
               "action": "SCMP_ACT_ALLOW"}]}
JSON
	err=$("$NUCLEUS" run --seccomp-profile "$p" -- "$PROBE" exit 0 2>&1 >/dev/null)
	assert_eq "$(echo "$err" | grep -c warning)" 1 "exactly one warning"
	assert_contains "$err" "2 syscall names unknown to this libseccomp, skipped: no_such_call_1, no_such_call_2" "lists them"
	rm -f "$p"
}

# vm-tier
test_seccomp_profile_pin() {
	local err zero
	zero=$(printf '%064d' 0)
	assert_status 0 "$NUCLEUS" run --seccomp-profile "$DOCKER" --seccomp-profile-sha256 "$(sha "$DOCKER")" -- true
	# upper case hex is the same pin
	assert_status 0 "$NUCLEUS" run --seccomp-profile "$DOCKER" \
		--seccomp-profile-sha256 "$(sha "$DOCKER" | tr a-f A-F)" -- true
	err=$("$NUCLEUS" run --seccomp-profile "$DOCKER" --seccomp-profile-sha256 "$zero" -- true 2>&1)
	assert_status 125 "$NUCLEUS" run --seccomp-profile "$DOCKER" --seccomp-profile-sha256 "$zero" -- true
	assert_contains "$err" "SHA-256 mismatch: expected $zero, actual $(sha "$DOCKER")" "both hashes"
	assert_eq "$(echo "$err" | wc -l)" 1 "one line"
	assert_status 125 "$NUCLEUS" run --seccomp-profile "$DOCKER" --seccomp-profile-sha256 abc -- true
	assert_status 125 "$NUCLEUS" run --seccomp-profile-sha256 "$(sha "$DOCKER")" -- true
	assert_eq "$(leftovers)" "" "nothing created"
}

# vm-tier
test_seccomp_profile_errors_name_the_json_path() {
	local p err
	p=$(mktemp)
	printf '{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW"}, {"names": ["write"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_ROUGHLY"}]}]}' >"$p"
	err=$("$NUCLEUS" run --seccomp-profile "$p" -- true 2>&1)
	assert_status 125 "$NUCLEUS" run --seccomp-profile "$p" -- true
	assert_contains "$err" "syscalls[1].args[0].op" "names the JSON path"
	assert_eq "$(echo "$err" | wc -l)" 1 "one line"
	printf '{"defaultAction": "SCMP_ACT_PERHAPS"}' >"$p"
	assert_contains "$("$NUCLEUS" run --seccomp-profile "$p" -- true 2>&1)" "defaultAction" "unknown action"
	printf '{"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_Z80"]}' >"$p"
	assert_contains "$("$NUCLEUS" run --seccomp-profile "$p" -- true 2>&1)" "architectures[0]" "unknown arch"
	printf '{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": "read", "action": "SCMP_ACT_ALLOW"}]}' >"$p"
	assert_contains "$("$NUCLEUS" run --seccomp-profile "$p" -- true 2>&1)" "syscalls[0].names" "bad type"
	printf '{"defaultAction":\n  "SCMP_ACT_ERRNO",,}' >"$p"
	err=$("$NUCLEUS" run --seccomp-profile "$p" -- true 2>&1)
	assert_contains "$err" "\`$p\`: 2:" "syntax error line"
	assert_status 125 "$NUCLEUS" run --seccomp-profile "$p" -- true
	assert_status 125 "$NUCLEUS" run --seccomp-profile /nonexistent.json -- true
	rm -f "$p"
	assert_eq "$(leftovers)" "" "nothing created"
}

# vm-tier
test_seccomp_profile_warm_start_is_cached() {
	local cache out
	cache=$(mktemp -d)
	out=$(NUCLEUS_CACHE_DIR=$cache NUCLEUS_LOG=debug "$NUCLEUS" run --seccomp-profile "$DOCKER" -- true 2>&1)
	assert_contains "$out" "seccomp filter ready (compiled)" "cold start compiles"
	out=$(NUCLEUS_CACHE_DIR=$cache NUCLEUS_LOG=debug "$NUCLEUS" run --seccomp-profile "$DOCKER" -- true 2>&1)
	assert_contains "$out" "seccomp filter ready (cached)" "warm start compiles nothing"
	rm -rf "$cache"
}

# vm-tier
test_seccomp_builtin_as_oci_profile() {
	local p
	p=$(mktemp)
	"$NUCLEUS" seccomp default -o "$p" || fail "seccomp default"
	cmp -s "$p" "$CONFIG/seccomp/default.json" || fail "config/seccomp/default.json is not the built-in profile"
	# the exported profile enforces what the built-in does
	assert_eq "$(sc_errno "$p" syscall clone-newns)" 1 "clone(CLONE_NEWNS)"
	assert_eq "$(sc_errno "$p" syscall fork)" 0 "fork"
	assert_eq "$(sc_errno "$p" syscall clone3)" 38 "clone3: ENOSYS"
	assert_eq "$(sc_errno "$p" socket 38 5)" 1 "AF_ALG"
	assert_eq "$(sc_errno "$p" syscall io_uring_setup)" 1 "io_uring"
	rm -f "$p"
}

# vm-tier
test_seccomp_attach_gets_the_same_profile() {
	local p n=scp-$$
	p=$(mktemp)
	printf '{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["keyctl"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13}]}' >"$p"
	"$NUCLEUS" run -d --name "$n" --seccomp-profile "$p" -- "$PROBE" sleep 30 >/dev/null || fail "start"
	rm_on_exit "$n"
	"$NUCLEUS" attach "$n" -- "$PROBE" syscall keyctl
	assert_eq "$?" 13 "attach runs under the container's profile"
	# the file changed: attach refuses rather than install another filter
	printf '{"defaultAction": "SCMP_ACT_ALLOW"}' >"$p"
	assert_contains "$("$NUCLEUS" attach "$n" -- true 2>&1)" "changed since" "changed profile refused"
	rm -f "$p"
}

test_seccomp_generate_base_keeps_rules_and_denials() {
	local log prof err
	log=$(mktemp) prof=$(mktemp)
	# the trace sees fork (clone), unshare and getpid
	"$NUCLEUS" run --seccomp-mode trace --seccomp-log "$log" -- sh -c "
		$PROBE syscall fork; $PROBE syscall unshare; $PROBE syscall getpid; true" 2>/dev/null || fail "trace"
	grep -q '"name":"unshare"' "$log" || grep -q '"name": "unshare"' "$log" || fail "unshare not traced: $(cat "$log")"
	err=$("$NUCLEUS" seccomp generate --base "$DOCKER" "$log" -o "$prof" 2>&1) || fail "generate: $err"
	assert_contains "$err" "denied by the base profile" "warns about what the base denies"
	assert_contains "$err" "unshare" "names unshare"
	python3 - "$prof" <<'PY' || fail "profile: $(cat "$prof")"
import json, sys
p = json.load(open(sys.argv[1]))
rules = p["syscalls"]
allowed = set(rules[0]["names"])
assert "unshare" not in allowed, "base denies unshare"
assert "getpid" in allowed and "execve" in allowed
clone = [r for r in rules if r["names"] == ["clone"]]
assert clone and clone[0]["args"][0]["op"] == "SCMP_CMP_MASKED_EQ", "clone keeps its argument rule"
assert "clone" not in allowed
PY
	# it loads and enforces: fork works, clone with namespace flags does not
	assert_eq "$(sc_errno "$prof" syscall fork)" 0 "fork"
	assert_eq "$(sc_errno "$prof" syscall clone-newns)" 1 "clone(CLONE_NEWNS)"
	assert_status 125 "$NUCLEUS" seccomp generate --base /nonexistent.json "$log"
	rm -f "$log" "$prof"
}
