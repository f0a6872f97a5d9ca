# What compose's services get from `nucleus run`: a bridge per network with
# its declared subnet, names through a shared hosts file (--hosts-file)
# kept current while containers come and go, no traffic between two
# networks' bridges, and net_bridge_remove at `compose down`. Everything
# happens in a network namespace the test makes ("host", where nucleus
# runs): its bridges, leases, nftables table and forwarding are its own.

HERE=$(dirname "${BASH_SOURCE[0]}")
# the unit test binary doubles as the caller of net_bridge_remove
BRIDGE_REMOVE="$(dirname "$NUCLEUS")/tests/test_net_hosts --bridge-remove"

cn_setup() {
	NS=nuc-cn-$$
	BA=cna$$ BB=cnb$$
	SA=10.42.0.0/24 SB=10.43.0.0/24
	HDIR=$(mktemp -d /tmp/nucleus-cn.XXXXXX)
	chmod 755 "$HDIR"
	HOSTS=$HDIR/hosts
	printf '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n' >"$HOSTS"
	chmod 644 "$HOSTS"
	NAMES=""
	BG=""
	ip netns add $NS || fail "ip netns add"
	ip -n $NS link set lo up
	NSINO=$(stat -L -c %i /run/netns/$NS)
	trap cn_teardown EXIT
}

cn_teardown() {
	[ -n "${NAMES:-}" ] && in_ns "$NUCLEUS" rm -f $NAMES >/dev/null 2>&1
	for p in ${BG:-}; do kill $p 2>/dev/null; wait $p 2>/dev/null; done
	ip netns del $NS 2>/dev/null
	[ -n "${NSINO:-}" ] && rm -rf "/run/nucleus-net/ns-$NSINO"
	rm -rf "$HDIR"
	return 0
}

in_ns() { nsenter --net=/run/netns/$NS "$@"; }

# A container on bridge BR (subnet SUB) with the shared hosts file:
# BR SUB FLAGS -- CMD
crun() {
	local br=$1 sub=$2
	shift 2
	in_ns "$NUCLEUS" run --network bridge --bridge $br --subnet $sub --hosts-file "$HOSTS" "$@"
}

# A detached HTTP server on port 8000: NAME BR SUB
cserver() {
	NAMES="$NAMES $1"
	crun $2 $3 -d --name $1 -- python3 -m http.server 8000 >/dev/null || fail "start $1"
}

# A TCP connection from a container: BR SUB HOST[:PORT]; prints ok or the error
cconnect() {
	crun $1 $2 -- python3 -c '
import socket, sys
h, p = sys.argv[1], 8000
try:
    socket.create_connection((h, p), timeout=1.5).close(); print("ok")
except Exception as e:
    print(type(e).__name__)' "$3" 2>&1
}

# The server answers (it may take python a moment to listen): BR SUB HOST
wait_server() {
	local i
	for i in $(seq 1 30); do
		[ "$(cconnect "$@")" = ok ] && return 0
		sleep 0.2
	done
	return 1
}

host_line() { grep -P "\t$1\t# nucleus " "$HOSTS"; }

test_compose_net_names_through_the_hosts_file() {
	local out a b
	cn_setup
	cserver cn-db-$$ $BA $SA
	a=$(host_line cn-db-$$ | grep -o '^10\.[0-9.]*')
	assert_eq "$a" 10.42.0.2 "the first container's address, from the declared subnet"
	wait_server $BA $SA cn-db-$$ || fail "cn-db-$$ not reachable by name"
	out=$(crun $BA $SA --name cn-web-$$ -- sh -c 'cat /etc/hosts; ip -4 -o addr show eth0')
	assert_contains "$out" "10.42.0.3/24" "the next container gets the next address"
	assert_contains "$out" "$(printf '10.42.0.3\tcn-web-%s' $$)" "its own name, in its /etc/hosts"
	assert_contains "$out" "$(printf '10.42.0.2\tcn-db-%s' $$)" "the other's name, in its /etc/hosts"
	assert_contains "$out" "$(printf '127.0.0.1\tlocalhost')" "localhost kept"
	assert_eq "$(cconnect $BA $SA cn-db-$$)" ok "connect by name"
	# --add-host lines go into the file with the container's, while it runs
	out=$(crun $BA $SA --add-host extra-$$:192.0.2.7 -- cat /etc/hosts)
	assert_contains "$out" "$(printf '192.0.2.7\textra-%s' $$)" "--add-host with --hosts-file"
	assert_not_contains "$(cat "$HOSTS")" "extra-$$" "its lines gone with it"
	assert_eq "$(grep -c '# nucleus' "$HOSTS")" 2 "only the server's lines left (IPv4 and IPv6)"
	# read-only inside
	out=$(crun $BA $SA -- sh -c 'echo x >>/etc/hosts' 2>&1)
	assert_contains "$out" "Read-only file system" "the bind is read-only"
	in_ns "$NUCLEUS" rm -f cn-db-$$ >/dev/null
	assert_eq "$(grep -c '# nucleus' "$HOSTS")" 0 "no line left after the last container"
}

