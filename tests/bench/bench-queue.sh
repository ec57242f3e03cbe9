#!/usr/bin/env bash
# Benchmark (not a test): `mxdeck queue shape` against `qshape deferred` (and `postqueue -j`
# for scale) on a queue of N deferred messages (default 20,000) in a lab host. The mail is
# sent over SMTP to the lab's Postfix, whose relay host is a closed loopback port, so every
# message lands in the deferred queue. Prints median wall time and peak RSS side by side,
# with the ratios (targets: at least 3x faster than qshape, peak RSS under 32 MiB).
#
# Run as root from the source tree, after building:
#   MXDECK=/path/to/build/cli/mxdeck tests/bench/bench-queue.sh [MESSAGES] [REPETITIONS]
# MXDECK_BASE=/path/to/an/older/mxdeck adds that binary's postqueue path (before/after).
set -u
here=$(cd "$(dirname "$0")" && pwd)
itest=$(cd "$here/../integration" && pwd)
. "$itest/lib.sh"
# queueing 20,000 messages takes minutes on a small machine (BENCH_LAB_TIMEOUT to change)
LAB_TIMEOUT=${BENCH_LAB_TIMEOUT:-2400}
in_lab_or_reexec --hostname mail.lab.test -- "$0" "$@"

N=${1:-20000}
REPS=${2:-7}
command -v qshape >/dev/null || skip "qshape is not installed (Debian: part of the postfix package)"
[ -x /usr/bin/time ] || skip "GNU time (/usr/bin/time) is needed for peak RSS: apt-get install time"
T=$(mktemp -d)

cat >/etc/postfix/main.cf <<'CF'
compatibility_level = 3.6
myhostname = mail.lab.test
mydestination = $myhostname, localhost
inet_interfaces = loopback-only
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
alias_maps = hash:/etc/aliases
relayhost = [127.0.0.1]:2525
minimal_backoff_time = 7200s
maximal_backoff_time = 8000s
queue_run_delay = 7200s
smtpd_client_connection_rate_limit = 0
smtpd_recipient_limit = 1000
CF
newaliases
postfix start >/dev/null 2>&1 || fail "postfix start failed"
wait_for_port 25 20 || fail "Postfix does not listen on port 25"

echo "# queueing $N messages over SMTP..."
t0=$(date +%s)
python3 - "$N" <<'PY' || fail "could not queue the messages"
import os, smtplib, sys, random
n = int(sys.argv[1])
# four clients at once: Postfix's smtpd/cleanup work in parallel
workers = 4
for w in range(workers):
    if os.fork() == 0:
        break
else:
    sys.exit(max(os.waitstatus_to_exitcode(os.wait()[1]) for _ in range(workers)))
n = n // workers + (1 if w < n % workers else 0)
random.seed(w)
senders = ["user%d@lab.test" % i for i in range(50)] + ["spammer@lab.test"] * 50
domains = ["d%d.example" % i for i in range(300)] + ["big.example"] * 100
sent = 0
while sent < n:
    s = smtplib.SMTP("127.0.0.1", 25)
    for _ in range(min(500, n - sent)):
        frm = random.choice(senders)
        rcpts = ["r%d@%s" % (random.randrange(1000), random.choice(domains)) for _ in range(random.choice((1, 1, 1, 2, 3)))]
        s.sendmail(frm, rcpts, "From: %s\r\nSubject: bench %d\r\n\r\n%s\r\n" % (frm, sent, "x" * random.randrange(100, 2000)))
        sent += 1
    s.quit()
PY
deferred_count() { find /var/spool/postfix/deferred -type f | wc -l; }
wait_for 900 bash -c "[ \$(find /var/spool/postfix/deferred -type f | wc -l) -ge $N ]" ||
        fail "only $(deferred_count) of $N messages reached the deferred queue"
echo "# $(deferred_count) deferred messages after $(( $(date +%s) - t0 )) s"
# postqueue needs Postfix running (its showq service): the postqueue paths are measured first

