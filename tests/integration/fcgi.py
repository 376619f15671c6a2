"""A small FastCGI client (responder role), standard library only.

The deployment tests talk to apitokend directly, without a web server in
between, on whatever socket a start mode gave it:

    conn = fcgi.connect("/tmp/x/apitokend.sock")     # or ("127.0.0.1", 9000)
    resp = fcgi.request(conn, "GET", "/settings/api-tokens/health")
    resp.status, resp.headers["content-type"], resp.json()

request() sends BEGIN_REQUEST, the PARAMS stream (the CGI variables nginx
sets, see conf/nginx/apitokend-fastcgi.conf) and the STDIN stream, then
reads STDOUT until END_REQUEST and parses the CGI-style response.  For a
slow client, send_begin() / send_stdin() / read_response() do the same in
steps.
"""

import json
import socket
import struct

VERSION = 1
BEGIN_REQUEST, ABORT_REQUEST, END_REQUEST = 1, 2, 3
PARAMS, STDIN, STDOUT, STDERR = 4, 5, 6, 7
RESPONDER = 1
KEEP_CONN = 1
MAX_CONTENT = 65535


class FcgiError(RuntimeError):
    pass


def connect(addr, timeout=30):
    """A connected socket: addr is a Unix socket path or (host, port)."""
    if isinstance(addr, str):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    else:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect(addr)
    except OSError:
        s.close()
        raise
    return s


def _record(rtype, content=b"", request_id=1):
    out = []
    for i in range(0, max(len(content), 1), MAX_CONTENT):
        chunk = content[i:i + MAX_CONTENT]
        pad = -len(chunk) % 8
        out.append(struct.pack(">BBHHBx", VERSION, rtype, request_id, len(chunk), pad)
                   + chunk + b"\0" * pad)
    return b"".join(out)


def _length(n):
    return struct.pack(">B", n) if n < 128 else struct.pack(">I", n | 0x80000000)


def encode_params(params):
    out = []
    for name, value in params.items():
        n = name.encode("latin-1") if isinstance(name, str) else name
        v = value.encode("utf-8") if isinstance(value, str) else value
        out.append(_length(len(n)) + _length(len(v)) + n + v)
    return b"".join(out)


def cgi_params(method, uri, headers=None, body=b"", remote_user=None):
    """The parameters nginx would send for this request (see
    apitokend-fastcgi.conf); headers become HTTP_* variables."""
    path, _, query = uri.partition("?")
    p = {
        "REQUEST_METHOD": method,
        "REQUEST_URI": uri,
        "DOCUMENT_URI": path,
        "SCRIPT_NAME": path,
        "QUERY_STRING": query,
        "CONTENT_TYPE": "",
        "CONTENT_LENGTH": str(len(body)) if body else "",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REQUEST_SCHEME": "http",
        "GATEWAY_INTERFACE": "CGI/1.1",
        "SERVER_SOFTWARE": "fcgi.py",
        "SERVER_NAME": "localhost",
        "SERVER_ADDR": "127.0.0.1",
        "SERVER_PORT": "80",
        "REMOTE_ADDR": "127.0.0.1",
        "REMOTE_PORT": "40000",
        "HTTP_HOST": "localhost",
    }
    for name, value in (headers or {}).items():
        key = name.upper().replace("-", "_")
        if key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            p[key] = value
        else:
            p["HTTP_" + key] = value
    if remote_user:
        p["REMOTE_USER"] = remote_user
    return p


class Response:
    def __init__(self, status, headers, body, stderr, app_status):
        self.status = status
        self.headers = headers      # lower-case names
        self.body = body
        self.stderr = stderr
        self.app_status = app_status

    def media_type(self):
        return self.headers.get("content-type", "").split(";")[0].strip().lower()

    def json(self):
        return json.loads(self.body) if self.body else None

    def __repr__(self):
        return f"<fcgi.Response {self.status} {self.body[:200]!r}>"


def _recv_exact(sock, n):
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise FcgiError(f"connection closed after {len(buf)} of {n} bytes")
        buf += chunk
    return buf


def send_begin(sock, params, request_id=1, keep_conn=False):
    """BEGIN_REQUEST and the whole PARAMS stream."""
    flags = KEEP_CONN if keep_conn else 0
    sock.sendall(_record(BEGIN_REQUEST, struct.pack(">HB5x", RESPONDER, flags), request_id)
                 + _record(PARAMS, encode_params(params), request_id)
                 + _record(PARAMS, b"", request_id))


def send_stdin(sock, data, request_id=1, end=True):
    """Part of the body; end=True closes the STDIN stream after it."""
    out = _record(STDIN, data, request_id) if data else b""
    if end:
        out += _record(STDIN, b"", request_id)
    sock.sendall(out)


def parse_cgi(raw):
    head, sep, body = raw.partition(b"\r\n\r\n")
    if not sep:
        head, sep, body = raw.partition(b"\n\n")
    if not sep:
        raise FcgiError(f"no end of headers in {raw[:200]!r}")
    headers = {}
    for line in head.decode("latin-1").splitlines():
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    status = int(headers.get("status", "200").split()[0])
    return status, headers, body


def read_response(sock, request_id=1):
    out, err = [], []
    while True:
        version, rtype, rid, clen, plen = struct.unpack(">BBHHBx", _recv_exact(sock, 8))
        content = _recv_exact(sock, clen + plen)[:clen]
        if version != VERSION:
            raise FcgiError(f"bad record version {version}")
        if rid != request_id:
            continue
        if rtype == STDOUT:
            out.append(content)
        elif rtype == STDERR:
            err.append(content)
        elif rtype == END_REQUEST:
            app_status, proto_status = struct.unpack(">IB3x", content)
            if proto_status != 0:
                raise FcgiError(f"protocol status {proto_status}")
            status, headers, body = parse_cgi(b"".join(out))
            return Response(status, headers, body, b"".join(err), app_status)


def request(addr_or_sock, method, uri, body=b"", headers=None, token=None,
            remote_user=None, timeout=30):
    """One request.  addr_or_sock: an address for connect() or a connected
    socket (kept open: FCGI_KEEP_CONN is set then).  body: bytes, str or a
    dict/list sent as JSON."""
    hdrs = dict(headers or {})
    if isinstance(body, (dict, list)):
        body = json.dumps(body).encode("utf-8")
        hdrs.setdefault("Content-Type", "application/json")
    elif isinstance(body, str):
        body = body.encode("utf-8")
    if token is not None:
        hdrs["Authorization"] = f"Bearer {token}"
    own = not isinstance(addr_or_sock, socket.socket)
    sock = connect(addr_or_sock, timeout) if own else addr_or_sock
    try:
        send_begin(sock, cgi_params(method, uri, hdrs, body, remote_user), keep_conn=not own)
        send_stdin(sock, body)
        return read_response(sock)
    finally:
        if own:
            sock.close()
