--
-- access: only superusers and members of pg_monitor read the views.
--
CREATE ROLE iqf_outsider LOGIN;
SET ROLE iqf_outsider;
SELECT status FROM innoquim_failover.health;
SELECT * FROM innoquim_failover.role;
SELECT innoquim_failover.health_json();
SELECT * FROM innoquim_failover._health();
RESET ROLE;

GRANT pg_monitor TO iqf_outsider;
SET ROLE iqf_outsider;
SELECT status IS NOT NULL AS can_read_health FROM innoquim_failover.health;
SELECT role FROM innoquim_failover.role;
SELECT count(*) >= 0 AS can_read_replication FROM innoquim_failover.replication;
SELECT count(*) >= 0 AS can_read_upstream FROM innoquim_failover.upstream;
SELECT count(*) > 0 AS can_read_events FROM innoquim_failover.events;
SELECT innoquim_failover.health_json() ? 'status' AS can_read_json;
RESET ROLE;

REVOKE pg_monitor FROM iqf_outsider;
DROP ROLE iqf_outsider;
