#!/usr/bin/env bash
# DKIM end to end in a lab host: real OpenDKIM, Postfix, Dovecot, and nsd serving the zone
# of lab.test on 127.0.0.1 (the lab's resolver):
#   setup --yes (DKIM on) -> the DNS plan says which records are there and which are missing
#   -> the key is published in nsd -> a message sent through Postfix carries a
#   DKIM-Signature that opendkim-testmsg verifies against the record nsd serves -> a
#   second run changes nothing -> dkim rotate: start, switch
#   refused until nsd serves the new record, status, switch, a message signed with the new
#   selector verifies, finish refused in the grace period, finish --force -> rollback of
#   the setup (and the rotation after it) -> /etc byte-identical, opendkim stopped.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
in_lab_or_reexec --hostname mail.lab.test -- "$0"

for tool in nsd nsd-checkzone drill opendkim opendkim-testmsg python3; do
        command -v $tool >/dev/null || skip "$tool is not installed (scripts/bootstrap --test installs it)"
done

T=$(mktemp -d /root/mxdeck-dkim.XXXXXX)
Z=$T/zones
mkdir -p "$Z"
pw='c0rrect-Horse-battery'
printf '%s\n' "$pw" >"$T/user.pw"
chmod 600 "$T/user.pw"
cat >"$T/answers.ini" <<EOF
[server]
hostname = mail.lab.test
domain = lab.test
public_ipv4 = 192.0.2.25

[users]
mode = virtual

[user alice]
password_file = $T/user.pw

[dkim]
enabled = yes
EOF

# ---- the DNS world: nsd on 127.0.0.1:53 for lab.test and the reverse zone of 192.0.2.0/24 ----
ip link set lo up
ip addr add 192.0.2.25/32 dev lo
rm -f /etc/resolv.conf
printf 'nameserver 127.0.0.1\n' >/etc/resolv.conf
# MX, the host's A record and SPF are there; DKIM and DMARC are not (yet)
cat >"$T/lab.test.base" <<'EOF'
$TTL 60
@ IN SOA ns.lab.test. hostmaster.lab.test. 1 3600 600 86400 60
@ IN NS ns.lab.test.
ns IN A 127.0.0.1
@ IN MX 10 mail.lab.test.
mail IN A 192.0.2.25
@ IN TXT "v=spf1 mx -all"
EOF
cp "$T/lab.test.base" "$Z/lab.test.zone"
cat >"$Z/2.0.192.in-addr.arpa.zone" <<'EOF'
$TTL 60
@ IN SOA ns.lab.test. hostmaster.lab.test. 1 3600 600 86400 60
@ IN NS ns.lab.test.
25 IN PTR mail.lab.test.
EOF
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
                for z in lab.test 2.0.192.in-addr.arpa; do printf 'zone:\n  name: "%s"\n  zonefile: "%s.zone"\n' "$z" "$z"; done
        } >"$T/nsd.conf"
        nsd-checkzone lab.test "$Z/lab.test.zone" >"$T/checkzone.log" 2>&1 ||
                fail "zone lab.test does not load: $(cat "$T/checkzone.log")"
        nsd -c "$T/nsd.conf" || fail "nsd does not start: $(cat "$T/nsd.log" 2>/dev/null)"
        # its TCP socket accepts before the server processes answer: ask until one does
        wait_for 20 _serves SOA lab.test || fail "nsd does not answer for lab.test: $(cat "$T/nsd.log" 2>/dev/null)"
}
# _serves TYPE NAME: nsd answers the question with at least one record
_serves() {
        [ -n "$(drill -Q @127.0.0.1 "$2" "$1" 2>/dev/null)" ]
}
# publish SELECTOR...: the zone gets the TXT record of each selector (from its key file)
publish() {
        cp "$T/lab.test.base" "$Z/lab.test.zone"
        local s pub
        for s in "$@"; do
                pub=$(openssl pkey -in "/etc/opendkim/keys/lab.test/$s.private" -pubout 2>/dev/null | grep -v -- ----- | tr -d '\n')
                [ -n "$pub" ] || fail "no key for selector $s"
                printf '%s._domainkey IN TXT %s\n' "$s" "$(printf 'v=DKIM1; k=rsa; p=%s' "$pub" | fold -w 250 | sed 's/.*/"&"/' | tr '\n' ' ')" \
                        >>"$Z/lab.test.zone"
        done
        nsd_start
        for s in "$@"; do
                wait_for 20 _serves TXT "$s._domainkey.lab.test" || fail "nsd does not serve the record of $s"
        done
}
nsd_start

