# The battery, runtime state: another user must never steer nucleus through
# its state, and a crash or a full disk leaves a record and nothing else.
# Every test is named test_battery_state_* (TESTS=battery runs them all).

# Two throw-away users, an attacker and a victim, removed (with what they
# left in /tmp and the victim's sleep) when the test ends.
state_users() {
	ATTACKER=nucleus-a$$ VICTIM=nucleus-v$$ VSLEEP=
	useradd -M -s /usr/sbin/nologin "$ATTACKER" || fail "useradd"
	useradd -M -s /usr/sbin/nologin "$VICTIM" || { userdel "$ATTACKER"; fail "useradd"; }
	AUID=$(id -u "$ATTACKER") VUID=$(id -u "$VICTIM")
	VDIR=/tmp/nucleus-$VUID
	trap state_users_gone EXIT
}

state_users_gone() {
	[ -n "$VSLEEP" ] && kill "$VSLEEP" 2>/dev/null
	rm -rf "$VDIR" "/tmp/nucleus-cache-$VUID" "/tmp/nucleus-x$$"
	userdel "$ATTACKER"
	userdel "$VICTIM"
}

as_user() { # USER CMD...: without XDG_RUNTIME_DIR, so /tmp/nucleus-UID
	local u=$1
	shift
	(cd /tmp && exec setpriv --reuid="$u" --regid="$u" --clear-groups \
		env -i PATH=/usr/bin:/bin HOME=/nonexistent XDG_RUNTIME_DIR= "$@")
}

# Each verb that reads or makes state refuses the directory with one line
# saying why, exit 125. VERB... run as the victim.
assert_victim_refuses() { # WHY
	local why=$1 out st v
	for v in "ps -a" "run -- true" "kill web" "stop web" "logs web" "rm web"; do
		out=$(as_user "$VICTIM" "$NUCLEUS" $v 2>&1)
		st=$?
		assert_eq "$st" 125 "status of \`nucleus $v\` ($why)"
		assert_contains "$out" "runtime directory \`$VDIR\`" "\`nucleus $v\` names the directory ($why)"
		assert_contains "$out" "$why" "\`nucleus $v\` says why"
		assert_contains "$out" "refusing it" "\`nucleus $v\` refuses"
		assert_eq "$(echo "$out" | wc -l)" 1 "\`nucleus $v\`: one line ($why)"
	done
}

# Another user pre-creates /tmp/nucleus-<victim's uid>: owned by them, or
# the victim's but writable by all, or a symlink to a directory of the
# victim's. Each is refused before anything is read from or made in it.
test_battery_state_foreign_runtime_dir_refused() {
	state_users
	as_user "$ATTACKER" mkdir -m 0777 "$VDIR" || fail "attacker's mkdir"
	assert_victim_refuses "is owned by uid $AUID, not you (uid $VUID)"
	assert_eq "$(ls -A "$VDIR")" "" "nothing made in the attacker's directory"
	rmdir "$VDIR"
	mkdir -m 0777 "$VDIR" && chown "$VICTIM" "$VDIR" && chmod 0777 "$VDIR" || fail "world-writable dir"
	assert_victim_refuses "is writable by everyone (mode 0777)"
	rmdir "$VDIR"
	mkdir -m 0711 "/tmp/nucleus-x$$" && chown "$VICTIM" "/tmp/nucleus-x$$" || fail "victim's dir"
	as_user "$ATTACKER" ln -s "/tmp/nucleus-x$$" "$VDIR" || fail "attacker's symlink"
	assert_victim_refuses "is a symbolic link"
	assert_eq "$(ls -A "/tmp/nucleus-x$$")" "" "nothing made through the symlink"
	rm -f "$VDIR"
	# and once it is the victim's own, all is well
	assert_eq "$(as_user "$VICTIM" "$NUCLEUS" run -- "$PROBE" exit 3 >/dev/null 2>&1; echo $?)" 3 "run in a directory of the victim's"
}

