/* The mail log line parser: syslog lines (traditional or RFC 3339 timestamps) and journal
 * entries into events. Pure: no I/O, no allocation, no regex; an event points into the
 * line it came from, so the same parser serves a file, the journal, a fuzzer and a test. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Lines longer than this are not parsed (counted as unparsed by the callers); a splitter
 * never buffers more than this. */
#define LOGLINE_MAX (64u * 1024u)

/* A piece of the line: not NUL-terminated, may be empty (p may then be NULL). */
typedef struct LogStr {
        const char *p;
        size_t n;
} LogStr;

static inline bool logstr_eq(LogStr s, const char *lit, size_t n) {
        return s.n == n && (n == 0 || __builtin_memcmp(s.p, lit, n) == 0);
}
#define LOGSTR_IS(s, lit) logstr_eq((s), (lit), sizeof(lit) - 1)

typedef enum LogFamily {
        LOG_FAMILY_OTHER,    /* not mail: a syslog file holds everything */
        LOG_FAMILY_POSTFIX,
        LOG_FAMILY_DOVECOT,
        LOG_FAMILY_OPENDKIM,
        LOG_FAMILY_JOURNALD, /* journald's own notices (rate limiting) */
        _LOG_FAMILY_MAX,
} LogFamily;

typedef enum LogKind {
        LOG_KIND_UNPARSED,       /* not a log line at all (no timestamp, garbage) */
        LOG_KIND_OTHER,          /* a mail program's line this parser has no event for */
        LOG_KIND_CONNECT,        /* smtpd: connect from host[ip] */
        LOG_KIND_DISCONNECT,
        LOG_KIND_CLIENT,         /* smtpd: QID: client=host[ip][, sasl_method=, sasl_username=] */
        LOG_KIND_PICKUP,         /* pickup: QID: uid=N from=<x> */
        LOG_KIND_REJECT,         /* smtpd/postscreen NOQUEUE or QID reject, cleanup header/body reject */
        LOG_KIND_REJECT_WARNING,
        LOG_KIND_HOLD,
        LOG_KIND_DISCARD,
        LOG_KIND_MESSAGE_ID,     /* cleanup: QID: message-id=<x> */
        LOG_KIND_QUEUED,         /* qmgr: QID: from=<x>, size=N, nrcpt=N */
        LOG_KIND_REMOVED,        /* qmgr: QID: removed */
        LOG_KIND_EXPIRED,        /* qmgr: QID: from=<x>, status=expired, returned to sender */
        LOG_KIND_DELIVERY,       /* smtp/lmtp/local/virtual/pipe/error...: QID: to=<x>, ..., status=S (...) */
        LOG_KIND_BOUNCE,         /* bounce: QID: sender non-delivery notification: NEWQID */
        LOG_KIND_SASL_FAILURE,   /* smtpd: warning: host[ip]: SASL M authentication failed: ... */
        LOG_KIND_LOGIN,          /* dovecot: imap-login: Login: user=<u>, ..., rip=IP */
        LOG_KIND_LOGIN_FAILED,   /* dovecot: ...-login: ... (auth failed, ...): user=<u>, ... */
        LOG_KIND_LMTP_SAVED,     /* dovecot: lmtp(user): msgid=<x>: saved mail to BOX */
        LOG_KIND_SIEVE,          /* dovecot: lmtp(user): sieve: msgid=<x>: stored/discarded/forwarded ... */
        LOG_KIND_DKIM,           /* opendkim: QID: ... */
        LOG_KIND_WARNING,        /* Postfix: warning: ... */
        LOG_KIND_FATAL,
        LOG_KIND_PANIC,
        LOG_KIND_SUPPRESSED,     /* journald: Suppressed N messages from UNIT */
        _LOG_KIND_MAX,
        _LOG_KIND_INVALID = -22,
} LogKind;

const char *log_kind_to_string(LogKind k);     /* "reject", "delivery", ... */
LogKind log_kind_from_string(const char *s);   /* _LOG_KIND_INVALID when unknown */

typedef enum LogStatus {
        LOG_STATUS_NONE,
        LOG_STATUS_SENT,
        LOG_STATUS_DEFERRED,
        LOG_STATUS_BOUNCED,
        LOG_STATUS_EXPIRED,
        LOG_STATUS_OTHER,
        _LOG_STATUS_MAX,
} LogStatus;

const char *log_status_to_string(LogStatus s);

/* Why a message was refused at the door (reject and reject_warning). */
typedef enum LogRejectClass {
        LOG_REJECT_OTHER,
        LOG_REJECT_RELAY,          /* Relay access denied */
        LOG_REJECT_UNKNOWN_USER,   /* User unknown / Recipient address rejected */
        LOG_REJECT_RBL,            /* blocked using ZONE */
        LOG_REJECT_HELO,           /* Helo command rejected */
        LOG_REJECT_SENDER,         /* Sender address rejected */
        LOG_REJECT_SIZE,           /* Message size exceeds fixed limit */
        LOG_REJECT_POSTSCREEN,     /* postscreen's own refusals */
        LOG_REJECT_CLIENT,         /* Client host rejected (no PTR, ...) */
        LOG_REJECT_CONTENT,        /* cleanup header/body checks, milters */
        _LOG_REJECT_MAX,
} LogRejectClass;

const char *log_reject_class_to_string(LogRejectClass c);

