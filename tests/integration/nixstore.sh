# Helpers for tests that need a real Nix store path: built offline with
# nix-store --store (package nix-bin) in a private store under a test's
# temporary directory, and bound over /nix/store in the test's own mount
# namespace. Sourced by t_rootfs.sh and t_production.sh.

# A store under $T/nixroot holding: tools (busybox and the probe), other
# (not in the closure), and the rootfs whose programs are symlinks into
# tools and whose list names tools only. Sets TOOLS, OTHER, ROOTFS.
make_nix_rootfs() { # T
	local t=$1 a
	mkdir -p "$t/tools/bin" "$t/other" "$t/rootfs/bin" "$t/rootfs/etc" "$t/rootfs/usr/share"
	cp "$(command -v busybox)" "$t/tools/bin/busybox"
	cp "$PROBE" "$t/tools/bin/probe"
	echo other >"$t/other/marker"
	TOOLS=$(nix-store --store "$t/nixroot" --add "$t/tools" 2>/dev/null) || fail "nix-store --add tools"
	OTHER=$(nix-store --store "$t/nixroot" --add "$t/other" 2>/dev/null) || fail "nix-store --add other"
	for a in sh ls cat id touch readlink; do
		ln -s "$TOOLS/bin/busybox" "$t/rootfs/bin/$a"
	done
	ln -s "$TOOLS/bin/probe" "$t/rootfs/bin/probe"
	echo 'root:x:0:0:nix-root:/root:/bin/sh' >"$t/rootfs/etc/passwd"
	echo rootfs-usr >"$t/rootfs/usr/share/marker"
	echo "$TOOLS" >"$t/rootfs/.nucleus-rootfs-store-paths"
	ROOTFS=$(nix-store --store "$t/nixroot" --add "$t/rootfs" 2>/dev/null) || fail "nix-store --add rootfs"
}

# /nix/store must exist on the host to be bound over; made only when
# there is no /nix, and removed again (a mount point elsewhere keeps it).
NIX_MADE=""
nix_mountpoint() {
	if [ ! -e /nix ]; then
		mkdir -p /nix/store && NIX_MADE=1
	fi
	[ -d /nix/store ] || fail "/nix/store is not a directory on this host"
}
nix_mountpoint_done() {
	[ -n "$NIX_MADE" ] && rmdir /nix/store /nix 2>/dev/null
	return 0
}

# CMD in a mount namespace of its own where T's store is /nix/store.
in_store_ns() { # T CMD...
	local t=$1
	shift
	unshare -m --propagation private sh -c 'mount --bind "$1/nixroot/nix/store" /nix/store && shift && exec "$@"' \
		sh "$t" "$@"
}
