# Copyright (c) 2026, innoquim_failover developers
#
# 026_pause_resume.pl - a maintenance pause suspends automatic failover
# cluster-wide; resume() brings it back.
#
# Cluster: primary p, standby s, witness w (3 voters, quorum 2);
# synchronous_standby_names = 'FIRST 1 (s)' on p.
#
# Proves:
#  - pause() on p reaches every node with the next leases (failover view
#    paused = t on p, s and w);
#  - kill -9 of p while paused: no promotion for 2 x failover_timeout (s
#    stays standby, failovers 0, term 0 everywhere);
#  - p started again re-acquires its lease in the same term (nobody voted:
#    term 0 everywhere) and accepts writes; s streams from it again;
#  - resume() on p reaches every node (paused = f); kill -9 of p again: now s
#    becomes primary on timeline 2 within 15 s (noted), failovers 1, term 1;
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
my ($c, $fot) = iqfc_scenario(settle => 1);    # p, s, w; FIRST 1 (s)
my ($p, $s, $w) = @{ $c->{nodes} }{qw(p s w)};

# ------------------------------------------------------------------ pause

iqfc_q($p, 'SELECT innoquim_failover.pause()');
for my $node ($p, $s, $w)
{
	ok(defined iqfc_wait($node, 'SELECT paused, auto_failover_active FROM innoquim_failover.failover', 't|f', 10),
		$node->name . ': failover view shows paused, auto failover not active');
}

my $t_kill = iqf_kill9($p);
note('kill -9 of the postmaster of p, failover paused');
my %phases;
my ($n, $bad) = iqfc_during(2 * $fot, sub {
		my $r = iqfc_q($s,
			q{SELECT r.role, f.failovers, f.term, f.phase
			  FROM innoquim_failover.role r, innoquim_failover.failover f});
		my ($role, $fo, $term, $phase) = split(/\|/, $r);
		$phases{$phase}++;
		return "s: $r" if "$role|$fo|$term" ne 'standby|0|0';
		my $rw = iqfc_q($w, 'SELECT failovers, term FROM innoquim_failover.failover');
		return "w: $rw" if $rw ne '0|0';
		return undef;
	}, 0.1);
ok(!defined $bad,
	"paused: for 2 x failover_timeout after kill -9 of p ($n checks) s stays standby, term 0, failovers 0")
  or diag($bad);
note('phases of s meanwhile: ' . join(', ', map { "$_ x$phases{$_}" } sort keys %phases));

# ------------------------------------------------- p back, in the same term

iqf_wait_orphans($p, 30);
my $t_start = time;
iqfc_start($c, $p);
my $el = iqfc_wait($p,
	q{SELECT r.role, r.accepting_writes, f.term, f.phase
	  FROM innoquim_failover.role r, innoquim_failover.failover f},
	'primary|t|0|primary', 15, 0.05);
ok(defined $el, 'p, started again, re-acquires its lease in term 0 and accepts writes');
note(sprintf('start of p -> p accepts writes: %s s', iqfc_fmt(time - $t_start))) if defined $el;
for my $node ($s, $w)
{
	is(iqfc_q($node, 'SELECT term, failovers, paused FROM innoquim_failover.failover'),
		'0|0|t', $node->name . ': still term 0, no failover, paused');
}
ok(defined iqfc_wait($s, 'SELECT status FROM innoquim_failover.upstream', 'streaming', 20),
	's streams from p again');
ok( defined iqfc_wait($p,
		"SELECT application_name FROM pg_stat_replication WHERE sync_state = 'sync'", 's', 20),
	's is the synchronous standby again');

# ----------------------------------------------------------------- resume

iqfc_q($p, 'SELECT innoquim_failover.resume()');
for my $node ($p, $s, $w)
{
	ok(defined iqfc_wait($node, 'SELECT paused, auto_failover_active FROM innoquim_failover.failover', 'f|t', 10),
		$node->name . ': failover view shows not paused, auto failover active');
}
sleep(1);

$t_kill = iqf_kill9($p);
note('kill -9 of the postmaster of p, failover resumed');
$el = iqfc_wait($s,
	'SELECT role, accepting_writes, timeline FROM innoquim_failover.role',
	'primary|t|2', 15, 0.05);
ok(defined $el, 'after resume, s becomes primary on timeline 2 within 15 s of kill -9 of p');
note(sprintf('kill -9 of p -> role view of s says primary|t|2: %s s', iqfc_fmt(time - $t_kill)))
  if defined $el;
ok( defined iqfc_wait($s, 'SELECT failovers, term, primary_name FROM innoquim_failover.failover',
		'1|1|s', 10),
	"s's failover view: failovers 1, term 1, primary s");
note("s's failover timings: " . iqfc_failover_timings($s));
ok(defined iqfc_wait($w, 'SELECT primary_name, term FROM innoquim_failover.failover', 's|1', 10),
	'the witness names s as primary in term 1');

# -------------------------------------------------------------- invariants

sleep(1);
my $rec = iqfc_check_invariants($c, $s);
my @s_early = grep { $_->{ok} && $_->{node} eq 's' && $_->{t0} < $t_kill } @$rec;
is(scalar(@s_early), 0, 's accepted no write before the second kill');
note(sprintf('026 ran for %.1f s', time - $t_file));

done_testing();
