/* manifest.json of a checkpoint directory: what restore checks before it
 * reads anything else (the format, the architecture, the version that
 * wrote it) and the runtime fields the configuration does not hold. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/utsname.h>
#include <jansson.h>
#include <nucleus/checkpoint.h>

void ckpt_manifest_free(struct ckpt_manifest *m)
{
	for (size_t i = 0; i < CKPT_STDIO; i++)
		free(m->stdio[i]);
	strv_free(m->ext_files);
	strv_free(m->ext_file_paths);
	strv_free(m->ext_file_sha256);
	strv_free(m->ext_mounts);
	strv_free(m->ext_sources);
	memset(m, 0, sizeof(*m));
}

static json_t *strv_json(char *const *v)
{
	json_t *a = json_array();

	for (size_t i = 0; v && v[i]; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

static json_t *ext_files_json(const struct ckpt_manifest *m)
{
	json_t *a = json_array();

	for (size_t i = 0; m->ext_files && m->ext_files[i]; i++)
		json_array_append_new(a, json_pack("{s:s,s:s,s:s}", "key", m->ext_files[i], "path",
						   m->ext_file_paths[i], "sha256", m->ext_file_sha256[i]));
	return a;
}

json_t *ckpt_manifest_to_json(const struct ckpt_manifest *m)
{
	json_t *stdio = json_array();

	for (size_t i = 0; i < CKPT_STDIO; i++)
		json_array_append_new(stdio, m->stdio[i] ? json_string(m->stdio[i]) : json_null());
	return json_pack("{s:i,s:s,s:s,s:s,s:s,s:s,s:s,s:I,s:b,s:I,s:I,s:o,s:o,s:o,s:o}",
			 "format", (int)m->format, "nucleus_version", m->nucleus_version, "arch", m->arch,
			 "kernel", m->kernel, "criu_version", m->criu_version, "id", m->id, "name", m->name,
			 "created_ns", (json_int_t)m->created_ns, "leave_running", m->leave_running,
			 "started_ns", (json_int_t)m->started_ns, "restarts", (json_int_t)m->restarts,
			 "stdio", stdio, "external_mounts", strv_json(m->ext_mounts),
			 "external_sources", strv_json(m->ext_sources),
			 "external_files", ext_files_json(m));
}

static int get_text(const json_t *o, const char *key, char *buf, size_t len, struct nerr *err)
{
	const json_t *v = json_object_get(o, key);

	if (!json_is_string(v) || json_string_length(v) >= len || strlen(json_string_value(v)) != json_string_length(v))
		return CKPT_FAIL(err, EINVAL, "manifest: `%s` is not a string of at most %zu bytes", key, len - 1);
	memcpy(buf, json_string_value(v), json_string_length(v) + 1);
	return 0;
}

static int get_u64(const json_t *o, const char *key, uint64_t *out, struct nerr *err)
{
	const json_t *v = json_object_get(o, key);

	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return CKPT_FAIL(err, EINVAL, "manifest: `%s` is not a non-negative integer", key);
	*out = (uint64_t)json_integer_value(v);
	return 0;
}

static int get_paths(const json_t *o, const char *key, char ***out, struct nerr *err)
{
	const json_t *a = json_object_get(o, key), *v;
	size_t i;

	if (!json_is_array(a))
		return CKPT_FAIL(err, EINVAL, "manifest: `%s` is not an array", key);
	*out = xcalloc(1, sizeof(char *));
	json_array_foreach(a, i, v) {
		if (!json_is_string(v) || json_string_length(v) >= 4096 || json_string_value(v)[0] != '/')
			return CKPT_FAIL(err, EINVAL, "manifest: `%s`[%zu] is not an absolute path", key, i);
		strv_push(out, json_string_value(v));
	}
	return 0;
}

int ckpt_manifest_from_json(const json_t *o, struct ckpt_manifest *m, struct nerr *err)
{
	static const char *const keys[] = { "format", "nucleus_version", "arch", "kernel", "criu_version", "id",
					    "name", "created_ns", "leave_running", "started_ns", "restarts", "stdio",
					    "external_mounts", "external_sources", "external_files", NULL };
	const char *k;
	const json_t *v, *stdio;
	uint64_t u;
	int rc;

	memset(m, 0, sizeof(*m));
	if (!json_is_object(o))
		return CKPT_FAIL(err, EINVAL, "manifest: not a JSON object");
	json_object_foreach((json_t *)o, k, v) {
		size_t i;

		for (i = 0; keys[i] && strcmp(keys[i], k); i++)
			;
		if (!keys[i])
			return CKPT_FAIL(err, EINVAL, "manifest: %.64s: unknown key", k);
	}
	/* the format first: a later one may change anything else */
	if ((rc = get_u64(o, "format", &u, err)) < 0)
		goto fail;
	m->format = u > 1000000 ? 1000000 : (unsigned)u;
	if (m->format != CKPT_FORMAT_VERSION)
		return 0;    /* ckpt_manifest_compatible says so */
	if ((rc = get_text(o, "nucleus_version", m->nucleus_version, sizeof(m->nucleus_version), err)) < 0 ||
	    (rc = get_text(o, "arch", m->arch, sizeof(m->arch), err)) < 0 ||
	    (rc = get_text(o, "kernel", m->kernel, sizeof(m->kernel), err)) < 0 ||
	    (rc = get_text(o, "criu_version", m->criu_version, sizeof(m->criu_version), err)) < 0 ||
	    (rc = get_text(o, "id", m->id, sizeof(m->id), err)) < 0 ||
	    (rc = get_text(o, "name", m->name, sizeof(m->name), err)) < 0 ||
	    (rc = get_u64(o, "created_ns", &m->created_ns, err)) < 0 ||
	    (rc = get_u64(o, "started_ns", &m->started_ns, err)) < 0 ||
	    (rc = get_u64(o, "restarts", &u, err)) < 0)
		goto fail;
	m->restarts = u > 1000000000 ? 1000000000 : (unsigned)u;
	if (!is_hex_string(m->id, 32)) {
		rc = CKPT_FAIL(err, EINVAL, "manifest: `id` is not a container id");
		goto fail;
	}
	v = json_object_get(o, "leave_running");
	if (!json_is_boolean(v)) {
		rc = CKPT_FAIL(err, EINVAL, "manifest: `leave_running` is not a boolean");
		goto fail;
	}
	m->leave_running = json_is_true(v);
	stdio = json_object_get(o, "stdio");
	if (!json_is_array(stdio) || json_array_size(stdio) != CKPT_STDIO) {
		rc = CKPT_FAIL(err, EINVAL, "manifest: `stdio` is not an array of %d", CKPT_STDIO);
		goto fail;
	}
	for (size_t i = 0; i < CKPT_STDIO; i++) {
		v = json_array_get(stdio, i);
		if (json_is_null(v))
			continue;
		/* what CRIU names a pipe by, nothing else */
		if (!json_is_string(v) || json_string_length(v) > 40 ||
		    (strncmp(json_string_value(v), "pipe:[", 6) && strncmp(json_string_value(v), "file[", 5))) {
			rc = CKPT_FAIL(err, EINVAL, "manifest: `stdio`[%zu] is neither a pipe nor an external file", i);
			goto fail;
		}
		m->stdio[i] = xstrdup(json_string_value(v));
	}
	if ((rc = get_paths(o, "external_mounts", &m->ext_mounts, err)) < 0 ||
	    (rc = get_paths(o, "external_sources", &m->ext_sources, err)) < 0)
		goto fail;
	v = json_object_get(o, "external_files");
	if (!json_is_array(v)) {
		rc = CKPT_FAIL(err, EINVAL, "manifest: `external_files` is not an array");
		goto fail;
	}
	m->ext_files = xcalloc(1, sizeof(char *));
	m->ext_file_paths = xcalloc(1, sizeof(char *));
	m->ext_file_sha256 = xcalloc(1, sizeof(char *));
	for (size_t i = 0; i < json_array_size(v); i++) {
		const json_t *e = json_array_get(v, i), *key = json_object_get(e, "key"),
			     *path = json_object_get(e, "path"), *sum = json_object_get(e, "sha256");

		if (!json_is_object(e) || json_object_size(e) != 3 || !json_is_string(key) ||
		    json_string_length(key) > 40 || strncmp(json_string_value(key), "file[", 5) ||
		    !json_is_string(path) || json_string_value(path)[0] != '/' || json_string_length(path) >= 4096 ||
		    !json_is_string(sum) || !is_hex_string(json_string_value(sum), 64)) {
			rc = CKPT_FAIL(err, EINVAL, "manifest: `external_files`[%zu] is not {key, path, sha256}", i);
			goto fail;
		}
		strv_push(&m->ext_files, json_string_value(key));
		strv_push(&m->ext_file_paths, json_string_value(path));
		strv_push(&m->ext_file_sha256, json_string_value(sum));
	}
	if (strv_len(m->ext_mounts) != strv_len(m->ext_sources)) {
		rc = CKPT_FAIL(err, EINVAL, "manifest: `external_mounts` and `external_sources` differ in length");
		goto fail;
	}
	return 0;
