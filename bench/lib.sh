# bench/lib.sh - what the benchmark scripts share (sourced, not run):
# output helpers, the unprivileged server user, the scratch directory, and
# running commands as that user.  Each script keeps its own way of stopping
# servers (they stop different sets of processes).
#
# Expects AS_ROOT (1 when started as root) and T_START (for hdr) to be set
# by the caller.

say() { printf '%s\n' "$*"; }
hdr() { printf '\n=== %s  [t=%ds]\n' "$*" $((SECONDS - T_START)); }
lib_die() { echo "error: $*" >&2; exit 2; }

cpu_busy() {  # percent of all CPUs busy over one second (anyone's work)
	local a b
	read -r _ a < /proc/stat
	sleep 1
	read -r _ b < /proc/stat
	awk -v a="$a" -v b="$b" 'BEGIN { split(a, x, " "); split(b, y, " "); t = 0; idle = 0
		for (k = 1; k <= 8; k++) t += y[k] - x[k]
		idle = (y[4] - x[4]) + (y[5] - x[5])
		printf "%d", (t > 0 ? 100 * (t - idle) / t : 0) }'
}

# shellcheck source=scripts/deps.sh
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/deps.sh"   # iqf_server_user

# bench_srv_user: set SRV_USER, the OS user the servers run as.  PostgreSQL
# refuses to run as root: as root, the user iqf_server_user picks (IQF_USER,
# else postgres, else iqf, created if missing); otherwise the current user.
bench_srv_user() {
	if ((AS_ROOT)); then
		SRV_USER=$(iqf_server_user IQF_USER) || exit 2
	else
		SRV_USER=$(id -un)
	fi
}

# bench_scratch NAME: set TMP (a new private directory owned by SRV_USER),
# SOCK and LOGS inside it (not created).  Refuses a path too long for a Unix
# socket (sun_path holds 107 bytes, with /.s.PGSQL.NNNNN).
bench_scratch() {
	TMP=$(mktemp -d "${TMPDIR:-/tmp}/$1.XXXXXX")
	chmod 700 "$TMP"
	((AS_ROOT)) && chown "$SRV_USER" "$TMP"
	SOCK=$TMP/sock
	LOGS=$TMP/logs
	if ((${#SOCK} > 80)); then
		rm -rf "$TMP"
		lib_die "scratch dir path too long for a Unix socket: $TMP (set TMPDIR=/tmp)"
	fi
}

# Run a command as the server user, from the scratch dir (cwd must be readable).
as_srv() {
	if ((AS_ROOT)); then
		(cd "$TMP" && runuser -u "$SRV_USER" -- "$@")
	else
		(cd "$TMP" && "$@")
	fi
}

pid_of_dir() {  # live postmaster PID of a data dir, or nothing
	local dir=$1 pid
	[[ -f $dir/postmaster.pid ]] || return 0
	pid=$(head -n 1 "$dir/postmaster.pid" 2>/dev/null || true)
	[[ $pid =~ ^[0-9]+$ ]] || return 0
	# guard against a reused PID: a postmaster's cwd is its data directory
	[[ $(readlink "/proc/$pid/cwd" 2>/dev/null) == "$(realpath "$dir")" ]] || return 0
	echo "$pid"
}

running() {  # a zombie (exited, waiting to be reaped) counts as gone
	local st
	st=$(sed -n 's/^.*) \([A-Z]\).*/\1/p' "/proc/$1/stat" 2>/dev/null) || return 1
	[[ -n $st && $st != Z && $st != X ]]
}

# bench_install: SO = the installed library; with INSTALL=1 (or auto and
# none installed) run `make install` of REPO_ROOT first (root only).  Uses
# the caller's fail().
bench_install() {
	SO=$("$PG_CONFIG" --pkglibdir)/innoquim_failover.so
	if [[ $INSTALL == 1 || ($INSTALL == auto && ! -f $SO) ]]; then
		((AS_ROOT)) || fail "the extension must be installed by root: make PG_CONFIG=$PG_CONFIG install"
		say "installing the extension: make PG_CONFIG=$PG_CONFIG install (in $REPO_ROOT)"
		make -s -C "$REPO_ROOT" PG_CONFIG="$PG_CONFIG" install >"$TMP/make.log" 2>&1 ||
			{ tail -n 30 "$TMP/make.log" >&2; fail "make install failed"; }
	fi
	[[ -f $SO ]] || fail "innoquim_failover is not installed in $("$PG_CONFIG" --pkglibdir) (run make install as root)"
}

# bench_machine: set NPROC, CPU, PGVER, GITREV (+ a mark for uncommitted
# changes under src or sql), SO_DATE, BUSY_BEFORE and LOAD_BEFORE, and print
# them as the report's machine, server and load lines.
bench_machine() {
	NPROC=$(nproc)
	CPU=$(sed -n 's/^model name[[:space:]]*:[[:space:]]*//p' /proc/cpuinfo | head -n 1)
	PGVER=$("$PGBIN/postgres" --version)
	GITREV=$(git -c safe.directory="$REPO_ROOT" -C "$REPO_ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
	git -c safe.directory="$REPO_ROOT" -C "$REPO_ROOT" diff --quiet HEAD -- src sql 2>/dev/null ||
		GITREV="$GITREV+uncommitted changes"
	SO_DATE=$(date -u -r "$SO" '+%Y-%m-%d %H:%M:%S UTC')
	say "machine: nproc=$NPROC, ${CPU:-unknown CPU}, $(uname -sr), $(free -g | awk '/^Mem:/ {print $2 " GB RAM"}')"
	say "server:  $PGVER ($PGBIN); tree at git $GITREV; installed $SO built $SO_DATE"
	BUSY_BEFORE=$(cpu_busy)
	LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
	say "load:    CPUs ${BUSY_BEFORE}% busy before starting (other processes), loadavg $LOAD_BEFORE"
}

# bench_drop_scratch T0: once the servers are stopped, remove TMP (kept with
# KEEP=1) and report the cleanup time since T0.
bench_drop_scratch() {
	if ((KEEP)); then
		say "cleanup: servers stopped in $((SECONDS - $1)) s; kept $TMP"
	else
		rm -rf "$TMP"
		say "cleanup: servers stopped and $TMP removed in $((SECONDS - $1)) s"
	fi
}