# A state.json (process start time and all) the attacker wrote.
forge_state() { # DIR ID NAME PID START
	mkdir -p "$1/$2" "$1/.names" || return 1
	printf '{"version":2,"config":{"id":"%s","name":"%s","process":{"argv":["sleep"]}},"status":"running","pid":%d,"pid_start":%s,"supervisor":1,"created_ns":1,"started_ns":1,"log_path":"","audit":false}' \
		"$2" "$3" "$4" "$5" >"$1/$2/state.json" || return 1
	ln -sfn "$2" "$1/.names/$3"
}

# A NUCLEUS_ROOT of the test's own (as root, nucleus mounts a tmpfs on an
# empty one that is not a tmpfs: unmounted again by state_root_gone).
state_root() {
	mktemp -d /tmp/nucleus-state-test.XXXXXX
}

state_root_gone() { # DIR
	mountpoint -q "$1" && umount "$1"
	rm -rf "$1"
}

start_time() { # PID: field 22 of /proc/PID/stat
	sed 's/.*) //' "/proc/$1/stat" | awk '{print $20}'
}

# The reproduction: the victim's unrelated sleep, a world-writable
# /tmp/nucleus-<uid> of the attacker's holding a state.json that names it
# (with its real start time). The victim's own `nucleus kill web` must not
# signal it.
test_battery_state_forged_state_kills_nothing() {
	local id=0123456789abcdef0123456789abcdef out st
	state_users
	(cd /tmp && exec setpriv --reuid="$VICTIM" --regid="$VICTIM" --clear-groups sleep 300) &
	VSLEEP=$!
	wait_for sh -c "grep -q '^Name:.*sleep' /proc/$VSLEEP/status" || fail "the victim's sleep"
	as_user "$ATTACKER" bash -c "umask 0; mkdir -m 0777 $VDIR && $(declare -f forge_state); forge_state $VDIR $id web $VSLEEP $(start_time $VSLEEP)" ||
		fail "forge"
	for v in "kill web" "kill -s TERM $id" "stop -t 0 web" "rm -f web"; do
		out=$(as_user "$VICTIM" "$NUCLEUS" $v 2>&1)
		st=$?
		assert_eq "$st" 125 "\`nucleus $v\` refuses the attacker's state"
		assert_contains "$out" "refusing it" "\`nucleus $v\` says so"
		kill -0 "$VSLEEP" 2>/dev/null || fail "\`nucleus $v\` signalled the victim's sleep"
	done
}

# The same forgery where only the victim could have written it (a state
# file gone wrong): signals go through a pidfd of the recorded process,
# checked against its start time and against being a container's init
# (pid 1 of its own namespace) looked after by a supervisor. An ordinary
# process is never signalled, whatever the state says.
test_battery_state_forged_pid_is_never_signalled() {
	local root id1=11111111111111111111111111111111 id2=22222222222222222222222222222222 sp out st
	root=$(state_root)
	sleep 300 &
	sp=$!
	forge_state "$root" $id1 wrong-start $sp $(( $(start_time $sp) + 1 )) || fail "forge 1"
	forge_state "$root" $id2 right-start $sp $(start_time $sp) || fail "forge 2"
	for n in wrong-start right-start; do
		out=$(NUCLEUS_ROOT=$root "$NUCLEUS" kill $n 2>&1)
		st=$?
		assert_eq "$st" 1 "kill $n: status"
		assert_contains "$out" "container $n is not running" "kill $n: message"
		NUCLEUS_ROOT=$root "$NUCLEUS" stop -t 1 $n >/dev/null 2>&1
		kill -0 $sp 2>/dev/null || { state_root_gone "$root"; fail "the host's sleep was signalled ($n)"; }
	done
	kill $sp
	wait $sp 2>/dev/null
	state_root_gone "$root"
	return 0
}

