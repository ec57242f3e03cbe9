#!/usr/bin/env bash
# The setup wizard in a real terminal (tmux), in a lab host with real Postfix, Dovecot and
# journald, from Debian's "No configuration" state:
#   Esc on the first page -> nothing changed; a host name without a domain is refused with
#   the answers file's words and the page cannot be left; a password typed twice never
#   reaches the terminal (every byte the pane received is recorded) nor the disk outside
#   its hash; the plan page survives a resize and searches; Esc on the plan page -> nothing
#   changed; apply -> the verification passes with a real round trip (submit on 587, fetch
#   over IMAPS) as the typed user; the end page lists DNS records and client settings;
#   Enter opens the dashboard; the saved answers reproduce the same configuration with
#   `mxdeck setup --answers F --yes` (nothing to change); a re-run of the wizard starts
#   from what the server has and marks what would change; --answers pre-fills it; the
#   reverse lookup of a public address waits beside the keys (a resolver the test holds).
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
command -v tmux >/dev/null || skip "tmux is not installed"
in_lab_or_reexec --hostname mail.lab.test -- "$0" "$@"

T=$(mktemp -d /tmp/mxdeck-wizard.XXXXXX)
export TMUX_TMPDIR=$T
S=wizard0
pw='Wiz4rd-secret-Pa55'

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
# start: the wizard in a fresh session; every byte it writes to the terminal is kept.
run=0
start() {
        [ "$run" = 0 ] || tmux kill-session -t "$S" 2>/dev/null
        run=$((run + 1))
        S=wizard$run
        tmux -f /dev/null new-session -d -s "$S" -x 100 -y 32 \
                "cd $T && TERM=xterm-256color $MXDECK setup --save-to $T/saved.ini $* 2>$T/err; echo \"EXIT=\$?\"; sleep 600"
        tmux pipe-pane -t "$S" -o "cat >>$T/tty.raw"
        wait_screen 20 "Server identity" || fail "no wizard: $(cap | head -5) $(cat "$T/err")"
}

# snapshot FILE: content hash, mode and owner of every file setup may touch. (Not all of
# /etc: the lab shows the host's /etc through its overlay, and package installs on the host
# while the test runs would show up as differences.)
snapshot() {
        local paths=(etc/postfix etc/dovecot etc/ssl etc/hostname etc/mailname etc/passwd etc/group
                     etc/shadow etc/gshadow etc/aliases var/lib/mxdeck var/vmail)
        (cd / && find "${paths[@]}" -xdev -printf '%p %m %U:%G %l\n' 2>/dev/null | sort &&
                find "${paths[@]}" -xdev -type f -print0 2>/dev/null | sort -z | xargs -0 -r sha256sum) >"$1" 2>/dev/null
}

# Debian's "No configuration": the package is installed, main.cf is not there.
touch "$T/stamp"
rm -f /etc/postfix/main.cf
postfix stop >/dev/null 2>&1 || true
snapshot "$T/before"

# 1. Esc on the first page: asks, then leaves; nothing changed.
start
expect_match "$(cap)" "Host name +mail\.lab\.test" "the host name is detected"
expect_match "$(cap)" "Mail domain +lab\.test" "the domain is derived from it"
keys Escape
wait_screen 5 "Leave the setup\? Nothing has been changed" && ok "Esc asks before leaving" || not_ok "no quit question: $(cap | tail -2)"
keys y
wait_screen 10 "EXIT=5" && ok "leaving the wizard: exit 5 (nothing applied)" || not_ok "no exit 5: $(cap | tail -3)"
snapshot "$T/after-esc1"
cmp -s "$T/before" "$T/after-esc1" && ok "Esc on the first page changed nothing" ||
        not_ok "Esc changed files: $(diff "$T/before" "$T/after-esc1" | head -5)"

# 2. Walk the pages.
start
keys C-u m a i l
wait_screen 5 "hostname 'mail' is not a fully qualified domain name" &&
        ok "a bare host name is refused with the answers file's message" || not_ok "no refusal: $(cap | sed -n 5,16p)"
