# Copyright (c) 2026, innoquim_failover developers

=pod

=head1 NAME

IqfCluster - failover clusters for the TAP tests test/t/02*.pl: nodes routed
through controllable TCP proxies, and the invariant checkers

=head1 SYNOPSIS

  use IqfCluster;

  my $c = iqfc_setup(primary => 'p', standbys => ['s'], witness => 'w');
  iqfc_probe_start($c);            # "no two nodes accept writes at once"
  iqfc_writer_start($c);           # "no acknowledged commit is lost"
  iqfc_isolate($c, 'p');           # network partition, no root needed
  ...
  iqfc_heal_all($c);
  iqfc_check_invariants($c, $c->{nodes}{s});

=head1 DESCRIPTION

=head2 Network

Every node listens on 127.0.0.1 (and on its Unix socket, for the test's own
psql).  For every directed pair X->Y of nodes a proxy port forwards to Y;
node X reaches Y only through it: X's postmaster is started with
PGSERVICEFILE pointing at X's own service file, where service "iqf_Y" is
host=127.0.0.1 port=<proxy X->Y>, and "iqf_X" (X itself) is X's real port.
Registry conninfo of Y is 'service=iqf_Y', a standby's primary_conninfo is
'service=iqf_<primary> application_name=<self>', so every connection between
nodes (agents, WAL receivers) goes through a proxy of the pair.

All proxies are ONE forked Perl child (IO::Select loop), driven through a
control TCP port with one-line commands answered "ok":

  cut A B      both directions of the pair stop: nothing more is read or
               written on its connections, which stay open (peers see
               timeouts, as with dropped packets); new connections are
               accepted but not forwarded until the pair heals
  heal A B     forwarding resumes (connections accepted meanwhile are
               connected to their target now)
  isolate A    cut A from every other node
  heal_all     heal every pair

=head2 Invariant checkers

The probe (one forked child) speaks the PostgreSQL wire protocol itself
(trust authentication, simple query), one persistent connection per data
node, made directly to the node (never through a proxy).  Every
interval it sends, to every data node at the same moment,

  BEGIN; INSERT INTO iqf_probe ... RETURNING <server clock>; ROLLBACK

and records node, send time, receive time, accepted (the INSERT completed)
and the error otherwise (iqfc_probe_start: interval 30 ms, timeout 2 s).
Nodes are probed concurrently and independently: a node that hangs
(SIGSTOP) costs only its own probe, recorded as not accepted after the
timeout, and is reconnected.  Because the probes of all nodes
start at the same instant, two nodes that both accept writes in one cycle
have overlapping [send, receive] windows; iqfc_check_probe asserts there is
no such overlap, and, stronger, that acceptance moves one way only: once a
node accepted a probe after another had, the other never accepts again.

