/* topology: nucleus compose. A TOML file describing networks, volumes and
 * services (each service one `struct container_config`, built by the same
 * code path as `nucleus run`'s flags), its dependency graph, the plan that
 * reconciles what runs with what the file says, and applying it.
 * src/topology sits above src/container and below src/cli. */
#ifndef NUCLEUS_TOPOLOGY_H
#define NUCLEUS_TOPOLOGY_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <nucleus/util.h>
#include <nucleus/network.h>
#include <nucleus/container.h>

#define TOPOLOGY_DEFAULT_FILE "topology.toml"

struct topo_network {
	char *name;
	struct cidr subnet4;          /* required */
	struct cidr subnet6;          /* optional: family 0 when absent */
	char bridge[16];              /* the host bridge: a name derived from topology and network (IFNAMSIZ) */
	int line;                     /* where [networks.NAME] is */
};

enum topo_volume_type { TOPO_VOLUME_PERSISTENT, TOPO_VOLUME_EPHEMERAL };

struct topo_volume {
	char *name;
	enum topo_volume_type type;
	char *path;                   /* persistent: the host directory (created with its owner) */
	bool owner_set;
	uid_t uid;
	gid_t gid;
	uint64_t size;                /* ephemeral: the tmpfs's size (0: the --tmpfs default) */
	int line;
};

enum topo_condition { TOPO_STARTED, TOPO_HEALTHY, TOPO_COMPLETED };

struct topo_dep {
	char *service;
	enum topo_condition condition;
	size_t index;                 /* the dependency's index in services */
	int line;
};
/* "started", "healthy", "completed_successfully" */
const char *topo_condition_name(enum topo_condition c);

struct topo_service {
	char *name;
	/* the container as `nucleus run` would build it from the service's
	 * keys: name `<topology>-<service>`, detached, the bridge of its network,
	 * its volumes; cfg.topology* set */
	struct container_config cfg;
	char **networks;              /* names in [networks] (one, for now: a container has one bridge) */
	char **volumes;               /* names in [volumes] it uses, each once */
	struct topo_dep *deps;
	size_t ndeps;
	char hash[65];                /* sha256 of the effective configuration (reconciliation) */
	unsigned level;               /* 0: no dependencies; else 1 + its deepest dependency's:
	                               * services of one level may start in parallel */
	int line;                     /* where [services.NAME] is */
};

struct topology {
	char *name;
	char *file;                   /* as given */
	struct topo_network *networks;
	size_t nnetworks;
	struct topo_volume *volumes;
	size_t nvolumes;
	struct topo_service *services;
	size_t nservices;
	size_t *order;                /* start order: indexes into services, dependencies first
	                               * (file order among independent ones) */
	unsigned nlevels;             /* 1 + the highest level */
};

/* How a service's run flags become a configuration: the CLI's own `nucleus
 * run` parser (run_parse_args), passed in so that the topology module does
 * not depend on the CLI. Returns 0 or <0 with err set (the message names
 * the flag; the loader puts file:line and the key before it). */
typedef int (*topo_parse_args_fn)(int argc, char **argv, struct container_config *cfg, struct nerr *err);

/* Read and check FILE: every key known (an unknown one is `FILE:LINE: ...`),
 * every reference resolved, no cycle (the error shows its path), `healthy`
 * only on a service with a health check, subnets valid and not overlapping
 * each other; services built into their configurations and the start order
 * computed. Errors are one line, "FILE:LINE: KEY: message"; t is then left
 * empty (nothing to free). */
int topology_load(const char *file, topo_parse_args_fn parse, struct topology *t, struct nerr *err);
/* The same on a document in memory; `file` names it in errors, and
 * relative paths in it are relative to its directory. */
int topology_load_text(const char *file, const char *text, size_t len, topo_parse_args_fn parse,
		       struct topology *t, struct nerr *err);
void topology_free(struct topology *t);

