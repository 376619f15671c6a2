"""Rotation with an overlap window: POST …/{id}/rotate issues a new value
under the same id; the value it replaced verifies until the window closes
and never after; verify says which one matched (X-Token-Value); bad
overlaps are 400 and change nothing; a rotation racing a disable leaves a
consistent token; the audit record holds no secret.  Through nginx and the
shared stack's MariaDB, on both mounts."""

import json
import os
import threading
import time
import unittest

import fcgi
from test_audit import sql
from test_tokens import MOUNTS, PLATFORM, SETTINGS, TIME_RE, TOKEN_RE, TokensBase, token_id

EV = "platform.accounts.api-token."


def verify_direct(stack, value, uri, remote_addr="127.0.0.1"):
    """Verify as nginx's auth_request asks it, straight over FastCGI (the
    answer's headers are nginx's alone otherwise)."""
    params = fcgi.cgi_params("GET", "/_apitokend/verify",
                             {"Authorization": f"Bearer {value}"} if value else None)
    params.update({"ORIGINAL_URI": uri, "ORIGINAL_METHOD": "GET",
                   "REMOTE_ADDR": remote_addr, "ORIGINAL_REMOTE_ADDR": remote_addr})
    sock = fcgi.connect(os.path.join(stack.state_dir, "apitokend.sock"))
    try:
        fcgi.send_begin(sock, params)
        fcgi.send_stdin(sock, b"")
        return fcgi.read_response(sock)
    finally:
        sock.close()


