"""Imported by ``--spooler-import`` in each spooler (``test_decorators_spooler_vs_uwsgi``): one
JSON line in ``$DECOR_OUT`` saying where it runs."""

import json
import os

import uwsgi

with open(os.environ["DECOR_OUT"], "a") as f:
    f.write(json.dumps(["spooler_import", bool(uwsgi.i_am_the_spooler()), uwsgi.worker_id()]) + "\n")
