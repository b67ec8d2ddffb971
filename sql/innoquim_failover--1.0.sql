/* innoquim_failover--1.0.sql: health, role and replication views */

-- complain if script is sourced in psql, rather than via CREATE EXTENSION
\echo Use "CREATE EXTENSION innoquim_failover" to load this file. \quit

-- Set-returning functions over the monitor's shared-memory snapshot.  Each
-- raises "innoquim_failover is not loaded" (with a hint naming
-- shared_preload_libraries) when the library was not preloaded.

CREATE FUNCTION _role(
    OUT node_name text,
    OUT role text,
    OUT in_recovery boolean,
    OUT timeline bigint,
    OUT accepting_writes boolean,
    OUT role_since timestamptz,
    OUT role_changes bigint)
RETURNS record
AS 'MODULE_PATHNAME', 'iqf_role'
LANGUAGE C STRICT VOLATILE PARALLEL RESTRICTED;

CREATE FUNCTION _health(
    OUT status text,
    OUT reasons text[],
    OUT reason_details text[],
    OUT role text,
    OUT checked_at timestamptz,
    OUT sample_age interval,
    OUT monitor_pid integer,
    OUT monitor_interval_ms integer,
    OUT streaming_standbys integer,
    OUT min_standbys integer,
    OUT upstream_status text,
    OUT lag_bytes bigint,
    OUT lag_seconds double precision,
    OUT status_since timestamptz,
    OUT status_changes bigint,
    OUT cluster_primary text,
    OUT term bigint,
    OUT failover_phase text,
    OUT voters integer,
    OUT votes integer)
RETURNS record
AS 'MODULE_PATHNAME', 'iqf_health'
LANGUAGE C STRICT VOLATILE PARALLEL RESTRICTED;

CREATE FUNCTION _replication(
    OUT pid integer,
    OUT application_name text,
    OUT client_addr inet,
    OUT client_port integer,
    OUT state text,
    OUT sync_state text,
    OUT sync_priority integer,
    OUT sent_lsn pg_lsn,
    OUT write_lsn pg_lsn,
    OUT flush_lsn pg_lsn,
    OUT replay_lsn pg_lsn,
    OUT write_lag interval,
    OUT flush_lag interval,
    OUT replay_lag interval,
    OUT lag_bytes bigint,
    OUT replay_lag_seconds double precision,
    OUT reply_time timestamptz,
    OUT connected_since timestamptz)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'iqf_replication'
LANGUAGE C STRICT VOLATILE PARALLEL RESTRICTED;

CREATE FUNCTION _upstream(
    OUT status text,
    OUT connected boolean,
    OUT pid integer,
    OUT sender_host text,
    OUT sender_port integer,
    OUT conninfo text,
    OUT slot_name text,
    OUT received_lsn pg_lsn,
    OUT received_tli bigint,
    OUT replay_lsn pg_lsn,
    OUT latest_end_lsn pg_lsn,
    OUT lag_bytes bigint,
    OUT lag_seconds double precision,
    OUT last_msg_send_time timestamptz,
    OUT last_msg_receipt_time timestamptz,
    OUT latest_end_time timestamptz,
    OUT last_replay_time timestamptz,
    OUT connected_since timestamptz,
    OUT disconnected_since timestamptz,
    OUT connection_changes bigint)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'iqf_upstream'
LANGUAGE C STRICT VOLATILE PARALLEL RESTRICTED;

CREATE FUNCTION _events(
    OUT seq bigint,
    OUT event_time timestamptz,
    OUT kind text,
    OUT detail text)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'iqf_events'
LANGUAGE C STRICT VOLATILE PARALLEL RESTRICTED;

CREATE FUNCTION health_json()
RETURNS jsonb
AS 'MODULE_PATHNAME', 'iqf_health_json'
LANGUAGE C STRICT VOLATILE PARALLEL RESTRICTED;

-- Failover: messages between nodes (called by the agents over libpq),
-- membership, pause/resume, and the views of this node's failover state.

CREATE FUNCTION lease(
    p_term bigint, p_primary text, p_incarnation bigint, p_acked_lsn pg_lsn,
    p_sync_names text, p_sync_k integer,
    p_paused boolean, p_registry text, p_registry_version bigint,
    OUT granted boolean, OUT term bigint, OUT node text, OUT detail text)
RETURNS record
AS 'MODULE_PATHNAME', 'iqf_sql_lease'
LANGUAGE C STRICT VOLATILE PARALLEL UNSAFE;

CREATE FUNCTION vote(
    p_term bigint, p_candidate text, p_incarnation bigint, p_timeline bigint,
    p_candidate_lsn pg_lsn, p_priority integer, p_pre_vote boolean,
    OUT granted boolean, OUT term bigint, OUT node text, OUT detail text,
    OUT received_lsn pg_lsn, OUT as_standby boolean)
RETURNS record
AS 'MODULE_PATHNAME', 'iqf_sql_vote'
LANGUAGE C STRICT VOLATILE PARALLEL UNSAFE;

CREATE FUNCTION dead(p_term bigint, p_primary text, p_incarnation bigint)
RETURNS boolean
AS 'MODULE_PATHNAME', 'iqf_sql_dead'
LANGUAGE C STRICT VOLATILE PARALLEL UNSAFE;

