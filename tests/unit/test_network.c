/* Bridge networking without the system: -p, --subnet, --add-host and
 * --dns-search parsing, subnet arithmetic, the nftables elements of
 * published ports, and the address allocator (leases, the lowest free
 * address, 20 processes allocating at once). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <nucleus/network.h>
#include "../../src/network/net_internal.h"

static char state[] = "/tmp/nucleus-unit-net-XXXXXX";

static void spec_ok(const char *in, const char *canonical)
{
	struct port_spec p;
	struct nerr e = { 0 };
	char buf[128];

	if (port_spec_parse(in, &p, &e) < 0)
		fail_msg("`%s` refused: %s", in, e.msg);
	port_spec_format(&p, buf, sizeof(buf));
	assert_string_equal(buf, canonical);
	/* the canonical form parses to the same spec */
	struct port_spec q;
	assert_int_equal(port_spec_parse(buf, &q, &e), 0);
	assert_memory_equal(&p, &q, sizeof(p));
}

static void spec_bad(const char *in, const char *why)
{
	struct port_spec p;
	struct nerr e = { 0 };

	if (port_spec_parse(in, &p, &e) == 0)
		fail_msg("`%s` accepted", in);
	if (!strstr(e.msg, why))
		fail_msg("`%s`: [%s] not in [%s]", in, why, e.msg);
	assert_null(strchr(e.msg, '\n'));
}

static void port_specs(void **s)
{
	struct port_spec p;

	spec_ok("8080:80", "8080:80/tcp");
	spec_ok("8080:80/udp", "8080:80/udp");
	spec_ok("127.0.0.1:8080:80", "127.0.0.1:8080:80/tcp");
	spec_ok("0.0.0.0:53:53/udp", "0.0.0.0:53:53/udp");
	spec_ok("[::]:8080:80", "[::]:8080:80/tcp");
	spec_ok("[2001:db8::1]:443:8443/tcp", "[2001:db8::1]:443:8443/tcp");
	spec_ok("8000-8010:9000-9010", "8000-8010:9000-9010/tcp");
	spec_ok("65535:1", "65535:1/tcp");
	assert_int_equal(port_spec_parse("127.0.0.1:8000-8002:90-92/udp", &p, NULL), 0);
	assert_int_equal(p.host_family, 4);
	assert_int_equal(p.host_port, 8000);
	assert_int_equal(p.cont_port, 90);
	assert_int_equal(p.count, 3);
	assert_int_equal(p.proto, IPPROTO_UDP);
	assert_int_equal(port_spec_parse("9000:80", &p, NULL), 0);
	assert_int_equal(p.host_family, 0);

	spec_bad("80", "a host port is needed");
	spec_bad("", "a host port is needed");
	spec_bad("0:80", "host port must be 1-65535");
	spec_bad("65536:80", "host port must be 1-65535");
	spec_bad("8080:0", "container port");
	spec_bad("8080:80/sctp", "tcp or udp");
	spec_bad("8080:80/", "tcp or udp");
	spec_bad("a:80", "host port");
	spec_bad("8080:80:90", "not an IPv4 address");
	spec_bad("1.2.3:8080:80", "not an IPv4 address");
	spec_bad("::1:8080:80", "IPv6 host addresses in brackets");
	spec_bad("[::1]:8080:80", "use 127.0.0.1");
	spec_bad("[::ffff:1.2.3.4]:8080:80", "cannot be a host address");
	spec_bad("[2001:db8::1]8080:80", "expected [IPV6]");
	spec_bad("[nope]:8080:80", "not an IPv6 address");
	spec_bad("224.0.0.1:8080:80", "cannot be a host address");
	spec_bad("8000-8010:80", "differ in length");
	spec_bad("8010-8000:80-90", "host port");
	spec_bad("1-200:1-200", "at most 128");
	spec_bad(":8080:80", "expected [HOSTIP:]");
	spec_bad("-1:80", "host port");
	spec_bad("8080:80/tcp/udp", "tcp or udp");
}

static struct port_spec P(const char *s)
{
	struct port_spec p;

	assert_int_equal(port_spec_parse(s, &p, NULL), 0);
	return p;
}

