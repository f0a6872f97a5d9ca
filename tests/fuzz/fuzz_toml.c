/* libFuzzer target for the TOML parser.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Iinclude \
 *         tests/fuzz/fuzz_toml.c src/util/toml.c -o fuzz_toml
 *
 * Beyond "no crash, no leak": every accepted document is walked three
 * ways, each of which aborts on a broken tree:
 *   - invariants: NUL-terminated strings and keys, valid UTF-8, sane
 *     positions and date/time fields;
 *   - encoding as toml-test JSON (self-contained, so the target needs no
 *     jansson);
 *   - a round trip: the tree is written back as TOML (inline form), parsed
 *     again, and must come back identical. */
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nucleus/util.h"

struct out {
	char *p;
	size_t len, cap;
};

static void put(struct out *o, const char *s, size_t n)
{
	if (o->cap - o->len <= n) {
		while (o->cap - o->len <= n)
			o->cap = o->cap ? o->cap * 2 : 256;
		o->p = realloc(o->p, o->cap);
		if (!o->p)
			abort();
	}
	memcpy(o->p + o->len, s, n);
	o->len += n;
	o->p[o->len] = '\0';
}

static void puts_(struct out *o, const char *s)
{
	put(o, s, strlen(s));
}

__attribute__((format(printf, 2, 3)))
static void putf(struct out *o, const char *fmt, ...)
{
	char buf[128];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(buf))
		abort();
	put(o, buf, (size_t)n);
}

/* A string both JSON and a TOML basic string read back byte for byte. */
static void put_quoted(struct out *o, const char *s, size_t n)
{
	puts_(o, "\"");
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\')
			putf(o, "\\%c", c);
		else if (c < 0x20 || c == 0x7F)
			putf(o, "\\u%04x", c);
		else
			put(o, &s[i], 1);
	}
	puts_(o, "\"");
}

/* ---- invariants ------------------------------------------------------ */

static void check(bool ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "fuzz_toml: broken tree: %s\n", what);
		abort();
	}
}

static bool utf8_ok(const unsigned char *s, size_t n)
{
	for (size_t i = 0; i < n;) {
		unsigned char c = s[i];
		size_t extra = c < 0x80 ? 0 : c >= 0xC2 && c <= 0xDF ? 1 :
			       c >= 0xE0 && c <= 0xEF ? 2 : c >= 0xF0 && c <= 0xF4 ? 3 : 9;
		uint32_t cp;

		if (extra == 9 || n - i <= extra)
			return false;
		cp = extra ? c & (0x3Fu >> extra) : c;
		for (size_t k = 1; k <= extra; k++) {
			if ((s[i + k] & 0xC0) != 0x80)
				return false;
			cp = cp << 6 | (s[i + k] & 0x3Fu);
		}
		if ((extra == 2 && cp < 0x800) || (extra == 3 && (cp < 0x10000 || cp > 0x10FFFF)) ||
		    (cp >= 0xD800 && cp <= 0xDFFF))
			return false;
		i += extra + 1;
	}
	return true;
}

static void check_datetime(const struct toml_value *v)
{
	const struct toml_datetime *d = &v->u.dt;
	bool has_date = v->type != TOML_TIME_LOCAL, has_time = v->type != TOML_DATE_LOCAL;

	if (has_date)
		check(d->year >= 0 && d->year <= 9999 && d->month >= 1 && d->month <= 12 &&
		      d->day >= 1 && d->day <= 31, "date fields");
	if (has_time)
		check(d->hour >= 0 && d->hour <= 23 && d->minute >= 0 && d->minute <= 59 &&
		      d->second >= 0 && d->second <= 60 && d->nanosecond >= 0 &&
		      d->nanosecond < 1000000000 && d->frac_digits >= 0, "time fields");
	check(d->offset_minutes > -24 * 60 && d->offset_minutes < 24 * 60, "offset");
}

