/* toml-test-suite: run the toml-test cases in-process against toml_parse().
 *
 *   toml-test-suite LIST [DATADIR]
 *
 * LIST names the cases (files-toml-1.0.0), relative to DATADIR, which
 * defaults to the directory LIST is in. Every valid/X.toml must parse to
 * the data in valid/X.json; every invalid/X.toml must be rejected with a
 * position. One line per failure, then one summary line; exit status 1
 * if anything failed, 2 if the suite itself could not run. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "toml-json.h"

struct suite {
	const char *dir;
	int passed, failed;
};

/* Where in the document a mismatch is, and why. */
struct cmp {
	char path[512];
	char why[512];
};

__attribute__((format(printf, 3, 4)))
static void report(struct suite *s, const char *name, const char *fmt, ...)
{
	va_list ap;

	printf("FAIL %s: ", name);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	s->failed++;
}

static char *read_whole(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long size;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (size = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
		buf = malloc((size_t)size + 1);
		if (buf && fread(buf, 1, (size_t)size, f) != (size_t)size) {
			free(buf);
			buf = NULL;
		}
		if (buf) {
			buf[size] = '\0';
			*len = (size_t)size;
		}
	}
	fclose(f);
	return buf;
}

/* ---- expected JSON: escape object keys like TOML_JSON_ESCAPE_KEYS ---- */

static bool hex4_is(const char *s, unsigned want)
{
	unsigned v = 0;

	for (int i = 0; i < 4; i++) {
		char c = s[i];
		unsigned d = c >= '0' && c <= '9' ? (unsigned)(c - '0') :
			     c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10) :
			     c >= 'A' && c <= 'F' ? (unsigned)(c - 'A' + 10) : 16u;
		if (d > 15)
			return false;
		v = v * 16 + d;
	}
	return v == want;
}

/* Copy the body of a JSON string that is an object key, rewriting the
 * escapes that decode to NUL or backslash into escapes of their
 * TOML_JSON_ESCAPE_KEYS form. */
static size_t escape_key_body(const char *s, size_t n, char *out)
{
	size_t o = 0;

	for (size_t i = 0; i < n;) {
		if (s[i] == '\\' && i + 1 < n && s[i + 1] == 'u' && i + 6 <= n && hex4_is(s + i + 2, 0)) {
			memcpy(out + o, "\\\\0", 3);
			o += 3;
			i += 6;
		} else if (s[i] == '\\' && i + 1 < n &&
			   (s[i + 1] == '\\' || (s[i + 1] == 'u' && i + 6 <= n && hex4_is(s + i + 2, 0x5C)))) {
			memcpy(out + o, "\\\\\\\\", 4);
			o += 4;
			i += s[i + 1] == '\\' ? 2 : 6;
		} else if (s[i] == '\\' && i + 1 < n) {
			out[o++] = s[i++];
			out[o++] = s[i++];
		} else {
			out[o++] = s[i++];
		}
	}
	return o;
}

static char *escape_json_keys(const char *s, size_t n, size_t *out_len)
{
	char *out = malloc(2 * n + 1);
	size_t o = 0, i = 0;

	if (!out)
		return NULL;
	while (i < n) {
		size_t j, k;

		if (s[i] != '"') {
			out[o++] = s[i++];
			continue;
		}
		for (j = i + 1; j < n && s[j] != '"'; j++)
			if (s[j] == '\\')
				j++;
		if (j >= n) {   /* unterminated: let jansson report it */
			memcpy(out + o, s + i, n - i);
			o += n - i;
			break;
		}
		for (k = j + 1; k < n && strchr(" \t\r\n", s[k]); k++)
			;
		if (k < n && s[k] == ':') {
			out[o++] = '"';
			o += escape_key_body(s + i + 1, j - i - 1, out + o);
			out[o++] = '"';
		} else {
			memcpy(out + o, s + i, j + 1 - i);
			o += j + 1 - i;
		}
		i = j + 1;
	}
	out[o] = '\0';
	*out_len = o;
	return out;
}

/* ---- comparing tagged JSON ------------------------------------------- */

struct datetime {
	int year, month, day, hour, minute, second;
	long nanos;
	int offset;     /* minutes; Z = +00:00 = -00:00 */
	bool has_offset;
};

