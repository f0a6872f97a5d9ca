# The seccomp part of the escape and fault battery: what the audit says is
# what the kernel runs, generated profiles are never weaker than the
# built-in default, README's workflow runs as written, and a trace holds
# the workload's calls only. Every test is named test_battery_seccomp_*.

BSC_ROOT=$(cd "$(dirname "$NUCLEUS")/.." 2>/dev/null && pwd)
BSC_DOCKER=$SHARED_DATA/seccomp/docker-default.json
[ -f "$BSC_DOCKER" ] || BSC_DOCKER=$BSC_ROOT/config/seccomp/docker-default.json

# The cache directory root uses (sc_cache_dir).
bsc_cache_dir() {
	if [ -n "${NUCLEUS_CACHE_DIR:-}" ]; then
		echo "$NUCLEUS_CACHE_DIR/seccomp"
	else
		echo /var/cache/nucleus/seccomp
	fi
}

# A field of a container's seccomp audit event. NAME FIELD
bsc_event() {
	"$NUCLEUS" audit tail --json --type seccomp "$1" |
		python3 -c 'import json, sys; print(json.loads(sys.stdin.readline())["details"].get(sys.argv[1], ""))' "$2"
}

# Rewrite a cache entry the way the exploit did: one instruction, RET
# ALLOW, and the file digest recomputed; with "full" the program digest
# too, as a forger who knows the format would. Prints the forged program's
# SHA-256. ENTRY exploit|full
bsc_forge() {
	python3 - "$1" "$2" <<-'PY'
		import hashlib, struct, sys
		path, mode = sys.argv[1], sys.argv[2]
		b = bytearray(open(path, "rb").read())
		assert b[:8] == b"NUCSCMP4", b[:8]
		n = struct.unpack_from("<I", b, 76)[0]
		names = bytes(b[184 + 8 * n:])
		ins = struct.pack("<HBBI", 0x06, 0, 0, 0x7FFF0000)   # BPF_RET|BPF_K SECCOMP_RET_ALLOW
		b = b[:184] + ins + names
		struct.pack_into("<I", b, 76, 1)
		if mode == "full":
		    b[120:152] = hashlib.sha256(ins).digest()
		b[152:184] = hashlib.sha256(bytes(b[:152]) + bytes(b[184:])).digest()
		with open(path, "r+b") as f:      # in place: owner and mode stay
		    f.truncate(0)
		    f.write(b)
		print(hashlib.sha256(ins).hexdigest())
	PY
}

# Start a detached container that runs a probe action and stays up (its
# audit file lives as long as it does); print the probe's status.
# NAME RUN-FLAGS... -- PROBE-ARGS...
bsc_run() {
	local n=$1 flags=()
	shift
	while [ "$1" != -- ]; do flags+=("$1"); shift; done
	shift
	"$NUCLEUS" run -d --audit --name "$n" "${flags[@]}" -- sh -c \
		"$PROBE $*; echo rc=\$?; exec sleep 60" >/dev/null 2>&1 || fail "start $n"
	rm_on_exit "$n"
	wait_for sh -c "'$NUCLEUS' logs '$n' 2>/dev/null | grep -q rc=" || fail "$n: no status in its log"
	"$NUCLEUS" logs "$n" 2>/dev/null | sed -n 's/^rc=//p'
}

# A profile of this test's own (its cache key is no one else's): allow
# everything but unshare and mount.
bsc_profile() {
	local p
	p=$(mktemp /tmp/bsc-profile-XXXXXX.json)
	printf '{"defaultAction": "SCMP_ACT_ALLOW", "comment": "battery %s %s %s",\n "syscalls": [{"names": ["unshare", "mount"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]}\n' \
		"$$" "$RANDOM" "$(date +%s%N)" >"$p"
	echo "$p"
}

