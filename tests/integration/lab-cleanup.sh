#!/bin/bash
# mxdeck lab: the lab is private (network, hostname, files, its own journald) and leaves
# nothing behind on the host: no process, namespace, mount, file or scratch directory.
. "$(dirname "$0")/lib.sh"

require_lab

W=$(mktemp -d /tmp/mxdeck-test.XXXXXX) || fail "cannot create a work directory"
trap 'rm -rf "$W"' EXIT
TAG=$$-$RANDOM
LAB_HOST=mxdeck-lab-$$
export W TAG

# --- refusals ---------------------------------------------------------------------------

if ! command -v setpriv >/dev/null; then
        note "no setpriv: not checking the refusal as non-root"
elif ! setpriv --reuid=65534 --regid=65534 --clear-groups test -x "$MXDECK" 2>/dev/null; then
        note "nobody cannot execute $MXDECK: not checking the refusal as non-root"
else
        out=$(setpriv --reuid=65534 --regid=65534 --clear-groups "$MXDECK" lab -- true 2>&1)
        st=$?
        [ "$st" = 1 ] || fail "as non-root: exit status $st, want 1 ($out)"
        grep -qF "mxdeck lab: needs root: it creates namespaces and mounts" <<<"$out" ||
                fail "as non-root: unexpected message: $out"
        ok "refuses to run without root, says why"
fi

"$MXDECK" lab --hostname '-bad' -- true 2>/dev/null
st=$?
[ "$st" = 2 ] || fail "invalid --hostname: exit status $st, want 2"
ok "rejects an invalid --hostname"

# --- the host before --------------------------------------------------------------------

# Every process started in our labs inherits MXDECK_TEST_TAG=$TAG in its environment: that
# finds ours on the host even when other labs run at the same time. (Only the labs get it:
# this script's own children must not match.)
tagged_procs() {
        local p
        for p in /proc/[0-9]*; do
                grep -qzxF "MXDECK_TEST_TAG=$TAG" "$p/environ" 2>/dev/null &&
                        echo "${p#/proc/} $(tr '\0' ' ' <"$p/cmdline" 2>/dev/null)"
        done
}
# True once the mxdeck started in the background is gone or a zombie (called via wait_for).
# shellcheck disable=SC2317
lab_exited() {
        local stat
        stat=$(ps -o stat= -p "$lab_pid") || return 0
        [[ $stat == Z* ]]
}
file_state() {
        if [ -e "$1" ]; then sha256sum <"$1"; else echo absent; fi
}

mountinfo_before=$(cat /proc/self/mountinfo)
hostname_before=$(cat /proc/sys/kernel/hostname)
devlog_before=$(stat -c '%F %d:%i %N' /dev/log 2>/dev/null || echo absent)
dev_before=$(ls -A /dev)
dovecot_conf_before=$(file_state /etc/dovecot/dovecot.conf)
main_cf_before=$(file_state /etc/postfix/main.cf)
host_ns=$(readlink /proc/self/ns/net /proc/self/ns/mnt /proc/self/ns/pid)

# --- the lab ----------------------------------------------------------------------------

# shellcheck disable=SC2016
lab_script='
readlink /proc/self/ns/net /proc/self/ns/mnt /proc/self/ns/pid >"$W/ns"
cat /proc/sys/kernel/hostname >"$W/hostname"
hostname -f >"$W/hostname-f" 2>&1
echo "${MXDECK_LAB:-}" >"$W/env"
sed -n "3,\$ s/:.*//p" /proc/net/dev | tr -d " " >"$W/ifaces"
ls /sys/class/net >"$W/sysnet"
cat /sys/class/net/lo/flags >"$W/lo.flags"
sed -n "s|.*[ ,]upperdir=\(/tmp/mxdeck-lab\.[^/,]*\)/upper/etc,.*|\1|p" /proc/self/mountinfo >"$W/scratch"
readlink /dev/log >"$W/devlog"

for d in /etc /var /root /run /usr/local /opt; do
        echo lab >"$d/mxdeck-lab-test.$TAG" || exit 20
done
echo lab >"$W/written"

logger -t postfix/smtpd "hello $TAG"
journal_has_hello() {
        journalctl -q --no-pager -t postfix/smtpd -o cat 2>/dev/null | grep -qxF "hello $TAG"
}
wait_for 5 journal_has_hello
journalctl -q --no-pager -t postfix/smtpd -o cat >"$W/journal" 2>&1

