"""Bulk actions (POST …/api-tokens/bulk) through nginx and MariaDB, on
both mounts: the filter and ids forms, the 1000-token cap, confinement,
mixed states, bad input, permissions, and concurrent single changes.

The thousand-token cases load their tokens with SQL (as scripts/bench
does) into accounts of this module's own, with an admin token issued
there, so that no other module's lists or counts see them."""

import base64
import json
import os
import pwd
import subprocess
import threading
import unittest

from stack import shared_stack, stack_of

PLATFORM = "/public/v1/accounts/api-tokens"
SETTINGS = "/settings/api-tokens"
MOUNTS = (PLATFORM, SETTINGS)
AM = "MOD-1756"

# this module's accounts (Client type): a small one and one with 1001 fillers
OWN = "ACC-7700-0001"
BIG = "ACC-7700-0002"
FILLERS = 1000


def sql(stack, query):
    """Rows of query (tab-separated fields) over the stack's socket, as the
    OS user (MariaDB's administrator there)."""
    cmd = ["mariadb", "--no-defaults", "--protocol=socket",
           f"--socket={stack.env['APITOKEND_DB_SOCKET']}",
           "-u", pwd.getpwuid(os.getuid()).pw_name, "--batch", "--skip-column-names",
           "apitokend", "-e", query]
    proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, timeout=300)
    if proc.returncode != 0:
        raise AssertionError(f"SQL failed: {query[:300]}\n{proc.stderr}")
    return [line.split("\t") for line in proc.stdout.splitlines()]


def scalar(stack, query):
    return int(sql(stack, query)[0][0])


