/*-------------------------------------------------------------------------
 *
 * http_response.h
 *	  What each health endpoint answers, built from a snapshot copy.
 *
 * Copyright (c) 2026, innoquim_failover developers
 *
 *-------------------------------------------------------------------------
 */
#ifndef IQF_HTTP_RESPONSE_H
#define IQF_HTTP_RESPONSE_H

#include "lib/stringinfo.h"

#include "http_request.h"

/* status codes the server counts for /metrics */
#define IQF_HTTP_STATUS_CODES {200, 400, 404, 405, 408, 413, 414, 431, 503}
#define IQF_HTTP_NSTATUS 9

typedef struct IqfHttpCounters
{
	uint64		requests[IQF_HTTP_NSTATUS]; /* by status, see above */
	uint64		connections_accepted;
	uint64		connections_evicted;	/* closed to admit a new one */
	uint64		connections_timed_out;
	int			connections_open;
} IqfHttpCounters;

typedef struct IqfHttpAnswer
{
	int			status;
	const char *content_type;
	StringInfoData body;
} IqfHttpAnswer;

extern void iqf_http_answer(const IqfHttpRequest *req, const IqfHttpCounters *counters,
							IqfHttpAnswer *answer);
extern void iqf_http_error_answer(int status, const char *hint, IqfHttpAnswer *answer);
extern const char *iqf_http_reason_phrase(int status);
extern int	iqf_http_status_index(int status);

#endif							/* IQF_HTTP_RESPONSE_H */
