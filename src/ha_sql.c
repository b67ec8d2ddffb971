/*-------------------------------------------------------------------------
 *
 * ha_sql.c
 *	  SQL side of failover: the messages peers send each other (lease, vote,
 *	  dead), membership (register_node, unregister_node), pause/resume, and
 *	  the nodes and failover views.
 *
 * A peer's agent calls lease(), vote() and dead() over libpq; the backend
 * that runs the call applies the pure rules of failover.c to this node's
 * state under the HA lock, makes the outcome durable first when it changes
 * the term or the vote, and only then answers.  Every function here that
 * changes state is revoked from PUBLIC and granted to
 * innoquim_failover_control (install script).
 *
 * Copyright (c) 2026, innoquim_failover developers
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xlog.h"
#include "access/xlog_internal.h"
#include "catalog/pg_authid.h"
#include "access/xlogrecovery.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "nodes/parsenodes.h"
#include "postmaster/postmaster.h"
#include "replication/walreceiver.h"
#include "storage/latch.h"
#include "storage/proc.h"
#include "storage/procarray.h"
#include "storage/spin.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/pg_lsn.h"
#include "utils/timestamp.h"
#include "utils/wait_event.h"

#include "libpq-fe.h"

#include "ha_sql.h"
#include "ha_state.h"
#include "innoquim_failover.h"

PG_FUNCTION_INFO_V1(iqf_sql_lease);
PG_FUNCTION_INFO_V1(iqf_sql_vote);
PG_FUNCTION_INFO_V1(iqf_sql_dead);
PG_FUNCTION_INFO_V1(iqf_sql_follow);
PG_FUNCTION_INFO_V1(iqf_sql_register_node);
PG_FUNCTION_INFO_V1(iqf_sql_unregister_node);
PG_FUNCTION_INFO_V1(iqf_sql_nodes);
PG_FUNCTION_INFO_V1(iqf_sql_pause);
PG_FUNCTION_INFO_V1(iqf_sql_resume);
PG_FUNCTION_INFO_V1(iqf_sql_failover);

static void
wake_agent(void)
{
	int			pid = iqf_ha->agent_pid;
	PGPROC	   *proc = pid ? BackendPidGetProc(pid) : NULL;

	if (proc)
		SetLatch(&proc->procLatch);
}

/* WAL this node holds: received, or at least replayed. */
uint64
iqf_ha_own_lsn(void)
{
	IqfPosition pos;

	iqf_ha_own_position(&pos);
	return pos.lsn;
}

/*
 * This node's position (R13b): timeline of the last WAL it holds, and its
 * end.  A standby holds what its WAL receiver flushed, or at least what it
 * replayed; a primary what it flushed.
 */
void
iqf_ha_own_position(IqfPosition *pos)
{
	TimeLineID	rtli = 0;
	TimeLineID	ptli = 0;
	XLogRecPtr	recv;
	XLogRecPtr	replay;

	if (!RecoveryInProgress())
	{
		pos->tli = GetWALInsertionTimeLine();
		pos->lsn = GetFlushRecPtr(NULL);
		return;
	}
	recv = GetWalRcvFlushRecPtr(NULL, &rtli);
	replay = GetXLogReplayRecPtr(&ptli);
	if (rtli > ptli || (rtli == ptli && recv > replay))
	{
		pos->tli = rtli;
		pos->lsn = recv;
	}
	else
	{
		pos->tli = ptli;
		pos->lsn = replay;
	}
}

/*
 * R14: our WAL receiver streams and heard from its primary within
 * `within_us` (a silent stream counts as lost after failover_timeout).
 */
static bool
wal_receiver_streaming(int64 within_us)
{
	WalRcvData *w = WalRcv;
	bool		streaming;
	TimestampTz last;

	if (w == NULL)
		return false;
	SpinLockAcquire(&w->mutex);
	streaming = w->walRcvState == WALRCV_STREAMING;
	last = w->lastMsgReceiptTime;
	SpinLockRelease(&w->mutex);
	return streaming && last != 0 && GetCurrentTimestamp() - last < within_us;
}

