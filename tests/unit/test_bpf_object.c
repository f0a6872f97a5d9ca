/* One BPF object's lifecycle (src/ebpf/object.c): its pinned set found or
 * loaded and pinned once, other versions' unused sets collected, the owners
 * map's dead entries forgotten, tracepoint links pinned and unpinned.
 *
 * The tests that load or create BPF objects need root; they run in a mount
 * namespace of this process's own with a fresh bpffs on /sys/fs/bpf, so the
 * host's pins are neither seen nor touched. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <nucleus/ebpf.h>
#include "probe.skel.h"

static bool private_bpffs;   /* root, in a namespace of our own with an empty bpffs */

static bool exists(const char *dir, const char *name)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return access(path, F_OK) == 0;
}

/* ---- set names ------------------------------------------------------------------------ */

static const char *const no_maps[] = { NULL };

static void set_dirs(void **state)
{
	struct bpf_set_def def = { .object = "egress", .version = "95df90ac556ee535", .maps = no_maps };
	_cleanup_free_ char *plain = bpf_set_dir(&def, 2, NULL);
	_cleanup_free_ char *variant = bpf_set_dir(&def, 13, "tp-eperm");
	char v[33];
	unsigned level;

	assert_string_equal(plain, "/sys/fs/bpf/nucleus/egress-95df90ac556ee535-l2");
	assert_string_equal(variant, "/sys/fs/bpf/nucleus/egress-95df90ac556ee535-l13-tp-eperm");
	/* what the collectors parse back */
	assert_true(bpf_set_parse(strrchr(variant, '/') + 1, "egress", v, &level));
	assert_string_equal(v, "95df90ac556ee535");
	assert_int_equal(level, 13);
}

/* ---- links ------------------------------------------------------------------------------ */

/* Without `on` every link pin goes; with it, a pinned link is left as it
 * is and a missing one needs its program's pin. No BPF needed. */
static void links_sync_pins(void **state)
{
	char tmp[] = "/tmp/nucleus-links-XXXXXX";
	const struct bpf_tp_link links[] = {
		{ .prog = "lsm_exec" },
		{ .prog = "enter_raw", .link = "link_enter", .tp = "sys_enter" },
	};
	struct nerr e = { 0 };
	char path[4096];

	assert_non_null(mkdtemp(tmp));
	for (size_t i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "%s/%s", tmp, i ? "link_enter" : "link_lsm_exec");
		assert_int_equal(write_file(path, "", 0, 0600), 0);
	}
	assert_int_equal(bpf_links_sync(tmp, links, 2, true, &e), 0);   /* both there: nothing to do */
	assert_true(exists(tmp, "link_lsm_exec") && exists(tmp, "link_enter"));
	assert_int_equal(bpf_links_sync(tmp, links, 2, false, &e), 0);
	assert_false(exists(tmp, "link_lsm_exec"));
	assert_false(exists(tmp, "link_enter"));
	assert_int_equal(bpf_links_sync(tmp, links, 2, false, &e), 0);  /* gone already: fine */
	/* a link to make, but no program pinned */
	assert_int_equal(bpf_links_sync(tmp, links, 2, true, &e), -ENOENT);
	assert_non_null(strstr(e.msg, "lsm_exec"));
	assert_false(exists(tmp, "link_lsm_exec"));
	remove_tree(tmp);
}

/* ---- owners ----------------------------------------------------------------------------- */

struct owner {
	uint64_t pid, dead;
};

static bool owner_dead(const void *v)
{
	return ((const struct owner *)v)->dead != 0;
}

static void forget(uint64_t cgid, void *arg)
{
	int fd = *(int *)arg;

	bpf_map_delete_elem(fd, &cgid);
}

