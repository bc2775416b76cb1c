"""WebSocket echo with uWSGI's API (the same file runs on gateway and on real uWSGI)."""

import uwsgi


def application(environ, start_response):
    uwsgi.websocket_handshake(environ["HTTP_SEC_WEBSOCKET_KEY"], environ.get("HTTP_ORIGIN", ""))
    while True:
        msg = uwsgi.websocket_recv()
        uwsgi.websocket_send_binary(msg)
