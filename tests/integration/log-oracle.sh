#!/usr/bin/env bash
# The mail log engine against its oracle: real Postfix + Dovecot + journald in a lab host,
# real traffic (swaks, IMAP and POP3 logins), then pflogsumm and `mxdeck log stats` on the
# same saved log: every Grand Totals figure must be equal, in traditional and RFC 3339
# timestamp form, and the journal read directly must give the same totals. Then trace,
# user, tail and the log.* findings on the same traffic.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
in_lab_or_reexec --hostname mail.lab.test -- "$0" "$@"
[ -n "${LOG_ORACLE_TRACE:-}" ] && set -x

command -v swaks >/dev/null || fail "swaks is not installed (scripts/bootstrap installs it)"
command -v pflogsumm >/dev/null || fail "pflogsumm is not installed (scripts/bootstrap installs it)"
T=$(mktemp -d /tmp/mxdeck-log-oracle.XXXXXX)
note "work directory $T (removed when the test passes)"
totals() { python3 "$here/../log/logtotals.py" "$@"; }
jq_() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print($2)" "$1"; }
echo "127.0.0.1 mail.lab.test mail" >>/etc/hosts

# ---- Postfix: virtual mailboxes in lab.test delivered over LMTP to Dovecot; SASL through
# Dovecot; submission passes a "content filter" that is Postfix itself on 10025, so mail
# is re-injected ("queued as"); unreachable.test defers (nothing on 2525); the filter's
# listener refuses bounce.test, so that mail bounces; header checks hold, discard and reject; a HELO without a
# dot is a reject warning; messages over 20000 bytes are refused. ----
openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj /CN=mail.lab.test \
        -keyout /etc/postfix/lab.key -out /etc/postfix/lab.pem 2>/dev/null || fail "cannot make a certificate"
chmod 600 /etc/postfix/lab.key
groupadd -g 5000 vmail && useradd -u 5000 -g 5000 -d /var/mail/vhosts -M -s /usr/sbin/nologin vmail ||
        fail "cannot add the vmail user"
mkdir -p /var/mail/vhosts && chown vmail:vmail /var/mail/vhosts
cat >/etc/postfix/main.cf <<'CF'
compatibility_level = 3.6
myhostname = mail.lab.test
mydomain = lab.test
mydestination = $myhostname, localhost
inet_interfaces = loopback-only
inet_protocols = ipv4
mynetworks = 127.0.0.1/32
alias_maps = hash:/etc/aliases
alias_database = hash:/etc/aliases
virtual_mailbox_domains = lab.test
virtual_mailbox_maps = hash:/etc/postfix/vmailbox
virtual_transport = lmtp:unix:private/dovecot-lmtp
transport_maps = hash:/etc/postfix/transport
smtpd_tls_cert_file = /etc/postfix/lab.pem
smtpd_tls_key_file = /etc/postfix/lab.key
smtpd_tls_security_level = may
smtpd_sasl_type = dovecot
smtpd_sasl_path = private/auth
smtpd_relay_restrictions = permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination
smtpd_helo_required = yes
smtpd_recipient_restrictions = warn_if_reject reject_non_fqdn_helo_hostname
header_checks = regexp:/etc/postfix/header_checks
message_size_limit = 20000
maximal_backoff_time = 3600s
minimal_backoff_time = 3600s
smtp_dns_support_level = disabled
CF
printf 'alice@lab.test x\nbob@lab.test x\n' >/etc/postfix/vmailbox
printf 'unreachable.test smtp:[127.0.0.1]:2525\n' >/etc/postfix/transport
printf '/@bounce\\.test$/ REJECT no such user here\n' >/etc/postfix/bounce_access
printf '/^Subject: HOLDME/ HOLD\n/^Subject: DISCARDME/ DISCARD\n/^Subject: REJECTME/ REJECT no thanks\n' \
        >/etc/postfix/header_checks
postmap /etc/postfix/vmailbox /etc/postfix/transport && newaliases || fail "postmap failed"
postconf -M submission/inet="submission inet n - y - - smtpd"
postconf -P submission/inet/smtpd_tls_security_level=encrypt submission/inet/smtpd_sasl_auth_enable=yes \
        "submission/inet/smtpd_relay_restrictions=permit_sasl_authenticated,reject" \
        "submission/inet/content_filter=smtp:[127.0.0.1]:10025" submission/inet/syslog_name=postfix/submission
