/* Unit tests for the firewall and hardening steps with the RHEL profile (and ufw, Ubuntu's)
 * against a temporary root: the plan and its diff (golden files), apply, a second plan with
 * nothing to change, rollback.
 *
 * What stands in for the real thing, and why:
 * - Recorded commands (the installer's spawn hook): nft, ufw, semanage, restorecon,
 *   fail2ban-client, dnf. A temporary root has no kernel ruleset, no SELinux policy store
 *   and no daemons; ufw cannot run on this Debian test machine. postconf runs for real (-c
 *   ROOT/etc/postfix), as in test-installer: without it, or without root, the apply tests
 *   are skipped, saying so. nftables and fail2ban run for real in the integration test
 *   setup-firewall.sh.
 * - firewalld: a stand-in that answers firewalld's D-Bus methods (the ones mxdeck calls,
 *   with their signatures) on a direct D-Bus connection, in a child process. A unit test
 *   cannot start firewalld (it needs the system bus and rewrites /etc/firewalld); this
 *   tests mxdeck's sd-bus marshalling, plan and journalled undo. Real firewalld on a real
 *   system bus is tested in setup-firewall.sh. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <systemd/sd-bus.h>
#include <systemd/sd-id128.h>

#include "answers.h"
#include "fileio.h"
#include "installer.h"
#include "journal.h"
#include "macro.h"


/* --- the recorder --- */

typedef struct Recorder {
        char *log;
        size_t n;
        char *rpm_installed;  /* " postfix dovecot ": what the recorded rpm -q answers */
} Recorder;

static int recorder_spawn(const SpawnOptions *o, SpawnResult *ret, void *userdata) {
        Recorder *rec = userdata;
        _cleanup_free_ char *line = strdup("");
        char *n;

        for (size_t i = 0; o->argv[i]; i++) {
                assert_true(asprintf(&n, "%s%s%s", line, i ? " " : "", o->argv[i]) > 0);
                free(line);
                line = n;
        }
        assert_true(asprintf(&n, "%s%s\n", rec->log ? rec->log : "", line) > 0);
        free(rec->log);
        rec->log = n;
        rec->n++;
        /* the real postconf, and dpkg-query against ROOT/var/lib/dpkg/status (the packages
         * step asks what is installed) */
        if (streq(o->argv[0], "postconf") || streq(o->argv[0], "dpkg-query"))
                return spawn_run(o, ret);
        if (streq(o->argv[0], "rpm")) {
                /* no RPM database on this Debian machine: answered as rpm -q would */
                _cleanup_free_ char *out = strdup("");
                int missing = 0;
                size_t i = 0;
                while (o->argv[i] && !streq(o->argv[i], "%{NAME}\\n"))
                        i++;
                assert_non_null(o->argv[i]);
                for (i++; o->argv[i]; i++) {
                        _cleanup_free_ char *w = NULL;
                        assert_true(asprintf(&w, " %s ", o->argv[i]) > 0);
                        bool have = rec->rpm_installed && strstr(rec->rpm_installed, w);
                        missing += !have;
                        assert_true(asprintf(&n, have ? "%s%s\n" : "%spackage %s is not installed\n", out,
                                             o->argv[i]) > 0);
                        free(out);
                        out = n;
                }
                *ret = (SpawnResult) { .exited = true, .exit_status = missing, .out = strdup(out),
                                       .out_size = strlen(out), .err = strdup("") };
                return 0;
        }
        *ret = (SpawnResult) { .exited = true, .exit_status = 0, .out = strdup(""), .err = strdup("") };
        return 0;
}

/* --- the stand-in firewalld (child process) --- */

#define FWD_PATH "/org/fedoraproject/FirewallD1"
#define FWD_ZONE_CONFIG_PATH "/org/fedoraproject/FirewallD1/config/zone/3"

typedef struct FakeState {
        char *runtime[32];
        char *permanent[32];
} FakeState;

static FakeState fake;

static bool set_has(char **set, const char *s) {
        for (size_t i = 0; i < 32 && set[i]; i++)
                if (streq(set[i], s))
                        return true;
        return false;
}

static int set_add(char **set, const char *s, sd_bus_error *e) {
        size_t i = 0;
        if (set_has(set, s))
                return sd_bus_error_setf(e, "org.fedoraproject.FirewallD1.Exception", "ALREADY_ENABLED: %s", s);
        while (i < 31 && set[i])
                i++;
        set[i] = strdup(s);
        return 0;
}

