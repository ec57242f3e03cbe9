#!/usr/bin/env bash
# Verdicts an administrator can trust (issue 8), on real Postfix and Dovecot in a lab host,
# part 1: a correct server gets no false alarm (plaintext login on a VPS address, relaying
# through a mynetworks table), a broken one no silence (tables missing or stale, a
# restriction Postfix does not know, no AUTH on submission). Part 2 is
# check-verdicts-causes.sh. Each broken case: the verdict, its severity and explanation,
# then the remedy's commands run as printed (split into words, no shell) and the check run
# again.
set -u
here=$(cd "$(dirname "$0")" && pwd)
# Many checks in one lab: more than the default lab time, within meson's 300 s.
LAB_TIMEOUT=${LAB_TIMEOUT:-285}
. "$here/lib.sh"
in_lab_or_reexec --hostname mail.lab.test -- "$0" "$@"

. "$here/verdicts-setup.sh"

# ---- 0. A correct server: every new check is ok, and so is the whole report (DNS left
# out: the lab has no resolver; 'postfix check' gets time on a loaded machine). ----
step "0 correct server"
TIMEOUT=30 check --only service,config,port,tls,smtp,imap,pop3,cert,system
expect_eq "$(cat "$T/rc")" 0 "correct server: exit status 0"
for id in config.tables config.sasl smtp.local-recipient smtp.open-relay imap.plaintext-auth pop3.plaintext-auth; do
        expect_eq "$(status_of $id)" ok "correct server: $id"
done
expect_eq "$(status_of cert.files /etc/mxdeck-test-pki/cur.pem)" ok "correct server: cert.files"
expect_eq "$(status_of smtp.auth :587)" ok "correct server: smtp.auth on 587"
expect_eq "$(status_of smtp.auth :465)" ok "correct server: smtp.auth on 465"
expect_match "$(field_of smtp.auth summary :465)" "AUTH PLAIN" "correct server: the mechanisms are named"
expect_match "$(field_of smtp.open-relay summary)" "relaying to a foreign domain is refused" "correct server: the probe was refused"
expect_match "$(field_of smtp.local-recipient detail)" "mxdeck-no-such-user-7f3a@mail.lab.test> -> 550 5\\.1\\.1" \
        "correct server: an unknown user gets a clean 550"

# ---- 1. False alarm: plaintext login on a VPS, where the host name is the machine's own
# public address. Dovecot treats a same-address client as secure; a stranger is refused. ----
step "1 plaintext on a VPS"
ip addr add 192.0.2.25/32 dev lo
sed -i 's/^listen = 127.0.0.1$/listen = 127.0.0.1, 192.0.2.25/' /etc/dovecot/local.conf
sed -i 's/^127.0.0.1 mail.lab.test mail$/192.0.2.25 mail.lab.test mail/' /etc/hosts
doveadm reload; sleep 0.7
wait_for_port 143 10 192.0.2.25 || fail "dovecot does not listen on 192.0.2.25"
# Dovecot holds its greeting back ("Waiting for authentication process to respond") while
# its auth process starts, which takes a while on a loaded machine: ask until it answers
# (bounded). socat -t 5 waits for the answer after our last line; LOGOUT ends it sooner.
capa_same() {
        same=$(printf 'a CAPABILITY\r\na LOGOUT\r\n' | timeout 8 socat -t 5 - TCP:192.0.2.25:143,bind=192.0.2.25 2>&1 | tr -d '\r')
        [[ $same == *"a OK"* ]]
}
wait_for 10 capa_same || note "Dovecot did not answer CAPABILITY after 100 tries: $same"
# The same for a client from elsewhere: each login process waits for auth on its own.
login_other() {
        other=$(printf 'a LOGIN x y\r\na LOGOUT\r\n' | timeout 8 socat -t 5 - TCP:192.0.2.25:143,bind=127.0.0.5 2>&1 | tr -d '\r')
        grep -q '^a ' <<<"$other"
}
wait_for 10 login_other || note "Dovecot did not answer LOGIN after 100 tries: $other"
expect_match "$same" "AUTH=PLAIN" "VPS: a same-address client is offered plaintext login (what fooled the check)"
expect_match "$other" "PRIVACYREQUIRED" "VPS: a client from another address is refused"
"$MXDECK" check --only imap,pop3 --connect 192.0.2.25 --format json --timeout 15 >"$T/out.json"
expect_eq "$(status_of imap.plaintext-auth)" ok "VPS: imap.plaintext-auth ok"
expect_eq "$(status_of pop3.plaintext-auth)" ok "VPS: pop3.plaintext-auth ok"
expect_match "$(field_of imap.plaintext-auth detail)" "probe from 127\\.0\\.0\\.2" "VPS: says it probed from another address"
# Dovecot trusting the probe's address (login_trusted_networks): judged from the configuration.
echo 'login_trusted_networks = 127.0.0.0/8' >>/etc/dovecot/local.conf
doveadm reload; sleep 0.7; wait_for_port 143 10 192.0.2.25
"$MXDECK" check --only imap,pop3 --connect 192.0.2.25 --format json --timeout 15 >"$T/out.json"
expect_eq "$(status_of imap.plaintext-auth)" ok "trusted probe: imap.plaintext-auth ok"
expect_match "$(field_of imap.plaintext-auth detail)" "judged from Dovecot's configuration" "trusted probe: says so"
# And a real problem still shows, with a remedy that works.
sed -i 's/^disable_plaintext_auth = yes$/disable_plaintext_auth = no/' /etc/dovecot/local.conf
doveadm reload; sleep 0.7; wait_for_port 143 10 192.0.2.25
"$MXDECK" check --only imap,pop3 --connect 192.0.2.25 --format json --timeout 15 >"$T/out.json"
expect_eq "$(status_of imap.plaintext-auth)" critical "plaintext really allowed: critical"
expect_match "$(field_of imap.plaintext-auth commands)" "^sed -i 's\\|\\^disable_plaintext_auth = no\\$\\|disable_plaintext_auth = yes\\|' /etc/dovecot/local.conf" \
        "plaintext: the command edits the line in force"
