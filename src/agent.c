/*-------------------------------------------------------------------------
 *
 * agent.c
 *	  The failover agent: a background worker on every node that keeps the
 *	  primary's write lease, elects and promotes a standby when the primary
 *	  is lost, re-points the other standbys, and reports a dead postmaster.
 *
 * It follows doc/protocol.md; every rule it applies lives in failover.c
 * (pure) or in the message handlers of ha_sql.c, which the agent calls
 * in-process for its own node and through libpq (peer.c) for the others.
 *
 * On a primary: every lease_interval (fence_timeout / 4) it sends LEASE to
 * every voter, counts the grants, and publishes the lease expiry that every
 * backend's write check reads (fence.c).  When the lease runs out the node
 * is fenced and sessions inside a write transaction are terminated.  A
 * refusal from a voter in a newer term means a newer primary exists: the
 * node stays fenced for good.
 *
 * On a standby: when, by its own voter rules, the primary is lost (a death
 * certificate, or no lease granted for failover_timeout), an eligible
 * standby runs a pre-vote and then a vote in the next term, and promotes
 * itself with a majority.  A standby that learns of a new primary from its
 * LEASE re-points primary_conninfo (ALTER SYSTEM through a connection to
 * itself) and follows it on the new timeline.
 *
 * When the postmaster dies, the agent (its child) outlives it for a moment:
 * on a primary it terminates the remaining sessions and sends DEAD to the
 * voters, which lets them elect a successor without waiting out the lease.
 *
 * The agent writes no WAL and opens no transaction; it never blocks on a
 * peer (non-blocking libpq, deadlines), and the monitor runs in another
 * process, so health keeps refreshing whatever the agent waits for.
 *
 * Copyright (c) 2026, innoquim_failover developers
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <signal.h>

#include "access/xlog.h"
#include "access/xlogrecovery.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "replication/syncrep.h"
#include "replication/walsender_private.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lwlock.h"
#include "storage/pmsignal.h"
#include "tcop/tcopprot.h"
#include "utils/backend_status.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/memutils.h"
#include "utils/pg_lsn.h"
#include "utils/timestamp.h"
#include "utils/wait_event.h"

#include "conninfo.h"
#include "fence.h"
#include "ha_sql.h"
#include "ha_state.h"
#include "innoquim_failover.h"
#include "peer.h"

PGDLLEXPORT void iqf_agent_main(Datum main_arg);

enum
{
	KIND_LEASE = 1,
	KIND_PREVOTE,
	KIND_VOTE,
	KIND_DEAD,
	KIND_FOLLOW
};

typedef struct AgentPeer
{
	IqfPeer		p;
	bool		in_use;
	int64		grant_sent_at;	/* latest granted LEASE, on our clock */
	int64		lease_sent_at;	/* latest LEASE sent */
	uint64		granted_term;
	bool		voted;			/* granted in the current campaign round */
	char		answer[32];		/* its last answer in this round: a refusal
								 * (verdict name), "error", or "" */
	bool		is_self;		/* this node: asked only for its real vote,
								 * which detaches it (R17) in a backend */
} AgentPeer;

static AgentPeer peers[IQF_MAX_NODES];
static IqfPeer self_conn;		/* to ourselves, for ALTER SYSTEM */
static IqfPeer probe;			/* to the primary we lost */
static char self_name[IQF_NODE_NAME_LEN];
static int64 self_grant_at = 0;
static uint64 registry_version_seen = (uint64) -1;
static MemoryContext tick_cxt;

/* campaign */
static int	round_kind = 0;		/* 0, KIND_PREVOTE or KIND_VOTE */
static uint64 round_term = 0;
static int64 round_deadline = 0;
static int64 round_started = 0;
static int64 next_campaign_at = 0;
static int	round_votes = 0;
static int	round_listed_votes = 0; /* granted as standby by standbys listed
									 * in synchronous_standby_names (R16) */
static int	round_listed_needed = 0;
static char round_sync_names[IQF_SYNC_SET_LEN];
static char last_round_failure[512];	/* the last election_failed detail,
										 * without its term: not repeated */
static bool promoting = false;
static bool was_fenced = true;
static bool lost_reported = false;

/*
 * How often a promotion is asked again until recovery ends.  PG 15's
 * startup process can sleep through a promote request while it waits to
 * retry WAL retrieval (up to wal_retrieve_retry_interval, 5 s by default);
 * asking again wakes it.
 */
#define PROMOTE_RESIGNAL_MS 25
static int64 next_promote_signal = 0;

static void become_superseded(uint64 newer_term, const char *by, const char *why);

static void
set_phase(const char *phase)
{
	LWLockAcquire(iqf_ha->lock, LW_EXCLUSIVE);
	if (strcmp(iqf_ha->phase, phase) != 0)
		strlcpy(iqf_ha->phase, phase, sizeof(iqf_ha->phase));
	LWLockRelease(iqf_ha->lock);
}

static int
lease_interval_ms(void)
{
	return Max(iqf_fence_timeout_ms / 4, 10);
}

/* Rebuild the peer list when the registry changes. */
static void
sync_peers(const IqfDurable *d, int64 now)
{
	int			i;

	if (d->registry_version == registry_version_seen)
		return;
	registry_version_seen = d->registry_version;
	for (i = 0; i < IQF_MAX_NODES; i++)
	{
		if (peers[i].in_use)
			iqf_peer_close(&peers[i].p, now, 0);
		peers[i].in_use = false;
	}
	for (i = 0; i < d->n_nodes; i++)
	{
		peers[i].is_self = strcmp(d->nodes[i].name, self_name) == 0;
		if (peers[i].is_self && strcmp(self_conn.conninfo, d->nodes[i].conninfo) != 0)
		{
			iqf_peer_close(&self_conn, now, 0);
			iqf_peer_init(&self_conn, self_name, d->nodes[i].conninfo);
		}
		iqf_peer_init(&peers[i].p, d->nodes[i].name, d->nodes[i].conninfo);
		peers[i].in_use = true;
		peers[i].grant_sent_at = 0;
	}
}