# Things that try to outlive the lab.
sleep 1000 &
setsid sh -c "sleep 1000 & exit 0" </dev/null >/dev/null 2>&1
if command -v postfix >/dev/null; then
        # A bare Debian install has no main.cf; this one exists only in the lab.
        if [ ! -e /etc/postfix/main.cf ]; then
                : >/etc/postfix/main.cf
                postconf -e "compatibility_level = 3.6"
        fi
        postconf -e "inet_interfaces = loopback-only" "mydestination = localhost" \
                "alias_maps =" "alias_database =" >/dev/null 2>&1
        postfix start >/dev/null 2>&1
        if wait_for_port 25 10; then
                echo up >"$W/postfix"
                journalctl -q --no-pager -t postfix/master -o cat >"$W/postfix.journal" 2>&1
        fi
fi
if command -v dovecot >/dev/null; then
        printf "%s\n" "protocols = imap" "listen = 127.0.0.1" "ssl = no" "log_path = syslog" \
                >/etc/dovecot/dovecot.conf
        dovecot >/dev/null 2>&1
        wait_for_port 143 10 && echo up >"$W/dovecot"
fi
ps -e -o pid=,args= >"$W/ps"
exit 7
'
MXDECK_TEST_TAG=$TAG run_in_lab --hostname "$LAB_HOST" "$lab_script" >"$W/lab.out" 2>&1
st=$?
[ "$st" = 7 ] || fail "lab exit status $st, want 7: $(cat "$W/lab.out")"
ok "exit status of the command is propagated"

# --- inside -----------------------------------------------------------------------------

[ -s "$W/written" ] || fail "the lab could not write to /etc, /var, /root, /run, /usr and /opt"
ok "the lab can write to /etc, /var, /root, /run, /usr and /opt"

[ "$(cat "$W/env")" = 1 ] || fail "MXDECK_LAB is '$(cat "$W/env")' in the lab, want 1"
ok "MXDECK_LAB=1 in the lab"

while read -r ns; do
        grep -qxF "$ns" <<<"$host_ns" && fail "the lab shares $ns with the host"
done <"$W/ns"
ok "the lab has its own network, mount and PID namespaces"

[ "$(cat "$W/ifaces")" = lo ] || fail "interfaces in the lab: $(tr '\n' ' ' <"$W/ifaces"), want only lo"
[ "$(cat "$W/sysnet")" = lo ] || fail "/sys/class/net in the lab: $(tr '\n' ' ' <"$W/sysnet"), want only lo"
(($(cat "$W/lo.flags") & 1)) || fail "lo is down in the lab (flags $(cat "$W/lo.flags"))"
ok "loopback is the only interface in the lab, and it is up"

[ "$(cat "$W/hostname")" = "$LAB_HOST" ] || fail "hostname in the lab: $(cat "$W/hostname"), want $LAB_HOST"
ok "--hostname sets the lab's hostname"
[ "$(cat "$W/hostname-f")" = "$LAB_HOST" ] || fail "hostname -f in the lab: $(cat "$W/hostname-f"), want $LAB_HOST"
ok "the lab's hostname resolves in the lab (/etc/hosts)"

[ "$(cat "$W/devlog")" = /run/systemd/journal/dev-log ] ||
        fail "/dev/log in the lab points to '$(cat "$W/devlog")'"
grep -qxF "hello $TAG" "$W/journal" || fail "logger -> journalctl in the lab: got '$(cat "$W/journal")'"
ok "logger -t postfix/smtpd reaches the lab's journal through /dev/log"

scratch=$(cat "$W/scratch")
[ -n "$scratch" ] || fail "no /tmp/mxdeck-lab.* scratch directory in the lab's mounts"

if [ -e "$W/postfix" ]; then
        ok "Postfix ran in the lab on port 25"
        grep -q "daemon started" "$W/postfix.journal" || fail "Postfix's master did not log to the lab's journal"
        ok "Postfix logged to the lab's journal"
else note "Postfix did not come up in the lab (incomplete config?)"; fi
if [ -e "$W/dovecot" ]; then ok "Dovecot ran in the lab on port 143"; else note "Dovecot did not come up in the lab"; fi

# --- nothing left behind ----------------------------------------------------------------

leftover=$(for f in /proc/[0-9]*/ns/net /proc/[0-9]*/ns/mnt /proc/[0-9]*/ns/pid /proc/[0-9]*/ns/pid_for_children; do
        readlink "$f" 2>/dev/null
done | grep -xF -f "$W/ns" | sort -u)
[ -z "$leftover" ] || fail "host processes still in the lab's namespaces: $leftover"
ok "no host process is left in the lab's namespaces"

left=$(tagged_procs)
[ -z "$left" ] || fail "processes started in the lab are still running: $left"
ok "no sleep 1000, setsid daemon, Postfix, Dovecot or journald left behind"

