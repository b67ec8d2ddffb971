/*
 * failover.pml - Promela model of the innoquim_failover protocol
 * (doc/protocol.md).  Checked with Debian's spin by test/model/run.sh.
 * Rule numbers R0..R18 refer to doc/protocol.md section 6.
 *
 * Nodes (all voters): 0 = P (initial primary), 1 = S1, 2 = S2 (standbys),
 * 3 = W (witness: no data, never primary).  N = 4, Q = 3.  Synchronous
 * replication FIRST 1 over the other data nodes in index order (for P:
 * S1 then S2): the first listed standby that streams from the primary is the
 * synchronous one; m = 2 listed standbys, k = 1.
 *
 * PROPERTIES (names used by doc/protocol.md)
 *   a_single_writer        (a) assertion after every step: no two nodes are
 *                          writable (primary of their term, running, lease
 *                          valid) at the same time.
 *   b_promoted_has_acked   (b) assertion at every promotion: the new
 *                          primary's WAL holds every acknowledged entry.
 *   b_ack_no_newer_primary (b) assertion at every acknowledgement: no
 *                          primary acknowledges a commit after a newer
 *                          primary was promoted (it would die with its
 *                          timeline).
 *   b_ack_consistent       (b) an acknowledged entry is never replaced.
 *   c_primary_returns      (c) LTL, only with -DLIVE:
 *                          [] (calm -> <> some node writable), checked as an
 *                          acceptance-cycle search under weak fairness.
 *
 * PLANTED BUGS (one safety rule off; run.sh expects a counterexample)
 *   BUG_NO_LEASE_WAIT     voters vote without waiting failover_timeout and
 *                         without a death certificate (R12 off)
 *   BUG_FORGET_VOTE       the state file is not reloaded: a restarted node
 *                         comes back with term 0 and no vote (R2 off)
 *   BUG_SHORT_FAILOVER    failover_timeout = fence_timeout, no allowance for
 *                         clock-rate drift (R18 off)
 *   BUG_NO_FENCED_START   a restarted primary keeps its old grants (R6 off)
 *   BUG_NO_OWN_LSN        standby voters do not compare the candidate's
 *                         position with their own (R13b off)
 *   BUG_NO_STANDBY_COUNT  promotion without the standby-vote count (R16 off)
 * FLAWS OF THE DESIGN AS FIRST WRITTEN (doc/protocol.md section 10); each
 * switch restores one original rule; run.sh expects a counterexample:
 *   FLAW_DEAD_AS_STATED   DEAD has no incarnation and the certificate is
 *                         kept until the term changes (A1)
 *   FLAW_DEAD_CLEAR_ONLY  as above, but a LEASE grant clears the
 *                         certificate; a delayed DEAD still arrives (A1)
 *   FLAW_ACK_AFTER_VOTE   no lease re-check after the synchronous wait and
 *                         no detach of a standby that votes (A2)
 *   FLAW_NO_STEPDOWN      a primary without lease never gives up its term,
 *                         and a superseded one keeps its walsenders (A3)
 *   FLAW_SYNC_SET         rule (3) as first written: a candidate must be in
 *                         the last reported sync set (A4)
 *   FLAW_CAMPAIGN_AGAINST_PRIMARY  a standby campaigns although it reaches a
 *                         primary of a term >= its own (A5)
 *
 * CONFIGURATION SWITCHES (bounds, shortcut S9)
 *   MAXT (3)  highest term a candidate may campaign for
 *   MAXL (2)  WAL entries per node (run.sh uses 1)
 *   MAXCRASH (1), MAXPART (2)  crash and partition events; healing is free
 *   DRIFT (1)  slow ticks allowed (0: clocks run in lockstep)
 *   CRASH_P_ONLY, CRASH_VOTERS_ONLY  restrict which nodes may crash
 *   ALLPART   six more partition patterns (slower)
 *   MODEL_SYNC_LSN  also model R13a (sync_lsn from LEASE); off by default
 *   LIVE      liveness run: faults may stop ("calm"), property c_primary_returns
 *
 * MODELLING SHORTCUTS (discussed in doc/protocol.md section 9)
 *  S1 Time is a global discrete tick; durations are counters advanced by a
 *     tick and saturating at their threshold: fence_timeout = FENCE = 1 tick,
 *     failover_timeout = FAILOVER = 2 ticks, step-down (R8) = 2 ticks.  A
 *     grant is fresh until the next tick.
 *  S2 Clock drift: a "slow tick" advances every clock except the lease clocks
 *     of the data nodes (a primary's time since it sent its requests), at most
 *     once per FAILOVER+1 ticks: over one failover window any two clocks
 *     differ by at most one tick, the discrete form of rho.  Only this
 *     direction (primary's clock slower than the voters') can hurt safety.
 *  S3 LEASE and VOTE are atomic round trips: delivery, the voter's decision
 *     with its durable write, and the reply happen in one step.  A lost or
 *     delayed request is a round trip that is scheduled later or never.  A
 *     lost reply is not modelled: it leaves the voter as a delivered one does
 *     and only withholds a grant or vote from the sender, which can ask again
 *     (a vote is durable and granted again to the same candidate); a delayed
 *     reply only shortens the sender's lease.  Replies are matched to their
 *     request (R4), so stale replies are not modelled.
 *  S4 DEAD is not atomic: one in-flight slot per receiving voter, delivered at
 *     any later time or never, also after the sender or the receiver
 *     restarted (arbitrary delay and reordering, and loss).
 *  S5 One WAL entry = one commit, stamped with the term of the primary that
 *     wrote it (timeline = term).  Positions compare as (term of the last
 *     entry, lsn), like (timeline, LSN).  A standby streams one entry per
 *     step while its WAL is a prefix of its upstream's; otherwise it is stuck
 *     (it would need pg_rewind, not modelled).
 *  S6 Partitions: a partition event sets one of 15 link patterns (ALLPART: 20)
 *     over the 6 agent links and the WAL streams of S1 and S2; a WAL stream
 *     can break while the agents still talk.  Healing restores everything.
 *  S7 Crash: a node stops and loses its volatile state; durable state (term,
 *     voted_for, incarnation, WAL, primary_conninfo, in-recovery) survives.
 *     A crashing primary either has its postmaster killed (kill -9: its agent
 *     sends DEAD to the voters it reaches) or its host dies (no DEAD).  The
 *     orphaned backend finishing an in-flight commit is not modelled.
 *  S8 Pause, priorities (all 1), probes, N < 3 and the bootstrap (R0) are not
 *     modelled: the model starts with P primary of term 1, holding a fresh
 *     lease.  Pause only removes behaviours (no campaign, no vote).
 *  S9 Bounds: terms <= MAXT, WAL <= MAXL, <= MAXCRASH crashes, <= MAXPART
 *     partition events.  Every check is exhaustive within its bounds.
 *  S10 Liveness premise (at the moment faults stop): S1, S2 and W are up and
 *     mutually connected, both data standbys are still in recovery, and two
 *     unused terms remain.  P may be down, isolated or reach any subset; WAL
 *     streams may stay broken.  So the first failover is checked; a second
 *     one needs the deposed primary rejoined (doc section 8).
 *  S11 R13a (sync_lsn learnt from LEASE) is omitted by default: it can only
 *     refuse more votes, so the checked protocol is weaker for safety, and the
 *     best standby always satisfies it under the liveness premise.
 *  S12 Once calm (liveness runs only), every data node takes one step per
 *     tick, with no message loss: the partial-synchrony assumption of (c).
 *     Before that, time may pass with no step at all (a stalled agent).
 *  S13 Safety runs let a primary without a valid lease step down (R8) at any
 *     moment, a superset of "after failover_timeout"; liveness runs use the
 *     timer, and the code's condition: only a primary that some other voter
 *     granted within failover_timeout steps down (gsn).
 *  S14 A node's grant to itself (lease self-grant, self-vote) does not restart
 *     its own R12 wait (R12: only grants to other nodes count).
 *  S15 Pre-votes are not modelled as messages (they change no durable state
 *     but this): a standby may at any time adopt the newer term of a node it
 *     reaches, with no vote, as when a pre-vote is refused in that term
 *     (R10).  It keeps its death certificate: it granted nothing (R15).
 */

