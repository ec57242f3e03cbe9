#!/usr/bin/env bash
# dns.* and dnsbl.* against a real authoritative nsd on loopback in a lab host, serving the
# zones of tests/data/dns/: one correct mail domain (signed, with MTA-STS, TLS-RPT and TLSA,
# validated by unbound with the test's trust anchor) and broken variants (MX to a CNAME,
# two SPF records, 11 SPF lookups through nested includes, +all, void lookups, DKIM 1024-bit
# and malformed base64, DMARC missing and p=none, external rua, PTR missing and mismatched,
# TLSA not matching the live STARTTLS certificate, MTA-STS not covering the MX, expired
# DNSSEC signatures, blocklists answering 127.0.0.2 and 127.255.255.254), a TXT answer too
# big for UDP, an IDN, a resolver that never answers; then `mxdeck dns records` loaded into
# nsd and checked.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
in_lab_or_reexec --hostname mail.example.test -- "$0" "$@"

. "$here/dns-setup.sh"

jq_() { python3 "$here/jsonq.py" "$@"; }
RESOLVER=127.0.0.1
# check_json ARGS...: mxdeck check --format json into $T/out.json, exit status into $T/rc.
check_json() {
        "$MXDECK" check --format json --config "$T/mxdeck.conf" --resolver "$RESOLVER" --ca-file "$P/ca.pem" "$@" \
                >"$T/out.json"
        echo $? >"$T/rc"
}
status_of() { jq_ status "$@" <"$T/out.json"; }
field_of() { jq_ field "$@" <"$T/out.json"; }

printf '[dns]\ndnsbl_zones = bl.lab.test, dbl.lab.test\n' >"$T/mxdeck.conf"

# ---- 1. the correct domain, through the validating unbound: every finding is ok ----
RESOLVER=127.0.0.2
check_json --only dns,dnsbl --domain example.test --host mail.example.test --selector mail
expect_eq "$(jq_ overall <"$T/out.json")" ok "correct domain: overall ok"
expect_eq "$(cat "$T/rc")" 0 "correct domain: exit status"
for id in dns.mx dns.host-a dns.spf dns.dkim dns.dmarc dns.mta-sts dns.tlsrpt dns.tlsa dns.dnssec \
        dnsbl.bl.lab.test dnsbl.dbl.lab.test; do
        expect_eq "$(status_of $id)" ok "correct domain: $id"
done
expect_eq "$(status_of dns.ptr 192.0.2.25)" ok "PTR of 192.0.2.25 is the HELO name"
expect_eq "$(status_of dns.ptr 2001:db8::25)" ok "PTR of 2001:db8::25 (IPv6) is the HELO name"
expect_eq "$(status_of dns.fcrdns 192.0.2.25)" ok "192.0.2.25 is forward-confirmed"
expect_match "$(field_of dns.dkim detail)" "matches the local key /etc/mxdeck/dkim/mail.private" "DKIM key matches the local key"
expect_match "$(field_of dns.spf detail)" "192.0.2.25: pass" "SPF authorises the host"
expect_match "$(field_of dns.spf detail)" "over TCP" "the TXT answer was truncated over UDP and read over TCP"
expect_match "$(field_of dns.dnssec summary)" "AD from the resolver" "DNSSEC: validated by unbound"
expect_match "$(field_of dns.tlsa detail)" "3 1 1 \\(DANE-EE\\): matches" "TLSA 3 1 1 matches the STARTTLS certificate"
RESOLVER=127.0.0.1

# the selector comes from the local key when not given
check_json --only dns --domain example.test --host mail.example.test
expect_eq "$(status_of dns.dkim)" ok "DKIM selector found in /etc/mxdeck/dkim"

# no key and no signing milter: the server does not sign at all, a warning with the set-up
mv /etc/mxdeck/dkim/mail.private "$T/mail.private"
made_cf=
[ -e /etc/postfix/main.cf ] || { : >/etc/postfix/main.cf; made_cf=1; }   # Postfix with its defaults
check_json --only dns --domain example.test --host mail.example.test
expect_eq "$(status_of dns.dkim)" warning "not signing: dns.dkim warning"
expect_match "$(field_of dns.dkim summary)" "not DKIM-signed" "not signing: says so"
expect_match "$(field_of dns.dkim fix)" "opendkim-genkey -b 2048 -d example.test -s [0-9]{6} -D /etc/dkimkeys" \
        "not signing: the commands make a key"
postconf -e 'smtpd_milters = inet:127.0.0.1:8891'
check_json --only dns --domain example.test --host mail.example.test
expect_eq "$(status_of dns.dkim)" unknown "a milter but no selector: cannot tell, unknown"
postconf -X smtpd_milters
[ -n "$made_cf" ] && rm -f /etc/postfix/main.cf
mv "$T/mail.private" /etc/mxdeck/dkim/mail.private

