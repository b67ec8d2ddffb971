/*-------------------------------------------------------------------------
 *
 * failover_test.c
 *	  Table-driven unit tests of the pure failover rules (src/failover.c),
 *	  printed as TAP so that `prove` runs them.  No server, no PostgreSQL
 *	  headers.
 *
 * The test names are the unit test names of doc/protocol.md, section 11
 * (written there as `failover_test: <name>`; the TAP line carries the name
 * alone).  A name checked by several cases prints once per case, with the
 * doc name as the prefix and a suffix in parentheses, so that
 * `grep -F '<name>'` finds every case of a rule.  The names of section 11
 * that need a server are listed at the end of this file.
 *
 * Copyright (c) 2026, innoquim_failover developers
 *
 *-------------------------------------------------------------------------
 */
#include <stdio.h>
#include <string.h>

#include "failover.h"

#define US(x) ((int64_t) (x))
#define MS(x) ((int64_t) (x) * 1000)
#define S(x) ((int64_t) (x) * 1000000)

#define FENCE_TIMEOUT	S(2)		/* F, the default */
#define LEASE_INTERVAL	MS(500)		/* I = F / 4 */
#define FAILOVER_TIMEOUT S(3)		/* W, the default */

static int	tests_run = 0;
static int	tests_failed = 0;

static bool
ok(bool cond, const char *name)
{
	tests_run++;
	if (!cond)
		tests_failed++;
	printf("%sok %d - %s\n", cond ? "" : "not ", tests_run, name);
	return cond;
}

static void
set_name(char *dst, const char *src)
{
	snprintf(dst, IQF_NODE_NAME_LEN, "%s", src);
}

/* A death certificate (R15) about `primary` in `term`, incarnation `inc`. */
static void
set_cert(IqfVoter *v, uint64_t term, const char *primary, uint64_t inc)
{
	v->cert = true;
	v->cert_term = term;
	set_name(v->cert_primary, primary);
	v->cert_inc = inc;
}

static IqfFailoverConfig
config(void)
{
	IqfFailoverConfig c;

	c.fence_timeout_us = FENCE_TIMEOUT;
	c.failover_timeout_us = FAILOVER_TIMEOUT;
	return c;
}

static IqfPosition
pos(uint32_t tli, uint64_t lsn)
{
	IqfPosition p;

	p.tli = tli;
	p.lsn = lsn;
	return p;
}

/*
 * Standby s2 in term 5, which granted primary p (incarnation 3) long ago,
 * has run for a minute, and whose stream stopped: it has lost its primary.
 * Its position (1, 1000) is behind the usual candidate's (1, 2000).
 */
static IqfVoter
standby(void)
{
	IqfVoter	v;

	memset(&v, 0, sizeof(v));
	set_name(v.name, "s2");
	v.term = 5;
	set_name(v.voted_for, "p");
	v.data_node = true;
	v.in_recovery = true;
	v.superseded = false;
	v.since_grant_us = S(10);
	v.since_start_us = S(60);
	set_name(v.granted_to, "p");
	v.max_inc_known = true;
	v.max_inc = 3;
	v.cert = false;
	v.streaming = false;
	v.pos = pos(1, 1000);
	v.eligible = true;
	v.priority = 100;
	v.acked_lsn = 0;
	v.paused = false;
	return v;
}

/* The witness w: no data, never a candidate; otherwise like standby(). */
static IqfVoter
witness(void)
{
	IqfVoter	v = standby();

	set_name(v.name, "w");
	v.data_node = false;
	v.in_recovery = false;
	v.pos = pos(0, 0);
	v.eligible = false;
	v.priority = 0;
	return v;
}

/* Primary p, the leader of term 5 (voted for itself), at (1, 5000). */
static IqfVoter
primary(void)
{
	IqfVoter	v = standby();

	set_name(v.name, "p");
	set_name(v.voted_for, "p");
	v.in_recovery = false;
	v.granted_to[0] = '\0';
	v.max_inc_known = false;
	v.max_inc = 0;
	v.pos = pos(1, 5000);
	return v;
}

/* p after a LEASE of term 6 from s1: term adopted, empty vote (R3, R7). */
static IqfVoter
superseded(void)
{
	IqfVoter	v = primary();

	v.term = 6;
	v.voted_for[0] = '\0';
	v.superseded = true;
	return v;
}

/* VOTE(term, candidate) from a candidate at (1, 2000), priority 100. */
static IqfVoteRequest
vote_req(uint64_t term, const char *candidate)
{
	IqfVoteRequest r;

	memset(&r, 0, sizeof(r));
	r.term = term;
	set_name(r.candidate, candidate);
	r.incarnation = 1;
	r.pos = pos(1, 2000);
	r.candidate_priority = 100;
	r.pre_vote = false;
	return r;
}

static IqfLeaseRequest
lease_req(uint64_t term, const char *primary_name, uint64_t incarnation)
{
	IqfLeaseRequest r;

	memset(&r, 0, sizeof(r));
	r.term = term;
	set_name(r.primary, primary_name);
	r.incarnation = incarnation;
	return r;
}

static IqfLeaseOutcome
outcome(IqfVerdict verdict, bool persist, uint64_t new_term, bool vote_for_primary,
		bool follow)
{
	IqfLeaseOutcome o;

	memset(&o, 0, sizeof(o));
	o.verdict = verdict;
	o.persist = persist;
	o.new_term = new_term;
	o.vote_for_primary = vote_for_primary;
	o.follow = follow;
	return o;
}

/* ------------------------------------------------------------------------
 * VOTE: iqf_failover_vote_verdict (R2, R9-R15)
 * ------------------------------------------------------------------------
 */
typedef struct VoteCase
{
	const char *name;
	IqfVoter	v;
	IqfVoteRequest r;
	IqfVerdict	expect;
} VoteCase;

#define MAX_CASES 128

static VoteCase vote_cases[MAX_CASES];
static int	n_vote_cases = 0;

/* Append a case; the caller adjusts the returned row. */
static VoteCase *
vote_case(const char *name, IqfVoter v, IqfVoteRequest r, IqfVerdict expect)
{
	VoteCase   *c = &vote_cases[n_vote_cases++];

	c->name = name;
	c->v = v;
	c->r = r;
	c->expect = expect;
	return c;
}

