#!/usr/bin/env bash
# scripts/demo.sh - an automatic failover with innoquim_failover, in one command.
#
#   sudo bash scripts/demo.sh        (or, as root, bash scripts/demo.sh)
#
#   1. installs missing Debian packages (scripts/deps.sh)
#   2. builds and installs the extension (make, make install)
#   3. in a scratch dir (mktemp) creates three PostgreSQL 15 servers, all with
#      shared_preload_libraries = 'innoquim_failover', listening on 127.0.0.1
#      and on a Unix socket in the scratch dir, trust authentication, and the
#      HTTP health endpoint on 127.0.0.1 (port = PostgreSQL port + 3000):
#        db          primary                              5432  (HTTP 8432)
#        db-replica  streaming replica (pg_basebackup -R) 5433  (HTTP 8433)
#        witness     node_kind = 'witness': votes only    5434  (HTTP 8434)
#      CREATE EXTENSION on the primary (it replicates) and on the witness
#   4. registers the three nodes on the primary (register_node) and waits
#      until the primary holds its write lease and the replica follows it
#   5. shows health, health_json(), the failover and nodes views, and the
#      HTTP checks (curl, if installed)
#   6. kills the primary with kill -9 and polls a small INSERT on the replica
#      every 20 ms: prints the time from the kill to the first accepted write,
#      the failover timings the replica measured (decide_ms, promote_ms,
#      first_write_ms), its new role (primary, timeline 2), health_json() of
#      the replica and of the witness, and the events
#   7. restarts the old primary: it comes up fenced and refuses a write
#      (DEMO_RESTART_OLD=0 skips this)
#   8. stops the servers (by PID) and removes the scratch dir, unless DEMO_KEEP=1
#
# PostgreSQL refuses to run as root: started as root, the servers run as the
# user "postgres" (or "iqf", created if missing); started as another user, they
# run as that user and sudo is used only to install packages and the extension.
# Processes are only ever signalled by PID, never by name.
#
# Environment:
#   PG_CONFIG           default /usr/lib/postgresql/15/bin/pg_config
#   DEMO_KEEP=1         leave the servers running and the scratch dir in place;
#                       prints how to connect, stop and clean up
#   DEMO_RESTART_OLD=0  do not restart the old primary at the end
#   DEMO_USER           server user when started as root (default postgres, else iqf)
#   DEMO_PRIMARY_PORT   default 5432
#   DEMO_REPLICA_PORT   default 5433
#   DEMO_WITNESS_PORT   default 5434
#   (HTTP ports are always the PostgreSQL port + 3000: 8432, 8433, 8434.)
set -euo pipefail

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
PGBIN=$(dirname "$PG_CONFIG")
DEMO_KEEP=${DEMO_KEEP:-0}
PRIMARY_PORT=${DEMO_PRIMARY_PORT:-5432}
REPLICA_PORT=${DEMO_REPLICA_PORT:-5433}
WITNESS_PORT=${DEMO_WITNESS_PORT:-5434}
DEMO_RESTART_OLD=${DEMO_RESTART_OLD:-1}
HTTP_OFFSET=3000
for v in PRIMARY_PORT REPLICA_PORT WITNESS_PORT; do
	if ! [[ ${!v} =~ ^[0-9]{1,5}$ ]] || ((10#${!v} < 1 || 10#${!v} + HTTP_OFFSET > 65535)); then
		echo "error: DEMO_$v=${!v}: a TCP port from 1 to $((65535 - HTTP_OFFSET)) is needed (its HTTP port is + $HTTP_OFFSET)" >&2
		exit 1
	fi
	printf -v "$v" '%d' "$((10#${!v}))"
done
PRIMARY_HTTP=$((PRIMARY_PORT + HTTP_OFFSET))
REPLICA_HTTP=$((REPLICA_PORT + HTTP_OFFSET))
WITNESS_HTTP=$((WITNESS_PORT + HTTP_OFFSET))
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

# The write poller: one psql session on the replica, opened before the kill
# and kept across the failover.  A new psql per attempt would cost far more
# than the 20 ms between attempts (runuser, fork, connection).  Each attempt
# is a transaction of its own, and one that starts after the promotion may
# write.  POLL is the coprocess (POLL[0] its output, POLL[1] its input).
POLL_PID=""
poll_open() {
	coproc POLL { as_user stdbuf -oL -eL "$PGBIN/psql" -X -q -At \
		-h "$SCRATCH" -p "$REPLICA_PORT" -U "$RUN_USER" -d postgres 2>&1; }
}

# Run SQL once in the poller.  Returns 0 when it printed "ok", 1 when not
# (POLL_ERROR holds the first error line), 2 when the session is gone.
POLL_ERROR=""
poll_try() {
	local sql=$1 line ok=1
	POLL_ERROR=""
	[[ -n ${POLL[1]:-} ]] || return 2
	printf '%s\n' "$sql" '\echo __iqf_poll_done__' 1>&"${POLL[1]}" 2>/dev/null || return 2
	while IFS= read -r -t 10 line <&"${POLL[0]}"; do
		case $line in
		__iqf_poll_done__) return "$ok" ;;
		ok) ok=0 ;;
		*ERROR:*) [[ -n $POLL_ERROR ]] || POLL_ERROR=$line ;;
		esac
	done
	return 2
}