snapshot() {
        python3 - "$1" <<'PY'
import hashlib, os, stat, sys
out = []
for d, dirs, files in os.walk("/etc"):
    dirs.sort()
    for name in sorted(files + [x for x in dirs if os.path.islink(os.path.join(d, x))]):
        p = os.path.join(d, name)
        st = os.lstat(p)
        if stat.S_ISLNK(st.st_mode):
            what = "-> " + os.readlink(p)
        elif stat.S_ISREG(st.st_mode):
            with open(p, "rb") as f:
                what = hashlib.sha256(f.read()).hexdigest()
        else:
            what = "special"
        out.append("%s %o %d:%d %s" % (p, stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid, what))
open(sys.argv[1], "w").write("\n".join(out) + "\n")
PY
}
# The lab's /etc is an overlay over the host's: a package another job installs on the host
# meanwhile shows through. Compare what existed before, and everything where mxdeck writes.
relevant() {
        awk 'NR == FNR { seen[$1] = 1; next }
             seen[$1] || $1 ~ /^\/etc\/(opendkim|postfix|dovecot|ssl|mxdeck|mailname|hostname|aliases)/' "$T/before" "$1"
}
rm -f /etc/postfix/main.cf
postfix stop >/dev/null 2>&1 || true
# CI is a loaded 2-core machine: setup's checks get 30 s each instead of 10
mkdir -p /etc/mxdeck
printf '[check]\ntimeout_seconds = 30\n' >/etc/mxdeck/mxdeck.conf
snapshot "$T/before"

# ---- 1. setup with DKIM ----
"$MXDECK" setup --answers "$T/answers.ini" --yes >"$T/run1.out" 2>&1
rc=$?
expect_eq "$rc" 0 "setup with DKIM: changed and verified"
[ "$rc" = 0 ] || { tail -40 "$T/run1.out"; fail "setup failed"; }
sel=$(sed -n 's/^\*@lab.test \([^.]*\)\._domainkey\.lab\.test$/\1/p' /etc/opendkim/SigningTable)
expect_match "$sel" '^20[0-9]{4}$' "the selector is date-based (YYYYMM): '$sel'"
key=/etc/opendkim/keys/lab.test/$sel.private
expect_eq "$(stat -c '%a %U:%G' "$key")" "600 opendkim:opendkim" "the private key is 0600 opendkim:opendkim"
expect_eq "$(openssl pkey -in "$key" -noout -text 2>/dev/null | head -1)" "Private-Key: (2048 bit, 2 primes)" "2048-bit RSA key"
expect_eq "$(grep -v '^#' /etc/opendkim/KeyTable)" "$sel._domainkey.lab.test lab.test:$sel:$key" "KeyTable"
expect_eq "$(stat -c '%a %U:%G' /var/spool/postfix/opendkim)" "2750 opendkim:postfix" "socket directory in Postfix's spool"
expect_eq "$(stat -c '%G' /var/spool/postfix/opendkim/opendkim.sock 2>&1)" postfix "the socket belongs to Postfix's group"
expect_eq "$(postconf -h smtpd_milters non_smtpd_milters milter_default_action | tr '\n' ' ')" \
        'local:opendkim/opendkim.sock $smtpd_milters accept ' "Postfix milters, default action accept"
