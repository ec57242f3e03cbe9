/* mxdeck setup / rollback / history: the installer's verbs. Parsing here; the work is in
 * installer/. */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "answers.h"
#include "dnsplan.h"
#include "installer.h"
#include "journal.h"
#include "macro.h"
#include "termsafe.h"
#include "rehearse.h"
#include "verbs.h"
#include "wizard.h"

/* Exit codes of setup (documented in mxdeck(1)). */
enum {
        EXIT_SETUP_CHANGED = 0,    /* applied and verified (dry run: would change) */
        EXIT_SETUP_FAILED = 1,     /* a step failed; the rollback command was printed */
        EXIT_SETUP_USAGE = 2,      /* bad options or answers; nothing changed */
        EXIT_SETUP_UNCHANGED = 3,  /* nothing to change, and it verifies */
        EXIT_SETUP_BLOCKED = 4,    /* the plan cannot be applied (preflight); nothing changed */
        EXIT_SETUP_REFUSED = 5,    /* changes pending, but no --yes and no terminal to ask */
};

const char verb_setup_usage[] = N_(
        "Usage: mxdeck setup [--answers FILE] [OPTIONS]\n"
        "\n"
        "On a terminal (and without --yes, --dry-run, --format json or --no-wizard) this opens\n"
        "the setup wizard, pre-filled from --answers FILE when given: pages for the server's\n"
        "identity, users, certificates, Postfix and Dovecot, then the plan to review and apply,\n"
        "then the DNS records, the client settings and the dashboard. Otherwise:\n"
        "\n"
        "Set up Postfix and Dovecot from an answers file: shows the plan (every command and a\n"
        "unified diff of every file), applies it under a transaction that 'mxdeck rollback'\n"
        "undoes, and verifies the result. Running it again changes nothing.\n"
        "\n"
        "Options:\n"
        "  -a, --answers FILE       the answers file (INI; see mxdeck(1) and docs/answers.example.ini)\n"
        "  -n, --dry-run            print the plan and change nothing\n"
        "  -y, --yes                apply without asking (needed without a terminal; no wizard)\n"
        "      --no-wizard          on a terminal too: print the plan and ask before applying\n"
        "      --save-to FILE       where the wizard offers to save the answers\n"
        "                           (default: ./mxdeck-answers.ini)\n"
        "      --root DIR           work on the system under DIR (services and checks are left out)\n"
        "      --on-conflict WHAT   a setting mxdeck made and someone changed since: 'keep' theirs\n"
        "                           (default) or take 'ours'; either way it is reported\n"
        "      --format FORMAT      text (default) or json (a summary on stdout, progress on stderr)\n"
        "  -h, --help               show this help\n"
        "\n"
        "Exit status: 0 changed (dry run: would change), 1 a step failed, 2 usage or answers error,\n"
        "3 nothing to change, 4 the plan cannot be applied, 5 refused (no --yes, no terminal;\n"
        "or the wizard was left before applying).\n");

const char verb_rollback_usage[] = N_(
        "Usage: mxdeck rollback [ID] [OPTIONS]\n"
        "\n"
        "Undo a setup transaction: every file it changed comes back byte for byte (content, mode,\n"
        "owner), files it created are removed, accounts it created are deleted, daemons it\n"
        "started are stopped. Without ID: the latest transaction. With ID: that one and every\n"
        "later one, newest first. A damaged transaction (a line of its journal is not what\n"
        "mxdeck writes) is not rolled back, nor anything else: the message names the file and\n"
        "line, and the command that goes past it.\n"
        "\n"
        "Options:\n"
        "      --root DIR           the system under DIR\n"
        "      --skip-damaged       leave damaged transactions as they are and roll back the\n"
        "                           others (without ID: the latest one not damaged)\n"
        "  -h, --help               show this help\n"
        "\n"
        "Exit status: 0 rolled back, 1 failed (partly rolled back, see the messages; or refused\n"
        "as damaged, nothing rolled back), 2 usage, 3 nothing to roll back.\n");

const char verb_history_usage[] = N_(
        "Usage: mxdeck history [OPTIONS]\n"
        "\n"
        "List the setup transactions, oldest first, with what each changed.\n"
        "\n"
        "Options:\n"
        "      --root DIR           the system under DIR\n"
        "      --format FORMAT      text (default) or json\n"
        "  -h, --help               show this help\n");

