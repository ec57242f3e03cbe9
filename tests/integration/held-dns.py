#!/usr/bin/env python3
"""A DNS server on UDP that holds every query until a release file exists, then answers
each PTR question with one name (other types: NXDOMAIN). For tests of code that must stay
responsive while a lookup is pending: the test decides when the answer comes, so no timing
is assumed.

usage: held-dns.py ADDR PORT RELEASE_FILE PTR_NAME READY_FILE
"""
import os
import select
import socket
import struct
import sys
import time

addr, port, release, name, ready = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((addr, port))
open(ready, "w").close()

def encode(n):
    out = b""
    for label in n.rstrip(".").split("."):
        out += bytes([len(label)]) + label.encode()
    return out + b"\0"

def answer(q):
    if len(q) < 12:
        return None
    qid, _flags, qd = struct.unpack("!HHH", q[:6])
    # the question: labels up to the root, then type and class
    i = 12
    while i < len(q) and q[i] != 0:
        i += 1 + q[i]
    i += 1
    if qd != 1 or i + 4 > len(q):
        return None
    question = q[12:i + 4]
    qtype = struct.unpack("!H", q[i:i + 2])[0]
    if qtype == 12:
        rdata = encode(name)
        rr = b"\xc0\x0c" + struct.pack("!HHIH", 12, 1, 60, len(rdata)) + rdata
        return struct.pack("!HHHHHH", qid, 0x8180, 1, 1, 0, 0) + question + rr
    return struct.pack("!HHHHHH", qid, 0x8183, 1, 0, 0, 0) + question

held = []
deadline = time.monotonic() + 600  # bounded: a test that forgets it does not leave it forever
while time.monotonic() < deadline:
    r, _, _ = select.select([s], [], [], 0.1)
    if r:
        q, peer = s.recvfrom(4096)
        held.append((q, peer))
    if os.path.exists(release):
        for q, peer in held:
            a = answer(q)
            if a:
                s.sendto(a, peer)
        held = []