/* This node's view as a voter.  Caller holds the HA lock. */
void
iqf_ha_voter(IqfVoter *v, const IqfFailoverConfig *cfg)
{
	int64		now = iqf_mono_us();

	memset(v, 0, sizeof(*v));
	iqf_node_name(v->name, sizeof(v->name));
	v->term = iqf_ha->durable.term;
	strlcpy(v->voted_for, iqf_ha->durable.voted_for, sizeof(v->voted_for));
	v->data_node = !iqf_ha_is_witness();
	v->in_recovery = v->data_node && RecoveryInProgress();
	v->superseded = pg_atomic_read_u32(&iqf_ha->superseded) != 0;
	v->since_grant_us = now - iqf_ha->last_grant_mono;
	v->since_start_us = now - iqf_ha->start_mono;
	strlcpy(v->granted_to, iqf_ha->lease_holder, sizeof(v->granted_to));
	v->max_inc_known = iqf_ha->max_inc_known;
	v->max_inc = iqf_ha->max_inc;
	v->cert = iqf_ha->cert;
	v->cert_term = iqf_ha->cert_term;
	strlcpy(v->cert_primary, iqf_ha->cert_primary, sizeof(v->cert_primary));
	v->cert_inc = iqf_ha->cert_inc;
	v->streaming = v->in_recovery && wal_receiver_streaming(cfg->failover_timeout_us);
	if (v->in_recovery)
		iqf_ha_own_position(&v->pos);
	v->eligible = v->in_recovery && iqf_auto_failover && iqf_priority > 0;
	v->priority = iqf_priority;
	v->acked_lsn = iqf_ha->acked_lsn;
	v->paused = iqf_ha->durable.paused;
	v->state_unreadable = iqf_ha->state_unreadable;
}

void
iqf_ha_failover_config(IqfFailoverConfig *cfg)
{
	int64		fence = (int64) iqf_fence_timeout_ms * 1000;

	cfg->fence_timeout_us = fence;
	/* R18: never shorter than the safe minimum, whatever the setting says */
	cfg->failover_timeout_us =
		iqf_failover_effective_failover_timeout((int64) iqf_failover_timeout_ms * 1000,
												fence, fence / 4);
}

/* Record a LEASE or VOTE granted to `to` (incarnation inc).  Locked. */
static void
record_grant(const char *to, uint64 inc)
{
	char		self[IQF_NODE_NAME_LEN];

	iqf_node_name(self, sizeof(self));
	/* R12: self-grants (a primary's own, a candidate's own) do not count */
	if (strcmp(to, self) != 0)
		iqf_ha->last_grant_mono = iqf_mono_us();
	if (!iqf_ha->max_inc_known || strcmp(iqf_ha->lease_holder, to) != 0)
	{
		strlcpy(iqf_ha->lease_holder, to, sizeof(iqf_ha->lease_holder));
		iqf_ha->max_inc_known = true;
		iqf_ha->max_inc = inc;
	}
	else if (inc > iqf_ha->max_inc)
		iqf_ha->max_inc = inc;
}

/*
 * Apply a LEASE request (R3, R17).  Returns the verdict; *term_out is this
 * node's term after it.  Takes the HA lock.
 */
IqfVerdict
iqf_ha_handle_lease(const IqfLeaseArgs *a, uint64 *term_out)
{
	IqfVoter	v;
	IqfLeaseRequest req;
	IqfLeaseOutcome o;
	IqfFailoverConfig cfg;

	iqf_ha_failover_config(&cfg);
	memset(&req, 0, sizeof(req));
	req.term = a->term;
	strlcpy(req.primary, a->primary, sizeof(req.primary));
	req.incarnation = a->incarnation;

	LWLockAcquire(iqf_ha->lock, LW_EXCLUSIVE);
	iqf_ha_voter(&v, &cfg);
	o = iqf_failover_lease(&v, &req);
	{
		IqfDurable	d = iqf_ha->durable;
		bool		changed = false;

		if (o.persist)
		{
			d.term = o.new_term;
			strlcpy(d.voted_for, o.vote_for_primary ? a->primary : "", sizeof(d.voted_for));
			changed = true;
		}
		if (o.verdict == IQF_GRANT)
		{
			if (a->registry && a->registry_version > d.registry_version)
			{
				IqfDurable	r = d;

				if (iqf_ha_registry_parse(a->registry, &r))
				{
					d = r;
					changed = true;
				}
			}
			if (a->paused != d.paused)
			{
				d.paused = a->paused;
				changed = true;
			}
		}
		if (changed)
			iqf_ha_set_durable(&d);
	}
	if (o.verdict == IQF_GRANT)
	{
		record_grant(a->primary, a->incarnation);
		iqf_ha->acked_lsn = a->acked_lsn;
		strlcpy(iqf_ha->sync_names, a->sync_names ? a->sync_names : "", sizeof(iqf_ha->sync_names));
		iqf_ha->sync_k = a->sync_k;
		strlcpy(iqf_ha->sync_primary, a->primary, sizeof(iqf_ha->sync_primary));
		iqf_ha->last_lease_at = GetCurrentTimestamp();
	}
	/* R17: follow the leader of our term, even when refusing its lease */
	if (o.verdict == IQF_GRANT || o.follow)
		strlcpy(iqf_ha->known_primary, a->primary, sizeof(iqf_ha->known_primary));
	/* a former primary shows who leads now (views only: it follows nobody) */
	else if (o.verdict == IQF_REFUSE_NOT_STANDBY && a->term >= iqf_ha->durable.term)
		strlcpy(iqf_ha->known_primary, a->primary, sizeof(iqf_ha->known_primary));
	*term_out = iqf_ha->durable.term;
	LWLockRelease(iqf_ha->lock);
	wake_agent();
	return o.verdict;
}

