"""A --mule script (tests/integration/test_queue.py): sets queue slot 0 to "mule PID" (the
queue functions exist in mules too), then waits for mule messages forever."""

import os

import uwsgi

if __name__ == "__main__":
    uwsgi.queue_set(0, "mule %d %s" % (os.getpid(), hasattr(uwsgi, "queue_pull")))
    while True:
        uwsgi.mule_get_msg(timeout=5)
