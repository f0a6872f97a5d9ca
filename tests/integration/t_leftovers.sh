# The harness's leftovers check (lib.sh) reports each kind of leftover it
# looks for, and not what a live container owns: each test plants one of a
# kind, with nucleus's naming, sees it reported, and removes it again.

# A container that lives while the test runs, with an egress policy (so its
# cgroup has entries in the pinned maps); its id in LO_ID.
lo_live_container() { # NAME
	"$NUCLEUS" run -d --name "$1" --egress-allow 192.0.2.0/24 -- "$PROBE" sleep 60 >/dev/null || fail "start $1"
	rm_on_exit "$1"
	LO_ID=$(container_id "$1")
	[ -n "$LO_ID" ] || fail "no id for $1"
}

# The 8 bytes of a little-endian u64, as bpftool takes them.
lo_le64() {
	local i
	for i in 0 1 2 3 4 5 6 7; do
		printf '%d ' $(( ($1 >> (8 * i)) & 255 ))
	done
}

test_leftovers_reports_a_veth_of_no_container() {
	local id ns=lo-veth-$$ dead=nvdead$$ live out
	lo_live_container lo-veth-$$
	id=$LO_ID
	live=nv${id:0:12}
	ip netns add $ns || fail "ip netns add"
	trap 'ip netns del '$ns' 2>/dev/null; "$NUCLEUS" rm -f $RM_ON_EXIT >/dev/null 2>&1' EXIT
	# veths with nucleus's naming, their other ends in a namespace of the
	# test's own (which takes them along when it goes)
	ip link add $dead type veth peer name eth0 netns $ns || fail "ip link add $dead"
	ip link add $live type veth peer name eth1 netns $ns || fail "ip link add $live"
	out=$(leftovers)
	assert_contains "$out" "veth $dead" "a veth of no container"
	assert_not_contains "$out" "veth $live" "the veth of a live container"
	ip link del $dead
	ip link del $live
	assert_not_contains "$(leftovers)" "veth $dead" "the veth once removed"
	ip netns del $ns
}

test_leftovers_reports_nft_elements_of_no_container() {
	local ns=lo-nft-$$ id out dead=0123456789abcdef0123456789abcdef
	lo_live_container lo-nft-$$
	id=$LO_ID
	ip netns add $ns || fail "ip netns add"
	trap 'ip netns del '$ns' 2>/dev/null; "$NUCLEUS" rm -f $RM_ON_EXIT >/dev/null 2>&1' EXIT
	# nucleus's sets and maps (src/network/nat.c), without its chains, in a
	# namespace of the test's own
	nsenter --net=/run/netns/$ns nft -f - <<EOF || fail "nft table"
table inet nucleus {
  set bridges { type ifname; }
  set subnets4 { type ipv4_addr; flags interval; }
  map dnat4 { type inet_proto . inet_service : ipv4_addr . inet_service; }
  map dnat6h { type ipv6_addr . inet_proto . inet_service : ipv6_addr . inet_service; }
}
add element inet nucleus bridges { "lo-gone$$" }
add element inet nucleus subnets4 { 10.213.0.0/24 }
add element inet nucleus dnat4 { tcp . 8080 comment "$dead" : 10.213.0.2 . 80 }
add element inet nucleus dnat4 { udp . 53 comment "$id" : 10.213.0.3 . 53 }
add element inet nucleus dnat6h { ::1 . tcp . 8443 comment "$dead" : fd00::2 . 443 }
EOF
	out=$(leftover_nft_elements $ns)
	assert_contains "$out" "nft bridges element \"lo-gone$$\" (no such interface)" "a bridge that is gone"
	assert_contains "$out" "nft subnets4 element 10.213.0.0/24 (no bridge left)" "a subnet of no bridge"
	assert_contains "$out" "nft dnat4 element tcp . 8080 comment \"$dead\" : 10.213.0.2 . 80 (container $dead has no state)" \
		"a published port of no container"
	assert_contains "$out" "nft dnat6h element ::1 . tcp . 8443" "an IPv6 host address's port of no container"
	assert_not_contains "$out" "$id" "a live container's port"
	assert_eq "$(echo "$out" | wc -l)" 4 "leftovers reported: $out"
	# with a bridge there, its subnets are not leftovers
	ip -n $ns link add lo-br$$ type bridge || fail "bridge"
	nsenter --net=/run/netns/$ns nft add element inet nucleus bridges '{ "lo-br'$$'" }' || fail "bridges element"
	out=$(leftover_nft_elements $ns)
	assert_not_contains "$out" "subnets4" "the subnet of a bridge that is there"
	assert_not_contains "$out" "lo-br$$" "a bridge that is there"
	nsenter --net=/run/netns/$ns nft delete table inet nucleus || fail "delete the table"
	assert_eq "$(leftover_nft_elements $ns)" "" "no table, no leftovers"
	ip netns del $ns
}

test_leftovers_reports_bpf_map_entries_of_no_cgroup() {
	local id v2 cgid dead dir=/sys/fs/bpf/nucleus/test-leftovers-$$ out
	command -v bpftool >/dev/null || fail "no bpftool"
	lo_live_container lo-bpf-$$
	id=$LO_ID
	v2=$(awk '$9 == "cgroup2" { print $5; exit }' /proc/self/mountinfo)
	cgid=$(stat -c %i "$v2/nucleus/$id") || fail "no cgroup"
	# the live container's entries (the LPM tries' too) are not leftovers
	assert_not_contains "$(leftover_map_entries)" "cgroup $cgid " "a live container's entries"
	# a cgroup id no cgroup has, in maps of the test's own next to nucleus's
	dead=$(( (1 << 40) + $$ ))
	trap 'rm -rf '$dir'; "$NUCLEUS" rm -f $RM_ON_EXIT >/dev/null 2>&1' EXIT
	mkdir -p $dir || fail "mkdir $dir"
	bpftool map create $dir/hash type hash key 8 value 8 entries 4 name lo_hash || fail "create a hash map"
	bpftool map create $dir/trie type lpm_trie key 16 value 4 entries 4 name lo_trie flags 1 || fail "create a trie"
	bpftool map update pinned $dir/hash key $(lo_le64 $dead) value 0 0 0 0 0 0 0 0 || fail "hash entry"
	bpftool map update pinned $dir/hash key $(lo_le64 $cgid) value 0 0 0 0 0 0 0 0 || fail "hash entry"
	# as egress's rules4: prefix length, cgroup id, IPv4 address
	bpftool map update pinned $dir/trie key 96 0 0 0 $(lo_le64 $dead) 10 0 0 0 value 0 0 0 0 || fail "trie entry"
	out=$(leftover_map_entries)
	assert_contains "$out" "bpf $dir/hash: entry of cgroup $dead (no such cgroup)" "a hash entry of no cgroup"
	assert_contains "$out" "bpf $dir/trie: entry of cgroup $dead (no such cgroup)" "a trie entry of no cgroup"
	assert_not_contains "$out" "cgroup $cgid " "a live cgroup's entry"
	rm -rf $dir
	assert_not_contains "$(leftover_map_entries)" "$dir" "the maps once unpinned"
}
