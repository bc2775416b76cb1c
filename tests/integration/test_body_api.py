"""``uwsgi.chunked_read`` / ``chunked_read_nb`` (with ``--chunked-input-timeout`` and
``--chunked-input-limit``), ``uwsgi.sendfile``, ``extract`` and ``parsefile`` through the
real CLI, over HTTP and the uwsgi protocol, in the loop engine (``--tornado 2 --greenlet``)."""

from __future__ import annotations

import ast
import os
import socket
import struct
import time

import pytest

from gateway.protocol import uwsgi as uwsgi_wire
from server import run_server
from support.httpclient import Conn, request

APP = ["--wsgi-file", "tests/apps/body_api_app.py"]
ENGINE = ["--tornado", "2", "--greenlet"]


def chunked(*chunks: bytes) -> bytes:
    return b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in chunks) + b"0\r\n\r\n"


def http_head(path: str) -> bytes:
    return ("POST %s HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n" % path).encode()


def uwsgi_head(path: str, query: str = "") -> bytes:
    return uwsgi_wire.encode_request([
        ("REQUEST_METHOD", "POST"), ("PATH_INFO", path), ("QUERY_STRING", query),
        ("SERVER_PROTOCOL", "HTTP/1.1"), ("HTTP_TRANSFER_ENCODING", "chunked"),
    ])


def answer(conn: Conn) -> object:
    r = conn.read_response("POST")
    assert r.status == 200, r
    return ast.literal_eval(r.body.decode())


@pytest.fixture(scope="module")
def http_server():
    with run_server(["--http-socket", "127.0.0.1:0", "--socket", "127.0.0.1:0", "--chunked-input-limit", "1000"]
                    + APP + ENGINE) as srv:
        yield srv
        srv.check_tracebacks()


CHUNKS = [b"a", b"bb" * 300, b"ccc", b"x" * 1000]


@pytest.mark.parametrize("protocol", ["http", "uwsgi"])
def test_chunked_read_gives_each_chunk_as_the_client_framed_it(http_server, protocol):
    # All the chunks in one write: each still comes back alone, whole (uWSGI's framing).
    with Conn(http_server.port if protocol == "http" else http_server.uwsgi_port) as c:
        c.send((http_head("/chunks") if protocol == "http" else uwsgi_head("/chunks")) + chunked(*CHUNKS))
        assert answer(c) == CHUNKS


def test_a_chunk_split_across_writes_is_returned_whole_and_parks_only_its_core(http_server):
    with Conn(http_server.port) as c:
        c.send(http_head("/chunks") + b"5\r\nhel")
        # the app is parked in chunked_read(): the other core answers meanwhile
        assert request(http_server.port, "/ping").body == b"'pong'"
        c.send(b"lo\r\n3;ext=1\r\n, w\r\n")
        assert request(http_server.port, "/ping").body == b"'pong'"
        c.send(b"4\r\norld\r\n0\r\nTrailer: t\r\n\r\n")
        assert answer(c) == [b"hello", b", w", b"orld"]


@pytest.mark.parametrize("protocol", ["http", "uwsgi"])
def test_chunked_read_nb_loop_waits_on_connection_fd(http_server, protocol):
    port = http_server.port if protocol == "http" else http_server.uwsgi_port
    head = http_head("/chunks-nb") if protocol == "http" else uwsgi_head("/chunks-nb")
    with Conn(port) as c:
        c.send(head + b"3\r\nab")
        assert request(http_server.port, "/ping").body == b"'pong'"  # the waiting core holds no other
        c.send(b"c\r\n")
        c.send(b"2\r\nde\r\n")
        c.send(b"0\r\n\r\n")
        report = answer(c)
    assert report["chunks"] == [b"abc", b"de"]
    assert report["waited"] >= 1  # it found nothing at first and waited on connection_fd()


def test_a_client_reset_during_the_nb_loop_is_an_ioerror_not_a_spin(http_server):
    s = socket.create_connection(("127.0.0.1", http_server.port), timeout=5)
    s.sendall(http_head("/chunks-nb") + b"3\r\nabc\r\n4\r\nde")
    assert request(http_server.port, "/ping").body == b"'pong'"  # it is waiting on the fd
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()  # a reset: no EOF for the parser
    http_server.wait_for_line(r"chunks-nb: IOError after 1 chunks: unable to receive chunked part")
    for _ in range(3):  # the worker's loop is free: both cores answer
        assert request(http_server.port, "/ping", timeout=3).body == b"'pong'"


