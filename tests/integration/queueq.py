#!/usr/bin/env python3
"""Queue helpers for shell tests: read `postqueue -j` / mxdeck JSON / qshape text.

queueq.py count [QUEUE]            < postqueue -j   -> number of messages (in QUEUE)
queueq.py ids [QUEUE]              < postqueue -j   -> sorted ids, one per line
queueq.py ids-from SENDER          < postqueue -j   -> ids of messages from exactly SENDER
queueq.py ids-to-domain DOMAIN     < postqueue -j   -> ids with a recipient at DOMAIN
queueq.py queue-of ID              < postqueue -j   -> queue name of ID (or "gone")
queueq.py expired ID               < postqueue -j   -> forced_expire of ID (or "gone")
queueq.py settled N                < postqueue -j   -> exit 0 when N messages, none in
                                                       incoming/maildrop, every deferred
                                                       recipient with a delay_reason
queueq.py summary-vs-postqueue SUMMARY_JSON < postqueue -j -> differences, exit 1 if any
queueq.py same-list A.json B.json                  -> differences of two queuelist/1 docs
queueq.py qshape-vs QSHAPE_TXT MXDECK_JSON         -> differences, exit 1 if any
"""
import collections
import json
import sys


def pq():
    out = []
    for line in sys.stdin:
        line = line.strip()
        if line:
            out.append(json.loads(line))
    return out


def main():
    what = sys.argv[1]
    if what == "count":
        ms = pq()
        if len(sys.argv) > 2:
            ms = [m for m in ms if m["queue_name"] == sys.argv[2]]
        print(len(ms))
    elif what == "ids":
        ms = pq()
        if len(sys.argv) > 2:
            ms = [m for m in ms if m["queue_name"] == sys.argv[2]]
        for i in sorted(m["queue_id"] for m in ms):
            print(i)
    elif what == "ids-from":
        for i in sorted(m["queue_id"] for m in pq() if m["sender"] == sys.argv[2]):
            print(i)
    elif what == "ids-to-domain":
        d = sys.argv[2].lower()
        for i in sorted(m["queue_id"] for m in pq()
                        if any(r["address"].lower().rsplit("@", 1)[-1] == d for r in m["recipients"])):
            print(i)
    elif what in ("queue-of", "expired"):
        for m in pq():
            if m["queue_id"] == sys.argv[2]:
                print(m["queue_name"] if what == "queue-of" else str(m["forced_expire"]).lower())
                break
        else:
            print("gone")
    elif what == "settled":
        ms = pq()
        ok = len(ms) == int(sys.argv[2]) and all(
            m["queue_name"] not in ("incoming", "maildrop") for m in ms) and all(
            all("delay_reason" in r for r in m["recipients"]) for m in ms if m["queue_name"] == "deferred")
        sys.exit(0 if ok else 1)
    elif what == "summary-vs-postqueue":
        s = json.load(open(sys.argv[2]))
        ms = pq()
        errs = []
        if s.get("schema") != "mxdeck.queue/1":
            errs.append("schema %r" % s.get("schema"))
        if s["total"] != len(ms):
            errs.append("total %d, postqueue %d" % (s["total"], len(ms)))
        if s["bytes"] != sum(m["message_size"] for m in ms):
            errs.append("bytes %d, postqueue %d" % (s["bytes"], sum(m["message_size"] for m in ms)))
        for q in ("maildrop", "incoming", "active", "deferred", "hold"):
            n = len([m for m in ms if m["queue_name"] == q])
            if s["queues"][q]["count"] != n:
                errs.append("%s: %d, postqueue %d" % (q, s["queues"][q]["count"], n))
        senders = collections.Counter(m["sender"] for m in ms)
        for e in s["senders"]:
            if senders[e["sender"]] != e["count"]:
                errs.append("sender %s: %d, postqueue %d" % (e["sender"], e["count"], senders[e["sender"]]))
        sdoms = collections.Counter(
            "MAILER-DAEMON" if m["sender"] in ("", "MAILER-DAEMON") else
            m["sender"].lower().rsplit("@", 1)[-1] if "@" in m["sender"] else "" for m in ms)
        for e in s["sender_domains"]:
            if sdoms[e["domain"]] != e["count"]:
                errs.append("sender domain %s: %d, postqueue %d" % (e["domain"], e["count"], sdoms[e["domain"]]))
        if sum(e["count"] for e in s["sender_domains"]) != len(ms) and len(s["sender_domains"]) < 10:
            errs.append("sender domains add up to %d, not %d" % (sum(e["count"] for e in s["sender_domains"]), len(ms)))
        doms = collections.Counter()
        for m in ms:
            for d in {r["address"].lower().rsplit("@", 1)[-1] for r in m["recipients"]}:
                doms[d] += 1
        for e in s["domains"]:
            if doms[e["domain"]] != e["count"]:
                errs.append("domain %s: %d, postqueue %d" % (e["domain"], e["count"], doms[e["domain"]]))
        nreasons = sum(1 for m in ms for r in m["recipients"] if r.get("delay_reason"))
        if sum(e["count"] for e in s["reasons"]) != nreasons and len(s["reasons"]) < 10:
            errs.append("reasons add up to %d, postqueue has %d" % (sum(e["count"] for e in s["reasons"]), nreasons))
        print("\n".join(errs))
        sys.exit(1 if errs else 0)
    elif what == "same-list":
        a = json.load(open(sys.argv[2]))
        b = json.load(open(sys.argv[3]))
        if a == b:
            sys.exit(0)
        am = {m["queue_id"]: m for m in a["messages"]}
        bm = {m["queue_id"]: m for m in b["messages"]}
        for i in sorted(set(am) | set(bm)):
            if am.get(i) != bm.get(i):
                print("%s: %s != %s" % (i, json.dumps(am.get(i)), json.dumps(bm.get(i))))
                break
        sys.exit(1)
    elif what == "qshape-vs":
        rows = {}
        with open(sys.argv[2]) as f:
            head = f.readline().split()
            for line in f:
                p = line.split()
                if p:
                    rows[p[0]] = [int(x) for x in p[1:]]
        doc = json.load(open(sys.argv[3]))
        mine = {r["domain"]: [r["total"]] + r["counts"] for r in doc["rows"]}
        errs = []
        want_head = ["T"] + [str(b) for b in doc["buckets"][:-1]] + ["%d+" % doc["buckets"][-1]]
        if head != want_head:
            errs.append("buckets: qshape %s, mxdeck %s" % (head, want_head))
        for d in sorted(set(rows) | set(mine)):
            if rows.get(d) != mine.get(d):
                errs.append("%s: qshape %s, mxdeck %s" % (d, rows.get(d), mine.get(d)))
        if doc["rows"][0]["domain"] != "TOTAL":
            errs.append("TOTAL is not the first row")
        print("\n".join(errs))
        sys.exit(1 if errs else 0)
    else:
        sys.exit("unknown query " + what)


main()