static void port_conflicts(void **s)
{
	struct port_spec a = P("8080:80"), b;

	b = P("127.0.0.1:8080:81");
	assert_true(port_spec_conflict(&a, &b));              /* every address includes 127.0.0.1 */
	b = P("8080:80/udp");
	assert_false(port_spec_conflict(&a, &b));             /* another protocol */
	b = P("8079-8081:1-3");
	assert_true(port_spec_conflict(&a, &b));              /* inside a range */
	b = P("8081-8090:1-10");
	assert_false(port_spec_conflict(&a, &b));
	a = P("127.0.0.1:8080:80");
	b = P("10.0.0.1:8080:80");
	assert_false(port_spec_conflict(&a, &b));             /* two addresses */
	b = P("0.0.0.0:8080:80");
	assert_true(port_spec_conflict(&a, &b));              /* any IPv4 */
	b = P("[::]:8080:80");
	assert_false(port_spec_conflict(&a, &b));             /* another family */
	b = P("[2001:db8::1]:8080:80");
	a = P("8080:80");
	assert_true(port_spec_conflict(&a, &b));
}

static void subnets(void **s)
{
	struct bridge_config c;
	struct nerr e = { 0 };
	char buf[64];

	bridge_config_init(&c);
	assert_string_equal(c.name, "nucleus0");
	assert_int_equal(bridge_config_validate(&c, &e), 0);
	cidr_format(&c.subnet4, buf, sizeof(buf));
	assert_string_equal(buf, "10.0.42.0/24");
	cidr_format(&c.subnet6, buf, sizeof(buf));
	assert_string_equal(buf, "fd00:6e75:636c::/64");
	bridge_config_gateway(&c, 4, buf, sizeof(buf));
	assert_string_equal(buf, "10.0.42.1");
	bridge_config_gateway(&c, 6, buf, sizeof(buf));
	assert_string_equal(buf, "fd00:6e75:636c::1");

	/* other bridges get their own ULA /64, derived from the name */
	assert_int_equal(bridge_config_set_name(&c, "nt42", &e), 0);
	assert_int_equal(bridge_config_add_subnet(&c, "10.213.7.0/24", &e), 0);
	assert_int_equal(bridge_config_validate(&c, &e), 0);
	cidr_format(&c.subnet6, buf, sizeof(buf));
	assert_true(str_has_prefix(buf, "fd00:6e75:636c:"));
	assert_string_not_equal(buf, "fd00:6e75:636c::/64");
	assert_true(str_has_suffix(buf, "::/64"));
	bridge_config_gateway(&c, 4, buf, sizeof(buf));
	assert_string_equal(buf, "10.213.7.1");
	assert_int_not_equal(bridge_config_add_subnet(&c, "10.213.8.0/24", &e), 0);
	assert_non_null(strstr(e.msg, "one IPv4 subnet"));
	assert_int_equal(bridge_config_add_subnet(&c, "fd42:1::/64", &e), 0);
	assert_int_not_equal(bridge_config_add_subnet(&c, "fd42:2::/64", &e), 0);
	bridge_config_free(&c);

	bridge_config_init(&c);
	assert_int_equal(bridge_config_add_subnet(&c, "10.0.0.0/8", &e), 0);
	assert_int_equal(bridge_config_add_subnet(&c, "fd00:1::/112", &e), 0);
	assert_int_not_equal(bridge_config_validate(&c, &e), 0);       /* /112 < 2^24 hosts */
	assert_non_null(strstr(e.msg, "fewer addresses"));
	bridge_config_free(&c);

	bridge_config_init(&c);
	for (const char *const *b = (const char *const[]){ "10.0.0.0/31", "10.0.0.0/7", "127.0.0.0/24",
		     "169.254.0.0/16", "224.0.0.0/24", "240.0.0.0/8", "0.0.0.0/8", "10.0.0.1", "x/24",
		     "10.0.0.0/33", "fe80::/64", "ff02::/64", "::/64", "2001:db8::/8", "fd00::/121", NULL };
	     *b; b++) {
		if (bridge_config_add_subnet(&c, *b, &e) == 0)
			fail_msg("--subnet %s accepted", *b);
		assert_non_null(strstr(e.msg, "invalid subnet"));
		assert_null(strstr(e.msg, "--"));      /* the caller names its flag or key */
	}
	assert_int_not_equal(bridge_config_set_name(&c, "", &e), 0);
	assert_int_not_equal(bridge_config_set_name(&c, "0123456789abcdef", &e), 0);   /* 16 */
	assert_int_not_equal(bridge_config_set_name(&c, "a/b", &e), 0);
	assert_int_not_equal(bridge_config_set_name(&c, "..", &e), 0);
	assert_int_not_equal(bridge_config_set_name(&c, "a b", &e), 0);
	assert_int_equal(bridge_config_set_name(&c, "br-test.1_x", &e), 0);

	/* a container's own ports may not overlap */
	assert_int_equal(bridge_config_add_port(&c, "8080:80", &e), 0);
	assert_int_equal(bridge_config_add_port(&c, "127.0.0.1:8080:81", &e), 0);
	assert_int_not_equal(bridge_config_validate(&c, &e), 0);
	assert_non_null(strstr(e.msg, "publish the same host port"));
	bridge_config_free(&c);

	bridge_config_init(&c);
	assert_int_equal(bridge_config_add_port(&c, "1000-1100:1000-1100", &e), 0);
	assert_int_not_equal(bridge_config_add_port(&c, "2000-2030:2000-2030", &e), 0);    /* 132 > 128 */
	bridge_config_free(&c);
}

