/* Audit writers: the container's file, the host-wide log (rotated by size),
 * journald. One JSON object per line, appended with one write. */
#include <errno.h>
#include <fcntl.h>
#include <ctype.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <jansson.h>
#include <nucleus/audit.h>
#include <nucleus/rotlog.h>
#include "journal.h"

struct audit_log {
	char *id, *name;
	struct rotlog *file;    /* the container's file */
	struct rotlog *host;    /* the host-wide log; NULL where there is none */
	int journal;            /* journald socket, -1 when not under systemd */
	char **secrets;
};

bool env_name_looks_secret(const char *name)
{
	static const char *const words[] = { "SECRET", "TOKEN", "PASSWORD", "PASSWD", "KEY", "CREDENTIAL",
					     "AUTH", "PRIVATE", "SESSION", "COOKIE", NULL };
	char upper[256];
	size_t i;

	for (i = 0; name[i] && i < sizeof(upper) - 1; i++)
		upper[i] = (char)toupper((unsigned char)name[i]);
	upper[i] = '\0';
	for (size_t w = 0; words[w]; w++)
		if (strstr(upper, words[w]))
			return true;
	return false;
}

void audit_log_secrets_from_env(struct audit_log *l, char *const *env)
{
	for (size_t i = 0; env && env[i]; i++) {
		const char *eq = strchr(env[i], '=');
		_cleanup_free_ char *name = eq ? strndup(env[i], (size_t)(eq - env[i])) : NULL;

		/* short values would blank out ordinary words */
		if (name && env_name_looks_secret(name) && strlen(eq + 1) >= 4)
			strv_push(&l->secrets, eq + 1);
	}
}

static int open_journal(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	/* systemd sets these for the services it starts */
	if (!getenv("INVOCATION_ID") && !getenv("JOURNAL_STREAM"))
		return -1;
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "/run/systemd/journal/socket");
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

bool audit_rotation_line(const char *line, uint64_t *events_before)
{
	json_t *o, *n;
	bool ok;

	if (!strstr(line, "\"type\":\"rotated\""))
		return false;
	o = json_loads(line, 0, NULL);
	n = json_object_get(json_object_get(o, "details"), "events_before");
	ok = json_is_integer(n) && !strcmp(json_string_value(json_object_get(o, "type")) ?: "", "rotated");
	if (ok && events_before)
		*events_before = (uint64_t)json_integer_value(n);
	json_decref(o);
	return ok;
}

static char *event_line(const char *id, const char *name, uint64_t when, const char *type,
			const char *source, int pid, long uid, const char *comm, json_t *details);

/* A new file of a rotated audit log begins with how many events came
 * before it: the first file still there tells `audit tail` how much
 * history was rotated away. */
static char *rotation_header(int old_fd, void *arg)
{
	struct audit_log *l = arg;
	_cleanup_fclose_ FILE *f = NULL;
	uint64_t before = 0, lines = 0, headers = 0, n;
	_cleanup_free_ char *line = NULL, *text = NULL;
	size_t cap = 0;
	int fd = fcntl(old_fd, F_DUPFD_CLOEXEC, 3);

	if (fd < 0)
		return NULL;
	if (lseek(fd, 0, SEEK_SET) < 0 || !(f = fdopen(fd, "r"))) {
		close(fd);
		return NULL;
	}
	while (getline(&line, &cap, f) > 0) {
		if (audit_rotation_line(line, &n)) {
			if (!headers++)
				before = n;
		} else {
			lines++;
		}
	}
	text = event_line(l && l->id ? l->id : "", l && l->name ? l->name : "", 0, "rotated", "runtime", -1, -1,
			  NULL, json_pack("{s:I}", "events_before", (json_int_t)(before + lines)));
	return text ? xasprintf("%s\n", text) : NULL;
}

static char *host_rotation_header(int old_fd, void *arg)
{
	(void)arg;
	return rotation_header(old_fd, NULL);
}

/* Space came back after events could not be written: say how many. */
static char *loss_notice(uint64_t records, uint64_t bytes, int errnum, void *arg)
{
	struct audit_log *l = arg;
	_cleanup_free_ char *text = NULL;

	(void)bytes;
	text = event_line(l->id, l->name, 0, "audit_lost", "runtime", -1, -1, NULL,
			  json_pack("{s:I,s:s+}", "lost", (json_int_t)records, "reason", "write failed: ",
				    strerror(errnum)));
	return text ? xasprintf("%s\n", text) : NULL;
}

static struct rotlog *open_host_log(struct audit_log *l)
{
	static const struct log_opts host = { AUDIT_HOST_LOG_MAX, AUDIT_HOST_LOG_KEEP + 1 };
	struct rotlog_hooks h = { host_rotation_header, loss_notice, l };
	struct rotlog *out = NULL;
	_cleanup_close_ int dir = -1;

	/* root's: an ordinary user has no host log */
	if (geteuid() != 0)
		return NULL;
	mkdir_p(AUDIT_HOST_LOG_DIR, 0750);
	if ((dir = dir_open_owned(AT_FDCWD, AUDIT_HOST_LOG_DIR, false, 0, NULL)) < 0)
		return NULL;
	rotlog_open(dir, "audit.jsonl", 0640, &host, &h, &out, NULL);
	return out;
}

int audit_log_open(const char *id, const char *name, const char *path, const struct log_opts *opts,
		   struct audit_log **out, struct nerr *err)
{
	static const struct log_opts never = { 0, 1 };
	struct audit_log *l = xcalloc(1, sizeof(*l));
	struct rotlog_hooks h = { rotation_header, loss_notice, l };
	_cleanup_free_ char *dir = xstrdup(path);
	char *slash = strrchr(dir, '/');
	_cleanup_close_ int dfd = -1;
	int r;

