#!/usr/bin/env bash
# The dashboard in a real terminal (tmux), against real Postfix and Dovecot in a lab host:
# the health panel fills from the engine while keys work, details and remedy show, help
# lists the keys, search and filter work, a hostile banner stays inert (the window title
# does not change), resizing from 200x60 to 80x24 keeps it usable, q and SIGTERM restore
# the terminal. The log panel's tail and the trace side view (across a bounce's new queue
# id), the traffic panel's counts after real deliveries, clicks and the wheel, a stale mark
# after a refresh that fails for real (the queue cannot be read), and the view of a user
# who is not root (in group systemd-journal, and in no group). Esc at the top level does
# not quit. Golden captures (tests/data/tui/) of the help and the traffic panel at 80x24.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
command -v tmux >/dev/null || skip "tmux is not installed"
in_lab_or_reexec --hostname mail.lab.test -- "$0" "$@"

. "$here/tls-setup.sh"
T=$(mktemp -d)
export TMUX_TMPDIR=$T
S=mxdeck-tui

cap() { tmux capture-pane -p -t "$S" 2>/dev/null; }
keys() { tmux send-keys -t "$S" "$@"; }
# golden NAME [SED]: the screen against tests/data/tui/NAME, trailing spaces dropped and
# what changes from run to run masked by the sed script SED; MXDECK_UPDATE_GOLDEN=1 writes
# the file instead.
golden() {
        local want="$here/../data/tui/$1" got
        got=$(cap | sed -E "${2:-}; s/ +\$//")
        [ -n "${MXDECK_UPDATE_GOLDEN:-}" ] && printf '%s\n' "$got" >"$want"
        if [ "$got" = "$(cat "$want" 2>/dev/null)" ]; then
                ok "the screen matches tests/data/tui/$1"
        else
                not_ok "the screen differs from tests/data/tui/$1 (MXDECK_UPDATE_GOLDEN=1 rewrites it)"
                diff <(cat "$want" 2>/dev/null) <(printf '%s\n' "$got") | head -20 | sed 's/^/# /'
        fi
}

# A banner with an escape sequence that would set the window title, and a reset (RIS).
postconf -e "smtpd_banner = \$myhostname ESMTP $(printf '\033]2;PWNED\007\033c')hello"
reload

tmux -f /dev/null new-session -d -s "$S" -x 200 -y 60 \
        "TERM=xterm-256color $MXDECK monitor --refresh 2 --ca-file $P/ca.pem --only port,tls,smtp,service,config 2>$T/err; echo \"EXIT=\$?\"; sleep 600" 2>/dev/null ||
        tmux -f /dev/null new-session -d -s "$S" -x 200 -y 60 \
                "TERM=xterm-256color $MXDECK monitor --refresh 2 2>$T/err; echo \"EXIT=\$?\"; sleep 600"
tmux set-option -t "$S" -g set-titles off >/dev/null 2>&1
title0=$(tmux display-message -p -t "$S" '#{pane_title}')

wait_screen 20 "Health" || fail "no dashboard: $(cap | head -5) $(cat "$T/err")"
ok "the dashboard opens with the health panel"
wait_screen 30 "updated [0-9]+s ago" || fail "the first refresh never finished: $(cap | head -3)"
ok "the first refresh finished"
expect_match "$(cap)" "port\.smtp" "port.smtp is listed"
expect_match "$(cap)" "OK +service\.postfix" "service.postfix is ok with Postfix running"
expect_match "$(cap)" "F1Help" "the function-key bar is there"

# Details of the selected line, then back.
keys g Enter
wait_screen 5 "^ id +[a-z]" && ok "Enter shows the details" || not_ok "no details: $(cap | head -8)"
expect_eq "$(cap | sed -n 3p | awk '{ print $1 }')" id "the details fill the panel"
keys q
wait_screen 5 "F5Refresh" && ok "q closes the details" || not_ok "details did not close"

# Help lists the keys.
keys F1
wait_screen 5 "Keys \(q or Esc closes this help\)" && ok "F1 opens the help" || not_ok "no help: $(cap | head -5)"
expect_match "$(cap)" "F10 +quit" "help lists F10"
keys Escape
wait_screen 5 "F1Help" && ok "Esc closes the help" || not_ok "help did not close"