fix imap.plaintext-auth
wait_for_port 143 10 192.0.2.25
"$MXDECK" check --only imap,pop3 --connect 192.0.2.25 --format json --timeout 15 >"$T/out.json"
expect_eq "$(status_of imap.plaintext-auth)" ok "plaintext: ok after the remedy"
sed -i '/^login_trusted_networks/d' /etc/dovecot/local.conf
sed -i 's/^192.0.2.25 mail.lab.test mail$/127.0.0.1 mail.lab.test mail/' /etc/hosts
doveadm reload; sleep 0.7

# ---- 2. False alarm: relaying through a mynetworks table. ----
step "2 relay table"
printf '127.0.0.0/8 OK\n' >/etc/postfix/mynetworks.cidr
postconf -e 'mynetworks = cidr:/etc/postfix/mynetworks.cidr'
reload_all
ip addr add 192.0.2.99/32 dev lo
stranger=$(swaks --server 127.0.0.1:25 --local-interface 192.0.2.99 --quit-after RCPT --from '' \
        --to relay-test@example.net 2>&1)
expect_match "$stranger" "<\\*\\* 554 5\\.7\\.1 .*Relay access denied" "relay table: a stranger is refused"
check --only config,smtp
expect_eq "$(status_of smtp.open-relay)" ok "relay table: smtp.open-relay ok"
expect_match "$(field_of smtp.open-relay summary)" "judged from the configuration" "relay table: says how it was judged"
expect_match "$(field_of smtp.open-relay detail)" "cidr:/etc/postfix/mynetworks.cidr: 127\\.0\\.0\\.0/8" "relay table: the table was read"
expect_eq "$(status_of config.relay)" ok "relay table: config.relay ok"
# The same table holding the whole Internet: both critical, and config.relay's commands fix it.
printf '127.0.0.0/8 OK\n0.0.0.0/0 OK\n' >/etc/postfix/mynetworks.cidr
reload_all
check --only config,smtp
expect_eq "$(status_of config.relay)" critical "wide table: config.relay critical"
expect_match "$(field_of config.relay detail)" "0\\.0\\.0\\.0/0" "wide table: names the entry"
expect_eq "$(status_of smtp.open-relay)" critical "wide table: smtp.open-relay critical"
expect_match "$(field_of smtp.open-relay summary)" "OPEN RELAY" "wide table: summary"
fix config.relay
check --only config,smtp
expect_eq "$(status_of config.relay)" ok "wide table: config.relay ok after the remedy"
expect_eq "$(status_of smtp.open-relay)" ok "wide table: smtp.open-relay ok after the remedy"
# An access table before the guard: the configuration cannot say, so never ok.
postconf -e 'smtpd_relay_restrictions = permit_mynetworks, check_client_access cidr:/etc/postfix/mynetworks.cidr, permit_sasl_authenticated, reject_unauth_destination'
reload_all
check --only smtp
expect_eq "$(status_of smtp.open-relay)" unknown "access table before the guard: unknown, not ok"
expect_match "$(field_of smtp.open-relay summary) / $(field_of smtp.open-relay detail)" "check_client_access" \
        "access table: names the uncertain check"
postconf -e 'smtpd_relay_restrictions = permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination' \
        'mynetworks = 127.0.0.1/32'
