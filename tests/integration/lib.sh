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
	leftover_veths
	leftover_nft_elements
	leftover_map_entries
	return 0
}

# Lines of `leftovers` that were not in BEFORE (another run's containers
# may come and go meanwhile).
new_leftovers() { # BEFORE
	leftovers | grep -vxF -e "" -f <(echo "$1")
}

# `nucleus run --name NAME FLAGS... -- probe exit 0` must be refused:
# status 125, one line, nothing left behind, no name kept. Prints the line
# for the caller to check; call as out=$(run_refused ...) || exit 1.
run_refused() { # NAME FLAGS...
	local name=$1 before out st
	shift
	before=$(leftovers)
	out=$("$NUCLEUS" run --name "$name" "$@" -- "$PROBE" exit 0 2>&1)
	st=$?
	assert_eq "$st" 125 "status of run $*: [$out]"
	assert_eq "$(echo "$out" | wc -l)" 1 "one line for run $*: [$out]"
	assert_eq "$(new_leftovers "$before")" "" "left behind by run $*"
	[ ! -e "$RUNTIME_DIR/.names/$name" ] || fail "a name was recorded for run $*"
	echo "$out"
}

# Whether a container (by its id, or the start of it) has a state
# directory: what the network checks below take for alive. A dead one's
# directory is reported above.
container_alive() { # ID-PREFIX
	local d
	[ -n "$1" ] || return 1
	for d in "$RUNTIME_DIR/$1"*; do
		[ -d "$d" ] && return 0
	done
	return 1
}

# Host ends of veths (nv + the first 12 letters and digits of the id,
# src/network/bridge_config.c) in this network namespace whose container
# has no state. A container's veth goes with its network namespace, a few
# moments after it ends (the harness waits for that).
leftover_veths() {
	local n
	for n in /sys/class/net/nv*; do
		[ -e "$n" ] || continue
		n=${n##*/}
		container_alive "${n#nv}" || echo "veth $n"
	done
	return 0
}

# Elements of table inet nucleus (src/network/nat.c) that belong to nobody:
# a published port (dnat4, dnat4h, dnat6, dnat6h; the comment is the
# container's id) whose container has no state, a bridge (bridges) with no
# such interface, and subnets when no bridge is left. In this network
# namespace, or in the named one (ip netns).
leftover_nft_elements() { # [NETNS]
	local in=() kind set elem live=0
	command -v nft >/dev/null || return 0
	[ -n "${1:-}" ] && in=(nsenter --net=/run/netns/$1)
	"${in[@]}" nft list table inet nucleus 2>/dev/null | awk '
		$1 == "set" || $1 == "map" { set = $2 }
		/elements = \{/ { inside = 1; sub(/.*elements = \{ */, "") }
		inside {
			last = sub(/ *\}[ \t]*$/, "")
			n = split($0, elems, /, */)
			for (i = 1; i <= n; i++) {
				e = elems[i]
				gsub(/^[ \t]+|[ \t]+$/, "", e)
				if (e == "")
					continue
				if (set ~ /^dnat/) {
					id = e
					if (!sub(/.*comment "/, "", id)) id = ""
					sub(/".*/, "", id)
					print "port", set, id, e
				} else if (set == "bridges") {
					gsub(/"/, "", e)
					print "bridge", set, e, e
				} else
					print "subnet", set, "-", e
			}
			if (last) inside = 0
		}' | {
		# the listing has the bridges before the subnets
		while read -r kind set elem rest; do
			case $kind in
			bridge)
				if "${in[@]}" ip link show dev "$elem" >/dev/null 2>&1; then
					live=1
				else
					echo "nft $set element \"$elem\" (no such interface)"
				fi ;;
			port)
				container_alive "$elem" || echo "nft $set element $rest (container ${elem:-unnamed} has no state)" ;;
			subnet)
				[ $live = 1 ] || echo "nft $set element $rest (no bridge left)" ;;
			esac
		done
	}
	return 0
}

# Entries of nucleus's pinned BPF maps (/sys/fs/bpf/nucleus/<set>/<map>)
# whose cgroup is gone. Every such map is keyed by the container's cgroup
# id (an LPM trie's key: after its 4-byte prefix length); maps with keys of
# under 8 bytes are not. Needs bpftool (not in the VM tier).
leftover_map_entries() {
	local maps v2
	[ -d /sys/fs/bpf/nucleus ] && command -v bpftool >/dev/null || return 0
	# "id key-offset path" of each pinned map
	maps=$(bpftool -j -f map show 2>/dev/null | sed 's/},{"id"/}\n{"id"/g' | awk '
		match($0, /"pinned":\["\/sys\/fs\/bpf\/nucleus\/[^"]*"/) {
			path = substr($0, RSTART + 11, RLENGTH - 12)
			match($0, /"id":[0-9]+/); id = substr($0, RSTART + 5, RLENGTH - 5)
			match($0, /"bytes_key":[0-9]+/); kb = substr($0, RSTART + 12, RLENGTH - 12)
			if (kb + 0 >= 8) print id, ($0 ~ /"type":"lpm_trie"/ ? 4 : 0), path
		}')
	[ -n "$maps" ] || return 0
	v2=$(awk '$9 == "cgroup2" { print $5; exit }' /proc/self/mountinfo)
	echo "$maps" | awk '{ print "map dump id " $1 }' | bpftool -j batch file - 2>/dev/null |
		sed 's/{"command":/\n&/g' |
		awk -v maps="$maps" -v cgroups="$(find "$v2" -type d -printf '%i ' 2>/dev/null)" '
		function byte(h) { h = tolower(h); sub(/^0x/, "", h)
			return (index("0123456789abcdef", substr(h, 1, 1)) - 1) * 16 + index("0123456789abcdef", substr(h, 2, 1)) - 1 }
		BEGIN {
			n = split(maps, m, "\n")
			for (i = 1; i <= n; i++) { split(m[i], f, " "); off[f[1]] = f[2]; path[f[1]] = f[3] }
			n = split(cgroups, c, " ")
			for (i = 1; i <= n; i++) alive[c[i]] = 1
		}
		match($0, /"command":\["map","dump","id","[0-9]+"\]/) {
			id = substr($0, RSTART, RLENGTH); gsub(/[^0-9]/, "", id)
			if (!(id in path)) next
			rest = $0
			while (match(rest, /"key":\[[^]]*\]/)) {
				k = substr(rest, RSTART + 7, RLENGTH - 8); rest = substr(rest, RSTART + RLENGTH)
				gsub(/"/, "", k)
				nb = split(k, b, ",")
				if (nb < off[id] + 8) continue
				cg = 0
				for (i = off[id] + 8; i > off[id]; i--) cg = cg * 256 + byte(b[i])
				cg = sprintf("%.0f", cg)
				if (!(cg in alive) && !((id, cg) in said)) {
					said[id, cg] = 1
					print "bpf " path[id] ": entry of cgroup " cg " (no such cgroup)"
				}
			}
		}'
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
