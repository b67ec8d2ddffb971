/*-------------------------------------------------------------------------
 *
 * peer.c
 *	  Non-blocking libpq connections from the agent to the other nodes.
 *
 * Each peer is a small state machine: DOWN -> CONNECTING (PQconnectPoll) ->
 * IDLE -> BUSY (one query in flight) -> IDLE.  Nothing here blocks: the
 * agent waits on the sockets (iqf_peer_wait_flags) in its WaitEventSet and
 * calls iqf_peer_progress when one is ready or a deadline passes.  Every
 * connect and query has a deadline; past it the connection is dropped and
 * retried later, so a hung or partitioned peer costs one socket, not time.
 *
 * The end of a connection attempt is classified (refused, starting,
 * timeout) so the agent can tell a dead postmaster from a restarting one
 * and from an unreachable host.
 *
 * Host names in connection strings are resolved by libpq synchronously;
 * use addresses (hostaddr) where a slow resolver would matter.
 *
 * Copyright (c) 2026, innoquim_failover developers
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "storage/latch.h"

#include "peer.h"

void
iqf_peer_init(IqfPeer *p, const char *name, const char *conninfo)
{
	memset(p, 0, sizeof(*p));
	strlcpy(p->name, name, sizeof(p->name));
	strlcpy(p->conninfo, conninfo, sizeof(p->conninfo));
}

const char *
iqf_peer_probe_name(IqfProbe probe)
{
	switch (probe)
	{
		case IQF_PROBE_UNKNOWN:
			return "unknown";
		case IQF_PROBE_OK:
			return "reachable";
		case IQF_PROBE_REFUSED:
			return "refused";
		case IQF_PROBE_STARTING:
			return "starting";
		case IQF_PROBE_TIMEOUT:
			return "timeout";
		case IQF_PROBE_ERROR:
			return "error";
	}
	return "unknown";
}

static IqfProbe
classify(const char *msg)
{
	if (strstr(msg, "Connection refused") || strstr(msg, "No such file or directory"))
		return IQF_PROBE_REFUSED;
	if (strstr(msg, "starting up") || strstr(msg, "recovery mode") ||
		strstr(msg, "shutting down") || strstr(msg, "not yet accepting"))
		return IQF_PROBE_STARTING;
	if (strstr(msg, "timeout") || strstr(msg, "timed out"))
		return IQF_PROBE_TIMEOUT;
	return IQF_PROBE_ERROR;
}

void
iqf_peer_close(IqfPeer *p, int64 now, int retry_ms)
{
	if (p->conn)
		PQfinish(p->conn);
	p->conn = NULL;
	p->state = IQF_PEER_DOWN;
	p->next_attempt = now + (int64) retry_ms * 1000;
}

static void
fail(IqfPeer *p, int64 now, IqfProbe probe, const char *msg)
{
	p->probe = probe;
	strlcpy(p->error, msg ? msg : "", sizeof(p->error));
	/* strip the trailing newline libpq adds */
	if (p->error[0] && p->error[strlen(p->error) - 1] == '\n')
		p->error[strlen(p->error) - 1] = '\0';
	iqf_peer_close(p, now, 100);
}

/* Start connecting; the peer becomes CONNECTING (or DOWN on failure). */
void
iqf_peer_connect(IqfPeer *p, int64 now, int timeout_ms)
{
	const char *keys[] = {"dbname", "application_name", "connect_timeout", NULL};
	const char *vals[] = {p->conninfo, "innoquim_failover agent", "2", NULL};

	if (p->state != IQF_PEER_DOWN || now < p->next_attempt)
		return;
	/* expand_dbname: the registry's conninfo, with our defaults after it */
	p->conn = PQconnectStartParams(keys, vals, 1);
	if (p->conn == NULL || PQstatus(p->conn) == CONNECTION_BAD)
	{
		fail(p, now, IQF_PROBE_ERROR, p->conn ? PQerrorMessage(p->conn) : "out of memory");
		return;
	}
	PQsetnonblocking(p->conn, 1);
	p->state = IQF_PEER_CONNECTING;
	p->deadline = now + (int64) timeout_ms * 1000;
}

/* Send one query; false if the peer is not idle. */
bool
iqf_peer_send(IqfPeer *p, int kind, const char *sql, int nparams,
			  const char *const *values, int64 now, int timeout_ms)
{
	if (p->state != IQF_PEER_IDLE)
		return false;
	if (!PQsendQueryParams(p->conn, sql, nparams, NULL, values, NULL, NULL, 0))
	{
		fail(p, now, classify(PQerrorMessage(p->conn)), PQerrorMessage(p->conn));
		return false;
	}
	p->state = IQF_PEER_BUSY;
	p->kind = kind;
	p->sent_at = now;
	p->deadline = now + (int64) timeout_ms * 1000;
	(void) PQflush(p->conn);
	return true;
}

/* Advance the state machine as far as it goes without blocking. */
void
iqf_peer_progress(IqfPeer *p, int64 now)
{
	if (p->state == IQF_PEER_CONNECTING)
	{
		PostgresPollingStatusType st = PQconnectPoll(p->conn);

		if (st == PGRES_POLLING_OK)
		{
			p->state = IQF_PEER_IDLE;
			p->probe = IQF_PROBE_OK;
			p->error[0] = '\0';
		}
		else if (st == PGRES_POLLING_FAILED)
			fail(p, now, classify(PQerrorMessage(p->conn)), PQerrorMessage(p->conn));
		else if (now >= p->deadline)
			fail(p, now, IQF_PROBE_TIMEOUT, "connection timed out");
		return;
	}
	if (p->state == IQF_PEER_BUSY)
	{
		if (!PQconsumeInput(p->conn))
		{
			fail(p, now, classify(PQerrorMessage(p->conn)), PQerrorMessage(p->conn));
			return;
		}
		(void) PQflush(p->conn);
		while (!PQisBusy(p->conn))
		{
			PGresult   *res = PQgetResult(p->conn);

			if (res == NULL)
			{
				p->state = IQF_PEER_IDLE;
				return;
			}
			if (p->result)
				PQclear(p->result);
			p->result = res;
			p->result_kind = p->kind;
			p->result_sent_at = p->sent_at;
		}
		if (now >= p->deadline)
			fail(p, now, IQF_PROBE_TIMEOUT, "query timed out");
	}
}

/* WaitEventSet flags for this peer's socket, 0 when nothing to wait for. */
int
iqf_peer_wait_flags(const IqfPeer *p)
{
	if (p->conn == NULL || PQsocket(p->conn) < 0)
		return 0;
	if (p->state == IQF_PEER_CONNECTING)
		return WL_SOCKET_READABLE | WL_SOCKET_WRITEABLE;
	if (p->state == IQF_PEER_BUSY)
		return WL_SOCKET_READABLE;
	return 0;
}
