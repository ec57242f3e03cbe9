#!/usr/bin/env bash
# Adoption of a configuration made by hand, the way the seed guide (shared/seeds/000: a
# Postfix + Dovecot server with system users) does it, in a lab host: postconf -e lines for
# main.cf, submission and smtps in master.cf with the guide's -o options, Dovecot's conf.d
# files edited (10-auth, 10-mail, 10-master, 10-ssl), a certificate of its own, a system
# user. Then `mxdeck setup --dry-run` shows only what differs from that, `--yes` applies it
# keeping every setting mxdeck does not manage, and rollback returns every file under /etc
# byte for byte (content, mode, owner).
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
in_lab_or_reexec --hostname mail.lab.test -- "$0"

T=$(mktemp -d /root/mxdeck-adopt.XXXXXX)
pw='guide-Us3r-passw0rd'
postfix stop >/dev/null 2>&1 || true

# --- the guide, by hand (its CentOS paths replaced by Debian's) ---
crt=/etc/ssl/certs/mail.lab.test.crt
key=/etc/ssl/private/mail.lab.test.key
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$key" -out "$crt" -days 90 \
        -subj /CN=mail.lab.test -addext subjectAltName=DNS:mail.lab.test >/dev/null 2>&1
chmod 600 "$key"
[ -e /etc/postfix/main.cf ] || : >/etc/postfix/main.cf
postconf -e 'myhostname = mail.lab.test' 'mydomain = lab.test' 'myorigin = $mydomain' \
        'inet_interfaces = all' 'inet_protocols = ipv4' 'home_mailbox = Maildir/' \
        'mydestination = $myhostname, localhost.$mydomain, localhost, $mydomain' \
        'mynetworks = 127.0.0.0/8 [::ffff:127.0.0.0]/104 [::1]/128' \
        'relay_domains =' 'relayhost =' \
        'smtpd_recipient_restrictions = permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination, reject_non_fqdn_sender, reject_non_fqdn_recipient, reject_unknown_sender_domain, reject_unknown_recipient_domain, permit' \
        'smtpd_sasl_type = dovecot' 'smtpd_sasl_path = private/auth' 'smtpd_sasl_auth_enable = yes' \
        'smtpd_sasl_security_options = noanonymous' 'smtpd_sasl_local_domain = $myhostname' \
        "smtpd_tls_cert_file = $crt" "smtpd_tls_key_file = $key" \
        'smtpd_tls_security_level = may' 'smtpd_tls_auth_only = yes' \
        'smtp_tls_security_level = may' 'smtp_tls_CAfile = /etc/ssl/certs/ca-certificates.crt'
postconf -M 'submission/inet=submission inet n - y - - smtpd' 'smtps/inet=smtps inet n - y - - smtpd'
postconf -P 'submission/inet/syslog_name=postfix/submission' 'submission/inet/smtpd_tls_security_level=encrypt' \
        'submission/inet/smtpd_sasl_auth_enable=yes' \
        'submission/inet/smtpd_client_restrictions=permit_sasl_authenticated,reject' \
        'submission/inet/smtpd_recipient_restrictions=permit_sasl_authenticated,permit_mynetworks,reject_unauth_destination' \
        "submission/inet/smtpd_tls_cert_file=$crt" "submission/inet/smtpd_tls_key_file=$key" \
        'smtps/inet/syslog_name=postfix/smtps' 'smtps/inet/smtpd_tls_wrappermode=yes' \
        'smtps/inet/smtpd_sasl_auth_enable=yes' \
        'smtps/inet/smtpd_client_restrictions=permit_sasl_authenticated,reject' \
        'smtps/inet/smtpd_recipient_restrictions=permit_sasl_authenticated,permit_mynetworks,reject_unauth_destination'
