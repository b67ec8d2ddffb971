# Copyright (c) 2026, innoquim_failover developers
#
# 032_fenced_interface.pl - a deposed primary accepts no committed write by
# any path its own SQL interface offers, to a superuser or an ordinary role.
#
# Cluster: primary p, standby s, witness w (3 voters), every node with
# max_prepared_transactions = 5.  Before the fault, p prepares a
# transaction ('before') and creates a sequence and an ordinary login role
# app.  Then kill -9 of p: s becomes primary; p is restarted, comes up
# fenced and learns it was superseded.
#
# Proves, on the superseded p (each one a hole of issue 9 on the code before
# it):
#  - membership and pause changes are refused to a superuser:
#    unregister_node('w') (which, leaving fewer than three voters, used to
#    switch enforcement off and let writes in), register_node, pause();
#  - p stays fenced afterwards (role fenced, a write fails);
#  - a LEASE naming p itself is not accepted over SQL;
#  - two-phase commit, as app: PREPARE TRANSACTION after lo_create, lo_put,
#    pg_logical_emit_message(true, ...) and an INSERT is refused with
#    "fenced"; COMMIT PREPARED of the transaction prepared before the fault is
#    refused (as superuser), ROLLBACK PREPARED of it is allowed (cleanup);
#  - what a fenced node still writes, as doc/failover.md says: nextval() is
#    refused at commit when it had to log, but the sequence advances; NOTIFY is accepted (a commit record with no data
#    change); ALTER SYSTEM is allowed (repair), and changes no data;
#  - the unregister trick on a lease-holding primary: refused too when it
#    would leave fewer than three voters while failover is not paused;
#  - invariant: no two nodes accept writes at the same moment.

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
	standbys => ['s'],
	witness => 'w',
	conf => "max_prepared_transactions = 5\n");
my ($p, $s, $w) = @{ $c->{nodes} }{qw(p s w)};

# the unregister trick on the primary that holds the lease: refused unpaused
my ($ret, $out, $err) = $p->psql('postgres', q{SELECT innoquim_failover.unregister_node('w')});
isnt($ret, 0, 'on the lease-holding p, unregister_node(w) (3 -> 2 voters) is refused while not paused');
like($err, qr/fewer than three voters while failover is active/, '... saying why');

iqfc_q($p, q{CREATE ROLE app LOGIN;
	GRANT ALL ON iqf_w TO app;
	CREATE SEQUENCE iqf_seq;
	GRANT ALL ON SEQUENCE iqf_seq TO app});
iqfc_q($p, q{BEGIN; INSERT INTO iqf_w (id) VALUES (-10); PREPARE TRANSACTION 'before'});
is(iqfc_q($p, q{SELECT count(*) FROM pg_prepared_xacts WHERE gid = 'before'}), '1',
	"p prepared transaction 'before'");
my $lsn = iqfc_q($p, 'SELECT pg_current_wal_lsn()');
ok(defined iqfc_wait($s, "SELECT pg_last_wal_replay_lsn() >= '$lsn'", 't', 15), '... and s replayed it');

iqfc_probe_start($c);
sleep(1);

# ---------------------------------------------------- depose p: kill -9

my $t_kill = iqf_kill9($p);
ok( defined iqfc_wait($s, 'SELECT role, accepting_writes FROM innoquim_failover.role', 'primary|t', 20),
	's becomes primary after kill -9 of p');
iqf_wait_orphans($p, 30);
iqfc_start($c, $p);
ok(defined iqfc_wait($p, 'SELECT phase FROM innoquim_failover.failover', 'superseded', 20),
	'p, restarted, learns it was superseded');

# a session as the ordinary role app, and as the superuser
sub as_app
{
	my ($sql) = @_;
	return $p->psql('postgres', $sql, extra_params => [ '-U', 'app', '-v', 'ON_ERROR_STOP=1' ]);
}

sub fenced_refusal
{
	my ($who, $sql, $what) = @_;
	my ($r, $o, $e) = $who eq 'app' ? as_app($sql) : $p->psql('postgres', $sql, extra_params => [ '-v', 'ON_ERROR_STOP=1' ]);
	isnt($r, 0, "$what is refused on the fenced p ($who)");
	like($e, qr/this node is fenced and accepts no writes/, "... with \"this node is fenced\"")
	  or diag("stderr: $e");
	return;
}

# ------------------------------------------------- membership and pause

