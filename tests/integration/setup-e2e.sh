#!/usr/bin/env bash
# mxdeck setup end to end in a lab host, against real Postfix, Dovecot and journald, from
# Debian's "No configuration" state (packages installed, no main.cf):
#   setup --yes -> verified, mail submitted on 587 (STARTTLS + AUTH) is fetched over IMAPS
#   -> a second run changes nothing -> the administrator edits a managed and an unmanaged
#   setting -> a third run keeps both and reports the conflict on the managed one ->
#   rollback -> every file under /etc byte-identical (content, mode, owner) to before.
# MODE=virtual (default) or MODE=system (the first argument).
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
MODE=${1:-virtual}
in_lab_or_reexec --hostname mail.lab.test -- "$0" "$MODE"

T=$(mktemp -d /root/mxdeck-e2e.XXXXXX)
pw='c0rrect-Horse-battery'
if [ "$MODE" = virtual ]; then
        user=alice@lab.test
        section='[user alice]'
else
        user=bob
        section='[user bob]'
fi
printf '%s\n' "$pw" >"$T/user.pw"
chmod 600 "$T/user.pw"
cat >"$T/answers.ini" <<EOF
[server]
hostname = mail.lab.test
domain = lab.test

[users]
mode = $MODE

$section
password_file = $T/user.pw
aliases = info

[dovecot]
quota = 50M

; DKIM has its own lab test (setup-dkim.sh)
[dkim]
enabled = no
EOF

# Debian's "No configuration": the package is installed, main.cf is not there.
rm -f /etc/postfix/main.cf
postfix stop >/dev/null 2>&1 || true

# snapshot FILE: content hash, mode and owner of every file under /etc.
snapshot() {
        python3 - "$1" <<'PY'
import hashlib, os, stat, sys
out = []
for top in ("/etc",):
    for d, dirs, files in os.walk(top):
        dirs.sort()
        for name in sorted(files + [x for x in dirs if os.path.islink(os.path.join(d, x))]):
            p = os.path.join(d, name)
            st = os.lstat(p)
            if stat.S_ISLNK(st.st_mode):
                what = "-> " + os.readlink(p)
            elif stat.S_ISREG(st.st_mode):
                with open(p, "rb") as f:
                    what = hashlib.sha256(f.read()).hexdigest()
            else:
                what = "special"
            out.append("%s %o %d:%d %s" % (p, stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid, what))
open(sys.argv[1], "w").write("\n".join(out) + "\n")
PY
}
snapshot "$T/before"

# 1. dry run: the plan, nothing changed
"$MXDECK" setup --answers "$T/answers.ini" --dry-run >"$T/dry.out" 2>&1
expect_eq "$?" 0 "dry run with changes pending: exit 0"
expect_match "$(cat "$T/dry.out")" "\+\+\+ b/etc/postfix/main.cf" "dry run shows a diff of main.cf"
expect_match "$(cat "$T/dry.out")" "postconf -e myhostname=mail.lab.test" "dry run shows the commands"
if grep -q "$pw" "$T/dry.out"; then not_ok "the password appears in the plan"; else ok "no password in the plan"; fi
snapshot "$T/after-dry"
if cmp -s "$T/before" "$T/after-dry"; then ok "dry run changed nothing"; else not_ok "dry run changed files: $(diff "$T/before" "$T/after-dry" | head -5)"; fi

# 2. without --yes and without a terminal: refused
"$MXDECK" setup --answers "$T/answers.ini" </dev/null >/dev/null 2>"$T/err"
expect_eq "$?" 5 "no --yes, no terminal: refused"

# 3. apply
"$MXDECK" setup --answers "$T/answers.ini" --yes --format json >"$T/run1.json" 2>"$T/run1.log"
rc=$?
expect_eq "$rc" 0 "first run: changed and verified"
[ "$rc" = 0 ] || { tail -30 "$T/run1.log"; fail "setup failed"; }
tx1=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["transaction"])' <"$T/run1.json")
expect_match "$tx1" '^[0-9]{8}-[0-9]{6}-[0-9a-f]{4}$' "transaction id"
expect_match "$(grep -c 'checks, 0 critical' "$T/run1.log")" '^1$' "verification: the local checks pass"
expect_match "$(cat "$T/run1.log")" "round trip: submitted on 587 \(STARTTLS, AUTH as $user\), delivered, fetched over IMAPS, deleted" \
        "verification: mxdeck's own round trip"