CREATE FUNCTION follow(p_term bigint, p_primary text)
RETURNS boolean
AS 'MODULE_PATHNAME', 'iqf_sql_follow'
LANGUAGE C STRICT VOLATILE PARALLEL UNSAFE;

CREATE FUNCTION register_node(name text, conninfo text, kind text DEFAULT 'data')
RETURNS void
AS 'MODULE_PATHNAME', 'iqf_sql_register_node'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE FUNCTION unregister_node(name text)
RETURNS void
AS 'MODULE_PATHNAME', 'iqf_sql_unregister_node'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE FUNCTION pause()
RETURNS void
AS 'MODULE_PATHNAME', 'iqf_sql_pause'
LANGUAGE C STRICT VOLATILE PARALLEL UNSAFE;

CREATE FUNCTION resume()
RETURNS void
AS 'MODULE_PATHNAME', 'iqf_sql_resume'
LANGUAGE C STRICT VOLATILE PARALLEL UNSAFE;

CREATE FUNCTION _nodes(
    OUT name text,
    OUT kind text,
    OUT conninfo text,
    OUT is_self boolean,
    OUT registry_version bigint)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'iqf_sql_nodes'
LANGUAGE C STRICT VOLATILE PARALLEL RESTRICTED;

CREATE FUNCTION _failover(
    OUT phase text,
    OUT primary_name text,
    OUT term bigint,
    OUT voted_for text,
    OUT voters integer,
    OUT quorum integer,
    OUT auto_failover_active boolean,
    OUT paused boolean,
    OUT votes integer,
    OUT lease_enforced boolean,
    OUT lease_remaining_ms double precision,
    OUT failovers bigint,
    OUT lost_at timestamptz,
    OUT decided_at timestamptz,
    OUT promoted_at timestamptz,
    OUT first_write_at timestamptz,
    OUT decide_ms double precision,
    OUT promote_ms double precision,
    OUT first_write_ms double precision,
    OUT failover_timeout_ms bigint)
RETURNS record
AS 'MODULE_PATHNAME', 'iqf_sql_failover'
LANGUAGE C STRICT VOLATILE PARALLEL RESTRICTED;

CREATE VIEW role AS SELECT * FROM _role();
CREATE VIEW health AS SELECT * FROM _health();
CREATE VIEW replication AS SELECT * FROM _replication();
CREATE VIEW upstream AS SELECT * FROM _upstream();
CREATE VIEW events AS SELECT * FROM _events() ORDER BY seq DESC;
CREATE VIEW nodes AS SELECT * FROM _nodes();
CREATE VIEW failover AS SELECT * FROM _failover();

COMMENT ON VIEW role IS 'this node''s role: primary or standby, timeline, since when';
COMMENT ON VIEW health IS 'this node''s health: healthy, degraded or unhealthy, and why';
COMMENT ON VIEW replication IS 'on a primary, one row per standby streaming from it';
COMMENT ON VIEW upstream IS 'on a standby, its WAL receiver and the primary it follows';
COMMENT ON VIEW events IS 'recent state transitions of this node, newest first';
COMMENT ON FUNCTION health_json() IS 'health answer as JSON, shaped like GET /api/health/';
COMMENT ON VIEW nodes IS 'the cluster''s registered nodes (voters), as this node knows them';
COMMENT ON VIEW failover IS 'this node''s view of the cluster: primary, term, votes, lease and last failover timings';

-- Readable by superusers and members of pg_monitor only.
REVOKE ALL ON SCHEMA @extschema@ FROM PUBLIC;
GRANT USAGE ON SCHEMA @extschema@ TO pg_monitor;

REVOKE ALL ON FUNCTION _role(), _health(), _replication(), _upstream(), _events(),
    health_json() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION _role(), _health(), _replication(), _upstream(), _events(),
    health_json() TO pg_monitor;

REVOKE ALL ON role, health, replication, upstream, events, nodes, failover FROM PUBLIC;
GRANT SELECT ON role, health, replication, upstream, events, nodes, failover TO pg_monitor;
REVOKE ALL ON FUNCTION _nodes(), _failover() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION _nodes(), _failover() TO pg_monitor;

-- Changing state: superusers, and members of innoquim_failover_control
-- (the role the agents of other nodes connect as, and operators).
DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'innoquim_failover_control') THEN
    CREATE ROLE innoquim_failover_control NOLOGIN;
  END IF;
END $$;
GRANT USAGE ON SCHEMA @extschema@ TO innoquim_failover_control;
REVOKE ALL ON FUNCTION lease(bigint, text, bigint, pg_lsn, text, integer, boolean, text, bigint),
    vote(bigint, text, bigint, bigint, pg_lsn, integer, boolean), dead(bigint, text, bigint),
    follow(bigint, text), register_node(text, text, text), unregister_node(text), pause(), resume()
    FROM PUBLIC;
GRANT EXECUTE ON FUNCTION lease(bigint, text, bigint, pg_lsn, text, integer, boolean, text, bigint),
    vote(bigint, text, bigint, bigint, pg_lsn, integer, boolean), dead(bigint, text, bigint),
    follow(bigint, text), register_node(text, text, text), unregister_node(text), pause(), resume()
    TO innoquim_failover_control;
