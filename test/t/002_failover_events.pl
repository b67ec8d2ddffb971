
# Copyright (c) 2026, innoquim_failover developers
#
# 002_failover_events.pl - losing the primary, getting it back, and promoting
# a standby, as the standbys' views, events and logs tell it.
#
# Proves:
#  - primary_conninfo's password (standby1 has password=SuperSecret123 in it)
#    never shows in the upstream view, health_json() or the events, neither
#    while streaming nor after the primary is gone (when the upstream view
#    falls back to the configured primary_conninfo);
#  - after kill -9 of the primary, each standby's upstream view turns
#    connected = false / status 'disconnected' within seconds, and health is
#    at first only degraded (reason upstream_lost), then unhealthy (reason
#    primary_unavailable, health_json primary.status 'unavailable') once
#    upstream_timeout (2 s) has passed, and not before;
#  - restarting the primary brings both standbys back to healthy, streaming;
#    their events view records upstream_lost then upstream_connected, and the
#    server log carries 'innoquim_failover event: upstream_lost';
#  - promoting a standby turns its role view to primary on timeline 2 and
#    records a role_changed event.

use strict;
use warnings;

# test/perl, whatever the Makefile's PROVE_FLAGS end up being
use FindBin;
use lib "$FindBin::RealBin/../perl";

use IqfTest;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time usleep);

my $secret = 'SuperSecret123';
my $upstream_timeout_s = 2;

# ------------------------------------------------------------------ setup

my $primary = iqf_primary('primary');
$primary->backup('base');
my $primary_port = $primary->port;

my $standby_conf = "innoquim_failover.upstream_timeout = ${upstream_timeout_s}s\n";

# What Cluster.pm sets (port and host), plus a password.  The primary uses
# trust authentication, so the password is never checked; it must never be
# shown either.  This line comes after Cluster.pm's and overrides it.
my $standby1 = iqf_standby('standby1', $primary, 'base',
	$standby_conf
	  . "primary_conninfo = '"
	  . $primary->connstr
	  . " password=$secret'\n");
my $standby2 = iqf_standby('standby2', $primary, 'base', $standby_conf);
my @standbys = ($standby1, $standby2);

iqf_query($primary, 'CREATE EXTENSION innoquim_failover');
$primary->wait_for_catchup($_) for @standbys;
for my $node ($primary, @standbys)
{
	ok(defined iqf_wait_monitor($node, 60),
		"monitor on @{[$node->name]} runs and has published a snapshot");
}

like(iqf_query($standby1, 'SHOW primary_conninfo'),
	qr/password=$secret/,
	"standby1's configured primary_conninfo does contain the password (the check below is not vacuous)"
);

for my $node (@standbys)
{
	ok( defined iqf_poll($node,
			q{SELECT u.status, u.connected, h.status
			  FROM innoquim_failover.upstream u, innoquim_failover.health h},
			'streaming|t|healthy', 30),
		"@{[$node->name]} streams from the primary and is healthy");
}

# Everything the extension shows about standby1's upstream, as one text.
my $everything_shown = q{SELECT
	  (SELECT row_to_json(u)::text FROM innoquim_failover.upstream u) || ' '
	  || innoquim_failover.health_json()::text || ' '
	  || (SELECT row_to_json(h)::text FROM innoquim_failover.health h) || ' '
	  || coalesce((SELECT string_agg(kind || ': ' || detail, E'\n')
	               FROM innoquim_failover.events), '')};

# ---------------------------------------------- no password while streaming

my $conninfo = iqf_query($standby1, 'SELECT conninfo FROM innoquim_failover.upstream');
like($conninfo, qr/port='?$primary_port/,
	"while streaming, standby1's upstream view shows a conninfo naming the primary's port");
unlike($conninfo, qr/$secret/,
	"while streaming, standby1's upstream conninfo does not contain the password");
unlike(iqf_query($standby1, 'SELECT innoquim_failover.health_json()::text'),
	qr/$secret/, "while streaming, standby1's health_json() does not contain the password");
unlike(iqf_query($standby1, $everything_shown),
	qr/$secret/,
	"while streaming, no upstream/health/events column on standby1 contains the password");
note("standby1 upstream conninfo while streaming: $conninfo");

# -------------------------------------------------------- kill the primary

my $t_kill = iqf_kill9($primary);

# Watch both standbys at once: each must be seen disconnected, and at that
# moment (well inside upstream_timeout) degraded, not yet unhealthy.
my $lost_query = q{SELECT u.connected, h.status, array_to_string(h.reasons, ',')
	FROM innoquim_failover.upstream u, innoquim_failover.health h
	WHERE NOT u.connected};
