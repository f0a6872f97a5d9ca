/* Sets of argument values as unions of ternary patterns, and a rule's
 * argument conditions as alternatives built from them.
 *
 * Several comparisons on one argument are a conjunction (OCI). libseccomp
 * 2.5 refuses two comparisons on the same argument in one rule, and
 * splitting them into separate rules (runc, crun) turns AND into OR, which
 * widens an ALLOW rule. Here the set of values the conjunction admits is
 * computed exactly as a union of disjoint ternary patterns and each pattern
 * becomes one rule with a single SCMP_CMP_MASKED_EQ on that argument
 * (seccomp_compile.c). */
#include <errno.h>
#include <string.h>
#include <nucleus/security.h>
#include "seccomp_internal.h"

static uint64_t width_mask(unsigned w)
{
	return w >= 64 ? ~0ull : (1ull << w) - 1;
}

static void patset_add(struct sc_patset *s, uint64_t mask, uint64_t value)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 8;
		s->p = xrealloc(s->p, s->cap * sizeof(*s->p));
	}
	s->p[s->n++] = (struct sc_pattern){ mask, value & mask };
}

/* [lo, hi] as aligned power-of-two blocks, like a range of addresses as CIDR
 * prefixes: at most 2 * width - 2 of them. */
static void patset_add_range(struct sc_patset *s, unsigned w, uint64_t lo, uint64_t hi)
{
	uint64_t all = width_mask(w);

	for (;;) {
		unsigned k = lo ? (unsigned)__builtin_ctzll(lo) : w;
		uint64_t span = hi - lo, size_1;

		if (k > w)
			k = w;
		/* the largest aligned block at lo that ends at or before hi */
		while ((size_1 = width_mask(k)) > span)
			k--;
		patset_add(s, all & ~size_1, lo);
		if (size_1 == span)
			return;
		lo += size_1 + 1;
	}
}

void sc_patset_from_cmp(struct sc_patset *s, unsigned w, enum sc_op op, uint64_t a, uint64_t b)
{
	uint64_t all = width_mask(w);

	s->n = 0;
	switch (op) {
	case SC_OP_EQ:
		patset_add(s, all, a);
		break;
	case SC_OP_NE:
		/* everything that first differs from a at bit i, for each i */
		for (unsigned i = w; i-- > 0;)
			patset_add(s, all & ~width_mask(i), a ^ (1ull << i));
		break;
	case SC_OP_LT:
		if (a)
			patset_add_range(s, w, 0, a - 1);
		break;
	case SC_OP_LE:
		patset_add_range(s, w, 0, a);
		break;
	case SC_OP_GT:
		if (a != all)
			patset_add_range(s, w, a + 1, all);
		break;
	case SC_OP_GE:
		patset_add_range(s, w, a, all);
		break;
	case SC_OP_MASKED_EQ:
		/* as libseccomp compiles it: (v & a) == (b & a) */
		patset_add(s, a & all, b);
		break;
	}
}

int sc_patset_intersect(struct sc_patset *out, const struct sc_patset *x, const struct sc_patset *y,
			size_t limit)
{
	out->n = 0;
	for (size_t i = 0; i < x->n; i++)
		for (size_t j = 0; j < y->n; j++) {
			const struct sc_pattern *p = &x->p[i], *q = &y->p[j];

			/* disjoint when they disagree on a bit both fix */
			if ((p->value ^ q->value) & p->mask & q->mask)
				continue;
			if (out->n >= limit)
				return -E2BIG;
			patset_add(out, p->mask | q->mask, p->value | q->value);
		}
	return 0;
}

void sc_patset_free(struct sc_patset *s)
{
	free(s->p);
	memset(s, 0, sizeof(*s));
}

bool sc_cmp_holds(unsigned w, enum sc_op op, uint64_t a, uint64_t b, uint64_t v)
{
	v &= width_mask(w);
	switch (op) {
	case SC_OP_NE: return v != a;
	case SC_OP_LT: return v < a;
	case SC_OP_LE: return v <= a;
	case SC_OP_EQ: return v == a;
	case SC_OP_GE: return v >= a;
	case SC_OP_GT: return v > a;
	case SC_OP_MASKED_EQ: return (v & a) == (b & a);
	}
	return false;
}

