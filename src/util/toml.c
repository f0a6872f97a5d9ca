/* TOML 1.0.0 parser: text -> tree of struct toml_value.
 *
 * A single recursive-descent pass over the buffer. Nothing is global: all
 * state lives in struct parser, so documents can be parsed concurrently.
 *
 * Nesting (arrays, inline tables, table paths) is capped at TOML_MAX_DEPTH:
 * the parser recurses on arrays and inline tables, and toml_free() and any
 * consumer walking the tree recurse on depth, so hostile input must not be
 * able to make the tree deep enough to exhaust the stack.
 *
 * Plain malloc/realloc/free on purpose: the parser stays independent of the
 * rest of util, and a parser fed untrusted input should report "out of
 * memory" to its caller rather than decide for it how to die. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE     /* newlocale(), strtod_l() */
#endif
#include <errno.h>
#include <limits.h>
#include <locale.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nucleus/util.h"

#define TOML_MAX_DEPTH 128

/* How a table or array came to exist. TOML's redefinition rules depend on
 * it, not on the contents. */
enum {
	TF_IMPLICIT = 1u << 0,  /* parent created by a [a.b] header: [a] may still come */
	TF_HEADER   = 1u << 1,  /* defined by [header] or as a [[header]] element */
	TF_DOTTED   = 1u << 2,  /* created by a dotted key: a.b = 1 */
	TF_INLINE   = 1u << 3,  /* inline table: immutable once written */
	AF_AOT      = 1u << 4,  /* array created by [[header]]; only these grow */
};

/* Index of every (table, key) pair seen so far, so that duplicate checks
 * stay O(1) even for tables with many thousands of keys. Lives only for
 * the parse; toml_get() on the finished tree scans linearly. */
struct slot {
	struct toml_value *table;       /* NULL: empty slot */
	size_t idx;                     /* into table->u.table.items */
	uint64_t hash;                  /* saves touching the key on probes */
};

struct key_index {
	struct slot *slots;
	size_t cap, used;               /* cap is 0 or a power of two */
};

struct keypart {
	char *s;
	size_t len;
	int line, col;
};

struct key {
	struct keypart *parts;
	size_t n, cap;
};

struct buf {
	char *p;
	size_t len, cap;
};

struct parser {
	const char *s;
	size_t len, pos;
	int line, col;                  /* of s[pos], 1-based, in characters */
	struct toml_error *err;
	bool failed;
	struct toml_value *root;
	struct toml_value *section;     /* table that key/value lines go into */
	int section_depth;
	struct key_index index;
	locale_t c_locale;              /* created on the first float */
	char what[32];                  /* scratch for describe() */
};

/* ---- errors --------------------------------------------------------- */

/* Record the first error only: later ones are usually consequences. */
__attribute__((format(printf, 4, 5)))
static void set_error(struct parser *p, int line, int col, const char *fmt, ...)
{
	va_list ap;

	if (p->failed)
		return;
	p->failed = true;
	if (!p->err)
		return;
	p->err->line = line;
	p->err->column = col;
	va_start(ap, fmt);
	vsnprintf(p->err->msg, sizeof(p->err->msg), fmt, ap);
	va_end(ap);
}

/* Both evaluate to -1. Macros rather than functions so that the -1 is
 * visible at the call site: static analysers do not look into variadic
 * functions and would otherwise assume a failed step could succeed. */
#define fail_at(p, line, col, ...) ({ set_error((p), (line), (col), __VA_ARGS__); -1; })
#define fail(p, ...) fail_at((p), (p)->line, (p)->col, __VA_ARGS__)

static int fail_oom(struct parser *p)
{
	return fail(p, "out of memory");
}

/* ---- reading the buffer --------------------------------------------- */

static int peek_at(const struct parser *p, size_t off)
{
	return off < p->len - p->pos ? (unsigned char)p->s[p->pos + off] : -1;
}

static int peek(const struct parser *p)
{
	return peek_at(p, 0);
}

/* All position bookkeeping happens here, so line:column are right no
 * matter which path consumed the bytes. Columns count characters, not
 * bytes: UTF-8 continuation bytes do not advance them. */
static void advance(struct parser *p, size_t n)
{
	while (n-- && p->pos < p->len) {
		unsigned char c = (unsigned char)p->s[p->pos++];

		if (c == '\n') {
			p->line++;
			p->col = 1;
		} else if ((c & 0xC0) != 0x80) {
			p->col++;
		}
	}
}

static bool is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static bool is_alpha(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_ws(int c)
{
	return c == ' ' || c == '\t';
}

/* Control characters TOML forbids in comments and strings; tab is fine. */
static bool is_control(int c)
{
	return (c >= 0 && c < 0x20 && c != '\t') || c == 0x7F;
}

static bool is_bare_key_char(int c)
{
	return is_alpha(c) || is_digit(c) || c == '_' || c == '-';
}

static bool digits_at(const struct parser *p, size_t off, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!is_digit(peek_at(p, off + i)))
			return false;
	return true;
}

static int number_at(const struct parser *p, size_t off, size_t n)
{
	int v = 0;

	for (size_t i = 0; i < n; i++)
		v = v * 10 + (peek_at(p, off + i) - '0');
	return v;
}

/* Decode the (already validated) UTF-8 character at off, for messages. */
static uint32_t char_at(const struct parser *p, size_t off)
{
	int c = peek_at(p, off);
	int extra = c >= 0xF0 ? 3 : c >= 0xE0 ? 2 : c >= 0xC0 ? 1 : 0;
	uint32_t cp = extra ? (uint32_t)c & (0x3Fu >> extra) : (uint32_t)c;

	for (int i = 1; i <= extra; i++)
		cp = cp << 6 | ((uint32_t)peek_at(p, off + (size_t)i) & 0x3F);
	return cp;
}

/* Human-readable name of the character at off, for error messages. */
static const char *describe_at(struct parser *p, size_t off)
{
	int c = peek_at(p, off);

	if (c < 0)
		return "end of input";
	if (c == '\n')
		return "newline";
	if (c == '\r')
		return "carriage return";
	if (c >= 0x80 || is_control(c))
		snprintf(p->what, sizeof(p->what), "U+%04X", (unsigned)char_at(p, off));
	else
		snprintf(p->what, sizeof(p->what), "'%c'", c);
	return p->what;
}

