"""A private apitokend stack for the integration tests.

Stack() starts MariaDB, apitokend and nginx (the shipped location config)
with `scripts/run --detach` in a fresh temporary state directory on a free
loopback port, and stop() takes all of it down again.  stop() also runs at
exit and on SIGINT/SIGTERM, so nothing is left behind when a case fails or
the run is interrupted.

Python 3 standard library only.

Environment:
  APITOKEND_BUILD_DIR  which binaries to run (default build/), passed on to
                       scripts/run, e.g. build-asan/
  APITOKEND_IT_KEEP    set to 1 to keep the state directories (logs) after
                       the run
  APITOKEND_WRAPPER    passed on to scripts/run, which puts it in front of
                       apitokend's command line (@STATE@: the state dir), e.g.
                       valgrind with --log-file=@STATE@/log/valgrind-%p.log;
                       stop() then also reports valgrind's findings in those
                       logs, and a valgrind that never wrote its summary
"""

import atexit
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RUN = os.path.join(ROOT, "scripts", "run")

# What the sanitizers print when they find something.
SANITIZER_RE = re.compile(
    r"ERROR: (AddressSanitizer|LeakSanitizer|MemorySanitizer|ThreadSanitizer)"
    r"|runtime error:|SUMMARY: UndefinedBehaviorSanitizer"
)
# What valgrind (memcheck) prints in its --log-file when it finds something:
# memory errors, and definite and indirect leaks (still reachable and
# possible blocks are libfcgi's and Connector/C's global state and do not
# count).
VALGRIND_RE = re.compile(
    r"==\d+== (Invalid (read|write|free)|Conditional jump|Use of uninitialised"
    r"|Syscall param|Mismatched free|Source and destination overlap"
    r"|Argument '\w+' of function|Process terminating with default action)"
    r"|are (definitely|indirectly) lost in loss record"
    r"|ERROR SUMMARY: [1-9]"
)


def valgrind_wrapped():
    return "valgrind" in os.environ.get("APITOKEND_WRAPPER", "")


def is_valgrind_log(path):
    return os.path.basename(path).startswith("valgrind")

_live = []
_lock = threading.Lock()
_handlers_installed = False


def _stop_all_live():
    for st in list(_live):
        try:
            st.stop()
        except Exception as exc:  # keep stopping the others
            print(f"stack: stop failed: {exc}", file=sys.stderr)


def _on_signal(signum, frame):
    _stop_all_live()
    # The conventional exit status of a process ended by a signal.
    os._exit(128 + signum)


def _install_handlers():
    global _handlers_installed
    if _handlers_installed:
        return
    _handlers_installed = True
    atexit.register(_stop_all_live)
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, _on_signal)


