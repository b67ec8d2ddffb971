#!/usr/bin/env bash
# scripts/demo.sh - a two-node innoquim_failover demo in one command.
#
#   sudo bash scripts/demo.sh        (or, as root, bash scripts/demo.sh)
#
#   1. installs missing Debian packages (scripts/deps.sh)
#   2. builds and installs the extension (make, make install)
#   3. in a scratch dir (mktemp) creates a primary "db" on port 5432 and a
#      streaming replica "db-replica" on port 5433 (pg_basebackup -R), both with
#      shared_preload_libraries = 'innoquim_failover', listening on 127.0.0.1
#      and on a Unix socket in the scratch dir; CREATE EXTENSION on the primary
#   4. shows health, replication and health_json() on both nodes
#   5. kills the primary with kill -9 and shows the replica noticing at once
#      (degraded: upstream_lost), then after upstream_timeout (3 s here)
#      unhealthy: primary_unavailable, with its events
#   6. promotes the replica by hand with pg_promote() (automatic failover is
#      not implemented yet) and shows its role turn primary
#   7. stops the servers (by PID) and removes the scratch dir, unless DEMO_KEEP=1
#
# PostgreSQL refuses to run as root: started as root, the servers run as the
# user "postgres" (or "iqf", created if missing); started as another user, they
# run as that user and sudo is used only to install packages and the extension.
# Processes are only ever signalled by PID, never by name.
#
# Environment:
#   PG_CONFIG           default /usr/lib/postgresql/15/bin/pg_config
#   DEMO_KEEP=1         leave the promoted replica running and the scratch dir in
#                       place; prints how to stop and clean up
#   DEMO_USER           server user when started as root (default postgres, else iqf)
#   DEMO_PRIMARY_PORT   default 5432
#   DEMO_REPLICA_PORT   default 5433
set -euo pipefail

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
PGBIN=$(dirname "$PG_CONFIG")
DEMO_KEEP=${DEMO_KEEP:-0}
PRIMARY_PORT=${DEMO_PRIMARY_PORT:-5432}
REPLICA_PORT=${DEMO_REPLICA_PORT:-5433}
UPSTREAM_TIMEOUT=3s

# shellcheck source=scripts/deps.sh
source "$REPO_ROOT/scripts/deps.sh"

AS_ROOT=0
[[ $(id -u) -eq 0 ]] && AS_ROOT=1
RUN_USER=$(id -un)   # who runs the servers and psql
SCRATCH=""           # mktemp dir: data dirs, logs, sockets
KILLED_PIDS=()       # children of the killed primary, to make sure they are gone

# ---------------------------------------------------------------- output

