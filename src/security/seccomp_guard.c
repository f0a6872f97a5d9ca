/* A second, tiny seccomp filter stacked under an egress policy: packet
 * sockets never pass the cgroup's BPF hooks (they send below IP, and their
 * creation calls no cgroup program), so socket(AF_PACKET) is refused here.
 * Hand-written because it is eight instructions and must not depend on the
 * profile the workload uses. */
#include <errno.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <nucleus/security.h>

#define AF_PACKET_ 17
#define X32_BIT 0x40000000u
#define NR_SOCKET_X86_64 41u
#define NR_SOCKET_I386 359u
#define NR_SOCKETCALL_I386 102u
#define ARG0_LO offsetof(struct seccomp_data, args[0])   /* little endian */

int sc_install_packet_guard(struct nerr *err)
{
	struct sock_filter f[] = {
		/* 0 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		/* 1 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 2, 0),   /* -> 4 */
		/* 2 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_I386, 5, 0),     /* -> 8 */
		/* 3 */ BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		/* x86_64 and x32 */
		/* 4 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		/* 5 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, NR_SOCKET_X86_64, 6, 0),          /* -> 12 */
		/* 6 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, NR_SOCKET_X86_64 | X32_BIT, 5, 0), /* -> 12 */
		/* 7 */ BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		/* i386: socketcall hides its arguments in memory, so all of it goes */
		/* 8 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		/* 9 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, NR_SOCKETCALL_I386, 4, 0),   /* -> 14 */
		/* 10 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, NR_SOCKET_I386, 1, 0),      /* -> 12 */
		/* 11 */ BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		/* socket(): the family in the low 32 bits of the first argument */
		/* 12 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, ARG0_LO),
		/* 13 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AF_PACKET_, 0, 1),          /* 14 : 15 */
		/* 14 */ BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA)),
		/* 15 */ BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { .len = ARRAY_SIZE(f), .filter = f };

	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0)
		return nerr_set(err, errno, "install the packet-socket guard");
	return 0;
}
