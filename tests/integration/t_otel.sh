# OpenTelemetry: the supervisor's spans over OTLP/HTTP JSON, received by a
# receiver of the test's own on 127.0.0.1 (otlp_receiver.py): the path,
# the span tree, the resource, the root's exit code, the stage errors, and
# a dead collector (refused, or silent) costing the documented bound
# (1 s, OTEL_EXPORT_TIMEOUT_MS) at most once, never the start.

HERE=$(dirname "${BASH_SOURCE[0]}")

# otel_receiver [MODE]: a receiver (ok, or hang: accepts, never answers);
# sets OT_DIR, OT_LOG (one JSON line per POST) and OT_PORT. Removed when
# the test's shell exits.
otel_receiver() {
	OT_DIR=$(mktemp -d)
	OT_LOG=$OT_DIR/posts.jsonl
	python3 "$HERE/otlp_receiver.py" "$OT_LOG" "$OT_DIR/port" "${1:-ok}" &
	OT_PID=$!
	trap 'kill $OT_PID 2>/dev/null; wait $OT_PID 2>/dev/null; rm -rf "$OT_DIR"' EXIT
	wait_for test -s "$OT_DIR/port" || fail "the receiver did not start"
	OT_PORT=$(cat "$OT_DIR/port")
}

# A port nothing listens on (bound by no one once this returns).
free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

ms_now() {
	echo $(( ${EPOCHREALTIME/./} / 1000 ))
}

# otel_check LOG CHECK...: each CHECK a python expression over `posts`
# (the parsed lines), `spans` (every span, in order), `root`, `stages`
# (name -> span), `res` (resource attributes, key -> value dict) and
# `attrs(span)`; prints the ones that do not hold.
otel_check() {
	local log=$1
	shift
	python3 - "$log" "$@" <<'PY'
import json, re, sys
posts = [json.loads(l) for l in open(sys.argv[1])]
spans, res = [], None
for p in posts:
    for rs in p["body"]["resourceSpans"]:
        r = {kv["key"]: kv["value"] for kv in rs["resource"]["attributes"]}
        res = r if res is None else res
        for ss in rs["scopeSpans"]:
            spans += ss["spans"]
roots = [s for s in spans if not s.get("parentSpanId")]
root = roots[0] if len(roots) == 1 else None
stages = {s["name"]: s for s in spans if s.get("parentSpanId") and s["name"] not in ("health_probe", "readiness_probe", "restart")}
named = lambda n: [s for s in spans if s["name"] == n]
def attrs(s):
    return {kv["key"]: kv["value"] for kv in s.get("attributes", [])}
for check in sys.argv[2:]:
    try:
        ok = eval(check)
    except Exception as e:
        ok = "%s: %s" % (type(e).__name__, e)
    if ok is not True:
        print("does not hold: %s (%s)" % (check, ok))
PY
}

# the run stages before the workload runs (src/container/run.c's table)
STAGES="['validate','prepare','network','cgroup','clone','map','attach','limits','bpf','register','health','release']"