static void subnet_arithmetic(void **s)
{
	struct cidr net, h, a, b;
	char buf[64];

	cidr_parse("10.0.0.0/16", &net, NULL);
	subnet_host(&net, 255, &h);
	cidr_format(&h, buf, sizeof(buf));
	assert_string_equal(buf, "10.0.0.255/16");
	subnet_host(&net, 256, &h);
	cidr_format(&h, buf, sizeof(buf));
	assert_string_equal(buf, "10.0.1.0/16");
	subnet_host(&net, 65534, &h);
	cidr_format(&h, buf, sizeof(buf));
	assert_string_equal(buf, "10.0.255.254/16");
	assert_int_equal(subnet_hosts(&net), 65534);
	cidr_parse("10.0.42.0/24", &net, NULL);
	assert_int_equal(subnet_hosts(&net), 254);
	cidr_parse("fd00:6e75:636c::/64", &net, NULL);
	subnet_host(&net, 0x1234, &h);
	cidr_format(&h, buf, sizeof(buf));
	assert_string_equal(buf, "fd00:6e75:636c::1234/64");

	cidr_parse("10.0.0.0/8", &a, NULL);
	cidr_parse("10.213.1.0/24", &b, NULL);
	assert_true(cidr_overlap(&a, &b));
	assert_true(cidr_overlap(&b, &a));
	cidr_parse("10.213.2.0/24", &a, NULL);
	assert_false(cidr_overlap(&a, &b));
	cidr_parse("fd00::/8", &a, NULL);
	assert_false(cidr_overlap(&a, &b));
}

