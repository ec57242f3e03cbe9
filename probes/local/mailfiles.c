/* config.tables, config.sasl, cert.files: files that Postfix and Dovecot name in their
 * configuration and need at run time, which 'postfix check' and 'doveconf -n' accept even
 * when they are missing, stale or unreadable. */
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/x509.h>

#include "local.h"
#include "macro.h"
#include "mailconf.h"
#include "maillog.h"
#include "postconf.h"

#define MAX_TABLES 64

/* Indexed tables: Postfix reads the database built from the source with postmap. */
static const struct {
        const char *type;
        const char *suffix;
} indexed_types[] = {
        { "hash", ".db" }, { "btree", ".db" }, { "lmdb", ".lmdb" }, { "cdb", ".cdb" }, { "dbm", ".pag" }, { "sdbm", ".pag" },
};

typedef struct Table {
        char *spec;    /* "hash:/etc/aliases" */
        char *param;   /* where it was named: "alias_maps", "submission/inet/smtpd_..." */
        const char *suffix;
} Table;

static const char *indexed_suffix(const char *word, size_t *ret_type_len) {
        for (size_t i = 0; i < ELEMENTSOF(indexed_types); i++) {
                size_t l = strlen(indexed_types[i].type);
                if (strncmp(word, indexed_types[i].type, l) == 0 && word[l] == ':' && word[l + 1] == '/') {
                        *ret_type_len = l;
                        return indexed_types[i].suffix;
                }
        }
        return NULL;
}

/* "name = value" lines (postconf -x, postconf -Px): every indexed table named in a value. */
/* Postfix's own caches (verify, postscreen, TLS sessions): it creates and rebuilds them. */
static bool is_cache_param(const char *param, size_t len) {
        static const char *const suffixes[] = { "_cache_database", "_cache_map", "address_verify_map", "_cache",
                                                /* lists of tables proxymap may open, used elsewhere */
                                                "proxy_read_maps", "proxy_write_maps" };
        for (size_t i = 0; i < ELEMENTSOF(suffixes); i++) {
                size_t l = strlen(suffixes[i]);
                if (len >= l && strncmp(param + len - l, suffixes[i], l) == 0)
                        return true;
        }
        return false;
}

static int collect_tables(char **lines, Table *tables, size_t *n) {
        for (char **l = lines; l && *l; l++) {
                const char *eq = strstr(*l, " = ");
                if (!eq || is_cache_param(*l, (size_t) (eq - *l)))
                        continue;
                _cleanup_strv_free_ char **words = NULL;
                if (postfix_list_split(eq + 3, &words) < 0)
                        return -ENOMEM;
                for (char **w = words; *w; w++) {
                        const char *p = *w + strspn(*w, "{");
                        if (strncmp(p, "proxy:", 6) == 0)
                                p += 6;
                        size_t tl;
                        const char *suffix = indexed_suffix(p, &tl);
                        if (!suffix)
                                continue;
                        size_t len = strcspn(p, "{}");
                        bool dup = false;
                        for (size_t i = 0; i < *n && !dup; i++)
                                dup = strlen(tables[i].spec) == len && strncmp(tables[i].spec, p, len) == 0;
                        if (dup || *n >= MAX_TABLES)
                                continue;
                        tables[*n] = (Table) { .spec = strndup(p, len), .param = strndup(*l, (size_t) (eq - *l)),
                                               .suffix = suffix };
                        if (!tables[*n].spec || !tables[*n].param)
                                return -ENOMEM;
                        (*n)++;
                }
        }
        return 0;
}

static int postconf_lines(const CheckContext *ctx, const char *flag, char ***ret) {
        const char *argv[] = { "postconf", flag, NULL };
        SpawnResult s;
        int r = probe_run(ctx, argv, &s);
        if (r < 0)
                return r;
        if (!spawn_result_ok(&s)) {
                spawn_result_done(&s);
                return -EINVAL;
        }
        r = 0;
        size_t n = 0;
        char **v = NULL;
        for (const char *p = s.out; p && *p && r == 0;) {
                size_t len = strcspn(p, "\n");
                char **nv = reallocarray(v, n + 2, sizeof(char *));
                if (!nv || !(nv[n] = strndup(p, len))) {
                        v = nv ? nv : v;
                        r = -ENOMEM;
                        break;
                }
                v = nv;
                v[++n] = NULL;
                p += len + (p[len] == '\n');
        }
        spawn_result_done(&s);
        if (r < 0) {
                strv_free(v);
                return r;
        }
        *ret = v;
        return 0;
}