/*
 * ALTER SYSTEM SET primary_conninfo = value, through the server's own code
 * (ALTER SYSTEM cannot run inside a function).  The callers, vote() and
 * follow(), are granted to the control role only (install script), and the
 * value is either empty or built from the registry; PostgreSQL 15 lets only
 * superusers run ALTER SYSTEM, so this runs as the bootstrap superuser.
 * The caller signals the postmaster to reload.
 */
static void
set_primary_conninfo(const char *value)
{
	AlterSystemStmt *stmt = makeNode(AlterSystemStmt);
	VariableSetStmt *set = makeNode(VariableSetStmt);
	A_Const    *c = makeNode(A_Const);
	Oid			save_userid;
	int			save_sec;

	c->val.sval.type = T_String;
	c->val.sval.sval = pstrdup(value);
	c->location = -1;
	set->kind = VAR_SET_VALUE;
	set->name = pstrdup("primary_conninfo");
	set->args = list_make1(c);
	stmt->setstmt = set;

	GetUserIdAndSecContext(&save_userid, &save_sec);
	SetUserIdAndSecContext(BOOTSTRAP_SUPERUSERID, save_sec | SECURITY_LOCAL_USERID_CHANGE);
	PG_TRY();
	{
		AlterSystemSetConfigFile(stmt);
	}
	PG_FINALLY();
	{
		SetUserIdAndSecContext(save_userid, save_sec);
	}
	PG_END_TRY();
}

/*
 * R17: empty primary_conninfo durably (ALTER SYSTEM through the server's own
 * code: ALTER SYSTEM cannot run inside a function, and this backend runs as
 * the control role), reload, and wait until the WAL receiver has stopped,
 * so that this standby acknowledges no WAL of the old primary after its
 * vote.  Runs in a backend (a peer's vote() call) with a transaction.
 * Returns false when the WAL receiver did not stop in time.
 */
static bool
detach(void)
{
	bool		already;
	int64		deadline;
	int64		settle;

	/* under the lock, so that follow() cannot re-point in between */
	LWLockAcquire(iqf_ha->lock, LW_EXCLUSIVE);
	already = iqf_ha->detached;
	if (!already)
	{
		set_primary_conninfo("");
		iqf_ha->detached = true;
		iqf_ha->following[0] = '\0';
		iqf_ha->known_primary[0] = '\0';
	}
	LWLockRelease(iqf_ha->lock);
	if (!already)
	{
		if (kill(PostmasterPid, SIGHUP) != 0)
			ereport(WARNING,
					(errmsg("innoquim_failover: could not signal the postmaster to reload: %m")));
		iqf_state_add_event("detached", "primary_conninfo emptied before voting");
	}

	/*
	 * The startup process stops the WAL receiver when it sees the new
	 * setting; give it a moment to read it even when no receiver runs now
	 * (one could be about to start with the old setting).
	 */
	settle = iqf_mono_us() + (already ? 0 : 30 * 1000);
	deadline = iqf_mono_us() + 2 * 1000 * 1000;
	for (;;)
	{
		int64		now = iqf_mono_us();

		if (!WalRcvRunning() && now >= settle)
			return true;
		if (now >= deadline)
			return false;
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, 5,
						 PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
	}
}

/*
 * Apply a VOTE request or a pre-vote (R11-R14, R17).  *as_standby: this
 * voter is a standby, so the vote counts towards R16.  Takes the HA lock.
 */
