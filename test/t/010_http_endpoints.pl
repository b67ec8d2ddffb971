
# Copyright (c) 2026, innoquim_failover developers
#
# 010_http_endpoints.pl - the HTTP endpoint of a primary and a streaming
# standby, request by request, then through a failover.
#
# Proves:
#  - every endpoint (/health, /api/health/, /, /primary, /master,
#    /read-write, /replica, /standby, /read-only, /lag, /role, /metrics)
#    answers GET, HEAD and OPTIONS on both nodes with the status its role
#    calls for (primary checks 200 only on the primary, replica checks 200
#    only on the standby, /read-only 200 on both); every answer carries
#    Content-Type and a Content-Length equal to the body sent; HEAD sends no
#    body and the Content-Length GET would have; OPTIONS sends no body and
#    an Allow header;
#  - /replica?lag=: 0 on a caught-up standby is 200; with replay paused and
#    ~2 MB of WAL behind, lag=1kB is 503 and lag=1GB is 200; garbage is 400;
#  - /health, /api/health/, /lag and /role are JSON with the documented
#    keys; /metrics has the documented series (standby lag on the primary,
#    upstream_connected on the standby, request counters);
#  - an unknown path is 404, POST is 405 with an Allow header, two requests
#    on one keep-alive connection are both answered;
#  - after kill -9 of the primary, the standby's /replica turns 503 (within
#    a generous bound; measured time noted) and its /health turns 503
#    (unhealthy, primary_unavailable) no sooner than upstream_timeout;
#  - after promotion, the former standby's /primary turns 200 and its
#    /replica 503.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::RealBin/../perl";

use IqfHttp;
use IqfTest;
use JSON::PP;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time usleep);

# ------------------------------------------------------------------ setup

my $upstream_timeout = 2;    # seconds, on both nodes
my $common = "innoquim_failover.upstream_timeout = ${upstream_timeout}s\n";

my $primary_http = PostgreSQL::Test::Cluster::get_free_port();
my $primary      = iqf_primary('primary',
	$common . "innoquim_failover.min_standbys = 1\n" . iqf_http_conf($primary_http));
$primary->backup('base');

# The backup carries the primary's postgresql.conf: the lines appended here
# come later and win (own http_port; no standby required of a standby).
my $standby_http = PostgreSQL::Test::Cluster::get_free_port();
my $standby      = iqf_standby('standby', $primary, 'base',
	$common . "innoquim_failover.min_standbys = 0\n" . iqf_http_conf($standby_http));

iqf_query($primary, 'CREATE EXTENSION innoquim_failover');
$primary->wait_for_catchup($standby);

ok(defined iqf_wait_monitor($_, 60),
	'monitor on ' . $_->name . ' runs and has published a snapshot')
  for ($primary, $standby);
ok(defined iqf_poll($primary, 'SELECT status FROM innoquim_failover.health', 'healthy', 60),
	'primary is healthy (one streaming standby, min_standbys 1)');
ok(defined iqf_poll($standby, 'SELECT status FROM innoquim_failover.health', 'healthy', 60),
	'standby is healthy (streaming)');
ok(defined iqf_http_wait_status($primary_http, 'GET', '/primary', 200, 30),
	'primary endpoint answers /primary 200');
ok(defined iqf_http_wait_status($standby_http, 'GET', '/replica', 200, 30),
	'standby endpoint answers /replica 200');

# ------------------------------------------- every endpoint, every method

my %expect = (
	primary => {
		'/health'      => 200, '/api/health/' => 200,
		'/'            => 200, '/primary'     => 200,
		'/master'      => 200, '/read-write'  => 200,
		'/replica'     => 503, '/standby'     => 503,
		'/read-only'   => 200, '/lag'         => 200,
		'/role'        => 200, '/metrics'     => 200,
	},
	standby => {
		'/health'      => 200, '/api/health/' => 200,
		'/'            => 503, '/primary'     => 503,
		'/master'      => 503, '/read-write'  => 503,
		'/replica'     => 200, '/standby'     => 200,
		'/read-only'   => 200, '/lag'         => 200,
		'/role'        => 200, '/metrics'     => 200,
	});

