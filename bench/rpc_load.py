"""RPC load generator: CONC coroutines calling ``hello(b"x")`` on NODE for SECONDS.

    python bench/rpc_load.py 127.0.0.1:3031 [CONC=32] [SECONDS=5]

Prints one JSON line: calls, errors, seconds.  Uses gateway's client (``gateway.rpc.call_async``)
on uvloop when installed; one new connection per call, as every uWSGI RPC client does.
"""

import asyncio
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from gateway import rpc


async def main(node: str, conc: int, seconds: float) -> None:
    calls = errors = 0
    deadline = time.monotonic() + seconds

    async def worker() -> None:
        nonlocal calls, errors
        while time.monotonic() < deadline:
            try:
                if await rpc.call_async(node, b"hello", b"x", timeout=5) == b"Hello x":
                    calls += 1
                else:
                    errors += 1
            except rpc.RPCError:
                errors += 1

    t0 = time.monotonic()
    await asyncio.gather(*(worker() for _ in range(conc)))
    print(json.dumps({"calls": calls, "errors": errors, "seconds": time.monotonic() - t0}))


if __name__ == "__main__":
    try:
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    except ImportError:
        pass
    args = sys.argv[1:]
    asyncio.run(main(args[0], int(args[1]) if len(args) > 1 else 32, float(args[2]) if len(args) > 2 else 5.0))