typedef struct Progress {
        FILE *f;
        bool color;
} Progress;

static void on_progress(const InstallerEvent *e, void *userdata) {
        Progress *p = userdata;

        switch (e->type) {
        case INSTALLER_EVENT_STEP_STARTED:
                fprintf(p->f, "%s==> %s%s\n", p->color ? "\033[1m" : "", e->step, p->color ? "\033[0m" : "");
                break;
        case INSTALLER_EVENT_OUTPUT_LINE:
                fprintf(p->f, "    %s\n", e->line);
                break;
        case INSTALLER_EVENT_STEP_DONE:
                if (e->result < 0)
                        fprintf(p->f, _("    %sfailed%s: %s\n"), p->color ? "\033[31m" : "",
                                p->color ? "\033[0m" : "", e->line ? e->line : strerror(-e->result));
                break;
        default:
                break;
        }
        fflush(p->f);
}

static bool ask(const char *question) {
        char buf[16];

        printf("%s [y/N] ", question);
        fflush(stdout);
        if (!fgets(buf, sizeof(buf), stdin))
                return false;
        return buf[0] == 'y' || buf[0] == 'Y';
}

static json_t *conflicts_json(const Plan *p) {
        json_t *a = json_array();

        for (size_t i = 0; a && i < p->n_steps; i++)
                for (size_t j = 0; j < p->steps[i].n_conflicts; j++) {
                        const Conflict *c = &p->steps[i].conflicts[j];
                        json_array_append_new(a, json_pack("{s:s, s:s, s:s?, s:s, s:s, s:s}",
                                                           "step", p->steps[i].step->name,
                                                           "what", c->what, "theirs", c->theirs,
                                                           "ours", c->ours, "recorded", c->recorded,
                                                           "resolution", c->taken ? "ours" : "theirs"));
                }
        return a;
}

static json_t *changed_steps_json(const Plan *p) {
        json_t *a = json_array();

        for (size_t i = 0; a && i < p->n_steps; i++)
                if (step_has_changes(&p->steps[i]))
                        json_array_append_new(a, json_string(p->steps[i].step->name));
        return a;
}

/* What an apply changed: both parts of a plan made again after the packages were
 * installed (the plan shown first ends at the packages step). */
static json_t *applied_steps_json(const ApplyResult *res) {
        json_t *a = json_array();

        for (char **s = res->changed_steps; a && s && *s; s++)
                json_array_append_new(a, json_string(*s));
        return a;
}

static int print_json(const char *status, const Plan *p, const ApplyResult *res, const char *error) {
        json_t *o = json_pack("{s:s, s:s, s:o, s:o}", "schema", "mxdeck.setup/1", "status", status,
                              "changed_steps", res && res->transaction ? applied_steps_json(res) :
                                               p ? changed_steps_json(p) : json_array(),
                              "conflicts", p ? conflicts_json(p) : json_array());
        char *s;

        if (!o)
                return -ENOMEM;
        if (res && res->transaction) {
                _cleanup_free_ char *rb = NULL;
                json_object_set_new(o, "transaction", json_string(res->transaction));
                if (asprintf(&rb, "mxdeck rollback %s", res->transaction) >= 0)
                        json_object_set_new(o, "rollback", json_string(rb));
        }
        if (res && res->failed_step)
                json_object_set_new(o, "failed_step", json_string(res->failed_step));
        if (error)
                json_object_set_new(o, "error", json_string(error));
        s = json_dumps(o, JSON_INDENT(2) | JSON_ENSURE_ASCII);
        json_decref(o);
        if (!s)
                return -ENOMEM;
        puts(s);
        free(s);
        return 0;
}

/* The wizard's end page: the DNS checks as setup prints them after an apply. */
static int wizard_dns_checks(FILE *f, const Answers *a, bool systemd) {
        OsRelease os = {};
        DistroFamily family = osrelease_load(NULL, &os) >= 0 ? os.family : DISTRO_UNKNOWN;
        osrelease_done(&os);
        return setup_dns_checks(f, a, family, systemd);
}

