#!/usr/bin/env bash
# Simplified Chinese on the command line: LANG, --lang and the [general] language setting
# select the catalogue (also when the zh_CN.UTF-8 locale is not generated: a UTF-8 locale
# is enough); text tables stay aligned by display width (a CJK character is two columns);
# and every output for machines (JSON, Nagios, Prometheus, exit codes) is the same bytes
# under zh_CN and C. Asserts no exact translation, only that Chinese replaced the English
# text, so the catalogue can be reworded freely. No root needed.
set -u
mxdeck=${MXDECK:-$MXDECK_BUILD_ROOT/cli/mxdeck}
export MXDECK_LOCALEDIR=$MXDECK_BUILD_ROOT/po # the catalogue built from po/zh_CN.po
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
passed=0 failed=0
ok() { passed=$((passed + 1)); echo "ok - $1"; }
bad() { failed=$((failed + 1)); echo "not ok - $1"; }
Q=$MXDECK_TEST_DATA/queue/postqueue.json
LOG=$MXDECK_TEST_DATA/log/lab.log

# Runs mxdeck with only the given locale variables (meson sets LC_ALL=C.UTF-8 for tests).
zh() { env -u LC_ALL -u LC_MESSAGES -u LANGUAGE LANG=zh_CN.UTF-8 "$mxdeck" "$@"; }
en() { env -u LC_ALL -u LC_MESSAGES -u LANGUAGE LANG=C "$mxdeck" "$@"; }

