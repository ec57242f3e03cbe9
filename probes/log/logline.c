/* The mail log line parser: memchr/memcmp over one line, events point into it. */
#include <errno.h>
#include <string.h>
#include <time.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "logline.h"
#include "macro.h"
#include "termsafe.h"

static const char *const kind_names[_LOG_KIND_MAX] = {
        [LOG_KIND_UNPARSED] = "unparsed",
        [LOG_KIND_OTHER] = "other",
        [LOG_KIND_CONNECT] = "connect",
        [LOG_KIND_DISCONNECT] = "disconnect",
        [LOG_KIND_CLIENT] = "client",
        [LOG_KIND_PICKUP] = "pickup",
        [LOG_KIND_REJECT] = "reject",
        [LOG_KIND_REJECT_WARNING] = "reject_warning",
        [LOG_KIND_HOLD] = "hold",
        [LOG_KIND_DISCARD] = "discard",
        [LOG_KIND_MESSAGE_ID] = "message-id",
        [LOG_KIND_QUEUED] = "queued",
        [LOG_KIND_REMOVED] = "removed",
        [LOG_KIND_EXPIRED] = "expired",
        [LOG_KIND_DELIVERY] = "delivery",
        [LOG_KIND_BOUNCE] = "bounce",
        [LOG_KIND_SASL_FAILURE] = "sasl-failure",
        [LOG_KIND_LOGIN] = "login",
        [LOG_KIND_LOGIN_FAILED] = "login-failed",
        [LOG_KIND_LMTP_SAVED] = "saved",
        [LOG_KIND_SIEVE] = "sieve",
        [LOG_KIND_DKIM] = "dkim",
        [LOG_KIND_WARNING] = "warning",
        [LOG_KIND_FATAL] = "fatal",
        [LOG_KIND_PANIC] = "panic",
        [LOG_KIND_SUPPRESSED] = "suppressed",
};

const char *log_kind_to_string(LogKind k) {
        return k >= 0 && k < _LOG_KIND_MAX ? kind_names[k] : NULL;
}

LogKind log_kind_from_string(const char *s) {
        for (int k = 0; k < _LOG_KIND_MAX; k++)
                if (streq(kind_names[k], s))
                        return (LogKind) k;
        return _LOG_KIND_INVALID;
}

const char *log_status_to_string(LogStatus s) {
        static const char *const names[_LOG_STATUS_MAX] = {
                [LOG_STATUS_NONE] = "", [LOG_STATUS_SENT] = "sent", [LOG_STATUS_DEFERRED] = "deferred",
                [LOG_STATUS_BOUNCED] = "bounced", [LOG_STATUS_EXPIRED] = "expired", [LOG_STATUS_OTHER] = "other",
        };
        return s < _LOG_STATUS_MAX ? names[s] : "";
}

const char *log_reject_class_to_string(LogRejectClass c) {
        static const char *const names[_LOG_REJECT_MAX] = {
                [LOG_REJECT_OTHER] = "other",
                [LOG_REJECT_RELAY] = "relay-denied",
                [LOG_REJECT_UNKNOWN_USER] = "unknown-user",
                [LOG_REJECT_RBL] = "rbl",
                [LOG_REJECT_HELO] = "helo",
                [LOG_REJECT_SENDER] = "sender",
                [LOG_REJECT_SIZE] = "size",
                [LOG_REJECT_POSTSCREEN] = "postscreen",
                [LOG_REJECT_CLIENT] = "client",
                [LOG_REJECT_CONTENT] = "content",
        };
        return c < _LOG_REJECT_MAX ? names[c] : "other";
}

/* ---- small scanning helpers ---- */

static inline LogStr S(const char *p, size_t n) {
        return (LogStr) { p, n };
}

static inline bool has_prefix(const char *p, size_t n, const char *lit, size_t l) {
        return n >= l && memcmp(p, lit, l) == 0;
}
#define HAS_PREFIX(p, n, lit) has_prefix((p), (n), (lit), sizeof(lit) - 1)

/* How common a byte is in a mail log line (higher: rarer). glibc's memmem sets up a
 * shift table on every call, which costs more than the short lines it searches; a memchr
 * for the literal's rarest byte, then a memcmp, does not. */
static inline __attribute__((always_inline)) unsigned rarity(unsigned char c) {
        if (c == ' ' || c == 'e' || c == 't' || c == 'a' || c == 'o' || c == 'n' || c == 'i' || c == 's' ||
            c == 'r')
                return 0;
        if (c >= 'a' && c <= 'z')
                return 1;
        if (c == ',' || c == ':' || c == '.' || c == '=' || (c >= '0' && c <= '9'))
                return 1;
        return 2; /* upper case, '<', ';', '(' ... */
}

/* Where the rarest byte of a literal is: the first of the rarest class. Inlined into
 * FIND() with a string literal, the compiler works it out at build time. */
static inline __attribute__((always_inline)) size_t rarest(const char *lit, size_t l) {
        size_t k = 0;
        unsigned best = rarity((unsigned char) lit[0]);
#pragma GCC unroll 24
        for (size_t i = 1; i < 24; i++) /* literals are shorter; unrolled, it folds away */
                if (i < l && rarity((unsigned char) lit[i]) > best) {
                        k = i;
                        best = rarity((unsigned char) lit[i]);
                }
        return k;
}

static inline __attribute__((always_inline)) const char *find(const char *p, size_t n, const char *lit, size_t l) {
        if (!p || n < l) /* p: gcc -fsanitize cannot tell it is never NULL */
                return NULL;
        if (l == 0)
                return p;
        size_t k = rarest(lit, l);
        const char *q = p + k, *last = p + n - l + k; /* lit[k] may stand at q..last */
        while (q <= last && (q = memchr(q, lit[k], (size_t) (last - q) + 1))) {
                if (memcmp(q - k, lit, l) == 0)
                        return q - k;
                q++;
        }
        return NULL;
}
#define FIND(p, n, lit) find((p), (n), (lit), sizeof(lit) - 1)

/* The first of three bytes in [p, end), or end: sixteen bytes a step (a syslog tag or a
 * queue id is 7 to 25 bytes long: a byte loop with a table was a tenth of the parse). */
static inline const char *scan_to3(const char *p, const char *end, char a, char b, char c) {
#ifdef __SSE2__
        const __m128i va = _mm_set1_epi8(a), vb = _mm_set1_epi8(b), vc = _mm_set1_epi8(c);
        while (end - p >= 16) {
                __m128i x = _mm_loadu_si128((const __m128i *) (const void *) p);
                unsigned m = (unsigned) _mm_movemask_epi8(
                        _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, va), _mm_cmpeq_epi8(x, vb)), _mm_cmpeq_epi8(x, vc)));
                if (m)
                        return p + __builtin_ctz(m);
                p += 16;
        }