postconf -M 127.0.0.1:10025/inet="127.0.0.1:10025 inet n - y - - smtpd"
postconf -P "127.0.0.1:10025/inet/content_filter=" \
        "127.0.0.1:10025/inet/smtpd_recipient_restrictions=check_recipient_access,regexp:/etc/postfix/bounce_access" \
        "127.0.0.1:10025/inet/smtpd_relay_restrictions=permit_mynetworks,reject"

# ---- Dovecot: passwd-file users, LMTP for Postfix, the auth socket for SASL. ----
sed -i 's/^!include auth-system.conf.ext/#&/' /etc/dovecot/conf.d/10-auth.conf
printf 'alice@lab.test:{PLAIN}alice-secret:5000:5000::/var/mail/vhosts/lab.test/alice::\nbob@lab.test:{PLAIN}bob-secret:5000:5000::/var/mail/vhosts/lab.test/bob::\n' \
        >/etc/dovecot/lab-users
cat >/etc/dovecot/local.conf <<'CF'
protocols = imap pop3 lmtp
listen = 127.0.0.1
ssl = yes
ssl_cert = </etc/postfix/lab.pem
ssl_key = </etc/postfix/lab.key
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:/var/mail/vhosts/%d/%n
passdb {
  driver = passwd-file
  args = scheme=PLAIN /etc/dovecot/lab-users
}
userdb {
  driver = passwd-file
  args = /etc/dovecot/lab-users
}
service auth {
  unix_listener /var/spool/postfix/private/auth {
    mode = 0666
  }
}
service lmtp {
  unix_listener /var/spool/postfix/private/dovecot-lmtp {
    mode = 0666
  }
}
CF
mkdir -p /etc/dovecot/private
ln -sf /etc/postfix/lab.pem /etc/dovecot/private/dovecot.pem
ln -sf /etc/postfix/lab.key /etc/dovecot/private/dovecot.key
postfix start >/dev/null 2>&1 || fail "postfix start failed: $(postfix check 2>&1 | tail -3)"
dovecot || fail "dovecot failed to start: $(doveconf -n 2>&1 | tail -3)"
for p in 25 587 10025 143 993 110 995; do
        wait_for_port "$p" 10 || fail "nothing listens on $p"
done

# ---- Traffic ----
sw() { swaks --server 127.0.0.1 --timeout 20 "$@" >>"$T/swaks.log" 2>&1; }
auth=(--port 587 --tls --auth PLAIN --auth-user alice@lab.test --auth-password alice-secret --from alice@lab.test)
for i in 1 2 3; do
        sw "${auth[@]}" --to bob@lab.test --header "Subject: hello $i" --header "Message-Id: <oracle-$i@lab.test>" ||
                not_ok "authenticated submission $i was refused"
done
sw "${auth[@]}" --to friend@unreachable.test --header "Message-Id: <oracle-defer@lab.test>" || not_ok "submission to unreachable.test"
sw "${auth[@]}" --to nobody@bounce.test --header "Message-Id: <oracle-bounce@lab.test>" || not_ok "submission to bounce.test"
sw --port 25 --from carol@example.org --to bob@lab.test --header "Subject: HOLDME" || not_ok "mail to be held"
sw --port 25 --from carol@example.org --to bob@lab.test --header "Subject: DISCARDME" || not_ok "mail to be discarded"
sw --port 25 --from carol@example.org --to bob@lab.test --header "Subject: REJECTME" && not_ok "header REJECT accepted"
sw --port 25 --from dave@Example.NET --to Bob@LAB.test --helo nodot || not_ok "reject_warning mail refused"
sw --port 25 --from carol@example.org --to nobody@lab.test && not_ok "unknown user accepted"
sw --port 25 --local-interface 127.0.0.2 --from eve@example.org --to victim@example.com && not_ok "relay accepted"
sw --port 25 --from carol@example.org --to bob@lab.test --body "$(head -c 30000 /dev/zero | tr '\0' x)" &&
        not_ok "oversized mail accepted"
for i in 1 2; do
        sw --port 587 --tls --auth LOGIN --auth-user alice@lab.test --auth-password wrong --from alice@lab.test \
                --to bob@lab.test && not_ok "wrong password accepted"
