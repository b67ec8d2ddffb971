/*-------------------------------------------------------------------------
 *
 * failover.c
 *	  Pure failover policy: who may grant a lease, who may get a vote, when
 *	  a death certificate counts, how long a primary's lease lasts, when an
 *	  election is won, when a primary gives up its term, which standby is
 *	  the best candidate.
 *
 * Each rule names the rule of doc/protocol.md it implements (R0-R18) and
 * the failure it guards against.  No I/O, no allocation, no PostgreSQL
 * headers.
 *
 * Copyright (c) 2026, innoquim_failover developers
 *
 *-------------------------------------------------------------------------
 */
#include <stdlib.h>
#include <string.h>

#include "failover.h"

/* R1: a decision needs a strict majority of all registered voters. */
int
iqf_failover_quorum(int n_voters)
{
	return n_voters / 2 + 1;
}

/*
 * R1: with fewer than three voters a majority cannot survive the loss of
 * any one node, so automatic failover (and the lease) is off: two nodes
 * without a witness never promote on their own (split brain by partition).
 */
bool
iqf_failover_enabled_for(int n_voters)
{
	return n_voters >= 3;
}

static bool
same(const char *a, const char *b)
{
	return strncmp(a, b, IQF_NODE_NAME_LEN) == 0;
}

/* R13b: positions compare by timeline first, then LSN. */
int
iqf_failover_position_cmp(IqfPosition a, IqfPosition b)
{
	if (a.tli != b.tli)
		return a.tli > b.tli ? 1 : -1;
	if (a.lsn != b.lsn)
		return a.lsn > b.lsn ? 1 : -1;
	return 0;
}

/* Roles, section 2: the leader of a term is the primary that voted for itself in it. */
bool
iqf_failover_leads_term(const IqfVoter *voter)
{
	return voter->data_node && !voter->in_recovery && !voter->superseded &&
		same(voter->voted_for, voter->name);
}

/*
 * R3: LEASE(T, p, i).  Guards against a deposed primary getting its lease
 * back (stale term), two primaries in one term (one vote per term, and a
 * grant records the vote), and a lease of a previous incarnation counting
 * after the primary restarted (A1).  A data node out of recovery never
 * grants another node's lease; a newer term makes it adopt the term with
 * no vote (it is superseded, R7).  R17: a standby follows the leader of
 * any term not older than its own, even when it refuses its lease.
 */
IqfLeaseOutcome
iqf_failover_lease(const IqfVoter *voter, const IqfLeaseRequest *req)
{
	IqfLeaseOutcome o;

	memset(&o, 0, sizeof(o));
	o.new_term = voter->term;
	/* R2: a node that lost its durable state knows neither term nor vote */
	if (voter->state_unreadable)
	{
		o.verdict = IQF_REFUSE_STATE_UNREADABLE;
		return o;
	}
	if (voter->data_node && !voter->in_recovery && !same(req->primary, voter->name))
	{
		o.verdict = IQF_REFUSE_NOT_STANDBY;
		if (req->term > voter->term)
		{
			o.persist = true;
			o.new_term = req->term;
			o.vote_for_primary = false;
		}
		return o;
	}
	if (req->term < voter->term)
	{
		o.verdict = IQF_REFUSE_STALE_TERM;
		return o;
	}
	o.follow = voter->in_recovery;
	if (req->term == voter->term && voter->voted_for[0] != '\0' &&
		!same(voter->voted_for, req->primary))
	{
		o.verdict = IQF_REFUSE_VOTED_OTHER;
		return o;
	}
	if (voter->max_inc_known && same(voter->granted_to, req->primary) &&
		req->incarnation < voter->max_inc)
	{
		o.verdict = IQF_REFUSE_STALE_INCARNATION;
		o.follow = false;
		return o;
	}
	o.verdict = IQF_GRANT;
	if (req->term > voter->term || voter->voted_for[0] == '\0')
	{
		o.persist = true;
		o.new_term = req->term;
		o.vote_for_primary = true;
	}
	return o;
}

IqfVerdict
iqf_failover_lease_verdict(const IqfVoter *voter, const IqfLeaseRequest *req)
{
	return iqf_failover_lease(voter, req).verdict;
}

/*
 * R15: accept DEAD(T, p, i) only about the primary of our term, from an
 * incarnation not older than the newest we granted since our start.  A data
 * node out of recovery ignores it.  Guards against a certificate about an
 * incarnation that is gone (a delayed DEAD after the primary restarted and
 * regained its lease: A1).
 */
bool
iqf_failover_dead_accept(const IqfVoter *voter, uint64_t term, const char *primary,
						 uint64_t incarnation)
{
	if (voter->state_unreadable || (voter->data_node && !voter->in_recovery))
		return false;
	if (term != voter->term || voter->voted_for[0] == '\0' || !same(primary, voter->voted_for))
		return false;
	if (voter->max_inc_known && same(voter->granted_to, primary) &&
		incarnation < voter->max_inc)
		return false;
	return true;
}

