# nucleus rootfs attest / verify: the manifest as written, and every kind
# of difference refused with its one line (docs/attestation.md).

# status and stderr of a command: "STATUS|STDERR"
attest_status_err() {
	local err rc
	err=$("$@" 2>&1 >/dev/null)
	rc=$?
	echo "$rc|$err"
}

# A small rootfs in $1: files (one with spaces in its name, an empty one),
# symlinks (relative, absolute, dangling), an empty directory.
attest_tree() {
	mkdir -p "$1/bin" "$1/etc/ssl" "$1/var/empty"
	cp "$PROBE" "$1/bin/probe"
	ln -s probe "$1/bin/sh"
	ln -s /etc/ssl/cert.pem "$1/etc/cert"
	printf 'root:x:0:0::/root:/bin/sh\n' > "$1/etc/passwd"
	printf 'a cert\n' > "$1/etc/ssl/cert.pem"
	printf 'spaces\n' > "$1/etc/with two  spaces"
	: > "$1/etc/empty"
	ln -s nowhere "$1/dangling"
}

attest_tmp() {
	T=$(mktemp -d /tmp/nucleus-t-attest.XXXXXX) || fail "mktemp"
	# shellcheck disable=SC2064
	trap "rm -rf '$T'" EXIT
}

test_attest_writes_sorted_manifest() {
	local out sum want
	attest_tmp
	attest_tree "$T/r"
	out=$("$NUCLEUS" rootfs attest "$T/r") || fail "attest failed"
	sum=$(sha256sum < "$T/r/.nucleus-rootfs-sha256" | cut -c1-64)
	assert_eq "$out" "$sum  $T/r/.nucleus-rootfs-sha256" "attest prints the manifest's sha256"
	want="$(cd "$T/r" && sha256sum bin/probe | sed 's/ \*/  /')
->probe  bin/sh
->nowhere  dangling
->/etc/ssl/cert.pem  etc/cert
$(cd "$T/r" && sha256sum etc/empty etc/passwd etc/ssl/cert.pem 'etc/with two  spaces')"
	assert_eq "$(cat "$T/r/.nucleus-rootfs-sha256")" "$want" "the manifest"
	# sorted by path, byte order
	assert_eq "$(sed 's/^[^ ]*  //' "$T/r/.nucleus-rootfs-sha256" | LC_ALL=C sort -c 2>&1; echo $?)" "0" "sorted"
	assert_eq "$("$NUCLEUS" rootfs verify "$T/r")" "$T/r: matches its manifest (8 entries)" "verify"
	# an added empty directory is not a difference (directories are implied)
	mkdir "$T/r/var/empty/more"
	assert_status 0 "$NUCLEUS" rootfs verify "$T/r"
	# a second attest gives the same manifest (the manifest is not part of the tree)
	"$NUCLEUS" rootfs attest "$T/r" >/dev/null || fail "second attest"
	assert_eq "$(cat "$T/r/.nucleus-rootfs-sha256")" "$want" "the manifest, attested again"
}

# vm-tier
test_attest_each_difference_refused() {
	local kind tamper msg
	attest_tmp
	attest_tree "$T/orig"
	"$NUCLEUS" rootfs attest "$T/orig" >/dev/null || fail "attest"
	while IFS='|' read -r kind tamper msg; do
		rm -rf "$T/r"
		cp -a "$T/orig" "$T/r"
		(cd "$T/r" && eval "$tamper") || fail "$kind: tamper"
		assert_eq "$(attest_status_err "$NUCLEUS" rootfs verify "$T/r")" "1|nucleus: rootfs attestation: $msg" "$kind"
	done <<'EOF'
tampered|printf 'root:x:0:0::/root:/bin/bash\n' > etc/passwd|`etc/passwd` changed
tampered, same size|printf 'b cert\n' > etc/ssl/cert.pem|`etc/ssl/cert.pem` changed
added|printf x > etc/shadow|`etc/shadow` is not in the manifest
added in an empty dir|printf x > var/empty/x|`var/empty/x` is not in the manifest
removed|rm etc/passwd|`etc/passwd` is missing
symlink swapped for a file|rm bin/sh && cp bin/probe bin/sh|`bin/sh` is a file, the manifest has a symlink
file swapped for a symlink|rm etc/passwd && ln -s /etc/passwd etc/passwd|`etc/passwd` is a symlink, the manifest has a file
link target changed|ln -sfn /bin/probe bin/sh|`bin/sh` is a symlink to `/bin/probe`, the manifest has `probe`
a fifo|mkfifo etc/fifo|`etc/fifo` is a fifo: only regular files and symlinks can be attested
manifest edited|sed -i 's/^->probe/->busybox/' .nucleus-rootfs-sha256|`bin/sh` is a symlink to `probe`, the manifest has `busybox`
EOF
}

