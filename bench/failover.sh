#!/usr/bin/env bash
# bench/failover.sh - innoquim_failover failover benchmark, one command:  bash bench/failover.sh
#
# Builds throw-away three-voter clusters (PostgreSQL 15) in a mktemp dir:
# primary p, hot standby s (pg_basebackup -R) and witness w (its own initdb,
# innoquim_failover.node_kind = 'witness'), all registered on p, and
# measures, side by side in one run, with the default failover settings
# (fence_timeout 2 s, failover_timeout 3 s, monitor_interval 500ms):
#   (1) kill -9 of p's postmaster -> first successful write on s (the new
#       primary).  p's agent outlives the postmaster and sends DEAD to the
#       voters: the fast path.  RUNS runs, each on a fresh cluster.
#   (2) a hung primary: SIGSTOP of p's postmaster and all its children ->
#       first successful write on s.  No death certificate: the voters wait
#       failover_timeout after their last lease grant, the slow path that a
#       network partition takes too.  Then p is resumed (SIGCONT) and must
#       refuse writes ("fenced").  RUNS runs, each on a fresh cluster.
#   (4) blips: SIGSTOP of the whole primary for BENCH_BLIP_MS (< failover_timeout),
#       then SIGCONT, BENCH_BLIPS times, BENCH_BLIP_GAP_MS apart, under light
#       write load: no failover may happen.
#   (3) soak: p saturated by pgbench (TPC-B, scale 10, -c 8 -j 2,
#       -T BENCH_SOAK_SECS) with checkpoint_timeout = 30s and a CHECKPOINT
#       every 20 s, every node checked every 5 s: no failover, no lease lapse.
# (run in the order 1, 2, 4, 3 so that the long soak comes last)
#
# Timing of (1) and (2): from one persistent connection to s (bench/iqf_bench.py
# failover-probe): a random 0-500 ms pause, t0 = monotonic clock just before
# the kill/SIGSTOP, then INSERT INTO bench_probe on s every BENCH_POLL_MS
# (reconnecting after connection errors) until one succeeds.  The winner's
# own decide_ms / promote_ms / first_write_ms (from its loss detection) are
# read from its failover view.
#
# Runs as root (servers then run as the unprivileged IQF_USER via runuser:
# postgres if it exists, else iqf, created if missing) or as a normal user.
# Servers listen on 127.0.0.1 (ports BENCH_PORT, +1, +2: 27432-27434) and on a
# Unix socket in the mktemp dir (mode 0700).  Authentication is trust on the
# socket and on 127.0.0.1 (the registry holds no passwords): any local user
# could connect to these scratch servers while the bench runs.  On any exit
# every server started here is stopped by PID and the dir is removed.
#
# Environment knobs (defaults; quick-mode defaults in brackets):
#   BENCH_QUICK=1        quick mode (about 4 minutes; default mode about 13-15)
#   RUNS                 (1), (2) runs each                     5   [3]
#   BENCH_SOAK_SECS      (3) pgbench -T                         600 [60]
#   BENCH_SOAK_CLIENTS / BENCH_SOAK_THREADS  (3) pgbench -c / -j  8 / 2
#   BENCH_SCALE          (3) pgbench scale                      10
#   BENCH_BLIPS          (4) number of blips                    3
#   BENCH_BLIP_MS        (4) SIGSTOP duration                   1000
#   BENCH_BLIP_GAP_MS    (4) pause between blips                5000
#   BENCH_POLL_MS        (1), (2) write attempts every          10
#   BENCH_JITTER_MS      (1), (2) random pause before t0, max   500
#   BENCH_PORT           p's port; s +1, w +2                   27432
#   BENCH_EXTRA_CONF     settings added to every node, ';'-separated, e.g.
#                        "wal_retrieve_retry_interval = 100ms" (default: none, the
#                        measurements are of the defaults)
#   BENCH_SKIP           space-separated sections to skip: kill hang blip soak
#   BENCH_INSTALL        auto: `make install` (as root) only if the extension is not
#                        installed; 1: always; 0: never
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
pick() { if ((QUICK)); then echo "$2"; else echo "$1"; fi; }

PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
RUNS=${RUNS:-$(pick 5 3)}
SOAK_SECS=${BENCH_SOAK_SECS:-$(pick 600 60)}
SOAK_CLIENTS=${BENCH_SOAK_CLIENTS:-8}
SOAK_THREADS=${BENCH_SOAK_THREADS:-2}
SCALE=${BENCH_SCALE:-10}
BLIPS=${BENCH_BLIPS:-3}
BLIP_MS=${BENCH_BLIP_MS:-1000}
BLIP_GAP_MS=${BENCH_BLIP_GAP_MS:-5000}
POLL_MS=${BENCH_POLL_MS:-10}
JITTER_MS=${BENCH_JITTER_MS:-500}
PPORT=${BENCH_PORT:-27432}
SPORT=$((PPORT + 1))
WPORT=$((PPORT + 2))
SKIP=" ${BENCH_SKIP:-} "
KEEP=${BENCH_KEEP:-0}
EXTRA_CONF=()
IFS=';' read -r -a EXTRA_CONF <<<"${BENCH_EXTRA_CONF:-}"
INSTALL=${BENCH_INSTALL:-auto}
PROBE_TIMEOUT_S=30          # (1), (2): give up on a run after this
CHECKPOINT_EVERY_S=20       # (3)
SAMPLE_EVERY_S=5            # (3)
REPORT_EVERY_S=$(pick 60 15)  # (3) progress line
KILL_TARGET_MED_MS=500
KILL_TARGET_MAX_MS=1000
DB=postgres