d=/etc/dovecot
sed -i 's/^#\?protocols = .*/protocols = imap pop3 lmtp/' $d/dovecot.conf
grep -q '^protocols = ' $d/dovecot.conf || echo 'protocols = imap pop3 lmtp' >>$d/dovecot.conf
sed -i 's/^#\?listen = .*/listen = */' $d/dovecot.conf
sed -i 's/^#\?disable_plaintext_auth = .*/disable_plaintext_auth = yes/; s/^auth_mechanisms = .*/auth_mechanisms = plain login/' $d/conf.d/10-auth.conf
sed -i 's|^mail_location = .*|mail_location = maildir:~/Maildir|; s/^#\?mail_privileged_group = .*/mail_privileged_group = mail/' $d/conf.d/10-mail.conf
python3 - "$d/conf.d/10-master.conf" <<'PY'
import re, sys
p = sys.argv[1]
s = open(p).read()
# the guide: uncomment Postfix's smtp-auth listener in "service auth"
s = re.sub(r"  # Postfix smtp-auth\n  #unix_listener /var/spool/postfix/private/auth \{\n  #  mode = 0666\n  #\}",
           "  # Postfix smtp-auth\n  unix_listener /var/spool/postfix/private/auth {\n    mode = 0660\n    user = postfix\n    group = postfix\n  }", s)
open(p, "w").write(s)
PY
grep -q '^  unix_listener /var/spool/postfix/private/auth' $d/conf.d/10-master.conf || fail "10-master.conf: the guide's edit did not apply"
sed -i "s|^ssl = .*|ssl = required|; s|^ssl_cert = .*|ssl_cert = <$crt|; s|^ssl_key = .*|ssl_key = <$key|" $d/conf.d/10-ssl.conf
useradd -m -s /usr/sbin/nologin bob
printf 'bob:%s\n' "$pw" | chpasswd
postfix check >/dev/null 2>&1 || fail "the hand-made Postfix configuration does not pass postfix check"
doveconf -n >/dev/null 2>&1 || fail "the hand-made Dovecot configuration does not parse"
postfix start >/dev/null 2>&1
dovecot
ok "configured by hand as in the guide"

snapshot() {
        python3 - "$1" <<'PY'
import hashlib, os, stat, sys
out = []
for d, dirs, files in os.walk("/etc"):
    dirs.sort()
    for name in sorted(files):
        p = os.path.join(d, name)
        st = os.lstat(p)
        what = hashlib.sha256(open(p, "rb").read()).hexdigest() if stat.S_ISREG(st.st_mode) else "other"
        out.append("%s %o %d:%d %s" % (p, stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid, what))
open(sys.argv[1], "w").write("\n".join(out) + "\n")
PY
}
snapshot "$T/before"

printf '%s\n' "$pw" >"$T/bob.pw"
chmod 600 "$T/bob.pw"
cat >"$T/answers.ini" <<EOF
[server]
hostname = mail.lab.test
domain = lab.test

[users]
mode = system

[user bob]
password_file = $T/bob.pw

[tls]
source = files
cert_file = $crt
key_file = $key
EOF

# --- dry run: only the differences ---
"$MXDECK" setup --answers "$T/answers.ini" --dry-run >"$T/dry.out" 2>&1
expect_eq "$?" 0 "dry run: some changes"
for same in myhostname=mail.lab.test home_mailbox= smtpd_sasl_type= smtpd_sasl_path= "smtpd_tls_cert_file=" \
            smtpd_tls_auth_only= smtpd_tls_security_level= relayhost= inet_interfaces=; do
        if grep -q -- "postconf -e.*$same" "$T/dry.out"; then not_ok "the plan sets $same, which the guide already set"; else ok "not in the plan: $same (already so)"; fi
