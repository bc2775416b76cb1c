"""The server side of uWSGI RPC: what every ``--socket`` answers to a modifier1 173 packet.

``server/uwsgi.py`` reads the packet, takes a core (an RPC call counts as a request in
the worker's counters but is not written to the access log, as in uWSGI), calls
:func:`answer` there, writes the buffers it returns and closes the connection.  The
function runs through :func:`gateway.rpc.invoke`, the same path as ``uwsgi.call`` and
Erlang's ``rpc:call``, so it may suspend its core (``loop_engine.wait``, a nested
``uwsgi.rpc`` to another node) without stalling the others.

modifier2 of the request (reference/uwsgi.md §1.7):

* 0: the result in a reply packet (the modifier2 5 form over 65535 bytes); "no result"
  (``None``/``b""``) is an empty packet, which every client reads as ``None``; an
  unknown function, an exception or a malformed request is an empty packet whose
  modifier2 says which (``gateway.protocol.uwsgi_rpc.REPLY_ERRORS``: a gateway client
  raises the matching exception, a uWSGI client sees ``None``).  uWSGI closes without
  a byte in all four cases.
* 1 (and any other value, as uWSGI): the raw result, for nginx (``uwsgi_modifier2 1``);
  on no result or failure the connection is closed without a byte (nginx: 502), as uWSGI.
  A trailing zero-length item (the documented ``uwsgi_param bar "";`` padding) is skipped,
  where uWSGI 2.0.31 refuses the whole packet.
* 2: the HTTP bridge: the payload is a vars block, ``PATH_INFO`` ``/func/arg1/arg2``;
  200 with the result, 404 for an unknown function or no result, 500 without a
  function name or when the function raised (uWSGI: 404 for that too).  A packet
  that is not a vars block, or an empty one (uWSGI: ``Empty RPC request. skip.``),
  is closed without a byte, as uWSGI.
"""

from __future__ import annotations

from typing import Dict, List

from gateway import rpc
from gateway.logs import gen_log
from gateway.protocol import uwsgi_rpc as wire
from gateway.protocol.errors import RemoteProtocolError
from gateway.protocol.uwsgi import decode_vars

#: vars a modifier2 2 request may carry (nginx's uwsgi_params + headers; uWSGI's --max-vars pairs)
MAX_BRIDGE_VARS = 128


def answer(modifier2: int, payload: bytes, peer: str = "-") -> List[bytes]:
    """The bytes to write for an RPC packet, then close.  Never raises; logs its errors."""
    if modifier2 == wire.MOD2_HTTP:
        return _http_bridge(payload, peer)
    packet = modifier2 == wire.MOD2_PACKET
    try:
        name, args = wire.decode_request(payload)
    except wire.RPCWireError as e:
        gen_log.info("uwsgi RPC from %s: invalid request: %s", peer, e)
        return [wire.encode_error_reply(wire.ERR_BAD_REQUEST)] if packet else []
    try:
        result = rpc.invoke(name, args)
    except rpc.RPCUnknownFunction:
        gen_log.info("uwsgi RPC from %s: unknown function %r", peer, name)
        return [wire.encode_error_reply(wire.ERR_UNKNOWN)] if packet else []
    except rpc.RPCFunctionError:
        return [wire.encode_error_reply(wire.ERR_RAISED)] if packet else []  # logged by invoke
    except Exception:  # a bug of ours, not of the function: still never kill the core
        gen_log.error("uwsgi RPC from %s: error answering %r", peer, name, exc_info=True)
        return []
    if result is None:
        return wire.encode_reply(b"") if packet else []
    return wire.encode_reply(result, wire.MOD2_PACKET if packet else wire.MOD2_RAW)


def _http_bridge(payload: bytes, peer: str) -> List[bytes]:
    if not payload:
        gen_log.info("uwsgi RPC (HTTP bridge) from %s: empty request", peer)
        return []
    try:
        env = _vars(payload)
        proto = env.get(b"SERVER_PROTOCOL")
        call = wire.http_bridge_call(env.get(b"PATH_INFO", b""))
    except RemoteProtocolError as e:
        gen_log.info("uwsgi RPC (HTTP bridge) from %s: invalid request: %s", peer, e)
        return []
    if call is None:
        return [wire.http_bridge_error(500, proto)]
    name, args = call
    try:
        result = rpc.invoke(name, args)
    except rpc.RPCUnknownFunction:
        return [wire.http_bridge_error(404, proto)]
    except Exception:
        return [wire.http_bridge_error(500, proto)]
    if result is None:
        return [wire.http_bridge_error(404, proto)]
    return wire.http_bridge_reply(result, proto, env.get(b"HTTP_ACCEPT"))


def _vars(payload: bytes) -> Dict[bytes, bytes]:
    """A vars block as a dict (the last of duplicate keys wins, as in uWSGI's environ)."""
    return dict(decode_vars(payload, MAX_BRIDGE_VARS))