static int setup_wizard(const char *answers_path, const char *root, const char *save_to,
                        bool rehearsal) {
        _cleanup_free_ char *error = NULL, *cwd = NULL, *def = NULL, *address = NULL;
        WizardOutcome outcome = WIZARD_QUIT;
        bool live = streq(root, "/");
        int r;

        if (!save_to) {
                cwd = getcwd(NULL, 0);
                if (cwd && asprintf(&def, "%s/mxdeck-answers.ini", streq(cwd, "/") ? "" : cwd) < 0)
                        def = NULL;
                save_to = def;
        }
        if (rehearsal) {
                /* A rehearsal is for the lab only, and starts like a fresh install (Debian's
                 * "No configuration": Postfix installed, no main.cf), whatever the host has. */
                if (!getenv("MXDECK_LAB") || !streq(getenv("MXDECK_LAB"), "1") || !live) {
                        usage_error("setup", _("--rehearsal runs only inside 'mxdeck lab --rehearse'"));
                        return EXIT_SETUP_USAGE;
                }
                if (unlink("/etc/postfix/main.cf") < 0 && errno != ENOENT)
                        fprintf(stderr, _("mxdeck setup: cannot start from a fresh main.cf: %s\n"), strerror(errno));
        }
        WizardOptions wo = {
                .dns_checks = wizard_dns_checks,
                .root = root,
                .answers_path = answers_path,
                .save_path = save_to,
                .offline = !live,
                .systemd = live && sd_booted() > 0,
                .color = -1,
                .banner = rehearsal ? _("REHEARSAL on a throwaway lab host: your server is not touched") : NULL,
                .ret_address = &address,
        };
        r = wizard_run(&wo, &outcome, &error);
        if (r < 0) {
                _cleanup_free_ char *safe = termsafe_strdup(error ? error : strerror(-r), 0);
                fprintf(stderr, _("mxdeck setup: %s\n"), safe ? safe : "");
                return r == -EINVAL ? EXIT_SETUP_USAGE : EXIT_SETUP_FAILED;
        }
        switch (outcome) {
        case WIZARD_QUIT:
                puts(_("Left the setup: nothing was changed."));
                return EXIT_SETUP_REFUSED;
        case WIZARD_FAILED:
                return EXIT_SETUP_FAILED;
        case WIZARD_DASHBOARD:
                if (live) {
                        char *margv[] = { (char *) "monitor", (char *) "log", NULL };
                        if (rehearsal && address) {
                                r = rehearse_traffic(address, stdout);
                                if (r < 0 && r != -EIO)
                                        fprintf(stderr, _("mxdeck setup: no traffic: %s\n"), strerror(-r));
                        }
                        optind = 0;
                        /* the rehearsal opens on the log panel, where its traffic shows */
                        return verb_monitor(rehearsal ? 2 : 1, margv) == EXIT_OK ? EXIT_SETUP_CHANGED
                                                                                 : EXIT_SETUP_FAILED;
                }
                return EXIT_SETUP_CHANGED;
        default:
                return EXIT_SETUP_CHANGED;
        }
}