#define NV 4            /* voters */
#define ND 3            /* data nodes 0..2; node 3 is the witness */
#define Q 3             /* NV/2 + 1 */
#define NONE 15
#define NSTBNEED 2      /* R16: m - k + 1 standby votes, m = 2 listed standbys, k = 1 */

#ifndef MAXT
#define MAXT 3
#endif
#ifndef MAXL
#define MAXL 2
#endif
#ifndef MAXCRASH
#define MAXCRASH 1
#endif
#ifndef MAXPART
#define MAXPART 2
#endif
#ifndef DRIFT
#define DRIFT 1
#endif

#define FENCE 1
#ifdef BUG_SHORT_FAILOVER
#define FAILOVER 1
#else
#define FAILOVER 2
#endif
#define DRIFTWIN (FAILOVER + 1)
#define ABD FAILOVER    /* R8: step down after failover_timeout without lease */

/* ------------------------------------------------------------------ state */

/* durable (the state file, WAL, configuration) */
byte term[NV];          /* highest term seen */
byte voted[NV];         /* voted_for in term, NONE if empty */
bool inrec[ND];         /* in recovery (standby); 0 = primary role */
byte lsn[ND];           /* WAL end (number of entries) */
byte wal[ND * MAXL];    /* term stamp of each entry */
byte inc[ND];           /* incarnation: postmaster starts as primary */
byte upstr[ND];         /* primary_conninfo target, NONE if empty */

/* volatile */
bool up[NV];
byte gage[ND * NV];     /* primary x: ticks since the send time of the latest
                           request voter v granted (FENCE = none fresh) */
byte cand[ND];          /* candidate: bitmask of votes in its current term */
bool split[ND];         /* candidate: a voter voted for someone else */
byte gt[NV];            /* voter: ticks since its last grant (or start) */
byte ra[NV];            /* ticks since the node started */
byte maxinc[NV];        /* voter: 1 + highest incarnation of the primary of
                           its term granted since its start, 0 = none */
byte cert[NV];          /* voter: 1 + incarnation in the DEAD it holds, 0 none */
#ifdef MODEL_SYNC_LSN
byte kt[NV];            /* voter: known sync position (term stamp, lsn), R13a */
byte kl[NV];
#endif
#ifdef FLAW_SYNC_SET
byte kss[NV];           /* last reported sync set (bitmask) */
#endif
byte pack[ND];          /* primary: acknowledged WAL end on its timeline */
#ifdef LIVE
byte nla[ND];           /* primary: ticks without a valid lease (R8 timer) */
byte gsn[ND * NV];      /* primary x: ticks since voter v granted it anything,
                           saturating at FAILOVER (R8's condition: a primary
                           that no other voter granted for W keeps its term) */
