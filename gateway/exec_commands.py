"""``--exec-asap``, ``--exec-pre-app``, ``--exec-post-app``: shell commands at fixed points.

uWSGI runs each command with ``/bin/sh -c`` and waits for it; a command that exits
non-zero stops the startup (or fails the app's load), and the log says which, in
uWSGI's words (``running "CMD" (pre app)...``, ``command "CMD" exited with non-zero
code: N``), so existing ini files keep their meaning.  The commands inherit the
server's environment (after ``--env``/``--unenv``), working directory and output.
"""

from __future__ import annotations

import subprocess
import sys
from typing import Iterable

from gateway.logs import gen_log

__all__ = ["CommandFailed", "run_commands"]


class CommandFailed(Exception):
    """A hook command exited non-zero (or could not run); ``str()`` says which and how."""


def run_commands(commands: Iterable[str], phase: str) -> None:
    """Run each command through the shell, in order, waiting for each.

    ``phase`` names the point for the log (``asap``, ``pre app``, ``post app``).  Raises
    :class:`CommandFailed` at the first command that does not exit 0; the ones after it
    do not run.
    """
    for command in commands:
        gen_log.info('running "%s" (%s)...', command, phase)
        sys.stdout.flush()
        sys.stderr.flush()
        try:
            code = subprocess.call(command, shell=True, stdin=subprocess.DEVNULL)
        except OSError as e:
            raise CommandFailed('command "%s" could not run: %s' % (command, e.strerror or e)) from None
        if code != 0:
            how = "killed by signal %d" % -code if code < 0 else "exited with non-zero code: %d" % code
            raise CommandFailed('command "%s" %s' % (command, how))
