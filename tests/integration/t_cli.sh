# The command line as docker users expect it: exact flags, plain `nucleus`,
# parallel stop, ps --format/--filter/--no-trunc, man page and completion.

# status and stderr of a command: "STATUS|STDERR"
status_err() {
	local err rc
	err=$("$@" 2>&1 >/dev/null)
	rc=$?
	echo "$rc|$err"
}

test_cli_abbreviated_flags_refused() {
	local n=cliabbr-$$
	# getopt_long alone reads --use as --user (or --userns) and runs 12345
	assert_eq "$(status_err "$NUCLEUS" run --use 12345)" \
		"125|nucleus: run: unknown flag \`--use\` (see 'nucleus run --help')" "run --use"
	assert_eq "$(status_err "$NUCLEUS" run --net host -- "$PROBE" exit 0)" \
		"125|nucleus: run: unknown flag \`--net\` (see 'nucleus run --help')" "run --net"
	assert_eq "$(status_err "$NUCLEUS" run --nam $n -d -- "$PROBE" sleep 5)" \
		"125|nucleus: run: unknown flag \`--nam\` (see 'nucleus run --help')" "run --nam"
	[ -e "$RUNTIME_DIR/.names/$n" ] && fail "a container was created by --nam"
	assert_eq "$(status_err "$NUCLEUS" run --nam)" \
		"125|nucleus: run: unknown flag \`--nam\` (see 'nucleus run --help')" "run --nam without a value"
	assert_eq "$(status_err "$NUCLEUS" run --rm=yes -- "$PROBE" exit 0)" \
		"125|nucleus: run: flag \`--rm\` takes no value (see 'nucleus run --help')" "run --rm=yes"
	assert_eq "$(status_err "$NUCLEUS" ps --al)" \
		"125|nucleus: ps: unknown flag \`--al\` (see 'nucleus ps --help')" "ps --al"
	local a
	for a in "stats --no-str" "stop --ti 1 x" "kill --sig 9 x" "rm --forc x" "logs --foll x" \
		"attach --en A=1 x" "info --js" "audit tail --foll" "audit tail --typ exec" \
		"seccomp trace --out f x" "seccomp generate --def kill f" "seccomp default --out f"; do
		# shellcheck disable=SC2086
		assert_status 125 "$NUCLEUS" $a
		# shellcheck disable=SC2086
		assert_contains "$("$NUCLEUS" $a 2>&1)" "unknown flag" "$a"
	done
	# the exact spellings still work
	"$NUCLEUS" run --name $n --network none -- "$PROBE" exit 0 || fail "exact flags"
	assert_status 0 "$NUCLEUS" ps --all --quiet
	assert_status 0 "$NUCLEUS" stats --no-stream --json
}

test_cli_bare_nucleus_is_help() {
	local out rc
	out=$("$NUCLEUS" 2>/dev/null)
	rc=$?
	assert_eq "$rc" 0 "exit status of plain nucleus"
	assert_contains "$out" "Usage: nucleus" "usage on stdout"
	assert_contains "$out" "Commands:" "the commands"
	assert_eq "$("$NUCLEUS" 2>&1 >/dev/null)" "" "nothing on stderr"
	assert_eq "$(status_err "$NUCLEUS" no-such-verb)" \
		"125|nucleus: unknown command \`no-such-verb\` (see 'nucleus --help')" "unknown command"
}

# Seconds since $1 (an $EPOCHREALTIME), with millisecond precision.
elapsed_ms() {
	echo $(( (${EPOCHREALTIME/./} - ${1/./}) / 1000 ))
}

