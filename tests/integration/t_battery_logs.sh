# The battery, logs and disk: a container's log and audit log are capped
# and rotated (docker's max-size/max-file), live out of the shared runtime
# tmpfs and go with the container, are read back across rotations (saying
# when history is gone), and a full disk is counted and told, never fatal.

wait_gone_or_exited() { # NAME [TRIES of 0.1 s]
	local i
	for i in $(seq 1 "${2:-600}"); do
		"$NUCLEUS" ps -a | grep " $1 " | grep -q Up || return 0
		sleep 0.1
	done
	return 1
}

# 50 MB of output under --log-opt max-size=1m --log-opt max-file=2: at most
# two files of about 1 MiB are left, and --tail reads the newest lines.
test_battery_logs_capped_and_rotated() {
	local lp total n want
	"$NUCLEUS" run -d --name blc-$$ --log-opt max-size=1m --log-opt max-file=2 -- \
		seq -f '%0100g' 1 500000 >/dev/null || fail "start"
	rm_on_exit blc-$$
	wait_gone_or_exited blc-$$ || fail "did not exit"
	lp=$(state_field blc-$$ log_path)
	[ -f "$lp" ] || fail "no log at [$lp]"
	n=$(ls "$lp"* | wc -l)
	assert_eq "$n" 2 "files: $(ls -l "$lp"*)"
	[ -e "$lp.2" ] && fail "a third file"
	total=$(cat "$lp" "$lp.1" | wc -c)
	# each file ends before the write that would take it past 1 MiB
	[ "$total" -le $((2 * 1048576)) ] || fail "$total bytes of log files"
	[ "$total" -ge 1048576 ] || fail "only $total bytes kept"
	want=$(seq -f '%0100g' 499996 500000)
	assert_eq "$("$NUCLEUS" logs --tail 5 blc-$$)" "$want" "logs --tail 5"
	# all that is kept, in order, up to the last line
	assert_eq "$("$NUCLEUS" logs blc-$$ | tail -1)" "$(seq -f '%0100g' 500000 500000)" "logs: last line"
	"$NUCLEUS" logs blc-$$ | tail -n +2 | awk '{ if (NR > 1 && $1 != prev + 1) { print "gap at " $1; exit 1 } prev = $1 }' ||
		fail "lines out of order or missing across the rotated files"
	"$NUCLEUS" rm blc-$$ >/dev/null
}

