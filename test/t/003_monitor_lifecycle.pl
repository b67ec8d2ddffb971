
# Copyright (c) 2026, innoquim_failover developers
#
# 003_monitor_lifecycle.pl - the monitor's life: reconfiguration, death and
# restart, and the extension in a server that did not preload it.
#
# Proves:
#  - a new innoquim_failover.monitor_interval applied with ALTER SYSTEM and a
#    reload (SIGHUP) takes effect: health.monitor_interval_ms follows it, the
#    sampling cadence (checked_at) follows it, and the events view records
#    config_changed; setting it back to 100ms applies the same way;
#  - the monitor terminated with pg_terminate_backend leaves the node
#    unhealthy (monitor_not_running) and is restarted by the postmaster with
#    a new PID within seconds, visible in pg_stat_activity, and the node is
#    healthy again;
#  - in a server without innoquim_failover in shared_preload_libraries,
#    CREATE EXTENSION succeeds, no monitor runs, and every view fails with
#    "innoquim_failover is not loaded" and a hint naming
#    shared_preload_libraries.

use strict;
use warnings;

# test/perl, whatever the Makefile's PROVE_FLAGS end up being
use FindBin;
use lib "$FindBin::RealBin/../perl";

use IqfTest;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

# A lone primary: min_standbys 0, so that it can be healthy on its own.
my $node = iqf_primary('primary', "innoquim_failover.min_standbys = 0\n");
iqf_query($node, 'CREATE EXTENSION innoquim_failover');
ok(defined iqf_wait_monitor($node, 60), 'monitor runs and has published a snapshot');
ok( defined iqf_poll($node,
		q{SELECT status, monitor_interval_ms FROM innoquim_failover.health},
		'healthy|100', 30),
	'the lone primary is healthy, sampling every 100 ms');

# Seconds between two samples (checked_at values) published after now: the
# first one seen, and the first one seen after it.  Polling may skip samples,
# so this is at least the monitor's interval (and close to it when the
# interval is long).  undef if no new sample within timeout_s.
sub sample_gap
{
	my ($timeout) = @_;
	my $t0 = iqf_query($node, 'SELECT checked_at FROM innoquim_failover.health');
	my (undef, $t1) = iqf_poll_row($node,
		"SELECT checked_at FROM innoquim_failover.health WHERE checked_at > '$t0'",
		$timeout);
	return undef unless defined $t1;
	my (undef, $t2) = iqf_poll_row($node,
		"SELECT checked_at FROM innoquim_failover.health WHERE checked_at > '$t1'",
		$timeout);
	return undef unless defined $t2;
	return iqf_query($node,
		"SELECT extract(epoch FROM '$t2'::timestamptz - '$t1'::timestamptz)");
}

# ------------------------------------------------- monitor_interval by SIGHUP

my $gap = sample_gap(10);
ok(defined $gap && $gap < 1.5,
	'at 100ms, a new sample follows the previous one within 1.5 s');
