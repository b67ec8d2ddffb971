/*
 * failover_test.c
 *	  Table-driven unit tests of the pure failover rules (src/failover.c),
 *	  printed as TAP.  Each case names the rule of doc/protocol.md it covers.
 */
#include <stdio.h>
#include <string.h>

#include "failover.h"

#define MS(x) ((int64_t) (x) * 1000)

static int	tests_run = 0;
static int	tests_failed = 0;

static void
ok(int cond, const char *name)
{
	tests_run++;
	if (!cond)
		tests_failed++;
	printf("%sok %d - %s\n", cond ? "" : "not ", tests_run, name);
}

static IqfFailoverConfig
cfg(void)
{
	IqfFailoverConfig c;

	c.fence_timeout_us = MS(2000);
	c.failover_timeout_us = MS(3000);
	return c;
}

/* A standby voter that has lost the primary long ago. */
static IqfVoter
voter(void)
{
	IqfVoter	v;

	memset(&v, 0, sizeof(v));
	strcpy(v.name, "s2");
	v.term = 5;
	strcpy(v.voted_for, "p");
	v.since_grant_us = MS(10000);
	v.is_standby = true;
	v.received_lsn = 1000;
	v.eligible = true;
	v.priority = 100;
	return v;
}

static IqfVoteRequest
request(void)
{
	IqfVoteRequest r;

	memset(&r, 0, sizeof(r));
	r.term = 6;
	strcpy(r.candidate, "s1");
	r.candidate_lsn = 2000;
	r.candidate_priority = 100;
	return r;
}

typedef struct VoteCase
{
	const char *name;
	IqfVoter	v;
	IqfVoteRequest r;
	IqfVerdict	expect;
} VoteCase;

static void
vote_cases(void)
{
	VoteCase	cases[32];
	int			n = 0;
	int			i;
	IqfFailoverConfig c = cfg();

#define CASE(label, expected) \
	do { cases[n].name = (label); cases[n].v = voter(); cases[n].r = request(); \
		 cases[n].expect = (expected); n++; } while (0)

	CASE("R-vote-grant: lost primary, newer term, better candidate: granted", IQF_GRANT);

	CASE("R-term: a request for an older term is refused", IQF_REFUSE_STALE_TERM);
	cases[n - 1].r.term = 4;

	CASE("R-one-vote: the same term, already voted for another: refused", IQF_REFUSE_VOTED_OTHER);
	cases[n - 1].r.term = 5;

	CASE("R-one-vote: the same vote asked again (lost reply): granted again", IQF_GRANT);
	cases[n - 1].r.term = 5;
	strcpy(cases[n - 1].v.voted_for, "s1");
	cases[n - 1].v.since_grant_us = 0;

	CASE("R-one-vote: a pre-vote repeats no vote: judged afresh (lease fresh)", IQF_REFUSE_LEASE_FRESH);
	cases[n - 1].r.term = 5;
	cases[n - 1].r.pre_vote = true;
	strcpy(cases[n - 1].v.voted_for, "s1");
	cases[n - 1].v.since_grant_us = 0;

	CASE("R-lease-wait: granted a lease 1 ms ago: refused", IQF_REFUSE_LEASE_FRESH);
	cases[n - 1].v.since_grant_us = 1000;

	CASE("R-lease-wait: one microsecond before failover_timeout: refused", IQF_REFUSE_LEASE_FRESH);
	cases[n - 1].v.since_grant_us = MS(3000) - 1;

	CASE("R-lease-wait: exactly failover_timeout since the last grant: granted", IQF_GRANT);
	cases[n - 1].v.since_grant_us = MS(3000);

	CASE("R-dead: a death certificate lifts the lease wait", IQF_GRANT);
	cases[n - 1].v.since_grant_us = 1000;
	cases[n - 1].v.dead_certificate = true;

	CASE("R-behind: candidate has less WAL than this standby: refused", IQF_REFUSE_BEHIND);
	cases[n - 1].r.candidate_lsn = 999;

	CASE("R-behind: a witness holds no WAL and does not compare", IQF_GRANT);
	cases[n - 1].r.candidate_lsn = 1;
	cases[n - 1].v.is_standby = false;
	cases[n - 1].v.received_lsn = 0;
	cases[n - 1].v.eligible = false;

	CASE("R-acked: candidate lacks a sync-acknowledged commit: refused", IQF_REFUSE_BEHIND);
	cases[n - 1].v.acked_lsn = 2001;

	CASE("R-acked: candidate holds exactly the acknowledged LSN: granted", IQF_GRANT);
	cases[n - 1].v.acked_lsn = 2000;

	CASE("R-sync: a voter does not refuse a non-sync candidate by itself (the election checks)", IQF_GRANT);
	cases[n - 1].v.sync_set_known = true;
	cases[n - 1].v.candidate_in_sync_set = false;

	CASE("R-sync: candidate in the sync set: granted", IQF_GRANT);
	cases[n - 1].v.sync_set_known = true;
	cases[n - 1].v.candidate_in_sync_set = true;

	CASE("R-priority: priority 0 never promotes", IQF_REFUSE_INELIGIBLE);
	cases[n - 1].r.candidate_priority = 0;

	CASE("R-pause: paused cluster refuses every vote", IQF_REFUSE_PAUSED);
	cases[n - 1].v.paused = true;

	CASE("R-best: voter has more WAL than the candidate: refused", IQF_REFUSE_BEHIND);
	cases[n - 1].v.received_lsn = 3000;

	CASE("R-best: same WAL, voter has higher priority: refused", IQF_REFUSE_BETTER_SELF);
	cases[n - 1].v.received_lsn = 2000;
	cases[n - 1].v.priority = 150;

	CASE("R-best: same WAL and priority, voter's name sorts first: refused", IQF_REFUSE_BETTER_SELF);
	cases[n - 1].v.received_lsn = 2000;
	strcpy(cases[n - 1].v.name, "s0");

	CASE("R-best: same WAL and priority, candidate's name sorts first: granted", IQF_GRANT);
	cases[n - 1].v.received_lsn = 2000;

	CASE("R-best: an ineligible standby (priority 0) does not compete", IQF_GRANT);
	cases[n - 1].v.received_lsn = 2000;
	cases[n - 1].v.priority = 150;
	cases[n - 1].v.eligible = false;

	CASE("R-best: a candidate voting for itself is not 'better than itself'", IQF_GRANT);
	strcpy(cases[n - 1].v.name, "s1");
	cases[n - 1].v.received_lsn = 2000;

	for (i = 0; i < n; i++)
	{
		IqfVerdict	got = iqf_failover_vote_verdict(&cases[i].v, &cases[i].r, &c);
		char		label[256];

		snprintf(label, sizeof(label), "%s (got %s)", cases[i].name, iqf_failover_verdict_name(got));
		ok(got == cases[i].expect, label);
	}
}