# GET, HEAD, GET on one keep-alive connection: HEAD's Content-Length must
# be the length one of the GETs around it had (bodies such as /metrics
# change a little from one request to the next).  Up to 5 attempts.
sub head_length_matches_get
{
	my ($port, $path) = @_;
	my @seen;
	for (1 .. 5)
	{
		my $sock = iqf_http_connect($port) or next;
		my $buf = '';
		iqf_http_send($sock,
			    "GET $path HTTP/1.1\r\nHost: x\r\n\r\n"
			  . "HEAD $path HTTP/1.1\r\nHost: x\r\n\r\n"
			  . "GET $path HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
		my $g1 = iqf_http_read_response($sock, \$buf, 'GET',  10);
		my $h  = iqf_http_read_response($sock, \$buf, 'HEAD', 10);
		my $g2 = iqf_http_read_response($sock, \$buf, 'GET',  10);
		close($sock);
		next unless $g1 && $h && $g2;
		my $hl = $h->{headers}{'content-length'} // -1;
		push @seen, sprintf('GET %d, HEAD %s, GET %d',
			length($g1->{body}), $hl, length($g2->{body}));
		return 1 if $hl == length($g1->{body}) || $hl == length($g2->{body});
	}
	diag("HEAD $path Content-Length never matched GET: " . join('; ', @seen));
	return 0;
}

for my $node ($primary, $standby)
{
	my $name = $node->name;
	my $port = $name eq 'primary' ? $primary_http : $standby_http;

	for my $path (sort keys %{ $expect{$name} })
	{
		my $want = $expect{$name}{$path};

		# GET
		my $g = iqf_http($port, 'GET', $path);
		is($g->{status}, $want, "$name: GET $path answers $want")
		  or diag(iqf_http_describe($g));
		ok(defined $g->{headers}{'content-type'} && $g->{headers}{'content-type'} ne '',
			"$name: GET $path has a Content-Type");
		is($g->{headers}{'content-length'}, length($g->{body} // ''),
			"$name: GET $path Content-Length is the length of the body sent");
		cmp_ok(length($g->{body} // ''), '>', 0, "$name: GET $path has a body");

		# HEAD, on a connection the server closes: nothing after the head
		my ($raw, $closed) = iqf_http_raw($port,
			"HEAD $path HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 10);
		my ($head, $rest) = split(/\r\n\r\n/, $raw, 2);
		my ($hstatus) = ($head // '') =~ m{^HTTP/1\.1 (\d{3})};
		is($hstatus, $want, "$name: HEAD $path answers $want");
		ok($closed, "$name: HEAD $path with Connection: close is closed after the answer");
		is($rest // '', '', "$name: HEAD $path sends no body");
		like($head // '', qr/\r\nContent-Type: \S/i, "$name: HEAD $path has a Content-Type");
		like($head // '', qr/\r\nContent-Length: [1-9]\d*(\r|$)/i,
			"$name: HEAD $path has a non-zero Content-Length");
		ok(head_length_matches_get($port, $path),
			"$name: HEAD $path Content-Length equals GET's body length");

		# OPTIONS: same status (what HAProxy's httpchk sends), no body
		my $o = iqf_http($port, 'OPTIONS', $path);
		is($o->{status}, $want, "$name: OPTIONS $path answers $want")
		  or diag(iqf_http_describe($o));
		is($o->{headers}{allow}, 'GET, HEAD, OPTIONS',
			"$name: OPTIONS $path has Allow: GET, HEAD, OPTIONS");
		is($o->{headers}{'content-length'}, '0', "$name: OPTIONS $path has Content-Length 0");
		ok(defined $o->{headers}{'content-type'}, "$name: OPTIONS $path has a Content-Type");
	}
}

# ------------------------------------------------------------ JSON bodies

for my $node ($primary, $standby)
{
	my $name = $node->name;
	my $port = $name eq 'primary' ? $primary_http : $standby_http;

	for my $path ('/health', '/api/health/')
	{
		my $r = iqf_http($port, 'GET', $path);
		like($r->{headers}{'content-type'} // '', qr{^application/json},
			"$name: $path is application/json");
		my $j = eval { decode_json($r->{body}) };
		ok($j, "$name: $path body is valid JSON") or diag("$@ in: $r->{body}");
		$j //= {};
		ok(exists $j->{$_}, "$name: $path JSON has key $_")
		  for qw(status role primary replicas);
		is($j->{status}, 'healthy', "$name: $path status is healthy");
		is($j->{role}, $name eq 'primary' ? 'primary' : 'standby',
			"$name: $path role is " . ($name eq 'primary' ? 'primary' : 'standby'));
		is(ref $j->{replicas}, 'ARRAY', "$name: $path replicas is an array");
		is(ref $j->{primary},  'HASH',  "$name: $path primary is an object");
	}

	my $lag = eval { decode_json(iqf_http($port, 'GET', '/lag')->{body}) } // {};
	ok(exists $lag->{$_}, "$name: /lag JSON has key $_")
	  for qw(node role lag_bytes lag_seconds standbys);
	is($lag->{node}, $name, "$name: /lag node is the node name");

	my $role = eval { decode_json(iqf_http($port, 'GET', '/role')->{body}) } // {};
	is($role->{node_name}, $name, "$name: /role node_name is the node name");
	is($role->{role}, $name eq 'primary' ? 'primary' : 'standby', "$name: /role role");
	is(($role->{in_recovery} ? 1 : 0), ($name eq 'primary' ? 0 : 1), "$name: /role in_recovery");
	is(($role->{accepting_writes} ? 1 : 0), ($name eq 'primary' ? 1 : 0),
		"$name: /role accepting_writes");
	is($role->{timeline}, 1, "$name: /role timeline is 1");
}

my $plag = eval { decode_json(iqf_http($primary_http, 'GET', '/lag')->{body}) } // {};
ok((grep { ($_->{name} // '') eq 'standby' } @{ $plag->{standbys} // [] }),
	'primary: /lag lists the standby');

# ---------------------------------------------------------------- metrics

{
	my $m = iqf_http($primary_http, 'GET', '/metrics');
	like($m->{headers}{'content-type'} // '', qr{^text/plain},
		'primary: /metrics is text/plain');
	is(iqf_http_metric($m->{body}, 'up'), 1, 'primary: innoquim_failover_up is 1');
	is(iqf_http_metric($m->{body}, 'role', qr/role="primary"/), 1,
		'primary: innoquim_failover_role{role="primary"} is 1');
	is(iqf_http_metric($m->{body}, 'role', qr/role="standby"/), 0,
		'primary: innoquim_failover_role{role="standby"} is 0');
	is(iqf_http_metric($m->{body}, 'health_status', qr/status="healthy"/), 1,
		'primary: innoquim_failover_health_status{status="healthy"} is 1');
	is(iqf_http_metric($m->{body}, 'timeline'), 1, 'primary: innoquim_failover_timeline is 1');
	my $age = iqf_http_metric($m->{body}, 'sample_age_seconds');
	ok(defined $age && $age >= 0 && $age < 2,
		'primary: innoquim_failover_sample_age_seconds is between 0 and 2')
	  or diag('sample_age_seconds: ' . ($age // 'absent'));
	ok(defined iqf_http_metric($m->{body}, 'standby_lag_bytes', qr/standby="standby"/),
		'primary: innoquim_failover_standby_lag_bytes{standby="standby"} is present');
	ok(!defined iqf_http_metric($m->{body}, 'upstream_connected'),
		'primary: no innoquim_failover_upstream_connected');
	my $req200 = iqf_http_metric($m->{body}, 'http_requests_total', qr/code="200"/);
	ok(defined $req200 && $req200 > 0,
		'primary: innoquim_failover_http_requests_total{code="200"} counts earlier requests');
	ok(defined iqf_http_metric($m->{body}, 'http_requests_total', qr/code="503"/)
		  && iqf_http_metric($m->{body}, 'http_requests_total', qr/code="503"/) > 0,
		'primary: innoquim_failover_http_requests_total{code="503"} counts the /replica checks');

	my $s = iqf_http($standby_http, 'GET', '/metrics');
	is(iqf_http_metric($s->{body}, 'up'), 1, 'standby: innoquim_failover_up is 1');
	is(iqf_http_metric($s->{body}, 'role', qr/role="standby"/), 1,
		'standby: innoquim_failover_role{role="standby"} is 1');
	is(iqf_http_metric($s->{body}, 'health_status', qr/status="healthy"/), 1,
		'standby: innoquim_failover_health_status{status="healthy"} is 1');
	is(iqf_http_metric($s->{body}, 'timeline'), 1, 'standby: innoquim_failover_timeline is 1');
	ok(defined iqf_http_metric($s->{body}, 'sample_age_seconds'),
		'standby: innoquim_failover_sample_age_seconds is present');
	is(iqf_http_metric($s->{body}, 'upstream_connected'), 1,
		'standby: innoquim_failover_upstream_connected is 1');
	ok(defined iqf_http_metric($s->{body}, 'http_requests_total', qr/code="200"/),
		'standby: innoquim_failover_http_requests_total is present');
}

# ------------------------------------------------------ errors, keep-alive

{
	my $r = iqf_http($primary_http, 'GET', '/no-such-endpoint');
	is($r->{status}, 404, 'unknown path answers 404');
	is($r->{headers}{'content-length'}, length($r->{body}), '404 has a matching Content-Length');
	ok(defined $r->{headers}{'content-type'}, '404 has a Content-Type');

	$r = iqf_http($primary_http, 'POST', '/health', headers => ['Content-Length: 0']);
	is($r->{status}, 405, 'POST /health answers 405');
	is($r->{headers}{allow}, 'GET, HEAD, OPTIONS', '405 has Allow: GET, HEAD, OPTIONS');

	$r = iqf_http($standby_http, 'DELETE', '/replica');
	is($r->{status}, 405, 'DELETE /replica answers 405');

	# keep-alive: two requests in turn on one connection
	my $sock = iqf_http_connect($primary_http);
	my $buf  = '';
	iqf_http_send($sock, "GET /primary HTTP/1.1\r\nHost: x\r\n\r\n");
	my $r1 = iqf_http_read_response($sock, \$buf, 'GET', 10);
	is($r1 && $r1->{status}, 200, 'keep-alive: first request on the connection answered 200');
	is($r1 && $r1->{headers}{connection}, 'keep-alive',
		'keep-alive: first answer says Connection: keep-alive');
	ok(iqf_http_send($sock, "GET /role HTTP/1.1\r\nHost: x\r\n\r\n"),
		'keep-alive: second request written on the same connection');
	my $r2 = iqf_http_read_response($sock, \$buf, 'GET', 10);
	is($r2 && $r2->{status}, 200, 'keep-alive: second request on the same connection answered 200');
	like($r2 ? $r2->{body} : '', qr/"node_name"/, 'keep-alive: second answer is /role\'s');
	close($sock);
}

# ---------------------------------------------------------- ?lag= values

ok(defined iqf_http_wait_status($standby_http, 'GET', '/replica?lag=0', 200, 30),
	'standby: /replica?lag=0 answers 200 while caught up');
is(iqf_http($standby_http, 'GET', '/replica?lag=garbage')->{status}, 400,
	'standby: /replica?lag=garbage answers 400');
is(iqf_http($standby_http, 'GET', '/replica?lag=16MB')->{status}, 200,
	'standby: /replica?lag=16MB answers 200');
is(iqf_http($standby_http, 'GET', '/replica?lag=512kB')->{status}, 200,
	'standby: /replica?lag=512kB answers 200');

# Replay paused, ~2 MB of WAL received but not replayed.
iqf_query($standby, 'SELECT pg_wal_replay_pause()');
ok(defined iqf_poll($standby, 'SELECT pg_get_wal_replay_pause_state()', 'paused', 30),
	'standby: replay paused');
iqf_query($primary,
	q{CREATE TABLE lag_filler AS SELECT g, repeat('x', 200) AS pad FROM generate_series(1, 8000) g});
my $flush = iqf_query($primary, 'SELECT pg_current_wal_flush_lsn()');
ok(defined iqf_poll($standby,
		"SELECT pg_last_wal_receive_lsn() >= '$flush'::pg_lsn", 't', 30),
	'standby: received the ~2 MB of WAL');
ok(defined iqf_http_wait_status($standby_http, 'GET', '/replica?lag=1kB', 503, 15),
	'standby: /replica?lag=1kB answers 503 with replay paused ~2 MB behind');
my $lagj = eval { decode_json(iqf_http($standby_http, 'GET', '/replica?lag=1kB')->{body}) } // {};
cmp_ok($lagj->{lag_bytes} // 0, '>', 1024, 'standby: /replica reports lag_bytes above 1 kB')
  or diag(explain $lagj);
is($lagj->{max_lag_bytes}, 1024, 'standby: /replica?lag=1kB reports max_lag_bytes 1024');
is(iqf_http($standby_http, 'GET', '/replica?lag=1GB')->{status}, 200,
	'standby: /replica?lag=1GB answers 200 with replay paused ~2 MB behind');
is(iqf_http($standby_http, 'GET', '/replica?lag=garbage')->{status}, 400,
	'standby: /replica?lag=garbage answers 400 while lagging');
iqf_query($standby, 'SELECT pg_wal_replay_resume()');
ok(defined iqf_http_wait_status($standby_http, 'GET', '/replica?lag=0', 200, 30),
	'standby: /replica?lag=0 answers 200 again once replay resumed');

# ------------------------------------------------------- primary killed

my $t_kill = iqf_kill9($primary);
my ($t_replica, $t_health, $last_replica, $last_health);
while (time - $t_kill < 15 && !(defined $t_replica && defined $t_health))
{
	if (!defined $t_replica)
	{
		$last_replica = iqf_http($standby_http, 'GET', '/replica', timeout => 5);
		$t_replica = time - $t_kill if $last_replica->{status} == 503;
	}
	if (!defined $t_health)
	{
		$last_health = iqf_http($standby_http, 'GET', '/health', timeout => 5);
		$t_health = time - $t_kill if $last_health->{status} == 503;
	}
	usleep(50_000);
}
ok(defined $t_replica, 'after kill -9 of the primary, the standby\'s /replica answers 503 within 15 s')
  or diag(iqf_http_describe($last_replica));
note(sprintf('/replica turned 503 %.3f s after the kill', $t_replica)) if defined $t_replica;
ok(defined $t_health, 'after kill -9 of the primary, the standby\'s /health answers 503 within 15 s')
  or diag(iqf_http_describe($last_health));
if (defined $t_health)
{
	note(sprintf('/health turned 503 %.3f s after the kill', $t_health));
	cmp_ok($t_health, '>=', $upstream_timeout - 0.1,
		'the standby\'s /health is not 503 before upstream_timeout has passed');
	my $j = eval { decode_json($last_health->{body}) } // {};
	is($j->{status}, 'unhealthy', 'the standby\'s /health status is unhealthy');
	ok((grep { ($_->{reason} // '') eq 'primary_unavailable' } @{ $j->{reasons} // [] }),
		'the standby\'s /health reasons include primary_unavailable')
	  or diag($last_health->{body});
	is(($j->{primary} // {})->{status}, 'unavailable',
		'the standby\'s /health primary.status is unavailable');
}
is(iqf_http($standby_http, 'GET', '/primary')->{status}, 503,
	'the standby\'s /primary still answers 503 before promotion');
is(iqf_http($standby_http, 'OPTIONS', '/read-only')->{status}, 503,
	'the standby\'s /read-only answers 503 without its primary');
iqf_wait_orphans($primary, 30);

# -------------------------------------------------------------- promoted

$standby->promote;
my $t_primary = iqf_http_wait_status($standby_http, 'GET', '/primary', 200, 30);
ok(defined $t_primary, 'after promotion, the former standby\'s /primary answers 200 within 30 s');
note(sprintf('/primary turned 200 %.3f s after pg_ctl promote returned', $t_primary))
  if defined $t_primary;
is(iqf_http($standby_http, 'OPTIONS', '/read-write')->{status}, 200,
	'after promotion, OPTIONS /read-write answers 200');
is(iqf_http($standby_http, 'GET', '/replica')->{status}, 503,
	'after promotion, /replica answers 503');
my $role = eval { decode_json(iqf_http($standby_http, 'GET', '/role')->{body}) } // {};
is($role->{role}, 'primary', 'after promotion, /role says primary');
is($role->{timeline}, 2, 'after promotion, /role timeline is 2');

done_testing();