test_compose_net_running_container_sees_updates() {
	local st
	cn_setup
	# a running container waits for a later one's name, then for its removal
	crun $BA $SA --name cn-watch-$$ -- sh -c '
		for i in $(seq 1 150); do grep -q "cn-late-'$$'" /etc/hosts && break; sleep 0.1; done
		grep -q "cn-late-'$$'" /etc/hosts || { echo never-added; exit 3; }
		for i in $(seq 1 150); do grep -q "cn-late-'$$'" /etc/hosts || exit 0; sleep 0.1; done
		echo never-removed; exit 4' >"$HDIR/watch.out" 2>&1 &
	BG=$!
	NAMES="$NAMES cn-watch-$$"
	wait_for host_line cn-watch-$$ >/dev/null || fail "the watcher's line never came"
	cserver cn-late-$$ $BA $SA
	sleep 0.5
	in_ns "$NUCLEUS" rm -f cn-late-$$ >/dev/null
	wait $BG
	st=$?
	BG=""
	assert_eq "$st" 0 "the running container saw the line come and go: $(cat "$HDIR/watch.out")"
}

test_compose_net_bridges_are_isolated() {
	local ip before after
	cn_setup
	cserver cn-db-$$ $BA $SA
	wait_server $BA $SA cn-db-$$ || fail "cn-db-$$ not reachable on its own bridge"
	ip=$(host_line cn-db-$$ | grep -o '^10\.[0-9.]*')
	before=$(in_ns nft list chain inet nucleus isolate | grep -o 'packets [0-9]*' | cut -d' ' -f2)
	assert_ne "$(cconnect $BB $SB $ip)" ok "another network's bridge reaches the server"
	assert_ne "$(in_ns "$NUCLEUS" run --network bridge -- python3 -c "
import socket; socket.create_connection(('$ip', 8000), timeout=1.5); print('ok')" 2>&1)" ok \
		"nucleus0 reaches the server"
	after=$(in_ns nft list chain inet nucleus isolate | grep -o 'packets [0-9]*' | cut -d' ' -f2)
	[ "$after" -gt "$before" ] || fail "the isolate chain dropped nothing ($before -> $after)"
	assert_contains "$(ip -n $NS -4 addr show $BB)" "10.43.0.1/24" "the second bridge has its subnet"
	# the host does route between them: the chain is what stops it
	in_ns nft flush chain inet nucleus isolate
	assert_eq "$(cconnect $BB $SB $ip)" ok "without the chain the host forwards between bridges"
}

test_compose_net_overlapping_subnet_refused() {
	local out pid st
	cn_setup
	crun $BA $SA -- true || fail "first bridge"
	out=$(in_ns "$NUCLEUS" run --network bridge --bridge $BB --subnet 10.42.0.0/16 -- true 2>&1)
	assert_eq "$?" 125 "status"
	assert_contains "$out" "subnet 10.42.0.0/16 overlaps 10.42.0.1/24 on \`$BA\`" "message"
	ip -n $NS link show $BB >/dev/null 2>&1 && fail "bridge $BB made in the namespace"
	# a bridge not made yet (another topology coming up): its leases tell
	NUCLEUS_DEBUG_PAUSE=cloned nsenter --net=/run/netns/$NS "$NUCLEUS" run --network bridge --bridge cnc$$ \
		--subnet 10.44.0.0/24 -- true >/dev/null 2>&1 &
	pid=$!
	wait_for sh -c "grep -q '^State:.*stopped' /proc/$pid/status" || fail "the first run never paused"
	ip -n $NS link show cnc$$ >/dev/null 2>&1 && fail "the paused run's bridge exists already"
	out=$(in_ns "$NUCLEUS" run --network bridge --bridge $BB --subnet 10.44.0.0/16 -- true 2>&1)
	st=$?
	kill -CONT $pid
	wait $pid || fail "the paused run failed"
	assert_eq "$st" 125 "status (a bridge not made yet)"
	assert_contains "$out" "subnet 10.44.0.0/16 overlaps 10.44.0.0/24 of bridge \`cnc$$\`" "message (from the leases)"
	ip -n $NS link show $BB >/dev/null 2>&1 && fail "bridge $BB made in the namespace"
	return 0
}