static bool read_int(const char **s, int ndigits, int *out)
{
	int v = 0;

	for (int i = 0; i < ndigits; i++) {
		if ((*s)[i] < '0' || (*s)[i] > '9')
			return false;
		v = v * 10 + ((*s)[i] - '0');
	}
	*s += ndigits;
	*out = v;
	return true;
}

static bool read_time(const char **s, struct datetime *dt)
{
	if (!read_int(s, 2, &dt->hour) || *(*s)++ != ':' || !read_int(s, 2, &dt->minute) ||
	    *(*s)++ != ':' || !read_int(s, 2, &dt->second))
		return false;
	if (**s == '.') {
		long scale = 100000000;

		(*s)++;
		if (**s < '0' || **s > '9')
			return false;
		for (; **s >= '0' && **s <= '9'; (*s)++, scale /= 10)
			dt->nanos += (**s - '0') * scale;
	}
	return true;
}

/* Normalise: 't'/'T'/' ' separators, 'z'/'Z'/"+00:00" offsets, and the
 * fraction of a second by value. */
static bool parse_datetime_text(const char *s, struct datetime *dt)
{
	memset(dt, 0, sizeof(*dt));
	if (strlen(s) >= 5 && s[4] == '-') {
		if (!read_int(&s, 4, &dt->year) || *s++ != '-' || !read_int(&s, 2, &dt->month) ||
		    *s++ != '-' || !read_int(&s, 2, &dt->day))
			return false;
		if (!*s)
			return true;
		if (*s != 'T' && *s != 't' && *s != ' ')
			return false;
		s++;
	}
	if (!read_time(&s, dt))
		return false;
	if (*s == 'Z' || *s == 'z') {
		dt->has_offset = true;
		s++;
	} else if (*s == '+' || *s == '-') {
		int sign = *s++ == '-' ? -1 : 1, h, m;

		if (!read_int(&s, 2, &h) || *s++ != ':' || !read_int(&s, 2, &m))
			return false;
		dt->has_offset = true;
		dt->offset = sign * (h * 60 + m);
	}
	return *s == '\0';
}

static bool parse_float_text(const char *s, double *d)
{
	char *end;

	if (*s == '+' || *s == '-') {
		if (strcmp(s + 1, "nan") == 0 || strcmp(s + 1, "inf") == 0) {
			*d = s[1] == 'n' ? NAN : INFINITY;
			if (*s == '-')
				*d = -*d;
			return true;
		}
	}
	if (strcmp(s, "nan") == 0 || strcmp(s, "inf") == 0) {
		*d = *s == 'n' ? NAN : INFINITY;
		return true;
	}
	errno = 0;
	*d = strtod(s, &end);
	return end != s && *end == '\0';
}

static bool parse_int_text(const char *s, long long *v)
{
	char *end;

	errno = 0;
	*v = strtoll(s, &end, 10);
	return end != s && *end == '\0' && errno == 0;
}

static bool same_scalar(const char *type, const json_t *exp, const json_t *act, struct cmp *c)
{
	const char *e = json_string_value(exp), *a = json_string_value(act);

	if (strcmp(type, "string") == 0) {
		if (json_string_length(exp) == json_string_length(act) &&
		    memcmp(e, a, json_string_length(exp)) == 0)
			return true;
	} else if (strcmp(type, "integer") == 0) {
		long long ei, ai;

		if (!parse_int_text(e, &ei) || !parse_int_text(a, &ai))
			goto bad_text;
		if (ei == ai)
			return true;
	} else if (strcmp(type, "float") == 0) {
		double ed, ad;

		if (!parse_float_text(e, &ed) || !parse_float_text(a, &ad))
			goto bad_text;
		if ((isnan(ed) && isnan(ad)) || (ed == ad && !signbit(ed) == !signbit(ad)))
			return true;
	} else if (strcmp(type, "bool") == 0) {
		if (strcmp(e, a) == 0)
			return true;
	} else if (strcmp(type, "datetime") == 0 || strcmp(type, "datetime-local") == 0 ||
		   strcmp(type, "date-local") == 0 || strcmp(type, "time-local") == 0) {
		struct datetime ed, ad;

		if (!parse_datetime_text(e, &ed) || !parse_datetime_text(a, &ad))
			goto bad_text;
		if (memcmp(&ed, &ad, sizeof(ed)) == 0)
			return true;
	} else {
		snprintf(c->why, sizeof(c->why), "unknown type \"%s\" in expected JSON", type);
		return false;
	}
	snprintf(c->why, sizeof(c->why), "expected %s %s, got %s", type, e, a);
	return false;
bad_text:
	snprintf(c->why, sizeof(c->why), "cannot read %s value: expected %s, got %s", type, e, a);
	return false;
}

