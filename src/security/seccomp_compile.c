/* Profile -> classic BPF with libseccomp: one filter per argument width
 * (seccomp_valuesets.c turns each rule's argument conditions into
 * alternatives libseccomp can take), and a guarded compile in a child
 * process for profiles that may make libseccomp loop. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <seccomp.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <linux/filter.h>
#include <nucleus/security.h>
#include "seccomp_internal.h"

static uint32_t action_to_scmp(struct sc_action a)
{
	switch (a.kind) {
	case SC_ALLOW: return SCMP_ACT_ALLOW;
	case SC_ERRNO: return SCMP_ACT_ERRNO(a.data);
	case SC_KILL_PROCESS: return SCMP_ACT_KILL_PROCESS;
	case SC_KILL_THREAD: return SCMP_ACT_KILL_THREAD;
	case SC_TRAP: return SCMP_ACT_TRAP;
	case SC_LOG: return SCMP_ACT_LOG;
	case SC_TRACE: return SCMP_ACT_TRACE(a.data);
	case SC_NOTIFY: return SCMP_ACT_NOTIFY;
	}
	return SCMP_ACT_KILL_PROCESS;
}

/* libseccomp compares only the low 32 bits of an argument on these. */
static bool arch_is_32bit(uint32_t tok)
{
	return !(tok & __AUDIT_ARCH_64BIT) || tok == SCMP_ARCH_MIPS64N32 ||
	       tok == SCMP_ARCH_MIPSEL64N32;
}

/* Names this libseccomp cannot resolve are skipped here; profile parsers
 * collect them in sc_profile.unknown so the user hears about them once. */
static int add_rule(scmp_filter_ctx ctx, const struct sc_profile *p, const struct sc_rule *r,
		    bool arg32, size_t *budget, struct nerr *err)
{
	_cleanup_free_ struct sc_alt *alts = NULL;
	uint32_t act = action_to_scmp(r->action);
	size_t nalts;
	int rc;

	/* A rule whose action equals the default adds nothing. */
	if (act == action_to_scmp(p->default_action))
		return 0;
	if ((rc = sc_rule_alternatives(r, arg32, &alts, &nalts, err)) < 0)
		return nerr_prefix(err, "seccomp rule for `%s`", r->names && r->names[0] ? r->names[0] : "?");
	for (size_t j = 0; r->names && r->names[j]; j++) {
		int nr = seccomp_syscall_resolve_name(r->names[j]);

		if (nr == __NR_SCMP_ERROR)
			continue;
		/* libseccomp's time grows faster than its rule count, and a
		 * filter this big would not fit in BPF_MAXINSNS anyway */
		if (nalts > *budget)
			return nerr_set(err, E2BIG, "seccomp profile needs more than %d libseccomp rules "
					"(calls times argument alternatives)", SC_MAX_LIBSECCOMP_RULES);
		*budget -= nalts;
		for (size_t k = 0; k < nalts; k++) {
			struct scmp_arg_cmp cmps[6];

			for (unsigned i = 0; i < alts[k].n; i++)
				cmps[i] = (struct scmp_arg_cmp){
					.arg = alts[k].args[i].index,
					.op = (enum scmp_compare)alts[k].args[i].op,
					.datum_a = alts[k].args[i].value,
					.datum_b = alts[k].args[i].value_two,
				};
			rc = seccomp_rule_add_array(ctx, act, nr, alts[k].n, cmps);
			if (rc < 0)
				return nerr_set(err, -rc, "seccomp rule for `%s`", r->names[j]);
		}
	}
	return 0;
}

/* One libseccomp filter for a set of architectures whose arguments have the
 * same width; with_native: keep the native architecture seccomp_init adds. */
static int build_filter(const struct sc_profile *p, unsigned flags, const uint32_t *arches,
			size_t narches, bool with_native, bool arg32, scmp_filter_ctx *out,
			struct nerr *err)
{
	/* --seccomp-log-denied: the default denial goes to the supervisor,
	 * which logs it and answers with the profile's errno */
	bool notify = (flags & SC_FLAG_NOTIFY_DENIED) && p->default_action.kind == SC_ERRNO;
	scmp_filter_ctx ctx = seccomp_init(notify ? SCMP_ACT_NOTIFY : action_to_scmp(p->default_action));
	int rc;

