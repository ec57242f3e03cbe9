/* curl's multi "socket action" interface fed by fiber_poll: curl tells us which sockets it
 * wants and when it needs a timeout call; we wait for exactly that through the loop. */
#include <dlfcn.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fiber.h"
#include "http.h"
#include "macro.h"

#define HTTP_MAX_SOCKETS 8 /* one transfer: curl uses one or two (happy eyeballs) */

/* The soname of libcurl's ABI since 7.16 (2006). */
#define CURL_SONAME "libcurl.so.4"

static CurlApi curl_api;
static const CurlApi *curl_loaded;
static const char *curl_error;
static char curl_error_buf[256];
static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

/* dlerror's text lasts only until the next dl call: keep a copy. */
static void set_dl_error(void) {
        const char *e = dlerror();
        snprintf(curl_error_buf, sizeof(curl_error_buf), "%s", e ? e : "dlopen failed");
        curl_error = curl_error_buf;
}

static void curl_load(void) {
        /* RTLD_LOCAL: its symbols stay out of the global namespace; never dlclose'd (curl
         * keeps global state, and a process runs its checks more than once). */
        void *dl = dlopen(CURL_SONAME, RTLD_NOW | RTLD_LOCAL);
        if (!dl) {
                set_dl_error();
                return;
        }
        CurlApi a = {};
        static const struct {
                const char *name;
                size_t offset;
        } syms[] = {
#define SYM(field, name) { name, offsetof(CurlApi, field) }
                SYM(easy_init, "curl_easy_init"),
                SYM(easy_setopt, "curl_easy_setopt"),
                SYM(easy_perform, "curl_easy_perform"),
                SYM(easy_getinfo, "curl_easy_getinfo"),
                SYM(easy_strerror, "curl_easy_strerror"),
                SYM(easy_cleanup, "curl_easy_cleanup"),
                SYM(slist_append, "curl_slist_append"),
                SYM(slist_free_all, "curl_slist_free_all"),
                SYM(multi_init, "curl_multi_init"),
                SYM(multi_setopt, "curl_multi_setopt"),
                SYM(multi_add_handle, "curl_multi_add_handle"),
                SYM(multi_remove_handle, "curl_multi_remove_handle"),
                SYM(multi_socket_action, "curl_multi_socket_action"),
                SYM(multi_info_read, "curl_multi_info_read"),
                SYM(multi_cleanup, "curl_multi_cleanup"),
#undef SYM
        };
        for (size_t i = 0; i < ELEMENTSOF(syms); i++) {
                void *f = dlsym(dl, syms[i].name);
                if (!f) {
                        set_dl_error();
                        return;
                }
                /* POSIX guarantees a function pointer survives the trip through void * */
                memcpy((char *) &a + syms[i].offset, &f, sizeof(f));
        }
        CURLcode (*global_init)(long) = NULL;
        void *gi = dlsym(dl, "curl_global_init");
        if (!gi) {
                set_dl_error();
                return;
        }
        memcpy(&global_init, &gi, sizeof(gi));
        if (global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
                curl_error = "curl_global_init failed";
                return;
        }
        curl_api = a;
        curl_loaded = &curl_api;
}

const CurlApi *http_curl(const char **ret_error) {
        pthread_once(&curl_once, curl_load);
        if (!curl_loaded && ret_error)
                *ret_error = curl_error ? curl_error : "libcurl could not be loaded";
        return curl_loaded;
}

typedef struct Watch {
        curl_socket_t fd[HTTP_MAX_SOCKETS];
        short events[HTTP_MAX_SOCKETS];
        size_t n;
        long timer_ms; /* -1: none */
        bool overflow;
} Watch;

static int on_socket(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp) {
        Watch *w = userp;
        size_t i;
        for (i = 0; i < w->n && w->fd[i] != s; i++)
                ;
        if (what == CURL_POLL_REMOVE) {
                if (i < w->n) {
                        w->fd[i] = w->fd[w->n - 1];
                        w->events[i] = w->events[w->n - 1];
                        w->n--;
                }
                return 0;
        }
        if (i == w->n) {
                if (w->n == HTTP_MAX_SOCKETS) {
                        w->overflow = true;
                        return -1;
                }
                w->fd[w->n++] = s;
        }
        w->events[i] = (short) ((what & CURL_POLL_IN ? POLLIN : 0) | (what & CURL_POLL_OUT ? POLLOUT : 0));
        return 0;
}

static int on_timer(CURLM *multi, long timeout_ms, void *userp) {
        Watch *w = userp;
        w->timer_ms = timeout_ms;
        return 0;
}

int http_perform(CURL *easy, Deadline deadline, CURLcode *ret_code) {
        const CurlApi *c = http_curl(NULL);
        if (!c)
                return -ENOPKG;
        if (!fiber_current()) {
                *ret_code = c->easy_perform(easy);
                return 0;
        }

        CURLM *multi = c->multi_init();
        Watch w = { .timer_ms = -1 };
        int r = 0, running = 1;
        bool done = false;
        if (!multi)
                return -ENOMEM;
        c->multi_setopt(multi, CURLMOPT_SOCKETFUNCTION, on_socket);
        c->multi_setopt(multi, CURLMOPT_SOCKETDATA, &w);
        c->multi_setopt(multi, CURLMOPT_TIMERFUNCTION, on_timer);
        c->multi_setopt(multi, CURLMOPT_TIMERDATA, &w);
        if (c->multi_add_handle(multi, easy) != CURLM_OK) {
                c->multi_cleanup(multi);
                return -ENOMEM;
        }
        *ret_code = CURLE_OPERATION_TIMEDOUT;

        while (!done) {
                if (w.overflow) {
                        *ret_code = CURLE_OUT_OF_MEMORY;
                        break;
                }
                struct pollfd p[HTTP_MAX_SOCKETS];
                for (size_t i = 0; i < w.n; i++)
                        p[i] = (struct pollfd) { .fd = w.fd[i], .events = w.events[i] };
                Deadline until = deadline;
                if (w.timer_ms >= 0)
                        until = deadline_within(deadline, (uint64_t) w.timer_ms);
                if (deadline_passed(deadline))
                        break;
                int k = fiber_poll(p, w.n, until);
                if (k < 0) {
                        r = k;
                        break;
                }
                if (k == 0) {
                        if (deadline_passed(deadline))
                                break;
                        w.timer_ms = -1;
                        c->multi_socket_action(multi, CURL_SOCKET_TIMEOUT, 0, &running);
                } else {
                        /* Copy first: curl may change the watch list from inside the call. */
                        size_t n = w.n;
                        for (size_t i = 0; i < n; i++) {
                                if (!p[i].revents)
                                        continue;
                                int mask = (p[i].revents & POLLIN ? CURL_CSELECT_IN : 0) |
                                           (p[i].revents & POLLOUT ? CURL_CSELECT_OUT : 0) |
                                           (p[i].revents & (POLLERR | POLLHUP) ? CURL_CSELECT_ERR : 0);
                                c->multi_socket_action(multi, p[i].fd, mask, &running);
                        }
                }
                CURLMsg *m;
                int left;
                while ((m = c->multi_info_read(multi, &left)))
                        if (m->msg == CURLMSG_DONE && m->easy_handle == easy) {
                                *ret_code = m->data.result;
                                done = true;
                        }
        }
        c->multi_remove_handle(multi, easy);
        c->multi_cleanup(multi);
        return r;
}