expect_match "$(cap | grep 'Host name')" "^!" "the field is marked"
keys PgDn
wait_screen 5 "fix the problem shown on this page first" && ok "the page cannot be left with the error" ||
        not_ok "left the page with an error: $(cap | head -2)"
expect_match "$(cap | head -1)" "Server identity" "still on the first page"
keys -l '.lab.test'
wait_screen 5 "Host name +mail\.lab\.test" || not_ok "typing did not complete the name"
cap | grep -q "not a fully qualified" && not_ok "the error stays after the fix" || ok "the error goes when the name is fixed"

keys F1
wait_screen 5 "In an answers file: \[server\] hostname" && ok "F1 explains the field" || not_ok "no field help: $(cap | head -6)"
keys Escape
keys PgDn
wait_screen 5 "Users" || fail "no users page: $(cap | head -3)"
keys Right Tab
keys -l alice
keys Tab
keys -l "$pw"
wait_screen 5 "password +[●*]+ +(strong|good|fair)" && ok "the password shows as a mask with a strength hint" ||
        not_ok "no mask/strength: $(cap | grep password)"
keys Tab
keys -l "${pw}x"
wait_screen 5 "the two passwords differ" && ok "a different confirmation is refused" || not_ok "mismatch not refused: $(cap | tail -6)"
keys BSpace
wait_screen 5 "Mode +< virtual" || not_ok "virtual mode not chosen"
# (bounded: the screen may not have caught up with the key yet)
mismatch_gone() { ! cap | grep -q "passwords differ"; }
wait_for 5 mismatch_gone && ok "the same password twice is accepted" || not_ok "the mismatch error stays"
keys Tab
keys -l info
keys PgDn
wait_screen 5 "Certificates" && ok "on to the certificates" || fail "users page refused: $(cap | tail -5)"
expect_match "$(cap)" "Certificate +< self-signed" "self-signed by default (no certificate on this machine)"
keys PgDn
wait_screen 5 "Postfix" || fail "no Postfix page"
keys -l 20M
keys PgDn
wait_screen 5 "Dovecot" || fail "no Dovecot page"
# (imap and lmtp only: the test is not about POP3, and the host may lack dovecot-pop3d)
keys -l 'imap lmtp'
wait_screen 5 "Protocols +imap lmtp" || not_ok "protocols not typed"
keys Tab
keys -l 1G
wait_screen 5 "Quota +1G" || not_ok "quota not typed: $(cap | grep -i quota)"
to_plan && ok "the plan page" || fail "no plan: $(cap | head -5)"
expect_match "$(cap)" "Nothing has been changed yet" "the plan says nothing changed yet"

# Resize during the plan page, then search.
tmux resize-window -t "$S" -x 60 -y 16 2>/dev/null || tmux resize-pane -t "$S" -x 60 -y 16
wait_screen 5 "aApply" && ok "the plan redraws at 60x16" || not_ok "no bar after resize: $(cap)"
width=$(cap | wc -L)
[ "$width" -le 60 ] && ok "nothing drawn past column 60" || not_ok "a line is $width columns wide"
tmux resize-window -t "$S" -x 120 -y 40 2>/dev/null || tmux resize-pane -t "$S" -x 120 -y 40
wait_screen 5 "The plan" || not_ok "no plan after growing"
keys / m e s s a g e _ s i z e Enter
wait_screen 5 "message_size_limit=20971520" && ok "search finds the size limit in the plan (20M)" ||
        not_ok "search: $(cap | head -8)"

