"""Token restrictions through nginx and MariaDB, on both mounts: expiresAt
and notBefore (verify and Bearer calls refuse outside the window, the
derived status Expired, enabling with a new expiry), the account's maximum
lifetime (apitokenctl account lifetime), allowedIps (an address just
outside a range), rateLimit (nginx answers the 61st request of a 60/min
token with 429), and bad input that changes nothing.

The stack's nginx sees its clients as 127.0.0.1."""

import datetime
import http.client
import math
import os
import subprocess
import time
import urllib.parse

from stack import ROOT
from test_access import AccessBase
from test_tokens import AM, MOUNTS, PLATFORM, SETTINGS, TIME_RE, checksum, token_id


def iso(seconds_from_now):
    """The API's UTC timestamp, seconds from now."""
    t = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=seconds_from_now)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


def parse_iso(text):
    return datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=datetime.timezone.utc)


def q(rql):
    return urllib.parse.quote(rql, safe="=&,")


class RestrictionsBase(AccessBase):
    def guarded(self, value, path=None):
        return self.req("GET", path or self.protected, token=value)

    def assertDetail(self, resp, code, says):
        title = {401: "Authentication Failed", 403: "Forbidden"}[code]
        body = self.assertProblem(resp, code, title)
        self.assertIn(says, body.get("detail", ""), body)
        # the detail reaches nginx as a header of verify's, never the client
        self.assertIsNone(resp[1].get("X-Problem-Detail"))
        return body

    def assertNoSecret(self, body, value):
        text = body if isinstance(body, (bytes, str)) else repr(body)
        if isinstance(text, bytes):
            text = text.decode("utf-8", "replace")
        self.assertNotIn(value.split(":")[2], text)