# ---- 2. MX ----
check_json --only dns --domain cname-mx.test --host mail.example.test --selector mail
expect_eq "$(status_of dns.mx)" critical "MX target is a CNAME"
expect_match "$(field_of dns.mx summary)" "alias" "MX CNAME: summary says alias"
check_json --only dns --domain nomx.test --host mail.example.test --selector mail
expect_eq "$(status_of dns.mx)" critical "no MX"
expect_match "$(field_of dns.mx remedy)" "nomx.test. 3600 IN MX 10 mail.example.test." "no MX: remedy is the record"
check_json --only dns --domain example.test --host mail3.example.test --selector mail
expect_eq "$(status_of dns.mx)" warning "MX does not point at this host"

# ---- 3. PTR / FCrDNS ----
check_json --only dns --domain example.test --host mail2.example.test --selector mail
expect_eq "$(status_of dns.ptr 192.0.2.26)" warning "PTR is not the HELO name"
expect_eq "$(status_of dns.fcrdns 192.0.2.26)" critical "PTR name does not resolve back"
check_json --only dns --domain example.test --host mail3.example.test --selector mail
expect_eq "$(status_of dns.ptr 192.0.2.27)" critical "no PTR"
expect_match "$(field_of dns.ptr remedy)" "hosting provider.*192.0.2.27.*mail3.example.test" "no PTR: what to ask the provider"

# ---- 4. SPF ----
check_json --only dns --domain twospf.test --host mail.example.test --selector mail
expect_eq "$(status_of dns.spf)" critical "two SPF records"
check_json --only dns --domain plusall.test --host mail.example.test --selector mail
expect_eq "$(status_of dns.spf)" critical "+all"
expect_match "$(field_of dns.spf summary)" "\\+all" "+all named"
check_json --only dns --domain deep.test --host mail.example.test --selector mail
expect_eq "$(status_of dns.spf)" critical "11 lookups through nested includes"
expect_match "$(field_of dns.spf summary)" "11 DNS lookups" "11 lookups counted"
check_json --only dns --domain voids.test --host mail.example.test --selector mail
expect_eq "$(status_of dns.spf)" warning "3 void lookups (after the term that authorises the host)"
check_json --only dns --domain nospf.test --host mail.example.test --selector mail
expect_eq "$(status_of dns.spf)" critical "no SPF record"
check_json --only dns --domain notauth.test --host mail.example.test --selector mail
expect_eq "$(status_of dns.spf)" critical "SPF does not authorise the host"
expect_match "$(field_of dns.spf remedy)" "ip4:192.0.2.25" "SPF remedy names the address"

# ---- 5. DKIM ----
check_json --only dns --domain example.test --host mail.example.test --selector s1024
expect_eq "$(status_of dns.dkim)" warning "1024-bit DKIM key"
check_json --only dns --domain example.test --host mail.example.test --selector bad
expect_eq "$(status_of dns.dkim)" critical "malformed base64 in p="
check_json --only dns --domain example.test --host mail.example.test --selector revoked
expect_eq "$(status_of dns.dkim)" critical "revoked key"
check_json --only dns --domain example.test --host mail.example.test --selector missing
expect_eq "$(status_of dns.dkim)" critical "no key record for the selector"
# the published key differs from the local one
openssl genrsa -out /etc/mxdeck/dkim/s1024.private 1024 2>/dev/null
check_json --only dns --domain example.test --host mail.example.test --selector s1024
expect_eq "$(status_of dns.dkim)" critical "published DKIM key is not the local key"
rm -f /etc/mxdeck/dkim/s1024.private

# ---- 6. DMARC ----
check_json --only dns --domain nodmarc.test --host mail.example.test --selector mail
expect_eq "$(status_of dns.dmarc)" critical "no DMARC record"
check_json --only dns --domain dmarcnone.test --host mail.example.test --selector mail
expect_eq "$(status_of dns.dmarc)" warning "p=none"
expect_match "$(field_of dns.dmarc remedy)" "p=quarantine.*p=reject" "p=none: staged remedy"
check_json --only dns --domain extrua.test --host mail.example.test --selector mail
expect_eq "$(status_of dns.dmarc)" warning "rua outside the domain without authorisation"
expect_match "$(field_of dns.dmarc remedy)" "extrua.test._report._dmarc.reports.test" "authorisation record named"
check_json --only dns --domain authrua.test --host mail.example.test --selector mail
expect_eq "$(status_of dns.dmarc)" ok "rua outside the domain with authorisation"

