#!/usr/bin/env bash
# bench/http.sh - the HTTP health endpoint against the SQL health check, one
# command:  bash bench/http.sh        (quick: BENCH_SECS=3 bash bench/http.sh)
#
# Builds a throw-away primary + streaming standby (PostgreSQL 15, the
# installed innoquim_failover preloaded, HTTP endpoint on) in a mktemp dir and
# measures, side by side in one run:
#   (a) HTTP: wrk -t2 -c8 --latency (keep-alive) against GET /primary and
#       GET /health on the primary: requests/s, p50/p90/p99 latency, and the
#       CPU the endpoint's worker used;
#   (b) SQL: pgbench -n -c8 -j2 over the Unix socket with one query,
#       SELECT innoquim_failover.health_json() (what /health answers) and
#       SELECT pg_is_in_recovery() (the cheapest SQL role check): TPS,
#       average latency and p50/p90/p99 (from pgbench --log); then the ratios
#       HTTP req/s / SQL TPS;
#   (c) GET /primary again (wrk --timeout 1s) while the primary is saturated
#       by pgbench TPC-B writes (scale 10, -c8 -j2, started 1 s before wrk and
#       ending 1 s after it): req/s, p99, socket errors/timeouts and non-2xx;
#       target: no failed or timed-out check and p99 < 10 ms;
#   (d) target line: /primary >= 20,000 req/s with p99 < 2 ms (wrk -t2 -c8).
# Each measurement runs BENCH_ROUNDS times, alternating the order (a b c d e,
# e d c b a, ...); the summary reports medians.
#
# Runs as root (servers then run as IQF_USER via runuser: postgres if it
# exists, else iqf, created if missing) or as a normal user.  Servers listen on
# 127.0.0.1 only (TCP logins need a password that no role has; pgbench and
# replication use the Unix socket in the mktemp dir, mode 0700).  On any exit
# every server and load generator started here is stopped by PID (TERM, then
# QUIT, then KILL) and the dir is removed.  The extension must be installed
# (make install); BENCH_INSTALL=1 runs `make install` first (as root).
#
# Environment knobs (defaults):
#   BENCH_SECS         seconds per measured run                          10
#   BENCH_ROUNDS       runs of each measurement                          3
#   BENCH_WRK_THREADS / BENCH_WRK_CONNS     wrk -t / -c                  2 / 8
#   BENCH_CLIENTS / BENCH_THREADS           pgbench -c / -j              8 / 2
#   BENCH_SCALE        pgbench scale for the TPC-B load of (c)           10
#   BENCH_SYNC_COMMIT  synchronous_commit of the servers                 off
#   BENCH_PORT         primary's port; the standby uses +1              26432
#   BENCH_HTTP_PORT    primary's HTTP port; the standby uses +1         28432
#   BENCH_INSTALL      1: `make install` first (as root); 0 (default): use the installed build
#   BENCH_PERF=1       also record `perf record -g` of the HTTP worker during one
#                      extra /primary run and print the top symbols
#   PG_CONFIG          /usr/lib/postgresql/15/bin/pg_config
#   IQF_USER           server user when run as root
#   BENCH_KEEP=1       keep the scratch dir (servers are still stopped)
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(dirname "$BENCH_DIR")

# ------------------------------------------------------------------ settings
CMDLINE="$(env | grep -E '^(BENCH_[A-Z_]*|PG_CONFIG|IQF_USER)=' | sort | while IFS= read -r kv; do printf '%q ' "$kv"; done)bash $(printf '%q ' "$0" "$@")"
PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
SECS=${BENCH_SECS:-10}
ROUNDS=${BENCH_ROUNDS:-3}
WRK_THREADS=${BENCH_WRK_THREADS:-2}
WRK_CONNS=${BENCH_WRK_CONNS:-8}
CLIENTS=${BENCH_CLIENTS:-8}
THREADS=${BENCH_THREADS:-2}
SCALE=${BENCH_SCALE:-10}
SYNC_COMMIT=${BENCH_SYNC_COMMIT:-off}
PPORT=${BENCH_PORT:-26432}
SPORT=$((PPORT + 1))
HPORT=${BENCH_HTTP_PORT:-28432}
HSPORT=$((HPORT + 1))
INSTALL=${BENCH_INSTALL:-0}
PERF=${BENCH_PERF:-0}
KEEP=${BENCH_KEEP:-0}
DBUSER=bench
DB=postgres

