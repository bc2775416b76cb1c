"""Reading the stats server the way ``telnet host 9191`` or uwsgitop does: connect, read the
JSON document to EOF."""

from __future__ import annotations

import json
import re
import socket
from typing import Any, Dict

from support.httpclient import read_to_eof


def stats_port(srv: Any) -> int:
    """The port of a server started with ``--stats 127.0.0.1:0``, from its ready line."""
    return int(re.search(r"stats=127.0.0.1:(\d+)", srv.output()).group(1))  # type: ignore[union-attr]


def fetch_stats(port: int, host: str = "127.0.0.1") -> Dict[str, Any]:
    """One stats document."""
    with socket.create_connection((host, port), timeout=5) as s:
        return json.loads(read_to_eof(s))
