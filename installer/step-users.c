/* Step users: the mailboxes. virtual: a vmail account owns all mail, Dovecot's passwd-file
 * holds the addresses with SHA512-CRYPT hashes made by crypt(3). system: one Unix account
 * per mailbox (useradd, nologin shell), the hash set with chpasswd -e through stdin. A
 * password already set is kept when it still matches, so a re-run changes nothing. */
#include <crypt.h>
#include <errno.h>
#include <shadow.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "fileio.h"
#include "macro.h"
#include "steps.h"

#define PASSWD_FILE "/etc/dovecot/users"
#define VMAIL "vmail"
#define VMAIL_HOME "/var/vmail"
#define MAX_PASSWORD 4096

/* What useradd and userdel rewrite, their "-" backups included: backed up first so that
 * rollback puts back each byte. */
const char *const account_files[] = {
        "/etc/passwd", "/etc/passwd-", "/etc/group", "/etc/group-", "/etc/shadow", "/etc/shadow-",
        "/etc/gshadow", "/etc/gshadow-", "/etc/subuid", "/etc/subuid-", "/etc/subgid",
        "/etc/subgid-", NULL,
};

int user_password(const Installer *ins, const AnswersUser *u, char **ret, char **ret_error) {
        _cleanup_free_ char *full = NULL;
        char *pw = NULL;
        size_t size;
        struct stat st;
        int r;

        if (!u->password_file)
                return -ENOENT;
        full = installer_path(ins, u->password_file);
        if (!full)
                return -ENOMEM;
        if (stat(full, &st) < 0) {
                r = negative_errno();
                if (asprintf(ret_error, _("%s:%u: [user %s] password_file %s: %s"),
                             installer_answers(ins)->path, u->line, u->name, u->password_file,
                             strerror(-r)) < 0)
                        *ret_error = NULL;
                return r;
        }
        if ((st.st_mode & 077) != 0) {
                if (asprintf(ret_error, _("%s:%u: [user %s] password_file %s has mode %04o: it must "
                                          "be readable by its owner only (chmod 600 %s)"),
                             installer_answers(ins)->path, u->line, u->name, u->password_file,
                             (unsigned) (st.st_mode & 07777), u->password_file) < 0)
                        *ret_error = NULL;
                return -EPERM;
        }
        r = read_file_bounded(full, MAX_PASSWORD, &pw, &size);
        if (r < 0) {
                if (asprintf(ret_error, _("%s:%u: [user %s] password_file %s: %s"),
                             installer_answers(ins)->path, u->line, u->name, u->password_file,
                             strerror(-r)) < 0)
                        *ret_error = NULL;
                return r;
        }
        /* one line: the password without its newline */
        size_t len = strcspn(pw, "\r\n");
        bool more = pw[len] && pw[len + strspn(pw + len, "\r\n")];
        if (len == 0 || more || memchr(pw, '\0', size)) {
                explicit_bzero(pw, size);
                free(pw);
                if (asprintf(ret_error, _("%s:%u: [user %s] password_file %s must hold the password "
                                          "on one line"), installer_answers(ins)->path, u->line,
                             u->name, u->password_file) < 0)
                        *ret_error = NULL;
                return -EINVAL;
        }
        explicit_bzero(pw + len, size - len);
        pw[len] = '\0';
        *ret = pw;
        return 0;
}

/* The stored hash ("$6$..." without the scheme) for a user: the existing one when the
 * password still matches it, else a new SHA512-CRYPT hash. */
