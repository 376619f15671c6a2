"""Who may do what (SPEC §7, §8): a matrix of caller kinds x operations x
own or foreign account, each cell asserting the exact status; the nginx
auth_request guard of the example upstream; module removal; lastAccessAt.

Users log in on the settings mount with HTTP Basic (nginx checks the
password, apitokend trusts REMOTE_USER); tokens use Bearer on both mounts.
Every cell that changes state gets fresh target tokens."""

import base64
import http.client
import os
import subprocess
import time
import unittest

from stack import OwnStack
from test_tokens import (AM, BILLING, MARKETPLACE, PLATFORM, SETTINGS, TIME_RE,
                         TokensBase, checksum, token_id)

OPS = ("list", "get", "create", "update", "enable", "disable", "delete", "reveal", "audit")
TARGETS = ("own", "foreign", "deleted", "foreign-deleted")
N = None  # not applicable (create has no deleted target)
# seconds: how long another process's change may take to reach verify
# (the verify cache's bound, README Performance and apitokend.ini(5))
VERIFY_CACHE_BOUND = 1.0

# Expected statuses, one tuple per target in OPS order.  "Foreign" is a token
# of another account: Client and Vendor callers never learn it exists (404,
# never 403), creating there is 403 (docs/decisions.md); Operations acts on
# every account, and every change to a Deleted token is 409 for it.
#                    list get  create upd  enable disab delete reveal audit
ADMIN = {
    "own":             (200, 200, 201, 200, 200, 200, 204, 200, 200),
    "foreign":         (200, 404, 403, 404, 404, 404, 404, 404, 404),
    "deleted":         (200, 404, N,   404, 404, 404, 404, 404, 404),
    "foreign-deleted": (200, 404, N,   404, 404, 404, 404, 404, 404),
}
OPERATIONS = {
    "own":             (200, 200, 201, 200, 200, 200, 204, 200, 200),
    "foreign":         (200, 200, 201, 200, 200, 200, 204, 200, 200),
    "deleted":         (200, 200, N,   409, 409, 409, 409, 409, 200),
    "foreign-deleted": (200, 200, N,   409, 409, 409, 409, 409, 200),
}
# Without access-management: no management at all, whatever the target.
PLAIN = {
    "own":             (403, 403, 403, 403, 403, 403, 403, 403, 403),
    "foreign":         (403, 403, 403, 403, 403, 403, 403, 403, 403),
    "deleted":         (403, 403, N,   403, 403, 403, 403, 403, 403),
    "foreign-deleted": (403, 403, N,   403, 403, 403, 403, 403, 403),
}

# caller: (kind, demo.env key, account kind, expected table)
CALLERS = {
    "client-admin-user": ("user", "APITOKEND_CLIENT_ADMIN_USER", "CLIENT", ADMIN),
    "client-plain-user": ("user", "APITOKEND_CLIENT_USER", "CLIENT", PLAIN),
    "client-admin-token": ("token", "APITOKEND_CLIENT_ADMIN_TOKEN", "CLIENT", ADMIN),
    "client-plain-token": ("token", "APITOKEND_CLIENT_TOKEN", "CLIENT", PLAIN),
    "vendor-admin-token": ("token", "APITOKEND_VENDOR_ADMIN_TOKEN", "VENDOR", ADMIN),
    "vendor-admin-user": ("user", "APITOKEND_VENDOR_ADMIN_USER", "VENDOR", ADMIN),
    "vendor-plain-user": ("user", "APITOKEND_VENDOR_USER", "VENDOR", PLAIN),
    "ops-admin-token": ("token", "APITOKEND_OPERATIONS_ADMIN_TOKEN", "OPERATIONS", OPERATIONS),
    "ops-admin-user": ("user", "APITOKEND_OPERATIONS_ADMIN_USER", "OPERATIONS", OPERATIONS),
    "ops-plain-user": ("user", "APITOKEND_OPERATIONS_USER", "OPERATIONS", PLAIN),
}
# the account a caller's "foreign" targets live in
FOREIGN_OF = {"CLIENT": "VENDOR", "VENDOR": "CLIENT", "OPERATIONS": "CLIENT"}

