"""Deployment: every way an operator starts apitokend, Apache in front of it
(mod_proxy_fcgi and mod_fcgid, with the shipped conf/apache files), a
MariaDB outage while it runs, and `make install`.

The start-mode cases run an apitokend of their own against the shared
stack's MariaDB (its INI file, with the socket taken from the environment)
and talk FastCGI to it directly (fcgi.py).
"""

import grp
import hashlib
import base64
import json
import os
import pwd
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time
import unittest

import fcgi
from stack import ROOT, OwnStack, Stack, free_port, shared_stack

HEALTH = "/settings/api-tokens/health"
TOKENS = "/public/v1/accounts/api-tokens"
APACHE = shutil.which("apache2", path=os.environ.get("PATH", "") + ":/usr/sbin:/sbin")
APACHE_MODULES = "/usr/lib/apache2/modules"
SANITIZER_RE = re.compile(r"ERROR: (Address|Leak)Sanitizer|runtime error:")


def build_dir():
    d = os.environ.get("APITOKEND_BUILD_DIR", "build")
    return d if os.path.isabs(d) else os.path.join(ROOT, d)


def apitokend_bin():
    return os.path.join(build_dir(), "apitokend")


def wait_for(pred, timeout=10, interval=0.05, what="condition"):
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def alive(pid):
    """True while pid exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


class Daemon:
    """One apitokend started by a test: argv after the binary, extra
    environment, stdin (None: /dev/null), a log file in tmp."""

    def __init__(self, tc, tmp, args=(), env=None, stdin=None, argv=None, pass_fds=()):
        self.tc = tc
        self.log = os.path.join(tmp, "apitokend.log")
        self.out = open(self.log, "ab")
        full_env = dict(os.environ)
        full_env.pop("LISTEN_FDS", None)
        full_env.pop("LISTEN_PID", None)
        full_env.update(env or {})
        cmd = argv if argv is not None else [apitokend_bin(), *args]
        self.proc = subprocess.Popen(
            cmd, stdin=stdin if stdin is not None else subprocess.DEVNULL,
            stdout=self.out, stderr=self.out, env=full_env, pass_fds=pass_fds,
            start_new_session=True)
        tc.addCleanup(self.stop)

    @property
    def pid(self):
        return self.proc.pid

    def text(self):
        with open(self.log, encoding="utf-8", errors="replace") as f:
            return f.read()

    def wait_log(self, needle, timeout=10):
        return wait_for(lambda: needle in self.text(), timeout, what=f"{needle!r} in the log")

    def stop(self, sig=signal.SIGTERM, timeout=20):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError(f"apitokend ignored {sig!r} for {timeout}s")
        self.out.close()
        found = [l for l in self.text().splitlines() if SANITIZER_RE.search(l)]
        if found:
            sys.stderr.write(self.text())
            raise AssertionError(f"sanitizer findings: {found[:5]}")
        return self.proc.returncode


class StartModes(unittest.TestCase):
    """Each case starts apitokend one way and gets health and a token list
    from it over FastCGI."""

    @classmethod
    def setUpClass(cls):
        cls.stack = shared_stack()
        cls.ini = os.path.join(cls.stack.state_dir, "apitokend.ini")
        cls.token = cls.stack.env["APITOKEND_CLIENT_ADMIN_TOKEN"]

    def setUp(self):
        # short: Unix socket paths are limited to 107 bytes
        self.tmp = tempfile.mkdtemp(prefix="at-dep-")
        self.addCleanup(shutil.rmtree, self.tmp, True)

    def env(self, **kw):
        # [server] listen of the INI is the stack's own socket: every case
        # says where it wants apitokend instead
        e = {"APITOKEND_CONFIG": self.ini, "APITOKEND_SERVER_LISTEN": "",
             "APITOKEND_SERVER_WORKERS": "2"}
        e.update({f"APITOKEND_{k.upper()}": v for k, v in kw.items()})
        return e

    def assertServes(self, addr, daemon=None):
        """health is ok and the admin token lists its tokens."""
        def up():
            try:
                return fcgi.request(addr, "GET", HEALTH, timeout=10)
            except OSError:
                if daemon and daemon.proc.poll() is not None:
                    raise AssertionError(f"apitokend exited: {daemon.text()}")
                return None
        r = wait_for(up, 15, 0.1, f"apitokend on {addr}")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.media_type(), "application/json")
        self.assertEqual(r.json(), {"status": "ok", "database": "ok"})
        r = fcgi.request(addr, "GET", TOKENS + "?limit=1", token=self.token)
        self.assertEqual(r.status, 200, r)
        body = r.json()
        self.assertIn("data", body)
        self.assertGreaterEqual(body["$meta"]["pagination"]["total"], 1)
        r = fcgi.request(addr, "GET", "/public/v1/nothing")
        self.assertEqual(r.status, 404, r)
        self.assertEqual(r.media_type(), "application/problem+json")
        return r

    def listening_unix(self, name="fd.sock", mode=0o600):
        path = os.path.join(self.tmp, name)
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind(path)
        os.chmod(path, mode)
        s.listen(16)
        self.addCleanup(s.close)
        return s, path

    # -- fd 0 ------------------------------------------------------------

    def test_fd0_listening_socket(self):
        """A listening socket on fd 0, as mod_fcgid passes it."""
        s, path = self.listening_unix()
        d = Daemon(self, self.tmp, ["-c", self.ini], env=self.env(), stdin=s.fileno())
        s.close()  # apitokend has its own copy
        self.assertServes(path, d)
        self.assertEqual(d.stop(), 0)
        self.assertIn("finishing requests in flight", d.text())

    def test_fd0_not_a_socket_is_refused(self):
        d = Daemon(self, self.tmp, ["-c", self.ini], env=self.env())
        self.assertEqual(d.proc.wait(10), 1)
        self.assertIn("fd 0 is not a socket", d.text())

    @unittest.skipUnless(shutil.which("spawn-fcgi"), "spawn-fcgi is not installed")
    def test_spawn_fcgi(self):
        path = os.path.join(self.tmp, "spawn.sock")
        # -n: no fork, so the pid is apitokend's; -M: the socket's mode
        d = Daemon(self, self.tmp, env=self.env(), argv=[
            "spawn-fcgi", "-n", "-s", path, "-M", "0600", "--",
            apitokend_bin(), "-c", self.ini])
        self.assertServes(path, d)
        self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o600)
        self.assertEqual(d.stop(), 0)

    # -- systemd socket activation ----------------------------------------

    def test_listen_fds(self):
        """LISTEN_FDS=1 and LISTEN_PID=its own pid with the socket on fd 3,
        as systemd passes it (fd 0 is /dev/null, so fd 3 it must be)."""
        s, path = self.listening_unix("sd.sock")
        launcher = (
            "import os, sys\n"
            "os.dup2(int(sys.argv[1]), 3)\n"
            "os.environ['LISTEN_FDS'] = '1'\n"
            "os.environ['LISTEN_PID'] = str(os.getpid())\n"
            "os.environ['LISTEN_FDNAMES'] = 'apitokend.socket'\n"
            "os.execv(sys.argv[2], sys.argv[2:])\n")
        d = Daemon(self, self.tmp, env=self.env(), pass_fds=(s.fileno(),), argv=[
            sys.executable, "-c", launcher, str(s.fileno()), apitokend_bin(), "-c", self.ini])
        s.close()
        self.assertServes(path, d)
        self.assertEqual(d.stop(), 0)

    def test_listen_fds_for_another_pid_is_ignored(self):
        """LISTEN_PID of someone else: not ours, so fd 0 is used (and here
        it is not a socket)."""
        d = Daemon(self, self.tmp, ["-c", self.ini],
                   env={**self.env(), "LISTEN_FDS": "1", "LISTEN_PID": "1"})
        self.assertEqual(d.proc.wait(10), 1)
        self.assertIn("fd 0 is not a socket", d.text())

    @unittest.skipUnless(shutil.which("systemd-socket-activate"),
                         "systemd-socket-activate is not installed")
    def test_systemd_socket_activate(self):
        path = os.path.join(self.tmp, "ssa.sock")
        d = Daemon(self, self.tmp, env=self.env(), argv=[
            "systemd-socket-activate", "-l", path, apitokend_bin(), "-c", self.ini])
        wait_for(lambda: os.path.exists(path), 10, what=path)
        self.assertServes(path, d)
        self.assertEqual(d.stop(), 0)

    # -- --listen ----------------------------------------------------------

    def test_listen_tcp(self):
        port = free_port()
        d = Daemon(self, self.tmp, ["-c", self.ini, "--listen", f"127.0.0.1:{port}"],
                   env=self.env())
        self.assertServes(("127.0.0.1", port), d)
        self.assertEqual(d.stop(), 0)

    def test_listen_unix_socket_mode(self):
        for mode in ("0600", "0666"):
            with self.subTest(socket_mode=mode):
                path = os.path.join(self.tmp, f"l{mode}.sock")
                # a stale socket from an earlier run is replaced
                if mode == "0666":
                    st, _ = self.listening_unix(f"l{mode}.sock")
                    st.close()
                d = Daemon(self, self.tmp, ["-c", self.ini, "--listen", path],
                           env=self.env(server_socket_mode=mode))
                self.assertServes(path, d)
                self.assertTrue(stat.S_ISSOCK(os.stat(path).st_mode))
                self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), int(mode, 8))
                self.assertEqual(d.stop(), 0)

    def test_listen_option_overrides_the_ini(self):
        path = os.path.join(self.tmp, "opt.sock")
        env = self.env()
        env["APITOKEND_SERVER_LISTEN"] = os.path.join(self.tmp, "not-this.sock")
        d = Daemon(self, self.tmp, ["-c", self.ini, "-l", path], env=env)
        self.assertServes(path, d)
        self.assertFalse(os.path.exists(os.path.join(self.tmp, "not-this.sock")))
        d.stop()

    # -- signals -----------------------------------------------------------

    def test_sigterm_finishes_the_request_in_flight(self):
        path = os.path.join(self.tmp, "term.sock")
        d = Daemon(self, self.tmp, ["-c", self.ini, "--listen", path], env=self.env())
        self.assertServes(path, d)
        body = json.dumps({"name": "Drained on SIGTERM"}).encode()
        sock = fcgi.connect(path)
        self.addCleanup(sock.close)
        fcgi.send_begin(sock, fcgi.cgi_params(
            "POST", TOKENS, {"Authorization": f"Bearer {self.token}",
                             "Content-Type": "application/json"}, body))
        # half the body, then SIGTERM while apitokend waits for the rest
        fcgi.send_stdin(sock, body[:10], end=False)
        time.sleep(0.3)
        d.proc.send_signal(signal.SIGTERM)
        d.wait_log("finishing requests in flight")
        time.sleep(0.5)
        self.assertIsNone(d.proc.poll(), "apitokend exited with a request in flight")
        # no new connections once it is stopping
        with self.assertRaises(OSError):
            c = fcgi.connect(path, timeout=2)
            try:
                fcgi.request(c, "GET", HEALTH, timeout=2)
            finally:
                c.close()
        fcgi.send_stdin(sock, body[10:])
        r = fcgi.read_response(sock)
        self.assertEqual(r.status, 201, r)
        self.assertEqual(r.json()["name"], "Drained on SIGTERM")
        self.assertEqual(d.proc.wait(10), 0)
        self.assertIn("apitokend stopped", d.text())

    def test_sighup_reopens_the_log_file(self):
        path = os.path.join(self.tmp, "hup.sock")
        log = os.path.join(self.tmp, "requests.log")
        d = Daemon(self, self.tmp, ["-c", self.ini, "--listen", path],
                   env=self.env(server_log_file=log))
        self.assertServes(path, d)
        wait_for(lambda: os.path.exists(log) and "/public/v1/nothing" in open(log).read(),
                 5, what="a request line in the log file")
        # logrotate: rename, then HUP
        os.rename(log, log + ".1")
        os.kill(d.pid, signal.SIGHUP)
        wait_for(lambda: os.path.exists(log) and "SIGHUP: log reopened" in open(log).read(),
                 5, what="the reopened log")
        trace = os.urandom(16).hex()
        r = fcgi.request(path, "GET", HEALTH,
                         headers={"traceparent": f"00-{trace}-00f067aa0ba902b7-01"})
        self.assertEqual(r.status, 200, r)
        wait_for(lambda: trace in open(log).read(), 5, what="the request in the new log")
        self.assertNotIn(trace, open(log + ".1").read())
        line = next(l for l in open(log) if trace in l)
        entry = json.loads(line)
        for key in ("time", "traceId", "method", "path", "status"):
            self.assertIn(key, entry)
        self.assertEqual((entry["method"], entry["path"], entry["status"]),
                         ("GET", HEALTH, 200))
        self.assertEqual(d.stop(), 0)



def without(obj, keys=("lastAccessAt",)):
    """obj with the named keys dropped at every level (they change with
    every request the token makes)."""
    if isinstance(obj, dict):
        return {k: without(v, keys) for k, v in obj.items() if k not in keys}
    if isinstance(obj, list):
        return [without(v, keys) for v in obj]
    return obj


@unittest.skipUnless(APACHE and os.path.isdir(APACHE_MODULES), "apache2 is not installed")
class ApacheVariants(unittest.TestCase):
    """A private Apache with each shipped conf/apache file answers what
    nginx answers."""

    MODULES = ("mpm_event", "authn_core", "authz_core", "proxy", "proxy_fcgi", "fcgid")

    @classmethod
    def setUpClass(cls):
        cls.stack = shared_stack()
        cls.token = cls.stack.env["APITOKEND_CLIENT_ADMIN_TOKEN"]
        cls.user = "www-data"
        try:
            pwd.getpwnam(cls.user)
        except KeyError:
            cls.user = "nobody"

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="at-apache-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        # Apache's children run as self.user when we are root
        os.chmod(self.tmp, 0o755)

    def start_apache(self, include, defines):
        port = free_port()
        os.makedirs(os.path.join(self.tmp, "htdocs"))
        ipc = os.path.join(self.tmp, "fcgid")
        os.makedirs(ipc)
        if os.geteuid() == 0:
            pw = pwd.getpwnam(self.user)
            os.chown(ipc, pw.pw_uid, pw.pw_gid)
        group = grp.getgrgid(pwd.getpwnam(self.user).pw_gid).gr_name
        loads = "\n".join(f"LoadModule {m}_module {APACHE_MODULES}/mod_{m}.so"
                          for m in self.MODULES)
        defs = "\n".join(f"Define {k} {v}" for k, v in defines.items())
        conf = os.path.join(self.tmp, "httpd.conf")
        with open(conf, "w") as f:
            f.write(f"""{loads}
