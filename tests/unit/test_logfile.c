/* container.log: records from what the workload wrote, and back. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>
#include <nucleus/container.h>

/* 2024-01-02T03:04:05.000000006Z */
#define T 1704164645000000006ull
#define TS "\"time\":\"2024-01-02T03:04:05.000000006Z\"}\n"

static char *encode(const char *stream, const char *data, size_t len, bool final, size_t *kept)
{
	char *out = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&out, &n);

	*kept = log_encode(f, stream, data, len, T, final);
	fclose(f);
	return out;
}

static void one_record_a_line(void **state)
{
	size_t kept;
	char *out = encode("stdout", "a\nb\n", 4, false, &kept);

	assert_int_equal(kept, 0);
	assert_string_equal(out, "{\"stream\":\"stdout\",\"log\":\"a\\n\"," TS
				 "{\"stream\":\"stdout\",\"log\":\"b\\n\"," TS);
	free(out);
}

static void partial_line_is_its_own_record(void **state)
{
	size_t kept;
	char *out = encode("stderr", "a\nrest", 6, false, &kept);

	assert_int_equal(kept, 0);
	assert_string_equal(out, "{\"stream\":\"stderr\",\"log\":\"a\\n\"," TS
				 "{\"stream\":\"stderr\",\"log\":\"rest\"," TS);
	free(out);
}

static void utf8_cut_in_two_waits_for_the_rest(void **state)
{
	size_t kept;
	/* "x€" with the euro sign's last byte missing */
	char *out = encode("stdout", "x\xe2\x82", 3, false, &kept);

	assert_int_equal(kept, 2);
	assert_string_equal(out, "{\"stream\":\"stdout\",\"log\":\"x\"," TS);
	free(out);
	/* at the end nothing is kept back: it becomes U+FFFD */
	out = encode("stdout", "\xe2\x82", 2, true, &kept);
	assert_int_equal(kept, 0);
	assert_string_equal(out, "{\"stream\":\"stdout\",\"log\":\"\xef\xbf\xbd\xef\xbf\xbd\"," TS);
	free(out);
}

static void invalid_utf8_and_nul(void **state)
{
	struct log_record r;
	size_t kept;
	char *out = encode("stdout", "\xff\xc0\x80" "a\0b\xed\xa0\x80\n", 10, false, &kept);
	size_t line = strcspn(out, "\n");

	assert_int_equal(out[line], '\n');
	assert_int_equal(log_decode(out, line, &r), 0);
	assert_false(r.is_stderr);
	assert_string_equal(r.time, "2024-01-02T03:04:05.000000006Z");
	/* three bad bytes, a NUL kept, a surrogate's three bytes: each U+FFFD */
	assert_int_equal(r.len, 3 * 3 + 3 + 3 * 3 + 1);
	assert_memory_equal(r.text, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" "a\0b"
			    "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\n", r.len);
	free(r.text);
	free(out);
}

static void decode(void **state)
{
	struct log_record r;
	const char *line = "{\"stream\":\"stderr\",\"log\":\"e\\n\",\"time\":\"t\"}";

	assert_int_equal(log_decode(line, strlen(line), &r), 0);
	assert_true(r.is_stderr);
	assert_int_equal(r.len, 2);
	assert_string_equal(r.text, "e\n");
	free(r.text);
	assert_int_not_equal(log_decode("plain text", 10, &r), 0);
	assert_int_not_equal(log_decode("{\"stream\":\"stdout\"}", 19, &r), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(one_record_a_line),
		cmocka_unit_test(partial_line_is_its_own_record),
		cmocka_unit_test(utf8_cut_in_two_waits_for_the_rest),
		cmocka_unit_test(invalid_utf8_and_nul),
		cmocka_unit_test(decode),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
