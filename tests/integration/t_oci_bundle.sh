# nucleus bundle (src/oci): the OCI bundle of a run's flags. Refusals
# leave nothing; bundles pass the runtime-spec's JSON schema (and the
# schema's own bad examples fail it); the output is stable; and the bundle
# runs under runc and under runsc (gVisor, ptrace platform) with the
# configured identity, /context and a secret.

# (tests/oci: the schema checker and the golden file; the VM tier's payload,
# which sources every t_*.sh, has none and runs none of these tests)
OCI_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/../oci" 2>/dev/null && pwd)
OCI_SCHEMA=${SHARED_DATA:-}/oci-runtime-spec-1.3.0

# A scratch directory for the test, removed when it ends, passed or failed.
oci_tmp() {
	OCI_TMP=$(mktemp -d /tmp/nucleus-oci-test.XXXXXX) || fail "mktemp"
	trap 'oci_cleanup' EXIT
}

# runc's and runsc's state for the containers the test started, their
# cgroups with them, then the scratch directory.
OCI_RUNC_IDS="" OCI_RUNSC_IDS=""
oci_cleanup() {
	local id
	for id in $OCI_RUNC_IDS; do
		runc --root "$OCI_TMP/runc" delete -f "$id" >/dev/null 2>&1
	done
	for id in $OCI_RUNSC_IDS; do
		runsc --root "$OCI_TMP/runsc" delete -force "$id" >/dev/null 2>&1
	done
	rm -rf "$OCI_TMP"
}

# bundle FLAGS... must be refused: 125, one line, no DIR. Prints the line.
bundle_refused() {
	local out st dir=$OCI_TMP/refused
	out=$("$NUCLEUS" bundle "$@" 2>&1)
	st=$?
	assert_eq "$st" 125 "status of bundle $*: [$out]"
	assert_eq "$(echo "$out" | wc -l)" 1 "one line for bundle $*: [$out]"
	[ ! -e "$dir" ] || fail "bundle $* left $dir"
	echo "$out"
}

oci_secret() { # FILE CONTENT
	printf '%s' "$2" >"$1"
	chmod 0600 "$1"
}

test_bundle_refusals() {
	local out d
	oci_tmp
	d=$OCI_TMP/refused
	out=$(bundle_refused -- /bin/true) || exit 1
	assert_contains "$out" "-o DIR is required" "no -o"
	out=$(bundle_refused -o "$d" --memory lots -- /bin/true) || exit 1
	assert_contains "$out" "--memory" "a bad flag"
	out=$(bundle_refused -o "$d" --no-such-flag -- /bin/true) || exit 1
	assert_contains "$out" "unknown flag" "an unknown flag"
	out=$(bundle_refused -o "$d" -- ) || exit 1
	assert_contains "$out" "no command" "no command"
	out=$(bundle_refused -o "$d" --seccomp-mode trace --seccomp-log "$OCI_TMP/t.ndjson" -- /bin/true) || exit 1
	assert_contains "$out" "--seccomp-mode trace" "trace mode"
	[ ! -e "$OCI_TMP/t.ndjson" ] || fail "trace mode left its log"
	printf '[[rules]]\npath = "/usr"\naccess = ["read"]\n' >"$OCI_TMP/ll.toml"
	out=$(bundle_refused -o "$d" --landlock-policy "$OCI_TMP/ll.toml" -- /bin/true) || exit 1
	assert_contains "$out" "Landlock" "a Landlock policy"
	mkdir -p "$OCI_TMP/vol"
	out=$(bundle_refused -o "$d" -v "$OCI_TMP/vol:/data:U" -- /bin/true) || exit 1
	assert_contains "$out" ":U" "a :U volume"
	out=$(bundle_refused -o "$d" --secret "$OCI_TMP/missing:/run/secrets/x" -- /bin/true) || exit 1
	assert_contains "$out" "missing" "a missing secret"
	# an existing directory that is not empty: refused, untouched
	mkdir "$d.full" && echo keep >"$d.full/mine"
	out=$("$NUCLEUS" bundle -o "$d.full" -- /bin/true 2>&1)
	assert_eq "$?" 125 "status of a non-empty DIR: [$out]"
	assert_eq "$(echo "$out" | wc -l)" 1 "one line for a non-empty DIR"
	assert_contains "$out" "not empty" "a non-empty DIR"
	assert_eq "$(ls -A "$d.full")" "mine" "the non-empty DIR's content"
	# -e -o=x: a variable named -o, not the output
	out=$("$NUCLEUS" bundle -e -o=x -o "$d.env" -- /bin/true 2>&1) || fail "bundle -e -o=x: [$out]"
	[ -f "$d.env/config.json" ] || fail "no config.json in $d.env"
	grep -q '"-o=x"' "$d.env/config.json" || fail "-e -o=x did not set the variable -o"
}