if grep -q "differs from the preview" "$T/run1.log"; then
        not_ok "postconf wrote something other than the preview: $(grep 'differs' "$T/run1.log")"
else
        ok "main.cf and master.cf came out exactly as previewed"
fi
expect_eq "$(stat -c %a /etc/ssl/private/mxdeck.key)" 600 "private key 0600"
expect_eq "$(postconf -h myhostname)" mail.lab.test "myhostname set"
expect_eq "$(doveadm quota get -u "$user" 2>&1 | awk '$3 == "STORAGE" { print $5 }')" 51200 \
        "the mailbox quota is in force (doveadm quota get: 50M = 51200 KiB)"
expect_eq "$(postconf -Ph submission/inet/smtpd_tls_security_level)" encrypt "submission requires TLS"
if [ "$MODE" = virtual ]; then
        expect_eq "$(stat -c '%a %U:%G' /etc/dovecot/users)" "640 root:dovecot" "passwd-file mode and owner"
        expect_match "$(cat /etc/dovecot/users)" '^alice@lab.test:\{SHA512-CRYPT\}\$6\$' "SHA512-CRYPT hash"
fi
if grep -rqs -D skip -F "$pw" /etc /var/lib/mxdeck; then not_ok "the password is stored in clear"; else ok "no clear password on disk"; fi
journal_has_tx() { journalctl -q --no-pager "MXDECK_TRANSACTION=$tx1" -o cat 2>/dev/null | grep -q "setup done"; }
if wait_for 5 journal_has_tx; then ok "audit records in the journal with MXDECK_TRANSACTION"; else not_ok "no audit record for $tx1"; fi
# nothing mxdeck (or a tool it ran) sent to the journal holds the password: every field of
# every entry since the run began, the transaction's records included
journalctl -q --no-pager -o export --since "@$(stat -c %Y "$T/user.pw")" >"$T/journal.export" 2>/dev/null
[ -s "$T/journal.export" ] || not_ok "the journal export is empty: the search below would prove nothing"
if grep -aqF "$pw" "$T/journal.export"; then not_ok "the password is in the journal"; else
        ok "the password is in none of the $(grep -ac '^__CURSOR=' "$T/journal.export") journal entries since the run began"; fi

# 4. a real round trip: submit on 587 with STARTTLS + AUTH, fetch over IMAPS
python3 - "$user" "$T/user.pw" <<'PY' >"$T/roundtrip.out" 2>&1
import imaplib, smtplib, ssl, sys, time, uuid
user, pwfile = sys.argv[1], sys.argv[2]
pw = open(pwfile).read().strip()
# the certificate is checked on its own below; here the dialogue is what is tested
tag = uuid.uuid4().hex
with smtplib.SMTP("127.0.0.1", 587, local_hostname="client.lab.test", timeout=20) as s:
    s.ehlo()
    s.starttls(context=ssl._create_unverified_context())
    s.ehlo()
    s.login(user, pw)
    s.sendmail("info@lab.test" if "@" in user else user + "@lab.test", ["info@lab.test"],
               "From: t@lab.test\r\nTo: info@lab.test\r\nSubject: %s\r\n\r\nhello\r\n" % tag)
deadline = time.time() + 30
while time.time() < deadline:
    c = imaplib.IMAP4_SSL("127.0.0.1", 993, ssl_context=ssl._create_unverified_context(), timeout=20)
    c.login(user, pw)
    c.select("INBOX")
    typ, data = c.search(None, "SUBJECT", tag)
    if data[0]:
        c.store(data[0].split()[0], "+FLAGS", "\\Deleted")
        c.expunge()
        c.logout()
        print("delivered")
        sys.exit(0)
    c.logout()
    time.sleep(0.2)
print("not delivered within 30 s")
sys.exit(1)
PY
expect_eq "$(tail -1 "$T/roundtrip.out")" delivered "submitted on 587 with AUTH, delivered to the alias, fetched over IMAPS"
python3 - <<'PY' >"$T/tls.out" 2>&1
import socket, ssl
ctx = ssl.create_default_context(cafile="/etc/ssl/certs/mxdeck.pem")
with socket.create_connection(("127.0.0.1", 993), timeout=10) as s:
    with ctx.wrap_socket(s, server_hostname="mail.lab.test") as t:
        print(t.version())
