#!/usr/bin/env bash
# Every catalogue of po/LINGUAS translates every user-facing string of the current sources,
# none fuzzy: the template is made afresh from the sources (scripts/update-po --pot, the
# same keywords as `ninja mxdeck-pot`) into a temporary directory, the catalogue merged
# against it there, and msgfmt --check --statistics must report no untranslated and no
# fuzzy message. The missing msgids are listed. po/ itself is not touched.
set -u
root=${MXDECK_SOURCE_ROOT:?run through meson test}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
bad=0

"$root/scripts/update-po" --pot "$T/mxdeck.pot" || { echo "not ok - cannot make the template"; exit 1; }
n=$(grep -c '^msgid ' "$T/mxdeck.pot")
echo "# the sources have $((n - 1)) messages"
while read -r lang; do
        lang=${lang%%#*}
        lang=${lang//[[:space:]]/}
        [ -n "$lang" ] || continue
        po=$root/po/$lang.po
        if [ ! -f "$po" ]; then
                echo "not ok - po/LINGUAS lists $lang but po/$lang.po does not exist"
                bad=1
                continue
        fi
        msgmerge --quiet --no-fuzzy-matching -o "$T/$lang.po" "$po" "$T/mxdeck.pot" ||
                { echo "not ok - msgmerge failed on po/$lang.po"; bad=1; continue; }
        stats=$(LC_ALL=C msgfmt --check --statistics -o /dev/null "$T/$lang.po" 2>&1)
        rc=$?
        echo "# $lang: $stats"
        if [ "$rc" != 0 ]; then
                echo "not ok - po/$lang.po: msgfmt --check failed"
                bad=1
                continue
        fi
        untranslated=$(msgattrib --untranslated --no-obsolete --no-wrap "$T/$lang.po" | grep -c '^msgid ')
        fuzzy=$(msgattrib --only-fuzzy --no-obsolete --no-wrap "$T/$lang.po" | grep -c '^msgid ')
        # (the header counts as one entry in each listing that is not empty)
        [ "$untranslated" -gt 0 ] && untranslated=$((untranslated - 1))
        [ "$fuzzy" -gt 0 ] && fuzzy=$((fuzzy - 1))
        if [ "$untranslated" = 0 ] && [ "$fuzzy" = 0 ]; then
                echo "ok - po/$lang.po translates every message of the sources"
                continue
        fi
        bad=1
        echo "not ok - po/$lang.po: $untranslated untranslated, $fuzzy fuzzy (run scripts/update-po, then translate)"
        for kind in untranslated only-fuzzy; do
                msgattrib --$kind --no-obsolete --no-wrap --no-location "$T/$lang.po" |
                        awk '/^msgid "/ { s = substr($0, 8, length($0) - 8); want = s == ""; if (!want) print s; next }
                             want && /^"/ { print substr($0, 2, length($0) - 2) " ..."; want = 0; next }
                             { want = 0 }' | head -40 | sed "s/^/#   ${kind#only-}: /"
        done
        echo "#   (the first 40 of each kind)"
done <"$root/po/LINGUAS"
exit "$bad"
