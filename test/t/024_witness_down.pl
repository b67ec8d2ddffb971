# Copyright (c) 2026, innoquim_failover developers
#
# 024_witness_down.pl - the witness is stopped: the primary keeps its lease
# with the standby; then the primary dies too, and the standby alone (1 of 3
# voters) must not promote, until the witness comes back.
#
# Cluster: primary p, standby s, witness w (3 voters, quorum 2);
# synchronous_standby_names = 'FIRST 1 (s)' on p.
#
# Proves:
#  - with w stopped, for 2 x failover_timeout: no failover, p stays primary
#    and accepting writes (the writer's commits keep being acknowledged),
#    s stays standby;
#  - then kill -9 of p with w still down: for 3 x failover_timeout s stays
#    standby, failovers 0, its failover phase shows it lost the primary
#    (primary_lost or pre_vote) with fewer votes than the quorum;
#  - w started again: s gets its majority and becomes primary (timeline 2)
#    within 20 s (noted; expected about failover_timeout, w votes for
#    nobody for failover_timeout after its start), w names s;
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

# ------------------------------------------------------------- witness down

$w->stop('fast');
my $t_wstop = time;
note('w stopped');

my ($n, $bad) = iqfc_during(2 * $fot, sub {
		my $rp = iqfc_q($p,
			q{SELECT r.role, r.accepting_writes, f.failovers, f.term
			  FROM innoquim_failover.role r, innoquim_failover.failover f});
		return "p: $rp" if $rp ne 'primary|t|0|0';
		my $rs = iqfc_q($s,
			q{SELECT r.role, f.failovers, f.term
			  FROM innoquim_failover.role r, innoquim_failover.failover f});
		return "s: $rs" if $rs ne 'standby|0|0';
		return undef;
	}, 0.1);
ok(!defined $bad,
	"with w down, for 2 x failover_timeout ($n checks): p primary accepting writes, s standby, no failover"
) or diag($bad);
my $t_wdown_end = time;

# ------------------------------------------------ then the primary dies too

my $t_kill = iqf_kill9($p);
note('kill -9 of the postmaster of p, w still down');
my %phases;
my $min_votes_gap;
($n, $bad) = iqfc_during(3 * $fot, sub {
		my $r = iqfc_q($s,
			q{SELECT r.role, f.failovers, f.phase, f.votes, f.quorum
			  FROM innoquim_failover.role r, innoquim_failover.failover f});
		my ($role, $fo, $phase, $votes, $quorum) = split(/\|/, $r);
		$phases{$phase}++;
		return "s: $r" if $role ne 'standby' || $fo ne '0' || $votes >= $quorum;
		return undef;
	}, 0.1);
ok(!defined $bad,
	"with p dead and w down, for 3 x failover_timeout ($n checks) s stays standby, failovers 0, votes below quorum"
) or diag($bad);
note('phases of s meanwhile: ' . join(', ', map { "$_ x$phases{$_}" } sort keys %phases));
ok(scalar(grep { $_ ne 'primary_lost' && $_ ne 'pre_vote' } keys %phases) == 0
	  && ($phases{primary_lost} || $phases{pre_vote}),
	"s's failover phase meanwhile is primary_lost or pre_vote (it lost the primary, has no majority)");
like(iqfc_events($s), qr/primary_lost/, "s's events record primary_lost");

# ------------------------------------------------------------ witness back

iqfc_start($c, $w);
my $t_wstart = time;
note('w started again');
my $el = iqfc_wait($s,
	'SELECT role, accepting_writes, timeline FROM innoquim_failover.role',
	'primary|t|2', 20, 0.05);
ok(defined $el, 'with w back, s becomes primary on timeline 2 within 20 s');
note(sprintf('w started -> role view of s says primary|t|2: %s s (failover_timeout %s s)',
		iqfc_fmt(time - $t_wstart), $fot))
  if defined $el;
ok( defined iqfc_wait($s, 'SELECT failovers, term, primary_name FROM innoquim_failover.failover',
		'1|1|s', 10),
	"s's failover view: failovers 1, term 1, primary s");
ok(defined iqfc_wait($w, 'SELECT primary_name, term FROM innoquim_failover.failover', 's|1', 10),
	'the witness names s as primary in term 1');

# -------------------------------------------------------------- invariants

sleep(1);
my $res = iqfc_writer_stop($c);
my $rec = iqfc_check_invariants($c, $s);
my @p_ok_wdown = grep { $_->{ok} && $_->{node} eq 'p' && $_->{t0} > $t_wstop + 1 && $_->{t0} < $t_kill } @$rec;
ok(@p_ok_wdown > 20, 'the probe saw p accept writes while w was down (' . scalar(@p_ok_wdown) . ')');
my ($gap) = iqfc_probe_max_gap($rec, 'p', $t_wstop, $t_kill - 0.1);
ok($gap < 1.0, sprintf('p accepted writes without a gap of 1 s while w was down (longest %.3f s)', $gap));
my @s_ok_early = grep { $_->{ok} && $_->{node} eq 's' && $_->{t0} < $t_wstart } @$rec;
is(scalar(@s_ok_early), 0, 's accepted no write before w was back');
note(sprintf('024 ran for %.1f s', time - $t_file));

done_testing();
