/*-------------------------------------------------------------------------
 *
 * http_response.c
 *	  The health endpoints' answers: status code and body per route, from a
 *	  private copy of the monitor's snapshot.
 *
 * Status codes follow what load balancers already expect from Patroni:
 * 200 means "send traffic here", 503 means "don't".  Every check also
 * refuses when the monitor is not running or its snapshot is stale, so a
 * hung node is never advertised.
 *
 * Copyright (c) 2026, innoquim_failover developers
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "utils/timestamp.h"

#include "ha_state.h"
#include "http_response.h"
#include "report.h"
#include "state.h"

static const int status_codes[IQF_HTTP_NSTATUS] = IQF_HTTP_STATUS_CODES;

int
iqf_http_status_index(int status)
{
	int			i;

	for (i = 0; i < IQF_HTTP_NSTATUS; i++)
		if (status_codes[i] == status)
			return i;
	return -1;
}

const char *
iqf_http_reason_phrase(int status)
{
	switch (status)
	{
		case 200:
			return "OK";
		case 400:
			return "Bad Request";
		case 404:
			return "Not Found";
		case 405:
			return "Method Not Allowed";
		case 408:
			return "Request Timeout";
		case 413:
			return "Content Too Large";
		case 414:
			return "URI Too Long";
		case 431:
			return "Request Header Fields Too Large";
		case 503:
			return "Service Unavailable";
	}
	return "Error";
}

static void
begin_json(IqfHttpAnswer *a, int status)
{
	a->status = status;
	a->content_type = "application/json";
	initStringInfo(&a->body);
}

void
iqf_http_error_answer(int status, const char *hint, IqfHttpAnswer *a)
{
	bool		first = true;

	begin_json(a, status);
	appendStringInfoChar(&a->body, '{');
	iqf_json_str(&a->body, "error", iqf_http_reason_phrase(status), &first);
	if (hint)
		iqf_json_str(&a->body, "hint", hint, &first);
	appendStringInfoString(&a->body, "}\n");
}

/* Is the snapshot one a check may trust at all? */
static bool
trustworthy(IqfHealthResult h)
{
	return !(h.reasons & ((1u << IQF_REASON_MONITOR_NOT_RUNNING) |
						  (1u << IQF_REASON_SNAPSHOT_STALE)));
}

static bool
primary_ok(const IqfSnapshot *snap, IqfHealthResult h)
{
	/* a witness or a fenced node is never advertised for writes */
	return trustworthy(h) && snap->valid && !snap->in_recovery &&
		!iqf_ha_is_witness() && iqf_ha_writes_allowed();
}

/*
 * A standby fit for reads: streaming from its primary, within the byte
 * limit (max_lag, or ?lag= for this check) and within max_lag_time.
 */
static bool
replica_ok(const IqfSnapshot *snap, IqfHealthResult h, int64 max_lag_bytes)
{
	if (!trustworthy(h) || !snap->valid || !snap->in_recovery)
		return false;
	if (snap->upstream.state != IQF_UPSTREAM_STREAMING)
		return false;
	if (max_lag_bytes >= 0 && snap->lag_bytes > max_lag_bytes)
		return false;
	if (snap->health_cfg.max_lag_us >= 0 && snap->lag_us > snap->health_cfg.max_lag_us)
		return false;
	return true;
}

/* Short body of a yes/no check. */
static void
check_body(IqfHttpAnswer *a, const char *check, bool ok, const IqfSnapshot *snap,
		   IqfHealthResult h, int64 lag_limit)
{
	bool		first = true;

	begin_json(a, ok ? 200 : 503);
	appendStringInfoChar(&a->body, '{');
	iqf_json_str(&a->body, "check", check, &first);
	iqf_json_key(&a->body, "ok", &first);
	appendStringInfoString(&a->body, ok ? "true" : "false");
	iqf_json_str(&a->body, "node", snap->node_name, &first);
	iqf_json_str(&a->body, "role", snap->valid ? iqf_report_role(snap) : NULL, &first);
	iqf_json_str(&a->body, "status", iqf_decision_status_name(h.status), &first);
	if (snap->valid && snap->in_recovery)
	{
		iqf_json_str(&a->body, "upstream", snap->upstream.status, &first);
		iqf_json_int(&a->body, "lag_bytes", snap->lag_bytes, snap->lag_bytes < 0, &first);
		iqf_json_int(&a->body, "max_lag_bytes", lag_limit, lag_limit < 0, &first);
	}
	appendStringInfoString(&a->body, "}\n");
}