static void
build_vote_cases(void)
{
	VoteCase   *c;

	/* R2 */
	c = vote_case("one-vote: after a restart, a vote for another candidate in the same term is refused",
				  standby(), vote_req(6, "s3"), IQF_REFUSE_VOTED_OTHER);
	/* durable state reloaded: term 6, voted for s1; volatile state lost */
	c->v.term = 6;
	set_name(c->v.voted_for, "s1");
	c->v.granted_to[0] = '\0';
	c->v.max_inc_known = false;
	c->v.since_start_us = S(60);
	c->v.since_grant_us = S(60);

	c = vote_case("one-vote: after a restart, a vote for another candidate in the same term is refused (pre-vote)",
				  standby(), vote_req(6, "s3"), IQF_REFUSE_VOTED_OTHER);
	c->v.term = 6;
	set_name(c->v.voted_for, "s1");
	c->v.granted_to[0] = '\0';
	c->v.max_inc_known = false;
	c->r.pre_vote = true;

	/* R9 */
	c = vote_case("pause: a paused cluster refuses every vote (lost standby)",
				  standby(), vote_req(6, "s1"), IQF_REFUSE_PAUSED);
	c->v.paused = true;
	c = vote_case("pause: a paused cluster refuses every vote (witness)",
				  witness(), vote_req(6, "s1"), IQF_REFUSE_PAUSED);
	c->v.paused = true;
	c = vote_case("pause: a paused cluster refuses every vote (pre-vote)",
				  standby(), vote_req(6, "s1"), IQF_REFUSE_PAUSED);
	c->v.paused = true;
	c->r.pre_vote = true;
	c = vote_case("pause: a paused cluster refuses every vote (the same vote asked again)",
				  standby(), vote_req(6, "s1"), IQF_REFUSE_PAUSED);
	c->v.paused = true;
	c->v.term = 6;
	set_name(c->v.voted_for, "s1");

	/* R10 */
	c = vote_case("campaign: defers to a reachable standby with a greater position (voter ahead refuses)",
				  standby(), vote_req(6, "s1"), IQF_REFUSE_BEHIND);
	c->v.pos = pos(1, 2001);
	c = vote_case("campaign: defers to a reachable standby with a greater position (voter behind grants)",
				  standby(), vote_req(6, "s1"), IQF_GRANT);
	c->v.pos = pos(1, 1999);
	c->v.priority = 1000;
	set_name(c->v.name, "a");
	c = vote_case("campaign: ties broken by priority, then name (same position, voter's priority higher: refused)",
				  standby(), vote_req(6, "s1"), IQF_REFUSE_BETTER_SELF);
	c->v.pos = pos(1, 2000);
	c->v.priority = 150;
	c = vote_case("campaign: ties broken by priority, then name (same position, voter's priority lower: granted)",
				  standby(), vote_req(6, "s1"), IQF_GRANT);
	c->v.pos = pos(1, 2000);
	c->v.priority = 50;
	set_name(c->v.name, "a");
	c = vote_case("campaign: ties broken by priority, then name (same position and priority, voter's name first: refused)",
				  standby(), vote_req(6, "s1"), IQF_REFUSE_BETTER_SELF);
	c->v.pos = pos(1, 2000);
	set_name(c->v.name, "s0");
	c = vote_case("campaign: ties broken by priority, then name (same position and priority, candidate's name first: granted)",
				  standby(), vote_req(6, "s1"), IQF_GRANT);
	c->v.pos = pos(1, 2000);
	c = vote_case("campaign: ties broken by priority, then name (an ineligible voter does not compete)",
				  standby(), vote_req(6, "s1"), IQF_GRANT);
	c->v.pos = pos(1, 2000);
	c->v.priority = 150;
	c->v.eligible = false;
	c = vote_case("campaign: an ineligible standby never campaigns (priority 0 candidate refused)",
				  standby(), vote_req(6, "s1"), IQF_REFUSE_INELIGIBLE);
	c->r.candidate_priority = 0;
	c = vote_case("campaign: an ineligible standby never campaigns (witness refuses priority 0)",
				  witness(), vote_req(6, "s1"), IQF_REFUSE_INELIGIBLE);
	c->r.candidate_priority = 0;

	/*
	 * R10.5: the candidate judges its own vote, before it persists term + 1
	 * and voted_for = self, like any voter: its own last grant to another
	 * node must have expired.
	 */
	c = vote_case("campaign: the candidate waits out its own last grant before its self-vote (granted 1 ms ago: refused)",
				  standby(), vote_req(6, "s1"), IQF_REFUSE_LEASE_FRESH);
	set_name(c->v.name, "s1");
	c->v.pos = pos(1, 2000);
	c->v.since_grant_us = MS(1);
	c = vote_case("campaign: the candidate waits out its own last grant before its self-vote (pre-vote after voting for self: refused)",
				  standby(), vote_req(6, "s1"), IQF_REFUSE_LEASE_FRESH);
	set_name(c->v.name, "s1");
	c->v.term = 6;
	set_name(c->v.voted_for, "s1");
	c->v.pos = pos(1, 2000);
	c->v.since_grant_us = MS(1);
	c->r.pre_vote = true;
	c = vote_case("campaign: the candidate waits out its own last grant before its self-vote (failover_timeout later: granted)",
				  standby(), vote_req(6, "s1"), IQF_GRANT);
	set_name(c->v.name, "s1");
	c->v.pos = pos(1, 2000);
	c->v.since_grant_us = FAILOVER_TIMEOUT;

	/* R11 */
	c = vote_case("vote: a request for an older term is refused",
				  standby(), vote_req(4, "s1"), IQF_REFUSE_STALE_TERM);
	c = vote_case("vote: a request for an older term is refused (witness)",
				  witness(), vote_req(4, "s1"), IQF_REFUSE_STALE_TERM);
	c = vote_case("vote: same term, voted for another: refused",
				  standby(), vote_req(5, "s1"), IQF_REFUSE_VOTED_OTHER);
	c = vote_case("vote: same term, voted for another: refused (witness)",
				  witness(), vote_req(5, "s1"), IQF_REFUSE_VOTED_OTHER);

	/* a node that adopted term 6 from a refusal, with an empty vote */
	c = vote_case("vote: same term, empty vote: judged by the other rules (lost primary: granted)",
				  standby(), vote_req(6, "s1"), IQF_GRANT);
	c->v.term = 6;
	c->v.voted_for[0] = '\0';
	c = vote_case("vote: same term, empty vote: judged by the other rules (lease granted 1 ms ago: refused)",
				  standby(), vote_req(6, "s1"), IQF_REFUSE_LEASE_FRESH);
	c->v.term = 6;
	c->v.voted_for[0] = '\0';
	c->v.since_grant_us = MS(1);
	c = vote_case("vote: same term, empty vote: judged by the other rules (still streaming: refused)",
				  standby(), vote_req(6, "s1"), IQF_REFUSE_NOT_LOST);
	c->v.term = 6;
	c->v.voted_for[0] = '\0';
	c->v.streaming = true;
	c = vote_case("vote: same term, empty vote: judged by the other rules (candidate behind: refused)",
				  standby(), vote_req(6, "s1"), IQF_REFUSE_BEHIND);
	c->v.term = 6;
	c->v.voted_for[0] = '\0';
	c->v.pos = pos(1, 3000);

	/*
	 * R11.4 as implemented: a repeated real VOTE from the candidate we voted
	 * for in this term is granted again at once (its reply was lost; our own
	 * grant to it just restarted the lease wait).  A pre-vote is judged
	 * afresh.
	 */
	c = vote_case("vote: the same vote asked again: granted again",
				  standby(), vote_req(6, "s1"), IQF_GRANT);
	c->v.term = 6;
	set_name(c->v.voted_for, "s1");
	set_name(c->v.granted_to, "s1");
	c->v.max_inc = 1;
	c->v.since_grant_us = 0;
	c = vote_case("vote: the same vote asked again: granted again (but a pre-vote is judged afresh: refused)",
				  standby(), vote_req(6, "s1"), IQF_REFUSE_LEASE_FRESH);
	c->v.term = 6;
	set_name(c->v.voted_for, "s1");
	set_name(c->v.granted_to, "s1");
	c->v.max_inc = 1;
	c->v.since_grant_us = 0;
	c->r.pre_vote = true;

	c = vote_case("vote: the leader of its term refuses every vote (newer term)",
				  primary(), vote_req(6, "s1"), IQF_REFUSE_PRIMARY_HOLDS_TERM);
	c = vote_case("vote: the leader of its term refuses every vote (much newer term)",
				  primary(), vote_req(100, "s1"), IQF_REFUSE_PRIMARY_HOLDS_TERM);
	c = vote_case("vote: the leader of its term refuses every vote (pre-vote)",
				  primary(), vote_req(6, "s1"), IQF_REFUSE_PRIMARY_HOLDS_TERM);
	c->r.pre_vote = true;
	c = vote_case("vote: the leader of its term refuses every vote (candidate ahead of it)",
				  primary(), vote_req(6, "s1"), IQF_REFUSE_PRIMARY_HOLDS_TERM);
	c->r.pos = pos(2, 9000);
	c = vote_case("vote: the leader of its term refuses every vote (even when paused)",
				  primary(), vote_req(6, "s1"), IQF_REFUSE_PRIMARY_HOLDS_TERM);
	c->v.paused = true;

	c = vote_case("vote: a superseded primary votes like a witness (its own WAL ahead: granted)",
				  superseded(), vote_req(6, "s1"), IQF_GRANT);
	c = vote_case("vote: a superseded primary votes like a witness (superseded flag with voted_for = self: granted)",
				  superseded(), vote_req(7, "s1"), IQF_GRANT);
	set_name(c->v.voted_for, "p");
	c = vote_case("vote: a superseded primary votes like a witness (better candidate than s1 itself: granted)",
				  superseded(), vote_req(6, "s1"), IQF_GRANT);
	c->v.pos = pos(1, 2000);
	c->v.priority = 1000;
	set_name(c->v.name, "a");
	c = vote_case("vote: a superseded primary votes like a witness (a streaming flag does not count: granted)",
				  superseded(), vote_req(6, "s1"), IQF_GRANT);
	c->v.streaming = true;
	c = vote_case("vote: a superseded primary votes like a witness (acknowledged position still checked)",
				  superseded(), vote_req(6, "s1"), IQF_REFUSE_BEHIND);
	c->v.acked_lsn = 2001;

	/* R12 */
	c = vote_case("lease-wait: granted a lease 1 ms ago: refused",
				  standby(), vote_req(6, "s1"), IQF_REFUSE_LEASE_FRESH);
	c->v.since_grant_us = MS(1);
	c = vote_case("lease-wait: granted a lease 1 ms ago: refused (witness)",
				  witness(), vote_req(6, "s1"), IQF_REFUSE_LEASE_FRESH);
	c->v.since_grant_us = MS(1);
	c = vote_case("lease-wait: one microsecond before failover_timeout: refused",
				  standby(), vote_req(6, "s1"), IQF_REFUSE_LEASE_FRESH);
	c->v.since_grant_us = FAILOVER_TIMEOUT - US(1);
	c = vote_case("lease-wait: exactly failover_timeout since the last grant: granted",
				  standby(), vote_req(6, "s1"), IQF_GRANT);
	c->v.since_grant_us = FAILOVER_TIMEOUT;

	/* after a start: grant_time = start_time, and nothing granted since */
	c = vote_case("lease-wait: a voter restart counts as a fresh grant (1 ms after start: refused)",
				  standby(), vote_req(6, "s1"), IQF_REFUSE_LEASE_FRESH);
	c->v.since_start_us = MS(1);
	c->v.since_grant_us = MS(1);
	c->v.granted_to[0] = '\0';
	c->v.max_inc_known = false;
	c = vote_case("lease-wait: a voter restart counts as a fresh grant (witness, 1 ms after start: refused)",
				  witness(), vote_req(6, "s1"), IQF_REFUSE_LEASE_FRESH);
	c->v.since_start_us = MS(1);
	c->v.since_grant_us = MS(1);
	c->v.granted_to[0] = '\0';
	c->v.max_inc_known = false;
	c = vote_case("lease-wait: a voter restart counts as a fresh grant (failover_timeout after start: granted)",
				  standby(), vote_req(6, "s1"), IQF_GRANT);
	c->v.since_start_us = FAILOVER_TIMEOUT;
	c->v.since_grant_us = FAILOVER_TIMEOUT;
	c->v.granted_to[0] = '\0';
	c->v.max_inc_known = false;

	/*
	 * R12: since_grant_us counts grants to other nodes only; the caller
	 * does not reset it on a self-grant.  A voter whose last grant to
	 * another node is old enough therefore grants even right after granting
	 * itself: the candidate's self-vote, and a former primary that kept
	 * self-granting its lease until it was superseded.
	 */
	c = vote_case("lease-wait: self-grants do not restart the wait (candidate's self-vote)",
				  standby(), vote_req(6, "s1"), IQF_GRANT);
	set_name(c->v.name, "s1");
	c->v.pos = pos(1, 2000);
	c->v.since_grant_us = S(10);
	c = vote_case("lease-wait: self-grants do not restart the wait (superseded primary)",
				  superseded(), vote_req(6, "s1"), IQF_GRANT);
	c->v.since_grant_us = FAILOVER_TIMEOUT;

	/* R13 */
	c = vote_case("behind: candidate has less WAL than this standby: refused",
				  standby(), vote_req(6, "s1"), IQF_REFUSE_BEHIND);
	c->r.pos = pos(1, 999);
	c = vote_case("behind: candidate has less WAL than this standby: refused (same WAL: granted)",
				  standby(), vote_req(6, "s1"), IQF_GRANT);
	c->r.pos = pos(1, 1000);
	c = vote_case("behind: a newer timeline beats a higher LSN on an older one (candidate on the newer timeline: granted)",
				  standby(), vote_req(6, "s1"), IQF_GRANT);
	c->v.pos = pos(1, 5000);
	c->r.pos = pos(2, 100);
	c = vote_case("behind: a newer timeline beats a higher LSN on an older one (voter on the newer timeline: refused)",
				  standby(), vote_req(6, "s1"), IQF_REFUSE_BEHIND);
	c->v.pos = pos(2, 100);
	c->r.pos = pos(1, 5000);
	c = vote_case("behind: a witness holds no WAL and does not compare",
				  witness(), vote_req(6, "s1"), IQF_GRANT);
	c->v.pos = pos(9, 999999);
	c->r.pos = pos(1, 1);
	c = vote_case("acked: candidate lacks an acknowledged position: refused",
				  standby(), vote_req(6, "s1"), IQF_REFUSE_BEHIND);
	c->v.acked_lsn = 2001;
	c = vote_case("acked: candidate lacks an acknowledged position: refused (witness)",
				  witness(), vote_req(6, "s1"), IQF_REFUSE_BEHIND);
	c->v.acked_lsn = 2001;
	c = vote_case("acked: candidate lacks an acknowledged position: refused (exactly the acknowledged LSN: granted)",
				  witness(), vote_req(6, "s1"), IQF_GRANT);
	c->v.acked_lsn = 2000;

	/* R14 */
	c = vote_case("lost: a standby voter still streaming refuses",
				  standby(), vote_req(6, "s1"), IQF_REFUSE_NOT_LOST);
	c->v.streaming = true;
	c = vote_case("lost: a standby voter still streaming refuses (pre-vote)",
				  standby(), vote_req(6, "s1"), IQF_REFUSE_NOT_LOST);
	c->v.streaming = true;
	c->r.pre_vote = true;
	c = vote_case("lost: a standby voter whose stream stopped may vote",
				  standby(), vote_req(6, "s1"), IQF_GRANT);
	c->v.streaming = false;
	c = vote_case("lost: a standby voter whose stream stopped may vote (R14 is for standbys: a witness's flag does not count)",
				  witness(), vote_req(6, "s1"), IQF_GRANT);
	c->v.streaming = true;

	/* R15: p (incarnation 3, the newest granted) died; cert accepted */
	c = vote_case("dead: a usable certificate lifts the lease wait",
				  standby(), vote_req(6, "s1"), IQF_GRANT);
	c->v.since_grant_us = MS(1);
	set_cert(&c->v, 5, "p", 3);
	c = vote_case("dead: a usable certificate lifts the lease wait (witness)",
				  witness(), vote_req(6, "s1"), IQF_GRANT);
	c->v.since_grant_us = MS(1);
	set_cert(&c->v, 5, "p", 3);
	c = vote_case("dead: a usable certificate lifts the lease wait (but not R14: still streaming)",
				  standby(), vote_req(6, "s1"), IQF_REFUSE_NOT_LOST);
	c->v.since_grant_us = MS(1);
	c->v.streaming = true;
	set_cert(&c->v, 5, "p", 3);
	c = vote_case("dead: a certificate for another term or another node is ignored (another term)",
				  standby(), vote_req(6, "s1"), IQF_REFUSE_LEASE_FRESH);
	c->v.since_grant_us = MS(1);
	set_cert(&c->v, 4, "p", 3);
	c = vote_case("dead: a certificate for another term or another node is ignored (another node)",
				  standby(), vote_req(6, "s1"), IQF_REFUSE_LEASE_FRESH);
	c->v.since_grant_us = MS(1);
	set_cert(&c->v, 5, "s1", 3);
	c = vote_case("dead: a certificate is void after granting a newer incarnation",
				  standby(), vote_req(6, "s1"), IQF_REFUSE_LEASE_FRESH);
	c->v.since_grant_us = MS(1);
	c->v.max_inc = 4;
	set_cert(&c->v, 5, "p", 3);
	c = vote_case("dead: a certificate is unusable within failover_timeout of the voter's start",
				  standby(), vote_req(6, "s1"), IQF_REFUSE_LEASE_FRESH);
	c->v.since_start_us = FAILOVER_TIMEOUT - US(1);
	c->v.since_grant_us = FAILOVER_TIMEOUT - US(1);
	c->v.granted_to[0] = '\0';
	c->v.max_inc_known = false;
	set_cert(&c->v, 5, "p", 3);
}