# Search moves the selection to a match.
keys / s m t p s Enter
wait_screen 5 "^>.*smtps" && ok "search selects a matching line" || not_ok "search: $(cap | grep '^>')"
keys / z z z n o p e Enter
wait_screen 5 "no match for 'zzznope'" && ok "a failed search says so" || not_ok "no 'no match' notice"

# Filter to one group, then clear it.
keys '\' t l s . Enter
wait_screen 5 "filter: tls\." && ok "the filter is shown" || not_ok "filter not shown"
if cap | sed -n '3,50p' | grep -E '^[ >](OK|WARN|CRIT|UNKN) ' | grep -vq ' tls\.'; then
        not_ok "the filter let other lines through: $(cap | grep -E '^[ >](OK|WARN|CRIT|UNKN) ' | grep -v ' tls\.' | head -2)"
else
        ok "the filter shows only tls.* lines"
fi
keys '\' Enter
wait_screen 5 "port\.smtp" && ok "an empty filter clears it" || not_ok "filter not cleared"

# The hostile banner: the window title is unchanged and no raw ESC reached the screen.
expect_eq "$(tmux display-message -p -t "$S" '#{pane_title}')" "$title0" "the banner's escape sequence did not set the title"
tmux capture-pane -p -e -t "$S" | grep -c $'\e\]' >"$T/osc" || true
expect_eq "$(cat "$T/osc")" 0 "no OSC sequence on the screen"

# Resize: 80x24 stays usable.
tmux resize-window -t "$S" -x 80 -y 24 2>/dev/null || tmux resize-pane -t "$S" -x 80 -y 24
wait_screen 5 "F10Quit|F1Help" || not_ok "no function bar after resize"
lines=$(cap | wc -l)
width=$(cap | wc -L) # display columns, not bytes
[ "$width" -le 80 ] && ok "nothing drawn past column 80 (widest line $width)" || not_ok "a line is $width columns wide"
expect_match "$(cap | head -1)" "mxdeck" "title line after resize"
expect_match "$(cap | sed -n 2p)" "critical|ok" "summary line after resize"
keys j j k
cap | grep -q '^>' && ok "selection still works at 80x24 ($lines lines)" || not_ok "no selection at 80x24"
cap | grep -q 'qqqqqqqq' && not_ok "line drawing came out as letters" || ok "the separator is drawn, not spelled"
keys F1
wait_screen 5 "Keys \(q or Esc closes this help\)" && golden help-80x24.txt || not_ok "no help at 80x24"
keys q

# Esc at the top level does not quit (an escape sequence split on a slow link would):
# it says how to, and the dashboard stays.
keys Escape
wait_screen 5 "q or F10 quits" && ok "Esc at the top level says how to quit" || not_ok "Esc: $(cap | tail -1)"
expect_match "$(cap | head -1)" "mxdeck" "the dashboard is still there after Esc"

# A refresh runs while keys are pressed: the keys are handled meanwhile.
keys F5
wait_screen 10 "checking\.\.\." || note "the refresh was over before the capture"
keys F1
wait_screen 5 "Keys \(q" && ok "help opens while a refresh runs" || not_ok "keys blocked during refresh"
keys q

# The log panel: a reject logged now shows in the live tail, coloured apart, and Enter on
# a delivered message's line shows that message's lines only.
keys 2
wait_screen 10 "following" && ok "the log panel follows the mail log" || not_ok "log panel: $(cap | head -3)"
swaks --server 127.0.0.1 --quit-after RCPT --from a@example.org --to someone@elsewhere.example \
        --local-interface 127.0.0.2 >"$T/swaks1" 2>&1
# (the health refreshes log a screenful every few seconds: find it with the filter)
keys '\' R e l a y Space a c c e s s Space d e n i e d Enter
wait_screen 20 "NOQUEUE: reject: RCPT from" && ok "a relay refusal appears in the tail" ||
        not_ok "no reject in the tail: $(cap | tail -4) swaks: $(tail -5 "$T/swaks1")"
keys '\' Enter
swaks --server 127.0.0.1 --from a@example.org --to postmaster@mail.lab.test >"$T/swaks2" 2>&1
keys '\' s t a t u s = Enter
wait_screen 20 "to=<" && ok "the delivery appears in the tail" ||
        not_ok "no delivery line: $(cap | tail -4) swaks: $(tail -5 "$T/swaks2")"
