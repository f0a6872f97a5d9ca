/* Unit tests for the TOML parser API (src/util/toml.c). The full
 * conformance run is tests/tools/toml-test-suite; these pin down the C
 * API: lookups, order, positions, limits, and the shape of the tree. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nucleus/util.h"

static struct toml_value *parse_ok(const char *text)
{
	struct toml_error err;
	struct toml_value *root = toml_parse(text, strlen(text), &err);

	if (!root)
		fail_msg("unexpected parse error at %d:%d: %s", err.line, err.column, err.msg);
	assert_int_equal(root->type, TOML_TABLE);
	return root;
}

/* The document must be rejected at line:col with msg_part in the message. */
static void expect_error(const char *text, int line, int col, const char *msg_part)
{
	struct toml_error err;
	struct toml_value *root = toml_parse(text, strlen(text), &err);

	if (root) {
		toml_free(root);
		fail_msg("accepted invalid document: %s", text);
	}
	if (err.line != line || err.column != col || !strstr(err.msg, msg_part))
		fail_msg("for %s: got %d:%d \"%s\", want %d:%d \"...%s...\"",
			 text, err.line, err.column, err.msg, line, col, msg_part);
}

static const struct toml_value *get_path(const struct toml_value *t, const char *k1, const char *k2)
{
	const struct toml_value *v = toml_get(t, k1);

	return k2 ? toml_get(v, k2) : v;
}

static void test_lookup(void **state)
{
	(void)state;
	struct toml_value *root = parse_ok(
		"title = \"nucleus\"\n"
		"workers = 4\n"
		"ratio = 0.5\n"
		"debug = false\n"
		"[limits]\n"
		"memory = \"512M\"\n"
		"pids = 0x40\n");
	const struct toml_value *v;

	v = toml_get(root, "title");
	assert_non_null(v);
	assert_int_equal(v->type, TOML_STRING);
	assert_string_equal(v->u.str.ptr, "nucleus");
	assert_int_equal(v->u.str.len, 7);

	v = toml_get(root, "workers");
	assert_non_null(v);
	assert_int_equal(v->type, TOML_INTEGER);
	assert_int_equal(v->u.integer, 4);

	v = toml_get(root, "ratio");
	assert_non_null(v);
	assert_int_equal(v->type, TOML_FLOAT);
	assert_true(v->u.fp == 0.5);

	v = toml_get(root, "debug");
	assert_non_null(v);
	assert_int_equal(v->type, TOML_BOOL);
	assert_false(v->u.boolean);

	v = get_path(root, "limits", "memory");
	assert_non_null(v);
	assert_string_equal(v->u.str.ptr, "512M");
	v = get_path(root, "limits", "pids");
	assert_non_null(v);
	assert_int_equal(v->u.integer, 64);

	assert_null(toml_get(root, "missing"));
	assert_null(toml_get(root, "limits.memory"));     /* keys, not paths */
	assert_null(toml_get(toml_get(root, "title"), "x")); /* not a table */
	assert_null(toml_get(NULL, "title"));
	assert_null(toml_get(root, NULL));
	toml_free(root);
}

static void test_key_order(void **state)
{
	(void)state;
	struct toml_value *root = parse_ok(
		"zeta = 1\n"
		"alpha = 2\n"
		"mid.b = 3\n"
		"mid.a = 4\n"
		"[later.deep]\n"
		"[early]\n"
		"y = 1\n"
		"x = 2\n");
	static const char *const top[] = { "zeta", "alpha", "mid", "later", "early" };
	const struct toml_value *t;

	assert_int_equal(root->u.table.len, ARRAY_SIZE(top));
	for (size_t i = 0; i < ARRAY_SIZE(top); i++)
		assert_string_equal(root->u.table.items[i].key, top[i]);

	t = toml_get(root, "mid");
	assert_int_equal(t->u.table.len, 2);
	assert_string_equal(t->u.table.items[0].key, "b");
	assert_string_equal(t->u.table.items[1].key, "a");

	t = toml_get(root, "early");
	assert_string_equal(t->u.table.items[0].key, "y");
	assert_string_equal(t->u.table.items[1].key, "x");
	toml_free(root);
}