fail:
	ckpt_manifest_free(m);
	return rc;
}

/* "0.1.0" -> the "0.1" part: a patch release reads its minor's
 * checkpoints. */
static size_t major_minor_len(const char *v)
{
	const char *dot = strchr(v, '.');

	if (dot && (dot = strchr(dot + 1, '.')))
		return (size_t)(dot - v);
	return strlen(v);
}

int ckpt_manifest_compatible(const struct ckpt_manifest *m, const char *arch, struct nerr *err)
{
	struct utsname u;
	size_t n = major_minor_len(NUCLEUS_VERSION);

	if (m->format != CKPT_FORMAT_VERSION)
		return CKPT_FAIL(err, EPROTO, "checkpoint format %u, this nucleus reads format %d", m->format,
				CKPT_FORMAT_VERSION);
	if (!arch) {
		uname(&u);
		arch = u.machine;
	}
	if (strcmp(m->arch, arch))
		return CKPT_FAIL(err, EPROTO, "checkpoint made on %s, this host is %s", m->arch, arch);
	if (major_minor_len(m->nucleus_version) != n || strncmp(m->nucleus_version, NUCLEUS_VERSION, n))
		return CKPT_FAIL(err, EPROTO, "checkpoint made by nucleus %s, this is %s (another major.minor)",
				m->nucleus_version, NUCLEUS_VERSION);
	return 0;
}

