/*-------------------------------------------------------------------------
 *
 * fence.c
 *	  Fencing inside the server: a primary without a valid lease refuses
 *	  writes, DDL and commits of write transactions.
 *
 * Three hooks, none of which a session can switch off:
 *	- ExecutorStart: INSERT, UPDATE, DELETE, MERGE, SELECT FOR UPDATE/SHARE
 *	  and data-modifying CTEs;
 *	- ProcessUtility: every utility statement except a short list that
 *	  cannot change data (transaction control, SET/SHOW, EXPLAIN, cursors,
 *	  prepared statements, LISTEN/NOTIFY, DISCARD, LOCK, CALL/DO whose inner
 *	  statements are checked on their own, COPY TO);
 *	- pre-commit: any transaction that was assigned a transaction ID, so a
 *	  write that got past the first two (a function, a trigger, a lease that
 *	  expired mid-transaction) is rolled back instead of committed.
 *
 * Two-phase commit: PREPARE TRANSACTION is checked like a commit, and
 * COMMIT PREPARED (whose statement has no transaction ID of its own) is
 * refused on a fenced node and checked again after its commit.  ROLLBACK
 * PREPARED and ALTER SYSTEM (no WAL) stay allowed, so that an operator can
 * clean up and repair a fenced node.
 *
 * What a fenced node still writes (doc/failover.md): WAL without a commit
 * record (nextval() advances sequences, pruning and hint-bit pages, CHECKPOINT,
 * non-transactional logical messages), and a commit record with no data
 * change for a transaction whose only act was NOTIFY (PreCommit_Notify
 * assigns its transaction ID after the pre-commit check).  A backend frozen
 * between the pre-commit check and its commit record can finish that one
 * commit when it resumes (it is not acknowledged if the lease ended).
 *
 * iqf_fence_terminate_writers() ends the sessions that are inside a write
 * transaction when a node fences itself (SIGTERM, as pg_terminate_backend:
 * never SIGKILL, which would restart the whole server).
 *
 * Copyright (c) 2026, innoquim_failover developers
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <signal.h>

#include "access/xact.h"
#include "access/xlog.h"
#include "executor/executor.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "replication/walsender.h"
#include "replication/walsender_private.h"
#include "storage/spin.h"
#include "tcop/dest.h"
#include "tcop/tcopprot.h"
#include "tcop/utility.h"
#include "utils/backend_status.h"
#include "utils/timestamp.h"

#include "fence.h"
#include "ha_state.h"

static ExecutorStart_hook_type prev_executor_start = NULL;
/*
 * libpq/auth.h declares this hook but includes libpq-be.h, which needs the
 * GSSAPI headers when the server was built with GSSAPI (Debian's is):
 * declared here with the same type, Port kept opaque, to build without them.
 */
struct Port;
typedef void (*iqf_client_auth_hook_type) (struct Port *port, int status);
extern PGDLLIMPORT iqf_client_auth_hook_type ClientAuthentication_hook;
static iqf_client_auth_hook_type prev_client_auth = NULL;
static ProcessUtility_hook_type prev_process_utility = NULL;

static void
refuse(void)
{
	bool		superseded = iqf_ha && pg_atomic_read_u32(&iqf_ha->superseded) != 0;

	ereport(ERROR,
			(errcode(ERRCODE_READ_ONLY_SQL_TRANSACTION),
			 errmsg("innoquim_failover: this node is fenced and accepts no writes"),
			 superseded ?
			 errdetail("Another node holds the cluster's write lease (term " UINT64_FORMAT ").",
					   iqf_ha->superseded_by_term) :
			 errdetail("The node does not hold a write lease from a majority of voters."),
			 errhint("Send writes to the current primary; see innoquim_failover.health on any node.")));
}

static void
iqf_executor_start(QueryDesc *queryDesc, int eflags)
{
	if (!(eflags & EXEC_FLAG_EXPLAIN_ONLY) &&
		(queryDesc->operation != CMD_SELECT ||
		 queryDesc->plannedstmt->hasModifyingCTE ||
		 queryDesc->plannedstmt->rowMarks != NIL) &&
		!iqf_ha_writes_allowed())
		refuse();

	if (prev_executor_start)
		prev_executor_start(queryDesc, eflags);
	else
		standard_ExecutorStart(queryDesc, eflags);
}