done
expect_match "$(cat "$T/dry.out")" "postconf -e .*smtpd_banner=" "the plan sets what the guide left out (smtpd_banner)"
expect_match "$(cat "$T/dry.out")" "users: mailboxes and passwords \(nothing to change\)" "bob exists with this password: nothing to change"
expect_match "$(cat "$T/dry.out")" "using $crt and $key as they are" "the guide's certificate is used in place"
if grep -q '^  \$ postconf -M ' "$T/dry.out"; then not_ok "the plan replaces master.cf entries the guide made: $(grep '\$ postconf -M ' "$T/dry.out")"; else ok "master.cf entries adopted as they are"; fi
expect_match "$(grep '^  \$ postconf -P ' "$T/dry.out")" "submission/inet/smtpd_tls_auth_only=yes" "only the missing -o options are added"
if grep -q "differs from the preview" "$T/dry.out"; then not_ok "preview mismatch"; fi
snapshot "$T/after-dry"
cmp -s "$T/before" "$T/after-dry" && ok "the dry run changed nothing" || not_ok "the dry run changed files"

# --- apply ---
"$MXDECK" setup --answers "$T/answers.ini" --yes >"$T/run.log" 2>&1
rc=$?
expect_eq "$rc" 0 "setup --yes over the guide's configuration: changed and verified"
[ "$rc" = 0 ] || tail -30 "$T/run.log"
if grep -q "differs from the preview" "$T/run.log"; then
        not_ok "postconf wrote something other than the preview: $(diff <(sed -n '/^  \/etc\/postfix\/main.cf, as postconf -e will write it:/,/^  [^ ]/p' "$T/dry.out") /etc/postfix/main.cf | head -5)"
else
        ok "main.cf came out exactly as previewed"
fi
tx=$(sed -n -e 's/^Done: transaction \([^ ]*\).*/\1/p' -e 's/^Undo what was done so far with: mxdeck rollback \([^ ]*\).*/\1/p' "$T/run.log" | head -1)
expect_eq "$(postconf -h smtpd_recipient_restrictions)" \
        "permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination, reject_non_fqdn_sender, reject_non_fqdn_recipient, reject_unknown_sender_domain, reject_unknown_recipient_domain, permit" \
        "the administrator's smtpd_recipient_restrictions kept"
expect_eq "$(postconf -h inet_protocols)" ipv4 "inet_protocols kept"
expect_eq "$(postconf -h smtpd_sasl_security_options)" noanonymous "smtpd_sasl_security_options kept"
expect_eq "$(postconf -h smtp_tls_CAfile)" /etc/ssl/certs/ca-certificates.crt "smtp_tls_CAfile kept"
expect_eq "$(postconf -Ph submission/inet/smtpd_recipient_restrictions)" \
        "permit_sasl_authenticated,permit_mynetworks,reject_unauth_destination" "submission's own -o smtpd_recipient_restrictions kept"
expect_eq "$(postconf -Ph submission/inet/smtpd_tls_cert_file)" "$crt" "submission's -o smtpd_tls_cert_file kept"
expect_eq "$(doveconf -h mail_privileged_group)" mail "Dovecot mail_privileged_group kept"
expect_eq "$(doveconf -h ssl_cert)" "<$crt" "Dovecot serves the guide's certificate"
login() {
        python3 - "$1" "$2" <<'PY'
import imaplib, ssl, sys
c = imaplib.IMAP4_SSL("127.0.0.1", 993, ssl_context=ssl._create_unverified_context(), timeout=20)
try:
    c.login(sys.argv[1], sys.argv[2]); print("ok"); c.logout()
except imaplib.IMAP4.error:
    print("refused")
PY
}
expect_eq "$(login bob "$pw")" ok "bob logs in over IMAPS"
"$MXDECK" setup --answers "$T/answers.ini" --yes >"$T/run2.log" 2>&1
expect_eq "$?" 3 "a second run changes nothing"

# --- rollback: every file as the administrator had it ---
"$MXDECK" rollback "$tx" >"$T/rollback.log" 2>&1
expect_eq "$?" 0 "rollback"
snapshot "$T/after-rollback"
if cmp -s "$T/before" "$T/after-rollback"; then
        ok "after rollback every file under /etc is byte-identical to the hand-made state"
else
        not_ok "rollback left differences: $(diff "$T/before" "$T/after-rollback" | head -10)"
fi
postfix stop >/dev/null 2>&1
doveadm stop >/dev/null 2>&1
finish
