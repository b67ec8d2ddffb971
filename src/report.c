/*-------------------------------------------------------------------------
 *
 * report.c
 *	  Answers built from a snapshot copy: the health verdict (through the
 *	  pure rules of decision.c), reason details and the health JSON.
 *
 * Used by the monitor (to notice and log health transitions) and by every
 * reader (SQL functions, later the HTTP endpoint), so that all of them apply
 * exactly the same rules.  Readers evaluate the rules against their own
 * clock with the thresholds the monitor published, so a stale snapshot or an
 * upstream timeout shows even between two monitor passes.
 *
 * Works on private copies only; takes no lock.  May palloc; may not throw
 * except on out-of-memory.
 *
 * Copyright (c) 2026, innoquim_failover developers
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <unistd.h>

#include "catalog/pg_type.h"
#include "postmaster/postmaster.h"
#include "utils/datetime.h"
#include "utils/json.h"
#include "utils/timestamp.h"

#include "access/xlog.h"
#include "ha_sql.h"
#include "ha_state.h"
#include "innoquim_failover.h"
#include "report.h"

int
iqf_report_streaming_standbys(const IqfSnapshot *snap)
{
	int			n = 0;
	int			i;

	for (i = 0; i < snap->n_standbys; i++)
		if (strcmp(snap->standbys[i].state, "streaming") == 0)
			n++;
	return n;
}

/* primary, standby, witness or fenced (the last two from live state). */
const char *
iqf_report_role(const IqfSnapshot *snap)
{
	return iqf_ha_role_name(snap->in_recovery);
}

static int64
upstream_lost_us(const IqfSnapshot *snap, TimestampTz now)
{
	if (snap->upstream.state != IQF_UPSTREAM_LOST ||
		snap->upstream.disconnected_since == 0)
		return 0;
	return Max(now - snap->upstream.disconnected_since, 0);
}

IqfHealthResult
iqf_report_health(const IqfSnapshot *snap, int monitor_pid, TimestampTz now)
{
	IqfHealthInput in;

	memset(&in, 0, sizeof(in));
	in.monitor_running = monitor_pid != 0;
	in.snapshot_valid = snap->valid;
	in.sample_age_us = snap->valid ? Max(now - snap->sampled_at, 0) : 0;
	in.in_recovery = snap->in_recovery;
	in.is_witness = iqf_ha_is_witness();
	in.fenced = !snap->in_recovery && !in.is_witness && !iqf_ha_writes_allowed();
	in.streaming_standbys = iqf_report_streaming_standbys(snap);
	in.upstream = snap->in_recovery ? snap->upstream.state : IQF_UPSTREAM_NONE;
	in.upstream_lost_us = upstream_lost_us(snap, now);
	in.lag_bytes = snap->lag_bytes;
	in.lag_us = snap->lag_us;
	return iqf_decision_health(&in, &snap->health_cfg);
}

/* Bytes a standby has yet to replay, as seen from its primary; -1 unknown. */
int64
iqf_report_standby_lag_bytes(const IqfSnapshot *snap, const IqfStandby *sb)
{
	XLogRecPtr	head = snap->in_recovery ? snap->replay_lsn : snap->flush_lsn;

	if (sb->replay_lsn == InvalidXLogRecPtr || head == InvalidXLogRecPtr)
		return -1;
	return head > sb->replay_lsn ? (int64) (head - sb->replay_lsn) : 0;
}

/*
 * A standby's replay lag in seconds, from the walsender's own measurement;
 * the core reports none (-1) when the standby is idle and caught up.
 * Returns -1 when unknown.
 */
double
iqf_report_standby_lag_seconds(const IqfStandby *sb)
{
	if (sb->replay_lag_us >= 0)
		return sb->replay_lag_us / 1000000.0;
	if (sb->replay_lsn != InvalidXLogRecPtr && sb->replay_lsn >= sb->sent_lsn)
		return 0.0;
	return -1;
}

static double
seconds(int64 us)
{
	return us / 1000000.0;
}

