# Egress policy by BPF on the container's cgroup. Traffic stays inside two
# network namespaces the test makes: "host" (where nucleus runs, with
# --network host) and "remote" (servers), joined by a veth pair.
#   host   10.77.N.1/24  fd77:N::1/64
#   remote 10.77.N.2/24  fd77:N::2/64   (10.77.N.3, fd77:N::3 answer nothing)

HERE=$(dirname "${BASH_SOURCE[0]}")

egress_setup() {
	N=$(( ($$ + RANDOM) % 200 + 20 ))
	NSH=nuc-eh-$$ NSR=nuc-er-$$
	H4=10.77.$N.1 R4=10.77.$N.2 X4=10.77.$N.3
	H6=fd77:$N::1 R6=fd77:$N::2 X6=fd77:$N::3
	SLOG=$(mktemp)
	ip netns add $NSH && ip netns add $NSR || fail "ip netns add"
	trap egress_teardown EXIT
	ip link add veth-h$$ netns $NSH type veth peer name veth-r$$ netns $NSR || fail "veth"
	ip -n $NSH link set lo up; ip -n $NSR link set lo up
	ip -n $NSH addr add $H4/24 dev veth-h$$; ip -n $NSR addr add $R4/24 dev veth-r$$
	ip -n $NSH addr add $H6/64 dev veth-h$$ nodad; ip -n $NSR addr add $R6/64 dev veth-r$$ nodad
	ip -n $NSH link set veth-h$$ up; ip -n $NSR link set veth-r$$ up
	ip netns exec $NSH sysctl -qw net.ipv4.ping_group_range="0 2147483647"
	nsenter --net=/run/netns/$NSR python3 "$HERE/netserver.py" "$SLOG" \
		$R4:80/tcp $R4:443/tcp $R4:53/udp $R4:5353/udp $R4:53/tcp \
		[$R6]:80/tcp [$R6]:443/tcp [$R6]:53/udp [$R6]:5353/udp \
		127.0.0.1:80/tcp >"$SLOG.out" 2>&1 &
	SERVER=$!
	wait_for grep -q ready "$SLOG.out" || fail "servers did not start: $(cat "$SLOG.out")"
	warm_ipv6 $NSH $R6 80 || fail "no IPv6 between the test's namespaces"
}

egress_teardown() {
	[ -n "${SERVER:-}" ] && kill $SERVER 2>/dev/null && wait $SERVER 2>/dev/null
	ip netns del $NSH 2>/dev/null
	ip netns del $NSR 2>/dev/null
	rm -f "$SLOG" "$SLOG.out"
	[ -n "${RM_ON_EXIT:-}" ] && "$NUCLEUS" rm -f $RM_ON_EXIT >/dev/null 2>&1
	return 0
}

# The pinned set of the build under test (other builds' sets may sit beside it).
egress_pin_dir() {
	ls -d /sys/fs/bpf/nucleus/egress-$(sed -n 's/.*EGRESS_BPF_VERSION "\(.*\)".*/\1/p' \
		"$NUCLEUS_TEST_BUILD/bpf/egress.version.h")-l* 2>/dev/null | head -1
}

# Run netclient.py in a container in the "host" namespace: egress FLAGS -- ACTIONS
net() {
	local flags=()
	while [ "$1" != -- ]; do flags+=("$1"); shift; done
	shift
	nsenter --net=/run/netns/$NSH "$NUCLEUS" run --network host --allow-host-network "${flags[@]}" \
		-- python3 - "$@" <"$HERE/netclient.py" 2>/dev/null
}

test_egress_tcp_ipv4_and_ipv6() {
	local out
	egress_setup
	out=$(net --egress-allow $R4/32 --egress-allow $R6/128 -- tcp:$R4:80 tcp:$X4:80 tcp:[$R6]:80 tcp:[$X6]:80)
	assert_contains "$out" "tcp:$R4:80=ok" "allowed v4"
	assert_contains "$out" "tcp:$X4:80=EPERM" "denied v4 at connect"
	assert_contains "$out" "tcp:[$R6]:80=ok" "allowed v6"
	assert_contains "$out" "tcp:[$X6]:80=EPERM" "denied v6 at connect"
	out=$(net -- tcp:$R4:80 tcp:[$R6]:80)
	assert_eq "$(echo $out)" "tcp:$R4:80=ok tcp:[$R6]:80=ok" "no flags: no filter"
}