def test_a_chunk_over_chunked_input_limit_is_an_ioerror(http_server):
    with Conn(http_server.port) as c:
        c.send(http_head("/chunks") + chunked(b"ok", b"y" * 1001))
        kind, chunks, message = answer(c)
    assert (kind, chunks, message) == ("IOError", [b"ok"], "unable to receive chunked part")
    http_server.wait_for_line(r"uwsgi\.chunked_read\(\): a chunk of the request body is over "
                              r"--chunked-input-limit \(1000 bytes\)")


@pytest.mark.parametrize("protocol", ["http", "uwsgi"])
def test_a_body_that_is_not_chunked_is_an_ioerror(http_server, protocol):
    if protocol == "http":
        r = request(http_server.port, "/chunks", method="POST", body=b"plain")
        assert ast.literal_eval(r.body.decode()) == ("IOError", [], "unable to receive chunked part")
        return
    packet = uwsgi_wire.encode_request([("REQUEST_METHOD", "POST"), ("PATH_INFO", "/chunks"),
                                        ("CONTENT_LENGTH", "5"), ("SERVER_PROTOCOL", "HTTP/1.1")]) + b"plain"
    with Conn(http_server.uwsgi_port) as c:
        c.send(packet)
        assert answer(c) == ("IOError", [], "unable to receive chunked part")


def test_chunked_read_and_sendfile_from_a_threads_thread(data_file):
    """With --threads the app's thread asks its core for the chunk, as for wsgi.input, and
    sendfile() hands the bytes to the core as the thread's write() does."""
    with run_server(APP + ["--threads", "2"]) as srv:
        with Conn(srv.port) as c:
            c.send(http_head("/chunks") + b"5\r\nhel")
            assert request(srv.port, "/ping").body == b"'pong'"  # the other thread answers
            c.send(b"lo\r\n2\r\nab\r\n0\r\n\r\n")
            assert answer(c) == [b"hello", b"ab"]
        r = request(srv.port, "/sendfile?%s&1000&10&100000" % data_file, timeout=10)
        assert (r.status, r.body) == (200, data_file.read_bytes()[10:100010])
        srv.check_tracebacks()


def test_chunked_input_timeout_bounds_the_wait_and_an_argument_overrides_it():
    with run_server(APP + ENGINE + ["--chunked-input-timeout", "1", "--socket-timeout", "30"]) as srv:
        for path, bound in (("/chunks", 1.0), ("/chunks?2", 2.0)):
            with Conn(srv.port, timeout=10) as c:
                t0 = time.monotonic()
                c.send(http_head(path) + b"2\r\nok\r\n")  # then nothing
                kind, chunks, message = answer(c)
                elapsed = time.monotonic() - t0
            assert (kind, chunks, message) == ("IOError", [b"ok"], "unable to receive chunked part")
            assert bound - 0.2 < elapsed < bound + 3, (path, elapsed)
        srv.check_tracebacks()


@pytest.fixture(scope="module")
def data_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("body_api") / "data.bin"
    path.write_bytes(bytes(range(256)) * 1024)  # 256 KiB
    return path


@pytest.mark.parametrize("protocol", ["http", "uwsgi"])
@pytest.mark.parametrize("args, window", [
    ((0, 0, 0), slice(None)),                  # the whole file, 64 KiB reads
    ((1000, 0, 0), slice(None)),               # 1000-byte reads
    ((0, 70000, 0), slice(70000, None)),       # from pos to the end
    ((4096, 100, 5000), slice(100, 5100)),     # filesize bytes from pos
])
def test_sendfile_sends_the_file_as_the_body(http_server, data_file, protocol, args, window):
    query = "%s&%d&%d&%d" % ((data_file,) + args)
    data = data_file.read_bytes()
    if protocol == "http":
        r = request(http_server.port, "/sendfile?" + query, timeout=10)
        assert (r.status, r.body) == (200, data[window])
        return
    packet = uwsgi_wire.encode_request([("REQUEST_METHOD", "GET"), ("PATH_INFO", "/sendfile"),
                                        ("QUERY_STRING", query), ("SERVER_PROTOCOL", "HTTP/1.1")])
    with socket.create_connection(("127.0.0.1", http_server.uwsgi_port), timeout=10) as s:
        s.sendall(packet)
        reply = b""
        while True:
            more = s.recv(65536)
            if not more:
                break
            reply += more
    head, _, body = reply.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK") and body == data[window]


