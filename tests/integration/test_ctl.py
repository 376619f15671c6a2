"""apitokenctl as an operator uses it: accounts, users, modules, the first
admin token, and a seal key rotation under a running apitokend."""

import os
import re
import signal
import subprocess
import time
import unittest

from stack import ROOT, OwnStack

TOKEN_RE = re.compile(r"^idt:(TKN-[0-9]{4}-[0-9]{4}):[A-Za-z0-9]{64}$")
PLATFORM = "/public/v1/accounts/api-tokens"


class Operator(OwnStack, unittest.TestCase):
    """On a stack of its own: it rotates the key file."""

    def ctl(self, *args, ok=True):
        ini = os.path.join(self.stack.state_dir, "apitokend.ini")
        exe = os.path.join(ROOT, self.stack.build_dir, "apitokenctl")
        proc = subprocess.run([exe, "-c", ini, *args], stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              timeout=120)
        if ok:
            self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
        return proc

    def test_from_an_empty_account_to_a_working_admin_token(self):
        mod = "MOD-7%03d" % (os.getpid() % 1000)
        out = self.ctl("module", "create", "--id", mod, "--code", f"test-{mod.lower()}",
                       "--name", "Test module", "--types", "Client,Vendor",
                       "--path", "/public/v1/test/", "--path", "/public/v1/other")
        self.assertEqual(out.stdout.strip(), mod)
        acc = self.ctl("account", "create", "--name", "Acme Widgets", "--type", "Client")
        acc = acc.stdout.strip()
        self.assertRegex(acc, r"^ACC-[0-9]{4}-[0-9]{4}$")
        # the account's modules: Access Management and the new one
        for m in ("MOD-1756", mod):
            self.assertIn("enabled", self.ctl("module", "add", "--account", acc,
                                              "--module", m).stdout)
        self.assertIn("already", self.ctl("module", "add", "--account", acc,
                                          "--module", mod).stdout)
        # a user may only hold what the account has
        bad = self.ctl("user", "create", "--account", acc, "--name", "Eve",
                       "--module", "MOD-0478", ok=False)
        self.assertNotEqual(bad.returncode, 0)
        self.assertIn("MOD-0478", bad.stderr)
        user = self.ctl("user", "create", "--account", acc, "--name", "Ann Admin",
                        "--module", "MOD-1756", "--module", mod).stdout.strip()
        self.assertRegex(user, r"^USR-[0-9]{4}-[0-9]{4}$")
        listed = self.ctl("account", "list").stdout
        self.assertRegex(listed, rf"(?m)^{acc}\tClient\tActive\tAcme Widgets\tMOD-1756,{mod}$")

        value = self.ctl("token", "issue", "--account", acc, "--name", "first admin",
                         "--by", user, "--module", "MOD-1756").stdout.strip()
        m = TOKEN_RE.match(value)
        self.assertTrue(m, value)
        st, _, body = self.stack.request("GET", f"{PLATFORM}/{m.group(1)}", token=value)
        self.assertEqual(st, 200, body)
        self.assertEqual(body["account"]["id"], acc)
        self.assertEqual(body["audit"]["created"]["by"], {"id": user, "name": "Ann Admin"})
        # the module's paths are what verify grants
        st, _, body = self.stack.request("GET", f"{PLATFORM}?limit=0", token=value)
        self.assertEqual(st, 200, body)
        self.assertEqual(body["$meta"]["pagination"]["total"], 1)
        # its creation is audited like any other, with the tool as agent
        st, _, body = self.stack.request(
            "GET", f"/settings/api-tokens/{m.group(1)}/audit?select=%2Brequest", token=value)
        self.assertEqual(st, 200, body)
        self.assertEqual([r["event"] for r in body["data"]],
                         ["platform.accounts.api-token.created"])
        self.assertEqual(body["data"][0]["request"]["api"]["userAgent"], "apitokenctl")
        self.assertEqual(body["data"][0]["actor"]["id"], user)
        self.assertIn("intact", self.ctl("audit", "verify").stdout)

    def test_seal_key_rotation_keeps_every_value_readable(self):
        env = self.stack.env
        admin = env["APITOKEND_CLIENT_ADMIN_TOKEN"]
        tid = TOKEN_RE.match(admin).group(1)

        def reveal():
            st, _, body = self.stack.request("GET", f"{PLATFORM}/{tid}?select=token",
                                             token=admin)
            self.assertEqual(st, 200, body)
            return body["token"]

        self.assertEqual(reveal(), admin)
        out = self.ctl("key", "rotate").stdout
        new = int(re.search(r"seal key (\d+) is now current", out).group(1))
        self.assertGreaterEqual(new, 2)
        # the running server knows the new key after SIGHUP
        with open(os.path.join(self.stack.state_dir, "run", "apitokend.pid")) as f:
            pid = int(f.read())
        os.kill(pid, signal.SIGHUP)
        log = os.path.join(self.stack.state_dir, "log", "apitokend.log")
        deadline = time.monotonic() + 10
        while f"seal key {new}" not in open(log, encoding="utf-8").read():
            self.assertLess(time.monotonic(), deadline, "no reload in the log")
            time.sleep(0.1)
        out = self.ctl("key", "reseal").stdout
        self.assertRegex(out, rf"^\d+ values? sealed again under seal key {new}")
        # a second reseal finds nothing left under the old key
        self.assertRegex(self.ctl("key", "reseal").stdout, rf"^0 values sealed again")
        self.assertEqual(reveal(), admin)
        # and the token still authenticates: the hash key never changes
        st, _, _ = self.stack.request("GET", f"{PLATFORM}?limit=0", token=admin)
        self.assertEqual(st, 200)

    def test_every_command_has_help(self):
        for cmd in (["migrate"], ["keygen"], ["token", "issue"], ["module", "add"],
                    ["module", "remove"], ["module", "create"], ["audit", "verify"],
                    ["key", "rotate"], ["key", "reseal"], ["account", "create"],
                    ["account", "list"], ["user", "create"]):
            with self.subTest(cmd=cmd):
                out = self.ctl(*cmd, "--help").stdout
                self.assertIn("usage: apitokenctl", out)
                self.assertIn(" ".join(cmd), out)


if __name__ == "__main__":
    unittest.main()
