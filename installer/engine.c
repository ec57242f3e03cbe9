/* The installer engine: builds the plan from the steps, renders it, applies it under a
 * transaction journal, and keeps the managed-state record used to tell the administrator's
 * later edits from mxdeck's own settings. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <jansson.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "diff.h"
#include "fileio.h"
#include "installer.h"
#include "journal.h"
#include "macro.h"
#include "termsafe.h"
#include "units.h"

#define MAX_CONFIG_FILE ((size_t) 16 * 1024 * 1024)
#define COMMAND_TIMEOUT_MS 120000u
/* Package installs download and unpack: longer than any other command. */
#define PACKAGE_TIMEOUT_MS 900000u
#define UNIT_TIMEOUT_MS 90000u

struct Installer {
        char *root;
        const Answers *answers;
        const DistroProfile *profile;
        ConflictPolicy conflicts;
        char *const *take_ours;
        const char *roundtrip_password;
        bool offline;
        bool systemd;
        bool no_live_checks;
        InstallerProgress progress;
        void *progress_userdata;
        InstallerSpawn spawn;
        void *spawn_userdata;
        char *firewalld_address;
        int64_t now;
        json_t *managed;        /* key -> value mxdeck wrote */
        Journal *journal;       /* during apply */
        /* Files as earlier steps of the plan will leave them, so a later step diffs against
         * that (two steps editing main.cf show two diffs that add up). */
        json_t *planned;        /* path -> content */
        const Plan *plan;       /* during installer_plan */
        void *userdata;         /* installer_set_userdata */
};

void installer_set_userdata(Installer *ins, void *userdata) { ins->userdata = userdata; }
void *installer_userdata(const Installer *ins) { return ins->userdata; }

const Plan *installer_current_plan(const Installer *ins) { return ins->plan; }

const char *installer_root(const Installer *ins) { return ins->root; }
const Answers *installer_answers(const Installer *ins) { return ins->answers; }
const DistroProfile *installer_profile(const Installer *ins) { return ins->profile; }
bool installer_offline(const Installer *ins) { return ins->offline; }
bool installer_systemd(const Installer *ins) { return ins->systemd; }
bool installer_live_checks(const Installer *ins) { return !ins->offline && !ins->no_live_checks; }
int64_t installer_now(const Installer *ins) { return ins->now; }
const char *installer_firewalld_address(const Installer *ins) { return ins->firewalld_address; }
const char *installer_roundtrip_password(const Installer *ins) {
        return ins->roundtrip_password;
}

const char *installer_transaction(const Installer *ins) {
        return ins->journal ? journal_id(ins->journal) : NULL;
}

char *installer_path(const Installer *ins, const char *path) {
        char *p;

        if (streq(ins->root, "/"))
                return strdup(path);
        if (asprintf(&p, "%s%s", ins->root, path) < 0)
                return NULL;
        return p;
}

int installer_read_planned(const Installer *ins, const char *path, char **ret, size_t *ret_size) {
        json_t *v = json_object_get(ins->planned, path);

        if (v) {
                *ret = strndup(json_string_value(v), json_string_length(v));
                *ret_size = json_string_length(v);
                return *ret ? 0 : -ENOMEM;
        }
        return installer_read(ins, path, ret, ret_size);
}

int installer_set_planned(Installer *ins, const char *path, const char *data, size_t size) {
        json_t *v = json_stringn_nocheck(data, size);

        if (!v)
                return -ENOMEM;
        return json_object_set_new(ins->planned, path, v) < 0 ? -ENOMEM : 0;
}

int installer_read(const Installer *ins, const char *path, char **ret, size_t *ret_size) {
        _cleanup_free_ char *full = installer_path(ins, path);

        if (!full)
                return -ENOMEM;
        return read_file_bounded(full, MAX_CONFIG_FILE, ret, ret_size);
}

static int managed_load(Installer *ins) {
        _cleanup_free_ char *data = NULL;
        size_t size;
        int r;

        r = installer_read(ins, JOURNAL_MANAGED, &data, &size);
        if (r == -ENOENT) {
                ins->managed = json_object();
                return ins->managed ? 0 : -ENOMEM;
        }
        if (r < 0)
                return r;
        ins->managed = json_loadb(data, size, 0, NULL);
        if (!ins->managed || !json_is_object(ins->managed)) {
                json_decref(ins->managed);
                ins->managed = NULL;
                return -EBADMSG;
        }
        return 0;
}

int installer_new(const InstallerOptions *o, Installer **ret, char **ret_error) {
        _cleanup_(installer_freep) Installer *ins = NULL;
        int r;

        if (!o || !o->answers || !ret)
                return -EINVAL;
        ins = calloc(1, sizeof(Installer));
        if (!ins)
                return -ENOMEM;
        ins->root = strdup(o->root && *o->root ? o->root : "/");
        if (!ins->root)
                return -ENOMEM;
        /* "/tmp/r/" and "/tmp/r" are the same root; paths are appended to it */
        for (size_t l = strlen(ins->root); l > 1 && ins->root[l - 1] == '/'; l--)
                ins->root[l - 1] = '\0';
        ins->answers = o->answers;
        ins->conflicts = o->conflicts;
        ins->take_ours = o->take_ours;
        ins->roundtrip_password = o->roundtrip_password;
        ins->offline = o->offline;
        ins->systemd = o->systemd;
        ins->no_live_checks = o->no_live_checks;
        ins->progress = o->progress;
        ins->progress_userdata = o->progress_userdata;
        ins->spawn = o->spawn;
        ins->spawn_userdata = o->spawn_userdata;
        if (o->firewalld_address && !(ins->firewalld_address = strdup(o->firewalld_address)))
                return -ENOMEM;
        ins->now = o->now ? o->now : (int64_t) time(NULL);
        ins->profile = o->profile;
        if (!ins->profile) {
                OsRelease os = {};
                r = osrelease_load(ins->root, &os);
                if (r >= 0)
                        ins->profile = distro_profile(os.family);
                osrelease_done(&os);
                if (!ins->profile) {
                        if (ret_error)
                                *ret_error = strdup(_("cannot tell the distribution from os-release: "
                                                      "mxdeck supports Debian 12+, Ubuntu 22.04+ and "
                                                      "the RHEL family (8-10, Fedora)"));
                        return -EOPNOTSUPP;
                }
        }
        ins->planned = json_object();
        if (!ins->planned)
                return -ENOMEM;
        r = managed_load(ins);
        if (r < 0) {
                if (ret_error && asprintf(ret_error, _("cannot read %s: %s"), JOURNAL_MANAGED,
                                          strerror(-r)) < 0)
                        *ret_error = NULL;
                return r;
        }
        *ret = TAKE_PTR(ins);
        return 0;
}