static void test_error_positions(void **state)
{
	(void)state;
	expect_error("a = 1\nb = \n", 2, 5, "expected a value");
	expect_error("a = 1\na = 2\n", 2, 1, "duplicate key `a`");
	expect_error("[t]\nx = 1\n[t]\n", 3, 2, "cannot define table `t`");
	expect_error("s = \"abc\\q\"\n", 1, 9, "invalid escape");
	expect_error("s = \"open\n", 1, 10, "newline in a single-line string");
	expect_error("ok = \"é\"\nn = 08\n", 2, 5, "leading zeros");
	expect_error("a = 1 b = 2\n", 1, 7, "expected a newline");
	expect_error("a = [1, 2\n", 2, 1, "expected ',' or ']'");
	expect_error("a = 1\r\nb = 2\rc = 3\n", 2, 6, "carriage return");
	expect_error("t = {a = 1,\n}", 1, 12, "expected a key");
	expect_error("d = 2023-02-29\n", 1, 5, "day 29 out of range");
	expect_error("big = 9223372036854775808\n", 1, 7, "64 bits");
	/* Columns count characters, not bytes. */
	expect_error("k = \"ééé\" x\n", 1, 11, "expected a newline");
	expect_error("bad = \"\xff\"\n", 1, 8, "invalid UTF-8");
	expect_error("s = '''abc", 1, 5, "unterminated string");
}

static char *repeat(const char *pre, const char *unit, int n, const char *mid, const char *end_unit)
{
	size_t lu = strlen(unit), le = strlen(end_unit);
	char *s = malloc(strlen(pre) + (size_t)n * (lu + le) + strlen(mid) + 1), *o;

	assert_non_null(s);
	o = stpcpy(s, pre);
	for (int i = 0; i < n; i++, o += lu)
		memcpy(o, unit, lu);
	o = stpcpy(o, mid);
	for (int i = 0; i < n; i++, o += le)
		memcpy(o, end_unit, le);
	*o = '\0';
	return s;
}

static void expect_depth(const char *pre, const char *unit, int n, const char *mid,
			 const char *end_unit, bool ok)
{
	char *doc = repeat(pre, unit, n, mid, end_unit);
	struct toml_error err;
	struct toml_value *root = toml_parse(doc, strlen(doc), &err);

	if (ok && !root)
		fail_msg("depth %d rejected: %s", n, err.msg);
	if (!ok) {
		assert_null(root);
		assert_true(strstr(err.msg, "nesting") || strstr(err.msg, "parts"));
		assert_true(err.line >= 1 && err.column >= 1);
	}
	toml_free(root);
	free(doc);
}

static void test_depth_limit(void **state)
{
	(void)state;
	/* Nested arrays / inline tables: 128 levels below the root is fine. */
	expect_depth("a = ", "[", 128, "", "]", true);
	expect_depth("a = ", "[", 129, "", "]", false);
	expect_depth("a = ", "{b = ", 127, "1", "}", true);
	expect_depth("a = ", "{b = ", 200, "1", "}", false);
	/* Far too deep must fail cleanly, not overflow the stack. */
	expect_depth("a = ", "[", 1000000, "", "]", false);
	/* Long dotted keys and header paths count too. */
	expect_depth("a", ".a", 127, " = 1", "", true);
	expect_depth("a", ".a", 500, " = 1", "", false);
	expect_depth("[a", ".a", 500, "]", "", false);
	/* Depths add up across a header, dotted keys and inline tables. */
	expect_depth("[a.a.a.a.a.a.a.a.a.a]\nb.b.b.b.b.b.b.b.b.b = ", "[", 120, "", "]", false);
}

static void test_embedded_nul(void **state)
{
	(void)state;
	static const char doc[] = "s = \"a\\u0000b\"\n\"k\\u0000\" = 1\nk = 2\n";
	struct toml_value *root = parse_ok(doc);
	const struct toml_value *s = toml_get(root, "s");

	assert_non_null(s);
	assert_int_equal(s->u.str.len, 3);
	assert_memory_equal(s->u.str.ptr, "a\0b", 4);   /* still NUL-terminated */

	/* "k\0" and "k" are different keys; toml_get("k") finds the latter. */
	assert_int_equal(root->u.table.len, 3);
	assert_int_equal(root->u.table.items[1].key_len, 2);
	assert_memory_equal(root->u.table.items[1].key, "k\0", 3);
	assert_int_equal(toml_get(root, "k")->u.integer, 2);
	toml_free(root);
}

