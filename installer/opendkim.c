/* OpenDKIM for the setup step and `mxdeck dkim rotate`: opendkim.conf as text, the key
 * made with the OpenSSL API, KeyTable/SigningTable from the recorded state, the daemon's
 * start/reload with undo, and the DNS comparison of a selector's record with its key. */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "dkim.h"
#include "dns.h"
#include "macro.h"
#include "opendkim.h"
#include "termsafe.h"

/* --- opendkim.conf --- */

typedef struct Line {
        const char *start;
        size_t len;        /* without the newline */
        bool newline;
} Line;

/* The keyword of a line (NULL for blanks and comments) and its length. */
static const char *line_keyword(const Line *l, size_t *ret_len) {
        const char *p = l->start, *end = l->start + l->len;

        while (p < end && (*p == ' ' || *p == '\t'))
                p++;
        if (p == end || *p == '#')
                return NULL;
        const char *k = p;
        while (p < end && *p != ' ' && *p != '\t')
                p++;
        *ret_len = (size_t) (p - k);
        return k;
}

static bool keyword_is(const char *k, size_t klen, const char *key) {
        return klen == strlen(key) && strncasecmp(k, key, klen) == 0;
}

static bool next_line(const char **p, const char *end, Line *ret) {
        if (*p >= end)
                return false;
        const char *nl = memchr(*p, '\n', (size_t) (end - *p));
        ret->start = *p;
        ret->len = nl ? (size_t) (nl - *p) : (size_t) (end - *p);
        ret->newline = nl != NULL;
        *p = nl ? nl + 1 : end;
        return true;
}

int opendkim_conf_get(const char *text, size_t size, const char *key, char **ret) {
        const char *p = text, *end = text + size;
        Line l;

        while (next_line(&p, end, &l)) {
                size_t klen;
                const char *k = line_keyword(&l, &klen);
                if (!k || !keyword_is(k, klen, key))
                        continue;
                const char *v = k + klen, *le = l.start + l.len;
                while (v < le && (*v == ' ' || *v == '\t'))
                        v++;
                while (le > v && (le[-1] == ' ' || le[-1] == '\t' || le[-1] == '\r'))
                        le--;
                *ret = strndup(v, (size_t) (le - v));
                return *ret ? 0 : -ENOMEM;
        }
        return -ENOENT;
}

typedef struct Buf {
        char *s;
        size_t len, cap;
} Buf;

static int buf_add(Buf *b, const char *s, size_t n) {
        if (b->len + n + 1 > b->cap) {
                size_t cap = MAX(b->cap * 2, b->len + n + 64);
                char *ns = realloc(b->s, cap);
                if (!ns)
                        return -ENOMEM;
                b->s = ns;
                b->cap = cap;
        }
        memcpy(b->s + b->len, s, n);
        b->len += n;
        b->s[b->len] = '\0';
        return 0;
}

static int buf_str(Buf *b, const char *s) {
        return buf_add(b, s, strlen(s));
}

#define MAX_CONF_KEYS 32

int opendkim_conf_set(const char *text, size_t size, const char *const *keys,
                      const char *const *values, size_t n, char **ret, size_t *ret_size) {
        const char *p = text, *end = text + size;
        bool done[MAX_CONF_KEYS] = {};
        Buf b = {};
        Line l;
        int r = 0;

        if (n > MAX_CONF_KEYS)
                return -E2BIG;
        for (size_t i = 0; i < n; i++)
                if (strpbrk(keys[i], " \t\n#") || !*keys[i] || strchr(values[i], '\n'))
                        return -EINVAL;
        r = buf_add(&b, "", 0);
        while (r >= 0 && next_line(&p, end, &l)) {
                size_t klen, i;
                const char *k = line_keyword(&l, &klen);
                for (i = 0; k && i < n; i++)
                        if (keyword_is(k, klen, keys[i]))
                                break;
                if (!k || i == n) {
                        r = buf_add(&b, l.start, l.len + l.newline);
                        continue;
                }
                if (done[i]) {
                        r = buf_str(&b, "#mxdeck: ");
                        if (r >= 0)
                                r = buf_add(&b, l.start, l.len + l.newline);
                } else {
                        done[i] = true;
                        r = buf_str(&b, keys[i]);
                        if (r >= 0)
                                r = buf_str(&b, "\t");
                        if (r >= 0)
                                r = buf_str(&b, values[i]);
                        if (r >= 0)
                                r = buf_str(&b, "\n");
                }
                if (r >= 0 && !l.newline && b.len > 0 && b.s[b.len - 1] != '\n')
                        r = buf_str(&b, "\n");
        }
        bool header = false;
        for (size_t i = 0; r >= 0 && i < n; i++) {
                if (done[i])
                        continue;
                if (!header) {
                        if (b.len > 0 && b.s[b.len - 1] != '\n')
                                r = buf_str(&b, "\n");
                        if (r >= 0)
                                r = buf_str(&b, "\n# Set by mxdeck (DKIM signing for Postfix; see mxdeck(1)).\n");
                        header = true;
                }
                if (r >= 0)
                        r = buf_str(&b, keys[i]);
                if (r >= 0)
                        r = buf_str(&b, "\t");
                if (r >= 0)
                        r = buf_str(&b, values[i]);
                if (r >= 0)
                        r = buf_str(&b, "\n");
        }
        if (r < 0) {
                free(b.s);
                return r;
        }
        *ret = b.s;
        *ret_size = b.len;
        return 0;
}

