#!/usr/bin/env python3
"""Broken and hostile mail servers on loopback, for check-tls-hostile.sh.

hostile-server.py MODE:PORT...   serves each MODE on 127.0.0.1:PORT until killed.

Modes:
  silent       accepts and never says a word
  endless      "220 " followed by an endless line (no newline, ever)
  flood        a 10,000-line multi-line SMTP greeting ("220-..." x 10000)
  imapflood    a fine IMAP greeting, then 10,000 untagged lines for CAPABILITY
  garbage      bytes that are not TLS (for an implicit-TLS port)
  closehs      reads the TLS ClientHello, then closes mid-handshake
  wrong        an HTTP answer instead of a mail greeting
  tlsdrop      SMTP that says yes to STARTTLS, then resets the connection
  escape       SMTP with terminal escape sequences in the greeting and EHLO reply,
               offering AUTH PLAIN and no STARTTLS
"""
import socket
import struct
import sys
import threading
import time

ESC_BANNER = b"220 mail.lab.test \x1b]0;pwned\x07\x1b[31mRED\x1b[0m \x1b[2J ESMTP\r\n"


def recv_line(conn, limit=4096):
    data = b""
    while not data.endswith(b"\n") and len(data) < limit:
        chunk = conn.recv(1)
        if not chunk:
            return None
        data += chunk
    return data


def serve(mode, conn):
    conn.settimeout(30)
    try:
        if mode == "silent":
            time.sleep(30)
        elif mode == "endless":
            conn.sendall(b"220 ")
            chunk = b"A" * 4096
            for _ in range(100000):  # bounded: 400 MB at most, the client hangs up long before
                conn.sendall(chunk)
        elif mode == "flood":
            conn.sendall(b"".join(b"220-line %d of a greeting that never ends\r\n" % i for i in range(10000)))
            conn.sendall(b"220 done\r\n")
            time.sleep(5)
        elif mode == "imapflood":
            conn.sendall(b"* OK [CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED] ready\r\n")
            line = recv_line(conn)
            if line:
                tag = line.split(b" ", 1)[0]
                conn.sendall(b"".join(b"* CAPABILITY IMAP4rev1 X%d\r\n" % i for i in range(10000)))
                conn.sendall(tag + b" OK done\r\n")
            time.sleep(5)
        elif mode == "garbage":
            conn.recv(4096)
            conn.sendall(b"\x00\xff garbage, not TLS at all \x1b[31m\r\n" * 20)
            time.sleep(5)
        elif mode == "closehs":
            conn.recv(4096)
            conn.close()
        elif mode == "wrong":
            conn.sendall(b"HTTP/1.1 400 Bad Request\r\nServer: \x1b[5mnot-mail\r\n\r\n")
            time.sleep(5)
        elif mode == "tlsdrop":
            conn.sendall(b"220 mail.lab.test ESMTP\r\n")
            while True:
                line = recv_line(conn)
                if line is None:
                    break
                verb = line.strip().split(b" ")[0].upper()
                if verb == b"EHLO":
                    conn.sendall(b"250-mail.lab.test\r\n250 STARTTLS\r\n")
                elif verb == b"STARTTLS":
                    conn.sendall(b"220 2.0.0 go ahead\r\n")
                    # A reset, not a clean close: the client's next write fails (EPIPE).
                    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    break
                else:
                    conn.sendall(b"250 ok\r\n")
        elif mode == "escape":
            conn.sendall(ESC_BANNER)
            while True:
                line = recv_line(conn)
                if line is None:
                    break
                verb = line.strip().split(b" ")[0].upper()
                if verb in (b"EHLO", b"HELO"):
                    conn.sendall(b"250-mail.lab.test \x1b[2Jhello\r\n250 AUTH PLAIN LOGIN\x1b[0m\r\n")
                elif verb == b"QUIT":
                    conn.sendall(b"221 bye\r\n")
                    break
                else:
                    conn.sendall(b"502 5.5.2 \x1b[1mno\r\n")
    except OSError:
        pass
    finally:
        try:
            conn.close()
        except OSError:
            pass


def listen(mode, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", port))
    s.listen(64)
    while True:
        conn, _ = s.accept()
        threading.Thread(target=serve, args=(mode, conn), daemon=True).start()


def main():
    threads = []
    for arg in sys.argv[1:]:
        mode, port = arg.split(":")
        t = threading.Thread(target=listen, args=(mode, int(port)), daemon=True)
        t.start()
        threads.append(t)
    print("ready", flush=True)
    for t in threads:
        t.join()


if __name__ == "__main__":
    main()
