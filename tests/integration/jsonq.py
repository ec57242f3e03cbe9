#!/usr/bin/env python3
"""Reads an mxdeck.check/1 JSON report on stdin and prints fields for shell tests.

jsonq.py status ID [TARGET_SUBSTRING]  -> the status of the finding (or "missing")
jsonq.py field ID FIELD               -> summary/detail/remedy/target of the first finding
jsonq.py overall                      -> the report's status
"""
import json
import sys

doc = json.load(sys.stdin)
assert doc["schema"] == "mxdeck.check/1", doc.get("schema")
what = sys.argv[1]
if what == "overall":
    print(doc["status"])
elif what == "status":
    want_target = sys.argv[3] if len(sys.argv) > 3 else None
    for f in doc["findings"]:
        if f["id"] == sys.argv[2] and (want_target is None or want_target in f["target"]):
            print(f["status"])
            break
    else:
        print("missing")
elif what == "field":
    for f in doc["findings"]:
        if f["id"] == sys.argv[2]:
            print(f[sys.argv[3]])
            break
    else:
        print("missing")
else:
    sys.exit("unknown query " + what)