PY
expect_match "$(cat "$T/tls.out")" "^TLSv1\.[23]$" "IMAPS certificate verifies for mail.lab.test"

snapshot "$T/after1"

# 5. second run: nothing to change, no new transaction
"$MXDECK" setup --answers "$T/answers.ini" --yes --format json >"$T/run2.json" 2>"$T/run2.log"
expect_eq "$?" 3 "second run: nothing to change (exit 3)"
expect_eq "$(python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["status"], len(d["changed_steps"]), "transaction" in d)' <"$T/run2.json")" \
        "unchanged 0 False" "second run: JSON says unchanged, no transaction"
snapshot "$T/after2"
if cmp -s "$T/after1" "$T/after2"; then ok "second run changed no file"; else not_ok "second run changed: $(diff "$T/after1" "$T/after2" | head -5)"; fi

# 6. the administrator edits a managed and an unmanaged setting
postconf -e 'smtpd_tls_auth_only = no' 'delay_warning_time = 4h'
"$MXDECK" setup --answers "$T/answers.ini" --yes --format json >"$T/run3.json" 2>"$T/run3.log"
expect_eq "$?" 3 "third run: nothing changed (the conflict is kept)"
expect_eq "$(python3 -c 'import json,sys; d=json.load(sys.stdin); print(";".join(c["what"]+"="+str(c["theirs"])+"/"+c["resolution"] for c in d["conflicts"]))' <"$T/run3.json")" \
        "main.cf smtpd_tls_auth_only=no/theirs" "third run reports the conflict on the managed setting"
expect_match "$(cat "$T/run3.log")" "conflict.*smtpd_tls_auth_only" "the plan shows the conflict"
expect_eq "$(postconf -h smtpd_tls_auth_only)" no "their value of the managed setting is kept"
expect_eq "$(postconf -h delay_warning_time)" 4h "the unmanaged setting is kept"
"$MXDECK" setup --answers "$T/answers.ini" --yes --on-conflict ours >"$T/run4.log" 2>&1
expect_eq "$?" 0 "--on-conflict ours: changed"
expect_eq "$(postconf -h smtpd_tls_auth_only)" yes "ours taken on request"
expect_eq "$(postconf -h delay_warning_time)" 4h "the unmanaged setting is still kept"

# 7. history and rollback of everything mxdeck did
"$MXDECK" history >"$T/history"
expect_match "$(head -1 "$T/history")" "^$tx1 .* ok " "history lists the first transaction"
expect_match "$(cat "$T/history")" "file +/etc/postfix/main.cf" "history lists the files"
# the administrator stopped Postfix before rolling back: undoing "postfix start" finds it
# stopped already, which is what it wanted (it must not fail the rollback of the rest)
postfix stop >/dev/null 2>&1 || not_ok "could not stop Postfix before the rollback"
"$MXDECK" rollback "$tx1" >"$T/rollback.out" 2>&1
rc=$?; expect_eq "$rc" 0 "rollback$([ "$rc" = 0 ] || printf ": %s" "$(tr "\n" "|" <"$T/rollback.out")")"
expect_match "$(cat "$T/rollback.out")" "postfix (stop|reload): it was not running" "rollback: Postfix stopped by hand is not an error"
# the admin's own edit after mxdeck (delay_warning_time) goes with the rollback of the
# transactions after it: rollback returns every file to its state before $tx1
snapshot "$T/after-rollback"
if cmp -s "$T/before" "$T/after-rollback"; then
        ok "after rollback every file under /etc is byte-identical (content, mode, owner)"
else
        not_ok "rollback left differences: $(diff "$T/before" "$T/after-rollback" | head -10)"
fi
if [ "$MODE" = virtual ]; then
        # mail data is never removed: the mail store that received the test message stays
        expect_match "$(cat "$T/rollback.out")" "kept /var/vmail: it is not empty" "rollback keeps the mail store with mail in it"
fi
pgrep -x master >/dev/null && not_ok "postfix still running after rollback" || ok "postfix stopped again"
"$MXDECK" rollback >/dev/null 2>&1
expect_eq "$?" 3 "nothing left to roll back"
postfix stop >/dev/null 2>&1
doveadm stop >/dev/null 2>&1
finish
