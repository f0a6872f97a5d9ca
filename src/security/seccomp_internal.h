/* Shared by the seccomp files of the security module only. */
#ifndef NUCLEUS_SECCOMP_INTERNAL_H
#define NUCLEUS_SECCOMP_INTERNAL_H

#include <nucleus/util.h>

/* Feed the built-in profile's definition into a hash. */
void sc_builtin_digest(struct sha256 *s);

#endif