# A state.json, lock or log that is a symlink is refused by every reader;
# rm still removes what a symlink for state.json left (rm follows nothing).
test_battery_state_symlinked_files_refused() {
	local root id out st secret
	root=$(state_root)
	secret=$(mktemp)
	SYM_ROOT=$root SYM_SECRET=$secret
	trap 'NUCLEUS_ROOT=$SYM_ROOT "$NUCLEUS" rm -f sym-$$ >/dev/null 2>&1; state_root_gone "$SYM_ROOT"; rm -f "$SYM_SECRET"' EXIT
	echo "not-for-your-eyes-$$" >"$secret"
	NUCLEUS_ROOT=$root "$NUCLEUS" run -d --name sym-$$ -- sh -c 'echo hello' >/dev/null || fail "run"
	wait_for sh -c "NUCLEUS_ROOT=$root '$NUCLEUS' ps -a | grep -q 'Exited (0)'" || fail "never exited"
	id=$(readlink "$root/.names/sym-$$")
	assert_eq "$(NUCLEUS_ROOT=$root "$NUCLEUS" logs sym-$$ 2>&1)" "hello" "logs before"
	# the log (kept out of the runtime directory, under the same rules)
	lp=$(sed -n 's/.*"log_path":"\([^"]*\)".*/\1/p' "$root/$id/state.json")
	[ -f "$lp" ] || fail "no log at [$lp]"
	mv "$lp" "$lp.real" && ln -s "$secret" "$lp"
	out=$(NUCLEUS_ROOT=$root "$NUCLEUS" logs sym-$$ 2>&1)
	st=$?
	assert_eq "$st" 125 "logs through a symlink: status"
	assert_contains "$out" "is a symbolic link: refusing it" "logs: message ($out)"
	assert_not_contains "$out" "not-for-your-eyes" "the symlink's target is not shown"
	mv "$lp.real" "$lp"
	# the lock
	mv "$root/$id/lock" "$root/$id/lock.real" && ln -s "$secret" "$root/$id/lock"
	out=$(NUCLEUS_ROOT=$root "$NUCLEUS" rm sym-$$ 2>&1)
	st=$?
	assert_eq "$st" 125 "rm with a symlinked lock: status"
	assert_contains "$out" "lock file \`$root/$id/lock\` is a symbolic link: refusing it" "rm: message"
	[ -d "$root/$id" ] || fail "removed despite the refusal"
	mv "$root/$id/lock.real" "$root/$id/lock"
	# state.json
	cp "$root/$id/state.json" "$root/state.copy" && ln -sf "$root/state.copy" "$root/$id/state.json"
	out=$(NUCLEUS_ROOT=$root "$NUCLEUS" logs sym-$$ 2>&1)
	st=$?
	assert_eq "$st" 125 "logs with a symlinked state: status"
	assert_contains "$out" "state file \`$root/$id/state.json\` is a symbolic link: refusing it" "logs: message"
	out=$(NUCLEUS_ROOT=$root "$NUCLEUS" ps -a 2>&1)
	assert_contains "$out" "state.json\` is a symbolic link: refusing it" "ps says which entry it skips"
	# and owned by another user, writable by others
	rm "$root/$id/state.json" && cp "$root/state.copy" "$root/$id/state.json"
	chmod 0666 "$root/$id/state.json"
	out=$(NUCLEUS_ROOT=$root "$NUCLEUS" kill sym-$$ 2>&1)
	assert_contains "$out" "is writable by everyone (mode 0666): refusing it" "a state file others may write"
	chmod 0600 "$root/$id/state.json"
	chown nobody "$root/$id/state.json"
	out=$(NUCLEUS_ROOT=$root "$NUCLEUS" kill sym-$$ 2>&1)
	assert_contains "$out" "is owned by uid $(id -u nobody), not you (uid 0): refusing it" "another's state file"
	ln -sf "$root/state.copy" "$root/$id/state.json"
	NUCLEUS_ROOT=$root "$NUCLEUS" rm sym-$$ >/dev/null || fail "rm of the entry"
	assert_eq "$(ls -A "$root" | grep -v state.copy | grep -v '^\.names$')" "" "rm left nothing"
	assert_eq "$(ls -A "$root/.names")" "" "rm released the name"
}

# A name link is read, never followed: one whose target is not an id names
# nothing, even when it has an id's length and leads to a state file.
test_battery_state_name_links_are_ids() {
	local root out far
	root=$(state_root)
	far=$(printf 'nucleus-far-%017d' $$)            # "../$far" is 32 characters
	mkdir -p "$root/.names" "/tmp/$far"
	printf '{"version":2,"config":{"id":"../%s","name":"evil","process":{"argv":["sleep"]}},"status":"exited","exit_code":0}' "$far" >"/tmp/$far/state.json"
	chmod 0600 "/tmp/$far/state.json"
	ln -s "../$far" "$root/.names/evil"
	out=$(NUCLEUS_ROOT=$root "$NUCLEUS" kill evil 2>&1)
	state_root_gone "$root"
	rm -rf "/tmp/$far"
	assert_contains "$out" "no such container: evil" "a link to a path is no container"
}

