#!/usr/bin/env bash
# mxdeck setup with [tls] source = acme in a lab host, against pebble (the ACME test server)
# on loopback: no network. certbot gets a certificate with the http-01 challenge answered
# by its standalone server on port 80 of the lab's namespace; Postfix and Dovecot serve it;
# the key is 0600; the deploy hook is installed, and a forced renewal runs it, so the
# daemons serve the renewed certificate (cert.renewal ok); rollback removes the lineage and
# the hook and restores main.cf byte for byte.
# pebble's HTTPS uses a CA made here; that CA and pebble's issuing root are the answers'
# acme_ca_bundle, which mxdeck hands to certbot as REQUESTS_CA_BUNDLE (spawn's environment).
set -u
here=$(cd "$(dirname "$0")" && pwd)
# two setup runs and more in one lab: more than lib.sh's default bound (meson allows 450 s)
export LAB_TIMEOUT=${LAB_TIMEOUT:-420}
. "$here/lib.sh"
command -v pebble >/dev/null || skip "pebble is not installed (Debian package pebble; scripts/bootstrap)"
command -v certbot >/dev/null || skip "certbot is not installed (Debian package certbot; scripts/bootstrap)"
in_lab_or_reexec --hostname mail.lab.test -- "$0"

T=$(mktemp -d /root/mxdeck-acme.XXXXXX)
jq_() { python3 "$here/jsonq.py" "$@"; }

# pebble resolves the name it validates through the system resolver: /etc/hosts
grep -q "mail.lab.test" /etc/hosts || echo "127.0.0.1 mail.lab.test" >>/etc/hosts

# pebble's HTTPS certificate, from a CA of our own
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/ca.key" -out "$T/ca.pem" -days 2 \
        -subj "/CN=mxdeck test ACME HTTPS CA" >/dev/null 2>&1
openssl req -newkey rsa:2048 -nodes -keyout "$T/pebble.key" -out "$T/pebble.csr" \
        -subj /CN=localhost >/dev/null 2>&1
