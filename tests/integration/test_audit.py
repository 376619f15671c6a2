"""The audit trail (SPEC §9): one record per change, none for a failure,
never a secret; reading it (confined, newest first, documents on request,
render()); records from extensions; immutability; the hash chain and
apitokenctl audit verify, with tampering and parallel writers on stacks of
their own."""

import json
import os
import pwd
import random
import re
import secrets
import subprocess
import threading
import time
import unittest

from stack import OwnStack
from test_tokens import (AM, BILLING, GIF, PLATFORM, PNG, SETTINGS, TIME_RE,
                         TOKEN_RE, TokensBase, media_type, token_id)

RECORDS = "/public/v1/audit/records"
EV = "platform.accounts.api-token."
AUDIT_ID_RE = re.compile(r"^AUD-\d{4}-\d{4}-\d{4}-\d{4}$")
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def basic(user, password):
    import base64
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def sql(stack, query, user=None, password=None, check=True):
    """Run SQL over the stack's MariaDB socket (as the OS user, which is
    MariaDB's administrator there, unless user is given)."""
    cmd = ["mariadb", "--no-defaults", "--protocol=socket",
           f"--socket={stack.env['APITOKEND_DB_SOCKET']}",
           "-u", user or pwd.getpwuid(os.getuid()).pw_name, "--batch", "--skip-column-names"]
    if password is not None:
        cmd.append(f"--password={password}")
    cmd += ["apitokend", "-e", query]
    proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, timeout=120)
    if check and proc.returncode != 0:
        raise AssertionError(f"SQL failed: {query}\n{proc.stderr}")
    return proc


def ctl(stack, *args):
    ini = os.path.join(stack.state_dir, "apitokend.ini")
    exe = os.path.join(ROOT, stack.build_dir, "apitokenctl")
    return subprocess.run([exe, "-c", ini, *args], stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          timeout=300)


def chain_seq(stack, account):
    out = sql(stack, f"SELECT seq FROM audit_chain_heads WHERE account_id = '{account}'")
    return int(out.stdout.strip() or 0)


def new_trace():
    return secrets.token_hex(16)


