#!/usr/bin/env bash
# mxdeck users in a lab host, against real Postfix and Dovecot, in one user mode (the first
# argument: virtual or system): setup with one user -> users add carol -> carol logs in over
# IMAPS and gets mail on port 25 -> passwd: the old password fails, the new one works -> a
# setup re-run changes nothing and keeps carol -> del: the login fails -> rollback: it works
# again -> rolling back every users transaction returns /etc byte for byte to the state
# after setup. The password never appears in argv, the plan, the journal or /etc.
# In virtual mode the same lab host also tests the cert.renewal finding: the certificate
# file replaced (a renewal) -> "renewed but not reloaded" with the reload commands -> the
# commands run -> ok.
set -u
here=$(cd "$(dirname "$0")" && pwd)
# two setup runs and more in one lab: more than lib.sh's default bound (meson allows 450 s)
export LAB_TIMEOUT=${LAB_TIMEOUT:-420}
. "$here/lib.sh"
MODE=${1:-virtual}
in_lab_or_reexec --hostname mail.lab.test -- "$0" "$MODE"

T=$(mktemp -d /root/mxdeck-users.XXXXXX)
pw0='first-Us3r-password'
pw1='carol-0ld-passw0rd'
pw2='carol-n3w-passw0rd'
if [ "$MODE" = virtual ]; then
        first=alice@lab.test; section='[user alice]'; carol=carol@lab.test
else
        first=bob; section='[user bob]'; carol=carol
fi
printf '%s\n' "$pw0" >"$T/user.pw"
chmod 600 "$T/user.pw"
cat >"$T/answers.ini" <<EOF
[server]
hostname = mail.lab.test
domain = lab.test

[users]
mode = $MODE

$section
password_file = $T/user.pw
EOF
rm -f /etc/postfix/main.cf
postfix stop >/dev/null 2>&1 || true

snapshot() {
        python3 - "$1" <<'PY'
import hashlib, os, stat, sys
out = []
for d, dirs, files in os.walk("/etc"):
    dirs.sort()
    for name in sorted(files):
        p = os.path.join(d, name)
        st = os.lstat(p)
        what = hashlib.sha256(open(p, "rb").read()).hexdigest() if stat.S_ISREG(st.st_mode) else "other"
        out.append("%s %o %d:%d %s" % (p, stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid, what))
open(sys.argv[1], "w").write("\n".join(out) + "\n")
PY
}

# login USER PASSWORD: "ok" or "refused" from an IMAPS login (the certificate is
# self-signed; the login is what is tested)
login() {
        python3 - "$1" "$2" <<'PY'
import imaplib, ssl, sys
c = imaplib.IMAP4_SSL("127.0.0.1", 993, ssl_context=ssl._create_unverified_context(), timeout=20)
try:
    c.login(sys.argv[1], sys.argv[2])
    print("ok")
    c.logout()
except imaplib.IMAP4.error:
    print("refused")
PY
}

"$MXDECK" setup --answers "$T/answers.ini" --yes >"$T/setup.log" 2>&1
rc=$?
expect_eq "$rc" 0 "setup ($MODE)"
[ "$rc" = 0 ] || { tail -30 "$T/setup.log"; fail "setup failed"; }
snapshot "$T/after-setup"

# list
"$MXDECK" users list >"$T/list1"
expect_eq "$?" 0 "users list"
# system mode: every account in the login range is a mailbox (the lab's host may have some)
others=0
[ "$MODE" = system ] && others=$(getent passwd | awk -F: '$3 >= 1000 && $3 <= 59999 && $1 != "bob"' | wc -l)
expect_match "$(cat "$T/list1")" "^$((others + 1)) user\(s\), $MODE mode" "list: the mode setup recorded, the user of the answers file"
expect_match "$(cat "$T/list1")" "  $first " "list: the user of the answers file"

# refusals: nothing changes
printf '%s\n' "$pw1" | "$MXDECK" users add "$first" --password-stdin >"$T/dup.out" 2>&1
expect_eq "$?" 2 "add of an existing user: refused"
expect_match "$(cat "$T/dup.out")" "exists already.*nothing was changed" "refusal says why"
printf 'short\n' | "$MXDECK" users add carol --password-stdin >"$T/short.out" 2>&1
expect_eq "$?" 2 "a password shorter than 8: refused"
"$MXDECK" users add carol </dev/null >"$T/notty.out" 2>&1
expect_eq "$?" 2 "no terminal and no --password-stdin: refused"
expect_match "$(cat "$T/notty.out")" "use --password-stdin" "says how"
"$MXDECK" users add 'Carol' --password-stdin </dev/null >"$T/upper.out" 2>&1
expect_eq "$?" 2 "an upper-case name: refused"
if [ "$MODE" = virtual ]; then
        printf '%s\n' "$pw1" | "$MXDECK" users add carol@elsewhere.test --password-stdin >"$T/dom.out" 2>&1
        expect_eq "$?" 2 "an address outside the mail domains: refused"
        expect_match "$(cat "$T/dom.out")" "not in a mail domain of this server \(lab.test\)" "names the domains"