IqfVerdict
iqf_ha_handle_vote(const IqfVoteRequest *req, uint64 *term_out, IqfPosition *pos_out,
				   bool *as_standby)
{
	IqfVoter	v;
	IqfVerdict	verdict;
	IqfFailoverConfig cfg;

	iqf_ha_failover_config(&cfg);
	LWLockAcquire(iqf_ha->lock, LW_EXCLUSIVE);
	iqf_ha_voter(&v, &cfg);
	verdict = iqf_failover_vote_verdict(&v, req, &cfg);

	/*
	 * R17: a standby detaches before a real vote (without the lock: it
	 * waits for the WAL receiver), then is judged again with its position
	 * measured after it.  The verdict that counts is always the one taken
	 * under the lock that is held while the vote is made durable.
	 */
	if (verdict == IQF_GRANT && !req->pre_vote && v.in_recovery)
	{
		bool		detached;

		LWLockRelease(iqf_ha->lock);
		detached = detach();
		LWLockAcquire(iqf_ha->lock, LW_EXCLUSIVE);
		iqf_ha_voter(&v, &cfg);
		verdict = detached ? iqf_failover_vote_verdict(&v, req, &cfg) : IQF_REFUSE_NOT_DETACHED;
	}
	if (verdict == IQF_GRANT && !req->pre_vote)
	{
		IqfDurable	d = iqf_ha->durable;

		if (d.term != req->term || strcmp(d.voted_for, req->candidate) != 0)
		{
			d.term = req->term;
			strlcpy(d.voted_for, req->candidate, sizeof(d.voted_for));
			iqf_ha_set_durable(&d);	/* before the answer leaves */
		}
		/* the vote is also the new primary's first lease grant */
		record_grant(req->candidate, req->incarnation);
	}
	*term_out = iqf_ha->durable.term;
	*pos_out = v.pos;
	*as_standby = v.in_recovery;
	LWLockRelease(iqf_ha->lock);
	wake_agent();
	return verdict;
}

Datum
iqf_sql_lease(PG_FUNCTION_ARGS)
{
	IqfLeaseArgs a;
	uint64		term;
	IqfVerdict	verdict;
	TupleDesc	tupdesc;
	Datum		values[4];
	bool		nulls[4] = {false, false, false, false};
	char		self[IQF_NODE_NAME_LEN];

	iqf_ha_require();
	memset(&a, 0, sizeof(a));
	a.term = (uint64) PG_GETARG_INT64(0);
	strlcpy(a.primary, text_to_cstring(PG_GETARG_TEXT_PP(1)), sizeof(a.primary));
	a.incarnation = (uint64) PG_GETARG_INT64(2);
	a.acked_lsn = PG_GETARG_LSN(3);
	a.sync_names = text_to_cstring(PG_GETARG_TEXT_PP(4));
	a.sync_k = PG_GETARG_INT32(5);
	a.paused = PG_GETARG_BOOL(6);
	a.registry = text_to_cstring(PG_GETARG_TEXT_PP(7));
	a.registry_version = (uint64) PG_GETARG_INT64(8);

	iqf_node_name(self, sizeof(self));

	/*
	 * A node's own lease is granted in-process by its agent, never through
	 * SQL: a LEASE naming this node, received over a connection, would make
	 * this node vote for itself in the term of the caller's choosing.
	 */
	if (strcmp(a.primary, self) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a lease naming this node (\"%s\") as primary is not accepted from a connection", self),
				 errdetail("A node grants its own lease in-process; other nodes send theirs.")));
	verdict = iqf_ha_handle_lease(&a, &term);
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	tupdesc = BlessTupleDesc(tupdesc);
	values[0] = BoolGetDatum(verdict == IQF_GRANT);
	values[1] = Int64GetDatum((int64) term);
	values[2] = CStringGetTextDatum(self);
	values[3] = CStringGetTextDatum(iqf_failover_verdict_name(verdict));
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}

