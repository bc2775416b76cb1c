"""An app for --harakiri-graceful-timeout: ``/block?S`` blocks its worker S seconds
(``time.sleep`` in the core, so the loop stops too); every answer is the worker's pid.

``GRACEFUL_HANDLER=exit`` installs a SIGSYS handler that writes ``signal N in pid P`` to
``GRACEFUL_MARK`` and exits with status 3 (what uWSGI's own test app does with SIGSYS);
``GRACEFUL_HANDLER=ignore`` installs one that does nothing, so only the SIGKILL ends it.
Load it with ``--lazy-apps``: the handler belongs in the worker.
"""

import os
import signal
import time


def _exit(signum, frame):
    with open(os.environ["GRACEFUL_MARK"], "w") as f:
        f.write("signal %d in pid %d" % (signum, os.getpid()))
    os._exit(3)


_MODE = os.environ.get("GRACEFUL_HANDLER")
if _MODE == "exit":
    signal.signal(signal.SIGSYS, _exit)
elif _MODE == "ignore":
    signal.signal(signal.SIGSYS, lambda signum, frame: None)


def application(environ, start_response):
    if environ["PATH_INFO"] == "/block":
        time.sleep(float(environ.get("QUERY_STRING") or 30))
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [str(os.getpid()).encode()]