Installer *installer_free(Installer *ins) {
        if (!ins)
                return NULL;
        json_decref(ins->managed);
        json_decref(ins->planned);
        journal_free(ins->journal);
        free(ins->firewalld_address);
        free(ins->root);
        free(ins);
        return NULL;
}

void installer_emit(Installer *ins, InstallerEventType type, const char *step,
                    const char *line, int result) {
        InstallerEvent e = { .type = type, .step = step, .line = line, .result = result };

        if (ins->progress)
                ins->progress(&e, ins->progress_userdata);
}

static char *argv_to_line(const char *const *argv) {
        size_t len = 1;
        char *s, *p;

        for (size_t i = 0; argv[i]; i++)
                len += strlen(argv[i]) + 3;
        s = p = malloc(len);
        if (!s)
                return NULL;
        for (size_t i = 0; argv[i]; i++) {
                bool quote = argv[i][strcspn(argv[i], " \t'\"$")] != '\0' || !*argv[i];
                if (i > 0)
                        *p++ = ' ';
                if (quote)
                        *p++ = '\'';
                p = stpcpy(p, argv[i]);
                if (quote)
                        *p++ = '\'';
        }
        *p = '\0';
        return s;
}

int installer_query(Installer *ins, const char *const *argv, SpawnResult *ret) {
        SpawnOptions o = { .argv = argv, .timeout_ms = COMMAND_TIMEOUT_MS };

        return ins->spawn ? ins->spawn(&o, ret, ins->spawn_userdata) : spawn_run(&o, ret);
}

static int run_command(Installer *ins, const char *step, const char *const *argv,
                       const char *const *envp, const char *input, size_t input_size, bool quiet,
                       SpawnResult *ret) {
        SpawnOptions o = {
                .argv = argv,
                .envp = envp,
                .input = input,
                .input_size = input_size,
                .merge_stderr = true,
                .timeout_ms = envp ? PACKAGE_TIMEOUT_MS : COMMAND_TIMEOUT_MS,
        };
        SpawnResult res = {};
        _cleanup_free_ char *line = argv_to_line(argv);
        int r;

        if (!line)
                return -ENOMEM;
        installer_emit(ins, INSTALLER_EVENT_OUTPUT_LINE, step, line, 0);
        r = ins->spawn ? ins->spawn(&o, &res, ins->spawn_userdata) : spawn_run(&o, &res);
        if (r < 0)
                return r;
        journal_audit(installer_transaction(ins), step, "mxdeck: ran %s: %s", line,
                      spawn_result_ok(&res) ? "ok" : "failed");
        /* each output line as an event, terminal-safe */
        for (const char *s = res.out ? res.out : "", *end = s + res.out_size;
             (!quiet || !spawn_result_ok(&res)) && s < end;) {
                const char *nl = memchr(s, '\n', (size_t) (end - s));
                size_t len = nl ? (size_t) (nl - s) : (size_t) (end - s);
                _cleanup_free_ char *safe = NULL;
                if (len > 0 && termsafe_dup(s, len, 0, &safe) >= 0)
                        installer_emit(ins, INSTALLER_EVENT_OUTPUT_LINE, step, safe, 0);
                s += len + 1;
        }
        if (ret)
                *ret = res;
        else
                spawn_result_done(&res);
        return 0;
}

int installer_run(Installer *ins, const char *step, const char *const *argv,
                  const char *input, size_t input_size, SpawnResult *ret) {
        return run_command(ins, step, argv, NULL, input, input_size, false, ret);
}

int installer_run_quiet(Installer *ins, const char *step, const char *const *argv, SpawnResult *ret) {
        return run_command(ins, step, argv, NULL, NULL, 0, true, ret);
}

/* --- managed state --- */

const char *installer_managed_get(const Installer *ins, const char *key) {
        return json_string_value(json_object_get(ins->managed, key));
}

static int push(void **v, size_t *n, size_t size) {
        void *nv = realloc(*v, (*n + 1) * size);

        if (!nv)
                return -ENOMEM;
        memset((char *) nv + *n * size, 0, size);
        *v = nv;
        (*n)++;
        return 0;
}

#define PUSH(arr, n) push((void **) &(arr), &(n), sizeof(*(arr)))

int installer_managed_decide(Installer *ins, StepPlan *sp, const char *key, const char *what,
                             const char *current, const char *wanted, ManagedDecision *ret) {
        const char *recorded = installer_managed_get(ins, key);
        Conflict *c;

        if (streq_ptr(current, wanted)) {
                *ret = MANAGED_SAME;
                return 0;
        }
        if (!recorded || streq_ptr(current, recorded)) {
                *ret = MANAGED_CHANGE;
                return 0;
        }
        /* mxdeck wrote `recorded`, someone changed it to `current` since */
        if (PUSH(sp->conflicts, sp->n_conflicts) < 0)
                return -ENOMEM;
        c = &sp->conflicts[sp->n_conflicts - 1];
        c->what = strdup(what);
        c->theirs = current ? strdup(current) : NULL;
        c->ours = strdup(strempty(wanted));
        c->recorded = strdup(recorded);
        c->taken = ins->conflicts == CONFLICT_TAKE_OURS;
        for (char *const *t = ins->take_ours; t && *t && !c->taken; t++)
                c->taken = streq(*t, what);
        if (!c->what || (current && !c->theirs) || !c->ours || !c->recorded)
                return -ENOMEM;
        *ret = c->taken ? MANAGED_TAKE : MANAGED_KEEP;
        return 0;
}