# ---- crashes leave a record -----------------------------------------------------

# Nothing of one container is left (its state, name, cgroups, mounts);
# others' containers on this host are none of this test's business.
assert_gone() { # ID NAME WHAT
	local left
	left=$(leftovers | grep -e "$1" -e "/\.names/$2\$")
	[ -z "$left" ] || fail "$3: $left"
}

ps_json_field() { # NAME FIELD
	"$NUCLEUS" ps -a --json | python3 -c 'import json,sys
for c in json.load(sys.stdin):
    if c["name"] == sys.argv[1]: print(c[sys.argv[2]])' "$1" "$2"
}

# SIGKILL the supervisor of a detached container: ps -a shows it
# "Exited (unknown)", its logs and audit log stay (with an exit event
# saying the supervisor died), nothing of it runs or holds a cgroup, and
# rm removes it with nothing left behind.
test_battery_state_killed_supervisor_keeps_record() {
	local n=lost-$$ sup pid id out
	rm_on_exit $n
	"$NUCLEUS" run -d --audit --name $n -- sh -c 'echo to-stdout; echo to-stderr >&2; exec sleep 300' >/dev/null ||
		fail "run"
	wait_for sh -c "'$NUCLEUS' logs $n 2>/dev/null | grep -q to-stdout" || fail "no output"
	sup=$(ps_json_field $n supervisor_pid)
	pid=$(ps_json_field $n pid)
	id=$(container_id $n)
	[ "$sup" -gt 0 ] && [ "$pid" -gt 0 ] || fail "pids [$sup] [$pid]"
	kill -KILL "$sup"
	wait_for sh -c "! kill -0 $sup 2>/dev/null" || fail "the supervisor lives"
	# kill finds nobody looking after it: not running (as ps shows it),
	# and whatever still runs of it goes
	out=$("$NUCLEUS" kill -s TERM $n 2>&1)
	assert_eq "$?" 1 "kill: status"
	assert_contains "$out" "container $n is not running: its supervisor is gone" "kill: message"
	out=$("$NUCLEUS" ps -a)
	assert_contains "$(echo "$out" | grep $n)" "Exited (unknown)" "ps -a"
	assert_eq "$(ps_json_field $n exit_code)" "-1" "ps --json: exit code unknown"
	assert_eq "$(ps_json_field $n status)" "exited" "ps --json: status"
	wait_for sh -c "! kill -0 $pid 2>/dev/null" || fail "the workload outlived its supervisor"
	cgroup_dir "$id" memory >/dev/null && fail "its cgroup stays"
	assert_eq "$("$NUCLEUS" logs $n 2>/dev/null)" "to-stdout" "logs: stdout"
	assert_eq "$("$NUCLEUS" logs $n 2>&1 >/dev/null)" "to-stderr" "logs: stderr"
	out=$(grep '"type":"exit"' "$(state_field $n audit_path)")
	assert_contains "$out" '"status":null' "audit: the exit, status unknown"
	assert_contains "$out" "the supervisor died or could not record the exit" "audit: why"
	assert_contains "$out" "\"supervisor_pid\":$sup" "audit: which supervisor"
	# still there on the next look; then rm
	assert_contains "$("$NUCLEUS" ps -a | grep $n)" "Exited (unknown)" "ps -a again"
	assert_eq "$("$NUCLEUS" rm $n)" "$n" "rm"
	assert_gone "$id" $n "nothing left after rm"
	assert_contains "$("$NUCLEUS" rm $n 2>&1)" "no such container" "removed"
}

