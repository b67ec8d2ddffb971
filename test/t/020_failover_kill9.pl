# Copyright (c) 2026, innoquim_failover developers
#
# 020_failover_kill9.pl - automatic failover after kill -9 of the primary's
# postmaster, under write load, with a witness and a second standby.
#
# Cluster: primary p, standbys s and s2, witness w (4 voters, quorum 3),
# every connection between nodes through the test's proxies (IqfCluster);
# on p synchronous_standby_names = 'FIRST 1 (s, s2)', so s is the
# synchronous standby and the only electable one.
#
# Proves:
#  - the proxies work: through a pair, psql connects; after "cut" a
#    connection attempt times out and an open session hangs; after "heal"
#    both work again (self-test of the test harness);
#  - kill -9 of p's postmaster (only the postmaster) under write load: s is
#    primary (role primary, accepting_writes, timeline 2) within 15 s (the
#    death certificate makes it well under a second: noted);
#  - the failover view on s: failovers 1, term 1, primary s, phase primary,
#    with decide, promote and first-write timings; s's events: primary_lost, promoting,
#    promoted in that order; the witness names s as primary;
#  - s2 follows s without a rebuild: its upstream is s (through the proxy
#    s2->s), streaming, on timeline 2, and a row written on s reaches it;
#  - p, restarted, comes up fenced: role fenced, a write fails with
#    "fenced", health_json() says role fenced, and it stays so;
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
my $c = iqfc_setup(
	primary => 'p',
	standbys => [ 's', 's2' ],
	witness => 'w',
	sync => 'FIRST 1 (s, s2)');
my ($p, $s, $s2, $w) = @{ $c->{nodes} }{qw(p s s2 w)};

# ------------------------------------------------------ proxy self-test

# A pair whose cut does not matter to the lease (p keeps p, s, w: 3 of 4).
iqfc_proxy_selftest($c, 's2', 'w');
ok( defined iqfc_wait($p,
		q{SELECT r.role, r.accepting_writes, f.phase
		  FROM innoquim_failover.role r, innoquim_failover.failover f},
		'primary|t|primary', 30),
	'after the proxy self-test p is still primary with its lease');

is( iqfc_q($p,
		"SELECT application_name, sync_state FROM pg_stat_replication WHERE sync_state = 'sync'"),
	's|sync',
	's is the synchronous standby of p');

# ------------------------------------------------------ kill -9 under load

iqfc_probe_start($c);
iqfc_writer_start($c);
sleep(2);

my $t_kill = iqf_kill9($p);
note('kill -9 of the postmaster of p');

my $el = iqfc_wait($s,
	'SELECT role, accepting_writes, timeline FROM innoquim_failover.role',
	'primary|t|2', 15, 0.02);
ok(defined $el, 's becomes primary, accepting writes, on timeline 2, within 15 s of kill -9');
note(sprintf('kill -9 of p -> role view of s says primary|t|2: %s s', iqfc_fmt(time - $t_kill)))
  if defined $el;

my ($el2, $fo) = iqfc_wait_row($s,
	q{SELECT failovers, term, primary_name, phase,
	         round(decide_ms::numeric, 1), round(promote_ms::numeric, 1),
	         round(first_write_ms::numeric, 1)
	  FROM innoquim_failover.failover WHERE first_write_ms IS NOT NULL},
	15);