/* ---------------------------------------------------------------- primary */

/*
 * Entries of a comma-separated list of node names equal to `name`
 * (case-insensitively, as synchronous_standby_names matches
 * application_name), or all its entries when name is NULL.
 */
static int
count_in_list(const char *list, const char *name)
{
	const char *p = list;
	size_t		len = name ? strlen(name) : 0;
	int			count = 0;

	while (*p)
	{
		const char *e = strchr(p, ',');
		size_t		n = e ? (size_t) (e - p) : strlen(p);

		if (name == NULL || (n == len && pg_strncasecmp(p, name, n) == 0))
			count++;
		if (!e)
			break;
		p = e + 1;
	}
	return count;
}

static bool
name_in_list(const char *list, const char *name)
{
	return count_in_list(list, name) > 0;
}

static void
append_name(StringInfo list, const char *name)
{
	if (name_in_list(list->data, name))
		return;
	if (list->len > 0)
		appendStringInfoChar(list, ',');
	appendStringInfoString(list, name);
}

/*
 * The synchronous-replication facts a LEASE carries (R13a, R16): the
 * acknowledged position, k, and the standbys synchronous_standby_names
 * lists ("*" stands for every registered data node but this one).
 */
static void
sync_info(const IqfDurable *d, uint64 *acked, int *k, StringInfo names)
{
	const char *m;
	int			i;

	*k = 0;
	*acked = 0;
	if (!SyncRepConfig || SyncRepConfig->num_sync <= 0)
		return;
	LWLockAcquire(SyncRepLock, LW_SHARED);
	*acked = WalSndCtl->lsn[SYNC_REP_WAIT_FLUSH];
	LWLockRelease(SyncRepLock);
	*k = SyncRepConfig->num_sync;
	m = SyncRepConfig->member_names;
	for (i = 0; i < SyncRepConfig->nmembers; i++)
	{
		if (strcmp(m, "*") == 0)
		{
			int			j;

			for (j = 0; j < d->n_nodes; j++)
				if (strcmp(d->nodes[j].kind, "data") == 0 &&
					strcmp(d->nodes[j].name, self_name) != 0)
					append_name(names, d->nodes[j].name);
		}
		else
			append_name(names, m);
		m += strlen(m) + 1;
	}
}

static void
send_leases(const IqfDurable *d, int64 now)
{
	IqfLeaseArgs a;
	StringInfoData reg;
	StringInfoData sync_names;
	char		term_s[32],
				inc_s[32],
				acked_s[32],
				k_s[16],
				ver_s[32];
	const char *values[9];
	uint64		term_after;
	int64		interval_us = (int64) lease_interval_ms() * 1000;
	bool		due;
	int			i;

	/*
	 * Lease only in a term we lead (roles, section 2 of doc/protocol.md): we
	 * voted for ourselves in it, or it is term 0 and nobody voted yet (R0).
	 * Otherwise a newer term exists, or we stepped down: superseded (R7).
	 */
	if (pg_atomic_read_u32(&iqf_ha->superseded))
		return;
	if (strcmp(d->voted_for, self_name) != 0 && !(d->term == 0 && d->voted_for[0] == '\0'))
	{
		become_superseded(d->term, d->voted_for[0] ? d->voted_for : "(nobody)",
						  "this node does not lead its term");
		return;
	}

	/*
	 * The agent ticks several times per lease interval: build the request
	 * (registry text, synchronous-replication facts) only when our own grant
	 * or some connected peer's is due; otherwise just (re)connect peers.
	 */
	due = now - self_grant_at >= interval_us;
	for (i = 0; i < IQF_MAX_NODES; i++)
	{
		if (!peers[i].in_use || peers[i].is_self)
			continue;
		if (peers[i].p.state == IQF_PEER_DOWN)
			iqf_peer_connect(&peers[i].p, now, lease_interval_ms());
		else if (peers[i].p.state == IQF_PEER_IDLE && now - peers[i].lease_sent_at >= interval_us)
			due = true;
	}
	if (!due)
		return;

	initStringInfo(&reg);
	initStringInfo(&sync_names);
	iqf_ha_registry_serialize(d, &reg);
	memset(&a, 0, sizeof(a));
	a.term = d->term;
	strlcpy(a.primary, self_name, sizeof(a.primary));
	a.incarnation = d->incarnation;
	sync_info(d, &a.acked_lsn, &a.sync_k, &sync_names);
	a.sync_names = sync_names.data;
	a.paused = d->paused;
	a.registry = reg.data;
	a.registry_version = d->registry_version;

	/* our own grant, in-process */
	if (now - self_grant_at >= interval_us &&
		iqf_ha_handle_lease(&a, &term_after) == IQF_GRANT)
		self_grant_at = now;

	snprintf(term_s, sizeof(term_s), UINT64_FORMAT, a.term);
	snprintf(inc_s, sizeof(inc_s), UINT64_FORMAT, a.incarnation);
	snprintf(acked_s, sizeof(acked_s), "%X/%X", LSN_FORMAT_ARGS(a.acked_lsn));
	snprintf(k_s, sizeof(k_s), "%d", a.sync_k);
	snprintf(ver_s, sizeof(ver_s), UINT64_FORMAT, a.registry_version);
	values[0] = term_s;
	values[1] = self_name;
	values[2] = inc_s;
	values[3] = acked_s;
	values[4] = a.sync_names;
	values[5] = k_s;
	values[6] = a.paused ? "true" : "false";
	values[7] = reg.data;
	values[8] = ver_s;
	for (i = 0; i < IQF_MAX_NODES; i++)
	{
		if (!peers[i].in_use || peers[i].is_self)
			continue;
		/* each peer on its own cadence: a new connection is asked at once */
		if (peers[i].p.state == IQF_PEER_IDLE && now - peers[i].lease_sent_at >= interval_us &&
			iqf_peer_send(&peers[i].p, KIND_LEASE,
						  "SELECT granted, term, node FROM innoquim_failover.lease($1::bigint, $2, $3::bigint, $4::pg_lsn, $5, $6::integer, $7::boolean, $8, $9::bigint)",
						  9, values, now, lease_interval_ms()))
			peers[i].lease_sent_at = now;
	}
}

