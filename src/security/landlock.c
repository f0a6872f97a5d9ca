/* Landlock at the best ABI the kernel offers. The kernel headers of Debian 12
 * stop at ABI 3, so the newer constants are defined here. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <nucleus/security.h>

#define LL_CREATE_RULESET_VERSION (1U << 0)
#define LL_RULE_PATH_BENEATH 1
#define LL_RULE_NET_PORT 2

#define FS_EXECUTE      (1ULL << 0)
#define FS_WRITE_FILE   (1ULL << 1)
#define FS_READ_FILE    (1ULL << 2)
#define FS_READ_DIR     (1ULL << 3)
#define FS_REMOVE_DIR   (1ULL << 4)
#define FS_REMOVE_FILE  (1ULL << 5)
#define FS_MAKE_CHAR    (1ULL << 6)
#define FS_MAKE_DIR     (1ULL << 7)
#define FS_MAKE_REG     (1ULL << 8)
#define FS_MAKE_SOCK    (1ULL << 9)
#define FS_MAKE_FIFO    (1ULL << 10)
#define FS_MAKE_BLOCK   (1ULL << 11)
#define FS_MAKE_SYM     (1ULL << 12)
#define FS_REFER        (1ULL << 13)   /* ABI 2 */
#define FS_TRUNCATE     (1ULL << 14)   /* ABI 3 */
#define FS_IOCTL_DEV    (1ULL << 15)   /* ABI 5 */
#define NET_BIND_TCP    (1ULL << 0)    /* ABI 4 */
#define NET_CONNECT_TCP (1ULL << 1)

/* Rights that make sense on a file (the rest only on directories). */
#define FS_FILE_RIGHTS (FS_EXECUTE | FS_WRITE_FILE | FS_READ_FILE | FS_TRUNCATE | FS_IOCTL_DEV)
#define FS_READ (FS_READ_FILE | FS_READ_DIR)
#define FS_RW (FS_READ | FS_WRITE_FILE | FS_REMOVE_DIR | FS_REMOVE_FILE | FS_MAKE_DIR | \
	       FS_MAKE_REG | FS_MAKE_SOCK | FS_MAKE_FIFO | FS_MAKE_SYM | FS_REFER | FS_TRUNCATE)

struct ll_ruleset_attr {
	uint64_t handled_access_fs;
	uint64_t handled_access_net;   /* ABI 4 */
	uint64_t scoped;               /* ABI 6 */
};
struct ll_path_beneath_attr {
	uint64_t allowed_access;
	int32_t parent_fd;
} __attribute__((packed));
struct ll_net_port_attr {
	uint64_t allowed_access;
	uint64_t port;
};

int landlock_abi(void)
{
	long abi = syscall(SYS_landlock_create_ruleset, NULL, 0, LL_CREATE_RULESET_VERSION);

	return abi < 0 ? 0 : (int)abi;
}

uint64_t landlock_fs_handled(int abi)
{
	uint64_t all = FS_EXECUTE | FS_WRITE_FILE | FS_READ_FILE | FS_READ_DIR | FS_REMOVE_DIR |
		       FS_REMOVE_FILE | FS_MAKE_CHAR | FS_MAKE_DIR | FS_MAKE_REG | FS_MAKE_SOCK |
		       FS_MAKE_FIFO | FS_MAKE_BLOCK | FS_MAKE_SYM;

	if (abi < 1)
		return 0;
	if (abi >= 2)
		all |= FS_REFER;
	if (abi >= 3)
		all |= FS_TRUNCATE;
	if (abi >= 5)
		all |= FS_IOCTL_DEV;
	return all;
}

static void add_path(struct landlock_spec *s, const char *path, uint64_t access)
{
	s->rules = xrealloc(s->rules, (s->nrules + 1) * sizeof(*s->rules));
	s->rules[s->nrules].path = xstrdup(path);
	s->rules[s->nrules].access = access;
	s->nrules++;
}

void landlock_default_spec(struct landlock_spec *s, bool context_writable, bool have_context)
{
	static const char *const sys[] = { "/bin", "/sbin", "/usr", "/lib", "/lib64", "/lib32", "/nix" };
	static const char *const devs[] = {
		"/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom",
	};

	memset(s, 0, sizeof(*s));
	s->best_effort = true;
	/* Everything visible may be read: the root holds only what nucleus put
	 * there. Writes and execution are what the rules below grant. */
	add_path(s, "/", FS_READ);
	for (size_t i = 0; i < ARRAY_SIZE(sys); i++)
		add_path(s, sys[i], FS_READ | FS_EXECUTE);
	add_path(s, "/tmp", FS_RW);
	add_path(s, "/dev/shm", FS_RW);
	if (have_context && context_writable)
		add_path(s, "/context", FS_RW);
	for (size_t i = 0; i < ARRAY_SIZE(devs); i++)
		add_path(s, devs[i], FS_WRITE_FILE);
	add_path(s, "/dev/tty", FS_WRITE_FILE | FS_IOCTL_DEV);
	add_path(s, "/dev/ptmx", FS_WRITE_FILE | FS_IOCTL_DEV);
	add_path(s, "/dev/pts", FS_WRITE_FILE | FS_IOCTL_DEV);
}

