/*
 * decision_test.c
 *	  Table-driven unit tests of the pure health policy (src/decision.c),
 *	  printed as TAP so that `prove` runs them.  No server, no PostgreSQL
 *	  headers: each case is an observation, a config and the expected verdict.
 */
#include <stdio.h>
#include <string.h>

#include "decision.h"

#define S(x) ((int64_t) (x) * 1000000)	/* seconds to microseconds */
#define R(r) (1u << (r))

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

static IqfHealthConfig
default_cfg(void)
{
	IqfHealthConfig cfg;

	cfg.stale_after_us = iqf_decision_stale_after_us(S(1) / 2);	/* 2.5 s */
	cfg.min_standbys = 1;
	cfg.max_lag_bytes = 16 * 1024 * 1024;
	cfg.max_lag_us = S(30);
	cfg.upstream_timeout_us = S(10);
	return cfg;
}

static IqfHealthInput
primary(int streaming)
{
	IqfHealthInput in;

	memset(&in, 0, sizeof(in));
	in.monitor_running = true;
	in.snapshot_valid = true;
	in.sample_age_us = 1000;
	in.in_recovery = false;
	in.streaming_standbys = streaming;
	in.upstream = IQF_UPSTREAM_NONE;
	in.lag_bytes = -1;
	in.lag_us = -1;
	return in;
}

static IqfHealthInput
standby(IqfUpstreamState up, int64_t lost_us, int64_t lag_bytes, int64_t lag_us)
{
	IqfHealthInput in = primary(0);

	in.in_recovery = true;
	in.upstream = up;
	in.upstream_lost_us = lost_us;
	in.lag_bytes = lag_bytes;
	in.lag_us = lag_us;
	return in;
}

typedef struct Case
{
	const char *name;
	IqfHealthInput in;
	int			min_standbys;	/* overrides cfg when >= 0 */
	int64_t		max_lag_bytes;	/* overrides cfg when != -2 */
	int64_t		max_lag_us;		/* overrides cfg when != -2 */
	IqfHealthStatus status;
	uint32_t	reasons;
} Case;