else
        "$MXDECK" users del postfix >"$T/sys.out" 2>&1
        expect_eq "$?" 2 "del of a system account: refused"
fi
snapshot "$T/after-refusals"
if cmp -s "$T/after-setup" "$T/after-refusals"; then ok "the refusals changed nothing"; else not_ok "refusals changed: $(diff "$T/after-setup" "$T/after-refusals" | head -5)"; fi
expect_eq "$(ls /var/lib/mxdeck/transactions | wc -l)" 1 "no transaction for a refusal"

# add
printf '%s\n' "$pw1" | "$MXDECK" users add carol --password-stdin >"$T/add.out" 2>&1
rc=$?
expect_eq "$rc" 0 "users add carol"
[ "$rc" = 0 ] || cat "$T/add.out"
tx_add=$(sed -n 's/^Done: transaction \([^ ]*\).*/\1/p' "$T/add.out")
expect_match "$tx_add" '^[0-9]{8}-[0-9]{6}-[0-9a-f]{4}$' "add is a transaction"
expect_eq "$(login "$carol" "$pw1")" ok "carol logs in over IMAPS"
if [ "$MODE" = virtual ]; then
        expect_match "$(grep "^$carol:" /etc/dovecot/users)" "^$carol:\{SHA512-CRYPT\}\\\$6\\\$" "SHA512-CRYPT in the passwd-file"
        expect_eq "$(stat -c '%a %U:%G' /etc/dovecot/users)" "640 root:dovecot" "passwd-file keeps its mode and owner"
        expect_eq "$(grep -c "^$carol OK$" /etc/postfix/mxdeck-mailboxes)" 1 "in Postfix's mailbox table"
else
        expect_eq "$(getent passwd carol | cut -d: -f7)" /usr/sbin/nologin "nologin shell"
        [ -d /home/carol ] && ok "home directory created" || not_ok "no /home/carol"
fi
# Postfix takes mail for the new mailbox (the table is reloaded)
accepts() {
        python3 - "$1" <<'PY'
import smtplib, sys
with smtplib.SMTP("127.0.0.1", 25, local_hostname="client.lab.test", timeout=20) as s:
    s.ehlo()
    code, _ = s.mail("someone@client.lab.test")
    code, msg = s.rcpt(sys.argv[1] if "@" in sys.argv[1] else sys.argv[1] + "@lab.test")
    print(code)
PY
}
expect_eq "$(accepts "$carol")" 250 "port 25 accepts mail for carol"

# passwd
printf '%s\n' "$pw2" | "$MXDECK" users passwd carol --password-stdin >"$T/passwd.out" 2>&1
expect_eq "$?" 0 "users passwd carol"
expect_eq "$(login "$carol" "$pw1")" refused "the old password fails"
expect_eq "$(login "$carol" "$pw2")" ok "the new password works"
expect_eq "$(login "$first" "$pw0")" ok "the first user is untouched"

# a setup re-run keeps carol and changes nothing
"$MXDECK" setup --answers "$T/answers.ini" --yes >"$T/setup2.log" 2>&1
expect_eq "$?" 3 "setup re-run after users add: nothing to change"
expect_eq "$(login "$carol" "$pw2")" ok "carol still logs in after a setup re-run"

"$MXDECK" users list --format json >"$T/list2.json"
expect_eq "$(python3 -c '
import json, sys
names = [u["name"] for u in json.load(sys.stdin)]
print(all(n in names for n in sys.argv[1:]), names == sorted(names))' "$first" "$carol" <"$T/list2.json")" "True True" "list --format json: both users, sorted"

# del, then rollback of the del
"$MXDECK" users del carol >"$T/del.out" 2>&1
expect_eq "$?" 0 "users del carol"
expect_match "$(cat "$T/del.out")" "stay" "del says the mail stays"
expect_eq "$(login "$carol" "$pw2")" refused "carol cannot log in after del"
"$MXDECK" rollback >"$T/rb1.out" 2>&1
expect_eq "$?" 0 "rollback of the del"
expect_eq "$(login "$carol" "$pw2")" ok "after rollback carol logs in again"

