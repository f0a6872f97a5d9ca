# Policy files through real containers: capability and Landlock policies,
# SHA-256 pins.

CONFIG=$(cd "$(dirname "$NUCLEUS")/../config" 2>/dev/null && pwd || echo /payload/config)

sha() { sha256sum "$1" | cut -d' ' -f1; }

test_caps_policy_sets_exactly() {
	local s
	s=$(probe --caps-policy "$CONFIG/caps/web-service.toml" -- "$PROBE" status)
	for set in CapInh CapPrm CapEff CapBnd CapAmb; do
		assert_contains "$s" "$set:	0000000000000400" "$set is NET_BIND_SERVICE only"
	done
	s=$(probe --caps-policy "$CONFIG/caps/docker-default.toml" -- "$PROBE" status)
	assert_contains "$s" "CapBnd:	00000000a80425fb" "docker's bounding set"
	assert_contains "$s" "CapEff:	00000000a80425fb" "docker's effective set"
	assert_contains "$s" "CapPrm:	00000000a80425fb" "docker's permitted set"
	assert_contains "$s" "CapInh:	0000000000000000" "no inheritable"
	assert_contains "$s" "CapAmb:	0000000000000000" "no ambient"
	s=$(probe --caps-policy "$CONFIG/caps/agent.toml" -- "$PROBE" status)
	assert_contains "$s" "CapBnd:	0000000000000000" "agent: nothing"
}

test_caps_policy_is_real() {
	# NET_BIND_SERVICE really lets the workload bind port 80, and nothing else is granted
	local out
	out=$(probe --caps-policy "$CONFIG/caps/web-service.toml" -- python3 -c '
import socket, os
s = socket.socket(); s.bind(("127.0.0.1", 80)); print("bound 80")
try:
    os.chown("/tmp", 1, 1); print("chown allowed")
except PermissionError: print("chown refused")')
	assert_contains "$out" "bound 80" "NET_BIND_SERVICE works"
	assert_contains "$out" "chown refused" "CHOWN not granted"
	out=$(probe -- python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 80))' 2>&1)
	assert_contains "$out" "PermissionError" "no policy: no bind below 1024"
}

test_caps_policy_errors() {
	local f err
	f=$(mktemp)
	printf '[bounding]\nkeep = ["CAP_TELEPORT"]\n' >"$f"
	err=$("$NUCLEUS" run --caps-policy "$f" -- true 2>&1)
	assert_status 125 "$NUCLEUS" run --caps-policy "$f" -- true
	assert_eq "$err" "nucleus: $f:2:9: unknown capability \`CAP_TELEPORT\`" "names file:line:column"
	printf '[bounding]\nkeep = [\n' >"$f"
	assert_contains "$("$NUCLEUS" run --caps-policy "$f" -- true 2>&1)" "$f:" "TOML syntax error position"
	assert_status 125 "$NUCLEUS" run --caps-policy /nonexistent.toml -- true
	rm -f "$f"
	assert_eq "$(leftovers)" "" "nothing created"
}

