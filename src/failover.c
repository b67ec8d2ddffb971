/*-------------------------------------------------------------------------
 *
 * failover.c
 *	  Pure failover policy: who may grant a lease, who may get a vote, how
 *	  long a primary's lease lasts, which standby is the best candidate.
 *
 * Each rule names the failure it guards against and the rule number of
 * doc/protocol.md.  No I/O, no allocation, no PostgreSQL headers.
 *
 * Copyright (c) 2026, innoquim_failover developers
 *
 *-------------------------------------------------------------------------
 */
#include <stdlib.h>
#include <string.h>

#include "failover.h"

/* Rule: a decision needs a strict majority of all registered voters. */
int
iqf_failover_quorum(int n_voters)
{
	return n_voters / 2 + 1;
}

/*
 * Rule: with fewer than three voters a majority cannot survive the loss of
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

/*
 * LEASE from `primary` in `term`.  Guards against a deposed primary getting
 * its lease back (stale term) and against two primaries in one term.
 */
IqfVerdict
iqf_failover_lease_verdict(const IqfVoter *voter, uint64_t term, const char *primary)
{
	if (term < voter->term)
		return IQF_REFUSE_STALE_TERM;
	if (term == voter->term && voter->voted_for[0] != '\0' &&
		!same(voter->voted_for, primary))
		return IQF_REFUSE_VOTED_OTHER;
	return IQF_GRANT;
}

/*
 * A voter considers the primary lost when it holds its death certificate,
 * or when it has granted nothing for failover_timeout: by then, with clock
 * rates within the documented drift, the lease it last granted has expired
 * on the primary's own clock.
 */
bool
iqf_failover_primary_lost(const IqfVoter *voter, const IqfFailoverConfig *cfg)
{
	return voter->dead_certificate || voter->since_grant_us >= cfg->failover_timeout_us;
}

/* > 0 when a is the better candidate: more WAL, then priority, then name. */
int
iqf_failover_compare_candidates(uint64_t a_lsn, int a_priority, const char *a_name,
								uint64_t b_lsn, int b_priority, const char *b_name)
{
	int			c;

	if (a_lsn != b_lsn)
		return a_lsn > b_lsn ? 1 : -1;
	if (a_priority != b_priority)
		return a_priority > b_priority ? 1 : -1;
	c = strncmp(a_name, b_name, IQF_NODE_NAME_LEN);
	return c < 0 ? 1 : (c > 0 ? -1 : 0);
}

/*
 * VOTE for `req->candidate` in `req->term`.  The rules, in order:
 */
IqfVerdict
iqf_failover_vote_verdict(const IqfVoter *voter, const IqfVoteRequest *req,
						  const IqfFailoverConfig *cfg)
{
	/* R: maintenance pause suspends every election */
	if (voter->paused)
		return IQF_REFUSE_PAUSED;
	/* R: priority 0 never promotes */
	if (req->candidate_priority <= 0)
		return IQF_REFUSE_INELIGIBLE;
	/* R: terms only move forward (a deposed node cannot win an old term) */
	if (req->term < voter->term)
		return IQF_REFUSE_STALE_TERM;
	if (req->term == voter->term && voter->voted_for[0] != '\0')
	{
		/* R: one vote per term, kept across restarts (durable) */
		if (!same(voter->voted_for, req->candidate))
			return IQF_REFUSE_VOTED_OTHER;
		/* the same vote asked again (lost reply): answer it again */
		if (!req->pre_vote)
			return IQF_GRANT;
	}
	/* R: never vote while the primary's lease may still be valid */
	if (!iqf_failover_primary_lost(voter, cfg))
		return IQF_REFUSE_LEASE_FRESH;
	/* R: never elect a candidate that lacks WAL this voter holds */
	if (voter->is_standby && req->candidate_lsn < voter->received_lsn)
		return IQF_REFUSE_BEHIND;
	/* R: never elect a candidate that lacks an acknowledged commit */
	if (req->candidate_lsn < voter->acked_lsn)
		return IQF_REFUSE_BEHIND;
	/*
	 * R: under synchronous replication the election as a whole must include
	 * a synchronous standby's check (iqf_failover_election_won); a single
	 * voter does not refuse a candidate for not being synchronous itself.
	 */
	/* R: only the best candidate wins (the voter may be it) */
	if (voter->is_standby && voter->eligible && !same(voter->name, req->candidate) &&
		iqf_failover_compare_candidates(voter->received_lsn, voter->priority, voter->name,
										req->candidate_lsn, req->candidate_priority,
										req->candidate) > 0)
		return IQF_REFUSE_BETTER_SELF;
	return IQF_GRANT;
}

/*
 * R: an election is won with a quorum of votes; under synchronous
 * replication it must also hold every acknowledged commit, which is proven
 * when the candidate is a synchronous standby itself or when a synchronous
 * standby granted its vote (that voter refuses any candidate with less WAL
 * than it holds, and it holds every acknowledged commit).  WAL on one
 * timeline is a single stream, so more WAL means all of it.
 */
bool
iqf_failover_election_won(int votes, int quorum, bool sync_in_use,
						  bool candidate_is_sync, int sync_votes)
{
	if (votes < quorum)
		return false;
	if (!sync_in_use)
		return true;
	return candidate_is_sync || sync_votes > 0;
}

static int
cmp_desc(const void *a, const void *b)
{
	int64_t		x = *(const int64_t *) a;
	int64_t		y = *(const int64_t *) b;

	return x < y ? 1 : (x > y ? -1 : 0);
}

/*
 * The lease of a primary ends fence_timeout after the send time (on its own
 * clock) of the request that completed its most recent quorum of grants.
 * Returns 0 (no lease) with fewer than `quorum` grants.  At most 64 grants.
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
 * The smallest safe failover_timeout: the lease (fence_timeout) stretched
 * by a 10% clock-rate error, plus one lease interval for the request in
 * flight when the voter last granted.
 */
int64_t
iqf_failover_default_failover_timeout(int64_t fence_timeout_us, int64_t lease_interval_us)
{
	return fence_timeout_us + fence_timeout_us / 10 + lease_interval_us;
}

const char *
iqf_failover_verdict_name(IqfVerdict verdict)
{
	static const char *const names[IQF_NUM_VERDICTS] = {
		"granted", "stale_term", "voted_for_other", "lease_still_valid", "candidate_behind",
		"candidate_not_sync", "candidate_ineligible", "failover_paused", "voter_is_better_candidate"
	};

	if ((int) verdict < 0 || verdict >= IQF_NUM_VERDICTS)
		return "unknown";
	return names[verdict];
}