# history lists the users transactions
"$MXDECK" history >"$T/history"
expect_match "$(cat "$T/history")" "mxdeck users add carol" "history: the add"
expect_match "$(cat "$T/history")" "mxdeck users passwd carol" "history: the passwd"
expect_match "$(cat "$T/history")" "rolled back +mxdeck users del carol" "history: the del, rolled back"

# no secret anywhere
if grep -rqs -D skip -F -e "$pw1" -e "$pw2" /etc /var/lib/mxdeck; then not_ok "a password is stored in clear"; else ok "no clear password on disk"; fi
if journalctl -q --no-pager -o cat 2>/dev/null | grep -q -F -e "$pw1" -e "$pw2"; then not_ok "a password in the journal"; else ok "no password in the journal"; fi
if grep -q -F -e "$pw1" -e "$pw2" "$T"/*.out; then not_ok "a password in the output"; else ok "no password in the output"; fi

# rollback of everything since the add: /etc as setup left it
"$MXDECK" rollback "$tx_add" >"$T/rb2.out" 2>&1
expect_eq "$?" 0 "rollback of the add and what followed"
expect_eq "$(login "$carol" "$pw2")" refused "carol is gone"
snapshot "$T/after-rollback"
if cmp -s "$T/after-setup" "$T/after-rollback"; then
        ok "every file under /etc byte-identical to after setup (content, mode, owner)"
else
        not_ok "rollback left differences: $(diff "$T/after-setup" "$T/after-rollback" | head -10)"
fi
expect_eq "$(login "$first" "$pw0")" ok "the first user still logs in"

if [ "$MODE" = virtual ]; then
        jq_() { python3 "$here/jsonq.py" "$@"; }
        "$MXDECK" check --only cert --format json >"$T/cert1.json" 2>/dev/null
        expect_eq "$(jq_ status cert.renewal /etc/ssl/certs/mxdeck.pem <"$T/cert1.json")" ok "cert.renewal ok after setup"
        expect_eq "$(python3 -c 'import json,sys; print(sorted(f["status"] for f in json.load(sys.stdin)["findings"] if f["id"] == "cert.renewal"))' <"$T/cert1.json")" \
                "['ok', 'ok']" "cert.renewal: Postfix and Dovecot both ok"
        # a renewal: a new certificate for the same key, written over the file
        cp -p /etc/ssl/certs/mxdeck.pem "$T/cert.orig"
        openssl req -x509 -new -key /etc/ssl/private/mxdeck.key -subj /CN=mail.lab.test \
                -addext subjectAltName=DNS:mail.lab.test -days 90 -out "$T/renewed.pem" 2>/dev/null
        cat "$T/renewed.pem" >/etc/ssl/certs/mxdeck.pem
        "$MXDECK" check --only cert --format json >"$T/cert2.json" 2>/dev/null
        expect_eq "$(python3 -c 'import json,sys; print(sorted(f["status"] for f in json.load(sys.stdin)["findings"] if f["id"] == "cert.renewal"))' <"$T/cert2.json")" \
                "['warning', 'warning']" "cert.renewal warns for Postfix and Dovecot after the file changed"
        expect_match "$(jq_ field cert.renewal summary <"$T/cert2.json")" "renewed but not reloaded" "says renewed but not reloaded"
        expect_match "$(python3 -c 'import json,sys; print(" ".join(c for f in json.load(sys.stdin)["findings"] if f["id"] == "cert.renewal" for c in f.get("commands", [])))' <"$T/cert2.json")" \
                "postfix reload.*doveadm reload|doveadm reload.*postfix reload" "the reload commands"
        python3 -c 'import json,sys; [print(c) for f in json.load(sys.stdin)["findings"] if f["id"] == "cert.renewal" for c in f.get("commands", [])]' <"$T/cert2.json" >"$T/cmds"
        while read -r cmd; do $cmd >/dev/null 2>&1 || not_ok "$cmd failed"; done <"$T/cmds"
        renewed_ok() {
                "$MXDECK" check --only cert --format json 2>/dev/null |
                        python3 -c 'import json,sys; sys.exit(0 if sorted(f["status"] for f in json.load(sys.stdin)["findings"] if f["id"] == "cert.renewal") == ["ok", "ok"] else 1)'
        }
        if wait_for 30 renewed_ok; then ok "cert.renewal ok after the reload"; else not_ok "cert.renewal not ok after the reload"; fi
fi
postfix stop >/dev/null 2>&1
doveadm stop >/dev/null 2>&1
finish
