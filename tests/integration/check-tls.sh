#!/usr/bin/env bash
# port.*, tls.*, smtp.*, imap.* and pop3.* against real Postfix (25, 587, 465) and Dovecot
# (143, 993, 110, 995) in a lab host, with certificates made here by a private CA: valid,
# valid without --ca-file, about to expire, expired, wrong name, self-signed; then a TLS
# 1.0-permitting setup, an open relay, AUTH before STARTTLS, plaintext login in Dovecot,
# services that are not configured, an smtpd that dies at start, and stopped daemons.
set -u
here=$(cd "$(dirname "$0")" && pwd)
# Many certificate and server states in one lab: about 2 min alone on 2 cores, more beside
# another lab; within meson's 450 s.
LAB_TIMEOUT=${LAB_TIMEOUT:-420}
. "$here/lib.sh"
in_lab_or_reexec --hostname mail.lab.test -- "$0" "$@"

command -v postfix >/dev/null || skip "Postfix is not installed"
command -v dovecot >/dev/null || skip "Dovecot is not installed"
[ -e /usr/lib/dovecot/pop3-login ] || skip "dovecot-pop3d is not installed"

jq_() { python3 "$here/jsonq.py" "$@"; }
T=$(mktemp -d)
SERVICES="smtp submission smtps imap imaps pop3 pop3s"

. "$here/tls-setup.sh"

run_check() {
        "$MXDECK" check --only port,tls,smtp,imap,pop3 --format json --timeout 5 "$@" >"$T/out.json"
        echo $? >"$T/rc"
}
status_of() { jq_ status "$@" <"$T/out.json"; }
field_of() { jq_ field "$@" <"$T/out.json"; }
# metric_of ID NAME [TARGET_SUBSTRING]: the metric's value in the first such finding, or "none".
metric_of() {
        python3 -c '
import json, sys
doc = json.load(open(sys.argv[1]))
for f in doc["findings"]:
    if f["id"] == sys.argv[2] and (len(sys.argv) < 5 or sys.argv[4] in f["target"]):
        print((f.get("metrics") or {}).get(sys.argv[3], "none"))
        break
else:
    print("missing")' "$T/out.json" "$@"
}
# ids_of PREFIX: the sorted ids of all findings whose id starts with PREFIX, one line.
ids_of() {
        python3 -c '
import json, sys
doc = json.load(open(sys.argv[1]))
print(" ".join(sorted(f["id"] for f in doc["findings"] if f["id"].startswith(sys.argv[2]))))' "$T/out.json" "$1"
}
# all_tls WHAT STATUS LABEL: tls.SVC.WHAT has STATUS for all seven services.
all_tls() {
        for s in $SERVICES; do
                expect_eq "$(status_of "tls.$s.$1")" "$2" "$3: tls.$s.$1"
        done
}

# 1. Valid certificate from the private CA, given with --ca-file: everything ok, exit 0.
run_check --ca-file "$P/ca.pem"
expect_eq "$(cat "$T/rc")" 0 "valid: exit status"
expect_eq "$(jq_ overall <"$T/out.json")" ok "valid: overall status"
for s in $SERVICES; do
        expect_eq "$(status_of "port.$s")" ok "valid: port.$s"
done
for what in handshake expiry name chain protocol; do
        all_tls "$what" ok "valid"
done
expect_match "$(field_of port.smtp detail)" "greeting: 220 mail.lab.test ESMTP" "valid: smtp greeting in detail"
expect_match "$(field_of port.imap detail)" "greeting: \\* OK" "valid: imap greeting in detail"
expect_match "$(field_of port.pop3 target)" "^127\\.0\\.0\\.1:110$" "valid: resolved mail.lab.test via /etc/hosts"
detail=$(field_of tls.smtp.handshake detail)
for want in "subject=CN=mail.lab.test" "SANs=DNS:mail.lab.test" "issuer=CN=mxdeck lab CA" "notAfter=" \
        "key=RSA 2048 bits" "protocol=TLSv1\\.[23]" "cipher="; do
        expect_match "$detail" "$want" "valid: handshake detail has $want"
