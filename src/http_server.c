/*-------------------------------------------------------------------------
 *
 * http_server.c
 *	  The HTTP health endpoint: a background worker of its own, serving
 *	  every check from the monitor's shared-memory snapshot.
 *
 * Why a separate process: the monitor must never wait for a client.  This
 * worker only reads the snapshot (a shared-lock memcpy), so however slow,
 * stuck or hostile its clients are, sampling goes on.
 *
 * How it waits: non-blocking sockets in an epoll set of our own, whose file
 * descriptor is one readable event in the server's WaitEventSet next to the
 * process latch and postmaster death.  PG 15's WaitEventSet cannot remove a
 * socket, and connections come and go by the thousand, so they live in our
 * set; the WaitEventSet stays fixed.  No threads.
 *
 * Limits (all reloadable): http_max_connections open connections (when full,
 * the connection idle longest is closed to admit the new one, so idle or
 * slow clients can never lock checks out); http_max_request_size bytes of
 * request line and headers (431); http_request_timeout from the first byte
 * of a request to its last (408: slow-loris clients), and for a stalled
 * write; http_idle_timeout for an idle keep-alive connection.
 *
 * Settings http_port and http_listen_addresses are re-read on SIGHUP; the
 * listening sockets are re-opened when they change.
 *
 * Copyright (c) 2026, innoquim_failover developers
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <fcntl.h>
#include <netdb.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "miscadmin.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "tcop/tcopprot.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"
#include "utils/wait_event.h"

#include "http_response.h"
#include "innoquim_failover.h"

PGDLLEXPORT void iqf_http_main(Datum main_arg);

#define MAX_LISTENERS	16
#define READ_CHUNK		16384
#define MAX_OUTPUT		(1024 * 1024)	/* pipelined answers a client may
										 * leave unread */
#define LISTENER_TAG	((uint64) 1 << 32)
#define RETRY_LISTEN_MS 5000

typedef struct Conn
{
	int			fd;				/* -1: slot free */
	IqfHttpReader reader;
	char	   *out;			/* pending output */
	size_t		out_len;
	size_t		out_off;
	size_t		out_cap;
	TimestampTz last_active;	/* last byte read or written */
	TimestampTz request_start;	/* first byte of the current request, or 0 */
	bool		close_after_write;
	bool		want_write;		/* EPOLLOUT registered */
} Conn;

static int	epfd = -1;
static int	listeners[MAX_LISTENERS];
static int	nlisteners = 0;
static int	bound_port = 0;
static char *bound_addresses = NULL;
static TimestampTz next_listen_retry = 0;

static Conn *conns = NULL;
static int	nconns = 0;			/* slots allocated */
static MemoryContext conn_cxt;
static MemoryContext request_cxt;
static IqfHttpCounters counters;

static void
close_listeners(void)
{
	int			i;

	for (i = 0; i < nlisteners; i++)
		close(listeners[i]);	/* also leaves the epoll set */
	nlisteners = 0;
}

/* Open one listening socket per address in http_listen_addresses. */
static void
open_listeners(void)
{
	char	   *list = pstrdup(iqf_http_listen_addresses ? iqf_http_listen_addresses : "");
	char	   *save = NULL;
	char	   *tok;
	char		port[16];
	int			failures = 0;

	close_listeners();
	bound_port = iqf_http_port;
	if (bound_addresses)
		pfree(bound_addresses);
	bound_addresses = MemoryContextStrdup(TopMemoryContext, list);
	next_listen_retry = 0;
	if (iqf_http_port == 0)
		return;

	snprintf(port, sizeof(port), "%d", iqf_http_port);
	for (tok = strtok_r(list, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save))
	{
		struct addrinfo hints;
		struct addrinfo *res = NULL;
		struct addrinfo *ai;
		int			rc;

		memset(&hints, 0, sizeof(hints));
		hints.ai_family = AF_UNSPEC;
		hints.ai_socktype = SOCK_STREAM;
		hints.ai_flags = AI_PASSIVE;
		rc = getaddrinfo(strcmp(tok, "*") == 0 ? NULL : tok, port, &hints, &res);
		if (rc != 0)
		{
			ereport(LOG,
					(errmsg("innoquim_failover http: could not resolve \"%s\": %s",
							tok, gai_strerror(rc))));
			failures++;
			continue;
		}
		for (ai = res; ai && nlisteners < MAX_LISTENERS; ai = ai->ai_next)
		{
			int			fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
			int			one = 1;
			struct epoll_event ev;

			if (fd < 0)
				continue;
			setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
			if (ai->ai_family == AF_INET6)
				setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
			if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, 511) != 0)
			{
				ereport(LOG,
						(errcode_for_socket_access(),
						 errmsg("innoquim_failover http: could not listen on \"%s\" port %d: %m",
								tok, iqf_http_port)));
				close(fd);
				failures++;
				continue;
			}
			ev.events = EPOLLIN;
			ev.data.u64 = LISTENER_TAG | (uint64) nlisteners;
			if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) != 0)
				elog(ERROR, "epoll_ctl failed: %m");
			listeners[nlisteners++] = fd;
		}
		freeaddrinfo(res);
	}
	pfree(list);
	if (nlisteners > 0)
		ereport(LOG,
				(errmsg("innoquim_failover http: listening on port %d (%d sockets)",
						iqf_http_port, nlisteners)));
	if (failures > 0)
		next_listen_retry = GetCurrentTimestamp() + (int64) RETRY_LISTEN_MS * 1000;
}

