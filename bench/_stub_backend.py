"""A bare integration backend (aiohttp) for ``gateway_capacity.py``: accepts every ``$connect``
and ``$disconnect`` and answers each message with its own body (``$default`` is two-way, so the
local gateway sends it back to the client as one frame)."""

from __future__ import annotations

import argparse

from aiohttp import web


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()

    async def handle(request: web.Request) -> web.Response:
        body = await request.read()
        if request.path.endswith("/default"):
            return web.Response(body=body, content_type="application/json")
        return web.json_response({})

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    web.run_app(app, host="127.0.0.1", port=args.port, access_log=None, print=None, backlog=4096)


if __name__ == "__main__":
    main()