def test_sendfile_of_an_open_file_and_a_missing_path(http_server, data_file, tmp_path):
    small = tmp_path / "small.txt"
    small.write_bytes(b"hello file")
    r = request(http_server.port, "/sendfile-fd?%s" % small)
    assert r.body == b"hello filehel|end"
    r = request(http_server.port, "/sendfile?%s&0&0&0" % (tmp_path / "missing"))
    assert r.body == b"not sent: None"
    http_server.wait_for_line(r"uwsgi\.sendfile\(\): open\(.*missing'\): No such file or directory")


def test_extract_and_parsefile_in_a_request(http_server, tmp_path):
    (tmp_path / "motd").write_bytes(b"message of the day")
    assert request(http_server.port, "/extract?%s" % (tmp_path / "motd")).body == b"b'message of the day'"
    job = tmp_path / "job"
    job.write_bytes(uwsgi_wire.encode_packet(17, uwsgi_wire.encode_vars([("spooler_task_name", "t1"), ("a", "b")])))
    body = request(http_server.port, "/parsefile?%s" % job).body
    assert ast.literal_eval(body.decode()) == {b"spooler_task_name": b"t1", b"a": b"b"}
    os.unlink(job)
    assert request(http_server.port, "/parsefile?%s" % job).body == b"None"


def test_a_fifo_given_to_sendfile_extract_or_parsefile_is_refused_at_once(http_server, tmp_path):
    # open() of a FIFO without a writer blocks: it would stall the worker's loop and every core
    fifo = tmp_path / "fifo"
    os.mkfifo(str(fifo))
    try:
        for path, expected in (("/sendfile?%s&0&0&0" % fifo, b"not sent: None"),
                               ("/extract?%s" % fifo, b"None"), ("/parsefile?%s" % fifo, b"None")):
            assert request(http_server.port, path, timeout=10).body == expected
        http_server.wait_for_line(r"uwsgi\.sendfile\(\): open\(.*fifo'\): not a regular file")
        http_server.wait_for_line(r"uwsgi\.extract\(\): open\(.*fifo'\): not a regular file")
        assert request(http_server.port, "/ping", timeout=10).body == b"'pong'"
    finally:
        # a worker still blocked in open() (the defect) is let go before the server stops
        try:
            os.close(os.open(str(fifo), os.O_WRONLY | os.O_NONBLOCK))
        except OSError:  # ENXIO: nobody has it open for reading
            pass


def test_through_nginx_uwsgi_pass_a_chunked_upload_arrives_with_a_content_length(http_server):
    """nginx buffers a chunked upload and sends CONTENT_LENGTH (also with request buffering
    off): chunked_read() raises, as in uWSGI, and the app reads wsgi.input."""
    import http.client

    from support.nginx import Nginx

    config = """
        server {
            listen {listen};
            location / { include uwsgi_params; uwsgi_pass %s; uwsgi_request_buffering off; }
        }
    """ % http_server.uwsgi_addresses[0]
    with Nginx(config) as ngx:
        c = http.client.HTTPConnection("127.0.0.1", ngx.port, timeout=10)
        c.request("POST", "/chunks", body=iter([b"abc", b"de"]), encode_chunked=True)
        r = c.getresponse()
        assert (r.status, ast.literal_eval(r.read().decode())) == (200, ("IOError", [], "unable to receive chunked part"))
        c.close()


def test_through_the_http_router_chunked_read_gets_the_body(http_server):
    """gateway's --http router streams a chunked upload chunked to the worker: chunked_read()
    gets all of it (in the router's chunks: the pieces as they reached the router)."""
    from support.router import run_router

    with run_router(["--http", "127.0.0.1:0", "--http-to", http_server.uwsgi_addresses[0]]) as r:
        with Conn(r.port) as c:
            c.send(http_head("/chunks") + chunked(b"abc", b"defg"))
            chunks = answer(c)
    assert isinstance(chunks, list) and b"".join(chunks) == b"abcdefg" and all(chunks)