/*
 * R7: fenced for good.  The node accepts no write, sends no LEASE and
 * serves no WAL (walsenders terminated, replication connections refused
 * by fence.c), so its standbys notice they lost it (R14, A3).
 */
static void
become_superseded(uint64 newer_term, const char *by, const char *why)
{
	if (pg_atomic_read_u32(&iqf_ha->superseded))
		return;
	LWLockAcquire(iqf_ha->lock, LW_EXCLUSIVE);
	iqf_ha->superseded_by_term = newer_term;
	LWLockRelease(iqf_ha->lock);
	pg_atomic_write_u32(&iqf_ha->superseded, 1);
	(void) iqf_fence_terminate_writers();
	(void) iqf_fence_stop_walsenders();
	set_phase("superseded");
	iqf_state_add_event("fenced", "%s (term " UINT64_FORMAT ", %s); fenced for good, serving no WAL",
						why, newer_term, by);
}

/*
 * R7, R10: a newer term learnt from a refusal is adopted durably, with no
 * vote: a superseded primary stays superseded after a restart, and a
 * candidate campaigns next in the term above it.
 */
static void
adopt_term(uint64 term)
{
	IqfDurable	d;

	LWLockAcquire(iqf_ha->lock, LW_EXCLUSIVE);
	d = iqf_ha->durable;
	if (term > d.term)
	{
		d.term = term;
		d.voted_for[0] = '\0';
		iqf_ha_set_durable(&d);
	}
	LWLockRelease(iqf_ha->lock);
}

/*
 * R8: a primary whose lease has not been valid for failover_timeout gives
 * up its term: term + 1 with no vote, durably, then superseded.
 */
static void
step_down(const IqfDurable *cur)
{
	/* if the term moved on meanwhile, this node is superseded all the same */
	adopt_term(cur->term + 1);
	become_superseded(cur->term + 1, self_name, "stepped down: no valid lease for failover_timeout");
}

/* Publish the lease expiry from the grants we hold; fence or unfence. */
static void
update_lease(const IqfDurable *d, int64 now)
{
	int64		times[IQF_MAX_NODES + 1];
	int			n = 0;
	int			i;
	int			quorum = iqf_failover_quorum(iqf_ha_voter_count(d));
	int64		expiry;
	bool		fenced;

	if (self_grant_at && iqf_ha_find_node(d, self_name) != NULL)
		times[n++] = self_grant_at;
	for (i = 0; i < IQF_MAX_NODES; i++)
		if (peers[i].in_use && peers[i].grant_sent_at && peers[i].granted_term == d->term)
			times[n++] = peers[i].grant_sent_at;
	expiry = iqf_failover_lease_expiry(times, n, quorum, (int64) iqf_fence_timeout_ms * 1000);
	/* a lease only ever moves forward within a term */
	if (expiry > (int64) pg_atomic_read_u64(&iqf_ha->lease_expiry_mono))
		pg_atomic_write_u64(&iqf_ha->lease_expiry_mono, (uint64) expiry);
	LWLockAcquire(iqf_ha->lock, LW_EXCLUSIVE);
	iqf_ha->lease_grants = n;
	LWLockRelease(iqf_ha->lock);

	fenced = !iqf_ha_writes_allowed();
	if (!fenced)
		iqf_ha->lapsed_since = 0;
	else if (iqf_ha->lapsed_since == 0)
		iqf_ha->lapsed_since = now;
	{
		IqfFailoverConfig cfg;
		bool		granted_recently = false;

		iqf_ha_failover_config(&cfg);
		for (i = 0; i < IQF_MAX_NODES; i++)
			if (peers[i].in_use && !peers[i].is_self && peers[i].granted_term == d->term &&
				peers[i].grant_sent_at > now - cfg.failover_timeout_us)
				granted_recently = true;
		if (!pg_atomic_read_u32(&iqf_ha->superseded) &&
			iqf_failover_step_down(iqf_ha->lapsed_since, now, d->paused, granted_recently, &cfg))
		{
			step_down(d);
			return;
		}
	}
	if (fenced && !was_fenced)
	{
		int			killed = iqf_fence_terminate_writers();
		int			fresh = 0;

		for (i = 0; i < n; i++)
			if (times[i] + (int64) iqf_fence_timeout_ms * 1000 > now)
				fresh++;
		set_phase("fenced");
		iqf_state_add_event("fenced", "write lease lost (%d fresh grants, %d needed); %d write sessions terminated",
							fresh, quorum, killed);
	}
	else if (!fenced && was_fenced)
	{
		set_phase("primary");
		iqf_state_add_event("lease_acquired", "write lease held with %d grants of %d needed, term " UINT64_FORMAT,
							n, quorum, d->term);
	}
	was_fenced = fenced;
}