/* --- StepPlan builders --- */

static char **strv_copy(const char *const *v) {
        size_t n = 0;
        char **c;

        while (v && v[n])
                n++;
        c = calloc(n + 1, sizeof(char *));
        if (!c)
                return NULL;
        for (size_t i = 0; i < n; i++)
                if (!(c[i] = strdup(v[i]))) {
                        strv_free(c);
                        return NULL;
                }
        return c;
}

int step_plan_note(StepPlan *sp, NoteLevel level, const char *fmt, ...) {
        va_list ap;
        char *s;
        int r;

        va_start(ap, fmt);
        r = vasprintf(&s, fmt, ap);
        va_end(ap);
        if (r < 0)
                return -ENOMEM;
        if (PUSH(sp->notes, sp->n_notes) < 0) {
                free(s);
                return -ENOMEM;
        }
        sp->notes[sp->n_notes - 1] = (Note) { level, s };
        return 0;
}

int step_verify_failed(Installer *ins, StepPlan *sp, int errno_value, const char *fmt, ...) {
        va_list ap;
        char *s;
        int r;

        va_start(ap, fmt);
        r = vasprintf(&s, fmt, ap);
        va_end(ap);
        if (r < 0)
                return -ENOMEM;
        installer_emit(ins, INSTALLER_EVENT_OUTPUT_LINE, sp->step->name, s, 0);
        free(sp->verify_error);
        sp->verify_error = s;
        return -errno_value;
}

static int action_new(StepPlan *sp, ActionKind kind, const char *summary, Action **ret) {
        Action *a;

        if (PUSH(sp->actions, sp->n_actions) < 0)
                return -ENOMEM;
        a = &sp->actions[sp->n_actions - 1];
        a->kind = kind;
        a->summary = strdup(summary);
        if (!a->summary)
                return -ENOMEM;
        *ret = a;
        return 0;
}

static int set_owner_names(Action *a, const char *owner, const char *group) {
        if (owner && !(a->owner = strdup(owner)))
                return -ENOMEM;
        if (group && !(a->group = strdup(group)))
                return -ENOMEM;
        return 0;
}

int step_plan_write(StepPlan *sp, const char *summary, const char *path, const char *data,
                    size_t size, mode_t mode, const char *owner, const char *group) {
        Action *a;
        int r;

        r = action_new(sp, ACTION_WRITE, summary, &a);
        if (r < 0)
                return r;
        a->path = strdup(path);
        a->data = malloc(size + 1);
        if (!a->path || !a->data)
                return -ENOMEM;
        memcpy(a->data, data, size);
        a->data[size] = '\0';
        a->size = size;
        a->mode = mode;
        return set_owner_names(a, owner, group);
}

int step_plan_mkdir(StepPlan *sp, const char *path, mode_t mode, const char *owner,
                    const char *group) {
        _cleanup_free_ char *summary = NULL;
        Action *a;
        int r;

        if (asprintf(&summary, _("create directory %s"), path) < 0)
                return -ENOMEM;
        r = action_new(sp, ACTION_MKDIR, summary, &a);
        if (r < 0)
                return r;
        a->path = strdup(path);
        a->mode = mode;
        if (!a->path)
                return -ENOMEM;
        return set_owner_names(a, owner, group);
}

int step_plan_run(StepPlan *sp, const char *summary, const char *const *argv,
                  const char *const *touches, const char *const *undo_argv, Action **ret) {
        _cleanup_free_ char *line = NULL;
        Action *a;
        int r;

        if (!summary) {
                line = argv_to_line(argv);
                if (!line)
                        return -ENOMEM;
        }
        r = action_new(sp, ACTION_RUN, summary ? summary : line, &a);
        if (r < 0)
                return r;
        a->argv = strv_copy(argv);
        a->touches = strv_copy(touches);
        if (!a->argv || !a->touches)
                return -ENOMEM;
        if (undo_argv && !(a->undo_argv = strv_copy(undo_argv)))
                return -ENOMEM;
        if (ret)
                *ret = a;
        return 0;
}

int step_plan_call(StepPlan *sp, const char *summary, const char *data) {
        Action *a;
        int r;

        r = action_new(sp, ACTION_CALL, summary, &a);
        if (r < 0)
                return r;
        a->data = strdup(data);
        if (!a->data)
                return -ENOMEM;
        a->size = strlen(data);
        return 0;
}

int step_plan_unit(StepPlan *sp, int op, const char *unit, int undo_op, bool undo_late, Action **ret) {
        _cleanup_free_ char *line = NULL, *summary = NULL;
        Action *a;
        int r;

        r = unit_op_command((UnitOp) op, unit, &line);
        if (r < 0)
                return r;
        if (asprintf(&summary, _("%s (over D-Bus)"), line) < 0)
                return -ENOMEM;
        r = action_new(sp, ACTION_UNIT, summary, &a);
        if (r < 0)
                return r;
        a->unit = strdup(unit);
        if (!a->unit)
                return -ENOMEM;
        a->unit_op = op;
        a->unit_undo_op = undo_op;
        a->undo_late = undo_late;
        if (ret)
                *ret = a;
        return 0;
}

int step_plan_preview(StepPlan *sp, const char *path, const char *old, size_t old_size,
                      const char *new, size_t new_size, bool secret, const char *via) {
        Preview *p;

        if (PUSH(sp->previews, sp->n_previews) < 0)
                return -ENOMEM;
        p = &sp->previews[sp->n_previews - 1];
        p->path = strdup(path);
        p->new = strndup(new, new_size);
        p->new_size = new_size;
        p->secret = secret;
        if (!p->path || !p->new)
                return -ENOMEM;
        if (old) {
                p->old = malloc(old_size + 1);
                if (!p->old)
                        return -ENOMEM;
                memcpy(p->old, old, old_size);
                p->old[old_size] = '\0';
                p->old_size = old_size;
        }
        if (via && !(p->via = strdup(via)))
                return -ENOMEM;
        return 0;
}