static bool op_valid(enum sc_op op)
{
	return op >= SC_OP_NE && op <= SC_OP_MASKED_EQ;
}

/* A comparison whose datums do not fit in 32 bits: libseccomp truncates
 * them for 32-bit architectures, which changes its meaning there. */
static bool cmp_wide(const struct sc_arg *a)
{
	return a->value > UINT32_MAX || (a->op == SC_OP_MASKED_EQ && a->value_two > UINT32_MAX);
}

/* The conjunction of the comparisons on argument idx, as patterns. For a
 * 32-bit architecture the argument is a 32-bit value: the set is cut to
 * [0, 2^32) first. */
static int arg_patterns(const struct sc_rule *r, unsigned idx, bool arg32, struct sc_patset *out,
			struct nerr *err)
{
	struct sc_patset cmp = { 0 }, res = { 0 };
	bool first = true;
	int rc = 0;

	if (arg32) {
		sc_patset_from_cmp(out, 64, SC_OP_LE, UINT32_MAX, 0);
		first = false;
	}
	for (size_t i = 0; i < r->nargs; i++) {
		const struct sc_arg *a = &r->args[i];

		if (a->index != idx)
			continue;
		if (first) {
			sc_patset_from_cmp(out, 64, a->op, a->value, a->value_two);
			first = false;
			continue;
		}
		sc_patset_from_cmp(&cmp, 64, a->op, a->value, a->value_two);
		if (sc_patset_intersect(&res, out, &cmp, SC_MAX_ALTERNATIVES) < 0) {
			rc = nerr_set(err, E2BIG, "the conditions on argument %u need more than %d rules",
				      idx, SC_MAX_ALTERNATIVES);
			break;
		}
		/* swap: the result becomes the running set, its old buffer is reused */
		{
			struct sc_patset t = *out;
			*out = res;
			res = t;
		}
	}
	sc_patset_free(&cmp);
	sc_patset_free(&res);
	return rc;
}

/* The number of values a union of disjoint patterns admits (up to 2^64). */
static unsigned __int128 patset_volume(const struct sc_patset *s)
{
	unsigned __int128 v = 0;

	for (size_t i = 0; i < s->n; i++)
		v += (unsigned __int128)1 << (64 - __builtin_popcountll(s->p[i].mask));
	return v;
}

int sc_args_compare(const struct sc_arg *a, size_t na, const struct sc_arg *b, size_t nb, unsigned *rel)
{
	const struct sc_rule ra = { .args = (struct sc_arg *)a, .nargs = na };
	const struct sc_rule rb = { .args = (struct sc_arg *)b, .nargs = nb };
	const unsigned __int128 all = (unsigned __int128)1 << 64;
	bool a_empty = false, b_empty = false, c_empty = false, a_in_b = true, b_in_a = true;
	struct nerr err;
	int rc = 0;

	for (size_t i = 0; i < na + nb; i++) {
		const struct sc_arg *x = i < na ? &a[i] : &b[i - na];

		if (x->index > 5 || !op_valid(x->op))
			return -EINVAL;
	}
	for (unsigned idx = 0; idx < 6 && rc == 0; idx++) {
		struct sc_patset sa = { 0 }, sb = { 0 }, sc = { 0 };
		bool has_a = false, has_b = false;
		unsigned __int128 va = all, vb = all, vc;

		for (size_t i = 0; i < na; i++)
			has_a |= a[i].index == idx;
		for (size_t i = 0; i < nb; i++)
			has_b |= b[i].index == idx;
		if (!has_a && !has_b)
			continue;
		if ((has_a && (rc = arg_patterns(&ra, idx, false, &sa, &err)) < 0) ||
		    (has_b && (rc = arg_patterns(&rb, idx, false, &sb, &err)) < 0))
			goto next;
		if (has_a)
			va = patset_volume(&sa);
		if (has_b)
			vb = patset_volume(&sb);
		if (has_a && has_b) {
			if ((rc = sc_patset_intersect(&sc, &sa, &sb, SC_MAX_ALTERNATIVES)) < 0)
				goto next;
			vc = patset_volume(&sc);
		} else {
			vc = has_a ? va : vb;
		}
		a_empty |= va == 0;
		b_empty |= vb == 0;
		c_empty |= vc == 0;
		a_in_b &= vc == va;
		b_in_a &= vc == vb;
next:
		sc_patset_free(&sa);
		sc_patset_free(&sb);
		sc_patset_free(&sc);
	}
	if (rc < 0)
		return rc;
	*rel = (c_empty ? SC_ARGS_DISJOINT : 0) | (a_empty || a_in_b ? SC_ARGS_A_IN_B : 0) |
	       (b_empty || b_in_a ? SC_ARGS_B_IN_A : 0);
	return 0;
}