/* ---------------------------------------------------------------- standby */

static void
send_votes(int kind, uint64 term, int64 now)
{
	char		term_s[32],
				inc_s[32],
				tli_s[16],
				lsn_s[32],
				prio_s[16];
	const char *values[7];
	IqfPosition pos;
	int			i;

	iqf_ha_own_position(&pos);
	snprintf(term_s, sizeof(term_s), UINT64_FORMAT, term);
	snprintf(inc_s, sizeof(inc_s), UINT64_FORMAT, iqf_ha->durable.incarnation);
	snprintf(tli_s, sizeof(tli_s), "%u", pos.tli);
	snprintf(lsn_s, sizeof(lsn_s), "%X/%X", LSN_FORMAT_ARGS(pos.lsn));
	snprintf(prio_s, sizeof(prio_s), "%d", iqf_priority);
	values[0] = term_s;
	values[1] = self_name;
	values[2] = inc_s;
	values[3] = tli_s;
	values[4] = lsn_s;
	values[5] = prio_s;
	values[6] = kind == KIND_PREVOTE ? "true" : "false";
	for (i = 0; i < IQF_MAX_NODES; i++)
	{
		if (!peers[i].in_use || peers[i].voted)
			continue;
		/* our own pre-vote is judged in-process; our real vote, which
		 * detaches us, in a backend like anybody's */
		if (peers[i].is_self && kind == KIND_PREVOTE)
			continue;
		if (peers[i].p.state == IQF_PEER_DOWN)
			iqf_peer_connect(&peers[i].p, now, 2 * lease_interval_ms());
		else if (peers[i].p.state == IQF_PEER_IDLE)
			iqf_peer_send(&peers[i].p, kind,
						  "SELECT granted, term, node, detail, as_standby FROM innoquim_failover.vote($1::bigint, $2, $3::bigint, $4::bigint, $5::pg_lsn, $6::integer, $7::boolean)",
						  7, values, now, 4 * lease_interval_ms());
	}
}

/* Ask again the peers that connected after the round started. */
static void
resend_votes(int64 now)
{
	int			i;

	for (i = 0; i < IQF_MAX_NODES; i++)
		if (peers[i].in_use && !peers[i].voted && peers[i].p.state == IQF_PEER_IDLE &&
			!(peers[i].is_self && round_kind == KIND_PREVOTE))
		{
			send_votes(round_kind, round_term, now);
			return;
		}
}

/* Count a granted vote (R16: standby votes of listed standbys apart). */
static void
count_vote(const char *voter, bool as_standby)
{
	round_votes++;
	if (as_standby && name_in_list(round_sync_names, voter))
		round_listed_votes++;
	LWLockAcquire(iqf_ha->lock, LW_EXCLUSIVE);
	iqf_ha->votes = round_votes;
	LWLockRelease(iqf_ha->lock);
}

static void
start_round(int kind, uint64 term, int64 now)
{
	int			i;
	int			m = 0;
	int			k;
	char		last_primary[IQF_NODE_NAME_LEN];

	round_kind = kind;
	round_term = term;
	round_started = now;
	round_deadline = now + (int64) 4 * lease_interval_ms() * 1000;
	round_votes = 0;
	round_listed_votes = 0;
	for (i = 0; i < IQF_MAX_NODES; i++)
	{
		peers[i].voted = false;
		peers[i].answer[0] = '\0';
	}

	/*
	 * R16: under synchronous replication, m - k + 1 votes given as standby by
	 * listed standbys, m counting the listed names but the last primary's.
	 */
	LWLockAcquire(iqf_ha->lock, LW_SHARED);
	strlcpy(round_sync_names, iqf_ha->sync_names, sizeof(round_sync_names));
	strlcpy(last_primary, iqf_ha->sync_primary, sizeof(last_primary));
	k = iqf_ha->sync_k;
	LWLockRelease(iqf_ha->lock);
	if (k > 0)
		m = count_in_list(round_sync_names, NULL) - count_in_list(round_sync_names, last_primary);
	round_listed_needed = iqf_failover_sync_votes_needed(k, m);

	send_votes(kind, term, now);

	/* our own pre-vote, in-process (a real one goes through a backend) */
	if (kind == KIND_PREVOTE)
	{
		IqfVoteRequest req;
		uint64		t;
		IqfPosition pos;
		bool		as_standby;

		memset(&req, 0, sizeof(req));
		req.term = term;
		strlcpy(req.candidate, self_name, sizeof(req.candidate));
		req.incarnation = iqf_ha->durable.incarnation;
		iqf_ha_own_position(&req.pos);
		req.candidate_priority = iqf_priority;
		req.pre_vote = true;
		if (iqf_ha_handle_vote(&req, &t, &pos, &as_standby) == IQF_GRANT)
			count_vote(self_name, as_standby);
	}
	set_phase(kind == KIND_PREVOTE ? "pre_vote" : "voting");
	LWLockAcquire(iqf_ha->lock, LW_EXCLUSIVE);
	iqf_ha->votes = round_votes;
	iqf_ha->campaign_term = term;
	LWLockRelease(iqf_ha->lock);
}

