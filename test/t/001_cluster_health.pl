
# Copyright (c) 2026, innoquim_failover developers
#
# 001_cluster_health.pl - a primary with two streaming standbys, seen through
# innoquim_failover's views.
#
# Proves:
#  - the extension created once on the primary replicates to both standbys;
#  - the monitor runs on every node and shows up in pg_stat_activity with
#    backend_type 'innoquim_failover monitor' (on the primary and a standby),
#    with the PID the health view reports;
#  - the role view on every node: node_name = cluster_name, primary/standby,
#    in_recovery, accepting_writes, timeline 1;
#  - the primary's replication view lists both standbys, streaming, under
#    their cluster_name, and their replay_lsn advances after writes;
#  - every node is healthy, with min_standbys = 2 on the primary;
#  - stopping a standby removes it from the replication view and degrades
#    the primary with reason too_few_standbys; starting it again restores
#    healthy;
#  - on a standby, a role outside pg_monitor is refused the health view and
#    health_json(), and can read them once granted pg_monitor.

use strict;
use warnings;

# test/perl, whatever the Makefile's PROVE_FLAGS end up being
use FindBin;
use lib "$FindBin::RealBin/../perl";

use IqfTest;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

# ------------------------------------------------------------------ setup

my $primary = iqf_primary('primary');
$primary->backup('base');
my $standby1 = iqf_standby('standby1', $primary, 'base');
my $standby2 = iqf_standby('standby2', $primary, 'base');
my @standbys = ($standby1, $standby2);

# min_standbys = 2 on the primary only (postgresql.conf is not replicated).
$primary->append_conf('postgresql.conf', 'innoquim_failover.min_standbys = 2');
$primary->reload;

# Created once, on the primary; standbys get it by replication.
iqf_query($primary, 'CREATE EXTENSION innoquim_failover');
$primary->wait_for_catchup($_) for @standbys;

for my $node ($primary, @standbys)
{
	my $name = $node->name;
	is(iqf_query($node,
			"SELECT extversion FROM pg_extension WHERE extname = 'innoquim_failover'"),
		'1.0', "extension innoquim_failover 1.0 exists on $name");
	ok(defined iqf_wait_monitor($node, 60),
		"monitor on $name runs and has published a snapshot");
}

# ------------------------------------------------------ monitor process

for my $node ($primary, $standby1)
{
	my $name = $node->name;
	my $rows = iqf_query($node,
		q{SELECT a.pid = h.monitor_pid, a.application_name
		  FROM pg_stat_activity a, innoquim_failover.health h
		  WHERE a.backend_type = 'innoquim_failover monitor'});
	is($rows, 't|innoquim_failover monitor',
		"exactly one 'innoquim_failover monitor' backend in pg_stat_activity on $name, with health.monitor_pid"
	);
}

# ------------------------------------------------------------- role view

is( iqf_query($primary,
		'SELECT node_name, role, in_recovery, accepting_writes, timeline FROM innoquim_failover.role'
	),
	'primary|primary|f|t|1',
	'role view on primary: node primary, role primary, not in recovery, accepting writes, timeline 1'
);
for my $node (@standbys)
{
	my $name = $node->name;
	is( iqf_query($node,
			'SELECT node_name, role, in_recovery, accepting_writes, timeline FROM innoquim_failover.role'
		),
		"$name|standby|t|f|1",
		"role view on $name: node $name, role standby, in recovery, not accepting writes, timeline 1"
	);
}

# ------------------------------------------------------ replication view

my $streaming_both = q{SELECT string_agg(application_name || ':' || state, ',' ORDER BY application_name)
	FROM innoquim_failover.replication};
ok( defined iqf_poll($primary, $streaming_both,
		'standby1:streaming,standby2:streaming', 30),
	"primary's replication view lists standby1 and standby2, both streaming");

is( iqf_query($primary,
		q{SELECT count(*) FROM innoquim_failover.replication r
		  JOIN pg_stat_replication s USING (pid)
		  WHERE r.application_name = s.application_name}),
	'2',
	'replication view rows match pg_stat_replication by pid and application_name');

my %replay_before;
for my $name ('standby1', 'standby2')
{
	$replay_before{$name} = iqf_query($primary,
		"SELECT replay_lsn FROM innoquim_failover.replication WHERE application_name = '$name'"
	);
	isnt($replay_before{$name}, '', "replication view reports a replay_lsn for $name");
}

