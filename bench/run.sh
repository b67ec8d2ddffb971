#!/usr/bin/env bash
# bench/run.sh - innoquim_failover benchmark, one command:  bash bench/run.sh
#
# Builds a throw-away primary + hot standby (PostgreSQL 15) in a mktemp dir
# and measures, side by side in one run:
#   (a) read throughput (pgbench -n -c 4 -j 2 -T N -f script, select-only, Unix
#       socket) of SELECT * FROM innoquim_failover.health against the raw SQL
#       an application would run for the same answer, on the primary (with the
#       standby attached) and on the standby; alternating rounds, medians.
#   (b) TPC-B-like write throughput (pgbench default script, scale 10,
#       -c 4 -j 2) on the same data directory restarted without the library,
#       with it (monitor_interval 500ms) and with it at 100ms, in alternating
#       rounds (A B C C B A ...); medians and ratios against "without".
#   (c) detection latency with the default monitor_interval (500ms): kill -9
#       of the primary's postmaster -> standby's innoquim_failover.upstream
#       says connected = false; pg_ctl stop -m fast of the standby -> the
#       primary's innoquim_failover.replication no longer lists it.  Polled
#       from one persistent connection every BENCH_POLL_MS; median and max
#       against the target "one monitor interval + 100 ms".
#
# Runs as root (servers then run as the unprivileged IQF_USER via runuser:
# postgres if it exists, else iqf, created if missing) or as a normal user.
# Servers listen on 127.0.0.1 only (TCP is used by replication, with a random
# password) and on a Unix socket in the mktemp dir (mode 0700, trust).  On any
# exit every server started here is stopped by PID and the dir is removed.
#
# Environment knobs (defaults; quick-mode defaults in brackets):
#   BENCH_QUICK=1        quick mode: about 1-1.5 minutes (default mode: about 5)
#   BENCH_SECS           (a) seconds per pgbench run            5  [2]
#   BENCH_ROUNDS         (a) rounds (each runs both queries)    3  [2]
#   BENCH_WRITE_SECS     (b) seconds per measured pgbench run   10 [3]
#   BENCH_WRITE_ROUNDS   (b) rounds (each runs every variant)   3  [2]
#   BENCH_WRITE_VARIANTS (b) "off 500 100" [off 500]: off = no shared_preload_libraries,
#                        N = library preloaded with monitor_interval = N ms
#   BENCH_WARMUP_SECS    (b) unmeasured pgbench after each restart 2 [1]
#   BENCH_SCALE          (b) pgbench scale                      10 [10]
#   BENCH_SYNC_COMMIT    synchronous_commit for every server    off
#   RUNS                 (c) runs per event                     5  [3]
#   BENCH_POLL_MS        (c) polling period of the probe        10
#   BENCH_CLIENTS / BENCH_THREADS  pgbench -c / -j               4 / 2
#   BENCH_PORT           primary's port; the standby uses +1    25432
#   BENCH_INSTALL        auto: `make install` (as root) only if the extension is not
#                        installed; 1: always run `make install` first (root);
#                        0: never.  The default is auto, so a running build by
#                        someone else in the tree is not raced.
#   BENCH_SKIP           space-separated sections to skip: a b c
#   PG_CONFIG            /usr/lib/postgresql/15/bin/pg_config
#   IQF_USER             server user when run as root
#   BENCH_KEEP=1         keep the scratch dir (servers are still stopped)
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(dirname "$BENCH_DIR")
HELPER=$BENCH_DIR/iqf_bench.py

# ------------------------------------------------------------------ settings
CMDLINE="$(env | grep -E '^(BENCH_[A-Z_]*|RUNS|PG_CONFIG|IQF_USER)=' | sort | while IFS= read -r kv; do printf '%q ' "$kv"; done)bash $(printf '%q ' "$0" "$@")"
QUICK=${BENCH_QUICK:-0}
[[ $QUICK == 1 ]] || QUICK=0
if ((QUICK)); then q=1; else q=0; fi
pick() { if ((q)); then echo "$2"; else echo "$1"; fi; }

PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
READ_SECS=${BENCH_SECS:-$(pick 5 2)}
READ_ROUNDS=${BENCH_ROUNDS:-$(pick 3 2)}
WRITE_SECS=${BENCH_WRITE_SECS:-$(pick 10 3)}
WRITE_ROUNDS=${BENCH_WRITE_ROUNDS:-$(pick 3 2)}
WRITE_VARIANTS=${BENCH_WRITE_VARIANTS:-$(pick "off 500 100" "off 500")}
WARMUP_SECS=${BENCH_WARMUP_SECS:-$(pick 2 1)}
SCALE=${BENCH_SCALE:-10}
SYNC_COMMIT=${BENCH_SYNC_COMMIT:-off}
RUNS=${RUNS:-$(pick 5 3)}
POLL_MS=${BENCH_POLL_MS:-10}
CLIENTS=${BENCH_CLIENTS:-4}
THREADS=${BENCH_THREADS:-2}
PPORT=${BENCH_PORT:-25432}
SPORT=$((PPORT + 1))
SKIP=" ${BENCH_SKIP:-} "
KEEP=${BENCH_KEEP:-0}
MONITOR_MS=500               # the default monitor_interval, used for (a) and (c)
TARGET_MS=$((MONITOR_MS + 100))
DBUSER=bench                 # bootstrap superuser of the scratch clusters
DB=postgres
APPNAME=bench_standby

PGBIN=$("$PG_CONFIG" --bindir)
AS_ROOT=0
[[ $(id -u) -eq 0 ]] && AS_ROOT=1
INSTALL=${BENCH_INSTALL:-auto}
T_START=$SECONDS

for p in PPORT SPORT; do
	if [[ ${!p} == 5432 || ${!p} == 5433 ]]; then
		echo "error: refusing to use port ${!p}" >&2
		exit 2
	fi
done

# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
skipped() { [[ $SKIP == *" $1 "* ]]; }

say "command: $CMDLINE"
say "started: $(date -u '+%Y-%m-%d %H:%M:%S UTC')  mode: $( ((QUICK)) && echo quick || echo default)"

# ------------------------------------------------------------------ user, scratch dir, cleanup
bench_srv_user

bench_scratch iqf-bench
PDATA=$TMP/primary
SDATA=$TMP/standby
ORPHANS=()

helper() { as_srv python3 - "$@" <"$HELPER"; }