# Display width of each line (East Asian wide and fullwidth count 2), the way a terminal
# draws it; independent of this shell's locale.
widths() { python3 -c '
import sys, unicodedata
for l in sys.stdin.buffer.read().decode("utf-8").split("\n")[:-1]:
    print(sum(2 if unicodedata.east_asian_width(c) in "WF" else 0 if unicodedata.combining(c) else 1 for c in l))'; }
# (grep -P with a UTF-8 locale: a python start per call is slow on a loaded machine)
has_cjk() { LC_ALL=C.UTF-8 grep -qP '[\x{3400}-\x{9fff}\x{3000}-\x{303f}\x{ff00}-\x{ffef}]' "$@"; }

# --- the language is chosen by LANG, LANGUAGE, --lang and the setting ---
en queue --input "$Q" >"$T/q.en"
grep -q 'QUEUE *MESSAGES *BYTES *OLDEST' "$T/q.en" && ! has_cjk "$T/q.en" && ok "LANG=C: English" ||
        bad "LANG=C is not English: $(sed -n 3p "$T/q.en")"
zh queue --input "$Q" >"$T/q.zh"
if has_cjk "$T/q.zh" && ! grep -q 'QUEUE *MESSAGES' "$T/q.zh"; then
        ok "LANG=zh_CN.UTF-8: the queue summary in Chinese"
else
        bad "LANG=zh_CN.UTF-8 did not translate: $(sed -n 3p "$T/q.zh")"
fi
if locale -a 2>/dev/null | grep -qix 'zh_CN\.utf-\?8'; then
        echo "# zh_CN.UTF-8 is generated here"
else
        echo "# zh_CN.UTF-8 is not generated here: the fallback through LANGUAGE and C.UTF-8 was tested"
fi
env -u LC_ALL -u LC_MESSAGES LANG=C.UTF-8 LANGUAGE=zh_CN "$mxdeck" queue --input "$Q" >"$T/q.lg"
cmp -s "$T/q.lg" "$T/q.zh" && ok "LANGUAGE=zh_CN with a C.UTF-8 locale: the same Chinese" ||
        bad "LANGUAGE=zh_CN: $(sed -n 3p "$T/q.lg")"
en --lang zh_CN queue --input "$Q" >"$T/q.lang"
cmp -s "$T/q.lang" "$T/q.zh" && ok "--lang zh_CN overrides LANG=C" || bad "--lang zh_CN: $(sed -n 3p "$T/q.lang")"
zh --lang C queue --input "$Q" >"$T/q.c"
cmp -s "$T/q.c" "$T/q.en" && ok "--lang C overrides LANG=zh_CN.UTF-8" || bad "--lang C: $(sed -n 3p "$T/q.c")"
mkdir -p "$T/home/.config/mxdeck"
printf '[general]\nlanguage = zh_CN\n' >"$T/home/.config/mxdeck/mxdeck.conf"
HOME=$T/home XDG_CONFIG_HOME= en queue --input "$Q" >"$T/q.set"
cmp -s "$T/q.set" "$T/q.zh" && ok "[general] language = zh_CN in the user's settings" ||
        bad "language setting: $(sed -n 3p "$T/q.set")"
HOME=$T/home XDG_CONFIG_HOME= en --lang C queue --input "$Q" >"$T/q.set2"
cmp -s "$T/q.set2" "$T/q.en" && ok "--lang C overrides the setting" || bad "--lang vs setting: $(sed -n 3p "$T/q.set2")"
printf '[general]\nlanguage = zh_CN\n' >"$T/lang.conf"
en queue --input "$Q" --config "$T/lang.conf" >"$T/q.cfg"
cmp -s "$T/q.cfg" "$T/q.zh" && ok "the setting from --config FILE" || bad "--config language: $(sed -n 3p "$T/q.cfg")"
printf '[general]\nlanguage = Chinese please\n' >"$T/badlang.conf"
en check --config "$T/badlang.conf" --only log --host mail.example.org --domain example.org >"$T/out" 2>"$T/err"
rc=$?
[ "$rc" = 3 ] && grep -q "badlang.conf:2: key 'language' in \[general\]" "$T/err" &&
        ok "a bad language setting is refused with file and line" || bad "bad setting: exit $rc, $(cat "$T/err")"
en --lang 'zh CN' queue --input "$Q" >"$T/out" 2>"$T/err"
rc=$?
[ "$rc" = 2 ] && grep -q "unknown language 'zh CN'" "$T/err" && ok "--lang with a bad name: usage error" ||
        bad "--lang 'zh CN': exit $rc, $(cat "$T/err")"
zh --help >"$T/help" && grep -q -- '--lang' "$T/help" && ok "--help mentions --lang" || bad "--help has no --lang"
grep -q 'lang' "$MXDECK_SOURCE_ROOT/docs/mxdeck.1" && grep -q 'general\] language' "$MXDECK_SOURCE_ROOT/docs/mxdeck.1" &&
        ok "mxdeck(1) documents --lang and the setting" || bad "mxdeck(1) lacks --lang or [general] language"

# --- text tables: aligned by display width ---
# queue summary: the header and the six queue rows end in the same column
sed -n '/^  [^ ].* [^ ]*$/p' "$T/q.zh" | sed -n 1,7p >"$T/tab"
if [ "$(wc -l <"$T/tab")" = 7 ] && [ "$(widths <"$T/tab" | sort -u | wc -l)" = 1 ]; then
        ok "queue summary table aligned in zh_CN ($(widths <"$T/tab" | head -1) columns each)"
else
        bad "queue summary misaligned: widths $(widths <"$T/tab" | tr '\n' ' ')"
fi
zh log stats --file "$LOG" >"$T/s.zh"
has_cjk "$T/s.zh" && ok "log stats in Chinese" || bad "log stats not translated: $(head -3 "$T/s.zh")"
sed -n '/^    [^ ]/p' "$T/s.zh" | head -25 >"$T/hours" # the header and 24 hour rows
if [ "$(wc -l <"$T/hours")" = 25 ] && [ "$(widths <"$T/hours" | sort -u | wc -l)" = 1 ] && has_cjk <(head -1 "$T/hours"); then
        ok "log stats per-hour table aligned under its Chinese header"
else
        bad "per-hour table misaligned: widths $(widths <"$T/hours" | sort | uniq -c | tr '\n' ' ')"
fi
# check: the ids start in one column whatever the width of the translated status words
CHK=(check --only config,log --host mail.example.org --domain example.org)
zh "${CHK[@]}" >"$T/c.zh" 2>"$T/err"
if has_cjk "$T/c.zh" && ! grep -Eq '^  (CRITICAL|UNKNOWN|WARNING|OK) ' "$T/c.zh"; then
        ok "check text output: Chinese status words"
else
        bad "check text not translated: $(sed -n 3,4p "$T/c.zh")"
fi
python3 - "$T/c.zh" <<'PY' && ok "check text: every finding's id starts in the same column" || bad "check text: ids in different columns"
import re, sys, unicodedata
w = lambda s: sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in s)
cols = set()
for l in open(sys.argv[1], encoding="utf-8"):
    m = re.match(r"^  (\S.*?)  ((?:config|log)\.[a-z.-]+) ", l)
    if m:
        cols.add(w(l[:m.start(2)]))
