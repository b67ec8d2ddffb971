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
#include "access/xlogrecovery.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "replication/walreceiver.h"
#include "storage/latch.h"
#include "storage/proc.h"
#include "storage/procarray.h"
#include "utils/builtins.h"
#include "utils/pg_lsn.h"
#include "utils/timestamp.h"

#include "libpq-fe.h"

#include "ha_sql.h"
#include "ha_state.h"
#include "innoquim_failover.h"

PG_FUNCTION_INFO_V1(iqf_sql_lease);
PG_FUNCTION_INFO_V1(iqf_sql_vote);
PG_FUNCTION_INFO_V1(iqf_sql_dead);
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
	XLogRecPtr	recv;
	XLogRecPtr	replay;

	if (!RecoveryInProgress())
		return GetFlushRecPtr(NULL);
	recv = GetWalRcvFlushRecPtr(NULL, NULL);
	replay = GetXLogReplayRecPtr(NULL);
	return Max(recv, replay);
}

static bool
in_list(const char *list, const char *name)
{
	char	   *copy = pstrdup(list);
	char	   *save = NULL;
	char	   *tok;
	bool		found = false;

	for (tok = strtok_r(copy, ",", &save); tok && !found; tok = strtok_r(NULL, ",", &save))
		found = strcmp(tok, name) == 0;
	pfree(copy);
	return found;
}

/* This node's view as a voter.  Caller holds the HA lock. */
void
iqf_ha_voter(IqfVoter *v, const char *candidate)
{
	memset(v, 0, sizeof(*v));
	iqf_node_name(v->name, sizeof(v->name));
	v->term = iqf_ha->durable.term;
	strlcpy(v->voted_for, iqf_ha->durable.voted_for, sizeof(v->voted_for));
	v->since_grant_us = iqf_mono_us() - iqf_ha->last_grant_mono;
	v->dead_certificate = iqf_ha->dead_term_plus1 == iqf_ha->durable.term + 1;
	v->is_standby = RecoveryInProgress() && !iqf_ha_is_witness();
	v->received_lsn = v->is_standby ? iqf_ha_own_lsn() : 0;
	v->eligible = v->is_standby && iqf_auto_failover && iqf_priority > 0;
	v->priority = iqf_priority;
	v->acked_lsn = iqf_ha->acked_lsn;
	v->sync_set_known = iqf_ha->sync_set[0] != '\0';
	v->candidate_in_sync_set = candidate && v->sync_set_known && in_list(iqf_ha->sync_set, candidate);
	v->paused = iqf_ha->durable.paused;
}

void
iqf_ha_failover_config(IqfFailoverConfig *cfg)
{
	int64		fence = (int64) iqf_fence_timeout_ms * 1000;
	int64		floor_us = iqf_failover_default_failover_timeout(fence, fence / 4);

	cfg->fence_timeout_us = fence;
	/* never shorter than the safe minimum, whatever the setting says */
	cfg->failover_timeout_us = Max((int64) iqf_failover_timeout_ms * 1000, floor_us);
}

/*
 * Apply a LEASE request.  Returns the verdict; *term_out is this node's
 * term after it.  Takes the HA lock.
 */
IqfVerdict
iqf_ha_handle_lease(const IqfLeaseArgs *a, uint64 *term_out)
{
	IqfVoter	v;
	IqfVerdict	verdict;

	LWLockAcquire(iqf_ha->lock, LW_EXCLUSIVE);
	iqf_ha_voter(&v, NULL);
	verdict = iqf_failover_lease_verdict(&v, a->term, a->primary);
	if (verdict == IQF_GRANT)
	{
		IqfDurable	d = iqf_ha->durable;
		bool		changed = false;

		if (a->term > d.term || d.voted_for[0] == '\0')
		{
			d.term = a->term;
			strlcpy(d.voted_for, a->primary, sizeof(d.voted_for));
			changed = true;
		}
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
		if (changed)
		{
			iqf_node_name(d.owner, sizeof(d.owner));
			iqf_ha_save_durable(&d);
			iqf_ha->durable = d;
		}
		iqf_ha->last_grant_mono = iqf_mono_us();
		strlcpy(iqf_ha->lease_holder, a->primary, sizeof(iqf_ha->lease_holder));
		strlcpy(iqf_ha->known_primary, a->primary, sizeof(iqf_ha->known_primary));
		iqf_ha->acked_lsn = a->acked_lsn;
		strlcpy(iqf_ha->sync_set, a->sync_set ? a->sync_set : "", sizeof(iqf_ha->sync_set));
		iqf_ha->last_lease_at = GetCurrentTimestamp();
		if (iqf_ha->dead_term_plus1 == a->term + 1)
			iqf_ha->dead_term_plus1 = 0;	/* it is alive again in its term */
	}
	*term_out = iqf_ha->durable.term;
	LWLockRelease(iqf_ha->lock);
	wake_agent();
	return verdict;
}

/* Apply a VOTE request (or a pre-vote).  Takes the HA lock. */
/* Is this node in the synchronous set the primary last reported? */
bool
iqf_ha_self_in_sync_set(void)
{
	char		self[IQF_NODE_NAME_LEN];
	bool		in;

	iqf_node_name(self, sizeof(self));
	LWLockAcquire(iqf_ha->lock, LW_SHARED);
	in = iqf_ha->sync_set[0] != '\0' && in_list(iqf_ha->sync_set, self);
	LWLockRelease(iqf_ha->lock);
	return in;
}

bool
iqf_ha_sync_in_use(void)
{
	bool		in_use;

	LWLockAcquire(iqf_ha->lock, LW_SHARED);
	in_use = iqf_ha->sync_set[0] != '\0';
	LWLockRelease(iqf_ha->lock);
	return in_use;
}

