# shellcheck shell=bash
# Sourced by check-dns.sh and tests/bench/bench-dns.sh inside a lab host: the DNS world of
# tests/data/dns/ on loopback. Sets T (scratch), Z (zone files), P (PKI), ZONES, and
# defines nsd_start ZONE... (restart nsd with these zones) and txt_strings. Afterwards:
#   nsd     127.0.0.1:53  zones test, example.test (signed), bogus.test (expired
#                         signatures), the reverse zones of 192.0.2.0/24 and 2001:db8::/32
#   unbound 127.0.0.2:53  validating, the test's trust anchors in $T/anchors
#   HTTPS   :443          the MTA-STS policy (certificate by the CA $P/ca.pem)
#   SMTP    :25           STARTTLS with the certificate of mail.example.test (for TLSA)
# and 192.0.2.25, 192.0.2.26, 2001:db8::25 on lo. Needs the lib.sh helpers (fail, skip,
# wait_for_port).
for tool in nsd nsd-checkzone unbound ldns-signzone ldns-keygen openssl python3; do
        command -v $tool >/dev/null || skip "$tool is not installed"
done
dns_setup_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
DATA=${MXDECK_TEST_DATA:-$dns_setup_dir/../data}/dns
T=$(mktemp -d)
Z=$T/zones
P=$T/pki
mkdir -p "$Z" "$P" "$T/keys" "$T/www/.well-known"

# txt_strings TEXT: a zone-file TXT rdata of quoted strings of at most 250 bytes.
txt_strings() { printf '%s' "$1" | fold -w 250 | sed 's/.*/"&"/' | tr '\n' ' '; }

ip link set lo up
ip addr add 192.0.2.25/32 dev lo
ip addr add 192.0.2.26/32 dev lo
ip addr add 2001:db8::25/128 dev lo nodad 2>/dev/null

# ---- certificates: a lab CA, the MTA-STS web server, the SMTP server ----
openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=mxdeck dns lab CA" \
        -keyout "$P/ca.key" -out "$P/ca.pem" 2>/dev/null || fail "cannot make the CA"
# leaf NAME SAN: a key and certificate signed by the lab CA.
leaf() {
        openssl req -new -newkey rsa:2048 -nodes -subj "/CN=$1" -keyout "$P/$1.key" -out "$P/$1.csr" 2>/dev/null &&
                openssl x509 -req -in "$P/$1.csr" -CA "$P/ca.pem" -CAkey "$P/ca.key" -CAcreateserial -days 30 \
                        -extfile <(printf 'subjectAltName=%s\n' "$2") -out "$P/$1.pem" 2>/dev/null ||
                fail "cannot make the certificate of $1"
}
leaf mta-sts.example.test "DNS:mta-sts.example.test,DNS:mta-sts.stsbad.test"
leaf mail.example.test "DNS:mail.example.test,DNS:mail2.example.test"
tlsa=$(openssl x509 -in "$P/mail.example.test.pem" -pubkey -noout | openssl pkey -pubin -outform DER | sha256sum | cut -d' ' -f1)

# ---- zones: DKIM keys, the TLSA digest, signing ----
mkdir -p /etc/mxdeck/dkim
openssl genrsa -out /etc/mxdeck/dkim/mail.private 2048 2>/dev/null || fail "cannot make a DKIM key"
pub2048=$(openssl rsa -in /etc/mxdeck/dkim/mail.private -pubout 2>/dev/null | grep -v -- ----- | tr -d '\n')
pub1024=$(openssl genrsa 1024 2>/dev/null | openssl rsa -pubout 2>/dev/null | grep -v -- ----- | tr -d '\n')
long=$(head -c 1200 /dev/zero | tr '\0' 'x')
huge="v=spf1 $(for i in $(seq 300); do printf 'a:h%d.example.test ' "$i"; done)-all"
fill() {
        sed -e "s|@DKIM2048@|$(txt_strings "v=DKIM1; k=rsa; p=$pub2048")|" \
            -e "s|@DKIM1024@|$(txt_strings "v=DKIM1; k=rsa; p=$pub1024")|" \
            -e "s|@LONGTXT@|$(txt_strings "site-verification=$long")|" \
            -e "s|@HUGESPF@|$(txt_strings "$huge")|" \
            -e "s|@TLSA@|$tlsa|" "$1"
}
fill "$DATA/test.zone.in" >"$Z/test.zone"
fill "$DATA/example.test.zone.in" >"$T/keys/example.test.zone"
cp "$DATA/bogus.test.zone" "$T/keys/"
cp "$DATA/2.0.192.in-addr.arpa.zone" "$DATA/8.b.d.0.1.0.0.2.ip6.arpa.zone" "$Z/"
# sign ZONE [ldns-signzone options]: KSK + ZSK, signed zone into $Z, the KSK's DS to the anchors.
sign() {
        local zone=$1
        shift
        (
                cd "$T/keys" || exit 1
                ksk=$(ldns-keygen -a ECDSAP256SHA256 -k "$zone") && zsk=$(ldns-keygen -a ECDSAP256SHA256 "$zone") &&
                        ldns-signzone "$@" -f "$Z/$zone.zone" "$zone.zone" "$zsk" "$ksk" &&
                        cat "$ksk.ds" >>"$T/anchors"
        ) || fail "cannot sign $zone"
}
sign example.test
sign bogus.test -i 20190101000000 -e 20200101000000