test_attest_output_elsewhere_and_pin() {
	local out sum
	attest_tmp
	attest_tree "$T/r"
	out=$("$NUCLEUS" rootfs attest -o "$T/m.sha256" "$T/r") || fail "attest -o"
	[ -e "$T/r/.nucleus-rootfs-sha256" ] && fail "attest -o wrote into DIR too"
	sum=$(sha256sum < "$T/m.sha256" | cut -c1-64)
	assert_eq "$out" "$sum  $T/m.sha256" "attest -o prints the manifest's sha256"
	compgen -G "$T/*.tmp.*" >/dev/null && fail "a temporary file left next to the manifest"
	assert_status 125 "$NUCLEUS" rootfs verify "$T/r"   # no manifest in DIR
	assert_contains "$("$NUCLEUS" rootfs verify "$T/r" 2>&1)" "has no manifest" "verify without a manifest"
	assert_status 0 "$NUCLEUS" rootfs verify --manifest "$T/m.sha256" "$T/r"
	assert_status 0 "$NUCLEUS" rootfs verify --manifest "$T/m.sha256" --sha256 "$sum" "$T/r"
	local wrong=0000000000000000000000000000000000000000000000000000000000000000
	assert_eq "$(attest_status_err "$NUCLEUS" rootfs verify --manifest "$T/m.sha256" --sha256 $wrong "$T/r")" \
		"1|nucleus: rootfs attestation: the manifest's sha256 is $sum, not the pinned $wrong" "pin mismatch"
	# a manifest edited to match a tampered tree is refused by the pin
	printf 'x\n' > "$T/r/etc/passwd"
	"$NUCLEUS" rootfs attest -o "$T/m2.sha256" "$T/r" >/dev/null || fail "attest the tampered tree"
	assert_status 0 "$NUCLEUS" rootfs verify --manifest "$T/m2.sha256" "$T/r"
	assert_status 1 "$NUCLEUS" rootfs verify --manifest "$T/m2.sha256" --sha256 "$sum" "$T/r"
	assert_eq "$(attest_status_err "$NUCLEUS" rootfs verify --sha256 abc "$T/r")" \
		"125|nucleus: rootfs verify: --sha256 takes 64 hex digits, not \`abc\` (see 'nucleus rootfs verify --help')" \
		"bad --sha256"
}

# vm-tier
test_attest_original_tab_format_accepted() {
	attest_tmp
	mkdir -p "$T/r/bin" "$T/r/lib"
	cp "$PROBE" "$T/r/bin/probe"
	printf 'lib\n' > "$T/r/lib/x.so"
	# the original's form: "<sha256>\t<relpath>", regular files only, any order
	(cd "$T/r" && for f in lib/x.so bin/probe; do printf '%s\t%s\n' "$(sha256sum < "$f" | cut -c1-64)" "$f"; done) \
		> "$T/r/.nucleus-rootfs-sha256"
	assert_eq "$("$NUCLEUS" rootfs verify "$T/r")" "$T/r: matches its manifest (2 entries)" "tab form"
	printf 'lib2\n' > "$T/r/lib/x.so"
	assert_eq "$(attest_status_err "$NUCLEUS" rootfs verify "$T/r")" \
		"1|nucleus: rootfs attestation: \`lib/x.so\` changed" "tab form, tampered"
}

