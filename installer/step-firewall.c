/* Step firewall: the mail ports reachable through the firewall that is active, and nothing
 * else touched.
 *
 * - firewalld (RHEL's default): over its D-Bus API (org.fedoraproject.FirewallD1), never
 *   firewall-cmd. The services missing from the default zone are added, runtime and
 *   permanent, one journalled call each; rollback removes exactly those.
 * - nftables: a table of mxdeck's own (table inet mxdeck) in its own file, included from
 *   the persistent configuration (Debian /etc/nftables.conf, RHEL
 *   /etc/sysconfig/nftables.conf) and loaded with nft -f; rollback deletes the table and
 *   restores the files byte for byte.
 * - ufw (Ubuntu): `ufw allow PORT/tcp` for the ports it does not allow yet; rollback runs
 *   `ufw delete allow PORT/tcp` for those.
 * - none: a note naming the ports that must be reachable.
 *
 * The plan shows the rules as a diff before anything is applied. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <systemd/sd-bus.h>

#include "buscall.h"
#include "macro.h"
#include "steps.h"

#define FWD_NAME "org.fedoraproject.FirewallD1"
#define FWD_PATH "/org/fedoraproject/FirewallD1"
#define FWD_CONFIG_PATH "/org/fedoraproject/FirewallD1/config"
#define FWD_IFACE "org.fedoraproject.FirewallD1"
#define FWD_ZONE_IFACE "org.fedoraproject.FirewallD1.zone"
#define FWD_CONFIG_IFACE "org.fedoraproject.FirewallD1.config"
#define FWD_CONFIG_ZONE_IFACE "org.fedoraproject.FirewallD1.config.zone"
#define BUS_TIMEOUT_MS 25000

#define NFT_TABLE "mxdeck"

typedef enum Backend {
        BACKEND_FIREWALLD,
        BACKEND_NFTABLES,
        BACKEND_UFW,
        BACKEND_NONE,
} Backend;

/* --- firewalld over D-Bus --- */

static sd_bus *bus_unref(sd_bus *b) {
        return b ? sd_bus_flush_close_unref(b) : NULL;
}
static inline void bus_unrefp(sd_bus **b) { *b = bus_unref(*b); }

/* The system bus, or (tests) a direct connection to a stand-in firewalld at address. */
static int fwd_open(const char *address, sd_bus **ret) {
        sd_bus *b = NULL;
        int r;

        if (!address)
                return sd_bus_open_system(ret);
        r = sd_bus_new(&b);
        if (r < 0)
                return r;
        r = sd_bus_set_address(b, address);
        if (r >= 0)
                r = sd_bus_start(b);
        if (r < 0) {
                sd_bus_unref(b);
                return r;
        }
        *ret = b;
        return 0;
}

static int fwd_error(const sd_bus_error *e, int r, char **ret_error) {
        if (ret_error && asprintf(ret_error, "firewalld: %s", e && e->message ? e->message : strerror(-r)) < 0)
                *ret_error = NULL;
        return r;
}

/* Calls member on path/iface with the string arguments in args (and a trailing int32 0
 * when timeout is set: zone.addService's timeout); the reply in *ret_reply. */
static int fwd_call(sd_bus *bus, const char *path, const char *iface, const char *member,
                    const char *const *args, bool timeout, sd_bus_message **ret_reply, char **ret_error) {
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        sd_bus_message *m = NULL;
        int r;

        r = sd_bus_message_new_method_call(bus, &m, FWD_NAME, path, iface, member);
        for (size_t i = 0; r >= 0 && args && args[i]; i++)
                r = sd_bus_message_append_basic(m, 's', args[i]);
        if (r >= 0 && timeout)
                r = sd_bus_message_append(m, "i", (int32_t) 0);
        if (r < 0) {
                sd_bus_message_unref(m);
                return fwd_error(NULL, r, ret_error);
        }
        r = bus_call(bus, m, deadline_in_ms(BUS_TIMEOUT_MS), &e, ret_reply);
        sd_bus_message_unref(m);
        return r < 0 ? fwd_error(&e, r, ret_error) : 0;
}

