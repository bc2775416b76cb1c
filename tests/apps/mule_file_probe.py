"""A --mule script: writes what ``uwsgi.mule_file()``, ``mule_id()`` and ``ready()`` say in its
mule to ``$PROBE_DIR/mule-<id>`` (tests/integration/test_uwsgi_api.py), then idles."""

import os
import time

import uwsgi

if __name__ == "__main__":
    path = os.path.join(os.environ["PROBE_DIR"], "mule-%d" % uwsgi.mule_id())
    with open(path + ".tmp", "w") as f:
        f.write(repr({"mule_file": uwsgi.mule_file(), "ready": uwsgi.ready(),
                      "recv_size": uwsgi.mule_msg_recv_size()}))
    os.replace(path + ".tmp", path)
    while True:
        time.sleep(3600)
