#!/usr/bin/env bash
# mxdeck queue against real Postfix in a lab host: deferred mail (a relay host on a closed
# loopback port), held mail (postsuper -h), active mail (a relay that never greets).
# Counts against postqueue -j, the shape against qshape, the queue files read directly
# against postqueue -j, and every action by re-reading the queue afterwards.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
# about 3 minutes on a loaded 2-core machine: more than the default lab limit (meson: 600 s)
LAB_TIMEOUT=${QUEUE_LAB_TIMEOUT:-560}
in_lab_or_reexec --hostname mail.lab.test -- "$0" "$@"

command -v qshape >/dev/null || fail "qshape is not installed (Debian: it comes with the postfix package)"
T=$(mktemp -d)
qq() { python3 "$here/queueq.py" "$@"; }
pqj() { postqueue -j >"$T/pq.json" 2>"$T/pq.err" || fail "postqueue -j: $(cat "$T/pq.err")"; }

cat >/etc/postfix/main.cf <<'CF'
compatibility_level = 3.6
myhostname = mail.lab.test
mydomain = lab.test
mydestination = $myhostname, localhost
inet_interfaces = loopback-only
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
alias_maps = hash:/etc/aliases
# nothing listens there: every message is deferred with "Connection refused"
relayhost = [127.0.0.1]:2525
transport_maps = hash:/etc/postfix/transport
# no retry while the test runs, so the queue holds still
minimal_backoff_time = 3600s
maximal_backoff_time = 4000s
queue_run_delay = 3600s
smtp_helo_timeout = 600s
CF
newaliases
echo 'slow.example smtp:[127.0.0.1]:2526' >/etc/postfix/transport
postmap /etc/postfix/transport
# The relay for slow.example accepts connections and never says a word: its message stays active.
python3 -c '
import socket, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 2526)); s.listen(16)
time.sleep(3600)' &
silent_pid=$!
trap 'kill "$silent_pid" 2>/dev/null; postfix stop >/dev/null 2>&1' EXIT
wait_for_port 2526 10 || fail "the silent relay did not start"
postfix start >/dev/null 2>&1 || fail "postfix start failed"
wait_for_file /var/spool/postfix/pid/master.pid 10 || fail "no postfix pid file"

send() { # send FROM RCPT... (a short message)
        local from=$1
        shift
        printf 'From: %s\nSubject: test\n\nhello\n' "$from" | sendmail -f "$from" -- "$@" ||
                fail "sendmail -f $from $*"
}
n=0
for i in 1 2 3 4 5 6; do send alice@lab.test "user$i@a.example"; n=$((n + 1)); done
for i in 1 2 3; do send bob@lab.test "user$i@b.example"; n=$((n + 1)); done
send xbob@lab.test user9@b.example; n=$((n + 1))          # not bob: delete-by-sender is exact
send carol@other.test one@a.example two@mx.b.example three@c.example; n=$((n + 1))
send alice@lab.test x@sub1.d.example x@sub2.d.example x@sub3.d.example x@sub4.d.example x@sub5.d.example
n=$((n + 1))
send '' bounce@c.example; n=$((n + 1))                     # the null sender
# A subject with an escape sequence, for `queue show`.
printf 'From: dave@lab.test\nSubject: \033[31mred\033]0;title\007\n\nbody \033[2J\n' |
        sendmail -f dave@lab.test -- esc@c.example || fail "sendmail (escape)"
n=$((n + 1))
send erin@lab.test stuck@slow.example; n=$((n + 1))

settled() { postqueue -j 2>/dev/null | qq settled "$n"; }
wait_for 60 settled || fail "the queue did not settle: $(postqueue -j | head -c 2000)"
pqj
expect_eq "$(qq count active <"$T/pq.json")" 1 "one message stays active (silent relay)"