/*
 * R15: a certificate lifts the lease wait only while it is about the
 * primary of our term, or we have only adopted a newer term since, with no
 * vote (so no grant: a candidate's refusal, R10); no newer incarnation of it
 * was granted since; and we have run for failover_timeout (grants made
 * before our own start, which we forgot, have expired by then).
 */
bool
iqf_failover_cert_usable(const IqfVoter *voter, const IqfFailoverConfig *cfg)
{
	if (!voter->cert)
		return false;
	if (voter->cert_term == voter->term)
	{
		if (!same(voter->cert_primary, voter->voted_for))
			return false;
	}
	else if (voter->cert_term > voter->term || voter->voted_for[0] != '\0')
		return false;
	if (voter->max_inc_known && same(voter->granted_to, voter->cert_primary) &&
		voter->cert_inc < voter->max_inc)
		return false;
	return voter->since_start_us >= cfg->failover_timeout_us;
}

/*
 * R12: the lease this voter last granted has surely expired: failover_timeout
 * passed on its own clock since its last grant to another node (a start
 * counts as a grant), or a usable death certificate.
 */
bool
iqf_failover_primary_lost(const IqfVoter *voter, const IqfFailoverConfig *cfg)
{
	return voter->since_grant_us >= cfg->failover_timeout_us ||
		iqf_failover_cert_usable(voter, cfg);
}

/* > 0 when a is the better candidate: position, then priority, then name. */
int
iqf_failover_compare_candidates(IqfPosition a_pos, int a_priority, const char *a_name,
								IqfPosition b_pos, int b_priority, const char *b_name)
{
	int			c = iqf_failover_position_cmp(a_pos, b_pos);

	if (c != 0)
		return c;
	if (a_priority != b_priority)
		return a_priority > b_priority ? 1 : -1;
	c = strncmp(a_name, b_name, IQF_NODE_NAME_LEN);
	return c < 0 ? 1 : (c > 0 ? -1 : 0);
}

/*
 * VOTE(T, c, i, pos, prio), rules R9, R11-R14 in order.  The caller detaches
 * a standby voter (R17) before a real vote and judges again with the
 * position measured after it.
 */
IqfVerdict
iqf_failover_vote_verdict(const IqfVoter *voter, const IqfVoteRequest *req,
						  const IqfFailoverConfig *cfg)
{
	/* R2: a node that lost its durable state could vote twice in a term */
	if (voter->state_unreadable)
		return IQF_REFUSE_STATE_UNREADABLE;
	/* R11.1: a primary never votes against itself */
	if (iqf_failover_leads_term(voter))
		return IQF_REFUSE_PRIMARY_HOLDS_TERM;
	/* R9: maintenance pause suspends every election */
	if (voter->paused)
		return IQF_REFUSE_PAUSED;
	/* R10.1: priority 0 never promotes */
	if (req->candidate_priority <= 0)
		return IQF_REFUSE_INELIGIBLE;
	/* R11.2: terms only move forward (a deposed node cannot win an old term) */
	if (req->term < voter->term)
		return IQF_REFUSE_STALE_TERM;
	if (req->term == voter->term && voter->voted_for[0] != '\0')
	{
		/* R11.3: one vote per term, kept across restarts (R2) */
		if (!same(voter->voted_for, req->candidate))
			return IQF_REFUSE_VOTED_OTHER;

		/*
		 * R11.4: the same vote asked again (its reply was lost): granted
		 * again.  It is a lease grant to the only possible leader of this
		 * term.  A pre-vote is judged afresh.
		 */
		if (!req->pre_vote)
			return IQF_GRANT;
	}
	/* R12: never vote while a lease we granted may still be valid */
	if (!iqf_failover_primary_lost(voter, cfg))
		return IQF_REFUSE_LEASE_FRESH;
	/* R14: a standby still receiving its primary's stream does not vote */
	if (voter->data_node && voter->in_recovery && voter->streaming)
		return IQF_REFUSE_NOT_LOST;
	/* R13a: never elect a candidate that lacks an acknowledged commit */
	if (req->pos.lsn < voter->acked_lsn)
		return IQF_REFUSE_BEHIND;
	/* R13b: never elect a candidate that lacks WAL this standby holds */
	if (voter->data_node && voter->in_recovery &&
		iqf_failover_position_cmp(req->pos, voter->pos) < 0)
		return IQF_REFUSE_BEHIND;
	/* R10.4, voter side: a better eligible standby does not vote for a worse one */
	if (voter->data_node && voter->in_recovery && voter->eligible &&
		!same(voter->name, req->candidate) &&
		iqf_failover_compare_candidates(voter->pos, voter->priority, voter->name,
										req->pos, req->candidate_priority,
										req->candidate) > 0)
		return IQF_REFUSE_BETTER_SELF;
	return IQF_GRANT;
}

