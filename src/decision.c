/*-------------------------------------------------------------------------
 *
 * decision.c
 *	  Pure health policy: maps one observation of a node to a health status
 *	  and the set of reasons behind it.
 *
 * The rules are a table.  Each rule names the failure it guards against, its
 * reason (a stable name) and its severity; the status of a node is the worst
 * severity among the rules that match, and the reasons are all of them.
 *
 * No I/O, no allocation, no PostgreSQL headers: see decision.h.
 *
 * Copyright (c) 2026, innoquim_failover developers
 *
 *-------------------------------------------------------------------------
 */
#include <stddef.h>
#include <string.h>

#include "decision.h"

typedef bool (*IqfRulePredicate) (const IqfHealthInput *in,
								  const IqfHealthConfig *cfg);

typedef struct IqfRule
{
	IqfReason	reason;
	IqfHealthStatus severity;
	const char *name;
	IqfRulePredicate applies;
} IqfRule;

/*
 * Guards against trusting a dead monitor: without a running monitor nothing
 * else in the snapshot is current, so this rule alone decides (see
 * iqf_decision_health).
 */
static bool
rule_monitor_not_running(const IqfHealthInput *in, const IqfHealthConfig *cfg)
{
	(void) cfg;
	return !in->monitor_running || !in->snapshot_valid;
}

/* Guards against a hung monitor whose last answer is frozen in place. */
static bool
rule_snapshot_stale(const IqfHealthInput *in, const IqfHealthConfig *cfg)
{
	return in->monitor_running && in->snapshot_valid &&
		in->sample_age_us > cfg->stale_after_us;
}

/* Guards against a primary that has silently lost its failover targets. */
static bool
rule_too_few_standbys(const IqfHealthInput *in, const IqfHealthConfig *cfg)
{
	return !in->in_recovery && !in->is_witness && in->streaming_standbys < cfg->min_standbys;
}

/*
 * Guards against reading a standby as current while its upstream is gone,
 * without yet calling the primary dead: a short loss (a walreceiver restart,
 * a primary restart) degrades only.
 */
static bool
rule_upstream_lost(const IqfHealthInput *in, const IqfHealthConfig *cfg)
{
	return in->in_recovery && in->upstream == IQF_UPSTREAM_LOST &&
		in->upstream_lost_us <= cfg->upstream_timeout_us;
}

/* Guards against routing to a standby whose primary has been gone too long. */
static bool
rule_primary_unavailable(const IqfHealthInput *in, const IqfHealthConfig *cfg)
{
	return in->in_recovery && in->upstream == IQF_UPSTREAM_LOST &&
		in->upstream_lost_us > cfg->upstream_timeout_us;
}

/* Guards against a connected receiver that is not receiving WAL. */
static bool
rule_upstream_not_streaming(const IqfHealthInput *in, const IqfHealthConfig *cfg)
{
	(void) cfg;
	return in->in_recovery && in->upstream == IQF_UPSTREAM_CONNECTED;
}

/* Guards against serving reads that are too far behind (bytes). */
static bool
rule_lag_bytes(const IqfHealthInput *in, const IqfHealthConfig *cfg)
{
	return in->in_recovery && in->upstream == IQF_UPSTREAM_STREAMING &&
		cfg->max_lag_bytes >= 0 && in->lag_bytes > cfg->max_lag_bytes;
}

/* Guards against serving reads that are too far behind (time). */
static bool
rule_lag_time(const IqfHealthInput *in, const IqfHealthConfig *cfg)
{
	return in->in_recovery && in->upstream == IQF_UPSTREAM_STREAMING &&
		cfg->max_lag_us >= 0 && in->lag_us > cfg->max_lag_us;
}

/*
 * Guards against routing writes to a primary that may not write: it lost
 * its lease, or a newer primary was elected.
 */
static bool
rule_fenced(const IqfHealthInput *in, const IqfHealthConfig *cfg)
{
	(void) cfg;
	return !in->in_recovery && in->fenced;
}

/* Indexed by IqfReason. */
static const IqfRule rules[IQF_NUM_REASONS] = {
	{IQF_REASON_MONITOR_NOT_RUNNING, IQF_UNHEALTHY, "monitor_not_running", rule_monitor_not_running},
	{IQF_REASON_SNAPSHOT_STALE, IQF_UNHEALTHY, "snapshot_stale", rule_snapshot_stale},
	{IQF_REASON_TOO_FEW_STANDBYS, IQF_DEGRADED, "too_few_standbys", rule_too_few_standbys},
	{IQF_REASON_UPSTREAM_LOST, IQF_DEGRADED, "upstream_lost", rule_upstream_lost},
	{IQF_REASON_PRIMARY_UNAVAILABLE, IQF_UNHEALTHY, "primary_unavailable", rule_primary_unavailable},
	{IQF_REASON_UPSTREAM_NOT_STREAMING, IQF_DEGRADED, "upstream_not_streaming", rule_upstream_not_streaming},
	{IQF_REASON_LAG_BYTES, IQF_DEGRADED, "lag_bytes_exceeded", rule_lag_bytes},
	{IQF_REASON_LAG_TIME, IQF_DEGRADED, "lag_time_exceeded", rule_lag_time},
	{IQF_REASON_FENCED, IQF_UNHEALTHY, "fenced", rule_fenced},
};