done
printf 'Subject: from pickup\n\nlocal mail\n' | sendmail -f root bob@lab.test || not_ok "sendmail (pickup)"
python3 - <<'PY' || not_ok "IMAP/POP3 logins"
import imaplib, poplib, ssl
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
m = imaplib.IMAP4("127.0.0.1"); m.login("bob@lab.test", "bob-secret"); m.logout()
m = imaplib.IMAP4_SSL("127.0.0.1", ssl_context=ctx); m.login("bob@lab.test", "bob-secret"); m.logout()
for mod in ("imap", "pop3"):
    try:
        if mod == "imap":
            m = imaplib.IMAP4("127.0.0.1"); m.login("bob@lab.test", "nope")
        else:
            p = poplib.POP3("127.0.0.1"); p.user("bob@lab.test"); p.pass_("nope")
        raise SystemExit("a wrong password was accepted")
    except (imaplib.IMAP4.error, poplib.error_proto):
        pass
p = poplib.POP3_SSL("127.0.0.1", context=ctx); p.user("alice@lab.test"); p.pass_("alice-secret"); p.quit()
PY

# Settled: only the deferred and the held message are left in the queue, and the six
# deliveries (3 to bob, the reject-warned one, the pickup, the bounce to alice) are saved.
settled() {
        [ "$(postqueue -j 2>/dev/null | wc -l)" = 2 ] || return 1
        [ "$(journalctl -q -o cat SYSLOG_IDENTIFIER=dovecot 2>/dev/null | grep -c 'saved mail to')" -ge 6 ]
}
wait_for 60 settled || not_ok "the queue did not settle: $(postqueue -p | tail -3); $(journalctl -q -o cat | grep -c 'saved mail')"
# journald writes what it received before it answers a client: a round trip through it.
journalctl --sync 2>/dev/null || true
journalctl -q -o short --no-pager >"$T/mail.log"
# rsyslog's RFC 3339 form has a colon in the offset (journalctl writes +0000).
journalctl -q -o short-iso-precise --no-pager | sed -E 's/^([0-9T:.-]+[+-][0-9]{2})([0-9]{2}) /\1:\2 /' >"$T/mail-iso.log"
cp "$T/mail.log" /tmp/mxdeck-log-oracle.log 2>/dev/null || true
note "$(wc -l <"$T/mail.log") log lines"

# ---- The oracle: pflogsumm vs mxdeck on the same file ----
pflogsumm "$T/mail.log" >"$T/pflog.txt" 2>"$T/pflog.err" || fail "pflogsumm failed: $(head -3 "$T/pflog.err")"
totals pflogsumm "$T/pflog.txt" >"$T/pflog.totals"
"$MXDECK" log stats --file "$T/mail.log" --format json --unparsed "$T/unparsed.txt" >"$T/mx.json" ||
        fail "mxdeck log stats failed"
totals mxdeck "$T/mx.json" >"$T/mx.totals" || fail "mxdeck's JSON does not have the totals keys"
while read -r key want; do
        got=$(awk -v k="$key" '$1 == k { print $2 }' "$T/mx.totals")
        expect_eq "$got" "$want" "traditional timestamps: $key equals pflogsumm's"
done <"$T/pflog.totals"
# The traffic made each kind happen at least once, so equality is not 0 = 0.
for key in received delivered deferred bounced rejected reject_warnings held discarded bytes_received senders; do
        v=$(awk -v k="$key" '$1 == k { print $2 }' "$T/mx.totals")
        [ "${v:-0}" != 0 ] && ok "the traffic produced $key ($v)" || not_ok "the traffic produced no $key"
done
expect_eq "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["lines"]["unparsed"])' "$T/mx.json")" 0 \
        "no line of real Postfix/Dovecot output is unparsed"