static const char *describe(struct parser *p)
{
	return describe_at(p, 0);
}

/* Render a key for an error message: bounded, no control characters, cut
 * at a character boundary so the message itself stays valid UTF-8. */
static const char *key_for_msg(const char *k, size_t n, char out[48])
{
	const size_t max = 40;
	bool cut = n > max;
	size_t o = 0;

	if (cut) {
		n = max;
		while (n > 0 && ((unsigned char)k[n] & 0xC0) == 0x80)
			n--;
	}
	for (size_t i = 0; i < n; i++)
		out[o++] = is_control((unsigned char)k[i]) ? '?' : k[i];
	strcpy(out + o, cut ? "..." : "");
	return out;
}

/* ---- whitespace, comments, newlines ---------------------------------- */

static void skip_ws(struct parser *p)
{
	while (is_ws(peek(p)))
		advance(p, 1);
}

static int skip_comment(struct parser *p)
{
	if (peek(p) != '#')
		return 0;
	advance(p, 1);
	for (;;) {
		int c = peek(p);

		if (c < 0 || c == '\n' || (c == '\r' && peek_at(p, 1) == '\n'))
			return 0;
		if (is_control(c))
			return fail(p, "%s is not allowed in a comment", describe(p));
		advance(p, 1);
	}
}

/* 1 if a newline was consumed, 0 if there is none, -1 on a bare CR. */
static int eat_newline(struct parser *p)
{
	int c = peek(p);

	if (c == '\n') {
		advance(p, 1);
		return 1;
	}
	if (c == '\r') {
		if (peek_at(p, 1) == '\n') {
			advance(p, 2);
			return 1;
		}
		return fail(p, "carriage return not followed by a line feed");
	}
	return 0;
}

/* Whitespace, comments and newlines: between lines and inside arrays. */
static int skip_blank(struct parser *p)
{
	for (;;) {
		int r;

		skip_ws(p);
		if (skip_comment(p) < 0)
			return -1;
		r = eat_newline(p);
		if (r <= 0)
			return r;
	}
}

/* A header or key/value must be alone on its line, comment aside. */
static int end_of_line(struct parser *p)
{
	int r;

	skip_ws(p);
	if (skip_comment(p) < 0)
		return -1;
	if (peek(p) < 0)
		return 0;
	r = eat_newline(p);
	if (r < 0)
		return -1;
	if (r == 0)
		return fail(p, "expected a newline, found %s", describe(p));
	return 0;
}

/* ---- growable byte buffer ---------------------------------------------- */

static int buf_add(struct parser *p, struct buf *b, const void *data, size_t n)
{
	if (b->cap - b->len <= n) {
		size_t cap = b->cap ? b->cap : 32;
		char *np;

		while (cap - b->len <= n)
			cap *= 2;
		np = realloc(b->p, cap);
		if (!np)
			return fail_oom(p);
		b->p = np;
		b->cap = cap;
	}
	memcpy(b->p + b->len, data, n);
	b->len += n;
	b->p[b->len] = '\0';
	return 0;
}

/* Empty strings still get a buffer: consumers may rely on a non-NULL ptr. */
static int buf_finish(struct parser *p, struct buf *b)
{
	return b->p ? 0 : buf_add(p, b, "", 0);
}

/* ---- values and tables ------------------------------------------------ */

static struct toml_value *new_value(struct parser *p, enum toml_type type, int line, int col)
{
	struct toml_value *v = calloc(1, sizeof(*v));

	if (!v) {
		fail_oom(p);
		return NULL;
	}
	v->type = type;
	v->line = line;
	v->column = col;
	return v;
}

void toml_free(struct toml_value *v)
{
	if (!v)
		return;
	switch (v->type) {
	case TOML_STRING:
		free(v->u.str.ptr);
		break;
	case TOML_ARRAY:
		for (size_t i = 0; i < v->u.array.len; i++)
			toml_free(v->u.array.items[i]);
		free(v->u.array.items);
		break;
	case TOML_TABLE:
		for (size_t i = 0; i < v->u.table.len; i++) {
			free(v->u.table.items[i].key);
			toml_free(v->u.table.items[i].value);
		}
		free(v->u.table.items);
		break;
	default:
		break;
	}
	free(v);
}

static int array_push(struct parser *p, struct toml_value *a, struct toml_value *item)
{
	if (a->u.array.len == a->u.array.cap) {
		size_t cap = a->u.array.cap ? a->u.array.cap * 2 : 4;
		struct toml_value **items = realloc(a->u.array.items, cap * sizeof(*items));

		if (!items)
			return fail_oom(p);
		a->u.array.items = items;
		a->u.array.cap = cap;
	}
	a->u.array.items[a->u.array.len++] = item;
	return 0;
}

static uint64_t key_hash(const struct toml_value *t, const char *k, size_t n)
{
	/* FNV-1a, seeded with the table's address so equal keys in different
	 * tables spread out. */
	uint64_t h = 0xcbf29ce484222325ULL ^ ((uint64_t)(uintptr_t)t * 0x9E3779B97F4A7C15ULL);

	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)k[i];
		h *= 0x100000001b3ULL;
	}
	/* FNV's low bits are weak and the index masks by them: mix (the
	 * MurmurHash3 finaliser). */
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	return h ^ (h >> 33);
}

static void index_place(struct key_index *ix, const struct slot *s)
{
	size_t mask = ix->cap - 1;
	size_t i = s->hash & mask;

	while (ix->slots[i].table)
		i = (i + 1) & mask;
	ix->slots[i] = *s;
}

static int index_grow(struct parser *p)
{
	struct key_index *ix = &p->index;
	struct key_index nix = { .cap = ix->cap ? ix->cap * 2 : 64, .used = ix->used };

	nix.slots = calloc(nix.cap, sizeof(*nix.slots));
	if (!nix.slots)
		return fail_oom(p);
	for (size_t i = 0; i < ix->cap; i++)
		if (ix->slots[i].table)
			index_place(&nix, &ix->slots[i]);
	free(ix->slots);
	*ix = nix;
	return 0;
}

