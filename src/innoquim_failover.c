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

#include <ctype.h>
#include <limits.h>
#include <unistd.h>

#include "fmgr.h"
#include "miscadmin.h"
#include "postmaster/bgworker.h"
#include "postmaster/postmaster.h"
#include "utils/guc.h"

#include "innoquim_failover.h"
#include "fence.h"
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
int			iqf_http_port = 0;
char	   *iqf_http_listen_addresses = NULL;
int			iqf_http_max_connections = 256;
int			iqf_http_request_timeout_ms = 2000;
int			iqf_http_idle_timeout_ms = 60000;
int			iqf_http_max_request_size = 8192;
bool		iqf_auto_failover = true;
int			iqf_priority = 100;
int			iqf_fence_timeout_ms = 2000;
int			iqf_failover_timeout_ms = 3000;
bool		iqf_node_kind_witness = false;
static int	node_kind = 0;

static const struct config_enum_entry node_kind_options[] = {
	{"data", 0, false},
	{"witness", 1, false},
	{NULL, 0, false}
};

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

/* A list of host names or addresses, or "*": checked by getaddrinfo later. */
static bool
check_listen_addresses(char **newval, void **extra, GucSource source)
{
	const char *p;

	if (*newval == NULL)
		return true;
	for (p = *newval; *p; p++)
	{
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
			  (*p >= '0' && *p <= '9') || strchr("*.:-_, ", *p) != NULL))
		{
			GUC_check_errdetail("innoquim_failover.http_listen_addresses is a comma-separated list of host names or addresses, or \"*\".");
			return false;
		}
	}
	return true;
}