if [[ -t 1 ]]; then BOLD=$'\e[1m' DIM=$'\e[2m' OFF=$'\e[0m'; else BOLD="" DIM="" OFF=""; fi
say() { printf '\n%s### %s%s\n' "$BOLD" "$*" "$OFF"; }
note() { printf '%s    %s%s\n' "$DIM" "$*" "$OFF"; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# ---------------------------------------------------------------- helpers

# Run a command as the server user, in the current directory.
as_user() {
	if ((AS_ROOT)); then
		runuser -u "$RUN_USER" -- env HOME="$SCRATCH" USER="$RUN_USER" LOGNAME="$RUN_USER" "$@"
	else
		"$@"
	fi
}

# psql against one node: q PORT [psql options...] -c SQL
q() {
	local port=$1
	shift
	as_user "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -P pager=off \
		-h "$SCRATCH" -p "$port" -U "$RUN_USER" -d postgres "$@"
}

# One value, unaligned, no headers.
q1() {
	local port=$1
	shift
	q "$port" -At -c "$*"
}

# Show a statement, then its result: show PORT NODE [-x] SQL
show() {
	local port=$1 node=$2 opts=()
	shift 2
	if [[ $1 == -x ]]; then opts+=(-x); shift; fi
	printf '%s%s=# %s%s\n' "$BOLD" "$node" "$*" "$OFF"
	q "$port" "${opts[@]}" -c "$*"
}

# Wait until SQL on PORT returns "t"; $1 seconds at most.  Returns 1 on timeout.
wait_for() {
	local secs=$1 port=$2 sql=$3 deadline
	deadline=$(($(date +%s) + secs))
	while (($(date +%s) < deadline)); do
		[[ $(q1 "$port" "$sql" 2>/dev/null || true) == t ]] && return 0
		sleep 0.1
	done
	return 1
}

now_s() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

# True when something listens on TCP port $1.
port_in_use() {
	local port=$1
	if command -v ss >/dev/null 2>&1; then
		[[ -n $(ss -Hltn "sport = :$port" 2>/dev/null) ]] && return 0
	fi
	timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$port" 2>/dev/null
}

check_ports() {
	local port busy=()
	for port in "$PRIMARY_PORT" "$REPLICA_PORT"; do
		port_in_use "$port" && busy+=("$port")
	done
	((${#busy[@]} == 0)) && return 0
	{
		echo "error: TCP port(s) ${busy[*]} already in use; the demo needs $PRIMARY_PORT (primary) and $REPLICA_PORT (replica)."
		command -v ss >/dev/null 2>&1 && for port in "${busy[@]}"; do ss -Hltnp "sport = :$port" 2>/dev/null; done
		echo "If it is a Debian PostgreSQL cluster, list clusters with:  pg_lsclusters"
		echo "and stop the one on that port, e.g.:                       sudo pg_ctlcluster 15 main stop"
		echo "Or run the demo on other ports:  DEMO_PRIMARY_PORT=6432 DEMO_REPLICA_PORT=6433 bash scripts/demo.sh"
	} >&2
	exit 1
}

# The PID in a data dir's postmaster.pid, if that process is a live postgres.
live_postmaster() {
	local pidfile=$1/postmaster.pid pid
	[[ -f $pidfile ]] || return 1
	pid=$(head -n 1 "$pidfile" 2>/dev/null || true)
	[[ $pid =~ ^[0-9]+$ ]] && is_postgres "$pid" && echo "$pid"
}

# True when PID $1 is alive and is a postgres process (guards against PID reuse).
is_postgres() {
	kill -0 "$1" 2>/dev/null && [[ $(cat "/proc/$1/comm" 2>/dev/null || true) == postgres ]]
}

# Direct children of PID $1, without being fooled by spaces in process names.
child_pids() {
	local parent=$1 stat line fields pid ppid
	for stat in /proc/[0-9]*/stat; do
		line=$(cat "$stat" 2>/dev/null) || continue
		pid=${line%% *}
		fields=${line##*) }          # "state ppid ..."
		read -r _ ppid _ <<<"$fields" || continue
		[[ $ppid == "$parent" ]] && echo "$pid"
	done
	return 0
}

# Wait up to $2 seconds for PID $1 to exit.
wait_gone() {
	local pid=$1 i
	for ((i = 0; i < $2 * 10; i++)); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.1
	done
	! kill -0 "$pid" 2>/dev/null
}

# Stop a postgres by PID: TERM (smart shutdown), then QUIT (immediate), then KILL.
stop_pid() {
	local pid=$1
	is_postgres "$pid" || return 0
	kill -TERM "$pid" 2>/dev/null || true
	wait_gone "$pid" 15 && return 0
	echo "note: postgres $pid still running after SIGTERM; sending SIGQUIT" >&2
	kill -QUIT "$pid" 2>/dev/null || true
	wait_gone "$pid" 5 && return 0
	echo "note: postgres $pid still running after SIGQUIT; sending SIGKILL" >&2
	kill -KILL "$pid" 2>/dev/null || true
	wait_gone "$pid" 5 || echo "warning: postgres $pid is still running" >&2
}

# Remove the System V shared memory segment a killed postmaster left behind
# (line 7 of postmaster.pid: key and id), once nothing is attached to it.
remove_stale_shmem() {
	local pidfile=$1/postmaster.pid shmid nattch
	[[ -f $pidfile ]] || return 0
	shmid=$(sed -n 7p "$pidfile" | awk '{ print $2 }')
	[[ $shmid =~ ^[0-9]+$ ]] || return 0
	nattch=$(ipcs -m 2>/dev/null | awk -v id="$shmid" '$2 == id { print $6 }')
	if [[ $nattch == 0 ]]; then ipcrm -m "$shmid" 2>/dev/null || true; fi
}

# EXIT trap: stop our servers by PID and remove the scratch dir (unless DEMO_KEEP=1).
cleanup() {
	local rc=$? dir pid
	trap - EXIT INT TERM
	set +e
	cd /
	[[ -n $SCRATCH && -d $SCRATCH ]] || exit "$rc"
	if [[ $DEMO_KEEP == 1 && $rc == 0 ]]; then
		print_keep_help
		exit "$rc"
	fi
	for dir in "$SCRATCH/replica" "$SCRATCH/primary"; do
		pid=$(live_postmaster "$dir") && { note "stopping postgres $pid ($dir)"; stop_pid "$pid"; }
		remove_stale_shmem "$dir"
	done
	for pid in "${KILLED_PIDS[@]}"; do
		is_postgres "$pid" && { kill -KILL "$pid" 2>/dev/null; wait_gone "$pid" 5; }
	done
	if [[ $DEMO_KEEP == 1 ]]; then
		note "DEMO_KEEP=1 but the demo failed: servers stopped; scratch dir kept in $SCRATCH"
	else
		rm -rf -- "$SCRATCH"
		note "stopped the servers and removed $SCRATCH"
	fi
	exit "$rc"
}

print_keep_help() {
	local pre="" pid
	((AS_ROOT)) && pre="runuser -u $RUN_USER -- "
	pid=$(live_postmaster "$SCRATCH/replica" || echo '?')
	say "DEMO_KEEP=1: left running"
	echo "Scratch dir: $SCRATCH (logs: primary.log, replica.log)"
	echo "The promoted replica \"db-replica\" runs on port $REPLICA_PORT (postmaster PID $pid); the old primary is down."
	echo "Connect:      ${pre}$PGBIN/psql -h $SCRATCH -p $REPLICA_PORT -U $RUN_USER postgres"
	echo "Stop it:      kill -TERM \$(head -n 1 $SCRATCH/replica/postmaster.pid)"
	echo "Clean up:     rm -rf $SCRATCH"
}

# Pick the unprivileged server user when started as root (create iqf if needed).
setup_user() {
	((AS_ROOT)) || return 0
	if [[ -n ${DEMO_USER:-} ]]; then
		RUN_USER=$DEMO_USER
	elif getent passwd postgres >/dev/null; then
		RUN_USER=postgres
	else
		RUN_USER=iqf
	fi
	[[ $RUN_USER != root ]] || die "DEMO_USER must not be root (PostgreSQL refuses to run as root)"
	if ! getent passwd "$RUN_USER" >/dev/null; then
		iqf_log "creating system user $RUN_USER"
		useradd --system --create-home --shell /bin/bash "$RUN_USER"
	fi
}

# Build in place (or in a copy if the tree is not writable), install as root.
build_and_install() {
	local src=$REPO_ROOT log
	log=$(mktemp /tmp/iqf-demo-build.XXXXXX)
	if [[ ! -w $REPO_ROOT ]]; then
		src=$(mktemp -d /tmp/iqf-demo-src.XXXXXX)
		tar -C "$REPO_ROOT" --exclude=./.git -cf - . | tar -C "$src" -xf -
	fi
	iqf_log "build: make PG_CONFIG=$PG_CONFIG (in $src)"
	if ! make -C "$src" -j "$(nproc)" PG_CONFIG="$PG_CONFIG" >"$log" 2>&1; then
		cat "$log" >&2
		die "build failed"
	fi
	local pkglibdir sharedir f same=1
	pkglibdir=$("$PG_CONFIG" --pkglibdir)
	sharedir=$("$PG_CONFIG" --sharedir)
	# Not root: skip make install (and sudo) when the installed files are the built ones.
	cmp -s "$src/innoquim_failover.so" "$pkglibdir/innoquim_failover.so" || same=0
	for f in "$src"/innoquim_failover.control "$src"/sql/innoquim_failover--*.sql; do
		cmp -s "$f" "$sharedir/extension/${f##*/}" || same=0
	done
	if ((!AS_ROOT && same)); then
		iqf_log "install: the installed extension is identical to the build; make install skipped"
		rm -f -- "$log"
		[[ $src == "$REPO_ROOT" ]] || rm -rf -- "$src"
		return 0
	fi
	iqf_log "install: make install"
	if ((AS_ROOT)) || [[ -w $pkglibdir && -w $sharedir/extension ]]; then
		make -C "$src" PG_CONFIG="$PG_CONFIG" install >>"$log" 2>&1 || { cat "$log" >&2; die "make install failed"; }
	else
		iqf_as_root make -C "$src" PG_CONFIG="$PG_CONFIG" install >>"$log" 2>&1 || { cat "$log" >&2; die "make install failed"; }
	fi
	rm -f -- "$log"
	[[ $src == "$REPO_ROOT" ]] || rm -rf -- "$src"
}

# Settings shared by both nodes, plus the node's own: node_conf DIR PORT NAME
node_conf() {
	local dir=$1 port=$2 name=$3
	as_user tee -a "$dir/postgresql.conf" >/dev/null <<EOF

# --- innoquim_failover demo ---
port = $port
listen_addresses = '127.0.0.1'
unix_socket_directories = '$SCRATCH'
cluster_name = '$name'
shared_preload_libraries = 'innoquim_failover'
innoquim_failover.node_name = '$name'
innoquim_failover.upstream_timeout = $UPSTREAM_TIMEOUT
EOF
}

start_node() {
	local dir=$1 log=$2
	as_user "$PGBIN/pg_ctl" -D "$dir" -l "$log" -w -t 60 start >/dev/null ||
		{ tail -n 30 "$log" >&2; die "could not start the server in $dir"; }
}

# ---------------------------------------------------------------- main

trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

check_ports
iqf_install_deps
[[ -x $PG_CONFIG ]] || die "$PG_CONFIG not found"
build_and_install
setup_user

SCRATCH=$(mktemp -d /tmp/iqf-demo.XXXXXX)
((AS_ROOT)) && chown "$RUN_USER:" "$SCRATCH"
chmod 700 "$SCRATCH"
cd "$SCRATCH"
PRIMARY=$SCRATCH/primary
REPLICA=$SCRATCH/replica

say "Creating a primary \"db\" on port $PRIMARY_PORT (scratch dir $SCRATCH, servers run as $RUN_USER)"
as_user "$PGBIN/initdb" -D "$PRIMARY" --auth=trust --no-sync -U "$RUN_USER" >"$SCRATCH/initdb.log" 2>&1 ||
	{ cat "$SCRATCH/initdb.log" >&2; die "initdb failed"; }
node_conf "$PRIMARY" "$PRIMARY_PORT" db
start_node "$PRIMARY" "$SCRATCH/primary.log"
q "$PRIMARY_PORT" -c "CREATE EXTENSION innoquim_failover"
note "CREATE EXTENSION innoquim_failover done on the primary; it replicates to the standby"

say "Creating a streaming replica \"db-replica\" on port $REPLICA_PORT (pg_basebackup -R)"
# The password is never needed here (trust): it is in primary_conninfo only to
# show that the views never display it.
as_user "$PGBIN/pg_basebackup" -D "$REPLICA" -R -X stream -c fast \
	-d "host=127.0.0.1 port=$PRIMARY_PORT user=$RUN_USER password=demo-secret-never-shown" ||
	die "pg_basebackup failed"
# The base backup copied the primary's settings; the replica's own come last and win.
node_conf "$REPLICA" "$REPLICA_PORT" db-replica
start_node "$REPLICA" "$SCRATCH/replica.log"

wait_for 30 "$PRIMARY_PORT" "SELECT status = 'healthy' FROM innoquim_failover.health" ||
	die "the primary did not become healthy within 30 s"
wait_for 30 "$REPLICA_PORT" "SELECT status = 'healthy' FROM innoquim_failover.health" ||
	die "the replica did not become healthy within 30 s"

say "1. The primary's health: one row, healthy because one standby is streaming (min_standbys = 1)"
show "$PRIMARY_PORT" db -x "SELECT * FROM innoquim_failover.health"

say "2. The primary's view of its standbys (innoquim_failover.replication)"
show "$PRIMARY_PORT" db -x "SELECT * FROM innoquim_failover.replication"

say "3. health_json() on the primary: the shape of the application's GET /api/health/"
show "$PRIMARY_PORT" db "SELECT jsonb_pretty(innoquim_failover.health_json())"

say "4. health_json() on the replica: the same question, answered by the standby itself"
show "$REPLICA_PORT" db-replica "SELECT jsonb_pretty(innoquim_failover.health_json())"

PRIMARY_PID=$(live_postmaster "$PRIMARY") || die "no primary postmaster PID"
mapfile -t KILLED_PIDS < <(child_pids "$PRIMARY_PID")
say "5. Crash: kill -9 $PRIMARY_PID (the primary's postmaster, from $PRIMARY/postmaster.pid)"
t_kill=$(now_s)
kill -KILL "$PRIMARY_PID"
wait_for 10 "$REPLICA_PORT" "SELECT 'upstream_lost' = ANY (reasons) FROM innoquim_failover.health" ||
	die "the replica did not report upstream_lost within 10 s"
t_lost=$(now_s)
note "the replica reported upstream_lost $(elapsed "$t_kill" "$t_lost") s after the kill"
show "$REPLICA_PORT" db-replica -x "SELECT status, reasons, reason_details, upstream_status FROM innoquim_failover.health"
show "$REPLICA_PORT" db-replica -x "SELECT status, connected, sender_host, sender_port, conninfo, disconnected_since FROM innoquim_failover.upstream"
if grep -q 'demo-secret-never-shown' "$REPLICA/postgresql.auto.conf"; then
	note "the replica's primary_conninfo holds password=demo-secret-never-shown; the conninfo above does not"
fi

say "6. After upstream_timeout ($UPSTREAM_TIMEOUT in this demo, 10s by default) the replica calls the primary unavailable"
wait_for 15 "$REPLICA_PORT" "SELECT status = 'unhealthy' AND 'primary_unavailable' = ANY (reasons) FROM innoquim_failover.health" ||
	die "the replica did not report primary_unavailable within 15 s"
t_unavail=$(now_s)
note "unhealthy (primary_unavailable) $(elapsed "$t_kill" "$t_unavail") s after the kill"
show "$REPLICA_PORT" db-replica "SELECT jsonb_pretty(innoquim_failover.health_json())"
# Readers judge against their own clock, so the view turns unhealthy even
# before the monitor's next pass records the transition as an event.
wait_for 5 "$REPLICA_PORT" "SELECT EXISTS (SELECT FROM innoquim_failover.events WHERE kind = 'health_changed' AND detail LIKE '%primary_unavailable%')" || true
show "$REPLICA_PORT" db-replica "SELECT seq, to_char(event_time, 'HH24:MI:SS.MS') AS at, kind, detail FROM innoquim_failover.events"
note "each event is also in the server log, prefixed \"innoquim_failover event:\":"
grep -F 'innoquim_failover event:' "$SCRATCH/replica.log" | tail -n 3 | sed 's/^/      /'

# The killed postmaster's children notice its death and exit on their own.
for pid in "${KILLED_PIDS[@]}"; do wait_gone "$pid" 10 || true; done
remove_stale_shmem "$PRIMARY"

say "7. Automatic failover is coming in a later version; for now, promote by hand: SELECT pg_promote()"
show "$REPLICA_PORT" db-replica "SELECT pg_promote()"
wait_for 15 "$REPLICA_PORT" "SELECT role = 'primary' FROM innoquim_failover.role" ||
	die "the replica's role did not turn primary within 15 s"
show "$REPLICA_PORT" db-replica -x "SELECT * FROM innoquim_failover.role"
show "$REPLICA_PORT" db-replica "SELECT r.role, h.status, h.reasons FROM innoquim_failover.role r, innoquim_failover.health h"
note "db-replica is now a writable primary; degraded (too_few_standbys) since it has no standby of its own"
show "$REPLICA_PORT" db-replica "SELECT seq, kind, detail FROM innoquim_failover.events LIMIT 4"

say "Done."