#endif

/* environment */
byte cut;               /* bit per undirected agent link that is down */
byte wb;                /* bit s: WAL stream of standby s broken */
byte dfs[NV];           /* DEAD in flight to voter v: 1 + sender, 0 = none */
byte dft[NV];
byte dfi[NV];
byte ncrash;
byte npart;
byte sincedrift = DRIFTWIN;
bool calm;              /* faults have stopped (liveness premise) */
#ifdef LIVE
byte stepped;           /* once calm: data nodes that took their step this tick */
#endif

/* ghosts for the (b) checks */
byte ackt[MAXL];        /* term stamp of the acknowledged entry at each position */
byte lterm[ND];         /* term in which the node became primary, 0 = never */
byte latest;            /* highest term in which someone was promoted */

/* scratch, never live across steps (not part of the state vector) */
hidden byte hv, hk, hres, hx, hs, hd;
hidden byte a_single_writer, b_promoted_has_acked, b_ack_no_newer_primary,
           b_ack_consistent;

/* ---------------------------------------------------------------- helpers */

/* undirected link index for a < b (NV = 4) */
#define LI_(a,b) ((a) == 0 -> (b) - 1 : ((a) == 1 -> (b) + 1 : 5))
#define LK(a,b)  ((a) == (b) || !(cut & (1 << ((a) < (b) -> LI_(a,b) : LI_(b,a)))))

#define WE(x,k)  wal[(x) * MAXL + (k)]
#define LT(x)    (lsn[x] > 0 -> WE(x, lsn[x] - 1) : 0)
#define POSGT(a,b) (LT(a) > LT(b) || (LT(a) == LT(b) && lsn[a] > lsn[b]))
#define POSGE(a,b) (LT(a) > LT(b) || (LT(a) == LT(b) && lsn[a] >= lsn[b]))
/* candidate c is not behind voter v's known acknowledged position (R13a) */
#ifdef MODEL_SYNC_LSN
#define KOK(c,v) (LT(c) > kt[v] || (LT(c) == kt[v] && lsn[c] >= kl[v]))
#else
#define KOK(c,v) 1      /* R13a omitted by default: it only refuses more (S11) */
#endif

#if MAXL >= 3
#define PFX3(s,u) (lsn[s] < 3 || WE(s,2) == WE(u,2))
#else
#define PFX3(s,u) 1
#endif
#if MAXL >= 2
#define PFX2(s,u) (lsn[s] < 2 || WE(s,1) == WE(u,1))
#else
#define PFX2(s,u) 1
#endif
#define PREFIX(s,u) (lsn[s] <= lsn[u] && (lsn[s] < 1 || WE(s,0) == WE(u,0)) \
                     && PFX2(s,u) && PFX3(s,u))

#define LEADER(x)   (!inrec[x] && voted[x] == (x))   /* x < ND */
#define FR(x,v)     (gage[(x) * NV + (v)] < FENCE)
#ifdef LIVE
#define GSN0(x, v)  gsn[(x) * NV + (v)] = 0
#define GR(x, v)    ((v) != (x) && gsn[(x) * NV + (v)] < FAILOVER)
#define SOMEGRANT(x) (GR(x, 0) || GR(x, 1) || GR(x, 2) || GR(x, 3))
#define GSNNONE(x)  for (hv : 0 .. NV - 1) { gsn[(x) * NV + hv] = FAILOVER }
#else
#define GSN0(x, v)  skip
#define GSNNONE(x)  skip
#endif
#define NFRESH(x)   (FR(x,0) + FR(x,1) + FR(x,2) + FR(x,3))
#define WRITABLE(x) (up[x] && LEADER(x) && NFRESH(x) >= Q)
#define ANYW        (WRITABLE(0) || WRITABLE(1) || WRITABLE(2))

/* a primary-role node that runs walsenders */
#ifdef FLAW_NO_STEPDOWN
#define SERVES(u) (up[u] && !inrec[u])
#else
#define SERVES(u) (up[u] && !inrec[u] && voted[u] == (u))
#endif
/* standby s streams from its upstream ("has not lost its upstream") */
#define CONN(s) (upstr[s] != NONE && !(wb & (1 << (s))) && SERVES(upstr[s]) \
                 && LK(s, upstr[s]) && PREFIX(s, upstr[s]))
#define STREAMS(s,p) (up[s] && inrec[s] && upstr[s] == (p) && CONN(s))
/* FIRST 1 (other data nodes in index order) */
#define SB1(p) ((p) == 0 -> 1 : 0)
#define SB2(p) ((p) == 2 -> 1 : 2)
#define SYNCSB(p) (STREAMS(SB1(p),p) -> SB1(p) : (STREAMS(SB2(p),p) -> SB2(p) : NONE))

/* R12: the lease this voter granted has surely expired (or R15 certificate) */
#ifdef FLAW_DEAD_AS_STATED
#define CERTOK(v) (cert[v] > 0)
#elif defined(FLAW_DEAD_CLEAR_ONLY)
#define CERTOK(v) (cert[v] > 0)
#else
#define CERTOK(v) (cert[v] > 0 && cert[v] >= maxinc[v] && ra[v] >= FAILOVER)
#endif
#ifdef BUG_NO_LEASE_WAIT
#define WAITED(v) 1
#else
#define WAITED(v) (gt[v] >= FAILOVER || CERTOK(v))
#endif

