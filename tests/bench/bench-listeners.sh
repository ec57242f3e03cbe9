#!/usr/bin/env bash
# Benchmark (not a test): mxdeck's listener suite (port, tls, smtp, imap, pop3 against the
# seven listeners, all at once) versus the same checks the way a Nagios user runs them
# today: monitoring-plugins' check_smtp -S -D, check_ssmtp -D, check_imap, check_simap -D,
# check_pop and check_spop -D, one after the other. In a lab host, against loopback
# Postfix and Dovecot configured by tests/integration/tls-setup.sh.
#
# Run as root from the source tree, after building:
#   MXDECK=/path/to/build/cli/mxdeck tests/bench/bench-listeners.sh [REPETITIONS]
# Prints the median wall times, their ratio, and mxdeck's slowest single probe (the
# probe_ms metric of the port.* findings) against its whole suite (duration_ms).
set -u
here=$(cd "$(dirname "$0")" && pwd)
itest=$(cd "$here/../integration" && pwd)
. "$itest/lib.sh"
in_lab_or_reexec --hostname mail.lab.test -- "$0" "$@"

REPS=${1:-9}
PLUGINS=/usr/lib/nagios/plugins
for p in check_smtp check_ssmtp check_imap check_simap check_pop check_spop; do
        [ -x "$PLUGINS/$p" ] || skip "monitoring-plugins' $p is not installed"
done
command -v postfix >/dev/null && command -v dovecot >/dev/null || skip "Postfix and Dovecot are needed"

. "$itest/tls-setup.sh"
T=$(mktemp -d)

now_ms() { echo $(($(date +%s%N) / 1000000)); }
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

mxdeck_once() {
        "$MXDECK" check --only port,tls,smtp,imap,pop3 --ca-file "$P/ca.pem" --format json >"$T/mx.json"
}
plugins_once() {
        local h=127.0.0.1
        "$PLUGINS/check_smtp" -H "$h" -S -D 30 >/dev/null
        "$PLUGINS/check_ssmtp" -H "$h" -D 30 >/dev/null
        "$PLUGINS/check_imap" -H "$h" >/dev/null
        "$PLUGINS/check_simap" -H "$h" -D 30 >/dev/null
        "$PLUGINS/check_pop" -H "$h" >/dev/null
        "$PLUGINS/check_spop" -H "$h" -D 30 >/dev/null
}

# One warm-up each (first handshakes, process start-up of the daemons' login helpers).
mxdeck_once
plugins_once
python3 - "$T/mx.json" <<'PY' || fail "mxdeck's suite is not all ok in the bench setup"
import json, sys
d = json.load(open(sys.argv[1]))
bad = [f["id"] + ": " + f["summary"] for f in d["findings"] if f["status"] != "ok"]
print("\n".join("# not ok: " + b for b in bad))
sys.exit(1 if bad else 0)
PY

: >"$T/mx.ms"
: >"$T/pl.ms"
: >"$T/dur.ms"
: >"$T/slow.ms"
for _ in $(seq "$REPS"); do
        t0=$(now_ms)
        mxdeck_once
        t1=$(now_ms)
        echo $((t1 - t0)) >>"$T/mx.ms"
        python3 - "$T/mx.json" >>"$T/slow.ms" 2>>"$T/dur.ms" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
probes = [m["value"] if isinstance(m, dict) else m
          for f in d["findings"] if f["id"].startswith("port.")
          for k, m in (f.get("metrics") or {}).items() if k == "probe_ms"]
print(int(max(probes)))
print(d["duration_ms"], file=sys.stderr)
PY
        t0=$(now_ms)
        plugins_once
        t1=$(now_ms)
        echo $((t1 - t0)) >>"$T/pl.ms"
done

mx=$(median <"$T/mx.ms")
pl=$(median <"$T/pl.ms")
dur=$(median <"$T/dur.ms")
slow=$(median <"$T/slow.ms")
echo "repetitions:                         $REPS (median of each)"
echo "mxdeck whole suite, wall:            ${mx} ms (process start to exit)"
echo "mxdeck whole suite, in-process:      ${dur} ms (duration_ms)"
echo "mxdeck slowest single probe:         ${slow} ms (max probe_ms)"
echo "monitoring-plugins sequential, wall: ${pl} ms"
awk -v mx="$mx" -v pl="$pl" -v dur="$dur" -v slow="$slow" 'BEGIN {
        printf "ratio plugins / mxdeck (wall):       %.2fx\n", pl / mx
        printf "ratio suite / slowest probe:         %.2fx (target <= 1.5)\n", dur / (slow > 0 ? slow : 1)
}'
postfix stop >/dev/null 2>&1
doveadm stop 2>/dev/null || true