static void add_hosts_and_dns(void **s)
{
	char *line = NULL;
	struct nerr e = { 0 };

	assert_int_equal(add_host_parse("db:10.0.0.5", NULL, &line, &e), 0);
	assert_string_equal(line, "10.0.0.5\tdb");
	free(line);
	assert_int_equal(add_host_parse("db.example=10.0.0.6", NULL, &line, &e), 0);
	assert_string_equal(line, "10.0.0.6\tdb.example");
	free(line);
	assert_int_equal(add_host_parse("v6:2001:db8::1", NULL, &line, &e), 0);
	assert_string_equal(line, "2001:db8::1\tv6");
	free(line);
	assert_int_equal(add_host_parse("v6:[::1]", NULL, &line, &e), 0);
	assert_string_equal(line, "::1\tv6");
	free(line);
	assert_int_equal(add_host_parse("host.docker.internal:host-gateway", "10.0.42.1", &line, &e), 0);
	assert_string_equal(line, "10.0.42.1\thost.docker.internal");
	free(line);
	assert_int_not_equal(add_host_parse("gw:host-gateway", NULL, &line, &e), 0);
	assert_non_null(strstr(e.msg, "host-gateway needs a bridge network"));
	assert_null(line);
	assert_int_not_equal(add_host_parse("nocolon", NULL, &line, &e), 0);
	assert_int_not_equal(add_host_parse(":10.0.0.1", NULL, &line, &e), 0);
	assert_int_not_equal(add_host_parse("bad name:10.0.0.1", NULL, &line, &e), 0);
	assert_int_not_equal(add_host_parse("x\ty:10.0.0.1", NULL, &line, &e), 0);
	assert_int_not_equal(add_host_parse("db:10.0.0", NULL, &line, &e), 0);
	assert_non_null(strstr(e.msg, "not an IP address"));
	assert_int_not_equal(add_host_parse("db:", NULL, &line, &e), 0);

	assert_int_equal(dns_search_check("example.com", &e), 0);
	assert_int_equal(dns_search_check("svc.cluster.local.", &e), 0);
	assert_int_equal(dns_search_check("a_b-c", &e), 0);
	assert_int_not_equal(dns_search_check("", &e), 0);
	assert_int_not_equal(dns_search_check(".com", &e), 0);
	assert_int_not_equal(dns_search_check("a..b", &e), 0);
	assert_int_not_equal(dns_search_check("a b", &e), 0);
	assert_int_not_equal(dns_search_check("x\nnameserver 1.2.3.4", &e), 0);
	char long_label[80];
	memset(long_label, 'a', 64);
	long_label[64] = '\0';
	assert_int_not_equal(dns_search_check(long_label, &e), 0);

	const char *const *d = net_bridge_default_dns();
	assert_string_equal(d[0], "8.8.8.8");
	assert_string_equal(d[1], "8.8.4.4");
	assert_null(d[2]);
}

/* The values' parsers say what is wrong with the value and name no flag:
 * the CLI, compose and the NixOS module each prefix their own name. */
static void errors_name_no_flag(void **s)
{
	struct egress_config eg = { 0 };
	struct bridge_config c;
	struct nerr e = { 0 };
	char *line = NULL;
	static const char *const why[] = {
		"invalid CIDR `x`", "invalid port `0`: expected 1-65535", "invalid DNS server `1.2.3.0/24`",
		"invalid bridge name `a/b`", "invalid subnet `nope`", "one IPv4 subnet per bridge",
		"invalid search domain `a..b`", "invalid host entry `nocolon`", "host-gateway needs a bridge network",
		"invalid port mapping `80`: a host port is needed", "port mappings `8080:80/tcp` and `8080:81/tcp` publish",
	};
	int r[ARRAY_SIZE(why)];
	char msg[ARRAY_SIZE(why)][sizeof(e.msg)];
	size_t n = 0;

	bridge_config_init(&c);
#define TRY(call) (r[n] = (call), snprintf(msg[n], sizeof(msg[n]), "%s", e.msg), n++)
	TRY(egress_add_allow(&eg, "x", &e));
	TRY(egress_add_port(&eg, true, "0", &e));
	TRY(egress_add_dns(&eg, "1.2.3.0/24", &e));
	TRY(bridge_config_set_name(&c, "a/b", &e));
	TRY(bridge_config_add_subnet(&c, "nope", &e));
	assert_int_equal(bridge_config_add_subnet(&c, "10.1.0.0/24", &e), 0);
	TRY(bridge_config_add_subnet(&c, "10.2.0.0/24", &e));
	TRY(dns_search_check("a..b", &e));
	TRY(add_host_parse("nocolon", NULL, &line, &e));
	TRY(add_host_parse("gw:host-gateway", NULL, &line, &e));
	TRY(bridge_config_add_port(&c, "80", &e));
	assert_int_equal(bridge_config_add_port(&c, "8080:80", &e), 0);
	assert_int_equal(bridge_config_add_port(&c, "8080:81", &e), 0);
	TRY(bridge_config_validate(&c, &e));
#undef TRY
	assert_int_equal(n, ARRAY_SIZE(why));
	for (size_t i = 0; i < n; i++) {
		if (r[i] >= 0 || !strstr(msg[i], why[i]) || strstr(msg[i], "--") || strstr(msg[i], "-p"))
			fail_msg("[%s]: %d [%s]", why[i], r[i], msg[i]);
	}
	for (n = 0; n < 1000 && egress_add_port(&eg, false, "53", &e) == 0; n++)
		;
	assert_in_range(n, 1, 999);                /* a bound, and a message for it */
	assert_non_null(strstr(e.msg, "UDP ports"));
	assert_null(strstr(e.msg, "--"));
	bridge_config_free(&c);
	egress_config_free(&eg);
}