int ckpt_manifest_write(int dirfd, const struct ckpt_manifest *m, struct nerr *err)
{
	json_t *o = ckpt_manifest_to_json(m);
	_cleanup_free_ char *text = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);

	int rc;

	json_decref(o);
	if (!text)
		return nerr_set(err, ENOMEM, "manifest");
	if ((rc = write_file_at(dirfd, CKPT_MANIFEST, text, strlen(text), 0600)) < 0)
		return nerr_set(err, -rc, "write %s", CKPT_MANIFEST);
	return 0;
}

int ckpt_manifest_read(int dirfd, struct ckpt_manifest *m, struct nerr *err)
{
	_cleanup_free_ char *text = NULL;
	json_error_t je;
	json_t *o;
	int rc;

	memset(m, 0, sizeof(*m));
	if ((rc = read_file_at(dirfd, CKPT_MANIFEST, 1 << 20, &text, NULL)) < 0)
		return nerr_set(err, -rc, "read %s (not a checkpoint directory?)", CKPT_MANIFEST);
	if (!(o = json_loads(text, JSON_REJECT_DUPLICATES, &je)))
		return CKPT_FAIL(err, EINVAL, "%s: %s (line %d)", CKPT_MANIFEST, je.text, je.line);
	rc = ckpt_manifest_from_json(o, m, err);
	json_decref(o);
	return rc;
}