test_otel_span_tree_and_resource() {
	local name=otel-$$ st out
	otel_receiver
	out=$(OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:$OT_PORT \
		OTEL_RESOURCE_ATTRIBUTES='deployment.environment=te%20st,team=a%2Cb' \
		"$NUCLEUS" run --name "$name" -- "$PROBE" exit 3 2>&1)
	st=$?
	assert_eq "$st" 3 "the workload's exit status"
	assert_eq "$out" "" "nothing said"
	out=$(otel_check "$OT_LOG" \
		"len(posts) >= 1" \
		"all(p['path'] == '/v1/traces' for p in posts)" \
		"all(p['content_type'] == 'application/json' for p in posts)" \
		"len(roots) == 1 and root['name'] == 'container'" \
		"sorted(stages) == sorted($STAGES)" \
		"len(spans) == 13" \
		"all(s['parentSpanId'] == root['spanId'] for s in stages.values())" \
		"all(s['traceId'] == root['traceId'] for s in spans)" \
		"re.fullmatch('[0-9a-f]{32}', root['traceId']) is not None" \
		"all(re.fullmatch('[0-9a-f]{16}', s['spanId']) for s in spans)" \
		"len(set(s['spanId'] for s in spans)) == 13" \
		"all(s['kind'] == 1 for s in spans)" \
		"all(isinstance(s['startTimeUnixNano'], str) and int(s['startTimeUnixNano']) <= int(s['endTimeUnixNano']) for s in spans)" \
		"all(int(root['startTimeUnixNano']) <= int(s['startTimeUnixNano']) and int(s['endTimeUnixNano']) <= int(root['endTimeUnixNano']) for s in stages.values())" \
		"int(stages['validate']['endTimeUnixNano']) <= int(stages['release']['startTimeUnixNano'])" \
		"attrs(root)['process.exit.code'] == {'intValue': '3'}" \
		"attrs(root)['container.restarts'] == {'intValue': '0'}" \
		"'status' not in root and all('status' not in s for s in stages.values())" \
		"res['service.name'] == {'stringValue': '$name'}" \
		"res['container.name'] == {'stringValue': '$name'}" \
		"re.fullmatch('[0-9a-f]{32}', res['container.id']['stringValue']) is not None" \
		"res['container.runtime'] == {'stringValue': 'nucleus'}" \
		"res['deployment.environment'] == {'stringValue': 'te st'}" \
		"res['team'] == {'stringValue': 'a,b'}" \
		"posts[0]['body']['resourceSpans'][0]['scopeSpans'][0]['scope']['name'] == 'nucleus'")
	assert_eq "$out" "" "the spans"
}

test_otel_traces_endpoint_verbatim_and_service_name() {
	local st out dead
	otel_receiver
	dead=$(free_port)
	# the signal's own variable wins, used as written; the base one is not tried
	OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=http://localhost:$OT_PORT/custom/traces \
		OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:$dead OTEL_SERVICE_NAME=checkout \
		OTEL_RESOURCE_ATTRIBUTES=service.name=ignored "$NUCLEUS" run -- "$PROBE" exit 0
	st=$?
	assert_eq "$st" 0 "status"
	out=$(otel_check "$OT_LOG" \
		"[p['path'] for p in posts] == ['/custom/traces']" \
		"res['service.name'] == {'stringValue': 'checkout'}" \
		"res['container.name'] == {'stringValue': res['container.id']['stringValue'][:12]}" \
		"len(spans) == 13")
	assert_eq "$out" "" "the spans"
	# NUCLEUS_OTLP_ENDPOINT: a base URL, as OTEL_EXPORTER_OTLP_ENDPOINT
	: > "$OT_LOG"
	NUCLEUS_OTLP_ENDPOINT=http://127.0.0.1:$OT_PORT/base/ "$NUCLEUS" run -- "$PROBE" exit 0 ||
		fail "run with NUCLEUS_OTLP_ENDPOINT"
	out=$(otel_check "$OT_LOG" "[p['path'] for p in posts] == ['/base/v1/traces']")
	assert_eq "$out" "" "NUCLEUS_OTLP_ENDPOINT"
}

# The stages go while the workload runs (OTEL_BSP_SCHEDULE_DELAY=0: at
# once), the root at its exit.
test_otel_stages_sent_while_running() {
	local pid out
	otel_receiver
	OTEL_BSP_SCHEDULE_DELAY=0 OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:$OT_PORT \
		"$NUCLEUS" run -- "$PROBE" sleep 2 &
	pid=$!
	wait_for test -s "$OT_LOG" || fail "no POST while the workload runs"
	kill -0 $pid 2>/dev/null || fail "the workload had already ended"
	out=$(otel_check "$OT_LOG" "len(posts) == 1 and sorted(s['name'] for s in spans) == sorted($STAGES)" \
		"root is None")
	assert_eq "$out" "" "the stages, before the exit"
	wait $pid || fail "run failed"
	out=$(otel_check "$OT_LOG" "len(posts) == 2" "len(posts[1]['body']['resourceSpans'][0]['scopeSpans'][0]['spans']) == 1" \
		"root['name'] == 'container'" "all(s['parentSpanId'] == root['spanId'] for s in stages.values())")
	assert_eq "$out" "" "the root, at the exit"
}