static void nat_elements(void **s)
{
	struct port_spec p[3] = { P("8080:80"), P("127.0.0.1:5353-5354:53-54/udp"), P("[2001:db8::1]:443:8443") };
	struct cidr a4, a6 = { 0 };
	char *t;

	cidr_parse("10.0.42.7", &a4, NULL);
	a4.prefix = 24;
	cidr_parse("fd00:6e75:636c::7", &a6, NULL);
	t = nat_ports_cmd(true, "abc", p, 3, &a4, &a6);
	assert_string_equal(t,
		"add element inet nucleus dnat4 { tcp . 8080 comment \"abc\" : 10.0.42.7 . 80 }\n"
		"add element inet nucleus dnat6 { tcp . 8080 comment \"abc\" : fd00:6e75:636c::7 . 80 }\n"
		"add element inet nucleus dnat4h { 127.0.0.1 . udp . 5353 comment \"abc\" : 10.0.42.7 . 53 }\n"
		"add element inet nucleus dnat4h { 127.0.0.1 . udp . 5354 comment \"abc\" : 10.0.42.7 . 54 }\n"
		"add element inet nucleus dnat6h { 2001:db8::1 . tcp . 443 comment \"abc\" : fd00:6e75:636c::7 . 8443 }\n");
	free(t);
	/* deletion names the keys only; without IPv6 there are no IPv6 elements */
	t = nat_ports_cmd(false, "", p, 2, &a4, NULL);
	assert_string_equal(t,
		"delete element inet nucleus dnat4 { tcp . 8080 }\n"
		"delete element inet nucleus dnat4h { 127.0.0.1 . udp . 5353 }\n"
		"delete element inet nucleus dnat4h { 127.0.0.1 . udp . 5354 }\n");
	free(t);
}

static void leases(void **s)
{
	struct cidr a4, a6;
	struct port_spec p[2] = { P("8080:80"), P("127.0.0.1:53:53/udp") };
	struct lease_rec r;
	char *t;

	cidr_parse("10.0.42.9", &a4, NULL);
	a4.prefix = 24;
	cidr_parse("fd00:6e75:636c::9", &a6, NULL);
	t = lease_format("0123abcd", "/run/x/0123abcd/lock", 0, &a4, &a6, p, 2);
	assert_string_equal(t, "id 0123abcd\nowner /run/x/0123abcd/lock\naddr4 10.0.42.9/24\n"
			       "addr6 fd00:6e75:636c::9/128\nport 8080:80/tcp\nport 127.0.0.1:53:53/udp\n");
	assert_int_equal(lease_parse(t, &r), 0);
	assert_string_equal(r.id, "0123abcd");
	assert_string_equal(r.owner, "/run/x/0123abcd/lock");
	assert_int_equal(r.nports, 2);
	assert_memory_equal(&r.ports[1], &p[1], sizeof(p[1]));
	free(r.ports);
	free(r.owner);
	free(t);
	assert_int_not_equal(lease_parse("addr4 10.0.0.2/24\n", &r), 0);     /* cut short: no id */
	free(r.ports);
	assert_int_equal(lease_parse("id x\nowner relative/lock\n", &r), 0);
	assert_null(r.owner);                                  /* only absolute paths */

	char veth[IFNAMSIZ];
	veth_host_name("3f2a9c0b1d4e5f60718293a4b5c6d7e8", veth);
	assert_string_equal(veth, "nv3f2a9c0b1d4e");
	veth_host_name("a-b", veth);
	assert_string_equal(veth, "nvab");
}

static struct lease_rec *recs_of(const uint32_t *idx, size_t n)
{
	struct lease_rec *r = calloc(n + 1, sizeof(*r));

	for (size_t i = 0; i < n; i++)
		r[i].index = idx[i];
	return r;
}

