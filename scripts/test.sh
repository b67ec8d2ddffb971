#!/usr/bin/env bash
# scripts/test.sh - the whole innoquim_failover test suite; `bash scripts/test.sh`
# is the test command (also what .ci/run executes).
#
#   1. installs missing Debian packages (scripts/deps.sh)
#   2. builds the extension with -Werror, then `make install` (as root)
#   3. runs the three suites as an unprivileged user:
#        unit         make unitcheck     (plain C unit tests, TAP via prove)
#        regress+TAP  make installcheck  (pg_regress on a temp instance, then test/t/*.pl)
#        fuzz         make fuzzcheck     (libFuzzer + ASan/UBSan on the HTTP request
#                                         reader, FUZZ_SECONDS long, test/fuzz/)
#        model        test/model/run.sh  (spin model of the failover protocol)
#   4. on an installcheck failure prints regression.diffs and the tails of the
#      server/test logs of the failing files, so CI output shows why, and at
#      exit a short recap of the failing tests
#   5. prints "N passed, N failed" (N = suites) as the last line; exits non-zero
#      if any step failed
#
# PostgreSQL refuses to run as root.  Started as root (CI), the tree (minus .git)
# is copied to a scratch dir /tmp/iqf-test.XXXXXX owned by the test user and
# everything runs there through runuser; the copy is removed at exit, after any
# postgres server started inside it has been stopped.  Started as another user,
# it runs in place and uses sudo only for apt-get and `make install`.
#
# Environment:
#   PG_CONFIG    pg_config to build against (default /usr/lib/postgresql/15/bin/pg_config)
#   IQF_USER     unprivileged user when started as root (default postgres if it
#                exists, else iqf; a missing user is created as a system user)
#   IQF_KEEP=1   keep the scratch dir (its path is printed) for debugging
#   PROVE_TESTS  TAP test files to run instead of all of test/t/*.pl,
#                e.g. PROVE_TESTS=test/t/001_basic.pl
#   FUZZ_SECONDS how long the fuzz suite fuzzes (default 60)
set -euo pipefail

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
IQF_KEEP=${IQF_KEEP:-0}
PROVE_TESTS=${PROVE_TESTS:-}
FUZZ_SECONDS=${FUZZ_SECONDS:-60}

# shellcheck source=scripts/deps.sh
source "$REPO_ROOT/scripts/deps.sh"

AS_ROOT=0
[[ $(id -u) -eq 0 ]] && AS_ROOT=1
TEST_USER=$(id -un)  # who runs make and the tests
TEST_HOME=${HOME:-/tmp}
SCRATCH=""           # the copy, when started as root
WORKDIR=$REPO_ROOT   # where make runs
MAKE_ARGS=("PG_CONFIG=$PG_CONFIG")

# Suite results: pass, fail, or empty while not run.
UNIT_RESULT=""
CHECK_RESULT=""
CHECK_LOG=""         # installcheck's output, kept for the recap at exit
FUZZ_RESULT=""
MODEL_RESULT=""

# ---------------------------------------------------------------- helpers

# Run a command as the test user, in the current directory.
as_test_user() {
	if ((AS_ROOT)); then
		runuser -u "$TEST_USER" -- env HOME="$TEST_HOME" USER="$TEST_USER" LOGNAME="$TEST_USER" "$@"
	else
		"$@"
	fi
}

# Pick (and create if needed) the unprivileged user, and a HOME for it.
setup_test_user() {
	TEST_USER=$(iqf_server_user IQF_USER) || return 1
	TEST_HOME=$(getent passwd "$TEST_USER" | cut -d: -f6)
	if [[ -z $TEST_HOME ]] || ! runuser -u "$TEST_USER" -- test -w "$TEST_HOME"; then
		TEST_HOME=$SCRATCH  # no usable home: the scratch dir will do
	fi
}

# Copy the tree (without .git) to a fresh scratch dir owned by the test user.
make_scratch_copy() {
	SCRATCH=$(mktemp -d /tmp/iqf-test.XXXXXX)
	tar -C "$REPO_ROOT" --exclude=./.git -cf - . | tar -C "$SCRATCH" -xf -
	WORKDIR=$SCRATCH
}

