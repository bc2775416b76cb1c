"""A dynamic app loaded by path (``UWSGI_FILE``): test_dynamic_apps_vs_uwsgi.py."""

import os


def application(environ, start_response):
    start_response("201 Created", [("Content-Type", "text/plain")])
    return [("file sn=%s cwd=%s" % (environ.get("SCRIPT_NAME", ""), os.path.basename(os.getcwd()))).encode()]
