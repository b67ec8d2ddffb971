# Copyright (c) 2026, innoquim_failover developers
#
# 021_failover_sigstop.pl - the primary freezes (SIGSTOP of the postmaster and
# of every child of it): no death certificate, the voters wait out
# failover_timeout; when the primary thaws it must find itself fenced.
#
# Cluster: primary p, standby s, witness w (3 voters, quorum 2), every link
# between nodes through the test's proxies; synchronous_standby_names =
# 'FIRST 1 (s)' on p.
#
# Proves:
#  - with every process of p stopped, s becomes primary (role primary,
#    accepting writes, timeline 2) within failover_timeout + 12 s (noted:
#    expected just over failover_timeout), failovers 1, and the witness
#    names s;
#  - after SIGCONT of every process of p, a write on p fails with "fenced"
#    at once (its lease ran out while it was frozen), p's role is fenced,
#    its failover phase turns superseded and it stays fenced;
#  - invariants throughout (the probe keeps probing the frozen p, each node
#    on its own deadline): no two nodes accept writes at the same moment,
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

# ---------------------------------------------------------------- freeze p

my @pids = iqfc_freeze($p);
my $t_stop = time;
note('SIGSTOP sent to p: postmaster and ' . (@pids - 1) . ' children: ' . join(' ', @pids));
ok(@pids >= 8, 'the postmaster of p and its children (agent, monitor, walsender, ...) are stopped');

my $el = iqfc_wait($s,
	'SELECT role, accepting_writes, timeline FROM innoquim_failover.role',
	'primary|t|2', $fot + 12, 0.05);
ok(defined $el, "s becomes primary on timeline 2 within failover_timeout + 12 s of SIGSTOP of p");
note(sprintf('SIGSTOP of p -> role view of s says primary|t|2: %s s', iqfc_fmt(time - $t_stop)))
  if defined $el;
ok( defined iqfc_wait($s, 'SELECT failovers, term, primary_name FROM innoquim_failover.failover',
		'1|1|s', 10),
	"s's failover view: failovers 1, term 1, primary s");
note("s's failover timings: " . iqfc_failover_timings($s));
ok(defined iqfc_wait($w, 'SELECT primary_name FROM innoquim_failover.failover', 's', 10),
	'the witness names s as primary');

# s takes writes for a moment while p is still frozen
sleep(1);

# ------------------------------------------------------------------ thaw p

iqfc_thaw(@pids);
my $t_cont = time;
note('SIGCONT sent to every process of p');

my ($ret, $out, $err) = $p->psql('postgres', 'INSERT INTO iqf_w (id) VALUES (-1)', timeout => 30,
	timed_out => \my $to);
ok(defined $ret && $ret != 0, 'right after SIGCONT, a write on p fails');
like($err // '', qr/this node is fenced/, '... because p is fenced');
is(iqfc_q($p, 'SELECT role, accepting_writes FROM innoquim_failover.role'),
	'fenced|f', "p's role view: fenced, not accepting writes");
ok( defined iqfc_wait($p, 'SELECT phase FROM innoquim_failover.failover', 'superseded', 15),
	"p learns that a newer term exists (failover phase superseded)");
my ($n, $bad) = iqfc_stays_fenced($p, 4);
ok(!defined $bad, "p stays fenced ($n checks over 4 s)") or diag($bad);
($ret, $out, $err) = $p->psql('postgres', 'INSERT INTO iqf_w (id) VALUES (-2)');
like($err, qr/this node is fenced/, 'a write on p still fails with "fenced" 4 s later');
is(iqfc_q($s, 'SELECT role, accepting_writes FROM innoquim_failover.role'),
	'primary|t', 's is still the primary');

# -------------------------------------------------------------- invariants

my $rec = iqfc_check_invariants($c, $s);
my $last_p = iqfc_last_accept($rec, 'p');
my $first_s = iqfc_first_accept($rec, 's');
note(sprintf('probe: last write accepted by p %s s before SIGSTOP; first accepted by s %s s after it',
		iqfc_fmt(defined $last_p ? $t_stop - $last_p : undef),
		iqfc_fmt(defined $first_s ? $first_s - $t_stop : undef)));
my @hung = grep { $_->{node} eq 'p' && $_->{info} =~ /timeout/ && $_->{t0} >= $t_stop && $_->{t0} < $t_cont } @$rec;
ok(@hung > 0, 'the probe kept probing the frozen p (' . scalar(@hung) . ' probes timed out)');
my @s_during = grep { $_->{node} eq 's' && $_->{t0} >= $t_stop && $_->{t0} < $t_cont } @$rec;
ok(@s_during > 20, 'the probe kept probing s while p was frozen (' . scalar(@s_during) . ' probes)');
note(sprintf('021 ran for %.1f s', time - $t_file));

done_testing();
