/* One object's lifecycle: its pinned set found or loaded and pinned, the
 * entries of owners that died, the raw-tracepoint links that exist while
 * some container uses them. The layout (names, pin order, the `abi` link)
 * is shared with other builds running on the host: it does not change. */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <nucleus/ebpf.h>

char *bpf_set_dir(const struct bpf_set_def *def, unsigned level, const char *variant)
{
	return xasprintf("%s/%s-%s-l%u%s%s", BPF_PIN_ROOT, def->object, def->version, level, variant ? "-" : "",
			 variant ? variant : "");
}

/* The complete set of def at level, or NULL. A set with variants is found
 * by its stem (the loader that pinned it chose the variant). */
static char *find_set(const struct bpf_set_def *def, unsigned level)
{
	_cleanup_free_ char *dir = NULL, *stem = NULL;
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *de;

	if (!def->variants) {
		dir = bpf_set_dir(def, level, NULL);
		return bpf_pins_complete(dir, def->maps) ? steal_ptr(dir) : NULL;
	}
	stem = xasprintf("%s-%s-l%u-", def->object, def->version, level);
	d = opendir(BPF_PIN_ROOT);
	while (d && (de = readdir(d)))
		if (str_has_prefix(de->d_name, stem)) {
			dir = xasprintf("%s/%s", BPF_PIN_ROOT, de->d_name);
			if (bpf_pins_complete(dir, def->maps))
				return steal_ptr(dir);
			free(steal_ptr(dir));
		}
	return NULL;
}

/* The ABI first (a set is complete only with its last pin), then the
 * programs, then the maps. */
static int pin_set(const struct bpf_set_def *def, const struct bpf_loaded *l, const char *dir, struct nerr *err)
{
	char path[4096];
	int r;

	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return nerr_set(err, errno, "create `%s`", dir);
	if (def->abi && (r = bpf_set_mark_abi(dir, def->abi)) < 0)
		return nerr_set(err, -r, "mark `%s`", dir);
	for (size_t i = 0; l->progs[i]; i++) {
		struct bpf_program *p = bpf_object__find_program_by_name(l->obj, l->progs[i]);

		snprintf(path, sizeof(path), "%s/%s", dir, l->pins ? l->pins[i] : l->progs[i]);
		if (!p || (r = bpf_program__pin(p, path)) < 0)
			return nerr_set(err, p ? -r : ENOENT, "pin `%s`", path);
	}
	for (size_t i = 0; def->maps[i]; i++) {
		struct bpf_map *m = bpf_object__find_map_by_name(l->obj, def->maps[i]);

		snprintf(path, sizeof(path), "%s/%s", dir, def->maps[i]);
		if (!m || (r = bpf_map__pin(m, path)) < 0)
			return nerr_set(err, m ? -r : ENOENT, "pin `%s`", path);
	}
	return 0;
}

/* Load and pin once per host; every later run only finds the pins. When
 * this takes the load lock (the set was not there), *held gets it: the
 * caller keeps it until its entry is in, so that no collector can unpin the
 * new set in between (while the containers of two builds come and go, each
 * build's collector would otherwise take the other's set for unused). */
static int ensure_pinned(const struct bpf_set_def *def, unsigned level, void *gone_arg, char **dir_out, int *held,
			 struct nerr *err)
{
	struct bpf_loaded l = { 0 };
	_cleanup_free_ char *dir = find_set(def, level);
	int lock, r = 0;

	*held = -1;
	if (dir)
		goto found;
	if ((r = bpffs_ensure(err)) < 0 || (lock = bpf_load_lock(err)) < 0)
		return r < 0 ? r : lock;
	if ((dir = find_set(def, level)))      /* another run got there first */
		goto out;
	bpf_quiet_libbpf();
	if ((r = def->load(level, &l, err)) < 0)
		goto out;
	dir = bpf_set_dir(def, level, l.variant);
	remove_tree(dir);                      /* a half-pinned set of a crashed loader */
	if ((r = pin_set(def, &l, dir, err)) < 0) {
		remove_tree(dir);
		goto out;
	}
	/* Other builds' sets stay while their containers run (their counters,
	 * links and cleanup need the pins); the unused ones go now. */
	bpf_sets_collect(def->object, def->version, level, def->owners, def->gone, gone_arg);
	log_debug("%s: loaded and pinned %s%s%s%s", def->object, dir, l.how ? " (" : "", l.how ? l.how : "",
		  l.how ? ")" : "");
out:
	if (l.skel)
		def->unload(l.skel);
	if (r < 0) {
		close(lock);
		return r;
	}
	*held = lock;
found:
	*dir_out = steal_ptr(dir);
	return 0;
}

