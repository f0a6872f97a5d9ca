/* Random ids and clocks. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <signal.h>
#include <sys/random.h>
#include <nucleus/util.h>

int random_id(char out[33])
{
	uint8_t b[16];
	size_t got = 0;

	while (got < sizeof(b)) {
		ssize_t n = getrandom(b + got, sizeof(b) - got, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		got += (size_t)n;
	}
	return hex_encode(b, sizeof(b), out, 33);
}

uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t realtime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void format_rfc3339(uint64_t ns, char *buf, size_t len)
{
	time_t sec = (time_t)(ns / 1000000000ull);
	struct tm tm;
	char date[32];

	gmtime_r(&sec, &tm);
	strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, len, "%s.%09lluZ", date, (unsigned long long)(ns % 1000000000ull));
}

void debug_pause(const char *point)
{
	const char *want = getenv("NUCLEUS_DEBUG_PAUSE");

	if (want && !strcmp(want, point))
		raise(SIGSTOP);
}

uint64_t proc_start_time(pid_t pid)
{
	char path[64];
	_cleanup_free_ char *buf = NULL;
	char *p;
	unsigned long long start = 0;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (read_file(path, 4096, &buf, NULL) < 0)
		return 0;
	/* comm may hold spaces and parentheses: fields restart after the last ')' */
	p = strrchr(buf, ')');
	/* the state is field 3; the start time is field 22 */
	for (int field = 2; field < 22 && p; field++)
		p = strchr(p + 1, ' ');
	if (!p || sscanf(p + 1, "%llu", &start) != 1)
		return 0;
	return start;
}

bool proc_running(pid_t pid, uint64_t start)
{
	char path[64], state = 0;
	_cleanup_free_ char *buf = NULL;
	unsigned long long flags = 0, st = 0;
	char *p;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (pid <= 0 || read_file(path, 4096, &buf, NULL) < 0 || !(p = strrchr(buf, ')')))
		return false;
	/* comm may hold anything: the fields restart after the last ')' */
	if (sscanf(p + 1, " %c %*d %*d %*d %*d %*d %llu", &state, &flags) != 2)
		return false;
	for (int field = 2; field < 22 && p; field++)
		p = strchr(p + 1, ' ');
	if (!p || sscanf(p + 1, "%llu", &st) != 1)
		return false;
	return st == start && state != 'Z' && state != 'X' && !(flags & 0x4 /* PF_EXITING */);
}

pid_t proc_ns_pid(pid_t host_pid)
{
	char path[64], line[256];
	pid_t pid = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)host_pid);
	if (!(f = fopen(path, "re")))
		return 0;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "NSpid:", 6)) {
			char *last = strrchr(line, '\t');

			pid = last ? (pid_t)atoi(last + 1) : 0;
			break;
		}
	fclose(f);
	return pid;
}