/* --- state --- */

void dkim_state_done(DkimState *s) {
        strv_free(s->domains);
        free(s->selector);
        free(s->next);
        free(s->old);
        *s = (DkimState) {};
}

static int dup_managed(const Installer *ins, const char *key, char **ret) {
        const char *v = installer_managed_get(ins, key);

        *ret = NULL;
        if (!v || !*v)
                return 0;
        *ret = strdup(v);
        return *ret ? 0 : -ENOMEM;
}

static int64_t managed_time(const Installer *ins, const char *key) {
        const char *v = installer_managed_get(ins, key);
        char *end;
        long long t;

        if (!v)
                return 0;
        errno = 0;
        t = strtoll(v, &end, 10);
        return errno || end == v || *end || t < 0 ? 0 : (int64_t) t;
}

int dkim_state_load(const Installer *ins, DkimState *ret) {
        DkimState s = {};
        const char *domains = installer_managed_get(ins, "dkim:domains");
        int r;

        if ((r = dup_managed(ins, "dkim:selector", &s.selector)) < 0 ||
            (r = dup_managed(ins, "dkim:next", &s.next)) < 0 ||
            (r = dup_managed(ins, "dkim:old", &s.old)) < 0) {
                dkim_state_done(&s);
                return r;
        }
        s.started = managed_time(ins, "dkim:started");
        s.switched = managed_time(ins, "dkim:switched");
        if (domains && *domains) {
                size_t n = 1;
                for (const char *c = domains; *c; c++)
                        n += *c == ' ';
                s.domains = calloc(n + 1, sizeof(char *));
                if (!s.domains) {
                        dkim_state_done(&s);
                        return -ENOMEM;
                }
                n = 0;
                for (const char *c = domains; *c;) {
                        size_t len = strcspn(c, " ");
                        if (len > 0 && !(s.domains[n++] = strndup(c, len))) {
                                dkim_state_done(&s);
                                return -ENOMEM;
                        }
                        c += len;
                        c += strspn(c, " ");
                }
        }
        if (!s.domains || !s.domains[0]) {
                /* no record, or a broken one: not set up */
                dkim_state_done(&s);
        }
        *ret = s;
        return 0;
}

static char *join_domains(char *const *v) {
        size_t len = 1;
        char *s, *p;

        for (size_t i = 0; v && v[i]; i++)
                len += strlen(v[i]) + 1;
        s = p = malloc(len);
        if (!s)
                return NULL;
        *p = '\0';
        for (size_t i = 0; v && v[i]; i++) {
                if (i > 0)
                        *p++ = ' ';
                p = stpcpy(p, v[i]);
        }
        return s;
}

static int plan_key_if_changed(StepPlan *sp, const char *key, const char *old, const char *new) {
        if (streq_ptr(old, new))
                return 0;
        return step_plan_managed(sp, key, new);
}

