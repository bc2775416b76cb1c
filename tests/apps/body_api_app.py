"""``uwsgi.chunked_read`` / ``chunked_read_nb`` / ``sendfile`` / ``extract`` / ``parsefile``
through a real server.  Each answer is a Python literal (``ast.literal_eval``).

* ``/chunks?T``: ``chunked_read(T)`` until ``b""`` (T omitted: ``chunked_read()``): the
  list of chunks, or ``("IOError", chunks so far, message)``;
* ``/chunks-nb``: uWSGI's non-blocking loop, ``chunked_read_nb()`` then
  ``wait_fd_read(connection_fd(), 5)`` + ``suspend()`` when it gives None: the chunks and
  how many times it waited (an IOError is logged: ``chunks-nb: IOError ...``);
* ``/sendfile?PATH&CHUNK&POS&SIZE``: ``start_response`` then ``sendfile(...)``, nothing
  returned (the file is the body); ``/sendfile-fd?PATH``: the same with an open file;
* ``/extract?PATH``, ``/parsefile?PATH``: the call's result;
* ``/ping``: answers at once (is another core free while one is parked?).
"""

import uwsgi


def respond(start_response, report):
    body = repr(report).encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]


def read_chunks(query):
    chunks = []
    try:
        while True:
            chunk = uwsgi.chunked_read(int(query)) if query else uwsgi.chunked_read()
            if not chunk:
                return chunks
            chunks.append(chunk)
    except IOError as e:
        return ("IOError", chunks, str(e))


def read_chunks_nb():
    chunks = []
    waits = 0
    while waits < 1000:
        try:
            chunk = uwsgi.chunked_read_nb()
        except IOError as e:
            uwsgi.log("chunks-nb: IOError after %d chunks: %s" % (len(chunks), e))
            return ("IOError", chunks, str(e))
        if chunk is None:
            waits += 1
            uwsgi.wait_fd_read(uwsgi.connection_fd(), 5)
            uwsgi.suspend()
            if uwsgi.ready_fd() == -1:
                return ("timeout", chunks)
            continue
        if not chunk:
            break
        chunks.append(chunk)
    return {"chunks": chunks, "waited": waits}


def application(environ, start_response):
    path, query = environ["PATH_INFO"], environ.get("QUERY_STRING", "")
    if path == "/chunks":
        return respond(start_response, read_chunks(query))
    if path == "/chunks-nb":
        return respond(start_response, read_chunks_nb())
    if path == "/sendfile":
        name, chunk, pos, size = query.split("&")
        start_response("200 OK", [("Content-Type", "application/octet-stream")])
        sent = uwsgi.sendfile(name, int(chunk), int(pos), int(size))
        return [] if sent else [b"not sent: %r" % (sent,)]
    if path == "/sendfile-fd":
        start_response("200 OK", [("Content-Type", "application/octet-stream")])
        with open(query, "rb") as f:
            uwsgi.sendfile(f)
            uwsgi.sendfile(f.fileno(), 0, 0, 3)  # the file stays open: sent again, its first 3 bytes
        return [b"|end"]
    if path == "/extract":
        return respond(start_response, uwsgi.extract(query))
    if path == "/parsefile":
        return respond(start_response, uwsgi.parsefile(query))
    return respond(start_response, "pong")
