"""The foundation: the stack answers through the shipped nginx config,
errors are problem details with a traceId, and scripts/run cleans up."""

import json
import os
import re
import socket
import time
import unittest

from stack import Stack, processes_referencing, shared_stack

TRACE_ID_RE = re.compile(r"^00-[0-9a-f]{32}-[0-9a-f]{16}-00$")
TOKEN_RE = re.compile(r"^idt:TKN-[0-9]{4}-[0-9]{4}:[A-Za-z0-9]{64}$")
HEALTH = "/settings/api-tokens/health"


def media_type(headers):
    return (headers.get("Content-Type") or "").split(";")[0].strip().lower()


class Foundation(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.stack = shared_stack()

    def assertProblem(self, status, headers, body, code, title):
        self.assertEqual(status, code, body)
        self.assertEqual(media_type(headers), "application/problem+json")
        self.assertIsInstance(body, dict, body)
        self.assertIsInstance(body.get("type"), str)
        self.assertEqual(body.get("title"), title)
        self.assertEqual(body.get("status"), code)
        self.assertRegex(body.get("traceId", ""), TRACE_ID_RE)

    def test_health(self):
        status, headers, body = self.stack.request("GET", HEALTH)
        self.assertEqual(status, 200, body)
        self.assertEqual(media_type(headers), "application/json")
        self.assertEqual(body, {"status": "ok", "database": "ok"})

    def test_unknown_paths_are_404_problems(self):
        # The settings mount asks for a login first; a token passes it.
        token = self.stack.env["APITOKEND_CLIENT_ADMIN_TOKEN"]
        for path, tok in (("/settings/api-tokens/nope/deeper", token),
                          ("/public/v1/nothing", None)):
            with self.subTest(path=path):
                status, headers, body = self.stack.request("GET", path, token=tok)
                self.assertProblem(status, headers, body, 404, "Not Found")

    def test_settings_mount_without_credentials_asks_for_a_login(self):
        status, headers, body = self.stack.request("GET", "/settings/api-tokens")
        self.assertProblem(status, headers, body, 401, "Authentication Failed")
        self.assertIn("Basic", headers.get("WWW-Authenticate") or "")

    def test_traceparent_is_honoured(self):
        trace = "4bf92f3577b34da6a3ce929d0e0e4736"
        status, headers, body = self.stack.request(
            "GET", "/public/v1/nothing",
            headers={"traceparent": f"00-{trace}-00f067aa0ba902b7-01"})
        self.assertProblem(status, headers, body, 404, "Not Found")
        self.assertEqual(body["traceId"].split("-")[1], trace)

    def test_post_to_health_is_405_with_allow(self):
        status, headers, body = self.stack.request("POST", HEALTH, body={})
        self.assertProblem(status, headers, body, 405, "Method Not Allowed")
        allow = [m.strip().upper() for m in (headers.get("Allow") or "").split(",")]
        self.assertIn("GET", allow)

    def test_request_is_logged_without_secrets(self):
        trace = os.urandom(16).hex()
        token = self.stack.env["APITOKEND_CLIENT_ADMIN_TOKEN"]
        status, _, body = self.stack.request(
            "GET", HEALTH, token=token,
            headers={"traceparent": f"00-{trace}-00f067aa0ba902b7-01"})
        self.assertEqual(status, 200, body)
        logfile = os.path.join(self.stack.state_dir, "log", "apitokend.log")
        entry = None
        deadline = time.monotonic() + 5
        while entry is None and time.monotonic() < deadline:
            with open(logfile, encoding="utf-8", errors="replace") as f:
                text = f.read()
            for line in text.splitlines():
                if trace in line and line.startswith("{"):
                    entry = json.loads(line)
            if entry is None:
                time.sleep(0.1)
        self.assertIsNotNone(entry, f"no log line with trace id {trace}")
        self.assertEqual(entry.get("method"), "GET", entry)
        self.assertEqual(entry.get("path"), HEALTH, entry)
        self.assertEqual(entry.get("status"), 200, entry)
        secret = token.rsplit(":", 1)[1]
        self.assertNotIn(secret, text, "a token secret reached the log")

    def test_shipped_nginx_config_is_used(self):
        from stack import ROOT
        ngx = os.path.join(self.stack.state_dir, "nginx")
        for name in ("apitokend-locations.conf", "apitokend-fastcgi.conf"):
            with self.subTest(name=name):
                with open(os.path.join(ROOT, "conf", "nginx", name), "rb") as f:
                    shipped = f.read()
                with open(os.path.join(ngx, name), "rb") as f:
                    self.assertEqual(f.read(), shipped, f"{name} differs from the shipped one")
        with open(os.path.join(ngx, "nginx.conf"), encoding="utf-8") as f:
            self.assertRegex(f.read(), r"(?m)^\s*include apitokend-locations\.conf;")

    def test_demo_env(self):
        env = self.stack.env
        self.assertEqual(env.get("APITOKEND_URL"), self.stack.url)
        for kind in ("CLIENT", "VENDOR", "OPERATIONS"):
            with self.subTest(kind=kind):
                self.assertRegex(env.get(f"APITOKEND_{kind}_ACCOUNT_ID", ""),
                                 r"^ACC-[0-9]{4}-[0-9]{4}$")
                self.assertRegex(env.get(f"APITOKEND_{kind}_ADMIN_USER", ""),
                                 r"^USR-[0-9]{4}-[0-9]{4}$")
                self.assertRegex(env.get(f"APITOKEND_{kind}_ADMIN_TOKEN", ""), TOKEN_RE)
        self.assertRegex(env.get("APITOKEND_CLIENT_TOKEN", ""), TOKEN_RE)
        tokens = [v for k, v in env.items() if k.endswith("_TOKEN")]
        self.assertEqual(len(tokens), len(set(tokens)), "demo tokens repeat")
        self.assertEqual(env.get("APITOKEND_STATE_DIR"), os.path.realpath(self.stack.state_dir))
        self.assertTrue(os.path.exists(env.get("APITOKEND_DB_SOCKET", "")))
        mode = os.stat(os.path.join(self.stack.state_dir, "demo.env")).st_mode & 0o777
        self.assertEqual(mode, 0o600)


class StopLeavesNothing(unittest.TestCase):
    """A stack of its own (another port and state dir): after scripts/run
    --stop no process refers to its state dir and its port is free."""

    def test_stop_leaves_no_process(self):
        st = Stack().start()
        state = os.path.realpath(st.state_dir)
        try:
            status, _, body = st.request("GET", HEALTH)
            self.assertEqual(status, 200, body)
            running = {comm for _, comm, _ in processes_referencing(state)}
            self.assertEqual(running, {"mariadbd", "nginx", "apitokend"})
        finally:
            findings = st.stop()
        self.assertEqual(processes_referencing(state), [])
        self.assertFalse(os.path.exists(state), "state dir not removed")
        with socket.socket() as s:
            s.settimeout(2)
            self.assertNotEqual(s.connect_ex(("127.0.0.1", st.port)), 0,
                                f"port {st.port} still answers")
        self.assertEqual(findings, [], "sanitizer reports")
