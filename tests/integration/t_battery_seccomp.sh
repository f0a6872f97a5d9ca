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
	"$NUCLEUS" run --audit --name "$n-a" --seccomp-profile "$p" -- "$PROBE" syscall unshare
	assert_eq "$?" 1 "unshare under the profile"
	assert_eq "$(bsc_event "$n-a" filter_sha256)" "$real" "audit: the hash of the compiled program"
	assert_eq "$(bsc_event "$n-a" profile_sha256)" "$pin" "audit: the profile's own SHA-256"
	key=$(bsc_event "$n-a" cache_key)
	entry=$(bsc_cache_dir)/$key
	[ -f "$entry" ] || fail "no cache entry $entry"

	# the exploit: one RET ALLOW, the file digest recomputed
	forged=$(bsc_forge "$entry" exploit)
	assert_ne "$forged" "$real" "the forged program differs"
	"$NUCLEUS" run --audit --name "$n-b" --seccomp-profile "$p" -- "$PROBE" syscall unshare
	assert_eq "$?" 1 "unshare still refused: the forged entry was not installed"
	assert_eq "$(bsc_event "$n-b" filter_sha256)" "$real" "audit: the program really installed"
	assert_eq "$(bsc_event "$n-b" cache)" recompiled "audit: recompiled"
	assert_contains "$(bsc_event "$n-b" cache_note)" "do not match its program digest" "audit: why"
	assert_eq "$("$NUCLEUS" run --seccomp-profile "$p" -- "$PROBE" syscall mount >/dev/null 2>&1; echo $?)" 1 \
		"mount refused; the entry was rewritten"

	# a forger who recomputes every digest: a pinned profile is compiled
	# anyway, and the entry that differs is replaced
	forged=$(bsc_forge "$entry" full)
	"$NUCLEUS" run --audit --name "$n-c" --seccomp-profile "$p" --seccomp-profile-sha256 "$pin" -- \
		"$PROBE" syscall unshare 2>"$p.err"
	assert_eq "$?" 1 "pinned: unshare still refused"
	assert_eq "$(bsc_event "$n-c" filter_sha256)" "$real" "pinned: audit shows the compiled program"
	assert_eq "$(bsc_event "$n-c" cache)" recompiled "pinned: recompiled"
	assert_contains "$(bsc_event "$n-c" cache_note)" "not what the profile compiles to" "pinned: why"
	assert_contains "$(cat "$p.err")" "not what the profile compiles to" "pinned: a warning on stderr"
	# ... and a pinned start with an honest entry says it checked it
	"$NUCLEUS" run --audit --name "$n-d" --seccomp-profile "$p" --seccomp-profile-sha256 "$pin" -- true
	assert_eq "$(bsc_event "$n-d" cache)" verified "pinned: the entry checked against a compile"

	# unpinned, the fully forged entry is used, and the audit says so:
	# filter_sha256 is the forged program's hash, not the profile's
	forged=$(bsc_forge "$entry" full)
	"$NUCLEUS" run --audit --name "$n-e" --seccomp-profile "$p" -- "$PROBE" syscall unshare >/dev/null 2>&1
	assert_eq "$(bsc_event "$n-e" filter_sha256)" "$forged" "audit: the hash of what the kernel got"
	assert_eq "$(bsc_event "$n-e" instructions)" 1 "audit: its length"
	rm -f "$entry" "$p" "$p.err"
}
