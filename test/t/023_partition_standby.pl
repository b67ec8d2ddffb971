# Copyright (c) 2026, innoquim_failover developers
#
# 023_partition_standby.pl - the standby is cut off from every other node:
# nothing must happen, the primary keeps its lease with the witness.
#
# Cluster: primary p, standby s, witness w (3 voters, quorum 2);
# synchronous_standby_names = 'FIRST 1 (s)' on p (so commits wait while s is
# away, but writes are still accepted: the probe rolls back).
#
# Proves:
#  - for 2 x failover_timeout with s isolated: p stays primary and accepts
#    writes (accepting_writes t), s stays standby, failovers 0 on every node,
#    nobody moves to a new term;
#  - p is never fenced meanwhile: no 'fenced' event on p, and the probe saw
#    p accept writes with no gap longer than 1 s from before the cut to after
#    the heal;
#  - after the heal s streams again (the same link resumes) and receives new
#    writes; still failovers 0, term 0 everywhere;
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
my ($c, $fot) = iqfc_scenario(settle => 2);    # p, s, w; FIRST 1 (s)
my ($p, $s, $w) = @{ $c->{nodes} }{qw(p s w)};

# ------------------------------------------------------------- isolate s

my $t_iso = time;
iqfc_isolate($c, 's');
note('s isolated from p and w');

my %seen_phase;
my ($n, $bad) = iqfc_during(2 * $fot, sub {
		# one query per node: role and failover view together
		my %want = (p => 'primary|t', s => 'standby|f', w => 'witness|f');
		for my $node ($p, $s, $w)
		{
			my $r = iqfc_q($node,
				q{SELECT r.role, r.accepting_writes, f.failovers, f.term, f.phase
				  FROM innoquim_failover.role r, innoquim_failover.failover f});
			my ($role, $aw, $fo, $term, $phase) = split(/\|/, $r);
			$seen_phase{ $node->name }{$phase}++;
			return $node->name . ": $r" if "$role|$aw" ne $want{ $node->name } || $fo ne '0' || $term ne '0';
		}
		return undef;
	}, 0.1);
ok(!defined $bad,
	"for 2 x failover_timeout ($n checks): p primary and accepting writes, s standby, failovers 0 and term 0 everywhere"
) or diag($bad);
note('phases seen meanwhile: '
	  . join('; ', map { my $x = $_; "$x: " . join(',', sort keys %{ $seen_phase{$x} }) } sort keys %seen_phase));

# --------------------------------------------------------------- heal

iqfc_heal_all($c);
my $t_heal = time;
note(sprintf('partition healed after %.2f s', $t_heal - $t_iso));

my $el = iqfc_wait($s, 'SELECT status FROM innoquim_failover.upstream', 'streaming', 20);
ok(defined $el, 's streams again after the heal');
iqfc_q($p, "CREATE TABLE iqf_after (v text); INSERT INTO iqf_after VALUES ('after the heal')");
ok(defined iqfc_wait($s, q{SELECT count(*) FROM pg_tables WHERE tablename = 'iqf_after'}, '1', 15)
	  && defined iqfc_wait($s, 'SELECT v FROM iqf_after', 'after the heal', 15),
	's receives a write made on p after the heal');
ok(defined iqfc_wait($s, 'SELECT phase, primary_name FROM innoquim_failover.failover', 'following|p', 15),
	's follows p again (failover phase following, primary p)');
sleep(1);

for my $node ($p, $s, $w)
{
	is(iqfc_q($node, 'SELECT failovers, term, primary_name FROM innoquim_failover.failover'),
		'0|0|p', $node->name . ': failovers 0, term 0, primary p after the heal');
}
is(iqfc_q($p, 'SELECT role, accepting_writes FROM innoquim_failover.role'),
	'primary|t', 'p is primary and accepting writes after the heal');
is(iqfc_q($p, q{SELECT count(*) FROM innoquim_failover.events WHERE kind = 'fenced'}),
	'0', 'p recorded no fenced event');

# -------------------------------------------------------------- invariants

my $rec = iqfc_check_invariants($c, $p);
my ($gap, $at) = iqfc_probe_max_gap($rec, 'p', $t_iso - 0.5, $t_heal + 2);
ok($gap < 1.0, 'p accepted writes continuously through the partition (probe gap < 1 s)')
  or diag(sprintf('longest gap %.3f s from %.3f (%.3f s after the isolation)', $gap, $at, $at - $t_iso));
note(sprintf('longest gap between writes accepted by p from the isolation to 2 s after the heal: %.3f s', $gap));
my @s_ok = grep { $_->{ok} && $_->{node} eq 's' } @$rec;
is(scalar(@s_ok), 0, 's never accepted a write');
note(sprintf('023 ran for %.1f s', time - $t_file));

done_testing();