pflogsumm "$T/mail-iso.log" >"$T/pflog-iso.txt" 2>/dev/null || fail "pflogsumm (RFC 3339) failed"
totals pflogsumm "$T/pflog-iso.txt" >"$T/pflog-iso.totals"
"$MXDECK" log stats --file "$T/mail-iso.log" --format json >"$T/mx-iso.json" || fail "mxdeck log stats (RFC 3339)"
totals mxdeck "$T/mx-iso.json" >"$T/mx-iso.totals"
expect_eq "$(cat "$T/mx-iso.totals")" "$(cat "$T/pflog-iso.totals")" "RFC 3339 timestamps: all totals equal pflogsumm's"
expect_eq "$(cat "$T/mx-iso.totals")" "$(cat "$T/mx.totals")" "the same log in either timestamp form gives the same totals"

# The same events straight from the journal (sd-journal), and gzip'd rotated files.
"$MXDECK" log stats --format json >"$T/mx-journal.json" || fail "mxdeck log stats (journal) failed"
totals mxdeck "$T/mx-journal.json" >"$T/mx-journal.totals"
expect_eq "$(cat "$T/mx-journal.totals")" "$(cat "$T/mx.totals")" "the journal gives the same totals as the file"
expect_match "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["source"])' "$T/mx-journal.json")" \
        "^journal" "without --file the journal is the source"
# A journal of several of the reader's stretches (every 8192 entries it gives back the
# pages of sd-journal's mappings, which sd-journal then faults in again): every entry read
# once, the same totals as the same lines from a file.
if [ -x /lib/systemd/systemd-journal-remote ]; then
        python3 "$here/../bench/gen-maillog.py" "$here/../data/log/lab.log" 40000 "$T/big.export" --export
        python3 "$here/../bench/gen-maillog.py" "$here/../data/log/lab.log" 40000 "$T/big.log"
        /lib/systemd/systemd-journal-remote -o "$T/big.journal" - <"$T/big.export" 2>/dev/null ||
                not_ok "systemd-journal-remote failed"
        "$MXDECK" log stats --format json --journal-file "$T/big.journal" >"$T/big-j.json" &&
                "$MXDECK" log stats --format json --no-rotated --file "$T/big.log" >"$T/big-f.json" ||
                not_ok "mxdeck log stats on 40,000 lines failed"
        expect_eq "$(totals mxdeck "$T/big-j.json")" "$(totals mxdeck "$T/big-f.json")" \
                "40,000 entries from a journal (5 stretches) give the totals of the same lines from a file"
        expect_eq "$(jq_ "$T/big-j.json" 'd["lines"]["total"]')" 40000 "all 40,000 journal entries read once"
        rm -f "$T/big.export" "$T/big.journal" "$T/big.log"
else
        note "systemd-journal-remote is not installed: the long journal is not read"
fi
mkdir "$T/rot"
half=$(($(wc -l <"$T/mail.log") / 2))
head -n "$half" "$T/mail.log" | gzip >"$T/rot/mail.log.1.gz"
tail -n +"$((half + 1))" "$T/mail.log" >"$T/rot/mail.log"
touch -d '-1 hour' "$T/rot/mail.log.1.gz"
"$MXDECK" log stats --file "$T/rot/mail.log" --format json >"$T/mx-rot.json" || fail "mxdeck log stats (rotated)"
expect_eq "$(totals mxdeck "$T/mx-rot.json")" "$(cat "$T/mx.totals")" "a rotated, gzip'd sibling read first gives the same totals"

# Figures beyond pflogsumm, from the same traffic.
expect_eq "$(jq_ "$T/mx.json" 'd["counts"]["sasl_failures"]')" 2 "two SASL failures counted"
expect_eq "$(jq_ "$T/mx.json" 'd["sasl_failures_by_ip"][0]["ip"]')" 127.0.0.1 "SASL failures by client address"
expect_eq "$(jq_ "$T/mx.json" 'd["counts"]["login_failures"]')" 2 "two failed Dovecot logins"
expect_eq "$(jq_ "$T/mx.json" '" ".join("%s:%d:%d" % (u["user"], u["logins"], u["tls"]) for u in d["logins_by_user"])')" \
        "bob@lab.test:2:1 alice@lab.test:1:1" "logins per user, with TLS"
expect_match "$(jq_ "$T/mx.json" '"|".join(r["reason"] for r in d["top_reject_reasons"])')" "relay-denied: Relay access denied" \
        "reject reasons name relay denied"
expect_match "$(jq_ "$T/mx.json" '"|".join(r["reason"] for r in d["top_reject_reasons"])')" "unknown-user: " \
        "reject reasons name the unknown user class"