/* One sentence explaining a reason, with the figures behind it. */
void
iqf_report_reason_detail(StringInfo buf, IqfReason reason,
						 const IqfSnapshot *snap, TimestampTz now)
{
	const IqfHealthConfig *cfg = &snap->health_cfg;

	switch (reason)
	{
		case IQF_REASON_MONITOR_NOT_RUNNING:
			appendStringInfoString(buf, "the innoquim_failover monitor is not running");
			break;
		case IQF_REASON_SNAPSHOT_STALE:
			appendStringInfo(buf, "the monitor last sampled %.3f s ago (stale after %.3f s)",
							 seconds(now - snap->sampled_at), seconds(cfg->stale_after_us));
			break;
		case IQF_REASON_TOO_FEW_STANDBYS:
			appendStringInfo(buf, "%d streaming standbys, min_standbys is %d",
							 iqf_report_streaming_standbys(snap), cfg->min_standbys);
			break;
		case IQF_REASON_UPSTREAM_LOST:
			appendStringInfo(buf, "upstream lost %.3f s ago (receiver %s); primary declared unavailable after %.3f s",
							 seconds(upstream_lost_us(snap, now)), snap->upstream.status,
							 seconds(cfg->upstream_timeout_us));
			break;
		case IQF_REASON_PRIMARY_UNAVAILABLE:
			appendStringInfo(buf, "primary unavailable: no upstream connection for %.3f s (upstream_timeout %.3f s)",
							 seconds(upstream_lost_us(snap, now)), seconds(cfg->upstream_timeout_us));
			break;
		case IQF_REASON_UPSTREAM_NOT_STREAMING:
			appendStringInfo(buf, "WAL receiver connected but %s, not streaming",
							 snap->upstream.status);
			break;
		case IQF_REASON_LAG_BYTES:
			appendStringInfo(buf, "replay is " INT64_FORMAT " bytes behind (max_lag " INT64_FORMAT " bytes)",
							 snap->lag_bytes, cfg->max_lag_bytes);
			break;
		case IQF_REASON_LAG_TIME:
			appendStringInfo(buf, "replay is %.3f s behind (max_lag_time %.3f s)",
							 seconds(snap->lag_us), seconds(cfg->max_lag_us));
			break;
		case IQF_REASON_FENCED:
			appendStringInfoString(buf, "this primary is fenced: it holds no write lease from a majority of voters, or a newer primary was elected");
			break;
		case IQF_NUM_REASONS:
			break;
	}
}

/* "a, b, c" list of reason names, for logs. */
void
iqf_report_reasons_text(StringInfo buf, uint32 reasons)
{
	int			r;
	bool		first = true;

	for (r = 0; r < IQF_NUM_REASONS; r++)
	{
		if (!(reasons & (1u << r)))
			continue;
		appendStringInfo(buf, "%s%s", first ? "" : ", ", iqf_decision_reason_name(r));
		first = false;
	}
	if (first)
		appendStringInfoString(buf, "none");
}

void
iqf_json_key(StringInfo buf, const char *key, bool *first)
{
	if (!*first)
		appendStringInfoString(buf, ", ");
	*first = false;
	escape_json(buf, key);
	appendStringInfoString(buf, ": ");
}

void
iqf_json_str(StringInfo buf, const char *key, const char *val, bool *first)
{
	iqf_json_key(buf, key, first);
	if (val == NULL || val[0] == '\0')
		appendStringInfoString(buf, "null");
	else
		escape_json(buf, val);
}

void
iqf_json_int(StringInfo buf, const char *key, int64 val, bool null, bool *first)
{
	iqf_json_key(buf, key, first);
	if (null)
		appendStringInfoString(buf, "null");
	else
		appendStringInfo(buf, INT64_FORMAT, val);
}

void
iqf_json_num(StringInfo buf, const char *key, double val, bool null, bool *first)
{
	iqf_json_key(buf, key, first);
	if (null)
		appendStringInfoString(buf, "null");
	else
		appendStringInfo(buf, "%.6f", val);
}

void
iqf_json_time(StringInfo buf, const char *key, TimestampTz t, bool *first)
{
	char		tbuf[MAXDATELEN + 1];

	iqf_json_key(buf, key, first);
	if (t == 0)
		appendStringInfoString(buf, "null");
	else
	{
		JsonEncodeDateTime(tbuf, TimestampTzGetDatum(t), TIMESTAMPTZOID, NULL);
		escape_json(buf, tbuf);
	}
}