static int set_remove(char **set, const char *s, sd_bus_error *e) {
        for (size_t i = 0; i < 32 && set[i]; i++)
                if (streq(set[i], s)) {
                        free(set[i]);
                        memmove(&set[i], &set[i + 1], (31 - i) * sizeof(char *));
                        set[31] = NULL;
                        return 0;
                }
        return sd_bus_error_setf(e, "org.fedoraproject.FirewallD1.Exception", "NOT_ENABLED: %s", s);
}

static int reply_set(sd_bus_message *m, char **set) {
        sd_bus_message *r = NULL;
        int k = sd_bus_message_new_method_return(m, &r);
        if (k >= 0)
                k = sd_bus_message_open_container(r, 'a', "s");
        for (size_t i = 0; k >= 0 && i < 32 && set[i]; i++)
                k = sd_bus_message_append_basic(r, 's', set[i]);
        if (k >= 0)
                k = sd_bus_message_close_container(r);
        if (k >= 0)
                k = sd_bus_send(NULL, r, NULL);
        sd_bus_message_unref(r);
        return k;
}

static const char *const known_services[] = { "ssh", "dhcpv6-client", "smtp", "smtp-submission", "smtps",
                                              "imap", "imaps", "pop3", "pop3s", NULL };

static int m_default_zone(sd_bus_message *m, void *u, sd_bus_error *e) {
        return sd_bus_reply_method_return(m, "s", "public");
}
static int m_list_services(sd_bus_message *m, void *u, sd_bus_error *e) {
        return reply_set(m, (char **) known_services);
}
static bool check_zone(const char *zone, sd_bus_error *e) {
        if (streq(zone, "public"))
                return true;
        sd_bus_error_setf(e, "org.fedoraproject.FirewallD1.Exception", "INVALID_ZONE: %s", zone);
        return false;
}
static bool check_service(const char *s, sd_bus_error *e) {
        for (size_t i = 0; known_services[i]; i++)
                if (streq(known_services[i], s))
                        return true;
        sd_bus_error_setf(e, "org.fedoraproject.FirewallD1.Exception", "INVALID_SERVICE: %s", s);
        return false;
}
static int m_zone_get(sd_bus_message *m, void *u, sd_bus_error *e) {
        const char *zone;
        int r = sd_bus_message_read(m, "s", &zone);
        if (r < 0 || !check_zone(zone, e))
                return r < 0 ? r : -EINVAL;
        return reply_set(m, fake.runtime);
}
static int m_zone_add(sd_bus_message *m, void *u, sd_bus_error *e) {
        const char *zone, *svc;
        int32_t timeout;
        int r = sd_bus_message_read(m, "ssi", &zone, &svc, &timeout);
        if (r < 0 || !check_zone(zone, e) || !check_service(svc, e) || (r = set_add(fake.runtime, svc, e)) < 0)
                return r < 0 ? r : -EINVAL;
        return sd_bus_reply_method_return(m, "s", zone);
}
static int m_zone_remove(sd_bus_message *m, void *u, sd_bus_error *e) {
        const char *zone, *svc;
        int r = sd_bus_message_read(m, "ss", &zone, &svc);
        if (r < 0 || !check_zone(zone, e) || (r = set_remove(fake.runtime, svc, e)) < 0)
                return r < 0 ? r : -EINVAL;
        return sd_bus_reply_method_return(m, "s", zone);
}
static int m_zone_by_name(sd_bus_message *m, void *u, sd_bus_error *e) {
        const char *zone;
        int r = sd_bus_message_read(m, "s", &zone);
        if (r < 0 || !check_zone(zone, e))
                return r < 0 ? r : -EINVAL;
        return sd_bus_reply_method_return(m, "o", FWD_ZONE_CONFIG_PATH);
}
static int m_config_get(sd_bus_message *m, void *u, sd_bus_error *e) {
        return reply_set(m, fake.permanent);
}
static int m_config_add(sd_bus_message *m, void *u, sd_bus_error *e) {
        const char *svc;
        int r = sd_bus_message_read(m, "s", &svc);
        if (r < 0 || !check_service(svc, e) || (r = set_add(fake.permanent, svc, e)) < 0)
                return r < 0 ? r : -EINVAL;
        return sd_bus_reply_method_return(m, "");
}
static int m_config_remove(sd_bus_message *m, void *u, sd_bus_error *e) {
        const char *svc;
        int r = sd_bus_message_read(m, "s", &svc);
        if (r < 0 || (r = set_remove(fake.permanent, svc, e)) < 0)
                return r;
        return sd_bus_reply_method_return(m, "");
}

