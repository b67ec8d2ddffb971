/*-------------------------------------------------------------------------
 *
 * conninfo.c
 *	  Parse libpq connection strings (key=value or URI) with libpq itself and
 *	  rebuild them for display without any secret.
 *
 * libpq marks every secret option (password, sslpassword, ...) with a '*'
 * in its display character; those are dropped, never shown masked, so not
 * even the length of a password leaks.  A string libpq cannot parse is not
 * shown at all: it might be a password typed in the wrong place.
 *
 * Copyright (c) 2026, innoquim_failover developers
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "lib/stringinfo.h"
#include "libpq-fe.h"

#include "conninfo.h"

static void
append_value(StringInfo buf, const char *val)
{
	const char *p;

	appendStringInfoChar(buf, '\'');
	for (p = val; *p; p++)
	{
		if (*p == '\'' || *p == '\\')
			appendStringInfoChar(buf, '\\');
		appendStringInfoChar(buf, *p);
	}
	appendStringInfoChar(buf, '\'');
}

/*
 * Write a displayable form of conninfo into out (always NUL-terminated,
 * empty when conninfo is empty or cannot be parsed).
 */
void
iqf_conninfo_display(const char *conninfo, char *out, size_t outlen)
{
	PQconninfoOption *opts;
	PQconninfoOption *opt;
	StringInfoData buf;

	out[0] = '\0';
	if (conninfo == NULL || conninfo[0] == '\0')
		return;
	opts = PQconninfoParse(conninfo, NULL);
	if (opts == NULL)
		return;

	initStringInfo(&buf);
	for (opt = opts; opt->keyword != NULL; opt++)
	{
		if (opt->val == NULL || opt->val[0] == '\0')
			continue;
		if (strchr(opt->dispchar, '*') != NULL ||
			strcmp(opt->keyword, "password") == 0)
			continue;
		if (buf.len > 0)
			appendStringInfoChar(&buf, ' ');
		appendStringInfo(&buf, "%s=", opt->keyword);
		append_value(&buf, opt->val);
	}
	PQconninfoFree(opts);
	/* never cut a value in half: drop the whole string if it is too long */
	if ((size_t) buf.len < outlen)
		strlcpy(out, buf.data, outlen);
	pfree(buf.data);
}

/* Host (or hostaddr) and port named by a connection string, if any. */
void
iqf_conninfo_host_port(const char *conninfo, char *host, size_t hostlen, int *port)
{
	PQconninfoOption *opts;
	PQconninfoOption *opt;

	host[0] = '\0';
	*port = 0;
	if (conninfo == NULL || conninfo[0] == '\0')
		return;
	opts = PQconninfoParse(conninfo, NULL);
	if (opts == NULL)
		return;
	for (opt = opts; opt->keyword != NULL; opt++)
	{
		if (opt->val == NULL || opt->val[0] == '\0')
			continue;
		if (strcmp(opt->keyword, "host") == 0 ||
			(strcmp(opt->keyword, "hostaddr") == 0 && host[0] == '\0'))
			strlcpy(host, opt->val, hostlen);
		else if (strcmp(opt->keyword, "port") == 0)
			*port = atoi(opt->val);
	}
	PQconninfoFree(opts);
	if (*port == 0 && host[0] != '\0')
		*port = DEF_PGPORT;
}
