/* Limit flags: parsed from what users type, and named back in messages. */
#include <errno.h>
#include <string.h>
#include <stdio.h>
#include <stdlib.h>
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

unsigned limits_set(const struct cgroup_limits *lim)
{
	return (lim->memory_max ? LIMIT_MEMORY : 0) | (lim->cpu_quota_us ? LIMIT_CPUS : 0) |
	       (lim->cpu_weight ? LIMIT_CPU_WEIGHT : 0) | (lim->pids_max ? LIMIT_PIDS : 0) |
	       (lim->nio ? LIMIT_IO : 0);
}

static void append(char **t, const char *piece)
{
	char *n = xasprintf("%s%s%s", *t ? *t : "", *t ? ", " : "", piece);

	free(*t);
	*t = n;
}

char *limits_describe(const struct cgroup_limits *lim, unsigned mask)
{
	char *t = NULL, buf[96], size[32];

	if ((mask & LIMIT_MEMORY) && lim->memory_max) {
		format_size(lim->memory_max, size, sizeof(size));
		snprintf(buf, sizeof(buf), "--memory %s", size);
		append(&t, buf);
	}
	if ((mask & LIMIT_CPUS) && lim->cpu_quota_us) {
		snprintf(buf, sizeof(buf), "--cpus %g",
			 (double)lim->cpu_quota_us / (double)(lim->cpu_period_us ? lim->cpu_period_us : 100000));
		append(&t, buf);
	}
	if ((mask & LIMIT_CPU_WEIGHT) && lim->cpu_weight) {
		snprintf(buf, sizeof(buf), "--cpu-weight %llu", (unsigned long long)lim->cpu_weight);
		append(&t, buf);
	}
	if ((mask & LIMIT_PIDS) && lim->pids_max) {
		snprintf(buf, sizeof(buf), "--pids %llu%s", (unsigned long long)lim->pids_max,
			 lim->given & LIMIT_PIDS ? "" : " (the default)");
		append(&t, buf);
	}
	for (size_t i = 0; (mask & LIMIT_IO) && i < lim->nio; i++) {
		snprintf(buf, sizeof(buf), "--io-limit %u:%u", lim->io[i].major, lim->io[i].minor);
		append(&t, buf);
	}
	return t ? t : xstrdup("");
}
