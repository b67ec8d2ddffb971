/*-------------------------------------------------------------------------
 *
 * ha_sql.h
 *	  Handlers of the failover messages, shared by the SQL functions that
 *	  peers call and by the local agent (which answers its own requests
 *	  in-process).
 *
 * Copyright (c) 2026, innoquim_failover developers
 *
 *-------------------------------------------------------------------------
 */
#ifndef IQF_HA_SQL_H
#define IQF_HA_SQL_H

#include "failover.h"

typedef struct IqfLeaseArgs
{
	uint64		term;
	char		primary[IQF_NODE_NAME_LEN];
	uint64		incarnation;
	uint64		acked_lsn;
	const char *sync_names;		/* standbys listed in synchronous_standby_names */
	int			sync_k;			/* their k; 0 when none */
	bool		paused;
	const char *registry;		/* serialized registry, or NULL */
	uint64		registry_version;
} IqfLeaseArgs;

extern uint64 iqf_ha_own_lsn(void);
extern void iqf_ha_own_position(IqfPosition *pos);
extern void iqf_ha_voter(IqfVoter *v, const IqfFailoverConfig *cfg);
extern void iqf_ha_failover_config(IqfFailoverConfig *cfg);
extern IqfVerdict iqf_ha_handle_lease(const IqfLeaseArgs *a, uint64 *term_out);
extern IqfVerdict iqf_ha_handle_vote(const IqfVoteRequest *req, uint64 *term_out,
									 IqfPosition *pos_out, bool *as_standby);

#endif							/* IQF_HA_SQL_H */
