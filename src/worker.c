/*-------------------------------------------------------------------------
 *
 * worker.c
 *	  The monitor background worker: sample -> remember -> judge -> publish.
 *
 * One monitor runs on every node (primary or hot standby).  Each pass it
 * samples the node's replication state (sampler.c), carries over what only
 * time can tell (since-when times, transition counters, the replay-lag
 * ring), evaluates health (report.c / decision.c), records events for every
 * transition, and publishes the snapshot (state.c).  It writes no WAL and
 * opens no transaction, so it runs the same in recovery.
 *
 * Signals: SIGHUP reloads settings (a new monitor_interval applies to the
 * next wait), SIGTERM ends the worker at once through die(); an ERROR ends
 * it too, and the postmaster restarts it after bgw_restart_time.
 *
 * Copyright (c) 2026, innoquim_failover developers
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xlogrecovery.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "tcop/tcopprot.h"
#include "utils/backend_status.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"
#include "utils/wait_event.h"

#include "conninfo.h"
#include "innoquim_failover.h"
#include "report.h"
#include "sampler.h"
#include "state.h"

PGDLLEXPORT void iqf_monitor_main(Datum main_arg);

/* Private, long-lived state of the monitor (TopMemoryContext). */
static IqfSnapshot *prev_snap = NULL;
static IqfSnapshot *cur_snap = NULL;
static IqfLagRing lag_ring;

static const IqfStandby *
find_standby(const IqfSnapshot *snap, int pid)
{
	int			i;

	for (i = 0; i < snap->n_standbys; i++)
		if (snap->standbys[i].pid == pid)
			return &snap->standbys[i];
	return NULL;
}

static const char *
addr_or_local(const IqfStandby *sb)
{
	return sb->client_addr[0] ? sb->client_addr : "local socket";
}

/* Events for standbys that connected, left, or changed state. */
static void
track_standbys(const IqfSnapshot *prev, IqfSnapshot *cur)
{
	int			i;

	for (i = 0; i < cur->n_standbys; i++)
	{
		const IqfStandby *sb = &cur->standbys[i];
		const IqfStandby *old = prev->valid ? find_standby(prev, sb->pid) : NULL;

		if (old == NULL)
		{
			cur->standby_connects++;
			iqf_state_add_event("standby_connected", "standby \"%s\" from %s (pid %d) is %s",
								sb->application_name, addr_or_local(sb), sb->pid, sb->state);
		}
		else if (strcmp(old->state, sb->state) != 0)
			iqf_state_add_event("standby_state", "standby \"%s\" (pid %d) went from %s to %s",
								sb->application_name, sb->pid, old->state, sb->state);
	}
	if (!prev->valid)
		return;
	for (i = 0; i < prev->n_standbys; i++)
	{
		const IqfStandby *sb = &prev->standbys[i];

		if (find_standby(cur, sb->pid) == NULL)
		{
			cur->standby_disconnects++;
			iqf_state_add_event("standby_disconnected", "standby \"%s\" from %s (pid %d) disconnected",
								sb->application_name, addr_or_local(sb), sb->pid);
		}
	}
}

/*
 * Since-when times and events for the upstream connection, its address
 * when no receiver is connected, and the replay lag.
 */
static void
track_upstream(const IqfSnapshot *prev, IqfSnapshot *cur, TimestampTz now)
{
	IqfUpstream *up = &cur->upstream;
	bool		was_standby = prev->valid && prev->in_recovery;
	bool		was_connected = was_standby && prev->upstream.state != IQF_UPSTREAM_LOST;
	bool		connected = up->state != IQF_UPSTREAM_LOST;

	if (connected)
	{
		up->disconnected_since = 0;
		if (was_connected)
			up->connected_since = prev->upstream.connected_since;
		else
		{
			up->connected_since = now;
			cur->upstream_changes++;
			iqf_state_add_event("upstream_connected", "WAL receiver %s from %s:%d",
								up->status, up->sender_host, up->sender_port);
		}
	}
	else
	{
		up->connected_since = 0;
		if (was_connected)
		{
			up->disconnected_since = now;
			cur->upstream_changes++;
			iqf_state_add_event("upstream_lost", "WAL receiver %s; lost %s:%d",
								up->status, prev->upstream.sender_host,
								prev->upstream.sender_port);
		}
		else if (was_standby && prev->upstream.disconnected_since != 0)
			up->disconnected_since = prev->upstream.disconnected_since;
		else
			up->disconnected_since = now;

		/* where it will reconnect: primary_conninfo, else the last known */
		iqf_conninfo_host_port(PrimaryConnInfo, up->sender_host,
							   sizeof(up->sender_host), &up->sender_port);
		iqf_conninfo_display(PrimaryConnInfo, up->conninfo, sizeof(up->conninfo));
		if (up->sender_host[0] == '\0' && was_standby)
		{
			strlcpy(up->sender_host, prev->upstream.sender_host, sizeof(up->sender_host));
			up->sender_port = prev->upstream.sender_port;
		}
	}

	/* lag: how much and how long replay trails what was received */
	{
		XLogRecPtr	head = Max(up->received_lsn, up->latest_end_lsn);

		iqf_lag_ring_add(&lag_ring, now, up->received_lsn);
		cur->lag_bytes = (up->received_lsn == InvalidXLogRecPtr) ? -1 :
			(head > cur->replay_lsn ? (int64) (head - cur->replay_lsn) : 0);
		cur->lag_us = iqf_lag_replay_us(&lag_ring, now, up->received_lsn, cur->replay_lsn);
	}
}

