# The workload identity: --user, --group, --additional-group (by name and
# by number), what the workload can do as that user, attach and --init
# under the same identity, and the refusals. docs/identity.md.

CONFIG=$(cd "$(dirname "$NUCLEUS")/../config" 2>/dev/null && pwd || echo /payload/config)

# Commands to run when the test ends, passed or failed.
CLEANUP=""
on_exit() {
	CLEANUP="$*; $CLEANUP"
	trap 'eval "$CLEANUP"' EXIT
}

# A throw-away host user nucleus-u$$ (its own group, member of a second
# throw-away group nucleus-g$$, home /home/nucleus-u$$ not created),
# removed when the test ends. Prints nothing.
make_user() {
	U=nucleus-u$$ G=nucleus-g$$
	groupadd "$G" || fail "groupadd"
	on_exit "groupdel $G 2>/dev/null"
	useradd -M -U -G "$G" -d /home/$U -s /usr/sbin/nologin "$U" || fail "useradd"
	on_exit "userdel $U 2>/dev/null"
}

# The ids in a /proc/<pid>/status on stdin, as "UID GID GROUPS": each of
# the first two as real/effective/saved/fs, the groups comma-separated.
ids_of() {
	awk '/^Uid:/ { u = $2 "/" $3 "/" $4 "/" $5 }
	     /^Gid:/ { g = $2 "/" $3 "/" $4 "/" $5 }
	     /^Groups:/ { $1 = ""; sub(/^ +/, ""); gsub(/ +/, ","); gr = $0 }
	     END { print u, g, gr }'
}

# The init's host pid of a running container.
container_pid() { # NAME
	sed -n 's/.*"pid":\([0-9]*\).*/\1/p' "$RUNTIME_DIR/$(container_id "$1")/state.json"
}

# A refusal: 125, one line naming what is wrong, and no container made
# (no name claimed; the harness checks cgroups, state and mounts).
assert_refused() { # MESSAGE ARGS...
	local msg=$1 name=userref-$$-$RANDOM out st
	shift
	out=$("$NUCLEUS" run --name "$name" "$@" 2>&1)
	st=$?
	assert_eq "$st" 125 "status of run $*"
	assert_contains "$out" "$msg" "the message of run $*"
	assert_eq "$(echo "$out" | wc -l)" 1 "one line for run $*"
	[ -e "$RUNTIME_DIR/.names/$name" ] || [ -L "$RUNTIME_DIR/.names/$name" ] && fail "the name was claimed"
	return 0
}

# vm-tier
test_user_by_number() {
	local out
	# the original bug: getopt took --user for --userns and ran `12345`
	assert_status 0 "$NUCLEUS" run --user 12345 true
	out=$("$NUCLEUS" run --user 12345 -- cat /proc/self/status)
	# docker's rule: a uid without an entry gets gid 0
	assert_eq "$(echo "$out" | ids_of)" "12345/12345/12345/12345 0/0/0/0 0" "uid 12345, gid 0, groups 0"
	assert_contains "$out" "CapEff:	0000000000000000" "no capabilities"
	assert_contains "$out" "NoNewPrivs:	1" "no_new_privs"
	out=$("$NUCLEUS" run -u 4321:4322 -- cat /proc/self/status | ids_of)
	assert_eq "$out" "4321/4321/4321/4321 4322/4322/4322/4322 4322" "-u UID:GID"
	# the init is the same user: the command may signal it
	out=$("$NUCLEUS" run --init --user 4321 -- sh -c 'kill -0 1 && echo same-user')
	assert_eq "$out" "same-user" "the init is the workload's"
}

