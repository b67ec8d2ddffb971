--
-- failover: membership through SQL, its validation, and the failover view
-- of a node that cannot fail over (fewer than three voters).
--
SELECT phase, primary_name, voters, auto_failover_active, lease_enforced
FROM innoquim_failover.failover;

-- bad input is refused with a clear error
SELECT innoquim_failover.register_node('bad name', 'host=localhost');
SELECT innoquim_failover.register_node('n1', 'host=localhost', 'arbiter');
SELECT innoquim_failover.register_node('n1', 'host=localhost password=hunter2');
SELECT innoquim_failover.register_node('n1', 'this is not a connection string');
SELECT innoquim_failover.register_node('n1', NULL);
SELECT innoquim_failover.register_node(NULL, 'host=localhost');
SELECT innoquim_failover.unregister_node(NULL);
SELECT innoquim_failover.unregister_node('nobody');

-- two nodes: registered, but automatic failover stays off (no majority
-- survives the loss of one of two voters)
SELECT innoquim_failover.register_node('regress', 'host=localhost port=5432 dbname=postgres');
SELECT innoquim_failover.register_node('n2', 'postgresql://db-replica:5433/postgres', 'data');
SELECT name, kind, conninfo, is_self, registry_version FROM innoquim_failover.nodes ORDER BY name;

DO $$
BEGIN
  FOR i IN 1..300 LOOP
    EXIT WHEN (SELECT phase = 'disabled_too_few_voters' FROM innoquim_failover.failover);
    PERFORM pg_sleep(0.1);
  END LOOP;
END $$;
SELECT phase, voters, quorum, auto_failover_active, lease_enforced
FROM innoquim_failover.failover;
SELECT (innoquim_failover.health_json()->'cluster')->>'auto_failover' AS json_auto_failover,
       (innoquim_failover.health_json()->'cluster')->>'voters' AS json_voters;

-- re-registering updates in place
SELECT innoquim_failover.register_node('n2', 'host=db-replica port=5433 dbname=postgres');
SELECT name, conninfo, registry_version FROM innoquim_failover.nodes ORDER BY name;

-- pause and resume (on the primary); writes stay allowed without a lease
SELECT innoquim_failover.pause();
SELECT paused, auto_failover_active FROM innoquim_failover.failover;
SELECT innoquim_failover.resume();
SELECT paused FROM innoquim_failover.failover;
CREATE TABLE failover_write_check (i int);
INSERT INTO failover_write_check VALUES (1);
DROP TABLE failover_write_check;
SELECT kind FROM innoquim_failover.events
WHERE kind IN ('node_registered', 'failover_paused', 'failover_resumed')
ORDER BY seq;

-- changing state is for superusers and innoquim_failover_control only
CREATE ROLE iqf_watcher LOGIN IN ROLE pg_monitor;
SET ROLE iqf_watcher;
SELECT count(*) AS nodes_visible FROM innoquim_failover.nodes;
SELECT innoquim_failover.pause();
SELECT innoquim_failover.register_node('n3', 'host=x');
SELECT * FROM innoquim_failover.vote(99, 'n2', 1, 1, '0/0', 100, true);
RESET ROLE;
GRANT innoquim_failover_control TO iqf_watcher;
SET ROLE iqf_watcher;
SELECT granted IS NOT NULL AS answered, detail IN ('granted', 'lease_still_valid') AS known_verdict FROM innoquim_failover.vote(99, 'n2', 1, 1, '0/0', 100, true);
RESET ROLE;
DROP ROLE iqf_watcher;

-- the durable state file records the registry
SELECT pg_read_file('innoquim_failover.state') LIKE '%n2	data	host=db-replica port=5433 dbname=postgres%' AS registry_is_durable;

SELECT innoquim_failover.unregister_node('n2');
SELECT innoquim_failover.unregister_node('regress');
SELECT count(*) AS nodes_left FROM innoquim_failover.nodes;
