/*-------------------------------------------------------------------------
 *
 * http_request_fuzz.c
 *	  libFuzzer target for src/http_request.c: the incremental request
 *	  reader, routing, query parameters and size values.
 *
 * Built and run by `make fuzzcheck` (clang, -fsanitize=fuzzer,address,
 * undefined); by hand:
 *
 *	  clang -g -O1 -fsanitize=fuzzer,address,undefined \
 *		  -fno-sanitize-recover=undefined -Isrc test/fuzz/http_request_fuzz.c \
 *		  src/http_request.c -lhttp_parser -o test/fuzz/http_request_fuzz
 *	  test/fuzz/http_request_fuzz -dict=test/fuzz/http_request.dict CORPUS_DIR
 *
 * Input layout: two control bytes, then the byte stream a client sends.
 *
 *	  byte 0  bits 0-1  max_header_bytes: 1024, 1024, 4096 or 64
 *			  bits 2-4  how the stream is cut into reads: 0 all at once,
 *						1 one byte at a time, k >= 2 pseudo-random pieces
 *						of 1..2^k bytes (seeded by byte 1)
 *			  bits 5-7  buffer size for iqf_http_query_param: 0, 64 (what
 *						http_response.c passes), 64, 64, 1, 2, 3 or 16
 *	  byte 1  seed of the cutting
 *
 * So printable control bytes suit the seed corpus (test/fuzz/corpus/):
 * byte 0 " " feeds all at once, "$" byte by byte, "0" in pieces of 1..16
 * bytes, "4" 1..32, "8" 1..64, "<" 1..128 (add 1 for the same with limit
 * 1024, 2 for 4096, 3 for 64), all with a 64-byte value buffer.
 *
 * Each piece is fed the way http_server.c's read_conn() feeds one recv():
 * feed, answer a complete request (route, ?lag= and its size), next, feed
 * the rest, until the piece is used up or the reader reports an error.
 * Invariants are checked with CHECK(), which aborts even under NDEBUG; the
 * sanitizers catch memory and undefined-behaviour errors.  Finally the
 * stream, as a C string, goes to iqf_http_parse_size and
 * iqf_http_query_param directly.
 *
 * Copyright (c) 2026, innoquim_failover developers
 *
 *-------------------------------------------------------------------------
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http_request.h"

#define CHECK(cond) \
	do { \
		if (!(cond)) \
		{ \
			fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond); \
			abort(); \
		} \
	} while (0)

static const size_t header_limits[4] = {1024, 1024, 4096, 64};
static const size_t value_sizes[8] = {0, 64, 64, 64, 1, 2, 3, 16};

/* xorshift32: the cutting must depend on the input only */
static uint32_t
next_rand(uint32_t *state)
{
	uint32_t	x = *state;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	*state = x;
	return x;
}

static bool
terminated(const char *s, size_t size)
{
	return memchr(s, '\0', size) != NULL;
}

/*
 * Reference for iqf_http_parse_size: spaces, digits, spaces, an optional
 * unit among B kB MB GB TB (any case), spaces, end.
 */
static bool
reference_parse_size(const char *s, int64_t *out)
{
	static const char *const units[] = {"", "b", "kb", "mb", "gb", "tb"};
	uint64_t	n = 0;
	char		unit[8];
	size_t		ulen = 0;
	size_t		i;
	bool		digits = false;

	while (*s == ' ')
		s++;
	for (; *s >= '0' && *s <= '9'; s++)
	{
		if (__builtin_mul_overflow(n, 10, &n) || __builtin_add_overflow(n, (uint64_t) (*s - '0'), &n))
			return false;
		if (n > INT64_MAX)
			return false;
		digits = true;
	}
	if (!digits)
		return false;
	while (*s == ' ')
		s++;
	while ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z'))
	{
		if (ulen >= 3)
			return false;
		unit[ulen++] = (char) (*s | 0x20);
		s++;
	}
	unit[ulen] = '\0';
	while (*s == ' ')
		s++;
	if (*s != '\0')
		return false;
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
	{
		if (strcmp(unit, units[i]) == 0)
		{
			uint64_t	r;

			if (__builtin_mul_overflow(n, (uint64_t) 1 << (10 * (i == 0 ? 0 : i - 1)), &r) ||
				r > INT64_MAX)
				return false;
			*out = (int64_t) r;
			return true;
		}
	}
	return false;
}

