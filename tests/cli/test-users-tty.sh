#!/usr/bin/env bash
# mxdeck users add/passwd on a terminal (tmux): the password is asked twice with echo off
# (it never shows on the screen), two different answers are refused without a change, the
# same answer twice sets it. Against a temporary root in virtual mode (the files setup
# leaves: main.cf's virtual_mailbox_domains, Dovecot's passwd-file, Postfix's mailbox
# table); the real accounts and daemons are tests/integration/users.sh's business.
set -u
mxdeck=${MXDECK:-$MXDECK_BUILD_ROOT/cli/mxdeck}
command -v tmux >/dev/null || { echo "tmux is not installed: skipped"; exit 77; }
T=$(mktemp -d /tmp/test-users-tty.XXXXXX)
sock="$T/tmux.sock"
passed=0 failed=0
ok() { passed=$((passed + 1)); echo "ok - $1"; }
bad() { failed=$((failed + 1)); echo "not ok - $1"; }
cleanup() { tmux -S "$sock" kill-server 2>/dev/null; rm -rf "$T"; }
trap cleanup EXIT

R="$T/root"
mkdir -p "$R/etc/postfix" "$R/etc/dovecot"
printf 'ID=debian\nVERSION_ID="12"\n' >"$R/etc/os-release"
printf 'root:x:0:0::/root:/bin/sh\n' >"$R/etc/passwd"
printf 'root:x:0:\n' >"$R/etc/group"
printf 'virtual_mailbox_domains = example.test\nvirtual_mailbox_maps = texthash:/etc/postfix/mxdeck-mailboxes\n' >"$R/etc/postfix/main.cf"
printf 'alice@example.test:{SHA512-CRYPT}$6$x$y::::::\n' >"$R/etc/dovecot/users"
chmod 640 "$R/etc/dovecot/users"
printf 'alice@example.test OK\n' >"$R/etc/postfix/mxdeck-mailboxes"

# wait_screen PATTERN [SECONDS]: until the pane shows PATTERN (bounded: 15 s by default; an
# add runs the installer, which takes far longer under ASan on a loaded machine)
wait_screen() {
        for _ in $(seq $((${2:-15} * 10))); do
                tmux -S "$sock" capture-pane -p -t t >"$T/screen" 2>/dev/null
                grep -Eq -- "$1" "$T/screen" && return 0
                sleep 0.1
        done
        return 1
}

start() {
        # kill-server returns before the server is gone: a new session must not land in it
        tmux -S "$sock" kill-server 2>/dev/null
        for _ in $(seq 100); do
                tmux -S "$sock" list-sessions >/dev/null 2>&1 || break
                sleep 0.1
        done
        tmux -S "$sock" new-session -d -s t -x 160 -y 40 \
                "$mxdeck users $* --root $R --mode virtual; echo EXIT=\$?; sleep 600"
}

# different answers: refused, nothing changed
start add carol
wait_screen 'New password for carol@example.test:' && ok "asks for the password" || bad "no prompt: $(cat "$T/screen")"
tmux -S "$sock" send-keys -t t 'first-Passw0rd' Enter
wait_screen 'Type it again:' && ok "asks again" || bad "no second prompt"
tmux -S "$sock" send-keys -t t 'other-Passw0rd' Enter
wait_screen 'EXIT=' 120 || bad "did not end"
grep -q 'EXIT=2' "$T/screen" && grep -q 'the two passwords differ; nothing was changed' "$T/screen" &&
        ok "two different answers refused" || bad "different answers: $(cat "$T/screen")"
grep -q 'carol' "$R/etc/dovecot/users" && bad "carol added despite the refusal" || ok "nothing changed"
grep -q 'Passw0rd' "$T/screen" && bad "the password showed on the screen" || ok "echo was off"

# the same answer twice: set
start add carol
wait_screen 'New password for carol@example.test:'
tmux -S "$sock" send-keys -t t 'carol-Passw0rd' Enter
wait_screen 'Type it again:'
tmux -S "$sock" send-keys -t t 'carol-Passw0rd' Enter
wait_screen 'EXIT=' 120 || bad "did not end"
grep -q 'EXIT=0' "$T/screen" && grep -q 'Done: transaction' "$T/screen" && ok "added" || bad "add: $(cat "$T/screen")"
grep -q 'Passw0rd' "$T/screen" && bad "the password showed on the screen" || ok "echo was off"
grep -q '^carol@example.test:{SHA512-CRYPT}\$6\$' "$R/etc/dovecot/users" && ok "the hash is stored" || bad "no hash: $(cat "$R/etc/dovecot/users")"
grep -rqs 'carol-Passw0rd' "$R" && bad "the password is stored in clear under the root" || ok "no clear password under the root"
[ "$(stat -c %a "$R/etc/dovecot/users")" = 640 ] && ok "the passwd-file keeps its mode" || bad "mode changed"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