done
expect_eq "$(status_of smtp.open-relay)" ok "valid: smtp.open-relay"
expect_eq "$(status_of smtp.starttls)" ok "valid: smtp.starttls"
expect_eq "$(status_of smtp.auth-before-tls :25)" ok "valid: smtp.auth-before-tls on 25"
expect_eq "$(status_of smtp.auth-before-tls :587)" ok "valid: smtp.auth-before-tls on 587"
expect_eq "$(status_of imap.plaintext-auth)" ok "valid: imap.plaintext-auth"
expect_eq "$(status_of pop3.plaintext-auth)" ok "valid: pop3.plaintext-auth"
grep -q '"latency_ms"' "$T/out.json" || fail "valid: no latency_ms metric"
grep -q '"days_left": 8[89]' "$T/out.json" || fail "valid: days_left is not 88 or 89"
ok "valid: latency_ms and days_left metrics"

# --only limits the groups: tls alone has no port.* findings.
"$MXDECK" check --only tls --format json --ca-file "$P/ca.pem" >"$T/out.json"
expect_eq "$(status_of port.smtp)" missing "--only tls: no port findings"
expect_eq "$(status_of tls.imaps.chain)" ok "--only tls: tls.imaps.chain"

# 2. The same without --ca-file: the private CA is unknown to the system store.
run_check
all_tls chain critical "unknown CA"
expect_match "$(field_of tls.smtps.chain summary)" "unable to get local issuer certificate" "unknown CA: reason"
expect_match "$(field_of tls.smtp.chain remedy)" "--ca-file" "unknown CA: remedy"
# The same certificate on the next ports: the remedy points at the first one.
expect_eq "$(field_of tls.submission.chain remedy)" "same certificate as smtp: see tls.smtp.chain" \
        "unknown CA: repeated remedy is short"
expect_eq "$(status_of tls.smtps.name)" ok "unknown CA: name still fine"

# 3. --connect with another --host: the name check follows --host, SNI too.
run_check --ca-file "$P/ca.pem" --connect 127.0.0.1 --host imap.other.test
all_tls name critical "--host imap.other.test"
expect_eq "$(status_of port.imaps)" ok "--connect: port.imaps"

# 4. Ten days left: warning (< 21); expired: critical, negative days_left.
use_cert soon
run_check --ca-file "$P/ca.pem"
all_tls expiry warning "10 days left"
expect_eq "$(cat "$T/rc")" 1 "10 days left: exit status 1"
use_cert expired
run_check --ca-file "$P/ca.pem"
all_tls expiry critical "expired"
# Whole days since notAfter (2025-03-01 00:00 UTC), rounded down: summary and metric agree.
days=$((($(date -u +%s) - $(date -u -d 2025-03-01T00:00:00Z +%s)) / 86400))
expect_match "$(field_of tls.smtp.expiry summary)" "^certificate expired $days days ago " "expired: summary says $days days"
expect_eq "$(metric_of tls.smtp.expiry days_left)" "-$days" "expired: days_left is -$days"
# A private CA's certificate: certbot renew would do nothing, so get a real one.
expect_match "$(field_of tls.smtp.expiry fix)" "private CA.*certbot certonly" "expired: private-CA remedy"
expect_match "$(field_of tls.smtp.expiry remedy)" "renewal-hooks/deploy/" "expired: deploy hook file"
expect_eq "$(field_of tls.imap.expiry remedy)" "same certificate as smtp: see tls.smtp.expiry" "expired: short repeat"
expect_eq "$(status_of tls.imap.chain)" ok "expired: chain judged apart from time"
grep -q '"days_left": -' "$T/out.json" || fail "expired: days_left not negative"
ok "expired: negative days_left"

# 5. Wrong name: critical, with the names it does carry; a wildcard for *.lab.test is fine.
use_cert wrongname
run_check --ca-file "$P/ca.pem"
all_tls name critical "wrong name"
expect_match "$(field_of tls.submission.name summary)" "not valid for mail.lab.test" "wrong name: summary"
expect_match "$(field_of tls.submission.name summary)" "other.example.test" "wrong name: names shown"
use_cert wildcard
run_check --ca-file "$P/ca.pem"
all_tls name ok "wildcard *.lab.test"
run_check --ca-file "$P/ca.pem" --connect 127.0.0.1 --host a.mail.lab.test
expect_eq "$(status_of tls.smtp.name)" critical "wildcard covers one label only"

# 6. Self-signed: warning, remedy with certbot.
use_cert selfsigned
run_check --ca-file "$P/ca.pem"
all_tls chain warning "self-signed"
expect_match "$(field_of tls.smtp.chain fix)" "certbot certonly" "self-signed: certbot remedy"
expect_match "$(field_of tls.pop3s.chain remedy)" "^same certificate as smtp" "self-signed: short repeat"
use_cert valid