static void test_policy_document(void **state)
{
	(void)state;
	struct toml_value *root = parse_ok(
		"# nucleus access policy\n"
		"version = 1\n"
		"default = \"deny\"\n"
		"\n"
		"[[rules]]\n"
		"path = \"/tmp\"\n"
		"access = [\"read\", \"write\"]\n"
		"\n"
		"[[rules]]\n"
		"path = '/etc/ssl/certs'   # literal string\n"
		"access = [\n"
		"  \"read\",   # trailing comma and comments are fine\n"
		"]\n"
		"recursive = true\n"
		"\n"
		"[network]\n"
		"allow = [{ host = \"10.0.0.1\", ports = [80, 443] }]\n"
		"expires = 2025-01-01T00:00:00Z\n");
	const struct toml_value *rules = toml_get(root, "rules"), *r, *access, *allow;

	assert_int_equal(toml_get(root, "version")->u.integer, 1);
	assert_non_null(rules);
	assert_int_equal(rules->type, TOML_ARRAY);
	assert_int_equal(rules->u.array.len, 2);

	r = rules->u.array.items[0];
	assert_int_equal(r->type, TOML_TABLE);
	assert_string_equal(toml_get(r, "path")->u.str.ptr, "/tmp");
	access = toml_get(r, "access");
	assert_int_equal(access->type, TOML_ARRAY);
	assert_int_equal(access->u.array.len, 2);
	assert_string_equal(access->u.array.items[0]->u.str.ptr, "read");
	assert_string_equal(access->u.array.items[1]->u.str.ptr, "write");
	assert_null(toml_get(r, "recursive"));

	r = rules->u.array.items[1];
	assert_string_equal(toml_get(r, "path")->u.str.ptr, "/etc/ssl/certs");
	assert_int_equal(toml_get(r, "access")->u.array.len, 1);
	assert_true(toml_get(r, "recursive")->u.boolean);

	allow = get_path(root, "network", "allow");
	assert_int_equal(allow->u.array.len, 1);
	assert_string_equal(toml_get(allow->u.array.items[0], "host")->u.str.ptr, "10.0.0.1");
	assert_int_equal(toml_get(allow->u.array.items[0], "ports")->u.array.items[1]->u.integer, 443);
	assert_int_equal(get_path(root, "network", "expires")->type, TOML_DATETIME);
	toml_free(root);
}

static void test_datetimes(void **state)
{
	(void)state;
	struct toml_value *root = parse_ok(
		"odt = 1979-05-27T07:32:00.999999-07:30\n"
		"utc = 1979-05-27 07:32:00z\n"
		"ldt = 2000-02-29T23:59:60.1234567891\n"
		"ld = 1979-05-27\n"
		"lt = 00:32:00.5\n");
	const struct toml_datetime *dt;

	assert_int_equal(toml_get(root, "odt")->type, TOML_DATETIME);
	dt = &toml_get(root, "odt")->u.dt;
	assert_int_equal(dt->year, 1979);
	assert_int_equal(dt->month, 5);
	assert_int_equal(dt->day, 27);
	assert_int_equal(dt->hour, 7);
	assert_int_equal(dt->minute, 32);
	assert_int_equal(dt->nanosecond, 999999000);
	assert_int_equal(dt->frac_digits, 6);
	assert_int_equal(dt->offset_minutes, -450);
	assert_false(dt->offset_z);

	dt = &toml_get(root, "utc")->u.dt;
	assert_true(dt->offset_z);
	assert_int_equal(dt->offset_minutes, 0);

	assert_int_equal(toml_get(root, "ldt")->type, TOML_DATETIME_LOCAL);
	dt = &toml_get(root, "ldt")->u.dt;
	assert_int_equal(dt->second, 60);
	assert_int_equal(dt->nanosecond, 123456789);    /* truncated to ns */
	assert_int_equal(dt->frac_digits, 10);

	assert_int_equal(toml_get(root, "ld")->type, TOML_DATE_LOCAL);
	assert_int_equal(toml_get(root, "lt")->type, TOML_TIME_LOCAL);
	assert_int_equal(toml_get(root, "lt")->u.dt.nanosecond, 500000000);
	toml_free(root);
}