int dkim_state_plan(StepPlan *sp, const DkimState *old, const DkimState *new) {
        _cleanup_free_ char *od = join_domains(old->domains), *nd = join_domains(new->domains);
        char ots[24], nts[24], osw[24], nsw[24];
        int r;

        if (!od || !nd)
                return -ENOMEM;
        snprintf(ots, sizeof(ots), "%" PRId64, old->started);
        snprintf(nts, sizeof(nts), "%" PRId64, new->started);
        snprintf(osw, sizeof(osw), "%" PRId64, old->switched);
        snprintf(nsw, sizeof(nsw), "%" PRId64, new->switched);
        if ((r = plan_key_if_changed(sp, "dkim:domains", *od ? od : NULL, *nd ? nd : NULL)) < 0 ||
            (r = plan_key_if_changed(sp, "dkim:selector", old->selector, new->selector)) < 0 ||
            (r = plan_key_if_changed(sp, "dkim:next", old->next, new->next)) < 0 ||
            (r = plan_key_if_changed(sp, "dkim:old", old->old, new->old)) < 0 ||
            (r = plan_key_if_changed(sp, "dkim:started", old->started ? ots : NULL,
                                     new->started ? nts : NULL)) < 0 ||
            (r = plan_key_if_changed(sp, "dkim:switched", old->switched ? osw : NULL,
                                     new->switched ? nsw : NULL)) < 0)
                return r;
        return 0;
}

static bool selector_taken(const DkimState *s, const char *sel) {
        return s && (streq_ptr(s->selector, sel) || streq_ptr(s->next, sel) || streq_ptr(s->old, sel));
}

int dkim_selector_default(int64_t t, const DkimState *avoid, char **ret) {
        time_t tt = (time_t) t;
        struct tm tm;
        char base[16], sel[24];

        if (!gmtime_r(&tt, &tm) || strftime(base, sizeof(base), "%Y%m", &tm) == 0)
                return -EINVAL;
        snprintf(sel, sizeof(sel), "%s", base);
        for (char c = 'b'; selector_taken(avoid, sel); c++) {
                if (c > 'z')
                        return -EEXIST;
                snprintf(sel, sizeof(sel), "%s%c", base, c);
        }
        *ret = strdup(sel);
        return *ret ? 0 : -ENOMEM;
}

char *opendkim_key_path(const char *domain, const char *selector) {
        char *p;

        if (asprintf(&p, OPENDKIM_KEYS "/%s/%s.private", domain, selector) < 0)
                return NULL;
        return p;
}

/* The selectors of a state in table order: signing first (dkim_local_key and `mxdeck dns
 * records` take the first line of a domain as its current key). */
static size_t state_selectors(const DkimState *s, const char *ret[3]) {
        size_t n = 0;

        if (s->selector)
                ret[n++] = s->selector;
        if (s->next && !streq_ptr(s->next, s->selector))
                ret[n++] = s->next;
        if (s->old && !streq_ptr(s->old, s->selector) && !streq_ptr(s->old, s->next))
                ret[n++] = s->old;
        return n;
}

int opendkim_keytable(const DkimState *s, char **ret) {
        Buf b = {};
        const char *sels[3];
        size_t ns = state_selectors(s, sels);
        int r = buf_str(&b, "# Managed by mxdeck: KEYNAME DOMAIN:SELECTOR:KEYFILE (the signing key first)\n");

        for (size_t i = 0; r >= 0 && i < ns; i++)
                for (char **d = s->domains; r >= 0 && d && *d; d++) {
                        _cleanup_free_ char *line = NULL, *path = opendkim_key_path(*d, sels[i]);
                        if (!path || asprintf(&line, "%s._domainkey.%s %s:%s:%s\n", sels[i], *d, *d, sels[i],
                                              path) < 0)
                                r = -ENOMEM;
                        else
                                r = buf_str(&b, line);
                }
        if (r < 0) {
                free(b.s);
                return r;
        }
        *ret = b.s;
        return 0;
}

int opendkim_signingtable(const DkimState *s, char **ret) {
        Buf b = {};
        int r = buf_str(&b, "# Managed by mxdeck: which key signs mail from which addresses\n");

        for (char **d = s->domains; r >= 0 && d && *d; d++) {
                _cleanup_free_ char *line = NULL;
                if (asprintf(&line, "*@%s %s._domainkey.%s\n", *d, s->selector, *d) < 0)
                        r = -ENOMEM;
                else
                        r = buf_str(&b, line);
        }
        if (r < 0) {
                free(b.s);
                return r;
        }
        *ret = b.s;
        return 0;
}

/* --- the key --- */

static char *ssl_errors(void) {
        char buf[256], *s = NULL;
        unsigned long e;

        while ((e = ERR_get_error()) != 0) {
                char *n;
                ERR_error_string_n(e, buf, sizeof(buf));
                if (asprintf(&n, "%s%s%s", strempty(s), s ? "; " : "", buf) < 0)
                        break;
                free(s);
                s = n;
        }
        return s ? s : strdup("unknown OpenSSL error");
}