static void
run_vote_cases(void)
{
	IqfFailoverConfig cfg = config();
	int			i;

	build_vote_cases();
	for (i = 0; i < n_vote_cases; i++)
	{
		VoteCase   *c = &vote_cases[i];
		IqfVerdict	got = iqf_failover_vote_verdict(&c->v, &c->r, &cfg);

		if (!ok(got == c->expect, c->name))
			printf("# expected %s, got %s\n",
				   iqf_failover_verdict_name(c->expect), iqf_failover_verdict_name(got));
	}
}

/* ------------------------------------------------------------------------
 * LEASE: iqf_failover_lease (R0, R3, R7, R9, R17)
 * ------------------------------------------------------------------------
 */
typedef struct LeaseCase
{
	const char *name;
	IqfVoter	v;
	IqfLeaseRequest r;
	IqfLeaseOutcome expect;
} LeaseCase;

static LeaseCase lease_cases[MAX_CASES];
static int	n_lease_cases = 0;

static LeaseCase *
lease_case(const char *name, IqfVoter v, IqfLeaseRequest r, IqfLeaseOutcome expect)
{
	LeaseCase  *c = &lease_cases[n_lease_cases++];

	c->name = name;
	c->v = v;
	c->r = r;
	c->expect = expect;
	return c;
}