expect_match "$(jq_ "$T/mx.json" '"|".join(r["reason"] for r in d["top_deferral_reasons"])')" "Connection refused" \
        "deferral reasons"

# ---- trace: the submission, its re-injection by the filter, the LMTP save ----
"$MXDECK" log trace '<oracle-1@lab.test>' --file "$T/mail.log" >"$T/trace.txt" || not_ok "trace by Message-ID failed"
expect_eq "$(grep -c 'queued as' "$T/trace.txt")" 1 "trace follows the content filter's 'queued as'"
expect_eq "$(grep -c 'saved mail to INBOX' "$T/trace.txt")" 1 "trace shows the LMTP save"
expect_match "$(grep -c 'postfix/submission/smtpd.*connect from' "$T/trace.txt")" "^[12]$" "trace shows the smtpd session it came in on"
expect_eq "$(grep -c ': removed' "$T/trace.txt")" 2 "trace covers both queue ids to their removal"
qid=$(grep -m1 'oracle-bounce' "$T/mail.log" | sed -n 's/.*\]: \([0-9A-Za-z]*\): message-id=.*/\1/p')
"$MXDECK" log trace "$qid" --file "$T/mail.log" >"$T/trace-b.txt" || not_ok "trace by queue id failed"
expect_match "$(cat "$T/trace-b.txt")" "sender non-delivery notification" "trace by queue id shows the bounce it caused"
expect_match "$(cat "$T/trace-b.txt")" "saved mail to INBOX" "... and that bounce's own delivery"

# The same trace as mxdeck.logtrace/1: both queue ids, the session, the save, in log order.
"$MXDECK" log trace '<oracle-1@lab.test>' --file "$T/mail.log" --format json >"$T/trace.json" ||
        not_ok "trace --format json failed"
expect_eq "$(jq_ "$T/trace.json" 'd["schema"]')" mxdeck.logtrace/1 "trace JSON: schema"
expect_eq "$(jq_ "$T/trace.json" 'len(d["queue_ids"])')" 2 "trace JSON: the submission's and the re-injected queue ids"
expect_eq "$(jq_ "$T/trace.json" 'd["message_ids"]')" "['oracle-1@lab.test']" "trace JSON: the Message-ID"
expect_eq "$(jq_ "$T/trace.json" 'len(d["events"])')" "$(grep -vc '^-- ' "$T/trace.txt")" "trace JSON: as many events as the text trace has lines"
expect_eq "$(jq_ "$T/trace.json" 'sum(1 for e in d["events"] if e["kind"] == "removed")')" 2 "trace JSON: both removals"
expect_eq "$(jq_ "$T/trace.json" '[e["new_queue_id"] in d["queue_ids"] for e in d["events"] if "new_queue_id" in e]')" "[True]" \
        "trace JSON: the filter hop's 'queued as' names the other queue id"
expect_eq "$(jq_ "$T/trace.json" '[e["kind"] for e in d["events"] if e["part"] == "session"][0]')" connect \
        "trace JSON: the session part starts at its connect"
expect_eq "$(jq_ "$T/trace.json" 'sorted(e["time"] for e in d["events"]) == [e["time"] for e in d["events"]]')" True \
        "trace JSON: events in time order"
expect_eq "$(jq_ "$T/trace.json" 'sum(1 for e in d["events"] if e.get("status") == "sent" and e["to"] == "bob@lab.test")')" 2 \
        "trace JSON: the two deliveries to bob (filter hop and LMTP) with status and recipient"

# ---- user ----
"$MXDECK" log user bob@lab.test --file "$T/mail.log" >"$T/user.txt" || not_ok "log user failed"
expect_match "$(cat "$T/user.txt")" "2  logins, 2 failed" "user: logins and failures (IMAP and POP3)"
expect_match "$(grep 'messages received' "$T/user.txt")" "^ +5 " "user: messages received (final deliveries only, not the filter hop)"