static void
promote(const IqfDurable *d, int64 now)
{
	int			i;

	/* the votes are our first lease: granted at the time each was asked */
	self_grant_at = round_started;
	for (i = 0; i < IQF_MAX_NODES; i++)
		if (peers[i].in_use && peers[i].voted && !peers[i].is_self)
		{
			peers[i].grant_sent_at = round_started;
			peers[i].granted_term = round_term;
		}
	pg_atomic_write_u32(&iqf_ha->superseded, 0);
	pg_atomic_write_u32(&iqf_ha->enforce, 1);
	pg_atomic_write_u32(&iqf_ha->first_write_pending, 1);
	LWLockAcquire(iqf_ha->lock, LW_EXCLUSIVE);
	iqf_ha->t_decided = GetCurrentTimestamp();
	strlcpy(iqf_ha->known_primary, self_name, sizeof(iqf_ha->known_primary));
	iqf_ha->failovers++;
	LWLockRelease(iqf_ha->lock);
	update_lease(d, now);
	iqf_state_add_event("promoting", "won term " UINT64_FORMAT " with %d of %d votes (%d of %d standby votes needed); promoting",
						round_term, round_votes, iqf_failover_quorum(iqf_ha_voter_count(d)),
						round_listed_votes, round_listed_needed);
	set_phase("promoting");
	promoting = true;
	round_kind = 0;
	(void) DirectFunctionCall2(pg_promote, BoolGetDatum(false), Int32GetDatum(60));
	next_promote_signal = now + PROMOTE_RESIGNAL_MS * 1000;
}

/*
 * An election round ended without a majority: say why, voter by voter (the
 * refusal each gave, or that it did not answer).  The same outcome in the
 * next rounds of a long outage is not repeated.
 */
static void
report_round_failure(int quorum)
{
	StringInfoData why;
	int			i;

	initStringInfo(&why);
	appendStringInfo(&why, "%d of %d votes (%d of %d standby votes needed);",
					 round_votes, quorum, round_listed_votes, round_listed_needed);
	for (i = 0; i < IQF_MAX_NODES; i++)
	{
		const AgentPeer *ap = &peers[i];

		if (!ap->in_use || (ap->is_self && round_kind == KIND_PREVOTE))
			continue;
		if (ap->voted)
			appendStringInfo(&why, " %s: granted", ap->p.name);
		else if (ap->answer[0])
			appendStringInfo(&why, " %s: %s", ap->p.name, ap->answer);
		else if (ap->p.state == IQF_PEER_DOWN)
			appendStringInfo(&why, " %s: unreachable (%s)", ap->p.name,
							 iqf_peer_probe_name(ap->p.probe));
		else
			appendStringInfo(&why, " %s: no answer", ap->p.name);
	}
	if (strcmp(why.data, last_round_failure) != 0)
	{
		strlcpy(last_round_failure, why.data, sizeof(last_round_failure));
		iqf_state_add_event("election_failed", "%s of term " UINT64_FORMAT " failed: %s",
							round_kind == KIND_PREVOTE ? "pre-vote" : "election",
							round_term, why.data);
	}
	pfree(why.data);
}

static void
campaign(const IqfDurable *d, int64 now)
{
	int			quorum = iqf_failover_quorum(iqf_ha_voter_count(d));

	if (round_kind == 0)
	{
		if (now < next_campaign_at)
			return;
		start_round(KIND_PREVOTE, d->term + 1, now);
		return;
	}
	if (iqf_failover_election_won(round_votes, quorum, round_listed_needed,
								  round_listed_votes))
	{
		if (round_kind == KIND_PREVOTE)
			start_round(KIND_VOTE, round_term, now);
		else if (d->term == round_term && strcmp(d->voted_for, self_name) == 0)
			promote(d, now);
		else
			round_kind = 0;		/* our own vote went elsewhere: not ours */
		return;
	}
	if (now >= round_deadline)
	{
		/* no majority: back off a little, with jitter against duels */
		report_round_failure(quorum);
		round_kind = 0;
		next_campaign_at = now + (int64) (lease_interval_ms() + random() % (2 * lease_interval_ms())) * 1000;
		set_phase("primary_lost");
		return;
	}
	resend_votes(now);
}

/* Probe the primary we lost, to tell dead, restarting and unreachable apart. */
static void
probe_primary(const IqfDurable *d, int64 now)
{
	const IqfRegistryNode *n;
	char		primary[IQF_NODE_NAME_LEN];

	LWLockAcquire(iqf_ha->lock, LW_SHARED);
	strlcpy(primary, iqf_ha->known_primary, sizeof(primary));
	LWLockRelease(iqf_ha->lock);
	n = primary[0] ? iqf_ha_find_node(d, primary) : NULL;
	if (n == NULL)
		return;
	if (strcmp(probe.conninfo, n->conninfo) != 0)
	{
		iqf_peer_close(&probe, now, 0);
		iqf_peer_init(&probe, n->name, n->conninfo);
	}
	if (probe.state == IQF_PEER_IDLE)
		iqf_peer_close(&probe, now, 500);	/* one probe per half second */
	if (probe.state == IQF_PEER_DOWN)
		iqf_peer_connect(&probe, now, 1000);
}

/*
 * R17: re-point primary_conninfo at the leader of our term, learnt from its
 * LEASE.  The rewrite runs in a backend (innoquim_failover.follow), which
 * re-checks under the HA lock that this is still the leader we know: a
 * vote in a newer term, which detaches this standby, may come in between.
 */