static void
ensure_slots(void)
{
	int			want = iqf_http_max_connections;
	int			i;

	if (want <= nconns)
		return;
	if (conns == NULL)
		conns = MemoryContextAlloc(conn_cxt, sizeof(Conn) * want);
	else
		conns = repalloc(conns, sizeof(Conn) * want);
	for (i = nconns; i < want; i++)
	{
		memset(&conns[i], 0, sizeof(Conn));
		conns[i].fd = -1;
	}
	nconns = want;
}

static void
close_conn(Conn *c)
{
	if (c->fd < 0)
		return;
	close(c->fd);
	c->fd = -1;
	if (c->out)
		pfree(c->out);
	c->out = NULL;
	c->out_len = c->out_off = c->out_cap = 0;
	counters.connections_open--;
}

static void
set_want_write(Conn *c, bool want)
{
	struct epoll_event ev;

	if (c->want_write == want)
		return;
	ev.events = EPOLLIN | (want ? EPOLLOUT : 0);
	ev.data.u64 = (uint64) (c - conns);
	if (epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev) == 0)
		c->want_write = want;
}

/* Send what is pending; returns false when the connection was closed. */
static bool
flush_conn(Conn *c, TimestampTz now)
{
	while (c->out_off < c->out_len)
	{
		ssize_t		n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
							 MSG_NOSIGNAL);

		if (n > 0)
		{
			c->out_off += n;
			c->last_active = now;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		{
			set_want_write(c, true);
			return true;
		}
		close_conn(c);
		return false;
	}
	c->out_off = c->out_len = 0;
	set_want_write(c, false);
	if (c->close_after_write)
	{
		close_conn(c);
		return false;
	}
	return true;
}

static void
append_out(Conn *c, const char *data, size_t len)
{
	if (c->out_len + len > c->out_cap)
	{
		size_t		cap = Max(c->out_cap * 2, c->out_len + len + 1024);

		c->out = c->out ? repalloc(c->out, cap) : MemoryContextAlloc(conn_cxt, cap);
		c->out_cap = cap;
	}
	memcpy(c->out + c->out_len, data, len);
	c->out_len += len;
}

/* Queue one response: status line, headers and (except HEAD/OPTIONS) body. */
static void
queue_answer(Conn *c, IqfHttpMethod method, IqfHttpAnswer *a, bool keep_alive)
{
	StringInfoData head;
	int			idx = iqf_http_status_index(a->status);
	bool		with_body = method != IQF_HTTP_HEAD && method != IQF_HTTP_OPTIONS;
	size_t		length = method == IQF_HTTP_OPTIONS ? 0 : a->body.len;

	if (idx >= 0)
		counters.requests[idx]++;
	initStringInfo(&head);
	appendStringInfo(&head,
					 "HTTP/1.1 %d %s\r\n"
					 "Content-Type: %s\r\n"
					 "Content-Length: %zu\r\n"
					 "Cache-Control: no-store\r\n"
					 "Connection: %s\r\n",
					 a->status, iqf_http_reason_phrase(a->status),
					 a->content_type, length, keep_alive ? "keep-alive" : "close");
	if (method == IQF_HTTP_OPTIONS || a->status == 405)
		appendStringInfoString(&head, "Allow: GET, HEAD, OPTIONS\r\n");
	appendStringInfoString(&head, "\r\n");
	append_out(c, head.data, head.len);
	if (with_body)
		append_out(c, a->body.data, a->body.len);
	if (!keep_alive)
		c->close_after_write = true;
}

