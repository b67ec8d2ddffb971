/*-------------------------------------------------------------------------
 *
 * innoquim_failover.c
 *	  Module glue: settings, shared memory hooks and the monitor worker's
 *	  registration.
 *
 * Loaded from shared_preload_libraries, _PG_init defines the settings,
 * installs the shared-memory hooks and registers the monitor.  Loaded any
 * other way (CREATE EXTENSION in a server that was not configured), it only
 * defines the settings: CREATE EXTENSION succeeds, and every view then
 * reports that the library must be preloaded (state.c).
 *
 * Copyright (c) 2026, innoquim_failover developers
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <limits.h>
#include <unistd.h>

#include "fmgr.h"
#include "miscadmin.h"
#include "postmaster/bgworker.h"
#include "postmaster/postmaster.h"
#include "utils/guc.h"

#include "innoquim_failover.h"
#include "state.h"

#if PG_VERSION_NUM < 150000 || PG_VERSION_NUM >= 160000
#error "innoquim_failover supports PostgreSQL 15 only"
#endif

PG_MODULE_MAGIC;

char	   *iqf_node_name_guc = NULL;
int			iqf_monitor_interval_ms = 500;
int			iqf_min_standbys = 1;
int			iqf_max_lag_kb = 16 * 1024;
int			iqf_max_lag_time_ms = 30000;
int			iqf_upstream_timeout_ms = 10000;

void		_PG_init(void);

/*
 * A node name is shown in views, JSON, metrics labels and logs: keep it to
 * characters that need no quoting anywhere.
 */
static bool
check_node_name(char **newval, void **extra, GucSource source)
{
	const char *p;

	if (*newval == NULL)
		return true;
	if (strlen(*newval) >= IQF_NAME_LEN)
	{
		GUC_check_errdetail("innoquim_failover.node_name must be shorter than %d characters.",
							IQF_NAME_LEN);
		return false;
	}
	for (p = *newval; *p; p++)
	{
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
			  (*p >= '0' && *p <= '9') || *p == '_' || *p == '-' ||
			  *p == '.' || *p == ':'))
		{
			GUC_check_errdetail("innoquim_failover.node_name may contain only letters, digits, \"_\", \"-\", \".\" and \":\".");
			return false;
		}
	}
	return true;
}

static void
define_settings(void)
{
	DefineCustomStringVariable("innoquim_failover.node_name",
							   "Name of this node in views, logs and health answers.",
							   "Empty means cluster_name if that is set, otherwise host name and port.",
							   &iqf_node_name_guc,
							   "",
							   PGC_SIGHUP,
							   0,
							   check_node_name, NULL, NULL);

	DefineCustomIntVariable("innoquim_failover.monitor_interval",
							"How often the monitor samples the node's replication state.",
							"Views are fresh to within one interval.",
							&iqf_monitor_interval_ms,
							500, 10, 60000,
							PGC_SIGHUP,
							GUC_UNIT_MS,
							NULL, NULL, NULL);

	DefineCustomIntVariable("innoquim_failover.min_standbys",
							"A primary with fewer streaming standbys than this is degraded.",
							"0 never degrades a primary for want of standbys.",
							&iqf_min_standbys,
							1, 0, 1000,
							PGC_SIGHUP,
							0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("innoquim_failover.max_lag",
							"WAL a streaming standby may have left to replay and stay healthy.",
							"-1 disables the byte limit.",
							&iqf_max_lag_kb,
							16 * 1024, -1, INT_MAX,
							PGC_SIGHUP,
							GUC_UNIT_KB,
							NULL, NULL, NULL);

	DefineCustomIntVariable("innoquim_failover.max_lag_time",
							"How far behind in time a streaming standby may replay and stay healthy.",
							"-1 disables the time limit.",
							&iqf_max_lag_time_ms,
							30000, -1, INT_MAX,
							PGC_SIGHUP,
							GUC_UNIT_MS,
							NULL, NULL, NULL);

	DefineCustomIntVariable("innoquim_failover.upstream_timeout",
							"How long a standby's upstream may be lost before the node reports the primary unavailable.",
							"Until then a standby that lost its upstream is degraded; after it, unhealthy.",
							&iqf_upstream_timeout_ms,
							10000, 0, 3600 * 1000,
							PGC_SIGHUP,
							GUC_UNIT_MS,
							NULL, NULL, NULL);

	MarkGUCPrefixReserved("innoquim_failover");
}

static void
register_monitor(void)
{
	BackgroundWorker worker;

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;

	/*
	 * Consistent state: on a primary at once, on a standby as soon as it
	 * accepts read-only connections.  This (not postmaster start) is needed
	 * because the worker initializes a backend without a database so that it
	 * appears in pg_stat_activity; hot_standby must therefore be on (the
	 * default) for the monitor to run on a standby.
	 */
	worker.bgw_start_time = BgWorkerStart_ConsistentState;
	worker.bgw_restart_time = 1;
	snprintf(worker.bgw_library_name, BGW_MAXLEN, "innoquim_failover");
	snprintf(worker.bgw_function_name, BGW_MAXLEN, "iqf_monitor_main");
	snprintf(worker.bgw_name, BGW_MAXLEN, "innoquim_failover monitor");
	snprintf(worker.bgw_type, BGW_MAXLEN, "innoquim_failover monitor");
	RegisterBackgroundWorker(&worker);
}

void
_PG_init(void)
{
	define_settings();

	if (!process_shared_preload_libraries_in_progress)
		return;

	iqf_state_install_hooks();
	register_monitor();
}

/*
 * The node's name: the setting, else cluster_name, else host:port.
 */
void
iqf_node_name(char *buf, size_t len)
{
	if (iqf_node_name_guc && iqf_node_name_guc[0] != '\0')
		strlcpy(buf, iqf_node_name_guc, len);
	else if (cluster_name && cluster_name[0] != '\0')
		strlcpy(buf, cluster_name, len);
	else
	{
		char		host[256];

		if (gethostname(host, sizeof(host)) != 0)
			strlcpy(host, "localhost", sizeof(host));
		host[sizeof(host) - 1] = '\0';
		snprintf(buf, len, "%s:%d", host, PostPortNumber);
	}
}

/* The health thresholds currently in force, in decision.c's units. */
void
iqf_health_config(IqfHealthConfig *cfg)
{
	cfg->stale_after_us = iqf_decision_stale_after_us((int64_t) iqf_monitor_interval_ms * 1000);
	cfg->min_standbys = iqf_min_standbys;
	cfg->max_lag_bytes = iqf_max_lag_kb < 0 ? -1 : (int64_t) iqf_max_lag_kb * 1024;
	cfg->max_lag_us = iqf_max_lag_time_ms < 0 ? -1 : (int64_t) iqf_max_lag_time_ms * 1000;
	cfg->upstream_timeout_us = (int64_t) iqf_upstream_timeout_ms * 1000;
}