static void test_numbers(void **state)
{
	(void)state;
	struct toml_value *root = parse_ok(
		"max = 9_223_372_036_854_775_807\n"
		"min = -9223372036854775808\n"
		"hex = 0xdead_BEEF\n"
		"oct = 0o755\n"
		"bin = 0b1010\n"
		"f = 6.626e-34\n"
		"ni = -inf\n"
		"nn = nan\n"
		"nz = -0.0\n");

	assert_true(toml_get(root, "max")->u.integer == INT64_MAX);
	assert_true(toml_get(root, "min")->u.integer == INT64_MIN);
	assert_int_equal(toml_get(root, "hex")->u.integer, 0xdeadbeef);
	assert_int_equal(toml_get(root, "oct")->u.integer, 0755);
	assert_int_equal(toml_get(root, "bin")->u.integer, 10);
	assert_true(toml_get(root, "f")->u.fp == 6.626e-34);
	assert_true(isinf(toml_get(root, "ni")->u.fp) && toml_get(root, "ni")->u.fp < 0);
	assert_true(isnan(toml_get(root, "nn")->u.fp));
	assert_true(signbit(toml_get(root, "nz")->u.fp));
	toml_free(root);

	expect_error("x = 0x8000000000000000\n", 1, 5, "64 bits");
	expect_error("x = -9223372036854775809\n", 1, 5, "64 bits");
	expect_error("x = 1e999\n", 1, 5, "out of range");
	expect_error("x = 1__0\n", 1, 5, "invalid number");
	expect_error("x = -0x1\n", 1, 5, "sign");
}

/* Floats must not depend on the process locale's decimal separator. */
static void test_float_locale(void **state)
{
	(void)state;
	static const char *const locales[] = { "de_DE.UTF-8", "fr_FR.UTF-8", "de_DE", "ru_RU.UTF-8" };
	const char *set = NULL;
	struct toml_value *root;

	for (size_t i = 0; i < ARRAY_SIZE(locales) && !set; i++)
		set = setlocale(LC_NUMERIC, locales[i]);
	if (!set) {
		/* none installed: build one (the `locales` package has the sources) */
		char dir[] = "/tmp/nucleus-locale-XXXXXX", cmd[256];

		assert_non_null(mkdtemp(dir));
		snprintf(cmd, sizeof(cmd), "localedef -i de_DE -f UTF-8 %s/de_DE.UTF-8 >/dev/null 2>&1", dir);
		if (system(cmd) == 0) {
			setenv("LOCPATH", dir, 1);
			set = setlocale(LC_NUMERIC, "de_DE.UTF-8");
		}
		snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
		(void)!system(cmd);
	}
	assert_non_null(set);           /* a comma-decimal locale is needed to test this */
	assert_string_equal(localeconv()->decimal_point, ",");
	root = parse_ok("pi = 3.25\n");
	setlocale(LC_NUMERIC, "C");
	assert_true(toml_get(root, "pi")->u.fp == 3.25);
	toml_free(root);
}

static void test_positions(void **state)
{
	(void)state;
	struct toml_value *root = parse_ok(
		"a = 1\n"
		"[tbl]\n"
		"  key = \"v\"\n"
		"  arr = [ 1,\n"
		"          2 ]\n");
	const struct toml_value *tbl = toml_get(root, "tbl"), *arr;

	assert_int_equal(root->u.table.items[0].line, 1);
	assert_int_equal(root->u.table.items[0].column, 1);
	assert_int_equal(toml_get(root, "a")->column, 5);
	assert_int_equal(tbl->u.table.items[0].line, 3);
	assert_int_equal(tbl->u.table.items[0].column, 3);
	assert_int_equal(toml_get(tbl, "key")->column, 9);
	arr = toml_get(tbl, "arr");
	assert_int_equal(arr->u.array.items[1]->line, 5);
	assert_int_equal(arr->u.array.items[1]->column, 11);
	toml_free(root);
}

static void test_redefinitions(void **state)
{
	(void)state;
	struct toml_value *root;

	/* Allowed: an implicit table defined later; sub-tables of dotted ones. */
	root = parse_ok("[a.b.c]\n[a]\nx = 1\n");
	toml_free(root);
	root = parse_ok("[fruit]\napple.color = \"red\"\n[fruit.apple.texture]\nsmooth = true\n");
	toml_free(root);

	expect_error("[a]\n[a]\n", 2, 2, "already");
	expect_error("a.b = 1\n[a]\n", 2, 2, "dotted keys");
	expect_error("a = {}\n[a.b]\n", 2, 2, "inline table");
	expect_error("a = {b = 1}\na.c = 2\n", 2, 1, "inline table");
	expect_error("[[a]]\n[a]\n", 2, 2, "array of tables");
	expect_error("a = []\n[[a]]\n", 2, 3, "array");
	expect_error("[a.b]\nz = 9\n[a]\nb.y = 1\n", 4, 1, "[header]");
}