static void owners_collect(void **state)
{
	int fd;
	uint64_t key, next, *prev = NULL, seen = 0;

	if (!private_bpffs)
		skip();
	fd = bpf_map_create(BPF_MAP_TYPE_HASH, "unit_owners", sizeof(uint64_t), sizeof(struct owner), 64, NULL);
	assert_true(fd >= 0);
	for (uint64_t cgid = 1; cgid <= 10; cgid++) {
		struct owner o = { .pid = 100 + cgid, .dead = cgid % 3 == 0 };   /* 3, 6 and 9 died */

		assert_int_equal(bpf_map_update_elem(fd, &cgid, &o, BPF_ANY), 0);
	}
	assert_int_equal(bpf_owners_collect(fd, sizeof(struct owner), owner_dead, forget, &fd, "unit"), 7);
	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		key = next;
		prev = &key;
		assert_int_not_equal(key % 3, 0);
		seen |= 1ull << key;
	}
	assert_int_equal(seen, 0x7ffull & ~(1ull << 0 | 1ull << 3 | 1ull << 6 | 1ull << 9));
	/* nothing dead: nothing forgotten, every entry counted */
	assert_int_equal(bpf_owners_collect(fd, sizeof(struct owner), owner_dead, forget, &fd, "unit"), 7);
	close(fd);
}

/* ---- the pinned set --------------------------------------------------------------------- */

static int loads;
static const char *variant;
static int load_fails;
static const char *const probe_maps[] = { "probe_events", NULL };
static const char *const probe_progs[] = { "probe_cgroup_skb", NULL };
static const char *const probe_pins[] = { "skb", NULL };

static int load_probe(unsigned level, struct bpf_loaded *l, struct nerr *err)
{
	struct probe_bpf *skel;
	struct bpf_program *p;
	int r;

	loads++;
	if (load_fails)
		return nerr_set(err, load_fails, "load the unit object");
	if (!(skel = probe_bpf__open()))
		return nerr_set(err, errno, "open the probe object");
	bpf_object__for_each_program(p, skel->obj)
		bpf_program__set_autoload(p, !strcmp(bpf_program__name(p), "probe_cgroup_skb"));
	if ((r = probe_bpf__load(skel)) < 0) {
		probe_bpf__destroy(skel);
		return nerr_set(err, -r, "load the probe object");
	}
	*l = (struct bpf_loaded){ .obj = skel->obj, .variant = variant, .progs = probe_progs, .pins = probe_pins,
				  .skel = skel };
	return 0;
}

static void unload_probe(void *skel)
{
	probe_bpf__destroy(skel);
}

static char gone_versions[256];

static void gone(const char *version, void *arg)
{
	assert_ptr_equal(arg, gone_versions);
	strncat(gone_versions, version, sizeof(gone_versions) - strlen(gone_versions) - 2);
	strcat(gone_versions, " ");
}