Datum
iqf_sql_vote(PG_FUNCTION_ARGS)
{
	IqfVoteRequest req;
	uint64		term;
	IqfPosition pos;
	bool		as_standby;
	IqfVerdict	verdict;
	TupleDesc	tupdesc;
	Datum		values[6];
	bool		nulls[6] = {false, false, false, false, false, false};
	char		self[IQF_NODE_NAME_LEN];

	iqf_ha_require();
	memset(&req, 0, sizeof(req));
	req.term = (uint64) PG_GETARG_INT64(0);
	strlcpy(req.candidate, text_to_cstring(PG_GETARG_TEXT_PP(1)), sizeof(req.candidate));
	req.incarnation = (uint64) PG_GETARG_INT64(2);
	req.pos.tli = (uint32) PG_GETARG_INT64(3);
	req.pos.lsn = PG_GETARG_LSN(4);
	req.candidate_priority = PG_GETARG_INT32(5);
	req.pre_vote = PG_GETARG_BOOL(6);

	verdict = iqf_ha_handle_vote(&req, &term, &pos, &as_standby);
	iqf_node_name(self, sizeof(self));
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	tupdesc = BlessTupleDesc(tupdesc);
	values[0] = BoolGetDatum(verdict == IQF_GRANT);
	values[1] = Int64GetDatum((int64) term);
	values[2] = CStringGetTextDatum(self);
	values[3] = CStringGetTextDatum(iqf_failover_verdict_name(verdict));
	values[4] = LSNGetDatum(pos.lsn);
	values[5] = BoolGetDatum(as_standby);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}

/* DEAD(T, p, i): the primary of `term` reports its postmaster dead (R15). */
Datum
iqf_sql_dead(PG_FUNCTION_ARGS)
{
	uint64		term = (uint64) PG_GETARG_INT64(0);
	char	   *primary = text_to_cstring(PG_GETARG_TEXT_PP(1));
	uint64		inc = (uint64) PG_GETARG_INT64(2);
	bool		accepted = false;
	IqfVoter	v;
	IqfFailoverConfig cfg;

	iqf_ha_require();
	iqf_ha_failover_config(&cfg);
	LWLockAcquire(iqf_ha->lock, LW_EXCLUSIVE);
	iqf_ha_voter(&v, &cfg);
	if (iqf_failover_dead_accept(&v, term, primary, inc))
	{
		/* keep the highest incarnation certified for this primary and term */
		if (!iqf_ha->cert || iqf_ha->cert_term != term ||
			strcmp(iqf_ha->cert_primary, primary) != 0 || inc > iqf_ha->cert_inc)
		{
			iqf_ha->cert = true;
			iqf_ha->cert_term = term;
			strlcpy(iqf_ha->cert_primary, primary, sizeof(iqf_ha->cert_primary));
			iqf_ha->cert_inc = inc;
		}
		accepted = true;
	}
	LWLockRelease(iqf_ha->lock);
	if (accepted)
	{
		iqf_state_add_event("primary_dead", "primary \"%s\" (incarnation " UINT64_FORMAT ") of term " UINT64_FORMAT " reported its postmaster dead",
							primary, inc, term);
		wake_agent();
	}
	PG_RETURN_BOOL(accepted);
}

/*
 * follow(T, p): R17, re-point primary_conninfo at p, the leader of term T,
 * if p is still the leader this node learnt of in its current term.  The
 * check and the rewrite happen under the HA lock, like detach(), so a
 * standby that detached to vote never re-points at the old primary.
 * Called by the local agent through its connection to this node.
 */
Datum
iqf_sql_follow(PG_FUNCTION_ARGS)
{
	uint64		term = (uint64) PG_GETARG_INT64(0);
	char	   *primary = text_to_cstring(PG_GETARG_TEXT_PP(1));
	char		self[IQF_NODE_NAME_LEN];
	const IqfRegistryNode *n;
	bool		done = false;

	iqf_ha_require();
	if (!RecoveryInProgress() || iqf_ha_is_witness())
		PG_RETURN_BOOL(false);
	iqf_node_name(self, sizeof(self));
	LWLockAcquire(iqf_ha->lock, LW_EXCLUSIVE);
	n = iqf_ha_find_node(&iqf_ha->durable, primary);
	if (n != NULL && iqf_ha->durable.term == term &&
		strcmp(iqf_ha->known_primary, primary) == 0 && strcmp(primary, self) != 0)
	{
		StringInfoData desired;

		initStringInfo(&desired);
		appendStringInfo(&desired, "%s application_name=%s", n->conninfo, self);
		set_primary_conninfo(desired.data);
		strlcpy(iqf_ha->following, primary, sizeof(iqf_ha->following));
		iqf_ha->detached = false;
		done = true;
	}
	LWLockRelease(iqf_ha->lock);
	if (done)
	{
		if (kill(PostmasterPid, SIGHUP) != 0)
			ereport(WARNING,
					(errmsg("innoquim_failover: could not signal the postmaster to reload: %m")));
		iqf_state_add_event("following", "re-pointed primary_conninfo to \"%s\" (term " UINT64_FORMAT ")",
							primary, term);
	}
	PG_RETURN_BOOL(done);
}