test_attest_refusals() {
	attest_tmp
	attest_tree "$T/r"
	mkfifo "$T/r/etc/fifo"
	assert_eq "$(attest_status_err "$NUCLEUS" rootfs attest "$T/r")" \
		"125|nucleus: rootfs attest \`$T/r\`: \`etc/fifo\` is a fifo: only regular files and symlinks can be attested" \
		"a fifo"
	[ -e "$T/r/.nucleus-rootfs-sha256" ] && fail "a manifest was written for a tree with a fifo"
	rm "$T/r/etc/fifo"
	assert_eq "$(attest_status_err "$NUCLEUS" rootfs attest)" \
		"125|nucleus: rootfs attest: give exactly one directory (see 'nucleus rootfs attest --help')" "no DIR"
	assert_eq "$(attest_status_err "$NUCLEUS" rootfs attest --out x "$T/r")" \
		"125|nucleus: rootfs attest: unknown flag \`--out\` (see 'nucleus rootfs attest --help')" "--out"
	assert_eq "$(attest_status_err "$NUCLEUS" rootfs verify --manif x "$T/r")" \
		"125|nucleus: rootfs verify: unknown flag \`--manif\` (see 'nucleus rootfs verify --help')" "--manif"
	assert_eq "$(attest_status_err "$NUCLEUS" rootfs check "$T/r")" \
		"125|nucleus: rootfs: unknown command \`check\` (attest, verify) (see 'nucleus rootfs --help')" "check"
	assert_status 0 "$NUCLEUS" rootfs --help
	assert_contains "$("$NUCLEUS" rootfs --help)" "Usage: nucleus rootfs COMMAND" "help"
	assert_contains "$("$NUCLEUS" --help)" "rootfs" "listed in nucleus --help"
	[ -e "$T/r/.nucleus-rootfs-sha256" ] && fail "a refused attest wrote a manifest"
	# a read-only tree (a store path) needs -o
	assert_eq "$(unshare -m sh -c "mount --bind '$T/r' '$T/r' && mount -o remount,bind,ro '$T/r' &&
		'$NUCLEUS' rootfs attest '$T/r' 2>&1; echo \$?")" \
		"nucleus: rootfs attest: write \`$T/r/.nucleus-rootfs-sha256\`: Read-only file system (give -o FILE)
125" "read-only tree"
}

# A Nix-style closure: the rootfs is a store path that lists its store
# paths; their files are recorded as /nix/store/... lines and checked in
# the store given (--store: here a directory standing for /nix/store).
test_attest_store_closure() {
	local s
	attest_tmp
	s=$T/store
	mkdir -p "$s/aaa-lib/lib" "$s/ccc-root/bin"
	printf 'ELF\n' > "$s/aaa-lib/lib/libc.so"
	ln -s libc.so "$s/aaa-lib/lib/libc.so.6"
	printf '#!/bin/sh\n' > "$s/bbb-script"
	cp "$PROBE" "$s/ccc-root/bin/app"
	ln -s /nix/store/aaa-lib/lib/libc.so.6 "$s/ccc-root/bin/libc"
	printf '/nix/store/aaa-lib\n/nix/store/bbb-script\n/nix/store/ccc-root\n' > "$s/ccc-root/.nucleus-rootfs-store-paths"
	"$NUCLEUS" rootfs attest --store "$s" "$s/ccc-root" >/dev/null || fail "attest the closure"
	assert_eq "$(sed 's/^[^ ]*  //' "$s/ccc-root/.nucleus-rootfs-sha256" | tr '\n' ' ')" \
		".nucleus-rootfs-store-paths /nix/store/aaa-lib/lib/libc.so /nix/store/aaa-lib/lib/libc.so.6 /nix/store/bbb-script bin/app bin/libc " \
		"the closure's entries (the rootfs's own store path once, relative)"
	assert_status 0 "$NUCLEUS" rootfs verify --store "$s" "$s/ccc-root"
	printf 'ELF2\n' > "$s/aaa-lib/lib/libc.so"
	assert_eq "$(attest_status_err "$NUCLEUS" rootfs verify --store "$s" "$s/ccc-root")" \
		"1|nucleus: rootfs attestation: \`/nix/store/aaa-lib/lib/libc.so\` changed" "store file tampered"
	printf 'ELF\n' > "$s/aaa-lib/lib/libc.so"
	printf 'x\n' > "$s/aaa-lib/lib/evil.so"
	assert_eq "$(attest_status_err "$NUCLEUS" rootfs verify --store "$s" "$s/ccc-root")" \
		"1|nucleus: rootfs attestation: \`/nix/store/aaa-lib/lib/evil.so\` is not in the manifest" "store file added"
	rm "$s/aaa-lib/lib/evil.so"
	mv "$s/bbb-script" "$T/gone"
	assert_eq "$(attest_status_err "$NUCLEUS" rootfs verify --store "$s" "$s/ccc-root")" \
		"1|nucleus: rootfs attestation: store path \`/nix/store/bbb-script\` (listed in .nucleus-rootfs-store-paths) is missing" \
		"store path removed"
	assert_status 125 "$NUCLEUS" rootfs attest --store "$s" -o "$T/m" "$s/ccc-root"
	assert_contains "$("$NUCLEUS" rootfs attest --store "$s" -o "$T/m" "$s/ccc-root" 2>&1)" \
		"store path \`/nix/store/bbb-script\`" "attest of a closure with a path missing"
}
