"""The response transformations as plain objects (gateway.routing.transforms): bytes in, bytes out."""

from __future__ import annotations

import gzip
import os
import time
import zlib

import pytest

from gateway.routing import transforms
from gateway.routing.conditions import RouteSyntaxError
from gateway.routing.rules import compile_chain
from gateway.routing.transforms import (
    Chunked,
    FixCL,
    Flush,
    Gzip,
    Template,
    ToFile,
    ToUpper,
    TransformChain,
    TransformError,
    accepts_gzip,
)
from gateway.routing.vars import Services

HEADERS = [("Content-Type", "text/plain"), ("Content-Length", "11")]


def drive(steps, chunks, status=200, headers=HEADERS, removed=()):
    """(bytes sent after each chunk, bytes sent at the end, the chain)."""
    chain = TransformChain(steps, removed)
    chain.start(status, headers)
    during = [b"".join(chain.feed(c)) for c in chunks]
    return during, b"".join(chain.finish()), chain


def test_toupper_streams_each_chunk_and_keeps_the_length():
    during, end, chain = drive([ToUpper()], [b"hello ", b"world"])
    assert during == [b"HELLO ", b"WORLD"] and end == b""
    assert chain.edit_headers(HEADERS) == HEADERS  # same size: the app's Content-Length stays


def test_toupper_leaves_non_ascii_bytes_alone():
    assert drive([ToUpper()], ["é-z".encode("utf-8")])[0] == ["é-Z".encode("utf-8")]


def test_gzip_streams_a_decodable_body_and_edits_the_head():
    during, end, chain = drive([Gzip()], [b"a" * 1000, b"b" * 1000])
    assert all(during)  # a sync flush per chunk: each one can go out at once
    assert gzip.decompress(b"".join(during) + end) == b"a" * 1000 + b"b" * 1000
    # the first chunk alone already decodes (streaming, not buffered)
    assert zlib.decompressobj(31).decompress(during[0]) == b"a" * 1000
    assert chain.edit_headers(HEADERS) == [("Content-Type", "text/plain"), ("Content-Encoding", "gzip")]


def test_gzip_of_an_empty_body_is_empty_and_adds_no_header():
    during, end, chain = drive([Gzip()], [])
    assert (during, end) == ([], b"")
    assert chain.edit_headers(HEADERS) == HEADERS


def test_gzip_leaves_an_already_encoded_response_alone():
    headers = [("Content-Encoding", "br")]
    during, end, chain = drive([Gzip()], [b"xyz"], headers=headers)
    assert (during, end) == ([b"xyz"], b"")
    assert chain.edit_headers(headers) == headers


def test_chunked_frames_byte_exact_and_ends_with_the_last_chunk():
    during, end, chain = drive([Chunked()], [b"hello", b"", b"0123456789abcdef!"])
    assert during == [b"5\r\nhello\r\n", b"", b"11\r\n0123456789abcdef!\r\n"]
    assert end == b"0\r\n\r\n"
    assert chain.self_chunked and chain.edit_headers(HEADERS) == [("Content-Type", "text/plain")]


def test_gzip_then_chunked_frames_the_compressed_bytes():
    during, end, _ = drive([Gzip(), Chunked()], [b"x" * 100])
    framed = during[0] + end
    body, pos = b"", 0
    while True:
        eol = framed.index(b"\r\n", pos)
        size = int(framed[pos:eol], 16)
        body += framed[eol + 2:eol + 2 + size]
        assert framed[eol + 2 + size:eol + 4 + size] == b"\r\n"
        pos = eol + 4 + size
        if size == 0:
            break
    assert pos == len(framed) and gzip.decompress(body) == b"x" * 100


def test_fixcl_buffers_then_sets_the_length_of_what_reaches_it():
    during, end, chain = drive([Gzip(), FixCL()], [b"a" * 500, b"b" * 500])
    assert during == [b"", b""]  # buffered: nothing goes out before the end
    assert gzip.decompress(end) == b"a" * 500 + b"b" * 500
    assert chain.edit_headers(HEADERS) == [("Content-Type", "text/plain"), ("Content-Encoding", "gzip"),
                                           ("Content-Length", str(len(end)))]