/*
 * R16: under synchronous replication with k synchronous standbys among m
 * listed standbys (the last primary not counted), m - k + 1 standby votes of
 * listed standbys include one that holds every acknowledged commit
 * (pigeonhole); each refused a candidate behind it (R13b).  k = 0: off.
 */
int
iqf_failover_sync_votes_needed(int k, int m)
{
	if (k <= 0)
		return 0;
	if (m - k + 1 < 1)
		return 1;
	return m - k + 1;
}

/* R16: a quorum of votes, and the standby votes the sync rule needs. */
bool
iqf_failover_election_won(int votes, int quorum, int standby_votes_needed,
						  int listed_standby_votes)
{
	if (quorum <= 0 || votes < quorum)
		return false;
	return listed_standby_votes >= standby_votes_needed;
}

static int
cmp_desc(const void *a, const void *b)
{
	int64_t		x = *(const int64_t *) a;
	int64_t		y = *(const int64_t *) b;

	return x < y ? 1 : (x > y ? -1 : 0);
}

/*
 * R4: the lease of a primary ends fence_timeout after the send time (on its
 * own clock) of the request that completed its most recent quorum of
 * grants.  Returns 0 (no lease) with fewer than `quorum` grants.  At most
 * 64 grants.
 */
int64_t
iqf_failover_lease_expiry(const int64_t *grant_sent_at, int n_grants, int quorum,
						  int64_t fence_timeout_us)
{
	int64_t		sorted[64];
	int			i;

	if (quorum <= 0 || n_grants < quorum || n_grants > 64)
		return 0;
	for (i = 0; i < n_grants; i++)
		sorted[i] = grant_sent_at[i];
	qsort(sorted, n_grants, sizeof(int64_t), cmp_desc);
	return sorted[quorum - 1] + fence_timeout_us;
}

/*
 * R8: a primary whose lease has not been valid for failover_timeout on its
 * own clock gives up its term, so that the voters it still reaches, which
 * go on granting it leases and therefore never vote, can elect a successor
 * (asymmetric partitions: A3).  lapsed_since_us = 0: the lease is valid.
 * Not while paused: a pause only removes behaviours (R9).  Not when no
 * other voter granted it anything for failover_timeout either: then it
 * holds nobody back (every voter's R12 wait has run out), and staying the
 * leader of its term lets it take up its lease again when voters return,
 * for example after a restart of the whole cluster with this node first.
 */
bool
iqf_failover_step_down(int64_t lapsed_since_us, int64_t now_us, bool paused,
					   bool granted_recently, const IqfFailoverConfig *cfg)
{
	if (paused || lapsed_since_us <= 0 || !granted_recently)
		return false;
	return now_us - lapsed_since_us >= cfg->failover_timeout_us;
}

/*
 * R10.1-3 and R0: a standby campaigns only when eligible, not paused, it has
 * seen a primary (term > 0 or a vote), it lost its primary, and no node it
 * reaches leads a term not older than its own (A5).  R10.4 (best reachable
 * standby) is judged by the voters' answers; R10.5 by its own vote.
 */
bool
iqf_failover_may_campaign(bool eligible, bool paused, uint64_t term, const char *voted_for,
						  bool lost, bool leader_reachable)
{
	if (!eligible || paused || !lost || leader_reachable)
		return false;
	return term > 0 || (voted_for != NULL && voted_for[0] != '\0');
}

/*
 * R18: the smallest safe failover_timeout: the lease (fence_timeout)
 * stretched by a 10% clock-rate error, plus one lease interval.
 */
int64_t
iqf_failover_default_failover_timeout(int64_t fence_timeout_us, int64_t lease_interval_us)
{
	return fence_timeout_us + fence_timeout_us / 10 + lease_interval_us;
}

/* R18: a configured failover_timeout below the floor is raised to it. */
int64_t
iqf_failover_effective_failover_timeout(int64_t configured_us, int64_t fence_timeout_us,
										int64_t lease_interval_us)
{
	int64_t		floor_us = iqf_failover_default_failover_timeout(fence_timeout_us,
																 lease_interval_us);

	return configured_us > floor_us ? configured_us : floor_us;
}

const char *
iqf_failover_verdict_name(IqfVerdict verdict)
{
	static const char *const names[IQF_NUM_VERDICTS] = {
		"granted", "stale_term", "voted_for_other", "lease_still_valid", "candidate_behind",
		"candidate_ineligible", "failover_paused", "voter_is_better_candidate",
		"stale_incarnation", "primary_holds_term", "not_lost", "voter_not_standby",
		"not_detached", "state_unreadable"
	};

	if ((int) verdict < 0 || verdict >= IQF_NUM_VERDICTS)
		return "unknown";
	return names[verdict];
}
