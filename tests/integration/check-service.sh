#!/usr/bin/env bash
# service.* against real Postfix and Dovecot started and stopped in a lab host (no
# systemd: the master process is found through its pid file), and the Nagios exit code.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
in_lab_or_reexec --hostname mail.lab.test -- "$0" "$@"

jq_() { python3 "$here/jsonq.py" "$@"; }
T=$(mktemp -d)
service_json() { "$MXDECK" check --only service --format json >"$T/out.json"; echo $? >"$T/rc"; }
nagios() { "$MXDECK" check --only service --format nagios >"$T/out.nagios"; echo $? >"$T/rc"; }

cat >/etc/postfix/main.cf <<'CF'
compatibility_level = 3.6
myhostname = mail.lab.test
mydestination = $myhostname, localhost
inet_interfaces = loopback-only
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
alias_maps = hash:/etc/aliases
CF
newaliases
# Dovecot's Debian config wants a certificate; make one for the lab.
mkdir -p /etc/dovecot/private
openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj /CN=mail.lab.test \
        -keyout /etc/dovecot/private/dovecot.key -out /etc/dovecot/private/dovecot.pem 2>/dev/null
chmod 600 /etc/dovecot/private/dovecot.key

# Both stopped: critical, Nagios exit 2.
service_json
expect_eq "$(jq_ status service.postfix <"$T/out.json")" critical "postfix stopped"
expect_eq "$(jq_ status service.dovecot <"$T/out.json")" critical "dovecot stopped"
expect_eq "$(jq_ field service.dovecot commands <"$T/out.json")" "dovecot" "remedy says how to start it"
nagios
expect_eq "$(cat "$T/rc")" 2 "nagios exit code with both stopped"
expect_match "$(head -1 "$T/out.nagios")" "^MXDECK CRITICAL: " "nagios first line"

# Postfix started, Dovecot still stopped: still critical.
postfix start >/dev/null 2>&1 || fail "postfix start failed"
wait_for_file /var/spool/postfix/pid/master.pid 10 || fail "no postfix pid file"
service_json
expect_eq "$(jq_ status service.postfix <"$T/out.json")" ok "postfix running"
expect_eq "$(jq_ status service.dovecot <"$T/out.json")" critical "dovecot still stopped"
expect_eq "$(cat "$T/rc")" 2 "exit code with dovecot stopped"

# Dovecot started: all ok, exit 0, Nagios OK.
dovecot || fail "dovecot failed to start: $(doveconf -n 2>&1 | tail -3)"
wait_for_file /run/dovecot/master.pid 10 || fail "no dovecot pid file"
service_json
expect_eq "$(jq_ status service.dovecot <"$T/out.json")" ok "dovecot running"
expect_eq "$(cat "$T/rc")" 0 "exit code with both running"
nagios
expect_eq "$(cat "$T/rc")" 0 "nagios exit code with both running"
expect_match "$(head -1 "$T/out.nagios")" "^MXDECK OK: 2 checks ok" "nagios OK line"

# A stale pid file (daemon gone) is not mistaken for a running daemon.
doveadm stop 2>/dev/null || dovecot stop
_no_dovecot() { ! pgrep -x dovecot >/dev/null; }
wait_for 10 _no_dovecot || fail "dovecot still runs 10 s after 'doveadm stop'"
echo 1 >/run/dovecot/master.pid
service_json
expect_eq "$(jq_ status service.dovecot <"$T/out.json")" critical "dovecot stopped, stale pid file"
expect_eq "$(cat "$T/rc")" 2 "exit code after dovecot stopped"

# Prometheus output of the same state: the status gauge says 2 for dovecot.
"$MXDECK" check --only service --format prometheus -o "$T/mxdeck.prom"
expect_match "$(grep 'id="service.dovecot"' "$T/mxdeck.prom")" ' 2$' "prometheus gauge for dovecot"
expect_match "$(grep 'id="service.postfix"' "$T/mxdeck.prom")" ' 0$' "prometheus gauge for postfix"

postfix stop >/dev/null 2>&1
finish
