/* One HTTPS transfer with libcurl, driven by the fiber's loop (curl's multi interface). */
#pragma once

#include <curl/curl.h>

#include "deadline.h"

/* Performs the configured easy handle like curl_easy_perform, but waits only through
 * fiber_poll: in a fiber the loop runs other fibers meanwhile. Ends at the deadline
 * (CURLE_OPERATION_TIMEDOUT). *ret_code gets curl's result; returns 0, -ECANCELED when the
 * fiber was cancelled, or a negative errno when curl could not be set up. */
int http_perform(CURL *easy, Deadline deadline, CURLcode *ret_code);
