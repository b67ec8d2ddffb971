/*-------------------------------------------------------------------------
 *
 * state.c
 *	  Shared memory of innoquim_failover: the node snapshot and event ring.
 *
 * Layout and locking:
 *	- IqfShared lives in the main shared memory segment, sized at startup
 *	  from max_wal_senders (PGC_POSTMASTER), created under AddinShmemInitLock.
 *	- One LWLock (tranche "innoquim_failover") protects every field.  The
 *	  monitor builds a snapshot in private memory and takes the lock in
 *	  exclusive mode only to memcpy it in; readers take it in shared mode only
 *	  to memcpy it out, then release it before building tuples or JSON.  So
 *	  neither side ever holds the lock for more than one copy.
 *	- monitor_pid is written by the monitor (set at start, cleared by an
 *	  on_shmem_exit callback) and read by everyone.
 *	- Events are appended by the monitor; the ring keeps the last
 *	  IQF_MAX_EVENTS, and each event is also written to the server log with
 *	  the IQF_EVENT_LOG_PREFIX prefix.
 *	- Shared memory is reset by a crash restart; nothing here must survive one.
 *
 * Copyright (c) 2026, innoquim_failover developers
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"
#include "replication/walsender.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "utils/timestamp.h"

#include "ha_state.h"
#include "state.h"

typedef struct IqfShared
{
	LWLock	   *lock;
	int			monitor_pid;	/* 0 when no monitor runs */
	uint64		event_count;	/* events ever added; next seq is count + 1 */
	IqfEvent	events[IQF_MAX_EVENTS];
	IqfSnapshot snap;			/* variable size: must stay last */
} IqfShared;

static IqfShared *iqf_shared = NULL;
static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

static Size
shared_size(void)
{
	return add_size(offsetof(IqfShared, snap), iqf_state_snapshot_size());
}

/* Size of one snapshot, with room for every possible walsender. */
Size
iqf_state_snapshot_size(void)
{
	return add_size(offsetof(IqfSnapshot, standbys),
					mul_size(sizeof(IqfStandby), Max(max_wal_senders, 1)));
}

/* A zeroed snapshot in the current memory context. */
IqfSnapshot *
iqf_state_snapshot_alloc(void)
{
	IqfSnapshot *snap = palloc0(iqf_state_snapshot_size());

	snap->max_standbys = Max(max_wal_senders, 1);
	return snap;
}

static void
iqf_shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(add_size(shared_size(), iqf_ha_shmem_size()));
	/* lock 0: snapshot and events; lock 1: failover state (ha_state.c) */
	RequestNamedLWLockTranche("innoquim_failover", 2);
}

static void
iqf_shmem_startup(void)
{
	bool		found;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();

	/* reset in case this is a restart within the postmaster */
	iqf_shared = NULL;

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	iqf_shared = ShmemInitStruct("innoquim_failover", shared_size(), &found);
	if (!found)
	{
		memset(iqf_shared, 0, shared_size());
		iqf_shared->lock = &(GetNamedLWLockTranche("innoquim_failover"))->lock;
		iqf_shared->snap.max_standbys = Max(max_wal_senders, 1);
	}
	iqf_ha_shmem_init();
	LWLockRelease(AddinShmemInitLock);
}

/* Called from _PG_init under shared_preload_libraries. */
void
iqf_state_install_hooks(void)
{
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = iqf_shmem_request;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = iqf_shmem_startup;
}

bool
iqf_state_available(void)
{
	return iqf_shared != NULL;
}

/* Raise the documented error when the library was not preloaded. */
void
iqf_state_require(void)
{
	if (!iqf_state_available())
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("innoquim_failover is not loaded"),
				 errdetail("The monitor and its shared memory exist only when the library is loaded at server start."),
				 errhint("Add innoquim_failover to shared_preload_libraries in postgresql.conf and restart the server.")));
}

