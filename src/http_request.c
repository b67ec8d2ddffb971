/*-------------------------------------------------------------------------
 *
 * http_request.c
 *	  Read HTTP/1.x requests from a byte stream with the http-parser library
 *	  (Debian's libhttp-parser, the parser Node.js used for a decade), and
 *	  add what a health endpoint needs on top: size limits, routing, query
 *	  parameters and size values.
 *
 * Why a library and this one: HTTP framing (request line, header folding,
 * chunked bodies, pipelining, keep-alive rules of 1.0 and 1.1) is where
 * hand-written parsers go wrong.  http-parser is callback-driven, never
 * allocates, keeps no global state and needs no threads, so it runs inside
 * the server's own latch loop.  It is in maintenance mode upstream (its
 * successor llhttp is not packaged for C in Debian 12); it is confined to
 * this file, and this file is fuzzed (test/fuzz/).
 *
 * Pure module: no PostgreSQL headers, no allocation.
 *
 * Copyright (c) 2026, innoquim_failover developers
 *
 *-------------------------------------------------------------------------
 */
#include <ctype.h>
#include <string.h>

#include "http_request.h"

/*
 * While iqf_http_reader_feed() runs the parser, parser.data points to this:
 * the reader, and where the bytes being fed end.
 */
typedef struct FeedContext
{
	IqfHttpReader *reader;
	const char *end;
} FeedContext;

static IqfHttpReader *
reader_of(http_parser *p)
{
	return ((FeedContext *) p->data)->reader;
}

static int
fail(IqfHttpReader *r, int status)
{
	if (r->error_status == 0)
		r->error_status = status;
	return 1;					/* stops the parser */
}

/* Count request-line and header bytes against the limit. */
static int
count_header_bytes(IqfHttpReader *r, size_t len)
{
	r->header_bytes += len;
	if (r->header_bytes > r->max_header_bytes)
		return fail(r, 431);
	return 0;
}

static int
on_message_begin(http_parser *p)
{
	IqfHttpReader *r = reader_of(p);

	r->in_request = true;
	r->header_bytes = 0;
	r->url_len = 0;
	memset(&r->request, 0, sizeof(r->request));
	return 0;
}

static int
on_url(http_parser *p, const char *at, size_t len)
{
	IqfHttpReader *r = reader_of(p);

	if (r->url_len + len > IQF_HTTP_MAX_URL)
		return fail(r, 414);
	memcpy(r->url + r->url_len, at, len);
	r->url_len += len;
	r->url[r->url_len] = '\0';
	return count_header_bytes(r, len);
}

static int
on_header_field(http_parser *p, const char *at, size_t len)
{
	FeedContext *ctx = p->data;

	/*
	 * 4 more for ": " and CRLF, so that many tiny headers count too.  A name
	 * split across reads comes in pieces; the 4 are counted once, with the
	 * piece that ends the name (one that stops short of the end of the bytes
	 * fed), so that how the request was cut into reads does not matter.
	 */
	return count_header_bytes(ctx->reader, len + (at + len < ctx->end ? 4 : 0));
}