class AuditBase(TokensBase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.init_env()

    @classmethod
    def init_env(cls):
        env = cls.stack.env
        cls.client_admin = env["APITOKEND_CLIENT_ADMIN_TOKEN"]
        cls.client_admin_id = token_id(cls.client_admin)
        cls.vendor_admin = env["APITOKEND_VENDOR_ADMIN_TOKEN"]
        cls.vendor_admin_id = token_id(cls.vendor_admin)
        cls.ops_admin = env["APITOKEND_OPERATIONS_ADMIN_TOKEN"]
        cls.ops_admin_id = token_id(cls.ops_admin)
        cls.client_plain = env["APITOKEND_CLIENT_TOKEN"]
        cls.client_acc = env["APITOKEND_CLIENT_ACCOUNT_ID"]
        cls.vendor_acc = env["APITOKEND_VENDOR_ACCOUNT_ID"]
        cls.ops_acc = env["APITOKEND_OPERATIONS_ACCOUNT_ID"]
        cls.password = env["APITOKEND_USER_PASSWORD"]
        cls.client_user = env["APITOKEND_CLIENT_ADMIN_USER"]
        cls.seq = 0

    # -- helpers -----------------------------------------------------------

    def trail(self, tid, token=None, query="limit=1000&select=%2Bdocuments"):
        """The audit records of one token, newest first (Operations by
        default: it also sees Deleted tokens)."""
        st, _, body = self.req("GET", f"{SETTINGS}/{tid}/audit?{query}",
                               token=token or self.ops_admin)
        self.assertEqual(st, 200, body)
        return body

    def total(self, token):
        st, _, body = self.req("GET", f"{RECORDS}?limit=0", token=token)
        self.assertEqual(st, 200, body)
        return body["$meta"]["pagination"]["total"]

    def counts(self):
        return (self.total(self.client_admin), self.total(self.vendor_admin),
                self.total(self.ops_admin))

    def assertNewestFirst(self, records):
        stamps = [r["timestamp"] for r in records]
        for s in stamps:
            self.assertRegex(s, TIME_RE)
        self.assertEqual(stamps, sorted(stamps, reverse=True))

    def assertNoSecret(self, text, value):
        secret = TOKEN_RE.match(value).group(2)
        tail = value.rsplit(":", 1)[1]
        for needle in (value, tail, secret, secret[:20], secret[-20:]):
            self.assertNotIn(needle, text)


class Records(AuditBase):
    def check_record(self, rec, event, actor, tid, revision, trace=None, ua=None):
        self.assertRegex(rec["id"], AUDIT_ID_RE)
        self.assertEqual(rec["event"], EV + event)
        self.assertRegex(rec["timestamp"], TIME_RE)
        self.assertIsInstance(rec.get("summary"), str)
        self.assertTrue(rec["summary"] and "\n" not in rec["summary"], rec)
        self.assertIn(tid, rec["summary"])
        self.assertIn(actor["name"], rec["summary"])
        got = self.get_ok(PLATFORM, tid, token=self.ops_admin)
        self.assertEqual(rec["object"], {"id": tid, "name": got["name"],
                                         "objectType": "ApiToken", "revision": revision})
        self.assertEqual(rec["actor"], actor)
        self.assertEqual(rec["request"]["api"].get("ip"), "127.0.0.1")
        if ua:
            self.assertEqual(rec["request"]["api"].get("userAgent"), ua)
        if trace:
            self.assertTrue(rec["request"]["log"].get("requestId", "").startswith(
                f"00-{trace}-"), rec["request"])
        docs = rec["documents"]
        after = dict(docs["after"])
        tok = after.pop("token", None)
        if tok is not None:
            self.assertNotRegex(tok, TOKEN_RE)
            self.assertTrue(tok.startswith(f"idt:{tid}:"), tok)
        after.pop("lastAccessAt", None)
        got.pop("lastAccessAt", None)
        self.assertEqual(after, got)
        return docs

    def test_each_action_writes_one_record(self):
        client_admin = {"id": self.client_admin_id, "name": "Client admin (demo)",
                        "account": {"id": self.client_acc, "name": "Contoso Ltd."}}
        ada = {"id": self.client_user, "name": "Ada Admin",
               "account": {"id": self.client_acc, "name": "Contoso Ltd."}}
        ops = {"id": self.ops_admin_id, "name": "Operations admin (demo)",
               "account": {"id": self.ops_acc, "name": "SoftwareOne Operations"}}
        login = basic(self.client_user, self.password)
        bearer = {"Authorization": f"Bearer {self.client_admin}"}
        ops_bearer = {"Authorization": f"Bearer {self.ops_admin}"}

        trace = new_trace()
        ua = "audit-test/1.0 (each action)"
        st, _, c = self.req("POST", PLATFORM, {"name": self.name("Audited"),
                                               "modules": [{"id": AM}]},
                            headers={"traceparent": f"00-{trace}-00f067aa0ba902b7-01",
                                     "User-Agent": ua}, token=self.client_admin)
        self.assertEqual(st, 201, c)
        tid = c["id"]
        value = c["token"]
        recs = self.trail(tid)["data"]
        self.assertEqual(len(recs), 1, recs)
        docs = self.check_record(recs[0], "created", client_admin, tid, 1, trace, ua)
        self.assertNotIn("before", docs)
        self.assertNoSecret(json.dumps(recs), value)

        path = f"{SETTINGS}/{tid}"
        steps = (
            # label, headers, method, suffix, body, event, actor, changes
            ("description", login, "PUT", "", {"description": "audited"}, "updated", ada,
             ["description"]),
            ("name+modules", bearer, "PUT", "", {"name": self.name("Renamed"),
                                                 "modules": [{"id": AM}, {"id": BILLING}]},
             "updated", client_admin, ["modules", "name"]),
            ("icon", bearer, "PUT", "/icon", PNG, "updated", client_admin, ["icon"]),
            ("disable", login, "POST", "/disable", None, "disabled", ada, None),
            ("enable", ops_bearer, "POST", "/enable", None, "enabled", ops, None),
            ("reveal", bearer, "GET", "?select=token", None, "revealed", client_admin, None),
            ("delete", login, "DELETE", "", None, "deleted", ada, None),
        )
        revision = 1
        for label, auth, method, suffix, body, event, actor, changes in steps:
            with self.subTest(step=label):
                before = self.get_ok(PLATFORM, tid, token=self.ops_admin)
                n_before = len(self.trail(tid)["data"])
                acc_before = self.total(self.client_admin)
                trace = new_trace()
                ua = f"audit-test/1.0 ({label})"
                headers = dict(auth, traceparent=f"00-{trace}-00f067aa0ba902b7-01")
                headers["User-Agent"] = ua
                if body is PNG:
                    headers["Content-Type"] = "image/png"
                st, _, out = self.req(method, path + suffix, body, headers=headers)
                self.assertIn(st, (200, 204), out)
                if event != "revealed":
                    revision += 1
                recs = self.trail(tid)["data"]
                self.assertEqual(len(recs), n_before + 1, [r["event"] for r in recs])
                self.assertEqual(self.total(self.client_admin), acc_before + 1)
                docs = self.check_record(recs[0], event, actor, tid, revision, trace, ua)
                if event == "revealed":
                    self.assertEqual(out["token"], value)
                    self.assertEqual(revision, before["revision"])
                else:
                    b = dict(docs["before"])
                    b.pop("token", None)
                    b.pop("lastAccessAt", None)
                    before.pop("lastAccessAt", None)
                    self.assertEqual(b, before)
                if changes is not None:
                    self.assertEqual(sorted(docs["changes"]), changes)
                    # each changed field's value before and after (SPEC §9)
                    self.assertEqual(sorted(docs["fields"]), changes)
                    for f in changes:
                        self.assertEqual(docs["fields"][f],
                                         {"before": docs["before"].get(f),
                                          "after": docs["after"].get(f)}, f)
                        self.assertNotEqual(docs["fields"][f]["before"],
                                            docs["fields"][f]["after"], f)
                    if label == "description":
                        self.assertEqual(docs["fields"]["description"],
                                         {"before": None, "after": "audited"})
                    if label == "name+modules":
                        self.assertEqual(docs["fields"]["name"]["after"], body["name"])
                        self.assertEqual(sorted(m["id"] for m in
                                                docs["fields"]["modules"]["after"]),
                                         sorted([AM, BILLING]))
                else:
                    self.assertNotIn("fields", docs)
                if event in ("disabled", "enabled", "deleted"):
                    self.assertEqual(docs["after"]["status"],
                                     {"disabled": "Disabled", "enabled": "Active",
                                      "deleted": "Deleted"}[event])
                self.assertNoSecret(json.dumps(recs), value)
        events = [r["event"] for r in self.trail(tid)["data"]]
        self.assertEqual(events, [EV + e for e in ("deleted", "revealed", "enabled", "disabled",
                                                   "updated", "updated", "updated", "created")])

    def test_failed_actions_write_nothing(self):
        c = self.create(SETTINGS, modules=[{"id": AM}])
        tid, path = c["id"], f"{SETTINGS}/{c['id']}"
        disabled = self.create(SETTINGS)
        st, _, b = self.req("POST", f"{SETTINGS}/{disabled['id']}/disable",
                            token=self.client_admin)
        self.assertEqual(st, 200, b)
        adm = self.client_admin
        failures = (
            ("PUT invalid name", "PUT", path, {"name": "<bad>"}, {}, adm, 400),
            ("PUT unknown module", "PUT", path, {"modules": [{"id": "MOD-0000"}]}, {}, adm, 400),
            ("PUT stale If-Match", "PUT", path, {"description": "x"}, {"If-Match": '"7"'},
             adm, 412),
            ("disable stale If-Match", "POST", f"{path}/disable", None, {"If-Match": '"7"'},
             adm, 412),
            ("delete stale If-Match", "DELETE", path, None, {"If-Match": '"7"'}, adm, 412),
            ("icon stale If-Match", "PUT", f"{path}/icon", PNG,
             {"If-Match": '"7"', "Content-Type": "image/png"}, adm, 412),
            ("icon GIF", "PUT", f"{path}/icon", GIF, {"Content-Type": "image/gif"}, adm, 415),
            ("enable Active", "POST", f"{path}/enable", None, {}, adm, 409),
            ("disable Disabled", "POST", f"{SETTINGS}/{disabled['id']}/disable", None, {},
             adm, 409),
            ("create invalid", "POST", SETTINGS, {"name": ""}, {}, adm, 400),
            ("create module not enabled", "POST", SETTINGS,
             {"name": "x", "modules": [{"id": "MOD-3380"}]}, {}, adm, 400),
            ("create in another account", "POST", SETTINGS,
             {"name": "x", "account": {"id": self.vendor_acc}}, {}, adm, 403),
            ("create not JSON", "POST", SETTINGS, "name=x", {"Content-Type": "text/plain"},
             adm, 415),
            ("reveal without module", "GET", f"{path}?select=token", None, {},
             self.client_plain, 403),
            ("update by plain token", "PUT", path, {"description": "x"}, {},
             self.client_plain, 403),
            ("update by another account", "PUT", path, {"description": "x"}, {},
             self.vendor_admin, 404),
            ("reveal by another account", "GET", f"{path}?select=token", None, {},
             self.vendor_admin, 404),
            ("no-op PUT", "PUT", path, {"name": c["name"]}, {}, adm, 200),
        )
        for label, method, p, body, headers, token, want in failures:
            with self.subTest(case=label):
                before = self.counts()
                n = len(self.trail(tid)["data"])
                st, _, out = self.req(method, p, body, headers=headers, token=token)
                self.assertEqual(st, want, out)
                self.assertEqual(self.counts(), before)
                self.assertEqual(len(self.trail(tid)["data"]), n)
        self.assertEqual(self.get_ok(SETTINGS, tid)["revision"], 1)
        # a Deleted token: every change is 409 for Operations, and none is recorded
        st, _, b = self.req("DELETE", path, token=self.client_admin)
        self.assertEqual(st, 204, b)
        for label, method, suffix, body in (("enable", "POST", "/enable", None),
                                            ("disable", "POST", "/disable", None),
                                            ("update", "PUT", "", {"name": "revive"}),
                                            ("delete", "DELETE", "", None),
                                            ("reveal", "GET", "?select=token", None)):
            with self.subTest(case=f"Deleted: {label}"):
                before = self.counts()
                st, _, out = self.req(method, path + suffix, body, token=self.ops_admin)
                self.assertEqual(st, 409, out)
                self.assertEqual(self.counts(), before)

    def test_secret_never_in_a_record(self):
        c = self.create(PLATFORM, modules=[{"id": AM}, {"id": BILLING}])
        tid, value, path = c["id"], c["token"], f"{PLATFORM}/{c['id']}"
        for method, suffix, body in (("GET", "?select=token", None),
                                     ("PUT", "", {"description": "d"}),
                                     ("POST", "/disable", None), ("POST", "/enable", None),
                                     ("GET", "?select=%2Btoken", None),
                                     ("DELETE", "", None)):
            st, _, out = self.req(method, path + suffix, body, token=self.client_admin)
            self.assertIn(st, (200, 204), out)
        # and the token itself acting leaves no trace of its value either
        d = self.create(PLATFORM, modules=[{"id": AM}])
        st, _, out = self.req("PUT", f"{PLATFORM}/{d['id']}", {"description": "self"},
                              token=d["token"])
        self.assertEqual(st, 200, out)
        st, _, out = self.req("GET", f"{PLATFORM}/{d['id']}?select=token", token=d["token"])
        self.assertEqual(st, 200, out)
        for tok in (c, d):
            trail = self.trail(tok["id"], query="limit=1000&select=%2Bdocuments&render()")
            self.assertGreaterEqual(len(trail["data"]), 3)
            self.assertNoSecret(json.dumps(trail), tok["token"])
            for rec in trail["data"]:
                st, _, one = self.req("GET", f"{RECORDS}/{rec['id']}?render()",
                                      token=self.ops_admin)
                self.assertEqual(st, 200, one)
                self.assertNoSecret(json.dumps(one), tok["token"])
        st, _, lst = self.req("GET", f"{RECORDS}?limit=1000&select=%2Bdocuments",
                              token=self.client_admin)
        self.assertEqual(st, 200, lst)
        for tok in (c, d):
            self.assertNoSecret(json.dumps(lst), tok["token"])
        # nor in the stored rows, in any column
        out = sql(self.stack, "SELECT id, event, summary, details, object_name, actor_name,"
                  " request_user_agent, request_id, documents FROM audit_records").stdout
        self.assertIn(tid, out)
        for tok in (c, d):
            self.assertNoSecret(out, tok["token"])

    def test_lists_newest_first_and_confined(self):
        mine = self.create(PLATFORM)
        theirs = self.create(PLATFORM, token=self.vendor_admin)
        my_rec = self.trail(mine["id"])["data"][0]["id"]
        their_rec = self.trail(theirs["id"])["data"][0]["id"]
        for token, acc, own, other in ((self.client_admin, self.client_acc, my_rec, their_rec),
                                       (self.vendor_admin, self.vendor_acc, their_rec, my_rec)):
            with self.subTest(account=acc):
                st, h, body = self.req("GET", f"{RECORDS}?limit=1000", token=token)
                self.assertEqual(st, 200, body)
                self.assertEqual(media_type(h), "application/json")
                ids = [r["id"] for r in body["data"]]
                self.assertIn(own, ids)
                self.assertNotIn(other, ids)
                self.assertNewestFirst(body["data"])
                self.assertEqual(body["$meta"]["pagination"]["total"],
                                 chain_seq(self.stack, acc))
                self.assertEqual(len(ids), min(1000, body["$meta"]["pagination"]["total"]))
                st, _, one = self.req("GET", f"{RECORDS}/{own}", token=token)
                self.assertEqual(st, 200, one)
                self.assertEqual(one["id"], own)
                # another account's record is as absent as an unknown one
                self.assertProblem(self.req("GET", f"{RECORDS}/{other}", token=token),
                                   404, "Not Found")
                # and another account's token's trail too
                other_tok = theirs["id"] if token == self.client_admin else mine["id"]
                self.assertProblem(self.req("GET", f"{SETTINGS}/{other_tok}/audit",
                                            token=token), 404, "Not Found")
        # Operations sees every account
        st, _, body = self.req("GET", f"{RECORDS}?limit=1000", token=self.ops_admin)
        self.assertEqual(st, 200, body)
        ids = [r["id"] for r in body["data"]]
        self.assertIn(my_rec, ids)
        self.assertIn(their_rec, ids)
        self.assertNewestFirst(body["data"])
        total = int(sql(self.stack, "SELECT COALESCE(SUM(seq), 0) FROM audit_chain_heads")
                    .stdout.strip())
        self.assertEqual(body["$meta"]["pagination"]["total"], total)
        for rid in (my_rec, their_rec):
            st, _, one = self.req("GET", f"{RECORDS}/{rid}", token=self.ops_admin)
            self.assertEqual(st, 200, one)
        # unknown and malformed ids
        for rid in ("AUD-0000-0000-0000-0000", "AUD-1", "TKN-1234-5678", "nope"):
            with self.subTest(id=rid):
                self.assertProblem(self.req("GET", f"{RECORDS}/{rid}", token=self.ops_admin),
                                   404, "Not Found")
        # reading the trail needs access-management
        self.assertProblem(self.req("GET", RECORDS, token=self.client_plain), 403, "Forbidden")
        self.assertProblem(self.req("GET", f"{RECORDS}/{my_rec}", token=self.client_plain),
                           403, "Forbidden")
        self.assertProblem(self.req("GET", RECORDS), 401, "Authentication Failed")
        # paging
        whole = self.req("GET", f"{RECORDS}?limit=5", token=self.client_admin)[2]
        part = self.req("GET", f"{RECORDS}?limit=2&offset=1", token=self.client_admin)[2]
        self.assertEqual([r["id"] for r in part["data"]], [r["id"] for r in whole["data"][1:3]])
        self.assertEqual(part["$meta"]["pagination"]["offset"], 1)
        self.assertEqual(part["$meta"]["pagination"]["limit"], 2)
        resp = self.req("GET", f"{RECORDS}?colour=red", token=self.client_admin)
        p = self.assertProblem(resp, 400, "Bad Request")
        self.assertIn("colour", json.dumps(p))

    def test_token_trail_newest_first(self):
        c = self.create(SETTINGS)
        path = f"{SETTINGS}/{c['id']}"
        for action in ("disable", "enable", "disable"):
            st, _, b = self.req("POST", f"{path}/{action}", token=self.client_admin)
            self.assertEqual(st, 200, b)
        body = self.trail(c["id"], token=self.client_admin, query="")
        self.assertEqual([r["event"] for r in body["data"]],
                         [EV + e for e in ("disabled", "enabled", "disabled", "created")])
        self.assertEqual([r["object"]["revision"] for r in body["data"]], [4, 3, 2, 1])
        self.assertNewestFirst(body["data"])
        self.assertEqual(body["$meta"]["pagination"]["total"], 4)
        # the same records as the account list shows
        for rec in body["data"]:
            st, _, one = self.req("GET", f"{RECORDS}/{rec['id']}?select=-documents",
                                  token=self.client_admin)
            self.assertEqual(st, 200, one)
            self.assertEqual(one, rec)

    def test_documents_only_on_request(self):
        c = self.create(SETTINGS, description="docs")
        tid = c["id"]
        for path in (f"{RECORDS}?limit=5", f"{SETTINGS}/{tid}/audit"):
            with self.subTest(path=path):
                st, _, body = self.req("GET", path, token=self.client_admin)
                self.assertEqual(st, 200, body)
                self.assertEqual(body["$meta"].get("omitted"), ["documents"])
                self.assertTrue(body["data"])
                for rec in body["data"]:
                    self.assertNotIn("documents", rec)
                sep = "&" if "?" in path else "?"
                for sel in ("select=%2Bdocuments", "select=+documents", "select=documents"):
                    st, _, body = self.req("GET", f"{path}{sep}{sel}", token=self.client_admin)
                    self.assertEqual(st, 200, body)
                    self.assertNotIn("documents", body["$meta"].get("omitted", []))
                    self.assertTrue(all("documents" in r for r in body["data"]), sel)
                resp = self.req("GET", f"{path}{sep}select=secrets", token=self.client_admin)
                self.assertProblem(resp, 400, "Bad Request", ["select"])
        rid = self.trail(tid)["data"][0]["id"]
        st, _, one = self.req("GET", f"{RECORDS}/{rid}", token=self.client_admin)
        self.assertEqual(st, 200, one)
        self.assertEqual(one["documents"]["after"]["description"], "docs")
        st, _, one = self.req("GET", f"{RECORDS}/{rid}?select=-documents", token=self.client_admin)
        self.assertEqual(st, 200, one)
        self.assertNotIn("documents", one)

    def test_one_record_takes_the_list_select(self):
        tid = self.create(SETTINGS)["id"]
        rid = self.trail(tid)["data"][0]["id"]
        path = f"{RECORDS}/{rid}"
        st, _, full = self.req("GET", path, token=self.client_admin)
        self.assertEqual(st, 200, full)
        every = {"id", "event", "timestamp", "summary", "object", "actor", "request",
                 "documents"}
        self.assertEqual(set(full) - {"details"}, every)
        for q, keys in (
                # plain names and +names add to what one record shows: all of it
                ("select=object,actor", set(full)),
                ("select=object%2Cactor", set(full)),
                ("select=%2Bobject,%2Bactor.name", set(full)),
                ("select=object%2Cactor%2Cdetails&render%28%29=", set(full)),
                ("select=-object,-actor", set(full) - {"object", "actor"}),
                ("select=-object%2C-actor", set(full) - {"object", "actor"}),
                ("select=-documents&select=-request", set(full) - {"documents", "request"}),
                ("select=-documents,documents", set(full)),
                # id stays whatever select says
                ("select=-id", set(full)),
                ("select=-id,-event,-timestamp,-summary,-details,-object,-actor,-request,"
                 "-documents", {"id"})):
            with self.subTest(query=q):
                st, _, one = self.req("GET", f"{path}?{q}", token=self.client_admin)
                self.assertEqual(st, 200, one)
                self.assertEqual(set(one), keys)
                rendered = "render" in q
                for k in keys - ({"details"} if rendered else set()):
                    self.assertEqual(one[k], full[k], k)
                if rendered:
                    self.assertIn("{{actor.name}}", full["details"])
                    self.assertNotIn("{{", one["details"])
        for q in ("select=secrets", "select=-object.id", "select=object,,actor",
                  "select=%FF"):
            with self.subTest(query=q):
                self.assertProblem(self.req("GET", f"{path}?{q}", token=self.client_admin),
                                   400, "Bad Request", ["select"])

    def test_render(self):
        name = self.name("Rendered")
        st, _, c = self.req("POST", SETTINGS, {"name": name},
                            headers=basic(self.client_user, self.password))
        self.assertEqual(st, 201, c)
        tid = c["id"]
        want = f"Ada Admin ({self.client_user}) created API token {name} ({tid})."
        rid = self.trail(tid)["data"][0]["id"]
        st, _, raw = self.req("GET", f"{RECORDS}/{rid}", token=self.client_admin)
        self.assertEqual(st, 200, raw)
        self.assertIn("{{actor.name}}", raw["details"])
        for q in ("render()", "render%28%29=", "render%28%29", "select=%2Bdocuments&render()",
                  "render()&select=-documents"):
            with self.subTest(query=q):
                st, _, one = self.req("GET", f"{RECORDS}/{rid}?{q}", token=self.client_admin)
                self.assertEqual(st, 200, one)
                self.assertEqual(one["details"], want)
                self.assertNotIn("{{", one["summary"])
                st, _, body = self.req("GET", f"{SETTINGS}/{tid}/audit?{q}",
                                       token=self.client_admin)
                self.assertEqual(st, 200, body)
                self.assertEqual(body["data"][0]["details"], want)
                st, _, body = self.req("GET", f"{RECORDS}?limit=20&{q}", token=self.client_admin)
                self.assertEqual(st, 200, body)
                rec = next(r for r in body["data"] if r["id"] == rid)
                self.assertEqual(rec["details"], want)


class UserAgents(AuditBase):
    def test_long_user_agent_is_cut(self):
        ua = "agent/" + "x" * 3000
        st, _, c = self.req("POST", PLATFORM, {"name": self.name("UA")}, token=self.client_admin,
                            headers={"User-Agent": ua})
        self.assertEqual(st, 201, c)
        rec = self.trail(c["id"])["data"][0]
        self.assertEqual(rec["request"]["api"]["userAgent"], ua[:1024])
        ua = "é" * 1500
        st, _, c = self.req("POST", PLATFORM, {"name": self.name("UA")}, token=self.client_admin,
                            headers={"User-Agent": ua.encode().decode("latin-1")})
        self.assertEqual(st, 201, c)
        rec = self.trail(c["id"])["data"][0]
        self.assertEqual(rec["request"]["api"]["userAgent"], ua[:1024])
        proc = ctl(self.stack, "audit", "verify")
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)

    # A User-Agent that is not UTF-8 must not break audited changes: the
    # record keeps it with U+FFFD in place of the broken bytes.
    def test_user_agent_that_is_not_utf8(self):
        ua = "caf\xe9 bot/1.0"  # http.client sends it as Latin-1: one 0xE9 byte
        c = self.create(PLATFORM, modules=[{"id": AM}])
        path = f"{PLATFORM}/{c['id']}"
        calls = (("create", "POST", PLATFORM, {"name": "ua"}, self.client_admin),
                 ("update", "PUT", path, {"description": "ua"}, self.client_admin),
                 ("disable", "POST", f"{path}/disable", None, self.client_admin),
                 ("reveal", "GET", f"{path}?select=token", None, self.client_admin),
                 ("extension", "POST", RECORDS, record_body({}), self.vendor_admin))
        for label, method, p, body, token in calls:
            with self.subTest(action=label):
                # Operations sees every account's records: one place to count
                before = self.total(self.ops_admin)
                st, _, out = self.req(method, p, body, token=token, headers={"User-Agent": ua})
                self.assertIn(st, (200, 201), out)
                self.assertEqual(self.total(self.ops_admin) - before, 1)