static bool is_alias_param(const char *param) {
        return streq(param, "alias_maps") || streq(param, "alias_database");
}

int check_config_tables(const CheckContext *ctx, FindingList *out) {
        _cleanup_strv_free_ char **main_lines = NULL, **master_lines = NULL;
        Table tables[MAX_TABLES];
        size_t n = 0;
        int r;

        r = postconf_lines(ctx, "-x", &main_lines);
        if (r == -ENOENT)
                return 0; /* Postfix is not installed: config.postfix says so */
        if (r < 0) {
                Finding *f = findings_addf(out, "config.tables", "/etc/postfix/main.cf", STATUS_UNKNOWN,
                                           _("cannot read Postfix settings: see config.postfix"));
                return f ? 0 : -ENOMEM;
        }
        (void) postconf_lines(ctx, "-Px", &master_lines);
        r = collect_tables(main_lines, tables, &n);
        if (r >= 0)
                r = collect_tables(master_lines, tables, &n);

        Status worst = STATUS_OK;
        _cleanup_free_ char *detail = NULL;
        Finding *f = NULL;
        FindingList problems = {};
        for (size_t i = 0; i < n && r >= 0; i++) {
                const char *path = strchr(tables[i].spec, ':') + 1;
                _cleanup_free_ char *db = NULL, *line = NULL;
                struct stat src, dbs;
                if (asprintf(&db, "%s%s", path, tables[i].suffix) < 0) {
                        r = -ENOMEM;
                        break;
                }
                bool has_src = stat(path, &src) == 0, has_db = stat(db, &dbs) == 0;
                Status st = STATUS_OK;
                const char *what;
                if (!has_db && !has_src) {
                        st = STATUS_CRITICAL;
                        what = _("neither the source nor its database exists: every lookup fails (\"451 4.3.0 "
                                 "Temporary lookup failure\")");
                } else if (!has_db) {
                        st = STATUS_CRITICAL;
                        what = _("the database is missing: every lookup fails (\"451 4.3.0 Temporary lookup failure\")");
                } else if (has_src && (src.st_mtim.tv_sec > dbs.st_mtim.tv_sec ||
                                       (src.st_mtim.tv_sec == dbs.st_mtim.tv_sec && src.st_mtim.tv_nsec > dbs.st_mtim.tv_nsec))) {
                        st = STATUS_WARNING;
                        what = _("the database is older than its source: Postfix still answers from the old data");
                } else
                        what = _("database up to date");
                if (asprintf(&line, "%s%s (%s): %s", st == STATUS_OK ? "" : "! ", tables[i].spec, tables[i].param, what) < 0) {
                        r = -ENOMEM;
                        break;
                }
                char *joined;
                if (asprintf(&joined, "%s%s%s", strempty(detail), detail ? "\n" : "", line) < 0) {
                        r = -ENOMEM;
                        break;
                }
                free(detail);
                detail = joined;
                if (st == STATUS_OK)
                        continue;
                worst = status_worst(worst, st);
                /* One finding per broken table, so each remedy is exact. */
                Finding *p = findings_addf(&problems, "config.tables", tables[i].spec, st, "%s: %s", tables[i].spec, what);
                if (!p) {
                        r = -ENOMEM;
                        break;
                }
                if (!has_src)
                        r = finding_set_remedy(p, _("Create %s (its format: man 5 %s), then build the database; "
                                                    "or remove %s from %s."),
                                               path, is_alias_param(tables[i].param) ? "aliases" : "postmap",
                                               tables[i].spec, tables[i].param);
                else {
                        /* A stale database is noticed by every Postfix process, which then
                         * restarts; one that was missing has left processes holding a table
                         * that fails every lookup until they are replaced: reload. */
                        if (is_alias_param(tables[i].param))
                                r = finding_set_remedy(p, "%s", has_db ? _("Rebuild the aliases database (Postfix picks it up by itself).")
                                                                       : _("Build the aliases database, then reload Postfix so that "
                                                                           "no process keeps the failed table."));
                        else
                                r = finding_set_remedy(p, "%s", has_db ? _("Rebuild the table's database (Postfix picks it up by itself).")
                                                                       : _("Build the table's database, then reload Postfix so that "
                                                                           "no process keeps the failed table."));
                        if (r >= 0)
                                r = finding_add_command(p, "%s %s", is_alias_param(tables[i].param) ? "postalias" : "postmap",
                                                        tables[i].spec);
                        if (r >= 0 && !has_db)
                                r = remedy_reload(p, ctx, true, false);
                }
        }
        for (size_t i = 0; i < n; i++) {
                free(tables[i].spec);
                free(tables[i].param);
        }
        if (r < 0) {
                findings_done(&problems);
                return r;
        }
        if (worst == STATUS_OK) {
                f = findings_addf(out, "config.tables", "/etc/postfix/main.cf", STATUS_OK,
                                  n == 0 ? _("no indexed lookup tables in use")
                                         : ngettext("%zu lookup table, its database up to date",
                                                    "%zu lookup tables, each database up to date", n), n);
                if (!f || (detail && finding_set_detail(f, "%s", detail) < 0))
                        return -ENOMEM;
                return 0;
        }
        for (size_t i = 0; i < problems.n; i++)
                if (finding_set_detail(&problems.items[i], "%s", detail) < 0) {
                        findings_done(&problems);
                        return -ENOMEM;
                }
        r = findings_move(out, &problems);
        findings_done(&problems);
        return r;
}

