
# Copyright (c) 2026, innoquim_failover developers
#
# 012_http_robustness.pl - the HTTP endpoint against malformed, oversized,
# slow, pipelined and abundant clients.
#
# One primary (min_standbys 0), http_max_connections = 64 (so that eviction
# is exercised), http_request_timeout = 1s.
#
# Proves:
#  - a malformed request line is answered 400 and the connection closed;
#  - a request cut short by the client closing does no harm: the server
#    answers the next client;
#  - a 10 kB header is 431, a 2000-byte URI is 414, bad ?lag= values
#    (bad escape, negative, overflowing) are 400;
#  - an HTTP/1.0 request without keep-alive is answered Connection: close
#    and closed; HTTP/1.1 pipelining (3 GETs in one write) gets 3 answers
#    in order;
#  - a slow-loris client (a header byte every 300 ms) gets 408 or is closed
#    within 3 s, while a normal check meanwhile answers at once;
#  - a thousand idle connections do not lock checks out: GET /health still
#    answers 200 quickly, and /metrics counts evicted connections;
#  - throughout, the monitor keeps sampling (health.sample_age < 2 s before
#    and after), the http worker is never restarted (same PID) and the
#    server log shows no crash.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::RealBin/../perl";

use IO::Select;
use IqfHttp;
use IqfTest;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time usleep);

# ------------------------------------------------------------------ setup

my $port = PostgreSQL::Test::Cluster::get_free_port();
my $node = iqf_primary('primary',
	"innoquim_failover.min_standbys = 0\n"
	  . iqf_http_conf($port,
		"innoquim_failover.http_max_connections = 64\n"
		  . "innoquim_failover.http_request_timeout = 1s"));
iqf_query($node, 'CREATE EXTENSION innoquim_failover');
ok(defined iqf_wait_monitor($node, 60), 'monitor runs and has published a snapshot');
ok(defined iqf_http_wait_status($port, 'GET', '/health', 200, 30), 'GET /health answers 200');

my $fresh = q{SELECT status = 'healthy' AND sample_age < interval '2 s' FROM innoquim_failover.health};
is(iqf_query($node, $fresh), 't', 'before the abuse: healthy, health.sample_age < 2 s');

