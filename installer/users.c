/* mxdeck users: the mailboxes after setup. virtual: lines of Dovecot's passwd-file and of
 * Postfix's mailbox table (then a reload: texthash tables are read when a process starts).
 * system: useradd / userdel / chpasswd -e, the account files backed up first. Each change
 * is a plan of one step applied by the engine, so the journal, rollback and history treat
 * it like a setup run. */
#include <crypt.h>
#include <errno.h>
#include <grp.h>
#include <jansson.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/evp.h>

#include "fileio.h"
#include "journal.h"
#include "macro.h"
#include "postfixcf.h"
#include "steps.h"
#include "users.h"

#define PASSWD_FILE "/etc/dovecot/users"
#define MAILBOXES "/etc/postfix/mxdeck-mailboxes"
#define ALIASES "/etc/postfix/mxdeck-aliases"
#define MAX_TABLE ((size_t) 16 * 1024 * 1024)
#define UID_MIN_LOGIN 1000u
#define UID_MAX_LOGIN 59999u

struct UsersAdmin {
        Answers *answers;      /* a stand-in: the label and the mode; no users */
        Installer *ins;
        char **domains;        /* virtual: virtual_mailbox_domains */
};

static const Step step_users_admin = {
        .name = "users",
        .title = N_("mailboxes and passwords"),
};

AnswersUsersMode users_admin_mode(const UsersAdmin *u) { return u->answers->users_mode; }
Installer *users_admin_installer(UsersAdmin *u) { return u->ins; }

static char *root_path(const char *root, const char *path) {
        char *s;
        if (asprintf(&s, "%s%s", streq(root, "/") ? "" : root, path) < 0)
                return NULL;
        return s;
}

static int read_main_cf(const char *root, char **ret, size_t *ret_size) {
        _cleanup_free_ char *p = root_path(root, "/etc/postfix/main.cf");
        if (!p)
                return -ENOMEM;
        return read_file_bounded(p, MAX_TABLE, ret, ret_size);
}

int users_detect_mode(const char *root, AnswersUsersMode *ret) {
        _cleanup_free_ char *mp = root_path(root, JOURNAL_MANAGED), *data = NULL, *v = NULL;
        size_t size;

        if (!mp)
                return -ENOMEM;
        if (read_file_bounded(mp, MAX_TABLE, &data, &size) >= 0) {
                json_t *m = json_loadb(data, size, 0, NULL);
                bool virt = m && json_object_get(m, "postfix:main:virtual_mailbox_maps");
                bool sys = m && json_object_get(m, "postfix:main:home_mailbox");
                json_decref(m);
                if (virt != sys) {
                        *ret = virt ? ANSWERS_USERS_VIRTUAL : ANSWERS_USERS_SYSTEM;
                        return 0;
                }
        }
        free(data);
        data = NULL;
        if (read_main_cf(root, &data, &size) < 0)
                return -ENOENT;
        if (maincf_get(data, size, "virtual_mailbox_maps", &v) >= 0 && strstr(v, MAILBOXES)) {
                *ret = ANSWERS_USERS_VIRTUAL;
                return 0;
        }
        free(v);
        v = NULL;
        if (maincf_get(data, size, "home_mailbox", &v) >= 0 && *v) {
                *ret = ANSWERS_USERS_SYSTEM;
                return 0;
        }
        return -ENOENT;
}

/* "a, b c" -> { "a", "b", "c" } */
static char **split_list(const char *s) {
        _cleanup_free_ char *copy = strdup(s);
        char **v = calloc(1, sizeof(char *)), *save = NULL;
        size_t n = 0;

        if (!copy || !v) {
                free(v);
                return NULL;
        }
        for (char *w = strtok_r(copy, ", \t", &save); w; w = strtok_r(NULL, ", \t", &save)) {
                char **nv = realloc(v, (n + 2) * sizeof(char *));
                if (!nv || !(nv[n] = strdup(w))) {
                        strv_free(nv ? nv : v);
                        return NULL;
                }
                v = nv;
                v[++n] = NULL;
        }
        return v;
}