static void
check_node_args(const char *name, const char *kind, const char *conninfo)
{
	const char *p;
	PQconninfoOption *opts;
	PQconninfoOption *o;
	char	   *err = NULL;

	if (name[0] == '\0' || strlen(name) >= IQF_NODE_NAME_LEN)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("node name must have 1 to %d characters", IQF_NODE_NAME_LEN - 1)));
	for (p = name; *p; p++)
		if (!(isalnum((unsigned char) *p) || strchr("_-.:", *p)))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid node name \"%s\"", name),
					 errdetail("A node name may contain only letters, digits, \"_\", \"-\", \".\" and \":\".")));
	if (strcmp(kind, "data") != 0 && strcmp(kind, "witness") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid node kind \"%s\"", kind),
				 errhint("Use \"data\" for a primary or standby, \"witness\" for a witness.")));
	if (strlen(conninfo) >= IQF_CONNINFO_LEN || strpbrk(conninfo, "\t\n\r"))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid connection string for node \"%s\"", name),
				 errdetail("It must be shorter than %d bytes and contain no tab or newline.",
						   IQF_CONNINFO_LEN)));
	opts = PQconninfoParse(conninfo, &err);
	if (opts == NULL)
	{
		char	   *msg = err ? pstrdup(err) : pstrdup("out of memory");

		if (err)
			PQfreemem(err);
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid connection string for node \"%s\": %s", name, msg)));
	}
	for (o = opts; o->keyword; o++)
	{
		if (o->val && o->val[0] && strchr(o->dispchar, '*'))
		{
			PQconninfoFree(opts);
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("connection string for node \"%s\" contains a secret (%s)", name, o->keyword),
					 errhint("Keep passwords out of the registry: use a password file (passfile, ~/.pgpass) or certificate authentication.")));
		}
	}
	PQconninfoFree(opts);
}

/*
 * Membership and pause change only on the primary that holds the write
 * lease (or on a primary of a cluster without a lease, fewer than three
 * voters, that was never superseded).  On a standby or a witness the change
 * would be overwritten by the next lease; on a deposed or lease-less
 * primary it could lift fencing (a registry of fewer than three voters
 * switches enforcement off).
 */
/* This node's durable vote makes it the leader of its term (or term 0). */
static bool
leads_own_term(void)
{
	char		self[IQF_NODE_NAME_LEN];
	bool		leads;

	iqf_node_name(self, sizeof(self));
	LWLockAcquire(iqf_ha->lock, LW_SHARED);
	leads = strcmp(iqf_ha->durable.voted_for, self) == 0 ||
		(iqf_ha->durable.term == 0 && iqf_ha->durable.voted_for[0] == '\0');
	LWLockRelease(iqf_ha->lock);
	return leads && pg_atomic_read_u32(&iqf_ha->superseded) == 0;
}

static void
require_lease_holder(const char *what)
{
	if (RecoveryInProgress() || iqf_ha_is_witness())
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("%s can only be changed on the primary", what),
				 errhint("Run this on the primary; it reaches the standbys and the witness with its next lease.")));
	if (pg_atomic_read_u32(&iqf_ha->superseded) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("%s cannot be changed on a superseded primary", what),
				 errdetail("A newer primary exists (term " UINT64_FORMAT ").", iqf_ha->superseded_by_term),
				 errhint("Run this on the current primary; see innoquim_failover.failover on any node.")));
	/*
	 * A primary that leads its term and is taking up its lease (as right
	 * after the registry first reaches three voters) gets it within a lease
	 * round or two: wait for it, up to failover_timeout, rather than fail.
	 */
	if (!iqf_ha_is_lease_holder() && leads_own_term())
	{
		IqfFailoverConfig cfg;
		int64		deadline;

		iqf_ha_failover_config(&cfg);
		deadline = iqf_mono_us() + cfg.failover_timeout_us;
		while (!iqf_ha_is_lease_holder() && leads_own_term() && iqf_mono_us() < deadline)
		{
			(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, 10,
							 PG_WAIT_EXTENSION);
			ResetLatch(MyLatch);
			CHECK_FOR_INTERRUPTS();
		}
	}
	if (!iqf_ha_is_lease_holder())
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("%s cannot be changed on a primary without a write lease", what),
				 errdetail("This node is fenced: a majority of voters has not renewed its lease."),
				 errhint("Run this on the primary that holds the lease.  If a majority of the voters is lost for good, see innoquim_failover.break_glass().")));
}

