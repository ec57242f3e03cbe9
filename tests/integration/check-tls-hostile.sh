#!/usr/bin/env bash
# port.* and tls.* against broken and hostile servers (hostile-server.py) on loopback in a
# lab host: each must give its own clear finding within the time limit, never a hang, a
# memory blow-up or an escape sequence on the terminal.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
in_lab_or_reexec --hostname mail.lab.test -- "$0" "$@"

jq_() { python3 "$here/jsonq.py" "$@"; }
T=$(mktemp -d)
TIMEOUT=3

python3 "$here/hostile-server.py" silent:2501 endless:2502 garbage:2503 imapflood:2504 closehs:2505 \
        wrong:2506 silent:2507 flood:2508 escape:2509 tlsdrop:2510 >"$T/server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null' EXIT
for p in 2501 2502 2503 2504 2505 2506 2507 2508 2509 2510; do
        wait_for_port "$p" 10 || fail "hostile server did not start on $p: $(cat "$T/server.log")"
done

# run_check OUT [ARGS...]: the listener groups against 127.0.0.1, time-limited, timed.
run_check() {
        local out=$1 start end
        shift
        start=$(date +%s%N)
        timeout 30 "$MXDECK" check --only port,tls,smtp,imap,pop3 --connect 127.0.0.1 --host mail.lab.test \
                --timeout "$TIMEOUT" "$@" >"$out"
        echo $? >"$T/rc"
        end=$(date +%s%N)
        elapsed_ms=$(((end - start) / 1000000))
}
status_of() { jq_ status "$@" <"$T/a.json"; }
summary_of() { jq_ field "$1" summary <"$T/a.json"; }

# Round 1: one hostile server per service.
run_check "$T/a.json" --format json --port smtp=2501 --port submission=2502 --port smtps=2503 \
        --port imap=2504 --port imaps=2505 --port pop3=2506 --port pop3s=2507
expect_eq "$(cat "$T/rc")" 2 "hostile round 1: exit status critical"
expect_match "$elapsed_ms" '^[0-9]+$' "hostile round 1: timed"
[ "$elapsed_ms" -le $(((TIMEOUT + 2) * 1000)) ] || fail "hostile round 1 took ${elapsed_ms} ms, limit ${TIMEOUT}s"
ok "hostile round 1 finished in ${elapsed_ms} ms (limit ${TIMEOUT} s)"

expect_eq "$(status_of port.smtp)" critical "silent server: port.smtp"
expect_match "$(summary_of port.smtp)" "no greeting within $TIMEOUT s" "silent server: summary"
expect_eq "$(status_of port.submission)" critical "endless line: port.submission"
expect_match "$(summary_of port.submission)" "longer than 2048 bytes" "endless line: summary"
expect_eq "$(status_of port.smtps)" critical "garbage instead of TLS: port.smtps"
expect_eq "$(status_of tls.smtps.handshake)" critical "garbage instead of TLS: tls.smtps.handshake"
expect_match "$(summary_of tls.smtps.handshake)" "TLS handshake on smtps fails" "garbage: summary"
expect_eq "$(status_of port.imap)" ok "IMAP flood: greeting itself is fine"
expect_eq "$(status_of imap.plaintext-auth)" unknown "IMAP flood: capability unreadable"
expect_match "$(summary_of imap.plaintext-auth)" "more than 256 lines" "IMAP flood: summary"
expect_eq "$(status_of tls.imaps.handshake)" critical "close mid-handshake: tls.imaps.handshake"
expect_match "$(summary_of tls.imaps.handshake)" "closed the connection during the TLS handshake" \
        "close mid-handshake: summary"
expect_eq "$(status_of port.pop3)" critical "HTTP instead of POP3: port.pop3"
expect_match "$(summary_of port.pop3)" "wrong greeting \\(want \\+OK\\): HTTP/1.1 400" "wrong greeting: summary"
expect_eq "$(status_of port.pop3s)" critical "silent implicit-TLS server: port.pop3s"
expect_match "$(summary_of port.pop3s)" "does not complete TLS within the time limit" "silent TLS: summary"

# Round 2: a 10,000-line greeting, escape sequences, and a port nobody listens on.
run_check "$T/a.json" --format json --port smtp=2508 --port submission=2509 --port smtps=2599 \
        --port imap=2598 --port imaps=2597 --port pop3=2596 --port pop3s=2595
[ "$elapsed_ms" -le $(((TIMEOUT + 2) * 1000)) ] || fail "hostile round 2 took ${elapsed_ms} ms"
ok "hostile round 2 finished in ${elapsed_ms} ms"
expect_eq "$(status_of port.smtp)" critical "10,000-line greeting: port.smtp"
expect_match "$(summary_of port.smtp)" "more than 256 lines" "10,000-line greeting: summary"
expect_eq "$(status_of port.submission)" ok "escape banner: a 220 greeting all the same"
expect_eq "$(status_of smtp.auth-before-tls :2509)" critical "escape server: AUTH before STARTTLS on submission"
# A greeting that never ends: the findings past port.smtp are still there, unknown, saying why.
expect_eq "$(status_of smtp.open-relay)" unknown "10,000-line greeting: smtp.open-relay still reported"
expect_eq "$(status_of tls.smtp.expiry)" unknown "10,000-line greeting: tls.smtp.expiry still reported"
expect_match "$(summary_of smtp.starttls)" "^not tested: port 2508 sent no valid greeting" "10,000-line greeting: why"
# Refused ports given with --port are probed and judged, and their findings stay.
expect_eq "$(status_of imap.plaintext-auth)" unknown "refused imap: imap.plaintext-auth unknown"
expect_match "$(summary_of imap.plaintext-auth)" "^not tested: port 2598 refused the connection" "refused imap: why"
expect_eq "$(status_of tls.pop3s.chain)" unknown "refused pop3s: tls.pop3s.chain unknown"
expect_eq "$(status_of tls.submission.handshake)" critical "escape server: no STARTTLS"
expect_match "$(summary_of tls.submission.handshake)" "does not offer STARTTLS" "no STARTTLS: summary"
expect_eq "$(status_of port.smtps)" critical "refused port: port.smtps"
expect_match "$(summary_of port.smtps)" "refuses connections" "refused port: summary"

# Round 3: STARTTLS accepted, then a reset: the write of the ClientHello fails (EPIPE or
# ECONNRESET), which must be a finding and never a SIGPIPE that kills mxdeck.
run_check "$T/a.json" --format json --port smtp=2510 --port submission=2510 --port smtps=2599 \
        --port imap=2598 --port imaps=2597 --port pop3=2596 --port pop3s=2595
expect_eq "$(cat "$T/rc")" 2 "reset after STARTTLS: mxdeck survives, exit status critical"
expect_eq "$(status_of tls.smtp.handshake)" critical "reset after STARTTLS: tls.smtp.handshake"
expect_eq "$(status_of tls.submission.handshake)" critical "reset after STARTTLS: tls.submission.handshake"

# The same as text, with details: nothing from the servers reaches the terminal raw.
run_check "$T/a.txt" -v --port smtp=2508 --port submission=2509 --port smtps=2503 --port imap=2504 \
        --port imaps=2505 --port pop3=2506 --port pop3s=2507
expect_no_escape "$T/a.txt" "hostile text report"
expect_match "$(grep -c 'greeting: 220 mail.lab.test' "$T/a.txt")" '^[1-9]' "escape banner shown, made safe"

finish