static void
run_health_cases(void)
{
	IqfHealthInput stale = primary(1);
	IqfHealthInput dead = primary(1);
	IqfHealthInput never = primary(1);
	IqfHealthInput dead_standby = standby(IQF_UPSTREAM_LOST, S(100), -1, -1);
	IqfHealthInput stale_edge = primary(1);
	IqfHealthInput fenced_primary = primary(0);
	IqfHealthInput witness = primary(0);
	int			i;

	stale.sample_age_us = S(3);
	stale_edge.sample_age_us = S(5) / 2;
	dead.monitor_running = false;
	never.snapshot_valid = false;
	dead_standby.monitor_running = false;
	fenced_primary.fenced = true;
	witness.is_witness = true;

	{
		const Case cases[] = {
			/* monitor rules: they decide alone */
			{"monitor not running: unhealthy, nothing else judged", dead, -1, -2, -2,
			IQF_UNHEALTHY, R(IQF_REASON_MONITOR_NOT_RUNNING)},
			{"monitor never published: unhealthy", never, -1, -2, -2,
			IQF_UNHEALTHY, R(IQF_REASON_MONITOR_NOT_RUNNING)},
			{"dead monitor on a lost standby reports only the monitor", dead_standby, -1, -2, -2,
			IQF_UNHEALTHY, R(IQF_REASON_MONITOR_NOT_RUNNING)},
			{"snapshot older than 3 intervals + 1 s: stale, unhealthy", stale, -1, -2, -2,
			IQF_UNHEALTHY, R(IQF_REASON_SNAPSHOT_STALE)},
			{"snapshot exactly at the stale limit: still fresh", stale_edge, -1, -2, -2,
			IQF_HEALTHY, 0},

			/* primary: min_standbys */
			{"primary with 1 streaming standby, min 1: healthy", primary(1), -1, -2, -2,
			IQF_HEALTHY, 0},
			{"primary with 0 streaming standbys, min 1: degraded", primary(0), -1, -2, -2,
			IQF_DEGRADED, R(IQF_REASON_TOO_FEW_STANDBYS)},
			{"primary with 0 streaming standbys, min 0: healthy", primary(0), 0, -2, -2,
			IQF_HEALTHY, 0},
			{"primary with 1 streaming standby, min 2: degraded", primary(1), 2, -2, -2,
			IQF_DEGRADED, R(IQF_REASON_TOO_FEW_STANDBYS)},
			{"primary with 2 streaming standbys, min 2: healthy", primary(2), 2, -2, -2,
			IQF_HEALTHY, 0},
			{"a witness is never judged by min_standbys", witness, -1, -2, -2,
			IQF_HEALTHY, 0},
			{"primary ignores lag figures", primary(1), -1, 0, 0,
			IQF_HEALTHY, 0},

			/* standby: streaming and lag */
			{"standby streaming, no lag: healthy",
				standby(IQF_UPSTREAM_STREAMING, 0, 0, 0), -1, -2, -2, IQF_HEALTHY, 0},
			{"standby lag exactly max_lag: healthy",
				standby(IQF_UPSTREAM_STREAMING, 0, 16 * 1024 * 1024, 0), -1, -2, -2, IQF_HEALTHY, 0},
			{"standby lag one byte over max_lag: degraded",
				standby(IQF_UPSTREAM_STREAMING, 0, 16 * 1024 * 1024 + 1, 0), -1, -2, -2,
			IQF_DEGRADED, R(IQF_REASON_LAG_BYTES)},
			{"standby replay exactly max_lag_time behind: healthy",
				standby(IQF_UPSTREAM_STREAMING, 0, 10, S(30)), -1, -2, -2, IQF_HEALTHY, 0},
			{"standby replay past max_lag_time: degraded",
				standby(IQF_UPSTREAM_STREAMING, 0, 10, S(30) + 1), -1, -2, -2,
			IQF_DEGRADED, R(IQF_REASON_LAG_TIME)},
			{"standby over both lag limits: both reasons",
				standby(IQF_UPSTREAM_STREAMING, 0, 32 * 1024 * 1024, S(60)), -1, -2, -2,
			IQF_DEGRADED, R(IQF_REASON_LAG_BYTES) | R(IQF_REASON_LAG_TIME)},
			{"max_lag -1 disables the byte limit",
				standby(IQF_UPSTREAM_STREAMING, 0, S(1000), 0), -1, -1, -2, IQF_HEALTHY, 0},
			{"max_lag_time -1 disables the time limit",
				standby(IQF_UPSTREAM_STREAMING, 0, 0, S(1000)), -1, -2, -1, IQF_HEALTHY, 0},
			{"unknown lag (-1) is not over a limit",
				standby(IQF_UPSTREAM_STREAMING, 0, -1, -1), -1, -2, -2, IQF_HEALTHY, 0},
			{"max_lag 0 demands full catch-up",
				standby(IQF_UPSTREAM_STREAMING, 0, 1, 0), -1, 0, -2,
			IQF_DEGRADED, R(IQF_REASON_LAG_BYTES)},
			{"standby never judged by min_standbys",
				standby(IQF_UPSTREAM_STREAMING, 0, 0, 0), 5, -2, -2, IQF_HEALTHY, 0},

			/* standby: connection */
			{"receiver connected but waiting: degraded",
				standby(IQF_UPSTREAM_CONNECTED, 0, 0, 0), -1, -2, -2,
			IQF_DEGRADED, R(IQF_REASON_UPSTREAM_NOT_STREAMING)},
			{"upstream just lost: degraded, upstream_lost",
				standby(IQF_UPSTREAM_LOST, 0, 0, 0), -1, -2, -2,
			IQF_DEGRADED, R(IQF_REASON_UPSTREAM_LOST)},
			{"upstream lost exactly upstream_timeout: still degraded",
				standby(IQF_UPSTREAM_LOST, S(10), 0, 0), -1, -2, -2,
			IQF_DEGRADED, R(IQF_REASON_UPSTREAM_LOST)},
			{"upstream lost longer than upstream_timeout: unhealthy, primary_unavailable",
				standby(IQF_UPSTREAM_LOST, S(10) + 1, 0, 0), -1, -2, -2,
			IQF_UNHEALTHY, R(IQF_REASON_PRIMARY_UNAVAILABLE)},
			{"fenced primary: unhealthy, fenced", fenced_primary, -1, -2, -2,
			IQF_UNHEALTHY, R(IQF_REASON_FENCED) | R(IQF_REASON_TOO_FEW_STANDBYS)},
			{"lost upstream: stale lag figures are not judged",
				standby(IQF_UPSTREAM_LOST, S(1), S(1000), S(1000)), -1, -2, -2,
			IQF_DEGRADED, R(IQF_REASON_UPSTREAM_LOST)},
		};

		for (i = 0; i < (int) (sizeof(cases) / sizeof(cases[0])); i++)
		{
			const Case *c = &cases[i];
			IqfHealthConfig cfg = default_cfg();
			IqfHealthResult r;
			char		name[256];

			if (c->min_standbys >= 0)
				cfg.min_standbys = c->min_standbys;
			if (c->max_lag_bytes != -2)
				cfg.max_lag_bytes = c->max_lag_bytes;
			if (c->max_lag_us != -2)
				cfg.max_lag_us = c->max_lag_us;
			r = iqf_decision_health(&c->in, &cfg);
			snprintf(name, sizeof(name), "%s (got %s, reasons 0x%x)", c->name,
					 iqf_decision_status_name(r.status), r.reasons);
			ok(r.status == c->status && r.reasons == c->reasons, name);
		}
	}

	/* upstream_timeout 0: any loss is unavailability at once */
	{
		IqfHealthConfig cfg = default_cfg();
		IqfHealthInput in = standby(IQF_UPSTREAM_LOST, 1, 0, 0);

		cfg.upstream_timeout_us = 0;
		ok(iqf_decision_health(&in, &cfg).status == IQF_UNHEALTHY,
		   "upstream_timeout 0: a loss of 1 us is already unavailability");
	}
}

