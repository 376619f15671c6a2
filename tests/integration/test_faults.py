"""Faults and concurrency, with nothing lost (SPEC §9, §10), on a stack of
their own:

- a load of creates and reads while MariaDB is restarted and apitokend is
  killed with SIGKILL and started again by its "supervisor" (this test,
  through scripts/run --start-apitokend, the way scripts/run starts it):
  apitokend recovers by itself, no request hangs, and every create that
  was acknowledged with 201 exists afterwards with its one audit record;
- 32 clients enabling, disabling, editing and deleting the same few tokens
  at once: afterwards each token's status, revision and audit trail agree
  with the changes that succeeded, and every chain verifies."""

import http.client
import os
import random
import signal
import socket
import subprocess
import threading
import time
import unittest

from stack import ROOT, RUN, OwnStack
from test_audit import EV, ctl, sql
from test_tokens import PLATFORM, SETTINGS, TokensBase

HEALTH = "/settings/api-tokens/health"
TIMEOUT = 10.0   # seconds: a request that takes longer counts as hung


def pid_of(stack, name):
    with open(os.path.join(stack.state_dir, "run", f"{name}.pid")) as f:
        return int(f.read().strip())


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie (not reaped yet: it is not our child) counts as gone
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ", 1)[1][0] != "Z"
    except OSError:
        return False


