# Copyright (c) 2026, innoquim_failover developers
#
# 030_asymmetric_partition.pl - the primary still reaches one standby, but
# not a majority (doc/protocol.md R8 and R7, amendment A3).
#
# Cluster: primary p, standbys s and s2, witness w (4 voters, quorum 3);
# synchronous_standby_names = 'FIRST 1 (s, s2)' on p, so an election needs
# the votes of both standbys (R16: m - k + 1 = 2).  The links p-s and p-w
# are cut; p-s2 stays up, and s2 still reaches s and w.
#
# p keeps only s2's grants: its lease runs out.  s2 keeps granting p's
# leases and streaming from it, so it does not vote (R12, R14), and s and w
# alone are not a quorum: without a step-down nobody would ever be elected.
# p must give up its term (R8) and stop serving WAL (R7); then s2 can vote
# and a standby is elected.
#
# Proves:
#  - p steps down: phase superseded, its state file says term 1 and no
#    vote, its 'fenced' event says it stepped down;
#  - the superseded p refuses replication connections;
#  - a standby becomes primary (s2, the most advanced, in practice), the
#    other follows it (no rebuild);
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
	standbys => [ 's', 's2' ],
	witness => 'w',
	sync => 'FIRST 1 (s, s2)');
my ($p, $s, $s2, $w) = @{ $c->{nodes} }{qw(p s s2 w)};

# ---------------------------------------------- p keeps only s2 (a minority)

iqfc_cut($c, 'p', 's');
iqfc_cut($c, 'p', 'w');
my $t_cut = time;
note('links p-s and p-w cut; p-s2 up');

my $el_f = iqfc_wait($p, 'SELECT role, accepting_writes FROM innoquim_failover.role', 'fenced|f', 10, 0.05);
ok(defined $el_f, 'p, granted by s2 only (2 of 4), loses its lease and fences itself');

ok( defined iqfc_wait($p,
		q{SELECT phase, term, coalesce(voted_for, '-') FROM innoquim_failover.failover},
		'superseded|1|-', 20),
	'p steps down: phase superseded, term 1, no vote (R8)')
  or diag('p: ' . iqfc_q($p, 'SELECT phase, term, voted_for FROM innoquim_failover.failover'));
note(sprintf('cut -> p stepped down: %s s', iqfc_fmt(time - $t_cut)));
my $state = PostgreSQL::Test::Utils::slurp_file($p->data_dir . '/innoquim_failover.state');
ok($state =~ /^term 1$/m && $state =~ /^voted_for $/m,
	"p's step-down is durable: its state file says term 1 and no vote")
  or diag($state);
like(iqfc_q($p, q{SELECT detail FROM innoquim_failover.events WHERE kind = 'fenced' ORDER BY seq DESC LIMIT 1}),
	qr/stepped down/, "p's last 'fenced' event says it stepped down");
my (undef, $rerr) = iqfc_replication_error($p);
like($rerr, qr/superseded and serves no WAL/, 'the superseded p refuses replication connections (R7)');

# ------------------------------------------- a standby elected, the other follows

# s2 kept streaming from p until p stepped down, so it holds the most WAL and
# is expected to win; either standby winning satisfies the protocol.
my ($el_n, $who) = iqfc_wait_row($s,
	q{SELECT primary_name FROM innoquim_failover.failover WHERE term >= 1 AND primary_name IN ('s', 's2')},
	30, 0.1);
my $winner = defined $who ? $c->{nodes}{$who} : undef;
my $other = defined $who ? $c->{nodes}{ $who eq 's' ? 's2' : 's' } : undef;
ok( defined $winner
	  && defined iqfc_wait($winner, 'SELECT role, accepting_writes FROM innoquim_failover.role', 'primary|t', 15),
	'a standby becomes primary within 30 s of the cut (the quorum needs s2, released by the step-down)')
  or diag(join("\n",
		's:  ' . iqfc_q($s, 'SELECT phase, term, votes, quorum, primary_name FROM innoquim_failover.failover'),
		's2: ' . iqfc_q($s2, 'SELECT phase, term, voted_for, primary_name FROM innoquim_failover.failover'),
		'w:  ' . iqfc_q($w, 'SELECT phase, term, voted_for FROM innoquim_failover.failover'),
		's events: ' . iqfc_events($s), 's2 events: ' . iqfc_events($s2)));
note(sprintf('cut -> %s primary: %s s (expected about fence_timeout + failover_timeout + election)',
		$who, iqfc_fmt(time - $t_cut)))
  if defined $winner;
SKIP:
{
	skip 'no winner', 1 unless defined $winner;
	my $via_proxy = iqfc_proxy_port($c, $other->name, $who);
	my $direct = $winner->port;
	ok( defined iqfc_wait($other,
			"SELECT status FROM innoquim_failover.upstream WHERE sender_port IN ($via_proxy, $direct)",
			'streaming', 20),
		$other->name . " follows $who (streams from it) without a rebuild")
	  or diag($other->name . "'s upstream: "
		  . iqfc_q($other, 'SELECT status, sender_host, sender_port FROM innoquim_failover.upstream')
		  . "\nevents: " . iqfc_events($other));
}

# -------------------------------------------------------------- invariants

iqfc_heal_all($c);
is(iqfc_q($p, 'SELECT role, accepting_writes FROM innoquim_failover.role'),
	'fenced|f', 'after the heal p is still fenced');
iqfc_check_invariants($c, $winner // $s);
note(sprintf('030 ran for %.1f s', time - $t_file));

done_testing();
