#!/usr/bin/env python3
"""The Chinese documentation keeps up with the English one.

docs/zh_CN/mxdeck.1 documents every option, every verb, every .TP item (check ids,
settings, answers-file keys, files) and every subsection that docs/mxdeck.1 documents,
and nothing the English page does not; man renders it without a warning, and its filled
text fits 80 columns (CJK characters count two). README.zh_CN.md starts with the same two
commands as README.md, and each README links the other.
TAP output; exit 77 (skipped) only when man or groff is not installed."""
import os
import re
import shutil
import subprocess
import sys
import unicodedata

root = os.environ.get('MXDECK_SOURCE_ROOT') or sys.exit('run through meson test')
EN = os.path.join(root, 'docs', 'mxdeck.1')
ZH = os.path.join(root, 'docs', 'zh_CN', 'mxdeck.1')
failed = 0
n = 0


def ok(cond, what, detail=''):
    global failed, n
    n += 1
    print(('ok' if cond else 'not ok') + ' %d - %s' % (n, what))
    if not cond:
        failed = 1
        for line in str(detail).splitlines():
            print('# ' + line)


def read(path):
    with open(path, encoding='utf-8') as f:
        return f.read()


def split_args(rest):
    """roff macro arguments: blank-separated, "double quoted" with "" for a quote."""
    args, i = [], 0
    while i < len(rest):
        if rest[i] == ' ':
            i += 1
            continue
        if rest[i] == '"':
            j, buf = i + 1, ''
            while j < len(rest):
                if rest[j] == '"':
                    if rest[j + 1:j + 2] == '"':
                        buf, j = buf + '"', j + 2
                        continue
                    break
                buf, j = buf + rest[j], j + 1
            args.append(buf)
            i = j + 1
        else:
            j = rest.find(' ', i)
            j = len(rest) if j < 0 else j
            args.append(rest[i:j])
            i = j
    return args


def plain(s):
    """Text without font escapes, with roff's escapes for - and \\ resolved."""
    s = re.sub(r'\\f(\[[A-Z]*\]|[A-Z])', '', s)
    s = re.sub(r'\\[&:%c]', '', s)
    return s.replace('\\-', '-').replace('\\e', '\\').replace('\\(en', '-').replace('\\ ', ' ')


def bold_spans(src):
    """Every run of bold text, from font macros and from inline \\fB...\\fR."""
    spans = []
    for line in src.splitlines():
        m = re.match(r'\.(B|BR|RB|BI|IB)(?:\s+(.*))?$', line)
        if m and m.group(2):
            fonts, args = m.group(1), split_args(m.group(2))
            if fonts == 'B':
                spans.append(' '.join(args))
            else:
                spans += [a for k, a in enumerate(args) if fonts[k % 2] == 'B']
            line = ' '.join(args)
        for b in re.findall(r'\\fB(.*?)(?=\\f[RPI]|$)', line):
            spans.append(b)
    return [plain(s) for s in spans]


def macro_text(line):
    """A font macro line as the text it prints: .B and .I join their arguments with
    spaces, the alternating ones (.BR, .IR ...) join them without."""
    m = re.match(r'\.(B|I|BR|RB|BI|IB|IR|RI)(?:\s+(.*))?$', line)
    if not m or not m.group(2):
        return line
    return (' ' if len(m.group(1)) == 1 else '').join(split_args(m.group(2)))


def options(src):
    text = plain('\n'.join(macro_text(l) for l in src.splitlines() if not l.startswith('.\\"')))
    return set(re.findall(r'(?<![\w./-])--?[A-Za-z][A-Za-z0-9-]*', text))


def verbs(src):
    found = set()
    for span in bold_spans(src):
        for m in re.finditer(r'\bmxdeck((?: +[a-z][a-z-]*)+)', span):
            found.add('mxdeck' + ' '.join([''] + m.group(1).split()))
    return found


def tp_tags(src):
    lines = src.splitlines()
    return [lines[i + 1] for i, l in enumerate(lines[:-1]) if l.startswith('.TP')]


def headings(src, req):
    return [l for l in src.splitlines() if l.startswith(req + ' ') or l == req]


def diff(a, b, name_a='English', name_b='Chinese'):
    out = []
    if a - b:
        out.append('in the %s page only: %s' % (name_a, ' '.join(sorted(a - b))))
    if b - a:
        out.append('in the %s page only: %s' % (name_b, ' '.join(sorted(b - a))))
    return '\n'.join(out)


en, zh = read(EN), read(ZH)

eo, zo = options(en), options(zh)
ok(len(eo) > 50 and eo == zo, 'zh_CN man page has the same options as docs/mxdeck.1 (%d)' % len(eo), diff(eo, zo))

ev, zv = verbs(en), verbs(zh)
ok(len(ev) > 20 and ev == zv, 'zh_CN man page names the same verbs as docs/mxdeck.1 (%d)' % len(ev), diff(ev, zv))