def wait_gone(pid, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not alive(pid):
            return True
        time.sleep(0.05)
    return False


def run_script(*args):
    proc = subprocess.run([RUN, *args], cwd=ROOT, stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          timeout=300)
    if proc.returncode != 0:
        raise AssertionError(f"scripts/run {' '.join(args)} failed:\n{proc.stdout}")
    return proc.stdout


class FaultsBase(OwnStack, TokensBase):
    """Faults and load on a stack of their own."""

    def verify_chains(self):
        proc = ctl(self.stack, "audit", "verify")
        report = proc.stdout + proc.stderr
        self.assertEqual(proc.returncode, 0, report)
        self.assertNotIn("BROKEN", report.upper())

    def wait_healthy(self, timeout=60):
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            try:
                last = self.stack.request("GET", HEALTH, timeout=5)
                if last[0] == 200:
                    return
            except (OSError, http.client.HTTPException) as exc:
                last = exc
            time.sleep(0.2)
        self.fail(f"not healthy within {timeout}s: {last!r}")

    def counters_agree(self):
        """account_token_counts matches the rows, for every account."""
        out = sql(self.stack, "SELECT a.id, COALESCE(c.tokens, 0), COALESCE(c.tokens_all, 0), "
                  "(SELECT COUNT(*) FROM tokens t WHERE t.account_id = a.id AND "
                  "t.status <> 'Deleted'), (SELECT COUNT(*) FROM tokens t WHERE "
                  "t.account_id = a.id) FROM accounts a LEFT JOIN account_token_counts c "
                  "ON c.account_id = a.id").stdout
        for line in out.splitlines():
            acc, kept, total, rows_kept, rows_total = line.split("\t")
            self.assertEqual((kept, total), (rows_kept, rows_total), f"counters of {acc}")

    def changes_have_records(self):
        """No token without its created record, no created record without
        its token."""
        out = sql(self.stack, "SELECT COUNT(*) FROM tokens t WHERE (SELECT COUNT(*) FROM "
                  f"audit_records a WHERE a.object_id = t.id AND a.event = '{EV}created') "
                  f"<> 1").stdout.strip()
        self.assertEqual(out, "0", "tokens without exactly one created record")
        out = sql(self.stack, "SELECT COUNT(*) FROM audit_records a WHERE a.event LIKE "
                  f"'{EV}%' AND NOT EXISTS (SELECT 1 FROM tokens t WHERE t.id = "
                  "a.object_id)").stdout.strip()
        self.assertEqual(out, "0", "records of tokens that do not exist")


class Concurrency(FaultsBase):
    THREADS = 32
    TOKENS = 4
    SECONDS = 4.0
    DELETE_FROM = 0.75   # deletes only in the last quarter, so most changes race

    def test_32_clients_on_the_same_tokens(self):
        tokens = [self.create(PLATFORM)["id"] for _ in range(self.TOKENS)]
        callers = (self.client_admin, self.ops_admin)
        kinds = ("enable", "disable", "put", "put-if-match", "delete")
        lock = threading.Lock()
        ok = {t: {k: 0 for k in ("enable", "disable", "put", "delete")} for t in tokens}
        statuses = {}
        problems = []
        seen_rev = {t: 1 for t in tokens}
        start = time.monotonic()
        deadline = start + self.SECONDS
        barrier = threading.Barrier(self.THREADS)

        def worker(n):
            rnd = random.Random(n)
            barrier.wait()
            i = 0
            while time.monotonic() < deadline:
                i += 1
                tid = rnd.choice(tokens)
                late = time.monotonic() - start > self.SECONDS * self.DELETE_FROM
                kind = rnd.choice(kinds if late else kinds[:-1])
                if kind == "delete" and rnd.random() < 0.7:
                    kind = rnd.choice(kinds[:-1])
                headers = {"Authorization": f"Bearer {rnd.choice(callers)}"}
                try:
                    if kind in ("enable", "disable"):
                        resp = self.stack.request("POST", f"{SETTINGS}/{tid}/{kind}",
                                                  headers=headers, timeout=TIMEOUT)
                    elif kind == "delete":
                        resp = self.stack.request("DELETE", f"{PLATFORM}/{tid}",
                                                  headers=headers, timeout=TIMEOUT)
                    else:
                        if kind == "put-if-match":
                            with lock:
                                headers["If-Match"] = f'"{seen_rev[tid]}"'
                        resp = self.stack.request("PUT", f"{PLATFORM}/{tid}",
                                                  {"description": f"writer {n} #{i}"},
                                                  headers=headers, timeout=TIMEOUT)
                except Exception as exc:  # a timeout or a dropped connection
                    with lock:
                        problems.append(f"{kind} {tid}: {exc!r}")
                    continue
                status, _, body = resp
                with lock:
                    statuses[status] = statuses.get(status, 0) + 1
                    if 200 <= status < 300:
                        ok[tid]["put" if kind.startswith("put") else kind] += 1
                        if isinstance(body, dict) and "revision" in body:
                            seen_rev[tid] = max(seen_rev[tid], body["revision"])

        threads = [threading.Thread(target=worker, args=(n,)) for n in range(self.THREADS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        self.assertFalse(any(t.is_alive() for t in threads), "a client hangs")
        self.assertEqual(problems, [])
        # 404: a Client caller after the delete; 409: state conflicts and
        # Operations changing a Deleted token; 412: a stale If-Match
        self.assertEqual(set(statuses) - {200, 204, 404, 409, 412}, set(), statuses)
        changes = sum(sum(v.values()) for v in ok.values())
        self.assertGreater(changes, 50, statuses)
        self.assertGreater(statuses.get(409, 0), 0, statuses)

        for tid in tokens:
            with self.subTest(token=tid):
                n = ok[tid]
                st, _, got = self.req("GET", f"{PLATFORM}/{tid}", token=self.ops_admin)
                self.assertEqual(st, 200, got)
                self.assertLessEqual(n["delete"], 1, n)
                self.assertEqual(got["revision"], 1 + sum(n.values()), n)
                st, _, trail = self.req("GET", f"{SETTINGS}/{tid}/audit?limit=1000",
                                        token=self.ops_admin)
                self.assertEqual(st, 200, trail)
                recs = sorted(trail["data"], key=lambda r: r["object"]["revision"])
                revs = [r["object"]["revision"] for r in recs]
                self.assertEqual(revs, list(range(1, got["revision"] + 1)), "gaps or repeats")
                events = [r["event"][len(EV):] for r in recs]
                self.assertEqual(events[0], "created")
                for kind, event in (("enable", "enabled"), ("disable", "disabled"),
                                    ("put", "updated"), ("delete", "deleted")):
                    self.assertEqual(events.count(event), n[kind], f"{event}: {events}")
                # the state changes, in revision order, are a valid walk of
                # the lifecycle: Active -> Disabled -> Active ... -> Deleted
                state = "Active"
                for ev in events[1:]:
                    if ev == "disabled":
                        self.assertEqual(state, "Active", events)
                        state = "Disabled"
                    elif ev == "enabled":
                        self.assertEqual(state, "Disabled", events)
                        state = "Active"
                    elif ev == "deleted":
                        self.assertNotEqual(state, "Deleted", events)
                        state = "Deleted"
                    else:
                        self.assertNotEqual(state, "Deleted", events)
                self.assertEqual(got["status"], state, events)
                if n["delete"]:
                    self.assertEqual(events[-1], "deleted", events)
        self.changes_have_records()
        self.counters_agree()
        self.verify_chains()


class Faults(FaultsBase):
    CLIENTS = 8
    SECONDS = 10.0

    def restart_mariadb(self):
        pid = pid_of(self.stack, "mariadbd")
        os.kill(pid, signal.SIGTERM)
        self.assertTrue(wait_gone(pid, 60), "mariadbd ignored SIGTERM for 60s")
        time.sleep(0.5)
        run_script("--start-db", "--state-dir", self.stack.state_dir)

    def kill_apitokend(self):
        """kill -9, then start it again the way scripts/run does."""
        pid = pid_of(self.stack, "apitokend")
        os.kill(pid, signal.SIGKILL)
        self.assertTrue(wait_gone(pid, 10), "apitokend survived SIGKILL")
        time.sleep(0.5)   # requests meanwhile get 502 from nginx
        run_script("--start-apitokend", "--state-dir", self.stack.state_dir)
        new = pid_of(self.stack, "apitokend")
        self.assertNotEqual(new, pid)
        return new

    def test_restart_mariadb_and_kill_apitokend_under_load(self):
        lock = threading.Lock()
        acked = {}          # id -> name of every create answered 201
        statuses = {}
        hung = []
        dropped = []
        stop = threading.Event()

        def worker(n):
            rnd = random.Random(n)
            i = 0
            while not stop.is_set():
                i += 1
                try:
                    if i % 3 == 0 and acked:
                        with lock:
                            tid = rnd.choice(list(acked))
                        resp = self.stack.request("GET", f"{SETTINGS}/{tid}",
                                                  token=self.client_admin, timeout=TIMEOUT)
                    elif i % 5 == 0:
                        resp = self.stack.request("GET", f"{PLATFORM}?limit=5",
                                                  token=self.client_admin, timeout=TIMEOUT)
                    else:
                        name = f"fault load {n} {i}"
                        resp = self.stack.request("POST", PLATFORM, {"name": name},
                                                  token=self.client_admin, timeout=TIMEOUT)
                        if resp[0] == 201:
                            with lock:
                                acked[resp[2]["id"]] = name
                except (socket.timeout, TimeoutError) as exc:
                    with lock:
                        hung.append(repr(exc))
                    continue
                except (OSError, http.client.HTTPException) as exc:
                    # nginx or apitokend going away mid-request
                    with lock:
                        dropped.append(repr(exc))
                    time.sleep(0.05)
                    continue
                with lock:
                    statuses[resp[0]] = statuses.get(resp[0], 0) + 1
                # a steady load, not a flood: the machine is shared
                time.sleep(0.05 if resp[0] >= 500 else 0.01)

        threads = [threading.Thread(target=worker, args=(n,)) for n in range(self.CLIENTS)]
        started = time.monotonic()
        for t in threads:
            t.start()
        try:
            time.sleep(2.0)
            before_db = len(acked)
            self.restart_mariadb()
            time.sleep(2.0)
            self.kill_apitokend()
            # keep the load on until the whole run has lasted SECONDS, and
            # at least 2 s after the restart
            time.sleep(max(2.0, self.SECONDS - (time.monotonic() - started)))
            after_faults = len(acked)
            time.sleep(1.0)
        finally:
            stop.set()
            for t in threads:
                t.join(timeout=3 * TIMEOUT)
        self.assertFalse(any(t.is_alive() for t in threads), "a client hangs")
        self.assertEqual(hung, [], f"requests hung past {TIMEOUT}s")
        # during the faults: 502 (apitokend gone) and 503 (no database)
        self.assertEqual(set(statuses) - {200, 201, 502, 503}, set(), statuses)
        self.assertGreater(before_db, 0, statuses)
        # the faults were felt (else this tested nothing): 503 while the
        # database was away, 502 or dropped connections while apitokend was
        self.assertGreater(statuses.get(503, 0), 0, statuses)
        self.assertGreater(statuses.get(502, 0) + len(dropped), 0, statuses)
        if os.environ.get("APITOKEND_IT_VERBOSE"):
            print(f"\nfaults: {statuses}, {len(dropped)} dropped, {len(acked)} acknowledged")
        # recovered by itself: creates succeed again after both faults
        self.assertGreater(len(acked), after_faults, f"no create after the faults: {statuses}")
        self.wait_healthy()

        # every acknowledged create is there, with its one created record
        missing = []
        for tid, name in sorted(acked.items()):
            st, _, got = self.req("GET", f"{PLATFORM}/{tid}", token=self.client_admin)
            if st != 200 or got.get("name") != name:
                missing.append((tid, name, st, got))
        self.assertEqual(missing, [], f"{len(missing)} of {len(acked)} acknowledged creates")
        out = sql(self.stack, "SELECT object_id, COUNT(*) FROM audit_records WHERE event = "
                  f"'{EV}created' GROUP BY object_id").stdout
        counts = dict(line.split("\t") for line in out.splitlines())
        wrong = {t: counts.get(t, "0") for t in acked if counts.get(t) != "1"}
        self.assertEqual(wrong, {}, "acknowledged creates without exactly one record")
        for tid in random.Random(1).sample(sorted(acked), min(5, len(acked))):
            st, _, trail = self.req("GET", f"{SETTINGS}/{tid}/audit", token=self.client_admin)
            self.assertEqual(st, 200, trail)
            self.assertEqual([r["event"] for r in trail["data"]], [EV + "created"], tid)
        self.changes_have_records()
        self.counters_agree()
        self.verify_chains()


if __name__ == "__main__":
    unittest.main()
