--
-- gucs: defaults, and clear errors for bad values.
--
SHOW innoquim_failover.monitor_interval;
SHOW innoquim_failover.node_name;
SHOW innoquim_failover.min_standbys;
SHOW innoquim_failover.max_lag;
SHOW innoquim_failover.max_lag_time;
SHOW innoquim_failover.upstream_timeout;

-- settings are reloadable, not per-session
SET innoquim_failover.min_standbys = 3;

-- out-of-range and malformed values are refused
ALTER SYSTEM SET innoquim_failover.monitor_interval = 5;
ALTER SYSTEM SET innoquim_failover.monitor_interval = '2min';
ALTER SYSTEM SET innoquim_failover.monitor_interval = 'often';
ALTER SYSTEM SET innoquim_failover.min_standbys = -1;
ALTER SYSTEM SET innoquim_failover.max_lag = -2;
ALTER SYSTEM SET innoquim_failover.max_lag = '16 parsecs';
ALTER SYSTEM SET innoquim_failover.max_lag_time = -5;
ALTER SYSTEM SET innoquim_failover.upstream_timeout = '-1s';
ALTER SYSTEM SET innoquim_failover.upstream_timeout = '2h';
ALTER SYSTEM SET innoquim_failover.node_name = 'bad name!';
ALTER SYSTEM SET innoquim_failover.node_name = 'a-name-that-is-far-too-long-to-fit-in-sixty-four-bytes-of-shared-memory';

-- the prefix is reserved: a typo is an error, not a silent placeholder
SET innoquim_failover.monitor_intervall = '1s';

-- good values are accepted (and reset)
ALTER SYSTEM SET innoquim_failover.max_lag = '64MB';
ALTER SYSTEM SET innoquim_failover.max_lag = -1;
ALTER SYSTEM SET innoquim_failover.node_name = 'db-replica.eu-1:5433';
ALTER SYSTEM RESET innoquim_failover.max_lag;
ALTER SYSTEM RESET innoquim_failover.node_name;