keys '\' k i n d : d e l i v e r y Enter
wait_screen 5 "filter: kind:delivery" && ok "kind filter shown" || not_ok "kind filter not shown"
if cap | sed -n '3,22p' | grep -E '^[0-9-]{2}:' | grep -vq 'to=<'; then
        not_ok "kind:delivery let other lines through"
else
        ok "kind:delivery shows delivery lines only"
fi
keys k Enter
wait_screen 5 "trace of [0-9A-Za-z]+: [0-9]+ lines" && ok "Enter opens the message's trace in a side view" ||
        not_ok "no trace: $(cap | tail -12)"
qid=$(cap | sed -n 's/.*trace of \([0-9A-Za-z]*\):.*/\1/p' | head -1)
expect_match "$(cap | sed -n 2p)" "filter: kind:delivery" "the tail stays above the trace, with its filter"
trace_lines=$(cap | sed -n '/trace of /,$p' | sed 1d | grep -E '^[0-9-]{2}:')
if [ -z "$qid" ] || [ -z "$trace_lines" ] || grep -vq "$qid" <<<"$trace_lines"; then
        not_ok "the trace shows lines of other messages: $trace_lines"
else
        ok "the trace shows only $qid's lines ($(wc -l <<<"$trace_lines") of them)"
fi
# qmgr's "removed" comes a moment after the delivery line the trace was opened from: the
# side view follows the log, so it shows up there by itself
wait_screen 10 "$qid: removed" >/dev/null
trace_lines=$(cap | sed -n '/trace of /,$p' | sed 1d | grep -E '^[0-9-]{2}:')
grep -q "client=" <<<"$trace_lines" && grep -q "removed" <<<"$trace_lines" &&
        ok "the trace runs from smtpd's client= to qmgr's removed" || not_ok "trace incomplete: $trace_lines"
keys q
wait_screen 5 "following|paused" && ! cap | grep -q "trace of " && ok "q closes the trace, the tail stays" ||
        not_ok "q did not close the trace: $(cap | tail -5)"

# A bounce: the trace follows the sender notification's new queue id too.
printf 'Subject: bounce me\n\nx\n' | sendmail -f a@example.org nosuchuser@mail.lab.test
keys '\' s t a t u s = b o u n c e d Enter
# The filter bar shows "status=bounced" at once: wait for a matching log line below it.
bounce_line() { cap | sed '1,2d' | grep -q 'postfix/'; }
wait_for 20 bounce_line && ok "the bounce appears in the tail" || not_ok "no bounce: $(cap | tail -4)"
keys Enter
wait_screen 20 "trace of [0-9A-Za-z]+: [0-9]+ lines, [2-9] queue ids" &&
        ok "the trace follows the bounce to its notification's queue id" ||
        not_ok "trace across the bounce: $(cap | grep 'trace of')"
expect_match "$(cap | sed -n '/trace of /,$p')" "sender non-delivery notification" "the trace shows the bounce line"
keys Escape '\' Enter

# The traffic panel: the deliveries, the relay refusal and the bounce above are counted.
tn=$(cap | head -1 | grep -o '[0-9] Traffic' | cut -c1)
keys "${tn:-3}"
wait_screen 10 "sent +total [1-9]" && ok "traffic: sent counts the deliveries" || not_ok "traffic: $(cap | head -6)"
expect_match "$(cap)" "received +total [1-9]" "traffic: received counted"
expect_match "$(cap)" "rejected +total [1-9]" "traffic: the relay refusal counted"
expect_match "$(cap)" "bounced +total [1-9]" "traffic: the bounce counted"
expect_match "$(cap)" "auth failures +total 0 " "traffic: no authentication failures"
cap | grep -q '[▁▂▃▄▅▆▇█]' && ok "traffic: sparklines in block characters" || not_ok "no sparkline: $(cap | head -8)"
expect_match "$(cap)" "-60m +-30m +now" "traffic: the time axis"
[ "$(cap | wc -L)" -le 80 ] && ok "traffic fits 80 columns" || not_ok "traffic is $(cap | wc -L) columns wide"
# (in the panel, between the tab line and the bar, counts become 9 and the bars spaces)
golden traffic-80x24.txt '2,23s/[0-9]+/9/g; s/[▁▂▃▄▅▆▇█]/ /g'