for d in /etc /var /root /run /usr/local /opt; do
        [ -e "$d/mxdeck-lab-test.$TAG" ] && fail "$d/mxdeck-lab-test.$TAG reached the host"
done
[ "$(file_state /etc/dovecot/dovecot.conf)" = "$dovecot_conf_before" ] || fail "/etc/dovecot/dovecot.conf changed on the host"
[ "$(file_state /etc/postfix/main.cf)" = "$main_cf_before" ] || fail "/etc/postfix/main.cf changed on the host"
ok "files written in /etc, /var, /root, /run, /usr and /opt stayed in the lab"

[ "$(stat -c '%F %d:%i %N' /dev/log 2>/dev/null || echo absent)" = "$devlog_before" ] ||
        fail "/dev/log on the host changed"
[ "$(ls -A /dev)" = "$dev_before" ] || fail "the host's /dev changed: $(diff <(echo "$dev_before") <(ls -A /dev))"
ok "the host's /dev and /dev/log are unchanged"

[ -e "$scratch" ] && fail "scratch directory $scratch is left behind"
ok "the scratch directory $scratch is removed"

[ "$(cat /proc/self/mountinfo)" = "$mountinfo_before" ] ||
        fail "host mounts changed: $(diff <(echo "$mountinfo_before") /proc/self/mountinfo)"
ok "the host's mounts are unchanged"

[ "$(cat /proc/sys/kernel/hostname)" = "$hostname_before" ] || fail "the host's hostname changed"
ok "the host's hostname is unchanged"

# --- a second lab: defaults, signals ----------------------------------------------------

# shellcheck disable=SC2016
MXDECK_TEST_TAG=$TAG run_in_lab 'cat /proc/sys/kernel/hostname >"$W/hostname2"; kill -TERM $$' >"$W/lab2.out" 2>&1
st=$?
[ "$st" = 143 ] || fail "command killed by SIGTERM: exit status $st, want 143: $(cat "$W/lab2.out")"
ok "a command killed by a signal gives 128+signal"
[ "$(cat "$W/hostname2")" = "$hostname_before" ] || fail "default hostname in the lab: $(cat "$W/hostname2")"
ok "without --hostname the lab keeps the host's hostname"

"$MXDECK" lab -- /nonexistent/command >"$W/lab3.out" 2>&1
st=$?
[ "$st" = 127 ] || fail "missing command: exit status $st, want 127"
ok "a missing command gives 127"

# SIGTERM to mxdeck reaches the command, and the lab still cleans up.
# shellcheck disable=SC2016
MXDECK_TEST_TAG=$TAG "$MXDECK" lab -- /bin/sh -c 'touch "$W/started"; sleep 1000' >"$W/lab4.out" 2>&1 &
lab_pid=$!
wait_for_file "$W/started" 20 || { kill -KILL "$lab_pid"; fail "the lab did not start the command: $(cat "$W/lab4.out")"; }
kill -TERM "$lab_pid"
wait_for 15 lab_exited || { kill -KILL "$lab_pid"; fail "mxdeck lab did not end within 15 s of SIGTERM"; }
wait "$lab_pid"
st=$?
[ "$st" = 143 ] || fail "after SIGTERM: exit status $st, want 143"
left=$(tagged_procs)
[ -z "$left" ] || fail "processes left behind after SIGTERM: $left"
[ "$(cat /proc/self/mountinfo)" = "$mountinfo_before" ] || fail "host mounts changed after SIGTERM"
ok "SIGTERM is forwarded to the command, and the lab is cleaned up"

# On a host run by systemd the lab must not look like one: no /run/systemd/system (what
# sd_booted() tests) and no D-Bus socket leading to the host's managers. Pretend to be
# such a host if we are not one, and put things back afterwards.
made_marker=0 made_socket=0
[ -d /run/systemd/system ] || { mkdir -p /run/systemd/system && made_marker=1; }
[ -e /run/dbus/system_bus_socket ] || { mkdir -p /run/dbus && touch /run/dbus/system_bus_socket && made_socket=1; }
run_in_lab 'test ! -e /run/systemd/system && test ! -e /run/dbus/system_bus_socket' >"$W/lab5.out" 2>&1
st=$?
still=$([ -d /run/systemd/system ] && [ -e /run/dbus/system_bus_socket ] && echo yes)
[ "$made_marker" = 1 ] && rmdir /run/systemd/system
[ "$made_socket" = 1 ] && rm -f /run/dbus/system_bus_socket
[ "$st" = 0 ] || fail "the host's systemd markers are visible in the lab: $(cat "$W/lab5.out")"
[ "$still" = yes ] || fail "hiding systemd in the lab changed the host's /run"
ok "the host's systemd and D-Bus are hidden in the lab, and the host keeps them"

finish
