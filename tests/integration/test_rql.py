"""Lists and RQL (SPEC §6, docs/decisions.md "Lists and RQL") through nginx
on real rows: every operator, ordering with the id tie-break, paging with no
row lost or repeated, select and $meta.omitted, errors, and the caller's
confinement (a filter only ever narrows what the caller may see), for
tokens, audit records, a token's trail and the module catalogue.  Last, on a
stack of its own with thousands of filler rows, EXPLAIN of the default lists
shows they run on an index, without a filesort or a full scan.

The rows are this module's own: setUpClass makes tokens whose names start
with a random prefix, so like(name,PREFIX*) selects just them; every
expected answer is computed in Python from what was created (read back once
as Operations), never written down."""

import os
import re
import secrets
import subprocess
import pwd
import unittest
import urllib.parse
from collections import Counter

from stack import OwnStack
from test_tokens import (ACCOUNT_MGMT, AM, BILLING, COLLAB, MARKETPLACE, PLATFORM, PNG,
                         SETTINGS, TokensBase, media_type, token_id)

RECORDS = "/public/v1/audit/records"
MODULES = "/public/v1/accounts/modules"
EV = "platform.accounts.api-token."
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# Characters sent raw in a query string part; everything else (space, %,
# ", \, #, non-ASCII, and & inside a part) is percent-encoded.  The server
# splits on raw '&' first and decodes each part, and '+' stays '+'.
SAFE = "()',;|=*!-._~+/:"


def qs(*parts):
    """A query string from decoded parts: each part percent-encoded on its
    own, joined with raw '&'."""
    return "&".join(urllib.parse.quote(p, safe=SAFE) for p in parts if p)


def like_match(pattern, text, ci=False):
    """RQL like/ilike in Python: '*' any run, '\\*' a literal star, '\\\\'
    a literal backslash, everything else literal."""
    if text is None:
        return False
    out, i = [], 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\" and i + 1 < len(pattern) and pattern[i + 1] in "*\\":
            out.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        out.append(".*" if c == "*" else re.escape(c))
        i += 1
    return re.fullmatch("".join(out), text, re.S | (re.I if ci else 0)) is not None


def mods(row):
    return {m["id"] for m in row.get("modules", [])}


def created_at(row):
    return row["audit"]["created"]["at"]


def sort_rows(rows, keys):
    """rows sorted as ORDER BY keys, then id in the direction of the last
    key (decisions: the tie-break).  keys: [(function, descending)]."""
    out = sorted(rows, key=lambda r: r["id"], reverse=keys[-1][1])
    for fn, desc in reversed(keys):
        out = sorted(out, key=fn, reverse=desc)
    return out


def nulls_first(value):
    """A sort key for a nullable value: NULL before anything (MariaDB's
    ascending order)."""
    return (value is not None, value if value is not None else "")


