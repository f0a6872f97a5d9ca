# Bridge networking: --network bridge, --bridge, --subnet, -p, --dns,
# --dns-search, --add-host. Everything happens in two network namespaces
# the test makes, never on the machine's own network:
#   "host"     where nucleus runs (nsenter): the bridge nt<pid> with
#              10.213.N.0/24, NAT, published ports, forwarding
#   "outside"  plays the internet, joined to "host" by a veth pair
#   host    10.78.N.1/24  fd78:N::1/64
#   outside 10.78.N.2/24  fd78:N::2/64   (servers: 80/tcp, 5353/udp)
# The outside has no route to the bridge's subnet: what reaches it from a
# container came through the host's masquerade.

HERE=$(dirname "${BASH_SOURCE[0]}")

bridge_setup() {
	"$NUCLEUS" run --help 2>&1 | grep -q -- '--publish' ||
		fail "nucleus run has no --publish: bridge networking is not wired into the CLI"
	N=$(( ($$ + RANDOM) % 200 + 20 ))
	BR=nt$$ SUB=10.213.$N.0/24 GW=10.213.$N.1
	NSH=nuc-bh-$$ NSO=nuc-bo-$$
	H4=10.78.$N.1 R4=10.78.$N.2 X4=10.78.$N.3
	H6=fd78:$N::1 R6=fd78:$N::2
	SLOG=$(mktemp)
	NAMES=""
	ip netns add $NSH && ip netns add $NSO || fail "ip netns add"
	trap bridge_teardown EXIT
	ip link add vb-h$$ netns $NSH type veth peer name vb-o$$ netns $NSO || fail "veth"
	ip -n $NSH link set lo up; ip -n $NSO link set lo up
	ip -n $NSH addr add $H4/24 dev vb-h$$; ip -n $NSO addr add $R4/24 dev vb-o$$
	ip -n $NSH addr add $H6/64 dev vb-h$$ nodad; ip -n $NSO addr add $R6/64 dev vb-o$$ nodad
	ip -n $NSH link set vb-h$$ up; ip -n $NSO link set vb-o$$ up
	NSINO=$(stat -L -c %i /run/netns/$NSH)
	LEASES=/run/nucleus-net/ns-$NSINO/$BR
	FWD_BEFORE=$(in_host cat /proc/sys/net/ipv4/ip_forward /proc/sys/net/ipv6/conf/all/forwarding | tr '\n' ' ')
	nsenter --net=/run/netns/$NSO python3 "$HERE/netserver.py" "$SLOG" \
		$R4:80/tcp $R4:5353/udp [$R6]:80/tcp >"$SLOG.out" 2>&1 &
	SERVER=$!
	wait_for grep -q ready "$SLOG.out" || fail "servers did not start: $(cat "$SLOG.out")"
	warm_ipv6 $NSH $R6 80 || fail "no IPv6 between the test's namespaces"
}

bridge_teardown() {
	[ -n "${SERVER:-}" ] && kill $SERVER 2>/dev/null && wait $SERVER 2>/dev/null
	[ -n "${NAMES:-}" ] && in_host "$NUCLEUS" rm -f $NAMES >/dev/null 2>&1
	for p in ${BG:-}; do wait $p 2>/dev/null; done
	ip netns del $NSH 2>/dev/null
	ip netns del $NSO 2>/dev/null
	# a failed test may leave its namespace's leases; the namespace is gone
	[ -n "${NSINO:-}" ] && rm -rf "/run/nucleus-net/ns-$NSINO"
	rm -f "$SLOG" "$SLOG".*
	return 0
}

in_host() { nsenter --net=/run/netns/$NSH "$@"; }

# nucleus run on the test's bridge (in the "host" namespace): FLAGS -- CMD
brun() {
	in_host "$NUCLEUS" run --network bridge --bridge $BR --subnet $SUB "$@"
}

# A detached container on the bridge, removed at the end: NAME FLAGS -- CMD
bstart() {
	local name=$1
	shift
	NAMES="$NAMES $name"
	brun -d --name $name "$@" >/dev/null || fail "start $name"
}

# netclient.py in a container on the bridge: FLAGS -- ACTIONS
bnet() {
	local flags=()
	while [ "$1" != -- ]; do flags+=("$1"); shift; done
	shift
	brun "${flags[@]}" -- python3 - "$@" <"$HERE/netclient.py" 2>/dev/null
}

