"""Where the project's read-only ``shared/`` directory is (the real Erlang test node tool,
reference samples), for the tests that need it.

It sits beside the checkout (``<repo>/../shared``).  A clone made elsewhere (``git clone
/work/main /tmp/x``) finds it beside the repository it was cloned from (``remote.origin.url``
when that is a local path); ``GATEWAY_SHARED_DIR`` overrides both.
"""

from __future__ import annotations

import os
import subprocess

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def shared_dir() -> str:
    """The first of the candidates that exists (else the default, beside the checkout: the
    tests then fail naming that path)."""
    default = os.path.normpath(os.path.join(REPO, "..", "shared"))
    candidates = [os.environ.get("GATEWAY_SHARED_DIR", ""), default]
    try:
        origin = subprocess.run(["git", "-C", REPO, "config", "--get", "remote.origin.url"], capture_output=True,
                                text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        origin = ""
    if origin.startswith("file://"):
        origin = origin[len("file://"):]
    if origin.startswith("/"):
        candidates.append(os.path.normpath(os.path.join(origin, "..", "shared")))
    for path in candidates:
        if path and os.path.isdir(path):
            return path
    return default
