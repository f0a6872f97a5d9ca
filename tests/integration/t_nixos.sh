# The NixOS module (nix/module.nix), evaluated offline with Debian's
# nix-instantiate against nixpkgs' lib/ in the shared test data (stub
# declarations for the NixOS options it sets: nix/tests/eval.nix): every
# unit's ExecStart parsed by `nucleus run --dry-run` and compared with the
# options (tests/integration/nixos_check.py), the options and the run
# flags both ways, wrong types named, and mkRootfs built in a private store
# and run attested. docs/nixos.md.

NIXOS_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
NIXOS_CHECK=$NIXOS_ROOT/tests/integration/nixos_check.py
NIXOS_FIXTURES=$NIXOS_ROOT/nix/tests/fixtures
# the examples whose units must all be accepted by --dry-run
NIXOS_EXAMPLES="sigid-proxy web batch relay"

# The tools; nix's state and cache kept in the test's directory: nothing
# of nix's is left on the host (no /nix, no ~/.cache/nix).
nixos_setup() { # T
	command -v nix-instantiate >/dev/null || fail "nix-instantiate is not installed (package nix-bin)"
	[ -x /usr/bin/python3 ] || fail "/usr/bin/python3 is not installed"
	[ -d "$SHARED_DATA/nixpkgs-lib/lib" ] || fail "no nixpkgs lib at $SHARED_DATA/nixpkgs-lib"
	export NIX_STATE_DIR=$1/nix-state XDG_CACHE_HOME=$1/cache NIX_REMOTE=
	NIXOS_HAD_NIX=$([ -e /nix ] && echo 1)
	# removed however the test ends (the store's files are read-only)
	NIXOS_T=$1
	trap 'chmod -R u+w "$NIXOS_T" 2>/dev/null; rm -rf "$NIXOS_T"' EXIT
}

# nothing of nix's left where it was not (its state, /nix/var: the tests
# that bind a store make an empty /nix/store for a moment, and remove it)
nixos_done() { # T
	[ -n "$NIXOS_HAD_NIX" ] || [ ! -e /nix/var ] || fail "nix made /nix/var on the host"
	rm -rf "$1"
}

# nix/tests/eval.nix of EXAMPLE: its JSON on stdout, nix's errors on stderr.
nixos_eval() { # EXAMPLE
	nix-instantiate --eval --strict --json --store dummy:// "$NIXOS_ROOT/nix/tests/eval.nix" \
		--argstr nixpkgsLib "$SHARED_DATA/nixpkgs-lib" --argstr example "$1" \
		--argstr fixtures "$NIXOS_FIXTURES" --argstr nucleus /opt/nucleus
}

# Each example's units: ExecStart split as systemd splits it, accepted by
# nucleus run --dry-run, its effective configuration what the options
# said; Type, Restart, the directories, credentials and tmpfiles rules.
test_nixos_units_parse_as_the_options_say() {
	local t e out
	t=$(mktemp -d /tmp/nixos.XXXXXX)
	nixos_setup "$t"
	for e in $NIXOS_EXAMPLES; do
		nixos_eval "$e" >"$t/$e.json" 2>"$t/err" || fail "evaluating $e: $(cat "$t/err")"
		out=$(/usr/bin/python3 "$NIXOS_CHECK" units "$t/$e.json" "$NUCLEUS" 2>&1) || fail "$e: $out"
	done
	# what the checker saw is the examples' (not an empty evaluation)
	assert_contains "$(cat "$t/sigid-proxy.json")" \
		'--seccomp-profile-sha256 d34cc73dabccc3a14dfe14b7a681bd73c3d82f7d4a5500ef5c273c6894505462' "sigid-proxy's pin"
	assert_contains "$(cat "$t/sigid-proxy.json")" '"Type":"notify"' "sigid-proxy's Type"
	assert_contains "$(cat "$t/sigid-proxy.json")" '"d /var/lib/sigid-proxy 0750 7071 7071 - -"' "sigid-proxy's tmpfiles"
	assert_contains "$(cat "$t/web.json")" '"nucleus-topology-shop"' "the topology's unit"
	assert_contains "$out" "1 units checked" "relay's unit"
	assert_not_contains "$(cat "$t/batch.json")" 'nucleus-batch-disabled' "a disabled container's unit"
	nixos_done "$t"
}

