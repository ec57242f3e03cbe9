/* The setup wizard. Table-driven: a page per answers section (pages[]), a field per key
 * (fields[]); enum and boolean choices come from the answers schema itself. Every key
 * typed rebuilds the answers file text and runs it through answers_load_buffer(), the same
 * code and the same words as `mxdeck setup --answers`; the error's line says which field it
 * belongs to. Passwords are typed twice into buffers that are wiped after hashing; only the
 * SHA512-CRYPT hash goes into the answers, the screen shows a fixed mask. Nothing changes
 * on the machine before the plan page's apply is confirmed. */
#include <crypt.h>
#include <errno.h>
#include <fcntl.h>
#include <locale.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <wchar.h>

#include <arpa/inet.h>
#include <netdb.h>
#include <sys/socket.h>

#include "answers.h"
#include "conf.h"
#include "dns-records.h"
#include "fileio.h"
#include "installer.h"
#include "journal.h"
#include "macro.h"
#include "postfixcf.h"
#include "term.h"
#include "termsafe.h"
#include "ui.h"
#include "wizard.h"

#define MAX_USERS 3
#define SECRET_MAX 256
#define VALUE_MAX 512
#define INI_NAME "wizard"

typedef struct Wizard Wizard;

typedef enum FieldKind {
        FIELD_TEXT,
        FIELD_CHOICE,    /* an enum or bool key of the schema: Left/Right cycle */
        FIELD_PASSWORD,  /* hidden; only its hash reaches the answers */
        FIELD_CONFIRM,   /* the password typed again */
} FieldKind;

typedef struct FieldDesc {
        const char *page;        /* the page it is on */
        const char *section;     /* answers section; "user " = the slot's [user NAME] */
        const char *key;         /* answers key; user slots: name, password, confirm, aliases */
        const char *label;       /* N_() */
        const char *help;        /* N_() what F1 shows */
        FieldKind kind;
        int slot;                /* user slot (0..MAX_USERS-1), or -1 */
        const char *def;         /* initial value when nothing is detected */
        const char *placeholder; /* N_() shown dim while empty: what the answers default is */
        const char *when_key;    /* shown (and written) only when this key of the section... */
        const char *when_value;  /* ...has this value */
        int (*detect)(Wizard *w, char **ret);      /* the default detected on this machine */
        const char *maincf;      /* the main.cf parameter that holds it now, if any */
        const char *dovecot;     /* the setting of mxdeck's Dovecot drop-in that holds it */
} FieldDesc;

typedef struct PageDesc {
        const char *id;
        const char *title;       /* N_() */
        const char *intro;       /* N_() */
        const char *needs_step;  /* shown only when the installer has this step (NULL: always) */
        void (*info)(Wizard *w, char ***lines); /* what was detected, shown under the fields */
} PageDesc;

typedef enum Mode { MODE_FORM, MODE_PLAN, MODE_APPLY, MODE_END } Mode;
typedef enum Prompt { PROMPT_NONE, PROMPT_SEARCH, PROMPT_SAVE, PROMPT_QUIT, PROMPT_APPLY } Prompt;

/* The server page shows this machine's public addresses with their PTR names. Reverse
 * lookups can take the resolver's full timeout: they run once, on a thread of their own,
 * and the page says "looking up" meanwhile instead of blocking every redraw. The thread
 * and the wizard each hold a reference; the last to let go frees it. */
#define MAX_PUBLIC_ADDRS 8
typedef struct PtrLookup {
        atomic_int refs;
        atomic_bool done;
        int n;                                 /* addresses found, <= 0 none */
        SpfAddr addrs[MAX_PUBLIC_ADDRS];
        char host[MAX_PUBLIC_ADDRS][NI_MAXHOST]; /* "" when the address has no PTR */
} PtrLookup;

struct Wizard {
        const WizardOptions *o;
        const char *root;
        char **values;                        /* per field; secrets are not kept here */
        char **now;                           /* per field: the machine's current value, or NULL */
        char secret[MAX_USERS][2][SECRET_MAX];/* typed password and confirmation */
        char *hash[MAX_USERS];                /* "{SHA512-CRYPT}$6$...", from typing or the file */
        char *pwfile[MAX_USERS];              /* password_file from the pre-fill */
        bool hash_stale[MAX_USERS];
        bool steps_present[16];               /* per page: its needs_step exists */
        Mode mode;
        size_t page, field;                   /* page index, focused field index */
        char *error;                          /* the first problem, in the answers file's words */
        int error_field;                      /* its field, or -1 */
        bool help;
        Prompt prompt;
        char prompt_buf[VALUE_MAX];
        char message[256];
        /* plan, apply, end */
        Answers *answers;
        Installer *ins;
        Plan *plan;
        char **take_ours;
        size_t n_take;
        char **lines;                         /* the text shown on plan/apply/end */
        size_t n_lines;
        size_t top;
        size_t conflict;                      /* the selected conflict */
        char *search;
        char **verify;                        /* the verify step's lines */
        char *dns_state;                      /* the DNS checks after apply (WizardOptions.dns_checks) */
        ApplyResult res;
        bool failed, rolled_back;
        char *saved_path;
        WizardOutcome outcome;
        bool done;
        int cur_y, cur_x;                     /* where the focused field's cursor goes */
        bool applying;
        PtrLookup *ptr;
};

/* ---- small helpers ---- */

static int strv_push(char ***v, size_t *n, const char *s) {
        char **g = realloc(*v, (*n + 2) * sizeof(char *));
        if (!g)
                return -ENOMEM;
        *v = g;
        g[*n] = strdup(s);
        if (!g[*n])
                return -ENOMEM;
        g[++*n] = NULL;
        return 0;
}

static size_t strv_len(char **v) {
        size_t n = 0;
        while (v && v[n])
                n++;
        return n;
}

/* Appends text to lines, one entry per line, made terminal-safe. */
static int lines_add_text(char ***v, size_t *n, const char *text) {
        const char *p = text;
        while (p && *p) {
                size_t l = strcspn(p, "\n");
                _cleanup_free_ char *raw = strndup(p, l), *safe = NULL;
                if (!raw)
                        return -ENOMEM;
                safe = termsafe_strdup(raw, TERMSAFE_KEEP_TAB);
                if (!safe || strv_push(v, n, safe) < 0)
                        return -ENOMEM;
                p += l;
                if (*p == '\n')
                        p++;
        }
        return 0;
}

_printf_(3, 4)
static int lines_addf(char ***v, size_t *n, const char *fmt, ...) {
        _cleanup_free_ char *s = NULL;
        va_list ap;
        va_start(ap, fmt);
        int r = vasprintf(&s, fmt, ap);
        va_end(ap);
        if (r < 0)
                return -ENOMEM;
        return lines_add_text(v, n, *s ? s : " ");
}

static void wipe(void *p, size_t n) {
        explicit_bzero(p, n);
}

/* A buffer of password material with its whole size: wiped to the last byte when freed,
 * not to the first NUL (lines split in place put NULs all through it). */
typedef struct SecretBuf {
        char *p;
        size_t size;
} SecretBuf;

static void secret_buf_done(SecretBuf *b) {
        if (b->p) {
                wipe(b->p, b->size);
                free(b->p);
        }
        *b = (SecretBuf) {};
}

/* Reads a file of hashes (shadow, Dovecot's passwd-file) into b; what read_file_bounded
 * returns. */
static int secret_buf_read(const char *path, SecretBuf *b) {
        return read_file_bounded(path, 16 << 20, &b->p, &b->size);
}

/* Frees a password hash, wiped whole first. */
static void hash_free(char **h) {
        if (*h) {
                wipe(*h, strlen(*h));
                free(*h);
                *h = NULL;
        }
}

/* ---- detection: defaults from this machine ---- */

int wizard_fqdn_from_hosts(const char *text, const char *host, char **ret) {
        _cleanup_free_ char *copy = strdup(text);
        char *save = NULL;
        if (!copy)
                return -ENOMEM;
        for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                char *s2 = NULL, *addr = strtok_r(line, " \t", &s2), *first = NULL, *t;
                bool match = false;
                if (!addr || addr[0] == '#')
                        continue;
                while ((t = strtok_r(NULL, " \t", &s2)) && t[0] != '#') {
                        if (!first)
                                first = t;
                        match = match || streq(t, host);
                }
                /* only a real host name: the file's bytes may hold anything */
                if (match && first && strchr(first, '.') && hostname_is_valid(first)) {
                        *ret = strdup(first);
                        return *ret ? 1 : -ENOMEM;
                }
        }
        *ret = NULL;
        return 0;
}

static int detect_hostname(Wizard *w, char **ret) {
        char h[256] = "";
        if (gethostname(h, sizeof(h) - 1) < 0 || !h[0])
                return -errno;
        if (!hostname_is_valid(h))
                return -EINVAL; /* no default rather than bytes the kernel was handed */
        if (!strchr(h, '.')) {
                /* the /etc/hosts line that names this host often has its FQDN first */
                _cleanup_free_ char *path = NULL, *text = NULL;
                if (asprintf(&path, "%s/etc/hosts", streq(w->root, "/") ? "" : w->root) < 0)
                        return -ENOMEM;
                if (read_file_bounded(path, 1 << 20, &text, NULL) >= 0) {
                        int r = wizard_fqdn_from_hosts(text, h, ret);
                        if (r != 0)
                                return r;
                }
        }
        *ret = strdup(h);
        return *ret ? 0 : -ENOMEM;
}

static int field_index(const char *section, const char *key, int slot);

static int detect_domain(Wizard *w, char **ret) {
        int hi = field_index("server", "hostname", -1);
        const char *h = hi >= 0 ? w->values[hi] : NULL;
        const char *dot = h ? strchr(h, '.') : NULL;
        if (!dot || !strchr(dot + 1, '.'))
                return -ENOENT;
        *ret = strdup(dot + 1);
        return *ret ? 0 : -ENOMEM;
}

static bool root_exists(Wizard *w, const char *path) {
        _cleanup_free_ char *p = NULL;
        if (asprintf(&p, "%s%s", streq(w->root, "/") ? "" : w->root, path) < 0)
                return false;
        return access(p, F_OK) == 0;
}

static char *letsencrypt_path(Wizard *w, const char *file) {
        int hi = field_index("server", "hostname", -1);
        char *p = NULL;
        if (hi < 0 || !w->values[hi] || !*w->values[hi] ||
            asprintf(&p, "/etc/letsencrypt/live/%s/%s", w->values[hi], file) < 0)
                return NULL;
        if (!root_exists(w, p)) {
                free(p);
                return NULL;
        }
        return p;
}

static int detect_tls_source(Wizard *w, char **ret) {
        _cleanup_free_ char *le = letsencrypt_path(w, "fullchain.pem");
        *ret = strdup(le ? "files" : "self-signed");
        return *ret ? 0 : -ENOMEM;
}

static int detect_cert_file(Wizard *w, char **ret) {
        *ret = letsencrypt_path(w, "fullchain.pem");
        return *ret ? 0 : -ENOENT;
}

static int detect_key_file(Wizard *w, char **ret) {
        *ret = letsencrypt_path(w, "privkey.pem");
        return *ret ? 0 : -ENOENT;
}

/* fail2ban: yes when the jails mxdeck wrote are there (no would keep them: the step only
 * adds), so that the page shows what the server has. */
static int detect_fail2ban(Wizard *w, char **ret) {
        *ret = strdup(root_exists(w, "/etc/fail2ban/jail.d/mxdeck.conf") ? "yes" : "no");
        return *ret ? 0 : -ENOMEM;
}

static const char *firewall_detected(Wizard *w) {
        if (root_exists(w, "/usr/sbin/ufw"))
                return "ufw";
        if (root_exists(w, "/usr/sbin/firewalld"))
                return "firewalld";
        if (root_exists(w, "/usr/sbin/nft"))
                return "nftables";
        return NULL;
}

/* ---- the tables ---- */

