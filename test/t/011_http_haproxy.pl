
# Copyright (c) 2026, innoquim_failover developers
#
# 011_http_haproxy.pl - a real HAProxy routes PostgreSQL connections by the
# HTTP endpoint's checks, and follows a failover.
#
# Proves:
#  - HAProxy 2.6 accepts the documented configuration (haproxy -c): a write
#    proxy checking OPTIONS /primary and a read proxy checking OPTIONS
#    /replica on each node's http_port, servers being the PostgreSQL ports;
#  - psql through the write port reaches the primary (pg_is_in_recovery()
#    false, the primary's node name and port), through the read port the
#    standby (pg_is_in_recovery() true, the standby's node name and port);
#  - after kill -9 of the primary and promotion of the standby, the write
#    port reaches the promoted node (pg_is_in_recovery() false, the former
#    standby's node name) within a bounded time (noted), and the read port
#    no longer reaches anything (no standby left).
#
# The configuration is printed with note() so it can be copied.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::RealBin/../perl";

use IPC::Run;
use IqfHttp;
use IqfTest;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time usleep);

my $haproxy_bin = '/usr/sbin/haproxy';
plan skip_all => "HAProxy not installed ($haproxy_bin missing): apt-get install haproxy"
  unless -x $haproxy_bin;

# ------------------------------------------------------------------ nodes

# PostgreSQL must listen on TCP for HAProxy; Cluster.pm uses only a Unix
# socket by default.
my $tcp = "listen_addresses = '127.0.0.1'\ninnoquim_failover.upstream_timeout = 2s\n";

my $primary_http = PostgreSQL::Test::Cluster::get_free_port();
my $primary      = iqf_primary('primary',
	$tcp . "innoquim_failover.min_standbys = 1\n" . iqf_http_conf($primary_http));
$primary->backup('base');
my $standby_http = PostgreSQL::Test::Cluster::get_free_port();
my $standby      = iqf_standby('standby', $primary, 'base',
	$tcp . "innoquim_failover.min_standbys = 0\n" . iqf_http_conf($standby_http));

iqf_query($primary, 'CREATE EXTENSION innoquim_failover');
$primary->wait_for_catchup($standby);
ok(defined iqf_http_wait_status($primary_http, 'OPTIONS', '/primary', 200, 60),
	'primary: OPTIONS /primary answers 200');
ok(defined iqf_http_wait_status($standby_http, 'OPTIONS', '/replica', 200, 60),
	'standby: OPTIONS /replica answers 200');

# ---------------------------------------------------------------- HAProxy

my $write_port = PostgreSQL::Test::Cluster::get_free_port();
my $read_port  = PostgreSQL::Test::Cluster::get_free_port();
my ($pp, $sp) = ($primary->port, $standby->port);

my $cfg_text = <<"EOF";
# HAProxy 2.6: route PostgreSQL connections with innoquim_failover's HTTP checks.
global
    maxconn 256

defaults
    mode tcp
    timeout connect 2s
    timeout client 30m
    timeout server 30m
    timeout check 1s
    # a node's HTTP check answers 200 only in the role the proxy wants;
    # fall 2 x inter 200ms: a failed node is out within about half a second,
    # and its open sessions are cut so clients reconnect to the new primary
    default-server inter 200ms fall 2 rise 1 on-marked-down shutdown-sessions

# writes: only the primary passes OPTIONS /primary
listen postgres_write
    bind 127.0.0.1:$write_port
    option httpchk
    http-check send meth OPTIONS uri /primary
    http-check expect status 200
    server primary 127.0.0.1:$pp check port $primary_http
    server standby 127.0.0.1:$sp check port $standby_http

# reads: only streaming standbys within max_lag pass OPTIONS /replica
listen postgres_read
    bind 127.0.0.1:$read_port
    balance roundrobin
    option httpchk
    http-check send meth OPTIONS uri /replica
    http-check expect status 200
    server primary 127.0.0.1:$pp check port $primary_http
    server standby 127.0.0.1:$sp check port $standby_http
EOF

my $dir = PostgreSQL::Test::Utils::tempdir();
my $cfg = "$dir/haproxy.cfg";
PostgreSQL::Test::Utils::append_to_file($cfg, $cfg_text);
note("HAProxy configuration ($cfg):\n$cfg_text");

my ($vout, $verr) = ('', '');
IPC::Run::run([ $haproxy_bin, '-v' ], '>', \$vout, '2>', \$verr);
note("haproxy -v: " . (split /\n/, $vout)[0]);

my ($cout, $cerr) = ('', '');
my $valid = IPC::Run::run([ $haproxy_bin, '-c', '-f', $cfg ], '>', \$cout, '2>', \$cerr);
ok($valid, 'haproxy -c accepts the configuration') or diag("$cout\n$cerr");

my ($hout, $herr) = ('', '');
my $haproxy = IPC::Run::start([ $haproxy_bin, '-f', $cfg, '-db' ],
	'<', \undef, '>', \$hout, '2>', \$herr);
my $haproxy_pid = $haproxy->{KIDS}[0]{PID};
note("haproxy started, PID $haproxy_pid");

# Stop HAProxy by its PID however the test ends.
END
{
	if ($haproxy_pid && kill(0, $haproxy_pid))
	{
		kill('TERM', $haproxy_pid);
		eval { $haproxy->finish; };
	}
}

