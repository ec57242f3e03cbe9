/* Unified diff: written here rather than spawning `diff -u`, because the plan must render
 * identically in a dry run, in the unit tests (where commands are recorded, not run) and on
 * machines without diffutils, and because it is short: common prefix and suffix trimmed,
 * then a longest-common-subsequence table over what remains. Configuration files are small;
 * past a bound on the table size the middle is shown as removed then added (still a
 * correct diff, just not a minimal one). */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "diff.h"
#include "macro.h"

#define CONTEXT 3
#define MAX_TABLE_CELLS ((size_t) 8 * 1024 * 1024)

typedef struct Line {
        const char *s;
        size_t len;    /* without the newline */
        bool newline;  /* ends with '\n' (only the last line may not) */
} Line;

static int split_lines(const char *s, size_t size, Line **ret, size_t *ret_n) {
        size_t n = 0, k = 0;
        Line *v;

        for (size_t i = 0; i < size; i++)
                if (s[i] == '\n')
                        n++;
        if (size > 0 && s[size - 1] != '\n')
                n++;
        v = calloc(n + 1, sizeof(Line));
        if (!v)
                return -ENOMEM;
        for (size_t start = 0; start < size;) {
                const char *nl = memchr(s + start, '\n', size - start);
                size_t end = nl ? (size_t) (nl - s) : size;
                v[k++] = (Line) { s + start, end - start, nl != NULL };
                start = end + 1;
        }
        *ret = v;
        *ret_n = n;
        return 0;
}

static bool line_eq(const Line *a, const Line *b) {
        return a->len == b->len && a->newline == b->newline && memcmp(a->s, b->s, a->len) == 0;
}

typedef enum Op { OP_EQ, OP_DEL, OP_INS } Op;

typedef struct Edit {
        Op op;
        size_t ai, bi; /* line index in a (EQ, DEL) and b (EQ, INS) */
} Edit;

/* The edit script from a to b. */
static int edit_script(const Line *a, size_t n, const Line *b, size_t m, Edit **ret, size_t *ret_k) {
        size_t pre = 0, suf = 0, k = 0;
        _cleanup_free_ Edit *e = calloc(n + m + 1, sizeof(Edit));

        if (!e)
                return -ENOMEM;
        while (pre < n && pre < m && line_eq(&a[pre], &b[pre]))
                pre++;
        while (suf < n - pre && suf < m - pre && line_eq(&a[n - 1 - suf], &b[m - 1 - suf]))
                suf++;
        for (size_t i = 0; i < pre; i++)
                e[k++] = (Edit) { OP_EQ, i, i };

        size_t an = n - pre - suf, bm = m - pre - suf;
        const Line *A = a + pre, *B = b + pre;
        if (an > 0 && bm > 0 && (an + 1) <= MAX_TABLE_CELLS / (bm + 1)) {
                /* lcs[i][j] = LCS length of A[i..] and B[j..] */
                _cleanup_free_ uint32_t *lcs = calloc((an + 1) * (bm + 1), sizeof(uint32_t));
                if (!lcs)
                        return -ENOMEM;
#define L(i, j) lcs[(i) * (bm + 1) + (j)]
                for (size_t i = an; i-- > 0;)
                        for (size_t j = bm; j-- > 0;)
                                L(i, j) = line_eq(&A[i], &B[j]) ? L(i + 1, j + 1) + 1
                                                                : MAX(L(i + 1, j), L(i, j + 1));
                size_t i = 0, j = 0;
                while (i < an || j < bm) {
                        if (i < an && j < bm && line_eq(&A[i], &B[j])) {
                                e[k++] = (Edit) { OP_EQ, pre + i, pre + j };
                                i++, j++;
                        } else if (i < an && (j == bm || L(i + 1, j) >= L(i, j + 1))) {
                                e[k++] = (Edit) { OP_DEL, pre + i, pre + j };
                                i++;
                        } else {
                                e[k++] = (Edit) { OP_INS, pre + i, pre + j };
                                j++;
                        }
                }
#undef L
        } else {
                for (size_t i = 0; i < an; i++)
                        e[k++] = (Edit) { OP_DEL, pre + i, pre };
                for (size_t j = 0; j < bm; j++)
                        e[k++] = (Edit) { OP_INS, pre + an, pre + j };
        }
        for (size_t i = 0; i < suf; i++)
                e[k++] = (Edit) { OP_EQ, n - suf + i, m - suf + i };
        *ret = TAKE_PTR(e);
        *ret_k = k;
        return 0;
}