	l->id = xstrdup(id);
	l->name = xstrdup(name);
	l->journal = -1;
	if (!slash || slash == dir) {
		r = nerr_set(err, EINVAL, "audit log `%s`: not an absolute path", path);
		goto fail;
	}
	*slash = '\0';
	if ((dfd = dir_open_owned(AT_FDCWD, dir, false, 0, err)) < 0 ||
	    (r = rotlog_open(dfd, slash + 1, 0600, opts ? opts : &never, &h, &l->file, err)) < 0) {
		r = dfd < 0 ? dfd : r;
		nerr_prefix(err, "audit log");
		goto fail;
	}
	l->host = open_host_log(l);     /* best effort: the container's own file is the record */
	l->journal = open_journal();
	*out = l;
	return 0;
fail:
	audit_log_close(l);
	return r;
}

/* Replace every occurrence of a secret in every string of a JSON value. */
static void redact(json_t *v, char *const *secrets)
{
	const char *k;
	json_t *x;
	size_t i;

	if (!secrets)
		return;
	if (json_is_object(v)) {
		json_object_foreach(v, k, x) {
			if (json_is_string(x)) {
				const char *s = json_string_value(x);
				bool hit = false;

				for (size_t j = 0; secrets[j] && !hit; j++)
					hit = strstr(s, secrets[j]) != NULL;
				if (!hit)
					continue;
				_cleanup_free_ char *copy = xstrdup(s);
				for (size_t j = 0; secrets[j]; j++) {
					char *p;
					size_t n = strlen(secrets[j]);

					while ((p = strstr(copy, secrets[j]))) {
						char *fixed = xasprintf("%.*s" AUDIT_REDACTED "%s", (int)(p - copy), copy, p + n);
						free(copy);
						copy = fixed;
					}
				}
				json_object_set_new(v, k, json_string(copy));
			} else {
				redact(x, secrets);
			}
		}
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, x) {
			if (json_is_string(x)) {
				json_t *wrap = json_pack("{s:O}", "v", x);
				redact(wrap, secrets);
				json_array_set(v, i, json_object_get(wrap, "v"));
				json_decref(wrap);
			} else {
				redact(x, secrets);
			}
		}
	}
}

/* The event as a journal entry: the JSON line is the MESSAGE (journalctl
 * shows the whole event; `-o cat` gives the audit line), the rest are
 * fields to match on (journalctl CONTAINER_NAME=web NUCLEUS_EVENT=...),
 * named as podman's journald log driver names the container. */
static void journal_write(struct audit_log *l, const char *type, const char *line)
{
	_cleanup_free_ char *msg = NULL, *id = NULL, *name = NULL, *event = NULL;

	if (l->journal < 0)
		return;
	msg = xasprintf("MESSAGE=%s", line);
	id = xasprintf("CONTAINER_ID=%s", l->id);
	name = xasprintf("CONTAINER_NAME=%s", l->name);
	event = xasprintf("NUCLEUS_EVENT=%s", type);
	struct iovec iov[] = {
		{ msg, strlen(msg) },
		{ "SYSLOG_IDENTIFIER=nucleus", strlen("SYSLOG_IDENTIFIER=nucleus") },
		{ "PRIORITY=6", strlen("PRIORITY=6") },
		{ id, strlen(id) },
		{ name, strlen(name) },
		{ event, strlen(event) },
	};
	journal_send(l->journal, iov, (int)ARRAY_SIZE(iov));
}

static char *event_line(const char *id, const char *name, uint64_t when, const char *type,
			const char *source, int pid, long uid, const char *comm, json_t *details)
{
	char t[64];
	json_t *o;
	char *text;

	format_rfc3339(when ? when : realtime_ns(), t, sizeof(t));
	o = json_pack("{s:s,s:s,s:s,s:s,s:s}", "time", t, "id", id, "name", name, "type", type,
		      "source", source);
	if (pid >= 0)
		json_object_set_new(o, "pid", json_integer(pid));
	if (uid >= 0)
		json_object_set_new(o, "uid", json_integer(uid));
	if (comm)
		json_object_set_new(o, "comm", json_string(comm));
	json_object_set_new(o, "details", details ? details : json_object());
	text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	return text;
}

void audit_log_event(struct audit_log *l, uint64_t when, const char *type, const char *source,
		     int pid, long uid, const char *comm, json_t *details)
{
	_cleanup_free_ char *text = NULL;
	_cleanup_free_ char *line = NULL;

	if (!l) {
		json_decref(details);
		return;
	}
	if (details)
		redact(details, l->secrets);
	text = event_line(l->id, l->name, when, type, source, pid, uid, comm, details);
	if (!text)
		return;
	line = xasprintf("%s\n", text);
	rotlog_write(l->file, line, strlen(line), 1);
	rotlog_write(l->host, line, strlen(line), 1);
	journal_write(l, type, text);
}

void audit_append(const char *path, const char *id, const char *name, const char *type, json_t *details)
{
	struct audit_log *l;

	/* a few lines after the supervisor's own: its cap applies to what it wrote */
	if (audit_log_open(id, name, path, NULL, &l, NULL) < 0) {
		json_decref(details);
		return;
	}
	audit_log_event(l, 0, type, "runtime", -1, -1, NULL, details);
	audit_log_close(l);
}

void audit_log_close(struct audit_log *l)
{
	if (!l)
		return;
	/* a loss not told yet: one more try */
	rotlog_flush_notice(l->file);
	rotlog_flush_notice(l->host);
	rotlog_close(l->file);
	rotlog_close(l->host);
	if (l->journal >= 0)
		close(l->journal);
	strv_free(l->secrets);
	free(l->id);
	free(l->name);
	free(l);
}
