"""A ``@postfork`` hook that raises.  uWSGI prints the exception and the worker serves anyway
(``python_call(post_fork_hook)`` then ``PyErr_Clear()`` in plugins/python/python_plugin.c)."""

from uwsgidecorators import postfork


@postfork
def failing_hook():
    raise RuntimeError("postfork hook failed on purpose")


def application(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"served"]
