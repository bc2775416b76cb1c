"""Importing this module raises: the app's own bug, whose traceback must be shown."""


def helper_that_fails():
    raise ValueError("import_raises: configuration value missing")


helper_that_fails()


def application(environ, start_response):  # never reached
    start_response("200 OK", [])
    return [b""]
