/* The state store: one directory per container under the runtime dir. */
#include <errno.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <jansson.h>
#include <nucleus/container.h>

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
	strv_free(s->argv);
	s->argv = NULL;
	strv_free(s->env);
	s->env = NULL;
	free(s->seccomp_profile);
	s->seccomp_profile = NULL;
	strv_free(s->addresses);
	strv_free(s->ports);
	s->addresses = s->ports = NULL;
	strv_free(s->bpf_pins);
	s->bpf_pins = NULL;
	if (s->landlock) {
		landlock_spec_free(s->landlock);
		free(s->landlock);
		s->landlock = NULL;
	}
}

static json_t *landlock_to_json(const struct landlock_spec *l)
{
	json_t *o, *rules = json_array(), *net = json_array();

	if (!l)
		return json_null();
	for (size_t i = 0; i < l->nrules; i++)
		json_array_append_new(rules, json_pack("{s:s,s:I}", "path", l->rules[i].path,
						       "access", (json_int_t)l->rules[i].access));
	for (size_t i = 0; i < l->nnet; i++)
		json_array_append_new(net, json_pack("{s:i,s:I}", "port", l->net[i].port,
						     "access", (json_int_t)l->net[i].access));
	o = json_pack("{s:i,s:o,s:o,s:b,s:I,s:b}", "min_abi", l->min_abi, "rules", rules, "net", net,
		      "restrict_net", l->restrict_net, "scopes", (json_int_t)l->scopes,
		      "best_effort", l->best_effort);
	return o;
}

static struct landlock_spec *landlock_from_json(json_t *o)
{
	struct landlock_spec *l;
	json_t *v;
	size_t i;

	if (!json_is_object(o))
		return NULL;
	l = xcalloc(1, sizeof(*l));
	l->min_abi = (int)json_integer_value(json_object_get(o, "min_abi"));
	l->restrict_net = json_is_true(json_object_get(o, "restrict_net"));
	l->scopes = (uint64_t)json_integer_value(json_object_get(o, "scopes"));
	l->best_effort = json_is_true(json_object_get(o, "best_effort"));
	json_array_foreach(json_object_get(o, "rules"), i, v) {
		const char *p = json_string_value(json_object_get(v, "path"));
		if (!p)
			continue;
		l->rules = xrealloc(l->rules, (l->nrules + 1) * sizeof(*l->rules));
		l->rules[l->nrules].path = xstrdup(p);
		l->rules[l->nrules].access = (uint64_t)json_integer_value(json_object_get(v, "access"));
		l->nrules++;
	}
	json_array_foreach(json_object_get(o, "net"), i, v) {
		l->net = xrealloc(l->net, (l->nnet + 1) * sizeof(*l->net));
		l->net[l->nnet].port = (uint16_t)json_integer_value(json_object_get(v, "port"));
		l->net[l->nnet].access = (uint64_t)json_integer_value(json_object_get(v, "access"));
		l->nnet++;
	}
	return l;
}

