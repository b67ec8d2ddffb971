--
-- objects: the extension installs its views and functions with the
-- documented column names and types, and the monitor publishes a snapshot.
--
CREATE EXTENSION innoquim_failover;

-- views and their columns, in order
SELECT c.relname, a.attnum, a.attname, format_type(a.atttypid, a.atttypmod) AS type
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_attribute a ON a.attrelid = c.oid
WHERE n.nspname = 'innoquim_failover' AND c.relkind = 'v' AND a.attnum > 0
ORDER BY c.relname, a.attnum;

-- functions
SELECT p.proname, pg_get_function_result(p.oid) AS result, p.proisstrict
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE n.nspname = 'innoquim_failover'
ORDER BY p.proname;

-- the monitor runs and has published (bounded wait)
DO $$
BEGIN
  FOR i IN 1..300 LOOP
    EXIT WHEN (SELECT monitor_pid IS NOT NULL AND checked_at IS NOT NULL
               FROM innoquim_failover.health);
    PERFORM pg_sleep(0.1);
  END LOOP;
END $$;

SELECT backend_type, application_name
FROM pg_stat_activity WHERE backend_type = 'innoquim_failover monitor';

SELECT h.monitor_pid = a.pid AS monitor_pid_matches
FROM innoquim_failover.health h, pg_stat_activity a
WHERE a.backend_type = 'innoquim_failover monitor';

-- a lone primary: its role, and empty standby-side views
SELECT node_name, role, in_recovery, timeline, accepting_writes,
       role_since IS NOT NULL AS has_role_since
FROM innoquim_failover.role;
SELECT count(*) AS replication_rows FROM innoquim_failover.replication;
SELECT count(*) AS upstream_rows FROM innoquim_failover.upstream;

-- the monitor logged its start as an event
SELECT kind FROM innoquim_failover.events WHERE kind = 'monitor_started';