test_cli_stop_in_parallel() {
	local n=clistop-$$ i t0 ms out rc
	# the probe is the container's pid 1: without a handler, SIGTERM does
	# not reach it, so each stop waits its whole timeout
	for i in 1 2 3; do
		"$NUCLEUS" run -d --name $n-$i -- "$PROBE" sleep 60 >/dev/null || fail "start $i"
	done
	rm_on_exit $n-1 $n-2 $n-3
	t0=$EPOCHREALTIME
	out=$("$NUCLEUS" stop -t 2 $n-1 $n-2 $n-3)
	rc=$?
	ms=$(elapsed_ms "$t0")
	assert_eq "$rc" 0 "stop status"
	assert_eq "$(echo "$out" | sort | tr '\n' ' ')" "$n-1 $n-2 $n-3 " "each name once"
	# one after the other would take 6 s
	[ "$ms" -lt 4000 ] || fail "stopping three took ${ms} ms, not about 2 s"
	[ "$ms" -ge 1900 ] || fail "stopped in ${ms} ms, before the timeout"
	for i in 1 2 3; do
		assert_contains "$("$NUCLEUS" ps -a --filter name="^$n-$i\$" --format '{{.Status}}')" \
			"Exited (137)" "$n-$i killed after the timeout"
	done
}

test_cli_stop_some_unknown() {
	local n=clistopu-$$ out err rc
	"$NUCLEUS" run -d --name $n -- "$PROBE" sleep 60 >/dev/null || fail "start"
	rm_on_exit $n
	out=$("$NUCLEUS" stop -t 0 no-such-$$ $n 2>/tmp/stopu-$$.err)
	rc=$?
	err=$(cat /tmp/stopu-$$.err)
	rm -f /tmp/stopu-$$.err
	assert_eq "$rc" 1 "status with an unknown container"
	assert_eq "$out" "$n" "the known one is stopped and named"
	assert_contains "$err" "no-such-$$" "the unknown one is named on stderr"
	assert_eq "$("$NUCLEUS" ps -a --filter name="^$n\$" --format '{{.State}}')" exited "stopped"
}

test_cli_ps_no_trunc() {
	local n=clint-$$ id line
	id=$("$NUCLEUS" run -d --name $n -- "$PROBE" sleep 60 a-long-argument-to-cut) || fail "start"
	rm_on_exit $n
	line=$("$NUCLEUS" ps | grep " $n ")
	assert_contains "$line" "${id:0:12} " "short id"
	assert_not_contains "$line" "$id" "the full id only with --no-trunc"
	assert_not_contains "$line" "a-long-argument-to-cut" "the command is cut"
	line=$("$NUCLEUS" ps --no-trunc | grep " $n ")
	assert_contains "$line" "$id " "full id"
	assert_contains "$line" "\"$PROBE sleep 60 a-long-argument-to-cut\"" "full command"
	assert_eq "$("$NUCLEUS" ps -q --no-trunc | grep -c "^$id\$")" 1 "-q --no-trunc: the full id"
}

