"""A real SMTP server for tidings' tests (aiosmtpd; run by /usr/bin/python3 on 127.0.0.1).

It accepts mail with AUTH PLAIN/LOGIN (plain text allowed: loopback only), writes each accepted
message byte for byte into a Maildir (per recipient with --deliver ADDR=DIR, else --maildir),
and appends one JSON line per accepted transaction to --log, so a test can count deliveries.

What it answers is read from the --control file before each step, so a test can change it
while the server runs:
  ok                      accept
  4xx                     450 at RCPT (greylisting)
  5xx                     550 at RCPT (no such user)
  4xx-to ADDR / 5xx-to ADDR   the same, for that recipient only
  data-5xx                554 at the end of DATA (rejected as spam); nothing delivered
  drop-after-data         deliver, then cut the connection without answering
  hang-before-data SECS   stall SECS seconds at RCPT, before anything is delivered
  hang-after-data SECS    deliver, then stall SECS seconds before answering 250

With --oauth-introspect URL it also accepts AUTH XOAUTH2, checking the bearer token with that
RFC 7662 introspection endpoint (tests/support/oauth_server.py): a token the authorization server
calls inactive gets the 334 JSON challenge and then 535, as Gmail answers. --oauthbearer also
offers AUTH OAUTHBEARER (RFC 7628), checked the same way. Each logged transaction says which
mechanism signed its session in ("auth").

--tls starttls (STARTTLS required before AUTH) or --tls implicit (TLS from the first byte) use
--cert/--key. With --sent-maildir it also files a copy of every accepted mail there, like Gmail does.
On start it prints "PORT <n>" on stdout.
"""

import argparse
import asyncio
import base64
import json
import logging
import os
import socket
import ssl
import sys
import time
import urllib.parse
import urllib.request
import warnings

from aiosmtpd.smtp import MISSING, SMTP, AuthResult, LoginPassword


def parse_args():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--maildir", required=True)
    p.add_argument("--deliver", action="append", default=[], help="ADDR=MAILDIR")
    p.add_argument("--sent-maildir")
    p.add_argument("--control", required=True)
    p.add_argument("--log", required=True)
    p.add_argument("--user", default="user")
    p.add_argument("--password", default="secret")
    p.add_argument("--tls", choices=["none", "starttls", "implicit"], default="none")
    p.add_argument("--cert")
    p.add_argument("--key")
    p.add_argument("--oauth-introspect")
    p.add_argument("--oauthbearer", action="store_true")
    p.add_argument("--no-auth", action="store_true", help="a relay: offers no AUTH, takes mail without it")
    return p.parse_args()


ARGS = parse_args()
# AUTH without TLS is deliberate here (loopback only); keep the test output clean.
warnings.filterwarnings("ignore", message="Requiring AUTH while not requiring TLS")
logging.getLogger("mail.log").setLevel(logging.ERROR)
ROUTES = {}
for item in ARGS.deliver:
    addr, _, path = item.partition("=")
    ROUTES[addr.lower()] = path
COUNTER = 0


def mode():
    """(mode, argument): the argument is seconds for the hang modes, an address for *-to."""
    try:
        with open(ARGS.control) as f:
            words = f.read().split()
    except FileNotFoundError:
        words = []
    if not words:
        return "ok", None
    return words[0], words[1] if len(words) > 1 else None


def make_dirs(path):
    """Creates `path` and its missing parents, each owned like the nearest existing ancestor
    (a Dovecot user's home belongs to Dovecot's mail user); returns that (uid, gid)."""
    missing = []
    top = os.path.abspath(path)
    while not os.path.isdir(top):
        missing.append(top)
        top = os.path.dirname(top)
    st = os.stat(top)
    owner = (st.st_uid, st.st_gid)
    for d in reversed(missing):
        os.mkdir(d, 0o700)
        if os.geteuid() == 0:
            os.chown(d, *owner)
    return owner


def maildir_put(path, data):
    """Delivers like an MDA: written in tmp/, renamed into new/ under a unique name
    (time.PpidQcounter.host, with ",S=size" as Dovecot's own delivery adds). The file and any
    directory made for it belong to the owner of the directory above (mode 0600), so a mail
    server running as another user (Dovecot's mail user, nobody) can read, flag and move it."""
    global COUNTER
    COUNTER += 1
    owner = None
    for sub in ("tmp", "new", "cur"):
        owner = make_dirs(os.path.join(path, sub))
    # Zero-padded nanoseconds first, so names sort in delivery order.
    name = "%020d.P%dQ%06d.tidings-test,S=%d" % (time.time_ns(), os.getpid(), COUNTER, len(data))
    tmp = os.path.join(path, "tmp", name)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    if os.geteuid() == 0:
        os.chown(tmp, *owner)
    os.rename(tmp, os.path.join(path, "new", name))


def deliver(envelope, auth):
    data = envelope.original_content
    targets = []
    for rcpt in envelope.rcpt_tos:
        target = ROUTES.get(rcpt.lower(), ARGS.maildir)
        if target not in targets:
            targets.append(target)
    for t in targets:
        maildir_put(t, data)
    if ARGS.sent_maildir:
        maildir_put(ARGS.sent_maildir, data)
    message_id = None
    for line in data.split(b"\r\n"):
        if not line:
            break
        if line.lower().startswith(b"message-id:"):
            message_id = line.split(b":", 1)[1].strip().decode("ascii", "replace")
    with open(ARGS.log, "a") as f:
        f.write(json.dumps({
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "message_id": message_id,
            "size": len(data),
            "auth": auth,
        }) + "\n")
        f.flush()
        os.fsync(f.fileno())


