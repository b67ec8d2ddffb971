#!/usr/bin/env python3
"""bench/iqf_bench.py - helper for bench/run.sh (standard library only).

A tiny PostgreSQL client (simple query protocol over the Unix socket, trust
authentication) so that a probe can poll a view every few milliseconds from
one persistent connection, without psycopg or a psql process per query; and
the detection-latency probes built on it.

run.sh starts it as the user that owns the servers (so it may signal them and
run pg_ctl directly), reading this file from stdin:  python3 - CMD ARGS...

Commands (all times from time.monotonic(); results on stdout as key=value):

  wait SOCKDIR PORT USER DB TIMEOUT_S EXPECTED SQL
      poll SQL every 50 ms until its first value equals EXPECTED; exit 1 on
      timeout.  Connection failures are retried (the server may be starting).

  kill-primary SOCKDIR STANDBY_PORT USER DB PRIMARY_DATADIR POLL_MS TIMEOUT_S JITTER_MS
      On a persistent connection to the standby, check that
      innoquim_failover.upstream says connected, wait a random 0..JITTER_MS
      (so the kill falls at a random phase of the monitor's cadence), take
      t0, kill -9 the primary's postmaster (postmaster.pid line 1), then poll
      every POLL_MS until the upstream view says connected = false
      (detect_ms) and, for reference, until core pg_stat_wal_receiver has no
      row (core_ms).  Then waits for the killed postmaster's orphaned
      children (processes whose cwd is the data directory) to exit and for
      the postmaster itself to be reaped, so that the primary can be
      restarted: its stale postmaster.pid names a PID that a new postmaster
      refuses while the PID exists, and a zombie exists until PID 1 reaps it.
      If it is not reaped within 15 s, the stale postmaster.pid is removed
      (nothing of the old server is running any more by then).

  stop-standby SOCKDIR PRIMARY_PORT USER DB STANDBY_DATADIR PG_CTL APPNAME POLL_MS TIMEOUT_S JITTER_MS
      On a persistent connection to the primary, check that
      innoquim_failover.replication lists APPNAME, wait 0..JITTER_MS, take t0
      just before spawning `pg_ctl stop -D STANDBY_DATADIR -m fast -W`, then
      poll every POLL_MS until the view no longer lists APPNAME (detect_ms)
      and, for reference, until pg_stat_replication no longer does (core_ms).
      Then waits until the standby's shutdown has completed (postmaster.pid
      removed, as pg_ctl stop -w would).

  cpu DATADIR USER DB
      CPU seconds used so far by the server of DATADIR: utime+stime of every
      live process whose cwd is DATADIR, plus the postmaster's cutime+cstime
      (children it has reaped: exited backends, workers).  First waits (up
      to 5 s) until no client backend of USER/DB is alive and no child is a
      zombie, so that a finished pgbench run is fully accounted.

  stats NUMBER...
      prints median= min= max= n=

  port-free PORT...
      exit 1 if something accepts connections on 127.0.0.1:PORT

Commands used by bench/failover.sh (results one key=value per line):

  failover-probe SOCKDIR USER DB P_PORT S_PORT W_PORT P_DATADIR MODE POLL_MS TIMEOUT_S JITTER_MS
      Time to the first successful write on the standby after the primary is
      lost.  Checks that the primary's failover view says primary with an
      enforced lease and the standby's says following, waits a random
      0..JITTER_MS, takes t0 and then, by MODE:
        kill  kill -9 of the primary's postmaster (only the postmaster: its
              children, the agent among them, outlive it for a moment);
        stop  SIGSTOP of the postmaster and of every child (a hung primary:
              no death certificate, the slow path of a partition).
      From t0 on, on one persistent connection to the standby (reconnected
      after a connection error), tries INSERT INTO bench_probe VALUES (n)
      every POLL_MS until one succeeds: failover_ms.  Records every distinct
      error with its count and first/last time.  Then reads the winner's
      failover view (decide_ms, promote_ms, first_write_ms, waiting up to
      5 s for the last two: the agent records the end of the promotion at
      its next tick, possibly after the first write) and the reason of its
      latest primary_lost event.  In
      stop mode the primary is resumed (SIGCONT, always, also on error or
      timeout) and a write is tried on it, on the session opened before it
      was frozen and on a new one: both must fail with "fenced"; then waits
      up to 10 s for its failover phase to say superseded.

  blip SOCKDIR USER DB P_PORT S_PORT P_DATADIR STOP_MS COUNT GAP_MS
      COUNT times: SIGSTOP of the primary's postmaster and every child for
      STOP_MS, then SIGCONT, then GAP_MS of pause.  After each resume, polls
      the primary's lease_remaining_ms every 20 ms for up to 2 s: the lowest
      value seen and how long after the resume the lease was renewed ("<=N"
      when it already was at the first poll, N ms after the resume).

  soak-monitor SOCKDIR USER DB P_PORT S_PORT W_PORT SECS SAMPLE_S CHECKPOINT_S REPORT_S WATCH_PID PGBENCH_LOG
      Until WATCH_PID (pgbench) has exited, or SECS + 60 s: every SAMPLE_S the
      failover view and events of every node (failovers, term, phase, fenced
      and primary_lost events); every 100 ms the primary's
      lease_remaining_ms (the lowest is how close the lease came to lapse);
      CHECKPOINT on the primary every CHECKPOINT_S (in a thread); a report
      line every REPORT_S with the latest pgbench progress line.  Prints
      the totals at the end.
"""
import os
import random
import signal
import socket
import statistics
import struct
import subprocess
import sys
import threading
import time


