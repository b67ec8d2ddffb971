# Copyright (c) 2026, innoquim_failover developers
#
# 022_partition_primary.pl - the primary is cut off from every other node
# (network partition through the test's proxies; clients still reach it).
#
# Cluster: primary p, standby s, witness w (3 voters, quorum 2);
# synchronous_standby_names = 'FIRST 1 (s)' on p.
#
# Proves:
#  - isolated, p fences itself: its role turns fenced (seen through a direct
#    local connection) within fence_timeout + 2 s, and a write on it fails;
#  - s becomes primary (timeline 2) within 20 s (expected: about
#    failover_timeout + 1 s; noted), failovers 1; the witness names s;
#  - p was fenced before s accepted its first write (probe);
#  - still isolated, p does not step down (R8: no voter grants it, so it
#    holds nobody back): fenced, still the leader of term 0;
#  - after the partition heals, p stays fenced (phase superseded, writes
#    fail) and s stays primary;
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

# ------------------------------------------------------------- isolate p

my $t_iso = time;
iqfc_isolate($c, 'p');
note('p isolated from s and w');

my $fence_s = iqfc_q($p, q{SELECT setting::numeric / 1000 FROM pg_settings
	WHERE name = 'innoquim_failover.fence_timeout'});
my $el_f = iqfc_wait($p, 'SELECT role, accepting_writes FROM innoquim_failover.role',
	'fenced|f', $fence_s + 3, 0.05);
ok(defined $el_f, 'isolated p fences itself: its role view says fenced within fence_timeout + 3 s');
note(sprintf('isolation -> p fenced: %s s', iqfc_fmt(time - $t_iso))) if defined $el_f;
my ($ret, $out, $err) = $p->psql('postgres', 'INSERT INTO iqf_w (id) VALUES (-1)');
like($err, qr/this node is fenced/, 'a write on the isolated p fails with "fenced"');

my $el_s = iqfc_wait($s,
	'SELECT role, accepting_writes, timeline FROM innoquim_failover.role',
	'primary|t|2', 20, 0.05);
ok(defined $el_s, 's becomes primary on timeline 2 within 20 s of the isolation');
note(sprintf('isolation -> role view of s says primary|t|2: %s s (failover_timeout %s s)',
		iqfc_fmt(time - $t_iso), $fot))
  if defined $el_s;
ok( defined iqfc_wait($s, 'SELECT failovers, term, primary_name FROM innoquim_failover.failover',
		'1|1|s', 10),
	"s's failover view: failovers 1, term 1, primary s");
note("s's failover timings: " . iqfc_failover_timings($s));
ok(defined iqfc_wait($w, 'SELECT primary_name FROM innoquim_failover.failover', 's', 10),
	'the witness names s as primary');
is(iqfc_q($p, 'SELECT role, accepting_writes FROM innoquim_failover.role'),
	'fenced|f', 'p, still isolated, is still fenced');

# R8: p, which no voter grants any more, holds nobody back: it does not give
# up its term, however long the partition lasts (030 tests the step-down of
# a primary that a minority still grants)
my $sd = $fence_s + $fot + 0.5;    # when a step-down would have happened
usleep(int(($sd - (time - $t_iso)) * 1_000_000)) if time - $t_iso < $sd;
is(iqfc_q($p, q{SELECT phase, term, coalesce(voted_for, '-') FROM innoquim_failover.failover}),
	'fenced|0|p', "isolated p, granted by nobody, keeps its term: fenced, term 0, its own vote (R8)");
note(sprintf('checked %.1f s after the isolation (fence_timeout + failover_timeout = 5 s)', time - $t_iso));

# ------------------------------------------------------------------- heal

iqfc_heal_all($c);
my $t_heal = time;
note('partition healed');
ok( defined iqfc_wait($p, 'SELECT phase, term FROM innoquim_failover.failover', 'superseded|1', 15),
	'after the heal p learns of term 1 (failover phase superseded)');
my ($n, $bad) = iqfc_stays_fenced($p, 4);
ok(!defined $bad, "after the heal p stays fenced ($n checks over 4 s)") or diag($bad);
($ret, $out, $err) = $p->psql('postgres', 'INSERT INTO iqf_w (id) VALUES (-2)');
like($err, qr/this node is fenced/, 'a write on p still fails with "fenced" after the heal');
is(iqfc_q($s, 'SELECT role, accepting_writes FROM innoquim_failover.role'),
	'primary|t', 's is still the primary');
is(iqfc_q($w, 'SELECT primary_name, term FROM innoquim_failover.failover'),
	's|1', 'the witness still names s, term 1');

# -------------------------------------------------------------- invariants

my $rec = iqfc_check_invariants($c, $s);
my $last_p = iqfc_last_accept($rec, 'p');
my $first_s = iqfc_first_accept($rec, 's');
ok(defined $last_p && defined $first_s && $last_p < $first_s,
	'p accepted its last write before s accepted its first');
# p's lease rests on grants requested before the cut: it ends at most
# fence_timeout after it (0.1 s for the proxy to apply the cut)
my ($last_p_sent) = sort { $b <=> $a } map { $_->{t0} } grep { $_->{ok} && $_->{node} eq 'p' } @$rec;
ok(defined $last_p_sent && $last_p_sent < $t_iso + $fence_s + 0.1,
	'p accepted no write sent later than fence_timeout after the isolation')
  or diag(sprintf('last accepted probe on p sent %.3f s after the isolation', $last_p_sent - $t_iso));
note(sprintf('probe: p accepted writes until %s s after the isolation; s from %s s after it (gap %s s)',
		iqfc_fmt(defined $last_p ? $last_p - $t_iso : undef),
		iqfc_fmt(defined $first_s ? $first_s - $t_iso : undef),
		iqfc_fmt(defined $last_p && defined $first_s ? $first_s - $last_p : undef)));
note(sprintf('022 ran for %.1f s', time - $t_file));

done_testing();
