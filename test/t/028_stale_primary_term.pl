# Copyright (c) 2026, innoquim_failover developers
#
# 028_stale_primary_term.pl - a deposed primary that learns the new term
# must not act as the primary of that term towards a voter that did not
# vote in it.
#
# Cluster: primary p, standbys s and s2, witnesses w and w2 (5 voters,
# quorum 3); synchronous_standby_names = 'FIRST 1 (s)' on p.
#
# Scenario: p and s2 are both isolated; s wins term 1 with s, w and w2 (s2
# never votes in term 1).  Then the partition heals in steps: first p-s2
# (p, still in term 0, renews its lease with s2: 2 grants of 3, fenced),
# then p-s (p grants s's lease of term 1 and so learns of term 1), then
# everything.
#
# Proves:
#  - s becomes primary in term 1 while p and s2 are isolated; p is fenced;
#  - once everything heals, every node names s as primary in term 1 within
#    15 s, s2 included (it must not be held by leases the deposed p sends
#    in a term it did not win), and p stays fenced;
#  - invariants: no two nodes accept writes at the same moment, no
#    acknowledged commit is lost.

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
my $c = iqfc_setup(
	primary => 'p',
	standbys => [ 's', 's2' ],
	witness => [ 'w', 'w2' ],
	sync => 'FIRST 1 (s)');
my ($p, $s, $s2, $w, $w2) = @{ $c->{nodes} }{qw(p s s2 w w2)};

iqfc_probe_start($c);
iqfc_writer_start($c);
sleep(1);

# ------------------------------------------ p and s2 isolated, s elected

iqfc_isolate($c, 'p');
iqfc_isolate($c, 's2');
my $t_iso = time;
note('p and s2 isolated');
my $el = iqfc_wait($s, 'SELECT role, accepting_writes, timeline FROM innoquim_failover.role',
	'primary|t|2', 20, 0.05);
ok(defined $el, 's becomes primary on timeline 2 while p and s2 are isolated');
note(sprintf('isolation -> s primary: %s s', iqfc_fmt(time - $t_iso))) if defined $el;
ok(defined iqfc_wait($s, 'SELECT term, voted_for FROM innoquim_failover.failover', '1|s', 10),
	's won term 1');
is(iqfc_q($p, 'SELECT role FROM innoquim_failover.role'), 'fenced', 'p is fenced');
is(iqfc_q($s2, 'SELECT term FROM innoquim_failover.failover'), '0', 's2 did not vote in term 1');

# ------------------------------------------------------- heal in steps

iqfc_heal($c, 'p', 's2');
sleep(1.5);
is(iqfc_q($p, 'SELECT role FROM innoquim_failover.role'), 'fenced',
	'with only s2 reachable, p is still fenced');
iqfc_heal($c, 'p', 's');
ok(defined iqfc_wait($p, 'SELECT term FROM innoquim_failover.failover', '1', 10),
	'reaching s, p learns of term 1');
sleep(1.5);
note('s2 before the full heal: '
	  . iqfc_q($s2, 'SELECT primary_name, term, voted_for FROM innoquim_failover.failover'));
iqfc_heal_all($c);
my $t_heal = time;
note('partition healed');

for my $node ($s2, $w, $w2, $p)
{
	ok(defined iqfc_wait($node, 'SELECT primary_name, term FROM innoquim_failover.failover', 's|1', 15),
		$node->name . ' names s as primary in term 1 after the heal')
	  or diag($node->name . ': '
		  . iqfc_q($node, 'SELECT phase, primary_name, term, voted_for FROM innoquim_failover.failover'));
}
my ($n, $bad) = iqfc_stays_fenced($p, 3);
ok(!defined $bad, "p stays fenced after the heal ($n checks over 3 s)") or diag($bad);
is(iqfc_q($s, 'SELECT role, accepting_writes FROM innoquim_failover.role'),
	'primary|t', 's is still the primary');

# -------------------------------------------------------------- invariants

iqfc_check_invariants($c, $s);
note(sprintf('028 ran for %.1f s', time - $t_file));

done_testing();
