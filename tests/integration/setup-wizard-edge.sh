#!/usr/bin/env bash
# The setup wizard's edges in a real terminal (tmux), in one lab host with real Postfix,
# Dovecot and journald, from Debian's "No configuration" state:
#   Esc then y on EVERY page (each form page and the plan) leaves the machine unchanged;
#   a step that fails for real late in the apply (port 993 held by another socket, so
#   Dovecot cannot listen and the services step's check fails) shows the step, its output
#   and the rollback offer, the step names appear as they start, and r rolls the files back
#   to what they were; on a server set up by `setup --answers F --yes` whose administrator
#   then changed two managed main.cf settings, the plan page shows both conflicts and
#   resolves them one by one (c next, o take ours, t keep theirs), and the apply does what
#   was chosen for each.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
command -v tmux >/dev/null || skip "tmux is not installed"
in_lab_or_reexec --hostname mail.lab.test -- "$0" "$@"

T=$(mktemp -d /tmp/mxdeck-wizedge.XXXXXX)
export TMUX_TMPDIR=$T
S=edge0

cap() { tmux capture-pane -p -t "$S" 2>/dev/null; }
keys() { tmux send-keys -t "$S" "$@"; }
to_plan() {
        for _ in 1 2 3 4 5 6 7 8 9 10; do
                keys PgDn
                wait_screen 3 "The plan|fix the problem" && break
        done
        wait_screen 20 "The plan"
}
run=0
start() {
        # (the server is ended and waited for: a new session started beside the last one
        # being killed can land in the dying server)
        [ "$run" = 0 ] || tmux_kill_server
        run=$((run + 1))
        S=edge$run
        tmux -f /dev/null new-session -d -s "$S" -x 160 -y 40 \
                "cd $T && TERM=xterm-256color $MXDECK setup 2>$T/err; echo \"EXIT=\$?\"; sleep 600"
        tmux pipe-pane -t "$S" -o "cat >>$T/tty.raw"
        wait_screen 20 "Server identity" || fail "no wizard: $(cap | head -5) $(cat "$T/err")"
}
# leave: Esc, y, exit 5 (nothing applied).
leave() {
        keys Escape
        wait_screen 5 "Leave the setup\? Nothing has been changed" || { not_ok "$1: no quit question: $(cap | tail -2)"; return 1; }
        keys y
        wait_screen 10 "EXIT=5" || { not_ok "$1: no exit 5: $(cap | tail -3)"; return 1; }
}

# snapshot FILE: content hash, mode and owner of every file setup may touch (as
# setup-wizard.sh's, with the firewall, fail2ban and DKIM files too).
snapshot() {
        local paths=(etc/postfix etc/dovecot etc/ssl etc/hostname etc/mailname etc/passwd etc/group
                     etc/shadow etc/gshadow etc/aliases etc/fail2ban etc/nftables* etc/opendkim*
                     var/lib/mxdeck var/vmail)
        (cd / && find "${paths[@]}" -xdev -printf '%p %m %U:%G %l\n' 2>/dev/null | sort &&
                find "${paths[@]}" -xdev -type f -print0 2>/dev/null | sort -z | xargs -0 -r sha256sum) >"$1" 2>/dev/null
}
same() { # same A B MESSAGE
        if cmp -s "$1" "$2"; then ok "$3"; else not_ok "$3: $(diff "$1" "$2" | head -6)"; fi
}

# Debian's "No configuration": the package is installed, main.cf is not there.
rm -f /etc/postfix/main.cf
postfix stop >/dev/null 2>&1 || true
snapshot "$T/before"
[ "$(wc -l <"$T/before")" -gt 20 ] || fail "the snapshot is too small: $(wc -l <"$T/before") lines"

# 1. Esc then y on every page: a fresh wizard per page, PgDn to it, leave, compare.
start
n=$(cap | head -1 | sed -nE 's/.*mxdeck setup +1\/([0-9]+) .*/\1/p')
[[ $n =~ ^[0-9]+$ ]] && [ "$n" -ge 5 ] || fail "no page count in the title: $(cap | head -1)"
note "$((n - 1)) form pages and the plan"
for page in $(seq 1 "$n"); do
        [ "$page" = 1 ] || start
        for _ in $(seq 2 "$page"); do keys PgDn; done
        if [ "$page" -lt "$n" ]; then
                wait_screen 5 "mxdeck setup +$page/$n " || { not_ok "page $page not reached: $(cap | head -1; cap | tail -1)"; continue; }
        else
                wait_screen 20 "mxdeck setup +$n/$n The plan" || { not_ok "the plan not reached: $(cap | head -3; cap | tail -1)"; continue; }
        fi
        what=$(cap | head -1 | sed -E 's/^ *mxdeck setup +//; s/ +$//')
        leave "page $what" || continue
        snapshot "$T/after-esc$page"
        same "$T/before" "$T/after-esc$page" "Esc, y on page $what: exit 5, nothing changed"
done
tmux_kill_server
run=0

