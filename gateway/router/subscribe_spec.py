"""The instance side of uWSGI's subscription system, sans-IO: reading ``--subscribe-to``
and ``--subscribe2`` values, and building the announce datagrams.

``--subscribe-to`` (aliases ``--st``, ``--subscribe``) takes uWSGI's compact form::

    [SOCKET=]SERVER:KEY[,MODIFIER1]       SERVER: HOST:PORT, [IPv6]:PORT (UDP), /unix/path, @abstract
    [SOCKET=]SERVER:@FILE                 FILE holds one KEY[,MODIFIER1] a line (# comments)
    =N=SERVER:KEY                         announce this instance's N-th socket (from 0)

``--subscribe2`` the key=value form::

    server=HOST:PORT,key=KEY[,socket=N][,addr=ADDR][,weight=W][,modifier1=M][,modifier2=M]
        [,check=FILE][,sni_key=..][,sni_crt=..][,sni_ca=..]

The announced address is ``SOCKET``/``addr`` when given, else this instance's first
socket (the datagram: :func:`gateway.router.subscription.encode_subscription`).  Unlike uWSGI, which silently skips a value it cannot read, a malformed value is a
startup error naming the option (:class:`SubscribeSpecError`); signed announces (the
``,SIGN`` suffix, ``sign=``) are refused: gateway signs nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional, Tuple

from gateway.router.subscription import MAX_KEY_SIZE

__all__ = ["SubscribeSpecError", "SubscribeTarget", "parse_subscribe_to", "parse_subscribe2", "read_keys_file",
           "MAX_KEYS_FILE"]

#: bytes read from a ``SERVER:@FILE`` keys file
MAX_KEYS_FILE = 64 * 1024
_SUBSCRIBE2_KEYS = ("server", "key", "socket", "addr", "weight", "modifier1", "modifier2", "sign", "check",
                    "sni_key", "sni_crt", "sni_ca")


class SubscribeSpecError(ValueError):
    """A ``--subscribe-to``/``--subscribe2`` value gateway cannot use; ``str()`` names the option."""


@dataclass(frozen=True)
class SubscribeTarget:
    """One subscription: where to announce (``server``) what (``key``, or the keys of ``keys_file``)."""

    server: str
    key: str = ""
    keys_file: str = ""
    #: the address announced; "" means the socket numbered ``socket_index`` (the first by default)
    address: str = ""
    socket_index: int = 0
    modifier1: int = 0
    modifier2: int = 0
    #: ``--subscribe2 weight=``: overrides ``--weight`` (None: use it)
    weight: Optional[int] = None
    #: ``--subscribe2 check=FILE``: nothing is sent while FILE exists
    check: str = ""
    sni: Tuple[Tuple[str, str], ...] = ()


def _fail(option: str, value: str, why: str) -> SubscribeSpecError:
    return SubscribeSpecError("--%s %s: %s" % (option, value, why))


def _byte(option: str, value: str, name: str, raw: str) -> int:
    if not raw.isdigit() or int(raw) > 255:
        raise _fail(option, value, "%s must be a number from 0 to 255, not %r" % (name, raw))
    return int(raw)


def _check_server(option: str, value: str, server: str) -> None:
    if server.startswith("/") or (server.startswith("@") and len(server) > 1):
        return
    host, sep, port = server.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536 or not host:
        raise _fail(option, value, "the subscription server must be HOST:PORT, a /unix/path or an @abstract name, not %r" % server)


def _check_key(option: str, value: str, key: str) -> None:
    if not key:
        raise _fail(option, value, "no key to subscribe (expected SERVER:KEY)")
    if len(key.encode("latin-1", "replace")) > MAX_KEY_SIZE:
        raise _fail(option, value, "the key is over %d bytes" % MAX_KEY_SIZE)


#: the longest ``sni_key``/``sni_crt``/``sni_ca`` value: with a key and an address of 255
#: bytes the datagram stays under the router's 4096 bytes (gateway.router.subscription.MAX_DATAGRAM)
MAX_SNI_VALUE = 1024


def _check_address(option: str, value: str, address: str) -> None:
    # the router refuses a longer address (uWSGI's too): the announces would go nowhere, silently
    if len(address.encode("latin-1", "replace")) > MAX_KEY_SIZE:
        raise _fail(option, value, "the announced address is over %d bytes" % MAX_KEY_SIZE)


def parse_subscribe_to(value: str, option: str = "subscribe-to") -> SubscribeTarget:
    """``[SOCKET=]SERVER:KEY[,MODIFIER1]``, ``SERVER:@FILE`` or ``=N=SERVER:KEY`` (see the module doc)."""
    rest = value
    address, index = "", 0
    if rest.startswith("="):
        number, sep, rest = rest[1:].partition("=")
        if not sep or not number.isdigit():
            raise _fail(option, value, "expected =N=SERVER:KEY (N: the number of one of this instance's sockets)")
        index = int(number)
    elif "=" in rest:
        address, _, rest = rest.partition("=")
        if not address:
            raise _fail(option, value, "empty socket name before '='")
    if rest.startswith(("/", "@")):
        cut = rest.find(":", 1)
    elif rest.startswith("["):  # [IPv6]:PORT (uWSGI takes IPv4 only)
        port = rest.find("]:")
        cut = rest.find(":", port + 2) if port >= 0 else -1
    else:
        port = rest.find(":")
        cut = rest.find(":", port + 1) if port >= 0 else -1
    if cut < 0:
        raise _fail(option, value, "expected SERVER:KEY, SERVER being HOST:PORT or a /unix/path")
    server, key = rest[:cut], rest[cut + 1:]
    _check_server(option, value, server)
    _check_address(option, value, address)
    if key.startswith("@"):
        if not key[1:]:
            raise _fail(option, value, "no file name after '@'")
        return SubscribeTarget(server, keys_file=key[1:], address=address, socket_index=index)
    key, _, modifier = key.partition(",")
    modifier, sep, _sign = modifier.partition(",")
    if sep:
        raise _fail(option, value, "signed subscriptions (,SIGN) are not supported")
    _check_key(option, value, key)
    modifier1 = _byte(option, value, "modifier1", modifier) if modifier else 0
    return SubscribeTarget(server, key=key, address=address, socket_index=index, modifier1=modifier1)


def parse_subscribe2(value: str, option: str = "subscribe2") -> SubscribeTarget:
    """``server=...,key=...[,socket=N][,addr=...][,weight=...]...`` (see the module doc)."""
    found = {}
    for item in value.split(","):
        if not item:
            continue
        name, sep, raw = item.partition("=")
        if not sep:
            raise _fail(option, value, "%r is not KEY=VALUE" % item)
        if name not in _SUBSCRIBE2_KEYS:
            raise _fail(option, value, "unknown key %r (known: %s)" % (name, ", ".join(_SUBSCRIBE2_KEYS)))
        found[name] = raw
    if "sign" in found:
        raise _fail(option, value, "signed subscriptions (sign=) are not supported")
    server, key = found.get("server", ""), found.get("key", "")
    if not server or not key:
        raise _fail(option, value, "server= and key= are required")
    _check_server(option, value, server)
    _check_key(option, value, key)
    _check_address(option, value, found.get("addr", ""))
    for name in ("sni_key", "sni_crt", "sni_ca"):
        if len(found.get(name, "").encode("latin-1", "replace")) > MAX_SNI_VALUE:
            raise _fail(option, value, "%s is over %d bytes" % (name, MAX_SNI_VALUE))
    weight = None
    if "weight" in found:
        if not found["weight"].isdigit():
            raise _fail(option, value, "weight must be a number, not %r" % found["weight"])
        weight = int(found["weight"])
    index = 0
    if "socket" in found:
        if not found["socket"].isdigit():
            raise _fail(option, value, "socket must be a socket number, not %r" % found["socket"])
        index = int(found["socket"])
    return SubscribeTarget(
        server, key=key, address="" if "socket" in found else found.get("addr", ""), socket_index=index,
        modifier1=_byte(option, value, "modifier1", found["modifier1"]) if "modifier1" in found else 0,
        modifier2=_byte(option, value, "modifier2", found["modifier2"]) if "modifier2" in found else 0,
        weight=weight, check=found.get("check", ""),
        sni=tuple((name, found[name]) for name in ("sni_key", "sni_crt", "sni_ca") if name in found))


def read_keys_file(text: str) -> List[Tuple[str, int]]:
    """``[(key, modifier1)]`` from a keys file: one ``KEY[,MODIFIER1]`` a line; blank lines,
    ``#`` comments, over-long keys and unreadable modifiers are skipped."""
    out = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, _, modifier = line.partition(",")
        modifier = modifier.strip()
        if not key or len(key) > MAX_KEY_SIZE or (modifier and not (modifier.isdigit() and int(modifier) < 256)):
            continue
        out.append((key, int(modifier) if modifier else 0))
    return out
