"""--mount dispatch (gateway.mounts): which app a request reaches, and its SCRIPT_NAME/PATH_INFO."""

from __future__ import annotations

import pytest

from gateway.mounts import Mounts, split_mount


def named(name):
    def app(environ, start_response):
        start_response("200 OK", [])
        return [("%s|%s|%s|%s" % (name, environ["SCRIPT_NAME"], environ["PATH_INFO"],
                                  environ.get("gateway.app_id"))).encode()]
    return app


def call(app, path, script_name=""):
    status = []
    body = app({"PATH_INFO": path, "SCRIPT_NAME": script_name, "REQUEST_METHOD": "GET"},
               lambda s, h: status.append(s))
    return status[0], b"".join(body).decode()


MOUNTS = [("/a", named("A")), ("/a/b", named("AB")), ("/c/", named("C"))]


@pytest.mark.parametrize("path, expected", [
    ("/a", "A|/a||1"),
    ("/a/", "A|/a|/|1"),
    ("/a/x/y", "A|/a|/x/y|1"),
    ("/a/b", "AB|/a/b||2"),
    ("/a/b/z", "AB|/a/b|/z|2"),
    ("/a/bz", "A|/a|/bz|1"),          # segment boundary
    ("/apple", "D||/apple|0"),        # not a prefix on a segment boundary
    ("/c/q", "C|/c|/q|3"),             # trailing / of the mountpoint dropped
    ("/", "D||/|0"),
])
def test_manage_script_name_picks_the_longest_prefix(path, expected):
    app = Mounts(MOUNTS, default=named("D"), manage_script_name=True)
    assert call(app, path) == ("200 OK", expected)


def test_root_mount_catches_the_rest():
    app = Mounts([("", named("R")), ("/a", named("A"))], manage_script_name=True)
    assert call(app, "/zzz")[1] == "R||/zzz|0"
    assert call(app, "/a/1")[1] == "A|/a|/1|1"


def test_without_manage_script_name_the_web_servers_script_name_selects_and_path_info_stays():
    app = Mounts(MOUNTS, default=named("D"))
    assert call(app, "/a/b/z", script_name="/a/b")[1] == "AB|/a/b|/a/b/z|2"
    assert call(app, "/a/b/z")[1] == "D||/a/b/z|0"


def test_without_wsgi_file_the_first_mount_is_the_default_app():
    app = Mounts(MOUNTS, manage_script_name=True)
    assert call(app, "/a/x")[1] == "A|/a|/x|0"  # without a default app, mounts count from 0
    assert call(app, "/nothing")[1] == "A||/nothing|0"  # as uWSGI 2.0.31: app 0 is its "(default app)"


def test_no_app_is_a_500():
    app = Mounts(MOUNTS, manage_script_name=True, default_fallback=False)
    assert call(app, "/nothing")[0] == "500 Internal Server Error"


def test_no_app_answers_the_error_page_500(tmp_path):
    from gateway.server import error_pages

    (tmp_path / "500.html").write_text("<p>no app</p>")
    error_pages.configure({500: [str(tmp_path / "500.html")]})
    try:
        assert call(Mounts(MOUNTS, manage_script_name=True, default_fallback=False),
                    "/nothing") == ("500 Internal Server Error", "<p>no app</p>")
    finally:
        error_pages.configure({})


@pytest.mark.parametrize("spec, expected", [
    ("/app=app.py", ("/app", "app.py")),
    ("/app/=pkg.mod:application", ("/app", "pkg.mod:application")),
    ("/=app.py", ("", "app.py")),
])
def test_split_mount(spec, expected):
    assert split_mount(spec) == expected


@pytest.mark.parametrize("spec", ["app.py", "/x=", "x=app.py"])
def test_split_mount_errors(spec):
    with pytest.raises(ValueError):
        split_mount(spec)


def call_host(app, host, script_name="", key="SERVER_NAME"):
    status = []
    environ = {"PATH_INFO": "/x", "SCRIPT_NAME": script_name, "REQUEST_METHOD": "GET", key: host}
    body = app(environ, lambda s, h: status.append(s))
    return status[0], b"".join(body).decode()


def test_vhost_picks_the_app_by_host_and_script_name():
    mounts = [split_mount("www.example.org=x", vhost=True), split_mount("API.example.org|/v1/=x", vhost=True)]
    assert [m for m, _ in mounts] == ["www.example.org|", "api.example.org|/v1"]
    app = Mounts([("www.example.org|", named("W")), ("api.example.org|/v1", named("API"))],
                 default=named("D"), vhost="SERVER_NAME")
    assert call_host(app, "www.example.org")[1].startswith("W|")
    assert call_host(app, "Api.Example.org", "/v1")[1].startswith("API|")
    assert call_host(app, "api.example.org")[1].startswith("D|")  # no /v1: the default app
    hosted = Mounts([("www.example.org|", named("W"))], vhost="HTTP_HOST")
    assert call_host(hosted, "www.example.org:8080", key="HTTP_HOST")[1].startswith("W|")
    assert call_host(hosted, "other.org", key="HTTP_HOST")[1].startswith("W|")  # the first app is the default


def test_no_default_app_turns_a_miss_into_a_500():
    app = Mounts([("/a", named("A"))], default=named("D"), manage_script_name=True, default_fallback=False)
    assert call(app, "/a/x")[1].startswith("A|")
    assert call(app, "/other", script_name="/zz")[0].startswith("500")
    # as in uWSGI, the default app is mounted at "": an empty SCRIPT_NAME still reaches it
    assert call(app, "/other")[1] == "D||/other|0"


@pytest.mark.parametrize("spec", ["|/x=app.py", "host|x=app.py"])
def test_vhost_mount_errors(spec):
    with pytest.raises(ValueError):
        split_mount(spec, vhost=True)
