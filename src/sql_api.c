/*-------------------------------------------------------------------------
 *
 * sql_api.c
 *	  SQL-callable functions behind the views of schema innoquim_failover.
 *
 * Each function copies the snapshot out of shared memory (state.c), then
 * builds its tuples from the private copy.  Privileges are granted in the
 * install script (superusers and pg_monitor members only).
 *
 * Copyright (c) 2026, innoquim_failover developers
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/xlog.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/inet.h"
#include "utils/jsonb.h"
#include "utils/pg_lsn.h"
#include "utils/timestamp.h"

#include "ha_state.h"
#include "innoquim_failover.h"
#include "report.h"
#include "state.h"

PG_FUNCTION_INFO_V1(iqf_role);
PG_FUNCTION_INFO_V1(iqf_health);
PG_FUNCTION_INFO_V1(iqf_replication);
PG_FUNCTION_INFO_V1(iqf_upstream);
PG_FUNCTION_INFO_V1(iqf_events);
PG_FUNCTION_INFO_V1(iqf_health_json);

#define MAX_COLS 24

/* Column builder: one tuple's values and nulls, filled left to right. */
typedef struct Row
{
	Datum		values[MAX_COLS];
	bool		nulls[MAX_COLS];
	int			n;
} Row;

static void
put(Row *row, Datum d, bool isnull)
{
	Assert(row->n < MAX_COLS);
	row->values[row->n] = d;
	row->nulls[row->n] = isnull;
	row->n++;
}

static void
put_text(Row *row, const char *s)
{
	put(row, s && s[0] ? CStringGetTextDatum(s) : (Datum) 0, !(s && s[0]));
}

static void
put_lsn(Row *row, XLogRecPtr lsn)
{
	put(row, LSNGetDatum(lsn), lsn == InvalidXLogRecPtr);
}

static void
put_time(Row *row, TimestampTz t)
{
	put(row, TimestampTzGetDatum(t), t == 0);
}

static void
put_interval_us(Row *row, int64 us)
{
	Interval   *iv;

	if (us < 0)
	{
		put(row, (Datum) 0, true);
		return;
	}
	iv = palloc0(sizeof(Interval));
	iv->time = us;
	put(row, IntervalPGetDatum(iv), false);
}

static void
put_seconds(Row *row, double s)
{
	put(row, Float8GetDatum(s), s < 0);
}

static void
put_inet(Row *row, const char *addr)
{
	if (addr == NULL || addr[0] == '\0')
		put(row, (Datum) 0, true);
	else
		put(row, DirectFunctionCall1(inet_in, CStringGetDatum(addr)), false);
}

static TupleDesc
result_desc(FunctionCallInfo fcinfo)
{
	TupleDesc	tupdesc;

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	return BlessTupleDesc(tupdesc);
}

static Datum
row_datum(FunctionCallInfo fcinfo, Row *row)
{
	TupleDesc	tupdesc = result_desc(fcinfo);

	if (row->n != tupdesc->natts)
		elog(ERROR, "innoquim_failover: built %d columns, expected %d", row->n, tupdesc->natts);
	return HeapTupleGetDatum(heap_form_tuple(tupdesc, row->values, row->nulls));
}

static void
srf_put(ReturnSetInfo *rsinfo, Row *row)
{
	if (row->n != rsinfo->setDesc->natts)
		elog(ERROR, "innoquim_failover: built %d columns, expected %d", row->n, rsinfo->setDesc->natts);
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, row->values, row->nulls);
}

static Datum
text_array(const char **items, int n)
{
	Datum	   *d = palloc(sizeof(Datum) * Max(n, 1));
	int			i;

	for (i = 0; i < n; i++)
		d[i] = CStringGetTextDatum(items[i]);
	return PointerGetDatum(construct_array(d, n, TEXTOID, -1, false, TYPALIGN_INT));
}

