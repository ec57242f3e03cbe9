#!/usr/bin/env bash
# Benchmark (not a test): the dashboard next to htop on the same machine, in a lab host
# with real Postfix and Dovecot (as tests/integration/tui-dashboard.sh) and LINES mail log
# lines (default 100,000) of the last hour in its journal. Prints, side by side:
#   - idle CPU over 30 s at the default refresh (own, and with the tools the checks run),
#     next to htop at its default delay (target: under 1% of a core);
#   - peak RSS with the LINES lines retained by the log panel, next to lnav holding the
#     same lines (target: under 40 MiB);
#   - start to the first full frame on a pty (the bar drawn), next to htop (target: 150 ms);
#   - key press (F1) to the help on the screen while a refresh runs (F5 just before),
#     next to htop's F1.
# Needs root (a lab host), tmux, htop, lnav, systemd-journal-remote.
#
#   MXDECK=/path/to/build/cli/mxdeck tests/bench/bench-dashboard.sh [LINES]
#   PARTS="first rss" ... : only some of the parts (cpu key first rss; default all)
set -u
here=$(cd "$(dirname "$0")" && pwd)
MXDECK=${MXDECK:-$here/../../build/cli/mxdeck}
export MXDECK
. "$here/../integration/lib.sh"
for t in tmux htop lnav; do command -v $t >/dev/null || { echo "$t is not installed (scripts/bootstrap --test)"; exit 1; }; done
[ -x /lib/systemd/systemd-journal-remote ] || { echo "systemd-journal-remote is not installed"; exit 1; }
LAB_TIMEOUT=900 in_lab_or_reexec --hostname mail.lab.test -- "$0" "$@"

LINES=${1:-100000}
PARTS=${PARTS:-cpu key first rss}
want() { case " $PARTS " in *" $1 "*) return 0 ;; esac; return 1; }
. "$here/../integration/tls-setup.sh" >/dev/null
T=$(mktemp -d)
export TMUX_TMPDIR=$T
CLK=$(getconf CLK_TCK)

# ---- LINES mail log lines spread over the last hour, in the lab's journal ----
python3 "$here/gen-maillog.py" "$here/../data/log/lab.log" "$LINES" "$T/mail.export" --export
python3 "$here/gen-maillog.py" "$here/../data/log/lab.log" "$LINES" "$T/mail.log"
python3 - "$T/mail.export" "$LINES" <<'PY'
import sys, time
path, n = sys.argv[1], int(sys.argv[2])
now = time.time()
first, last = now - 3540, now - 60
out, i = [], 0
for line in open(path, encoding="utf-8"):
    if line.startswith("__REALTIME_TIMESTAMP="):
        line = "__REALTIME_TIMESTAMP=%d\n" % int((first + (last - first) * i / max(n - 1, 1)) * 1e6)
        i += 1
    out.append(line)