static void pick_lowest_free(void **s)
{
	uint32_t got;
	struct lease_rec *r;

	assert_int_equal(ipam_pick(NULL, 0, 254, &got), 0);
	assert_int_equal(got, 2);
	r = recs_of((uint32_t[]){ 4, 2, 3, 6 }, 4);
	assert_int_equal(ipam_pick(r, 4, 254, &got), 0);
	assert_int_equal(got, 5);
	free(r);
	r = recs_of((uint32_t[]){ 2, 3 }, 2);
	assert_int_equal(ipam_pick(r, 2, 2, &got), -ENOSPC);      /* a /30: .2 only... taken */
	assert_int_equal(ipam_pick(r, 2, 3, &got), -ENOSPC);
	assert_int_equal(ipam_pick(r, 2, 4, &got), 0);
	assert_int_equal(got, 4);
	free(r);
}

/* One allocation as prepare makes it: lock, read, pick, write, unlock. */
static int allocate_one(const char *id, char *addr, size_t len)
{
	struct ipam ip;
	struct lease_rec *r = NULL;
	size_t n = 0;
	struct nerr e = { 0 };
	struct cidr net, a;
	uint32_t idx;
	char *text;
	int rc;

	cidr_parse("10.9.0.0/24", &net, NULL);
	if (ipam_open(&ip, state, &e) < 0)
		return -1;
	ipam_list(&ip, "ut0", &r, &n, &e);
	for (size_t i = 0; i < n; i++) {
		struct in_addr x;
		inet_pton(AF_INET, r[i].name, &x);
		r[i].index = ntohl(x.s_addr) & 0xff;
	}
	rc = ipam_pick(r, n, subnet_hosts(&net), &idx);
	lease_recs_free(r, n);
	if (rc == 0) {
		subnet_host(&net, idx, &a);
		inet_ntop(AF_INET, a.addr, addr, (socklen_t)len);
		text = lease_format(id, "/nonexistent/lock", 0, &a, NULL, NULL, 0);
		rc = ipam_write(&ip, "ut0", addr, text, &e);
		free(text);
	}
	ipam_close(&ip);
	return rc;
}

static void allocator_files(void **s)
{
	struct ipam ip;
	struct nerr e = { 0 };
	struct lease_rec *r = NULL;
	size_t n = 0;
	char a[32], b[32];

	assert_int_equal(allocate_one("first", a, sizeof(a)), 0);
	assert_string_equal(a, "10.9.0.2");
	assert_int_equal(allocate_one("second", b, sizeof(b)), 0);
	assert_string_equal(b, "10.9.0.3");
	assert_int_equal(ipam_open(&ip, state, &e), 0);
	assert_int_equal(ipam_count(&ip), 2);
	assert_int_equal(ipam_list(&ip, "ut0", &r, &n, &e), 0);
	assert_int_equal(n, 2);
	lease_recs_free(r, n);
	/* O_EXCL: an address is leased once */
	assert_int_not_equal(ipam_write(&ip, "ut0", "10.9.0.2", "id x\n", &e), 0);
	ipam_remove(&ip, "ut0", "10.9.0.2");
	char **br = ipam_bridges(&ip);
	assert_string_equal(br[0], "ut0");
	assert_null(br[1]);
	strv_free(br);
	ipam_close(&ip);
	/* the freed address is the lowest again */
	assert_int_equal(allocate_one("third", a, sizeof(a)), 0);
	assert_string_equal(a, "10.9.0.2");
	assert_int_equal(ipam_open(&ip, state, &e), 0);
	ipam_remove(&ip, "ut0", "10.9.0.2");
	ipam_remove(&ip, "ut0", "10.9.0.3");
	assert_int_equal(ipam_count(&ip), 0);
	ipam_close(&ip);
}

/* An ended container's address waits in a tombstone until its veth is gone. */
static void allocator_tombstones(void **s)
{
	struct ipam ip;
	struct nerr e = { 0 };
	struct lease_rec *r = NULL, *t = NULL;
	size_t n = 0, nt = 0;
	char a[32];

	assert_int_equal(allocate_one("gone", a, sizeof(a)), 0);
	assert_int_equal(ipam_open(&ip, state, &e), 0);
	ipam_release(&ip, "ut0", a);
	assert_int_equal(ipam_list(&ip, "ut0", &r, &n, &e), 0);
	assert_int_equal(n, 0);                              /* no lease */
	assert_int_equal(ipam_count(&ip), 0);                /* forwarding does not count it */
	assert_int_equal(ipam_tombstones(&ip, "ut0", &t, &nt, &e), 0);
	assert_int_equal(nt, 1);
	assert_string_equal(t[0].name, a);
	assert_string_equal(t[0].id, "gone");                /* whose veth to look for */
	lease_recs_free(t, nt);
	ipam_bury(&ip, "ut0", a);
	assert_int_equal(ipam_tombstones(&ip, "ut0", &t, &nt, &e), 0);
	assert_int_equal(nt, 0);
	lease_recs_free(r, n);
	free(t);
	ipam_close(&ip);
}

