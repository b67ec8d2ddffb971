/*-------------------------------------------------------------------------
 *
 * sampler.c
 *	  The only module that reads core replication internals.
 *
 * It reads the same shared memory that pg_stat_replication and
 * pg_stat_wal_receiver read (WalSndCtl, WalRcv, XLogCtl through its accessor
 * functions, and the backend status array for application_name and client
 * address), copying each core struct under that struct's own spinlock, and
 * fills the raw fields of an IqfSnapshot.  It keeps no state between calls:
 * since-when times, transitions and health are the worker's business.
 *
 * Security: before the WAL receiver has connected, WalRcv->conninfo holds
 * the raw primary_conninfo, password included; the core clobbers it with an
 * obfuscated copy and sets ready_to_display once connected.  We read
 * conninfo, host and port only when ready_to_display is set, and scrub the
 * string once more (conninfo.c) before it can reach shared memory.
 *
 * Copyright (c) 2026, innoquim_failover developers
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xlog.h"
#include "access/xlogrecovery.h"
#include "common/ip.h"
#include "utils/builtins.h"
#include "replication/syncrep.h"
#include "replication/walreceiver.h"
#include "replication/walsender.h"
#include "replication/walsender_private.h"
#include "utils/backend_status.h"

#include "conninfo.h"
#include "sampler.h"

static const char *
walsnd_state_name(WalSndState state)
{
	switch (state)
	{
		case WALSNDSTATE_STARTUP:
			return "startup";
		case WALSNDSTATE_BACKUP:
			return "backup";
		case WALSNDSTATE_CATCHUP:
			return "catchup";
		case WALSNDSTATE_STREAMING:
			return "streaming";
		case WALSNDSTATE_STOPPING:
			return "stopping";
	}
	return "unknown";
}

static const char *
walrcv_state_name(WalRcvState state)
{
	switch (state)
	{
		case WALRCV_STOPPED:
			return "stopped";
		case WALRCV_STARTING:
			return "starting";
		case WALRCV_STREAMING:
			return "streaming";
		case WALRCV_WAITING:
			return "waiting";
		case WALRCV_RESTARTING:
			return "restarting";
		case WALRCV_STOPPING:
			return "stopping";
	}
	return "unknown";
}

/*
 * Fill application_name, client address and connection time of a walsender
 * from the backend status array.  Returns false for a logical walsender
 * (connected to a database), which is not a standby.
 */
static bool
describe_walsender(int pid, IqfStandby *sb)
{
	int			n = pgstat_fetch_stat_numbackends();
	int			i;

	for (i = 1; i <= n; i++)
	{
		LocalPgBackendStatus *local = pgstat_fetch_stat_local_beentry(i);
		PgBackendStatus *be;

		if (local == NULL)
			continue;
		be = &local->backendStatus;
		if (be->st_procpid != pid)
			continue;
		if (be->st_databaseid != InvalidOid)
			return false;
		if (be->st_appname)
			strlcpy(sb->application_name, be->st_appname, sizeof(sb->application_name));
		sb->connected_since = be->st_proc_start_timestamp;
		if (be->st_clientaddr.addr.ss_family == AF_INET ||
			be->st_clientaddr.addr.ss_family == AF_INET6)
		{
			char		host[NI_MAXHOST];
			char		port[NI_MAXSERV];

			if (pg_getnameinfo_all(&be->st_clientaddr.addr, be->st_clientaddr.salen,
								   host, sizeof(host), port, sizeof(port),
								   NI_NUMERICHOST | NI_NUMERICSERV) == 0)
			{
				clean_ipv6_addr(be->st_clientaddr.addr.ss_family, host);
				strlcpy(sb->client_addr, host, sizeof(sb->client_addr));
				sb->client_port = atoi(port);
			}
		}
		return true;
	}
	/* backend entry not visible yet: keep what the walsender told us */
	return true;
}

