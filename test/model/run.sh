#!/usr/bin/env bash
# shellcheck disable=SC2086  # option lists ($R_DEFS, $cflags, $panflags) are split on purpose
# test/model/run.sh - model-check the failover protocol (doc/protocol.md) with
# spin: the correct model must verify, every planted bug and every flaw of the
# design as first written must produce a counterexample.
#
#   bash test/model/run.sh            # all runs
#   bash test/model/run.sh NAME...    # only these runs (names as printed)
#
# Each run: spin -a with its -D options, gcc -O2, ./pan with a bounded search
# depth (-m) and -DMEMLIM, in its own directory under a mktemp dir, so the
# repository stays clean (pan, pan.*, *.trail never land in it).  Safety runs
# are exhaustive (-DSAFETY, assertions a_* and b_*); liveness runs search for
# acceptance cycles of the LTL property c_primary_returns under weak fairness
# (pan -a -f).  A run "passes" when its expectation holds:
#   verify  no error, search complete (depth bound not hit, memory not exhausted)
#   violate at least one error, and the violated property matches the pattern
# Prints per run: states stored, transitions, depth reached, memory, pan's
# own time and the run's wall time (spin + gcc + pan), then the total CPU time;
# last line "N passed, N failed"; exit status 1 if any run failed.
# No root needed.
#
# Environment:
#   IQF_MODEL_JOBS=N    parallel runs (default: number of CPUs, at most 2)
#   IQF_MODEL_MEMLIM=MB pan memory limit per run (default 8192)
#   IQF_MODEL_TRAILS=1  print each counterexample as its event sequence
#   IQF_MODEL_SHORTEST=1  look for the shortest counterexample (pan -i; slower)
#   IQF_MODEL_KEEP=1    keep the scratch dir (path printed) with trails and logs
set -u

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
MODEL=$HERE/failover.pml
MEMLIM=${IQF_MODEL_MEMLIM:-8192}
DEPTH=10000
HASH=-w25          # 2^25 hash slots (256 MB), fits the largest run
TIMEOUT=900        # seconds, per run (a guard; the slowest run takes ~1 min)

if ! command -v spin >/dev/null 2>&1; then
	echo "error: spin not found (Debian: apt-get install -y spin)" >&2
	echo "0 passed, 1 failed"
	exit 1
fi
if ! command -v gcc >/dev/null 2>&1; then
	echo "error: gcc not found" >&2
	echo "0 passed, 1 failed"
	exit 1
fi

ncpu=$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 1)
JOBS=${IQF_MODEL_JOBS:-$((ncpu < 2 ? ncpu : 2))}
((JOBS >= 1)) || JOBS=1

SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/iqf-model.XXXXXX") || exit 1
if [[ ${IQF_MODEL_KEEP:-0} == 1 ]]; then
	trap 'echo "scratch dir kept: $SCRATCH"' EXIT
else
	trap 'rm -rf "$SCRATCH"' EXIT
fi

# Bounds (see the header of failover.pml, shortcut S9):
#   MAXL  WAL entries, MAXT  highest term, MAXCRASH  crashes,
#   MAXPART  partition events (healing is free), DRIFT  slow ticks allowed.
C_CRASH="-DMAXL=1 -DMAXCRASH=1 -DMAXPART=0"
C_PART="-DMAXL=1 -DMAXCRASH=0 -DMAXPART=2"
C_MIXED="-DMAXL=1 -DMAXCRASH=1 -DMAXPART=1 -DDRIFT=0 -DCRASH_P_ONLY"
C_TWOCRASH="-DMAXL=1 -DMAXCRASH=2 -DMAXPART=1 -DDRIFT=0 -DCRASH_VOTERS_ONLY"
C_LCRASH="-DLIVE -DMAXT=4 -DMAXL=1 -DMAXCRASH=1 -DMAXPART=0 -DDRIFT=0"
C_LPART="-DLIVE -DMAXT=4 -DMAXL=1 -DMAXCRASH=0 -DMAXPART=1 -DDRIFT=0"

A='a_single_writer'
B='b_(promoted_has_acked|ack_no_newer_primary|ack_consistent)'
C='acceptance cycle'