/* The returned pointer is only valid until the table grows. */
static struct toml_keyval *toml_table_find(struct parser *p, struct toml_value *t,
					   const char *k, size_t n)
{
	struct key_index *ix = &p->index;
	uint64_t h;
	size_t mask, i;

	if (!ix->cap)
		return NULL;
	h = key_hash(t, k, n);
	mask = ix->cap - 1;
	for (i = h & mask; ix->slots[i].table; i = (i + 1) & mask) {
		struct toml_keyval *kv;

		if (ix->slots[i].table != t || ix->slots[i].hash != h)
			continue;
		kv = &t->u.table.items[ix->slots[i].idx];
		if (kv->key_len == n && memcmp(kv->key, k, n) == 0)
			return kv;
	}
	return NULL;
}

/* Append key = v to table t (the caller has checked the key is new).
 * On failure v still belongs to the caller. */
static int toml_table_add(struct parser *p, struct toml_value *t,
			  const struct keypart *kp, struct toml_value *v)
{
	struct toml_keyval *kv;
	char *key;

	if ((p->index.used + 1) * 2 > p->index.cap && index_grow(p) < 0)
		return -1;
	if (t->u.table.len == t->u.table.cap) {
		size_t cap = t->u.table.cap ? t->u.table.cap * 2 : 4;
		struct toml_keyval *items = realloc(t->u.table.items, cap * sizeof(*items));

		if (!items)
			return fail_oom(p);
		t->u.table.items = items;
		t->u.table.cap = cap;
	}
	key = malloc(kp->len + 1);
	if (!key)
		return fail_oom(p);
	memcpy(key, kp->s, kp->len);
	key[kp->len] = '\0';

	kv = &t->u.table.items[t->u.table.len];
	kv->key = key;
	kv->key_len = kp->len;
	kv->value = v;
	kv->line = kp->line;
	kv->column = kp->col;
	index_place(&p->index, &(struct slot){ t, t->u.table.len, key_hash(t, key, kp->len) });
	p->index.used++;
	t->u.table.len++;
	return 0;
}

/* Create an empty table under t at key kp. */
static struct toml_value *add_table(struct parser *p, struct toml_value *t,
				    const struct keypart *kp, unsigned flags)
{
	struct toml_value *child = new_value(p, TOML_TABLE, kp->line, kp->col);

	if (!child)
		return NULL;
	child->flags = flags;
	if (toml_table_add(p, t, kp, child) < 0) {
		toml_free(child);
		return NULL;
	}
	return child;
}

/* What an existing value is, for "cannot redefine" messages. */
static const char *kind_of(const struct toml_value *v)
{
	switch (v->type) {
	case TOML_TABLE:
		if (v->flags & TF_INLINE)
			return "an inline table";
		if (v->flags & TF_HEADER)
			return "a table defined by a [header]";
		if (v->flags & TF_DOTTED)
			return "a table defined by dotted keys";
		return "a table";
	case TOML_ARRAY:
		return v->flags & AF_AOT ? "an array of tables" : "an array";
	case TOML_STRING: return "a string";
	case TOML_INTEGER: return "an integer";
	case TOML_FLOAT: return "a float";
	case TOML_BOOL: return "a boolean";
	default: return "a date/time";
	}
}

static int check_depth(struct parser *p, int depth, int line, int col)
{
	if (depth > TOML_MAX_DEPTH)
		return fail_at(p, line, col, "nesting deeper than %d levels", TOML_MAX_DEPTH);
	return 0;
}

/* ---- strings ----------------------------------------------------------- */

static int hex_value(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static size_t utf8_encode(uint32_t cp, char out[4])
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xC0 | cp >> 6);
		out[1] = (char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xE0 | cp >> 12);
		out[1] = (char)(0x80 | (cp >> 6 & 0x3F));
		out[2] = (char)(0x80 | (cp & 0x3F));
		return 3;
	}
	out[0] = (char)(0xF0 | cp >> 18);
	out[1] = (char)(0x80 | (cp >> 12 & 0x3F));
	out[2] = (char)(0x80 | (cp >> 6 & 0x3F));
	out[3] = (char)(0x80 | (cp & 0x3F));
	return 4;
}

/* At a backslash: \uXXXX or \UXXXXXXXX. */
static int parse_unicode_escape(struct parser *p, struct buf *b, int ndigits)
{
	uint32_t cp = 0;
	char u[4];

	for (int i = 0; i < ndigits; i++) {
		int h = hex_value(peek_at(p, 2 + (size_t)i));

		if (h < 0)
			return fail(p, "\\%c escape needs %d hex digits", peek_at(p, 1), ndigits);
		cp = cp << 4 | (uint32_t)h;
	}
	/* Only Unicode scalar values: strings must stay valid UTF-8. */
	if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
		return fail(p, "escape \\%c%0*X is not a Unicode scalar value",
			    peek_at(p, 1), ndigits, (unsigned)cp);
	advance(p, 2 + (size_t)ndigits);
	return buf_add(p, b, u, utf8_encode(cp, u));
}

static int parse_escape(struct parser *p, struct buf *b)
{
	int c = peek_at(p, 1);
	const char *rep;

	switch (c) {
	case 'b': rep = "\b"; break;
	case 't': rep = "\t"; break;
	case 'n': rep = "\n"; break;
	case 'f': rep = "\f"; break;
	case 'r': rep = "\r"; break;
	case '"': rep = "\""; break;
	case '\\': rep = "\\"; break;
	case 'u': return parse_unicode_escape(p, b, 4);
	case 'U': return parse_unicode_escape(p, b, 8);
	default:
		return fail(p, "invalid escape sequence: backslash followed by %s",
			    describe_at(p, 1));
	}
	advance(p, 2);
	return buf_add(p, b, rep, 1);
}

/* In a multi-line basic string, a backslash that ends its line (trailing
 * whitespace allowed) swallows all whitespace and newlines after it. */
static bool line_ending_backslash(const struct parser *p)
{
	size_t i = 1;

	while (is_ws(peek_at(p, i)))
		i++;
	return peek_at(p, i) == '\n' || (peek_at(p, i) == '\r' && peek_at(p, i + 1) == '\n');
}