PROTECTED_ECHO_KEYS = {"path", "method", "tokenId", "accountId", "accountType", "modules",
                       "authorization"}


def basic(user, password):
    raw = f"{user}:{password}".encode()
    return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


def raw_request(port, method, path, headers=None, timeout=30):
    """A request whose path goes out byte for byte (curl --path-as-is)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.putrequest(method, path, skip_accept_encoding=True)
        for k, v in (headers or {}).items():
            conn.putheader(k, v)
        conn.endheaders()
        resp = conn.getresponse()
        body = resp.read()
        return resp.status, resp.headers, body
    finally:
        conn.close()


class AccessBase(TokensBase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        env = cls.stack.env
        cls.password = env["APITOKEND_USER_PASSWORD"]
        cls.admin_token = {
            "CLIENT": env["APITOKEND_CLIENT_ADMIN_TOKEN"],
            "VENDOR": env["APITOKEND_VENDOR_ADMIN_TOKEN"],
            "OPERATIONS": env["APITOKEND_OPERATIONS_ADMIN_TOKEN"],
        }
        cls.account = {
            "CLIENT": env["APITOKEND_CLIENT_ACCOUNT_ID"],
            "VENDOR": env["APITOKEND_VENDOR_ACCOUNT_ID"],
            "OPERATIONS": env["APITOKEND_OPERATIONS_ACCOUNT_ID"],
        }
        cls.protected = env["APITOKEND_PROTECTED_PATH"]
        cls.protected_module = env["APITOKEND_PROTECTED_MODULE"]

    def auth(self, caller):
        """Headers that make a request come from caller."""
        kind, key, _, _ = CALLERS[caller]
        value = self.stack.env[key]
        if kind == "user":
            return basic(value, self.password)
        return {"Authorization": f"Bearer {value}"}

    def as_caller(self, caller, method, path, body=None, headers=None):
        h = dict(headers or {})
        h.update(self.auth(caller))
        return self.req(method, path, body, headers=h)

    def ops_view(self, tid):
        """The token as Operations sees it (also when Deleted)."""
        st, _, body = self.req("GET", f"{PLATFORM}/{tid}", token=self.ops_admin)
        self.assertEqual(st, 200, body)
        return body

    def make_target(self, acc_kind, state="Active", modules=None):
        """A fresh token in the account acc_kind, made by that account's
        admin token, in the given state."""
        body = {"name": self.name("target")}
        if modules is not None:
            body["modules"] = [{"id": m} for m in modules]
        st, _, c = self.req("POST", PLATFORM, body, token=self.admin_token[acc_kind])
        self.assertEqual(st, 201, c)
        path = f"{PLATFORM}/{c['id']}"
        if state == "Disabled":
            st, _, b = self.req("POST", f"{path}/disable", token=self.admin_token[acc_kind])
            self.assertEqual(st, 200, b)
        elif state == "Deleted":
            st, _, b = self.req("DELETE", path, token=self.admin_token[acc_kind])
            self.assertEqual(st, 204, b)
        return c


class Matrix(AccessBase):
    """Caller kinds x operations x own/foreign/deleted targets."""

    def run_cell(self, caller, base, op, target, want):
        made = []
        try:
            self.cell(caller, base, op, target, want, made)
        finally:
            # keep the shared stack's accounts small for the cases after us
            for acc_kind, tid in made:
                self.req("DELETE", f"{PLATFORM}/{tid}", token=self.admin_token[acc_kind])

    def cell(self, caller, base, op, target, want, made):
        _, _, acc_kind, _ = CALLERS[caller]
        target_acc = acc_kind if target in ("own", "deleted") else FOREIGN_OF[acc_kind]
        state = "Deleted" if target.endswith("deleted") else (
            "Disabled" if op == "enable" else "Active")
        tok = None if op == "create" else self.make_target(target_acc, state)
        tid = tok["id"] if tok else None
        if tid and state != "Deleted":
            made.append((target_acc, tid))
        before = self.ops_view(tid) if tid else None

        if op == "list":
            resp = self.as_caller(caller, "GET", f"{base}?limit=1000")
        elif op == "get":
            resp = self.as_caller(caller, "GET", f"{base}/{tid}")
        elif op == "create":
            body = {"name": self.name("made")}
            if target == "foreign":
                body["account"] = {"id": self.account[target_acc]}
            resp = self.as_caller(caller, "POST", base, body)
        elif op == "update":
            resp = self.as_caller(caller, "PUT", f"{base}/{tid}",
                                  {"description": f"changed by {caller}"})
        elif op in ("enable", "disable"):
            resp = self.as_caller(caller, "POST", f"{base}/{tid}/{op}")
        elif op == "delete":
            resp = self.as_caller(caller, "DELETE", f"{base}/{tid}")
        elif op == "reveal":
            resp = self.as_caller(caller, "GET", f"{base}/{tid}?select=token")
        elif op == "audit":
            resp = self.as_caller(caller, "GET", f"{SETTINGS}/{tid}/audit")
        else:
            raise AssertionError(op)
        status, headers, body = resp

        if want >= 400:
            title = {401: "Authentication Failed", 403: "Forbidden", 404: "Not Found",
                     409: "Conflict"}[want]
            self.assertProblem(resp, want, title)
            if tid:
                after = self.ops_view(tid)
                self.assertEqual((after["status"], after["revision"]),
                                 (before["status"], before["revision"]),
                                 "a refused request changed the token")
            return
        self.assertEqual(status, want, body)
        # what a success must show
        if op == "list":
            ids = {t["id"]: t for t in body["data"]}
            visible = acc_kind == "OPERATIONS" or target == "own"
            if visible:
                self.assertIn(tid, ids)
                self.assertEqual(ids[tid]["status"], state)
            else:
                self.assertNotIn(tid, ids)
            if acc_kind != "OPERATIONS":
                self.assertTrue(all(t["account"]["id"] == self.account[acc_kind]
                                    for t in body["data"]))
                self.assertTrue(all(t["status"] != "Deleted" for t in body["data"]))
        elif op == "get":
            self.assertEqual((body["id"], body["status"]), (tid, state))
            self.assertNotIn("token", body)
        elif op == "create":
            made.append((target_acc, body["id"]))
            self.assertEqual(body["account"]["id"], self.account[target_acc])
            self.assertEqual(token_id(body["token"]), body["id"])
        elif op == "update":
            self.assertEqual(body["description"], f"changed by {caller}")
            self.assertEqual(body["revision"], before["revision"] + 1)
        elif op in ("enable", "disable"):
            self.assertEqual(body["status"], "Active" if op == "enable" else "Disabled")
            self.assertEqual(body["revision"], before["revision"] + 1)
        elif op == "delete":
            self.assertEqual(body, b"")
            self.assertEqual(self.ops_view(tid)["status"], "Deleted")
        elif op == "reveal":
            self.assertEqual(body["token"], tok["token"])
        elif op == "audit":
            self.assertGreaterEqual(body["$meta"]["pagination"]["total"], 1)
            self.assertTrue(all(r["object"]["id"] == tid for r in body["data"]), body)

    def test_matrix(self):
        cells = 0
        for caller, (kind, _, _, table) in CALLERS.items():
            bases = (SETTINGS,) if kind == "user" else (PLATFORM, SETTINGS)
            for base in bases:
                for target in TARGETS:
                    for op, want in zip(OPS, table[target]):
                        if want is None:
                            continue
                        with self.subTest(caller=caller, mount=base, op=op, target=target,
                                          want=want):
                            cells += 1
                            self.run_cell(caller, base, op, target, want)
        self.assertGreater(cells, 400)

    def test_table_shape(self):
        # the table is data: every caller has a row per target and op
        for caller, (_, _, _, table) in CALLERS.items():
            self.assertEqual(set(table), set(TARGETS), caller)
            for target, row in table.items():
                self.assertEqual(len(row), len(OPS), (caller, target))

    def test_token_reads_itself(self):
        # a token may read its own record (not its value) without
        # access-management; with it, it may reveal and read its audit
        for caller in ("client-admin-token", "client-plain-token", "vendor-admin-token",
                       "ops-admin-token"):
            admin = CALLERS[caller][3] is not PLAIN
            me = token_id(self.stack.env[CALLERS[caller][1]])
            for base in (PLATFORM, SETTINGS):
                with self.subTest(caller=caller, mount=base):
                    st, h, body = self.as_caller(caller, "GET", f"{base}/{me}")
                    self.assertEqual(st, 200, body)
                    self.assertEqual(body["id"], me)
                    self.assertNotIn("token", body)
                    self.assertEqual(h.get("ETag"), f'"{body["revision"]}"')
                    resp = self.as_caller(caller, "GET", f"{base}/{me}?select=token")
                    if admin:
                        self.assertEqual(resp[0], 200, resp[2])
                        self.assertEqual(resp[2]["token"], self.stack.env[CALLERS[caller][1]])
                    else:
                        self.assertProblem(resp, 403, "Forbidden")
                    resp = self.as_caller(caller, "GET", f"{SETTINGS}/{me}/audit")
                    if admin:
                        self.assertEqual(resp[0], 200, resp[2])
                    else:
                        self.assertProblem(resp, 403, "Forbidden")

    def test_users_on_the_platform_mount_are_401(self):
        # REMOTE_USER is passed on the settings mount only: a Basic login
        # is no credential on /public/v1/...
        target = self.make_target("CLIENT")
        tid = target["id"]
        calls = (("GET", PLATFORM, None), ("POST", PLATFORM, {"name": "x"}),
                 ("GET", f"{PLATFORM}/{tid}", None), ("PUT", f"{PLATFORM}/{tid}", {"name": "x"}),
                 ("POST", f"{PLATFORM}/{tid}/disable", None),
                 ("DELETE", f"{PLATFORM}/{tid}", None),
                 ("GET", f"{PLATFORM}/{tid}?select=token", None),
                 ("GET", f"{PLATFORM}/{tid}/audit", None),
                 ("GET", "/public/v1/audit/records", None),
                 ("GET", "/public/v1/accounts/modules", None))
        for caller, (kind, _, _, _) in CALLERS.items():
            if kind != "user":
                continue
            for method, path, body in calls:
                with self.subTest(caller=caller, method=method, path=path):
                    resp = self.as_caller(caller, method, path, body)
                    self.assertProblem(resp, 401, "Authentication Failed")
        got = self.ops_view(tid)
        self.assertEqual((got["status"], got["revision"]), ("Active", 1))

    def test_headers_never_carry_identity(self):
        user = self.stack.env["APITOKEND_CLIENT_ADMIN_USER"]
        forged = {"Remote-User": user, "X-Remote-User": user, "X-User-Id": user,
                  "X-Token-Id": self.client_admin_id,
                  "X-Account-Id": self.stack.env["APITOKEND_OPERATIONS_ACCOUNT_ID"]}
        for path in (SETTINGS, PLATFORM, "/public/v1/audit/records"):
            with self.subTest(path=path):
                self.assertProblem(self.req("GET", path, headers=forged), 401,
                                   "Authentication Failed")
        # nor do they change who a token is
        st, _, body = self.req("GET", f"{PLATFORM}/{self.client_admin_id}", headers=forged,
                               token=self.client_plain)
        self.assertProblem((st, _, body), 403, "Forbidden")

    def test_settings_login_is_checked(self):
        user = self.stack.env["APITOKEND_CLIENT_ADMIN_USER"]
        for label, headers in (("wrong password", basic(user, self.password + "x")),
                               ("unknown user", basic("USR-9999-9999", self.password)),
                               ("no credentials", {})):
            with self.subTest(case=label):
                resp = self.req("GET", SETTINGS, headers=headers)
                self.assertProblem(resp, 401, "Authentication Failed")
        st, _, body = self.req("GET", SETTINGS, headers=basic(user, self.password))
        self.assertEqual(st, 200, body)

    def test_bearer_decides_over_login(self):
        # a token always wins: a web-server login never widens it
        headers = basic(self.stack.env["APITOKEND_CLIENT_ADMIN_USER"], self.password)
        resp = self.req("GET", SETTINGS, headers=headers, token=self.client_plain)
        self.assertProblem(resp, 403, "Forbidden")

    def test_user_actor_in_audit(self):
        # a user acting through the login is the one the token's audit names
        user = self.stack.env["APITOKEND_CLIENT_ADMIN_USER"]
        st, _, body = self.req("POST", SETTINGS, {"name": self.name("by user")},
                               headers=basic(user, self.password))
        self.assertEqual(st, 201, body)
        self.assertEqual(body["audit"]["created"]["by"]["id"], user)
        self.assertEqual(body["audit"]["created"]["by"]["name"], "Ada Admin")


class Protected(AccessBase):
    """The example upstream behind nginx auth_request (SPEC §8)."""

    def call(self, token=None, path=None, headers=None):
        return self.req("GET", path or self.protected, headers=headers, token=token)

    def assertReached(self, resp, tok_value, account_kind, modules, path=None):
        status, headers, body = resp
        self.assertEqual(status, 200, body)
        self.assertIsInstance(body, dict, body)
        self.assertEqual(set(body), PROTECTED_ECHO_KEYS, body)
        self.assertEqual(body["path"], path or self.protected)
        self.assertEqual(body["tokenId"], token_id(tok_value))
        self.assertEqual(body["accountId"], self.account[account_kind])
        self.assertEqual(body["accountType"], account_kind.title())
        self.assertEqual(sorted(body["modules"]), sorted(modules))
        # the token has done its job: the API behind never sees it
        self.assertIsNone(body["authorization"], body)

    def assertRefused(self, resp, code):
        title = {401: "Authentication Failed", 403: "Forbidden"}[code]
        body = self.assertProblem(resp, code, title)
        self.assertNotIn("tokenId", body)
        if code == 401:
            self.assertIn("Bearer", resp[1].get("WWW-Authenticate") or "")

    def test_valid_token_reaches_upstream(self):
        mods = [self.protected_module, BILLING]
        for kind in ("CLIENT", "VENDOR"):
            with self.subTest(account=kind):
                tok = self.create(token=self.admin_token[kind],
                                  modules=[{"id": m} for m in mods])["token"]
                self.assertReached(self.call(tok), tok, kind, mods)
                sub = f"{self.protected}/BUY-1234-5678?select=name"
                self.assertReached(self.call(tok, sub), tok, kind, mods, sub)
        # the demo tokens: every module they hold is passed on
        env = self.stack.env
        st, _, me = self.req("GET", f"{PLATFORM}/{self.client_admin_id}", token=self.client_admin)
        self.assertEqual(st, 200, me)
        self.assertReached(self.call(env["APITOKEND_CLIENT_ADMIN_TOKEN"]),
                           env["APITOKEND_CLIENT_ADMIN_TOKEN"], "CLIENT",
                           [m["id"] for m in me["modules"]])
        st, _, me = self.req("GET", f"{PLATFORM}/{self.ops_admin_id}", token=self.ops_admin)
        self.assertReached(self.call(self.ops_admin), self.ops_admin, "OPERATIONS",
                           [m["id"] for m in me["modules"]])

    def test_client_identity_headers_are_replaced(self):
        tok = self.create(modules=[{"id": self.protected_module}])["token"]
        forged = {"X-Token-Id": "TKN-1111-1111", "X-Account-Id": "ACC-9999-9999",
                  "X-Account-Type": "Operations", "X-Token-Modules": "MOD-6601,MOD-1756"}
        self.assertReached(self.call(tok, headers=forged), tok, "CLIENT",
                           [self.protected_module])
        # nor do they help without a token
        self.assertRefused(self.call(headers=forged), 401)

    def test_bad_tokens_are_401(self):
        good = self.create(modules=[{"id": self.protected_module}])["token"]
        tid = token_id(good)
        forged = f"idt:{tid}:" + "A" * 58
        forged += checksum(forged)
        unknown = "idt:TKN-0000-0001:" + "B" * 58
        unknown += checksum(unknown)
        for label, value in (("wrong secret", forged), ("unknown id", unknown),
                             ("bad checksum", good[:-1] + ("A" if good[-1] != "A" else "B")),
                             ("malformed", "idt:TKN-0000-0000:nope"), ("truncated", good[:-3])):
            with self.subTest(case=label):
                self.assertRefused(self.call(value), 401)
        with self.subTest(case="no Authorization"):
            self.assertRefused(self.call(), 401)
        with self.subTest(case="Basic login"):
            user = self.stack.env["APITOKEND_CLIENT_ADMIN_USER"]
            self.assertRefused(self.call(headers=basic(user, self.password)), 401)
        self.assertReached(self.call(good), good, "CLIENT", [self.protected_module])

    def test_disabled_and_deleted_tokens_are_401(self):
        tok = self.create(modules=[{"id": self.protected_module}])["token"]
        tid = token_id(tok)
        path = f"{PLATFORM}/{tid}"
        self.assertReached(self.call(tok), tok, "CLIENT", [self.protected_module])
        st, _, b = self.req("POST", f"{path}/disable", token=self.client_admin)
        self.assertEqual(st, 200, b)
        self.assertRefused(self.call(tok), 401)
        st, _, b = self.req("POST", f"{path}/enable", token=self.client_admin)
        self.assertEqual(st, 200, b)
        self.assertReached(self.call(tok), tok, "CLIENT", [self.protected_module])
        st, _, b = self.req("DELETE", path, token=self.client_admin)
        self.assertEqual(st, 204, b)
        self.assertRefused(self.call(tok), 401)

    def test_token_without_the_module_is_403(self):
        for label, mods in (("other modules", [BILLING, MARKETPLACE, AM]), ("no modules", [])):
            with self.subTest(case=label):
                tok = self.create(modules=[{"id": m} for m in mods])["token"]
                self.assertRefused(self.call(tok), 403)
                self.assertRefused(self.call(tok, f"{self.protected}/x"), 403)

    def test_prefix_ends_at_a_segment_boundary(self):
        # nginx's prefix location also takes /buyersx; the module grants
        # /buyers and what is below it, not /buyersx
        tok = self.create(modules=[{"id": self.protected_module}])["token"]
        self.assertRefused(self.call(tok, self.protected + "x"), 403)
        self.assertRefused(self.call(tok, self.protected + "-archive/1"), 403)
        self.assertReached(self.call(tok, self.protected + "/"), tok, "CLIENT",
                           [self.protected_module], self.protected + "/")

    def test_verify_endpoint_is_not_reachable_from_outside(self):
        value = self.client_admin
        for path in ("/_apitokend/verify", "/_apitokend/verify?x=1", "/_apitokend/verify/",
                     "/_apitokend//verify", "/_apitokend/verify%2F", "/_apitokend/Verify"):
            for tok in (None, value):
                with self.subTest(path=path, token=bool(tok)):
                    headers = {"Original-Uri": self.protected,
                               "X-Original-URI": self.protected}
                    if tok:
                        headers["Authorization"] = f"Bearer {tok}"
                    status, h, body = raw_request(self.stack.port, "GET", path, headers)
                    self.assertEqual(status, 404, body)
                    self.assertIsNone(h.get("X-Token-Id"))
                    self.assertNotIn(token_id(value).encode(), body)

    def test_path_traversal_is_refused(self):
        tok = self.create(modules=[{"id": self.protected_module}])["token"]
        p = self.protected
        paths = (f"{p}/../buyers/x", f"{p}/%2e%2e/buyers/x", f"{p}/%2E%2E/x", f"{p}/./x",
                 f"{p}//x", f"{p}/x/..", f"{p}/%2e/x", "/public/v1/accounts/api-tokens/../buyers",
                 "/public/v1/audit/../accounts/buyers", f"{p}/..%2f..%2fapi-tokens",
                 f"{p}%2f..%2fusers")
        for path in paths:
            for label, value in (("with the module", tok), ("admin", self.client_admin)):
                with self.subTest(path=path, token=label):
                    status, _, body = raw_request(self.stack.port, "GET", path,
                                                  {"Authorization": f"Bearer {value}"})
                    # refused by verify, or routed elsewhere; never served by
                    # the upstream with a path that could mean two things
                    self.assertIn(status, (400, 403, 404), body)
                    self.assertNotIn(b'"tokenId"', body)


class LastAccess(AccessBase):
    def last_access(self, tid):
        st, _, body = self.req("GET", f"{PLATFORM}/{tid}", token=self.client_admin)
        self.assertEqual(st, 200, body)
        return body.get("lastAccessAt"), body

    def wait_for_last_access(self, tid, timeout=5.0):
        deadline = time.monotonic() + timeout
        while True:
            seen, body = self.last_access(tid)
            if seen or time.monotonic() > deadline:
                return seen, body
            time.sleep(0.05)

    def test_verified_use_sets_last_access_once_a_minute(self):
        c = self.create(modules=[{"id": self.protected_module}])
        tid, tok = c["id"], c["token"]
        self.assertNotIn("lastAccessAt", c)
        seen, before = self.last_access(tid)
        self.assertIsNone(seen)
        started = time.time()
        st, _, body = self.req("GET", self.protected, token=tok)
        self.assertEqual(st, 200, body)
        first, after = self.wait_for_last_access(tid)
        self.assertIsNotNone(first, "lastAccessAt did not appear within 5 s of a verified use")
        self.assertRegex(first, TIME_RE)
        self.assertGreaterEqual(first, time.strftime("%Y-%m-%dT%H:%M:%S",
                                                     time.gmtime(started - 2)))
        # neither a change nor audited
        self.assertEqual(after["revision"], before["revision"])
        self.assertEqual(after["audit"], before["audit"])
        st, _, trail = self.req("GET", f"{SETTINGS}/{tid}/audit", token=self.client_admin)
        self.assertEqual(st, 200, trail)
        self.assertEqual([r["event"] for r in trail["data"]],
                         ["platform.accounts.api-token.created"])
        # a second use within the minute does not write it again
        time.sleep(1.1)
        st, _, body = self.req("GET", self.protected, token=tok)
        self.assertEqual(st, 200, body)
        st, _, body = self.req("GET", f"{PLATFORM}/{tid}", token=tok)  # the API too
        self.assertEqual(st, 200, body)
        time.sleep(0.5)
        again, _ = self.last_access(tid)
        self.assertEqual(again, first)

    def test_refused_use_sets_nothing(self):
        # 403 (module missing) and 401 (disabled) are not uses
        c = self.create(modules=[{"id": BILLING}])
        st, _, body = self.req("GET", self.protected, token=c["token"])
        self.assertEqual(st, 403, body)
        d = self.create(modules=[{"id": self.protected_module}])
        st, _, b = self.req("POST", f"{PLATFORM}/{d['id']}/disable", token=self.client_admin)
        self.assertEqual(st, 200, b)
        st, _, body = self.req("GET", self.protected, token=d["token"])
        self.assertEqual(st, 401, body)
        time.sleep(1.0)
        self.assertIsNone(self.last_access(d["id"])[0])
        # c authenticated (its module was wrong, not its value): it may
        # count as a use or not; it must never be a revision change
        self.assertEqual(self.last_access(c["id"])[1]["revision"], 1)


class ModuleRemoval(OwnStack, AccessBase):
    """apitokenctl module remove strips the module from the account's tokens
    (audited, revision +1) and verify then refuses them.  On a stack of its
    own, so the shared one keeps its modules."""

    def ctl(self, *args):
        build = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
            os.path.abspath(__file__)))), self.stack.build_dir)
        ini = os.path.join(self.stack.state_dir, "apitokend.ini")
        return subprocess.run([os.path.join(build, "apitokenctl"), "-c", ini, *args],
                              stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, timeout=120)

    def test_module_remove_strips_it_from_the_tokens(self):
        mod = self.protected_module
        acc = self.client_acc
        admin_user = self.stack.env["APITOKEND_CLIENT_ADMIN_USER"]
        holder = self.create(modules=[{"id": mod}, {"id": BILLING}])
        lacking = self.create(modules=[{"id": BILLING}])
        gone = self.create(modules=[{"id": mod}])
        st, _, b = self.req("DELETE", f"{PLATFORM}/{gone['id']}", token=self.client_admin)
        self.assertEqual(st, 204, b)
        vendor = self.create(token=self.vendor_admin, modules=[{"id": mod}])
        st, _, body = self.req("GET", self.protected, token=holder["token"])
        self.assertEqual(st, 200, body)
        before_admin = self.get_ok(PLATFORM, self.client_admin_id)
        self.assertIn(mod, self.module_ids(before_admin))

        proc = self.ctl("module", "remove", "--account", acc, "--module", mod,
                        "--by", admin_user)
        self.assertEqual(proc.returncode, 0, proc.stderr)

        # every live token of the account that held it lost it, audited
        for tok, had_it in ((holder, True), (before_admin, True), (lacking, False)):
            with self.subTest(token=tok["id"]):
                got = self.get_ok(PLATFORM, tok["id"])
                self.assertNotIn(mod, self.module_ids(got))
                want_rev = tok["revision"] + 1 if had_it else tok["revision"]
                self.assertEqual(got["revision"], want_rev)
                st, _, trail = self.req("GET", f"{SETTINGS}/{tok['id']}/audit?select=+documents",
                                        token=self.client_admin)
                self.assertEqual(st, 200, trail)
                updates = [r for r in trail["data"]
                           if r["event"] == "platform.accounts.api-token.updated"]
                if had_it:
                    self.assertEqual(len(updates), 1, trail)
                    rec = updates[0]
                    self.assertEqual(rec["documents"]["changes"], ["modules"])
                    self.assertEqual(rec["actor"]["id"], admin_user)
                    self.assertIn(mod, [m["id"] for m in rec["documents"]["before"]["modules"]])
                    self.assertNotIn(mod, [m["id"] for m in
                                           rec["documents"]["after"]["modules"]])
                    self.assertEqual(rec["object"].get("revision"), want_rev)
                    self.assertBy(got["audit"]["updated"], admin_user)
                else:
                    self.assertEqual(updates, [])
        self.assertEqual(self.module_ids(self.get_ok(PLATFORM, holder["id"])), [BILLING])
        # deletion is final: a Deleted token is not changed
        self.assertEqual(self.get_ok(PLATFORM, gone["id"], token=self.ops_admin)["revision"], 2)
        # another account keeps it
        self.assertIn(mod, self.module_ids(self.get_ok(PLATFORM, vendor["id"],
                                                       token=self.vendor_admin)))
        st, _, body = self.req("GET", self.protected, token=vendor["token"])
        self.assertEqual(st, 200, body)
        # verify now refuses the account's tokens: apitokenctl is another
        # process, so a verify answered from the cache before may still be
        # given for up to the cache's bound (README: one second), never
        # after it
        for tok in (holder["token"], self.client_admin):
            deadline = time.monotonic() + VERIFY_CACHE_BOUND + 1.0
            while True:
                st, _, body = self.req("GET", self.protected, token=tok)
                if st != 200 or time.monotonic() > deadline:
                    break
                time.sleep(0.05)
            self.assertEqual(st, 403, body)
        # and it can no longer be granted or listed as grantable
        resp = self.req("POST", PLATFORM, {"name": "x", "modules": [{"id": mod}]},
                        token=self.client_admin)
        self.assertProblem(resp, 400, "Bad Request", ["modules"])
        st, _, mods = self.req("GET", f"{SETTINGS}/modules", token=self.client_admin)
        self.assertEqual(st, 200, mods)
        self.assertNotIn(mod, [m["id"] for m in mods["data"]])
        # the chains stay intact
        proc = self.ctl("audit", "verify")
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)

        # add it back: tokens do not regain it by themselves; a re-grant does
        proc = self.ctl("module", "add", "--account", acc, "--module", mod)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        st, _, body = self.req("GET", self.protected, token=holder["token"])
        self.assertEqual(st, 403, body)
        st, _, b = self.req("PUT", f"{PLATFORM}/{holder['id']}",
                            {"modules": [{"id": mod}, {"id": BILLING}]},
                            token=self.ops_admin)
        self.assertEqual(st, 200, b)
        st, _, body = self.req("GET", self.protected, token=holder["token"])
        self.assertEqual(st, 200, body)
        self.assertEqual(body["tokenId"], holder["id"])


if __name__ == "__main__":
    unittest.main()
