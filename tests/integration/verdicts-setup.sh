# Shared set-up of check-verdicts.sh and check-verdicts-causes.sh (sourced inside the lab):
# real Postfix and Dovecot with TLS, helpers to run the check and read its JSON, and the
# remedies run as printed.
command -v postfix >/dev/null || skip "Postfix is not installed"
command -v dovecot >/dev/null || skip "Dovecot is not installed"
[ -e /usr/lib/dovecot/pop3-login ] || skip "dovecot-pop3d is not installed"

PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
jq_() { "$PY" "$here/jsonq.py" "$@"; }
T=$(mktemp -d)
. "$here/tls-setup.sh"
# Postfix pauses a service whose smtpd keeps dying for service_throttle_time (60 s); the
# Dovecot-down case waits for it to come back, so keep the pause short here.
postconf -e service_throttle_time=3s
postfix reload >/dev/null 2>&1
wait_for_port 25 10 || fail "postfix did not come back"

# A generous time limit: on a loaded CI machine a 5 s run can turn a finding unknown.
check() {
        "$MXDECK" check --format json --timeout "${TIMEOUT:-15}" --ca-file "$P/ca.pem" "$@" >"$T/out.json"
        echo $? >"$T/rc"
}
step() { note "$(date -u +%T) $*"; }
status_of() { jq_ status "$@" <"$T/out.json"; }
field_of() { jq_ field "$@" <"$T/out.json"; }
# fix ID [TARGET]: runs the finding's commands as printed; a failure is a failed check.
fix() {
        if jq_ run "$@" <"$T/out.json" >"$T/run.log" 2>&1; then
                ok "$1: the remedy's commands ran: $(grep '^\$' "$T/run.log" | tr '\n' ' ')"
        else
                not_ok "$1: the remedy's commands failed: $(tr '\n' ' ' <"$T/run.log")"
        fi
}
reload_all() {
        postfix reload >/dev/null 2>&1
        doveadm reload 2>/dev/null
        sleep 0.7
        for p in 25 587 465 143 993 110 995; do wait_for_port "$p" 10 || fail "nothing listens on $p"; done
}