test_cli_ps_format() {
	local n=clifmt-$$ id out pid
	id=$("$NUCLEUS" run -d --name $n -- "$PROBE" sleep 60) || fail "start"
	rm_on_exit $n
	out=$("$NUCLEUS" ps --filter name="^$n\$" --format '{{.ID}}|{{.Names}}|{{.State}}|{{.Networks}}|{{.Ports}}|{{ .Command }}')
	assert_eq "$out" "${id:0:12}|$n|running|none||\"${PROBE:0:17}...\"" "placeholders"
	pid=$("$NUCLEUS" ps --filter name="^$n\$" --format '{{.Pid}}')
	assert_eq "$(tr '\0' ' ' </proc/"$pid"/cmdline)" "$PROBE sleep 60 " "{{.Pid}} is the container's init"
	assert_contains "$("$NUCLEUS" ps --filter name="^$n\$" --format '{{.Status}}')" "Up " "{{.Status}}"
	assert_contains "$("$NUCLEUS" ps --filter name="^$n\$" --format '{{.RunningFor}}')" " ago" "{{.RunningFor}}"
	assert_contains "$("$NUCLEUS" ps --filter name="^$n\$" --format '{{.CreatedAt}}')" "$(date +%Y-%m-%d)" "{{.CreatedAt}}"
	# table: a header, columns aligned at \t
	out=$("$NUCLEUS" ps --filter name="^$n\$" --format 'table {{.Names}}\t{{.State}}')
	assert_eq "$(echo "$out" | head -1)" "$(printf '%-*sSTATE' $(( ${#n} + 3 )) NAMES)" "table header"
	assert_eq "$(echo "$out" | sed -n 2p)" "$n   running" "table row"
	# without table: no header, a real tab
	assert_eq "$("$NUCLEUS" ps --filter name="^$n\$" --format '{{.Names}}\t{{.State}}')" "$n	running" "\\t"
	# {{json .}}
	"$NUCLEUS" ps --filter name="^$n\$" --format '{{json .}}' | python3 -c '
import json, sys
d = json.loads(sys.stdin.read())
assert d["Names"] == sys.argv[1] and d["State"] == "running" and d["ID"] == sys.argv[2][:12], d
' "$n" "$id" || fail "{{json .}}"
	# an unknown placeholder is an error, and says which
	assert_status 125 "$NUCLEUS" ps --format '{{.Image}}'
	assert_contains "$("$NUCLEUS" ps --format '{{.Image}}' 2>&1)" "unknown placeholder \`{{.Image}}\`" "names it"
	assert_status 125 "$NUCLEUS" ps --format '{{.ID'
	assert_eq "$("$NUCLEUS" ps --format '{{.Image}}' 2>/dev/null)" "" "nothing listed"
}

test_cli_ps_filter() {
	local n=clifl-$$ a b c
	a=$("$NUCLEUS" run -d --name $n-run -- "$PROBE" sleep 60) || fail "start"
	b=$("$NUCLEUS" run -d --name $n-exit -- "$PROBE" exit 3) || fail "start"
	c=$("$NUCLEUS" run -d --name other-$$ -- "$PROBE" sleep 60) || fail "start"
	rm_on_exit $n-run $n-exit other-$$
	wait_for sh -c "'$NUCLEUS' ps -a --filter name=$n-exit --format '{{.State}}' | grep -q exited" || fail "exit"
	local f='{{.Names}}'
	assert_eq "$("$NUCLEUS" ps --filter name=$n --format "$f")" "$n-run" "name, running only"
	assert_eq "$("$NUCLEUS" ps -a --filter name=$n --format "$f" | sort | tr '\n' ' ')" "$n-exit $n-run " "name with -a"
	# status implies -a, as docker
	assert_eq "$("$NUCLEUS" ps --filter status=exited --filter name=$n --format "$f")" "$n-exit" "status=exited"
	assert_eq "$("$NUCLEUS" ps --filter status=running --filter name="$$" --format "$f" | sort | tr '\n' ' ')" \
		"$n-run other-$$ " "status=running"
	# the same key ORs
	assert_eq "$("$NUCLEUS" ps -a --filter name=$n-exit --filter name=other-$$ --format "$f" | sort | tr '\n' ' ')" \
		"$n-exit other-$$ " "name OR name"
	assert_eq "$("$NUCLEUS" ps --filter status=exited --filter status=running --filter name=$n --format "$f" | sort | tr '\n' ' ')" \
		"$n-exit $n-run " "status OR status"
	# different keys AND
	assert_eq "$("$NUCLEUS" ps -a --filter name=$n --filter status=created --format "$f")" "" "name AND status"
	assert_eq "$("$NUCLEUS" ps -a --filter id="${c:0:10}" --format "$f")" "other-$$" "id"
	assert_eq "$("$NUCLEUS" ps -a --filter id="${c:0:10}" --filter name=$n --format "$f")" "" "id AND name"
	assert_eq "$("$NUCLEUS" ps -a -f name="^$n-run\$" -q)" "${a:0:12}" "-f"
	# bad filters are errors
	assert_status 125 "$NUCLEUS" ps --filter bogus=1
	assert_contains "$("$NUCLEUS" ps --filter bogus=1 2>&1)" "name, id and status" "says the keys"
	assert_status 125 "$NUCLEUS" ps --filter status=sleeping
	assert_status 125 "$NUCLEUS" ps --filter name
	assert_eq "$("$NUCLEUS" ps -a --filter bogus=1 2>/dev/null)" "" "nothing listed"
	: "$b"
}

