/* Internal interfaces of the topology module: the loader (load.c) calls
 * the graph (graph.c) and the hash (hash.c) once every service is built. */
#ifndef NUCLEUS_TOPOLOGY_INTERNAL_H
#define NUCLEUS_TOPOLOGY_INTERNAL_H

#include <nucleus/topology.h>

/* Resolve every depends_on (topo_dep.index), refuse a cycle (its path in
 * the message), then t->order, the levels and t->nlevels. Errors are
 * "FILE:LINE: depends_on: ...". */
int topology_graph(struct topology *t, struct nerr *err);

/* The service's hash (s->hash and s->cfg.topology_hash): SHA-256 over its
 * configuration's JSON without its id and hash, the definitions of the
 * volumes it uses, and `extra` (the policy files' digests). */
int topology_hash_service(const struct topology *t, struct topo_service *s, const char *extra, struct nerr *err);

#endif
