/*-------------------------------------------------------------------------
 *
 * ha_state.h
 *	  Failover state of one node: the durable part (term, vote, registry,
 *	  pause) kept in a file in the data directory, and the volatile part
 *	  (lease, votes, timings) in shared memory.
 *
 * Copyright (c) 2026, innoquim_failover developers
 *
 *-------------------------------------------------------------------------
 */
#ifndef IQF_HA_STATE_H
#define IQF_HA_STATE_H

#include "lib/stringinfo.h"
#include "port/atomics.h"
#include "storage/lwlock.h"

#include "failover.h"
#include "state.h"

#define IQF_MAX_NODES		16
#define IQF_KIND_LEN		16
#define IQF_SYNC_SET_LEN	512
#define IQF_STATE_FILE		"innoquim_failover.state"

typedef struct IqfRegistryNode
{
	char		name[IQF_NODE_NAME_LEN];
	char		kind[IQF_KIND_LEN];	/* "data" or "witness" */
	char		conninfo[IQF_CONNINFO_LEN];
} IqfRegistryNode;

/* What survives a restart: written atomically before any reply that uses it. */
typedef struct IqfDurable
{
	char		owner[IQF_NODE_NAME_LEN];	/* node that wrote the file */
	uint64		term;
	char		voted_for[IQF_NODE_NAME_LEN];
	uint64		incarnation;	/* +1 at every postmaster start (R6) */
	bool		paused;
	uint64		registry_version;
	int			n_nodes;
	IqfRegistryNode nodes[IQF_MAX_NODES];
} IqfDurable;

/* Times are CLOCK_BOOTTIME microseconds (iqf_mono_us), never wall clock. */
typedef struct IqfHa
{
	LWLock	   *lock;			/* protects everything but the atomics */
	IqfDurable	durable;
	bool		state_unreadable;	/* R2: the file exists but could not be
									 * read at start: refuse everything */

	/* voter side (doc/protocol.md section 3, volatile) */
	int64		start_mono;		/* this postmaster's start */
	int64		last_grant_mono;	/* last LEASE or VOTE granted to another
									 * node; the start counts as one (R12) */
	char		lease_holder[IQF_NODE_NAME_LEN];	/* granted_to */
	bool		max_inc_known;	/* granted lease_holder since our start */
	uint64		max_inc;		/* its highest incarnation granted since */
	bool		cert;			/* accepted death certificate (R15) */
	uint64		cert_term;
	char		cert_primary[IQF_NODE_NAME_LEN];
	uint64		cert_inc;
	char		known_primary[IQF_NODE_NAME_LEN];	/* leader of our term, from
													 * the latest LEASE (R17) */
	uint64		acked_lsn;		/* sync-acknowledged LSN from the latest LEASE */
	char		sync_names[IQF_SYNC_SET_LEN];	/* standbys listed in the
												 * primary's synchronous_standby_names */
	int			sync_k;			/* its k; 0: no synchronous replication */
	char		sync_primary[IQF_NODE_NAME_LEN];	/* who reported them */
	TimestampTz last_lease_at;	/* wall clock, for display */

	/* primary side, read lock-free by every backend's write check */
	pg_atomic_uint32 enforce;	/* lease enforcement active on this node */
	pg_atomic_uint32 superseded;	/* a newer term exists: fenced for good */
	pg_atomic_uint64 lease_expiry_mono; /* writes allowed while now < this */
	pg_atomic_uint32 first_write_pending;	/* record the first write */
	int64		lapsed_since;	/* lease not valid since (R8); 0 when valid */
	uint64		superseded_by_term;
	int			lease_grants;	/* grants counted in the current lease */

	/* failover progress, for views and events */
	char		phase[32];
	int			voters;
	int			quorum;
	int			votes;
	uint64		campaign_term;
	char		following[IQF_NODE_NAME_LEN];
	bool		detached;		/* primary_conninfo emptied to vote (R17)
								 * and not re-pointed since */
	int			agent_pid;
	TimestampTz t_lost;			/* primary loss detected */
	TimestampTz t_decided;		/* quorum of votes reached */
	TimestampTz t_promoted;		/* promotion finished */
	TimestampTz t_first_write;	/* first write accepted after it */
	uint64		failovers;
} IqfHa;

extern IqfHa *iqf_ha;

extern Size iqf_ha_shmem_size(void);
extern void iqf_ha_shmem_init(void);
extern void iqf_ha_require(void);
extern int64 iqf_mono_us(void);

extern void iqf_ha_save_durable(const IqfDurable *d);
extern void iqf_ha_set_durable(IqfDurable *d);
extern int	iqf_ha_voter_count(const IqfDurable *d);
extern const IqfRegistryNode *iqf_ha_find_node(const IqfDurable *d, const char *name);

extern void iqf_ha_registry_serialize(const IqfDurable *d, StringInfo out);
extern bool iqf_ha_registry_parse(const char *text, IqfDurable *d);

extern bool iqf_ha_writes_allowed(void);
extern bool iqf_ha_is_lease_holder(void);
extern bool iqf_ha_is_witness(void);
extern const char *iqf_ha_role_name(bool in_recovery);

#endif							/* IQF_HA_STATE_H */
