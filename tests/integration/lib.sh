# Helpers sourced by the integration tests (bash): the mxdeck binary, TAP-ish output
# (ok, fail, skip, expect_*, finish), running in a lab host (in_lab_or_reexec, run_in_lab),
# bounded waits. Also sourced inside labs, so it only defines things; checks happen when a
# test calls them.

MXDECK_BUILD_ROOT=${MXDECK_BUILD_ROOT:-}
MXDECK=${MXDECK:-${MXDECK_BUILD_ROOT:+$MXDECK_BUILD_ROOT/cli/mxdeck}}
MXDECK_LIB=${MXDECK_LIB:-$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh}
export MXDECK MXDECK_LIB

# Upper bound for one lab run, in seconds: below meson's 300 s, so a hung lab is reported
# as such by the test.
LAB_TIMEOUT=${LAB_TIMEOUT:-240}

_tap_count=0
_tap_failed=0

# ok MESSAGE: one passed check.
ok() {
        _tap_count=$((_tap_count + 1))
        echo "ok $_tap_count - $*"
}

# note MESSAGE: a diagnostic line that is neither a pass nor a failure.
note() {
        echo "# $*"
}

# not_ok MESSAGE: one failed check; the test goes on, and finish exits 1.
not_ok() {
        _tap_count=$((_tap_count + 1))
        _tap_failed=$((_tap_failed + 1))
        echo "not ok $_tap_count - $*"
}

# fail MESSAGE: one failed check that makes going on pointless; ends the test with status 1.
fail() {
        not_ok "$@"
        echo "1..$_tap_count"
        exit 1
}

# skip WHY: the machine cannot run this test; exit 77 tells meson it was skipped.
skip() {
        echo "1..0 # SKIP $*"
        exit 77
}

# expect_eq ACTUAL WANTED MESSAGE
expect_eq() {
        if [ "$1" = "$2" ]; then ok "$3"; else not_ok "$3: got '$1', want '$2'"; fi
}

# expect_match ACTUAL ERE MESSAGE
expect_match() {
        if [[ $1 =~ $2 ]]; then ok "$3"; else not_ok "$3: '$1' does not match /$2/"; fi
}

# expect_no_escape FILE MESSAGE: FILE holds no control characters but newline and tab (no
# ESC, CR, NUL, DEL, nor the C1 controls in their UTF-8 form), i.e. is safe for a terminal.
expect_no_escape() {
        if LC_ALL=C grep -qaP '[\x00-\x08\x0B-\x1F\x7F]|\xC2[\x80-\x9F]' "$1"; then
                not_ok "$2: control characters in $1: $(LC_ALL=C grep -naP '[\x00-\x08\x0B-\x1F\x7F]|\xC2[\x80-\x9F]' "$1" | head -3 | cat -v)"
        else
                ok "$2"
        fi
}

# finish: prints the plan and ends the test: 1 if a check failed, else 0.
finish() {
        echo "1..$_tap_count"
        [ "$_tap_failed" = 0 ] || exit 1
        exit 0
}

# require_mxdeck: the built binary must exist (that is a failure, not a skip).
require_mxdeck() {
        [ -n "$MXDECK" ] || fail "MXDECK_BUILD_ROOT is not set (run this through 'meson test')"
        [ -x "$MXDECK" ] || fail "$MXDECK is not an executable"
}

# require_lab: skips unless we are root and this kernel lets us create namespaces and mount
# an overlay. Probes with util-linux unshare(1), not with mxdeck: a broken `mxdeck lab` must
# fail the tests, not skip them.
require_lab() {
        require_mxdeck
        [ "$(id -u)" = 0 ] || skip "needs root: mxdeck lab creates namespaces and mounts"
        command -v unshare >/dev/null || return 0
        local probe
        probe=$(mktemp -d /tmp/mxdeck-probe.XXXXXX) || skip "cannot create a directory in /tmp"
        # shellcheck disable=SC2016
        if ! timeout 30 unshare --mount --net --pid --ipc --uts --fork --propagation private sh -c '
                mount -t tmpfs probe "$1" &&
                mkdir "$1/l" "$1/u" "$1/w" "$1/m" &&
                mount -t overlay overlay -o "lowerdir=$1/l,upperdir=$1/u,workdir=$1/w" "$1/m"
        ' sh "$probe" >/dev/null 2>&1; then
                rmdir "$probe"
                skip "this kernel or container does not allow new namespaces or overlayfs"
        fi
        rmdir "$probe"
}