static int skip_line_ending_backslash(struct parser *p)
{
	advance(p, 1);
	for (;;) {
		int r;

		skip_ws(p);
		r = eat_newline(p);
		if (r <= 0)
			return r;
	}
}

/* The closing delimiter of a multi-line string may be preceded by one or
 * two quotes that belong to the content: up to five in a row close it. */
static int close_multiline(struct parser *p, struct buf *b, int quote, bool *done)
{
	size_t n = 0;
	char q[2] = { (char)quote, (char)quote };

	while (peek_at(p, n) == quote)
		n++;
	if (n < 3) {
		*done = false;
	} else if (n > 5) {
		return fail(p, "too many quotes at the end of a multi-line string");
	} else {
		*done = true;
		n -= 3;
		advance(p, 3);
	}
	if (buf_add(p, b, q, n) < 0)
		return -1;
	advance(p, n);
	return 0;
}

/* One string of any of the four kinds; quote is '"' (basic, with escapes)
 * or '\'' (literal). */
static int parse_string_body(struct parser *p, int quote, bool multiline, struct buf *b)
{
	int line = p->line, col = p->col;

	advance(p, multiline ? 3 : 1);
	/* A newline right after the opening delimiter is not content. */
	if (multiline && eat_newline(p) < 0)
		return -1;
	for (;;) {
		int c = peek(p);
		size_t n;

		if (c < 0)
			return fail_at(p, line, col, "unterminated string");
		if (c == quote) {
			bool done = false;

			if (!multiline) {
				advance(p, 1);
				return 0;
			}
			if (close_multiline(p, b, quote, &done) < 0)
				return -1;
			if (done)
				return 0;
			continue;
		}
		if (c == '\\' && quote == '"') {
			int r = multiline && line_ending_backslash(p)
				? skip_line_ending_backslash(p) : parse_escape(p, b);
			if (r < 0)
				return -1;
			continue;
		}
		if (c == '\n' || c == '\r') {
			if (!multiline)
				return fail(p, "newline in a single-line string");
			if (eat_newline(p) < 0)
				return -1;
			/* CRLF becomes LF: a value should not depend on how
			 * the file's line endings were written. */
			if (buf_add(p, b, "\n", 1) < 0)
				return -1;
			continue;
		}
		if (is_control(c))
			return fail(p, "%s is not allowed in a string", describe(p));
		/* Copy a run of ordinary characters in one go. */
		for (n = 1; ; n++) {
			int d = peek_at(p, n);

			if (d < 0 || d == quote || d == '\\' || is_control(d))
				break;
		}
		if (buf_add(p, b, p->s + p->pos, n) < 0)
			return -1;
		advance(p, n);
	}
}

static struct toml_value *parse_string(struct parser *p, int line, int col)
{
	int quote = peek(p);
	bool multiline = peek_at(p, 1) == quote && peek_at(p, 2) == quote;
	struct buf b = { 0 };
	struct toml_value *v;

	if (parse_string_body(p, quote, multiline, &b) < 0 || buf_finish(p, &b) < 0)
		goto fail;
	v = new_value(p, TOML_STRING, line, col);
	if (!v)
		goto fail;
	v->u.str.ptr = b.p;
	v->u.str.len = b.len;
	return v;
fail:
	free(b.p);
	return NULL;
}

/* ---- keys -------------------------------------------------------------- */

static void key_free(struct key *k)
{
	for (size_t i = 0; i < k->n; i++)
		free(k->parts[i].s);
	free(k->parts);
}

static int parse_simple_key(struct parser *p, struct keypart *kp)
{
	struct buf b = { 0 };
	int c = peek(p);

	kp->line = p->line;
	kp->col = p->col;
	if (c == '"' || c == '\'') {
		if (peek_at(p, 1) == c && peek_at(p, 2) == c)
			return fail(p, "a multi-line string cannot be a key");
		if (parse_string_body(p, c, false, &b) < 0)
			goto fail;
	} else {
		size_t n = 0;

		while (is_bare_key_char(peek_at(p, n)))
			n++;
		if (n == 0)
			return fail(p, "expected a key, found %s", describe(p));
		if (buf_add(p, &b, p->s + p->pos, n) < 0)
			goto fail;
		advance(p, n);
	}
	if (buf_finish(p, &b) < 0)
		goto fail;
	kp->s = b.p;
	kp->len = b.len;
	return 0;
fail:
	free(b.p);
	return -1;
}

/* key ( ws '.' ws key )*, with surrounding whitespace skipped. */
static int parse_key(struct parser *p, struct key *k)
{
	for (;;) {
		skip_ws(p);
		if (k->n == TOML_MAX_DEPTH)
			return fail(p, "key has more than %d parts", TOML_MAX_DEPTH);
		if (k->n == k->cap) {
			size_t cap = k->cap ? k->cap * 2 : 4;
			struct keypart *parts = realloc(k->parts, cap * sizeof(*parts));

			if (!parts)
				return fail_oom(p);
			k->parts = parts;
			k->cap = cap;
		}
		if (parse_simple_key(p, &k->parts[k->n]) < 0)
			return -1;
		k->n++;
		skip_ws(p);
		if (peek(p) != '.')
			return 0;
		advance(p, 1);
	}
}

/* ---- numbers ----------------------------------------------------------- */

static int digit_value(int c)
{
	if (is_digit(c))
		return c - '0';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'Z')
		return c - 'A' + 10;
	return 99;
}

static bool is_number_char(int c)
{
	return is_alpha(c) || is_digit(c) || c == '_' || c == '.' || c == '+' || c == '-';
}

/* Scan digits of base starting at t[*i]; an underscore must sit between
 * two digits. False on a misplaced underscore; *count gets the digits. */
static bool scan_digits(const char *t, size_t n, size_t *i, int base, size_t *count)
{
	size_t j = *i;
	bool prev_digit = false;

	*count = 0;
	while (j < n) {
		if (digit_value((unsigned char)t[j]) < base) {
			prev_digit = true;
			(*count)++;
		} else if (t[j] == '_') {
			if (!prev_digit || j + 1 >= n || digit_value((unsigned char)t[j + 1]) >= base)
				return false;
			prev_digit = false;
		} else {
			break;
		}
		j++;
	}
	*i = j;
	return true;
}

