#!/usr/bin/env bash
# The dashboard's queue panel in a real terminal (tmux, 80x24), against real Postfix in a
# lab host with deferred mail: the counts are postqueue -j's, the shape and the reasons
# show, Enter shows a message (postcat), a tagged message is held only after a
# confirmation naming the count (Esc on it changes nothing), and read-only refuses.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
command -v tmux >/dev/null || skip "tmux is not installed"
in_lab_or_reexec --hostname mail.lab.test -- "$0" "$@"

T=$(mktemp -d)
export TMUX_TMPDIR=$T
S=mxdeck-queue
qq() { python3 "$here/queueq.py" "$@"; }
cap() { tmux capture-pane -p -t "$S" 2>/dev/null; }
wait_screen() { # wait_screen SECONDS ERE: until the screen shows ERE (bounded)
        local tries=$(($1 * 10))
        while [ "$tries" -gt 0 ]; do
                cap | grep -Eq -- "$2" && return 0
                tries=$((tries - 1))
                sleep 0.1
        done
        return 1
}
keys() { tmux send-keys -t "$S" "$@"; }

cat >/etc/postfix/main.cf <<'CF'
compatibility_level = 3.6
myhostname = mail.lab.test
mydomain = lab.test
mydestination = $myhostname, localhost
inet_interfaces = loopback-only
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
alias_maps = hash:/etc/aliases
# nothing listens there: every message is deferred with "Connection refused"
relayhost = [127.0.0.1]:2525
minimal_backoff_time = 3600s
maximal_backoff_time = 4000s
queue_run_delay = 3600s
CF
newaliases
trap 'tmux kill-server 2>/dev/null; postfix stop >/dev/null 2>&1' EXIT
postfix start >/dev/null 2>&1 || fail "postfix start failed"
wait_for_file /var/spool/postfix/pid/master.pid 10 || fail "no postfix pid file"
send() { # send FROM RCPT...
        local from=$1
        shift
        printf 'From: %s\nSubject: panel test\n\nhello\n' "$from" | sendmail -f "$from" -- "$@" ||
                fail "sendmail -f $from $*"
}
send alice@lab.test one@a.example
send alice@lab.test two@a.example three@b.example
send bob@lab.test four@c.example
settled() { postqueue -j 2>/dev/null | qq settled 3; }
wait_for 60 settled || fail "the queue did not settle: $(postqueue -j | head -c 2000)"
postqueue -j >"$T/before.json"
ndef=$(qq count deferred <"$T/before.json")
expect_eq "$ndef" 3 "three deferred messages to show"

start() { # start ARGS...: the dashboard at 80x24 on the queue panel
        tmux_kill_server
        tmux -f /dev/null new-session -d -s "$S" -x 80 -y 24 \
                "TERM=xterm-256color $MXDECK monitor --refresh 2 --only queue $* queue 2>$T/err; echo \"EXIT=\$?\"; sleep 600"
}
start
wait_screen 20 "Queue" || fail "no dashboard: $(cap | head -5) $(cat "$T/err")"
wait_screen 20 "3 messages, .*: deferred $ndef active 0 hold 0" && ok "the panel shows postqueue -j's counts" ||
        not_ok "counts: $(cap | sed -n 2p)"
expect_match "$(cap)" "SENDER -> RECIPIENT" "monitor queue opens on the queue panel"
# qshape counts recipients: four, all in the first bucket; a.example has two
expect_match "$(cap)" "TOTAL +4 +4 +0 " "the shape's TOTAL row"
expect_match "$(cap)" "a\.example +2 +2 +0 " "the shape's busiest domain"
expect_match "$(cap)" "
 +[1-4] +(delivery temporarily suspended: )?connect to N\.N\.N\.N\[N\.N\.N\.N\]:N: Connection refused" "the top reason, masked"
expect_eq "$(cap | grep -cE '^[ >][ *][0-9A-F]{6,} +deferred ')" 3 "three message rows"
width=$(cap | wc -L)
[ "$width" -le 80 ] && ok "nothing drawn past column 80 (widest line $width)" || not_ok "a line is $width columns wide"