class RotationBase(TokensBase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.protected = cls.stack.env["APITOKEND_PROTECTED_PATH"]
        cls.protected_module = cls.stack.env["APITOKEND_PROTECTED_MODULE"]

    def fresh(self, base=PLATFORM):
        return self.create(base, modules=[{"id": self.protected_module}])

    def rotate(self, base, tid, body=None, headers=None, token=None):
        return self.req("POST", f"{base}/{tid}/rotate", body, headers=headers,
                        token=token or self.client_admin)

    def rotate_ok(self, base, tid, overlap=None):
        st, h, body = self.rotate(base, tid, {"overlap": overlap} if overlap else None)
        self.assertEqual(st, 200, body)
        self.assertRegex(body.get("token", ""), TOKEN_RE)
        self.assertEqual(token_id(body["token"]), tid)
        self.assertEtag(h, body["revision"])
        return body

    def through_nginx(self, value):
        return self.req("GET", self.protected, token=value)[0]

    def matched(self, value):
        """What verify says of value: "current", "previous" or its status."""
        r = verify_direct(self.stack, value, self.protected)
        if r.status != 204:
            return r.status
        return r.headers.get("x-token-value")

    def state(self, tid):
        st, _, body = self.req("GET", f"{PLATFORM}/{tid}", token=self.ops_admin)
        self.assertEqual(st, 200, body)
        return body

    def trail(self, tid):
        st, _, body = self.req("GET", f"{SETTINGS}/{tid}/audit?limit=1000&select=%2Bdocuments",
                               token=self.ops_admin)
        self.assertEqual(st, 200, body)
        return body["data"]

    def revealed(self, tid):
        st, _, body = self.req("GET", f"{PLATFORM}/{tid}?select=token", token=self.client_admin)
        self.assertEqual(st, 200, body)
        return body["token"]


class Rotate(RotationBase):
    def test_both_values_verify_inside_the_window(self):
        for base in MOUNTS:
            with self.subTest(base=base):
                c = self.fresh(base)
                tid, old = c["id"], c["token"]
                self.assertEqual(self.matched(old), "current")
                st, h, body = self.rotate(base, tid, {"overlap": "PT1H"},
                                          headers={"If-Match": '"1"'})
                self.assertEqual(st, 200, body)
                new = body["token"]
                self.assertRegex(new, TOKEN_RE)
                self.assertEqual(body["id"], tid)
                self.assertNotEqual(new, old)
                self.assertEqual(body["revision"], 2)
                self.assertEtag(h, 2)
                self.assertEqual(body["status"], "Active")
                self.assertBy(body["audit"]["rotated"], self.client_admin_id)
                self.assertRegex(body["audit"]["rotated"]["at"], TIME_RE)
                # through nginx both reach the API; verify tells them apart
                self.assertEqual(self.through_nginx(new), 200)
                self.assertEqual(self.through_nginx(old), 200)
                self.assertEqual(self.matched(new), "current")
                self.assertEqual(self.matched(old), "previous")
                # the management API takes the previous value as well (a
                # token reads itself)
                st, _, me = self.req("GET", f"{base}/{tid}", token=old)
                self.assertEqual(st, 200, me)
                # the value shown again is the new one, and a read never
                # carries it unasked
                self.assertEqual(self.revealed(tid), new)
                st, _, plain = self.get(base, tid)
                self.assertNotIn("token", plain)

    def test_a_closed_window_never_opens_again(self):
        c = self.fresh()
        tid, old = c["id"], c["token"]
        body = self.rotate_ok(PLATFORM, tid, "PT2S")
        new = body["token"]
        rotated = time.monotonic()
        self.assertEqual(self.matched(old), "previous")
        time.sleep(max(0.0, 2.5 - (time.monotonic() - rotated)))
        self.assertEqual(self.matched(old), 401)
        self.assertEqual(self.through_nginx(old), 401)
        st, _, b = self.req("GET", f"{PLATFORM}/{tid}", token=old)
        self.assertEqual(st, 401, b)
        self.assertEqual(self.matched(new), "current")
        # nor after a disable and enable, nor a while later
        for action in ("disable", "enable"):
            st, _, b = self.req("POST", f"{PLATFORM}/{tid}/{action}", token=self.client_admin)
            self.assertEqual(st, 200, b)
        time.sleep(0.5)
        self.assertEqual(self.matched(old), 401)
        self.assertEqual(self.matched(new), "current")

    def test_no_overlap_ends_the_old_value_at_once(self):
        for label, body in (("PT0S", {"overlap": "PT0S"}), ("no body", None),
                            ("null", {"overlap": None}), ("empty object", {})):
            with self.subTest(case=label):
                c = self.fresh()
                st, _, r = self.rotate(PLATFORM, c["id"], body)
                self.assertEqual(st, 200, r)
                self.assertEqual(self.matched(c["token"]), 401)
                self.assertEqual(self.through_nginx(c["token"]), 401)
                self.assertEqual(self.matched(r["token"]), "current")
                out = sql(self.stack, "SELECT prev_secret_hash IS NULL, prev_valid_until IS NULL"
                          f" FROM tokens WHERE id = '{c['id']}'").stdout.split()
                self.assertEqual(out, ["1", "1"])

    def test_a_second_rotation_replaces_the_previous_value(self):
        c = self.fresh()
        tid, v1 = c["id"], c["token"]
        v2 = self.rotate_ok(SETTINGS, tid, "PT1H")["token"]
        v3 = self.rotate_ok(SETTINGS, tid, "PT1H")["token"]
        self.assertEqual(len({v1, v2, v3}), 3)
        self.assertEqual(self.matched(v1), 401)
        self.assertEqual(self.matched(v2), "previous")
        self.assertEqual(self.matched(v3), "current")
        self.assertEqual(self.state(tid)["revision"], 3)
        # and one without overlap ends both older values
        v4 = self.rotate_ok(SETTINGS, tid)["token"]
        for v in (v1, v2, v3):
            self.assertEqual(self.matched(v), 401)
        self.assertEqual(self.matched(v4), "current")

    def test_disabled_tokens_rotate_deleted_ones_do_not(self):
        c = self.fresh()
        tid = c["id"]
        st, _, b = self.req("POST", f"{PLATFORM}/{tid}/disable", token=self.client_admin)
        self.assertEqual(st, 200, b)
        body = self.rotate_ok(PLATFORM, tid, "PT1H")
        self.assertEqual(body["status"], "Disabled")
        self.assertEqual(self.matched(body["token"]), 401)
        st, _, b = self.req("POST", f"{PLATFORM}/{tid}/enable", token=self.client_admin)
        self.assertEqual(st, 200, b)
        self.assertEqual(self.matched(body["token"]), "current")
        self.assertEqual(self.matched(c["token"]), "previous")
        # delete wipes the previous value too, and rotation is then 409
        st, _, b = self.req("DELETE", f"{PLATFORM}/{tid}", token=self.client_admin)
        self.assertEqual(st, 204, b)
        out = sql(self.stack, "SELECT secret_hash IS NULL, sealed IS NULL, prev_secret_hash"
                  f" IS NULL, prev_valid_until IS NULL FROM tokens WHERE id = '{tid}'").stdout
        self.assertEqual(out.split(), ["1", "1", "1", "1"])
        self.assertEqual(self.matched(c["token"]), 401)
        self.assertEqual(self.matched(body["token"]), 401)
        before = self.state(tid)["revision"]
        resp = self.rotate(PLATFORM, tid, {"overlap": "PT1H"}, token=self.ops_admin)
        self.assertProblem(resp, 409, "Conflict")
        # the owner no longer sees it at all
        self.assertProblem(self.rotate(PLATFORM, tid), 404, "Not Found")
        self.assertEqual(self.state(tid)["revision"], before)

    def test_if_match(self):
        c = self.fresh()
        tid = c["id"]
        resp = self.rotate(PLATFORM, tid, {"overlap": "PT1H"}, headers={"If-Match": '"7"'})
        self.assertProblem(resp, 412, "Precondition Failed")
        self.assertEqual(self.matched(c["token"]), "current")
        self.assertEqual(self.state(tid)["revision"], 1)
        st, _, b = self.rotate(PLATFORM, tid, None, headers={"If-Match": '"1"'})
        self.assertEqual(st, 200, b)
        self.assertEqual(b["revision"], 2)

    def test_needs_access_management(self):
        c = self.fresh()
        resp = self.rotate(PLATFORM, c["id"], {"overlap": "PT1H"}, token=self.client_plain)
        self.assertProblem(resp, 403, "Forbidden")
        # a token without the module cannot rotate itself either
        resp = self.rotate(PLATFORM, c["id"], None, token=c["token"])
        self.assertProblem(resp, 403, "Forbidden")
        # another account's token does not exist for a Client
        v = self.create(token=self.vendor_admin)
        self.assertProblem(self.rotate(PLATFORM, v["id"]), 404, "Not Found")
        self.assertEqual(self.matched(c["token"]), "current")
        self.assertEqual(self.state(c["id"])["revision"], 1)
        self.assertEqual(self.state(v["id"])["revision"], 1)

    def test_method_and_media_type(self):
        c = self.fresh()
        st, h, b = self.req("GET", f"{PLATFORM}/{c['id']}/rotate", token=self.client_admin)
        self.assertEqual(st, 405, b)
        self.assertEqual(h.get("Allow"), "POST")
        resp = self.rotate(PLATFORM, c["id"], "overlap=PT1H",
                           headers={"Content-Type": "text/plain"})
        self.assertProblem(resp, 415, "Unsupported Media Type")
        resp = self.rotate(PLATFORM, c["id"], "[1]", headers={"Content-Type": "application/json"})
        self.assertProblem(resp, 400, "Bad Request")
        self.assertEqual(self.state(c["id"])["revision"], 1)


class BadOverlap(RotationBase):
    """400 naming overlap, and nothing changed: revision, value, audit."""

    def assertUnchanged(self, c, records):
        tid = c["id"]
        self.assertEqual(self.state(tid)["revision"], 1)
        self.assertEqual(self.matched(c["token"]), "current")
        self.assertEqual(self.revealed(tid), c["token"])
        # the reveal above is itself a record: compare before it
        events = [r["event"] for r in self.trail(tid)]
        self.assertEqual(events[1:], records)
        out = sql(self.stack, "SELECT prev_secret_hash IS NULL, rotated_at IS NULL FROM tokens"
                  f" WHERE id = '{tid}'").stdout.split()
        self.assertEqual(out, ["1", "1"])

    def test_above_the_maximum(self):
        for base in MOUNTS:
            for overlap in ("P8D", "P7DT1S", "P2W", "P365D"):
                with self.subTest(base=base, overlap=overlap):
                    c = self.fresh(base)
                    body = self.assertProblem(self.rotate(base, c["id"], {"overlap": overlap}),
                                              400, "Bad Request", fields=("overlap",))
                    self.assertIn("P7D", body["errors"]["overlap"][0])
                    self.assertUnchanged(c, [EV + "created"])
        # the maximum itself is allowed
        c = self.fresh()
        self.rotate_ok(PLATFORM, c["id"], "P7D")
        self.assertEqual(self.matched(c["token"]), "previous")

    def test_malformed(self):
        for overlap in ("1h", "P1M", "-PT1H", "P1Y", "PT1.5H", "pt1h", "PT", "P", "", " PT1H",
                        3600, True, ["PT1H"], {"h": 1}):
            with self.subTest(overlap=overlap):
                c = self.fresh()
                body = self.assertProblem(self.rotate(PLATFORM, c["id"], {"overlap": overlap}),
                                          400, "Bad Request", fields=("overlap",))
                self.assertNotIn(c["token"], json.dumps(body))
                self.assertUnchanged(c, [EV + "created"])

    def test_a_missing_token_is_404_first(self):
        resp = self.rotate(PLATFORM, "TKN-0000-0001", {"overlap": "1h"})
        self.assertProblem(resp, 404, "Not Found")


class Concurrent(RotationBase):
    def test_rotate_and_disable_at_once(self):
        for i in range(12):
            with self.subTest(round=i):
                c = self.fresh()
                tid = c["id"]
                results = {}
                barrier = threading.Barrier(2)

                def run(name, method, path, body):
                    barrier.wait()
                    results[name] = self.req(method, path, body, token=self.client_admin)

                threads = [
                    threading.Thread(target=run, args=("rotate", "POST",
                                                       f"{PLATFORM}/{tid}/rotate",
                                                       {"overlap": "PT1H"})),
                    threading.Thread(target=run, args=("disable", "POST",
                                                       f"{PLATFORM}/{tid}/disable", None)),
                ]
                for t in threads:
                    t.start()
                for t in threads:
                    t.join()
                self.assertEqual(results["rotate"][0], 200, results["rotate"][2])
                self.assertEqual(results["disable"][0], 200, results["disable"][2])
                new = results["rotate"][2]["token"]
                final = self.state(tid)
                self.assertEqual(final["status"], "Disabled")
                self.assertEqual(final["revision"], 3)
                self.assertIn("rotated", final["audit"])
                self.assertIn("disabled", final["audit"])
                events = sorted(r["event"] for r in self.trail(tid))
                self.assertEqual(events, sorted([EV + "created", EV + "rotated",
                                                 EV + "disabled"]))
                # each change saw the other's revision: 1, 2, 3 in some order
                revisions = sorted(r["object"]["revision"] for r in self.trail(tid))
                self.assertEqual(revisions, [1, 2, 3])
                for v in (c["token"], new):
                    self.assertEqual(self.matched(v), 401)
                self.assertEqual(self.revealed(tid), new)


class AuditRecord(RotationBase):
    def test_rotated_record(self):
        c = self.fresh(SETTINGS)
        tid, old = c["id"], c["token"]
        started = time.time()
        new = self.rotate_ok(SETTINGS, tid, "PT1H")["token"]
        recs = self.trail(tid)
        rec = recs[0]
        self.assertEqual(rec["event"], EV + "rotated")
        self.assertEqual(rec["object"]["id"], tid)
        self.assertIn("rotated the value of", rec["summary"])
        self.assertEqual(rec["actor"]["id"], self.client_admin_id)
        docs = rec["documents"]
        if isinstance(docs, str):
            docs = json.loads(docs)
        self.assertEqual(docs["before"]["revision"], 1)
        self.assertEqual(docs["after"]["revision"], 2)
        self.assertNotIn("rotated", docs["before"]["audit"])
        self.assertIn("rotated", docs["after"]["audit"])
        for side in ("before", "after"):
            self.assertEqual(docs[side]["token"], f"idt:{tid}:********")
        self.assertEqual(docs["rotation"]["overlap"], "PT1H")
        until = docs["rotation"]["validUntil"]
        self.assertRegex(until, TIME_RE)
        until_s = time.mktime(time.strptime(until[:19], "%Y-%m-%dT%H:%M:%S")) - time.timezone
        self.assertAlmostEqual(until_s, started + 3600, delta=30)
        # no secret anywhere in what was stored
        stored = sql(self.stack, "SELECT CONCAT_WS(' ', documents, summary, details) FROM"
                     f" audit_records WHERE object_id = '{tid}'").stdout
        self.assertIn(tid, stored)
        for v in (old, new):
            self.assertNotIn(v, stored)
            self.assertNotIn(v.split(":")[2], stored)
            self.assertNotIn(v.split(":")[2][:20], stored)

    def test_no_overlap_record(self):
        c = self.fresh()
        self.rotate_ok(PLATFORM, c["id"])
        docs = self.trail(c["id"])[0]["documents"]
        if isinstance(docs, str):
            docs = json.loads(docs)
        self.assertEqual(docs["rotation"]["overlap"], "PT0S")
        # the old value stopped when the new one came
        self.assertEqual(docs["rotation"]["validUntil"], docs["after"]["audit"]["rotated"]["at"])


if __name__ == "__main__":
    unittest.main()