static const sd_bus_vtable vt_main[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_METHOD("getDefaultZone", "", "s", m_default_zone, 0),
        SD_BUS_METHOD("listServices", "", "as", m_list_services, 0),
        SD_BUS_VTABLE_END
};
static const sd_bus_vtable vt_zone[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_METHOD("getServices", "s", "as", m_zone_get, 0),
        SD_BUS_METHOD("addService", "ssi", "s", m_zone_add, 0),
        SD_BUS_METHOD("removeService", "ss", "s", m_zone_remove, 0),
        SD_BUS_VTABLE_END
};
static const sd_bus_vtable vt_config[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_METHOD("getZoneByName", "s", "o", m_zone_by_name, 0),
        SD_BUS_VTABLE_END
};
static const sd_bus_vtable vt_config_zone[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_METHOD("getServices", "", "as", m_config_get, 0),
        SD_BUS_METHOD("addService", "s", "", m_config_add, 0),
        SD_BUS_METHOD("removeService", "s", "", m_config_remove, 0),
        SD_BUS_VTABLE_END
};

/* Serves one connection after another until killed. */
_Noreturn static void fake_firewalld(int listen_fd) {
        fake.runtime[0] = strdup("ssh");
        fake.runtime[1] = strdup("imaps");   /* the administrator's: must survive */
        fake.permanent[0] = strdup("ssh");
        fake.permanent[1] = strdup("dhcpv6-client");
        for (;;) {
                int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
                sd_bus *b = NULL;
                sd_id128_t id;
                if (fd < 0)
                        _exit(1);
                if (sd_id128_randomize(&id) < 0 || sd_bus_new(&b) < 0 || sd_bus_set_fd(b, fd, fd) < 0 ||
                    sd_bus_set_server(b, 1, id) < 0 ||
                    sd_bus_add_object_vtable(b, NULL, FWD_PATH, "org.fedoraproject.FirewallD1", vt_main, NULL) < 0 ||
                    sd_bus_add_object_vtable(b, NULL, FWD_PATH, "org.fedoraproject.FirewallD1.zone", vt_zone, NULL) < 0 ||
                    sd_bus_add_object_vtable(b, NULL, "/org/fedoraproject/FirewallD1/config",
                                             "org.fedoraproject.FirewallD1.config", vt_config, NULL) < 0 ||
                    sd_bus_add_object_vtable(b, NULL, FWD_ZONE_CONFIG_PATH, "org.fedoraproject.FirewallD1.config.zone",
                                             vt_config_zone, NULL) < 0 ||
                    sd_bus_start(b) < 0)
                        _exit(1);
                for (;;) {
                        int r = sd_bus_process(b, NULL);
                        if (r < 0)
                                break;
                        if (r > 0)
                                continue;
                        if (sd_bus_wait(b, UINT64_MAX) < 0)
                                break;
                }
                sd_bus_flush_close_unref(b);
        }
}

typedef struct Fixture {
        char root[64];
        char sock[108];
        char *address;
        pid_t fake_pid;
        Recorder rec;
        Answers *answers;
        const DistroProfile *profile;
} Fixture;

static void start_fake(Fixture *f) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

        assert_true(fd >= 0);
        snprintf(f->sock, sizeof(f->sock), "%s/fwd.sock", f->root);
        snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", f->sock);
        assert_int_equal(bind(fd, (struct sockaddr *) &sa, sizeof(sa)), 0);
        assert_int_equal(listen(fd, 8), 0);
        f->fake_pid = fork();
        assert_true(f->fake_pid >= 0);
        if (f->fake_pid == 0)
                fake_firewalld(fd);
        close(fd);
        assert_true(asprintf(&f->address, "unix:path=%s", f->sock) > 0);
}

/* The stand-in's services (runtime or permanent), as one line, through the same API. */
static char *fake_services(Fixture *f, bool permanent) {
        sd_bus *b = NULL;
        sd_bus_message *reply = NULL;
        sd_bus_error e = SD_BUS_ERROR_NULL;
        char **v = NULL, *s = strdup("");

        assert_int_equal(sd_bus_new(&b), 0);
        assert_true(sd_bus_set_address(b, f->address) >= 0);
        assert_true(sd_bus_start(b) >= 0);
        if (permanent)
                assert_true(sd_bus_call_method(b, "org.fedoraproject.FirewallD1", FWD_ZONE_CONFIG_PATH,
                                               "org.fedoraproject.FirewallD1.config.zone", "getServices",
                                               &e, &reply, "") >= 0);
        else
                assert_true(sd_bus_call_method(b, "org.fedoraproject.FirewallD1", FWD_PATH,
                                               "org.fedoraproject.FirewallD1.zone", "getServices",
                                               &e, &reply, "s", "public") >= 0);
        assert_true(sd_bus_message_read_strv(reply, &v) >= 0);
        for (char **x = v; *x; x++) {
                char *n;
                assert_true(asprintf(&n, "%s%s%s", s, *s ? " " : "", *x) > 0);
                free(s);
                s = n;
        }
        strv_free(v);
        sd_bus_message_unref(reply);
        sd_bus_error_free(&e);
        sd_bus_flush_close_unref(b);
        return s;
}

