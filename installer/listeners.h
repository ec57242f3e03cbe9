/* Who listens on a TCP port: /proc/net/tcp and tcp6 parsed (a pure parser, fuzzed), and
 * the process holding a socket found through /proc/PID/fd. For preflight: ports 25 and 587
 * free, or already Postfix's. */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define LISTENERS_MAX 16

/* The socket inodes in LISTEN state on local port `port` in the text of /proc/net/tcp or
 * tcp6 (header line first). Malformed lines are skipped. At most `max` are returned in
 * inodes; *ret_n is how many. */
void listeners_parse(const char *data, size_t size, uint16_t port, uint64_t *inodes, size_t max,
                     size_t *ret_n);

typedef struct Listener {
        uint64_t inode;
        pid_t pid;           /* 0: not found (another pid namespace, or gone) */
        char comm[17];       /* /proc/PID/comm, terminal-safe; "" when pid is 0 */
} Listener;

/* The listeners on port in this network namespace (IPv4 and IPv6), with their processes.
 * Returns how many (up to max), or negative errno when /proc/net/tcp cannot be read. */
int listeners_on_port(uint16_t port, Listener *ret, size_t max);