test_user_by_name() {
	local out uid gid g groups
	make_user
	uid=$(id -u "$U") gid=$(id -g "$U") g=$(getent group "$G" | cut -d: -f3)
	out=$("$NUCLEUS" run --user "$U" -- sh -c 'cat /proc/self/status; echo home=$HOME')
	# the passwd entry's ids and home, and the groups that list the user
	# (the kernel lists the groups sorted; so does `id -G` after sort)
	groups=$(id -G "$U" | tr ' ' '\n' | sort -n | paste -sd,)
	assert_eq "$groups" "$(printf '%s\n' "$gid" "$g" | sort -n | paste -sd,)" "the host's view"
	assert_eq "$(echo "$out" | ids_of)" "$uid/$uid/$uid/$uid $gid/$gid/$gid/$gid $groups" \
		"the user's uid, primary group and groups (initgroups)"
	assert_contains "$out" "home=/home/$U" "HOME from passwd"
	# -e HOME wins
	assert_eq "$("$NUCLEUS" run --user "$U" -e HOME=/tmp/h -- sh -c 'echo $HOME')" "/tmp/h" "-e HOME"
	# --group by name: that group and no memberships (docker's -u u:g)
	out=$("$NUCLEUS" run --user "$U" --group "$G" -- cat /proc/self/status | ids_of)
	assert_eq "$out" "$uid/$uid/$uid/$uid $g/$g/$g/$g $g" "--group NAME"
	# a uid with an entry counts as the name does
	out=$("$NUCLEUS" run --user "$uid" -- sh -c 'echo $HOME')
	assert_eq "$out" "/home/$U" "a number with an entry: its home"
}

# vm-tier
test_user_group_and_additional_groups() {
	local out
	out=$("$NUCLEUS" run --user 4321 --group 4322 --additional-group 4400 --additional-group 0 \
		--additional-group 4400 -- cat /proc/self/status | ids_of)
	# (the kernel lists the groups sorted)
	assert_eq "$out" "4321/4321/4321/4321 4322/4322/4322/4322 0,4322,4400" "the groups, once each"
	# --additional-group alone: root, with one more group
	out=$("$NUCLEUS" run --additional-group 4400 -- cat /proc/self/status | ids_of)
	assert_eq "$out" "0/0/0/0 0/0/0/0 0,4400" "root with a supplementary group"
	# a name from the host's /etc/group (root's group is named root everywhere)
	out=$("$NUCLEUS" run --user 4321 --group root -- cat /proc/self/status | ids_of)
	assert_eq "$out" "4321/4321/4321/4321 0/0/0/0 0" "--group root"
}

# vm-tier
test_user_owns_what_it_creates() {
	local n=userfiles-$$ pid out
	"$NUCLEUS" run -d --name $n --user 4321 --group 4322 -- sh -c 'echo hi > /tmp/f; sleep 30' >/dev/null || fail "start"
	on_exit "'$NUCLEUS' rm -f $n >/dev/null 2>&1"
	pid=$(container_pid $n)
	wait_for test -s /proc/$pid/root/tmp/f || fail "no file written"
	# from the host, through the container's root
	assert_eq "$(stat -c %u:%g /proc/$pid/root/tmp/f)" "4321:4322" "owner of a file in /tmp"
	"$NUCLEUS" rm -f $n >/dev/null
	# under --userns the same ids, shifted into the host range
	"$NUCLEUS" run -d --name $n --userns --user 4321 --group 4322 -- sh -c 'echo hi > /tmp/f; sleep 30' >/dev/null || fail "start (userns)"
	pid=$(container_pid $n)
	wait_for test -s /proc/$pid/root/tmp/f || fail "no file written (userns)"
	out=$(stat -c %u:%g /proc/$pid/root/tmp/f)
	assert_eq "$out" "$((100000 + 4321)):$((100000 + 4322))" "owner on the host under --userns"
	"$NUCLEUS" rm -f $n >/dev/null
}

