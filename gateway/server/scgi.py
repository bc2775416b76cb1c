"""``--scgi-socket``: SCGI (nginx ``scgi_pass``), served by the one WSGI runner.

One :class:`ScgiConnection` per connection and one request per connection, as SCGI
defines it.  The netstring of headers is parsed in the loop by the sans-IO
:class:`~gateway.protocol.scgi.ScgiParser` before a core is taken, so a peer that
dribbles it never pins a core; it must arrive within ``--socket-timeout``.  The
headers become the environ and the request runs in a core through
:func:`~gateway.server.wsgi_call.run_request`, exactly as on ``--socket``; the answer
is CGI-style, as uWSGI writes it: ``Status: 200 OK``, the app's headers verbatim, the
body, then the close.  ``wsgi.input`` streams ``CONTENT_LENGTH`` bytes and parks only
the current core; ``--offload-threads`` sends a ``wsgi.file_wrapper`` from the loop, as
on the other protocols.

nginx's stock ``scgi_params`` send no ``PATH_INFO``: the path then comes from
``DOCUMENT_URI`` (:func:`~gateway.server.vars_conn.cgi_path_info`), so an unmodified WSGI
app routes as it would on ``--socket``.

A malformed request is logged on ``gateway.error`` at INFO (``invalid SCGI request
from ...``) and the connection is closed without a byte (nginx answers 502); the
worker goes on.
"""

from __future__ import annotations

from typing import Any

from gateway.logs import gen_log
from gateway.protocol import scgi as wire
from gateway.server.file_offload import FileOffload
from gateway.server.vars_conn import VarsConnection, VarsServer, cgi_path_info, pairs_environ

__all__ = ["ScgiConnection", "ScgiServer"]


class ScgiServer(VarsServer):
    """All SCGI connections of one worker on one listening socket."""

    protocol_name = "SCGI"


class ScgiConnection(FileOffload, VarsConnection):
    """One SCGI connection: one request, one answer, close.  Also the request's sink."""

    def __init__(self, server: ScgiServer, addr: Any) -> None:
        super().__init__(server, addr)
        self.init_offload()

    def make_parser(self) -> wire.ScgiParser:
        s = self.settings
        return wire.ScgiParser(max_size=s.max_head, max_vars=s.max_vars, max_body=s.max_body)

    def _process(self) -> None:
        if self.closed:
            return
        try:
            event = self.parser.next_event()
        except wire.ScgiError as e:
            gen_log.info("invalid SCGI request from %s: %s. skip.", self.peer, e.args[0])
            self._close(abort=True)
            return
        if event is wire.NEED_DATA:
            return
        if type(event) is wire.Request:
            self.deadline = 0.0
            self.busy = True
            self._body_done = event.content_length == 0
            if not self.server.engine.submit(self._run, event):
                self._pause_reading()
            return
        self._close()  # ConnectionClosed: the peer went away before a request

    def _run(self, req: wire.Request) -> None:
        environ = pairs_environ(self.server.base_environ, req.vars, req.env)
        cgi_path_info(environ)
        self.start_request(environ, self.server.strip_script_name)

    def request_done(self, ok: bool) -> None:
        if self.defer_request_done(ok):
            return  # the file still travels (--offload-threads): called again when it is out
        self._close()


ScgiServer.connection_class = ScgiConnection