The writer (one forked child) inserts increasing ids, one transaction each,
with a persistent psql session (ON_ERROR_STOP: it exits on any error and is
started again: a reconnection) through a libpq multi-host connection string
to every data node (target_session_attrs=read-write, connect_timeout=2), and
records the ids whose INSERT ... RETURNING row came back (psql prints it
only once the command completed, after the commit: the commit was
acknowledged) and the port of the node that acknowledged it.  Under
synchronous replication (the primary's synchronous_standby_names) an
acknowledged commit is on a synchronous standby.  After a failure it
rotates the host list: a fenced former primary still looks read-write to
libpq (it is not in recovery) and would otherwise be picked first every
time.  iqfc_check_acked asserts that every acknowledged id is on the given
node.

Forked children exit with POSIX::_exit (never running the test's END blocks)
and are killed by PID at the end (iqfc_*_stop, or the END block here).
Processes stopped with iqfc_freeze are continued in the END block so that
Cluster.pm's teardown does not hang.

=cut

package IqfCluster;

use strict;
use warnings;

use Exporter 'import';
use Errno qw(EAGAIN EWOULDBLOCK EINTR);
use IO::Select;
use IO::Socket::INET;
use IPC::Run;
use POSIX ();
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time usleep);

use IqfTest;

our @EXPORT = qw(
  iqfc_setup
  iqfc_start
  iqfc_restart
  iqfc_q
  iqfc_wait
  iqfc_wait_row
  iqfc_proxy_cmd
  iqfc_cut
  iqfc_heal
  iqfc_isolate
  iqfc_heal_all
  iqfc_proxy_port
  iqfc_proxy_selftest
  iqfc_probe_start
  iqfc_probe_stop
  iqfc_check_probe
  iqfc_probe_max_gap
  iqfc_writer_start
  iqfc_writer_stop
  iqfc_check_acked
  iqfc_check_invariants
  iqfc_node_pids
  iqfc_freeze
  iqfc_thaw
  iqfc_events
  iqfc_freeze_pid
  iqfc_stays_fenced
  iqfc_failover_timings
  iqfc_last_accept
  iqfc_first_accept
  iqfc_replication_error
  iqfc_scenario
  iqfc_fmt
  iqfc_during
  iqfc_failover_timeout_s
);

my $parent_pid = $$;
my %children;        # pid => what, forked by this module
my %frozen;          # pid => 1, stopped with SIGSTOP by iqfc_freeze

END
{
	if ($$ == $parent_pid)
	{
		local $?;    # waitpid must not change the test's exit status
		kill('CONT', keys %frozen) if %frozen;
		for my $pid (keys %children)
		{
			kill('KILL', $pid);
			waitpid($pid, 0);
		}
	}
}

sub _fork_child
{
	my ($what, $code) = @_;
	my $pid = fork();
	die "fork: $!" unless defined $pid;
	if ($pid == 0)
	{
		# never run the test's END blocks (Cluster.pm would stop the nodes)
		my $rc = eval { $code->(); 0 } // do { print STDERR "$what child: $@"; 1 };
		POSIX::_exit($rc);
	}
	$children{$pid} = $what;
	return $pid;
}

sub _reap
{
	my ($pid, $timeout) = @_;
	my $start = time;
	while (time - $start < $timeout)
	{
		my $r = waitpid($pid, POSIX::WNOHANG());
		if ($r == $pid || $r == -1) { delete $children{$pid}; return 1; }
		usleep(20_000);
	}
	kill('KILL', $pid);
	waitpid($pid, 0);
	delete $children{$pid};
	return 0;
}

sub iqfc_fmt
{
	my ($v) = @_;
	return defined $v ? sprintf('%.3f', $v) : 'undef';
}

# ------------------------------------------------------------------- nodes

# Settings of every node (after Cluster.pm's, which they override).
sub _base_conf
{
	return join("\n",
		"shared_preload_libraries = 'innoquim_failover'",
		"innoquim_failover.monitor_interval = 100ms",
		"listen_addresses = '127.0.0.1'",
		"max_connections = 60",
		"shared_buffers = 8MB",
		"log_statement = 'ddl'",
		"wal_retrieve_retry_interval = 500ms",
		"");
}

=pod

=item iqfc_setup(%opts)

Builds and starts a cluster: primary => name, standbys => [names],
witness => name or [names], conf => settings for every node, primary_conf => settings
for the primary only (added after the base backup, so standbys do not
inherit them; e.g. synchronous_standby_names), sync => the primary's
synchronous_standby_names.  Creates the extension (primary and witness), the
tables iqf_probe and iqf_w on the primary, registers every node (conninfo
'service=iqf_<name>'), and waits until every node knows every voter, the
primary holds its lease and every standby streams.  Returns the cluster
(hash: nodes, data (names, primary first), primary, standbys, witnesses,
all, ...).

=cut

sub iqfc_setup
{
	my %o = @_;
	my $pname = $o{primary} // 'p';
	my @snames = @{ $o{standbys} // ['s'] };
	my @wnames = ref $o{witness} ? @{ $o{witness} } : defined $o{witness} ? ($o{witness}) : ();
	my %is_witness = map { $_ => 1 } @wnames;
	my @all = ($pname, @snames, @wnames);
	my $c = {
		primary => $pname,
		standbys => \@snames,
		witnesses => \@wnames,
		data => [ $pname, @snames ],
		all => \@all,
		nodes => {},
		proxy_port => {},
		svcfile => {},
	};

	for my $n (@all)
	{
		$c->{nodes}{$n} = PostgreSQL::Test::Cluster->new($n);
	}
	for my $x (@all)
	{
		for my $y (@all)
		{
			next if $x eq $y;
			$c->{proxy_port}{"$x>$y"} = PostgreSQL::Test::Cluster::get_free_port();
		}
	}
	$c->{ctl_port} = PostgreSQL::Test::Cluster::get_free_port();
	_proxy_start($c);

	# service files: X reaches Y through proxy X->Y, itself directly
	for my $x (@all)
	{
		my $node = $c->{nodes}{$x};
		my $file = $node->basedir . '/pg_service.conf';
		my $txt = '';
		for my $y (@all)
		{
			my $port = $x eq $y ? $c->{nodes}{$y}->port : $c->{proxy_port}{"$x>$y"};
			$txt .= "[iqf_$y]\nhost=127.0.0.1\nport=$port\ndbname=postgres\n\n";
		}
		open(my $fh, '>', $file) or die "$file: $!";
		print $fh $txt;
		close($fh);
		$c->{svcfile}{$x} = $file;
	}

	my $conf = _base_conf() . ($o{conf} // '') . "\n";

	# primary
	my $p = $c->{nodes}{$pname};
	$p->init(allows_streaming => 1);
	$p->append_conf('postgresql.conf', $conf);
	iqfc_start($c, $p);
	iqfc_q($p, 'CREATE EXTENSION innoquim_failover');
	iqfc_q($p,
		'CREATE TABLE iqf_probe (node text, t timestamptz);
		 CREATE TABLE iqf_w (id bigint PRIMARY KEY, t timestamptz DEFAULT clock_timestamp())');
	$p->backup('base');

	# the primary's own settings, not copied to the standbys
	my $pconf = $o{primary_conf} // '';
	$pconf .= "\nsynchronous_standby_names = '$o{sync}'\nsynchronous_commit = on\n"
	  if $o{sync};
	if ($pconf ne '')
	{
		$p->append_conf('postgresql.conf', $pconf);
		$p->reload;
	}

	for my $sname (@snames)
	{
		my $s = $c->{nodes}{$sname};
		$s->init_from_backup($p, 'base', has_streaming => 1);
		$s->append_conf('postgresql.conf',
			$conf
			  . "primary_conninfo = 'service=iqf_$pname application_name=$sname'\n"
			  . ($o{standby_conf}{$sname} // ''));
		iqfc_start($c, $s);
	}

	for my $wname (@wnames)
	{
		my $w = $c->{nodes}{$wname};
		$w->init;
		$w->append_conf('postgresql.conf',
			$conf . "innoquim_failover.node_kind = 'witness'\n");
		iqfc_start($c, $w);
		iqfc_q($w, 'CREATE EXTENSION innoquim_failover');
	}

	for my $n (@all)
	{
		my $kind = $is_witness{$n} ? 'witness' : 'data';
		iqfc_q($p,
			"SELECT innoquim_failover.register_node('$n', 'service=iqf_$n', '$kind')");
	}

	my $nvoters = scalar @all;
	my $t0 = time;
	for my $n (@all)
	{
		my $el = iqfc_wait($c->{nodes}{$n},
			'SELECT voters, primary_name FROM innoquim_failover.failover',
			"$nvoters|$pname", 60);
		BAIL_OUT("node $n does not know the $nvoters voters and primary $pname")
		  unless defined $el;
	}
	BAIL_OUT("primary $pname does not hold its lease")
	  unless defined iqfc_wait($p,
		  q{SELECT r.role, r.accepting_writes, f.phase
		    FROM innoquim_failover.role r, innoquim_failover.failover f},
		  'primary|t|primary', 60);
	for my $sname (@snames)
	{
		BAIL_OUT("standby $sname does not stream from $pname")
		  unless defined iqfc_wait($c->{nodes}{$sname},
			  'SELECT status FROM innoquim_failover.upstream', 'streaming', 60);
	}
	if ($o{sync})
	{
		BAIL_OUT("no synchronous standby on $pname")
		  unless defined iqfc_wait($p,
			  "SELECT count(*) > 0 FROM pg_stat_replication WHERE sync_state = 'sync'",
			  't', 60);
	}
	note(sprintf('cluster %s ready (voters known, lease held, standbys streaming) in %.2f s',
			join(',', @all), time - $t0));
	return $c;
}

=pod

=item iqfc_start(c, node), iqfc_restart(c, node)

Start (restart: pg_ctl restart, fast) a node with its own PGSERVICEFILE in
the environment, inherited by its postmaster and so by every child.

=cut

sub iqfc_start
{
	my ($c, $node) = @_;
	local $ENV{PGSERVICEFILE} = $c->{svcfile}{ $node->name };
	return $node->start;
}

sub iqfc_restart
{
	my ($c, $node) = @_;
	local $ENV{PGSERVICEFILE} = $c->{svcfile}{ $node->name };
	return $node->restart;
}

# safe_psql on postgres
sub iqfc_q
{
	my ($node, $sql) = @_;
	return $node->safe_psql('postgres', $sql);
}

=pod

=item iqfc_wait(node, sql, expected, timeout_s[, interval_s])

Like IqfTest's iqf_poll, with a settable interval (default 50 ms).  Returns
the elapsed seconds, or undef (after a diag) on timeout.

=item iqfc_wait_row(node, sql, timeout_s[, interval_s])

Until sql returns a non-empty output: (elapsed, output), or () on timeout.

=cut

# Run sql on node until psql succeeds and $accept->(output) holds, or
# timeout_s passed: (elapsed, output, stderr), elapsed undef on timeout.
sub _poll_sql
{
	my ($node, $sql, $timeout, $interval, $accept) = @_;
	my $start = time;
	my ($out, $err) = ('', '');
	while (1)
	{
		my $ret;
		my $to;
		($ret, $out, $err) = $node->psql('postgres', $sql, timeout => 10, timed_out => \$to);
		$ret //= -1;
		$out //= '';
		$err //= '';
		return (time - $start, $out, $err) if $ret == 0 && $accept->($out);
		last if time - $start > $timeout;
		usleep(($interval // 0.05) * 1e6);
	}
	return (undef, $out, $err);
}

sub iqfc_wait
{
	my ($node, $sql, $expected, $timeout, $interval) = @_;
	my ($el, $out, $err) = _poll_sql($node, $sql, $timeout, $interval, sub { $_[0] eq $expected });
	return $el if defined $el;
	diag(sprintf(
			"iqfc_wait on %s timed out after %ds\nquery: %s\nexpected: %s\nlast output: %s\nlast stderr: %s",
			$node->name, $timeout, $sql, $expected, $out, $err));
	return undef;
}

sub iqfc_wait_row
{
	my ($node, $sql, $timeout, $interval) = @_;
	my ($el, $out, $err) = _poll_sql($node, $sql, $timeout, $interval, sub { $_[0] ne '' });
	return ($el, $out) if defined $el;
	diag(sprintf(
			"iqfc_wait_row on %s timed out after %ds\nquery: %s\nlast output: %s\nlast stderr: %s",
			$node->name, $timeout, $sql, $out, $err));
	return ();
}

# The kinds of a node's events, oldest first, as one comma-separated text.
sub iqfc_events
{
	my ($node) = @_;
	return iqfc_q($node,
		"SELECT string_agg(kind, ',' ORDER BY seq) FROM innoquim_failover.events");
}

=pod

=item iqfc_node_pids(node)

The postmaster's PID (postmaster.pid) and its children's (ps --ppid).

=item iqfc_freeze(node), iqfc_thaw(pids)

SIGSTOP the postmaster, then every child of it (listed again until no new
one appears); returns the PIDs.  iqfc_thaw sends them SIGCONT.

=cut

sub iqfc_node_pids
{
	my ($node) = @_;
	open(my $fh, '<', $node->data_dir . '/postmaster.pid') or return ();
	my $pm = <$fh>;
	close($fh);
	chomp $pm;
	my $kids = `ps -o pid= --ppid $pm`;
	return ($pm, map { s/\s+//gr } grep { /\d/ } split(/\n/, $kids));
}

sub iqfc_freeze
{
	my ($node) = @_;
	my ($pm) = iqfc_node_pids($node);
	die 'iqfc_freeze: no postmaster for ' . $node->name unless $pm;
	kill('STOP', $pm);
	$frozen{$pm} = 1;
	my %seen = ($pm => 1);
	for (1 .. 5)
	{
		my (undef, @kids) = iqfc_node_pids($node);
		my @new = grep { !$seen{$_} } @kids;
		last unless @new;
		kill('STOP', @new);
		$seen{$_} = $frozen{$_} = 1 for @new;
	}
	return sort { $a <=> $b } keys %seen;
}

=pod

=item iqfc_scenario(settle => seconds, %setup_opts)

The opening of a failover scenario: iqfc_setup(%setup_opts) (without
primary and standbys: the three-voter cluster p, s, w with
synchronous_standby_names 'FIRST 1 (s)'), a note of
fence_timeout and of the failover_timeout in force, the probe and the
synchronous writer started (the two invariant checkers), then `settle`
seconds (default 1) so that both have a history before the fault.
Returns ($c, $failover_timeout_s).

=cut

sub iqfc_scenario
{
	my %o = @_;
	my $settle = delete $o{settle} // 1;
	%o = (primary => 'p', standbys => ['s'], witness => 'w', sync => 'FIRST 1 (s)', %o)
	  unless exists $o{primary} || exists $o{standbys};
	my $c = iqfc_setup(%o);
	my $fot = iqfc_failover_timeout_s($c->{nodes}{ $c->{standbys}[0] });
	my $fence = iqfc_q($c->{nodes}{ $c->{primary} }, 'SHOW innoquim_failover.fence_timeout');
	Test::More::note("fence_timeout $fence, failover_timeout in force $fot s");
	iqfc_probe_start($c);
	iqfc_writer_start($c);
	sleep($settle);
	return ($c, $fot);
}

=pod

=item iqfc_freeze_pid(@pids)

SIGSTOP of single processes (an agent, a WAL receiver), continued by
iqfc_thaw or at the latest in the END block.

=cut

sub iqfc_freeze_pid
{
	my @pids = grep { defined && /^\d+$/ && $_ > 0 } @_;
	die 'iqfc_freeze_pid: no pid' unless @pids;
	kill('STOP', @pids);
	$frozen{$_} = 1 for @pids;
	return @pids;
}

sub iqfc_thaw
{
	my @pids = @_;
	kill('CONT', @pids);
	delete $frozen{$_} for @pids;
	return;
}

=pod

=item iqfc_during(seconds, check[, interval_s])

Calls check every interval_s (default 0.2) for seconds; check returns undef
when all is well, else a description.  Returns (number of checks, the first
failure or undef).

=cut

sub iqfc_during
{
	my ($secs, $check, $interval) = @_;
	my $end = time + $secs;
	my $n = 0;
	while (time < $end)
	{
		$n++;
		my $bad = $check->();
		return ($n, sprintf('after %.2f s: %s', $secs - ($end - time), $bad)) if defined $bad;
		usleep(($interval // 0.2) * 1e6);
	}
	return ($n, undef);
}

# The failover_timeout in force on a node (the view shows it after the floor).
sub iqfc_failover_timeout_s
{
	my ($node) = @_;
	return iqfc_q($node, 'SELECT failover_timeout_ms FROM innoquim_failover.failover') / 1000.0;
}

# ------------------------------------------------------------------- proxy

sub _pairkey
{
	my ($a, $b) = @_;
	return $a lt $b ? "$a|$b" : "$b|$a";
}

sub _proxy_start
{
	my ($c) = @_;
	my %listen;
	for my $key (keys %{ $c->{proxy_port} })
	{
		my ($x, $y) = split(/>/, $key);
		my $l = IO::Socket::INET->new(
			LocalAddr => '127.0.0.1',
			LocalPort => $c->{proxy_port}{$key},
			Proto => 'tcp',
			Listen => 128,
			ReuseAddr => 1) or die "proxy $key: cannot listen on $c->{proxy_port}{$key}: $!";
		$l->blocking(0);
		$listen{ fileno($l) } = { sock => $l, from => $x, to => $y, target => $c->{nodes}{$y}->port };
	}
	my $ctl = IO::Socket::INET->new(
		LocalAddr => '127.0.0.1',
		LocalPort => $c->{ctl_port},
		Proto => 'tcp',
		Listen => 16,
		ReuseAddr => 1) or die "proxy control: cannot listen on $c->{ctl_port}: $!";
	my @names = @{ $c->{all} };
	$c->{proxy_pid} = _fork_child('proxy', sub { _proxy_main($ctl, \%listen, \@names) });
	close($ctl);
	$_->{sock}->close for values %listen;
	note("proxy child $c->{proxy_pid} forwards "
		  . join(' ', map { "$_:$c->{proxy_port}{$_}" } sort keys %{ $c->{proxy_port} })
		  . "; control port $c->{ctl_port}");
	return;
}

sub _proxy_main
{
	my ($ctl, $listen, $names) = @_;
	$SIG{PIPE} = 'IGNORE';
	$SIG{TERM} = sub { POSIX::_exit(0) };
	my %cut;         # pair key => 1
	my %conns;       # id => conn
	my %owner;       # fileno => [conn, 'a'|'b']
	my %ctlc;        # fileno => { sock, buf }
	my $next_id = 0;
	my $LIMIT = 4 * 1024 * 1024;

	my $close = sub {
		my ($cn) = @_;
		for my $side ('a', 'b')
		{
			next unless $cn->{$side};
			delete $owner{ fileno($cn->{$side}) };
			close($cn->{$side});
			$cn->{$side} = undef;
		}
		delete $conns{ $cn->{id} };
	};
	my $connect_up = sub {
		my ($cn) = @_;
		my $b = IO::Socket::INET->new(
			PeerAddr => '127.0.0.1',
			PeerPort => $cn->{target},
			Proto => 'tcp',
			Timeout => 1);
		if (!$b)
		{
			$close->($cn);    # target down: the client sees the connection closed
			return;
		}
		$b->blocking(0);
		$cn->{b} = $b;
		$owner{ fileno($b) } = [ $cn, 'b' ];
	};
	my $command = sub {
		my ($line) = @_;
		my @w = split(' ', $line);
		my $cmd = shift(@w) // '';
		if ($cmd eq 'cut' && @w == 2) { $cut{ _pairkey(@w) } = 1; }
		elsif ($cmd eq 'heal' && @w == 2) { delete $cut{ _pairkey(@w) }; }
		elsif ($cmd eq 'isolate' && @w == 1)
		{
			$cut{ _pairkey($w[0], $_) } = 1 for grep { $_ ne $w[0] } @$names;
		}
		elsif ($cmd eq 'heal_all') { %cut = (); }
		elsif ($cmd eq 'status')
		{
			return 'ok cut=' . join(',', sort keys %cut) . ' conns=' . scalar(keys %conns);
		}
		else { return "err unknown command: $line"; }
		return 'ok';
	};

	while (1)
	{
		my $rs = IO::Select->new;
		my $ws = IO::Select->new;
		$rs->add($ctl);
		$rs->add($_->{sock}) for values %$listen;
		$rs->add($_->{sock}) for values %ctlc;
		for my $cn (values %conns)
		{
			next if $cut{ $cn->{pair} };
			if (!$cn->{b})
			{
				$connect_up->($cn);    # accepted during a cut, now healed
				next unless $cn->{b};
			}
			$rs->add($cn->{a}) if !$cn->{a_eof} && length($cn->{a2b}) < $LIMIT;
			$rs->add($cn->{b}) if !$cn->{b_eof} && length($cn->{b2a}) < $LIMIT;
			$ws->add($cn->{b}) if length $cn->{a2b};
			$ws->add($cn->{a}) if length $cn->{b2a};
		}
		my ($r, $w) = IO::Select->select($rs, $ws, undef, 0.05);
		$r //= [];
		$w //= [];

		for my $sock (@$r)
		{
			my $fn = fileno($sock);
			next unless defined $fn;
			if ($sock == $ctl)
			{
				my $cl = $ctl->accept or next;
				$cl->blocking(0);
				$ctlc{ fileno($cl) } = { sock => $cl, buf => '' };
			}
			elsif (my $l = $listen->{$fn})
			{
				while (my $a = $l->{sock}->accept)
				{
					$a->blocking(0);
					my $cn = {
						id => $next_id++,
						pair => _pairkey($l->{from}, $l->{to}),
						target => $l->{target},
						a => $a,
						b => undef,
						a2b => '',
						b2a => '',
					};
					$conns{ $cn->{id} } = $cn;
					$owner{ fileno($a) } = [ $cn, 'a' ];
					$connect_up->($cn) unless $cut{ $cn->{pair} };
				}
			}
			elsif (my $cc = $ctlc{$fn})
			{
				my $n = sysread($cc->{sock}, my $buf, 4096);
				if (!defined $n && ($! == EAGAIN || $! == EINTR)) { next; }
				if (!$n)
				{
					delete $ctlc{$fn};
					close($cc->{sock});
					next;
				}
				$cc->{buf} .= $buf;
				while ($cc->{buf} =~ s/^([^\n]*)\n//)
				{
					my $reply = $command->($1);
					$cc->{sock}->blocking(1);
					syswrite($cc->{sock}, "$reply\n");
					$cc->{sock}->blocking(0);
				}
			}
			elsif (my $o = $owner{$fn})
			{
				my ($cn, $side) = @$o;
				next if $cut{ $cn->{pair} };
				my $n = sysread($sock, my $buf, 65536);
				if (!defined $n && ($! == EAGAIN || $! == EWOULDBLOCK || $! == EINTR)) { next; }
				if (!$n)
				{
					$cn->{"${side}_eof"} = 1;
				}
				else
				{
					$cn->{ $side eq 'a' ? 'a2b' : 'b2a' } .= $buf;
				}
			}
		}
		for my $sock (@$w)
		{
			my $fn = fileno($sock);
			next unless defined $fn;
			my $o = $owner{$fn} or next;
			my ($cn, $side) = @$o;
			next if $cut{ $cn->{pair} };
			my $bufname = $side eq 'b' ? 'a2b' : 'b2a';
			next unless length $cn->{$bufname};
			my $n = syswrite($sock, $cn->{$bufname});
			if (!defined $n)
			{
				next if $! == EAGAIN || $! == EWOULDBLOCK || $! == EINTR;
				$close->($cn);
				next;
			}
			substr($cn->{$bufname}, 0, $n) = '';
		}
		# a side that ended: deliver what it sent, then close both
		for my $cn (values %conns)
		{
			next if $cut{ $cn->{pair} };
			if (($cn->{a_eof} && !length $cn->{a2b}) || ($cn->{b_eof} && !length $cn->{b2a}))
			{
				$close->($cn);
			}
		}
	}
}

=pod

=item iqfc_proxy_cmd(c, command)

Send one command to the proxy child; returns its answer ("ok...").  Dies on
"err".

=cut

sub iqfc_proxy_cmd
{
	my ($c, $cmd) = @_;
	my $s = IO::Socket::INET->new(
		PeerAddr => '127.0.0.1',
		PeerPort => $c->{ctl_port},
		Proto => 'tcp',
		Timeout => 5) or die "proxy control: $!";
	print $s "$cmd\n";
	$s->flush;
	my $reply = <$s>;
	close($s);
	die "proxy command '$cmd': no answer\n" unless defined $reply;
	chomp $reply;
	die "proxy command '$cmd': $reply\n" unless $reply =~ /^ok/;
	return $reply;
}

sub iqfc_cut      { my ($c, $a, $b) = @_; return iqfc_proxy_cmd($c, "cut $a $b"); }
sub iqfc_heal     { my ($c, $a, $b) = @_; return iqfc_proxy_cmd($c, "heal $a $b"); }
sub iqfc_isolate  { my ($c, $a) = @_; return iqfc_proxy_cmd($c, "isolate $a"); }
sub iqfc_heal_all { my ($c) = @_; return iqfc_proxy_cmd($c, 'heal_all'); }

sub iqfc_proxy_port
{
	my ($c, $from, $to) = @_;
	return $c->{proxy_port}{"$from>$to"};
}

=pod

=item iqfc_proxy_selftest(c, from, to)

Through the proxy of the pair from->to: a psql connection works; after "cut
from to", a connection attempt with connect_timeout=1 fails and a session
opened before the cut gets no answer; after "heal from to", a new connection
works and the session opened before the cut answers again.

=cut

sub iqfc_proxy_selftest
{
	my ($c, $from, $to) = @_;
	my $node = $c->{nodes}{$to};
	my $port = iqfc_proxy_port($c, $from, $to);
	my $cs = "host=127.0.0.1 port=$port dbname=postgres connect_timeout=1";
	my $name = "proxy $from->$to (port $port)";

	my ($ret, $out, $err) = $node->psql('postgres',
		"SELECT current_setting('cluster_name')", connstr => $cs, timeout => 10, timed_out => \my $to1);
	$ret //= -1;
	is("$ret|$out", "0|$to", "$name: psql through the proxy reaches $to");

	# a session opened before the cut: a BackgroundPsql-like IPC::Run pump
	my ($in, $sout, $serr) = ('', '', '');
	my $h = IPC::Run::start([ 'psql', '-X', '-At', '-d', $cs ],
		'<', \$in, '>', \$sout, '2>', \$serr);
	$in .= "SELECT 'before';\n";
	my $deadline = time + 10;
	$h->pump_nb while $sout !~ /before/ && time < $deadline && usleep(10_000) >= 0;
	like($sout, qr/before/, "$name: a session through the proxy answers");

	iqfc_cut($c, $from, $to);
	my $t0 = time;
	($ret, $out, $err) = $node->psql('postgres', 'SELECT 1', connstr => $cs, timeout => 10, timed_out => \my $to2);
	$ret //= -1;
	my $el = time - $t0;
	ok($ret != 0 && $el >= 0.9,
		"$name: after cut, a connection attempt with connect_timeout=1 fails by timeout")
	  or diag("ret $ret after $el s, stdout '$out', stderr '$err'");
	note(sprintf('%s: connection attempt during the cut failed after %.2f s: %s',
			$name, $el, $err =~ s/\s+/ /gr));

	$sout = '';
	$in .= "SELECT 'during';\n";
	$deadline = time + 1.5;
	$h->pump_nb while time < $deadline && usleep(20_000) >= 0;
	unlike($sout, qr/during/, "$name: after cut, the open session gets no answer");

	iqfc_heal($c, $from, $to);
	($ret, $out, $err) = $node->psql('postgres',
		"SELECT current_setting('cluster_name')", connstr => $cs, timeout => 10, timed_out => \my $to3);
	$ret //= -1;
	is("$ret|$out", "0|$to", "$name: after heal, a new connection works");
	$deadline = time + 10;
	$h->pump_nb while $sout !~ /during/ && time < $deadline && usleep(10_000) >= 0;
	like($sout, qr/during/, "$name: after heal, the open session answers the query sent during the cut");
	$in .= "\\q\n";
	eval { $h->finish; 1 } or $h->kill_kill;
	return;
}

# ------------------------------------------------------------------- probe

# PostgreSQL wire protocol, just enough for a trust-authenticated simple query.
sub _wire_startup
{
	my ($user) = @_;
	my $body = pack('N', 196608)
	  . join('', map { "$_\0" } 'user', $user, 'database', 'postgres',
		'application_name', 'iqf_probe')
	  . "\0";
	return pack('N', length($body) + 4) . $body;
}

sub _wire_query
{
	my ($sql) = @_;
	return 'Q' . pack('N', length($sql) + 5) . $sql . "\0";
}

sub _wire_msgs
{
	my ($bref) = @_;
	my @m;
	while (length($$bref) >= 5)
	{
		my ($t, $len) = unpack('a N', $$bref);
		last if length($$bref) < 1 + $len;
		push @m, [ $t, substr($$bref, 5, $len - 4) ];
		substr($$bref, 0, 1 + $len) = '';
	}
	return @m;
}

sub _wire_error
{
	my ($p) = @_;
	my %f;
	while ($p =~ /\G([^\0])([^\0]*)\0/gc) { $f{$1} = $2; }
	return ($f{C} // '') . ' ' . ($f{M} // '');
}

=pod

=item iqfc_probe_start(c[, interval_s, timeout_s])

Fork the probe (data nodes only; the witness is not a database of the
cluster).  Records go to a file in the test's temp dir.

=item iqfc_probe_stop(c)

Stop it and return the records: hashes node, t0 (sent), t1 (answered or
given up), ok (INSERT accepted), st (server clock at the INSERT), info.

=cut

sub iqfc_probe_start
{
	my ($c, $interval, $timeout) = @_;
	$interval //= 0.03;
	$timeout //= 2.0;
	my $file = PostgreSQL::Test::Utils::tempdir() . '/probe.log';
	my %port = map { $_ => $c->{nodes}{$_}->port } @{ $c->{data} };
	my $user = getpwuid($<);
	$c->{probe_file} = $file;
	$c->{probe_pid} = _fork_child('probe',
		sub { _probe_main($file, \%port, $user, $interval, $timeout) });
	return;
}

sub _probe_main
{
	my ($file, $port, $user, $interval, $timeout) = @_;
	my $stop = 0;
	$SIG{TERM} = sub { $stop = 1 };
	$SIG{PIPE} = 'IGNORE';
	open(my $out, '>', $file) or die "$file: $!";
	my %st = map { $_ => { state => 'down', next_try => 0, txs => 'I' } } keys %$port;
	my $record = sub {
		my ($n, $t0, $t1, $ok, $stime, $info) = @_;
		$info //= '';
		$info =~ s/[\t\n]+/ /g;
		syswrite($out, join("\t", $n, sprintf('%.6f', $t0), sprintf('%.6f', $t1),
				$ok ? 1 : 0, $stime // '', $info) . "\n");
	};
	my $drop = sub {
		my ($s, $now) = @_;
		close($s->{sock}) if $s->{sock};
		$s->{sock} = undef;
		$s->{state} = 'down';
		$s->{buf} = '';
		$s->{next_try} = $now + 0.1;
	};
	my $next_cycle = time;

	while (!$stop)
	{
		my $now = time;
		for my $n (sort keys %st)
		{
			my $s = $st{$n};
			if ($s->{state} eq 'down' && $now >= $s->{next_try})
			{
				my $sock = IO::Socket::INET->new(
					PeerAddr => '127.0.0.1',
					PeerPort => $port->{$n},
					Proto => 'tcp',
					Timeout => 0.5);
				if (!$sock)
				{
					$record->($n, $now, time, 0, undef, "connect: $!");
					$s->{next_try} = time + 0.1;
					next;
				}
				$sock->blocking(0);
				syswrite($sock, _wire_startup($user));
				%$s = (%$s, sock => $sock, state => 'startup', buf => '',
					t0 => $now, deadline => $now + 1.0);
			}
			elsif ($s->{state} ne 'down' && $s->{state} ne 'idle' && $now > $s->{deadline})
			{
				$record->($n, $s->{t0}, $now, 0, undef,
					$s->{state} eq 'busy' ? 'timeout: no answer' : 'startup timeout');
				$drop->($s, $now);
			}
		}
		if ($now >= $next_cycle)
		{
			for my $n (sort keys %st)
			{
				my $s = $st{$n};
				next unless $s->{state} eq 'idle';
				my $sql = ($s->{txs} ne 'I' ? 'ROLLBACK; ' : '')
				  . "BEGIN; INSERT INTO iqf_probe VALUES ('$n', clock_timestamp()) "
				  . 'RETURNING extract(epoch FROM clock_timestamp()); ROLLBACK';
				my $t = time;
				if (!defined syswrite($s->{sock}, _wire_query($sql)))
				{
					$record->($n, $t, time, 0, undef, "send: $!");
					$drop->($s, $t);
					next;
				}
				%$s = (%$s, state => 'busy', t0 => $t, deadline => $t + $timeout,
					ok => 0, stime => undef, err => '');
			}
			$next_cycle += $interval;
			$next_cycle = $now + $interval if $next_cycle < $now;
		}

		my $rs = IO::Select->new;
		$rs->add($_->{sock}) for grep { $_->{sock} } values %st;
		my $wait = $next_cycle - time;
		$wait = 0.001 if $wait < 0.001;
		$wait = 0.02 if $wait > 0.02;
		my @ready = $rs->count ? $rs->can_read($wait) : do { usleep($wait * 1e6); () };
		for my $sock (@ready)
		{
			my ($n) = grep { $st{$_}{sock} && $st{$_}{sock} == $sock } keys %st;
			next unless defined $n;
			my $s = $st{$n};
			my $r = sysread($sock, my $buf, 65536);
			my $t = time;
			if (!defined $r && ($! == EAGAIN || $! == EWOULDBLOCK || $! == EINTR)) { next; }
			if (!$r)
			{
				$record->($n, $s->{t0}, $t, 0, undef,
					($s->{state} eq 'busy' ? 'connection lost' : 'connection closed')
					  . ($s->{err} ? ": $s->{err}" : ''));
				$drop->($s, $t);
				next;
			}
			$s->{buf} .= $buf;
			for my $m (_wire_msgs(\$s->{buf}))
			{
				my ($type, $p) = @$m;
				if ($type eq 'E')
				{
					$s->{err} ||= _wire_error($p);
				}
				elsif ($type eq 'R' && unpack('N', $p) != 0)
				{
					$s->{err} = 'authentication requested: ' . unpack('N', $p);
				}
				elsif ($type eq 'C' && $s->{state} eq 'busy' && $p =~ /^INSERT /)
				{
					$s->{ok} = 1;
				}
				elsif ($type eq 'D' && $s->{state} eq 'busy')
				{
					my ($ncol, $len) = unpack('n N', $p);
					$s->{stime} = substr($p, 6, $len) if $ncol >= 1 && $len != 0xFFFFFFFF;
				}
				elsif ($type eq 'Z')
				{
					$s->{txs} = $p;
					if ($s->{state} eq 'busy')
					{
						$record->($n, $s->{t0}, $t, $s->{ok}, $s->{stime}, $s->{err});
					}
					$s->{state} = 'idle';
					$s->{err} = '';
				}
			}
			if ($s->{state} eq 'startup' && $s->{err})
			{
				$record->($n, $s->{t0}, $t, 0, undef, "startup: $s->{err}");
				$drop->($s, $t);
			}
		}
	}
	close($out);
	return;
}

sub iqfc_probe_stop
{
	my ($c) = @_;
	return $c->{probe_records} unless $c->{probe_pid};
	kill('TERM', $c->{probe_pid});
	_reap($c->{probe_pid}, 10);
	delete $c->{probe_pid};
	my @rec;
	open(my $fh, '<', $c->{probe_file}) or die "$c->{probe_file}: $!";
	while (my $line = <$fh>)
	{
		chomp $line;
		my ($n, $t0, $t1, $ok, $st, $info) = split(/\t/, $line, 6);
		next unless defined $ok;
		push @rec, { node => $n, t0 => $t0, t1 => $t1, ok => $ok, st => $st, info => $info // '' };
	}
	close($fh);
	$c->{probe_records} = \@rec;
	return \@rec;
}

=pod

=item iqfc_check_probe(c, records)

Asserts the first invariant on the probe records: (a) no two accepted probes
of different nodes have overlapping [sent, answered] windows; (b) acceptance
moves one way: in time order, the accepted probes form at most one run per
node (a node that accepted writes never accepts again once another node has).
Also asserts that the probe did run (accepted probes exist).  Notes per node
counts.

=cut

sub iqfc_check_probe
{
	my ($c, $rec) = @_;
	my @acc = sort { $a->{t0} <=> $b->{t0} } grep { $_->{ok} } @$rec;
	my %count;
	$count{ $_->{node} }{ $_->{ok} ? 'accepted' : 'refused' }++ for @$rec;
	note('probe: ' . join('; ',
			map { "$_: " . ($count{$_}{accepted} // 0) . ' accepted, ' . ($count{$_}{refused} // 0) . ' not' }
			  sort keys %count));
	ok(scalar(@acc) > 0, 'probe: some probes were accepted (the probe ran)');

	my @overlaps;
	for my $i (0 .. $#acc)
	{
		for (my $j = $i + 1; $j <= $#acc && $acc[$j]{t0} <= $acc[$i]{t1}; $j++)
		{
			push @overlaps, [ $acc[$i], $acc[$j] ] if $acc[$j]{node} ne $acc[$i]{node};
		}
	}
	ok(!@overlaps, 'invariant: at no moment do two nodes accept writes (no overlapping accepted probes)')
	  or diag(join("\n", map {
			sprintf('%s accepted in [%.3f, %.3f] (server %s) and %s in [%.3f, %.3f] (server %s)',
				$_->[0]{node}, $_->[0]{t0}, $_->[0]{t1}, $_->[0]{st},
				$_->[1]{node}, $_->[1]{t0}, $_->[1]{t1}, $_->[1]{st})
		} @overlaps[ 0 .. ($#overlaps < 9 ? $#overlaps : 9) ]));

	my @runs;
	for my $r (@acc)
	{
		if (@runs && $runs[-1]{node} eq $r->{node}) { $runs[-1]{last} = $r; $runs[-1]{n}++; }
		else { push @runs, { node => $r->{node}, first => $r, last => $r, n => 1 }; }
	}
	my %seen;
	my @back;
	for my $run (@runs)
	{
		push @back, $run if $seen{ $run->{node} }++;
	}
	note('probe: acceptance runs: ' . join(' -> ',
			map { sprintf('%s x%d [%.3f..%.3f]', $_->{node}, $_->{n}, $_->{first}{t0}, $_->{last}{t1}) } @runs));
	ok(!@back, 'invariant: acceptance of writes moves one way (no node accepts again after another did)')
	  or diag('runs: ' . join(' -> ',
			map { sprintf('%s x%d [%.3f..%.3f]', $_->{node}, $_->{n}, $_->{first}{t0}, $_->{last}{t1}) } @runs));
	return;
}

=pod

=item iqfc_probe_max_gap(records, node, from, to)

The longest time, within [from, to], between consecutive accepted probes of
node (from/to themselves count as bounds only when an accepted probe lies
before/after them).  Returns (gap_s, at).

=cut

sub iqfc_probe_max_gap
{
	my ($rec, $node, $from, $to) = @_;
	my @t = sort { $a <=> $b } map { $_->{t0} } grep { $_->{ok} && $_->{node} eq $node } @$rec;
	my ($gap, $at) = (0, undef);
	my $prev = $from;
	for my $t (grep { $_ >= $from && $_ <= $to } @t, $to)
	{
		if ($t - $prev > $gap) { $gap = $t - $prev; $at = $prev; }
		$prev = $t;
	}
	return ($gap, $at);
}

# ------------------------------------------------------------------ writer

=pod

=item iqfc_writer_start(c[, pause_s])

Fork the writer: ids 1, 2, ... one INSERT (autocommit transaction) each,
pause_s apart, through the multi-host connection string to every data node;
an id not acknowledged within 6 s, or whose psql exited, counts as failed
and psql is started again (hosts rotated).

=item iqfc_writer_stop(c)

Stop it (the INSERT in flight is allowed to finish, up to its 6 s timeout);
returns { acked => { id => port }, attempts, failures, last_error }.

=cut

sub iqfc_writer_start
{
	my ($c, $pause) = @_;
	$pause //= 0.02;
	my $dir = PostgreSQL::Test::Utils::tempdir();
	$c->{writer_file} = "$dir/writer.log";
	$c->{writer_stop} = "$dir/writer.stop";
	my @ports = map { $c->{nodes}{$_}->port } @{ $c->{data} };
	my ($file, $stopf) = ($c->{writer_file}, $c->{writer_stop});
	$c->{writer_pid} = _fork_child('writer', sub { _writer_main($file, $stopf, \@ports, $pause) });
	return;
}

sub _writer_main
{
	my ($file, $stopf, $ports, $pause) = @_;
	my @ports = @$ports;
	open(my $out, '>', $file) or die "$file: $!";
	my $id = 0;
	my ($h, $in, $so, $se);
	my $t_conn;
	my $fail = sub {
		my ($id, $t0, $why) = @_;
		my $e = ($se // '') =~ s/\s+/ /gr;
		syswrite($out, "fail\t$id\t$why\t$t0\t" . time . "\t$e\n");
		if ($h) { eval { $h->kill_kill; 1 }; $h = undef; }
		push @ports, shift @ports;    # a fenced node would be picked first again
		usleep(50_000);
	};
	while (!-e $stopf)
	{
		if (!$h)
		{
			my $cs = 'host=' . join(',', ('127.0.0.1') x @ports)
			  . ' port=' . join(',', @ports)
			  . ' dbname=postgres target_session_attrs=read-write connect_timeout=2'
			  . ' application_name=iqf_writer';
			($in, $so, $se) = ('', '', '');
			$h = IPC::Run::start(
				[ 'psql', '-X', '-q', '-At', '-v', 'ON_ERROR_STOP=1', '-d', $cs ],
				'<', \$in, '>', \$so, '2>', \$se);
		}
		$id++;
		my $t0 = time;
		$in .= "INSERT INTO iqf_w (id) VALUES ($id) RETURNING 'ack:' || id || ':' || inet_server_port();\n";
		my $port;
		while (1)
		{
			$h->pump_nb if $h->pumpable;
			if ($so =~ /^ack:$id:(\d+)$/m) { $port = $1; last; }
			last if !$h->pumpable || time - $t0 > 6;
			usleep(1000);
		}
		if (defined $port)
		{
			syswrite($out, "ack\t$id\t$port\t$t0\t" . time . "\n");
			$so = '';
			usleep($pause * 1e6);
		}
		else
		{
			$fail->($id, $t0, $h->pumpable ? 'timeout' : 'psql exited');
		}
	}
	if ($h)
	{
		$in .= "\\q\n";
		eval { $h->finish; 1 } or eval { $h->kill_kill; 1 };
	}
	close($out);
	return;
}

sub iqfc_writer_stop
{
	my ($c) = @_;
	return $c->{writer_result} unless $c->{writer_pid};
	open(my $fh, '>', $c->{writer_stop}) or die;
	close($fh);
	_reap($c->{writer_pid}, 15);
	delete $c->{writer_pid};
	my %acked;
	my ($attempts, $failures, $last_err) = (0, 0, '');
	my %by_port;
	my @lat;
	open($fh, '<', $c->{writer_file}) or die "$c->{writer_file}: $!";
	while (my $line = <$fh>)
	{
		chomp $line;
		my @f = split(/\t/, $line);
		$attempts++;
		if ($f[0] eq 'ack') { $acked{ $f[1] } = $f[2]; $by_port{ $f[2] }++; push @lat, $f[4] - $f[3]; }
		else { $failures++; $last_err = $f[5] // $f[2]; }
	}
	close($fh);
	my %port_name = map { $c->{nodes}{$_}->port => $_ } @{ $c->{data} };
	@lat = sort { $a <=> $b } @lat;
	note(sprintf('writer: %d attempts, %d acknowledged (%s; median %s s per commit), %d failed%s',
			$attempts, scalar(keys %acked),
			join(', ', map { ($port_name{$_} // $_) . ": $by_port{$_}" } sort keys %by_port),
			@lat ? iqfc_fmt($lat[ $#lat / 2 ]) : '-', $failures, $failures ? "; last error: $last_err" : ''));
	$c->{writer_result} = { acked => \%acked, attempts => $attempts, failures => $failures,
		by_node => { map { ($port_name{$_} // $_) => $by_port{$_} } keys %by_port } };
	return $c->{writer_result};
}

=pod

=item iqfc_check_acked(c, node)

Asserts the second invariant: every id the writer saw acknowledged is in
iqf_w on node (the primary at the end).

=cut

sub iqfc_check_acked
{
	my ($c, $node) = @_;
	my $res = iqfc_writer_stop($c);
	my @acked = sort { $a <=> $b } keys %{ $res->{acked} };
	ok(@acked > 0, 'writer: some commits were acknowledged (the writer ran)');
	my %present = map { $_ => 1 } split(/\n/, iqfc_q($node, 'SELECT id FROM iqf_w'));
	my @lost = grep { !$present{$_} } @acked;
	my %port_name = map { $c->{nodes}{$_}->port => $_ } @{ $c->{data} };
	ok(!@lost, 'invariant: no acknowledged commit is lost: all ' . scalar(@acked)
		  . ' acknowledged ids are on ' . $node->name)
	  or diag(scalar(@lost) . ' acknowledged ids missing on ' . $node->name . ': '
		  . join(', ', map { "$_ (acked by " . ($port_name{ $res->{acked}{$_} } // '?') . ')' }
			  @lost[ 0 .. ($#lost < 19 ? $#lost : 19) ]));
	return $res;
}

=pod

=item iqfc_failover_timings(node)

node's failover view as "decide N ms, promote N ms, first write N ms" (the
last "-" while no write followed the promotion), for a note.

=cut

sub iqfc_failover_timings
{
	my ($node) = @_;
	return iqfc_q($node,
		q{SELECT 'decide ' || round(decide_ms::numeric) || ' ms, promote ' || round(promote_ms::numeric)
		    || ' ms, first write ' || coalesce(round(first_write_ms::numeric)::text, '-') || ' ms'
		    FROM innoquim_failover.failover});
}

=pod

=item iqfc_stays_fenced(node, seconds)

iqfc_during over `seconds`: node's role view must say fenced and not
accepting writes at every check.  Returns (checks, first failure or undef).

=cut

sub iqfc_stays_fenced
{
	my ($node, $secs) = @_;
	return iqfc_during($secs, sub {
			my $r = iqfc_q($node, 'SELECT role, accepting_writes FROM innoquim_failover.role');
			return $r eq 'fenced|f' ? undef : $node->name . ": $r";
		});
}

=pod

=item iqfc_last_accept(rec, node), iqfc_first_accept(rec, node)

From the probe's records (iqfc_check_invariants): when the last write
accepted by node completed (t1), and when the first one accepted by node
was sent (t0); undef when node accepted none.

=item iqfc_replication_error(node)

Tries a replication connection to node (IDENTIFY_SYSTEM) and returns
(psql exit code, stderr).

=cut

sub iqfc_last_accept
{
	my ($rec, $node) = @_;
	my ($t) = sort { $b <=> $a } map { $_->{t1} } grep { $_->{ok} && $_->{node} eq $node } @$rec;
	return $t;
}

sub iqfc_first_accept
{
	my ($rec, $node) = @_;
	my ($t) = sort { $a <=> $b } map { $_->{t0} } grep { $_->{ok} && $_->{node} eq $node } @$rec;
	return $t;
}

sub iqfc_replication_error
{
	my ($node) = @_;
	my ($ret, $out, $err) = $node->psql('postgres', 'IDENTIFY_SYSTEM',
		extra_params =>
		  [ '-d', 'replication=true dbname=postgres port=' . $node->port . ' host=' . $node->host ]);
	return ($ret, $err);
}

=pod

=item iqfc_check_invariants(c, final_primary)

Stops the probe and the writer and asserts both invariants.

=cut

sub iqfc_check_invariants
{
	my ($c, $final) = @_;
	my $rec = iqfc_probe_stop($c);
	iqfc_check_probe($c, $rec);
	iqfc_check_acked($c, $final);
	return $rec;
}

1;
