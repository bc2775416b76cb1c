"""Reports what the privilege and startup options change, as JSON: identity, nice value,
process limit, locked memory, working directory, ``GW_*`` variables.  Imports only
modules the server preloads before a privilege drop (``os``, ``json``), so it runs as
``nobody`` and inside a chroot.  ``/spawn`` lists the descriptors a child started with
``close_fds=False`` inherits (``subprocess`` is imported there: never under a drop)."""

import json
import os


def _status(key):
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def _nproc():
    try:
        with open("/proc/self/limits") as f:
            for line in f:
                if line.startswith("Max processes"):
                    return line.split()[2]
    except OSError:
        return None
    return None


def _spawn():
    import subprocess

    listing = subprocess.run(["ls", "-l", "/proc/self/fd"], close_fds=False, capture_output=True, text=True)
    return {"fds": listing.stdout}


def application(environ, start_response):
    if environ.get("PATH_INFO") == "/spawn":
        body = _spawn()
    else:
        body = {
            "pid": os.getpid(),
            "uid": os.getuid(),
            "gid": os.getgid(),
            "groups": sorted(os.getgroups()),
            "nice": os.getpriority(os.PRIO_PROCESS, 0),
            "nproc": _nproc(),
            "vmlck": _status("VmLck"),
            "cwd": os.getcwd(),
            "env": {k: v for k, v in os.environ.items() if k.startswith("GW_")},
        }
    start_response("200 OK", [("Content-Type", "application/json")])
    return [json.dumps(body).encode()]
