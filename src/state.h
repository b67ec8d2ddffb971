/*-------------------------------------------------------------------------
 *
 * state.h
 *	  The shared-memory snapshot of one node's replication state, and the
 *	  ring of recent events.
 *
 * Copyright (c) 2026, innoquim_failover developers
 *
 *-------------------------------------------------------------------------
 */
#ifndef IQF_STATE_H
#define IQF_STATE_H

#include "access/xlogdefs.h"
#include "datatype/timestamp.h"
#include "decision.h"

#define IQF_NAME_LEN		64
#define IQF_ADDR_LEN		64
#define IQF_HOST_LEN		256
#define IQF_CONNINFO_LEN	1024
#define IQF_STATUS_LEN		16
#define IQF_MAX_EVENTS		128
#define IQF_EVENT_KIND_LEN	32
#define IQF_EVENT_DETAIL_LEN 256

/* One walsender serving a physical standby, as seen on the primary. */
typedef struct IqfStandby
{
	int			pid;
	char		application_name[IQF_NAME_LEN];
	char		client_addr[IQF_ADDR_LEN];	/* "" for a Unix socket */
	int			client_port;	/* -1 for a Unix socket */
	char		state[IQF_STATUS_LEN];	/* pg_stat_replication.state */
	char		sync_state[IQF_STATUS_LEN]; /* async/potential/sync/quorum */
	int			sync_priority;
	XLogRecPtr	sent_lsn;
	XLogRecPtr	write_lsn;
	XLogRecPtr	flush_lsn;
	XLogRecPtr	replay_lsn;
	int64		write_lag_us;	/* -1: not measured */
	int64		flush_lag_us;
	int64		replay_lag_us;
	TimestampTz reply_time;		/* 0: none yet */
	TimestampTz connected_since;	/* walsender backend start */
} IqfStandby;

/* The WAL receiver of a standby, and what the monitor remembers of it. */
typedef struct IqfUpstream
{
	int			pid;			/* 0 when no receiver runs */
	char		status[IQF_STATUS_LEN]; /* pg_stat_wal_receiver words, or
										 * "disconnected" */
	IqfUpstreamState state;
	char		sender_host[IQF_HOST_LEN];	/* last known, or from
											 * primary_conninfo */
	int			sender_port;	/* 0 when unknown */
	char		conninfo[IQF_CONNINFO_LEN]; /* never holds a password */
	char		slot_name[NAMEDATALEN];
	XLogRecPtr	received_lsn;
	uint32		received_tli;
	XLogRecPtr	latest_end_lsn;
	TimestampTz latest_end_time;
	TimestampTz last_msg_send_time;
	TimestampTz last_msg_receipt_time;
	TimestampTz connected_since;	/* 0 when not connected */
	TimestampTz disconnected_since; /* 0 when connected */
} IqfUpstream;

/*
 * One consistent picture of the node, written by the monitor only.  The
 * health fields are what the monitor concluded at sampled_at; readers
 * re-evaluate them against their own clock (report.c), with health_cfg.
 */
typedef struct IqfSnapshot
{
	bool		valid;			/* published at least once */
	TimestampTz sampled_at;
	TimestampTz monitor_started_at;
	uint64		ticks;
	char		node_name[IQF_NAME_LEN];

	bool		in_recovery;
	uint32		timeline;
	TimestampTz role_since;
	uint64		role_changes;

	/* primary */
	XLogRecPtr	insert_lsn;
	XLogRecPtr	flush_lsn;

	/* standby */
	XLogRecPtr	receive_lsn;
	XLogRecPtr	replay_lsn;
	TimestampTz last_replay_time;	/* pg_last_xact_replay_timestamp() */
	int64		lag_bytes;		/* -1 unknown */
	int64		lag_us;			/* -1 unknown */
	IqfUpstream upstream;
	uint64		upstream_changes;

	/* health as the monitor saw it */
	IqfHealthConfig health_cfg;
	int			monitor_interval_ms;
	IqfHealthStatus health_status;
	uint32		health_reasons;
	TimestampTz health_since;
	uint64		health_changes;

	uint64		standby_connects;
	uint64		standby_disconnects;
	int			max_standbys;	/* capacity of standbys[] */
	int			n_standbys;
	IqfStandby	standbys[FLEXIBLE_ARRAY_MEMBER];
} IqfSnapshot;

typedef struct IqfEvent
{
	uint64		seq;
	TimestampTz at;
	char		kind[IQF_EVENT_KIND_LEN];
	char		detail[IQF_EVENT_DETAIL_LEN];
} IqfEvent;

/* prefix of every event line in the server log */
#define IQF_EVENT_LOG_PREFIX "innoquim_failover event"

extern void iqf_state_install_hooks(void);
extern bool iqf_state_available(void);
extern void iqf_state_require(void);

extern Size iqf_state_snapshot_size(void);
extern IqfSnapshot *iqf_state_snapshot_alloc(void);
extern void iqf_state_publish(const IqfSnapshot *snap);
extern IqfSnapshot *iqf_state_snapshot(int *monitor_pid);

extern void iqf_state_set_monitor_pid(int pid);
extern void iqf_state_add_event(const char *kind, const char *fmt,...) pg_attribute_printf(2, 3);
extern int	iqf_state_events(IqfEvent **events);

#endif							/* IQF_STATE_H */
