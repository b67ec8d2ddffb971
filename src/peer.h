/*-------------------------------------------------------------------------
 *
 * peer.h
 *	  Non-blocking libpq connections from the agent to other nodes.
 *
 * Copyright (c) 2026, innoquim_failover developers
 *
 *-------------------------------------------------------------------------
 */
#ifndef IQF_PEER_H
#define IQF_PEER_H

#include "libpq-fe.h"

#include "failover.h"
#include "state.h"

typedef enum IqfPeerState
{
	IQF_PEER_DOWN = 0,
	IQF_PEER_CONNECTING,
	IQF_PEER_IDLE,
	IQF_PEER_BUSY
} IqfPeerState;

/* How the last connection attempt ended. */
typedef enum IqfProbe
{
	IQF_PROBE_UNKNOWN = 0,
	IQF_PROBE_OK,				/* connected */
	IQF_PROBE_REFUSED,			/* nothing listens: postmaster gone */
	IQF_PROBE_STARTING,			/* postmaster up, database starting,
								 * recovering or shutting down */
	IQF_PROBE_TIMEOUT,			/* no answer: unreachable */
	IQF_PROBE_ERROR				/* anything else (authentication, ...) */
} IqfProbe;

typedef struct IqfPeer
{
	char		name[IQF_NODE_NAME_LEN];
	char		conninfo[IQF_CONNINFO_LEN];
	PGconn	   *conn;
	IqfPeerState state;
	int64		deadline;		/* mono us: connect or query must end by */
	int64		sent_at;		/* mono us: when the pending query was sent */
	int			kind;			/* caller's tag of the pending query */
	int64		next_attempt;	/* mono us: earliest reconnect */
	IqfProbe	probe;
	char		error[256];
	PGresult   *result;			/* completed result, until taken */
	int			result_kind;
	int64		result_sent_at;
	bool		misnamed;		/* answered under another node name */
} IqfPeer;

extern void iqf_peer_init(IqfPeer *p, const char *name, const char *conninfo);
extern void iqf_peer_connect(IqfPeer *p, int64 now, int timeout_ms);
extern bool iqf_peer_send(IqfPeer *p, int kind, const char *sql, int nparams,
						  const char *const *values, int64 now, int timeout_ms);
extern void iqf_peer_progress(IqfPeer *p, int64 now);
extern int	iqf_peer_wait_flags(const IqfPeer *p);
extern void iqf_peer_close(IqfPeer *p, int64 now, int retry_ms);
extern const char *iqf_peer_probe_name(IqfProbe probe);

#endif							/* IQF_PEER_H */
