#!/usr/bin/env python3
"""The include graph keeps the layers of docs/architecture.md.

Arrows go one way: front -> router -> handlers -> domain -> base (db,
crypto, json, rql, ...).  Every file of src/ and include/ belongs to one
layer (the table below), and may include only headers of its own layer or
below, through any chain of headers.  apitokenctl sits on top like the
front, but acts through the domain layer: it may not include the request
context, the handlers or the router.  A file missing from the tables fails
the check, so a new file has to be placed on purpose.

Run by `make check` (automake sets srcdir); exits non-zero on a breach.
"""
import os
import re
import sys

BASE, DOMAIN, HANDLERS, ROUTER, TOP = range(5)
NAMES = ["base", "domain", "handlers", "router", "top"]


def table(rows):
    out = {}
    for names, layer in rows:
        for n in names.split():
            out[n] = layer
    return out


BASE_NAMES = ("buf err text log settings inifile crypto keyfile keyset config "
              "db db_impl db_stmt db_rows db_columns json ipnet isotime ratelimit page_cache "
              "migrate http problem rql rql_int rql_parse rql_sql rql_tokens rql_audit")
# .c files by name -> layer
SOURCES = table([
    (BASE_NAMES, BASE),
    ("domain auth token_store token_state token_rotate token_audit token_reveal "
     "token_body token_render token_cache token_usage token_bulk icon audit_chain "
     "audit_render confine", DOMAIN),
    ("reply list health modules verify tokens audit", HANDLERS),
    ("router", ROUTER),
    ("front main ctl ctl_tokens ctl_keys ctl_catalog", TOP),
])
# headers by name -> layer (audit.h and tokens.h are the domain's plain
# types; audit.c and tokens.c are the HTTP handlers over them)
HEADERS = table([
    (BASE_NAMES, BASE),
    ("domain auth tokens token_store token_store_int token_cache token_bulk audit "
     "audit_render confine", DOMAIN),
    ("ctx handlers list", HANDLERS),
    ("router", ROUTER),
    ("front ctl", TOP),
])

# Headers a file may never reach, whatever its rank: the domain layer
# never sees a request or a response, apitokenctl never fakes one.
FORBIDDEN = {"domain": {"http", "ctx", "handlers", "router", "front"},
             "ctl": {"http", "ctx", "handlers", "router", "front"}}


def forbidden(path, layer):
    if layer == DOMAIN:
        return FORBIDDEN["domain"]
    if os.path.basename(path).startswith("ctl"):
        return FORBIDDEN["ctl"]
    return set()


INCLUDE = re.compile(r'^\s*#\s*include\s+"([A-Za-z0-9_]+)\.h"', re.M)


def module(path):
    return os.path.splitext(os.path.basename(path))[0]


def main():
    srcdir = os.environ.get("srcdir", os.path.join(os.path.dirname(__file__), ".."))
    files = {}
    for d in ("src", "include"):
        top = os.path.join(srcdir, d)
        for name in sorted(os.listdir(top)):
            if name.endswith((".c", ".h")):
                with open(os.path.join(top, name), encoding="utf-8") as f:
                    files[f"{d}/{name}"] = INCLUDE.findall(f.read())
    headers = {module(p): inc for p, inc in files.items() if p.endswith(".h")}

    def reach(direct):
        seen, todo = set(), list(direct)
        while todo:
            h = todo.pop()
            if h in seen:
                continue
            seen.add(h)
            todo.extend(headers.get(h, []))
        return seen

    bad = []
    for path, inc in files.items():
        m = module(path)
        own = HEADERS if path.endswith(".h") else SOURCES
        if m not in own:
            bad.append(f"{path}: in no layer (tests/layers.py's tables)")
            continue
        layer = own[m]
        for h in sorted(reach(inc)):
            if h not in HEADERS:
                bad.append(f"{path}: includes {h}.h, which is in no layer")
            elif HEADERS[h] > layer or h in forbidden(path, layer):
                bad.append(f"{path} ({NAMES[layer]}) reaches {h}.h ({NAMES[HEADERS[h]]})")
    for b in bad:
        print(b)
    print(f"layers: {len(files)} files, {len(bad)} breaches")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