class BulkBase(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.stack = stack_of(cls)
        env = cls.stack.env
        cls.client_admin = env["APITOKEND_CLIENT_ADMIN_TOKEN"]
        cls.client_plain = env["APITOKEND_CLIENT_TOKEN"]
        cls.vendor_admin = env["APITOKEND_VENDOR_ADMIN_TOKEN"]
        cls.ops_admin = env["APITOKEND_OPERATIONS_ADMIN_TOKEN"]
        cls.client_acc = env["APITOKEND_CLIENT_ACCOUNT_ID"]
        cls.vendor_acc = env["APITOKEND_VENDOR_ACCOUNT_ID"]
        cls.seq = 0

    def req(self, method, path, body=None, token=None, timeout=30):
        return self.stack.request(method, path, body=body, token=token, timeout=timeout)

    def bulk(self, body, token=None, base=PLATFORM, timeout=120):
        return self.req("POST", f"{base}/bulk", body, token=token or self.client_admin,
                        timeout=timeout)

    def bulk_ok(self, body, token=None, base=PLATFORM, timeout=120):
        status, headers, out = self.bulk(body, token, base, timeout)
        self.assertEqual(status, 200, out)
        self.assertEqual(sorted(out), ["action", "changed", "data", "matched", "skipped"])
        self.assertEqual(out["action"], body["action"])
        self.assertEqual(out["changed"], len(out["data"]), out)
        self.assertEqual(out["matched"], out["changed"] + len(out["skipped"]), out)
        return out

    def name(self, prefix="bulk"):
        type(self).seq += 1
        return f"{prefix} {self._testMethodName.replace('_', '-')} {type(self).seq}"

    def create(self, token=None, base=PLATFORM, **fields):
        body = {"name": self.name()}
        body.update(fields)
        status, _, out = self.req("POST", base, body, token=token or self.client_admin)
        self.assertEqual(status, 201, out)
        return out["id"]

    def status_of(self, tid):
        rows = sql(self.stack, f"SELECT status FROM tokens WHERE id = '{tid}'")
        return rows[0][0] if rows else None

    def records(self, account):
        return scalar(self.stack, f"SELECT COUNT(*) FROM audit_records WHERE account_id = '{account}'")

    def events(self, tid):
        return [r[0] for r in sql(self.stack, f"SELECT event FROM audit_records WHERE object_id = '{tid}'"
                                  " ORDER BY seq")]

    def assertProblem(self, resp, code, fields=()):
        status, headers, body = resp
        self.assertEqual(status, code, body)
        self.assertEqual((headers.get("Content-Type") or "").split(";")[0], "application/problem+json")
        for f in fields:
            self.assertIn(f, body.get("errors") or {}, body)
            self.assertTrue(all(isinstance(m, str) and m for m in body["errors"][f]), body)
        return body


def make_account(stack, acc, name):
    """A Client account with Access Management enabled and an admin token
    in it, issued by the Operations admin; the token value."""
    sql(stack, f"""
INSERT IGNORE INTO accounts (id, name, type, status, created_at)
VALUES ('{acc}', '{name}', 'Client', 'Active', UTC_TIMESTAMP(3));
INSERT IGNORE INTO account_modules (account_id, module_id) VALUES ('{acc}', '{AM}');
""")
    st, _, out = stack.request("POST", PLATFORM, {"name": f"{name} admin", "account": {"id": acc},
                                                  "modules": [{"id": AM}]},
                               token=stack.env["APITOKEND_OPERATIONS_ADMIN_TOKEN"])
    assert st == 201, out
    return out["token"]


def load_fillers(stack, acc, n, prefix, name="filler"):
    """n Active tokens named '<name> i' in acc, straight into the tables,
    the account's counters as they now truly are, and the change counters
    moved, as a change by hand must (docs/database.md)."""
    sql(stack, f"""
INSERT INTO tokens (id, account_id, name, status, secret_hash, has_icon, revision,
	created_at, created_by_id, created_by_name)
SELECT CONCAT('TKN-{prefix}', LPAD(seq DIV 10000, 2, '0'), '-', LPAD(seq MOD 10000, 4, '0')),
	'{acc}', CONCAT('{name} ', seq), 'Active', RANDOM_BYTES(32), 0, 1,
	UTC_TIMESTAMP(3), 'USR-1000-0001', 'Loader'
FROM seq_1_to_{n};
REPLACE INTO account_token_counts (account_id, tokens, tokens_all)
SELECT '{acc}', SUM(status <> 'Deleted'), COUNT(*) FROM tokens WHERE account_id = '{acc}';
UPDATE token_changes SET n = n + 1 WHERE id IN (1, 2);
""")


class Cap(BulkBase):
    """1001 matching tokens are refused whole; 1000 are changed, each with
    its record."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.big_admin = make_account(cls.stack, BIG, "Bulk big")
        load_fillers(cls.stack, BIG, FILLERS, "77", "filler")
        load_fillers(cls.stack, BIG, 1, "78", "extra")

    def test_1001_refused_1000_changed(self):
        before = self.records(BIG)
        flt = "or(ilike(name,filler*),eq(name,'extra 1'))"
        body = self.assertProblem(self.bulk({"action": "disable", "filter": flt},
                                            token=self.big_admin), 409)
        self.assertEqual(body.get("matched"), 1001, body)
        self.assertIn("1001 tokens match", body["detail"])
        self.assertEqual(self.records(BIG), before)
        self.assertEqual(scalar(self.stack, "SELECT COUNT(*) FROM tokens WHERE account_id = "
                                f"'{BIG}' AND status <> 'Active'"), 0)

        out = self.bulk_ok({"action": "disable", "filter": "ilike(name,filler*)"},
                           token=self.big_admin, timeout=600)
        self.assertEqual((out["matched"], out["changed"], out["skipped"]), (1000, 1000, []))
        self.assertEqual(out["data"], sorted(out["data"]))
        self.assertEqual(self.records(BIG), before + 1000)
        self.assertEqual(scalar(self.stack, "SELECT COUNT(*) FROM audit_records WHERE account_id = "
                                f"'{BIG}' AND event = 'platform.accounts.api-token.disabled'"), 1000)
        self.assertEqual(scalar(self.stack, "SELECT COUNT(*) FROM tokens WHERE account_id = "
                                f"'{BIG}' AND status = 'Disabled' AND revision = 2"), 1000)
        # the admin and the extra one were not matched
        self.assertEqual(scalar(self.stack, "SELECT COUNT(*) FROM tokens WHERE account_id = "
                                f"'{BIG}' AND status = 'Active'"), 2)
        # the filter counts Disabled ones too: all 1000 skipped now
        out = self.bulk_ok({"action": "disable", "filter": "ilike(name,filler*)"},
                           token=self.big_admin, timeout=600)
        self.assertEqual((out["matched"], out["changed"]), (1000, 0))
        self.assertEqual({s["reason"] for s in out["skipped"]}, {"The token is already Disabled."})
        self.assertEqual(self.records(BIG), before + 1000)

    def test_more_than_1000_ids_refused(self):
        ids = [f"TKN-7700-{i:04d}" for i in range(1, 1002)]
        before = self.records(BIG)
        self.assertProblem(self.bulk({"action": "delete", "ids": ids}, token=self.big_admin),
                           400, ("ids",))
        self.assertEqual(self.records(BIG), before)


class Actions(BulkBase):
    def test_ids_mixed_states(self):
        for base in MOUNTS:
            with self.subTest(base=base):
                a, b, c = sorted(self.create() for _ in range(3))
                st, _, _ = self.req("POST", f"{PLATFORM}/{b}/disable", token=self.client_admin)
                self.assertEqual(st, 200)
                before = self.records(self.client_acc)
                out = self.bulk_ok({"action": "disable", "ids": [c, a, b]}, base=base)
                self.assertEqual(out["matched"], 3)
                self.assertEqual(out["data"], [a, c])
                self.assertEqual(out["skipped"], [{"id": b, "reason": "The token is already Disabled."}])
                self.assertEqual([self.status_of(t) for t in (a, b, c)], ["Disabled"] * 3)
                self.assertEqual(self.records(self.client_acc), before + 2)
                self.assertEqual(self.events(a)[-1], "platform.accounts.api-token.disabled")
                self.assertEqual(self.events(b).count("platform.accounts.api-token.disabled"), 1)

                out = self.bulk_ok({"action": "enable", "ids": [a, b]}, base=base)
                self.assertEqual(out["data"], [a, b])
                self.assertEqual(self.status_of(a), "Active")
                st, _, tok = self.req("GET", f"{base}/{a}", token=self.client_admin)
                self.assertEqual((st, tok["status"], tok["revision"]), (200, "Active", 3), tok)

                out = self.bulk_ok({"action": "delete", "ids": [a, c]}, base=base)
                self.assertEqual(out["data"], [a, c])
                for t in (a, c):
                    st, _, _ = self.req("GET", f"{base}/{t}", token=self.client_admin)
                    self.assertEqual(st, 404)
                    self.assertEqual(self.events(t)[-1], "platform.accounts.api-token.deleted")
                    self.assertIsNone(sql(self.stack, f"SELECT secret_hash FROM tokens WHERE id = '{t}'"
                                          " AND secret_hash IS NOT NULL") or None)
                # deleted ones are gone for the Client: not found, not "deleted"
                out = self.bulk_ok({"action": "enable", "ids": [a, b]}, base=base)
                self.assertEqual(out["data"], [])
                self.assertEqual(out["skipped"], sorted([{"id": a, "reason": "not found"},
                                                         {"id": b, "reason": "The token is already Active."}],
                                                        key=lambda s: s["id"]))

    def test_filter_form(self):
        tag = self.name("flt").replace(" ", "-")
        ids = sorted(self.create(name=f"{tag}-{i}") for i in range(4))
        other = self.create(name="unrelated " + tag)
        out = self.bulk_ok({"action": "disable", "filter": f"ilike(name,{tag}-*)"}, base=SETTINGS)
        self.assertEqual(out["data"], ids)
        self.assertEqual(self.status_of(other), "Active")
        # the filter's grammar as in a list: and by '&', no percent-decoding
        out = self.bulk_ok({"action": "enable",
                            "filter": f"ilike(name,{tag}-*)&eq(status,Disabled)&ne(id,{ids[0]})"})
        self.assertEqual(out["data"], ids[1:])
        # taken as it is: %20 stays three characters
        pct = self.create(name=f"{tag} pct")
        out = self.bulk_ok({"action": "disable", "filter": f"eq(name,'{tag}%20pct')"})
        self.assertEqual(out["matched"], 0)
        out = self.bulk_ok({"action": "disable", "filter": f"eq(name,'{tag} pct')"})
        self.assertEqual(out["data"], [pct])

    def test_other_account_ids(self):
        vend = self.create(token=self.vendor_admin)
        mine = self.create()
        before = self.records(self.vendor_acc)
        out = self.bulk_ok({"action": "disable", "ids": [vend, mine, "TKN-0000-0000"]})
        self.assertEqual(out["data"], [mine])
        self.assertEqual(out["skipped"], sorted([{"id": vend, "reason": "not found"},
                                                 {"id": "TKN-0000-0000", "reason": "not found"}],
                                                key=lambda s: s["id"]))
        self.assertEqual(self.status_of(vend), "Active")
        self.assertEqual(self.records(self.vendor_acc), before)
        # Operations acts in every account
        out = self.bulk_ok({"action": "disable", "ids": [vend, mine]}, token=self.ops_admin)
        self.assertEqual(out["data"], [vend])
        self.assertEqual(out["skipped"], [{"id": mine, "reason": "The token is already Disabled."}])
        self.assertEqual(self.status_of(vend), "Disabled")
        self.assertEqual(self.records(self.vendor_acc), before + 1)
        self.assertEqual(self.events(vend)[-1], "platform.accounts.api-token.disabled")
        # Operations sees Deleted tokens: skipped as deleted, not as unknown
        out = self.bulk_ok({"action": "delete", "ids": [vend]}, token=self.ops_admin)
        self.assertEqual(out["data"], [vend])
        out = self.bulk_ok({"action": "enable", "ids": [vend]}, token=self.ops_admin)
        self.assertEqual(out["skipped"], [{"id": vend,
                                           "reason": "The token is deleted; deletion is final."}])

    def test_confinement_of_the_filter(self):
        vend = self.create(token=self.vendor_admin)
        for flt in (f"eq(account.id,{self.vendor_acc})", f"eq(id,{vend})",
                    f"or(eq(account.id,{self.vendor_acc}),eq(id,{vend}))"):
            with self.subTest(filter=flt):
                out = self.bulk_ok({"action": "disable", "filter": flt})
                self.assertEqual((out["matched"], out["data"], out["skipped"]), (0, [], []))
        self.assertEqual(self.status_of(vend), "Active")
        # a Client filter never reaches Deleted tokens; Operations' does
        gone = self.create()
        st, _, _ = self.req("DELETE", f"{PLATFORM}/{gone}", token=self.client_admin)
        self.assertEqual(st, 204)
        out = self.bulk_ok({"action": "delete", "filter": f"eq(id,{gone})"})
        self.assertEqual(out["matched"], 0)
        out = self.bulk_ok({"action": "delete", "filter": f"eq(id,{gone})"}, token=self.ops_admin)
        self.assertEqual(out["matched"], 1)
        self.assertEqual(out["skipped"][0]["id"], gone)
        out = self.bulk_ok({"action": "disable", "filter": f"eq(id,{vend})"}, token=self.ops_admin)
        self.assertEqual(out["data"], [vend])


class Refusals(BulkBase):
    def test_bad_input(self):
        tid = self.create()
        cases = [
            ({"action": "frobnicate", "ids": [tid]}, ("action",)),
            ({"action": "Disable", "ids": [tid]}, ("action",)),
            ({"action": 1, "ids": [tid]}, ("action",)),
            ({"ids": [tid]}, ("action",)),
            ({"action": "disable", "filter": "eq(name"}, ("filter",)),
            ({"action": "disable", "filter": "eq(nosuchfield,1)"}, ("filter",)),
            ({"action": "disable", "filter": ""}, ("filter",)),
            ({"action": "disable", "filter": 5}, ("filter",)),
            ({"action": "disable", "filter": f"eq(id,{tid})", "ids": [tid]}, ("filter", "ids")),
            ({"action": "disable"}, ("filter", "ids")),
            ({"action": "disable", "ids": ["TKN-1234"]}, ("ids",)),
            ({"action": "disable", "ids": [tid, 7]}, ("ids",)),
            ({"action": "disable", "ids": tid}, ("ids",)),
            ({"action": "disable", "ids": []}, ("ids",)),
            ({"action": "disable", "ids": [tid, tid]}, ("ids",)),
            ({"action": "disable", "filter": f"eq(id,{tid})&select=name"}, ("filter",)),
            ({"action": "disable", "filter": f"eq(id,{tid})&order=name"}, ("filter",)),
            ({"action": "disable", "filter": f"eq(id,{tid})&limit=5"}, ("filter",)),
            ({"action": "disable", "filter": f"eq(id,{tid})&offset=5"}, ("filter",)),
        ]
        before = self.records(self.client_acc)
        for base in MOUNTS:
            for body, fields in cases:
                with self.subTest(base=base, body=body):
                    self.assertProblem(self.bulk(body, base=base), 400, fields)
            for raw in ("", "[]", "{", '"disable"', '{"action": "disable", "action": "enable"}'):
                with self.subTest(base=base, raw=raw):
                    self.assertProblem(self.stack.request(
                        "POST", f"{base}/bulk", raw.encode(), token=self.client_admin,
                        headers={"Content-Type": "application/json"}), 400)
        self.assertEqual(self.status_of(tid), "Active")
        self.assertEqual(self.records(self.client_acc), before)

    def test_parser_message_named(self):
        body = self.assertProblem(self.bulk({"action": "disable", "filter": "eq(name"}), 400, ("filter",))
        self.assertNotIn("rql", body["errors"])

    def test_needs_access_management(self):
        tid = self.create()
        before = self.records(self.client_acc)
        for base in MOUNTS:
            with self.subTest(base=base):
                body = self.assertProblem(self.bulk({"action": "disable", "ids": [tid]},
                                                    token=self.client_plain, base=base), 403)
                self.assertIn("Access Management", body["detail"])
        self.assertEqual(self.status_of(tid), "Active")
        self.assertEqual(self.records(self.client_acc), before)
        st, _, _ = self.bulk({"action": "disable", "ids": [tid]}, token="idt:TKN-0000-0000:x")
        self.assertEqual(st, 401)

    def test_settings_mount_users(self):
        # the web server's login on the settings mount: an admin acts, as
        # the actor of each record; a user without Access Management is 403
        env = self.stack.env
        admin, plain, pw = (env["APITOKEND_CLIENT_ADMIN_USER"], env["APITOKEND_CLIENT_USER"],
                            env["APITOKEND_USER_PASSWORD"])
        tid = self.create()

        def login(user):
            return {"Authorization": "Basic " + base64.b64encode(f"{user}:{pw}".encode()).decode(),
                    "Content-Type": "application/json"}

        body = json.dumps({"action": "disable", "ids": [tid]}).encode()
        self.assertProblem(self.stack.request("POST", f"{SETTINGS}/bulk", body,
                                              headers=login(plain)), 403)
        self.assertEqual(self.status_of(tid), "Active")
        st, _, out = self.stack.request("POST", f"{SETTINGS}/bulk", body, headers=login(admin))
        self.assertEqual((st, out.get("data")), (200, [tid]), out)
        actor = sql(self.stack, f"SELECT actor_id FROM audit_records WHERE object_id = '{tid}'"
                    " ORDER BY seq DESC LIMIT 1")
        self.assertEqual(actor, [[admin]])

    def test_route_is_not_a_token_id(self):
        for base in MOUNTS:
            for method in ("GET", "PUT", "DELETE", "PATCH"):
                with self.subTest(base=base, method=method):
                    st, headers, _ = self.req(method, f"{base}/bulk",
                                              {} if method in ("PUT", "PATCH") else None,
                                              token=self.client_admin)
                    self.assertEqual(st, 405)
                    self.assertEqual(headers.get("Allow"), "POST")
            # a token's sub-resources still take ids only
            st, _, _ = self.req("POST", f"{base}/bulk/disable", token=self.client_admin)
            self.assertEqual(st, 404)

    def test_not_json(self):
        st, _, _ = self.req("POST", f"{PLATFORM}/bulk", b"action=disable",
                            token=self.client_admin)
        # http.client sends no Content-Type for bytes: not JSON
        self.assertEqual(st, 415)


class Concurrent(BulkBase):
    """Bulk actions racing each other and single changes on the same
    tokens: every call answers (no 5xx), and each token ends with a
    status, a revision and a trail that agree."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.own_admin = make_account(cls.stack, OWN, "Bulk own")

    def test_races_end_consistent(self):
        ids = sorted(self.create(token=self.own_admin) for _ in range(12))
        errors = []

        def run(fn, rounds=6):
            try:
                for i in range(rounds):
                    fn(i)
            except Exception as exc:  # reported below
                errors.append(repr(exc))

        def bulk_flip(i):
            action = "disable" if i % 2 == 0 else "enable"
            st, _, out = self.bulk({"action": action, "ids": ids}, token=self.own_admin)
            if st != 200:
                errors.append(f"bulk ids {st} {out}")

        def bulk_filter(i):
            action = "enable" if i % 2 == 0 else "disable"
            st, _, out = self.bulk({"action": action, "filter": "ilike(name,'bulk test-races*')"},
                                   token=self.own_admin)
            if st != 200:
                errors.append(f"bulk filter {st} {out}")

        def singles(i):
            for t in ids[i % 3::3]:
                st, _, out = self.req("POST", f"{PLATFORM}/{t}/{'disable' if i % 2 else 'enable'}",
                                      token=self.own_admin)
                if st not in (200, 409):
                    errors.append(f"single {st} {out}")
                st, _, out = self.req("PUT", f"{PLATFORM}/{t}", {"description": f"round {i}"},
                                      token=self.own_admin)
                if st != 200:
                    errors.append(f"put {st} {out}")

        threads = [threading.Thread(target=run, args=(f,)) for f in (bulk_flip, bulk_filter, singles)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(300)
        self.assertEqual(errors, [])
        self.assertConsistent(ids)
        # the chain of the account is whole
        seq = scalar(self.stack, f"SELECT seq FROM audit_chain_heads WHERE account_id = '{OWN}'")
        self.assertEqual(seq, self.records(OWN))

    def test_operations_across_accounts(self):
        # two accounts' tokens in one call each, two calls at once: the
        # rows are locked in id order, the chain heads in account order
        ids = sorted([self.create(token=self.own_admin) for _ in range(6)] +
                     [self.create() for _ in range(6)])
        errors = []

        def flips(first):
            for i in range(6):
                action = ("disable", "enable")[(i + first) % 2]
                st, _, out = self.bulk({"action": action, "ids": ids}, token=self.ops_admin)
                if st != 200:
                    errors.append(f"{st} {out}")

        threads = [threading.Thread(target=flips, args=(k,)) for k in (0, 1, 0)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(300)
        self.assertEqual(errors, [])
        self.assertConsistent(ids)

    def assertConsistent(self, ids):
        for t in ids:
            status, revision = sql(self.stack, f"SELECT status, revision FROM tokens WHERE id = '{t}'")[0]
            evs = [e.rsplit(".", 1)[1] for e in self.events(t)]
            # one record per change: the revision counts them
            self.assertEqual(int(revision), len(evs), (t, evs))
            states = [e for e in evs if e in ("enabled", "disabled")]
            want = "Active" if not states or states[-1] == "enabled" else "Disabled"
            self.assertEqual(status, want, (t, evs))
            # no two of the same state change in a row: each was a change
            for x, y in zip(states, states[1:]):
                self.assertNotEqual(x, y, (t, evs))


if __name__ == "__main__":
    unittest.main()
