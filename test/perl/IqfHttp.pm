
# Copyright (c) 2026, innoquim_failover developers

=pod

=head1 NAME

IqfHttp - raw HTTP helpers for the innoquim_failover HTTP endpoint tests
(test/t/010-012)

=head1 SYNOPSIS

  use IqfHttp;

  my $port = iqf_http_port($node);    # free port, written to postgresql.conf
  my $r = iqf_http($port, 'GET', '/health');
  is($r->{status}, 200, 'GET /health answers 200');
  my $elapsed = iqf_http_wait_status($port, 'GET', '/primary', 200, 30);

=head1 DESCRIPTION

Plain IO::Socket::INET (core Perl only): requests are written byte for byte
as the tests mean them, so that malformed, truncated, pipelined and slow
requests can be sent.  Responses are parsed by Content-Length (the endpoint
always sends it), which is also how keep-alive and pipelining are checked.

Every read is bounded by a timeout; nothing here blocks forever.

=cut

package IqfHttp;

use strict;
use warnings;

use Exporter 'import';
use IO::Select;
use IO::Socket::INET;
use PostgreSQL::Test::Cluster;
use Test::More;
use Time::HiRes qw(time usleep);

our @EXPORT = qw(
  iqf_http_conf
  iqf_http_port
  iqf_http_connect
  iqf_http_send
  iqf_http_read_response
  iqf_http
  iqf_http_raw
  iqf_http_parse_responses
  iqf_http_wait_status
  iqf_http_metric
  iqf_http_worker_pid
  iqf_http_describe
);

=pod

=over

=item iqf_http_conf(port, extra)

postgresql.conf lines turning the endpoint on at port, on 127.0.0.1 only.

=cut