my $worker_pid = iqf_http_worker_pid($node);
ok(defined $worker_pid, 'the innoquim_failover http worker is a child of the postmaster');
note('http worker PID: ' . ($worker_pid // 'not found'));
my $log_offset = -s $node->logfile;

# The endpoint still answers a normal check, quickly.
sub still_answers
{
	my ($what) = @_;
	my $r = iqf_http($port, 'GET', '/health', timeout => 5);
	is($r->{status}, 200, "after $what: GET /health answers 200")
	  or diag(iqf_http_describe($r));
	return $r;
}

# -------------------------------------------------------- malformed input

{
	my ($data, $closed) = iqf_http_raw($port, "GARBAGE\r\n\r\n", 5);
	my ($r) = iqf_http_parse_responses($data);
	is($r && $r->{status}, 400, 'malformed request line: 400');
	ok($closed, 'malformed request line: connection closed after the answer');
	is($r && $r->{headers}{'content-length'}, length($r ? $r->{body} : ''),
		'malformed request line: 400 has a matching Content-Length');
	is($r && $r->{headers}{connection}, 'close', 'malformed request line: Connection: close');
}

{
	my $sock = iqf_http_connect($port);
	iqf_http_send($sock, "GET /health HTTP/1.1\r\nHo");
	close($sock);
	$sock = iqf_http_connect($port);
	iqf_http_send($sock, "GET /primary HTT");
	close($sock);
	still_answers('two truncated requests and a closed socket');
}

{
	my $big = "GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " . ('a' x 10240) . "\r\n\r\n";
	my ($data, $closed) = iqf_http_raw($port, $big, 5);
	my ($r) = iqf_http_parse_responses($data);
	is($r && $r->{status}, 431, 'a 10 kB header: 431');
	ok($closed, 'a 10 kB header: connection closed');

	my $many = "GET /health HTTP/1.1\r\nHost: x\r\n"
	  . join('', map { "X-H$_: v\r\n" } 1 .. 1000) . "\r\n";
	($data, $closed) = iqf_http_raw($port, $many, 5);
	($r) = iqf_http_parse_responses($data);
	is($r && $r->{status}, 431, 'a thousand small headers (> 8 kB): 431');
}

{
	my $uri = '/health?x=' . ('a' x (2000 - 10));
	is(length($uri), 2000, 'the long URI is 2000 bytes');
	my ($data, $closed) = iqf_http_raw($port, "GET $uri HTTP/1.1\r\nHost: x\r\n\r\n", 5);
	my ($r) = iqf_http_parse_responses($data);
	is($r && $r->{status}, 414, 'a 2000-byte URI: 414');
	ok($closed, 'a 2000-byte URI: connection closed');
}

# The limit is on the whole URI (414 beyond 1024 bytes): a URI of exactly
# 1024 bytes is within it, whatever part of it is path or query.
{
	my $uri = '/health?x=' . ('a' x (1024 - 10));
	my ($data) = iqf_http_raw($port, "GET $uri HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 5);
	my ($r) = iqf_http_parse_responses($data);
	is($r && $r->{status}, 200, 'a 1024-byte URI (/health with a long query): 200, not 414');

	$uri = '/' . ('a' x 1023);
	($data) = iqf_http_raw($port, "GET $uri HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 5);
	($r) = iqf_http_parse_responses($data);
	is($r && $r->{status}, 404, 'a 1024-byte unknown path: 404 (within the URI limit, not malformed)');

	$uri = '/' . ('a' x 1024);
	($data) = iqf_http_raw($port, "GET $uri HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 5);
	($r) = iqf_http_parse_responses($data);
	is($r && $r->{status}, 414, 'a 1025-byte URI: 414');
}

{
	my ($data, $closed) = iqf_http_raw($port,
		"POST /health HTTP/1.1\r\nHost: x\r\nContent-Length: 20000\r\n\r\n" . ('b' x 20000), 5);
	my ($r) = iqf_http_parse_responses($data);
	ok($r && ($r->{status} == 405 || $r->{status} == 413),
		'POST with a 20 kB body: refused with 405 or 413')
	  or diag(iqf_http_describe($r));
	ok($closed, 'POST with a 20 kB body: connection closed');
}

for my $q ('lag=%zz', 'lag=-5', 'lag=99999999999999999999TB', 'lag=9999999999TB', 'lag=5XB',
	'lag=', 'lag=%')
{
	my $r = iqf_http($port, 'GET', "/replica?$q");
	is($r->{status}, 400, "/replica?$q: 400") or diag(iqf_http_describe($r));
}
is(iqf_http($port, 'GET', '/replica?lag=16MB')->{status}, 503,
	'/replica?lag=16MB on a primary: 503 (well-formed, not a replica)');
still_answers('malformed input');

# --------------------------------------------------- HTTP/1.0, pipelining

{
	my ($data, $closed) = iqf_http_raw($port, "GET /health HTTP/1.0\r\n\r\n", 5);
	my ($r) = iqf_http_parse_responses($data);
	is($r && $r->{status}, 200, 'HTTP/1.0 request: 200');
	is($r && $r->{headers}{connection}, 'close', 'HTTP/1.0 without keep-alive: Connection: close');
	ok($closed, 'HTTP/1.0 without keep-alive: connection closed after the answer');
}

{
	my $sock = iqf_http_connect($port);
	my $buf  = '';
	iqf_http_send($sock,
		    "GET /role HTTP/1.1\r\nHost: x\r\n\r\n"
		  . "GET /no-such-endpoint HTTP/1.1\r\nHost: x\r\n\r\n"
		  . "GET /lag HTTP/1.1\r\nHost: x\r\n\r\n");
	my @r = map { iqf_http_read_response($sock, \$buf, 'GET', 5) } 1 .. 3;
	close($sock);
	is(scalar(grep { defined } @r), 3, 'three pipelined GETs: three answers');
	is($r[0] && $r[0]->{status}, 200, 'pipelined answer 1 is 200');
	like($r[0] ? $r[0]->{body} : '', qr/"node_name"/, 'pipelined answer 1 is /role');
	is($r[1] && $r[1]->{status}, 404, 'pipelined answer 2 is 404 (/no-such-endpoint)');
	is($r[2] && $r[2]->{status}, 200, 'pipelined answer 3 is 200');
	like($r[2] ? $r[2]->{body} : '', qr/"standbys"/, 'pipelined answer 3 is /lag');
	is($r[2] && $r[2]->{headers}{connection}, 'keep-alive',
		'pipelined answers keep the connection alive');
}

{
	my ($data, $closed) = iqf_http_raw($port,
		"GET /health HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /role HTTP/1.0\r\n\r\n", 5);
	my @r = iqf_http_parse_responses($data);
	is(scalar(@r), 2, 'HTTP/1.0 with Connection: keep-alive, then a second request: two answers');
	is($r[0] && $r[0]->{headers}{connection}, 'keep-alive',
		'HTTP/1.0 with Connection: keep-alive: answered keep-alive');
	is($r[1] && $r[1]->{headers}{connection}, 'close',
		'HTTP/1.0 second request without keep-alive: answered close');
	ok($closed, 'HTTP/1.0 second request without keep-alive: connection closed');
}

{
	# a client that half-closes after its request still gets the answer
	my $sock = iqf_http_connect($port);
	iqf_http_send($sock, "GET /health HTTP/1.1\r\nHost: x\r\n\r\n");
	shutdown($sock, 1);
	my $buf = '';
	my $r = iqf_http_read_response($sock, \$buf, 'GET', 5);
	close($sock);
	is($r && $r->{status}, 200, 'request then shutdown(SHUT_WR): still answered 200');
}

{
	# a request one byte at a time (fast): the parser is incremental
	my $sock = iqf_http_connect($port);
	my $req  = "GET /role HTTP/1.1\r\nHost: x\r\nUser-Agent: byte-by-byte\r\n\r\n";
	for my $ch (split //, $req)
	{
		iqf_http_send($sock, $ch);
		usleep(2_000);
	}
	my $buf = '';
	my $r = iqf_http_read_response($sock, \$buf, 'GET', 5);
	is($r && $r->{status}, 200, 'a request sent one byte at a time: 200');
	like($r ? $r->{body} : '', qr/"node_name"/, 'a request sent one byte at a time: /role answered');

	# the connection is now idle: http_request_timeout (1 s) does not apply
	my $idle_start = time;
	my $sel = IO::Select->new($sock);
	my $eof = 0;
	while (time - $idle_start < 1.5)
	{
		if ($sel->can_read(0.1))
		{
			my $n = sysread($sock, my $junk, 4096);
			if (!$n) { $eof = 1; last; }
		}
	}
	ok(!$eof, 'an idle keep-alive connection stays open beyond http_request_timeout');
	iqf_http_send($sock, "GET /primary HTTP/1.1\r\nHost: x\r\n\r\n");
	$r = iqf_http_read_response($sock, \$buf, 'GET', 5);
	is($r && $r->{status}, 200, 'the idle keep-alive connection answers a request after 1.5 s');
	close($sock);
}

{
	# a client pipelining thousands of requests and never reading
	my $flood = iqf_http_connect($port);
	my $req   = "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n" x 2000;
	local $SIG{PIPE} = 'IGNORE';
	syswrite($flood, $req);
	my $r = iqf_http($port, 'GET', '/health', timeout => 5);
	is($r->{status}, 200, 'while a client pipelines 2000 requests without reading, a check answers 200');
	cmp_ok($r->{elapsed}, '<', 1, '... within 1 s');
	close($flood);
}

# ------------------------------------------------------------- slow loris

{
	my $loris = iqf_http_connect($port);
	iqf_http_send($loris, "GET /health HTTP/1.1\r\nHost: x\r\n");
	my $start = time;
	my $sel   = IO::Select->new($loris);
	my ($ended, $answer, $normal) = (undef, '', undef);
	my $n = 0;
	while (time - $start < 6)
	{
		if ($sel->can_read(0.3))
		{
			my $got = sysread($loris, $answer, 4096, length $answer);
			if (!$got)
			{
				$ended = time - $start;
				last;
			}
			next;
		}
		local $SIG{PIPE} = 'IGNORE';
		syswrite($loris, 'X');    # one more byte of a header name
		$n++;
		# meanwhile, a normal check
		$normal = iqf_http($port, 'GET', '/health', timeout => 5) if $n == 2;
	}
	close($loris);
	ok(defined $ended, 'slow loris: the connection is closed by the server within 6 s');
	note(sprintf('slow loris closed after %.3f s (%d bytes trickled)', $ended, $n))
	  if defined $ended;
	cmp_ok($ended // 99, '<=', 3, 'slow loris: closed within 3 s (http_request_timeout 1s)');
	my ($r) = iqf_http_parse_responses($answer);
	ok(!$r || $r->{status} == 408,
		'slow loris: answered 408 or nothing before the close')
	  or diag(iqf_http_describe($r));
	note('slow loris got: ' . ($r ? $r->{status_line} : 'no answer'));
	is($normal && $normal->{status}, 200, 'during the slow loris, a normal check answers 200');
	cmp_ok($normal ? $normal->{elapsed} : 99, '<', 1,
		'during the slow loris, a normal check answers within 1 s');
	note(sprintf('normal check during slow loris: %.3f s', $normal->{elapsed})) if $normal;
}

# --------------------------------------------- 200 slow-loris clients

{
	my @slow;
	local $SIG{PIPE} = 'IGNORE';
	for (1 .. 200)
	{
		my $s = iqf_http_connect($port, 5) or last;
		syswrite($s, "GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: ");
		push @slow, $s;
	}
	is(scalar(@slow), 200, 'opened 200 slow-loris connections (partial headers)');
	my $r = iqf_http($port, 'GET', '/health', timeout => 5);
	is($r->{status}, 200, 'with 200 slow-loris connections: GET /health answers 200');
	cmp_ok($r->{elapsed}, '<', 1, 'with 200 slow-loris connections: GET /health answers within 1 s');
	note(sprintf('GET /health with 200 slow connections: %.3f s', $r->{elapsed}));
	close($_) for @slow;
}

# ----------------------------------------------------- 1000 idle clients

{
	my $before = iqf_http_metric(iqf_http($port, 'GET', '/metrics', timeout => 5)->{body},
		'http_connections_evicted_total') // 0;
	my @idle;
	my $t0 = time;
	for (1 .. 1000)
	{
		my $s = iqf_http_connect($port, 5) or last;
		push @idle, $s;
	}
	note(sprintf('opened %d idle connections in %.3f s (errno on stop: %s)',
			scalar(@idle), time - $t0, @idle < 1000 ? "$!" : 'none'));
	cmp_ok(scalar(@idle), '>', 2 * 64,
		'opened well over http_max_connections (64) idle connections');

	my $r = still_answers(scalar(@idle) . ' idle connections');
	cmp_ok($r->{elapsed}, '<', 2, 'with the idle connections open, GET /health answers within 2 s');
	note(sprintf('GET /health with %d idle connections: %.3f s', scalar(@idle), $r->{elapsed}));

	my $m = iqf_http($port, 'GET', '/metrics', timeout => 5);
	is($m->{status}, 200, 'with the idle connections open, GET /metrics answers 200');
	my $evicted = iqf_http_metric($m->{body}, 'http_connections_evicted_total');
	cmp_ok($evicted // 0, '>', 0, '/metrics: http_connections_evicted_total > 0');
	cmp_ok(($evicted // 0) - $before, '>=', scalar(@idle) - 64,
		'/metrics: every idle connection beyond http_max_connections was evicted');
	note("evicted: $before before the idle connections, " . ($evicted // 'absent') . ' after');
	my $open = iqf_http_metric($m->{body}, 'http_connections_open');
	ok(defined $open && $open <= 64, '/metrics: http_connections_open <= http_max_connections')
	  or diag('http_connections_open: ' . ($open // 'absent'));
	my $accepted = iqf_http_metric($m->{body}, 'http_connections_accepted_total');
	cmp_ok($accepted // 0, '>=', scalar(@idle), '/metrics: every idle connection was accepted');
	my $timed_out = iqf_http_metric($m->{body}, 'http_connections_timed_out_total');
	cmp_ok($timed_out // 0, '>', 0, '/metrics: http_connections_timed_out_total counts the slow loris');
	cmp_ok(iqf_http_metric($m->{body}, 'http_requests_total', qr/code="431"/) // 0, '>=', 2,
		'/metrics: http_requests_total{code="431"} counts the oversized requests');

	is(iqf_query($node, $fresh), 't',
		'with the idle connections open: healthy, health.sample_age < 2 s');
	close($_) for @idle;
}

still_answers('the idle connections closed');

# ---------------------------------------------------------------- after

is(iqf_query($node, $fresh), 't', 'after the abuse: healthy, health.sample_age < 2 s');
is(iqf_http_worker_pid($node), $worker_pid, 'the http worker was never restarted (same PID)');

my $log = slurp_file($node->logfile, $log_offset);
unlike($log, qr/terminated by signal/, 'the server log has no "terminated by signal"');
unlike($log, qr/server process .* was terminated/, 'the server log has no "server process ... was terminated"');
unlike($log, qr/innoquim_failover http.*exited with exit code/,
	'the server log has no exit of the http worker');
unlike($log, qr/PANIC|TRAP:/, 'the server log has no PANIC or assertion failure');

done_testing();