/* --- the temporary root --- */

static char *path_in(const Fixture *f, const char *p) {
        char *s;
        assert_true(asprintf(&s, "%s%s", f->root, p) > 0);
        return s;
}

static void mkdirs(const char *path) {
        _cleanup_free_ char *p = strdup(path);
        for (char *s = p + 1; *s; s++)
                if (*s == '/') {
                        *s = '\0';
                        (void) mkdir(p, 0755);
                        *s = '/';
                }
}

static void put(const Fixture *f, const char *path, const char *content, mode_t mode) {
        _cleanup_free_ char *full = path_in(f, path);
        AtomicWriteOptions o = { .set_mode = true, .mode = mode };
        mkdirs(full);
        assert_int_equal(atomic_write_file(full, content, strlen(content), &o, NULL), 0);
        assert_int_equal(chmod(full, mode), 0);
}

static char *get(const Fixture *f, const char *path) {
        _cleanup_free_ char *full = path_in(f, path);
        char *data = NULL;
        size_t size;
        if (read_file_bounded(full, 1 << 24, &data, &size) < 0)
                return NULL;
        return data;
}

static const char jail_conf[] =
        "[DEFAULT]\nbackend = auto\n\n[postfix]\nmode = more\n\n"
        "[postfix-sasl]\nfilter = postfix[mode=auth]\nport = smtp,465,submission\n\n[dovecot]\nport = pop3,imap\n";

static void make_root(Fixture *f, const char *profile, const char *answers) {
        const char *data = getenv("MXDECK_TEST_DATA");
        _cleanup_free_ char *mpath = NULL, *master = NULL, *err = NULL;
        size_t size;

        snprintf(f->root, sizeof(f->root), "/tmp/test-fw-XXXXXX");
        assert_non_null(mkdtemp(f->root));
        f->profile = distro_profile_by_name(profile);
        assert_non_null(f->profile);
        assert_non_null(data);
        assert_true(asprintf(&mpath, "%s/installer/master.cf", data) > 0);
        assert_int_equal(read_file_bounded(mpath, 1 << 20, &master, &size), 0);
        put(f, "/etc/os-release", streq(profile, "debian") ? "ID=ubuntu\nVERSION_ID=\"24.04\"\n"
                                                           : "ID=rocky\nID_LIKE=\"rhel centos fedora\"\nVERSION_ID=\"9.4\"\n", 0644);
        put(f, "/etc/postfix/master.cf", master, 0644);
        put(f, "/etc/postfix/main.cf", "# mine\nmyhostname = mail.example.test\n", 0644);
        put(f, "/etc/dovecot/dovecot.conf", "!include conf.d/*.conf\n", 0644);
        put(f, "/etc/passwd", "root:x:0:0:root:/root:/bin/bash\n", 0644);
        put(f, "/etc/group", "root:x:0:\n", 0644);
        put(f, "/usr/sbin/postconf", "", 0755);
        put(f, "/usr/sbin/dovecot", "", 0755);
        put(f, "/usr/sbin/nft", "", 0755);
        put(f, "/usr/bin/fail2ban-client", "", 0755);
        put(f, "/etc/fail2ban/jail.conf", jail_conf, 0644);
        put(f, "/etc/fail2ban/jail.d/00-firewalld.conf", "[DEFAULT]\nbanaction = firewallcmd-rich-rules\n", 0644);
        put(f, "/var/log/maillog", "", 0600);
        put(f, "/etc/selinux/config", "# This file controls the state of SELinux\nSELINUX=enforcing\nSELINUXTYPE=targeted\n", 0644);
        /* a certificate and key outside /etc/pki, as [tls] source = files may name */
        _cleanup_free_ char *crt = path_in(f, "/srv/tls/mail.pem"), *key = path_in(f, "/srv/tls/mail.key");
        SpawnResult res = {};
        mkdirs(crt);
        SpawnOptions so = {
                .argv = (const char *const[]) { "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                                                "-keyout", key, "-out", crt, "-subj", "/CN=mail.example.test",
                                                "-days", "30", "-addext", "subjectAltName=DNS:mail.example.test", NULL },
                .timeout_ms = 60000,
        };
        assert_int_equal(spawn_run(&so, &res), 0);
        assert_true(spawn_result_ok(&res));
        spawn_result_done(&res);
        assert_int_equal(chmod(key, 0600), 0);
        if (streq(profile, "debian")) {
                _cleanup_free_ char *st = strdup("");
                static const char *const pk[] = { "postfix", "dovecot-core", "dovecot-imapd",
                                                  "dovecot-pop3d", "dovecot-lmtpd", "fail2ban", NULL };
                for (size_t i = 0; pk[i]; i++) {
                        char *n;
                        assert_true(asprintf(&n, "%sPackage: %s\nStatus: install ok installed\nMaintainer: x\n"
                                                 "Architecture: all\nVersion: 1\nDescription: x\n\n", st, pk[i]) > 0);
                        free(st);
                        st = n;
                }
                put(f, "/var/lib/dpkg/status", st, 0644);
        } else {
                f->rec.rpm_installed = strdup(" postfix dovecot fail2ban ");
                put(f, "/sys/fs/selinux/enforce", "1", 0644);
        }
        assert_int_equal(answers_load_buffer("answers.ini", answers, strlen(answers), &f->answers, &err), 0);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
        return remove(path);
}

