"""Reports the identity the app runs under (for ``--uid``/``--gid``), and checks that a
module the server imports lazily still works after the drop (a threaded request)."""

import os


def application(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"uid=%d gid=%d euid=%d groups=%r" % (os.getuid(), os.getgid(), os.geteuid(), os.getgroups())]