class Expiry(RestrictionsBase):
    def test_expired_token(self):
        for base in MOUNTS:
            with self.subTest(mount=base):
                c = self.create(base, expiresAt=iso(2.5),
                                modules=[{"id": self.protected_module}, {"id": AM}])
                tid, value = c["id"], c["token"]
                self.assertEqual(c["status"], "Active")
                self.assertRegex(c["expiresAt"], TIME_RE)
                st, _, body = self.guarded(value)
                self.assertEqual(st, 200, body)
                time.sleep(max(0.0, (parse_iso(c["expiresAt"]) - datetime.datetime.now(
                    datetime.timezone.utc)).total_seconds()) + 0.3)
                # verify, through nginx: 401 saying why, no value echoed
                resp = self.guarded(value)
                body = self.assertDetail(resp, 401, "The token has expired.")
                self.assertIn("Bearer", resp[1].get("WWW-Authenticate") or "")
                self.assertNoSecret(body, value)
                # a Bearer call of the management API alike
                resp = self.req("GET", f"{base}/{tid}", token=value)
                self.assertDetail(resp, 401, "The token has expired.")
                # shown and found as Expired
                got = self.get_ok(base, tid)
                self.assertEqual(got["status"], "Expired")
                listed = self.list_all(base, query=q("eq(status,Expired)&limit=1000"))
                self.assertIn(tid, [t["id"] for t in listed["data"]])
                self.assertTrue(all(t["status"] == "Expired" for t in listed["data"]), listed)
                active = self.list_all(base, query=q("eq(status,Active)&limit=1000"))
                self.assertNotIn(tid, [t["id"] for t in active["data"]])
                # enable: without a new expiry 409, with a past one 400
                st, _, body = self.req("POST", f"{base}/{tid}/enable", token=self.client_admin)
                self.assertEqual(st, 409, body)
                self.assertIn("expiresAt", body["detail"])
                st, _, body = self.req("POST", f"{base}/{tid}/enable",
                                       {"expiresAt": iso(-60)}, token=self.client_admin)
                self.assertEqual(st, 400, body)
                self.assertIn("expiresAt", body["errors"])
                self.assertEqual(self.get_ok(base, tid)["revision"], got["revision"])
                # a bad body for a token that is not there: 404 first
                st, _, body = self.req("POST", f"{base}/TKN-0000-0009/enable",
                                       {"expiresAt": iso(-60)}, token=self.client_admin)
                self.assertEqual(st, 404, body)
                # with a future one: Active again, and verify lets it through
                until = iso(3600)
                st, h, body = self.req("POST", f"{base}/{tid}/enable", {"expiresAt": until},
                                       token=self.client_admin)
                self.assertEqual(st, 200, body)
                self.assertEqual(body["status"], "Active")
                self.assertEqual(body["expiresAt"], until)
                self.assertEqual(body["revision"], got["revision"] + 1)
                st, _, body = self.guarded(value)
                self.assertEqual(st, 200, body)
                self.assertEqual(body["tokenId"], tid)
                # the enable is audited with the new expiry in its documents
                st, _, trail = self.req("GET", f"{SETTINGS}/{tid}/audit?select=%2Bdocuments",
                                        token=self.client_admin)
                self.assertEqual(st, 200, trail)
                rec = trail["data"][0]
                self.assertEqual(rec["event"], "platform.accounts.api-token.enabled")
                self.assertEqual(rec["documents"]["after"]["expiresAt"], until)
                self.assertEqual(rec["documents"]["before"]["status"], "Expired")
                self.assertNoSecret(rec, value)

    def test_wrong_secret_still_says_nothing_more(self):
        # an expired token's id with a wrong secret: the generic 401
        c = self.create(expiresAt=iso(1), modules=[{"id": self.protected_module}])
        time.sleep(1.3)
        forged = f"idt:{c['id']}:" + "A" * 58
        forged += checksum(forged)
        self.assertDetail(self.guarded(forged), 401, "The credentials are missing or not valid.")
        self.assertDetail(self.guarded(c["token"]), 401, "The token has expired.")

    def test_disabled_past_expiry_needs_a_new_one(self):
        c = self.create(expiresAt=iso(1.5), modules=[{"id": self.protected_module}])
        st, _, body = self.req("POST", f"{PLATFORM}/{c['id']}/disable", token=self.client_admin)
        self.assertEqual(st, 200, body)
        time.sleep(2)
        st, _, body = self.req("POST", f"{PLATFORM}/{c['id']}/enable", token=self.client_admin)
        self.assertEqual(st, 409, body)
        self.assertEqual(self.get_ok(PLATFORM, c["id"])["status"], "Disabled")
        st, _, body = self.req("POST", f"{PLATFORM}/{c['id']}/enable",
                               {"expiresAt": iso(600)}, token=self.client_admin)
        self.assertEqual(st, 200, body)
        self.assertEqual(body["status"], "Active")

    def test_not_before(self):
        for base in MOUNTS:
            with self.subTest(mount=base):
                c = self.create(base, notBefore=iso(3600),
                                modules=[{"id": self.protected_module}])
                self.assertEqual(c["status"], "Active")
                self.assertRegex(c["notBefore"], TIME_RE)
                resp = self.guarded(c["token"])
                self.assertDetail(resp, 401, "The token is not valid yet.")
                # removed (null): valid at once
                st, _, body = self.req("PUT", f"{base}/{c['id']}", {"notBefore": None},
                                       token=self.client_admin)
                self.assertEqual(st, 200, body)
                self.assertNotIn("notBefore", body)
                st, _, body = self.guarded(c["token"])
                self.assertEqual(st, 200, body)

    def test_rql_fields(self):
        soon, later = iso(7200), iso(9000)
        a = self.create(expiresAt=later)
        b = self.create(expiresAt=soon, notBefore=iso(60))
        listed = self.list_all(PLATFORM, query=q(
            f"in(id,({a['id']},{b['id']}))&order=expiresAt&limit=10"))
        self.assertEqual([t["id"] for t in listed["data"]], [b["id"], a["id"]])
        listed = self.list_all(PLATFORM, query=q(
            f"in(id,({a['id']},{b['id']}))&gt(notBefore,2020-01-01)&limit=10"))
        self.assertEqual([t["id"] for t in listed["data"]], [b["id"]])
        # the list shows the fields, and select drops them
        self.assertEqual(listed["data"][0]["expiresAt"], soon)
        listed = self.list_all(PLATFORM, query=q(f"eq(id,{b['id']})&select=-expiresAt"))
        self.assertNotIn("expiresAt", listed["data"][0])