def test_fixcl_respects_a_removed_content_length_and_forcecl_does_not():
    _, _, chain = drive([FixCL()], [b"abc"], headers=[], removed=["content-length"])
    assert chain.edit_headers([]) == []
    _, _, chain = drive([FixCL(force=True)], [b"abc"], headers=[], removed=["content-length"])
    assert chain.edit_headers([]) == [("Content-Length", "3")]


def test_flush_sends_what_reaches_it_and_later_steps_only_watch(tmp_path):
    path = tmp_path / "copy"
    during, end, _ = drive([ToUpper(), Flush(), ToFile(str(path))], [b"ab", b"cd"])
    assert (during, end) == ([b"AB", b"CD"], b"")  # not sent a second time by the buffering step
    assert path.read_bytes() == b"ABCD"


def test_flush_before_a_buffering_step_still_streams():
    during, end, _ = drive([Flush(), FixCL()], [b"ab", b"cd"])
    assert (during, end) == ([b"ab", b"cd"], b"")


def test_tofile_stores_a_200_body_and_passes_it_on(tmp_path):
    path = tmp_path / "page.html"
    during, end, _ = drive([ToFile(str(path), 0o600)], [b"<p>", b"hi</p>"])
    assert (during, end) == ([b"", b""], b"<p>hi</p>")
    assert path.read_bytes() == b"<p>hi</p>" and (os.stat(path).st_mode & 0o777) == 0o600


def test_tofile_stores_nothing_for_another_status_or_an_empty_body(tmp_path):
    path = tmp_path / "page.html"
    assert drive([ToFile(str(path))], [b"gone"], status=404)[1] == b"gone"
    drive([ToFile(str(path))], [])
    assert not path.exists()


def test_tofile_cannot_open_logs_and_the_body_still_goes(tmp_path, gateway_errors):
    assert drive([ToFile(str(tmp_path / "no" / "dir" / "f"))], [b"body"])[1] == b"body"
    assert any("tofile transformation: cannot open" in r.getMessage() for r in gateway_errors.records)


def test_tofile_never_waits_for_a_lock_and_readers_see_whole_files(tmp_path):
    import fcntl
    import threading

    from gateway.routing.transforms import store

    path = tmp_path / "page"
    path.write_bytes(b"old")
    holder = os.open(str(path), os.O_RDWR)
    fcntl.lockf(holder, fcntl.LOCK_EX)  # another process's tool holding uWSGI's lock on it
    pid = os.fork()
    if pid == 0:  # the lock belongs to a process: a child's store must not wait for it
        os._exit(0 if store(str(path), b"new", 0o644) else 1)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        time.sleep(0.01)
    else:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
        pytest.fail("store() waited for another process's lock")
    os.close(holder)
    assert status == 0 and path.read_bytes() == b"new"
    # writers of one path at once: the file is always one body, whole
    bodies = [bytes([65 + i]) * 200_000 for i in range(4)]
    threads = [threading.Thread(target=lambda b=b: [store(str(path), b, 0o644) for _ in range(20)]) for b in bodies]
    for t in threads:
        t.start()
    seen = set()
    while any(t.is_alive() for t in threads):
        seen.add(path.read_bytes())
    for t in threads:
        t.join()
    seen.add(path.read_bytes())
    assert seen <= set(bodies) | {b"new"}
    assert sorted(os.listdir(str(tmp_path))) == ["page"]  # no temporary file left


def test_template_expands_route_vars_in_the_body():
    env = {"HTTP_HOST": "example.org", "PATH_INFO": "/p"}
    from gateway.routing.vars import RequestView, expand

    req = RequestView(env, ("/p",))
    during, end, chain = drive([Template(lambda text, limit: expand(text, req, limit))],
                               [b"host=${HTTP_HOST} ", b"m=$0 \xff"])
    assert end == b"host=example.org m=/p \xff"
    assert chain.edit_headers(HEADERS) == [("Content-Type", "text/plain")]  # resized: the app's length dropped


