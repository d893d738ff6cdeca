"""A real OAuth2 authorization server for tidings' tests (Authlib; run by /usr/bin/python3 on
127.0.0.1), standing in for Google's or Microsoft's.

Authlib's own grant and endpoint classes do the protocol: authorization code with PKCE (S256
required), the device-authorization grant (RFC 8628), refresh tokens and token introspection
(RFC 7662, which Dovecot's oauth2 passdb and the test SMTP server call). One public client,
--client-id, with any http://127.0.0.1:PORT/ redirect; one user, --user, who approves at once:
GET /authorize answers with the redirect to the loopback listener carrying the code.

For the test only (never a real server's API):
  POST /test/approve  user_code=…   the user approves a device code
  POST /test/revoke                 every refresh token (and access token) is revoked
  POST /test/revoke-access          every access token is revoked (refresh tokens still work)
  GET  /test/tokens                 JSON counts of grants issued, by grant type
Access tokens live --access-ttl seconds. On start it prints "PORT <n>" on stdout.
"""

import argparse
import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlparse

# Plain HTTP on loopback: Authlib refuses it unless told.
os.environ["AUTHLIB_INSECURE_TRANSPORT"] = "1"

from authlib.common.security import generate_token  # noqa: E402
from authlib.oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import OAuth2Request, grants
from authlib.oauth2.rfc6750 import BearerTokenGenerator
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oauth2.rfc7662 import IntrospectionEndpoint
from authlib.oauth2.rfc8628 import DeviceAuthorizationEndpoint, DeviceCodeGrant


def parse_args():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--client-id", default="tidings-test")
    # A confidential client (Google's desktop clients) sends this with HTTP Basic; a public one
    # sends none.
    p.add_argument("--client-secret", default="tidings-test-secret")
    p.add_argument("--user", required=True)
    p.add_argument("--scope", default="mail")
    p.add_argument("--access-ttl", type=int, default=3600)
    return p.parse_args()


ARGS = parse_args()
AUTH_METHODS = ["none", "client_secret_basic"]
LOCK = threading.Lock()
AUTH_CODES = {}
TOKENS = []
DEVICE_CODES = {}
APPROVED_USER_CODES = set()
ISSUED = {}


class Client:
    client_id = ARGS.client_id

    def get_client_id(self):
        return self.client_id

    def get_default_redirect_uri(self):
        return None

    def get_allowed_scope(self, scope):
        return " ".join(s for s in scope.split() if s == ARGS.scope)

    def check_redirect_uri(self, redirect_uri):
        u = urlparse(redirect_uri)
        return u.scheme == "http" and u.hostname == "127.0.0.1" and u.port is not None

    def check_client_secret(self, client_secret):
        return client_secret == ARGS.client_secret

    def check_endpoint_auth_method(self, method, endpoint):
        return method in AUTH_METHODS

    def check_response_type(self, response_type):
        return response_type == "code"

    def check_grant_type(self, grant_type):
        return grant_type in (
            "authorization_code",
            "refresh_token",
            DeviceCodeGrant.GRANT_TYPE,
        )


CLIENT = Client()


class Token:
    def __init__(self, data):
        self.access_token = data["access_token"]
        self.refresh_token = data.get("refresh_token")
        self.scope = data.get("scope", "")
        self.expires_in = data["expires_in"]
        self.issued_at = time.time()
        self.revoked = False
        self.refresh_revoked = False

    def check_client(self, client):
        return client.get_client_id() == CLIENT.client_id

    def get_scope(self):
        return self.scope

    def get_expires_in(self):
        return self.expires_in

    def is_expired(self):
        return time.time() > self.issued_at + self.expires_in

    def is_revoked(self):
        return self.revoked


class AuthCode:
    def __init__(self, code, request):
        self.code = code
        self.redirect_uri = request.redirect_uri
        self.scope = request.scope
        self.code_challenge = request.data.get("code_challenge")
        self.code_challenge_method = request.data.get("code_challenge_method")
        self.created = time.time()

    def get_redirect_uri(self):
        return self.redirect_uri

    def get_scope(self):
        return self.scope

    def is_expired(self):
        return time.time() > self.created + 300


class DeviceCredential(dict):
    def get_client_id(self):
        return self["client_id"]

    def get_scope(self):
        return self["scope"]

    def get_user_code(self):
        return self["user_code"]

    def is_expired(self):
        return time.time() > self["expires_at"]