int users_admin_new(const UsersAdminOptions *o, UsersAdmin **ret, char **ret_error) {
        _cleanup_(users_admin_freep) UsersAdmin *u = calloc(1, sizeof(UsersAdmin));
        const char *root = o->root && *o->root ? o->root : "/";
        AnswersUsersMode mode;
        int r;

        if (!u)
                return -ENOMEM;
        if (o->mode >= 0)
                mode = (AnswersUsersMode) o->mode;
        else {
                r = users_detect_mode(root, &mode);
                if (r < 0) {
                        if (r == -ENOENT && ret_error)
                                *ret_error = strdup(_("cannot tell the user mode: no mxdeck setup found "
                                                      "(run 'mxdeck setup' first, or pass --mode)"));
                        return r;
                }
        }
        u->answers = calloc(1, sizeof(Answers));
        if (!u->answers || !(u->answers->path = strdup(strempty(o->label))))
                return -ENOMEM;
        u->answers->users_mode = mode;

        if (mode == ANSWERS_USERS_VIRTUAL) {
                _cleanup_free_ char *mc = NULL, *v = NULL;
                size_t size;
                if (read_main_cf(root, &mc, &size) < 0 ||
                    maincf_get(mc, size, "virtual_mailbox_domains", &v) < 0 || !*v) {
                        if (ret_error)
                                *ret_error = strdup(_("virtual mode, but main.cf sets no "
                                                      "virtual_mailbox_domains: run 'mxdeck setup' first"));
                        return -ENOENT;
                }
                u->domains = split_list(v);
                if (!u->domains)
                        return -ENOMEM;
                if (!u->domains[0]) {
                        if (ret_error)
                                *ret_error = strdup(_("main.cf: virtual_mailbox_domains is empty"));
                        return -ENOENT;
                }
        }

        InstallerOptions io = {
                .root = root,
                .answers = u->answers,
                .profile = o->profile,
                .offline = true,
                .progress = o->progress,
                .progress_userdata = o->progress_userdata,
                .spawn = o->spawn,
                .spawn_userdata = o->spawn_userdata,
                .now = o->now,
        };
        r = installer_new(&io, &u->ins, ret_error);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(u);
        return 0;
}

UsersAdmin *users_admin_free(UsersAdmin *u) {
        if (!u)
                return NULL;
        installer_free(u->ins);
        answers_free(u->answers);
        strv_free(u->domains);
        free(u);
        return NULL;
}

void user_entries_free(UserEntry *e, size_t n) {
        for (size_t i = 0; i < n; i++) {
                free(e[i].name);
                free(e[i].home);
                strv_free(e[i].aliases);
        }
        free(e);
}

/* --- tables as text: one entry per line, the key up to the first separator --- */

/* The line of text whose key (up to sep) is key: its start and length, or NULL. */
static const char *table_find(const char *text, const char *key, char sep, size_t *ret_len) {
        size_t kl = strlen(key);

        for (const char *l = text; l && *l;) {
                const char *nl = strchr(l, '\n');
                size_t len = nl ? (size_t) (nl - l + 1) : strlen(l);
                if (strncmp(l, key, kl) == 0 && (l[kl] == sep || (sep == ' ' && l[kl] == '\t'))) {
                        *ret_len = len;
                        return l;
                }
                l = nl ? nl + 1 : NULL;
        }
        return NULL;
}

/* text with key's line replaced by line (NULL: removed), or line appended when key has
 * none. line ends with '\n'. */
int table_edit(const char *text, size_t size, const char *key, char sep, const char *line,
               char **ret, size_t *ret_size) {
        size_t len = 0, ll = line ? strlen(line) : 0;
        const char *at = table_find(text, key, sep, &len);
        size_t before = at ? (size_t) (at - text) : size;
        bool glue = !at && size > 0 && text[size - 1] != '\n';
        size_t n = size - len + ll + glue;
        char *s = malloc(n + 1);

        if (!s)
                return -ENOMEM;
        memcpy(s, text, before);
        if (glue)
                s[before] = '\n';
        memcpy(s + before + glue, strempty(line), ll);
        memcpy(s + before + glue + ll, text + before + len, size - before - len);
        s[n] = '\0';
        *ret = s;
        *ret_size = n;
        return 0;
}

