# nucleus compose (docs/compose.md): a real topology of three services on
# two networks, brought up, reconciled, stopped and taken down. Every
# command runs in a network namespace of the test's own (as t_bridge), so
# the bridges and their addresses never touch the host's network; what the
# commands leave there goes with the namespace.

HERE=$(dirname "${BASH_SOURCE[0]}")

compose_setup() {
	N=$(( ($$ + RANDOM) % 100 + 20 ))
	NS=nuc-cmp-$$
	T=$(mktemp -d /tmp/nucleus-compose.XXXXXX) || fail "mktemp"
	chmod 0755 "$T"
	mkdir -m 0777 "$T/shared"
	ip netns add $NS || fail "ip netns add"
	ip -n $NS link set lo up
	NSINO=$(stat -L -c %i /run/netns/$NS)
	FILES=""
	trap compose_teardown EXIT
}

compose_teardown() {
	local f
	for f in $FILES; do
		in_ns "$NUCLEUS" compose -f "$f" down -t 1 >/dev/null 2>&1
	done
	ip netns del $NS 2>/dev/null
	[ -n "${NSINO:-}" ] && rm -rf "/run/nucleus-net/ns-$NSINO"
	rm -rf "$T"
	return 0
}

in_ns() { nsenter --net=/run/netns/$NS "$@"; }
ncompose() { in_ns "$NUCLEUS" compose "$@"; }

# A field of a container's state.json (python: nested JSON).
sfield() { # CONTAINER-NAME KEY
	local id
	id=$(container_id "$1") || return 1
	python3 -c 'import json, sys; v = json.load(open(sys.argv[1]))[sys.argv[2]]
print(" ".join(v) if isinstance(v, list) else v)' "$RUNTIME_DIR/$id/state.json" "$2"
}

# The bridges of a topology file (validate --json).
bridges_of() { # FILE
	ncompose -f "$1" validate --json | python3 -c 'import json, sys; print(" ".join(n["bridge"] for n in json.load(sys.stdin)["networks"]))'
}

# The three-service topology: db (an HTTP server, healthy DB_DELAY seconds
# after it starts), web (depends on db healthy; fetches from db by name),
# worker (another network). Each writes its start and stop times into the
# shared volume. NAME MEMORY [DB_DELAY] [extra lines]
write_topology() { # FILE NAME DB_MEMORY DB_DELAY
	local f=$1 name=$2 mem=$3 delay=${4:-1.5}
	FILES="$FILES $f"
	cat >"$f" <<EOF
name = "$name"

[networks.front]
subnet = "10.214.$N.0/24"

[networks.back]
subnet = "10.215.$N.0/24"

[volumes.shared]
volume_type = "persistent"
path = "$T/shared-$name"

[volumes.scratch]
volume_type = "ephemeral"
size = "16M"

[volumes.owned]
volume_type = "persistent"
path = "$T/owned-$name"
owner = "1234:1235"

[services.db]
command = ["/bin/sh", "-c", "date +%s%N >/shared/db.start; trap 'date +%s%N >/shared/db.stop; exit 0' TERM; mkdir -p /tmp/www; echo hello-from-db >/tmp/www/index.txt; (sleep $delay; touch /tmp/ready) & cd /tmp/www && python3 -m http.server 8000 >/dev/null 2>&1 & wait; wait"]
memory = "$mem"
networks = ["front"]
volumes = ["shared:/shared", "scratch:/scratch"]
health_check = "test -e /tmp/ready"
health_interval = "0.2s"
health_start_period = "60s"
health_start_interval = "0.1s"
health_retries = 3

[services.web]
command = ["/bin/sh", "-c", "echo web-says-hi; date +%s%N >/shared/web.start; trap 'date +%s%N >/shared/web.stop; exit 0' TERM; python3 -c 'import urllib.request; print(urllib.request.urlopen(\"http://db:8000/index.txt\", timeout=5).read().decode().strip())' >/shared/web.got 2>&1; sleep 600 & wait"]
memory = "64M"
networks = ["front"]
volumes = ["shared:/shared"]

[[services.web.depends_on]]
service = "db"
condition = "healthy"

[services.worker]
command = ["/bin/sh", "-c", "date +%s%N >/shared/worker.start; trap 'date +%s%N >/shared/worker.stop; exit 0' TERM; sleep 600 & wait"]
networks = ["back"]
volumes = ["shared:/shared", "owned:/owned"]
egress_allow = ["10.215.$N.0/24"]
audit = true
EOF
	mkdir -p -m 0777 "$T/shared-$name"
}

