/* mxdeck users list|add|del|passwd: parsing and the password prompt here; the work is in
 * installer/users.c. */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "installer.h"
#include "macro.h"
#include "termsafe.h"
#include "users.h"
#include "verbs.h"

#define MAX_PASSWORD 4096
#define MIN_PASSWORD 8

const char verb_users_usage[] = N_(
        "Usage: mxdeck users list [OPTIONS]\n"
        "       mxdeck users add NAME [OPTIONS]\n"
        "       mxdeck users passwd NAME [OPTIONS]\n"
        "       mxdeck users del NAME [OPTIONS]\n"
        "\n"
        "Manage the mailboxes after 'mxdeck setup', in the user mode setup recorded. virtual:\n"
        "NAME is an address (a bare local part gets the first mail domain); the entry goes into\n"
        "Dovecot's passwd-file (SHA512-CRYPT) and Postfix's mailbox table. system: NAME is a\n"
        "Unix account (useradd, a 0700 home, nologin shell; the hash set with chpasswd -e via stdin).\n"
        "Each change is a transaction: 'mxdeck history' lists it, 'mxdeck rollback' undoes it.\n"
        "del keeps the mail: remove the Maildir yourself when it is no longer needed.\n"
        "\n"
        "The password is asked twice on the terminal with echo off, or read from the first line\n"
        "of standard input with --password-stdin. It is never taken from the command line or the\n"
        "environment, and only its hash is stored.\n"
        "\n"
        "Options:\n"
        "      --password-stdin     read the password from standard input (add, passwd)\n"
        "      --mode MODE          system or virtual, when setup left no record to tell\n"
        "      --root DIR           the system under DIR\n"
        "      --format FORMAT      list: text (default) or json\n"
        "  -h, --help               show this help\n"
        "\n"
        "Exit status: 0 done, 1 failed (see 'mxdeck rollback'), 2 usage or refused input\n"
        "(nothing changed).\n");

static const char *const op_names[_USERS_OP_MAX] = {
        [USERS_ADD] = "add",
        [USERS_DEL] = "del",
        [USERS_PASSWD] = "passwd",
};

/* One line from fd, without its newline, at most MAX_PASSWORD bytes. */
static int read_secret_line(int fd, char **ret) {
        char *buf = malloc(MAX_PASSWORD + 1);
        size_t n = 0;

        if (!buf)
                return -ENOMEM;
        for (;;) {
                char c;
                ssize_t k = read(fd, &c, 1);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0) {
                        int r = negative_errno();
                        explicit_bzero(buf, MAX_PASSWORD + 1);
                        free(buf);
                        return r;
                }
                if (k == 0 || c == '\n')
                        break;
                if (n == MAX_PASSWORD || c == '\0') {
                        explicit_bzero(buf, MAX_PASSWORD + 1);
                        free(buf);
                        return c == '\0' ? -EINVAL : -E2BIG;
                }
                buf[n++] = c;
        }
        if (n > 0 && buf[n - 1] == '\r')
                n--;
        buf[n] = '\0';
        *ret = buf;
        return 0;
}

static void secret_free(char *s) {
        if (s) {
                explicit_bzero(s, strlen(s));
                free(s);
        }
}

static int prompt_secret(const char *prompt, char **ret) {
        struct termios old, quiet;
        int r;

        fputs(prompt, stderr);
        fflush(stderr);
        if (tcgetattr(STDIN_FILENO, &old) < 0)
                return negative_errno();
        quiet = old;
        quiet.c_lflag &= ~(tcflag_t) ECHO;
        quiet.c_lflag |= ECHONL;
        if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) < 0)
                return negative_errno();
        r = read_secret_line(STDIN_FILENO, ret);
        (void) tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
        return r;
}

static int get_password(bool from_stdin, const char *name, char **ret) {
        char *a = NULL, *b = NULL;
        int r;

        if (from_stdin) {
                r = read_secret_line(STDIN_FILENO, &a);
                if (r < 0) {
                        fprintf(stderr, _("mxdeck users: cannot read the password from standard input: %s\n"),
                                r == -E2BIG ? _("longer than 4096 bytes") : strerror(-r));
                        return r;
                }
        } else {
                _cleanup_free_ char *p1 = NULL, *safe = termsafe_strdup(name, 0);
                if (!isatty(STDIN_FILENO)) {
                        fputs(_("mxdeck users: no terminal to ask the password on: use --password-stdin\n"),
                              stderr);
                        return -ENOTTY;
                }
                if (asprintf(&p1, _("New password for %s: "), safe ? safe : "") < 0)
                        return -ENOMEM;
                if ((r = prompt_secret(p1, &a)) < 0 ||
                    (r = prompt_secret(_("Type it again: "), &b)) < 0) {
                        secret_free(a);
                        fprintf(stderr, _("mxdeck users: cannot read the password: %s\n"), strerror(-r));
                        return r;
                }
                if (!streq(a, b)) {
                        secret_free(a);
                        secret_free(b);
                        fputs(_("mxdeck users: the two passwords differ; nothing was changed\n"), stderr);
                        return -EINVAL;
                }
                secret_free(b);
        }
        if (strlen(a) < MIN_PASSWORD) {
                secret_free(a);
                fprintf(stderr, _("mxdeck users: the password is shorter than %d characters; nothing "
                                  "was changed\n"), MIN_PASSWORD);
                return -EINVAL;
        }
        *ret = a;
        return 0;
}

