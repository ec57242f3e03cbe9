#!/usr/bin/env bash
# Verdicts an administrator can trust (issue 8), part 2 (part 1: check-verdicts.sh): TLS
# files named in the configuration missing, Dovecot's auth socket gone (the cause named on
# what it breaks), old TLS protocols each named, a renewed certificate not reloaded by
# Dovecot, and the monitoring formats on a broken server (Nagios first line, promtool).
# Each broken case: the verdict, its severity and explanation, then the remedy's commands
# run as printed and the check run again.
set -u
here=$(cd "$(dirname "$0")" && pwd)
# Many checks in one lab: more than the default lab time, within meson's 300 s.
LAB_TIMEOUT=${LAB_TIMEOUT:-285}
. "$here/lib.sh"
in_lab_or_reexec --hostname mail.lab.test -- "$0" "$@"

. "$here/verdicts-setup.sh"

# ---- 6. Silence: TLS files named in the configuration missing. ----
step "6 TLS files"
# Dovecot: ssl_cert/ssl_key point at files that do not exist; doveconf -n is happy,
# Dovecot does not start.
doveadm stop 2>/dev/null
for _ in $(seq 50); do _port_open 127.0.0.1 143 || break; sleep 0.1; done
sed -i "s|^ssl_cert = <$P/cur.pem|ssl_cert = <$P/dovecot-new.pem|; s|^ssl_key = <$P/cur.key|ssl_key = <$P/dovecot-new.key|" /etc/dovecot/local.conf
doveconf -n >/dev/null 2>&1 && ok "missing ssl_cert: doveconf -n exits 0" || not_ok "missing ssl_cert: doveconf -n fails"
dovecot 2>/dev/null && not_ok "missing ssl_cert: dovecot started anyway" || ok "missing ssl_cert: dovecot does not start"
check --only cert,config
expect_eq "$(status_of cert.files "$P/dovecot-new.pem")" critical "missing ssl_cert: cert.files critical"
expect_match "$(field_of cert.files summary "$P/dovecot-new.pem")" "Dovecot's TLS files are broken: .*dovecot-new.pem does not exist" \
        "missing ssl_cert: says which file"
expect_match "$(field_of cert.files commands "$P/dovecot-new.pem")" "^openssl req .*-keyout $P/dovecot-new.key -out $P/dovecot-new.pem" \
        "missing ssl_cert: makes the files where Dovecot looks"
fix cert.files "$P/dovecot-new.pem"
wait_for_port 993 10 || not_ok "missing ssl_cert: Dovecot did not start after the remedy"
check --only cert,config
expect_eq "$(status_of cert.files "$P/dovecot-new.pem")" ok "missing ssl_cert: ok after the remedy"
[ "$(stat -c %a "$P/dovecot-new.key")" = 600 ] && ok "the new key is 0600" || not_ok "the new key is $(stat -c %a "$P/dovecot-new.key")"
sed -i "s|^ssl_cert = <$P/dovecot-new.pem|ssl_cert = <$P/cur.pem|; s|^ssl_key = <$P/dovecot-new.key|ssl_key = <$P/cur.key|" /etc/dovecot/local.conf
doveadm reload; sleep 0.7
# Postfix: a key file that does not exist.
postconf -e "smtpd_tls_key_file = $P/postfix-new.key" "smtpd_tls_cert_file = $P/postfix-new.pem"
check --only cert
expect_eq "$(status_of cert.files "$P/postfix-new")" critical "missing Postfix files: cert.files critical"
fix cert.files "$P/postfix-new"
check --only cert
expect_eq "$(status_of cert.files "$P/postfix-new")" ok "missing Postfix files: ok after the remedy"
postconf -e "smtpd_tls_key_file = $P/cur.key" "smtpd_tls_cert_file = $P/cur.pem"
reload_all

# ---- 7. Causes, not symptoms: Dovecot down. smtpd dies at EHLO for want of SASL, Postfix
# pauses the service; the findings on 587/465 say why and point at config.sasl. ----
step "7 Dovecot down"
doveadm stop 2>/dev/null
for _ in $(seq 50); do _port_open 127.0.0.1 143 || break; sleep 0.1; done
check --only config,port,smtp
expect_eq "$(status_of config.sasl)" critical "Dovecot down: config.sasl critical"
expect_match "$(field_of config.sasl summary)" "/var/spool/postfix/private/auth(, which is missing|, and nobody answers there)" \
        "Dovecot down: the socket"
expect_match "$(field_of port.smtps summary)" "^smtps fails because Dovecot's auth socket .* is (missing|dead)" "Dovecot down: port.smtps names the cause"
expect_match "$(field_of port.smtps remedy)" "see config\\.sasl" "Dovecot down: points at config.sasl"
if grep -q "certificate" <<<"$(field_of port.smtps fix)"; then
        not_ok "Dovecot down: the smtps remedy talks about certificates"
else
        ok "Dovecot down: no certificate advice for smtps"
fi
expect_match "$(field_of smtp.auth summary :587)" "Dovecot's auth socket" "Dovecot down: smtp.auth on 587 names the cause"
fix config.sasl
wait_for_port 143 10 || not_ok "Dovecot down: the remedy did not start Dovecot"
# Postfix resumes the paused services by itself; bounded wait.
for _ in $(seq 30); do
        check --only config,smtp
        [ "$(status_of smtp.auth :465)" = ok ] && [ "$(status_of smtp.auth :587)" = ok ] && break
        sleep 1