int dkim_key_generate(unsigned bits, char **ret_pem, size_t *ret_size, char **ret_error) {
        EVP_PKEY *key = EVP_RSA_gen(bits);
        BIO *b = NULL;
        char *p;
        long n;
        int r = -EIO;

        if (!key)
                goto fail;
        b = BIO_new(BIO_s_mem());
        if (!b || !PEM_write_bio_PrivateKey(b, key, NULL, NULL, 0, NULL, NULL))
                goto fail;
        n = BIO_get_mem_data(b, &p);
        *ret_pem = malloc((size_t) n + 1);
        if (!*ret_pem) {
                OPENSSL_cleanse(p, (size_t) n); /* the private key, in the BIO's memory */
                r = -ENOMEM;
                goto fail;
        }
        memcpy(*ret_pem, p, (size_t) n);
        (*ret_pem)[n] = '\0';
        *ret_size = (size_t) n;
        OPENSSL_cleanse(p, (size_t) n);
        r = 0;
fail:
        if (r == -EIO && ret_error)
                *ret_error = ssl_errors();
        BIO_free(b);
        EVP_PKEY_free(key);
        return r;
}

/* Why an existing key file cannot sign, or NULL. */
static const char *key_unusable(const char *pem, size_t size) {
        BIO *b = BIO_new_mem_buf(pem, (int) size);
        EVP_PKEY *k;
        const char *why = NULL;

        if (!b)
                return N_("out of memory");
        k = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
        BIO_free(b);
        ERR_clear_error();
        if (!k)
                return N_("not a PEM private key (or it is encrypted)");
        if (EVP_PKEY_get_base_id(k) != EVP_PKEY_RSA)
                why = N_("not an RSA key");
        else if (EVP_PKEY_get_bits(k) < 1024)
                why = N_("an RSA key of less than 1024 bits, which receivers ignore");
        EVP_PKEY_free(k);
        return why;
}

static bool dir_planned(const StepPlan *sp, const char *path) {
        for (size_t i = 0; i < sp->n_actions; i++)
                if (sp->actions[i].kind == ACTION_MKDIR && streq(sp->actions[i].path, path))
                        return true;
        return false;
}

static int plan_dir(Installer *ins, StepPlan *sp, const char *path, mode_t mode, const char *owner,
                    const char *group) {
        _cleanup_free_ char *full = installer_path(ins, path);

        if (!full)
                return -ENOMEM;
        if (access(full, F_OK) >= 0 || dir_planned(sp, path))
                return 0;
        return step_plan_mkdir(sp, path, mode, owner, group);
}

int dkim_plan_keys(Installer *ins, StepPlan *sp, const DkimState *s, const char *selector) {
        int r;

        r = plan_dir(ins, sp, OPENDKIM_DIR, 0755, NULL, NULL);
        if (r >= 0)
                r = plan_dir(ins, sp, OPENDKIM_KEYS, 0750, OPENDKIM_USER, OPENDKIM_USER);
        if (r < 0)
                return r;
        for (char **d = s->domains; d && *d; d++) {
                _cleanup_free_ char *path = opendkim_key_path(*d, selector), *dir = NULL;
                _cleanup_free_ char *pem = NULL, *err = NULL;
                size_t size = 0;
                const char *why;

                if (!path || asprintf(&dir, OPENDKIM_KEYS "/%s", *d) < 0)
                        return -ENOMEM;
                r = plan_dir(ins, sp, dir, 0700, OPENDKIM_USER, OPENDKIM_USER);
                if (r < 0)
                        return r;
                r = installer_read(ins, path, &pem, &size);
                if (r >= 0) {
                        why = key_unusable(pem, size);
                        if (why) {
                                OPENSSL_cleanse(pem, size);
                                return step_plan_note(sp, NOTE_ERROR,
                                                      _("%s cannot sign: %s. Move it away, or choose another "
                                                        "selector ([dkim] selector)"), path, _(why));
                        }
                } else if (r == -ENOENT) {
                        r = dkim_key_generate(DKIM_KEY_BITS, &pem, &size, &err);
                        if (r == -EIO)
                                return step_plan_note(sp, NOTE_ERROR, _("cannot make a DKIM key: %s"), strempty(err));
                        if (r < 0)
                                return r;
                        r = step_plan_note(sp, NOTE_INFO, _("a new %u-bit RSA key for %s, selector %s"),
                                           DKIM_KEY_BITS, *d, selector);
                        if (r < 0) {
                                OPENSSL_cleanse(pem, size);
                                return r;
                        }
                } else
                        return r;
                r = step_plan_file(ins, sp, path, pem, size, 0600, OPENDKIM_USER, OPENDKIM_USER, true);
                OPENSSL_cleanse(pem, size);
                if (r < 0)
                        return r;
        }
        return 0;
}