class Lifetime(RestrictionsBase):
    """apitokenctl account lifetime, on an account of its own (the shared
    accounts keep tokens without expiry)."""

    def ctl(self, *args, ok=True):
        ini = os.path.join(self.stack.state_dir, "apitokend.ini")
        exe = os.path.join(ROOT, self.stack.build_dir, "apitokenctl")
        proc = subprocess.run([exe, "-c", ini, *args], stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              timeout=120)
        if ok:
            self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
        return proc

    def test_maximum_lifetime(self):
        acc = self.ctl("account", "create", "--name", "Lifetime test", "--type",
                       "Client").stdout.strip()
        self.ctl("module", "add", "--account", acc, "--module", AM)
        user = self.ctl("user", "create", "--account", acc, "--name", "Lia Admin",
                        "--module", AM).stdout.strip()
        admin = self.ctl("token", "issue", "--account", acc, "--name", "lifetime admin",
                         "--by", user, "--module", AM).stdout.strip()
        bad = self.ctl("account", "lifetime", acc, "P1M", ok=False)
        self.assertEqual(bad.returncode, 2, bad.stderr)
        bad = self.ctl("account", "lifetime", "ACC-0000-0009", "P1D", ok=False)
        self.assertEqual(bad.returncode, 1, bad.stderr)
        self.assertIn("P1D", self.ctl("account", "lifetime", acc, "P1D").stderr)
        for base in MOUNTS:
            with self.subTest(mount=base):
                # none sent: the maximum is the expiry
                before = datetime.datetime.now(datetime.timezone.utc)
                c = self.create(base, token=admin)
                exp = parse_iso(c["expiresAt"])
                day = datetime.timedelta(days=1)
                self.assertLessEqual(before + day - datetime.timedelta(seconds=1), exp)
                self.assertLessEqual(exp, datetime.datetime.now(datetime.timezone.utc) + day)
                # beyond it: 400 naming expiresAt, nothing made
                name = self.name("too long")
                st, _, body = self.req("POST", base, {"name": name, "expiresAt": iso(2 * 86400)},
                                       token=admin)
                self.assertProblem((st, _, body), 400, "Bad Request", ("expiresAt",))
                listed = self.list_all(base, token=admin,
                                       query=q(f"eq(name,'{name}')&limit=10"))
                self.assertEqual(listed["data"], [])
                # at edit: beyond it and removing it are 400, within it is fine
                path = f"{base}/{c['id']}"
                for change in ({"expiresAt": iso(2 * 86400)}, {"expiresAt": None}):
                    st, _, body = self.req("PUT", path, change, token=admin)
                    self.assertProblem((st, _, body), 400, "Bad Request", ("expiresAt",))
                self.assertEqual(self.get_ok(base, c["id"], token=admin)["revision"], 1)
                until = iso(12 * 3600)
                st, _, body = self.req("PUT", path, {"expiresAt": until}, token=admin)
                self.assertEqual(st, 200, body)
                self.assertEqual((body["expiresAt"], body["revision"]), (until, 2))
                # the update's record names the change, before and after
                st, _, trail = self.req("GET", f"{SETTINGS}/{c['id']}/audit?select=%2Bdocuments",
                                        token=admin)
                self.assertEqual(st, 200, trail)
                docs = trail["data"][0]["documents"]
                self.assertEqual(docs["changes"], ["expiresAt"])
                self.assertEqual(docs["fields"]["expiresAt"],
                                 {"before": c["expiresAt"], "after": until})
        # no maximum any more: the expiry may go
        self.ctl("account", "lifetime", acc, "none")
        st, _, body = self.req("PUT", f"{PLATFORM}/{c['id']}", {"expiresAt": None}, token=admin)
        self.assertEqual(st, 200, body)
        self.assertNotIn("expiresAt", body)
        self.assertNotIn("expiresAt", self.create(token=admin))