static void
track_role(const IqfSnapshot *prev, IqfSnapshot *cur, TimestampTz now)
{
	if (!prev->valid)
	{
		cur->role_since = now;
		cur->monitor_started_at = now;
		iqf_state_add_event("monitor_started", "node \"%s\" is %s on timeline %u",
							cur->node_name, iqf_report_role(cur), cur->timeline);
		return;
	}
	if (prev->in_recovery != cur->in_recovery)
	{
		cur->role_since = now;
		cur->role_changes++;
		iqf_lag_ring_reset(&lag_ring);
		iqf_state_add_event("role_changed", "node \"%s\" went from %s to %s on timeline %u",
							cur->node_name, iqf_report_role(prev), iqf_report_role(cur),
							cur->timeline);
	}
	if (prev->timeline != cur->timeline)
		iqf_state_add_event("timeline_changed", "timeline went from %u to %u",
							prev->timeline, cur->timeline);
}

static void
track_health(const IqfSnapshot *prev, IqfSnapshot *cur, TimestampTz now)
{
	IqfHealthResult h = iqf_report_health(cur, MyProcPid, now);
	StringInfoData reasons;

	cur->health_status = h.status;
	cur->health_reasons = h.reasons;
	if (prev->valid && prev->health_status == h.status &&
		prev->health_reasons == h.reasons)
		return;
	if (!prev->valid || prev->health_status != h.status)
	{
		cur->health_since = now;
		if (prev->valid)
			cur->health_changes++;
	}
	initStringInfo(&reasons);
	iqf_report_reasons_text(&reasons, h.reasons);
	iqf_state_add_event("health_changed", "%s -> %s (reasons: %s)",
						prev->valid ? iqf_decision_status_name(prev->health_status) : "unknown",
						iqf_decision_status_name(h.status), reasons.data);
	pfree(reasons.data);
}

/* One pass: sample, carry state over, judge, publish. */
static void
monitor_tick(void)
{
	TimestampTz now = GetCurrentTimestamp();
	IqfSnapshot *tmp;

	memcpy(cur_snap, prev_snap, iqf_state_snapshot_size());
	iqf_sampler_sample(cur_snap);
	cur_snap->sampled_at = now;
	cur_snap->ticks++;
	iqf_node_name(cur_snap->node_name, sizeof(cur_snap->node_name));
	iqf_health_config(&cur_snap->health_cfg);
	cur_snap->monitor_interval_ms = iqf_monitor_interval_ms;

	track_role(prev_snap, cur_snap, now);
	if (cur_snap->in_recovery)
		track_upstream(prev_snap, cur_snap, now);
	else
	{
		cur_snap->lag_bytes = -1;
		cur_snap->lag_us = -1;
	}
	track_standbys(prev_snap, cur_snap);
	/* the snapshot is complete: judge it as readers will */
	cur_snap->valid = true;
	track_health(prev_snap, cur_snap, now);

	iqf_state_publish(cur_snap);

	tmp = prev_snap;
	prev_snap = cur_snap;
	cur_snap = tmp;
}

void
iqf_monitor_main(Datum main_arg)
{
	MemoryContext loop_cxt;
	TimestampTz next_tick;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();

	/* a backend without a database: visible in pg_stat_activity */
	BackgroundWorkerInitializeConnection(NULL, NULL, 0);
	pgstat_report_appname("innoquim_failover monitor");

	iqf_state_set_monitor_pid(MyProcPid);

	{
		MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);

		prev_snap = iqf_state_snapshot_alloc();
		cur_snap = iqf_state_snapshot_alloc();
		MemoryContextSwitchTo(old);
	}
	iqf_lag_ring_reset(&lag_ring);

	loop_cxt = AllocSetContextCreate(TopMemoryContext, "innoquim_failover monitor",
									 ALLOCSET_DEFAULT_SIZES);
	next_tick = GetCurrentTimestamp();

	for (;;)
	{
		TimestampTz now;
		long		timeout_ms;

		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			int			old_interval = iqf_monitor_interval_ms;

			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
			if (old_interval != iqf_monitor_interval_ms)
			{
				iqf_state_add_event("config_changed", "monitor_interval went from %d ms to %d ms",
									old_interval, iqf_monitor_interval_ms);
				next_tick = GetCurrentTimestamp();
			}
		}

		now = GetCurrentTimestamp();
		if (now >= next_tick)
		{
			MemoryContext old = MemoryContextSwitchTo(loop_cxt);

			pgstat_report_activity(STATE_RUNNING, "sampling replication state");
			monitor_tick();
			pgstat_report_activity(STATE_IDLE, NULL);
			MemoryContextSwitchTo(old);
			MemoryContextReset(loop_cxt);

			/* keep a steady cadence, but never try to catch up a backlog */
			next_tick += (int64) iqf_monitor_interval_ms * 1000;
			if (next_tick <= now)
				next_tick = now + (int64) iqf_monitor_interval_ms * 1000;
		}

		now = GetCurrentTimestamp();
		timeout_ms = (long) ((next_tick - now + 999) / 1000);
		if (timeout_ms < 0)
			timeout_ms = 0;
		(void) WaitLatch(MyLatch,
						 WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 timeout_ms,
						 PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
}