static void
define_http_settings(void)
{
	DefineCustomIntVariable("innoquim_failover.http_port",
							"TCP port of the HTTP health endpoint; 0 turns it off.",
							"Off by default: a database server should not open a new port unasked, and several instances on one host would collide on any fixed default.",
							&iqf_http_port,
							0, 0, 65535,
							PGC_SIGHUP,
							0,
							NULL, NULL, NULL);

	DefineCustomStringVariable("innoquim_failover.http_listen_addresses",
							   "Addresses the HTTP health endpoint listens on.",
							   "Comma-separated host names or addresses; \"*\" for all.",
							   &iqf_http_listen_addresses,
							   "localhost",
							   PGC_SIGHUP,
							   GUC_LIST_INPUT,
							   check_listen_addresses, NULL, NULL);

	DefineCustomIntVariable("innoquim_failover.http_max_connections",
							"Open HTTP connections; beyond it the connection idle longest is closed.",
							NULL,
							&iqf_http_max_connections,
							256, 1, 10000,
							PGC_SIGHUP,
							0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("innoquim_failover.http_request_timeout",
							"Time a client has to send a whole request, or to read an answer.",
							"Guards against slow clients that would otherwise hold a connection forever.",
							&iqf_http_request_timeout_ms,
							2000, 100, 60000,
							PGC_SIGHUP,
							GUC_UNIT_MS,
							NULL, NULL, NULL);

	DefineCustomIntVariable("innoquim_failover.http_idle_timeout",
							"Time an idle keep-alive HTTP connection stays open.",
							NULL,
							&iqf_http_idle_timeout_ms,
							60000, 1000, 3600000,
							PGC_SIGHUP,
							GUC_UNIT_MS,
							NULL, NULL, NULL);

	DefineCustomIntVariable("innoquim_failover.http_max_request_size",
							"Largest request line plus headers the HTTP endpoint reads (431 beyond).",
							NULL,
							&iqf_http_max_request_size,
							8192, 1024, 65536,
							PGC_SIGHUP,
							GUC_UNIT_BYTE,
							NULL, NULL, NULL);
}

static void
assign_node_kind(int newval, void *extra)
{
	iqf_node_kind_witness = (newval == 1);
}

static void
define_failover_settings(void)
{
	DefineCustomBoolVariable("innoquim_failover.auto_failover",
							 "Promote a standby automatically when the primary is lost.",
							 "Needs at least three registered voters (two data nodes and a witness, or three data nodes).",
							 &iqf_auto_failover,
							 true,
							 PGC_SIGHUP,
							 0,
							 NULL, NULL, NULL);

	DefineCustomIntVariable("innoquim_failover.priority",
							"Preference of this standby as a failover candidate; 0 never promotes.",
							"Candidates are ranked by received WAL, then priority, then name.",
							&iqf_priority,
							100, 0, 1000,
							PGC_SIGHUP,
							0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("innoquim_failover.fence_timeout",
							"How long a primary's write lease lasts without renewal by a majority.",
							"The primary renews it every quarter of this; set the same value on every node.",
							&iqf_fence_timeout_ms,
							2000, 200, 60000,
							PGC_SIGHUP,
							GUC_UNIT_MS,
							NULL, NULL, NULL);

	DefineCustomIntVariable("innoquim_failover.failover_timeout",
							"How long a voter waits after its last lease grant before it votes for a new primary.",
							"Never less than fence_timeout * 1.1 + fence_timeout / 4 (clock drift and the request in flight); smaller values are raised to that.",
							&iqf_failover_timeout_ms,
							3000, 200, 600000,
							PGC_SIGHUP,
							GUC_UNIT_MS,
							NULL, NULL, NULL);

	/* a postmaster setting can only be defined while preloading */
	if (!process_shared_preload_libraries_in_progress)
		return;
	DefineCustomEnumVariable("innoquim_failover.node_kind",
							 "What this node is: data (primary or standby) or witness (votes only).",
							 NULL,
							 &node_kind,
							 0,
							 node_kind_options,
							 PGC_POSTMASTER,
							 0,
							 NULL, assign_node_kind, NULL);
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

	define_http_settings();
	define_failover_settings();
	MarkGUCPrefixReserved("innoquim_failover");
}

static void
register_worker(const char *name, const char *function, int flags, BgWorkerStartTime start)
{
	BackgroundWorker worker;

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = flags;
	worker.bgw_start_time = start;
	/* an exit with an error is followed by a restart one second later */
	worker.bgw_restart_time = 1;
	snprintf(worker.bgw_library_name, BGW_MAXLEN, "innoquim_failover");
	snprintf(worker.bgw_function_name, BGW_MAXLEN, "%s", function);
	snprintf(worker.bgw_name, BGW_MAXLEN, "%s", name);
	snprintf(worker.bgw_type, BGW_MAXLEN, "%s", name);
	RegisterBackgroundWorker(&worker);
}

static void
register_workers(void)
{
	/*
	 * The monitor.  Consistent state: on a primary at once, on a standby as
	 * soon as it accepts read-only connections.  This (not postmaster
	 * start) is needed because the worker initializes a backend without a
	 * database so that it appears in pg_stat_activity; hot_standby must
	 * therefore be on (the default) for the monitor to run on a standby.
	 */
	register_worker("innoquim_failover monitor", "iqf_monitor_main",
					BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION,
					BgWorkerStart_ConsistentState);

	/*
	 * The HTTP endpoint is a process of its own so that no client can delay
	 * the monitor.  It only reads shared memory, so it starts with the
	 * postmaster and answers (503) even before the monitor runs.  It is
	 * always registered, so that http_port can be turned on by a reload.
	 */
	register_worker("innoquim_failover http", "iqf_http_main",
					BGWORKER_SHMEM_ACCESS, BgWorkerStart_PostmasterStart);

	/*
	 * The failover agent: a process of its own so that waiting for peers
	 * never delays the monitor.  Same start rule as the monitor.
	 */
	register_worker("innoquim_failover agent", "iqf_agent_main",
					BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION,
					BgWorkerStart_ConsistentState);
}

void
_PG_init(void)
{
	define_settings();

	if (!process_shared_preload_libraries_in_progress)
		return;

	iqf_state_install_hooks();
	iqf_fence_install_hooks();
	register_workers();
}

/*
 * The node's name: the setting, else cluster_name, else host:port.
 */
void
iqf_node_name(char *buf, size_t len)
{
	if (iqf_node_name_guc && iqf_node_name_guc[0] != '\0')
		strlcpy(buf, iqf_node_name_guc, len);
	else
	{
		char	   *p;

		if (cluster_name && cluster_name[0] != '\0')
			strlcpy(buf, cluster_name, len);
		else
		{
			char		host[256];

			if (gethostname(host, sizeof(host)) != 0)
				strlcpy(host, "localhost", sizeof(host));
			host[sizeof(host) - 1] = '\0';
			snprintf(buf, len, "%s:%d", host, PostPortNumber);
		}
		/* derived names follow the same character rule as the setting */
		for (p = buf; *p; p++)
			if (!(isalnum((unsigned char) *p) || strchr("_-.:", *p) != NULL))
				*p = '_';
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
