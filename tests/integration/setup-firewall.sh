#!/usr/bin/env bash
# mxdeck setup's firewall and hardening steps end to end in one lab host (its own network
# namespace, overlays over /etc and /run), against real nftables, firewalld on a real D-Bus
# system bus, fail2ban and Postfix:
#   1. [firewall] backend = nftables, [hardening] fail2ban = yes: table inet mxdeck loaded
#      with the mail ports, its file included from /etc/nftables.conf, the postfix-sasl and
#      dovecot jails loaded, the anvil limits in main.cf; a second run changes nothing.
#   2. the same answers with backend = firewalld (dbus-daemon --system and firewalld started
#      in the lab): the missing services added to the default zone, runtime and permanent;
#      a second run changes nothing; rollback removes exactly those (an administrator's own
#      service stays).
#   3. rollback of the first transaction: the table gone, /etc/nftables.conf byte for byte
#      as before, the fail2ban drop-in gone, main.cf without the limits.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
in_lab_or_reexec --hostname mail.lab.test -- "$0"

command -v nft >/dev/null || skip "nftables is not installed (scripts/bootstrap --test)"
command -v firewalld >/dev/null || skip "firewalld is not installed (scripts/bootstrap --test)"
command -v fail2ban-client >/dev/null || skip "fail2ban is not installed (scripts/bootstrap --test)"

T=$(mktemp -d /root/mxdeck-fw.XXXXXX)
printf 'c0rrect-Horse-battery\n' >"$T/user.pw"
chmod 600 "$T/user.pw"
answers() {
        cat <<EOF
[server]
hostname = mail.lab.test
domain = lab.test

[users]
mode = virtual

[user alice]
password_file = $T/user.pw

[firewall]
backend = $1

[hardening]
fail2ban = yes
EOF
}
answers nftables >"$T/nft.ini"
answers firewalld >"$T/fwd.ini"

exec 3>&1
# mxd ARGS...: mxdeck, with its duration as a note (where the test's time goes)
mxd() {
        local t0=$SECONDS st
        "$MXDECK" "$@"
        st=$?
        note "mxdeck $*: $((SECONDS - t0)) s" >&3
        return $st
}

rm -f /etc/postfix/main.cf
postfix stop >/dev/null 2>&1 || true
# Debian 12's fail2ban enables an sshd jail that reads /var/log/auth.log, which a system
# without rsyslog (and this lab) does not have: fail2ban refuses to start at all. The usual
# fix an administrator makes first; mxdeck's drop-in is not about sshd.
printf '[sshd]\nenabled = true\nbackend = systemd\n' >/etc/fail2ban/jail.d/defaults-debian.conf
cp -a /etc/nftables.conf "$T/nftables.conf.before"
cp -a /etc/postfix "$T/postfix.before" 2>/dev/null

# --- 1. nftables + fail2ban ---
note "at ${SECONDS}s: 1. nftables + fail2ban"
mxd setup --answers "$T/nft.ini" --dry-run >"$T/dry.out" 2>&1
expect_match "$(cat "$T/dry.out")" "\+\+\+ b/etc/nftables.d/mxdeck.nft" "the plan shows table inet mxdeck as a diff"
expect_match "$(cat "$T/dry.out")" '\+include "/etc/nftables.d/mxdeck.nft"' "the plan shows the include added to /etc/nftables.conf"
expect_match "$(cat "$T/dry.out")" "\+\[postfix-sasl\]" "the plan shows the fail2ban drop-in"
if nft list table inet mxdeck >/dev/null 2>&1; then not_ok "the dry run loaded the table"; else ok "the dry run loaded nothing"; fi

mxd setup --answers "$T/nft.ini" --yes --format json >"$T/run1.json" 2>"$T/run1.log"
rc=$?
expect_eq "$rc" 0 "nftables: first run changed and verified"
[ "$rc" = 0 ] || { tail -30 "$T/run1.log"; fail "setup failed"; }
tx1=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["transaction"])' <"$T/run1.json")
nft list table inet mxdeck >"$T/table" 2>&1
expect_match "$(cat "$T/table")" "type filter hook input priority filter - 1; policy accept;" "table inet mxdeck: an input chain that accepts"
expect_match "$(cat "$T/table")" 'tcp dport \{ 25, 465, 587, 993, 995 \} accept' "table inet mxdeck: the five mail ports"
if grep -Eq 'dport .*(143|110)' "$T/table"; then not_ok "plaintext ports opened without plaintext = yes"; else ok "no plaintext ports"; fi
expect_eq "$(tail -1 /etc/nftables.conf)" 'include "/etc/nftables.d/mxdeck.nft"' "/etc/nftables.conf includes the table"
expect_eq "$(stat -c %a /etc/nftables.conf)" 755 "/etc/nftables.conf keeps its mode"
# the persistent configuration as nftables.service loads it at boot: checked by nft itself
nft -c -f /etc/nftables.conf >"$T/nftc" 2>&1
expect_eq "$?" 0 "nft -c accepts the persistent configuration $(head -3 "$T/nftc")"
fail2ban-client status >"$T/f2b" 2>&1
expect_match "$(cat "$T/f2b")" "Jail list:.*postfix-sasl" "fail2ban: the postfix-sasl jail is loaded"
expect_match "$(cat "$T/f2b")" "Jail list:.*dovecot" "fail2ban: the dovecot jail is loaded"
expect_eq "$(postconf -h smtpd_client_connection_rate_limit smtpd_client_auth_rate_limit | tr '\n' ' ')" "10 10 " "anvil limits in main.cf"

mxd setup --answers "$T/nft.ini" --yes >"$T/run2.log" 2>&1
expect_eq "$?" 3 "nftables: second run changes nothing (exit 3)"
expect_eq "$(nft list table inet mxdeck | grep -c 'dport')" 1 "the table holds one rule, not two"

