"""Imports ``gateway_venv_only`` (found only in the ``--virtualenv``) at load time."""

import os

import gateway_venv_only


def application(environ, start_response):
    body = repr({"value": gateway_venv_only.VALUE, "file": gateway_venv_only.__file__,
                 "virtual_env": os.environ.get("VIRTUAL_ENV")}).encode()
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [body]