	*out = NULL;
	if (!ctx)
		return nerr_set(err, EINVAL, "seccomp_init: default action %d/%u", p->default_action.kind,
				p->default_action.data);
	seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
	if (flags & SC_FLAG_LOG_DENIED)
		seccomp_attr_set(ctx, SCMP_FLTATR_CTL_LOG, 1);
	for (size_t i = 0; i < narches; i++) {
		rc = seccomp_arch_add(ctx, arches[i]);
		if (rc < 0 && rc != -EEXIST) {
			seccomp_release(ctx);
			return nerr_set(err, -rc, "seccomp architecture %#x%s", arches[i],
					rc == -EDOM ? " (its byte order differs from this machine's)" : "");
		}
	}
	if (!with_native && (rc = seccomp_arch_remove(ctx, SCMP_ARCH_NATIVE)) < 0) {
		seccomp_release(ctx);
		return nerr_set(err, -rc, "seccomp: remove the native architecture");
	}
	for (size_t i = 0, budget = SC_MAX_LIBSECCOMP_RULES; i < p->nrules; i++) {
		rc = add_rule(ctx, p, &p->rules[i], arg32, &budget, err);
		if (rc < 0) {
			seccomp_release(ctx);
			return rc;
		}
	}
	*out = ctx;
	return 0;
}

/* Arguments are 64-bit on some of the filter's architectures and 32-bit on
 * others (x86_64 with x86 and x32): a rule whose comparisons mean something
 * else on 32 bits (several on one argument, or datums above 32 bits) is
 * compiled separately for each width and the two filters are merged. */
static int build(const struct sc_profile *p, unsigned flags, scmp_filter_ctx *out, struct nerr *err)
{
	uint32_t native = seccomp_arch_native();
	_cleanup_free_ uint32_t *a64 = xcalloc(p->narches + 1, sizeof(uint32_t));
	_cleanup_free_ uint32_t *a32 = xcalloc(p->narches + 1, sizeof(uint32_t));
	size_t n64 = 0, n32 = 0;
	bool sensitive = false;
	scmp_filter_ctx c32;
	int rc;

	for (size_t i = 0; i < p->narches; i++) {
		if (p->arches[i] == native)
			continue;
		if (arch_is_32bit(p->arches[i]))
			a32[n32++] = p->arches[i];
		else
			a64[n64++] = p->arches[i];
	}
	for (size_t i = 0; i < p->nrules && !sensitive; i++)
		sensitive = sc_rule_width_sensitive(&p->rules[i]);
	if (arch_is_32bit(native)) {
		/* a 32-bit machine: its own class is the one seccomp_init made */
		if (!sensitive || !n64) {
			for (size_t i = 0; i < n64; i++)
				a32[n32++] = a64[i];
			return build_filter(p, flags, a32, n32, true, !n64, out, err);
		}
		if ((rc = build_filter(p, flags, a32, n32, true, true, out, err)) < 0)
			return rc;
		if ((rc = build_filter(p, flags, a64, n64, false, false, &c32, err)) < 0)
			goto fail;
	} else {
		if (!sensitive || !n32) {
			for (size_t i = 0; i < n32; i++)
				a64[n64++] = a32[i];
			return build_filter(p, flags, a64, n64, true, false, out, err);
		}
		if ((rc = build_filter(p, flags, a64, n64, true, false, out, err)) < 0)
			return rc;
		if ((rc = build_filter(p, flags, a32, n32, false, true, &c32, err)) < 0)
			goto fail;
	}
	if ((rc = seccomp_merge(*out, c32)) < 0) {
		seccomp_release(c32);
		rc = nerr_set(err, -rc, "seccomp: merge the 32-bit and 64-bit filters");
		goto fail;
	}
	return 0;
fail:
	seccomp_release(*out);
	*out = NULL;
	return rc;
}

int sc_program_compile(const struct sc_profile *p, unsigned flags, struct sc_program *out,
		       struct nerr *err)
{
	scmp_filter_ctx ctx;
	_cleanup_close_ int mfd = -1;
	struct stat st;
	int rc;