#define TEXT(pg, sec, k, lab, hlp, ...) \
        { .page = (pg), .section = (sec), .key = (k), .label = (lab), .help = (hlp), .kind = FIELD_TEXT, .slot = -1, __VA_ARGS__ }
#define CHOICE(pg, sec, k, lab, hlp, ...) \
        { .page = (pg), .section = (sec), .key = (k), .label = (lab), .help = (hlp), .kind = FIELD_CHOICE, .slot = -1, __VA_ARGS__ }
#define USER(n) \
        { .page = "users", .section = "user ", .key = "name", .slot = (n), .kind = FIELD_TEXT, \
          .label = N_("User %d"), \
          .help = N_("The mailbox's name: in system mode a Unix account name (created when missing), " \
                     "in virtual mode a local part (the domain is added) or a full address. Leave empty " \
                     "for no further user.") }, \
        { .page = "users", .section = "user ", .key = "password", .slot = (n), .kind = FIELD_PASSWORD, \
          .label = N_("  password"), \
          .help = N_("Typed twice, never shown. Only its SHA512-CRYPT hash is kept: it is what the " \
                     "answers file and the server store. Use 12 or more characters.") }, \
        { .page = "users", .section = "user ", .key = "confirm", .slot = (n), .kind = FIELD_CONFIRM, \
          .label = N_("  password again"), .help = N_("The same password again, to catch a typing mistake.") }, \
        { .page = "users", .section = "user ", .key = "aliases", .slot = (n), .kind = FIELD_TEXT, \
          .label = N_("  aliases"), .placeholder = N_("none"), \
          .help = N_("Further addresses delivered to this mailbox, separated by spaces or commas " \
                     "(info, postmaster).") }

static const FieldDesc fields[] = {
        TEXT("server", "server", "hostname", N_("Host name"),
             N_("The fully qualified name of this server (mail.example.com): Postfix greets other "
                "servers with it, the certificate is made for it, and its A record and PTR should "
                "point at each other."),
             .detect = detect_hostname, .maincf = "myhostname"),
        TEXT("server", "server", "domain", N_("Mail domain"),
             N_("The domain the addresses are in (example.com for alice@example.com)."),
             .detect = detect_domain, .maincf = "mydomain"),
        TEXT("server", "server", "domains", N_("Further domains"),
             N_("Further mail domains this server receives for (virtual mode only), separated by "
                "spaces."), .placeholder = N_("none")),
        TEXT("server", "server", "public_ipv4", N_("Public IPv4"),
             N_("The address other servers reach this one at: auto detects it from the interfaces. "
                "Behind NAT, give the public address."), .placeholder = N_("auto: detect")),
        TEXT("server", "server", "public_ipv6", N_("Public IPv6"),
             N_("The same for IPv6; auto detects it."), .placeholder = N_("auto: detect")),
        CHOICE("users", "users", "mode", N_("Mode"),
               N_("system: each mailbox is a Unix account (PAM, ~/Maildir). virtual: mailboxes exist "
                  "only for Postfix and Dovecot (one vmail owner, a password file), and several "
                  "domains are possible.")),
        USER(1), USER(2), USER(3),
        CHOICE("tls", "tls", "source", N_("Certificate"),
               N_("self-signed: made here, fine for trying and for clients you configure yourself. "
                  "files: an existing certificate and key. acme: Let's Encrypt (or another ACME CA) "
                  "through certbot; needs the host name in public DNS and port 80."),
               .detect = detect_tls_source),
        TEXT("tls", "tls", "cert_file", N_("Certificate file"),
             N_("The certificate chain (PEM), leaf first."), .when_key = "source", .when_value = "files", .detect = detect_cert_file),
        TEXT("tls", "tls", "key_file", N_("Key file"),
             N_("Its private key (PEM); it should be readable by root only."), .when_key = "source", .when_value = "files", .detect = detect_key_file),
        TEXT("tls", "tls", "acme_email", N_("ACME e-mail"),
             N_("Where the CA sends expiry warnings."), .when_key = "source", .when_value = "acme"),
        CHOICE("tls", "tls", "acme_challenge", N_("ACME challenge"),
               N_("standalone: certbot answers on port 80 itself. webroot: an existing web server "
                  "serves the answer from a directory."), .when_key = "source", .when_value = "acme"),
        TEXT("tls", "tls", "acme_webroot", N_("Web root"),
             N_("For the webroot challenge: the web server's document root."), .when_key = "source", .when_value = "acme"),
        TEXT("tls", "tls", "acme_directory", N_("ACME directory"), N_("The CA's directory URL; empty for Let's Encrypt."), .when_key = "source", .when_value = "acme",
             .placeholder = N_("Let's Encrypt")),
        TEXT("tls", "tls", "acme_ca_bundle", N_("ACME CA bundle"),
             N_("For a private ACME CA: the PEM file certbot trusts its directory with. Empty for a "
                "public CA."), .when_key = "source", .when_value = "acme", .placeholder = N_("none")),
        TEXT("postfix", "postfix", "message_size_limit", N_("Message size limit"),
             N_("The largest message accepted, with K, M or G (0: no limit)."), .placeholder = N_("50M"), .maincf = "message_size_limit"),
        TEXT("postfix", "postfix", "mailbox_size_limit", N_("Mailbox size limit"),
             N_("The largest mailbox for local delivery (0: no limit); not smaller than the message limit."), .placeholder = N_("1G"),
             .maincf = "mailbox_size_limit"),
        TEXT("postfix", "postfix", "relayhost", N_("Relay host"),
             N_("Send all outgoing mail through this host ([smtp.example.net]:587), for instance "
                "when the provider blocks port 25."), .placeholder = N_("none: deliver directly"), .maincf = "relayhost"),
        TEXT("postfix", "postfix", "mynetworks", N_("Trusted networks"),
             N_("Clients that may send without logging in. Keep it to this host unless you know why."), .placeholder = N_("127.0.0.0/8 [::1]/128"),
             .maincf = "mynetworks"),
        TEXT("postfix", "postfix", "smtp_address_preference", N_("Send over"),
             N_("Which address family Postfix prefers when it delivers to other servers: any, "
                "ipv4 or ipv6 (ipv4 when the IPv6 address has no PTR)."),
             .placeholder = N_("Postfix's default: any")),
        TEXT("dovecot", "dovecot", "protocols", N_("Protocols"),
             N_("What Dovecot serves: imap, pop3, lmtp, submission, sieve."), .placeholder = N_("imap pop3 lmtp"),
             .dovecot = "protocols"),
        TEXT("dovecot", "dovecot", "quota", N_("Quota"),
             N_("The most a mailbox may hold (2G); empty or 0 for none."), .placeholder = N_("none")),
        CHOICE("firewall", "firewall", "backend", N_("Firewall"),
               N_("auto uses the firewall found on this machine; none leaves the firewall alone.")),
        TEXT("firewall", "firewall", "services", N_("Open services"),
             N_("The services to open: smtp, submission, smtps, imap, imaps, pop3, pop3s, sieve, http, https."),
             .placeholder = N_("smtp submission smtps imaps pop3s")),
        CHOICE("firewall", "firewall", "plaintext", N_("Plaintext ports"),
               N_("Also open imap (143) and pop3 (110), for clients that use STARTTLS there. No keeps "
                  "to the TLS ports."), .def = "no"),
        CHOICE("dkim", "dkim", "enabled", N_("Sign with DKIM"),
               N_("Sign outgoing mail so receivers can check it came from this server."), .def = "yes"),
        TEXT("dkim", "dkim", "selector", N_("Selector"),
             N_("The DNS label the public key is published under (selector._domainkey.domain)."), .placeholder = N_("auto: the year and month")),
        TEXT("dkim", "dkim", "domains", N_("Signed domains"),
             N_("The domains whose mail is signed, separated by spaces."),
             .placeholder = N_("the mail domains")),
        CHOICE("packages", "packages", "install", N_("Install packages"),
               N_("Install what is missing (Postfix, Dovecot and their parts) with the "
                  "distribution's package manager."), .def = "yes"),
        CHOICE("packages", "packages", "remove_other_mta", N_("Remove other MTA"),
               N_("Remove another mail server (Exim, Sendmail) that would hold port 25."), .def = "no"),
        CHOICE("hardening", "hardening", "fail2ban", N_("fail2ban"),
               N_("Ban addresses that keep failing to log in."), .def = "no", .detect = detect_fail2ban),
        CHOICE("hardening", "hardening", "rate_limits", N_("Rate limits"),
               N_("Postfix's anvil limits per client: connections, recipients, errors and logins "
                  "per minute, as the guides set them."), .def = "yes"),
};

static void info_server(Wizard *w, char ***lines);
static void info_tls(Wizard *w, char ***lines);
static void info_firewall(Wizard *w, char ***lines);

static const PageDesc pages[] = {
        { "server", N_("Server identity"),
          N_("The name this server greets other servers with, and the domain it receives mail for."),
          NULL, info_server },
        { "users", N_("Users"),
          N_("How mailboxes exist, and the first users. Passwords are typed twice and never shown."),
          NULL, NULL },
        { "tls", N_("Certificates"), N_("The certificate Postfix and Dovecot present."), NULL, info_tls },
        { "postfix", N_("Postfix"), N_("Limits, and where outgoing mail goes."), NULL, NULL },
        { "dovecot", N_("Dovecot"), N_("What mail clients can use to read mail."), NULL, NULL },
        { "firewall", N_("Firewall"), N_("The ports to open."), "firewall", info_firewall },
        { "dkim", N_("DKIM"), N_("Signing outgoing mail."), "dkim", NULL },
        { "hardening", N_("Hardening"), N_("Protection against password guessing."), "hardening", NULL },
        { "packages", N_("Packages"), N_("What may be installed or removed."), "packages", NULL },
};

/* The order sections are written in. */
static const char *const sections_order[] = {
        "server", "users", "user ", "tls", "firewall", "postfix", "dovecot", "dkim", "hardening", "packages",
};

static const char *const bool_choices[] = { "yes", "no", NULL };

#define N_FIELDS ELEMENTSOF(fields)

static int field_index(const char *section, const char *key, int slot) {
        for (size_t i = 0; i < N_FIELDS; i++)
                if (streq(fields[i].section, section) && streq(fields[i].key, key) && fields[i].slot == slot)
                        return (int) i;
        return -1;
}

static int page_index(const char *id) {
        for (size_t i = 0; i < ELEMENTSOF(pages); i++)
                if (streq(pages[i].id, id))
                        return (int) i;
        return -1;
}

/* The choices of an enum or bool key, from the answers schema. */
static const char *const *field_choices(const FieldDesc *f) {
        for (const ConfSection *s = answers_schema()->sections; s->name; s++) {
                if (!streq(s->name, f->section))
                        continue;
                for (const ConfKey *k = s->keys; k->name; k++)
                        if (streq(k->name, f->key))
                                return k->type == CONF_BOOL ? bool_choices : k->choices;
        }
        return NULL;
}

static bool page_shown(Wizard *w, size_t p) {
        return p < ELEMENTSOF(pages) && w->steps_present[p];
}

static bool field_shown(Wizard *w, size_t i) {
        const FieldDesc *f = &fields[i];
        int pi = page_index(f->page);
        if (pi < 0 || !page_shown(w, (size_t) pi))
                return false;
        if (f->when_key) {
                int k = field_index(f->section, f->when_key, -1);
                if (k < 0 || !streq_ptr(w->values[k], f->when_value))
                        return false;
        }
        return true;
}

/* ---- the answers text ---- */

static bool user_has_password(Wizard *w, int slot) {
        return w->hash[slot] || w->pwfile[slot];
}

/* The answers file the wizard's values make; line_field[i] is the field line i+1 belongs
 * to (-1: none). Only hashes: the typed passwords are never part of it. */
