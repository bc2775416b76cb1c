"""How gateway starts itself again: a vassal of the Emperor, a binary reload, a fallback config.

``python -m gateway`` puts the working directory first on ``sys.path``; a vassal runs in its
vassal directory, where other users may be able to write, so a ``selectors.py`` or
``gateway.py`` there would be imported by the server.  :func:`self_command` starts the
interpreter without the working directory on ``sys.path`` (``-P`` on Python 3.11+, an
explicit ``runpy`` launch before).
"""

from __future__ import annotations

import sys
from typing import List

__all__ = ["self_command"]

#: Python < 3.11 has no ``-P``: drop the working directory (``''`` for ``-c``) by hand
_LAUNCH = "import runpy, sys; del sys.path[0]; runpy.run_module('gateway', run_name='__main__', alter_sys=True)"


def self_command(python: str = sys.executable) -> List[str]:
    """The argv prefix that runs gateway with ``python`` (the arguments follow)."""
    if sys.version_info >= (3, 11):
        return [python, "-P", "-m", "gateway"]
    return [python, "-c", _LAUNCH]
