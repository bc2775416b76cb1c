"""For the signal: and mule: alarm plugins: the uWSGI signal 30 handler and the mules' message
hook each append a line to a file in $ALARM_DIR; ``/print?TEXT`` prints TEXT."""

import os
from urllib.parse import unquote

import uwsgi
from uwsgidecorators import signal

DIR = os.environ["ALARM_DIR"]


def _append(name, text):
    with open(os.path.join(DIR, name), "a") as f:
        f.write(text + "\n")


@signal(30)
def on_signal(num):
    _append("signal", "signal %d in worker %d" % (num, uwsgi.worker_id()))


def on_mule_message(message):
    _append("mule", "mule %d got %s" % (uwsgi.mule_id(), message.decode().strip()))


uwsgi.mule_msg_hook = on_mule_message


def application(environ, start_response):
    if environ["PATH_INFO"] == "/print":
        print(unquote(environ.get("QUERY_STRING", "")), flush=True)
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]