int verb_setup(int argc, char *argv[]) {
        enum { ARG_ROOT = 0x100, ARG_ON_CONFLICT, ARG_FORMAT, ARG_NO_WIZARD, ARG_SAVE_TO, ARG_REHEARSAL };
        static const struct option options[] = {
                { "no-wizard", no_argument, NULL, ARG_NO_WIZARD },
                { "save-to", required_argument, NULL, ARG_SAVE_TO },
                { "rehearsal", no_argument, NULL, ARG_REHEARSAL }, /* inside mxdeck lab --rehearse */
                { "answers", required_argument, NULL, 'a' },
                { "dry-run", no_argument, NULL, 'n' },
                { "yes", no_argument, NULL, 'y' },
                { "root", required_argument, NULL, ARG_ROOT },
                { "on-conflict", required_argument, NULL, ARG_ON_CONFLICT },
                { "format", required_argument, NULL, ARG_FORMAT },
                { "help", no_argument, NULL, 'h' },
                {}
        };
        const char *answers_path = NULL, *root = "/", *save_to = NULL;
        bool dry_run = false, yes = false, json = false, no_wizard = false, rehearsal = false;
        ConflictPolicy policy = CONFLICT_KEEP_THEIRS;
        _cleanup_(answers_freep) Answers *answers = NULL;
        _cleanup_(installer_freep) Installer *ins = NULL;
        _cleanup_(plan_freep) Plan *plan = NULL;
        _cleanup_free_ char *error = NULL, *text = NULL;
        ApplyResult res = {};
        int c, r;

        opterr = 0;
        while ((c = getopt_long(argc, argv, "a:nyh", options, NULL)) >= 0) {
                switch (c) {
                case 'a':
                        answers_path = optarg;
                        break;
                case 'n':
                        dry_run = true;
                        break;
                case 'y':
                        yes = true;
                        break;
                case ARG_ROOT:
                        root = optarg;
                        break;
                case ARG_NO_WIZARD:
                        no_wizard = true;
                        break;
                case ARG_SAVE_TO:
                        save_to = optarg;
                        break;
                case ARG_REHEARSAL:
                        rehearsal = true;
                        break;
                case ARG_ON_CONFLICT:
                        if (streq(optarg, "keep") || streq(optarg, "theirs"))
                                policy = CONFLICT_KEEP_THEIRS;
                        else if (streq(optarg, "ours") || streq(optarg, "take"))
                                policy = CONFLICT_TAKE_OURS;
                        else {
                                usage_error("setup", _("--on-conflict takes 'keep' or 'ours', not '%s'"), optarg);
                                return EXIT_SETUP_USAGE;
                        }
                        break;
                case ARG_FORMAT:
                        if (streq(optarg, "json"))
                                json = true;
                        else if (!streq(optarg, "text")) {
                                usage_error("setup", _("--format takes 'text' or 'json', not '%s'"), optarg);
                                return EXIT_SETUP_USAGE;
                        }
                        break;
                case 'h':
                        fputs(_(verb_setup_usage), stdout);
                        return EXIT_OK;
                default:
                        if (optopt)
                                usage_error("setup", _("unknown option '-%c' or missing argument"), optopt);
                        else
                                usage_error("setup", _("unknown option '%s'"), argv[optind - 1]);
                        return EXIT_SETUP_USAGE;
                }
        }
        if (optind < argc) {
                usage_error("setup", _("unexpected argument '%s'"), argv[optind]);
                return EXIT_SETUP_USAGE;
        }
        if (root[0] != '/') {
                usage_error("setup", _("--root needs an absolute path"));
                return EXIT_SETUP_USAGE;
        }
        /* The wizard on a terminal; --yes, --dry-run, --format json and --no-wizard keep the
         * non-interactive verb (so do scripts: no terminal). */
        if (!yes && !dry_run && !json && !no_wizard && isatty(STDIN_FILENO) && isatty(STDOUT_FILENO))
                return setup_wizard(answers_path, root, save_to, rehearsal);
        if (rehearsal) {
                usage_error("setup", _("--rehearsal is for 'mxdeck lab --rehearse', on a terminal"));
                return EXIT_SETUP_USAGE;
        }
        if (!answers_path) {
                usage_error("setup", _("--answers FILE is required (without a terminal, or with --yes, "
                                       "--dry-run or --format json)"));
                return EXIT_SETUP_USAGE;
        }

        r = answers_load(answers_path, &answers, &error);
        if (r < 0) {
                _cleanup_free_ char *safe = termsafe_strdup(error ? error : strerror(-r), 0);
                fprintf(stderr, _("mxdeck setup: %s\n"), safe ? safe : "");
                if (json)
                        print_json("invalid", NULL, NULL, safe);
                return EXIT_SETUP_USAGE;
        }

        bool color = !json && isatty(STDOUT_FILENO) && !(getenv("NO_COLOR") && *getenv("NO_COLOR"));
        Progress progress = { .f = json ? stderr : stdout, .color = color };
        bool live = streq(root, "/");
        InstallerOptions io = {
                .root = root,
                .answers = answers,
                .conflicts = policy,
                .offline = !live,
                .systemd = live && sd_booted() > 0,
                .progress = on_progress,
                .progress_userdata = &progress,
        };
        r = installer_new(&io, &ins, &error);
        if (r < 0) {
                fprintf(stderr, _("mxdeck setup: %s\n"), error ? error : strerror(-r));
                if (json)
                        print_json("failed", NULL, NULL, error ? error : strerror(-r));
                return EXIT_SETUP_BLOCKED;
        }
        r = installer_plan(ins, &plan);
        if (r < 0) {
                fprintf(stderr, _("mxdeck setup: cannot make the plan: %s\n"), strerror(-r));
                return EXIT_SETUP_FAILED;
        }
        r = plan_render_text(plan, color, &text);
        if (r < 0) {
                fprintf(stderr, _("mxdeck setup: %s\n"), strerror(-r));
                return EXIT_SETUP_FAILED;
        }
        fputs(text, json ? stderr : stdout);

        if (plan_has_errors(plan)) {
                fprintf(stderr, _("mxdeck setup: the plan cannot be applied (see the errors above); "
                                  "nothing was changed\n"));
                if (json)
                        print_json("blocked", plan, NULL, _("the plan has errors"));
                return EXIT_SETUP_BLOCKED;
        }
        bool changes = plan_has_changes(plan);
        size_t conflicts = plan_count_conflicts(plan);
        if (conflicts > 0)
                fprintf(json ? stderr : stdout,
                        _("%zu setting(s) changed by someone since mxdeck set them: see 'conflict' above\n"),
                        conflicts);
        if (dry_run) {
                fputs(changes ? _("Dry run: nothing was changed.\n") : _("Nothing to change.\n"),
                      json ? stderr : stdout);
                if (json)
                        print_json(changes ? "would-change" : "unchanged", plan, NULL, NULL);
                return changes ? EXIT_SETUP_CHANGED : EXIT_SETUP_UNCHANGED;
        }
        if (changes && !yes) {
                if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
                        fprintf(stderr, _("mxdeck setup: not applying without --yes when there is no "
                                          "terminal to ask (use --dry-run to only show the plan)\n"));
                        if (json)
                                print_json("refused", plan, NULL, NULL);
                        return EXIT_SETUP_REFUSED;
                }
                if (!ask(_("Apply these changes?"))) {
                        puts(_("Nothing was changed."));
                        return EXIT_SETUP_REFUSED;
                }
        }

        r = installer_apply(ins, plan, &res);
        if (r < 0) {
                fprintf(stderr, _("mxdeck setup: step %s failed: %s\n"),
                        res.failed_step ? res.failed_step : "?", res.error ? res.error : strerror(-r));
                if (res.transaction)
                        fprintf(stderr, _("Undo what was done so far with: mxdeck rollback %s%s%s\n"),
                                res.transaction, live ? "" : " --root ", live ? "" : root);
                if (json)
                        print_json("failed", plan, &res, res.error ? res.error : strerror(-r));
                apply_result_done(&res);
                return EXIT_SETUP_FAILED;
        }
        if (json)
                print_json(changes ? "changed" : "unchanged", plan, &res, NULL);
        else {
                if (res.transaction)
                        printf(_("Done: transaction %s (undo with: mxdeck rollback %s)\n"),
                               res.transaction, res.transaction);
                else
                        puts(_("Nothing to change."));
                if (live) {
                        _cleanup_free_ char *table = NULL;
                        if (installer_client_settings(answers, &table) >= 0)
                                printf("\n%s", table);
                        fflush(stdout);
                        r = setup_dns_plan(stdout, answers, installer_profile(ins)->family, io.systemd);
                        if (r < 0)
                                fprintf(stderr, _("mxdeck setup: the DNS plan: %s\n"), strerror(-r));
                }
        }
        apply_result_done(&res);
        return changes ? EXIT_SETUP_CHANGED : EXIT_SETUP_UNCHANGED;
}

