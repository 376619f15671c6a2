"""API tokens (SPEC §1-5): create, read, delta update, enable, disable,
delete, reveal, icons and modules, through nginx, on both mounts.

Every case makes its own tokens with the Client admin token, so the cases
stay independent of each other and of the order they run in."""

import copy
import json
import os
import pwd
import re
import subprocess
import unittest
import zlib

from stack import shared_stack, stack_of

PLATFORM = "/public/v1/accounts/api-tokens"
SETTINGS = "/settings/api-tokens"
MOUNTS = (PLATFORM, SETTINGS)

TRACE_ID_RE = re.compile(r"^00-[0-9a-f]{32}-[0-9a-f]{16}-00$")
TOKEN_RE = re.compile(r"^idt:(TKN-[0-9]{4}-[0-9]{4}):([A-Za-z0-9]{58})([A-Za-z0-9]{6})$")
TOKEN_ID_RE = re.compile(r"^TKN-[0-9]{4}-[0-9]{4}$")
TIME_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

# Modules of the demo data (scripts/demo/demo.sql).
AM = "MOD-1756"          # Access Management
ACCOUNT_MGMT = "MOD-9042"
MARKETPLACE = "MOD-0478"
BILLING = "MOD-1239"
COLLAB = "MOD-4525"
HELPDESK = "MOD-3380"    # a Client-type module Contoso has not enabled
PLATFORM_ACC = "MOD-6601"  # Operations only
MODULE_NAMES = {
    AM: "Access Management", ACCOUNT_MGMT: "Account Management",
    MARKETPLACE: "Marketplace", BILLING: "Billing", COLLAB: "Collaboration site",
}
CLIENT_MODULES = {AM, ACCOUNT_MGMT, MARKETPLACE, BILLING, COLLAB}
VENDOR_MODULES = {AM, ACCOUNT_MGMT, BILLING, "MOD-8352", "MOD-8743", "MOD-5216"}

# A 1x1 PNG and a minimal JPEG (magic bytes are what counts).
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082")
JPEG = bytes.fromhex(
    "ffd8ffe000104a46494600010100000100010000ffdb004300080606070605080707"
    "07090908") + b"\x00" * 64 + b"\xff\xd9"
GIF = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04" \
      b"\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"

MASK = "<masked>"


def media_type(headers):
    return (headers.get("Content-Type") or "").split(";")[0].strip().lower()


def token_id(value):
    return value.split(":")[1]


def checksum(prefix):
    crc = zlib.crc32(prefix.encode("ascii")) & 0xFFFFFFFF
    out = ""
    for _ in range(6):
        out = B62[crc % 62] + out
        crc //= 62
    return out


def masked(obj):
    """The token object with its volatile fields (id, value, times, the
    ids inside icon paths) replaced by MASK, for a golden comparison."""
    obj = copy.deepcopy(obj)
    tid = obj.get("id")
    for key in ("id", "token", "lastAccessAt"):
        if key in obj:
            obj[key] = MASK
    if "icon" in obj and tid:
        obj["icon"] = obj["icon"].replace(tid, MASK)
    for ev in (obj.get("audit") or {}).values():
        if isinstance(ev, dict) and "at" in ev:
            ev["at"] = MASK
    if isinstance(obj.get("modules"), list):
        obj["modules"] = sorted(obj["modules"], key=lambda m: m.get("id", ""))
    return obj