/* {"type": string, "value": string}; a TOML table with keys "type" and
 * "value" encodes as an object whose members are objects, never strings. */
static bool is_tagged(const json_t *j)
{
	return json_is_object(j) && json_object_size(j) == 2 &&
	       json_is_string(json_object_get(j, "type")) &&
	       json_is_string(json_object_get(j, "value"));
}

static bool same(const json_t *exp, const json_t *act, struct cmp *c);

static bool same_table(const json_t *exp, const json_t *act, struct cmp *c)
{
	size_t plen = strlen(c->path);
	const char *key;
	size_t klen;
	json_t *ev;

	if (json_object_size(exp) != json_object_size(act)) {
		snprintf(c->why, sizeof(c->why), "expected a table of %zu keys, got %zu",
			 json_object_size(exp), json_object_size(act));
		return false;
	}
	json_object_keylen_foreach((json_t *)exp, key, klen, ev) {
		json_t *av = json_object_getn(act, key, klen);

		snprintf(c->path + plen, sizeof(c->path) - plen, "%s%.*s", plen ? "." : "",
			 (int)klen, key);
		if (!av) {
			snprintf(c->why, sizeof(c->why), "key missing");
			return false;
		}
		if (!same(ev, av, c))
			return false;
		c->path[plen] = '\0';
	}
	return true;
}

static bool same_array(const json_t *exp, const json_t *act, struct cmp *c)
{
	size_t plen = strlen(c->path);

	if (json_array_size(exp) != json_array_size(act)) {
		snprintf(c->why, sizeof(c->why), "expected an array of %zu elements, got %zu",
			 json_array_size(exp), json_array_size(act));
		return false;
	}
	for (size_t i = 0; i < json_array_size(exp); i++) {
		snprintf(c->path + plen, sizeof(c->path) - plen, "[%zu]", i);
		if (!same(json_array_get(exp, i), json_array_get(act, i), c))
			return false;
		c->path[plen] = '\0';
	}
	return true;
}

static const char *shape(const json_t *j)
{
	return is_tagged(j) ? json_string_value(json_object_get(j, "type")) :
	       json_is_object(j) ? "table" : json_is_array(j) ? "array" : "non-TOML JSON";
}

static bool same(const json_t *exp, const json_t *act, struct cmp *c)
{
	if (is_tagged(exp) && is_tagged(act)) {
		const char *et = json_string_value(json_object_get(exp, "type"));

		if (strcmp(et, json_string_value(json_object_get(act, "type"))) != 0)
			goto shape_mismatch;
		return same_scalar(et, json_object_get(exp, "value"),
				   json_object_get(act, "value"), c);
	}
	if (json_is_object(exp) && !is_tagged(exp) && json_is_object(act) && !is_tagged(act))
		return same_table(exp, act, c);
	if (json_is_array(exp) && json_is_array(act))
		return same_array(exp, act, c);
shape_mismatch:
	snprintf(c->why, sizeof(c->why), "expected %s, got %s", shape(exp), shape(act));
	return false;
}

/* ---- running cases ---------------------------------------------------- */

static char *join(const char *dir, const char *rel)
{
	size_t n = strlen(dir) + strlen(rel) + 2;
	char *p = malloc(n);

	if (p)
		snprintf(p, n, "%s/%s", dir, rel);
	return p;
}

/* The case's name: its path without ".toml". */
static void case_name(const char *rel, char *out, size_t len)
{
	snprintf(out, len, "%.*s", (int)(strlen(rel) - 5), rel);
}

