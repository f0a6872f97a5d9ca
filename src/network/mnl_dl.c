/* libmnl, opened with dlopen on first use. Debian ships no static
 * libmnl, and a dynamically linked one costs every `nucleus run` ~0.5 ms of
 * loader work on these machines, bridge or not; so the functions netlink.c
 * calls are defined here, hidden, and forward to the library once
 * mnl_dl_load() has opened it. (libnftables, dlopen'ed later, binds to the
 * real libmnl: these definitions are not exported.) */
#include <dlfcn.h>
#include <errno.h>
#include "net_internal.h"

#pragma GCC visibility push(hidden)
#include <libmnl/libmnl.h>

/* X(name, return type, parameters, arguments); XV for functions returning void */
#define MNL_FUNCS(X, XV)                                                                                   \
	X(mnl_socket_fdopen, struct mnl_socket *, (int fd), (fd))                                          \
	X(mnl_socket_bind, int, (struct mnl_socket *nl, unsigned int groups, pid_t pid), (nl, groups, pid)) \
	X(mnl_socket_close, int, (struct mnl_socket *nl), (nl))                                            \
	X(mnl_socket_get_portid, unsigned int, (const struct mnl_socket *nl), (nl))                        \
	X(mnl_socket_sendto, ssize_t, (const struct mnl_socket *nl, const void *req, size_t siz),           \
	  (nl, req, siz))                                                                                   \
	X(mnl_socket_recvfrom, ssize_t, (const struct mnl_socket *nl, void *buf, size_t siz), (nl, buf, siz)) \
	X(mnl_socket_setsockopt, int, (const struct mnl_socket *nl, int type, void *buf, socklen_t len),    \
	  (nl, type, buf, len))                                                                             \
	X(mnl_nlmsg_size, size_t, (size_t len), (len))                                                     \
	X(mnl_nlmsg_get_payload_len, size_t, (const struct nlmsghdr *nlh), (nlh))                          \
	X(mnl_nlmsg_put_header, struct nlmsghdr *, (void *buf), (buf))                                     \
	X(mnl_nlmsg_put_extra_header, void *, (struct nlmsghdr *nlh, size_t size), (nlh, size))             \
	X(mnl_nlmsg_ok, bool, (const struct nlmsghdr *nlh, int len), (nlh, len))                           \
	X(mnl_nlmsg_next, struct nlmsghdr *, (const struct nlmsghdr *nlh, int *len), (nlh, len))            \
	X(mnl_nlmsg_get_payload, void *, (const struct nlmsghdr *nlh), (nlh))                              \
	X(mnl_attr_get_type, uint16_t, (const struct nlattr *attr), (attr))                                \
	X(mnl_attr_get_payload_len, uint16_t, (const struct nlattr *attr), (attr))                         \
	X(mnl_attr_get_payload, void *, (const struct nlattr *attr), (attr))                               \
	X(mnl_attr_get_u32, uint32_t, (const struct nlattr *attr), (attr))                                 \
	X(mnl_attr_get_u64, uint64_t, (const struct nlattr *attr), (attr))                                 \
	X(mnl_attr_get_str, const char *, (const struct nlattr *attr), (attr))                             \
	X(mnl_attr_nest_start, struct nlattr *, (struct nlmsghdr *nlh, uint16_t type), (nlh, type))         \
	X(mnl_attr_validate, int, (const struct nlattr *attr, enum mnl_attr_data_type type), (attr, type))  \
	X(mnl_attr_parse, int, (const struct nlmsghdr *nlh, unsigned int offset, mnl_attr_cb_t cb, void *data), \
	  (nlh, offset, cb, data))                                                                          \
	X(mnl_attr_parse_nested, int, (const struct nlattr *attr, mnl_attr_cb_t cb, void *data),            \
	  (attr, cb, data))                                                                                 \
	XV(mnl_attr_put, (struct nlmsghdr *nlh, uint16_t type, size_t len, const void *data),               \
	   (nlh, type, len, data))                                                                          \
	XV(mnl_attr_put_u32, (struct nlmsghdr *nlh, uint16_t type, uint32_t data), (nlh, type, data))       \
	XV(mnl_attr_put_strz, (struct nlmsghdr *nlh, uint16_t type, const char *data), (nlh, type, data))   \
	XV(mnl_attr_nest_end, (struct nlmsghdr *nlh, struct nlattr *start), (nlh, start))

#define POINTER(name, ...) static __typeof__(name) *p_##name;
MNL_FUNCS(POINTER, POINTER)

#define FORWARD(name, ret, params, args) \
	ret name params { return p_##name args; }
#define FORWARD_VOID(name, params, args) \
	void name params { p_##name args; }
MNL_FUNCS(FORWARD, FORWARD_VOID)
#pragma GCC visibility pop

static void *lib;

int mnl_dl_load(struct nerr *err)
{
	void *h;

	if (lib)
		return 0;
	h = dlopen("libmnl.so.0", RTLD_NOW | RTLD_LOCAL);
	if (!h)
		return nerr_set(err, ENOENT, "bridge networking needs libmnl (Debian package libmnl0): %s", dlerror());
#define RESOLVE(name, ...)                                                                   \
	if (!(p_##name = (__typeof__(p_##name))dlsym(h, #name))) {                           \
		dlclose(h);                                                                  \
		return nerr_set(err, ENOENT, "libmnl.so.0 lacks %s", #name);                 \
	}
	MNL_FUNCS(RESOLVE, RESOLVE)
	lib = h;
	return 0;
}
