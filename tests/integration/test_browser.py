"""The settings page (web/, conf/nginx/apitokend-web.conf): served by the
shipped nginx config next to the JSON API without shadowing any of it,
installed by make install, and driven end to end in headless Chromium by
tests/browser/e2e.mjs (playwright-core from npm, pinned in
tests/browser/package-lock.json; Debian's /usr/bin/chromium, never a
downloaded browser).

The end-to-end run takes a stack of its own, so that the list it pages
through holds exactly the tokens it made.  Its screenshots land in
$APITOKEND_SCREENSHOT_DIR (default: screenshots/ in the build dir);
docs/screenshots/ holds a set of them."""

import base64
import json
import os
import shutil
import subprocess
import tempfile
import unittest

from stack import OwnStack, ROOT, shared_stack

BROWSER_DIR = os.path.join(ROOT, "tests", "browser")
WEB_DIR = os.path.join(ROOT, "web")
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
PAGE = "/settings/api-tokens/"


def basic(user, password):
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def web_files():
    """Every file of the page, as paths relative to web/."""
    out = []
    for top, _, names in os.walk(WEB_DIR):
        for n in names:
            out.append(os.path.relpath(os.path.join(top, n), WEB_DIR))
    return sorted(out)


def media_type(headers):
    return (headers.get("Content-Type") or "").split(";")[0].strip().lower()


def build_dir():
    d = os.environ.get("APITOKEND_BUILD_DIR", "build")
    return d if os.path.isabs(d) else os.path.join(ROOT, d)


def npm_ready():
    """npm ci unless node_modules already holds every locked package."""
    with open(os.path.join(BROWSER_DIR, "package-lock.json"), encoding="utf-8") as f:
        locked = {k: v["version"] for k, v in json.load(f)["packages"].items() if k}
    def installed(key):
        try:
            with open(os.path.join(BROWSER_DIR, key, "package.json"), encoding="utf-8") as f:
                return json.load(f).get("version")
        except (OSError, ValueError):
            return None
    if locked and all(installed(k) == v for k, v in locked.items()):
        return
    env = dict(os.environ, PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD="1")
    proc = subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"],
                          cwd=BROWSER_DIR, env=env, stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=600)
    if proc.returncode != 0:
        raise AssertionError(f"npm ci failed in {BROWSER_DIR}:\n{proc.stdout}{proc.stderr}")


class Served(unittest.TestCase):
    """The page and its files through the shipped nginx config."""

    @classmethod
    def setUpClass(cls):
        cls.stack = shared_stack()
        env = cls.stack.env
        cls.login = basic(env["APITOKEND_CLIENT_ADMIN_USER"], env["APITOKEND_USER_PASSWORD"])

    def get(self, path, headers=None):
        return self.stack.request("GET", path, headers=headers)

    def test_shipped_config_is_used(self):
        with open(os.path.join(ROOT, "conf", "nginx", "apitokend-web.conf"), "rb") as f:
            shipped = f.read()
        ngx = os.path.join(self.stack.state_dir, "nginx")
        with open(os.path.join(ngx, "apitokend-web.conf"), "rb") as f:
            self.assertEqual(f.read(), shipped, "apitokend-web.conf differs from the shipped one")
        with open(os.path.join(ngx, "nginx.conf"), encoding="utf-8") as f:
            self.assertRegex(f.read(), r"(?m)^\s*include apitokend-web\.conf;")

    def test_page_needs_the_login(self):
        for path in (PAGE, PAGE + "ui/app.js"):
            with self.subTest(path=path):
                st, h, _ = self.get(path)
                self.assertEqual(st, 401)
                self.assertIn('Basic realm="', h.get("WWW-Authenticate") or "")
                st, _, _ = self.get(path, basic(self.stack.env["APITOKEND_CLIENT_ADMIN_USER"], "wrong"))
                self.assertEqual(st, 401)

    def test_page_and_files(self):
        st, h, body = self.get(PAGE, self.login)
        self.assertEqual(st, 200)
        self.assertEqual(media_type(h), "text/html")
        with open(os.path.join(WEB_DIR, "index.html"), "rb") as f:
            self.assertEqual(body, f.read())
        csp = h.get("Content-Security-Policy") or ""
        for directive in ("default-src 'none'", "script-src 'self'", "connect-src 'self'",
                          "frame-ancestors 'none'"):
            self.assertIn(directive, csp)
        self.assertEqual(h.get("X-Content-Type-Options"), "nosniff")
        types = {".js": "text/javascript", ".css": "text/css"}
        files = [f for f in web_files() if f.startswith("ui/")]
        self.assertTrue(files)
        for rel in files:
            with self.subTest(file=rel):
                st, h, body = self.get(PAGE + rel, self.login)
                self.assertEqual(st, 200)
                # ES modules load only with a JavaScript media type
                self.assertEqual(media_type(h), types[os.path.splitext(rel)[1]])
                with open(os.path.join(WEB_DIR, rel), "rb") as f:
                    self.assertEqual(body, f.read())
        st, _, _ = self.get(PAGE + "ui/nothing.js", self.login)
        self.assertEqual(st, 404)
        # the page's files never come from outside web/
        st, _, body = self.get(PAGE + "ui/../../../../etc/passwd", self.login)
        self.assertNotEqual(st, 200)
        self.assertNotIn(b"root:", body if isinstance(body, bytes) else json.dumps(body).encode())

    def test_json_paths_stay_with_apitokend(self):
        admin = self.stack.env["APITOKEND_CLIENT_ADMIN_TOKEN"]
        tid = admin.split(":")[1]
        for path in ("/settings/api-tokens", "/settings/api-tokens?limit=1",
                     "/settings/api-tokens/modules", f"/settings/api-tokens/{tid}",
                     f"/settings/api-tokens/{tid}/audit", "/settings/api-tokens/health"):
            for headers in (self.login, {"Authorization": f"Bearer {admin}"}):
                with self.subTest(path=path, login=headers["Authorization"].split()[0]):
                    st, h, body = self.get(path, headers)
                    self.assertEqual(st, 200, body)
                    self.assertEqual(media_type(h), "application/json", path)
        # below the prefix, whatever is not the page is apitokend's
        for path in ("/settings/api-tokens/ui", "/settings/api-tokens/index.html"):
            with self.subTest(path=path):
                st, h, body = self.get(path, self.login)
                self.assertEqual(st, 404)
                self.assertEqual(media_type(h), "application/problem+json")


