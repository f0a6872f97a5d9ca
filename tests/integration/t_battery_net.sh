# The battery, networks: what one container's bridge leases, ports and
# crashes must never do to another's. Everything happens in a network
# namespace the test makes (the "host" where nucleus runs, nsenter), with
# its own bridge; runtime roots are mktemp directories.

netb_setup() {
	N=$(( ($$ + RANDOM) % 200 + 20 ))
	BR=nb$$ SUB=10.216.$N.0/24
	NSH=nuc-nb-$$
	ROOTS=""
	ip netns add $NSH || fail "ip netns add"
	trap netb_teardown EXIT
	ip -n $NSH link set lo up
	NSINO=$(stat -L -c %i /run/netns/$NSH)
	LEASES=/run/nucleus-net/ns-$NSINO/$BR
}

netb_teardown() {
	local r
	for r in $ROOTS; do
		NUCLEUS_ROOT=$r in_host "$NUCLEUS" rm -f $(NUCLEUS_ROOT=$r "$NUCLEUS" ps -aq 2>/dev/null) >/dev/null 2>&1
		mountpoint -q "$r" && umount "$r"
		rm -rf "$r"
	done
	[ -n "${HOLDER:-}" ] && kill $HOLDER 2>/dev/null && wait $HOLDER 2>/dev/null
	ip netns del $NSH 2>/dev/null
	[ -n "${NSINO:-}" ] && rm -rf "/run/nucleus-net/ns-$NSINO"
	return 0
}

in_host() { nsenter --net=/run/netns/$NSH "$@"; }

# A runtime root of its own in VAR, removed at the end (on a tmpfs, where
# nucleus mounts none of its own).
new_root() { # VAR
	local _root
	_root=$(mktemp -d /run/nucleus-test-root.XXXXXX) || fail "mktemp"
	ROOTS="$ROOTS $_root"
	printf -v "$1" %s "$_root"
}

# The container prints "IPv4 IPv6 MAC" of its eth0, then answers every TCP
# connection to port 80 with TAG.
NETB_PY='import fcntl, socket, sys
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.connect(("192.0.2.1", 9))
v = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM); v.connect(("2001:db8::1", 9))
mac = fcntl.ioctl(u.fileno(), 0x8927, b"eth0".ljust(256, b"\0"))[18:24].hex(":")
print(u.getsockname()[0], v.getsockname()[0], mac, flush=True)
s = socket.socket(socket.AF_INET6); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("::", 80)); s.listen(8)
while True:
    c, _ = s.accept(); c.sendall(sys.argv[1].encode() + b"\n"); c.close()'

# A detached container on the test's bridge under runtime root ROOT: ROOT NAME FLAGS...
netb_start() {
	local root=$1 name=$2
	shift 2
	NUCLEUS_ROOT=$root in_host "$NUCLEUS" run -d --name $name --network bridge --bridge $BR --subnet $SUB "$@" \
		-- python3 -c "$NETB_PY" $name >/dev/null || fail "start $name under $root"
	wait_for sh -c "NUCLEUS_ROOT=$root '$NUCLEUS' logs $name 2>/dev/null | grep -q ." || fail "$name printed no address"
}

# What a container printed: ROOT NAME
netb_addrs() { NUCLEUS_ROOT=$1 "$NUCLEUS" logs $2 | head -1; }

# A foreground container's IPv4 address: ROOT FLAGS...
netb_once() {
	local root=$1
	shift
	NUCLEUS_ROOT=$root in_host "$NUCLEUS" run --network bridge --bridge $BR --subnet $SUB "$@" -- python3 -c '
import socket
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.connect(("192.0.2.1", 9)); print(u.getsockname()[0])'
}

# The tag of whatever answers on 127.0.0.1:PORT in the test's host namespace.
netb_fetch() {
	in_host python3 -c '
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=2); print(s.recv(64).decode().strip())' $1 2>/dev/null
}