def test_template_output_is_bounded_as_a_buffer_is(monkeypatch):
    # a short body naming a long value many times (an app echoing "$1$1$1...", a 4 KiB
    # cookie): the expansion, not only the body, must stay under MAX_BUFFERED
    from gateway.routing import actions
    from gateway.routing.vars import RequestView

    monkeypatch.setattr(transforms, "MAX_BUFFERED", 1000)
    state = actions.RouteState({})
    actions.compile_action("template:")(state, RequestView({}, ("x" * 100,)))
    step = state.transforms[0]
    assert drive([step], [b"$0" * 10])[1] == b"x" * 1000
    with pytest.raises(TransformError, match="template transformation: the expanded body is over 1000 bytes"):
        drive([step.__class__(step.expand)], [b"$0" * 11])


def test_template_expansion_copies_the_text_between_variables_in_spans():
    # a large body with few variables must not cost a Python step (and a list item) per byte
    import tracemalloc

    from gateway.routing.vars import RequestView, expand

    body = "a" * (4 * 1048576) + "${HTTP_HOST}"
    tracemalloc.start()
    try:
        out = expand(body, RequestView({"HTTP_HOST": "h"}, ()))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert out == "a" * (4 * 1048576) + "h"
    assert peak < 3 * len(body)  # the copy and the result: no per-character list


def test_a_buffering_step_over_its_limit_fails_clearly(monkeypatch):
    monkeypatch.setattr(transforms, "MAX_BUFFERED", 10)
    chain = TransformChain([FixCL()])
    chain.start(200, [])
    chain.feed(b"x" * 10)
    with pytest.raises(TransformError, match="fixcl transformation buffers .* more than 10 bytes"):
        chain.feed(b"y")


@pytest.mark.parametrize("value, ok", [
    ("gzip, deflate", True), ("deflate;q=1, GZIP;q=0.5", True), ("gzip;q=0", False), ("*", True),
    ("*;q=0", False), ("identity", False), ("", False), (None, False), ("gzip;q=abc", False),
    ("x-gzip", True), ("*, gzip;q=0", False),
])
def test_accepts_gzip(value, ok):
    assert accepts_gzip(value) is ok


def chain_steps(rules, environ):
    outcome = compile_chain(rules).run(environ)
    return outcome.state.transforms


def test_the_actions_add_their_steps_in_order():
    env = {"PATH_INFO": "/x", "HTTP_ACCEPT_ENCODING": "gzip"}
    steps = chain_steps([("route", "^/ gzip:"), ("route-run", "chunked:"), ("route-run", "toupper:"),
                         ("route-run", "flush:"), ("route-run", "fixcl:"), ("route-run", "forcecl:"),
                         ("route-run", "template:")], env)
    assert [s.name for s in steps] == ["gzip", "chunked", "toupper", "flush", "fixcl", "forcecl", "template"]


def test_gzip_is_added_only_for_a_client_that_accepts_it():
    assert chain_steps([("route-run", "gzip:")], {"PATH_INFO": "/"}) == []
    assert chain_steps([("route-run", "gzip:")], {"PATH_INFO": "/", "HTTP_ACCEPT_ENCODING": "br"}) == []


def test_tofile_expands_its_path_and_stays_in_the_configured_directory(tmp_path):
    rule = ("route", "^/c/(.*) tofile:filename=%s/$1.html,mode=0640" % tmp_path)
    (step,) = chain_steps([rule], {"PATH_INFO": "/c/page"})
    assert (step.path, step.mode) == ("%s/page.html" % tmp_path, 0o640)
    outcome = compile_chain([rule]).run({"PATH_INFO": "/c/../../etc/evil"})
    assert outcome.state.transforms == [] and "refusing path" in outcome.state.logs[0]


