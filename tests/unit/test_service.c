/* The service configuration's parsers (src/container/service.c) and
 * docker's health rules as a pure function (health_judge, health.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>
#include <nucleus/container.h>
#include "../../src/container/internal.h"

#define SEC 1000000000ull
#define MS 1000000ull

static uint64_t dur(const char *s)
{
	struct nerr e = { 0 };
	uint64_t ns = 12345;

	if (service_duration_parse(s, &ns, &e) < 0)
		fail_msg("`%s` refused: %s", s, e.msg);
	return ns;
}

static void dur_refused(const char *s, const char *want)
{
	struct nerr e = { 0 };
	uint64_t ns = 12345;

	if (service_duration_parse(s, &ns, &e) == 0)
		fail_msg("`%s` taken as %llu ns", s, (unsigned long long)ns);
	if (!strstr(e.msg, want))
		fail_msg("expected [%s] in [%s]", want, e.msg);
	assert_int_equal(ns, 12345);
}

static void durations(void **state)
{
	(void)state;
	assert_int_equal(dur("30s"), 30 * SEC);
	assert_int_equal(dur("1m30s"), 90 * SEC);
	assert_int_equal(dur("500ms"), 500 * MS);
	assert_int_equal(dur("2h"), 7200 * SEC);
	assert_int_equal(dur("1h2m3s4ms"), 3723 * SEC + 4 * MS);
	assert_int_equal(dur("1.5"), 1500 * MS);     /* plain seconds */
	assert_int_equal(dur("30"), 30 * SEC);
	assert_int_equal(dur("0.1"), 100 * MS);
	assert_int_equal(dur("0"), 0);
	assert_int_equal(dur("1.5m"), 90 * SEC);
	assert_int_equal(dur("10us"), 10000);
	assert_int_equal(dur("7ns"), 7);
	dur_refused("", "empty duration");
	dur_refused("1x", "invalid duration `1x`");
	dur_refused("5s3", "a number needs a unit");
	dur_refused("s", "invalid duration `s`");
	dur_refused("-1", "invalid duration");
	dur_refused("-1s", "invalid duration");
	dur_refused("1e3s", "invalid duration");
	dur_refused("0x10s", "invalid duration");
	dur_refused("1.2.3s", "invalid duration");
	dur_refused("inf", "invalid duration");
	dur_refused("nan", "invalid duration");
	dur_refused("1 s", "invalid duration");
	dur_refused("99999999999999h", "invalid duration");
}

static void probes(void **state)
{
	struct probe_cmd p = { 0 };
	struct nerr e = { 0 };

	(void)state;
	assert_int_equal(service_probe_parse("curl -f http://localhost/ || exit 1", &p, &e), 0);
	assert_true(p.shell);
	assert_int_equal(strv_len(p.cmd), 1);
	assert_string_equal(p.cmd[0], "curl -f http://localhost/ || exit 1");
	/* the exec form: a JSON array of strings, argv as given */
	assert_int_equal(service_probe_parse("[\"pg_isready\", \"-U\", \"app db\"]", &p, &e), 0);
	assert_false(p.shell);
	assert_int_equal(strv_len(p.cmd), 3);
	assert_string_equal(p.cmd[0], "pg_isready");
	assert_string_equal(p.cmd[2], "app db");
	/* test's `[`, not JSON: the shell form */
	assert_int_equal(service_probe_parse("[ -e /ready ] && exit 0", &p, &e), 0);
	assert_true(p.shell);
	assert_string_equal(p.cmd[0], "[ -e /ready ] && exit 0");
	/* JSON, but not an argv */
	static const char *const bad[] = { "[]", "[1]", "[\"a\", 2]", "[\"\"]", "[[\"a\"]]", "[\"a\", null]" };
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		nerr_clear(&e);
		if (service_probe_parse(bad[i], &p, &e) == 0)
			fail_msg("`%s` taken", bad[i]);
		assert_non_null(strstr(e.msg, "the exec form is a non-empty JSON array of strings"));
		assert_null(p.cmd);
	}
	assert_true(service_probe_parse("", &p, &e) < 0);
	assert_non_null(strstr(e.msg, "empty command"));
	probe_cmd_free(&p);
}