expect_eq "$(sed -n 's/^KeyTable[[:space:]]*//p' /etc/opendkim.conf)" /etc/opendkim/KeyTable "opendkim.conf: KeyTable"
expect_match "$(cat "$T/run1.out")" "opendkim is running and answers on /var/spool/postfix/opendkim/opendkim.sock" "verify: opendkim answers"
expect_match "$(cat "$T/run1.out")" "DKIM key not published yet" "verify: the key is not published yet (nsd has no record)"
expect_match "$(cat "$T/run1.out")" "DKIM: the round-trip message is signed \\(d=lab\\.test s=$sel\\) and the signature verifies against the key" \
        "verify: the round-trip message's signature verifies against the key mxdeck wrote"
# the DNS plan: records, PTR request, what is right and what is missing
plan=$(sed -n '/=== DNS plan ===/,$p' "$T/run1.out")
expect_match "$plan" "$sel\\._domainkey\\.lab\\.test\\. IN TXT \"v=DKIM1; k=rsa; p=" "DNS plan: the DKIM record of the signing selector"
expect_match "$plan" "_dmarc\\.lab\\.test\\. IN TXT" "DNS plan: the DMARC record"
expect_match "$plan" "192\\.0\\.2\\.25 +-> mail\\.lab\\.test\\." "DNS plan: the PTR request for the IPv4 address"
expect_match "$plan" "no public IPv6 address known" "DNS plan: says there is no IPv6 address to ask a PTR for"
right=$(printf '%s\n' "$plan" | sed -n '/already right/,/still missing/p')
missing=$(printf '%s\n' "$plan" | sed -n '/still missing/,$p')
expect_match "$right" "\\[ok\\] dns\\.mx " "DNS plan: MX is right"
expect_match "$right" "\\[ok\\] dns\\.spf " "DNS plan: SPF is right"
expect_match "$right" "\\[ok\\] dns\\.ptr " "DNS plan: PTR is right"
expect_match "$missing" "\\[critical\\] dns\\.dkim $sel\\._domainkey\\.lab\\.test: no DKIM key record" "DNS plan: DKIM is missing"
expect_match "$missing" "\\[(warning|critical)\\] dns\\.dmarc " "DNS plan: DMARC is missing"
expect_no_escape "$T/run1.out" "setup output is terminal-safe"
if grep -q "BEGIN PRIVATE KEY" "$T/run1.out"; then not_ok "the private key appears in the output"; else ok "no private key in the output"; fi

# ---- 2. publish, send, verify ----
publish "$sel"
# send_and_fetch TAG: a message through Postfix's sendmail (non_smtpd_milters) to alice,
# delivered by LMTP; prints the delivered file (bounded wait)
send_and_fetch() {
        printf 'From: alice@lab.test\nTo: alice@lab.test\nSubject: dkim %s\nMessage-ID: <%s@lab.test>\n\nsigned body %s\n' "$1" "$1" "$1" |
                sendmail -f alice@lab.test alice@lab.test
        local f=""
        _found() {
                f=$(find /var/vmail -type f \( -path '*/new/*' -o -path '*/cur/*' \) -print0 2>/dev/null |
                        xargs -0 -r grep -l "Subject: dkim $1" 2>/dev/null | head -1)
                [ -n "$f" ]
        }
        wait_for 30 _found "$1" || return 1
        echo "$f"
}
msg=$(send_and_fetch "one-$$") || fail "the message did not arrive within 30 s: $(postqueue -p | tail -3)"
expect_match "$(cat "$msg")" "DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/simple; d=lab.test;" "the delivered message carries a DKIM-Signature for lab.test"
expect_match "$(tr -d '\n\t ' <"$msg")" "s=$sel;" "signed with selector $sel"
sed -n '/^DKIM-Signature:/,$p' "$msg" >"$T/signed.eml"
if out=$(opendkim-testmsg <"$T/signed.eml" 2>&1); then ok "opendkim-testmsg verifies the signature against nsd's record"; else not_ok "verification failed: $out"; fi
sed 's/signed body/changed body/' "$T/signed.eml" >"$T/tampered.eml"
if opendkim-testmsg <"$T/tampered.eml" >/dev/null 2>&1; then not_ok "a changed body still verifies"; else ok "a changed body does not verify (the check can fail)"; fi