# Wait up to $2 seconds for process $1 to disappear.
wait_gone() {
	local pid=$1 i
	for ((i = 0; i < $2 * 10; i++)); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.1
	done
	! kill -0 "$pid" 2>/dev/null
}

# Stop every postgres whose postmaster.pid lies under $1: TERM (smart
# shutdown), then QUIT (immediate shutdown, which also ends the backends),
# then KILL.  The PID is checked to still be a postgres process so that a
# recycled PID is never signalled.
stop_leftover_servers() {
	local dir=$1 pidfile pid comm
	[[ -d $dir ]] || return 0
	while IFS= read -r -d '' pidfile; do
		pid=$(head -n 1 "$pidfile" 2>/dev/null || true)
		[[ $pid =~ ^[0-9]+$ ]] || continue
		kill -0 "$pid" 2>/dev/null || continue
		comm=$(cat "/proc/$pid/comm" 2>/dev/null || true)
		if [[ -n $comm && $comm != postgres ]]; then
			echo "note: $pidfile names PID $pid, which is '$comm', not postgres; left alone"
			continue
		fi
		iqf_log "stopping leftover postgres server $pid ($pidfile)"
		kill -TERM "$pid" 2>/dev/null || true
		wait_gone "$pid" 5 && continue
		kill -QUIT "$pid" 2>/dev/null || true
		wait_gone "$pid" 5 && continue
		kill -KILL "$pid" 2>/dev/null || true
		wait_gone "$pid" 2 || echo "warning: postgres $pid still running" >&2
	done < <(find "$dir" -name .git -prune -o -type f -name postmaster.pid -print0 2>/dev/null)
}

# Print the last 200 lines of each regular file given.
tail_files() {
	local f
	for f in "$@"; do
		[[ -f $f ]] || continue
		echo "----- tail -n 200 $f"
		tail -n 200 "$f"
	done
}

# prove's "Test Summary Report" (it lists the failed TAP files and tests) in
# the saved installcheck output.
tap_summary() {
	[[ -f $CHECK_LOG ]] || return 0
	sed -n '/^Test Summary Report/,$p' "$CHECK_LOG"
}

# The TAP files that failed, by base name (020_failover_kill9).
failed_tap_tests() {
	tap_summary | sed -nE 's|^[^ ]*/([0-9]+_[A-Za-z0-9_]+)\.pl .*|\1|p' | sort -u
}

