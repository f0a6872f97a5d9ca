/* libFuzzer target for the bridge networking parsers: -p, --subnet,
 * --add-host, --dns-search, and the lease files the allocator reads back.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -Iinclude \
 *         tests/fuzz/fuzz_portspec.c src/network/bridge_config.c src/network/cidr.c \
 *         src/network/ipam.c src/util/[a-z]*.c -o fuzz_portspec
 *   ./fuzz_portspec
 *
 * The first byte picks the parser, the rest is its argument. Beyond "no
 * crash, no leak": a refusal is one line; an accepted -p spec is sane and
 * survives a round trip through its canonical form; an accepted subnet
 * prints and parses back to itself; --add-host and --dns-search never let
 * a newline (or a second field) into /etc/hosts or resolv.conf. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>

#include "nucleus/network.h"
#include "../../src/network/net_internal.h"

static void check(bool ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "fuzz_portspec: %s\n", what);
		abort();
	}
}

static void refused(const struct nerr *e)
{
	check(e->code != 0 && e->msg[0], "a refusal without a message");
	check(!strchr(e->msg, '\n'), "a refusal of more than one line");
}

static void port(const char *s)
{
	struct port_spec p, q;
	struct nerr e = { 0 };
	char buf[128];

	if (port_spec_parse(s, &p, &e) < 0) {
		refused(&e);
		return;
	}
	check(p.count >= 1 && p.count <= NET_MAX_PORTS, "range length");
	check(p.host_port >= 1 && p.host_port + p.count - 1 <= 65535, "host port range");
	check(p.cont_port >= 1 && p.cont_port + p.count - 1 <= 65535, "container port range");
	check(p.proto == IPPROTO_TCP || p.proto == IPPROTO_UDP, "protocol");
	check(p.host_family == 0 || p.host_family == 4 || p.host_family == 6, "family");
	port_spec_format(&p, buf, sizeof(buf));
	check(port_spec_parse(buf, &q, &e) == 0, "the canonical form is refused");
	check(!memcmp(&p, &q, sizeof(p)), "the canonical form means something else");
	check(port_spec_conflict(&p, &q), "a spec does not conflict with itself");
}

static void subnet(const char *s)
{
	struct bridge_config c, d;
	struct nerr e = { 0 };
	char buf[64];

	bridge_config_init(&c);
	if (bridge_config_add_subnet(&c, s, &e) < 0) {
		refused(&e);
		bridge_config_free(&c);
		return;
	}
	bridge_config_init(&d);
	if (c.subnet4_set) {
		cidr_format(&c.subnet4, buf, sizeof(buf));
		check(bridge_config_add_subnet(&d, buf, &e) == 0, "an IPv4 subnet does not parse back");
		check(!memcmp(&c.subnet4, &d.subnet4, sizeof(c.subnet4)), "an IPv4 subnet changed");
		check(subnet_hosts(&c.subnet4) >= 2, "a subnet without room");
	} else {
		cidr_format(&c.subnet6, buf, sizeof(buf));
		check(bridge_config_add_subnet(&d, buf, &e) == 0, "an IPv6 subnet does not parse back");
		check(!memcmp(&c.subnet6, &d.subnet6, sizeof(c.subnet6)), "an IPv6 subnet changed");
	}
	if (bridge_config_validate(&c, &e) < 0)
		refused(&e);
	bridge_config_free(&c);
	bridge_config_free(&d);
}

static void add_host(const char *s)
{
	char *line = NULL;
	struct nerr e = { 0 };

	if (add_host_parse(s, "10.0.42.1", &line, &e) < 0) {
		refused(&e);
		check(!line, "a line after a refusal");
		return;
	}
	check(!strchr(line, '\n') && !strchr(line, ' '), "a line break or space in an /etc/hosts line");
	check(strchr(line, '\t') && strchr(line, '\t') == strrchr(line, '\t'), "not two fields");
	free(line);
}

static void dns_search(const char *s)
{
	struct nerr e = { 0 };

	if (dns_search_check(s, &e) < 0) {
		refused(&e);
		return;
	}
	check(!strpbrk(s, " \t\r\n#;"), "resolv.conf syntax in a search domain");
}

static void lease(const char *s)
{
	struct lease_rec r;

	if (lease_parse(s, &r) == 0)
		check(r.id[0] != '\0' && !strchr(r.id, '\n'), "a lease id");
	free(r.ports);
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
	switch (data[0] % 5) {
	case 0: port(s); break;
	case 1: subnet(s); break;
	case 2: add_host(s); break;
	case 3: dns_search(s); break;
	case 4: lease(s); break;
	}
	free(s);
	return 0;
}