PGBIN=$("$PG_CONFIG" --bindir)
AS_ROOT=0
[[ $(id -u) -eq 0 ]] && AS_ROOT=1
T_START=$SECONDS

for p in PPORT SPORT WPORT; do
	if [[ ${!p} == 5432 || ${!p} == 5433 ]]; then
		echo "error: refusing to use port ${!p}" >&2
		exit 2
	fi
done
for v in RUNS SOAK_SECS SOAK_CLIENTS SOAK_THREADS SCALE BLIPS BLIP_MS BLIP_GAP_MS POLL_MS JITTER_MS PPORT; do
	[[ ${!v} =~ ^[0-9]+$ ]] || { echo "error: $v must be a number (got '${!v}')" >&2; exit 2; }
done
((RUNS >= 1)) || { echo "error: RUNS must be at least 1" >&2; exit 2; }

# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
skipped() { [[ $SKIP == *" $1 "* ]]; }

say "command: $CMDLINE"
say "started: $(date -u '+%Y-%m-%d %H:%M:%S UTC')  mode: $( ((QUICK)) && echo quick || echo default)"

# ------------------------------------------------------------------ user, scratch dir, cleanup
bench_srv_user
DBUSER=$SRV_USER            # initdb's bootstrap superuser: the server's OS user

bench_scratch iqf-failover
BG_PIDS=()                  # background pgbench processes started here

helper() { as_srv python3 - "$@" <"$HELPER"; }