int step_plan_managed(StepPlan *sp, const char *key, const char *value) {
        Managed *m;

        if (PUSH(sp->managed, sp->n_managed) < 0)
                return -ENOMEM;
        m = &sp->managed[sp->n_managed - 1];
        m->key = strdup(key);
        m->value = value ? strdup(value) : NULL;
        return m->key && (!value || m->value) ? 0 : -ENOMEM;
}

static int sha256_hex(const void *data, size_t size, char ret[65]) {
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned len = 0;

        if (EVP_Digest(data, size, md, &len, EVP_sha256(), NULL) != 1 || len != 32)
                return -EIO;
        for (unsigned i = 0; i < len; i++)
                snprintf(ret + 2 * i, 3, "%02x", md[i]);
        return 0;
}

/* The owner of a target file by name, from ROOT/etc/passwd and ROOT/etc/group (not NSS:
 * the root may be another system's tree). */
static int lookup_ids(const Installer *ins, const char *owner, const char *group,
                      uid_t *ret_uid, gid_t *ret_gid) {
        _cleanup_free_ char *pw_path = installer_path(ins, "/etc/passwd");
        _cleanup_free_ char *gr_path = installer_path(ins, "/etc/group");
        _cleanup_fclose_ FILE *pf = NULL, *gf = NULL;
        bool found_u = !owner || streq(owner, "root"), found_g = !group || streq(group, "root");

        *ret_uid = 0;
        *ret_gid = 0;
        if (!pw_path || !gr_path)
                return -ENOMEM;
        if (!found_u) {
                struct passwd *pw;
                pf = fopen(pw_path, "re");
                if (!pf)
                        return negative_errno();
                while ((pw = fgetpwent(pf)))
                        if (streq(pw->pw_name, owner)) {
                                *ret_uid = pw->pw_uid;
                                found_u = true;
                                break;
                        }
        }
        if (!found_g) {
                struct group *gr;
                gf = fopen(gr_path, "re");
                if (!gf)
                        return negative_errno();
                while ((gr = fgetgrent(gf)))
                        if (streq(gr->gr_name, group)) {
                                *ret_gid = gr->gr_gid;
                                found_g = true;
                                break;
                        }
        }
        return found_u && found_g ? 0 : -ESRCH;
}

int step_plan_file(Installer *ins, StepPlan *sp, const char *path, const char *data,
                   size_t size, mode_t mode, const char *owner, const char *group, bool secret) {
        _cleanup_free_ char *old = NULL, *full = NULL, *key = NULL, *summary = NULL;
        size_t old_size = 0;
        char cur_sha[65] = "", new_sha[65];
        ManagedDecision d;
        struct stat st;
        bool content_same, meta_same = false;
        int r;

        r = installer_read_planned(ins, path, &old, &old_size);
        if (r < 0 && r != -ENOENT)
                return r;
        if (old && (r = sha256_hex(old, old_size, cur_sha)) < 0)
                return r;
        if ((r = sha256_hex(data, size, new_sha)) < 0)
                return r;
        content_same = old && old_size == size && memcmp(old, data, size) == 0;

        full = installer_path(ins, path);
        if (!full)
                return -ENOMEM;
        if (old && stat(full, &st) >= 0) {
                uid_t uid;
                gid_t gid;
                /* an owner that does not exist yet (created by an earlier step) differs */
                meta_same = (st.st_mode & 07777) == mode &&
                            lookup_ids(ins, owner, group, &uid, &gid) >= 0 &&
                            st.st_uid == uid && st.st_gid == gid;
        }

        if (asprintf(&key, "file:%s", path) < 0)
                return -ENOMEM;
        if (content_same) {
                if (!meta_same) {
                        /* rewrite with the right mode/owner */
                        if (asprintf(&summary, _("set mode %04o and owner %s:%s on %s"), (unsigned) mode,
                                     owner ? owner : "root", group ? group : "root", path) < 0)
                                return -ENOMEM;
                        r = step_plan_write(sp, summary, path, data, size, mode, owner, group);
                        if (r < 0)
                                return r;
                }
                return installer_managed_get(ins, key) ? 0 : step_plan_managed(sp, key, new_sha);
        }

        r = installer_managed_decide(ins, sp, key, path, old ? cur_sha : NULL, new_sha, &d);
        if (r < 0)
                return r;
        if (d == MANAGED_KEEP)
                return 0;
        r = step_plan_preview(sp, path, old, old_size, data, size, secret, NULL);
        if (r >= 0)
                r = installer_set_planned(ins, path, data, size);
        if (r < 0)
                return r;
        if (asprintf(&summary, old ? _("replace %s") : _("create %s"), path) < 0)
                return -ENOMEM;
        r = step_plan_write(sp, summary, path, data, size, mode, owner, group);
        if (r < 0)
                return r;
        return step_plan_managed(sp, key, new_sha);
}

/* --- the plan --- */