/* Read what the client sent and answer every complete request in it. */
static void
read_conn(Conn *c, TimestampTz now)
{
	char		buf[READ_CHUNK];
	ssize_t		n;
	size_t		off = 0;

	n = recv(c->fd, buf, sizeof(buf), 0);
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
	{
		close_conn(c);
		return;
	}
	if (n < 0)
		return;
	c->last_active = now;
	if (c->close_after_write)
		return;					/* answering a final request: ignore the rest */
	if (c->request_start == 0)
		c->request_start = now;

	while (off < (size_t) n && !c->close_after_write)
	{
		size_t		used = iqf_http_reader_feed(&c->reader, buf + off, n - off);
		MemoryContext old;
		IqfHttpAnswer answer;

		off += used;
		if (c->reader.error_status != 0)
		{
			old = MemoryContextSwitchTo(request_cxt);
			iqf_http_error_answer(c->reader.error_status, NULL, &answer);
			queue_answer(c, IQF_HTTP_GET, &answer, false);
			MemoryContextSwitchTo(old);
			MemoryContextReset(request_cxt);
			break;
		}
		if (!c->reader.request.complete)
			break;

		old = MemoryContextSwitchTo(request_cxt);
		iqf_http_answer(&c->reader.request, &counters, &answer);
		queue_answer(c, c->reader.request.method, &answer, c->reader.request.keep_alive);
		MemoryContextSwitchTo(old);
		MemoryContextReset(request_cxt);

		iqf_http_reader_next(&c->reader);
		c->request_start = off < (size_t) n ? now : 0;
		if (c->out_len > MAX_OUTPUT)
			c->close_after_write = true;	/* pipelining without reading */
	}
	if (!c->reader.in_request && off >= (size_t) n && !c->close_after_write)
		c->request_start = 0;
	flush_conn(c, now);
}

/* Free a slot for a new connection: the one idle longest, else the slowest. */
static Conn *
evict_one(void)
{
	Conn	   *idle = NULL;
	Conn	   *slow = NULL;
	int			i;

	for (i = 0; i < nconns; i++)
	{
		Conn	   *c = &conns[i];

		if (c->fd < 0)
			return c;
		if (i >= iqf_http_max_connections)
			continue;
		if (c->request_start == 0 && c->out_len == 0)
		{
			if (idle == NULL || c->last_active < idle->last_active)
				idle = c;
		}
		else if (slow == NULL || c->request_start < slow->request_start)
			slow = c;
	}
	if (idle == NULL)
		idle = slow;
	if (idle)
	{
		close_conn(idle);
		counters.connections_evicted++;
	}
	return idle;
}

static Conn *
free_slot(void)
{
	int			i;
	int			open = 0;

	for (i = 0; i < nconns; i++)
		if (conns[i].fd >= 0)
			open++;
	if (open < iqf_http_max_connections)
		for (i = 0; i < nconns; i++)
			if (conns[i].fd < 0)
				return &conns[i];
	return evict_one();
}

static void
accept_conns(int lfd, TimestampTz now)
{
	int			accepted;

	for (accepted = 0; accepted < 64; accepted++)
	{
		int			fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		Conn	   *c;
		struct epoll_event ev;

		if (fd < 0)
		{
			if (errno == EMFILE || errno == ENFILE)
				evict_one();	/* out of descriptors: make room, retry later */
			return;
		}
		c = free_slot();
		if (c == NULL)
		{
			close(fd);
			continue;
		}
		memset(c, 0, sizeof(Conn));
		c->fd = fd;
		iqf_http_reader_init(&c->reader, iqf_http_max_request_size);
		c->last_active = now;
		ev.events = EPOLLIN;
		ev.data.u64 = (uint64) (c - conns);
		if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) != 0)
		{
			close(fd);
			c->fd = -1;
			continue;
		}
		counters.connections_accepted++;
		counters.connections_open++;
	}
}

/*
 * Enforce timeouts; returns the time until the next deadline in ms (-1 for
 * none).
 */