test_battery_seccomp_forged_cache_entry_not_installed() {
	local p real key entry forged n=bsc-$$ pin
	p=$(bsc_profile)
	pin=$(sha256sum "$p" | cut -d' ' -f1)
	real=$("$NUCLEUS" seccomp hash "$p" | cut -d' ' -f1)
	[ ${#real} = 64 ] || fail "seccomp hash: [$real]"
	# a first start compiles and stores the entry
	assert_eq "$(bsc_run "$n-a" --seccomp-profile "$p" -- syscall unshare)" 1 "unshare under the profile"
	assert_eq "$(bsc_event "$n-a" filter_sha256)" "$real" "audit: the hash of the compiled program"
	assert_eq "$(bsc_event "$n-a" profile_sha256)" "$pin" "audit: the profile's own SHA-256"
	key=$(bsc_event "$n-a" cache_key)
	entry=$(bsc_cache_dir)/$key
	[ -f "$entry" ] || fail "no cache entry $entry"

	# the exploit: one RET ALLOW, the file digest recomputed
	forged=$(bsc_forge "$entry" exploit)
	assert_ne "$forged" "$real" "the forged program differs"
	assert_eq "$(bsc_run "$n-b" --seccomp-profile "$p" -- syscall unshare)" 1 \
		"unshare still refused: the forged entry was not installed"
	assert_eq "$(bsc_event "$n-b" filter_sha256)" "$real" "audit: the program really installed"
	assert_eq "$(bsc_event "$n-b" cache)" recompiled "audit: recompiled"
	assert_contains "$(bsc_event "$n-b" cache_note)" "do not match its program digest" "audit: why"
	assert_eq "$(bsc_run "$n-b2" --seccomp-profile "$p" -- syscall mount)" 1 "mount refused; the entry was rewritten"
	assert_eq "$(bsc_event "$n-b2" cache)" hit "the rewritten entry is used"

	# a forger who recomputes every digest: a pinned profile is compiled
	# anyway, and the entry that differs is replaced
	forged=$(bsc_forge "$entry" full)
	assert_contains "$("$NUCLEUS" run --seccomp-profile "$p" --seccomp-profile-sha256 "$pin" -- true 2>&1)" \
		"not what the profile compiles to" "pinned: a warning on stderr"
	forged=$(bsc_forge "$entry" full)
	assert_eq "$(bsc_run "$n-c" --seccomp-profile "$p" --seccomp-profile-sha256 "$pin" -- syscall unshare)" 1 \
		"pinned: unshare still refused"
	assert_eq "$(bsc_event "$n-c" filter_sha256)" "$real" "pinned: audit shows the compiled program"
	assert_eq "$(bsc_event "$n-c" cache)" recompiled "pinned: recompiled"
	assert_contains "$(bsc_event "$n-c" cache_note)" "not what the profile compiles to" "pinned: why"
	# ... and a pinned start with an honest entry says it checked it
	assert_eq "$(bsc_run "$n-d" --seccomp-profile "$p" --seccomp-profile-sha256 "$pin" -- syscall getpid)" 0 "pinned"
	assert_eq "$(bsc_event "$n-d" cache)" verified "pinned: the entry checked against a compile"

	# unpinned, the fully forged entry is used, and the audit says so:
	# filter_sha256 is the forged program's hash, not the profile's
	forged=$(bsc_forge "$entry" full)
	assert_eq "$(bsc_run "$n-e" --seccomp-profile "$p" -- syscall unshare)" 0 "the forged filter, unpinned"
	assert_eq "$(bsc_event "$n-e" filter_sha256)" "$forged" "audit: the hash of what the kernel got"
	assert_eq "$(bsc_event "$n-e" instructions)" 1 "audit: its length"
	rm -f "$entry" "$p"
}

# A trace of a workload that forks (clone), then the generated profile:
# clone stays under the default's flag rule, so no user namespace.
bsc_generated_errno() { # PROFILE PROBE-ARGS...
	local p=$1
	shift
	"$NUCLEUS" run --seccomp-profile "$p" -- "$PROBE" "$@" >/dev/null 2>&1
	echo $?
}

test_battery_seccomp_generate_never_weaker_than_default() {
	local log prof err
	log=$(mktemp) prof=$(mktemp)
	"$NUCLEUS" run --seccomp-mode trace --seccomp-log "$log" -- sh -c \
		"$PROBE syscall fork; $PROBE syscall getpid; $PROBE syscall unshare; true & wait" 2>/dev/null ||
		fail "traced run"
	grep -q '"name": "clone"' "$log" || fail "clone not recorded: $(cat "$log")"
	# without --base
	err=$("$NUCLEUS" seccomp generate "$log" -o "$prof" 2>&1) || fail "generate: $err"
	assert_eq "$(bsc_generated_errno "$prof" syscall clone-newuser)" 1 "clone(CLONE_NEWUSER) refused"
	assert_eq "$(bsc_generated_errno "$prof" syscall fork)" 0 "fork works"
	assert_eq "$(bsc_generated_errno "$prof" syscall unshare)" 1 "unshare (recorded) stays refused"
	assert_contains "$err" "denied by the built-in default profile, left denied" "says what stays denied"
	assert_contains "$err" ": unshare" "names unshare"
	# with Docker's profile as the base
	err=$("$NUCLEUS" seccomp generate --base "$BSC_DOCKER" "$log" -o "$prof" 2>&1) || fail "generate --base: $err"
	assert_eq "$(bsc_generated_errno "$prof" syscall clone-newuser)" 1 "--base: clone(CLONE_NEWUSER) refused"
	assert_eq "$(bsc_generated_errno "$prof" syscall fork)" 0 "--base: fork works"
	assert_eq "$(bsc_generated_errno "$prof" syscall unshare)" 1 "--base: unshare refused"
	assert_contains "$err" "denied by the base profile and the built-in default" "--base: says so"
	# asked for by name: allowed, and said so
	err=$("$NUCLEUS" seccomp generate --allow-syscall setns "$log" -o "$prof" 2>&1) || fail "generate: $err"
	assert_contains "$err" "1 syscall allowed beyond the built-in default profile (--allow-syscall): setns" \
		"--allow-syscall reported"
	# setns(0, 0): stdin is no namespace, so the kernel answers EINVAL
	assert_eq "$(bsc_generated_errno "$prof" syscall setns)" 22 "setns reaches the kernel"
	assert_eq "$(bsc_generated_errno "$prof" syscall clone-newuser)" 1 "clone still under its rule"
	assert_status 125 "$NUCLEUS" seccomp generate --allow-syscall no_such_call "$log"
	rm -f "$log" "$prof"
}

# README's "Seccomp profiles from what a workload really does", as
# written: every `nucleus` and `sha256sum` line of its first sh block, in
# a directory holding app.py and the checkout's config/.
test_battery_seccomp_readme_workflow_runs() {
	local readme=$BSC_ROOT/README.md dir block base out= line hash=
	[ -f "$readme" ] || fail "no README.md at $BSC_ROOT"
	block=$(awk '/^## Seccomp profiles from what a workload really does/ { s = 1; next }
		s && /^```sh/ { b = 1; next } b && /^```/ { exit } b' "$readme")
	[ -n "$block" ] || fail "README: no sh block in the seccomp workflow section"
	base=$(echo "$block" | sed -n 's/.*--base \([^ ]*\).*/\1/p')
	[ -n "$base" ] || fail "README: step 2 names no --base profile"
	[ -f "$BSC_ROOT/$base" ] || fail "README names $base, which is not in the checkout"
	dir=$(mktemp -d)
	ln -s "$BSC_ROOT/config" "$dir/config"
	cat >"$dir/app.py" <<-'EOF'
		import json, os, tempfile, threading
		with tempfile.TemporaryFile(dir="/tmp") as f:
		    f.write(json.dumps({"pid": os.getpid()}).encode()); f.seek(0); json.loads(f.read())
		t = threading.Thread(target=lambda: None); t.start(); t.join()
		print("app ok")
	EOF
	while IFS= read -r line; do
		case "$line" in
		sha256sum*)
			hash=$(cd "$dir" && eval "$line" | cut -d' ' -f1) || fail "README: $line"
			;;
		nucleus*)
			line=${line//<hash>/$hash}
			out=$(cd "$dir" && eval "\"\$NUCLEUS\" ${line#nucleus }" 2>&1) || fail "README: $line: $out"
			;;
		esac
	done <<<"$block"
	[ -n "$hash" ] || fail "README: no sha256sum step"
	assert_contains "$out" "app ok" "the enforced run of app.py"
	assert_eq "$(cd "$dir" && "$NUCLEUS" seccomp generate trace.ndjson --base "$base" 2>/dev/null |
		python3 -c 'import json, sys; print(json.load(sys.stdin)["defaultAction"])')" SCMP_ACT_ERRNO "generated"
	rm -rf "$dir"
}

# `nucleus attach` joins the container's cgroup before it sets up its
# restrictions (setns, capset, prctl, landlock, seccomp ...): none of that
# is the workload's, so none of it is in a trace; what the attached
# command itself does is.
test_battery_seccomp_trace_ignores_attach_setup() {
	local n=bsct-$$ log pid names sc
	log=$(mktemp)
	# the container's own workload makes no calls while the trace runs
	"$NUCLEUS" run -d --name "$n" -- "$PROBE" sleep 60 >/dev/null || fail "start"
	rm_on_exit "$n"
	"$NUCLEUS" seccomp trace -o "$log" "$n" 2>"$log.err" &
	pid=$!
	wait_for grep -q "tracing" "$log.err" || fail "the trace did not start: $(cat "$log.err")"
	"$NUCLEUS" attach "$n" -- true || fail "attach"
	"$NUCLEUS" attach "$n" -- "$PROBE" syscall getpid || fail "attach probe"
	kill -INT $pid
	wait $pid
	names=$(python3 -c '
import json, sys
print(" ".join(sorted(json.loads(l)["name"] for l in open(sys.argv[1]))))' "$log")
	assert_contains " $names " " exit_group " "the attached commands' own calls"
	assert_contains " $names " " getpid " "the probe's getpid"
	for sc in setns seccomp landlock_create_ruleset landlock_add_rule landlock_restrict_self capset \
		prctl setsid pidfd_open close_range setresuid setgroups; do
		assert_not_contains " $names " " $sc " "attach's own $sc"
	done
	rm -f "$log" "$log.err"
}