TARGET_RPS=20000             # (d) /primary req/s at least
TARGET_P99_MS=2              # (d) /primary p99 below
TARGET_LOADED_P99_MS=10      # (c) p99 under write load below

PGBIN=$("$PG_CONFIG" --bindir)
AS_ROOT=0
[[ $(id -u) -eq 0 ]] && AS_ROOT=1
T_START=$SECONDS

# shellcheck source=bench/lib.sh
source "$BENCH_DIR/lib.sh"
die() {
	echo "error: $*" >&2
	exit 2
}

for v in SECS ROUNDS WRK_THREADS WRK_CONNS CLIENTS THREADS SCALE PPORT HPORT; do
	[[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive integer, not '${!v}'"
done
for p in $PPORT $SPORT $HPORT $HSPORT; do
	((p != 5432 && p != 5433)) || die "refusing to use port $p"
	((p < 65536)) || die "port $p out of range"
	# something answers there already: not ours to use
	if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
		die "port $p on 127.0.0.1 is in use (set BENCH_PORT / BENCH_HTTP_PORT)"
	fi
done
for tool in wrk curl; do
	command -v "$tool" >/dev/null || die "$tool not found (apt-get install $tool)"
done
for tool in initdb pg_ctl pg_basebackup pgbench psql; do
	[[ -x $PGBIN/$tool ]] || die "$PGBIN/$tool not found"
done
PKGLIBDIR=$("$PG_CONFIG" --pkglibdir)

say "command: $CMDLINE"
say "started: $(date -u '+%Y-%m-%d %H:%M:%S UTC'); $(nproc) CPUs; $("$PGBIN/postgres" --version); $(wrk -v 2>&1 | head -n 1 | cut -d' ' -f1-2)"
say "load average before: $(cut -d' ' -f1-3 /proc/loadavg) (the machine's, not only ours)"

# ------------------------------------------------------------------ user, scratch dir, cleanup
bench_srv_user

TMP=$(mktemp -d "${TMPDIR:-/tmp}/iqf-http-bench.XXXXXX")
chmod 700 "$TMP"
PDATA=$TMP/primary
SDATA=$TMP/standby
SOCK=$TMP/sock
LOGS=$TMP/logs
mkdir -p "$SOCK" "$LOGS"
((AS_ROOT)) && chown -R "$SRV_USER" "$TMP"

SERVER_PIDS=()               # postmasters started here
CHILD_PIDS=()                # background wrk/pgbench/perf started here


# Wait up to $2 seconds for process $1 to disappear.
wait_gone() {
	local pid=$1 i
	for ((i = 0; i < $2 * 10; i++)); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.1
	done
	! kill -0 "$pid" 2>/dev/null
}

# Stop one process by PID: TERM, then QUIT, then KILL.  $2 is the command
# name it must still have (a recycled PID is never signalled).
stop_pid() {
	local pid=$1 want=$2 comm sig
	kill -0 "$pid" 2>/dev/null || return 0
	comm=$(cat "/proc/$pid/comm" 2>/dev/null || true)
	if [[ -n $want && $comm != "$want" ]]; then
		say "note: PID $pid is now '$comm', not $want; left alone"
		return 0
	fi
	for sig in TERM:10 QUIT:5 KILL:2; do
		kill "-${sig%%:*}" "$pid" 2>/dev/null || true
		wait_gone "$pid" "${sig#*:}" && return 0
	done
	say "warning: PID $pid ($want) still running" >&2
}

cleanup() {
	local rc=$? pid i
	trap - EXIT INT TERM
	set +e
	# still running, so not yet reaped: the PID is our child's
	for pid in "${CHILD_PIDS[@]}"; do
		stop_pid "$pid" ""
		wait "$pid" 2>/dev/null
	done
	for ((i = ${#SERVER_PIDS[@]} - 1; i >= 0; i--)); do stop_pid "${SERVER_PIDS[i]}" postgres; done
	if [[ $KEEP == 1 ]]; then
		say "BENCH_KEEP=1: scratch dir kept in $TMP"
	else
		rm -rf -- "$TMP"
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Run a command in the background, remembered for cleanup; sets BG_PID.
bg_run() {
	"$@" &
	BG_PID=$!
	CHILD_PIDS+=("$BG_PID")
}

# ------------------------------------------------------------------ servers
if [[ $INSTALL == 1 ]]; then
	hdr "make install"
	if ((AS_ROOT)); then
		make -C "$REPO_ROOT" PG_CONFIG="$PG_CONFIG" install >"$LOGS/install.log" 2>&1 ||
			die "make install failed, see $LOGS/install.log"
	else
		# shellcheck disable=SC2024  # the log is ours, make runs as root
		sudo make -C "$REPO_ROOT" PG_CONFIG="$PG_CONFIG" install >"$LOGS/install.log" 2>&1 ||
			die "make install failed"
	fi
fi
[[ -f $PKGLIBDIR/innoquim_failover.so ]] ||
	die "innoquim_failover is not installed in $PKGLIBDIR (make install, or BENCH_INSTALL=1)"
say "extension: $PKGLIBDIR/innoquim_failover.so, built $(date -u -r "$PKGLIBDIR/innoquim_failover.so" '+%Y-%m-%d %H:%M:%S UTC')"

psql_p() { "$PGBIN/psql" -h "$SOCK" -p "$PPORT" -U "$DBUSER" -d "$DB" -XAtq -v ON_ERROR_STOP=1 "$@"; }

start_server() {  # data dir, log name
	local ok=1 pid
	as_srv "$PGBIN/pg_ctl" -D "$1" -l "$LOGS/$2.log" -w -t 60 start >"$LOGS/$2.pg_ctl.log" 2>&1 || ok=0
	# remembered even when pg_ctl gave up waiting, so that cleanup stops it
	pid=$(head -n 1 "$1/postmaster.pid" 2>/dev/null || true)
	[[ $pid =~ ^[0-9]+$ ]] && SERVER_PIDS+=("$pid")
	((ok)) || { tail -n 30 "$LOGS/$2.log" >&2; die "$2 did not start"; }
}

# Poll an HTTP URL until it answers with status $2 (or any status if empty).
wait_http() {
	local url=$1 want=$2 code i
	for ((i = 0; i < 300; i++)); do
		code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "$url" || true)
		if [[ $code != 000 && (-z $want || $code == "$want") ]]; then return 0; fi
		sleep 0.1
	done
	die "$url did not answer ${want:-at all} within 30 s (last: $code)"
}

hdr "setup: primary :$PPORT (HTTP :$HPORT) + standby :$SPORT (HTTP :$HSPORT) in $TMP, servers run as $SRV_USER"
as_srv "$PGBIN/initdb" -D "$PDATA" -U "$DBUSER" -E UTF8 --locale=C --no-sync \
	--auth-local=trust --auth-host=scram-sha-256 >"$LOGS/initdb.log" 2>&1 || die "initdb failed"
cat >>"$PDATA/postgresql.conf" <<EOF

# bench/http.sh
port = $PPORT
listen_addresses = '127.0.0.1'
unix_socket_directories = '$SOCK'
unix_socket_permissions = 0700
max_connections = 50
shared_buffers = 256MB
synchronous_commit = $SYNC_COMMIT
checkpoint_timeout = 30min
max_wal_size = 4GB
wal_level = replica
max_wal_senders = 4
hot_standby = on
shared_preload_libraries = 'innoquim_failover'
innoquim_failover.node_name = 'bench1'
innoquim_failover.http_port = $HPORT
innoquim_failover.http_listen_addresses = '127.0.0.1'
EOF
start_server "$PDATA" primary
psql_p -c "CREATE EXTENSION innoquim_failover" >/dev/null

as_srv "$PGBIN/pg_basebackup" -D "$SDATA" -h "$SOCK" -p "$PPORT" -U "$DBUSER" -X stream -c fast -R \
	>"$LOGS/basebackup.log" 2>&1 || die "pg_basebackup failed"
cat >>"$SDATA/postgresql.conf" <<EOF
port = $SPORT
innoquim_failover.node_name = 'bench2'
innoquim_failover.http_port = $HSPORT
EOF
start_server "$SDATA" standby

for ((i = 0; i < 300; i++)); do
	[[ $(psql_p -c "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'") -ge 1 ]] && break
	sleep 0.1
done
((i < 300)) || die "the standby is not streaming after 30 s"
wait_http "http://127.0.0.1:$HPORT/primary" 200
wait_http "http://127.0.0.1:$HSPORT/replica" ""
# until both monitors have sampled the replication: the standby's /replica is
# 200 and the primary's /health lists a streaming replica
for ((i = 0; i < 300; i++)); do
	body=$(curl -s --max-time 1 "http://127.0.0.1:$HPORT/health" || true)
	if [[ $(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "http://127.0.0.1:$HSPORT/replica" || true) == 200 &&
		$body =~ \"status\":\ *\"streaming\" ]]; then
		break
	fi
	sleep 0.1
done
((i < 300)) || say "warning: after 30 s the standby's /replica is not 200 or the primary's /health lists no streaming replica"
say "primary /primary: $(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$HPORT/primary"); standby /replica: $(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$HSPORT/replica"); primary /health body:"
curl -s --max-time 5 "http://127.0.0.1:$HPORT/health" | head -c 600 || true
say ""

"$PGBIN/pgbench" -i -q -s "$SCALE" -h "$SOCK" -p "$PPORT" -U "$DBUSER" "$DB" >"$LOGS/pgbench_init.log" 2>&1 ||
	die "pgbench -i failed, see $LOGS/pgbench_init.log"
psql_p -c "CHECKPOINT" >/dev/null
printf 'SELECT innoquim_failover.health_json();\n' >"$TMP/health_json.sql"
printf 'SELECT pg_is_in_recovery();\n' >"$TMP/is_in_recovery.sql"

# PID of the HTTP endpoint's background worker on the primary: the child of
# its postmaster titled "postgres: innoquim_failover http".
HTTP_WORKER=""
for pid in $(ps -o pid= --ppid "${SERVER_PIDS[0]}"); do
	if [[ $({ tr '\0' ' ' <"/proc/$pid/cmdline"; } 2>/dev/null) == *"innoquim_failover http"* ]]; then
		HTTP_WORKER=$pid
	fi
done
[[ -n $HTTP_WORKER ]] || die "no 'innoquim_failover http' worker under postmaster ${SERVER_PIDS[0]}"
say "HTTP worker PID $HTTP_WORKER; pgbench tables at scale $SCALE"

# ------------------------------------------------------------------ measuring
# CPU ticks (user + system) of a process so far.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
CLK_TCK=$(getconf CLK_TCK)

# wrk latency ("123.45us", "1.20ms", "1.01s") in ms.
to_ms() {
	awk -v v="$1" 'BEGIN {
		n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
		if (u == "us") n /= 1000; else if (u == "s") n *= 1000; else if (u == "m") n *= 60000
		printf "%.3f", n }'
}

# Results: R[name.round.metric] = value.
declare -A R

# wrk against the primary's endpoint $2, run name $1, extra wrk options after.
run_wrk() {
	local name=$1 path=$2 round=$3 out t0 t1 line
	shift 3
	out=$LOGS/$name.$round.wrk
	t0=$(cpu_ticks "$HTTP_WORKER")
	wrk -t "$WRK_THREADS" -c "$WRK_CONNS" -d "${SECS}s" --latency "$@" \
		"http://127.0.0.1:$HPORT$path" >"$out" 2>&1 || { cat "$out" >&2; die "wrk failed"; }
	t1=$(cpu_ticks "$HTTP_WORKER")
	R[$name.$round.rps]=$(awk '/^Requests\/sec:/ { printf "%.0f", $2 }' "$out")
	R[$name.$round.p50]=$(to_ms "$(awk '$1 == "50%" { print $2 }' "$out")")
	R[$name.$round.p90]=$(to_ms "$(awk '$1 == "90%" { print $2 }' "$out")")
	R[$name.$round.p99]=$(to_ms "$(awk '$1 == "99%" { print $2 }' "$out")")
	R[$name.$round.avg]=$(to_ms "$(awk '$1 == "Latency" && NF >= 4 { print $2; exit }' "$out")")
	# "Socket errors: connect 0, read 0, write 0, timeout 0" only when some
	R[$name.$round.sockerr]=$(awk '/Socket errors:/ { gsub(",", ""); print $4 + $6 + $8 + $10 }' "$out")
	R[$name.$round.timeouts]=$(awk '/Socket errors:/ { print $10 }' "$out")
	R[$name.$round.non2xx]=$(awk '/Non-2xx/ { print $NF }' "$out")
	R[$name.$round.sockerr]=${R[$name.$round.sockerr]:-0}
	R[$name.$round.timeouts]=${R[$name.$round.timeouts]:-0}
	R[$name.$round.non2xx]=${R[$name.$round.non2xx]:-0}
	R[$name.$round.cpu]=$(awk -v a="$t0" -v b="$t1" -v hz="$CLK_TCK" -v s="$SECS" \
		'BEGIN { printf "%.0f", 100 * (b - a) / hz / s }')
	line=$(grep -E 'Socket errors|Non-2xx' "$out" | sed 's/^ */; /' | tr -d '\n' || true)
	printf '  %-15s round %d: %8s req/s  p50 %6s  p90 %6s  p99 %6s ms  worker CPU %3s%%%s\n' \
		"$name" "$round" "${R[$name.$round.rps]}" "${R[$name.$round.p50]}" "${R[$name.$round.p90]}" \
		"${R[$name.$round.p99]}" "${R[$name.$round.cpu]}" "$line"
}

# pgbench with one SQL file; latency percentiles from its per-transaction log.
run_sql() {
	local name=$1 script=$2 round=$3 out logdir
	out=$LOGS/$name.$round.pgbench
	logdir=$TMP/txlog.$name.$round
	mkdir -p "$logdir"
	"$PGBIN/pgbench" -n -c "$CLIENTS" -j "$THREADS" -T "$SECS" -f "$script" \
		--log --log-prefix="$logdir/tx" -h "$SOCK" -p "$PPORT" -U "$DBUSER" "$DB" >"$out" 2>&1 ||
		{ cat "$out" >&2; die "pgbench failed"; }
	R[$name.$round.rps]=$(awk '/^tps = / { printf "%.0f", $3 }' "$out")
	R[$name.$round.avg]=$(awk '/^latency average = / { printf "%.3f", $4 }' "$out")
	R[$name.$round.failed]=$(awk '/^number of failed transactions:/ { print $5 }' "$out")
	# log lines: client tx_no latency_us script_no epoch_s epoch_us
	read -r "R[$name.$round.p50]" "R[$name.$round.p90]" "R[$name.$round.p99]" < <(
		cat "$logdir"/tx.* | awk '{ print $3 }' | sort -n | awk '
			{ v[NR] = $1 }
			END {
				if (NR == 0) { print "- - -"; exit }
				split("50 90 99", q, " ")
				for (i = 1; i <= 3; i++) {
					k = int(NR * q[i] / 100 + 0.999999); if (k < 1) k = 1
					printf "%.3f ", v[k] / 1000
				}
				print ""
			}')
	rm -rf "$logdir"
	printf '  %-15s round %d: %8s tx/s   p50 %6s  p90 %6s  p99 %6s ms  avg %s ms\n' \
		"$name" "$round" "${R[$name.$round.rps]}" "${R[$name.$round.p50]}" "${R[$name.$round.p90]}" \
		"${R[$name.$round.p99]}" "${R[$name.$round.avg]}"
}

# GET /primary while pgbench TPC-B saturates the primary.
run_loaded() {
	local round=$1 out load
	out=$LOGS/tpcb.$round.pgbench
	bg_run "$PGBIN/pgbench" -n -c "$CLIENTS" -j "$THREADS" -T $((SECS + 2)) \
		-h "$SOCK" -p "$PPORT" -U "$DBUSER" "$DB" >"$out" 2>&1
	load=$BG_PID
	sleep 1
	run_wrk loaded_primary /primary "$round" --timeout 1s
	wait "$load" || { cat "$out" >&2; die "pgbench TPC-B failed"; }
	CHILD_PIDS=()                # reaped: its PID may be reused from now on
	R[tpcb.$round.rps]=$(awk '/^tps = / { printf "%.0f", $3 }' "$out")
	printf '  %-15s round %d: %8s tx/s   (the write load during loaded_primary)\n' tpcb "$round" "${R[tpcb.$round.rps]}"
}

run_one() {  # measurement name, round
	case $1 in
		http_primary) run_wrk http_primary /primary "$2" ;;
		http_health) run_wrk http_health /health "$2" ;;
		sql_health_json) run_sql sql_health_json "$TMP/health_json.sql" "$2" ;;
		sql_in_recovery) run_sql sql_in_recovery "$TMP/is_in_recovery.sql" "$2" ;;
		loaded_primary) run_loaded "$2" ;;
	esac
}

MEASUREMENTS=(http_primary http_health sql_health_json sql_in_recovery loaded_primary)

hdr "warm-up (2 s each, not counted)"
wrk -t "$WRK_THREADS" -c "$WRK_CONNS" -d 2s "http://127.0.0.1:$HPORT/primary" >/dev/null 2>&1 || true
"$PGBIN/pgbench" -n -c "$CLIENTS" -j "$THREADS" -T 2 -f "$TMP/health_json.sql" \
	-h "$SOCK" -p "$PPORT" -U "$DBUSER" "$DB" >/dev/null 2>&1 || true

for ((round = 1; round <= ROUNDS; round++)); do
	if ((round % 2)); then
		order=("${MEASUREMENTS[@]}")
	else
		order=()
		for ((k = ${#MEASUREMENTS[@]} - 1; k >= 0; k--)); do order+=("${MEASUREMENTS[k]}"); done
	fi
	hdr "round $round of $ROUNDS (${SECS} s per run): ${order[*]}"
	for m in "${order[@]}"; do run_one "$m" "$round"; done
done

if [[ $PERF == 1 ]]; then
	hdr "perf record -g of the HTTP worker (PID $HTTP_WORKER) during one more /primary run"
	if command -v perf >/dev/null; then
		bg_run perf record -g -o "$TMP/perf.data" -p "$HTTP_WORKER" -- sleep "$SECS" 2>"$LOGS/perf.log"
		perf_pid=$BG_PID
		run_wrk perf_primary /primary 1
		wait "$perf_pid" || true
		CHILD_PIDS=()
		say "  self time, top 15:"
		perf report -i "$TMP/perf.data" --no-children --stdio --sort dso,symbol -g none 2>/dev/null |
			grep -E '^ +[0-9.]+%' | head -n 15 || true
		say "  user-space functions including callees (iqf_http_answer = snapshot copy + health + body), top 25:"
		perf report -i "$TMP/perf.data" --children --stdio --sort symbol -g none 2>/dev/null |
			grep -E '^ +[0-9.]+% .*\[\.\]' | head -n 25 || true
	else
		say "perf not found"
	fi
fi

# ------------------------------------------------------------------ summary
median() {  # values...
	printf '%s\n' "$@" | grep -E '^-?[0-9.]+$' | sort -g | awk '{ v[NR] = $1 }
		END { if (NR == 0) print "-"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
med() {  # name metric
	local vals=() r
	for ((r = 1; r <= ROUNDS; r++)); do vals+=("${R[$1.$r.$2]:-}"); done
	median "${vals[@]}"
}
sum_all() {  # name metric: total over rounds
	local t=0 r
	for ((r = 1; r <= ROUNDS; r++)); do t=$((t + ${R[$1.$r.$2]:-0})); done
	echo "$t"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.1fx", a / b; else print "-" }'; }

hdr "summary: medians of $ROUNDS runs of ${SECS} s; wrk -t$WRK_THREADS -c$WRK_CONNS keep-alive, pgbench -c$CLIENTS -j$THREADS Unix socket"
# errors: wrk socket errors (incl. timeouts) + non-2xx, pgbench failed
# transactions; summed over all rounds
printf '%-44s %10s %8s %8s %8s %8s %7s %11s\n' measurement "req|tx/s" "p50 ms" "p90 ms" "p99 ms" "avg ms" errors "worker CPU"
row() {  # label name errors [cpu]
	printf '%-44s %10s %8s %8s %8s %8s %7s %11s\n' "$1" "$(med "$2" rps)" "$(med "$2" p50)" "$(med "$2" p90)" \
		"$(med "$2" p99)" "$(med "$2" avg)" "$3" "${4:-}"
}
http_errors() { echo $(($(sum_all "$1" sockerr) + $(sum_all "$1" non2xx))); }
row "HTTP GET /primary" http_primary "$(http_errors http_primary)" "$(med http_primary cpu)%"
row "HTTP GET /health" http_health "$(http_errors http_health)" "$(med http_health cpu)%"
row "SQL SELECT innoquim_failover.health_json()" sql_health_json "$(sum_all sql_health_json failed)"
row "SQL SELECT pg_is_in_recovery()" sql_in_recovery "$(sum_all sql_in_recovery failed)"
row "HTTP GET /primary under TPC-B load" loaded_primary "$(http_errors loaded_primary)" "$(med loaded_primary cpu)%"
printf '%-44s %10s\n' "  (TPC-B load, scale $SCALE, during it)" "$(med tpcb rps)"

say ""
say "ratios (median req/s / median TPS):"
say "  /primary vs health_json():        $(ratio "$(med http_primary rps)" "$(med sql_health_json rps)")"
say "  /primary vs pg_is_in_recovery():  $(ratio "$(med http_primary rps)" "$(med sql_in_recovery rps)")"
say "  /health  vs health_json():        $(ratio "$(med http_health rps)" "$(med sql_health_json rps)")"

LOADED_ERR=$(sum_all loaded_primary sockerr)
LOADED_TIMEOUTS=$(sum_all loaded_primary timeouts)
LOADED_NON2XX=$(sum_all loaded_primary non2xx)
say "  under TPC-B load, all rounds: socket errors $LOADED_ERR (of which timeouts $LOADED_TIMEOUTS), non-2xx $LOADED_NON2XX"

verdict() { if awk "BEGIN { exit !($1) }"; then echo PASS; else echo FAIL; fi; }
P_RPS=$(med http_primary rps)
P_P99=$(med http_primary p99)
L_P99=$(med loaded_primary p99)
say ""
say "targets:"
say "  (d) /primary >= $TARGET_RPS req/s with p99 < $TARGET_P99_MS ms: $P_RPS req/s, p99 $P_P99 ms -> $(verdict "$P_RPS >= $TARGET_RPS && $P_P99 < $TARGET_P99_MS")"
say "  (c) under TPC-B load: no failed or timed-out check, p99 < $TARGET_LOADED_P99_MS ms: errors $((LOADED_ERR + LOADED_NON2XX)), p99 $L_P99 ms -> $(verdict "$LOADED_ERR + $LOADED_NON2XX == 0 && $L_P99 < $TARGET_LOADED_P99_MS")"
say ""
say "load average after: $(cut -d' ' -f1-3 /proc/loadavg); finished in $((SECONDS - T_START)) s"