netb_supervisor() { # ROOT NAME
	NUCLEUS_ROOT=$1 "$NUCLEUS" ps --json | python3 -c '
import json, sys
print([c["supervisor_pid"] for c in json.load(sys.stdin) if c["name"] == sys.argv[1]][0])' $2
}

netb_id() { # ROOT NAME
	NUCLEUS_ROOT=$1 "$NUCLEUS" ps -a --no-trunc --format '{{.ID}} {{.Names}}' | awk -v n=$2 '$2 == n { print $1 }'
}

# Wait (~5 s) until 127.0.0.1:PORT answers TAG.
netb_wait_tag() { # PORT TAG
	local i
	for i in $(seq 1 50); do
		[ "$(netb_fetch $1)" = "$2" ] && return 0
		sleep 0.1
	done
	return 1
}

# Two runtime roots, one bridge: each container has an address, an IPv6
# address and a MAC of its own (both once got 10.0.42.2), and one
# container's end, or a run under the other root, frees nothing of the
# other's.
test_battery_net_two_roots_one_bridge_distinct_addresses() {
	local r1 r2 a b c out
	netb_setup
	new_root r1; new_root r2
	netb_start $r1 one-$$ -p 8092:80
	netb_start $r2 two-$$
	a=$(netb_addrs $r1 one-$$) b=$(netb_addrs $r2 two-$$)
	[ "$(echo $a | wc -w)" = 3 ] && [ "$(echo $b | wc -w)" = 3 ] || fail "addresses: [$a] [$b]"
	assert_ne "$(echo $a | cut -d' ' -f1)" "$(echo $b | cut -d' ' -f1)" "IPv4 addresses under two roots"
	assert_ne "$(echo $a | cut -d' ' -f2)" "$(echo $b | cut -d' ' -f2)" "IPv6 addresses under two roots"
	assert_ne "$(echo $a | cut -d' ' -f3)" "$(echo $b | cut -d' ' -f3)" "MAC addresses under two roots"
	assert_eq "$(ls "$LEASES" | grep -c '^10\.')" 2 "two leases in the host's directory"
	# the first's published port, seen from the second root
	out=$(netb_once $r2 -p 8092:81 2>&1)
	assert_contains "$out" "port mapping 8092:81/tcp: the host port is already published by container" "a port of another root"
	# a run under the first root collects, and must not take the second's
	c=$(netb_once $r1) || fail "a run under the first root"
	assert_ne "$c" "$(echo $b | cut -d' ' -f1)" "a new container under root 1 got root 2's address"
	NUCLEUS_ROOT=$r1 in_host "$NUCLEUS" rm -f one-$$ >/dev/null || fail "rm one"
	assert_eq "$(ls "$LEASES" | grep -c '^10\.')" 1 "the first's lease went with it, the second's stays"
	grep -qx "id $(NUCLEUS_ROOT=$r2 "$NUCLEUS" ps -q --no-trunc)" "$LEASES/$(echo $b | cut -d' ' -f1)" ||
		fail "the second container's lease is not its own any more"
	c=$(netb_once $r1) || fail "another run under the first root"
	assert_ne "$c" "$(echo $b | cut -d' ' -f1)" "after the first ended, its root handed out the second's address"
	NUCLEUS_ROOT=$r2 in_host "$NUCLEUS" rm -f two-$$ >/dev/null || fail "rm two"
	wait_for sh -c "[ -z \"\$(ls '$LEASES' | grep '^10\.')\" ]" || fail "leases left: $(ls "$LEASES")"
}