# --- 2. firewalld over D-Bus ---
note "at ${SECONDS}s: 2. firewalld over D-Bus"
mkdir -p /run/dbus
dbus-daemon --system --fork >/dev/null || fail "cannot start dbus-daemon --system"
firewalld --nopid >"$T/firewalld.log" 2>&1 &
fwd_pid=$!
fwd_up() { busctl call org.fedoraproject.FirewallD1 /org/fedoraproject/FirewallD1 org.fedoraproject.FirewallD1 getDefaultZone >/dev/null 2>&1; }
wait_for 30 fwd_up || fail "firewalld did not answer on the bus within 30 s: $(tail -5 "$T/firewalld.log")"
# the administrator's own service, added before mxdeck: it must survive the rollback
# (over the bus with busctl: each firewall-cmd is a Python start, seconds on a loaded machine;
# firewall-cmd is kept as the independent oracle for what the zone holds)
busctl call org.fedoraproject.FirewallD1 /org/fedoraproject/FirewallD1 org.fedoraproject.FirewallD1.zone \
        addService ssi public imaps 0 >/dev/null || fail "cannot add imaps at runtime"
zpath=$(busctl call org.fedoraproject.FirewallD1 /org/fedoraproject/FirewallD1/config \
        org.fedoraproject.FirewallD1.config getZoneByName s public | sed 's/^o "\(.*\)"$/\1/')
busctl call org.fedoraproject.FirewallD1 "$zpath" org.fedoraproject.FirewallD1.config.zone \
        addService s imaps >/dev/null || fail "cannot add imaps permanently"
before_rt=$(firewall-cmd --list-services)
before_perm=$(firewall-cmd --permanent --list-services)
expect_match " $before_rt " " imaps " "the administrator's imaps is in the zone before mxdeck runs"

mxd setup --answers "$T/fwd.ini" --dry-run >"$T/fdry.out" 2>&1
expect_match "$(cat "$T/fdry.out")" "\* firewalld: add service smtp to zone public \(runtime\)" "the plan names each firewalld change"
expect_match "$(cat "$T/fdry.out")" "\+\+\+ b/firewalld/public/services \(permanent\)" "the plan shows the zone's services as a diff"
if grep -q "add service imaps" "$T/fdry.out"; then not_ok "the plan adds imaps, which the zone has"; else ok "imaps, already there, is not added"; fi

mxd setup --answers "$T/fwd.ini" --yes --format json >"$T/frun1.json" 2>"$T/frun1.log"
rc=$?
expect_eq "$rc" 0 "firewalld: setup changed and verified"
[ "$rc" = 0 ] || tail -30 "$T/frun1.log"
rt=$(firewall-cmd --list-services)
perm=$(firewall-cmd --permanent --list-services)
for svc in smtp smtp-submission smtps imaps pop3s; do
        expect_match " $rt " " $svc " "firewalld runtime: $svc"
        expect_match " $perm " " $svc " "firewalld permanent: $svc"
done
expect_match "$(cat /etc/firewalld/zones/public.xml)" '<service name="smtp-submission"/>' "the permanent zone file has the services"
mxd setup --answers "$T/fwd.ini" --yes >"$T/frun2.log" 2>&1
expect_eq "$?" 3 "firewalld: second run changes nothing (exit 3)"
"$MXDECK" history >"$T/history"
expect_match "$(cat "$T/history")" "firewalld: add service pop3s to zone public \(permanent\)" "history lists the firewalld changes"

mxd rollback 2>&1 | sed 's/^/  /'
expect_eq "${PIPESTATUS[0]}" 0 "firewalld: rollback"
expect_eq "$(firewall-cmd --list-services)" "$before_rt" "firewalld runtime services exactly as before (imaps kept)"
expect_eq "$(firewall-cmd --permanent --list-services)" "$before_perm" "firewalld permanent services exactly as before (imaps kept)"
# firewalld's own shutdown takes long (it tears its rules down); the lab ends it anyway
kill -KILL "$fwd_pid" 2>/dev/null

# --- 3. rollback of the nftables transaction ---
note "at ${SECONDS}s: 3. rollback of the nftables transaction"
mxd rollback "$tx1" 2>&1 | sed 's/^/  /'
expect_eq "${PIPESTATUS[0]}" 0 "nftables: rollback"
if nft list table inet mxdeck >/dev/null 2>&1; then not_ok "table inet mxdeck still loaded"; else ok "table inet mxdeck deleted"; fi
if cmp -s /etc/nftables.conf "$T/nftables.conf.before" && [ "$(stat -c %a /etc/nftables.conf)" = "$(stat -c %a "$T/nftables.conf.before")" ]; then
        ok "/etc/nftables.conf restored byte for byte"
else
        not_ok "/etc/nftables.conf differs: $(diff "$T/nftables.conf.before" /etc/nftables.conf | head -5)"
fi
[ -e /etc/nftables.d ] && not_ok "/etc/nftables.d left behind" || ok "/etc/nftables.d removed (mxdeck created it)"
[ -e /etc/fail2ban/jail.d/mxdeck.conf ] && not_ok "the fail2ban drop-in is still there" || ok "the fail2ban drop-in removed"
f2b_stopped() { ! fail2ban-client ping >/dev/null 2>&1; }
if wait_for 15 f2b_stopped; then ok "fail2ban, started by mxdeck, stopped again"; else not_ok "fail2ban still runs"; fi
expect_eq "$(postconf -n smtpd_client_connection_rate_limit 2>/dev/null)" "" "the anvil limits are gone from main.cf"
postfix stop >/dev/null 2>&1
doveadm stop >/dev/null 2>&1
finish