done
expect_eq "$(status_of config.sasl)" ok "Dovecot down: config.sasl ok after the remedy"
expect_eq "$(status_of smtp.auth :465)" ok "Dovecot down: smtps authenticates again"

# The socket there, but Postfix's user may not connect to it: still nobody can log in.
sed -i 's/^    mode = 0666$/    mode = 0600/' /etc/dovecot/local.conf
doveadm reload; sleep 0.7; wait_for_port 143 10
check --only config
expect_eq "$(status_of config.sasl)" critical "auth socket 0600 root: config.sasl critical"
expect_match "$(field_of config.sasl summary)" "user postfix\\) may not connect" "auth socket 0600 root: says who cannot"
sed -i 's/^    mode = 0600$/    mode = 0666/' /etc/dovecot/local.conf
doveadm reload; sleep 0.7; wait_for_port 143 10

# ---- 8. Old protocols: every one accepted is named. ----
step "8 old protocols"
postconf -e 'smtpd_tls_protocols = >=TLSv1' 'smtpd_tls_mandatory_protocols = >=TLSv1' \
        'tls_medium_cipherlist = DEFAULT:@SECLEVEL=0' 'smtpd_tls_ciphers = medium'
reload_all
check --only tls
expect_eq "$(status_of tls.smtp.protocol)" warning "TLS 1.0 and 1.1: warning"
expect_match "$(field_of tls.smtp.protocol summary)" "still accepts TLS 1\\.0 and TLS 1\\.1" "TLS 1.0 and 1.1: both named"
expect_match "$(field_of tls.smtp.protocol detail)" "TLS 1\\.0 offered alone: accepted" "TLS 1.0 and 1.1: detail per protocol"
fix tls.smtp.protocol
check --only tls
expect_eq "$(status_of tls.smtp.protocol)" ok "old protocols: ok after the remedy"
postconf -X tls_medium_cipherlist smtpd_tls_ciphers

# ---- 9. A certificate renewed on disk, still served old by Dovecot alone. ----
step "9 renewed certificate"
use_cert soon
# Dovecot's reload is asynchronous: its config process must have read the "soon" certificate
# before the file is renewed under it, or it reads the renewed one (bounded wait).
dovecot_serves() { # PEM: Dovecot's IMAP STARTTLS certificate is PEM's
        local want got
        want=$(openssl x509 -noout -fingerprint -sha256 -in "$1")
        got=$(timeout 5 openssl s_client -starttls imap -connect 127.0.0.1:143 </dev/null 2>/dev/null |
                openssl x509 -noout -fingerprint -sha256 2>/dev/null)
        [ -n "$got" ] && [ "$got" = "$want" ]
}
wait_for 20 dovecot_serves "$P/soon.pem" || not_ok "Dovecot does not serve the 'soon' certificate after its reload"
cp "$P/valid.pem" "$P/cur.pem"; cp "$P/valid.key" "$P/cur.key"
postfix reload >/dev/null 2>&1; sleep 0.7; wait_for_port 25 10
check --only tls
expect_eq "$(status_of tls.smtp.expiry)" ok "renewed: Postfix serves the new certificate"
expect_eq "$(status_of tls.imap.expiry)" warning "renewed: Dovecot still serves the old one"
expect_match "$(field_of tls.imap.expiry remedy)" "already renewed.*Dovecot still serves the old one" "renewed: says so"
expect_eq "$(field_of tls.imap.expiry commands)" "doveadm reload" "renewed: the command reloads Dovecot"
fix tls.imap.expiry
sleep 0.7; wait_for_port 143 10
check --only tls
expect_eq "$(status_of tls.imap.expiry)" ok "renewed: ok after reloading Dovecot"

# ---- 10. Monitoring output on a broken server: a short Nagios first line, Prometheus
# names that promtool accepts. ----
step "10 monitoring output"
rm -f /etc/aliases.db
postconf -e 'smtpd_tls_protocols = >=TLSv1'
postfix reload >/dev/null 2>&1; sleep 0.7; wait_for_port 25 10
"$MXDECK" check --format nagios --timeout 5 --ca-file "$P/ca.pem" >"$T/nagios"
first=$(head -1 "$T/nagios" | sed 's/ | .*//')
[ "${#first}" -le 200 ] && ok "nagios: first line ${#first} <= 200 characters" || not_ok "nagios: first line ${#first} characters: $first"
expect_match "$first" "^MXDECK CRITICAL: " "nagios: status first"
"$MXDECK" check --format prometheus --timeout 5 --ca-file "$P/ca.pem" >"$T/prom"
grep -q '^mxdeck_certificate_expiry_seconds{id="tls.smtp.expiry"' "$T/prom" && ok "prometheus: expiry in seconds" \
        || not_ok "prometheus: no mxdeck_certificate_expiry_seconds"
if grep -q days_left "$T/prom"; then not_ok "prometheus: a days metric is left"; else ok "prometheus: no days metric"; fi
if command -v promtool >/dev/null; then
        if promtool check metrics <"$T/prom" >"$T/promtool" 2>&1; then
                ok "promtool check metrics accepts the output"
        else
                not_ok "promtool check metrics: $(tr '\n' ' ' <"$T/promtool")"
        fi
else
        note "promtool is not installed: the Prometheus lint was not run"
fi

finish