static void
run_name_cases(void)
{
	int			r;
	int			distinct = 1;

	ok(strcmp(iqf_decision_reason_name(IQF_REASON_PRIMARY_UNAVAILABLE), "primary_unavailable") == 0,
	   "reason name primary_unavailable is stable");
	ok(strcmp(iqf_decision_reason_name(IQF_REASON_TOO_FEW_STANDBYS), "too_few_standbys") == 0,
	   "reason name too_few_standbys is stable");
	ok(strcmp(iqf_decision_reason_name(IQF_NUM_REASONS), "unknown") == 0,
	   "out-of-range reason is named unknown, not a crash");
	ok(strcmp(iqf_decision_status_name(IQF_DEGRADED), "degraded") == 0,
	   "status names are the documented words");
	for (r = 0; r < IQF_NUM_REASONS; r++)
	{
		int			s;

		for (s = r + 1; s < IQF_NUM_REASONS; s++)
			if (strcmp(iqf_decision_reason_name(r), iqf_decision_reason_name(s)) == 0)
				distinct = 0;
	}
	ok(distinct, "every reason has its own name");
	ok(iqf_decision_reason_severity(IQF_REASON_PRIMARY_UNAVAILABLE) == IQF_UNHEALTHY &&
	   iqf_decision_reason_severity(IQF_REASON_UPSTREAM_LOST) == IQF_DEGRADED,
	   "severities: lost upstream degrades, unavailable primary is unhealthy");
	ok(iqf_decision_stale_after_us(S(1) / 2) == S(5) / 2,
	   "stale after 3 x 500 ms + 1 s = 2.5 s");
}