class Extensions(AuditBase):
    def record(self, **over):
        body = {"event": "extensions.billing-sync.invoice-sent",
                "summary": "Invoice sent to the buyer",
                "details": "{{actor.name}} sent {{object.name}} ({{object.id}}) {{nope.x}}",
                "object": {"id": "INV-1234-5678", "objectType": "Invoice", "name": "May"},
                "documents": {"amount": 10, "currency": "EUR"}}
        body.update(over)
        return body

    def test_vendor_and_operations_append(self):
        for token, tid, acc, acc_name, who in (
                (self.vendor_admin, self.vendor_admin_id, self.vendor_acc,
                 "Fabrikam Software", "Vendor admin (demo)"),
                (self.ops_admin, self.ops_admin_id, self.ops_acc, "SoftwareOne Operations",
                 "Operations admin (demo)")):
            with self.subTest(account=acc):
                before = chain_seq(self.stack, acc)
                others = {a: chain_seq(self.stack, a)
                          for a in (self.client_acc, self.vendor_acc, self.ops_acc) if a != acc}
                trace = new_trace()
                st, h, rec = self.req("POST", RECORDS, self.record(), token=token,
                                      headers={"traceparent": f"00-{trace}-00f067aa0ba902b7-01",
                                               "User-Agent": "billing-sync/2"})
                self.assertEqual(st, 201, rec)
                self.assertEqual(media_type(h), "application/json")
                self.assertRegex(rec["id"], AUDIT_ID_RE)
                self.assertEqual(h.get("Location"), f"{RECORDS}/{rec['id']}")
                self.assertEqual(rec["event"], "extensions.billing-sync.invoice-sent")
                self.assertEqual(rec["summary"], "Invoice sent to the buyer")
                self.assertEqual(rec["object"], {"id": "INV-1234-5678", "objectType": "Invoice",
                                                 "name": "May"})
                self.assertEqual(rec["actor"], {"id": tid, "name": who,
                                                "account": {"id": acc, "name": acc_name}})
                self.assertEqual(rec["documents"], {"amount": 10, "currency": "EUR"})
                self.assertRegex(rec["timestamp"], TIME_RE)
                self.assertEqual(rec["request"]["api"].get("userAgent"), "billing-sync/2")
                self.assertTrue(rec["request"]["log"]["requestId"].startswith(f"00-{trace}-"))
                # chained in the caller's own account, nowhere else
                self.assertEqual(chain_seq(self.stack, acc), before + 1)
                for a, seq in others.items():
                    self.assertEqual(chain_seq(self.stack, a), seq)
                st, _, got = self.req("GET", h["Location"], token=token)
                self.assertEqual(st, 200, got)
                self.assertEqual(got, rec)
                st, _, lst = self.req("GET", f"{RECORDS}?limit=1", token=token)
                self.assertEqual(lst["data"][0]["id"], rec["id"])
                st, _, got = self.req("GET", f"{h['Location']}?render()", token=token)
                self.assertEqual(got["details"],
                                 f"{who} sent May (INV-1234-5678) {{{{nope.x}}}}")
                self.assertProblem(self.req("GET", h["Location"], token=self.client_admin),
                                   404, "Not Found")
                st, _, got = self.req("GET", h["Location"], token=self.ops_admin)
                self.assertEqual(st, 200, got)
        # a minimal record: no details, no name, no documents
        st, _, rec = self.req("POST", RECORDS, {"event": "extensions.a.b", "summary": "s",
                                                "object": {"id": "X", "objectType": "T"}},
                              token=self.vendor_admin)
        self.assertEqual(st, 201, rec)
        self.assertNotIn("details", rec)
        self.assertNotIn("documents", rec)
        proc = ctl(self.stack, "audit", "verify")
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
        self.assertNotIn("BROKEN", proc.stdout)

    def test_render_fills_what_a_path_names(self):
        docs = {"s": "a/b", "n": None, "t": True, "i": 7, "arr": [1, "x"], "o": {"k": "v/w"}}
        details = ("{{documents.s}}|{{documents.n}}|{{documents.t}}|{{documents.i}}|"
                   "{{documents.arr}}|{{documents.o}}|{{documents.o.k}}|{{object.name}}|"
                   "{{documents.}}|{{documents..s}}|{{.documents}}|{{documents.s.x}}|"
                   "{{documents.nope}}|{{ documents.s }}|{{documents.s")
        st, h, rec = self.req("POST", RECORDS, self.record(details=details, documents=docs),
                              token=self.vendor_admin)
        self.assertEqual(st, 201, rec)
        st, _, got = self.req("GET", f"{h['Location']}?render()&select=-documents",
                              token=self.vendor_admin)
        self.assertEqual(st, 200, got)
        self.assertNotIn("documents", got)
        parts = got["details"].split("|")
        self.assertEqual(parts[:5] + parts[6:8], ["a/b", "null", "true", "7", '[1,"x"]', "v/w",
                                                  "May"])
        # an object as its JSON text
        self.assertEqual(json.loads(parts[5]), {"k": "v/w"})
        self.assertEqual(json.loads(parts[8]), docs)
        # malformed or unknown paths stay as they are
        self.assertEqual(parts[9:], ["{{documents..s}}", "{{.documents}}", "{{documents.s.x}}",
                                     "{{documents.nope}}", "{{ documents.s }}", "{{documents.s"])

    def test_object_type_is_optional(self):
        # what platform clients send: no objectType, and members we do not keep
        body = {"event": "extensions.e2e.test",
                "object": {"id": self.vendor_acc, "name": "Fabrikam Software"},
                "details": "{{object.name}} tested", "summary": "e2e",
                "actor": {"type": "system", "id": "system"}, "payload": {"key": "value"}}
        for label, obj in (("absent", body["object"]),
                           ("null", dict(body["object"], objectType=None)),
                           ("empty", dict(body["object"], objectType=""))):
            with self.subTest(objectType=label):
                before = chain_seq(self.stack, self.vendor_acc)
                st, h, rec = self.req("POST", RECORDS, dict(body, object=obj),
                                      token=self.vendor_admin)
                self.assertEqual(st, 201, rec)
                self.assertEqual(rec["object"], {"id": self.vendor_acc,
                                                 "name": "Fabrikam Software"})
                self.assertEqual(chain_seq(self.stack, self.vendor_acc), before + 1)
                stored = sql(self.stack, "SELECT object_type IS NULL FROM audit_records "
                             f"WHERE id = '{rec['id']}'")
                self.assertEqual(stored.stdout.strip(), "1")
                st, _, got = self.req("GET", h["Location"], token=self.vendor_admin)
                self.assertEqual(got, rec)
                st, _, got = self.req("GET", f"{h['Location']}?render()",
                                      token=self.vendor_admin)
                self.assertEqual(got["details"], "Fabrikam Software tested")
                st, _, lst = self.req("GET", f"{RECORDS}?eq(id,{rec['id']})",
                                      token=self.vendor_admin)
                self.assertEqual(lst["data"], [rec])
        # a record without a type still chains and verifies
        proc = ctl(self.stack, "audit", "verify")
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
        self.assertNotIn("BROKEN", proc.stdout)

    def test_extension_record_about_a_token_stays_out_of_its_trail(self):
        tok = self.create(SETTINGS)
        st, _, rec = self.req("POST", RECORDS,
                              self.record(object={"id": tok["id"], "objectType": "ApiToken"}),
                              token=self.vendor_admin)
        self.assertEqual(st, 201, rec)
        trail = self.trail(tok["id"], token=self.client_admin)
        self.assertEqual([r["event"] for r in trail["data"]], [EV + "created"])
        self.assertProblem(self.req("GET", f"{RECORDS}/{rec['id']}", token=self.client_admin),
                           404, "Not Found")

    def test_client_may_not_append(self):
        before = self.counts()
        for token in (self.client_admin, self.client_plain):
            with self.subTest(token=token_id(token)):
                resp = self.req("POST", RECORDS, self.record(), token=token)
                self.assertProblem(resp, 403, "Forbidden")
        self.assertProblem(self.req("POST", RECORDS, self.record()), 401,
                           "Authentication Failed")
        self.assertEqual(self.counts(), before)

    def test_invalid_records_are_400(self):
        bad = (
            ("no event", {"event": None}, ["event"]),
            ("empty event", {"event": ""}, ["event"]),
            ("event not a string", {"event": 5}, ["event"]),
            ("platform event", {"event": "platform.accounts.api-token.created"}, ["event"]),
            ("no event part", {"event": "extensions.billing"}, ["event"]),
            ("empty name", {"event": "extensions..sent"}, ["event"]),
            ("trailing dot", {"event": "extensions.billing.sent."}, ["event"]),
            ("upper case", {"event": "extensions.Billing.Sent"}, ["event"]),
            ("blank", {"event": "extensions.billing sync.sent"}, ["event"]),
            ("other prefix", {"event": "extension.billing.sent"}, ["event"]),
            ("too long", {"event": "extensions.a." + "b" * 300}, ["event"]),
            ("no summary", {"summary": None}, ["summary"]),
            ("empty summary", {"summary": ""}, ["summary"]),
            ("summary not a string", {"summary": ["x"]}, ["summary"]),
            ("details not a string", {"details": 7}, ["details"]),
            ("no object", {"object": None}, ["object"]),
            ("object not an object", {"object": "INV-1"}, ["object"]),
            # objectType is optional (platform clients send none): only the id
            ("object without id and type", {"object": {"name": "x"}}, ["object.id"]),
            ("object type not a string", {"object": {"id": "X", "objectType": 5}},
             ["object.objectType"]),
            ("object type too long", {"object": {"id": "X", "objectType": "T" * 65}},
             ["object.objectType"]),
            ("object id not a string", {"object": {"id": 5, "objectType": "T"}}, ["object.id"]),
            ("documents not an object", {"documents": [1, 2]}, ["documents"]),
            ("two bad fields", {"event": "nope", "summary": ""}, ["event", "summary"]),
        )
        before = self.counts()
        for label, over, fields in bad:
            with self.subTest(case=label):
                body = record_body(over)
                resp = self.req("POST", RECORDS, body, token=self.vendor_admin)
                self.assertProblem(resp, 400, "Bad Request", fields)
        for label, raw in (("array", b"[]"), ("truncated", b'{"event":'), ("empty", b"")):
            with self.subTest(case=label):
                resp = self.req("POST", RECORDS, raw, token=self.vendor_admin,
                                headers={"Content-Type": "application/json"})
                self.assertProblem(resp, 400, "Bad Request")
        resp = self.req("POST", RECORDS, json.dumps(self.record()), token=self.vendor_admin,
                        headers={"Content-Type": "text/plain"})
        self.assertProblem(resp, 415, "Unsupported Media Type")
        self.assertEqual(self.counts(), before)

    def test_records_cannot_be_changed_through_the_api(self):
        c = self.create(SETTINGS)
        rid = self.trail(c["id"])["data"][0]["id"]
        st, _, original = self.req("GET", f"{RECORDS}/{rid}", token=self.ops_admin)
        self.assertEqual(st, 200, original)
        for token in (self.client_admin, self.ops_admin):
            for method, path in (("PUT", f"{RECORDS}/{rid}"), ("DELETE", f"{RECORDS}/{rid}"),
                                 ("PATCH", f"{RECORDS}/{rid}"), ("POST", f"{RECORDS}/{rid}"),
                                 ("PUT", RECORDS), ("DELETE", RECORDS),
                                 ("PUT", f"{SETTINGS}/{c['id']}/audit"),
                                 ("DELETE", f"{SETTINGS}/{c['id']}/audit")):
                with self.subTest(token=token_id(token), method=method, path=path):
                    resp = self.req(method, path, {"summary": "rewritten"}, token=token)
                    self.assertProblem(resp, 405, "Method Not Allowed")
                    allow = {m.strip() for m in (resp[1].get("Allow") or "").split(",")}
                    self.assertIn("GET", allow)
                    self.assertNotIn(method, allow)
        st, _, now = self.req("GET", f"{RECORDS}/{rid}", token=self.ops_admin)
        self.assertEqual(now, original)

    def test_application_user_cannot_change_records(self):
        c = self.create(SETTINGS)
        rid = self.trail(c["id"])["data"][0]["id"]
        with open(os.path.join(self.stack.state_dir, "db.password"), encoding="ascii") as f:
            pw = f.read().strip()
        # the application's user reads (and appends) ...
        proc = sql(self.stack, f"SELECT summary FROM audit_records WHERE id = '{rid}'",
                   user="apitokend", password=pw, check=False)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        summary = proc.stdout.strip()
        self.assertIn(c["id"], summary)
        # ... but can neither rewrite nor remove
        for stmt in (f"UPDATE audit_records SET summary = 'rewritten' WHERE id = '{rid}'",
                     f"DELETE FROM audit_records WHERE id = '{rid}'",
                     "DELETE FROM audit_records",
                     "TRUNCATE TABLE audit_records"):
            with self.subTest(sql=stmt):
                proc = sql(self.stack, stmt, user="apitokend", password=pw, check=False)
                self.assertNotEqual(proc.returncode, 0, proc.stdout)
                self.assertRegex(proc.stderr, r"(?i)denied")
        proc = sql(self.stack, f"SELECT summary FROM audit_records WHERE id = '{rid}'")
        self.assertEqual(proc.stdout.strip(), summary)