test_egress_udp_connected_and_unconnected() {
	local out
	egress_setup
	out=$(net --egress-allow $R4/32 --egress-allow $R6/128 -- udp:$R4:5353 sendto:$R4:5353 sendmmsg:$R4:5353 \
		udp:$X4:5353 sendto:$X4:5353 sendmmsg:$X4:5353 sendto:[$R6]:5353 sendmmsg:[$X6]:5353)
	for a in udp:$R4:5353 sendto:$R4:5353 sendmmsg:$R4:5353 sendto:[$R6]:5353; do
		assert_contains "$out" "$a=ok" "$a"
	done
	for a in udp:$X4:5353 sendto:$X4:5353 sendmmsg:$X4:5353 sendmmsg:[$X6]:5353; do
		assert_contains "$out" "$a=EPERM" "$a"
	done
}

test_egress_port_restrictions() {
	local out
	egress_setup
	out=$(net --egress-allow $R4/32 --egress-tcp-port 443 --egress-udp-port 5353 -- \
		tcp:$R4:443 tcp:$R4:80 sendto:$R4:5353 sendto:$R4:53)
	assert_contains "$out" "tcp:$R4:443=ok" "allowed port"
	assert_contains "$out" "tcp:$R4:80=EPERM" "other TCP port"
	assert_contains "$out" "sendto:$R4:5353=ok" "allowed UDP port"
	assert_contains "$out" "sendto:$R4:53=EPERM" "other UDP port (no --dns)"
}

test_egress_longest_prefix_and_deny_all() {
	local out
	egress_setup
	out=$(net --egress-allow 10.77.0.0/16 --egress-allow "$R4/32" --egress-tcp-port 443 -- tcp:$R4:443 tcp:$X4:443)
	assert_contains "$out" "tcp:$R4:443=ok" "inside the prefix"
	assert_contains "$out" "tcp:$X4:443=timeout" "inside the /16 too: allowed, and nobody answers"
	out=$(net --egress-allow "" -- tcp:$R4:80 sendto:$R4:5353 tcp:[$R6]:80)
	assert_eq "$(echo $out)" "tcp:$R4:80=EPERM sendto:$R4:5353=EPERM tcp:[$R6]:80=EPERM" "deny all"
}

test_egress_dns_only_to_resolvers() {
	local out
	egress_setup
	out=$(net --egress-allow "" --dns $R4 -- sendto:$R4:53 tcp:$R4:53 sendto:$R4:5353 tcp:$R4:80 sendto:[$R6]:53)
	assert_contains "$out" "sendto:$R4:53=ok" "udp 53 to the resolver"
	assert_contains "$out" "tcp:$R4:53=" "tcp 53 to the resolver passes the filter"
	assert_not_contains "$out" "tcp:$R4:53=EPERM" "tcp 53 to the resolver"
	assert_contains "$out" "sendto:$R4:5353=EPERM" "other ports of the resolver"
	assert_contains "$out" "tcp:$R4:80=EPERM" "other ports of the resolver (tcp)"
	assert_contains "$out" "sendto:[$R6]:53=EPERM" "53 elsewhere"
}

test_egress_host_loopback_only_when_allowed() {
	local out
	egress_setup
	# the "host" namespace's loopback is not the container's own in host mode
	nsenter --net=/run/netns/$NSH python3 "$HERE/netserver.py" "$SLOG" 127.0.0.1:8080/tcp >"$SLOG.lo" 2>&1 &
	local lo=$!
	wait_for grep -q ready "$SLOG.lo" || fail "loopback server"
	out=$(net --egress-allow $R4/32 -- tcp:127.0.0.1:8080)
	assert_contains "$out" "tcp:127.0.0.1:8080=EPERM" "host loopback denied"
	out=$(net --egress-allow $R4/32 --egress-allow 127.0.0.0/8 -- tcp:127.0.0.1:8080)
	assert_contains "$out" "tcp:127.0.0.1:8080=ok" "host loopback when allowed"
	kill $lo; wait $lo 2>/dev/null; rm -f "$SLOG.lo"
}

