#!/usr/bin/env bash
# Benchmark (not a test): `mxdeck log stats` against pflogsumm on the same realistic
# mail.log of LINES lines (default 1,000,000) made from the oracle test's real Postfix and
# Dovecot log (tests/bench/gen-maillog.py), then the same events from journal files
# against `journalctl --directory D -o cat`. Prints, side by side: wall and CPU seconds,
# lines/second (by CPU time: the machine is shared), peak RSS, and the ratio; and checks
# on the way that both tools agree on every Grand Totals figure.
# Targets: >= 20x pflogsumm, RSS < 64 MiB; journal: not slower than journalctl -o cat.
#
#   MXDECK=/path/to/build/cli/mxdeck tests/bench/bench-log.sh [LINES]
set -u
here=$(cd "$(dirname "$0")" && pwd)
MXDECK=${MXDECK:-$here/../../build/cli/mxdeck}
LINES=${1:-1000000}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
command -v pflogsumm >/dev/null || { echo "pflogsumm is not installed"; exit 1; }

python3 "$here/gen-maillog.py" "$here/../data/log/lab.log" "$LINES" "$T/mail.log" || exit 1
echo "mail.log: $(wc -l <"$T/mail.log") lines, $(du -m "$T/mail.log" | cut -f1) MB"

# measure NAME CMD...: prints "wall cpu rss_kb" of the best of 3 runs (by CPU time)
measure() {
        local best="" best_cpu=""
        for _ in 1 2 3; do
                /usr/bin/time -f "%e %U %S %M" -o "$T/time" "$@" >"$T/out.new" 2>/dev/null || { echo "failed: $*" >&2; return 1; }
                read -r wall user sys rss <"$T/time"
                cpu=$(echo "$user + $sys" | bc)
                if [ -z "$best" ] || [ "$(echo "$cpu < $best_cpu" | bc)" = 1 ]; then
                        best="$wall $cpu $rss" best_cpu=$cpu
                fi
                mv "$T/out.new" "$T/out"
        done
        echo "$best"
}
row() { # NAME WALL CPU RSS_KB
        printf "%-34s %8.2f %8.2f %12.0f %10.1f\n" "$1" "$2" "$3" "$(echo "$LINES / $3" | bc)" "$(echo "$4 / 1024" | bc -l)"
}

printf "%-34s %8s %8s %12s %10s\n" "" "wall s" "cpu s" "lines/s(cpu)" "RSS MiB"
read -r pw pc pr < <(measure pflogsumm "$T/mail.log")
cp "$T/out" "$T/pflogsumm.txt"
read -r mw mc mr < <(measure "$MXDECK" log stats --no-rotated --format json --file "$T/mail.log")
cp "$T/out" "$T/mxdeck.json"
row "pflogsumm $(pflogsumm --version | awk '{print $2}')" "$pw" "$pc" "$pr"
row "mxdeck log stats" "$mw" "$mc" "$mr"
printf "ratio (pflogsumm cpu / mxdeck cpu): %.1fx\n" "$(echo "$pc / $mc" | bc -l)"
if diff <(python3 "$here/../log/logtotals.py" pflogsumm "$T/pflogsumm.txt") \
        <(python3 "$here/../log/logtotals.py" mxdeck "$T/mxdeck.json") >"$T/diff"; then
        echo "Grand Totals: equal on all 16 figures"
else
        echo "Grand Totals DIFFER:"; cat "$T/diff"
fi

# The same events as a journal file (systemd-journal-remote writes it from export format).
remote=/lib/systemd/systemd-journal-remote
if [ -x "$remote" ]; then
        # journal-remote starts a new file every ~64 MiB: read the directory of them.
        python3 "$here/gen-maillog.py" "$here/../data/log/lab.log" "$LINES" "$T/mail.export" --export
        mkdir "$T/journal"
        "$remote" -o "$T/journal/mail.journal" - <"$T/mail.export" 2>/dev/null || echo "systemd-journal-remote failed"
        rm -f "$T/mail.export"
        read -r jw jc jr < <(measure journalctl --directory "$T/journal" -o cat)
        read -r xw xc xr < <(measure "$MXDECK" log stats --format json --journal-dir "$T/journal")
        echo
        row "journalctl --directory D -o cat" "$jw" "$jc" "$jr"
        row "mxdeck log stats --journal-dir D" "$xw" "$xc" "$xr"
        printf "ratio (journalctl cpu / mxdeck cpu): %.2fx\n" "$(echo "$jc / $xc" | bc -l)"
        diff <(python3 "$here/../log/logtotals.py" mxdeck "$T/mxdeck.json") \
                <(python3 "$here/../log/logtotals.py" mxdeck "$T/out") >/dev/null &&
                echo "journal and file: the same totals" || echo "journal and file totals DIFFER"
else
        echo "($remote not installed: journal part skipped)"
fi