reload_all

# ---- 3. Silence: /etc/aliases.db missing. Every mail to a local user gets 451. ----
step "3 tables"
rm -f /etc/aliases.db
postfix reload >/dev/null 2>&1; sleep 0.7; wait_for_port 25 10
reply=$(swaks --server 127.0.0.1:25 --quit-after RCPT --from '' --to someone@mail.lab.test 2>&1)
expect_match "$reply" "<\\*\\* 451 4\\.3\\.0" "aliases.db missing: Postfix answers 451 (swaks)"
check --only config,smtp
expect_eq "$(cat "$T/rc")" 2 "aliases.db missing: exit status 2"
expect_eq "$(status_of config.tables)" critical "aliases.db missing: config.tables critical"
expect_eq "$(field_of config.tables target)" "hash:/etc/aliases" "aliases.db missing: names the table"
expect_eq "$(status_of smtp.local-recipient)" critical "aliases.db missing: smtp.local-recipient critical"
expect_match "$(field_of smtp.local-recipient summary)" "deferred: 451 4\\.3\\.0" "aliases.db missing: the reply"
expect_match "$(field_of smtp.local-recipient remedy)" "see config\\.tables" "aliases.db missing: points at the cause"
expect_match "$(field_of smtp.local-recipient detail)" "Postfix's log: postfix/smtpd: warning: hash:/etc/aliases is unavailable" \
        "aliases.db missing: Postfix's own log line as evidence"
fix config.tables
sleep 0.7; wait_for_port 25 10   # the remedy reloads Postfix
check --only config,smtp
expect_eq "$(status_of config.tables)" ok "aliases.db rebuilt: config.tables ok"
expect_eq "$(status_of smtp.local-recipient)" ok "aliases.db rebuilt: smtp.local-recipient ok"

# A table whose source changed after postmap: warning, then postmap.
printf 'spam.example REJECT\n' >/etc/postfix/sender_access
postmap hash:/etc/postfix/sender_access
postconf -e 'smtpd_sender_restrictions = check_sender_access hash:/etc/postfix/sender_access'
touch -d '+1 minute' /etc/postfix/sender_access
check --only config
expect_eq "$(status_of config.tables)" warning "stale table: config.tables warning"
expect_match "$(field_of config.tables summary)" "older than its source" "stale table: says so"
expect_eq "$(field_of config.tables commands)" "postmap hash:/etc/postfix/sender_access" "stale table: the command"
fix config.tables
touch -d '+2 minutes' /etc/postfix/sender_access.db
check --only config
expect_eq "$(status_of config.tables)" ok "stale table: ok after postmap"
postconf -X smtpd_sender_restrictions

# ---- 4. Silence: a restriction Postfix does not know (451 4.3.5 at run time). ----
step "4 restriction"
postconf -e 'smtpd_recipient_restrictions = permit_mynetworks, reject_unknwon_sender_domain'
postfix check >"$T/pc" 2>&1
expect_eq "$(cat "$T/pc")" "" "unknown restriction: postfix check is silent"
reload_all
check --only smtp
expect_eq "$(status_of smtp.local-recipient)" critical "unknown restriction: smtp.local-recipient critical"
expect_match "$(field_of smtp.local-recipient summary)" "451 4\\.3\\.5" "unknown restriction: the reply"
expect_match "$(field_of smtp.local-recipient remedy)" "reject_unknwon_sender_domain.*reject_unknown_sender_domain" \
        "unknown restriction: names the word and what it looks like"
expect_match "$(field_of smtp.local-recipient detail)" "Postfix's log: postfix/smtpd: .*unknown smtpd restriction: .reject_unknwon_sender_domain" \
        "unknown restriction: Postfix's own log line as evidence"
fix smtp.local-recipient
check --only smtp
expect_eq "$(status_of smtp.local-recipient)" ok "unknown restriction: ok after the remedy"
expect_eq "$(postconf -h smtpd_recipient_restrictions)" "permit_mynetworks, reject_unknown_sender_domain" \
        "unknown restriction: the list keeps its other words"

# ---- 5. Silence: submission on which a client cannot authenticate. ----
step "5 no AUTH"
postconf -P submission/inet/smtpd_sasl_auth_enable=no
reload_all
check --only smtp
expect_eq "$(status_of smtp.auth :587)" critical "no AUTH on 587: smtp.auth critical"
expect_match "$(field_of smtp.auth summary :587)" "cannot log in to send mail" "no AUTH on 587: explanation"
fix smtp.auth :587
sleep 0.7; wait_for_port 587 10
check --only smtp
expect_eq "$(status_of smtp.auth :587)" ok "no AUTH on 587: ok after the remedy"

finish