/* Is Dovecot's master process alive? Its pid file under base_dir names it. */
static bool dovecot_running(const CheckContext *ctx) {
        _cleanup_free_ char *base = NULL, *path = NULL, *pid = NULL;
        if (doveconf_get(ctx, "base_dir", &base, NULL) < 0 || !base)
                return false;
        base[strcspn(base, "\n")] = 0;
        if (asprintf(&path, "%s/master.pid", base + strspn(base, " \t")) < 0)
                return false;
        FILE *f = fopen(path, "re");
        if (!f)
                return false;
        long p = 0;
        bool ok = fscanf(f, "%ld", &p) == 1 && p > 0;
        fclose(f);
        char proc[64];
        snprintf(proc, sizeof(proc), "/proc/%ld", p);
        return ok && access(proc, F_OK) == 0;
}

int check_config_sasl(const CheckContext *ctx, FindingList *out) {
        _cleanup_free_ char *path = NULL;
        bool enabled = false;
        Finding *f;
        int r = postfix_sasl_socket(ctx, &path, &enabled);
        if (r == -ENOENT)
                return 0;
        if (r == -ENODATA || (r >= 0 && !enabled)) {
                f = findings_addf(out, "config.sasl", "/etc/postfix/main.cf", STATUS_OK,
                                  r == -ENODATA ? _("Postfix does not ask Dovecot to authenticate clients (no "
                                                    "smtpd_sasl_type = dovecot with a socket)")
                                                : _("SMTP authentication is not enabled in Postfix"));
                return f ? 0 : -ENOMEM;
        }
        if (r < 0) {
                f = findings_addf(out, "config.sasl", "/etc/postfix/main.cf", STATUS_UNKNOWN,
                                  _("cannot read Postfix settings: see config.postfix"));
                return f ? 0 : -ENOMEM;
        }
        int st = unix_socket_state(path);
        if (st > 0) {
                /* It answers root; smtpd connects as the postfix user. */
                struct stat sst;
                struct passwd *pw = getpwnam("postfix");
                if (pw && stat(path, &sst) == 0) {
                        bool can = (sst.st_mode & 0006) == 0006 ||
                                   (sst.st_uid == pw->pw_uid && (sst.st_mode & 0600) == 0600) ||
                                   (sst.st_gid == pw->pw_gid && (sst.st_mode & 0060) == 0060);
                        if (!can) {
                                f = findings_addf(out, "config.sasl", path, STATUS_CRITICAL,
                                                  _("Postfix (user postfix) may not connect to Dovecot's auth socket %s: "
                                                    "nobody can log in to send mail"),
                                                  path);
                                if (!f || finding_set_detail(f, _("mode %04o, owner uid %u gid %u; postfix is uid %u gid %u"),
                                                             (unsigned) (sst.st_mode & 07777), (unsigned) sst.st_uid,
                                                             (unsigned) sst.st_gid, (unsigned) pw->pw_uid,
                                                             (unsigned) pw->pw_gid) < 0)
                                        return -ENOMEM;
                                return finding_set_remedy(f, _("Give the listener to Postfix in Dovecot's 10-master.conf:\n"
                                                               "service auth { unix_listener %s { mode = 0660 user = postfix "
                                                               "group = postfix } }\nthen '%s'."),
                                                          path, reload_cmd_dovecot(ctx)) < 0 ? -ENOMEM : 0;
                        }
                }
                f = findings_addf(out, "config.sasl", path, STATUS_OK, _("Dovecot's auth socket answers Postfix at %s"), path);
                return f ? 0 : -ENOMEM;
        }
        if ((st == -EACCES || st == -EPERM) && geteuid() != 0) {
                /* The socket is Postfix's and root's to use: this user cannot tell. */
                f = findings_addf(out, "config.sasl", path, STATUS_UNKNOWN,
                                  _("not tested: this user may not connect to Dovecot's auth socket %s (needs root)"), path);
                return f ? 0 : -ENOMEM;
        }
        bool running = dovecot_running(ctx);
        f = findings_addf(out, "config.sasl", path, STATUS_CRITICAL,
                          st == -ENOENT ? _("Postfix authenticates clients through %s, which is missing: nobody can "
                                            "log in to send mail, and smtpd dies at EHLO")
                                        : _("Postfix authenticates clients through %s, and nobody answers there: "
                                            "nobody can log in to send mail"),
                          path);
        if (!f)
                return -ENOMEM;
        if (finding_set_detail(f, _("smtpd_sasl_type = dovecot, smtpd_sasl_path -> %s: %s\nDovecot: %s"), path,
                               st == -ENOENT ? _("no such file") : st == 0 ? _("connection refused") : strerror(-st),
                               running ? _("running") : _("not running")) < 0)
                return -ENOMEM;
        _cleanup_free_ char *said = NULL;
        if (maillog_find_recent("SASL authentication mechanisms", 3600, &said) == -ENOMEM ||
            (!said && maillog_find_recent("SASL: Connect to", 3600, &said) == -ENOMEM))
                return -ENOMEM;
        if (said && finding_append_detail(f, _("Postfix's log: %s"), said) < 0)
                return -ENOMEM;
        if (!running) {
                if (finding_set_remedy(f, "%s", _("Dovecot serves this socket and is not running: start it. Postfix "
                                                  "pauses a service whose smtpd keeps dying, so it answers again "
                                                  "within about 60 s.")) < 0)
                        return -ENOMEM;
                return remedy_start(f, ctx, false, true);
        }
        return finding_set_remedy(f, _("Dovecot runs but does not serve %s: add to its configuration (10-master.conf)\n"
                                       "service auth { unix_listener %s { mode = 0660 user = postfix group = postfix } }\n"
                                       "then '%s'."),
                                  path, path, reload_cmd_dovecot(ctx));
}