static void
lag_body(IqfHttpAnswer *a, const IqfSnapshot *snap)
{
	bool		first = true;
	int			i;

	begin_json(a, snap->valid ? 200 : 503);
	appendStringInfoChar(&a->body, '{');
	iqf_json_str(&a->body, "node", snap->node_name, &first);
	iqf_json_str(&a->body, "role", snap->valid ? iqf_report_role(snap) : NULL, &first);
	iqf_json_int(&a->body, "lag_bytes", snap->lag_bytes, !snap->in_recovery || snap->lag_bytes < 0, &first);
	iqf_json_num(&a->body, "lag_seconds", snap->lag_us / 1000000.0,
				 !snap->in_recovery || snap->lag_us < 0, &first);
	iqf_json_key(&a->body, "standbys", &first);
	appendStringInfoChar(&a->body, '[');
	for (i = 0; i < snap->n_standbys; i++)
	{
		const IqfStandby *sb = &snap->standbys[i];
		int64		lag = iqf_report_standby_lag_bytes(snap, sb);
		double		lag_s = iqf_report_standby_lag_seconds(sb);
		bool		f = true;

		if (i > 0)
			appendStringInfoString(&a->body, ", ");
		appendStringInfoChar(&a->body, '{');
		iqf_json_str(&a->body, "name", sb->application_name, &f);
		iqf_json_str(&a->body, "client_addr", sb->client_addr, &f);
		iqf_json_str(&a->body, "state", sb->state, &f);
		iqf_json_int(&a->body, "lag_bytes", lag, lag < 0, &f);
		iqf_json_num(&a->body, "replay_lag_seconds", lag_s, lag_s < 0, &f);
		appendStringInfoChar(&a->body, '}');
	}
	appendStringInfoString(&a->body, "]}\n");
}

static void
role_body(IqfHttpAnswer *a, const IqfSnapshot *snap)
{
	bool		first = true;

	begin_json(a, snap->valid ? 200 : 503);
	appendStringInfoChar(&a->body, '{');
	iqf_json_str(&a->body, "node_name", snap->node_name, &first);
	iqf_json_str(&a->body, "role", snap->valid ? iqf_report_role(snap) : NULL, &first);
	iqf_json_key(&a->body, "in_recovery", &first);
	appendStringInfoString(&a->body, snap->in_recovery ? "true" : "false");
	iqf_json_int(&a->body, "timeline", snap->timeline, !snap->valid, &first);
	iqf_json_key(&a->body, "accepting_writes", &first);
	appendStringInfoString(&a->body, snap->valid && !snap->in_recovery && !iqf_ha_is_witness() &&
						   iqf_ha_writes_allowed() ? "true" : "false");
	iqf_json_time(&a->body, "role_since", snap->valid ? snap->role_since : 0, &first);
	appendStringInfoString(&a->body, "}\n");
}

/* Prometheus label value: escape backslash, quote and newline. */
static void
label(StringInfo buf, const char *val)
{
	const char *p;

	for (p = val ? val : ""; *p; p++)
	{
		if (*p == '\\' || *p == '"')
			appendStringInfoChar(buf, '\\');
		if (*p == '\n')
		{
			appendStringInfoString(buf, "\\n");
			continue;
		}
		appendStringInfoChar(buf, *p);
	}
}

static void
metric_head(StringInfo buf, const char *name, const char *type, const char *help)
{
	appendStringInfo(buf, "# HELP innoquim_failover_%s %s\n# TYPE innoquim_failover_%s %s\n",
					 name, help, name, type);
}

static void
metric(StringInfo buf, const char *name, const IqfSnapshot *snap, const char *extra_labels,
	   double value)
{
	appendStringInfo(buf, "innoquim_failover_%s{node=\"", name);
	label(buf, snap->node_name);
	appendStringInfo(buf, "\"%s} ", extra_labels ? extra_labels : "");
	if (value == (double) (int64) value)
		appendStringInfo(buf, INT64_FORMAT "\n", (int64) value);
	else
		appendStringInfo(buf, "%.6f\n", value);
}