# End the poller: close its input (psql exits at end of input).
poll_close() {
	local fd=${POLL[1]:-}
	if [[ -n $fd ]]; then exec {fd}>&-; fi
	if [[ -n $POLL_PID ]] && kill -0 "$POLL_PID" 2>/dev/null; then
		wait_gone "$POLL_PID" 5 || kill -TERM "$POLL_PID" 2>/dev/null || true
	fi
	POLL_PID=""
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

# Seconds since the epoch, microseconds, without forking (bash 5).
now_s() { echo "${EPOCHREALTIME/,/.}"; }
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
	for port in "$PRIMARY_PORT" "$REPLICA_PORT" "$WITNESS_PORT" \
		"$PRIMARY_HTTP" "$REPLICA_HTTP" "$WITNESS_HTTP"; do
		port_in_use "$port" && busy+=("$port")
	done
	((${#busy[@]} == 0)) && return 0
	{
		echo "error: TCP port(s) ${busy[*]} already in use; the demo needs $PRIMARY_PORT (primary), $REPLICA_PORT (replica)"
		echo "and $WITNESS_PORT (witness) for PostgreSQL, and $PRIMARY_HTTP, $REPLICA_HTTP, $WITNESS_HTTP for their HTTP endpoints."
		command -v ss >/dev/null 2>&1 && for port in "${busy[@]}"; do ss -Hltnp "sport = :$port" 2>/dev/null; done
		echo "If it is a Debian PostgreSQL cluster, list clusters with:  pg_lsclusters"
		echo "and stop the one on that port, e.g.:                       sudo pg_ctlcluster 15 main stop"
		echo "Or run the demo on other ports (the HTTP ports follow, + $HTTP_OFFSET):"
		echo "  DEMO_PRIMARY_PORT=6432 DEMO_REPLICA_PORT=6433 DEMO_WITNESS_PORT=6434 bash scripts/demo.sh"
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

# Stop a postgres by PID: INT (fast shutdown), then QUIT (immediate), then KILL.
# Not TERM (smart shutdown): it would wait for every session to end, and the
# failover agents of the other nodes keep sessions open on every node.
stop_pid() {
	local pid=$1
	is_postgres "$pid" || return 0
	kill -INT "$pid" 2>/dev/null || true
	wait_gone "$pid" 15 && return 0
	echo "note: postgres $pid still running after SIGINT; sending SIGQUIT" >&2
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
	poll_close
	[[ -n $SCRATCH && -d $SCRATCH ]] || exit "$rc"
	if [[ $DEMO_KEEP == 1 && $rc == 0 ]]; then
		print_keep_help
		exit "$rc"
	fi
	for dir in "$SCRATCH/replica" "$SCRATCH/primary" "$SCRATCH/witness"; do
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
	local pre="" pid dir name port
	((AS_ROOT)) && pre="runuser -u $RUN_USER -- "
	say "DEMO_KEEP=1: left running"
	echo "Scratch dir: $SCRATCH (logs: primary.log, replica.log, witness.log)"
	for dir in replica witness primary; do
		case $dir in
		replica) name="db-replica (the new primary)" port=$REPLICA_PORT ;;
		witness) name="witness" port=$WITNESS_PORT ;;
		primary) name="db (the old primary, fenced)" port=$PRIMARY_PORT ;;
		esac
		if pid=$(live_postmaster "$SCRATCH/$dir"); then
			echo "  $name: port $port, HTTP $((port + HTTP_OFFSET)), postmaster PID $pid"
			echo "      connect: ${pre}$PGBIN/psql -h $SCRATCH -p $port -U $RUN_USER postgres"
			echo "      stop:    kill -INT \$(head -n 1 $SCRATCH/$dir/postmaster.pid)    # fast shutdown"
		else
			echo "  $name: not running"
		fi
	done
	echo "Clean up, once they are stopped: rm -rf $SCRATCH"
}

# Pick the unprivileged server user when started as root (create iqf if needed).
setup_user() {
	((AS_ROOT)) || return 0
	RUN_USER=$(iqf_server_user DEMO_USER) || exit 1
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

# Settings shared by all nodes, plus the node's own: node_conf DIR PORT NAME [EXTRA]
node_conf() {
	local dir=$1 port=$2 name=$3 extra=${4:-}
	as_user tee -a "$dir/postgresql.conf" >/dev/null <<EOF

# --- innoquim_failover demo ---
port = $port
listen_addresses = '127.0.0.1'
unix_socket_directories = '$SCRATCH'
cluster_name = '$name'
shared_preload_libraries = 'innoquim_failover'
innoquim_failover.node_name = '$name'
innoquim_failover.upstream_timeout = $UPSTREAM_TIMEOUT
innoquim_failover.http_port = $((port + HTTP_OFFSET))
innoquim_failover.http_listen_addresses = '127.0.0.1'
# PostgreSQL 15's startup process can sleep this long (default 5s) before it
# acts on a promote request that arrives just as the WAL stream breaks; it is
# also the pause before a standby's WAL receiver reconnects.  See README.
wal_retrieve_retry_interval = 500ms
$extra
EOF
}

# The HTTP status code of GET http://127.0.0.1:PORT/PATH; "-" without curl or
# without an answer.
http_code() {
	local code
	command -v curl >/dev/null 2>&1 || { echo "-"; return 0; }
	code=$(curl -s -o /dev/null -m 2 -w '%{http_code}' "http://127.0.0.1:$1$2" 2>/dev/null || true)
	if [[ $code =~ ^[0-9]{3}$ && $code != 000 ]]; then echo "$code"; else echo "-"; fi
}

# Show the status code of an HTTP check: http_show NODE HTTP_PORT PATH
http_show() {
	if ! command -v curl >/dev/null 2>&1; then
		note "(curl is not installed: skipping the HTTP check $3 of $1)"
		return 0
	fi
	printf "%s\$ curl -s -o /dev/null -w '%%{http_code}' http://127.0.0.1:%s%s%s    # %s\n" \
		"$BOLD" "$2" "$3" "$OFF" "$1"
	http_code "$2" "$3"
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
WITNESS=$SCRATCH/witness

# The registry's connection strings: TCP on 127.0.0.1, no password (trust
# here; in production a password file or certificates; register_node refuses
# a password).
conninfo_for() { echo "host=127.0.0.1 port=$1 dbname=postgres user=$RUN_USER"; }

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

say "Creating a witness on port $WITNESS_PORT: a small PostgreSQL of its own with node_kind = 'witness' (votes, holds no data)"
as_user "$PGBIN/initdb" -D "$WITNESS" --auth=trust --no-sync -U "$RUN_USER" >"$SCRATCH/initdb-witness.log" 2>&1 ||
	{ cat "$SCRATCH/initdb-witness.log" >&2; die "initdb of the witness failed"; }
node_conf "$WITNESS" "$WITNESS_PORT" witness "innoquim_failover.node_kind = 'witness'"
start_node "$WITNESS" "$SCRATCH/witness.log"
q "$WITNESS_PORT" -c "CREATE EXTENSION innoquim_failover"
note "the witness is not a replica: CREATE EXTENSION is run on it too"

wait_for 30 "$PRIMARY_PORT" "SELECT status = 'healthy' FROM innoquim_failover.health" ||
	die "the primary did not become healthy within 30 s"
wait_for 30 "$REPLICA_PORT" "SELECT status = 'healthy' FROM innoquim_failover.health" ||
	die "the replica did not become healthy within 30 s"

say "1. Membership: register the three nodes on the primary; its leases carry the list to the others"
for node in "db $PRIMARY_PORT data" "db-replica $REPLICA_PORT data" "witness $WITNESS_PORT witness"; do
	read -r name port kind <<<"$node"
	show "$PRIMARY_PORT" db "SELECT innoquim_failover.register_node('$name', '$(conninfo_for "$port")', '$kind')"
done
t_reg=$(now_s)
wait_for 30 "$PRIMARY_PORT" "SELECT lease_enforced AND phase = 'primary' FROM innoquim_failover.failover" ||
	die "the primary did not acquire its write lease within 30 s"
wait_for 30 "$REPLICA_PORT" "SELECT phase = 'following' AND voters = 3 FROM innoquim_failover.failover" ||
	die "the replica did not reach phase following within 30 s"
wait_for 30 "$WITNESS_PORT" "SELECT phase = 'witness' AND voters = 3 FROM innoquim_failover.failover" ||
	die "the witness did not learn the registry within 30 s"
note "lease held and every node knows the registry $(elapsed "$t_reg" "$(now_s)") s after the last register_node"
show "$PRIMARY_PORT" db "SELECT name, kind, conninfo, is_self FROM innoquim_failover.nodes"
show "$PRIMARY_PORT" db -x "SELECT phase, primary_name, term, voters, quorum, auto_failover_active, lease_enforced, round(lease_remaining_ms) AS lease_remaining_ms, failover_timeout_ms FROM innoquim_failover.failover"
show "$REPLICA_PORT" db-replica "SELECT phase, primary_name, term, voted_for, voters FROM innoquim_failover.failover"
show "$WITNESS_PORT" witness "SELECT phase, primary_name, term, voted_for, voters FROM innoquim_failover.failover"

say "2. A write on the primary (allowed: it holds a lease from a majority) and its health"
show "$PRIMARY_PORT" db "CREATE TABLE demo_writes (at timestamptz DEFAULT clock_timestamp(), note text)"
show "$PRIMARY_PORT" db "INSERT INTO demo_writes (note) VALUES ('written on db before the crash')"
show "$PRIMARY_PORT" db -x "SELECT status, reasons, role, streaming_standbys, cluster_primary, term, failover_phase, voters, votes FROM innoquim_failover.health"
show "$PRIMARY_PORT" db "SELECT jsonb_pretty(innoquim_failover.health_json())"
show "$REPLICA_PORT" db-replica -x "SELECT status, connected, sender_host, sender_port, conninfo FROM innoquim_failover.upstream"
if grep -q 'demo-secret-never-shown' "$REPLICA/postgresql.auto.conf"; then
	note "the replica's primary_conninfo holds password=demo-secret-never-shown; the conninfo above does not"
fi

say "3. The HTTP checks a load balancer asks (GET /primary: 200 only on the writable primary)"
http_show db "$PRIMARY_HTTP" /primary
http_show db-replica "$REPLICA_HTTP" /primary
http_show db-replica "$REPLICA_HTTP" /replica
http_show witness "$WITNESS_HTTP" /primary
wait_for 30 "$REPLICA_PORT" "SELECT count(*) = 1 FROM demo_writes" ||
	die "the replica did not replay the demo table within 30 s"

PRIMARY_PID=$(live_postmaster "$PRIMARY") || die "no primary postmaster PID"
mapfile -t KILLED_PIDS < <(child_pids "$PRIMARY_PID")
INSERT_SQL="INSERT INTO demo_writes (note) VALUES ('first write on db-replica after the failover')"
POLL_SQL="$INSERT_SQL RETURNING 'ok';"
poll_open
rc=0
poll_try "$POLL_SQL" || rc=$?
((rc == 1)) || die "could not open the polling session on db-replica"
note "a session on db-replica is open; its INSERT is refused for now: $POLL_ERROR"

say "4. Crash: kill -9 $PRIMARY_PID (the primary's postmaster, from $PRIMARY/postmaster.pid)"
note "then, from that session, the same INSERT every 20 ms until one is accepted"
attempts=0
errors=()
t_kill=$(now_s)
kill -KILL "$PRIMARY_PID"
deadline=$((EPOCHSECONDS + 60))
while :; do
	attempts=$((attempts + 1))
	rc=0
	poll_try "$POLL_SQL" || rc=$?
	((rc == 0)) && break
	if ((rc == 2)); then
		# the session was lost: open another one
		POLL_ERROR="(session lost; reconnecting)"
		poll_close
		poll_open
	fi
	[[ " ${errors[*]} " == *" $POLL_ERROR "* ]] || errors+=("$POLL_ERROR")
	((EPOCHSECONDS < deadline)) || die "db-replica accepted no write within 60 s of the kill (last: $POLL_ERROR)"
	sleep 0.02
done
t_write=$(now_s)
poll_close
printf '%s    kill -9 of the primary -> first write accepted by db-replica: %s s (attempt %d)%s\n' \
	"$BOLD" "$(awk -v a="$t_kill" -v b="$t_write" 'BEGIN { printf "%.3f", b - a }')" "$attempts" "$OFF"
for e in "${errors[@]}"; do note "refused before that with: $e"; done

say "5. What db-replica measured: loss detected -> decided (votes) -> promoted -> first write"
show "$REPLICA_PORT" db-replica -x "SELECT phase, primary_name, term, voted_for, votes, quorum, lease_enforced, failovers, round(decide_ms::numeric, 1) AS decide_ms, round(promote_ms::numeric, 1) AS promote_ms, round(first_write_ms::numeric, 1) AS first_write_ms FROM innoquim_failover.failover"
note "the times count from the moment db-replica saw the primary lost, not from the kill"
if [[ $(q1 "$REPLICA_PORT" "SELECT term > 1 FROM innoquim_failover.failover") == t ]]; then
	note "term > 1: db-replica won a term but its promotion did not finish before failover_timeout,"
	note "so it stood again; the timings above count from that second loss (see replica.log)"
fi
show "$REPLICA_PORT" db-replica -x "SELECT node_name, role, timeline, accepting_writes FROM innoquim_failover.role"
show "$REPLICA_PORT" db-replica "SELECT * FROM demo_writes ORDER BY at"
show "$REPLICA_PORT" db-replica "SELECT seq, to_char(event_time, 'HH24:MI:SS.MS') AS at, kind, detail FROM innoquim_failover.events WHERE seq > (SELECT max(seq) - 12 FROM innoquim_failover.events)"
note "each event is also in the server log, prefixed \"innoquim_failover event:\":"
grep -F 'innoquim_failover event:' "$SCRATCH/replica.log" | grep -E 'primary_dead|promoting|promoted' | sed 's/^/      /'

say "6. health_json() of the new primary and of the witness: both name db-replica as the primary"
show "$REPLICA_PORT" db-replica "SELECT jsonb_pretty(innoquim_failover.health_json())"
wait_for 10 "$WITNESS_PORT" "SELECT primary_name = 'db-replica' FROM innoquim_failover.failover" ||
	note "the witness has not heard from db-replica yet"
show "$WITNESS_PORT" witness "SELECT jsonb_pretty(innoquim_failover.health_json())"
show "$WITNESS_PORT" witness "SELECT seq, to_char(event_time, 'HH24:MI:SS.MS') AS at, kind, detail FROM innoquim_failover.events"

say "7. The HTTP checks after the failover"
http_show db-replica "$REPLICA_HTTP" /primary
http_show witness "$WITNESS_HTTP" /primary
http_show db "$PRIMARY_HTTP" /primary
note "(\"-\": nothing answers on the dead primary's HTTP port)"

# The killed postmaster's children notice its death and exit on their own
# (the agent first reports the death to the voters).
for pid in "${KILLED_PIDS[@]}"; do wait_gone "$pid" 10 || true; done
remove_stale_shmem "$PRIMARY"

if [[ $DEMO_RESTART_OLD == 1 ]]; then
	say "8. Restart the old primary: it comes up fenced (no lease, and a newer term exists)"
	note "(the kill left its postmaster.pid behind: pg_ctl finds no such process and starts anyway)"
	start_node "$PRIMARY" "$SCRATCH/primary.log"
	wait_for 30 "$PRIMARY_PORT" "SELECT role = 'fenced' FROM innoquim_failover.role" ||
		die "the old primary did not report role fenced within 30 s"
	wait_for 15 "$PRIMARY_PORT" "SELECT phase = 'superseded' FROM innoquim_failover.failover" ||
		note "the old primary has not learnt of the newer term yet"
	show "$PRIMARY_PORT" db -x "SELECT r.node_name, r.role, r.in_recovery, r.timeline, r.accepting_writes, f.phase, f.primary_name, f.term FROM innoquim_failover.role r, innoquim_failover.failover f"
	OLD_SQL="INSERT INTO demo_writes (note) VALUES ('written on the old primary')"
	printf '%sdb=# %s%s\n' "$BOLD" "$OLD_SQL" "$OFF"
	if err=$(q "$PRIMARY_PORT" -c "$OLD_SQL" 2>&1); then
		die "the old primary accepted a write"
	fi
	printf '%s\n' "$err"
	show "$PRIMARY_PORT" db "SELECT seq, kind, detail FROM innoquim_failover.events WHERE kind = 'fenced'"
	http_show db "$PRIMARY_HTTP" /primary
	note "a fenced old primary must be rebuilt as a standby of db-replica (pg_rewind or a new base backup)"
fi

say "Done."
