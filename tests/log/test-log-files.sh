#!/usr/bin/env bash
# `mxdeck log` on saved logs, no root needed: the real lab log (tests/data/log/, written by
# real Postfix 3.7 and Dovecot 2.3 in log-oracle.sh) against pflogsumm in both timestamp
# forms and gzip'd; then hostile input (escape sequences, NUL bytes, invalid UTF-8, a 1 MiB
# line, truncated lines, unknown formats, out-of-order timestamps): counted as unparsed,
# nothing lost, nothing raw on the terminal; and usage errors.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../integration/lib.sh"
require_mxdeck
data=${MXDECK_TEST_DATA:-$here/../data}/log
command -v pflogsumm >/dev/null || skip "pflogsumm is not installed (scripts/bootstrap installs it): it is the oracle"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
totals() { python3 "$here/logtotals.py" "$@"; }
stats() { "$MXDECK" log stats --no-rotated --format json "$@"; }
jget() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print($2)" "$1"; }

# 1. The oracle on the real log, both timestamp forms.
for f in lab.log lab-iso.log; do
        pflogsumm "$data/$f" >"$T/pf.txt" 2>/dev/null || fail "pflogsumm $f failed"
        stats --file "$data/$f" >"$T/mx.json" || fail "mxdeck log stats $f failed"
        expect_eq "$(totals mxdeck "$T/mx.json")" "$(totals pflogsumm "$T/pf.txt")" "$f: every Grand Totals figure equals pflogsumm's"
        expect_eq "$(jget "$T/mx.json" 'd["lines"]["unparsed"]')" 0 "$f: every line understood"
        cp "$T/mx.json" "$T/$f.json"
done
expect_eq "$(totals mxdeck "$T/lab-iso.log.json")" "$(totals mxdeck "$T/lab.log.json")" "both timestamp forms give the same totals"
expect_eq "$(jget "$T/lab.log.json" 'd["totals"]["received"] > 0 and d["totals"]["rejected"] > 0')" True "the log is not empty of events"
gzip -c "$data/lab.log" >"$T/mail.log.gz"
stats --file "$T/mail.log.gz" >"$T/gz.json" || not_ok "gzip file"
expect_eq "$(totals mxdeck "$T/gz.json")" "$(totals mxdeck "$T/lab.log.json")" "a gzip file gives the same totals"

# 2. Text output has the Grand Totals and the per-hour table.
"$MXDECK" log stats --file "$data/lab.log" --no-rotated >"$T/stats.txt" || not_ok "text stats"
expect_match "$(cat "$T/stats.txt")" "Grand Totals" "text: Grand Totals"
expect_match "$(grep -c '^    [0-9][0-9]00-' "$T/stats.txt")" "^24$" "text: 24 hour rows"
expect_no_escape "$T/stats.txt" "text stats without a terminal: no escape characters"

# 3. Hostile input mixed into the real log.
python3 - "$data/lab.log" "$T/bad.log" <<'PY'
import sys
src, dst = sys.argv[1], sys.argv[2]
lines = open(src, "rb").read().split(b"\n")
bad = [
    b"Dec 02 08:10:46 mail.lab.test postfix/smtpd[1]: warning: \x1b[2J\x1b]0;owned\x07 escape",
    b"Dec 02 08:10:46 mail.lab.test postfix/smtpd[1]: warning: nul \x00 byte",
    b"Dec 02 08:10:46 mail.lab.test postfix/smtpd[1]: warning: bad \xc3\x28 \xff utf-8",
    b"Dec 02 08:10:46 mail.lab.test postfix/smtpd[1]: warning: " + b"A" * (1 << 20),
    b"Dec 02 08:1",
    b"<13>1 2026-12-02T08:10:46Z host app - - - unknown syslog protocol",
    b"\xe2\x80\xae\x9b31m",
]
out = []
for i, l in enumerate(lines):
    out.append(l)
    if i % 20 == 5 and bad:
        out.append(bad.pop(0))