# name | kind (safety|liveness) | expect (verify|violate) | violation pattern | -D options
RUNS=(
	"safety-crash|safety|verify||$C_CRASH"
	"safety-partition|safety|verify||$C_PART"
	"safety-crash-partition|safety|verify||$C_MIXED"
	"liveness-crash|liveness|verify||$C_LCRASH"
	"liveness-partition|liveness|verify||$C_LPART"
	"bug-no-lease-wait|safety|violate|$A|-DBUG_NO_LEASE_WAIT $C_PART"
	"bug-forget-vote|safety|violate|$A|$B|-DBUG_FORGET_VOTE $C_TWOCRASH"
	"bug-short-failover|safety|violate|$A|-DBUG_SHORT_FAILOVER $C_PART"
	"bug-no-fenced-start|safety|violate|$A|-DBUG_NO_FENCED_START $C_CRASH"
	"bug-no-own-lsn|safety|violate|$B|-DBUG_NO_OWN_LSN $C_CRASH"
	"bug-no-standby-count|safety|violate|$B|-DBUG_NO_STANDBY_COUNT $C_CRASH"
	"flaw-dead-as-stated|safety|violate|$A|-DFLAW_DEAD_AS_STATED $C_MIXED"
	"flaw-dead-clear-only|safety|violate|$A|-DFLAW_DEAD_CLEAR_ONLY $C_MIXED"
	"flaw-ack-after-vote|safety|violate|$B|-DFLAW_ACK_AFTER_VOTE $C_PART"
	"flaw-no-stepdown|liveness|violate|$C|-DFLAW_NO_STEPDOWN $C_LPART"
	"flaw-sync-set|liveness|violate|$C|-DFLAW_SYNC_SET $C_LCRASH"
	"flaw-campaign-against-primary|liveness|violate|$C|-DFLAW_CAMPAIGN_AGAINST_PRIMARY $C_LCRASH"
)

