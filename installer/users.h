/* Mailbox administration after setup (`mxdeck users list|add|del|passwd`), in the user
 * mode setup recorded: each change is a one-step plan that the engine applies under a
 * transaction, so `mxdeck rollback` undoes it and `mxdeck history` lists it. */
#pragma once

#include "installer.h"

typedef enum UsersOp {
        USERS_ADD,
        USERS_DEL,
        USERS_PASSWD,
        _USERS_OP_MAX,
        _USERS_OP_INVALID = -EINVAL,
} UsersOp;

typedef struct UsersAdminOptions {
        const char *root;              /* NULL or "/" = the live system */
        int mode;                      /* an AnswersUsersMode, or -1: as setup recorded */
        const char *label;             /* what history shows for the transaction */
        const DistroProfile *profile;  /* NULL: from os-release */
        InstallerProgress progress;
        void *progress_userdata;
        InstallerSpawn spawn;          /* tests only, as in InstallerOptions */
        void *spawn_userdata;
        int64_t now;
} UsersAdminOptions;

typedef struct UsersAdmin UsersAdmin;

/* -ENOENT with a message when no mode is recorded and none can be detected (setup never
 * ran); other errors as installer_new. */
int users_admin_new(const UsersAdminOptions *o, UsersAdmin **ret, char **ret_error);
UsersAdmin *users_admin_free(UsersAdmin *u);
static inline void users_admin_freep(UsersAdmin **p) { if (*p) users_admin_free(*p); }

AnswersUsersMode users_admin_mode(const UsersAdmin *u);
Installer *users_admin_installer(UsersAdmin *u);

/* What mode setup recorded under root (managed.json), else what the configuration shows
 * (virtual_mailbox_maps naming mxdeck's table: virtual; home_mailbox set: system). */
int users_detect_mode(const char *root, AnswersUsersMode *ret);

typedef struct UserEntry {
        char *name;
        char *home;          /* system mode; NULL in virtual mode */
        unsigned uid;        /* system mode */
        bool mailbox;        /* virtual mode: in Postfix's mailbox table too (else mail to it bounces) */
        char **aliases;      /* addresses delivered to it (mxdeck's alias table); never NULL */
} UserEntry;

void user_entries_free(UserEntry *e, size_t n);

/* The mailboxes, sorted by name. System mode: accounts with a uid in the login range
 * (1000-59999), as useradd gives them. */
int users_admin_list(UsersAdmin *u, UserEntry **ret, size_t *ret_n);

/* The full name a NAME given on the command line stands for (virtual mode: a bare local
 * part gets the first mail domain), checked: -EINVAL with a message when invalid. */
int users_admin_normalize(UsersAdmin *u, const char *name, char **ret, char **ret_error);

/* Plans an operation on an already normalised name; password is needed for add and passwd
 * (only its hash goes into the plan). Refusals (exists already, no such user, a system
 * account) are -EINVAL with a message, before anything changes. */
int users_admin_plan(UsersAdmin *u, UsersOp op, const char *name, const char *password,
                     Plan **ret, char **ret_error);

/* A SHA512-CRYPT hash ("$6$...") of password with a random salt. */
int users_hash_password(const char *password, char **ret);