class PGError(Exception):
    pass


class PG:
    """Just enough of the v3 frontend/backend protocol for simple queries."""

    def __init__(self, sockdir, port, user, db, timeout=10.0):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(os.path.join(sockdir, ".s.PGSQL.%d" % int(port)))
        self.buf = b""
        body = struct.pack("!i", 196608)
        for k, v in (("user", user), ("database", db),
                     ("application_name", "iqf_bench_probe")):
            body += k.encode() + b"\0" + v.encode() + b"\0"
        body += b"\0"
        self.sock.sendall(struct.pack("!i", len(body) + 4) + body)
        while True:
            typ, payload = self._msg()
            if typ == b"R":
                code = struct.unpack("!i", payload[:4])[0]
                if code != 0:
                    raise PGError("server asks for authentication method %d; "
                                  "the bench needs trust on the socket" % code)
            elif typ == b"E":
                raise PGError(self._errtext(payload))
            elif typ == b"Z":
                return

    def _recv(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("server closed the connection")
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def _msg(self):
        hdr = self._recv(5)
        length = struct.unpack("!i", hdr[1:])[0]
        return hdr[:1], self._recv(length - 4)

    @staticmethod
    def _errtext(payload):
        fields = {}
        for part in payload.split(b"\0"):
            if part:
                fields[part[:1]] = part[1:].decode(errors="replace")
        return "%s: %s" % (fields.get(b"S", "ERROR"), fields.get(b"M", "?"))

    def query(self, sql):
        data = sql.encode() + b"\0"
        self.sock.sendall(b"Q" + struct.pack("!i", len(data) + 4) + data)
        rows, err = [], None
        while True:
            typ, p = self._msg()
            if typ == b"D":
                ncol = struct.unpack("!h", p[:2])[0]
                off, row = 2, []
                for _ in range(ncol):
                    ln = struct.unpack("!i", p[off:off + 4])[0]
                    off += 4
                    if ln < 0:
                        row.append(None)
                    else:
                        row.append(p[off:off + ln].decode())
                        off += ln
                rows.append(row)
            elif typ == b"E":
                err = self._errtext(p)
            elif typ == b"Z":
                break
        if err:
            raise PGError(err)
        return rows

    def close(self):
        try:
            self.sock.sendall(b"X" + struct.pack("!i", 4))
        except OSError:
            pass
        self.sock.close()


def die(msg):
    print("iqf_bench.py: " + msg, file=sys.stderr)
    sys.exit(2)


def postmaster_pid(datadir):
    try:
        with open(os.path.join(datadir, "postmaster.pid")) as f:
            return int(f.readline().strip())
    except (OSError, ValueError):
        return None


def alive(pid):
    """True while pid runs; a zombie (exited, not yet reaped - orphans are
    reaped by PID 1, which may take its time) counts as gone."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            stat = f.read()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2:][:1] not in ("Z", "X")


def pids_in_dir(datadir):
    """Processes whose working directory is datadir: a postmaster and all its
    children chdir() there, so this finds them even once orphaned."""
    want = os.path.realpath(datadir)
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            if os.readlink("/proc/%s/cwd" % name) == want:
                found.append(int(name))
        except OSError:
            pass
    return found


def proc_stat(pid):
    """(state, ppid, utime, stime, cutime, cstime) from /proc/PID/stat."""
    with open("/proc/%d/stat" % pid) as f:
        data = f.read()
    fields = data[data.rindex(")") + 2:].split()
    return (fields[0], int(fields[1]), int(fields[11]), int(fields[12]),
            int(fields[13]), int(fields[14]))


def cmd_cpu(datadir, user, db):
    pm = postmaster_pid(datadir)
    if pm is None or not alive(pm):
        die("no server running in %s" % datadir)
    tag = ("postgres: %s %s " % (user, db)).encode()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        busy = False
        for name in os.listdir("/proc"):
            if not name.isdigit():
                continue
            pid = int(name)
            try:
                st = proc_stat(pid)
                if st[1] != pm:
                    continue
                if st[0] == "Z":
                    busy = True
                    break
                with open("/proc/%d/cmdline" % pid, "rb") as f:
                    if f.read().startswith(tag):
                        busy = True
                        break
            except (OSError, ValueError, IndexError):
                continue
        if not busy:
            break
        time.sleep(0.02)
    ticks = 0
    for pid in pids_in_dir(datadir):
        try:
            st = proc_stat(pid)
        except (OSError, ValueError, IndexError):
            continue
        ticks += st[2] + st[3]
        if pid == pm:
            ticks += st[4] + st[5]
    print("%.3f" % (ticks / float(os.sysconf("SC_CLK_TCK"))))
    return 0


def first_value(conn, sql):
    rows = conn.query(sql)
    return rows[0][0] if rows and rows[0] else None


def cmd_wait(sockdir, port, user, db, timeout_s, expected, sql):
    deadline = time.monotonic() + float(timeout_s)
    last = "no answer"
    conn = None
    while time.monotonic() < deadline:
        try:
            if conn is None:
                conn = PG(sockdir, port, user, db, timeout=5)
            v = first_value(conn, sql)
            if v == expected:
                conn.close()
                return 0
            last = "got %r" % (v,)
        except (OSError, PGError, ConnectionError) as e:
            last = str(e)
            if conn is not None:
                try:
                    conn.sock.close()
                except OSError:
                    pass
            conn = None
        time.sleep(0.05)
    print("timeout after %ss waiting for %r = %r (last: %s)" % (timeout_s, sql, expected, last),
          file=sys.stderr)
    return 1


def poll_two(conn, sql, t0, poll_s, timeout_s, done_a, done_b):
    """Poll sql (two values) until both predicates held once; returns the
    first-seen times in ms since t0 (None if not seen before the timeout)."""
    ta = tb = None
    while True:
        row = conn.query(sql)[0]
        now = time.monotonic()
        if ta is None and done_a(row[0]):
            ta = (now - t0) * 1000.0
        if tb is None and done_b(row[1]):
            tb = (now - t0) * 1000.0
        if ta is not None and tb is not None:
            break
        if now - t0 > timeout_s:
            break
        time.sleep(poll_s)
    return ta, tb


def fmt(ms):
    return "%.1f" % ms if ms is not None else "timeout"


def cmd_kill_primary(sockdir, port, user, db, datadir, poll_ms, timeout_s, jitter_ms):
    poll_s, timeout_s = float(poll_ms) / 1000.0, float(timeout_s)
    conn = PG(sockdir, port, user, db)
    if first_value(conn, "SELECT connected FROM innoquim_failover.upstream") != "t":
        die("standby's upstream view does not say connected before the kill")
    pid = postmaster_pid(datadir)
    if pid is None or not alive(pid):
        die("primary postmaster not running (%s)" % datadir)
    time.sleep(random.uniform(0, float(jitter_ms) / 1000.0))
    children = [p for p in pids_in_dir(datadir) if p != pid]
    sql = ("SELECT (SELECT connected FROM innoquim_failover.upstream),"
           " (SELECT count(*) FROM pg_stat_wal_receiver)")
    t0 = time.monotonic()
    os.kill(pid, signal.SIGKILL)
    detect, core = poll_two(conn, sql, t0, poll_s, timeout_s,
                            lambda v: v == "f", lambda v: v == "0")
    conn.close()
    # the orphans notice the postmaster's death and exit by themselves
    deadline = time.monotonic() + 30
    left = set(children) | set(pids_in_dir(datadir))
    while left and time.monotonic() < deadline:
        left = {p for p in left if alive(p)} | set(pids_in_dir(datadir))
        time.sleep(0.02)
    for p in left:
        try:
            os.kill(p, signal.SIGKILL)
        except OSError:
            pass
    orphans_ms = (time.monotonic() - t0) * 1000.0
    # the postmaster's PID must be gone (reaped), not just dead
    deadline = time.monotonic() + 15
    while os.path.exists("/proc/%d" % pid) and time.monotonic() < deadline:
        time.sleep(0.02)
    lock = "reaped"
    if os.path.exists("/proc/%d" % pid) and not alive(pid) and postmaster_pid(datadir) == pid:
        os.unlink(os.path.join(datadir, "postmaster.pid"))
        lock = "zombie_lockfile_removed"
    print("detect_ms=%s core_ms=%s orphans_gone_ms=%.0f orphans_killed=%d postmaster=%s reaped_ms=%.0f"
          % (fmt(detect), fmt(core), orphans_ms, len(left), lock,
             (time.monotonic() - t0) * 1000.0))
    return 0


def cmd_stop_standby(sockdir, port, user, db, datadir, pg_ctl, appname, poll_ms, timeout_s,
                     jitter_ms):
    poll_s, timeout_s = float(poll_ms) / 1000.0, float(timeout_s)
    conn = PG(sockdir, port, user, db)
    lit = "'" + appname.replace("'", "''") + "'"
    if first_value(conn, "SELECT count(*) FROM innoquim_failover.replication"
                         " WHERE application_name = " + lit) != "1":
        die("primary's replication view does not list %s before the stop" % appname)
    pid = postmaster_pid(datadir)
    if pid is None or not alive(pid):
        die("standby postmaster not running (%s)" % datadir)
    time.sleep(random.uniform(0, float(jitter_ms) / 1000.0))
    sql = ("SELECT (SELECT count(*) FROM innoquim_failover.replication WHERE application_name = %s),"
           " (SELECT count(*) FROM pg_stat_replication WHERE application_name = %s)" % (lit, lit))
    t0 = time.monotonic()
    proc = subprocess.Popen([pg_ctl, "stop", "-D", datadir, "-m", "fast", "-W"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    detect, core = poll_two(conn, sql, t0, poll_s, timeout_s,
                            lambda v: v == "0", lambda v: v == "0")
    conn.close()
    rc = proc.wait()
    deadline = time.monotonic() + 60
    while postmaster_pid(datadir) == pid and alive(pid) and time.monotonic() < deadline:
        time.sleep(0.02)
    stopped_ms = (time.monotonic() - t0) * 1000.0
    print("detect_ms=%s core_ms=%s standby_stopped_ms=%.0f pg_ctl_rc=%d"
          % (fmt(detect), fmt(core), stopped_ms, rc))
    return 0


def cmd_stats(*nums):
    vals = [float(x) for x in nums if x not in ("", "timeout", "n/a")]
    if not vals:
        print("median=n/a min=n/a max=n/a n=0")
        return 0
    print("median=%.6g min=%.6g max=%.6g n=%d"
          % (statistics.median(vals), min(vals), max(vals), len(vals)))
    return 0


def cmd_port_free(*ports):
    busy = 0
    for p in ports:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.settimeout(0.5)
        try:
            s.connect(("127.0.0.1", int(p)))
            print("port %s on 127.0.0.1 is in use" % p, file=sys.stderr)
            busy = 1
        except OSError:
            pass
        finally:
            s.close()
    return busy


# ---------------------------------------------------------------- failover.sh

def children_of(pid):
    """PIDs whose parent is pid (what `ps -o pid= --ppid PID` lists)."""
    out = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            if proc_stat(int(name))[1] == pid:
                out.append(int(name))
        except (OSError, ValueError, IndexError):
            pass
    return out


def freeze(pm, known_children):
    """SIGSTOP the postmaster and its children: first the postmaster and the
    children listed beforehand, back to back, then any child forked in the
    meantime.  Returns every PID stopped."""
    stopped = []
    for p in [pm] + list(known_children):
        try:
            os.kill(p, signal.SIGSTOP)
            stopped.append(p)
        except OSError:
            pass
    for _ in range(5):
        new = [c for c in children_of(pm) if c not in stopped]
        if not new:
            break
        for c in new:
            try:
                os.kill(c, signal.SIGSTOP)
                stopped.append(c)
            except OSError:
                pass
    return stopped


def thaw(pids):
    """SIGCONT, children first, the postmaster (first in the list) last."""
    for p in reversed(pids):
        try:
            os.kill(p, signal.SIGCONT)
        except OSError:
            pass


def connect_retry(sockdir, port, user, db, timeout_s, conn_timeout=5.0):
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            return PG(sockdir, port, user, db, timeout=conn_timeout)
        except (OSError, PGError, ConnectionError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def drop(conn):
    if conn is not None:
        try:
            conn.sock.close()
        except OSError:
            pass


def one_line(text):
    return " ".join(str(text).split())


def try_write(conn, sql):
    """'ok', or the error text."""
    try:
        conn.query(sql)
        return "ok"
    except PGError as e:
        return one_line(e)
    except (OSError, ConnectionError) as e:
        return "connection error: " + one_line(e)


FO_SQL = ("SELECT phase, term, failovers, coalesce(primary_name, ''), lease_enforced,"
          " coalesce(round(decide_ms::numeric, 1)::text, ''),"
          " coalesce(round(promote_ms::numeric, 1)::text, ''),"
          " coalesce(round(first_write_ms::numeric, 1)::text, ''),"
          " failover_timeout_ms FROM innoquim_failover.failover")


def cmd_failover_probe(sockdir, user, db, pport, sport, wport, datadir, mode, poll_ms,
                       timeout_s, jitter_ms):
    if mode not in ("kill", "stop"):
        die("failover-probe: MODE must be kill or stop")
    poll_s, timeout_s = float(poll_ms) / 1000.0, float(timeout_s)
    cp = PG(sockdir, pport, user, db)
    cs = PG(sockdir, sport, user, db)
    prow = cp.query("SELECT phase, lease_enforced FROM innoquim_failover.failover")[0]
    srow = cs.query("SELECT phase FROM innoquim_failover.failover")[0]
    if prow != ["primary", "t"] or srow != ["following"]:
        die("not ready: primary says %r, standby says %r" % (prow, srow))
    pm = postmaster_pid(datadir)
    if pm is None or not alive(pm):
        die("primary postmaster not running (%s)" % datadir)
    jitter = random.uniform(0, float(jitter_ms) / 1000.0)
    time.sleep(jitter)
    kids = children_of(pm)
    stopped = []
    errors = {}         # text -> [count, first_ms, last_ms]
    order = []
    n = 0
    reconnects = 0
    t_ok = None
    t0 = time.monotonic()
    try:
        if mode == "kill":
            os.kill(pm, signal.SIGKILL)
        else:
            stopped = freeze(pm, kids)
        t_frozen = time.monotonic()
        while True:
            now = time.monotonic()
            if now - t0 > timeout_s:
                break
            n += 1
            try:
                if cs is None:
                    reconnects += 1
                    cs = PG(sockdir, sport, user, db, timeout=2.0)
                cs.query("INSERT INTO bench_probe VALUES (%d)" % n)
                t_ok = time.monotonic()
                break
            except PGError as e:
                err = one_line(e)
            except (OSError, ConnectionError) as e:
                err = "connection error: " + one_line(e)
                drop(cs)
                cs = None
            ms = (time.monotonic() - t0) * 1000.0
            if err not in errors:
                errors[err] = [0, ms, ms]
                order.append(err)
            errors[err][0] += 1
            errors[err][2] = ms
            time.sleep(poll_s)
    finally:
        if stopped:
            thaw(stopped)
    t_resumed = time.monotonic()
    print("mode=%s" % mode)
    print("jitter_ms=%.0f" % (jitter * 1000.0))
    print("failover_ms=%s" % (fmt((t_ok - t0) * 1000.0) if t_ok else "timeout"))
    print("attempts=%d" % n)
    print("reconnects=%d" % reconnects)
    if mode == "stop":
        print("frozen_pids=%d" % len(stopped))
        print("freeze_ms=%.1f" % ((t_frozen - t0) * 1000.0))
        print("stopped_for_ms=%.0f" % ((t_resumed - t0) * 1000.0))
    print("errors=%s" % "; ".join("%dx %.0f-%.0f ms: %s" % (errors[e][0], errors[e][1], errors[e][2], e)
                                  for e in order))
    # the winner's own timings
    fo = None
    try:
        if cs is None:
            cs = connect_retry(sockdir, sport, user, db, 5)
        deadline = time.monotonic() + 5
        while True:
            fo = cs.query(FO_SQL)[0]
            if (fo[6] != "" and fo[7] != "") or time.monotonic() > deadline or t_ok is None:
                break
            time.sleep(0.05)
        lost = cs.query("SELECT detail FROM innoquim_failover.events WHERE kind = 'primary_lost'"
                        " ORDER BY seq DESC LIMIT 1")
        print("s_lost_reason=%s" % (one_line(lost[0][0]) if lost else ""))
    except (OSError, PGError, ConnectionError) as e:
        print("s_view_error=%s" % one_line(e))
    if fo:
        print("s_phase=%s\ns_term=%s\ns_failovers=%s\ns_primary=%s\ns_lease=%s" % tuple(fo[:5]))
        print("decide_ms=%s\npromote_ms=%s\nfirst_write_ms=%s\nfailover_timeout_ms=%s" % tuple(fo[5:9]))
    try:
        cw = connect_retry(sockdir, wport, user, db, 5)
        w = cw.query("SELECT phase, term, coalesce(primary_name, '') FROM innoquim_failover.failover")[0]
        print("w_view=%s" % "|".join(w))
        cw.close()
    except (OSError, PGError, ConnectionError) as e:
        print("w_view=error: %s" % one_line(e))
    if mode == "stop":
        # the old primary, resumed: the session frozen with it, then a new one
        print("p_write_old_session=%s" % try_write(cp, "INSERT INTO bench_probe VALUES (-1)"))
        print("p_write_old_session_ms=%.0f" % ((time.monotonic() - t_resumed) * 1000.0))
        drop(cp)
        try:
            cp2 = connect_retry(sockdir, pport, user, db, 10)
            print("p_write_new_session=%s" % try_write(cp2, "INSERT INTO bench_probe VALUES (-2)"))
            deadline = time.monotonic() + 10
            ph = None
            while time.monotonic() < deadline:
                ph = first_value(cp2, "SELECT phase FROM innoquim_failover.failover")
                if ph == "superseded":
                    break
                time.sleep(0.05)
            print("p_phase=%s" % ph)
            print("p_phase_ms=%.0f" % ((time.monotonic() - t_resumed) * 1000.0))
            print("p_role=%s" % "|".join(cp2.query(
                "SELECT role, accepting_writes FROM innoquim_failover.role")[0]))
            cp2.close()
        except (OSError, PGError, ConnectionError) as e:
            print("p_write_new_session=connection error: %s" % one_line(e))
        try:
            if cs is None:
                cs = connect_retry(sockdir, sport, user, db, 5)
            print("s_after_resume=%s" % "|".join(cs.query(
                "SELECT f.phase, r.role, r.accepting_writes FROM innoquim_failover.failover f,"
                " innoquim_failover.role r")[0]))
        except (OSError, PGError, ConnectionError) as e:
            print("s_after_resume=error: %s" % one_line(e))
    drop(cs)
    return 0


def cmd_blip(sockdir, user, db, pport, sport, datadir, stop_ms, count, gap_ms):
    stop_s, gap_s = float(stop_ms) / 1000.0, float(gap_ms) / 1000.0
    cp = PG(sockdir, pport, user, db)
    lease_sql = "SELECT lease_remaining_ms, phase FROM innoquim_failover.failover"
    for i in range(1, int(count) + 1):
        pm = postmaster_pid(datadir)
        if pm is None or not alive(pm):
            die("primary postmaster not running (%s)" % datadir)
        before = cp.query(lease_sql)[0]
        kids = children_of(pm)
        stopped = []
        t0 = time.monotonic()
        try:
            stopped = freeze(pm, kids)
            time.sleep(max(0.0, t0 + stop_s - time.monotonic()))
        finally:
            thaw(stopped)
        t1 = time.monotonic()
        # lease_remaining_ms just after the resume, and when it was renewed
        # (a first value above what the freeze left means: renewed before
        # the first poll, reported as "<=" that poll's time)
        left = float(before[0]) - (t1 - t0) * 1000.0 if before[0] is not None else None
        low, renewed, last, phases = None, None, None, set()
        while time.monotonic() - t1 < 2.0:
            try:
                v, ph = cp.query(lease_sql)[0]
            except (OSError, PGError, ConnectionError):
                drop(cp)
                cp = connect_retry(sockdir, pport, user, db, 5)
                continue
            phases.add(ph)
            if v is not None:
                v = float(v)
                if low is None or v < low:
                    low = v
                if renewed is None and last is None and left is not None and v > left + 50:
                    renewed = "<=%.0f" % ((time.monotonic() - t1) * 1000.0)
                elif renewed is None and last is not None and v > last + 50:
                    renewed = "%.0f" % ((time.monotonic() - t1) * 1000.0)
                last = v
            time.sleep(0.02)
        print("blip%d=stopped_ms=%.0f frozen_pids=%d lease_ms_before=%s lease_ms_lowest_after=%s "
              "renewed_after_resume_ms=%s p_phases=%s"
              % (i, (t1 - t0) * 1000.0, len(stopped),
                 "%.0f" % float(before[0]) if before[0] is not None else "null",
                 "%.0f" % low if low is not None else "null",
                 renewed if renewed is not None else "none",
                 ",".join(sorted(phases))))
        sys.stdout.flush()
        if i < int(count):
            time.sleep(max(0.0, t1 + gap_s - time.monotonic()))
    cp.close()
    return 0


NODE_SQL = ("SELECT f.phase, f.term, f.failovers, coalesce(f.primary_name, ''), pg_is_in_recovery(),"
            " (SELECT count(*) FROM innoquim_failover.events WHERE kind = 'fenced'),"
            " (SELECT count(*) FROM innoquim_failover.events WHERE kind = 'primary_lost')"
            " FROM innoquim_failover.failover f")


def cmd_soak_monitor(sockdir, user, db, pport, sport, wport, secs, sample_s, checkpoint_s,
                     report_s, watch_pid, pgbench_log):
    secs, sample_s = float(secs), float(sample_s)
    checkpoint_s, report_s = float(checkpoint_s), float(report_s)
    watch_pid = int(watch_pid)
    ports = {"p": pport, "s": sport, "w": wport}
    want_phase = {"p": "primary", "s": "following", "w": "witness"}
    conns = {}
    errs = {"query_errors": 0}

    def q(name, sql):
        try:
            if conns.get(name) is None:
                conns[name] = PG(sockdir, ports[name], user, db, timeout=10.0)
            return conns[name].query(sql)
        except (OSError, PGError, ConnectionError) as e:
            errs["query_errors"] += 1
            errs["last_error"] = "%s: %s" % (name, one_line(e))
            drop(conns.get(name))
            conns[name] = None
            return None

    base = q("p", NODE_SQL)
    if base is None:
        die("soak-monitor: cannot read the primary's failover view: %s" % errs.get("last_error"))
    base_term = base[0][1]

    # CHECKPOINT every checkpoint_s, in a thread of its own (it blocks)
    stop_ev = threading.Event()
    ckpt = {"n": 0, "max_s": 0.0, "total_s": 0.0, "errors": 0}

    def checkpointer():
        c = None
        nxt = time.monotonic() + checkpoint_s
        while not stop_ev.wait(max(0.0, nxt - time.monotonic())):
            nxt += checkpoint_s
            t = time.monotonic()
            try:
                if c is None:
                    c = PG(sockdir, pport, user, db, timeout=120.0)
                c.query("CHECKPOINT")
                d = time.monotonic() - t
                ckpt["n"] += 1
                ckpt["total_s"] += d
                ckpt["max_s"] = max(ckpt["max_s"], d)
            except (OSError, PGError, ConnectionError) as e:
                ckpt["errors"] += 1
                ckpt["last_error"] = one_line(e)
                drop(c)
                c = None
        drop(c)

    th = threading.Thread(target=checkpointer, daemon=True)
    th.start()

    st = {"samples": 0, "violations": 0, "failovers_max": 0, "term_changes": 0,
          "p_not_primary": 0, "s_not_following": 0, "w_not_witness": 0, "s_not_standby": 0,
          "p_fenced_events": 0, "primary_lost_events": 0}
    lease = {"n": 0, "min": None, "below_1000": 0, "null": 0}
    win_min = [None]
    t0 = time.monotonic()
    next_sample = t0
    next_report = t0 + report_s
    last_bad = [None]
    finished = False
    while True:
        now = time.monotonic()
        if not alive(watch_pid) or now - t0 > secs + 60:
            finished = True
        r = q("p", "SELECT lease_remaining_ms FROM innoquim_failover.failover")
        if r is not None:
            lease["n"] += 1
            if r[0][0] is None:
                lease["null"] += 1
            else:
                v = float(r[0][0])
                if lease["min"] is None or v < lease["min"]:
                    lease["min"] = v
                if win_min[0] is None or v < win_min[0]:
                    win_min[0] = v
                if v < 1000:
                    lease["below_1000"] += 1
        if now >= next_sample or finished:
            next_sample += sample_s
            st["samples"] += 1
            rows = {}
            for name in ("p", "s", "w"):
                r = q(name, NODE_SQL)
                if r is not None:
                    rows[name] = r[0]
            bad = []
            for name, row in rows.items():
                phase, term, fo, prim, rec, fenced, lost = row
                st["failovers_max"] = max(st["failovers_max"], int(fo))
                if int(fo) != 0:
                    bad.append("%s: failovers=%s" % (name, fo))
                if term != base_term:
                    st["term_changes"] += 1
                    bad.append("%s: term %s (was %s)" % (name, term, base_term))
                if phase != want_phase[name]:
                    st[{"p": "p_not_primary", "s": "s_not_following",
                        "w": "w_not_witness"}[name]] += 1
                    bad.append("%s: phase %s" % (name, phase))
                if name == "s" and rec != "t":
                    st["s_not_standby"] += 1
                    bad.append("s: not in recovery")
                if name == "p":
                    st["p_fenced_events"] = max(st["p_fenced_events"], int(fenced))
                    if int(fenced) > 0:
                        bad.append("p: %s fenced events" % fenced)
                else:
                    st["primary_lost_events"] = max(st["primary_lost_events"], int(lost))
                    if int(lost) > 0:
                        bad.append("%s: %s primary_lost events" % (name, lost))
            if bad:
                st["violations"] += 1
                what = "; ".join(bad)
                if what != last_bad[0]:  # print each new kind of violation once
                    print("    t=%.0fs VIOLATION: %s" % (now - t0, what))
                    sys.stdout.flush()
                last_bad[0] = what
        if now >= next_report or finished:
            next_report += report_s
            prog = ""
            try:
                with open(pgbench_log, errors="replace") as f:
                    lines = [ln.strip() for ln in f if ln.startswith("progress:")]
                if lines:
                    prog = lines[-1]
            except OSError:
                pass
            lag = q("p", "SELECT coalesce(max(lag_bytes), -1) FROM innoquim_failover.replication")
            print("    t=%4.0fs  p lease_remaining min %s ms (last %.0f s)  s lag %s B  checkpoints %d  "
                  "violations %d | %s"
                  % (now - t0, "%.0f" % win_min[0] if win_min[0] is not None else "n/a",
                     report_s, lag[0][0] if lag else "?", ckpt["n"], st["violations"],
                     prog or "(no pgbench progress yet)"))
            sys.stdout.flush()
            win_min[0] = None
        if finished:
            break
        time.sleep(0.1)
    stop_ev.set()
    th.join(timeout=130)
    for k in ("samples", "violations", "failovers_max", "term_changes", "p_not_primary",
              "s_not_following", "w_not_witness", "s_not_standby", "p_fenced_events",
              "primary_lost_events"):
        print("%s=%d" % (k, st[k]))
    print("lease_samples=%d" % lease["n"])
    print("lease_min_ms=%s" % ("%.0f" % lease["min"] if lease["min"] is not None else "n/a"))
    print("lease_below_1000=%d" % lease["below_1000"])
    print("lease_null=%d" % lease["null"])
    print("checkpoints=%d" % ckpt["n"])
    print("checkpoint_max_s=%.1f" % ckpt["max_s"])
    print("checkpoint_avg_s=%.1f" % (ckpt["total_s"] / ckpt["n"] if ckpt["n"] else 0.0))
    print("checkpoint_errors=%d" % ckpt["errors"])
    print("query_errors=%d" % errs["query_errors"])
    if "last_error" in errs:
        print("last_query_error=%s" % errs["last_error"])
    if "last_error" in ckpt:
        print("last_checkpoint_error=%s" % ckpt["last_error"])
    print("monitor_secs=%.0f" % (time.monotonic() - t0))
    for c in conns.values():
        drop(c)
    return 0


COMMANDS = {
    "wait": cmd_wait,
    "kill-primary": cmd_kill_primary,
    "stop-standby": cmd_stop_standby,
    "stats": cmd_stats,
    "cpu": cmd_cpu,
    "port-free": cmd_port_free,
    "failover-probe": cmd_failover_probe,
    "blip": cmd_blip,
    "soak-monitor": cmd_soak_monitor,
}

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        die("usage: iqf_bench.py {%s} ARGS..." % "|".join(sorted(COMMANDS)))
    sys.exit(COMMANDS[sys.argv[1]](*sys.argv[2:]))
