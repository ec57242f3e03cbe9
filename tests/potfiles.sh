#!/usr/bin/env bash
# Every source file with a translatable string is listed in po/POTFILES, and every file
# listed there exists: otherwise its strings silently stay out of the catalogue.
set -u
root=${MXDECK_SOURCE_ROOT:?run through meson test}
cd "$root" || exit 1
bad=0
while IFS= read -r f; do
        grep -qx "$f" po/POTFILES || { echo "not ok - $f has _(\"...\") strings but is not in po/POTFILES"; bad=1; }
done < <(grep -rlE '\b_\("|\bN_\("' --include='*.c' core probes installer tui cli | sort)
while IFS= read -r f; do
        [ -z "$f" ] || [ -f "$f" ] || { echo "not ok - po/POTFILES lists $f, which does not exist"; bad=1; }
done <po/POTFILES
[ "$bad" = 0 ] && echo "ok - po/POTFILES lists every file with translatable strings"
exit "$bad"
