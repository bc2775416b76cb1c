"""EPMD over the loop: register this node (connection kept open) and find peers' ports.

:mod:`.epmd` encodes and parses the messages (sans-IO); here one
:class:`EpmdClient` protocol per exchange moves them over the node's loop.
"""

from __future__ import annotations

import asyncio
from typing import Any, Callable, Optional, Tuple

from . import epmd
from .errors import EPMDError, ErlangError, ErlangProtocolError, NodeDown


class EpmdClient(asyncio.Protocol):
    """One EPMD exchange: send a request, collect the reply, parse it incrementally."""

    def __init__(self, request: bytes, parse: Callable[[bytes], Any], keep_open: bool) -> None:
        self.request = request
        self.parse = parse
        self.keep_open = keep_open
        self.buf = b""
        self.result: "asyncio.Future[Any]" = asyncio.get_running_loop().create_future()
        self.transport: Optional[asyncio.Transport] = None
        self.on_lost: Optional[Callable[[Optional[BaseException]], None]] = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        transport.write(self.request)  # type: ignore[attr-defined]

    def _parse(self) -> bool:
        """Try to complete ``result`` from ``buf``: True once it is done."""
        try:
            parsed = self.parse(self.buf)
        except ErlangError as e:
            self.result.set_exception(e)
            return True
        if parsed is None:
            return False
        self.result.set_result(parsed)
        return True

    def data_received(self, data: bytes) -> None:
        if self.result.done():
            return
        self.buf += data
        if self._parse() and not self.keep_open and self.transport is not None:
            self.transport.close()

    def connection_lost(self, exc: Optional[BaseException]) -> None:
        if not self.result.done():
            if self.buf and self._parse():
                return
            self.result.set_exception(
                ErlangProtocolError("EPMD closed the connection before answering (%d bytes)" % len(self.buf), "epmd")
            )
        elif self.on_lost is not None:
            self.on_lost(exc)


async def register(
    loop: asyncio.AbstractEventLoop, host: str, port: int, alive: str, full: str, our_port: int, hidden: bool, timeout: float
) -> Tuple[EpmdClient, int]:
    """ALIVE2 for ``alive`` listening on ``our_port``: the open client (closing its
    transport unregisters the name) and the creation EPMD gave."""
    client = EpmdClient(epmd.encode_alive2_req(our_port, alive, hidden=hidden), epmd.parse_alive2_response, keep_open=True)
    try:
        await asyncio.wait_for(loop.create_connection(lambda: client, host, port), timeout)
    except (OSError, asyncio.TimeoutError) as e:
        raise EPMDError(
            "cannot reach EPMD at %s:%d to register %s: %s (is epmd running? `epmd -daemon`)"
            % (host, port, full, e or "timeout")
        ) from None
    resp = await asyncio.wait_for(client.result, timeout)
    if resp.result != 0:
        if client.transport is not None:
            client.transport.close()
        raise EPMDError("EPMD refused to register %s (result %d): the name is already in use" % (full, resp.result))
    return client, resp.creation


async def port_please(loop: asyncio.AbstractEventLoop, host: str, port: int, alive: str, peer: str) -> int:
    """The distribution port of ``peer`` (alive part ``alive``) from the EPMD on ``host``."""
    try:
        client = EpmdClient(epmd.encode_port_please2_req(alive), epmd.parse_port2_response, False)
        await loop.create_connection(lambda: client, host, port)
        resp = await client.result
    except OSError as e:
        raise NodeDown("cannot reach EPMD on %s to find %s: %s" % (host, peer, e)) from None
    if resp.result != 0:
        raise NodeDown("node %s is not registered in EPMD on %s" % (peer, host))
    return int(resp.port)