static int wizard_ini(Wizard *w, const char *header, char **ret, int **ret_line_field, size_t *ret_n) {
        _cleanup_free_ char *buf = NULL;
        _cleanup_free_ int *map = NULL;
        size_t size = 0, n = 0;
        FILE *f = open_memstream(&buf, &size);
        int r = 0;

        if (!f)
                return -ENOMEM;
#define LINE(fi, ...) do {                                              \
                fprintf(f, __VA_ARGS__);                                \
                int *g_ = realloc(map, (n + 1) * sizeof(int));          \
                if (!g_) { r = -ENOMEM; goto out; }                     \
                map = g_;                                               \
                map[n++] = (fi);                                        \
        } while (0)
        if (header)
                for (const char *p = header; *p; p = strchr(p, '\n') + 1) {
                        size_t l = strcspn(p, "\n");
                        LINE(-1, "# %.*s\n", (int) l, p);
                        if (!p[l])
                                break;
                }
        for (size_t s = 0; s < ELEMENTSOF(sections_order); s++) {
                const char *sec = sections_order[s];
                if (streq(sec, "user ")) {
                        for (int slot = 0; slot < MAX_USERS; slot++) {
                                int ni = field_index("user ", "name", slot + 1);
                                int pi = field_index("user ", "password", slot + 1);
                                int ai = field_index("user ", "aliases", slot + 1);
                                const char *name = w->values[ni];
                                if (!name || !*name)
                                        continue;
                                LINE(ni, "\n");
                                LINE(ni, "[user %s]\n", name);
                                if (w->hash[slot])
                                        LINE(pi, "password_hash = %s\n", w->hash[slot]);
                                else if (w->pwfile[slot])
                                        LINE(pi, "password_file = %s\n", w->pwfile[slot]);
                                if (w->values[ai] && *w->values[ai])
                                        LINE(ai, "aliases = %s\n", w->values[ai]);
                        }
                        continue;
                }
                bool opened = false;
                for (size_t i = 0; i < N_FIELDS; i++) {
                        if (!streq(fields[i].section, sec) || fields[i].slot >= 0 || !field_shown(w, i) ||
                            !w->values[i] || !*w->values[i])
                                continue;
                        if (!opened) {
                                LINE((int) i, "\n");
                                LINE((int) i, "[%s]\n", sec);
                                opened = true;
                        }
                        LINE((int) i, "%s = %s\n", fields[i].key, w->values[i]);
                }
        }
#undef LINE
out:
        if (fclose(f) != 0 && r >= 0)
                r = -ENOMEM;
        if (r < 0)
                return r;
        *ret = TAKE_PTR(buf);
        if (ret_line_field)
                *ret_line_field = TAKE_PTR(map);
        if (ret_n)
                *ret_n = n;
        return 0;
}

/* ---- passwords ---- */

/* The hash stored on this machine for the user (virtual: /etc/dovecot/users, system:
 * /etc/shadow), when it is SHA512-CRYPT: reused when the typed password matches it, so a
 * re-run does not change the password file. */
static char *stored_hash(Wizard *w, const char *user) {
        int mi = field_index("users", "mode", -1), di = field_index("server", "domain", -1);
        bool virt = streq_ptr(w->values[mi], "virtual");
        _cleanup_free_ char *path = NULL, *name = NULL;
        _cleanup_(secret_buf_done) SecretBuf buf = {};

        if (virt && !strchr(user, '@')) {
                if (asprintf(&name, "%s@%s", user, strempty(w->values[di])) < 0)
                        return NULL;
        } else if (!(name = strdup(user)))
                return NULL;
        if (asprintf(&path, "%s%s", streq(w->root, "/") ? "" : w->root,
                     virt ? "/etc/dovecot/users" : "/etc/shadow") < 0 ||
            secret_buf_read(path, &buf) < 0)
                return NULL;
        char *text = buf.p;
        size_t nl = strlen(name);
        char *result = NULL;
        for (char *line = text; line && *line;) {
                char *end = strchr(line, '\n');
                if (end)
                        *end = 0;
                if (strncmp(line, name, nl) == 0 && line[nl] == ':') {
                        const char *h = line + nl + 1;
                        if (startswith(h, "{SHA512-CRYPT}"))
                                h += strlen("{SHA512-CRYPT}");
                        size_t hl = strcspn(h, ":");
                        if (startswith(h, "$6$"))
                                result = strndup(h, hl);
                        break;
                }
                line = end ? end + 1 : NULL;
        }
        return result; /* buf is wiped whole: its lines were cut with NULs */
}

static int make_hash(Wizard *w, int slot) {
        const char *pw = w->secret[slot][0];
        const char *name = w->values[field_index("user ", "name", slot + 1)];
        _cleanup_(hash_free) char *existing = name && *name ? stored_hash(w, name) : NULL;
        struct crypt_data *cd = calloc(1, sizeof(*cd));
        char salt[CRYPT_GENSALT_OUTPUT_SIZE];
        const char *h = NULL;
        int r = 0;

        if (!cd)
                return -ENOMEM;
        if (existing) {
                h = crypt_r(pw, existing, cd);
                if (!h || !streq(h, existing))
                        h = NULL;
        }
        if (!h) {
                if (!crypt_gensalt_rn("$6$", 0, NULL, 0, salt, sizeof(salt)))
                        r = -EIO;
                else
                        h = crypt_r(pw, salt, cd);
        }
        if (r >= 0 && (!h || h[0] != '$'))
                r = -EIO;
        hash_free(&w->hash[slot]);
        if (r >= 0 && asprintf(&w->hash[slot], "{SHA512-CRYPT}%s", h) < 0) {
                w->hash[slot] = NULL;
                r = -ENOMEM;
        }
        wipe(cd, sizeof(*cd));
        free(cd);
        return r;
}

/* A hint, not a rule: length and kinds of characters. */
static const char *strength(const char *pw) {
        size_t n = strlen(pw);
        int kinds = 0;
        bool lower = false, upper = false, digit = false, other = false;
        for (const char *p = pw; *p; p++) {
                if (*p >= 'a' && *p <= 'z')
                        lower = true;
                else if (*p >= 'A' && *p <= 'Z')
                        upper = true;
                else if (*p >= '0' && *p <= '9')
                        digit = true;
                else
                        other = true;
        }
        kinds = lower + upper + digit + other;
        if (n < 8)
                return _("weak: fewer than 8 characters");
        if (n < 12 && kinds < 3)
                return _("weak: short, few kinds of characters");
        if (n < 12 || kinds < 2)
                return _("fair: 12 or more characters of mixed kinds is better");
        if (n >= 16 || kinds >= 3)
                return _("strong");
        return _("good");
}

/* ---- validation ---- */

static void set_error(Wizard *w, int field, const char *msg) {
        free(w->error);
        w->error = msg ? strdup(msg) : NULL;
        w->error_field = msg ? field : -1;
}

/* Checks what the answers file cannot see (the two passwords), then the whole answers
 * text with the answers file's own code. */
static void validate(Wizard *w) {
        _cleanup_free_ char *text = NULL, *err = NULL;
        _cleanup_free_ int *map = NULL;
        size_t n = 0;

        answers_free(w->answers);
        w->answers = NULL;
        for (int s = 0; s < MAX_USERS; s++) {
                if (!w->hash_stale[s])
                        continue;
                w->hash_stale[s] = false;
                if (w->secret[s][0][0] && streq(w->secret[s][0], w->secret[s][1])) {
                        if (make_hash(w, s) < 0) {
                                set_error(w, field_index("user ", "password", s + 1),
                                          _("cannot hash the password"));
                                return;
                        }
                } else if (w->secret[s][0][0] || w->secret[s][1][0]) {
                        hash_free(&w->hash[s]);
                }
        }
        for (size_t i = 0; i < N_FIELDS; i++)
                if (field_shown(w, i) && w->values[i] &&
                    (strstr(w->values[i], " ;") || strstr(w->values[i], "\t;"))) {
                        set_error(w, (int) i, _("a ';' after a blank starts a comment in an answers file: leave it out"));
                        return;
                }
        for (int s = 0; s < MAX_USERS; s++) {
                const char *name = w->values[field_index("user ", "name", s + 1)];
                int pi = field_index("user ", "password", s + 1), ci = field_index("user ", "confirm", s + 1);
                if (!name || !*name)
                        continue;
                if (w->secret[s][0][0] && !streq(w->secret[s][0], w->secret[s][1])) {
                        set_error(w, ci, w->secret[s][1][0] ? _("the two passwords differ")
                                                            : _("type the password again to confirm it"));
                        return;
                }
                if (!user_has_password(w, s)) {
                        _cleanup_free_ char *m = NULL, *q = conf_quote(name);
                        if (asprintf(&m, _("[user %s] needs a password: type it twice"), q ? q : "") >= 0)
                                set_error(w, pi, m);
                        return;
                }
        }
        if (wizard_ini(w, NULL, &text, &map, &n) < 0) {
                set_error(w, -1, strerror(ENOMEM));
                return;
        }
        if (answers_load_buffer(INI_NAME, text, strlen(text), &w->answers, &err) >= 0) {
                set_error(w, -1, NULL);
                return;
        }
        /* "wizard:LINE: message" or "wizard: message" */
        const char *msg = err ? err : _("invalid answers");
        int field = -1;
        const char *rest = startswith(msg, INI_NAME ":");
        if (rest) {
                char *end;
                unsigned long line = strtoul(rest, &end, 10);
                if (end != rest && *end == ':') {
                        if (line >= 1 && line <= n)
                                field = map[line - 1];
                        rest = end + 1;
                }
                msg = rest + strspn(rest, " ");
        }
        set_error(w, field, msg);
}

/* ---- initial values: pre-fill file, else the machine's configuration, else detection ---- */

/* "key = value" in mxdeck's Dovecot drop-in (the file it writes itself). */
static char *dovecot_dropin_get(const char *text, const char *key) {
        size_t kl = strlen(key);
        for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
                l += strspn(l, " \t");
                if (strncmp(l, key, kl) != 0)
                        continue;
                const char *v = l + kl;
                v += strspn(v, " \t");
                if (*v != '=')
                        continue;
                v++;
                v += strspn(v, " \t");
                size_t vl = strcspn(v, "\n");
                while (vl > 0 && (v[vl - 1] == ' ' || v[vl - 1] == '\t'))
                        vl--;
                _cleanup_free_ char *raw = strndup(v, vl);
                return raw ? termsafe_strdup(raw, 0) : NULL;
        }
        return NULL;
}

static int load_now(Wizard *w) {
        _cleanup_free_ char *path = NULL, *main_cf = NULL, *dpath = NULL, *dropin = NULL;
        size_t size = 0;

        if (asprintf(&dpath, "%s/etc/dovecot/conf.d/99-mxdeck.conf", streq(w->root, "/") ? "" : w->root) < 0)
                return -ENOMEM;
        if (read_file_bounded(dpath, 1 << 20, &dropin, NULL) >= 0) {
                for (size_t i = 0; i < N_FIELDS; i++)
                        if (fields[i].dovecot)
                                w->now[i] = dovecot_dropin_get(dropin, fields[i].dovecot);
                /* the quota the drop-in sets (in its plugin section), or none */
                int qi = field_index("dovecot", "quota", -1);
                _cleanup_free_ char *rule = dovecot_dropin_get(dropin, "quota_rule");
                const char *storage = rule ? startswith(rule, "*:storage=") : NULL;
                if (qi >= 0 && !w->now[qi] && !(w->now[qi] = strdup(storage ? storage : "")))
                        return -ENOMEM;
        }

        if (asprintf(&path, "%s/etc/postfix/main.cf", streq(w->root, "/") ? "" : w->root) < 0)
                return -ENOMEM;
        if (read_file_bounded(path, 16 << 20, &main_cf, &size) < 0)
                return 0; /* no configuration yet */
        for (size_t i = 0; i < N_FIELDS; i++) {
                _cleanup_free_ char *v = NULL;
                if (!fields[i].maincf || maincf_get(main_cf, size, fields[i].maincf, &v) < 0 || !v)
                        continue;
                w->now[i] = termsafe_strdup(v, 0);
                if (!w->now[i])
                        return -ENOMEM;
        }
        return 0;
}