static void
check_size(const char *text)
{
	int64_t		got = -1;
	int64_t		want = -1;
	bool		ok = iqf_http_parse_size(text, &got);
	bool		ref = reference_parse_size(text, &want);

	CHECK(ok == ref);
	if (ok)
		CHECK(got == want && got >= 0);
}

/*
 * iqf_http_query_param into the last valuelen bytes of a heap block, so that
 * AddressSanitizer sees any write past them (even for valuelen 0: its
 * malloc(0) hands out a usable byte); then the value as a size.
 */
static void
check_query(const char *query, const char *name, size_t valuelen)
{
	char	   *block = malloc(valuelen + 1);
	char	   *value = block + 1;
	int			found;

	CHECK(block != NULL);
	found = iqf_http_query_param(query, name, value, valuelen);
	CHECK(found >= -1 && found <= 1);
	if (found == 1)
	{
		CHECK(valuelen > 0 && terminated(value, valuelen));
		check_size(value);
	}
	free(block);
}

/* Answer a complete request the way http_response.c reads it. */
static void
check_request(const IqfHttpReader *r, size_t valuelen)
{
	const IqfHttpRequest *req = &r->request;
	IqfHttpRoute route;

	CHECK(req->complete);
	CHECK(!r->in_request);
	CHECK(req->method >= IQF_HTTP_GET && req->method <= IQF_HTTP_OTHER);
	CHECK(terminated(req->path, sizeof(req->path)));
	CHECK(terminated(req->query, sizeof(req->query)));
	CHECK(r->url_len <= IQF_HTTP_MAX_URL);
	CHECK(r->header_bytes <= r->max_header_bytes);

	route = iqf_http_route(req->path);
	CHECK(route >= IQF_ROUTE_NOT_FOUND && route <= IQF_ROUTE_METRICS);
	check_query(req->query, "lag", 64);
	if (valuelen != 64)
		check_query(req->query, "lag", valuelen);
}

static bool
valid_error(int status)
{
	return status == 0 || status == 400 || status == 413 || status == 414 || status == 431;
}

/* What a stream yielded: the requests answered, and whether it ended in error. */
typedef struct Outcome
{
	size_t		requests;
	uint64_t	digest;			/* FNV-1a over each request's fields */
	bool		error;
} Outcome;

static uint64_t
fnv1a(uint64_t h, const void *data, size_t len)
{
	const unsigned char *p = data;
	size_t		i;

	for (i = 0; i < len; i++)
	{
		h ^= p[i];
		h *= 1099511628211u;
	}
	return h;
}

static void
record_request(Outcome *o, const IqfHttpRequest *req)
{
	int			fields[2] = {(int) req->method, req->keep_alive ? 1 : 0};

	o->requests++;
	o->digest = fnv1a(o->digest, fields, sizeof(fields));
	o->digest = fnv1a(o->digest, req->path, strlen(req->path) + 1);
	o->digest = fnv1a(o->digest, req->query, strlen(req->query) + 1);
}

/*
 * Feed the stream cut as "cut" says (see the top of the file), answering
 * complete requests as the server does.
 */