bool sc_rule_width_sensitive(const struct sc_rule *r)
{
	unsigned count[6] = { 0 };

	for (size_t i = 0; i < r->nargs; i++)
		if (r->args[i].index > 5 || ++count[r->args[i].index] > 1 || cmp_wide(&r->args[i]))
			return true;
	return false;
}

int sc_rule_alternatives(const struct sc_rule *r, bool arg32, struct sc_alt **out, size_t *n,
			 struct nerr *err)
{
	struct sc_patset sets[6] = { 0 };
	bool by_pattern[6] = { false };
	unsigned count[6] = { 0 };
	size_t pick[6] = { 0 }, total = 1;
	uint64_t keep = arg32 ? UINT32_MAX : UINT64_MAX;
	struct sc_alt *alts;
	bool simple = true;
	int rc = 0;

	*out = NULL;
	*n = 0;
	for (size_t i = 0; i < r->nargs; i++) {
		unsigned idx = r->args[i].index;

		if (idx > 5)
			return nerr_set(err, EINVAL, "argument index %u (0 to 5)", idx);
		if (!op_valid(r->args[i].op))
			return nerr_set(err, EINVAL, "comparison operator %d", (int)r->args[i].op);
		if (++count[idx] > 1 || (arg32 && cmp_wide(&r->args[i])))
			simple = false;
	}
	/* Once patterns are needed, every argument of the rule is written as
	 * patterns: libseccomp 2.5.4 can loop forever merging rules that mix
	 * a range or NE comparison on one argument with comparisons on another
	 * that differ in the high word, which is what patterns look like. */
	for (unsigned idx = 0; idx < 6; idx++)
		by_pattern[idx] = !simple && count[idx] > 0;
	if (simple) {
		alts = xcalloc(1, sizeof(*alts));
		for (size_t i = 0; i < r->nargs; i++)
			alts->args[alts->n++] = r->args[i];
		*out = alts;
		*n = 1;
		return 0;
	}
	for (unsigned idx = 0; idx < 6; idx++) {
		if (!by_pattern[idx])
			continue;
		if ((rc = arg_patterns(r, idx, arg32, &sets[idx], err)) < 0)
			goto out;
		total *= sets[idx].n;
		if (total > SC_MAX_ALTERNATIVES) {
			rc = nerr_set(err, E2BIG, "the argument conditions need more than %d rules",
				      SC_MAX_ALTERNATIVES);
			goto out;
		}
	}
	if (total == 0)          /* contradictory: the rule matches no call */
		goto out;
	alts = xcalloc(total, sizeof(*alts));
	for (size_t k = 0; k < total; k++) {
		struct sc_alt *a = &alts[k];

		for (unsigned idx = 0; idx < 6; idx++) {
			const struct sc_pattern *p;

			if (!by_pattern[idx])
				continue;
			p = &sets[idx].p[pick[idx]];
			/* mask 0 admits every value: no condition. For 32-bit
			 * arches only the low word is compared (the high word
			 * is fixed to 0 in every pattern there). */
			if (p->mask & keep)
				a->args[a->n++] = (struct sc_arg){ .index = idx, .op = SC_OP_MASKED_EQ,
								   .value = p->mask & keep,
								   .value_two = p->value & keep };
		}
		/* the next combination, mixed radix */
		for (unsigned idx = 0; idx < 6; idx++) {
			if (!by_pattern[idx])
				continue;
			if (++pick[idx] < sets[idx].n)
				break;
			pick[idx] = 0;
		}
	}
	*out = alts;
	*n = total;
out:
	for (unsigned idx = 0; idx < 6; idx++)
		sc_patset_free(&sets[idx]);
	return rc;
}