class Installed(unittest.TestCase):
    def test_make_install_copies_the_page(self):
        bdir = build_dir()
        if not os.path.exists(os.path.join(bdir, "Makefile")):
            self.skipTest("no configured build dir")
        stage = tempfile.mkdtemp(prefix="apitokend-web-stage-")
        self.addCleanup(shutil.rmtree, stage, True)
        proc = subprocess.run(["make", "-s", "-C", bdir, "install", f"DESTDIR={stage}"],
                              capture_output=True, text=True)
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
        prog = "print:\n\t@echo $(pkgdatadir) $(docdir)\n"
        pkgdatadir, docdir = subprocess.run(
            ["make", "-s", "-C", bdir, "-f", "Makefile", "-f", "-", "print"], input=prog,
            text=True, capture_output=True, check=True).stdout.split()
        for rel in web_files():
            with self.subTest(file=rel):
                with open(os.path.join(WEB_DIR, rel), "rb") as f, \
                        open(f"{stage}{pkgdatadir}/web/{rel}", "rb") as g:
                    self.assertEqual(g.read(), f.read())
        site = f"{stage}{docdir}/examples/nginx/apitokend-site.conf.example"
        self.assertTrue(os.path.isfile(f"{stage}{docdir}/examples/nginx/apitokend-web.conf"))
        with open(site, encoding="utf-8") as f:
            text = f.read()
        # the example points at where make install put the page
        self.assertRegex(text, r"(?m)^\s*include apitokend-web\.conf;")
        self.assertIn(f"default {pkgdatadir}/web;", text)


class EndToEnd(OwnStack, unittest.TestCase):
    """tests/browser/e2e.mjs against a stack of its own."""

    def test_settings_page_in_chromium(self):
        for tool in ("node", "npm"):
            self.assertIsNotNone(shutil.which(tool), f"{tool} is missing: run scripts/deps")
        self.assertTrue(os.access(CHROMIUM, os.X_OK), f"{CHROMIUM} is missing: run scripts/deps")
        npm_ready()
        env = self.stack.env
        shots = os.environ.get("APITOKEND_SCREENSHOT_DIR") or os.path.join(build_dir(), "screenshots")
        shutil.rmtree(shots, ignore_errors=True)
        run_env = dict(os.environ, APITOKEND_PROTECTED_URL=env["APITOKEND_PROTECTED_URL"],
                       APITOKEND_PROTECTED_MODULE=env["APITOKEND_PROTECTED_MODULE"],
                       APITOKEND_CLIENT_USER=env["APITOKEND_CLIENT_USER"],
                       APITOKEND_SCREENSHOT_DIR=shots, CHROMIUM=CHROMIUM)
        proc = subprocess.run(
            ["node", os.path.join(BROWSER_DIR, "e2e.mjs"), self.stack.url,
             env["APITOKEND_CLIENT_ADMIN_USER"], env["APITOKEND_USER_PASSWORD"]],
            cwd=BROWSER_DIR, env=run_env, stdin=subprocess.DEVNULL, capture_output=True,
            text=True, timeout=900)
        out = proc.stdout + proc.stderr
        self.assertEqual(proc.returncode, 0, f"e2e.mjs failed (screenshots in {shots}):\n{out}")
        self.assertRegex(out, r"browser: \d+ flows passed, 0 failed")
        self.assertNotIn("not ok", out)
        for name in ("list", "list-375", "details-general", "details-modules", "details-details",
                     "details-audit", "wizard-1-general", "wizard-2-modules",
                     "wizard-3-overview", "wizard-4-summary"):
            self.assertTrue(os.path.isfile(os.path.join(shots, f"{name}.png")), name)


if __name__ == "__main__":
    unittest.main()
