#!/usr/bin/env bash
# config.* and system.* against real Postfix and Dovecot in a lab host: the Debian
# "No configuration" first-install state, a minimal valid setup, and broken variants.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
in_lab_or_reexec --hostname mail.lab.test -- "$0" "$@"

jq_() { python3 "$here/jsonq.py" "$@"; }
check_json() { "$MXDECK" check --format json "$@" >"$T/out.json"; echo $? >"$T/rc"; }
status_of() { jq_ status "$@" <"$T/out.json"; }
T=$(mktemp -d)

# 1. Packages installed, no main.cf: Postfix's own complaint, critical, exit 2.
rm -f /etc/postfix/main.cf
check_json --only config
expect_eq "$(cat "$T/rc")" 2 "no main.cf: exit status"
expect_eq "$(status_of config.postfix)" critical "no main.cf: config.postfix"
summary=$(jq_ field config.postfix summary <"$T/out.json")
expect_match "$summary" "main.cf: No such file or directory" "no main.cf: Postfix's own message in the summary"
expect_match "$(jq_ field config.postfix remedy <"$T/out.json")" "main.cf.debian" "no main.cf: remedy"
expect_eq "$(status_of config.relay)" unknown "no main.cf: config.relay cannot be judged"

# 2. A minimal valid configuration: everything in config is ok.
cat >/etc/postfix/main.cf <<'CF'
compatibility_level = 3.6
myhostname = mail.lab.test
mydomain = lab.test
myorigin = $mydomain
mydestination = $myhostname, localhost.$mydomain, localhost
inet_interfaces = loopback-only
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, permit_sasl_authenticated, defer_unauth_destination
alias_maps = hash:/etc/aliases
alias_database = hash:/etc/aliases
CF
newaliases
check_json --only config,system
expect_eq "$(status_of config.postfix)" ok "valid main.cf: config.postfix"
expect_eq "$(status_of config.dovecot)" ok "Debian's Dovecot config: config.dovecot"
expect_eq "$(status_of config.relay)" ok "valid main.cf: config.relay"
expect_eq "$(status_of config.domains)" ok "valid main.cf: config.domains"
expect_eq "$(status_of system.hostname)" ok "FQDN host name equal to myhostname"
expect_eq "$(status_of system.disk /var/spool/postfix)" ok "disk space of the queue"

# 3. A misspelt parameter: postfix check is silent, postconf warns: warning.
postconf -e 'mesage_size_limit = 10240000'
check_json --only config
expect_eq "$(status_of config.postfix)" warning "misspelt parameter: config.postfix"
expect_match "$(jq_ field config.postfix detail <"$T/out.json")" "mesage_size_limit" "misspelt parameter named"
expect_match "$(jq_ field config.postfix summary <"$T/out.json")" ": 1 warning: " "a repeated warning counts once"
postconf -X mesage_size_limit

# 4. Open relay: a plain permit before any guard, in main.cf; then via master.cf.
postconf -e 'smtpd_relay_restrictions = permit_mynetworks, permit' 'smtpd_recipient_restrictions ='
check_json --only config
expect_eq "$(status_of config.relay)" critical "permit before reject_unauth_destination"
expect_eq "$(cat "$T/rc")" 2 "open relay: exit status"
postconf -e 'smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination' 'mynetworks = 0.0.0.0/0'
check_json --only config
expect_eq "$(status_of config.relay)" critical "permit_mynetworks with mynetworks 0.0.0.0/0"
expect_match "$(jq_ field config.relay commands <"$T/out.json")" "^postconf -e 'mynetworks = 127.0.0.0/8 \\[::1\\]/128'" "remedy fixes mynetworks"
postconf -e 'mynetworks = 127.0.0.0/8'
# The service must exist in master.cf before -P can set its options (-P only warns).
postconf -M 'submission/inet=submission inet n - y - - smtpd'
postconf -P 'submission/inet/smtpd_relay_restrictions=permit_mynetworks,permit'
check_json --only config
expect_eq "$(status_of config.relay)" critical "open relay through a master.cf override"
expect_match "$(jq_ field config.relay detail <"$T/out.json")" "submission/inet" "override named in detail"
expect_eq "$(jq_ field config.relay target <"$T/out.json")" /etc/postfix/master.cf "override: target is master.cf"
expect_match "$(jq_ field config.relay commands <"$T/out.json")" "^postconf -P 'submission/inet/smtpd_relay_restrictions=" "override: remedy edits the override"
postconf -P 'submission/inet/smtpd_relay_restrictions=permit_sasl_authenticated,reject'
check_json --only config
expect_eq "$(status_of config.relay)" ok "submission override permit_sasl_authenticated,reject"