stop_pid() {  # stop_pid PID: TERM, then INT, QUIT, KILL, waiting after each
	local pid=$1 sig waits i
	for sig in TERM:100 INT:100 QUIT:50 KILL:50; do
		running "$pid" || return 0
		kill "-${sig%%:*}" "$pid" 2>/dev/null || true
		waits=${sig##*:}
		for ((i = 0; i < waits; i++)); do
			running "$pid" || return 0
			sleep 0.1
		done
	done
}

stop_dir() {  # stop the postmaster of a data dir, then any orphan still in it
	local dir=$1 pid p real
	[[ -d $dir ]] || return 0
	real=$(realpath "$dir")
	pid=$(pid_of_dir "$dir")
	[[ -n $pid ]] && stop_pid "$pid"
	# orphans (e.g. after the kill -9 runs): processes whose cwd is the data dir
	for p in $(find /proc -mindepth 2 -maxdepth 2 -name cwd -lname "$real" 2>/dev/null); do
		p=${p#/proc/}
		stop_pid "${p%/cwd}"
	done
	return 0
}

cleanup() {
	local rc=$? t0=$SECONDS
	set +e
	trap - EXIT INT TERM
	stop_dir "$SDATA"
	stop_dir "$PDATA"
	bench_drop_scratch "$t0"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

fail() {
	echo "error: $*" >&2
	for f in "$LOGS"/*.log; do
		[[ -f $f ]] || continue
		echo "--- tail of $f" >&2
		tail -n 20 "$f" >&2
	done
	exit 1
}

# ------------------------------------------------------------------ install, machine
bench_install
HAVE_PREWARM=0
[[ -f $("$PG_CONFIG" --sharedir)/extension/pg_prewarm.control ]] && HAVE_PREWARM=1

bench_machine
say "scratch: $TMP (servers run as $SRV_USER; ports $PPORT/$SPORT on 127.0.0.1 + Unix socket)"

helper port-free "$PPORT" "$SPORT" || fail "choose other ports with BENCH_PORT"

# ------------------------------------------------------------------ server helpers
PSQL=("$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$SOCK" -U "$DBUSER" -d "$DB")
psql_p() { "${PSQL[@]}" -p "$PPORT" "$@"; }
psql_s() { "${PSQL[@]}" -p "$SPORT" "$@"; }

pg_start() {  # pg_start DATADIR NAME
	as_srv "$PGBIN/pg_ctl" -D "$1" -l "$LOGS/$2.log" -w -t 120 start >>"$LOGS/pg_ctl.log" 2>&1 ||
		fail "could not start $2"
}
pg_stop() {  # pg_stop DATADIR NAME
	as_srv "$PGBIN/pg_ctl" -D "$1" -m fast -w -t 120 stop >>"$LOGS/pg_ctl.log" 2>&1 ||
		fail "could not stop $2"
}

wait_sql() {  # wait_sql PORT TIMEOUT EXPECTED SQL
	helper wait "$SOCK" "$1" "$DBUSER" "$DB" "$2" "$3" "$4" || fail "timed out: $4"
}
wait_streaming() {  # both monitors see the standby streaming
	wait_sql "$SPORT" 60 t "SELECT connected FROM innoquim_failover.upstream"
	wait_sql "$PPORT" 60 1 "SELECT count(*) FROM innoquim_failover.replication WHERE application_name = '$APPNAME' AND state = 'streaming'"
}

tps_of() { sed -n 's/^tps = \([0-9.]*\) .*/\1/p' "$1" | tail -n 1; }
stat_of() {  # stat_of FIELD NUMBERS...  (FIELD: median|min|max)
	local field=$1
	shift
	helper stats "$@" | tr ' ' '\n' | sed -n "s/^$field=//p"
}
fmt_list() { awk 'BEGIN { for (k = 1; k < ARGC; k++) printf "%s%.0f", (k > 1 ? " " : ""), ARGV[k] }' "$@"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0 && a != "" && a != "n/a") printf "%.3f", a / b; else printf "n/a" }'; }

# ------------------------------------------------------------------ primary
hdr "setup: primary"
as_srv mkdir -p "$SOCK" "$LOGS"
as_srv chmod 700 "$SOCK"
PASSWORD=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
as_srv "$PGBIN/initdb" -D "$PDATA" -U "$DBUSER" -E UTF8 --locale=C --no-sync \
	--auth-local=trust --auth-host=scram-sha-256 >"$LOGS/initdb.log" 2>&1 || fail "initdb failed"
as_srv tee -a "$PDATA/postgresql.conf" >/dev/null <<EOF

# ---- bench/run.sh
listen_addresses = '127.0.0.1'
unix_socket_directories = '$SOCK'
unix_socket_permissions = 0700
max_connections = 40
shared_buffers = 256MB
wal_level = replica
max_wal_senders = 4
wal_keep_size = 1GB
max_wal_size = 4GB
checkpoint_timeout = 30min
fsync = on
synchronous_commit = $SYNC_COMMIT
hot_standby = on
wal_retrieve_retry_interval = 100ms
log_line_prefix = '%m [%p] %q%a '
shared_preload_libraries = 'innoquim_failover'
innoquim_failover.monitor_interval = ${MONITOR_MS}ms
include_if_exists = 'node.conf'
include_if_exists = 'variant.conf'
EOF
as_srv tee "$PDATA/node.conf" >/dev/null <<EOF
port = $PPORT
innoquim_failover.node_name = 'bench_primary'
EOF
pg_start "$PDATA" primary
psql_p -c "ALTER ROLE $DBUSER PASSWORD '$PASSWORD'" -c "CREATE EXTENSION innoquim_failover" ||
	fail "CREATE EXTENSION failed"
((HAVE_PREWARM)) && psql_p -c "CREATE EXTENSION pg_prewarm"
say "primary up on port $PPORT: $(psql_p -Atc "SELECT 'status=' || status || ', role=' || role || ', monitor_pid=' || monitor_pid || ', monitor_interval_ms=' || monitor_interval_ms FROM innoquim_failover.health")"

# ------------------------------------------------------------------ (b) write throughput
declare -A WTPS=()   # variant -> space-separated TPS list
declare -A WCPU=()   # variant -> server CPU microseconds per transaction, per run
declare -A WROUND=() # round:variant -> TPS
variant_label() {
	case $1 in
	off) echo "without the library" ;;
	*) echo "with the library, monitor_interval ${1}ms" ;;
	esac
}
if ! skipped b; then
	hdr "(b) write throughput: pgbench TPC-B-like, scale $SCALE, -c $CLIENTS -j $THREADS -T $WRITE_SECS, $WRITE_ROUNDS rounds, variants: $WRITE_VARIANTS"
	say "    synchronous_commit=$SYNC_COMMIT, fsync=on, shared_buffers=256MB; no standby attached during (b)"
	say "    each run: restart the same data dir with the variant's settings, prewarm, ${WARMUP_SECS}s unmeasured pgbench, vacuum as"
	say "    pgbench would, then the measured pgbench -n run; server CPU = CPU time of all the server's processes during it"
	"$PGBIN/pgbench" -i -q -s "$SCALE" -h "$SOCK" -p "$PPORT" -U "$DBUSER" "$DB" >"$LOGS/pgbench_init.log" 2>&1 ||
		fail "pgbench -i failed: $(tail -n 5 "$LOGS/pgbench_init.log")"
	psql_p -c "CHECKPOINT"
	read -r -a VARS <<<"$WRITE_VARIANTS"
	for ((r = 1; r <= WRITE_ROUNDS; r++)); do
		order=("${VARS[@]}")
		if ((r % 2 == 0)); then  # A B C, C B A, A B C ...
			order=()
			for ((i = ${#VARS[@]} - 1; i >= 0; i--)); do order+=("${VARS[i]}"); done
		fi
		for v in "${order[@]}"; do
			pg_stop "$PDATA" primary
			if [[ $v == off ]]; then
				printf "shared_preload_libraries = ''\n" | as_srv tee "$PDATA/variant.conf" >/dev/null
			elif [[ $v =~ ^[0-9]+$ ]]; then
				printf "innoquim_failover.monitor_interval = %sms\n" "$v" | as_srv tee "$PDATA/variant.conf" >/dev/null
			else
				fail "bad BENCH_WRITE_VARIANTS entry: $v"
			fi
			pg_start "$PDATA" primary
			# check that the variant is what it claims to be
			workers=$(psql_p -Atc "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'innoquim_failover monitor'")
			if [[ $v == off ]]; then
				[[ $workers == 0 ]] || fail "variant off: the monitor is running"
				check="no monitor worker"
			else
				[[ $workers == 1 ]] || wait_sql "$PPORT" 10 1 "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'innoquim_failover monitor'"
				wait_sql "$PPORT" 10 "$v" "SELECT monitor_interval_ms FROM innoquim_failover.health"
				check="monitor pid $(psql_p -Atc "SELECT monitor_pid FROM innoquim_failover.health"), interval $(psql_p -Atc "SHOW innoquim_failover.monitor_interval")"
			fi
			if ((HAVE_PREWARM)); then
				psql_p -Atc "SELECT sum(pg_prewarm(c.oid)) FROM pg_class c WHERE c.relname LIKE 'pgbench\_%' AND c.relkind IN ('r','i')" >/dev/null
			fi
			if ((WARMUP_SECS > 0)); then
				"$PGBIN/pgbench" -n -c "$CLIENTS" -j "$THREADS" -T "$WARMUP_SECS" -h "$SOCK" -p "$PPORT" -U "$DBUSER" "$DB" >/dev/null 2>&1 ||
					fail "warm-up pgbench failed"
			fi
			# what pgbench's own pre-run vacuum does, outside the measured CPU window
			psql_p -c "VACUUM pgbench_branches" -c "VACUUM pgbench_tellers" -c "TRUNCATE pgbench_history"
			out=$LOGS/pgbench_b_${r}_$v.log
			cpu0=$(helper cpu "$PDATA" "$DBUSER" "$DB")
			"$PGBIN/pgbench" -n -c "$CLIENTS" -j "$THREADS" -T "$WRITE_SECS" -h "$SOCK" -p "$PPORT" -U "$DBUSER" "$DB" >"$out" 2>&1 ||
				fail "pgbench failed: $(tail -n 5 "$out")"
			cpu1=$(helper cpu "$PDATA" "$DBUSER" "$DB")
			tps=$(tps_of "$out")
			ntx=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$out")
			[[ -n $tps && -n $ntx && $ntx -gt 0 ]] || fail "no tps in $out"
			us=$(awk -v a="$cpu0" -v b="$cpu1" -v n="$ntx" 'BEGIN { printf "%.1f", (b - a) * 1e6 / n }')
			WTPS[$v]="${WTPS[$v]:-} $tps"
			WCPU[$v]="${WCPU[$v]:-} $us"
			WROUND[$r:$v]=$tps
			printf '    round %d  %-42s tps %8.1f  server CPU %6.1f us/tx  (%s)\n' "$r" "$(variant_label "$v")" "$tps" "$us" "$check"
		done
	done
	# back to the default configuration, without the pgbench tables
	rm -f "$PDATA/variant.conf"
	"$PGBIN/pgbench" -i -I d -h "$SOCK" -p "$PPORT" -U "$DBUSER" "$DB" >/dev/null 2>&1 || true
	pg_stop "$PDATA" primary
	pg_start "$PDATA" primary
fi

# ------------------------------------------------------------------ standby
if ! skipped a || ! skipped c; then
	hdr "setup: standby"
	as_srv "$PGBIN/pg_basebackup" -D "$SDATA" -h "$SOCK" -p "$PPORT" -U "$DBUSER" -X stream -c fast \
		>"$LOGS/basebackup.log" 2>&1 || fail "pg_basebackup failed"
	as_srv tee "$SDATA/node.conf" >/dev/null <<EOF
port = $SPORT
innoquim_failover.node_name = 'bench_standby'
EOF
	as_srv tee -a "$SDATA/postgresql.auto.conf" >/dev/null <<EOF
primary_conninfo = 'host=127.0.0.1 port=$PPORT user=$DBUSER password=$PASSWORD application_name=$APPNAME'
EOF
	as_srv touch "$SDATA/standby.signal"
	pg_start "$SDATA" standby
	wait_streaming
	say "standby up on port $SPORT, streaming from 127.0.0.1:$PPORT over TCP"
fi

# ------------------------------------------------------------------ (a) read throughput
Q_VIEW='SELECT * FROM innoquim_failover.health;'
Q_RAW="SELECT pg_is_in_recovery(), (SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'), (SELECT status FROM pg_stat_wal_receiver), pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn(), pg_last_xact_replay_timestamp(), (SELECT json_agg(r) FROM pg_stat_replication r);"
declare -A RTPS=()   # node:query -> TPS list
if ! skipped a; then
	hdr "(a) read throughput: pgbench -n -c $CLIENTS -j $THREADS -T $READ_SECS -f <query> over the Unix socket, $READ_ROUNDS rounds"
	printf '%s\n' "$Q_VIEW" >"$TMP/q_view.sql"
	printf '%s\n' "$Q_RAW" >"$TMP/q_raw.sql"
	say "    view: $Q_VIEW"
	say "    raw:  $Q_RAW"
	for node in primary standby; do
		port=$PPORT
		[[ $node == standby ]] && port=$SPORT
		say "    $node answers: view -> $("${PSQL[@]}" -p "$port" -AtF ' | ' -c "SELECT status, role, streaming_standbys, coalesce(upstream_status, '-'), lag_bytes FROM innoquim_failover.health")"
		say "    $(printf '%*s' ${#node} '')          raw  -> $("${PSQL[@]}" -p "$port" -AtF ' | ' -c "${Q_RAW%;}" | cut -c1-150)"
	done
	for ((r = 1; r <= READ_ROUNDS; r++)); do
		for node in primary standby; do
			port=$PPORT
			[[ $node == standby ]] && port=$SPORT
			if ((r % 2)); then qs=(view raw); else qs=(raw view); fi
			for qn in "${qs[@]}"; do
				out=$LOGS/pgbench_a_${r}_${node}_$qn.log
				"$PGBIN/pgbench" -n -c "$CLIENTS" -j "$THREADS" -T "$READ_SECS" -f "$TMP/q_$qn.sql" \
					-h "$SOCK" -p "$port" -U "$DBUSER" "$DB" >"$out" 2>&1 ||
					fail "pgbench failed: $(tail -n 5 "$out")"
				tps=$(tps_of "$out")
				[[ -n $tps ]] || fail "no tps in $out"
				RTPS[$node:$qn]="${RTPS[$node:$qn]:-} $tps"
				printf '    round %d  %-8s %-5s tps %10.1f\n' "$r" "$node" "$qn" "$tps"
			done
		done
	done
fi

# ------------------------------------------------------------------ (c) detection latency
KILL_D=() KILL_C=() STOP_D=() STOP_C=()
if ! skipped c; then
	hdr "(c) detection latency, monitor_interval ${MONITOR_MS}ms, target <= ${TARGET_MS} ms, probe polls every ${POLL_MS} ms, $RUNS runs each"
	say "    t0 = monotonic clock just before kill -9 / just before spawning pg_ctl stop; a random 0-${MONITOR_MS} ms pause"
	say "    before t0 spreads the event over the monitor's cadence.  core = the same change seen in the core view"
	say "    (pg_stat_wal_receiver empty / pg_stat_replication without the standby), for reference."
	for ((i = 1; i <= RUNS; i++)); do
		res=$(helper kill-primary "$SOCK" "$SPORT" "$DBUSER" "$DB" "$PDATA" "$POLL_MS" 10 "$MONITOR_MS") ||
			fail "kill-primary probe failed"
		d=$(sed -n 's/.*detect_ms=\([^ ]*\).*/\1/p' <<<"$res")
		c=$(sed -n 's/.*core_ms=\([^ ]*\).*/\1/p' <<<"$res")
		KILL_D+=("$d") KILL_C+=("$c")
		printf '    kill -9 primary   run %d: upstream.connected=false after %8s ms  (core %s ms; %s)\n' "$i" "$d" "$c" \
			"$(grep -o 'postmaster=[a-z_]* reaped_ms=[0-9]*' <<<"$res")"
		pg_start "$PDATA" primary
		wait_streaming
	done
	for ((i = 1; i <= RUNS; i++)); do
		res=$(helper stop-standby "$SOCK" "$PPORT" "$DBUSER" "$DB" "$SDATA" "$PGBIN/pg_ctl" "$APPNAME" "$POLL_MS" 10 "$MONITOR_MS") ||
			fail "stop-standby probe failed"
		d=$(sed -n 's/.*detect_ms=\([^ ]*\).*/\1/p' <<<"$res")
		c=$(sed -n 's/.*core_ms=\([^ ]*\).*/\1/p' <<<"$res")
		STOP_D+=("$d") STOP_C+=("$c")
		printf '    stop -m fast standby run %d: gone from replication after %8s ms  (core %s ms; %s)\n' "$i" "$d" "$c" \
			"$(grep -o 'standby_stopped_ms=[0-9]*' <<<"$res")"
		pg_start "$SDATA" standby
		wait_streaming
	done
fi

# ------------------------------------------------------------------ summary
BUSY_AFTER=$(cpu_busy)  # our servers are idle now: this is mostly other work
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)
hdr "summary"
say "command:  $CMDLINE"
say "machine:  nproc=$NPROC, ${CPU:-unknown CPU}, $(uname -sr)"
say "server:   $PGVER; tree at git $GITREV; installed innoquim_failover.so built $SO_DATE"
say "load:     CPUs ${BUSY_BEFORE}% busy before, ${BUSY_AFTER}% after (idle servers); loadavg $LOAD_BEFORE before, $LOAD_AFTER after"
if ((BUSY_BEFORE > 10 || BUSY_AFTER > 10)); then
	say "          WARNING: other processes were using the CPUs; the throughput figures in (a) and (b) are noisy"
fi
say "pgbench:  -c $CLIENTS -j $THREADS, Unix socket, simple protocol; fsync=on, synchronous_commit=$SYNC_COMMIT"
if ! skipped a; then
	say ""
	say "(a) read throughput, TPS median of $READ_ROUNDS x ${READ_SECS}s (pgbench -n -f), standby attached to the primary"
	printf '    %-8s %14s %14s %10s   %s\n' node "health view" "raw SQL" view/raw "runs view | raw"
	for node in primary standby; do
		mv=$(stat_of median ${RTPS[$node:view]})
		mr=$(stat_of median ${RTPS[$node:raw]})
		printf '    %-8s %14.1f %14.1f %10s   %s | %s\n' "$node" "$mv" "$mr" "$(ratio "$mv" "$mr")" \
			"$(fmt_list ${RTPS[$node:view]})" "$(fmt_list ${RTPS[$node:raw]})"
	done
	say "    (the raw SQL's cost is mostly pg_stat_replication's pg_stat_get_activity(), which copies the whole"
	say "    backend-status array on every call; the view reads one shared-memory snapshot)"
fi
if ! skipped b; then
	say ""
	say "(b) write throughput, TPC-B-like, scale $SCALE, $WRITE_ROUNDS x ${WRITE_SECS}s per variant, alternating restarts; target TPS ratio >= 0.99"
	say "    TPS ratio = median TPS / median TPS without the library; per-round = median over rounds of the ratio to that round's"
	say "    run without it; CPU ratio = median server CPU per transaction / the same without it (lower is better; less sensitive to the CPU share we get)"
	printf '    %-42s %10s %9s %9s %10s %9s %8s   %s\n' variant "median TPS" "TPS ratio" per-round "CPU us/tx" "CPU ratio" target "runs (TPS)"
	base="" basecpu=""
	if [[ -n ${WTPS[off]:-} ]]; then
		base=$(stat_of median ${WTPS[off]})
		basecpu=$(stat_of median ${WCPU[off]})
	fi
	for v in $WRITE_VARIANTS; do
		m=$(stat_of median ${WTPS[$v]})
		mc=$(stat_of median ${WCPU[$v]})
		rt="-" rr="-" rc="-" verdict="-"
		if [[ $v != off && -n $base ]]; then
			rt=$(ratio "$m" "$base")
			rc=$(ratio "$mc" "$basecpu")
			rl=()
			for ((r = 1; r <= WRITE_ROUNDS; r++)); do rl+=("$(ratio "${WROUND[$r:$v]}" "${WROUND[$r:off]}")"); done
			rr=$(stat_of median "${rl[@]}")
			rr=$(awk -v x="$rr" 'BEGIN { printf "%.3f", x }')
			verdict=$(awk -v x="$rt" 'BEGIN { print ((x + 0 >= 0.99) ? "met" : "MISSED") }')
		fi
		printf '    %-42s %10.1f %9s %9s %10.1f %9s %8s   %s\n' "$(variant_label "$v")" "$m" "$rt" "$rr" "$mc" "$rc" "$verdict" "$(fmt_list ${WTPS[$v]})"
	done
fi
if ! skipped c; then
	say ""
	say "(c) detection latency, monitor_interval ${MONITOR_MS}ms, $RUNS runs, poll every ${POLL_MS} ms; target <= ${TARGET_MS} ms (interval + 100 ms)"
	printf '    %-58s %8s %8s %8s   %s\n' event median max target "runs (ms) | core median/max"
	row_c() {
		local label=$1 dl=$2 cl=$3 med mx cmed cmx verdict
		med=$(stat_of median $dl)
		mx=$(stat_of max $dl)
		cmed=$(stat_of median $cl)
		cmx=$(stat_of max $cl)
		verdict=$(awk -v m="$med" -v x="$mx" -v t="$TARGET_MS" -v runs="$dl" 'BEGIN {
			if (runs ~ /timeout/ || m == "n/a") { print "MISSED"; exit }
			print ((x + 0 <= t) ? "met" : ((m + 0 <= t) ? "median met, max MISSED" : "MISSED")) }')
		printf '    %-58s %8s %8s %8s   %s | core %s/%s\n' "$label" "$med" "$mx" "$verdict" "$dl" "$cmed" "$cmx"
	}
	row_c "kill -9 primary -> standby upstream.connected = false" "${KILL_D[*]}" "${KILL_C[*]}"
	row_c "pg_ctl stop -m fast standby -> gone from primary replication" "${STOP_D[*]}" "${STOP_C[*]}"
fi
say ""
say "total time: $((SECONDS - T_START)) s"
