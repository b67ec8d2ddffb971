# Copyright (c) 2026, innoquim_failover developers
#
# 025_restart_and_lag.pl - (a) a clean restart of the primary is not a
# failure; (b) after kill -9 of the primary, the most advanced standby wins
# and the lagging one follows it.
#
# Cluster: primary p, standbys s1 and s2, witness w (4 voters, quorum 3);
# synchronous_standby_names = 'FIRST 1 (s1, s2)' on p (s1 synchronous).
#
# Proves:
#  (a) pg_ctl restart (fast) of p: no failover (s1 and s2 stay standbys,
#      failovers 0 and term 0 everywhere, through the restart and
#      failover_timeout + 1 s after it); p is primary and accepting writes
#      again within 15 s of the restart (noted);
#  (b) with s2's link to p cut (proxy) while the writer writes, s2 falls
#      behind s1 (received LSN); kill -9 of p: s1 becomes primary on
#      timeline 2 within 15 s (noted), s2 does not; s2 follows s1 without a
#      rebuild: its upstream is s1, streaming, it is on timeline 2 and it
#      catches up with s1's data;
#  - invariants throughout: no two nodes accept writes at the same moment,
#    no acknowledged commit is lost.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::RealBin/../perl";

use IqfCluster;
use IqfTest;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time usleep);

my $t_file = time;
my ($c, $fot) = iqfc_scenario(
	settle => 1,
	primary => 'p',
	standbys => [ 's1', 's2' ],
	witness => 'w',
	sync => 'FIRST 1 (s1, s2)');
my ($p, $s1, $s2, $w) = @{ $c->{nodes} }{qw(p s1 s2 w)};

# ------------------------------------------------------- (a) clean restart

my $no_failover = sub {
	for my $node ($p, $s1, $s2, $w)
	{
		my ($ret, $out) = $node->psql('postgres',
			'SELECT failovers, term FROM innoquim_failover.failover');
		next if $ret != 0 && $node == $p;    # p is restarting
		return $node->name . ": $out" if $out ne '0|0';
	}
	for my $node ($s1, $s2)
	{
		my $r = iqfc_q($node, 'SELECT role FROM innoquim_failover.role');
		return $node->name . ": $r" if $r ne 'standby';
	}
	return undef;
};

my $t_restart = time;
iqfc_restart($c, $p);
note(sprintf('pg_ctl restart of p took %.2f s', time - $t_restart));
my $el = iqfc_wait($p,
	q{SELECT r.role, r.accepting_writes FROM innoquim_failover.role r},
	'primary|t', 15, 0.05);
ok(defined $el, 'after pg_ctl restart p is primary and accepting writes again within 15 s');
note(sprintf('restart of p -> p accepts writes: %s s after the restart began', iqfc_fmt(time - $t_restart)))
  if defined $el;
my ($n, $bad) = iqfc_during($fot + 1, $no_failover, 0.1);
ok(!defined $bad,
	"no failover through the restart: s1, s2 standbys, failovers 0, term 0 everywhere ($n checks)")
  or diag($bad);
for my $sn ('s1', 's2')
{
	ok(defined iqfc_wait($c->{nodes}{$sn}, 'SELECT status FROM innoquim_failover.upstream', 'streaming', 20),
		"$sn streams from p again");
}
ok( defined iqfc_wait($p,
		"SELECT application_name FROM pg_stat_replication WHERE sync_state = 'sync'", 's1', 20),
	's1 is the synchronous standby again');

# ------------------------------------------------ (b) s2 falls behind

iqfc_cut($c, 's2', 'p');
my $t_cut = time;
note('link s2-p cut');
sleep(2);
my $lsn1 = iqfc_q($s1, 'SELECT pg_last_wal_receive_lsn()');
my $lsn2 = iqfc_q($s2, 'SELECT pg_last_wal_receive_lsn()');
is(iqfc_q($s1, "SELECT '$lsn2'::pg_lsn < '$lsn1'::pg_lsn"), 't',
	"s2 has received less WAL than s1 (s2 $lsn2 < s1 $lsn1)");

my $t_kill = iqf_kill9($p);
note('kill -9 of the postmaster of p');
$el = iqfc_wait($s1,
	'SELECT role, accepting_writes, timeline FROM innoquim_failover.role',
	'primary|t|2', 15, 0.05);
ok(defined $el, 's1 (the most advanced standby) becomes primary on timeline 2 within 15 s');
note(sprintf('kill -9 of p -> role view of s1 says primary|t|2: %s s', iqfc_fmt(time - $t_kill)))
  if defined $el;
note("s1's failover timings: " . iqfc_failover_timings($s1));
ok( defined iqfc_wait($s1, 'SELECT failovers, term, primary_name FROM innoquim_failover.failover',
		'1|1|s1', 10),
	"s1's failover view: failovers 1, term 1, primary s1");
is(iqfc_q($s2, 'SELECT role, failovers FROM innoquim_failover.role, innoquim_failover.failover'),
	'standby|0', 's2 did not promote');
iqfc_heal_all($c);

# s2 follows s1
my $s2_pid = $s2->{_pid};
my $via = iqfc_proxy_port($c, 's2', 's1');
my $s1_port = $s1->port;
my ($el2) = iqfc_wait_row($s2,
	"SELECT 1 FROM innoquim_failover.upstream
	 WHERE status = 'streaming' AND sender_port IN ($via, $s1_port)",
	20, 0.1);
ok(defined $el2, "s2 streams from s1 (sender port $via, the proxy s2->s1, or $s1_port)")
  or diag("s2's upstream: " . iqfc_q($s2, 'SELECT status, sender_host, sender_port, conninfo FROM innoquim_failover.upstream')
	  . "\ns2's primary_conninfo: " . iqfc_q($s2, 'SHOW primary_conninfo')
	  . "\ns2's failover view: " . iqfc_q($s2, 'SELECT phase, primary_name, term FROM innoquim_failover.failover')
	  . "\ns2's events: " . iqfc_events($s2));
note(sprintf('kill -9 of p -> s2 streams from s1: %s s', iqfc_fmt(time - $t_kill))) if defined $el2;
my $wait_s2 = defined $el2 ? 15 : 2;
ok(defined iqfc_wait($s2, 'SELECT role, timeline FROM innoquim_failover.role', 'standby|2', $wait_s2),
	's2 is a standby on timeline 2');

# -------------------------------------------------------------- invariants

my $rec = iqfc_check_invariants($c, $s1);
my $n1 = iqfc_q($s1, 'SELECT count(*), max(id) FROM iqf_w');
ok(defined iqfc_wait($s2, 'SELECT count(*), max(id) FROM iqf_w', $n1, $wait_s2),
	"s2 catches up with s1's data (count and max id $n1)");
is($s2->{_pid}, $s2_pid, 's2 was neither rebuilt nor restarted');
my $last_p = iqfc_last_accept($rec, 'p');
my $first_s1 = iqfc_first_accept($rec, 's1');
note(sprintf('probe: first write accepted by s1 %s s after kill -9 of p',
		iqfc_fmt(defined $first_s1 ? $first_s1 - $t_kill : undef)));
my ($gap) = iqfc_probe_max_gap($rec, 'p', $t_restart, $t_kill - 0.1);
note(sprintf('probe: longest gap between writes accepted by p around its restart: %.3f s', $gap));
note(sprintf('025 ran for %.1f s', time - $t_file));

done_testing();
