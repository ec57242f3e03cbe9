#!/usr/bin/env bash
# The command line as a user meets it: help, version, usage errors and their exit codes,
# settings-file errors with file and line, and --output's atomic replace. No root needed.
set -u
mxdeck=${MXDECK:-$MXDECK_BUILD_ROOT/cli/mxdeck}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
passed=0 failed=0

ok() { passed=$((passed + 1)); echo "ok - $1"; }
bad() { failed=$((failed + 1)); echo "not ok - $1"; }

# run EXPECTED_RC STDERR_OR_STDOUT_REGEX DESCRIPTION -- ARGS...
run() {
        local want_rc=$1 pattern=$2 what=$3
        shift 4
        "$mxdeck" "$@" >"$T/out" 2>"$T/err"
        local rc=$?
        if [ "$rc" != "$want_rc" ]; then
                bad "$what: exit $rc, want $want_rc; stderr: $(head -3 "$T/err")"
        elif ! cat "$T/out" "$T/err" | grep -Eq -- "$pattern"; then
                bad "$what: output does not match /$pattern/: $(head -3 "$T/out" "$T/err")"
        else
                ok "$what"
        fi
}

run 0 '^Usage: mxdeck'                       "--help"                        -- --help
run 0 '^mxdeck [0-9]+\.[0-9]+\.[0-9]+$'      "--version"                     -- --version
run 0 'Commands:'                            "help"                          -- help
run 0 '^Usage: mxdeck check'                 "help check"                    -- help check
run 0 '/etc/hosts also maps NAME'       "help lab: --hostname also maps the name in /etc/hosts" -- help lab
run 0 '^Usage: mxdeck lab'                   "help lab"                      -- help lab
run 0 '^Usage: mxdeck check'                 "check --help"                  -- check --help
run 2 "unknown command 'frobnicate'"         "unknown command"               -- frobnicate
run 2 "unknown command 'nope'"               "help for an unknown command"   -- help nope
run 2 "unknown option '--bogus'"             "unknown global option"         -- --bogus
run 2 'Usage: mxdeck'                        "no command"                    --
run 3 "unknown option '--bogus'"             "check: unknown option, exit 3" -- check --bogus
run 3 "unknown format 'xml'"                 "check: bad format"             -- check --format xml
run 3 "needs a value"                        "check: missing value"          -- check --format
run 3 "unknown group 'nonsense'"             "check: unknown group"          -- check --only nonsense
run 3 "from 1 to 3600"                       "check: bad timeout"            -- check --timeout 0
run 3 "from 1 to 3600"                       "check: non-numeric timeout"    -- check --timeout 5s
run 3 "unexpected argument 'extra'"          "check: stray argument"         -- check extra
run 3 "--color takes"                        "check: bad --color"            -- check --color sometimes

# Settings files: errors name the file and the line.
printf '[tls]\nexpiry_warning_days = 30\n[disk]\nwarnig_percent = 20\n' >"$T/bad.conf"
run 3 "bad.conf:4: .*warnig_percent"         "settings: unknown key with line" -- check --config "$T/bad.conf" --only system
printf '[tls]\nexpiry_warning_days = soon\n' >"$T/bad2.conf"
run 3 "bad2.conf:2"                          "settings: bad number with line" -- check --config "$T/bad2.conf" --only system
printf '[tls]\nexpiry_warning_days = 3\nexpiry_critical_days = 7\n' >"$T/bad3.conf"
run 3 "bad3.conf"                            "settings: warning on the wrong side of critical" -- check --config "$T/bad3.conf" --only system
run 3 "no-such.conf"                         "settings: missing --config file" -- check --config "$T/no-such.conf" --only system
printf '[disk]\nwarning_percent = 1\ncritical_percent = 0\nwarning_bytes = 1\ncritical_bytes = 0\n' >"$T/good.conf"
"$mxdeck" check --config "$T/good.conf" --only system --format nagios >"$T/out" 2>"$T/err"
if grep -Eq "'system.disk.disk_free_percent@[^=]*'=[0-9.]+%;1:;0:;0;100" "$T/out" && ! grep -q "system.disk" "$T/err"; then
        ok "settings: thresholds from the file reach the perfdata"
else
        bad "settings: thresholds not applied: $(head -2 "$T/out" "$T/err")"
fi

# --output replaces the file atomically and keeps nothing else.
echo "old content" >"$T/mxdeck.prom"
"$mxdeck" check --config "$T/good.conf" --only system --format prometheus -o "$T/mxdeck.prom" >/dev/null 2>&1
if grep -q '^mxdeck_check_status{id="system.disk"' "$T/mxdeck.prom" && ! grep -q "old content" "$T/mxdeck.prom" \
        && [ -z "$(find "$T" -name '.#*')" ]; then
        ok "--output wrote the report atomically"
else
        bad "--output: $(head -3 "$T/mxdeck.prom")"
fi