class Allowlist(RestrictionsBase):
    def test_address_just_outside_a_range(self):
        for base in MOUNTS:
            for ips, want in ((["127.0.0.0/31"], 200), (["127.0.0.2/31"], 403),
                              (["10.0.0.0/8", "127.0.0.1"], 200), (["::1"], 403),
                              (["::ffff:127.0.0.1"], 200), (["::/0"], 403),
                              (["0.0.0.0/0"], 200)):
                with self.subTest(mount=base, allowedIps=ips):
                    c = self.create(base, allowedIps=ips,
                                    modules=[{"id": self.protected_module}])
                    resp = self.guarded(c["token"])
                    if want == 200:
                        self.assertEqual(resp[0], 200, resp[2])
                        self.assertEqual(resp[2]["tokenId"], c["id"])
                    else:
                        self.assertDetail(resp, 403, "The client address is not allowed")

    def test_canonical_and_editable(self):
        c = self.create(allowedIps=["2001:DB8:0::/32", "10.0.0.1/32", "127.0.0.1"],
                        modules=[{"id": self.protected_module}])
        self.assertEqual(c["allowedIps"], ["2001:db8::/32", "10.0.0.1", "127.0.0.1"])
        path = f"{PLATFORM}/{c['id']}"
        st, _, body = self.req("PUT", path, {"allowedIps": ["127.0.0.2/31"]},
                               token=self.client_admin)
        self.assertEqual(st, 200, body)
        self.assertEqual(body["allowedIps"], ["127.0.0.2/31"])
        self.assertDetail(self.guarded(c["token"]), 403, "not allowed")
        # [] and null both mean any address
        for empty in ([], None):
            st, _, body = self.req("PUT", path, {"allowedIps": ["10.0.0.0/8"]},
                                   token=self.client_admin)
            self.assertEqual(st, 200, body)
            st, _, body = self.req("PUT", path, {"allowedIps": empty}, token=self.client_admin)
            self.assertEqual(st, 200, body)
            self.assertNotIn("allowedIps", body)
            st, _, body = self.guarded(c["token"])
            self.assertEqual(st, 200, body)

    def test_management_api_checks_the_list(self):
        for base in MOUNTS:
            for ips, want in ((["127.0.0.2/31"], 403), (["127.0.0.0/31"], 200)):
                with self.subTest(mount=base, allowedIps=ips):
                    c = self.create(base, allowedIps=ips, modules=[{"id": AM}])
                    resp = self.req("GET", f"{base}?limit=1", token=c["token"])
                    if want == 403:
                        self.assertDetail(resp, 403, "The client address is not allowed")
                    else:
                        self.assertEqual(resp[0], 200, resp[2])


