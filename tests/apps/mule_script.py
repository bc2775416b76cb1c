"""A --mule script (tests/integration/test_mules.py): runs as __main__ in its mule and
answers each message with a marker file in $MULES_DIR, via uwsgi.mule_get_msg()."""

import os

import uwsgi

DIR = os.environ["MULES_DIR"]


def mark(name):
    """Write the marker whole (temp file + rename): the test may read it the moment it exists."""
    path = os.path.join(DIR, name)
    with open(path + ".tmp", "w") as f:
        f.write("%d %d" % (os.getpid(), uwsgi.mule_id()))
    os.replace(path + ".tmp", path)


if __name__ == "__main__":
    mark("script-started")
    while True:
        msg = uwsgi.mule_get_msg(timeout=5)
        if msg:
            mark("script-" + msg.decode())
