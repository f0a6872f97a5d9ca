/* Parsing of numbers, sizes and decimals as users type them on a command line. */
#include <errno.h>
#include <string.h>
#include <nucleus/util.h>

bool str_has_prefix(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

const char *str_printable(const char *s, char *buf, size_t len)
{
	size_t i = 0;

	for (; s[i] && i + 4 < len; i++)
		buf[i] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
	if (s[i])
		strcpy(buf + i, "...");
	else
		buf[i] = '\0';
	return buf;
}

void strbuf_add(struct strbuf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		b->cap = 2 * (b->len + n + 1);
		b->s = xrealloc(b->s, b->cap);
	}
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
}

void strbuf_puts(struct strbuf *b, const char *s)
{
	strbuf_add(b, s, strlen(s));
}

bool str_has_suffix(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);

	return a >= b && memcmp(s + a - b, suffix, b) == 0;
}

int parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (!s || !*s)
		return -EINVAL;
	for (const char *p = s; *p; p++) {
		if (*p < '0' || *p > '9')
			return -EINVAL;
		if (v > (UINT64_MAX - (uint64_t)(*p - '0')) / 10)
			return -ERANGE;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	if (v < min || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

/* Decimal "I[.F]" with at most `digits` fraction digits, scaled by 10^digits. */
static int parse_scaled(const char *s, unsigned digits, uint64_t *out)
{
	uint64_t ip = 0, fp = 0, scale = 1;
	unsigned nf = 0;
	const char *p = s;
	bool any = false;

	for (unsigned i = 0; i < digits; i++)
		scale *= 10;
	for (; *p >= '0' && *p <= '9'; p++, any = true) {
		if (ip > (UINT64_MAX / scale - 9) / 10)
			return -ERANGE;
		ip = ip * 10 + (uint64_t)(*p - '0');
	}
	if (*p == '.') {
		p++;
		for (; *p >= '0' && *p <= '9'; p++, any = true) {
			if (nf == digits)
				return -EINVAL;
			fp = fp * 10 + (uint64_t)(*p - '0');
			nf++;
		}
	}
	if (!any || *p)
		return -EINVAL;
	for (; nf < digits; nf++)
		fp *= 10;
	*out = ip * scale + fp;
	return 0;
}

int parse_decimal_micro(const char *s, uint64_t *out)
{
	return parse_scaled(s, 6, out);
}

int parse_size(const char *s, uint64_t *out)
{
	static const struct { char c; unsigned shift; } units[] = {
		{ 'K', 10 }, { 'M', 20 }, { 'G', 30 }, { 'T', 40 },
	};
	char num[64];
	size_t n;
	unsigned shift = 0;
	uint64_t micro;
	int r;

	if (!s || !*s || strlen(s) >= sizeof(num))
		return -EINVAL;
	strcpy(num, s);
	n = strlen(num);
	/* Accept 64M, 64m, 64MB, 64MiB, 64k: the spellings docker and systemd take. */
	if (n > 2 && (str_has_suffix(num, "iB") || str_has_suffix(num, "ib")))
		num[n -= 2] = '\0';
	else if (n > 1 && (num[n - 1] == 'B' || num[n - 1] == 'b') &&
		 n > 2 && strchr("kKmMgGtT", num[n - 2]))
		num[--n] = '\0';
	for (size_t i = 0; i < ARRAY_SIZE(units); i++) {
		if (n > 1 && (num[n - 1] == units[i].c || num[n - 1] == units[i].c + 32)) {
			shift = units[i].shift;
			num[--n] = '\0';
			break;
		}
	}
	r = parse_scaled(num, 6, &micro);
	if (r < 0)
		return r;
	if (micro % 1000000 && !shift)
		return -EINVAL;         /* fractional bytes */
	/* micro * 2^shift / 1e6, checking overflow */
	if (shift && micro > (UINT64_MAX >> shift))
		return -ERANGE;
	*out = (micro << shift) / 1000000;
	return 0;
}

void format_size(uint64_t bytes, char *buf, size_t len)
{
	static const char units[] = "KMGT";
	int u = -1;

	while (bytes && bytes % 1024 == 0 && u < 3) {
		bytes /= 1024;
		u++;
	}
	if (u < 0)
		snprintf(buf, len, "%llu", (unsigned long long)bytes);
	else
		snprintf(buf, len, "%llu%c", (unsigned long long)bytes, units[u]);
}

int hex_encode(const uint8_t *in, size_t n, char *out, size_t outlen)
{
	static const char digits[] = "0123456789abcdef";

	if (outlen < 2 * n + 1)
		return -ENOSPC;
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * n] = '\0';
	return 0;
}

bool is_hex_string(const char *s, size_t len)
{
	if (strlen(s) != len)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f') ||
		      (s[i] >= 'A' && s[i] <= 'F')))
			return false;
	return true;
}
