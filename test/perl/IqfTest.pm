
# Copyright (c) 2026, innoquim_failover developers

=pod

=head1 NAME

IqfTest - shared helpers for the innoquim_failover TAP tests (test/t/*.pl)

=head1 SYNOPSIS

  use IqfTest;

  my $primary  = iqf_primary('primary', 'innoquim_failover.min_standbys = 0');
  my $standby  = iqf_standby('standby1', $primary, 'base');
  my $elapsed  = iqf_poll($standby, 'SELECT status FROM innoquim_failover.health',
                          'healthy', 30);
  ok(defined $elapsed, 'standby1 becomes healthy');

=head1 DESCRIPTION

Nodes are PostgreSQL::Test::Cluster nodes (ports chosen by Cluster.pm, never
5432/5433), each with the library preloaded and a 100 ms monitor interval set
through append_conf.  Cluster.pm stops every node at END.

Polling is bounded by an explicit timeout in seconds (not the 180 s default
of poll_query_until), and returns the elapsed time so that tests can note()
how long a transition took.

=cut

package IqfTest;

use strict;
use warnings;

use Exporter 'import';
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time usleep);

our @EXPORT = qw(
  iqf_base_conf
  iqf_primary
  iqf_standby
  iqf_poll
  iqf_poll_row
  iqf_query
  iqf_wait_monitor
  iqf_event_seqs
  iqf_kill9
  iqf_wait_orphans
);

# Settings every node gets, appended to postgresql.conf.
sub iqf_base_conf
{
	return join("\n",
		"shared_preload_libraries = 'innoquim_failover'",
		"innoquim_failover.monitor_interval = 100ms",
		"");
}

=pod

=item iqf_primary(name, extra_conf)

A streaming-capable primary with the library preloaded, started.  The
extension is NOT created here: tests create it (once, on the primary) when
the scenario needs it, so that it reaches standbys by replication.

=cut

sub iqf_primary
{
	my ($name, $extra_conf) = @_;
	my $node = PostgreSQL::Test::Cluster->new($name);
	$node->init(allows_streaming => 1);
	$node->append_conf('postgresql.conf',
		iqf_base_conf() . ($extra_conf // ''));
	$node->start;
	return $node;
}

=pod

=item iqf_standby(name, primary, backup_name, extra_conf)

A streaming standby created from an existing backup of primary (the caller
takes the backup), with the library preloaded, started.  cluster_name is the
node name (Cluster.pm passes --cluster-name), so the walreceiver's
application_name and innoquim_failover's node name are both the node name.

=cut

sub iqf_standby
{
	my ($name, $primary, $backup_name, $extra_conf) = @_;
	my $node = PostgreSQL::Test::Cluster->new($name);
	$node->init_from_backup($primary, $backup_name, has_streaming => 1);
	$node->append_conf('postgresql.conf',
		iqf_base_conf() . ($extra_conf // ''));
	$node->start;
	return $node;
}

=pod

=item iqf_query(node, sql)

safe_psql on database postgres.

=cut

sub iqf_query
{
	my ($node, $sql) = @_;
	return $node->safe_psql('postgres', $sql);
}

=pod

=item iqf_poll(node, sql, expected, timeout_s)

Run sql every 100 ms until its output equals expected (with nothing on
stderr) or timeout_s seconds have passed.  Returns the elapsed seconds on
success, undef on timeout (after a diag of the last output).

=cut

sub iqf_poll
{
	my ($node, $sql, $expected, $timeout) = @_;
	my $start = time;
	my ($out, $err) = ('', '');

	while (1)
	{
		my $ret;
		($ret, $out, $err) = $node->psql('postgres', $sql);
		$out //= '';
		$err //= '';
		return time - $start if $ret == 0 && $out eq $expected && $err eq '';
		last if time - $start > $timeout;
		usleep(100_000);
	}
	diag(sprintf(
			"iqf_poll on %s timed out after %ds\nquery: %s\nexpected: %s\nlast output: %s\nlast stderr: %s",
			$node->name, $timeout, $sql, $expected, $out, $err));
	return undef;
}

=pod

=item iqf_poll_row(node, sql, timeout_s)

Run sql every 100 ms until it returns a non-empty output (a query that
returns no row until the awaited state is reached).  Returns (elapsed,
output) on success, () on timeout.

=cut

sub iqf_poll_row
{
	my ($node, $sql, $timeout) = @_;
	my $start = time;
	my ($out, $err) = ('', '');

	while (1)
	{
		my $ret;
		($ret, $out, $err) = $node->psql('postgres', $sql);
		$out //= '';
		$err //= '';
		return (time - $start, $out) if $ret == 0 && $out ne '' && $err eq '';
		last if time - $start > $timeout;
		usleep(100_000);
	}
	diag(sprintf(
			"iqf_poll_row on %s timed out after %ds\nquery: %s\nlast output: %s\nlast stderr: %s",
			$node->name, $timeout, $sql, $out, $err));
	return ();
}

=pod

=item iqf_wait_monitor(node, timeout_s)

Wait until the node's monitor runs and has published a snapshot.  Requires
the extension to exist on the node.  Returns elapsed seconds or undef.

=cut

sub iqf_wait_monitor
{
	my ($node, $timeout) = @_;
	return iqf_poll($node,
		q{SELECT monitor_pid IS NOT NULL AND checked_at IS NOT NULL
		  FROM innoquim_failover.health},
		't', $timeout // 60);
}

=pod

=item iqf_event_seqs(node, kind)

The seq numbers of the retained events of that kind, oldest first.

=cut

sub iqf_event_seqs
{
	my ($node, $kind) = @_;
	my $out = $node->safe_psql('postgres',
		"SELECT seq FROM innoquim_failover.events WHERE kind = '$kind' ORDER BY seq");
	return map { $_ + 0 } grep { $_ ne '' } split(/\n/, $out);
}

=pod

=item iqf_kill9(node)

Kill the node's postmaster with SIGKILL (Cluster.pm's kill9) and return the
time (Time::HiRes::time) just before the kill.  The postmaster's children
(backends, walsenders, the monitor...) exit on their own when they notice
the postmaster is gone; their PIDs are remembered so that iqf_wait_orphans
can wait for them before the node is started again.  Only the postmaster is
signalled.

=cut

sub iqf_kill9
{
	my ($node) = @_;
	my $pm = $node->{_pid};
	die 'iqf_kill9: node ' . $node->name . " is not running\n" unless $pm;

	# children of the postmaster, from /proc/<pid>/stat (field 4 is the ppid)
	my @children;
	opendir(my $dh, '/proc') or die "cannot read /proc: $!";
	for my $pid (grep { /^\d+$/ } readdir($dh))
	{
		open(my $fh, '<', "/proc/$pid/stat") or next;
		my $stat = <$fh>;
		close($fh);
		next unless defined $stat && $stat =~ /\)\s+\S+\s+(\d+)/;
		push @children, $pid if $1 == $pm;
	}
	closedir($dh);

	my $t_kill = time;
	$node->kill9;
	$node->{_iqf_orphans} = [ $pm, @children ];
	return $t_kill;
}

=pod

=item iqf_wait_orphans(node, timeout_s)

After iqf_kill9, wait up to timeout_s seconds for the killed postmaster's
children to be gone, so that the node can start again on the same shared
memory.  Returns the seconds waited; BAIL_OUTs on timeout.

=cut

sub iqf_wait_orphans
{
	my ($node, $timeout) = @_;
	my @left  = @{ $node->{_iqf_orphans} // [] };
	my $start = time;

	while (@left && time - $start < ($timeout // 30))
	{
		usleep(50_000);
		@left = grep { kill(0, $_) } @left;
	}
	BAIL_OUT('processes of the killed postmaster of ' . $node->name
		  . ' still running: ' . join(' ', @left))
	  if @left;
	delete $node->{_iqf_orphans};
	return time - $start;
}

1;