# python3 inside a container: connect to IP:PORT within 2 s, "ok" or the error.
connect_from() { # CONTAINER IP PORT
	in_ns "$NUCLEUS" attach "$1" python3 -c 'import socket, sys
try:
    socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=2); print("ok")
except Exception as e:
    print("fail", type(e).__name__)' "$2" "$3" 2>&1
}

ids_of() { # NAME: the containers' ids, service order db web worker
	local s
	for s in db web worker; do
		container_id "$1-$s" || echo none
	done | tr '\n' ' '
}

test_compose_three_services_two_networks() {
	local f out db_ip b
	compose_setup
	f=$T/app.toml
	write_topology "$f" cmp$$ 128M 1.5
	out=$(ncompose -f "$f" validate) || fail "validate: $out"
	assert_eq "$(echo "$out" | head -1 | awk '{print $1}')" db "db first in the start order: $out"
	assert_contains "$out" "web  depends on db (healthy)" "web's dependency printed"
	ncompose -f "$f" up -d >"$T/up.out" 2>&1 || fail "up: $(cat "$T/up.out")"
	# every service runs
	for s in db web worker; do
		assert_eq "$(sfield cmp$$-$s status)" running "$s runs"
	done
	# the healthy gate: web started only once db was ready (db's flag
	# appears DB_DELAY after db started)
	local dbs webs
	dbs=$(cat "$T/shared-cmp$$/db.start") webs=$(cat "$T/shared-cmp$$/web.start")
	[ $(( (webs - dbs) / 1000000 )) -ge 1400 ] || fail "web started $(( (webs - dbs) / 1000000 )) ms after db, before db was healthy"
	assert_eq "$(sfield cmp$$-db ready)" True "db is ready"
	# web reached db by name, through the topology's hosts file
	wait_for test -s "$T/shared-cmp$$/web.got"
	assert_eq "$(cat "$T/shared-cmp$$/web.got")" hello-from-db "what web read from db by name"
	# worker, on the other network, cannot reach db; web can
	db_ip=$(sfield cmp$$-db addresses | awk '{print $1}')
	db_ip=${db_ip%/*}
	assert_contains "$db_ip" "10.214.$N." "db's address in its network's subnet"
	assert_eq "$(connect_from cmp$$-web "$db_ip" 8000)" ok "web connects to db"
	assert_contains "$(connect_from cmp$$-worker "$db_ip" 8000)" fail "worker cannot connect to db"
	# and the attempt is counted: worker's egress policy (its own network
	# only) denied it, and its audit log says so
	wait_for grep -q "\"type\":\"egress_denied\".*$db_ip" "$(state_field cmp$$-worker audit_path)" ||
		fail "no egress_denied event for $db_ip in worker's audit log"
	# ps: service, container, state, health
	out=$(ncompose -f "$f" ps)
	assert_contains "$out" "cmp$$-db" "ps lists db"
	assert_eq "$(echo "$out" | awk '$1 == "db" { print $3, $4 }')" "running healthy" "db's state and health in ps"
	assert_eq "$(ncompose -f "$f" ps --json | python3 -c 'import json,sys; print(sorted(c["service"] for c in json.load(sys.stdin)))')" \
		"['db', 'web', 'worker']" "ps --json"
	# logs, prefixed by service
	assert_eq "$(ncompose -f "$f" logs web)" "web | web-says-hi" "web's output in compose logs"
	ncompose -f "$f" logs | grep -qE '^web +\| web-says-hi$' || fail "web's line in the logs of all: $(ncompose -f "$f" logs)"
	b=$(bridges_of "$f")
	# down: dependants first (web stops before db), then nothing left
	ncompose -f "$f" down -t 5 >"$T/down.out" 2>&1 || fail "down: $(cat "$T/down.out")"
	[ "$(cat "$T/shared-cmp$$/web.stop")" -le "$(cat "$T/shared-cmp$$/db.stop")" ] ||
		fail "db stopped before web"
	for s in db web worker; do
		[ ! -L "$RUNTIME_DIR/.names/cmp$$-$s" ] || fail "$s left after down"
	done
	for br in $b; do
		ip -n $NS link show "$br" >/dev/null 2>&1 && fail "bridge $br left after down"
	done
	assert_eq "$(ncompose -f "$f" ps --json | tr -d ' \n')" "[]" "ps after down"
}

test_compose_dependency_exits_while_waited_for() {
	local f out st t0 t1
	compose_setup
	f=$T/fail.toml
	FILES="$FILES $f"
	cat >"$f" <<EOF
name = "cmpx$$"

[services.db]
command = ["/bin/sh", "-c", "sleep 0.5; exit 3"]
health_check = "false"
health_interval = "0.2s"

[services.web]
command = ["sleep", "60"]

[[services.web.depends_on]]
service = "db"
condition = "healthy"
EOF
	t0=$(date +%s%N)
	out=$(ncompose -f "$f" up -d 2>&1)
	st=$?
	t1=$(date +%s%N)
	assert_eq "$st" 1 "up's status when a dependency exits: [$out]"
	assert_contains "$out" "dependency db exited with status 3" "the dependency named with its status"
	[ $(( (t1 - t0) / 1000000000 )) -lt 20 ] || fail "up noticed the exit only at its timeout"
	[ ! -L "$RUNTIME_DIR/.names/cmpx$$-web" ] || fail "web was started"
	ncompose -f "$f" down -t 1 >/dev/null 2>&1 || fail "down"
	[ ! -L "$RUNTIME_DIR/.names/cmpx$$-db" ] || fail "db left after down"
}

test_compose_reconcile() {
	local f ids1 ids2 ids3 out
	compose_setup
	f=$T/app.toml
	write_topology "$f" cmpr$$ 128M 0.3
	ncompose -f "$f" up -d >"$T/up.out" 2>&1 || fail "up: $(cat "$T/up.out")"
	ids1=$(ids_of cmpr$$)
	# unchanged: a no-op, same containers
	out=$(ncompose -f "$f" plan)
	assert_eq "$(echo "$out" | awk 'NR > 1 { print $2 }' | sort -u)" keep "plan of an unchanged file: $out"
	ncompose -f "$f" up -d >"$T/up.out" 2>&1 || fail "second up: $(cat "$T/up.out")"
	ids2=$(ids_of cmpr$$)
	assert_eq "$ids2" "$ids1" "ids after an unchanged up"
	# db's memory changed: db and web (which depends on it) recreated, worker kept
	write_topology "$f" cmpr$$ 192M 0.3
	out=$(ncompose -f "$f" plan)
	assert_eq "$(echo "$out" | awk '$1 == "db" { print $2 }')" recreate "plan for db: $out"
	assert_contains "$(echo "$out" | awk '$1 == "db"')" "memory changed" "the reason"
	assert_eq "$(echo "$out" | awk '$1 == "web" { print $2 }')" recreate "plan for web (depends on db): $out"
	assert_eq "$(echo "$out" | awk '$1 == "worker" { print $2 }')" keep "plan for worker: $out"
	ncompose -f "$f" up -d -t 2 >"$T/up.out" 2>&1 || fail "up after the change: $(cat "$T/up.out")"
	ids3=$(ids_of cmpr$$)
	set -- $ids1
	local db1=$1 web1=$2 worker1=$3
	set -- $ids3
	assert_ne "$1" "$db1" "db recreated"
	assert_ne "$2" "$web1" "web recreated"
	assert_eq "$3" "$worker1" "worker kept"
	assert_eq "$(sfield cmpr$$-db memory_limit)" $((192 << 20)) "db's new memory limit applied"
	# worker removed from the file: stopped and removed
	python3 - "$f" <<'PY'
import re, sys
s = open(sys.argv[1]).read()
s = s[:s.index("[services.worker]")]
open(sys.argv[1], "w").write(s)
PY
	assert_eq "$(ncompose -f "$f" plan | awk '$1 == "worker" { print $2 }')" remove "plan for the removed worker"
	ncompose -f "$f" up -d -t 2 >"$T/up.out" 2>&1 || fail "up without worker: $(cat "$T/up.out")"
	[ ! -L "$RUNTIME_DIR/.names/cmpr$$-worker" ] || fail "worker still there"
	assert_eq "$(ids_of cmpr$$ | awk '{print $1, $2}')" "$(echo $ids3 | awk '{print $1, $2}')" "db and web kept"
	ncompose -f "$f" down -t 2 >/dev/null 2>&1 || fail "down"
}

test_compose_volumes_persistent_and_ephemeral() {
	local f out
	compose_setup
	f=$T/app.toml
	write_topology "$f" cmpv$$ 128M 0.2
	ncompose -f "$f" up -d >"$T/up.out" 2>&1 || fail "up: $(cat "$T/up.out")"
	in_ns "$NUCLEUS" attach cmpv$$-db /bin/sh -c 'echo kept >/shared/p; echo gone >/scratch/e' || fail "write"
	ncompose -f "$f" down -t 2 >/dev/null 2>&1 || fail "down"
	assert_eq "$(cat "$T/shared-cmpv$$/p")" kept "the persistent volume after down"
	ncompose -f "$f" up -d >"$T/up.out" 2>&1 || fail "up again: $(cat "$T/up.out")"
	out=$(in_ns "$NUCLEUS" attach cmpv$$-db /bin/sh -c 'cat /shared/p; ls /scratch | wc -l')
	assert_eq "$(echo $out)" "kept 0" "persistent kept, ephemeral empty"
	assert_eq "$(stat -c %u:%g "$T/owned-cmpv$$")" 1234:1235 "a persistent volume created with its owner"
	ncompose -f "$f" down -t 2 --volumes >/dev/null 2>&1 || fail "down --volumes"
	[ ! -e "$T/shared-cmpv$$" ] || fail "down --volumes left the persistent directory"
	[ ! -e "$T/owned-cmpv$$" ] || fail "down --volumes left the owned directory"
}

test_compose_two_topologies() {
	local f1 f2 out
	compose_setup
	f1=$T/a.toml f2=$T/b.toml
	write_topology "$f1" cmpa$$ 128M 0.2
	cp "$f1" "$f2"
	sed -i "s/^name = .*/name = \"cmpb$$\"/; s/10\.214\.$N\./10.216.$N./; s/10\.215\.$N\./10.217.$N./; s/shared-cmpa$$/shared-cmpb$$/" "$f2"
	mkdir -p -m 0777 "$T/shared-cmpb$$"
	FILES="$FILES $f2"
	ncompose -f "$f1" up -d >"$T/up.out" 2>&1 || fail "up a: $(cat "$T/up.out")"
	ncompose -f "$f2" up -d >"$T/up.out" 2>&1 || fail "up b: $(cat "$T/up.out")"
	assert_ne "$(bridges_of "$f1")" "$(bridges_of "$f2")" "bridges of each"
	assert_eq "$(ncompose -f "$f1" ps --json | python3 -c 'import json,sys; print(sorted(c["container"] for c in json.load(sys.stdin)))')" \
		"['cmpa$$-db', 'cmpa$$-web', 'cmpa$$-worker']" "a's ps shows a's only"
	ncompose -f "$f1" down -t 2 >/dev/null 2>&1 || fail "down a"
	for s in db web worker; do
		assert_eq "$(sfield cmpb$$-$s status)" running "b's $s still runs after a's down"
	done
	ncompose -f "$f2" down -t 2 >/dev/null 2>&1 || fail "down b"
}

test_compose_killed_up_collected_by_down() {
	local f pid
	compose_setup
	f=$T/app.toml
	write_topology "$f" cmpk$$ 128M 30
	in_ns "$NUCLEUS" compose -f "$f" up -d >/dev/null 2>&1 &
	pid=$!
	wait_for test -L "$RUNTIME_DIR/.names/cmpk$$-db" || fail "db never started"
	sleep 0.5
	kill -KILL $pid
	wait $pid 2>/dev/null
	ncompose -f "$f" down -t 1 >"$T/down.out" 2>&1 || fail "down: $(cat "$T/down.out")"
	for s in db web worker; do
		[ ! -L "$RUNTIME_DIR/.names/cmpk$$-$s" ] || fail "$s left after a killed up and down"
	done
}

test_compose_refused() {
	local f out st before
	compose_setup
	f=$T/bad.toml
	printf 'name = "cmpq%s"\n[services.a]\ncommand = ["true"]\nbogus = 1\n' $$ >"$f"
	before=$(leftovers)
	out=$(ncompose -f "$f" up -d 2>&1)
	st=$?
	assert_eq "$st" 125 "status of up on a bad file: [$out]"
	assert_eq "$(echo "$out" | wc -l)" 1 "one line: [$out]"
	assert_contains "$out" "$f:4:" "FILE:LINE of the unknown key"
	assert_eq "$(new_leftovers "$before")" "" "left behind by a refused up"
	out=$(ncompose -f "$T/none.toml" validate 2>&1)
	assert_eq "$?" 125 "validate of a missing file: [$out]"
	out=$(ncompose frobnicate 2>&1)
	assert_eq "$?" 125 "an unknown compose command: [$out]"
}

test_compose_failed_up_leaves_nothing() {
	local f out st before b
	compose_setup
	f=$T/bad.toml
	FILES="$FILES $f"
	cat >"$f" <<EOF2
name = "cmpf$$"

[networks.front]
subnet = "10.218.$N.0/24"

[services.a]
command = ["/nonexistent/program"]
networks = ["front"]

[services.b]
command = ["sleep", "60"]
networks = ["front"]

[[services.b.depends_on]]
service = "a"
EOF2
	b=$(bridges_of "$f")
	before=$(leftovers)
	out=$(ncompose -f "$f" up -d 2>&1)
	st=$?
	assert_eq "$st" 1 "up's status when a service cannot start: [$out]"
	assert_contains "$out" "service a: " "the service named"
	[ ! -L "$RUNTIME_DIR/.names/cmpf$$-b" ] || fail "b was started"
	ip -n $NS link show "$b" >/dev/null 2>&1 && fail "bridge $b left after a failed up"
	[ ! -e "/run/nucleus-compose/cmpf$$" ] || fail "the hosts file left after a failed up"
	assert_eq "$(new_leftovers "$before")" "" "left behind by a failed up"
}

test_compose_stop_and_restart() {
	local f ids1 ids2
	compose_setup
	f=$T/app.toml
	write_topology "$f" cmps$$ 128M 0.2
	ncompose -f "$f" up -d >"$T/up.out" 2>&1 || fail "up: $(cat "$T/up.out")"
	ids1=$(ids_of cmps$$)
	ncompose -f "$f" stop -t 5 >/dev/null 2>&1 || fail "stop"
	for s in db web worker; do
		assert_eq "$(sfield cmps$$-$s status)" exited "$s after stop"
	done
	[ "$(cat "$T/shared-cmps$$/web.stop")" -le "$(cat "$T/shared-cmps$$/db.stop")" ] || fail "db stopped before web"
	assert_eq "$(ncompose -f "$f" plan | awk 'NR > 1 { print $2 }' | sort -u)" recreate "plan after stop"
	ncompose -f "$f" restart -t 5 >"$T/up.out" 2>&1 || fail "restart: $(cat "$T/up.out")"
	ids2=$(ids_of cmps$$)
	for s in db web worker; do
		assert_eq "$(sfield cmps$$-$s status)" running "$s after restart"
	done
	[ "$(echo $ids1 | tr ' ' '\n' | sort)" != "$(echo $ids2 | tr ' ' '\n' | sort)" ] || fail "restart kept the containers"
	ncompose -f "$f" down -t 5 >/dev/null 2>&1 || fail "down"
}

test_compose_up_foreground_until_interrupted() {
	local f pid
	compose_setup
	f=$T/app.toml
	write_topology "$f" cmpg$$ 128M 0.2
	# (nsenter execs nucleus: $! is nucleus, not a subshell that ignores SIGINT)
	nsenter --net=/run/netns/$NS "$NUCLEUS" compose -f "$f" up >"$T/fg.out" 2>"$T/fg.err" &
	pid=$!
	wait_for grep -q 'web-says-hi' "$T/fg.out" || fail "no output of web in the foreground: $(cat "$T/fg.out" "$T/fg.err")"
	assert_eq "$(grep 'web-says-hi' "$T/fg.out")" "web    | web-says-hi" "web's line, prefixed"
	kill -0 $pid 2>/dev/null || fail "up returned: $(cat "$T/fg.err")"
	kill -INT $pid
	for i in $(seq 1 100); do kill -0 $pid 2>/dev/null || break; sleep 0.1; done
	kill -0 $pid 2>/dev/null && fail "up still runs 10 s after Ctrl-C"
	wait $pid
	assert_eq "$?" 0 "up's status after Ctrl-C: $(cat "$T/fg.err")"
	for s in db web worker; do
		assert_eq "$(sfield cmpg$$-$s status)" exited "$s after Ctrl-C"
	done
	ncompose -f "$f" down -t 1 >/dev/null 2>&1 || fail "down"
}

# A production service in a topology: the mode's policy holds (init as pid
# 1, deny-all egress, hidepid, the audit trail), its health check gates its
# dependant, and down leaves nothing.
test_compose_production_service() {
	local f out
	compose_setup
	f=$T/prod.toml
	FILES="$FILES $f"
	cat >"$f" <<EOF2
name = "cmpp$$"

[networks.net]
subnet = "10.219.$N.0/24"

[services.api]
service_mode = "production"
command = ["/bin/sh", "-c", "echo api-up; exec sleep 600"]
memory = "64M"
networks = ["net"]
dns = ["10.219.$N.1"]
no_rootfs_attestation = true
health_check = "true"
health_interval = "0.2s"

[services.client]
command = ["sleep", "600"]
networks = ["net"]

[[services.client.depends_on]]
service = "api"
condition = "healthy"
EOF2
	ncompose -f "$f" up -d >"$T/up.out" 2>&1 || fail "up: $(cat "$T/up.out")"
	assert_eq "$(sfield cmpp$$-api status)" running "api runs"
	assert_eq "$(sfield cmpp$$-client status)" running "client runs after api was healthy"
	out=$(cat "$RUNTIME_DIR/$(container_id cmpp$$-api)/state.json")
	assert_contains "$out" '"mode":"production"' "api's mode"
	assert_contains "$out" '"init":true' "production's init"
	assert_contains "$out" '"proc_hidepid":2' "production's hidepid"
	assert_contains "$out" '"egress":true' "production's deny-all egress policy attached"
	assert_contains "$out" '"audit":true' "production's audit trail"
	assert_eq "$(ncompose -f "$f" ps | awk '$1 == "api" { print $3, $4 }')" "running healthy" "api in compose ps"
	ncompose -f "$f" down -t 5 >"$T/down.out" 2>&1 || fail "down: $(cat "$T/down.out")"
	for s in api client; do
		[ ! -L "$RUNTIME_DIR/.names/cmpp$$-$s" ] || fail "$s left after down"
	done
}