static int prefill(Wizard *w, char **ret_error) {
        _cleanup_(conf_freep) Conf *c = NULL;
        int slot = 0, r;

        r = conf_load(w->o->answers_path, answers_schema(), &c, ret_error);
        if (r < 0)
                return r;
        for (size_t i = 0; i < N_FIELDS; i++) {
                const char *v;
                if (fields[i].slot >= 0)
                        continue;
                v = conf_get_string(c, fields[i].section, fields[i].key);
                if (v && *v) {
                        free(w->values[i]);
                        if (!(w->values[i] = strdup(v)))
                                return -ENOMEM;
                }
        }
        for (size_t s = 0; s < c->n_sections; s++) {
                const char *name = startswith(c->sections[s], "user ");
                if (!name)
                        continue;
                if (slot >= MAX_USERS)
                        return conf_error(ret_error, w->o->answers_path,
                                          _("the wizard shows at most %d users: set up the others "
                                            "with 'mxdeck setup --answers' (or remove them from the file)"),
                                          MAX_USERS);
                int ni = field_index("user ", "name", slot + 1), ai = field_index("user ", "aliases", slot + 1);
                const char *h = conf_get_string(c, c->sections[s], "password_hash");
                const char *pf = conf_get_string(c, c->sections[s], "password_file");
                const char *al = conf_get_string(c, c->sections[s], "aliases");
                free(w->values[ni]);
                w->values[ni] = strdup(name);
                if ((h && *h && !(w->hash[slot] = strdup(h))) || (pf && *pf && !(w->pwfile[slot] = strdup(pf))) ||
                    !w->values[ni])
                        return -ENOMEM;
                if (al && *al) {
                        free(w->values[ai]);
                        if (!(w->values[ai] = strdup(al)))
                                return -ENOMEM;
                }
                slot++;
        }
        return 0;
}

static int set_value(Wizard *w, int i, const char *v) {
        char *c = strdup(v);
        if (!c)
                return -ENOMEM;
        free(w->values[i]);
        w->values[i] = c;
        return 0;
}

/* A server mxdeck set up in virtual mode: its mailboxes (Dovecot's passwd-file, hashes
 * kept as they are) and their aliases (mxdeck's alias table, without the postmaster and
 * abuse lines the installer adds by itself). */
static int users_from_machine(Wizard *w, char **ret_error) {
        _cleanup_free_ char *path = NULL, *apath = NULL, *aliases = NULL;
        _cleanup_(secret_buf_done) SecretBuf buf = {}; /* hashes: wiped whole on every return */
        const char *root = streq(w->root, "/") ? "" : w->root;
        int slot = 0, mi = field_index("users", "mode", -1), r;

        if (asprintf(&path, "%s/etc/dovecot/users", root) < 0 ||
            asprintf(&apath, "%s/etc/postfix/mxdeck-aliases", root) < 0)
                return -ENOMEM;
        if (secret_buf_read(path, &buf) < 0)
                return 0;
        char *text = buf.p;
        (void) read_file_bounded(apath, 16 << 20, &aliases, NULL);
        for (char *line = text, *next; line && *line; line = next) {
                next = strchr(line, '\n');
                if (next)
                        *next++ = 0;
                char *colon = strchr(line, ':');
                if (!colon || line[0] == '#')
                        continue;
                *colon = 0;
                char *hash = colon + 1, *end = strchr(hash, ':');
                if (end)
                        *end = 0;
                if (slot >= MAX_USERS)
                        return conf_error(ret_error, path,
                                          _("this server has more than %d mailboxes, more than the wizard "
                                            "shows: use 'mxdeck setup --answers FILE'"), MAX_USERS);
                _cleanup_free_ char *name = termsafe_strdup(line, 0), *al = strdup("");
                if (!name || !al || set_value(w, field_index("user ", "name", slot + 1), name) < 0)
                        return -ENOMEM;
                if (hash[0] == '{' && !(w->hash[slot] = strdup(hash)))
                        return -ENOMEM;
                for (char *a = aliases, *an; a && *a; a = an) {
                        an = strchr(a, '\n');
                        size_t l = an ? (size_t) (an - a) : strlen(a);
                        if (an)
                                an++;
                        _cleanup_free_ char *entry = strndup(a, l), *joined = NULL;
                        char *sp = entry ? strchr(entry, ' ') : NULL;
                        if (!sp)
                                continue;
                        *sp = 0;
                        if (!streq(sp + 1, name) || startswith(entry, "postmaster@") || startswith(entry, "abuse@"))
                                continue;
                        if (asprintf(&joined, "%s%s%s", al, *al ? " " : "", entry) < 0)
                                return -ENOMEM;
                        free(al);
                        al = TAKE_PTR(joined);
                }
                _cleanup_free_ char *safe = termsafe_strdup(al, 0);
                if (!safe || set_value(w, field_index("user ", "aliases", slot + 1), safe) < 0)
                        return -ENOMEM;
                slot++;
        }
        if (slot > 0) {
                r = set_value(w, mi, "virtual");
                if (r < 0)
                        return r;
                w->now[mi] = strdup("virtual");
                if (!w->now[mi])
                        return -ENOMEM;
        }
        return 0;
}

static int initial_values(Wizard *w, char **ret_error) {
        int r;

        for (size_t i = 0; i < N_FIELDS; i++) {
                char *v = NULL;
                if (w->now[i] && fields[i].kind == FIELD_TEXT)
                        v = strdup(w->now[i]);
                else if (fields[i].detect && fields[i].detect(w, &v) >= 0 && v)
                        ;
                else if (fields[i].def)
                        v = strdup(fields[i].def);
                else if (fields[i].kind == FIELD_CHOICE) {
                        const char *const *ch = field_choices(&fields[i]);
                        v = strdup(ch && ch[0] ? ch[0] : "");
                } else
                        v = strdup("");
                if (!v)
                        return -ENOMEM;
                w->values[i] = v;
        }
        /* a pre-fill file says everything; else what the server has */
        r = w->o->answers_path ? prefill(w, ret_error) : users_from_machine(w, ret_error);
        return r < 0 ? r : 0;
}

/* Whether the value differs from what the machine has now (sizes and lists compared by
 * meaning, not spelling). */
static bool field_changes(Wizard *w, size_t i) {
        const char *now = w->now[i], *v = w->values[i];
        uint64_t a, b;
        if (!now)
                return false;
        if (!v || !*v)
                return false; /* the default: the installer decides */
        if (parse_size(now, &a) >= 0 && parse_size(v, &b) >= 0)
                return a != b;
        _cleanup_strv_free_ char **x = NULL, **y = NULL;
        if (conf_split_list(now, &x) < 0 || conf_split_list(v, &y) < 0)
                return !streq(now, v);
        size_t nx = strv_len(x);
        if (nx != strv_len(y))
                return true;
        for (size_t k = 0; k < nx; k++)
                if (!streq(x[k], y[k]))
                        return true;
        return false;
}

/* ---- info lines ---- */

static void ptr_unref(PtrLookup *p) {
        if (p && atomic_fetch_sub(&p->refs, 1) == 1)
                free(p);
}

static void *ptr_thread(void *data) {
        PtrLookup *p = data;
        for (int i = 0; i < p->n; i++) {
                struct sockaddr_storage ss = {};
                socklen_t sl;
                if (p->addrs[i].family == AF_INET) {
                        struct sockaddr_in *s4 = (struct sockaddr_in *) &ss;
                        s4->sin_family = AF_INET;
                        memcpy(&s4->sin_addr, p->addrs[i].a, 4);
                        sl = sizeof(*s4);
                } else {
                        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *) &ss;
                        s6->sin6_family = AF_INET6;
                        memcpy(&s6->sin6_addr, p->addrs[i].a, 16);
                        sl = sizeof(*s6);
                }
                /* bounded by the resolver's own timeout and attempts (resolv.conf) */
                if (getnameinfo((struct sockaddr *) &ss, sl, p->host[i], sizeof(p->host[i]), NULL, 0, NI_NAMEREQD) != 0)
                        p->host[i][0] = 0;
        }
        atomic_store(&p->done, true);
        ptr_unref(p);
        return NULL;
}

/* Finds the public addresses now and starts their reverse lookups. */
static void ptr_start(Wizard *w) {
        PtrLookup *p = calloc(1, sizeof(PtrLookup));
        if (!p)
                return;
        p->n = local_public_addrs(p->addrs, ELEMENTSOF(p->addrs));
        atomic_init(&p->refs, 2);
        atomic_init(&p->done, false);
        pthread_attr_t attr;
        pthread_t t;
        bool started = false;
        if (p->n > 0 && pthread_attr_init(&attr) == 0) {
                started = pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED) == 0 &&
                          pthread_create(&t, &attr, ptr_thread, p) == 0;
                pthread_attr_destroy(&attr);
        }
        if (!started) {
                atomic_store(&p->done, true);
                atomic_store(&p->refs, 1);
        }
        w->ptr = p;
}

static bool ptr_pending(const Wizard *w) {
        return w->ptr && !atomic_load(&w->ptr->done);
}

static void info_server(Wizard *w, char ***lines) {
        size_t n = 0;
        const PtrLookup *p = w->ptr;

        if (!p || p->n <= 0) {
                (void) lines_addf(lines, &n, "%s", _("No public address on this machine's interfaces: "
                                                     "behind NAT, type the public ones (auto leaves them "
                                                     "out of the DNS records)."));
                return;
        }
        bool done = atomic_load(&p->done);
        for (int i = 0; i < p->n; i++) {
                char text[INET6_ADDRSTRLEN] = "?";
                inet_ntop(p->addrs[i].family, p->addrs[i].a, text, sizeof(text));
                _cleanup_free_ char *safe = termsafe_strdup(!done ? _("(looking it up)")
                                                            : p->host[i][0] ? p->host[i] : _("none"), 0);
                (void) lines_addf(lines, &n, _("Detected %s %s, its PTR: %s"),
                                  p->addrs[i].family == AF_INET ? "IPv4" : "IPv6", text, safe ? safe : "?");
        }
}

static void info_tls(Wizard *w, char ***lines) {
        size_t n = 0;
        _cleanup_free_ char *le = letsencrypt_path(w, "fullchain.pem");
        if (le)
                (void) lines_addf(lines, &n, _("Found a Let's Encrypt certificate: %s"), le);
        if (root_exists(w, "/etc/ssl/certs/mxdeck.pem"))
                (void) lines_addf(lines, &n, "%s", _("Found the self-signed certificate mxdeck made: /etc/ssl/certs/mxdeck.pem"));
        (void) lines_addf(lines, &n, "%s", root_exists(w, "/usr/bin/certbot") ? _("certbot is installed (for acme).")
                                                                            : _("certbot is not installed (acme installs it)."));
}

static void info_firewall(Wizard *w, char ***lines) {
        size_t n = 0;
        const char *fw = firewall_detected(w);
        (void) lines_addf(lines, &n, _("Detected: %s"), fw ? fw : _("no firewall"));
}

/* ---- drawing ---- */

static size_t shown_pages(Wizard *w, size_t *ret_index) {
        size_t n = 0;
        for (size_t p = 0; p < ELEMENTSOF(pages); p++)
                if (page_shown(w, p)) {
                        if (p == w->page && ret_index)
                                *ret_index = n;
                        n++;
                }
        return n;
}

static void draw_title(Wizard *w) {
        char t[256];
        size_t idx = 0, n = shown_pages(w, &idx);
        const char *what;
        switch (w->mode) {
        case MODE_FORM:
                snprintf(t, sizeof(t), _(" mxdeck setup  %zu/%zu %s"), idx + 1, n + 1, _(pages[w->page].title));
                break;
        default:
                what = w->mode == MODE_PLAN ? _("The plan") : w->mode == MODE_APPLY ? _("Applying") : _("Done");
                snprintf(t, sizeof(t), _(" mxdeck setup  %zu/%zu %s"), n + 1, n + 1, what);
        }
        ui_fill(0, 0, ui.cols, ui_attr(UI_TITLE));
        int x = ui_text(0, 0, ui.cols, t, ui_attr(UI_TITLE), false);
        if (w->o->banner)
                ui_text(0, x + 2, ui.cols - x - 2, w->o->banner, ui_attr(UI_TITLE) | A_BOLD, false);
}

