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

struct audit_log {
	char *id, *name;
	int fd;                 /* the container's file */
	int host_fd;            /* the host-wide log */
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

static int open_host_log(void)
{
	mkdir_p(AUDIT_HOST_LOG_DIR, 0750);
	return open(AUDIT_HOST_LOG, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0640);
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

int audit_log_open(const char *id, const char *name, const char *path, struct audit_log **out,
		   struct nerr *err)
{
	struct audit_log *l = xcalloc(1, sizeof(*l));

	/* runtime state: the caller's own file, never through a symlink */
	l->fd = open_trusted_at(AT_FDCWD, path, O_WRONLY | O_CREAT | O_APPEND, 0600, S_IFREG, "audit log", path, err);
	if (l->fd < 0) {
		int r = l->fd;
		free(l);
		return r;
	}
	l->id = xstrdup(id);
	l->name = xstrdup(name);
	l->host_fd = open_host_log();     /* best effort: the container's own file is the record */
	l->journal = open_journal();
	*out = l;
	return 0;
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

/* The host log is shared by every supervisor: rotate under its lock, and
 * follow a rotation another process made. */
static void host_write(struct audit_log *l, const char *line, size_t len)
{
	struct stat a, b;

	if (l->host_fd < 0)
		return;
	if (fstat(l->host_fd, &a) == 0 && (stat(AUDIT_HOST_LOG, &b) < 0 || a.st_ino != b.st_ino)) {
		close(l->host_fd);
		l->host_fd = open_host_log();
		if (l->host_fd < 0)
			return;
	}
	write_all(l->host_fd, line, len);
	if (fstat(l->host_fd, &a) == 0 && (uint64_t)a.st_size > AUDIT_HOST_LOG_MAX &&
	    flock(l->host_fd, LOCK_EX | LOCK_NB) == 0) {
		if (stat(AUDIT_HOST_LOG, &b) == 0 && b.st_ino == a.st_ino) {
			for (int i = AUDIT_HOST_LOG_KEEP - 1; i >= 1; i--) {
				char from[256], to[256];

				snprintf(from, sizeof(from), "%s.%d", AUDIT_HOST_LOG, i);
				snprintf(to, sizeof(to), "%s.%d", AUDIT_HOST_LOG, i + 1);
				rename(from, to);
			}
			char first[256];
			snprintf(first, sizeof(first), "%s.1", AUDIT_HOST_LOG);
			rename(AUDIT_HOST_LOG, first);
		}
		flock(l->host_fd, LOCK_UN);
	}
}

static void journal_write(struct audit_log *l, const char *type, const char *line)
{
	_cleanup_free_ char *msg = NULL;

	if (l->journal < 0)
		return;
	msg = xasprintf("MESSAGE=%s\nSYSLOG_IDENTIFIER=nucleus\nPRIORITY=6\nNUCLEUS_CONTAINER_ID=%s\n"
			"NUCLEUS_CONTAINER_NAME=%s\nNUCLEUS_EVENT=%s\n", line, l->id, l->name, type);
	/* the line itself has no newline inside: JSON escapes them */
	(void)!send(l->journal, msg, strlen(msg), MSG_NOSIGNAL | MSG_DONTWAIT);
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
	write_all(l->fd, line, strlen(line));
	host_write(l, line, strlen(line));
	journal_write(l, type, text);
}

void audit_append(const char *path, const char *id, const char *name, const char *type, json_t *details)
{
	struct audit_log *l;

	if (audit_log_open(id, name, path, &l, NULL) < 0) {
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
	close(l->fd);
	if (l->host_fd >= 0)
		close(l->host_fd);
	if (l->journal >= 0)
		close(l->journal);
	strv_free(l->secrets);
	free(l->id);
	free(l->name);
	free(l);
}