typedef struct Buf {
        char **s;
        size_t len;
} Buf;

_printf_(2, 3)
static int buf_printf(Buf *b, const char *fmt, ...) {
        va_list ap;
        char *add = NULL, *n;
        int r;

        va_start(ap, fmt);
        r = vasprintf(&add, fmt, ap);
        va_end(ap);
        if (r < 0)
                return -ENOMEM;
        n = realloc(*b->s, b->len + (size_t) r + 1);
        if (!n) {
                free(add);
                return -ENOMEM;
        }
        memcpy(n + b->len, add, (size_t) r + 1);
        b->len += (size_t) r;
        *b->s = n;
        free(add);
        return 0;
}

static int emit_line(Buf *b, char mark, const Line *l) {
        int r = buf_printf(b, "%c%.*s\n", mark, (int) l->len, l->s);
        if (r >= 0 && !l->newline)
                r = buf_printf(b, "\\ No newline at end of file\n");
        return r;
}

/* "start,count" as diff -u writes it: a count of 1 is left out; an empty range starts one
 * line before. */
static int range(Buf *b, size_t start, size_t count) {
        if (count == 1)
                return buf_printf(b, "%zu", start + 1);
        return buf_printf(b, "%zu,%zu", count == 0 ? start : start + 1, count);
}

int diff_unified(const char *path, const char *old, size_t old_size,
                 const char *new, size_t new_size, char **out) {
        _cleanup_free_ Line *a = NULL, *b = NULL;
        _cleanup_free_ Edit *e = NULL;
        size_t n = 0, m = 0, k = 0;
        Buf buf = { out, *out ? strlen(*out) : 0 };
        int r;

        r = split_lines(old ? old : "", old ? old_size : 0, &a, &n);
        if (r < 0)
                return r;
        r = split_lines(new, new_size, &b, &m);
        if (r < 0)
                return r;
        r = edit_script(a, n, b, m, &e, &k);
        if (r < 0)
                return r;

        bool any = false;
        for (size_t i = 0; i < k; i++)
                any = any || e[i].op != OP_EQ;
        if (!any && old)
                return 0;

        r = buf_printf(&buf, "--- %s%s\n+++ b%s\n", old ? "a" : "", old ? path : "/dev/null", path);
        if (r < 0)
                return r;

        for (size_t i = 0; i < k;) {
                /* next change */
                while (i < k && e[i].op == OP_EQ)
                        i++;
                if (i >= k)
                        break;
                size_t start = i >= CONTEXT ? i - CONTEXT : 0;
                /* extend the hunk while changes are within 2*CONTEXT equal lines */
                size_t end = i;
                for (;;) {
                        while (end < k && e[end].op != OP_EQ)
                                end++;
                        size_t eq = end;
                        while (eq < k && e[eq].op == OP_EQ && eq - end < 2 * CONTEXT + 1)
                                eq++;
                        if (eq < k && e[eq].op != OP_EQ && eq - end <= 2 * CONTEXT) {
                                end = eq;
                                continue;
                        }
                        end = MIN(end + CONTEXT, k);
                        break;
                }
                size_t a_start = e[start].ai, b_start = e[start].bi, a_count = 0, b_count = 0;
                for (size_t j = start; j < end; j++) {
                        a_count += e[j].op != OP_INS;
                        b_count += e[j].op != OP_DEL;
                }
                if ((r = buf_printf(&buf, "@@ -")) < 0 || (r = range(&buf, a_start, a_count)) < 0 ||
                    (r = buf_printf(&buf, " +")) < 0 || (r = range(&buf, b_start, b_count)) < 0 ||
                    (r = buf_printf(&buf, " @@\n")) < 0)
                        return r;
                for (size_t j = start; j < end; j++) {
                        if (e[j].op == OP_EQ)
                                r = emit_line(&buf, ' ', &a[e[j].ai]);
                        else if (e[j].op == OP_DEL)
                                r = emit_line(&buf, '-', &a[e[j].ai]);
                        else
                                r = emit_line(&buf, '+', &b[e[j].bi]);
                        if (r < 0)
                                return r;
                }
                i = end;
        }
        return 0;
}