class BadInput(RestrictionsBase):
    CASES = (
        ("expiresAt", {"expiresAt": "2001-01-01T00:00:00Z"}),
        ("expiresAt", {"expiresAt": "next week"}),
        ("notBefore", {"notBefore": "2099-01-02T00:00:00Z", "expiresAt": "2099-01-01T00:00:00Z"}),
        ("allowedIps", {"allowedIps": ["10.0.0.0/33"]}),
        ("allowedIps", {"allowedIps": [f"10.0.{i}.0/24" for i in range(65)]}),
        ("allowedIps", {"allowedIps": ["10.0.0.1", "10.0.0.1/32"]}),
        ("allowedIps", {"allowedIps": "10.0.0.1"}),
        ("rateLimit", {"rateLimit": 45}),
        ("rateLimit", {"rateLimit": 0}),
        ("rateLimit", {"rateLimit": "60"}),
        ("rateLimit", {"rateLimit": 10}),
        ("rateLimit", {"rateLimit": -60}),
        ("rateLimit", {"rateLimit": 60.5}),
        ("rateLimit", {"rateLimit": 12001}),
    )

    def test_each_is_400_naming_the_field_and_changes_nothing(self):
        for base in MOUNTS:
            target = self.create(base, rateLimit=120, allowedIps=["10.0.0.0/8"],
                                 expiresAt=iso(86400))
            path = f"{base}/{target['id']}"
            for field, extra in self.CASES:
                with self.subTest(mount=base, field=field, body=extra):
                    name = self.name("bad")
                    resp = self.req("POST", base, dict(extra, name=name),
                                    token=self.client_admin)
                    body = self.assertProblem(resp, 400, "Bad Request", (field,))
                    self.assertEqual(set(body["errors"]), {field}, body)
                    listed = self.list_all(base, query=q(f"eq(name,'{name}')&limit=10"))
                    self.assertEqual(listed["data"], [])
                    resp = self.req("PUT", path, dict(extra, name=name), token=self.client_admin)
                    self.assertProblem(resp, 400, "Bad Request", (field,))
                    now = self.get_ok(base, target["id"])
                    for key in ("name", "revision", "rateLimit", "allowedIps", "expiresAt"):
                        self.assertEqual(now.get(key), target.get(key), key)

    def test_rate_limit_message_names_the_tiers(self):
        resp = self.req("POST", PLATFORM, {"name": self.name(), "rateLimit": 45},
                        token=self.client_admin)
        body = self.assertProblem(resp, 400, "Bad Request", ("rateLimit",))
        self.assertIn("60, 120, 300, 600, 1200, 3000, 6000 or 12000", body["errors"]["rateLimit"][0])


class RateLimit(RestrictionsBase):
    def burst(self, value, limit=200, stop_at_429=True):
        """GETs of the protected path on one keep-alive connection until the
        first 429 (or limit); returns (statuses, last response, seconds)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.stack.port, timeout=30)
        statuses, last = [], None
        started = time.monotonic()
        try:
            for _ in range(limit):
                conn.request("GET", self.protected, headers={"Authorization": f"Bearer {value}"})
                resp = conn.getresponse()
                body = resp.read()
                statuses.append(resp.status)
                last = (resp.status, resp.headers, body)
                if resp.status == 429 and stop_at_429:
                    break
        finally:
            conn.close()
        return statuses, last, time.monotonic() - started

    def limited_token(self, rate=60, base=PLATFORM):
        c = self.create(base, rateLimit=rate, modules=[{"id": self.protected_module}])
        self.assertEqual(c["rateLimit"], rate)
        return c

    def test_61st_request_in_a_minute_is_429(self):
        for base in MOUNTS:
            with self.subTest(mount=base):
                c = self.limited_token(base=base)
                statuses, (st, headers, body), elapsed = self.burst(c["token"])
                self.assertEqual(st, 429, statuses)
                passed = statuses.index(429)
                self.assertTrue(all(s == 200 for s in statuses[:passed]), statuses)
                self.assertGreaterEqual(passed, 60, statuses)
                self.assertLessEqual(passed, 60 + math.ceil(elapsed), (statuses, elapsed))
                self.assertEqual((headers.get("Content-Type") or "").split(";")[0],
                                 "application/problem+json")
                self.assertEqual(headers.get("Retry-After"), "1")
                self.assertIn(b'"status":429', body)
                # another 60/min token has a bucket of its own
                other = self.limited_token(base=base)
                st, _, body = self.guarded(other["token"])
                self.assertEqual(st, 200, body)

    def test_unlimited_token_and_refused_requests(self):
        free = self.create(modules=[{"id": self.protected_module}])
        self.assertNotIn("rateLimit", free)
        statuses, _, _ = self.burst(free["token"], limit=100)
        self.assertEqual(statuses, [200] * 100)
        # 70 wrong secrets for a limited token's id use up none of its bucket
        c = self.limited_token()
        tid = token_id(c["token"])
        forged = f"idt:{tid}:" + "A" * 58
        forged += checksum(forged)
        statuses, _, _ = self.burst(forged, limit=70)
        self.assertEqual(statuses, [401] * 70)
        statuses, _, _ = self.burst(c["token"], limit=60)
        self.assertEqual(statuses, [200] * 60)