static int hash_for(const Installer *ins, const AnswersUser *u, const char *existing,
                    char **ret, char **ret_error) {
        _cleanup_free_ char *pw = NULL;
        struct crypt_data *cd = NULL;
        char salt[CRYPT_GENSALT_OUTPUT_SIZE];
        const char *h;
        int r;

        if (u->password_hash) {
                *ret = strdup(strchr(u->password_hash, '}') + 1);
                return *ret ? 0 : -ENOMEM;
        }
        r = user_password(ins, u, &pw, ret_error);
        if (r < 0)
                return r;
        cd = calloc(1, sizeof(*cd));
        if (!cd) {
                explicit_bzero(pw, strlen(pw));
                return -ENOMEM;
        }
        if (existing && existing[0] == '$') {
                h = crypt_r(pw, existing, cd);
                if (h && streq(h, existing)) {
                        explicit_bzero(pw, strlen(pw));
                        explicit_bzero(cd, sizeof(*cd));
                        free(cd);
                        *ret = strdup(existing);
                        return *ret ? 0 : -ENOMEM;
                }
        }
        if (!crypt_gensalt_rn("$6$", 0, NULL, 0, salt, sizeof(salt)))
                r = -EIO;
        else {
                h = crypt_r(pw, salt, cd);
                r = h && h[0] == '$' ? 0 : -EIO;
                if (r >= 0 && !(*ret = strdup(h)))
                        r = -ENOMEM;
        }
        explicit_bzero(pw, strlen(pw));
        explicit_bzero(cd, sizeof(*cd));
        free(cd);
        return r;
}

/* The hash field of a user's line in the passwd-file text ("{SCHEME}" removed), or NULL. */
static char *passwd_file_hash(const char *text, const char *user) {
        size_t ul = strlen(user);

        for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
                if (strncmp(l, user, ul) != 0 || l[ul] != ':')
                        continue;
                const char *h = l + ul + 1, *end = h + strcspn(h, ":\n");
                if (*h == '{') {
                        const char *c = memchr(h, '}', (size_t) (end - h));
                        if (c)
                                h = c + 1;
                }
                return strndup(h, (size_t) (end - h));
        }
        return NULL;
}

static char *shadow_hash(const Installer *ins, const char *user) {
        _cleanup_free_ char *path = installer_path(ins, "/etc/shadow");
        _cleanup_fclose_ FILE *f = NULL;
        struct spwd *sp;

        if (!path || !(f = fopen(path, "re")))
                return NULL;
        while ((sp = fgetspent(f)))
                if (streq(sp->sp_namp, user))
                        return strdup(sp->sp_pwdp);
        return NULL;
}

/* useradd/userdel with --root for a root other than / */
int account_argv(const Installer *ins, const char *const *args, const char **v, size_t max) {
        size_t k = 0;

        v[k++] = args[0];
        if (!streq(installer_root(ins), "/")) {
                v[k++] = "--root";
                v[k++] = installer_root(ins);
        }
        for (size_t i = 1; args[i] && k < max - 1; i++)
                v[k++] = args[i];
        v[k] = NULL;
        return 0;
}

int plan_account_add(Installer *ins, StepPlan *sp, const char *name) {
        _cleanup_free_ char *home = NULL, *full = NULL;
        const char *v[16], *dv[8];
        struct stat st;
        int r;

        if (asprintf(&home, "/home/%s", name) < 0)
                return -ENOMEM;
        const char *add[] = { "useradd", "--no-create-home", "--home-dir", home, "--shell",
                              installer_profile(ins)->nologin, name, NULL };
        const char *del[] = { "userdel", name, NULL };
        account_argv(ins, add, v, ELEMENTSOF(v));
        account_argv(ins, del, dv, ELEMENTSOF(dv));
        r = step_plan_run(sp, NULL, v, account_files, dv, NULL);
        if (r < 0)
                return r;
        full = installer_path(ins, home);
        if (!full)
                return -ENOMEM;
        if (lstat(full, &st) >= 0)
                return 0;       /* someone's old home: useradd takes it over as it is */
        return step_plan_mkdir(sp, home, 0700, name, name);
}