# 2. A step that fails for real late in the apply. A socket bound to 993 (not listening,
# no SO_REUSEADDR): Dovecot cannot bind its IMAPS listener, and the services step's check
# that every port answers fails. Preflight looks only at 25 and 587.
python3 - "$T/holder-ready" <<'PY' &
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.bind(("0.0.0.0", 993))
open(sys.argv[1], "w").close()
time.sleep(280)
PY
holder=$!
wait_for_file "$T/holder-ready" 10 || fail "could not hold port 993"
start
keys PgDn
wait_screen 5 "Users" || fail "no users page"
for _ in 1 2 3; do
        keys PgDn
        wait_screen 3 "mxdeck setup +[0-9]+/[0-9]+ Dovecot" && break
done
wait_screen 2 "mxdeck setup +[0-9]+/[0-9]+ Dovecot" || fail "no Dovecot page: $(cap | head -3)"
keys C-u
keys -l 'imap lmtp'
wait_screen 5 "Protocols +imap lmtp" || not_ok "protocols not typed"
to_plan || fail "no plan: $(cap | head -5)"
snapshot "$T/before-apply"
same "$T/before" "$T/before-apply" "(the machine is as before the walk)"
keys a
wait_screen 5 "Apply these changes now\?" || not_ok "no apply question"
raw_at=$(stat -c %s "$T/tty.raw")
keys y
# the services step waits (bounded, 15 s) for port 993: its name is on the screen while it
# runs, before the failure
if wait_screen 90 "==> services"; then
        if cap | grep -q "Roll back"; then
                not_ok "the services step was only shown once the apply had ended"
        else
                ok "the running step is shown while it runs (==> services, the apply not yet over)"
        fi
else
        not_ok "no services step on the screen: $(cap | tail -8)"
fi
wait_screen 60 "Roll back|EnterDashboard" || fail "the apply did not end: $(cap | tail -8)"
cap >"$T/failed-screen"
expect_match "$(cat "$T/failed-screen")" "Step services failed" "the failing step is named"
expect_match "$(cat "$T/failed-screen")" "listen\(\*, 993\) failed: Address already in use" "the failing daemon's own output is shown"
expect_match "$(cat "$T/failed-screen")" "nothing answers on port 993 after [0-9]+ s" "the step's check says what failed"
expect_match "$(cat "$T/failed-screen")" "r rolls back what was done so far; k keeps it \(undo later with: mxdeck rollback [0-9]{8}-[0-9]{6}-[0-9a-f]{4}\)" \
        "the rollback is offered"
expect_match "$(tail -1 "$T/failed-screen")" "^rRoll back +kKeep as is and quit" "the bar offers r and k"
# progress: every step up to the failing one was drawn as it started, in order
tail -c +"$((raw_at + 1))" "$T/tty.raw" >"$T/apply.raw"
prev=0
for step in hostname tls postfix dovecot services; do
        at=$(grep -abo -- "==> $step" "$T/apply.raw" | head -1 | cut -d: -f1)
        if [ -z "$at" ]; then
                not_ok "the terminal never showed step $step during the apply"
        elif [ "$at" -lt "$prev" ]; then
                not_ok "step $step was shown before the step before it"
        else
                ok "the terminal showed step $step as it started (byte $at of the apply)"
                prev=$at
        fi
done
keys r
wait_screen 30 "Rolled back: the files are as they were|The rollback failed" || fail "no rollback: $(cap | tail -8)"
expect_match "$(cap)" "Rolled back: the files are as they were" "r rolls back"
# the journal (var/lib/mxdeck) keeps the history of the transaction and its rollback
snapshot "$T/after-rollback"
grep -v ' var/lib/mxdeck\| \./var/lib/mxdeck\|^var/lib/mxdeck' "$T/before" >"$T/before.nojournal"
grep -v ' var/lib/mxdeck\| \./var/lib/mxdeck\|^var/lib/mxdeck' "$T/after-rollback" >"$T/after-rollback.nojournal"
same "$T/before.nojournal" "$T/after-rollback.nojournal" "after the rollback every touched file is as before the apply (content, mode, owner)"
expect_match "$("$MXDECK" history 2>&1 | head -1)" "rolled back|rolled-back" "history shows the transaction rolled back"
keys q
wait_screen 10 "EXIT=1" && ok "q after the rollback: exit 1 (a step failed)" || not_ok "exit: $(cap | tail -3)"
tmux_kill_server
run=0
kill "$holder" 2>/dev/null
wait "$holder" 2>/dev/null
postfix stop >/dev/null 2>&1
doveadm stop >/dev/null 2>&1

# 3. Conflicts resolved one by one on the plan page.
pw='c0rrect-Horse-battery'
printf '%s\n' "$pw" >"$T/user.pw"
chmod 600 "$T/user.pw"
cat >"$T/answers.ini" <<EOF
[server]
hostname = mail.lab.test
domain = lab.test

[users]
mode = virtual

[user alice]
password_file = $T/user.pw

[dovecot]
protocols = imap lmtp

