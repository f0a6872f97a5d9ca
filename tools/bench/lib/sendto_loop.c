/* N unconnected UDP sendto() calls of 16 bytes to a socket of our own on
 * 127.0.0.1; prints nanoseconds per call. Each call passes the cgroup
 * sendmsg4 hook and the egress and ingress skb hooks: what the egress
 * anchor's static keys make every host process check. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 1000000;
	int rx = socket(AF_INET, SOCK_DGRAM, 0), tx = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof(a);
	struct timespec t0, t1;
	char buf[16] = { 0 };

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (rx < 0 || tx < 0 || bind(rx, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    getsockname(rx, (struct sockaddr *)&a, &len) < 0) {
		perror("sendto_loop: socket");
		return 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (long i = 0; i < n; i++) {
		if (sendto(tx, buf, sizeof(buf), 0, (struct sockaddr *)&a, sizeof(a)) < 0) {
			perror("sendto_loop: sendto");
			return 1;
		}
		/* keep the receive queue from filling (drops are cheaper) */
		if ((i & 63) == 63)
			while (recv(rx, buf, sizeof(buf), MSG_DONTWAIT) > 0)
				;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("%.1f\n", ((double)(t1.tv_sec - t0.tv_sec) * 1e9 + (double)(t1.tv_nsec - t0.tv_nsec)) / (double)n);
	return 0;
}
