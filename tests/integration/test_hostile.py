"""Hostile and broken input (SPEC §4, §5, §6, §11): a catalogue of requests
sent byte for byte through nginx, each of which must get its intended 4xx
(problem+json with a traceId whenever apitokend answers), never a 5xx and
never a crash, and must leave the database exactly as it was.

nginx itself answers a few (an over-long header line or URI, a NUL byte in
the request line, a method it does not know how to parse): those may get
nginx's own 4xx (text/html) instead, but still never a 5xx.

The database fingerprint is taken before the catalogue and after every
case: CHECKSUM TABLE of every table a request could touch, and for tokens a
digest of every column but last_access_at (which a successful request with a
token may set, at most once a minute, by design)."""

import http.client
import json
import os
import re
import socket
import time
import unittest
import urllib.parse
from collections import namedtuple

from test_audit import RECORDS, sql
from test_tokens import (AM, BILLING, GIF, PLATFORM, PNG, SETTINGS, TRACE_ID_RE,
                         TokensBase, checksum, media_type)

P, S = PLATFORM, SETTINGS
MODULES = "/public/v1/accounts/modules"
NGINX_LONG = {400, 414, 431, 494}   # what nginx says to over-long lines
SQLI = ("' OR 1=1 --", "`id`", ";DROP TABLE tokens", "x'); DELETE FROM tokens; --",
        "1\" OR \"1\"=\"1", "\\'; SELECT SLEEP(5); #")

# One catalogue entry.
#   method, path: bytes or str, sent as they are (no encoding, no cleaning)
#   headers: [(name, value)] in order; value str or bytes
#   body: bytes or None; content-type is NOT added for you
#   status: the status apitokend must answer (int or set)
#   errors: for a 400, the key `errors` must name (None: not checked)
#   auth: "client" | "vendor" | "ops" | None: which Bearer token to add
#   nginx: the statuses nginx may answer with instead (its own html page)
#   check: for a 2xx, a function(test, parsed body) with more assertions
Case = namedtuple("Case", "label method path headers body status errors auth nginx check")


def case(label, method, path, status, errors=None, headers=(), body=None, auth="client",
         nginx=frozenset(), check=None, ctype=None):
    headers = list(headers)
    if ctype is not None:
        headers.append(("Content-Type", ctype))
    return Case(label, method, path, headers, body, status, errors, auth, frozenset(nginx),
                check)


def js(obj):
    return json.dumps(obj).encode("utf-8")


def post(label, base, body, errors=None, status=400, **kw):
    """A create with a JSON body (bytes or an object)."""
    raw = body if isinstance(body, bytes) else js(body)
    return case(label, "POST", base, status, errors, body=raw,
                ctype=kw.pop("ctype", "application/json"), **kw)


def put(label, path, body, errors=None, status=400, **kw):
    raw = body if isinstance(body, bytes) else js(body)
    return case(label, "PUT", path, status, errors, body=raw,
                ctype=kw.pop("ctype", "application/json"), **kw)


def deep(n, open_="[", close="]", inner=b"1"):
    return open_.encode() * n + inner + close.encode() * n


def nested_rql(n):
    return "not(" * n + "eq(name,a)" + ")" * n


def many_nodes(n):
    return "or(" + ",".join(["eq(name,a)"] * n) + ")"


def capped_to_1000(test, body):
    test.assertEqual(body["$meta"]["pagination"]["limit"], 1000, body["$meta"])


def no_rows(test, body):
    test.assertEqual(body["data"], [], body)
    test.assertEqual(body["$meta"]["pagination"]["total"], 0, body["$meta"])


def fake_token(tid="TKN-0000-0000", body="A" * 58):
    prefix = f"idt:{tid}:{body}"
    return prefix + checksum(prefix)


