#!/usr/bin/env bash
# Benchmark (not a test): mxdeck's DNS suite (`check --only dns,dnsbl`) for one domain
# against the loopback nsd of tests/integration/dns-setup.sh (through its validating
# unbound), in a lab host. Loopback
# answers in microseconds, so the queries go through a small proxy that holds each one
# for DELAY ms (a resolver a few network hops away). Prints, side by side: the suite's
# wall time (duration_ms of the report), its slowest single lookup chain (the largest
# latency_ms metric: each chain's own time) and the sum of all chains (what running them
# one after another would cost). The target is wall <= 1.5 x slowest chain.
#
# Run as root from the source tree, after building:
#   MXDECK=/path/to/build/cli/mxdeck tests/bench/bench-dns.sh [REPETITIONS [DELAY_MS]]
set -u
here=$(cd "$(dirname "$0")" && pwd)
itest=$(cd "$here/../integration" && pwd)
. "$itest/lib.sh"
in_lab_or_reexec --hostname mail.example.test -- "$0" "$@"

REPS=${1:-9}
DELAY=${2:-20}
. "$itest/dns-setup.sh"

# A delaying forwarder on 127.0.0.3:53 (UDP and TCP) in front of the validating unbound.
cat >"$T/delay.py" <<'PROXY'
import socket, socketserver, sys, threading, time
delay = float(sys.argv[1]) / 1000
upstream = ("127.0.0.2", 53)  # the validating unbound (which asks nsd)
class U(socketserver.BaseRequestHandler):
    def handle(self):
        data, sock = self.request
        time.sleep(delay)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(5)
            s.sendto(data, upstream)
            try:
                sock.sendto(s.recv(65535), self.client_address)
            except OSError:
                pass
class T(socketserver.BaseRequestHandler):
    def handle(self):
        c = self.request
        hdr = c.recv(2, socket.MSG_WAITALL)
        if len(hdr) < 2:
            return
        q = c.recv(int.from_bytes(hdr, "big"), socket.MSG_WAITALL)
        time.sleep(delay)
        with socket.create_connection(upstream, timeout=5) as s:
            s.sendall(hdr + q)
            h = s.recv(2, socket.MSG_WAITALL)
            c.sendall(h + s.recv(int.from_bytes(h, "big"), socket.MSG_WAITALL))
for cls, handler in ((socketserver.ThreadingUDPServer, U), (socketserver.ThreadingTCPServer, T)):
    cls.allow_reuse_address = True
    srv = cls(("127.0.0.3", 53), handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
threading.Event().wait()
PROXY
python3 "$T/delay.py" "$DELAY" &
wait_for_port 53 10 127.0.0.3 || fail "the delaying proxy does not start"

printf '[dns]\ndnsbl_zones = bl.lab.test, dbl.lab.test\n' >"$T/mxdeck.conf"
run_once() {
        "$MXDECK" check --format json --config "$T/mxdeck.conf" --resolver 127.0.0.3 --ca-file "$P/ca.pem" \
                --only dns,dnsbl --domain example.test --host mail.example.test --selector mail >"$T/out.json"
        python3 - "$T/out.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
chains = {}
for f in d["findings"]:
    m = f.get("metrics") or {}
    v = m.get("latency_ms")
    if isinstance(v, dict):
        v = v.get("value")
    if v is not None:
        # the findings of one chain share its time: count each chain once
        chain = {"dns.ptr": "dns.host-a", "dns.fcrdns": "dns.host-a", "dns.tlsrpt": "dns.mta-sts"}.get(f["id"], f["id"])
        chains[chain] = max(chains.get(chain, 0), v)
bad = [f["id"] for f in d["findings"] if f["status"] != "ok"]
print(d["duration_ms"], int(max(chains.values())), int(sum(chains.values())), ",".join(bad) or "-")
PY
}

run_once >/dev/null # warm-up
: >"$T/runs"
for _ in $(seq "$REPS"); do
        run_once >>"$T/runs"
done
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
wall=$(cut -d' ' -f1 "$T/runs" | median)
slow=$(cut -d' ' -f2 "$T/runs" | median)
sum=$(cut -d' ' -f3 "$T/runs" | median)
notok=$(cut -d' ' -f4 "$T/runs" | sort -u | tr '\n' ' ')
ratio=$(awk -v a="$wall" -v b="$slow" 'BEGIN { printf("%.2f", (b > 0) ? a / b : 0) }')
printf '%-44s %8s\n' "DNS suite, one domain ($REPS runs, ${DELAY} ms per query)" "median"
printf '%-44s %6s ms\n' "suite wall time (duration_ms)" "$wall"
printf '%-44s %6s ms\n' "slowest single lookup chain (latency_ms)" "$slow"
printf '%-44s %6s ms\n' "sum of all chains (one after another)" "$sum"
printf '%-44s %6s x  (target <= 1.5)\n' "wall / slowest chain" "$ratio"
note "findings not ok: $notok"
if awk -v r="$ratio" 'BEGIN { exit !(r <= 1.5) }'; then
        ok "wall time within 1.5 x the slowest chain"
else
        fail "wall time is $ratio x the slowest chain"
fi
finish