/* Copy a snapshot built by the monitor into shared memory. */
void
iqf_state_publish(const IqfSnapshot *snap)
{
	Assert(snap->max_standbys == iqf_shared->snap.max_standbys);
	LWLockAcquire(iqf_shared->lock, LW_EXCLUSIVE);
	memcpy(&iqf_shared->snap, snap, iqf_state_snapshot_size());
	LWLockRelease(iqf_shared->lock);
}

/*
 * Copy the snapshot out, into the current memory context.  Also returns the
 * monitor's PID (0 if none runs).  Requires the library to be preloaded.
 */
IqfSnapshot *
iqf_state_snapshot(int *monitor_pid)
{
	IqfSnapshot *copy;

	iqf_state_require();
	copy = palloc(iqf_state_snapshot_size());
	LWLockAcquire(iqf_shared->lock, LW_SHARED);
	memcpy(copy, &iqf_shared->snap, iqf_state_snapshot_size());
	if (monitor_pid)
		*monitor_pid = iqf_shared->monitor_pid;
	LWLockRelease(iqf_shared->lock);
	return copy;
}

static void
clear_monitor_pid(int code, Datum arg)
{
	if (iqf_shared == NULL)
		return;
	LWLockAcquire(iqf_shared->lock, LW_EXCLUSIVE);
	if (iqf_shared->monitor_pid == MyProcPid)
		iqf_shared->monitor_pid = 0;
	LWLockRelease(iqf_shared->lock);
}

/* The monitor registers itself; the PID is cleared again when it exits. */
void
iqf_state_set_monitor_pid(int pid)
{
	iqf_state_require();
	LWLockAcquire(iqf_shared->lock, LW_EXCLUSIVE);
	if (iqf_shared->monitor_pid != 0 && iqf_shared->monitor_pid != pid)
	{
		int			other = iqf_shared->monitor_pid;

		LWLockRelease(iqf_shared->lock);
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("innoquim_failover monitor already running with PID %d", other)));
	}
	iqf_shared->monitor_pid = pid;
	LWLockRelease(iqf_shared->lock);
	on_shmem_exit(clear_monitor_pid, (Datum) 0);
}

/*
 * Record an event in the ring and in the server log.  The log line is
 * written first, outside the lock.
 */
void
iqf_state_add_event(const char *kind, const char *fmt,...)
{
	char		detail[IQF_EVENT_DETAIL_LEN];
	va_list		args;
	IqfEvent   *ev;
	TimestampTz now = GetCurrentTimestamp();

	va_start(args, fmt);
	vsnprintf(detail, sizeof(detail), fmt, args);
	va_end(args);

	ereport(LOG,
			(errmsg(IQF_EVENT_LOG_PREFIX ": %s: %s", kind, detail)));

	if (iqf_shared == NULL)
		return;
	LWLockAcquire(iqf_shared->lock, LW_EXCLUSIVE);
	ev = &iqf_shared->events[iqf_shared->event_count % IQF_MAX_EVENTS];
	iqf_shared->event_count++;
	ev->seq = iqf_shared->event_count;
	ev->at = now;
	strlcpy(ev->kind, kind, sizeof(ev->kind));
	strlcpy(ev->detail, detail, sizeof(ev->detail));
	LWLockRelease(iqf_shared->lock);
}

/* Copy the retained events out, oldest first; returns how many. */
int
iqf_state_events(IqfEvent **events)
{
	int			n;
	uint64		first;
	int			i;
	IqfEvent   *out;

	iqf_state_require();
	out = palloc(sizeof(IqfEvent) * IQF_MAX_EVENTS);
	LWLockAcquire(iqf_shared->lock, LW_SHARED);
	n = (int) Min(iqf_shared->event_count, (uint64) IQF_MAX_EVENTS);
	first = iqf_shared->event_count - n;
	for (i = 0; i < n; i++)
		out[i] = iqf_shared->events[(first + i) % IQF_MAX_EVENTS];
	LWLockRelease(iqf_shared->lock);
	*events = out;
	return n;
}