/* R13: data rule; R13b (own position) only for standby voters */
#ifdef BUG_NO_OWN_LSN
#define OWNOK(c,v) 1
#else
#define OWNOK(c,v) (!((v) < ND && inrec[v]) || POSGE(c,v))
#endif
#ifdef FLAW_SYNC_SET
#define SETOK(c,v) (kss[v] == 0 || (kss[v] & (1 << (c))))
#else
#define SETOK(c,v) 1
#endif
#define DATAOK(c,v) (KOK(c,v) && OWNOK(c,v) && SETOK(c,v))
/* R14: the voter itself has lost the primary (witness, deposed primary: R12) */
#define LOST(v) (!((v) < ND && inrec[v]) || !CONN(v))

/* R10: best candidate among reachable standbys */
#define BEATS(j,i) (up[j] && inrec[j] && LK(i,j) && (POSGT(j,i) || (!POSGT(i,j) && (j) < (i))))
#define BEST(i) (((i) == 0 || !BEATS(0,i)) && ((i) == 1 || !BEATS(1,i)) && ((i) == 2 || !BEATS(2,i)))

#define NVOTES(i) (((cand[i] >> 0) & 1) + ((cand[i] >> 1) & 1) + ((cand[i] >> 2) & 1) + ((cand[i] >> 3) & 1))
#define NSTB(i) ((((cand[i] >> 0) & 1) && inrec[0]) + (((cand[i] >> 1) & 1) && inrec[1]) \
                 + (((cand[i] >> 2) & 1) && inrec[2]))

#define MAXTERM4 ((term[0] > term[1] -> term[0] : term[1]) > (term[2] > term[3] -> term[2] : term[3]) \
                  -> (term[0] > term[1] -> term[0] : term[1]) : (term[2] > term[3] -> term[2] : term[3]))

/* R10.3: no reachable leader of a term >= mine (it will LEASE me, or step down) */
#ifdef FLAW_CAMPAIGN_AGAINST_PRIMARY
#define NOPRIM(i) 1
#else
#define NOPRIM(i) (((i) == 0 || !(up[0] && LEADER(0) && term[0] >= term[i] && LK(i,0))) && \
                   ((i) == 1 || !(up[1] && LEADER(1) && term[1] >= term[i] && LK(i,1))) && \
                   ((i) == 2 || !(up[2] && LEADER(2) && term[2] >= term[i] && LK(i,2))))
#endif
/* R10: may start a campaign (persist term+1, vote for itself); R10.1 (pause,
 * priority) is not modelled, R10.5 is WAITED and KOK on itself */
#define CANSTART(i) (up[i] && inrec[i] && !CONN(i) && term[i] < MAXT && NOPRIM(i) && BEST(i) \
                     && WAITED(i) && KOK(i,i) \
                     && (!calm || cand[i] == 0 || split[i]))
#define CANCONT(i) (cand[i] != 0 && up[i] && inrec[i] && voted[i] == (i) && !CONN(i) \
                    && !split[i] && NOPRIM(i))

/* a node that can no longer be primary: its grant ages are irrelevant;
 * resetting them keeps equivalent states equal */
#define DROPLEASE(x) gage[(x) * NV + 0] = FENCE; gage[(x) * NV + 1] = FENCE; \
                     gage[(x) * NV + 2] = FENCE; gage[(x) * NV + 3] = FENCE

/* variant switches used by the handlers below */
#ifdef MODEL_SYNC_LSN
/* sync info: keep the most advanced acknowledged position */
#define LEARNLSN(p, v) if \
	:: pack[p] > 0 && (WE(p, pack[p] - 1) > kt[v] || (WE(p, pack[p] - 1) == kt[v] && pack[p] > kl[v])) -> \
		kt[v] = WE(p, pack[p] - 1); kl[v] = pack[p] \
	:: else \
	fi
#define FORGETKL(x) kt[x] = 0; kl[x] = 0
#else
#define LEARNLSN(p, v) skip
#define FORGETKL(x) skip
#endif
#ifdef LIVE
#define NLA0(x) nla[x] = 0
#else
#define NLA0(x) skip
#endif
#ifdef FLAW_DEAD_CLEAR_ONLY
#define CLEARCERT(v) cert[v] = 0
#else
#define CLEARCERT(v) skip
#endif
#ifdef FLAW_SYNC_SET
#define LEARNSET(p,v) hs = SYNCSB(p); kss[v] = (hs == NONE -> 0 : (1 << hs))
#define FORGETKSS(x) kss[x] = 0
#else
#define LEARNSET(p,v) skip
#define FORGETKSS(x) skip
#endif
#ifdef FLAW_ACK_AFTER_VOTE
#define DETACH(v) skip
#else
#define DETACH(v) if :: v < ND && inrec[v] -> upstr[v] = NONE :: else fi   /* R17 */
#endif
#ifdef BUG_NO_STANDBY_COUNT
#define STBOK(i) 1
#else
#define STBOK(i) (NSTB(i) >= NSTBNEED)   /* R16 */
#endif