int bpf_set_acquire(const struct bpf_set_def *def, unsigned level, bool exclusive, void *gone_arg, char **dir,
		    struct nerr *err)
{
	int lock, r;

	*dir = NULL;
	for (int tries = 0;; tries++) {
		if ((r = ensure_pinned(def, level, gone_arg, dir, &lock, err)) < 0)
			return r;
		if (lock >= 0)
			return lock;           /* pinned under the load lock, which is held */
		if ((lock = exclusive ? bpf_load_lock(err) : bpf_use_lock(err)) < 0) {
			free(steal_ptr(*dir));
			return lock;
		}
		/* a collector may have unpinned it before the lock was taken */
		if (bpf_pins_complete(*dir, def->maps))
			return lock;
		close(lock);
		if (tries == 2) {
			if (def->variants)
				r = nerr_set(err, ESTALE, "the pinned %s set keeps disappearing", def->object);
			else
				r = nerr_set(err, ESTALE, "the pinned set `%s` keeps disappearing", *dir);
			free(steal_ptr(*dir));
			return r;
		}
		free(steal_ptr(*dir));
	}
}

void bpf_set_collect_others(const struct bpf_set_def *def, unsigned level, void *gone_arg)
{
	if (bpf_sets_others(def->object, def->version, level))
		bpf_sets_collect(def->object, def->version, level, def->owners, def->gone, gone_arg);
}

void bpf_sets_gc(const struct bpf_set_def *def, unsigned level,
		 void (*fn)(const char *dir, const int *fds, void *arg), void *arg, void *gone_arg)
{
	_cleanup_strv_ char **sets = bpf_sets_list(def->object, level);
	size_t nmaps = strv_len((char **)def->maps);
	_cleanup_free_ int *fds = xcalloc(nmaps ? nmaps : 1, sizeof(*fds));
	int lock;

	if (!sets || (lock = bpf_load_lock(NULL)) < 0)
		return;
	for (size_t i = 0; sets[i]; i++) {
		_cleanup_free_ char *dir = xasprintf("%s/%s", BPF_PIN_ROOT, sets[i]);
		size_t open = 0;

		if (!bpf_set_compatible(dir, def->version, def->abi ? def->abi : ""))
			continue;
		while (open < nmaps && (fds[open] = bpf_pin_open(dir, def->maps[open], NULL)) >= 0)
			open++;
		if (open == nmaps)
			fn(dir, fds, arg);
		while (open > 0)
			close(fds[--open]);
	}
	bpf_set_collect_others(def, level, gone_arg);
	close(lock);
}

size_t bpf_owners_collect(int fd, size_t value_size, bool (*dead)(const void *value),
			  void (*forget)(uint64_t cgid, void *arg), void *arg, const char *what)
{
	_cleanup_free_ void *value = xmalloc(value_size);
	uint64_t key, next, *prev = NULL;
	size_t live = 0;

	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(fd, &key, value) < 0)
			continue;
		if (dead(value)) {
			log_debug("%s: collecting the entries of an owner that died (cgroup %llu)", what,
				  (unsigned long long)key);
			forget(key, arg);
			prev = NULL;           /* the walk starts over after a delete */
			live = 0;
			continue;
		}
		live++;
	}
	return live;
}

int bpf_links_sync(const char *dir, const struct bpf_tp_link *links, size_t n, bool on, struct nerr *err)
{
	for (size_t i = 0; i < n; i++) {
		char path[4096];
		int pfd, lfd;

		if (links[i].link)
			snprintf(path, sizeof(path), "%s/%s", dir, links[i].link);
		else
			snprintf(path, sizeof(path), "%s/link_%s", dir, links[i].prog);
		if (!on) {
			unlink(path);
			continue;
		}
		if (access(path, F_OK) == 0)
			continue;
		if ((pfd = bpf_pin_open(dir, links[i].prog, err)) < 0)
			return pfd;
		lfd = bpf_raw_tracepoint_open(links[i].tp, pfd);
		close(pfd);
		if (lfd < 0)
			return nerr_set(err, -lfd, "attach %s", links[i].prog);
		if (bpf_obj_pin(lfd, path) < 0) {
			int e = errno;
			close(lfd);
			return nerr_set(err, e, "pin `%s`", path);
		}
		close(lfd);
	}
	return 0;
}
