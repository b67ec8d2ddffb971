# Copyright (c) 2026, innoquim_failover developers
#
# 029_commit_after_lease.pl - a commit whose lease runs out while it waits
# for its synchronous standby is not acknowledged (doc/protocol.md R5, A2).
#
# Cluster: primary p, synchronous standby s ('s'), witness w (3 voters).
# The standby's WAL receiver is frozen (SIGSTOP), so a commit on p waits in
# the synchronous-replication wait.  Then p's agent is frozen too: nobody
# renews p's lease, and nobody terminates p's write sessions when it runs
# out (the agent would; this test takes that first line away on purpose).
# Failover is paused first, so that no election interferes.  Once the
# lease has run out (2.4 s > fence_timeout), the WAL receiver is continued: s
# acknowledges the commit, the backend leaves the wait, and the check after
# commit (fence.c) must end the session without acknowledging it.
#
# Proves:
#  - the client never receives the acknowledgement of that commit (psql
#    fails with a lost connection, no "INSERT 0 1");
#  - p's log says why ("write lease lost while committing");
#  - afterwards p regains its lease and accepts writes, nothing failed over.
# Without the check, the commit is acknowledged after the lease ran out: a
# successor could already have been elected without it.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::RealBin/../perl";

use IPC::Run;
use IqfCluster;
use IqfTest;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time usleep);

my $t_file = time;
my $c = iqfc_setup(primary => 'p', standbys => ['s'], witness => 'w', sync => 's');
my ($p, $s, $w) = @{ $c->{nodes} }{qw(p s w)};
is(iqfc_q($p, "SELECT application_name, sync_state FROM pg_stat_replication WHERE sync_state = 'sync'"),
	's|sync', 's is the synchronous standby of p');

my $agent = iqfc_q($p,
	"SELECT pid FROM pg_stat_activity WHERE backend_type = 'innoquim_failover agent'");
my $walrcv = iqfc_q($s, 'SELECT pid FROM pg_stat_wal_receiver');
ok($agent =~ /^\d+$/ && $walrcv =~ /^\d+$/, "found p's agent ($agent) and s's WAL receiver ($walrcv)");

# No election may interfere: pause failover (leases and their enforcement go on,
# R9), so the only effect of the frozen agent is a lease that runs out.
iqfc_q($p, 'SELECT innoquim_failover.pause()');
ok(defined iqfc_wait($s, 'SELECT paused FROM innoquim_failover.failover', 't', 10),
	'failover paused (s knows it)');

# ------------------------------------------- a commit waits for s, forever

iqfc_freeze_pid($walrcv);
my ($in, $out, $err) = ('', '', '');
my $psql = IPC::Run::start(
	[ 'psql', '-X', '-v', 'ON_ERROR_STOP=1', '-h', $p->host, '-p', $p->port, '-d', 'postgres',
	  '-c', 'INSERT INTO iqf_w (id) VALUES (424242)' ],
	'<', \$in, '>', \$out, '2>', \$err,
	IPC::Run::timeout(60));
ok( defined iqfc_wait($p,
		q{SELECT count(*) FROM pg_stat_activity WHERE wait_event = 'SyncRep' AND query LIKE 'INSERT INTO iqf_w%'},
		'1', 10),
	'the commit on p waits for its synchronous standby');

# ------------------------------------ the lease runs out during the wait

iqfc_freeze_pid($agent);
my $t_freeze = time;
usleep(2_400_000);    # > fence_timeout (2 s) after the last renewal
is(iqfc_q($p, 'SELECT accepting_writes FROM innoquim_failover.role'), 'f',
	"p's lease has run out (its agent is frozen)");
iqfc_thaw($walrcv);
note(sprintf('WAL receiver of s continued %.2f s after the agent of p was frozen', time - $t_freeze));

my $finished = eval { $psql->finish; 1 };
my $rc = $?;
ok($finished && $rc != 0, 'psql did not get a successful commit')
  or diag("psql rc $rc; stdout: $out; stderr: $err; $@");
unlike($out, qr/INSERT 0 1/, 'no acknowledgement of the commit reached the client');
like($err, qr/server closed the connection|connection to server was lost|terminat/,
	'... the client sees a lost connection instead')
  or diag("stderr: $err");
iqfc_thaw($agent);

# ------------------------------------------------------------ afterwards

ok( defined iqfc_wait($p, 'SELECT role, accepting_writes FROM innoquim_failover.role', 'primary|t', 15),
	'p regains its lease and accepts writes again');
is(iqfc_q($s, 'SELECT failovers, term FROM innoquim_failover.failover'), '0|0',
	'no failover happened (s: failovers 0, term 0)');
iqfc_q($p, 'SELECT innoquim_failover.resume()');
my $log = PostgreSQL::Test::Utils::slurp_file($p->logfile);
like($log, qr/write lease lost while committing; the commit is not acknowledged/,
	"p's log says the commit was not acknowledged because the lease ran out");
# the commit record was written before the wait: it is durable on p and s
ok(defined iqfc_wait($s, 'SELECT count(*) FROM iqf_w WHERE id = 424242', '1', 15),
	'the unacknowledged commit itself is on s (it cannot be undone, only not acknowledged)');

note(sprintf('029 ran for %.1f s', time - $t_file));
done_testing();