/* ---------------------------------------------------------------- checks */

inline check_a() {
	a_single_writer = !(WRITABLE(0) && WRITABLE(1)) && !(WRITABLE(0) && WRITABLE(2)) &&
	                  !(WRITABLE(1) && WRITABLE(2));
	assert(a_single_writer)
}

/* ------------------------------------------------------ message handlers */

/* LEASE(term[p], p, inc[p], sync info) arriving at voter v; result in hres:
 * 1 granted, 2 refused with a higher term, 0 refused */
inline lease_at_voter(p, v) {
	if
	:: v < ND && !inrec[v] ->
		/* another primary-role node never grants; a higher term deposes it */
		if
		:: term[p] > term[v] -> term[v] = term[p]; voted[v] = NONE; cert[v] = 0; DROPLEASE(v)
		:: else
		fi;
		hres = (term[v] > term[p] -> 2 : 0)
	:: else ->
		if
		:: term[p] > term[v] || (term[p] == term[v] && (voted[v] == NONE || voted[v] == p)) ->
			if
			:: term[p] != term[v] || voted[v] != p -> cert[v] = 0; maxinc[v] = 0
			:: else
			fi;
			term[v] = term[p]; voted[v] = p;          /* persisted before the reply */
			gt[v] = 0;
			if
			:: maxinc[v] < inc[p] + 1 -> maxinc[v] = inc[p] + 1
			:: else
			fi;
			CLEARCERT(v);
			LEARNLSN(p, v);
			LEARNSET(p, v);
			hres = 1
		:: else ->
			hres = (term[v] > term[p] -> 2 : 0)
		fi;
		/* R17: a standby follows the primary of its current term */
		if
		:: v < ND && term[p] >= term[v] -> upstr[v] = p;
			if :: cand[v] != 0 -> cand[v] = 0; split[v] = 0; DROPLEASE(v) :: else fi
		:: else
		fi
	fi
}

/* the reply to p's LEASE reached p */
inline lease_reply(p, v) {
	printf("MSC: LEASE(t%d) node %d -> voter %d: result %d (1 grant, 2 refused higher term)\n", term[p], p, v, hres);
	if
	:: hres == 1 -> gage[p * NV + v] = 0; GSN0(p, v)
	:: hres == 2 -> term[p] = term[v]; voted[p] = NONE; DROPLEASE(p)   /* R7 */
	:: else
	fi
}

/* one LEASE request/reply of leader p with voter v (R3, R4) */
inline lease_rt(p, v) {
	gage[p * NV + p] = 0;                               /* self-grant */
	lease_at_voter(p, v);
	lease_reply(p, v)
}

/* full LEASE round (used once calm: no loss) */
inline lease_round(p) {
	for (hv : 0 .. NV - 1) {
		if
		:: hv != p && LEADER(p) && up[hv] && LK(p, hv) -> lease_rt(p, hv)
		:: else
		fi
	}
}

/* VOTE(term[c], c, position(c)) arriving at voter v; hres as above */
inline vote_at_voter(c, v) {
	if
	:: v < ND && !inrec[v] && voted[v] == v ->
		hres = 0                                       /* a primary holding its term */
	:: else ->
		if
		:: term[c] < term[v] || (term[c] == term[v] && voted[v] != NONE && voted[v] != c) ->
			hres = 2                                   /* R11 */
		:: else ->
			if
			:: WAITED(v) && DATAOK(c, v) && LOST(v) ->  /* R12, R13, R14 */
				if
				:: term[c] != term[v] || voted[v] != c -> cert[v] = 0
				:: else
				fi;
				term[v] = term[c]; voted[v] = c;       /* persisted before the reply */
				gt[v] = 0; maxinc[v] = inc[c] + 1;     /* the vote is c's first grant */
				DETACH(v);
				hres = 1
			:: else -> hres = 0
			fi
		fi
	fi
}

inline promote(i) {
	b_promoted_has_acked = 1;
	for (hk : 0 .. MAXL - 1) {
		if
		:: ackt[hk] != 0 && !(lsn[i] > hk && WE(i, hk) == ackt[hk]) -> b_promoted_has_acked = 0
		:: else
		fi
	}
	printf("MSC: PROMOTE node %d term %d lsn %d\n", i, term[i], lsn[i]);
	assert(b_promoted_has_acked);
	inrec[i] = 0; cand[i] = 0; split[i] = 0; upstr[i] = NONE;
	lterm[i] = term[i]; latest = term[i]; pack[i] = 0; NLA0(i)
}

/* the reply to i's VOTE reached i; promote on a quorum (R16) */
inline vote_reply(i, v) {
	printf("MSC: VOTE(t%d) node %d -> voter %d: result %d\n", term[i], i, v, hres);
	if
	:: hres == 1 -> cand[i] = cand[i] | (1 << v); gage[i * NV + v] = 0; GSN0(i, v)
	:: hres == 2 ->
		if
		:: term[v] > term[i] -> term[i] = term[v]; voted[i] = NONE; cand[i] = 0; split[i] = 0;
			DROPLEASE(i)
		:: else -> split[i] = 1
		fi
	:: else
	fi;
	if
	:: cand[i] != 0 && voted[i] == i && NVOTES(i) >= Q && STBOK(i) -> promote(i)
	:: else
	fi
}

#define VREQ(i,v) ((v) != (i) && up[v] && LK(i, v) && !(cand[i] & (1 << (v))))