# NO_COLOR and a non-terminal both mean no escape sequences; --color always forces them.
"$mxdeck" check --config "$T/good.conf" --only system >"$T/plain" 2>/dev/null
if grep -q $'\033' "$T/plain"; then bad "escape sequences in piped output"; else ok "no colour when piped"; fi
"$mxdeck" check --config "$T/good.conf" --only system --color always >"$T/color" 2>/dev/null
if grep -q $'\033\[' "$T/color"; then ok "--color always colours"; else bad "--color always did not colour"; fi

# NO_COLOR set but empty does not count (no-color.org); set and non-empty does.
NO_COLOR= "$mxdeck" check --config "$T/good.conf" --only system --color auto >"$T/c1" 2>/dev/null
if grep -q $'\033' "$T/c1"; then bad "colour when piped, NO_COLOR empty"; else ok "no colour when piped even with NO_COLOR empty"; fi

# Whatever the host name holds, no escape sequence reaches the terminal, and JSON stays valid.
"$mxdeck" check --only system --host $'\e]0;PWN\a\xff' --color never >"$T/hostile" 2>&1
if grep -q $'\033' "$T/hostile"; then bad "escape sequence from --host reached the output"; else ok "--host is made terminal-safe"; fi
# stderr apart: the JSON is stdout alone (a sanitizer's warnings must not count against it)
"$mxdeck" check --only system --host $'mail\xff.example' --format json >"$T/hostile.json" 2>"$T/hostile.err"
if python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$T/hostile.json" 2>/dev/null; then ok "invalid UTF-8 in --host: JSON still valid"; else bad "invalid UTF-8 in --host broke JSON: $(head -2 "$T/hostile.json")"; fi

# --skip beside --only: names checked like --only's, the rest runs.
run 3 "unknown group 'nonsense' in --skip"   "check: unknown group in --skip" -- check --skip nonsense
run 3 "--skip leaves none of the --only"     "check: --skip takes every --only group" -- check --only system --skip system
"$mxdeck" check --config "$T/good.conf" --only system,config --skip config --format json >"$T/skip.json" 2>/dev/null
if python3 -c 'import json,sys; ids={f["id"].split(".")[0] for f in json.load(open(sys.argv[1]))["findings"]}; sys.exit(ids != {"system"})' "$T/skip.json"; then
        ok "check: --only system,config --skip config runs the system checks only"
else
        bad "check: --skip did not apply: $(head -c 300 "$T/skip.json")"
fi
# dns records reads the settings file like check
run 1 "bad settings: .*bad2.conf:2"          "dns records: settings file errors" -- dns records --domain example.org --host mail.example.org --config "$T/bad2.conf"
run 0 "IN MX"                                "dns records: with a good settings file" -- dns records --domain example.org --host mail.example.org --address 192.0.2.1 --config "$T/good.conf"

# As a Nagios plugin, even a usage error says UNKNOWN on stdout (Nagios shows stdout).
run 3 '^MXDECK UNKNOWN: .*unknown option' "nagios: usage error on stdout" -- check --format nagios --bogus
run 3 '^MXDECK UNKNOWN: .*bad settings'   "nagios: settings error on stdout" -- check --format=nagios --config "$T/bad.conf"
if head -1 "$T/out" | grep -q '^MXDECK UNKNOWN'; then ok "nagios: the UNKNOWN line is on stdout"; else bad "nagios: stdout was: $(head -1 "$T/out")"; fi

# setup, rollback, history: usage, bad answers refused with file and line before any change,
# the example answers file accepted (its plan stops at the packages step: none under the root).
run 0 '^Usage: mxdeck setup'                 "setup --help"                  -- setup --help
run 2 'answers FILE is required'             "setup without --answers"       -- setup
run 2 'needs an absolute path'               "setup --root relative"         -- setup --answers x --root rel
printf '[server]\nhostname = mail\ndomain = example.com\n' >"$T/bad-answers.ini"
run 2 'bad-answers.ini:2: \[server\] hostname .mail. is not a fully qualified' "setup: bad answers named with line" -- setup --answers "$T/bad-answers.ini" --dry-run
mkdir -p "$T/root/etc"
printf 'ID=debian\nVERSION_ID="12"\n' >"$T/root/etc/os-release"
run 0 'to install: postfix dovecot-core dovecot-imapd dovecot-pop3d dovecot-lmtpd; the other steps' "setup: example answers, no Postfix under the root: the packages first" -- setup --answers "$MXDECK_SOURCE_ROOT/docs/answers.example.ini" --root "$T/root" --dry-run
sed 's/^install = yes/install = no/' "$MXDECK_SOURCE_ROOT/docs/answers.example.ini" >"$T/noinstall.ini"
run 4 'not installed: postfix .*\[packages\] install = no' "setup: [packages] install = no, nothing installed: refused" -- setup --answers "$T/noinstall.ini" --root "$T/root" --dry-run
if [ -e "$T/root/var/lib/mxdeck/transactions" ]; then bad "a refused plan started a transaction"; else ok "a refused plan changed nothing"; fi
run 0 'No transactions'                      "history with none"             -- history --root "$T/root"
run 3 'Nothing to roll back'                 "rollback with none"            -- rollback --root "$T/root"
run 2 'no transaction 2020'                  "rollback of an unknown id"     -- rollback 20200101-000000-0000 --root "$T/root"

