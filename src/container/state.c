/* The state store: one directory per container under the runtime dir. */
#include <errno.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <jansson.h>
#include <nucleus/container.h>
#include "internal.h"

const char *container_status_name(enum container_status st)
{
	switch (st) {
	case STATUS_CREATING: return "creating";
	case STATUS_RUNNING: return "running";
	case STATUS_EXITED: return "exited";
	default: return "dead";
	}
}

static enum container_status status_from_name(const char *s)
{
	if (!strcmp(s, "creating"))
		return STATUS_CREATING;
	if (!strcmp(s, "running"))
		return STATUS_RUNNING;
	if (!strcmp(s, "exited"))
		return STATUS_EXITED;
	return STATUS_DEAD;
}

void container_state_free(struct container_state *s)
{
	container_config_free(&s->cfg);
	free(s->seccomp_profile);
	s->seccomp_profile = NULL;
	free(s->restored_from);
	s->restored_from = NULL;
	strv_free(s->addresses);
	strv_free(s->ports);
	s->addresses = s->ports = NULL;
	strv_free(s->bpf_pins);
	s->bpf_pins = NULL;
	for (size_t i = 0; i < s->health.nlog; i++)
		free(s->health.log[i].output);
	s->health.nlog = 0;
}

int state_path(const char *id, const char *file, char *buf, size_t len)
{
	int n = file ? snprintf(buf, len, "%s/%s/%s", runtime_dir(), id, file)
		     : snprintf(buf, len, "%s/%s", runtime_dir(), id);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

bool state_pid_alive(const struct container_state *s)
{
	/* a container's init is pid 1 of its own namespace: a pid recorded
	 * wrongly (or a state forged) never names an ordinary process */
	return s->pid > 0 && s->pid_start && proc_start_time(s->pid) == s->pid_start &&
	       proc_ns_pid(s->pid) == 1;
}

void state_set_network(struct container_state *s, const struct net_lease *l,
		       const struct port_spec *ports, size_t nports)
{
	char a[INET6_ADDRSTRLEN + 8];

	strv_free(s->addresses);
	strv_free(s->ports);
	s->addresses = s->ports = NULL;
	strv_free(s->bpf_pins);
	s->bpf_pins = NULL;
	if (!l)
		return;
	cidr_format(&l->addr4, a, sizeof(a));
	strv_push(&s->addresses, a);
	if (l->addr6.family) {
		cidr_format(&l->addr6, a, sizeof(a));
		strv_push(&s->addresses, a);
	}
	for (size_t i = 0; i < nports; i++) {
		char p[96];

		port_spec_format(&ports[i], p, sizeof(p));
		strv_push(&s->ports, p);
	}
}

static json_t *strv_json(char **v)
{
	json_t *a = json_array();

	for (size_t i = 0; v && v[i]; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

static char **json_strv(json_t *a)
{
	char **v = NULL;
	size_t i;
	json_t *e;

	json_array_foreach(a, i, e)
		if (json_is_string(e))
			strv_push(&v, json_string_value(e));
	return v;
}

/* docker inspect's shape ("Health": Status, FailingStreak, Log), times
 * in RFC 3339 with nanoseconds. */
json_t *state_health_to_json(const struct health_state *h)
{
	json_t *log = json_array();
	char t[64];

	for (size_t i = 0; i < h->nlog; i++) {
		const struct health_result *r = &h->log[i];
		json_t *e = json_object();

		format_rfc3339(r->start_ns, t, sizeof(t));
		json_object_set_new(e, "Start", json_string(t));
		format_rfc3339(r->end_ns, t, sizeof(t));
		json_object_set_new(e, "End", json_string(t));
		json_object_set_new(e, "ExitCode", json_integer(r->exit_code));
		json_object_set_new(e, "Output", json_string(r->output ? r->output : ""));
		json_array_append_new(log, e);
	}
	return json_pack("{s:s,s:I,s:o}", "Status", health_status_name(h->status),
			 "FailingStreak", (json_int_t)h->failing_streak, "Log", log);
}

/* format_rfc3339's form back ("2026-12-07T19:32:00.123456789Z"); 0 when
 * it is not that. */
static uint64_t parse_rfc3339(const char *s)
{
	struct tm tm = { 0 };
	const char *p = s ? strptime(s, "%Y-%m-%dT%H:%M:%S", &tm) : NULL;
	uint64_t frac = 0, scale = 1000000000ull;
	time_t sec;

	if (!p)
		return 0;
	if (*p == '.')
		for (p++; *p >= '0' && *p <= '9'; p++)
			if (scale > 1) {
				scale /= 10;
				frac += (uint64_t)(*p - '0') * scale;
			}
	if (*p != 'Z' || (sec = timegm(&tm)) < 0)
		return 0;
	return (uint64_t)sec * 1000000000ull + frac;
}

static void health_from_json(json_t *o, struct health_state *h)
{
	const char *st = json_string_value(json_object_get(o, "Status"));
	json_t *log = json_object_get(o, "Log"), *e;
	size_t i;

	for (size_t k = 0; st && health_status_names[k]; k++)
		if (!strcmp(st, health_status_names[k]))
			h->status = (enum health_status)k;
	h->failing_streak = (unsigned)json_integer_value(json_object_get(o, "FailingStreak"));
	json_array_foreach(log, i, e) {
		struct health_result *r;
		const char *out = json_string_value(json_object_get(e, "Output"));

		if (h->nlog == HEALTH_LOG_MAX || !json_is_object(e))
			break;
		r = &h->log[h->nlog++];
		r->start_ns = parse_rfc3339(json_string_value(json_object_get(e, "Start")));
		r->end_ns = parse_rfc3339(json_string_value(json_object_get(e, "End")));
		r->exit_code = (int)json_integer_value(json_object_get(e, "ExitCode"));
		r->output = xstrdup(out ? out : "");
	}
}

static json_t *to_json(const struct container_state *s)
{
	json_t *o = json_object();
	char t[64];

	json_object_set_new(o, "version", json_integer(STATE_FORMAT_VERSION));
	/* values of the environment included (the file is 0600): attach starts from them */
	json_object_set_new(o, "config", container_config_to_json(&s->cfg));
	json_object_set_new(o, "status", json_string(container_status_name(s->status)));
	json_object_set_new(o, "pid", json_integer(s->pid));
	json_object_set_new(o, "pid_start", json_integer((json_int_t)s->pid_start));
	json_object_set_new(o, "supervisor", json_integer(s->supervisor));
	format_rfc3339(s->created_ns, t, sizeof(t));
	json_object_set_new(o, "created", json_string(t));
	json_object_set_new(o, "created_ns", json_integer((json_int_t)s->created_ns));
	json_object_set_new(o, "started_ns", json_integer((json_int_t)s->started_ns));
	json_object_set_new(o, "finished_ns", json_integer((json_int_t)s->finished_ns));
	json_object_set_new(o, "exit_code", json_integer(s->exit_code));
	json_object_set_new(o, "oom_killed", json_boolean(s->oom_killed));
	json_object_set_new(o, "checkpointed", json_boolean(s->checkpointed));
	if (s->restored_from)
		json_object_set_new(o, "restored_from", json_string(s->restored_from));
	json_object_set_new(o, "remove_on_exit", json_boolean(s->remove_on_exit));
	json_object_set_new(o, "seccomp_key", json_string(s->seccomp_key));
	json_object_set_new(o, "seccomp_flags", json_integer(s->seccomp_flags));
	json_object_set_new(o, "seccomp_profile", s->seccomp_profile ? json_string(s->seccomp_profile) : json_null());
	json_object_set_new(o, "memory_limit", json_integer((json_int_t)s->memory_limit));
	json_object_set_new(o, "pids_limit", json_integer((json_int_t)s->pids_limit));
	json_object_set_new(o, "cpu_quota_us", json_integer((json_int_t)s->cpu_quota_us));
	json_object_set_new(o, "cpu_period_us", json_integer((json_int_t)s->cpu_period_us));
	json_object_set_new(o, "cgroup_layout", json_string(s->cgroup_layout));
	json_object_set_new(o, "egress", json_boolean(s->egress));
	json_object_set_new(o, "addresses", strv_json(s->addresses));
	json_object_set_new(o, "ports", strv_json(s->ports));
	json_object_set_new(o, "audit", json_boolean(s->audit));
	json_object_set_new(o, "audit_path", json_string(s->audit_path));
	json_object_set_new(o, "cgroup_level", json_integer(s->cgroup_level));
	json_object_set_new(o, "bpf_pins", strv_json(s->bpf_pins));
	json_object_set_new(o, "log_path", json_string(s->log_path));
	if (s->log_lost_bytes) {
		json_object_set_new(o, "log_lost_bytes", json_integer((json_int_t)s->log_lost_bytes));
		json_object_set_new(o, "log_errno", json_integer(s->log_errno));
	}
	if (s->health.status != HEALTH_NONE)
		json_object_set_new(o, "health", state_health_to_json(&s->health));
	json_object_set_new(o, "ready", json_boolean(s->ready));
	json_object_set_new(o, "restarts", json_integer(s->restarts));
	json_object_set_new(o, "restarting", json_boolean(s->restarting));
	json_object_set_new(o, "restarted_ns", json_integer((json_int_t)s->restarted_ns));
	return o;
}

json_t *container_state_to_json(const struct container_state *s)
{
	return to_json(s);
}

static void get_str(json_t *o, const char *k, char *buf, size_t len)
{
	const char *v = json_string_value(json_object_get(o, k));

	snprintf(buf, len, "%s", v ? v : "");
}

static uint64_t get_u64(json_t *o, const char *k)
{
	json_int_t v = json_integer_value(json_object_get(o, k));

	return v < 0 ? 0 : (uint64_t)v;
}

/* A state of the first format is read through state_v1_config; one of an
 * unknown format, or whose configuration does not parse, is as unreadable
 * as a file that is not JSON. */
static int from_json(json_t *o, struct container_state *s, struct nerr *err)
{
	json_t *version = json_object_get(o, "version");
	char buf[32];
	int r;

	memset(s, 0, sizeof(*s));
	if (!version) {
		/* an older nucleus's container, still running after an upgrade */
		json_t *cfg = state_v1_config(o);

		r = container_config_from_json(cfg, &s->cfg, err);
		json_decref(cfg);
	} else if (!json_is_integer(version) || json_integer_value(version) != STATE_FORMAT_VERSION) {
		return nerr_set(err, 0, "state format %lld, not %d", json_is_integer(version) ?
				(long long)json_integer_value(version) : -1LL, STATE_FORMAT_VERSION);
	} else {
		r = container_config_from_json(json_object_get(o, "config"), &s->cfg, err);
	}
	if (r < 0)
		return r;
	get_str(o, "status", buf, sizeof(buf));
	s->status = status_from_name(buf);
	s->pid = (pid_t)get_u64(o, "pid");
	s->pid_start = get_u64(o, "pid_start");
	s->supervisor = (pid_t)get_u64(o, "supervisor");
	s->created_ns = get_u64(o, "created_ns");
	s->started_ns = get_u64(o, "started_ns");
	s->finished_ns = get_u64(o, "finished_ns");
	s->exit_code = (int)json_integer_value(json_object_get(o, "exit_code"));
	s->oom_killed = json_is_true(json_object_get(o, "oom_killed"));
	s->checkpointed = json_is_true(json_object_get(o, "checkpointed"));
	if (json_is_string(json_object_get(o, "restored_from")))
		s->restored_from = xstrdup(json_string_value(json_object_get(o, "restored_from")));
	s->remove_on_exit = json_is_true(json_object_get(o, "remove_on_exit"));
	get_str(o, "seccomp_key", s->seccomp_key, sizeof(s->seccomp_key));
	s->seccomp_flags = (unsigned)get_u64(o, "seccomp_flags");
	if (json_is_string(json_object_get(o, "seccomp_profile")))
		s->seccomp_profile = xstrdup(json_string_value(json_object_get(o, "seccomp_profile")));
	s->memory_limit = get_u64(o, "memory_limit");
	s->pids_limit = get_u64(o, "pids_limit");
	s->cpu_quota_us = get_u64(o, "cpu_quota_us");
	s->cpu_period_us = get_u64(o, "cpu_period_us");
	get_str(o, "cgroup_layout", s->cgroup_layout, sizeof(s->cgroup_layout));
	s->egress = json_is_true(json_object_get(o, "egress"));
	s->addresses = json_strv(json_object_get(o, "addresses"));
	s->ports = json_strv(json_object_get(o, "ports"));
	s->audit = json_is_true(json_object_get(o, "audit"));
	get_str(o, "audit_path", s->audit_path, sizeof(s->audit_path));
	s->cgroup_level = (unsigned)get_u64(o, "cgroup_level");
	s->bpf_pins = json_strv(json_object_get(o, "bpf_pins"));
	get_str(o, "log_path", s->log_path, sizeof(s->log_path));
	s->log_lost_bytes = get_u64(o, "log_lost_bytes");
	s->log_errno = (int)get_u64(o, "log_errno");
	/* absent from the files of an older nucleus: none, not ready, never restarted */
	if (json_is_object(json_object_get(o, "health")))
		health_from_json(json_object_get(o, "health"), &s->health);
	s->ready = json_is_true(json_object_get(o, "ready"));
	s->restarts = (unsigned)get_u64(o, "restarts");
	s->restarting = json_is_true(json_object_get(o, "restarting"));
	s->restarted_ns = get_u64(o, "restarted_ns");
	return 0;
}

/* ---- the store: every open goes through a checked directory fd --------------------- */

static int id_dir_open(const char *id, struct nerr *err)
{
	char path[4096];
	int rt;

	if (!is_hex_string(id, 32))
		return nerr_set(err, ENOENT, "container %.40s", id);
	if ((rt = runtime_dir_fd(err)) < 0)
		return rt;
	state_path(id, NULL, path, sizeof(path));
	return open_trusted_at(rt, id, O_RDONLY | O_DIRECTORY, 0, S_IFDIR, "state directory", path, err);
}

/* A file of the container's directory, checked like the directory. */
static int id_file_open(const char *id, const char *file, int flags, const char *what, struct nerr *err)
{
	_cleanup_close_ int dir = id_dir_open(id, err);
	char path[4096];

	if (dir < 0)
		return dir;
	state_path(id, file, path, sizeof(path));
	return open_trusted_at(dir, file, flags, 0600, S_IFREG, what, path, err);
}

/* Room for the last state write, taken while the container runs: its
 * output can fill the filesystem, and its exit must still be recorded
 * (state_write gives the room back when it needs it). */
#define STATE_RESERVE ".reserve"

static void reserve_room(int dir, size_t len)
{
	_cleanup_close_ int fd = openat(dir, STATE_RESERVE, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	size_t size = ((len + 4095) & ~(size_t)4095) + 4096;
	char zero[4096] = { 0 };

	if (fd < 0)
		return;
	if (fallocate(fd, 0, 0, (off_t)size) == 0)
		return;
	for (size_t done = 0; done < size; done += sizeof(zero))
		if (write_all(fd, zero, sizeof(zero)) < 0)
			break;
}

int state_write(const struct container_state *s, struct nerr *err)
{
	_cleanup_close_ int dir = -1;
	char path[4096];
	json_t *o = to_json(s);
	char *text = json_dumps(o, JSON_COMPACT);
	size_t len;
	int r;

	json_decref(o);
	if (!text)
		return nerr_set(err, ENOMEM, "encode state");
	len = strlen(text);
	state_path(s->cfg.id, "state.json", path, sizeof(path));
	if ((dir = id_dir_open(s->cfg.id, err)) < 0) {
		free(text);
		return dir;
	}
	r = write_file_atomic_at(dir, "state.json", text, len, 0600);
	/* a full filesystem: the reserve is this write's room */
	if ((r == -ENOSPC || r == -EDQUOT) && unlinkat(dir, STATE_RESERVE, 0) == 0)
		r = write_file_atomic_at(dir, "state.json", text, len, 0600);
	free(text);
	if (r < 0)
		return nerr_set(err, -r, "write `%s`", path);
	if (s->status == STATUS_RUNNING)
		reserve_room(dir, len);
	else if (s->status == STATUS_EXITED)
		unlinkat(dir, STATE_RESERVE, 0);
	return 0;
}

/* The most a state file may hold (argv and env make it large at times). */
#define STATE_MAX (64u << 20)

int state_read(const char *id, struct container_state *s, struct nerr *err)
{
	_cleanup_close_ int fd = -1;
	_cleanup_free_ char *text = NULL;
	char path[4096];
	struct nerr bad = { 0 };
	json_error_t je;
	size_t len = 0;
	json_t *o;
	int r;

	memset(s, 0, sizeof(*s));
	state_path(id, "state.json", path, sizeof(path));
	if ((fd = id_file_open(id, "state.json", O_RDONLY, "state file", err)) < 0) {
		if (fd == -ENOENT)
			return nerr_set(err, ENOENT, "container %.12s", id);
		return fd;
	}
	if ((r = read_fd(fd, STATE_MAX, &text, &len)) < 0)
		return nerr_set(err, -r, "read `%s`", path);
	o = json_loadb(text, len, 0, &je);
	if (!o)
		return nerr_set(err, EIO, "state of %.12s: %s", id, je.text);
	r = from_json(o, s, &bad);
	json_decref(o);
	if (r < 0) {
		container_state_free(s);
		return nerr_set(err, EIO, "state of %.12s: %s", id, bad.msg);
	}
	if (strcmp(s->cfg.id, id)) {
		container_state_free(s);
		return nerr_set(err, EIO, "state of %.12s names another container", id);
	}
	return 0;
}

/* .names/<name> -> <id>: symlinks by design (created atomically, unique
 * without a lock), read with readlinkat and never followed. */
static int names_dir_open(bool create, struct nerr *err)
{
	_cleanup_free_ char *path = xasprintf("%s/.names", runtime_dir());
	int rt = runtime_dir_fd(err);

	if (rt < 0)
		return rt;
	if (create && mkdirat(rt, ".names", 0700) < 0 && errno != EEXIST)
		return nerr_set(err, errno, "create `%s`", path);
	return open_trusted_at(rt, ".names", O_RDONLY | O_DIRECTORY, 0, S_IFDIR, "names directory", path, err);
}

/* The id a name link points at; false when it is not a link to an id. */
static bool name_target(int names, const char *name, char id[33])
{
	char target[64];
	ssize_t n = readlinkat(names, name, target, sizeof(target) - 1);

	if (n != 32)
		return false;
	target[n] = '\0';
	if (!is_hex_string(target, 32))
		return false;
	memcpy(id, target, 33);
	return true;
}

static bool id_dir_exists(const char *id)
{
	struct stat st;
	int rt = runtime_dir_fd(NULL);

	return rt >= 0 && fstatat(rt, id, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

bool state_exists(const char *id)
{
	return is_hex_string(id, 32) && id_dir_exists(id);
}

int state_claim_name(const char *name, const char *id, char holder[33], struct nerr *err)
{
	_cleanup_close_ int names = names_dir_open(true, err);

	if (names < 0)
		return names;
	for (int attempt = 0; attempt < 2; attempt++) {
		if (symlinkat(id, names, name) == 0)
			return 0;
		if (errno != EEXIST)
			return nerr_set(err, errno, "claim name `%s`", name);
		/* A name whose container is gone is free again. */
		if (name_target(names, name, holder) && id_dir_exists(holder)) {
			nerr_set(err, 0, "the container name `%s` is already in use by container %.12s", name, holder);
			err->code = EEXIST;
			return -EEXIST;
		}
		unlinkat(names, name, 0);
	}
	/* taken and freed again twice in a row: a race, not a holder */
	return nerr_set(err, EBUSY, "claim name `%s`", name);
}

void state_release_name(const char *name, const char *id)
{
	_cleanup_close_ int names = names_dir_open(false, NULL);
	char target[33];

	if (names >= 0 && name_target(names, name, target) && !strcmp(target, id))
		unlinkat(names, name, 0);
}

void state_release_names_of(const char *id)
{
	_cleanup_close_ int names = names_dir_open(false, NULL);
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *de;
	char target[33];
	int fd;

	if (names < 0 || (fd = openat(names, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return;
	if (!(d = fdopendir(fd))) {
		close(fd);
		return;
	}
	while ((de = readdir(d)))
		if (de->d_name[0] != '.' && name_target(names, de->d_name, target) && !strcmp(target, id))
			unlinkat(names, de->d_name, 0);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int state_list(char ***ids, struct nerr *err)
{
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *de;
	int rt, fd;

	*ids = NULL;
	if ((rt = runtime_dir_fd(err)) < 0)
		return rt == -ENOENT ? 0 : rt;
	/* an open file description of its own: readdir moves its offset */
	if ((fd = openat(rt, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return nerr_set(err, errno, "open `%s`", runtime_dir());
	if (!(d = fdopendir(fd))) {
		close(fd);
		return nerr_set(err, errno, "open `%s`", runtime_dir());
	}
	while ((de = readdir(d)))
		if (is_hex_string(de->d_name, 32))
			strv_push(ids, de->d_name);
	if (*ids)
		qsort(*ids, strv_len(*ids), sizeof(char *), cmp_str);
	return 0;
}

int state_lookup(const char *query, char id[33], struct nerr *err)
{
	_cleanup_strv_ char **ids = NULL;
	size_t qlen = strlen(query), matches = 0;
	int r;

	if (!qlen)
		return nerr_set(err, 0, "empty container name");
	if ((r = runtime_dir_fd(err)) < 0 && r != -ENOENT)
		return r;
	if (is_hex_string(query, 32) && id_dir_exists(query)) {
		snprintf(id, 33, "%s", query);
		return 0;
	}
	if (!strchr(query, '/') && query[0] != '.') {
		struct nerr ne = { 0 };
		_cleanup_close_ int names = names_dir_open(false, &ne);
		char target[33];

		if (names >= 0 && name_target(names, query, target) && id_dir_exists(target)) {
			memcpy(id, target, 33);
			return 0;
		}
		/* a names directory that cannot be trusted is an error, not "no such name" */
		if (names < 0 && names != -ENOENT) {
			*err = ne;
			return names;
		}
	}
	if ((r = state_list(&ids, err)) < 0)
		return r;
	for (size_t i = 0; ids && ids[i]; i++) {
		if (!strncmp(ids[i], query, qlen)) {
			if (matches++ == 0)
				snprintf(id, 33, "%s", ids[i]);
		}
	}
	if (matches == 1)
		return 0;
	if (matches > 1)
		return nerr_set(err, 0, "`%s` matches %zu containers; give more of the id", query, matches);
	err->code = ENOENT;
	snprintf(err->msg, sizeof(err->msg), "no such container: %s", query);
	return -ENOENT;
}

int state_lock_err(const char *id, bool wait, struct nerr *err)
{
	int fd = id_file_open(id, "lock", O_RDWR | O_CREAT, "lock file", err);

	if (fd < 0)
		return fd;
	if (flock(fd, LOCK_EX | (wait ? 0 : LOCK_NB)) < 0) {
		int e = errno;
		close(fd);
		if (e != EWOULDBLOCK)
			nerr_set(err, e, "lock container %.12s", id);
		return -e;
	}
	return fd;
}

int state_lock(const char *id, bool wait)
{
	return state_lock_err(id, wait, NULL);
}

bool state_supervised(const char *id)
{
	int fd = state_lock(id, false);

	if (fd >= 0) {
		close(fd);
		return false;
	}
	return fd == -EWOULDBLOCK;
}

int state_dir_create(const char *id, struct nerr *err)
{
	_cleanup_free_ char *tmp = xasprintf(".new-%s", id);
	_cleanup_free_ char *path = xasprintf("%s/%s", runtime_dir(), id);
	_cleanup_close_ int dir = -1;
	int rt, lock;

	if ((rt = runtime_dir_fd(err)) < 0)
		return rt;
	/* Made and locked under a name nobody looks at, then renamed: the
	 * garbage collection never sees a container directory without its
	 * lock held (it would take it for a crashed start and remove it). */
	if (mkdirat(rt, tmp, 0711) < 0)
		return nerr_set(err, errno, "create `%s`", path);
	if ((dir = open_trusted_at(rt, tmp, O_RDONLY | O_DIRECTORY, 0, S_IFDIR, "state directory", path, err)) < 0 ||
	    (lock = open_trusted_at(dir, "lock", O_RDWR | O_CREAT, 0600, S_IFREG, "lock file", path, err)) < 0) {
		remove_tree_at(rt, tmp);
		return dir < 0 ? dir : -err->code;
	}
	if (flock(lock, LOCK_EX | LOCK_NB) < 0 || renameat(rt, tmp, rt, id) < 0) {
		int e = errno;

		close(lock);
		remove_tree_at(rt, tmp);
		return nerr_set(err, e, "create `%s`", path);
	}
	return lock;
}

void state_gc_unfinished(void)
{
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *de;
	int rt = runtime_dir_fd(NULL), fd;

	if (rt < 0 || (fd = openat(rt, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return;
	if (!(d = fdopendir(fd))) {
		close(fd);
		return;
	}
	while ((de = readdir(d))) {
		_cleanup_close_ int dir = -1, lock = -1;
		struct stat st;

		if (strncmp(de->d_name, ".new-", 5) || !is_hex_string(de->d_name + 5, 32))
			continue;
		/* its creator died between mkdir and rename: a rename follows
		 * the mkdir at once, so one older than a minute whose lock is
		 * free is a leftover */
		dir = openat(rt, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (dir < 0 || trust_fd(dir, S_IFDIR, "", "", NULL) < 0 || fstat(dir, &st) < 0 ||
		    (uint64_t)st.st_mtim.tv_sec + 60 > realtime_ns() / 1000000000ull)
			continue;
		lock = openat(dir, "lock", O_RDWR | O_NOFOLLOW | O_CLOEXEC);
		if (lock >= 0 && flock(lock, LOCK_EX | LOCK_NB) < 0)
			continue;
		remove_tree_at(rt, de->d_name);
	}
}