# The mouse: a click on a tab switches panels; on a row selects it; the wheel scrolls.
click() { keys -l $'\e[<0;'"$1;$2"'M'; keys -l $'\e[<0;'"$1;$2"'m'; }
hx=$(cap | head -1 | grep -bo '1 Health' | cut -d: -f1)
click $((hx + 2)) 1
wait_screen 5 "critical.*ok" && ok "a click on the Health tab switches to it" || not_ok "tab click: $(cap | sed -n 2p)"
keys g
click 5 5
wait_screen 5 "^>" && [ "$(cap | grep -n '^>' | cut -d: -f1)" = 5 ] && ok "a click selects the row under it" ||
        not_ok "row click: selection on line $(cap | grep -n '^>' | cut -d: -f1)"
keys -l $'\e[<65;5;5M'
wait_screen 5 "^>" && [ "$(cap | grep -n '^>' | cut -d: -f1)" = 8 ] && ok "the wheel scrolls three rows" ||
        not_ok "wheel: selection on line $(cap | grep -n '^>' | cut -d: -f1)"

# q quits and the terminal is restored (the shell's next output is on a normal screen).
keys q
wait_screen 10 "EXIT=0" && ok "q quits with status 0" || not_ok "no clean exit: $(cap | tail -3)"
expect_eq "$(tmux display-message -p -t "$S" '#{alternate_on}')" 0 "the alternate screen is left"

# SIGTERM ends it cleanly too; 'monitor traffic' opens on the traffic panel. (The whole
# server goes: a session started while the last one's server exits can vanish with it.)
tmux_kill_server
tmux -f /dev/null new-session -d -s "$S" -x 100 -y 30 \
        "$MXDECK monitor traffic --refresh 60 --only service 2>$T/err2; echo \"EXIT=\$?\"; sleep 600"
wait_screen 20 "Health" || fail "second dashboard did not open"
wait_screen 5 "last 60 minutes" && ok "monitor traffic opens on the traffic panel" || not_ok "not on traffic: $(cap | head -3)"
# (anchored on the binary's path: the lab's own init is an mxdeck process too)
pid=$(pgrep -f '^[^ ]*/mxdeck monitor traffic --refresh 60' | head -1)
[ -n "$pid" ] && kill -TERM "$pid"
wait_screen 10 "EXIT=0" && ok "SIGTERM ends it with status 0" || not_ok "SIGTERM: $(cap | tail -3)"
expect_eq "$(tmux display-message -p -t "$S" '#{alternate_on}')" 0 "the terminal is restored after SIGTERM"
tmux_kill_server

# Simplified Chinese at 80x24 (issue 15): the dashboard and the wizard's first page under
# LANG=zh_CN.UTF-8 show the catalogue's words whole, no line is wider than the terminal
# (a CJK character takes two columns) and the key bar keeps F10 at its end. The expected
# words come from the built catalogue through gettext(1), so any wording passes.
export MXDECK_LOCALEDIR=${MXDECK_LOCALEDIR:-$(dirname "$(dirname "$MXDECK")")/po}
zh_word() { LC_ALL=C.UTF-8 LANGUAGE=zh_CN TEXTDOMAINDIR=$MXDECK_LOCALEDIR gettext mxdeck "$1"; }
# widest line of the screen in display columns, and whether a CJK character is on it
screen_width() { cap | python3 -c '
import sys, unicodedata
print(max((sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in l)
           for l in sys.stdin.read().split("\n")), default=0))'; }