# Why installcheck failed: regression diffs, pg_regress logs, and the logs of
# the failing TAP files only (all of them would push the reason out of sight).
print_failure_logs() {
	local t
	if [[ -f $WORKDIR/regression.diffs ]]; then
		echo "----- $WORKDIR/regression.diffs"
		cat "$WORKDIR/regression.diffs"
	fi
	# pg_regress writes initdb.log/postmaster.log to log/ (some versions to
	# the temp instance's log/); TAP tests write regress_log_* and node logs.
	tail_files "$WORKDIR"/log/* "$WORKDIR"/tmp_regress/log/*
	for t in $(failed_tap_tests); do
		tail_files "$WORKDIR"/tmp_check/log/*"$t"*
	done
}

# A short recap of an installcheck failure, printed last so that a CI view
# which keeps only the tail of the output still shows what failed.
print_check_recap() {
	[[ $CHECK_RESULT == fail && -f $CHECK_LOG ]] || return 0
	echo "----- regress+TAP failure recap (full output above)"
	grep -E '\.\.\. FAILED|^not ok ' "$CHECK_LOG" | head -n 20 || true
	grep -E '^# +(Failed test|at |got:|expected:|Looks like)' "$CHECK_LOG" | head -n 40 || true
	tap_summary | head -n 30
}

# EXIT trap: stop servers, remove the scratch copy, print the summary line.
finish() {
	local rc=$? passed=0 failed=0 r
	trap - EXIT
	set +e
	cd /
	# As root only the scratch copy is swept, never the caller's tree.
	if [[ -n $SCRATCH ]] || ((!AS_ROOT)); then stop_leftover_servers "$WORKDIR"; fi
	if [[ -n $SCRATCH ]]; then
		if [[ $IQF_KEEP == 1 ]]; then
			iqf_log "IQF_KEEP=1: scratch copy kept in $SCRATCH"
		else
			rm -rf -- "$SCRATCH"
		fi
	fi
	print_check_recap
	rm -f -- "$CHECK_LOG"
	# A suite that never ran (early error) counts as failed.
	for r in "$UNIT_RESULT" "$CHECK_RESULT" "$FUZZ_RESULT" "$MODEL_RESULT"; do
		if [[ $r == pass ]]; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
	done
	echo "unit: ${UNIT_RESULT:-not run}; regress+TAP: ${CHECK_RESULT:-not run}; fuzz: ${FUZZ_RESULT:-not run}; model: ${MODEL_RESULT:-not run}"
	echo "$passed passed, $failed failed"
	if ((rc == 0 && failed > 0)); then rc=1; fi
	exit "$rc"
}

# ---------------------------------------------------------------- main

trap finish EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

iqf_install_deps

if ((AS_ROOT)); then
	make_scratch_copy
	setup_test_user
	chown -R "$TEST_USER:" "$SCRATCH"
	iqf_log "running as $TEST_USER (HOME=$TEST_HOME) in scratch copy $SCRATCH"
else
	iqf_log "running as $TEST_USER in place in $WORKDIR"
fi
cd "$WORKDIR"

# Build from clean so that -Werror sees every file, then install as root.
build_ok=0
iqf_log "build: make clean && make COPT=-Werror"
if as_test_user make "${MAKE_ARGS[@]}" clean >/dev/null &&
	as_test_user make -j "$(nproc)" "${MAKE_ARGS[@]}" COPT=-Werror; then
	iqf_log "install: make install"
	if iqf_as_root make "${MAKE_ARGS[@]}" COPT=-Werror install; then
		build_ok=1
	else
		echo "FAILED: make install"
	fi
	# make install ran as root inside the copy: hand back anything it created.
	if ((AS_ROOT)); then chown -R "$TEST_USER:" "$SCRATCH"; fi
else
	echo "FAILED: build"
fi

# Suite 1: unit tests (need no server and no installed extension).
iqf_log "suite unit: make unitcheck"
if as_test_user make "${MAKE_ARGS[@]}" unitcheck; then
	UNIT_RESULT=pass
else
	UNIT_RESULT=fail
	echo "FAILED: unit (make unitcheck)"
fi

# Suite 2: pg_regress, then the TAP tests; needs the installed extension.
if ((build_ok)); then
	check_args=("${MAKE_ARGS[@]}")
	if [[ -n $PROVE_TESTS ]]; then check_args+=("PROVE_TESTS=$PROVE_TESTS"); fi
	iqf_log "suite regress+TAP: make installcheck ${check_args[*]}"
	CHECK_LOG=$(mktemp /tmp/iqf-check.XXXXXX)
	if as_test_user make "${check_args[@]}" installcheck 2>&1 | tee "$CHECK_LOG"; then
		CHECK_RESULT=pass
	else
		CHECK_RESULT=fail
		echo "FAILED: regress+TAP (make installcheck); diagnostics follow"
		print_failure_logs
	fi
else
	CHECK_RESULT=fail
	echo "FAILED: regress+TAP not run because the build or install failed"
fi

# Suite 3: fuzzing of the HTTP request reader (no server; builds its own
# clang binary, so it runs even when the extension build failed).
iqf_log "suite fuzz: make fuzzcheck FUZZ_SECONDS=$FUZZ_SECONDS"
if as_test_user make "${MAKE_ARGS[@]}" FUZZ_SECONDS="$FUZZ_SECONDS" fuzzcheck; then
	FUZZ_RESULT=pass
else
	FUZZ_RESULT=fail
	echo "FAILED: fuzz (make fuzzcheck)"
fi

# Suite 4: the failover protocol's Promela model (spin): the correct model
# must verify and every planted bug must produce a counterexample.
iqf_log "suite model: bash test/model/run.sh"
if as_test_user bash test/model/run.sh; then
	MODEL_RESULT=pass
else
	MODEL_RESULT=fail
	echo "FAILED: model (test/model/run.sh)"
fi
# finish (EXIT trap) cleans up, prints the summary and sets the exit status.