# 3. Esc on the plan page: nothing changed.
keys Escape
wait_screen 5 "Leave the setup\?" || not_ok "no quit question on the plan page"
keys n
wait_screen 5 "aApply" && ok "n stays in the wizard" || not_ok "n did not stay"
keys s
wait_screen 5 "Save the answers to: $T/saved.ini" || not_ok "no save prompt: $(cap | tail -1)"
keys Enter
wait_screen 5 "saved to $T/saved.ini" && ok "answers saved" || not_ok "not saved: $(cap | tail -1)"
snapshot "$T/after-plan"
cmp -s "$T/before" "$T/after-plan" && ok "the plan page changed nothing" ||
        not_ok "the plan changed files: $(diff "$T/before" "$T/after-plan" | head -5)"

# 4. Apply.
keys a
wait_screen 5 "Apply these changes now\?" || not_ok "no apply question"
keys y
wait_screen 120 "EnterDashboard|Roll back" || fail "apply did not finish: $(cap | tail -8)"
wait_screen 1 "EnterDashboard" && ok "applied" || fail "apply failed: $(cap | tail -15) $(cat "$T/err")"
keys g
wait_screen 5 "# Verification" || not_ok "no verification section"
expect_match "$(cap)" "checks, 0 critical" "verification: the local checks pass"
expect_match "$(cap)" "round trip: submitted on 587 \(STARTTLS, AUTH as alice@lab.test\), delivered, fetched over IMAPS" \
        "verification: a real round trip as the typed user"
expect_match "$(cap)" "lab\.test\. +MX +10 mail\.lab\.test\." "the DNS records to publish"
# then what DNS serves now: this lab has no resolver that answers, and the page says so
# (with one, the same dns.* checks as setup's DNS plan: setup-dkim.sh asserts them)
keys /
keys -l "What DNS serves now"
keys Enter
wait_screen 5 "# What DNS serves now" && ok "the end page has the DNS checks' state" || not_ok "no DNS state: $(cap | head -12)"
expect_match "$(cap)" "DNS checks left out: the resolver .* does not answer from here" \
        "without a resolver that answers, the page says why the DNS checks are left out"
keys G
wait_screen 5 "incoming \(IMAP\) +mail\.lab\.test +993" && ok "the client settings" || not_ok "no client settings: $(cap | tail -12)"
expect_eq "$(postconf -h message_size_limit)" 20971520 "the typed size limit is applied"
expect_eq "$(doveadm quota get -u alice@lab.test 2>&1 | awk '$3 == "STORAGE" { print $5 }')" 1048576 \
        "the typed quota is in force (1G)"
keys Enter
wait_screen 30 "Health" && ok "Enter opens the dashboard" || not_ok "no dashboard: $(cap | head -3)"
keys F10
wait_screen 10 "EXIT=0" && ok "the dashboard quits, setup exits 0" || not_ok "exit: $(cap | tail -3)"
tmux_kill_server

# 5. The password: never on the terminal, never on disk but as its hash.
[ -s "$T/tty.raw" ] || not_ok "nothing recorded from the terminal"
if grep -aqF "$pw" "$T/tty.raw"; then not_ok "the password reached the terminal"; else ok "the password never reached the terminal ($(wc -c <"$T/tty.raw") bytes recorded)"; fi
# every file written since the test began (the lab's overlays, its journal, this test's
# directory): the lab hides its upper directories, so find them by time
find /etc /var /root /home /srv /run "$T" -xdev -type f -newer "$T/stamp" -print0 2>/dev/null >"$T/written"
n_written=$(tr -cd '\0' <"$T/written" | wc -c)
[ "$n_written" -gt 10 ] || not_ok "too few files found written ($n_written): the search is broken"
xargs -0 -r grep -laF -- "$pw" <"$T/written" >"$T/leaks" 2>/dev/null
if [ -s "$T/leaks" ]; then
        not_ok "the password is on disk: $(head -3 "$T/leaks")"
else
        ok "the password is in none of the $n_written files written (journal included)"
fi
expect_match "$(cat /etc/dovecot/users)" '^alice@lab.test:\{SHA512-CRYPT\}\$6\$' "the hash is in the passwd-file"
expect_eq "$(stat -c %a "$T/saved.ini")" 600 "the saved answers are 0600"
expect_match "$(cat "$T/saved.ini")" 'password_hash = \{SHA512-CRYPT\}\$6\$' "the saved answers hold the hash"