/* How clients reach this node: first listen address unless a wildcard. */
static void
own_host(char *host, size_t len)
{
	const char *la = ListenAddresses ? ListenAddresses : "";
	size_t		n = strcspn(la, ", ");

	if (n > 0 && n < len && strncmp(la, "*", n) != 0 &&
		strncmp(la, "0.0.0.0", n) != 0 && strncmp(la, "::", n) != 0)
	{
		memcpy(host, la, n);
		host[n] = '\0';
		return;
	}
	if (gethostname(host, len) != 0)
		strlcpy(host, "localhost", len);
	host[len - 1] = '\0';
}

static void
json_primary(StringInfo buf, const IqfSnapshot *snap, const char *self_host)
{
	bool		first = true;

	appendStringInfoChar(buf, '{');
	if (iqf_ha_is_witness())
	{
		IqfFailoverConfig cfg;
		int64		since;
		char		primary[IQF_NODE_NAME_LEN];

		iqf_ha_failover_config(&cfg);
		LWLockAcquire(iqf_ha->lock, LW_SHARED);
		since = iqf_mono_us() - iqf_ha->last_grant_mono;
		strlcpy(primary, iqf_ha->known_primary, sizeof(primary));
		LWLockRelease(iqf_ha->lock);
		iqf_json_str(buf, "status", since < cfg.failover_timeout_us && primary[0] ? "connected" : "unavailable", &first);
		iqf_json_str(buf, "name", primary, &first);
	}
	else if (!snap->in_recovery)
	{
		iqf_json_str(buf, "status", "connected", &first);
		iqf_json_str(buf, "name", snap->node_name, &first);
		iqf_json_str(buf, "host", self_host, &first);
		iqf_json_int(buf, "port", PostPortNumber, false, &first);
		iqf_json_time(buf, "since", snap->role_since, &first);
	}
	else
	{
		const IqfUpstream *up = &snap->upstream;
		bool		connected = up->state != IQF_UPSTREAM_LOST;

		iqf_json_str(buf, "status", connected ? "connected" : "unavailable", &first);
		iqf_json_str(buf, "host", up->sender_host, &first);
		iqf_json_int(buf, "port", up->sender_port, up->sender_port == 0, &first);
		iqf_json_str(buf, "receiver_status", up->status, &first);
		iqf_json_time(buf, "since", connected ? up->connected_since : up->disconnected_since, &first);
	}
	appendStringInfoChar(buf, '}');
}

static void
json_replicas(StringInfo buf, const IqfSnapshot *snap, const char *self_host)
{
	int			i;

	appendStringInfoChar(buf, '[');
	if (snap->in_recovery)
	{
		/* a standby reports itself */
		bool		first = true;

		appendStringInfoChar(buf, '{');
		iqf_json_str(buf, "name", snap->node_name, &first);
		iqf_json_str(buf, "host", self_host, &first);
		iqf_json_int(buf, "port", PostPortNumber, false, &first);
		iqf_json_str(buf, "status", snap->upstream.status, &first);
		iqf_json_key(buf, "readonly", &first);
		appendStringInfoString(buf, "true");
		iqf_json_int(buf, "lag_bytes", snap->lag_bytes, snap->lag_bytes < 0, &first);
		iqf_json_num(buf, "replay_lag_seconds", seconds(snap->lag_us), snap->lag_us < 0, &first);
		iqf_json_str(buf, "sync_state", NULL, &first);
		appendStringInfoChar(buf, '}');
	}
	for (i = 0; i < snap->n_standbys; i++)
	{
		const IqfStandby *sb = &snap->standbys[i];
		int64		lag = iqf_report_standby_lag_bytes(snap, sb);
		double		lag_s = iqf_report_standby_lag_seconds(sb);
		bool		first = true;

		if (i > 0 || snap->in_recovery)
			appendStringInfoString(buf, ", ");
		appendStringInfoChar(buf, '{');
		iqf_json_str(buf, "name", sb->application_name, &first);
		iqf_json_str(buf, "host", sb->client_addr, &first);
		iqf_json_str(buf, "status", sb->state, &first);
		iqf_json_key(buf, "readonly", &first);
		appendStringInfoString(buf, "true");
		iqf_json_int(buf, "lag_bytes", lag, lag < 0, &first);
		iqf_json_num(buf, "replay_lag_seconds", lag_s, lag_s < 0, &first);
		iqf_json_str(buf, "sync_state", sb->sync_state, &first);
		iqf_json_time(buf, "connected_since", sb->connected_since, &first);
		appendStringInfoChar(buf, '}');
	}
	appendStringInfoChar(buf, ']');
}

