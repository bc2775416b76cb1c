"""A --mule script (tests/integration/test_mules.py): runs as __main__ in its mule and
answers each message with a marker file in $MULES_DIR, via uwsgi.mule_get_msg()."""

import os

import uwsgi

DIR = os.environ["MULES_DIR"]

if __name__ == "__main__":
    with open(os.path.join(DIR, "script-started"), "w") as f:
        f.write("%d %d" % (os.getpid(), uwsgi.mule_id()))
    while True:
        msg = uwsgi.mule_get_msg(timeout=5)
        if msg:
            with open(os.path.join(DIR, "script-" + msg.decode()), "w") as f:
                f.write("%d %d" % (os.getpid(), uwsgi.mule_id()))