# What a kept record must not hold: its published port and address (a
# bridge in a network namespace of the test's own). A container publishing
# the same port starts at once, with no rm in between.
test_battery_state_killed_supervisor_frees_port() {
	local ns=nuc-st-$$ n=pt-$$ sub sup id out
	sub=10.217.$(( ($$ + RANDOM) % 200 + 20 )).0/24
	ip netns add $ns || fail "ip netns add"
	STATE_NS=$ns STATE_INO=$(stat -L -c %i /run/netns/$ns)
	trap 'nsenter --net=/run/netns/$STATE_NS "$NUCLEUS" rm -f pt-$$ >/dev/null 2>&1; ip netns del $STATE_NS; rm -rf "$RUNTIME_DIR/.net/ns-$STATE_INO"' EXIT
	ip -n $ns link set lo up
	nsenter --net=/run/netns/$ns "$NUCLEUS" run -d --name $n --network bridge --bridge sb$$ --subnet $sub \
		-p 8123:80 -- "$PROBE" sleep 300 >/dev/null || fail "run"
	id=$(container_id $n)
	sup=$(ps_json_field $n supervisor_pid)
	kill -KILL "$sup"
	wait_for sh -c "! kill -0 $sup 2>/dev/null" || fail "the supervisor lives"
	out=$(nsenter --net=/run/netns/$ns "$NUCLEUS" run --network bridge --bridge sb$$ --subnet $sub \
		-p 8123:80 -- "$PROBE" exit 0 2>&1)
	assert_eq "$?" 0 "the same port again: $out"
	assert_contains "$("$NUCLEUS" ps -a | grep $n)" "Exited (unknown)" "the record is kept"
	assert_not_contains "$(nsenter --net=/run/netns/$ns nft list table inet nucleus 2>&1)" "$id" "its port rules"
	"$NUCLEUS" rm $n >/dev/null || fail "rm"
}

# A foreground run (removed on exit) whose supervisor is killed goes with
# it, as --rm asks; the host-wide audit log keeps its exit event.
test_battery_state_killed_foreground_supervisor_is_collected() {
	local n=fg-$$ sup id
	"$NUCLEUS" run --audit --name $n -- "$PROBE" sleep 300 >/dev/null 2>&1 &
	sup=$!
	wait_for sh -c "'$NUCLEUS' ps | grep -q $n" || wait_for sh -c "'$NUCLEUS' ps | grep -q $n" || fail "never ran"
	id=$(container_id $n)
	kill -KILL $sup
	wait $sup 2>/dev/null
	assert_eq "$("$NUCLEUS" ps -a | grep -c $n)" 0 "no record of a removed-on-exit container"
	assert_gone "$id" $n "nothing left"
	grep "\"$id\"" /var/log/nucleus/audit.jsonl | grep '"type":"exit"' | grep -q "the supervisor died or could not record the exit" ||
		fail "no exit event in the host-wide audit log"
}

