/*-------------------------------------------------------------------------
 *
 * report.h
 *	  Turn a snapshot into answers: health verdict, reason details, JSON.
 *
 * Copyright (c) 2026, innoquim_failover developers
 *
 *-------------------------------------------------------------------------
 */
#ifndef IQF_REPORT_H
#define IQF_REPORT_H

#include "lib/stringinfo.h"
#include "state.h"

extern IqfHealthResult iqf_report_health(const IqfSnapshot *snap, int monitor_pid,
										 TimestampTz now);
extern int	iqf_report_streaming_standbys(const IqfSnapshot *snap);
extern const char *iqf_report_role(const IqfSnapshot *snap);
extern int64 iqf_report_standby_lag_bytes(const IqfSnapshot *snap, const IqfStandby *sb);
extern double iqf_report_standby_lag_seconds(const IqfStandby *sb);
extern void iqf_report_reason_detail(StringInfo buf, IqfReason reason,
									 const IqfSnapshot *snap, TimestampTz now);
extern void iqf_report_reasons_text(StringInfo buf, uint32 reasons);
extern char *iqf_report_health_json(const IqfSnapshot *snap, int monitor_pid,
									TimestampTz now);

/* JSON output helpers: "key": value, with a comma unless *first */
extern void iqf_json_key(StringInfo buf, const char *key, bool *first);
extern void iqf_json_str(StringInfo buf, const char *key, const char *val, bool *first);
extern void iqf_json_int(StringInfo buf, const char *key, int64 val, bool null, bool *first);
extern void iqf_json_num(StringInfo buf, const char *key, double val, bool null, bool *first);
extern void iqf_json_time(StringInfo buf, const char *key, TimestampTz t, bool *first);

#endif							/* IQF_REPORT_H */
