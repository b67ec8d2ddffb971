/*-------------------------------------------------------------------------
 *
 * http_request.h
 *	  HTTP/1.x request reading for the health endpoint: incremental parsing
 *	  (on top of the http-parser library), limits, routing and query values.
 *
 * Pure module: C standard library and http_parser.h only, no PostgreSQL
 * headers, no allocation, so that test/fuzz/ can drive it directly.
 *
 * Copyright (c) 2026, innoquim_failover developers
 *
 *-------------------------------------------------------------------------
 */
#ifndef IQF_HTTP_REQUEST_H
#define IQF_HTTP_REQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <http_parser.h>

#define IQF_HTTP_MAX_PATH	(IQF_HTTP_MAX_URL + 1)
#define IQF_HTTP_MAX_QUERY	(IQF_HTTP_MAX_URL + 1)
#define IQF_HTTP_MAX_URL	1024	/* longer: 414 */

typedef enum IqfHttpMethod
{
	IQF_HTTP_GET,
	IQF_HTTP_HEAD,
	IQF_HTTP_OPTIONS,
	IQF_HTTP_OTHER				/* answered 405 */
} IqfHttpMethod;

typedef enum IqfHttpRoute
{
	IQF_ROUTE_NOT_FOUND = 0,
	IQF_ROUTE_HEALTH,			/* /health, /api/health/ */
	IQF_ROUTE_PRIMARY,			/* /, /primary, /master, /read-write */
	IQF_ROUTE_REPLICA,			/* /replica, /standby */
	IQF_ROUTE_READ_ONLY,		/* /read-only */
	IQF_ROUTE_LAG,				/* /lag */
	IQF_ROUTE_ROLE,				/* /role */
	IQF_ROUTE_METRICS			/* /metrics */
} IqfHttpRoute;

/* One parsed request, valid once complete is set. */
typedef struct IqfHttpRequest
{
	IqfHttpMethod method;
	char		path[IQF_HTTP_MAX_PATH];	/* percent-decoded */
	char		query[IQF_HTTP_MAX_QUERY];	/* raw, without '?' */
	bool		keep_alive;
	bool		complete;
} IqfHttpRequest;

/*
 * Incremental reader of one connection's byte stream.  error_status is set
 * (400, 414, 431) when the stream can no longer be read; the connection is
 * then answered with that status and closed.
 */
typedef struct IqfHttpReader
{
	http_parser parser;
	size_t		max_header_bytes;	/* request line + headers limit */
	size_t		header_bytes;	/* counted so far for this request */
	size_t		url_len;
	char		url[IQF_HTTP_MAX_URL + 1];
	bool		in_request;		/* a request has begun and not completed */
	int			error_status;
	IqfHttpRequest request;
} IqfHttpReader;

extern void iqf_http_reader_init(IqfHttpReader *reader, size_t max_header_bytes);

/*
 * Feed bytes; returns how many were consumed.  Stops after each complete
 * request (reader->request.complete) so the caller answers requests one at a
 * time, in order; call iqf_http_reader_next() before feeding the rest.
 */
extern size_t iqf_http_reader_feed(IqfHttpReader *reader, const char *data, size_t len);
extern void iqf_http_reader_next(IqfHttpReader *reader);

extern IqfHttpRoute iqf_http_route(const char *path);

/*
 * Look up parameter name in a query string.  Returns 1 and copies the
 * percent-decoded value when present, 0 when absent, -1 when the query is
 * malformed (bad escape, value too long).
 */
extern int	iqf_http_query_param(const char *query, const char *name, char *value, size_t valuelen);

/*
 * Parse a size: digits with an optional unit B, kB, MB, GB or TB (case
 * insensitive, optional space), e.g. "1048576", "16MB", "512 kB".  Returns
 * false on anything else, including overflow and negative numbers.
 */
extern bool iqf_http_parse_size(const char *text, int64_t *bytes);

#endif							/* IQF_HTTP_REQUEST_H */