"$MXDECK" log user bob@lab.test --file "$T/mail.log" --format json >"$T/user.json" || not_ok "log user --format json failed"
expect_eq "$(jq_ "$T/user.json" 'd["schema"]')" mxdeck.loguser/1 "user JSON: schema"
expect_eq "$(jq_ "$T/user.json" '"%(received)d %(logins)d %(login_failures)d %(rejected)d" % d["totals"]')" \
        "$(sed -nE 's/^ +([0-9]+)  messages received.*/\1/p; s/^ +([0-9]+)  logins, ([0-9]+) failed.*/\1 \2/p; s/^ +([0-9]+)  rejected.*/\1/p' "$T/user.txt" | tr '\n' ' ' |
           awk '{ print $1, $3, $4, $2 }')" "user JSON: the same totals as the text"
expect_eq "$(jq_ "$T/user.json" '[(a["address"], a["logins"], a["failures"]) for a in d["logins_from"]]')" "[('127.0.0.1', 2, 2)]" \
        "user JSON: logins and failures by address"
expect_eq "$(jq_ "$T/user.json" 'len(d["events"]) + d["events_omitted"]')" "$(grep -cE '^[a-z_-]+ +[A-Z0-9]' "$T/user.txt")" \
        "user JSON: one event per line of the text view"

# ---- tail: kinds, grep, terminal-safe ----
"$MXDECK" log tail --file "$T/mail.log" -n 1000 --kind reject >"$T/tail.txt" || not_ok "log tail failed"
expect_eq "$(grep -c 'reject: ' "$T/tail.txt")" "$(jq_ "$T/mx.json" 'd["totals"]["rejected"]')" "tail --kind reject shows every reject"
"$MXDECK" log tail --file "$T/mail.log" --since '-1d' --grep 'status=deferred' >"$T/tail2.txt" || not_ok "tail --grep failed"
expect_eq "$(wc -l <"$T/tail2.txt")" "$(grep -c 'status=deferred' "$T/mail.log")" "tail --grep with --since"
logger -p mail.info -t postfix/smtpd -- "$(printf 'warning: evil \033[2J\033]0;owned\007 line')"
journalctl --sync 2>/dev/null || true
"$MXDECK" log tail -n 5 >"$T/tail3.txt" || not_ok "tail from the journal failed"
expect_match "$(cat "$T/tail3.txt")" "evil" "tail reads the journal"
expect_no_escape "$T/tail3.txt" "an escape sequence in a log line never reaches the terminal"

# ---- follow: a line logged after the start shows up (journal fd, no polling) ----
"$MXDECK" log tail --follow -n 0 >"$T/follow.txt" 2>&1 &
fpid=$!
# Bounded handshake instead of a sleep: log marker lines until the follower shows one.
ready=no
for i in $(seq 100); do
        logger -p mail.info -t postfix/qmgr -- "READY$i: removed"
        if grep -q READY "$T/follow.txt"; then ready=yes; break; fi
        sleep 0.1
done
expect_eq "$ready" yes "follow: the journal follower started"
logger -p mail.info -t postfix/qmgr -- "ABCDEF1234: removed"
wait_for 10 grep -q ABCDEF1234 "$T/follow.txt" && ok "follow shows a new journal line" || not_ok "follow: $(cat "$T/follow.txt")"
kill "$fpid" 2>/dev/null
wait "$fpid" 2>/dev/null

# ---- follow a file across rotation: renamed and recreated, then truncated in place ----
fl="$T/follow-file/mail.log"
mkdir -p "$T/follow-file"
: >"$fl"
"$MXDECK" log tail --follow -n 0 --file "$fl" >"$T/follow-file.txt" 2>&1 &
fpid=$!
ready=no
for i in $(seq 100); do
        echo "Dec  2 08:20:00 mail.lab.test postfix/qmgr[124]: FREADY$i: removed" >>"$fl"
        if grep -q FREADY "$T/follow-file.txt"; then ready=yes; break; fi
        sleep 0.1
done
expect_eq "$ready" yes "follow: the file follower started"
mv "$fl" "$fl.1"
echo "Dec  2 08:20:01 mail.lab.test postfix/qmgr[124]: AFTERMV1: removed" >>"$fl.1"
echo "Dec  2 08:20:02 mail.lab.test postfix/qmgr[124]: NEWFILE1: removed" >"$fl"
wait_for 10 grep -q NEWFILE1 "$T/follow-file.txt" && ok "follow: a line in the new file after rotation (rename)" ||
        not_ok "follow across rename: $(cat "$T/follow-file.txt")"