static void
build_lease_cases(void)
{
	LeaseCase  *c;

	/* R0: every state file at term 0, no vote, nothing granted */
	c = lease_case("bootstrap: term 0 with no vote grants the first primary's lease",
				   standby(), lease_req(0, "p", 1),
				   outcome(IQF_GRANT, true, 0, true, true));
	c->v.term = 0;
	c->v.voted_for[0] = '\0';
	c->v.granted_to[0] = '\0';
	c->v.max_inc_known = false;
	c = lease_case("bootstrap: term 0 with no vote grants the first primary's lease (witness)",
				   witness(), lease_req(0, "p", 1),
				   outcome(IQF_GRANT, true, 0, true, false));
	c->v.term = 0;
	c->v.voted_for[0] = '\0';
	c->v.granted_to[0] = '\0';
	c->v.max_inc_known = false;
	c = lease_case("bootstrap: term 0 with no vote grants the first primary's lease (its self-grant records voted_for = self)",
				   primary(), lease_req(0, "p", 1),
				   outcome(IQF_GRANT, true, 0, true, false));
	c->v.term = 0;
	c->v.voted_for[0] = '\0';

	/* R3: standby s2 in term 5, voted for p, granted p's incarnation 3 */
	c = lease_case("lease-grant: same term, voted for this primary: granted",
				   standby(), lease_req(5, "p", 3),
				   outcome(IQF_GRANT, false, 5, false, true));
	c = lease_case("lease-grant: same term, voted for this primary: granted (newer incarnation)",
				   standby(), lease_req(5, "p", 4),
				   outcome(IQF_GRANT, false, 5, false, true));
	c = lease_case("lease-grant: same term, voted for this primary: granted (witness)",
				   witness(), lease_req(5, "p", 3),
				   outcome(IQF_GRANT, false, 5, false, false));
	c = lease_case("lease-grant: same term, no vote yet: granted and the vote recorded",
				   standby(), lease_req(5, "s1", 1),
				   outcome(IQF_GRANT, true, 5, true, true));
	c->v.voted_for[0] = '\0';
	c = lease_case("lease-grant: newer term: granted, term adopted, vote recorded",
				   standby(), lease_req(6, "s1", 1),
				   outcome(IQF_GRANT, true, 6, true, true));
	c = lease_case("lease-grant: newer term: granted, term adopted, vote recorded (witness)",
				   witness(), lease_req(7, "s1", 1),
				   outcome(IQF_GRANT, true, 7, true, false));
	c = lease_case("lease-grant: older term: refused with the voter's term",
				   standby(), lease_req(4, "p", 3),
				   outcome(IQF_REFUSE_STALE_TERM, false, 5, false, false));
	c = lease_case("lease-grant: older term: refused with the voter's term (witness)",
				   witness(), lease_req(4, "q", 1),
				   outcome(IQF_REFUSE_STALE_TERM, false, 5, false, false));
	c = lease_case("lease-grant: same term, voted for another: refused",
				   standby(), lease_req(5, "s1", 1),
				   outcome(IQF_REFUSE_VOTED_OTHER, false, 5, false, true));
	c = lease_case("lease-grant: same term, voted for another: refused (witness)",
				   witness(), lease_req(5, "s1", 1),
				   outcome(IQF_REFUSE_VOTED_OTHER, false, 5, false, false));
	c = lease_case("lease-grant: older incarnation of the same primary: refused",
				   standby(), lease_req(5, "p", 2),
				   outcome(IQF_REFUSE_STALE_INCARNATION, false, 5, false, false));
	c = lease_case("lease-grant: older incarnation of the same primary: refused (nothing granted since start: granted)",
				   standby(), lease_req(5, "p", 2),
				   outcome(IQF_GRANT, false, 5, false, true));
	c->v.max_inc_known = false;
	c = lease_case("lease-grant: a node not in recovery never grants another's lease",
				   primary(), lease_req(5, "s1", 1),
				   outcome(IQF_REFUSE_NOT_STANDBY, false, 5, false, false));
	c = lease_case("lease-grant: a node not in recovery never grants another's lease (newer term: adopted with an empty vote)",
				   primary(), lease_req(6, "s1", 1),
				   outcome(IQF_REFUSE_NOT_STANDBY, true, 6, false, false));
	c = lease_case("lease-grant: a node not in recovery never grants another's lease (superseded, same term)",
				   superseded(), lease_req(6, "s1", 1),
				   outcome(IQF_REFUSE_NOT_STANDBY, false, 6, false, false));
	c = lease_case("lease-grant: a node not in recovery never grants another's lease (older term)",
				   primary(), lease_req(4, "s1", 1),
				   outcome(IQF_REFUSE_NOT_STANDBY, false, 5, false, false));
	c = lease_case("lease-grant: a node not in recovery never grants another's lease (its own lease: granted)",
				   primary(), lease_req(5, "p", 1),
				   outcome(IQF_GRANT, false, 5, false, false));

	/* R9 */
	c = lease_case("pause: leases are still granted while paused",
				   standby(), lease_req(5, "p", 3),
				   outcome(IQF_GRANT, false, 5, false, true));
	c->v.paused = true;
	c = lease_case("pause: leases are still granted while paused (newer term)",
				   standby(), lease_req(6, "s1", 1),
				   outcome(IQF_GRANT, true, 6, true, true));
	c->v.paused = true;
	c = lease_case("pause: leases are still granted while paused (witness)",
				   witness(), lease_req(5, "p", 3),
				   outcome(IQF_GRANT, false, 5, false, false));
	c->v.paused = true;

	/* R17: s2 voted for s3 in term 6, s1 won term 6 */
	c = lease_case("follow: a standby follows the leader of its term even when it refuses its lease",
				   standby(), lease_req(6, "s1", 1),
				   outcome(IQF_REFUSE_VOTED_OTHER, false, 6, false, true));
	c->v.term = 6;
	set_name(c->v.voted_for, "s3");
	c = lease_case("follow: a standby follows the leader of its term even when it refuses its lease (older term: no)",
				   standby(), lease_req(4, "q", 1),
				   outcome(IQF_REFUSE_STALE_TERM, false, 5, false, false));
	c = lease_case("follow: a standby follows the leader of its term even when it refuses its lease (a witness never follows)",
				   witness(), lease_req(6, "s1", 1),
				   outcome(IQF_REFUSE_VOTED_OTHER, false, 6, false, false));
	c->v.term = 6;
	set_name(c->v.voted_for, "s3");
}