# ------------------------------------------------------------ helpers

# One query through a HAProxy port: (ok, output, stderr).
sub via
{
	my ($port, $sql) = @_;
	my ($ret, $out, $err) = $primary->psql('postgres', $sql,
		connstr => "host=127.0.0.1 port=$port dbname=postgres connect_timeout=3",
		timeout => 10);
	return ($ret == 0, $out // '', $err // '');
}

my $who = q{SELECT pg_is_in_recovery(), inet_server_port(), node_name FROM innoquim_failover.role};

# Repeat a query through a port until it returns expected; elapsed or undef.
sub wait_via
{
	my ($port, $expected, $timeout) = @_;
	my $start = time;
	my ($ok, $out, $err);
	while (time - $start < $timeout)
	{
		($ok, $out, $err) = via($port, $who);
		return time - $start if $ok && $out eq $expected;
		usleep(100_000);
	}
	diag("port $port: expected '$expected', last: ok=" . ($ok ? 1 : 0)
		  . " out='$out' err='$err'\nhaproxy stderr:\n$herr");
	return undef;
}

# HAProxy 2.6 starts every server UP and marks it DOWN after `fall` failed
# checks: wait for the wrong-role servers to be marked down (it says so on
# stderr) before asserting where connections go.
sub wait_haproxy_log
{
	my ($pattern, $timeout) = @_;
	my $start = time;
	while (time - $start < $timeout)
	{
		$haproxy->pump_nb;
		return time - $start if $herr =~ $pattern;
		usleep(50_000);
	}
	diag("haproxy stderr never matched $pattern:\n$herr");
	return undef;
}

ok(defined wait_haproxy_log(qr{Server postgres_write/standby is DOWN}, 15),
	'HAProxy marks the standby DOWN for writes (its /primary check answers 503)');
ok(defined wait_haproxy_log(qr{Server postgres_read/primary is DOWN}, 15),
	'HAProxy marks the primary DOWN for reads (its /replica check answers 503)');
unlike($herr, qr{Server postgres_write/primary is DOWN},
	'HAProxy keeps the primary UP for writes');
unlike($herr, qr{Server postgres_read/standby is DOWN},
	'HAProxy keeps the standby UP for reads');

# ----------------------------------------------------------- routing

ok(defined wait_via($write_port, "f|$pp|primary", 30),
	'through the write port: the primary (not in recovery, its port, node name primary)');
ok(defined wait_via($read_port, "t|$sp|standby", 30),
	'through the read port: the standby (in recovery, its port, node name standby)');

# several connections: every one goes to the right node
my %write_seen;
my %read_seen;
for (1 .. 6)
{
	my (undef, $w) = via($write_port, $who);
	my (undef, $r) = via($read_port,  $who);
	$write_seen{$w}++;
	$read_seen{$r}++;
}
is_deeply([ sort keys %write_seen ], ["f|$pp|primary"],
	'six connections through the write port all reach the primary');
is_deeply([ sort keys %read_seen ], ["t|$sp|standby"],
	'six connections through the read port all reach the standby');

my ($wok, undef, $werr) = via($write_port, 'CREATE TABLE through_haproxy (i int); INSERT INTO through_haproxy VALUES (1)');
ok($wok, 'a write through the write port succeeds') or diag($werr);

# ---------------------------------------------------------- failover

my $t_kill = iqf_kill9($primary);
iqf_wait_orphans($primary, 30);
ok(defined wait_haproxy_log(qr{Server postgres_write/primary is DOWN}, 15),
	'HAProxy marks the killed primary DOWN for writes');
$standby->promote;

my $elapsed = wait_via($write_port, "f|$sp|standby", 30);
ok(defined $elapsed,
	'after kill -9 of the primary and promotion, the write port reaches the promoted standby');
note(sprintf('write port reached the new primary %.3f s after pg_ctl promote returned, '
		  . '%.3f s after the kill', $elapsed, time - $t_kill))
  if defined $elapsed;
ok(defined wait_haproxy_log(qr{Server postgres_write/standby is UP}, 15),
	'HAProxy marks the promoted standby UP for writes');

($wok, undef, $werr) = via($write_port, 'INSERT INTO through_haproxy VALUES (2)');
ok($wok, 'a write through the write port succeeds on the new primary') or diag($werr);

# No standby is left: the read port must not hand out the new primary.
my $read_refused = 0;
my $start        = time;
while (time - $start < 15)
{
	my ($ok, $out) = via($read_port, $who);
	if (!$ok) { $read_refused = 1; last; }
	usleep(100_000);
}
ok($read_refused, 'after failover the read port refuses connections (no standby passes /replica)');
my ($rok, $rout) = via($read_port, $who);
ok(!$rok, 'the read port does not route to the promoted node') or diag("got: $rout");

# ------------------------------------------------------------- cleanup

ok(kill('TERM', $haproxy_pid), "HAProxy (PID $haproxy_pid) signalled to stop");
my $finished = eval {
	local $SIG{ALRM} = sub { die "timeout\n" };
	alarm 10;
	$haproxy->finish;
	alarm 0;
	1;
};
ok($finished, 'HAProxy stopped');
note("haproxy stderr:\n$herr") if $herr ne '';

done_testing();