/* The role of a node whose monitor has never published: read it live. */
static bool
snapshot_in_recovery(const IqfSnapshot *snap)
{
	return snap->valid ? snap->in_recovery : RecoveryInProgress();
}

Datum
iqf_role(PG_FUNCTION_ARGS)
{
	IqfSnapshot *snap = iqf_state_snapshot(NULL);
	bool		in_recovery = snapshot_in_recovery(snap);
	char		name[IQF_NAME_LEN];
	Row			row = {0};

	if (snap->valid)
		strlcpy(name, snap->node_name, sizeof(name));
	else
		iqf_node_name(name, sizeof(name));

	put_text(&row, name);
	put_text(&row, iqf_ha_role_name(in_recovery));
	put(&row, BoolGetDatum(in_recovery), false);
	put(&row, Int64GetDatum(snap->timeline), !snap->valid);
	put(&row, BoolGetDatum(!in_recovery && !iqf_ha_is_witness() && iqf_ha_writes_allowed()), false);
	put_time(&row, snap->valid ? snap->role_since : 0);
	put(&row, Int64GetDatum(snap->role_changes), false);
	PG_RETURN_DATUM(row_datum(fcinfo, &row));
}

Datum
iqf_health(PG_FUNCTION_ARGS)
{
	int			monitor_pid;
	IqfSnapshot *snap = iqf_state_snapshot(&monitor_pid);
	TimestampTz now = GetCurrentTimestamp();
	IqfHealthResult h = iqf_report_health(snap, monitor_pid, now);
	const char *codes[IQF_NUM_REASONS];
	const char *details[IQF_NUM_REASONS];
	int			n = 0;
	int			r;
	Row			row = {0};

	for (r = 0; r < IQF_NUM_REASONS; r++)
	{
		StringInfoData d;

		if (!(h.reasons & (1u << r)))
			continue;
		initStringInfo(&d);
		iqf_report_reason_detail(&d, r, snap, now);
		codes[n] = iqf_decision_reason_name(r);
		details[n] = d.data;
		n++;
	}

	put_text(&row, iqf_decision_status_name(h.status));
	put(&row, text_array(codes, n), false);
	put(&row, text_array(details, n), false);
	put_text(&row, snap->valid ? iqf_report_role(snap) : NULL);
	put_time(&row, snap->valid ? snap->sampled_at : 0);
	put_interval_us(&row, snap->valid ? Max(now - snap->sampled_at, 0) : -1);
	put(&row, Int32GetDatum(monitor_pid), monitor_pid == 0);
	put(&row, Int32GetDatum(snap->monitor_interval_ms), !snap->valid);
	put(&row, Int32GetDatum(iqf_report_streaming_standbys(snap)), !snap->valid);
	put(&row, Int32GetDatum(snap->health_cfg.min_standbys), !snap->valid);
	put_text(&row, snap->valid && snap->in_recovery ? snap->upstream.status : NULL);
	put(&row, Int64GetDatum(snap->lag_bytes), !snap->valid || snap->lag_bytes < 0);
	put_seconds(&row, snap->valid && snap->lag_us >= 0 ? snap->lag_us / 1000000.0 : -1);
	put_time(&row, snap->valid ? snap->health_since : 0);
	put(&row, Int64GetDatum(snap->health_changes), false);
	{
		IqfHa		ha;

		LWLockAcquire(iqf_ha->lock, LW_SHARED);
		memcpy(&ha, iqf_ha, sizeof(IqfHa));
		LWLockRelease(iqf_ha->lock);
		put_text(&row, ha.known_primary);
		put(&row, Int64GetDatum((int64) ha.durable.term), false);
		put_text(&row, ha.phase);
		put(&row, Int32GetDatum(iqf_ha_voter_count(&ha.durable)), false);
		put(&row, Int32GetDatum(ha.votes), false);
	}
	PG_RETURN_DATUM(row_datum(fcinfo, &row));
}