static bool
same_outcome(IqfLeaseOutcome a, IqfLeaseOutcome b)
{
	return a.verdict == b.verdict && a.persist == b.persist &&
		a.new_term == b.new_term && a.vote_for_primary == b.vote_for_primary &&
		a.follow == b.follow;
}

static void
run_lease_cases(void)
{
	int			i;

	build_lease_cases();
	for (i = 0; i < n_lease_cases; i++)
	{
		LeaseCase  *c = &lease_cases[i];
		IqfLeaseOutcome got = iqf_failover_lease(&c->v, &c->r);
		bool		pass;

		pass = same_outcome(got, c->expect) &&
			iqf_failover_lease_verdict(&c->v, &c->r) == c->expect.verdict;
		if (!ok(pass, c->name))
			printf("# expected %s persist=%d term=%llu vote=%d follow=%d, "
				   "got %s persist=%d term=%llu vote=%d follow=%d\n",
				   iqf_failover_verdict_name(c->expect.verdict), c->expect.persist,
				   (unsigned long long) c->expect.new_term, c->expect.vote_for_primary,
				   c->expect.follow,
				   iqf_failover_verdict_name(got.verdict), got.persist,
				   (unsigned long long) got.new_term, got.vote_for_primary, got.follow);
	}
}

/* ------------------------------------------------------------------------
 * The other pure functions, rule by rule
 * ------------------------------------------------------------------------
 */

/* R0 */
static void
bootstrap_cases(void)
{
	ok(!iqf_failover_may_campaign(true, false, 0, "", true, false) &&
	   !iqf_failover_may_campaign(true, false, 0, NULL, true, false),
	   "bootstrap: a standby at term 0 with no vote does not campaign");
	ok(iqf_failover_may_campaign(true, false, 0, "p", true, false) &&
	   iqf_failover_may_campaign(true, false, 1, "", true, false),
	   "bootstrap: a standby at term 0 with no vote does not campaign (a vote or a term > 0: it may)");
}

/* R1 */
typedef struct QuorumCase
{
	int			n;
	int			quorum;
	bool		enabled;
} QuorumCase;

static void
quorum_cases(void)
{
	static const QuorumCase cases[] = {
		{0, 1, false}, {1, 1, false}, {2, 2, false},
		{3, 2, true}, {4, 3, true}, {5, 3, true}, {6, 4, true}, {7, 4, true},
	};
	bool		majority = true;
	bool		enabled = true;
	char		name[256];
	int			i;

	for (i = 3; i <= 5; i++)
	{
		snprintf(name, sizeof(name),
				 "quorum: a strict majority of registered voters for N = 3, 4, 5 (N = %d)", i);
		ok(iqf_failover_quorum(i) == cases[i].quorum, name);
	}
	for (i = 0; i < (int) (sizeof(cases) / sizeof(cases[0])); i++)
	{
		majority = majority && iqf_failover_quorum(cases[i].n) == cases[i].quorum &&
			2 * iqf_failover_quorum(cases[i].n) > cases[i].n;
		enabled = enabled && iqf_failover_enabled_for(cases[i].n) == cases[i].enabled;
	}
	ok(majority, "quorum: a strict majority of registered voters for N = 3, 4, 5 (N = 0 to 7)");
	ok(enabled, "quorum: fewer than three voters disable failover and the lease");
}

