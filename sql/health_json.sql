--
-- health_json: the shape of the original application's GET /api/health/.
--
SELECT jsonb_object_keys(innoquim_failover.health_json()) AS key ORDER BY 1;

SELECT j->>'status' IN ('healthy', 'degraded', 'unhealthy') AS status_is_valid,
       j->>'status' = h.status AS matches_health_view,
       j->>'role' AS role,
       j->>'node' AS node,
       jsonb_typeof(j->'primary') AS primary_type,
       j->'primary'->>'status' AS primary_status,
       jsonb_typeof(j->'primary'->'port') AS primary_port_type,
       jsonb_typeof(j->'replicas') AS replicas_type,
       jsonb_array_length(j->'replicas') AS replicas,
       jsonb_typeof(j->'reasons') AS reasons_type,
       (j->>'checked_at')::timestamptz IS NOT NULL AS checked_at_is_timestamp
FROM innoquim_failover.health_json() AS j, innoquim_failover.health AS h;

SELECT jsonb_object_keys(innoquim_failover.health_json()->'primary') AS primary_key ORDER BY 1;
