"""A bare ``@connections`` endpoint (aiohttp): waits ``--latency-ms`` and answers 200 to any POST.

Not the local gateway: it measures what the client side alone costs (``fanout.py --target
stub``), with the least server work possible.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from aiohttp import web


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    args = parser.parse_args()
    delay = args.latency_ms / 1000

    async def post(request: web.Request) -> web.Response:
        await request.read()
        if delay:
            await asyncio.sleep(delay)
        return web.Response(status=200, headers={"x-amzn-RequestId": "stub"})

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", post)
    print("ready", flush=True)
    web.run_app(app, host="127.0.0.1", port=args.port, access_log=None, print=None, backlog=4096)
    sys.exit(0)


if __name__ == "__main__":
    main()
