"""Erlang both ways: ``gateway --http-socket :9090 --wsgi-file examples/erlang_node.py
--tornado 10 --greenlet --erlang gw@localhost --erlang-cookie SECRET``

* From Erlang (``erl -sname a@localhost -setcookie SECRET``):
  ``rpc:call(gw@localhost, anymodule, hello, [<<"bob">>]).`` runs :func:`hello`, and
  ``{myprocess, gw@localhost} ! {self(), ping}.`` calls :func:`on_message`.
* From HTTP: ``curl 'localhost:9090/?node=a@localhost'`` calls ``erlang:node()`` there
  through ``uwsgi.erlang_rpc`` (the request's core waits, the others keep serving).
"""

from urllib.parse import parse_qs

import uwsgi


def hello(name=b"world"):
    return b"Hello, " + name


uwsgi.register_rpc("hello", hello)


def on_message(msg):
    uwsgi.log("myprocess got %r" % (msg,))


uwsgi.erlang_register_process("myprocess", on_message)


def application(environ, start_response):
    node = parse_qs(environ["QUERY_STRING"]).get("node", ["a@localhost"])[0]
    result = uwsgi.erlang_rpc(node, "erlang", "node", [], timeout=5)
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [("%s answered %r\n" % (node, result)).encode()]