def record_body(over):
    """An extension record body with some members replaced (None removes
    a member)."""
    body = {"event": "extensions.billing-sync.invoice-sent", "summary": "Sent",
            "object": {"id": "INV-1", "objectType": "Invoice"}}
    for k, v in over.items():
        if v is None:
            body.pop(k, None)
        else:
            body[k] = v
    return body


class OwnStackAudit(OwnStack, AuditBase):
    """A stack of its own, so that tampering and load leave the shared
    stack's chains alone."""

    def verify(self):
        proc = ctl(self.stack, "audit", "verify")
        return proc.returncode, proc.stdout + proc.stderr


class StoredDocuments(OwnStackAudit):
    """Its own stack: the edit breaks a chain, which Tamper counts."""

    def test_edited_documents_still_read(self):
        # documents the database takes but the API's reader refuses (a
        # duplicate key), written around the API: reading still answers
        st, h, rec = self.req("POST", RECORDS, record_body({
            "details": "{{object.id}} {{documents.a}}", "documents": {"a": 1}}),
            token=self.vendor_admin)
        self.assertEqual(st, 201, rec)
        sql(self.stack, "UPDATE audit_records SET documents = '{\"a\":1,\"a\":2}' "
            f"WHERE id = '{rec['id']}'")
        st, _, got = self.req("GET", h["Location"], token=self.vendor_admin)
        self.assertEqual(st, 200, got)
        self.assertIn("documents", got)
        st, _, got = self.req("GET", f"{h['Location']}?render()", token=self.vendor_admin)
        self.assertEqual(st, 200, got)
        # what the documents held is not filled in; the rest is
        self.assertEqual(got["details"], "INV-1 {{documents.a}}")
        rc, report = self.verify()
        self.assertNotEqual(rc, 0, report)