/* One key of the bar, left out whole when it does not fit (a translated label is never
 * cut short: CJK takes two columns a character). */
static int bar_item(int x, const char *key, const char *text) {
        if (x + (int) termsafe_width(key) + (int) termsafe_width(text) > ui.cols)
                return x;
        x += ui_text(ui.rows - 1, x, ui.cols - x, key, ui_attr(UI_BAR_KEY), false);
        x += ui_text(ui.rows - 1, x, ui.cols - x, text, ui_attr(UI_BAR_TEXT), false);
        return x + ui_text(ui.rows - 1, x, ui.cols - x, " ", A_NORMAL, false);
}

static void draw_bar(Wizard *w) {
        int y = ui.rows - 1, x = 0;
        ui_fill(y, 0, ui.cols, A_NORMAL);
        curs_set(0);
        if (w->prompt != PROMPT_NONE) {
                const char *label = w->prompt == PROMPT_SEARCH ? "/"
                                    : w->prompt == PROMPT_SAVE ? _("Save the answers to: ")
                                    : w->prompt == PROMPT_QUIT ? _("Leave the setup? Nothing has been changed on this machine. (y/n) ")
                                                               : _("Apply these changes now? (y/n) ");
                x = ui_text(y, 0, ui.cols, label, ui_attr(UI_HEADER), false);
                if (w->prompt == PROMPT_SEARCH || w->prompt == PROMPT_SAVE) {
                        x += ui_text(y, x, ui.cols - x - 1, w->prompt_buf, A_NORMAL, false);
                        curs_set(1);
                        move(y, MIN(x, ui.cols - 1));
                }
                return;
        }
        if (w->message[0]) {
                ui_text(y, 0, ui.cols, w->message, ui_attr(UI_WARNING), false);
                return;
        }
        switch (w->mode) {
        case MODE_FORM:
                x = bar_item(x, "F1", _("Help"));
                x = bar_item(x, "Tab", _("Next field"));
                x = bar_item(x, "PgDn", _("Next page"));
                x = bar_item(x, "PgUp", _("Back"));
                bar_item(x, "Esc", _("Quit"));
                break;
        case MODE_PLAN:
                x = bar_item(x, "a", _("Apply"));
                x = bar_item(x, "/", _("Search"));
                x = bar_item(x, "c", _("Next conflict"));
                x = bar_item(x, "o/t", _("Ours/Theirs"));
                x = bar_item(x, "s", _("Save answers"));
                x = bar_item(x, "F7", _("Back"));
                bar_item(x, "Esc", _("Quit"));
                break;
        case MODE_APPLY:
                if (w->applying)
                        ui_text(y, 0, ui.cols, _("Applying: every change is journalled first ('mxdeck rollback' undoes it)"),
                                ui_attr(UI_BAR_TEXT), false);
                else if (w->failed && !w->rolled_back) {
                        x = bar_item(x, "r", _("Roll back"));
                        bar_item(x, "k", _("Keep as is and quit"));
                } else
                        bar_item(x, "q", _("Quit"));
                break;
        case MODE_END:
                x = bar_item(x, "Enter", _("Dashboard"));
                x = bar_item(x, "/", _("Search"));
                x = bar_item(x, "s", _("Save answers"));
                bar_item(x, "q", _("Quit"));
                break;
        }
}

/* Wrapped text from (y, x); returns the next free row. */
static int draw_wrapped(int y, int x, int bottom, const char *s, attr_t attr) {
        size_t len = strlen(s);
        int width = ui.cols - x - 1;
        while (len > 0 && y < bottom && width > 0) {
                size_t b = ui_wrap_bytes(s, len, width);
                _cleanup_free_ char *part = strndup(s, b);
                if (!part)
                        break;
                ui_text(y++, x, width, part, attr, false);
                s += b;
                len -= b;
                while (len > 0 && *s == ' ')
                        s++, len--;
        }
        return y;
}

static void draw_field_value(Wizard *w, size_t i, int y, int x, int width, bool focused) {
        const FieldDesc *f = &fields[i];
        attr_t at = focused ? ui_attr(UI_SELECTED) : A_NORMAL;
        char buf[VALUE_MAX + 16];
        int used;

        switch (f->kind) {
        case FIELD_CHOICE: {
                const char *const *ch = field_choices(f);
                used = ui_text(y, x, width, "< ", at, false);
                used += ui_text(y, x + used, width - used, w->values[i], at | A_BOLD, false);
                used += ui_text(y, x + used, width - used, " >", at, false);
                for (const char *const *c = ch; c && *c && used < width; c++)
                        if (!streq(*c, w->values[i])) {
                                used += ui_text(y, x + used, width - used, "  ", A_NORMAL, false);
                                used += ui_text(y, x + used, width - used, *c, ui_attr(UI_DIM), false);
                        }
                return;
        }
        case FIELD_PASSWORD:
        case FIELD_CONFIRM: {
                const char *typed = w->secret[f->slot - 1][f->kind == FIELD_CONFIRM];
                /* a fixed mask: not even the length is shown */
                if (typed[0])
                        used = ui_text(y, x, width, ui.ascii ? "********" : "\xe2\x97\x8f\xe2\x97\x8f\xe2\x97\x8f\xe2\x97\x8f\xe2\x97\x8f\xe2\x97\x8f\xe2\x97\x8f\xe2\x97\x8f", at, false);
                else if (user_has_password(w, f->slot - 1))
                        used = ui_text(y, x, width, _("(unchanged)"), at | ui_attr(UI_DIM), false);
                else
                        used = ui_text(y, x, width, " ", at, false);
                if (f->kind == FIELD_PASSWORD && typed[0])
                        ui_text(y, x + used + 2, width - used - 2, strength(typed), ui_attr(UI_DIM), false);
                if (focused) {
                        w->cur_y = y;
                        w->cur_x = MIN(x + (typed[0] || user_has_password(w, f->slot - 1) ? used : 0), ui.cols - 1);
                }
                return;
        }
        case FIELD_TEXT:
                if (w->values[i][0])
                        used = ui_text(y, x, width, w->values[i], at, false);
                else {
                        used = 0;
                        if (f->placeholder) {
                                snprintf(buf, sizeof(buf), "(%s)", _(f->placeholder));
                                ui_text(y, x, width, buf, ui_attr(UI_DIM), false);
                        }
                }
                if (focused) {
                        if (!w->values[i][0])
                                ui_text(y, x, 1, " ", at, false);
                        w->cur_y = y;
                        w->cur_x = MIN(x + used, ui.cols - 1);
                }
                if (field_changes(w, i)) {
                        snprintf(buf, sizeof(buf), _("(now: %s)"), w->now[i]);
                        ui_text(y, x + used + 2, width - used - 2, buf, ui_attr(UI_WARNING), false);
                }
                return;
        }
}

/* A field's label in the user's language; the users' "User %d" gets its slot number. */
static const char *field_label(const FieldDesc *f, char *buf, size_t size) {
        const char *l = _(f->label);
        const char *d = f->slot >= 0 ? strstr(l, "%d") : NULL;
        if (!d)
                return l;
        snprintf(buf, size, "%.*s%d%s", (int) (d - l), l, f->slot, d + 2);
        return buf;
}

static void draw_form(Wizard *w) {
        const PageDesc *pg = &pages[w->page];
        int bottom = ui.rows - 1, y = 2, label_w = 22, vx = label_w + 4;
        _cleanup_strv_free_ char **info = NULL;
        size_t visible[N_FIELDS], nv = 0, focus_pos = 0;

        y = draw_wrapped(y, 2, bottom, _(pg->intro), ui_attr(UI_DIM));
        y++;
        for (size_t i = 0; i < N_FIELDS; i++)
                if (streq(fields[i].page, pg->id) && field_shown(w, i)) {
                        if (i == w->field)
                                focus_pos = nv;
                        visible[nv++] = i;
                }
        if (pg->info)
                pg->info(w, &info);
        /* rows left for fields after the info and the error lines */
        int reserve = (int) strv_len(info) + (w->error ? 4 : 1);
        int avail = MAX(bottom - y - reserve, 1);
        size_t first = focus_pos >= (size_t) avail ? focus_pos - (size_t) avail + 1 : 0;
        for (size_t k = first; k < nv && y < bottom; k++, y++) {
                size_t i = visible[k];
                bool focused = i == w->field;
                bool bad = w->error && w->error_field == (int) i;
                if (bad)
                        ui_text(y, 0, 1, "!", ui_attr(UI_CRITICAL), false);
                else if (field_changes(w, i))
                        ui_text(y, 0, 1, "*", ui_attr(UI_WARNING), false);
                char lb[64];
                ui_text(y, 2, label_w, field_label(&fields[i], lb, sizeof(lb)), focused ? A_BOLD : A_NORMAL, false);
                draw_field_value(w, i, y, vx, ui.cols - vx - 1, focused);
                if ((int) (k - first) + 1 >= avail)
                        break;
        }
        y++;
        for (char **l = info; l && *l && y < bottom; l++)
                ui_text(y++, 2, ui.cols - 3, *l, ui_attr(UI_HEADER), false);
        if (w->error) {
                const FieldDesc *ef = w->error_field >= 0 ? &fields[w->error_field] : NULL;
                y++;
                if (ef && !streq(ef->page, pg->id)) {
                        char pre[128];
                        int pi = page_index(ef->page);
                        snprintf(pre, sizeof(pre), _("On the page %s: "), _(pages[pi].title));
                        ui_text(y, 2, ui.cols - 3, pre, ui_attr(UI_WARNING), false);
                        y++;
                }
                draw_wrapped(y, 2, bottom, w->error, ui_attr(ef && streq(ef->page, pg->id) ? UI_CRITICAL : UI_WARNING));
        }
        /* the cursor belongs to the focused field (placed while drawing it) */
        draw_bar(w);
        if (w->prompt == PROMPT_NONE && !w->message[0] && fields[w->field].kind != FIELD_CHOICE) {
                curs_set(1);
                move(w->cur_y, w->cur_x);
        }
}

static void draw_help(Wizard *w) {
        const FieldDesc *f = &fields[w->field];
        int y = 2, bottom = ui.rows - 1;
        for (int r = 1; r < bottom; r++)
                ui_fill(r, 0, ui.cols, A_NORMAL);
        if (w->mode == MODE_FORM) {
                char lb[64];
                ui_text(y++, 2, ui.cols - 3, field_label(f, lb, sizeof(lb)), ui_attr(UI_HEADER), false);
                y = draw_wrapped(y, 4, bottom, _(f->help), A_NORMAL);
                if (f->section && f->slot < 0) {
                        char k[128];
                        snprintf(k, sizeof(k), _("In an answers file: [%s] %s"), f->section, f->key);
                        ui_text(y++, 4, ui.cols - 5, k, ui_attr(UI_DIM), false);
                }
                y++;
        }
        static const char *const keys[][2] = {
                { "Tab Down Enter", N_("next field (Enter on the last field: next page)") },
                { "S-Tab Up", N_("previous field") },
                { "Left Right Space", N_("change a choice") },
                { "PgDn F8 / PgUp F7", N_("next / previous page") },
                { "Ctrl-U", N_("clear the field") },
                { "Esc", N_("leave the setup (asks first; nothing is changed before the plan is applied)") },
        };
        for (size_t i = 0; i < ELEMENTSOF(keys) && y < bottom; i++, y++) {
                ui_text(y, 4, 20, keys[i][0], ui_attr(UI_BAR_KEY), false);
                ui_text(y, 25, ui.cols - 26, _(keys[i][1]), A_NORMAL, false);
        }
        ui_fill(bottom, 0, ui.cols, A_NORMAL);
        ui_text(bottom, 0, ui.cols, _("Any key closes this help"), ui_attr(UI_BAR_TEXT), false);
        curs_set(0);
}