/*
 * iqf_decision_health
 *		Apply every rule to one observation.
 *
 * A snapshot from a monitor that is not running, or that has not refreshed
 * it in time, says nothing reliable about the node: in that case only the
 * monitor rules are evaluated, and the node is unhealthy.
 */
IqfHealthResult
iqf_decision_health(const IqfHealthInput *in, const IqfHealthConfig *cfg)
{
	IqfHealthResult result = {IQF_HEALTHY, 0};
	int			i;

	for (i = 0; i < IQF_NUM_REASONS; i++)
	{
		const IqfRule *rule = &rules[i];

		if (!rule->applies(in, cfg))
			continue;
		result.reasons |= 1u << rule->reason;
		if (rule->severity > result.status)
			result.status = rule->severity;
		/* monitor rules come first and make the rest meaningless */
		if (rule->reason == IQF_REASON_MONITOR_NOT_RUNNING ||
			rule->reason == IQF_REASON_SNAPSHOT_STALE)
			break;
	}
	return result;
}

const char *
iqf_decision_status_name(IqfHealthStatus status)
{
	switch (status)
	{
		case IQF_HEALTHY:
			return "healthy";
		case IQF_DEGRADED:
			return "degraded";
		case IQF_UNHEALTHY:
			return "unhealthy";
	}
	return "unknown";
}

const char *
iqf_decision_reason_name(IqfReason reason)
{
	if ((int) reason < 0 || reason >= IQF_NUM_REASONS)
		return "unknown";
	return rules[reason].name;
}

IqfHealthStatus
iqf_decision_reason_severity(IqfReason reason)
{
	if ((int) reason < 0 || reason >= IQF_NUM_REASONS)
		return IQF_UNHEALTHY;
	return rules[reason].severity;
}

/*
 * A snapshot is stale when the monitor has missed three samples and a
 * second more: long enough to ride out a slow tick on a loaded machine,
 * short enough that a hung monitor is noticed within seconds.
 */
int64_t
iqf_decision_stale_after_us(int64_t monitor_interval_us)
{
	return 3 * monitor_interval_us + 1000000;
}

void
iqf_lag_ring_reset(IqfLagRing *ring)
{
	ring->count = 0;
}

/* Drop the inner sample whose neighbours are closest in time. */
static void
lag_ring_thin(IqfLagRing *ring)
{
	int			best = 1;
	int64_t		best_gap = -1;
	int			i;

	for (i = 1; i < ring->count - 1; i++)
	{
		int64_t		gap = ring->samples[i + 1].t_us - ring->samples[i - 1].t_us;

		if (best_gap < 0 || gap < best_gap)
		{
			best = i;
			best_gap = gap;
		}
	}
	memmove(&ring->samples[best], &ring->samples[best + 1],
			sizeof(IqfLagSample) * (ring->count - best - 1));
	ring->count--;
}

/* Record a sample, but only when the received LSN has moved. */
void
iqf_lag_ring_add(IqfLagRing *ring, int64_t now_us, uint64_t received_lsn)
{
	if (ring->count > 0)
	{
		const IqfLagSample *last = &ring->samples[ring->count - 1];

		if (last->lsn == received_lsn)
			return;
		/* a receiver restarted at an older position: start over */
		if (last->lsn > received_lsn)
			iqf_lag_ring_reset(ring);
	}
	if (ring->count == IQF_LAG_RING_SIZE)
		lag_ring_thin(ring);
	ring->samples[ring->count].t_us = now_us;
	ring->samples[ring->count].lsn = received_lsn;
	ring->count++;
}

/*
 * Replay delay: see decision.h.  Returns 0 when caught up, -1 when nothing
 * is known (no samples).
 */
int64_t
iqf_lag_replay_us(const IqfLagRing *ring, int64_t now_us,
				  uint64_t received_lsn, uint64_t replay_lsn)
{
	int			i;

	if (replay_lsn >= received_lsn)
		return 0;
	if (ring->count == 0)
		return -1;

	for (i = 0; i < ring->count; i++)
	{
		const IqfLagSample *s = &ring->samples[i];

		if (s->lsn > replay_lsn)
			return now_us > s->t_us ? now_us - s->t_us : 0;
	}
	/* replay is behind received_lsn but every sample is at or below it */
	return 0;
}