static int
on_header_value(http_parser *p, const char *at, size_t len)
{
	return count_header_bytes(reader_of(p), len);
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/*
 * Percent-decode src[0..len) into dst (NUL-terminated).  plus_is_space
 * applies the form rule for query values.  Refuses bad escapes, NUL bytes
 * and results that do not fit.
 */
static bool
decode(const char *src, size_t len, char *dst, size_t dstlen, bool plus_is_space)
{
	size_t		i;
	size_t		o = 0;

	if (dstlen == 0)
		return false;			/* not even room for the NUL */
	for (i = 0; i < len; i++)
	{
		int			c = (unsigned char) src[i];

		if (c == '%')
		{
			int			hi,
						lo;

			if (i + 2 >= len)
				return false;
			hi = hexval((unsigned char) src[i + 1]);
			lo = hexval((unsigned char) src[i + 2]);
			if (hi < 0 || lo < 0)
				return false;
			c = hi * 16 + lo;
			i += 2;
		}
		else if (c == '+' && plus_is_space)
			c = ' ';
		if (c == '\0' || o + 1 >= dstlen)
			return false;
		dst[o++] = (char) c;
	}
	dst[o] = '\0';
	return true;
}

static int
on_headers_complete(http_parser *p)
{
	IqfHttpReader *r = reader_of(p);
	struct http_parser_url u;
	size_t		qlen;

	switch (p->method)
	{
		case HTTP_GET:
			r->request.method = IQF_HTTP_GET;
			break;
		case HTTP_HEAD:
			r->request.method = IQF_HTTP_HEAD;
			break;
		case HTTP_OPTIONS:
			r->request.method = IQF_HTTP_OPTIONS;
			break;
		default:
			r->request.method = IQF_HTTP_OTHER;
			break;
	}
	r->request.keep_alive = http_should_keep_alive(p) != 0;

	/* "OPTIONS *" asks about the server, not a resource: treat as "/" */
	if (r->url_len == 1 && r->url[0] == '*')
	{
		strcpy(r->request.path, "/");
		return 0;
	}

	http_parser_url_init(&u);
	if (http_parser_parse_url(r->url, r->url_len, p->method == HTTP_CONNECT, &u) != 0)
		return fail(r, 400);
	if (u.field_set & (1 << UF_PATH))
	{
		if (!decode(r->url + u.field_data[UF_PATH].off, u.field_data[UF_PATH].len,
					r->request.path, sizeof(r->request.path), false))
			return fail(r, 400);
	}
	else
		strcpy(r->request.path, "/");
	if (u.field_set & (1 << UF_QUERY))
	{
		qlen = u.field_data[UF_QUERY].len;
		if (qlen >= sizeof(r->request.query))
			return fail(r, 414);
		memcpy(r->request.query, r->url + u.field_data[UF_QUERY].off, qlen);
		r->request.query[qlen] = '\0';
	}
	return 0;
}

/* A health check has no body; one that comes is read and discarded. */
static int
on_body(http_parser *p, const char *at, size_t len)
{
	IqfHttpReader *r = reader_of(p);

	r->header_bytes += len;
	if (r->header_bytes > r->max_header_bytes)
		return fail(r, 413);
	return 0;
}

static int
on_message_complete(http_parser *p)
{
	IqfHttpReader *r = reader_of(p);

	r->request.complete = true;
	r->in_request = false;
	/* answer this request before reading the next (pipelining) */
	http_parser_pause(p, 1);
	return 0;
}

static const http_parser_settings settings = {
	.on_message_begin = on_message_begin,
	.on_url = on_url,
	.on_header_field = on_header_field,
	.on_header_value = on_header_value,
	.on_headers_complete = on_headers_complete,
	.on_body = on_body,
	.on_message_complete = on_message_complete,
};

void
iqf_http_reader_init(IqfHttpReader *reader, size_t max_header_bytes)
{
	memset(reader, 0, sizeof(*reader));
	http_parser_init(&reader->parser, HTTP_REQUEST);
	reader->max_header_bytes = max_header_bytes;
}

size_t
iqf_http_reader_feed(IqfHttpReader *reader, const char *data, size_t len)
{
	FeedContext ctx;
	size_t		n;
	enum http_errno err;

	if (reader->error_status != 0 || reader->request.complete || len == 0)
		return 0;
	ctx.reader = reader;
	ctx.end = data + len;
	reader->parser.data = &ctx;
	n = http_parser_execute(&reader->parser, &settings, data, len);
	reader->parser.data = NULL;
	err = HTTP_PARSER_ERRNO(&reader->parser);
	if (err == HPE_PAUSED && reader->request.complete)
		return n;
	if (err != HPE_OK)
	{
		if (reader->error_status == 0)
			reader->error_status = (err == HPE_HEADER_OVERFLOW) ? 431 : 400;
		return n;
	}

	/*
	 * Stopped short without an error or a complete request: http-parser
	 * stops early only at the end of an upgrade request, which our pause has
	 * already made complete, so this is a safety net against dropping bytes.
	 * (Not parser.upgrade: that flag stays set after an upgrade request, and
	 * is set while an upgrade request's body is still coming.)
	 */
	if (n < len && !reader->request.complete)
		reader->error_status = 400;
	return n;
}

void
iqf_http_reader_next(IqfHttpReader *reader)
{
	memset(&reader->request, 0, sizeof(reader->request));
	http_parser_pause(&reader->parser, 0);
}

IqfHttpRoute
iqf_http_route(const char *path)
{
	static const struct
	{
		const char *path;
		IqfHttpRoute route;
	}			routes[] = {
		{"/", IQF_ROUTE_PRIMARY},
		{"/health", IQF_ROUTE_HEALTH},
		{"/api/health", IQF_ROUTE_HEALTH},
		{"/primary", IQF_ROUTE_PRIMARY},
		{"/master", IQF_ROUTE_PRIMARY},
		{"/read-write", IQF_ROUTE_PRIMARY},
		{"/replica", IQF_ROUTE_REPLICA},
		{"/standby", IQF_ROUTE_REPLICA},
		{"/read-only", IQF_ROUTE_READ_ONLY},
		{"/lag", IQF_ROUTE_LAG},
		{"/role", IQF_ROUTE_ROLE},
		{"/metrics", IQF_ROUTE_METRICS},
	};
	size_t		len = strlen(path);
	size_t		i;

	/* one trailing slash is allowed: /api/health/ is the original URL */
	if (len > 1 && path[len - 1] == '/')
		len--;
	for (i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
		if (strlen(routes[i].path) == len && strncmp(routes[i].path, path, len) == 0)
			return routes[i].route;
	return IQF_ROUTE_NOT_FOUND;
}

int
iqf_http_query_param(const char *query, const char *name, char *value, size_t valuelen)
{
	const char *p = query;
	size_t		namelen = strlen(name);

	while (p && *p)
	{
		const char *end = strchr(p, '&');
		size_t		seglen = end ? (size_t) (end - p) : strlen(p);
		const char *eq = memchr(p, '=', seglen);
		size_t		keylen = eq ? (size_t) (eq - p) : seglen;

		if (keylen == namelen && strncmp(p, name, namelen) == 0)
		{
			if (!eq)
			{
				if (valuelen == 0)
					return -1;
				value[0] = '\0';
				return 1;
			}
			if (!decode(eq + 1, seglen - keylen - 1, value, valuelen, true))
				return -1;
			return 1;
		}
		p = end ? end + 1 : NULL;
	}
	return 0;
}

bool
iqf_http_parse_size(const char *text, int64_t *bytes)
{
	static const struct
	{
		const char *unit;
		int64_t		mult;
	}			units[] = {
		{"", 1}, {"b", 1}, {"kb", 1024}, {"mb", 1024 * 1024},
		{"gb", (int64_t) 1024 * 1024 * 1024}, {"tb", (int64_t) 1024 * 1024 * 1024 * 1024},
	};
	const char *p = text;
	int64_t		n = 0;
	char		unit[4];
	size_t		ulen = 0;
	size_t		i;

	while (*p == ' ')
		p++;
	if (!isdigit((unsigned char) *p))
		return false;
	for (; isdigit((unsigned char) *p); p++)
	{
		int			d = *p - '0';

		if (n > (INT64_MAX - d) / 10)
			return false;
		n = n * 10 + d;
	}
	while (*p == ' ')
		p++;
	while (*p && *p != ' ')
	{
		if (ulen >= sizeof(unit) - 1 || !isalpha((unsigned char) *p))
			return false;
		unit[ulen++] = (char) tolower((unsigned char) *p);
		p++;
	}
	unit[ulen] = '\0';
	while (*p == ' ')
		p++;
	if (*p != '\0')
		return false;
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
	{
		if (strcmp(unit, units[i].unit) == 0)
		{
			if (n > INT64_MAX / units[i].mult)
				return false;
			*bytes = n * units[i].mult;
			return true;
		}
	}
	return false;
}