def catalogue():
    """The cases; {tid} in a path or body stands for an existing Active
    token of the Client account, {aud} for an existing audit record."""
    c = []
    # -- JSON bodies of a create, on both mounts ----------------------------
    for base in (P, S):
        m = "P" if base == P else "S"
        c += [
            post(f"{m} truncated JSON", base, b'{"name":'),
            post(f"{m} arrays 100 deep", base, b'{"name":"a","x":' + deep(100) + b"}"),
            post(f"{m} objects 40 deep", base,
                 b'{"name":"a","x":' + b'{"a":' * 40 + b"1" + b"}" * 40 + b"}"),
            post(f"{m} 50000 open brackets", base, b"[" * 50000),
            post(f"{m} top-level array", base, b'[{"name":"a"}]'),
            post(f"{m} top-level string", base, b'"name"'),
            post(f"{m} top-level number", base, b"42"),
            post(f"{m} top-level null", base, b"null"),
            post(f"{m} empty body", base, b""),
            post(f"{m} whitespace body", base, b"  \r\n\t "),
            post(f"{m} duplicate key", base, b'{"name":"a","name":"b"}'),
            post(f"{m} single quotes", base, b"{'name':'a'}"),
            post(f"{m} invalid UTF-8", base, b'{"name":"a\xff"}'),
            post(f"{m} overlong UTF-8 slash", base, b'{"name":"a\xc0\xaf"}'),
            post(f"{m} UTF-8 surrogate bytes", base, b'{"name":"a\xed\xa0\x80"}'),
            post(f"{m} raw NUL byte", base, b'{"name":"a\x00b"}'),
            # json-c would cut the string at the NUL: the parser refuses it
            post(f"{m} escaped NUL in name", base, b'{"name":"a\\u0000b"}'),
            post(f"{m} escaped NUL in description", base,
                 b'{"name":"nul","description":"a\\u0000b"}'),

            post(f"{m} trailing garbage", base, b'{"name":"a"} x'),
            post(f"{m} two objects", base, b'{"name":"a"}{"name":"b"}'),
            post(f"{m} NaN", base, b'{"name":"a","description":NaN}'),
            post(f"{m} comment", base, b'{"name":"a" /* c */}'),
            post(f"{m} trailing comma", base, b'{"name":"a",}'),
        ]
    c += [
        # -- wrong types and sizes, field by field ---------------------------
        post("name is a number", P, {"name": 5}, ["name"]),
        post("name is a list", P, {"name": ["a"]}, ["name"]),
        post("name is an object", P, {"name": {"a": 1}}, ["name"]),
        post("name is null", P, {"name": None}, ["name"]),
        post("name is true", P, {"name": True}, ["name"]),
        post("name is empty", P, {"name": ""}, ["name"]),
        post("name missing", P, {"description": "x"}, ["name"]),
        post("name 201 characters", P, {"name": "a" * 201}, ["name"]),
        post("name 500000 characters", P, {"name": "a" * 500000}, ["name"]),
        post("name with a newline", P, {"name": "a\nb"}, ["name"]),
        post("name with markup", P, {"name": "<script>alert(1)</script>"}, ["name"]),
        post("name huge number", P, b'{"name":1e999999}', ["name"]),
        post("description is a number", P, {"name": "ok", "description": 7}, ["description"]),
        post("description is a list", P, {"name": "ok", "description": ["x"]}, ["description"]),
        post("description 2001 characters", P, {"name": "ok", "description": "d" * 2001},
             ["description"]),
        post("icon is a foreign URL", P, {"name": "ok", "icon": "http://evil.example/x.png"},
             ["icon"]),
        post("icon is a path traversal", P, {"name": "ok", "icon": "../../../etc/passwd"},
             ["icon"]),
        post("icon is a number", P, {"name": "ok", "icon": 1}, ["icon"]),
        post("modules is a string", P, {"name": "ok", "modules": AM}, ["modules"]),
        post("modules of strings", P, {"name": "ok", "modules": [AM]}, ["modules"]),
        post("modules id null", P, {"name": "ok", "modules": [{"id": None}]}, ["modules"]),
        post("modules duplicate", P, {"name": "ok", "modules": [{"id": AM}, {"id": AM}]},
             ["modules"]),
        post("modules 20000 entries", P, {"name": "ok", "modules": [{"id": AM}] * 20000},
             ["modules"]),
        post("modules unknown", P, {"name": "ok", "modules": [{"id": "MOD-0000"}]},
             ["modules"]),
        post("modules huge number", P, b'{"name":"ok","modules":1e999999}', ["modules"]),
        post("account.id is a number", P, {"name": "ok", "account": {"id": 5}},
             ["account.id"]),
        post("account.id malformed", P, {"name": "ok", "account": {"id": "ACC-1"}},
             ["account.id"]),
        post("body 2 MiB", P, js({"name": "big", "description": "x" * (2 << 20)}),
             status=413),
        post("body 7 MB (nginx's limit)", P, js({"name": "big", "description": "x" * 7000000}),
             status=413, nginx={413}),
        # -- media types -----------------------------------------------------
        post("content type text/plain", P, {"name": "ok"}, status=415, ctype="text/plain"),
        post("no content type", P, {"name": "ok"}, status=415, ctype=None),
        post("form content type", P, b"name=ok", status=415,
             ctype="application/x-www-form-urlencoded"),
        post("multipart content type", P, b"--x\r\n\r\n{}\r\n--x--", status=415,
             ctype="multipart/form-data; boundary=x"),
        post("application/jsonx", P, {"name": "ok"}, status=415, ctype="application/jsonx"),
        post("content type with NUL", P, {"name": "ok"}, status=415,
             ctype=b"application/json\x00x", nginx={400}),
        post("content type SQL", P, {"name": "ok"}, status=415,
             ctype="application/json' OR 1=1 --"),
    ]
    # -- SQL metacharacters in every string field of a body ----------------
    for i, s in enumerate(SQLI):
        c += [
            post(f"SQL in name #{i}", P, {"name": s}, ["name"]),
            # the description itself may be valid: the bad name keeps the
            # request from writing, and the description must not be named
            post(f"SQL in description #{i}", S, {"name": s, "description": s}, ["name"]),
            post(f"SQL in icon #{i}", P, {"name": "ok", "icon": s}, ["icon"]),
            post(f"SQL in module id #{i}", S, {"name": "ok", "modules": [{"id": s}]},
                 ["modules"]),
            post(f"SQL in account.id #{i}", P, {"name": "ok", "account": {"id": s}},
                 ["account.id"]),
            put(f"SQL in PUT name #{i}", P + "/{tid}", {"name": s}, ["name"]),
            put(f"SQL in PUT module id #{i}", S + "/{tid}", {"modules": [{"id": s}]},
                ["modules"]),
        ]
    c += [
        # -- updates -----------------------------------------------------------
        put("PUT empty name", P + "/{tid}", {"name": ""}, ["name"]),
        put("PUT name null", S + "/{tid}", {"name": None}, ["name"]),
        put("PUT description 2001", P + "/{tid}", {"description": "d" * 2001}, ["description"]),
        put("PUT icon foreign", P + "/{tid}", {"icon": "/public/v1/accounts/api-tokens/"
                                                       "TKN-0000-0000/icon"}, ["icon"]),
        put("PUT body array", P + "/{tid}", b"[]"),
        put("PUT duplicate key", S + "/{tid}", b'{"description":"a","description":"b"}'),
        put("PUT deep", P + "/{tid}", b'{"description":' + deep(64) + b"}"),
        put("PUT text/plain", P + "/{tid}", {"description": "x"}, status=415,
            ctype="text/plain"),
        put("PUT If-Match garbage", P + "/{tid}", {"description": "changed"}, status=412,
            headers=[("If-Match", "garbage")]),
        put("PUT If-Match huge number", P + "/{tid}", {"description": "changed"}, status=412,
            headers=[("If-Match", '"99999999999999999999999"')]),
        put("PUT If-Match negative", S + "/{tid}", {"description": "changed"}, status=412,
            headers=[("If-Match", '"-1"')]),
        put("PUT If-Match SQL", P + "/{tid}", {"description": "changed"}, status=412,
            headers=[("If-Match", "\"1' OR 1=1 --\"")]),
        put("PUT If-Match 8 KiB", P + "/{tid}", {"description": "changed"}, status=412,
            headers=[("If-Match", '"' + "1" * 9000 + '"')], nginx=NGINX_LONG),
        case("disable with weak If-Match", "POST", P + "/{tid}/disable", 412,
             headers=[("If-Match", 'W/"999"')]),
        case("delete with If-Match 0", "DELETE", P + "/{tid}", 412,
             headers=[("If-Match", '"0"')]),
        case("enable an Active token", "POST", S + "/{tid}/enable", 409),
        # -- icons -------------------------------------------------------------
        case("icon GIF", "PUT", P + "/{tid}/icon", 415, body=GIF, ctype="image/gif"),
        case("icon SVG called PNG", "PUT", P + "/{tid}/icon", 415,
             body=b"<svg xmlns='http://www.w3.org/2000/svg'/>", ctype="image/png"),
        case("icon empty", "PUT", S + "/{tid}/icon", 400, ["icon"], body=b"",
             ctype="image/png"),
        case("icon truncated magic", "PUT", P + "/{tid}/icon", 415, body=PNG[:3],
             ctype="image/png"),
        case("icon 5.5 MB", "PUT", P + "/{tid}/icon", 413,
             body=PNG[:8] + b"\0" * (5 * 1024 * 1024 + 512 * 1024), ctype="image/png"),
        case("icon of a token without one", "GET", P + "/{tid}/icon", 404),
        # -- ids in paths --------------------------------------------------------
        case("id ..%2f traversal", "GET", P + "/..%2f..%2fmodules", 404, nginx={400}),
        case("id ..%2f to health", "GET", S + "/..%2f..%2fapi-tokens%2fhealth", 404,
             nginx={400}),
        case("id with raw ../", "GET", P + "/TKN-0000-0000/../../modules", 404, nginx={400}),
        case("id %2e%2e", "DELETE", P + "/%2e%2e", 404, nginx={400}),
        case("id with %00", "GET", P + "/TKN-0000-0000%00", 404, nginx={400}),
        case("own id with %00", "PUT", P + "/{tid}%00", 404, body=js({"name": "x"}),
             ctype="application/json", nginx={400}),
        case("enable%00", "POST", P + "/{tid}/enable%00", 404, nginx={400}),
        case("raw NUL in the request line", "GET", b"/public/v1/accounts/api-tokens/TKN\x00",
             404, nginx={400}),
        case("raw 0xff in the path", "GET", b"/public/v1/accounts/api-tokens/TKN-\xff\xfe",
             404, nginx={400}),
        case("id 4000 characters", "GET", P + "/TKN-" + "1" * 4000, 404),
        case("id 10000 characters", "GET", P + "/TKN-" + "1" * 10000, 404, nginx=NGINX_LONG),
        case("id with SQL", "GET", P + "/TKN-1234-5678'%20OR%20'1'%3D'1", 404),
        case("id with raw quote", "DELETE", P + "/TKN-1234-5678'--", 404),
        case("id in Arabic-Indic digits", "GET",
             P + "/TKN-%D9%A1%D9%A2%D9%A3%D9%A4-%D9%A5%D9%A6%D9%A7%D9%A8", 404),
        case("id in full-width digits", "GET",
             S + "/TKN-%EF%BC%91%EF%BC%92%EF%BC%93%EF%BC%94-1234", 404),
        case("id with invalid %-escape", "GET", P + "/TKN-%zz", 404, nginx={400}),
        case("token trail ..%2f", "GET", S + "/{tid}/audit/..%2f..%2f..%2fmodules", 404,
             nginx={400}),
        case("module id with SQL", "GET", MODULES + "/MOD-1756'%20OR%201%3D1", 404, auth="ops"),
        case("audit record id with SQL", "GET",
             RECORDS + "/AUD-0000-0000-0000-0000'%20OR%20'1'%3D'1", 404),
        case("audit record id traversal", "GET", RECORDS + "/..%2f..%2faccounts%2fapi-tokens",
             404, nginx={400}),
        case("verify endpoint from outside", "GET", "/_apitokend/verify", 404, nginx={404}),
        # -- methods -------------------------------------------------------------
        case("PATCH a token", "PATCH", P + "/{tid}", 405, body=js({"name": "x"}),
             ctype="application/json"),
        case("OPTIONS the collection", "OPTIONS", P, 405),
        case("DELETE the collection", "DELETE", S, 405),
        case("PUT the collection", "PUT", P, 405, body=js({"name": "x"}),
             ctype="application/json"),
        case("GET enable", "GET", P + "/{tid}/enable", 405),
        case("POST the modules of the settings mount", "POST", S + "/modules", 405,
             body=b"{}", ctype="application/json"),
        case("DELETE an audit record", "DELETE", RECORDS + "/{aud}", 405),
        case("PUT an audit record", "PUT", RECORDS + "/{aud}", 405, body=b"{}",
             ctype="application/json"),
        case("PUT the module catalogue", "PUT", MODULES, 405, auth="ops", body=b"{}",
             ctype="application/json"),
        case("unknown method BREW", "BREW", P, 405, nginx={400, 405}),
        case("TRACE", "TRACE", P, 405, nginx={405}),
        case("lower-case get", "get", P, 405, nginx={400}),
        # -- credentials ---------------------------------------------------------
        case("Bearer empty", "GET", P, 401, auth=None, headers=[("Authorization", "Bearer ")]),
        case("Bearer bad checksum", "GET", P, 401, auth=None,
             headers=[("Authorization", "Bearer idt:TKN-0000-0000:" + "A" * 64)]),
        case("Bearer well-formed, unknown", "GET", P, 401, auth=None,
             headers=[("Authorization", "Bearer " + fake_token())]),
        case("Bearer SQL", "GET", P, 401, auth=None,
             headers=[("Authorization", "Bearer idt:TKN-1234-5678:' OR 1=1 --")]),
        case("Bearer SQL in the id", "GET", P, 401, auth=None,
             headers=[("Authorization", "Bearer " + fake_token("TKN-1234-5678' OR '1'='1"))]),
        case("Bearer 7000 bytes", "GET", P, 401, auth=None,
             headers=[("Authorization", "Bearer " + "x" * 7000)]),
        case("Bearer 9000 bytes", "GET", P, 401, auth=None,
             headers=[("Authorization", "Bearer " + "x" * 9000)], nginx=NGINX_LONG),
        case("Bearer invalid UTF-8", "GET", P, 401, auth=None,
             headers=[("Authorization", b"Bearer idt:TKN-0000-0000:\xff\xfe\xc0")]),
        case("Bearer NUL", "GET", P, 401, auth=None,
             headers=[("Authorization", b"Bearer idt:TKN-0000-0000:\x00")], nginx={400}),
        case("Basic garbage on the platform mount", "GET", P, 401, auth=None,
             headers=[("Authorization", "Basic !!!not-base64!!!")]),
        case("Digest on the platform mount", "POST", P, 401, auth=None,
             headers=[("Authorization", 'Digest username="x", realm="y"')],
             body=js({"name": "x"}), ctype="application/json"),
        case("scheme only", "DELETE", P + "/{tid}", 401, auth=None,
             headers=[("Authorization", "Bearer")]),
        case("Basic SQL user on the settings mount", "GET", S, 401, auth=None,
             headers=[("Authorization", "Basic J09SIDE9MSAtLTp4")]),  # ' OR 1=1 --:x
        case("identity headers only", "POST", S + "/{tid}/disable", 401, auth=None,
             headers=[("Remote-User", "USR-0000-0000"), ("X-Remote-User", "USR-0000-0000")]),
        case("guarded API with a forged token", "GET", "/public/v1/accounts/buyers", 401,
             auth=None, headers=[("Authorization", "Bearer " + fake_token())]),
        case("guarded API with SQL", "GET", "/public/v1/accounts/buyers", 401, auth=None,
             headers=[("Authorization", "Bearer ' OR 1=1 --")]),
        # -- limit and offset ----------------------------------------------------
        case("limit 20 nines (capped)", "GET", P + "?limit=99999999999999999999", 200,
             check=capped_to_1000),
        case("limit -1", "GET", P + "?limit=-1", 400, ["limit"]),
        case("limit 1e3", "GET", S + "?limit=1e3", 400, ["limit"]),
        case("limit empty", "GET", P + "?limit=", 400, ["limit"]),
        case("limit hex", "GET", P + "?limit=0x10", 400, ["limit"]),
        case("limit twice", "GET", P + "?limit=1&limit=2", 400, ["limit"]),
        case("limit SQL", "GET", P + "?limit=1%3BDROP%20TABLE%20tokens", 400, ["limit"]),
        case("offset -5", "GET", P + "?offset=-5", 400, ["offset"]),
        case("offset 20 nines", "GET", S + "?offset=99999999999999999999", 400, ["offset"]),
        case("offset 2^31", "GET", P + "?offset=2147483648", 400, ["offset"]),
        case("offset SQL", "GET", P + "?offset=0%20OR%201%3D1", 400, ["offset"]),
        # -- RQL on tokens -------------------------------------------------------
        case("RQL unbalanced quote", "GET", P + "?eq(name,'%20OR%201%3D1%20--)", 400, ["rql"]),
        case("RQL quoted SQL value", "GET", P + "?eq(name,'%20OR%201%3D1%20--')", 200,
             check=no_rows),
        case("RQL quoted DROP value", "GET", S + "?eq(description,%22%3BDROP%20TABLE%20tokens%22)",
             200, check=no_rows),
        # % and _ are LIKE wildcards in SQL, mere characters in RQL
        case("RQL ilike SQL wildcards", "GET", P + "?ilike(name,'*%25_*')", 200,
             check=no_rows),
        case("RQL like SQL wildcard only", "GET", S + "?like(name,%25)", 200, check=no_rows),
        case("RQL bare DROP", "GET", P + "?eq(name;DROP TABLE tokens)", 400, ["rql"],
             nginx={400}),
        case("RQL SQL field name", "GET", P + "?eq(name%60%20OR%201,x)", 400, ["rql"]),
        case("RQL field is a column", "GET", P + "?eq(secret_hash,x)", 400, ["rql"]),
        case("RQL field subquery", "GET", P + "?eq((SELECT%201),1)", 400, ["rql"]),
        case("RQL field with quote", "GET", P + "?eq(name'--,x)", 400, ["rql"]),
        case("RQL key=value SQL key", "GET", P + "?%27%20OR%201%3D1--=x", 400, ["rql"]),
        case("RQL unknown operator", "GET", P + "?regex(name,.*)", 400, ["rql"]),
        case("RQL unknown enum", "GET", P + "?status=Active'--", 400, ["rql"]),
        case("RQL number field SQL", "GET", P + "?eq(revision,1%20OR%201%3D1)", 400, ["rql"]),
        case("RQL bad date", "GET", P + "?gt(audit.created.at,2024-13-45)", 400, ["rql"]),
        case("RQL any() on a column", "GET", P + "?any(modules,eq(secret_hash,x))", 400, ["rql"]),
        case("RQL in() with SQL", "GET", P + "?in(status,(Active,Deleted'))", 400, ["rql"]),
        case("RQL unbalanced parens", "GET", P + "?and(eq(name,a)", 400, ["rql"]),
        case("RQL closing parens", "GET", P + "?)))", 400, ["rql"]),
        case("RQL %zz", "GET", P + "?eq(name,%zz)", 400, ["rql"]),
        case("RQL %00", "GET", P + "?eq(name,%00)", 400, ["rql"]),
        case("RQL invalid UTF-8", "GET", P + "?eq(name,%ff%fe)", 400, ["rql"]),
        case("RQL overlong UTF-8", "GET", S + "?eq(name,%c0%af)", 400, ["rql"]),
        case("RQL 65 levels deep", "GET", P + "?" + nested_rql(65), 400, ["rql"]),
        case("RQL 1000 levels deep", "GET", P + "?" + "(" * 1000 + ")" * 1000, 400, ["rql"]),
        case("RQL 300 nodes", "GET", P + "?" + many_nodes(300), 400, ["rql"]),
        case("RQL 600 top-level terms", "GET", S + "?" + "&".join(["name=a"] * 600), 400,
             ["rql"]),
        case("query over 8 KiB", "GET", P + "?eq(name," + "a" * 9000 + ")", 400, ["query"],
             nginx=NGINX_LONG),
        case("order SQL", "GET", P + "?order=name;DROP%20TABLE%20tokens", 400, ["order"]),
        case("order subquery", "GET", P + "?order=-name,(SELECT%201)", 400, ["order"]),
        case("order twice", "GET", P + "?order=name&order=id", 400, ["order"]),
        case("order 100 keys", "GET", P + "?order=" + ",".join(["name"] * 100), 400, ["order"]),
        case("select a column", "GET", P + "?select=%2Bsecret_hash", 400, ["select"]),
        case("select token in a list", "GET", S + "?select=token", 400, ["select"]),
        case("select SQL", "GET", P + "?select=name%60,(SELECT%201)", 400, ["select"]),
        case("select empty item", "GET", P + "?select=,", 400, ["select"]),
        case("GET one with select SQL", "GET", P + "/{tid}?select=%27%20OR%201%3D1", 400,
             ["select"]),
        case("GET one with a filter", "GET", P + "/{tid}?eq(name,x)", 400),
        # -- RQL on audit records, a token's trail and modules -------------------
        case("records limit -1", "GET", RECORDS + "?limit=-1", 400, ["limit"]),
        case("records SQL value", "GET", RECORDS + "?eq(event,x'%20OR%20'1'%3D'1)", 400,
             ["rql"]),
        case("records SQL field", "GET", RECORDS + "?eq(hash,x)", 400, ["rql"]),
        case("records order SQL", "GET", RECORDS + "?order=timestamp;DROP%20TABLE%20x", 400,
             ["order"]),
        case("records 65 deep", "GET", RECORDS + "?" + nested_rql(65).replace("name", "event"),
             400, ["rql"]),
        case("records render with a value", "GET", RECORDS + "?render()=1", 400, ["render"]),
        case("records offset 20 nines", "GET", RECORDS + "?offset=99999999999999999999", 400,
             ["offset"]),
        case("trail limit abc", "GET", S + "/{tid}/audit?limit=abc", 400, ["limit"]),
        case("trail 300 nodes", "GET",
             S + "/{tid}/audit?" + many_nodes(300).replace("name", "event"), 400, ["rql"]),
        case("trail SQL field", "GET", S + "/{tid}/audit?eq(`object_id`,x)", 400, ["rql"],
             nginx={400}),
        case("modules SQL value", "GET", MODULES + "?eq(code,'%20OR%201%3D1)", 400, ["rql"],
             auth="ops"),
        case("modules limit -1", "GET", MODULES + "?limit=-1", 400, ["limit"], auth="ops"),
        case("modules 65 deep", "GET", MODULES + "?" + nested_rql(65), 400, ["rql"],
             auth="ops"),
        case("grantable modules with SQL query", "GET", S + "/modules?%27%20OR%201%3D1", 400),
        # -- audit records posted by extensions ----------------------------------
        post("record event SQL", RECORDS, {"event": "extensions.x.y'; DROP TABLE audit_records",
                                           "summary": "s",
                                           "object": {"id": "X-1", "objectType": "T"}},
             ["event"], auth="vendor"),
        post("record object not an object", RECORDS,
             {"event": "extensions.billing.sent", "summary": "s", "object": "' OR 1=1"},
             ["object"], auth="vendor"),
        post("record documents a list", RECORDS,
             {"event": "extensions.billing.sent", "summary": "s",
              "object": {"id": "X-1", "objectType": "T"}, "documents": [1]},
             ["documents"], auth="vendor"),
        post("record 40 deep", RECORDS,
             b'{"event":"extensions.billing.sent","summary":"s","documents":'
             + b'{"a":' * 40 + b"1" + b"}" * 40 + b"}", auth="vendor"),
        post("record duplicate key", RECORDS,
             b'{"event":"extensions.billing.sent","event":"extensions.billing.x",'
             b'"summary":"s","object":{"id":"X-1","objectType":"T"}}', auth="vendor"),
        # -- headers -------------------------------------------------------------
        case("header line 9000 bytes", "GET", P, 200, headers=[("X-Long", "y" * 9000)],
             nginx=NGINX_LONG),
        case("40 KB of headers", "GET", P, 200,
             headers=[(f"X-H{i}", "z" * 1000) for i in range(40)], nginx=NGINX_LONG),
        case("garbage traceparent", "GET", "/public/v1/nothing", 404, auth=None,
             headers=[("traceparent", "00-zzzz-' OR 1=1 --01")]),
        case("traceparent 7000 bytes", "GET", "/public/v1/nothing", 404, auth=None,
             headers=[("traceparent", "00-" + "a" * 7000)]),
        case("negative Content-Length", "POST", P, 400, auth=None,
             headers=[("Content-Length", "-1")], nginx={400}),
        case("bad chunked body", "POST", P, 400, ctype="application/json",
             headers=[("Transfer-Encoding", "chunked")], body=b"zz\r\n{}\r\n0\r\n\r\n",
             nginx={400}),
        case("Host with a slash", "GET", P, 400, auth=None, headers=[("Host", "a/../b")],
             nginx={400}),
    ]
    return c