# A stage that fails: its span and the root say ERROR, with the message.
test_otel_failed_stage_is_an_error() {
	local st out
	otel_receiver
	out=$(OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:$OT_PORT \
		"$NUCLEUS" run --seccomp-profile /nonexistent/profile.json -- "$PROBE" exit 0 2>&1)
	st=$?
	assert_eq "$st" 125 "status"
	assert_contains "$out" "/nonexistent/profile.json" "message"
	out=$(otel_check "$OT_LOG" \
		"sorted(stages) == ['validate']" \
		"stages['validate']['status']['code'] == 2" \
		"'/nonexistent/profile.json' in stages['validate']['status']['message']" \
		"root['status']['code'] == 2 and root['status']['message'] == stages['validate']['status']['message']" \
		"attrs(root)['process.exit.code'] == {'intValue': '125'}")
	assert_eq "$out" "" "the spans"
}

# Nothing listens: refused at once; the run's status is the workload's,
# one warning with the count.
test_otel_dead_endpoint_refused() {
	local port t0 t1 st out
	port=$(free_port)
	t0=$(ms_now)
	out=$(OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:$port "$NUCLEUS" run -- "$PROBE" exit 7 2>&1)
	st=$?
	t1=$(ms_now)
	assert_eq "$st" 7 "the workload's exit status"
	assert_eq "$out" "nucleus: warning: OpenTelemetry: 13 span(s) not exported to http://127.0.0.1:$port/v1/traces (1 of 1 POSTs failed: Connection refused)" "the warning"
	[ $((t1 - t0)) -lt 1000 ] || fail "a refused connection took $((t1 - t0)) ms"
}

# A collector that accepts and never answers: the start is not delayed;
# the exit waits the bound (1 s) once; when the stages' POST already timed
# out while the workload ran, the exit does not wait at all.
test_otel_silent_collector_costs_the_bound_once() {
	local t0 t1 st out started
	otel_receiver hang
	t0=$(ms_now)
	out=$(OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:$OT_PORT "$NUCLEUS" run -- sh -c 'echo $(( $(date +%s%N) / 1000000 )); exit 7' 2>/dev/null)
	st=$?
	t1=$(ms_now)
	assert_eq "$st" 7 "the workload's exit status"
	started=$out
	[ $((started - t0)) -lt 1000 ] || fail "the workload started $((started - t0)) ms after the run"
	[ $((t1 - started)) -ge 950 ] || fail "the exit did not wait for the POST ($((t1 - started)) ms)"
	[ $((t1 - started)) -lt 2000 ] || fail "the exit waited $((t1 - started)) ms, beyond the bound"

	t0=$(ms_now)
	out=$(OTEL_BSP_SCHEDULE_DELAY=0 OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:$OT_PORT \
		"$NUCLEUS" run -- "$PROBE" sleep 2 2>&1)
	st=$?
	t1=$(ms_now)
	assert_eq "$st" 0 "status"
	assert_contains "$out" "13 span(s) not exported" "the count"
	assert_contains "$out" "no answer in time" "why"
	[ $((t1 - t0)) -lt 2900 ] || fail "a run of 2 s took $((t1 - t0)) ms: the bound was paid twice"
}