static int inspect_virtual(Installer *ins, StepPlan *sp) {
        const Answers *a = installer_answers(ins);
        _cleanup_free_ char *old = NULL, *text = strdup("");
        size_t old_size = 0, len = 0, nlen;
        int r;

        if (!text)
                return -ENOMEM;
        if (!account_exists(ins, VMAIL)) {
                const char *v[16];
                const char *add[] = { "useradd", "--system", "--user-group", "--home-dir", VMAIL_HOME,
                                      "--no-create-home", "--shell", installer_profile(ins)->nologin,
                                      VMAIL, NULL };
                const char *del[] = { "userdel", VMAIL, NULL };
                const char *dv[8];
                account_argv(ins, add, v, ELEMENTSOF(v));
                account_argv(ins, del, dv, ELEMENTSOF(dv));
                r = step_plan_run(sp, NULL, v, account_files, dv, NULL);
                if (r < 0)
                        return r;
        }
        /* the mail store; created here rather than by useradd so that rollback can remove
         * it again while it is empty */
        _cleanup_free_ char *home = installer_path(ins, VMAIL_HOME);
        struct stat st;
        if (!home)
                return -ENOMEM;
        if (!account_exists(ins, VMAIL) || stat(home, &st) < 0 || (st.st_mode & 07777) != 0750) {
                r = step_plan_mkdir(sp, VMAIL_HOME, 0750, VMAIL, VMAIL);
                if (r < 0)
                        return r;
        }

        r = installer_read(ins, PASSWD_FILE, &old, &old_size);
        if (r < 0 && r != -ENOENT)
                return r;
        if (old) {
                free(text);
                text = malloc(old_size + 1);
                if (!text)
                        return -ENOMEM;
                memcpy(text, old, old_size + 1);
                len = old_size;
        }
        for (size_t i = 0; i < a->n_users; i++) {
                _cleanup_free_ char *existing = old ? passwd_file_hash(old, a->users[i].name) : NULL;
                _cleanup_free_ char *hash = NULL, *err = NULL, *line = NULL;
                char *n;

                r = hash_for(ins, &a->users[i], existing, &hash, &err);
                if (r < 0) {
                        if (err)
                                return step_plan_note(sp, NOTE_ERROR, "%s", err);
                        return r;
                }
                /* user:password:uid:gid:(gecos):home:(shell):extra -- the static userdb
                 * supplies uid, gid and home */
                if (asprintf(&line, "%s:{SHA512-CRYPT}%s::::::\n", a->users[i].name, hash) < 0)
                        return -ENOMEM;
                /* in place: the lines of users added with `mxdeck users add` stay */
                r = table_edit(text, len, a->users[i].name, ':', line, &n, &nlen);
                explicit_bzero(line, strlen(line));
                explicit_bzero(text, len);
                if (r < 0)
                        return r;
                free(text);
                text = n;
                len = nlen;
        }
        r = step_plan_file(ins, sp, PASSWD_FILE, text, len, 0640, NULL, "dovecot", true);
        explicit_bzero(text, len);
        if (old)
                explicit_bzero(old, old_size);
        return r;
}

static int inspect_system(Installer *ins, StepPlan *sp) {
        const Answers *a = installer_answers(ins);
        int r;

        for (size_t i = 0; i < a->n_users; i++) {
                const AnswersUser *u = &a->users[i];
                _cleanup_free_ char *existing = NULL, *hash = NULL, *err = NULL, *summary = NULL;
                bool exists = account_exists(ins, u->name);

                if (!exists) {
                        r = plan_account_add(ins, sp, u->name);
                        if (r < 0)
                                return r;
                } else
                        existing = shadow_hash(ins, u->name);
                r = hash_for(ins, u, existing, &hash, &err);
                if (r < 0) {
                        if (err)
                                return step_plan_note(sp, NOTE_ERROR, "%s", err);
                        return r;
                }
                if (existing && streq(existing, hash))
                        continue;
                /* chpasswd -e: the hash on stdin, never in argv */
                const char *v[8], *cp[] = { "chpasswd", "--encrypted", NULL };
                Action *act;
                account_argv(ins, cp, v, ELEMENTSOF(v));
                if (asprintf(&summary, _("set the password of %s (chpasswd, through stdin)"), u->name) < 0)
                        return -ENOMEM;
                r = step_plan_run(sp, summary, v, account_files, NULL, &act);
                if (r < 0)
                        return r;
                if (asprintf(&act->input, "%s:%s\n", u->name, hash) < 0) {
                        act->input = NULL;
                        return -ENOMEM;
                }
                act->input_size = strlen(act->input);
                explicit_bzero(hash, strlen(hash));
        }
        return 0;
}

static int inspect(Installer *ins, StepPlan *sp) {
        if (installer_answers(ins)->users_mode == ANSWERS_USERS_VIRTUAL)
                return inspect_virtual(ins, sp);
        return inspect_system(ins, sp);
}

const Step step_users = {
        .name = "users",
        .title = N_("mailboxes and passwords"),
        .inspect = inspect,
};