ServerRoot {self.tmp}
ServerName localhost
Listen 127.0.0.1:{port}
User {self.user}
Group {group}
PidFile {self.tmp}/httpd.pid
DefaultRuntimeDir {self.tmp}
Mutex file:{self.tmp}
ErrorLog {self.tmp}/error.log
LogLevel info
DocumentRoot {self.tmp}/htdocs
FcgidIPCDir {ipc}
FcgidProcessTableFile {self.tmp}/fcgid_shm
<VirtualHost 127.0.0.1:{port}>
{defs}
Include {include}
</VirtualHost>
""")
        proc = subprocess.Popen([APACHE, "-d", self.tmp, "-f", conf, "-DFOREGROUND"],
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, start_new_session=True)

        def stop():
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(20)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
            if proc.stdout:
                proc.stdout.close()
        self.addCleanup(stop)
        self.apache_port = port

        def up():
            if proc.poll() is not None:
                raise AssertionError(f"apache2 exited: {proc.stdout.read()!r} "
                                     f"{self.error_log()}")
            try:
                with socket.create_connection(("127.0.0.1", port), 1):
                    return True
            except OSError:
                return False
        wait_for(up, 20, 0.1, "apache2")
        self.apache_proc = proc
        return proc

    def error_log(self):
        try:
            with open(os.path.join(self.tmp, "error.log"), errors="replace") as f:
                return f.read()[-4000:]
        except OSError:
            return ""

    def apache(self, method, path, body=None, token=None):
        st = Stack.__new__(Stack)
        st.port = self.apache_port
        return Stack.request(st, method, path, body=body, token=token)

    def assertSameAsNginx(self):
        """health, a token list, 404s and a create: the same status, media
        type and JSON through Apache as through nginx."""
        for path, tok in ((HEALTH, None),
                          (TOKENS + "?limit=1000&select=+modules", self.token),
                          ("/settings/api-tokens?limit=5&offset=1", self.token),
                          ("/settings/api-tokens/modules", self.token),
                          ("/settings/api-tokens/nope/deeper", self.token),
                          (TOKENS + "/TKN-0000-0000", self.token),
                          (TOKENS, None)):
            with self.subTest(path=path):
                a = self.apache("GET", path, token=tok)
                n = self.stack.request("GET", path, token=tok)
                self.assertEqual(a[0], n[0], (a[2], self.error_log()))
                self.assertEqual(a[1].get("Content-Type"), n[1].get("Content-Type"))
                self.assertIsInstance(a[2], (dict, list), a[2])
                if isinstance(a[2], dict) and "traceId" in a[2]:
                    a[2].pop("traceId"), n[2].pop("traceId")
                self.assertEqual(without(a[2]), without(n[2]))
        # a create, then the token as each server shows it
        made = {}
        for name, call in (("apache", self.apache), ("nginx", self.stack.request)):
            status, headers, body = call("POST", TOKENS, token=self.token,
                                         body={"name": f"Through {name}",
                                               "description": "deploy test"})
            self.assertEqual(status, 201, (body, self.error_log()))
            self.assertTrue(headers.get("Location", "").endswith(body["id"]))
            self.assertTrue(headers.get("ETag"))
            made[name] = body
        mask = ("id", "name", "token", "at", "lastAccessAt")
        self.assertEqual(without(made["apache"], mask), without(made["nginx"], mask))
        tid = made["apache"]["id"]
        a = self.apache("GET", f"{TOKENS}/{tid}", token=self.token)
        n = self.stack.request("GET", f"{TOKENS}/{tid}", token=self.token)
        self.assertEqual((a[0], without(a[2])), (n[0], without(n[2])))
        self.assertEqual(a[1].get("ETag"), n[1].get("ETag"))

    def test_proxy_fcgi(self):
        sock = os.path.join(self.tmp, "apitokend.sock")
        env = {"APITOKEND_CONFIG": os.path.join(self.stack.state_dir, "apitokend.ini"),
               "APITOKEND_SERVER_WORKERS": "2", "APITOKEND_SERVER_SOCKET_MODE": "0666"}
        d = Daemon(self, self.tmp, ["--listen", sock], env=env)
        wait_for(lambda: os.path.exists(sock), 10, what=sock)
        self.start_apache(os.path.join(ROOT, "conf", "apache", "apitokend-proxy-fcgi.conf"),
                          {"APITOKEND_SOCKET": sock})
        self.assertSameAsNginx()
        self.assertEqual(d.stop(), 0)

    def test_fcgid(self):
        state = self.stack.state_dir
        # apitokend runs as Apache's user: it gets a key file and an INI
        # of its own, and may pass through the state dir to MariaDB's socket
        if os.geteuid() == 0:
            mode = stat.S_IMODE(os.stat(state).st_mode)
            os.chmod(state, mode | 0o111)
            self.addCleanup(os.chmod, state, mode)
        key = os.path.join(self.tmp, "apitokend.key")
        shutil.copyfile(os.path.join(state, "apitokend.key"), key)
        ini = os.path.join(self.tmp, "apitokend.ini")
        with open(os.path.join(state, "apitokend.ini")) as f:
            text = re.sub(r"(?m)^key_file = .*$", f"key_file = {key}", f.read())
        with open(ini, "w") as f:
            f.write(text)
        for path in (key, ini):
            os.chmod(path, 0o600)
            if os.geteuid() == 0:
                pw = pwd.getpwnam(self.user)
                os.chown(path, pw.pw_uid, pw.pw_gid)
        self.start_apache(os.path.join(ROOT, "conf", "apache", "apitokend-fcgid.conf"),
                          {"APITOKEND_BIN": apitokend_bin(), "APITOKEND_CONFIG": ini})
        self.assertSameAsNginx()
        # mod_fcgid started it (its log lines reach Apache's error log),
        # as Apache's user, with the socket on fd 0
        log = self.error_log()
        self.assertRegex(log, r"apitokend \S+ serving with 1 workers")
        self.assertIn(f'"path":"{HEALTH}"', log)
        pids = self.fcgid_apitokends(ini)
        self.assertTrue(pids)
        for pid in pids:
            self.assertEqual(os.stat(f"/proc/{pid}").st_uid,
                             pwd.getpwnam(self.user).pw_uid if os.geteuid() == 0
                             else os.geteuid())
        # stopping Apache stops them
        self.apache_proc.terminate()
        self.apache_proc.wait(20)
        wait_for(lambda: not self.fcgid_apitokends(ini), 15, 0.1,
                 "mod_fcgid's apitokend processes to exit")

    def fcgid_apitokends(self, ini):
        found = []
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                with open(f"/proc/{pid}/environ", "rb") as f:
                    env = f.read().split(b"\0")
            except OSError:
                continue
            if f"APITOKEND_CONFIG={ini}".encode() in env and alive(int(pid)):
                found.append(int(pid))
        return found


class DatabaseOutage(OwnStack, unittest.TestCase):
    """MariaDB stops and starts again under a running apitokend (a stack of
    its own, since the other cases need the database)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.token = cls.stack.env["APITOKEND_CLIENT_ADMIN_TOKEN"]

    def pid_of(self, name):
        with open(os.path.join(self.stack.state_dir, "run", f"{name}.pid")) as f:
            return int(f.read().strip())

    def get(self, path):
        return self.stack.request("GET", path, token=self.token if path != HEALTH else None)

    def assertUnavailable(self, status, headers, body):
        self.assertEqual(status, 503, body)
        self.assertEqual((headers.get("Content-Type") or "").split(";")[0],
                         "application/problem+json")
        self.assertEqual(body.get("status"), 503)
        self.assertTrue((headers.get("Retry-After") or "").isdigit(), headers)

    def test_outage_is_503_and_recovery_needs_no_restart(self):
        for path in (HEALTH, TOKENS):
            status, _, body = self.get(path)
            self.assertEqual(status, 200, body)
        apitokend = self.pid_of("apitokend")
        mariadbd = self.pid_of("mariadbd")
        os.kill(mariadbd, signal.SIGTERM)
        wait_for(lambda: not alive(mariadbd), 60, 0.1, "mariadbd to stop")

        # every worker finds out, whether its connection was in use or idle
        for _ in range(6):
            for path in (HEALTH, TOKENS):
                with self.subTest(path=path):
                    self.assertUnavailable(*self.get(path))

        proc = subprocess.run(
            [os.path.join(ROOT, "scripts", "run"), "--start-db",
             "--state-dir", self.stack.state_dir],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True, timeout=120)
        self.assertEqual(proc.returncode, 0, proc.stdout)
        self.assertNotEqual(self.pid_of("mariadbd"), mariadbd)
        # MariaDB answers again (scripts/run waited for it): the very first
        # request succeeds.  Workers that answered 503 reconnect on their
        # next request (at most one attempt per 250 ms), and one whose
        # connection died while it was idle finds out with a ping first.
        status, _, body = self.get(TOKENS)
        self.assertEqual(status, 200, f"first request after the restart: {body}")
        # and it stays up: every worker is back
        for _ in range(12):
            for path in (HEALTH, TOKENS):
                status, _, body = self.get(path)
                self.assertEqual(status, 200, body)
        self.assertEqual(self.pid_of("apitokend"), apitokend)
        self.assertTrue(alive(apitokend))