static void check_tree(const struct toml_value *v, int depth)
{
	check(depth <= 200, "depth");
	check(v->line >= 1 && v->column >= 1, "value position");
	switch (v->type) {
	case TOML_STRING:
		check(v->u.str.ptr && v->u.str.ptr[v->u.str.len] == '\0', "string terminator");
		check(utf8_ok((const unsigned char *)v->u.str.ptr, v->u.str.len), "string UTF-8");
		break;
	case TOML_ARRAY:
		check(v->u.array.len <= v->u.array.cap, "array len");
		for (size_t i = 0; i < v->u.array.len; i++)
			check_tree(v->u.array.items[i], depth + 1);
		break;
	case TOML_TABLE:
		check(v->u.table.len <= v->u.table.cap, "table len");
		for (size_t i = 0; i < v->u.table.len; i++) {
			const struct toml_keyval *kv = &v->u.table.items[i];

			check(kv->key && kv->key[kv->key_len] == '\0', "key terminator");
			check(utf8_ok((const unsigned char *)kv->key, kv->key_len), "key UTF-8");
			check(kv->line >= 1 && kv->column >= 1, "key position");
			check_tree(kv->value, depth + 1);
		}
		break;
	case TOML_INTEGER:
	case TOML_FLOAT:
	case TOML_BOOL:
		break;
	default:
		check_datetime(v);
		break;
	}
}

/* ---- scalar text, shared by the JSON and TOML writers ----------------- */

static void put_float(struct out *o, double d)
{
	char buf[64];

	if (isnan(d)) {
		puts_(o, "nan");
		return;
	}
	if (isinf(d)) {
		puts_(o, d < 0 ? "-inf" : "inf");
		return;
	}
	snprintf(buf, sizeof(buf), "%.17g", d);
	puts_(o, buf);
	if (!strpbrk(buf, ".e"))
		puts_(o, ".0");     /* "100" would read back as an integer */
}

static void put_datetime(struct out *o, const struct toml_value *v)
{
	const struct toml_datetime *d = &v->u.dt;

	if (v->type != TOML_TIME_LOCAL)
		putf(o, "%04d-%02d-%02d", d->year, d->month, d->day);
	if (v->type == TOML_DATE_LOCAL)
		return;
	if (v->type != TOML_TIME_LOCAL)
		puts_(o, "T");
	putf(o, "%02d:%02d:%02d", d->hour, d->minute, d->second);
	if (d->frac_digits > 0) {
		int nd = d->frac_digits > 9 ? 9 : d->frac_digits, ns = d->nanosecond;

		for (int i = nd; i < 9; i++)
			ns /= 10;
		putf(o, ".%0*d", nd, ns);
	}
	if (v->type == TOML_DATETIME) {
		int m = abs(d->offset_minutes);

		if (d->offset_z)
			puts_(o, "Z");
		else
			putf(o, "%c%02d:%02d", d->offset_minutes < 0 ? '-' : '+', m / 60, m % 60);
	}
}

static void put_scalar(struct out *o, const struct toml_value *v, bool quote_string)
{
	switch (v->type) {
	case TOML_STRING:
		if (quote_string)
			put_quoted(o, v->u.str.ptr, v->u.str.len);
		break;
	case TOML_INTEGER:
		putf(o, "%lld", (long long)v->u.integer);
		break;
	case TOML_FLOAT:
		put_float(o, v->u.fp);
		break;
	case TOML_BOOL:
		puts_(o, v->u.boolean ? "true" : "false");
		break;
	default:
		put_datetime(o, v);
		break;
	}
}

/* ---- writers ------------------------------------------------------------ */

static void put_json(struct out *o, const struct toml_value *v)
{
	const char *sep = "";

	if (v->type == TOML_TABLE) {
		puts_(o, "{");
		for (size_t i = 0; i < v->u.table.len; i++, sep = ",") {
			puts_(o, sep);
			put_quoted(o, v->u.table.items[i].key, v->u.table.items[i].key_len);
			puts_(o, ":");
			put_json(o, v->u.table.items[i].value);
		}
		puts_(o, "}");
	} else if (v->type == TOML_ARRAY) {
		puts_(o, "[");
		for (size_t i = 0; i < v->u.array.len; i++, sep = ",") {
			puts_(o, sep);
			put_json(o, v->u.array.items[i]);
		}
		puts_(o, "]");
	} else {
		putf(o, "{\"type\":\"%s\",\"value\":", toml_type_name(v->type));
		if (v->type == TOML_STRING) {
			put_quoted(o, v->u.str.ptr, v->u.str.len);
		} else {
			puts_(o, "\"");
			put_scalar(o, v, false);
			puts_(o, "\"");
		}
		puts_(o, "}");
	}
}