static void restart_policies(void **state)
{
	enum restart_policy pol = RESTART_ALWAYS;
	unsigned max = 99;
	struct nerr e = { 0 };

	(void)state;
	assert_int_equal(service_restart_parse("no", &pol, &max, &e), 0);
	assert_int_equal(pol, RESTART_NO);
	assert_int_equal(max, 0);
	assert_int_equal(service_restart_parse("on-failure", &pol, &max, &e), 0);
	assert_int_equal(pol, RESTART_ON_FAILURE);
	assert_int_equal(max, 0);
	assert_int_equal(service_restart_parse("on-failure:5", &pol, &max, &e), 0);
	assert_int_equal(pol, RESTART_ON_FAILURE);
	assert_int_equal(max, 5);
	assert_int_equal(service_restart_parse("always", &pol, &max, &e), 0);
	assert_int_equal(pol, RESTART_ALWAYS);
	assert_int_equal(service_restart_parse("unless-stopped", &pol, &max, &e), 0);
	assert_int_equal(pol, RESTART_UNLESS_STOPPED);
	assert_true(service_restart_parse("always:3", &pol, &max, &e) < 0);
	assert_non_null(strstr(e.msg, "only on-failure takes a maximum"));
	assert_true(service_restart_parse("on-failure:x", &pol, &max, &e) < 0);
	assert_non_null(strstr(e.msg, "the maximum is a number"));
	assert_true(service_restart_parse("on-failure:-1", &pol, &max, &e) < 0);
	assert_true(service_restart_parse("sometimes", &pol, &max, &e) < 0);
	assert_non_null(strstr(e.msg, "invalid restart policy `sometimes`"));
	assert_true(service_restart_parse("", &pol, &max, &e) < 0);
	assert_int_equal(pol, RESTART_UNLESS_STOPPED);     /* untouched on failure */
}

/* docker's rules: a pass is healthy and resets the streak; a failure while
 * starting inside the start period does not count; `retries` counted
 * failures in a row are unhealthy. */
static void judge(void **state)
{
	unsigned streak = 0;
	enum health_status s = HEALTH_STARTING;

	(void)state;
	/* the start period: failures do not count */
	for (int i = 0; i < 10; i++)
		s = health_judge(s, &streak, false, true, 3);
	assert_int_equal(s, HEALTH_STARTING);
	assert_int_equal(streak, 0);
	/* after it they do: unhealthy at the third */
	s = health_judge(s, &streak, false, false, 3);
	s = health_judge(s, &streak, false, false, 3);
	assert_int_equal(s, HEALTH_STARTING);
	assert_int_equal(streak, 2);
	s = health_judge(s, &streak, false, false, 3);
	assert_int_equal(s, HEALTH_UNHEALTHY);
	assert_int_equal(streak, 3);
	s = health_judge(s, &streak, false, false, 3);
	assert_int_equal(s, HEALTH_UNHEALTHY);
	assert_int_equal(streak, 4);
	/* a pass: healthy, streak reset */
	s = health_judge(s, &streak, true, false, 3);
	assert_int_equal(s, HEALTH_HEALTHY);
	assert_int_equal(streak, 0);
	/* the first pass ends the start period's leniency: a failure counts
	 * even within it */
	s = health_judge(s, &streak, false, true, 3);
	assert_int_equal(s, HEALTH_HEALTHY);
	assert_int_equal(streak, 1);
	s = health_judge(s, &streak, false, true, 3);
	s = health_judge(s, &streak, false, true, 3);
	assert_int_equal(s, HEALTH_UNHEALTHY);
	/* a pass during the start period ends `starting` at once */
	streak = 0;
	assert_int_equal(health_judge(HEALTH_STARTING, &streak, true, true, 3), HEALTH_HEALTHY);
	/* retries 1: the first counted failure; 0 is docker's default, 3 */
	streak = 0;
	assert_int_equal(health_judge(HEALTH_HEALTHY, &streak, false, false, 1), HEALTH_UNHEALTHY);
	streak = 0;
	s = health_judge(HEALTH_HEALTHY, &streak, false, false, 0);
	s = health_judge(s, &streak, false, false, 0);
	assert_int_equal(s, HEALTH_HEALTHY);
	assert_int_equal(health_judge(s, &streak, false, false, 0), HEALTH_UNHEALTHY);
}

static void health_log_freed(void **state)
{
	struct health_state h = { .nlog = 2 };

	(void)state;
	h.log[0].output = xstrdup("a");
	h.log[1].output = xstrdup("b");
	health_log_free(&h);
	assert_int_equal(h.nlog, 0);
	assert_null(h.log[0].output);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(durations),
		cmocka_unit_test(probes),
		cmocka_unit_test(restart_policies),
		cmocka_unit_test(judge),
		cmocka_unit_test(health_log_freed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