# in_lab_or_reexec [LAB_OPTIONS...] -- SCRIPT [ARGS...]: for tests that run entirely inside
# a lab. Outside one, skips unless a lab is possible, re-runs SCRIPT in a fresh lab and exits
# with its status; inside (MXDECK_LAB=1), returns and the test goes on.
in_lab_or_reexec() {
        [ "${MXDECK_LAB:-}" = 1 ] && return 0
        require_lab
        local opts=()
        while [ $# -gt 0 ] && [ "$1" != -- ]; do
                opts+=("$1")
                shift
        done
        [ $# -gt 1 ] || fail "in_lab_or_reexec: no script to run (want: [OPTIONS] -- SCRIPT [ARGS])"
        shift
        timeout -k 10 "$LAB_TIMEOUT" "$MXDECK" lab "${opts[@]}" -- "$@"
        local st=$?
        [ "$st" = 124 ] && echo "not ok - the lab did not finish within $LAB_TIMEOUT s"
        exit "$st"
}

# run_in_lab [LAB_OPTIONS...] SCRIPT: runs SCRIPT with bash inside `mxdeck lab`, with this
# library sourced there first; returns the lab's exit status. Bounded by LAB_TIMEOUT.
run_in_lab() {
        local script=${!#}
        local opts=("${@:1:$#-1}")
        # shellcheck disable=SC2016
        timeout -k 10 "$LAB_TIMEOUT" "$MXDECK" lab "${opts[@]}" -- \
                /bin/bash -c '. "$MXDECK_LIB" && eval "$1"' lab-script "$script"
}

# wait_for SECONDS COMMAND...: polls COMMAND every 0.1 s until it succeeds; 1 on timeout.
wait_for() {
        local tries=$(($1 * 10))
        shift
        while [ "$tries" -gt 0 ]; do
                "$@" && return 0
                tries=$((tries - 1))
                sleep 0.1
        done
        return 1
}

_port_open() {
        # shellcheck disable=SC2016
        timeout 1 bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$1" "$2" 2>/dev/null
}

# wait_for_port PORT SECONDS [HOST]: until something accepts TCP connections there.
wait_for_port() {
        wait_for "$2" _port_open "${3:-127.0.0.1}" "$1"
}

# wait_for_file PATH SECONDS: until PATH exists.
wait_for_file() {
        wait_for "$2" test -e "$1"
}

_port_closed() {
        ! _port_open "$1" "$2"
}

# wait_for_port_closed PORT SECONDS [HOST]: until nothing accepts TCP connections there.
wait_for_port_closed() {
        wait_for "$2" _port_closed "${3:-127.0.0.1}" "$1"
}

_udp_bound() {
        [ -n "$(ss -Hlun "src $1:$2" 2>/dev/null)" ]
}

# wait_for_udp_port PORT SECONDS [HOST]: until a UDP socket is bound there (a server that
# never answers cannot be probed by asking it; the socket table says it is ready).
wait_for_udp_port() {
        wait_for "$2" _udp_bound "${3:-127.0.0.1}" "$1"
}

_gone() {
        ! kill -0 "$1" 2>/dev/null
}

# wait_for_exit PID SECONDS: until the process is gone (a zombie of ours still counts as
# there: reap it with `wait` first if it is our child).
wait_for_exit() {
        wait_for "$2" _gone "$1"
}

_journal_count() {
        journalctl -q --no-pager -t "$1" -o cat 2>/dev/null | grep -cE "$2"
}

_journal_count_above() {
        [ "$(_journal_count "$1" "$2")" -gt "$3" ]
}

_all_gone() {
        local pid
        for pid in "$@"; do
                kill -0 "$pid" 2>/dev/null && return 1
        done
        return 0
}

# reload_mail_daemons [SECONDS]: `postfix reload` and `doveadm reload` (each only when it
# runs), then waits, bounded, until the new configuration serves: each master logged that
# it re-read its configuration (in the lab's journal), and every smtpd and login process
# started before the reload (which could still answer with the old settings) is gone.
# 1 on timeout. Inside a lab only (its own journal and PID namespace).
reload_mail_daemons() {
        local secs=${1:-10} old pf dv
        old=$(pgrep -d ' ' -x 'smtpd|imap-login|pop3-login')
        pf=$(_journal_count postfix/master '^reload -- ')
        dv=$(_journal_count dovecot 'SIGHUP received - reloading configuration')
        if postfix status >/dev/null 2>&1; then
                postfix reload >/dev/null 2>&1 || return 1
                wait_for "$secs" _journal_count_above postfix/master '^reload -- ' "$pf" || return 1
        fi
        if doveadm reload 2>/dev/null; then
                wait_for "$secs" _journal_count_above dovecot 'SIGHUP received - reloading configuration' "$dv" || return 1
        fi
        # shellcheck disable=SC2086
        wait_for "$secs" _all_gone $old
}

_tmux_gone() {
        ! tmux "$@" list-sessions >/dev/null 2>&1
}

# tmux_kill_server [TMUX_OPTIONS...]: ends the tmux server and waits (bounded) until it is
# gone. kill-server returns before the server has exited; a new-session started meanwhile
# can land in the dying server and vanish with it (an empty pane, "server exited
# unexpectedly").
tmux_kill_server() {
        tmux "$@" kill-server 2>/dev/null
        wait_for 10 _tmux_gone "$@"
}

# wait_screen SECONDS ERE: until the terminal screen shows ERE (bounded). The test defines
# cap(), which prints its tmux pane.
wait_screen() {
        local tries=$(($1 * 10))
        while [ "$tries" -gt 0 ]; do
                cap | grep -Eq -- "$2" && return 0
                tries=$((tries - 1))
                sleep 0.1
        done
        return 1
}