# 5. A domain in both mydestination and virtual_mailbox_domains, literally and via a table.
postconf -e 'virtual_mailbox_domains = lab.test' 'mydestination = $myhostname, lab.test, localhost'
check_json --only config
expect_eq "$(status_of config.domains)" critical "domain in mydestination and virtual_mailbox_domains"
printf 'lab.test OK\n' >/etc/postfix/vdomains && postmap /etc/postfix/vdomains
postconf -e 'virtual_mailbox_domains = hash:/etc/postfix/vdomains'
check_json --only config
expect_eq "$(status_of config.domains)" critical "domain in mydestination and a virtual_mailbox_domains table"
postconf -e 'mydestination = $myhostname, localhost'
check_json --only config
expect_eq "$(status_of config.domains)" ok "domains separated again"

# 5b. A lookup table that never answers (a tcp: table whose server is silent): the check
# gives up within its time limit and says it cannot tell, rather than hanging or guessing.
python3 -c '
import socket, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 9999)); s.listen(8)
conns = []
end = time.time() + 60
while time.time() < end:
    s.settimeout(1)
    try:
        conns.append(s.accept()[0])
    except OSError:
        pass
' &
silent=$!
wait_for_port 9999 10 || fail "silent table server did not start"
postconf -e 'virtual_alias_domains = tcp:127.0.0.1:9999'
check_json --only config --timeout 2
expect_eq "$(status_of config.domains)" unknown "a table that never answers: cannot tell"
expect_match "$(jq_ field config.domains summary <"$T/out.json")" "did not answer in time" "says why"
kill "$silent" 2>/dev/null
postconf -e 'virtual_alias_domains ='

# 6. Postfix introduces itself with a non-FQDN: critical.
postconf -e 'myhostname = mailhost'
check_json --only system
expect_eq "$(status_of system.hostname)" critical "myhostname without a domain"
expect_eq "$(jq_ field system.hostname commands <"$T/out.json")" "postconf -e myhostname=mail.lab.test
postfix reload" "remedy uses the host's own FQDN"
postconf -e 'myhostname = mail.lab.test'

# 7. Broken Dovecot setting: doveconf's own message, critical.
echo 'mail_locaton = maildir:~/Maildir' >/etc/dovecot/conf.d/99-typo.conf
check_json --only config
expect_eq "$(status_of config.dovecot)" critical "unknown Dovecot setting"
expect_match "$(jq_ field config.dovecot summary <"$T/out.json")" "mail_locaton" "Dovecot's message names the setting"
rm /etc/dovecot/conf.d/99-typo.conf

# 8. Text output of the same run is sane: no escape characters without a terminal.
"$MXDECK" check --only config >"$T/out.txt"
expect_no_escape "$T/out.txt" "text output without a terminal"

# 9. Dovecot missing altogether (binaries hidden in this lab's mount namespace only).
mount --bind /dev/null /usr/bin/doveconf
mount --bind /dev/null /usr/sbin/dovecot
check_json --only config,service
expect_eq "$(status_of config.dovecot)" unknown "Dovecot not installed: config.dovecot"
expect_eq "$(status_of service.dovecot)" critical "Dovecot not installed: service.dovecot"
expect_match "$(jq_ field service.dovecot commands <"$T/out.json")" "^apt-get install -y dovecot-imapd" "install remedy"
umount /usr/sbin/dovecot /usr/bin/doveconf

finish
