/* A small static program the integration tests run inside containers: it
 * tries one thing and reports the real outcome (exit status = errno, or
 * values on stdout). Self-contained: libc only, linked statically. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <net/if.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <time.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <linux/filter.h>
#include <linux/sched.h>
#include <linux/seccomp.h>

static int result(long r)
{
	return r < 0 ? errno : 0;
}

static int do_syscall(const char *name)
{
	if (!strcmp(name, "mount"))
		return result(mount("none", "/tmp", "tmpfs", 0, NULL));
	if (!strcmp(name, "unshare"))
		return result(unshare(CLONE_NEWUSER));
	if (!strcmp(name, "unshare-net"))
		return result(unshare(CLONE_NEWNET));
	if (!strcmp(name, "keyctl"))
		return result(syscall(SYS_keyctl, 0 /* KEYCTL_GET_KEYRING_ID */, -3, 0));
	if (!strcmp(name, "add_key"))
		return result(syscall(SYS_add_key, "user", "k", "v", 1, -3));
	if (!strcmp(name, "bpf"))
		return result(syscall(SYS_bpf, 0, NULL, 0));
	if (!strcmp(name, "perf_event_open"))
		return result(syscall(SYS_perf_event_open, NULL, 0, -1, -1, 0));
	if (!strcmp(name, "ptrace"))
		return result(ptrace(PTRACE_TRACEME, 0, NULL, NULL));
	if (!strcmp(name, "userfaultfd"))
		return result(syscall(SYS_userfaultfd, 0));
	if (!strcmp(name, "io_uring_setup"))
		return result(syscall(SYS_io_uring_setup, 1, NULL));
	if (!strcmp(name, "kexec_load"))
		return result(syscall(SYS_kexec_load, 0, 0, NULL, 0));
	if (!strcmp(name, "init_module"))
		return result(syscall(SYS_init_module, NULL, 0, ""));
	if (!strcmp(name, "setns"))
		return result(syscall(SYS_setns, 0, 0));
	if (!strcmp(name, "chroot"))
		return result(chroot("/"));
	if (!strcmp(name, "pivot_root"))
		return result(syscall(SYS_pivot_root, "/", "/"));
	if (!strcmp(name, "clone3")) {
		struct clone_args ca = { .exit_signal = SIGCHLD };
		long pid = syscall(SYS_clone3, &ca, sizeof(ca));
		if (pid == 0)
			_exit(0);
		if (pid > 0)
			waitpid((pid_t)pid, NULL, 0);
		return result(pid);
	}
	if (!strcmp(name, "clone-newns")) {
		long pid = syscall(SYS_clone, CLONE_NEWNS | SIGCHLD, 0, 0, 0, 0);
		if (pid == 0)
			_exit(0);
		if (pid > 0)
			waitpid((pid_t)pid, NULL, 0);
		return result(pid);
	}
	if (!strcmp(name, "clone-newuser")) {
		/* no capability needed: only seccomp stands in the way */
		long pid = syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0);
		if (pid == 0)
			_exit(0);
		if (pid > 0)
			waitpid((pid_t)pid, NULL, 0);
		return result(pid);
	}
	if (!strcmp(name, "fork")) {
		pid_t pid = fork();
		if (pid == 0)
			_exit(0);
		if (pid > 0)
			waitpid(pid, NULL, 0);
		return result(pid);
	}
	if (!strcmp(name, "getpid"))
		return result(getpid());
	fprintf(stderr, "probe: unknown syscall %s\n", name);
	return 200;
}

static int status_fields(void)
{
	static const char *const keys[] = {
		"Pid:", "PPid:", "Uid:", "Gid:", "CapInh:", "CapPrm:", "CapEff:", "CapBnd:",
		"CapAmb:", "NoNewPrivs:", "Seccomp:", "Seccomp_filters:", NULL,
	};
	FILE *f = fopen("/proc/self/status", "r");
	char line[512];

	if (!f)
		return errno;
	while (fgets(line, sizeof(line), f))
		for (int i = 0; keys[i]; i++)
			if (!strncmp(line, keys[i], strlen(keys[i])))
				fputs(line, stdout);
	fclose(f);
	return 0;
}

static int list_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;

	if (!d)
		return errno;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.' && atoi(de->d_name) != dirfd(d))
			printf("%s\n", de->d_name);
	closedir(d);
	return 0;
}

static volatile sig_atomic_t got;
static void on_signal(int s)
{
	got = s;
}

static int wait_signal(void)
{
	static const int sigs[] = { SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH };
	struct sigaction sa = { .sa_handler = on_signal };

	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, NULL);
	printf("ready\n");
	fflush(stdout);
	while (!got)
		pause();
	printf("signal %d\n", (int)got);
	return 100 + got;
}