/* One sample of a per-standby metric, labelled with the standby's name. */
static void
standby_metric(StringInfo b, const char *name, const IqfSnapshot *snap,
			   const IqfStandby *sb, double value)
{
	StringInfoData l;

	initStringInfo(&l);
	appendStringInfoString(&l, ",standby=\"");
	label(&l, sb->application_name);
	appendStringInfoString(&l, "\"");
	metric(b, name, snap, l.data, value);
	pfree(l.data);
}

static void
metrics_body(IqfHttpAnswer *a, const IqfSnapshot *snap, IqfHealthResult h,
			 const IqfHttpCounters *c, TimestampTz now)
{
	StringInfo	b = &a->body;
	int			i;

	a->status = 200;
	a->content_type = "text/plain; version=0.0.4; charset=utf-8";
	initStringInfo(b);

	metric_head(b, "up", "gauge", "1 if the monitor is running and its snapshot is fresh.");
	metric(b, "up", snap, NULL, trustworthy(h) ? 1 : 0);
	metric_head(b, "role", "gauge", "1 for the role this node has.");
	{
		static const char *const roles[] = {"primary", "standby", "witness", "fenced"};
		const char *role = snap->valid ? iqf_report_role(snap) : "";
		int			r;

		for (r = 0; r < lengthof(roles); r++)
		{
			char		l[32];

			snprintf(l, sizeof(l), ",role=\"%s\"", roles[r]);
			metric(b, "role", snap, l, strcmp(role, roles[r]) == 0 ? 1 : 0);
		}
	}
	metric_head(b, "health_status", "gauge", "1 for the current health status.");
	metric(b, "health_status", snap, ",status=\"healthy\"", h.status == IQF_HEALTHY);
	metric(b, "health_status", snap, ",status=\"degraded\"", h.status == IQF_DEGRADED);
	metric(b, "health_status", snap, ",status=\"unhealthy\"", h.status == IQF_UNHEALTHY);
	metric_head(b, "timeline", "gauge", "Current timeline.");
	metric(b, "timeline", snap, NULL, snap->timeline);
	metric_head(b, "sample_age_seconds", "gauge", "Age of the monitor's snapshot.");
	metric(b, "sample_age_seconds", snap, NULL,
		   snap->valid ? (now - snap->sampled_at) / 1000000.0 : -1);
	metric_head(b, "streaming_standbys", "gauge", "Standbys streaming from this node.");
	metric(b, "streaming_standbys", snap, NULL, iqf_report_streaming_standbys(snap));

	metric_head(b, "standby_lag_bytes", "gauge", "WAL a standby has yet to replay, seen from this node.");
	for (i = 0; i < snap->n_standbys; i++)
		standby_metric(b, "standby_lag_bytes", snap, &snap->standbys[i],
					   (double) iqf_report_standby_lag_bytes(snap, &snap->standbys[i]));
	metric_head(b, "standby_replay_lag_seconds", "gauge", "Replay lag of a standby, from its walsender.");
	for (i = 0; i < snap->n_standbys; i++)
		standby_metric(b, "standby_replay_lag_seconds", snap, &snap->standbys[i],
					   iqf_report_standby_lag_seconds(&snap->standbys[i]));
	if (snap->in_recovery)
	{
		metric_head(b, "upstream_connected", "gauge", "1 if this standby's WAL receiver is connected.");
		metric(b, "upstream_connected", snap, NULL, snap->upstream.state != IQF_UPSTREAM_LOST);
		metric_head(b, "lag_bytes", "gauge", "WAL this standby has yet to replay.");
		metric(b, "lag_bytes", snap, NULL, (double) snap->lag_bytes);
		metric_head(b, "lag_seconds", "gauge", "How long replay has been waiting (-1 unknown).");
		metric(b, "lag_seconds", snap, NULL, snap->lag_us < 0 ? -1 : snap->lag_us / 1000000.0);
	}

	metric_head(b, "role_changes_total", "counter", "Role transitions seen by the monitor.");
	metric(b, "role_changes_total", snap, NULL, (double) snap->role_changes);
	metric_head(b, "health_changes_total", "counter", "Health status transitions.");
	metric(b, "health_changes_total", snap, NULL, (double) snap->health_changes);
	metric_head(b, "upstream_changes_total", "counter", "Upstream connects and losses.");
	metric(b, "upstream_changes_total", snap, NULL, (double) snap->upstream_changes);
	metric_head(b, "standby_connects_total", "counter", "Standby connections seen.");
	metric(b, "standby_connects_total", snap, NULL, (double) snap->standby_connects);
	metric_head(b, "standby_disconnects_total", "counter", "Standby disconnections seen.");
	metric(b, "standby_disconnects_total", snap, NULL, (double) snap->standby_disconnects);

	metric_head(b, "http_requests_total", "counter", "HTTP requests answered, by status code.");
	for (i = 0; i < IQF_HTTP_NSTATUS; i++)
	{
		char		l[32];

		snprintf(l, sizeof(l), ",code=\"%d\"", status_codes[i]);
		metric(b, "http_requests_total", snap, l, (double) c->requests[i]);
	}
	metric_head(b, "http_connections_accepted_total", "counter", "HTTP connections accepted.");
	metric(b, "http_connections_accepted_total", snap, NULL, (double) c->connections_accepted);
	metric_head(b, "http_connections_evicted_total", "counter", "Idle HTTP connections closed to admit new ones.");
	metric(b, "http_connections_evicted_total", snap, NULL, (double) c->connections_evicted);
	metric_head(b, "http_connections_timed_out_total", "counter", "HTTP connections closed for a timeout.");
	metric(b, "http_connections_timed_out_total", snap, NULL, (double) c->connections_timed_out);
	metric_head(b, "http_connections_open", "gauge", "Open HTTP connections.");
	metric(b, "http_connections_open", snap, NULL, c->connections_open);
}

