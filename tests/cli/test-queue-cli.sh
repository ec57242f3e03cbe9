#!/usr/bin/env bash
# `mxdeck queue` on saved `postqueue -j` dumps (--input), no root and no Postfix needed:
# malformed lines reported with their line number while the rest is read, hostile text
# kept off the terminal, the JSON schemas, and the usage errors of the actions.
set -u
mxdeck=${MXDECK:-$MXDECK_BUILD_ROOT/cli/mxdeck}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
passed=0 failed=0
ok() { passed=$((passed + 1)); echo "ok - $1"; }
bad() { failed=$((failed + 1)); echo "not ok - $1"; }
expect() { # expect ACTUAL WANTED WHAT
        if [ "$1" = "$2" ]; then ok "$3"; else bad "$3: got '$1', want '$2'"; fi
}
jq_() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print($2)" "$1"; }

now=$(date +%s)
cat >"$T/dump" <<EOF2
{"queue_name": "deferred", "queue_id": "4F2A1B3C9D", "arrival_time": $((now - 7200)), "message_size": 1000, "forced_expire": false, "sender": "alice@example.com", "recipients": [{"address": "bob@example.net", "delay_reason": "connect to 192.0.2.1[192.0.2.1]:25: Connection refused"}, {"address": "carol@example.org", "delay_reason": "connect to 192.0.2.9[192.0.2.9]:25: Connection refused"}], "future_member": [1]}
{"queue_name": "deferred", "queue_id": "5A2A1B3C9D", "arrival_time": $((now - 60)), "message_size": 500, "sender": "\u001b[31mmallory@example.com", "recipients": [{"address": "x@example.net", "delay_reason": "\u001b]0;owned\u0007 host said: 550"}]}
not json at all
{"queue_name": "hold", "queue_id": "6B2A1B3C9D", "arrival_time": $((now - 30)), "message_size": 10, "sender": "alice@example.com", "recipients": [{"address": "d@example.org"}]}
{"queue_name": "deferred", "sender": "no id"}
{"queue_name": "hold", "queue_id": "6B2A1B3C9D", "arrival_time": $((now - 30)), "message_size": 10, "sender": "alice@example.com", "recipients": [{"address": "d@example.org"}]}
EOF2

"$mxdeck" queue --input "$T/dump" --format json >"$T/sum.json" 2>"$T/err"
expect "$?" 0 "summary of a dump with bad lines: exit 0"
expect "$(jq_ "$T/sum.json" 'd["schema"], d["total"], d["bytes"], d["queues"]["deferred"]["count"], d["queues"]["hold"]["count"]')" \
        "mxdeck.queue/1 3 1510 2 1" "summary counts (a repeated message counts once)"
expect "$(grep -c 'dump:3: not valid JSON' "$T/err")" 1 "line 3 reported with its number"
expect "$(grep -c 'dump:5: no queue_id' "$T/err")" 1 "line 5 reported with its number"
expect "$(jq_ "$T/sum.json" 'd["reasons"][0]["reason"], d["reasons"][0]["count"]')" \
        "connect to N.N.N.N[N.N.N.N]:N: Connection refused 2" "reasons normalised and counted"
age=$(jq_ "$T/sum.json" 'd["oldest_age_s"]')
[ "$age" -ge 7200 ] && [ "$age" -lt 7300 ] && ok "oldest_age_s" || bad "oldest_age_s $age"

"$mxdeck" queue list --input "$T/dump" --format json --older-than 1h >"$T/list.json" 2>/dev/null
expect "$(jq_ "$T/list.json" 'd["schema"], [m["queue_id"] for m in d["messages"]]')" \
        "mxdeck.queuelist/1 ['4F2A1B3C9D']" "list --older-than, schema"
"$mxdeck" queue list --input "$T/dump" --format json --sender alice@example.com --queue hold >"$T/list.json" 2>/dev/null
expect "$(jq_ "$T/list.json" '[m["queue_id"] for m in d["messages"]]')" "['6B2A1B3C9D']" "list --sender --queue"
"$mxdeck" queue shape --input "$T/dump" --format json >"$T/shape.json" 2>/dev/null
expect "$(jq_ "$T/shape.json" 'd["schema"], d["buckets"], d["rows"][0]')" \
        "mxdeck.qshape/1 [5, 10, 20, 40, 80, 160, 320, 640, 1280, 1280] {'domain': 'TOTAL', 'total': 4, 'counts': [2, 0, 0, 0, 0, 2, 0, 0, 0, 0]}" \
        "shape: buckets and TOTAL"

# nothing from the dump reaches the terminal raw
for args in "" "list" "shape --sender"; do
        # shellcheck disable=SC2086
        "$mxdeck" queue $args --input "$T/dump" >"$T/out" 2>&1
        if LC_ALL=C grep -qaP '[\x00-\x08\x0B-\x1F\x7F]|\xC2[\x80-\x9F]' "$T/out"; then
                bad "queue $args: control characters reach the terminal"
        else
                ok "queue $args: terminal-safe"
        fi
done

# usage errors (exit 2), before anything is read
usage() { "$mxdeck" queue "$@" >/dev/null 2>"$T/err"; expect "$?" 2 "usage error: queue $*"; }
usage delete
usage delete --yes
usage hold ALL
usage delete '../x'
usage delete 4F2A1B3C9D --sender a@b
usage delete --all --sender a@b
usage delete --sender a@b --input "$T/dump"
usage list --older-than 5x
usage list --reason '('
usage list --queue nowhere
usage shape --domain x
usage show
usage bogus
usage list --format nagios
grep -q -- "--all" <("$mxdeck" queue delete 2>&1) && ok "the empty-filter error names --all" || bad "no --all hint"

echo "1..$((passed + failed))"
[ "$failed" = 0 ]
