# Copyright (c) 2026, innoquim_failover developers
#
# 031_state_unreadable.pl - a node whose durable failover state cannot be
# read refuses every lease and vote (doc/protocol.md R2).
#
# Read as a new node (term 0, no vote), it could vote a second time in a
# term it already voted in.  One node is enough: the rule is local.
#
# Proves:
#  - a state file without a valid term (here: garbage) makes the server log
#    a WARNING at start, and the node answers every LEASE and VOTE (and a
#    pre-vote) with state_unreadable;
#  - the file is never overwritten (not at start, not by register_node,
#    which fails with a clear error);
#  - once the operator removes it (a new node) and restarts, the node
#    answers normally again.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::RealBin/../perl";

use IqfTest;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $n = iqf_primary('n1', "innoquim_failover.node_name = 'n1'\n");
$n->safe_psql('postgres', 'CREATE EXTENSION innoquim_failover');
my $file = $n->data_dir . '/innoquim_failover.state';
ok(-f $file, 'the node has a state file');

my $lease = q{SELECT granted, detail FROM innoquim_failover.lease(7, 'p', 1, '0/0', '', 0, false, '', 0)};
my $vote = q{SELECT granted, detail FROM innoquim_failover.vote(7, 'c', 1, 1, '0/0', 100, false)};
my $prevote = q{SELECT granted, detail FROM innoquim_failover.vote(7, 'c', 1, 1, '0/0', 100, true)};

# -------------------------------------------------- the file is damaged

$n->stop;
my $garbage = "# innoquim_failover durable state: do not edit\nowner n1\nterm 4x2\nvoted_for p\n";
PostgreSQL::Test::Utils::append_to_file("$file.new", $garbage);
rename("$file.new", $file) or die "rename: $!";
my $log_offset = -s $n->logfile;
$n->start;

like(PostgreSQL::Test::Utils::slurp_file($n->logfile, $log_offset),
	qr/the failover state file "innoquim_failover.state" cannot be read; this node refuses every lease and vote/,
	'the server logs at start that the state file cannot be read');
is($n->safe_psql('postgres', $lease), 'f|state_unreadable', 'a LEASE is refused: state_unreadable');
is($n->safe_psql('postgres', $vote), 'f|state_unreadable', 'a VOTE is refused: state_unreadable');
is($n->safe_psql('postgres', $prevote), 'f|state_unreadable', 'a pre-vote is refused: state_unreadable');
my ($ret, $out, $err) = $n->psql('postgres',
	q{SELECT innoquim_failover.register_node('n1', 'host=127.0.0.1 port=1', 'data')});
isnt($ret, 0, 'register_node fails: nothing is written over the damaged file');
like($err, qr/could not be read at start; it is not overwritten/, '... with a clear error');
is(PostgreSQL::Test::Utils::slurp_file($file), $garbage, 'the damaged file is left as it was (evidence kept)');

# ------------------------------------- the operator removes it, restarts

$n->stop;
unlink($file) or die "unlink: $!";
$n->start;
isnt($n->safe_psql('postgres', $lease), 'f|state_unreadable',
	'after removal and a restart the node judges leases again (a new node)');
like(PostgreSQL::Test::Utils::slurp_file($file), qr/^term \d+$/m, 'and has a readable state file again');

$n->stop;
done_testing();