note('gap between samples at 100ms: ' . ($gap // 'none'));

iqf_query($node,
	q{ALTER SYSTEM SET innoquim_failover.monitor_interval = '3s'; SELECT pg_reload_conf()});
my $elapsed = iqf_poll($node,
	'SELECT monitor_interval_ms FROM innoquim_failover.health', '3000', 15);
ok(defined $elapsed,
	'after ALTER SYSTEM SET monitor_interval = 3s and a reload, health.monitor_interval_ms is 3000'
);
note(sprintf('monitor_interval 3s applied after %.2f s', $elapsed // -1));
is( iqf_query($node,
		q{SELECT detail FROM innoquim_failover.events WHERE kind = 'config_changed'
		  ORDER BY seq DESC LIMIT 1}),
	'monitor_interval went from 100 ms to 3000 ms',
	'the events view records config_changed from 100 ms to 3000 ms');

$gap = sample_gap(15);
ok(defined $gap && $gap >= 1.5,
	'at 3s, a new sample follows the previous one only after 1.5 s or more (the new cadence is in force)');
note('gap between samples at 3s: ' . ($gap // 'none'));
is(iqf_query($node, 'SELECT status FROM innoquim_failover.health'),
	'healthy', 'at 3s the node is still healthy (its snapshot is not considered stale)');

iqf_query($node,
	q{ALTER SYSTEM SET innoquim_failover.monitor_interval = '100ms'; SELECT pg_reload_conf()});
$elapsed = iqf_poll($node,
	'SELECT monitor_interval_ms FROM innoquim_failover.health', '100', 15);
ok(defined $elapsed,
	'after setting monitor_interval back to 100ms and a reload, health.monitor_interval_ms is 100'
);
note(sprintf('monitor_interval 100ms applied after %.2f s', $elapsed // -1));
is( iqf_query($node,
		q{SELECT string_agg(detail, ' / ' ORDER BY seq) FROM innoquim_failover.events
		  WHERE kind = 'config_changed'}),
	'monitor_interval went from 100 ms to 3000 ms / monitor_interval went from 3000 ms to 100 ms',
	'the events view records both config_changed events, in order');
$gap = sample_gap(10);
ok(defined $gap && $gap < 1.5,
	'back at 100ms, a new sample again follows the previous one within 1.5 s');
note('gap between samples back at 100ms: ' . ($gap // 'none'));
iqf_query($node,
	q{ALTER SYSTEM RESET innoquim_failover.monitor_interval; SELECT pg_reload_conf()});

# ---------------------------------------------------- monitor terminated

my $old_pid = iqf_query($node, 'SELECT monitor_pid FROM innoquim_failover.health');
like($old_pid, qr/^\d+$/, 'health.monitor_pid is set');
is( iqf_query($node,
		q{SELECT pid FROM pg_stat_activity WHERE backend_type = 'innoquim_failover monitor'}),
	$old_pid,
	"pg_stat_activity shows the monitor (backend_type 'innoquim_failover monitor') with that PID"
);
my $monitor_started_before = scalar(iqf_event_seqs($node, 'monitor_started'));

# pg_terminate_backend with a timeout waits for the process to be gone; the
# postmaster restarts the worker only after bgw_restart_time (1 s), so the
# health read right after sees the gap.
is( iqf_query($node,
		"SELECT pg_terminate_backend($old_pid, 10000);
		 SELECT status, array_to_string(reasons, ','), monitor_pid IS NULL
		 FROM innoquim_failover.health"),
	"t\nunhealthy|monitor_not_running|t",
	'right after pg_terminate_backend, the node is unhealthy (monitor_not_running) and monitor_pid is null'
);

my ($restart_after, $new_pid) = iqf_poll_row($node,
	"SELECT monitor_pid FROM innoquim_failover.health
	 WHERE monitor_pid IS NOT NULL AND monitor_pid <> $old_pid", 30);
ok(defined $restart_after,
	'the terminated monitor is restarted with a different PID within 30 s');
note(sprintf('monitor restarted as PID %s after %.2f s (old PID %s)',
		$new_pid // 'none', $restart_after // -1, $old_pid));
is( iqf_query($node,
		q{SELECT string_agg(pid::text, ',') FROM pg_stat_activity
		  WHERE backend_type = 'innoquim_failover monitor'}),
	$new_pid // 'no new pid',
	'pg_stat_activity shows exactly one monitor, with the new PID');
ok( defined iqf_poll($node,
		q{SELECT status, reasons FROM innoquim_failover.health}, 'healthy|{}', 30),
	'the node is healthy again with the restarted monitor');
is(scalar(iqf_event_seqs($node, 'monitor_started')),
	$monitor_started_before + 1,
	'the events view records one more monitor_started');

# ------------------------------------------ without shared_preload_libraries

my $plain = PostgreSQL::Test::Cluster->new('plain');
$plain->init;
$plain->start;

my ($ret, $stdout, $stderr) = $plain->psql('postgres',
	'CREATE EXTENSION innoquim_failover', on_error_stop => 1);
is($ret, 0, 'without the library preloaded, CREATE EXTENSION innoquim_failover succeeds')
  or diag($stderr);

is( iqf_query($plain,
		q{SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'innoquim_failover monitor'}),
	'0', 'without the library preloaded, no monitor runs');

($ret, $stdout, $stderr) = $plain->psql(
	'postgres',
	q{\set VERBOSITY verbose
SELECT * FROM innoquim_failover.health;
SELECT * FROM innoquim_failover.role;
SELECT * FROM innoquim_failover.replication;
SELECT * FROM innoquim_failover.upstream;
SELECT * FROM innoquim_failover.events;
SELECT innoquim_failover.health_json();
SELECT 'still connected';},
	on_error_stop => 0);
is($stdout, 'still connected',
	'without the library preloaded, the views return no rows (each query fails)');
like($stderr,
	qr/ERROR:  55000: innoquim_failover is not loaded/,
	'SELECT * FROM innoquim_failover.health fails: "innoquim_failover is not loaded" (SQLSTATE 55000)'
);
like($stderr, qr/HINT:  [^\n]*shared_preload_libraries/,
	'... with a hint naming shared_preload_libraries');
my $not_loaded = () = $stderr =~ /innoquim_failover is not loaded/g;
my $hints      = () = $stderr =~ /HINT:  [^\n]*shared_preload_libraries/g;
is($not_loaded, 6,
	'every view and health_json() fail with "innoquim_failover is not loaded"');
is($hints, 6, '... each with the shared_preload_libraries hint');
note("stderr of the views on the plain node:\n$stderr");

done_testing();