static void
sample_walsenders(IqfSnapshot *snap)
{
	SyncRepStandbyData *sync_standbys = NULL;
	int			num_sync;
	int			i;

	/* fresh copy of the backend status array for describe_walsender */
	pgstat_clear_backend_activity_snapshot();
	num_sync = SyncRepGetCandidateStandbys(&sync_standbys);

	snap->n_standbys = 0;
	for (i = 0; i < max_wal_senders && snap->n_standbys < snap->max_standbys; i++)
	{
		WalSnd	   *walsnd = &WalSndCtl->walsnds[i];
		IqfStandby *sb = &snap->standbys[snap->n_standbys];
		WalSndState state;
		bool		is_sync = false;
		int			j;

		memset(sb, 0, sizeof(IqfStandby));
		SpinLockAcquire(&walsnd->mutex);
		if (walsnd->pid == 0)
		{
			SpinLockRelease(&walsnd->mutex);
			continue;
		}
		sb->pid = walsnd->pid;
		state = walsnd->state;
		sb->sent_lsn = walsnd->sentPtr;
		sb->write_lsn = walsnd->write;
		sb->flush_lsn = walsnd->flush;
		sb->replay_lsn = walsnd->apply;
		sb->write_lag_us = walsnd->writeLag;
		sb->flush_lag_us = walsnd->flushLag;
		sb->replay_lag_us = walsnd->applyLag;
		sb->sync_priority = walsnd->sync_standby_priority;
		sb->reply_time = walsnd->replyTime;
		SpinLockRelease(&walsnd->mutex);

		sb->client_port = -1;
		if (!describe_walsender(sb->pid, sb))
			continue;

		strlcpy(sb->state, walsnd_state_name(state), sizeof(sb->state));
		for (j = 0; j < num_sync; j++)
		{
			if (sync_standbys[j].walsnd_index == i &&
				sync_standbys[j].pid == sb->pid)
			{
				is_sync = true;
				break;
			}
		}
		/* the same words as pg_stat_replication.sync_state */
		if (sb->sync_priority == 0)
			strlcpy(sb->sync_state, "async", sizeof(sb->sync_state));
		else if (is_sync)
			strlcpy(sb->sync_state,
					SyncRepConfig && SyncRepConfig->syncrep_method == SYNC_REP_PRIORITY ?
					"sync" : "quorum", sizeof(sb->sync_state));
		else
			strlcpy(sb->sync_state, "potential", sizeof(sb->sync_state));
		snap->n_standbys++;
	}
	if (sync_standbys)
		pfree(sync_standbys);
}

static void
sample_walreceiver(IqfSnapshot *snap)
{
	WalRcvData *walrcv = WalRcv;
	IqfUpstream *up = &snap->upstream;
	WalRcvState state;
	bool		ready;
	char		conninfo[MAXCONNINFO];

	conninfo[0] = '\0';
	SpinLockAcquire(&walrcv->mutex);
	up->pid = walrcv->pid;
	state = walrcv->walRcvState;
	ready = walrcv->ready_to_display;
	up->received_lsn = walrcv->flushedUpto;
	up->received_tli = walrcv->receivedTLI;
	up->latest_end_lsn = walrcv->latestWalEnd;
	up->latest_end_time = walrcv->latestWalEndTime;
	up->last_msg_send_time = walrcv->lastMsgSendTime;
	up->last_msg_receipt_time = walrcv->lastMsgReceiptTime;
	strlcpy(up->slot_name, walrcv->slotname, sizeof(up->slot_name));
	if (ready && up->pid != 0)
	{
		strlcpy(conninfo, walrcv->conninfo, sizeof(conninfo));
		strlcpy(up->sender_host, walrcv->sender_host, sizeof(up->sender_host));
		up->sender_port = walrcv->sender_port;
	}
	SpinLockRelease(&walrcv->mutex);

	if (conninfo[0] != '\0')
		iqf_conninfo_display(conninfo, up->conninfo, sizeof(up->conninfo));

	/*
	 * The receiver says "streaming" from the moment it starts, before it has
	 * connected; ready_to_display is what tells a live connection.
	 */
	if (up->pid == 0 || state == WALRCV_STOPPED)
	{
		up->state = IQF_UPSTREAM_LOST;
		strlcpy(up->status, "disconnected", sizeof(up->status));
	}
	else if (!ready)
	{
		up->state = IQF_UPSTREAM_LOST;
		strlcpy(up->status, "starting", sizeof(up->status));
	}
	else
	{
		if (state == WALRCV_STREAMING)
			up->state = IQF_UPSTREAM_STREAMING;
		else if (state == WALRCV_WAITING || state == WALRCV_RESTARTING)
			up->state = IQF_UPSTREAM_CONNECTED;
		else
			up->state = IQF_UPSTREAM_LOST;
		strlcpy(up->status, walrcv_state_name(state), sizeof(up->status));
	}
}

/*
 * iqf_sampler_sample
 *		Fill the raw fields of snap from the server's shared memory.
 *
 * Allocates only transient memory in the current context.  May be called in
 * recovery or not; the role is re-read every time.
 */
void
iqf_sampler_sample(IqfSnapshot *snap)
{
	TimeLineID	tli = 0;

	snap->in_recovery = RecoveryInProgress();
	if (!snap->in_recovery)
	{
		snap->flush_lsn = GetFlushRecPtr(&tli);
		snap->insert_lsn = GetXLogInsertRecPtr();
		snap->timeline = tli;
		snap->receive_lsn = InvalidXLogRecPtr;
		snap->replay_lsn = InvalidXLogRecPtr;
		memset(&snap->upstream, 0, sizeof(IqfUpstream));
		snap->upstream.state = IQF_UPSTREAM_NONE;
	}
	else
	{
		snap->replay_lsn = GetXLogReplayRecPtr(&tli);
		snap->timeline = tli;
		snap->last_replay_time = GetLatestXTime();
		snap->insert_lsn = InvalidXLogRecPtr;
		snap->flush_lsn = InvalidXLogRecPtr;
		memset(&snap->upstream, 0, sizeof(IqfUpstream));
		sample_walreceiver(snap);
		snap->receive_lsn = snap->upstream.received_lsn;
	}

	/* a cascading standby has walsenders too */
	sample_walsenders(snap);
}
