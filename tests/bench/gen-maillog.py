#!/usr/bin/env python3
"""Writes a realistic mail.log of N lines from the oracle test's real Postfix/Dovecot log
(tests/data/log/lab.log): its mail lines repeated as blocks, each with fresh queue ids, a
later time (a minute per block: days of traffic over every hour), and varied addresses.

gen-maillog.py SOURCE LINES OUT [--export]   (--export: journal export format instead)
"""
import re
import sys
import time

src, want, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
export = "--export" in sys.argv[4:]
line_re = re.compile(r"^(\w{3}) +(\d+) (\d\d):(\d\d):(\d\d) (\S+) ([^\[: ]+)(?:\[(\d+)\])?: (.*)$")
block = []
for l in open(src, encoding="utf-8"):
    m = line_re.match(l.rstrip("\n"))
    if m and (m.group(7).startswith("postfix") or m.group(7).startswith("dovecot")):
        block.append(m)
qid_re = re.compile(r"\b([0-9A-F]{6,12})\b")
qids = sorted({q for m in block for q in re.findall(r"^([0-9A-F]{6,12}): ", m.group(9))} |
              {q for m in block for q in re.findall(r"(?:queued as|notification:) ([0-9A-F]{6,12})", m.group(9))})
t0 = time.mktime((2026, 11, 25, 0, 0, 0, 0, 0, -1))
first = None
n = 0
b = 0
with open(out, "w", encoding="utf-8") as f:
    while n < want:
        qmap = {q: "%010X" % (0x1000000000 + b * 64 + i) for i, q in enumerate(qids)}
        users = {"bob@lab.test": "user%d@dom%d.example" % (b % 3001, b % 151),
                 "alice@lab.test": "sender%d@lab%d.example" % (b % 1009, b % 37),
                 "carol@example.org": "c%d@org%d.example" % (b % 499, b % 53)}
        for m in block:
            if n >= want:
                break
            secs = int(m.group(3)) * 3600 + int(m.group(4)) * 60 + int(m.group(5))
            if first is None:
                first = secs
            t = t0 + b * 60 + (secs - first)
            msg = qid_re.sub(lambda x: qmap.get(x.group(1), x.group(1)), m.group(9))
            for k, v in users.items():
                msg = msg.replace(k, v)
            ident, pid = m.group(7), m.group(8)
            if export:
                f.write("__REALTIME_TIMESTAMP=%d\nSYSLOG_FACILITY=2\nSYSLOG_IDENTIFIER=%s\n%sMESSAGE=%s\n\n" %
                        (int(t * 1e6), ident, ("_PID=%s\n" % pid) if pid else "", msg))
            else:
                f.write("%s %s %s%s: %s\n" % (time.strftime("%b %d %H:%M:%S", time.localtime(t)), m.group(6), ident,
                                              ("[%s]" % pid) if pid else "", msg))
            n += 1
        b += 1
