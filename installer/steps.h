/* The steps of the installer and what they share. */
#pragma once

#include "installer.h"

extern const Step step_preflight;
extern const Step step_packages;
extern const Step step_hostname;
extern const Step step_tls;
extern const Step step_users;
extern const Step step_postfix;
extern const Step step_dovecot;
extern const Step step_dkim;
extern const Step step_hardening;
extern const Step step_firewall;
extern const Step step_services;
extern const Step step_verify;

/* Plans main.cf parameters through `postconf -e`: per name, the managed-state check (an
 * administrator's later edit is a conflict), one command for all changes, a preview of
 * main.cf as postconf will write it. main.cf is created empty first when missing (postconf
 * refuses to edit a missing file). */
int postfix_plan_params(Installer *ins, StepPlan *sp, const char *const *names,
                        const char *const *values, size_t n);

/* `postconf` with -c for a root other than /: argv[0..] in a static-sized array. */
int postfix_conf_dir(const Installer *ins, char **ret);

/* Where the certificate and key Postfix and Dovecot use are (target paths). */
int tls_paths(const Installer *ins, char **ret_cert, char **ret_key);

/* The password of a user (from password_file, checked to be 0600), or -ENOENT when the
 * answers give only a hash. The caller must explicit_bzero and free it. */
int user_password(const Installer *ins, const AnswersUser *u, char **ret, char **ret_error);

/* The packages the answers need on this profile, and which of some names are installed
 * (dpkg-query / rpm -q under the root). NULL-terminated, strv_free. */
int packages_wanted(const DistroProfile *p, const Answers *a, char ***ret);
int packages_installed(Installer *ins, const char *const *names, char ***ret);
/* The installed ones among names (NULL-terminated) in the output of dpkg-query -W
 * --showformat='${Package}\t${db:Status-Abbrev}\n' (deb) or rpm -q --qf '%{NAME}\n'. */
int packages_parse_query(const char *out, size_t size, bool deb, const char *const *names, char ***ret);

/* Is a user account present in ROOT/etc/passwd? */
bool account_exists(const Installer *ins, const char *name);

/* Verifies that a file postconf edited came out as previewed (postfixcf.h): a mismatch is
 * reported as an output line, not an error. */
void verify_previews(Installer *ins, StepPlan *sp);

/* A table as text (one entry per line, its key up to the first sep): text with key's line
 * replaced by line (NULL: removed), or line appended when key has none. line ends with
 * '\n'. Lines of other keys stay as they are, in their order. */
int table_edit(const char *text, size_t size, const char *key, char sep, const char *line,
               char **ret, size_t *ret_size);

/* What useradd, userdel and chpasswd rewrite (their "-" backups included), NULL-terminated:
 * backed up before each of them runs. */
extern const char *const account_files[];
/* args with "--root ROOT" inserted after the command for a root other than / (useradd,
 * userdel, chpasswd); v has room for max entries. */
int account_argv(const Installer *ins, const char *const *args, const char **v, size_t max);
/* Plans a mailbox account (system mode): useradd without a home (rollback: userdel), then
 * the home /home/NAME (0700, NAME:NAME) as a journalled directory unless it exists: rollback
 * removes it while it holds no mail and keeps it, said so, when it does. useradd's own
 * --create-home would copy /etc/skel into it, which no rollback could tell from mail. */
int plan_account_add(Installer *ins, StepPlan *sp, const char *name);