static void step_plan_done(StepPlan *sp) {
        for (size_t i = 0; i < sp->n_actions; i++) {
                Action *a = &sp->actions[i];
                free(a->summary);
                free(a->path);
                free(a->data);
                free(a->owner);
                free(a->group);
                strv_free(a->argv);
                if (a->input)
                        explicit_bzero(a->input, a->input_size);
                free(a->input);
                strv_free(a->undo_argv);
                strv_free(a->touches);
                strv_free(a->envp);
                free(a->report);
                free(a->unit);
        }
        free(sp->actions);
        for (size_t i = 0; i < sp->n_previews; i++) {
                Preview *p = &sp->previews[i];
                free(p->path);
                if (p->secret) {
                        if (p->old)
                                explicit_bzero(p->old, p->old_size);
                        explicit_bzero(p->new, p->new_size);
                }
                free(p->old);
                free(p->new);
                free(p->via);
        }
        free(sp->previews);
        for (size_t i = 0; i < sp->n_conflicts; i++) {
                free(sp->conflicts[i].what);
                free(sp->conflicts[i].theirs);
                free(sp->conflicts[i].ours);
                free(sp->conflicts[i].recorded);
        }
        free(sp->conflicts);
        for (size_t i = 0; i < sp->n_managed; i++) {
                free(sp->managed[i].key);
                free(sp->managed[i].value);
        }
        free(sp->managed);
        for (size_t i = 0; i < sp->n_notes; i++)
                free(sp->notes[i].text);
        free(sp->notes);
        free(sp->verify_error);
        if (sp->state && sp->step && sp->step->free_state)
                sp->step->free_state(sp->state);
}

Plan *plan_free(Plan *p) {
        if (!p)
                return NULL;
        for (size_t i = 0; i < p->n_steps; i++)
                step_plan_done(&p->steps[i]);
        free(p->steps);
        free(p);
        return NULL;
}

static void wait_note(const char *line, void *userdata) {
        installer_emit(userdata, INSTALLER_EVENT_OUTPUT_LINE, "preflight", line, 0);
}

int installer_plan(Installer *ins, Plan **ret) {
        const Step *const *steps;
        size_t n;

        steps = steps_table(&n);
        return installer_plan_steps(ins, steps, n, ret);
}

int installer_plan_steps(Installer *ins, const Step *const *steps, size_t n, Plan **ret) {
        _cleanup_(plan_freep) Plan *p = calloc(1, sizeof(Plan));
        int r;

        if (!p)
                return -ENOMEM;
        /* a killed run's commands may still be changing files: plan after they ended */
        if (!ins->offline && !ins->spawn)
                (void) journal_wait_unfinished(ins->root, wait_note, ins);
        ins->plan = p;
        json_object_clear(ins->planned);
        for (size_t i = 0; i < n; i++) {
                StepPlan *sp;

                if (steps[i]->live && ins->offline)
                        continue;
                if (PUSH(p->steps, p->n_steps) < 0)
                        return -ENOMEM;
                sp = &p->steps[p->n_steps - 1];
                sp->step = steps[i];
                r = steps[i]->inspect(ins, sp);
                if (r < 0) {
                        ins->plan = NULL;
                        return r;
                }
                /* a step that cannot be planned stops planning: later steps build on it */
                if (plan_has_errors(p) || sp->replan_after)
                        break;
        }
        ins->plan = NULL;
        *ret = TAKE_PTR(p);
        return 0;
}

bool step_has_changes(const StepPlan *sp) {
        return sp->n_actions > 0 || sp->n_managed > 0;
}

bool plan_has_changes(const Plan *p) {
        for (size_t i = 0; i < p->n_steps; i++)
                if (step_has_changes(&p->steps[i]))
                        return true;
        return false;
}

bool plan_is_partial(const Plan *p) {
        return p->n_steps > 0 && p->steps[p->n_steps - 1].replan_after;
}

bool plan_has_errors(const Plan *p) {
        for (size_t i = 0; i < p->n_steps; i++)
                for (size_t j = 0; j < p->steps[i].n_notes; j++)
                        if (p->steps[i].notes[j].level == NOTE_ERROR)
                                return true;
        return false;
}

size_t plan_count_conflicts(const Plan *p) {
        size_t n = 0;

        for (size_t i = 0; i < p->n_steps; i++)
                n += p->steps[i].n_conflicts;
        return n;
}

/* --- rendering --- */

typedef struct Text {
        char *s;
} Text;

_printf_(2, 3)
static int text_add(char **s, const char *fmt, ...) {
        _cleanup_free_ char *add = NULL;
        va_list ap;
        size_t len = *s ? strlen(*s) : 0;
        char *n;
        int r;

        va_start(ap, fmt);
        r = vasprintf(&add, fmt, ap);
        va_end(ap);
        if (r < 0)
                return -ENOMEM;
        n = realloc(*s, len + (size_t) r + 1);
        if (!n)
                return -ENOMEM;
        memcpy(n + len, add, (size_t) r + 1);
        *s = n;
        return 0;
}

#define C(color, s) (color ? "\033[" s "m" : "")

static int render_diff(char **out, const Preview *pv, bool color) {
        _cleanup_free_ char *d = NULL, *safe = NULL;
        int r;

        if (pv->secret)
                return text_add(out, pv->old ? _("  %s: replaced (secret: content not shown)\n")
                                             : _("  %s: created (secret: content not shown)\n"),
                                pv->path);
        r = diff_unified(pv->path, pv->old, pv->old_size, pv->new, pv->new_size, &d);
        if (r < 0)
                return r;
        if (!d)
                return 0;
        r = termsafe_dup(d, strlen(d), TERMSAFE_KEEP_NEWLINE | TERMSAFE_KEEP_TAB, &safe);
        if (r < 0)
                return r;
        if (pv->via && (r = text_add(out, _("  %s, as %s will write it:\n"), pv->path, pv->via)) < 0)
                return r;
        for (char *line = safe, *nl; *line; line = nl + 1) {
                nl = strchr(line, '\n');
                if (nl)
                        *nl = '\0';
                const char *c = "";
                if (color) {
                        if (line[0] == '+' && !startswith(line, "+++"))
                                c = "\033[32m";
                        else if (line[0] == '-' && !startswith(line, "---"))
                                c = "\033[31m";
                        else if (line[0] == '@')
                                c = "\033[36m";
                }
                r = text_add(out, "    %s%s%s\n", c, line, *c ? "\033[0m" : "");
                if (r < 0 || !nl)
                        return r;
        }
        return 0;
}

