"""The verify cache across processes (README, Performance; apitokend.ini(5)):
two apitokend instances on one database.  Instance A is the stack's own,
behind nginx; instance B is a second apitokend started here on the same
configuration and spoken to over FastCGI, as nginx's auth_request would.
While threads hammer verify on B for a token B has cached, a change made
through A (disable, delete) or through apitokenctl (module remove) must
make B refuse the token within the documented bound, and B must never
verify it again after that.  The test polls: it asserts that the refusal
comes, with the bound (and a margin for a loaded machine) as the limit,
never a tighter timing.

The list cache (page_cache.h) is held to a stricter rule: B's kept pages
must show a change made through A, or by hand with the change counter,
on B's very next list, with no wait at all; and a page kept for one
account's caller is never another account's answer.

On a stack of its own: module remove takes a module from an account."""

import json
import os
import subprocess
import threading
import time
import unittest

import fcgi
from stack import ROOT, OwnStack, free_port
from test_bulk import sql
from test_deploy import Daemon, wait_for
from test_tokens import PLATFORM, token_id

VERIFY = "/_apitokend/verify"
# seconds: the documented bound, and what a loaded machine (or a
# sanitizer build) may add to it
BOUND = 1.0
MARGIN = 2.0
HAMMERS = 4


class TwoInstances(OwnStack, unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        env = cls.stack.env
        cls.admin = env["APITOKEND_CLIENT_ADMIN_TOKEN"]
        cls.account = env["APITOKEND_CLIENT_ACCOUNT_ID"]
        cls.admin_user = env["APITOKEND_CLIENT_ADMIN_USER"]
        cls.protected = env["APITOKEND_PROTECTED_PATH"]
        cls.module = env["APITOKEND_PROTECTED_MODULE"]
        cls.ini = os.path.join(cls.stack.state_dir, "apitokend.ini")

    def setUp(self):
        self.tmp = os.path.join(self.stack.state_dir, f"b-{self._testMethodName}")
        os.makedirs(self.tmp, exist_ok=True)
        self.port = free_port()
        # B: the same configuration and database, its own address and log
        self.b = Daemon(self, self.tmp, [], env={
            "APITOKEND_CONFIG": self.ini,
            "APITOKEND_SERVER_LISTEN": f"127.0.0.1:{self.port}",
            "APITOKEND_SERVER_WORKERS": "4",
            "APITOKEND_SERVER_LOG_FILE": "",
            "APITOKEND_SERVER_LOG_LEVEL": "warn",
        })
        wait_for(self.b_up, 15, 0.1, "the second apitokend")

    def b_up(self):
        if self.b.proc.poll() is not None:
            raise AssertionError(f"the second apitokend exited: {self.b.text()}")
        try:
            return fcgi.request(("127.0.0.1", self.port), "GET",
                                "/settings/api-tokens/health", timeout=5).status == 200
        except OSError:
            return False

    # -- helpers ---------------------------------------------------------

    def verify_on_b(self, token):
        """The status B's verify gives token for the protected path."""
        params = fcgi.cgi_params("GET", VERIFY, {"Authorization": f"Bearer {token}"})
        params["ORIGINAL_URI"] = self.protected
        params["ORIGINAL_METHOD"] = "GET"
        sock = fcgi.connect(("127.0.0.1", self.port), timeout=30)
        try:
            fcgi.send_begin(sock, params)
            fcgi.send_stdin(sock, b"")
            return fcgi.read_response(sock).status
        finally:
            sock.close()

    def list_on_b(self, query, token=None):
        """The page B answers for the token list with query."""
        r = fcgi.request(("127.0.0.1", self.port), "GET", f"{PLATFORM}?{query}",
                         token=token or self.admin)
        self.assertEqual(r.status, 200, r.body)
        return json.loads(r.body)

    def via_a(self, method, path, body=None):
        st, _, b = self.stack.request(method, path, body, token=self.admin)
        return st, b

    def new_token(self):
        st, b = self.via_a("POST", PLATFORM, {"name": f"cache {time.monotonic_ns()}",
                                              "modules": [{"id": self.module}]})
        self.assertEqual(st, 201, b)
        return b["token"]

    def ctl(self, *args):
        exe = os.path.join(ROOT, self.stack.build_dir, "apitokenctl")
        return subprocess.run([exe, "-c", self.ini, *args], stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              timeout=120)

    def refused_within_bound(self, token, change, refused):
        """B verifies token (and keeps verifying it from its cache) while
        HAMMERS threads ask it over and over; change() is made elsewhere;
        B must then refuse (status in refused) within BOUND + MARGIN, and
        no request started after the first refusal may verify."""
        for _ in range(3):	# the first fills B's cache
            self.assertEqual(self.verify_on_b(token), 204)
        stop = threading.Event()
        seen = []	# (started, status) of every hammer request
        errors = []
        lock = threading.Lock()

        def hammer():
            while not stop.is_set():
                t = time.monotonic()
                try:
                    st = self.verify_on_b(token)
                except OSError as exc:
                    with lock:
                        errors.append(repr(exc))
                    continue
                with lock:
                    seen.append((t, st))

        threads = [threading.Thread(target=hammer, daemon=True) for _ in range(HAMMERS)]
        for t in threads:
            t.start()
        try:
            time.sleep(0.3)	# under load, from the cache
            change()
            changed = time.monotonic()
            first = None
            while time.monotonic() - changed < BOUND + MARGIN:
                st = self.verify_on_b(token)
                if st in refused:
                    first = time.monotonic()
                    break
                self.assertEqual(st, 204, "neither the old answer nor a refusal")
                time.sleep(0.02)
            self.assertIsNotNone(first, f"B still verified the token {BOUND + MARGIN} s "
                                        "after the change")
            # and never again: keep hammering a while past the bound
            time.sleep(BOUND + 0.5)
        finally:
            stop.set()
            for t in threads:
                t.join(30)
        self.assertEqual(errors, [])
        self.assertGreater(len(seen), 20, "the hammers hardly ran")
        before = [s for t, s in seen if t < changed]
        self.assertTrue(before and all(s == 204 for s in before), before[:20])
        after = [s for t, s in seen if t >= first]
        self.assertTrue(after, "no request after the refusal")
        self.assertEqual(sorted(set(after)), sorted(set(after) & set(refused)),
                         "B verified the token again after refusing it")
        for _ in range(3):
            self.assertIn(self.verify_on_b(token), refused)

    # -- cases (module removal last: it takes the module away) ------------

    def test_1_disable_through_a(self):
        tok = self.new_token()
        path = f"{PLATFORM}/{token_id(tok)}"
        self.refused_within_bound(
            tok, lambda: self.assertEqual(self.via_a("POST", f"{path}/disable")[0], 200), {401})
        # enabled again through A: B verifies it again, within the bound
        self.assertEqual(self.via_a("POST", f"{path}/enable")[0], 200)
        wait_for(lambda: self.verify_on_b(tok) == 204, BOUND + MARGIN, 0.02,
                 "B to verify the enabled token")

    def test_2_delete_through_a(self):
        tok = self.new_token()
        path = f"{PLATFORM}/{token_id(tok)}"
        self.refused_within_bound(
            tok, lambda: self.assertEqual(self.via_a("DELETE", path)[0], 204), {401})

    def test_3_edit_modules_through_a(self):
        tok = self.new_token()
        path = f"{PLATFORM}/{token_id(tok)}"
        self.refused_within_bound(
            tok, lambda: self.assertEqual(self.via_a("PUT", path, {"modules": []})[0], 200),
            {403})

    def test_4_module_remove_with_apitokenctl(self):
        tok = self.new_token()

        def remove():
            proc = self.ctl("module", "remove", "--account", self.account,
                            "--module", self.module, "--by", self.admin_user)
            self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)

        self.refused_within_bound(tok, remove, {403})

    def test_5_lists_on_b_follow_changes_made_elsewhere(self):
        query = "limit=5"	# the first page, newest first, as a settings page asks
        names = lambda page: [t["name"] for t in page["data"]]
        first = self.list_on_b(query)
        # B answers the same page again, whether from memory or not
        self.assertEqual(self.list_on_b(query), first)
        total = first["$meta"]["pagination"]["total"]

        # a create through A: on B's next list, with no wait
        st, made = self.via_a("POST", PLATFORM, {"name": "listed on B"})
        self.assertEqual(st, 201, made)
        path = f"{PLATFORM}/{made['id']}"
        page = self.list_on_b(query)
        self.assertEqual(page["data"][0]["id"], made["id"], names(page))
        self.assertEqual(page["$meta"]["pagination"]["total"], total + 1)

        # an edit and a disable through A
        st, b = self.via_a("PUT", path, {"name": "renamed through A"})
        self.assertEqual(st, 200, b)
        self.assertEqual(names(self.list_on_b(query))[0], "renamed through A")
        self.assertEqual(self.via_a("POST", f"{path}/disable")[0], 200)
        self.assertEqual(self.list_on_b(query)["data"][0]["status"], "Disabled")

        # by hand, with the counter as docs/database.md asks
        self.list_on_b(query)
        sql(self.stack, f"UPDATE tokens SET name = 'renamed by hand' WHERE id = '{made['id']}';"
                        " UPDATE token_changes SET n = n + 1 WHERE id IN (1, 2);")
        self.assertEqual(names(self.list_on_b(query))[0], "renamed by hand")

        # another account's caller, the same query: its own page, not this one
        vendor = self.stack.env["APITOKEND_VENDOR_ADMIN_TOKEN"]
        other = self.list_on_b(query, token=vendor)
        accounts = {t["account"]["id"] for t in other["data"]}
        self.assertTrue(accounts, other)
        self.assertNotIn(self.account, accounts)

        # a delete through A: gone from B's next list
        self.assertEqual(self.via_a("DELETE", path)[0], 204)
        page = self.list_on_b(query)
        self.assertNotIn(made["id"], [t["id"] for t in page["data"]])
        self.assertEqual(page["$meta"]["pagination"]["total"], total)


if __name__ == "__main__":
    unittest.main()
