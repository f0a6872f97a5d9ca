# --rootfs DIR: a directory (a Nix store path with its closure, or a plain
# busybox root) is the container's read-only /, with nucleus's /etc files,
# /tmp, /dev and /proc; nothing of the host's directories. The Nix store
# is built offline in a private store under /tmp (nix-store --store) and
# bound over /nix/store in the test's own mount namespace: nothing of it
# reaches the host's /nix.

# A busybox root at $1: the applets as symlinks, an /etc/passwd of its
# own, a marker under /usr; root-owned, not writable by others.
make_busybox_root() { # DIR
	local a
	mkdir -p "$1/bin" "$1/etc" "$1/usr/share"
	cp "$(command -v busybox)" "$1/bin/busybox"
	for a in sh ls cat id touch readlink mount; do
		ln -s busybox "$1/bin/$a"
	done
	echo 'root:x:0:0:rootfs-root:/root:/bin/sh' >"$1/etc/passwd"
	echo rootfs-usr >"$1/usr/share/marker"
	chmod -R go-w "$1"
}

. "$(dirname "${BASH_SOURCE[0]}")/nixstore.sh"

test_rootfs_nix_closure() {
	local t out st
	command -v nix-store >/dev/null || fail "nix-store is not installed (package nix-bin)"
	t=$(mktemp -d /tmp/rootfs-nix.XXXXXX)
	make_nix_rootfs "$t"
	nix_mountpoint
	out=$(in_store_ns "$t" "$NUCLEUS" run --rootfs "$ROOTFS" -- /bin/sh -c '
		echo "usr=$(ls /usr)"
		echo "marker=$(cat /usr/share/marker)"
		echo "store=$(ls /nix/store | tr "\n" " ")"
		echo "passwd=$(cat /etc/passwd)"
		grep -q localhost /etc/hosts && echo hosts=ok
		[ -f /etc/resolv.conf ] && echo resolv=ok
		touch /x 2>/dev/null || echo root=ro
		touch /nix/store/y 2>/dev/null || echo store=ro
		echo "sh=$(readlink /bin/sh)"
		/bin/probe exit 7; echo "probe=$?"
		ls /lib /sbin 2>/dev/null || echo nohost=ok' 2>&1)
	st=$?
	nix_mountpoint_done
	assert_eq "$st" 0 "the run: $out"
	# the host's /usr is not visible: the rootfs's is
	assert_contains "$out" "usr=share" "/usr is the rootfs's"
	assert_contains "$out" "marker=rootfs-usr" "the rootfs's file"
	assert_contains "$out" "nohost=ok" "no host /lib or /sbin"
	# the closure and nothing else of the store
	assert_contains "$out" "store=${TOOLS#/nix/store/} " "the closure's store path"
	assert_not_contains "$out" "${OTHER#/nix/store/}" "a store path outside the closure"
	assert_not_contains "$out" "${ROOTFS#/nix/store/}" "the rootfs itself (not in its list)"
	# a symlink into the closure resolves and runs
	assert_contains "$out" "sh=$TOOLS/bin/busybox" "the symlink"
	assert_contains "$out" "probe=7" "the probe through a symlink into the closure"
	assert_contains "$out" "passwd=root:x:0:0:nix-root:/root:/bin/sh" "the rootfs's /etc/passwd"
	assert_contains "$out" "hosts=ok" "the generated /etc/hosts"
	assert_contains "$out" "resolv=ok" "the generated /etc/resolv.conf"
	assert_contains "$out" "root=ro" "/ is read-only"
	assert_contains "$out" "store=ro" "/nix/store is read-only"
	[ -e "$t/nixroot/nix/store/y" ] && fail "a write reached the store"
	rm -rf "$t"
}

# A plain directory (debootstrap-like): root-owned under /tmp, no closure.
# vm-tier
test_rootfs_plain_directory() {
	local t out st
	t=$(mktemp -d /tmp/rootfs-plain.XXXXXX)
	make_busybox_root "$t/root"
	out=$("$NUCLEUS" run --rootfs "$t/root" -- /bin/sh -c '
		echo "top=$(ls / | tr "\n" " ")"
		echo "passwd=$(cat /etc/passwd)"
		cat /etc/hostname >/dev/null && echo hostname=ok
		grep -q localhost /etc/hosts && echo hosts=ok
		touch /usr/x 2>/dev/null || echo usr=ro
		touch /tmp/x && echo tmp=rw' 2>&1)
	st=$?
	assert_eq "$st" 0 "the run: $out"
	assert_eq "$(echo "$out" | sed -n 's/^top=//p')" "bin dev etc proc tmp usr " "the top level"
	assert_contains "$out" "passwd=root:x:0:0:rootfs-root:/root:/bin/sh" "the rootfs's /etc/passwd"
	assert_contains "$out" "hostname=ok" "the generated /etc/hostname"
	assert_contains "$out" "hosts=ok" "the generated /etc/hosts"
	assert_contains "$out" "usr=ro" "/usr is read-only"
	assert_contains "$out" "tmp=rw" "/tmp is writable"
	# without an /etc of its own: the generated files and the defaults
	rm -rf "$t/root/etc"
	out=$("$NUCLEUS" run --rootfs "$t/root" -- /bin/sh -c 'cat /etc/passwd; ls /etc | tr "\n" " "' 2>&1)
	assert_eq "$?" 0 "no /etc: $out"
	assert_contains "$out" "root:x:0:0:root:/root:/bin/sh" "the default passwd"
	assert_contains "$out" "group hostname hosts nsswitch.conf passwd resolv.conf" "the generated /etc"
	rm -rf "$t"
}

# Refused before anything exists: exit 125, one line, nothing behind.
rootfs_refused() { # MESSAGE-PART ARGS...
	local want=$1 err st
	shift
	err=$("$NUCLEUS" run "$@" -- /bin/sh -c true 2>&1 >/dev/null)
	st=$?
	assert_eq "$st" 125 "status of $*: $err"
	assert_contains "$err" "nucleus: --rootfs" "the message"
	assert_contains "$err" "$want" "the message"
	assert_eq "$(echo "$err" | wc -l)" 1 "one line: $err"
	assert_eq "$(leftovers)" "" "left behind"
}

# vm-tier
test_rootfs_refusals() {
	local t
	t=$(mktemp -d /tmp/rootfs-bad.XXXXXX)
	make_busybox_root "$t/root"
	rootfs_refused "No such file or directory" --rootfs "$t/missing"
	ln -s root "$t/link"
	rootfs_refused "is a symlink" --rootfs "$t/link"
	touch "$t/file"
	rootfs_refused "is not a directory" --rootfs "$t/file"
	chmod o+w "$t/root"
	rootfs_refused "is writable by group or others" --rootfs "$t/root"
	chmod o-w "$t/root"
	chown 12345 "$t/root"
	rootfs_refused "is owned by uid 12345" --rootfs "$t/root"
	chown 0 "$t/root"
	printf '/nix/store/../etc\n' >"$t/root/.nucleus-rootfs-store-paths"
	rootfs_refused "\`/nix/store/../etc\` is not a store path: a \`.\` or \`..\` component" --rootfs "$t/root"
	printf '/etc\n' >"$t/root/.nucleus-rootfs-store-paths"
	rootfs_refused "\`/etc\` is not a store path: not beneath /nix/store/" --rootfs "$t/root"
	rm "$t/root/.nucleus-rootfs-store-paths"
	rm -rf "$t/root/etc"
	ln -s / "$t/root/etc"
	rootfs_refused "etc is not a directory (a symlink: not followed)" --rootfs "$t/root"
	rm -rf "$t"
}

# Symlinks where nucleus mounts (tmp -> /etc, dev -> /, proc -> /) or an
# entry pointing out (lib -> /usr/lib): recreated as links or left out, never
# followed on the host's side; the host's /etc and / are untouched.
# vm-tier
test_rootfs_symlinks_never_redirect_a_mount() {
	local t out st before after
	t=$(mktemp -d /tmp/rootfs-links.XXXXXX)
	make_busybox_root "$t/root"
	rm -rf "$t/root/usr"
	ln -s /etc "$t/root/tmp"
	ln -s / "$t/root/dev"
	ln -s / "$t/root/proc"
	ln -s /etc "$t/root/context"
	ln -s /usr/lib "$t/root/lib"
	before=$(ls -a /etc / | md5sum)
	out=$("$NUCLEUS" run --rootfs "$t/root" -- /bin/sh -c '
		touch /tmp/rootfs-was-here && echo tmp=rw
		[ -L /tmp ] || echo tmp=dir
		[ -c /dev/null ] && echo dev=ok
		echo "lib=$(readlink /lib)"
		ls /lib/ >/dev/null 2>&1 || echo lib=dangling' 2>&1)
	st=$?
	after=$(ls -a /etc / | md5sum)
	assert_eq "$st" 0 "the run: $out"
	assert_contains "$out" "tmp=rw" "/tmp writable"
	assert_contains "$out" "tmp=dir" "/tmp nucleus's own"
	assert_contains "$out" "dev=ok" "/dev nucleus's own"
	assert_contains "$out" "lib=/usr/lib" "the link kept as a link"
	assert_contains "$out" "lib=dangling" "resolved inside the container only"
	[ -e /etc/rootfs-was-here ] && { rm -f /etc/rootfs-was-here; fail "a write went to the host's /etc"; }
	assert_eq "$after" "$before" "the host's / and /etc"
	rm -rf "$t"
}

# Without a list, a rootfs under /nix/store gets the closure nix-store
# reports (`--query --requisites`, run by the supervisor; NIX_CONFIG
# points it at the test's store): the path it references, and itself.
test_rootfs_nix_closure_from_nix_store() {
	local t p out st
	command -v nix-store >/dev/null || fail "nix-store is not installed (package nix-bin)"
	t=$(mktemp -d /tmp/rootfs-qr.XXXXXX)
	make_nix_rootfs "$t"
	# a store path with a reference to tools (--add records none)
	p=/nix/store/00000000000000000000000000000000-rootfs-qr
	mkdir -p "$t/qr/bin"
	ln -s "$TOOLS/bin/busybox" "$t/qr/bin/sh"
	cp -a "$t/qr" "$t/nixroot$p"
	chmod -R go-w "$t/nixroot$p"
	nix_mountpoint
	out=$(NIX_CONFIG="store = $t/nixroot" in_store_ns "$t" sh -c '
		printf "%s\n\n1\n%s\n" "$1" "$2" | nix-store --register-validity 2>/dev/null || exit 9
		exec "$3" run --rootfs "$1" -- /bin/sh -c "ls /nix/store"' sh "$p" "$TOOLS" "$NUCLEUS" 2>&1)
	st=$?
	nix_mountpoint_done
	assert_eq "$st" 0 "the run: $out"
	assert_eq "$(echo "$out" | sort | tr '\n' ' ')" \
		"$(printf '%s\n%s\n' "${p#/nix/store/}" "${TOOLS#/nix/store/}" | sort | tr '\n' ' ')" \
		"the closure nix-store reported, nothing else"
	rm -rf "$t"
}

# --verify-rootfs-attestation checks the mounts the container gets: the
# rootfs's clone and the closure at /nix/store (a file of a store path
# changed through the host's own writable path is seen); a pin that is not
# the manifest's refuses before anything exists.
test_rootfs_attestation_on_the_mounts() {
	local t out st pin
	command -v nix-store >/dev/null || fail "nix-store is not installed (package nix-bin)"
	t=$(mktemp -d /tmp/rootfs-att.XXXXXX)
	# make_nix_rootfs with the manifest written before the rootfs is added
	mkdir -p "$t/tools/bin" "$t/other"
	cp "$(command -v busybox)" "$t/tools/bin/busybox"
	echo other >"$t/other/marker"
	TOOLS=$(nix-store --store "$t/nixroot" --add "$t/tools" 2>/dev/null) || fail "nix-store --add tools"
	mkdir -p "$t/rootfs/bin"
	ln -s "$TOOLS/bin/busybox" "$t/rootfs/bin/sh"
	echo "$TOOLS" >"$t/rootfs/.nucleus-rootfs-store-paths"
	pin=$("$NUCLEUS" rootfs attest "$t/rootfs" --store "$t/nixroot/nix/store" | cut -d' ' -f1)
	ROOTFS=$(nix-store --store "$t/nixroot" --add "$t/rootfs" 2>/dev/null) || fail "nix-store --add rootfs"
	nix_mountpoint
	out=$(in_store_ns "$t" "$NUCLEUS" run --rootfs "$ROOTFS" --verify-rootfs-attestation \
		--rootfs-attestation-sha256 "$pin" -- /bin/sh -c 'echo verified' 2>&1)
	st=$?
	if [ "$st" = 0 ]; then
		out="$out
$(in_store_ns "$t" "$NUCLEUS" run --rootfs "$ROOTFS" --rootfs-attestation-sha256 \
			"$(echo "$pin" | tr 0-9a-f 1-9a-f0)" -- /bin/sh -c 'echo pinned-wrong' 2>&1)
pin-status=$?"
		chmod u+w "$t/nixroot$TOOLS/bin/busybox"
		echo tampered >>"$t/nixroot$TOOLS/bin/busybox"
		out="$out
$(in_store_ns "$t" "$NUCLEUS" run --rootfs "$ROOTFS" --verify-rootfs-attestation -- /bin/sh -c 'echo tampered-ran' 2>&1)
tamper-status=$?"
	fi
	nix_mountpoint_done
	assert_eq "$st" 0 "the verified run: $out"
	assert_contains "$out" "verified" "the verified run"
	assert_contains "$out" "pin-status=125" "a wrong pin"
	assert_contains "$out" "nucleus: --verify-rootfs-attestation: the manifest's sha256 is $pin, not the pinned" "the pin's message"
	assert_not_contains "$out" "pinned-wrong" "ran with a wrong pin"
	assert_contains "$out" "tamper-status=125" "a store file changed"
	assert_contains "$out" "nucleus: --verify-rootfs-attestation: \`$TOOLS/bin/busybox\` changed" "the difference"
	assert_not_contains "$out" "tampered-ran" "ran tampered"
	assert_eq "$(leftovers)" "" "left behind"
	rm -rf "$t"
}