my %lost_row;
my %lost_after;
while (keys(%lost_row) < 2 && time - $t_kill < 10)
{
	for my $node (@standbys)
	{
		next if exists $lost_row{ $node->name };
		my ($ret, $out, $err) = $node->psql('postgres', $lost_query);
		if ($ret == 0 && defined $out && $out ne '')
		{
			$lost_row{ $node->name }   = $out;
			$lost_after{ $node->name } = time - $t_kill;
		}
	}
	usleep(50_000);
}
for my $node (@standbys)
{
	my $name = $node->name;
	ok(exists $lost_row{$name},
		"within 10 s of kill -9 of the primary, ${name}'s upstream view shows connected = false");
	note(sprintf('%s saw its upstream lost %.2f s after the kill',
			$name, $lost_after{$name} // -1));
	is($lost_row{$name}, 'f|degraded|upstream_lost',
		"right after losing its upstream, $name is degraded with reason upstream_lost, not yet unhealthy"
	);
}

for my $node (@standbys)
{
	my $name = $node->name;
	ok( defined iqf_poll($node,
			q{SELECT status, connected FROM innoquim_failover.upstream},
			'disconnected|f', 10),
		"${name}'s upstream view shows status 'disconnected'");
}

for my $node (@standbys)
{
	my $name = $node->name;
	my ($elapsed, $row) = iqf_poll_row($node,
		q{SELECT array_to_string(reasons, ','),
		         innoquim_failover.health_json()->'primary'->>'status'
		  FROM innoquim_failover.health WHERE status = 'unhealthy'},
		30);
	my $since_kill = time - $t_kill;
	ok(defined $elapsed,
		"$name turns unhealthy after upstream_timeout (${upstream_timeout_s}s)");
	note(sprintf('%s seen unhealthy %.2f s after the kill', $name, $since_kill));
	cmp_ok($since_kill, '>=', $upstream_timeout_s,
		"$name was not unhealthy before upstream_timeout had passed since the kill");
	is($row, 'primary_unavailable|unavailable',
		"$name is unhealthy with reason primary_unavailable, and health_json() says primary unavailable"
	);
}

# ----------------------------------------- no password after the primary died

$conninfo = iqf_query($standby1, 'SELECT conninfo FROM innoquim_failover.upstream');
like($conninfo, qr/port='?$primary_port/,
	"with the primary gone, standby1's upstream conninfo falls back to primary_conninfo (names the primary's port)"
);
unlike($conninfo, qr/$secret/,
	"with the primary gone, standby1's upstream conninfo does not contain the password");
unlike(iqf_query($standby1, 'SELECT innoquim_failover.health_json()::text'),
	qr/$secret/, "with the primary gone, standby1's health_json() does not contain the password");
unlike(iqf_query($standby1, $everything_shown),
	qr/$secret/,
	"with the primary gone, no upstream/health/events column on standby1 contains the password");
is( iqf_query($standby1,
		q{SELECT sender_port, (innoquim_failover.health_json()->'primary'->>'port')::int
		  FROM innoquim_failover.upstream}),
	"$primary_port|$primary_port",
	"with the primary gone, standby1 still names the primary's port (upstream view and health_json)"
);
note("standby1 upstream conninfo with the primary gone: $conninfo");

# ------------------------------------------------------ primary comes back

note(sprintf('processes of the killed primary gone after %.2f s more',
		iqf_wait_orphans($primary, 30)));
$primary->start;

for my $node (@standbys)
{
	my $name = $node->name;
	my $elapsed = iqf_poll($node,
		q{SELECT u.status, u.connected, h.status, h.reasons
		  FROM innoquim_failover.upstream u, innoquim_failover.health h},
		'streaming|t|healthy|{}', 60);
	ok(defined $elapsed,
		"after the primary restarts, $name is streaming, connected and healthy again");
	note(sprintf('%s healthy again %.2f s after the primary started', $name, $elapsed // -1));

	my @lost      = iqf_event_seqs($node, 'upstream_lost');
	my @connected = iqf_event_seqs($node, 'upstream_connected');
	ok(scalar(@lost) >= 1, "${name}'s events view records upstream_lost");
	ok(@lost && @connected && $connected[-1] > $lost[-1],
		"${name}'s events view records upstream_connected after the last upstream_lost")
	  or diag("upstream_lost seqs: @lost; upstream_connected seqs: @connected");
	ok($node->log_contains(qr/innoquim_failover event: upstream_lost/),
		"${name}'s server log contains 'innoquim_failover event: upstream_lost'");
}

unlike(iqf_query($standby1, $everything_shown),
	qr/$secret/,
	"after reconnecting, no upstream/health/events column on standby1 contains the password");
ok(!$standby1->log_contains(qr/innoquim_failover event:[^\n]*$secret/),
	"no innoquim_failover event line in standby1's server log contains the password");

# ------------------------------------------------------- promote a standby

$standby2->promote;
my $elapsed = iqf_poll($standby2,
	q{SELECT role, in_recovery, accepting_writes, timeline FROM innoquim_failover.role},
	'primary|f|t|2', 60);
ok(defined $elapsed,
	'after promotion, standby2\'s role view says primary, not in recovery, accepting writes, timeline 2'
);
note(sprintf('standby2 shown as primary %.2f s after pg_ctl promote', $elapsed // -1));

like(
	iqf_query($standby2,
		q{SELECT detail FROM innoquim_failover.events WHERE kind = 'role_changed'
		  ORDER BY seq DESC LIMIT 1}),
	qr/from standby to primary on timeline 2/,
	"standby2's events view records role_changed from standby to primary on timeline 2");
is(iqf_query($standby2, 'SELECT role_changes, node_name FROM innoquim_failover.role'),
	'1|standby2', "standby2's role view counts one role change");
like(
	iqf_query($standby2,
		q{SELECT detail FROM innoquim_failover.events WHERE kind = 'timeline_changed'
		  ORDER BY seq DESC LIMIT 1}),
	qr/timeline went from 1 to 2/,
	"standby2's events view records timeline_changed from 1 to 2");
ok( defined iqf_poll($standby2,
		q{SELECT role, status, array_to_string(reasons, ',') FROM innoquim_failover.health},
		'primary|degraded|too_few_standbys', 30),
	'the promoted node is judged as a primary: degraded for want of standbys (min_standbys 1)');
is(iqf_query($standby2, 'SELECT count(*) FROM innoquim_failover.upstream'),
	'0', 'the promoted node has no upstream row any more');
is(iqf_query($standby2, q{SELECT innoquim_failover.health_json()->>'role'}),
	'primary', "the promoted node's health_json() says role primary");

done_testing();
