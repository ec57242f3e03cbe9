#!/usr/bin/env bash
# mxdeck lab --rehearse in a real terminal (tmux), from the host: the wizard runs in a
# throwaway lab host (its banner says so, it starts from a fresh install), sets up the
# lab's real Postfix and Dovecot (verified, with a round trip), then the dashboard's log
# panel shows the generated traffic: deliveries, a deferral, a refused relay attempt,
# failed IMAP logins. Afterwards the host's mail configuration is byte-identical. Without a
# terminal, --rehearse refuses with exit 2.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
command -v tmux >/dev/null || skip "tmux is not installed"
require_lab

T=$(mktemp -d /tmp/mxdeck-rehearse.XXXXXX)
export TMUX_TMPDIR=$T
S=rehearse
pw='Reh3arsal-pass-word'
trap 'tmux kill-server 2>/dev/null; rm -rf "$T"' EXIT

cap() { tmux capture-pane -p -t "$S" 2>/dev/null; }
keys() { tmux send-keys -t "$S" "$@"; }
# to_plan: PgDn through the pages left (their number grows with the installer's steps:
# firewall, DKIM, packages...) until the plan page shows; bounded.
to_plan() {
        local i
        for i in 1 2 3 4 5 6 7 8; do
                keys PgDn
                wait_screen 3 "The plan|fix the problem" && break
        done
        wait_screen 20 "The plan"
}
host_state() {
        (cd / && find etc/postfix etc/dovecot etc/ssl/private etc/hostname -xdev -type f -print0 2>/dev/null |
                sort -z | xargs -0 -r sha256sum; hostname)
}

out=$("$MXDECK" lab --rehearse </dev/null 2>&1)
expect_eq "$?" 2 "--rehearse without a terminal: exit 2"
expect_match "$out" "needs a terminal" "and it says why"

host_state >"$T/host-before"
tmux -f /dev/null new-session -d -s "$S" -x 200 -y 40 \
        "cd $T && TERM=xterm-256color timeout --foreground $((LAB_TIMEOUT - 20)) $MXDECK lab --rehearse 2>$T/err; echo \"EXIT=\$?\"; sleep 600"
tmux pipe-pane -t "$S" -o "cat >>$T/tty.raw"
wait_screen 30 "Server identity" || fail "no wizard: $(cap | head -5) $(cat "$T/err")"
expect_match "$(cap | head -1)" "REHEARSAL on a throwaway lab host" "the title says it is a rehearsal"
expect_match "$(cap)" "Host name +mail\.rehearsal\.test" "the lab's host name"
keys PgDn
wait_screen 5 "Users" || fail "no users page"
keys Right Tab
keys -l bob
keys Tab
keys -l "$pw"
keys Tab
keys -l "$pw"
keys PgDn
wait_screen 5 "Certificates" || fail "users page refused: $(cap | tail -5)"
keys PgDn
wait_screen 5 "Postfix" || fail "no Postfix page"
keys PgDn
wait_screen 5 "Dovecot" || fail "no Dovecot page"
# (the host may lack dovecot-pop3d; this test is not about POP3)
keys -l 'imap lmtp'
to_plan || fail "no plan: $(cap | head -5)"
keys a
wait_screen 5 "Apply these changes now" || not_ok "no apply question"
keys y
wait_screen 120 "EnterDashboard|Roll back" || fail "apply did not finish: $(cap | tail -8)"
wait_screen 1 "EnterDashboard" && ok "the lab host is set up" || fail "apply failed: $(cap | tail -15)"
expect_match "$(cap)" "round trip: submitted on 587 \(STARTTLS, AUTH as bob@rehearsal\.test\)" "verified with a round trip"
keys Enter
wait_screen 60 "following" && ok "the dashboard opens on the log panel" || fail "no dashboard: $(cap | head -5)"

# shows_log FILTER ERE: the log panel, filtered for FILTER, shows a log line (a time stamp
# first: the filter prompt itself does not count) matching ERE (lines are cut at the
# screen's edge, the filter sees them whole).
shows_log() {
        keys '\'
        keys -l "$1"
        keys Enter
        wait_screen 30 "^[0-9]{2}:[0-9]{2}:[0-9]{2} .*$2"
}
shows_log "status=sent" "to=<bob@rehearsal\.test>, relay=mail\.rehearsal\.test\[private/dovecot-lmtp\]" &&
        ok "deliveries show in the log panel" || not_ok "no delivery: $(cap)"
shows_log "status=deferred" "to=<someone@example\.net>, relay=none" && ok "a deferral shows" || not_ok "no deferral: $(cap)"
shows_log "Relay access denied" "reject: RCPT from unknown\[192\.0\.2\.25\]" && ok "the refused relay attempt shows" ||
        not_ok "no relay refusal: $(cap)"
shows_log "auth failed" "imap-login: .*auth failed" && ok "failed logins show" || not_ok "no failed login: $(cap)"
keys F10
wait_screen 30 "EXIT=0" && ok "quitting ends the rehearsal with status 0" || not_ok "exit: $(cap | tail -3) $(tail -3 "$T/err")"

if grep -aqF "$pw" "$T/tty.raw"; then not_ok "the password reached the terminal"; else ok "the password never reached the terminal"; fi
host_state >"$T/host-after"
cmp -s "$T/host-before" "$T/host-after" && ok "the host's mail configuration and host name are untouched" ||
        not_ok "the host changed: $(diff "$T/host-before" "$T/host-after" | head -5)"
finish