test_egress_own_loopback_in_private_netns() {
	local out
	out=$("$NUCLEUS" run --egress-allow "" -- python3 -c '
import socket, threading
s = socket.socket(); s.bind(("127.0.0.1", 9000)); s.listen(1)
threading.Thread(target=lambda: s.accept()[0].sendall(b"hi"), daemon=True).start()
c = socket.create_connection(("127.0.0.1", 9000), timeout=2); print("own loopback", c.recv(2).decode())')
	assert_eq "$out" "own loopback hi" "the container's own lo is allowed"
}

test_egress_bypass_ipv4_mapped_ipv6() {
	local out
	egress_setup
	out=$(net --egress-allow $R4/32 -- tcp:[::ffff:$R4]:80 tcp:[::ffff:$X4]:80 sendto:[::ffff:$X4]:5353)
	assert_contains "$out" "tcp:[::ffff:$R4]:80=ok" "mapped form of an allowed address"
	assert_contains "$out" "tcp:[::ffff:$X4]:80=EPERM" "mapped form of a denied address"
	assert_contains "$out" "sendto:[::ffff:$X4]:5353=EPERM" "mapped, unconnected UDP"
}

test_egress_bypass_raw_and_packet_sockets() {
	local out caps
	egress_setup
	caps=$(mktemp --suffix=.toml)
	printf '[bounding]\nkeep = ["NET_RAW"]\n[effective]\nkeep = ["NET_RAW"]\n' >"$caps"
	out=$(net --caps-policy "$caps" -- raw packet)
	assert_eq "$(echo $out)" "raw=ok packet=ok" "with CAP_NET_RAW and no policy: allowed"
	out=$(net --caps-policy "$caps" --egress-allow $R4/32 -- raw packet)
	assert_eq "$(echo $out)" "raw=EPERM packet=EPERM" "a policy refuses them even with CAP_NET_RAW"
	rm -f "$caps"
}

test_egress_bypass_tcp_fast_open() {
	local out
	egress_setup
	ip netns exec $NSH sysctl -qw net.ipv4.tcp_fastopen=3
	ip netns exec $NSR sysctl -qw net.ipv4.tcp_fastopen=3
	out=$(net --egress-allow $R4/32 --egress-tcp-port 80 -- tfo:$R4:80 tfo:$R4:443 tfo:$X4:443)
	assert_contains "$out" "tfo:$R4:80=ok" "fast open to an allowed port"
	assert_not_contains "$out" "tfo:$R4:443=ok" "fast open to a denied port"
	assert_not_contains "$out" "tfo:$X4:443=ok" "fast open to a denied address"
	sleep 0.3
	assert_not_contains "$(cat "$SLOG")" "tcp $R4:443/tcp" "nothing reached the denied port"
}

test_egress_bypass_icmp_ping_sockets() {
	local out
	egress_setup
	out=$(net --egress-allow $R4/32 -- ping:$R4 ping:$R6)
	assert_contains "$out" "ping:$R4=ok" "ping an allowed address"
	assert_not_contains "$out" "ping:$R6=ok" "ping a denied address"
}

test_egress_bypass_child_processes() {
	local out
	egress_setup
	out=$(nsenter --net=/run/netns/$NSH "$NUCLEUS" run --network host --allow-host-network --egress-allow $R4/32 \
		-- sh -c "python3 -c 'import os, sys; os.execvp(\"python3\", [\"python3\", \"-\", \"tcp:$X4:80\", \"tcp:$R4:80\"])' <&0" \
		<"$HERE/netclient.py" 2>/dev/null)
	assert_contains "$out" "tcp:$X4:80=EPERM" "denied after fork and exec"
	assert_contains "$out" "tcp:$R4:80=ok" "allowed after fork and exec"
}

test_egress_bypass_sub_cgroup() {
	local id d pid out p moved=0
	egress_setup
	nsenter --net=/run/netns/$NSH "$NUCLEUS" run -d --name sub-$$ --network host --allow-host-network \
		--egress-allow $R4/32 -- "$PROBE" sleep 30 >/dev/null || fail "start"
	RM_ON_EXIT="sub-$$"
	id=$(container_id sub-$$)
	d=$(cgroup_dir "$id" unified) || d=$(cgroup_dir "$id" "") || fail "no v2 cgroup"
	# what a workload with delegation could do: a child cgroup of its own
	mkdir "$d/inner"
	nsenter --net=/run/netns/$NSH "$NUCLEUS" attach sub-$$ -- python3 - sleep:1 cgroup tcp:$X4:80 tcp:$R4:80 \
		<"$HERE/netclient.py" >"$SLOG.sub" 2>&1 &
	pid=$!
	for i in $(seq 1 50); do
		for p in $(cat "$d/cgroup.procs"); do
			if grep -qx python3 /proc/$p/comm 2>/dev/null; then
				echo $p >"$d/inner/cgroup.procs" && moved=1
			fi
		done
		[ $moved = 1 ] && break
		sleep 0.02
	done
	wait $pid
	out=$(cat "$SLOG.sub")
	[ $moved = 1 ] || fail "could not move the client: $out"
	assert_contains "$out" "cgroup=/inner" "the client ran in the sub-cgroup"
	assert_contains "$out" "tcp:$X4:80=EPERM" "denied in a sub-cgroup"
	assert_contains "$out" "tcp:$R4:80=ok" "allowed in a sub-cgroup"
	"$NUCLEUS" rm -f sub-$$ >/dev/null || fail "rm with a sub-cgroup"
	[ -d "$d" ] && fail "the container's cgroup (with its sub-cgroup) is left"
	rm -f "$SLOG.sub"
}

test_egress_replies_to_accepted_connections() {
	local out pid
	egress_setup
	# a server in the container, deny-all egress; a client in "remote"
	nsenter --net=/run/netns/$NSH "$NUCLEUS" run --network host --allow-host-network --egress-allow "" \
		-- python3 - listen:$H4:8080:1 udpserve:$H4:8081:1 <"$HERE/netclient.py" >"$SLOG.srv" 2>&1 &
	pid=$!
	wait_for grep -q listening "$SLOG.srv" || fail "server not listening"
	out=$(nsenter --net=/run/netns/$NSR python3 -c "
import socket; c = socket.create_connection(('$H4', 8080), timeout=3); d = b''
while True:
    b = c.recv(4096)
    if not b: break
    d += b
print('tcp reply', len(d))")
	assert_eq "$out" "tcp reply 3008" "the whole reply of an accepted connection"
	wait_for grep -q 'listen.*=ok' "$SLOG.srv" || fail "$(cat "$SLOG.srv")"
	wait_for grep -q listening <(tail -1 "$SLOG.srv") || true
	out=$(nsenter --net=/run/netns/$NSR python3 -c "
import socket, time; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(3)
for i in range(30):
    s.sendto(b'hey', ('$H4', 8081))
    try: print('udp reply', s.recv(10).decode()); break
    except socket.timeout: pass")
	assert_eq "$out" "udp reply hey" "a UDP server answers its client"
	wait $pid
	# but the same container cannot start a connection to that client
	out=$(net --egress-allow "" -- tcp:$R4:80)
	assert_contains "$out" "tcp:$R4:80=EPERM" "no new connections"
	rm -f "$SLOG.srv"
}

test_egress_denials_reported_and_counted() {
	local err j
	egress_setup
	err=$(nsenter --net=/run/netns/$NSH "$NUCLEUS" run --network host --allow-host-network --egress-allow $R4/32 \
		-- python3 - tcp:$X4:443 <"$HERE/netclient.py" 2>&1 >/dev/null)
	assert_contains "$err" "egress denied: tcp $X4:443 (pid 1 python3)" "stderr"
	nsenter --net=/run/netns/$NSH "$NUCLEUS" run -d --name cnt-$$ --network host --allow-host-network \
		--egress-allow $R4/32 -- "$PROBE" sleep 30 >/dev/null || fail "start"
	RM_ON_EXIT="cnt-$$"
	nsenter --net=/run/netns/$NSH "$NUCLEUS" attach cnt-$$ -- python3 - tcp:$R4:80 tcp:$X4:80 tcp:$X4:81 <"$HERE/netclient.py" >/dev/null 2>&1
	j=$("$NUCLEUS" stats --no-stream --json cnt-$$)
	echo "$j" | python3 -c '
import json, sys
n = json.load(sys.stdin)[0]["network"]
assert n["denied_calls"] == 2, n
assert n["allowed_packets"] >= 4 and n["allowed_bytes"] > 0, n
assert n["events"] == 2, n' || fail "stats: $j"
	"$NUCLEUS" rm -f cnt-$$ >/dev/null
}

test_egress_nothing_left_but_pinned_programs() {
	local dir e
	egress_setup
	net --egress-allow $R4/32 --egress-allow $R6/128 --dns $R4 -- tcp:$R4:80 >/dev/null
	dir=$(egress_pin_dir)
	[ -n "$dir" ] || fail "no pinned set"
	for m in policy rules4 rules6 counters ratelimit events; do
		e=$(bpftool map dump pinned "$dir/$m" 2>/dev/null | grep -c 'key')
		assert_eq "$e" 0 "entries left in $m"
	done
	assert_eq "$(ls "$dir" | wc -l)" 15 "the pinned set: 8 programs, 6 maps, the ABI link"
}

# A supervisor SIGKILLed with a policy attached leaves map entries; `rm`
# collects them, and so does the next policy run (a crash before state.json
# leaves rm nothing to go by), and for a detached container the next run.
# The maps in DIR that hold entries of cgroup CGID.
entries_of() { # DIR CGID
	local m
	for m in policy rules4 rules6 counters ratelimit events; do
		bpftool -j map dump pinned "$1/$m" 2>/dev/null | python3 -c '
import json, sys
cg = int(sys.argv[1]).to_bytes(8, "little")
def key(e):
    return bytes(int(b, 16) for b in e["key"])
# policy, counters, ratelimit, events: the key is the cgroup id; the
# rules: prefixlen (4 bytes), then the cgroup id
d = json.load(sys.stdin)
hit = isinstance(d, list) and any(key(e)[:8] == cg or key(e)[4:12] == cg for e in d)
sys.exit(0 if hit else 1)' $2 && echo -n "$m "
	done | sed 's/ $//'
}

# The egress directory (of whichever build) holding entries of CGID.
egress_dir_of() { # CGID
	local d
	for d in /sys/fs/bpf/nucleus/egress-*; do
		[ -n "$(entries_of "$d" $1)" ] && { echo "$d"; return 0; }
	done
	return 1
}

test_egress_entries_of_a_killed_supervisor_are_collected() {
	local dir="" point pid id cgid v2
	v2=$(awk '$9 == "cgroup2" { print $5; exit }' /proc/self/mountinfo)
	for point in running cloned; do
		NUCLEUS_DEBUG_PAUSE=$point "$NUCLEUS" run --name egk-$point-$$ --egress-allow 192.0.2.7/32 \
			-- "$PROBE" sleep 30 >/dev/null 2>&1 &
		pid=$!
		wait_for sh -c "grep -q '^State:.*stopped' /proc/$pid/status" || fail "supervisor never paused at $point"
		# the state directory whose lock the stopped supervisor holds
		id=$(for f in /proc/$pid/fd/*; do readlink "$f"; done | sed -n "s|^$RUNTIME_DIR/\([0-9a-f]\{32\}\)/.*|\1|p" | head -1)
		[ -n "$id" ] || fail "no state directory at $point"
		cgid=$(stat -c %i "$v2/nucleus/$id") || fail "no cgroup at $point"
		if [ "$point" = running ]; then
			dir=$(egress_dir_of $cgid) || fail "the running container has no entries"
			assert_eq "$(entries_of "$dir" $cgid)" "policy rules4 counters ratelimit events" "its entries"
		fi
		kill -KILL $pid
		wait $pid 2>/dev/null
		if [ "$point" = running ]; then
			"$NUCLEUS" rm "${id:0:12}" >/dev/null || fail "rm"
		else
			"$NUCLEUS" run --egress-allow 192.0.2.8/32 -- true || fail "the next policy run"
		fi
		assert_eq "$(entries_of "$dir" $cgid)" "" "entries left after a crash at $point"
		"$NUCLEUS" rm "${id:0:12}" >/dev/null 2>&1
	done
	# a detached container's supervisor (ps --json names it): the next run
	# of any kind collects, though a zombie supervisor has not been reaped
	# yet (it used to count as the entries' live owner)
	id=$("$NUCLEUS" run -d --name egk-d-$$ --egress-allow 192.0.2.9/32 -- "$PROBE" sleep 30) || fail "start"
	rm_on_exit egk-d-$$
	cgid=$(stat -c %i "$v2/nucleus/$id") || fail "no cgroup"
	dir=$(egress_dir_of $cgid) || fail "the detached container has no entries"
	pid=$("$NUCLEUS" ps --json | python3 -c '
import json, sys
print([c["supervisor_pid"] for c in json.load(sys.stdin) if c["name"] == sys.argv[1]][0])' egk-d-$$)
	[ "${pid:-0}" -gt 0 ] || fail "no supervisor_pid in ps --json"
	kill -KILL $pid
	# dead (a zombie at most): its lock is released with its files
	wait_for sh -c "! grep -qs '^State:.*[RSDT]' /proc/$pid/status" || fail "the supervisor lives on"
	"$NUCLEUS" run -- true || fail "the next run"
	assert_eq "$(entries_of "$dir" $cgid)" "" "entries left after a detached container's supervisor was killed"
	"$NUCLEUS" rm -f egk-d-$$ >/dev/null 2>&1
	return 0
}

# The anchor keeps the kernel's per-type static keys on: the 8 programs on
# an empty cgroup of nucleus's own; an anchor whose version has no pinned
# set any more is let go.
test_egress_anchor_holds_the_programs_and_no_process() {
	local v2 anchor stale
	v2=$(awk '$9 == "cgroup2" { print $5; exit }' /proc/self/mountinfo)
	stale=$v2/nucleus/.egress-anchor-0000000000000000
	# as if this build ran for the first time, after another one whose set is gone
	rmdir "$v2"/nucleus/.egress-anchor-* 2>/dev/null
	mkdir -p "$stale" || fail "make a stale anchor"
	"$NUCLEUS" run --egress-allow 192.0.2.1/32 -- true || fail "run"
	anchor=$(ls -d "$v2"/nucleus/.egress-anchor-* | grep -v 0000000000000000)
	[ -n "$anchor" ] || fail "no anchor under $v2/nucleus"
	assert_eq "$(bpftool cgroup show "$anchor" | grep -c multi)" 8 "8 programs on the anchor"
	assert_eq "$(cat "$anchor/cgroup.procs")" "" "no process in the anchor"
	[ -d "$stale" ] && { rmdir "$stale"; fail "another build's anchor was kept"; }
	return 0
}

test_egress_refused_without_cgroup_v2() {
	local out user=nucleus-eg$$
	useradd -M -s /usr/sbin/nologin "$user" || fail "useradd"
	out=$(cd /tmp && setpriv --reuid="$user" --regid="$user" --clear-groups env -i PATH=/usr/bin:/bin \
		"$NUCLEUS" run --egress-allow 10.0.0.0/8 -- true 2>&1; echo "st=$?")
	rm -rf "/tmp/nucleus-$(id -u "$user")" "/tmp/nucleus-cache-$(id -u "$user")"
	userdel "$user"
	assert_contains "$out" "st=125" "refused, never unfiltered"
	assert_contains "$out" "cgroup" "says why"
}

test_egress_flag_errors() {
	local a
	for a in "--egress-allow 10.0.0.0/33" "--egress-allow nope" "--egress-tcp-port 0" "--egress-udp-port 70000" \
		"--dns 1.2.3" "--dns 10.0.0.0/8"; do
		assert_status 125 "$NUCLEUS" run $a -- true
		assert_eq "$("$NUCLEUS" run $a -- true 2>&1 | wc -l)" 1 "one line for [$a]"
	done
}