static int do_stat(const char *path)
{
	struct stat st;

	if (lstat(path, &st) < 0)
		return errno;
	printf("mode=%o type=%s rdev=%u:%u uid=%u\n", st.st_mode & 07777,
	       S_ISCHR(st.st_mode) ? "chr" : S_ISDIR(st.st_mode) ? "dir" : S_ISLNK(st.st_mode) ? "lnk" :
	       S_ISREG(st.st_mode) ? "reg" : "other",
	       major(st.st_rdev), minor(st.st_rdev), st.st_uid);
	return 0;
}

static int do_read(const char *path)
{
	char buf[65536];
	int fd = open(path, O_RDONLY);
	ssize_t n, total = 0;

	if (fd < 0)
		return errno;
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		fwrite(buf, 1, (size_t)n, stdout);
		total += n;
	}
	close(fd);
	return n < 0 ? errno : 0;
}

static int do_write(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	if (fd < 0)
		return errno;
	if (write(fd, "probe\n", 6) != 6) {
		close(fd);
		return errno;
	}
	return close(fd) < 0 ? errno : 0;
}

/* subreaper CMD...: run CMD as this process's child with this process a
 * child subreaper; print how many other processes it reaped (what CMD left
 * unreaped when it ended) and exit with CMD's status. */
static int subreaper(char **argv)
{
	int status, cmd_status = 0, others = 0;
	pid_t cmd, pid;

	if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
		return errno;
	cmd = fork();
	if (cmd < 0)
		return errno;
	if (cmd == 0) {
		execvp(argv[0], argv);
		_exit(127);
	}
	while ((pid = wait(&status)) > 0) {
		if (pid == cmd)
			cmd_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
		else
			others++;
	}
	printf("orphans %d\n", others);
	return cmd_status;
}

/* setid UID GID CMD...: exactly those ids (no supplementary groups), then
 * exec CMD; the errno of the step that failed. */
static int setid(char **argv)
{
	uid_t uid = (uid_t)atol(argv[0]);
	gid_t gid = (gid_t)atol(argv[1]);

	if (!argv[2])
		return EINVAL;
	if (setgroups(0, NULL) < 0 || setresgid(gid, gid, gid) < 0 || setresuid(uid, uid, uid) < 0)
		return errno;
	execvp(argv[2], argv + 2);
	return errno;
}

/* abandon N: N children each leave a grandchild (a 0.1 s sleep) behind and
 * exit; they are reaped, the grandchildren become pid 1's. After a second,
 * print how many processes of the namespace are zombies. */
static int abandon(int n)
{
	int zombies = 0;
	DIR *d;
	struct dirent *e;

	for (int i = 0; i < n; i++) {
		pid_t pid = fork();

		if (pid < 0)
			return errno;
		if (pid == 0) {
			if (fork() == 0) {
				usleep(100000);
				_exit(0);
			}
			_exit(0);
		}
		waitpid(pid, NULL, 0);
	}
	sleep(1);
	if (!(d = opendir("/proc")))
		return errno;
	while ((e = readdir(d))) {
		char path[300], line[512], *p;
		FILE *f;

		if (e->d_name[0] < '0' || e->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/stat", e->d_name);
		if (!(f = fopen(path, "re")))
			continue;
		if (fgets(line, sizeof(line), f) && (p = strrchr(line, ')')) && p[1] == ' ' && p[2] == 'Z')
			zombies++;
		fclose(f);
	}
	closedir(d);
	printf("zombies %d\n", zombies);
	return 0;
}

/* seccomp-stack CMD...: fill this task's seccomp filter stack with
 * allow-all filters until the kernel takes no more (it caps the
 * instructions of a task's whole stack), then exec CMD. Any filter CMD
 * tries to install is then refused with ENOMEM: a real failure to apply
 * seccomp. */
static int install_allow(struct sock_filter *insns, int len)
{
	struct sock_fprog prog = { .len = (unsigned short)len, .filter = insns };
	int r;

	insns[len - 1] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	r = (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog);
	insns[len - 1] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 0);
	return r < 0 ? -errno : 0;
}

static int seccomp_stack(char **argv)
{
	static struct sock_filter insns[4096];
	int r;

	for (int i = 0; i < 4096; i++)
		insns[i] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 0);
	while ((r = install_allow(insns, 4096)) == 0)
		;
	/* then ever smaller ones, down to a single instruction */
	for (int len = 2048; len >= 1; len = r == 0 ? len : len / 2)
		if ((r = install_allow(insns, len)) < 0 && r != -ENOMEM)
			return -r;
	execvp(argv[0], argv);
	return 127;
}