measure() { # measure OUTFILE CMD...: prints "wall_ms maxrss_kib" of one run (GNU time)
        local out=$1
        shift
        local t0 t1
        t0=$(date +%s%N)
        /usr/bin/time -f '%M' -o "$T/time.txt" "$@" >"$out" 2>/dev/null || return 1
        t1=$(date +%s%N)
        echo "$(((t1 - t0) / 1000000)) $(cat "$T/time.txt")"
}
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
bench() { # bench NAME CMD...: median wall ms and median peak RSS KiB into $T/NAME.{ms,kib}
        local name=$1
        shift
        measure "$T/$name.out" "$@" >/dev/null || fail "$name: $* failed"  # warm-up (page cache)
        : >"$T/$name.runs"
        for _ in $(seq "$REPS"); do measure "$T/$name.out" "$@" >>"$T/$name.runs" || fail "$name failed"; done
        awk '{ print $1 }' "$T/$name.runs" | median >"$T/$name.ms"
        awk '{ print $2 }' "$T/$name.runs" | median >"$T/$name.kib"
}

bench postqueue postqueue -j
bench mxdeck_pq "$MXDECK" queue shape --queue deferred --source postqueue
bench mxdeck_pqp "$MXDECK" queue shape --queue deferred --source postqueue-p
names="qshape mxdeck postqueue mxdeck_pq mxdeck_pqp"
if [ -n "${MXDECK_BASE:-}" ]; then
        bench base_pq "$MXDECK_BASE" queue shape --queue deferred --source postqueue
        names="$names base_pq"
fi
# The file readers next, with Postfix stopped: nothing moves in the queue while they run.
postfix stop >/dev/null 2>&1
bench qshape qshape deferred
bench mxdeck "$MXDECK" queue shape --queue deferred

# Same answer? Domain rows and their totals (column T) must be equal. The age columns are
# compared by tests/integration/queue.sh on a queue that holds still: here the messages
# keep ageing between the runs, across the 5-minute edge.
qshape deferred >"$T/qshape.now"
"$MXDECK" queue shape --queue deferred --format json >"$T/mx.json"
python3 - "$T/qshape.now" "$T/mx.json" >"$T/diff" <<'PY' && same=yes || same="NO: $(head -3 "$T/diff")"
import json, sys
q = {}
with open(sys.argv[1]) as f:
    f.readline()
    for line in f:
        p = line.split()
        q[p[0]] = int(p[1])
m = {r["domain"]: r["total"] for r in json.load(open(sys.argv[2]))["rows"]}
bad = [d for d in set(q) | set(m) if q.get(d) != m.get(d)]
print("\n".join("%s: qshape %s, mxdeck %s" % (d, q.get(d), m.get(d)) for d in sorted(bad)[:5]))
sys.exit(1 if bad else 0)
PY

printf '%-44s %10s %12s\n' "" "wall (ms)" "peak RSS"
for name in $names; do
        case $name in
        qshape) label="qshape deferred" ;;
        mxdeck) label="mxdeck queue shape --queue deferred (files)" ;;
        postqueue) label="postqueue -j" ;;
        mxdeck_pq) label="mxdeck queue shape --source postqueue" ;;
        mxdeck_pqp) label="... --source postqueue-p (Postfix < 3.1)" ;;
        base_pq) label="MXDECK_BASE ... --source postqueue" ;;
        esac
        printf '%-44s %10s %9s KiB\n' "$label" "$(cat "$T/$name.ms")" "$(cat "$T/$name.kib")"
done
echo "messages: $(deferred_count) deferred; repetitions: $REPS (medians); same domains and totals as qshape: $same"
awk -v q="$(cat "$T/qshape.ms")" -v m="$(cat "$T/mxdeck.ms")" -v k="$(cat "$T/mxdeck.kib")" 'BEGIN {
        r = q / (m > 0 ? m : 1)
        printf "ratio qshape / mxdeck (wall): %.1fx (target >= 3x: %s)\n", r, ((r >= 3) ? "met" : "NOT MET")
        printf "mxdeck peak RSS: %.1f MiB (target < 32 MiB: %s)\n", k / 1024, ((k < 32 * 1024) ? "met" : "NOT MET")
}'
postfix stop >/dev/null 2>&1