static void
follow(const IqfDurable *d, int64 now)
{
	char		primary[IQF_NODE_NAME_LEN];
	char		following[IQF_NODE_NAME_LEN];
	bool		detached;
	const IqfRegistryNode *n;
	char		host_a[256],
				host_b[256];
	int			port_a,
				port_b;
	StringInfoData desired;

	LWLockAcquire(iqf_ha->lock, LW_SHARED);
	strlcpy(primary, iqf_ha->known_primary, sizeof(primary));
	strlcpy(following, iqf_ha->following, sizeof(following));
	detached = iqf_ha->detached;
	LWLockRelease(iqf_ha->lock);
	if (primary[0] == '\0' || strcmp(primary, self_name) == 0 ||
		(!detached && strcmp(primary, following) == 0))
		return;
	n = iqf_ha_find_node(d, primary);
	if (n == NULL)
		return;

	/*
	 * Already following it?  Either primary_conninfo is what we would write,
	 * or both name the same explicit host and port (a DBA's own string).  A
	 * string that names no host (service=, PGHOST defaults) cannot be
	 * compared that way, so it is rewritten.  After a detach it is always
	 * rewritten: this process may not have read the emptied setting yet.
	 */
	initStringInfo(&desired);
	appendStringInfo(&desired, "%s application_name=%s", n->conninfo, self_name);
	iqf_conninfo_host_port(n->conninfo, host_a, sizeof(host_a), &port_a);
	iqf_conninfo_host_port(PrimaryConnInfo, host_b, sizeof(host_b), &port_b);
	if (!detached &&
		((PrimaryConnInfo && strcmp(PrimaryConnInfo, desired.data) == 0) ||
		 (host_a[0] != '\0' && strcmp(host_a, host_b) == 0 && port_a == port_b)))
	{
		LWLockAcquire(iqf_ha->lock, LW_EXCLUSIVE);
		if (strcmp(iqf_ha->known_primary, primary) == 0 && !iqf_ha->detached)
			strlcpy(iqf_ha->following, primary, sizeof(iqf_ha->following));
		LWLockRelease(iqf_ha->lock);
		return;
	}
	if (self_conn.conninfo[0] == '\0')
		return;
	if (self_conn.state == IQF_PEER_DOWN)
		iqf_peer_connect(&self_conn, now, 2000);
	else if (self_conn.state == IQF_PEER_IDLE)
	{
		char		term_s[32];
		const char *values[2];

		snprintf(term_s, sizeof(term_s), UINT64_FORMAT, d->term);
		values[0] = term_s;
		values[1] = primary;
		(void) iqf_peer_send(&self_conn, KIND_FOLLOW,
							 "SELECT innoquim_failover.follow($1::bigint, $2)",
							 2, values, now, 5000);
	}
}

/* ---------------------------------------------------------------- results */

static void
take_results(IqfPeer *p, AgentPeer *ap, const IqfDurable *d)
{
	PGresult   *res = p->result;
	int			kind = p->result_kind;
	bool		ok;
	bool		granted = false;
	uint64		term = 0;

	if (res == NULL)
		return;
	p->result = NULL;
	ok = PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1 && PQnfields(res) >= 3;
	if (ok)
	{
		granted = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
		term = strtou64(PQgetvalue(res, 0, 1), NULL, 10);
		/* a grant counts only from the node we meant to ask */
		if (strcmp(PQgetvalue(res, 0, 2), p->name) != 0)
		{
			if (!p->misnamed)
				ereport(LOG,
						(errmsg("innoquim_failover agent: node registered as \"%s\" answers as \"%s\"; its answers are ignored",
								p->name, PQgetvalue(res, 0, 2)),
						 errhint("Register every node under its innoquim_failover.node_name.")));
			p->misnamed = true;
			ok = false;
		}
	}
	if (kind == KIND_FOLLOW)
	{
		if (PQresultStatus(res) != PGRES_TUPLES_OK)
			ereport(LOG,
					(errmsg("innoquim_failover agent: could not re-point primary_conninfo: %s",
							PQresultErrorMessage(res))));
		PQclear(res);
		return;
	}
	if (ap == NULL || !ok)
	{
		if (ap != NULL && kind == round_kind && (kind == KIND_PREVOTE || kind == KIND_VOTE))
			strlcpy(ap->answer, "error", sizeof(ap->answer));
		PQclear(res);
		return;
	}
	if (kind == KIND_LEASE)
	{
		if (granted)
		{
			ap->grant_sent_at = p->result_sent_at;
			ap->granted_term = d->term;
		}
		else if (term > d->term ||
				 (term == d->term && strcmp(d->voted_for, self_name) != 0))
		{
			adopt_term(term);
			become_superseded(term, p->name, "a voter refused our lease in a newer term");
		}
	}
	else if ((kind == KIND_PREVOTE || kind == KIND_VOTE) && kind == round_kind && !ap->voted &&
			 PQnfields(res) >= 5)
	{
		if (granted)
		{
			ap->voted = true;
			count_vote(p->name, strcmp(PQgetvalue(res, 0, 4), "t") == 0);
		}
		else
			strlcpy(ap->answer, PQgetvalue(res, 0, 3), sizeof(ap->answer));
		if (!granted && term > d->term && strcmp(PQgetvalue(res, 0, 3), "primary_holds_term") != 0)
		{
			/*
			 * R10: a voter is in a newer term than ours: adopt it (no vote),
			 * so that the next campaign is for the term above it.  If it is
			 * above our campaign's, the round ends at the next tick.
			 */
			adopt_term(term);
		}
		if (!granted && strcmp(PQgetvalue(res, 0, 3), "primary_holds_term") == 0 && term >= d->term)
		{
			/*
			 * R10.3 (A5): a node we reach leads a term not older than ours:
			 * it is a fresh primary whose LEASE will re-point us, or a
			 * fenced one that regains its lease or steps down.  No
			 * campaign against it.
			 */
			round_kind = 0;
			next_campaign_at = iqf_mono_us() +
				(int64) (lease_interval_ms() + random() % (2 * lease_interval_ms())) * 1000;
			set_phase("following");
			iqf_state_add_event("campaign_abandoned", "node \"%s\" leads term " UINT64_FORMAT "; not campaigning against it",
								p->name, term);
		}
	}
	PQclear(res);
}