/* full VOTE round (used once calm) */
inline vote_round(i) {
	for (hv : 0 .. NV - 1) {
		if
		:: cand[i] != 0 && voted[i] == i && VREQ(i, hv) ->
			vote_at_voter(i, hv); vote_reply(i, hv)
		:: else
		fi
	}
}

inline campaign_start(i) {
	printf("MSC: CAMPAIGN node %d for term %d\n", i, term[i] + 1);
	term[i] = term[i] + 1; voted[i] = i;               /* persisted first */
	cand[i] = (1 << i); split[i] = 0;
	cert[i] = 0; maxinc[i] = inc[i] + 1;               /* self-vote: no gt (R12) */
	DETACH(i);
	for (hv : 0 .. NV - 1) { gage[i * NV + hv] = FENCE };
	gage[i * NV + i] = 0;
	GSNNONE(i)
}

/* acknowledge commits up to what the synchronous standby has flushed */
#ifdef FLAW_ACK_AFTER_VOTE
#define ACKGUARD(p) (up[p] && !inrec[p])
#else
#define ACKGUARD(p) (WRITABLE(p))                     /* R5: re-check after the wait */
#endif
#define ACKABLE(p) (ACKGUARD(p) && SYNCSB(p) != NONE && lsn[SYNCSB(p)] > pack[p])

inline ack(p) {
	hs = SYNCSB(p);
	printf("MSC: ACK node %d up to lsn %d (sync standby %d)\n", p, lsn[hs], hs);
	for (hk : pack[p] .. lsn[hs] - 1) {
		b_ack_consistent = (ackt[hk] == 0 || ackt[hk] == WE(p, hk));
		assert(b_ack_consistent);
		ackt[hk] = WE(p, hk)
	};
	pack[p] = lsn[hs];
	b_ack_no_newer_primary = (lterm[p] == latest);
	assert(b_ack_no_newer_primary)
}

/* ----------------------------------------------------------- clock ticks */

/* one tick of every running node's clock; with slow = 1 the lease clocks of
 * the data nodes (gage: a primary's time since its requests were sent) lag
 * by this tick (shortcut S2) */
inline tick(slow) {
	for (hd : 0 .. NV - 1) {
		if
		:: up[hd] ->
			if :: gt[hd] < FAILOVER -> gt[hd]++ :: else fi;
			if :: ra[hd] < FAILOVER -> ra[hd]++ :: else fi;
			if
			:: hd < ND ->
#ifdef LIVE
				/* R8 timer: the lease was not valid during the elapsed tick */
				if
				:: LEADER(hd) && NFRESH(hd) < Q -> if :: nla[hd] < ABD -> nla[hd]++ :: else fi
				:: else -> nla[hd] = 0
				fi;
				for (hk : 0 .. NV - 1) {
					if :: gsn[hd * NV + hk] < FAILOVER -> gsn[hd * NV + hk]++ :: else fi
				};
#endif
				if
				:: !slow ->
					for (hk : 0 .. NV - 1) {
						if :: gage[hd * NV + hk] < FENCE -> gage[hd * NV + hk]++ :: else fi
					}
				:: else
				fi
			:: else
			fi
		:: else
		fi
	};
	if :: sincedrift < DRIFTWIN -> sincedrift++ :: else fi
}

/* ------------------------------------------------------------ processes */

/* R8: STEPDOWN(i) = i may step down now; MUSTSTEP(i) = it must (no more
 * LEASE requests).  Safety runs let a primary without a valid lease step down
 * at any moment (a superset of "after failover_timeout without lease");
 * liveness runs use the timer. */
#ifdef FLAW_NO_STEPDOWN
#define STEPDOWN(i) (0)
#define MUSTSTEP(i) (0)
#elif defined(LIVE)
/* the code's R8 (src/failover.c iqf_failover_step_down): only a primary that
 * some other voter granted within W steps down */
#define STEPDOWN(i) (nla[i] >= ABD && SOMEGRANT(i))
#define MUSTSTEP(i) (nla[i] >= ABD && SOMEGRANT(i))
#else
#define STEPDOWN(i) (NFRESH(i) < Q)
#define MUSTSTEP(i) (0)
#endif

/* data node i: one LEASE round trip with voter v (a lost request is a round
 * trip that is never scheduled; a lost reply is dominated, shortcut S3) */
#define LEASE_OPT(i, v) \
	:: d_step { (v) != (i) && !calm && up[i] && LEADER(i) && !MUSTSTEP(i) && up[v] && LK(i, v) -> \
		lease_rt(i, v); check_a() }
/* data node i: one VOTE round trip with voter v */
#define VOTE_OPT(i, v) \
	:: d_step { !calm && CANCONT(i) && VREQ(i, v) -> \
		vote_at_voter(i, v); vote_reply(i, v); check_a() }

/* standby i: a pre-vote refused in x's newer term; i adopts it with no vote
 * and keeps its certificate (S15) */
#define ADOPT_OPT(i, x) \
	:: d_step { !calm && (x) != (i) && up[i] && inrec[i] && cand[i] == 0 && up[x] && LK(i, x) && \
		term[x] > term[i] -> term[i] = term[x]; voted[i] = NONE; \
		printf("MSC: ADOPT node %d term %d of node %d (pre-vote refused)\n", i, term[i], x); check_a() }

