"""uwsgi.route() and the response transformations (gateway.route_api)."""

from __future__ import annotations

import pytest

from gateway import route_api
from gateway.server.current_request import set_thread_environ


@pytest.mark.parametrize("name, args", [("gzip", ""), ("fixcl", ""), ("tofile", "filename=/tmp/x"),
                                        ("template", ""), ("cachestore", "key=k")])
def test_a_transformation_is_refused_not_silently_dropped(name, args, gateway_errors):
    # the step went into a throwaway RouteState: route() said 0 (done) and the body went out
    # untransformed (no gzip, no file written, nothing cached)
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/", "QUERY_STRING": "", "HTTP_ACCEPT_ENCODING": "gzip"}
    set_thread_environ(environ)
    try:
        assert route_api.route(name, args) == route_api.ROUTE_ERROR
    finally:
        set_thread_environ(None)
    assert any("a response transformation, not supported" in r.getMessage() for r in gateway_errors.records)