int dkim_plan_tables(Installer *ins, StepPlan *sp, const DkimState *s) {
        _cleanup_free_ char *kt = NULL, *st = NULL;
        int r;

        r = opendkim_keytable(s, &kt);
        if (r >= 0)
                r = opendkim_signingtable(s, &st);
        if (r >= 0)
                r = step_plan_file(ins, sp, OPENDKIM_KEYTABLE, kt, strlen(kt), 0644, NULL, NULL, false);
        if (r >= 0)
                r = step_plan_file(ins, sp, OPENDKIM_SIGNINGTABLE, st, strlen(st), 0644, NULL, NULL, false);
        return r;
}

/* --- the daemon --- */

bool opendkim_running(const Installer *ins) {
        _cleanup_free_ char *data = NULL;
        size_t size;
        char *end;
        long pid;

        if (installer_read(ins, OPENDKIM_PIDFILE, &data, &size) < 0)
                return false;
        pid = strtol(data, &end, 10);
        if (pid <= 1 || end == data)
                return false;
        return kill((pid_t) pid, 0) == 0 || errno == EPERM;
}

/* Stopping without systemd: Debian's start-stop-daemon waits until the process is gone
 * (so the socket directory can be removed after it); elsewhere pkill by the pid file. */
static void stop_argv(const Installer *ins, const char *argv[12]) {
        size_t k = 0;

        if (installer_profile(ins)->family == DISTRO_DEBIAN) {
                argv[k++] = "start-stop-daemon";
                argv[k++] = "--stop";
                argv[k++] = "--quiet";
                argv[k++] = "--oknodo";
                argv[k++] = "--retry";
                argv[k++] = "TERM/10/KILL/5";
                argv[k++] = "--pidfile";
                argv[k++] = OPENDKIM_PIDFILE;
        } else {
                argv[k++] = "pkill";
                argv[k++] = "-F";
                argv[k++] = OPENDKIM_PIDFILE;
        }
        argv[k] = NULL;
}

int dkim_plan_signal(Installer *ins, StepPlan *sp, bool restart) {
        bool running = opendkim_running(ins);
        const char *stop[12];
        Action *a;
        int r;

        if (installer_offline(ins))
                return 0;
        if (installer_systemd(ins)) {
                const char *en[] = { "systemctl", "enable", "opendkim.service", NULL };
                const char *dis[] = { "systemctl", "disable", "opendkim.service", NULL };
                const char *rs[] = { "systemctl", "restart", "opendkim.service", NULL };
                const char *st[] = { "systemctl", "stop", "opendkim.service", NULL };
                const char *rl[] = { "systemctl", "reload-or-restart", "opendkim.service", NULL };
                if (!running) {
                        r = step_plan_run(sp, NULL, en, (const char *const[]) { NULL }, dis, NULL);
                        if (r >= 0)
                                r = step_plan_run(sp, NULL, rs, (const char *const[]) { NULL }, st, NULL);
                        return r;
                }
                r = step_plan_run(sp, NULL, restart ? rs : rl, (const char *const[]) { NULL }, rs, &a);
                if (r >= 0)
                        a->undo_late = true;
                return r;
        }
        stop_argv(ins, stop);
        const char *start[] = { "opendkim", "-x", OPENDKIM_CONF, NULL };
        if (running && !restart) {
                const char *usr1[] = { "pkill", "-USR1", "-F", OPENDKIM_PIDFILE, NULL };
                r = step_plan_run(sp, _("opendkim: re-read the tables (SIGUSR1)"), usr1,
                                  (const char *const[]) { NULL }, usr1, &a);
                if (r >= 0)
                        a->undo_late = true;
                return r;
        }
        r = plan_dir(ins, sp, OPENDKIM_RUN_DIR, 0750, OPENDKIM_USER, OPENDKIM_USER);
        if (r < 0)
                return r;
        if (running) {
                r = step_plan_run(sp, NULL, stop, (const char *const[]) { NULL }, start, &a);
                if (r < 0)
                        return r;
                a->undo_late = true;
        }
        return step_plan_run(sp, NULL, start, (const char *const[]) { NULL }, stop, NULL);
}