/* The addresses the alias table delivers to name. */
static int aliases_of(Installer *ins, const char *name, const char *domain, char ***ret) {
        _cleanup_free_ char *text = NULL;
        size_t size, n = 0;
        char **v = calloc(1, sizeof(char *));
        int r;

        if (!v)
                return -ENOMEM;
        r = installer_read(ins, ALIASES, &text, &size);
        if (r >= 0)
                for (char *l = text, *nl; l && *l; l = nl ? nl + 1 : NULL) {
                        nl = strchr(l, '\n');
                        if (nl)
                                *nl = '\0';
                        char *sp = l + strcspn(l, " \t");
                        if (!*sp || *l == '#')
                                continue;
                        *sp = '\0';
                        const char *target = sp + 1 + strspn(sp + 1, " \t");
                        /* system mode: the target is the account, and a local part is
                         * qualified with the domain */
                        bool match = streq(target, name);
                        if (!match && domain) {
                                const char *at = strchr(target, '@');
                                match = at && streq(at + 1, domain) &&
                                        strlen(name) == (size_t) (at - target) &&
                                        strncmp(target, name, strlen(name)) == 0;
                        }
                        if (!match)
                                continue;
                        char **nv = realloc(v, (n + 2) * sizeof(char *));
                        if (!nv || !(nv[n] = strdup(l))) {
                                strv_free(nv ? nv : v);
                                return -ENOMEM;
                        }
                        v = nv;
                        v[++n] = NULL;
                }
        *ret = v;
        return 0;
}

static int entry_cmp(const void *a, const void *b) {
        return strcmp(((const UserEntry *) a)->name, ((const UserEntry *) b)->name);
}

int users_admin_list(UsersAdmin *u, UserEntry **ret, size_t *ret_n) {
        Installer *ins = u->ins;
        UserEntry *e = NULL;
        size_t n = 0;
        int r;

        if (users_admin_mode(u) == ANSWERS_USERS_VIRTUAL) {
                _cleanup_free_ char *users = NULL, *mb = NULL;
                size_t us = 0, ms;
                r = installer_read(ins, PASSWD_FILE, &users, &us);
                if (r == -ENOENT)
                        goto done;
                if (r < 0)
                        return r;
                if (installer_read(ins, MAILBOXES, &mb, &ms) < 0)
                        mb = NULL;
                for (char *l = users, *nl; l && *l; l = nl ? nl + 1 : NULL) {
                        nl = strchr(l, '\n');
                        size_t kl = strcspn(l, ":\n");
                        if (kl == 0 || *l == '#' || l[kl] != ':')
                                continue;
                        UserEntry *ne = realloc(e, (n + 1) * sizeof(UserEntry));
                        if (!ne) {
                                explicit_bzero(users, us); /* hashes: wiped on this way out too */
                                goto oom;
                        }
                        e = ne;
                        e[n] = (UserEntry) { .name = strndup(l, kl) };
                        n++;
                        if (!e[n - 1].name) {
                                explicit_bzero(users, us);
                                goto oom;
                        }
                        size_t len;
                        e[n - 1].mailbox = mb && table_find(mb, e[n - 1].name, ' ', &len);
                }
                /* the hashes are no business of a list */
                explicit_bzero(users, us);
        } else {
                _cleanup_free_ char *path = installer_path(ins, "/etc/passwd");
                _cleanup_fclose_ FILE *f = path ? fopen(path, "re") : NULL;
                struct passwd *pw;
                if (!path)
                        return -ENOMEM;
                if (!f)
                        return negative_errno();
                while ((pw = fgetpwent(f))) {
                        if (pw->pw_uid < UID_MIN_LOGIN || pw->pw_uid > UID_MAX_LOGIN)
                                continue;
                        UserEntry *ne = realloc(e, (n + 1) * sizeof(UserEntry));
                        if (!ne)
                                goto oom;
                        e = ne;
                        e[n] = (UserEntry) { .name = strdup(pw->pw_name), .home = strdup(pw->pw_dir),
                                             .uid = (unsigned) pw->pw_uid, .mailbox = true };
                        n++;
                        if (!e[n - 1].name || !e[n - 1].home)
                                goto oom;
                }
        }
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *mc = NULL, *dom = NULL;
                size_t ms;
                if (users_admin_mode(u) == ANSWERS_USERS_SYSTEM &&
                    installer_read(ins, "/etc/postfix/main.cf", &mc, &ms) >= 0)
                        (void) maincf_get(mc, ms, "mydomain", &dom);
                r = aliases_of(ins, e[i].name, dom, &e[i].aliases);
                if (r < 0) {
                        user_entries_free(e, n);
                        return r;
                }
        }
        if (n > 1)
                qsort(e, n, sizeof(UserEntry), entry_cmp);