int state_path(const char *id, const char *file, char *buf, size_t len)
{
	int n = file ? snprintf(buf, len, "%s/%s/%s", runtime_dir(), id, file)
		     : snprintf(buf, len, "%s/%s", runtime_dir(), id);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

bool state_pid_alive(const struct container_state *s)
{
	return s->pid > 0 && s->pid_start && proc_start_time(s->pid) == s->pid_start;
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

static json_t *to_json(const struct container_state *s)
{
	json_t *o = json_object(), *argv = json_array();
	char t[64];

	for (size_t i = 0; s->argv && s->argv[i]; i++)
		json_array_append_new(argv, json_string(s->argv[i]));
	json_object_set_new(o, "id", json_string(s->id));
	json_object_set_new(o, "name", json_string(s->name));
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
	json_object_set_new(o, "detached", json_boolean(s->detached));
	json_object_set_new(o, "remove_on_exit", json_boolean(s->remove_on_exit));
	json_object_set_new(o, "command", argv);
	/* values included (the file is 0600): attach starts from them */
	json_object_set_new(o, "env", strv_json(s->env));
	json_object_set_new(o, "rootless", json_boolean(s->rootless));
	json_object_set_new(o, "userns", json_boolean(s->userns));
	json_object_set_new(o, "has_context", json_boolean(s->has_context));
	json_object_set_new(o, "context_mode", json_string(s->context_mode == CONTEXT_BIND ? "bind" : "copy"));
	json_object_set_new(o, "seccomp_key", json_string(s->seccomp_key));
	json_object_set_new(o, "seccomp_flags", json_integer(s->seccomp_flags));
	json_object_set_new(o, "seccomp_profile", s->seccomp_profile ? json_string(s->seccomp_profile) : json_null());
	json_object_set_new(o, "seccomp_trace", json_boolean(s->seccomp_trace));
	json_object_set_new(o, "memory_limit", json_integer((json_int_t)s->memory_limit));
	json_object_set_new(o, "pids_limit", json_integer((json_int_t)s->pids_limit));
	json_object_set_new(o, "cpu_quota_us", json_integer((json_int_t)s->cpu_quota_us));
	json_object_set_new(o, "cpu_period_us", json_integer((json_int_t)s->cpu_period_us));
	json_object_set_new(o, "cgroup_layout", json_string(s->cgroup_layout));
	json_object_set_new(o, "egress", json_boolean(s->egress));
	json_object_set_new(o, "network", json_string(s->network));
	json_object_set_new(o, "addresses", strv_json(s->addresses));
	json_object_set_new(o, "ports", strv_json(s->ports));
	json_object_set_new(o, "audit", json_boolean(s->audit));
	json_object_set_new(o, "audit_path", json_string(s->audit_path));
	json_object_set_new(o, "cgroup_level", json_integer(s->cgroup_level));
	json_object_set_new(o, "bpf_pins", strv_json(s->bpf_pins));
	json_object_set_new(o, "log_path", json_string(s->log_path));
	json_object_set_new(o, "hostname", json_string(s->hostname));
	json_object_set_new(o, "workdir", json_string(s->workdir));
	json_object_set_new(o, "memlock", json_integer((json_int_t)s->memlock));
	json_object_set_new(o, "caps", json_pack("{s:I,s:I,s:I,s:I,s:I,s:b}",
		"bounding", (json_int_t)s->caps.bounding, "permitted", (json_int_t)s->caps.permitted,
		"effective", (json_int_t)s->caps.effective, "inheritable", (json_int_t)s->caps.inheritable,
		"ambient", (json_int_t)s->caps.ambient, "root_gains_at_exec", s->caps.root_gains_at_exec));
	json_object_set_new(o, "landlock_policy", landlock_to_json(s->landlock));
	return o;
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

static void from_json(json_t *o, struct container_state *s)
{
	json_t *argv = json_object_get(o, "command");
	char buf[32];
	size_t i;
	json_t *v;

	memset(s, 0, sizeof(*s));
	get_str(o, "id", s->id, sizeof(s->id));
	get_str(o, "name", s->name, sizeof(s->name));
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
	s->detached = json_is_true(json_object_get(o, "detached"));
	s->remove_on_exit = json_is_true(json_object_get(o, "remove_on_exit"));
	json_array_foreach(argv, i, v)
		if (json_is_string(v))
			strv_push(&s->argv, json_string_value(v));
	s->env = json_strv(json_object_get(o, "env"));
	s->rootless = json_is_true(json_object_get(o, "rootless"));
	s->userns = json_is_true(json_object_get(o, "userns"));
	s->has_context = json_is_true(json_object_get(o, "has_context"));
	get_str(o, "context_mode", buf, sizeof(buf));
	s->context_mode = !strcmp(buf, "bind") ? CONTEXT_BIND : CONTEXT_COPY;
	get_str(o, "seccomp_key", s->seccomp_key, sizeof(s->seccomp_key));
	s->seccomp_flags = (unsigned)get_u64(o, "seccomp_flags");
	if (json_is_string(json_object_get(o, "seccomp_profile")))
		s->seccomp_profile = xstrdup(json_string_value(json_object_get(o, "seccomp_profile")));
	s->seccomp_trace = json_is_true(json_object_get(o, "seccomp_trace"));
	s->memory_limit = get_u64(o, "memory_limit");
	s->pids_limit = get_u64(o, "pids_limit");
	s->cpu_quota_us = get_u64(o, "cpu_quota_us");
	s->cpu_period_us = get_u64(o, "cpu_period_us");
	get_str(o, "cgroup_layout", s->cgroup_layout, sizeof(s->cgroup_layout));
	s->egress = json_is_true(json_object_get(o, "egress"));
	get_str(o, "network", s->network, sizeof(s->network));
	s->addresses = json_strv(json_object_get(o, "addresses"));
	s->ports = json_strv(json_object_get(o, "ports"));
	s->audit = json_is_true(json_object_get(o, "audit"));
	get_str(o, "audit_path", s->audit_path, sizeof(s->audit_path));
	s->cgroup_level = (unsigned)get_u64(o, "cgroup_level");
	s->bpf_pins = json_strv(json_object_get(o, "bpf_pins"));
	get_str(o, "log_path", s->log_path, sizeof(s->log_path));
	get_str(o, "hostname", s->hostname, sizeof(s->hostname));
	get_str(o, "workdir", s->workdir, sizeof(s->workdir));
	s->memlock = get_u64(o, "memlock");
	{
		json_t *c = json_object_get(o, "caps");
		s->caps.bounding = get_u64(c, "bounding");
		s->caps.permitted = get_u64(c, "permitted");
		s->caps.effective = get_u64(c, "effective");
		s->caps.inheritable = get_u64(c, "inheritable");
		s->caps.ambient = get_u64(c, "ambient");
		s->caps.root_gains_at_exec = json_is_true(json_object_get(c, "root_gains_at_exec"));
	}
	s->landlock = landlock_from_json(json_object_get(o, "landlock_policy"));
}

int state_write(const struct container_state *s, struct nerr *err)
{
	char path[4096];
	json_t *o = to_json(s);
	char *text = json_dumps(o, JSON_COMPACT);
	int r;

	json_decref(o);
	if (!text)
		return nerr_set(err, ENOMEM, "encode state");
	state_path(s->id, "state.json", path, sizeof(path));
	r = write_file_atomic(path, text, strlen(text), 0600);
	free(text);
	if (r < 0)
		return nerr_set(err, -r, "write `%s`", path);
	return 0;
}

int state_read(const char *id, struct container_state *s, struct nerr *err)
{
	char path[4096];
	json_error_t je;
	json_t *o;

	state_path(id, "state.json", path, sizeof(path));
	o = json_load_file(path, 0, &je);
	if (!o) {
		if (access(path, F_OK) < 0)
			return nerr_set(err, errno, "container %.12s", id);
		return nerr_set(err, EIO, "state of %.12s: %s", id, je.text);
	}
	from_json(o, s);
	json_decref(o);
	if (strcmp(s->id, id)) {
		container_state_free(s);
		return nerr_set(err, EIO, "state of %.12s names another container", id);
	}
	return 0;
}

static char *names_dir(void)
{
	return xasprintf("%s/.names", runtime_dir());
}

int state_claim_name(const char *name, const char *id, struct nerr *err)
{
	_cleanup_free_ char *dir = names_dir();
	_cleanup_free_ char *link = xasprintf("%s/%s", dir, name);
	char target[64];
	ssize_t n;

	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return nerr_set(err, errno, "create `%s`", dir);
	for (int attempt = 0; attempt < 2; attempt++) {
		if (symlink(id, link) == 0)
			return 0;
		if (errno != EEXIST)
			return nerr_set(err, errno, "claim name `%s`", name);
		/* A name whose container is gone is free again. */
		n = readlink(link, target, sizeof(target) - 1);
		if (n > 0) {
			char sp[4096];
			target[n] = '\0';
			state_path(target, NULL, sp, sizeof(sp));
			if (access(sp, F_OK) == 0)
				break;
		}
		unlink(link);
	}
	return nerr_set(err, 0, "the container name `%s` is already in use", name);
}

void state_release_name(const char *name, const char *id)
{
	_cleanup_free_ char *dir = names_dir();
	_cleanup_free_ char *link = xasprintf("%s/%s", dir, name);
	char target[64];
	ssize_t n = readlink(link, target, sizeof(target) - 1);

	if (n > 0) {
		target[n] = '\0';
		if (!strcmp(target, id))
			unlink(link);
	}
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int state_list(char ***ids, struct nerr *err)
{
	_cleanup_closedir_ DIR *d = opendir(runtime_dir());
	struct dirent *de;

	*ids = NULL;
	if (!d) {
		if (errno == ENOENT)
			return 0;
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
	_cleanup_free_ char *link = NULL;
	_cleanup_free_ char *dir = names_dir();
	char target[64], sp[4096];
	size_t qlen = strlen(query), matches = 0;
	ssize_t n;
	int r;

	if (!qlen)
		return nerr_set(err, 0, "empty container name");
	if (is_hex_string(query, 32)) {
		state_path(query, NULL, sp, sizeof(sp));
		if (access(sp, F_OK) == 0) {
			snprintf(id, 33, "%s", query);
			return 0;
		}
	}
	if (!strchr(query, '/')) {
		link = xasprintf("%s/%s", dir, query);
		n = readlink(link, target, sizeof(target) - 1);
		if (n == 32) {
			target[n] = '\0';
			state_path(target, NULL, sp, sizeof(sp));
			if (access(sp, F_OK) == 0) {
				snprintf(id, 33, "%s", target);
				return 0;
			}
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

int state_lock(const char *id, bool wait)
{
	char path[4096];
	int fd;

	state_path(id, "lock", path, sizeof(path));
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -errno;
	if (flock(fd, LOCK_EX | (wait ? 0 : LOCK_NB)) < 0) {
		int e = errno;
		close(fd);
		return -e;
	}
	return fd;
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