#endif
        while (p < end && *p != a && *p != b && *p != c)
                p++;
        return p;
}

static inline bool is_digit(char c) {
        return c >= '0' && c <= '9';
}

static inline bool is_word(char c) {
        return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

/* Digits at p (at most n, at most 19): the value, *ret_len digits consumed (0: none). */
static uint64_t parse_digits(const char *p, size_t n, size_t *ret_len) {
        uint64_t v = 0;
        size_t i = 0;
        while (i < n && i < 19 && is_digit(p[i]))
                v = v * 10 + (uint64_t) (p[i++] - '0');
        *ret_len = i;
        return v;
}

static int two_digits(const char *p) {
        if (!is_digit(p[0]) || !is_digit(p[1]))
                return -1;
        return (p[0] - '0') * 10 + (p[1] - '0');
}

/* "<...>" at p: the inside, and *ret_end after '>'. Without '>' in range: false. */
static bool angle(const char *p, const char *end, LogStr *ret, const char **ret_end) {
        if (p >= end || *p != '<')
                return false;
        const char *q = memchr(p + 1, '>', (size_t) (end - p - 1));
        if (!q)
                return false;
        *ret = S(p + 1, (size_t) (q - p - 1));
        *ret_end = q + 1;
        return true;
}

/* Is c one of stops (or NUL, as strchr would say)? Inlined with a literal, it unrolls to
 * a compare or three: a strchr call per byte cost more than the rest of the field. */
static inline __attribute__((always_inline)) bool is_stop(const char *stops, char c) {
        if (c == 0)
                return true;
        for (size_t i = 0; i < 4 && stops[i]; i++)
                if (c == stops[i])
                        return true;
        return false;
}

/* Value of " key=" or the line-start "key=" up to one of the stop characters (at most
 * four). */
static inline __attribute__((always_inline)) bool field_after(const char *p, size_t n, const char *key, size_t kl,
                                                              const char *stops, LogStr *ret) {
        const char *end = p + n, *k = p;
        while ((k = find(k, (size_t) (end - k), key, kl))) {
                if (k == p || k[-1] == ' ' || k[-1] == ',') {
                        const char *v = k + kl;
                        size_t l = 0;
                        while (v + l < end && !is_stop(stops, v[l]))
                                l++;
                        *ret = S(v, l);
                        return true;
                }
                k += kl;
        }
        return false;
}
#define FIELD_AFTER(p, n, key, stops, ret) field_after((p), (n), (key), sizeof(key) - 1, (stops), (ret))

/* host[ip] -> ip */
static LogStr ip_of(LogStr client) {
        const char *b = client.n ? memchr(client.p, '[', client.n) : NULL;
        if (!b)
                return S(NULL, 0);
        const char *e = memchr(b, ']', (size_t) (client.p + client.n - b));
        if (!e)
                return S(NULL, 0);
        return S(b + 1, (size_t) (e - b - 1));
}

/* ---- time ---- */

int64_t log_days_from_civil(int y, int m, int d) {
        /* Howard Hinnant's days_from_civil, month 0..11. */
        m += 1;
        y -= m <= 2;
        const int64_t era = (y >= 0 ? y : y - 399) / 400;
        const unsigned yoe = (unsigned) (y - era * 400);
        const unsigned doy = (153u * (unsigned) (m + (m > 2 ? -3 : 9)) + 2u) / 5u + (unsigned) d - 1u;
        const unsigned doe = yoe * 365u + yoe / 4u - yoe / 100u + doy;
        return era * 146097 + (int64_t) doe - 719468;
}

void log_clock_init(LogClock *c, int64_t now_usec) {
        *c = (LogClock) { .now_usec = now_usec, .cached_hour_key = -1 };
}

int64_t log_clock_local_offset(LogClock *c, int year, int month, int day, int hour) {
        int64_t key = ((int64_t) year * 12 + month) * 32 * 24 + day * 24 + hour;
        if (key == c->cached_hour_key)
                return c->cached_offset_sec;
        struct tm tm = { .tm_year = year - 1900, .tm_mon = month, .tm_mday = day, .tm_hour = hour,
                         .tm_min = 30, .tm_isdst = -1 };
        time_t t = mktime(&tm);
        int64_t off = t == (time_t) -1 ? 0 : tm.tm_gmtoff;
        c->cached_hour_key = key;
        c->cached_offset_sec = off;
        return off;
}

static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";

static int month_of(const char *p) {
        int i;
        switch (p[0]) { /* the first letter leaves at most three candidates */
        case 'J':
                i = p[1] == 'a' ? 0 : p[2] == 'n' ? 5 : 6;
                break;
        case 'F':
                i = 1;
                break;
        case 'M':
                i = p[2] == 'r' ? 2 : 4;
                break;
        case 'A':
                i = p[1] == 'p' ? 3 : 7;
                break;
        case 'S':
                i = 8;
                break;
        case 'O':
                i = 9;
                break;
        case 'N':
                i = 10;
                break;
        case 'D':
                i = 11;
                break;
        default:
                return -1;
        }
        return p[1] == months[i * 3 + 1] && p[2] == months[i * 3 + 2] ? i : -1;
}

static int64_t civil_usec(int y, int mo, int d, int h, int mi, int s) {
        return ((log_days_from_civil(y, mo, d) * 86400) + h * 3600 + mi * 60 + s) * INT64_C(1000000);
}

/* "Mmm dd HH:MM:SS " (day space-padded or zero-padded): returns bytes consumed or 0. */
static size_t parse_traditional(const char *p, size_t n, LogClock *c, LogEvent *ev) {
        if (n < 16)
                return 0;
        /* The same stamp as the previous line: the same time and year state. */
        if (c->last_stamp_len && n > c->last_stamp_len && memcmp(p, c->last_stamp, c->last_stamp_len) == 0) {
                ev->usec = c->last_usec;
                ev->hour = c->last_hour;
                ev->yday_key = c->last_yday_key;
                return c->last_stamp_len;
        }
        int mo = month_of(p);
        if (mo < 0 || p[3] != ' ')
                return 0;
        size_t i = 4;
        if (p[i] == ' ')
                i++;
        int day = 0;
        if (!is_digit(p[i]))
                return 0;
        day = p[i++] - '0';
        if (is_digit(p[i]))
                day = day * 10 + (p[i++] - '0');
        if (day < 1 || day > 31 || i + 10 > n || p[i] != ' ')
                return 0;
        i++;
        int h = two_digits(p + i), mi = two_digits(p + i + 3), s = two_digits(p + i + 6);
        if (h < 0 || mi < 0 || s < 0 || p[i + 2] != ':' || p[i + 5] != ':' || p[i + 8] != ' ' || h > 23 || mi > 59 ||
            s > 60)
                return 0;
        i += 9;

        /* The year: see LogClock. */
        int year;
        if (c->year == 0) {
                time_t now = (time_t) (c->now_usec / 1000000);
                struct tm tm;
                localtime_r(&now, &tm);
                year = tm.tm_year + 1900;
                if (civil_usec(year, mo, day, h, mi, s) > c->now_usec + tm.tm_gmtoff * INT64_C(1000000) +
                                                                     INT64_C(86400000000))
                        year--;
        } else {
                year = c->year;
                if (mo < c->month && c->month - mo >= 6)
                        year++;     /* Dec -> Jan */
                else if (mo > c->month && mo - c->month >= 6)
                        year--;     /* out of order across New Year */
        }
        if (c->year == 0 || year >= c->year) {
                c->year = year;
                c->month = mo;
        }
        int64_t off = log_clock_local_offset(c, year, mo, day, h);
        ev->usec = civil_usec(year, mo, day, h, mi, s) - off * INT64_C(1000000);
        ev->hour = h;
        ev->yday_key = year * 400 + mo * 32 + day;
        if (i <= sizeof(c->last_stamp)) {
                memcpy(c->last_stamp, p, i);
                c->last_stamp_len = i;
                c->last_usec = ev->usec;
                c->last_hour = ev->hour;
                c->last_yday_key = ev->yday_key;
        } else
                c->last_stamp_len = 0;
        return i;
}

/* "YYYY-MM-DDTHH:MM:SS[.frac](Z|+hh:mm|-hh:mm) ": bytes consumed or 0. */
static size_t parse_rfc3339(const char *p, size_t n, LogEvent *ev) {
        if (n < 21 || p[4] != '-' || p[7] != '-' || p[10] != 'T' || p[13] != ':' || p[16] != ':')
                return 0;
        int y1 = two_digits(p), y2 = two_digits(p + 2), mo = two_digits(p + 5), d = two_digits(p + 8),
            h = two_digits(p + 11), mi = two_digits(p + 14), s = two_digits(p + 17);
        if (y1 < 0 || y2 < 0 || mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 || h > 23 || mi < 0 || mi > 59 ||
            s < 0 || s > 60)
                return 0;
        size_t i = 19;
        int64_t frac = 0;
        if (i < n && p[i] == '.') {
                i++;
                size_t start = i;
                int64_t scale = 100000;
                while (i < n && is_digit(p[i])) {
                        if (scale > 0) {
                                frac += (p[i] - '0') * scale;
                                scale /= 10;
                        }
                        i++;
                }
                if (i == start)
                        return 0;
        }
        int64_t off = 0;
        if (i < n && p[i] == 'Z')
                i++;
        else if (i + 5 <= n && (p[i] == '+' || p[i] == '-')) {
                /* +hh:mm (RFC 3339), also +hhmm (journalctl's short-iso) */
                bool colon = i + 6 <= n && p[i + 3] == ':';
                int oh = two_digits(p + i + 1), om = two_digits(p + i + 3 + colon);
                if (oh < 0 || om < 0)
                        return 0;
                off = (oh * 3600 + om * 60) * (p[i] == '-' ? -1 : 1);
                i += 5 + colon;
        } else
                return 0;
        if (i >= n || p[i] != ' ')
                return 0;
        int year = y1 * 100 + y2;
        ev->usec = civil_usec(year, mo - 1, d, h, mi, s) - off * INT64_C(1000000) + frac;
        ev->hour = h;
        ev->yday_key = year * 400 + (mo - 1) * 32 + d;
        return i + 1;
}

/* ---- identifiers ---- */

/* Queue id bytes: 1 = letter or digit, 2 = also an upper-case hex digit. */
static const uint8_t qid_class[256] = {
        ['0' ... '9'] = 3, ['A' ... 'F'] = 3, ['G' ... 'Z'] = 1, ['a' ... 'z'] = 1,
};

bool log_is_queue_id(const char *s, size_t n) {
        if (n < 5 || n > 20)
                return false;
        unsigned all = 3;
        for (size_t i = 0; i < n; i++)
                all &= qid_class[(unsigned char) s[i]];
        if (all == 3)
                return true; /* short: hexadecimal */
        if (all == 0)
                return false;
        /* long: base-52 (no vowels) time and microseconds, a 'z', the inode */
        return n >= 12 && memchr(s, 'z', n) != NULL;
}

static LogFamily family_of(LogStr ident, LogStr *ret_service) {
        *ret_service = S(NULL, 0);
        if (HAS_PREFIX(ident.p, ident.n, "postfix")) {
                /* postfix/smtpd, postfix/submission/smtpd, postfix-out/smtp, postfix-script,
                 * postfix: the daemon is the last path component. */
                const char *slash = memrchr(ident.p, '/', ident.n);
                if (slash)
                        *ret_service = S(slash + 1, (size_t) (ident.p + ident.n - slash - 1));
                else
                        *ret_service = ident;
                return LOG_FAMILY_POSTFIX;
        }
        if (HAS_PREFIX(ident.p, ident.n, "dovecot"))
                return LOG_FAMILY_DOVECOT;
        if (LOGSTR_IS(ident, "opendkim"))
                return LOG_FAMILY_OPENDKIM;
        if (LOGSTR_IS(ident, "systemd-journald"))
                return LOG_FAMILY_JOURNALD;
        return LOG_FAMILY_OTHER;
}

/* ---- Postfix messages ---- */

static LogRejectClass reject_class(const LogEvent *ev, LogStr reason) {
        const char *p = reason.p;
        size_t n = reason.n;
        if (n == 0)
                return LOG_REJECT_OTHER;
        if (FIND(p, n, "Relay access denied"))
                return LOG_REJECT_RELAY;
        if (FIND(p, n, "blocked using "))
                return LOG_REJECT_RBL;
        if (FIND(p, n, "User unknown") || FIND(p, n, "Recipient address rejected"))
                return LOG_REJECT_UNKNOWN_USER;
        if (FIND(p, n, "Helo command rejected"))
                return LOG_REJECT_HELO;
        if (FIND(p, n, "Sender address rejected"))
                return LOG_REJECT_SENDER;
        if (FIND(p, n, "Message size exceeds") || FIND(p, n, "message size"))
                return LOG_REJECT_SIZE;
        if (LOGSTR_IS(ev->service, "postscreen"))
                return LOG_REJECT_POSTSCREEN;
        if (FIND(p, n, "Client host rejected"))
                return LOG_REJECT_CLIENT;
        return LOG_REJECT_OTHER;
}

/* "STAGE from host[ip]: CODE DSN reason; from=<x> to=<y> proto=P helo=<h>" */
static void parse_reject(LogEvent *ev, const char *p, const char *end) {
        const char *sp = memchr(p, ' ', (size_t) (end - p));
        if (!sp)
                return;
        ev->stage = S(p, (size_t) (sp - p));
        p = sp + 1;
        if (HAS_PREFIX(p, (size_t) (end - p), "from ")) {
                p += 5;
                const char *c = FIND(p, (size_t) (end - p), ": ");
                if (!c)
                        return;
                ev->client = S(p, (size_t) (c - p));
                /* postscreen: [ip]:port */
                ev->client_ip = ip_of(ev->client);
                p = c + 2;
        }
        if (end - p >= 4 && is_digit(p[0]) && is_digit(p[1]) && is_digit(p[2]) && p[3] == ' ') {
                ev->code = S(p, 3);
                const char *q = p + 4;
                if (end - q >= 6 && is_digit(q[0]) && q[1] == '.') {
                        const char *e = memchr(q, ' ', (size_t) (end - q));
                        if (e)
                                ev->dsn = S(q, (size_t) (e - q));
                }
        }
        const char *semi = FIND(p, (size_t) (end - p), "; from=<");
        const char *rend = semi ? semi : end;
        ev->reason = S(p, (size_t) (rend - p));
        if (semi) {
                const char *q = semi + 7, *after;
                if (angle(q, end, &ev->from, &after)) {
                        const char *t = FIND(after, (size_t) (end - after), "to=<");
                        if (t)
                                (void) angle(t + 3, end, &ev->to, &after);
                }
        }
        const char *bl = FIND(ev->reason.p, ev->reason.n, "blocked using ");
        if (bl) {
                const char *z = bl + 14, *ze = z;
                while (ze < rend && *ze != ';' && *ze != ',' && *ze != ' ')
                        ze++;
                ev->rbl = S(z, (size_t) (ze - z));
        }
        ev->reject_class = reject_class(ev, ev->reason);
}

/* pflogsumm's delivery shape: to=<a>, [orig_to=<b>, ]relay=R, [conn_use=N, ]delay=D,
 * [delays=a/b/c/d, ][dsn=X, ]status=S[ (reason)] */
static bool parse_delivery(LogEvent *ev, const char *p, const char *end) {
        const char *q;
        if (!angle(p + 3, end, &ev->to, &q))
                return false;
#define EXPECT(lit) (HAS_PREFIX(q, (size_t) (end - q), lit) ? (q += sizeof(lit) - 1, true) : false)
#define VALUE(dst)                                                              \
        do {                                                                    \
                const char *v_ = q;                                             \
                while (q < end && *q != ',')                                    \
                        q++;                                                    \
                if (q == v_ || !EXPECT(", "))                                   \
                        return false;                                           \
                dst = S(v_, (size_t) (q - 2 - v_));                             \
        } while (0)
        if (!EXPECT(", "))
                return false;
        if (EXPECT("orig_to=")) {
                if (!angle(q, end, &ev->orig_to, &q) || !EXPECT(", "))
                        return false;
        }
        if (!EXPECT("relay="))
                return false;
        VALUE(ev->relay);
        if (EXPECT("conn_use=")) {
                LogStr unused;
                VALUE(unused);
                (void) unused;
        }
        if (!EXPECT("delay="))
                return false;
        VALUE(ev->delay);
        if (EXPECT("delays="))
                VALUE(ev->delays);
        if (EXPECT("dsn="))
                VALUE(ev->dsn);
        if (!EXPECT("status="))
                return false;
#undef VALUE
#undef EXPECT
        const char *s = q;
        while (q < end && *q != ' ' && *q != '\t')
                q++;
        if (q == s)
                return false;
        LogStr st = S(s, (size_t) (q - s));
        ev->status = LOGSTR_IS(st, "sent")       ? LOG_STATUS_SENT
                     : LOGSTR_IS(st, "deferred") ? LOG_STATUS_DEFERRED
                     : LOGSTR_IS(st, "bounced")  ? LOG_STATUS_BOUNCED
                     : LOGSTR_IS(st, "expired")  ? LOG_STATUS_EXPIRED
                                                 : LOG_STATUS_OTHER;
        /* The rest: " (reason)" */
        if (q + 1 < end && q[0] == ' ' && q[1] == '(') {
                const char *r = q + 2, *re = end;
                if (re > r && re[-1] == ')')
                        re--;
                ev->reason = S(r, (size_t) (re - r));
        }
        ev->forwarded = FIND(q, (size_t) (end - q), "forwarded as ") != NULL;
        const char *qa = FIND(ev->reason.p, ev->reason.n, "queued as ");
        if (qa) {
                const char *id = qa + 10, *ie = id;
                while (ie < ev->reason.p + ev->reason.n && (is_word(*ie)))
                        ie++;
                if (log_is_queue_id(id, (size_t) (ie - id)))
                        ev->new_queue_id = S(id, (size_t) (ie - id));
        }
        ev->kind = LOG_KIND_DELIVERY;
        return true;
}

static bool parse_from_size(LogEvent *ev, const char *p, const char *end) {
        const char *f = p;
        while ((f = FIND(f, (size_t) (end - f), "from=<"))) {
                const char *q;
                LogStr from;
                if (angle(f + 5, end, &from, &q) && HAS_PREFIX(q, (size_t) (end - q), ", size=")) {
                        size_t dl;
                        uint64_t size = parse_digits(q + 7, (size_t) (end - q - 7), &dl);
                        if (dl > 0) {
                                ev->from = from;
                                ev->size = size;
                                q += 7 + dl;
                                if (HAS_PREFIX(q, (size_t) (end - q), ", nrcpt=")) {
                                        uint64_t nr = parse_digits(q + 8, (size_t) (end - q - 8), &dl);
                                        ev->nrcpt = (uint32_t) MIN(nr, (uint64_t) UINT32_MAX);
                                }
                                ev->kind = LOG_KIND_QUEUED;
                                return true;
                        }
                }
                f += 6;
        }
        return false;
}

/* Does the cleanup text start a header/body check action? Returns its kind. */
static LogKind cleanup_action(LogEvent *ev, const char *p, const char *end) {
        static const struct {
                const char *word;
                size_t len;
                LogKind kind;
        } words[] = {
                { "reject: ", 8, LOG_KIND_REJECT },
                { "milter-reject: ", 15, LOG_KIND_REJECT },
                { "warning: ", 9, LOG_KIND_REJECT_WARNING },
                { "hold: ", 6, LOG_KIND_HOLD },
                { "discard: ", 9, LOG_KIND_DISCARD },
        };
        static const struct {
                const char *word;
                size_t len;
        } stages[] = { { "header ", 7 }, { "body ", 5 }, { "END-OF-MESSAGE ", 15 } };

        for (size_t i = 0; i < ELEMENTSOF(words); i++) {
                if (!has_prefix(p, (size_t) (end - p), words[i].word, words[i].len))
                        continue;
                const char *s = p + words[i].len;
                for (size_t j = 0; j < ELEMENTSOF(stages); j++)
                        if (has_prefix(s, (size_t) (end - s), stages[j].word, stages[j].len)) {
                                ev->stage = S(s, stages[j].len - 1);
                                const char *r = s + stages[j].len;
                                if (HAS_PREFIX(r, (size_t) (end - r), "from ")) {
                                        /* END-OF-MESSAGE from host[ip]: reason */
                                        const char *c = r + 5, *rb = memchr(c, ']', (size_t) (end - c));
                                        if (rb && HAS_PREFIX(rb + 1, (size_t) (end - rb - 1), ": ")) {
                                                ev->client = S(c, (size_t) (rb + 1 - c));
                                                ev->client_ip = ip_of(ev->client);
                                                r = rb + 3;
                                        }
                                }
                                const char *semi = FIND(r, (size_t) (end - r), "; from=<");
                                ev->reason = S(r, (size_t) ((semi ? semi : end) - r));
                                if (semi) {
                                        const char *after;
                                        if (angle(semi + 7, end, &ev->from, &after)) {
                                                const char *t = FIND(after, (size_t) (end - after), "to=<");
                                                if (t)
                                                        (void) angle(t + 3, end, &ev->to, &after);
                                        }
                                }
                                const char *fr = ev->client.n ? NULL : FIND(r, (size_t) (end - r), " from ");
                                if (fr && (!semi || fr < semi)) {
                                        const char *c = fr + 6, *ce = c;
                                        while (ce < end && *ce != ';' && *ce != ':' && *ce != ' ')
                                                ce++;
                                        /* host[ip] may contain ':' inside the brackets (IPv6) */
                                        const char *rb = memchr(c, ']', (size_t) (end - c));
                                        if (rb && (!semi || rb < semi))
                                                ce = rb + 1;
                                        ev->client = S(c, (size_t) (ce - c));
                                        ev->client_ip = ip_of(ev->client);
                                }
                                ev->reject_class = LOG_REJECT_CONTENT;
                                return words[i].kind;
                        }
        }
        return LOG_KIND_OTHER;
}

static void parse_sasl_failure(LogEvent *ev, const char *p, const char *end) {
        /* host[ip]: SASL METHOD authentication failed: reason[, sasl_username=user] */
        const char *c = FIND(p, (size_t) (end - p), ": SASL ");
        if (!c)
                return;
        const char *af = FIND(c, (size_t) (end - c), " authentication failed");
        if (!af)
                return;
        ev->client = S(p, (size_t) (c - p));
        ev->client_ip = ip_of(ev->client);
        ev->sasl_method = S(c + 7, (size_t) (af - c - 7));
        const char *r = af + 22;
        if (HAS_PREFIX(r, (size_t) (end - r), ": "))
                r += 2;
        const char *u = FIND(r, (size_t) (end - r), ", sasl_username=");
        ev->reason = S(r, (size_t) ((u ? u : end) - r));
        if (u)
                ev->sasl_user = S(u + 16, (size_t) (end - u - 16));
        ev->kind = LOG_KIND_SASL_FAILURE;
}


static void parse_postfix(LogEvent *ev) {
        const char *p = ev->message.p, *end = p + ev->message.n;
        bool has_pid = ev->pid > 0;
        LogStr svc = ev->service;

        /* The first word before ": " (pflogsumm's "qid"). */
        const char *t = scan_to3(p, end, ':', ' ', '\t'); /* all bytes but these */
        bool token_colon = t + 1 < end && t[0] == ':' && t[1] == ' ';
        if (token_colon) {
                ev->token = S(p, (size_t) (t - p));
                ev->text = S(t + 2, (size_t) (end - t - 2));
                if (log_is_queue_id(ev->token.p, ev->token.n))
                        ev->queue_id = ev->token;
        } else
                ev->text = ev->message;
        const char *x = ev->text.p, *xe = end;
        size_t xn = ev->text.n;

        if (token_colon && has_pid && LOGSTR_IS(svc, "cleanup")) {
                LogKind k = cleanup_action(ev, x, xe);
                if (k != LOG_KIND_OTHER) {
                        ev->kind = k;
                        return;
                }
        }
        if (token_colon) {
                if (LOGSTR_IS(ev->token, "warning")) {
                        ev->kind = LOG_KIND_WARNING;
                        if (LOGSTR_IS(svc, "smtpd"))
                                parse_sasl_failure(ev, x, xe);
                        return;
                }
                if (LOGSTR_IS(ev->token, "fatal")) {
                        ev->kind = LOG_KIND_FATAL;
                        return;
                }
                if (LOGSTR_IS(ev->token, "panic")) {
                        ev->kind = LOG_KIND_PANIC;
                        return;
                }
                LogKind direct = LOGSTR_IS(ev->token, "reject")           ? LOG_KIND_REJECT
                                 : LOGSTR_IS(ev->token, "reject_warning") ? LOG_KIND_REJECT_WARNING
                                 : LOGSTR_IS(ev->token, "hold")           ? LOG_KIND_HOLD
                                 : LOGSTR_IS(ev->token, "discard")        ? LOG_KIND_DISCARD
                                                                          : LOG_KIND_OTHER;
                if (direct != LOG_KIND_OTHER) {
                        ev->kind = direct;
                        parse_reject(ev, x, xe);
                        return;
                }
        }
        if (LOGSTR_IS(svc, "master")) {
                ev->kind = LOG_KIND_OTHER;
                return;
        }
        if (LOGSTR_IS(svc, "smtpd") || LOGSTR_IS(svc, "postscreen")) {
                bool word_token = token_colon && has_pid && ev->token.n > 0;
                for (size_t i = 0; word_token && i < ev->token.n; i++)
                        word_token = is_word(ev->token.p[i]);
                if (word_token && HAS_PREFIX(x, xn, "client=")) {
                        const char *c = x + 7, *ce = c;
                        while (ce < xe && *ce != ',')
                                ce++;
                        ev->client = S(c, (size_t) (ce - c));
                        ev->client_ip = ip_of(ev->client);
                        (void) FIELD_AFTER(ce, (size_t) (xe - ce), "sasl_method=", ",", &ev->sasl_method);
                        (void) FIELD_AFTER(ce, (size_t) (xe - ce), "sasl_username=", ",", &ev->sasl_user);
                        ev->kind = LOG_KIND_CLIENT;
                        return;
                }
                if (word_token) {
                        static const struct {
                                const char *w;
                                size_t l;
                                LogKind k;
                        } acts[] = {
                                { "reject: ", 8, LOG_KIND_REJECT },
                                { "reject_warning: ", 16, LOG_KIND_REJECT_WARNING },
                                { "hold: ", 6, LOG_KIND_HOLD },
                                { "discard: ", 9, LOG_KIND_DISCARD },
                        };
                        for (size_t i = 0; i < ELEMENTSOF(acts); i++)
                                if (has_prefix(x, xn, acts[i].w, acts[i].l)) {
                                        ev->kind = acts[i].k;
                                        parse_reject(ev, x + acts[i].l, xe);
                                        return;
                                }
                }
                if (HAS_PREFIX(ev->message.p, ev->message.n, "connect from ")) {
                        ev->client = S(ev->message.p + 13, ev->message.n - 13);
                        ev->client_ip = ip_of(ev->client);
                        ev->kind = LOG_KIND_CONNECT;
                        return;
                }
                if (HAS_PREFIX(ev->message.p, ev->message.n, "disconnect from ")) {
                        const char *c = ev->message.p + 16, *ce = c;
                        while (ce < end && *ce != ' ')
                                ce++;
                        ev->client = S(c, (size_t) (ce - c));
                        ev->client_ip = ip_of(ev->client);
                        ev->kind = LOG_KIND_DISCONNECT;
                        return;
                }
                ev->kind = LOG_KIND_OTHER;
                return;
        }

        /* Every other daemon: qmgr, cleanup, pickup, delivery agents, bounce ... */
        ev->kind = LOG_KIND_OTHER;
        if (!token_colon)
                return;
        /* The shapes Postfix writes, by their first bytes; then pflogsumm's "anywhere"
         * matches for the rest. */
        if (HAS_PREFIX(x, xn, "to=<")) {
                if (parse_delivery(ev, x, xe))
                        return;
        } else if (LOGSTR_IS(ev->text, "removed")) {
                ev->kind = LOG_KIND_REMOVED;
                return;
        } else if (HAS_PREFIX(x, xn, "message-id=")) {
                if (!FIND(x, xn, "from=<"))
                        goto message_id;
        }
        if (parse_from_size(ev, x, xe))
                return;
        /* pflogsumm looks for the delivery shape anywhere in the line. */
        const char *tt = x;
        while (tt < xe && (tt = FIND(tt + 1, (size_t) (xe - tt - 1), "to=<")))
                if (tt[-1] != '_' && parse_delivery(ev, tt, xe))
                        return;
        ev->to = ev->orig_to = ev->relay = ev->delay = ev->delays = ev->dsn = S(NULL, 0);
        ev->status = LOG_STATUS_NONE;
        if (LOGSTR_IS(svc, "pickup") && (FIND(ev->message.p, ev->message.n, ": sender=") ||
                                         FIND(ev->message.p, ev->message.n, ": uid="))) {
                LogStr f;
                const char *after;
                const char *fr = FIND(x, xn, "from=<");
                if (fr && angle(fr + 5, xe, &f, &after))
                        ev->from = f;
                ev->kind = LOG_KIND_PICKUP;
                return;
        }
        if (LOGSTR_IS(ev->text, "removed")) {
                ev->kind = LOG_KIND_REMOVED;
                return;
        }
        if (HAS_PREFIX(x, xn, "message-id=")) {
message_id:;
                const char *m = x + 11, *after;
                if (!angle(m, xe, &ev->message_id, &after)) {
                        const char *me = m;
                        while (me < xe && *me != ' ' && *me != ',')
                                me++;
                        ev->message_id = S(m, (size_t) (me - m));
                }
                ev->kind = LOG_KIND_MESSAGE_ID;
                return;
        }
        if (HAS_PREFIX(x, xn, "from=<") && FIND(x, xn, ", status=expired")) {
                const char *after;
                (void) angle(x + 5, xe, &ev->from, &after);
                ev->status = LOG_STATUS_EXPIRED;
                ev->kind = LOG_KIND_EXPIRED;
                return;
        }
        const char *nd = FIND(x, xn, " notification: ");
        if (nd && (HAS_PREFIX(x, xn, "sender ") || HAS_PREFIX(x, xn, "postmaster "))) {
                const char *id = nd + 15;
                if (log_is_queue_id(id, (size_t) (xe - id)))
                        ev->new_queue_id = S(id, (size_t) (xe - id));
                ev->kind = LOG_KIND_BOUNCE;
                return;
        }
}

/* ---- Dovecot ---- */

static void parse_dovecot(LogEvent *ev) {
        const char *p = ev->message.p, *end = p + ev->message.n;
        /* "imap-login: ...", "lmtp(bob)<12><sess>: ...", "auth-worker(9): ..." */
        const char *c = p;
        while ((c = memchr(c, ':', (size_t) (end - c))) && (c + 1 >= end || c[1] != ' '))
                c++;
        if (!c) {
                ev->kind = LOG_KIND_OTHER;
                return;
        }
        const char *se = p;
        while (se < c && *se != '(' && *se != '<')
                se++;
        ev->service = S(p, (size_t) (se - p));
        if (se < c && *se == '(') {
                const char *ue = memchr(se, ')', (size_t) (c - se));
                if (ue)
                        ev->user = S(se + 1, (size_t) (ue - se - 1));
        }
        const char *x = c + 2;
        size_t xn = (size_t) (end - x);
        ev->text = S(x, xn);
        ev->kind = LOG_KIND_OTHER;

        if (HAS_PREFIX(x, xn, "Warning: ") || HAS_PREFIX(x, xn, "Error: ")) {
                ev->kind = LOG_KIND_WARNING;
                return;
        }
        if (HAS_PREFIX(x, xn, "Fatal: ")) {
                ev->kind = LOG_KIND_FATAL;
                return;
        }
        if (ev->service.n > 6 && memcmp(ev->service.p + ev->service.n - 6, "-login", 6) == 0) {
                ev->protocol = S(ev->service.p, ev->service.n - 6);
                bool login = HAS_PREFIX(x, xn, "Login: ");
                bool failed = !login && FIND(x, xn, "(auth failed") != NULL;
                if (!login && !failed)
                        return;
                const char *f = login ? x + 7 : FIND(x, xn, "): ");
                if (!f)
                        return;
                if (!login)
                        f += 3;
                LogStr v;
                const char *after;
                const char *u = FIND(f, (size_t) (end - f), "user=<");
                if (u && angle(u + 5, end, &v, &after))
                        ev->user = v;
                (void) FIELD_AFTER(f, (size_t) (end - f), "rip=", ",", &ev->client_ip);
                (void) FIELD_AFTER(f, (size_t) (end - f), "method=", ",", &ev->sasl_method);
                ev->tls = FIND(f, (size_t) (end - f), ", TLS") != NULL;
                ev->kind = login ? LOG_KIND_LOGIN : LOG_KIND_LOGIN_FAILED;
                return;
        }
        if (LOGSTR_IS(ev->service, "lmtp")) {
                bool sieve = HAS_PREFIX(x, xn, "sieve: ");
                const char *m = sieve ? x + 7 : x;
                const char *after;
                if (HAS_PREFIX(m, (size_t) (end - m), "msgid=") && angle(m + 6, end, &ev->message_id, &after) &&
                    HAS_PREFIX(after, (size_t) (end - after), ": ")) {
                        ev->reason = S(after + 2, (size_t) (end - after - 2));
                        if (sieve)
                                ev->kind = LOG_KIND_SIEVE;
                        else if (HAS_PREFIX(ev->reason.p, ev->reason.n, "saved mail to "))
                                ev->kind = LOG_KIND_LMTP_SAVED;
                }
                return;
        }
}

/* ---- OpenDKIM ---- */

static void parse_opendkim(LogEvent *ev) {
        const char *p = ev->message.p, *end = p + ev->message.n;
        const char *c = FIND(p, ev->message.n, ": ");
        ev->kind = LOG_KIND_OTHER;
        if (!c || !log_is_queue_id(p, (size_t) (c - p)))
                return;
        ev->token = ev->queue_id = S(p, (size_t) (c - p));
        const char *x = c + 2;
        size_t xn = (size_t) (end - x);
        ev->text = S(x, xn);
        ev->kind = LOG_KIND_DKIM;
        ev->reason = ev->text;
        if (HAS_PREFIX(x, xn, "DKIM-Signature field added")) {
                ev->dkim_signed = true;
                (void) FIELD_AFTER(x, xn, "d=", ",)", &ev->dkim_domain);
        } else
                (void) FIELD_AFTER(x, xn, "d=", " ,)", &ev->dkim_domain);
}

static void parse_journald(LogEvent *ev) {
        const char *p = ev->message.p;
        size_t n = ev->message.n;
        ev->kind = LOG_KIND_OTHER;
        const char *s = FIND(p, n, "Suppressed ");
        if (!s)
                return;
        size_t dl;
        uint64_t v = parse_digits(s + 11, (size_t) (p + n - s - 11), &dl);
        if (dl == 0 || !HAS_PREFIX(s + 11 + dl, (size_t) (p + n - s - 11 - dl), " messages from "))
                return;
        ev->suppressed = v;
        ev->text = S(s + 11 + dl + 15, (size_t) (p + n - (s + 11 + dl + 15)));
        ev->kind = LOG_KIND_SUPPRESSED;
}

void logline_parse_message(LogEvent *ev) {
        switch (ev->family) {
        case LOG_FAMILY_POSTFIX:
                parse_postfix(ev);
                break;
        case LOG_FAMILY_DOVECOT:
                parse_dovecot(ev);
                break;
        case LOG_FAMILY_OPENDKIM:
                parse_opendkim(ev);
                break;
        case LOG_FAMILY_JOURNALD:
                parse_journald(ev);
                break;
        default:
                ev->kind = LOG_KIND_OTHER;
        }
}

/* Control characters (but tab) and invalid UTF-8 make a line unparsed: what reaches a
 * later display step is then only ever the termsafe'd copy. Fast path: all ASCII. */
static bool line_is_clean(const char *p, size_t n) {
        const uint64_t ones = UINT64_C(0x0101010101010101), highs = UINT64_C(0x8080808080808080);
        bool high = false;
        size_t i = 0;
        /* Eight bytes at a time: any byte < 0x20, == 0x7f or >= 0x80 sends the word to the
         * byte loop (tabs and UTF-8 are rare in mail logs). */
#ifdef __SSE2__
        /* Thirty-two at a time. x + 1 signed-less-than 0x21 catches the lot at once: < 0x20
         * stays at most 0x20, 0x7f wraps to -128, >= 0x80 is negative (0xff wraps to 0). */
        const __m128i one = _mm_set1_epi8(1), lim = _mm_set1_epi8(0x21);
#define BAD16(x) _mm_cmplt_epi8(_mm_add_epi8((x), one), lim)
        for (; i + 32 <= n; i += 32) {
                __m128i a = _mm_loadu_si128((const __m128i *) (const void *) (p + i)),
                        b = _mm_loadu_si128((const __m128i *) (const void *) (p + i + 16));
                if (_mm_movemask_epi8(_mm_or_si128(BAD16(a), BAD16(b))))
                        break;
        }
        if (i + 32 > n && n >= 16) {
                /* the rest (up to 31 bytes), as the last 16 or 32 bytes, overlapping what was
                 * checked */
                __m128i b = _mm_loadu_si128((const __m128i *) (const void *) (p + n - 16));
                __m128i a = n - i > 16 ? _mm_loadu_si128((const __m128i *) (const void *) (p + i)) : b;
                if (!_mm_movemask_epi8(_mm_or_si128(BAD16(a), BAD16(b))))
                        return true;
        }
#undef BAD16
#endif
        for (; i + 8 <= n; i += 8) {
                uint64_t x;
                memcpy(&x, p + i, 8);
                uint64_t lt20 = (x - ones * 0x20) & ~x & highs;
                uint64_t y = x ^ (ones * 0x7f);
                uint64_t eq7f = (y - ones) & ~y & highs;
                if (!((lt20 | eq7f | (x & highs))))
                        continue;
                break;
        }
        for (; i < n; i++) {
                unsigned char c = (unsigned char) p[i];
                if (c < 0x20 && c != '\t')
                        return false;
                if (c >= 0x7f) {
                        if (c == 0x7f)
                                return false;
                        high = true;
                }
        }
        return !high || utf8_is_valid(p, n);
}


/* All zero. The event is 520 bytes; for a constant size that large GCC emits rep stos,
 * which takes longer to start on every line than libc's vector memset takes to finish:
 * the call goes through a pointer it cannot see through. */
static void *(*volatile const zero_bytes)(void *, int, size_t) = memset;

static inline void event_reset(LogEvent *ev) {
        zero_bytes(ev, 0, sizeof(*ev));
}

LogKind logline_parse_syslog(const char *line, size_t len, LogClock *clock, LogEvent *ev) {
        event_reset(ev);
        ev->kind = LOG_KIND_UNPARSED;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
                len--;
        if (len == 0 || len > LOGLINE_MAX || !line_is_clean(line, len))
                return LOG_KIND_UNPARSED;
        size_t i = is_digit(line[0]) ? parse_rfc3339(line, len, ev) : parse_traditional(line, len, clock, ev);
        if (i == 0) {
                ev->usec = 0;
                return LOG_KIND_UNPARSED;
        }
        /* host */
        const char *p = line + i, *end = line + len;
        const char *sp = memchr(p, ' ', (size_t) (end - p));
        if (!sp || sp == p) {
                ev->usec = 0;
                return LOG_KIND_UNPARSED;
        }
        ev->host = S(p, (size_t) (sp - p));
        p = sp + 1;
        /* ident[pid]: or ident: */
        /* A tag's bytes are all but '[', ':' and ' ' (control bytes but tab are ruled out
         * by line_is_clean already). */
        const char *c = scan_to3(p, end, '[', ':', ' ');
        /* A line without "tag[pid]: " or "tag: " is not understood (a cut line, another format). */
        if (c == p || c >= end || *c == ' ') {
                ev->usec = 0;
                return LOG_KIND_UNPARSED;
        }
        ev->ident = S(p, (size_t) (c - p));
        if (*c == '[') {
                size_t dl;
                uint64_t pid = parse_digits(c + 1, (size_t) (end - c - 1), &dl);
                if (dl == 0 || c + 1 + dl >= end || c[1 + dl] != ']') {
                        ev->usec = 0;
                        return LOG_KIND_UNPARSED;
                }
                ev->pid = (uint32_t) MIN(pid, (uint64_t) UINT32_MAX);
                c += 2 + dl;
        }
        if (c >= end || *c != ':') {
                ev->usec = 0;
                return LOG_KIND_UNPARSED;
        }
        c++;
        if (c < end && *c == ' ')
                c++;
        ev->message = S(c, (size_t) (end - c));
        ev->family = family_of(ev->ident, &ev->service);
        logline_parse_message(ev);
        return ev->kind;
}

LogKind logline_parse_entry(const char *ident, size_t ident_len, uint32_t pid, const char *message,
                            size_t message_len, int64_t usec, LogClock *clock, LogEvent *ev) {
        event_reset(ev);
        ev->kind = LOG_KIND_UNPARSED;
        ev->usec = usec;
        /* Kept for display (made terminal-safe there) even when the entry is unparsed. */
        ev->ident = S(ident, ident ? ident_len : 0);
        ev->pid = pid;
        ev->message = S(message, message ? message_len : 0);
        if (!message || message_len > LOGLINE_MAX || !line_is_clean(message, message_len) ||
            (ident && !line_is_clean(ident, ident_len)))
                return LOG_KIND_UNPARSED;
        /* The local hour and day of the timestamp, cached per UTC hour. */
        int64_t sec = usec / 1000000;
        int64_t hour_key = sec / 3600;
        if (hour_key != clock->cached_hour_key) {
                time_t t = (time_t) sec;
                struct tm tm;
                localtime_r(&t, &tm);
                clock->cached_hour_key = hour_key;
                clock->cached_offset_sec = tm.tm_gmtoff;
        }
        int64_t local = sec + clock->cached_offset_sec;
        int64_t days = local >= 0 ? local / 86400 : (local - 86399) / 86400;
        ev->hour = (int) ((local - days * 86400) / 3600);
        ev->yday_key = (int) days; /* only compared for equality */
        ev->ident = S(ident, ident ? ident_len : 0);
        ev->pid = pid;
        ev->message = S(message, message_len);
        ev->family = family_of(ev->ident, &ev->service);
        logline_parse_message(ev);
        return ev->kind;
}

/* ---- splitter ---- */

int log_splitter_init(LogSplitter *s) {
        *s = (LogSplitter) {};
        s->buf = malloc(LOGLINE_MAX);
        return s->buf ? 0 : -ENOMEM;
}

void log_splitter_done(LogSplitter *s) {
        free(s->buf);
        *s = (LogSplitter) {};
}

void log_splitter_feed(LogSplitter *s, const char *data, size_t len, LogLineFunc f, void *userdata) {
        while (len > 0) {
                const char *nl = memchr(data, '\n', len);
                size_t n = nl ? (size_t) (nl - data) : len;
                if (s->skipping) {
                        if (nl)
                                s->skipping = false;
                } else if (s->used == 0 && nl) {
                        /* the common case: a whole line in the chunk, no copy */
                        if (n > LOGLINE_MAX)
                                f(data, LOGLINE_MAX, true, userdata);
                        else
                                f(data, n, false, userdata);
                } else {
                        size_t room = LOGLINE_MAX - s->used;
                        if (n > room) {
                                memcpy(s->buf + s->used, data, room);
                                f(s->buf, LOGLINE_MAX, true, userdata);
                                s->used = 0;
                                s->skipping = !nl;
                        } else {
                                memcpy(s->buf + s->used, data, n);
                                s->used += n;
                                if (nl) {
                                        f(s->buf, s->used, false, userdata);
                                        s->used = 0;
                                }
                        }
                }
                if (!nl)
                        break;
                data = nl + 1;
                len -= n + 1;
        }
}

void log_splitter_finish(LogSplitter *s, LogLineFunc f, void *userdata) {
        if (s->used > 0 && !s->skipping)
                f(s->buf, s->used, false, userdata);
        s->used = 0;
        s->skipping = false;
}
