"""``--stats-push file[:path=FILE,separator=TEXT,freq=SECONDS]``: the stats document, appended to a file.

uWSGI's ``stats_pusher_file``: every ``freq`` seconds (``--stats-pusher-default-freq`` by
default) the whole stats document (what ``--stats`` serves, tab-indented or
``--stats-minified``) is appended to ``path`` (``uwsgi.stats`` in the master's working
directory by default), then ``separator`` (two newlines by default).  The file is opened
for each push (``O_APPEND``, created ``0640``), so it can be rotated or truncated at any
time.  A failure (a missing directory, no permission, a full disk) is logged through a
:class:`~gateway.pushers.schedule.FailureLog` and the next period tries again.

The write is a plain blocking ``write(2)`` in the master's loop, as uWSGI's pusher thread
does it: a local file takes microseconds; do not point it at a network filesystem that can
hang.
"""

from __future__ import annotations

import os

from gateway.logs import gen_log
from gateway.pushers.schedule import FailureLog


class FilePusher:
    """One ``file`` pusher: :meth:`push` appends a rendered document."""

    name = "file"

    def __init__(self, path: str, separator: str) -> None:
        self.path = path
        self.label = path
        self.separator = separator.encode("utf-8")
        self.log = FailureLog()
        self.pushed = 0

    def push(self, document: bytes, now: float) -> bool:
        """Append ``document`` and the separator; False (and a rate-limited line) on failure."""
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o640)
            try:
                os.write(fd, document + self.separator)  # one write: readers never see half a separator
            finally:
                os.close(fd)
        except OSError as e:
            missed = self.log.failure(now)
            if missed is not None:
                gen_log.warning("[uwsgi-stats-pusher] file %s: %s%s", self.path, e.strerror or e,
                                " (%d more failures not logged)" % missed if missed else "")
            return False
        self.pushed += 1
        if self.log.success():
            gen_log.info("[uwsgi-stats-pusher] file %s works again", self.path)
        return True