[dkim]
enabled = no
EOF
"$MXDECK" setup --answers "$T/answers.ini" --yes >"$T/setup1.log" 2>&1
rc=$?
[ "$rc" = 0 ] || fail "setup --answers --yes: exit $rc: $(tail -15 "$T/setup1.log")"
ok "set up non-interactively"
ours_banner=$(postconf -h smtpd_banner)
expect_eq "$(postconf -h smtpd_tls_auth_only)" yes "(mxdeck set smtpd_tls_auth_only=yes)"
# the administrator changes two managed settings
# shellcheck disable=SC2016 # (Postfix's $myhostname, not the shell's)
edited='$myhostname ESMTP edited-by-admin'
[ "$ours_banner" != "$edited" ] || fail "(mxdeck's banner is already the edited one)"
postconf -e 'smtpd_tls_auth_only = no' "smtpd_banner = $edited"
postfix reload >/dev/null 2>&1

start
to_plan || fail "no plan on the configured server: $(cap | head -5)"
wait_screen 5 "Conflict 1/2: " && ok "the plan page shows two conflicts" || fail "no conflict line: $(cap | head -6)"
first=$(cap | grep -o 'Conflict 1/2: .* is' | head -1)
keys c
wait_screen 5 "Conflict 2/2: " || not_ok "c does not go to the next conflict: $(cap | head -6)"
second=$(cap | grep -o 'Conflict 2/2: .* is' | head -1)
both="$first|$second"
expect_match "$both" "smtpd_tls_auth_only" "one conflict is smtpd_tls_auth_only"
expect_match "$both" "smtpd_banner" "the other is smtpd_banner"
# both are in the plan text too, each kept as theirs so far
keys / s m t p d _ t l s _ a u t h _ o n l y Enter
wait_screen 5 "conflict: main.cf smtpd_tls_auth_only was changed since mxdeck set it" &&
        ok "the plan text lists the smtpd_tls_auth_only conflict" || not_ok "not in the plan text: $(cap | sed -n 3,12p)"
keys / s m t p d _ b a n n e r Enter
wait_screen 5 "conflict: main.cf smtpd_banner was changed since mxdeck set it" &&
        ok "the plan text lists the smtpd_banner conflict" || not_ok "not in the plan text: $(cap | sed -n 3,12p)"
# go to smtpd_tls_auth_only and take ours; to smtpd_banner and keep theirs
for _ in 1 2 3; do
        cap | grep -q "Conflict [12]/2: main.cf smtpd_tls_auth_only is" && break
        keys c
        wait_screen 2 "Conflict [12]/2: main.cf smtpd_tls_auth_only is"
done
expect_match "$(cap | grep 'Conflict [12]/2')" "smtpd_tls_auth_only is 'no' now .* -> KEEP THEIRS" "smtpd_tls_auth_only: theirs ('no') kept unless asked"
keys o
wait_screen 5 "Conflict [12]/2: main.cf smtpd_tls_auth_only is 'no' now .* -> TAKE OURS" &&
        ok "o takes ours for smtpd_tls_auth_only" || not_ok "o: $(cap | grep 'Conflict')"
keys c
wait_screen 5 "Conflict [12]/2: main.cf smtpd_banner is" || not_ok "c: $(cap | grep 'Conflict')"
keys t
wait_screen 5 "Conflict [12]/2: main.cf smtpd_banner is '\\\$myhostname ESMTP edited-by-admin' now .* -> KEEP THEIRS" &&
        ok "t keeps theirs for smtpd_banner" || not_ok "t: $(cap | grep 'Conflict')"
keys c
wait_screen 5 "Conflict [12]/2: main.cf smtpd_tls_auth_only is .* -> TAKE OURS" &&
        ok "the first choice stays when the second is made" || not_ok "first choice lost: $(cap | grep 'Conflict')"
keys / t a k i n g Enter
wait_screen 5 "-> taking ours" || not_ok "the plan text does not take ours anywhere: $(cap | sed -n 3,12p)"
keys a
wait_screen 5 "Apply these changes now\?" || not_ok "no apply question"
raw_at=$(stat -c %s "$T/tty.raw")
keys y
wait_screen 90 "EnterDashboard|Roll back" || fail "apply did not finish: $(cap | tail -8)"
wait_screen 1 "EnterDashboard" && ok "applied" || fail "apply failed: $(cap | tail -15) $(cat "$T/err")"
expect_eq "$(postconf -h smtpd_tls_auth_only)" yes "ours taken for smtpd_tls_auth_only"
expect_eq "$(postconf -h smtpd_banner)" "$edited" "theirs kept for smtpd_banner"
tail -c +"$((raw_at + 1))" "$T/tty.raw" >"$T/apply2.raw"
for step in postfix services verify; do
        grep -aq -- "==> $step" "$T/apply2.raw" && ok "the terminal showed step $step as it started (conflicts' apply)" ||
                not_ok "no '==> $step' in the terminal bytes of the apply"
done
keys q
wait_screen 10 "EXIT=0" && ok "q after the apply: exit 0" || not_ok "exit: $(cap | tail -3)"
tmux_kill_server

postfix stop >/dev/null 2>&1
doveadm stop >/dev/null 2>&1
finish