# A detached container's supervisor is SIGKILLed: the next container asking
# for its published port gets it at once, and the port answers the new one.
test_battery_net_killed_supervisor_port_is_free_again() {
	local r sup id
	netb_setup
	new_root r
	netb_start $r old-$$ -p 8090:80
	netb_wait_tag 8090 old-$$ || fail "the first container's port does not answer"
	id=$(netb_id $r old-$$)
	sup=$(netb_supervisor $r old-$$)
	[ "${sup:-0}" -gt 0 ] || fail "no supervisor pid in ps --json"
	kill -KILL $sup
	netb_start $r new-$$ -p 8090:80
	netb_wait_tag 8090 new-$$ || fail "the published port does not answer the new container: $(netb_fetch 8090)"
	assert_not_contains "$(in_host nft list table inet nucleus)" "$id" "the dead container's DNAT element"
}

# Under two roots: a killed supervisor's lease, address and published port
# are collected by the next container that needs them, whatever its root,
# and a live container's never are.
test_battery_net_killed_supervisor_address_across_roots() {
	local r1 r2 a b c sup veth
	netb_setup
	new_root r1; new_root r2
	netb_start $r1 dead-$$ -p 8091:80
	netb_start $r2 live-$$
	a=$(netb_addrs $r1 dead-$$ | cut -d' ' -f1) b=$(netb_addrs $r2 live-$$ | cut -d' ' -f1)
	assert_ne "$a" "$b" "addresses under two roots"
	veth=nv$(netb_id $r1 dead-$$ | cut -c1-12)
	sup=$(netb_supervisor $r1 dead-$$)
	[ "${sup:-0}" -gt 0 ] || fail "no supervisor pid in ps --json"
	kill -KILL $sup
	# its workload dies with it (PDEATHSIG), and its veth with its namespace
	wait_for sh -c "! ip -n $NSH link show $veth >/dev/null 2>&1" || fail "the dead container's veth stays"
	assert_eq "$(ls "$LEASES" | grep -c '^10\.')" 2 "the dead container's lease waits (nothing ran under its root)"
	netb_start $r2 next-$$ -p 8091:80
	c=$(netb_addrs $r2 next-$$ | cut -d' ' -f1)
	assert_eq "$c" "$a" "the dead container's address is handed out again (the lowest free)"
	assert_ne "$c" "$b" "a live container's address"
	netb_wait_tag 8091 next-$$ || fail "the dead container's port does not answer the new one: $(netb_fetch 8091)"
	grep -qx "id $(netb_id $r2 live-$$)" "$LEASES/$b" || fail "the live container's lease is not its own any more"
}

# Leases an older build kept under its runtime root (<root>/.net) are
# adopted by the next run: a live one keeps its address.
test_battery_net_leases_of_an_older_build_are_kept() {
	local r id old c
	netb_setup
	new_root r
	id=$(printf 'a%.0s' $(seq 1 32))
	old=$r/.net/ns-$NSINO/$BR
	mkdir -p "$old" "$r/$id" && chmod 0700 "$r/.net" || fail "mkdir"
	printf 'id %s\naddr4 %s/24\n' $id ${SUB%.0/24}.2 >"$old/${SUB%.0/24}.2"
	# its supervisor: someone holds the container's lock
	python3 -c 'import fcntl, sys, time
f = open(sys.argv[1], "w"); fcntl.flock(f, fcntl.LOCK_EX); print("held", flush=True); time.sleep(60)' \
		"$r/$id/lock" >"$r/held" &
	HOLDER=$!
	wait_for grep -q held "$r/held" || fail "the lock is not held"
	c=$(netb_once $r) || fail "run"
	assert_eq "$c" "${SUB%.0/24}.3" "the older build's live lease keeps its address"
	[ -e "$old" ] && fail "the older build's leases stay in $old"
	grep -qx "owner $r/$id/lock" "$LEASES/${SUB%.0/24}.2" || fail "the adopted lease names no owner"
	kill $HOLDER; wait $HOLDER 2>/dev/null; HOLDER=
	c=$(netb_once $r) || fail "run"
	assert_eq "$c" "${SUB%.0/24}.2" "once its supervisor is gone the address is free"
	rm -rf "$r/$id"
}