# Bundles of several flag sets pass the schema; the schema's good examples
# pass it and each bad one fails; a bundle made invalid fails it.
test_bundle_schema() {
	local py=/usr/bin/python3 i=0 files="" out
	oci_tmp
	[ -d "$OCI_SCHEMA/schema" ] || fail "no runtime-spec schema at $OCI_SCHEMA"
	"$py" -c 'import jsonschema' 2>/dev/null || fail "python3-jsonschema is not installed (make deps)"
	mkdir -p "$OCI_TMP/ctx" "$OCI_TMP/vol"
	oci_secret "$OCI_TMP/sec" s3cret
	while read -r flags; do
		i=$((i + 1))
		# shellcheck disable=SC2086 # the flag sets are word lists
		out=$("$NUCLEUS" bundle $flags -o "$OCI_TMP/b$i" -- /bin/sh -c 'echo hi' 2>&1) ||
			fail "bundle $flags: [$out]"
		files="$files $OCI_TMP/b$i/config.json"
	done <<-EOF2
		--name plain
		--context $OCI_TMP/ctx --context-mode bind --user 1234:1234 --additional-group 5
		--context $OCI_TMP/ctx --secret $OCI_TMP/sec:/etc/app/token --memory 256M --cpus 0.5 --pids 64
		-v $OCI_TMP/vol:/data:ro --tmpfs /scratch:size=8m,mode=0700 --network host --allow-host-network
		--userns --time-namespace -t
		--runtime gvisor --name sandboxed
		--network bridge --add-host db:192.0.2.7 --dns 192.0.2.53
		--egress-allow 192.0.2.0/24 --seccomp-log-denied
	EOF2
	out=$("$py" "$OCI_DIR/schema_check.py" "$OCI_SCHEMA/schema" $files "$OCI_DIR"/golden/*.json 2>&1) ||
		fail "bundles against the schema: $out"
	out=$("$py" "$OCI_DIR/schema_check.py" --examples "$OCI_SCHEMA/schema" "$OCI_SCHEMA/test/config" 2>&1) ||
		fail "the schema's examples: $out"
	assert_contains "$out" "ok   bad  linux-rdma.json" "the bad examples are checked"
	# the check is not vacuous: a wrong type in a bundle fails it
	sed 's/"readonly": true/"readonly": "yes"/' "$OCI_TMP/b1/config.json" >"$OCI_TMP/broken.json"
	out=$("$py" "$OCI_DIR/schema_check.py" "$OCI_SCHEMA/schema" "$OCI_TMP/broken.json" 2>&1) &&
		fail "a broken bundle passed the schema: $out"
	assert_contains "$out" "root/readonly" "the broken field named"
}

# The same flags and name give the same config.json, but for what the
# random id decides (the id, the cgroup path, the configuration's hash);
# the unit test holds a fixed configuration's spec against a golden file.
test_bundle_stable() {
	local a b
	oci_tmp
	mkdir -p "$OCI_TMP/ctx" && echo hello >"$OCI_TMP/ctx/f"
	for d in a b; do
		"$NUCLEUS" bundle --name stable --context "$OCI_TMP/ctx" --memory 64M -o "$OCI_TMP/$d" -- /bin/true \
			>/dev/null || fail "bundle $d"
	done
	a=$(grep -v -e '"org.nucleus.id"' -e '"org.nucleus.config-sha256"' -e '"cgroupsPath"' "$OCI_TMP/a/config.json" |
		sed "s|$OCI_TMP/a/|DIR/|")
	b=$(grep -v -e '"org.nucleus.id"' -e '"org.nucleus.config-sha256"' -e '"cgroupsPath"' "$OCI_TMP/b/config.json" |
		sed "s|$OCI_TMP/b/|DIR/|")
	assert_contains "$a" '"source": "DIR/context"' "the context's copy"
	assert_eq "$a" "$b" "two bundles of the same flags"
	assert_ne "$(grep '"org.nucleus.id"' "$OCI_TMP/a/config.json")" \
		"$(grep '"org.nucleus.id"' "$OCI_TMP/b/config.json")" "the ids"
	assert_eq "$(diff -r --no-dereference "$OCI_TMP/a/rootfs" "$OCI_TMP/b/rootfs" && echo same)" same "the staged rootfs"
	assert_eq "$(stat -c %a "$OCI_TMP/a")" 700 "the bundle's mode"
}

# The bundle of: a context, a secret, a user; the workload prints what it is.
oci_bundle_workload() { # DIR [FLAGS...]
	local dir=$1
	shift
	mkdir -p "$OCI_TMP/ctx" && echo context-ok >"$OCI_TMP/ctx/f"
	oci_secret "$OCI_TMP/sec" s3cret
	"$NUCLEUS" bundle --context "$OCI_TMP/ctx" --secret "$OCI_TMP/sec:/run/secrets/tok" \
		--user 1234:1234 --additional-group 5 "$@" -o "$dir" -- \
		/bin/sh -c 'echo "ids=$(id -u):$(id -g):$(id -G)"; cat /context/f; cat /run/secrets/tok; echo;
			    touch /usr/x 2>/dev/null || echo ro-usr; touch /tmp/x && echo rw-tmp;
			    unshare -U true 2>/dev/null && echo unshare-ok || echo unshare-denied' >/dev/null ||
		fail "bundle $*"
}

oci_expect() { # OUTPUT RUNTIME
	assert_contains "$1" "ids=1234:1234:1234 5" "$2: the configured uid, gid and groups"
	assert_contains "$1" "context-ok" "$2: /context"
	assert_contains "$1" "s3cret" "$2: the secret"
	assert_contains "$1" "ro-usr" "$2: /usr read-only"
	assert_contains "$1" "rw-tmp" "$2: /tmp writable"
	# the built-in seccomp profile: no namespaces (the control below shows
	# the same call works without it)
	assert_contains "$1" "unshare-denied" "$2: unshare refused by the profile"
}

test_bundle_runs_under_runc() {
	local out id=nucleus-oci-test-$$
	oci_tmp
	command -v runc >/dev/null || fail "runc is not installed (make deps)"
	oci_bundle_workload "$OCI_TMP/b"
	OCI_RUNC_IDS=$id
	out=$(runc --root "$OCI_TMP/runc" run --bundle "$OCI_TMP/b" "$id" 2>&1 </dev/null | cat)
	oci_expect "$out" runc
	runc --root "$OCI_TMP/runc" delete -f "$id" >/dev/null 2>&1
	# the control: the same bundle without linux.seccomp may unshare
	/usr/bin/python3 -c 'import json, sys
p = sys.argv[1]; j = json.load(open(p)); del j["linux"]["seccomp"]; json.dump(j, open(p, "w"))' \
		"$OCI_TMP/b/config.json" || fail "strip seccomp"
	out=$(runc --root "$OCI_TMP/runc" run --bundle "$OCI_TMP/b" "$id" 2>&1 </dev/null | cat)
	assert_contains "$out" "unshare-ok" "runc without the profile: unshare works"
	runc --root "$OCI_TMP/runc" delete -f "$id" >/dev/null 2>&1
	for d in /sys/fs/cgroup/*/nucleus/"$(sed -n 's/.*"org.nucleus.id": "\(.*\)".*/\1/p' "$OCI_TMP/b/config.json")"; do
		[ ! -d "$d" ] || fail "runc left its cgroup $d"
	done
}

test_bundle_runs_under_runsc() {
	local out id=nucleus-oci-test-$$
	oci_tmp
	command -v runsc >/dev/null || fail "runsc is not installed (make deps)"
	oci_bundle_workload "$OCI_TMP/b" --runtime gvisor
	OCI_RUNSC_IDS=$id
	# (a pipe: the sandbox's writes to a file it shares lose output)
	out=$(runsc --root "$OCI_TMP/runsc" --network none --platform ptrace --ignore-cgroups --oci-seccomp \
		run --bundle "$OCI_TMP/b" "$id" 2>&1 </dev/null | cat)
	oci_expect "$out" runsc
	runsc --root "$OCI_TMP/runsc" delete -force "$id" >/dev/null 2>&1
	# and the kernel is gVisor's sentry, not the host's (the workload has
	# no CAP_SYSLOG for dmesg: the release it reports)
	"$NUCLEUS" bundle --runtime gvisor -o "$OCI_TMP/k" -- /bin/uname -r >/dev/null || fail "bundle uname"
	out=$(runsc --root "$OCI_TMP/runsc" --network none --platform ptrace --ignore-cgroups --oci-seccomp \
		run --bundle "$OCI_TMP/k" "$id" 2>&1 </dev/null | cat)
	[ -n "$out" ] || fail "runsc: no uname output"
	assert_ne "$out" "$(uname -r)" "runsc: the sandbox's kernel release"
}

# The same flags under nucleus and under runc on their bundle: the same
# mount points, and the same options on every one but what the runtime
# owns (the root's bind, /dev it fills, /proc's masks: /dev/null bound
# read-write by runc).
test_bundle_mounts_match_native() {
	local flags out_native out_runc id=nucleus-oci-test-$$ list
	oci_tmp
	command -v runc >/dev/null || fail "runc is not installed (make deps)"
	mkdir -p "$OCI_TMP/ctx" "$OCI_TMP/vol"
	oci_secret "$OCI_TMP/sec" s3cret
	flags=(--context "$OCI_TMP/ctx" --secret "$OCI_TMP/sec:/etc/app/token" -v "$OCI_TMP/vol:/data:ro"
		--tmpfs /scratch:size=8m --user 1234:1234)
	list='awk "{ print \$5, \$6 }" /proc/self/mountinfo | sed "s/,relatime//" | sort'
	out_native=$("$NUCLEUS" run "${flags[@]}" -- /bin/sh -c "$list" 2>&1) || fail "native: $out_native"
	"$NUCLEUS" bundle "${flags[@]}" -o "$OCI_TMP/b" -- /bin/sh -c "$list" >/dev/null || fail "bundle"
	OCI_RUNC_IDS=$id
	out_runc=$(runc --root "$OCI_TMP/runc" run --bundle "$OCI_TMP/b" "$id" 2>&1 </dev/null | cat)
	assert_contains "$out_native" "/data ro,nosuid,nodev,noexec" "native: the volume"
	assert_eq "$(echo "$out_runc" | awk '{ print $1 }')" "$(echo "$out_native" | awk '{ print $1 }')" \
		"the mount points"
	assert_eq "$(echo "$out_runc" | grep -v -E '^(/|/dev|/proc/[^ ]+) ')" \
		"$(echo "$out_native" | grep -v -E '^(/|/dev|/proc/[^ ]+) ')" "the mounts' options"
}

# A profile `nucleus seccomp generate` made is the bundle's seccomp, as
# the run would load it: what the trace recorded allowed, the rest denied
# with the default's errno or killed.
test_bundle_generated_profile() {
	local out
	oci_tmp
	# read, write, exit_group, execve, and clone (allowed by the default
	# under its flags condition)
	printf '%s\n' '{"syscall": 0, "abi": "x86_64", "count": 1}' '{"syscall": 1, "abi": "x86_64", "count": 1}' \
		'{"syscall": 231, "abi": "x86_64", "count": 1}' '{"syscall": 59, "abi": "x86_64", "count": 1}' \
		'{"syscall": 56, "abi": "x86_64", "count": 1}' >"$OCI_TMP/trace.ndjson"
	"$NUCLEUS" seccomp generate --default-action kill -o "$OCI_TMP/gen.json" "$OCI_TMP/trace.ndjson" \
		>/dev/null 2>&1 || fail "seccomp generate"
	"$NUCLEUS" bundle --seccomp-profile "$OCI_TMP/gen.json" -o "$OCI_TMP/b" -- /bin/true >/dev/null ||
		fail "bundle with the generated profile"
	out=$(/usr/bin/python3 -c 'import json, sys
s = json.load(open(sys.argv[1]))["linux"]["seccomp"]
names = sorted({n for r in s["syscalls"] if r["action"] == "SCMP_ACT_ALLOW" for n in r["names"]})
clone = [r for r in s["syscalls"] if "clone" in r["names"]]
print(s["defaultAction"], ",".join(names), clone[0]["args"][0]["op"] if clone and "args" in clone[0] else "-")' \
		"$OCI_TMP/b/config.json") || fail "read the bundle's seccomp"
	assert_eq "$out" "SCMP_ACT_KILL_PROCESS clone,execve,exit_group,read,write SCMP_CMP_MASKED_EQ" \
		"the generated profile in the bundle"
}