stop_pid() {  # stop_pid PID SIGNAL:WAITS...  (waits in tenths of a second)
	local pid=$1 sig waits i
	shift
	for sig in "$@"; do
		running "$pid" || return 0
		kill "-${sig%%:*}" "$pid" 2>/dev/null || true
		waits=${sig##*:}
		for ((i = 0; i < waits; i++)); do
			running "$pid" || return 0
			sleep 0.1
		done
	done
}

dir_pids() {  # processes whose cwd is the data dir (a postmaster and its children, orphans too)
	local real p
	real=$(realpath "$1")
	for p in $(find /proc -mindepth 2 -maxdepth 2 -name cwd -lname "$real" 2>/dev/null); do
		p=${p#/proc/}
		echo "${p%/cwd}"
	done
}

stop_dir() {  # stop_dir DATADIR [fast|immediate]: the postmaster, then any orphan still in it
	local dir=$1 how=${2:-fast} pid p
	[[ -d $dir ]] || return 0
	# a frozen server (SIGSTOP) cannot act on SIGINT: resume every process first
	for p in $(dir_pids "$dir"); do kill -CONT "$p" 2>/dev/null || true; done
	pid=$(pid_of_dir "$dir")
	if [[ -n $pid ]]; then
		if [[ $how == immediate ]]; then
			stop_pid "$pid" QUIT:100 KILL:50
		else
			stop_pid "$pid" INT:150 QUIT:50 KILL:50
		fi
	fi
	for p in $(dir_pids "$dir"); do
		stop_pid "$p" TERM:30 KILL:50
	done
	return 0
}

all_datadirs() {
	local d
	for d in "$TMP"/tpl_p "$TMP"/tpl_w "$TMP"/*/p "$TMP"/*/s "$TMP"/*/w; do
		[[ -f $d/PG_VERSION ]] && echo "$d"
	done
	return 0
}

cleanup() {
	local rc=$? t0=$SECONDS d p
	set +e
	trap - EXIT INT TERM
	for p in "${BG_PIDS[@]}"; do
		running "$p" && stop_pid "$p" TERM:50 KILL:20
	done
	for d in $(all_datadirs); do stop_dir "$d" immediate; done
	bench_drop_scratch "$t0"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

CUR=""                      # the current cluster's dir, for fail()
fail() {
	local f
	echo "error: $*" >&2
	if [[ -n $CUR ]]; then
		for f in "$CUR"/logs/*.log; do
			[[ -f $f ]] || continue
			echo "--- innoquim_failover events and last lines of $f" >&2
			grep 'innoquim_failover event' "$f" | tail -n 30 >&2
			tail -n 10 "$f" >&2
		done
	fi
	exit 1
}

# ------------------------------------------------------------------ install, machine
bench_install

bench_machine
say "scratch: $TMP (servers run as $SRV_USER; p/s/w on 127.0.0.1 ports $PPORT/$SPORT/$WPORT + Unix socket)"

helper port-free "$PPORT" "$SPORT" "$WPORT" || fail "choose other ports with BENCH_PORT"
as_srv mkdir -p "$SOCK" "$LOGS"
as_srv chmod 700 "$SOCK"

# ------------------------------------------------------------------ server helpers
PSQL=("$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$SOCK" -U "$DBUSER" -d "$DB")
psql_at() { local port=$1; shift; "${PSQL[@]}" -p "$port" -At "$@"; }

pg_start() {  # pg_start DATADIR LOGFILE NAME
	as_srv "$PGBIN/pg_ctl" -D "$1" -l "$2" -w -t 120 start >>"$LOGS/pg_ctl.log" 2>&1 ||
		fail "could not start $3"
}
pg_stop() {  # pg_stop DATADIR NAME
	as_srv "$PGBIN/pg_ctl" -D "$1" -m fast -w -t 120 stop >>"$LOGS/pg_ctl.log" 2>&1 ||
		fail "could not stop $2"
}
wait_sql() {  # wait_sql PORT TIMEOUT EXPECTED SQL
	helper wait "$SOCK" "$1" "$DBUSER" "$DB" "$2" "$3" "$4" || fail "timed out on port $1: $4"
}
node_conf() {  # node_conf DATADIR NAME PORT [EXTRA...]
	local dir=$1 name=$2 port=$3
	shift 3
	{
		printf "port = %s\ncluster_name = '%s'\ninnoquim_failover.node_name = '%s'\n" "$port" "$name" "$name"
		local l
		for l in "$@"; do printf '%s\n' "$l"; done
	} | as_srv tee "$dir/node.conf" >/dev/null
}
conninfo_of() { echo "host=127.0.0.1 port=$1 dbname=$DB user=$DBUSER"; }
stat_of() {  # stat_of FIELD NUMBERS...  (FIELD: median|min|max|n)
	local field=$1
	shift
	helper stats "$@" | tr ' ' '\n' | sed -n "s/^$field=//p"
}
val() { sed -n "s/^$1=//p" <<<"$2" | head -n 1; }
fmt_list() { local x out=""; for x in "$@"; do out+="${out:+ }$x"; done; echo "${out:--}"; }

# ------------------------------------------------------------------ templates (initdb once)
# Every cluster starts from copies of two stopped, initdb'd templates: p's
# (extension created, table bench_probe) and the witness's (its own initdb,
# node_kind = 'witness', extension created).  s is a pg_basebackup -R of p.
hdr "setup: templates (initdb p, initdb w)"
COMMON_CONF="
# ---- bench/failover.sh
listen_addresses = '127.0.0.1'
unix_socket_directories = '$SOCK'
unix_socket_permissions = 0700
log_line_prefix = '%m [%p] %q%a '
shared_preload_libraries = 'innoquim_failover'
include_if_exists = 'node.conf'"
for t in p w; do
	as_srv "$PGBIN/initdb" -D "$TMP/tpl_$t" -E UTF8 --locale=C --no-sync --auth=trust \
		>"$LOGS/initdb_$t.log" 2>&1 || fail "initdb ($t) failed: $(tail -n 5 "$LOGS/initdb_$t.log")"
	extra=""
	port=$PPORT
	if [[ $t == w ]]; then
		extra="innoquim_failover.node_kind = 'witness'"
		port=$WPORT
	fi
	printf '%s\n%s\n' "$COMMON_CONF" "$extra" | as_srv tee -a "$TMP/tpl_$t/postgresql.conf" >/dev/null
	node_conf "$TMP/tpl_$t" "$t" "$port"
	pg_start "$TMP/tpl_$t" "$LOGS/tpl_$t.log" "template $t"
	psql_at "$port" -c "CREATE EXTENSION innoquim_failover" >/dev/null || fail "CREATE EXTENSION ($t) failed"
	if [[ $t == p ]]; then
		psql_at "$port" -c "CREATE TABLE bench_probe (n bigint)" >/dev/null || fail "CREATE TABLE failed"
	fi
	pg_stop "$TMP/tpl_$t" "template $t"
done
say "    templates ready: $TMP/tpl_p, $TMP/tpl_w"

NCLUSTER=0
# build_cluster NAME [EXTRA_CONF_LINE...]: fresh p + s + w, registered, p holding its lease
build_cluster() {
	local name=$1 t1=$SECONDS d
	shift
	NCLUSTER=$((NCLUSTER + 1))
	d=$TMP/$name
	CUR=$d
	P=$d/p S=$d/s W=$d/w
	as_srv mkdir -p "$d/logs"
	as_srv cp -a "$TMP/tpl_p" "$P"
	as_srv cp -a "$TMP/tpl_w" "$W"
	node_conf "$P" p "$PPORT" "$@" "${EXTRA_CONF[@]}"
	node_conf "$W" w "$WPORT" "$@" "${EXTRA_CONF[@]}"
	pg_start "$P" "$d/logs/p.log" p
	pg_start "$W" "$d/logs/w.log" w
	as_srv "$PGBIN/pg_basebackup" -D "$S" -h 127.0.0.1 -p "$PPORT" -U "$DBUSER" -R -X stream -c fast \
		>"$d/logs/basebackup.log" 2>&1 || fail "pg_basebackup failed: $(tail -n 5 "$d/logs/basebackup.log")"
	node_conf "$S" s "$SPORT" "$@" "${EXTRA_CONF[@]}"
	pg_start "$S" "$d/logs/s.log" s
	psql_at "$PPORT" \
		-c "SELECT innoquim_failover.register_node('p', '$(conninfo_of "$PPORT")')" \
		-c "SELECT innoquim_failover.register_node('s', '$(conninfo_of "$SPORT")')" \
		-c "SELECT innoquim_failover.register_node('w', '$(conninfo_of "$WPORT")', 'witness')" \
		>/dev/null || fail "register_node failed"
	wait_sql "$PPORT" 60 "primary/t/3/p" \
		"SELECT format('%s/%s/%s/%s', phase, lease_enforced, voters, primary_name) FROM innoquim_failover.failover"
	wait_sql "$SPORT" 60 "following/3/p" \
		"SELECT format('%s/%s/%s', phase, voters, primary_name) FROM innoquim_failover.failover"
	wait_sql "$SPORT" 60 t "SELECT connected FROM innoquim_failover.upstream"
	wait_sql "$WPORT" 60 "witness/3/p" \
		"SELECT format('%s/%s/%s', phase, voters, primary_name) FROM innoquim_failover.failover"
	CLUSTER_SECS=$((SECONDS - t1))
	# R15: a voter uses a death certificate only once it has run for
	# failover_timeout (grants it made before its own start, which it forgot,
	# have expired by then).  A production cluster has; a cluster built a
	# second ago has not, and would measure the slow path instead.
	local up_sql="SELECT now() - pg_postmaster_start_time() > (SELECT failover_timeout_ms FROM innoquim_failover.failover) * interval '1 ms' + interval '200 ms'"
	wait_sql "$SPORT" 60 t "$up_sql"
	wait_sql "$WPORT" 60 t "$up_sql"
}
teardown_cluster() {
	local d=$CUR
	stop_dir "$d/s" immediate
	stop_dir "$d/w" immediate
	stop_dir "$d/p" immediate
	((KEEP)) || rm -rf "$d"
	CUR=""
}
events_of() {  # the innoquim_failover event lines of a node's log: "HH:MM:SS.mmm kind: detail"
	grep -h 'innoquim_failover event: ' "$1" 2>/dev/null |
		sed 's/^[0-9-]* \([0-9:.]*\) .*innoquim_failover event: /\1 /' || true
}

# ------------------------------------------------------------------ (1) and (2)
declare -A FO=() DEC=() PROM=() FW=()
ANOMALIES=()
FENCE_OK=0 FENCE_BAD=0 SUPERSEDED=0
FTIMEOUT_MS=""
run_probe() {  # run_probe kill|stop
	local mode=$1 sec label i res ms why w1="" w2=""
	if [[ $mode == kill ]]; then sec=kill label="kill -9 of p's postmaster"; else sec=hang label="SIGSTOP of p's postmaster + children"; fi
	for ((i = 1; i <= RUNS; i++)); do
		build_cluster "${sec}_$i"
		res=$(helper failover-probe "$SOCK" "$DBUSER" "$DB" "$PPORT" "$SPORT" "$WPORT" "$P" "$mode" \
			"$POLL_MS" "$PROBE_TIMEOUT_S" "$JITTER_MS") || fail "failover-probe failed: $res"
		ms=$(val failover_ms "$res")
		FO[$sec]="${FO[$sec]:-} $ms"
		DEC[$sec]="${DEC[$sec]:-} $(val decide_ms "$res")"
		PROM[$sec]="${PROM[$sec]:-} $(val promote_ms "$res")"
		FW[$sec]="${FW[$sec]:-} $(val first_write_ms "$res")"
		[[ -n $FTIMEOUT_MS ]] || FTIMEOUT_MS=$(val failover_timeout_ms "$res")
		printf '    run %d: %s -> first write on s after %8s ms  (s: decide %s, promote %s, first_write %s ms after its loss detection; %s attempts; cluster built in %ds)\n' \
			"$i" "$label" "$ms" "$(val decide_ms "$res")" "$(val promote_ms "$res")" "$(val first_write_ms "$res")" \
			"$(val attempts "$res")" "$CLUSTER_SECS"
		say "           s: phase $(val s_phase "$res"), term $(val s_term "$res"), failovers $(val s_failovers "$res"); w: $(val w_view "$res") (phase|term|primary); lost: $(val s_lost_reason "$res")"
		say "           errors on s before: $(val errors "$res")"
		if [[ $mode == stop ]]; then
			w1=$(val p_write_old_session "$res")
			w2=$(val p_write_new_session "$res")
			say "           p frozen ($(val frozen_pids "$res") processes, in $(val freeze_ms "$res") ms) for $(val stopped_for_ms "$res") ms, then SIGCONT; write on p, session opened before the freeze: $w1"
			say "           write on p, new session: $w2"
			say "           p's failover phase $(val p_phase "$res") after $(val p_phase_ms "$res") ms; p role|accepting_writes: $(val p_role "$res"); s after p resumed: $(val s_after_resume "$res") (phase|role|accepting_writes)"
			if [[ $w1 == *fenced* && $w2 == *fenced* ]]; then FENCE_OK=$((FENCE_OK + 1)); else FENCE_BAD=$((FENCE_BAD + 1)); fi
			[[ $(val p_phase "$res") == superseded ]] && SUPERSEDED=$((SUPERSEDED + 1))
		fi
		# one clean failover: s won term 1, once, for the expected reason
		why=""
		[[ $ms == timeout || -z $ms ]] && why+=" no successful write;"
		[[ $(val s_failovers "$res") == 1 && $(val s_term "$res") == 1 ]] || why+=" s counts $(val s_failovers "$res") failovers, term $(val s_term "$res") (expected 1 and 1);"
		if [[ $mode == kill ]]; then
			[[ $(val s_lost_reason "$res") == *"reported its postmaster dead"* ]] || why+=" s's last primary_lost is not the death certificate;"
		else
			[[ $w1 == *fenced* && $w2 == *fenced* ]] || why+=" p resumed did not refuse writes with 'fenced';"
			[[ $(val s_lost_reason "$res") == *"no lease granted"* ]] || why+=" s's last primary_lost is not the lease timeout;"
		fi
		if [[ -n $why ]]; then
			ANOMALIES+=("$sec run $i:$why")
			say "           ANOMALY:$why innoquim_failover events of this run (health_changed and standby_* left out):"
			for n in p s w; do
				events_of "$CUR/logs/$n.log" | grep -vE '^[0-9:.]* (health_changed|standby_[a-z]*):' | sed "s/^/             $n: /" || true
			done
			grep -hE 'promot|LOG:  (redo|selected new timeline|archive recovery complete|database system is ready)' "$CUR/logs/s.log" |
				sed 's/^[0-9-]* \([0-9:.]*\) [A-Z]* \[[0-9]*\] /\1 /' | sed 's/^/             s log: /' || true
		fi
		teardown_cluster
	done
}

if ! skipped kill; then
	hdr "(1) kill -9 of the primary's postmaster -> first successful write on the standby, $RUNS runs, fresh cluster each"
	say "    p's agent outlives its postmaster and reports it dead to the voters (DEAD): the fast path."
	say "    random 0-${JITTER_MS} ms pause, t0 just before kill -9, INSERT INTO bench_probe on s every ${POLL_MS} ms until one succeeds."
	run_probe kill
fi
if ! skipped hang; then
	hdr "(2) hung primary (SIGSTOP of the postmaster and all its children) -> first successful write on the standby, $RUNS runs"
	say "    No death certificate: this is the slow path, the one a network partition takes.  The voters wait"
	say "    failover_timeout after their last lease grant before they vote; target: failover_timeout + 1 s."
	say "    Afterwards p is resumed (SIGCONT): a write on it must fail with 'fenced'."
	run_probe stop
fi

# ------------------------------------------------------------------ (4) blips
BLIP_RES="" BLIP_PGB="" BLIP_OK="" BLIP_FENCED=""
if ! skipped blip; then
	hdr "(4) blips: SIGSTOP of the whole primary for ${BLIP_MS} ms, then SIGCONT, $BLIPS times, ${BLIP_GAP_MS} ms apart, under light write load"
	say "    light load: pgbench -n -c 2 -j 1 -R 50, INSERT INTO bench_probe; a blip shorter than failover_timeout must not fail over"
	build_cluster blip
	printf 'INSERT INTO bench_probe VALUES (1);\n' | as_srv tee "$TMP/insert.sql" >/dev/null
	blip_t=$(((2000 + BLIPS * (BLIP_MS + BLIP_GAP_MS) + 4000 + 999) / 1000))
	"$PGBIN/pgbench" -n -c 2 -j 1 -R 50 -T "$blip_t" -f "$TMP/insert.sql" -h "$SOCK" -p "$PPORT" -U "$DBUSER" "$DB" \
		>"$CUR/logs/pgbench_blip.log" 2>&1 &
	pgb=$!
	BG_PIDS+=("$pgb")
	sleep 2
	BLIP_RES=$(helper blip "$SOCK" "$DBUSER" "$DB" "$PPORT" "$SPORT" "$P" "$BLIP_MS" "$BLIPS" "$BLIP_GAP_MS") ||
		fail "blip helper failed: $BLIP_RES"
	sed 's/^/    /' <<<"$BLIP_RES"
	pgb_rc=0
	wait "$pgb" || pgb_rc=$?
	# the voters' clocks: a failover would have started failover_timeout after the last grant
	sleep 1
	BLIP_OK=1
	for n in p s w; do
		port=$PPORT
		[[ $n == s ]] && port=$SPORT
		[[ $n == w ]] && port=$WPORT
		row=$(psql_at "$port" -F '|' -c "SELECT f.phase, f.term, f.failovers, pg_is_in_recovery(),
			(SELECT count(*) FROM innoquim_failover.events WHERE kind = 'fenced'),
			(SELECT count(*) FROM innoquim_failover.events WHERE kind = 'primary_lost')
			FROM innoquim_failover.failover f") || row="error"
		say "    after the blips, $n: phase|term|failovers|in_recovery|fenced events|primary_lost events = $row"
		IFS='|' read -r ph tm fo rec fe pl <<<"$row"
		want=primary
		[[ $n == s ]] && want=following
		[[ $n == w ]] && want=witness
		[[ $ph == "$want" && $tm == 0 && $fo == 0 && $pl == 0 ]] || BLIP_OK=0
		[[ $n == s && $rec != t ]] && BLIP_OK=0
		[[ $n == p ]] && BLIP_FENCED=$fe
	done
	pgb_failed=$(sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' "$CUR/logs/pgbench_blip.log")
	pgb_tx=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$CUR/logs/pgbench_blip.log")
	pgb_lat=$(sed -n 's/^latency average = \(.*\)/\1/p' "$CUR/logs/pgbench_blip.log")
	pgb_abort=$(grep -c 'aborted' "$CUR/logs/pgbench_blip.log" || true)
	BLIP_PGB="pgbench exit $pgb_rc, ${pgb_tx:-?} transactions, ${pgb_failed:-?} failed, $pgb_abort abort lines, latency average ${pgb_lat:-?}"
	say "    light load: $BLIP_PGB"
	if ((pgb_rc != 0)) || [[ ${pgb_failed:-x} != 0 ]]; then
		BLIP_OK=0
		grep -E 'error|abort' "$CUR/logs/pgbench_blip.log" | head -n 5 | sed 's/^/      /' || true
	fi
	say "    innoquim_failover events (p):"
	events_of "$CUR/logs/p.log" | grep -vE '^[0-9:.]* (node_registered|monitor_started|config_changed|standby_[a-z]*):' | sed 's/^/      /' || true
	((BLIP_OK)) || {
		say "    ANOMALY: events of s and w:"
		for n in s w; do events_of "$CUR/logs/$n.log" | sed "s/^/      $n: /" || true; done
	}
	teardown_cluster
fi

# ------------------------------------------------------------------ (3) soak
SOAK_RES="" SOAK_PGB="" SOAK_OK="" SOAK_LOG_FENCED="" SOAK_LOG_LOST="" SOAK_LOG_PROMOTING=""
if ! skipped soak; then
	hdr "(3) soak: pgbench TPC-B scale $SCALE, -c $SOAK_CLIENTS -j $SOAK_THREADS -T $SOAK_SECS on p; checkpoint_timeout = 30s + CHECKPOINT every ${CHECKPOINT_EVERY_S} s"
	say "    every ${SAMPLE_EVERY_S} s: every node's failover view (failovers = 0, term unchanged, phases primary/following/witness,"
	say "    no 'fenced' event on p, no 'primary_lost' on s/w); every 100 ms p's lease_remaining_ms (how close it came to lapse)"
	build_cluster soak "checkpoint_timeout = 30s"
	"$PGBIN/pgbench" -i -q -s "$SCALE" -h "$SOCK" -p "$PPORT" -U "$DBUSER" "$DB" >"$CUR/logs/pgbench_init.log" 2>&1 ||
		fail "pgbench -i failed: $(tail -n 5 "$CUR/logs/pgbench_init.log")"
	say "    pgbench -i -s $SCALE done (cluster built in ${CLUSTER_SECS}s); starting the load"
	"$PGBIN/pgbench" -c "$SOAK_CLIENTS" -j "$SOAK_THREADS" -T "$SOAK_SECS" -P 5 -h "$SOCK" -p "$PPORT" -U "$DBUSER" "$DB" \
		>"$CUR/logs/pgbench_soak.log" 2>&1 &
	pgb=$!
	BG_PIDS+=("$pgb")
	# progress and violation lines (indented) live, the totals (key=value) into the file
	helper soak-monitor "$SOCK" "$DBUSER" "$DB" "$PPORT" "$SPORT" "$WPORT" "$SOAK_SECS" \
		"$SAMPLE_EVERY_S" "$CHECKPOINT_EVERY_S" "$REPORT_EVERY_S" "$pgb" "$CUR/logs/pgbench_soak.log" |
		tee "$CUR/logs/soak_monitor.out" | grep --line-buffered '^ ' || true
	SOAK_RES=$(grep -v '^ ' "$CUR/logs/soak_monitor.out" || true)
	grep -q '^samples=' <<<"$SOAK_RES" || fail "soak monitor failed: $SOAK_RES"
	pgb_rc=0
	wait "$pgb" || pgb_rc=$?
	PL=$CUR/logs/pgbench_soak.log
	pgb_failed=$(sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' "$PL")
	pgb_tx=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$PL")
	pgb_tps=$(sed -n 's/^tps = \([0-9.]*\) .*/\1/p' "$PL" | tail -n 1)
	pgb_lat=$(sed -n 's/^latency average = \(.*\)/\1/p' "$PL")
	pgb_abort=$(grep -c 'aborted' "$PL" || true)
	pgb_err=$(grep -ciE 'error|fatal' "$PL" || true)
	SOAK_PGB="pgbench exit $pgb_rc, ${pgb_tx:-?} transactions, tps ${pgb_tps:-?}, latency average ${pgb_lat:-?}, ${pgb_failed:-?} failed, $pgb_abort abort lines, $pgb_err error lines"
	say "    $SOAK_PGB"
	((pgb_err == 0)) || { grep -iE 'error|fatal' "$PL" | head -n 5 | sed 's/^/      /' || true; }
	SOAK_LOG_FENCED=$(events_of "$CUR/logs/p.log" | grep -c '^[0-9:.]* fenced:' || true)
	SOAK_LOG_LOST=$(cat <(events_of "$CUR/logs/s.log") <(events_of "$CUR/logs/w.log") | grep -c '^[0-9:.]* primary_lost:' || true)
	SOAK_LOG_PROMOTING=$(cat <(events_of "$CUR/logs/s.log") <(events_of "$CUR/logs/w.log") <(events_of "$CUR/logs/p.log") | grep -c '^[0-9:.]* promoting:' || true)
	SOAK_LOG_LEASE=$(events_of "$CUR/logs/p.log" | grep -c '^[0-9:.]* lease_acquired:' || true)
	say "    server logs: p has $SOAK_LOG_FENCED 'fenced' events and $SOAK_LOG_LEASE 'lease_acquired' (1 = only the initial one);"
	say "    s and w have $SOAK_LOG_LOST 'primary_lost' events; 'promoting' events anywhere: $SOAK_LOG_PROMOTING"
	say "    monitor totals: $(grep '=' <<<"$SOAK_RES" | tr '\n' ' ')"
	SOAK_OK=1
	[[ $(val failovers_max "$SOAK_RES") == 0 && $(val term_changes "$SOAK_RES") == 0 && $(val p_not_primary "$SOAK_RES") == 0 &&
		$(val p_fenced_events "$SOAK_RES") == 0 && $(val violations "$SOAK_RES") == 0 ]] || SOAK_OK=0
	[[ $SOAK_LOG_FENCED == 0 && $SOAK_LOG_PROMOTING == 0 && $pgb_rc == 0 && ${pgb_failed:-x} == 0 && $pgb_abort == 0 ]] || SOAK_OK=0
	if ((!SOAK_OK)) || [[ $SOAK_LOG_LOST != 0 ]]; then
		say "    ANOMALY: innoquim_failover events (health_changed left out):"
		for n in p s w; do
			events_of "$CUR/logs/$n.log" | grep -vE '^[0-9:.]* (health_changed|standby_[a-z]*):' | sed "s/^/      $n: /" || true
		done
	fi
	teardown_cluster
fi

# ------------------------------------------------------------------ summary
BUSY_AFTER=$(cpu_busy)
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)
hdr "summary"
say "command:  $CMDLINE"
say "machine:  nproc=$NPROC, ${CPU:-unknown CPU}, $(uname -sr)"
say "server:   $PGVER; tree at git $GITREV; installed innoquim_failover.so built $SO_DATE"
say "load:     CPUs ${BUSY_BEFORE}% busy before, ${BUSY_AFTER}% after (our servers stopped); loadavg $LOAD_BEFORE before, $LOAD_AFTER after"
((BUSY_BEFORE > 10 || BUSY_AFTER > 10)) && say "          NOTE: other processes were using the CPUs during the run"
say "settings: defaults (fence_timeout 2s, failover_timeout ${FTIMEOUT_MS:-3000}ms in force, monitor_interval 500ms,"
say "          wal_retrieve_retry_interval 5s); 3 voters p, s, w"
((${#EXTRA_CONF[@]})) && say "          + BENCH_EXTRA_CONF on every node: ${BENCH_EXTRA_CONF}"
say ""
verdict_time() {  # verdict_time LIST MEDIAN MAX MED_TARGET(median < it; or "") MAX_TARGET lt|le
	local l=$1 med=$2 mx=$3 mt=$4 xt=$5 op=$6
	[[ -n ${l// /} ]] || { echo "n/a"; return; }
	[[ $l == *timeout* ]] && { echo "MISSED (timeout)"; return; }
	awk -v med="$med" -v mx="$mx" -v mt="$mt" -v xt="$xt" -v op="$op" 'BEGIN {
		okm = (mt == "" || med + 0 < mt + 0); okx = (op == "lt" ? mx + 0 < xt + 0 : mx + 0 <= xt + 0)
		if (okm && okx) print "met"; else if (mt == "") print "MISSED"
		else print (okm ? "median met, max MISSED" : (okx ? "median MISSED, max met" : "MISSED")) }'
}
printf '%-62s %9s %9s %-28s %s\n' "test" "median" "max" "target" "verdict / runs (ms)"
for sec in kill hang; do
	skipped "$sec" && continue
	l=${FO[$sec]:-}
	med=$(stat_of median $l)
	mx=$(stat_of max $l)
	if [[ $sec == kill ]]; then
		printf '%-62s %9s %9s %-28s %s\n' "(1) kill -9 primary -> first write on new primary (ms)" "$med" "$mx" \
			"median < ${KILL_TARGET_MED_MS}, max < ${KILL_TARGET_MAX_MS}" \
			"$(verdict_time "$l" "$med" "$mx" "$KILL_TARGET_MED_MS" "$KILL_TARGET_MAX_MS" lt)  | $(fmt_list $l)"
	else
		tgt=$(( ${FTIMEOUT_MS:-3000} + 1000 ))
		printf '%-62s %9s %9s %-28s %s\n' "(2) hung primary (SIGSTOP) -> first write (ms), slow path" "$med" "$mx" \
			"<= failover_timeout+1s=$tgt" "$(verdict_time "$l" "$med" "$mx" "" "$tgt" le)  | $(fmt_list $l)"
	fi
	for k in DEC PROM FW; do
		declare -n arr=$k
		case $k in DEC) lab="decide_ms";; PROM) lab="promote_ms";; FW) lab="first_write_ms";; esac
		l2=${arr[$sec]:-}
		printf '%-62s %9s %9s %-28s %s\n' "      winner's view: $lab (from its loss detection)" "$(stat_of median $l2)" "$(stat_of max $l2)" "-" "$(fmt_list $l2)"
		unset -n arr
	done
	if [[ $sec == hang ]]; then
		printf '%-62s %9s %9s %-28s %s\n' "      p resumed: writes refused with 'fenced'" "-" "-" "every run" \
			"$( ((FENCE_BAD == 0)) && echo met || echo MISSED)  | $FENCE_OK of $RUNS runs (old and new session); superseded in $SUPERSEDED of $RUNS"
	fi
done
if ! skipped soak; then
	printf '%-62s %9s %9s %-28s %s\n' "(3) soak ${SOAK_SECS}s: failovers / lease lapses ('fenced' on p)" \
		"$(val failovers_max "$SOAK_RES")" "${SOAK_LOG_FENCED:-?}" "0 / 0" \
		"$( ((SOAK_OK)) && echo met || echo MISSED)  | violating samples $(val violations "$SOAK_RES") of $(val samples "$SOAK_RES"); primary_lost on s/w ${SOAK_LOG_LOST:-?}"
	say "      lease_remaining_ms on p: lowest $(val lease_min_ms "$SOAK_RES") ms over $(val lease_samples "$SOAK_RES") samples ($(val lease_below_1000 "$SOAK_RES") below 1000 ms); checkpoints $(val checkpoints "$SOAK_RES") (avg $(val checkpoint_avg_s "$SOAK_RES") s, max $(val checkpoint_max_s "$SOAK_RES") s, errors $(val checkpoint_errors "$SOAK_RES"))"
	say "      $SOAK_PGB"
fi
if ! skipped blip; then
	printf '%-62s %9s %9s %-28s %s\n' "(4) $BLIPS blips of ${BLIP_MS} ms SIGSTOP: failovers, s still standby" "-" "-" "no failover" \
		"$( ((BLIP_OK)) && echo met || echo MISSED)  | 'fenced' events on p: ${BLIP_FENCED:-?}"
	say "      $(grep -o 'renewed_after_resume_ms=[^ ]*' <<<"$BLIP_RES" | tr '\n' ' ')"
	say "      $BLIP_PGB"
fi
if ((${#ANOMALIES[@]})); then
	say ""
	say "anomalies in (1)/(2) (events printed with the run above):"
	for a in "${ANOMALIES[@]}"; do say "    $a"; done
fi
say ""
say "total time: $((SECONDS - T_START)) s"