# 6. The saved answers reproduce the same result non-interactively: run on the machine the
# wizard set up, they find nothing to change in any step (users and hashes included).
"$MXDECK" setup --answers "$T/saved.ini" --yes --format json >"$T/again.json" 2>"$T/again.log"
expect_eq "$?" 3 "setup --answers saved --yes: nothing to change, and the daemons answer (exit 3)"
expect_eq "$(python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["status"], len(d["changed_steps"]), len(d["conflicts"]))' <"$T/again.json")" \
        "unchanged 0 0" "no step changes, no conflict"
# ... and on a host in the fresh state again (the wizard's transaction rolled back), they
# make the same configuration without a terminal: the files the wizard wrote, byte for byte
# (the certificate is new: a fresh self-signed key).
conf_files=(/etc/postfix/main.cf /etc/postfix/master.cf /etc/dovecot/conf.d/99-mxdeck.conf /etc/dovecot/users
            /etc/postfix/mxdeck-mailboxes /etc/postfix/mxdeck-aliases)
sha256sum "${conf_files[@]}" >"$T/wizard-conf.sum" 2>&1
"$MXDECK" rollback >"$T/rb.log" 2>&1 || not_ok "rollback of the wizard's transaction: $(tail -3 "$T/rb.log")"
[ -e /etc/postfix/main.cf ] && not_ok "main.cf is still there after the rollback" || ok "rolled back to the fresh state"
"$MXDECK" setup --answers "$T/saved.ini" --yes >"$T/replay.log" 2>&1
expect_eq "$?" 0 "the saved answers on the fresh host: applied and verified (exit 0)"
if sha256sum -c --quiet "$T/wizard-conf.sum" >"$T/replay.diff" 2>&1; then
        ok "the replay wrote the same ${#conf_files[@]} configuration files as the wizard"
else
        not_ok "the replay differs: $(head -3 "$T/replay.diff")"
fi

# 7. On the server now set up, the pages start from what is there and mark what changes.
snapshot "$T/before-rerun"
start
keys PgDn
wait_screen 5 "Users" || fail "no users page on the re-run"
expect_match "$(cap)" "Mode +< virtual" "the re-run starts from virtual mode"
expect_match "$(cap)" "User 1 +alice@lab\.test" "and from the existing mailbox"
expect_match "$(cap | grep -A1 'User 1')" "password +\(unchanged\)" "its password is kept as its hash"
expect_match "$(cap)" "aliases +info@lab\.test" "and its alias"
keys PgDn
wait_screen 5 "Certificates" || fail "users page refused on the re-run: $(cap | tail -5)"
keys PgDn
wait_screen 5 "Message size limit +20971520" && ok "the size limit starts from main.cf" || not_ok "size limit: $(cap | grep -i size)"
keys C-u
keys -l 30M
wait_screen 5 "^\* +Message size limit +30M +\(now: 20971520\)" && ok "a changed value is marked with what is there now" ||
        not_ok "no change mark: $(cap | grep -i 'size limit')"
keys PgDn
wait_screen 5 "Dovecot" || fail "no Dovecot page on the re-run"
expect_match "$(cap | grep Quota)" "^ *Quota +1G *$" "the quota starts from the drop-in"
cap | grep -q "^\* *Quota" && not_ok "the unchanged quota is marked" || ok "the unchanged quota is not marked"
to_plan || fail "no plan on the re-run"
keys / m e s s a g e _ s i z e Enter
wait_screen 5 "message_size_limit=31457280" && ok "the plan changes the size limit" || not_ok "plan: $(cap | head -12)"
keys g
cap >"$T/plan-rerun"
expect_match "$(cat "$T/plan-rerun")" "users: [^(]*\(nothing to change\)" "the users step has nothing to change"
expect_match "$(cat "$T/plan-rerun")" "dovecot: [^(]*\(nothing to change\)" "nor the Dovecot step (protocols start from its drop-in)"
keys Escape
wait_screen 5 "Leave the setup\?" || not_ok "no quit question"
keys y
wait_screen 10 "EXIT=5" && ok "left without applying" || not_ok "no exit 5 on the re-run"
snapshot "$T/after-rerun"
cmp -s "$T/before-rerun" "$T/after-rerun" && ok "Esc on the plan page of a configured server changed nothing" ||
        not_ok "files changed: $(diff "$T/before-rerun" "$T/after-rerun" | head -5)"