def test_tofile_does_not_write_through_a_symlink_made_while_the_app_ran(tmp_path, gateway_errors):
    # the path is checked when the rule runs, the file written when the body is complete:
    # a symlink planted in between must not make a request value write outside the directory
    cache, outside = tmp_path / "cache", tmp_path / "outside"
    cache.mkdir()
    outside.write_bytes(b"precious")
    rule = ("route", "^/c/(.*) tofile:filename=%s/$1" % cache)
    (step,) = chain_steps([rule], {"PATH_INFO": "/c/page"})
    (cache / "page").symlink_to(outside)
    assert drive([step], [b"body"])[1] == b"body"
    assert outside.read_bytes() == b"precious"
    assert any("tofile transformation" in r.getMessage() for r in gateway_errors.records)
    # a symlink that stays inside is refused too (not followed), a plain file is written
    (cache / "page").unlink()
    (cache / "page").symlink_to(cache / "other")
    drive([step], [b"body"])
    assert not (cache / "other").exists()
    (cache / "page").unlink()
    drive([step], [b"body"])
    assert (cache / "page").read_bytes() == b"body"


@pytest.mark.parametrize("arg, fragment", [
    ("", "bad item"), ("mode=0644", "a filename is needed"), ("filename=/tmp/x,mode=rw", "octal"),
    ("filename=/tmp/x,owner=me", "bad item"),
])
def test_tofile_syntax_errors(arg, fragment):
    with pytest.raises(RouteSyntaxError, match=fragment):
        compile_chain([("route-run", "tofile:" + arg)])


@pytest.mark.parametrize("name, reason", [
    ("offload", "offload threads"),
    ("memcachedstore", "memcached"), ("memcached-store", "memcached"), ("redisstore", "redis"),
    ("redis-store", "redis"), ("redis-continue", "redis"), ("memcached-continue", "memcached"),
])
def test_uwsgis_other_transformations_are_refused_by_name_with_a_reason(name, reason):
    with pytest.raises(RouteSyntaxError, match="'%s' is not supported by gateway: .*%s" % (name, reason)):
        compile_chain([("route-run", name + ":key=x")])


class FakeCache(Services):
    def __init__(self, ok=True):
        self.items = {}
        self.ok = ok

    def cache_update(self, key, value, expires, cache):
        if self.ok:
            self.items[(cache, key)] = (value, expires)
        return self.ok


def cachestore_chain(arg, environ, services):
    outcome = compile_chain([("route", "^/(\\w+)$ cachestore:" + arg)]).run(environ, 1, services)
    return TransformChain(outcome.state.transforms)


def test_cachestore_stores_a_200_body_under_its_expanded_key_and_passes_it_on():
    cache = FakeCache()
    chain = cachestore_chain("key=page-$1,name=pages,expires=30,gzip=gz-$1", {"PATH_INFO": "/home"}, cache)
    chain.start(200, HEADERS)
    assert chain.feed(b"hello ") == [] and chain.feed(b"world") == []  # buffered: whole bodies only
    assert chain.finish() == [b"hello world"]
    assert cache.items[("pages", "page-home")] == (b"hello world", 30)
    stored_gzip, _ = cache.items[("pages", "gz-home")]
    assert gzip.decompress(stored_gzip) == b"hello world"


@pytest.mark.parametrize("arg, status, stored", [
    ("key=k", 404, False), ("key=k,status=404", 404, True), ("key=k,code=404", 404, True),
    ("key=k,status=404", 200, True), ("key=k", 200, True),
])
def test_cachestore_stores_only_a_200_or_the_status_it_names(arg, status, stored):
    cache = FakeCache()
    chain = cachestore_chain(arg, {"PATH_INFO": "/p"}, cache)
    chain.start(status, HEADERS)
    chain.feed(b"body")
    chain.finish()
    assert bool(cache.items) is stored


def test_cachestore_value_replaces_the_body_and_an_empty_one_is_not_stored(gateway_errors):
    cache = FakeCache()
    chain = cachestore_chain("key=k,value=seen ${PATH_INFO}", {"PATH_INFO": "/p"}, cache)
    chain.start(200, HEADERS)
    assert chain.finish() == []  # an empty body, but the value is not empty: stored
    assert cache.items[(None, "k")] == (b"seen /p", 0)
    failing = cachestore_chain("key=k", {"PATH_INFO": "/p"}, FakeCache(ok=False))
    failing.start(200, HEADERS)
    failing.feed(b"x")
    assert failing.finish() == [b"x"]  # the response still goes; a line says why nothing was cached
    assert any("cannot store 'k'" in r.getMessage() for r in gateway_errors.records)