static void on_progress(const InstallerEvent *e, void *userdata) {
        (void) userdata;
        if (e->type == INSTALLER_EVENT_OUTPUT_LINE && e->line) {
                _cleanup_free_ char *safe = termsafe_strdup(e->line, 0);
                printf("  %s\n", safe ? safe : "");
        } else if (e->type == INSTALLER_EVENT_STEP_DONE && e->result < 0 && e->line) {
                _cleanup_free_ char *safe = termsafe_strdup(e->line, 0);
                fprintf(stderr, "  %s\n", safe ? safe : "");
        }
}

static int do_list(UsersAdmin *u, bool json) {
        UserEntry *e = NULL;
        size_t n = 0;
        bool virt = users_admin_mode(u) == ANSWERS_USERS_VIRTUAL;
        int r;

        r = users_admin_list(u, &e, &n);
        if (r < 0) {
                fprintf(stderr, _("mxdeck users: cannot list the users: %s\n"), strerror(-r));
                return EXIT_FAILED;
        }
        if (json) {
                json_t *a = json_array();
                for (size_t i = 0; a && i < n; i++) {
                        json_t *al = json_array();
                        for (char **s = e[i].aliases; *s; s++)
                                json_array_append_new(al, json_string(*s));
                        json_t *o = json_pack("{s:s, s:s, s:o}", "name", e[i].name,
                                              "mode", virt ? "virtual" : "system", "aliases", al);
                        if (o && virt)
                                json_object_set_new(o, "in_mailbox_table", json_boolean(e[i].mailbox));
                        if (o && !virt) {
                                json_object_set_new(o, "uid", json_integer(e[i].uid));
                                json_object_set_new(o, "home", json_string(e[i].home));
                        }
                        json_array_append_new(a, o);
                }
                char *s = json_dumps(a, JSON_INDENT(2) | JSON_ENSURE_ASCII);
                json_decref(a);
                if (s)
                        puts(s);
                free(s);
        } else {
                printf(_("%zu user(s), %s mode\n"), n, virt ? "virtual" : "system");
                for (size_t i = 0; i < n; i++) {
                        _cleanup_free_ char *name = termsafe_strdup(e[i].name, 0);
                        _cleanup_free_ char *al = NULL;
                        for (char **s = e[i].aliases; *s; s++) {
                                char *x;
                                if (asprintf(&x, "%s%s%s", strempty(al), al ? ", " : "", *s) >= 0) {
                                        free(al);
                                        al = x;
                                }
                        }
                        _cleanup_free_ char *safe_al = al ? termsafe_strdup(al, 0) : NULL;
                        if (virt)
                                printf("  %-32s%s%s%s\n", name ? name : "",
                                       e[i].mailbox ? "" : _("  (not in Postfix's mailbox table: mail to it bounces)"),
                                       safe_al ? _("  aliases: ") : "", strempty(safe_al));
                        else {
                                _cleanup_free_ char *home = termsafe_strdup(e[i].home, 0);
                                printf("  %-20s uid %-6u %s%s%s\n", name ? name : "", e[i].uid,
                                       home ? home : "", safe_al ? _("  aliases: ") : "", strempty(safe_al));
                        }
                }
        }
        user_entries_free(e, n);
        return EXIT_OK;
}