et, zt = tp_tags(en), tp_tags(zh)
ok(len(et) > 100 and et == zt,
   'zh_CN man page has the same items (.TP tags: options, check ids, settings, files) in the same order (%d)' % len(et),
   diff(set(et), set(zt)) or 'same items, different order')

es, zs = headings(en, '.SS'), headings(zh, '.SS')
cmd = re.compile(r'\.SS "?[a-z][a-z ]*"?$')
ok(len(es) > 5 and len(es) == len(zs) and [h for h in es if cmd.match(h)] == [h for h in zs if cmd.match(h)],
   'zh_CN man page has the same subsections, the commands\' ones by name (%d)' % len(es), diff(set(es), set(zs)))

esh, zsh = headings(en, '.SH'), headings(zh, '.SH')
ok(len(esh) == len(zsh), 'zh_CN man page has as many sections as docs/mxdeck.1 (%d)' % len(esh),
   'English: %s\nChinese: %s' % (esh, zsh))
ok(all(re.search('[\u4e00-\u9fff]', plain(l)) for l in zsh), 'zh_CN section headings are in Chinese', zsh)


def width(s):
    return sum(0 if unicodedata.combining(c) else 2 if unicodedata.east_asian_width(c) in 'WF' else 1 for c in s)


def render(path):
    env = dict(os.environ, LC_ALL='C.UTF-8', MANWIDTH='80', MAN_KEEP_FORMATTING='')
    env.pop('MANPAGER', None)
    env.pop('PAGER', None)
    # groff 1.22.4 can loop forever on some CJK lines with hyphenation off: never wait for ever
    return subprocess.run(['man', '--warnings', '-l', path], env=env, capture_output=True,
                          text=True, timeout=120)


if not shutil.which('man') or not shutil.which('groff'):
    print('# man (man-db) or groff is not installed: the rendering checks cannot run')
    print('1..%d' % n)
    sys.exit(failed or 77)

r = render(ZH)
ok(r.returncode == 0 and r.stderr == '', 'man --warnings renders docs/zh_CN/mxdeck.1 without a warning',
   'exit %d\n%s' % (r.returncode, r.stderr))
out = r.stdout
ok(all(h in out for h in ('名称', '概述', '描述', '检查项', '退出状态', '应答文件', '设置项')) and
   '检查Postfix+Dovecot邮件服务器的健康状态' in re.sub(r'\s', '', out),
   'the rendered page shows its Chinese sections and text', out[:2000])
ok('\\f' not in out and not re.search(r'(^|\s)\.(B|BR|RB|I|IR|TP|PP)\s', out, re.M),
   'no roff markup leaks into the rendered page',
   '\n'.join(l for l in out.splitlines() if '\\f' in l or re.search(r'(^|\s)\.(B|BR|RB|I|IR|TP|PP)\s', l))[:2000])
en_lines = {l.strip() for l in render(EN).stdout.splitlines()}
wide = [l for l in out.splitlines() if width(l) > 80 and l.strip() not in en_lines]
ok(not wide, 'every line of filled text fits 80 columns (only verbatim examples shared with the English page are wider)',
   '\n'.join(wide))
bad_punct = re.compile('[\u4e00-\u9fff] +[，。；：、）]|[，。；：、（] +[\u4e00-\u9fff]|^ *[，。；：、）”]')
ok(not any(bad_punct.search(l) for l in out.splitlines()),
   'no space beside full-width punctuation, no line starting with closing punctuation',
   '\n'.join(l for l in out.splitlines() if bad_punct.search(l)))


def first_commands(path, k=2):
    """The first k command lines of the file's first fenced code block, comments stripped."""
    text = read(path)
    m = re.search(r'^```[^\n]*\n(.*?)^```', text, re.S | re.M)
    if not m:
        return None
    cmds = [re.sub(r'\s+#.*$', '', l).rstrip() for l in m.group(1).splitlines() if l.strip()]
    before = text[:m.start()]
    if re.search(r'^\s*(\$ |sudo |scripts/|mxdeck )', before, re.M):
        return None
    return cmds[:k]


readme, readme_zh = os.path.join(root, 'README.md'), os.path.join(root, 'README.zh_CN.md')
c_en, c_zh = first_commands(readme), first_commands(readme_zh)
ok(c_en is not None and len(c_en) == 2 and c_en == c_zh,
   'README.zh_CN.md starts with the same two commands as README.md',
   'README.md: %s\nREADME.zh_CN.md: %s' % (c_en, c_zh))
head_en = read(readme).split('\n## ')[0]
head_zh = read(readme_zh).split('\n## ')[0]
ok('(README.zh_CN.md)' in head_en and '(README.md)' in head_zh, 'README.md and README.zh_CN.md link each other at the top')

print('1..%d' % n)
sys.exit(failed)