/* Whether the pin root's lock can be taken now, in mode op, by another holder. */
static bool lockable(int op)
{
	int fd = open(BPF_PIN_ROOT, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	bool ok;

	assert_true(fd >= 0);
	ok = flock(fd, op | LOCK_NB) == 0;
	close(fd);
	return ok;
}

static const struct bpf_set_def unit_def = {
	.object = "unit", .version = "00000000000000aa", .abi = "abi-one", .owners = "probe_events",
	.maps = probe_maps, .load = load_probe, .unload = unload_probe, .gone = gone,
};

static void set_acquire(void **state)
{
	_cleanup_free_ char *dir = NULL, *again = NULL, *reloaded = NULL;
	struct nerr e = { 0 };
	bool shared, exclusive;
	char target[64];
	ssize_t n;
	int lock;

	if (!private_bpffs)
		skip();
	loads = 0;
	lock = bpf_set_acquire(&unit_def, 3, false, gone_versions, &dir, &e);
	if (lock < 0)
		fail_msg("acquire: %s", e.msg);
	/* it loaded: the load lock stays held, so no collector can take the
	 * new set for unused before the caller's entry is in */
	shared = lockable(LOCK_SH);
	close(lock);                   /* before asserting: a failure must not keep it */
	assert_false(shared);
	assert_int_equal(loads, 1);
	assert_string_equal(dir, "/sys/fs/bpf/nucleus/unit-00000000000000aa-l3");
	assert_true(exists(dir, "skb") && exists(dir, "probe_events"));
	n = readlink("/sys/fs/bpf/nucleus/unit-00000000000000aa-l3/abi", target, sizeof(target) - 1);
	assert_true(n > 0);
	target[n] = '\0';
	assert_string_equal(target, "abi-one");

	/* the next run only finds it, and shares the lock with other users */
	assert_true((lock = bpf_set_acquire(&unit_def, 3, false, gone_versions, &again, &e)) >= 0);
	shared = lockable(LOCK_SH);
	exclusive = lockable(LOCK_EX);
	close(lock);
	assert_true(shared);
	assert_false(exclusive);
	assert_int_equal(loads, 1);
	assert_string_equal(again, dir);

	/* a half-pinned set (a loader that died) is pinned again whole; other
	 * versions' unused sets at this level go on the way, other levels' stay */
	assert_int_equal(bpf_obj_get("/sys/fs/bpf/nucleus/unit-00000000000000aa-l3/probe_events") >= 0, true);
	assert_int_equal(unlink("/sys/fs/bpf/nucleus/unit-00000000000000aa-l3/probe_events"), 0);
	assert_int_equal(mkdir("/sys/fs/bpf/nucleus/unit-00000000000000bb-l3", 0700), 0);
	assert_int_equal(mkdir("/sys/fs/bpf/nucleus/unit-00000000000000cc-l4", 0700), 0);
	gone_versions[0] = '\0';
	assert_true((lock = bpf_set_acquire(&unit_def, 3, false, gone_versions, &reloaded, &e)) >= 0);
	close(lock);
	assert_int_equal(loads, 2);
	assert_true(exists(reloaded, "probe_events") && exists(reloaded, "skb"));
	assert_string_equal(gone_versions, "00000000000000bb ");
	assert_int_equal(access("/sys/fs/bpf/nucleus/unit-00000000000000bb-l3", F_OK), -1);
	assert_int_equal(access("/sys/fs/bpf/nucleus/unit-00000000000000cc-l4", F_OK), 0);
	remove_tree("/sys/fs/bpf/nucleus/unit-00000000000000cc-l4");
	remove_tree(dir);
}

/* A set with variants is named by the loader and found by its stem; a
 * load that fails leaves nothing. */
static void set_variants_and_failure(void **state)
{
	struct bpf_set_def def = unit_def;
	_cleanup_free_ char *dir = NULL, *again = NULL, *none = NULL;
	struct nerr e = { 0 };
	int lock;

	if (!private_bpffs)
		skip();
	def.object = "unitv";
	def.variants = true;
	loads = 0;
	variant = "tp-eperm";
	assert_true((lock = bpf_set_acquire(&def, 2, true, gone_versions, &dir, &e)) >= 0);
	close(lock);
	assert_string_equal(dir, "/sys/fs/bpf/nucleus/unitv-00000000000000aa-l2-tp-eperm");
	variant = "lsm";              /* a later run finds what was pinned */
	assert_true((lock = bpf_set_acquire(&def, 2, true, gone_versions, &again, &e)) >= 0);
	close(lock);
	assert_int_equal(loads, 1);
	assert_string_equal(again, dir);
	remove_tree(dir);
	variant = NULL;

	load_fails = EPERM;
	assert_int_equal(bpf_set_acquire(&def, 2, true, gone_versions, &none, &e), -EPERM);
	load_fails = 0;
	assert_null(none);
	assert_string_equal(e.msg, "load the unit object: Operation not permitted");
	assert_null(bpf_sets_list("unitv", 2));
}

static void enter_private_bpffs(void)
{
	if (geteuid() != 0 || unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return;
	if (mount("bpf", "/sys/fs/bpf", "bpf", 0, "mode=0700") < 0)
		return;
	private_bpffs = true;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(set_dirs),
		cmocka_unit_test(links_sync_pins),
		cmocka_unit_test(owners_collect),
		cmocka_unit_test(set_acquire),
		cmocka_unit_test(set_variants_and_failure),
	};

	enter_private_bpffs();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