class RqlBase(TokensBase):
    """The shared stack, with a set of tokens of this module's own."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.vendor_admin_id = token_id(cls.vendor_admin)
        cls.ops_admin_id = token_id(cls.ops_admin)
        if getattr(RqlBase, "_made", None) is None:
            RqlBase._made = cls._make_rows()
        (cls.P, cls.key, cls.rows, cls.events) = RqlBase._made

    # -- the data set ------------------------------------------------------

    @classmethod
    def _make_rows(cls):
        st = cls.stack
        P = "Rq" + secrets.token_hex(4)
        key, events, expect = {}, {}, {}

        def call(method, path, body=None, token=None, headers=None):
            status, _, out = st.request(method, path, body=body, headers=headers,
                                        token=token or cls.client_admin)
            assert status in (200, 201, 204), (method, path, status, out)
            return out

        def make(k, name, token=None, description=None, modules=(), icon=False,
                 puts=0, actions=()):
            body = {"name": name, "modules": [{"id": m} for m in modules]}
            if description is not None:
                body["description"] = description
            out = call("POST", PLATFORM, body, token=token)
            tid = out["id"]
            key[k] = tid
            events[tid] = ["created"]
            rev, status = 1, "Active"
            if icon:
                call("PUT", f"{PLATFORM}/{tid}/icon", PNG, token=token,
                     headers={"Content-Type": "image/png"})
                events[tid].append("updated")
                rev += 1
            for i in range(puts):
                call("PUT", f"{PLATFORM}/{tid}", {"description": f"put {i + 1} of {puts}"},
                     token=token)
                events[tid].append("updated")
                rev += 1
            for a in actions:
                if a == "delete":
                    call("DELETE", f"{PLATFORM}/{tid}", token=token)
                    events[tid].append("deleted")
                    status = "Deleted"
                else:
                    call("POST", f"{PLATFORM}/{tid}/{a}", token=token)
                    events[tid].append(a + "d")
                    status = "Disabled" if a == "disable" else "Active"
                    rev += 1
            expect[tid] = (rev, status, set(modules))

        # Client tokens (ACC Contoso), by the Client admin token
        make("alpha", f"{P} alpha", description="first token", modules=[AM])
        make("beta", f"{P} beta", modules=[AM, BILLING])
        make("gamma", f"{P} gamma", description="", modules=[MARKETPLACE], actions=["disable"])
        make("delta", f"{P} delta", description="star a*b", puts=0)
        make("eps", f"{P} epsilon", description="star axxb", modules=[BILLING, COLLAB],
             icon=True)
        make("mixed1", f"{P} Mixed Case", description="100% _under_ !bang", modules=[AM])
        make("mixed2", f"{P} mixed case", description="back\\slash",
             actions=["disable", "enable"])
        make("quote1", f"{P} O'Brien", description="quote's", modules=[ACCOUNT_MGMT])
        make("quote2", f'{P} say "hi"', modules=[AM])
        make("special", f"{P} special", description="a,b;c|d(e)=f&g", modules=[BILLING])
        make("zeta", f"{P} zeta", modules=[AM, MARKETPLACE, BILLING], puts=4)
        make("theta", f"{P} theta", description="Percent-free", puts=2,
             actions=["disable"])
        make("deleted", f"{P} deleted one", modules=[AM], actions=["delete"])
        make("eta", f"{P} eta", description="first token", actions=["disable", "delete"])
        # another account's tokens with the same prefix (and one the same name)
        make("v_alpha", f"{P} alpha", token=cls.vendor_admin, description="first token",
             modules=[AM])
        make("v_other", f"{P} vendor only", token=cls.vendor_admin, actions=["disable"])
        make("v_deleted", f"{P} vendor gone", token=cls.vendor_admin, actions=["delete"])
        make("o_alpha", f"{P} ops alpha", token=cls.ops_admin, modules=[AM])

        rows = {}
        for tid in events:
            out = call("GET", f"{PLATFORM}/{tid}", token=cls.ops_admin)
            rev, status, ms = expect[tid]
            assert out["status"] == status, out
            assert mods(out) == ms or status == "Deleted", out
            if status != "Deleted":
                assert out["revision"] == rev, (out, rev)
            rows[tid] = out
        return P, key, rows, events

    # -- helpers -----------------------------------------------------------

    def who(self, token):
        return {self.client_admin: "client", self.vendor_admin: "vendor",
                self.ops_admin: "ops"}[token]

    def visible(self, token):
        """My rows the caller may see: its own account and not Deleted,
        or everything for Operations."""
        who = self.who(token)
        acc = {"client": self.client_acc, "vendor": self.vendor_acc}.get(who)
        return [r for r in self.rows.values()
                if who == "ops" or (r["account"]["id"] == acc and r["status"] != "Deleted")]

    def expect(self, pred, token=None):
        return {r["id"] for r in self.visible(token or self.client_admin) if pred(r)}

    def fetch(self, *parts, token=None, base=PLATFORM, limit="limit=1000"):
        """GET base?parts: the 200 body."""
        path = f"{base}?{qs(*parts, limit)}"
        st, h, body = self.req("GET", path, token=token or self.client_admin)
        self.assertEqual(st, 200, (path, body))
        self.assertEqual(media_type(h), "application/json")
        return body

    def ids(self, *parts, token=None, base=PLATFORM):
        """The ids a list returns, in order; checks total = len(data)."""
        body = self.fetch(*parts, token=token, base=base)
        ids = [t["id"] for t in body["data"]]
        self.assertEqual(body["$meta"]["pagination"]["total"], len(ids), (parts, body))
        self.assertEqual(len(set(ids)), len(ids), ids)
        return ids

    def mine(self, *parts, token=None, base=PLATFORM):
        """ids of a filter ANDed with my prefix (a separate part, so joined
        with '&'); the filter must not have a top-level or."""
        return self.ids(f"like(name,{self.P}*)", *parts, token=token, base=base)

    def assertFilter(self, parts, pred, token=None, base=PLATFORM):
        if isinstance(parts, str):
            parts = (parts,)
        with self.subTest(query=qs(*parts), caller=self.who(token or self.client_admin)):
            got = set(self.mine(*parts, token=token, base=base))
            want = self.expect(pred, token)
            self.assertEqual(got, want, f"{qs(*parts)}: extra {got - want}, missing {want - got}")
            return got

    def assertRqlError(self, path, key="rql", token=None, needles=()):
        st, h, body = self.req("GET", path, token=token or self.client_admin)
        self.assertEqual(st, 400, (path, body))
        self.assertEqual(media_type(h), "application/problem+json", body)
        self.assertEqual(body.get("title"), "Bad Request", body)
        errs = (body.get("errors") or {}).get(key)
        self.assertTrue(isinstance(errs, list) and errs and all(isinstance(m, str) for m in errs),
                        (path, body))
        for n in needles:
            self.assertIn(n, " ".join(errs), (path, body))
        self.assertNotIn("data", body)
        return body

    def assertConfined(self, data, acc):
        for t in data:
            self.assertEqual(t["account"]["id"], acc, t)
            self.assertNotEqual(t["status"], "Deleted", t)

    def walk(self, *parts, token=None, base=PLATFORM, limit=1000):
        """Every row of a list, page by page."""
        out, offset = [], 0
        while True:
            body = self.fetch(*parts, f"offset={offset}", token=token, base=base,
                              limit=f"limit={limit}")
            out += body["data"]
            offset += limit
            if offset >= body["$meta"]["pagination"]["total"]:
                return out


class Operators(RqlBase):
    def test_data_set(self):
        # the model the other cases compute from
        client = self.visible(self.client_admin)
        self.assertEqual(len(client), 12)
        self.assertEqual(len(self.visible(self.vendor_admin)), 2)
        self.assertEqual(len(self.visible(self.ops_admin)), len(self.rows))
        got = self.mine()
        self.assertEqual(set(got), {r["id"] for r in client})

    def test_eq_ne(self):
        P, k = self.P, self.key
        self.assertFilter(f"eq(id,{k['beta']})", lambda r: r["id"] == k["beta"])
        self.assertFilter(f"eq(name,{P} zeta)", lambda r: r["name"] == f"{P} zeta")
        self.assertFilter("eq(status,Disabled)", lambda r: r["status"] == "Disabled")
        # enums match case-insensitively
        self.assertFilter("eq(status,disabled)", lambda r: r["status"] == "Disabled")
        self.assertFilter("eq(status,ACTIVE)", lambda r: r["status"] == "Active")
        self.assertFilter("ne(status,Active)", lambda r: r["status"] != "Active")
        self.assertFilter("eq(description,first token)",
                          lambda r: r.get("description") == "first token")
        # null-safe negation: no description is "not equal"
        self.assertFilter("ne(description,first token)",
                          lambda r: r.get("description") != "first token")
        self.assertFilter("eq(revision,3)", lambda r: r["revision"] == 3)
        self.assertFilter("ne(revision,1)", lambda r: r["revision"] != 1)
        self.assertFilter(f"eq(account.id,{self.client_acc})", lambda r: True)
        self.assertFilter("eq(account.type,client)", lambda r: True)
        self.assertFilter("eq(account.name,Contoso Ltd.)", lambda r: True)
        self.assertFilter(f"eq(audit.created.by.id,{self.client_admin_id})", lambda r: True)
        self.assertFilter(f"eq(audit.updated.by.id,{self.client_admin_id})",
                          lambda r: "updated" in r["audit"])
        icon = self.rows[k["eps"]]["icon"]
        self.assertTrue(icon.endswith(f"/{k['eps']}/icon"), icon)
        self.assertFilter(f"eq(icon,{icon})", lambda r: r.get("icon") == icon)
        self.assertFilter(f"ne(icon,{icon})", lambda r: r.get("icon") != icon)

    def test_gt_ge_lt_le_numbers(self):
        for op, fn in (("gt", lambda a, b: a > b), ("ge", lambda a, b: a >= b),
                       ("lt", lambda a, b: a < b), ("le", lambda a, b: a <= b)):
            for v in (1, 2, 3, 5):
                self.assertFilter(f"{op}(revision,{v})",
                                  lambda r, fn=fn, v=v: fn(r["revision"], v))
        # typed: 10 > 5 as numbers (as text "10" < "5")
        self.assertFilter("lt(revision,10)", lambda r: r["revision"] < 10)
        self.assertFilter("gt(revision,10)", lambda r: False)
        self.assertFilter("ge(revision,-1)", lambda r: True)

    def test_gt_lt_text(self):
        P = self.P
        # the names differ in letters after the prefix: the column's
        # case-insensitive collation orders them as lower() does
        self.assertFilter(f"lt(name,{P} c)", lambda r: r["name"].lower() < f"{P} c".lower())
        self.assertFilter(f"ge(name,{P} m)", lambda r: r["name"].lower() >= f"{P} m".lower())
        self.assertFilter(f"and(gt(name,{P} d),le(name,{P} eta))",
                          lambda r: f"{P} d".lower() < r["name"].lower() <= f"{P} eta".lower())

    def test_dates(self):
        mine = sorted(self.visible(self.client_admin), key=lambda r: (created_at(r), r["id"]))
        stamps = [created_at(r) for r in mine]
        t2, t5, t9 = stamps[2], stamps[5], stamps[9]
        for op, fn in (("gt", lambda a, b: a > b), ("ge", lambda a, b: a >= b),
                       ("lt", lambda a, b: a < b), ("le", lambda a, b: a <= b),
                       ("eq", lambda a, b: a == b), ("ne", lambda a, b: a != b)):
            self.assertFilter(f"{op}(audit.created.at,{t5})",
                              lambda r, fn=fn: fn(created_at(r), t5))
        self.assertFilter(f"and(ge(audit.created.at,{t2}),lt(audit.created.at,{t9}))",
                          lambda r: t2 <= created_at(r) < t9)
        # a date alone is its midnight
        day = t5[:10]
        self.assertFilter(f"ge(audit.created.at,{day})",
                          lambda r: created_at(r) >= f"{day}T00:00:00.000Z")
        self.assertFilter(f"lt(audit.created.at,{day})",
                          lambda r: created_at(r) < f"{day}T00:00:00.000Z")
        # fewer fraction digits: .5 is 500 ms, .12 is 120 ms
        for cut in (22, 21):
            short = t5[:cut] + "Z"
            full = t5[:cut] + "0" * (23 - cut) + "Z"
            self.assertFilter(f"ge(audit.created.at,{short})",
                              lambda r, full=full: created_at(r) >= full)
            self.assertFilter(f"lt(audit.created.at,{short})",
                              lambda r, full=full: created_at(r) < full)
        sec = t5[:19]
        self.assertFilter(f"ge(audit.created.at,{sec}.5Z)",
                          lambda r: created_at(r) >= f"{sec}.500Z")
        self.assertFilter(f"lt(audit.created.at,{sec}Z)",
                          lambda r: created_at(r) < f"{sec}.000Z")
        self.assertFilter("gt(audit.created.at,2000-01-01)", lambda r: True)
        self.assertFilter("lt(audit.created.at,2000-01-01T00:00:00.000Z)", lambda r: False)
        # audit.updated.at: NULL for the tokens never updated
        self.assertFilter("eq(audit.updated.at,null())", lambda r: "updated" not in r["audit"])
        self.assertFilter(f"ge(audit.updated.at,{t2})",
                          lambda r: r["audit"].get("updated", {}).get("at", "") >= t2)
        # never used: lastAccessAt is NULL everywhere
        self.assertFilter("eq(lastAccessAt,null())", lambda r: "lastAccessAt" not in r)
        self.assertFilter("gt(lastAccessAt,2000-01-01)", lambda r: "lastAccessAt" in r)

    def test_like_ilike(self):
        P = self.P
        self.assertFilter(f"like(name,{P}*a)", lambda r: like_match(f"{P}*a", r["name"]))
        self.assertFilter(f"like(name,{P} m*)", lambda r: r["name"].startswith(f"{P} m"))
        self.assertFilter(f"like(name,{P} M*)", lambda r: r["name"].startswith(f"{P} M"))
        got = self.assertFilter(f"ilike(name,{P} m*)",
                                lambda r: r["name"].lower().startswith(f"{P} m".lower()))
        self.assertEqual(got, {self.key["mixed1"], self.key["mixed2"]})
        # like is case-sensitive, ilike is not
        self.assertFilter(f"like(name,{P.lower()}*)", lambda r: r["name"].startswith(P.lower()))
        self.assertFilter(f"ilike(name,{P.upper()}*)", lambda r: True)
        self.assertFilter("ilike(name,*CASE)", lambda r: r["name"].lower().endswith("case"))
        self.assertFilter("ilike(name,*e*)", lambda r: "e" in r["name"].lower())
        self.assertFilter("like(description,star*)",
                          lambda r: like_match("star*", r.get("description")))
        self.assertFilter("ilike(description,*STAR*)",
                          lambda r: "star" in (r.get("description") or "").lower())

    def test_wildcards_and_literal_characters(self):
        # '*' is the wildcard, '\*' a literal star, '\\' a literal backslash;
        # % _ ! are plain characters
        for pat in ("*a*b*", "*a\\*b*", "star a\\*b", "star a*b", "*\\\\*", "*%*", "*_*",
                    "*!*", "100% !_under!_ *", "*_under_*", "*'*", "*,*", "*(e)=f&g",
                    "a,b;c|d(e)=f&g", "????", "*x*b", "star*"):
            if "'" in pat:
                q = f'like(description,"{pat}")'
            elif any(c in pat for c in "(),&;|=\""):
                q = f"like(description,'{pat}')"
            else:
                q = f"like(description,{pat})"
            self.assertFilter(q, lambda r, pat=pat: like_match(pat, r.get("description")))
        got = self.assertFilter("like(description,*a\\*b)",
                                lambda r: like_match("*a\\*b", r.get("description")))
        self.assertEqual(got, {self.key["delta"]})
        got = self.assertFilter("like(description,*\\\\*)",
                                lambda r: "\\" in (r.get("description") or ""))
        self.assertEqual(got, {self.key["mixed2"]})
        got = self.assertFilter("like(description,*%*)", lambda r: "%" in (r.get("description")
                                                                          or ""))
        self.assertEqual(got, {self.key["mixed1"]})

    def test_in_out(self):
        k = self.key
        pick = [k["alpha"], k["gamma"], k["v_alpha"], k["deleted"]]
        self.assertFilter(f"in(id,({','.join(pick)}))", lambda r: r["id"] in pick)
        self.assertFilter(f"in(id,{k['beta']})", lambda r: r["id"] == k["beta"])
        self.assertFilter(f"out(id,({','.join(pick)}))", lambda r: r["id"] not in pick)
        self.assertFilter("in(status,(Disabled,Deleted))",
                          lambda r: r["status"] in ("Disabled", "Deleted"))
        self.assertFilter("out(status,(active))", lambda r: r["status"] != "Active")
        self.assertFilter("in(revision,(2,3))", lambda r: r["revision"] in (2, 3))
        # null-safe: no description is "not in"
        self.assertFilter("out(description,(first token,quote's))".replace("quote's",
                                                                          "'quote\\'s'"),
                          lambda r: r.get("description") not in ("first token", "quote's"))
        self.assertFilter("in(description,(first token,\"quote's\"))",
                          lambda r: r.get("description") in ("first token", "quote's"))

    def test_and_or_not(self):
        self.assertFilter("and(eq(status,Active),gt(revision,1))",
                          lambda r: r["status"] == "Active" and r["revision"] > 1)
        self.assertFilter("or(eq(status,Disabled),eq(revision,2),eq(description,first token))",
                          lambda r: r["status"] == "Disabled" or r["revision"] == 2
                          or r.get("description") == "first token")
        self.assertFilter("and(eq(status,Active))", lambda r: r["status"] == "Active")
        # not() is null-safe too
        self.assertFilter("not(eq(description,first token))",
                          lambda r: r.get("description") != "first token")
        self.assertFilter("not(or(eq(status,Disabled),gt(revision,2)))",
                          lambda r: not (r["status"] == "Disabled" or r["revision"] > 2))
        self.assertFilter("not(not(eq(status,Disabled)))", lambda r: r["status"] == "Disabled")
        self.assertFilter("and(or(eq(revision,1),eq(revision,3)),not(any(modules)))",
                          lambda r: r["revision"] in (1, 3) and not mods(r))

    def test_null_and_empty(self):
        self.assertFilter("eq(description,null())", lambda r: "description" not in r)
        self.assertFilter("ne(description,null())", lambda r: "description" in r)
        self.assertFilter("eq(description,empty())", lambda r: not r.get("description"))
        self.assertFilter("ne(description,empty())", lambda r: bool(r.get("description")))
        self.assertFilter("eq(icon,null())", lambda r: "icon" not in r)
        self.assertFilter("ne(icon,null())", lambda r: "icon" in r)
        self.assertFilter("eq(icon,empty())", lambda r: "icon" not in r)
        self.assertFilter("eq(audit.updated.by.id,null())", lambda r: "updated" not in r["audit"])
        # "description": "" was stored as none: null() and empty() agree
        gamma = self.key["gamma"]
        self.assertNotIn("description", self.rows[gamma])
        self.assertIn(gamma, self.mine("eq(description,null())"))

    def test_modules(self):
        self.assertFilter(f"any(modules,eq(id,{AM}))", lambda r: AM in mods(r))
        self.assertFilter(f"modules.id={AM}", lambda r: AM in mods(r))
        self.assertFilter(f"eq(modules.id,{AM})", lambda r: AM in mods(r))
        self.assertFilter(f"not(any(modules,eq(id,{AM})))", lambda r: AM not in mods(r))
        # any(modules, ne(id, X)): some module other than X
        self.assertFilter(f"any(modules,ne(id,{AM}))", lambda r: bool(mods(r) - {AM}))
        self.assertFilter(f"ne(modules.id,{AM})", lambda r: bool(mods(r) - {AM}))
        self.assertFilter("any(modules)", lambda r: bool(mods(r)))
        self.assertFilter(f"in(modules.id,({BILLING},{COLLAB}))",
                          lambda r: bool(mods(r) & {BILLING, COLLAB}))
        self.assertFilter(f"any(modules,and(eq(id,{BILLING}),eq(name,Billing)))",
                          lambda r: BILLING in mods(r))
        self.assertFilter(f"and(modules.id={AM},modules.id={BILLING})",
                          lambda r: {AM, BILLING} <= mods(r))
        self.assertFilter("eq(modules.name,Access Management)", lambda r: AM in mods(r))
        self.assertFilter("ilike(modules.name,*MARKET*)", lambda r: MARKETPLACE in mods(r))
        self.assertFilter("any(modules,like(name,*Management))",
                          lambda r: bool(mods(r) & {AM, ACCOUNT_MGMT}))

    def test_shortcuts_and_separators(self):
        P = self.P
        self.assertFilter("status=Disabled", lambda r: r["status"] == "Disabled")
        self.assertFilter(("status=Active", "revision=3"),
                          lambda r: r["status"] == "Active" and r["revision"] == 3)
        # top-level ',' and '&' are and
        self.assertFilter("status=Active,revision=3",
                          lambda r: r["status"] == "Active" and r["revision"] == 3)
        # an encoded '&' does not split the query string, but the filter
        # text it decodes to uses it as and (unquoted values never hold it)
        self.assertFilter("status=Active&revision=1",  # one part: sent as %26
                          lambda r: r["status"] == "Active" and r["revision"] == 1)
        want = self.expect(lambda r: r["status"] == "Active" and r["revision"] == 1)
        got = set(self.ids(f"like(name,{P}*)&status=Active&revision=1"))
        self.assertEqual(got, want)
        # '|' and ';' are or; each branch scoped to my rows
        for sep in "|;":
            got = set(self.ids(f"like(name,{P}*),status=Disabled{sep}like(name,{P}*),revision=3"))
            self.assertEqual(got, self.expect(lambda r: r["status"] == "Disabled"
                                              or r["revision"] == 3), sep)
        self.assertFilter("(status=Disabled|revision=3)",
                          lambda r: r["status"] == "Disabled" or r["revision"] == 3)
        self.assertFilter("(status=Disabled;revision=5),ne(id,x)",
                          lambda r: r["status"] == "Disabled" or r["revision"] == 5)

    def test_precedence(self):
        P = self.P
        dis = lambda r: r["status"] == "Disabled"  # noqa: E731
        rev3 = lambda r: r["revision"] == 3  # noqa: E731
        # and binds tighter than or: a,b|c,d is (a and b) or (c and d); read
        # left to right or with or first it would be P and rev3
        want = self.expect(lambda r: dis(r) or rev3(r))
        self.assertNotEqual(want, self.expect(rev3))
        for q in (f"like(name,{P}*),status=Disabled|like(name,{P}*),revision=3",
                  f"like(name,{P}*)&status=Disabled;like(name,{P}*)&revision=3"):
            self.assertEqual(set(self.ids(q)), want, q)
        # the filter parts of a query string are joined with '&': ?a|b&c is
        # a or (b and c)
        z = lambda r: r["name"].startswith(f"{P} z")  # noqa: E731
        got = set(self.ids(f"like(name,{P}*)", f"status=Disabled|like(name,{P} z*)",
                           "revision=5"))
        self.assertEqual(got, self.expect(lambda r: dis(r) or (z(r) and r["revision"] == 5)))
        # parentheses group
        got = set(self.ids(f"like(name,{P}*)&(status=Disabled|revision=3)&revision=2"))
        self.assertEqual(got, self.expect(lambda r: (dis(r) or rev3(r)) and r["revision"] == 2))

    def test_quoting(self):
        P, k = self.P, self.key
        for q, tid in ((f"eq(name,\"{P} O'Brien\")", k["quote1"]),
                       (f"eq(name,'{P} O\\'Brien')", k["quote1"]),
                       (f"eq(name,'{P} say \"hi\"')", k["quote2"]),
                       (f"eq(name,\"{P} say \\\"hi\\\"\")", k["quote2"]),
                       (f"name='{P} say \"hi\"'", k["quote2"]),
                       ("eq(description,'a,b;c|d(e)=f&g')", k["special"]),
                       ("eq(description,\"a,b;c|d(e)=f&g\")", k["special"]),
                       ("description='a,b;c|d(e)=f&g'", k["special"]),
                       ("eq(description,'quote\\'s')", k["quote1"]),
                       ("eq(description,'back\\\\slash')", k["mixed2"]),
                       ("eq(description,'first token')", None),
                       (f"eq(id,'{k['beta']}')", k["beta"]),
                       ("eq(revision,'5')", k["zeta"])):
            with self.subTest(q=q):
                got = self.mine(q)
                if tid is None:
                    self.assertEqual(set(got), self.expect(
                        lambda r: r.get("description") == "first token"))
                else:
                    self.assertEqual(got, [tid])
        # spaces around items are insignificant, inside quotes they stay
        self.assertEqual(self.mine(f"eq( name , '{P} zeta' )"), [k["zeta"]])
        self.assertEqual(self.mine(f"eq(name,' {P} zeta')"), [])

    def test_percent_encoding(self):
        P, k = self.P, self.key
        beta = k["beta"]
        # raw, with %20 in a quoted value, as the SPEC's example
        raw = f"and(eq(id,'{beta}'),eq(name,'{P}%20beta'))"
        st, _, body = self.req("GET", f"{PLATFORM}?{raw}", token=self.client_admin)
        self.assertEqual(st, 200, body)
        self.assertEqual([t["id"] for t in body["data"]], [beta])
        # fully encoded
        enc = urllib.parse.quote(f"and(eq(id,'{beta}'),eq(name,'{P} beta'))", safe="")
        self.assertIn("%28", enc)
        st, _, body = self.req("GET", f"{PLATFORM}?{enc}&select=%2Bmodules%2C-description",
                               token=self.client_admin)
        self.assertEqual(st, 200, body)
        self.assertEqual([t["id"] for t in body["data"]], [beta])
        self.assertEqual(mods(body["data"][0]), {AM, BILLING})
        self.assertEqual(sorted(body["$meta"]["omitted"]), ["audit", "description"])
        # an encoded '&' does not split the query string: it is part of the value
        special = k["special"]
        path = f"{PLATFORM}?like(name,{P}*)&eq(description,'a,b;c|d(e)=f%26g')"
        st, _, body = self.req("GET", path, token=self.client_admin)
        self.assertEqual(st, 200, body)
        self.assertEqual([t["id"] for t in body["data"]], [special])
        # encoded order, limit, select keys work like raw ones
        st, _, body = self.req("GET", f"{PLATFORM}?like%28name%2C{P}%2A%29&order%3D-revision"
                               "&limit%3D2", token=self.client_admin)
        self.assertEqual(st, 200, body)
        self.assertEqual(body["$meta"]["pagination"]["limit"], 2)
        self.assertEqual([t["id"] for t in body["data"]], [
            t["id"] for t in sort_rows(self.visible(self.client_admin),
                                       [(lambda r: r["revision"], True)])[:2]])
        # a bad escape is a 400, not a 500
        self.assertRqlError(f"{PLATFORM}?eq(name,%zz)")

    def test_settings_mount_same_answers(self):
        P = self.P
        for parts in ((f"like(name,{P}*)",), (f"like(name,{P}*)", f"any(modules,eq(id,{AM}))"),
                      (f"like(name,{P}*)", "ne(status,Active)", "order=-revision,+name")):
            with self.subTest(parts=parts):
                self.assertEqual(self.ids(*parts), self.ids(*parts, base=SETTINGS))


class Ordering(RqlBase):
    def assertOrder(self, order, keys, token=None, base=PLATFORM):
        token = token or self.client_admin
        with self.subTest(order=order, caller=self.who(token)):
            got = self.mine(f"order={order}", token=token, base=base)
            want = [r["id"] for r in sort_rows(self.visible(token), keys)]
            self.assertEqual(got, want)

    def test_orders(self):
        rev = lambda r: r["revision"]  # noqa: E731
        name = lambda r: r["name"].lower()  # noqa: E731
        status = lambda r: r["status"]  # noqa: E731
        self.assertOrder("-revision,+name", [(rev, True), (name, False)])
        self.assertOrder("-revision,name", [(rev, True), (name, False)])
        self.assertOrder("+revision,-name", [(rev, False), (name, True)])
        # equal names ("Mixed Case", "mixed case" in a case-insensitive
        # collation) and equal statuses fall back on the id
        self.assertOrder("name", [(name, False)])
        self.assertOrder("-name", [(name, True)])
        self.assertOrder("status", [(status, False)])
        self.assertOrder("-status", [(status, True)])
        self.assertOrder("status,-revision", [(status, False), (rev, True)])
        self.assertOrder("-audit.created.at", [(created_at, True)])
        self.assertOrder("audit.created.at", [(created_at, False)])
        self.assertOrder("+revision,-audit.created.at", [(rev, False), (created_at, True)])
        # all NULL: the tie-break alone
        self.assertOrder("lastAccessAt", [(lambda r: 0, False)])
        self.assertOrder("-lastAccessAt", [(lambda r: 0, True)])
        # modules: the smallest id, none first
        self.assertOrder("modules.id", [(lambda r: nulls_first(min(mods(r), default=None)),
                                         False)])
        self.assertOrder("-modules.id,name", [(lambda r: nulls_first(min(mods(r), default=None)),
                                               True), (name, False)])
        self.assertOrder("icon", [(lambda r: nulls_first(r.get("icon")), False)])
        # an id key ends the order: nothing after it matters
        self.assertOrder("-revision,id", [(rev, True), (lambda r: r["id"], False)])
        self.assertOrder("-id", [(lambda r: r["id"], True)])
        # the default: newest first
        got = self.mine()
        self.assertEqual(got, [r["id"] for r in sort_rows(self.visible(self.client_admin),
                                                          [(created_at, True)])])
        self.assertEqual(got, self.mine("order="))

    def test_orders_operations(self):
        acc = lambda r: r["account"]["id"]  # noqa: E731
        status = lambda r: r["status"]  # noqa: E731
        self.assertOrder("account.id,-audit.created.at", [(acc, False), (created_at, True)],
                         token=self.ops_admin)
        self.assertOrder("-account.type,status", [(lambda r: r["account"]["type"], True),
                                                   (status, False)], token=self.ops_admin)
        # enums sort by their text: Active < Deleted < Disabled
        self.assertOrder("status", [(status, False)], token=self.ops_admin)
        got = self.mine(token=self.ops_admin)
        self.assertEqual(got, [r["id"] for r in sort_rows(self.visible(self.ops_admin),
                                                          [(created_at, True)])])


class Paging(RqlBase):
    def walk_pages(self, parts, token, size=3, base=PLATFORM):
        whole = self.fetch(*parts, token=token, base=base)
        total = whole["$meta"]["pagination"]["total"]
        self.assertEqual(len(whole["data"]), total)
        pages, offset = [], 0
        while offset < total:
            body = self.fetch(*parts, f"offset={offset}", token=token, base=base,
                              limit=f"limit={size}")
            self.assertEqual(body["$meta"]["pagination"],
                             {"offset": offset, "limit": size, "total": total})
            self.assertEqual(len(body["data"]), min(size, total - offset))
            pages += [t["id"] for t in body["data"]]
            offset += size
        self.assertEqual(pages, [t["id"] for t in whole["data"]])
        self.assertEqual(len(set(pages)), total)
        # past the end: nothing, with the total
        body = self.fetch(*parts, f"offset={total}", token=token, base=base, limit="limit=3")
        self.assertEqual(body["data"], [])
        self.assertEqual(body["$meta"]["pagination"]["total"], total)
        return pages

    def test_walk_every_page(self):
        P = self.P
        for token in (self.client_admin, self.ops_admin, self.vendor_admin):
            for order in ("", "order=-revision,+name", "order=status", "order=name",
                          "order=-lastAccessAt"):
                with self.subTest(caller=self.who(token), order=order):
                    pages = self.walk_pages((f"like(name,{P}*)", order), token)
                    self.assertEqual(set(pages), {r["id"] for r in self.visible(token)})
        with self.subTest(base=SETTINGS):
            self.walk_pages((f"like(name,{P}*)", "order=status"), self.client_admin,
                            base=SETTINGS)
        with self.subTest(size=1):
            self.walk_pages((f"ilike(name,{P}*)", "ne(status,Disabled)"), self.client_admin,
                            size=1)

    def test_limit_zero_and_caps(self):
        P = self.P
        n = len(self.visible(self.client_admin))
        body = self.fetch(f"like(name,{P}*)", limit="limit=0")
        self.assertEqual(body["data"], [])
        self.assertEqual(body["$meta"]["pagination"], {"offset": 0, "limit": 0, "total": n})
        body = self.fetch(f"like(name,{P}*)", "offset=2", limit="limit=0")
        self.assertEqual(body["$meta"]["pagination"], {"offset": 2, "limit": 0, "total": n})
        body = self.fetch(f"like(name,{P}*)", limit="")
        self.assertEqual(body["$meta"]["pagination"]["limit"], 10)
        self.assertEqual(len(body["data"]), min(10, n))
        body = self.fetch(f"like(name,{P}*)", limit="limit=1001")
        self.assertEqual(body["$meta"]["pagination"]["limit"], 1000)
        self.assertEqual(len(body["data"]), n)
        body = self.fetch(f"like(name,{P}*)", limit="limit=99999999999999999999")
        self.assertEqual(body["$meta"]["pagination"]["limit"], 1000)


class Select(RqlBase):
    ALL = ["id", "name", "description", "icon", "status", "lastAccessAt", "account",
           "modules", "audit", "revision"]

    def test_default_omits_modules_and_audit(self):
        body = self.fetch(f"like(name,{self.P}*)")
        self.assertEqual(sorted(body["$meta"]["omitted"]), ["audit", "modules"])
        for t in body["data"]:
            self.assertNotIn("modules", t)
            self.assertNotIn("audit", t)
            self.assertNotIn("token", t)
            want = {k: v for k, v in self.rows[t["id"]].items() if k not in ("modules", "audit")}
            self.assertEqual(t, want)

    def test_select_items(self):
        P = self.P
        for sel, returned in (
                ("+modules,-description", {"id", "name", "icon", "status", "lastAccessAt",
                                           "account", "modules", "revision"}),
                ("+modules,+audit", set(self.ALL)),
                ("modules,audit", set(self.ALL)),
                ("+audit.created", set(self.ALL) - {"modules"}),
                ("+modules.id", set(self.ALL) - {"audit"}),
                ("-name,-account,-status,-revision,-icon,-lastAccessAt,-description", {"id"}),
                ("-id", set(self.ALL) - {"modules", "audit"}),
                ("-id,-name,+audit", set(self.ALL) - {"modules", "name"}),
                ("", set(self.ALL) - {"modules", "audit"})):
            with self.subTest(select=sel):
                body = self.fetch(f"like(name,{P}*)", f"select={sel}")
                self.assertEqual(sorted(body["$meta"]["omitted"]),
                                 sorted(set(self.ALL) - returned))
                self.assertEqual(len(body["data"]), len(self.visible(self.client_admin)))
                for t in body["data"]:
                    # id is always returned, whatever select says
                    self.assertIn("id", t)
                    full = self.rows[t["id"]]
                    want = {k: v for k, v in full.items() if k in returned}
                    self.assertEqual(t, want)

    def test_select_refused(self):
        P = self.P
        for sel in ("token", "+token", "+modules,token", "%2Btoken"):
            with self.subTest(select=sel):
                self.assertRqlError(f"{PLATFORM}?like(name,{P}*)&select={sel}", key="select")
        for sel in ("bogus", "-modules.id", "+", ",", "+name,,-id"):
            with self.subTest(select=sel):
                self.assertRqlError(f"{PLATFORM}?{qs(f'select={sel}')}", key="select")
        self.assertRqlError(f"{PLATFORM}?select=bogus", key="select", needles=["bogus"])


class Confinement(RqlBase):
    def test_client_never_sees_other_accounts(self):
        k, V, C = self.key, self.vendor_acc, self.client_acc
        for base in (PLATFORM, SETTINGS):
            for q in (f"eq(id,{k['v_alpha']})", f"eq(id,{k['o_alpha']})",
                      f"in(id,({k['v_alpha']},{k['v_other']},{k['o_alpha']}))",
                      f"eq(account.id,{V})", f"account.id={V}",
                      f"ne(account.id,{C})", f"not(eq(account.id,{C}))",
                      f"out(account.id,({C}))", "eq(account.type,Vendor)",
                      "ne(account.type,Client)", "eq(account.name,Fabrikam Software)",
                      f"eq(audit.created.by.id,{self.vendor_admin_id})",
                      "status=Deleted", f"eq(id,{k['deleted']})", f"eq(id,{k['eta']})",
                      f"in(id,({k['deleted']},{k['eta']}))", "eq(status,deleted)",
                      f"eq(account.id,{V})|eq(account.id,ACC-0000-0000)",
                      f"or(eq(account.id,{V}),eq(account.type,Operations))"):
                with self.subTest(base=base, q=q):
                    body = self.fetch(q, token=self.client_admin, base=base)
                    self.assertEqual(body["data"], [], body)
                    self.assertEqual(body["$meta"]["pagination"]["total"], 0)
            # or with the caller's own account: only the own rows come back
            for q in (f"or(eq(account.id,{V}),eq(account.id,{C}))",
                      f"eq(account.id,{V})|eq(account.id,{C})",
                      f"in(account.id,({V},{C}))", "in(status,(Active,Disabled,Deleted))",
                      "ne(status,Active)", "or(status=Deleted,status=Disabled)",
                      "not(eq(status,Active))", f"ne(account.id,{V})", "ilike(name,*)"):
                with self.subTest(base=base, q=q):
                    rows = self.walk(q, token=self.client_admin, base=base)
                    self.assertTrue(rows)
                    self.assertConfined(rows, C)
            # on my rows, exactly the Python answer
            self.assertFilter(f"or(eq(account.id,{V}),eq(account.id,{C}))", lambda r: True,
                              base=base)
            self.assertFilter(f"in(status,(Deleted,Active))", lambda r: r["status"] == "Active",
                              base=base)
            self.assertFilter(f"in(id,({','.join(self.key.values())}))", lambda r: True,
                              base=base)
            self.assertFilter("ne(status,Active)", lambda r: r["status"] == "Disabled",
                              base=base)

    def test_vendor_sees_its_own(self):
        k = self.key
        got = set(self.mine(token=self.vendor_admin))
        self.assertEqual(got, {k["v_alpha"], k["v_other"]})
        self.assertFilter(f"eq(account.id,{self.client_acc})", lambda r: False,
                          token=self.vendor_admin)
        self.assertFilter(f"eq(name,{self.P} alpha)", lambda r: r["name"] == f"{self.P} alpha",
                          token=self.vendor_admin)
        rows = self.walk(f"or(eq(account.id,{self.client_acc}),eq(account.id,{self.vendor_acc}))",
                         token=self.vendor_admin)
        self.assertConfined(rows, self.vendor_acc)

    def test_operations_sees_across_accounts(self):
        ops, k = self.ops_admin, self.key
        self.assertFilter("", lambda r: True, token=ops)
        for acc in (self.client_acc, self.vendor_acc, self.ops_acc):
            self.assertFilter(f"eq(account.id,{acc})", lambda r, acc=acc: r["account"]["id"] == acc,
                              token=ops)
        self.assertFilter(f"in(account.id,({self.client_acc},{self.vendor_acc}))",
                          lambda r: r["account"]["id"] != self.ops_acc, token=ops)
        self.assertFilter("status=Deleted", lambda r: r["status"] == "Deleted", token=ops)
        self.assertFilter("eq(account.type,vendor)", lambda r: r["account"]["type"] == "Vendor",
                          token=ops)
        self.assertFilter(f"eq(name,{self.P} alpha)", lambda r: r["name"] == f"{self.P} alpha",
                          token=ops)
        self.assertEqual(set(self.mine(f"eq(id,{k['deleted']})", token=ops)), {k["deleted"]})
        self.assertFilter(f"any(modules,eq(id,{AM}))", lambda r: AM in mods(r), token=ops)


class Errors(RqlBase):
    def test_bad_filters(self):
        for base in (PLATFORM, SETTINGS, RECORDS):
            for q, needles in (
                    ("eq(colour,red)", ["colour", "position 3"]),
                    ("frob(name,x)", ["frob", "position 0"]),
                    ("and(eq(name,x),frob(id,y))", ["frob", "position 15"]),
                    ("eq(name,x", ["position 2"]),
                    ("eq(name,x))", ["position 10"]),
                    ("and(eq(name,a)|eq(name,b))", ["position 14"]),
                    ("eq(name)", []), ("eq(name,a,b)", []), ("eq()", []), ("eq", []),
                    ("in(name,a,b)", []), ("in(name)", []), ("not(eq(name,a),eq(name,b))", []),
                    ("and()", []), ("or()", []), ("null()", []), ("eq(name,x)x", []),
                    ("eq(name,ab'c')", []), ("eq(name,'abc)", ["position 8"]),
                    ("name=a=b", []), ("=a", []), ("eq(name,x),", []), (",eq(name,x)", []),
                    ("eq(name,x)||eq(name,y)", []), ("(", []), (")", []), ("()", []),
                    ("eq('name',x)", []), ("any(colours,eq(id,x))", ["colours"]),
                    ("any(modules,eq(code,x))", ["code"]), ("eq(modules,x)", ["modules"])):
                if base == RECORDS:
                    # audit records have no name or modules: just a 400
                    needles = [n for n in needles if n == "frob" or n == "colour"] \
                        if not q.startswith("and(eq(name") else []
                    if "modules" in q:
                        continue
                with self.subTest(base=base, q=q):
                    self.assertRqlError(f"{base}?{qs(q)}", needles=needles)

    def test_bad_values(self):
        for q in ("eq(status,Gone)", "in(status,(Active,Gone))", "eq(account.type,Reseller)",
                  "gt(revision,abc)", "eq(revision,3.0)", "eq(revision,)", "lt(revision,1e3)",
                  "eq(revision,99999999999999999999)",
                  "gt(audit.created.at,yesterday)", "eq(audit.created.at,2026-02-30)",
                  "eq(audit.created.at,2026-1-1)", "eq(audit.created.at,2026-01-01T10:00:00)",
                  "eq(audit.created.at,2026-01-01T10:00:00.1234Z)",
                  "eq(audit.created.at,2026-01-01 10:00:00Z)",
                  "gt(description,null())", "like(description,null())",
                  "eq(revision,empty())", "eq(audit.created.at,empty())",
                  "like(revision,1*)", "ilike(audit.created.at,2026*)",
                  "in(name,(a,null()))", "eq(name,eq(id,x))"):
            with self.subTest(q=q):
                self.assertRqlError(f"{PLATFORM}?{qs(q)}")

    def test_bad_parameters(self):
        for path, key, needles in (
                (f"{PLATFORM}?order=colour", "order", ["colour"]),
                (f"{PLATFORM}?order=-", "order", []),
                (f"{PLATFORM}?order=name,,id", "order", []),
                (f"{PLATFORM}?order=name&order=id", "order", []),
                (f"{RECORDS}?order=summary", "order", ["summary"]),
                (f"{PLATFORM}?limit=abc", "limit", []),
                (f"{PLATFORM}?limit=-1", "limit", []),
                (f"{PLATFORM}?limit=1&limit=2", "limit", []),
                (f"{PLATFORM}?offset=-1", "offset", []),
                (f"{PLATFORM}?offset=1.5", "offset", []),
                (f"{PLATFORM}?offset=1&offset=1", "offset", []),
                (f"{PLATFORM}?offset=99999999999", "offset", []),
                (f"{PLATFORM}?select=colour", "select", ["colour"])):
            with self.subTest(path=path):
                self.assertRqlError(path, key=key, needles=needles)

    def test_depth_and_node_limits(self):
        P = self.P
        leaf = f"like(name,{P}*)"
        # 64 levels of nesting are fine (the leaf call is one), 65 are not
        for wrap in ("and(", "(", "not(not("):
            for levels, ok in ((64, True), (65, False), (300, False)):
                n = levels - 1
                if wrap == "not(not(":
                    if n % 2:
                        continue
                    q = "not(" * n + leaf + ")" * n
                else:
                    q = wrap * n + leaf + ")" * n
                with self.subTest(wrap=wrap, levels=levels):
                    path = f"{PLATFORM}?{qs(q)}"
                    if ok:
                        st, _, body = self.req("GET", f"{path}&limit=1000",
                                               token=self.client_admin)
                        self.assertEqual(st, 200, body)
                        self.assertEqual({t["id"] for t in body["data"]},
                                         self.expect(lambda r: True))
                    else:
                        self.assertRqlError(path, needles=["64"])
        # nodes: well under 256 passes, well over is refused
        ids = [f"TKN-0000-{i:04d}" for i in range(300)]
        for n, ok in ((200, True), (300, False)):
            q = f"in(id,({','.join(ids[:n])}))"
            with self.subTest(nodes=n):
                path = f"{PLATFORM}?{qs(q)}"
                if ok:
                    st, _, body = self.req("GET", path, token=self.client_admin)
                    self.assertEqual(st, 200, body)
                else:
                    self.assertRqlError(path, needles=["256"])
        many = "&".join(f"ne(id,TKN-0000-{i:04d})" for i in range(100))
        self.assertRqlError(f"{PLATFORM}?{many}", needles=["256"])

    def test_unknown_parameters_never_widen(self):
        # a bare word is no filter: 400, never "everything"
        for q in ("colour=red", "TRUE", "1", "eq(account.id,x))|(TRUE",
                  f"eq(account.id,{self.vendor_acc})%29%7C%28TRUE"):
            with self.subTest(q=q):
                st, _, body = self.req("GET", f"{PLATFORM}?{q}", token=self.client_admin)
                self.assertEqual(st, 400, body)
                self.assertNotIn("data", body)


class AuditRecords(RqlBase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.client_tids = [t for t, r in cls.rows.items() if r["account"]["id"] == cls.client_acc]
        cls.vendor_tids = [t for t, r in cls.rows.items() if r["account"]["id"] == cls.vendor_acc]

    def fetch(self, *parts, token=None, base=RECORDS, limit="limit=1000"):
        return super().fetch(*parts, token=token, base=base, limit=limit)

    def records(self, *parts, token=None, base=RECORDS):
        body = self.fetch(*parts, token=token, base=base)
        self.assertEqual(body["$meta"]["pagination"]["total"], len(body["data"]), body["$meta"])
        return body["data"]

    def events_of(self, tids):
        return Counter((t, EV + e) for t in tids for e in self.events[t])

    def test_filter_by_object_name_and_confinement(self):
        P = self.P
        for token, tids in ((self.client_admin, self.client_tids),
                            (self.vendor_admin, self.vendor_tids),
                            (self.ops_admin, list(self.rows))):
            with self.subTest(caller=self.who(token)):
                recs = self.records(f"like(object.name,{P}*)", token=token)
                self.assertEqual(Counter((r["object"]["id"], r["event"]) for r in recs),
                                 self.events_of(tids))
                # newest first, ties by id newest first
                self.assertEqual([r["id"] for r in recs],
                                 [r["id"] for r in sort_rows(recs, [(lambda r: r["timestamp"],
                                                                     True)])])
                self.assertEqual(self.fetch(f"like(object.name,{P}*)", token=token)
                                 ["$meta"]["omitted"], ["documents"])
                self.assertTrue(all("documents" not in r for r in recs))
                body = self.fetch(f"like(object.name,{P}*)", "select=+documents,-summary",
                                  token=token)
                self.assertEqual(sorted(body["$meta"]["omitted"]), ["summary"])
                self.assertEqual([r["id"] for r in body["data"]], [r["id"] for r in recs])
                for r in body["data"]:
                    self.assertIn("documents", r)
                    self.assertNotIn("summary", r)

    def test_client_cannot_reach_other_accounts_records(self):
        k, P = self.key, self.P
        # The Client's view is its own account's chain: records about its
        # tokens, whoever acted (an Operations admin may have acted on them
        # in other tests).  No filter may reach past it.
        for q in (f"eq(object.id,{k['v_alpha']})", f"eq(object.id,{k['o_alpha']})",
                  f"in(object.id,({k['v_alpha']},{k['v_other']}))",
                  f"eq(actor.id,{self.vendor_admin_id})",
                  f"eq(actor.account.id,{self.vendor_acc})",
                  f"eq(actor.account.id,{self.vendor_acc})|eq(actor.account.id,{self.ops_acc})",
                  f"and(like(object.name,{P}*),ne(actor.account.id,{self.client_acc}))"):
            with self.subTest(q=q):
                body = self.fetch(q, token=self.client_admin)
                got = {r["id"] for r in body["data"]}
                self.assertEqual(body["$meta"]["pagination"]["total"], len(got))
                if got:
                    chains = mariadb(self.stack, "SELECT DISTINCT account_id FROM audit_records"
                                     " WHERE id IN ('" + "','".join(sorted(got)) + "')")
                    self.assertEqual([c["account_id"] for c in chains], [self.client_acc])
                # none of the other accounts' tokens or of this run's
                # records outside the Client's own tokens
                self.assertFalse({r["object"]["id"] for r in body["data"]} &
                                 {k["v_alpha"], k["v_other"], k["o_alpha"]})
                if "like(object.name" in q:
                    self.assertEqual(body["data"], [])
        # or with its own token: only its own records
        got = self.records(f"or(eq(object.id,{k['v_alpha']}),eq(object.id,{k['zeta']}))")
        self.assertEqual(Counter((r["object"]["id"], r["event"]) for r in got),
                         self.events_of([k["zeta"]]))
        # Operations sees the vendor's
        got = self.records(f"eq(object.id,{k['v_alpha']})", token=self.ops_admin)
        self.assertEqual(Counter((r["object"]["id"], r["event"]) for r in got),
                         self.events_of([k["v_alpha"]]))

    def test_filter_by_object_event_actor(self):
        k, P = self.key, self.P
        zeta = k["zeta"]
        recs = self.records(f"eq(object.id,{zeta})")
        self.assertEqual([r["event"] for r in recs], [EV + e for e in reversed(self.events[zeta])])
        self.assertEqual([r["object"]["revision"] for r in recs], [5, 4, 3, 2, 1])
        recs = self.records(f"eq(object.id,{zeta})", f"eq(event,{EV}updated)")
        self.assertEqual(len(recs), 4)
        for ev in ("created", "updated", "disabled", "enabled", "deleted"):
            with self.subTest(event=ev):
                recs = self.records(f"like(object.name,{P}*)", f"event={EV}{ev}")
                want = Counter((t, EV + e) for t in self.client_tids
                               for e in self.events[t] if e == ev)
                self.assertEqual(Counter((r["object"]["id"], r["event"]) for r in recs), want)
        recs = self.records(f"like(object.name,{P}*)", f"eq(actor.id,{self.client_admin_id})")
        self.assertEqual(Counter((r["object"]["id"], r["event"]) for r in recs),
                         self.events_of(self.client_tids))
        recs = self.records(f"like(object.name,{P}*)", f"eq(actor.id,{self.client_admin_id})",
                            token=self.ops_admin)
        self.assertEqual(Counter((r["object"]["id"], r["event"]) for r in recs),
                         self.events_of(self.client_tids))
        recs = self.records(f"like(object.name,{P}*)", "like(event,*.disabled)",
                            f"ge(object.revision,2)", "object.objectType=ApiToken")
        self.assertEqual({r["object"]["id"] for r in recs},
                         {t for t in self.client_tids if "disabled" in self.events[t]})

    def test_timestamp_ranges(self):
        P = self.P
        recs = self.records(f"like(object.name,{P}*)")
        self.assertGreater(len(recs), 10)
        stamps = sorted(r["timestamp"] for r in recs)
        lo, mid, hi = stamps[3], stamps[len(stamps) // 2], stamps[-4]
        for op, fn in (("gt", lambda a: a > mid), ("ge", lambda a: a >= mid),
                       ("lt", lambda a: a < mid), ("le", lambda a: a <= mid),
                       ("eq", lambda a: a == mid)):
            with self.subTest(op=op):
                got = {r["id"] for r in self.records(f"like(object.name,{P}*)",
                                                     f"{op}(timestamp,{mid})")}
                self.assertEqual(got, {r["id"] for r in recs if fn(r["timestamp"])})
        got = {r["id"] for r in self.records(f"like(object.name,{P}*)",
                                             f"and(gt(timestamp,{lo}),le(timestamp,{hi}))")}
        self.assertEqual(got, {r["id"] for r in recs if lo < r["timestamp"] <= hi})
        # ascending order, tie-break ascending
        got = self.records(f"like(object.name,{P}*)", "order=timestamp")
        self.assertEqual([r["id"] for r in got],
                         [r["id"] for r in sort_rows(recs, [(lambda r: r["timestamp"], False)])])
        got = self.records(f"like(object.name,{P}*)", "order=object.id,-timestamp")
        self.assertEqual([r["id"] for r in got],
                         [r["id"] for r in sort_rows(recs, [(lambda r: r["object"]["id"], False),
                                                            (lambda r: r["timestamp"], True)])])

    def test_paging_records(self):
        P = self.P
        whole = self.records(f"like(object.name,{P}*)")
        pages, offset = [], 0
        while offset < len(whole):
            body = self.fetch(f"like(object.name,{P}*)", f"offset={offset}", limit="limit=4")
            self.assertEqual(body["$meta"]["pagination"],
                             {"offset": offset, "limit": 4, "total": len(whole)})
            pages += [r["id"] for r in body["data"]]
            offset += 4
        self.assertEqual(pages, [r["id"] for r in whole])

    def test_token_trail(self):
        k = self.key
        zeta, mixed2 = k["zeta"], k["mixed2"]
        for tid in (zeta, mixed2):
            trail = self.records(base=f"{SETTINGS}/{tid}/audit")
            self.assertEqual([r["event"] for r in trail], [EV + e for e in reversed(self.events[tid])])
        trail = self.records(f"eq(event,{EV}updated)", base=f"{SETTINGS}/{zeta}/audit")
        self.assertEqual(len(trail), 4)
        self.assertTrue(all(r["object"]["id"] == zeta for r in trail))
        # a filter on another object only narrows the trail
        for q in (f"eq(object.id,{k['v_alpha']})", f"eq(object.id,{mixed2})",
                  f"ne(object.id,{zeta})"):
            with self.subTest(q=q):
                body = self.fetch(q, base=f"{SETTINGS}/{zeta}/audit")
                self.assertEqual(body["data"], [])
                self.assertEqual(body["$meta"]["pagination"]["total"], 0)
        got = self.records(f"or(eq(object.id,{k['v_alpha']}),eq(object.id,{zeta}))",
                           base=f"{SETTINGS}/{zeta}/audit")
        self.assertEqual(len(got), len(self.events[zeta]))
        # another account's token's trail is 404 whatever the filter
        for q in ("", f"eq(object.id,{k['v_alpha']})", f"eq(object.id,{zeta})"):
            with self.subTest(other=q):
                st, _, body = self.req("GET", f"{SETTINGS}/{k['v_alpha']}/audit?{qs(q)}",
                                       token=self.client_admin)
                self.assertEqual(st, 404, body)
        # a Deleted token's trail: Operations only
        st, _, body = self.req("GET", f"{SETTINGS}/{k['deleted']}/audit", token=self.client_admin)
        self.assertEqual(st, 404, body)
        trail = self.records(base=f"{SETTINGS}/{k['deleted']}/audit", token=self.ops_admin)
        self.assertEqual([r["event"] for r in trail],
                         [EV + e for e in reversed(self.events[k["deleted"]])])
        # errors on the trail too
        self.assertRqlError(f"{SETTINGS}/{zeta}/audit?eq(colour,1)", needles=["colour"])


class ModuleCatalogue(RqlBase):
    def test_filter_and_order(self):
        ops = self.ops_admin
        every = self.fetch(token=ops, base=MODULES)["data"]
        self.assertGreaterEqual(len(every), 10)
        self.assertEqual([m["id"] for m in every], sorted(m["id"] for m in every))
        by = {m["id"]: m for m in every}

        def check(parts, pred, order=None):
            with self.subTest(q=parts):
                body = self.fetch(*parts, token=ops, base=MODULES)
                got = [m["id"] for m in body["data"]]
                self.assertEqual(body["$meta"]["pagination"]["total"], len(got))
                want = [m for m in every if pred(m)]
                if order:
                    want = sort_rows(want, order)
                self.assertEqual(got, [m["id"] for m in want])

        check(("like(code,*-management)",), lambda m: m["code"].endswith("-management"))
        check(("ilike(name,*MANAGEMENT*)",), lambda m: "management" in m["name"].lower())
        check((f"in(id,({AM},{MARKETPLACE}))",), lambda m: m["id"] in (AM, MARKETPLACE))
        check((f"ne(id,{AM})",), lambda m: m["id"] != AM)
        check(("code=billing",), lambda m: m["code"] == "billing")
        check(("eq(revision,1)",), lambda m: m["revision"] == 1)
        check(("ilike(description,*api tokens*)",),
              lambda m: "api tokens" in m.get("description", "").lower())
        check(("order=-name",), lambda m: True, [(lambda m: m["name"].lower(), True)])
        check(("order=code",), lambda m: True, [(lambda m: m["code"], False)])
        check(("like(code,*management)", "order=-id"), lambda m: m["code"].endswith("management"),
              [(lambda m: m["id"], True)])
        check(("order=revision",), lambda m: True, [(lambda m: m["revision"], False)])
        self.assertEqual(sorted(by), sorted(m["id"] for m in every))
        # errors
        self.assertRqlError(f"{MODULES}?eq(accountTypes,Client)", token=ops,
                            needles=["accountTypes"])
        self.assertRqlError(f"{MODULES}?order=description", key="order", token=ops)
        # others: 403 whatever the filter
        for token in (self.client_admin, self.vendor_admin):
            st, _, body = self.req("GET", f"{MODULES}?eq(id,{AM})", token=token)
            self.assertEqual(st, 403, body)

    def test_one_module_takes_the_list_select(self):
        ops = self.ops_admin
        path = f"{MODULES}/{AM}"
        st, _, full = self.req("GET", path, token=ops)
        self.assertEqual(st, 200, full)
        self.assertEqual(full["id"], AM)
        every = set(full)
        self.assertTrue({"id", "name", "code", "accountTypes", "revision"} <= every, full)
        for q, keys in (("select=name", every),
                        ("select=name,code", every),
                        ("select=name%2Ccode", every),
                        ("select=%2Bname", every),
                        ("select=-name", every - {"name"}),
                        ("select=-description,-accountTypes",
                         every - {"description", "accountTypes"}),
                        ("select=-name&select=-code", every - {"name", "code"}),
                        ("select=-id", every),
                        ("select=-name,-description,-code,-accountTypes,-revision", {"id"})):
            with self.subTest(query=q):
                st, _, one = self.req("GET", f"{path}?{q}", token=ops)
                self.assertEqual(st, 200, one)
                self.assertEqual(set(one), keys)
                self.assertEqual(one, {k: full[k] for k in keys})
        for q, key in (("select=nope", "select"), ("select=-name.x", "select"),
                       ("limit=1", "query")):
            with self.subTest(query=q):
                self.assertRqlError(f"{path}?{q}", key=key, token=ops)
        # still Operations only, whatever the select
        st, _, body = self.req("GET", f"{path}?select=name", token=self.client_admin)
        self.assertEqual(st, 403, body)


# -- EXPLAIN ------------------------------------------------------------------

# The statements of the default lists, as src/db_stmt.c's templates make them
# with TRUE for the empty filter and the RQL module's default order and
# limit (include/rql.h AT_RQL_LIMIT_DEFAULT); the bench list asks for 50.
TOKEN_COLUMNS = (
    "t.id, t.name, t.description, t.status, t.has_icon, t.last_access_at, t.revision,"
    " t.created_at, t.created_by_id, t.created_by_name,"
    " t.updated_at, t.updated_by_id, t.updated_by_name,"
    " t.enabled_at, t.enabled_by_id, t.enabled_by_name,"
    " t.disabled_at, t.disabled_by_id, t.disabled_by_name,"
    " t.deleted_at, t.deleted_by_id, t.deleted_by_name,"
    " a.id, a.name, a.type, a.status"
    " FROM tokens t JOIN accounts a ON a.id = t.account_id")
AUDIT_COLUMNS = (
    "r.id, r.account_id, r.seq, r.event, r.timestamp, r.summary, r.details,"
    " r.object_id, r.object_name, r.object_type, r.object_revision,"
    " r.actor_id, r.actor_name, r.actor_account_id, r.actor_account_name,"
    " r.request_ip, r.request_user_agent, r.request_id, r.documents, r.prev_hash, r.hash"
    " FROM audit_records r")
# a Client's page brings the account's kept total along, and its modules
# when selected (TOKEN_PAGE_ACCOUNT; the default list does not select them)
TOKEN_LIST_ACCOUNT = ("SELECT " + TOKEN_COLUMNS.replace(
                          " FROM tokens t",
                          ", IF(0, (SELECT COALESCE(GROUP_CONCAT(CONCAT(LENGTH(m.id), ':', m.id,"
                          " LENGTH(m.name), ':', m.name) ORDER BY m.id SEPARATOR ''), '')"
                          " FROM token_modules tm JOIN modules m ON m.id = tm.module_id"
                          " WHERE tm.token_id = t.id), NULL),"
                          " COALESCE((SELECT tokens FROM account_token_counts"
                          " WHERE account_id = '{acc}'), 0) FROM tokens t", 1) +
                      " WHERE t.account_id = '{acc}'"
                      " AND t.status <> 'Deleted' AND (TRUE)"
                      " ORDER BY t.created_at DESC, t.id DESC LIMIT {limit} OFFSET 0")
TOKEN_LIST = ("SELECT STRAIGHT_JOIN " + TOKEN_COLUMNS + " WHERE TRUE"
              " ORDER BY t.created_at DESC, t.id DESC LIMIT {limit} OFFSET 0")
AUDIT_LIST_OBJECT = ("SELECT " + AUDIT_COLUMNS + " WHERE r.object_id = '{obj}'"
                     " AND r.account_id = '{acc}' AND (TRUE)"
                     " ORDER BY r.timestamp DESC, r.id DESC LIMIT {limit} OFFSET 0")
AUDIT_LIST_ACCOUNT = ("SELECT " + AUDIT_COLUMNS + " WHERE r.account_id = '{acc}' AND (TRUE)"
                      " ORDER BY r.timestamp DESC, r.id DESC LIMIT {limit} OFFSET 0")
# apitokend's session settings that change plans (src/db.c DB_SESSION)
SESSION = "SET SESSION join_cache_level = 0; "
BIG = "ACC-9999-0001"
FILLER = 20000


def mariadb(stack, query):
    """Rows of a query over the stack's socket as the OS user (MariaDB's
    administrator there), each a dict by column name."""
    cmd = ["mariadb", "--no-defaults", "--protocol=socket",
           f"--socket={stack.env['APITOKEND_DB_SOCKET']}",
           "-u", pwd.getpwuid(os.getuid()).pw_name, "--batch", "--raw", "apitokend",
           "-e", SESSION + query]
    proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, timeout=600)
    if proc.returncode != 0:
        raise AssertionError(f"SQL failed: {query[:300]}\n{proc.stderr}")
    lines = proc.stdout.splitlines()
    if not lines:
        return []
    head = lines[0].split("\t")
    return [dict(zip(head, line.split("\t"))) for line in lines[1:]]


class Explain(OwnStack, unittest.TestCase):
    """A stack of its own: thousands of filler tokens and records in a
    throwaway account (as scripts/bench loads its million), so that the
    plans are the ones of a big table, not of a tiny one."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.load()

    @classmethod
    def load(cls):
        env = cls.stack.env
        cls.client_acc = env["APITOKEND_CLIENT_ACCOUNT_ID"]
        admin = env["APITOKEND_CLIENT_ADMIN_TOKEN"]
        # a few real tokens with records in the Client account
        cls.tid = None
        for i in range(5):
            st, _, out = cls.stack.request("POST", PLATFORM, {"name": f"explain {i}"},
                                           token=admin)
            assert st == 201, out
            cls.tid = out["id"]
        ts = "TIMESTAMP'2024-01-01 00:00:00' + INTERVAL seq * 7 SECOND"
        mariadb(cls.stack, f"""
SET unique_checks = 0, foreign_key_checks = 0;
INSERT INTO accounts (id, name, type, status, created_at)
VALUES ('{BIG}', 'Explain filler', 'Client', 'Active', UTC_TIMESTAMP(3));
INSERT IGNORE INTO tokens (id, account_id, name, description, status, secret_hash, has_icon,
	revision, created_at, created_by_id, created_by_name, deleted_at, deleted_by_id,
	deleted_by_name)
SELECT CONCAT('TKN-', LPAD(9000 + seq DIV 10000, 4, '0'), '-', LPAD(seq MOD 10000, 4, '0')),
	'{BIG}', CONCAT('filler ', seq), IF(seq MOD 3 = 0, NULL, 'filler'),
	IF(seq MOD 50 = 0, 'Deleted', IF(seq MOD 20 = 0, 'Disabled', 'Active')),
	IF(seq MOD 50 = 0, NULL, RANDOM_BYTES(32)), 0, 1, {ts}, 'USR-1000-0001', 'Ada Admin',
	IF(seq MOD 50 = 0, {ts}, NULL), IF(seq MOD 50 = 0, 'USR-1000-0001', NULL),
	IF(seq MOD 50 = 0, 'Ada Admin', NULL)
FROM seq_1_to_{FILLER};
INSERT IGNORE INTO audit_records (id, account_id, seq, event, timestamp, summary,
	object_id, object_name, object_type, object_revision, actor_id, actor_name,
	actor_account_id, actor_account_name, prev_hash, hash)
SELECT CONCAT('AUD-9999-', LPAD(seq DIV 10000, 4, '0'), '-', LPAD(seq MOD 10000, 4, '0'),
	'-0000'), '{BIG}', seq, 'platform.accounts.api-token.created', {ts}, 'filler',
	CONCAT('TKN-', LPAD(9000 + (seq DIV 2) DIV 10000, 4, '0'), '-',
	LPAD((seq DIV 2) MOD 10000, 4, '0')), 'filler', 'ApiToken', 1, 'USR-1000-0001',
	'Ada Admin', '{BIG}', 'Explain filler', RANDOM_BYTES(32), RANDOM_BYTES(32)
FROM seq_1_to_{FILLER * 2};
ANALYZE TABLE accounts, tokens, audit_records;
""")

    def explain(self, query):
        rows = mariadb(self.stack, "EXPLAIN " + query)
        self.assertTrue(rows)
        return rows

    def row_of(self, plan, table):
        rows = [r for r in plan if r["table"] == table]
        self.assertEqual(len(rows), 1, plan)
        return rows[0]

    def assertIndexed(self, query, table, key, types):
        plan = self.explain(query)
        for r in plan:
            # no full scan of any table, no sort of the result
            self.assertNotEqual(r["type"], "ALL", plan)
            self.assertNotIn("filesort", r["Extra"] or "", plan)
            self.assertNotIn("temporary", r["Extra"] or "", plan)
        r = self.row_of(plan, table)
        self.assertEqual(r["key"], key, plan)
        self.assertIn(r["type"], types, plan)
        return plan

    def test_templates_match_db_c(self):
        # the statements above are db_stmt.c's, run in db.c's session:
        # fail loudly if either changes
        src = ""
        for name in ("db.c", "db_stmt.c"):
            with open(os.path.join(ROOT, "src", name), encoding="utf-8") as f:
                src += f.read()
        for frag in (' WHERE t.account_id = ? AND t.status <> \'Deleted\'"\n\t\t" AND (%s)'
                     ' ORDER BY %s LIMIT ? OFFSET ?"',
                     '" WHERE %s ORDER BY %s LIMIT ? OFFSET ?"',
                     '" WHERE r.object_id = ? AND r.account_id = ? AND (%s)"',
                     '" WHERE r.account_id = ? AND (%s) ORDER BY %s LIMIT ? OFFSET ?"',
                     '" FROM tokens t JOIN accounts a ON a.id = t.account_id"',
                     '"SELECT STRAIGHT_JOIN " TOKEN_COLUMNS " WHERE %s ORDER BY %s',
                     '" COALESCE((SELECT tokens FROM account_token_counts WHERE account_id = ?), 0)"',
                     "join_cache_level = 0\""):
            self.assertIn(frag, src)
        with open(os.path.join(ROOT, "src", "rql_tokens.c"), encoding="utf-8") as f:
            self.assertIn('.default_order = "-audit.created.at"', f.read())

    def test_filler_loaded(self):
        n = mariadb(self.stack, f"SELECT COUNT(*) AS n FROM tokens WHERE account_id = '{BIG}'")
        self.assertGreaterEqual(int(n[0]["n"]), FILLER * 0.99)

    def test_client_default_list_uses_account_index(self):
        for acc in (BIG, self.client_acc):
            for limit in (10, 50):
                with self.subTest(account=acc, limit=limit):
                    plan = self.assertIndexed(TOKEN_LIST_ACCOUNT.format(acc=acc, limit=limit),
                                              "t", "tokens_account_created", ("ref", "range"))
                    r = self.row_of(plan, "a")
                    self.assertIn(r["type"], ("const", "eq_ref", "system"), plan)

    def handler_reads(self, query, page=None):
        """Handler_read_* of one run of query in a fresh session; with
        page, also checks that page rows of the big account came back."""
        cmd = ["mariadb", "--no-defaults", "--protocol=socket",
               f"--socket={self.stack.env['APITOKEND_DB_SOCKET']}",
               "-u", pwd.getpwuid(os.getuid()).pw_name, "--batch", "--raw", "apitokend",
               "-e", f"{SESSION}FLUSH STATUS; {query}; SHOW SESSION STATUS LIKE 'Handler_read%'"]
        proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, timeout=300)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        lines = proc.stdout.splitlines()
        at = lines.index("Variable_name\tValue")
        reads = {k: int(v) for k, v in (line.split("\t") for line in lines[at + 1:])}
        self.assertIn("Handler_read_key", reads, reads)
        if page is not None:
            self.assertEqual(sum(1 for line in lines[1:at] if "\tExplain filler\t" in line),
                             page)
        return reads

    def test_client_default_list_answers_from_the_index(self):
        # the rows the database reads for the first page of the big account
        # are about the page, not the account's 20000 tokens
        reads = self.handler_reads(TOKEN_LIST_ACCOUNT.format(acc=BIG, limit=50), page=50)
        self.assertLess(sum(reads.values()), 1000, reads)

    # Left to itself, MariaDB 10.11 reads the 4-row accounts table first and
    # sorts every token for each page of the Operations list; db_stmt.c's
    # STRAIGHT_JOIN and db.c's session's join_cache_level = 0 keep tokens
    # first, in tokens_created's order, with accounts looked up per row.
    def test_operations_default_list_uses_created_index(self):
        for limit in (10, 50):
            with self.subTest(limit=limit):
                plan = self.assertIndexed(TOKEN_LIST.format(limit=limit), "t", "tokens_created",
                                          ("index", "range", "ref"))
                self.assertEqual(plan[0]["table"], "t", plan)
                r = self.row_of(plan, "a")
                self.assertIn(r["type"], ("eq_ref", "const"), plan)
        self.assertLess(sum(self.handler_reads(TOKEN_LIST.format(limit=50)).values()), 1000)

    def test_token_trail_uses_object_index(self):
        for obj, acc in (("TKN-9000-0100", BIG), (self.tid, self.client_acc)):
            with self.subTest(object=obj):
                self.assertIndexed(AUDIT_LIST_OBJECT.format(obj=obj, acc=acc, limit=10), "r",
                                   "audit_records_object", ("ref", "range"))

    def test_account_records_use_account_index(self):
        self.assertIndexed(AUDIT_LIST_ACCOUNT.format(acc=BIG, limit=10), "r",
                           "audit_records_account", ("ref", "range"))


if __name__ == "__main__":
    unittest.main()