# Age some deferred messages by rewriting their arrival-time records in place (same length).
age_file() { # age_file ID SECONDS
        python3 - "$1" "$2" <<'PY' || fail "cannot age $1"
import glob, sys
qid, secs = sys.argv[1], int(sys.argv[2])
path = glob.glob("/var/spool/postfix/deferred/*/" + qid)[0]
data = bytearray(open(path, "rb").read())
pos = 0
while pos < len(data):
    t = data[pos]; l = 0; sh = 0; pos += 1
    while True:
        b = data[pos]; pos += 1; l |= (b & 0x7f) << sh; sh += 7
        if not b & 0x80: break
    if t == ord("T"):
        old = data[pos:pos + l].decode(); sec, usec = old.split()
        new = ("%d %s" % (int(sec) - secs, usec)).encode()
        assert len(new) == l, (old, new)
        data[pos:pos + l] = new
        break
    pos += l
open(path, "r+b").write(bytes(data))
PY
}
mapfile -t alice_ids < <(qq ids-from alice@lab.test <"$T/pq.json")
# Ages away from every bucket edge compared below (5-minute doubling, 10-minute linear and
# doubling), by minutes, so qshape and mxdeck a moment apart see the same; the fresh
# messages stay in the first bucket of each.
age_file "${alice_ids[0]}" 1500      # 25 min
age_file "${alice_ids[1]}" 3300      # 55 min
age_file "${alice_ids[2]}" 10800     # 3 h
age_file "${alice_ids[3]}" 90000     # 25 h: bucket 1280+
pqj

# 1. The summary agrees with postqueue -j; the oldest deferred message is 25 h old.
"$MXDECK" queue --format json >"$T/sum.json" || not_ok "mxdeck queue --format json failed"
if out=$(qq summary-vs-postqueue "$T/sum.json" <"$T/pq.json"); then ok "summary counts = postqueue -j"; else not_ok "summary vs postqueue -j: $out"; fi
age=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["oldest_age_s"])' "$T/sum.json")
[ "$age" -ge 90000 ] && [ "$age" -lt 90600 ] && ok "oldest_age_s is the aged message ($age s)" || not_ok "oldest_age_s $age"
reason=$(python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["reasons"][0]; print(r["count"], r["reason"])' "$T/sum.json")
expect_match "$reason" "^[0-9]+ (delivery temporarily suspended: )?connect to N\.N\.N\.N\[N\.N\.N\.N\]:N: Connection refused$" "top reason normalised"
"$MXDECK" queue >"$T/sum.txt" || not_ok "mxdeck queue (text) failed"
expect_match "$(head -1 "$T/sum.txt")" "^Queue: $n messages" "text summary headline"

# 2. Queue files read directly = postqueue -j, message for message.
"$MXDECK" queue list --format json --source files >"$T/files.json" || not_ok "list --source files"
"$MXDECK" queue list --format json --source postqueue >"$T/pq-list.json" || not_ok "list --source postqueue"
if out=$(qq same-list "$T/files.json" "$T/pq-list.json"); then ok "direct read = postqueue -j"; else not_ok "direct read differs: $out"; fi
postqueue -j >"$T/dump.json"
"$MXDECK" queue list --format json --input "$T/dump.json" >"$T/input.json" || not_ok "list --input"
if out=$(qq same-list "$T/input.json" "$T/pq-list.json"); then ok "--input dump = live postqueue -j"; else not_ok "--input differs: $out"; fi
# A damaged dump: each bad line is named with its number and skipped, the rest is read.
{ head -1 "$T/dump.json"; printf '{"queue_name": "deferred", "queue_id": \n'; printf '{"queue_name": "deferred"}\n'; tail -n +2 "$T/dump.json"; } >"$T/bad.json"
"$MXDECK" queue list --format json --input "$T/bad.json" >"$T/bad-list.json" 2>"$T/bad.err"; rc=$?
expect_eq "$rc" 0 "list --input of a damaged dump: exit 0"
grep -qE 'bad\.json:2: .*\(skipped\)' "$T/bad.err" && ok "the unparsable line 2 is named and skipped" ||
        not_ok "line 2: $(cat "$T/bad.err")"
grep -qE 'bad\.json:3: .*\(skipped\)' "$T/bad.err" && ok "line 3 without a queue id is named and skipped" ||
        not_ok "line 3: $(cat "$T/bad.err")"
if out=$(qq same-list "$T/bad-list.json" "$T/pq-list.json"); then ok "the good lines of the damaged dump are all read"; else not_ok "damaged dump: $out"; fi
# The text listing (postqueue -p, all that Postfix before 3.1 has): the same model as -j,
# live (the hidden --source postqueue-p forces it), from a saved listing, and as the
# fallback when postqueue refuses -j. Postfix 3.0 cannot run here: a wrapper named
# postqueue, first on mxdeck's fixed PATH (/usr/local/sbin, the lab's overlay), answers -j
# as the old one did (getopt's complaint, the usage line) and hands the rest to the real one.
"$MXDECK" queue list --format json --source postqueue-p >"$T/pqp-list.json" || not_ok "list --source postqueue-p"
if out=$(qq same-list "$T/pqp-list.json" "$T/pq-list.json"); then ok "postqueue -p = postqueue -j"; else not_ok "postqueue -p differs: $out"; fi
postqueue -p >"$T/dump.txt"
"$MXDECK" queue list --format json --input "$T/dump.txt" >"$T/input-p.json" || not_ok "list --input (a -p listing)"
if out=$(qq same-list "$T/input-p.json" "$T/pq-list.json"); then ok "--input of a -p listing = postqueue -j"; else not_ok "--input -p differs: $out"; fi
real_postqueue=$(command -v postqueue)
mkdir -p /usr/local/sbin
cat >/usr/local/sbin/postqueue <<OLD
#!/bin/sh
echo "postqueue \$*" >>"$T/old.log"
case "\$1" in -j) echo "postqueue: invalid option -- 'j'" >&2
        echo "postqueue: fatal: usage: postqueue -f | postqueue -p | postqueue -s site" >&2; exit 69;; esac
