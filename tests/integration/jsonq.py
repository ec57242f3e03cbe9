#!/usr/bin/env python3
"""Reads an mxdeck.check/1 JSON report on stdin and prints fields for shell tests.

jsonq.py status ID [TARGET_SUBSTRING]        -> the status of the finding (or "missing")
jsonq.py field ID FIELD [TARGET_SUBSTRING]   -> summary/detail/remedy/target of the first finding;
                                                commands: one per line; fix: remedy, then commands
jsonq.py overall                             -> the report's status
jsonq.py run ID [TARGET_SUBSTRING]           -> runs the finding's commands as printed, each split
                                                into words the way a shell would but run without
                                                one (so no pipes or redirections can hide in
                                                them); prints them; exits 1 at the first failure,
                                                2 when there is nothing to run
"""
import json
import shlex
import subprocess
import sys

doc = json.load(sys.stdin)
assert doc["schema"] == "mxdeck.check/1", doc.get("schema")
what = sys.argv[1]


def find(fid, target):
    for f in doc["findings"]:
        if f["id"] == fid and (target is None or target in f["target"]):
            return f
    return None


if what == "overall":
    print(doc["status"])
elif what == "status":
    f = find(sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else None)
    print(f["status"] if f else "missing")
elif what == "field":
    f = find(sys.argv[2], sys.argv[4] if len(sys.argv) > 4 else None)
    if not f:
        print("missing")
    elif sys.argv[3] == "commands":
        print("\n".join(f["commands"]))
    elif sys.argv[3] == "fix":
        print("\n".join([f["remedy"]] + f["commands"]))
    else:
        print(f[sys.argv[3]])
elif what == "run":
    f = find(sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else None)
    if not f or not f["commands"]:
        print("no commands to run for " + sys.argv[2])
        sys.exit(2)
    for c in f["commands"]:
        print("$ " + c, flush=True)
        r = subprocess.run(shlex.split(c), stdin=subprocess.DEVNULL, timeout=60)
        if r.returncode != 0:
            print("exit status %d" % r.returncode)
            sys.exit(1)
else:
    sys.exit("unknown query " + what)