open(path, "w", encoding="utf-8").writelines(out)
PY
jdir=$(ls -d /run/log/journal/*/ 2>/dev/null | head -1)
[ -n "$jdir" ] || { echo "no journal directory in the lab"; exit 1; }
/lib/systemd/systemd-journal-remote -o "${jdir}bench.journal" - <"$T/mail.export" 2>/dev/null ||
        { echo "systemd-journal-remote failed"; exit 1; }
echo "journal: $LINES mail log lines over the last hour ($(du -sm "$jdir" | cut -f1) MiB)"
echo

cap() { tmux capture-pane -p -t "$1" 2>/dev/null; }
wait_screen() { # SESSION SECONDS ERE
        local tries=$(($2 * 10))
        while [ "$tries" -gt 0 ]; do
                cap "$1" | grep -Eq -- "$3" && return 0
                tries=$((tries - 1))
                sleep 0.1
        done
        return 1
}
# the pid of the program in a tmux session (the pane's shell exec'd it)
pane_pid() { tmux display-message -p -t "$1" '#{pane_pid}'; }
ticks() { # PID -> "own children" clock ticks so far
        awk '{ print $14 + $15, $16 + $17 }' "/proc/$1/stat"
}
hwm_kib() { awk '/^VmHWM/ { print $2 }' "/proc/$1/status"; }

# ---- idle CPU, 30 s ----
if want cpu; then
tmux -f /dev/null new-session -d -s mx -x 120 -y 40 "exec $MXDECK monitor --ca-file $P/ca.pem"
tmux -f /dev/null new-session -d -s ht -x 120 -y 40 "exec htop"
wait_screen mx 60 "updated [0-9]+s ago" || { echo "the dashboard did not refresh: $(cap mx | head -3)"; exit 1; }
sleep 2
mp=$(pane_pid mx) hp=$(pane_pid ht)
read -r m_own0 m_kids0 < <(ticks "$mp")
read -r h_own0 _ < <(ticks "$hp")
sleep 30
read -r m_own1 m_kids1 < <(ticks "$mp")
read -r h_own1 _ < <(ticks "$hp")
pct() { echo "scale=2; 100 * $1 / ($CLK * 30)" | bc; }
printf "%-52s %10s\n" "idle CPU over 30 s (% of one core)" ""
printf "  %-50s %9s%%\n" "htop $(htop --version | head -1 | awk '{print $2}') (default delay 1.5 s)" "$(pct $((h_own1 - h_own0)))"
printf "  %-50s %9s%%\n" "mxdeck monitor (refresh 5 s: all checks), itself" "$(pct $((m_own1 - m_own0)))"
printf "  %-50s %9s%%\n" "  with the tools its checks ran (postconf, ...)" "$(pct $((m_own1 - m_own0 + m_kids1 - m_kids0)))"
tmux kill-session -t ht
fi

# ---- keystroke to screen while a refresh runs (F5, then F1 at once) ----
# (phrases of the help's own lines: curses sends only the cells that changed)
HELP_WORDS='redraw the|panel by|first, last|empty to|top level|previous match|selected line'
if want key; then
echo
printf "%-52s %s\n" "key press to screen, ms (min median max)" ""
printf "  %-50s %s\n" "htop: F1 to its help" \
        "$(python3 "$here/pty-timing.py" key 20 '\x1bOP' 'help|Help|Hisham|Setup' 'q' 'F10.{0,40}Quit' -- htop)"
printf "  %-50s %s\n" "mxdeck: F1 to the help, a refresh running (F5)" \
        "$(python3 "$here/pty-timing.py" key 20 '\x1bOP' "$HELP_WORDS" 'q' 'F10.{0,40}Quit' '\x1b[15~' -- \
                "$MXDECK" monitor --ca-file "$P/ca.pem")"
printf "  %-50s %s\n" "mxdeck: the same, 1 s after F5" "$(PRE_WAIT=1 python3 "$here/pty-timing.py" key 10 '\x1bOP' \
        "$HELP_WORDS" 'q' 'F10.{0,40}Quit' '\x1b[15~' -- "$MXDECK" monitor --ca-file "$P/ca.pem")"
printf "  %-50s %s\n" "mxdeck: F1 to the help, no refresh asked" "$(python3 "$here/pty-timing.py" key 10 '\x1bOP' \
        "$HELP_WORDS" 'q' 'F10.{0,40}Quit' -- "$MXDECK" monitor --ca-file "$P/ca.pem")"
fi

# ---- start to first full frame ----
if want first; then
echo
printf "%-52s %s\n" "start to first full frame, ms (min median max)" ""
printf "  %-50s %s\n" "htop" "$(python3 "$here/pty-timing.py" first 10 'F10.{0,40}Quit' -- htop)"
printf "  %-50s %s\n" "mxdeck monitor" \
        "$(python3 "$here/pty-timing.py" first 10 'F10.{0,40}Quit' -- "$MXDECK" monitor --ca-file "$P/ca.pem")"
fi

# ---- peak RSS with LINES log lines retained ----
if want rss; then
tmux kill-session -t mx 2>/dev/null
t0=$(date +%s.%N)
tmux -f /dev/null new-session -d -s mx -x 120 -y 40 "exec $MXDECK monitor log --ca-file $P/ca.pem"
loaded() { cap mx | sed -n 2p | grep -Eq "journal .* [0-9]{5,} lines" && ! cap mx | sed -n 2p | grep -q "reading"; }
wait_for 120 loaded || { echo "the log panel did not load: $(cap mx | sed -n 2p)"; exit 1; }
t1=$(date +%s.%N)
mp=$(pane_pid mx)
read -r load_ticks _ < <(ticks "$mp")
shown=$(cap mx | sed -n 2p | grep -Eo "[0-9]+ lines")
# lnav holding the same lines from a file
tmux -f /dev/null new-session -d -s ln -x 120 -y 40 "exec env HOME=$T lnav $T/mail.log"
lp=$(pane_pid ln)
prev=0
for _ in $(seq 120); do # until its memory stops growing for 2 s (bounded: 60 s)
        sleep 0.5
        cur=$(hwm_kib "$lp")
        [ "$cur" = "$prev" ] && [ "${same:-0}" -ge 3 ] && break
        [ "$cur" = "$prev" ] && same=$((${same:-0} + 1)) || same=0
        prev=$cur
done
echo
printf "%-52s %10s\n" "peak RSS with $LINES log lines" "MiB"
printf "  %-50s %10.1f\n" "lnav $(lnav -V | awk '{print $2}') (the same lines from a file)" "$(echo "$(hwm_kib "$lp") / 1024" | bc -l)"
printf "  %-50s %10.1f\n" "mxdeck monitor log ($shown retained)" "$(echo "$(hwm_kib "$mp") / 1024" | bc -l)"
rss_part() { echo "$(awk -v k="$1:" '$1 == k { print $2 }' "/proc/$mp/status") / 1024" | bc -l; }
printf "  %-50s %10.1f\n" "  now: its own memory (RssAnon)" "$(rss_part RssAnon)"
printf "  %-50s %10.1f\n" "  now: file pages (RssFile: libraries, a disk journal)" "$(rss_part RssFile)"
printf "  %-50s %10.1f\n" "  now: shared memory (RssShmem: a journal in /run)" "$(rss_part RssShmem)"
printf "  %-50s %10.2f s\n" "  the last hour read and shown after" "$(echo "$t1 - $t0" | bc)"
printf "  %-50s %10.2f s\n" "  its CPU time (user+sys) until then" "$(echo "scale=2; $load_ticks / $CLK" | bc)"
fi
tmux kill-server 2>/dev/null
rm -f "${jdir}bench.journal"
