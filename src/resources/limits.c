/* Parsing of limit flags as users type them. */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <nucleus/resources.h>

int io_limit_parse(const char *s, struct io_limit *out, struct nerr *err)
{
	_cleanup_free_ char *copy = xstrdup(s);
	char *save = NULL, *tok;
	unsigned long long maj, min;
	int used = 0, any = 0;

	memset(out, 0, sizeof(*out));
	tok = strtok_r(copy, " \t", &save);
	if (!tok || sscanf(tok, "%llu:%llu%n", &maj, &min, &used) != 2 || (size_t)used != strlen(tok) ||
	    maj > 0xfff || min > 0xfffff)
		return nerr_set(err, 0, "invalid --io-limit `%s`: expected \"MAJ:MIN riops=N wiops=N rbps=SIZE wbps=SIZE\"", s);
	out->major = (unsigned)maj;
	out->minor = (unsigned)min;
	while ((tok = strtok_r(NULL, " \t", &save))) {
		char *eq = strchr(tok, '=');
		uint64_t v;
		int r;

		if (!eq)
			return nerr_set(err, 0, "invalid --io-limit `%s`: `%s` is not KEY=VALUE", s, tok);
		*eq = '\0';
		if (!strcmp(tok, "riops") || !strcmp(tok, "wiops"))
			r = parse_u64(eq + 1, 1, UINT64_MAX, &v);
		else if (!strcmp(tok, "rbps") || !strcmp(tok, "wbps"))
			r = parse_size(eq + 1, &v);
		else
			return nerr_set(err, 0, "invalid --io-limit `%s`: unknown key `%s` (riops, wiops, rbps, wbps)", s, tok);
		if (r < 0 || v == 0)
			return nerr_set(err, 0, "invalid --io-limit `%s`: bad value for %s", s, tok);
		if (!strcmp(tok, "riops"))
			out->riops = v;
		else if (!strcmp(tok, "wiops"))
			out->wiops = v;
		else if (!strcmp(tok, "rbps"))
			out->rbps = v;
		else
			out->wbps = v;
		any = 1;
	}
	if (!any)
		return nerr_set(err, 0, "invalid --io-limit `%s`: no limit given (riops, wiops, rbps, wbps)", s);
	return 0;
}

int cpus_parse(const char *s, uint64_t *quota_us, uint64_t *period_us, struct nerr *err)
{
	long online = sysconf(_SC_NPROCESSORS_ONLN);
	uint64_t micro;

	if (parse_decimal_micro(s, &micro) < 0 || micro < 10000)
		return nerr_set(err, 0, "invalid --cpus `%s`: expected a number of CPUs such as 0.5 or 2", s);
	if (online > 0 && micro > (uint64_t)online * 1000000)
		return nerr_set(err, 0, "invalid --cpus `%s`: only %ld CPUs are online", s, online);
	*period_us = 100000;
	*quota_us = micro / 10;    /* micro-CPUs * 100000 us / 1e6 */
	return 0;
}