"$MXDECK" dkim status >"$T/status1.out" 2>&1
expect_eq "$?" 0 "dkim status"
expect_match "$(cat "$T/status1.out")" "signs +$sel +served, matches the key +lab.test" "dkim status: the signing selector, served and matching"

# ---- 3. second run: nothing to change ----
snapshot "$T/after1"
"$MXDECK" setup --answers "$T/answers.ini" --yes >"$T/run2.out" 2>&1
expect_eq "$?" 3 "second run: nothing to change"
snapshot "$T/after2"
if cmp -s <(relevant "$T/after1") <(relevant "$T/after2"); then ok "second run changed no file"; else not_ok "second run changed: $(diff "$T/after1" "$T/after2" | head -5)"; fi

# ---- 3b. a submission service that does not sign fails verification, and says why ----
# master.cf overrides smtpd_milters for submission (the administrator's -o, which setup
# keeps); a second user makes setup apply something, so the verify step's round trip runs.
postconf -P 'submission/inet/smtpd_milters=' || fail "postconf -P"
postfix reload >/dev/null 2>&1 || fail "postfix reload"
printf '%s\n' "$pw" >"$T/bob.pw"
chmod 600 "$T/bob.pw"
cp "$T/answers.ini" "$T/answers-bob.ini"
printf '\n[user bob]\npassword_file = %s\n' "$T/bob.pw" >>"$T/answers-bob.ini"
"$MXDECK" setup --answers "$T/answers-bob.ini" --yes >"$T/unsigned.out" 2>&1
expect_eq "$?" 1 "setup fails when the round-trip message is not signed"
expect_match "$(cat "$T/unsigned.out")" "DKIM: the round-trip message is not signed: is the milter in smtpd_milters for the submission service\\?" \
        "verify says the message is not signed and where to look"
expect_match "$(cat "$T/unsigned.out")" "verification failed: DKIM: the round-trip message is not signed" "the step's error names it"
txb=$(sed -n 's/.*mxdeck rollback \([^ ]*\).*/\1/p' "$T/unsigned.out" | head -1)
[ -n "$txb" ] || fail "no rollback command printed: $(tail -5 "$T/unsigned.out")"
"$MXDECK" rollback "$txb" >"$T/rollback-bob.out" 2>&1
expect_eq "$?" 0 "the failed run rolls back"
postconf -PX 'submission/inet/smtpd_milters' || fail "postconf -PX"
postfix reload >/dev/null 2>&1 || fail "postfix reload"
snapshot "$T/after3b"
if cmp -s <(relevant "$T/after1") <(relevant "$T/after3b"); then ok "back to the state of the first run"; else not_ok "left: $(diff <(relevant "$T/after1") <(relevant "$T/after3b") | head -5)"; fi