static bool line_matches(const char *line, const char *needle) {
        return needle && *needle && strcasestr(line, needle);
}

static void draw_lines(Wizard *w, int y) {
        int bottom = ui.rows - 1;
        size_t rows = (size_t) MAX(bottom - y, 1);
        if (w->n_lines > rows && w->top > w->n_lines - rows)
                w->top = w->n_lines - rows;
        if (w->n_lines <= rows)
                w->top = 0;
        for (size_t k = w->top; k < w->n_lines && y < bottom; k++, y++) {
                const char *l = w->lines[k];
                attr_t at = A_NORMAL;
                if (line_matches(l, w->search))
                        at = ui_attr(UI_MATCH);
                else if (l[0] == '+' && l[1] != '+')
                        at = ui_attr(UI_OK);
                else if (l[0] == '-' && l[1] != '-')
                        at = ui_attr(UI_CRITICAL);
                else if (l[0] == '=' || l[0] == '#')
                        at = ui_attr(UI_HEADER);
                ui_text(y, 0, ui.cols, l, at, false);
        }
}

static const Conflict *conflict_at(const Plan *p, size_t idx, const char **ret_step) {
        for (size_t i = 0; p && i < p->n_steps; i++) {
                if (idx < p->steps[i].n_conflicts) {
                        if (ret_step)
                                *ret_step = p->steps[i].step->name;
                        return &p->steps[i].conflicts[idx];
                }
                idx -= p->steps[i].n_conflicts;
        }
        return NULL;
}

static void draw_plan(Wizard *w) {
        int y = 1;
        char head[512];
        size_t nc = w->plan ? plan_count_conflicts(w->plan) : 0;

        if (!w->plan)
                snprintf(head, sizeof(head), "%s", _("No plan."));
        else if (plan_has_errors(w->plan))
                snprintf(head, sizeof(head), "%s", _("The plan cannot be applied: see the errors below (F7 goes back to change the answers)."));
        else if (!plan_has_changes(w->plan))
                snprintf(head, sizeof(head), "%s", _("Nothing to change: the server already has this configuration (a applies nothing and verifies)."));
        else
                snprintf(head, sizeof(head), "%s", _("Nothing has been changed yet. Read the plan; a applies it under a transaction 'mxdeck rollback' undoes."));
        y = draw_wrapped(y, 1, ui.rows - 1, head, ui_attr(UI_HEADER));
        if (nc > 0) {
                const Conflict *c = conflict_at(w->plan, w->conflict, NULL);
                char line[512];
                snprintf(line, sizeof(line), _("Conflict %zu/%zu: %s is '%s' now (mxdeck wrote '%s'); ours: '%s' -> %s"),
                         w->conflict + 1, nc, c->what, c->theirs ? c->theirs : _("(removed)"), c->recorded, c->ours,
                         c->taken ? _("TAKE OURS") : _("KEEP THEIRS"));
                _cleanup_free_ char *safe = termsafe_strdup(line, 0);
                y = draw_wrapped(y, 1, ui.rows - 1, safe ? safe : "", ui_attr(UI_WARNING));
        }
        ui_fill(y, 0, ui.cols, A_NORMAL);
        draw_lines(w, y + 1);
        draw_bar(w);
}

static void draw(Wizard *w) {
        erase();
        ui.rows = LINES;
        ui.cols = COLS;
        if (ui.rows < 10 || ui.cols < 40) {
                ui_text(0, 0, ui.cols, _("terminal too small"), A_BOLD, false);
                refresh();
                return;
        }
        draw_title(w);
        if (w->help)
                draw_help(w);
        else if (w->mode == MODE_FORM)
                draw_form(w);
        else if (w->mode == MODE_PLAN)
                draw_plan(w);
        else {
                int y = 1;
                if (w->mode == MODE_END)
                        y = draw_wrapped(y, 1, ui.rows - 1,
                                         w->failed ? _("The setup failed; see above.")
                                                   : _("The server is set up. Publish the DNS records below, then open the dashboard."),
                                         ui_attr(UI_HEADER));
                draw_lines(w, y);
                draw_bar(w);
        }
        refresh();
}

/* ---- plan, apply, end ---- */

static void lines_reset(Wizard *w) {
        strv_free(w->lines);
        w->lines = NULL;
        w->n_lines = 0;
        w->top = 0;
}

static void on_event(const InstallerEvent *e, void *userdata) {
        Wizard *w = userdata;
        switch (e->type) {
        case INSTALLER_EVENT_STEP_STARTED:
                (void) lines_addf(&w->lines, &w->n_lines, "==> %s", e->step);
                break;
        case INSTALLER_EVENT_OUTPUT_LINE:
                (void) lines_addf(&w->lines, &w->n_lines, "    %s", e->line);
                if (e->step && streq(e->step, "verify")) {
                        size_t n = strv_len(w->verify);
                        (void) lines_addf(&w->verify, &n, "  %s", e->line);
                }
                break;
        case INSTALLER_EVENT_STEP_DONE:
                if (e->result < 0)
                        (void) lines_addf(&w->lines, &w->n_lines, _("    FAILED: %s"), e->line ? e->line : strerror(-e->result));
                else
                        (void) lines_addf(&w->lines, &w->n_lines, _("    done"));
                break;
        default:
                break;
        }
        /* follow the output */
        size_t rows = (size_t) MAX(ui.rows - 2, 1);
        w->top = w->n_lines > rows ? w->n_lines - rows : 0;
        draw(w);
}

static int make_plan(Wizard *w) {
        _cleanup_free_ char *text = NULL, *err = NULL;
        int r;

        plan_free(w->plan);
        w->plan = NULL;
        installer_free(w->ins);
        w->ins = NULL;
        lines_reset(w);
        if (!w->answers)
                return -EINVAL;
        free(w->answers->path);
        w->answers->path = strdup(w->saved_path ? w->saved_path : _("(the setup wizard)"));
        /* the first user's typed password, for verify's round trip (a->users[0] is the first
         * slot with a name: wizard_ini writes them in order) */
        const char *first_pw = NULL;
        for (int s = 0; s < MAX_USERS && !first_pw; s++)
                if (w->values[field_index("user ", "name", s + 1)][0])
                        first_pw = w->secret[s][0][0] && w->hash[s] ? w->secret[s][0] : "";
        InstallerOptions io = {
                .root = w->root,
                .roundtrip_password = first_pw && *first_pw ? first_pw : NULL,
                .answers = w->answers,
                .conflicts = CONFLICT_KEEP_THEIRS,
                .take_ours = w->take_ours,
                .offline = w->o->offline,
                .systemd = w->o->systemd,
                .progress = on_event,
                .progress_userdata = w,
        };
        r = installer_new(&io, &w->ins, &err);
        if (r < 0) {
                (void) lines_addf(&w->lines, &w->n_lines, _("Cannot start the installer: %s"), err ? err : strerror(-r));
                return r;
        }
        r = installer_plan(w->ins, &w->plan);
        if (r < 0) {
                (void) lines_addf(&w->lines, &w->n_lines, _("Cannot make the plan: %s"), strerror(-r));
                return r;
        }
        r = plan_render_text(w->plan, false, &text);
        if (r < 0)
                return r;
        if (w->conflict >= plan_count_conflicts(w->plan))
                w->conflict = 0;
        return lines_add_text(&w->lines, &w->n_lines, text);
}

static void toggle_conflict(Wizard *w, bool ours) {
        const Conflict *c = conflict_at(w->plan, w->conflict, NULL);
        if (!c || c->taken == ours)
                return;
        if (ours)
                (void) strv_push(&w->take_ours, &w->n_take, c->what);
        else {
                size_t k = 0;
                for (size_t i = 0; i < w->n_take; i++)
                        if (streq(w->take_ours[i], c->what))
                                free(w->take_ours[i]);
                        else
                                w->take_ours[k++] = w->take_ours[i];
                w->n_take = k;
                if (w->take_ours)
                        w->take_ours[k] = NULL;
        }
        size_t keep = w->conflict;
        (void) make_plan(w);
        w->conflict = keep;
        /* show where it is in the plan */
        c = conflict_at(w->plan, w->conflict, NULL);
        for (size_t k = 0; c && k < w->n_lines; k++)
                if (strstr(w->lines[k], c->what)) {
                        w->top = k;
                        break;
                }
}

static void end_page(Wizard *w) {
        _cleanup_free_ char *table = NULL;
        _cleanup_(records_freep) RecordSet *set = NULL;
        SpfAddr addrs[8];
        int na = 0;

        lines_reset(w);
        (void) lines_addf(&w->lines, &w->n_lines, "# %s", _("Verification"));
        if (w->verify)
                for (char **l = w->verify; *l; l++)
                        (void) lines_addf(&w->lines, &w->n_lines, "%s", *l);
        else
                (void) lines_addf(&w->lines, &w->n_lines, "  %s", _("(not run: offline)"));
        (void) lines_addf(&w->lines, &w->n_lines, " ");
        (void) lines_addf(&w->lines, &w->n_lines, "# %s", _("DNS records to publish"));
        const char *ips[] = { w->answers->public_ipv4, w->answers->public_ipv6 };
        for (size_t i = 0; i < ELEMENTSOF(ips); i++)
                if (ips[i] && na < (int) ELEMENTSOF(addrs)) {
                        addrs[na].family = i == 0 ? AF_INET : AF_INET6;
                        memset(addrs[na].a, 0, sizeof(addrs[na].a));
                        if (inet_pton(addrs[na].family, ips[i], addrs[na].a) == 1)
                                na++;
                }
        if (na == 0)
                na = MAX(local_public_addrs(addrs, ELEMENTSOF(addrs)), 0);
        RecordInput in = {
                .domain = w->answers->domain,
                .host = w->answers->hostname,
                .addrs = addrs,
                .n_addrs = (size_t) na,
                .root = streq(w->root, "/") ? NULL : w->root,
        };
        if (records_compute(&in, &set) >= 0) {
                for (size_t i = 0; i < set->n_records; i++) {
                        const PublishRecord *p = &set->records[i];
                        (void) lines_addf(&w->lines, &w->n_lines, "  %-36s %-5s %s%s%s", p->name, p->type,
                                          streq(p->type, "TXT") ? "\"" : "", p->value, streq(p->type, "TXT") ? "\"" : "");
                        (void) lines_addf(&w->lines, &w->n_lines, "      ; %s", _(p->purpose));
                }
                for (size_t i = 0; i < set->n_ptr; i++)
                        (void) lines_addf(&w->lines, &w->n_lines, _("  ask the address's owner for: %s PTR %s"),
                                          set->ptr[i].reverse, set->ptr[i].target);
                if (na == 0)
                        (void) lines_addf(&w->lines, &w->n_lines, "  %s",
                                          _("; no public address: the A/AAAA records need one (mxdeck dns records --address ADDR)"));
        } else
                (void) lines_addf(&w->lines, &w->n_lines, "  %s", _("(cannot compute the records; see 'mxdeck dns records')"));
        if (w->dns_state) {
                (void) lines_addf(&w->lines, &w->n_lines, " ");
                (void) lines_addf(&w->lines, &w->n_lines, "# %s", _("What DNS serves now"));
                (void) lines_add_text(&w->lines, &w->n_lines, w->dns_state);
        }
        (void) lines_addf(&w->lines, &w->n_lines, "  %s", _("Check what is published with: mxdeck check --only dns"));
        (void) lines_addf(&w->lines, &w->n_lines, " ");
        (void) lines_addf(&w->lines, &w->n_lines, "# %s", _("Mail client settings"));
        if (installer_client_settings(w->answers, &table) >= 0)
                (void) lines_add_text(&w->lines, &w->n_lines, table);
        if (w->res.transaction)
                (void) lines_addf(&w->lines, &w->n_lines, _("Transaction %s (undo with: mxdeck rollback %s)"),
                                  w->res.transaction, w->res.transaction);
        if (w->saved_path)
                (void) lines_addf(&w->lines, &w->n_lines, _("Answers saved to %s"), w->saved_path);
}

