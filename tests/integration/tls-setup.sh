# Shared by check-tls.sh and tests/bench/bench-listeners.sh, sourced inside a lab host
# (after lib.sh): a private CA and certificates, Postfix on 25/587/465 and Dovecot on
# 143/993/110/995 with TLS, both started with the valid certificate. Defines P (the PKI
# directory), reload and use_cert NAME.
P=/etc/mxdeck-test-pki

# The host name resolves the usual way (/etc/hosts), so no --connect is needed.
echo "127.0.0.1 mail.lab.test mail" >>/etc/hosts

# ---- Certificates: a private CA and leaves signed with `openssl ca` (which, unlike
# `openssl req` in OpenSSL 3.0, can set a start date in the past). ----
mkdir -p "$P/ca/newcerts"
: >"$P/ca/index.txt"
echo 1000 >"$P/ca/serial"
cat >"$P/ca.cnf" <<EOF
[ca]
default_ca = lab
[lab]
dir = $P/ca
database = \$dir/index.txt
new_certs_dir = \$dir/newcerts
serial = \$dir/serial
default_md = sha256
policy = anything
copy_extensions = copy
unique_subject = no
x509_extensions = leaf
[anything]
commonName = supplied
[leaf]
basicConstraints = CA:FALSE
keyUsage = digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
EOF
openssl req -x509 -newkey rsa:2048 -nodes -days 365 -subj "/CN=mxdeck lab CA" \
        -keyout "$P/ca.key" -out "$P/ca.pem" 2>/dev/null || fail "cannot make the CA"

# leaf NAME CN SAN CA-ARGS...: a key and a certificate signed by the lab CA.
leaf() {
        local name=$1 cn=$2 san=$3
        shift 3
        openssl req -new -newkey rsa:2048 -nodes -subj "/CN=$cn" -addext "subjectAltName=$san" \
                -keyout "$P/$name.key" -out "$P/$name.csr" 2>/dev/null &&
                openssl ca -batch -notext -config "$P/ca.cnf" -cert "$P/ca.pem" -keyfile "$P/ca.key" \
                        -in "$P/$name.csr" -out "$P/$name.pem" "$@" 2>/dev/null || fail "cannot make certificate $name"
}
leaf valid mail.lab.test "DNS:mail.lab.test" -days 90
leaf soon mail.lab.test "DNS:mail.lab.test" -days 10
leaf expired mail.lab.test "DNS:mail.lab.test" -startdate 20250101000000Z -enddate 20250301000000Z
leaf wrongname other.example.test "DNS:other.example.test,DNS:*.lab.example" -days 90
leaf wildcard "*.lab.test" "DNS:*.lab.test" -days 90
openssl req -x509 -newkey rsa:2048 -nodes -days 90 -subj /CN=mail.lab.test -addext subjectAltName=DNS:mail.lab.test \
        -keyout "$P/selfsigned.key" -out "$P/selfsigned.pem" 2>/dev/null || fail "cannot make the self-signed certificate"
chmod 600 "$P"/*.key

# ---- Postfix: 25, submission 587 and smtps 465, TLS, SASL through Dovecot. mynetworks is
# 127.0.0.1 only: the probes come from 127.0.0.2, a stranger. ----
cat >/etc/postfix/main.cf <<CF
compatibility_level = 3.6
myhostname = mail.lab.test
mydomain = lab.test
mydestination = \$myhostname, localhost
inet_interfaces = loopback-only
inet_protocols = ipv4
mynetworks = 127.0.0.1/32
smtpd_relay_restrictions = permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination
alias_maps = hash:/etc/aliases
smtpd_tls_cert_file = $P/cur.pem
smtpd_tls_key_file = $P/cur.key
smtpd_tls_security_level = may
smtpd_tls_auth_only = yes
# Debian's Postfix still accepts TLS 1.0 and 1.1 by default: the good setup says no.
smtpd_tls_protocols = >=TLSv1.2
smtpd_tls_mandatory_protocols = >=TLSv1.2
smtpd_sasl_type = dovecot
smtpd_sasl_path = private/auth
smtpd_sasl_auth_enable = yes
CF
postconf -M submission/inet="submission inet n - y - - smtpd"
postconf -P submission/inet/smtpd_tls_security_level=encrypt submission/inet/smtpd_sasl_auth_enable=yes
postconf -M smtps/inet="smtps inet n - y - - smtpd"
postconf -P smtps/inet/smtpd_tls_wrappermode=yes smtps/inet/smtpd_sasl_auth_enable=yes
newaliases

# ---- Dovecot: imap, imaps, pop3, pop3s on loopback; its auth socket serves Postfix. ----
cat >/etc/dovecot/local.conf <<CF
protocols = imap pop3
listen = 127.0.0.1
ssl = yes
ssl_cert = <$P/cur.pem
ssl_key = <$P/cur.key
disable_plaintext_auth = yes
service auth {
  unix_listener /var/spool/postfix/private/auth {
    mode = 0666
  }
}
CF

# Debian's 10-ssl.conf names these files before local.conf overrides them: they must exist.
mkdir -p /etc/dovecot/private
ln -sf "$P/cur.pem" /etc/dovecot/private/dovecot.pem
ln -sf "$P/cur.key" /etc/dovecot/private/dovecot.key

cp "$P/valid.pem" "$P/cur.pem"
cp "$P/valid.key" "$P/cur.key"
postfix start >/dev/null 2>&1 || fail "postfix start failed: $(postfix check 2>&1 | tail -3)"
dovecot || fail "dovecot failed to start: $(doveconf -n 2>&1 | tail -3)"
for p in 25 587 465 143 993 110 995; do
        wait_for_port "$p" 10 || fail "nothing listens on $p"
done

# reload: both daemons re-read their configuration and certificate.
reload() {
        reload_mail_daemons 15 || fail "postfix/dovecot reload did not take effect within 15 s"
        for p in 25 587 465 143 993 110 995; do
                wait_for_port "$p" 10 || fail "nothing listens on $p after reload"
        done
}
use_cert() {
        cp "$P/$1.pem" "$P/cur.pem"
        cp "$P/$1.key" "$P/cur.key"
        reload
}