# 7. TLS 1.0 and 1.1 still accepted (security level 0 so OpenSSL 3 even offers them).
postconf -e 'smtpd_tls_protocols = >=TLSv1' 'smtpd_tls_mandatory_protocols = >=TLSv1' \
        'tls_medium_cipherlist = DEFAULT:@SECLEVEL=0' 'smtpd_tls_ciphers = medium' 'smtpd_tls_mandatory_ciphers = medium'
cat >>/etc/dovecot/local.conf <<'CF'
ssl_min_protocol = TLSv1
ssl_cipher_list = DEFAULT:@SECLEVEL=0
CF
reload
run_check --ca-file "$P/ca.pem"
all_tls protocol warning "TLS 1.0 permitted"
expect_match "$(field_of tls.smtp.protocol summary)" "still accepts TLS 1\\.[01]" "TLS 1.0: summary"
expect_match "$(field_of tls.smtp.protocol fix)" "smtpd_tls_protocols" "TLS 1.0: Postfix remedy"
expect_match "$(field_of tls.imap.protocol remedy)" "ssl_min_protocol" "TLS 1.0: Dovecot remedy"
postconf -e 'smtpd_tls_protocols = >=TLSv1.2' 'smtpd_tls_mandatory_protocols = >=TLSv1.2'
postconf -X tls_medium_cipherlist smtpd_tls_ciphers smtpd_tls_mandatory_ciphers
sed -i '/^ssl_min_protocol\|^ssl_cipher_list/d' /etc/dovecot/local.conf

# 8. Open relay: the classic "mynetworks = 0.0.0.0/0", then an access map that lets a
# stranger (us, 127.0.0.2) relay. Then a relay only for a real mynetworks, which includes us.
postconf -e 'mynetworks = 0.0.0.0/0'
reload
run_check --ca-file "$P/ca.pem"
expect_eq "$(status_of smtp.open-relay)" critical "open relay: mynetworks = 0.0.0.0/0"
expect_match "$(field_of smtp.open-relay summary)" "OPEN RELAY" "open relay: summary"
expect_match "$(field_of smtp.open-relay remedy)" "reject_unauth_destination" "open relay: remedy"
expect_match "$(field_of smtp.open-relay detail)" "RCPT TO:<mxdeck-relay-test@example.net>" "open relay: evidence"
postconf -e 'mynetworks = 127.0.0.1/32' \
        'smtpd_relay_restrictions = check_client_access inline:{ 127.0.0.2=OK }, reject_unauth_destination'
reload
run_check --ca-file "$P/ca.pem"
expect_eq "$(status_of smtp.open-relay)" critical "open relay: access map lets strangers relay"
postconf -e 'smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination' 'mynetworks = 127.0.0.0/8'
reload
run_check --ca-file "$P/ca.pem"
expect_eq "$(status_of smtp.open-relay)" ok "relay for mynetworks only"
expect_match "$(field_of smtp.open-relay summary)" "mynetworks" "mynetworks relay: says why"
postconf -e 'mynetworks = 127.0.0.1/32' 'smtpd_relay_restrictions = permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination'

# 9. AUTH before STARTTLS: warning on 25, critical on 587.
postconf -e 'smtpd_tls_auth_only = no'
postconf -P submission/inet/smtpd_tls_security_level=may
reload
run_check --ca-file "$P/ca.pem"
expect_eq "$(status_of smtp.auth-before-tls :25)" warning "AUTH before STARTTLS on 25"
expect_eq "$(status_of smtp.auth-before-tls :587)" critical "AUTH before STARTTLS on 587"
expect_match "$(field_of smtp.auth-before-tls fix)" "smtpd_tls_auth_only = yes" "AUTH before STARTTLS: remedy"
postconf -e 'smtpd_tls_auth_only = yes'
postconf -P submission/inet/smtpd_tls_security_level=encrypt

# 10. Dovecot accepting plaintext passwords.
sed -i 's/^disable_plaintext_auth = yes/disable_plaintext_auth = no/' /etc/dovecot/local.conf
reload
run_check --ca-file "$P/ca.pem"
expect_eq "$(status_of imap.plaintext-auth)" critical "IMAP plaintext login allowed"
expect_eq "$(status_of pop3.plaintext-auth)" critical "POP3 plaintext login allowed"
expect_match "$(field_of imap.plaintext-auth remedy)" "disable_plaintext_auth = yes" "plaintext: remedy"
# No systemd in the lab: remedies give the daemons' own commands.
expect_match "$(field_of imap.plaintext-auth fix)" "doveadm reload" "plaintext: remedy without systemd"
if grep -q systemctl "$T/out.json"; then not_ok "no systemd: a remedy says systemctl"; else ok "no systemd: no systemctl"; fi
expect_match "$(field_of pop3.plaintext-auth detail)" "USER" "plaintext: POP3 capabilities shown"