class Install(unittest.TestCase):
    """make install DESTDIR=... lays out what an operator needs."""

    def make_var(self, names):
        prog = "print:\n\t@echo " + " ".join(f"$({n})" for n in names) + "\n"
        out = subprocess.run(["make", "-s", "-C", build_dir(), "-f", "Makefile", "-f", "-",
                              "print"], input=prog, text=True, capture_output=True,
                             check=True).stdout.split()
        return dict(zip(names, out))

    def test_layout(self):
        if not os.path.exists(os.path.join(build_dir(), "Makefile")):
            self.skipTest("no configured build dir")
        stage = tempfile.mkdtemp(prefix="apitokend-stage-")
        self.addCleanup(shutil.rmtree, stage, True)
        proc = subprocess.run(["make", "-s", "-C", build_dir(), "install", f"DESTDIR={stage}"],
                              capture_output=True, text=True)
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
        v = self.make_var(["sbindir", "sysconfdir", "pkgdatadir", "mandir", "docdir",
                           "systemdsystemunitdir"])
        want = [
            f"{v['sbindir']}/apitokend", f"{v['sbindir']}/apitokenctl",
            f"{v['sysconfdir']}/apitokend/apitokend.ini.example",
            f"{v['pkgdatadir']}/migrations/0001-schema.sql",
            f"{v['mandir']}/man8/apitokend.8", f"{v['mandir']}/man8/apitokenctl.8",
            f"{v['mandir']}/man5/apitokend.ini.5",
            f"{v['docdir']}/examples/nginx/apitokend-locations.conf",
            f"{v['docdir']}/examples/nginx/apitokend-site.conf.example",
            f"{v['docdir']}/examples/apache/apitokend-proxy-fcgi.conf",
            f"{v['docdir']}/examples/apache/apitokend-fcgid.conf",
        ]
        if v.get("systemdsystemunitdir", "no") != "no":
            want += [f"{v['systemdsystemunitdir']}/apitokend.service",
                     f"{v['systemdsystemunitdir']}/apitokend.socket"]
        for path in want:
            with self.subTest(path=path):
                self.assertTrue(os.path.isfile(stage + path), path)
        for b in ("apitokend", "apitokenctl"):
            self.assertTrue(os.access(f"{stage}{v['sbindir']}/{b}", os.X_OK))
        # every migration in the tree is installed
        for name in os.listdir(os.path.join(ROOT, "scripts", "sql")):
            if name.endswith(".sql"):
                self.assertTrue(os.path.isfile(f"{stage}{v['pkgdatadir']}/migrations/{name}"),
                                name)
        if v.get("systemdsystemunitdir", "no") != "no":
            with open(f"{stage}{v['systemdsystemunitdir']}/apitokend.service") as f:
                unit = f.read()
            self.assertIn(f"ExecStart={v['sbindir']}/apitokend -c "
                          f"{v['sysconfdir']}/apitokend/apitokend.ini", unit)
            self.assertNotIn("@", unit.replace("@system-service", "").replace(
                "@privileged", "").replace("@resources", ""))
        # nothing outside the prefix
        for top in os.listdir(stage):
            self.assertTrue(v["sbindir"].startswith("/" + top), top)


if __name__ == "__main__":
    unittest.main()