/* ---- cert.files ---- */

typedef enum FileKind { FILE_CERT, FILE_KEY, FILE_CHAIN } FileKind;

typedef struct TlsFile {
        const char *daemon; /* "Postfix", "Dovecot" */
        const char *setting;
        char *path;
        FileKind kind;
} TlsFile;

static char *trim_value(const char *v) {
        v += strspn(v, " \t<");
        size_t n = strcspn(v, "\n");
        while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t'))
                n--;
        return strndup(v, n);
}

/* What is wrong with a file, or NULL. *ret_mode_loose: a key others may read. */
static const char *file_problem(const TlsFile *t, X509 **ret_cert, EVP_PKEY **ret_key, bool *ret_mode_loose,
                                bool *ret_denied) {
        struct stat st;
        if (stat(t->path, &st) < 0)
                return errno == ENOENT ? _("does not exist") : _("cannot be read");
        if (!S_ISREG(st.st_mode))
                return _("is not a regular file");
        FILE *fp = fopen(t->path, "re");
        if (!fp) {
                /* Not root: a key only root may read is the right mode, not a broken file. */
                *ret_denied = (errno == EACCES || errno == EPERM) && geteuid() != 0;
                return _("cannot be read");
        }
        if (t->kind != FILE_KEY) {
                *ret_cert = PEM_read_X509(fp, NULL, NULL, NULL);
                rewind(fp);
        }
        if (t->kind != FILE_CERT)
                *ret_key = PEM_read_PrivateKey(fp, NULL, NULL, NULL);
        fclose(fp);
        if (t->kind != FILE_CERT)
                *ret_mode_loose = (st.st_mode & 0037) != 0;
        if (t->kind == FILE_CERT && !*ret_cert)
                return _("holds no PEM certificate");
        if (t->kind == FILE_KEY && !*ret_key)
                return _("holds no PEM private key (or one protected by a passphrase)");
        if (t->kind == FILE_CHAIN && !*ret_cert && !*ret_key)
                return _("holds neither a PEM certificate nor a private key");
        return NULL;
}