# https is refused with one warning, the run goes on without export.
test_otel_https_and_host_names_are_refused() {
	local out st
	out=$(OTEL_EXPORTER_OTLP_ENDPOINT=https://127.0.0.1:4318 "$NUCLEUS" run -- "$PROBE" exit 4 2>&1)
	st=$?
	assert_eq "$st" 4 "status"
	assert_eq "$out" "nucleus: warning: OpenTelemetry export off: OTEL_EXPORTER_OTLP_ENDPOINT: \`https://127.0.0.1:4318\`: https is not supported (nucleus has no TLS library); use http:// (a local collector)" "the warning"
	out=$(OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=http://collector.invalid:4318/v1/traces "$NUCLEUS" run -- "$PROBE" exit 0 2>&1) ||
		fail "run with a host name"
	assert_contains "$out" "OpenTelemetry export off: OTEL_EXPORTER_OTLP_TRACES_ENDPOINT" "the warning"
	assert_contains "$out" "IP address or localhost" "why"
}

# -d: the detached supervisor exports when the workload exits, the caller
# long gone; one POST for a job shorter than OTEL_BSP_SCHEDULE_DELAY.
test_otel_detached_exports_at_exit() {
	local id out
	otel_receiver
	id=$(OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:$OT_PORT "$NUCLEUS" run -d --rm -- sh -c 'sleep 1; exit 5') ||
		fail "run -d"
	! [ -s "$OT_LOG" ] || fail "spans sent before the exit"
	wait_for test -s "$OT_LOG" || fail "no spans after the exit"
	wait_for container_gone "$id" || fail "the container did not go"
	out=$(otel_check "$OT_LOG" "len(posts) == 1" "len(spans) == 13" \
		"res['container.id'] == {'stringValue': '$id'}" \
		"attrs(root)['process.exit.code'] == {'intValue': '5'}")
	assert_eq "$out" "" "the spans"
}

container_gone() { # ID
	! container_alive "$1"
}

# A span per health probe and readiness probe, under the root, with the
# probe's exit code; a failed one is an ERROR.
test_otel_probe_spans() {
	local st out
	otel_receiver
	OTEL_BSP_SCHEDULE_DELAY=0 OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:$OT_PORT \
		"$NUCLEUS" run --health-cmd 'exit 3' --health-interval 0.2 --health-retries 1 --readiness-cmd true \
		-- "$PROBE" sleep 2
	st=$?
	assert_eq "$st" 0 "status"
	out=$(otel_check "$OT_LOG" \
		"len(named('health_probe')) >= 3" \
		"len(named('readiness_probe')) == 1" \
		"all(s['parentSpanId'] == root['spanId'] and s['traceId'] == root['traceId'] for s in named('health_probe') + named('readiness_probe'))" \
		"all(attrs(s)['process.exit.code'] == {'intValue': '3'} for s in named('health_probe'))" \
		"all(s['status'] == {'code': 2, 'message': 'exit code 3'} for s in named('health_probe'))" \
		"attrs(named('health_probe')[-1])['health.status'] == {'stringValue': 'unhealthy'}" \
		"attrs(named('readiness_probe')[0])['process.exit.code'] == {'intValue': '0'} and 'status' not in named('readiness_probe')[0]" \
		"all(int(stages['release']['endTimeUnixNano']) <= int(s['startTimeUnixNano']) <= int(s['endTimeUnixNano']) <= int(root['endTimeUnixNano']) for s in named('health_probe'))" \
		"len(posts) >= 2")
	assert_eq "$out" "" "the probe spans"
}

# A span per restart, from the exit to the next start, counting them; the
# root has the last exit and the count.
test_otel_restart_spans() {
	local st out
	otel_receiver
	OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:$OT_PORT \
		"$NUCLEUS" run --restart on-failure:2 -- "$PROBE" exit 1 2>/dev/null
	st=$?
	assert_eq "$st" 1 "status"
	out=$(otel_check "$OT_LOG" \
		"[attrs(s)['container.restarts'] for s in named('restart')] == [{'intValue': '1'}, {'intValue': '2'}]" \
		"all(attrs(s)['process.exit.code'] == {'intValue': '1'} for s in named('restart'))" \
		"all(s['parentSpanId'] == root['spanId'] and 'status' not in s for s in named('restart'))" \
		"all(int(s['endTimeUnixNano']) - int(s['startTimeUnixNano']) >= 100000000 for s in named('restart'))" \
		"attrs(root)['container.restarts'] == {'intValue': '2'}" \
		"attrs(root)['process.exit.code'] == {'intValue': '1'}")
	assert_eq "$out" "" "the restart spans"
}