inline stepdown(i) {
	printf("MSC: STEP DOWN node %d\n", i);
	term[i] = term[i] + 1; voted[i] = NONE; DROPLEASE(i); NLA0(i)
}

inline receive(i) {
	WE(i, lsn[i]) = WE(upstr[i], lsn[i]); lsn[i]++;
	printf("MSC: STREAM node %d from %d lsn %d\n", i, upstr[i], lsn[i])
}

/* once calm (liveness runs): everything node i does in one tick, no loss */
inline calm_step(i) {
	if
	:: up[i] && LEADER(i) ->
		if
		:: MUSTSTEP(i) -> stepdown(i)
		:: else -> lease_round(i)
		fi
	:: up[i] && inrec[i] ->
		if
		:: CONN(i) && lsn[i] < lsn[upstr[i]] -> receive(i)
		:: else
		fi;
		if
		:: CANSTART(i) -> campaign_start(i); vote_round(i)
		:: else ->
			if
			:: CANCONT(i) -> vote_round(i)
			:: else
			fi
		fi
	:: else
	fi
}

proctype Node(byte i)
{
	do
	/* primary: R8 step down, LEASE (R3, R4), writes, acknowledgements (R5) */
	:: d_step { !calm && up[i] && LEADER(i) && STEPDOWN(i) -> stepdown(i); check_a() }
	LEASE_OPT(i, 0)
	LEASE_OPT(i, 1)
	LEASE_OPT(i, 2)
	LEASE_OPT(i, 3)
	:: d_step { !calm && WRITABLE(i) && lsn[i] < MAXL ->
		WE(i, lsn[i]) = term[i]; lsn[i]++; printf("MSC: WRITE node %d lsn %d\n", i, lsn[i]); check_a() }
	:: d_step { !calm && ACKABLE(i) -> ack(i); check_a() }
	/* standby: stream one WAL entry */
	:: d_step { !calm && up[i] && inrec[i] && CONN(i) && lsn[i] < lsn[upstr[i]] -> receive(i); check_a() }
	/* standby: campaign (R10) and VOTE requests */
	:: d_step { !calm && CANSTART(i) -> campaign_start(i); check_a() }
	ADOPT_OPT(i, 0)
	ADOPT_OPT(i, 1)
	ADOPT_OPT(i, 2)
	ADOPT_OPT(i, 3)
	VOTE_OPT(i, 0)
	VOTE_OPT(i, 1)
	VOTE_OPT(i, 2)
	VOTE_OPT(i, 3)
#ifdef LIVE
	/* once calm: one deterministic step per node per tick (synchrony) */
	:: d_step { calm && !(stepped & (1 << i)) -> calm_step(i); stepped = stepped | (1 << i); check_a() }
#endif
	od
}

proctype Clock()
{
	do
	:: d_step { !calm -> tick(0); printf("MSC: tick\n"); check_a() }
#ifdef LIVE
	/* once calm, time advances only after every data node took its step */
	:: d_step { calm && stepped == 7 -> tick(0); stepped = 0; printf("MSC: tick\n"); check_a() }
#endif
#if DRIFT
	:: d_step { !calm && sincedrift >= DRIFTWIN -> tick(1); sincedrift = 0; printf("MSC: tick (lease clocks lag)\n"); check_a() }
#endif
	od
}

/* volatile state is lost (reset now, to the values a restart starts with) */
inline crash(x) {
	printf("MSC: CRASH node %d\n", x);
	ncrash++;
	up[x] = 0;
	if
	:: x < ND ->
		for (hv : 0 .. NV - 1) { gage[x * NV + hv] = FENCE };
		GSNNONE(x);
		cand[x] = 0; split[x] = 0; pack[x] = 0; NLA0(x)
	:: else
	fi;
	gt[x] = 0; ra[x] = 0; maxinc[x] = 0; cert[x] = 0; FORGETKSS(x); FORGETKL(x)
}

/* kill -9 of a primary's postmaster: its agent sends DEAD (R15) to every voter
 * it still reaches; a lost DEAD is the Env's drop action */
inline kill9(x) {
	printf("MSC: KILL -9 node %d: DEAD(t%d, inc %d) in flight\n", x, term[x], inc[x]);
	for (hv : 0 .. NV - 1) {
		if
		:: hv != x && up[hv] && LK(x, hv) && dfs[hv] == 0 ->
			dfs[hv] = x + 1; dft[hv] = term[x]; dfi[hv] = inc[x]
		:: else
		fi
	};
	crash(x)
}

#ifdef BUG_NO_FENCED_START
#define FENCEDSTART(x) for (hv : 0 .. NV - 1) { gage[x * NV + hv] = 0 }
#else
#define FENCEDSTART(x) skip
#endif
#ifdef BUG_FORGET_VOTE
#define FORGET(x) term[x] = 0; voted[x] = NONE
#else
#define FORGET(x) skip
#endif

inline restart(x) {
	printf("MSC: RESTART node %d\n", x);
	up[x] = 1;
	if
	:: x < ND && !inrec[x] ->
		inc[x] = inc[x] + 1;                           /* R6: persisted at start */
		FENCEDSTART(x)
	:: else
	fi;
	FORGET(x)
}

#if defined(FLAW_DEAD_AS_STATED) || defined(FLAW_DEAD_CLEAR_ONLY)
#define DEADINC(v) 1
#else
#define DEADINC(v) (dfi[v] + 1 >= maxinc[v])   /* R15: not older than what it granted */
#endif