def send(port, c, path, headers, timeout=60):
    """Send one case byte for byte (http.client's low-level calls where it
    allows the bytes, a raw socket where it refuses them) and return
    (status, headers, raw body)."""
    method = c.method
    raw_line = isinstance(path, bytes) or any(
        ord(ch) < 0x21 or ord(ch) > 0x7e for ch in path + method)
    body = c.body
    has_len = any(k.lower() in ("content-length", "transfer-encoding") for k, _ in headers)
    if body is not None and not has_len:
        headers = headers + [("Content-Length", str(len(body)))]
    if raw_line or any(k.lower() == "host" for k, _ in headers):
        if isinstance(path, str):
            path = path.encode("latin-1")
        out = method.encode("latin-1") + b" " + path + b" HTTP/1.1\r\n"
        if not any(k.lower() == "host" for k, _ in headers):
            out += b"Host: 127.0.0.1\r\n"
        for k, v in headers:
            out += k.encode("latin-1") + b": " + (v if isinstance(v, bytes) else
                                                  v.encode("latin-1")) + b"\r\n"
        out += b"Connection: close\r\n\r\n" + (body or b"")
        sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        try:
            sock.sendall(out)
            resp = http.client.HTTPResponse(sock, method=method)
            resp.begin()
            return resp.status, resp.headers, resp.read()
        finally:
            sock.close()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.putrequest(method, path, skip_accept_encoding=True)
        for k, v in headers:
            conn.putheader(k, v)
        conn.endheaders()
        if body:
            conn.send(body)
        resp = conn.getresponse()
        return resp.status, resp.headers, resp.read()
    finally:
        conn.close()


