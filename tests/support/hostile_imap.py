#!/usr/bin/env python3
"""A hostile IMAP server on 127.0.0.1 speaking just enough IMAP (CAPABILITY, LOGIN, LIST, SELECT,
UID SEARCH, UID FETCH, LOGOUT) to bring a client to one attack. Usage: hostile_imap.py MODE;
prints its port on stdout. Modes: ok (one small mail), uidvalidity0, list_flood (a million
folders), folder_esc (a folder name with ESC and BEL), deep_mime
(multipart nested 10,000 deep), long_header (megabyte header lines with escapes), huge_literal (a body announced as {4000000000}, streamed for ever), trickle (a body
sent a byte every half second, for ever)."""
import socket, sys, threading, time
MODE = sys.argv[1]

def handle(c):
    f = c.makefile("rb")
    def send(b):
        c.sendall(b if isinstance(b, bytes) else b.encode())
    send("* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] hostile\r\n")
    try:
        while True:
            line = f.readline()
            if not line:
                return
            parts = line.decode(errors="replace").strip().split(" ")
            tag, cmd = parts[0], " ".join(parts[1:3]).upper()
            if cmd.startswith("CAPABILITY"):
                send("* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\n%s OK done\r\n" % tag)
            elif cmd.startswith("LOGIN"):
                send("%s OK logged in\r\n" % tag)
            elif cmd.startswith("LIST"):
                if MODE == "list_flood":
                    chunk = "".join('* LIST () "/" "f%d"\r\n' % i for i in range(10000))
                    for _ in range(100):
                        send(chunk)
                elif MODE == "folder_esc":
                    send('* LIST () "/" "INBOX"\r\n* LIST () "/" "ev\x1b[2Jil\x07x"\r\n')
                else:
                    send('* LIST () "/" "INBOX"\r\n')
                send("%s OK done\r\n" % tag)
            elif cmd.startswith("SELECT") or cmd.startswith("EXAMINE"):
                uv = "0" if MODE == "uidvalidity0" else "7"
                send("* 1 EXISTS\r\n* OK [UIDVALIDITY %s] x\r\n* OK [UIDNEXT 2] x\r\n%s OK [READ-WRITE] done\r\n" % (uv, tag))
            elif cmd.startswith("UID SEARCH") or cmd.startswith("UID FETCH") and "1:*" in line.decode() and "BODY" not in line.decode().upper():
                if "SEARCH" in cmd:
                    send("* SEARCH 1\r\n%s OK done\r\n" % tag)
                else:
                    send("* 1 FETCH (UID 1 FLAGS () RFC822.SIZE 100)\r\n%s OK done\r\n" % tag)
            elif cmd.startswith("UID FETCH"):
                if MODE == "huge_literal":
                    send("* 1 FETCH (UID 1 FLAGS () BODY[] {4000000000}\r\n")
                    while True:
                        send(b"x" * 65536)
                elif MODE == "trickle":
                    send("* 1 FETCH (UID 1 FLAGS () BODY[] {100}\r\n")
                    while True:
                        send(b"x"); time.sleep(0.5)
                else:
                    body = b"Subject: hi\r\n\r\nhello\r\n"
                    if MODE == "deep_mime":
                        body = b"From: a@acme.test\r\nSubject: deep\r\n"
                        body += b"".join(b"Content-Type: multipart/mixed; boundary=b%d\r\n\r\n--b%d\r\n" % (i, i) for i in range(10000))
                        body += b"Content-Type: text/plain\r\n\r\ninnermost\r\n"
                        body += b"".join(b"--b%d--\r\n" % i for i in reversed(range(10000)))
                    elif MODE == "long_header":
                        body = b"From: a@acme.test\r\nSubject: " + b"S\x1b[2J" * 250000 + b"\r\nX-Long: " + b"h" * 1000000 + b"\r\n\r\nshort body\r\n"
                    send(b"* 1 FETCH (UID 1 FLAGS () RFC822.SIZE %d BODY[] {%d}\r\n" % (len(body), len(body)) + body + b")\r\n")
                    send("%s OK done\r\n" % tag)
            elif cmd.startswith("LOGOUT"):
                send("* BYE\r\n%s OK bye\r\n" % tag); return
            else:
                send("%s OK ignored\r\n" % tag)
    except (BrokenPipeError, ConnectionResetError):
        return

def serve(handle):
    """Listens on a free port of 127.0.0.1, prints it, and runs `handle` on each connection."""
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", 0)); s.listen(16)
    print(s.getsockname()[1], flush=True)
    while True:
        c, _ = s.accept()
        threading.Thread(target=handle, args=(c,), daemon=True).start()

if __name__ == "__main__":
    serve(handle)