expect_eq "$(grep -c AFTERMV1 "$T/follow-file.txt")" 1 "follow: the last line written to the renamed file is not lost"
: >"$fl" # copytruncate
echo "Dec  2 08:20:03 mail.lab.test postfix/qmgr[124]: TRUNC1: removed" >>"$fl"
wait_for 10 grep -q TRUNC1 "$T/follow-file.txt" && ok "follow: a line after truncation (copytruncate)" ||
        not_ok "follow across truncation: $(cat "$T/follow-file.txt")"
kill "$fpid" 2>/dev/null
wait "$fpid" 2>/dev/null

# ---- the log.* findings ----
"$MXDECK" check --only log --format json >"$T/check.json"
check_field() { python3 "$here/jsonq.py" "$@" <"$T/check.json"; }
expect_eq "$(check_field status log.sasl-failures)" ok "2 SASL failures in the window: below the warning threshold"
expect_match "$(check_field field log.sasl-failures summary)" "4 authentication failures" "failures counted (SMTP and IMAP/POP3)"
expect_eq "$(check_field status log.warnings)" warning "a Postfix warning in the window"
logger -p mail.info -t postfix/smtpd -- "fatal: open database /etc/postfix/missing.db: No such file or directory"
logger -p mail.info -t postfix/local -- "warning: hash:/etc/aliases is unavailable. open database /etc/aliases.db: No such file or directory"
journalctl --sync 2>/dev/null || true
"$MXDECK" check --only log --format json >"$T/check.json"
expect_eq "$(check_field status log.warnings)" critical "a fatal line makes log.warnings critical"
expect_match "$(check_field field log.warnings remedy)" "newaliases" "remedy for hash:/etc/aliases is unavailable"
expect_match "$(check_field field log.warnings remedy)" "postmap /etc/postfix/missing" "remedy for a missing .db"
expect_eq "$(check_field status log.deliverability)" ok "no refusals from the big providers"
# The big providers' refusals as Postfix logs them (replies as the providers word them):
# each is told apart, and each comes with what to do.
refuse() { logger -p mail.info -t postfix/smtp -- "$1: to=<$2>, relay=$3[192.0.2.9]:25, delay=1.2, delays=0.1/0/0.6/0.5, dsn=$4, status=$5 (host $3[192.0.2.9] said: $6)"; }
refuse 3A1B2C3D4E fan@qq.com mx3.qq.com 5.0.0 bounced \
        "550 Mail content denied. http://service.mail.qq.com/cgi-bin/help?subtype=1&&id=20022&&no=1000726 (in reply to end of DATA command)"
refuse 3A1B2C3D4F reader@163.com 163mx01.mxmail.netease.com 4.0.0 deferred \
        "451 RP:CEL 220.181.12.180 http://mail.163.com/help/help_spam_16.htm?ip=192.0.2.1 (in reply to RCPT TO command)"
refuse 3A1B2C3D50 pen@gmail.com gmail-smtp-in.l.google.com 5.7.26 bounced \
        "550-5.7.26 This mail has been blocked because the sender is unauthenticated. Gmail requires all senders to authenticate with either SPF or DKIM. (in reply to end of DATA command)"
refuse 3A1B2C3D51 pal@outlook.com outlook-com.olc.protection.outlook.com 5.7.1 bounced \
        "550 5.7.1 Unfortunately, messages from [192.0.2.1] weren't sent. Please contact your Internet service provider since part of their network is on our block list (S3150). (in reply to MAIL FROM command)"
journalctl --sync 2>/dev/null || true
"$MXDECK" check --only log --format json >"$T/check.json"
expect_eq "$(check_field status log.deliverability)" warning "provider refusals make log.deliverability a warning"
detail=$(check_field field log.deliverability detail)
expect_match "$detail" "QQ: 1 x content refused: .*Mail content denied" "QQ's 'Mail content denied' is a content refusal"
expect_match "$detail" "NetEase \(163/126\): 1 x rate limiting: .*RP:CEL" "163's RP:CEL is rate limiting"
expect_match "$detail" "Gmail: 1 x SPF/DKIM/DMARC failure" "Gmail's 5.7.26 is an authentication failure"
expect_match "$detail" "Outlook: 1 x address on a blocklist: .*S3150" "Outlook's S3150 is a blocklisting"
remedy=$(check_field field log.deliverability remedy)
for want in "destination_rate_delay" "personal messages" "sign with DKIM and publish the key" "delisting"; do
        expect_match "$remedy" "$want" "log.deliverability remedy: $want"