class CodeGrant(grants.AuthorizationCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = AUTH_METHODS

    def save_authorization_code(self, code, request):
        with LOCK:
            AUTH_CODES[code] = AuthCode(code, request)

    def query_authorization_code(self, code, client):
        with LOCK:
            item = AUTH_CODES.get(code)
        if item and not item.is_expired():
            return item
        return None

    def delete_authorization_code(self, authorization_code):
        with LOCK:
            AUTH_CODES.pop(authorization_code.code, None)

    def authenticate_user(self, authorization_code):
        return ARGS.user


class RefreshGrant(grants.RefreshTokenGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = AUTH_METHODS
    INCLUDE_NEW_REFRESH_TOKEN = True

    def authenticate_refresh_token(self, refresh_token):
        with LOCK:
            for t in TOKENS:
                if t.refresh_token == refresh_token and not t.refresh_revoked:
                    return t
        return None

    def authenticate_user(self, credential):
        return ARGS.user

    def revoke_old_credential(self, credential):
        with LOCK:
            credential.refresh_revoked = True


class DeviceGrant(DeviceCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = AUTH_METHODS

    def query_device_credential(self, device_code):
        with LOCK:
            return DEVICE_CODES.get(device_code)

    def query_user_grant(self, user_code):
        with LOCK:
            if user_code in APPROVED_USER_CODES:
                return ARGS.user, True
        return None

    def should_slow_down(self, credential):
        return False


class DeviceEndpoint(DeviceAuthorizationEndpoint):
    CLIENT_AUTH_METHODS = AUTH_METHODS
    INTERVAL = 1

    def get_verification_uri(self):
        return f"http://127.0.0.1:{PORT}/device"

    def save_device_credential(self, client_id, scope, data):
        cred = DeviceCredential(data)
        # Authlib passes the form's client_id, which a client authenticating with HTTP Basic
        # does not send; the endpoint has authenticated the one client by then.
        cred["client_id"] = client_id or CLIENT.client_id
        cred["scope"] = scope
        cred["expires_at"] = time.time() + data["expires_in"]
        with LOCK:
            DEVICE_CODES[data["device_code"]] = cred


class Introspection(IntrospectionEndpoint):
    def authenticate_endpoint_client(self, request):
        # The resource servers (Dovecot, the SMTP test server) call from loopback without
        # credentials of their own; a real deployment would authenticate them.
        request.client = CLIENT
        return CLIENT

    def query_token(self, token_string, token_type_hint):
        with LOCK:
            for t in TOKENS:
                if t.access_token == token_string:
                    return t
        return None

    def check_permission(self, token, client, request):
        return True

    def introspect_token(self, token):
        return {
            "active": True,
            "client_id": CLIENT.client_id,
            "token_type": "Bearer",
            "username": ARGS.user,
            "scope": token.scope,
            "sub": ARGS.user,
            "exp": int(token.issued_at + token.expires_in),
            "iat": int(token.issued_at),
        }


class Server(AuthorizationServer):
    def query_client(self, client_id):
        return CLIENT if client_id == CLIENT.client_id else None

    def save_token(self, token, request):
        with LOCK:
            TOKENS.append(Token(token))
            kind = request.grant_type or "?"
            ISSUED[kind] = ISSUED.get(kind, 0) + 1

    def create_oauth2_request(self, request):
        method, uri, form, headers = request
        return OAuth2Request(method, uri, form, headers)

    def handle_response(self, status, body, headers):
        return status, body, headers

    def send_signal(self, name, *args, **kwargs):
        pass


SERVER = Server(scopes_supported=[ARGS.scope])
SERVER.register_token_generator(
    "default",
    BearerTokenGenerator(
        lambda **kw: "at-" + generate_token(32),
        lambda **kw: "rt-" + generate_token(40),
        lambda client, grant_type: ARGS.access_ttl,
    ),
)
SERVER.register_grant(CodeGrant, [CodeChallenge(required=True)])
SERVER.register_grant(RefreshGrant)
SERVER.register_grant(DeviceGrant)
SERVER.register_endpoint(DeviceEndpoint)
SERVER.register_endpoint(Introspection)
PORT = 0


class Handler(BaseHTTPRequestHandler):
    def log_message(self, fmt, *args):
        pass

    def uri(self):
        return f"http://127.0.0.1:{PORT}{self.path}"

    def form(self):
        length = min(int(self.headers.get("Content-Length") or 0), 64 * 1024)
        body = self.rfile.read(length).decode("utf-8", "replace")
        return dict(parse_qsl(body, keep_blank_values=True))

    def reply(self, result):
        status, body, headers = result
        data = body if isinstance(body, (bytes, str)) else json.dumps(body)
        if isinstance(data, str):
            data = data.encode()
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        path = urlparse(self.path).path
        headers = dict(self.headers.items())
        if path == "/authorize":
            # The user is signed in and approves at once: straight back to the loopback listener.
            req = ("GET", self.uri(), {}, headers)
            self.reply(SERVER.create_authorization_response(req, grant_user=ARGS.user))
        elif path == "/test/tokens":
            with LOCK:
                self.reply((200, dict(ISSUED), [("Content-Type", "application/json")]))
        elif path == "/device":
            self.reply((200, "enter the code", [("Content-Type", "text/plain")]))
        else:
            self.reply((404, "not found", [("Content-Type", "text/plain")]))

    def do_POST(self):
        path = urlparse(self.path).path
        form = self.form()
        # Authlib looks headers up as "Authorization"; HTTP clients may send them lower-case.
        headers = {k.title(): v for k, v in self.headers.items()}
        req = ("POST", self.uri(), form, headers)
        if path == "/token":
            self.reply(SERVER.create_token_response(req))
        elif path == "/device_authorization":
            self.reply(SERVER.create_endpoint_response("device_authorization", req))
        elif path == "/introspect":
            self.reply(SERVER.create_endpoint_response("introspection", req))
        elif path == "/test/approve":
            with LOCK:
                APPROVED_USER_CODES.add(form.get("user_code", ""))
            self.reply((200, "{}", [("Content-Type", "application/json")]))
        elif path == "/test/revoke-access":
            with LOCK:
                for t in TOKENS:
                    t.revoked = True
            self.reply((200, "{}", [("Content-Type", "application/json")]))
        elif path == "/test/revoke":
            with LOCK:
                for t in TOKENS:
                    t.revoked = True
                    t.refresh_revoked = True
            self.reply((200, "{}", [("Content-Type", "application/json")]))
        else:
            self.reply((404, "not found", [("Content-Type", "text/plain")]))


def main():
    global PORT
    httpd = ThreadingHTTPServer(("127.0.0.1", ARGS.port), Handler)
    httpd.daemon_threads = True
    PORT = httpd.server_address[1]
    print(f"PORT {PORT}", flush=True)
    try:
        httpd.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