/*
 * iqf_http_answer
 *		Answer one complete request.  Allocates in the current context.
 */
void
iqf_http_answer(const IqfHttpRequest *req, const IqfHttpCounters *counters,
				IqfHttpAnswer *a)
{
	int			monitor_pid;
	IqfSnapshot *snap;
	TimestampTz now;
	IqfHealthResult h;
	IqfHttpRoute route = iqf_http_route(req->path);

	if (route == IQF_ROUTE_NOT_FOUND)
	{
		iqf_http_error_answer(404, NULL, a);
		return;
	}
	if (req->method == IQF_HTTP_OTHER)
	{
		iqf_http_error_answer(405, "use GET, HEAD or OPTIONS", a);
		return;
	}

	snap = iqf_state_snapshot(&monitor_pid);
	now = GetCurrentTimestamp();
	h = iqf_report_health(snap, monitor_pid, now);

	switch (route)
	{
		case IQF_ROUTE_HEALTH:
			a->status = h.status == IQF_UNHEALTHY ? 503 : 200;
			a->content_type = "application/json";
			initStringInfo(&a->body);
			appendStringInfoString(&a->body, iqf_report_health_json(snap, monitor_pid, now));
			appendStringInfoChar(&a->body, '\n');
			break;
		case IQF_ROUTE_PRIMARY:
			check_body(a, "primary", primary_ok(snap, h), snap, h, -1);
			break;
		case IQF_ROUTE_REPLICA:
		case IQF_ROUTE_READ_ONLY:
			{
				int64		limit = snap->health_cfg.max_lag_bytes;
				char		val[64];
				int			found = iqf_http_query_param(req->query, "lag", val, sizeof(val));

				if (route == IQF_ROUTE_REPLICA && found != 0)
				{
					if (found < 0 || !iqf_http_parse_size(val, &limit))
					{
						iqf_http_error_answer(400, "lag takes a size such as 1048576, 512kB or 16MB", a);
						return;
					}
				}
				if (route == IQF_ROUTE_REPLICA)
					check_body(a, "replica", replica_ok(snap, h, limit), snap, h, limit);
				else
					check_body(a, "read-only",
							   primary_ok(snap, h) || replica_ok(snap, h, limit), snap, h, limit);
			}
			break;
		case IQF_ROUTE_LAG:
			lag_body(a, snap);
			break;
		case IQF_ROUTE_ROLE:
			role_body(a, snap);
			break;
		case IQF_ROUTE_METRICS:
			metrics_body(a, snap, h, counters, now);
			break;
		case IQF_ROUTE_NOT_FOUND:
			break;
	}
}