# A damaged transaction (a line in the middle of its journal is not what mxdeck writes):
# rollback refuses it and everything it would have rolled back with it, naming the file,
# the line and the older transaction --skip-damaged goes on with; history says damaged.
J="$T/jroot/var/lib/mxdeck/transactions"
mkdir -p "$J/20260101-000000-aaaa/backups" "$J/20260102-000000-bbbb/backups" "$T/jroot/etc"
printf 'new\n' >"$T/jroot/etc/new.cf"
printf '%s\n' '{"type":"begin","id":"20260101-000000-aaaa","time":1767225600,"answers":"a.ini","seq":1}' \
        '{"type":"backup","step":"postfix","path":"/etc/new.cf","existed":false,"seq":2}' \
        '{"type":"end","status":"ok","seq":3}' >"$J/20260101-000000-aaaa/manifest.jsonl"
printf '%s\n' '{"type":"begin","id":"20260102-000000-bbbb","time":1767312000,"answers":"b.ini","seq":1}' \
        '{"type":"backup","step":"postfix","path":"/etc/../../outside","existed":false,"seq":2}' \
        '{"type":"end","status":"ok","seq":3}' >"$J/20260102-000000-bbbb/manifest.jsonl"
run 1 'bbbb/manifest.jsonl:2: "path" is not an absolute path' "rollback: a damaged transaction refused with file and line" -- rollback --root "$T/jroot"
run 1 'rollback --skip-damaged 20260101-000000-aaaa' "rollback: the refusal names the way past" -- rollback --root "$T/jroot"
run 1 'bbbb is damaged' "rollback: an older id, a damaged newer one on the way: refused" -- rollback 20260101-000000-aaaa --root "$T/jroot"
if [ -e "$T/jroot/etc/new.cf" ]; then ok "rollback: refused, nothing rolled back"; else bad "a refused rollback removed a file"; fi
run 0 'bbbb  .*damaged' "history: a damaged transaction" -- history --root "$T/jroot"
run 0 'manifest.jsonl:2: ' "history: the damaged line named" -- history --root "$T/jroot"
run 0 '"status": "damaged"' "history json: damaged" -- history --format json --root "$T/jroot"
run 0 '"line": 2' "history json: the damaged line" -- history --format json --root "$T/jroot"
run 0 'Leaving 20260102-000000-bbbb as it is' "rollback --skip-damaged: past the damaged one" -- rollback --skip-damaged --root "$T/jroot"
if [ ! -e "$T/jroot/etc/new.cf" ]; then ok "rollback --skip-damaged: the older one rolled back"; else bad "rollback --skip-damaged left new.cf"; fi
run 0 'aaaa  .*rolled back' "history: the older one rolled back" -- history --root "$T/jroot"
run 3 'Nothing to roll back' "rollback --skip-damaged: nothing left but the damaged one" -- rollback --skip-damaged --root "$T/jroot"
run 1 'bbbb is damaged' "rollback: the damaged one still refused" -- rollback --root "$T/jroot"

# users: usage, and refusals before anything changes
run 0 '^Usage: mxdeck users list'            "users --help"                  -- users --help
run 2 'missing command'                      "users without a command"       -- users
run 2 "unknown command 'frob'"               "users frob"                    -- users frob
run 2 'add takes one NAME'                   "users add without a name"      -- users add --root "$T/root"
run 2 "run 'mxdeck setup' first"             "users list before any setup"   -- users list --root "$T/root"
run 2 "'--mode' takes|--mode takes 'system' or 'virtual'" "users --mode bad" -- users list --mode other
mkdir -p "$T/root/etc/postfix"
printf 'root:x:0:0::/root:/bin/sh\n' >"$T/root/etc/passwd"
printf 'ID=debian\nVERSION_ID="12"\n' >"$T/root/etc/os-release"
run 2 'use --password-stdin'                 "users add: no terminal, no --password-stdin" -- users add carol --mode system --root "$T/root"
printf 'short\n' >"$T/short.pw"
"$mxdeck" users add carol --mode system --root "$T/root" --password-stdin <"$T/short.pw" >"$T/out" 2>"$T/err"
if [ $? = 2 ] && grep -q 'shorter than 8' "$T/err"; then ok "users add: a short password refused"; else bad "users add: short password: $(cat "$T/err")"; fi
run 2 'not a valid mailbox account name'     "users add: a system account"   -- users del postfix --mode system --root "$T/root"
if [ -e "$T/root/var/lib/mxdeck/transactions" ]; then bad "a refused users command started a transaction"; else ok "refused users commands changed nothing"; fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