static void
lease_cases(void)
{
	IqfVoter	v = voter();

	ok(iqf_failover_lease_verdict(&v, 5, "p") == IQF_GRANT,
	   "R-lease-grant: the primary of our term gets its lease");
	ok(iqf_failover_lease_verdict(&v, 4, "p") == IQF_REFUSE_STALE_TERM,
	   "R-term: a deposed primary (older term) gets no lease");
	ok(iqf_failover_lease_verdict(&v, 5, "s1") == IQF_REFUSE_VOTED_OTHER,
	   "R-one-vote: a second primary in the same term gets no lease");
	ok(iqf_failover_lease_verdict(&v, 6, "s1") == IQF_GRANT,
	   "R-lease-grant: a primary of a newer term gets the lease (voter adopts the term)");
	v.voted_for[0] = '\0';
	v.term = 0;
	ok(iqf_failover_lease_verdict(&v, 0, "p") == IQF_GRANT,
	   "R-bootstrap: term 0 with no vote: the first primary gets its lease");
}

static void
expiry_cases(void)
{
	int64_t		t3[] = {MS(100), MS(300), MS(200)};
	int64_t		t1[] = {MS(100)};

	ok(iqf_failover_lease_expiry(t3, 3, 2, MS(2000)) == MS(2200),
	   "R-lease: expiry = send time of the quorum-th most recent grant + fence_timeout");
	ok(iqf_failover_lease_expiry(t3, 3, 3, MS(2000)) == MS(2100),
	   "R-lease: a larger quorum makes the lease end earlier");
	ok(iqf_failover_lease_expiry(t1, 1, 2, MS(2000)) == 0,
	   "R-lease: fewer grants than a quorum: no lease at all");
	ok(iqf_failover_lease_expiry(t3, 0, 2, MS(2000)) == 0,
	   "R-lease: no grants: no lease");
}

static void
misc_cases(void)
{
	IqfVoter	v = voter();
	IqfFailoverConfig c = cfg();

	ok(iqf_failover_quorum(3) == 2 && iqf_failover_quorum(4) == 3 && iqf_failover_quorum(5) == 3,
	   "R-quorum: a strict majority of registered voters");
	ok(!iqf_failover_enabled_for(2) && iqf_failover_enabled_for(3),
	   "R-three: two voters never fail over automatically; three do");
	ok(iqf_failover_default_failover_timeout(MS(2000), MS(500)) == MS(2700),
	   "R-timers: failover_timeout floor = fence * 1.1 + lease interval (2.7 s at defaults)");
	ok(iqf_failover_default_failover_timeout(MS(2000), MS(500)) > MS(2000) * 11 / 10,
	   "R-timers: the floor outlasts the lease even with 10% clock-rate error");
	v.since_grant_us = MS(2999);
	ok(!iqf_failover_primary_lost(&v, &c), "R-lease-wait: primary not lost before failover_timeout");
	v.dead_certificate = true;
	ok(iqf_failover_primary_lost(&v, &c), "R-dead: a death certificate means lost at once");
	ok(iqf_failover_compare_candidates(10, 1, "b", 9, 100, "a") > 0,
	   "R-best: more WAL beats priority");
	ok(iqf_failover_compare_candidates(10, 100, "b", 10, 1, "a") > 0,
	   "R-best: with equal WAL, higher priority wins");
	ok(iqf_failover_compare_candidates(10, 1, "a", 10, 1, "b") > 0,
	   "R-best: with equal WAL and priority, the smaller name wins");
	ok(iqf_failover_election_won(2, 2, false, false, 0),
	   "R-sync: without sync replication a quorum wins");
	ok(!iqf_failover_election_won(1, 2, false, true, 1),
	   "R-quorum: no quorum, no election, whatever else");
	ok(!iqf_failover_election_won(3, 3, true, false, 0),
	   "R-sync: under sync replication, a quorum without any sync standby's check does not win");
	ok(iqf_failover_election_won(3, 3, true, false, 1),
	   "R-sync: a sync standby granted its vote: it holds every acked commit and the candidate has at least its WAL");
	ok(iqf_failover_election_won(2, 2, true, true, 0),
	   "R-sync: the candidate is a sync standby itself");
	ok(strcmp(iqf_failover_verdict_name(IQF_NUM_VERDICTS), "unknown") == 0,
	   "an out-of-range verdict is named unknown, not a crash");
}

int
main(void)
{
	vote_cases();
	lease_cases();
	expiry_cases();
	misc_cases();
	printf("1..%d\n", tests_run);
	return tests_failed == 0 ? 0 : 1;
}