static long
expire_conns(TimestampTz now)
{
	int64		next = -1;
	int			i;

	for (i = 0; i < nconns; i++)
	{
		Conn	   *c = &conns[i];
		int64		deadline;

		if (c->fd < 0)
			continue;
		if (c->out_len > c->out_off)
			deadline = c->last_active + (int64) iqf_http_request_timeout_ms * 1000;
		else if (c->request_start != 0)
			deadline = c->request_start + (int64) iqf_http_request_timeout_ms * 1000;
		else
			deadline = c->last_active + (int64) iqf_http_idle_timeout_ms * 1000;

		if (now >= deadline)
		{
			counters.connections_timed_out++;
			if (c->request_start != 0 && c->out_len == 0)
			{
				IqfHttpAnswer answer;
				MemoryContext old = MemoryContextSwitchTo(request_cxt);

				iqf_http_error_answer(408, NULL, &answer);
				queue_answer(c, IQF_HTTP_GET, &answer, false);
				MemoryContextSwitchTo(old);
				MemoryContextReset(request_cxt);
				/* one try to tell it; then it goes, answered or not */
				(void) flush_conn(c, now);
			}
			close_conn(c);
			continue;
		}
		if (next < 0 || deadline - now < next)
			next = deadline - now;
	}
	return next < 0 ? -1 : (long) ((next + 999) / 1000);
}

/* Serve every ready socket; returns how many were ready. */
static int
handle_ready(TimestampTz now)
{
	struct epoll_event events[128];
	int			n = epoll_wait(epfd, events, lengthof(events), 0);
	int			i;

	for (i = 0; i < n; i++)
	{
		uint64		tag = events[i].data.u64;

		if (tag & LISTENER_TAG)
		{
			int			idx = (int) (tag & 0xffffffff);

			if (idx < nlisteners)
				accept_conns(listeners[idx], now);
		}
		else if (tag < (uint64) nconns && conns[tag].fd >= 0)
		{
			Conn	   *c = &conns[tag];

			if (events[i].events & EPOLLOUT)
			{
				if (!flush_conn(c, now))
					continue;
			}
			if (events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
				read_conn(c, now);
		}
	}
	return n;
}

static bool
listen_settings_changed(void)
{
	return bound_port != iqf_http_port ||
		bound_addresses == NULL ||
		strcmp(bound_addresses, iqf_http_listen_addresses ? iqf_http_listen_addresses : "") != 0;
}

void
iqf_http_main(Datum main_arg)
{
	WaitEventSet *wes;
	int			busy_batches = 0;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();

	conn_cxt = AllocSetContextCreate(TopMemoryContext, "innoquim_failover http connections",
									 ALLOCSET_DEFAULT_SIZES);
	request_cxt = AllocSetContextCreate(TopMemoryContext, "innoquim_failover http request",
										ALLOCSET_DEFAULT_SIZES);
	epfd = epoll_create1(EPOLL_CLOEXEC);
	if (epfd < 0)
		elog(ERROR, "epoll_create1 failed: %m");

	wes = CreateWaitEventSet(TopMemoryContext, 3);
	AddWaitEventToSet(wes, WL_LATCH_SET, PGINVALID_SOCKET, MyLatch, NULL);
	AddWaitEventToSet(wes, WL_EXIT_ON_PM_DEATH, PGINVALID_SOCKET, NULL, NULL);
	AddWaitEventToSet(wes, WL_SOCKET_READABLE, epfd, NULL, NULL);

	ensure_slots();
	open_listeners();

	for (;;)
	{
		WaitEvent	ev;
		TimestampTz now = GetCurrentTimestamp();
		long		timeout = expire_conns(now);

		if (next_listen_retry != 0)
		{
			long		retry = (long) Max((next_listen_retry - now) / 1000, 0);

			timeout = timeout < 0 ? retry : Min(timeout, retry);
		}

		/*
		 * While clients keep us busy, go straight back to our own epoll set
		 * (one system call per batch instead of two); still look at the
		 * latch and postmaster every 64 batches.
		 */
		if (busy_batches > 0 && busy_batches < 64)
			timeout = 0;
		else
			busy_batches = 0;
		if (timeout != 0 || busy_batches == 0)
		{
			(void) WaitEventSetWait(wes, timeout, &ev, 1, PG_WAIT_EXTENSION);
			ResetLatch(MyLatch);
		}
		CHECK_FOR_INTERRUPTS();

		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
			ensure_slots();
			if (listen_settings_changed())
				open_listeners();
		}
		now = GetCurrentTimestamp();
		if (next_listen_retry != 0 && now >= next_listen_retry)
			open_listeners();
		busy_batches = handle_ready(now) > 0 ? busy_batches + 1 : 0;
	}
}