Datum
iqf_replication(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	IqfSnapshot *snap = iqf_state_snapshot(NULL);
	int			i;

	InitMaterializedSRF(fcinfo, 0);
	if (!snap->valid)
		return (Datum) 0;
	for (i = 0; i < snap->n_standbys; i++)
	{
		const IqfStandby *sb = &snap->standbys[i];
		int64		lag = iqf_report_standby_lag_bytes(snap, sb);
		Row			row = {0};

		put(&row, Int32GetDatum(sb->pid), false);
		put_text(&row, sb->application_name);
		put_inet(&row, sb->client_addr);
		put(&row, Int32GetDatum(sb->client_port), sb->client_port < 0);
		put_text(&row, sb->state);
		put_text(&row, sb->sync_state);
		put(&row, Int32GetDatum(sb->sync_priority), false);
		put_lsn(&row, sb->sent_lsn);
		put_lsn(&row, sb->write_lsn);
		put_lsn(&row, sb->flush_lsn);
		put_lsn(&row, sb->replay_lsn);
		put_interval_us(&row, sb->write_lag_us);
		put_interval_us(&row, sb->flush_lag_us);
		put_interval_us(&row, sb->replay_lag_us);
		put(&row, Int64GetDatum(lag), lag < 0);
		put_seconds(&row, iqf_report_standby_lag_seconds(sb));
		put_time(&row, sb->reply_time);
		put_time(&row, sb->connected_since);
		srf_put(rsinfo, &row);
	}
	return (Datum) 0;
}

Datum
iqf_upstream(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	IqfSnapshot *snap = iqf_state_snapshot(NULL);
	const IqfUpstream *up = &snap->upstream;
	Row			row = {0};

	InitMaterializedSRF(fcinfo, 0);
	if (!snap->valid || !snap->in_recovery)
		return (Datum) 0;

	put_text(&row, up->status);
	put(&row, BoolGetDatum(up->state != IQF_UPSTREAM_LOST), false);
	put(&row, Int32GetDatum(up->pid), up->pid == 0);
	put_text(&row, up->sender_host);
	put(&row, Int32GetDatum(up->sender_port), up->sender_port == 0);
	put_text(&row, up->conninfo);
	put_text(&row, up->slot_name);
	put_lsn(&row, up->received_lsn);
	put(&row, Int64GetDatum(up->received_tli), up->received_tli == 0);
	put_lsn(&row, snap->replay_lsn);
	put_lsn(&row, up->latest_end_lsn);
	put(&row, Int64GetDatum(snap->lag_bytes), snap->lag_bytes < 0);
	put_seconds(&row, snap->lag_us >= 0 ? snap->lag_us / 1000000.0 : -1);
	put_time(&row, up->last_msg_send_time);
	put_time(&row, up->last_msg_receipt_time);
	put_time(&row, up->latest_end_time);
	put_time(&row, snap->last_replay_time);
	put_time(&row, up->connected_since);
	put_time(&row, up->disconnected_since);
	put(&row, Int64GetDatum(snap->upstream_changes), false);
	srf_put(rsinfo, &row);
	return (Datum) 0;
}

Datum
iqf_events(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	IqfEvent   *events;
	int			n;
	int			i;

	iqf_state_require();
	InitMaterializedSRF(fcinfo, 0);
	n = iqf_state_events(&events);
	for (i = 0; i < n; i++)
	{
		Row			row = {0};

		put(&row, Int64GetDatum(events[i].seq), false);
		put_time(&row, events[i].at);
		put_text(&row, events[i].kind);
		put_text(&row, events[i].detail);
		srf_put(rsinfo, &row);
	}
	return (Datum) 0;
}

Datum
iqf_health_json(PG_FUNCTION_ARGS)
{
	int			monitor_pid;
	IqfSnapshot *snap = iqf_state_snapshot(&monitor_pid);
	char	   *json = iqf_report_health_json(snap, monitor_pid, GetCurrentTimestamp());

	PG_RETURN_DATUM(DirectFunctionCall1(jsonb_in, CStringGetDatum(json)));
}