@pytest.mark.parametrize("arg, fragment", [
    ("name=pages", "cache key"), ("key=k,expires=soon", "expires='soon' is not a number"),
    ("key=k,status=ok", "status='ok'"), ("key=k,owner=me", "bad item"),
])
def test_cachestore_syntax_errors(arg, fragment):
    with pytest.raises(RouteSyntaxError, match=fragment):
        compile_chain([("route-run", "cachestore:" + arg)])


def test_cachestore_failures_of_one_rule_are_logged_at_most_once_per_interval(gateway_errors):
    # a key built from each request's URI may fail for every request: one line, then a count
    rules = compile_chain([("route", "^/(\\w+)$ cachestore:key=$1")])
    for path in ("/a", "/b", "/c"):
        chain = TransformChain(rules.run({"PATH_INFO": path}, 1, FakeCache(ok=False)).state.transforms)
        chain.start(200, HEADERS)
        chain.feed(b"x")
        assert chain.finish() == [b"x"]
    lines = [r.getMessage() for r in gateway_errors.records if "cannot store" in r.getMessage()]
    assert lines == ["cachestore: cannot store 'a' in cache (default)"]


def test_tofile_stores_under_the_longest_file_name(tmp_path):
    from gateway.routing.transforms import store

    path = tmp_path / ("n" * 255)  # NAME_MAX: the temporary name must not be longer
    assert store(str(path), b"body", 0o644) and path.read_bytes() == b"body"
    assert os.listdir(str(tmp_path)) == ["n" * 255]


def test_tofile_keeps_the_mode_and_group_of_the_file_it_replaces(tmp_path):
    # uWSGI opens an existing file with O_TRUNC: its mode (0640 for a group such as nginx's)
    # and owner stay, mode= applies only to a new file; a rename must not change that
    from gateway.routing.transforms import store

    path = tmp_path / "export"
    path.write_bytes(b"old")
    os.chmod(str(path), 0o640)
    gid = os.getgroups()[-1] if os.getgroups() else os.getgid()
    os.chown(str(path), -1, gid)
    assert store(str(path), b"new", 0o644)
    st = os.stat(str(path))
    assert path.read_bytes() == b"new"
    assert oct(st.st_mode & 0o7777) == oct(0o640) and st.st_gid == gid
    fresh = tmp_path / "fresh"
    old_umask = os.umask(0o022)
    try:
        assert store(str(fresh), b"x", 0o604)
    finally:
        os.umask(old_umask)
    assert oct(os.stat(str(fresh)).st_mode & 0o7777) == oct(0o604)  # a new file: mode=, less the umask


def test_tofile_writes_through_a_symlink_the_config_names(tmp_path):
    # as uWSGI's open(O_TRUNC): PATH -> real file, the real file gets the body, the link stays
    from gateway.routing.transforms import store

    real_dir = tmp_path / "real"
    real_dir.mkdir()
    (real_dir / "page").write_bytes(b"old")
    link = tmp_path / "page"
    link.symlink_to(real_dir / "page")
    assert store(str(link), b"new", 0o644)
    assert link.is_symlink() and (real_dir / "page").read_bytes() == b"new"
    assert sorted(os.listdir(str(tmp_path))) == ["page", "real"]
    assert not store(str(link), b"newer", 0o644, nofollow=True)  # a path built from the request: refused
    assert (real_dir / "page").read_bytes() == b"new"


def test_tofile_steps_over_a_temporary_file_a_killed_process_left(tmp_path):
    # a worker killed mid-store leaves .tofile-PID-N; the next start's worker may get that pid
    # again (a container's pids repeat), and its store must still succeed
    from gateway.routing import transforms

    serial = next(transforms._store_serial)
    for n in range(serial + 1, serial + 4):
        (tmp_path / (".tofile-%d-%d" % (os.getpid(), n))).write_bytes(b"left")
    path = tmp_path / "page"
    assert transforms.store(str(path), b"body", 0o644) and path.read_bytes() == b"body"