/* Failover view of the cluster: who is primary, term, votes, phase. */
static void
json_cluster(StringInfo buf)
{
	IqfHa		ha;
	bool		first = true;
	int			voters;

	LWLockAcquire(iqf_ha->lock, LW_SHARED);
	memcpy(&ha, iqf_ha, sizeof(IqfHa));
	LWLockRelease(iqf_ha->lock);
	voters = iqf_ha_voter_count(&ha.durable);
	appendStringInfoChar(buf, '{');
	iqf_json_str(buf, "primary", ha.known_primary, &first);
	iqf_json_int(buf, "term", (int64) ha.durable.term, false, &first);
	iqf_json_str(buf, "failover_state", ha.phase, &first);
	iqf_json_int(buf, "voters", voters, false, &first);
	iqf_json_int(buf, "quorum", iqf_failover_quorum(voters), false, &first);
	iqf_json_int(buf, "votes", ha.votes, false, &first);
	iqf_json_key(buf, "auto_failover", &first);
	appendStringInfoString(buf, iqf_auto_failover && iqf_failover_enabled_for(voters) ? "true" : "false");
	iqf_json_key(buf, "paused", &first);
	appendStringInfoString(buf, ha.durable.paused ? "true" : "false");
	iqf_json_key(buf, "accepting_writes", &first);
	appendStringInfoString(buf, !RecoveryInProgress() && !iqf_ha_is_witness() && iqf_ha_writes_allowed() ? "true" : "false");
	appendStringInfoChar(buf, '}');
}

/*
 * The health answer as JSON text, shaped like the original application's
 * GET /api/health/: status, role, node, primary {status, host, port},
 * replicas [{name, host, status, readonly, lag_bytes, replay_lag_seconds,
 * sync_state}], checked_at; plus reasons and their details.
 */
char *
iqf_report_health_json(const IqfSnapshot *snap, int monitor_pid, TimestampTz now)
{
	StringInfoData buf;
	IqfHealthResult h = iqf_report_health(snap, monitor_pid, now);
	char		self_host[256];
	bool		first = true;
	int			r;
	bool		rfirst;

	own_host(self_host, sizeof(self_host));
	initStringInfo(&buf);
	appendStringInfoChar(&buf, '{');
	iqf_json_str(&buf, "status", iqf_decision_status_name(h.status), &first);
	iqf_json_str(&buf, "role", iqf_report_role(snap), &first);
	iqf_json_str(&buf, "node", snap->node_name, &first);
	iqf_json_int(&buf, "timeline", snap->timeline, !snap->valid, &first);

	iqf_json_key(&buf, "reasons", &first);
	appendStringInfoChar(&buf, '[');
	rfirst = true;
	for (r = 0; r < IQF_NUM_REASONS; r++)
		if (h.reasons & (1u << r))
		{
			bool		f = true;

			if (!rfirst)
				appendStringInfoString(&buf, ", ");
			rfirst = false;
			appendStringInfoChar(&buf, '{');
			iqf_json_str(&buf, "reason", iqf_decision_reason_name(r), &f);
			iqf_json_key(&buf, "detail", &f);
			{
				StringInfoData d;

				initStringInfo(&d);
				iqf_report_reason_detail(&d, r, snap, now);
				escape_json(&buf, d.data);
				pfree(d.data);
			}
			appendStringInfoChar(&buf, '}');
		}
	appendStringInfoChar(&buf, ']');

	iqf_json_key(&buf, "primary", &first);
	json_primary(&buf, snap, self_host);
	iqf_json_key(&buf, "replicas", &first);
	json_replicas(&buf, snap, self_host);
	iqf_json_key(&buf, "cluster", &first);
	json_cluster(&buf);
	iqf_json_time(&buf, "checked_at", snap->valid ? snap->sampled_at : 0, &first);
	appendStringInfoChar(&buf, '}');
	return buf.data;
}