static Outcome
read_stream(const uint8_t *data, size_t size, uint8_t mode, unsigned cut, uint8_t seed)
{
	IqfHttpReader r;
	size_t		valuelen = value_sizes[(mode >> 5) & 7];
	Outcome		out = {0, 14695981039346656037u, false};
	uint32_t	rng = 0x9e3779b9u ^ ((uint32_t) seed << 8 | mode);
	size_t		pos = 0;
	size_t		consumed = 0;
	size_t		requests = 0;

	iqf_http_reader_init(&r, header_limits[mode & 3]);
	CHECK(iqf_http_reader_feed(&r, (const char *) data, 0) == 0);

	while (pos < size)
	{
		size_t		piece;
		size_t		off = 0;
		size_t		rounds = 0;

		if (cut == 0)
			piece = size - pos;
		else if (cut == 1)
			piece = 1;
		else
			piece = 1 + next_rand(&rng) % ((size_t) 1 << cut);
		if (piece > size - pos)
			piece = size - pos;

		/* one recv(): feed until used up, an error, or a partial request */
		while (off < piece)
		{
			size_t		used;

			CHECK(++rounds <= piece + 1);	/* each round consumes a byte */
			used = iqf_http_reader_feed(&r, (const char *) data + pos + off, piece - off);
			CHECK(used <= piece - off);
			off += used;
			consumed += used;
			CHECK(consumed <= pos + piece);
			CHECK(valid_error(r.error_status));
			if (r.error_status != 0)
				break;
			if (!r.request.complete)
			{
				/* an unfinished request takes everything it is given */
				CHECK(off == piece);
				CHECK(used > 0);
				break;
			}
			CHECK(used > 0);
			check_request(&r, valuelen);
			record_request(&out, &r.request);
			requests++;
#ifdef IQF_FUZZ_TRACE
			fprintf(stderr, "  request method %d path \"%s\" query \"%s\" keep_alive %d route %d\n",
					r.request.method, r.request.path, r.request.query,
					r.request.keep_alive, iqf_http_route(r.request.path));
#endif
			iqf_http_reader_next(&r);
			CHECK(!r.request.complete);
		}
		if (r.error_status != 0)
		{
			/* the error sticks: nothing more is read */
			CHECK(iqf_http_reader_feed(&r, "GET / HTTP/1.1\r\n\r\n", 18) == 0);
			CHECK(r.error_status != 0 && valid_error(r.error_status));
			break;
		}
		pos += piece;
	}
	CHECK(consumed <= size);
	CHECK(requests <= size / 2 + 1);
#ifdef IQF_FUZZ_TRACE
	/* -DIQF_FUZZ_TRACE: what a corpus file does (run with -runs=0) */
	fprintf(stderr, "limit %zu cut %u: %zu requests, %zu of %zu bytes read, error %d\n",
			r.max_header_bytes, cut, requests, consumed, size, r.error_status);
#endif
	out.error = r.error_status != 0;
	return out;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *stream = data;
	size_t		len = size;
	char	   *text;

	if (size >= 2)
	{
		unsigned	cut = (data[0] >> 2) & 7;
		Outcome		pieces = read_stream(data + 2, size - 2, data[0], cut, data[1]);

		/*
		 * Where the reads happen to end must not matter: the same requests,
		 * and an error in both or neither (which error may differ: a long
		 * URL read at once is 414, read in pieces it may hit the header
		 * limit, 431, first).
		 */
		if (cut != 0)
		{
			Outcome		whole = read_stream(data + 2, size - 2, data[0], 0, data[1]);

			CHECK(pieces.requests == whole.requests);
			CHECK(pieces.digest == whole.digest);
			CHECK(pieces.error == whole.error);
		}
		stream = data + 2;
		len = size - 2;
	}

	/* the stream as a C string, straight into the helpers */
	text = malloc(len + 1);
	CHECK(text != NULL);
	memcpy(text, stream, len);
	text[len] = '\0';
	check_size(text);
	check_query(text, "lag", 64);
	check_query(text, "lag", size > 0 ? value_sizes[(data[0] >> 5) & 7] : 0);
	check_query(text, "", 16);
	CHECK(iqf_http_route(text) <= IQF_ROUTE_METRICS);
	free(text);
	return 0;
}