test_cli_ps_json_supervisor_pid() {
	local n=clisup-$$ j pid sup
	"$NUCLEUS" run -d --name $n -- "$PROBE" sleep 60 >/dev/null || fail "start"
	rm_on_exit $n
	j=$("$NUCLEUS" ps --json)
	pid=$(echo "$j" | python3 -c 'import json,sys; print([c["pid"] for c in json.load(sys.stdin) if c["name"] == sys.argv[1]][0])' $n)
	sup=$(echo "$j" | python3 -c 'import json,sys; print([c["supervisor_pid"] for c in json.load(sys.stdin) if c["name"] == sys.argv[1]][0])' $n)
	[ "$sup" -gt 0 ] || fail "supervisor_pid [$sup]"
	assert_eq "$(awk '/^PPid:/ {print $2}' /proc/"$pid"/status)" "$sup" "the init's parent is the supervisor"
	assert_eq "$(cat /proc/"$sup"/comm)" "nucleus" "a nucleus process"
	"$NUCLEUS" stop -t 0 $n >/dev/null
	assert_eq "$("$NUCLEUS" ps -a --json | python3 -c 'import json,sys; print([c["supervisor_pid"] for c in json.load(sys.stdin) if c["name"] == sys.argv[1]][0])' $n)" \
		0 "none once it has exited"
}

test_cli_ps_redacts_secrets() {
	local n=clisec-$$ out
	"$NUCLEUS" run -d --name $n -- "$PROBE" sleep 60 API_TOKEN=s3cr3t-tok --db-password=hunter2-pw \
		PLAIN=visible-value >/dev/null || fail "start"
	rm_on_exit $n
	for out in "$("$NUCLEUS" ps --no-trunc)" "$("$NUCLEUS" ps --format '{{.Command}}' --no-trunc)" \
		"$("$NUCLEUS" ps --json)" "$("$NUCLEUS" ps --format '{{json .}}' --no-trunc)" "$("$NUCLEUS" ps)"; do
		assert_not_contains "$out" "s3cr3t-tok" "the token's value"
		assert_not_contains "$out" "hunter2-pw" "the password's value"
	done
	out=$("$NUCLEUS" ps --no-trunc --filter name="^$n\$" --format '{{.Command}}')
	assert_eq "$out" "\"$PROBE sleep 60 API_TOKEN=*** --db-password=*** PLAIN=visible-value\"" "as the audit log marks them"
	assert_contains "$("$NUCLEUS" ps --json)" '"API_TOKEN=***"' "--json"
}

# 100k arguments: building and reading argv must stay linear.
test_cli_many_arguments_fast() {
	local n=climany-$$ t0 ms args
	args=$(printf 'a %.0s' $(seq 100000))
	t0=$EPOCHREALTIME
	# shellcheck disable=SC2086
	"$NUCLEUS" run -d --name $n -- "$PROBE" sleep 60 $args >/dev/null || fail "start"
	ms=$(elapsed_ms "$t0")
	rm_on_exit $n
	[ "$ms" -lt 500 ] || fail "run with 100k arguments took ${ms} ms"
	t0=$EPOCHREALTIME
	"$NUCLEUS" ps -a >/dev/null || fail "ps -a"
	ms=$(elapsed_ms "$t0")
	[ "$ms" -lt 500 ] || fail "ps -a took ${ms} ms"
	t0=$EPOCHREALTIME
	"$NUCLEUS" ps -a --no-trunc --json >/dev/null || fail "ps -a --json"
	ms=$(elapsed_ms "$t0")
	[ "$ms" -lt 500 ] || fail "ps -a --no-trunc --json took ${ms} ms"
	assert_eq "$("$NUCLEUS" ps --json | python3 -c 'import json,sys; print([len(c["command"]) for c in json.load(sys.stdin) if c["name"] == sys.argv[1]][0])' $n)" \
		100003 "every argument kept"
}

