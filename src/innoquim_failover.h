/*-------------------------------------------------------------------------
 *
 * innoquim_failover.h
 *	  Settings (GUCs) shared by the modules of innoquim_failover.
 *
 * Copyright (c) 2026, innoquim_failover developers
 *
 *-------------------------------------------------------------------------
 */
#ifndef INNOQUIM_FAILOVER_H
#define INNOQUIM_FAILOVER_H

#include "decision.h"

/* GUC variables; read by the worker once per pass */
extern char *iqf_node_name_guc;
extern int	iqf_monitor_interval_ms;
extern int	iqf_min_standbys;
extern int	iqf_max_lag_kb;
extern int	iqf_max_lag_time_ms;
extern int	iqf_upstream_timeout_ms;
extern int	iqf_http_port;
extern char *iqf_http_listen_addresses;
extern int	iqf_http_max_connections;
extern int	iqf_http_request_timeout_ms;
extern int	iqf_http_idle_timeout_ms;
extern int	iqf_http_max_request_size;
extern bool iqf_auto_failover;
extern int	iqf_priority;
extern int	iqf_fence_timeout_ms;
extern int	iqf_failover_timeout_ms;
extern bool iqf_node_kind_witness;

extern void iqf_node_name(char *buf, size_t len);
extern void iqf_health_config(IqfHealthConfig *cfg);

#endif							/* INNOQUIM_FAILOVER_H */
