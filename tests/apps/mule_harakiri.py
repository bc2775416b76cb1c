"""A --mule script that appends its pid to $MULE_PIDS, sets uwsgi.set_user_harakiri(1) and
then blocks: the mule must be killed by its own deadline and respawned."""

import os
import time

import uwsgi

if __name__ == "__main__":
    with open(os.environ["MULE_PIDS"], "a") as f:
        f.write("%d\n" % os.getpid())
    uwsgi.set_user_harakiri(1)
    time.sleep(30)