static json_t *load_expected(const char *path, char *why, size_t whylen)
{
	size_t len, elen;
	char *text = read_whole(path, &len), *esc;
	json_error_t jerr;
	json_t *j;

	if (!text) {
		snprintf(why, whylen, "cannot read %s: %s", path, strerror(errno));
		return NULL;
	}
	esc = escape_json_keys(text, len, &elen);
	free(text);
	if (!esc) {
		snprintf(why, whylen, "out of memory");
		return NULL;
	}
	j = json_loadb(esc, elen, JSON_ALLOW_NUL, &jerr);
	free(esc);
	if (!j)
		snprintf(why, whylen, "cannot load %s: line %d: %s", path, jerr.line, jerr.text);
	return j;
}

static void run_valid(struct suite *s, const char *rel)
{
	char name[512], why[512];
	char *path = join(s->dir, rel), *jpath = NULL, *text = NULL;
	struct toml_error err;
	struct toml_value *root = NULL;
	json_t *exp = NULL, *act = NULL;
	struct cmp c = { "", "" };
	size_t len;

	case_name(rel, name, sizeof(name));
	if (!path || !(jpath = strdup(path))) {
		report(s, name, "out of memory");
		goto out;
	}
	strcpy(jpath + strlen(jpath) - 5, ".json");
	text = read_whole(path, &len);
	if (!text) {
		report(s, name, "cannot read %s: %s", path, strerror(errno));
		goto out;
	}
	root = toml_parse(text, len, &err);
	if (!root) {
		report(s, name, "rejected at line %d, column %d: %s", err.line, err.column, err.msg);
		goto out;
	}
	exp = load_expected(jpath, why, sizeof(why));
	if (!exp) {
		report(s, name, "%s", why);
		goto out;
	}
	act = toml_json_encode(root, TOML_JSON_ESCAPE_KEYS);
	if (!act) {
		report(s, name, "cannot encode as JSON");
		goto out;
	}
	if (!same(exp, act, &c)) {
		report(s, name, "at %s: %s", c.path[0] ? c.path : "top level", c.why);
		goto out;
	}
	s->passed++;
out:
	json_decref(exp);
	json_decref(act);
	toml_free(root);
	free(text);
	free(jpath);
	free(path);
}

static void run_invalid(struct suite *s, const char *rel)
{
	char name[512];
	char *path = join(s->dir, rel), *text = NULL;
	struct toml_error err;
	struct toml_value *root;
	size_t len;

	case_name(rel, name, sizeof(name));
	text = path ? read_whole(path, &len) : NULL;
	if (!text) {
		report(s, name, "cannot read %s", path ? path : rel);
	} else if ((root = toml_parse(text, len, &err))) {
		toml_free(root);
		report(s, name, "invalid document was accepted");
	} else if (err.line < 1 || err.column < 1 || !err.msg[0]) {
		report(s, name, "rejected without a position or message (%d:%d \"%s\")",
		       err.line, err.column, err.msg);
	} else {
		s->passed++;
	}
	free(text);
	free(path);
}

static bool has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

int main(int argc, char **argv)
{
	struct suite s = { 0 };
	char line[1024], *dir;
	FILE *list;

	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: %s LIST [DATADIR]\n", argv[0]);
		return 2;
	}
	list = fopen(argv[1], "r");
	if (!list) {
		fprintf(stderr, "toml-test-suite: %s: %s\n", argv[1], strerror(errno));
		return 2;
	}
	if (argc == 3) {
		dir = strdup(argv[2]);
	} else {
		char *slash;

		dir = strdup(argv[1]);
		slash = dir ? strrchr(dir, '/') : NULL;
		if (slash)
			*slash = '\0';
		else if (dir)
			strcpy(dir, ".");
	}
	if (!dir) {
		fclose(list);
		fprintf(stderr, "toml-test-suite: out of memory\n");
		return 2;
	}
	s.dir = dir;
	setvbuf(stdout, NULL, _IOLBF, 0);
	while (fgets(line, sizeof(line), list)) {
		line[strcspn(line, "\r\n")] = '\0';
		if (!has_suffix(line, ".toml"))
			continue;   /* the .json halves of valid cases */
		if (strncmp(line, "valid/", 6) == 0)
			run_valid(&s, line);
		else if (strncmp(line, "invalid/", 8) == 0)
			run_invalid(&s, line);
	}
	fclose(list);
	free(dir);
	printf("toml-test: %d passed, %d failed\n", s.passed, s.failed);
	return s.failed ? 1 : 0;
}