# Tab and number keys reach the panel; help lists its keys.
gone_screen() { ! cap | grep -Eq -- "$1"; }
keys 1
wait_for 5 gone_screen "SENDER -> RECIPIENT" && ok "1: another panel" || not_ok "1 did not switch"
keys 3
wait_screen 5 "SENDER -> RECIPIENT" && ok "3: back on the queue panel" || not_ok "3 did not switch back"
# once round: as many Tabs as there are panels on the tab line
for _ in $(cap | head -1 | grep -Eo ' [0-9] [A-Z][a-z]+'); do keys Tab; done
wait_screen 5 "SENDER -> RECIPIENT" && ok "Tab goes round the panels" || not_ok "Tab: $(cap | head -2)"
keys F1
wait_screen 5 "In the Queue panel" && ok "help lists the queue panel's keys" || not_ok "help: $(cap | tail -8)"
expect_match "$(cap)" "Space +Tag" "help: Space tags"
expect_match "$(cap)" "h u d R +Hold Release Delete Requeue" "help: the actions"
expect_match "$(cap)" "t U +Tag all shown, untag all" "help: the last of its keys fits at 80x24"
keys Escape

# Enter shows the message (postcat -q), q closes it.
keys g Enter
wait_screen 10 "ENVELOPE RECORDS|MESSAGE CONTENTS" && ok "Enter shows the message (postcat)" ||
        not_ok "no message: $(cap | head -5)"
expect_match "$(cap)" "Subject: panel test" "the message's headers"
keys q
wait_screen 5 "SENDER -> RECIPIENT" && ok "q closes the message" || not_ok "message did not close"

# Filter by sender: bob's message only.
keys '\' s e n d e r : b o b @ l a b . t e s t Enter
wait_screen 5 "1 shown .*filter: sender:bob@lab.test" && ok "the sender filter shows one message" ||
        not_ok "filter: $(cap | tail -2)"
expect_eq "$(cap | grep -cE '^[ >][ *][0-9A-F]{6,} ')" 1 "one row"
keys Escape
wait_screen 5 "3 shown" && ok "Esc clears the filter" || not_ok "filter not cleared: $(cap | tail -1)"

# Tag the first message, ask to hold it, Esc: nothing changes.
keys g Space
wait_screen 5 "tagged: 1" && ok "Space tags a message" || not_ok "no tag: $(cap | tail -1)"
id=$(cap | sed -n 's/^[ >]\*\([0-9A-F]\{6,\}\) .*/\1/p' | head -1)
[ -n "$id" ] && ok "the tagged row is marked ($id)" || not_ok "no tagged row: $(cap)"
keys h
wait_screen 5 "hold 1 message \(tagged\)\? \[y/N\]" && ok "hold asks, naming the count" ||
        not_ok "no confirmation: $(cap | sed -n 8,16p)"
keys Escape
wait_screen 5 "Nothing changed" && ok "Esc cancels" || not_ok "Esc: $(cap | tail -1)"
postqueue -j | qq queue-of "$id" >"$T/q"
expect_eq "$(cat "$T/q")" deferred "after Esc the message is still deferred"

# Again, and confirm: held in the real queue, and the panel shows it.
keys h
wait_screen 5 "hold 1 message \(tagged\)\? \[y/N\]" || not_ok "no second confirmation"
keys y
wait_screen 15 "hold: 1 of 1 messages" && ok "the hold ran: postsuper's count" || not_ok "no result: $(cap | tail -1)"
held() { [ "$(postqueue -j | qq queue-of "$id")" = hold ]; }
wait_for 10 held && ok "postqueue -j shows $id held" || not_ok "$id is $(postqueue -j | qq queue-of "$id")"
expect_eq "$(postqueue -j | qq count deferred)" 2 "the other two stay deferred"
wait_screen 10 "deferred 2 active 0 hold 1" && ok "the panel reads the queue again after the action" ||
        not_ok "panel after hold: $(cap | sed -n 2p)"
keys q
wait_screen 10 "EXIT=0" && ok "q quits" || not_ok "no clean exit: $(cap | tail -3)"

# Read-only settings: the action is refused, the queue unchanged.
printf '[queue]\nread_only = yes\n' >"$T/ro.conf"
postqueue -j | qq ids >"$T/ids-before"
start --config "$T/ro.conf"
wait_screen 20 "3 messages, .*: deferred 2 active 0 hold 1" || not_ok "read-only panel: $(cap | sed -n 2p)"
expect_match "$(cap | tail -2 | head -1)" "\[read-only\]" "read-only is shown"
keys g Space d
wait_screen 5 "Actions are disabled" && ok "read-only refuses the action, saying why" || not_ok "no refusal: $(cap | tail -1)"
cap | grep -q '\[y/N\]' && not_ok "read-only still asked" || ok "no confirmation in read-only mode"
postqueue -j | qq ids >"$T/ids-after"
cmp -s "$T/ids-before" "$T/ids-after" && ok "read-only: the queue is unchanged" || not_ok "read-only changed the queue"
keys q
wait_screen 10 "EXIT=0" && ok "q quits (read-only)" || not_ok "no clean exit: $(cap | tail -3)"
finish
