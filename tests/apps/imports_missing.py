"""The module exists, but a module it imports does not."""

import gateway_tests_no_such_dependency  # noqa: F401


def application(environ, start_response):  # never reached
    start_response("200 OK", [])
    return [b""]