sed -i 's/^disable_plaintext_auth = no/disable_plaintext_auth = yes/' /etc/dovecot/local.conf

# 12. Services that are not configured are not critical: Dovecot without pop3, imaps on port
# 0, Postfix without submission. Asked for with --port, they are probed all the same.
postconf -MX submission/inet
sed -i 's/^protocols = imap pop3$/protocols = imap/' /etc/dovecot/local.conf
cat >>/etc/dovecot/local.conf <<'CF'
service imap-login {
  inet_listener imaps {
    port = 0
  }
}
CF
reload_mail_daemons 15 || fail "postfix/dovecot reload did not take effect within 15 s"
wait_for_port 143 10 || fail "imap did not come back"
wait_for_port 25 10 || fail "smtp did not come back"
wait_for_port_closed 110 10 || fail "pop3 still listens"
run_check --ca-file "$P/ca.pem"
expect_eq "$(status_of port.pop3)" ok "pop3 not configured: port.pop3 ok"
expect_match "$(field_of port.pop3 summary)" "^pop3 is not enabled \\(Dovecot protocols = imap\\)" "pop3 not configured: summary"
expect_eq "$(status_of port.pop3s)" ok "pop3 not configured: port.pop3s ok"
expect_eq "$(ids_of pop3.)$(ids_of tls.pop3)" "" "pop3 not configured: no pop3 or tls.pop3* findings"
expect_eq "$(status_of port.imaps)" ok "imaps port 0: port.imaps ok"
expect_match "$(field_of port.imaps summary)" "inet_listener imaps \\{ port = 0" "imaps port 0: summary"
expect_eq "$(ids_of tls.imaps.)" "" "imaps port 0: no tls.imaps findings"
expect_eq "$(status_of tls.imap.handshake)" ok "imap still judged"
expect_eq "$(status_of port.submission)" ok "no submission service: port.submission ok"
expect_match "$(field_of port.submission summary)" "postconf -M submission/inet' prints nothing" "no submission: summary"
expect_eq "$(ids_of tls.submission.)" "" "no submission: no tls.submission findings"
expect_eq "$(status_of smtp.auth-before-tls :587)" missing "no submission: no smtp.auth-before-tls on 587"
expect_eq "$(cat "$T/rc")" 0 "services not configured: exit status 0"
run_check --ca-file "$P/ca.pem" --port pop3=110 --port submission=587
expect_eq "$(status_of port.pop3)" critical "--port pop3=110: probed and judged"
expect_eq "$(status_of pop3.plaintext-auth)" unknown "--port pop3=110: pop3.plaintext-auth unknown"
expect_match "$(field_of port.submission fix)" "^'postconf -M submission/inet' prints nothing: add the service\\."$'\n'"postconf -M submission/inet=" \
        "--port submission: remedy adds the service, known to be absent"
postconf -M submission/inet="submission inet n - y - - smtpd"
postconf -P submission/inet/smtpd_tls_security_level=encrypt submission/inet/smtpd_sasl_auth_enable=yes
sed -i 's/^protocols = imap$/protocols = imap pop3/' /etc/dovecot/local.conf
python3 - /etc/dovecot/local.conf <<'PY'
import sys
p = sys.argv[1]
s = open(p).read()
open(p, "w").write(s.replace("service imap-login {\n  inet_listener imaps {\n    port = 0\n  }\n}\n", ""))
PY
reload

# 13. smtpd dies at every connection (a fatal configuration error): every smtp.* finding is
# still there, unknown, saying why; the TLS ones too.
postconf -e 'smtpd_relay_restrictions = permit_mynetworks permit_sasl_authenticated permit'
reload_mail_daemons 15 || fail "postfix reload did not take effect within 15 s"
"$MXDECK" check --only smtp --format json --timeout 3 >"$T/out.json"
expect_eq "$(status_of smtp.open-relay)" unknown "smtpd fatal: smtp.open-relay unknown"
expect_eq "$(status_of smtp.starttls)" unknown "smtpd fatal: smtp.starttls unknown"
expect_eq "$(status_of smtp.auth-before-tls :25)" unknown "smtpd fatal: smtp.auth-before-tls on 25 unknown"
expect_eq "$(status_of smtp.auth-before-tls :587)" unknown "smtpd fatal: smtp.auth-before-tls on 587 unknown"
expect_match "$(field_of smtp.open-relay summary)" "^not tested: .*port 25" "smtpd fatal: says why"
run_check --ca-file "$P/ca.pem" --timeout 3
expect_eq "$(ids_of tls.smtp.)" "tls.smtp.chain tls.smtp.expiry tls.smtp.handshake tls.smtp.name tls.smtp.protocol" \
        "smtpd fatal: all five tls.smtp findings"