static void apply(Wizard *w) {
        int r;
        w->mode = MODE_APPLY;
        lines_reset(w);
        w->applying = true;
        draw(w);
        r = installer_apply(w->ins, w->plan, &w->res);
        w->applying = false;
        /* the typed passwords are no longer needed: only their hashes were used */
        wipe(w->secret, sizeof(w->secret));
        if (r < 0) {
                w->failed = true;
                (void) lines_addf(&w->lines, &w->n_lines, " ");
                (void) lines_addf(&w->lines, &w->n_lines, _("Step %s failed: %s"),
                                  w->res.failed_step ? w->res.failed_step : "?", w->res.error ? w->res.error : strerror(-r));
                if (w->res.transaction)
                        (void) lines_addf(&w->lines, &w->n_lines,
                                          _("r rolls back what was done so far; k keeps it (undo later with: mxdeck rollback %s)"),
                                          w->res.transaction);
                else
                        w->rolled_back = true; /* nothing to roll back */
                w->outcome = WIZARD_FAILED;
                size_t rows = (size_t) MAX(ui.rows - 2, 1);
                w->top = w->n_lines > rows ? w->n_lines - rows : 0;
                return;
        }
        w->outcome = WIZARD_APPLIED;
        w->mode = MODE_END;
        if (w->o->ret_address && w->answers->n_users > 0) {
                const char *u = w->answers->users[0].name;
                free(*w->o->ret_address);
                if (strchr(u, '@') ? !(*w->o->ret_address = strdup(u))
                                   : asprintf(w->o->ret_address, "%s@%s", u, w->answers->domain) < 0)
                        *w->o->ret_address = NULL;
        }
        if (w->o->dns_checks && !w->o->offline) {
                /* bounded by the checks' own time limit; the resolver is asked once first */
                (void) lines_addf(&w->lines, &w->n_lines, "%s", _("Asking DNS what it serves now..."));
                draw(w);
                char *buf = NULL;
                size_t size = 0;
                FILE *f = open_memstream(&buf, &size);
                if (f) {
                        int k = w->o->dns_checks(f, w->answers, w->o->systemd);
                        if (k < 0)
                                fprintf(f, _("The DNS checks did not run: %s\n"), strerror(-k));
                        if (fclose(f) == 0)
                                w->dns_state = buf;
                        else
                                free(buf);
                }
        }
        end_page(w);
}

static void rollback_note(const char *line, void *userdata) {
        Wizard *w = userdata;
        (void) lines_addf(&w->lines, &w->n_lines, "    %s", line);
        draw(w);
}

static void rollback(Wizard *w) {
        (void) lines_addf(&w->lines, &w->n_lines, _("Rolling back %s"), w->res.transaction);
        draw(w);
        /* the installer keeps its transaction's journal open, and with it the journal lock:
         * the rollback could not take it (EBUSY). Nothing is applied after a failure. */
        plan_free(w->plan);
        w->plan = NULL;
        w->ins = installer_free(w->ins);
        int r = journal_rollback(w->root, w->res.transaction, NULL, NULL, rollback_note, w);
        (void) lines_addf(&w->lines, &w->n_lines, r < 0 ? _("The rollback failed: %s (see above; mxdeck history)")
                                                         : _("Rolled back%s: the files are as they were."),
                          r < 0 ? strerror(-r) : "");
        w->rolled_back = true;
        size_t rows = (size_t) MAX(ui.rows - 2, 1);
        w->top = w->n_lines > rows ? w->n_lines - rows : 0;
}

static int save_answers(Wizard *w, const char *path) {
        _cleanup_free_ char *text = NULL, *header = NULL;
        char when[64] = "";
        time_t t = time(NULL);
        struct tm tm;
        int r;

        if (path[0] != '/')
                return -EINVAL;
        if (localtime_r(&t, &tm))
                strftime(when, sizeof(when), "%Y-%m-%d %H:%M", &tm);
        if (asprintf(&header, _("mxdeck answers, saved by the setup wizard on %s.\n"
                                "Reproduce with: mxdeck setup --answers %s --yes\n"
                                "Passwords appear only as their SHA512-CRYPT hash; keep this file private."),
                     when, path) < 0)
                return -ENOMEM;
        r = wizard_ini(w, header, &text, NULL, NULL);
        if (r < 0)
                return r;
        AtomicWriteOptions ao = { .set_mode = true, .mode = 0600 };
        r = atomic_write_file(path, text, strlen(text), &ao, NULL);
        if (r < 0)
                return r;
        free(w->saved_path);
        w->saved_path = strdup(path);
        return 0;
}

/* ---- keys ---- */

static size_t first_field_of(Wizard *w, size_t page) {
        for (size_t i = 0; i < N_FIELDS; i++)
                if (streq(fields[i].page, pages[page].id) && field_shown(w, i))
                        return i;
        return 0;
}

static bool page_has_error(Wizard *w) {
        return w->error && (w->error_field < 0 || streq(fields[w->error_field].page, pages[w->page].id));
}

static void go_page(Wizard *w, int dir) {
        if (dir > 0 && page_has_error(w)) {
                snprintf(w->message, sizeof(w->message), "%s", _("fix the problem shown on this page first"));
                return;
        }
        for (size_t p = w->page + (size_t) dir; p < ELEMENTSOF(pages); p += (size_t) dir)
                if (page_shown(w, p)) {
                        w->page = p;
                        w->field = first_field_of(w, p);
                        return;
                }
        if (dir > 0) {
                if (w->error) {
                        snprintf(w->message, sizeof(w->message), "%s", _("fix the problem shown first"));
                        return;
                }
                w->mode = MODE_PLAN;
                w->conflict = 0;
                (void) make_plan(w);
        }
}

static void move_field(Wizard *w, int dir) {
        size_t i = w->field;
        for (;;) {
                if (dir > 0 && i + 1 >= N_FIELDS)
                        return;
                if (dir < 0 && i == 0)
                        return;
                i += (size_t) dir;
                if (streq(fields[i].page, pages[w->page].id) && field_shown(w, i)) {
                        w->field = i;
                        return;
                }
        }
}

static bool last_field(Wizard *w) {
        for (size_t i = w->field + 1; i < N_FIELDS; i++)
                if (streq(fields[i].page, pages[w->page].id) && field_shown(w, i))
                        return false;
        return true;
}

/* Takes the last character off s: all of its bytes are zeroed (a password's too), not
 * just its first. */
static void text_backspace(char *s) {
        size_t end = strlen(s), len = end;
        while (len > 0 && ((unsigned char) s[len - 1] & 0xC0) == 0x80)
                len--;
        if (len > 0)
                len--;
        wipe(s + len, end - len);
}

/* Appends a typed character to buf (of size cap); false when it does not fit or is not
 * printable. */
static bool text_append(char *buf, size_t cap, wint_t ch) {
        size_t len = strlen(buf);
        char mb[8];
        mbstate_t st = {};
        if (ch < 32 || ch == 127 || (ch >= 0x80 && ch < 0xA0))
                return false;
        size_t n = wcrtomb(mb, (wchar_t) ch, &st);
        if (n == (size_t) -1 || len + n >= cap)
                return false;
        memcpy(buf + len, mb, n);
        buf[len + n] = 0;
        wipe(mb, sizeof(mb));
        return true;
}

static void form_key(Wizard *w, wint_t ch, bool is_key) {
        const FieldDesc *f = &fields[w->field];
        int key = (int) ch;

        if (is_key) {
                switch (key) {
                case KEY_DOWN:
                        move_field(w, +1);
                        return;
                case KEY_UP:
                case KEY_BTAB:
                        move_field(w, -1);
                        return;
                case KEY_NPAGE:
                case KEY_F(8):
                        go_page(w, +1);
                        return;
                case KEY_PPAGE:
                case KEY_F(7):
                        go_page(w, -1);
                        return;
                case KEY_ENTER:
                        break;
                case KEY_LEFT:
                case KEY_RIGHT:
                        if (f->kind == FIELD_CHOICE)
                                break;
                        return;
                case KEY_BACKSPACE:
                        break;
                default:
                        return;
                }
        }
        if (key == '\t') {
                move_field(w, +1);
                return;
        }
        if (key == '\r' || key == '\n' || (is_key && key == KEY_ENTER)) {
                if (last_field(w))
                        go_page(w, +1);
                else
                        move_field(w, +1);
                return;
        }
        if (f->kind == FIELD_CHOICE) {
                const char *const *ch2 = field_choices(f);
                size_t n = 0, cur = 0;
                for (; ch2 && ch2[n]; n++)
                        if (streq(ch2[n], w->values[w->field]))
                                cur = n;
                if (n == 0)
                        return;
                if ((is_key && key == KEY_LEFT))
                        cur = (cur + n - 1) % n;
                else if ((is_key && key == KEY_RIGHT) || key == ' ')
                        cur = (cur + 1) % n;
                else
                        return;
                free(w->values[w->field]);
                w->values[w->field] = strdup(ch2[cur]);
                if (!w->values[w->field])
                        w->values[w->field] = strdup("");
                validate(w);
                return;
        }
        if (f->kind == FIELD_PASSWORD || f->kind == FIELD_CONFIRM) {
                char *buf = w->secret[f->slot - 1][f->kind == FIELD_CONFIRM];
                if ((is_key && key == KEY_BACKSPACE) || (!is_key && (key == 127 || key == 8)))
                        text_backspace(buf);
                else if (!is_key && key == 21) /* Ctrl-U */
                        wipe(buf, SECRET_MAX);
                else if (is_key || !text_append(buf, SECRET_MAX, ch))
                        return;
                w->hash_stale[f->slot - 1] = true;
                validate(w);
                return;
        }
        char buf[VALUE_MAX];
        snprintf(buf, sizeof(buf), "%s", w->values[w->field]);
        if ((is_key && key == KEY_BACKSPACE) || (!is_key && (key == 127 || key == 8)))
                text_backspace(buf);
        else if (!is_key && key == 21)
                buf[0] = 0;
        else if (is_key || !text_append(buf, sizeof(buf), ch))
                return;
        char *v = strdup(buf);
        if (!v)
                return;
        free(w->values[w->field]);
        w->values[w->field] = v;
        /* a user's stored hash was found under the old name: look again */
        if (f->slot > 0 && streq(f->key, "name") && w->secret[f->slot - 1][0][0])
                w->hash_stale[f->slot - 1] = true;
        validate(w);
}

static void search(Wizard *w, int dir) {
        if (!w->search || !*w->search || w->n_lines == 0)
                return;
        size_t n = w->n_lines;
        for (size_t k = 1; k <= n; k++) {
                size_t i = dir > 0 ? (w->top + k) % n : (w->top + n - k) % n;
                if (line_matches(w->lines[i], w->search)) {
                        w->top = i;
                        return;
                }
        }
        snprintf(w->message, sizeof(w->message), _("no match for '%s'"), w->search);
}

static void lines_key(Wizard *w, int key) {
        size_t page = (size_t) MAX(ui.rows - 4, 1);
        switch (key) {
        case KEY_DOWN:
        case 'j':
                w->top++;
                break;
        case KEY_UP:
        case 'k':
                if (w->top > 0)
                        w->top--;
                break;
        case KEY_NPAGE:
        case ' ':
                w->top += page;
                break;
        case KEY_PPAGE:
                w->top = w->top > page ? w->top - page : 0;
                break;
        case 'g':
        case KEY_HOME:
                w->top = 0;
                break;
        case 'G':
        case KEY_END:
                w->top = w->n_lines;
                break;
        case '/':
                w->prompt = PROMPT_SEARCH;
                w->prompt_buf[0] = 0;
                break;
        case 'n':
                search(w, +1);
                break;
        case 'N':
                search(w, -1);
                break;
        }
        if (w->n_lines > 0 && w->top >= w->n_lines)
                w->top = w->n_lines - 1;
}

