/* Errors with context and one-line logging. */
#include <errno.h>
#include <string.h>
#include <nucleus/util.h>

enum log_level log_threshold = LOG_WARN;

/* An error or log line is one line, whatever a user put in a flag value or
 * a file: control characters become '?'. */
static void one_line(char *s)
{
	for (; *s; s++)
		if (((unsigned char)*s < 0x20 && *s != '\t') || *s == 0x7f)
			*s = '?';
}

int nerr_set(struct nerr *err, int errnum, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (errnum < 0)
		errnum = -errnum;
	if (!err)
		return errnum ? -errnum : -EINVAL;
	va_start(ap, fmt);
	n = vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	if (errnum && n >= 0 && (size_t)n < sizeof(err->msg))
		snprintf(err->msg + n, sizeof(err->msg) - n, ": %s", strerror(errnum));
	one_line(err->msg);
	err->code = errnum ? errnum : EINVAL;
	return -err->code;
}

int nerr_prefix(struct nerr *err, const char *fmt, ...)
{
	char ctx[512], old[sizeof(err->msg)];
	va_list ap;

	if (!err)
		return -EINVAL;
	va_start(ap, fmt);
	vsnprintf(ctx, sizeof(ctx), fmt, ap);
	va_end(ap);
	memcpy(old, err->msg, sizeof(old));
	snprintf(err->msg, sizeof(err->msg), "%s: %s", ctx, old);
	one_line(err->msg);
	if (!err->code)
		err->code = EINVAL;
	return -err->code;
}

void nerr_clear(struct nerr *err)
{
	err->code = 0;
	err->msg[0] = '\0';
}

void log_msg(enum log_level lvl, const char *fmt, ...)
{
	static const char *const prefix[] = {
		[LOG_ERROR] = "", [LOG_WARN] = "warning: ",
		[LOG_INFO] = "", [LOG_DEBUG] = "debug: ",
	};
	char line[2048];
	va_list ap;
	int n;

	if (lvl > log_threshold)
		return;
	if (lvl == LOG_DEBUG) {
		/* Debug lines carry the time since the first one: a start-up profile. */
		static uint64_t t0;
		uint64_t t = now_ns();

		if (!t0)
			t0 = t;
		n = snprintf(line, sizeof(line), "nucleus[%d]: +%.3fms ", (int)getpid(), (double)(t - t0) / 1e6);
	} else {
		n = snprintf(line, sizeof(line), "nucleus: %s", prefix[lvl]);
	}
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - n - 1, fmt, ap);
	va_end(ap);
	one_line(line);
	strcat(line, "\n");
	/* One write so concurrent writers never interleave within a line. */
	(void)!write(STDERR_FILENO, line, strlen(line));
}

void log_init_from_env(void)
{
	const char *v = getenv("NUCLEUS_LOG");

	if (!v)
		return;
	if (!strcmp(v, "debug"))
		log_threshold = LOG_DEBUG;
	else if (!strcmp(v, "info"))
		log_threshold = LOG_INFO;
	else if (!strcmp(v, "error"))
		log_threshold = LOG_ERROR;
}