/* R4 */
static void
lease_expiry_cases(void)
{
	int64_t		three[] = {MS(100), MS(300), MS(200)};
	int64_t		one[] = {MS(100)};

	/*
	 * A late reply: p sent request A at 8 s, and its grant arrived at
	 * 9.9 s; the self-grant is for the request sent at 10 s.
	 */
	int64_t		late[] = {S(10), S(8)};
	int64_t		later[] = {S(10), S(8), MS(9500)};

	ok(iqf_failover_lease_expiry(three, 3, 2, FENCE_TIMEOUT) == MS(2200),
	   "lease: expiry = send time of the quorum-th most recent grant + fence_timeout");
	ok(iqf_failover_lease_expiry(three, 3, 3, FENCE_TIMEOUT) == MS(2100) &&
	   iqf_failover_lease_expiry(three, 3, 1, FENCE_TIMEOUT) == MS(2300),
	   "lease: expiry = send time of the quorum-th most recent grant + fence_timeout (Q = 3, Q = 1)");
	ok(iqf_failover_lease_expiry(one, 1, 2, FENCE_TIMEOUT) == 0 &&
	   iqf_failover_lease_expiry(three, 2, 3, FENCE_TIMEOUT) == 0 &&
	   iqf_failover_lease_expiry(three, 0, 2, FENCE_TIMEOUT) == 0,
	   "lease: fewer grants than a quorum: no lease");
	ok(iqf_failover_lease_expiry(late, 2, 2, FENCE_TIMEOUT) == S(10) &&
	   iqf_failover_lease_expiry(later, 3, 2, FENCE_TIMEOUT) == MS(11500),
	   "lease: a late reply extends the lease only from its own send time");
}

/* R7 */
static void
fence_cases(void)
{
	IqfVoter	p = primary();
	IqfLeaseRequest r = lease_req(6, "s1", 1);
	IqfLeaseOutcome o;
	IqfFailoverConfig cfg = config();
	IqfVoteRequest vr = vote_req(6, "s1");

	ok(iqf_failover_leads_term(&p),
	   "fence: a refusal with a newer term fences for good (p leads term 5)");

	/* the newer term reaches p; p applies the outcome */
	o = iqf_failover_lease(&p, &r);
	ok(o.verdict == IQF_REFUSE_NOT_STANDBY && o.persist && o.new_term == 6 &&
	   !o.vote_for_primary,
	   "fence: a refusal with a newer term fences for good (term 6 persisted with an empty vote)");
	p.term = o.new_term;
	p.voted_for[0] = '\0';
	p.superseded = true;
	ok(!iqf_failover_leads_term(&p),
	   "fence: a refusal with a newer term fences for good (p leads no term)");

	/* for good: the superseded flag outweighs even voted_for = self */
	set_name(p.voted_for, "p");
	ok(!iqf_failover_leads_term(&p) &&
	   iqf_failover_vote_verdict(&p, &vr, &cfg) != IQF_REFUSE_PRIMARY_HOLDS_TERM,
	   "fence: a refusal with a newer term fences for good (superseded with voted_for = self: leads no term)");

	/* not a leader: voted for another, in recovery, or a witness */
	p = primary();
	set_name(p.voted_for, "s1");
	ok(!iqf_failover_leads_term(&p),
	   "fence: a refusal with a newer term fences for good (voted_for another: leads no term)");
	p = standby();
	set_name(p.voted_for, "s2");
	ok(!iqf_failover_leads_term(&p),
	   "fence: a refusal with a newer term fences for good (a standby leads no term)");
	p = witness();
	set_name(p.voted_for, "w");
	ok(!iqf_failover_leads_term(&p),
	   "fence: a refusal with a newer term fences for good (a witness leads no term)");
}

/* R8 */
/* R2: a node whose state file could not be read refuses everything */
static void
state_cases(void)
{
	IqfFailoverConfig cfg = config();
	IqfVoter	sb = standby();
	IqfVoter	wt = witness();
	IqfVoteRequest vr = vote_req(6, "s1");
	IqfLeaseRequest lr = lease_req(5, "p", 3);

	sb.state_unreadable = true;
	wt.state_unreadable = true;
	ok(iqf_failover_vote_verdict(&sb, &vr, &cfg) == IQF_REFUSE_STATE_UNREADABLE &&
	   iqf_failover_vote_verdict(&wt, &vr, &cfg) == IQF_REFUSE_STATE_UNREADABLE &&
	   iqf_failover_lease(&sb, &lr).verdict == IQF_REFUSE_STATE_UNREADABLE &&
	   !iqf_failover_lease(&sb, &lr).persist &&
	   iqf_failover_lease(&wt, &lr).verdict == IQF_REFUSE_STATE_UNREADABLE &&
	   !iqf_failover_dead_accept(&sb, 5, "p", 3),
	   "state: an unreadable state file refuses every lease and vote");
	sb.state_unreadable = false;
	ok(iqf_failover_vote_verdict(&sb, &vr, &cfg) == IQF_GRANT &&
	   iqf_failover_lease(&sb, &lr).verdict == IQF_GRANT,
	   "state: an unreadable state file refuses every lease and vote (the same voter, readable, grants)");
}

static void
step_down_cases(void)
{
	IqfFailoverConfig cfg = config();
	int64_t		lapsed = S(100);

	ok(iqf_failover_step_down(lapsed, lapsed + FAILOVER_TIMEOUT, false, true, &cfg) &&
	   iqf_failover_step_down(lapsed, lapsed + S(60), false, true, &cfg),
	   "step-down: a primary without a lease for failover_timeout steps down");
	ok(!iqf_failover_step_down(lapsed, lapsed + FAILOVER_TIMEOUT, true, true, &cfg),
	   "step-down: a primary without a lease for failover_timeout steps down (not while paused)");
	ok(!iqf_failover_step_down(lapsed, lapsed + FAILOVER_TIMEOUT - US(1), false, true, &cfg) &&
	   !iqf_failover_step_down(lapsed, lapsed, false, true, &cfg),
	   "step-down: a primary whose lease lapsed for less than failover_timeout keeps its term");
	ok(!iqf_failover_step_down(0, S(1000), false, true, &cfg),
	   "step-down: a primary whose lease lapsed for less than failover_timeout keeps its term (valid lease)");
	ok(!iqf_failover_step_down(lapsed, lapsed + S(60), false, false, &cfg) &&
	   iqf_failover_step_down(lapsed, lapsed + S(60), false, true, &cfg),
	   "step-down: a primary that no other voter granted for failover_timeout keeps its term");
}

/* R9, R10: campaign conditions, and the candidate ranking */
typedef struct CampaignCase
{
	const char *name;
	bool		eligible;
	bool		paused;
	uint64_t	term;
	const char *voted_for;
	bool		lost;
	bool		leader_reachable;
	bool		expect;
} CampaignCase;