# vm-tier
test_landlock_policy_replaces_defaults() {
	local ctx out
	ctx=$(mktemp -d)
	out=$(probe --context "$ctx" --landlock-policy "$CONFIG/landlock/agent.toml" -- sh -c '
		echo a > /tmp/a && echo tmp-ok
		echo b > /context/b && echo context-ok
		echo c > /dev/shm/c 2>/dev/null && echo shm-ok
		cat /etc/hostname >/dev/null && echo read-ok')
	assert_contains "$out" "tmp-ok" "/tmp writable"
	assert_contains "$out" "context-ok" "/context writable"
	assert_not_contains "$out" "shm-ok" "/dev/shm not in this policy"
	assert_contains "$out" "read-ok" "read anywhere"
	rm -rf "$ctx"
}

test_landlock_policy_network_rules() {
	local out abi
	abi=$("$NUCLEUS" info --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["landlock"]["abi"])')
	if [ "$abi" -lt 4 ]; then
		# an older kernel cannot enforce them: it must say so, once
		out=$(probe --landlock-policy "$CONFIG/landlock/web-service.toml" -- true 2>&1)
		assert_contains "$out" "cannot enforce" "warning on ABI $abi"
		assert_contains "$out" "network rules" "names what is lost"
		return 0
	fi
	out=$(probe --network host --allow-host-network --landlock-policy "$CONFIG/landlock/web-service.toml" -- python3 -c '
import socket, errno
def try_(f):
    try: f(); return "ok"
    except OSError as e: return errno.errorcode[e.errno]
s = socket.socket(); print("bind8080", try_(lambda: s.bind(("127.0.0.1", 8080))))
s = socket.socket(); print("bind8081", try_(lambda: s.bind(("127.0.0.1", 8081))))
s = socket.socket(); s.settimeout(1); print("connect80", try_(lambda: s.connect(("127.0.0.1", 80))))
s = socket.socket(); s.settimeout(1); print("connect443", try_(lambda: s.connect(("127.0.0.1", 443))))')
	assert_contains "$out" "bind8080 ok" "bind allowed on 8080"
	assert_contains "$out" "bind8081 EACCES" "bind refused on 8081"
	assert_contains "$out" "connect80 EACCES" "connect refused to 80"
	assert_not_contains "$out" "connect443 EACCES" "connect allowed to 443"
}

test_landlock_policy_scopes() {
	local abi out
	abi=$("$NUCLEUS" info --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["landlock"]["abi"])')
	if [ "$abi" -lt 6 ]; then
		assert_contains "$(probe --landlock-policy "$CONFIG/landlock/web-service.toml" -- true 2>&1)" \
			"scopes" "warning on ABI $abi"
		return 0
	fi
	"$NUCLEUS" run -d --name scope-$$ --landlock-policy "$CONFIG/landlock/web-service.toml" -- "$PROBE" sleep 30 >/dev/null || fail "start"
	rm_on_exit scope-$$
	# inside one Landlock domain signals work ...
	out=$("$NUCLEUS" attach scope-$$ -- /bin/sh -c 'sleep 5 & kill $! && echo same-domain-ok')
	assert_contains "$out" "same-domain-ok" "signal within the domain"
	# ... but an attached process is a domain of its own: the container's
	# init is outside its scope
	out=$("$NUCLEUS" attach scope-$$ -- /bin/sh -c 'kill -0 1 2>&1 || echo refused')
	assert_contains "$out" "refused" "signal across domains refused by the scope"
	# without the scope, the same works
	"$NUCLEUS" run -d --name noscope-$$ -- "$PROBE" sleep 30 >/dev/null || fail "start"
	rm_on_exit noscope-$$
	out=$("$NUCLEUS" attach noscope-$$ -- /bin/sh -c 'kill -0 1 && echo allowed')
	assert_contains "$out" "allowed" "no scope: allowed"
}

# vm-tier
test_landlock_policy_missing_path_is_an_error() {
	local err
	err=$("$NUCLEUS" run --landlock-policy "$CONFIG/landlock/agent.toml" -- true 2>&1)
	assert_status 125 "$NUCLEUS" run --landlock-policy "$CONFIG/landlock/agent.toml" -- true
	assert_eq "$err" "nucleus: Landlock rule path \`/context\` does not exist in the container" "names the path"
}

# vm-tier
test_landlock_policy_min_abi() {
	local f err
	f=$(mktemp)
	printf 'min_abi = 60\n[[rules]]\npath = "/"\naccess = ["read"]\n' >"$f"
	err=$("$NUCLEUS" run --landlock-policy "$f" -- true 2>&1)
	assert_status 125 "$NUCLEUS" run --landlock-policy "$f" -- true
	assert_contains "$err" "needs ABI 60" "min_abi above the kernel's"
	printf '[[rules]]\npath = "/"\naccess = ["reed"]\n' >"$f"
	assert_eq "$("$NUCLEUS" run --landlock-policy "$f" -- true 2>&1)" "nucleus: $f:3:11: unknown access \`reed\`" "bad access name"
	rm -f "$f"
}

test_pins() {
	local p=$CONFIG/caps/web-service.toml err
	assert_status 0 "$NUCLEUS" run --caps-policy "$p" --caps-policy-sha256 "$(sha "$p")" -- true
	err=$("$NUCLEUS" run --caps-policy "$p" --caps-policy-sha256 "$(printf '%064d' 0)" -- true 2>&1)
	assert_status 125 "$NUCLEUS" run --caps-policy "$p" --caps-policy-sha256 "$(printf '%064d' 0)" -- true
	assert_contains "$err" "SHA-256 mismatch: expected $(printf '%064d' 0), actual $(sha "$p")" "both hashes"
	p=$CONFIG/landlock/docker-default.toml
	assert_status 0 "$NUCLEUS" run --landlock-policy "$p" --landlock-policy-sha256 "$(sha "$p")" -- true
	assert_status 125 "$NUCLEUS" run --landlock-policy "$p" --landlock-policy-sha256 "$(printf '%064d' 1)" -- true
	assert_status 125 "$NUCLEUS" run --caps-policy-sha256 "$(sha "$p")" -- true
	assert_eq "$(leftovers)" "" "nothing created"
}

test_attach_keeps_policies() {
	"$NUCLEUS" run -d --name pol-$$ --caps-policy "$CONFIG/caps/web-service.toml" -- "$PROBE" sleep 30 >/dev/null || fail "start"
	rm_on_exit pol-$$
	assert_contains "$("$NUCLEUS" attach pol-$$ -- "$PROBE" status)" "CapEff:	0000000000000400" "attach gets the policy's caps, no more"
}