test_compose_net_hosts_file_refusals() {
	local out
	cn_setup
	out=$(run_refused cn-r-$$ --hosts-file "$HOSTS") || exit 1
	assert_contains "$out" "nucleus: run: --hosts-file needs --network bridge" "without a bridge"
	out=$(in_ns "$NUCLEUS" run --network bridge --bridge $BA --subnet $SA --hosts-file "$HDIR/none" -- true 2>&1)
	assert_eq "$?" 125 "a missing file: status"
	assert_contains "$out" "--hosts-file \`$HDIR/none\`: No such file or directory" "a missing file"
	ln -s "$HOSTS" "$HDIR/link"
	out=$(in_ns "$NUCLEUS" run --network bridge --bridge $BA --subnet $SA --hosts-file "$HDIR/link" -- true 2>&1)
	assert_eq "$?" 125 "a symlink: status"
	assert_contains "$out" "is a symlink" "a symlink"
	chmod 666 "$HOSTS"
	out=$(in_ns "$NUCLEUS" run --network bridge --bridge $BA --subnet $SA --hosts-file "$HOSTS" -- true 2>&1)
	assert_eq "$?" 125 "writable by others: status"
	assert_contains "$out" "writable by others" "writable by others"
	[ -e "/run/nucleus-net/ns-$NSINO/$BA" ] && fail "a lease directory was made"
	ip -n $NS link show $BA >/dev/null 2>&1 && fail "the bridge was made"
	return 0
}

test_compose_net_restart_keeps_address() {
	local out
	cn_setup
	mkdir -m 777 "$HDIR/out"
	crun $BA $SA --restart on-failure:2 -v "$HDIR/out:/out:rw" -- \
		sh -c 'ip -4 -o addr show eth0 | grep -o "inet 10\.42\.0\.[0-9]*" >>/out/addr; exit 1' >/dev/null 2>&1
	out=$(sort -u "$HDIR/out/addr")
	assert_eq "$(wc -l <"$HDIR/out/addr")" 3 "three runs"
	assert_eq "$out" "inet 10.42.0.2" "one address over the restarts"
}

test_compose_net_bridge_remove() {
	local out
	cn_setup
	cserver cn-db-$$ $BA $SA
	out=$(in_ns $BRIDGE_REMOVE $BA)
	assert_eq "$?" 1 "refused while in use"
	assert_contains "$out" "EBUSY: bridge \`$BA\` is in use by container" "EBUSY"
	ip -n $NS link show $BA >/dev/null 2>&1 || fail "the bridge went while in use"
	in_ns "$NUCLEUS" rm -f cn-db-$$ >/dev/null
	out=$(in_ns $BRIDGE_REMOVE $BA) || fail "remove: $out"
	ip -n $NS link show $BA >/dev/null 2>&1 && fail "the bridge is still there"
	[ -e "/run/nucleus-net/ns-$NSINO/$BA" ] && fail "its lease directory is still there"
	out=$(in_ns nft list table inet nucleus)
	assert_not_contains "$out" "\"$BA\"" "its elements in nftables"
	assert_not_contains "$out" "10.42.0.0/24" "its subnet in nftables"
	assert_eq "$(in_ns cat /proc/sys/net/ipv4/ip_forward)" 0 "forwarding put back"
	in_ns $BRIDGE_REMOVE $BA >/dev/null || fail "removing it again is not an error"
	# a bridge nucleus did not make, even one it used, stays
	ip -n $NS link add $BB type bridge
	ip -n $NS addr add 10.43.0.1/24 dev $BB
	ip -n $NS link set $BB up
	crun $BB $SB -- true || fail "a run on the user's bridge"
	out=$(in_ns $BRIDGE_REMOVE $BB)
	assert_contains "$out" "EPERM: bridge \`$BB\` was not created by nucleus" "the user's bridge"
	ip -n $NS link show $BB >/dev/null 2>&1 || fail "the user's bridge was deleted"
	out=$(in_ns $BRIDGE_REMOVE nucleus0)
	assert_contains "$out" "EPERM: bridge \`nucleus0\` is the default bridge" "nucleus0"
}