/* Utility statements that cannot change data on their own. */
static bool
utility_is_harmless(Node *stmt)
{
	switch (nodeTag(stmt))
	{
		case T_TransactionStmt:
		case T_VariableSetStmt:
		case T_VariableShowStmt:
		case T_ExplainStmt:
		case T_DeclareCursorStmt:
		case T_FetchStmt:
		case T_ClosePortalStmt:
		case T_PrepareStmt:
		case T_ExecuteStmt:
		case T_DeallocateStmt:
		case T_ListenStmt:
		case T_UnlistenStmt:
		case T_NotifyStmt:
		case T_DiscardStmt:
		case T_LockStmt:
		case T_CallStmt:
		case T_DoStmt:
		case T_CheckPointStmt:
			/* writes postgresql.auto.conf, no WAL: lets an operator repair a fenced node */
		case T_AlterSystemStmt:
			return true;
		case T_CopyStmt:
			return !((CopyStmt *) stmt)->is_from;
		default:
			return false;
	}
}

/*
 * COMMIT PREPARED writes the commit record of a transaction prepared
 * earlier (perhaps before this node was fenced), inside a statement that
 * has no transaction ID of its own: the pre-commit check never sees it.
 */
static bool
is_commit_prepared(Node *stmt)
{
	return IsA(stmt, TransactionStmt) &&
		((TransactionStmt *) stmt)->kind == TRANS_STMT_COMMIT_PREPARED;
}

/* the current statement is a COMMIT PREPARED that passed its check */
static bool commit_prepared_checked = false;

static void
iqf_process_utility(PlannedStmt *pstmt, const char *queryString, bool readOnlyTree,
					ProcessUtilityContext context, ParamListInfo params,
					QueryEnvironment *queryEnv, DestReceiver *dest, QueryCompletion *qc)
{
	bool		commit_prepared = is_commit_prepared(pstmt->utilityStmt);

	if ((commit_prepared || !utility_is_harmless(pstmt->utilityStmt)) &&
		!iqf_ha_writes_allowed())
		refuse();
	if (commit_prepared)
		commit_prepared_checked = true;

	if (prev_process_utility)
		prev_process_utility(pstmt, queryString, readOnlyTree, context, params,
							 queryEnv, dest, qc);
	else
		standard_ProcessUtility(pstmt, queryString, readOnlyTree, context, params,
								queryEnv, dest, qc);
}

/*
 * R5 (A2): a transaction that wrote and committed while the lease
 * was valid may have waited for synchronous replication since; if the
 * lease lapsed meanwhile, a successor may exist that lacks this commit, so
 * the client must not be told it committed.  The commit record is written
 * and cannot be undone here (an ERROR after commit would PANIC), so the
 * session ends without sending the acknowledgement: output is switched off
 * and a termination is queued, which takes effect once the transaction is
 * over.  The client sees a lost connection, as after a crash.
 */
static void
check_after_commit(void)
{
	if (iqf_ha_writes_allowed())
		return;
	whereToSendOutput = DestNone;
	ProcDiePending = true;
	InterruptPending = true;
	ereport(LOG,
			(errmsg("innoquim_failover: write lease lost while committing; the commit is not acknowledged and the session ends")));
}

/* the current top-level transaction passed the pre-commit check with an ID */
static bool xact_wrote = false;

/*
 * The last line of defence, and the clock of the failover's "first write":
 * a transaction with an ID commits only under a valid lease, and is
 * acknowledged only if the lease is still valid once it has committed.
 */
