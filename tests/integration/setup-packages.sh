#!/usr/bin/env bash
# The packages and preflight steps for real, in one lab host (Debian, no network: the lab
# has its own network namespace):
#   1. everything installed -> the packages step has nothing to do (dpkg-query, no apt);
#   2. dovecot-pop3d removed -> setup installs it with apt-get from the local cache
#      (/var/cache/apt/archives; skipped, saying so, when the .deb is not there), through
#      DEBIAN_FRONTEND=noninteractive, then plans and applies the rest in the same
#      transaction; rollback restores the files and reports the package, leaving it;
#   3. port 587 held by another program -> refused before any change, naming the program
#      and its pid;
#   4. Exim's binary present -> refused, naming it and the answers key.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
in_lab_or_reexec --hostname mail.lab.test -- "$0" "$@"

T=$(mktemp -d /root/mxdeck-pkg.XXXXXX)
printf 'Pa55-word-pkg\n' >"$T/pw"
chmod 600 "$T/pw"
printf '[server]\nhostname = mail.lab.test\ndomain = lab.test\n[users]\nmode = system\n[user bob]\npassword_file = %s\n[dovecot]\nprotocols = imap pop3\n' \
        "$T/pw" >"$T/answers.ini"
rm -f /etc/postfix/main.cf
postfix stop >/dev/null 2>&1 || true

status_of() { dpkg-query -W -f='${db:Status-Abbrev}' "$1" 2>&1; }

# 1. all installed
"$MXDECK" setup --answers "$T/answers.ini" --dry-run >"$T/plan" 2>&1
expect_eq "$?" 0 "dry run with everything installed: exit 0 (other steps change)"
expect_match "$(grep '^packages:' "$T/plan")" "nothing to change" "everything installed: the packages step has nothing to do"
if grep -q 'apt-get' "$T/plan"; then
        not_ok "everything installed, yet the plan runs apt-get: $(grep apt-get "$T/plan")"
else
        ok "everything installed: no apt-get in the plan"
fi

# 2. install from the local apt cache
deb=$(find /var/cache/apt/archives -maxdepth 1 -name 'dovecot-pop3d_*.deb' | head -1)
if [ -z "$deb" ]; then
        note "skipped the install from the local apt cache: no dovecot-pop3d .deb in /var/cache/apt/archives (apt-get install --download-only dovecot-pop3d puts one there)"
else
        dpkg -r dovecot-pop3d >"$T/dpkg-r" 2>&1 || not_ok "dpkg -r dovecot-pop3d: $(tail -2 "$T/dpkg-r")"
        expect_match "$(status_of dovecot-pop3d)" "^rc" "dovecot-pop3d removed (its configuration left)"
        # /etc without what the package itself brings back (its conf.d file)
        snap() {
                find /etc -xdev -type f ! -name '20-pop3.conf' -exec sha256sum {} + 2>/dev/null | sort
                find /etc -xdev ! -name '20-pop3.conf' -printf '%p %m %U:%G %y\n' | sort
        }
        snap >"$T/before"
        "$MXDECK" setup --answers "$T/answers.ini" --dry-run >"$T/plan" 2>&1
        expect_match "$(cat "$T/plan")" "to install: dovecot-pop3d; the other steps are planned once" "the plan names the package to install"
        expect_match "$(cat "$T/plan")" '\$ apt-get install -y --no-install-recommends dovecot-pop3d' "the plan shows the apt-get command"
        "$MXDECK" setup --answers "$T/answers.ini" --yes --format json >"$T/json" 2>"$T/out"
        rc=$?
        expect_eq "$rc" 0 "setup installs dovecot-pop3d without network and finishes (verified)"
        # the apply planned the rest after the install: changed_steps covers both parts
        expect_match "$(python3 -c 'import json,sys; print(" ".join(json.load(sys.stdin)["changed_steps"]))' <"$T/json")" \
                "^packages .*dovecot.* services$" "JSON changed_steps: the steps planned after the install too"
        [ "$rc" = 0 ] && [ -n "${MXDECK_TEST_VERBOSE:-}" ] && sed 's/^/# /' "$T/out"
        [ "$rc" = 0 ] || tail -25 "$T/out" | sed 's/^/# /'
        expect_match "$(status_of dovecot-pop3d)" "^ii" "dovecot-pop3d installed"
        expect_match "$(tr '\n' ' ' <"$T/out")" "==> packages .*==> postfix .*==> verify" \
                "the rest of the plan was applied after the install"
        "$MXDECK" setup --answers "$T/answers.ini" --yes >/dev/null 2>&1
        expect_eq "$?" 3 "then nothing is left to change"
        "$MXDECK" rollback >"$T/rb" 2>&1
        expect_eq "$?" 0 "rollback"
        expect_match "$(cat "$T/rb")" "mxdeck installed dovecot-pop3d; rollback leaves them installed \(remove them with: apt-get remove dovecot-pop3d\)" \
                "rollback reports the package instead of removing it"
        expect_match "$(status_of dovecot-pop3d)" "^ii" "dovecot-pop3d still installed after rollback"
        postfix stop >/dev/null 2>&1
        doveadm stop >/dev/null 2>&1
        gone() { ! pgrep -x master >/dev/null && ! pgrep -x dovecot >/dev/null; }
        wait_for 10 gone || not_ok "the daemons still run after stop"
        rmdir /var/vmail 2>/dev/null
        snap >"$T/after"
        if cmp -s "$T/before" "$T/after"; then
                ok "rollback: /etc as before (but the package's own file)"
        else
                not_ok "rollback left differences: $(diff "$T/before" "$T/after" | head -6 | tr '\n' ' ')"
        fi
fi

# 3. port 587 held by another program
python3 -c '
import socket, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 587))
s.listen(1)
open(sys.argv[1], "w").write("ready\n")
time.sleep(120)' "$T/ready" &
holder=$!
wait_for 10 test -s "$T/ready" || not_ok "the port-587 holder did not start"
n_before=$(find /var/lib/mxdeck/transactions -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)
"$MXDECK" setup --answers "$T/answers.ini" --yes >"$T/out" 2>&1
expect_eq "$?" 4 "port 587 held: refused (exit 4)"
expect_match "$(cat "$T/out")" "port 587 is in use by python3 \(pid $holder\), not Postfix" "the refusal names the program and its pid"
expect_eq "$(find /var/lib/mxdeck/transactions -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)" "$n_before" \
        "port 587 held: no transaction started"
kill "$holder" 2>/dev/null
wait "$holder" 2>/dev/null

# 4. another MTA
printf '#!/bin/sh\nexit 0\n' >/usr/sbin/exim4
chmod 755 /usr/sbin/exim4
"$MXDECK" setup --answers "$T/answers.ini" --dry-run >"$T/out" 2>&1
expect_eq "$?" 4 "Exim present: refused (exit 4)"
expect_match "$(tr '\n' ' ' <"$T/out")" "another mail server is installed \(/usr/sbin/exim4\).*remove_other_mta = yes" \
        "the refusal names it and the answers key"
rm -f /usr/sbin/exim4
finish
