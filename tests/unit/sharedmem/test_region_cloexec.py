"""A shared region's file is never inherited across exec (a vassal's binary reload, the app's
own os.exec*): only forked children share it."""

from __future__ import annotations

import os
import subprocess
import sys

from gateway.sharedmem.region import Region


def test_the_regions_fd_is_close_on_exec():
    region = Region("cloexec-test", 4096)
    try:
        assert os.get_inheritable(region.fd) is False
        # an exec'ed program with every fd kept would still not see it
        out = subprocess.run([sys.executable, "-c", "import os; print(os.path.exists('/proc/self/fd/%d'))" % region.fd],
                             close_fds=False, capture_output=True, text=True, timeout=30)
        assert out.stdout.strip() == "False"
    finally:
        region.close()