# A server in a container (netserver.py: greets TCP on 80, echoes UDP on
# 53), in the foreground in the background so its script comes on stdin;
# ready once its published TCP port answers from the host: NAME PORT FLAGS
bserver() {
	local name=$1 port=$2
	shift 2
	NAMES="$NAMES $name"
	brun --name $name "$@" -- python3 - /dev/null [::]:80/tcp 0.0.0.0:53/udp \
		<"$HERE/netserver.py" >"$SLOG.$name" 2>&1 &
	BG="${BG:-} $!"
	for i in $(seq 1 50); do
		kill -0 $! 2>/dev/null || fail "server $name exited: $(cat "$SLOG.$name")"
		from_host tcp:127.0.0.1:$port | grep -q =ok && return 0
		sleep 0.1
	done
	fail "server $name not reachable on 127.0.0.1:$port: $(cat "$SLOG.$name")"
}

from_host() { in_host python3 "$HERE/netclient.py" "$@"; }
from_outside() { nsenter --net=/run/netns/$NSO python3 "$HERE/netclient.py" "$@"; }

# The address a container got: from its lease.
lease_ip() { # NAME
	local id f
	id=$(container_id "$1") || return 1
	for f in "$LEASES"/*; do
		grep -qx "id $id" "$f" 2>/dev/null && { basename "$f"; return 0; }
	done
	return 1
}

bridge_ports() { ip -n $NSH -o link show master $BR 2>/dev/null; }
no_bridge_ports() { [ -z "$(bridge_ports)" ]; }

# Nothing of any container is left: veths (the kernel removes them with the
# container's namespace, a few ms after it), leases (tombstones, .released-*,
# of ended containers wait for the next run), published ports, forwarding.
# Then the bridge goes (as a user would delete it), the next run collects
# its rules and its directory, and no route or set element remains.
assert_bridge_clean() {
	local left
	wait_for no_bridge_ports || fail "veths left on $BR: $(bridge_ports)"
	left=$(ls "$LEASES" 2>/dev/null | grep -vx nat)
	assert_eq "$left" "" "leases left"
	assert_not_contains "$(in_host nft list table inet nucleus 2>&1)" 'comment "' "published ports left"
	assert_eq "$(in_host cat /proc/sys/net/ipv4/ip_forward /proc/sys/net/ipv6/conf/all/forwarding | tr '\n' ' ')" \
		"$FWD_BEFORE" "forwarding restored"
	assert_contains "$(ip -n $NSH -o link show $BR 2>&1)" "$BR" "the bridge stays after its last container"
	ip -n $NSH link del $BR || fail "delete the bridge"
	in_host "$NUCLEUS" run -- true || fail "a run to collect"
	[ -e "$LEASES" ] && fail "$LEASES left after the bridge was deleted"
	assert_not_contains "$(in_host nft list table inet nucleus 2>&1)" "10.213.$N." "the bridge's subnet left in nftables"
	assert_not_contains "$(in_host nft list table inet nucleus 2>&1)" "\"$BR\"" "the bridge left in nftables"
	assert_not_contains "$(ip -n $NSH route; ip -n $NSH -6 route)" "10.213.$N." "routes left"
	return 0
}

test_bridge_container_reaches_outside_through_nat() {
	local out
	bridge_setup
	out=$(bnet -- tcp:$R4:80 udp:$R4:5353 tcp:[$R6]:80)
	assert_eq "$(echo $out)" "tcp:$R4:80=ok udp:$R4:5353=ok tcp:[$R6]:80=ok" "IPv4 TCP/UDP and IPv6 through NAT"
	assert_contains "$(cat "$SLOG")" "tcp $R4:80/tcp from $H4" "masqueraded to the host's address"
	assert_contains "$(cat "$SLOG")" "tcp [$R6]:80/tcp from $H6" "IPv6 masqueraded too"
	assert_not_contains "$(cat "$SLOG")" "from 10.213." "no container address outside"
	assert_bridge_clean
}

test_bridge_container_network_inside() {
	local out
	bridge_setup
	out=$(brun -- python3 -c '
import socket, threading
s = socket.socket(); s.bind(("127.0.0.1", 9000)); s.listen(1)
threading.Thread(target=lambda: s.accept()[0].sendall(b"hi"), daemon=True).start()
c = socket.create_connection(("127.0.0.1", 9000), timeout=2); print("lo", c.recv(2).decode())
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.connect(("'$R4'", 9)); print("addr", u.getsockname()[0])
u6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM); u6.connect(("'$R6'", 9)); print("addr6", u6.getsockname()[0])
print("ifs", sorted(n for _, n in socket.if_nameindex()))
r = open("/proc/net/route").read().split("\n")[1:]
print("default", [l.split()[0] for l in r if l and l.split()[1] == "00000000"])
')
	assert_contains "$out" "lo hi" "lo is up"
	assert_contains "$out" "addr 10.213.$N.2" "the first address of the subnet after the gateway"
	assert_contains "$out" "addr6 fd00:6e75:636c:" "an address in the bridge's IPv6 ULA subnet"
	assert_contains "$out" "ifs ['eth0', 'lo']" "eth0 and lo, nothing else"
	assert_contains "$out" "default ['eth0']" "the default route via eth0"
	assert_bridge_clean
}

test_bridge_published_port_from_outside_host_and_loopback() {
	local out
	bridge_setup
	bserver web-$$ 8080 -p 8080:80 -p 127.0.0.1:8081:80 -p 5353:53/udp
	out=$(from_outside tcp:$H4:8080 tcp:[$H6]:8080 udp:$H4:5353 tcp:$H4:8081)
	assert_contains "$out" "tcp:$H4:8080=ok" "a client outside reaches the published port"
	assert_contains "$out" "tcp:[$H6]:8080=ok" "over IPv6 too"
	assert_contains "$out" "udp:$H4:5353=ok" "a published UDP port"
	assert_not_contains "$out" "tcp:$H4:8081=ok" "a port published on 127.0.0.1 only is not reachable from outside"
	out=$(from_host tcp:127.0.0.1:8080 tcp:127.0.0.1:8081 tcp:$H4:8080 udp:127.0.0.1:5353)
	assert_eq "$(echo $out)" "tcp:127.0.0.1:8080=ok tcp:127.0.0.1:8081=ok tcp:$H4:8080=ok udp:127.0.0.1:5353=ok" \
		"the host reaches it, through 127.0.0.1 too"
	out=$(in_host "$NUCLEUS" stats --no-stream --json web-$$)
	echo "$out" | python3 -c "
import json, sys
d = json.load(sys.stdin)[0]
assert d['net_rx_bytes'] > 0 and d['net_tx_bytes'] > 0, d" || fail "stats: no NET I/O after traffic: $out"
	assert_contains "$(in_host "$NUCLEUS" stats --no-stream web-$$)" "NET I/O" "stats table"
	out=$(in_host "$NUCLEUS" ps)
	assert_contains "$out" "8080->80/tcp, 127.0.0.1:8081->80/tcp, 5353->53/udp" "ps shows the published ports"
	out=$(in_host "$NUCLEUS" ps --json)
	assert_contains "$out" '"network": "bridge"' "ps --json: the network mode"
	assert_contains "$out" "\"10.213.$N." "ps --json: the address"
	in_host "$NUCLEUS" rm -f web-$$ >/dev/null || fail "rm"
	out=$(from_host tcp:127.0.0.1:8080)
	assert_not_contains "$out" "=ok" "unpublished with the container"
	assert_bridge_clean
}

test_bridge_two_containers_and_hairpin() {
	local ip out
	bridge_setup
	bserver srv-$$ 8080 -p 8080:80
	ip=$(lease_ip srv-$$) || fail "no lease for srv-$$"
	out=$(bnet -- tcp:$ip:80 tcp:$GW:8080 tcp:$H4:8080)
	assert_contains "$out" "tcp:$ip:80=ok" "a container reaches another by address"
	assert_contains "$out" "tcp:$GW:8080=ok" "and through the published port on the gateway (hairpin)"
	assert_contains "$out" "tcp:$H4:8080=ok" "and on another host address"
	in_host "$NUCLEUS" rm -f srv-$$ >/dev/null
	assert_bridge_clean
}

test_bridge_resolv_conf_and_hosts() {
	local out me
	bridge_setup
	out=$(brun --hostname box-$$ --dns 192.0.2.53 --dns 2001:db8::53 --dns-search example.test \
		--add-host db:10.9.9.9 --add-host v6host:2001:db8::9 --add-host gw:host-gateway -- sh -c '
cat /etc/resolv.conf /etc/hosts
python3 -c "
import socket
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.connect((\"'$R4'\", 9)); print(\"me\", u.getsockname()[0])
print(\"resolves\", socket.gethostbyname(\"box-'$$'\"))"')
	me=$(echo "$out" | sed -n 's/^me //p')
	assert_contains "$out" "nameserver 192.0.2.53" "--dns"
	assert_contains "$out" "nameserver 2001:db8::53" "--dns IPv6"
	assert_contains "$out" "search example.test" "--dns-search"
	assert_contains "$out" "$(printf '10.9.9.9\tdb')" "--add-host"
	assert_contains "$out" "$(printf '2001:db8::9\tv6host')" "--add-host IPv6"
	assert_contains "$out" "$(printf '%s\tgw' $GW)" "--add-host host-gateway"
	assert_contains "$me" "10.213.$N." "an address on the bridge"
	assert_contains "$out" "$(printf '%s\tbox-%s' "$me" $$)" "/etc/hosts names the container's bridge address"
	assert_contains "$out" "resolves $me" "the hostname resolves to the bridge address"
	assert_not_contains "$out" "127.0.1.1" "no loopback line for the hostname"
	out=$(brun -- cat /etc/resolv.conf)
	assert_contains "$out" "nameserver 8.8.8.8" "agent mode's default resolvers"
	assert_contains "$out" "nameserver 8.8.4.4" "agent mode's default resolvers"
	assert_bridge_clean
}

test_bridge_egress_policy_applies() {
	local out
	bridge_setup
	out=$(bnet --egress-allow "" -- tcp:$R4:80 udp:$R4:5353 tcp:[$R6]:80)
	assert_eq "$(echo $out)" "tcp:$R4:80=EPERM udp:$R4:5353=EPERM tcp:[$R6]:80=EPERM" "deny all"
	out=$(bnet --egress-allow $R4/32 -- tcp:$R4:80 tcp:$X4:80 tcp:[$R6]:80)
	assert_contains "$out" "tcp:$R4:80=ok" "allowed, through NAT"
	assert_contains "$out" "tcp:$X4:80=EPERM" "denied"
	assert_contains "$out" "tcp:[$R6]:80=EPERM" "denied IPv6"
	# replies of a published server with no egress at all still flow
	bserver quiet-$$ 8080 -p 8080:80 -p 5353:53/udp --egress-allow ""
	out=$(from_outside tcp:$H4:8080 tcp:[$H6]:8080 udp:$H4:5353)
	assert_eq "$(echo $out)" "tcp:$H4:8080=ok tcp:[$H6]:8080=ok udp:$H4:5353=ok" \
		"replies to published ports under deny-all"
	in_host "$NUCLEUS" rm -f quiet-$$ >/dev/null
	assert_bridge_clean
}

test_bridge_twenty_in_parallel_get_distinct_addresses() {
	local i pids="" out=""
	bridge_setup
	# started together, all running at once: each says what address it has
	for i in $(seq 1 20); do
		NAMES="$NAMES par$i-$$"
		brun -d --name par$i-$$ -- python3 -c "
import socket, time
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.connect(('$R4', 9))
print(u.getsockname()[0], flush=True); time.sleep(60)" >/dev/null 2>"$SLOG.par$i" &
		pids="$pids $!"
	done
	for i in $pids; do wait $i || fail "a parallel start failed: $(cat "$SLOG".par* | head -3)"; done
	for i in $(seq 1 20); do
		wait_for sh -c "'$NUCLEUS' logs par$i-$$ | grep -q ." || fail "no address from par$i-$$"
		out="$out $("$NUCLEUS" logs par$i-$$)"
	done
	assert_eq "$(echo $out | tr ' ' '\n' | sort -u | grep -c "^10\.213\.$N\.")" 20 "20 distinct addresses"
	assert_eq "$(ls "$LEASES" | grep -vx nat | wc -l)" 20 "20 leases"
	in_host "$NUCLEUS" rm -f $NAMES >/dev/null || fail "rm"
	NAMES=""
	assert_bridge_clean
}

# SIGKILL the supervisor at each point; `nucleus rm` (in the host's network
# namespace) removes the lease, the published ports and the forwarding count.
test_bridge_cleanup_after_supervisor_sigkill() {
	local point pid id out
	bridge_setup
	for point in cloned registered running; do
		# (nsenter execs nucleus: $! is the supervisor)
		NUCLEUS_DEBUG_PAUSE=$point nsenter --net=/run/netns/$NSH "$NUCLEUS" run --network bridge --bridge $BR \
			--subnet $SUB --name crash-$point-$$ -p 8090:80 -- "$PROBE" sleep 30 >/dev/null 2>&1 &
		pid=$!
		wait_for sh -c "grep -q '^State:.*stopped' /proc/$pid/status" || fail "supervisor never paused at $point"
		# the state directory whose lock the stopped supervisor holds
		id=$(for f in /proc/$pid/fd/*; do readlink "$f"; done | sed -n "s|^$RUNTIME_DIR/\([0-9a-f]\{32\}\)/.*|\1|p" | head -1)
		kill -KILL $pid
		wait $pid 2>/dev/null
		[ -n "$id" ] || fail "no state directory at $point"
		in_host "$NUCLEUS" rm -f "${id:0:12}" >/dev/null || fail "rm after a crash at $point"
		wait_for no_bridge_ports || fail "veth left after a crash at $point: $(bridge_ports)"
		assert_eq "$(ls "$LEASES" 2>/dev/null | grep -vx nat)" "" "lease left after a crash at $point"
		assert_not_contains "$(in_host nft list table inet nucleus 2>&1)" "$id" "published port left ($point)"
	done
	# the next run collects too, without rm
	NUCLEUS_DEBUG_PAUSE=running nsenter --net=/run/netns/$NSH "$NUCLEUS" run --network bridge --bridge $BR \
		--subnet $SUB --name crash-gc-$$ -p 8090:80 -- "$PROBE" sleep 30 >/dev/null 2>&1 &
	pid=$!
	wait_for sh -c "grep -q '^State:.*stopped' /proc/$pid/status" || fail "supervisor never paused"
	kill -KILL $pid
	wait $pid 2>/dev/null
	in_host "$NUCLEUS" run -- true || fail "run"
	out=$(bnet -p 8090:80 -- tcp:$R4:80)
	assert_contains "$out" "tcp:$R4:80=ok" "the crashed container's port and address are free again"
	assert_bridge_clean
}

test_bridge_bad_input_is_refused_before_anything_exists() {
	local out a
	bridge_setup
	# another bridge already has the subnet
	ip -n $NSH link add ot$$ type bridge && ip -n $NSH addr add $GW/24 dev ot$$ || fail "other bridge"
	out=$(in_host "$NUCLEUS" run --network bridge --bridge nt2-$$ --subnet $SUB -- true 2>&1)
	assert_eq "$?" 125 "overlapping subnet: status"
	assert_contains "$out" "overlaps" "overlapping subnet: says why"
	assert_eq "$(echo "$out" | wc -l)" 1 "one line"
	[ -z "$(ip -n $NSH -o link show nt2-$$ 2>/dev/null)" ] || fail "a bridge was created"
	ip -n $NSH link del ot$$
	# a name that is not a bridge
	out=$(in_host "$NUCLEUS" run --network bridge --bridge vb-h$$ -- true 2>&1)
	assert_contains "$out" "not a bridge" "not a bridge"
	# the bridge exists with another subnet
	brun -- true || fail "first run"
	out=$(in_host "$NUCLEUS" run --network bridge --bridge $BR --subnet 10.214.$N.0/24 -- true 2>&1)
	assert_contains "$out" "not the gateway of subnet" "the bridge has another subnet"
	# a busy port: another container's, and a host program's
	bserver busy-$$ 8080 -p 8080:80
	out=$(brun -p 8080:81 -- true 2>&1)
	assert_eq "$?" 125 "busy port: status"
	assert_contains "$out" "already published by container" "busy port: says by whom"
	out=$(brun -p 127.0.0.1:8080:81 -- true 2>&1)
	assert_contains "$out" "already published" "the same port on 127.0.0.1"
	in_host python3 -c 'import socket, time; s = socket.socket(); s.bind(("0.0.0.0", 8070)); s.listen(); print("up", flush=True); time.sleep(10)' >"$SLOG.l" &
	a=$!
	wait_for grep -q up "$SLOG.l" || fail "listener"
	out=$(brun -p 8070:80 -- true 2>&1)
	assert_contains "$out" "in use on the host" "a host program's port"
	kill $a; wait $a 2>/dev/null
	# bad flags
	for a in "--subnet 10.213.0.0/33" "--subnet nope" "--subnet 127.0.0.0/24" "--bridge a/b" \
		"-p 80" "-p 0:80" "-p 70000:80" "-p 8080:80/sctp" "-p [::1]:8080:80" "-p 1.2.3.4.5:8080:80" \
		"--add-host nocolon" "--add-host db:10.0.0" "--dns-search a..b"; do
		out=$(brun $a -- true 2>&1)
		assert_eq "$?" 125 "status of [$a]"
		assert_eq "$(echo "$out" | wc -l)" 1 "one line for [$a]: $out"
	done
	out=$(brun -p 10.1.2.3:8060:80 -- true 2>&1)
	assert_contains "$out" "not an address of this host" "a host address that is not ours"
	assert_eq "$(ls "$LEASES" | grep -vx nat | wc -l)" 1 "only busy-$$'s lease"
	in_host "$NUCLEUS" rm -f busy-$$ >/dev/null
	assert_bridge_clean
}
