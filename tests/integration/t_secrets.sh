# --secret, --systemd-credential, --credentials-passthrough (docs/secrets.md):
# what the workload sees, what never holds the content, what is refused.

SECRET_VALUE=nucleus-secret-value-7f3a9c

# A directory with `key` (the secret, 0600 root) for the test; removed at exit.
secret_dir() {
	SD=$(mktemp -d /tmp/nucleus-secrets.XXXXXX)
	printf '%s' "$SECRET_VALUE" >"$SD/key"
	chmod 0600 "$SD/key"
	trap 'rm -rf "$SD"' EXIT
}

# vm-tier
test_secret_tmpfs_flags_mode_owner_content() {
	local out mi
	secret_dir
	printf 'second' >"$SD/tok"
	chmod 0400 "$SD/tok"
	out=$("$NUCLEUS" run --secret "$SD/key:/run/secrets/key" --secret "$SD/tok:/etc/app/token" -- /bin/sh -c '
		grep " /run/secrets " /proc/self/mountinfo
		echo "dir=$(stat -c "%a %u %g" /run/secrets)"
		echo "file=$(stat -c "%a %u %g" /run/secrets/key)"
		echo "content=$(cat /run/secrets/key)"
		echo "token=$(cat /etc/app/token)"
		echo "tokenmode=$(stat -c "%a %u" /etc/app/token)"
		grep " /etc/app/token " /proc/self/mountinfo
		(echo x >/run/secrets/key) 2>/dev/null || echo write=refused
		(echo x >/etc/app/token) 2>/dev/null || echo bindwrite=refused
		touch /run/secrets/new 2>/dev/null || echo create=refused
		echo "mountinfo-host-path=$(grep -c '"$SD"' /proc/self/mountinfo)"' 2>&1)
	assert_eq "$?" 0 "the run: $out"
	mi=$(echo "$out" | grep " /run/secrets ")
	for o in ro nosuid nodev noexec; do
		assert_contains "$(echo "$mi" | awk '{print $6}'),"  "$o," "/run/secrets mount flag $o"
	done
	assert_contains "$mi" "tmpfs secrets ro," "a read-only tmpfs superblock"
	assert_contains "$mi" "mode=700" "the tmpfs's mode"
	assert_contains "$out" "dir=700 0 0" "/run/secrets mode and owner"
	assert_contains "$out" "file=400 0 0" "the secret's mode and owner"
	assert_contains "$out" "content=$SECRET_VALUE" "the content"
	assert_contains "$out" "token=second" "DEST elsewhere"
	assert_contains "$out" "tokenmode=400 0" "DEST elsewhere's mode"
	mi=$(echo "$out" | grep " /etc/app/token ")
	assert_contains "$mi" "/token /etc/app/token ro,nosuid,nodev,noexec" "bound read-only from the tmpfs"
	assert_contains "$out" "write=refused" "the secret cannot be written"
	assert_contains "$out" "bindwrite=refused" "the bound secret cannot be written"
	assert_contains "$out" "create=refused" "nothing can be added"
	assert_contains "$out" "mountinfo-host-path=0" "no host path in mountinfo"
}

# vm-tier
test_secret_owned_by_workload_user() {
	local out
	secret_dir
	out=$("$NUCLEUS" run --user 1234:1234 --secret "$SD/key:/run/secrets/key" --secret "$SD/key:/srv/key2" -- /bin/sh -c '
		echo "id=$(id -u)"
		echo "dir=$(stat -c "%a %u %g" /run/secrets)"
		echo "file=$(stat -c "%a %u %g" /run/secrets/key)"
		echo "content=$(cat /run/secrets/key)"
		echo "bound=$(cat /srv/key2)"' 2>&1)
	assert_eq "$?" 0 "the run: $out"
	assert_contains "$out" "id=1234" "runs as the user"
	assert_contains "$out" "dir=700 1234 1234" "/run/secrets is the user's"
	assert_contains "$out" "file=400 1234 1234" "the file is the user's"
	assert_contains "$out" "content=$SECRET_VALUE" "the user reads it"
	assert_contains "$out" "bound=$SECRET_VALUE" "and the bound one"
}

test_secret_owned_by_mapped_user_under_userns() {
	local out
	secret_dir
	out=$("$NUCLEUS" run --userns --user 1234:1234 --secret "$SD/key:/run/secrets/key" -- /bin/sh -c '
		echo "file=$(stat -c "%a %u %g" /run/secrets/key)"
		echo "content=$(cat /run/secrets/key)"' 2>&1)
	assert_eq "$?" 0 "the run: $out"
	assert_contains "$out" "file=400 1234 1234" "owned by the mapped user, as seen inside"
	assert_contains "$out" "content=$SECRET_VALUE" "readable"
}

# The content is nowhere but in the file: not the environment, the state,
# ps --json, the audit log, the container log.
test_secret_content_not_leaked() {
	local name=sec-leak-$$ id out pid
	secret_dir
	out=$("$NUCLEUS" run --secret "$SD/key:/run/secrets/key" -- /bin/sh -c 'tr "\0" "\n" </proc/1/environ; echo ---; env' 2>&1)
	assert_eq "$?" 0 "the run: $out"
	assert_contains "$out" "PATH=" "the environment was read"
	assert_not_contains "$out" "$SECRET_VALUE" "the environment"
	"$NUCLEUS" run -d --audit --name "$name" --secret "$SD/key:/run/secrets/key" -- \
		/bin/sh -c 'cat /run/secrets/key >/dev/null; sleep 30' >/dev/null || fail "start"
	rm_on_exit "$name"
	sleep 1
	id=$(container_id "$name")
	[ -n "$id" ] || fail "no container id"
	out=$(cat "$RUNTIME_DIR/$id/state.json")
	assert_contains "$out" "\"dest\":\"/run/secrets/key\"" "the state names the secret's DEST"
	assert_not_contains "$out" "$SECRET_VALUE" "state.json"
	out=$("$NUCLEUS" ps --json)
	assert_contains "$out" "$name" "ps lists it"
	assert_not_contains "$out" "$SECRET_VALUE" "ps --json"
	out=$("$NUCLEUS" audit tail --json "$name")
	assert_contains "$out" "\"type\":\"start\"" "the audit log was read"
	assert_not_contains "$out" "$SECRET_VALUE" "the audit log"
	out=$("$NUCLEUS" logs "$name" 2>&1)
	assert_not_contains "$out" "$SECRET_VALUE" "the container log"
	pid=$(grep -o '"pid":[0-9]*' "$RUNTIME_DIR/$id/state.json" | head -1 | cut -d: -f2)
	[ -n "$pid" ] && [ -r "/proc/$pid/environ" ] || fail "no workload pid in the state"
	out=$(tr '\0' '\n' <"/proc/$pid/environ")
	assert_contains "$out" "PATH=" "the workload's environ from the host was read"
	assert_not_contains "$out" "$SECRET_VALUE" "the workload's environ from the host"
	out=$(grep -rl "$SECRET_VALUE" "$RUNTIME_DIR/$id" "$LOG_ROOT/$id" 2>/dev/null)
	assert_eq "$out" "" "files of the container holding the content"
}

# A refusal: exit 125, one line naming the flag and the path, never the content.
refuse_secret() { # WHAT MESSAGE FLAGS...
	local what=$1 msg=$2 err st
	shift 2
	err=$("$NUCLEUS" run "$@" -- /bin/true 2>&1 >/dev/null)
	st=$?
	assert_eq "$st" 125 "$what: exit status ($err)"
	assert_contains "$err" "$msg" "$what: message"
	assert_eq "$(echo "$err" | wc -l)" 1 "$what: one line"
	assert_not_contains "$err" "$SECRET_VALUE" "$what: content in the message"
}

# vm-tier
test_secret_refusals() {
	secret_dir
	refuse_secret missing "--secret \`$SD/none\`: No such file" --secret "$SD/none:/run/secrets/k"
	ln -s key "$SD/link"
	refuse_secret symlink "--secret \`$SD/link\`: a symlink is on the path" --secret "$SD/link:/run/secrets/k"
	mkdir "$SD/d" && ln -s d "$SD/dlink" && cp -p "$SD/key" "$SD/d/key"
	refuse_secret "symlink in the path" "a symlink is on the path" --secret "$SD/dlink/key:/run/secrets/k"
	mkfifo "$SD/fifo"
	refuse_secret fifo "\`$SD/fifo\`: not a regular file" --secret "$SD/fifo:/run/secrets/k"
	refuse_secret directory "\`$SD/d\`: not a regular file" --secret "$SD/d:/run/secrets/k"
	cp -p "$SD/key" "$SD/ww" && chmod 0606 "$SD/ww"
	refuse_secret world-writable "\`$SD/ww\`: writable by group or others (mode 0606)" --secret "$SD/ww:/run/secrets/k"
	cp -p "$SD/key" "$SD/gw" && chmod 0620 "$SD/gw"
	refuse_secret group-writable "writable by group or others" --secret "$SD/gw:/run/secrets/k"
	cp -p "$SD/key" "$SD/other" && chown 4321 "$SD/other"
	refuse_secret "another user's" "owned by uid 4321, not by root or the caller" --secret "$SD/other:/run/secrets/k"
	head -c 1048577 /dev/zero >"$SD/big" && chmod 0600 "$SD/big"
	refuse_secret "too large" "larger than 1048576 bytes" --secret "$SD/big:/run/secrets/k"
	refuse_secret "relative DEST" "destination \`run/k\` is not an absolute path" --secret "$SD/key:run/k"
	refuse_secret "DEST with .." "has a \`..\` component" --secret "$SD/key:/etc/../k"
	refuse_secret "DEST in /proc" "is under /proc" --secret "$SD/key:/proc/self/k"
	refuse_secret "DEST in /dev" "is under /dev" --secret "$SD/key:/dev/k"
	refuse_secret "DEST in /sys" "is under /sys" --secret "$SD/key:/sys/k"
	refuse_secret "DEST /run/secrets" "would hide /run/secrets" --secret "$SD/key:/run/secrets"
	refuse_secret "DEST twice" "DEST \`/run/secrets/k\` is given twice" \
		--secret "$SD/key:/run/secrets/k" --secret "$SD/key:/run/secrets/k"
	refuse_secret "the same name" "would both be /run/secrets/k" \
		--secret "$SD/key:/etc/k" --secret "$SD/key:/run/secrets/k"
	refuse_secret "no DEST" "expected SRC:DEST" --secret "$SD/key"
	# a content that looks like a path is not echoed either
	printf '%s' "$SECRET_VALUE" >"$SD/ww2" && chmod 0666 "$SD/ww2"
	refuse_secret "content kept out" "writable by group or others" --secret "$SD/ww2:/run/secrets/k"
}

# CMD... with CREDENTIALS_DIRECTORY a tmpfs (0500) of this test's own mount
# namespace holding db, api and `link` (a symlink out of it).
with_credentials() {
	unshare -m bash -c '
		c=$(mktemp -d /tmp/nucleus-creds.XXXXXX)
		mount -t tmpfs -o mode=0700,size=1m creds "$c" || exit 99
		printf "%s" "$1" >"$c/db"; chmod 0400 "$c/db"
		printf "api-token" >"$c/api"; chmod 0440 "$c/api"
		[ -n "$WITH_LINK" ] && ln -s /etc/passwd "$c/link"
		chmod 0500 "$c"
		shift
		CREDENTIALS_DIRECTORY=$c "$@"; rc=$?
		umount "$c"; rmdir "$c"; exit $rc' - "$SECRET_VALUE" "$@"
}

# vm-tier
test_systemd_credential() {
	local out err
	out=$(WITH_LINK=1 with_credentials "$NUCLEUS" run --systemd-credential db:/run/secrets/db \
		--systemd-credential api:/etc/api -- /bin/sh -c '
		echo "db=$(cat /run/secrets/db)"
		echo "api=$(cat /etc/api)"
		echo "mode=$(stat -c %a /run/secrets/db)"
		echo "creds=${CREDENTIALS_DIRECTORY:-unset}"' 2>&1)
	assert_eq "$?" 0 "the run: $out"
	assert_contains "$out" "db=$SECRET_VALUE" "the credential's content"
	assert_contains "$out" "api=api-token" "DEST elsewhere"
	assert_contains "$out" "mode=400" "0400"
	assert_contains "$out" "creds=unset" "no CREDENTIALS_DIRECTORY without --credentials-passthrough"
	for bad in "../x" "a/b" ".." "."; do
		err=$(with_credentials "$NUCLEUS" run --systemd-credential "$bad:/run/secrets/x" -- /bin/true 2>&1)
		assert_eq "$?" 125 "$bad: exit status ($err)"
		assert_contains "$err" "\`$bad\` is not a credential name" "$bad: message"
	done
	err=$(WITH_LINK=1 with_credentials "$NUCLEUS" run --systemd-credential link:/run/secrets/x -- /bin/true 2>&1)
	assert_eq "$?" 125 "a symlink out: exit status ($err)"
	assert_contains "$err" "--systemd-credential \`link\`: a symlink is on the path" "a symlink out: message"
	err=$(with_credentials "$NUCLEUS" run --systemd-credential nope:/run/secrets/x -- /bin/true 2>&1)
	assert_eq "$?" 125 "missing: exit status ($err)"
	assert_contains "$err" "--systemd-credential \`nope\`: No such file" "missing: message"
	err=$(env -u CREDENTIALS_DIRECTORY "$NUCLEUS" run --systemd-credential db:/run/secrets/db -- /bin/true 2>&1)
	assert_eq "$?" 125 "no CREDENTIALS_DIRECTORY: exit status ($err)"
	assert_contains "$err" "CREDENTIALS_DIRECTORY is not set" "no CREDENTIALS_DIRECTORY: message"
}

# vm-tier
test_credentials_passthrough() {
	local out err
	out=$(with_credentials "$NUCLEUS" run --user 1234:1234 --credentials-passthrough -- /bin/sh -c '
		echo "creds=$CREDENTIALS_DIRECTORY"
		echo "ls=$(ls "$CREDENTIALS_DIRECTORY" | tr "\n" " ")"
		echo "db=$(cat "$CREDENTIALS_DIRECTORY/db")"
		echo "dir=$(stat -c "%a %u" "$CREDENTIALS_DIRECTORY")"
		echo "file=$(stat -c "%a %u" "$CREDENTIALS_DIRECTORY/api")"
		tr "\0" "\n" </proc/1/environ | grep -c '"$SECRET_VALUE"' | sed "s/^/environ=/"' 2>&1)
	assert_eq "$?" 0 "the run: $out"
	assert_contains "$out" "creds=/run/secrets/credentials" "CREDENTIALS_DIRECTORY"
	assert_contains "$out" "ls=api db " "every credential"
	assert_contains "$out" "db=$SECRET_VALUE" "the content"
	assert_contains "$out" "dir=500 1234" "the directory is the workload's, read-only"
	assert_contains "$out" "file=400 1234" "the files are the workload's, 0400"
	assert_contains "$out" "environ=0" "the content is not in the environment"
	# a symlink in the directory refuses the passthrough
	err=$(WITH_LINK=1 with_credentials "$NUCLEUS" run --credentials-passthrough -- /bin/true 2>&1)
	assert_eq "$?" 125 "a symlink: exit status ($err)"
	assert_contains "$err" "--credentials-passthrough \`link\`: a symlink is on the path" "a symlink: message"
	err=$(env -u CREDENTIALS_DIRECTORY "$NUCLEUS" run --credentials-passthrough -- /bin/true 2>&1)
	assert_eq "$?" 125 "unset: exit status ($err)"
	assert_contains "$err" "--credentials-passthrough: CREDENTIALS_DIRECTORY is not set" "unset: message"
}

# An ordinary user: the supervisor reads with the user's rights, the child
# stages the tmpfs in its user namespace; the same mount, mode and owner.
test_secret_rootless() {
	local user=nucleus-s$$ out st
	secret_dir
	chmod 0755 "$SD"
	useradd -M -s /usr/sbin/nologin "$user" || fail "useradd"
	chown "$user" "$SD/key"
	cp -p "$SD/key" "$SD/root-owned" && chown root "$SD/root-owned" && chmod 0600 "$SD/root-owned"
	out=$(cd /tmp && setpriv --reuid="$user" --regid="$user" --clear-groups \
		env -i PATH=/usr/bin:/bin HOME=/nonexistent XDG_RUNTIME_DIR= sh -c '
		"$1" run --secret "$2/key:/run/secrets/key" --secret "$2/key:/srv/k2" -- /bin/sh -c "
			echo content=\$(cat /run/secrets/key)
			echo bound=\$(cat /srv/k2)
			echo dir=\$(stat -c \"%a %u\" /run/secrets)
			echo file=\$(stat -c \"%a %u\" /run/secrets/key)
			grep \" /run/secrets \" /proc/self/mountinfo"
		echo "st=$?"
		"$1" run --secret "$2/root-owned:/run/secrets/key" -- /bin/true; echo "unreadable=$?"' - "$NUCLEUS" "$SD" 2>&1)
	st=$?
	rm -rf "/tmp/nucleus-$(id -u "$user")" "/tmp/nucleus-cache-$(id -u "$user")"
	userdel "$user"
	assert_eq "$st" 0 "the runs: $out"
	assert_contains "$out" "st=0" "the run: $out"
	assert_contains "$out" "content=$SECRET_VALUE" "the content"
	assert_contains "$out" "bound=$SECRET_VALUE" "DEST elsewhere"
	assert_contains "$out" "dir=700 0" "/run/secrets, the container's root's"
	assert_contains "$out" "file=400 0" "the file, 0400"
	assert_contains "$out" "/run/secrets ro,nosuid,nodev,noexec" "the tmpfs's flags"
	# a file the user cannot read: refused with the user's rights
	assert_contains "$out" "--secret \`$SD/root-owned\`: Permission denied" "read with the caller's rights"
	assert_contains "$out" "unreadable=125" "exit status"
	assert_not_contains "$out" "$SECRET_VALUE\`" "no content in a message"
}

test_secret_with_rootfs() {
	local r out a
	secret_dir
	r="$SD/root"
	mkdir -p "$r/bin" "$r/etc" "$r/run/lock"
	cp "$(command -v busybox)" "$r/bin/busybox"
	for a in sh cat stat grep; do ln -s busybox "$r/bin/$a"; done
	echo 'root:x:0:0:rootfs-root:/root:/bin/sh' >"$r/etc/passwd"
	chmod -R go-w "$r"
	out=$("$NUCLEUS" run --rootfs "$r" --secret "$SD/key:/run/secrets/key" --secret "$SD/key:/srv/key2" -- /bin/sh -c '
		echo "content=$(cat /run/secrets/key)"
		echo "bound=$(cat /srv/key2)"
		echo "file=$(stat -c "%a %u" /run/secrets/key)"
		grep " /run/secrets " /proc/self/mountinfo
		grep " /run " /proc/self/mountinfo | tail -1' 2>&1)
	assert_eq "$?" 0 "the run: $out"
	assert_contains "$out" "content=$SECRET_VALUE" "the secret over a rootfs"
	assert_contains "$out" "bound=$SECRET_VALUE" "DEST elsewhere over a rootfs"
	assert_contains "$out" "file=400 0" "0400"
	assert_contains "$out" "/run/secrets ro,nosuid,nodev,noexec" "the tmpfs's flags"
	assert_contains "$out" "/run ro,nosuid,nodev,noexec" "/run, nucleus's, read-only"
}