static void allocator_concurrent(void **s)
{
	enum { N = 20 };
	pid_t pids[N];
	struct ipam ip;
	struct nerr e = { 0 };
	struct lease_rec *r = NULL;
	size_t n = 0;

	for (int i = 0; i < N; i++) {
		pids[i] = fork();
		assert_true(pids[i] >= 0);
		if (pids[i] == 0) {
			char id[16], a[32];
			snprintf(id, sizeof(id), "proc%d", i);
			_exit(allocate_one(id, a, sizeof(a)) == 0 ? 0 : 1);
		}
	}
	for (int i = 0; i < N; i++) {
		int st;
		assert_int_equal(waitpid(pids[i], &st, 0), pids[i]);
		assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
	assert_int_equal(ipam_open(&ip, state, &e), 0);
	assert_int_equal(ipam_list(&ip, "ut0", &r, &n, &e), 0);
	assert_int_equal(n, N);            /* distinct files: distinct addresses */
	for (size_t i = 0; i < n; i++) {
		struct in_addr x;
		inet_pton(AF_INET, r[i].name, &x);
		uint32_t idx = ntohl(x.s_addr) & 0xff;
		assert_true(idx >= 2 && idx < 2 + N);
		for (size_t j = 0; j < i; j++)
			assert_string_not_equal(r[i].id, r[j].id);
		ipam_remove(&ip, "ut0", r[i].name);
	}
	lease_recs_free(r, n);
	ipam_close(&ip);
}

/* A lease lives while its owner's lock is held, by whoever, from anywhere. */
static void lease_owners(void **s)
{
	char *lock = xasprintf("%s/owner.lock", state);
	int fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600), held;

	assert_true(fd >= 0);
	assert_false(lease_owner_alive(lock));          /* nobody holds it */
	held = open(lock, O_RDWR | O_CLOEXEC);
	assert_int_equal(flock(held, LOCK_EX), 0);
	assert_true(lease_owner_alive(lock));
	assert_true(lease_owner_alive(lock));           /* asking does not take it */
	close(held);
	assert_false(lease_owner_alive(lock));
	close(fd);
	unlink(lock);
	assert_false(lease_owner_alive(lock));          /* its state is gone */
	assert_false(lease_owner_alive(NULL));
	free(lock);
}

/* A supervisor on its way out is no owner: gone, a zombie, or another
 * process that got its pid. */
static void lease_supervisors(void **s)
{
	uint64_t me = proc_start_time(getpid());
	struct lease_rec r;
	struct cidr a4;
	char *t;
	pid_t child;

	cidr_parse("10.0.42.9", &a4, NULL);
	t = lease_format("x", "/l", getpid(), &a4, NULL, NULL, 0);
	assert_int_equal(lease_parse(t, &r), 0);
	assert_int_equal(r.pid, getpid());
	assert_true(r.pid_start == me);
	free(r.owner);
	free(r.ports);
	free(t);
	assert_true(proc_running(getpid(), me));
	assert_false(proc_running(getpid(), me + 1));    /* the pid was reused */
	child = fork();
	if (child == 0)
		_exit(0);
	{
		uint64_t cs = proc_start_time(child);
		siginfo_t si;

		/* exited, not reaped: a zombie */
		assert_int_equal(waitid(P_PID, (id_t)child, &si, WEXITED | WNOWAIT), 0);
		assert_false(proc_running(child, cs));
		waitpid(child, NULL, 0);
		assert_false(proc_running(child, cs));     /* gone */
	}
}

