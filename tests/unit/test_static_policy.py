"""FilePolicy: content types with --mimefile, the --static-expires* families, precompressed variants."""

from __future__ import annotations

import mimetypes
import os
import time

import pytest

from gateway.server.static_policy import FilePolicy, read_mime_file


def test_mime_file_overrides_and_adds_types(tmp_path):
    mt = tmp_path / "mime.types"
    mt.write_text("# comment\napplication/x-gateway   gwx  GWY\ntext/x-css-custom css # trailing\n\n")
    assert read_mime_file(str(mt)) == {".gwx": "application/x-gateway", ".gwy": "application/x-gateway",
                                       ".css": "text/x-css-custom"}
    policy = FilePolicy(mime_types=read_mime_file(str(mt)))
    assert policy.content_type("/a/b.GWX") == "application/x-gateway"
    assert policy.content_type("/a/b.css") == "text/x-css-custom"
    assert FilePolicy().content_type("/a/b.css") == "text/css"


@pytest.mark.parametrize("name", ["b.tar.gz", "b.gz", "b.tgz", "b.css.gz", "b.css.br", "b.tar.xz"])
def test_a_compressed_file_is_its_own_type(name):
    """As uWSGI: the last extension's type (``application/gzip`` for ``.gz`` where the
    system's mime.types says so), never the inner file's type with a content coding (which
    made a browser unpack a downloaded ``.tar.gz``)."""
    ext = os.path.splitext(name)[1]
    assert FilePolicy().content_type("/a/" + name) == mimetypes.types_map.get(ext)
    assert FilePolicy(mime_types={".gz": "application/gzip"}).content_type("/a/b.tar.gz") == "application/gzip"


def test_expiry_order_and_mtime_variants():
    env = {"PATH_INFO": "/static/app.js", "REQUEST_URI": "/static/app.js?v=3"}
    policy = FilePolicy(expires=[(r"\.css$", 10)], expires_path_info_mtime=[(r"^/static/", 20)],
                        expires_uri=[(r"v=3", 30)], expires_type=[("application/javascript", 40)])
    now = time.time()
    # the file's path does not match; PATH_INFO (-mtime: from the file's time) comes before the uri
    assert policy.expiry(env, "/srv/app.js", "application/javascript", 1000.0) == 1020.0
    assert abs(policy.expiry(env, "/srv/app.css", "text/css", 1000.0) - (now + 10)) < 2
    assert abs(policy.expiry({"REQUEST_URI": "/x?v=3"}, "/srv/x", None, 0) - (now + 30)) < 2
    assert abs(policy.expiry({}, "/srv/x.js", "application/javascript", 0) - (now + 40)) < 2
    assert policy.expiry({}, "/srv/x.png", "image/png", 0) is None
    assert FilePolicy(expires_type_mtime=[("image/png", 5)]).expiry({}, "/x.png", "image/png", 100.0) == 105.0


@pytest.fixture
def files(tmp_path):
    (tmp_path / "a.css").write_bytes(b"body{}" * 100)
    (tmp_path / "a.css.gz").write_bytes(b"GZ")
    (tmp_path / "b.js").write_bytes(b"x")
    (tmp_path / "b.js.br").write_bytes(b"BR")
    (tmp_path / "b.js.gz").write_bytes(b"GZ")
    (tmp_path / "c.txt").write_bytes(b"plain")
    os.mkdir(tmp_path / "d.txt.gz")  # a directory is never a variant
    return tmp_path


