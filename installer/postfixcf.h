/* main.cf and master.cf as text: read a parameter or a service, and compute what
 * `postconf -e`, `-M` and `-P` will write, so the plan shows the exact diff before anything
 * runs (apply runs the real postconf; verify compares its result with this preview).
 * Pure functions: no I/O, fuzzed. */
#pragma once

#include <stddef.h>

#define MASTER_FIELDS 8 /* service type private unpriv chroot wakeup maxproc command */

/* The value of a main.cf parameter as Postfix reads it (the last definition; continuation
 * lines joined by one space; surrounding blanks removed). -ENOENT when not defined. */
int maincf_get(const char *text, size_t size, const char *name, char **ret);

/* What `postconf -e 'name = value' ...` writes: every definition of a name becomes one
 * line "name = value" (continuation lines dropped), names not yet defined are appended in
 * order. */
int maincf_set(const char *text, size_t size, char *const *names, char *const *values,
               size_t n, char **ret, size_t *ret_size);

typedef struct MasterEntry {
        char *fields[MASTER_FIELDS];
        char **args;           /* after the command, one word each ("-o", "name=value", ...) */
} MasterEntry;

void master_entry_done(MasterEntry *e);

/* The entry "service/type", -ENOENT when there is none. */
int mastercf_get(const char *text, size_t size, const char *service, const char *type,
                 MasterEntry *ret);

/* The fields as one normalised line (single spaces), for comparing and recording. */
char *master_entry_fields(const MasterEntry *e);

/* The value of "-o name=value" in an entry, or NULL. */
const char *master_entry_option(const MasterEntry *e, const char *name);

/* What `postconf -M 'service/type=FIELDS'` writes: the entry replaced by the new fields
 * (its arguments dropped, as postconf does), or appended. fields: 8 words, space-separated. */
int mastercf_set_entry(const char *text, size_t size, const char *fields, char **ret,
                       size_t *ret_size);

/* What `postconf -P 'service/type/name=value'` writes: the entry re-formatted with the
 * option replaced or added. -ENOENT when the entry does not exist. */
int mastercf_set_option(const char *text, size_t size, const char *service, const char *type,
                        const char *name, const char *value, char **ret, size_t *ret_size);