int plan_render_text(const Plan *p, bool color, char **ret) {
        _cleanup_free_ char *out = strdup("");
        int r;

        if (!out)
                return -ENOMEM;
        for (size_t i = 0; i < p->n_steps; i++) {
                const StepPlan *sp = &p->steps[i];
                bool changes = step_has_changes(sp);

                r = text_add(&out, "%s%s%s: %s%s\n", C(color, "1"), sp->step->name, C(color, "0"),
                             _(sp->step->title),
                             changes ? "" : _(" (nothing to change)"));
                if (r < 0)
                        return r;
                for (size_t j = 0; j < sp->n_notes; j++) {
                        _cleanup_free_ char *t = termsafe_strdup(sp->notes[j].text, 0);
                        const char *lv = sp->notes[j].level == NOTE_ERROR ? _("error") :
                                         sp->notes[j].level == NOTE_WARNING ? _("warning") : _("note");
                        if (!t || (r = text_add(&out, "  %s%s%s: %s\n",
                                                sp->notes[j].level == NOTE_INFO ? "" :
                                                sp->notes[j].level == NOTE_ERROR ? C(color, "31") : C(color, "33"),
                                                lv, C(color, "0"), t)) < 0)
                                return -ENOMEM;
                }
                for (size_t j = 0; j < sp->n_conflicts; j++) {
                        const Conflict *c = &sp->conflicts[j];
                        _cleanup_free_ char *w = termsafe_strdup(c->what, 0);
                        _cleanup_free_ char *th = termsafe_strdup(c->theirs ? c->theirs : _("(removed)"), 0);
                        _cleanup_free_ char *o = termsafe_strdup(c->ours, 0);
                        if (!w || !th || !o)
                                return -ENOMEM;
                        r = text_add(&out, _("  %sconflict%s: %s was changed since mxdeck set it\n"
                                             "    theirs: %s\n    ours:   %s\n    -> %s\n"),
                                     C(color, "33"), C(color, "0"), w, th, o,
                                     c->taken ? _("taking ours (--on-conflict=ours)")
                                              : _("keeping theirs (--on-conflict=ours would take ours)"));
                        if (r < 0)
                                return r;
                }
                for (size_t j = 0; j < sp->n_actions; j++) {
                        const Action *a = &sp->actions[j];
                        _cleanup_free_ char *t = NULL;
                        if (a->kind != ACTION_RUN && a->kind != ACTION_UNIT && a->kind != ACTION_CALL)
                                continue;
                        t = termsafe_strdup(a->summary, 0);
                        if (!t || (r = text_add(&out, a->kind == ACTION_CALL ? "  * %s\n" : "  $ %s\n", t)) < 0)
                                return -ENOMEM;
                }
                for (size_t j = 0; j < sp->n_previews; j++) {
                        r = render_diff(&out, &sp->previews[j], color);
                        if (r < 0)
                                return r;
                }
        }
        *ret = TAKE_PTR(out);
        return 0;
}

/* --- apply --- */

void apply_result_done(ApplyResult *r) {
        free(r->transaction);
        free(r->error);
        strv_free(r->changed_steps);
        *r = (ApplyResult) {};
}

static int parent_dirs(Installer *ins, const char *step, const char *path) {
        _cleanup_free_ char *p = strdup(path);
        int r;

        if (!p)
                return -ENOMEM;
        for (char *s = p + 1; *s; s++) {
                if (*s != '/')
                        continue;
                *s = '\0';
                _cleanup_free_ char *full = installer_path(ins, p);
                struct stat st;
                if (!full)
                        return -ENOMEM;
                if (stat(full, &st) < 0) {
                        if (errno != ENOENT)
                                return negative_errno();
                        r = journal_mkdir(ins->journal, step, p);
                        if (r < 0)
                                return r;
                        if (mkdir(full, 0755) < 0 && errno != EEXIST)
                                return negative_errno();
                }
                *s = '/';
        }
        return 0;
}

static int apply_write(Installer *ins, const char *step, const Action *a) {
        _cleanup_free_ char *full = installer_path(ins, a->path);
        uid_t uid;
        gid_t gid;
        int r;

        if (!full)
                return -ENOMEM;
        r = lookup_ids(ins, a->owner, a->group, &uid, &gid);
        if (r < 0)
                return r;
        /* the directories first: rollback goes newest first, so it removes the file before
         * the directories it needs */
        r = parent_dirs(ins, step, a->path);
        if (r < 0)
                return r;
        r = journal_backup(ins->journal, step, a->path);
        if (r < 0)
                return r;
        AtomicWriteOptions o = { .set_mode = true, .mode = a->mode, .set_owner = true, .uid = uid, .gid = gid };
        r = atomic_write_file(full, a->data, a->size, &o, NULL);
        if (r < 0)
                return r;
        journal_audit(journal_id(ins->journal), step, "mxdeck: wrote %s (mode %04o)", a->path,
                      (unsigned) a->mode);
        return 0;
}

static int apply_mkdir(Installer *ins, const char *step, const Action *a) {
        _cleanup_free_ char *full = installer_path(ins, a->path);
        uid_t uid;
        gid_t gid;
        int r;

        if (!full)
                return -ENOMEM;
        r = lookup_ids(ins, a->owner, a->group, &uid, &gid);
        if (r < 0)
                return r;
        r = parent_dirs(ins, step, a->path);
        if (r < 0)
                return r;
        if (access(full, F_OK) < 0) {
                r = journal_mkdir(ins->journal, step, a->path);
                if (r < 0)
                        return r;
                if (mkdir(full, a->mode) < 0 && errno != EEXIST)
                        return negative_errno();
        }
        if (chown(full, uid, gid) < 0 || chmod(full, a->mode) < 0)
                return negative_errno();
        return 0;
}