int check_cert_files(const CheckContext *ctx, FindingList *out) {
        TlsFile files[16];
        size_t n = 0;
        int r = 0;

        static const char *const pnames[] = { "smtpd_tls_chain_files", "smtpd_tls_cert_file", "smtpd_tls_key_file", NULL };
        _cleanup_strv_free_ char **pv = NULL;
        bool postfix = postconf_get(ctx, pnames, &pv, NULL) >= 0;
        if (postfix) {
                _cleanup_strv_free_ char **chain = NULL;
                if (postfix_list_split(pv[0], &chain) < 0)
                        return -ENOMEM;
                for (char **c = chain; *c && n < 8; c++)
                        files[n++] = (TlsFile) { "Postfix", "smtpd_tls_chain_files", strdup(*c), FILE_CHAIN };
                if (!chain[0] && *pv[1])
                        files[n++] = (TlsFile) { "Postfix", "smtpd_tls_cert_file", strdup(pv[1]), FILE_CERT };
                if (!chain[0] && *pv[2])
                        files[n++] = (TlsFile) { "Postfix", "smtpd_tls_key_file", strdup(pv[2]), FILE_KEY };
        }
        _cleanup_free_ char *ssl = NULL, *dcert = NULL, *dkey = NULL;
        bool dovecot = doveconf_get(ctx, "ssl", &ssl, NULL) >= 0 && ssl && strncmp(ssl + strspn(ssl, " \t"), "no", 2) != 0;
        if (dovecot && doveconf_get(ctx, "ssl_cert", &dcert, NULL) >= 0 && dcert &&
            dcert[strspn(dcert, " \t<\n")] && doveconf_get(ctx, "ssl_key", &dkey, NULL) >= 0 && dkey) {
                files[n++] = (TlsFile) { "Dovecot", "ssl_cert", trim_value(dcert), FILE_CERT };
                files[n++] = (TlsFile) { "Dovecot", "ssl_key", trim_value(dkey), FILE_KEY };
        }
        for (size_t i = 0; i < n; i++)
                if (!files[i].path) {
                        r = -ENOMEM;
                        goto finish;
                }
        if (n == 0) {
                Finding *f = findings_addf(out, "cert.files", "", STATUS_OK,
                                           _("neither Postfix nor Dovecot names a certificate file"));
                r = f ? 0 : -ENOMEM;
                goto finish;
        }

        /* Per daemon: every file usable, a key and a certificate, and they belong together. */
        static const char *const daemons[] = { "Postfix", "Dovecot" };
        bool any = false;
        for (size_t d = 0; d < ELEMENTSOF(daemons) && r >= 0; d++) {
                X509 *cert = NULL;
                EVP_PKEY *key = NULL;
                const TlsFile *cert_file = NULL;
                _cleanup_free_ char *detail = NULL, *problem = NULL;
                const TlsFile *loose = NULL, *missing = NULL;
                size_t count = 0;
                const TlsFile *denied = NULL; /* the file this user may not read, when that is the problem */
                for (size_t i = 0; i < n; i++) {
                        if (!streq(files[i].daemon, daemons[d]))
                                continue;
                        count++;
                        X509 *c = NULL;
                        EVP_PKEY *k = NULL;
                        bool mode_loose = false, file_denied = false;
                        const char *p = file_problem(&files[i], &c, &k, &mode_loose, &file_denied);
                        char *joined;
                        if (asprintf(&joined, "%s%s%s = %s: %s", strempty(detail), detail ? "\n" : "", files[i].setting,
                                     files[i].path, p ? p : _("fine")) < 0) {
                                r = -ENOMEM;
                                X509_free(c);
                                EVP_PKEY_free(k);
                                break;
                        }
                        free(detail);
                        detail = joined;
                        if (p && !problem) {
                                if (asprintf(&problem, "%s %s", files[i].path, p) < 0)
                                        r = -ENOMEM;
                                if (streq(p, _("does not exist")))
                                        missing = &files[i];
                                denied = file_denied ? &files[i] : NULL;
                        }
                        if (mode_loose && !loose)
                                loose = &files[i];
                        if (c && !cert) {
                                cert = c;
                                cert_file = &files[i];
                        } else
                                X509_free(c);
                        if (k && !key)
                                key = k;
                        else
                                EVP_PKEY_free(k);
                }
                if (count == 0 || r < 0) {
                        X509_free(cert);
                        EVP_PKEY_free(key);
                        continue;
                }
                any = true;
                bool mismatch = !problem && cert && key && X509_check_private_key(cert, key) != 1;
                Finding *f;
                const char *target = cert_file ? cert_file->path : files[0].path;
                if (problem && denied)
                        f = findings_addf(out, "cert.files", target, STATUS_UNKNOWN,
                                          _("%s's TLS files not tested: this user may not read %s (needs root)"),
                                          daemons[d], denied->path);
                else if (problem)
                        f = findings_addf(out, "cert.files", missing ? missing->path : target, STATUS_CRITICAL,
                                          _("%s's TLS files are broken: %s"), daemons[d], problem);
                else if (!cert || !key)
                        f = findings_addf(out, "cert.files", target, STATUS_CRITICAL,
                                          _("%s's TLS files lack a %s"), daemons[d], !cert ? _("certificate") : _("private key"));
                else if (mismatch)
                        f = findings_addf(out, "cert.files", target, STATUS_CRITICAL,
                                          _("%s's private key does not belong to its certificate"), daemons[d]);
                else if (loose)
                        f = findings_addf(out, "cert.files", loose->path, STATUS_WARNING,
                                          _("%s's private key %s can be read by other users"), daemons[d], loose->path);
                else
                        f = findings_addf(out, "cert.files", target, STATUS_OK,
                                          _("%s's certificate and key are readable and belong together"), daemons[d]);
                X509_free(cert);
                EVP_PKEY_free(key);
                if (!f || finding_set_detail(f, "%s", detail) < 0) {
                        r = -ENOMEM;
                        break;
                }
                bool is_dovecot = d == 1;
                if (problem || !cert || !key || mismatch) {
                        /* A stopgap that makes the daemon work again at once: a self-signed pair
                         * at the very paths the configuration names (tls.*.chain then asks for a
                         * real one). Offered only when the files are missing or unusable, never
                         * over a working pair. */
                        const TlsFile *c = NULL, *k = NULL;
                        for (size_t i = 0; i < n; i++)
                                if (streq(files[i].daemon, daemons[d])) {
                                        if (files[i].kind == FILE_KEY || (files[i].kind == FILE_CHAIN && !k))
                                                k = &files[i];
                                        if (files[i].kind == FILE_CERT || files[i].kind == FILE_CHAIN)
                                                c = &files[i];
                                }
                        const char *host = ctx->host && *ctx->host ? ctx->host : "localhost";
                        if (c && k && c != k) {
                                r = finding_set_remedy(f, _("Put a certificate and its key where %s looks for them: the "
                                                            "ones from your CA (Let's Encrypt: /etc/letsencrypt/live/%s/), "
                                                            "or, to get mail going at once, a self-signed pair made at "
                                                            "those paths (then get a real one: see tls.*.chain). %s"),
                                                       daemons[d], host,
                                                       is_dovecot ? _("Dovecot does not start without them.")
                                                                  : _("Postfix offers no TLS without them."));
                                if (r >= 0)
                                        r = finding_add_command(f, "openssl req -x509 -newkey rsa:2048 -nodes -days 90 "
                                                                   "-subj /CN=%s -addext subjectAltName=DNS:%s -keyout %s -out %s",
                                                                host, host, k->path, c->path);
                        } else
                                r = finding_set_remedy(f, _("Put a certificate and its key where %s looks for them (%s), "
                                                            "e.g. the ones certbot keeps in /etc/letsencrypt/live/%s/."),
                                                       daemons[d], target, host);
                        if (r >= 0)
                                r = is_dovecot ? (dovecot_running(ctx) ? remedy_reload(f, ctx, false, true)
                                                                       : remedy_start(f, ctx, false, true))
                                               : remedy_reload(f, ctx, true, false);
                } else if (loose) {
                        r = finding_set_remedy(f, "%s", _("Only root may read a private key."));
                        if (r >= 0)
                                r = finding_add_command(f, "chmod 600 %s", loose->path);
                }
        }
        if (r >= 0 && !any && !findings_addf(out, "cert.files", "", STATUS_OK, _("no certificate files configured")))
                r = -ENOMEM;
finish:
        for (size_t i = 0; i < n; i++)
                free(files[i].path);
        return r;
}
