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
"""
import os
import random
import signal
import socket
import statistics
import struct
import subprocess
import sys
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


COMMANDS = {
    "wait": cmd_wait,
    "kill-primary": cmd_kill_primary,
    "stop-standby": cmd_stop_standby,
    "stats": cmd_stats,
    "cpu": cmd_cpu,
    "port-free": cmd_port_free,
}

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        die("usage: iqf_bench.py {%s} ARGS..." % "|".join(sorted(COMMANDS)))
    sys.exit(COMMANDS[sys.argv[1]](*sys.argv[2:]))
