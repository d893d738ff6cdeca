#!/usr/bin/env python3
"""A Gmail-shaped IMAP server on 127.0.0.1, as far as a first sync needs: X-GM-EXT-1, INBOX and
"[Gmail]/All Mail" (\\All) as views over the same messages, each with its X-GM-MSGID and its own
UIDs per folder. Usage: fake_gmail.py LOG; prints its port on stdout and appends every command
it receives to LOG, one a line, prefixed by the selected folder."""
import re, sys, threading
from hostile_imap import serve  # beside this file

LOG = sys.argv[1]
lock = threading.Lock()

def message(i, subject):
    return ("From: Dana Lee <dana@acme.test>\r\nTo: Alice <alice@example.test>\r\n"
            "Subject: %s %d\r\nDate: Mon, 7 Dec 2026 10:%02d:00 +0000\r\n"
            "Message-ID: <gm%d@acme.test>\r\nContent-Type: text/plain\r\n\r\n"
            "Hello, this is message %d.\r\n%s" % (subject, i, i, i, i, "Padding.\r\n" * 600)).encode()

# (X-GM-MSGID, raw, flags); INBOX shows the first three, All Mail every one (the last archived).
MESSAGES = [(1000000000000000000 + i, message(i, "Labelled" if i < 3 else "Archived"),
             "\\Seen" if i == 0 else "") for i in range(4)]
FOLDERS = {"INBOX": {10 + i: MESSAGES[i] for i in range(3)},
           "[Gmail]/All Mail": {100 + i: MESSAGES[i] for i in range(4)}}

def uids_of(spec, folder):
    have = sorted(FOLDERS[folder])
    out = []
    for part in spec.split(","):
        lo, _, hi = part.partition(":")
        top = max(have, default=0)
        lo = top if lo == "*" else int(lo)
        hi = lo if not hi else (top if hi == "*" else int(hi))
        lo, hi = min(lo, hi), max(lo, hi)
        out += [u for u in have if lo <= u <= hi]
    return sorted(set(out))

def handle(c):
    f = c.makefile("rb")
    send = lambda b: c.sendall(b if isinstance(b, bytes) else b.encode())
    send("* OK Gimap ready\r\n")
    folder = None
    while True:
        line = f.readline()
        if not line:
            return
        text = line.decode().rstrip("\r\n")
        with lock, open(LOG, "a") as log:
            log.write("%s|%s\n" % (folder, text))
        tag, _, rest = text.partition(" ")
        up = rest.upper()
        if up.startswith("CAPABILITY"):
            send("* CAPABILITY IMAP4rev1 UIDPLUS SPECIAL-USE X-GM-EXT-1 AUTH=PLAIN\r\n%s OK done\r\n" % tag)
        elif up.startswith("LIST"):
            send('* LIST (\\HasNoChildren) "/" "INBOX"\r\n'
                 '* LIST (\\HasChildren \\Noselect) "/" "[Gmail]"\r\n'
                 '* LIST (\\HasNoChildren \\All) "/" "[Gmail]/All Mail"\r\n%s OK done\r\n' % tag)
        elif up.startswith("SELECT") or up.startswith("EXAMINE"):
            folder = rest.split(" ", 1)[1].strip('"')
            box = FOLDERS[folder]
            send("* %d EXISTS\r\n* OK [UIDVALIDITY 1] x\r\n* OK [UIDNEXT %d] x\r\n%s OK done\r\n"
                 % (len(box), max(box) + 1, tag))
        elif up.startswith("UID SEARCH"):
            m = re.search(r"UID (\S+)", rest[len("UID SEARCH"):])
            found = uids_of(m.group(1), folder) if m else sorted(FOLDERS[folder])
            send("* SEARCH %s\r\n%s OK done\r\n" % (" ".join(map(str, found)), tag))
        elif up.startswith("UID FETCH"):
            spec, items = rest.split(" ", 3)[2], rest.split(" ", 3)[3].upper()
            section = re.search(r"BODY\.PEEK\[([^\]]*)\]", items)
            for n, uid in enumerate(uids_of(spec, folder), 1):
                msgid, raw, flags = FOLDERS[folder][uid]
                out = b"* %d FETCH (UID %d" % (n, uid)
                if "X-GM-MSGID" in items:
                    out += b" X-GM-MSGID %d" % msgid
                if "FLAGS" in items:
                    out += b" FLAGS (%s)" % flags.encode()
                if "INTERNALDATE" in items:
                    out += b' INTERNALDATE "07-Dec-2026 10:00:00 +0000"'
                if "RFC822.SIZE" in items:
                    out += b" RFC822.SIZE %d" % len(raw)
                if section:
                    data = raw if section.group(1) == "" else raw.split(b"\r\n\r\n")[0] + b"\r\n\r\n"
                    out += b" BODY[%s] {%d}\r\n" % (section.group(1).encode(), len(data)) + data
                send(out + b")\r\n")
            send("%s OK done\r\n" % tag)
        elif up.startswith("LOGOUT"):
            send("* BYE\r\n%s OK bye\r\n" % tag)
            return
        else:
            send("%s OK done\r\n" % tag)

serve(handle)