exec $real_postqueue "\$@"
OLD
chmod +x /usr/local/sbin/postqueue
"$MXDECK" queue list --format json --source postqueue >"$T/old-list.json" 2>"$T/old.err" ||
        not_ok "list with a postqueue that refuses -j: $(cat "$T/old.err")"
rm -f /usr/local/sbin/postqueue
expect_eq "$(tr '\n' ' ' <"$T/old.log")" "postqueue -j postqueue -p " "-j refused, then -p"
if out=$(qq same-list "$T/old-list.json" "$T/pq-list.json"); then ok "the -p fallback = postqueue -j"; else not_ok "fallback differs: $out"; fi

# 3. The shape = qshape on the same queue: recipients, senders, parent domains.
shape_vs() { # shape_vs "QSHAPE ARGS" "MXDECK ARGS" MESSAGE
        # shellcheck disable=SC2086
        qshape $1 >"$T/qshape.txt" 2>"$T/qshape.err" || { not_ok "$3: qshape failed: $(cat "$T/qshape.err")"; return; }
        # shellcheck disable=SC2086
        "$MXDECK" queue shape --format json $2 >"$T/shape.json" || { not_ok "$3: mxdeck queue shape failed"; return; }
        if out=$(qq qshape-vs "$T/qshape.txt" "$T/shape.json"); then ok "$3"; else not_ok "$3: $out"; fi
}
shape_vs "deferred" "--queue deferred" "shape = qshape deferred"
shape_vs "-s deferred hold active" "--sender --queue deferred --queue hold --queue active" "shape --sender = qshape -s"
shape_vs "-p deferred" "--parent --queue deferred" "shape --parent = qshape -p"
shape_vs "-l -t 10 -b 6 deferred" "--linear --tick 10 --buckets 6 --queue deferred" "linear buckets = qshape -l"
shape_vs "-t 10 -b 12 deferred" "--tick 10 --buckets 12 --queue deferred" "other buckets = qshape -t 10 -b 12"
"$MXDECK" queue shape --queue deferred >"$T/shape.txt" || not_ok "shape (text)"
expect_match "$(head -1 "$T/shape.txt" | tr -s ' ')" "^ T 5 10 20 40 80 160 320 640 1280 1280\+$" "shape text header"
expect_match "$(sed -n 2p "$T/shape.txt" | tr -s ' ')" "^ TOTAL " "TOTAL on top"

