/* container: the configuration of one container, the run sequence (the
 * supervising parent and the child that becomes the workload), and where
 * runtime state lives. */
#ifndef NUCLEUS_CONTAINER_H
#define NUCLEUS_CONTAINER_H

#include <stdbool.h>
#include <stdint.h>
#include <nucleus/util.h>
#include <nucleus/filesystem.h>
#include <nucleus/resources.h>
#include <nucleus/security.h>

enum service_mode { MODE_AGENT, MODE_PRODUCTION };
enum network_mode { NETWORK_NONE, NETWORK_HOST, NETWORK_BRIDGE };

struct container_config {
	char id[33];
	char name[64];
	char **argv;                 /* the workload */
	char **env;                  /* final K=V list */
	const char *context;         /* host directory, NULL for none */
	enum context_mode context_mode;
	const char *workdir;         /* NULL: /context with a context, else / */
	const char *hostname;        /* NULL: the name */
	bool tty;
	bool rootless;               /* user namespace with a single-id map */
	bool userns;                 /* root: map to a subordinate range */
	bool allow_chroot_fallback;
	bool time_namespace;
	bool cgroup_namespace;       /* default true */
	bool require_cgroup;         /* cgroup failure is fatal */
	enum service_mode mode;
	enum network_mode network;
	bool allow_host_network;
	char **dns;
	struct cgroup_limits limits;
	struct rlimit_spec rlimits;
};

void container_config_init(struct container_config *c);
void container_config_free(struct container_config *c);
/* Validate what can be validated without touching the system. */
int container_config_validate(struct container_config *c, struct nerr *err);

/* Names of environment variables a workload may not be given: they change
 * how the dynamic loader or libc behave. */
bool env_name_forbidden(const char *name);
/* Check and add one -e argument ("K=V", or "K" to take the host's value). */
int env_add(char ***env, const char *arg, struct nerr *err);
/* The environment every container starts with (PATH, HOME, TERM ...). */
void env_defaults(char ***env, bool tty);

/* Run to completion. Returns <0 (err set) when nucleus itself failed;
 * otherwise 0 with *exit_code set to the workload's status (128+N for a
 * signal). When the command could not be executed, *exit_code is 126/127
 * and err holds the message. */
int container_run(struct container_config *c, int *exit_code, struct nerr *err);

/* /run/nucleus for root, $XDG_RUNTIME_DIR/nucleus (or /tmp/nucleus-UID) otherwise. */
const char *runtime_dir(void);

#endif
