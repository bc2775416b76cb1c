"""A response sink that records the calls the shared WSGI runner makes (what every protocol
would send), for the runner's unit tests."""

from __future__ import annotations

from gateway.server.sink import body_framing


class Sink:
    """Records ``("head", head, first body bytes sent with it, final)``, ``("body", data)``,
    ``("finish",)``, ``("error", status)``, ``("abort",)``, ``("done", ok)``; ``http11``: whether
    the peer parses chunked framing; ``framing``: what the head chose."""

    def __init__(self) -> None:
        self.closed = False
        self.calls: list = []
        self.framing = None
        self.http11 = True

    def send_head(self, resp, first, final):
        self.framing = body_framing(resp, first, final, True)
        self.calls.append(("head", resp.head, first if resp.send_body else b"", final))
        return 10

    def peer_parses_chunked(self):
        return self.http11

    def send_body(self, data):
        self.calls.append(("body", data))

    def finish(self):
        self.calls.append(("finish",))

    def send_error(self, status, reason, detail=""):
        self.calls.append(("error", status))
        return 0, 0, 5

    def abort(self):
        self.closed = True
        self.calls.append(("abort",))

    def detach(self):
        raise AssertionError("no detach here")

    def request_done(self, ok):
        self.calls.append(("done", ok))
