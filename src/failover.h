/*-------------------------------------------------------------------------
 *
 * failover.h
 *	  Pure failover policy: lease grants, votes, death certificates, quorum,
 *	  the synchronous-replication vote count, candidate ranking, lease expiry
 *	  and step-down.  The rules are R0-R18 of doc/protocol.md.
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
	int64_t		fence_timeout_us;	/* F: a primary's lease lasts this long */
	int64_t		failover_timeout_us;	/* W: a voter waits this long since its
										 * last grant before voting (R12, R18) */
} IqfFailoverConfig;

/* Why a voter answered as it did.  Names are stable (views, logs, SQL). */
typedef enum IqfVerdict
{
	IQF_GRANT = 0,
	IQF_REFUSE_STALE_TERM,		/* request's term is older than ours (R3, R11) */
	IQF_REFUSE_VOTED_OTHER,		/* we voted for another in this term (R3, R11) */
	IQF_REFUSE_LEASE_FRESH,		/* a lease we granted may be valid (R12) */
	IQF_REFUSE_BEHIND,			/* candidate lacks WAL we hold or that was
								 * acknowledged (R13) */
	IQF_REFUSE_INELIGIBLE,		/* priority 0 */
	IQF_REFUSE_PAUSED,			/* failover paused cluster-wide (R9) */
	IQF_REFUSE_BETTER_SELF,		/* the voter is itself a better candidate */
	IQF_REFUSE_STALE_INCARNATION,	/* an older incarnation of the primary we
									 * granted (R3) */
	IQF_REFUSE_PRIMARY_HOLDS_TERM,	/* we lead our term: never vote against
									 * ourselves (R11.1) */
	IQF_REFUSE_NOT_LOST,		/* we still stream from our primary (R14) */
	IQF_REFUSE_NOT_STANDBY,		/* a data node out of recovery grants no
								 * other node's lease (R3) */
	IQF_REFUSE_NOT_DETACHED,	/* could not stop our WAL receiver (R17) */
	IQF_REFUSE_STATE_UNREADABLE,	/* our durable state could not be read (R2) */
	IQF_NUM_VERDICTS
} IqfVerdict;

/* A replication position: timeline of the last WAL held, then its end. */
typedef struct IqfPosition
{
	uint32_t	tli;
	uint64_t	lsn;
} IqfPosition;

/* What a voter knows when a LEASE, VOTE or DEAD arrives. */
typedef struct IqfVoter
{
	char		name[IQF_NODE_NAME_LEN];
	uint64_t	term;			/* durable */
	char		voted_for[IQF_NODE_NAME_LEN];	/* durable, in term */
	bool		data_node;		/* not a witness */
	bool		in_recovery;	/* a data node in recovery: a standby */
	bool		superseded;		/* a former primary fenced for good (R7, R8) */
	int64_t		since_grant_us; /* now - last grant to another node (R12); a
								 * start counts as a grant */
	int64_t		since_start_us; /* now - this postmaster's start */
	char		granted_to[IQF_NODE_NAME_LEN];	/* last LEASE/VOTE granted to */
	bool		max_inc_known;	/* granted granted_to since our start */
	uint64_t	max_inc;		/* its highest incarnation granted since */
	bool		cert;			/* an accepted death certificate (R15) */
	uint64_t	cert_term;
	char		cert_primary[IQF_NODE_NAME_LEN];
	uint64_t	cert_inc;
	bool		streaming;		/* our WAL receiver streams and heard from its
								 * primary within failover_timeout (R14) */
	IqfPosition pos;			/* standbys: WAL we hold, after detaching */
	bool		eligible;		/* we could be a candidate ourselves */
	int			priority;
	uint64_t	acked_lsn;		/* sync-acknowledged LSN the primary last
								 * reported; 0 when none (R13a) */
	bool		paused;
	bool		state_unreadable;	/* R2: refuse every LEASE and VOTE */
} IqfVoter;

typedef struct IqfLeaseRequest
{
	uint64_t	term;
	char		primary[IQF_NODE_NAME_LEN];
	uint64_t	incarnation;
} IqfLeaseRequest;

typedef struct IqfVoteRequest
{
	uint64_t	term;
	char		candidate[IQF_NODE_NAME_LEN];
	uint64_t	incarnation;	/* the candidate's */
	IqfPosition pos;			/* the candidate's */
	int			candidate_priority;
	bool		pre_vote;		/* ask without changing anything */
} IqfVoteRequest;

/* What a LEASE does to the voter's durable state (persist before reply). */
typedef struct IqfLeaseOutcome
{
	IqfVerdict	verdict;
	bool		persist;		/* term or vote changes */
	uint64_t	new_term;
	bool		vote_for_primary;	/* new voted_for = primary; else '' */
	bool		follow;			/* re-point primary_conninfo at it (R17) */
} IqfLeaseOutcome;

extern int	iqf_failover_quorum(int n_voters);
extern bool iqf_failover_enabled_for(int n_voters);

extern int	iqf_failover_position_cmp(IqfPosition a, IqfPosition b);
extern bool iqf_failover_leads_term(const IqfVoter *voter);

extern IqfLeaseOutcome iqf_failover_lease(const IqfVoter *voter, const IqfLeaseRequest *req);
extern IqfVerdict iqf_failover_lease_verdict(const IqfVoter *voter, const IqfLeaseRequest *req);
extern bool iqf_failover_dead_accept(const IqfVoter *voter, uint64_t term, const char *primary,
									 uint64_t incarnation);
extern bool iqf_failover_cert_usable(const IqfVoter *voter, const IqfFailoverConfig *cfg);
extern bool iqf_failover_primary_lost(const IqfVoter *voter, const IqfFailoverConfig *cfg);
extern IqfVerdict iqf_failover_vote_verdict(const IqfVoter *voter,
											const IqfVoteRequest *req,
											const IqfFailoverConfig *cfg);

extern int	iqf_failover_compare_candidates(IqfPosition a_pos, int a_priority, const char *a_name,
											IqfPosition b_pos, int b_priority, const char *b_name);

extern int	iqf_failover_sync_votes_needed(int k, int m);
extern bool iqf_failover_election_won(int votes, int quorum, int standby_votes_needed,
									  int listed_standby_votes);
extern int64_t iqf_failover_lease_expiry(const int64_t *grant_sent_at, int n_grants,
										 int quorum, int64_t fence_timeout_us);
extern bool iqf_failover_step_down(int64_t lapsed_since_us, int64_t now_us, bool paused,
								   bool granted_recently, const IqfFailoverConfig *cfg);
extern bool iqf_failover_may_campaign(bool eligible, bool paused, uint64_t term,
									  const char *voted_for, bool lost,
									  bool leader_reachable);
extern int64_t iqf_failover_default_failover_timeout(int64_t fence_timeout_us,
													 int64_t lease_interval_us);
extern int64_t iqf_failover_effective_failover_timeout(int64_t configured_us,
													   int64_t fence_timeout_us,
													   int64_t lease_interval_us);

extern const char *iqf_failover_verdict_name(IqfVerdict verdict);

#endif							/* IQF_FAILOVER_H */
