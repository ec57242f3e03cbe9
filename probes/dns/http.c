/* curl's multi "socket action" interface fed by fiber_poll: curl tells us which sockets it
 * wants and when it needs a timeout call; we wait for exactly that through the loop. */
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include "fiber.h"
#include "http.h"
#include "macro.h"

#define HTTP_MAX_SOCKETS 8 /* one transfer: curl uses one or two (happy eyeballs) */

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
        if (!fiber_current()) {
                *ret_code = curl_easy_perform(easy);
                return 0;
        }

        CURLM *multi = curl_multi_init();
        Watch w = { .timer_ms = -1 };
        int r = 0, running = 1;
        bool done = false;
        if (!multi)
                return -ENOMEM;
        curl_multi_setopt(multi, CURLMOPT_SOCKETFUNCTION, on_socket);
        curl_multi_setopt(multi, CURLMOPT_SOCKETDATA, &w);
        curl_multi_setopt(multi, CURLMOPT_TIMERFUNCTION, on_timer);
        curl_multi_setopt(multi, CURLMOPT_TIMERDATA, &w);
        if (curl_multi_add_handle(multi, easy) != CURLM_OK) {
                curl_multi_cleanup(multi);
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
                        curl_multi_socket_action(multi, CURL_SOCKET_TIMEOUT, 0, &running);
                } else {
                        /* Copy first: curl may change the watch list from inside the call. */
                        size_t n = w.n;
                        for (size_t i = 0; i < n; i++) {
                                if (!p[i].revents)
                                        continue;
                                int mask = (p[i].revents & POLLIN ? CURL_CSELECT_IN : 0) |
                                           (p[i].revents & POLLOUT ? CURL_CSELECT_OUT : 0) |
                                           (p[i].revents & (POLLERR | POLLHUP) ? CURL_CSELECT_ERR : 0);
                                curl_multi_socket_action(multi, p[i].fd, mask, &running);
                        }
                }
                CURLMsg *m;
                int left;
                while ((m = curl_multi_info_read(multi, &left)))
                        if (m->msg == CURLMSG_DONE && m->easy_handle == easy) {
                                *ret_code = m->data.result;
                                done = true;
                        }
        }
        curl_multi_remove_handle(multi, easy);
        curl_multi_cleanup(multi);
        return r;
}