/* Magnitude of the digits in t[a, b) (underscores skipped), at most limit. */
static bool accumulate(const char *t, size_t a, size_t b, int base, uint64_t limit, uint64_t *out)
{
	uint64_t v = 0;

	for (size_t i = a; i < b; i++) {
		uint64_t d;

		if (t[i] == '_')
			continue;
		d = (uint64_t)digit_value((unsigned char)t[i]);
		if (v > (limit - d) / (uint64_t)base)
			return false;
		v = v * (uint64_t)base + d;
	}
	*out = v;
	return true;
}

static struct toml_value *make_integer(struct parser *p, int64_t i, int line, int col)
{
	struct toml_value *v = new_value(p, TOML_INTEGER, line, col);

	if (v)
		v->u.integer = i;
	return v;
}

static struct toml_value *make_float(struct parser *p, double d, int line, int col)
{
	struct toml_value *v = new_value(p, TOML_FLOAT, line, col);

	if (v)
		v->u.fp = d;
	return v;
}

/* 0x / 0o / 0b integers: unsigned in the grammar, int64 in range. */
static struct toml_value *parse_prefixed_integer(struct parser *p, const char *t, size_t n,
						 int line, int col)
{
	int base = t[1] == 'x' ? 16 : t[1] == 'o' ? 8 : 2;
	size_t i = 2, count;
	uint64_t u;

	if (!scan_digits(t, n, &i, base, &count) || count == 0 || i != n) {
		fail(p, "invalid base-%d integer", base);
		return NULL;
	}
	if (!accumulate(t, 2, n, base, INT64_MAX, &u)) {
		fail(p, "integer does not fit in 64 bits");
		return NULL;
	}
	advance(p, n);
	return make_integer(p, (int64_t)u, line, col);
}

static struct toml_value *convert_float(struct parser *p, const char *t, size_t n,
					int line, int col)
{
	char *tmp = malloc(n + 1), *end;
	size_t m = 0;
	double d;
	int saved_errno;
	bool ok, range;

	if (!tmp) {
		fail_oom(p);
		return NULL;
	}
	for (size_t i = 0; i < n; i++)
		if (t[i] != '_')
			tmp[m++] = t[i];
	tmp[m] = '\0';
	/* The process locale might use ',' as decimal point; TOML does not. */
	if (!p->c_locale) {
		p->c_locale = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
		if (!p->c_locale) {
			free(tmp);
			fail_oom(p);
			return NULL;
		}
	}
	saved_errno = errno;
	errno = 0;
	d = strtod_l(tmp, &end, p->c_locale);
	ok = end == tmp + m;
	range = errno != ERANGE || !isinf(d);
	errno = saved_errno;
	free(tmp);
	if (!ok || !range) {
		fail(p, ok ? "float out of range" : "invalid float");
		return NULL;
	}
	advance(p, n);
	return make_float(p, d, line, col);
}

static struct toml_value *parse_number(struct parser *p, int line, int col)
{
	const char *t = p->s + p->pos;
	size_t n = 0, i = 0, start, count;
	bool neg = false, is_float = false;
	uint64_t u;

	while (is_number_char(peek_at(p, n)))
		n++;
	if (n > 0 && (t[0] == '+' || t[0] == '-')) {
		neg = t[0] == '-';
		i = 1;
	}
	if (n - i == 3 && (memcmp(t + i, "inf", 3) == 0 || memcmp(t + i, "nan", 3) == 0)) {
		double d = t[i] == 'i' ? INFINITY : NAN;

		advance(p, n);
		return make_float(p, neg ? -d : d, line, col);
	}
	if (n - i >= 2 && t[i] == '0' && (t[i + 1] == 'x' || t[i + 1] == 'o' || t[i + 1] == 'b')) {
		if (i) {
			fail(p, "hexadecimal, octal and binary integers cannot have a sign");
			return NULL;
		}
		return parse_prefixed_integer(p, t, n, line, col);
	}

	start = i;
	if (!scan_digits(t, n, &i, 10, &count) || count == 0)
		goto invalid;
	if (count > 1 && t[start] == '0') {
		fail(p, "leading zeros are not allowed");
		return NULL;
	}
	if (i < n && t[i] == '.') {
		i++;
		if (!scan_digits(t, n, &i, 10, &count) || count == 0)
			goto invalid;
		is_float = true;
	}
	if (i < n && (t[i] == 'e' || t[i] == 'E')) {
		i++;
		if (i < n && (t[i] == '+' || t[i] == '-'))
			i++;
		if (!scan_digits(t, n, &i, 10, &count) || count == 0)
			goto invalid;
		is_float = true;
	}
	if (i != n)
		goto invalid;
	if (is_float)
		return convert_float(p, t, n, line, col);

	if (!accumulate(t, start, n, 10, neg ? (uint64_t)INT64_MAX + 1 : INT64_MAX, &u)) {
		fail(p, "integer does not fit in 64 bits");
		return NULL;
	}
	advance(p, n);
	/* -(2^63) has no positive int64 counterpart: negate in unsigned. */
	return make_integer(p, neg ? (int64_t)(0 - u) : (int64_t)u, line, col);
invalid:
	fail(p, "invalid number");
	return NULL;
}

/* ---- dates and times --------------------------------------------------- */