static int parse_root_only(const char *verb, int argc, char *argv[], const char **root,
                           bool *json, bool *skip_damaged, const char *usage) {
        enum { ARG_ROOT = 0x100, ARG_FORMAT, ARG_SKIP_DAMAGED };
        static const struct option options[] = {
                { "root", required_argument, NULL, ARG_ROOT },
                { "format", required_argument, NULL, ARG_FORMAT },
                { "skip-damaged", no_argument, NULL, ARG_SKIP_DAMAGED },
                { "help", no_argument, NULL, 'h' },
                {}
        };
        int c;

        opterr = 0;
        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
                switch (c) {
                case ARG_ROOT:
                        if (optarg[0] != '/') {
                                usage_error(verb, _("--root needs an absolute path"));
                                return -EINVAL;
                        }
                        *root = optarg;
                        break;
                case ARG_FORMAT:
                        if (json && streq(optarg, "json"))
                                *json = true;
                        else if (!json || !streq(optarg, "text")) {
                                usage_error(verb, _("--format takes 'text'%s, not '%s'"),
                                            json ? _(" or 'json'") : "", optarg);
                                return -EINVAL;
                        }
                        break;
                case ARG_SKIP_DAMAGED:
                        if (!skip_damaged) {
                                usage_error(verb, _("unknown option '%s'"), argv[optind - 1]);
                                return -EINVAL;
                        }
                        *skip_damaged = true;
                        break;
                case 'h':
                        fputs(_(usage), stdout);
                        return 0;
                default:
                        usage_error(verb, _("unknown option '%s'"), argv[optind - 1]);
                        return -EINVAL;
                }
        }
        return 1;
}

