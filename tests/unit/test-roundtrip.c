/* The round trip's reply readers against hostile servers: a reply that never ends (endless
 * "250-" lines, endless untagged IMAP lines), a line without CRLF, garbage codes and a
 * server trickling bytes: each ends with an error, bounded in lines, bytes and time. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "deadline.h"
#include "macro.h"
#include "mailproto.h"
#include "roundtrip.h"

/* A peer that writes head once, then repeat for ever (until the reader goes away), each
 * write after gap_ms when gap_ms > 0. The reader's end is non-blocking, as the round
 * trip's is. */
static pid_t hostile_peer(int *ret_fd, const char *head, const char *repeat, int gap_ms) {
        int sv[2];
        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
        assert_int_equal(fcntl(sv[0], F_SETFL, fcntl(sv[0], F_GETFL) | O_NONBLOCK), 0);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                close(sv[0]);
                signal(SIGPIPE, SIG_IGN);
                if (head && write(sv[1], head, strlen(head)) < 0)
                        _exit(0);
                for (;;) {
                        if (gap_ms > 0)
                                (void) poll(NULL, 0, gap_ms); /* the peer is slow on purpose */
                        if (!repeat || write(sv[1], repeat, strlen(repeat)) < 0)
                                break;
                }
                if (!repeat) /* says its piece, then waits for the reader to hang up */
                        (void) read(sv[1], &(char) { 0 }, 1);
                _exit(0);
        }
        close(sv[1]);
        *ret_fd = sv[0];
        return pid;
}

static void peer_done(pid_t pid, int fd) {
        close(fd);
        assert_int_equal(waitpid(pid, NULL, 0), pid);
}

static int smtp_from(const char *head, const char *repeat, int gap_ms, uint64_t budget_ms) {
        int fd;
        pid_t pid = hostile_peer(&fd, head, repeat, gap_ms);
        MailConn m = { .fd = fd, .deadline_usec = deadline_in_ms(budget_ms).usec };
        int r = roundtrip_smtp_reply(&m);
        peer_done(pid, fd);
        return r;
}

static int imap_from(const char *head, const char *repeat, uint64_t budget_ms) {
        int fd;
        pid_t pid = hostile_peer(&fd, head, repeat, 0);
        MailConn m = { .fd = fd, .deadline_usec = deadline_in_ms(budget_ms).usec };
        int r = roundtrip_imap_reply(&m, "a1", NULL, NULL);
        peer_done(pid, fd);
        return r;
}

static void test_smtp(void **state) {
        /* a good reply still reads */
        assert_int_equal(smtp_from("250-mail.example\r\n250-PIPELINING\r\n250 8BITMIME\r\n", NULL, 0, 5000), 250);
        assert_int_equal(smtp_from("354 go ahead\r\n", NULL, 0, 5000), 354);
        /* endless continuation lines: stopped by the cap on lines */
        assert_int_equal(smtp_from("250-hello\r\n", "250-more\r\n", 0, 60000), -MAILPROTO_E_TOO_MANY_LINES);
        assert_int_equal(smtp_from(NULL, "250-more\r\n", 0, 60000), -MAILPROTO_E_TOO_MANY_LINES);
        /* no newline ever: stopped by the cap on a line's length */
        assert_int_equal(smtp_from("250 ", "xxxxxxxxxxxxxxxx", 0, 60000), -MAILPROTO_E_LINE_TOO_LONG);
        /* garbage codes: atoi made "25x" 25 and "abc" 0 */
        assert_int_equal(smtp_from("25x ok\r\n", NULL, 0, 5000), -MAILPROTO_E_MALFORMED);
        assert_int_equal(smtp_from("abc\r\n", NULL, 0, 5000), -MAILPROTO_E_MALFORMED);
        assert_int_equal(smtp_from("250-a\r\n354 b\r\n", NULL, 0, 5000), -MAILPROTO_E_MALFORMED);
        assert_int_equal(smtp_from("2500 too many digits\r\n", NULL, 0, 5000), -MAILPROTO_E_MALFORMED);
        /* a peer trickling one byte at a time never lets a read wait: the deadline ends it */
        assert_int_equal(smtp_from("250-", "x", 20, 300), -ETIMEDOUT);
        /* a silent peer: the deadline too */
        assert_int_equal(smtp_from(NULL, NULL, 0, 200), -ETIMEDOUT);
}

static void test_imap(void **state) {
        assert_int_equal(imap_from("* 1 EXISTS\r\na1 OK done\r\n", NULL, 5000), 0);
        assert_int_equal(imap_from("a1 NO [AUTHENTICATIONFAILED] no\r\n", NULL, 5000), -EPERM);
        /* endless untagged lines */
        assert_int_equal(imap_from(NULL, "* 1 EXISTS\r\n", 60000), -MAILPROTO_E_TOO_MANY_LINES);
        /* no newline */
        assert_int_equal(imap_from("* ", "xxxxxxxxxxxxxxxx", 60000), -MAILPROTO_E_LINE_TOO_LONG);
        /* another tag, garbage, a continuation where none was asked for */
        assert_int_equal(imap_from("a2 OK not yours\r\n", NULL, 5000), -MAILPROTO_E_MALFORMED);
        assert_int_equal(imap_from("\x1b]0;x\a\r\n", NULL, 5000), -MAILPROTO_E_MALFORMED);
        assert_int_equal(imap_from("+ more\r\n", NULL, 5000), -MAILPROTO_E_MALFORMED);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_smtp),
                cmocka_unit_test(test_imap),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
