"""How many RPC functions fit (``--rpc-max``): ``/register?N`` registers ``f0``..``f<N-1>``.

Answers a Python literal: how many registrations succeeded, the first error, and
``len(uwsgi.rpc_list())``.
"""

import uwsgi


def application(environ, start_response):
    wanted = int(environ.get("QUERY_STRING") or 0)
    registered, error = 0, None
    for i in range(wanted):
        try:
            uwsgi.register_rpc("f%d" % i, lambda i=i: b"%d" % i)
        except ValueError as e:
            error = str(e)
            break
        registered += 1
    body = repr({"registered": registered, "error": error, "listed": len(uwsgi.rpc_list())}).encode()
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [body]
