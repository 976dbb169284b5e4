#!/usr/bin/env python3
"""Runs a command in a pseudo-terminal and drives it with a script read from
stdin, one step a line, so that a shell test can type at a program that
checks isatty() and press Ctrl-C for real (the terminal's line discipline
turns \\x03 into SIGINT, as a keyboard does).

  send TEXT       types TEXT (Python escapes: \\r is Enter, \\x03 Ctrl-C)
  expect REGEX    waits until REGEX matches the output after the previous
                  match (\\r removed; `$` is the end of what came so far, so
                  `> $` means "waiting at a prompt")
  sleep SECONDS   waits
  exit STATUS     waits for the program to end with STATUS (a number, or
                  "signal N")

usage: drive-tty.py COMMAND [ARGS...] <script

Each wait fails after DRIVE_TIMEOUT seconds (default 10), so a program that
hangs fails the test instead of blocking it. On failure the step and the
whole output are printed and the exit status is 1; the program is killed.
"""
import codecs
import os
import pty
import re
import select
import signal
import sys
import time

TIMEOUT = float(os.environ.get("DRIVE_TIMEOUT", "10"))


class Session:
    def __init__(self, argv):
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            try:
                os.execvp(argv[0], argv)
            finally:
                os._exit(127)
        self.output = ""
        self.pos = 0  # where the next expect starts looking
        self.closed = False
        self.status = None

    def read(self, seconds):
        """Reads what the program writes for up to `seconds` (less if
        something arrives); False once the terminal is closed."""
        if self.closed:
            time.sleep(seconds)
            return False
        ready, _, _ = select.select([self.fd], [], [], seconds)
        if ready:
            try:
                data = os.read(self.fd, 65536)
            except OSError:  # EIO: every copy of the terminal is closed
                data = b""
            if not data:
                self.closed = True
                return False
            self.output += data.decode("utf-8", "replace").replace("\r", "")
        return True

    def expect(self, pattern):
        regex = re.compile(pattern)
        deadline = time.monotonic() + TIMEOUT
        while True:
            m = regex.search(self.output, self.pos)
            if m:
                self.pos = m.end()
                return
            left = deadline - time.monotonic()
            if left <= 0:
                fail(self, "no match for %r after %g s" % (pattern, TIMEOUT))
            self.read(min(left, 0.1))

    def wait_exit(self, expected):
        deadline = time.monotonic() + TIMEOUT
        while self.status is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid != 0:
                if os.WIFEXITED(status):
                    self.status = str(os.WEXITSTATUS(status))
                else:
                    self.status = "signal %d" % os.WTERMSIG(status)
                break
            if time.monotonic() > deadline:
                fail(self, "still running after %g s" % TIMEOUT)
            self.read(0.05)
        while self.read(0.05):
            pass
        if self.status != expected:
            fail(self, "exit status %s, expected %s" % (self.status, expected))

    def kill(self):
        if self.status is None:
            try:
                os.kill(self.pid, signal.SIGKILL)
                os.waitpid(self.pid, 0)
            except OSError:
                pass


def fail(session, why):
    sys.stderr.write("FAIL: %s\n--- output ---\n%s\n--- end ---\n"
                     % (why, session.output))
    session.kill()
    sys.exit(1)


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    steps = sys.stdin.read().splitlines()
    session = Session(sys.argv[1:])
    for step in steps:
        verb, _, arg = step.partition(" ")
        if verb == "send":
            text = codecs.decode(arg, "unicode_escape").encode("utf-8")
            os.write(session.fd, text)
        elif verb == "expect":
            session.expect(arg)
        elif verb == "sleep":
            deadline = time.monotonic() + float(arg)
            while time.monotonic() < deadline:
                session.read(deadline - time.monotonic())
        elif verb == "exit":
            session.wait_exit(arg)
        elif verb != "" and not verb.startswith("#"):
            fail(session, "unknown step %r" % step)
    session.kill()


main()