done:
        *ret = e;
        *ret_n = n;
        return 0;
oom:
        user_entries_free(e, n);
        return -ENOMEM;
}

int users_admin_normalize(UsersAdmin *u, const char *name, char **ret, char **ret_error) {
        for (const char *c = name; *c; c++)
                if (*c >= 'A' && *c <= 'Z') {
                        if (asprintf(ret_error, _("'%s' must be lower-case"), name) < 0)
                                *ret_error = NULL;
                        return -EINVAL;
                }
        if (users_admin_mode(u) == ANSWERS_USERS_SYSTEM) {
                if (strchr(name, '@')) {
                        if (asprintf(ret_error, _("'%s' is an address, but in system mode mailboxes are "
                                                  "Unix accounts: give the account name"), name) < 0)
                                *ret_error = NULL;
                        return -EINVAL;
                }
                if (!answers_mailbox_account_is_valid(name)) {
                        if (asprintf(ret_error, _("'%s' is not a valid mailbox account name (lower-case "
                                                  "letters, digits, '_' and '-', starting with a letter, "
                                                  "at most 32; not root or a system account)"), name) < 0)
                                *ret_error = NULL;
                        return -EINVAL;
                }
                *ret = strdup(name);
                return *ret ? 0 : -ENOMEM;
        }
        const char *at = strchr(name, '@');
        size_t ll = at ? (size_t) (at - name) : strlen(name);
        if (!answers_local_part_is_valid(name, ll)) {
                if (asprintf(ret_error, _("'%s' does not have a valid local part (letters, digits, '.', "
                                          "'_' and '-', at most 64)"), name) < 0)
                        *ret_error = NULL;
                return -EINVAL;
        }
        if (!at) {
                if (asprintf(ret, "%s@%s", name, u->domains[0]) < 0)
                        return -ENOMEM;
                return 0;
        }
        for (char **d = u->domains; *d; d++)
                if (streq(*d, at + 1)) {
                        *ret = strdup(name);
                        return *ret ? 0 : -ENOMEM;
                }
        _cleanup_free_ char *list = NULL;
        for (char **d = u->domains; *d; d++) {
                char *x;
                if (asprintf(&x, "%s%s%s", strempty(list), list ? ", " : "", *d) < 0)
                        return -ENOMEM;
                free(list);
                list = x;
        }
        if (asprintf(ret_error, _("'%s' is not in a mail domain of this server (%s): add the domain "
                                  "with 'mxdeck setup' first"), name, list) < 0)
                *ret_error = NULL;
        return -EINVAL;
}

