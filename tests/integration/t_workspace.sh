# The agent's workspace: what it builds or installs under /tmp and /context
# runs only where --allow-exec (or a Landlock policy's execute grant) made
# it executable; mounts and Landlock rules agree.

# A C project with a test target, in a fresh context directory.
make_c_project() { # DIR
	mkdir -p "$1"
	printf '#include <stdio.h>\nint main(void) { puts("hello"); return 0; }\n' >"$1/hello.c"
	printf 'all: hello\nhello: hello.c\n\tcc -o hello hello.c\ntest: hello\n\t./hello | grep -q hello && echo TESTS-PASSED\n' \
		>"$1/Makefile"
}

test_workspace_make_test_needs_allow_exec() {
	local ctx out st
	ctx=$(mktemp -d)
	make_c_project "$ctx"
	out=$("$NUCLEUS" run --context "$ctx" -- sh -c 'make && make test' 2>&1)
	st=$?
	assert_ne "$st" 0 "make test without --allow-exec"
	assert_contains "$out" "Permission denied" "the refusal"
	echo "$out" | grep -qx TESTS-PASSED && fail "the tests ran without --allow-exec"
	out=$("$NUCLEUS" run --context "$ctx" --allow-exec /context -- sh -c 'make && make test' 2>&1)
	st=$?
	assert_eq "$st" 0 "make test with --allow-exec /context: $out"
	echo "$out" | grep -qx TESTS-PASSED || fail "the project's tests did not pass: $out"
	# a copied context: nothing went back to the host
	[ ! -e "$ctx/hello" ] || fail "the build leaked into the host directory"
	rm -rf "$ctx"
}

# vm-tier
test_workspace_exec_refusal_names_the_flag() {
	local ctx err
	ctx=$(mktemp -d)
	cp "$PROBE" "$ctx/probe"
	err=$("$NUCLEUS" run --context "$ctx" -- /context/probe exit 0 2>&1 >/dev/null)
	assert_status 126 "$NUCLEUS" run --context "$ctx" -- /context/probe exit 0
	assert_eq "$err" "nucleus: exec \`/context/probe\`: Permission denied (mounted noexec: see --allow-exec)" "message"
	assert_status 0 "$NUCLEUS" run --context "$ctx" --allow-exec /context -- /context/probe exit 0
	rm -rf "$ctx"
}

test_workspace_python_venv_console_script() {
	local out st
	out=$("$NUCLEUS" run -- sh -c 'cd /tmp && python3 -m venv v >/dev/null && v/bin/pip --version' 2>&1)
	st=$?
	assert_eq "$st" 126 "venv pip without --allow-exec ($out)"
	out=$("$NUCLEUS" run --allow-exec /tmp -- sh -c 'cd /tmp && python3 -m venv v >/dev/null && v/bin/pip --version' 2>&1)
	st=$?
	assert_eq "$st" 0 "venv pip with --allow-exec /tmp ($out)"
	assert_contains "$out" "pip " "pip answered"
}

test_workspace_git_hook_fails_the_commit() {
	local ctx out
	ctx=$(mktemp -d)
	cat >"$ctx/commit.sh" <<-'EOF'
		set -e
		cd /context
		git init -q repo && cd repo
		git config user.email t@example.invalid && git config user.name t
		printf '#!/bin/sh\nexit 1\n' >.git/hooks/pre-commit
		chmod +x .git/hooks/pre-commit
		echo x >f && git add f
		if git commit -qm one; then echo COMMITTED; else echo REFUSED; fi
	EOF
	out=$("$NUCLEUS" run --context "$ctx" --allow-exec /context -- sh /context/commit.sh 2>&1)
	assert_contains "$out" "REFUSED" "a failing pre-commit hook stops the commit"
	# without the flag git cannot run the hook (and says so); the point of
	# the flag is that this never happens silently to a user who asked
	out=$("$NUCLEUS" run --context "$ctx" -- sh /context/commit.sh 2>&1)
	assert_contains "$out" "hook was ignored" "git reports the hook it could not run"
	rm -rf "$ctx"
}

