/* Sub-commands: each is a table entry in main.c; argv[0] is the verb's own name and
 * options are parsed by the verb (getopt_long). Returns the process exit status. */
#pragma once

typedef struct Verb {
        const char *name;
        int (*run)(int argc, char *argv[]);
        const char *summary;  /* N_()-marked one line for `mxdeck --help` */
        const char *usage;    /* N_()-marked full help for `mxdeck help VERB` and VERB --help */
} Verb;

int verb_check(int argc, char *argv[]);
int verb_dns(int argc, char *argv[]);
int verb_dkim(int argc, char *argv[]);
int verb_lab(int argc, char *argv[]);
int verb_log(int argc, char *argv[]);
int verb_setup(int argc, char *argv[]);
int verb_rollback(int argc, char *argv[]);
int verb_history(int argc, char *argv[]);
int verb_monitor(int argc, char *argv[]);
int verb_queue(int argc, char *argv[]);
int verb_users(int argc, char *argv[]);

extern const char verb_check_usage[];
extern const char verb_dns_usage[];
extern const char verb_dkim_usage[];
extern const char verb_lab_usage[];
extern const char verb_log_usage[];
extern const char verb_setup_usage[];
extern const char verb_rollback_usage[];
extern const char verb_history_usage[];
extern const char verb_monitor_usage[];
extern const char verb_queue_usage[];
extern const char verb_users_usage[];

/* Exit codes of verbs other than check: 0 ok, 1 failed, 2 usage. check uses the Nagios
 * codes 0..3 (3 also for usage errors). */
enum {
        EXIT_OK = 0,
        EXIT_FAILED = 1,
        EXIT_USAGE = 2,
};

/* Prints "mxdeck VERB: MESSAGE\nTry 'mxdeck help VERB'." to stderr. */
void usage_error(const char *verb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