static void prompt_key(Wizard *w, wint_t ch, bool is_key) {
        int key = (int) ch;
        if (w->prompt == PROMPT_QUIT || w->prompt == PROMPT_APPLY) {
                Prompt p = w->prompt;
                w->prompt = PROMPT_NONE;
                if (key == 'y' || key == 'Y') {
                        if (p == PROMPT_QUIT) {
                                w->outcome = WIZARD_QUIT;
                                w->done = true;
                        } else
                                apply(w);
                }
                return;
        }
        if (!is_key && key == 27) {
                w->prompt = PROMPT_NONE;
                return;
        }
        if (key == '\r' || key == '\n' || (is_key && key == KEY_ENTER)) {
                Prompt p = w->prompt;
                w->prompt = PROMPT_NONE;
                if (p == PROMPT_SEARCH) {
                        free(w->search);
                        w->search = strdup(w->prompt_buf);
                        search(w, +1);
                } else if (p == PROMPT_SAVE) {
                        int r = save_answers(w, w->prompt_buf);
                        if (r < 0)
                                snprintf(w->message, sizeof(w->message), _("cannot save to %s: %s"), w->prompt_buf,
                                         r == -EINVAL ? _("give an absolute path") : strerror(-r));
                        else
                                snprintf(w->message, sizeof(w->message),
                                         _("saved to %s (mode 0600; passwords only as their hash)"), w->prompt_buf);
                }
                return;
        }
        if ((is_key && key == KEY_BACKSPACE) || (!is_key && (key == 127 || key == 8)))
                text_backspace(w->prompt_buf);
        else if (!is_key)
                (void) text_append(w->prompt_buf, sizeof(w->prompt_buf), ch);
}

static void handle_key(Wizard *w, wint_t ch, bool is_key) {
        int key = (int) ch;

        w->message[0] = 0;
        if (w->prompt != PROMPT_NONE) {
                prompt_key(w, ch, is_key);
                return;
        }
        if (w->help) {
                w->help = false;
                return;
        }
        if (is_key && key == KEY_F(1)) {
                w->help = true;
                return;
        }
        if (!is_key && key == 12) { /* Ctrl-L */
                clearok(curscr, TRUE);
                return;
        }
        /* Esc, and Ctrl-C (raw mode: it is a key here) */
        if (!is_key && (key == 27 || key == 3) && (w->mode == MODE_FORM || w->mode == MODE_PLAN)) {
                w->prompt = PROMPT_QUIT;
                return;
        }
        switch (w->mode) {
        case MODE_FORM:
                form_key(w, ch, is_key);
                break;
        case MODE_PLAN:
                if (is_key && key == KEY_F(7)) {
                        w->mode = MODE_FORM;
                        return;
                }
                if (is_key) {
                        lines_key(w, key);
                        return;
                }
                switch (key) {
                case 'a':
                        if (!w->plan || plan_has_errors(w->plan))
                                snprintf(w->message, sizeof(w->message), "%s", _("the plan has errors: nothing can be applied"));
                        else
                                w->prompt = PROMPT_APPLY;
                        break;
                case 'c':
                        if (w->plan && plan_count_conflicts(w->plan) > 0) {
                                w->conflict = (w->conflict + 1) % plan_count_conflicts(w->plan);
                                const Conflict *c = conflict_at(w->plan, w->conflict, NULL);
                                for (size_t k = 0; c && k < w->n_lines; k++)
                                        if (strstr(w->lines[k], c->what)) {
                                                w->top = k;
                                                break;
                                        }
                        } else
                                snprintf(w->message, sizeof(w->message), "%s", _("no conflicts"));
                        break;
                case 'o':
                case 't':
                        if (w->plan && plan_count_conflicts(w->plan) > 0)
                                toggle_conflict(w, key == 'o');
                        break;
                case 's':
                        w->prompt = PROMPT_SAVE;
                        snprintf(w->prompt_buf, sizeof(w->prompt_buf), "%s", w->saved_path ? w->saved_path : strempty(w->o->save_path));
                        break;
                default:
                        lines_key(w, key);
                }
                break;
        case MODE_APPLY:
                if (w->failed && !w->rolled_back) {
                        if (key == 'r')
                                rollback(w);
                        else if (key == 'k')
                                w->done = true;
                } else if (key == 'q' || key == 27 || key == '\r')
                        w->done = true;
                else
                        lines_key(w, key);
                break;
        case MODE_END:
                if (key == '\r' || key == '\n' || (is_key && key == KEY_ENTER)) {
                        w->outcome = WIZARD_DASHBOARD;
                        w->done = true;
                } else if (!is_key && (key == 'q' || key == 27))
                        w->done = true;
                else if (!is_key && key == 's') {
                        w->prompt = PROMPT_SAVE;
                        snprintf(w->prompt_buf, sizeof(w->prompt_buf), "%s", w->saved_path ? w->saved_path : strempty(w->o->save_path));
                } else
                        lines_key(w, key);
                break;
        }
}

/* ---- entry ---- */

static void wizard_done(Wizard *w) {
        wipe(w->secret, sizeof(w->secret));
        for (size_t i = 0; w->values && i < N_FIELDS; i++) {
                free(w->values[i]);
                free(w->now[i]);
        }
        free(w->values);
        free(w->now);
        for (int s = 0; s < MAX_USERS; s++) {
                hash_free(&w->hash[s]);
                free(w->pwfile[s]);
        }
        free(w->error);
        plan_free(w->plan);
        installer_free(w->ins);
        answers_free(w->answers);
        strv_free(w->take_ours);
        strv_free(w->lines);
        strv_free(w->verify);
        free(w->dns_state);
        free(w->search);
        free(w->saved_path);
        apply_result_done(&w->res);
        ptr_unref(w->ptr);
}

int wizard_run(const WizardOptions *o, WizardOutcome *ret, char **ret_error) {
        Wizard w = { .o = o, .root = o->root && *o->root ? o->root : "/", .error_field = -1 };
        size_t n_steps = 0;
        const Step *const *steps = steps_table(&n_steps);
        int r;

        if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO))
                return -ENOTTY;
        w.values = calloc(N_FIELDS, sizeof(char *));
        w.now = calloc(N_FIELDS, sizeof(char *));
        if (!w.values || !w.now) {
                wizard_done(&w);
                return -ENOMEM;
        }
        _Static_assert(ELEMENTSOF(pages) <= ELEMENTSOF(w.steps_present), "steps_present too small");
        for (size_t p = 0; p < ELEMENTSOF(pages); p++) {
                w.steps_present[p] = !pages[p].needs_step;
                for (size_t s = 0; s < n_steps && !w.steps_present[p]; s++)
                        w.steps_present[p] = streq(steps[s]->name, pages[p].needs_step);
        }
        r = load_now(&w);
        if (r >= 0)
                r = initial_values(&w, ret_error);
        if (r < 0) {
                wizard_done(&w);
                return r;
        }
        validate(&w);
        ptr_start(&w);

        /* raw: Ctrl-C is a key here; no loop takes SIGTERM/SIGHUP, so they end it too */
        r = ui_term_start(&(UiTermOptions) { .color = o->color, .raw = true, .end_on_term = true });
        if (r < 0) {
                wizard_done(&w);
                return r;
        }
        ui.ascii = false;

        w.page = 0;
        w.field = first_field_of(&w, 0);
        while (!w.done) {
                wint_t ch;
                draw(&w);
                /* while the PTR lookups run, wake up to show their answer when it comes */
                int wait_ms = ptr_pending(&w) ? 200 : -1;
                timeout(wait_ms);
                int k = ui_get_key(&ch, wait_ms);
                if (k == ERR || k == UI_KEY_DROPPED)
                        continue;
                if (k == KEY_CODE_YES && ch == KEY_RESIZE)
                        continue;
                handle_key(&w, ch, k == KEY_CODE_YES);
        }
        ui_term_restore();
        *ret = w.outcome;
        wizard_done(&w);
        return 0;
}

/* ---- for the unit tests ---- */

int wizard_uncovered_keys(char ***ret) {
        char **v = calloc(1, sizeof(char *));
        size_t n = 0;

        if (!v)
                return -ENOMEM;
        for (const ConfSection *sec = answers_schema()->sections; sec->name; sec++) {
                bool written = false;
                for (size_t i = 0; i < ELEMENTSOF(sections_order); i++)
                        written = written || streq(sections_order[i], sec->name);
                if (!written) {
                        _cleanup_free_ char *s = NULL;
                        if (asprintf(&s, "%s (the section is never written)", sec->name) < 0 ||
                            strv_push(&v, &n, s) < 0) {
                                strv_free(v);
                                return -ENOMEM;
                        }
                }
                for (const ConfKey *k = sec->keys; k->name; k++) {
                        bool found = false;
                        for (size_t i = 0; i < N_FIELDS && !found; i++)
                                found = streq(fields[i].section, sec->name) &&
                                        (streq(fields[i].key, k->name) ||
                                         /* the password field writes these */
                                         (streq(sec->name, "user ") && streq(fields[i].key, "password") &&
                                          (streq(k->name, "password_hash") || streq(k->name, "password_file"))));
                        if (!found) {
                                _cleanup_free_ char *s = NULL;
                                if (asprintf(&s, "%s %s", sec->name, k->name) < 0 || strv_push(&v, &n, s) < 0) {
                                        strv_free(v);
                                        return -ENOMEM;
                                }
                        }
                }
        }
        *ret = v;
        return 0;
}

int wizard_check(const char *root, const char *const *typed, char **ret_field, char **ret_message,
                 char **ret_text) {
        WizardOptions o = { .root = root };
        Wizard w = { .o = &o, .root = root, .error_field = -1 };
        int r = 0;

        w.values = calloc(N_FIELDS, sizeof(char *));
        w.now = calloc(N_FIELDS, sizeof(char *));
        if (!w.values || !w.now) {
                wizard_done(&w);
                return -ENOMEM;
        }
        for (size_t p = 0; p < ELEMENTSOF(pages); p++)
                w.steps_present[p] = true;
        for (size_t i = 0; i < N_FIELDS && r >= 0; i++)
                r = set_value(&w, (int) i, fields[i].def ? fields[i].def : "");
        for (size_t i = 0; i < N_FIELDS && r >= 0; i++)
                if (fields[i].kind == FIELD_CHOICE && !fields[i].def) {
                        const char *const *ch = field_choices(&fields[i]);
                        r = set_value(&w, (int) i, ch && ch[0] ? ch[0] : "");
                }
        for (const char *const *t = typed; t && *t && r >= 0; t++) {
                const char *eq = strchr(*t, '=');
                _cleanup_free_ char *sk = eq ? strndup(*t, (size_t) (eq - *t)) : NULL;
                char *sp = sk ? strrchr(sk, ' ') : NULL;
                if (!sp) {
                        r = -EINVAL;
                        break;
                }
                *sp = 0;
                bool user = streq(sk, "user ") || streq(sk, "user");
                int i = field_index(user ? "user " : sk, sp + 1, user ? 1 : -1);
                if (i < 0) {
                        r = -EINVAL;
                        break;
                }
                if (fields[i].kind == FIELD_PASSWORD || fields[i].kind == FIELD_CONFIRM) {
                        snprintf(w.secret[0][fields[i].kind == FIELD_CONFIRM], SECRET_MAX, "%s", eq + 1);
                        w.hash_stale[0] = true;
                } else
                        r = set_value(&w, i, eq + 1);
        }
        if (r >= 0) {
                validate(&w);
                *ret_field = NULL;
                *ret_message = w.error ? strdup(w.error) : NULL;
                if (w.error && w.error_field >= 0 &&
                    asprintf(ret_field, "%s %s", fields[w.error_field].section, fields[w.error_field].key) < 0)
                        r = -ENOMEM;
                if (r >= 0)
                        r = wizard_ini(&w, NULL, ret_text, NULL, NULL);
        }
        wizard_done(&w);
        return r;
}