static int days_in_month(int year, int month)
{
	static const int days[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;

	return month == 2 && leap ? 29 : days[month - 1];
}

/* YYYY-MM-DD at the current position. */
static int parse_date(struct parser *p, struct toml_datetime *dt)
{
	if (!digits_at(p, 5, 2) || peek_at(p, 7) != '-' || !digits_at(p, 8, 2))
		return fail(p, "invalid date, expected YYYY-MM-DD");
	dt->year = number_at(p, 0, 4);
	dt->month = number_at(p, 5, 2);
	dt->day = number_at(p, 8, 2);
	if (dt->month < 1 || dt->month > 12)
		return fail(p, "month %02d out of range", dt->month);
	if (dt->day < 1 || dt->day > days_in_month(dt->year, dt->month))
		return fail(p, "day %02d out of range for %04d-%02d", dt->day, dt->year, dt->month);
	return 0;
}

/* HH:MM:SS[.fraction] at offset off; *off is moved past it. Seconds are
 * mandatory in TOML 1.0; 60 is a leap second. */
static int parse_time(struct parser *p, size_t *off, struct toml_datetime *dt)
{
	size_t o = *off, nd = 0;

	if (!digits_at(p, o, 2) || peek_at(p, o + 2) != ':' || !digits_at(p, o + 3, 2) ||
	    peek_at(p, o + 5) != ':' || !digits_at(p, o + 6, 2))
		return fail(p, "invalid time, expected HH:MM:SS");
	dt->hour = number_at(p, o, 2);
	dt->minute = number_at(p, o + 3, 2);
	dt->second = number_at(p, o + 6, 2);
	if (dt->hour > 23 || dt->minute > 59 || dt->second > 60)
		return fail(p, "time %02d:%02d:%02d out of range", dt->hour, dt->minute, dt->second);
	o += 8;
	if (peek_at(p, o) == '.') {
		o++;
		while (digits_at(p, o + nd, 1))
			nd++;
		if (nd == 0)
			return fail(p, "expected digits after '.' in time");
		/* Keep nanoseconds; further digits are below our resolution. */
		for (size_t k = 0; k < 9; k++)
			dt->nanosecond = dt->nanosecond * 10 + (k < nd ? peek_at(p, o + k) - '0' : 0);
		dt->frac_digits = (int)nd;
		o += nd;
	}
	*off = o;
	return 0;
}

/* Z, or +HH:MM / -HH:MM. 0 if absent, 1 if parsed, -1 on error. */
static int parse_offset(struct parser *p, size_t *off, struct toml_datetime *dt)
{
	size_t o = *off;
	int c = peek_at(p, o), h, m;

	if (c == 'Z' || c == 'z') {
		dt->offset_z = true;
		*off = o + 1;
		return 1;
	}
	if (c != '+' && c != '-')
		return 0;
	if (!digits_at(p, o + 1, 2) || peek_at(p, o + 3) != ':' || !digits_at(p, o + 4, 2))
		return fail(p, "invalid UTC offset, expected Z or +HH:MM");
	h = number_at(p, o + 1, 2);
	m = number_at(p, o + 4, 2);
	if (h > 23 || m > 59)
		return fail(p, "UTC offset %c%02d:%02d out of range", c, h, m);
	dt->offset_minutes = (c == '-' ? -1 : 1) * (h * 60 + m);
	*off = o + 6;
	return 1;
}

static struct toml_value *parse_datetime(struct parser *p, int line, int col)
{
	struct toml_datetime dt = { 0 };
	enum toml_type type = TOML_TIME_LOCAL;
	struct toml_value *v;
	size_t off = 0;
	bool has_time = true;

	if (digits_at(p, 0, 4) && peek_at(p, 4) == '-') {
		int c = peek_at(p, 10);

		if (parse_date(p, &dt) < 0)
			return NULL;
		type = TOML_DATE_LOCAL;
		off = 10;
		/* A space separates date and time only if a time follows;
		 * otherwise it is just whitespace after a local date. */
		has_time = c == 'T' || c == 't' ||
			   (c == ' ' && digits_at(p, 11, 2) && peek_at(p, 13) == ':');
		if (has_time) {
			off = 11;
			type = TOML_DATETIME_LOCAL;
		}
	}
	if (has_time) {
		if (parse_time(p, &off, &dt) < 0)
			return NULL;
		if (type == TOML_DATETIME_LOCAL) {
			int r = parse_offset(p, &off, &dt);

			if (r < 0)
				return NULL;
			if (r > 0)
				type = TOML_DATETIME;
		}
	}
	v = new_value(p, type, line, col);
	if (!v)
		return NULL;
	v->u.dt = dt;
	advance(p, off);
	return v;
}

/* ---- compound values --------------------------------------------------- */

static struct toml_value *parse_value(struct parser *p, int depth);
static int parse_keyval(struct parser *p, struct toml_value *t, int depth);

static struct toml_value *parse_array(struct parser *p, int depth, int line, int col)
{
	struct toml_value *a;

	if (check_depth(p, depth, line, col) < 0)
		return NULL;
	a = new_value(p, TOML_ARRAY, line, col);
	if (!a)
		return NULL;
	advance(p, 1);
	for (;;) {
		struct toml_value *item;

		if (skip_blank(p) < 0)
			goto fail;
		if (peek(p) == ']')
			break;
		item = parse_value(p, depth + 1);
		if (!item)
			goto fail;
		if (array_push(p, a, item) < 0) {
			toml_free(item);
			goto fail;
		}
		if (skip_blank(p) < 0)
			goto fail;
		if (peek(p) == ',') {
			advance(p, 1);
			continue;
		}
		if (peek(p) == ']')
			break;
		fail(p, "expected ',' or ']' in array, found %s", describe(p));
		goto fail;
	}
	advance(p, 1);
	return a;
fail:
	toml_free(a);
	return NULL;
}

static struct toml_value *parse_inline_table(struct parser *p, int depth, int line, int col)
{
	struct toml_value *t;

	if (check_depth(p, depth, line, col) < 0)
		return NULL;
	t = new_value(p, TOML_TABLE, line, col);
	if (!t)
		return NULL;
	t->flags = TF_INLINE;
	advance(p, 1);
	skip_ws(p);
	if (peek(p) == '}') {
		advance(p, 1);
		return t;
	}
	for (;;) {
		int c;

		if (parse_keyval(p, t, depth) < 0)
			goto fail;
		skip_ws(p);
		c = peek(p);
		if (c == '}') {
			advance(p, 1);
			return t;
		}
		if (c == ',') {
			advance(p, 1);
			skip_ws(p);
			if (peek(p) == '}') {
				fail(p, "trailing comma in an inline table");
				goto fail;
			}
			continue;
		}
		if (c == '\n' || c == '\r' || c == '#')
			fail(p, "an inline table must be on a single line");
		else
			fail(p, "expected ',' or '}' in inline table, found %s", describe(p));
		goto fail;
	}
fail:
	toml_free(t);
	return NULL;
}

static struct toml_value *parse_bool(struct parser *p, int line, int col)
{
	bool val = peek(p) == 't';
	const char *word = val ? "true" : "false";
	size_t n = strlen(word);
	struct toml_value *v;

	if (p->len - p->pos < n || memcmp(p->s + p->pos, word, n) != 0) {
		fail(p, "expected a value, found %s", describe(p));
		return NULL;
	}
	v = new_value(p, TOML_BOOL, line, col);
	if (v) {
		v->u.boolean = val;
		advance(p, n);
	}
	return v;
}

/* depth: of the value about to be parsed (the root table is 0). */
static struct toml_value *parse_value(struct parser *p, int depth)
{
	int line = p->line, col = p->col;
	int c = peek(p);

	switch (c) {
	case '"':
	case '\'':
		return parse_string(p, line, col);
	case '[':
		return parse_array(p, depth, line, col);
	case '{':
		return parse_inline_table(p, depth, line, col);
	case 't':
	case 'f':
		return parse_bool(p, line, col);
	default:
		break;
	}
	if (is_digit(c) && ((digits_at(p, 0, 4) && peek_at(p, 4) == '-') ||
			    (digits_at(p, 0, 2) && peek_at(p, 2) == ':')))
		return parse_datetime(p, line, col);
	if (is_digit(c) || c == '+' || c == '-' || c == 'i' || c == 'n')
		return parse_number(p, line, col);
	fail(p, "expected a value, found %s", describe(p));
	return NULL;
}

/* ---- assigning keys ---------------------------------------------------- */

/* key = v relative to table t (at depth): the parts before the last are
 * tables that dotted keys may create or extend, but only tables that
 * dotted keys created (or implicit ones, which then count as created by
 * dotted keys): never a [table], an inline table or an array. */
static int assign_dotted(struct parser *p, struct toml_value *t, int depth,
			 const struct key *k, struct toml_value *v)
{
	const struct keypart *last = &k->parts[k->n - 1];
	char name[48];

	for (size_t i = 0; i + 1 < k->n; i++) {
		const struct keypart *kp = &k->parts[i];
		struct toml_keyval *kv = toml_table_find(p, t, kp->s, kp->len);
		struct toml_value *cv;

		if (check_depth(p, ++depth, kp->line, kp->col) < 0)
			return -1;
		if (!kv) {
			t = add_table(p, t, kp, TF_DOTTED);
			if (!t)
				return -1;
			continue;
		}
		cv = kv->value;
		if (cv->type != TOML_TABLE || !(cv->flags & (TF_IMPLICIT | TF_DOTTED)))
			return fail_at(p, kp->line, kp->col,
				       "cannot add keys to `%s` with a dotted key: it is %s",
				       key_for_msg(kp->s, kp->len, name), kind_of(cv));
		cv->flags = (cv->flags & ~TF_IMPLICIT) | TF_DOTTED;
		t = cv;
	}
	if (toml_table_find(p, t, last->s, last->len))
		return fail_at(p, last->line, last->col, "duplicate key `%s`",
			       key_for_msg(last->s, last->len, name));
	return toml_table_add(p, t, last, v);
}

/* key = value, into table t at depth. */
static int parse_keyval(struct parser *p, struct toml_value *t, int depth)
{
	struct key k = { 0 };
	struct toml_value *v = NULL;
	int r = -1;

	if (parse_key(p, &k) < 0)
		goto out;
	if (peek(p) != '=') {
		fail(p, "expected '=' after key, found %s", describe(p));
		goto out;
	}
	advance(p, 1);
	skip_ws(p);
	v = parse_value(p, depth + (int)k.n);
	if (!v)
		goto out;
	r = assign_dotted(p, t, depth, &k, v);
	if (r < 0)
		toml_free(v);
out:
	key_free(&k);
	return r;
}

/* ---- table headers ----------------------------------------------------- */

/* Walk all but the last part of a header path from the root, creating
 * missing tables as implicit. Existing tables of any origin can be walked
 * through (except inline ones, which are sealed); an array of tables
 * stands for its last element. Returns the parent of the last part. */
static struct toml_value *walk_header(struct parser *p, const struct key *k, int *depth)
{
	struct toml_value *t = p->root;
	int d = 0;
	char name[48];

	for (size_t i = 0; i + 1 < k->n; i++) {
		const struct keypart *kp = &k->parts[i];
		struct toml_keyval *kv = toml_table_find(p, t, kp->s, kp->len);
		struct toml_value *cv;

		if (check_depth(p, ++d, kp->line, kp->col) < 0)
			return NULL;
		if (!kv) {
			t = add_table(p, t, kp, TF_IMPLICIT);
			if (!t)
				return NULL;
			continue;
		}
		cv = kv->value;
		if (cv->type == TOML_TABLE && !(cv->flags & TF_INLINE)) {
			t = cv;
		} else if (cv->type == TOML_ARRAY && (cv->flags & AF_AOT)) {
			if (check_depth(p, ++d, kp->line, kp->col) < 0)
				return NULL;
			t = cv->u.array.items[cv->u.array.len - 1];
		} else {
			fail_at(p, kp->line, kp->col, "cannot add a table to `%s`: it is %s",
				key_for_msg(kp->s, kp->len, name), kind_of(cv));
			return NULL;
		}
	}
	*depth = d;
	return t;
}

/* [a.b.c]: defines the table once; an implicit one may be defined now. */
static int open_table(struct parser *p, const struct key *k)
{
	const struct keypart *last = &k->parts[k->n - 1];
	struct toml_keyval *kv;
	struct toml_value *t;
	char name[48];
	int depth;

	t = walk_header(p, k, &depth);
	if (!t || check_depth(p, ++depth, last->line, last->col) < 0)
		return -1;
	kv = toml_table_find(p, t, last->s, last->len);
	if (!kv) {
		t = add_table(p, t, last, TF_HEADER);
		if (!t)
			return -1;
	} else if (kv->value->type == TOML_TABLE && (kv->value->flags & TF_IMPLICIT)) {
		t = kv->value;
		t->flags = TF_HEADER;
	} else {
		return fail_at(p, last->line, last->col, "cannot define table `%s`: it is already %s",
			       key_for_msg(last->s, last->len, name), kind_of(kv->value));
	}
	p->section = t;
	p->section_depth = depth;
	return 0;
}

/* [[a.b.c]]: appends a table to an array of tables, creating it. */
static int open_array_table(struct parser *p, const struct key *k)
{
	const struct keypart *last = &k->parts[k->n - 1];
	struct toml_keyval *kv;
	struct toml_value *t, *arr, *elem;
	char name[48];
	int depth;

	t = walk_header(p, k, &depth);
	if (!t || check_depth(p, depth + 2, last->line, last->col) < 0)
		return -1;
	kv = toml_table_find(p, t, last->s, last->len);
	if (kv) {
		arr = kv->value;
		if (arr->type != TOML_ARRAY || !(arr->flags & AF_AOT))
			return fail_at(p, last->line, last->col,
				       "cannot define array of tables `%s`: it is already %s",
				       key_for_msg(last->s, last->len, name), kind_of(arr));
	} else {
		arr = new_value(p, TOML_ARRAY, last->line, last->col);
		if (!arr)
			return -1;
		arr->flags = AF_AOT;
		if (toml_table_add(p, t, last, arr) < 0) {
			toml_free(arr);
			return -1;
		}
	}
	elem = new_value(p, TOML_TABLE, last->line, last->col);
	if (!elem)
		return -1;
	elem->flags = TF_HEADER;
	if (array_push(p, arr, elem) < 0) {
		toml_free(elem);
		return -1;
	}
	p->section = elem;
	p->section_depth = depth + 2;
	return 0;
}

static int parse_header(struct parser *p)
{
	bool aot = peek_at(p, 1) == '[';
	struct key k = { 0 };
	int r = -1;

	advance(p, aot ? 2 : 1);
	if (parse_key(p, &k) < 0)
		goto out;
	if (peek(p) != ']' || (aot && peek_at(p, 1) != ']')) {
		fail(p, "expected '%s' to close the table header, found %s",
		     aot ? "]]" : "]", describe(p));
		goto out;
	}
	advance(p, aot ? 2 : 1);
	r = aot ? open_array_table(p, &k) : open_table(p, &k);
out:
	key_free(&k);
	return r;
}

/* ---- document ---------------------------------------------------------- */

/* Offset of the first byte that is not part of valid UTF-8, or n. Rejects
 * overlong forms, surrogates and code points above U+10FFFF. */
static size_t utf8_invalid_at(const unsigned char *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		unsigned char c = s[i];
		unsigned char lo = 0x80, hi = 0xBF;
		size_t extra;

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xC2 && c <= 0xDF) {
			extra = 1;
		} else if (c >= 0xE0 && c <= 0xEF) {
			extra = 2;
			if (c == 0xE0)
				lo = 0xA0;
			else if (c == 0xED)
				hi = 0x9F;
		} else if (c >= 0xF0 && c <= 0xF4) {
			extra = 3;
			if (c == 0xF0)
				lo = 0x90;
			else if (c == 0xF4)
				hi = 0x8F;
		} else {
			return i;
		}
		if (n - i <= extra || s[i + 1] < lo || s[i + 1] > hi)
			return i;
		for (size_t k = 2; k <= extra; k++)
			if ((s[i + k] & 0xC0) != 0x80)
				return i;
		i += extra + 1;
	}
	return n;
}