static void rollback_note(const char *line, void *userdata) {
        _cleanup_free_ char *safe = termsafe_strdup(line, 0);
        printf("    %s\n", safe ? safe : "");
}

static void print_damaged(const TransactionInfo *t) {
        _cleanup_free_ char *file = termsafe_strdup(t->damaged_file, 0), *why = termsafe_strdup(t->damaged_reason, 0);

        fprintf(stderr, _("mxdeck rollback: transaction %s is damaged and cannot be rolled back: %s:%u: %s\n"),
                t->id, strempty(file), t->damaged_line, strempty(why));
}

int verb_rollback(int argc, char *argv[]) {
        const char *root = "/";
        TransactionInfo *list = NULL;
        bool skip_damaged = false;
        size_t n = 0, from;
        int r, failed = 0;

        r = parse_root_only("rollback", argc, argv, &root, NULL, &skip_damaged, verb_rollback_usage);
        if (r <= 0)
                return r < 0 ? EXIT_USAGE : EXIT_OK;
        if (argc - optind > 1) {
                usage_error("rollback", _("too many arguments"));
                return EXIT_USAGE;
        }
        const char *id = optind < argc ? argv[optind] : NULL;

        r = journal_list(root, &list, &n);
        if (r < 0) {
                fprintf(stderr, _("mxdeck rollback: cannot read the transactions: %s\n"), strerror(-r));
                return EXIT_FAILED;
        }
        /* which: the given one, or the newest not yet rolled back (with --skip-damaged: and
         * not damaged) */
        for (from = n; from-- > 0;)
                if (id ? streq(list[from].id, id)
                       : list[from].status != TRANSACTION_ROLLED_BACK &&
                         !(skip_damaged && list[from].status == TRANSACTION_DAMAGED))
                        break;
        if (from == (size_t) -1) {
                if (id)
                        fprintf(stderr, _("mxdeck rollback: no transaction %s (see 'mxdeck history')\n"), id);
                else
                        fputs(_("Nothing to roll back.\n"), stdout);
                transaction_infos_free(list, n);
                return id ? EXIT_USAGE : 3;
        }
        if (list[from].status == TRANSACTION_ROLLED_BACK) {
                printf(_("Transaction %s was already rolled back.\n"), list[from].id);
                transaction_infos_free(list, n);
                return 3;
        }
        /* a damaged transaction on the way: nothing is rolled back, not even the newer ones
         * (a part of a rollback is worse than none); --skip-damaged leaves damaged ones as
         * they are and rolls back the rest */
        for (size_t i = n; i-- > from;) {
                if (list[i].status != TRANSACTION_DAMAGED || (skip_damaged && i != from))
                        continue;
                print_damaged(&list[i]);
                failed = 1;
                if (i == from && skip_damaged)
                        break;
                size_t older = i;
                while (older-- > 0)
                        if (list[older].status != TRANSACTION_ROLLED_BACK &&
                            list[older].status != TRANSACTION_DAMAGED)
                                break;
                fputs(_("Nothing was rolled back. Undo its changes by hand if need be: 'mxdeck history' lists "
                        "the files it changed, its backups are beside its manifest.\n"), stderr);
                /* the one asked for, or the newest before the damaged one */
                const char *next = i > from ? list[from].id : older != (size_t) -1 ? list[older].id : NULL;
                if (next)
                        fprintf(stderr, _("To roll back the others and leave it as it is: "
                                          "mxdeck rollback --skip-damaged %s\n"), next);
                break;
        }
        if (failed) {
                transaction_infos_free(list, n);
                return EXIT_FAILED;
        }
        /* newer transactions built on this one's files: undo them first, newest first */
        for (size_t i = n; i-- > from;) {
                if (list[i].status == TRANSACTION_ROLLED_BACK)
                        continue;
                if (list[i].status == TRANSACTION_DAMAGED) {
                        printf(_("Leaving %s as it is (damaged)\n"), list[i].id);
                        continue;
                }
                printf(_("Rolling back %s (%s)\n"), list[i].id, transaction_status_to_string(list[i].status));
                r = journal_rollback(root, list[i].id, NULL, NULL, rollback_note, NULL);
                if (r < 0) {
                        fprintf(stderr, _("mxdeck rollback: %s: %s\n"), list[i].id,
                                r == -EIO ? _("some changes could not be undone (see above)") :
                                r == -EBADMSG ? _("damaged (see above)") : strerror(-r));
                        failed = 1;
                        if (r != -EIO)
                                break;
                }
        }
        transaction_infos_free(list, n);
        return failed ? EXIT_FAILED : EXIT_OK;
}

