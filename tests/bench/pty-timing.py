#!/usr/bin/env python3
"""Times a full-screen program on a pseudo-terminal, as a user's terminal sees it (for
tests/bench/bench-dashboard.sh): start to the first complete frame (the function-key bar
at the bottom, the last row a curses refresh writes), and key press to the answer on the
screen (e.g. F1 to the help text), while the program does its other work.

pty-timing.py first  RUNS MARK -- CMD...              start -> MARK on screen, RUNS times
pty-timing.py key    RUNS KEYS MARK BACK READY [PRE] -- CMD...
                                                     after READY is on screen: PRE (may be
                                                     ''), then KEYS -> the screen's answer
                                                     is complete; BACK, and quiet again

PRE_WAIT (environment, seconds, default 0.05): the pause between PRE and KEYS.
MARK and READY are regular expressions over the output with escape sequences removed.
A key's answer is timed to the read that completes MARK in what the key caused (curses
writes a frame at once). curses sends only what changed on the screen, cell by cell, so
MARK should be an alternation of short words of the new text. Prints one line:
"min median max" in milliseconds. The window is 80x24, TERM=xterm-256color.
"""
import fcntl
import os
import pty
import re
import select
import signal
import struct
import sys
import termios
import time

ESC = re.compile(rb"\x1b(\[[0-9;?<>=]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)|[()][0-9A-Za-z]|[=>78cDEHMNOZ])")


def spawn(cmd):
    pid, fd = pty.fork()
    if pid == 0:
        os.environ["TERM"] = "xterm-256color"
        os.environ.pop("NO_COLOR", None)
        os.execvp(cmd[0], cmd)
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    return pid, fd


def wait_for(fd, pattern, start, deadline=30.0, buf=None):
    """Reads until pattern shows in the text (escapes removed); returns (seconds, text)."""
    rx = re.compile(pattern.encode())
    data = b"" if buf is None else buf
    while True:
        left = start + deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("no %r within %.0f s; screen text: %r" % (pattern, deadline, ESC.sub(b"", data)[-300:]))
        r, _, _ = select.select([fd], [], [], left)
        if not r:
            continue
        try:
            chunk = os.read(fd, 65536)
        except OSError:
            raise TimeoutError("the program ended before %r" % pattern)
        data += chunk
        if rx.search(ESC.sub(b"", data)):
            return time.monotonic() - start, data


def drain(fd, quiet=0.3, limit=5.0):
    end = time.monotonic() + limit
    while time.monotonic() < end and select.select([fd], [], [], quiet)[0]:
        os.read(fd, 65536)


def stop(pid, fd):
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    end = time.monotonic() + 5
    while time.monotonic() < end:
        try:
            select.select([fd], [], [], 0.05) and os.read(fd, 65536)
        except OSError:
            pass
        if os.waitpid(pid, os.WNOHANG)[0]:
            break
    else:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    os.close(fd)


def stats(v):
    v = sorted(v)
    return "%.1f %.1f %.1f" % (v[0] * 1000, v[len(v) // 2] * 1000, v[-1] * 1000)


def main():
    mode, runs = sys.argv[1], int(sys.argv[2])
    cmd = sys.argv[sys.argv.index("--") + 1:]
    args = sys.argv[3:sys.argv.index("--")]
    keys = lambda s: s.encode().decode("unicode_escape").encode("latin-1")
    times = []
    if mode == "first":
        for _ in range(runs):
            t0 = time.monotonic()
            pid, fd = spawn(cmd)
            t, _ = wait_for(fd, args[0], t0)
            times.append(t)
            stop(pid, fd)
    else:
        k, mark, back, mark2 = args[0], args[1], args[2], args[3]
        pre = args[4] if len(args) > 4 else ""
        pid, fd = spawn(cmd)
        wait_for(fd, mark2, time.monotonic())
        for _ in range(runs):
            if pre:
                os.write(fd, keys(pre))
                time.sleep(float(os.environ.get("PRE_WAIT", "0.05")))  # the key that starts the work is read first
                try:
                    while select.select([fd], [], [], 0)[0]:
                        os.read(fd, 65536)
                except OSError:
                    pass
            t0 = time.monotonic()
            os.write(fd, keys(k))
            t, _ = wait_for(fd, mark, t0)
            times.append(t)
            os.write(fd, keys(back))
            drain(fd)
        stop(pid, fd)
    print(stats(times))


try:
    main()
except TimeoutError as e:
    print("failed: %s" % str(e)[:200])