void landlock_spec_allow_exec(struct landlock_spec *s, const char *path)
{
	add_path(s, path, FS_READ | FS_EXECUTE);
}

void landlock_spec_allow_write(struct landlock_spec *s, const char *path)
{
	add_path(s, path, FS_RW);
}

void landlock_spec_free(struct landlock_spec *s)
{
	for (size_t i = 0; i < s->nrules; i++)
		free(s->rules[i].path);
	free(s->rules);
	free(s->net);
	memset(s, 0, sizeof(*s));
}

static uint64_t granted_on_root(const struct landlock_spec *s)
{
	for (size_t i = 0; i < s->nrules; i++)
		if (!strcmp(s->rules[i].path, "/"))
			return s->rules[i].access;
	return 0;
}

int landlock_apply(const struct landlock_spec *s, int *abi_used, char **warning, struct nerr *err)
{
	int abi = landlock_abi();
	struct ll_ruleset_attr attr = { 0 };
	uint64_t handled, lost_fs;
	_cleanup_close_ int rfd = -1;
	_cleanup_free_ char *warn = NULL;

	if (warning)
		*warning = NULL;
	if (abi_used)
		*abi_used = abi;
	if (abi == 0)
		return nerr_set(err, EOPNOTSUPP, "Landlock is not available on this kernel");
	if (s->min_abi > abi)
		return nerr_set(err, EOPNOTSUPP, "Landlock ABI %d required, kernel has ABI %d",
				s->min_abi, abi);

	handled = landlock_fs_handled(abi);
	attr.handled_access_fs = handled;
	if (s->restrict_net && abi >= 4)
		attr.handled_access_net = NET_BIND_TCP | NET_CONNECT_TCP;
	if (abi >= 6)
		attr.scoped = s->scopes;

	/* A right this ABI cannot handle is unrestricted everywhere; that is a
	 * loss wherever the policy meant to deny it (it is not granted on /). */
	lost_fs = (landlock_fs_handled(7) & ~handled) & ~granted_on_root(s);
	if (!s->best_effort && (lost_fs || (s->restrict_net && abi < 4) || (s->scopes && abi < 6))) {
		warn = xasprintf("Landlock ABI %d cannot enforce:%s%s%s%s%s", abi,
				 lost_fs & FS_REFER ? " refer" : "",
				 lost_fs & FS_TRUNCATE ? " truncate" : "",
				 lost_fs & FS_IOCTL_DEV ? " ioctl_dev" : "",
				 (s->restrict_net && abi < 4) ? " network rules" : "",
				 (s->scopes && abi < 6) ? " scopes" : "");
	}

	rfd = (int)syscall(SYS_landlock_create_ruleset, &attr, sizeof(attr), 0);
	if (rfd < 0)
		return nerr_set(err, errno, "landlock_create_ruleset");

	for (size_t i = 0; i < s->nrules; i++) {
		struct ll_path_beneath_attr pb;
		_cleanup_close_ int fd = open(s->rules[i].path, O_PATH | O_CLOEXEC);
		struct stat st;

		if (fd < 0) {
			if (errno == ENOENT && s->best_effort)
				continue;   /* default rules name dirs a host may lack */
			if (errno == ENOENT)
				return nerr_set(err, 0, "Landlock rule path `%s` does not exist in the container",
						s->rules[i].path);
			return nerr_set(err, errno, "Landlock rule path `%s`", s->rules[i].path);
		}
		pb.parent_fd = fd;
		pb.allowed_access = s->rules[i].access & handled;
		if (fstat(fd, &st) == 0 && !S_ISDIR(st.st_mode))
			pb.allowed_access &= FS_FILE_RIGHTS;
		if (!pb.allowed_access)
			continue;
		if (syscall(SYS_landlock_add_rule, rfd, LL_RULE_PATH_BENEATH, &pb, 0) < 0)
			return nerr_set(err, errno, "Landlock rule for `%s`", s->rules[i].path);
	}
	for (size_t i = 0; abi >= 4 && s->restrict_net && i < s->nnet; i++) {
		struct ll_net_port_attr np = {
			.allowed_access = s->net[i].access & (NET_BIND_TCP | NET_CONNECT_TCP),
			.port = s->net[i].port,
		};
		if (syscall(SYS_landlock_add_rule, rfd, LL_RULE_NET_PORT, &np, 0) < 0)
			return nerr_set(err, errno, "Landlock network rule for port %u", s->net[i].port);
	}
	if (syscall(SYS_landlock_restrict_self, rfd, 0) < 0)
		return nerr_set(err, errno, "landlock_restrict_self");
	if (warning)
		*warning = steal_ptr(warn);
	return 0;
}

void landlock_access_names(uint64_t fs, char *buf, size_t len)
{
	static const char *const names[] = {
		"execute", "write_file", "read_file", "read_dir", "remove_dir", "remove_file",
		"make_char", "make_dir", "make_reg", "make_sock", "make_fifo", "make_block",
		"make_sym", "refer", "truncate", "ioctl_dev",
	};
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		if (!((fs >> i) & 1))
			continue;
		used += (size_t)snprintf(buf + used, used < len ? len - used : 0, "%s%s",
					 used ? " " : "", names[i]);
	}
}