class TokensBase(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.stack = stack_of(cls)
        env = cls.stack.env
        cls.client_admin = env["APITOKEND_CLIENT_ADMIN_TOKEN"]
        cls.client_admin_id = token_id(cls.client_admin)
        cls.vendor_admin = env["APITOKEND_VENDOR_ADMIN_TOKEN"]
        cls.ops_admin = env["APITOKEND_OPERATIONS_ADMIN_TOKEN"]
        cls.ops_admin_id = token_id(cls.ops_admin)
        cls.client_plain = env["APITOKEND_CLIENT_TOKEN"]
        cls.client_acc = env["APITOKEND_CLIENT_ACCOUNT_ID"]
        cls.vendor_acc = env["APITOKEND_VENDOR_ACCOUNT_ID"]
        cls.ops_acc = env["APITOKEND_OPERATIONS_ACCOUNT_ID"]
        cls.seq = 0

    # -- helpers -----------------------------------------------------------

    def req(self, method, path, body=None, headers=None, token=None):
        return self.stack.request(method, path, body=body, headers=headers, token=token)

    def name(self, prefix="it"):
        type(self).seq += 1
        return f"{prefix} {self._testMethodName.replace('_', '-')} {type(self).seq}"

    def create(self, base=PLATFORM, token=None, **fields):
        """A fresh token; returns the 201 body (with the value)."""
        body = {"name": self.name()}
        body.update(fields)
        status, headers, out = self.req("POST", base, body, token=token or self.client_admin)
        self.assertEqual(status, 201, out)
        self.assertIsInstance(out, dict, out)
        self.assertRegex(out.get("token", ""), TOKEN_RE)
        return out

    def get(self, base, tid, token=None, query=""):
        return self.req("GET", f"{base}/{tid}{query}", token=token or self.client_admin)

    def get_ok(self, base, tid, token=None):
        status, headers, body = self.get(base, tid, token)
        self.assertEqual(status, 200, body)
        return body

    def list_all(self, base, token=None, query="limit=1000"):
        status, _, body = self.req("GET", f"{base}?{query}", token=token or self.client_admin)
        self.assertEqual(status, 200, body)
        return body

    def assertProblem(self, resp, code, title, fields=()):
        status, headers, body = resp
        self.assertEqual(status, code, body)
        self.assertEqual(media_type(headers), "application/problem+json", body)
        self.assertIsInstance(body, dict, body)
        self.assertIsInstance(body.get("type"), str, body)
        self.assertEqual(body.get("title"), title, body)
        self.assertEqual(body.get("status"), code, body)
        self.assertRegex(body.get("traceId", ""), TRACE_ID_RE)
        for f in fields:
            self.assertIn(f, body.get("errors") or {}, body)
            msgs = body["errors"][f]
            self.assertIsInstance(msgs, list, body)
            self.assertTrue(msgs and all(isinstance(m, str) and m for m in msgs), body)
        return body

    def assertTime(self, value):
        self.assertIsInstance(value, str)
        self.assertRegex(value, TIME_RE)

    def assertEtag(self, headers, revision):
        self.assertEqual(headers.get("ETag"), f'"{revision}"')

    def assertBy(self, event, by_id):
        self.assertIsInstance(event, dict)
        self.assertTime(event.get("at"))
        self.assertEqual(event.get("by", {}).get("id"), by_id, event)
        self.assertIsInstance(event["by"].get("name"), str)
        self.assertTrue(event["by"]["name"])

    def module_ids(self, obj):
        return sorted(m["id"] for m in obj.get("modules", []))


class Create(TokensBase):
    def test_create_shape_golden(self):
        for base in MOUNTS:
            with self.subTest(base=base):
                name = self.name("Golden")
                status, headers, body = self.req(
                    "POST", base, {"name": name, "description": "Deploys from CI",
                                   "modules": [{"id": MARKETPLACE}, {"id": AM}]},
                    token=self.client_admin)
                self.assertEqual(status, 201, body)
                self.assertEqual(media_type(headers), "application/json")
                self.assertEtag(headers, 1)
                tid = body["id"]
                self.assertRegex(tid, TOKEN_ID_RE)
                self.assertRegex(headers.get("Location") or "",
                                 rf"^(/public/v1/accounts/api-tokens|/settings/api-tokens)/{tid}$")
                self.assertTime(body["audit"]["created"]["at"])
                expected = {
                    "id": MASK, "name": name, "description": "Deploys from CI",
                    "status": "Active", "token": MASK,
                    "account": {"id": self.client_acc, "name": "Contoso Ltd.",
                                "type": "Client", "status": "Active"},
                    "modules": [{"id": MARKETPLACE, "name": "Marketplace"},
                                {"id": AM, "name": "Access Management"}],
                    "audit": {"created": {"at": MASK, "by": {
                        "id": self.client_admin_id, "name": "Client admin (demo)"}}},
                    "revision": 1,
                }
                self.assertEqual(masked(body), expected)
                # the same object, without the value, on both mounts
                del expected["token"]
                for b in MOUNTS:
                    st, h, got = self.get(b, tid)
                    self.assertEqual(st, 200, got)
                    self.assertEqual(media_type(h), "application/json")
                    self.assertEtag(h, 1)
                    self.assertEqual(masked(got), expected)
                    self.assertEqual(got["id"], tid)
                    self.assertEqual(got["audit"]["created"]["at"],
                                     body["audit"]["created"]["at"])
                # Location points at the token
                st, _, got = self.req("GET", headers["Location"], token=self.client_admin)
                self.assertEqual(st, 200, got)
                self.assertEqual(got["id"], tid)

    def test_token_value_shape(self):
        body = self.create()
        m = TOKEN_RE.match(body["token"])
        self.assertEqual(m.group(1), body["id"])
        prefix = body["token"][:-6]
        self.assertEqual(m.group(3), checksum(prefix), "checksum is not base62 CRC32")
        other = self.create()
        self.assertNotEqual(TOKEN_RE.match(other["token"]).group(2), m.group(2))
        self.assertNotEqual(other["id"], body["id"])

    def test_minimal_create_omits_empty_fields(self):
        for base in MOUNTS:
            with self.subTest(base=base):
                for extra in ({}, {"description": "", "icon": "", "modules": []},
                              {"description": None, "icon": None, "modules": None}):
                    body = self.create(base, **extra)
                    got = self.get_ok(base, body["id"])
                    for obj in (body, got):
                        for key in ("description", "icon", "lastAccessAt"):
                            self.assertNotIn(key, obj)
                        self.assertEqual(set(obj["audit"]), {"created"})
                        # modules: none held, so empty or absent, never null
                        self.assertIn(obj.get("modules", []), ([],))
                    self.assertNotIn("token", got)
                    self.assertEqual(set(got) - {"modules"},
                                     {"id", "name", "status", "account", "audit", "revision"})

    def test_read_only_fields_ignored(self):
        for base in MOUNTS:
            with self.subTest(base=base):
                name = self.name()
                status, _, body = self.req("POST", base, {
                    "name": name, "id": "TKN-1111-2222", "status": "Disabled",
                    "revision": 42, "token": "idt:TKN-1111-2222:" + "a" * 64,
                    "lastAccessAt": "2020-01-01T00:00:00.000Z",
                    "audit": {"created": {"at": "2020-01-01T00:00:00.000Z",
                                          "by": {"id": "USR-0000-0000"}}},
                }, token=self.client_admin)
                self.assertEqual(status, 201, body)
                self.assertNotEqual(body["id"], "TKN-1111-2222")
                self.assertEqual(body["status"], "Active")
                self.assertEqual(body["revision"], 1)
                self.assertNotIn("lastAccessAt", body)
                self.assertEqual(body["audit"]["created"]["by"]["id"], self.client_admin_id)
                self.assertTrue(body["audit"]["created"]["at"] > "2021")
                self.assertNotEqual(body["token"], "idt:TKN-1111-2222:" + "a" * 64)
                self.assertEqual(token_id(body["token"]), body["id"])

    def test_name_validation(self):
        bad = {
            "missing": None, "empty": "", "201 chars": "a" * 201,
            "angle bracket": "CI <pipeline>", "semicolon": "a;b", "slash": "a/b",
            "not a string": 5, "null": "null",
        }
        for base in MOUNTS:
            for label, name in bad.items():
                with self.subTest(base=base, case=label):
                    if label == "missing":
                        body = {"description": "x"}
                    elif label == "null":
                        body = {"name": None}
                    else:
                        body = {"name": name}
                    resp = self.req("POST", base, body, token=self.client_admin)
                    p = self.assertProblem(resp, 400, "Bad Request", ["name"])
                    self.assertEqual(p["detail"], "One or more validation errors occurred.")

    def test_name_accepts_unicode_and_punctuation(self):
        for base in MOUNTS:
            for name in ("Zürich Straße", "CI-1.0 'build' \"main\"", "a" * 200,
                         "ß" * 200, "東京 2 Ωmega", "x"):
                with self.subTest(base=base, name=name[:20]):
                    status, _, body = self.req("POST", base, {"name": name},
                                               token=self.client_admin)
                    self.assertEqual(status, 201, body)
                    self.assertEqual(body["name"], name)
                    self.assertEqual(self.get_ok(base, body["id"])["name"], name)

    def test_description_validation(self):
        for base in MOUNTS:
            with self.subTest(base=base):
                resp = self.req("POST", base, {"name": "d", "description": "d" * 2001},
                                token=self.client_admin)
                self.assertProblem(resp, 400, "Bad Request", ["description"])
                resp = self.req("POST", base, {"name": "d", "description": 7},
                                token=self.client_admin)
                self.assertProblem(resp, 400, "Bad Request", ["description"])
                body = self.create(base, description="é" * 2000)
                self.assertEqual(body["description"], "é" * 2000)

    def test_every_bad_field_is_named(self):
        resp = self.req("POST", PLATFORM, {
            "name": "<bad>", "description": "x" * 2001,
            "modules": [{"id": "MOD-1"}], "account": {"id": "nope"},
            "icon": "https://example.com/logo.png"}, token=self.client_admin)
        self.assertProblem(resp, 400, "Bad Request",
                           ["name", "description", "modules", "account.id", "icon"])

    def test_modules_validation(self):
        cases = {
            "not a list": "MOD-1756",
            "list of strings": ["MOD-1756"],
            "id not a string": [{"id": 1756}],
            "no id": [{"name": "Access Management"}],
            "bad id shape": [{"id": "MOD-17560"}],
            "lowercase id": [{"id": "mod-1756"}],
            "duplicate": [{"id": AM}, {"id": AM}],
            "unknown module": [{"id": "MOD-0000"}],
            "not enabled for the account": [{"id": HELPDESK}],
            "operations-only module": [{"id": PLATFORM_ACC}],
        }
        for base in MOUNTS:
            for label, mods in cases.items():
                with self.subTest(base=base, case=label):
                    resp = self.req("POST", base, {"name": "m", "modules": mods},
                                    token=self.client_admin)
                    self.assertProblem(resp, 400, "Bad Request", ["modules"])

    def test_modules_not_held_by_caller(self):
        # a token with Access Management only may manage tokens but grant
        # nothing else
        for base in MOUNTS:
            with self.subTest(base=base):
                narrow = self.create(base, modules=[{"id": AM}])["token"]
                resp = self.req("POST", base, {"name": "wider", "modules": [{"id": MARKETPLACE}]},
                                token=narrow)
                self.assertProblem(resp, 400, "Bad Request", ["modules"])
                ok = self.create(base, token=narrow, modules=[{"id": AM}])
                self.assertEqual(self.module_ids(ok), [AM])
                self.assertEqual(ok["audit"]["created"]["by"]["id"], token_id(narrow))
                # a module the token already has may stay (or go)
                held = self.create(base, modules=[{"id": AM}, {"id": MARKETPLACE}])
                st, _, b = self.req("PUT", f"{base}/{held['id']}",
                                    {"name": "renamed by narrow",
                                     "modules": [{"id": AM}, {"id": MARKETPLACE}]},
                                    token=narrow)
                self.assertEqual(st, 200, b)
                self.assertEqual(self.module_ids(b), [MARKETPLACE, AM])
                st, _, b = self.req("PUT", f"{base}/{held['id']}",
                                    {"modules": [{"id": MARKETPLACE}]}, token=narrow)
                self.assertEqual(st, 200, b)
                self.assertEqual(self.module_ids(b), [MARKETPLACE])
                # …but a module it lacks cannot be added by that caller
                resp = self.req("PUT", f"{base}/{held['id']}",
                                {"modules": [{"id": MARKETPLACE}, {"id": BILLING}]},
                                token=narrow)
                self.assertProblem(resp, 400, "Bad Request", ["modules"])

    def test_account_of_another_account(self):
        for base in MOUNTS:
            with self.subTest(base=base):
                resp = self.req("POST", base, {"name": "x", "account": {"id": self.vendor_acc}},
                                token=self.client_admin)
                self.assertProblem(resp, 403, "Forbidden")
                resp = self.req("POST", base, {"name": "x", "account": {"id": "ACC-12"}},
                                token=self.client_admin)
                self.assertProblem(resp, 400, "Bad Request", ["account.id"])
                resp = self.req("POST", base, {"name": "x", "account": "ACC-1000-0001"},
                                token=self.client_admin)
                self.assertProblem(resp, 400, "Bad Request", ["account.id"])
                # one's own account, named explicitly, is fine
                own = self.create(base, account={"id": self.client_acc})
                self.assertEqual(own["account"]["id"], self.client_acc)

    def test_operations_creates_in_another_account(self):
        for base in MOUNTS:
            with self.subTest(base=base):
                body = self.create(base, token=self.ops_admin,
                                   account={"id": self.client_acc},
                                   modules=[{"id": MARKETPLACE}])
                self.assertEqual(body["account"], {"id": self.client_acc, "name": "Contoso Ltd.",
                                                   "type": "Client", "status": "Active"})
                self.assertEqual(body["audit"]["created"]["by"]["id"], self.ops_admin_id)
                # it lives in the Client account: the Client admin sees it
                got = self.get_ok(base, body["id"])
                self.assertEqual(self.module_ids(got), [MARKETPLACE])
                # the modules must be enabled for that account, not the caller's
                resp = self.req("POST", base, {"name": "x", "account": {"id": self.client_acc},
                                               "modules": [{"id": PLATFORM_ACC}]},
                                token=self.ops_admin)
                self.assertProblem(resp, 400, "Bad Request", ["modules"])
                resp = self.req("POST", base, {"name": "x", "account": {"id": "ACC-9999-9999"}},
                                token=self.ops_admin)
                self.assertProblem(resp, 400, "Bad Request", ["account.id"])
                # default: the caller's account
                own = self.create(base, token=self.ops_admin, modules=[{"id": PLATFORM_ACC}])
                self.assertEqual(own["account"]["id"], self.ops_acc)
                self.assertEqual(own["account"]["type"], "Operations")

    def test_bad_json_bodies(self):
        for base in MOUNTS:
            for label, raw in (("truncated", b'{"name":'), ("array", b'[{"name":"a"}]'),
                               ("string", b'"a"'), ("empty", b""),
                               ("duplicate key", b'{"name":"a","name":"b"}'),
                               ("single quotes", b"{'name':'a'}"),
                               ("invalid utf-8", b'{"name":"a\xff"}')):
                with self.subTest(base=base, case=label):
                    resp = self.req("POST", base, raw, token=self.client_admin,
                                    headers={"Content-Type": "application/json"})
                    self.assertProblem(resp, 400, "Bad Request")

    def test_json_media_types(self):
        for ctype in ("application/json; charset=utf-8", "text/json",
                      "application/merge-patch+json"):
            with self.subTest(ctype=ctype):
                st, _, body = self.req("POST", SETTINGS, json.dumps({"name": "ct"}),
                                       headers={"Content-Type": ctype}, token=self.client_admin)
                self.assertEqual(st, 201, body)

    def test_415_not_json(self):
        for base in MOUNTS:
            with self.subTest(base=base):
                tid = self.create(base)["id"]
                for ctype in ("text/plain", "application/x-www-form-urlencoded", None):
                    headers = {"Content-Type": ctype} if ctype else {}
                    resp = self.req("POST", base, json.dumps({"name": "a"}), headers=headers,
                                    token=self.client_admin)
                    self.assertProblem(resp, 415, "Unsupported Media Type")
                    resp = self.req("PUT", f"{base}/{tid}", json.dumps({"name": "a"}),
                                    headers=headers, token=self.client_admin)
                    self.assertProblem(resp, 415, "Unsupported Media Type")
                self.assertEqual(self.get_ok(base, tid)["revision"], 1)

    def test_413_body_too_large(self):
        big = json.dumps({"name": "big", "description": "x" * (2 * 1024 * 1024)})
        for base in MOUNTS:
            with self.subTest(base=base):
                tid = self.create(base)["id"]
                resp = self.req("POST", base, big, token=self.client_admin,
                                headers={"Content-Type": "application/json"})
                self.assertProblem(resp, 413, "Content Too Large")
                resp = self.req("PUT", f"{base}/{tid}", big, token=self.client_admin,
                                headers={"Content-Type": "application/json"})
                self.assertProblem(resp, 413, "Content Too Large")
                self.assertEqual(self.get_ok(base, tid)["revision"], 1)


class Read(TokensBase):
    def test_404_unknown_and_malformed_ids(self):
        for base in MOUNTS:
            for tid in ("TKN-0000-0000", "nope", "TKN-12", "tkn-1234-5678",
                        "TKN-1234-56789", "MOD-1756"):
                with self.subTest(base=base, id=tid):
                    t = self.client_admin
                    self.assertProblem(self.req("GET", f"{base}/{tid}", token=t), 404, "Not Found")
                    self.assertProblem(self.req("PUT", f"{base}/{tid}", {"name": "a"}, token=t),
                                       404, "Not Found")
                    self.assertProblem(self.req("DELETE", f"{base}/{tid}", token=t),
                                       404, "Not Found")
                    for action in ("enable", "disable"):
                        self.assertProblem(self.req("POST", f"{base}/{tid}/{action}", token=t),
                                           404, "Not Found")
                    self.assertProblem(self.req("GET", f"{base}/{tid}/icon", token=t),
                                       404, "Not Found")
                    self.assertProblem(self.req("PUT", f"{base}/{tid}/icon", PNG, token=t,
                                                headers={"Content-Type": "image/png"}),
                                       404, "Not Found")

    def test_other_accounts_token_is_404(self):
        for base in MOUNTS:
            with self.subTest(base=base):
                tid = self.create(base)["id"]
                v = self.vendor_admin
                self.assertProblem(self.req("GET", f"{base}/{tid}", token=v), 404, "Not Found")
                self.assertProblem(self.req("GET", f"{base}/{tid}?select=token", token=v),
                                   404, "Not Found")
                self.assertProblem(self.req("PUT", f"{base}/{tid}", {"name": "x"}, token=v),
                                   404, "Not Found")
                self.assertProblem(self.req("POST", f"{base}/{tid}/disable", token=v),
                                   404, "Not Found")
                self.assertProblem(self.req("DELETE", f"{base}/{tid}", token=v),
                                   404, "Not Found")
                ids = [t["id"] for t in self.list_all(base, token=v)["data"]]
                self.assertNotIn(tid, ids)
                got = self.get_ok(base, tid)
                self.assertEqual(got["status"], "Active")
                self.assertEqual(got["revision"], 1)
                # Operations sees every account
                self.assertEqual(self.get_ok(base, tid, token=self.ops_admin)["id"], tid)

    def test_405_with_allow(self):
        cases = (
            ("PATCH", "/{id}", {"GET", "PUT", "DELETE"}),
            ("POST", "/{id}", {"GET", "PUT", "DELETE"}),
            ("DELETE", "", {"GET", "POST"}),
            ("PUT", "", {"GET", "POST"}),
            ("GET", "/{id}/enable", {"POST"}),
            ("DELETE", "/{id}/disable", {"POST"}),
            ("POST", "/{id}/icon", {"GET", "PUT"}),
        )
        for base in MOUNTS:
            tid = self.create(base)["id"]
            for method, suffix, allowed in cases:
                with self.subTest(base=base, method=method, path=suffix):
                    path = base + suffix.replace("{id}", tid)
                    resp = self.req(method, path, {"name": "x"}, token=self.client_admin)
                    self.assertProblem(resp, 405, "Method Not Allowed")
                    allow = {m.strip().upper() for m in (resp[1].get("Allow") or "").split(",")}
                    self.assertTrue(allowed <= allow, f"Allow: {resp[1].get('Allow')}")
                    self.assertNotIn(method, allow)
            self.assertEqual(self.get_ok(base, tid)["revision"], 1)
        resp = self.req("POST", f"{SETTINGS}/modules", {}, token=self.client_admin)
        self.assertProblem(resp, 405, "Method Not Allowed")
        self.assertIn("GET", resp[1].get("Allow") or "")

    def test_reveal(self):
        for base in MOUNTS:
            with self.subTest(base=base):
                created = self.create(base, modules=[{"id": BILLING}])
                tid = created["id"]
                for q in ("?select=token", "?select=%2Btoken", "?select=+token",
                          "?select=token,-audit"):
                    st, h, body = self.get(base, tid, query=q)
                    self.assertEqual(st, 200, (q, body))
                    self.assertEqual(body.get("token"), created["token"], q)
                    self.assertEqual(body["id"], tid)
                    self.assertEtag(h, 1)
                    self.assertEqual(body["status"], "Active")
                # default select: no value
                self.assertNotIn("token", self.get_ok(base, tid))
                # -audit drops audit, -modules drops modules
                st, _, body = self.get(base, tid, query="?select=-audit,-modules")
                self.assertEqual(st, 200, body)
                self.assertNotIn("audit", body)
                self.assertNotIn("modules", body)
                self.assertEqual(body["id"], tid)
                resp = self.get(base, tid, query="?select=secret")
                self.assertProblem(resp, 400, "Bad Request", ["select"])
                resp = self.get(base, tid, query="?foo=bar")
                p = self.assertProblem(resp, 400, "Bad Request")
                self.assertIn("foo", json.dumps(p))
                # a reveal changes nothing
                self.assertEqual(self.get_ok(base, tid)["revision"], 1)

    def test_client_token_without_access_management(self):
        plain = self.client_plain
        pid = token_id(plain)
        for base in MOUNTS:
            with self.subTest(base=base):
                other = self.create(base)["id"]
                self.assertProblem(self.req("GET", base, token=plain), 403, "Forbidden")
                self.assertProblem(self.req("POST", base, {"name": "x"}, token=plain),
                                   403, "Forbidden")
                self.assertProblem(self.req("GET", f"{base}/{other}", token=plain),
                                   403, "Forbidden")
                self.assertProblem(self.req("PUT", f"{base}/{other}", {"name": "x"},
                                            token=plain), 403, "Forbidden")
                self.assertProblem(self.req("POST", f"{base}/{other}/disable", token=plain),
                                   403, "Forbidden")
                self.assertProblem(self.req("DELETE", f"{base}/{other}", token=plain),
                                   403, "Forbidden")
                self.assertProblem(self.req("PUT", f"{base}/{pid}", {"name": "x"},
                                            token=plain), 403, "Forbidden")
                self.assertProblem(self.req("POST", f"{base}/{pid}/disable", token=plain),
                                   403, "Forbidden")
                self.assertProblem(self.req("GET", f"{SETTINGS}/modules", token=plain),
                                   403, "Forbidden")
                # its own record, but not its value
                st, h, me = self.get(base, pid, token=plain)
                self.assertEqual(st, 200, me)
                self.assertEqual(me["id"], pid)
                self.assertEqual(me["account"]["id"], self.client_acc)
                self.assertNotIn("token", me)
                self.assertEtag(h, me["revision"])
                self.assertNotIn(AM, self.module_ids(me))
                self.assertProblem(self.get(base, pid, token=plain, query="?select=token"),
                                   403, "Forbidden")
                self.assertEqual(self.get_ok(base, other)["revision"], 1)

    def test_no_credentials_is_401(self):
        for base in MOUNTS:
            with self.subTest(base=base):
                self.assertProblem(self.req("GET", base), 401, "Authentication Failed")
                self.assertProblem(self.req("POST", base, {"name": "x"}),
                                   401, "Authentication Failed")


class Lists(TokensBase):
    def test_envelope_and_default_fields(self):
        for base in MOUNTS:
            with self.subTest(base=base):
                created = self.create(base, description="listed", modules=[{"id": AM}])
                st, h, body = self.req("GET", base, token=self.client_admin)
                self.assertEqual(st, 200, body)
                self.assertEqual(media_type(h), "application/json")
                self.assertEqual(set(body), {"$meta", "data"})
                pag = body["$meta"]["pagination"]
                self.assertEqual(pag["offset"], 0)
                self.assertEqual(pag["limit"], 10)
                self.assertIsInstance(pag["total"], int)
                self.assertGreaterEqual(pag["total"], 1)
                self.assertEqual(sorted(body["$meta"]["omitted"]), ["audit", "modules"])
                self.assertLessEqual(len(body["data"]), 10)
                # newest first: the token just made leads
                item = body["data"][0]
                self.assertEqual(item["id"], created["id"])
                expected = copy.deepcopy(created)
                for k in ("token", "modules", "audit"):
                    del expected[k]
                self.assertEqual(item, expected)
                for t in body["data"]:
                    self.assertNotIn("token", t)
                    self.assertNotIn("modules", t)
                    self.assertNotIn("audit", t)
                    self.assertEqual(t["account"]["id"], self.client_acc)
                    self.assertIn(t["status"], ("Active", "Disabled"))
                    self.assertNotIn(None, t.values())

    def test_select_modules_and_audit(self):
        for base in MOUNTS:
            with self.subTest(base=base):
                created = self.create(base, modules=[{"id": AM}, {"id": BILLING}])
                for q in ("select=+modules,+audit", "select=%2Bmodules%2C%2Baudit",
                          "select=modules,audit"):
                    body = self.list_all(base, query=q)
                    self.assertNotIn("modules", body["$meta"].get("omitted", []))
                    self.assertNotIn("audit", body["$meta"].get("omitted", []))
                    item = next(t for t in body["data"] if t["id"] == created["id"])
                    self.assertEqual(self.module_ids(item), [BILLING, AM])
                    self.assertEqual(sorted(item["modules"], key=lambda m: m["id"]),
                                     sorted(created["modules"], key=lambda m: m["id"]))
                    self.assertEqual(item["audit"], created["audit"])
                    self.assertNotIn("token", item)
                body = self.list_all(base, query="select=+modules")
                self.assertEqual(body["$meta"]["omitted"], ["audit"])
                body = self.list_all(base, query="select=-status,-account")
                for t in body["data"]:
                    self.assertNotIn("status", t)
                    self.assertNotIn("account", t)
                    self.assertIn("id", t)
                body = self.list_all(base, query="select=-id")
                self.assertTrue(all("id" in t for t in body["data"]))

    def test_token_value_never_listed(self):
        for base in MOUNTS:
            with self.subTest(base=base):
                created = self.create(base)
                for q in ("select=token", "select=+token", "select=%2Btoken",
                          "select=+modules,token"):
                    resp = self.req("GET", f"{base}?{q}", token=self.client_admin)
                    self.assertProblem(resp, 400, "Bad Request", ["select"])
                raw = self.list_all(base, query="select=+modules,+audit&limit=1000")
                self.assertNotIn(created["token"], json.dumps(raw))
                self.assertNotIn(created["token"].rsplit(":", 1)[1], json.dumps(raw))

    def test_paging(self):
        for base in MOUNTS:
            with self.subTest(base=base):
                for _ in range(3):
                    self.create(base)
                whole = self.list_all(base)
                total = whole["$meta"]["pagination"]["total"]
                ids = [t["id"] for t in whole["data"]]
                self.assertEqual(len(ids), total)
                self.assertEqual(len(set(ids)), total)
                self.assertEqual(whole["$meta"]["pagination"]["limit"], 1000)
                self.assertGreaterEqual(total, 4)
                body = self.list_all(base, query="limit=2&offset=1")
                self.assertEqual(body["$meta"]["pagination"],
                                 {"offset": 1, "limit": 2, "total": total})
                self.assertEqual([t["id"] for t in body["data"]], ids[1:3])
                body = self.list_all(base, query=f"offset={total}")
                self.assertEqual(body["data"], [])
                self.assertEqual(body["$meta"]["pagination"]["total"], total)
                body = self.list_all(base, query="limit=0")
                self.assertEqual(body["data"], [])
                self.assertEqual(body["$meta"]["pagination"]["total"], total)
                body = self.list_all(base, query="limit=5000")
                self.assertEqual(body["$meta"]["pagination"]["limit"], 1000)
                for q, field in (("limit=-1", "limit"), ("limit=abc", "limit"),
                                 ("offset=-5", "offset"), ("offset=x", "offset")):
                    resp = self.req("GET", f"{base}?{q}", token=self.client_admin)
                    self.assertProblem(resp, 400, "Bad Request", [field])
                resp = self.req("GET", f"{base}?colour=red", token=self.client_admin)
                p = self.assertProblem(resp, 400, "Bad Request")
                self.assertIn("colour", json.dumps(p))

    def test_operations_list_spans_accounts(self):
        client_tok = self.create()
        vendor_tok = self.create(token=self.vendor_admin)
        for base in MOUNTS:
            with self.subTest(base=base):
                ids = {t["id"]: t for t in self.list_all(base, token=self.ops_admin)["data"]}
                self.assertIn(client_tok["id"], ids)
                self.assertIn(vendor_tok["id"], ids)
                self.assertEqual(ids[vendor_tok["id"]]["account"]["id"], self.vendor_acc)
                own = {t["id"] for t in self.list_all(base)["data"]}
                self.assertNotIn(vendor_tok["id"], own)


class Update(TokensBase):
    def test_delta_update(self):
        for base in MOUNTS:
            with self.subTest(base=base):
                c = self.create(base, description="first", modules=[{"id": AM}])
                tid, path = c["id"], f"{base}/{c['id']}"
                st, h, b = self.req("PUT", path, {"description": "second"},
                                    token=self.client_admin)
                self.assertEqual(st, 200, b)
                self.assertEqual(media_type(h), "application/json")
                self.assertEtag(h, 2)
                self.assertEqual(b["revision"], 2)
                self.assertEqual(b["name"], c["name"])
                self.assertEqual(b["description"], "second")
                self.assertEqual(b["modules"], c["modules"])
                self.assertEqual(b["status"], "Active")
                self.assertNotIn("token", b)
                self.assertEqual(b["audit"]["created"], c["audit"]["created"])
                self.assertBy(b["audit"]["updated"], self.client_admin_id)
                self.assertGreaterEqual(b["audit"]["updated"]["at"], c["audit"]["created"]["at"])
                # modules replaced as a whole
                st, h, b = self.req("PUT", path, {"modules": [{"id": MARKETPLACE}, {"id": BILLING}]},
                                    token=self.client_admin)
                self.assertEqual(st, 200, b)
                self.assertEqual(b["revision"], 3)
                self.assertEtag(h, 3)
                self.assertEqual(sorted(b["modules"], key=lambda m: m["id"]),
                                 [{"id": MARKETPLACE, "name": "Marketplace"},
                                  {"id": BILLING, "name": "Billing"}])
                self.assertEqual(b["description"], "second")
                # name
                new = self.name("Renamed")
                st, _, b = self.req("PUT", path, {"name": new}, token=self.client_admin)
                self.assertEqual(st, 200, b)
                self.assertEqual((b["name"], b["revision"]), (new, 4))
                # "" and null remove the description
                st, _, b = self.req("PUT", path, {"description": ""}, token=self.client_admin)
                self.assertEqual(st, 200, b)
                self.assertNotIn("description", b)
                self.assertEqual(b["revision"], 5)
                st, _, b = self.req("PUT", path, {"description": "back"}, token=self.client_admin)
                self.assertEqual(b["revision"], 6)
                st, _, b = self.req("PUT", path, {"description": None}, token=self.client_admin)
                self.assertEqual(st, 200, b)
                self.assertNotIn("description", b)
                self.assertEqual(b["revision"], 7)
                # modules: [] removes them all
                st, _, b = self.req("PUT", path, {"modules": []}, token=self.client_admin)
                self.assertEqual(st, 200, b)
                self.assertEqual(b.get("modules", []), [])
                self.assertEqual(b["revision"], 8)
                got = self.get_ok(base, tid)
                self.assertEqual(got, b)

    def test_noop_put_keeps_revision(self):
        for base in MOUNTS:
            with self.subTest(base=base):
                c = self.create(base, description="same", modules=[{"id": AM}, {"id": BILLING}])
                path = f"{base}/{c['id']}"
                for body in ({}, {"name": c["name"]}, {"description": "same"},
                             {"modules": [{"id": BILLING}, {"id": AM}]},
                             {"name": c["name"], "description": "same", "icon": ""}):
                    st, h, b = self.req("PUT", path, body, token=self.client_admin)
                    self.assertEqual(st, 200, (body, b))
                    self.assertEqual(b["revision"], 1, body)
                    self.assertEtag(h, 1)
                    self.assertNotIn("updated", b["audit"], body)
                    self.assertEqual(masked(b), masked({k: v for k, v in c.items()
                                                        if k != "token"}))

    def test_put_ignores_read_only_fields(self):
        for base in MOUNTS:
            with self.subTest(base=base):
                c = self.create(base)
                path = f"{base}/{c['id']}"
                st, _, b = self.req("PUT", path, {
                    "id": "TKN-1111-2222", "status": "Disabled", "revision": 40,
                    "account": {"id": self.vendor_acc}, "token": "idt:x",
                    "lastAccessAt": "2020-01-01T00:00:00.000Z",
                    "audit": {"created": {"at": "2020-01-01T00:00:00.000Z"}}},
                    token=self.client_admin)
                self.assertEqual(st, 200, b)
                self.assertEqual(b["id"], c["id"])
                self.assertEqual(b["status"], "Active")
                self.assertEqual(b["revision"], 1)
                self.assertEqual(b["account"]["id"], self.client_acc)
                self.assertEqual(b["audit"], c["audit"])
                self.assertNotIn("token", b)
                # status changes only through the actions: the value still works
                st, _, me = self.get(base, c["id"], token=c["token"])
                self.assertEqual(st, 200, me)

    def test_put_validation(self):
        bad = (({"name": ""}, "name"), ({"name": None}, "name"), ({"name": "a" * 201}, "name"),
               ({"name": "a<b"}, "name"), ({"description": "x" * 2001}, "description"),
               ({"modules": [{"id": AM}, {"id": AM}]}, "modules"),
               ({"modules": [{"id": PLATFORM_ACC}]}, "modules"),
               ({"modules": "MOD-1756"}, "modules"),
               ({"icon": "https://example.com/x.png"}, "icon"))
        for base in MOUNTS:
            c = self.create(base, description="keep", modules=[{"id": AM}])
            path = f"{base}/{c['id']}"
            for body, field in bad:
                with self.subTest(base=base, body=str(body)[:40]):
                    resp = self.req("PUT", path, body, token=self.client_admin)
                    self.assertProblem(resp, 400, "Bad Request", [field])
            with self.subTest(base=base, case="nothing changed"):
                got = self.get_ok(base, c["id"])
                self.assertEqual(got["revision"], 1)
                self.assertEqual(got["description"], "keep")
                self.assertEqual(got["name"], c["name"])
                self.assertEqual(self.module_ids(got), [AM])
            with self.subTest(base=base, case="two bad fields, one valid"):
                resp = self.req("PUT", path, {"name": "", "description": "x" * 2001,
                                              "modules": [{"id": BILLING}]},
                                token=self.client_admin)
                self.assertProblem(resp, 400, "Bad Request", ["name", "description"])
                self.assertEqual(self.module_ids(self.get_ok(base, c["id"])), [AM])

    def test_if_match(self):
        for base in MOUNTS:
            with self.subTest(base=base):
                c = self.create(base)
                path = f"{base}/{c['id']}"
                st, h, b = self.req("PUT", path, {"description": "v2"},
                                    headers={"If-Match": '"1"'}, token=self.client_admin)
                self.assertEqual(st, 200, b)
                self.assertEtag(h, 2)
                # a second admin still holding revision 1
                resp = self.req("PUT", path, {"description": "lost"},
                                headers={"If-Match": '"1"'}, token=self.client_admin)
                self.assertProblem(resp, 412, "Precondition Failed")
                for action in ("disable", "enable"):
                    resp = self.req("POST", f"{path}/{action}", headers={"If-Match": '"1"'},
                                    token=self.client_admin)
                    self.assertProblem(resp, 412, "Precondition Failed")
                resp = self.req("DELETE", path, headers={"If-Match": '"1"'},
                                token=self.client_admin)
                self.assertProblem(resp, 412, "Precondition Failed")
                resp = self.req("PUT", f"{path}/icon", PNG, token=self.client_admin,
                                headers={"If-Match": '"1"', "Content-Type": "image/png"})
                self.assertProblem(resp, 412, "Precondition Failed")
                got = self.get_ok(base, c["id"])
                self.assertEqual((got["description"], got["revision"], got["status"]),
                                 ("v2", 2, "Active"))
                self.assertNotIn("icon", got)
                # the current one passes
                st, h, b = self.req("POST", f"{path}/disable", headers={"If-Match": '"2"'},
                                    token=self.client_admin)
                self.assertEqual(st, 200, b)
                self.assertEqual((b["status"], b["revision"]), ("Disabled", 3))
                self.assertEtag(h, 3)
                st, _, b = self.req("PUT", path, {"description": "v4"},
                                    headers={"If-Match": '"3"'}, token=self.client_admin)
                self.assertEqual(st, 200, b)
                self.assertEqual(b["revision"], 4)
                self.assertEqual(b["status"], "Disabled")
                st, _, b = self.req("POST", f"{path}/enable", headers={"If-Match": "*"},
                                    token=self.client_admin)
                self.assertEqual(st, 200, b)
                self.assertEqual(b["revision"], 5)
                st, _, b = self.req("DELETE", path, headers={"If-Match": '"5"'},
                                    token=self.client_admin)
                self.assertEqual(st, 204, b)


class Lifecycle(TokensBase):
    def test_disable_enable_delete(self):
        for base in MOUNTS:
            with self.subTest(base=base):
                c = self.create(base, modules=[{"id": AM}])
                tid, path = c["id"], f"{base}/{c['id']}"
                st, h, b = self.req("POST", f"{path}/disable", token=self.client_admin)
                self.assertEqual(st, 200, b)
                self.assertEqual(media_type(h), "application/json")
                self.assertEqual((b["id"], b["status"], b["revision"]), (tid, "Disabled", 2))
                self.assertEtag(h, 2)
                self.assertBy(b["audit"]["disabled"], self.client_admin_id)
                self.assertNotIn("enabled", b["audit"])
                self.assertNotIn("token", b)
                self.assertEqual(b["modules"], c["modules"])
                # disabling a Disabled token is a conflict and changes nothing
                self.assertProblem(self.req("POST", f"{path}/disable", token=self.client_admin),
                                   409, "Conflict")
                self.assertEqual(self.get_ok(base, tid)["revision"], 2)
                # a Disabled token is still listed and editable
                self.assertIn(tid, [t["id"] for t in self.list_all(base)["data"]])
                st, h, b = self.req("POST", f"{path}/enable", token=self.client_admin)
                self.assertEqual(st, 200, b)
                self.assertEqual((b["status"], b["revision"]), ("Active", 3))
                self.assertEtag(h, 3)
                self.assertBy(b["audit"]["enabled"], self.client_admin_id)
                self.assertBy(b["audit"]["disabled"], self.client_admin_id)
                self.assertLessEqual(b["audit"]["disabled"]["at"], b["audit"]["enabled"]["at"])
                self.assertProblem(self.req("POST", f"{path}/enable", token=self.client_admin),
                                   409, "Conflict")
                self.assertEqual(self.get_ok(base, tid)["revision"], 3)
                # delete: 204, no body
                st, h, b = self.req("DELETE", path, token=self.client_admin)
                self.assertEqual(st, 204, b)
                self.assertEqual(b, b"")
                self.assertProblem(self.get(base, tid), 404, "Not Found")
                self.assertProblem(self.req("DELETE", path, token=self.client_admin),
                                   404, "Not Found")
                for action in ("enable", "disable"):
                    self.assertProblem(self.req("POST", f"{path}/{action}",
                                                token=self.client_admin), 404, "Not Found")
                self.assertProblem(self.req("PUT", path, {"name": "x"}, token=self.client_admin),
                                   404, "Not Found")
                self.assertNotIn(tid, [t["id"] for t in self.list_all(base)["data"]])

    def test_delete_disabled_token(self):
        for base in MOUNTS:
            with self.subTest(base=base):
                c = self.create(base)
                path = f"{base}/{c['id']}"
                st, _, b = self.req("POST", f"{path}/disable", token=self.client_admin)
                self.assertEqual(st, 200, b)
                st, _, b = self.req("DELETE", path, token=self.client_admin)
                self.assertEqual(st, 204, b)
                self.assertProblem(self.get(base, c["id"]), 404, "Not Found")

    def test_deleted_is_final_and_visible_to_operations(self):
        for base in MOUNTS:
            with self.subTest(base=base):
                c = self.create(base, modules=[{"id": AM}])
                tid, path = c["id"], f"{base}/{c['id']}"
                st, _, b = self.req("DELETE", path, token=self.client_admin)
                self.assertEqual(st, 204, b)
                ops = self.ops_admin
                st, h, b = self.get(base, tid, token=ops)
                self.assertEqual(st, 200, b)
                self.assertEqual(b["status"], "Deleted")
                self.assertEqual(b["revision"], 2)
                self.assertEtag(h, 2)
                self.assertBy(b["audit"]["deleted"], self.client_admin_id)
                self.assertNotIn("token", b)
                listed = {t["id"]: t for t in self.list_all(base, token=ops)["data"]}
                self.assertEqual(listed[tid]["status"], "Deleted")
                for method, suffix, body in (("POST", "/enable", None), ("POST", "/disable", None),
                                             ("PUT", "", {"name": "revive"}),
                                             ("DELETE", "", None)):
                    with self.subTest(base=base, change=method + suffix):
                        self.assertProblem(self.req(method, path + suffix, body, token=ops),
                                           409, "Conflict")
                self.assertProblem(self.req("PUT", f"{path}/icon", PNG, token=ops,
                                            headers={"Content-Type": "image/png"}),
                                   409, "Conflict")
                # the secret is gone: no value to show
                self.assertProblem(self.get(base, tid, token=ops, query="?select=token"),
                                   409, "Conflict")
                got = self.get_ok(base, tid, token=ops)
                self.assertEqual((got["status"], got["revision"], got["name"]),
                                 ("Deleted", 2, c["name"]))

    def test_value_authenticates_through_its_lifecycle(self):
        for base in MOUNTS:
            with self.subTest(base=base):
                c = self.create(base, modules=[{"id": AM}])
                tid, value, path = c["id"], c["token"], f"{base}/{c['id']}"

                def works():
                    st, _, me = self.get(base, tid, token=value)
                    self.assertEqual(st, 200, me)
                    self.assertEqual(me["id"], tid)
                    st, _, lst = self.req("GET", base, token=value)
                    self.assertEqual(st, 200, lst)

                def refused():
                    # exactly what a wrong secret gets
                    forged = f"idt:{tid}:" + "A" * 58
                    forged += checksum(forged)
                    wrong = self.assertProblem(self.get(base, tid, token=forged),
                                               401, "Authentication Failed")
                    body = self.assertProblem(self.get(base, tid, token=value),
                                              401, "Authentication Failed")
                    wrong.pop("traceId")
                    body.pop("traceId")
                    self.assertEqual(body, wrong)
                    self.assertProblem(self.req("GET", base, token=value),
                                       401, "Authentication Failed")

                works()
                seen = self.get_ok(base, tid)
                if "lastAccessAt" in seen:
                    self.assertTime(seen["lastAccessAt"])
                st, _, b = self.req("POST", f"{path}/disable", token=self.client_admin)
                self.assertEqual(st, 200, b)
                refused()
                st, _, b = self.req("POST", f"{path}/enable", token=self.client_admin)
                self.assertEqual(st, 200, b)
                works()
                st, _, b = self.req("DELETE", path, token=self.client_admin)
                self.assertEqual(st, 204, b)
                refused()
                self.assertProblem(self.get(base, tid), 404, "Not Found")

    def test_malformed_values_are_401(self):
        value = self.create(modules=[{"id": AM}])["token"]
        tid = token_id(value)
        flipped = value[:-1] + ("A" if value[-1] != "A" else "B")  # bad checksum
        random_changed = value[:30] + ("x" if value[30] != "x" else "y") + value[31:]
        for bad in (flipped, random_changed, value[:-1], value + "A", "idt:" + tid,
                    value.replace("idt:", "tkn:"), "Basic-ish"):
            with self.subTest(value=bad[:24]):
                resp = self.get(PLATFORM, tid, token=bad)
                self.assertProblem(resp, 401, "Authentication Failed")
        st, _, b = self.get(PLATFORM, tid, token=value)
        self.assertEqual(st, 200, b)

    def test_revision_counts_every_change(self):
        c = self.create(SETTINGS)
        path = f"{SETTINGS}/{c['id']}"
        steps = (("POST", "/disable", None), ("PUT", "", {"description": "a"}),
                 ("POST", "/enable", None), ("PUT", "", {"name": self.name("r")}))
        for n, (method, suffix, body) in enumerate(steps, start=2):
            st, h, b = self.req(method, path + suffix, body, token=self.client_admin)
            self.assertEqual(st, 200, b)
            self.assertEqual(b["revision"], n)
            self.assertEtag(h, n)
            st, h, g = self.get(PLATFORM, c["id"])
            self.assertEtag(h, n)


class Icons(TokensBase):
    def put_icon(self, base, tid, data, ctype="image/png", token=None):
        return self.req("PUT", f"{base}/{tid}/icon", data, headers={"Content-Type": ctype},
                        token=token or self.client_admin)

    def test_png_and_jpeg(self):
        for base in MOUNTS:
            with self.subTest(base=base):
                c = self.create(base)
                tid = c["id"]
                self.assertProblem(self.req("GET", f"{base}/{tid}/icon", token=self.client_admin),
                                   404, "Not Found")
                st, h, b = self.put_icon(base, tid, PNG)
                self.assertEqual(st, 200, b)
                self.assertEqual(b["icon"], f"/public/v1/accounts/api-tokens/{tid}/icon")
                self.assertEqual(b["revision"], 2)
                self.assertEtag(h, 2)
                self.assertBy(b["audit"]["updated"], self.client_admin_id)
                for b2 in MOUNTS:
                    st, h, data = self.req("GET", f"{b2}/{tid}/icon", token=self.client_admin)
                    self.assertEqual(st, 200)
                    self.assertEqual(media_type(h), "image/png")
                    self.assertEqual(data, PNG)
                # the icon field is a working link
                st, h, data = self.req("GET", b["icon"], token=self.client_admin)
                self.assertEqual((st, data), (200, PNG))
                self.assertEqual(self.get_ok(base, tid)["icon"], b["icon"])
                # JPEG replaces it; the type comes from the bytes, not the header
                st, _, b = self.put_icon(base, tid, JPEG, ctype="image/png")
                self.assertEqual(st, 200, b)
                self.assertEqual(b["revision"], 3)
                st, h, data = self.req("GET", f"{base}/{tid}/icon", token=self.client_admin)
                self.assertEqual(st, 200)
                self.assertEqual(media_type(h), "image/jpeg")
                self.assertEqual(data, JPEG)
                # the icon path in a PUT keeps it, "" removes it
                st, _, b = self.req("PUT", f"{base}/{tid}", {"icon": b["icon"]},
                                    token=self.client_admin)
                self.assertEqual(st, 200, b)
                self.assertEqual(b["revision"], 3)
                self.assertIn("icon", b)
                st, _, b = self.req("PUT", f"{base}/{tid}", {"icon": ""},
                                    token=self.client_admin)
                self.assertEqual(st, 200, b)
                self.assertNotIn("icon", b)
                self.assertEqual(b["revision"], 4)
                self.assertProblem(self.req("GET", f"{base}/{tid}/icon", token=self.client_admin),
                                   404, "Not Found")

    def test_put_changing_field_and_icon_counts_once(self):
        for base in MOUNTS:
            with self.subTest(base=base):
                tid = self.create(base)["id"]
                st, _, b = self.put_icon(base, tid, PNG)
                self.assertEqual((st, b["revision"]), (200, 2), b)
                st, h, b = self.req("PUT", f"{base}/{tid}", {"icon": "", "description": "d"},
                                    token=self.client_admin)
                self.assertEqual(st, 200, b)
                self.assertNotIn("icon", b)
                self.assertEqual(b["description"], "d")
                self.assertEqual(b["revision"], 3)
                self.assertEtag(h, 3)

    def test_refused_icons(self):
        for base in MOUNTS:
            with self.subTest(base=base):
                tid = self.create(base)["id"]
                self.assertProblem(self.put_icon(base, tid, GIF, ctype="image/gif"),
                                   415, "Unsupported Media Type")
                self.assertProblem(self.put_icon(base, tid, GIF, ctype="image/png"),
                                   415, "Unsupported Media Type")
                self.assertProblem(self.put_icon(base, tid, b"<svg xmlns='x'/>",
                                                 ctype="image/svg+xml"),
                                   415, "Unsupported Media Type")
                self.assertProblem(self.put_icon(base, tid, b"\x89PN", ctype="image/png"),
                                   415, "Unsupported Media Type")
                big = PNG[:8] + b"\0" * (5 * 1024 * 1024)
                self.assertProblem(self.put_icon(base, tid, big), 413, "Content Too Large")
                got = self.get_ok(base, tid)
                self.assertEqual(got["revision"], 1)
                self.assertNotIn("icon", got)

    def test_icon_above_json_limit(self):
        # icons have their own limit, above the 1 MiB of a JSON body
        tid = self.create()["id"]
        data = PNG + b"\0" * (1536 * 1024)
        st, _, b = self.put_icon(SETTINGS, tid, data)
        self.assertEqual(st, 200, b)
        st, h, got = self.req("GET", f"{PLATFORM}/{tid}/icon", token=self.client_admin)
        self.assertEqual(st, 200)
        self.assertEqual(media_type(h), "image/png")
        self.assertEqual(got, data)

    def test_icon_of_other_account_is_404(self):
        tid = self.create()["id"]
        st, _, b = self.put_icon(PLATFORM, tid, PNG)
        self.assertEqual(st, 200, b)
        for base in MOUNTS:
            with self.subTest(base=base):
                self.assertProblem(self.req("GET", f"{base}/{tid}/icon", token=self.vendor_admin),
                                   404, "Not Found")
                self.assertProblem(self.put_icon(base, tid, JPEG, token=self.vendor_admin),
                                   404, "Not Found")
                self.assertProblem(self.put_icon(base, tid, JPEG, token=self.client_plain),
                                   403, "Forbidden")


class Modules(TokensBase):
    def test_grantable_modules(self):
        for token, want in ((self.client_admin, CLIENT_MODULES),
                            (self.vendor_admin, VENDOR_MODULES)):
            with self.subTest(token=token_id(token)):
                st, h, body = self.req("GET", f"{SETTINGS}/modules", token=token)
                self.assertEqual(st, 200, body)
                self.assertEqual(media_type(h), "application/json")
                ids = [m["id"] for m in body["data"]]
                self.assertEqual(set(ids), want)
                self.assertEqual(len(ids), len(want))
                self.assertEqual(body["$meta"]["pagination"]["total"], len(want))
                for m in body["data"]:
                    self.assertTrue(m.get("name"))
                    if m["id"] in MODULE_NAMES:
                        self.assertEqual(m["name"], MODULE_NAMES[m["id"]])
        # a narrower admin may grant only what it holds
        narrow = self.create(modules=[{"id": AM}, {"id": BILLING}])["token"]
        st, _, body = self.req("GET", f"{SETTINGS}/modules", token=narrow)
        self.assertEqual(st, 200, body)
        self.assertEqual(sorted(m["id"] for m in body["data"]), [BILLING, AM])

    def test_each_grantable_module_can_be_granted(self):
        st, _, body = self.req("GET", f"{SETTINGS}/modules", token=self.client_admin)
        self.assertEqual(st, 200, body)
        mods = [{"id": m["id"]} for m in body["data"]]
        c = self.create(modules=mods)
        self.assertEqual(sorted(c["modules"], key=lambda m: m["id"]),
                         sorted(({"id": m["id"], "name": m["name"]} for m in body["data"]),
                                key=lambda m: m["id"]))


class Storage(TokensBase):
    def test_database_holds_no_clear_value(self):
        c = self.create(SETTINGS, modules=[{"id": AM}])
        value = c["token"]
        random_part = TOKEN_RE.match(value).group(2)
        # a reveal must not leave a clear copy behind either
        st, _, b = self.get(SETTINGS, c["id"], query="?select=token")
        self.assertEqual(st, 200, b)
        sock = self.stack.env["APITOKEND_DB_SOCKET"]
        user = pwd.getpwuid(os.getuid()).pw_name
        for extra in ([], ["--hex-blob"]):
            with self.subTest(dump=" ".join(extra) or "plain"):
                proc = subprocess.run(
                    ["mariadb-dump", "--no-defaults", "--protocol=socket", f"--socket={sock}",
                     "-u", user, "--skip-extended-insert", *extra, "apitokend"],
                    stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                    timeout=120)
                self.assertEqual(proc.returncode, 0, proc.stderr.decode(errors="replace"))
                dump = proc.stdout
                self.assertIn(c["id"].encode(), dump, "the token row is not in the dump")
                self.assertIn(b"CREATE TABLE `tokens`", dump)
                for needle in (value, random_part, value.rsplit(":", 1)[1], random_part[:24]):
                    self.assertNotIn(needle.encode(), dump)
                    self.assertNotIn(needle.encode().hex().upper().encode(), dump)
                    self.assertNotIn(needle.encode().hex().encode(), dump)


if __name__ == "__main__":
    unittest.main()