# ---- 4. rotation ----
"$MXDECK" dkim rotate start --selector next1 >"$T/start.out" 2>&1
expect_eq "$?" 0 "rotate start"
new=/etc/opendkim/keys/lab.test/next1.private
expect_eq "$(stat -c '%a %U:%G' "$new" 2>&1)" "600 opendkim:opendkim" "the new key is 0600 opendkim:opendkim"
expect_match "$(cat "$T/start.out")" "next1\\._domainkey\\.lab\\.test\\. IN TXT \"v=DKIM1; k=rsa; p=" "rotate start prints the record to publish"
expect_match "$(grep -v '^#' /etc/opendkim/SigningTable)" "^\\*@lab.test $sel\\._domainkey" "the old selector still signs"
"$MXDECK" dkim rotate switch >"$T/switch1.out" 2>&1
expect_eq "$?" 4 "switch refused while DNS does not serve the new record"
expect_match "$(cat "$T/switch1.out")" "not switching: DNS does not serve the new record yet" "the refusal says why"
"$MXDECK" dkim rotate status >"$T/rstatus1.out" 2>&1
expect_eq "$?" 3 "rotate status: waiting"
publish "$sel" next1
"$MXDECK" dkim rotate status >"$T/rstatus2.out" 2>&1
expect_eq "$?" 0 "rotate status: ready once nsd serves the new record"
expect_match "$(cat "$T/rstatus2.out")" "DNS serves the new key for every domain" "rotate status says so"
"$MXDECK" dkim rotate switch >"$T/switch2.out" 2>&1
expect_eq "$?" 0 "switch"
expect_match "$(grep -v '^#' /etc/opendkim/SigningTable)" "^\\*@lab.test next1\\._domainkey" "the new selector signs"
msg2=$(send_and_fetch "two-$$") || fail "the second message did not arrive"
expect_match "$(tr -d '\n\t ' <"$msg2")" "s=next1;" "after the switch, mail is signed with the new selector"
sed -n '/^DKIM-Signature:/,$p' "$msg2" >"$T/signed2.eml"
if out=$(opendkim-testmsg <"$T/signed2.eml" 2>&1); then ok "the new signature verifies against nsd's record"; else not_ok "verification failed: $out"; fi
"$MXDECK" dkim rotate finish >"$T/finish1.out" 2>&1
expect_eq "$?" 4 "finish refused during the grace period"
expect_match "$(cat "$T/finish1.out")" "grace period .* is not over.*possible from 20" "the refusal gives the date"
[ -e "$key" ] && ok "the old key is still there" || not_ok "the old key went"
"$MXDECK" dkim rotate finish --force >"$T/finish2.out" 2>&1
expect_eq "$?" 0 "finish --force"
[ -e "$key" ] && not_ok "the old key is still there after finish" || ok "finish removed the old key"
expect_match "$(cat "$T/finish2.out")" "can be removed now" "finish says the old record can be removed"
expect_eq "$(grep -v '^#' /etc/opendkim/KeyTable)" "next1._domainkey.lab.test lab.test:next1:$new" "KeyTable holds only the new key"

# ---- 4b. each stage is a transaction of its own, rolled back newest first ----
"$MXDECK" rollback >"$T/rb-finish.out" 2>&1
expect_eq "$?" 0 "rollback of the finish stage alone"
[ -e "$key" ] && ok "the old key is back" || not_ok "the old key is still gone: $(cat "$T/rb-finish.out")"
expect_match "$(grep -v '^#' /etc/opendkim/KeyTable)" "$sel\._domainkey\.lab\.test" "KeyTable holds the old key again"
expect_match "$(grep -v '^#' /etc/opendkim/SigningTable)" "^\*@lab.test next1\._domainkey" "the switch stays: the new selector still signs"
"$MXDECK" rollback >"$T/rb-switch.out" 2>&1
expect_eq "$?" 0 "rollback of the switch stage alone"
expect_match "$(grep -v '^#' /etc/opendkim/SigningTable)" "^\*@lab.test $sel\._domainkey" "the old selector signs again"
msg3=$(send_and_fetch "three-$$") || fail "the third message did not arrive"
expect_match "$(tr -d '\n\t ' <"$msg3")" "s=$sel;" "after rolling back the switch, mail is signed with the old selector"
[ -e "$new" ] && ok "the new key stays until its own stage (start) is rolled back" || not_ok "the new key went with the switch"

# ---- 5. rollback of the setup undoes the rotation after it too ----
tx1=$("$MXDECK" history | awk 'NR==1 {print $1}')
"$MXDECK" rollback "$tx1" >"$T/rollback.out" 2>&1
expect_eq "$?" 0 "rollback"
snapshot "$T/after-rollback"
relevant "$T/before" >"$T/before.rel"
relevant "$T/after-rollback" >"$T/after-rollback.rel"
if cmp -s "$T/before.rel" "$T/after-rollback.rel"; then
        ok "after rollback every file under /etc is byte-identical (content, mode, owner)"
else
        not_ok "rollback left differences: $(diff "$T/before.rel" "$T/after-rollback.rel" | head -10)"
fi
[ -e /var/spool/postfix/opendkim ] && not_ok "the socket directory is left: $(ls -la /var/spool/postfix/opendkim)" || ok "the socket directory is gone"
pgrep -x opendkim >/dev/null && not_ok "opendkim still runs after rollback" || ok "opendkim stopped"
postfix stop >/dev/null 2>&1
doveadm stop >/dev/null 2>&1
finish
