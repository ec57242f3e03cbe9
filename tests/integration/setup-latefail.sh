#!/usr/bin/env bash
# mxdeck setup failing in a late step, after users, postfix and dovecot were applied, in a
# lab host with real Postfix and Dovecot; one lab, two failures an administrator meets:
#   - virtual users, port 993 held by another program (an old IMAPS proxy that accepts and
#     speaks no TLS): Dovecot cannot bind it, services sees the port answer, verify fails;
#   - system users (useradd: passwd, shadow, group, gshadow, subuid, subgid change), port
#     465 held by another program: Postfix's master cannot bind it and exits, nothing
#     answers on 25, services fails.
# Each time: exit 1, the message names the step, the error and the rollback command, the
# JSON lists the steps that changed; then `mxdeck rollback` leaves every file under /etc,
# and the homes and mail stores, byte-identical (content, mode, owner) to before.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
in_lab_or_reexec --hostname mail.lab.test -- "$0" "$@"

T=$(mktemp -d /root/mxdeck-latefail.XXXXXX)
printf 'An0ther-pass\n' >"$T/pw"
chmod 600 "$T/pw"
answers() { # MODE USER
        printf '[server]\nhostname = mail.lab.test\ndomain = lab.test\n[users]\nmode = %s\n[user %s]\npassword_file = %s\naliases = info\n[dkim]\nenabled = no\n' \
                "$1" "$2" "$T/pw" >"$T/answers-$1.ini"
}
answers virtual alice@lab.test
answers system bob

# Debian's "No configuration": the package is installed, main.cf is not there.
rm -f /etc/postfix/main.cf
postfix stop >/dev/null 2>&1
doveadm stop >/dev/null 2>&1

# snapshot FILE: path, mode, owner and content hash of every file, directory and link
# under /etc and where mail and homes live.
snapshot() {
        python3 - "$1" <<'PY'
import hashlib, os, stat, sys
out = []
for top in ("/etc", "/home", "/var/mail", "/var/vmail"):
    if not os.path.lexists(top):
        continue
    for d, dirs, files in os.walk(top):
        for name in files + dirs:
            p = os.path.join(d, name)
            st = os.lstat(p)
            if stat.S_ISREG(st.st_mode):
                what = hashlib.sha256(open(p, "rb").read()).hexdigest()
            elif stat.S_ISLNK(st.st_mode):
                what = "-> " + os.readlink(p)
            elif stat.S_ISDIR(st.st_mode):
                if top == "/etc":
                    continue
                what = "dir"
            else:
                what = "special"
            out.append("%s %o %d:%d %s" % (p, stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid, what))
    if top != "/etc":
        st = os.lstat(top)
        out.append("%s %o %d:%d dir" % (top, stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid))
open(sys.argv[1], "w").write("\n".join(sorted(out)) + "\n")
PY
}

daemons_gone() { ! pgrep -x master >/dev/null && ! pgrep -x dovecot >/dev/null; }

# scenario NAME MODE STEP ERROR_ERE: runs setup with the port holder already started
scenario() {
        local name=$1 mode=$2 step=$3 ere=$4 rc tx
        snapshot "$T/before-$name"
        "$MXDECK" setup --answers "$T/answers-$mode.ini" --yes --format json >"$T/$name.json" 2>"$T/$name.err"
        rc=$?
        expect_eq "$rc" 1 "$name: setup fails with exit 1"
        tx=$(python3 -c 'import json,sys; print(json.load(sys.stdin).get("transaction",""))' <"$T/$name.json")
        expect_match "$tx" '^[0-9]{8}-[0-9]{6}-[0-9a-f]{4}$' "$name: a transaction was started"
        expect_match "$(grep '^mxdeck setup: step' "$T/$name.err")" "^mxdeck setup: step $step failed: $ere" \
                "$name: the message names the step and the error"
        expect_match "$(cat "$T/$name.err")" "Undo what was done so far with: mxdeck rollback $tx" \
                "$name: the message names the rollback command"
        expect_eq "$(python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["status"], d["failed_step"], d["rollback"])' <"$T/$name.json")" \
                "failed $step mxdeck rollback $tx" "$name: JSON status, failed_step, rollback"
        expect_match "$(python3 -c 'import json,sys; print(" ".join(json.load(sys.stdin)["changed_steps"]))' <"$T/$name.json")" \
                "users postfix dovecot .*services" "$name: JSON changed_steps"
        [ "$rc" = 1 ] || tail -20 "$T/$name.err" | sed 's/^/# /'
        "$MXDECK" rollback >"$T/$name.rb" 2>&1
        rc=$?
        expect_eq "$rc" 0 "$name: rollback"
        [ "$rc" = 0 ] || sed 's/^/# /' "$T/$name.rb" | tail -8
        postfix stop >/dev/null 2>&1
        doveadm stop >/dev/null 2>&1
        wait_for 10 daemons_gone || not_ok "$name: daemons still running"
        snapshot "$T/after-$name"
        if cmp -s "$T/before-$name" "$T/after-$name"; then
                ok "$name: every file under /etc, /home, /var/mail, /var/vmail back byte for byte"
        else
                not_ok "$name: differences after rollback:"
                diff "$T/before-$name" "$T/after-$name" | head -20 | sed 's/^/# /'
        fi
}

# 1. port 993 held by a program that accepts and speaks no TLS
python3 -c '
import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 993)); s.listen(16)
while True:
    c, _ = s.accept(); c.sendall(b"* OK old proxy\r\n"); c.close()
' &
holder=$!
wait_for_port 993 10 || fail "the port holder does not listen on 993"
scenario imaps-held virtual verify "verification failed: [0-9]+ critical, the first: "
kill "$holder"; wait "$holder" 2>/dev/null

# 2. port 465 held by another program (an old stunnel for SMTPS; preflight looks at 25
#    and 587 only)
python3 -c '
import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 465)); s.listen(16)
while True:
    c, _ = s.accept(); c.sendall(b"421 old proxy\r\n"); c.close()
' &
holder=$!
wait_for_port 465 10 || fail "the port holder does not listen on 465"
scenario smtps-held system services "verification failed: nothing answers on port 25"
kill "$holder"; wait "$holder" 2>/dev/null
finish