# nsd_start ZONE...: (re)starts nsd on 127.0.0.1:53 with these zones (files $Z/ZONE.zone).
nsd_start() {
        if [ -s "$T/nsd.pid" ]; then
                local old
                old=$(cat "$T/nsd.pid")
                kill "$old" 2>/dev/null
                wait_for_exit "$old" 10 || fail "the old nsd ($old) did not exit"
                wait_for_port_closed 53 10 || fail "127.0.0.1:53 still taken after nsd exited"
        fi
        {
                printf 'server:\n  ip-address: 127.0.0.1@53\n  username: ""\n  zonesdir: "%s"\n' "$Z"
                printf '  database: ""\n  zonelistfile: "%s/zone.list"\n  xfrdfile: "%s/xfrd.state"\n' "$T" "$T"
                printf '  pidfile: "%s/nsd.pid"\n  logfile: "%s/nsd.log"\n  do-ip6: no\n' "$T" "$T"
                printf 'remote-control:\n  control-enable: no\n'
                for z in "$@"; do printf 'zone:\n  name: "%s"\n  zonefile: "%s.zone"\n' "$z" "$z"; done
        } >"$T/nsd.conf"
        for z in "$@"; do
                nsd-checkzone "$z" "$Z/$z.zone" >"$T/checkzone.log" 2>&1 ||
                        fail "zone $z does not load: $(cat "$T/checkzone.log")"
        done
        nsd -c "$T/nsd.conf" || fail "nsd does not start: $(cat "$T/nsd.log" 2>/dev/null)"
        wait_for_port 53 10 || fail "nsd does not listen on 127.0.0.1:53"
}
ZONES="test example.test bogus.test 2.0.192.in-addr.arpa 8.b.d.0.1.0.0.2.ip6.arpa"
# shellcheck disable=SC2086
nsd_start $ZONES

# ---- a validating unbound on 127.0.0.2 with the test's trust anchors ----
cat >"$T/unbound.conf" <<UNBOUND
server:
  interface: 127.0.0.2
  port: 53
  do-ip6: no
  username: ""
  chroot: ""
  directory: "$T"
  pidfile: "$T/unbound.pid"
  use-syslog: no
  logfile: "$T/unbound.log"
  do-not-query-localhost: no
  access-control: 127.0.0.0/8 allow
  module-config: "validator iterator"
  trust-anchor-file: "$T/anchors"
  local-zone: "test." nodefault
  local-zone: "2.0.192.in-addr.arpa." nodefault
  local-zone: "8.b.d.0.1.0.0.2.ip6.arpa." nodefault
remote-control:
  control-enable: no
stub-zone:
  name: "test."
  stub-addr: 127.0.0.1@53
stub-zone:
  name: "2.0.192.in-addr.arpa."
  stub-addr: 127.0.0.1@53
stub-zone:
  name: "8.b.d.0.1.0.0.2.ip6.arpa."
  stub-addr: 127.0.0.1@53
UNBOUND
unbound -c "$T/unbound.conf" || fail "unbound does not start: $(cat "$T/unbound.log" 2>/dev/null)"
wait_for_port 53 10 127.0.0.2 || fail "unbound does not listen on 127.0.0.2:53"

# ---- the MTA-STS policy over HTTPS, an SMTP server with STARTTLS for TLSA ----
printf 'version: STSv1\nmode: enforce\nmx: mail.example.test\nmax_age: 604800\n' >"$T/www/.well-known/mta-sts.txt"
(cd "$T/www" && exec openssl s_server -quiet -WWW -accept 443 -cert "$P/mta-sts.example.test.pem" \
        -key "$P/mta-sts.example.test.key" >"$T/https.log" 2>&1) &
cat >"$T/smtpd.py" <<'SMTPD'
import socketserver, ssl, sys
ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
ctx.load_cert_chain(sys.argv[1], sys.argv[2])
class H(socketserver.StreamRequestHandler):
    def handle(self):
        self.wfile.write(b"220 mail.example.test ESMTP\r\n")
        for line in self.rfile:
            verb = line.strip().upper()
            if verb.startswith(b"EHLO"):
                self.wfile.write(b"250-mail.example.test\r\n250 STARTTLS\r\n")
            elif verb == b"STARTTLS":
                self.wfile.write(b"220 go ahead\r\n")
                try:
                    ctx.wrap_socket(self.connection, server_side=True).close()
                except OSError:
                    pass
                return
            else:
                self.wfile.write(b"221 bye\r\n")
                return
socketserver.ThreadingTCPServer.allow_reuse_address = True
socketserver.ThreadingTCPServer(("0.0.0.0", 25), H).serve_forever()
SMTPD
python3 "$T/smtpd.py" "$P/mail.example.test.pem" "$P/mail.example.test.key" &
wait_for_port 443 10 || fail "the HTTPS server for the MTA-STS policy does not start"
wait_for_port 25 10 || fail "the STARTTLS server does not start"