static void put_toml(struct out *o, const struct toml_value *v)
{
	const char *sep = "";

	if (v->type == TOML_TABLE) {
		puts_(o, "{");
		for (size_t i = 0; i < v->u.table.len; i++, sep = ", ") {
			puts_(o, sep);
			put_quoted(o, v->u.table.items[i].key, v->u.table.items[i].key_len);
			puts_(o, " = ");
			put_toml(o, v->u.table.items[i].value);
		}
		puts_(o, "}");
	} else if (v->type == TOML_ARRAY) {
		puts_(o, "[");
		for (size_t i = 0; i < v->u.array.len; i++, sep = ", ") {
			puts_(o, sep);
			put_toml(o, v->u.array.items[i]);
		}
		puts_(o, "]");
	} else {
		put_scalar(o, v, true);
	}
}

/* The root as top-level key/value lines, values in inline form. */
static void put_toml_document(struct out *o, const struct toml_value *root)
{
	for (size_t i = 0; i < root->u.table.len; i++) {
		put_quoted(o, root->u.table.items[i].key, root->u.table.items[i].key_len);
		puts_(o, " = ");
		put_toml(o, root->u.table.items[i].value);
		puts_(o, "\n");
	}
}

static bool same_datetime(const struct toml_datetime *a, const struct toml_datetime *b)
{
	int fa = a->frac_digits > 9 ? 9 : a->frac_digits, fb = b->frac_digits > 9 ? 9 : b->frac_digits;

	return a->year == b->year && a->month == b->month && a->day == b->day &&
	       a->hour == b->hour && a->minute == b->minute && a->second == b->second &&
	       a->nanosecond == b->nanosecond && fa == fb &&
	       a->offset_minutes == b->offset_minutes && a->offset_z == b->offset_z;
}

static bool same_tree(const struct toml_value *a, const struct toml_value *b)
{
	if (a->type != b->type)
		return false;
	switch (a->type) {
	case TOML_STRING:
		return a->u.str.len == b->u.str.len &&
		       memcmp(a->u.str.ptr, b->u.str.ptr, a->u.str.len) == 0;
	case TOML_INTEGER:
		return a->u.integer == b->u.integer;
	case TOML_FLOAT:
		return (isnan(a->u.fp) && isnan(b->u.fp)) ||
		       (a->u.fp == b->u.fp && !signbit(a->u.fp) == !signbit(b->u.fp));
	case TOML_BOOL:
		return a->u.boolean == b->u.boolean;
	case TOML_ARRAY:
		if (a->u.array.len != b->u.array.len)
			return false;
		for (size_t i = 0; i < a->u.array.len; i++)
			if (!same_tree(a->u.array.items[i], b->u.array.items[i]))
				return false;
		return true;
	case TOML_TABLE:
		if (a->u.table.len != b->u.table.len)
			return false;
		for (size_t i = 0; i < a->u.table.len; i++) {
			const struct toml_keyval *ka = &a->u.table.items[i], *kb = &b->u.table.items[i];

			if (ka->key_len != kb->key_len || memcmp(ka->key, kb->key, ka->key_len) != 0 ||
			    !same_tree(ka->value, kb->value))
				return false;
		}
		return true;
	default:
		return same_datetime(&a->u.dt, &b->u.dt);
	}
}

static void round_trip(const struct toml_value *root)
{
	struct out doc = { 0 };
	struct toml_error err;
	struct toml_value *again;

	put_toml_document(&doc, root);
	again = toml_parse(doc.p, doc.len, &err);
	if (!again) {
		fprintf(stderr, "fuzz_toml: re-emitted document rejected at %d:%d: %s\n%s\n",
			err.line, err.column, err.msg, doc.p);
		abort();
	}
	if (!same_tree(root, again)) {
		fprintf(stderr, "fuzz_toml: round trip changed the data:\n%s\n", doc.p);
		abort();
	}
	toml_free(again);
	free(doc.p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct toml_error err;
	struct toml_value *root = toml_parse((const char *)data, size, &err);
	struct out json = { 0 };

	if (!root) {
		/* Every rejection must say where and why (OOM aside). */
		check(err.msg[0] != '\0', "error without message");
		check((err.line >= 1 && err.column >= 1) || strcmp(err.msg, "out of memory") == 0,
		      "error without position");
		return 0;
	}
	check(root->type == TOML_TABLE, "root is not a table");
	check_tree(root, 0);
	put_json(&json, root);
	free(json.p);
	round_trip(root);
	toml_free(root);
	return 0;
}