static void
require_args(FunctionCallInfo fcinfo, int n, const char *const *names)
{
	int			i;

	for (i = 0; i < n; i++)
		if (PG_ARGISNULL(i))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("%s must not be null", names[i])));
}

Datum
iqf_sql_register_node(PG_FUNCTION_ARGS)
{
	static const char *const names[] = {"name", "conninfo", "kind"};
	char	   *name;
	char	   *conninfo;
	char	   *kind;
	IqfDurable	d;
	int			i;

	require_args(fcinfo, 3, names);
	name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	conninfo = text_to_cstring(PG_GETARG_TEXT_PP(1));
	kind = text_to_cstring(PG_GETARG_TEXT_PP(2));
	iqf_ha_require();
	check_node_args(name, kind, conninfo);
	require_lease_holder("cluster membership");

	LWLockAcquire(iqf_ha->lock, LW_EXCLUSIVE);
	d = iqf_ha->durable;
	for (i = 0; i < d.n_nodes; i++)
		if (strcmp(d.nodes[i].name, name) == 0)
			break;
	if (i == d.n_nodes)
	{
		if (d.n_nodes >= IQF_MAX_NODES)
		{
			LWLockRelease(iqf_ha->lock);
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("a cluster can have at most %d nodes", IQF_MAX_NODES)));
		}
		d.n_nodes++;
	}
	strlcpy(d.nodes[i].name, name, sizeof(d.nodes[i].name));
	strlcpy(d.nodes[i].kind, kind, sizeof(d.nodes[i].kind));
	strlcpy(d.nodes[i].conninfo, conninfo, sizeof(d.nodes[i].conninfo));
	d.registry_version++;
	iqf_ha_set_durable(&d);
	LWLockRelease(iqf_ha->lock);
	iqf_state_add_event("node_registered", "node \"%s\" (%s) registered; %d voters", name, kind, d.n_nodes);
	wake_agent();
	PG_RETURN_VOID();
}

Datum
iqf_sql_unregister_node(PG_FUNCTION_ARGS)
{
	static const char *const names[] = {"name"};
	char	   *name;
	IqfDurable	d;
	int			i;
	bool		found = false;

	require_args(fcinfo, 1, names);
	name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	iqf_ha_require();
	require_lease_holder("cluster membership");
	LWLockAcquire(iqf_ha->lock, LW_EXCLUSIVE);
	d = iqf_ha->durable;
	for (i = 0; i < d.n_nodes; i++)
	{
		if (strcmp(d.nodes[i].name, name) == 0)
		{
			/*
			 * Below three voters the lease is switched off everywhere.  A
			 * voter that has not yet heard of the smaller registry (it
			 * arrives with the next lease) could still elect a successor
			 * with the others while this node writes without a lease: only
			 * a paused cluster, where no voter votes, may shrink that far.
			 */
			if (iqf_failover_enabled_for(d.n_nodes) &&
				!iqf_failover_enabled_for(d.n_nodes - 1) && !d.paused)
			{
				LWLockRelease(iqf_ha->lock);
				ereport(ERROR,
						(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
						 errmsg("unregistering node \"%s\" would leave fewer than three voters while failover is active", name),
						 errdetail("With fewer than three voters the write lease is switched off; a voter that has not yet heard of the change could still elect another primary."),
						 errhint("Run innoquim_failover.pause() first and wait until every node's failover view shows paused.")));
			}
			memmove(&d.nodes[i], &d.nodes[i + 1], sizeof(IqfRegistryNode) * (d.n_nodes - i - 1));
			d.n_nodes--;
			found = true;
			break;
		}
	}
	if (found)
	{
		d.registry_version++;
		iqf_ha_set_durable(&d);
	}
	LWLockRelease(iqf_ha->lock);
	if (!found)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("node \"%s\" is not registered", name)));
	iqf_state_add_event("node_unregistered", "node \"%s\" unregistered", name);
	wake_agent();
	PG_RETURN_VOID();
}