static int fwd_call_string(sd_bus *bus, const char *path, const char *iface, const char *member,
                           const char *const *args, char type, char **ret, char **ret_error) {
        sd_bus_message *reply = NULL;
        const char *s;
        int r;

        r = fwd_call(bus, path, iface, member, args, false, &reply, ret_error);
        if (r < 0)
                return r;
        r = sd_bus_message_read_basic(reply, type, &s);
        if (r > 0 && !(*ret = strdup(s)))
                r = -ENOMEM;
        sd_bus_message_unref(reply);
        return r < 0 ? fwd_error(NULL, r, ret_error) : r == 0 ? fwd_error(NULL, -EBADMSG, ret_error) : 0;
}

static int fwd_call_strv(sd_bus *bus, const char *path, const char *iface, const char *member,
                         const char *const *args, char ***ret, char **ret_error) {
        sd_bus_message *reply = NULL;
        int r;

        r = fwd_call(bus, path, iface, member, args, false, &reply, ret_error);
        if (r < 0)
                return r;
        r = sd_bus_message_read_strv(reply, ret);
        sd_bus_message_unref(reply);
        return r < 0 ? fwd_error(NULL, r, ret_error) : 0;
}

static int fwd_config_zone_path(sd_bus *bus, const char *zone, char **ret, char **ret_error) {
        return fwd_call_string(bus, FWD_CONFIG_PATH, FWD_CONFIG_IFACE, "getZoneByName",
                               (const char *const[]) { zone, NULL }, 'o', ret, ret_error);
}

/* The services of a zone, runtime or permanent. */
static int fwd_services(sd_bus *bus, const char *zone, bool permanent, char ***ret, char **ret_error) {
        _cleanup_free_ char *path = NULL;
        int r;

        if (!permanent)
                return fwd_call_strv(bus, FWD_PATH, FWD_ZONE_IFACE, "getServices",
                                     (const char *const[]) { zone, NULL }, ret, ret_error);
        r = fwd_config_zone_path(bus, zone, &path, ret_error);
        if (r < 0)
                return r;
        return fwd_call_strv(bus, path, FWD_CONFIG_ZONE_IFACE, "getServices", NULL, ret, ret_error);
}

/* Adds or removes one service in a zone, runtime or permanent. */
static int fwd_change(sd_bus *bus, const char *zone, const char *service, bool permanent, bool add,
                      char **ret_error) {
        sd_bus_message *reply = NULL;
        int r;

        if (permanent) {
                _cleanup_free_ char *path = NULL;
                r = fwd_config_zone_path(bus, zone, &path, ret_error);
                if (r >= 0)
                        r = fwd_call(bus, path, FWD_CONFIG_ZONE_IFACE, add ? "addService" : "removeService",
                                     (const char *const[]) { service, NULL }, false, &reply, ret_error);
        } else
                r = fwd_call(bus, FWD_PATH, FWD_ZONE_IFACE, add ? "addService" : "removeService",
                             (const char *const[]) { zone, service, NULL }, add, &reply, ret_error);
        sd_bus_message_unref(reply);
        return r;
}

/* Is firewalld answering? Only on the live system (root /) or a test's stand-in. */
static int fwd_connect(const Installer *ins, sd_bus **ret) {
        const char *address = installer_firewalld_address(ins);
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        sd_bus *bus = NULL;
        int r;

        if (!address && !streq(installer_root(ins), "/"))
                return -EHOSTDOWN;
        r = fwd_open(address, &bus);
        if (r < 0)
                return r;
        if (!address) {
                /* on the bus: is the name owned (firewalld is not bus-activated) */
                sd_bus_message *reply = NULL;
                int owned = 0;
                r = sd_bus_call_method(bus, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                       "org.freedesktop.DBus", "NameHasOwner", &e, &reply, "s", FWD_NAME);
                if (r >= 0)
                        r = sd_bus_message_read(reply, "b", &owned);
                sd_bus_message_unref(reply);
                if (r >= 0 && !owned)
                        r = -EHOSTDOWN;
                if (r < 0) {
                        bus_unref(bus);
                        return r;
                }
        }
        *ret = bus;
        return 0;
}

/* --- the step --- */

typedef struct Port {
        const char *service;
        int port;
} Port;

static bool exists_under(const Installer *ins, const char *path) {
        _cleanup_free_ char *full = installer_path(ins, path);
        return full && access(full, F_OK) >= 0;
}

