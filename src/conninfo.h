/*-------------------------------------------------------------------------
 *
 * conninfo.h
 *	  Connection strings made safe to show: no password, ever.
 *
 * Copyright (c) 2026, innoquim_failover developers
 *
 *-------------------------------------------------------------------------
 */
#ifndef IQF_CONNINFO_H
#define IQF_CONNINFO_H

extern void iqf_conninfo_display(const char *conninfo, char *out, size_t outlen);
extern void iqf_conninfo_host_port(const char *conninfo, char *host, size_t hostlen,
								   int *port);

#endif							/* IQF_CONNINFO_H */
