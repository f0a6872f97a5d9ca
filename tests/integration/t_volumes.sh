# --volume SRC:DEST[:OPTS] and --tmpfs DEST[:OPTS] (docs/volumes.md):
# what the workload sees (the mount flags from its mountinfo, writes that
# work or fail with EROFS, programs that run or do not), what the host
# sees afterwards, and the refusals: status 125, one line, nothing left.

# nucleus run FLAGS... -- probe exit 0 is refused: 125, one line holding
# WANT, nothing left behind.
vol_refused() { # WANT FLAGS...
	local want=$1 out
	shift
	out=$(run_refused volref-$$ "$@") || exit 1
	assert_contains "$out" "$want" "the message of run $*"
}

# The mount options (the 6th field) of DEST in a mountinfo text.
mnt_opts() { # MOUNTINFO DEST
	echo "$1" | awk -v d="$2" '$5 == d { print $6 }'
}

# vm-tier
test_volume_ro_and_rw() {
	local t out
	t=$(mktemp -d /tmp/vol.XXXXXX)
	mkdir "$t/rw" "$t/ro"
	echo host >"$t/ro/f"
	out=$("$NUCLEUS" run -v "$t/rw:/data:rw" -v "$t/ro:/conf:ro" -- /bin/sh -c '
		echo inside >/data/new && echo wrote=ok
		echo "read=$(cat /conf/f)"
		'"$PROBE"' write /conf/x; echo "ro=$?"
		'"$PROBE"' mkdir /conf/d; echo "rodir=$?"
		cat /proc/self/mountinfo' 2>&1)
	assert_contains "$out" "wrote=ok" "a write to the rw volume (Landlock grants it too)"
	assert_eq "$(cat "$t/rw/new" 2>/dev/null)" "inside" "the write seen on the host"
	assert_contains "$out" "read=host" "the ro volume's content"
	assert_contains "$out" "ro=30" "a write to the ro volume: EROFS"
	assert_contains "$out" "rodir=30" "a mkdir in the ro volume: EROFS"
	[ ! -e "$t/ro/x" ] || fail "the ro volume was written"
	assert_eq "$(mnt_opts "$out" /data | tr , '\n' | grep -cxE 'rw|nosuid|nodev|noexec')" 4 \
		"/data is rw,nosuid,nodev,noexec: $(mnt_opts "$out" /data)"
	assert_eq "$(mnt_opts "$out" /conf | tr , '\n' | grep -cxE 'ro|nosuid|nodev|noexec')" 4 \
		"/conf is ro,nosuid,nodev,noexec: $(mnt_opts "$out" /conf)"
	rm -rf "$t"
}

# Agent mode's default is rw; `exec` lifts noexec (and Landlock lets it
# run); without it a program on the volume does not run.
# vm-tier
test_volume_agent_default_and_exec() {
	local t out
	t=$(mktemp -d /tmp/vol.XXXXXX)
	mkdir "$t/bin"
	cp "$PROBE" "$t/bin/probe"
	out=$("$NUCLEUS" run -v "$t/bin:/opt/bin" -- /bin/sh -c '
		touch /opt/bin/w && echo default=rw
		/opt/bin/probe exit 7; echo "noexec=$?"
		grep " /opt/bin " /proc/self/mountinfo' 2>&1)
	assert_contains "$out" "default=rw" "agent mode: rw by default"
	assert_not_contains "$out" "noexec=7" "a program on a noexec volume ran"
	assert_contains "$(mnt_opts "$out" /opt/bin)" "noexec" "noexec by default"
	out=$("$NUCLEUS" run -v "$t/bin:/opt/bin:ro,exec" -- /bin/sh -c '
		/opt/bin/probe exit 7; echo "exec=$?"
		grep " /opt/bin " /proc/self/mountinfo' 2>&1)
	assert_contains "$out" "exec=7" "exec: the program ran"
	assert_not_contains "$(mnt_opts "$out" /opt/bin)" "noexec" "exec: no noexec"
	assert_contains "$(mnt_opts "$out" /opt/bin)" "nosuid" "exec: still nosuid"
	rm -rf "$t"
}

# A file bound on a file.
# vm-tier
test_volume_file() {
	local t out
	t=$(mktemp -d /tmp/vol.XXXXXX)
	echo 'key = 1' >"$t/app.toml"
	out=$("$NUCLEUS" run -v "$t/app.toml:/etc/app.toml:ro" -- /bin/sh -c '
		echo "content=$(cat /etc/app.toml)"
		[ -f /etc/app.toml ] && echo file=ok
		'"$PROBE"' write /etc/app.toml; echo "ro=$?"' 2>&1)
	assert_contains "$out" "content=key = 1" "the file's content"
	assert_contains "$out" "file=ok" "a regular file"
	assert_contains "$out" "ro=30" "read-only: EROFS"
	assert_eq "$(cat "$t/app.toml")" "key = 1" "the host file unchanged"
	rm -rf "$t"
}

# :U chowns the source (recursively, a symlink itself and not its target)
# to the workload's user, who can then write; the host sees the owner.
# vm-tier
test_volume_chown_U() {
	local t out
	t=$(mktemp -d /tmp/vol.XXXXXX)
	mkdir -p "$t/data/sub"
	echo x >"$t/data/sub/f"
	echo keep >"$t/target"
	ln -s "$t/target" "$t/data/link"
	out=$("$NUCLEUS" run --user 1234 -v "$t/data:/data:U" -- /bin/sh -c '
		echo "owner=$(stat -c %u /data) $(stat -c %u /data/sub/f)"
		echo y >/data/sub/g && echo wrote=ok' 2>&1)
	assert_contains "$out" "owner=1234 1234" "owned by the workload inside: $out"
	assert_contains "$out" "wrote=ok" "the workload writes"
	assert_eq "$(stat -c %u "$t/data") $(stat -c %u "$t/data/sub") $(stat -c %u "$t/data/sub/g")" \
		"1234 1234 1234" "the host's owner after"
	assert_eq "$(stat -c %u "$t/data/link")" 1234 "the symlink itself chowned"
	assert_eq "$(stat -c %u "$t/target")" 0 "its target not (symlinks are not followed)"
	# again: a source the workload already owns is accepted
	assert_status 0 "$NUCLEUS" run --user 1234 -v "$t/data:/data:U" -- /bin/true
	# a source owned by someone else is refused, and left alone
	mkdir "$t/other"
	chown 4321 "$t/other"
	vol_refused ":U refused: the source is owned by uid 4321" --user 1234 -v "$t/other:/data:U"
	assert_eq "$(stat -c %u "$t/other")" 4321 "the other's directory unchanged"
	vol_refused ":U refused on the host's /" --user 1234 -v "//.:/data:U"
	vol_refused ":U refused on the host's /etc" --user 1234 -v "/etc/../etc/:/data:U"
	assert_eq "$(stat -c %u /) $(stat -c %u /etc)" "0 0" "the host's root and /etc unchanged"
	rm -rf "$t"
}

# Production: a volume without ro or rw is read-only; :rw is writable.
# (Not in the VM tier: production needs Landlock ABI 3.)
test_volume_production_default_ro() {
	local t out
	t=$(mktemp -d /tmp/vol.XXXXXX)
	mkdir "$t/conf" "$t/state"
	out=$("$NUCLEUS" run --service-mode production --memory 64M --no-rootfs-attestation --no-audit \
		-v "$t/conf:/conf" -v "$t/state:/state:rw" -- /bin/sh -c '
		'"$PROBE"' write /conf/x; echo "conf=$?"
		echo s >/state/s && echo state=ok' 2>&1)
	assert_contains "$out" "conf=30" "production's default is read-only: $out"
	assert_contains "$out" "state=ok" "an explicit rw volume is written"
	[ ! -e "$t/conf/x" ] || fail "the default volume was written"
	assert_eq "$(cat "$t/state/s" 2>/dev/null)" s "the state on the host"
	rm -rf "$t"
}

# A busybox rootfs (root-owned, not writable by others) with `data ->
# /etc` and an empty /srv.
make_volume_rootfs() { # DIR
	local a
	mkdir -p "$1/bin" "$1/srv" "$1/etc"
	cp "$(command -v busybox)" "$1/bin/busybox"
	for a in sh cat touch; do
		ln -s busybox "$1/bin/$a"
	done
	echo 'root:x:0:0:root:/root:/bin/sh' >"$1/etc/passwd"
	ln -s /etc "$1/data"
	chmod -R go-w "$1"
}

# A symlink in the rootfs never redirects a mount: -v SRC:/data/x with
# `data -> /etc` in the rootfs is refused, the host's /etc untouched; a
# destination missing from the read-only rootfs is refused clearly; one
# that exists is used.
# vm-tier
test_volume_rootfs_symlinked_dest_refused() {
	local t out st name
	t=$(mktemp -d /tmp/vol.XXXXXX)
	make_volume_rootfs "$t/root"
	mkdir "$t/src"
	echo mine >"$t/src/f"
	name=volsym$$
	vol_refused "a symlink or a file on the way (never followed)" --rootfs "$t/root" -v "$t/src:/data/$name"
	[ ! -e "/etc/$name" ] || { rm -rf "/etc/$name"; fail "a mount point was made in the host's /etc"; }
	vol_refused "volume \`/data\`: a symlink or a file on the way" --rootfs "$t/root" -v "$t/src:/data"
	vol_refused "the mount point does not exist and its directory is read-only" \
		--rootfs "$t/root" -v "$t/src:/bin/new"
	out=$("$NUCLEUS" run --rootfs "$t/root" -v "$t/src:/srv:ro" -- /bin/cat /srv/f 2>&1)
	st=$?
	assert_eq "$st" 0 "a destination the rootfs has: $out"
	assert_eq "$out" mine "the volume's content at /srv"
	# a tmpfs as well
	vol_refused "a symlink or a file on the way" --rootfs "$t/root" --tmpfs "/data/$name"
	[ ! -e "/etc/$name" ] || { rm -rf "/etc/$name"; fail "a tmpfs mount point was made in the host's /etc"; }
	rm -rf "$t"
}

# A symlinked source is refused (not followed), as are a missing one, a
# fifo, and a destination nucleus builds or that escapes with `..`.
# vm-tier
test_volume_refusals() {
	local t
	t=$(mktemp -d /tmp/vol.XXXXXX)
	mkdir "$t/src"
	ln -s "$t/src" "$t/link"
	mkfifo "$t/fifo"
	vol_refused "--volume source \`$t/link\` is a symlink (not followed" -v "$t/link:/data"
	vol_refused "--volume source \`$t/missing\`: No such file or directory" -v "$t/missing:/data"
	vol_refused "is not a directory or a regular file" -v "$t/fifo:/data"
	vol_refused "has a \`..\` component" -v "$t/src:/data/../etc"
	vol_refused "is under /proc" -v "$t/src:/proc/sys"
	vol_refused "cannot be \`/\`" -v "$t/src:/"
	vol_refused "the source \`src\` is not an absolute path" -v "src:/data"
	vol_refused "unknown option \`z\`" -v "$t/src:/data:z"
	vol_refused "is the destination of two volumes or tmpfs mounts" -v "$t/src:/data" --tmpfs /data/
	vol_refused "--tmpfs \`/t\` size 128M is more than --memory 64M" --memory 64M --tmpfs /t:size=128m
	vol_refused "invalid mode" --tmpfs /t:mode=999
	rm -rf "$t"
}

# Every tmpfs has a size: a write past it is ENOSPC; its mode and flags
# are the ones asked for; `exec` lifts noexec.
# vm-tier
test_tmpfs_size_mode_flags() {
	local out
	out=$("$NUCLEUS" run --tmpfs /scratch:size=1m,mode=0700 --tmpfs /fast:exec -- /bin/sh -c '
		dd if=/dev/zero of=/scratch/big bs=4096 count=512 2>/dev/null; echo "dd=$?"
		echo "size=$(du -k /scratch/big | cut -f1)"
		echo "mode=$(stat -c %a /scratch) $(stat -c %a /fast)"
		cp '"$PROBE"' /fast/p && /fast/p exit 9; echo "exec=$?"
		cat /proc/self/mountinfo' 2>&1)
	assert_contains "$out" "dd=1" "a write past the size fails"
	assert_contains "$out" "size=1024" "it stops at 1M"
	assert_contains "$out" "mode=700 1777" "the modes (1777 by default)"
	assert_contains "$out" "exec=9" "exec: a program on it runs"
	assert_eq "$(mnt_opts "$out" /scratch | tr , '\n' | grep -cxE 'rw|nosuid|nodev|noexec')" 4 \
		"/scratch is rw,nosuid,nodev,noexec: $(mnt_opts "$out" /scratch)"
	assert_contains "$(echo "$out" | awk '$5 == "/scratch"')" "size=1024k" "the superblock's size"
	# the default size, 64M at most (here --memory's 32M)
	out=$("$NUCLEUS" run --memory 32M --tmpfs /t -- /bin/sh -c 'grep " /t " /proc/self/mountinfo' 2>&1)
	assert_contains "$out" "size=32768k" "the default size capped by --memory: $out"
	out=$("$NUCLEUS" run --tmpfs /t -- /bin/sh -c 'grep " /t " /proc/self/mountinfo' 2>&1)
	assert_contains "$out" "size=65536k" "the default size: $out"
}

# ENOSPC itself, as the probe sees it.
# vm-tier
test_tmpfs_enospc() {
	local out
	out=$("$NUCLEUS" run --tmpfs /s:size=64k -- /bin/sh -c '
		dd if=/dev/zero of=/s/a bs=4096 count=16 2>/dev/null
		'"$PROBE"' write /s/b; echo "errno=$?"' 2>&1)
	assert_contains "$out" "errno=28" "ENOSPC at the size: $out"
}

# Landlock grants what the mounts allow, under the default rules and under
# a policy file that names neither: writing to a rw volume and a tmpfs,
# running a program from an exec one (each an EACCES without the grant).
# vm-tier
test_volume_landlock_grants() {
	local t out policy
	policy=$(cd "$(dirname "$NUCLEUS")/../config" 2>/dev/null && pwd || echo /payload/config)/landlock/agent.toml
	[ -f "$policy" ] || fail "no $policy"
	t=$(mktemp -d /tmp/vol.XXXXXX)
	mkdir "$t/ctx" "$t/data" "$t/bin"
	cp "$PROBE" "$t/bin/probe"
	out=$("$NUCLEUS" run --context "$t/ctx" --landlock-policy "$policy" \
		-v "$t/data:/data:rw" -v "$t/bin:/opt/bin:ro,exec" --tmpfs /scratch -- /bin/sh -c '
		echo v >/data/v && echo volume=ok
		mkdir /data/d && echo mkdir=ok
		echo s >/scratch/s && echo tmpfs=ok
		/opt/bin/probe exit 5; echo "exec=$?"' 2>&1)
	assert_contains "$out" "volume=ok" "a policy: the rw volume written: $out"
	assert_contains "$out" "mkdir=ok" "a policy: a directory made in it"
	assert_contains "$out" "tmpfs=ok" "a policy: the tmpfs written"
	assert_contains "$out" "exec=5" "a policy: a program on the exec volume runs"
	assert_eq "$(cat "$t/data/v")" v "the write on the host"
	rm -rf "$t"
}