# 4. list filters.
"$MXDECK" queue list --format json --sender bob@lab.test >"$T/l.json"
expect_eq "$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["messages"]))' "$T/l.json")" 3 "list --sender exact"
"$MXDECK" queue list --format json --older-than 1h >"$T/l.json"
expect_eq "$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["messages"]))' "$T/l.json")" 2 "list --older-than 1h"
"$MXDECK" queue list --format json --reason 'connection refused' --domain .d.example >"$T/l.json"
expect_eq "$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["messages"]))' "$T/l.json")" 1 "list --reason + --domain .parent"

# 5. show: postcat output, terminal-safe.
esc_id=$(qq ids-from dave@lab.test <"$T/pq.json")
"$MXDECK" queue show "$esc_id" >"$T/show.txt" || not_ok "queue show"
expect_match "$(cat "$T/show.txt")" "ENVELOPE RECORDS" "show: the envelope"
expect_match "$(cat "$T/show.txt")" "Subject: .*red" "show: the headers"
expect_no_escape "$T/show.txt" "show: no escape sequence reaches the terminal"

# 6. Actions. Safety first: nothing may change in any of these.
pqj
qq ids <"$T/pq.json" >"$T/before.ids"
unchanged() { postqueue -j | qq ids >"$T/after.ids"; cmp -s "$T/before.ids" "$T/after.ids"; }
"$MXDECK" queue delete --sender bob@lab.test --dry-run >"$T/dry.txt"; rc=$?
expect_eq "$rc" 0 "dry run: exit 0"
expect_match "$(head -1 "$T/dry.txt")" "^Would delete 3 messages:" "dry run: the count first"
expect_eq "$(grep -c ' bob@lab.test -> ' "$T/dry.txt")" 3 "dry run: lists exactly the messages"
unchanged && ok "dry run changed nothing" || not_ok "dry run changed the queue"
"$MXDECK" queue delete --sender bob@lab.test </dev/null >"$T/out.txt" 2>"$T/err.txt"; rc=$?
expect_eq "$rc" 1 "delete without a terminal and without --yes: refused"
expect_match "$(cat "$T/err.txt")" "add --yes" "refusal says how"
unchanged && ok "refused delete changed nothing" || not_ok "refused delete changed the queue"
"$MXDECK" queue delete --yes </dev/null >"$T/out.txt" 2>"$T/err.txt"; rc=$?
expect_eq "$rc" 2 "an empty filter is a usage error, never ALL"
expect_match "$(cat "$T/err.txt")" "--all" "the usage error names --all"
"$MXDECK" queue delete ALL --yes </dev/null >/dev/null 2>&1; rc=$?
expect_eq "$rc" 2 "the id ALL is refused"
printf '[queue]\nread_only = yes\n' >"$T/ro.conf"
"$MXDECK" queue delete --sender bob@lab.test --yes --config "$T/ro.conf" >/dev/null 2>"$T/err.txt"; rc=$?
expect_eq "$rc" 1 "read_only settings: refused"
"$MXDECK" queue flush --config "$T/ro.conf" >/dev/null 2>&1; rc=$?
expect_eq "$rc" 1 "read_only settings: flush refused"
unchanged && ok "read-only: nothing changed" || not_ok "read-only changed the queue"

