/* Test-only: run a compiled seccomp filter (tests/unit/cbpf.c). */
#ifndef NUCLEUS_TEST_CBPF_H
#define NUCLEUS_TEST_CBPF_H

#include <stdint.h>
#include <linux/seccomp.h>

/* Run a compiled filter the way the kernel would: returns the
 * SECCOMP_RET_* value. */
uint32_t sc_bpf_run(const void *insns, unsigned len, const struct seccomp_data *d);

#endif