# The name of a container whose supervisor died stays taken (docker: a
# stopped container keeps its name) and says by whom; a crashed start is
# collected and its name is free at once.
test_battery_state_name_of_crashed_container() {
	local n=nm-$$ sup out st pid id
	rm_on_exit $n
	"$NUCLEUS" run -d --name $n -- "$PROBE" sleep 300 >/dev/null || fail "run"
	sup=$(ps_json_field $n supervisor_pid)
	kill -KILL "$sup"
	wait_for sh -c "! kill -0 $sup 2>/dev/null" || fail "the supervisor lives"
	# no ps in between: the run itself collects first
	out=$("$NUCLEUS" run --name $n -- true 2>&1)
	st=$?
	assert_eq "$st" 125 "run --name of a crashed container's name"
	assert_contains "$out" "the container name \`$n\` is already in use by container $(container_id $n | cut -c1-12) (Exited (unknown)): remove it first (nucleus rm $n)" "says by whom"
	assert_eq "$("$NUCLEUS" ps -a | grep -c $n)" 1 "the first one is kept, once"
	"$NUCLEUS" rm $n >/dev/null || fail "rm"
	assert_eq "$("$NUCLEUS" run --name $n -- "$PROBE" exit 4 >/dev/null 2>&1; echo $?)" 4 "the name is free after rm"
	# a start whose supervisor died before it ran: the name is collected
	NUCLEUS_DEBUG_PAUSE=registered "$NUCLEUS" run -d --name $n -- "$PROBE" sleep 30 >/dev/null 2>&1 &
	wait_for sh -c "pgrep -f 'name $n' | while read p; do grep -q '^State:.*stopped' /proc/\$p/status && echo \$p; done | grep -q ." ||
		fail "the supervisor never paused"
	pid=$(pgrep -f "name $n" | while read p; do grep -q '^State:.*stopped' /proc/$p/status && echo $p; done | head -1)
	id=$(for f in /proc/$pid/fd/*; do readlink "$f"; done | sed -n "s|^$RUNTIME_DIR/\([0-9a-f]\{32\}\)/.*|\1|p" | head -1)
	[ -n "$id" ] || fail "no state directory of the paused start"
	kill -KILL "$pid"
	wait 2>/dev/null
	assert_eq "$("$NUCLEUS" run --name $n -- "$PROBE" exit 5 >/dev/null 2>&1; echo $?)" 5 "a half-dead holder is collected"
	assert_gone "$id" $n "nothing left"
}

# ---- a full disk ------------------------------------------------------------------

# The runtime directory on a 256 KiB tmpfs: a container writes until its
# log fills it and exits 3. Its exit is still recorded (Exited (3)), what
# the log lost is said by `logs` and ps --json, and another container's
# state on the same filesystem is intact.
test_battery_state_full_disk_keeps_the_exit() {
	local root out st pad=xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
	root=$(state_root)
	mount -t tmpfs -o size=256k,mode=0700 tmpfs "$root" || fail "mount"
	FULL_ROOT=$root
	# the log on the same small filesystem as the state
	export NUCLEUS_LOG_ROOT=$root/logs
	trap 'NUCLEUS_ROOT=$FULL_ROOT "$NUCLEUS" rm -f full-$$ other-$$ >/dev/null 2>&1; umount "$FULL_ROOT"; rmdir "$FULL_ROOT"' EXIT
	NUCLEUS_ROOT=$root "$NUCLEUS" run -d --name other-$$ -- sh -c 'echo still-here' >/dev/null || fail "the other"
	wait_for sh -c "NUCLEUS_ROOT=$root '$NUCLEUS' ps -a | grep other-$$ | grep -q 'Exited (0)'" || fail "the other never exited"
	NUCLEUS_ROOT=$root "$NUCLEUS" run -d --name full-$$ -- sh -c "i=0; while [ \$i -lt 4000 ]; do echo line-\$i-$pad; i=\$((i+1)); done; exit 3" >/dev/null ||
		fail "run"
	wait_for sh -c "! NUCLEUS_ROOT=$root '$NUCLEUS' ps | grep -q full-$$" || fail "never exited"
	out=$(NUCLEUS_ROOT=$root "$NUCLEUS" ps -a)
	assert_contains "$(echo "$out" | grep full-$$)" "Exited (3)" "the exit was recorded"
	assert_contains "$(echo "$out" | grep other-$$)" "Exited (0)" "the other container"
	out=$(NUCLEUS_ROOT=$root "$NUCLEUS" logs full-$$ 2>&1 >/dev/null)
	# told in the log itself once a notice fits, else by `logs` from the state
	case "$out" in
	*"of output were lost: cannot write the log"*) ;;
	*"the log of full-$$ is incomplete:"*)
		[ "$(NUCLEUS_ROOT=$root "$NUCLEUS" ps -a --json | python3 -c 'import json,sys; print([c.get("log_lost_bytes", 0) for c in json.load(sys.stdin) if c["name"] == sys.argv[1]][0])' full-$$)" -gt 0 ] ||
			fail "ps --json: log_lost_bytes" ;;
	*) fail "logs does not say output was lost: [$out]" ;;
	esac
	assert_contains "$out" "No space left on device" "logs says why"
	out=$(NUCLEUS_ROOT=$root "$NUCLEUS" logs full-$$ 2>/dev/null | head -1)
	assert_eq "$out" "line-0-$pad" "the log holds whole records"
	assert_eq "$(NUCLEUS_ROOT=$root "$NUCLEUS" logs other-$$)" "still-here" "the other's log"
	NUCLEUS_ROOT=$root "$NUCLEUS" rm full-$$ other-$$ >/dev/null || fail "rm"
	assert_eq "$(ls -A "$root" | grep -v '^\.names$' | grep -v '^logs$')" "" "nothing left"
	assert_eq "$(ls -A "$root/logs" 2>/dev/null)" "" "no log left"
}