# Every flag of nucleus run a service may use is an option's, every
# option's flag one nucleus run parses, and the examples render them all
# (the lists are --help and nix/flags.nix; the checker keeps only the
# commented exclusions).
test_nixos_options_are_the_run_flags() {
	local t e out evals=()
	t=$(mktemp -d /tmp/nixos.XXXXXX)
	nixos_setup "$t"
	for e in $NIXOS_EXAMPLES lockdown; do
		nixos_eval "$e" >"$t/$e.json" 2>"$t/err" || fail "evaluating $e: $(cat "$t/err")"
		evals+=("$t/$e.json")
	done
	out=$(/usr/bin/python3 "$NIXOS_CHECK" property "$NUCLEUS" "${evals[@]}" 2>&1) || fail "$out"
	assert_contains "$out" "flags of nucleus run" "the property's summary"
	nixos_done "$t"
}

# A value of the wrong type fails the evaluation naming the option; so
# does a required option left out, and a host volume owned by a name only
# the rootfs knows (an assertion).
test_nixos_wrong_types_name_the_option() {
	local t out
	t=$(mktemp -d /tmp/nixos.XXXXXX)
	nixos_setup "$t"
	out=$(nixos_eval bad-type 2>&1) && fail "a boolean memory was accepted: $out"
	assert_contains "$out" "services.nucleus.containers.bad.memory' is not of type" "the wrong type's message"
	out=$(nixos_eval bad-missing 2>&1) && fail "a container without memory was accepted: $out"
	assert_contains "$out" "services.nucleus.containers.nomem.memory' was accessed but has no value defined" "the missing option's message"
	out=$(nixos_eval bad-owner 2>&1) && fail "a rootfs name as a host owner was accepted: $out"
	assert_contains "$out" "services.nucleus.containers.owned: volume /var/lib/owned is created on the host" "the assertion"
	nixos_done "$t"
}