expect_eq "$(status_of tls.smtp.expiry)" unknown "smtpd fatal: tls.smtp.expiry unknown"
expect_eq "$(metric_of port.smtp latency_ms)" none "smtpd fatal: no latency_ms without a greeting"
postconf -e 'smtpd_relay_restrictions = permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination'
reload

# 14. Postfix stopped: refused is its own clear summary, and the suite is still quick.
postfix stop >/dev/null 2>&1
wait_for_port_closed 25 10 || fail "port 25 still open 10 s after 'postfix stop'"
run_check --ca-file "$P/ca.pem"
expect_eq "$(status_of port.smtp)" critical "postfix stopped: port.smtp"
expect_match "$(field_of port.smtp summary)" "refuses connections" "postfix stopped: summary"
expect_eq "$(status_of port.imaps)" ok "postfix stopped: Dovecot still fine"
expect_eq "$(cat "$T/rc")" 2 "postfix stopped: exit status"
expect_match "$(field_of port.smtp fix)" "^Postfix is not running: see service\\.postfix; start it .*"$'\n'"postfix start$" \
        "postfix stopped: remedy points at the daemon"
expect_match "$(field_of port.submission remedy)" "^Postfix is not running" "postfix stopped: submission remedy too"
expect_eq "$(metric_of port.smtp latency_ms)" none "postfix stopped: no latency_ms metric"
expect_eq "$(status_of smtp.open-relay)" unknown "postfix stopped: smtp.open-relay still reported"
expect_match "$(field_of smtp.open-relay summary)" "^not tested: port 25 refused the connection$" "postfix stopped: why"
expect_eq "$(status_of tls.smtps.chain)" unknown "postfix stopped: tls.smtps.chain still reported"
# The text output says the cause once: the checks behind a refusing port fold under it.
"$MXDECK" check --only port,tls,smtp,imap,pop3 --color never --timeout 5 --ca-file "$P/ca.pem" >"$T/out.txt"
expect_match "$(grep -A4 'port\.smtps ' "$T/out.txt")" "5 TLS checks not run: port 465 refused the connection" \
        "postfix stopped: text folds tls.smtps.* under port.smtps"
expect_match "$(grep -A5 'port\.smtp  ' "$T/out.txt")" "4 SMTP checks not run: port 25 refused the connection" \
        "postfix stopped: text folds smtp.* under port.smtp"
if grep -qE '^ +UNKNOWN +(tls\.smtps?\.|tls\.submission\.|smtp\.)' "$T/out.txt"; then
        not_ok "postfix stopped: a folded finding is listed in the text: $(grep -m1 -E 'UNKNOWN +(tls|smtp)\.' "$T/out.txt")"
else
        ok "postfix stopped: no tls.smtp*/smtp.* line of its own in the text"
fi
expect_match "$(grep -E 'tls\.imaps\.expiry' "$T/out.txt")" "OK" "postfix stopped: Dovecot's TLS findings still listed"
"$MXDECK" check --only port,tls,smtp,imap,pop3 --color never --verbose --timeout 5 --ca-file "$P/ca.pem" >"$T/out-v.txt"
expect_match "$(grep -c -E '^ +UNKNOWN +tls\.smtps\.' "$T/out-v.txt")" "^5$" "postfix stopped: --verbose lists each of them"

# Dovecot stopped too: the same for it, and no install advice.
doveadm stop 2>/dev/null || dovecot stop
wait_for_port_closed 143 10 || fail "port 143 still open 10 s after stopping dovecot"
run_check --ca-file "$P/ca.pem"
expect_match "$(field_of port.pop3 fix)" "^Dovecot is not running: see service\\.dovecot; start it .*"$'\n'"dovecot$" \
        "dovecot stopped: remedy points at the daemon"
if grep -q "dovecot-pop3d\|systemctl" "$T/out.json"; then
        not_ok "dovecot stopped: install or systemctl advice"
else
        ok "dovecot stopped: no install or systemctl advice"
fi
expect_eq "$(status_of pop3.plaintext-auth)" unknown "dovecot stopped: pop3.plaintext-auth still reported"

finish
