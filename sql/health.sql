--
-- health: a lone primary with min_standbys 0 is healthy; with min_standbys 1
-- it is degraded because it has no streaming standby.
--
CREATE FUNCTION wait_for_min_standbys(n int) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  FOR i IN 1..300 LOOP
    EXIT WHEN (SELECT min_standbys = n FROM innoquim_failover.health);
    PERFORM pg_sleep(0.1);
  END LOOP;
END $$;

ALTER SYSTEM SET innoquim_failover.min_standbys = 0;
SELECT pg_reload_conf();
SELECT wait_for_min_standbys(0);
SELECT status, reasons, reason_details, role, streaming_standbys, min_standbys,
       upstream_status, lag_bytes, lag_seconds,
       sample_age < interval '5 seconds' AS fresh,
       monitor_interval_ms
FROM innoquim_failover.health;

ALTER SYSTEM SET innoquim_failover.min_standbys = 1;
SELECT pg_reload_conf();
SELECT wait_for_min_standbys(1);
SELECT status, reasons, reason_details, streaming_standbys, min_standbys
FROM innoquim_failover.health;

-- the transition was recorded
SELECT count(*) > 0 AS degraded_event
FROM innoquim_failover.events
WHERE kind = 'health_changed' AND detail LIKE '% -> degraded (reasons: too_few_standbys)';

ALTER SYSTEM RESET innoquim_failover.min_standbys;
SELECT pg_reload_conf();
DROP FUNCTION wait_for_min_standbys(int);
