/* maxrss: run a command and print the peak resident set size that the kernel
 * reports for it.
 *
 *   maxrss [-n COUNT] COMMAND [ARG...]
 *
 * Runs COMMAND COUNT times (default 1), one after the other, with stdin,
 * stdout and stderr on /dev/null, and prints one line per run:
 *
 *   <maxrss_kib> <exit_status>
 *
 * The figure is ru_maxrss from wait4(2): the high-water mark of the resident
 * set of the command's own process, or of one of the descendants it waited
 * for if one of those peaked higher (Linux folds a reaped child's peak into
 * its parent's with max(), never a sum). Exit status is 128+N for signal N.
 * The program exits non-zero if any run did not exit 0. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

static int run_once(char **argv, long *maxrss_kib)
{
    pid_t pid = fork();
    if (pid < 0) {
        perror("maxrss: fork");
        exit(125);
    }
    if (pid == 0) {
        int null = open("/dev/null", O_RDWR | O_CLOEXEC);
        if (null >= 0) {
            dup2(null, 0);
            dup2(null, 1);
            dup2(null, 2);
        }
        execvp(argv[0], argv);
        _exit(127);
    }
    int status;
    struct rusage ru;
    while (wait4(pid, &status, 0, &ru) < 0) {
        if (errno != EINTR) {
            perror("maxrss: wait4");
            exit(125);
        }
    }
    *maxrss_kib = ru.ru_maxrss;
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    return 128 + WTERMSIG(status);
}

int main(int argc, char **argv)
{
    long count = 1;
    int first = 1;
    if (argc > 2 && strcmp(argv[1], "-n") == 0) {
        count = strtol(argv[2], NULL, 10);
        first = 3;
    }
    if (first >= argc || count < 1) {
        fprintf(stderr, "usage: maxrss [-n COUNT] COMMAND [ARG...]\n");
        return 2;
    }
    int failed = 0;
    for (long i = 0; i < count; i++) {
        long kib = 0;
        int rc = run_once(argv + first, &kib);
        printf("%ld %d\n", kib, rc);
        fflush(stdout);
        if (rc != 0)
            failed = 1;
    }
    return failed;
}