# ---- 6b. MTA-STS, TLS-RPT, TLSA, DNSSEC ----
check_json --only dns --domain stsbad.test --host mail.example.test --selector mail
expect_eq "$(status_of dns.mta-sts)" critical "MTA-STS policy (enforce) does not cover the MX"
expect_eq "$(status_of dns.tlsrpt)" warning "no TLS-RPT record"
check_json --only dns --domain stsnofetch.test --host mail.example.test --selector mail
expect_eq "$(status_of dns.mta-sts)" critical "MTA-STS record without a policy to fetch"
check_json --only dns --domain nodmarc.test --host mail.example.test --selector mail
expect_eq "$(status_of dns.mta-sts)" warning "no MTA-STS"
check_json --only dns --domain example.test --host mail2.example.test --selector mail
expect_eq "$(status_of dns.tlsa)" critical "TLSA does not match the live certificate"
RESOLVER=127.0.0.2
check_json --only dns --domain bogus.test --host mail.example.test --selector mail
expect_eq "$(status_of dns.dnssec)" critical "expired signatures behind a validating resolver: bogus"
check_json --only dns --domain nodmarc.test --host mail.example.test --selector mail
expect_eq "$(status_of dns.dnssec)" warning "unsigned zone behind a validating resolver"
RESOLVER=127.0.0.1
check_json --only dns --domain example.test --host mail.example.test --selector mail --trust-anchor "$T/anchors"
expect_eq "$(status_of dns.dnssec)" ok "signed zone validates against --trust-anchor (no validating resolver)"
check_json --only dns --domain bogus.test --host mail.example.test --selector mail --trust-anchor "$T/anchors"
expect_eq "$(status_of dns.dnssec)" critical "expired signatures against --trust-anchor: bogus"
check_json --only dns --domain nodmarc.test --host mail.example.test --selector mail --trust-anchor "$T/anchors"
expect_eq "$(status_of dns.dnssec)" warning "unsigned zone with --trust-anchor"

# ---- 7. blocklists ----
printf '[dns]\ndnsbl_zones = bl.lab.test, refuse.lab.test, dbl.lab.test\n' >"$T/mxdeck.conf"
check_json --only dnsbl --domain twospf.test --host mail2.example.test
expect_eq "$(status_of dnsbl.bl.lab.test)" critical "address listed (127.0.0.2)"
expect_match "$(field_of dnsbl.bl.lab.test detail)" "bl.lab.test/192.0.2.26" "listing reason from TXT"
expect_eq "$(status_of dnsbl.refuse.lab.test)" unknown "127.255.255.254 is unknown, never listed"
expect_match "$(field_of dnsbl.refuse.lab.test remedy)" "own.*resolver" "refusal: use your own resolver"
expect_eq "$(status_of dnsbl.dbl.lab.test)" critical "domain listed on a domain list"
check_json --only dnsbl --domain example.test --host mail.example.test
expect_eq "$(status_of dnsbl.bl.lab.test)" ok "address not listed"
printf '[dns]\ndnsbl_zones = bl.lab.test, dbl.lab.test\n' >"$T/mxdeck.conf"

# ---- 8. an internationalised domain ----
check_json --only dns --domain 例子.test --host mail.example.test --selector mail
expect_eq "$(status_of dns.mx)" ok "IDN domain converted (例子.test -> xn--fsqu00a.test)"

# ---- 8b. hostile records: bounded, reported, never raw on the terminal ----
check_json --only dns --domain hugespf.test --host mail.example.test --selector mail
expect_eq "$(status_of dns.spf)" critical "SPF record over 4 KiB: refused and reported"
expect_match "$(field_of dns.spf summary)" "longer than mxdeck reads" "oversized SPF: summary says so"
check_json --only dns --domain escdmarc.test --host mail.example.test --selector mail
expect_eq "$(status_of dns.dmarc)" critical "escape sequences in a DMARC record: does not parse"
"$MXDECK" check --color never --verbose --config "$T/mxdeck.conf" --resolver 127.0.0.1 --only dns \
        --domain escdmarc.test --host mail.example.test --selector mail >"$T/out.txt"
expect_no_escape "$T/out.txt" "escape sequences from DNS do not reach the terminal"

# ---- 9. a resolver that never answers: unknown within the time bound ----
python3 -c 'import socket,time; s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); s.bind(("127.0.0.1",5399)); time.sleep(60)' &
silent=$!
wait_for_udp_port 5399 10 || fail "the silent resolver did not bind 127.0.0.1:5399"
start=$(date +%s%N)
"$MXDECK" check --format json --config "$T/mxdeck.conf" --resolver 127.0.0.1:5399 --timeout 2 --only dns,dnsbl \
        --domain example.test --host mail.example.test --selector mail >"$T/out.json"