test_battery_logs_bad_log_opt_refused() {
	local opt out key
	for opt in "--log-opt foo=1" "--log-opt max-size=0" "--log-opt max-file=0" "--log-opt max-size=ten" \
		"--log-opt max-size" "--log-opt max-file=101" "--audit-opt max-file=0" "--audit-opt colour=red"; do
		# shellcheck disable=SC2086
		out=$("$NUCLEUS" run -d --name blb-$$ $opt -- true 2>&1)
		assert_eq "$?" 125 "status of $opt"
		assert_eq "$(echo "$out" | wc -l)" 1 "one line for $opt: $out"
		key=${opt#* }
		assert_contains "$out" "${opt%% *} \`${key%%=*}" "names the flag and the key: $out"
	done
	"$NUCLEUS" ps -a | grep -q " blb-$$ " && fail "a container was created"
	# docker's spellings are taken
	assert_eq "$("$NUCLEUS" run --log-opt max-size=10m --log-opt max-file=3 --audit-opt max-size=512k \
		--audit-opt max-file=1 -- echo ok 2>&1)" ok "valid values"
}

# The reproduction: the runtime directory is a small tmpfs shared by every
# container (here one of 16 MiB, as paths.c mounts 64 MiB where /run is
# not a tmpfs). A container writing 200 MB as fast as it can must not make
# another container's start fail.
test_battery_logs_chatty_container_cannot_fail_another_start() {
	local root rc
	root=$(mktemp -d)
	mount -t tmpfs -o size=16m,mode=0711 tmpfs "$root" || fail "mount"
	(
		export NUCLEUS_ROOT=$root RUNTIME_DIR=$root
		local other lp total used
		trap '"$NUCLEUS" rm -f chatty-$$ other-$$ >/dev/null 2>&1' EXIT
		# still running afterwards: nothing may collect it to make room
		"$NUCLEUS" run -d --name chatty-$$ -- sh -c \
			'yes 012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789012345678 |
			 head -c 209715200; echo done-writing; sleep 60' >/dev/null || fail "start the chatty one"
		for _ in $(seq 1 600); do
			[ "$(du -sm "$root" | cut -f1)" -ge 15 ] && break
			"$NUCLEUS" logs --tail 1 chatty-$$ 2>/dev/null | grep -q done-writing && break
			sleep 0.1
		done
		other=$("$NUCLEUS" run -d --name other-$$ -- sleep 5 2>&1)
		assert_eq "$?" 0 "another container's start: $other"
		assert_eq "$("$NUCLEUS" run -- echo ok 2>&1)" ok "a foreground run"
		assert_eq "$("$NUCLEUS" logs --tail 1 chatty-$$)" done-writing "the chatty one wrote it all"
		# the runtime tmpfs holds small state only
		used=$(du -sk "$root" | cut -f1)
		[ "$used" -lt 1024 ] || fail "the runtime tmpfs holds ${used} KiB: $(du -ak "$root" | sort -n | tail -3)"
		# and the chatty one's log stays within the default cap (10m x 3)
		lp=$(state_field chatty-$$ log_path)
		total=$(cat "$lp"* | wc -c)
		[ "$total" -le $((30 * 1048576)) ] || fail "$total bytes of log"
		[ "$total" -ge $((20 * 1048576)) ] || fail "only $total bytes of log kept"
		"$NUCLEUS" rm -f chatty-$$ other-$$ >/dev/null || fail "rm"
		[ -e "$lp" ] && fail "the log outlived the container"
		trap - EXIT
	)
	rc=$?
	umount "$root" && rmdir "$root"
	return $rc
}

# logs -f keeps reading across rotations: every line, in order, once.
test_battery_logs_follow_across_rotation() {
	local dir pid lp
	dir=$(mktemp -d)
	"$NUCLEUS" run -d --name blf-$$ --log-opt max-size=1k --log-opt max-file=2 -- sh -c \
		'sleep 0.5; i=1; while [ $i -le 40 ]; do echo line-$i; i=$((i+1)); sleep 0.05; done' >/dev/null ||
		fail "start"
	rm_on_exit blf-$$
	"$NUCLEUS" logs -f blf-$$ >"$dir/out" 2>"$dir/err" &
	pid=$!
	wait $pid || fail "logs -f failed: $(cat "$dir/err")"
	assert_eq "$(tr '\n' ' ' <"$dir/out")" "$(seq -f 'line-%g' 1 40 | tr '\n' ' ')" "what -f printed"
	lp=$(state_field blf-$$ log_path)
	[ -e "$lp.1" ] || fail "the log never rotated"
	# after the run, only the newest ~2 KiB are left
	assert_ne "$("$NUCLEUS" logs blf-$$ | head -1)" "line-1" "the oldest lines were rotated away"
	assert_eq "$("$NUCLEUS" logs blf-$$ | tail -1)" "line-40" "the newest line"
	"$NUCLEUS" rm blf-$$ >/dev/null
	rm -rf "$dir"
}

host_count() { # ID: the container's events in the host-wide log, every file of it
	cat /var/log/nucleus/audit.jsonl.* /var/log/nucleus/audit.jsonl 2>/dev/null | grep -c "\"id\":\"$1\""
}

# The audit log of a container rotates under --audit-opt; `audit tail`
# reads every file, oldest first, and says how much history is gone.
test_battery_logs_audit_tail_across_rotations() {
	local id ap out n lost shown err
	# rotated, nothing lost: every event, in order
	"$NUCLEUS" run -d --audit --audit-opt max-size=4k --audit-opt max-file=20 --name bar-$$ -- sh -c \
		'i=0; while [ $i -lt 30 ]; do /bin/true; i=$((i+1)); done' >/dev/null || fail "start"
	rm_on_exit bar-$$
	wait_for sh -c "'$NUCLEUS' audit tail --json --type exit bar-$$ | grep -q exit" || fail "no exit"
	id=$(container_id bar-$$)
	ap=$(state_field bar-$$ audit_path)
	[ -e "$ap.2" ] || fail "not rotated twice: $(ls -l "$ap"*)"
	out=$("$NUCLEUS" audit tail --json bar-$$)
	assert_eq "$(echo "$out" | wc -l)" "$(host_count "$id")" "every event"
	assert_eq "$(echo "$out" | grep -c '"filename":"/bin/true"')" 30 "the execs"
	assert_eq "$(echo "$out" | sed -n 's/.*"type":"\([a-z_]*\)","source":"runtime".*/\1/p' | tr '\n' ' ')" \
		"audit create capabilities seccomp landlock start exit " "runtime events in order"
	assert_not_contains "$out" "history_lost" "nothing lost"
	assert_not_contains "$out" '"type":"rotated"' "rotation markers are not events"

	# the oldest files rotated away: the count of what is gone is exact
	"$NUCLEUS" run -d --audit --audit-opt max-size=4k --audit-opt max-file=2 --name bal-$$ -- sh -c \
		'i=0; while [ $i -lt 200 ]; do /bin/true; i=$((i+1)); done' >/dev/null || fail "start"
	rm_on_exit bar-$$ bal-$$
	wait_for sh -c "'$NUCLEUS' audit tail --json --type exit bal-$$ | grep -q exit" || fail "no exit"
	id=$(container_id bal-$$)
	ap=$(state_field bal-$$ audit_path)
	[ -e "$ap.2" ] && fail "more files than max-file"
	out=$("$NUCLEUS" audit tail --json bal-$$)
	assert_contains "$(echo "$out" | head -1)" '"type":"history_lost"' "the first record says so"
	lost=$(echo "$out" | head -1 | sed -n 's/.*"events":\([0-9]*\).*/\1/p')
	shown=$(echo "$out" | tail -n +2 | wc -l)
	[ "${lost:-0}" -gt 0 ] || fail "no count: $(echo "$out" | head -1)"
	assert_eq "$((lost + shown))" "$(host_count "$id")" "lost + shown = every event written"
	assert_contains "$(echo "$out" | tail -1)" '"type":"exit"' "the newest event"
	err=$("$NUCLEUS" audit tail bal-$$ 2>&1 >/dev/null)
	assert_eq "$(echo "$err" | wc -l)" 1 "one line: $err"
	assert_contains "$err" "its first $lost events were rotated away" "human form"
	# -n: only the newest events, no word about the beginning
	assert_eq "$("$NUCLEUS" audit tail --json -n 3 bal-$$ | grep -c history_lost)" 0 "-n 3"
	# -f follows the log into each new file: it sees every event written
	"$NUCLEUS" run -d --audit --audit-opt max-size=2k --audit-opt max-file=2 --name baf-$$ -- sh -c \
		'sleep 0.3; i=0; while [ $i -lt 30 ]; do /bin/true; i=$((i+1)); sleep 0.05; done' >/dev/null ||
		fail "start"
	rm_on_exit bar-$$ bal-$$ baf-$$
	out=$("$NUCLEUS" audit tail -f --json -n 1000 baf-$$)
	ap=$(state_field baf-$$ audit_path)
	[ -e "$ap.1" ] || fail "not rotated"
	assert_contains "$(echo "$out" | tail -1)" '"type":"exit"' "-f: to the end"
	assert_eq "$(echo "$out" | grep -vc history_lost)" "$(host_count "$(container_id baf-$$)")" \
		"-f: every event, across rotations"
	"$NUCLEUS" rm baf-$$ >/dev/null
	# once removed, the host log still has all of it
	"$NUCLEUS" rm bar-$$ bal-$$ >/dev/null
	n=$("$NUCLEUS" audit tail --json bal-$$ | grep -vc history_lost)
	assert_eq "$n" "$(host_count "$id")" "from the host log after rm"
}

# A full disk: the output and the events that cannot be written are
# counted, the workload never waits for the disk, its exit is recorded,
# and once there is room again the log says what was lost.
test_battery_logs_full_disk_counted_and_told() {
	local lr ctx rc out err
	lr=$(mktemp -d)
	ctx=$(mktemp -d)
	mount -t tmpfs -o size=2m,mode=0700 tmpfs "$lr" || fail "mount"
	(
		export NUCLEUS_LOG_ROOT=$lr
		trap '"$NUCLEUS" rm -f blx-$$ >/dev/null 2>&1' EXIT
		"$NUCLEUS" run -d --audit --name blx-$$ --context "$ctx" --context-mode bind -- sh -c \
			'while [ ! -e /context/full ]; do sleep 0.1; done
			 yes 0123456789012345678901234567890123456789 | head -c 3000000
			 for i in 1 2 3; do /bin/true; done
			 while [ ! -e /context/go ]; do sleep 0.1; done
			 echo after; /bin/true' >/dev/null || fail "start"
		# the disk full to the last block, then the output and the events
		head -c 4M /dev/zero >"$lr/filler" 2>/dev/null
		touch "$ctx/full"
		sleep 2
		"$NUCLEUS" ps -a | grep " blx-$$ " | grep -q Up || fail "not running on a full disk"
		rm -f "$lr/filler"
		touch "$ctx/go"
		wait_gone_or_exited blx-$$ 100 || fail "the workload waited for the disk"
		"$NUCLEUS" ps -a | grep " blx-$$ " | grep -q "Exited (0)" || fail "exit not recorded: $("$NUCLEUS" ps -a)"
		out=$("$NUCLEUS" logs blx-$$ 2>/dev/null)
		err=$("$NUCLEUS" logs blx-$$ 2>&1 >/dev/null)
		assert_eq "$(echo "$out" | wc -l)" 1 "lines of output kept (only what came once there was room)"
		assert_eq "$out" "after" "the output written once there was room"
		assert_contains "$err" "of output were lost: cannot write the log: No space left on device" "told"
		assert_eq "$(echo "$err" | wc -l)" 1 "told once: $err"
		out=$("$NUCLEUS" audit tail --json blx-$$)
		assert_contains "$out" '"type":"audit_lost"' "the audit says events were lost"
		assert_contains "$out" '"reason":"write failed: No space left on device"' "and why"
		assert_contains "$(echo "$out" | tail -1)" '"type":"exit"' "the exit is recorded"
		"$NUCLEUS" rm blx-$$ >/dev/null || fail "rm"
		trap - EXIT
	)
	rc=$?
	umount "$lr" && rmdir "$lr"
	rm -rf "$ctx"
	return $rc
}

# The logs live out of the runtime directory, and go with the container:
# rm, --rm, foreground runs; what a reboot left behind is collected.
test_battery_logs_removed_with_the_container() {
	local lp id orphan other
	"$NUCLEUS" run -d --audit --name blr-$$ -- echo hi >/dev/null || fail "start"
	rm_on_exit blr-$$
	wait_gone_or_exited blr-$$ || fail "did not exit"
	lp=$(state_field blr-$$ log_path)
	case "$lp" in "$RUNTIME_DIR"/*) fail "the log is in the runtime directory: $lp" ;; esac
	assert_eq "$(dirname "$(state_field blr-$$ audit_path)")" "$(dirname "$lp")" "one directory"
	assert_eq "$(stat -c %a "$(dirname "$lp")")" 700 "its mode"
	assert_eq "$("$NUCLEUS" logs blr-$$)" hi "logs"
	"$NUCLEUS" rm blr-$$ >/dev/null
	[ -e "$(dirname "$lp")" ] && fail "rm left $(dirname "$lp")"
	id=$("$NUCLEUS" run -d --rm --audit -- true) || fail "start --rm"
	wait_for sh -c "[ ! -e '$RUNTIME_DIR/$id' ]" || fail "--rm: still there"
	[ -e "$LOG_ROOT/$id" ] && fail "--rm left $LOG_ROOT/$id"
	"$NUCLEUS" run --audit -- true || fail "a foreground run"
	# a reboot empties the runtime directory, not the disk
	local gone_root other_root gone
	orphan=$LOG_ROOT/$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
	other=$LOG_ROOT/$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
	gone=$LOG_ROOT/$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
	other_root=$(mktemp -d)
	gone_root=$(mktemp -d)
	rmdir "$gone_root"
	mkdir -m 0700 "$orphan" "$other" "$gone"
	printf '%s' "$RUNTIME_DIR" >"$orphan/.runtime"
	printf '%s' "$other_root" >"$other/.runtime"
	printf '%s' "$gone_root" >"$gone/.runtime"
	echo '{}' >"$orphan/container.log"
	"$NUCLEUS" ps -a >/dev/null
	[ -e "$orphan" ] && { rm -rf "$orphan" "$other" "$gone" "$other_root"; fail "an orphaned log directory was not collected"; }
	[ -e "$gone" ] && { rm -rf "$other" "$gone" "$other_root"; fail "the logs of a runtime directory that is gone were kept"; }
	[ -e "$other" ] || { rm -rf "$other_root"; fail "another runtime directory's logs were collected"; }
	rm -rf "$other" "$other_root"
}

# Files nucleus trusts are the caller's: a log root others can write to,
# or a symlink, is refused before anything exists; a log file that is not
# the caller's is not read.
test_battery_logs_refuse_what_others_own() {
	local d out lp
	rm_on_exit blo-$$
	d=$(mktemp -d)
	chmod 0777 "$d"
	out=$(NUCLEUS_LOG_ROOT=$d "$NUCLEUS" run -d --name blo-$$ -- true 2>&1)
	assert_eq "$?" 125 "a world-writable log root: $out"
	assert_contains "$out" "writable by others" "says why"
	chmod 0700 "$d"
	ln -s "$d" "$d.link"
	out=$(NUCLEUS_LOG_ROOT=$d.link "$NUCLEUS" run -d --name blo-$$ -- true 2>&1)
	assert_eq "$?" 125 "a symlinked log root: $out"
	assert_contains "$out" "symbolic link" "says why"
	chown 65534 "$d"
	out=$(NUCLEUS_LOG_ROOT=$d "$NUCLEUS" run -d --name blo-$$ -- true 2>&1)
	assert_eq "$?" 125 "someone else's log root: $out"
	assert_contains "$out" "belongs to uid 65534" "says why"
	rm -rf "$d" "$d.link"
	"$NUCLEUS" ps -a | grep -q " blo-$$ " && fail "a container was left"
	"$NUCLEUS" run -d --name blo-$$ -- echo secret >/dev/null || fail "start"
	wait_gone_or_exited blo-$$ || fail "did not exit"
	lp=$(state_field blo-$$ log_path)
	chown 65534 "$lp"
	out=$("$NUCLEUS" logs blo-$$ 2>&1)
	assert_eq "$?" 125 "logs of a file someone else owns (a refusal, as for all runtime state)"
	assert_contains "$out" "refusing it" "says why: $out"
	assert_not_contains "$out" "secret" "nothing of it shown"
	"$NUCLEUS" rm blo-$$ >/dev/null
}