static void
run_lag_cases(void)
{
	IqfLagRing ring;
	int			i;

	iqf_lag_ring_reset(&ring);
	ok(iqf_lag_replay_us(&ring, S(1), 100, 50) == -1, "lag unknown with no samples");
	ok(iqf_lag_replay_us(&ring, S(1), 100, 100) == 0, "caught up means 0 lag even with no samples");

	/* WAL arrives at t=10 s (lsn 100), t=11 s (lsn 200), t=12 s (lsn 300) */
	iqf_lag_ring_add(&ring, S(10), 100);
	iqf_lag_ring_add(&ring, S(11), 200);
	iqf_lag_ring_add(&ring, S(11) + 5, 200);	/* no movement: ignored */
	iqf_lag_ring_add(&ring, S(12), 300);
	ok(ring.count == 3, "samples only recorded when the received LSN moves");
	ok(iqf_lag_replay_us(&ring, S(13), 300, 300) == 0, "replay at received: 0 lag");
	ok(iqf_lag_replay_us(&ring, S(13), 300, 250) == S(1),
	   "replay at 250: waiting since the sample that brought 300 (1 s)");
	ok(iqf_lag_replay_us(&ring, S(13), 300, 150) == S(2),
	   "replay at 150: waiting since the sample that brought 200 (2 s)");
	ok(iqf_lag_replay_us(&ring, S(13), 300, 50) == S(3),
	   "replay behind every sample: at least the oldest sample's age (3 s)");
	ok(iqf_lag_replay_us(&ring, S(60), 300, 250) == S(48),
	   "an idle primary does not hide a stuck replay: lag keeps growing");

	/* a restart at an older position starts a new history */
	iqf_lag_ring_add(&ring, S(20), 10);
	ok(ring.count == 1, "received LSN going backwards resets the ring");

	/* a full ring thins itself and never forgets when the delay began */
	iqf_lag_ring_reset(&ring);
	for (i = 1; i <= IQF_LAG_RING_SIZE + 10; i++)
		iqf_lag_ring_add(&ring, S(i), (uint64_t) i * 10);
	ok(ring.count == IQF_LAG_RING_SIZE, "ring holds at most IQF_LAG_RING_SIZE samples");
	ok(ring.samples[0].t_us == S(1) && ring.samples[ring.count - 1].t_us == S(IQF_LAG_RING_SIZE + 10),
	   "thinning keeps the oldest and the newest sample");
	ok(iqf_lag_replay_us(&ring, S(IQF_LAG_RING_SIZE + 10), (uint64_t) (IQF_LAG_RING_SIZE + 10) * 10, 5)
	   == S(IQF_LAG_RING_SIZE + 9),
	   "replay stuck since the first sample: lag covers the whole time, beyond the ring size");
	ok(iqf_lag_replay_us(&ring, S(IQF_LAG_RING_SIZE + 10), (uint64_t) (IQF_LAG_RING_SIZE + 10) * 10,
						 (uint64_t) (IQF_LAG_RING_SIZE + 9) * 10) == 0,
	   "replay one sample behind at the same instant: 0 s");
	{
		int			j;
		int			sorted = 1;

		for (j = 1; j < ring.count; j++)
			if (ring.samples[j].t_us <= ring.samples[j - 1].t_us ||
				ring.samples[j].lsn <= ring.samples[j - 1].lsn)
				sorted = 0;
		ok(sorted, "thinned ring stays ordered by time and LSN");
	}
	{
		/* a lower bound: the estimate never exceeds the true delay */
		uint64_t	replay = 555;	/* first received at t = 56 s */
		int64_t		est = iqf_lag_replay_us(&ring, S(200), (uint64_t) (IQF_LAG_RING_SIZE + 10) * 10, replay);

		ok(est > 0 && est <= S(200) - S(56),
		   "after thinning the estimate is still a lower bound of the true delay");
	}
}

int
main(void)
{
	run_health_cases();
	run_name_cases();
	run_lag_cases();
	printf("1..%d\n", tests_run);
	return tests_failed == 0 ? 0 : 1;
}