# "bug-forget-vote" has a pattern with a '|' in it: split from both ends.
parse() {
	local line=$1
	R_NAME=${line%%|*}; line=${line#*|}
	R_KIND=${line%%|*}; line=${line#*|}
	R_EXPECT=${line%%|*}; line=${line#*|}
	R_DEFS=${line##*|}
	R_PAT=${line%|*}
}

# one run, in its own directory; writes $dir/result (one line) and $dir/log
do_run() {
	local dir=$SCRATCH/$R_NAME
	mkdir -p "$dir" && cp "$MODEL" "$dir/" || return 1
	cd "$dir" || return 1
	local cflags panflags
	if [[ $R_KIND == safety ]]; then
		cflags="-DSAFETY -DNOCLAIM -DNOFAIR"
		panflags="-m$DEPTH $HASH"
	else
		cflags="-DNFAIR=3"
		panflags="-a -f -m$DEPTH $HASH -N c_primary_returns"
	fi
	if [[ $R_EXPECT == violate && ${IQF_MODEL_SHORTEST:-0} == 1 ]]; then
		panflags="$panflags -i"
	fi
	local t0 t1
	t0=$(date +%s.%N)
	# $R_DEFS, $cflags and $panflags are word lists: split on purpose
	{
		echo "\$ spin $R_DEFS -a failover.pml"
		spin $R_DEFS -a failover.pml &&
			echo "\$ gcc -O2 $cflags -DMEMLIM=$MEMLIM -o pan pan.c" &&
			gcc -O2 $cflags -DMEMLIM="$MEMLIM" -w -o pan pan.c &&
			echo "\$ ./pan $panflags" &&
			timeout "$TIMEOUT" ./pan $panflags
		echo "exit status $?"
	} >log 2>&1
	t1=$(date +%s.%N)
	local wall errors states trans depth mem ptime viol status
	wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
	errors=$(sed -n 's/.*errors: \([0-9]*\).*/\1/p' log | tail -1)
	states=$(sed -n 's/^ *\([0-9.e+]*\) states, stored.*/\1/p' log | tail -1)
	trans=$(sed -n 's/^ *\([0-9.e+]*\) transitions.*/\1/p' log | tail -1)
	depth=$(sed -n 's/.*depth reached \([0-9]*\).*/\1/p' log | tail -1)
	mem=$(sed -n 's/^ *\([0-9.]*\)\s*total actual memory usage.*/\1/p' log | tail -1)
	ptime=$(sed -n 's/^pan: elapsed time \([0-9.e+]*\) seconds.*/\1/p' log | tail -1)
	viol=$(grep -oE 'assertion violated [a-z_]+|acceptance cycle' log | tail -1)
	status=FAIL
	if [[ -z $errors ]]; then
		viol="no pan result (see log)"
	elif [[ $R_EXPECT == verify ]]; then
		if [[ $errors == 0 ]] && ! grep -qiE 'max search depth too small|reached -DMEMLIM|out of memory|search not completed' log; then
			status=PASS
		elif [[ $errors == 0 ]]; then
			viol="search incomplete"
		fi
	else
		if [[ $errors -ge 1 ]] && [[ $viol =~ $R_PAT ]]; then
			status=PASS
		fi
	fi
	if [[ $R_EXPECT == violate && -f failover.pml.trail && ${IQF_MODEL_TRAILS:-0} == 1 ]]; then
		spin -t $R_DEFS failover.pml 2>/dev/null | sed -n 's/^ *MSC: //p; s/^ *<<<<<START OF CYCLE>>>>>/---- cycle starts ----/p; s/^spin: text of failed assertion: /violated: /p' |
			uniq -c | awk '{ n = $1; $1 = ""; sub(/^ /, ""); if (n > 1) printf "      %s (x%d)\n", $0, n; else printf "      %s\n", $0 }' >trail.txt
	fi
	printf '%s|%s|%s|%s|%s|%s|%s|%s|%s\n' "$status" "${states:-?}" "${trans:-?}" "${depth:-?}" \
		"${mem:-?}" "${ptime:-?}" "$wall" "${viol:--}" "${errors:-?}" >result
	rm -f pan pan.c pan.h pan.m pan.b pan.t pan.p pan.s pan.oin
}

selected() {
	(($# == 0)) && return 0
	local n
	for n in "$@"; do [[ $n == "$R_NAME" ]] && return 0; done
	return 1
}

echo "innoquim_failover protocol model: $MODEL"
echo "spin: $(spin -V 2>&1 | head -1); gcc -O2; $JOBS parallel run(s); MEMLIM ${MEMLIM} MB; depth bound $DEPTH"
echo

T_START=$(date +%s)
names=()
active=0
for line in "${RUNS[@]}"; do
	parse "$line"
	selected "$@" || continue
	names+=("$line")
	(do_run) &
	active=$((active + 1))
	if ((active >= JOBS)); then
		wait -n
		active=$((active - 1))
	fi
done
wait

if ((${#names[@]} == 0)); then
	echo "error: no run matches: $*" >&2
	echo "0 passed, 1 failed"
	exit 1
fi

passed=0
failed=0
printf '%-30s %-8s %-7s %-6s %12s %13s %6s %9s %7s %7s  %s\n' \
	RUN KIND EXPECT RESULT STATES TRANSITIONS DEPTH MEMORY_MB PAN_S WALL_S "VIOLATION / DEFINES"
for line in "${names[@]}"; do
	parse "$line"
	res=$SCRATCH/$R_NAME/result
	if [[ -f $res ]]; then
		IFS='|' read -r status states trans depth mem ptime wall viol errors <"$res"
	else
		status=FAIL states='?' trans='?' depth='?' mem='?' ptime='?' wall='?' viol='run did not finish' errors='?'
	fi
	if [[ $status == PASS ]]; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
	printf '%-30s %-8s %-7s %-6s %12s %13s %6s %9s %7s %7s  %s\n' \
		"$R_NAME" "$R_KIND" "$R_EXPECT" "$status" "$states" "$trans" "$depth" "$mem" "$ptime" "$wall" "$viol"
	printf '%-30s %s\n' "" "defines: $R_DEFS"
	if [[ $status != PASS ]]; then
		echo "---- log of $R_NAME (tail) ----"
		tail -25 "$SCRATCH/$R_NAME/log" 2>/dev/null | sed 's/^/    /'
	fi
	if [[ -f $SCRATCH/$R_NAME/trail.txt ]]; then
		echo "    counterexample:"
		head -60 "$SCRATCH/$R_NAME/trail.txt"
	fi
done
echo
# CPU time of all runs (children of this shell): user and system, minutes and seconds
times >"$SCRATCH/times"
cpu=$(tail -1 "$SCRATCH/times")
echo "total wall time: $(($(date +%s) - T_START)) s; CPU time of the runs (user, system): $cpu"
echo "$passed passed, $failed failed"
((failed == 0))