openssl x509 -req -in "$T/pebble.csr" -CA "$T/ca.pem" -CAkey "$T/ca.key" -CAcreateserial \
        -days 2 -extfile <(printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n') -out "$T/pebble.pem" >/dev/null 2>&1
cat >"$T/pebble.json" <<EOF
{"pebble": {"listenAddress": "127.0.0.1:14000", "managementListenAddress": "127.0.0.1:15000",
 "certificate": "$T/pebble.pem", "privateKey": "$T/pebble.key",
 "httpPort": 80, "tlsPort": 5001, "ocspResponderURL": "", "externalAccountBindingRequired": false}}
EOF
# no random sleeps, no random nonce rejections: the test is about mxdeck, not about retries
PEBBLE_VA_NOSLEEP=1 PEBBLE_WFE_NONCEREJECT=0 pebble -config "$T/pebble.json" >"$T/pebble.log" 2>&1 &
pebble_pid=$!
pebble_up() { curl -sf --cacert "$T/ca.pem" https://localhost:14000/dir >/dev/null; }
wait_for 30 pebble_up || { cat "$T/pebble.log"; fail "pebble does not answer"; }
ok "pebble answers on loopback"
# the bundle: pebble's HTTPS CA and the root it issues from (made at its start)
cp "$T/ca.pem" "$T/bundle.pem"
curl -sf --cacert "$T/ca.pem" https://localhost:15000/roots/0 >>"$T/bundle.pem" || fail "no pebble root"

pw='acme-Us3r-password'
printf '%s\n' "$pw" >"$T/user.pw"
chmod 600 "$T/user.pw"
cat >"$T/answers.ini" <<EOF
[server]
hostname = mail.lab.test
domain = lab.test

[users]
mode = virtual

[user alice]
password_file = $T/user.pw

[tls]
source = acme
acme_directory = https://localhost:14000/dir
acme_email = admin@lab.test
acme_challenge = standalone
acme_ca_bundle = $T/bundle.pem

[firewall]
services = smtp, submission, smtps, imaps, pop3s, http
EOF
rm -f /etc/postfix/main.cf
postfix stop >/dev/null 2>&1 || true
cp -p /etc/postfix/master.cf "$T/master.before" 2>/dev/null

"$MXDECK" setup --answers "$T/answers.ini" --dry-run >"$T/dry.out" 2>&1
expect_eq "$?" 0 "dry run: changes pending"
expect_match "$(cat "$T/dry.out")" "certbot certonly --non-interactive --agree-tos --email admin@lab.test --server https://localhost:14000/dir" \
        "the plan shows the certbot command"
expect_match "$(cat "$T/dry.out")" "renewal-hooks/deploy/mxdeck-reload" "the plan shows the deploy hook"
[ -e /etc/letsencrypt/live/mail.lab.test ] && not_ok "dry run asked for a certificate" || ok "dry run asked for nothing"

"$MXDECK" setup --answers "$T/answers.ini" --yes >"$T/run1.log" 2>&1
rc=$?
expect_eq "$rc" 0 "setup with acme: changed and verified"
[ "$rc" = 0 ] || { tail -40 "$T/run1.log"; tail -20 "$T/pebble.log"; }
tx=$(sed -n -e 's/^Done: transaction \([^ ]*\).*/\1/p' -e 's/^Undo what was done so far with: mxdeck rollback \([^ ]*\).*/\1/p' "$T/run1.log" | head -1)
live=/etc/letsencrypt/live/mail.lab.test
expect_eq "$(postconf -h smtpd_tls_cert_file)" "$live/fullchain.pem" "Postfix uses certbot's fullchain"
expect_eq "$(stat -L -c %a "$live/privkey.pem")" 600 "the private key is 0600"
expect_eq "$(stat -c %a /etc/letsencrypt/renewal-hooks/deploy/mxdeck-reload)" 755 "the deploy hook is installed"
issuer() {
        openssl s_client -connect 127.0.0.1:993 -servername mail.lab.test </dev/null 2>/dev/null |
                openssl x509 -noout -issuer -serial 2>/dev/null
}
expect_match "$(issuer)" "issuer=.*[Pp]ebble" "IMAPS serves the certificate pebble issued"
serial1=$(issuer | sed -n 's/^serial=//p')

# the check: served = on disk
"$MXDECK" check --only cert --format json >"$T/c1.json" 2>/dev/null
expect_eq "$(python3 -c 'import json,sys; print(sorted(f["status"] for f in json.load(sys.stdin)["findings"] if f["id"] == "cert.renewal"))' <"$T/c1.json")" \
        "['ok', 'ok']" "cert.renewal ok for Postfix and Dovecot"

# a renewal: certbot runs the deploy hook, the daemons reload, the new certificate is served
# (without a terminal certbot would wait a random 0-8 minutes first: --no-random-sleep-on-renew;
# bounded, so that a hang says where it hung instead of using up the lab's time)
REQUESTS_CA_BUNDLE="$T/bundle.pem" timeout 120 certbot renew --force-renewal --non-interactive --no-random-sleep-on-renew >"$T/renew.log" 2>&1
rc=$?
expect_eq "$rc" 0 "certbot renew --force-renewal"
[ "$rc" = 0 ] || note "certbot: $(tail -40 /var/log/letsencrypt/letsencrypt.log) pebble: $(tail -8 "$T/pebble.log") ps: $(ps -eo pid,etime,args | grep -E 'certbot|reload|doveadm|postfix' | grep -v grep)"
expect_match "$(grep -i "deploy-hook" /var/log/letsencrypt/letsencrypt.log | tail -3)" "mxdeck-reload" "certbot ran mxdeck's deploy hook"
renewed_served() { s=$(issuer | sed -n 's/^serial=//p'); [ -n "$s" ] && [ "$s" != "$serial1" ]; }
if wait_for 20 renewed_served; then ok "after the renewal IMAPS serves the new certificate (the hook reloaded Dovecot)"; else not_ok "still the old certificate after renewal"; fi
"$MXDECK" check --only cert --format json >"$T/c2.json" 2>/dev/null
expect_eq "$(python3 -c 'import json,sys; print(sorted(f["status"] for f in json.load(sys.stdin)["findings"] if f["id"] == "cert.renewal"))' <"$T/c2.json")" \
        "['ok', 'ok']" "cert.renewal ok after the renewal: both daemons reloaded"

# a second run: the certificate is there and valid, nothing to change
timeout 150 "$MXDECK" setup --answers "$T/answers.ini" --yes >"$T/run2.log" 2>&1
rc=$?
expect_eq "$rc" 3 "second run: nothing to change"
[ "$rc" = 3 ] || note "$(tail -15 "$T/run2.log")"

timeout 150 "$MXDECK" rollback "$tx" >"$T/rollback.log" 2>&1
rc=$?
expect_eq "$rc" 0 "rollback"
[ "$rc" = 0 ] || note "$(tail -15 "$T/rollback.log")"
[ -e "$live" ] && not_ok "the certificate lineage is still there after rollback" || ok "rollback deleted the certificate (certbot delete)"
[ -e /etc/letsencrypt/renewal-hooks/deploy/mxdeck-reload ] && not_ok "the hook is still there" || ok "rollback removed the deploy hook"
[ -e /etc/postfix/main.cf ] && not_ok "main.cf still there after rollback" || ok "main.cf removed again (it did not exist before)"
if cmp -s "$T/master.before" /etc/postfix/master.cf; then ok "master.cf byte-identical after rollback"; else not_ok "master.cf differs after rollback"; fi

kill "$pebble_pid" 2>/dev/null
postfix stop >/dev/null 2>&1
doveadm stop >/dev/null 2>&1
finish