/* ---------------------------------------------------------- postmaster death */

/*
 * The postmaster is gone.  A primary terminates its sessions and tells the
 * voters (DEAD), so they need not wait out its lease; then the agent exits.
 */
static void
report_death(const IqfDurable *d)
{
	int64		now = iqf_mono_us();
	int64		until = now + 500 * 1000;
	char		term_s[32];
	char		inc_s[32];
	const char *values[3];
	int			i;

	pg_atomic_write_u64(&iqf_ha->lease_expiry_mono, 0);
	if (RecoveryInProgress() || iqf_ha_is_witness() ||
		pg_atomic_read_u32(&iqf_ha->superseded) ||
		!iqf_failover_enabled_for(iqf_ha_voter_count(d)))
		proc_exit(1);
	(void) iqf_fence_terminate_writers();
	snprintf(term_s, sizeof(term_s), UINT64_FORMAT, d->term);
	snprintf(inc_s, sizeof(inc_s), UINT64_FORMAT, d->incarnation);
	values[0] = term_s;
	values[1] = self_name;
	values[2] = inc_s;
	while ((now = iqf_mono_us()) < until)
	{
		bool		pending = false;

		for (i = 0; i < IQF_MAX_NODES; i++)
		{
			IqfPeer    *p = &peers[i].p;

			if (!peers[i].in_use || peers[i].is_self || peers[i].granted_term == (uint64) -1)
				continue;
			iqf_peer_progress(p, now);
			if (p->state == IQF_PEER_DOWN)
				iqf_peer_connect(p, now, 400);
			else if (p->state == IQF_PEER_IDLE && p->result_kind != KIND_DEAD)
				iqf_peer_send(p, KIND_DEAD,
							  "SELECT innoquim_failover.dead($1::bigint, $2, $3::bigint)", 3, values, now, 400);
			if (p->state == IQF_PEER_IDLE && p->result_kind == KIND_DEAD)
				peers[i].granted_term = (uint64) -1;	/* delivered */
			else
				pending = true;
		}
		if (!pending)
			break;
		pg_usleep(2000);
	}
	ereport(LOG,
			(errmsg("innoquim_failover agent: postmaster died; reported to the voters")));
	proc_exit(1);
}

/* ---------------------------------------------------------------- main loop */

static void
tick(int64 now)
{
	IqfDurable	d;
	IqfFailoverConfig cfg;
	bool		in_recovery = RecoveryInProgress();
	int			voters;
	bool		enabled;

	LWLockAcquire(iqf_ha->lock, LW_SHARED);
	d = iqf_ha->durable;
	LWLockRelease(iqf_ha->lock);
	sync_peers(&d, now);
	iqf_ha_failover_config(&cfg);
	voters = iqf_ha_voter_count(&d);
	/*
	 * The lease is the cluster's, not this node's preference: with three
	 * voters a primary keeps renewing and enforcing it even with
	 * auto_failover off here (that setting only stops this node from
	 * campaigning), or the others could elect a successor while it writes.
	 */
	enabled = iqf_failover_enabled_for(voters) && !iqf_ha_is_witness();

	LWLockAcquire(iqf_ha->lock, LW_EXCLUSIVE);
	iqf_ha->voters = voters;
	iqf_ha->quorum = iqf_failover_quorum(voters);
	LWLockRelease(iqf_ha->lock);

	if (iqf_ha_is_witness())
	{
		set_phase("witness");
		return;
	}
	if (!enabled)
	{
		pg_atomic_write_u32(&iqf_ha->enforce, 0);
		set_phase(voters < 3 && voters > 0 ? "disabled_too_few_voters" : "idle");
		return;
	}

	if (!in_recovery)
	{
		if (promoting)
		{
			promoting = false;
			LWLockAcquire(iqf_ha->lock, LW_EXCLUSIVE);
			iqf_ha->t_promoted = GetCurrentTimestamp();
			LWLockRelease(iqf_ha->lock);
			iqf_state_add_event("promoted", "promotion finished; primary of term " UINT64_FORMAT,
								d.term);
		}
		pg_atomic_write_u32(&iqf_ha->enforce, 1);
		if (pg_atomic_read_u32(&iqf_ha->superseded))
		{
			/* R7: no WAL for anybody, ever (a walsender may have slipped in) */
			(void) iqf_fence_stop_walsenders();
			set_phase("superseded");
			return;
		}
		send_leases(&d, now);
		if (pg_atomic_read_u32(&iqf_ha->superseded))
			return;
		update_lease(&d, now);
		if (!pg_atomic_read_u32(&iqf_ha->superseded))
			set_phase(iqf_ha_writes_allowed() ? "primary" : "fenced");
		return;
	}

	/*
	 * A promotion under way: keep asking until recovery ends.  The startup
	 * process can sleep through the first request while it waits to retry
	 * WAL retrieval (wal_retrieve_retry_interval).
	 */
	if (promoting)
	{
		if (now >= next_promote_signal)
		{
			(void) DirectFunctionCall2(pg_promote, BoolGetDatum(false), Int32GetDatum(60));
			next_promote_signal = now + PROMOTE_RESIGNAL_MS * 1000;
		}
		return;
	}

	/* standby */
	{
		IqfVoter	v;
		bool		lost;

		LWLockAcquire(iqf_ha->lock, LW_SHARED);
		iqf_ha_voter(&v, &cfg);
		LWLockRelease(iqf_ha->lock);

		/* an election under way goes on until won, lost or superseded */
		if (round_kind != 0)
		{
			if (d.term > round_term ||
				(d.term == round_term && strcmp(d.voted_for, self_name) != 0))
			{
				/* a newer term, or our vote went to another: retry later, in
				 * the term above, after a random 1-3 lease intervals (R10) */
				round_kind = 0;
				next_campaign_at = now +
					(int64) (lease_interval_ms() + random() % (2 * lease_interval_ms())) * 1000;
				set_phase("following");
			}
			else
			{
				campaign(&d, now);
				return;
			}
		}

		lost = iqf_failover_primary_lost(&v, &cfg);
		if (!lost)
		{
			int			i;

			lost_reported = false;
			set_phase("following");
			follow(&d, now);
			/* keep connections to the voters warm: an election starts at once */
			if (v.eligible)
				for (i = 0; i < IQF_MAX_NODES; i++)
					if (peers[i].in_use && peers[i].p.state == IQF_PEER_DOWN)
						iqf_peer_connect(&peers[i].p, now, 2 * lease_interval_ms());
			return;
		}
		if (!lost_reported)
		{
			lost_reported = true;
			LWLockAcquire(iqf_ha->lock, LW_EXCLUSIVE);
			iqf_ha->t_lost = GetCurrentTimestamp();
			iqf_ha->t_decided = iqf_ha->t_promoted = iqf_ha->t_first_write = 0;
			LWLockRelease(iqf_ha->lock);
			iqf_state_add_event("primary_lost", "%s; primary probe: %s%s%s",
								iqf_failover_cert_usable(&v, &cfg) ? "primary reported its postmaster dead" :
								"no lease granted for failover_timeout",
								iqf_peer_probe_name(probe.probe),
								probe.error[0] ? ": " : "", probe.error);
			set_phase("primary_lost");
		}
		follow(&d, now);
		probe_primary(&d, now);
		/* a primary that answers "starting up" is restarting: let it */
		if (probe.probe == IQF_PROBE_STARTING && !iqf_failover_cert_usable(&v, &cfg))
			return;
		/* R10: R14 (still streaming is not lost), R0, eligibility, pause */
		if (iqf_failover_may_campaign(v.eligible, v.paused, d.term, d.voted_for,
									  !v.streaming, false))
			campaign(&d, now);
	}
}