# A named user without a rootfs is the host's: the module declares it and
# its group, and the volume's tmpfiles rule uses them. A lockdown the
# kernel lacks: the unit's --dry-run refuses it (125, one line, nothing
# left), else accepts it with the level.
test_nixos_host_users_and_lockdown() {
	local t out st before have
	t=$(mktemp -d /tmp/nixos.XXXXXX)
	nixos_setup "$t"
	nixos_eval host-user >"$t/h.json" 2>"$t/err" || fail "evaluating host-user: $(cat "$t/err")"
	out=$(/usr/bin/python3 -c 'import json,sys; d=json.load(open(sys.argv[1]))
print(json.dumps(d["users"], sort_keys=True), d["groups"], d["tmpfiles"])' "$t/h.json")
	assert_eq "$out" '{"feeds": {"group": "feeds", "isSystemUser": true}} ['"'"'feeds'"'"'] ['"'"'d /var/lib/feeds 0750 feeds feeds - -'"'"']' \
		"the host user, group and tmpfiles rule"
	nixos_eval lockdown >"$t/l.json" 2>"$t/err" || fail "evaluating lockdown: $(cat "$t/err")"
	/usr/bin/python3 -c 'import json,sys
sys.path.insert(0, sys.argv[2]); import nixos_check as c
a = c.systemd_split(json.load(open(sys.argv[1]))["services"]["nucleus-locked"]["serviceConfig"]["ExecStart"])
print("\n".join(a[2:]))' "$t/l.json" "$(dirname "$NIXOS_CHECK")" >"$t/args" || fail "the lockdown unit's ExecStart"
	mapfile -t args <"$t/args"
	assert_contains "${args[*]}" "--require-kernel-lockdown integrity" "the lockdown flag"
	before=$(leftovers)
	out=$("$NUCLEUS" run --dry-run "${args[@]}" 2>&1); st=$?
	# the kernel's level, securityfs mounted for the read where the host has not
	have=$(cat /sys/kernel/security/lockdown 2>/dev/null ||
		unshare -m sh -c 'mount -t securityfs securityfs /sys/kernel/security &&
			cat /sys/kernel/security/lockdown' 2>/dev/null)
	if echo "$have" | grep -qE '\[(integrity|confidentiality)\]'; then
		assert_eq "$st" 0 "dry-run on a locked-down kernel: $out"
		assert_contains "$out" '"require_lockdown": "integrity"' "the level"
	else
		assert_eq "$st" 125 "dry-run below the lockdown level: $out"
		assert_eq "$(echo "$out" | wc -l)" 1 "one line: $out"
		assert_contains "$out" "lockdown" "the refusal"
	fi
	assert_eq "$(new_leftovers "$before")" "" "left behind by the dry run"
	nixos_done "$t"
}

# --dry-run: the effective configuration as JSON (an all-zero id, the
# defaults filled in), exit 0, nothing created; bad input still 125.
test_nixos_dry_run_prints_and_creates_nothing() {
	local before out st
	before=$(leftovers)
	out=$("$NUCLEUS" run --dry-run --name dry-$$ --memory 48M --cpus 0.5 --network bridge --dns 10.0.42.1 \
		--egress-allow 198.51.100.0/24 -- /bin/true 2>&1); st=$?
	assert_eq "$st" 0 "dry-run: $out"
	assert_eq "$(echo "$out" | /usr/bin/python3 -c 'import json,sys; d=json.load(sys.stdin)
print(d["id"], d["name"], d["resources"]["limits"]["memory_max"], d["resources"]["limits"]["cpu_quota_us"],
      d["network"]["egress"]["allow"], d["process"]["argv"])')" \
		"00000000000000000000000000000000 dry-$$ 50331648 50000 ['198.51.100.0/24'] ['/bin/true']" "the configuration"
	assert_eq "$(new_leftovers "$before")" "" "left behind by the dry run"
	[ ! -e "$RUNTIME_DIR/.names/dry-$$" ] || fail "the dry run recorded its name"
	out=$(run_refused dry-$$ --dry-run --memory 1) || exit 1
	assert_contains "$out" "invalid --memory" "the refusal"
	# a policy whose pin does not match is refused too: the pins are checked
	out=$(run_refused dry-$$ --dry-run --seccomp-profile "$NIXOS_FIXTURES/sigid-proxy.seccomp.json" \
		--seccomp-profile-sha256 0000000000000000000000000000000000000000000000000000000000000000) || exit 1
	assert_contains "$out" "SHA-256 mismatch" "the pin's refusal"
}

# lib.mkRootfs built offline: nix-build in a private store with
# nix/tests/mini-pkgs.nix (busybox's sh as the builder: nixpkgs' stdenv is
# fetched from the network, out of reach here), its manifest written by
# nucleus rootfs attest inside the build; then run in production mode,
# verified and pinned by its `pin` output; a changed file is refused.
test_nixos_mkrootfs_builds_offline_and_runs_attested() {
	local t out st a rootfs pin before
	t=$(mktemp -d /tmp/nixos-rootfs.XXXXXX)
	nixos_setup "$t"
	mkdir -p "$t/tools/bin" "$t/tools/lib"
	cp "$(command -v busybox)" "$t/tools/bin/busybox"
	for a in sh mkdir ln cp cat grep sort chmod printf; do ln -s busybox "$t/tools/bin/$a"; done
	cp "$NUCLEUS" "$t/tools/bin/nucleus"
	# the C library nucleus links, and its loader
	for a in $(ldd "$NUCLEUS" | awk '/=> \// { print $3 } /^\t\/.*ld-linux/ { print $1 }'); do
		cp -L "$a" "$t/tools/lib/"
	done
	[ -e "$t/tools/lib/ld-linux-x86-64.so.2" ] || fail "no loader found for nucleus: $(ldd "$NUCLEUS")"
	out=$(nix-build --store "$t/nixroot" --no-out-link --option substituters '' --option build-users-group '' \
		"$NIXOS_ROOT/nix/tests/rootfs.nix" --argstr tools "$t/tools" 2>&1) || fail "nix-build: $out"
	rootfs=$(echo "$out" | tail -n 1)
	case "$rootfs" in /nix/store/*-sigid-rootfs) ;; *) fail "nix-build printed no rootfs: $out" ;; esac
	pin=$(cat "$t/nixroot$rootfs-pin" 2>/dev/null || cat "$t"/nixroot/nix/store/*-sigid-rootfs-pin)
	[ ${#pin} = 64 ] || fail "no pin output: [$pin]"
	# what mkRootfs made: the packages' programs, the closure's list, the manifest
	[ -L "$t/nixroot$rootfs/bin/sh" ] || fail "no /bin/sh in the rootfs"
	grep -q -- '-busybox$' "$t/nixroot$rootfs/.nucleus-rootfs-store-paths" || fail "busybox is not in the closure list"
	grep -q -- '-busybox/bin/busybox$' "$t/nixroot$rootfs/.nucleus-rootfs-sha256" || fail "the closure is not in the manifest"
	assert_eq "$(sha256sum "$t/nixroot$rootfs/.nucleus-rootfs-sha256" | awk '{print $1}')" "$pin" "the pin is the manifest's hash"
	nix_mountpoint
	out=$(in_store_ns "$t" "$NUCLEUS" run --service-mode production --memory 64M --rootfs "$rootfs" \
		--verify-rootfs-attestation --rootfs-attestation-sha256 "$pin" -- /bin/sh -c 'echo in=$(ls /bin | wc -l); id -u' 2>&1); st=$?
	nix_mountpoint_done
	assert_eq "$st" 0 "the attested rootfs runs: $out"
	assert_contains "$out" "in=6" "the rootfs's /bin"
	# a changed closure file is refused before the workload runs
	a=$(ls -d "$t"/nixroot/nix/store/*-busybox)
	chmod u+w "$a/bin/busybox" && printf 'x' >>"$a/bin/busybox"
	before=$(leftovers)
	nix_mountpoint
	out=$(in_store_ns "$t" "$NUCLEUS" run --service-mode production --memory 64M --rootfs "$rootfs" \
		--verify-rootfs-attestation --rootfs-attestation-sha256 "$pin" -- /bin/sh -c 'echo ran' 2>&1); st=$?
	nix_mountpoint_done
	assert_eq "$st" 125 "a changed rootfs: $out"
	assert_not_contains "$out" "ran" "the workload of a changed rootfs"
	assert_contains "$out" "busybox" "the changed file named"
	assert_eq "$(new_leftovers "$before")" "" "left behind by the refused run"
	nixos_done "$t"
}

# flake.nix and the plain files it re-exports parse (the flake itself
# needs its inputs from the network).
test_nixos_flake_parses() {
	local f out t
	t=$(mktemp -d /tmp/nixos.XXXXXX)
	nixos_setup "$t"
	for f in flake.nix nix/module.nix nix/flags.nix nix/mkRootfs.nix nix/package.nix; do
		out=$(nix-instantiate --parse --store dummy:// "$NIXOS_ROOT/$f" 2>&1 >/dev/null) || fail "$f: $out"
	done
	# it re-exports the plain files, not copies of them
	for f in ./nix/module.nix ./nix/mkRootfs.nix ./nix/package.nix; do
		grep -qF "$f" "$NIXOS_ROOT/flake.nix" || fail "flake.nix does not use $f"
	done
	nixos_done "$t"
}

. "$(dirname "${BASH_SOURCE[0]}")/nixstore.sh"