# 8. --answers on a terminal: the wizard, pre-filled from the file.
start --answers "$T/saved.ini"
keys PgDn
wait_screen 5 "Users" || fail "no users page with --answers"
expect_match "$(cap | grep 'User 1')" "User 1 +alice$" "--answers pre-fills the wizard's users"
expect_match "$(cap | grep -A1 'User 1')" "password +\(unchanged\)" "with the file's hash"
keys Escape
wait_screen 5 "Leave the setup\?" || not_ok "no quit question"
keys y
wait_screen 10 "EXIT=5" && ok "left the pre-filled wizard" || not_ok "no exit 5 with --answers"
tmux_kill_server

# 9. The reverse lookup of a public address runs beside the keys: an address that looks
# public (on lo: this kernel may lack the dummy link type), a resolver that holds every query until the test lets
# it answer. While the lookup waits the page says so and keys are answered; the answer,
# when it comes, is shown without a key press.
if ip addr add 198.51.100.7/32 dev lo; then
        cp /etc/resolv.conf "$T/resolv.conf.saved" 2>/dev/null
        rm -f /etc/resolv.conf
        printf 'nameserver 127.0.0.9\noptions timeout:30 attempts:1\n' >/etc/resolv.conf
        python3 "$here/held-dns.py" 127.0.0.9 53 "$T/dns-release" mx-ptr.lab.test "$T/dns-ready" &
        dns_pid=$!
        for _ in $(seq 100); do [ -e "$T/dns-ready" ] && break; sleep 0.1; done
        [ -e "$T/dns-ready" ] || not_ok "the held resolver did not start"
        start
        wait_screen 10 "Detected IPv4 198\.51\.100\.7, its PTR: \(looking it up\)" &&
                ok "the page shows the pending reverse lookup" || not_ok "no pending lookup: $(cap | grep -i detected)"
        # (End arrives as tmux's ESC [ 4 ~, which xterm-256color's database does not list:
        # the key reader must take it whole, not as Esc and "[4~" typed into the field)
        keys End
        keys -l x
        wait_screen 5 "Host name +mail\.lab\.testx" && ok "keys are answered while the lookup waits" ||
                not_ok "typing waited for the lookup: $(cap | grep 'Host name')"
        cap | grep -q "(looking it up)" && ok "(the lookup was still waiting when the key was answered)" ||
                not_ok "the lookup ended before the key was answered: the test proves nothing"
        keys BSpace
        touch "$T/dns-release"
        wait_screen 20 "Detected IPv4 198\.51\.100\.7, its PTR: mx-ptr\.lab\.test" &&
                ok "the PTR name appears when the answer comes" || not_ok "no PTR name: $(cap | grep -i detected)"
        keys Escape
        wait_screen 5 "Leave the setup\?" || not_ok "no quit question"
        keys y
        wait_screen 10 "EXIT=5" || not_ok "no exit 5 after the lookup"
        tmux_kill_server
        kill "$dns_pid" 2>/dev/null
        wait "$dns_pid" 2>/dev/null
        ip addr del 198.51.100.7/32 dev lo
        [ -e "$T/resolv.conf.saved" ] && cp "$T/resolv.conf.saved" /etc/resolv.conf
else
        not_ok "could not add an address in the lab's network namespace"
fi

postfix stop >/dev/null 2>&1
doveadm stop >/dev/null 2>&1
finish
