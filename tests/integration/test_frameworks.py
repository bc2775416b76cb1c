"""Real frameworks served unmodified through the CLI: a Flask app and a Django project.

Each: GET with a route parameter (percent-encoded UTF-8 too), a POST form body, a JSON
response, the framework's own 404, a streamed (chunked) response.
"""

from __future__ import annotations

import json

import pytest

from peers import require_module
from server import run_server
from support.httpclient import request

pytestmark = pytest.mark.timeout(60)

ENGINE = ["--tornado", "4", "--greenlet"]
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
FORM_BODY = b"b=2&a=hello+world&c=%C3%A9"


@pytest.fixture(scope="module")
def flask_server():
    require_module("flask")
    with run_server(["--module", "flaskapp:app", "--pythonpath", "tests/apps"] + ENGINE) as srv:
        yield srv


@pytest.fixture(scope="module", params=["chdir", "pythonpath"])
def django_server(request):
    require_module("django")
    where = ["--chdir", "tests/apps"] if request.param == "chdir" else ["--pythonpath", "tests/apps"]
    with run_server(["--module", "djangoproj.wsgi"] + where + ENGINE) as srv:
        yield srv


# -- Flask ----------------------------------------------------------------------------------------


def test_flask_route_parameter(flask_server):
    r = request(flask_server.port, "/hello/w%C3%B6rld")
    assert r.status == 200
    assert r.body.decode("utf-8") == "Hello, wörld!"
    assert r.header("Content-Type") == "text/html; charset=utf-8"


def test_flask_post_form(flask_server):
    r = request(flask_server.port, "/form", method="POST", headers=FORM, body=FORM_BODY)
    assert r.status == 200
    assert r.body.decode("utf-8") == "form: a=hello world,b=2,c=é"


def test_flask_json(flask_server):
    r = request(flask_server.port, "/json?q=x%20y")
    assert r.status == 200
    assert r.header("Content-Type") == "application/json"
    assert json.loads(r.body) == {"framework": "flask", "numbers": [1, 2, 3], "query": "x y"}


def test_flask_404_and_405_come_from_the_framework(flask_server):
    r = request(flask_server.port, "/no/such/page")
    assert r.status == 404
    assert b"<h1>Not Found</h1>" in r.body
    r = request(flask_server.port, "/form")
    assert r.status == 405
    assert b"Method Not Allowed" in r.body


def test_flask_streamed_response(flask_server):
    r = request(flask_server.port, "/stream")
    assert r.status == 200
    assert r.header("Transfer-Encoding") == "chunked"
    assert r.complete
    assert r.body == b"chunk 0\nchunk 1\nchunk 2\n"


# -- Django -----------------------------------------------------------------------------------------


def test_django_route_parameter(django_server):
    r = request(django_server.port, "/hello/w%C3%B6rld/")
    assert r.status == 200
    assert r.body.decode("utf-8") == "Hello, wörld!"


def test_django_append_slash_redirect(django_server):
    r = request(django_server.port, "/hello/bob")
    assert r.status == 301
    assert r.header("Location") == "/hello/bob/"


def test_django_post_form(django_server):
    r = request(django_server.port, "/form/", method="POST", headers=FORM, body=FORM_BODY)
    assert r.status == 200
    assert r.body.decode("utf-8") == "form: a=hello world,b=2,c=é"


def test_django_json(django_server):
    r = request(django_server.port, "/json/?q=x%20y")
    assert r.status == 200
    assert r.header("Content-Type") == "application/json"
    assert json.loads(r.body) == {"framework": "django", "numbers": [1, 2, 3], "query": "x y"}


def test_django_404_comes_from_the_framework(django_server):
    r = request(django_server.port, "/no/such/page/")
    assert r.status == 404
    assert b"<h1>Not Found</h1>" in r.body


def test_django_streamed_response(django_server):
    r = request(django_server.port, "/stream/")
    assert r.status == 200
    assert r.header("Transfer-Encoding") == "chunked"
    assert r.complete
    assert r.body == b"chunk 0\nchunk 1\nchunk 2\n"
