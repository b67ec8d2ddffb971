/*-------------------------------------------------------------------------
 *
 * decision.h
 *	  Pure health policy of innoquim_failover: observation + config -> verdict.
 *
 * This header and decision.c use only the C standard library, so that
 * test/unit/ can build them with a plain C compiler and test every rule
 * exhaustively without a server.  LSNs are uint64_t, times and durations are
 * int64_t microseconds, and the current time is always a parameter.
 *
 * Copyright (c) 2026, innoquim_failover developers
 *
 *-------------------------------------------------------------------------
 */
#ifndef IQF_DECISION_H
#define IQF_DECISION_H

#include <stdbool.h>
#include <stdint.h>

typedef enum IqfHealthStatus
{
	IQF_HEALTHY = 0,
	IQF_DEGRADED = 1,
	IQF_UNHEALTHY = 2
} IqfHealthStatus;

/*
 * Reasons a node is not healthy.  The names (iqf_decision_reason_name) are
 * stable: they appear in the health view, in health_json() and in the log,
 * and routers may match on them.  Append only; never renumber.
 */
typedef enum IqfReason
{
	IQF_REASON_MONITOR_NOT_RUNNING = 0,
	IQF_REASON_SNAPSHOT_STALE,
	IQF_REASON_TOO_FEW_STANDBYS,
	IQF_REASON_UPSTREAM_LOST,
	IQF_REASON_PRIMARY_UNAVAILABLE,
	IQF_REASON_UPSTREAM_NOT_STREAMING,
	IQF_REASON_LAG_BYTES,
	IQF_REASON_LAG_TIME,
	IQF_REASON_FENCED,
	IQF_NUM_REASONS
} IqfReason;

/* What a standby knows of its upstream connection. */
typedef enum IqfUpstreamState
{
	IQF_UPSTREAM_NONE = 0,		/* not a standby: no upstream expected */
	IQF_UPSTREAM_STREAMING,		/* WAL receiver streaming */
	IQF_UPSTREAM_CONNECTED,		/* receiver connected but not streaming
								 * (waiting for a new timeline, restarting) */
	IQF_UPSTREAM_LOST			/* no connected WAL receiver */
} IqfUpstreamState;

typedef struct IqfHealthInput
{
	bool		monitor_running;	/* a monitor PID is registered */
	bool		snapshot_valid; /* the monitor has published at least once */
	int64_t		sample_age_us;	/* now - time of the snapshot */
	bool		in_recovery;
	bool		is_witness;		/* votes only: never judged as a primary */
	bool		fenced;			/* a primary without a write lease */
	int			streaming_standbys; /* walsenders in state streaming */
	IqfUpstreamState upstream;	/* IQF_UPSTREAM_NONE on a primary */
	int64_t		upstream_lost_us;	/* how long it has been lost, if LOST */
	int64_t		lag_bytes;		/* standby: bytes not yet replayed; -1 unknown */
	int64_t		lag_us;			/* standby: replay delay; -1 unknown */
} IqfHealthInput;

typedef struct IqfHealthConfig
{
	int64_t		stale_after_us; /* snapshot older than this is stale */
	int			min_standbys;
	int64_t		max_lag_bytes;	/* -1: no byte limit */
	int64_t		max_lag_us;		/* -1: no time limit */
	int64_t		upstream_timeout_us;
} IqfHealthConfig;

typedef struct IqfHealthResult
{
	IqfHealthStatus status;
	uint32_t	reasons;		/* bit (1u << IqfReason) per reason */
} IqfHealthResult;

extern IqfHealthResult iqf_decision_health(const IqfHealthInput *in,
										   const IqfHealthConfig *cfg);
extern const char *iqf_decision_status_name(IqfHealthStatus status);
extern const char *iqf_decision_reason_name(IqfReason reason);
extern IqfHealthStatus iqf_decision_reason_severity(IqfReason reason);
extern int64_t iqf_decision_stale_after_us(int64_t monitor_interval_us);

/*
 * Replay-lag tracking on a standby.
 *
 * The monitor records (time, received LSN) whenever the received LSN
 * advances.  The replay delay is then the age of the oldest sample whose
 * received LSN is beyond the replay LSN: the WAL that is still waiting to be
 * replayed arrived no later than that sample.  The answer is a lower bound,
 * exact to within one monitor interval while the ring is not full, and 0
 * when replay has caught up with what was received.  Unlike
 * now() - pg_last_xact_replay_timestamp(), it does not grow on an idle
 * primary.
 *
 * When the ring is full, the sample whose neighbours are closest in time is
 * dropped (never the oldest or the newest), so the ring keeps covering the
 * whole time replay has been behind, however long, with precision that
 * degrades gracefully instead of forgetting the start of the delay.
 */
#define IQF_LAG_RING_SIZE 128

typedef struct IqfLagSample
{
	int64_t		t_us;
	uint64_t	lsn;
} IqfLagSample;

typedef struct IqfLagRing
{
	int			count;			/* valid samples, oldest first */
	IqfLagSample samples[IQF_LAG_RING_SIZE];
} IqfLagRing;

extern void iqf_lag_ring_reset(IqfLagRing *ring);
extern void iqf_lag_ring_add(IqfLagRing *ring, int64_t now_us, uint64_t received_lsn);
extern int64_t iqf_lag_replay_us(const IqfLagRing *ring, int64_t now_us,
								 uint64_t received_lsn, uint64_t replay_lsn);

#endif							/* IQF_DECISION_H */