for my $case (
	[ q{SELECT innoquim_failover.unregister_node('w')}, 'unregister_node(w)' ],
	[ q{SELECT innoquim_failover.register_node('x', 'host=127.0.0.1 port=1')}, 'register_node(x)' ],
	[ q{SELECT innoquim_failover.pause()}, 'pause()' ],
	[ q{SELECT innoquim_failover.resume()}, 'resume()' ])
{
	my ($sql, $what) = @$case;
	($ret, $out, $err) = $p->psql('postgres', $sql);
	isnt($ret, 0, "$what is refused on the superseded p (superuser)");
	like($err, qr/cannot be changed on a superseded primary/, '... because p was superseded')
	  or diag("stderr: $err");
}
is(iqfc_q($p, 'SELECT count(*) FROM innoquim_failover.nodes'), '3', 'p still lists 3 voters');
($ret, $out, $err) = $p->psql('postgres', q{SELECT * FROM innoquim_failover.lease(99, 'p', 9000000000000000, '0/0', '', 0, false, '', 0)});
isnt($ret, 0, 'a lease naming p itself is not accepted over SQL');
like($err, qr/not accepted from a connection/, '... saying so');

# ---------------------------------------------------------- two-phase commit

fenced_refusal('app', q{BEGIN; SELECT lo_create(0); PREPARE TRANSACTION 'lo'}, 'PREPARE after lo_create');
fenced_refusal('app', q{BEGIN; SELECT lo_put(lo_create(0), 0, 'x'); PREPARE TRANSACTION 'lp'},
	'PREPARE after lo_put');
fenced_refusal('app', q{BEGIN; SELECT pg_logical_emit_message(true, 'iqf', 'x'); PREPARE TRANSACTION 'msg'},
	'PREPARE after pg_logical_emit_message(true)');
fenced_refusal('app', q{BEGIN; INSERT INTO iqf_w (id) VALUES (-11); PREPARE TRANSACTION 'ins'},
	'an INSERT in a transaction to be prepared');
fenced_refusal('app', q{SELECT lo_create(0)}, 'lo_create in autocommit');
fenced_refusal('superuser', q{COMMIT PREPARED 'before'}, "COMMIT PREPARED of a transaction prepared before the fault");
is(iqfc_q($p, q{SELECT string_agg(gid, ',' ORDER BY gid) FROM pg_prepared_xacts}), 'before',
	"p holds no new prepared transaction, and still 'before'");
($ret, $out, $err) = $p->psql('postgres', q{ROLLBACK PREPARED 'before'});
is($ret, 0, "ROLLBACK PREPARED 'before' is allowed on the fenced p (cleanup)") or diag($err);

# ------------------------------------------- what a fenced node still writes

# nextval() writes its WAL record (every 32 values) without a commit, and
# takes a transaction ID for it: the statement is refused at commit, but the
# sequence has advanced all the same.
my $last_before = iqfc_q($p, 'SELECT last_value FROM iqf_seq');
fenced_refusal('app', q{SELECT nextval('iqf_seq') FROM generate_series(1, 40)}, '40 calls of nextval()');
my $last_after = iqfc_q($p, 'SELECT last_value FROM iqf_seq');
ok($last_after >= $last_before + 39,
	"... but the sequence advanced all the same ($last_before -> $last_after): sequences advance on a fenced node");
($ret, $out, $err) = as_app(q{NOTIFY iqf_chan, 'x'; SELECT pg_notify('iqf_chan', 'y')});
is($ret, 0, 'NOTIFY and pg_notify() are accepted on the fenced p (a commit record with no data change)')
  or diag($err);
($ret, $out, $err) = $p->psql('postgres', q{ALTER SYSTEM SET work_mem = '5MB'});
is($ret, 0, 'ALTER SYSTEM is allowed on the fenced p (writes postgresql.auto.conf, no WAL)') or diag($err);
iqfc_q($p, q{ALTER SYSTEM RESET work_mem});
is(iqfc_q($p, 'SELECT count(*) FROM iqf_w WHERE id < 0'), '0', 'no row of any attempt is in iqf_w on p');

# -------------------------------------------------------- p stays fenced

my ($n, $bad) = iqfc_stays_fenced($p, 3);
ok(!defined $bad, "p stays fenced after all of it ($n checks over 3 s)") or diag($bad);
fenced_refusal('superuser', q{INSERT INTO iqf_w (id) VALUES (-12)}, 'a plain INSERT');
is(iqfc_q($s, 'SELECT role, accepting_writes FROM innoquim_failover.role'), 'primary|t',
	's is still the only primary');

my $rec = iqfc_probe_stop($c);
iqfc_check_probe($c, $rec);
note(sprintf('032 ran for %.1f s', time - $t_file));

done_testing();
