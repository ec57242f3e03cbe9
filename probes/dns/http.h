/* One HTTPS transfer with libcurl, driven by the fiber's loop (curl's multi interface).
 * libcurl is loaded when the first transfer needs it (dlopen), not at startup: it pulls
 * in some thirty libraries (GnuTLS, Kerberos, LDAP, SSH ...) whose loading and relocation
 * every run of every verb would pay, while only the MTA-STS check makes a request. */
#pragma once

#include <curl/curl.h>

#include "deadline.h"

/* The part of libcurl's API mxdeck uses, resolved from libcurl.so.4. */
typedef struct CurlApi {
        CURL *(*easy_init)(void);
        CURLcode (*easy_setopt)(CURL *curl, CURLoption option, ...);
        CURLcode (*easy_perform)(CURL *curl);
        CURLcode (*easy_getinfo)(CURL *curl, CURLINFO info, ...);
        const char *(*easy_strerror)(CURLcode code);
        void (*easy_cleanup)(CURL *curl);
        struct curl_slist *(*slist_append)(struct curl_slist *list, const char *s);
        void (*slist_free_all)(struct curl_slist *list);
        CURLM *(*multi_init)(void);
        CURLMcode (*multi_setopt)(CURLM *multi, CURLMoption option, ...);
        CURLMcode (*multi_add_handle)(CURLM *multi, CURL *curl);
        CURLMcode (*multi_remove_handle)(CURLM *multi, CURL *curl);
        CURLMcode (*multi_socket_action)(CURLM *multi, curl_socket_t s, int ev_bitmask, int *running_handles);
        CURLMsg *(*multi_info_read)(CURLM *multi, int *msgs_in_queue);
        CURLMcode (*multi_cleanup)(CURLM *multi);
} CurlApi;

/* libcurl, loaded and globally initialised on the first call (thread-safe). NULL when it
 * cannot be loaded; then *ret_error (if given) says why (static text from dlerror, valid
 * for the life of the process). */
const CurlApi *http_curl(const char **ret_error);

/* Performs the configured easy handle like curl_easy_perform, but waits only through
 * fiber_poll: in a fiber the loop runs other fibers meanwhile. Ends at the deadline
 * (CURLE_OPERATION_TIMEDOUT). *ret_code gets curl's result; returns 0, -ECANCELED when the
 * fiber was cancelled, or a negative errno when curl could not be set up. The handle
 * comes from http_curl()'s easy_init, so libcurl is loaded by then. */
int http_perform(CURL *easy, Deadline deadline, CURLcode *ret_code);