class Tamper(OwnStackAudit):
    def make_history(self):
        """A few records in the Client chain; returns the chain's records
        (id, seq), oldest first."""
        c = self.create(PLATFORM, modules=[{"id": AM}])
        path = f"{PLATFORM}/{c['id']}"
        for method, suffix, body in (("PUT", "", {"description": "one"}),
                                     ("POST", "/disable", None), ("POST", "/enable", None),
                                     ("GET", "?select=token", None)):
            st, _, out = self.req(method, path + suffix, body, token=self.client_admin)
            self.assertEqual(st, 200, out)
        self.create(PLATFORM, token=self.vendor_admin)
        out = sql(self.stack, "SELECT id, seq FROM audit_records WHERE account_id = "
                  f"'{self.client_acc}' ORDER BY seq").stdout
        rows = [line.split("\t") for line in out.splitlines()]
        self.assertGreaterEqual(len(rows), 6)
        return [(rid, int(seq)) for rid, seq in rows]

    def broken_lines(self, report):
        return [line for line in report.splitlines() if "BROKEN" in line]

    def test_untouched_database_verifies_clean(self):
        self.make_history()
        rc, report = self.verify()
        self.assertEqual(rc, 0, report)
        self.assertEqual(self.broken_lines(report), [])
        self.assertIn("every chain is intact", report)
        for acc in (self.client_acc, self.vendor_acc):
            self.assertRegex(report, rf"account {acc}: \d+ records?, chain intact")

    def test_edited_record_is_named(self):
        rows = self.make_history()
        rid, seq = rows[len(rows) // 2]
        edits = (
            ("summary", "summary", "CONCAT(summary, ' (edited)')"),
            ("event", "event", "'extensions.tamper.edited'"),
            ("documents", "documents",
             "JSON_SET(documents, '$.after.name', 'Someone else')"),
            ("timestamp", "timestamp", "timestamp + INTERVAL 1 SECOND"),
            ("actor", "actor_id", "'USR-9999-9999'"),
            ("object revision", "object_revision", "object_revision + 1"),
            ("request ip", "request_ip", "'10.0.0.1'"),
            ("hash", "hash", "UNHEX(SHA2('forged', 256))"),
        )
        for label, column, expr in edits:
            with self.subTest(edit=label):
                saved = sql(self.stack, f"SELECT HEX(CAST({column} AS BINARY)), {column} IS NULL FROM "
                            f"audit_records WHERE id = '{rid}'").stdout.split("\t")
                sql(self.stack, f"UPDATE audit_records SET {column} = {expr} WHERE id = '{rid}'")
                try:
                    rc, report = self.verify()
                    self.assertEqual(rc, 1, report)
                    broken = self.broken_lines(report)
                    self.assertEqual(len(broken), 1, report)
                    self.assertIn(self.client_acc, broken[0])
                    self.assertEqual(re.findall(r"AUD-\d{4}-\d{4}-\d{4}-\d{4}", broken[0]),
                                     [rid], report)
                    self.assertIn("1 chain broken", report)
                    self.assertRegex(report, rf"account {self.vendor_acc}: \d+ records?, "
                                             "chain intact")
                finally:
                    restore = ("NULL" if saved[1].strip() == "1"
                               else f"UNHEX('{saved[0]}')")
                    sql(self.stack, f"UPDATE audit_records SET {column} = {restore} "
                        f"WHERE id = '{rid}'")
                rc, report = self.verify()
                self.assertEqual(rc, 0, report)

    def test_removed_record_is_noticed(self):
        rows = self.make_history()
        (gone, _), (next_id, _) = rows[2], rows[3]
        sql(self.stack, "CREATE TABLE tamper_backup AS SELECT * FROM audit_records "
            f"WHERE id = '{gone}'")
        try:
            sql(self.stack, f"DELETE FROM audit_records WHERE id = '{gone}'")
            rc, report = self.verify()
            self.assertEqual(rc, 1, report)
            broken = self.broken_lines(report)
            self.assertEqual(len(broken), 1, report)
            # the first broken link: the record after the gap
            self.assertEqual(re.findall(r"AUD-\d{4}-\d{4}-\d{4}-\d{4}", broken[0]),
                             [next_id], report)
        finally:
            sql(self.stack, "INSERT INTO audit_records SELECT * FROM tamper_backup")
            sql(self.stack, "DROP TABLE tamper_backup")
        rc, report = self.verify()
        self.assertEqual(rc, 0, report)


class ParallelWriters(OwnStackAudit):
    THREADS = 12
    SECONDS = 4.0

    def test_one_unbroken_chain(self):
        acc = self.client_acc
        start_seq = chain_seq(self.stack, acc)
        tokens = [self.create(PLATFORM, modules=[{"id": BILLING}]) for _ in range(6)]
        creates = len(tokens)
        self.assertEqual(chain_seq(self.stack, acc), start_seq + creates)
        callers = (
            {"Authorization": f"Bearer {self.client_admin}"},
            {"Authorization": f"Bearer {self.ops_admin}"},
            basic(self.client_user, self.password),
        )
        lock = threading.Lock()
        stats = {}
        per_token = {t["id"]: 0 for t in tokens}
        errors = []
        deadline = time.monotonic() + self.SECONDS
        counter = iter(range(10 ** 9))

        def worker(seed):
            rnd = random.Random(seed)
            while time.monotonic() < deadline:
                tid = rnd.choice(tokens)["id"]
                headers = dict(rnd.choice(callers))
                kind = rnd.choice(("enable", "disable", "put", "put", "stale"))
                with lock:
                    n = next(counter)
                try:
                    if kind in ("enable", "disable"):
                        resp = self.stack.request("POST", f"{SETTINGS}/{tid}/{kind}",
                                                  headers=headers)
                    else:
                        if kind == "stale":
                            headers["If-Match"] = f'"{rnd.randint(1, 3)}"'
                        resp = self.stack.request("PUT", f"{SETTINGS}/{tid}",
                                                  {"description": f"writer {seed} #{n}"},
                                                  headers=headers)
                except Exception as exc:  # report, do not hang the test
                    with lock:
                        errors.append(repr(exc))
                    continue
                status = resp[0]
                with lock:
                    stats[status] = stats.get(status, 0) + 1
                    if 200 <= status < 300:
                        per_token[tid] += 1

        threads = [threading.Thread(target=worker, args=(i,)) for i in range(self.THREADS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        self.assertEqual(errors, [])
        changes = sum(v for k, v in stats.items() if 200 <= k < 300)
        self.assertEqual(set(stats) - {200, 409, 412}, set(), stats)
        self.assertGreater(changes, 20, stats)
        self.assertGreater(stats.get(409, 0) + stats.get(412, 0), 0, stats)

        # one chain, exactly one link per successful change
        head = chain_seq(self.stack, acc)
        self.assertEqual(head, start_seq + creates + changes, stats)
        out = sql(self.stack, "SELECT COUNT(*), COALESCE(MIN(seq), 0), COALESCE(MAX(seq), 0),"
                  " COUNT(DISTINCT prev_hash), COUNT(DISTINCT hash) FROM audit_records"
                  f" WHERE account_id = '{acc}'").stdout.split()
        self.assertEqual([int(x) for x in out], [head, 1, head, head, head])
        self.assertEqual(self.total(self.client_admin), head)
        # every change counted once on its token too
        for t in tokens:
            got = self.get_ok(PLATFORM, t["id"])
            self.assertEqual(got["revision"], 1 + per_token[t["id"]], t["id"])
            trail = self.trail(t["id"], query="limit=1000")
            self.assertEqual(trail["$meta"]["pagination"]["total"], 1 + per_token[t["id"]])
            revs = [r["object"]["revision"] for r in trail["data"]]
            self.assertEqual(sorted(revs), list(range(1, got["revision"] + 1)))
        rc, report = self.verify()
        self.assertEqual(rc, 0, report)
        self.assertNotIn("BROKEN", report)

    # Within one account, timestamps grow with the chain (a writer holding
    # the head never goes back in time), so newest first is chain order.
    def test_newest_first_follows_the_chain(self):
        # many records land in the same millisecond under load: "newest
        # first" must still be the chain's order, not an accident of ids
        acc = self.client_acc
        tokens = [self.create(PLATFORM) for _ in range(4)]
        deadline = time.monotonic() + 2.0

        def worker(tid):
            while time.monotonic() < deadline:
                for action in ("disable", "enable"):
                    self.stack.request("POST", f"{SETTINGS}/{tid}/{action}",
                                       token=self.client_admin)

        threads = [threading.Thread(target=worker, args=(t["id"],)) for t in tokens]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        for t in tokens:
            with self.subTest(trail=t["id"]):
                trail = self.trail(t["id"], query="limit=1000")
                revs = [r["object"]["revision"] for r in trail["data"]]
                wrong = sum(1 for a, b in zip(revs, revs[1:]) if a < b)
                self.assertEqual(wrong, 0, f"{wrong} of {len(revs)} records out of order")
        with self.subTest(list="account"):
            st, _, body = self.req("GET", f"{RECORDS}?limit=1000", token=self.client_admin)
            self.assertEqual(st, 200, body)
            api = [r["id"] for r in body["data"]]
            out = sql(self.stack, "SELECT id FROM audit_records WHERE account_id = "
                      f"'{acc}' ORDER BY seq DESC LIMIT 1000").stdout.split()
            self.assertEqual(len(api), len(out))
            wrong = sum(1 for a, b in zip(api, out) if a != b)
            self.assertEqual(wrong, 0, f"{wrong} of {len(api)} records out of chain order")


if __name__ == "__main__":
    unittest.main()