static int apply_run(Installer *ins, const char *step, const Action *a, char **ret_error) {
        SpawnResult res = {};
        unsigned seq = 0;
        int r;

        for (char **t = a->touches; t && *t; t++) {
                r = journal_backup(ins->journal, step, *t);
                if (r < 0)
                        return r;
        }
        r = journal_run(ins->journal, step, (const char *const *) a->argv,
                        (const char *const *) a->undo_argv,
                        a->undo_late, &seq);
        if (r < 0)
                return r;
        if (a->report) {
                r = journal_report(ins->journal, step, a->report);
                if (r < 0)
                        return r;
        }
        r = run_command(ins, step, (const char *const *) a->argv, (const char *const *) a->envp,
                        a->input, a->input_size, false, &res);
        if (r < 0) {
                if (asprintf(ret_error, _("cannot run %s: %s"), a->argv[0], strerror(-r)) < 0)
                        *ret_error = NULL;
                return r;
        }
        (void) journal_ran(ins->journal, seq, res.exited ? res.exit_status : -1);
        if (!spawn_result_ok(&res) && !a->ignore_failure) {
                _cleanup_free_ char *out = NULL;
                size_t len = res.out_size;
                while (len > 0 && (res.out[len - 1] == '\n' || res.out[len - 1] == ' '))
                        len--;
                (void) termsafe_dup(res.out ? res.out : "", len, 0, &out);
                if (asprintf(ret_error, _("%s failed (%s %d)%s%s"), a->summary,
                             res.exited ? _("exit status") : _("signal"),
                             res.exited ? res.exit_status : res.term_signal,
                             out && *out ? ": " : "", strempty(out)) < 0)
                        *ret_error = NULL;
                spawn_result_done(&res);
                return -EIO;
        }
        spawn_result_done(&res);
        return 0;
}

static int apply_call(Installer *ins, const Step *step, const Action *a, char **ret_error) {
        unsigned seq = 0;
        int r;

        if (!step->call)
                return -EOPNOTSUPP;
        r = journal_call(ins->journal, step->name, a->summary, a->data, &seq);
        if (r < 0)
                return r;
        r = step->call(ins, a, ret_error);
        (void) journal_ran(ins->journal, seq, r < 0 ? 1 : 0);
        if (r >= 0)
                journal_audit(journal_id(ins->journal), step->name, "mxdeck: %s", a->summary);
        return r;
}

static int apply_unit(Installer *ins, const char *step, const Action *a, char **ret_error) {
        const char *undo = a->unit_undo_op >= 0 ? unit_op_to_string((UnitOp) a->unit_undo_op) : NULL;
        _cleanup_free_ char *err = NULL;
        unsigned seq = 0;
        bool changed = true;
        int r;

        installer_emit(ins, INSTALLER_EVENT_OUTPUT_LINE, step, a->summary, 0);
        r = journal_unit(ins->journal, step, unit_op_to_string((UnitOp) a->unit_op), a->unit, undo,
                         a->undo_late, &seq);
        if (r < 0)
                return r;
        r = unit_run((UnitOp) a->unit_op, a->unit, deadline_in_ms(UNIT_TIMEOUT_MS), &changed, &err);
        /* an enable that found the unit enabled already changed nothing: nothing to undo */
        (void) journal_ran(ins->journal, seq, r < 0 ? 1 : changed ? 0 : 2);
        journal_audit(journal_id(ins->journal), step, "mxdeck: %s: %s", a->summary,
                      r < 0 ? "failed" : changed ? "done" : "nothing to change");
        if (r < 0) {
                if (asprintf(ret_error, _("%s failed: %s"), a->summary, err ? err : strerror(-r)) < 0)
                        *ret_error = NULL;
                return r;
        }
        return 0;
}

static int write_managed(Installer *ins, const char *step, const StepPlan *sp) {
        _cleanup_free_ char *full = NULL, *data = NULL;
        int r;

        if (sp->n_managed == 0)
                return 0;
        for (size_t i = 0; i < sp->n_managed; i++) {
                if (sp->managed[i].value)
                        r = json_object_set_new(ins->managed, sp->managed[i].key,
                                                json_string(sp->managed[i].value));
                else
                        r = json_object_del(ins->managed, sp->managed[i].key) < 0 ? 0 : 0;
                if (r < 0)
                        return -ENOMEM;
        }
        data = json_dumps(ins->managed, JSON_INDENT(2) | JSON_SORT_KEYS);
        if (!data)
                return -ENOMEM;
        r = journal_backup(ins->journal, step, JOURNAL_MANAGED);
        if (r < 0)
                return r;
        full = installer_path(ins, JOURNAL_MANAGED);
        if (!full)
                return -ENOMEM;
        AtomicWriteOptions o = { .set_mode = true, .mode = 0600 };
        return atomic_write_file(full, data, strlen(data), &o, NULL);
}

static int apply_step(Installer *ins, StepPlan *sp, char **ret_error) {
        const char *name = sp->step->name;
        int r = 0;

        if (sp->step->apply)
                return sp->step->apply(ins, sp);
        for (size_t i = 0; i < sp->n_actions && r >= 0; i++) {
                const Action *a = &sp->actions[i];
                switch (a->kind) {
                case ACTION_WRITE:
                        installer_emit(ins, INSTALLER_EVENT_OUTPUT_LINE, name, a->summary, 0);
                        r = apply_write(ins, name, a);
                        break;
                case ACTION_MKDIR:
                        installer_emit(ins, INSTALLER_EVENT_OUTPUT_LINE, name, a->summary, 0);
                        r = apply_mkdir(ins, name, a);
                        break;
                case ACTION_RUN:
                        r = apply_run(ins, name, a, ret_error);
                        break;
                case ACTION_CALL:
                        installer_emit(ins, INSTALLER_EVENT_OUTPUT_LINE, name, a->summary, 0);
                        r = apply_call(ins, sp->step, a, ret_error);
                        break;
                case ACTION_UNIT:
                        r = apply_unit(ins, name, a, ret_error);
                        break;
                default:
                        r = -EINVAL;
                }
                if (r < 0 && !*ret_error &&
                    asprintf(ret_error, "%s: %s", a->summary, strerror(-r)) < 0)
                        *ret_error = NULL;
        }
        if (r < 0)
                return r;
        r = write_managed(ins, name, sp);
        if (r < 0 && asprintf(ret_error, _("cannot record managed settings: %s"), strerror(-r)) < 0)
                *ret_error = NULL;
        return r;
}