# The Lockdown line is the bracketed word of securityfs' lockdown file,
# whatever the mode; the longest line the kernel writes was cut short.
test_cli_info_lockdown() {
	local want got
	want=$(unshare -m sh -c 'mountpoint -q /sys/kernel/security ||
		mount -t securityfs securityfs /sys/kernel/security; cat /sys/kernel/security/lockdown' |
		sed -n 's/.*\[\(.*\)\].*/\1/p')
	if [ -n "$want" ]; then
		assert_eq "$("$NUCLEUS" info | sed -n 's/^Lockdown: *//p')" "$want" "this host's lockdown"
	fi
	# a private securityfs stand-in in confidentiality mode
	got=$(unshare -m sh -c 'mount -t tmpfs nucleus-test /sys/kernel/security &&
		echo "none integrity [confidentiality]" >/sys/kernel/security/lockdown &&
		echo "lockdown,capability,landlock" >/sys/kernel/security/lsm && "$1" info' sh "$NUCLEUS")
	assert_eq "$(echo "$got" | sed -n 's/^Lockdown: *//p')" "confidentiality" "confidentiality mode"
	got=$(unshare -m sh -c 'mount -t tmpfs nucleus-test /sys/kernel/security &&
		echo "none integrity [confidentiality]" >/sys/kernel/security/lockdown &&
		echo "lockdown,capability,landlock" >/sys/kernel/security/lsm && "$1" info --json' sh "$NUCLEUS")
	assert_eq "$(echo "$got" | python3 -c 'import json,sys; print(json.load(sys.stdin)["lockdown"])')" \
		"confidentiality" "--json"
}

test_cli_audit_unknown_type() {
	local out err rc
	out=$("$NUCLEUS" audit tail --type bogus 2>/tmp/audt-$$.err)
	rc=$?
	err=$(cat /tmp/audt-$$.err)
	rm -f /tmp/audt-$$.err
	assert_eq "$rc" 125 "status"
	assert_eq "$out" "" "nothing listed"
	assert_eq "$(echo "$err" | wc -l | tr -d ' ')" 1 "one line"
	assert_contains "$err" "unknown event type \`bogus\`" "names it"
	assert_contains "$err" "exec, connect" "names the known types"
	assert_contains "$err" "seccomp_denied" "runtime types too"
}

# Every type an audited container's log holds is one --type accepts (so
# the list of known types cannot fall behind the events).
test_cli_audit_types_known() {
	local n=cliaty-$$ t types
	"$NUCLEUS" run --audit --name $n -d -- /bin/sh -c 'cat /etc/hostname >/dev/null; sleep 60' >/dev/null ||
		fail "start"
	rm_on_exit $n
	sleep 0.5
	"$NUCLEUS" kill -s TERM $n >/dev/null
	"$NUCLEUS" stop -t 1 $n >/dev/null
	types=$("$NUCLEUS" audit tail --json $n | python3 -c '
import json, sys
print(" ".join(sorted({json.loads(l)["type"] for l in sys.stdin if l.strip()})))')
	assert_contains " $types " " create " "the log has events"
	assert_contains " $types " " exec " "kernel events too"
	for t in $types; do
		[ -n "$("$NUCLEUS" audit tail --type "$t" $n)" ] || fail "--type $t: refused or empty"
	done
}

# NO_COLOR (no-color.org): set and not empty, no ANSI colour on a terminal.
test_cli_no_color() {
	local n=clicol-$$ out
	"$NUCLEUS" run --audit --name $n -d -- /bin/true >/dev/null || fail "start"
	rm_on_exit $n
	wait_for sh -c "'$NUCLEUS' ps -a --filter name='^$n\$' --format '{{.State}}' | grep -q exited" || fail "exit"
	out=$(env -u NO_COLOR script -qec "$NUCLEUS audit tail --type create $n" /dev/null)
	assert_contains "$out" $'\033[' "colour on a terminal"
	assert_contains "$out" "create" "the event"
	out=$(NO_COLOR='' script -qec "$NUCLEUS audit tail --type create $n" /dev/null)
	assert_contains "$out" $'\033[' "an empty NO_COLOR changes nothing"
	out=$(NO_COLOR=1 script -qec "$NUCLEUS audit tail --type create $n" /dev/null)
	assert_contains "$out" "create" "the event"
	assert_not_contains "$out" $'\033[' "NO_COLOR=1"
	# not a terminal: never colour
	assert_not_contains "$("$NUCLEUS" audit tail --type create $n)" $'\033[' "a pipe"
}

CLI_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

# Each command as the man page names it: "run", ..., "seccomp trace",
# "audit tail" (from the usage lines, so new commands are found).
cli_commands() {
	local v usage s
	for v in $("$NUCLEUS" --help | awk '/^Commands:/ { on = 1; next } /^$/ { on = 0 } on { print $1 }'); do
		usage=$("$NUCLEUS" "$v" --help 2>&1)
		if echo "$usage" | grep -q '^Commands:'; then
			for s in $(echo "$usage" | awk '/^Commands:/ { on = 1; next } /^$/ { on = 0 } on { print $1 }'); do
				echo "$v $s"
			done
		else
			echo "$usage" | sed -n -E 's/^Usage: nucleus (([a-z]+ ?)+).*/\1/p' | sed 's/ *$//' | grep . ||
				echo "$v"
		fi
	done
}

# Every flag a command's --help lists, one per line.
cli_help_flags() { # COMMAND...
	"$NUCLEUS" "$@" --help | sed -n -E 's/^  (-[A-Za-z]), (--[a-z0-9-]+).*/\1\n\2/p; s/^      (--[a-z0-9-]+).*/\1/p'
}

# The man page's section of a command, its \- as -.
man_section() { # COMMAND
	sed 's/\\-/-/g' "$CLI_ROOT/docs/nucleus.1" | awk -v a=".SS \"nucleus $1 " -v b=".SS \"nucleus $1\"" '
		index($0, a) == 1 || $0 == b { on = 1; next } /^\.S[SH]/ { on = 0 } on'
}

# The man page lists every command and, in its section, an entry (a .TP
# tag) for every flag its --help shows: a new flag without one fails here.
test_cli_man_page_complete() {
	local cmd f section tags missing="" ncmd=0
	while read -r cmd; do
		ncmd=$((ncmd + 1))
		# shellcheck disable=SC2086
		section=$(man_section "$cmd")
		[ -n "$section" ] || { missing="$missing [no section for nucleus $cmd]"; continue; }
		tags=$(echo "$section" | awk 'prev == ".TP" { print } { prev = $0 }')
		# shellcheck disable=SC2086
		for f in $(cli_help_flags $cmd); do
			echo "$tags" | grep -qE -- "(^|[^a-zA-Z0-9-])$f([^a-zA-Z0-9-]|\$)" ||
				missing="$missing [nucleus $cmd $f]"
		done
	done < <(cli_commands)
	[ "$ncmd" -ge 14 ] || fail "only $ncmd commands found: $(cli_commands | tr '\n' ',')"
	[ -z "$missing" ] || fail "not in docs/nucleus.1:$missing"
	# the run flags are really there (the derivation itself works)
	assert_contains "$(cli_help_flags run)" "--network" "run flags from --help"
	assert_contains "$(cli_commands | tr '\n' ',')" "seccomp trace,seccomp generate,seccomp default," "sub-commands"
}

test_cli_man_page_renders() {
	local out err
	command -v man >/dev/null || fail "man is not installed (tools/deps installs man-db)"
	err=$(MANWIDTH=80 man --warnings -l "$CLI_ROOT/docs/nucleus.1" 2>&1 >/dev/null)
	assert_eq "$err" "" "man -l warnings"
	err=$(groff -man -Tutf8 -ww -z "$CLI_ROOT/docs/nucleus.1" 2>&1)
	assert_eq "$err" "" "groff -ww warnings"
	out=$(MANWIDTH=80 man -l "$CLI_ROOT/docs/nucleus.1" 2>/dev/null)
	assert_contains "$out" "nucleus - a minimal container runtime" "NAME"
	assert_contains "$out" "--seccomp-profile-sha256 HEX" "a run flag"
}

# Completion of COMP_WORDS as given; prints COMPREPLY, sorted, on one line.
complete_words() { # SCRIPT WORD...
	local script=$1 bindir
	shift
	bindir=$(mktemp -d)
	ln -s "$NUCLEUS" "$bindir/nucleus"
	PATH=$bindir:$PATH bash -c '
		. "$1"
		shift
		COMP_WORDS=("$@")
		COMP_CWORD=$(($# - 1))
		COMPREPLY=()
		_nucleus
		[ ${#COMPREPLY[@]} = 0 ] || printf "%s\n" "${COMPREPLY[@]}" | sort | tr "\n" " "' sh "$script" "$@"
	rm -rf "$bindir"
}

test_cli_install_man_and_completion() {
	local d n=clicomp-$$ s
	d=$(mktemp -d)
	make -s -C "$CLI_ROOT" -o all install DESTDIR="$d" PREFIX=/usr BUILD="$NUCLEUS_TEST_BUILD" >/dev/null ||
		{ rm -rf "$d"; fail "make install"; }
	s=$d/usr/share/bash-completion/completions/nucleus
	cmp -s "$d/usr/bin/nucleus" "$NUCLEUS" || { rm -rf "$d"; fail "the binary"; }
	cmp -s "$d/usr/share/man/man1/nucleus.1" "$CLI_ROOT/docs/nucleus.1" || { rm -rf "$d"; fail "the man page"; }
	cmp -s "$s" "$CLI_ROOT/contrib/completion/nucleus.bash" || { rm -rf "$d"; fail "the completion"; }
	assert_contains "$(MANWIDTH=80 man -l "$d/usr/share/man/man1/nucleus.1" 2>/dev/null)" "nucleus run" "installed page renders"
	# the installed completion script
	assert_eq "$(complete_words "$s" nucleus st)" "stats stop " "nucleus st"
	assert_eq "$(complete_words "$s" nucleus run --ne)" "--network " "nucleus run --ne"
	assert_eq "$(complete_words "$s" nucleus run --network b)" "bridge " "--network values"
	assert_eq "$(complete_words "$s" nucleus seccomp g)" "generate " "seccomp sub-commands"
	assert_eq "$(complete_words "$s" nucleus ps --filter status=ex)" "status=exited " "ps --filter"
	# the flags are --help's, all of them
	assert_eq "$(complete_words "$s" nucleus run -)" "$(cli_help_flags run | sort | tr '\n' ' ')" "every run flag"
	# after the command, its own flags are not nucleus's
	assert_eq "$(complete_words "$s" nucleus run -d -- sh --ne)" "" "the command's arguments"
	# container names
	"$NUCLEUS" run -d --name $n -- "$PROBE" sleep 60 >/dev/null || { rm -rf "$d"; fail "start"; }
	rm_on_exit $n
	assert_eq "$(complete_words "$s" nucleus stop clicomp-)" "$n " "a running container's name"
	assert_eq "$(complete_words "$s" nucleus logs -n 5 clicomp-)" "$n " "after a flag's value"
	rm -rf "$d"
}