static void
iqf_xact_callback(XactEvent event, void *arg)
{
	if (event == XACT_EVENT_COMMIT)
	{
		if (xact_wrote || commit_prepared_checked)
			check_after_commit();
		xact_wrote = false;
		commit_prepared_checked = false;
		return;
	}
	if (event == XACT_EVENT_ABORT || event == XACT_EVENT_PARALLEL_ABORT ||
		event == XACT_EVENT_PREPARE)
	{
		xact_wrote = false;
		commit_prepared_checked = false;
		return;
	}

	/*
	 * PREPARE TRANSACTION is checked like a commit: a prepared transaction
	 * is one COMMIT PREPARED away from committed, by anybody, later.
	 */
	if (event == XACT_EVENT_PRE_PREPARE)
	{
		if (TransactionIdIsValid(GetTopTransactionIdIfAny()) && !iqf_ha_writes_allowed())
			refuse();
		return;
	}
	if (event != XACT_EVENT_PRE_COMMIT && event != XACT_EVENT_PARALLEL_PRE_COMMIT)
		return;
	if (!TransactionIdIsValid(GetTopTransactionIdIfAny()))
		return;
	xact_wrote = event == XACT_EVENT_PRE_COMMIT;
	if (!iqf_ha_writes_allowed())
		refuse();
	if (iqf_ha && pg_atomic_read_u32(&iqf_ha->first_write_pending) != 0 &&
		pg_atomic_exchange_u32(&iqf_ha->first_write_pending, 0) != 0)
	{
		LWLockAcquire(iqf_ha->lock, LW_EXCLUSIVE);
		iqf_ha->t_first_write = GetCurrentTimestamp();
		LWLockRelease(iqf_ha->lock);
	}
}

/*
 * R7: a superseded primary serves no WAL: replication connections are
 * refused, so a standby still pointing at it notices it lost its primary
 * (R14) and can vote (A3).
 */
static void
iqf_client_auth(struct Port *port, int status)
{
	if (prev_client_auth)
		prev_client_auth(port, status);
	if (status == STATUS_OK && am_walsender && iqf_ha &&
		pg_atomic_read_u32(&iqf_ha->superseded) != 0 && !RecoveryInProgress())
		ereport(FATAL,
				(errcode(ERRCODE_CANNOT_CONNECT_NOW),
				 errmsg("innoquim_failover: this node was superseded and serves no WAL"),
				 errdetail("A newer primary exists (term " UINT64_FORMAT ").", iqf_ha->superseded_by_term),
				 errhint("Stream from the current primary; rebuild this node as a standby of it.")));
}


void
iqf_fence_install_hooks(void)
{
	prev_client_auth = ClientAuthentication_hook;
	ClientAuthentication_hook = iqf_client_auth;
	prev_executor_start = ExecutorStart_hook;
	ExecutorStart_hook = iqf_executor_start;
	prev_process_utility = ProcessUtility_hook;
	ProcessUtility_hook = iqf_process_utility;
	RegisterXactCallback(iqf_xact_callback, NULL);
}

/*
 * Terminate client sessions that are inside a write transaction (they hold
 * a transaction ID).  Returns how many were signalled.
 */
int
iqf_fence_terminate_writers(void)
{
	int			n = pgstat_fetch_stat_numbackends();
	int			i;
	int			killed = 0;

	pgstat_clear_backend_activity_snapshot();
	n = pgstat_fetch_stat_numbackends();
	for (i = 1; i <= n; i++)
	{
		LocalPgBackendStatus *local = pgstat_fetch_stat_local_beentry(i);

		if (local == NULL || local->backendStatus.st_backendType != B_BACKEND)
			continue;
		if (!TransactionIdIsValid(local->backend_xid))
			continue;
		if (local->backendStatus.st_procpid == MyProcPid)
			continue;
		if (kill(local->backendStatus.st_procpid, SIGTERM) == 0)
			killed++;
	}
	return killed;
}

/* R7: terminate the walsenders (SIGTERM).  Returns how many. */
int
iqf_fence_stop_walsenders(void)
{
	int			i;
	int			n = 0;

	if (WalSndCtl == NULL)
		return 0;
	for (i = 0; i < max_wal_senders; i++)
	{
		WalSnd	   *w = &WalSndCtl->walsnds[i];
		pid_t		pid;

		SpinLockAcquire(&w->mutex);
		pid = w->pid;
		SpinLockRelease(&w->mutex);
		if (pid != 0 && kill(pid, SIGTERM) == 0)
			n++;
	}
	return n;
}