static void
agent_exit(int code, Datum arg)
{
	if (iqf_ha == NULL)
		return;
	LWLockAcquire(iqf_ha->lock, LW_EXCLUSIVE);
	if (iqf_ha->agent_pid == MyProcPid)
		iqf_ha->agent_pid = 0;
	LWLockRelease(iqf_ha->lock);
}

void
iqf_agent_main(Datum main_arg)
{
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnection(NULL, NULL, 0);
	pgstat_report_appname("innoquim_failover agent");
	iqf_ha_require();

	iqf_node_name(self_name, sizeof(self_name));
	LWLockAcquire(iqf_ha->lock, LW_EXCLUSIVE);
	iqf_ha->agent_pid = MyProcPid;
	LWLockRelease(iqf_ha->lock);
	on_shmem_exit(agent_exit, (Datum) 0);
	memset(peers, 0, sizeof(peers));
	iqf_peer_init(&self_conn, self_name, "");
	iqf_peer_init(&probe, "", "");
	srandom((unsigned int) (MyProcPid ^ iqf_mono_us()));
	tick_cxt = AllocSetContextCreate(TopMemoryContext, "innoquim_failover agent",
									 ALLOCSET_DEFAULT_SIZES);

	for (;;)
	{
		WaitEventSet *wes;
		WaitEvent	events[IQF_MAX_NODES + 4];
		IqfDurable	durable;
		int64		now = iqf_mono_us();
		MemoryContext old;
		int			i;
		int			nev;
		long		timeout = RecoveryInProgress() ? 20 : Max(lease_interval_ms() / 5, 10);

		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
			iqf_node_name(self_name, sizeof(self_name));
		}

		old = MemoryContextSwitchTo(tick_cxt);
		LWLockAcquire(iqf_ha->lock, LW_SHARED);
		durable = iqf_ha->durable;
		LWLockRelease(iqf_ha->lock);
		for (i = 0; i < IQF_MAX_NODES; i++)
			if (peers[i].in_use)
			{
				iqf_peer_progress(&peers[i].p, now);
				take_results(&peers[i].p, &peers[i], &durable);
			}
		iqf_peer_progress(&self_conn, now);
		take_results(&self_conn, NULL, &durable);
		iqf_peer_progress(&probe, now);
		tick(now);
		MemoryContextSwitchTo(old);
		MemoryContextReset(tick_cxt);

		/* wait on the latch, postmaster death and every busy socket */
		wes = CreateWaitEventSet(CurrentMemoryContext, IQF_MAX_NODES + 4);
		AddWaitEventToSet(wes, WL_LATCH_SET, PGINVALID_SOCKET, MyLatch, NULL);
		AddWaitEventToSet(wes, WL_POSTMASTER_DEATH, PGINVALID_SOCKET, NULL, NULL);
		for (i = 0; i < IQF_MAX_NODES + 2; i++)
		{
			IqfPeer    *p = i < IQF_MAX_NODES ? (peers[i].in_use ? &peers[i].p : NULL) :
			(i == IQF_MAX_NODES ? &self_conn : &probe);
			int			flags = p ? iqf_peer_wait_flags(p) : 0;

			if (flags)
				AddWaitEventToSet(wes, flags, PQsocket(p->conn), NULL, NULL);
		}
		nev = WaitEventSetWait(wes, timeout, events, lengthof(events), PG_WAIT_EXTENSION);
		FreeWaitEventSet(wes);
		for (i = 0; i < nev; i++)
			if (events[i].events & WL_POSTMASTER_DEATH)
				report_death(&durable);
		ResetLatch(MyLatch);
	}
}
