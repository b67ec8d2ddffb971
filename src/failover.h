/*-------------------------------------------------------------------------
 *
 * failover.h
 *	  Pure failover policy: lease grants, votes, quorum, candidate ranking,
 *	  lease expiry.  The rules are those of doc/protocol.md.
 *
 * Like decision.h: C standard library only, LSNs as uint64_t, times and
 * durations as int64_t microseconds, the current time always a parameter,
 * so test/unit/ checks every rule without a server.
 *
 * Copyright (c) 2026, innoquim_failover developers
 *
 *-------------------------------------------------------------------------
 */
#ifndef IQF_FAILOVER_H
#define IQF_FAILOVER_H

#include <stdbool.h>
#include <stdint.h>

#define IQF_NODE_NAME_LEN 64

typedef struct IqfFailoverConfig
{
	int64_t		fence_timeout_us;	/* a primary's lease lasts this long */
	int64_t		failover_timeout_us;	/* a voter waits this long since its
										 * last grant before voting */
} IqfFailoverConfig;

/* Why a voter answered as it did.  Names are stable (views, logs). */
typedef enum IqfVerdict
{
	IQF_GRANT = 0,
	IQF_REFUSE_STALE_TERM,		/* request's term is older than ours */
	IQF_REFUSE_VOTED_OTHER,		/* we already voted for another in this term */
	IQF_REFUSE_LEASE_FRESH,		/* the primary's lease may still be valid */
	IQF_REFUSE_BEHIND,			/* candidate lacks WAL we have or that was acked */
	IQF_REFUSE_NOT_SYNC,		/* unused since sync is judged per election;
								 * kept so that verdict names stay stable */
	IQF_REFUSE_INELIGIBLE,		/* priority 0, or a witness */
	IQF_REFUSE_PAUSED,			/* failover paused cluster-wide */
	IQF_REFUSE_BETTER_SELF,		/* the voter is itself a better candidate */
	IQF_NUM_VERDICTS
} IqfVerdict;

/* What a voter knows when a LEASE or VOTE request arrives. */
typedef struct IqfVoter
{
	char		name[IQF_NODE_NAME_LEN];
	uint64_t	term;			/* durable */
	char		voted_for[IQF_NODE_NAME_LEN];	/* durable, in term */
	int64_t		since_grant_us; /* now - last lease grant or vote, on our
								 * clock; since start when none */
	bool		dead_certificate;	/* the primary of `term` reported its
									 * postmaster dead */
	bool		is_standby;
	uint64_t	received_lsn;	/* standby voters: WAL we hold */
	bool		eligible;		/* we could be a candidate ourselves */
	int			priority;
	uint64_t	acked_lsn;		/* last sync-acknowledged LSN the primary
								 * reported; 0 when none */
	bool		sync_set_known; /* the primary reported a non-empty sync set */
	bool		candidate_in_sync_set;
	bool		paused;
} IqfVoter;

typedef struct IqfVoteRequest
{
	uint64_t	term;
	char		candidate[IQF_NODE_NAME_LEN];
	uint64_t	candidate_lsn;
	int			candidate_priority;
	bool		pre_vote;		/* ask without changing anything */
} IqfVoteRequest;

extern int	iqf_failover_quorum(int n_voters);
extern bool iqf_failover_enabled_for(int n_voters);

extern IqfVerdict iqf_failover_lease_verdict(const IqfVoter *voter, uint64_t term,
											 const char *primary);
extern IqfVerdict iqf_failover_vote_verdict(const IqfVoter *voter,
											const IqfVoteRequest *req,
											const IqfFailoverConfig *cfg);
extern bool iqf_failover_primary_lost(const IqfVoter *voter, const IqfFailoverConfig *cfg);

extern int	iqf_failover_compare_candidates(uint64_t a_lsn, int a_priority, const char *a_name,
											uint64_t b_lsn, int b_priority, const char *b_name);

extern bool iqf_failover_election_won(int votes, int quorum, bool sync_in_use,
									  bool candidate_is_sync, int sync_votes);
extern int64_t iqf_failover_lease_expiry(const int64_t *grant_sent_at, int n_grants,
										 int quorum, int64_t fence_timeout_us);
extern int64_t iqf_failover_default_failover_timeout(int64_t fence_timeout_us,
													 int64_t lease_interval_us);

extern const char *iqf_failover_verdict_name(IqfVerdict verdict);

#endif							/* IQF_FAILOVER_H */
