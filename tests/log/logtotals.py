#!/usr/bin/env python3
"""Grand Totals of pflogsumm's text report and of `mxdeck log stats --format json`, printed
the same way ("key value" lines, in pflogsumm's units) so shell tests can compare them.

logtotals.py pflogsumm REPORT   -> the figures pflogsumm printed
logtotals.py mxdeck JSON        -> mxdeck's totals, scaled as pflogsumm scales them
                                   (adj_int_units: k above 512 KiB, m above 512 MiB)
"""
import json
import re
import sys

KEYS = ["received", "delivered", "forwarded", "deferred", "deferrals", "bounced", "rejected",
        "reject_warnings", "held", "discarded", "bytes_received", "bytes_delivered", "senders",
        "sending_domains", "recipients", "recipient_domains"]
LABELS = {"received": "received", "delivered": "delivered", "forwarded": "forwarded",
          "bounced": "bounced", "reject warnings": "reject_warnings", "held": "held",
          "bytes received": "bytes_received", "bytes delivered": "bytes_delivered",
          "senders": "senders", "sending hosts/domains": "sending_domains",
          "recipients": "recipients", "recipient hosts/domains": "recipient_domains"}


def adj(v):
    if v > 536870912:
        return "%dm" % (v // 1048576)
    if v > 524288:
        return "%dk" % (v // 1024)
    return "%d" % v


def pflogsumm(path):
    out = {}
    text = open(path, encoding="utf-8", errors="replace").read()
    body = text.split("Grand Totals", 1)[1].split("Per-", 1)[0]
    for line in body.splitlines():
        m = re.match(r"^\s*(\d+)([km]?)\s+(.*?)\s*$", line)
        if not m:
            continue
        num, unit, rest = m.group(1) + m.group(2), m.group(2), m.group(3)
        if rest.startswith("deferred"):
            out["deferred"] = num
            d = re.search(r"\((\d+)([km]?)\s*deferrals\)", rest)
            out["deferrals"] = d.group(1) + d.group(2) if d else "0"
        elif rest.startswith("rejected"):
            out["rejected"] = num
        elif rest.startswith("discarded"):
            out["discarded"] = num
        elif rest in LABELS:
            out[LABELS[rest]] = num
    return out


def mxdeck(path):
    doc = json.load(open(path))
    assert doc["schema"] == "mxdeck.logstats/1", doc.get("schema")
    totals = doc["totals"]
    assert sorted(totals) == sorted(KEYS), sorted(totals)
    return {k: adj(int(totals[k])) for k in KEYS}


fig = pflogsumm(sys.argv[2]) if sys.argv[1] == "pflogsumm" else mxdeck(sys.argv[2])
for k in KEYS:
    print(k, fig.get(k, "missing"))