sub iqf_http_conf
{
	my ($port, $extra) = @_;
	return join("\n",
		"innoquim_failover.http_port = $port",
		"innoquim_failover.http_listen_addresses = '127.0.0.1'",
		($extra // ()), "");
}

=pod

=item iqf_http_port(node, extra)

Pick a free port (PostgreSQL::Test::Cluster::get_free_port), append the
endpoint settings (plus extra lines) to the node's postgresql.conf and
return the port.  The node must be (re)started or reloaded afterwards.

=cut

sub iqf_http_port
{
	my ($node, $extra) = @_;
	my $port = PostgreSQL::Test::Cluster::get_free_port();
	$node->append_conf('postgresql.conf', iqf_http_conf($port, $extra));
	$node->{_iqf_http_port} = $port;
	return $port;
}

=pod

=item iqf_http_connect(port, timeout_s)

A connected IO::Socket::INET to 127.0.0.1:port, or undef.

=cut

sub iqf_http_connect
{
	my ($port, $timeout) = @_;
	return IO::Socket::INET->new(
		PeerAddr => '127.0.0.1',
		PeerPort => $port,
		Proto    => 'tcp',
		Timeout  => $timeout // 5);
}

=pod

=item iqf_http_send(sock, bytes)

Write all of bytes; returns true when written.

=cut

sub iqf_http_send
{
	my ($sock, $bytes) = @_;
	local $SIG{PIPE} = 'IGNORE';
	my $off = 0;
	while ($off < length($bytes))
	{
		my $n = syswrite($sock, $bytes, length($bytes) - $off, $off);
		return 0 unless defined $n && $n > 0;
		$off += $n;
	}
	return 1;
}

# Read more bytes from sock into $$bufref; returns bytes read, 0 on EOF,
# undef on timeout or error.
sub _fill
{
	my ($sock, $bufref, $deadline) = @_;
	my $sel  = IO::Select->new($sock);
	my $left = $deadline - time;
	return undef if $left <= 0;
	return undef unless $sel->can_read($left);
	my $n = sysread($sock, $$bufref, 65536, length($$bufref));
	return defined $n ? $n : 0;    # ECONNRESET counts as closed
}

# Parse one response at the start of $$bufref.  Returns the response hash
# and removes it from the buffer, or undef when incomplete.
sub _take_response
{
	my ($bufref, $method) = @_;
	my $end = index($$bufref, "\r\n\r\n");
	return undef if $end < 0;
	my $head = substr($$bufref, 0, $end);
	my @lines = split(/\r\n/, $head);
	my $status_line = shift @lines;
	my %h;
	for my $l (@lines)
	{
		my ($k, $v) = $l =~ /^([^:]+):\s*(.*?)\s*$/ or next;
		$h{ lc $k } = $v;
	}
	my $len = $h{'content-length'};
	my $bodylen =
	  ($method // 'GET') eq 'HEAD' ? 0
	  : defined $len ? $len
	  :                0;
	return undef if length($$bufref) < $end + 4 + $bodylen;
	my $body = substr($$bufref, $end + 4, $bodylen);
	substr($$bufref, 0, $end + 4 + $bodylen) = '';
	my ($status) = $status_line =~ m{^HTTP/\d\.\d (\d{3})};
	return {
		status      => $status // 0,
		status_line => $status_line,
		headers     => \%h,
		body        => $body,
	};
}

=pod

=item iqf_http_read_response(sock, bufref, method, timeout_s)

Read one response on a connection (bufref holds bytes read but not yet
consumed, so several responses can be read from one socket in turn).
Returns a hash {status, status_line, headers (lower-case names), body}, or
undef on timeout or when the server closed the connection first.

=cut

sub iqf_http_read_response
{
	my ($sock, $bufref, $method, $timeout) = @_;
	my $deadline = time + ($timeout // 10);
	while (1)
	{
		my $r = _take_response($bufref, $method);
		return $r if $r;
		my $n = _fill($sock, $bufref, $deadline);
		return undef unless $n;
	}
}

=pod

=item iqf_http(port, method, path, %opt)

One request on a fresh connection (HTTP/1.1, Host, Connection: close unless
opt keep_alive), one response read.  Options: headers (extra header
lines, arrayref), timeout (s, default 10).  Returns the response hash as
iqf_http_read_response, with elapsed (seconds) added; or a hash with status
0 and error set when there was no answer.

=cut

sub iqf_http
{
	my ($port, $method, $path, %opt) = @_;
	my $start = time;
	my $sock  = iqf_http_connect($port, $opt{timeout} // 10)
	  or return { status => 0, error => "connect: $!", elapsed => time - $start };
	my $req = "$method $path HTTP/1.1\r\nHost: 127.0.0.1:$port\r\n";
	$req .= "$_\r\n" for @{ $opt{headers} // [] };
	$req .= "Connection: close\r\n" unless $opt{keep_alive};
	$req .= "\r\n";
	iqf_http_send($sock, $req)
	  or return { status => 0, error => "send: $!", elapsed => time - $start };
	my $buf = '';
	my $r = iqf_http_read_response($sock, \$buf, $method, $opt{timeout} // 10);
	close($sock);
	return { status => 0, error => 'no answer', elapsed => time - $start }
	  unless $r;
	$r->{elapsed} = time - $start;
	return $r;
}

=pod

=item iqf_http_raw(port, bytes, timeout_s)

Send bytes as they are on a fresh connection and read until the server
closes it or timeout_s passes.  Returns (data, closed): closed is true when
the server closed the connection within the timeout.

=cut

sub iqf_http_raw
{
	my ($port, $bytes, $timeout) = @_;
	my $sock = iqf_http_connect($port, $timeout) or return ('', 0);
	iqf_http_send($sock, $bytes);
	my $buf      = '';
	my $deadline = time + ($timeout // 10);
	my $closed   = 0;
	while (1)
	{
		my $n = _fill($sock, \$buf, $deadline);
		last unless defined $n;
		if ($n == 0) { $closed = 1; last; }
	}
	close($sock);
	return ($buf, $closed);
}

=pod

=item iqf_http_parse_responses(data, methods...)

Split data into the responses it holds, in order; one method per expected
response (HEAD responses have no body).  Returns the list of response
hashes; stops at the first incomplete one.

=cut

sub iqf_http_parse_responses
{
	my ($data, @methods) = @_;
	my @out;
	my $i = 0;
	while (length $data)
	{
		my $r = _take_response(\$data, $methods[$i] // 'GET') or last;
		push @out, $r;
		$i++;
	}
	return @out;
}

=pod

=item iqf_http_wait_status(port, method, path, status, timeout_s)

Repeat the request every 100 ms until it answers status.  Returns the
elapsed seconds, or undef on timeout (after a diag of the last answer).

=cut

sub iqf_http_wait_status
{
	my ($port, $method, $path, $want, $timeout) = @_;
	my $start = time;
	my $r;
	while (1)
	{
		$r = iqf_http($port, $method, $path, timeout => 5);
		return time - $start if $r->{status} == $want;
		last if time - $start > $timeout;
		usleep(100_000);
	}
	diag(sprintf("%s %s on port %d did not answer %d within %ds; last: %s",
			$method, $path, $port, $want, $timeout, iqf_http_describe($r)));
	return undef;
}

=pod

=item iqf_http_metric(body, name, labels_regex)

Value of the first sample of innoquim_failover_<name> in a Prometheus text
body whose label set matches labels_regex (any when omitted); undef when
absent.

=cut

sub iqf_http_metric
{
	my ($body, $name, $labels) = @_;
	for my $line (split /\n/, $body // '')
	{
		next unless $line =~ /^innoquim_failover_\Q$name\E\{([^}]*)\} (\S+)$/;
		my ($set, $value) = ($1, $2);
		next if defined $labels && $set !~ $labels;
		return $value + 0;
	}
	return undef;
}

=pod

=item iqf_http_worker_pid(node)

PID of the node's "innoquim_failover http" background worker: the child of
the postmaster whose command line names it (it has no pg_stat_activity
row).  undef when there is none.

=cut

sub iqf_http_worker_pid
{
	my ($node) = @_;
	my $pm = $node->{_pid} or return undef;
	opendir(my $dh, '/proc') or return undef;
	my @found;
	for my $pid (grep { /^\d+$/ } readdir($dh))
	{
		open(my $fh, '<', "/proc/$pid/stat") or next;
		my $stat = <$fh>;
		close($fh);
		next unless defined $stat && $stat =~ /\)\s+\S+\s+(\d+)/ && $1 == $pm;
		open(my $ch, '<', "/proc/$pid/cmdline") or next;
		my $cmd = do { local $/; <$ch> } // '';
		close($ch);
		push @found, $pid if $cmd =~ /innoquim_failover http/;
	}
	closedir($dh);
	return @found == 1 ? $found[0] : undef;
}

=pod

=item iqf_http_describe(response)

One line describing a response hash, for diagnostics.

=cut

sub iqf_http_describe
{
	my ($r) = @_;
	return 'undef' unless $r;
	return "no answer ($r->{error})" if !$r->{status} && $r->{error};
	my $body = $r->{body} // '';
	$body = substr($body, 0, 300) . '...' if length($body) > 300;
	$body =~ s/\n/\\n/g;
	return "$r->{status_line}; body: $body";
}

=pod

=back

=cut

1;