screen_cjk() { cap | python3 -c '
import sys
sys.exit(0 if any(0x4e00 <= ord(c) <= 0x9fff for c in sys.stdin.read()) else 1)'; }
zh_env="env -u LC_ALL -u LC_MESSAGES -u LANGUAGE LANG=zh_CN.UTF-8 MXDECK_LOCALEDIR=$MXDECK_LOCALEDIR TERM=xterm-256color"
tmux -f /dev/null new-session -d -s "$S" -x 80 -y 24 \
        "$zh_env $MXDECK monitor --refresh 60 --only service,config 2>$T/errzh; echo \"EXIT=\$?\"; sleep 600"
health=$(zh_word Health)
wait_screen 20 "1 $health" || fail "no dashboard in zh_CN: $(cap | head -3) $(cat "$T/errzh")"
wait_screen 20 "service\.postfix" || not_ok "zh_CN: no findings: $(cap | head -5)"
screen_cjk && ok "zh_CN: the dashboard shows Chinese" || not_ok "zh_CN: no Chinese on the dashboard: $(cap | head -2)"
tabs_ok=1
for title in Health Log Queue Traffic; do
        t=$(zh_word "$title") # (the capture drops the last tab's trailing space)
        cap | head -1 | grep -Eq "[0-9] $t( |\$)" || { tabs_ok=0; not_ok "zh_CN: tab '$t' ($title) not whole: $(cap | head -1)"; }
done
[ "$tabs_ok" = 1 ] && ok "zh_CN: the tabs are whole on the title line"
w=$(screen_width)
[ "$w" -le 80 ] && ok "zh_CN: no line wider than 80 columns (widest $w)" || not_ok "zh_CN: a line is $w columns wide"
bar=$(cap | tail -1 | sed 's/ *$//')
quit=$(zh_word Quit)
[[ $bar == *"F10$quit" ]] && ok "zh_CN: the key bar ends with F10 $quit" || not_ok "zh_CN: key bar: '$bar'"
for item in "F1 Help" "F3 Search" "F4 Filter" "F5 Refresh" "Enter Details"; do
        k=${item%% *} t=$(zh_word "${item#* }")
        # each key is shown with its whole label, or left out whole when it does not fit
        if [[ $bar == *"$k"* && $bar != *"$k$t"* ]]; then
                not_ok "zh_CN: key bar item $k is cut: '$bar'"
        fi
done
[[ $bar == *"F1$(zh_word Help)"* ]] && ok "zh_CN: the key bar items are whole (F1 $(zh_word Help) first)" ||
        not_ok "zh_CN: F1 missing from the bar: '$bar'"
cap | grep -q $'\xef\xbf\xbd' && not_ok "zh_CN: a replacement character on screen" || ok "zh_CN: no character replaced or cut"
keys F1
wait_screen 5 "$(zh_word 'Keys (q or Esc closes this help)' | sed 's/[][()*.?+]/\\&/g')" && ok "zh_CN: the help screen in Chinese" ||
        not_ok "zh_CN: help: $(cap | sed -n 2p)"
w=$(screen_width)
[ "$w" -le 80 ] && ok "zh_CN: help fits 80 columns (widest $w)" || not_ok "zh_CN: help is $w columns wide"
keys q F10
wait_screen 10 "EXIT=0" && ok "zh_CN: F10 quits with status 0" || not_ok "zh_CN: no clean exit: $(cap | tail -2)"
tmux_kill_server # (a session started while the last one's server exits can vanish with it)
# the wizard's first page (nothing is changed: it is left at once)
tmux -f /dev/null new-session -d -s "$S" -x 80 -y 24 \
        "cd $T && $zh_env $MXDECK setup 2>$T/errwz; echo \"EXIT=\$?\"; sleep 600"
wait_screen 20 "$(zh_word 'Server identity')" && ok "zh_CN: the wizard's first page in Chinese" ||
        not_ok "zh_CN: wizard: $(cap | head -3) $(cat "$T/errwz")"
w=$(screen_width)
[ "$w" -le 80 ] && ok "zh_CN: the wizard fits 80 columns (widest $w)" || not_ok "zh_CN: the wizard is $w columns wide"
wbar=$(cap | tail -1)
[[ $wbar == *"F1$(zh_word Help)"* && $wbar == *"Tab$(zh_word 'Next field')"* ]] &&
        ok "zh_CN: the wizard's key bar is whole: $(sed 's/  */ /g' <<<"$wbar")" || not_ok "zh_CN: wizard bar: '$wbar'"
keys Escape
# the quit question, in Chinese, before its answer (not a fixed pause)
quitq=$(zh_word "Leave the setup? Nothing has been changed on this machine. (y/n) ")
[ -n "${quitq%%？*}" ] || not_ok "zh_CN: no translation of the quit question to wait for"
wait_screen 10 "${quitq%%？*}" || not_ok "zh_CN: no quit question: $(cap | tail -2)"
keys y
wait_screen 10 "EXIT=" || not_ok "zh_CN: the wizard did not quit: $(cap | tail -2)"
tmux_kill_server

# Stale marks: the queue check's source fails for real (the queue directory is gone from
# the configuration); its last good value stays, marked stale with its time.
qdir=$(postconf -h queue_directory)
tmux -f /dev/null new-session -d -s "$S" -x 120 -y 30 \
        "$MXDECK monitor --refresh 1 --timeout 5 --only queue 2>$T/err3; echo \"EXIT=\$?\"; sleep 600"
wait_screen 20 "(OK|WARN|CRIT) +queue\.size" || fail "no queue.size: $(cap | head -5) $(cat "$T/err3")"
cap | grep -q "stale" && not_ok "stale before any failure: $(cap | grep stale)" || ok "fresh values are not marked stale"
postconf -e queue_directory=/nonexistent-mxdeck-test
wait_screen 20 "(OK|WARN|CRIT) +queue\.size .*\(stale: [0-9]+s ago, at [0-9]{2}:[0-9]{2}:[0-9]{2}\)" &&
        ok "a failed refresh keeps the last good value, marked stale with its time" ||
        not_ok "no stale mark: $(cap | sed -n 2,6p)"
cap | grep -q "UNKN +queue\.size" && not_ok "the unknown finding replaced the good one" || ok "no unknown queue.size shown"
keys / q u e u e . s i z e Enter Enter
wait_screen 5 "^ stale +this value is from [0-9:]+ .*the last refresh failed: cannot read the mail queue" &&
        ok "the details say why it is stale" || not_ok "stale details: $(cap | grep -A1 '^ stale')"
keys q
postconf -e "queue_directory=$qdir"
fresh_again() { cap | grep -E "(OK|WARN|CRIT) +queue\.size" | grep -vq "stale"; }
wait_for 20 fresh_again && ok "the next good refresh clears the mark" || not_ok "still stale: $(cap | grep queue.size)"
tmux_kill_server

# Not root: a user in group systemd-journal. Boot's tmpfiles give the journal to that group
# (as on a real system: the lab's journald starts without them).
systemd-tmpfiles --create --prefix=/run/log/journal >/dev/null 2>&1 || note "systemd-tmpfiles: $?"
useradd -m -G systemd-journal mxjournal && useradd -m mxnobody || fail "cannot add the users"
tmux -f /dev/null new-session -d -s "$S" -x 120 -y 30 \
        "runuser -u mxjournal -- env TERM=xterm-256color $MXDECK monitor --refresh 60 --ca-file $P/ca.pem --only config,cert 2>$T/err4; echo \"EXIT=\$?\"; sleep 600"
wait_screen 30 "updated [0-9]+s ago" || fail "non-root dashboard: $(cap | head -5) $(cat "$T/err4")"
expect_match "$(cap | head -1)" "\(not root\)" "the title says it runs without root"
expect_match "$(cap)" "UNKN +config\.postfix +not tested: 'postfix check' is reserved for the superuser \(needs root\)" \
        "config.postfix says it needs root instead of failing"
expect_match "$(cap)" "UNKN +config\.sasl +not tested: .*\(needs root\)" "config.sasl says it needs root"
expect_match "$(cap)" "UNKN +cert\.files +Postfix's TLS files not tested: .*" "cert.files says it needs root"
cap | grep -Eq "CRIT +(config\.postfix|config\.sasl|cert\.files)" && not_ok "a root-only check failed as critical" ||
        ok "no root-only check reported critical"
keys 2
wait_screen 10 "journal .*[1-9][0-9]* lines" && ok "the log panel reads the journal through the group" ||
        not_ok "non-root log: $(cap | sed -n 2,3p)"
tmux_kill_server
tmux -f /dev/null new-session -d -s "$S" -x 120 -y 30 \
        "runuser -u mxnobody -- env TERM=xterm-256color $MXDECK monitor log --refresh 60 --only service 2>$T/err5; echo \"EXIT=\$?\"; sleep 600"
wait_screen 20 "no mail log this user can read \(root, or the groups adm or systemd-journal, can read the journal\)" &&
        ok "without the group the log panel says which groups can read it" || not_ok "no-group log: $(cap | head -6)"
tmux_kill_server

# Not on a terminal: a clear refusal, not a garbled screen.
out=$("$MXDECK" monitor </dev/null 2>&1)
expect_eq "$?" 2 "monitor without a terminal: exit 2"
expect_match "$out" "needs a terminal" "monitor without a terminal says why"
finish
