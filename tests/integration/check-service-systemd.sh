#!/usr/bin/env bash
# service.* through systemd's D-Bus API, for real: a minimal Debian 12 rootfs (debootstrap,
# cached under /var/cache/mxdeck-tests) boots systemd as PID 1 in private pid, mount, net,
# uts, ipc and cgroup namespaces, on a throwaway overlay of the cache; the mxdeck of this
# build runs in there (nsenter) while units are stopped, started, enabled and disabled, in
# Debian's layout (postfix.service a oneshot wrapper around postfix@-.service) and in RHEL's
# (one forking postfix.service). Needs root, overlayfs, debootstrap and, on the first run
# only, Debian's mirror (MXDECK_TEST_DEBIAN_MIRROR overrides it).
# With the argument "setup" (the test setup-systemd): the same booted rootfs, and instead of
# the service checks, mxdeck setup run in there (units enabled and active, then rollback).
set -u
MODE=${1:-checks}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
require_lab
for tool in debootstrap nsenter chroot unshare python3; do
        command -v "$tool" >/dev/null || skip "$tool is not installed (scripts/bootstrap --test installs it)"
done

SUITE=bookworm
MIRROR=${MXDECK_TEST_DEBIAN_MIRROR:-http://deb.debian.org/debian}
CACHE=${MXDECK_TEST_CACHE:-/var/cache/mxdeck-tests}
# Bump when the way the rootfs is prepared changes: it is part of the cache key.
RECIPE=1
BOOT_TIMEOUT=60

jq_() { python3 "$here/jsonq.py" "$@"; }

# Phase timings, reported as TAP comments.
phase_start() {
        _phase=$1
        _phase_t0=${EPOCHREALTIME/[.,]/}
}
phase_end() {
        local us=$((${EPOCHREALTIME/[.,]/} - _phase_t0))
        note "phase '$_phase' took $((us / 1000000)).$((us / 100000 % 10)) s"
}

# Packages: the services under test and what mxdeck needs to boot and talk to systemd, plus
# the packages of every library this build of mxdeck links (ldd + dpkg -S), so a new
# dependency makes a new rootfs instead of a binary that cannot start.
pkgs=(systemd systemd-sysv dbus postfix dovecot-imapd dovecot-pop3d
      libjansson4 libldns3 libidn2-0 libssl3 libsystemd0)
phase_start rootfs
if command -v dpkg >/dev/null; then
        mapfile -t libs < <(ldd "$MXDECK" | awk '$2 == "=>" && $3 ~ /^\// { print $3 }')
        # One dpkg -S for all (it is slow); by the path ldd shows and by the real one, as
        # either may be the one dpkg knows (merged /usr).
        mapfile -t real < <(readlink -f "${libs[@]}")
        owners=$(dpkg -S "${libs[@]}" "${real[@]}" 2>/dev/null)
        while read -r pkg; do pkgs+=("$pkg"); done < <(sed -n 's/^\([^:, ]*\)[^ ]*: .*/\1/p' <<<"$owners")
        for lib in "${libs[@]}"; do
                grep -qF "/${lib##*/}" <<<"$owners" || note "no Debian package ships $lib; the rootfs may lack it"
        done
fi
mapfile -t pkgs < <(printf '%s\n' "${pkgs[@]}" | sort -u)
key=$(printf '%s\n' "$RECIPE" "$SUITE" "$MIRROR" "$(uname -m)" "${pkgs[@]}" | sha256sum | cut -c1-16)
ROOTFS=$CACHE/rootfs-$SUITE-$key

W=$(mktemp -d /tmp/mxdeck-systemd.XXXXXX) || fail "cannot create a work directory"
unshare_pid=
pid1=
build_pid=
build_tmp=

# cleanup: kills the booted system and an unfinished debootstrap, removes the work
# directory; runs on any exit. The namespace goes first: meson follows its TERM with a KILL
# soon (and a KILL of our process group takes unshare, whose --kill-child takes PID 1).
cleanup() {
        if [ -n "$unshare_pid" ] && kill -0 "$unshare_pid" 2>/dev/null; then
                # SIGKILL to the namespace's PID 1 ends every process in it; its mounts (the
                # overlay, /proc, /run...) exist only in its mount namespace and go with it.
                [ -n "$pid1" ] && kill -KILL "$pid1" 2>/dev/null
                kill -KILL "$unshare_pid" 2>/dev/null
                for _ in $(seq 100); do kill -0 "$unshare_pid" 2>/dev/null || break; sleep 0.1; done
                kill -0 "$unshare_pid" 2>/dev/null && echo "# cleanup: unshare $unshare_pid is still alive"
        fi
        unshare_pid=
        pid1=
        if [ -n "$build_pid" ]; then
                # timeout(1) leads its own process group: all of debootstrap is in there.
                kill -TERM -- "-$build_pid" 2>/dev/null || kill -TERM "$build_pid" 2>/dev/null
                for _ in $(seq 100); do kill -0 "$build_pid" 2>/dev/null || break; sleep 0.1; done
                build_pid=
        fi
        [ -n "$build_tmp" ] && [ -d "$build_tmp" ] && rm -rf --one-file-system "$build_tmp"
        if grep -qF " $W/" /proc/self/mountinfo; then
                echo "# cleanup: mounts under $W leaked into the host; unmounting them"
                grep -F " $W/" /proc/self/mountinfo | awk '{ print $5 }' | sort -r | xargs -r -n1 umount -l
        fi
        [ -d "$W" ] && rm -rf --one-file-system "$W"
}
trap cleanup EXIT
trap 'exit 143' INT TERM

# --- The cached rootfs: built in a temporary directory, renamed into place when complete,
# so an interrupted debootstrap never passes for a cache entry.
build_rootfs() {
        local tmp log
        tmp=$(mktemp -d "$CACHE/.tmp-$key.XXXXXX") || fail "cannot create a directory in $CACHE"
        log=$tmp/debootstrap.log
        note "building the $SUITE rootfs in $tmp (${#pkgs[@]} packages: ${pkgs[*]})"
        # Own mount namespace: whatever debootstrap mounts in the target (/proc, /sys, /dev)
        # cannot leak into the host, even if it is killed halfway.
        # In the background, so that a TERM (meson's timeout) runs cleanup at once, not
        # after debootstrap; bounded by timeout(1) even if this script is killed.
        build_tmp=$tmp
        timeout -k 10 270 unshare --mount --propagation private \
                debootstrap --variant=minbase --include="$(IFS=,; echo "${pkgs[*]}")" \
                "$SUITE" "$tmp/root" "$MIRROR" >"$log" 2>&1 &
        build_pid=$!
        wait "$build_pid"
        local st=$?
        build_pid=
        if [ "$st" != 0 ]; then
                if grep -qE "Failed getting release file|Couldn't download|Failure trying to run|Temporary failure in name resolution|Unable to connect|Connection (refused|timed out)" "$log" &&
                   ! [ -e "$tmp/root/usr/bin/dpkg" ]; then
                        local why
                        why=$(grep -m1 -E "^E:|Failed|Couldn't|Unable" "$log")
                        rm -rf --one-file-system "$tmp"
                        skip "cannot debootstrap $SUITE from $MIRROR: $why"
                fi
                tail -15 "$log" | sed 's/^/# /'
                rm -rf --one-file-system "$tmp"
                fail "debootstrap failed (log above)"
        fi
        local r=$tmp/root
        # debconf's default answers gave Postfix a main.cf for the build host: replace it
        # with the minimal one an admin would write after "No configuration" (no TLS: no
        # snakeoil certificate in minbase).
        cat >"$r/etc/postfix/main.cf" <<'CF'
compatibility_level = 3.6
myhostname = mail.lab.test
mydestination = $myhostname, localhost
inet_interfaces = loopback-only
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
alias_maps = hash:/etc/aliases
CF
        echo mail.lab.test >"$r/etc/hostname"
        echo mail.lab.test >"$r/etc/mailname"
        printf '127.0.0.1\tlocalhost\n127.0.1.1\tmail.lab.test mail\n' >"$r/etc/hosts"
        # Nothing in the container needs these; they only slow the boot down.
        rm -f "$r"/etc/systemd/system/timers.target.wants/* "$r"/etc/systemd/system/getty.target.wants/* \
              "$r"/etc/systemd/system/multi-user.target.wants/e2scrub_reap.service
        rm -f "$r"/var/cache/apt/archives/*.deb
        printf '%s\n' "${pkgs[@]}" >"$r/.mxdeck-test-packages"
        mv -T "$tmp/root" "$ROOTFS" 2>/dev/null || note "another run built $ROOTFS first"
        rm -rf --one-file-system "$tmp"
        build_tmp=
}

mkdir -p "$CACHE" || fail "cannot create $CACHE"
exec 8>"$CACHE/.lock"
flock -w 280 8 || fail "another run holds $CACHE/.lock"
if [ -d "$ROOTFS" ]; then
        note "using the cached rootfs $ROOTFS"
else
        # Leftovers of interrupted builds (we hold the lock: nobody is building them).
        for d in "$CACHE"/.tmp-*; do
                [ -d "$d" ] && rm -rf --one-file-system "$d"
        done
        build_rootfs
        # Older keys are dead weight (a few hundred MB each).
        for d in "$CACHE"/rootfs-*; do
                [ -d "$d" ] && [ "$d" != "$ROOTFS" ] && rm -rf --one-file-system "$d"
        done
fi
flock -u 8
exec 8>&-
phase_end

# --- Boot: an overlay of the cache (the upper layer holds this build's mxdeck), systemd
# as PID 1 in its own namespaces.
phase_start boot
mkdir -p "$W/upper/usr/local/bin" "$W/work" "$W/merged"
install -m 755 "$MXDECK" "$W/upper/usr/local/bin/mxdeck" || fail "cannot copy $MXDECK"
# Not setsid: if meson kills our process group, unshare goes too, and --kill-child takes
# PID 1 (and so the whole namespace) with it.
# shellcheck disable=SC2016
unshare --pid --fork --kill-child --mount --net --uts --ipc --cgroup --propagation private \
        bash -c '
                mount -t overlay overlay -o "lowerdir=$1,upperdir=$2/upper,workdir=$2/work" "$2/merged" || exit 1
                hostname mail.lab.test
                exec env -i container=unshare TERM=dumb PATH=/usr/sbin:/usr/bin:/sbin:/bin \
                        chroot "$2/merged" /lib/systemd/systemd --log-target=console
        ' boot "$ROOTFS" "$W" </dev/null >"$W/console.log" 2>&1 &
unshare_pid=$!
disown "$unshare_pid" # cleanup kills it; no "Killed" from bash then
# The namespace's PID 1 is unshare's child (/proc files have no size: read, not test -s).
child_of_unshare() {
        pid1=$(awk '{ print $1 }' "/proc/$unshare_pid/task/$unshare_pid/children" 2>/dev/null)
        [ -n "$pid1" ]
}
wait_for 10 child_of_unshare || fail "unshare did not start: $(tail -5 "$W/console.log")"

# in_ns COMMAND...: runs COMMAND in the booted system (all its namespaces, its root), with a
# clean environment.
in_ns() {
        nsenter -t "$pid1" -a -r -w env -i PATH=/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
                LC_ALL=C.UTF-8 NO_COLOR=1 "$@"
}
booted() {
        local s
        s=$(in_ns systemctl is-system-running 2>/dev/null)
        [ "$s" = running ] || [ "$s" = degraded ]
}
if ! wait_for "$BOOT_TIMEOUT" booted; then
        tail -20 "$W/console.log" | sed 's/^/# /'
        fail "systemd did not finish booting within $BOOT_TIMEOUT s (is-system-running: $(in_ns systemctl is-system-running 2>&1))"
fi
phase_end
ok "systemd booted as PID 1 ($(in_ns systemctl is-system-running))"
[ "$(in_ns systemctl is-system-running)" = degraded ] &&
        note "failed units: $(in_ns systemctl --failed --plain --no-legend | tr '\n' ' ')"
in_ns mxdeck --version >/dev/null 2>&1 || fail "mxdeck cannot run in the rootfs: $(in_ns ldd /usr/local/bin/mxdeck 2>&1 | grep 'not found' | tr '\n' ' ')"

if [ "$MODE" != setup ]; then
phase_start checks
# check: mxdeck check --only service --format json in there; $T/out.json and $T/rc.
T=$W/out
mkdir -p "$T"
check() {
        in_ns mxdeck check --only service --format json >"$T/out.json" 2>"$T/err"
        echo $? >"$T/rc"
        [ -s "$T/out.json" ] || not_ok "mxdeck check printed nothing (exit $(cat "$T/rc")): $(head -3 "$T/err")"
}
status_of() { jq_ status "$1" <"$T/out.json"; }
field_of() { jq_ field "$1" "$2" <"$T/out.json"; }
sysctl_() { in_ns systemctl "$@" >"$T/systemctl.out" 2>&1 || not_ok "systemctl $*: $(tail -2 "$T/systemctl.out")"; }
# `systemctl stop postfix.service` returns before the stop it propagates to postfix@-.service
# (PartOf=) has finished: wait for that too.
_inactive() { [ "$(in_ns systemctl is-active "$1")" = inactive ]; }
wait_inactive() { wait_for 10 _inactive "$1" || not_ok "$1 still $(in_ns systemctl is-active "$1") 10 s after stop"; }

# The Debian unit layout is what this test is about; make sure it is still there.
expect_eq "$(in_ns systemctl show -P Type postfix.service)" oneshot "Debian's postfix.service is a oneshot wrapper"
expect_eq "$(in_ns systemctl show -P Type postfix@-.service)" forking "postfix@-.service runs the master"

# 1. Both stopped: critical, the unit state is named, exit 2 (Nagios too).
sysctl_ stop postfix.service dovecot.service dovecot.socket
wait_inactive postfix@-.service
check
expect_eq "$(status_of service.postfix)" critical "both stopped: postfix critical"
expect_eq "$(status_of service.dovecot)" critical "both stopped: dovecot critical"
expect_match "$(field_of service.postfix summary)" "not running.*inactive" "postfix summary names the unit state"
expect_match "$(field_of service.dovecot summary)" "dovecot.service: inactive/dead" "dovecot summary names the unit state"
expect_match "$(field_of service.postfix detail)" "ActiveState=inactive" "postfix detail has ActiveState"
expect_match "$(field_of service.dovecot fix)" "systemctl enable --now dovecot.service" "remedy uses systemctl"
expect_eq "$(cat "$T/rc")" 2 "both stopped: exit code 2"
in_ns mxdeck check --only service --format nagios >"$T/out.nagios"
expect_eq "$?" 2 "both stopped: nagios exit 2"
expect_match "$(head -1 "$T/out.nagios")" "^MXDECK CRITICAL: " "both stopped: nagios line"

# 2. Postfix started and enabled, Dovecot stopped.
sysctl_ enable --now postfix.service
check
expect_eq "$(status_of service.postfix)" ok "postfix started: ok"
expect_match "$(field_of service.postfix summary)" "running \(pid [0-9]+\)" "postfix summary has the master pid"
expect_match "$(field_of service.postfix detail)" "postfix@-.service.*ActiveState=active SubState=running" \
        "postfix detail shows the instance running"
expect_eq "$(status_of service.dovecot)" critical "dovecot still stopped: critical"
expect_eq "$(cat "$T/rc")" 2 "dovecot stopped: exit code 2"

# 3. Both started and enabled: ok, exit 0.
sysctl_ enable --now dovecot.service
check
expect_eq "$(status_of service.postfix)" ok "both running: postfix ok"
expect_eq "$(status_of service.dovecot)" ok "both running: dovecot ok"
expect_match "$(field_of service.dovecot detail)" "ActiveState=active SubState=running UnitFileState=enabled" \
        "dovecot detail"
expect_eq "$(cat "$T/rc")" 0 "both running: exit code 0"

# 4. Running but disabled: warning, exit 1.
sysctl_ disable postfix.service dovecot.service
check
expect_eq "$(status_of service.postfix)" warning "postfix disabled: warning"
expect_eq "$(status_of service.dovecot)" warning "dovecot disabled: warning"
expect_match "$(field_of service.postfix summary)" "will not start at boot \(disabled\)" "postfix: will not start at boot"
expect_match "$(field_of service.dovecot summary)" "will not start at boot \(disabled\)" "dovecot: will not start at boot"
expect_match "$(field_of service.dovecot fix)" "systemctl enable --now dovecot.service" "remedy: enable it"
expect_eq "$(cat "$T/rc")" 1 "disabled: exit code 1"
sysctl_ enable postfix.service dovecot.service

# 5. Debian's wrapper stays active (exited) when the instance is stopped or dies: the probe
# must look at postfix@-.service.
sysctl_ stop postfix@-.service
expect_eq "$(in_ns systemctl is-active postfix.service)" active "wrapper still active with the instance stopped"
check
expect_eq "$(status_of service.postfix)" critical "instance stopped under an active wrapper: critical"
expect_match "$(field_of service.postfix summary)" "postfix@-.service: inactive/dead" "summary names the instance's state"
expect_match "$(field_of service.postfix remedy)" "journalctl -u postfix@-.service" "remedy points at the instance's journal"
sysctl_ start postfix.service
sysctl_ kill -s KILL postfix@-.service
instance_failed() { [ "$(in_ns systemctl is-active postfix@-.service)" = failed ]; }
wait_for 10 instance_failed ||
        not_ok "postfix@-.service did not fail after SIGKILL: $(in_ns systemctl is-active postfix@-.service)"
check
expect_eq "$(status_of service.postfix)" critical "master killed: critical"
expect_match "$(field_of service.postfix summary)" "postfix@-.service: failed/failed" "summary says the instance failed"
sysctl_ reset-failed postfix@-.service
sysctl_ restart postfix.service
check
expect_eq "$(status_of service.postfix)" ok "postfix restarted: ok"

# 6. A master started by hand, outside systemd: running, but not systemd's.
sysctl_ stop postfix.service
wait_inactive postfix@-.service
in_ns postfix start >"$T/start.log" 2>&1 || not_ok "postfix start (by hand) failed: $(tail -3 "$T/start.log" | tr '\n' ' ')"
check
expect_eq "$(status_of service.postfix)" warning "master outside systemd: warning"
expect_match "$(field_of service.postfix summary)" "outside systemd" "summary says outside systemd"
in_ns postfix stop >/dev/null 2>&1

# 7. RHEL's layout: one forking postfix.service running the master itself.
in_ns sh -c 'cat >/etc/systemd/system/postfix.service' <<'UNIT'
# As shipped by RHEL 9's postfix package (minus its aliasesdb/chroot-update helpers).
[Unit]
Description=Postfix Mail Transport Agent
After=syslog.target network.target
Conflicts=sendmail.service exim.service

[Service]
Type=forking
PIDFile=/var/spool/postfix/pid/master.pid
ExecStart=/usr/sbin/postfix start
ExecReload=/usr/sbin/postfix reload
ExecStop=/usr/sbin/postfix stop

[Install]
WantedBy=multi-user.target
UNIT
sysctl_ mask postfix@-.service
sysctl_ daemon-reload
sysctl_ start postfix.service
expect_eq "$(in_ns systemctl show -P Type postfix.service)" forking "RHEL layout: postfix.service is forking"
check
expect_eq "$(status_of service.postfix)" ok "RHEL layout: running postfix ok"
expect_match "$(field_of service.postfix detail)" "^postfix.service: ActiveState=active SubState=running UnitFileState=enabled" \
        "RHEL layout: detail from postfix.service alone"
sysctl_ disable postfix.service
check
expect_eq "$(status_of service.postfix)" warning "RHEL layout: disabled: warning"
sysctl_ stop postfix.service
check
expect_eq "$(status_of service.postfix)" critical "RHEL layout: stopped: critical"
expect_match "$(field_of service.postfix summary)" "postfix.service: inactive/dead" "RHEL layout: summary"
phase_end
fi

if [ "$MODE" = setup ]; then
T=$W/out
mkdir -p "$T"
sysctl_() { in_ns systemctl "$@" >"$T/systemctl.out" 2>&1 || not_ok "systemctl $*: $(tail -2 "$T/systemctl.out")"; }
_inactive() { [ "$(in_ns systemctl is-active "$1")" = inactive ]; }
wait_inactive() { wait_for 10 _inactive "$1" || not_ok "$1 still $(in_ns systemctl is-active "$1") 10 s after stop"; }
# mxdeck setup on this booted host: with systemd as PID 1 the services step enables
# and reload-or-restarts the units over sd-bus and waits until they are active; rollback
# disables what it enabled and stops what it started. Both units start disabled and stopped.
phase_start setup
sysctl_ disable --now postfix.service dovecot.service dovecot.socket
wait_inactive postfix@-.service
in_ns sh -c 'umask 077; printf "S3tup-in-systemd\n" >/root/bob.pw
printf "[server]\nhostname = mail.lab.test\ndomain = lab.test\n[users]\nmode = system\n[user bob]\npassword_file = /root/bob.pw\n[dovecot]\nprotocols = imap pop3\n[dkim]\nenabled = no\n" >/root/answers.ini'
in_ns sh -c 'cd /etc && find . -type f -exec sha256sum {} + | sort' >"$T/etc-before"
in_ns mxdeck setup --answers /root/answers.ini --yes >"$T/setup.out" 2>&1
rc=$?
expect_eq "$rc" 0 "setup on a booted systemd host: applied and verified"
[ "$rc" = 0 ] || tail -25 "$T/setup.out" | sed 's/^/# /'
expect_match "$(cat "$T/setup.out")" "systemctl enable postfix.service \(over D-Bus\)" "setup enabled postfix.service over D-Bus"
expect_match "$(cat "$T/setup.out")" "systemctl reload-or-restart dovecot.service \(over D-Bus\)" "setup started dovecot.service over D-Bus"
for u in postfix.service dovecot.service; do
        expect_eq "$(in_ns systemctl is-enabled "$u")" enabled "after setup: $u enabled"
        expect_eq "$(in_ns systemctl is-active "$u")" active "after setup: $u active"
done
expect_eq "$(in_ns systemctl is-active postfix@-.service)" active "after setup: postfix@-.service (the master) active"
in_ns mxdeck setup --answers /root/answers.ini --yes >"$T/setup2.out" 2>&1
expect_eq "$?" 3 "setup again: nothing to change"
in_ns mxdeck rollback >"$T/rollback.out" 2>&1
rc=$?
expect_eq "$rc" 0 "rollback on the systemd host"
[ "$rc" = 0 ] || tail -15 "$T/rollback.out" | sed 's/^/# /'
expect_match "$(cat "$T/rollback.out")" "disable postfix.service \(over D-Bus\)" "rollback disabled postfix.service over D-Bus"
for u in postfix.service dovecot.service; do
        expect_eq "$(in_ns systemctl is-enabled "$u")" disabled "after rollback: $u disabled again"
done
_stopped() { [ "$(in_ns systemctl is-active dovecot.service)" != active ] && [ "$(in_ns systemctl is-active postfix@-.service)" != active ]; }
if wait_for 10 _stopped; then
        ok "after rollback: both stopped again"
else
        not_ok "after rollback: dovecot $(in_ns systemctl is-active dovecot.service), postfix@- $(in_ns systemctl is-active postfix@-.service)"
fi
in_ns sh -c 'cd /etc && find . -type f -exec sha256sum {} + | sort' >"$T/etc-after"
if cmp -s "$T/etc-before" "$T/etc-after"; then
        ok "after rollback: every file under /etc as before"
else
        not_ok "after rollback: /etc differs: $(diff "$T/etc-before" "$T/etc-after" | head -6 | tr '\n' ' ')"
fi
phase_end
fi

phase_start teardown
ns_pid=$unshare_pid
cleanup
phase_end
kill -0 "$ns_pid" 2>/dev/null && not_ok "the namespace outlived the teardown"
[ -e "$W" ] && not_ok "$W was not removed"
finish