done

# ---- journald's rate limiting, for real: a low limit, a flood from a postfix/smtpd tag ----
# journald limits per unit, taken from the sender's cgroup (below PID 1's: the lab's init),
# in the hierarchy it reads: the unified one when there is one, else name=systemd.
if [ "$(stat -f -c %T /sys/fs/cgroup)" = cgroup2fs ]; then
        hier=/sys/fs/cgroup line=0:
elif [ "$(stat -f -c %T /sys/fs/cgroup/unified 2>/dev/null)" = cgroup2fs ]; then
        hier=/sys/fs/cgroup/unified line=0:
else
        hier=/sys/fs/cgroup/systemd line=name=systemd
fi
cgroot=$(grep -m1 "^[0-9]*:$line:" /proc/1/cgroup | cut -d: -f3-)
flood_cg="$hier${cgroot%/}/postfix-lab-flood.service"
mkdir -p /etc/systemd/journald.conf.d
printf '[Journal]\nRateLimitIntervalSec=1s\nRateLimitBurst=5\n' >/etc/systemd/journald.conf.d/zz-ratelimit.conf
# journald 252 reads its configuration at start only: restart the lab's (PID namespace: the
# pid is the lab's), and wait until it answers.
jpid=$(pidof systemd-journald)
kill "$jpid" && wait_for 10 _gone "$jpid" || fail "the lab's journald did not stop"
setsid /lib/systemd/systemd-journald </dev/null >/dev/null 2>&1 &
jup() { logger -t lab-probe journald-up; journalctl -q -o cat -t lab-probe 2>/dev/null | grep -q journald-up; }
wait_for 10 jup || fail "the lab's journald did not come back"
mkdir -p "$flood_cg" || fail "cannot create the cgroup $flood_cg (journald limits per unit)"
(
        echo "$BASHPID" >"$flood_cg/cgroup.procs" || exit 1
        seq 400 | sed 's/^/lab flood /' | logger -p mail.info -t postfix/smtpd # one process, a message a line
        # journald reports what it dropped at the first message of a later interval
        noticed() {
                logger -p mail.info -t postfix/smtpd -- "lab flood: after"
                journalctl -q -o cat -t systemd-journald 2>/dev/null | grep -q 'Suppressed [0-9]* messages from postfix-lab-flood'
        }
        wait_for 20 noticed
) || not_ok "no 'Suppressed N messages' notice from journald (cgroup $flood_cg)"
echo $$ >"$hier${cgroot%/}/cgroup.procs" 2>/dev/null
rmdir "$flood_cg" 2>/dev/null
want=$(journalctl -q -o cat -t systemd-journald | sed -n 's/^Suppressed \([0-9]*\) messages from postfix-lab-flood.*/\1/p' |
        awk '{ s += $1; n++ } END { print s + 0, n + 0 }')
[ "${want% *}" -gt 0 ] && ok "journald dropped ${want% *} messages in ${want#* } notices" || not_ok "journald dropped nothing"
"$MXDECK" log stats --format json >"$T/mx-sup.json" || not_ok "log stats after the flood"
expect_eq "$(jq_ "$T/mx-sup.json" '"%d %d" % (d["suppressed"]["messages"], d["suppressed"]["notices"])')" "$want" \
        "stats --format json: the suppressed messages and notices, as journald wrote them"
"$MXDECK" log stats >"$T/mx-sup.txt" || not_ok "log stats (text) after the flood"
expect_match "$(cat "$T/mx-sup.txt")" "journald dropped ${want% *} messages" "stats (text) says journald dropped messages"
"$MXDECK" log tail -n 100 --kind suppressed >"$T/tail-sup.txt" || not_ok "tail --kind suppressed"
expect_eq "$(grep -c 'Suppressed [0-9]* messages from postfix-lab-flood' "$T/tail-sup.txt")" "${want#* }" \
        "tail shows every suppression notice"

postfix stop >/dev/null 2>&1
doveadm stop 2>/dev/null
[ "$_tap_failed" = 0 ] && rm -rf "$T"
finish