inline deliver_dead(v) {
	printf("MSC: DEAD(t%d, node %d, inc %d) delivered to %d\n", dft[v], dfs[v] - 1, dfi[v], v);
	if
	:: !(v < ND && !inrec[v]) && dft[v] == term[v] && voted[v] == dfs[v] - 1 && DEADINC(v) ->
	   if :: cert[v] < dfi[v] + 1 -> cert[v] = dfi[v] + 1 :: else fi
	:: else
	fi;
	dfs[v] = 0; dft[v] = 0; dfi[v] = 0
}

#define CRASH_OPT(x) \
	:: d_step { !calm && ncrash < MAXCRASH && up[x] -> crash(x); check_a() } \
	:: d_step { !calm && ncrash < MAXCRASH && up[x] && (x) < ND && LEADER(x) -> kill9(x); check_a() } \
	:: d_step { !calm && !up[x] -> restart(x); check_a() }
/* a DEAD is delivered at any later time, or never (lost) */
#define DEAD_OPT(v) \
	:: d_step { !calm && dfs[v] != 0 && up[v] -> deliver_dead(v); check_a() }
#define PART_OPT(c, w) \
	:: d_step { !calm && npart < MAXPART -> npart++; cut = c; wb = w; \
		printf("MSC: PARTITION links-down %d streams-broken %d\n", cut, wb); check_a() }

/* agent-link bits: P-S1 1, P-S2 2, P-W 4, S1-S2 8, S1-W 16, S2-W 32 */
/* (c) premise: S1, S2 and W (a majority of the 4 voters, with eligible
 * standbys) are up and can all talk to each other.  P may be down, isolated
 * or connected to any of them; WAL streams may stay broken.  See S10. */
#define PREMISE (!(cut & 56) && up[1] && up[2] && up[3] && inrec[1] && inrec[2] && \
                 MAXTERM4 + 2 <= MAXT)

proctype Env()
{
	do
#ifndef CRASH_VOTERS_ONLY
	CRASH_OPT(0)
#endif
#ifndef CRASH_P_ONLY
	CRASH_OPT(1)
	CRASH_OPT(2)
	CRASH_OPT(3)
#endif
	DEAD_OPT(0)
	DEAD_OPT(1)
	DEAD_OPT(2)
	DEAD_OPT(3)
	PART_OPT(7, 0)          /* P isolated */
	PART_OPT(25, 0)         /* S1 isolated */
	PART_OPT(42, 0)         /* S2 isolated */
	PART_OPT(52, 0)         /* W isolated */
	PART_OPT(30, 0)         /* {P,S1} | {S2,W} */
	PART_OPT(51, 0)         /* {P,W} | {S1,S2} */
	PART_OPT(6, 0)          /* P reaches only S1 (asymmetric) */
	PART_OPT(3, 0)          /* P reaches only W (asymmetric) */
	PART_OPT(8, 0)          /* S1 and S2 cannot see each other */
	PART_OPT(1, 0)          /* only the P-S1 link is down */
	PART_OPT(0, 2)          /* S1's WAL stream breaks, agent links fine */
	PART_OPT(0, 4)          /* S2's WAL stream breaks */
	PART_OPT(8, 4)          /* S2's stream breaks and S1-S2 cut */
	PART_OPT(1, 4)          /* P-S1 down and S2's stream breaks */
	PART_OPT(0, 6)          /* both WAL streams break, agent links fine */
#ifdef ALLPART
	PART_OPT(45, 0)         /* {P,S2} | {S1,W} */
	PART_OPT(5, 0)          /* P reaches only S2 */
	PART_OPT(2, 0)
	PART_OPT(4, 0)
	PART_OPT(8, 2)
#endif
	:: d_step { !calm && (cut != 0 || wb != 0) -> cut = 0; wb = 0; printf("MSC: HEAL\n"); check_a() }
#ifdef LIVE
	:: d_step { !calm && PREMISE ->
		calm = 1;
		for (hv : 0 .. NV - 1) { dfs[hv] = 0; dft[hv] = 0; dfi[hv] = 0 };
		printf("MSC: CALM (faults stop)\n") }
#endif
	od
}

#ifdef LIVE
ltl c_primary_returns { [] (calm -> <> (WRITABLE(0) || WRITABLE(1) || WRITABLE(2))) }
#endif

init {
	atomic {
		for (hv : 0 .. NV - 1) {
			term[hv] = 1; voted[hv] = 0; up[hv] = 1;
			gt[hv] = 0; ra[hv] = FAILOVER; maxinc[hv] = 1
		};
		for (hv : 0 .. ND * NV - 1) { gage[hv] = FENCE };
		for (hv : 0 .. NV - 1) { gage[hv] = 0 };       /* P holds a fresh lease */
#ifdef LIVE
		for (hv : 0 .. ND * NV - 1) { gsn[hv] = FAILOVER };
		for (hv : 0 .. NV - 1) { gsn[hv] = 0 };
#endif
		inrec[0] = 0; inrec[1] = 1; inrec[2] = 1;
		upstr[0] = NONE; upstr[1] = 0; upstr[2] = 0;
		lterm[0] = 1; latest = 1;
		run Node(0); run Node(1); run Node(2);
		run Clock(); run Env()
	}
}
