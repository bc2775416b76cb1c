"""The ``uwsgi`` module's per-request calls (gateway.request_api) on a request recorded for the
calling thread, as ``--threads`` does, and uWSGI's SystemError outside a request."""

from __future__ import annotations

import pytest

from gateway import request_api
from gateway.logformat import ADDED_VARS, LOGVARS
from gateway.server.current_request import set_thread_environ


@pytest.fixture
def environ():
    env = {"REQUEST_METHOD": "POST", "CONTENT_LENGTH": "12"}
    set_thread_environ(env)
    yield env
    set_thread_environ(None)


def test_set_and_get_logvar(environ):
    assert request_api.set_logvar("user", "bob") is None
    request_api.set_logvar(b"user", b"alice")  # a second set replaces
    assert request_api.get_logvar("user") == b"alice"
    assert request_api.get_logvar("other") is None
    assert environ[LOGVARS] == {b"user": b"alice"}


def test_logvars_are_cut_to_255_bytes_and_bounded(environ):
    request_api.set_logvar("k" * 300, "v" * 300)
    assert request_api.get_logvar("k" * 255) == b"v" * 255
    for i in range(request_api.MAX_LOGVARS - 1):
        request_api.set_logvar("n%d" % i, "x")
    with pytest.raises(ValueError, match="at most 64"):
        request_api.set_logvar("one-more", "x")
    request_api.set_logvar("n0", "replacing is still allowed")


def test_log_this_request_marks_the_environ(environ):
    assert request_api.log_this_request() is None
    assert environ[request_api.LOG_THIS] is True


def test_add_var_and_its_buffer_bound(environ):
    assert request_api.add_var("TENANT", b"acme") is True
    assert environ[ADDED_VARS] == {"TENANT": "acme"}
    assert "TENANT" not in environ  # the app's environ is left alone
    with pytest.raises(ValueError, match="check your buffer size"):
        request_api.add_var("BIG", "x" * 5000)  # beyond the default 4096-byte buffer


@pytest.mark.parametrize("value, expected", [("12", 12), ("", 0), ("junk", 0), ("-3", 0)])
def test_cl(environ, value, expected):
    environ["CONTENT_LENGTH"] = value
    assert request_api.cl() == expected


def test_outside_a_request_is_uwsgis_system_error():
    with pytest.raises(SystemError, match="only from the main callable"):
        request_api.set_logvar("a", "b")
    with pytest.raises(SystemError):
        request_api.cl()


def test_types_are_checked(environ):
    with pytest.raises(TypeError):
        request_api.set_logvar("a", 3)