class Hostile(TokensBase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.tokens = {"client": cls.client_admin, "vendor": cls.vendor_admin,
                      "ops": cls.ops_admin}
        st, _, body = cls.stack.request("POST", PLATFORM, {"name": "hostile target",
                                                           "modules": [{"id": BILLING}]},
                                        token=cls.client_admin)
        assert st == 201, body
        cls.tid = body["id"]
        st, _, body = cls.stack.request("GET", f"{RECORDS}?limit=1", token=cls.client_admin)
        assert st == 200 and body["data"], body
        cls.aud = body["data"][0]["id"]
        cls.log = os.path.join(cls.stack.state_dir, "log", "apitokend.log")
        cls.access_log = os.path.join(cls.stack.state_dir, "log", "nginx-access.log")

    # -- the database fingerprint ------------------------------------------

    TABLES = ("tokens", "token_modules", "token_icons", "audit_records",
              "audit_chain_heads", "account_token_counts", "accounts", "users",
              "modules", "module_paths", "account_modules", "user_modules")

    def fingerprint(self):
        if not hasattr(type(self), "_token_cols"):
            out = sql(self.stack, "SELECT column_name FROM information_schema.columns WHERE "
                      "table_schema = 'apitokend' AND table_name = 'tokens' AND column_name "
                      "<> 'last_access_at' ORDER BY ordinal_position").stdout.split()
            self.assertIn("revision", out)
            type(self)._token_cols = out
        cols = ",".join(f"QUOTE(`{c}`)" for c in self._token_cols)
        others = ", ".join(t for t in self.TABLES if t != "tokens")
        out = sql(self.stack, "SET SESSION group_concat_max_len = 1073741824; "
                  f"CHECKSUM TABLE {others} EXTENDED; "
                  f"SELECT 'tokens', COUNT(*), MD5(GROUP_CONCAT(CONCAT_WS(',', {cols}) "
                  "ORDER BY id SEPARATOR '\\n')) FROM tokens").stdout
        return out

    # -- one case ----------------------------------------------------------

    def fill(self, value):
        if isinstance(value, bytes):
            return value.replace(b"{tid}", self.tid.encode()).replace(b"{aud}", self.aud.encode())
        return value.replace("{tid}", self.tid).replace("{aud}", self.aud)

    def run_case(self, c):
        headers = [(k, self.fill(v)) for k, v in c.headers]
        if c.auth:
            headers.append(("Authorization", "Bearer " + self.tokens[c.auth]))
        path = self.fill(c.path)
        started = time.monotonic()
        status, rheaders, raw = send(self.stack.port, c._replace(body=self.fill(c.body)
                                                                  if c.body else c.body),
                                     path, headers)
        took = time.monotonic() - started
        self.assertLess(status, 500, f"{status}: {raw[:300]!r}")
        self.assertLess(took, 30, "answered only after {took:.1f}s")
        ctype = media_type(rheaders)
        want = c.status if isinstance(c.status, (set, frozenset)) else {c.status}
        if ctype not in ("application/problem+json", "application/json") and c.nginx:
            # nginx's own page
            self.assertIn(status, c.nginx, f"nginx answered {status}: {raw[:200]!r}")
            self.assertTrue(400 <= status < 500, status)
            return status
        self.assertIn(status, want, raw[:500])
        body = json.loads(raw) if raw else None
        if status >= 400:
            self.assertEqual(ctype, "application/problem+json", raw[:300])
            self.assertIsInstance(body, dict, raw[:300])
            self.assertEqual(body.get("status"), status, body)
            self.assertIsInstance(body.get("title"), str, body)
            self.assertRegex(body.get("traceId", ""), TRACE_ID_RE, body)
            if c.errors:
                for key in c.errors:
                    self.assertIn(key, body.get("errors") or {}, body)
            text = json.dumps(body).lower()
            for leak in ("mariadb", "mysql", "sql syntax", "errno", "you have an error"):
                self.assertNotIn(leak, text, body)
        elif c.check:
            self.assertEqual(ctype, "application/json")
            c.check(self, body)
        return status

    def apitokend_pid(self):
        with open(os.path.join(self.stack.state_dir, "run", "apitokend.pid")) as f:
            return int(f.read().strip())

    # -- the catalogue -----------------------------------------------------

    def test_catalogue_shape(self):
        cases = catalogue()
        self.assertGreaterEqual(len(cases), 80)
        labels = [c.label for c in cases]
        self.assertEqual(len(labels), len(set(labels)), "labels repeat")
        for c in cases:
            want = c.status if isinstance(c.status, (set, frozenset)) else {c.status}
            self.assertTrue(all(200 <= s < 500 for s in want), c.label)
            self.assertTrue(all(400 <= s < 500 for s in c.nginx), c.label)
            if c.errors:
                self.assertEqual(want, {400}, c.label)

    def test_catalogue(self):
        cases = catalogue()
        pid = self.apitokend_pid()
        log_start = os.path.getsize(self.log)
        access_start = os.path.getsize(self.access_log)
        start = before = self.fingerprint()
        tally = {}
        for c in cases:
            with self.subTest(case=c.label):
                try:
                    status = self.run_case(c)
                    tally[status] = tally.get(status, 0) + 1
                finally:
                    after = self.fingerprint()
                    changed, before = after != before, after
                self.assertFalse(changed, "the database changed")
        self.assertEqual(self.fingerprint(), start, "the database changed")
        # still the same process, still answering
        self.assertEqual(self.apitokend_pid(), pid, "apitokend was restarted")
        os.kill(pid, 0)
        st, _, body = self.stack.request("GET", "/settings/api-tokens/health")
        self.assertEqual(st, 200, body)
        self.assertEqual(self.get_ok(PLATFORM, self.tid)["revision"], 1)
        # nothing in the logs answered 5xx (a 502 would be a crashed worker)
        with open(self.log, "rb") as f:
            f.seek(log_start)
            fives = [ln for ln in f.read().decode("utf-8", "replace").splitlines()
                     if re.search(r'"status": ?5\d\d', ln)]
        self.assertEqual(fives, [], "apitokend logged 5xx")
        with open(self.access_log, "rb") as f:
            f.seek(access_start)
            fives = [ln for ln in f.read().decode("utf-8", "replace").splitlines()
                     if re.search(r'" 5\d\d ', ln)]
        self.assertEqual(fives, [], "nginx logged 5xx")
        self.assertGreater(tally.get(400, 0), 60, tally)

    # json-c's tokener would turn an escaped lone surrogate into U+FFFD;
    # it has no UTF-8 form, so it is refused like invalid UTF-8 (SPEC §11).
    def test_escaped_lone_surrogate_is_refused(self):
        for label, raw in (("high", b'{"name":"ls","description":"a\\ud800b"}'),
                           ("low", b'{"name":"ls","description":"a\\udc00b"}'),
                           ("high at the end", b'{"name":"ls","description":"a\\ud83d"}')):
            with self.subTest(case=label):
                st, _, body = self.req("POST", SETTINGS, raw, token=self.client_admin,
                                       headers={"Content-Type": "application/json"})
                self.assertEqual(st, 400, body)

    def test_paired_surrogates_are_kept(self):
        raw = b'{"name":"emoji","description":"a\\ud83d\\ude00b"}'
        st, _, body = self.req("POST", SETTINGS, raw, token=self.client_admin,
                               headers={"Content-Type": "application/json"})
        self.assertEqual(st, 201, body)
        self.assertEqual(body["description"], "a\U0001F600b")

    def test_sql_metacharacters_are_stored_verbatim(self):
        """The other side of the catalogue: where SQL metacharacters are
        valid text (a description, an RQL value) they are data, stored and
        matched byte for byte, and every table is still there."""
        for s in SQLI:
            with self.subTest(value=s):
                made = self.create(description=s)
                self.assertEqual(made["description"], s)
                self.assertEqual(self.get_ok(SETTINGS, made["id"])["description"], s)
                quote = "'" if "'" not in s else '"'
                self.assertNotIn(quote, s)
                q = "eq(description," + urllib.parse.quote(quote + s + quote, safe="") + ")"
                st, _, body = self.req("GET", f"{PLATFORM}?{q}", token=self.client_admin)
                self.assertEqual(st, 200, body)
                self.assertEqual([t["id"] for t in body["data"]], [made["id"]], body)
                st, _, body = self.req("PUT", f"{PLATFORM}/{made['id']}",
                                       {"description": s + " again"}, token=self.client_admin)
                self.assertEqual(st, 200, body)
                self.assertEqual(body["description"], s + " again")
        out = sql(self.stack, "SELECT COUNT(*) FROM information_schema.tables "
                  "WHERE table_schema = 'apitokend' AND table_name IN "
                  "('tokens', 'audit_records')").stdout.strip()
        self.assertEqual(out, "2")


if __name__ == "__main__":
    unittest.main()
