"""Bodies for the transformation tests: /fixed (with Content-Length), /stream (a generator,
no length; ``?n=`` chunks), /write (the write() callable), /empty, /tpl (``${...}`` in the
body), /missing (404), /head-encoded (already has a Content-Encoding)."""


def application(environ, start_response):
    path = environ["PATH_INFO"]
    if path == "/fixed":
        body = b"hello world, " * 20
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
        return [body]
    if path == "/stream":
        n = int(environ.get("QUERY_STRING", "").partition("=")[2] or 3)
        start_response("200 OK", [("Content-Type", "text/plain")])
        return (("chunk %d;" % i).encode() for i in range(n))
    if path == "/write":
        write = start_response("200 OK", [("Content-Type", "text/plain")])
        write(b"written ")
        return [b"then returned"]
    if path == "/empty":
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "0")])
        return []
    if path == "/tpl":
        start_response("200 OK", [("Content-Type", "text/html")])
        return [b"<p>host=${HTTP_HOST} path=${PATH_INFO}</p>"]
    if path == "/encoded":
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Encoding", "identity-x")])
        return [b"as is"]
    start_response("404 Not Found", [("Content-Type", "text/plain")])
    return [b"no such page"]
