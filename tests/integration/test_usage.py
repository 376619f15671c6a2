"""Last-used addresses: each token keeps the last 10 distinct client
addresses of requests that succeeded, with first and last time seen,
written after the answer at most once a minute per token and address, and
shown by GET …/{id}?select=+usage (newest first); lists refuse it.

nginx listens on 127.0.0.1 only, so other addresses come the second way
apitokend is reached: FastCGI straight to its socket, with REMOTE_ADDR set
as nginx sets it."""

import time
import unittest

from test_audit import sql
from test_rotation import RotationBase, verify_direct
from test_tokens import MOUNTS, PLATFORM, SETTINGS, TIME_RE


class Usage(RotationBase):
    def usage(self, tid, base=PLATFORM):
        st, _, body = self.req("GET", f"{base}/{tid}?select=%2Busage", token=self.client_admin)
        self.assertEqual(st, 200, body)
        self.assertIsInstance(body.get("usage"), list, body)
        return body["usage"]

    def wait_usage(self, tid, n, timeout=5.0):
        """The usage once it has n entries (written after the answer)."""
        deadline = time.monotonic() + timeout
        while True:
            u = self.usage(tid)
            if len(u) >= n or time.monotonic() > deadline:
                return u
            time.sleep(0.05)

    def rows(self, tid):
        out = sql(self.stack, "SELECT ip, first_seen_at, last_seen_at FROM token_usage"
                  f" WHERE token_id = '{tid}' ORDER BY last_seen_at DESC, ip").stdout
        return [line.split("\t") for line in out.splitlines() if line]

    def test_verify_through_nginx_records_the_address(self):
        c = self.fresh()
        tid = c["id"]
        self.assertEqual(self.usage(tid), [])
        st, _, b = self.req("GET", self.protected, token=c["token"])
        self.assertEqual(st, 200, b)
        u = self.wait_usage(tid, 1)
        self.assertEqual(len(u), 1, u)
        self.assertEqual(set(u[0]), {"ip", "firstSeenAt", "lastSeenAt"})
        self.assertEqual(u[0]["ip"], "127.0.0.1")
        self.assertRegex(u[0]["firstSeenAt"], TIME_RE)
        self.assertRegex(u[0]["lastSeenAt"], TIME_RE)
        self.assertEqual(u[0]["firstSeenAt"], u[0]["lastSeenAt"])
        # both mounts show it; neither a revision nor an audit record
        for base in MOUNTS:
            with self.subTest(base=base):
                self.assertEqual(self.usage(tid, base), u)
        st, _, one = self.get(PLATFORM, tid)
        self.assertEqual(one["revision"], 1)
        self.assertNotIn("usage", one)
        st, _, trail = self.req("GET", f"{SETTINGS}/{tid}/audit", token=self.client_admin)
        self.assertEqual([r["event"] for r in trail["data"]],
                         ["platform.accounts.api-token.created"])

    def test_many_uses_in_a_minute_are_one_write(self):
        c = self.fresh()
        tid = c["id"]
        st, _, b = self.req("GET", self.protected, token=c["token"])
        self.assertEqual(st, 200, b)
        first = self.wait_usage(tid, 1)
        self.assertEqual(len(first), 1)
        before = self.rows(tid)
        for _ in range(25):
            st, _, b = self.req("GET", self.protected, token=c["token"])
            self.assertEqual(st, 200, b)
        # a Bearer call of the management API is a use too
        st, _, b = self.req("GET", f"{PLATFORM}/{tid}", token=c["token"])
        self.assertEqual(st, 200, b)
        # the last of them answered before its write: give it time to land
        time.sleep(0.5)
        self.assertEqual(self.rows(tid), before)
        # the process remembers its write: even a row that the statement's
        # own condition would move (more than a minute old) is left alone
        sql(self.stack, "UPDATE token_usage SET first_seen_at = first_seen_at - INTERVAL 5"
            " MINUTE, last_seen_at = last_seen_at - INTERVAL 2 MINUTE"
            f" WHERE token_id = '{tid}'")
        aged = self.rows(tid)
        for _ in range(5):
            st, _, b = self.req("GET", self.protected, token=c["token"])
            self.assertEqual(st, 200, b)
        time.sleep(0.5)
        self.assertEqual(self.rows(tid), aged)

    def test_refused_requests_are_no_use(self):
        c = self.create(modules=[{"id": "MOD-1239"}])  # not the protected path's
        st, _, b = self.req("GET", self.protected, token=c["token"])
        self.assertEqual(st, 403, b)
        d = self.fresh()
        st, _, b = self.req("POST", f"{PLATFORM}/{d['id']}/disable", token=self.client_admin)
        self.assertEqual(st, 200, b)
        st, _, b = self.req("GET", self.protected, token=d["token"])
        self.assertEqual(st, 401, b)
        self.assertEqual(verify_direct(self.stack, d["token"], self.protected,
                                       "192.0.2.77").status, 401)
        time.sleep(1.0)
        self.assertEqual(self.rows(d["id"]), [])
        self.assertEqual(self.usage(d["id"]), [])
        # a verify refused for its path is no use either
        self.assertEqual(self.rows(c["id"]), [])

    def test_addresses_in_one_spelling(self):
        c = self.fresh()
        tid = c["id"]
        for addr in ("2001:DB8:0:0::1", "::ffff:192.0.2.7", "unix:", ""):
            r = verify_direct(self.stack, c["token"], self.protected, addr)
            self.assertEqual(r.status, 204, r)
        u = self.wait_usage(tid, 2)
        time.sleep(0.3)
        u = self.usage(tid)
        self.assertEqual(sorted(e["ip"] for e in u), ["192.0.2.7", "2001:db8::1"])

    def test_eleven_addresses_keep_the_newest_ten(self):
        c = self.fresh()
        tid = c["id"]
        # ten older addresses, a minute apart, the oldest first
        values = ", ".join(
            f"('{tid}', '198.51.100.{i}', UTC_TIMESTAMP(3) - INTERVAL {30 - i} MINUTE,"
            f" UTC_TIMESTAMP(3) - INTERVAL {20 - i} MINUTE)" for i in range(10))
        sql(self.stack, "INSERT INTO token_usage (token_id, ip, first_seen_at, last_seen_at)"
            f" VALUES {values}")
        u = self.usage(tid)
        self.assertEqual([e["ip"] for e in u], [f"198.51.100.{i}" for i in range(9, -1, -1)])
        # the eleventh, through nginx: the oldest goes
        st, _, b = self.req("GET", self.protected, token=c["token"])
        self.assertEqual(st, 200, b)
        deadline = time.monotonic() + 5
        while self.usage(tid)[0]["ip"] != "127.0.0.1" and time.monotonic() < deadline:
            time.sleep(0.05)
        u = self.usage(tid)
        self.assertEqual([e["ip"] for e in u],
                         ["127.0.0.1"] + [f"198.51.100.{i}" for i in range(9, 0, -1)])
        self.assertEqual(len(self.rows(tid)), 10)
        # a known address moves to the front without pushing anyone out
        sql(self.stack, "UPDATE token_usage SET first_seen_at = first_seen_at - INTERVAL 1 HOUR,"
            " last_seen_at = last_seen_at - INTERVAL 1 HOUR"
            f" WHERE token_id = '{tid}' AND ip = '127.0.0.1'")
        self.assertEqual(self.usage(tid)[-1]["ip"], "127.0.0.1")
        # eleven more from new addresses over FastCGI: ten stay, the newest
        # (apart enough that each write lands before the next request's)
        for i in range(11):
            r = verify_direct(self.stack, c["token"], self.protected, f"203.0.113.{i}")
            self.assertEqual(r.status, 204, r)
            time.sleep(0.1)
        deadline = time.monotonic() + 5
        while "203.0.113.10" not in [e["ip"] for e in self.usage(tid)] and \
                time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)
        ips = [e["ip"] for e in self.usage(tid)]
        self.assertEqual(len(ips), 10, ips)
        self.assertEqual(len(self.rows(tid)), 10)
        self.assertEqual(ips, [f"203.0.113.{i}" for i in range(10, 0, -1)])
        last = [e["lastSeenAt"] for e in self.usage(tid)]
        self.assertEqual(last, sorted(last, reverse=True))

    def test_lists_do_not_offer_it(self):
        for base in MOUNTS:
            for query in ("select=%2Busage", "select=usage", "select=name,usage"):
                with self.subTest(base=base, query=query):
                    resp = self.req("GET", f"{base}?{query}", token=self.client_admin)
                    self.assertProblem(resp, 400, "Bad Request", fields=("select",))
        # one token takes it, with the rest of the select rules
        c = self.fresh()
        st, _, b = self.req("GET", f"{PLATFORM}/{c['id']}?select=-audit,%2Busage",
                            token=self.client_admin)
        self.assertEqual(st, 200, b)
        self.assertEqual(b["usage"], [])
        self.assertNotIn("audit", b)
        # deleting the token keeps its row for Operations, with its history
        st, _, b = self.req("GET", self.protected, token=c["token"])
        self.assertEqual(st, 200, b)
        self.wait_usage(c["id"], 1)
        st, _, b = self.req("DELETE", f"{PLATFORM}/{c['id']}", token=self.client_admin)
        self.assertEqual(st, 204, b)
        st, _, b = self.req("GET", f"{PLATFORM}/{c['id']}?select=%2Busage", token=self.ops_admin)
        self.assertEqual(st, 200, b)
        self.assertEqual([e["ip"] for e in b["usage"]], ["127.0.0.1"])


if __name__ == "__main__":
    unittest.main()