static int usage(void)
{
	fprintf(stderr, "usage: probe status|fds|ifaces|hostname|cwd|exit N|syscall NAME|read PATH|"
			"write PATH|mkdir PATH|stat PATH|exec PATH|bind-unix PATH|socket FAMILY TYPE|connect IP PORT [udp]|listen PORT DELAY|notify PATH LINE...|env NAME|"
			"wait-signal|kill-self SIG|sleep SECS|subreaper CMD...|seccomp-stack CMD...|setid UID GID CMD...|"
			"abandon N|counter PATH\n");
	return 201;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return usage();
	const char *cmd = argv[1], *arg = argc > 2 ? argv[2] : NULL;

	if (!strcmp(cmd, "status"))
		return status_fields();
	if (!strcmp(cmd, "fds"))
		return list_fds();
	if (!strcmp(cmd, "ifaces")) {
		struct if_nameindex *ni = if_nameindex();
		if (!ni)
			return errno;
		for (struct if_nameindex *p = ni; p->if_index; p++)
			printf("%s\n", p->if_name);
		if_freenameindex(ni);
		return 0;
	}
	if (!strcmp(cmd, "hostname")) {
		char h[256];
		if (gethostname(h, sizeof(h)) < 0)
			return errno;
		printf("%s\n", h);
		return 0;
	}
	if (!strcmp(cmd, "cwd")) {
		char c[4096];
		if (!getcwd(c, sizeof(c)))
			return errno;
		printf("%s\n", c);
		return 0;
	}
	if (!strcmp(cmd, "wait-signal"))
		return wait_signal();
	if (!arg)
		return usage();
	if (!strcmp(cmd, "seccomp-stack") && argc > 2)
		return seccomp_stack(argv + 2);
	if (!strcmp(cmd, "subreaper"))
		return subreaper(argv + 2);
	if (!strcmp(cmd, "exit"))
		return atoi(arg);
	if (!strcmp(cmd, "abandon"))
		return abandon(atoi(arg));
	if (!strcmp(cmd, "setid") && argc > 4)
		return setid(argv + 2);
	if (!strcmp(cmd, "syscall"))
		return do_syscall(arg);
	if (!strcmp(cmd, "read"))
		return do_read(arg);
	if (!strcmp(cmd, "write"))
		return do_write(arg);
	if (!strcmp(cmd, "mkdir"))
		return result(mkdir(arg, 0755));
	if (!strcmp(cmd, "bind-unix")) {
		/* the socket file stays behind, as a server's does when it dies */
		struct sockaddr_un a = { .sun_family = AF_UNIX };
		int fd = socket(AF_UNIX, SOCK_STREAM, 0);

		snprintf(a.sun_path, sizeof(a.sun_path), "%s", arg);
		return result(fd < 0 ? -1 : bind(fd, (struct sockaddr *)&a, sizeof(a)));
	}
	if (!strcmp(cmd, "stat"))
		return do_stat(arg);
	if (!strcmp(cmd, "exec")) {
		execv(arg, argv + 2);
		return errno;
	}
	if (!strcmp(cmd, "env")) {
		const char *v = getenv(arg);
		if (!v)
			return 1;
		printf("%s\n", v);
		return 0;
	}
	if (!strcmp(cmd, "kill-self")) {
		kill(getpid(), atoi(arg));
		pause();
		return 0;
	}
	if (!strcmp(cmd, "spin")) {
		/* burn CPU for SECS of wall time; print the CPU seconds used */
		struct timespec t0, t;
		struct rusage ru;
		double wall = atof(arg);

		clock_gettime(CLOCK_MONOTONIC, &t0);
		do
			clock_gettime(CLOCK_MONOTONIC, &t);
		while ((double)(t.tv_sec - t0.tv_sec) + (double)(t.tv_nsec - t0.tv_nsec) / 1e9 < wall);
		getrusage(RUSAGE_SELF, &ru);
		printf("%.3f\n", (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
				   (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6);
		return 0;
	}
	if (!strcmp(cmd, "forks")) {
		/* fork N sleeping children; exit with the first fork errno */
		int n = atoi(arg), e = 0;
		for (int i = 0; i < n; i++) {
			pid_t pid = fork();
			if (pid == 0) {
				sleep(5);
				_exit(0);
			}
			if (pid < 0) {
				e = errno;
				break;
			}
		}
		return e;
	}
	if (!strcmp(cmd, "alloc")) {
		/* touch N MiB of memory */
		size_t n = (size_t)atoi(arg) << 20;
		char *p = malloc(n);
		if (!p)
			return ENOMEM;
		for (size_t i = 0; i < n; i += 4096)
			p[i] = 1;
		printf("allocated %s MiB\n", arg);
		return 0;
	}
	if (!strcmp(cmd, "getppid")) {
		/* N raw getppid calls: a syscall-heavy loop with a known count */
		long n = atol(arg);
		for (long i = 0; i < n; i++)
			syscall(SYS_getppid);
		return 0;
	}
	if (!strcmp(cmd, "enosys") && argc > 3) {
		/* syscall numbers the kernel does not have: a burst of distinct calls */
		for (long nr = atol(arg); nr < atol(argv[3]); nr++)
			syscall(nr);
		return 0;
	}
	if (!strcmp(cmd, "opens") && argc > 3) {
		for (long i = atol(arg); i > 0; i--) {
			int fd = open(argv[3], O_RDONLY);
			if (fd >= 0)
				close(fd);
		}
		return 0;
	}
	if (!strcmp(cmd, "syscalls")) {
		/* one each of a few distinctive calls, after a pause */
		sleep((unsigned)atoi(arg));
		syscall(SYS_getppid);
		syscall(SYS_sched_yield);
		syscall(SYS_getpriority, 0, 0);
		return 0;
	}
	if (!strcmp(cmd, "sleep")) {
		sleep((unsigned)atoi(arg));
		return 0;
	}
	if (!strcmp(cmd, "counter") && arg) {
		/* append 1, 2, 3... to PATH, one line every 100 ms, forever: one
		 * process whose progress is in its memory and in a file, which a
		 * checkpoint must save and a restore continue without a gap */
		const struct timespec tick = { 0, 100 * 1000 * 1000 };
		int fd = open(arg, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		if (fd < 0)
			return errno;
		for (unsigned long i = 1;; i++) {
			dprintf(fd, "%lu\n", i);
			nanosleep(&tick, NULL);
		}
	}
	if (!strcmp(cmd, "listen") && argc > 3) {
		/* listen PORT DELAY: after DELAY seconds, a TCP listener on
		 * 127.0.0.1:PORT until killed (a service that takes time to start) */
		struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(arg)),
					 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
		int fd, one = 1;

		sleep((unsigned)atoi(argv[3]));
		fd = socket(AF_INET, SOCK_STREAM, 0);
		if (fd < 0)
			return errno;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 16) < 0)
			return errno;
		for (;;) {
			int c = accept(fd, NULL, NULL);
			if (c >= 0)
				close(c);
		}
	}
	if (!strcmp(cmd, "connect") && argc > 3) {
		/* connect IP PORT [udp]: the errno of connect(2), 0 when it worked */
		struct sockaddr_storage ss = { 0 };
		struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
		struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
		int udp = argc > 4 && !strcmp(argv[4], "udp"), fd, r;
		socklen_t len;

		if (inet_pton(AF_INET, arg, &a4->sin_addr) == 1) {
			a4->sin_family = AF_INET;
			a4->sin_port = htons((uint16_t)atoi(argv[3]));
			len = sizeof(*a4);
		} else if (inet_pton(AF_INET6, arg, &a6->sin6_addr) == 1) {
			a6->sin6_family = AF_INET6;
			a6->sin6_port = htons((uint16_t)atoi(argv[3]));
			len = sizeof(*a6);
		} else {
			return usage();
		}
		fd = socket(ss.ss_family, udp ? SOCK_DGRAM : SOCK_STREAM, 0);
		if (fd < 0)
			return errno;
		r = connect(fd, (struct sockaddr *)&ss, len) < 0 ? errno : 0;
		close(fd);
		return r;
	}
	if (!strcmp(cmd, "notify") && argc > 3) {
		/* notify PATH LINE...: one datagram of the lines (newline-
		 * separated) to the unix socket PATH ("-": $NOTIFY_SOCKET);
		 * the errno of sendto(2), 0 when it was sent */
		struct sockaddr_un sa = { .sun_family = AF_UNIX };
		const char *path = strcmp(arg, "-") ? arg : getenv("NOTIFY_SOCKET");
		char msg[4096] = "";
		int fd, r;

		if (!path || strlen(path) >= sizeof(sa.sun_path))
			return EINVAL;
		strcpy(sa.sun_path, path);
		for (int i = 3; i < argc; i++)
			snprintf(msg + strlen(msg), sizeof(msg) - strlen(msg), "%s%s", i > 3 ? "\n" : "", argv[i]);
		if ((fd = socket(AF_UNIX, SOCK_DGRAM, 0)) < 0)
			return errno;
		r = sendto(fd, msg, strlen(msg), 0, (struct sockaddr *)&sa, sizeof(sa)) < 0 ? errno : 0;
		close(fd);
		return r;
	}
	if (!strcmp(cmd, "socket") && argc > 3) {
		int fd = socket(atoi(arg), atoi(argv[3]), 0);
		if (fd < 0)
			return errno;
		close(fd);
		return 0;
	}
	return usage();
}