/* --- the record --- */

int dkim_record_for_key(const Installer *ins, const char *key_path, char **ret, unsigned *ret_bits) {
        _cleanup_free_ char *full = installer_path(ins, key_path), *b64 = NULL;
        DkimKeyType type;
        unsigned bits;
        int r;

        if (!full)
                return -ENOMEM;
        r = dkim_public_from_private(full, &type, &b64, &bits);
        if (r < 0)
                return r;
        if (asprintf(ret, "v=DKIM1; k=%s; p=%s", type == DKIM_KEY_RSA ? "rsa" : "ed25519", b64) < 0)
                return -ENOMEM;
        if (ret_bits)
                *ret_bits = bits;
        return 0;
}

int dkim_dns_lookup(const Installer *ins, const char *resolver, unsigned timeout_ms, const char *domain,
                    const char *selector, DkimDnsState *ret, char **ret_detail) {
        _cleanup_(dns_client_freep) DnsClient *c = NULL;
        _cleanup_(dns_answer_done) DnsAnswer a = {};
        _cleanup_(dkim_key_freep) DkimKey *key = NULL;
        _cleanup_free_ char *name = NULL, *err = NULL, *path = NULL, *full = NULL, *detail = NULL;
        const char *text = NULL;
        size_t n = 0;
        int r;

        if (asprintf(&name, "%s._domainkey.%s", selector, domain) < 0)
                return -ENOMEM;
        r = dns_client_new(resolver, timeout_ms, &c, &err);
        if (r < 0) {
                if (ret_detail && asprintf(ret_detail, _("resolver: %s"), err ? err : strerror(-r)) < 0)
                        return -ENOMEM;
                *ret = DKIM_DNS_UNREACHABLE;
                return 0;
        }
        r = dns_query(c, name, 16 /* TXT */, &a);
        if (r < 0)
                return r;
        if (a.status == DNS_STATUS_NXDOMAIN || a.status == DNS_STATUS_NODATA) {
                *ret = DKIM_DNS_MISSING;
                if (asprintf(&detail, _("%s: no record (%s, asked %s)"), name, dns_status_to_string(a.status),
                             dns_client_servers(c)) < 0)
                        return -ENOMEM;
        } else if (a.status != DNS_STATUS_OK) {
                *ret = DKIM_DNS_UNREACHABLE;
                if (asprintf(&detail, _("%s: the resolver %s did not answer (%s)"), name, dns_client_servers(c),
                             dns_status_to_string(a.status)) < 0)
                        return -ENOMEM;
        } else {
                for (size_t i = 0; i < a.n_records; i++)
                        if (a.records[i].text && dkim_is_record(a.records[i].text, strlen(a.records[i].text))) {
                                if (!text)
                                        text = a.records[i].text;
                                n++;
                        }
                if (!text) {
                        *ret = DKIM_DNS_MISSING;
                        if (asprintf(&detail, _("%s: TXT records, but none is a DKIM key"), name) < 0)
                                return -ENOMEM;
                } else if (dkim_key_parse(text, strlen(text), &key, &err) < 0) {
                        *ret = DKIM_DNS_DIFFERENT;
                        if (asprintf(&detail, _("%s: the record is broken: %s"), name, err ? err : "?") < 0)
                                return -ENOMEM;
                } else {
                        path = opendkim_key_path(domain, selector);
                        full = path ? installer_path(ins, path) : NULL;
                        if (!full)
                                return -ENOMEM;
                        r = dkim_key_matches_private(key, full);
                        if (r == -ENOMEM)
                                return r;
                        *ret = r > 0 && n == 1 ? DKIM_DNS_MATCHES : DKIM_DNS_DIFFERENT;
                        if (r > 0 && n == 1)
                                r = asprintf(&detail, _("%s: served, matches %s"), name, path);
                        else if (r > 0)
                                r = asprintf(&detail, _("%s: served, but as %zu key records"), name, n);
                        else if (r == 0)
                                r = asprintf(&detail, _("%s: served, but it is not the public half of %s"), name, path);
                        else
                                r = asprintf(&detail, _("%s: served; %s cannot be read: %s"), name, path, strerror(-r));
                        if (r < 0)
                                return -ENOMEM;
                }
        }
        if (ret_detail) {
                *ret_detail = termsafe_strdup(detail, 0);
                if (!*ret_detail)
                        return -ENOMEM;
        }
        return 0;
}
