#!/usr/bin/env bash
# Benchmark (not a test): mxdeck setup from Debian's "No configuration" state to verified
# (packages already installed), and the no-op re-run (target: under 2 s), side by side
# with what an administrator runs by hand to apply and check the same configuration: the
# postconf -e / -M / -P commands mxdeck's plan lists (one process each, as typed from a
# guide), postfix check, doveconf -n, postfix start, dovecot. In a lab host.
#
# Run as root from the source tree, after building:
#   MXDECK=/path/to/build/cli/mxdeck tests/bench/bench-setup.sh [REPETITIONS]
set -u
here=$(cd "$(dirname "$0")" && pwd)
itest=$(cd "$here/../integration" && pwd)
. "$itest/lib.sh"
in_lab_or_reexec --hostname mail.lab.test -- "$0" "$@"

REPS=${1:-5}
T=$(mktemp -d /root/mxdeck-bench.XXXXXX)
printf 'Bench-pass-1\n' >"$T/pw"
chmod 600 "$T/pw"
printf '[server]\nhostname = mail.lab.test\ndomain = lab.test\n[users]\nmode = virtual\n[user alice]\npassword_file = %s\n' \
        "$T/pw" >"$T/answers.ini"

now_ms() { echo $(($(date +%s%N) / 1000000)); }
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
daemons_gone() { ! pgrep -x master >/dev/null && ! pgrep -x dovecot >/dev/null; }
stop_daemons() {
        postfix stop >/dev/null 2>&1
        doveadm stop >/dev/null 2>&1
        wait_for 10 daemons_gone
}

: >"$T/fresh.ms"
: >"$T/noop.ms"
: >"$T/dry.ms"
: >"$T/hand.ms"
for _ in $(seq "$REPS"); do
        rm -f /etc/postfix/main.cf
        t0=$(now_ms)
        "$MXDECK" setup --answers "$T/answers.ini" --yes >"$T/run.log" 2>&1 || { tail -20 "$T/run.log"; fail "setup failed"; }
        t1=$(now_ms)
        "$MXDECK" setup --answers "$T/answers.ini" --yes >/dev/null 2>&1
        [ $? = 3 ] || fail "the re-run was not a no-op"
        t2=$(now_ms)
        "$MXDECK" setup --answers "$T/answers.ini" --dry-run >/dev/null 2>&1
        t3=$(now_ms)
        echo $((t1 - t0)) >>"$T/fresh.ms"
        echo $((t2 - t1)) >>"$T/noop.ms"
        echo $((t3 - t2)) >>"$T/dry.ms"
        tx=$("$MXDECK" history --format json | python3 -c 'import json,sys; print(json.load(sys.stdin)[-1]["id"])')
        # the commands of the plan, as someone following a guide types them
        "$MXDECK" history --format json | python3 -c '
import json, sys
for c in json.load(sys.stdin)[-1]["commands"]:
    if c.startswith("postconf "):
        print(c)' >"$T/commands"
        "$MXDECK" rollback "$tx" >/dev/null 2>&1
        stop_daemons
        rmdir /var/vmail 2>/dev/null
        rm -rf /var/lib/mxdeck

        # by hand: the same postconf edits (each as one process per parameter, the way a
        # guide lists them), then the checks and the start a guide ends with
        python3 - "$T/run.log" >"$T/hand.sh" <<'PY'
import re, sys
# the command lines from the progress log (quoted as mxdeck prints them)
for line in open(sys.argv[1]):
    line = line.strip()
    if line.startswith("postconf "):
        print(line)
PY
        rm -f /etc/postfix/main.cf
        cp /etc/postfix/master.cf "$T/master.cf.orig"
        t0=$(now_ms)
        touch /etc/postfix/main.cf
        bash "$T/hand.sh" >/dev/null 2>&1
        postfix check >/dev/null 2>&1
        doveconf -n >/dev/null 2>&1
        postfix start >/dev/null 2>&1
        t1=$(now_ms)
        echo $((t1 - t0)) >>"$T/hand.ms"
        stop_daemons
        rm -f /etc/postfix/main.cf
        cp "$T/master.cf.orig" /etc/postfix/master.cf
done

fresh=$(median <"$T/fresh.ms")
noop=$(median <"$T/noop.ms")
dry=$(median <"$T/dry.ms")
hand=$(median <"$T/hand.ms")
echo "# medians of $REPS runs, lab host, $(nproc) CPUs, load average $(cut -d" " -f1-3 /proc/loadavg)"
printf '%-58s %8s ms\n' "mxdeck setup, fresh -> verified (incl. 54 checks)" "$fresh"
printf '%-58s %8s ms\n' "by hand: same postconf edits + postfix check + start" "$hand"
printf '%-58s %8s\n' "ratio (mxdeck / by hand)" "$(awk -v a="$fresh" -v b="$hand" 'BEGIN { printf "%.2f", a / b }')"
printf '%-58s %8s ms   (target < 2000)\n' "mxdeck setup, no-op re-run" "$noop"
printf '%-58s %8s ms\n' "mxdeck setup --dry-run (plan only)" "$dry"
finish
