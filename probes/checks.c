/* The check catalog and the concurrent runner. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "checks.h"
#include "macro.h"

static const Check catalog[] = {
        { "service", "service.postfix", check_service_postfix },
        { "service", "service.dovecot", check_service_dovecot },
        { "config", "config.postfix", check_config_postfix },
        { "config", "config.dovecot", check_config_dovecot },
        { "config", "config.relay", check_config_relay },
        { "config", "config.domains", check_config_domains },
        { "config", "config.tables", check_config_tables },
        { "config", "config.sasl", check_config_sasl },
        { "cert", "cert.files", check_cert_files },
        { "port tls smtp imap pop3", "port.smtp", check_mail_listeners },
        { "dns dnsbl", "dns.mx", check_dns },
        { "system", "system.hostname", check_system_hostname },
        { "system", "system.disk", check_system_disk },
};

/* Every group of the catalog in DESIGN.md, including those whose checks come later. */
static const char *const known_groups[] = {
        "service", "config", "port", "tls", "smtp", "imap", "pop3", "dns", "dnsbl", "queue", "log", "cert", "system",
};

const Check *checks_table(size_t *ret_n) {
        *ret_n = ELEMENTSOF(catalog);
        return catalog;
}

static bool word_in(const char *list, const char *word) {
        size_t l = strlen(word);
        for (const char *p = list; *p;) {
                size_t n = strcspn(p, " ");
                if (n == l && strncmp(p, word, l) == 0)
                        return true;
                p += n;
                p += strspn(p, " ");
        }
        return false;
}

bool check_group_is_known(const char *group, bool *ret_available) {
        bool known = false, available = false;
        for (size_t i = 0; i < ELEMENTSOF(known_groups); i++)
                known = known || streq(group, known_groups[i]);
        for (size_t i = 0; i < ELEMENTSOF(catalog); i++)
                available = available || word_in(catalog[i].groups, group);
        if (ret_available)
                *ret_available = available;
        return known;
}

#define MAX_WORKERS 8

typedef struct Job {
        const Check *check;
        FindingList findings;
        int error;
} Job;

typedef struct Pool {
        const CheckContext *ctx;
        Job *jobs;
        size_t n_jobs;
        size_t next;
        pthread_mutex_t lock;
} Pool;

static void *worker(void *userdata) {
        Pool *p = userdata;

        for (;;) {
                pthread_mutex_lock(&p->lock);
                size_t i = p->next < p->n_jobs ? p->next++ : p->n_jobs;
                pthread_mutex_unlock(&p->lock);
                if (i >= p->n_jobs)
                        return NULL;
                Job *j = &p->jobs[i];
                j->error = j->check->run(p->ctx, &j->findings);
        }
}

static bool selected(const Check *c, const char *const *only) {
        if (!only)
                return true;
        for (const char *const *g = only; *g; g++)
                if (word_in(c->groups, *g))
                        return true;
        return false;
}

int checks_run(const CheckContext *ctx, FindingList *ret) {
        const char *const *only = ctx->only;
        Job jobs[ELEMENTSOF(catalog)] = {};
        Pool pool = { .ctx = ctx, .jobs = jobs };
        pthread_t threads[MAX_WORKERS];
        size_t n_threads = 0;
        int r = 0;

        for (size_t i = 0; i < ELEMENTSOF(catalog); i++)
                if (selected(&catalog[i], only))
                        jobs[pool.n_jobs++].check = &catalog[i];

        pthread_mutex_init(&pool.lock, NULL);
        for (size_t i = 0; i < MIN(pool.n_jobs, (size_t) MAX_WORKERS); i++) {
                if (pthread_create(&threads[n_threads], NULL, worker, &pool) != 0)
                        break;
                n_threads++;
        }
        if (n_threads == 0)
                worker(&pool); /* no thread could be made: do it all here */
        for (size_t i = 0; i < n_threads; i++)
                pthread_join(threads[i], NULL);
        pthread_mutex_destroy(&pool.lock);

        /* Catalog order, whatever finished first. */
        for (size_t i = 0; i < pool.n_jobs; i++) {
                Job *j = &jobs[i];
                if (j->error < 0) {
                        Finding *f = findings_addf(&j->findings, j->check->id, "", STATUS_UNKNOWN,
                                                   _("the check could not run: %s"), strerror(-j->error));
                        if (!f && r == 0)
                                r = -ENOMEM;
                }
                int k = findings_move(ret, &j->findings);
                if (k < 0 && r == 0)
                        r = k;
                findings_done(&j->findings);
        }
        return r;
}
