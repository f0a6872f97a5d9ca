/* Allocation that cannot fail quietly, cleanup helpers, string vectors. */
#include <errno.h>
#include <string.h>
#include <nucleus/util.h>

static void __attribute__((noreturn)) out_of_memory(void)
{
	static const char msg[] = "nucleus: out of memory\n";

	(void)!write(STDERR_FILENO, msg, sizeof(msg) - 1);
	abort();
}

void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p)
		out_of_memory();
	return p;
}

void *xcalloc(size_t n, size_t sz)
{
	void *p = calloc(n ? n : 1, sz ? sz : 1);

	if (!p)
		out_of_memory();
	return p;
}

void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p)
		out_of_memory();
	return p;
}

char *xstrdup(const char *s)
{
	char *p = strdup(s);

	if (!p)
		out_of_memory();
	return p;
}

char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;
	int r;

	va_start(ap, fmt);
	r = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (r < 0)
		out_of_memory();
	return s;
}

void cleanup_freep(void *p)
{
	free(*(void **)p);
}

void cleanup_closep(int *fd)
{
	if (*fd >= 0) {
		int saved = errno;
		close(*fd);
		errno = saved;
	}
}

void cleanup_fclosep(FILE **f)
{
	if (*f)
		fclose(*f);
}

void cleanup_closedirp(DIR **d)
{
	if (*d)
		closedir(*d);
}

void cleanup_strvp(char ***v)
{
	strv_free(*v);
}

size_t strv_len(char *const *v)
{
	size_t n = 0;

	while (v && v[n])
		n++;
	return n;
}

/* Vectors of 100k arguments are built one strv_push at a time: a scan for
 * the end and a realloc per push made that quadratic. The vector grown last
 * is remembered with its length and capacity (checked against its contents:
 * see util.h for how to shorten one), and capacity doubles. */
static _Thread_local struct {
	char **v;
	size_t len, cap;
} grown;

void strv_push_take(char ***v, char *s)
{
	size_t n, cap;

	if (*v && *v == grown.v && grown.len < grown.cap && !(*v)[grown.len] &&
	    (!grown.len || (*v)[grown.len - 1])) {
		n = grown.len;
		cap = grown.cap;
	} else {
		n = strv_len(*v);
		cap = n + 1;   /* all that is known to be allocated */
	}
	if (n + 2 > cap) {
		cap = n < 4 ? 8 : 2 * (n + 2);
		*v = xrealloc(*v, cap * sizeof(char *));
	}
	(*v)[n] = s;
	(*v)[n + 1] = NULL;
	grown.v = *v;
	grown.len = n + 1;
	grown.cap = cap;
}

void strv_push(char ***v, const char *s)
{
	strv_push_take(v, xstrdup(s));
}

void strv_free(char **v)
{
	if (v && v == grown.v)
		grown.v = NULL;
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

bool strv_contains(char *const *v, const char *s)
{
	for (size_t i = 0; v && v[i]; i++)
		if (!strcmp(v[i], s))
			return true;
	return false;
}

char *strv_join(char *const *v, const char *sep)
{
	size_t len = 1, n = strlen(sep);
	char *s, *p;

	for (size_t i = 0; v && v[i]; i++)
		len += strlen(v[i]) + (i ? n : 0);
	p = s = xmalloc(len);
	for (size_t i = 0; v && v[i]; i++) {
		if (i) {
			memcpy(p, sep, n);
			p += n;
		}
		memcpy(p, v[i], strlen(v[i]));
		p += strlen(v[i]);
	}
	*p = '\0';
	return s;
}
