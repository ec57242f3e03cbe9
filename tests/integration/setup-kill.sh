#!/usr/bin/env bash
# mxdeck setup killed with SIGKILL during apply, at several steps, in a lab host with real
# Postfix and Dovecot: a re-run converges (verified), and rolling back every transaction
# (the killed one included) leaves every file under /etc byte-identical to before. Also a
# killed run rolled back directly, without a re-run.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
in_lab_or_reexec --hostname mail.lab.test -- "$0" "$@"

T=$(mktemp -d /root/mxdeck-kill.XXXXXX)
printf 'An0ther-pass\n' >"$T/pw"
chmod 600 "$T/pw"
# DKIM has its own lab test (setup-dkim.sh, with its rollback); left out here to keep
# this one's time
printf '[server]\nhostname = mail.lab.test\ndomain = lab.test\n[users]\nmode = virtual\n[user alice]\npassword_file = %s\n[dkim]\nenabled = no\n' \
        "$T/pw" >"$T/answers.ini"
rm -f /etc/postfix/main.cf

snapshot() {
        python3 -c '
import hashlib, os, stat, sys
out = []
for d, dirs, files in os.walk("/etc"):
    for name in files + [x for x in dirs if os.path.islink(os.path.join(d, x))]:
        p = os.path.join(d, name)
        st = os.lstat(p)
        if stat.S_ISREG(st.st_mode):
            what = hashlib.sha256(open(p, "rb").read()).hexdigest()
        elif stat.S_ISLNK(st.st_mode):
            what = "-> " + os.readlink(p)
        else:
            what = "special"
        out.append("%s %o %d:%d %s" % (p, stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid, what))
open(sys.argv[1], "w").write("\n".join(sorted(out)) + "\n")
' "$1"
}
snapshot "$T/before"

daemons_gone() { ! pgrep -x master >/dev/null && ! pgrep -x dovecot >/dev/null; }
stop_daemons() {
        postfix stop >/dev/null 2>&1
        doveadm stop >/dev/null 2>&1
        wait_for 10 daemons_gone
}

# kill_at STEP: starts setup, SIGKILLs it as soon as it reports STEP started.
kill_at() {
        : >"$T/out"
        "$MXDECK" setup --answers "$T/answers.ini" --yes >"$T/out" 2>&1 &
        local pid=$!
        if wait_for 60 grep -q "^==> $1\$" "$T/out"; then
                kill -9 "$pid" 2>/dev/null
                wait "$pid" 2>/dev/null
                return 0
        fi
        wait "$pid" 2>/dev/null
        return 1
}

history_field() {
        "$MXDECK" history --format json | python3 -c "import json,sys; print(json.load(sys.stdin)[0][\"$1\"])"
}

for step in users postfix services; do
        kill_at "$step" || { not_ok "setup never reached $step: $(tail -3 "$T/out")"; continue; }
        expect_eq "$(history_field status)" incomplete "killed at $step: history says incomplete"
        "$MXDECK" setup --answers "$T/answers.ini" --yes >"$T/rerun" 2>&1
        rc=$?
        expect_eq "$rc" 0 "killed at $step: a re-run converges and verifies"
        [ "$rc" = 0 ] || tail -15 "$T/rerun"
        "$MXDECK" setup --answers "$T/answers.ini" --yes >/dev/null 2>&1
        expect_eq "$?" 3 "killed at $step: then nothing is left to change"
        "$MXDECK" rollback "$(history_field id)" >"$T/rb" 2>&1
        rc=$?
        expect_eq "$rc" 0 "killed at $step: rollback of both transactions"
        [ "$rc" = 0 ] || sed "s/^/# /" "$T/rb" | tail -8
        stop_daemons
        rmdir /var/vmail 2>/dev/null
        snapshot "$T/after"
        if cmp -s "$T/before" "$T/after"; then
                ok "killed at $step: every file back byte for byte"
        else
                not_ok "killed at $step: differences after rollback: $(diff "$T/before" "$T/after" | head -6) main.cf: $(head -c 300 /etc/postfix/main.cf 2>/dev/null | tr "\n" "|") rollback said: $(tr "\n" "|" <"$T/rb")"
        fi
        rm -rf /var/lib/mxdeck
done

# killed, then rolled back directly
kill_at postfix || fail "setup never reached postfix"
"$MXDECK" rollback >"$T/rb" 2>&1
expect_eq "$?" 0 "killed at postfix: rollback without a re-run"
stop_daemons
snapshot "$T/after"
if cmp -s "$T/before" "$T/after"; then
        ok "killed at postfix, rolled back: every file back byte for byte"
else
        not_ok "killed then rolled back: $(diff "$T/before" "$T/after" | head -6)"
fi
finish
