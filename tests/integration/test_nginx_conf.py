"""The shipped nginx files as an operator installs them: the complete site
example and both forms of a protected location pass `nginx -t` on this
machine's nginx.  Runs without the stack: nginx only reads the files."""

import os
import re
import shutil
import subprocess
import tempfile
import unittest

from stack import ROOT

NGINX = shutil.which("nginx", path=os.environ.get("PATH", "") + ":/usr/sbin:/sbin")
CONF = os.path.join(ROOT, "conf", "nginx")
# every shipped file, so that a new one the site example includes is here
FILES = tuple(sorted(n for n in os.listdir(CONF) if n.endswith(".conf")))


@unittest.skipUnless(NGINX, "nginx is not installed")
class ShippedConfig(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="apitokend-nginx-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        for name in FILES:
            shutil.copy(os.path.join(CONF, name), self.dir)
        open(os.path.join(self.dir, "apitokend.htpasswd"), "w").close()
        os.mkdir(os.path.join(self.dir, "tmp"))

    def check(self, http_body):
        """nginx -t on an nginx.conf whose http {} holds http_body."""
        tmp = os.path.join(self.dir, "tmp")
        conf = os.path.join(self.dir, "nginx.conf")
        with open(conf, "w", encoding="utf-8") as f:
            f.write(f"pid {self.dir}/nginx.pid;\nevents {{}}\nhttp {{\n"
                    f"client_body_temp_path {tmp}/b; fastcgi_temp_path {tmp}/f;\n"
                    f"proxy_temp_path {tmp}/p; uwsgi_temp_path {tmp}/u; scgi_temp_path {tmp}/s;\n"
                    f"{http_body}\n}}\n")
        proc = subprocess.run([NGINX, "-t", "-p", self.dir + "/", "-c", conf,
                               "-e", os.path.join(self.dir, "error.log")],
                              capture_output=True, text=True)
        return proc.returncode, proc.stderr

    def test_site_example_is_valid(self):
        with open(os.path.join(CONF, "apitokend-site.conf.example"), encoding="utf-8") as f:
            site = f.read()
        # what an operator fills in: a local port instead of TLS, local logs
        site = site.replace("listen 443 ssl;", "listen 127.0.0.1:1;")
        site = re.sub(r"(?m)^\s*(listen \[::\]:443 ssl|ssl_certificate\w*)\b.*$", "", site)
        site = site.replace("/var/log/nginx/", self.dir + "/")
        self.assertIn("include apitokend-zones.conf;", site)
        self.assertIn("include apitokend-ratelimit.conf;", site)
        rc, err = self.check(site)
        self.assertEqual(rc, 0, err)

    def server(self, protected):
        return ("include apitokend-zones.conf;\n"
                "upstream apitokend { server unix:/nonexistent/apitokend.sock; }\n"
                "upstream api { server 127.0.0.1:1; }\n"
                'map $http_authorization $apitokend_login { default "x"; }\n'
                "server { listen 127.0.0.1:1; include apitokend-locations.conf;\n"
                f"{protected}\n}}")

    def test_both_forms_of_a_protected_location(self):
        limited = ('location /api { include apitokend-protect.conf; try_files "" @api; }\n'
                   "location @api { include apitokend-ratelimit.conf; proxy_pass http://api; }")
        plain = "location /old { include apitokend-protect.conf; proxy_pass http://api; }"
        for form in (limited, plain, limited + "\n" + plain):
            with self.subTest(form=form):
                rc, err = self.check(self.server(form))
                self.assertEqual(rc, 0, err)

    def test_locations_alone_load(self):
        # a server that guards no API needs neither the zones nor protect
        body = ("upstream apitokend { server unix:/nonexistent/apitokend.sock; }\n"
                'map $http_authorization $apitokend_login { default "x"; }\n'
                "server { listen 127.0.0.1:1; include apitokend-locations.conf; }")
        rc, err = self.check(body)
        self.assertEqual(rc, 0, err)

    def test_the_limits_need_the_zones(self):
        # apitokend-ratelimit.conf names zones only apitokend-zones.conf makes
        body = self.server('location /api { include apitokend-protect.conf; try_files "" @api; }\n'
                           "location @api { include apitokend-ratelimit.conf; proxy_pass http://api; }")
        rc, err = self.check(body.replace("include apitokend-zones.conf;\n", ""))
        self.assertNotEqual(rc, 0)
        self.assertIn("apitokend_rl_", err)