print("# id columns:", sorted(cols))
sys.exit(0 if len(cols) == 1 else 1)
PY

# --- machine outputs: the same bytes under zh_CN and C ---
# Only what depends on the clock is masked: the run's start and duration.
mask() { sed -E 's/"(started|duration_ms)": [^,]*,/"\1": X,/; s/^(mxdeck_check_(duration_seconds|last_run_timestamp_seconds)) .*/\1 X/; s/"oldest_age_s": [0-9]+/"oldest_age_s": X/'; }
same() { # same NAME WHAT -- ARGS...: leaves the outputs in $T/NAME.zh and $T/NAME.en
        local name=$1 what=$2
        shift 3
        zh "$@" >"$T/$name.zh" 2>"$T/e.zh"
        local rz=$?
        en "$@" >"$T/$name.en" 2>"$T/e.en"
        local re=$?
        cp "$T/$name.zh" "$T/m.zh"
        cp "$T/$name.en" "$T/m.en"
        if [ "$rz" != "$re" ]; then
                bad "$what: exit $rz under zh_CN, $re under C"
        elif ! cmp -s <(mask <"$T/m.zh") <(mask <"$T/m.en"); then
                bad "$what: output differs: $(diff <(mask <"$T/m.zh") <(mask <"$T/m.en") | head -4)"
        # (an ASan build's one-time swapcontext warning carries the pid: not mxdeck's output)
        elif ! cmp -s <(grep -v "^==[0-9]*==WARNING: ASan" "$T/e.zh") <(grep -v "^==[0-9]*==WARNING: ASan" "$T/e.en"); then
                bad "$what: stderr differs: $(head -2 "$T/e.zh")"
        elif [ ! -s "$T/m.zh" ] && [ ! -s "$T/e.zh" ]; then
                bad "$what: no output"
        else
                ok "$what: identical under zh_CN and C (exit $rz, $(wc -c <"$T/m.zh") bytes)"
        fi
}
same cj "check --format json"       -- "${CHK[@]}" --format json
# (the config group spawns 'postfix check', a second each: the log group alone for these)
same cn "check --format nagios"     -- check --only log --host mail.example.org --domain example.org --format nagios
same cp "check --format prometheus" -- check --only log --host mail.example.org --domain example.org --format=prometheus
same cu "check --format nagios, usage error" -- check --format nagios --bogus
same cl "--lang zh_CN check --format json" -- --lang zh_CN check --only log --host mail.example.org --domain example.org --format json
same qs "queue --format json"       -- queue --input "$Q" --format json
same ql "queue list --format json"  -- queue list --input "$Q" --format json
same qh "queue shape --format json" -- queue shape --input "$Q" --format json
same ls "log stats --format json"   -- log stats --file "$LOG" --format json
same dr "dns records --format json" -- dns records --domain example.org --host mail.example.org --address 192.0.2.1 --format json
mkdir -p "$T/root/etc"
printf 'ID=debian\nVERSION_ID="12"\n' >"$T/root/etc/os-release"
same sj "setup --dry-run --format json" -- setup --answers "$MXDECK_SOURCE_ROOT/docs/answers.example.ini" --root "$T/root" --dry-run --format json
same hj "history --format json" -- history --root "$T/root" --format json
same uj "users list --format json, an error" -- users list --root "$T/root" --format json
# what the catalogue translates in the text output stays English in JSON and Nagios
if grep -Eq '"status": "(ok|warning|critical|unknown)"' "$T/cj.zh" && ! has_cjk "$T/cj.zh" && ! has_cjk "$T/cn.zh" && has_cjk "$T/c.zh"; then
        ok "JSON and Nagios stay English where the text output is Chinese"
else
        bad "machine output under zh_CN: $(grep -m1 summary "$T/cj.zh"), $(head -1 "$T/cn.zh")"
fi

echo "# $passed passed, $failed failed"
[ "$failed" = 0 ]