static void test_strings(void **state)
{
	(void)state;
	struct toml_value *root = parse_ok(
		"ml = \"\"\"\r\nline1\r\nline2 \\\r\n   cont\"\"\"\n"
		"lit = '''\n C:\\path ''x'' '''\n"
		"esc = \"\\t\\\"\\u00e9\\U0001F600\"\n"
		"empty = \"\"\n");

	/* CRLF inside multi-line strings reads as LF. */
	assert_string_equal(toml_get(root, "ml")->u.str.ptr, "line1\nline2 cont");
	assert_string_equal(toml_get(root, "lit")->u.str.ptr, " C:\\path ''x'' ");
	assert_string_equal(toml_get(root, "esc")->u.str.ptr, "\t\"\xc3\xa9\xf0\x9f\x98\x80");
	assert_non_null(toml_get(root, "empty")->u.str.ptr);
	assert_int_equal(toml_get(root, "empty")->u.str.len, 0);
	toml_free(root);

	expect_error("s = \"\\uD800\"\n", 1, 6, "not a Unicode scalar value");
	expect_error("s = \"tab\tok, bell\a not\"\n", 1, 18, "not allowed in a string");
}

static void test_edge_inputs(void **state)
{
	(void)state;
	struct toml_error err;
	struct toml_value *root;

	root = toml_parse(NULL, 0, &err);
	assert_non_null(root);
	assert_int_equal(root->u.table.len, 0);
	toml_free(root);

	root = toml_parse("\xEF\xBB\xBF# only a comment", 19, &err);
	assert_non_null(root);
	toml_free(root);

	/* The length is authoritative: no NUL terminator needed. */
	root = toml_parse("a = 12345", 6, &err);
	assert_non_null(root);
	assert_int_equal(toml_get(root, "a")->u.integer, 12);
	toml_free(root);

	/* A NULL error pointer is allowed. */
	assert_null(toml_parse("a = ", 4, NULL));
	toml_free(NULL);
}

static void test_type_names(void **state)
{
	(void)state;
	assert_string_equal(toml_type_name(TOML_STRING), "string");
	assert_string_equal(toml_type_name(TOML_INTEGER), "integer");
	assert_string_equal(toml_type_name(TOML_FLOAT), "float");
	assert_string_equal(toml_type_name(TOML_BOOL), "bool");
	assert_string_equal(toml_type_name(TOML_DATETIME), "datetime");
	assert_string_equal(toml_type_name(TOML_DATETIME_LOCAL), "datetime-local");
	assert_string_equal(toml_type_name(TOML_DATE_LOCAL), "date-local");
	assert_string_equal(toml_type_name(TOML_TIME_LOCAL), "time-local");
	assert_string_equal(toml_type_name(TOML_ARRAY), "array");
	assert_string_equal(toml_type_name(TOML_TABLE), "table");
}

/* Many keys in one table: the duplicate check must stay fast and right. */
static void test_many_keys(void **state)
{
	(void)state;
	enum { N = 20000 };
	size_t cap = (size_t)N * 24 + 32, len = 0;
	char *doc = malloc(cap);
	struct toml_value *root;
	struct toml_error err;

	assert_non_null(doc);
	for (int i = 0; i < N; i++)
		len += (size_t)snprintf(doc + len, cap - len, "k%d = %d\n", i, i);
	root = toml_parse(doc, len, &err);
	assert_non_null(root);
	assert_int_equal(root->u.table.len, N);
	assert_int_equal(toml_get(root, "k12345")->u.integer, 12345);
	toml_free(root);

	len += (size_t)snprintf(doc + len, cap - len, "k777 = 0\n");
	assert_null(toml_parse(doc, len, &err));
	assert_int_equal(err.line, N + 1);
	assert_non_null(strstr(err.msg, "duplicate key `k777`"));
	free(doc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lookup),
		cmocka_unit_test(test_key_order),
		cmocka_unit_test(test_error_positions),
		cmocka_unit_test(test_depth_limit),
		cmocka_unit_test(test_embedded_nul),
		cmocka_unit_test(test_policy_document),
		cmocka_unit_test(test_datetimes),
		cmocka_unit_test(test_numbers),
		cmocka_unit_test(test_float_locale),
		cmocka_unit_test(test_positions),
		cmocka_unit_test(test_redefinitions),
		cmocka_unit_test(test_strings),
		cmocka_unit_test(test_edge_inputs),
		cmocka_unit_test(test_type_names),
		cmocka_unit_test(test_many_keys),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