static void
campaign_cases(void)
{
	static const CampaignCase cases[] = {
		{"pause: no campaign while paused",
		true, true, 5, "p", true, false, false},
		{"pause: no campaign while paused (unpaused, the same standby campaigns)",
		true, false, 5, "p", true, false, true},
		{"campaign: a standby still streaming does not campaign",
		true, false, 5, "p", false, false, false},
		{"campaign: no campaign while a reachable node leads a term not older than ours",
		true, false, 5, "p", true, true, false},
		{"campaign: an ineligible standby never campaigns",
		false, false, 5, "p", true, false, false},
	};
	IqfPosition me = pos(1, 1000);
	int			i;

	for (i = 0; i < (int) (sizeof(cases) / sizeof(cases[0])); i++)
	{
		const CampaignCase *c = &cases[i];

		ok(iqf_failover_may_campaign(c->eligible, c->paused, c->term, c->voted_for,
									 c->lost, c->leader_reachable) == c->expect,
		   c->name);
	}

	ok(iqf_failover_compare_candidates(me, 100, "s1", pos(1, 1001), 1, "z") < 0 &&
	   iqf_failover_compare_candidates(pos(1, 1001), 1, "z", me, 100, "s1") > 0 &&
	   iqf_failover_compare_candidates(me, 1000, "a", pos(2, 1), 1, "z") < 0,
	   "campaign: defers to a reachable standby with a greater position");
	ok(iqf_failover_compare_candidates(me, 150, "s2", me, 100, "s1") > 0 &&
	   iqf_failover_compare_candidates(me, 100, "s2", me, 150, "s1") < 0,
	   "campaign: ties broken by priority, then name (priority)");
	ok(iqf_failover_compare_candidates(me, 100, "s0", me, 100, "s1") > 0 &&
	   iqf_failover_compare_candidates(me, 100, "s1", me, 100, "s0") < 0 &&
	   iqf_failover_compare_candidates(me, 100, "s1", me, 100, "s1") == 0,
	   "campaign: ties broken by priority, then name (name)");
}

/* R13b: positions */
static void
position_cases(void)
{
	ok(iqf_failover_position_cmp(pos(2, 100), pos(1, 5000)) > 0 &&
	   iqf_failover_position_cmp(pos(1, 5000), pos(2, 100)) < 0 &&
	   iqf_failover_position_cmp(pos(1, 5000), pos(1, 100)) > 0 &&
	   iqf_failover_position_cmp(pos(1, 100), pos(1, 5000)) < 0 &&
	   iqf_failover_position_cmp(pos(3, 7), pos(3, 7)) == 0,
	   "behind: a newer timeline beats a higher LSN on an older one (position_cmp)");
}

/* R15: accepting DEAD and using the certificate */
static IqfVoter
cert_holder(void)
{
	IqfVoter	v = standby();

	set_cert(&v, 5, "p", 3);
	return v;
}

static void
dead_cases(void)
{
	IqfFailoverConfig cfg = config();
	IqfVoter	v = standby();
	IqfVoter	w = witness();
	IqfVoter	p = primary();
	IqfVoter	u;
	IqfLeaseRequest r;
	IqfLeaseOutcome o;

	u = cert_holder();
	ok(iqf_failover_dead_accept(&v, 5, "p", 3) && iqf_failover_dead_accept(&v, 5, "p", 4) &&
	   iqf_failover_dead_accept(&w, 5, "p", 3) &&
	   iqf_failover_cert_usable(&u, &cfg),
	   "dead: a usable certificate lifts the lease wait (accepted and usable)");
	u.since_grant_us = MS(1);
	ok(iqf_failover_primary_lost(&u, &cfg),
	   "dead: a usable certificate lifts the lease wait (primary lost at once)");

	ok(!iqf_failover_dead_accept(&v, 4, "p", 3) && !iqf_failover_dead_accept(&v, 6, "p", 3) &&
	   !iqf_failover_dead_accept(&v, 5, "s1", 3),
	   "dead: a certificate for another term or another node is ignored (not accepted)");
	u = standby();
	u.voted_for[0] = '\0';
	ok(!iqf_failover_dead_accept(&u, 5, "p", 3) && !iqf_failover_dead_accept(&p, 5, "p", 3),
	   "dead: a certificate for another term or another node is ignored (no vote, or a node not in recovery)");
	u = cert_holder();
	u.cert_term = 4;
	ok(!iqf_failover_cert_usable(&u, &cfg),
	   "dead: a certificate for another term or another node is ignored (held for another term: unusable)");
	u = cert_holder();
	u.term = 6;
	u.voted_for[0] = '\0';
	u.since_grant_us = MS(1);
	ok(iqf_failover_cert_usable(&u, &cfg) && iqf_failover_primary_lost(&u, &cfg),
	   "dead: a certificate survives a newer term adopted without a vote (usable)");
	set_name(u.voted_for, "s1");
	ok(!iqf_failover_cert_usable(&u, &cfg) && !iqf_failover_primary_lost(&u, &cfg),
	   "dead: a certificate survives a newer term adopted without a vote (void once it votes in it)");
	u = cert_holder();
	u.cert_term = 6;
	ok(!iqf_failover_cert_usable(&u, &cfg),
	   "dead: a certificate for another term or another node is ignored (held for a newer term: unusable)");
	u = cert_holder();
	set_name(u.cert_primary, "s1");
	ok(!iqf_failover_cert_usable(&u, &cfg),
	   "dead: a certificate for another term or another node is ignored (held for another node: unusable)");
	u = cert_holder();
	u.cert = false;
	u.since_grant_us = MS(1);
	ok(!iqf_failover_cert_usable(&u, &cfg) && !iqf_failover_primary_lost(&u, &cfg),
	   "dead: a certificate for another term or another node is ignored (no certificate: not lost)");

	ok(!iqf_failover_dead_accept(&v, 5, "p", 2) && !iqf_failover_dead_accept(&w, 5, "p", 2),
	   "dead: a certificate older than the last granted incarnation is ignored");
	u = standby();
	u.granted_to[0] = '\0';
	u.max_inc_known = false;
	ok(iqf_failover_dead_accept(&u, 5, "p", 2),
	   "dead: a certificate older than the last granted incarnation is ignored (nothing granted since start: accepted)");

	/* p restarted as incarnation 4 and regained the lease from u */
	u = cert_holder();
	r = lease_req(5, "p", 4);
	o = iqf_failover_lease(&u, &r);
	u.max_inc = 4;
	u.since_grant_us = 0;
	ok(o.verdict == IQF_GRANT && !iqf_failover_cert_usable(&u, &cfg) &&
	   !iqf_failover_primary_lost(&u, &cfg),
	   "dead: a certificate is void after granting a newer incarnation (unusable)");

	u = cert_holder();
	u.granted_to[0] = '\0';
	u.max_inc_known = false;
	u.since_start_us = FAILOVER_TIMEOUT - US(1);
	ok(!iqf_failover_cert_usable(&u, &cfg),
	   "dead: a certificate is unusable within failover_timeout of the voter's start (unusable)");
	u.since_start_us = FAILOVER_TIMEOUT;
	ok(iqf_failover_cert_usable(&u, &cfg),
	   "dead: a certificate is unusable within failover_timeout of the voter's start (usable at failover_timeout)");
}