int users_hash_password(const char *password, char **ret) {
        char salt[CRYPT_GENSALT_OUTPUT_SIZE];
        struct crypt_data *cd = calloc(1, sizeof(*cd));
        const char *h;
        int r = 0;

        if (!cd)
                return -ENOMEM;
        if (!crypt_gensalt_rn("$6$", 0, NULL, 0, salt, sizeof(salt)))
                r = -EIO;
        else {
                h = crypt_r(password, salt, cd);
                if (!h || h[0] != '$')
                        r = -EIO;
                else if (!(*ret = strdup(h)))
                        r = -ENOMEM;
        }
        explicit_bzero(cd, sizeof(*cd));
        free(cd);
        return r;
}

static int sha256_hex(const void *data, size_t size, char ret[65]) {
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned len = 0;

        if (!EVP_Digest(data, size, md, &len, EVP_sha256(), NULL) || len != 32)
                return -EIO;
        for (unsigned i = 0; i < len; i++)
                snprintf(ret + 2 * i, 3, "%02x", md[i]);
        return 0;
}

/* Plans a new content of one of setup's files: a preview, a write keeping its mode and
 * owner, and the managed record moved along, so the next setup run does not take the
 * change for an administrator's edit. */
static int plan_table(Installer *ins, StepPlan *sp, const char *path, const char *old, size_t old_size,
                      const char *data, size_t size, mode_t def_mode, bool secret) {
        _cleanup_free_ char *full = installer_path(ins, path), *key = NULL, *summary = NULL;
        _cleanup_free_ char *owner = NULL, *group = NULL;
        char sha[65];
        struct stat st;
        mode_t mode = def_mode;
        int r;

        if (!full)
                return -ENOMEM;
        if (stat(full, &st) >= 0) {
                struct passwd *pw;
                mode = st.st_mode & 07777;
                /* owner and group by name under the root, as the engine looks them up */
                _cleanup_free_ char *pp = installer_path(ins, "/etc/passwd"), *gp = installer_path(ins, "/etc/group");
                _cleanup_fclose_ FILE *pf = pp ? fopen(pp, "re") : NULL;
                _cleanup_fclose_ FILE *gf = gp ? fopen(gp, "re") : NULL;
                while (pf && (pw = fgetpwent(pf)))
                        if (pw->pw_uid == st.st_uid && !owner)
                                owner = strdup(pw->pw_name);
                struct group *gr;
                while (gf && (gr = fgetgrent(gf)))
                        if (gr->gr_gid == st.st_gid && !group)
                                group = strdup(gr->gr_name);
        }
        r = step_plan_preview(sp, path, old, old_size, data, size, secret, NULL);
        if (r < 0)
                return r;
        if (asprintf(&summary, _("update %s"), path) < 0)
                return -ENOMEM;
        r = step_plan_write(sp, summary, path, data, size, mode,
                            owner && !streq(owner, "root") ? owner : NULL,
                            group && !streq(group, "root") ? group : NULL);
        if (r < 0)
                return r;
        if ((r = sha256_hex(data, size, sha)) < 0)
                return r;
        if (asprintf(&key, "file:%s", path) < 0)
                return -ENOMEM;
        return step_plan_managed(sp, key, sha);
}

static bool postfix_running(Installer *ins) {
        _cleanup_free_ char *pid = NULL;
        size_t size;

        if (!streq(installer_root(ins), "/"))
                return false;
        if (installer_read(ins, "/var/spool/postfix/pid/master.pid", &pid, &size) < 0)
                return false;
        long p = strtol(pid, NULL, 10);
        return p > 1 && kill((pid_t) p, 0) == 0;
}

static int fail(char **ret_error, const char *fmt, ...) _printf_(2, 3);
static int fail(char **ret_error, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        if (vasprintf(ret_error, fmt, ap) < 0)
                *ret_error = NULL;
        va_end(ap);
        return -EINVAL;
}

