#!/usr/bin/env bash
# The dashboard in a real terminal (tmux), against real Postfix and Dovecot in a lab host:
# the health panel fills from the engine while keys work, details and remedy show, help
# lists the keys, search and filter work, a hostile banner stays inert (the window title
# does not change), resizing from 200x60 to 80x24 keeps it usable, q and SIGTERM restore
# the terminal.
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
# wait_screen SECONDS ERE: until the screen shows ERE (bounded).
wait_screen() {
        local tries=$(($1 * 10))
        while [ "$tries" -gt 0 ]; do
                cap | grep -Eq -- "$2" && return 0
                tries=$((tries - 1))
                sleep 0.1
        done
        return 1
}
keys() { tmux send-keys -t "$S" "$@"; }

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

# A refresh runs while keys are pressed: the keys are handled meanwhile.
keys F5
wait_screen 10 "checking\.\.\." || note "the refresh was over before the capture"
keys F1
wait_screen 5 "Keys \(q" && ok "help opens while a refresh runs" || not_ok "keys blocked during refresh"
keys q

# q quits and the terminal is restored (the shell's next output is on a normal screen).
keys q
wait_screen 10 "EXIT=0" && ok "q quits with status 0" || not_ok "no clean exit: $(cap | tail -3)"
expect_eq "$(tmux display-message -p -t "$S" '#{alternate_on}')" 0 "the alternate screen is left"

# SIGTERM ends it cleanly too.
tmux kill-session -t "$S"
tmux -f /dev/null new-session -d -s "$S" -x 100 -y 30 \
        "$MXDECK monitor --refresh 60 --only service 2>$T/err2; echo \"EXIT=\$?\"; sleep 600"
wait_screen 20 "Health" || fail "second dashboard did not open"
# (anchored on the binary's path: the lab's own init is an mxdeck process too)
pid=$(pgrep -f '^[^ ]*/mxdeck monitor --refresh 60' | head -1)
[ -n "$pid" ] && kill -TERM "$pid"
wait_screen 10 "EXIT=0" && ok "SIGTERM ends it with status 0" || not_ok "SIGTERM: $(cap | tail -3)"
expect_eq "$(tmux display-message -p -t "$S" '#{alternate_on}')" 0 "the terminal is restored after SIGTERM"
tmux kill-server 2>/dev/null

# Not on a terminal: a clear refusal, not a garbled screen.
out=$("$MXDECK" monitor </dev/null 2>&1)
expect_eq "$?" 2 "monitor without a terminal: exit 2"
expect_match "$out" "needs a terminal" "monitor without a terminal says why"
finish
