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
	# getopt_long alone reads --user as --userns and runs 12345
	assert_eq "$(status_err "$NUCLEUS" run --user 12345)" \
		"125|nucleus: run: unknown flag \`--user\` (see 'nucleus run --help')" "run --user"
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