static int plan_virtual(UsersAdmin *u, StepPlan *sp, UsersOp op, const char *name, const char *hash,
                        char **ret_error) {
        Installer *ins = u->ins;
        _cleanup_free_ char *users = NULL, *mb = NULL, *nusers = NULL, *nmb = NULL, *line = NULL;
        size_t us = 0, ms = 0, nus, nms, len;
        bool exists;
        int r;

        r = installer_read(ins, PASSWD_FILE, &users, &us);
        if (r == -ENOENT)
                return fail(ret_error, _("%s does not exist: run 'mxdeck setup' in virtual mode first"),
                            PASSWD_FILE);
        if (r < 0)
                return r;
        r = installer_read(ins, MAILBOXES, &mb, &ms);
        if (r == -ENOENT)
                return fail(ret_error, _("%s does not exist: run 'mxdeck setup' in virtual mode first"),
                            MAILBOXES);
        if (r < 0)
                goto out;
        exists = table_find(users, name, ':', &len);
        if (op == USERS_ADD && exists) {
                r = fail(ret_error, _("%s exists already (change its password with 'mxdeck users passwd')"), name);
                goto out;
        }
        if (op != USERS_ADD && !exists) {
                r = fail(ret_error, _("no user %s in %s (see 'mxdeck users list')"), name, PASSWD_FILE);
                goto out;
        }

        if (op == USERS_DEL)
                r = table_edit(users, us, name, ':', NULL, &nusers, &nus);
        else {
                if (asprintf(&line, "%s:{SHA512-CRYPT}%s::::::\n", name, hash) < 0) {
                        r = -ENOMEM;
                        goto out;
                }
                r = table_edit(users, us, name, ':', line, &nusers, &nus);
                explicit_bzero(line, strlen(line));
        }
        if (r < 0)
                goto out;
        r = plan_table(ins, sp, PASSWD_FILE, users, us, nusers, nus, 0640, true);
        explicit_bzero(nusers, nus);
        if (r < 0)
                goto out;

        /* Postfix's table: the mailbox exists for the SMTP server too */
        bool in_map = table_find(mb, name, ' ', &len);
        if (op == USERS_ADD && !in_map) {
                _cleanup_free_ char *l = NULL;
                if (asprintf(&l, "%s OK\n", name) < 0 || (r = table_edit(mb, ms, name, ' ', l, &nmb, &nms)) < 0) {
                        r = -ENOMEM;
                        goto out;
                }
        } else if (op == USERS_DEL && in_map && (r = table_edit(mb, ms, name, ' ', NULL, &nmb, &nms)) < 0)
                goto out;
        if (nmb) {
                r = plan_table(ins, sp, MAILBOXES, mb, ms, nmb, nms, 0644, false);
                if (r < 0)
                        goto out;
                if (postfix_running(ins)) {
                        Action *a;
                        const char *v[] = { "postfix", "reload", NULL };
                        r = step_plan_run(sp, _("postfix reload (its mailbox table is read at start)"),
                                          v, NULL, v, &a);
                        if (r < 0)
                                goto out;
                        a->undo_late = true;
                }
        }
        if (op == USERS_DEL) {
                const char *at = strchr(name, '@');
                r = step_plan_note(sp, NOTE_INFO, _("the mail of %s stays in /var/vmail/%s/%.*s (remove it "
                                                    "yourself when no longer needed)"),
                                   name, at + 1, (int) (at - name), name);
        }
out:
        if (users)
                explicit_bzero(users, us);
        return r;
}