def free_port():
    """A loopback port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class StackError(RuntimeError):
    pass


class Stack:
    def __init__(self, build_dir=None):
        self.build_dir = build_dir or os.environ.get("APITOKEND_BUILD_DIR", "build")
        self.port = None
        self.state_dir = None
        self.url = None
        self.env = {}
        self.started = False
        self.started_ok = False
        self.dump_logs = False
        self.run_output = ""
        self._starting = None

    # -- lifecycle ---------------------------------------------------------

    def start(self, attempts=3):
        _install_handlers()
        self.state_dir = tempfile.mkdtemp(prefix="apitokend-it-")
        with _lock:
            _live.append(self)
        env = dict(os.environ, APITOKEND_BUILD_DIR=self.build_dir)
        for attempt in range(attempts):
            self.port = free_port()
            # Popen, not run(): stop() must be able to end a start that a
            # signal interrupted, before it cleans up.
            self._starting = subprocess.Popen(
                [RUN, "--detach", "--no-deps", "--no-build",
                 "--port", str(self.port), "--state-dir", self.state_dir],
                cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            try:
                out, _ = self._starting.communicate(timeout=600)
            except subprocess.TimeoutExpired:
                self._starting.terminate()
                out, _ = self._starting.communicate()
            rc = self._starting.returncode
            self._starting = None
            self.run_output = out
            if rc == 0:
                break
            # Another process took the port between free_port() and nginx
            # binding it: try another one.
            if "is busy" in out and attempt + 1 < attempts:
                continue
            self.dump_logs = True
            print(out, file=sys.stderr)
            self.stop()
            raise StackError(f"scripts/run failed with status {rc}")
        self.started = True
        self.started_ok = True
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = self.read_env()
        return self

    def read_env(self):
        env = {}
        with open(os.path.join(self.state_dir, "demo.env"), encoding="utf-8") as f:
            for line in f:
                line = line.rstrip("\n")
                if not line or line.startswith("#") or "=" not in line:
                    continue
                key, value = line.split("=", 1)
                env[key] = value
        return env

    def stop(self):
        """Stop everything, print the logs if asked to, and remove the state
        directory.  Returns the sanitizer findings in the logs (a list of
        lines), so a caller can fail on them.  Safe to call twice."""
        # Hold SIGINT/SIGTERM back until this stack is gone, so that an
        # interruption never leaves half a state dir behind; the handler
        # then stops the others.
        blocked = {signal.SIGINT, signal.SIGTERM}
        old = signal.pthread_sigmask(signal.SIG_BLOCK, blocked)
        try:
            return self._stop()
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, old)

    def _stop(self):
        with _lock:
            if self not in _live:
                return []
            _live.remove(self)
        findings = []
        if not self.state_dir:
            return findings
        # A scripts/run still starting (we were interrupted): let it stop
        # what it started, so nothing comes up after the --stop below.
        starting, self._starting = self._starting, None
        if starting is not None and starting.poll() is None:
            starting.terminate()
            try:
                starting.wait(timeout=120)
            except subprocess.TimeoutExpired:
                starting.kill()
        proc = subprocess.run(
            [RUN, "--stop", "--state-dir", self.state_dir],
            cwd=ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True, timeout=300)
        if proc.returncode != 0:
            self.dump_logs = True
            print(proc.stdout, file=sys.stderr)
        findings = self.sanitizer_findings()
        if findings:
            self.dump_logs = True
        if self.dump_logs:
            self.print_logs()
        if findings:
            self.print_sanitizer_reports()
        if os.environ.get("APITOKEND_IT_KEEP") == "1":
            print(f"stack: kept {self.state_dir}", file=sys.stderr)
        else:
            shutil.rmtree(self.state_dir, ignore_errors=True)
        self.started = False
        return findings

    # -- logs --------------------------------------------------------------

    def log_files(self):
        logdir = os.path.join(self.state_dir or "", "log")
        if not os.path.isdir(logdir):
            return []
        return sorted(os.path.join(logdir, n) for n in os.listdir(logdir))

    def sanitizer_findings(self):
        found = []
        summaries = 0
        for path in self.log_files():
            vg = is_valgrind_log(path)
            try:
                with open(path, encoding="utf-8", errors="replace") as f:
                    for line in f:
                        if SANITIZER_RE.search(line) or (vg and VALGRIND_RE.search(line)):
                            found.append(f"{os.path.basename(path)}: {line.rstrip()}")
                        if vg and "ERROR SUMMARY:" in line:
                            summaries += 1
            except OSError:
                pass
        # Under valgrind at least one apitokend must have exited on SIGTERM
        # and written its summary: no report because none ran is no pass.
        if valgrind_wrapped() and self.started_ok and summaries == 0:
            found.append("valgrind: no log in the state dir has an ERROR SUMMARY"
                         " (did apitokend run under valgrind and exit on SIGTERM?)")
        return found

    def print_sanitizer_reports(self, max_lines=300):
        """The whole of each sanitizer report (the log tails cut them)."""
        start_re = re.compile(r"==\d+==ERROR: |runtime error:")
        for path in self.log_files():
            try:
                with open(path, encoding="utf-8", errors="replace") as f:
                    lines = f.readlines()
            except OSError:
                continue
            if is_valgrind_log(path):
                if any(VALGRIND_RE.search(line) for line in lines):
                    print(f"----- valgrind report {path}", file=sys.stderr)
                    sys.stderr.write("".join(lines[:max_lines]))
                continue
            out, inside = [], False
            for line in lines:
                if start_re.search(line):
                    inside = True
                if inside:
                    out.append(line)
                    if line.startswith("SUMMARY:"):
                        inside = False
            if out:
                print(f"----- sanitizer reports in {path}", file=sys.stderr)
                sys.stderr.write("".join(out[:max_lines]))
        sys.stderr.flush()

    def print_logs(self, lines=40):
        for path in self.log_files():
            try:
                with open(path, encoding="utf-8", errors="replace") as f:
                    tail = f.readlines()[-lines:]
            except OSError:
                continue
            if not tail:
                continue
            print(f"----- tail of {path}", file=sys.stderr)
            sys.stderr.write("".join(tail))
        sys.stderr.flush()

    # -- HTTP --------------------------------------------------------------

    def request(self, method, path, body=None, headers=None, token=None, timeout=30):
        """One HTTP request to nginx.  body: dict or list (sent as JSON),
        str or bytes (sent as is).  Returns (status, headers, body) where
        headers is an http.client.HTTPMessage (case-insensitive get) and
        body is the parsed JSON for a JSON response, else the raw bytes."""
        hdrs = dict(headers or {})
        data = None
        if body is not None:
            if isinstance(body, (dict, list)):
                data = json.dumps(body).encode("utf-8")
                hdrs.setdefault("Content-Type", "application/json")
            elif isinstance(body, str):
                data = body.encode("utf-8")
            else:
                data = bytes(body)
        if token is not None:
            hdrs["Authorization"] = f"Bearer {token}"
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.request(method, path, body=data, headers=hdrs)
            resp = conn.getresponse()
            raw = resp.read()
            status, rheaders = resp.status, resp.headers
        finally:
            conn.close()
        ctype = (rheaders.get("Content-Type") or "").split(";")[0].strip().lower()
        parsed = raw
        if raw and (ctype == "application/json" or ctype.endswith("+json")):
            try:
                parsed = json.loads(raw)
            except ValueError:
                parsed = raw
        return status, rheaders, parsed


_shared = None
_shared_error = None


class OwnStack:
    """Mixin, first among a test class's bases: the class gets a stack of its
    own (for cases that change what the shared one must keep: keys, chains,
    modules, the database's life), started before its tests and stopped
    after them.  Sanitizer or valgrind findings in its logs fail the class.
    Bases that read the stack in setUpClass find it in cls.stack."""

    @classmethod
    def setUpClass(cls):
        cls.stack = Stack().start()
        try:
            super().setUpClass()
        except Exception:
            cls.stack.stop()
            raise

    @classmethod
    def tearDownClass(cls):
        findings = cls.stack.stop()
        super().tearDownClass()
        if findings:
            raise AssertionError("sanitizer or valgrind reports:\n" + "\n".join(findings[:20]))


def stack_of(cls):
    """The stack a test class set up for itself (OwnStack), else the shared
    one."""
    return cls.__dict__.get("stack") or shared_stack()


def shared_stack():
    """The one stack all cases of a run share, started on first use.  A
    failure to start is remembered, so every case reports it without
    trying again."""
    global _shared, _shared_error
    if _shared_error is not None:
        raise StackError(f"the shared stack did not start: {_shared_error}")
    if _shared is None:
        try:
            _shared = Stack().start()
        except Exception as exc:
            _shared_error = exc
            raise
    return _shared


def stop_shared_stack(dump_logs=False):
    """Stop the shared stack if it ran; returns its sanitizer findings."""
    global _shared
    if _shared is None:
        return []
    st, _shared = _shared, None
    st.dump_logs = st.dump_logs or dump_logs
    return st.stop()


def processes_referencing(path):
    """(pid, comm, cmdline) of the mariadbd, nginx and apitokend processes
    whose command line names path."""
    found = []
    needle = path.rstrip("/") + "/"
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmdline = f.read().replace(b"\0", b" ").decode("utf-8", "replace")
            with open(f"/proc/{pid}/comm", encoding="utf-8") as f:
                comm = f.read().strip()
        except OSError:
            continue
        # apitokend under APITOKEND_WRAPPER=valgrind runs as valgrind's tool
        if comm.startswith("memcheck-") and "/apitokend " in cmdline:
            comm = "apitokend"
        if comm not in ("mariadbd", "mysqld", "nginx", "apitokend"):
            continue
        if needle in cmdline:
            found.append((int(pid), comm, cmdline.strip()))
    return found