# delete by sender: exactly bob's three, xbob's stays.
mapfile -t bob_ids < <(qq ids-from bob@lab.test <"$T/pq.json")
xbob=$(qq ids-from xbob@lab.test <"$T/pq.json")
"$MXDECK" queue delete --sender bob@lab.test --yes </dev/null >"$T/out.txt" 2>&1; rc=$?
expect_eq "$rc" 0 "delete --sender --yes: exit 0"
expect_match "$(cat "$T/out.txt")" "delete: 3 of 3 messages" "delete reports postsuper's count"
pqj
expect_eq "$(qq ids-from bob@lab.test <"$T/pq.json" | wc -l)" 0 "bob's messages are gone"
expect_eq "$(qq queue-of "$xbob" <"$T/pq.json")" deferred "xbob's message stays"
expect_eq "$(qq count <"$T/pq.json")" $((n - 3)) "exactly three messages fewer"
n=$((n - 3))

# hold by domain, release by id.
mapfile -t b_ids < <(qq ids-to-domain b.example <"$T/pq.json")
"$MXDECK" queue hold --domain b.example >"$T/out.txt" 2>&1 || not_ok "hold --domain"
pqj
expect_eq "$(qq queue-of "${b_ids[0]}" <"$T/pq.json")" hold "hold --domain: in the hold queue"
expect_eq "$(qq count hold <"$T/pq.json")" "${#b_ids[@]}" "hold --domain: exactly those"
"$MXDECK" queue release "${b_ids[0]}" >"$T/out.txt" 2>&1 || not_ok "release ID"
pqj
rq=$(qq queue-of "${b_ids[0]}" <"$T/pq.json")
[ "$rq" != hold ] && [ "$rq" != gone ] && ok "release: out of hold ($rq)" || not_ok "release: $rq"
expect_eq "$(qq count hold <"$T/pq.json")" $(( ${#b_ids[@]} - 1 )) "release: the others stay held"

# direct reading = postqueue -j with held mail too
"$MXDECK" queue list --format json --source files >"$T/files.json" || not_ok "list --source files"
"$MXDECK" queue list --format json --source postqueue >"$T/pq-list.json" || not_ok "list --source postqueue"
if out=$(qq same-list "$T/files.json" "$T/pq-list.json"); then ok "direct read = postqueue -j (hold, active, deferred)"; else not_ok "direct read differs: $out"; fi

# a gone id is reported, the rest still done.
"$MXDECK" queue requeue "${bob_ids[0]}" "${alice_ids[4]}" >"$T/out.txt" 2>&1; rc=$?
expect_eq "$rc" 0 "requeue with one id gone: exit 0"
expect_match "$(cat "$T/out.txt")" "${bob_ids[0]}: not in the queue" "the gone id is reported"
expect_match "$(cat "$T/out.txt")" "requeue: 1 of 1 messages" "the other one is requeued"
pqj
# postsuper -r moves it to maildrop; pickup takes it from there in its own time
expect_match "$(qq queue-of "${alice_ids[4]}" <"$T/pq.json")" "^(maildrop|incoming|active|deferred)$" "requeue: the message is queued again"

# expire: forced expiration, then returned to the sender by the queue manager.
"$MXDECK" queue expire "${alice_ids[5]}" --yes >"$T/out.txt" 2>&1 || not_ok "expire ID: $(cat "$T/out.txt")"
pqj
st=$(qq expired "${alice_ids[5]}" <"$T/pq.json")
[ "$st" = true ] || [ "$st" = gone ] && ok "expire: marked or already returned ($st)" || not_ok "expire: $st"

# 7. The queue.* checks, with the sender-burst pattern.
printf '[queue]\nsender_burst_messages = 5\nsender_burst_percent = 30\ndeferred_warning = 3\ndeferred_critical = 100\n' >"$T/burst.conf"
"$MXDECK" check --only queue --format json --config "$T/burst.conf" >"$T/check.json"
st() { python3 "$here/jsonq.py" status "$1" <"$T/check.json"; }
expect_eq "$(st queue.size)" ok "queue.size ok"
expect_eq "$(st queue.oldest)" critical "queue.oldest: 25 h in deferred is critical"
expect_eq "$(st queue.deferred)" warning "queue.deferred over the warning threshold"
expect_match "$(python3 "$here/jsonq.py" field queue.deferred detail <"$T/check.json")" "Connection refused" "queue.deferred: the top reason"
expect_eq "$(st queue.sender-burst)" warning "queue.sender-burst: alice holds most of the queue"
expect_match "$(python3 "$here/jsonq.py" field queue.sender-burst remedy <"$T/check.json")" "mxdeck queue delete --sender alice@lab.test" "sender-burst remedy"

# flush: postqueue -f / -s SITE (the site must be one Postfix has a fast-flush list for).
# postqueue is wrapped to record how it is called, and the deferred files' times show
# whether Postfix tried again (a deferred file's mtime is its next retry time, and this
# lab's backoff keeps Postfix from trying on its own while the test runs).
mv /usr/sbin/postqueue /usr/sbin/postqueue.real || fail "cannot wrap postqueue"
printf '#!/bin/sh\necho "$*" >>%s/postqueue.calls\nexec /usr/sbin/postqueue.real "$@"\n' "$T" >/usr/sbin/postqueue
chmod 755 /usr/sbin/postqueue
deferred_times() { find /var/spool/postfix/deferred -type f -printf '%f %T@\n' | sort; }
deferred_times >"$T/times.before"
"$MXDECK" queue flush --dry-run >"$T/out.txt" 2>&1; rc=$?
expect_eq "$rc" 0 "flush --dry-run: exit 0"
expect_match "$(cat "$T/out.txt")" "would run postqueue -f .*Nothing was changed" "flush --dry-run: says what would run"
grep -qE -- '(^| )-[fs]( |$)' "$T/postqueue.calls" 2>/dev/null && not_ok "flush --dry-run ran postqueue -f or -s: $(cat "$T/postqueue.calls")" ||
        ok "flush --dry-run did not ask Postfix to flush"
"$MXDECK" queue flush --site a.example --dry-run >"$T/out.txt" 2>&1
expect_match "$(cat "$T/out.txt")" "would run postqueue -s a\.example" "flush --site --dry-run: the site's command"
postconf -e fast_flush_domains=a.example && postfix reload >/dev/null 2>&1
"$MXDECK" queue flush --site a.example >"$T/out.txt" 2>&1; rc=$?
expect_eq "$rc" 0 "flush --site a.example: exit 0 ($(cat "$T/out.txt"))"
expect_match "$(cat "$T/out.txt")" "deliver the mail for a\.example now" "flush --site: says what it did"
grep -qx -- '-s a.example' "$T/postqueue.calls" && ok "flush --site ran postqueue -s a.example" ||
        not_ok "postqueue calls: $(cat "$T/postqueue.calls")"
"$MXDECK" queue flush >"$T/out.txt" 2>&1; rc=$?
expect_eq "$rc" 0 "flush: exit 0"
expect_match "$(cat "$T/out.txt")" "retry the deferred mail now" "flush: says what it did"
grep -qx -- '-f' "$T/postqueue.calls" && ok "flush ran postqueue -f" || not_ok "postqueue calls: $(cat "$T/postqueue.calls")"
all_retried() { # every message deferred before has a new retry time, or has left the queue
        deferred_times >"$T/times.now"
        python3 - "$T/times.before" "$T/times.now" <<'PY'
import sys
old = dict(l.split() for l in open(sys.argv[1]))
new = dict(l.split() for l in open(sys.argv[2]))
# (a message expired earlier is returned to its sender on this try: it leaves the queue)
sys.exit(0 if any(k in new for k in old) and all(k not in new or new[k] != v for k, v in old.items()) else 1)
PY
}
wait_for 60 all_retried && ok "after the flush Postfix tried every deferred message again ($(wc -l <"$T/times.before"))" ||
        not_ok "the deferred messages were not retried: $(diff "$T/times.before" "$T/times.now" | head -4)"
mv /usr/sbin/postqueue.real /usr/sbin/postqueue
"$MXDECK" queue flush --site -x >/dev/null 2>&1; rc=$?
expect_eq "$rc" 2 "flush --site with an option-like value: usage error"

# 8. delete --all deletes everything there is, by id.
"$MXDECK" queue delete --all --yes >"$T/out.txt" 2>&1 || not_ok "delete --all"
expect_eq "$(postqueue -j | qq count)" 0 "delete --all: the queue is empty"

# 9. On a terminal: y/N up to 100 messages, the count typed back above 100.
command -v script >/dev/null || fail "script(1) (util-linux) is needed for the terminal tests"
on_tty() { # on_tty INPUT CMD...: runs CMD on a pseudo-terminal fed INPUT
        local input=$1
        shift
        printf '%s\n' "$input" | script -qec "$(printf '%q ' "$@")" /dev/null
}
python3 - <<'PY' || fail "could not send 101 messages"
import smtplib
s = smtplib.SMTP("127.0.0.1", 25)
for i in range(101):
    s.sendmail("mallory@lab.test", ["r%d@a.example" % i], "Subject: %d\r\n\r\nx\r\n" % i)
s.sendmail("trent@lab.test", ["t@a.example"], "Subject: t\r\n\r\nx\r\n")
s.quit()
PY
n=102
wait_for 60 settled || fail "the 101 messages did not settle: $(postqueue -j | qq count)"
on_tty 100 "$MXDECK" queue delete --sender mallory@lab.test >"$T/tty.txt" 2>&1
expect_match "$(cat "$T/tty.txt")" "Type the number of messages \(101\)" "tty: more than 100 messages want the count typed"
expect_eq "$(postqueue -j | qq count)" 102 "tty: a wrong count changes nothing"
one=$(postqueue -j | qq ids-from trent@lab.test)
on_tty n "$MXDECK" queue delete "$one" >"$T/tty.txt" 2>&1
expect_match "$(cat "$T/tty.txt")" "\[y/N\]" "tty: a few messages want y/N"
expect_eq "$(postqueue -j | qq queue-of "$one")" deferred "tty: 'n' changes nothing"
on_tty y "$MXDECK" queue delete "$one" >"$T/tty.txt" 2>&1
expect_eq "$(postqueue -j | qq queue-of "$one")" gone "tty: 'y' deletes"
# A message that goes while the administrator reads the question (delivered meanwhile):
# the ids are checked again just before postsuper; the one gone is reported, the rest are
# acted on. The terminal's input is a FIFO the test writes once the question is shown.
victim=$(postqueue -j | qq ids-from mallory@lab.test | head -1)
[ -n "$victim" ] || fail "no message of mallory's to remove"
mkfifo "$T/tty.in"
script -qec "$(printf '%q ' "$MXDECK" queue delete --sender mallory@lab.test)" /dev/null <"$T/tty.in" >"$T/tty.txt" 2>&1 &
tty_pid=$!
exec 7>"$T/tty.in"
asked() { grep -q "Type the number of messages (101)" "$T/tty.txt"; }
wait_for 60 asked || not_ok "no question: $(cat "$T/tty.txt")"
postsuper -d "$victim" >/dev/null 2>&1
expect_eq "$(postqueue -j | qq queue-of "$victim")" gone "one of the 101 removed while the question waits"
echo 101 >&7
exec 7>&-
wait "$tty_pid"; rc=$?
expect_eq "$rc" 0 "tty: the action succeeds for the rest"
expect_match "$(cat "$T/tty.txt")" "$victim: no longer in the queue" "the message gone meanwhile is reported by id"
expect_match "$(cat "$T/tty.txt")" "100 of 101 messages \(1 already gone\)" "the other 100 are deleted"
expect_eq "$(postqueue -j | qq count)" 0 "tty: the right count typed back deletes them all"
finish