static int do_change(UsersAdmin *u, UsersOp op, const char *arg, bool password_stdin) {
        _cleanup_free_ char *name = NULL, *error = NULL, *text = NULL;
        _cleanup_(plan_freep) Plan *plan = NULL;
        char *password = NULL;
        ApplyResult res = {};
        int r;

        r = users_admin_normalize(u, arg, &name, &error);
        if (r < 0) {
                _cleanup_free_ char *safe = termsafe_strdup(error ? error : strerror(-r), 0);
                fprintf(stderr, _("mxdeck users %s: %s; nothing was changed\n"), op_names[op], safe ? safe : "");
                return EXIT_USAGE;
        }
        if (op != USERS_DEL) {
                r = get_password(password_stdin, name, &password);
                if (r < 0)
                        return r == -ENOMEM ? EXIT_FAILED : EXIT_USAGE;
        }
        r = users_admin_plan(u, op, name, password, &plan, &error);
        secret_free(password);
        if (r < 0) {
                _cleanup_free_ char *safe = termsafe_strdup(error ? error : strerror(-r), 0);
                fprintf(stderr, _("mxdeck users %s: %s; nothing was changed\n"), op_names[op], safe ? safe : "");
                return r == -EINVAL ? EXIT_USAGE : EXIT_FAILED;
        }
        r = plan_render_text(plan, false, &text);
        if (r < 0)
                return EXIT_FAILED;
        fputs(text, stdout);
        r = installer_apply(users_admin_installer(u), plan, &res);
        if (r < 0) {
                fprintf(stderr, _("mxdeck users %s: %s\n"), op_names[op], res.error ? res.error : strerror(-r));
                if (res.transaction)
                        fprintf(stderr, _("Undo what was done so far with: mxdeck rollback %s\n"), res.transaction);
                apply_result_done(&res);
                return EXIT_FAILED;
        }
        if (res.transaction)
                printf(_("Done: transaction %s (undo with: mxdeck rollback %s)\n"), res.transaction,
                       res.transaction);
        apply_result_done(&res);
        return EXIT_OK;
}

int verb_users(int argc, char *argv[]) {
        enum { ARG_ROOT = 0x100, ARG_MODE, ARG_FORMAT, ARG_PASSWORD_STDIN };
        static const struct option options[] = {
                { "password-stdin", no_argument, NULL, ARG_PASSWORD_STDIN },
                { "mode", required_argument, NULL, ARG_MODE },
                { "root", required_argument, NULL, ARG_ROOT },
                { "format", required_argument, NULL, ARG_FORMAT },
                { "help", no_argument, NULL, 'h' },
                {}
        };
        const char *root = "/";
        bool json = false, password_stdin = false;
        int mode = -1, c, r;
        _cleanup_(users_admin_freep) UsersAdmin *u = NULL;
        _cleanup_free_ char *error = NULL, *label = NULL;

        opterr = 0;
        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
                switch (c) {
                case ARG_PASSWORD_STDIN:
                        password_stdin = true;
                        break;
                case ARG_MODE:
                        if (streq(optarg, "system"))
                                mode = ANSWERS_USERS_SYSTEM;
                        else if (streq(optarg, "virtual"))
                                mode = ANSWERS_USERS_VIRTUAL;
                        else {
                                usage_error("users", _("--mode takes 'system' or 'virtual', not '%s'"), optarg);
                                return EXIT_USAGE;
                        }
                        break;
                case ARG_ROOT:
                        if (optarg[0] != '/') {
                                usage_error("users", _("--root needs an absolute path"));
                                return EXIT_USAGE;
                        }
                        root = optarg;
                        break;
                case ARG_FORMAT:
                        if (streq(optarg, "json"))
                                json = true;
                        else if (!streq(optarg, "text")) {
                                usage_error("users", _("--format takes 'text' or 'json', not '%s'"), optarg);
                                return EXIT_USAGE;
                        }
                        break;
                case 'h':
                        fputs(_(verb_users_usage), stdout);
                        return EXIT_OK;
                default:
                        usage_error("users", _("unknown option '%s'"), argv[optind - 1]);
                        return EXIT_USAGE;
                }
        }
        if (optind >= argc) {
                usage_error("users", _("missing command: list, add, del or passwd"));
                return EXIT_USAGE;
        }
        const char *cmd = argv[optind++];
        int op = -1;
        for (int i = 0; i < _USERS_OP_MAX; i++)
                if (streq(cmd, op_names[i]))
                        op = i;
        if (op < 0 && !streq(cmd, "list")) {
                _cleanup_free_ char *safe = termsafe_strdup(cmd, 0);
                usage_error("users", _("unknown command '%s' (list, add, del or passwd)"), safe ? safe : "");
                return EXIT_USAGE;
        }
        if (op < 0 ? optind != argc : optind + 1 != argc) {
                usage_error("users", op < 0 ? _("list takes no arguments") : _("%s takes one NAME"), cmd);
                return EXIT_USAGE;
        }
        if (op >= 0 && asprintf(&label, "mxdeck users %s %s", cmd, argv[optind]) < 0)
                return EXIT_FAILED;

        UsersAdminOptions o = {
                .root = root,
                .mode = mode,
                .label = label ? label : "mxdeck users",
                .progress = on_progress,
        };
        r = users_admin_new(&o, &u, &error);
        if (r < 0) {
                fprintf(stderr, _("mxdeck users: %s\n"), error ? error : strerror(-r));
                return r == -ENOENT ? EXIT_USAGE : EXIT_FAILED;
        }
        if (op < 0)
                return do_list(u, json);
        return do_change(u, (UsersOp) op, argv[optind], password_stdin);
}
