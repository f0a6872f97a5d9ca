/* getppid_loop [COUNT]: COUNT getppid() system calls (default 10,000,000),
 * nothing else. The workload of tools/bench/trace.sh, built there with
 * `gcc -static -O2` so that it runs the same inside a container and on the
 * host. Each call goes to the kernel: syscall(2), not a libc wrapper that
 * could cache the answer. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/syscall.h>

int main(int argc, char **argv)
{
	unsigned long long n = 10000000ULL;
	char *end;

	if (argc > 2 || (argc == 2 && (argv[1][0] < '0' || argv[1][0] > '9'))) {
		fprintf(stderr, "usage: getppid_loop [COUNT]\n");
		return 2;
	}
	if (argc == 2) {
		errno = 0;
		n = strtoull(argv[1], &end, 10);
		if (errno || *end) {
			fprintf(stderr, "getppid_loop: bad count '%s'\n", argv[1]);
			return 2;
		}
	}
	for (unsigned long long i = 0; i < n; i++)
		if (syscall(SYS_getppid) < 0) {
			perror("getppid_loop: getppid");
			return 1;
		}
	return 0;
}