static int teardown(void **state) {
        Fixture *f = *state;
        if (!f)
                return 0;
        if (f->fake_pid > 0) {
                kill(f->fake_pid, SIGKILL);
                waitpid(f->fake_pid, NULL, 0);
        }
        (void) nftw(f->root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
        answers_free(f->answers);
        free(f->rec.log);
        free(f->rec.rpm_installed);
        free(f->address);
        free(f);
        return 0;
}

static Installer *installer_for(Fixture *f) {
        Installer *ins = NULL;
        _cleanup_free_ char *err = NULL;
        InstallerOptions o = {
                .root = f->root,
                .answers = f->answers,
                .profile = f->profile,
                .no_live_checks = true,
                .spawn = recorder_spawn,
                .spawn_userdata = &f->rec,
                .firewalld_address = f->address,
                .now = 0, /* the real clock: the certificate made above is valid from now */
        };
        assert_int_equal(installer_new(&o, &ins, &err), 0);
        return ins;
}

static char *normalize(const Fixture *f, const char *s) {
        size_t rl = strlen(f->root);
        char *out = calloc(1, strlen(s) + 1), *o = out;
        assert_non_null(out);
        while (*s) {
                if (strncmp(s, f->root, rl) == 0) {
                        o = stpcpy(o, "ROOT");
                        s += rl;
                } else
                        *o++ = *s++;
        }
        return out;
}

/* The plan's text from the hardening step to the services step. */
static char *plan_of_steps(Fixture *f, Plan *p) {
        _cleanup_free_ char *text = NULL;
        char *from, *to;

        assert_int_equal(plan_render_text(p, false, &text), 0);
        from = strstr(text, "\nhardening: ");
        if (!from)
                fail_msg("no hardening step in the plan:\n%s", text);
        to = strstr(from, "\nservices: ");
        assert_non_null(to);
        to[1] = '\0';
        return normalize(f, from + 1);
}

static void compare_golden(const char *name, const char *got) {
        const char *dir = getenv("MXDECK_TEST_DATA");
        _cleanup_free_ char *path = NULL, *want = NULL;
        size_t size;

        assert_true(asprintf(&path, "%s/installer/%s", dir, name) > 0);
        if (getenv("MXDECK_UPDATE_GOLDEN")) {
                FILE *fp = fopen(path, "we");
                assert_non_null(fp);
                fputs(got, fp);
                fclose(fp);
        }
        assert_int_equal(read_file_bounded(path, 1 << 20, &want, &size), 0);
        if (!streq(want, got)) {
                fprintf(stderr, "golden mismatch for %s\n--- want\n%s\n--- got\n%s\n", name, want, got);
                fail();
        }
}

static bool can_apply(void) {
        _cleanup_free_ char *p = spawn_find_program("postconf");
        return p && geteuid() == 0;
}

static char *apply(Fixture *f, bool want_changes) {
        _cleanup_(installer_freep) Installer *ins = installer_for(f);
        _cleanup_(plan_freep) Plan *p = NULL;
        ApplyResult res = {};
        char *tx;

        assert_int_equal(installer_plan(ins, &p), 0);
        if (plan_has_errors(p)) {
                _cleanup_free_ char *text = NULL;
                assert_int_equal(plan_render_text(p, false, &text), 0);
                fail_msg("the plan has errors:\n%s", text);
        }
        if (plan_has_changes(p) != want_changes) {
                _cleanup_free_ char *text = NULL;
                assert_int_equal(plan_render_text(p, false, &text), 0);
                fail_msg("the plan %s changes:\n%s", want_changes ? "has no" : "has", text);
        }
        assert_int_equal(installer_apply(ins, p, &res), 0);
        if (res.failed_step)
                fail_msg("%s: %s", res.failed_step, strempty(res.error));
        tx = res.transaction ? strdup(res.transaction) : NULL;
        apply_result_done(&res);
        return tx;
}

/* How many actions a fresh plan has for one step. */
static size_t step_actions(Fixture *f, const char *step) {
        _cleanup_(installer_freep) Installer *ins = installer_for(f);
        _cleanup_(plan_freep) Plan *p = NULL;

        assert_int_equal(installer_plan(ins, &p), 0);
        for (size_t i = 0; i < p->n_steps; i++)
                if (streq(p->steps[i].step->name, step))
                        return p->steps[i].n_actions + p->steps[i].n_managed;
        fail_msg("no step %s in the plan", step);
        return 0;
}

static const char answers_rhel[] =
        "[server]\nhostname = mail.example.test\ndomain = example.test\n"
        "[tls]\nsource = files\ncert_file = /srv/tls/mail.pem\nkey_file = /srv/tls/mail.key\n"
        "[firewall]\nbackend = firewalld\nplaintext = yes\n"
        "[hardening]\nfail2ban = yes\n";

/* RHEL: firewalld over D-Bus, fail2ban, anvil limits, SELinux contexts for a certificate
 * outside /etc/pki. */
static void test_rhel_firewalld(void **state) {
        Fixture *f = calloc(1, sizeof(Fixture));
        _cleanup_free_ char *golden = NULL, *tx = NULL, *rt = NULL, *perm = NULL, *maincf = NULL,
                            *dropin = NULL, *conf_before = NULL;

        assert_non_null(f);
        *state = f;
        make_root(f, "rhel", answers_rhel);
        start_fake(f);
        {
                _cleanup_(installer_freep) Installer *ins = installer_for(f);
                _cleanup_(plan_freep) Plan *p = NULL;
                assert_int_equal(installer_plan(ins, &p), 0);
                golden = plan_of_steps(f, p);
                compare_golden("plan-rhel-firewalld-hardening.ref", golden);
                /* planning runs nothing but the package queries */
                assert_null(strstr(f->rec.log ? f->rec.log : "", "nft"));
                assert_null(strstr(f->rec.log ? f->rec.log : "", "semanage"));
                assert_null(strstr(f->rec.log ? f->rec.log : "", "fail2ban-client"));
        }
        /* the plan only reads firewalld */
        rt = fake_services(f, false);
        assert_string_equal(rt, "ssh imaps");
        free(rt);

        if (!can_apply())
                skip(); /* needs the real postconf and root (see the top) */
        maincf = get(f, "/etc/postfix/main.cf");
        tx = apply(f, true);
        assert_non_null(tx);
        rt = fake_services(f, false);
        perm = fake_services(f, true);
        assert_string_equal(rt, "ssh imaps smtp smtp-submission smtps pop3s imap pop3");
        assert_string_equal(perm, "ssh dhcpv6-client smtp smtp-submission smtps imaps pop3s imap pop3");
        dropin = get(f, "/etc/fail2ban/jail.d/mxdeck.conf");
        assert_non_null(dropin);
        assert_non_null(strstr(dropin, "[postfix-sasl]\nenabled = true\nlogpath = /var/log/maillog\n"));
        assert_null(strstr(dropin, "filter =")); /* jail.conf defines the jail already */
        assert_null(strstr(dropin, "banaction")); /* 00-firewalld.conf's ban action stays */
        assert_non_null(strstr(f->rec.log, "semanage fcontext -a -t cert_t /srv/tls/mail\\.pem\n"));
        assert_non_null(strstr(f->rec.log, "semanage fcontext -a -t cert_t /srv/tls/mail\\.key\n"));
        _cleanup_free_ char *rc = NULL;
        assert_true(asprintf(&rc, "restorecon -v %s/srv/tls/mail.key\n", f->root) > 0);
        assert_non_null(strstr(f->rec.log, rc));
        assert_non_null(strstr(f->rec.log, "fail2ban-client start\n"));
        free(maincf);
        maincf = get(f, "/etc/postfix/main.cf");
        assert_non_null(strstr(maincf, "\nsmtpd_client_connection_rate_limit = 10\n"));
        assert_non_null(strstr(maincf, "\nsmtpd_hard_error_limit = 20\n"));

        /* again: nothing to change (the semanage rule is now in file_contexts.local, as
         * semanage would have written it) */
        put(f, "/etc/selinux/targeted/contexts/files/file_contexts.local",
            "/srv/tls/mail\\.pem    system_u:object_r:cert_t:s0\n/srv/tls/mail\\.key    system_u:object_r:cert_t:s0\n", 0644);
        assert_int_equal(step_actions(f, "firewall"), 0);
        assert_int_equal(step_actions(f, "hardening"), 0);

        /* rollback: exactly what was added goes; the administrator's imaps stays */
        free(f->rec.log);
        f->rec.log = NULL;
        assert_int_equal(journal_rollback(f->root, tx, recorder_spawn, &f->rec, NULL, NULL), 0);
        free(rt);
        free(perm);
        rt = fake_services(f, false);
        perm = fake_services(f, true);
        assert_string_equal(rt, "ssh imaps");
        assert_string_equal(perm, "ssh dhcpv6-client");
        assert_null(get(f, "/etc/fail2ban/jail.d/mxdeck.conf"));
        assert_non_null(strstr(f->rec.log, "semanage fcontext -d /srv/tls/mail\\.pem\n"));
        assert_non_null(strstr(f->rec.log, "fail2ban-client stop\n"));
        conf_before = get(f, "/etc/postfix/main.cf");
        assert_string_equal(conf_before, "# mine\nmyhostname = mail.example.test\n");
}

static const char answers_nft[] =
        "[server]\nhostname = mail.example.test\ndomain = example.test\n"
        "[firewall]\nbackend = nftables\n"
        "[hardening]\nrate_limits = no\n";

/* RHEL: nftables through /etc/sysconfig/nftables.conf; an input chain with policy drop is
 * warned about. */
static void test_rhel_nftables(void **state) {
        Fixture *f = calloc(1, sizeof(Fixture));
        _cleanup_free_ char *golden = NULL, *tx = NULL, *after = NULL, *restored = NULL, *load = NULL;
        static const char sysconfig[] =
                "# Uncomment the include statement here to load the default config sample\n"
                "# in /etc/nftables for nftables service.\n\n"
                "#include \"/etc/nftables/main.nft\"\n\n"
                "table inet filter {\n\tchain input {\n\t\ttype filter hook input priority 0; policy drop;\n"
                "\t\ttcp dport 22 accept\n\t}\n}";  /* no newline at the end */

        assert_non_null(f);
        *state = f;
        make_root(f, "rhel", answers_nft);
        put(f, "/etc/sysconfig/nftables.conf", sysconfig, 0600);
        {
                _cleanup_(installer_freep) Installer *ins = installer_for(f);
                _cleanup_(plan_freep) Plan *p = NULL;
                assert_int_equal(installer_plan(ins, &p), 0);
                golden = plan_of_steps(f, p);
                assert_false(plan_has_errors(p));
                compare_golden("plan-rhel-nftables.ref", golden);
        }
        if (!can_apply())
                skip();
        tx = apply(f, true);
        after = get(f, "/etc/sysconfig/nftables.conf");
        assert_true(startswith(after, sysconfig));
        assert_string_equal(after + strlen(sysconfig),
                            "\n# mxdeck: the mail server's ports (mxdeck rollback removes this)\n"
                            "include \"/etc/nftables/mxdeck.nft\"\n");
        _cleanup_free_ char *full = path_in(f, "/etc/sysconfig/nftables.conf");
        struct stat st;
        assert_int_equal(stat(full, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0600);
        assert_true(asprintf(&load, "nft -f %s/etc/nftables/mxdeck.nft\n", f->root) > 0);
        assert_non_null(strstr(f->rec.log, load));
        /* a second plan changes nothing in the firewall (the services step would start
         * the daemons again: nothing runs in a temporary root) */
        assert_int_equal(step_actions(f, "firewall"), 0);
        free(f->rec.log);
        f->rec.log = NULL;
        assert_int_equal(journal_rollback(f->root, tx, recorder_spawn, &f->rec, NULL, NULL), 0);
        restored = get(f, "/etc/sysconfig/nftables.conf");
        assert_string_equal(restored, sysconfig);
        assert_null(get(f, "/etc/nftables/mxdeck.nft"));
        assert_non_null(strstr(f->rec.log, "nft delete table inet mxdeck\n"));
}

static const char answers_ufw[] =
        "[server]\nhostname = mail.example.test\ndomain = example.test\n"
        "[hardening]\nrate_limits = no\n";

/* Ubuntu's ufw (auto-detected; recorded: ufw cannot run here): only the ports it does not
 * allow yet are added, and rollback deletes exactly those. */
static void test_ufw(void **state) {
        Fixture *f = calloc(1, sizeof(Fixture));
        _cleanup_free_ char *golden = NULL, *tx = NULL;

        assert_non_null(f);
        *state = f;
        make_root(f, "debian", answers_ufw);
        put(f, "/usr/sbin/ufw", "", 0755);
        put(f, "/etc/ufw/ufw.conf", "# /etc/ufw/ufw.conf\nENABLED=yes\nLOGLEVEL=low\n", 0644);
        put(f, "/etc/ufw/user.rules", "*filter\n### tuple ### allow tcp 22 0.0.0.0/0 any 0.0.0.0/0 in\n"
                                      "### tuple ### allow tcp 25 0.0.0.0/0 any 0.0.0.0/0 in\nCOMMIT\n", 0640);
        {
                _cleanup_(installer_freep) Installer *ins = installer_for(f);
                _cleanup_(plan_freep) Plan *p = NULL;
                assert_int_equal(installer_plan(ins, &p), 0);
                golden = plan_of_steps(f, p);
                assert_false(plan_has_errors(p));
                compare_golden("plan-ufw.ref", golden);
        }
        if (!can_apply())
                skip();
        tx = apply(f, true);
        assert_non_null(strstr(f->rec.log, "ufw allow 587/tcp\nufw allow 465/tcp\nufw allow 993/tcp\nufw allow 995/tcp\n"));
        assert_null(strstr(f->rec.log, "ufw allow 25/tcp"));
        /* what the recorded ufw would have written: then nothing is left to add */
        put(f, "/etc/ufw/user.rules", "*filter\n### tuple ### allow tcp 22 0.0.0.0/0 any 0.0.0.0/0 in\n"
                                      "### tuple ### allow tcp 25 0.0.0.0/0 any 0.0.0.0/0 in\n"
                                      "### tuple ### allow tcp 587 0.0.0.0/0 any 0.0.0.0/0 in\n"
                                      "### tuple ### allow tcp 465 0.0.0.0/0 any 0.0.0.0/0 in\n"
                                      "### tuple ### allow tcp 993 0.0.0.0/0 any 0.0.0.0/0 in\n"
                                      "### tuple ### allow tcp 995 0.0.0.0/0 any 0.0.0.0/0 in\nCOMMIT\n", 0640);
        assert_int_equal(step_actions(f, "firewall"), 0);
        free(f->rec.log);
        f->rec.log = NULL;
        assert_int_equal(journal_rollback(f->root, tx, recorder_spawn, &f->rec, NULL, NULL), 0);
        assert_non_null(strstr(f->rec.log, "ufw delete allow 995/tcp\nufw delete allow 993/tcp\n"
                                           "ufw delete allow 465/tcp\nufw delete allow 587/tcp\n"));
        assert_null(strstr(f->rec.log, "ufw delete allow 25/tcp"));
}

/* An explicit backend that is not there is an error in the plan, not a failure later. */
static void test_missing_backend(void **state) {
        Fixture *f = calloc(1, sizeof(Fixture));
        _cleanup_free_ char *text = NULL;

        assert_non_null(f);
        *state = f;
        make_root(f, "rhel", answers_rhel);
        /* no stand-in: the socket does not exist */
        assert_true(asprintf(&f->address, "unix:path=%s/nothing.sock", f->root) > 0);
        _cleanup_(installer_freep) Installer *ins = installer_for(f);
        _cleanup_(plan_freep) Plan *p = NULL;
        assert_int_equal(installer_plan(ins, &p), 0);
        assert_true(plan_has_errors(p));
        assert_int_equal(plan_render_text(p, false, &text), 0);
        assert_non_null(strstr(text, "firewalld does not answer"));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_teardown(test_rhel_firewalld, teardown),
                cmocka_unit_test_teardown(test_rhel_nftables, teardown),
                cmocka_unit_test_teardown(test_ufw, teardown),
                cmocka_unit_test_teardown(test_missing_backend, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