/* Year inference for traditional timestamps ("Dec  2 07:42:57" has no year): the first
 * line takes the year that puts it no more than a day after `now`; later lines follow the
 * previous one (a jump of more than half a year backwards is the next year: Dec -> Jan). */
typedef struct LogClock {
        int64_t now_usec;    /* CLOCK_REALTIME when the reading started */
        int year;            /* of the previous line, 0 before the first */
        int month;           /* 0..11 of the previous line */
        /* Local time offset cache: the offset of the last local hour converted. */
        int64_t cached_hour_key;
        int64_t cached_offset_sec;
        /* The previous traditional timestamp "Mmm dd HH:MM:SS " and what it gave: a log
         * writes many lines a second, and a line with the same prefix needs no arithmetic. */
        char last_stamp[16];
        size_t last_stamp_len;   /* 0: none */
        int64_t last_usec;
        int last_hour, last_yday_key;
} LogClock;

void log_clock_init(LogClock *c, int64_t now_usec);

typedef struct LogEvent {
        LogKind kind;
        LogFamily family;
        int64_t usec;        /* UTC, microseconds; 0 when unknown */
        int hour;            /* 0..23, local hour as written in the line (pflogsumm's hours) */
        int yday_key;        /* year*400+month*32+day: tells days apart */
        LogStr host;         /* syslog host field (empty for the journal) */
        LogStr ident;        /* "postfix/submission/smtpd", "dovecot", ... */
        LogStr service;      /* Postfix: the daemon as pflogsumm sees it ("smtpd", "qmgr",
                              * "amavis/smtpd"); Dovecot: "imap-login", "lmtp" ... */
        uint32_t pid;
        LogStr message;      /* everything after "ident[pid]: " */
        LogStr token;        /* first word of the message before ": " (queue id, NOQUEUE, warning...) */
        LogStr queue_id;     /* token when it is a Postfix queue id (short or long) */
        LogStr text;         /* the message after the token (or all of it), e.g. a warning's text */

        LogStr client;       /* host[ip] */
        LogStr client_ip;
        LogStr from, to, orig_to;
        LogStr relay, delay, delays, dsn;
        LogStatus status;
        LogStr reason;       /* status=... (REASON), a reject's text, a failure's text */
        bool forwarded;      /* status=sent (forwarded as ...) */
        uint64_t size;
        uint32_t nrcpt;
        LogStr message_id;
        LogStr new_queue_id; /* "queued as X" in a delivery reply, a bounce's notification id */

        /* Rejects. */
        LogStr stage;        /* RCPT, MAIL, DATA, CONNECT, EHLO, header, body, END-OF-MESSAGE */
        LogStr code;         /* "554" */
        LogRejectClass reject_class;
        LogStr rbl;          /* zone of "blocked using ZONE" */

        /* SASL and logins. */
        LogStr sasl_method, sasl_user;
        LogStr protocol;     /* imap, pop3 (from imap-login) */
        LogStr user;
        bool tls;            /* Dovecot: TLS or secured */

        /* OpenDKIM: signed (true) or a verification result. */
        bool dkim_signed;
        LogStr dkim_domain;

        uint64_t suppressed; /* journald: number of messages it dropped */
} LogEvent;

/* Parses one syslog line (no trailing newline needed; a trailing '\n' or '\r' is ignored):
 * "Mmm dd HH:MM:SS host ident[pid]: message" or
 * "YYYY-MM-DDTHH:MM:SS[.frac](Z|+hh:mm) host ident[pid]: message".
 * Always fills *ret (kind LOG_KIND_UNPARSED when the line is not one of these). Returns
 * the kind. */
LogKind logline_parse_syslog(const char *line, size_t len, LogClock *clock, LogEvent *ret);

/* Parses one journal entry whose fields come separately: SYSLOG_IDENTIFIER, _PID (0 when
 * absent), MESSAGE (bytes, may be absent: NULL) and the realtime timestamp. */
LogKind logline_parse_entry(const char *ident, size_t ident_len, uint32_t pid,
                            const char *message, size_t message_len, int64_t usec,
                            LogClock *clock, LogEvent *ret);

/* Parses just the message of a line whose ident and time are known (the two above end here). */
void logline_parse_message(LogEvent *ev);

/* True when s looks like a Postfix queue id: short (hex, upper case) or long
 * (base-52 time and microseconds, 'z', inode). */
bool log_is_queue_id(const char *s, size_t n);

/* Local offset (seconds east of UTC) for a local civil time; cached per hour in clock. */
int64_t log_clock_local_offset(LogClock *clock, int year, int month, int day, int hour);
/* Days since 1970-01-01 of a proleptic Gregorian date (month 0..11). */
int64_t log_days_from_civil(int year, int month, int day);

/* ---- Splitting a byte stream into lines (pure) ---- */

/* Calls back once per line of data fed in; a line longer than LOGLINE_MAX is passed on
 * truncated with too_long set (callers count it unparsed), its rest skipped. */
typedef void (*LogLineFunc)(const char *line, size_t len, bool too_long, void *userdata);

typedef struct LogSplitter {
        char *buf;           /* LOGLINE_MAX bytes, owned */
        size_t used;
        bool skipping;       /* inside an over-long line */
} LogSplitter;

int log_splitter_init(LogSplitter *s);
void log_splitter_done(LogSplitter *s);
void log_splitter_feed(LogSplitter *s, const char *data, size_t len, LogLineFunc f, void *userdata);
/* The last line when the data did not end with a newline. */
void log_splitter_finish(LogSplitter *s, LogLineFunc f, void *userdata);