echo $? >"$T/rc"
ms=$((($(date +%s%N) - start) / 1000000))
kill "$silent"
expect_eq "$(cat "$T/rc")" 3 "silent resolver: exit status unknown"
expect_eq "$(status_of dns.mx)" unknown "silent resolver: dns.mx unknown"
expect_eq "$(status_of dnsbl.bl.lab.test)" unknown "silent resolver: dnsbl never listed"
expect_match "$(field_of dns.mx summary)" "no answer from the resolver" "silent resolver: summary says so"
if [ "$ms" -lt 4000 ]; then ok "silent resolver: done in $ms ms (limit 2 s + slack)"; else fail "silent resolver took $ms ms"; fi

# ---- 10. `mxdeck dns records` loaded into nsd unchanged, then checked ----
"$MXDECK" dns records --domain fresh.test --host mx.fresh.test >"$T/records.zone" || fail "dns records failed"
"$MXDECK" dns records --domain fresh.test --host mx.fresh.test --format json >"$T/records.json" ||
        fail "dns records --format json failed"
if python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["schema"]=="mxdeck.records/1"; assert any(r["type"]=="MX" for r in d["records"])' "$T/records.json"; then
        ok "dns records --format json parses"
else
        fail "dns records --format json"
fi
expect_match "$(grep -c '_domainkey' "$T/records.zone")" "^[1-9]" "records: DKIM from /etc/mxdeck/dkim/mail.private"
longest=$(grep -o '"[^"]*"' "$T/records.zone" | awk '{ if (length($0) - 2 > m) m = length($0) - 2 } END { print m }')
if [ "$longest" -le 255 ]; then ok "records: no TXT string over 255 bytes (longest $longest)"; else fail "TXT string of $longest bytes"; fi
expect_match "$(cat "$T/records.zone")" "25.2.0.192.in-addr.arpa. IN PTR mx.fresh.test." "records: PTR request for the interface address"
{
        printf '$ORIGIN fresh.test.\n@ 300 SOA ns.test. hostmaster.test. 1 3600 900 604800 300\n@ 300 NS ns.test.\n'
        cat "$T/records.zone"
} >"$Z/fresh.test.zone"
# the hosting provider does what the PTR request says
{
        printf '$ORIGIN 2.0.192.in-addr.arpa.\n$TTL 300\n@ SOA ns.test. hostmaster.test. 1 3600 900 604800 300\n@ NS ns.test.\n'
        sed -n 's/^;   \([0-9.]*in-addr.arpa\.\) IN PTR \(.*\)$/\1 PTR \2/p' "$T/records.zone"
} >"$Z/2.0.192.in-addr.arpa.zone"
{
        printf '$ORIGIN 8.b.d.0.1.0.0.2.ip6.arpa.\n$TTL 300\n@ SOA ns.test. hostmaster.test. 1 3600 900 604800 300\n@ NS ns.test.\n'
        sed -n 's/^;   \([0-9a-f.]*ip6.arpa\.\) IN PTR \(.*\)$/\1 PTR \2/p' "$T/records.zone"
} >"$Z/8.b.d.0.1.0.0.2.ip6.arpa.zone"
# shellcheck disable=SC2086
nsd_start $ZONES fresh.test
ok "the records load into nsd unchanged"
check_json --only dns --domain fresh.test --host mx.fresh.test
for id in dns.mx dns.host-a dns.spf dns.dkim; do
        expect_eq "$(status_of $id)" ok "published records: $id"
done
expect_eq "$(status_of dns.ptr 192.0.2.25)" ok "published records: dns.ptr"
expect_eq "$(status_of dns.fcrdns 192.0.2.25)" ok "published records: dns.fcrdns"
# DMARC starts at p=none and the zone is not signed: warnings by design (their remedies are
# the next steps); nothing is critical or unknown.
expect_eq "$(status_of dns.dmarc)" warning "published records: DMARC stage 1 (p=none) is a warning"
expect_eq "$(status_of dns.dnssec)" warning "published records: unsigned zone is a warning"
expect_eq "$(cat "$T/rc")" 1 "published records: exit status 1 (warnings only)"
"$MXDECK" dns records --domain fresh.test --host mx.fresh.test --mta-sts >"$T/records-sts.zone" ||
        fail "dns records --mta-sts failed"
{
        printf '$ORIGIN fresh.test.\n@ 300 SOA ns.test. hostmaster.test. 1 3600 900 604800 300\n@ 300 NS ns.test.\n'
        cat "$T/records-sts.zone"
} >"$T/fresh-sts.zone"
if nsd-checkzone fresh.test "$T/fresh-sts.zone" >/dev/null 2>&1; then
        ok "the --mta-sts records load too"
else
        fail "the --mta-sts records do not load"
fi

finish