	out->insns = NULL;
	out->len = 0;
	out->from_cache = false;
	out->kflags = p->flags & SC_KFLAGS_HONOURED;
	out->notify_errno = (flags & SC_FLAG_NOTIFY_DENIED) && p->default_action.kind == SC_ERRNO ?
			    p->default_action.data : 0;
	if ((rc = build(p, flags, &ctx, err)) < 0)
		return rc;
	mfd = memfd_create("nucleus-seccomp", MFD_CLOEXEC);
	if (mfd < 0) {
		seccomp_release(ctx);
		return nerr_set(err, errno, "memfd_create");
	}
	rc = seccomp_export_bpf(ctx, mfd);
	seccomp_release(ctx);
	if (rc < 0)
		return nerr_set(err, -rc, "export seccomp filter");
	if (fstat(mfd, &st) < 0)
		return nerr_set(err, errno, "stat seccomp filter");
	if (st.st_size <= 0 || st.st_size % sizeof(struct sock_filter) ||
	    st.st_size / sizeof(struct sock_filter) > BPF_MAXINSNS)
		return nerr_set(err, E2BIG, "seccomp filter of %lld instructions (the kernel takes %d)",
				(long long)st.st_size / (long long)sizeof(struct sock_filter), BPF_MAXINSNS);
	out->len = (unsigned short)(st.st_size / sizeof(struct sock_filter));
	out->insns = xmalloc((size_t)st.st_size);
	if (pread(mfd, out->insns, (size_t)st.st_size, 0) != st.st_size) {
		free(out->insns);
		out->insns = NULL;
		return nerr_set(err, EIO, "read seccomp filter");
	}
	return 0;
}

/* libseccomp 2.5.4 loops forever on some profiles (several rules for one
 * call that combine a range or NE comparison with comparisons differing in
 * an argument's high word). The supervisor must not hang on a profile, so
 * cache misses compile in a child that is given this long. */
unsigned sc_compile_timeout_ms = 10000;

struct compile_reply {
	struct nerr err;
	int rc;
	unsigned kflags;
	uint32_t notify_errno;
	uint32_t len;
};

int sc_program_compile_guarded(const struct sc_profile *p, unsigned flags, struct sc_program *out,
			   struct nerr *err)
{
	_cleanup_close_ int rfd = -1, wfd = -1;
	struct compile_reply rep;
	uint64_t deadline = now_ns() + sc_compile_timeout_ms * 1000000ull;
	size_t got = 0, want = sizeof(rep);
	char *buf = (char *)&rep;
	int fds[2], st;
	pid_t pid;

	if (pipe2(fds, O_CLOEXEC) < 0)
		return sc_program_compile(p, flags, out, err);
	rfd = fds[0];
	wfd = fds[1];
	pid = fork();
	if (pid < 0)
		return sc_program_compile(p, flags, out, err);
	if (pid == 0) {
		struct sc_program prog = { 0 };

		memset(&rep, 0, sizeof(rep));
		rep.rc = sc_program_compile(p, flags, &prog, &rep.err);
		rep.kflags = prog.kflags;
		rep.notify_errno = prog.notify_errno;
		rep.len = prog.len;
		if (write_all(wfd, &rep, sizeof(rep)) < 0 ||
		    (rep.rc == 0 && write_all(wfd, prog.insns, prog.len * sizeof(struct sock_filter)) < 0))
			_exit(1);
		_exit(0);
	}
	close(steal_fd(wfd));
	out->insns = NULL;
	while (got < want) {
		struct pollfd pfd = { .fd = rfd, .events = POLLIN };
		uint64_t now = now_ns();
		ssize_t n;
		int r;

		r = now >= deadline ? 0 : poll(&pfd, 1, (int)((deadline - now) / 1000000 + 1));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			free(out->insns);
			out->insns = NULL;
			return nerr_set(err, ETIMEDOUT, "libseccomp did not finish compiling the profile in "
					"%u ms (a libseccomp 2.5 bug with some combinations of 64-bit "
					"comparisons; see docs/seccomp.md)", sc_compile_timeout_ms);
		}
		n = read(rfd, buf + got, want - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
		if (got == sizeof(rep) && buf == (char *)&rep) {
			if (rep.rc < 0 || rep.len == 0 || rep.len > BPF_MAXINSNS)
				break;
			out->insns = xmalloc(rep.len * sizeof(struct sock_filter));
			buf = out->insns;
			got = 0;
			want = rep.len * sizeof(struct sock_filter);
		}
	}
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (got == want && buf == (char *)&rep && rep.rc < 0) {
		*err = rep.err;
		return rep.rc;
	}
	if (got != want || buf == (char *)&rep || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		free(out->insns);
		out->insns = NULL;
		return nerr_set(err, EIO, "compile the seccomp filter: the compiler process %s",
				WIFSIGNALED(st) ? strsignal(WTERMSIG(st)) : "failed");
	}
	out->len = (unsigned short)rep.len;
	out->kflags = rep.kflags;
	out->notify_errno = rep.notify_errno;
	out->from_cache = false;
	return 0;
}