/* Adds name to the NULL-terminated list *v unless it is there (a step applied again in
 * the second part of the plan). */
static int list_step(char ***v, const char *name) {
        size_t n = 0;
        char **nv;

        while (*v && (*v)[n]) {
                if (streq((*v)[n], name))
                        return 0;
                n++;
        }
        nv = realloc(*v, (n + 2) * sizeof(char *));
        if (!nv)
                return -ENOMEM;
        *v = nv;
        nv[n + 1] = NULL;
        nv[n] = strdup(name);
        return nv[n] ? 0 : -ENOMEM;
}

/* Applies and verifies the steps of p in the open transaction; on failure fills
 * res->failed_step and res->error and commits the transaction as failed. */
static int apply_steps(Installer *ins, Plan *p, ApplyResult *ret) {
        ApplyResult res = *ret;
        int r = 0;

        for (size_t i = 0; i < p->n_steps; i++) {
                StepPlan *sp = &p->steps[i];
                const char *name = sp->step->name;
                char *err = NULL;

                if (!step_has_changes(sp) && !sp->step->verify)
                        continue;
                installer_emit(ins, INSTALLER_EVENT_STEP_STARTED, name, NULL, 0);
                if (step_has_changes(sp)) {
                        if (list_step(&res.changed_steps, name) < 0) {
                                *ret = res;
                                return -ENOMEM;
                        }
                        (void) journal_step(ins->journal, name, "apply");
                        r = apply_step(ins, sp, &err);
                        res.changed = true;
                }
                if (r >= 0 && sp->step->verify) {
                        r = sp->step->verify(ins, sp);
                        if (r < 0 && asprintf(&err, _("verification failed: %s"),
                                              sp->verify_error ? sp->verify_error : strerror(-r)) < 0)
                                err = NULL;
                }
                installer_emit(ins, INSTALLER_EVENT_STEP_DONE, name, err, r);
                if (r < 0) {
                        res.failed_step = name;
                        res.error = err ? err : strdup(strerror(-r));
                        (void) journal_commit(ins->journal, false, name, res.error);
                        journal_audit(res.transaction, name, "mxdeck: step %s failed: %s", name,
                                      strempty(res.error));
                        *ret = res;
                        return r;
                }
                free(err);
                journal_audit(res.transaction, name, "mxdeck: step %s done", name);
        }
        *ret = res;
        return 0;
}

int installer_apply(Installer *ins, Plan *p, ApplyResult *ret) {
        ApplyResult res = {};
        int r = 0;

        *ret = res;
        if (plan_has_errors(p))
                return -EINVAL;
        if (!plan_has_changes(p)) {
                /* still verify that the daemons answer: "nothing to change" should also mean
                 * "running". The configuration did not change since the run that checked it
                 * fully (postfix check alone takes seconds): `mxdeck check` does that. */
                for (size_t i = 0; i < p->n_steps; i++) {
                        StepPlan *sp = &p->steps[i];
                        if (!sp->step->verify || !sp->step->live || streq(sp->step->name, "verify"))
                                continue;
                        installer_emit(ins, INSTALLER_EVENT_STEP_STARTED, sp->step->name, NULL, 0);
                        r = sp->step->verify(ins, sp);
                        installer_emit(ins, INSTALLER_EVENT_STEP_DONE, sp->step->name, NULL, r);
                        if (r < 0) {
                                res.failed_step = sp->step->name;
                                if (asprintf(&res.error, _("verification failed: %s"),
                                             sp->verify_error ? sp->verify_error : strerror(-r)) < 0)
                                        res.error = NULL;
                                *ret = res;
                                return r;
                        }
                }
                res.verified = true;
                *ret = res;
                return 0;
        }

        r = journal_begin(ins->root, ins->now, ins->answers->path, &ins->journal);
        if (r < 0) {
                if (asprintf(&res.error, _("cannot start a transaction under %s: %s"),
                             JOURNAL_TRANSACTIONS, strerror(-r)) < 0)
                        res.error = NULL;
                *ret = res;
                return r;
        }
        res.transaction = strdup(journal_id(ins->journal));
        if (!res.transaction)
                return -ENOMEM;
        journal_audit(res.transaction, NULL, "mxdeck: setup started (transaction %s)", res.transaction);

        r = apply_steps(ins, p, &res);
        if (r < 0) {
                *ret = res;
                return r;
        }
        /* the rest of the plan, now that what it builds on is there (packages) */
        if (plan_is_partial(p)) {
                _cleanup_(plan_freep) Plan *rest = NULL;
                _cleanup_free_ char *text = NULL;
                r = installer_plan(ins, &rest);
                if (r >= 0)
                        r = plan_render_text(rest, false, &text);
                if (r < 0)
                        return r;
                for (char *line = text, *nl; line && *line; line = nl ? nl + 1 : NULL) {
                        nl = strchr(line, '\n');
                        if (nl)
                                *nl = '\0';
                        installer_emit(ins, INSTALLER_EVENT_OUTPUT_LINE, "plan", line, 0);
                }
                if (plan_has_errors(rest) || plan_is_partial(rest)) {
                        res.failed_step = "plan";
                        res.error = strdup(_("the rest of the plan cannot be applied (see the errors above)"));
                        (void) journal_commit(ins->journal, false, "plan", res.error);
                        *ret = res;
                        return -EINVAL;
                }
                r = apply_steps(ins, rest, &res);
                if (r < 0) {
                        *ret = res;
                        return r;
                }
        }
        res.verified = true;
        r = journal_commit(ins->journal, true, NULL, NULL);
        journal_audit(res.transaction, NULL, "mxdeck: setup done (transaction %s)", res.transaction);
        *ret = res;
        return r;
}
