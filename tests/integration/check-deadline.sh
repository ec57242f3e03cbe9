#!/usr/bin/env bash
# The deadline holds whatever hangs: every Postfix/Dovecot tool replaced by one that never
# returns, a resolver that never answers (UDP and TCP), a host name only DNS could know.
# `mxdeck check --timeout 3` must end within 4.5 s (the deadline plus the runner's grace and
# start-up), report the hung tools as timed out, and run on at most 3 threads meanwhile
# (the loop's own plus the offload workers for getaddrinfo and ldns' chain walk).
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
in_lab_or_reexec --hostname mail.lab.test -- "$0" "$@"

jq_() { python3 "$here/jsonq.py" "$@"; }
T=$(mktemp -d)

# A main.cf, so that the tools are run at all (without one mxdeck answers for them).
mkdir -p /etc/postfix && touch /etc/postfix/main.cf
# Hanging stand-ins, found first: spawn's fixed PATH starts with /usr/local/sbin (the
# lab's overlay over /usr keeps them inside the lab).
for tool in postconf postfix postmap postqueue doveconf dovecot doveadm; do
        printf '#!/bin/sh\nexec sleep 1000\n' >"/usr/local/sbin/$tool"
        chmod 755 "/usr/local/sbin/$tool"
done
expect_match "$(command -v postconf)" "^/usr/local/sbin/postconf$" "the hanging postconf comes first"

# A resolver that takes every query and never answers.
python3 - >"$T/silent.log" 2>&1 <<'PY' &
import socket, time
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.bind(("127.0.0.53", 53))
t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
t.bind(("127.0.0.53", 53))
t.listen(64)
print("listening", flush=True)
held = []
deadline = time.time() + 200
while time.time() < deadline:
    t.settimeout(1)
    try:
        c, _ = t.accept()
        held.append(c)
    except socket.timeout:
        pass
PY
silent_pid=$!
wait_for_port 53 20 127.0.0.53 || fail "the silent resolver did not start: $(cat "$T/silent.log")"
printf 'nameserver 127.0.0.53\noptions timeout:5 attempts:3\n' >/etc/resolv.conf

# Sample the thread count of the running mxdeck about every 10 ms (bounded), with bash
# builtins only: forking a sampler 100 times a second would slow the machine it measures.
exec 9<> <(:)
start=$(date +%s%N)
"$MXDECK" check --timeout 3 --host mx.nowhere.test --domain nowhere.test --format json >"$T/out.json" 2>"$T/err" &
pid=$!
max_threads=0
for _ in $(seq 2000); do
        n=0
        while read -r key value _; do
                [ "$key" = Threads: ] && n=$value && break
        done 2>/dev/null <"/proc/$pid/status" || break
        [ "$n" -gt "$max_threads" ] && max_threads=$n
        read -r -t 0.01 -u 9 _
done
wait "$pid"
rc=$?
end=$(date +%s%N)
elapsed_ms=$(( (end - start) / 1000000 ))
kill "$silent_pid" 2>/dev/null

note "mxdeck check --timeout 3 took ${elapsed_ms} ms, at most ${max_threads} threads, exit $rc"
[ "$elapsed_ms" -lt 4500 ] && ok "finished within 4.5 s (${elapsed_ms} ms)" ||
        not_ok "took ${elapsed_ms} ms with --timeout 3"
[ "$max_threads" -le 3 ] && ok "at most 3 threads (${max_threads})" || not_ok "${max_threads} threads at once"
note "mxdeck's own measure: $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["duration_ms"])' "$T/out.json" 2>/dev/null) ms"
[ "$rc" -ge 2 ] && ok "exit status $rc: not a clean bill of health" || not_ok "exit status $rc with everything hung"
python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$T/out.json" && ok "the report is complete JSON" ||
        not_ok "broken JSON: $(head -c 300 "$T/out.json")"

# The hung tools are named as timed out, never as "invalid" or a crash.
for id in config.postfix config.dovecot; do
        expect_match "$(jq_ field "$id" summary <"$T/out.json")" "timed out|did not finish in time" "$id says the tool timed out"
        expect_eq "$(jq_ status "$id" <"$T/out.json")" unknown "$id is unknown, not a verdict"
done
# DNS findings say the resolver did not answer in time.
expect_eq "$(jq_ status dns.mx <"$T/out.json")" unknown "dns.mx unknown"
expect_match "$(jq_ field dns.mx summary <"$T/out.json")" "time|answer" "dns.mx says no answer in time"
# The listener suite could not resolve the host in time and says so.
expect_match "$(jq_ field port.smtp summary <"$T/out.json")" "time|resolve|answer" "port.smtp says the name lookup did not finish"
# No check was cut off by the runner's safety net: every probe ended at its own deadline.
if grep -q 'did not finish within the time limit' "$T/out.json"; then
        not_ok "a check had to be cancelled: $(grep -o '"id": "[^"]*", "group": "[^"]*", "target": "[^"]*", "status": "unknown", "summary": "the check did not finish[^"]*"' "$T/out.json" | head -3)"
else
        ok "every check ended by its own deadline"
fi
# Straight to an address nothing listens on while every tool hangs: the ports either
# refuse at once or, when the hung tools used up the time before the connection was
# tried, are "not tested". Never a dropping firewall: the probe got no time to wait for one.
"$MXDECK" check --timeout 3 --only port --connect 127.0.0.1 --host mx.nowhere.test --format json >"$T/ports.json" 2>/dev/null
for id in port.smtp port.submission port.imaps; do
        summary=$(jq_ field "$id" summary <"$T/ports.json")
        note "$id: $(jq_ status "$id" <"$T/ports.json"): $summary"
        if [[ "$summary" =~ firewall ]]; then
                not_ok "$id blames a firewall for a connection it had no time to try: $summary"
        else
                ok "$id: refused or not tested, no firewall guess"
        fi
done

# Nothing left running: the killed tools and their process groups are gone.
sleep_left=$(pgrep -c -x sleep || true)
expect_eq "${sleep_left:-0}" 0 "no hung tool left running"
finish