int verb_history(int argc, char *argv[]) {
        const char *root = "/";
        bool json = false;
        TransactionInfo *list = NULL;
        size_t n = 0;
        int r;

        r = parse_root_only("history", argc, argv, &root, &json, NULL, verb_history_usage);
        if (r <= 0)
                return r < 0 ? EXIT_USAGE : EXIT_OK;
        if (optind < argc) {
                usage_error("history", _("unexpected argument '%s'"), argv[optind]);
                return EXIT_USAGE;
        }
        r = journal_list(root, &list, &n);
        if (r < 0) {
                fprintf(stderr, _("mxdeck history: cannot read the transactions: %s\n"), strerror(-r));
                return EXIT_FAILED;
        }
        if (json) {
                json_t *a = json_array();
                for (size_t i = 0; a && i < n; i++) {
                        json_t *files = json_array(), *cmds = json_array(), *steps = json_array();
                        for (char **s = list[i].files; *s; s++)
                                json_array_append_new(files, json_string(*s));
                        for (char **s = list[i].commands; *s; s++)
                                json_array_append_new(cmds, json_string(*s));
                        for (char **s = list[i].steps; *s; s++)
                                json_array_append_new(steps, json_string(*s));
                        json_t *damage = list[i].damaged_reason
                                ? json_pack("{s:s, s:I, s:s}", "file", strempty(list[i].damaged_file),
                                            "line", (json_int_t) list[i].damaged_line,
                                            "reason", list[i].damaged_reason)
                                : NULL;
                        json_array_append_new(a, json_pack("{s:s, s:I, s:s, s:s, s:o, s:o, s:o, s:s?, s:s?, s:o?}",
                                "id", list[i].id, "started", (json_int_t) list[i].started,
                                "status", transaction_status_to_string(list[i].status),
                                "answers", strempty(list[i].answers), "steps", steps,
                                "files", files, "commands", cmds,
                                "failed_step", list[i].failed_step, "error", list[i].error,
                                "damage", damage));
                }
                char *s = json_dumps(a, JSON_INDENT(2) | JSON_ENSURE_ASCII);
                json_decref(a);
                if (s)
                        puts(s);
                free(s);
        } else {
                if (n == 0)
                        puts(_("No transactions."));
                for (size_t i = 0; i < n; i++) {
                        char when[32] = "?";
                        time_t t = (time_t) list[i].started;
                        struct tm tm;
                        if (localtime_r(&t, &tm))
                                strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
                        _cleanup_free_ char *answers = termsafe_strdup(list[i].answers, 0);
                        printf("%s  %s  %-11s  %s\n", list[i].id, when,
                               transaction_status_to_string(list[i].status), answers ? answers : "");
                        if (list[i].failed_step)
                                printf(_("    failed in %s: %s\n"), list[i].failed_step, strempty(list[i].error));
                        if (list[i].damaged_reason) {
                                _cleanup_free_ char *file = termsafe_strdup(list[i].damaged_file, 0),
                                                    *why = termsafe_strdup(list[i].damaged_reason, 0);
                                printf(_("    damaged  %s:%u: %s (rollback refuses it; the lists below stop there)\n"),
                                       strempty(file), list[i].damaged_line, strempty(why));
                        }
                        for (char **s = list[i].files; *s; s++) {
                                _cleanup_free_ char *f = termsafe_strdup(*s, 0);
                                printf(_("    file     %s\n"), f ? f : "");
                        }
                        for (char **s = list[i].commands; *s; s++) {
                                _cleanup_free_ char *f = termsafe_strdup(*s, 0);
                                printf(_("    command  %s\n"), f ? f : "");
                        }
                }
        }
        transaction_infos_free(list, n);
        return EXIT_OK;
}
