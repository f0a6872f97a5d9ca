/* open_loop COUNT [SENSITIVE_EVERY]
 *
 * COUNT open()+close() pairs, nothing else. Most opens go round a set of
 * ordinary files: /etc/passwd, /etc/hostname, /etc/hosts (read) and a file
 * of its own in /tmp (write, create, truncate). Every SENSITIVE_EVERY-th
 * open (default 100; 0: none) is instead one of /proc/sys/kernel/hostname
 * and /proc/sys/kernel/ostype, alternately: paths nucleus's audit reports as
 * sensitive opens, so 1 in SENSITIVE_EVERY opens becomes an audit event.
 * Prints the number of sensitive opens made.
 *
 * The open-heavy workload of tools/bench/audit.sh, built there with
 * `gcc -static -O2` and run in a container, whose /etc is nucleus's own
 * (these three files exist in it) and whose /tmp is writable. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int number(const char *s, unsigned long long *out)
{
	char *end;

	errno = 0;
	if (*s < '0' || *s > '9')
		return -1;
	*out = strtoull(s, &end, 10);
	return errno || *end ? -1 : 0;
}

int main(int argc, char **argv)
{
	static const char *const ordinary[] = { "/etc/passwd", "/etc/hostname", "/etc/hosts", NULL };
	static const char *const sensitive[] = { "/proc/sys/kernel/hostname", "/proc/sys/kernel/ostype" };
	unsigned long long count, every = 100, nsens = 0;
	char tmp[64];

	if (argc < 2 || argc > 3 || number(argv[1], &count) < 0 || (argc == 3 && number(argv[2], &every) < 0)) {
		fprintf(stderr, "usage: open_loop COUNT [SENSITIVE_EVERY]\n");
		return 2;
	}
	snprintf(tmp, sizeof(tmp), "/tmp/open_loop.%d", (int)getpid());
	for (unsigned long long i = 0; i < count; i++) {
		const char *path;
		int flags = O_RDONLY | O_CLOEXEC, fd;

		if (every && i % every == every - 1) {
			path = sensitive[nsens++ % 2];
		} else {
			unsigned k = (unsigned)(i % 4);
			if (k < 3) {
				path = ordinary[k];
			} else {
				path = tmp;
				flags = O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC;
			}
		}
		fd = open(path, flags, 0600);
		if (fd < 0) {
			fprintf(stderr, "open_loop: %s: %s\n", path, strerror(errno));
			unlink(tmp);
			return 1;
		}
		close(fd);
	}
	unlink(tmp);
	printf("%llu\n", nsens);
	return 0;
}