out.extend(bad)
# out of order: an old smtpd connect line (understood, changes no total)
out.insert(3, b"Nov 30 01:02:03 mail.lab.test postfix/smtpd[9]: connect from unknown[127.0.0.1]")
# a truncated last line without newline
data = b"\n".join(x for x in out if x) + b"\nDec 02 08:12:00 mail.lab.test postfix/qm"
open(dst, "wb").write(data)
PY
stats --file "$T/bad.log" --unparsed "$T/unparsed.txt" >"$T/bad.json" || not_ok "stats on hostile input failed"
expect_eq "$(jget "$T/bad.json" 'd["lines"]["unparsed"]')" 8 "hostile lines counted as unparsed (7 bad + the truncated last)"
expect_eq "$(totals mxdeck "$T/bad.json")" "$(totals mxdeck "$T/lab.log.json")" "hostile lines change no total (nothing lost)"
expect_eq "$(wc -l <"$T/unparsed.txt")" 8 "--unparsed writes them out"
expect_eq "$(stat -c %a "$T/unparsed.txt")" 600 "--unparsed file mode 0600"
"$MXDECK" log tail --file "$T/bad.log" --no-rotated -n 100000 >"$T/tail.txt" || not_ok "tail on hostile input failed"
expect_no_escape "$T/tail.txt" "tail: no escape sequence reaches the terminal"
expect_eq "$(grep -c 'escape' "$T/tail.txt")" 1 "tail shows the escape line, made safe"
expect_eq "$(LC_ALL=C awk '{ if (length($0) > 70000) n++ } END { print n + 0 }' "$T/tail.txt")" 0 "tail: the 1 MiB line is cut at the line bound"
"$MXDECK" log tail --file "$T/bad.log" --no-rotated -n 100000 --color always --kind reject >"$T/tailc.txt" || not_ok "tail --color"
expect_eq "$(grep -c $'\033\\[1;31m' "$T/tailc.txt")" "$(jget "$T/lab.log.json" 'd["totals"]["rejected"]')" "tail --color always: rejects in red"

# 4. --since/--until select by time (the log is of 2 Dec, a year inferred near now).
year=$(date +%Y)
stats --file "$data/lab-iso.log" --since "2026-12-02 08:10:50" --until "2026-12-02 08:11:00" >"$T/win.json" ||
        not_ok "--since/--until"
expect_match "$(jget "$T/win.json" 'd["first"] + " " + d["last"]')" "^2026-12-02T08:1[01]:[0-9]+Z 2026-12-02T08:1[01]:[0-9]+Z$" \
        "--since/--until window ($year)"

# 5. Follow a file across rotation (rename, new file) and truncation, by inotify.
F="$T/follow/mail.log"
mkdir "$T/follow" && : >"$F"
"$MXDECK" log tail --follow --file "$F" -n 0 >"$T/follow.txt" 2>&1 &
fpid=$!
line() { echo "Dec 02 08:10:46 mail.lab.test postfix/qmgr[122]: $1: removed"; }
# Bounded handshake instead of a sleep: append marker lines until the follower shows one,
# so it has surely reached the end of the file before the line under test.
ready=no
for i in $(seq 100); do
        line "READY$i" >>"$F"
        if grep -q READY "$T/follow.txt"; then ready=yes; break; fi
        sleep 0.1
done
expect_eq "$ready" yes "follow: the follower started"
line AAAA1111 >>"$F"
wait_for 10 grep -q AAAA1111 "$T/follow.txt" && ok "follow: an appended line" || not_ok "follow: appended line missing"
mv "$F" "$F.1" && line BBBB2222 >>"$F.1" && line CCCC3333 >"$F"
wait_for 10 grep -q CCCC3333 "$T/follow.txt" && ok "follow: the new file after rotation" || not_ok "follow: line of the new file missing"
expect_eq "$(grep -c 'BBBB2222' "$T/follow.txt")" 1 "follow: the rotated file's last line is not lost"
# copytruncate: the file starts again (noticed when it is shorter than what was read)
: >"$F" && echo "Dec 02 08:10:47 h postfix/qmgr[1]: DDDD4444: removed" >>"$F"
wait_for 10 grep -q DDDD4444 "$T/follow.txt" && ok "follow: after truncation" || not_ok "follow: line after truncation missing"
kill "$fpid" 2>/dev/null
wait "$fpid" 2>/dev/null
expect_eq "$(grep -v READY "$T/follow.txt" | grep -c removed)" 4 "follow: each line once"

# 6. Usage errors.
"$MXDECK" log stats --since yesterdayish >/dev/null 2>"$T/err"
expect_eq "$?" 2 "bad --since: usage error"
"$MXDECK" log frobnicate >/dev/null 2>&1
expect_eq "$?" 2 "unknown sub-command: usage error"
"$MXDECK" log trace 'not an id!' --file "$data/lab.log" >/dev/null 2>&1
expect_eq "$?" 2 "trace with neither queue id nor Message-ID: usage error"
"$MXDECK" log stats --file /nonexistent/mail.log >/dev/null 2>"$T/err"
expect_eq "$?" 1 "a missing file: failure"
expect_match "$(cat "$T/err")" "cannot read /nonexistent/mail.log" "the missing file is named"
"$MXDECK" log --help >"$T/help.txt"
expect_match "$(cat "$T/help.txt")" "mxdeck log stats" "log --help"
finish