static int plan_system(UsersAdmin *u, StepPlan *sp, UsersOp op, const char *name, const char *hash,
                       char **ret_error) {
        Installer *ins = u->ins;
        _cleanup_free_ char *path = installer_path(ins, "/etc/passwd"), *home = NULL;
        _cleanup_fclose_ FILE *f = NULL;
        struct passwd *pw;
        bool exists = false;
        unsigned uid = 0;
        int r;

        if (!path)
                return -ENOMEM;
        f = fopen(path, "re");
        while (f && (pw = fgetpwent(f)))
                if (streq(pw->pw_name, name)) {
                        exists = true;
                        uid = (unsigned) pw->pw_uid;
                        home = strdup(pw->pw_dir);
                        break;
                }
        if (op == USERS_ADD && exists)
                return fail(ret_error, _("the account %s exists already (change its password with "
                                         "'mxdeck users passwd')"), name);
        if (op != USERS_ADD && !exists)
                return fail(ret_error, _("no account %s (see 'mxdeck users list')"), name);
        if (op != USERS_ADD && (uid < UID_MIN_LOGIN || uid > UID_MAX_LOGIN))
                return fail(ret_error, _("%s (uid %u) is not a mailbox account: mxdeck changes only "
                                         "accounts in the login range %u-%u"), name, uid,
                            UID_MIN_LOGIN, UID_MAX_LOGIN);

        if (op == USERS_ADD) {
                r = plan_account_add(ins, sp, name);
                if (r < 0)
                        return r;
        }
        if (op == USERS_DEL) {
                const char *v[8], *del[] = { "userdel", name, NULL };
                account_argv(ins, del, v, ELEMENTSOF(v));
                /* without --remove: the home directory and its Maildir are mail data */
                r = step_plan_run(sp, NULL, v, account_files, NULL, NULL);
                if (r < 0)
                        return r;
                return step_plan_note(sp, NOTE_INFO, _("the home directory %s and the mail in it stay "
                                                       "(remove them yourself when no longer needed)"),
                                      strempty(home));
        }
        /* chpasswd -e: the hash on stdin, never in argv */
        _cleanup_free_ char *summary = NULL;
        const char *v[8], *cp[] = { "chpasswd", "--encrypted", NULL };
        Action *act;
        account_argv(ins, cp, v, ELEMENTSOF(v));
        if (asprintf(&summary, _("set the password of %s (chpasswd, through stdin)"), name) < 0)
                return -ENOMEM;
        r = step_plan_run(sp, summary, v, account_files, NULL, &act);
        if (r < 0)
                return r;
        if (asprintf(&act->input, "%s:%s\n", name, hash) < 0) {
                act->input = NULL;
                return -ENOMEM;
        }
        act->input_size = strlen(act->input);
        return 0;
}

int users_admin_plan(UsersAdmin *u, UsersOp op, const char *name, const char *password,
                     Plan **ret, char **ret_error) {
        _cleanup_(plan_freep) Plan *p = calloc(1, sizeof(Plan));
        _cleanup_free_ char *hash = NULL;
        int r;

        if (!p || !(p->steps = calloc(1, sizeof(StepPlan))))
                return -ENOMEM;
        p->n_steps = 1;
        p->steps[0].step = &step_users_admin;
        if (op != USERS_DEL) {
                if (!password || !*password)
                        return fail(ret_error, _("no password given"));
                r = users_hash_password(password, &hash);
                if (r < 0)
                        return r;
        }
        if (users_admin_mode(u) == ANSWERS_USERS_VIRTUAL)
                r = plan_virtual(u, &p->steps[0], op, name, hash, ret_error);
        else
                r = plan_system(u, &p->steps[0], op, name, hash, ret_error);
        if (hash)
                explicit_bzero(hash, strlen(hash));
        if (r < 0)
                return r;
        if (op == USERS_DEL) {
                _cleanup_strv_free_ char **al = NULL;
                _cleanup_free_ char *mc = NULL, *dom = NULL;
                size_t ms;
                if (users_admin_mode(u) == ANSWERS_USERS_SYSTEM &&
                    installer_read(u->ins, "/etc/postfix/main.cf", &mc, &ms) >= 0)
                        (void) maincf_get(mc, ms, "mydomain", &dom);
                r = aliases_of(u->ins, name, dom, &al);
                if (r < 0)
                        return r;
                for (char **a = al; *a; a++)
                        if ((r = step_plan_note(&p->steps[0], NOTE_WARNING,
                                                _("the alias %s still delivers to %s: mail to it will "
                                                  "bounce until the answers file names another user and "
                                                  "'mxdeck setup' runs"), *a, name)) < 0)
                                return r;
        }
        *ret = TAKE_PTR(p);
        return 0;
}