# vm-tier
test_workspace_subtree_only() {
	local ctx out st
	ctx=$(mktemp -d)
	mkdir "$ctx/bin"
	cp "$PROBE" "$ctx/bin/probe"
	cp "$PROBE" "$ctx/probe"
	out=$("$NUCLEUS" run --context "$ctx" --allow-exec /context/bin -- sh -c \
		'grep " /context" /proc/self/mountinfo; /context/bin/probe exit 7; echo bin=$?; /context/probe exit 0; echo top=$?;
		 /lib64/ld-linux-x86-64.so.2 /context/probe exit 0; echo ldso=$?' 2>/dev/null)
	assert_contains "$out" "bin=7" "the granted subtree runs"
	assert_contains "$out" "top=126" "the rest of /context does not"
	assert_not_contains "$out" "ldso=0" "nor through the loader"
	assert_contains "$out" "/context/bin rw,nosuid,nodev,relatime" "the subtree is its own exec mount"
	assert_contains "$out" "/context rw,nosuid,nodev,noexec" "the context stays noexec"
	# /tmp subtrees are created
	out=$("$NUCLEUS" run --allow-exec /tmp/tools -- sh -c "cp $PROBE /tmp/tools/p && /tmp/tools/p exit 3; echo in=\$?; cp $PROBE /tmp/p; /tmp/p exit 0; echo out=\$?" 2>/dev/null)
	assert_contains "$out" "in=3" "/tmp/tools runs"
	assert_contains "$out" "out=126" "the rest of /tmp does not"
	rm -rf "$ctx"
}

# vm-tier
test_workspace_bind_context_is_noexec() {
	local ctx out
	ctx=$(mktemp -d)
	cp "$PROBE" "$ctx/probe"
	assert_status 126 "$NUCLEUS" run --context "$ctx" --context-mode bind -- /context/probe exit 0
	out=$("$NUCLEUS" run --context "$ctx" --context-mode bind -- sh -c \
		'/lib64/ld-linux-x86-64.so.2 /context/probe exit 0; echo ldso=$?' 2>/dev/null)
	assert_not_contains "$out" "ldso=0" "the loader cannot run code from a bound context"
	assert_status 5 "$NUCLEUS" run --context "$ctx" --context-mode bind --allow-exec /context -- /context/probe exit 5
	# still read-only
	assert_status 1 "$NUCLEUS" run --context "$ctx" --context-mode bind --allow-exec /context -- touch /context/x
	rm -rf "$ctx"
}

# vm-tier
test_workspace_landlock_execute_grant_lifts_noexec() {
	local ctx pol
	ctx=$(mktemp -d)
	pol=$(mktemp)
	mkdir "$ctx/bin"
	cp "$PROBE" "$ctx/bin/probe"
	cp "$PROBE" "$ctx/probe"
	cat >"$pol" <<-EOF
		[[rules]]
		path = "/"
		access = ["read"]
		[[rules]]
		path = "/usr"
		access = ["read", "execute"]
		[[rules]]
		path = "$(dirname "$PROBE")"
		access = ["read", "execute"]
		[[rules]]
		path = "/context/bin"
		access = ["read", "execute"]
	EOF
	assert_status 9 "$NUCLEUS" run --context "$ctx" --landlock-policy "$pol" -- /context/bin/probe exit 9
	assert_status 126 "$NUCLEUS" run --context "$ctx" --landlock-policy "$pol" -- /context/probe exit 0
	rm -rf "$ctx" "$pol"
}

# vm-tier
test_workspace_grant_that_cannot_be_honoured_is_refused() {
	local pol err
	pol=$(mktemp)
	printf '[[rules]]\npath = "/dev/shm"\naccess = ["read", "execute"]\n' >"$pol"
	err=$("$NUCLEUS" run --landlock-policy "$pol" -- true 2>&1)
	assert_status 125 "$NUCLEUS" run --landlock-policy "$pol" -- true
	assert_contains "$err" "grants execute on \`/dev/shm\`, which nucleus mounts noexec" "message"
	rm -f "$pol"
}

# vm-tier
test_workspace_allow_exec_bad_input() {
	local ctx err
	ctx=$(mktemp -d)
	ln -s /usr "$ctx/link"
	err=$("$NUCLEUS" run --allow-exec /usr -- true 2>&1)
	assert_contains "$err" "only /tmp, /context and directories beneath them" "a system directory"
	assert_status 125 "$NUCLEUS" run --allow-exec /usr -- true
	assert_status 125 "$NUCLEUS" run --allow-exec tmp -- true
	assert_status 125 "$NUCLEUS" run --allow-exec /tmp/../etc -- true
	err=$("$NUCLEUS" run --allow-exec /context -- true 2>&1)
	assert_contains "$err" "needs --context" "no context"
	err=$("$NUCLEUS" run --context "$ctx" --allow-exec /context/link -- true 2>&1)
	assert_contains "$err" "is not a directory (symlinks are not followed)" "a symlink in the context"
	assert_status 125 "$NUCLEUS" run --context "$ctx" --allow-exec /context/link -- true
	err=$("$NUCLEUS" run --context "$ctx" --context-mode bind --allow-exec /context/nope -- true 2>&1)
	assert_contains "$err" "does not exist in the context" "a missing directory of a bound context"
	rm -rf "$ctx"
}

# vm-tier
test_workspace_attach_keeps_the_grant() {
	local name=ws-attach-$$ st
	"$NUCLEUS" run -d --name "$name" --allow-exec /tmp/bin -- "$PROBE" sleep 30 >/dev/null || fail "start"
	rm_on_exit "$name"
	"$NUCLEUS" attach "$name" -- sh -c "cp $PROBE /tmp/bin/p" || fail "copy"
	"$NUCLEUS" attach "$name" -- /tmp/bin/p exit 4
	st=$?
	assert_eq "$st" 4 "attach runs what the grant allows"
	"$NUCLEUS" attach "$name" -- sh -c "cp $PROBE /tmp/p2; /tmp/p2 exit 0" 2>/dev/null
	st=$?
	assert_eq "$st" 126 "and nothing else"
}

# vm-tier
test_context_userns_copy_reads_what_the_caller_can() {
	local ctx out
	ctx=$(mktemp -d)
	echo secret >"$ctx/rootonly"
	chmod 0600 "$ctx/rootonly"
	mkdir "$ctx/sub"
	echo pub >"$ctx/sub/pub"
	out=$("$NUCLEUS" run --userns --context "$ctx" -- sh -c \
		'cat /context/rootonly; stat -c "%u:%g %n" /context /context/rootonly /context/sub /context/sub/pub;
		 echo more >>/context/sub/pub && echo new >/context/sub/new && echo wrote' 2>&1)
	assert_eq "$?" 0 "run --userns with a root-only file in the context ($out)"
	assert_contains "$out" "secret" "the root-only file was copied"
	assert_contains "$out" "0:0 /context/rootonly" "owned by the container's root"
	assert_contains "$out" "0:0 /context/sub/pub" "nested files too"
	assert_contains "$out" "wrote" "the container's root can change the copy"
	assert_eq "$(cat "$ctx/sub/pub")" "pub" "the host's file is unchanged"
	rm -rf "$ctx"
}

test_workspace_context_copy_not_charged_to_memory() {
	local ctx out st
	ctx=$(mktemp -d)
	dd if=/dev/urandom of="$ctx/big" bs=1M count=96 status=none
	out=$("$NUCLEUS" run --memory 64M --context "$ctx" -- sh -c 'wc -c </context/big' 2>&1)
	st=$?
	assert_eq "$st" 0 "a 96M context under --memory 64M ($out)"
	assert_contains "$out" "100663296" "the whole file is there"
	# what the workload writes is its own, and the limit holds
	"$NUCLEUS" run --memory 64M --context "$ctx" -- sh -c \
		'dd if=/dev/zero of=/context/more bs=1M count=128 status=none' >/dev/null 2>&1
	st=$?
	assert_ne "$st" 0 "the workload's own 128M under --memory 64M"
	rm -rf "$ctx"
}
