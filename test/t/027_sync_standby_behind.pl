# Copyright (c) 2026, innoquim_failover developers
#
# 027_sync_standby_behind.pl - the primary dies while its synchronous
# standby is behind the other (potential) standby.
#
# Cluster: primary p, standbys s and s2, witness w (4 voters, quorum 3);
# synchronous_standby_names = 'FIRST 1 (s, s2)' on p: s is synchronous, s2
# potential.  The link s-p is cut (only that pair: s still reaches s2 and w)
# for a moment while the probe keeps writing WAL (its rolled-back inserts):
# commits wait for s, but the WAL reaches s2, which gets ahead of s.  Then p
# is killed (kill -9) and the s-p link stays cut (p's host would be gone).
#
# Every acknowledged commit is on s (synchronous) and on s2 (it received more
# of the same stream), and 3 of the 4 voters (s, s2, w) are up and connected.
#
# Proves:
#  - s2 has received more WAL than s when p dies;
#  - a standby (s or s2) becomes primary within 20 s (automatic failover
#    completes with a majority of voters up);
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
	witness => 'w',
	sync => 'FIRST 1 (s, s2)');
my ($p, $s, $s2, $w) = @{ $c->{nodes} }{qw(p s s2 w)};
my $fot = iqfc_failover_timeout_s($s);
note("failover_timeout in force: $fot s");
is( iqfc_q($p,
		"SELECT application_name, sync_state FROM pg_stat_replication WHERE sync_state = 'sync'"),
	's|sync',
	's is the synchronous standby of p');

iqfc_probe_start($c);
iqfc_writer_start($c);
sleep(1);

# --------------------------------------------- s falls behind s2, p dies

iqfc_cut($c, 's', 'p');
note('link s-p cut');
sleep(1.2);
my $t_kill = iqf_kill9($p);
note('kill -9 of the postmaster of p; the link s-p stays cut');
sleep(0.5);
my $lsn_s = iqfc_q($s, 'SELECT pg_last_wal_receive_lsn()');
my $lsn_s2 = iqfc_q($s2, 'SELECT pg_last_wal_receive_lsn()');
is(iqfc_q($s, "SELECT '$lsn_s2'::pg_lsn > '$lsn_s'::pg_lsn"), 't',
	"s2 has received more WAL than s (s2 $lsn_s2 > s $lsn_s)");

my ($el, $who) = iqfc_wait_row($s,
	q{SELECT f.primary_name FROM innoquim_failover.failover f
	  WHERE f.failovers > 0 OR f.primary_name <> 'p'},
	20, 0.1);
my $winner = defined $el ? $c->{nodes}{$who} : undef;
ok( defined $winner
	  && defined iqfc_wait($winner, 'SELECT role, accepting_writes FROM innoquim_failover.role',
		  'primary|t', 10),
	'a standby becomes primary within 20 s of kill -9 of p (3 of 4 voters up)')
  or diag(join("\n",
		"s:  " . iqfc_q($s, 'SELECT phase, term, votes, quorum, failovers FROM innoquim_failover.failover'),
		"s2: " . iqfc_q($s2, 'SELECT phase, term, votes, quorum, failovers FROM innoquim_failover.failover'),
		"w:  " . iqfc_q($w, 'SELECT phase, term, votes, quorum, failovers FROM innoquim_failover.failover'),
		# pre-votes change nothing: they show what each voter would answer now
		"pre-vote for s ($lsn_s) at s2: "
		  . iqfc_q($s2, "SELECT granted, detail FROM innoquim_failover.vote(1, 's', 1, 1, '$lsn_s', 100, true)"),
		"pre-vote for s ($lsn_s) at w:  "
		  . iqfc_q($w, "SELECT granted, detail FROM innoquim_failover.vote(1, 's', 1, 1, '$lsn_s', 100, true)"),
		"pre-vote for s2 ($lsn_s2) at s: "
		  . iqfc_q($s, "SELECT granted, detail FROM innoquim_failover.vote(1, 's2', 1, 1, '$lsn_s2', 100, true)"),
		"pre-vote for s2 ($lsn_s2) at w: "
		  . iqfc_q($w, "SELECT granted, detail FROM innoquim_failover.vote(1, 's2', 1, 1, '$lsn_s2', 100, true)")));
note(sprintf('kill -9 of p -> %s is primary: %s s', $who, iqfc_fmt(time - $t_kill))) if defined $winner;

# -------------------------------------------------------------- invariants

iqfc_heal_all($c);
my $rec = iqfc_probe_stop($c);
iqfc_check_probe($c, $rec);
iqfc_check_acked($c, $winner // $s);
note(sprintf('027 ran for %.1f s', time - $t_file));

done_testing();