Datum
iqf_sql_nodes(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	IqfDurable	d;
	char		self[IQF_NODE_NAME_LEN];
	int			i;

	iqf_ha_require();
	InitMaterializedSRF(fcinfo, 0);
	LWLockAcquire(iqf_ha->lock, LW_SHARED);
	d = iqf_ha->durable;
	LWLockRelease(iqf_ha->lock);
	iqf_node_name(self, sizeof(self));
	for (i = 0; i < d.n_nodes; i++)
	{
		Datum		values[5];
		bool		nulls[5] = {false, false, false, false, false};

		values[0] = CStringGetTextDatum(d.nodes[i].name);
		values[1] = CStringGetTextDatum(d.nodes[i].kind);
		values[2] = CStringGetTextDatum(d.nodes[i].conninfo);
		values[3] = BoolGetDatum(strcmp(d.nodes[i].name, self) == 0);
		values[4] = Int64GetDatum((int64) d.registry_version);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

static void
set_paused(bool paused)
{
	IqfDurable	d;

	iqf_ha_require();
	require_lease_holder("the failover pause");
	LWLockAcquire(iqf_ha->lock, LW_EXCLUSIVE);
	d = iqf_ha->durable;
	d.paused = paused;
	iqf_ha_set_durable(&d);
	LWLockRelease(iqf_ha->lock);
	iqf_state_add_event(paused ? "failover_paused" : "failover_resumed",
						"automatic failover %s cluster-wide", paused ? "paused" : "resumed");
	wake_agent();
}

Datum
iqf_sql_pause(PG_FUNCTION_ARGS)
{
	set_paused(true);
	PG_RETURN_VOID();
}

Datum
iqf_sql_resume(PG_FUNCTION_ARGS)
{
	set_paused(false);
	PG_RETURN_VOID();
}

static Datum
time_or_null(TimestampTz t, bool *isnull)
{
	*isnull = (t == 0);
	return TimestampTzGetDatum(t);
}

static Datum
ms_between(TimestampTz a, TimestampTz b, bool *isnull)
{
	*isnull = (a == 0 || b == 0 || b < a);
	return Float8GetDatum((b - a) / 1000.0);
}

/* One row: this node's view of the cluster and of the last failover. */
Datum
iqf_sql_failover(PG_FUNCTION_ARGS)
{
	IqfHa		h;
	TupleDesc	tupdesc;
	Datum		values[20];
	bool		nulls[20];
	int			n = 0;
	int			voters;
	IqfFailoverConfig cfg;
	int64		expiry;
	bool		enforce;

	iqf_ha_require();
	LWLockAcquire(iqf_ha->lock, LW_SHARED);
	memcpy(&h, iqf_ha, sizeof(IqfHa));
	LWLockRelease(iqf_ha->lock);
	iqf_ha_failover_config(&cfg);
	voters = iqf_ha_voter_count(&h.durable);
	expiry = (int64) pg_atomic_read_u64(&iqf_ha->lease_expiry_mono);
	enforce = pg_atomic_read_u32(&iqf_ha->enforce) != 0;
	memset(nulls, 0, sizeof(nulls));

	values[n++] = CStringGetTextDatum(h.phase);
	values[n] = CStringGetTextDatum(h.known_primary);
	nulls[n++] = h.known_primary[0] == '\0';
	values[n++] = Int64GetDatum((int64) h.durable.term);
	values[n] = CStringGetTextDatum(h.durable.voted_for);
	nulls[n++] = h.durable.voted_for[0] == '\0';
	values[n++] = Int32GetDatum(voters);
	values[n++] = Int32GetDatum(iqf_failover_quorum(voters));
	values[n++] = BoolGetDatum(iqf_auto_failover && iqf_failover_enabled_for(voters) &&
							   !h.durable.paused);
	values[n++] = BoolGetDatum(h.durable.paused);
	values[n++] = Int32GetDatum(h.votes);
	values[n++] = BoolGetDatum(enforce);
	values[n] = Float8GetDatum((expiry - iqf_mono_us()) / 1000.0);
	nulls[n++] = !enforce || RecoveryInProgress();
	values[n++] = Int64GetDatum((int64) h.failovers);
	values[n] = time_or_null(h.t_lost, &nulls[n]);
	n++;
	values[n] = time_or_null(h.t_decided, &nulls[n]);
	n++;
	values[n] = time_or_null(h.t_promoted, &nulls[n]);
	n++;
	values[n] = time_or_null(h.t_first_write, &nulls[n]);
	n++;
	values[n] = ms_between(h.t_lost, h.t_decided, &nulls[n]);
	n++;
	values[n] = ms_between(h.t_lost, h.t_promoted, &nulls[n]);
	n++;
	values[n] = ms_between(h.t_lost, h.t_first_write, &nulls[n]);
	n++;
	values[n++] = Int64GetDatum(cfg.failover_timeout_us / 1000);

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	tupdesc = BlessTupleDesc(tupdesc);
	if (tupdesc->natts != n)
		elog(ERROR, "innoquim_failover: built %d columns, expected %d", n, tupdesc->natts);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}
