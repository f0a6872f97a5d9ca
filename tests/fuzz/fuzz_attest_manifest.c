/* libFuzzer target for the rootfs manifest and the store paths list
 * (src/filesystem/attest.c).
 *
 * The first byte picks the parser, the rest is its text. Beyond "no crash,
 * no leak": a refusal is one line; an accepted manifest is sorted, without
 * duplicates, every path safe, and its canonical form parses back to the
 * same entries and formats to the same text; an accepted store path list
 * holds only /nix/store/<one component>. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nucleus/attest.h"
#include "../../src/filesystem/attest_internal.h"

static void check(bool ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "fuzz_attest_manifest: %s\n", what);
		abort();
	}
}

static void refused(const struct nerr *e)
{
	check(e->code != 0 && e->msg[0], "a refusal without a message");
	check(!strchr(e->msg, '\n'), "a refusal of more than one line");
}

static void manifest(const char *s, size_t n)
{
	struct attest_manifest m, m2;
	struct nerr e = { 0 };
	char *text, *text2;

	if (attest_manifest_parse(s, n, &m, &e) < 0) {
		refused(&e);
		check(!m.n && !m.e, "entries after a refusal");
		return;
	}
	for (size_t i = 0; i < m.n; i++) {
		check(!attest_path_unsafe(m.e[i].path), "an unsafe path accepted");
		check(i == 0 || strcmp(m.e[i - 1].path, m.e[i].path) < 0, "not sorted, or a duplicate");
		check(m.e[i].link ? m.e[i].link[0] && !strpbrk(m.e[i].link, "\n\r") && !m.e[i].sha256[0]
				  : strlen(m.e[i].sha256) == 64, "an entry neither a file nor a symlink");
	}
	text = attest_manifest_format(&m);
	check(attest_manifest_parse(text, strlen(text), &m2, &e) == 0, "the canonical form is refused");
	check(m2.n == m.n, "the canonical form has other entries");
	for (size_t i = 0; i < m.n; i++) {
		check(!strcmp(m.e[i].path, m2.e[i].path), "a path changed");
		check(!strcmp(m.e[i].sha256, m2.e[i].sha256), "a hash changed");
		check(!m.e[i].link == !m2.e[i].link && (!m.e[i].link || !strcmp(m.e[i].link, m2.e[i].link)),
		      "a target changed");
	}
	text2 = attest_manifest_format(&m2);
	check(!strcmp(text, text2), "the canonical form is not stable");
	free(text);
	free(text2);
	attest_manifest_free(&m);
	attest_manifest_free(&m2);
}

static void store_paths(const char *s, size_t n)
{
	char **v = NULL;
	struct nerr e = { 0 };

	if (attest_store_paths_parse(s, n, &v, &e) < 0) {
		refused(&e);
		check(!v, "a list after a refusal");
		return;
	}
	for (char **p = v; *p; p++) {
		check(str_has_prefix(*p, "/nix/store/"), "not in /nix/store");
		check(!attest_store_name_unsafe(*p + strlen("/nix/store/")), "an unsafe store name accepted");
	}
	strv_free(v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s;

	if (size < 1)
		return 0;
	s = malloc(size);
	if (!s)
		return 0;
	memcpy(s, data + 1, size - 1);
	s[size - 1] = '\0';
	if (data[0] & 1)
		store_paths(s, size - 1);
	else
		manifest(s, size - 1);
	free(s);
	return 0;
}