/* The lease directory decides who gets an address: ours alone, no symlink. */
static void lease_dir_private(void **s)
{
	char *open_dir = xasprintf("%s/open", state), *link = xasprintf("%s/link", state);
	struct ipam ip;
	struct nerr e = { 0 };

	assert_int_equal(mkdir(open_dir, 0700), 0);
	assert_int_equal(chmod(open_dir, 0777), 0);
	assert_int_not_equal(ipam_open(&ip, open_dir, &e), 0);
	assert_non_null(strstr(e.msg, "writable by others"));
	assert_int_equal(chmod(open_dir, 0700), 0);
	assert_int_equal(symlink(open_dir, link), 0);
	nerr_clear(&e);
	assert_int_not_equal(ipam_open(&ip, link, &e), 0);
	assert_non_null(strstr(e.msg, "not a directory"));
	assert_int_equal(ipam_open(&ip, open_dir, &e), 0);
	ipam_close(&ip);
	free(open_dir);
	free(link);
}

/* Leases an older build kept per runtime root move into the shared place,
 * owned by their container's lock; tombstones and forwarding come along. */
static void adopt_older_leases(void **s)
{
	char *rt = xasprintf("%s/rt", state), *shared = xasprintf("%s/shared", state);
	char *old = NULL, *path = NULL, *text = NULL;
	struct ipam ip;
	struct nerr e = { 0 };
	struct lease_rec *r = NULL, *t = NULL;
	size_t n = 0, nt = 0;
	struct stat st;

	assert_int_equal(stat("/proc/self/ns/net", &st), 0);
	old = xasprintf("%s/.net/ns-%llu", rt, (unsigned long long)st.st_ino);
	path = xasprintf("%s/ut0", old);
	assert_int_equal(mkdir_p(path, 0700), 0);
	free(path);
	path = xasprintf("%s/ut0/10.9.0.2", old);
	assert_int_equal(write_file(path, "id aaaa\naddr4 10.9.0.2/24\n", 26, 0600), 0);
	free(path);
	path = xasprintf("%s/ut0/.released-10.9.0.3", old);
	assert_int_equal(write_file(path, "id bbbb\naddr4 10.9.0.3/24\n", 26, 0600), 0);
	free(path);
	path = xasprintf("%s/forwarding", old);
	assert_int_equal(write_file(path, "ipv4 0\nipv6 0\n", 14, 0600), 0);
	free(path);

	assert_int_equal(ipam_open(&ip, shared, &e), 0);
	ipam_adopt(&ip, rt);
	assert_int_equal(ipam_list(&ip, "ut0", &r, &n, &e), 0);
	assert_int_equal(n, 1);
	assert_string_equal(r[0].name, "10.9.0.2");
	path = xasprintf("%s/aaaa/lock", rt);
	assert_string_equal(r[0].owner, path);
	free(path);
	assert_int_equal(ipam_tombstones(&ip, "ut0", &t, &nt, &e), 0);
	assert_int_equal(nt, 1);
	path = xasprintf("%s/forwarding", ip.nsdir);
	assert_int_equal(read_file(path, 256, &text, NULL), 0);
	assert_string_equal(text, "ipv4 0\nipv6 0\n");
	free(path);
	assert_int_equal(access(old, F_OK), -1);        /* nothing left behind there */
	ipam_close(&ip);
	lease_recs_free(r, n);
	lease_recs_free(t, nt);
	free(text);
	free(old);
	free(rt);
	free(shared);
}

static int setup(void **s)
{
	return mkdtemp(state) ? 0 : -1;
}

static int teardown(void **s)
{
	remove_tree(state);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(port_specs),
		cmocka_unit_test(port_conflicts),
		cmocka_unit_test(subnets),
		cmocka_unit_test(subnet_arithmetic),
		cmocka_unit_test(add_hosts_and_dns),
		cmocka_unit_test(errors_name_no_flag),
		cmocka_unit_test(nat_elements),
		cmocka_unit_test(leases),
		cmocka_unit_test(lease_owners),
		cmocka_unit_test(lease_supervisors),
		cmocka_unit_test(lease_dir_private),
		cmocka_unit_test(adopt_older_leases),
		cmocka_unit_test(pick_lowest_free),
		cmocka_unit_test(allocator_files),
		cmocka_unit_test(allocator_tombstones),
		cmocka_unit_test(allocator_concurrent),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