IqfVerdict
iqf_ha_handle_vote(const IqfVoteRequest *req, uint64 *term_out, uint64 *lsn_out)
{
	IqfVoter	v;
	IqfVerdict	verdict;
	IqfFailoverConfig cfg;

	iqf_ha_failover_config(&cfg);
	LWLockAcquire(iqf_ha->lock, LW_EXCLUSIVE);
	iqf_ha_voter(&v, req->candidate);
	verdict = iqf_failover_vote_verdict(&v, req, &cfg);
	if (verdict == IQF_GRANT && !req->pre_vote)
	{
		IqfDurable	d = iqf_ha->durable;

		if (d.term != req->term || strcmp(d.voted_for, req->candidate) != 0)
		{
			d.term = req->term;
			strlcpy(d.voted_for, req->candidate, sizeof(d.voted_for));
			iqf_node_name(d.owner, sizeof(d.owner));
			iqf_ha_save_durable(&d);	/* before the answer leaves */
			iqf_ha->durable = d;
		}
		/* the vote is also the new primary's first lease grant */
		iqf_ha->last_grant_mono = iqf_mono_us();
		strlcpy(iqf_ha->lease_holder, req->candidate, sizeof(iqf_ha->lease_holder));
	}
	*term_out = iqf_ha->durable.term;
	*lsn_out = v.received_lsn;
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
	a.acked_lsn = PG_ARGISNULL(2) ? 0 : PG_GETARG_LSN(2);
	a.sync_set = PG_ARGISNULL(3) ? "" : text_to_cstring(PG_GETARG_TEXT_PP(3));
	a.paused = PG_ARGISNULL(4) ? false : PG_GETARG_BOOL(4);
	a.registry = PG_ARGISNULL(5) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(5));
	a.registry_version = PG_ARGISNULL(6) ? 0 : (uint64) PG_GETARG_INT64(6);

	verdict = iqf_ha_handle_lease(&a, &term);
	iqf_node_name(self, sizeof(self));
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
	uint64		lsn;
	IqfVerdict	verdict;
	TupleDesc	tupdesc;
	Datum		values[6];
	bool		nulls[6] = {false, false, false, false, false, false};
	char		self[IQF_NODE_NAME_LEN];

	iqf_ha_require();
	memset(&req, 0, sizeof(req));
	req.term = (uint64) PG_GETARG_INT64(0);
	strlcpy(req.candidate, text_to_cstring(PG_GETARG_TEXT_PP(1)), sizeof(req.candidate));
	req.candidate_lsn = PG_GETARG_LSN(2);
	req.candidate_priority = PG_GETARG_INT32(3);
	req.pre_vote = PG_GETARG_BOOL(4);

	verdict = iqf_ha_handle_vote(&req, &term, &lsn);
	iqf_node_name(self, sizeof(self));
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	tupdesc = BlessTupleDesc(tupdesc);
	values[0] = BoolGetDatum(verdict == IQF_GRANT);
	values[1] = Int64GetDatum((int64) term);
	values[2] = CStringGetTextDatum(self);
	values[3] = CStringGetTextDatum(iqf_failover_verdict_name(verdict));
	values[4] = LSNGetDatum(lsn);
	values[5] = BoolGetDatum(iqf_ha_self_in_sync_set());
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}

/* DEAD: the primary of `term` reports its postmaster dead. */
Datum
iqf_sql_dead(PG_FUNCTION_ARGS)
{
	uint64		term = (uint64) PG_GETARG_INT64(0);
	char	   *primary = text_to_cstring(PG_GETARG_TEXT_PP(1));
	bool		accepted = false;

	iqf_ha_require();
	LWLockAcquire(iqf_ha->lock, LW_EXCLUSIVE);
	if (term == iqf_ha->durable.term && strcmp(iqf_ha->lease_holder, primary) == 0)
	{
		iqf_ha->dead_term_plus1 = term + 1;
		accepted = true;
	}
	LWLockRelease(iqf_ha->lock);
	if (accepted)
	{
		iqf_state_add_event("primary_dead", "primary \"%s\" of term " UINT64_FORMAT " reported its postmaster dead",
							primary, term);
		wake_agent();
	}
	PG_RETURN_BOOL(accepted);
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

static void
require_registry_writer(void)
{
	if (RecoveryInProgress())
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("cluster membership can only be changed on the primary"),
				 errhint("Run this on the primary; it reaches the standbys and the witness with its next lease.")));
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
	require_registry_writer();

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
	iqf_node_name(d.owner, sizeof(d.owner));
	iqf_ha_save_durable(&d);
	iqf_ha->durable = d;
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
	require_registry_writer();
	LWLockAcquire(iqf_ha->lock, LW_EXCLUSIVE);
	d = iqf_ha->durable;
	for (i = 0; i < d.n_nodes; i++)
	{
		if (strcmp(d.nodes[i].name, name) == 0)
		{
			memmove(&d.nodes[i], &d.nodes[i + 1], sizeof(IqfRegistryNode) * (d.n_nodes - i - 1));
			d.n_nodes--;
			found = true;
			break;
		}
	}
	if (found)
	{
		d.registry_version++;
		iqf_ha_save_durable(&d);
		iqf_ha->durable = d;
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
	if (RecoveryInProgress() || iqf_ha_is_witness())
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("failover can only be paused or resumed on the primary"),
				 errhint("Run this on the primary; its leases carry the setting to every voter.")));
	LWLockAcquire(iqf_ha->lock, LW_EXCLUSIVE);
	d = iqf_ha->durable;
	d.paused = paused;
	iqf_ha_save_durable(&d);
	iqf_ha->durable = d;
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