ok(defined $el2, "s's failover view records the first write after the promotion");
my @fo = split(/\|/, $fo // '');
is(join('|', @fo[ 0 .. 2 ]), '1|1|s',
	"s's failover view: failovers 1, term 1, primary s");
ok( defined iqfc_wait($s, 'SELECT phase FROM innoquim_failover.failover', 'primary', 5),
	"s's failover view: phase primary (s holds the lease)");
ok(defined $fo[4] && $fo[4] ne '' && $fo[5] ne '' && $fo[6] ne '',
	'... with decide_ms, promote_ms and first_write_ms');
note("s's failover timings since the loss of p: decide $fo[4] ms, promote $fo[5] ms, first write $fo[6] ms")
  if @fo == 7;

like(iqfc_events($s), qr/primary_lost.*promoting.*promoted/,
	"s's events include primary_lost, promoting, promoted, in that order");

ok( defined iqfc_wait($w,
		'SELECT primary_name, term FROM innoquim_failover.failover', 's|1', 15),
	"the witness's failover view names s as primary in term 1");

# ------------------------------------------------------------ s2 follows s

my $s2_from_s = iqfc_proxy_port($c, 's2', 's');
my $s_port = $s->port;
my $s2_pid_before = $s2->{_pid};
my ($el3, $up) = iqfc_wait_row($s2,
	"SELECT status, sender_port FROM innoquim_failover.upstream
	 WHERE status = 'streaming' AND sender_port IN ($s2_from_s, $s_port)",
	20, 0.1);
ok(defined $el3, "s2 streams from s (sender port $s2_from_s, the proxy s2->s, or $s_port)")
  or diag("s2's upstream: " . iqfc_q($s2, 'SELECT status, sender_host, sender_port, conninfo FROM innoquim_failover.upstream')
	  . "\ns2's primary_conninfo: " . iqfc_q($s2, 'SHOW primary_conninfo')
	  . "\ns2's failover view: " . iqfc_q($s2, 'SELECT phase, primary_name, term FROM innoquim_failover.failover')
	  . "\ns2's events: " . iqfc_events($s2));
note(sprintf('kill -9 of p -> s2 streams from s: %s s', iqfc_fmt(time - $t_kill))) if defined $el3;
# (shorter waits once s2 is known not to stream from s: they would fail too)
my $wait_s2 = defined $el3 ? 15 : 2;
ok( defined iqfc_wait($s2, 'SELECT role, timeline FROM innoquim_failover.role', 'standby|2', $wait_s2),
	's2 is a standby on timeline 2');
iqfc_q($s, "CREATE TABLE iqf_after (v text); INSERT INTO iqf_after VALUES ('written on s')");
ok( defined iqfc_wait($s2, q{SELECT count(*) FROM pg_tables WHERE tablename = 'iqf_after'}, '1', $wait_s2)
	  && defined iqfc_wait($s2, 'SELECT v FROM iqf_after', 'written on s', $wait_s2),
	'a row written on s after the failover reaches s2');
is($s2->{_pid}, $s2_pid_before, 's2 was neither rebuilt nor restarted');
# R17: s2 emptied primary_conninfo before it voted, then followed s
like(iqfc_events($s2), qr/detached.*following/,
	"s2's events: detached (before its vote) then following (re-pointed at s)");


# ------------------------------------------------- the old primary returns

iqf_wait_orphans($p, 30);
my $state_file = $p->data_dir . '/innoquim_failover.state';
my ($inc_before) = PostgreSQL::Test::Utils::slurp_file($state_file) =~ /^incarnation (\d+)$/m;
iqfc_start($c, $p);
my ($inc_after) = PostgreSQL::Test::Utils::slurp_file($state_file) =~ /^incarnation (\d+)$/m;
ok(defined $inc_before && defined $inc_after && $inc_after > $inc_before,
	"p's durable incarnation grew at its restart (R6)")
  or diag('incarnation before ' . ($inc_before // 'none') . ', after ' . ($inc_after // 'none'));
is(iqfc_q($p, 'SELECT role, accepting_writes FROM innoquim_failover.role'),
	'fenced|f', 'p, restarted, comes up fenced, not accepting writes');
my ($ret, $out, $err) = $p->psql('postgres', 'INSERT INTO iqf_w (id) VALUES (-1)');
isnt($ret, 0, 'a write on the restarted p fails');
like($err, qr/this node is fenced/, '... with "this node is fenced"');
is(iqfc_q($p, q{SELECT innoquim_failover.health_json()->>'role'}),
	'fenced', "p's health_json() says role fenced");
ok( defined iqfc_wait($p, 'SELECT phase FROM innoquim_failover.failover', 'superseded', 15),
	"p learns that a newer term exists (failover phase superseded)");
my $stays = 1;
for (1 .. 20)
{
	my $r = iqfc_q($p, 'SELECT role, accepting_writes FROM innoquim_failover.role');
	$stays = 0, diag("p: $r") if $r ne 'fenced|f';
	usleep(150_000);
}
ok($stays, 'p stays fenced (3 s)');
# R7: a superseded primary serves no WAL: replication connections refused
my ($rret, $rerr) = iqfc_replication_error($p);
isnt($rret, 0, 'a replication connection to the superseded p is refused');
like($rerr, qr/superseded and serves no WAL/, '... because p serves no WAL any more');
is(iqfc_q($s, 'SELECT role, accepting_writes FROM innoquim_failover.role'),
	'primary|t', 's is still the primary');

# -------------------------------------------------------------- invariants

my $rec = iqfc_check_invariants($c, $s);
my $last_p = iqfc_last_accept($rec, 'p');
my $first_s = iqfc_first_accept($rec, 's');
note(sprintf('probe: last write accepted by p %s s before kill -9; first accepted by s %s s after it',
		iqfc_fmt(defined $last_p ? $t_kill - $last_p : undef),
		iqfc_fmt(defined $first_s ? $first_s - $t_kill : undef)));
for my $n (qw(p s s2 w))
{
	note("$n failover view: "
		  . iqfc_q($c->{nodes}{$n},
			  'SELECT phase, primary_name, term, voted_for, voters, failovers FROM innoquim_failover.failover'));
}
note(sprintf('020 ran for %.1f s', time - $t_file));

done_testing();