def test_precompressed_selection_and_negotiation(files):
    a, b, c, d = (str(files / n) for n in ("a.css", "b.js", "c.txt", "d.txt"))
    gz = {"HTTP_ACCEPT_ENCODING": "gzip, deflate"}
    both = {"HTTP_ACCEPT_ENCODING": "br;q=1.0, gzip;q=0.5"}
    policy = FilePolicy(gzip_all=True)
    assert policy.precompressed(gz, a)[1:] == (os.stat(a + ".gz"), "gzip")
    assert policy.precompressed(both, b)[0] == b + ".br"
    assert policy.precompressed(gz, b)[0] == b + ".gz"
    assert policy.precompressed({"HTTP_ACCEPT_ENCODING": "br;q=0, gzip"}, b)[0] == b + ".gz"
    assert policy.precompressed({"HTTP_ACCEPT_ENCODING": "gzip;q=0.000"}, a) is None
    assert policy.precompressed({}, a) is None
    assert policy.precompressed(gz, c) is None  # no c.txt.gz
    assert policy.precompressed(gz, d) is None
    assert FilePolicy(gzip_exts=[".css"]).precompressed(gz, a) is not None
    assert FilePolicy(gzip_exts=[".css"]).precompressed(gz, b) is None
    assert FilePolicy(gzip_dirs=[str(files)]).precompressed(gz, b) is not None
    assert FilePolicy(gzip=[r"\.js$"]).precompressed(gz, b) is not None
    assert FilePolicy().precompressed(gz, a) is None  # nothing selected


def test_a_variant_must_stay_in_the_directory_of_the_file(tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    secret = tmp_path / "secret"
    secret.write_bytes(b"not for the web")
    (site / "a.css").write_bytes(b"body{}")
    (site / "a.css.gz").symlink_to(secret)  # out of the mapped directory: never a variant
    (site / "sub").mkdir()
    (site / "sub" / "b.js.gz").write_bytes(b"GZ")
    (site / "b.js").write_bytes(b"x")
    (site / "b.js.gz").symlink_to(site / "sub" / "b.js.gz")  # another directory, even inside
    (site / "c.txt").write_bytes(b"plain")
    (site / "c-v2.txt.gz").write_bytes(b"GZ")
    (site / "c.txt.gz").symlink_to("c-v2.txt.gz")  # beside the file: fine
    gz = {"HTTP_ACCEPT_ENCODING": "gzip"}
    policy = FilePolicy(gzip_all=True)
    assert policy.precompressed(gz, str(site / "a.css")) is None
    assert policy.precompressed(gz, str(site / "b.js")) is None
    variant = policy.precompressed(gz, str(site / "c.txt"))
    assert variant is not None and variant[0] == os.path.realpath(site / "c-v2.txt.gz") and variant[2] == "gzip"
    # the file itself reached through a symlink (a --static-safe one): its real directory counts
    (tmp_path / "link").symlink_to(site)
    assert policy.precompressed(gz, str(tmp_path / "link" / "c.txt")) is not None
    assert policy.precompressed(gz, str(tmp_path / "link" / "a.css")) is None


@pytest.mark.parametrize("raw", ["text/css=3600", "text/css 3600", " text/css = 3600 "])
def test_static_expires_type_takes_uwsgis_spelling(raw):
    """uWSGI's ``--static-expires-type`` is a ``TYPE=SECONDS`` dictionary entry; a uWSGI
    config's ``text/css=3600`` was refused here."""
    from gateway.config.converters import static_expires_type

    assert static_expires_type(raw) == ("text/css", 3600)


def test_a_304_keeps_the_answers_cache_headers(files):
    """RFC 9110 15.4.5: a 304 carries the Expires, Cache-Control and Vary the full answer
    would have (a cache renews the stored answer's freshness from them)."""
    from email.utils import formatdate

    from gateway.server.static_files import StaticFiles

    policy = FilePolicy(expires_type=[("text/css", 600)], gzip_all=True)
    app = StaticFiles(lambda e, s: [], maps=[("/s", str(files))], policy=policy)
    seen = {}

    def start_response(status, headers, exc_info=None):
        seen["status"], seen["headers"] = status, dict(headers)

    since = formatdate(time.time() + 60, usegmt=True)
    list(app({"REQUEST_METHOD": "GET", "PATH_INFO": "/s/a.css", "HTTP_IF_MODIFIED_SINCE": since}, start_response))
    assert seen["status"] == "304 Not Modified"
    headers = seen["headers"]
    assert headers["Cache-Control"] == "max-age=600" and "Expires" in headers
    assert headers["Vary"] == "Accept-Encoding" and "Last-Modified" in headers
    assert "Content-Type" not in headers and "Content-Length" not in headers