/* The host side of validation, apart from topology_load (which reads only
 * the file and what its keys name): no interface of the host has an
 * address in a network's subnet, except that network's own bridge.
 * `compose validate` and `up` call it after topology_load. */
int topology_check_host(const struct topology *t, struct nerr *err);

/* The bridge of network `network` of topology `topology`: "nc" and 13 hex
 * digits of SHA-256("topology\0network"), 15 characters (IFNAMSIZ). */
void topology_bridge_name(const char *topology, const char *network, char out[16]);
/* The index of service `name`, or -1. */
ssize_t topology_service_index(const struct topology *t, const char *name);
/* mark[j] = true for every service j that service i needs, directly or
 * not (topology_dependencies: `up web` starts those too), or that needs
 * service i (topology_dependants: what a recreated i takes with it);
 * mark has nservices entries and is not cleared first; i itself is not
 * marked. */
void topology_dependencies(const struct topology *t, size_t i, bool *mark);
void topology_dependants(const struct topology *t, size_t i, bool *mark);

/* ---- applying it (src/topology/apply.c, plan.c) ----------------------------
 * What runs is found in the container store, never in a file of compose's
 * own: every container whose configuration says it belongs to the topology
 * (cfg.topology), so a `compose up` killed half-way leaves nothing a rerun
 * or `down` does not find. */
struct topo_current {
	char id[33];
	char name[64];
	char *service;                /* cfg.topology_service */
	char *hash;                   /* cfg.topology_hash */
	enum container_status status; /* as ps sees it (a running one nobody supervises has exited) */
	bool ready;
	enum health_status health;
	int exit_code;
	uint64_t started_ns, finished_ns, memory_max;
	char **ports;
};
/* The containers of topology `name`, sorted by id. */
int topology_current(const char *name, struct topo_current **out, size_t *n, struct nerr *err);
void topology_current_free(struct topo_current *c, size_t n);

enum topo_action { TOPO_KEEP, TOPO_CREATE, TOPO_RECREATE, TOPO_REMOVE };
extern const char *const topo_action_names[];
struct topo_step {
	enum topo_action action;
	const char *service;          /* the file's (or the container's, TOPO_REMOVE) */
	size_t index;                 /* into t->services; SIZE_MAX for TOPO_REMOVE */
	char id[33];                  /* the container there is ("": none) */
	char reason[160];
};
struct topo_plan {
	struct topo_step *steps;      /* removals first, then services in start order */
	size_t n;
};
struct topo_plan_opts {
	char **only;                  /* SERVICE... (their dependencies come too); NULL: all */
	bool force_recreate;          /* restart */
};
/* What `up` would do: keep what runs with the file's hash, create what is
 * missing, recreate what changed or stopped (and every service depending
 * on one recreated), remove what is no longer in the file. */
int topology_plan(const struct topology *t, const struct topo_current *cur, size_t ncur,
		  const struct topo_plan_opts *o, struct topo_plan *p, struct nerr *err);
void topo_plan_free(struct topo_plan *p);

struct topo_up_opts {
	struct topo_plan_opts plan;
	uint64_t timeout_ns;          /* each dependency condition; 0: 120 s */
	unsigned stop_timeout;        /* seconds, stopping what is recreated or removed */
	bool quiet;                   /* no progress lines on stderr */
};
/* Reconcile: removals and recreations stopped (dependants first), volumes
 * created, then each service started once its dependencies' conditions
 * hold, services whose dependencies hold started in parallel. A dependency
 * that exits or turns unhealthy while a service waits for it, or a
 * condition not met within the timeout, fails at once naming it. */
int topology_up(struct topology *t, const struct topo_up_opts *o, struct nerr *err);
/* Stop the topology's containers, dependants first (services not in the
 * file before all). */
int topology_stop(const struct topology *t, unsigned timeout_s, struct nerr *err);
/* Stop and remove them; with `volumes` the persistent volumes' directories
 * too; then the topology's bridges and hosts file. */
int topology_down(const struct topology *t, unsigned timeout_s, bool volumes, struct nerr *err);

#endif