iqf_query($primary,
	'CREATE TABLE iqf_t (i int); INSERT INTO iqf_t SELECT generate_series(1, 1000)');
my $target = $primary->lsn('insert');
$primary->wait_for_catchup($_, 'replay', $target) for @standbys;

for my $name ('standby1', 'standby2')
{
	ok( defined iqf_poll($primary,
			"SELECT replay_lsn >= '$target' AND replay_lsn > '$replay_before{$name}'
			 FROM innoquim_failover.replication WHERE application_name = '$name'",
			't', 30),
		"replay_lsn of $name in the replication view advances past the writes (from $replay_before{$name} to >= $target)"
	);
}
is(iqf_query($standby2, 'SELECT count(*) FROM iqf_t'),
	'1000', 'the written rows are readable on standby2');

# -------------------------------------------------------------- health

ok( defined iqf_poll($primary,
		q{SELECT status, reasons, min_standbys, streaming_standbys FROM innoquim_failover.health},
		'healthy|{}|2|2', 30),
	'primary is healthy with no reasons, min_standbys 2 and 2 streaming standbys');
for my $node (@standbys)
{
	ok( defined iqf_poll($node,
			q{SELECT status, reasons, upstream_status FROM innoquim_failover.health},
			'healthy|{}|streaming', 30),
		"@{[$node->name]} is healthy with no reasons, upstream streaming");
}

# ------------------------------------------- a standby stops, and returns

$standby2->stop;

my ($elapsed, $row) = iqf_poll_row($primary,
	q{SELECT h.status, array_to_string(h.reasons, ','), h.streaming_standbys,
	         (SELECT string_agg(application_name, ',') FROM innoquim_failover.replication)
	  FROM innoquim_failover.health h
	  WHERE h.status <> 'healthy'
	    AND NOT EXISTS (SELECT 1 FROM innoquim_failover.replication
	                    WHERE application_name = 'standby2')},
	30);
ok(defined $elapsed,
	'after standby2 stops, the primary drops it from the replication view and is no longer healthy'
);
note(sprintf('primary noticed standby2 gone after %.2f s', $elapsed // -1));
is($row, 'degraded|too_few_standbys|1|standby1',
	"primary is degraded with reason too_few_standbys, 1 streaming standby, only standby1 listed"
);

$standby2->start;
ok( defined iqf_poll($primary, $streaming_both,
		'standby1:streaming,standby2:streaming', 60),
	'after standby2 starts again, the replication view lists both standbys streaming');
ok( defined iqf_poll($primary,
		q{SELECT status, reasons, streaming_standbys FROM innoquim_failover.health},
		'healthy|{}|2', 30),
	'the primary is healthy again');
like(
	iqf_query($primary,
		q{SELECT string_agg(kind, ',') FROM innoquim_failover.events
		  WHERE kind = 'standby_disconnected' AND detail LIKE '%standby2%'}),
	qr/standby_disconnected/,
	"primary's events view records standby2's disconnection");

# ------------------------------------------------------------ privileges

iqf_query($primary, 'CREATE ROLE iqf_reader LOGIN');
$primary->wait_for_catchup($standby1);

my $reader_connstr = $standby1->connstr('postgres') . ' user=iqf_reader';
my ($ret, $stdout, $stderr) = $standby1->psql(
	'postgres',
	'SELECT status FROM innoquim_failover.health',
	connstr       => $reader_connstr,
	on_error_stop => 1);
isnt($ret, 0, 'on standby1, a role outside pg_monitor cannot read the health view');
like($stderr, qr/permission denied/,
	'... and the error is permission denied');

($ret, $stdout, $stderr) = $standby1->psql(
	'postgres',
	'SELECT innoquim_failover.health_json()',
	connstr       => $reader_connstr,
	on_error_stop => 1);
like($stderr, qr/permission denied/,
	'on standby1, a role outside pg_monitor gets permission denied on health_json()');

iqf_query($primary, 'GRANT pg_monitor TO iqf_reader');
$primary->wait_for_catchup($standby1);

($ret, $stdout, $stderr) = $standby1->psql(
	'postgres',
	q{SELECT status, role FROM innoquim_failover.health;
	  SELECT innoquim_failover.health_json()->>'role'},
	connstr       => $reader_connstr,
	on_error_stop => 1);
is($ret, 0, 'on standby1, the role can read health once granted pg_monitor')
  or diag($stderr);
is($stdout, "healthy|standby\nstandby",
	'... and sees standby1 healthy, role standby, in the view and in health_json()');

done_testing();