static const char *nft_persistent(const Installer *ins) {
        return installer_profile(ins)->family == DISTRO_RHEL ? "/etc/sysconfig/nftables.conf" : "/etc/nftables.conf";
}

static const char *nft_own_file(const Installer *ins) {
        return installer_profile(ins)->family == DISTRO_RHEL ? "/etc/nftables/mxdeck.nft" : "/etc/nftables.d/mxdeck.nft";
}

static bool ufw_enabled(const Installer *ins) {
        _cleanup_free_ char *conf = NULL;
        size_t size;

        if (!exists_under(ins, "/usr/sbin/ufw") || installer_read(ins, "/etc/ufw/ufw.conf", &conf, &size) < 0)
                return false;
        for (char *l = conf; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
                if (startswith(l, "ENABLED=yes"))
                        return true;
        return false;
}

/* Active: installed, with the persistent configuration that nftables.service loads at
 * boot, and that service enabled (Debian: sysinit.target, RHEL: multi-user.target). */
static bool nft_active(const Installer *ins) {
        return (exists_under(ins, "/usr/sbin/nft") || exists_under(ins, "/sbin/nft")) &&
               exists_under(ins, nft_persistent(ins)) &&
               (exists_under(ins, "/etc/systemd/system/sysinit.target.wants/nftables.service") ||
                exists_under(ins, "/etc/systemd/system/multi-user.target.wants/nftables.service"));
}

static int join_ports(const Port *ports, size_t n, const char *sep, bool names, char **ret) {
        _cleanup_free_ char *s = strdup("");

        for (size_t i = 0; s && i < n; i++) {
                char *x;
                if ((names ? asprintf(&x, "%s%s%d (%s)", s, i ? sep : "", ports[i].port, ports[i].service)
                           : asprintf(&x, "%s%s%d", s, i ? sep : "", ports[i].port)) < 0)
                        return -ENOMEM;
                free(s);
                s = x;
        }
        if (!s)
                return -ENOMEM;
        *ret = TAKE_PTR(s);
        return 0;
}

static bool strv_has(char *const *v, const char *s) {
        for (; v && *v; v++)
                if (streq(*v, s))
                        return true;
        return false;
}

static int lines_of(char *const *v, char **ret, size_t *ret_size) {
        _cleanup_free_ char *s = strdup("");
        size_t len = 0;

        for (; s && v && *v; v++) {
                size_t l = strlen(*v);
                char *n = realloc(s, len + l + 2);
                if (!n)
                        return -ENOMEM;
                s = n;
                memcpy(s + len, *v, l);
                s[len + l] = '\n';
                len += l + 1;
                s[len] = '\0';
        }
        if (!s)
                return -ENOMEM;
        *ret = TAKE_PTR(s);
        *ret_size = len;
        return 0;
}

/* The services as the zone has them and as they will be, as a diff. */
static int fwd_preview(StepPlan *sp, const char *zone, bool permanent, char **have, const Port *ports, size_t n) {
        _cleanup_strv_free_ char **after = NULL;
        _cleanup_free_ char *old = NULL, *new = NULL, *label = NULL;
        size_t nh = 0, k, os, ns;
        int r;

        while (have && have[nh])
                nh++;
        after = calloc(nh + n + 1, sizeof(char *));
        if (!after)
                return -ENOMEM;
        for (k = 0; k < nh; k++)
                if (!(after[k] = strdup(have[k])))
                        return -ENOMEM;
        for (size_t i = 0; i < n; i++)
                if (!strv_has(have, ports[i].service) && !(after[k++] = strdup(ports[i].service)))
                        return -ENOMEM;
        if (k == nh)
                return 0;
        r = lines_of(have, &old, &os);
        if (r >= 0)
                r = lines_of(after, &new, &ns);
        if (r < 0)
                return r;
        /* shown as a file: "--- a/firewalld/public/services (permanent)" */
        if (asprintf(&label, permanent ? "/firewalld/%s/services (permanent)" : "/firewalld/%s/services (runtime)",
                     zone) < 0)
                return -ENOMEM;
        return step_plan_preview(sp, label, old, os, new, ns, false, NULL);
}

static int plan_firewalld(Installer *ins, StepPlan *sp, sd_bus *bus, const Port *ports, size_t n) {
        _cleanup_free_ char *zone = NULL, *err = NULL;
        const char *address = installer_firewalld_address(ins);
        int r;

        _cleanup_strv_free_ char **known = NULL;
        _cleanup_free_ Port *fports = calloc(n + 1, sizeof(Port));

        if (!fports)
                return -ENOMEM;
        r = fwd_call_string(bus, FWD_PATH, FWD_IFACE, "getDefaultZone", NULL, 's', &zone, &err);
        if (r < 0)
                return step_plan_note(sp, NOTE_ERROR, _("cannot ask firewalld for its default zone: %s"), strempty(err));
        r = fwd_call_strv(bus, FWD_PATH, FWD_IFACE, "listServices", NULL, &known, &err);
        if (r < 0)
                return step_plan_note(sp, NOTE_ERROR, _("cannot ask firewalld for its services: %s"), strempty(err));
        /* firewalld's names: port 587 is "smtp-submission" (older versions: "submission") */
        for (size_t i = 0; i < n; i++) {
                fports[i] = ports[i];
                if (!strv_has(known, ports[i].service) && streq(ports[i].service, "submission") &&
                    strv_has(known, "smtp-submission"))
                        fports[i].service = "smtp-submission";
                if (!strv_has(known, fports[i].service))
                        return step_plan_note(sp, NOTE_ERROR, _("firewalld has no service named %s (port %d): "
                                                                "define it, or choose another backend"),
                                              ports[i].service, ports[i].port);
        }
        ports = fports;
        for (int permanent = 0; permanent < 2; permanent++) {
                _cleanup_strv_free_ char **have = NULL;
                r = fwd_services(bus, zone, permanent, &have, &err);
                if (r < 0)
                        return step_plan_note(sp, NOTE_ERROR, _("cannot read the services of firewalld zone %s: %s"),
                                              zone, strempty(err));
                r = fwd_preview(sp, zone, permanent, have, ports, n);
                if (r < 0)
                        return r;
                for (size_t i = 0; i < n; i++) {
                        _cleanup_free_ char *summary = NULL, *data = NULL;
                        json_t *j;
                        if (strv_has(have, ports[i].service))
                                continue;
                        if (asprintf(&summary, permanent ? _("firewalld: add service %s to zone %s (permanent)")
                                                         : _("firewalld: add service %s to zone %s (runtime)"),
                                     ports[i].service, zone) < 0)
                                return -ENOMEM;
                        j = json_pack("{s:s, s:s, s:b}", "zone", zone, "service", ports[i].service,
                                      "permanent", permanent);
                        if (j && address)
                                json_object_set_new(j, "address", json_string(address));
                        data = j ? json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
                        json_decref(j);
                        if (!data)
                                return -ENOMEM;
                        r = step_plan_call(sp, summary, data);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

/* The table in its own file: loaded as one transaction that replaces an older version. */
static int nft_table_text(const Port *ports, size_t n, char **ret) {
        _cleanup_free_ char *list = NULL, *names = NULL;
        int r;

        r = join_ports(ports, n, ", ", false, &list);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                char *x;
                if (asprintf(&x, "%s%s%s", strempty(names), i ? " " : "", ports[i].service) < 0)
                        return -ENOMEM;
                free(names);
                names = x;
        }
        if (asprintf(ret,
                     "# Written by mxdeck: the mail server's ports (%s).\n"
                     "# 'mxdeck rollback' removes it; edits here are reported as conflicts.\n"
                     "table inet " NFT_TABLE "\n"
                     "delete table inet " NFT_TABLE "\n"
                     "table inet " NFT_TABLE " {\n"
                     "\tchain input {\n"
                     "\t\ttype filter hook input priority filter - 1; policy accept;\n"
                     "\t\ttcp dport { %s } accept comment \"mxdeck: mail\"\n"
                     "\t}\n"
                     "}\n", strempty(names), list) < 0)
                return -ENOMEM;
        return 0;
}

/* An input chain of the administrator's that drops by default: our accept does not
 * override it (every base chain on the hook must accept). */
static bool nft_drops_input(const char *conf) {
        for (const char *p = conf; p && (p = strstr(p, "hook input")); p++) {
                const char *end = strchr(p, '}');
                const char *pol = strstr(p, "policy drop");
                if (pol && (!end || pol < end))
                        return true;
        }
        return false;
}

static int plan_nftables(Installer *ins, StepPlan *sp, const Port *ports, size_t n) {
        const char *conf_path = nft_persistent(ins), *own = nft_own_file(ins);
        _cleanup_free_ char *conf = NULL, *table = NULL, *include = NULL, *new = NULL, *old_own = NULL;
        size_t size = 0, old_own_size = 0;
        bool new_file;
        int r;

        r = installer_read_planned(ins, conf_path, &conf, &size);
        if (r < 0 && r != -ENOENT)
                return r;
        r = nft_table_text(ports, n, &table);
        if (r < 0)
                return r;
        r = installer_read_planned(ins, own, &old_own, &old_own_size);
        if (r < 0 && r != -ENOENT)
                return r;
        new_file = r == -ENOENT;
        size_t before = sp->n_actions;
        r = step_plan_file(ins, sp, own, table, strlen(table), 0644, NULL, NULL, false);
        if (r < 0)
                return r;
        bool own_changes = sp->n_actions > before;

        if (asprintf(&include, "include \"%s\"\n", own) < 0)
                return -ENOMEM;
        if (!conf || !strstr(conf, include)) {
                size_t il = strlen(include);
                const char *comment = "# mxdeck: the mail server's ports (mxdeck rollback removes this)\n";
                size_t cl = strlen(comment);
                bool nl = size > 0 && conf[size - 1] != '\n';
                new = malloc(size + nl + cl + il + 1);
                if (!new)
                        return -ENOMEM;
                if (size)
                        memcpy(new, conf, size);
                if (nl)
                        new[size] = '\n';
                memcpy(new + size + nl, comment, cl);
                memcpy(new + size + nl + cl, include, il + 1);
                /* the include line is mxdeck's: an administrator removing it is a conflict */
                ManagedDecision d;
                _cleanup_free_ char *key = NULL, *what = NULL;
                if (asprintf(&key, "nftables:include:%s", conf_path) < 0 ||
                    asprintf(&what, "%s include of %s", conf_path, own) < 0)
                        return -ENOMEM;
                r = installer_managed_decide(ins, sp, key, what, NULL, "yes", &d);
                if (r < 0)
                        return r;
                if (d != MANAGED_KEEP) {
                        _cleanup_free_ char *summary = NULL;
                        r = step_plan_preview(sp, conf_path, conf, size, new, size + nl + cl + il, false, NULL);
                        if (r >= 0)
                                r = installer_set_planned(ins, conf_path, new, size + nl + cl + il);
                        if (r < 0)
                                return r;
                        if (asprintf(&summary, conf ? _("include %s from %s") : _("create %s including %s"),
                                     conf ? own : conf_path, conf ? conf_path : own) < 0)
                                return -ENOMEM;
                        /* keep the mode of an existing file (0755 on Debian: it is a script) */
                        r = step_plan_write(sp, summary, conf_path, new, size + nl + cl + il,
                                            conf ? 0755 : 0644, NULL, NULL);
                        if (r < 0)
                                return r;
                        if (conf) {
                                _cleanup_free_ char *full = installer_path(ins, conf_path);
                                struct stat st;
                                if (full && stat(full, &st) >= 0)
                                        sp->actions[sp->n_actions - 1].mode = st.st_mode & 07777;
                        }
                        r = step_plan_managed(sp, key, "yes");
                        if (r < 0)
                                return r;
                }
        }
        if (nft_drops_input(conf)) {
                _cleanup_free_ char *list = NULL;
                r = join_ports(ports, n, ", ", false, &list);
                if (r < 0)
                        return r;
                r = step_plan_note(sp, NOTE_WARNING,
                                   _("%s has an input chain that drops by default: its drop wins over the accept in "
                                     "table inet %s. Accept tcp dport { %s } in that chain too."),
                                   conf_path, NFT_TABLE, list);
                if (r < 0)
                        return r;
        }
        if (own_changes) {
                if (installer_offline(ins))
                        return step_plan_note(sp, NOTE_INFO, _("the table is loaded at the next boot (nftables.service): "
                                                               "a root other than / is not loaded now"));
                _cleanup_free_ char *full = installer_path(ins, own);
                if (!full)
                        return -ENOMEM;
                const char *load[] = { "nft", "-f", full, NULL };
                const char *drop[] = { "nft", "delete", "table", "inet", NFT_TABLE, NULL };
                Action *a;
                /* a new table is deleted by rollback; an older version of it is loaded again
                 * after its file came back */
                r = step_plan_run(sp, NULL, load, (const char *const[]) { NULL }, new_file ? drop : load, &a);
                if (r < 0)
                        return r;
                a->undo_late = !new_file;
        }
        return 0;
}

/* ufw keeps its rules in user.rules / user6.rules as "### tuple ### allow tcp 25 ..." */
static bool ufw_allows(const char *rules, int port) {
        char pat[64];

        snprintf(pat, sizeof(pat), "### tuple ### allow tcp %d 0.0.0.0/0 any 0.0.0.0/0 in", port);
        return rules && strstr(rules, pat);
}

static int plan_ufw(Installer *ins, StepPlan *sp, const Port *ports, size_t n) {
        _cleanup_free_ char *rules = NULL, *old = NULL, *new = NULL;
        size_t size;
        int r;

        r = installer_read(ins, "/etc/ufw/user.rules", &rules, &size);
        if (r < 0 && r != -ENOENT)
                return r;
        old = strdup("");
        new = strdup("");
        if (!old || !new)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *rule = NULL, *line = NULL;
                char *x;
                bool have = ufw_allows(rules, ports[i].port);
                if (asprintf(&rule, "%d/tcp", ports[i].port) < 0 ||
                    asprintf(&line, "allow %s (%s)\n", rule, ports[i].service) < 0)
                        return -ENOMEM;
                if (have) {
                        if (asprintf(&x, "%s%s", old, line) < 0)
                                return -ENOMEM;
                        free(old);
                        old = x;
                }
                if (asprintf(&x, "%s%s", new, line) < 0)
                        return -ENOMEM;
                free(new);
                new = x;
                if (have)
                        continue;
                r = step_plan_run(sp, NULL, (const char *const[]) { "ufw", "allow", rule, NULL },
                                  (const char *const[]) { NULL },
                                  (const char *const[]) { "ufw", "delete", "allow", rule, NULL }, NULL);
                if (r < 0)
                        return r;
        }
        if (streq(old, new))
                return 0;
        return step_plan_preview(sp, "/ufw/rules (mail ports)", old, strlen(old), new, strlen(new), false, NULL);
}

static int inspect(Installer *ins, StepPlan *sp) {
        const Answers *a = installer_answers(ins);
        _cleanup_(bus_unrefp) sd_bus *bus = NULL;
        _cleanup_free_ Port *ports = NULL;
        size_t n = 0;
        Backend b;
        int r;

        for (char **s = a->firewall_services; *s; s++)
                n++;
        ports = calloc(n + 1, sizeof(Port));
        if (!ports)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++)
                ports[i] = (Port) { a->firewall_services[i], answers_firewall_service_port(a->firewall_services[i]) };

        switch (a->firewall_backend) {
        case ANSWERS_FIREWALL_FIREWALLD:
                r = fwd_connect(ins, &bus);
                if (r < 0)
                        return step_plan_note(sp, NOTE_ERROR,
                                              r == -EHOSTDOWN && !streq(installer_root(ins), "/") && !installer_firewalld_address(ins)
                                              ? _("[firewall] backend = firewalld needs the live system: firewalld "
                                                  "cannot be reached for another root")
                                              : _("[firewall] backend = firewalld, but firewalld does not answer on the "
                                                  "system bus (%s): start it (systemctl enable --now firewalld) or "
                                                  "choose another backend"), strerror(-r));
                b = BACKEND_FIREWALLD;
                break;
        case ANSWERS_FIREWALL_NFTABLES:
                if (!exists_under(ins, "/usr/sbin/nft") && !exists_under(ins, "/sbin/nft"))
                        return step_plan_note(sp, NOTE_ERROR, _("[firewall] backend = nftables, but nft is not "
                                                                "installed (package nftables)"));
                b = BACKEND_NFTABLES;
                break;
        case ANSWERS_FIREWALL_UFW:
                if (!exists_under(ins, "/usr/sbin/ufw"))
                        return step_plan_note(sp, NOTE_ERROR, _("[firewall] backend = ufw, but ufw is not installed"));
                if (!ufw_enabled(ins))
                        return step_plan_note(sp, NOTE_ERROR, _("[firewall] backend = ufw, but ufw is not enabled: "
                                                                "rules added now would not apply (ufw enable, "
                                                                "after allowing ssh)"));
                b = BACKEND_UFW;
                break;
        case ANSWERS_FIREWALL_NONE:
                b = BACKEND_NONE;
                break;
        default:
                /* auto: the first that is active */
                if (fwd_connect(ins, &bus) >= 0)
                        b = BACKEND_FIREWALLD;
                else if (ufw_enabled(ins))
                        b = BACKEND_UFW;
                else if (nft_active(ins))
                        b = BACKEND_NFTABLES;
                else
                        b = BACKEND_NONE;
                break;
        }

        switch (b) {
        case BACKEND_FIREWALLD:
                r = step_plan_note(sp, NOTE_INFO, _("firewall: firewalld"));
                return r < 0 ? r : plan_firewalld(ins, sp, bus, ports, n);
        case BACKEND_NFTABLES:
                r = step_plan_note(sp, NOTE_INFO, _("firewall: nftables (table inet %s)"), NFT_TABLE);
                return r < 0 ? r : plan_nftables(ins, sp, ports, n);
        case BACKEND_UFW:
                r = step_plan_note(sp, NOTE_INFO, _("firewall: ufw"));
                return r < 0 ? r : plan_ufw(ins, sp, ports, n);
        default: {
                _cleanup_free_ char *list = NULL;
                r = join_ports(ports, n, ", ", true, &list);
                if (r < 0)
                        return r;
                return step_plan_note(sp, a->firewall_backend == ANSWERS_FIREWALL_NONE ? NOTE_INFO : NOTE_WARNING,
                                      _("no firewall is managed here (none of firewalld, ufw, nftables is active): "
                                        "these TCP ports must be reachable from the Internet, in every firewall in "
                                        "front of this host: %s"), list);
        }
        }
}

static int call(Installer *ins, const Action *a, char **ret_error) {
        _cleanup_(bus_unrefp) sd_bus *bus = NULL;
        json_t *j = json_loads(a->data, 0, NULL);
        const char *zone, *service, *address = NULL;
        int permanent = 0, r;

        if (!j || json_unpack(j, "{s:s, s:s, s:b, s?s}", "zone", &zone, "service", &service,
                              "permanent", &permanent, "address", &address) < 0) {
                json_decref(j);
                return -EINVAL;
        }
        r = address ? fwd_open(address, &bus) : fwd_connect(ins, &bus);
        if (r < 0)
                fwd_error(NULL, r, ret_error);
        else
                r = fwd_change(bus, zone, service, permanent, true, ret_error);
        json_decref(j);
        return r;
}

static int undo(const char *root, const char *data, char **ret_error) {
        _cleanup_(bus_unrefp) sd_bus *bus = NULL;
        json_t *j = json_loads(data, 0, NULL);
        const char *zone, *service, *address = NULL;
        int permanent = 0, r;

        if (!j || json_unpack(j, "{s:s, s:s, s:b, s?s}", "zone", &zone, "service", &service,
                              "permanent", &permanent, "address", &address) < 0) {
                json_decref(j);
                return -EINVAL;
        }
        r = fwd_open(address, &bus);
        if (r < 0)
                fwd_error(NULL, r, ret_error);
        else
                r = fwd_change(bus, zone, service, permanent, false, ret_error);
        json_decref(j);
        return r;
}

static int verify(Installer *ins, StepPlan *sp) {
        SpawnResult res = {};
        int r;

        /* the table mxdeck loaded must be there */
        if (installer_offline(ins) || !installer_live_checks(ins))
                return 0;
        for (size_t i = 0; i < sp->n_actions; i++) {
                const Action *a = &sp->actions[i];
                if (a->kind != ACTION_RUN || !streq(a->argv[0], "nft"))
                        continue;
                r = installer_run_quiet(ins, sp->step->name,
                                        (const char *const[]) { "nft", "list", "table", "inet", NFT_TABLE, NULL }, &res);
                if (r < 0)
                        return r;
                r = spawn_result_ok(&res) ? 0 : -ENOENT;
                spawn_result_done(&res);
                return r;
        }
        return 0;
}

const Step step_firewall = {
        .name = "firewall",
        .title = N_("the mail ports open in the firewall"),
        .inspect = inspect,
        .verify = verify,
        .call = call,
        .undo = undo,
};
