/* journald for the audit writers (journal.c). Private to the audit module. */
#ifndef NUCLEUS_AUDIT_JOURNAL_H
#define NUCLEUS_AUDIT_JOURNAL_H

#include <sys/uio.h>

/* The fields (iovecs of "NAME=value", no newline; at most
 * JOURNAL_FIELDS_MAX) as one journal entry through
 * libsystemd's sd_journal_sendv, dlopen'ed on first use; or, where
 * libsystemd cannot be loaded, through the native protocol on `fd`, a
 * datagram socket connected to the journal (one datagram: an entry too
 * large for it is lost). */
#define JOURNAL_FIELDS_MAX 16
void journal_send(int fd, const struct iovec *iov, int n);

#endif
