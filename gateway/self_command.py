"""How gateway starts itself again: a vassal of the Emperor, a binary reload, a fallback config.

``python -m gateway`` puts the working directory first on ``sys.path``; a vassal runs in its
vassal directory, where other users may be able to write, so a ``selectors.py`` or
``gateway.py`` there would be imported by the server.  :func:`self_command` starts the
interpreter without the working directory on ``sys.path`` (``-P`` on Python 3.11+, an
explicit ``runpy`` launch before), and :func:`without_cwd_on_path` takes the empty entries
(the working directory again) out of the ``PYTHONPATH`` it is given.
"""

from __future__ import annotations

import os
import sys
from typing import Dict, List

__all__ = ["INTERPRETER", "self_command", "without_cwd_on_path"]

#: The Python that runs gateway, taken before ``--py-sys-executable`` may change the app's
#: ``sys.executable``: what gateway starts itself again with.
INTERPRETER = sys.executable

#: Python < 3.11 has no ``-P``: drop the working directory (``''`` for ``-c``) by hand
_LAUNCH = "import runpy, sys; del sys.path[0]; runpy.run_module('gateway', run_name='__main__', alter_sys=True)"


def self_command(python: str = INTERPRETER) -> List[str]:
    """The argv prefix that runs gateway with ``python`` (the arguments follow)."""
    if sys.version_info >= (3, 11):
        return [python, "-P", "-m", "gateway"]
    return [python, "-c", _LAUNCH]


def without_cwd_on_path(env: Dict[str, str]) -> Dict[str, str]:
    """``env`` with the empty entries of ``PYTHONPATH`` removed: an empty entry (a leading,
    trailing or doubled ``:``) means the working directory, which ``-P`` keeps out."""
    path = env.get("PYTHONPATH")
    if path is not None:
        kept = [entry for entry in path.split(os.pathsep) if entry]
        env = dict(env)
        if kept:
            env["PYTHONPATH"] = os.pathsep.join(kept)
        else:
            del env["PYTHONPATH"]
    return env
