# Integration test library: real containers, real outcomes.
# Each test is a shell function named test_*; it fails by calling fail (or
# by any assert_*). After every test the harness checks that nothing was
# left behind: cgroups, state directories, mounts.

NUCLEUS=${NUCLEUS:?}
PROBE=${PROBE:-/usr/local/lib/nucleus-test/probe}
RUNTIME_DIR=${RUNTIME_DIR:-/run/nucleus}
# root's container logs (container.log, audit.jsonl), out of the runtime dir
LOG_ROOT=${LOG_ROOT:-/var/log/nucleus/containers}

fail() {
	echo "    $*" >&2
	exit 1
}

assert_eq() { # actual expected what
	[ "$1" = "$2" ] || fail "$3: expected [$2], got [$1]"
}

assert_ne() {
	[ "$1" != "$2" ] || fail "$3: did not expect [$2]"
}

assert_contains() { # haystack needle what
	case "$1" in *"$2"*) ;; *) fail "$3: [$2] not in [$1]" ;; esac
}

assert_not_contains() {
	case "$1" in *"$2"*) fail "$3: [$2] unexpectedly in [$1]" ;; *) ;; esac
}

# run_status EXPECTED CMD...: run CMD, compare its exit status.
assert_status() {
	local want=$1 got
	shift
	"$@" >/dev/null 2>&1
	got=$?
	[ "$got" = "$want" ] || fail "status of [$*]: expected $want, got $got"
}

# nucleus run [flags] -- probe ARGS; the probe's stdout is printed.
probe() {
	"$NUCLEUS" run "$@"
}

# The errno a probe action returns inside a default container.
probe_errno() {
	"$NUCLEUS" run -- "$PROBE" "$@" >/dev/null 2>&1
	echo $?
}

# Leftovers of any container: printed one per line, empty when clean.
# (Plain shell: the VM tier runs this under busybox tools.)
leftovers() {
	local d e
	for d in /sys/fs/cgroup/nucleus /sys/fs/cgroup/*/nucleus; do
		[ -d "$d" ] || continue
		for e in "$d"/*/; do
			[ -d "$e" ] && echo "cgroup ${e%/}"
		done
	done
	if [ -d "$RUNTIME_DIR" ]; then
		for e in "$RUNTIME_DIR"/* "$RUNTIME_DIR"/.names/*; do
			[ -e "$e" ] || [ -L "$e" ] && echo "state $e"
		done
	fi
	if [ -d "$LOG_ROOT" ]; then
		for e in "$LOG_ROOT"/*; do
			[ -e "$e" ] && echo "logs $e"
		done
	fi
	# (the runtime directory's own tmpfs, /run/nucleus itself, stays)
	grep -E ' (/run/nucleus|/tmp/nucleus)/' /proc/self/mountinfo | sed 's/^/mount /'
	return 0
}

# Wait (up to ~5 s) for a condition command to succeed.
wait_for() {
	local i
	for i in $(seq 1 100); do
		"$@" && return 0
		sleep 0.05
	done
	return 1
}

# The cgroup directory of a container for a controller (v1) or v2.
cgroup_dir() { # ID CONTROLLER
	local d
	for d in /sys/fs/cgroup/$2/nucleus/$1 /sys/fs/cgroup/nucleus/$1; do
		[ -d "$d" ] && { echo "$d"; return 0; }
	done
	return 1
}

# The full id of a container by name.
container_id() {
	readlink "$RUNTIME_DIR/.names/$1"
}

# A container's file as its state names it (log_path, audit_path).
state_field() { # NAME FIELD
	sed -n "s/.*\"$2\":\"\([^\"]*\)\".*/\1/p" "$RUNTIME_DIR/$(container_id "$1")/state.json"
}

# Remove these containers when the test ends, passed or failed.
RM_ON_EXIT=""
rm_on_exit() {
	RM_ON_EXIT="$RM_ON_EXIT $*"
	trap '"$NUCLEUS" rm -f $RM_ON_EXIT >/dev/null 2>&1' EXIT
}

# A veth seconds old stalls its first IPv6 exchange for ~1 s in the kernel
# (a host's long-lived uplink does not), which the clients' 1-2 s timeouts
# would turn into flakes: exchange once from namespace NS with a TCP server
# at [ADDR]:PORT before measuring anything. NS ADDR PORT
warm_ipv6() {
	local i
	for i in 1 2 3; do
		nsenter --net=/run/netns/$1 python3 "$(dirname "${BASH_SOURCE[0]}")/netclient.py" \
			"tcp:[$2]:$3" | grep -q =ok && return 0
	done
	return 1
}