static int parse_document(struct parser *p)
{
	size_t bad = utf8_invalid_at((const unsigned char *)p->s, p->len);

	if (bad < p->len) {
		/* Report the position of the bad byte: walk up to it. */
		advance(p, bad);
		return fail(p, "invalid UTF-8");
	}
	/* A byte order mark is allowed at the very start only. */
	if (p->len >= 3 && memcmp(p->s, "\xEF\xBB\xBF", 3) == 0)
		p->pos = 3;
	for (;;) {
		if (skip_blank(p) < 0)
			return -1;
		if (peek(p) < 0)
			return 0;
		if (peek(p) == '[') {
			if (parse_header(p) < 0)
				return -1;
		} else if (parse_keyval(p, p->section, p->section_depth) < 0) {
			return -1;
		}
		if (end_of_line(p) < 0)
			return -1;
	}
}

struct toml_value *toml_parse(const char *text, size_t len, struct toml_error *err)
{
	struct parser p = {
		.s = text ? text : "",
		.len = text ? len : 0,
		.line = 1,
		.col = 1,
		.err = err,
	};
	int r = -1;

	if (err)
		memset(err, 0, sizeof(*err));
	/* line and column are ints: they must not be able to overflow. */
	if (len > INT_MAX) {
		fail_at(&p, 0, 0, "document too large");
		return NULL;
	}
	p.root = new_value(&p, TOML_TABLE, 1, 1);
	if (p.root) {
		p.section = p.root;
		r = parse_document(&p);
	}
	free(p.index.slots);
	if (p.c_locale)
		freelocale(p.c_locale);
	if (r < 0) {
		toml_free(p.root);
		return NULL;
	}
	return p.root;
}

const struct toml_value *toml_get(const struct toml_value *table, const char *key)
{
	size_t n;

	if (!table || !key || table->type != TOML_TABLE)
		return NULL;
	n = strlen(key);
	for (size_t i = 0; i < table->u.table.len; i++) {
		const struct toml_keyval *kv = &table->u.table.items[i];

		if (kv->key_len == n && memcmp(kv->key, key, n) == 0)
			return kv->value;
	}
	return NULL;
}

const char *toml_type_name(enum toml_type t)
{
	switch (t) {
	case TOML_STRING: return "string";
	case TOML_INTEGER: return "integer";
	case TOML_FLOAT: return "float";
	case TOML_BOOL: return "bool";
	case TOML_DATETIME: return "datetime";
	case TOML_DATETIME_LOCAL: return "datetime-local";
	case TOML_DATE_LOCAL: return "date-local";
	case TOML_TIME_LOCAL: return "time-local";
	case TOML_ARRAY: return "array";
	case TOML_TABLE: return "table";
	}
	return "unknown";
}