/* R16 */
static void
promote_cases(void)
{
	ok(!iqf_failover_election_won(1, 2, 0, 0) && !iqf_failover_election_won(2, 3, 0, 0) &&
	   !iqf_failover_election_won(2, 3, 2, 2) && !iqf_failover_election_won(0, 0, 0, 0) &&
	   iqf_failover_election_won(2, 2, 0, 0),
	   "promote: a quorum of votes is needed");
	ok(iqf_failover_sync_votes_needed(1, 2) == 2 && iqf_failover_sync_votes_needed(2, 2) == 1 &&
	   iqf_failover_sync_votes_needed(1, 3) == 3 && iqf_failover_sync_votes_needed(2, 3) == 2,
	   "promote: under synchronous replication, m - k + 1 standby votes of listed standbys are needed (count)");
	ok(iqf_failover_sync_votes_needed(3, 2) == 1,
	   "promote: under synchronous replication, m - k + 1 standby votes of listed standbys are needed (k > m: at least one)");
	ok(!iqf_failover_election_won(3, 3, iqf_failover_sync_votes_needed(1, 2), 1) &&
	   iqf_failover_election_won(3, 3, iqf_failover_sync_votes_needed(1, 2), 2),
	   "promote: under synchronous replication, m - k + 1 standby votes of listed standbys are needed (election)");

	/*
	 * The candidate counts only grants with as_standby from listed standbys:
	 * a quorum of 3 = itself + the witness + the superseded primary is one
	 * standby vote, short of the two needed with m = 2, k = 1.
	 */
	ok(!iqf_failover_election_won(3, 3, iqf_failover_sync_votes_needed(1, 2), 1),
	   "promote: votes of a witness or a superseded primary are not standby votes");
	ok(iqf_failover_sync_votes_needed(0, 2) == 0 && iqf_failover_sync_votes_needed(0, 0) == 0 &&
	   iqf_failover_election_won(3, 3, iqf_failover_sync_votes_needed(0, 2), 0),
	   "promote: without synchronous replication a quorum suffices");
}

/* R18 */
static void
timer_cases(void)
{
	ok(iqf_failover_default_failover_timeout(S(2), MS(500)) == MS(2700) &&
	   iqf_failover_default_failover_timeout(S(4), S(1)) == MS(5400),
	   "timers: failover_timeout floor = fence_timeout * 1.1 + lease interval");
	ok(iqf_failover_effective_failover_timeout(S(1), S(2), MS(500)) == MS(2700) &&
	   iqf_failover_effective_failover_timeout(0, S(2), MS(500)) == MS(2700),
	   "timers: a smaller configured failover_timeout is raised to the floor");
	ok(iqf_failover_effective_failover_timeout(S(3), S(2), MS(500)) == S(3) &&
	   iqf_failover_effective_failover_timeout(MS(2700), S(2), MS(500)) == MS(2700),
	   "timers: a smaller configured failover_timeout is raised to the floor (a larger one is kept)");
}

/* Sanity: the reason names are the stable ones of doc/protocol.md, section 4. */
static void
verdict_name_cases(void)
{
	bool		all_named = true;
	int			i,
				j;

	for (i = 0; i < IQF_NUM_VERDICTS; i++)
	{
		const char *n = iqf_failover_verdict_name((IqfVerdict) i);

		if (n == NULL || strcmp(n, "unknown") == 0)
			all_named = false;
		for (j = 0; all_named && j < i; j++)
			if (strcmp(n, iqf_failover_verdict_name((IqfVerdict) j)) == 0)
				all_named = false;
	}
	ok(all_named, "verdict names: every verdict has its own name");
	ok(strcmp(iqf_failover_verdict_name(IQF_NUM_VERDICTS), "unknown") == 0 &&
	   strcmp(iqf_failover_verdict_name((IqfVerdict) -1), "unknown") == 0,
	   "verdict names: an out-of-range verdict is named unknown");
	ok(strcmp(iqf_failover_verdict_name(IQF_GRANT), "granted") == 0 &&
	   strcmp(iqf_failover_verdict_name(IQF_REFUSE_STALE_TERM), "stale_term") == 0 &&
	   strcmp(iqf_failover_verdict_name(IQF_REFUSE_VOTED_OTHER), "voted_for_other") == 0 &&
	   strcmp(iqf_failover_verdict_name(IQF_REFUSE_LEASE_FRESH), "lease_still_valid") == 0 &&
	   strcmp(iqf_failover_verdict_name(IQF_REFUSE_BEHIND), "candidate_behind") == 0 &&
	   strcmp(iqf_failover_verdict_name(IQF_REFUSE_INELIGIBLE), "candidate_ineligible") == 0 &&
	   strcmp(iqf_failover_verdict_name(IQF_REFUSE_PAUSED), "failover_paused") == 0 &&
	   strcmp(iqf_failover_verdict_name(IQF_REFUSE_STALE_INCARNATION), "stale_incarnation") == 0 &&
	   strcmp(iqf_failover_verdict_name(IQF_REFUSE_PRIMARY_HOLDS_TERM), "primary_holds_term") == 0 &&
	   strcmp(iqf_failover_verdict_name(IQF_REFUSE_NOT_LOST), "not_lost") == 0,
	   "verdict names: the reason names of doc/protocol.md section 4");
}

int
main(void)
{
	bootstrap_cases();
	quorum_cases();
	run_lease_cases();
	lease_expiry_cases();
	fence_cases();
	state_cases();
	step_down_cases();
	campaign_cases();
	run_vote_cases();
	position_cases();
	dead_cases();
	promote_cases();
	timer_cases();
	verdict_name_cases();
	printf("1..%d\n", tests_run);
	return tests_failed == 0 ? 0 : 1;
}

/*
 * Names of doc/protocol.md section 11 covered by TAP/regression tests, not
 * by this pure test (they need a server, a state file, backends, walsenders
 * or the agent's reply matching; src/failover.c has no function for them):
 *
 *	state: the state file round trip keeps term, vote and incarnation
 *	lease: a reply of a previous incarnation or an unknown seq is ignored
 *	fence: a write one microsecond before lease expiry is allowed, at expiry refused
 *	fence: a commit is acknowledged only if the lease is still valid after the sync wait
 *	fence: a primary is fenced at start until a quorum grants its new incarnation
 *	fence: a superseded primary serves no WAL
 *	step-down: it persists term + 1 with an empty vote
 *	follow: a standby detaches before granting a vote
 *
 * Notes on the names checked here through the caller's contract:
 *
 *	fence: a refusal with a newer term fences for good -- checked on the
 *	voter side (a LEASE of a newer term reaching a primary: term persisted,
 *	vote cleared) and with iqf_failover_leads_term; applying a REFUSE reply
 *	is the agent's.
 *
 *	lease-wait: self-grants do not restart the wait -- the agent does not
 *	reset since_grant_us on a self-grant; checked as: a voter whose last
 *	grant to another node is old grants its own candidacy.
 *
 *	promote: votes of a witness or a superseded primary are not standby
 *	votes -- the candidate counts only as_standby grants of listed standbys;
 *	checked as: a quorum with one such standby vote of two needed loses.
 */
