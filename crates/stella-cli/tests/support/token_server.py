#!/usr/bin/env python3
"""A registry token service for tests: the Docker token protocol that Docker Hub, GHCR and
Harbor speak, issuing RS256 JWTs (signed with `openssl`, certificate in `x5c`) that Debian's
docker-registry verifies against its `rootcertbundle`.

Usage: token_server.py PORT KEY.pem CERT.pem USER PASSWORD ISSUER SERVICE
Anonymous requests get pull access except to `private/*`; the user gets whatever the scope
asks for.
"""
import base64
import json
import subprocess
import sys
import time
import uuid
from http.server import BaseHTTPRequestHandler, HTTPServer
from urllib.parse import parse_qs, urlparse

PORT, KEY, CERT, USER, PASSWORD, ISSUER, SERVICE = sys.argv[1:8]


def b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def cert_der():
    out = subprocess.run(["openssl", "x509", "-in", CERT, "-outform", "DER"], check=True, capture_output=True)
    return base64.b64encode(out.stdout).decode()


X5C = cert_der()


def sign(data):
    out = subprocess.run(["openssl", "dgst", "-sha256", "-sign", KEY], input=data, check=True, capture_output=True)
    return b64url(out.stdout)


class H(BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def do_GET(self):
        u = urlparse(self.path)
        if u.path != "/token":
            self.send_response(404)
            self.end_headers()
            return
        q = parse_qs(u.query)
        user = None
        auth = self.headers.get("Authorization", "")
        if auth.startswith("Basic "):
            u2, _, p2 = base64.b64decode(auth[6:]).decode().partition(":")
            if (u2, p2) != (USER, PASSWORD):
                self.send_response(401)
                self.end_headers()
                self.wfile.write(b'{"details":"bad credentials"}')
                return
            user = u2
        access = []
        for scope in q.get("scope", []):
            for s in scope.split(" "):
                parts = s.split(":")
                if len(parts) >= 3 and parts[0] == "repository":
                    name = ":".join(parts[1:-1])
                    if user:
                        actions = parts[-1].split(",")
                    elif name.startswith("private/"):
                        actions = []
                    else:
                        actions = ["pull"]
                    access.append({"type": "repository", "name": name, "actions": actions})
        now = int(time.time())
        header = {"typ": "JWT", "alg": "RS256", "x5c": [X5C]}
        claims = {"iss": ISSUER, "sub": user or "", "aud": SERVICE, "exp": now + 600, "nbf": now - 60,
                  "iat": now, "jti": str(uuid.uuid4()), "access": access}
        signing_input = (b64url(json.dumps(header).encode()) + "." + b64url(json.dumps(claims).encode())).encode()
        token = signing_input.decode() + "." + sign(signing_input)
        body = json.dumps({"token": token, "access_token": token, "expires_in": 600}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


HTTPServer(("127.0.0.1", int(PORT)), H).serve_forever()