# vm-tier
test_user_context_copy_is_the_workloads() {
	local ctx out
	ctx=$(mktemp -d)
	on_exit "rm -rf '$ctx'"
	mkdir "$ctx/sub"
	echo old > "$ctx/sub/file"
	chmod 0644 "$ctx/sub/file"
	out=$("$NUCLEUS" run --context "$ctx" --user 4321 --group 4322 -- sh -c '
		echo new > sub/file && echo changed; echo x > sub/created && echo created; mkdir -p d/e && echo dirs
		stat -c "%u:%g %n" /context /context/sub/file /context/sub/created' 2>&1)
	assert_contains "$out" "changed" "the copy's files are the workload's to write"
	assert_contains "$out" "created" "and its directories"
	assert_contains "$out" "dirs" "mkdir in /context"
	assert_contains "$out" "4321:4322 /context" "the copy's root"
	assert_contains "$out" "4321:4322 /context/sub/file" "a copied file"
	assert_contains "$out" "4321:4322 /context/sub/created" "a new file"
	assert_eq "$(cat "$ctx/sub/file")" "old" "the host's context untouched"
	# --userns: the copy's owner is the shifted uid, which the workload is
	out=$("$NUCLEUS" run --userns --context "$ctx" --user 4321 -- sh -c 'echo x > sub/file && echo changed' 2>&1)
	assert_contains "$out" "changed" "writable under --userns"
}

# vm-tier
test_user_attach_runs_as_the_same_identity() {
	local n=userattach-$$ out
	"$NUCLEUS" run -d --name $n --user 4321 --group 4322 --additional-group 4400 -- sleep 30 >/dev/null || fail "start"
	on_exit "'$NUCLEUS' rm -f $n >/dev/null 2>&1"
	out=$("$NUCLEUS" attach $n cat /proc/self/status)
	assert_eq "$(echo "$out" | ids_of)" "4321/4321/4321/4321 4322/4322/4322/4322 4322,4400" "attach's ids and groups"
	assert_contains "$out" "CapEff:	0000000000000000" "no capabilities"
	assert_contains "$out" "NoNewPrivs:	1" "no_new_privs"
	assert_contains "$out" "Seccomp:	2" "seccomp"
	assert_eq "$("$NUCLEUS" attach $n id -u)" "4321" "id -u via attach"
	"$NUCLEUS" rm -f $n >/dev/null
}

test_user_keeps_its_capability_policy() {
	local out
	# web-service.toml keeps NET_BIND_SERVICE ambient: a non-root workload has it
	out=$("$NUCLEUS" run --user 4321 --caps-policy "$CONFIG/caps/web-service.toml" -- sh -c "
		grep -E '^Cap(Prm|Eff|Amb):' /proc/self/status; id -u
		python3 -c 'import socket; s = socket.socket(); s.bind((\"127.0.0.1\", 80)); print(\"bound 80\")'" 2>&1)
	assert_contains "$out" "CapPrm:	0000000000000400" "permitted"
	assert_contains "$out" "CapEff:	0000000000000400" "effective"
	assert_contains "$out" "CapAmb:	0000000000000400" "ambient"
	assert_contains "$out" "4321" "as uid 4321"
	assert_contains "$out" "bound 80" "binds port 80 on lo"
	# without the policy, uid 4321 cannot
	out=$("$NUCLEUS" run --user 4321 -- python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 80))' 2>&1)
	assert_contains "$out" "PermissionError" "no policy: no bind below 1024"
	# attach keeps it too
	local n=usercaps-$$
	"$NUCLEUS" run -d --name $n --user 4321 --caps-policy "$CONFIG/caps/web-service.toml" -- sleep 30 >/dev/null || fail "start"
	on_exit "'$NUCLEUS' rm -f $n >/dev/null 2>&1"
	out=$("$NUCLEUS" attach $n grep -E '^CapEff:' /proc/self/status)
	assert_eq "$out" "CapEff:	0000000000000400" "attach: the same capability"
	"$NUCLEUS" rm -f $n >/dev/null
	# a policy that gives root's exec rule cannot be a non-root user's
	assert_refused "gives its capabilities to uid 0 at exec; the workload runs as uid 4321" \
		--user 4321 --caps-policy "$CONFIG/caps/docker-default.toml" -- true
}

# vm-tier
test_user_with_init() {
	local out pid st
	out=$("$NUCLEUS" run --init --user 4321 --group 4322 -- sh -c 'grep -E "^(Name|Uid|Gid):" /proc/1/status
		cat /proc/1/environ >/dev/null && echo init-is-mine')
	assert_contains "$out" "Name:	nucleus-init" "pid 1 is the init"
	assert_contains "$out" "Uid:	4321	4321	4321	4321" "the init runs as the workload uid"
	assert_contains "$out" "Gid:	4322	4322	4322	4322" "and its group"
	# as dumpable as after an exec: its workload may look at it (what
	# hidepid=invisible checks), as at any process of its own
	assert_contains "$out" "init-is-mine" "the init is the workload's to inspect"
	# and still forwards SIGTERM to the command
	out=$(mktemp)
	on_exit "rm -f '$out'"
	"$NUCLEUS" run --init --user 4321 -- sh -c 'trap "echo got-term; exit 3" TERM; echo ready; sleep 30 & wait' >"$out" 2>&1 &
	pid=$!
	wait_for grep -q ready "$out" || { kill -KILL $pid; fail "not ready"; }
	kill -TERM $pid
	wait $pid
	st=$?
	assert_eq "$st" 3 "the command's own status"
	assert_contains "$(cat "$out")" "got-term" "the command's handler ran"
}

# vm-tier
test_user_refusals() {
	assert_refused "no user \`nucleus-no-such-user\` in /etc/passwd" --user nucleus-no-such-user -- true
	assert_refused "no group \`nucleus-no-such-group\` in /etc/group" --user 4321 --group nucleus-no-such-group -- true
	assert_refused "no group \`nucleus-no-such-group\` in /etc/group" --additional-group nucleus-no-such-group -- true
	assert_refused "user id \`4294967295\` is out of range" --user 4294967295 -- true
	assert_refused "--user 1000: --rootless maps a single id" --rootless --user 1000 -- true
	assert_refused "group 5: --rootless maps a single id" --rootless --group 5 -- true
	assert_refused "--additional-group 5: supplementary groups need a user namespace that maps them: --rootless maps a single id" \
		--rootless --additional-group 5 -- true
	assert_refused "--userns: uid 70000 is outside the ids the user namespace maps (0-65535)" --userns --user 70000 -- true
	assert_refused "--userns: gid 70000 is outside" --userns --user 1:70000 -- true
	assert_refused "unknown flag \`--use\`" --use 1000 -- true
	assert_refused "names a group and a group is given as well" --user 1:2 --group 3 -- true
	# root is root under --rootless
	assert_eq "$("$NUCLEUS" run --rootless --user root -- cat /proc/self/status | ids_of | cut -d' ' -f1-2)" \
		"0/0/0/0 0/0/0/0" "--rootless --user root"
}

# A rootfs's own passwd names the user; the host's does not count there.
# vm-tier
test_user_resolved_in_the_rootfs() {
	local rootfs
	rootfs=$(mktemp -d)
	on_exit "rm -rf '$rootfs'"
	mkdir "$rootfs/etc"
	echo "svc:x:4242:4343::/srv:/bin/sh" >"$rootfs/etc/passwd"
	echo "svc:x:4343:" >"$rootfs/etc/group"
	assert_refused "no user \`root\` in $rootfs/etc/passwd" --rootfs "$rootfs" --user root -- true
	# a symlinked passwd cannot point at the host's: it resolves inside
	rm "$rootfs/etc/passwd"
	ln -s /etc/shadow-of-nothing "$rootfs/etc/passwd"
	assert_refused "user \`svc\`: cannot read $rootfs/etc/passwd: No such file or directory" --rootfs "$rootfs" --user svc -- true
	ln -sf /etc/passwd "$rootfs/etc/passwd"
	assert_refused "user \`root\`: cannot read $rootfs/etc/passwd: Too many levels of symbolic links" \
		--rootfs "$rootfs" --user root -- true
}

# Whatever supplementary groups started nucleus (here disk and cdrom) are
# not the workload's: as root without --user it has none, with --user
# exactly those resolved.
test_callers_supplementary_groups_do_not_reach_the_workload() {
	local out
	out=$(setpriv --groups 6,24 "$NUCLEUS" run -- sh -c 'grep ^Groups: /proc/self/status' 2>&1)
	assert_eq "$(echo "$out" | tr -d ' \t')" "Groups:" "no supplementary groups"
	out=$(setpriv --groups 6,24 "$NUCLEUS" run --user 1234 -- sh -c 'grep ^Groups: /proc/self/status' 2>&1)
	assert_not_contains "$out" "24" "--user: the caller's groups dropped"
}