class Handler:
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        m, arg = mode()
        if m == "4xx" or (m == "4xx-to" and address.lower() == arg.lower()):
            return "450 4.2.0 <%s>: greylisted, try again later" % address
        if m == "5xx" or (m == "5xx-to" and address.lower() == arg.lower()):
            return "550 5.1.1 <%s>: no such user here" % address
        if m == "hang-before-data":
            await asyncio.sleep(float(arg))
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        m, arg = mode()
        if m == "data-5xx":
            return "554 5.7.1 message rejected as spam"
        if isinstance(session.auth_data, str):
            auth = session.auth_data
        else:
            auth = "password" if session.authenticated else None
        deliver(envelope, auth)
        if m == "drop-after-data":
            server.transport.abort()
            return "250 OK"
        if m == "hang-after-data":
            await asyncio.sleep(float(arg))
        return "250 2.0.0 OK queued"


def token_is_active(user, token):
    """Asks the authorization server (RFC 7662) whether `token` is live and issued to `user`."""
    body = urllib.parse.urlencode({"token": token}).encode()
    try:
        with urllib.request.urlopen(ARGS.oauth_introspect, data=body, timeout=5) as r:
            answer = json.loads(r.read(65536))
    except (OSError, ValueError):
        return False
    return answer.get("active") is True and answer.get("username") == user


async def bearer_auth(server, args, mechanism, parse):
    """One bearer-token exchange: the initial response (inline or after an empty challenge),
    the token checked by introspection, and on refusal the JSON challenge before the 535."""
    if len(args) > 1:
        try:
            raw = base64.b64decode(args[1], validate=True)
        except ValueError:
            return AuthResult(success=False, handled=False)
    else:
        raw = await server.challenge_auth("")
        if raw is MISSING:
            return AuthResult(success=False, handled=True)
    user, token = parse(raw.decode("utf-8", "replace"))
    if token_is_active(user, token):
        return AuthResult(success=True, auth_data=mechanism)
    # Gmail's answer to a bad token: a JSON challenge, then 535 after the client's
    # acknowledgement (empty for XOAUTH2, ^A for OAUTHBEARER).
    error = json.dumps({"status": "401", "schemes": "bearer", "scope": "mail"})
    reply = await server.challenge_auth(error)
    if reply is MISSING:
        return AuthResult(success=False, handled=True)
    expected = b"\x01" if mechanism == "oauthbearer" else b""
    if reply != expected:
        # Temporary, so a client that sent the wrong acknowledgement fails instead of retrying.
        return AuthResult(success=False, message="454 4.7.0 bad SASL acknowledgement")
    return AuthResult(success=False, handled=False)


def fields(text, sep="\x01"):
    return dict(part.split("=", 1) for part in text.split(sep) if "=" in part)


def parse_xoauth2(text):
    f = fields(text)
    return f.get("user", ""), f.get("auth", "").removeprefix("Bearer ")


def parse_oauthbearer(text):
    # "n,a=USER,^Ahost=…^Aport=…^Aauth=Bearer TOKEN^A^A" (RFC 7628 §3.1)
    gs2, _, rest = text.partition("\x01")
    user = ""
    for part in gs2.split(","):
        if part.startswith("a="):
            user = part[2:].replace("=2C", ",").replace("=3D", "=")
    return user, fields(rest).get("auth", "").removeprefix("Bearer ")


class OAuthHandler(Handler):
    async def auth_XOAUTH2(self, server, args):
        return await bearer_auth(server, args, "xoauth2", parse_xoauth2)

    async def auth_OAUTHBEARER(self, server, args):
        return await bearer_auth(server, args, "oauthbearer", parse_oauthbearer)


def authenticator(server, session, envelope, mechanism, auth_data):
    ok = (
        isinstance(auth_data, LoginPassword)
        and auth_data.login.decode() == ARGS.user
        and auth_data.password.decode() == ARGS.password
    )
    return AuthResult(success=ok)


async def main():
    loop = asyncio.get_running_loop()
    handler = OAuthHandler() if ARGS.oauth_introspect else Handler()
    ctx = None
    if ARGS.tls != "none":
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(ARGS.cert, ARGS.key)
    starttls = ARGS.tls == "starttls"

    def factory():
        return SMTP(
            handler,
            hostname="smtp.test",
            authenticator=authenticator,
            auth_require_tls=starttls,
            auth_required=not ARGS.no_auth,
            enable_SMTPUTF8=True,
            tls_context=ctx if starttls else None,
            require_starttls=starttls,
            auth_exclude_mechanism=(
                ["PLAIN", "LOGIN", "XOAUTH2", "OAUTHBEARER"]
                if ARGS.no_auth
                else [] if ARGS.oauthbearer else ["OAUTHBEARER"]
            ),
        )

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", ARGS.port))
    server = await loop.create_server(
        factory, sock=sock, ssl=ctx if ARGS.tls == "implicit" else None
    )
    print("PORT %d" % sock.getsockname()[1], flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(0)
