"""The demo's smoke test: log in, open a room, connect, subscribe to the room's chat channel
from the page's position (the wire format of docs/channels-presence-history.md, without the JS
client), publish and receive a message, receive pushes.

Run by ``scripts/demo.sh --smoke`` once Django and the local gateway are up; uses only what the
``[local]`` extra installs (aiohttp). Exit status 0 and ``smoke OK`` when everything worked.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
from typing import Any

import aiohttp

TIMEOUT = 15.0


def websocket_config(page: str) -> dict[str, Any]:
    """What ``{% websocket_config %}`` rendered: the JSON the page's client connects with."""
    found = re.search(
        r'<script id="websocket-config" type="application/json">(.*?)</script>', page, re.S
    )
    if found is None:
        raise RuntimeError("the room page has no websocket_config: is the gateway running?")
    config: dict[str, Any] = json.loads(found[1])
    return config


async def receive(ws: aiohttp.ClientWebSocketResponse, kind: str) -> dict[str, Any]:
    """The next message of type ``kind`` (others, e.g. pushes from elsewhere, are skipped)."""
    while True:
        message = await ws.receive(timeout=TIMEOUT)
        if message.type is not aiohttp.WSMsgType.TEXT:
            raise RuntimeError(f"socket closed while waiting for {kind}: {message}")
        data: dict[str, Any] = json.loads(message.data)
        if data.get("type") == kind:
            return data
        if "message" in data and "type" not in data:
            raise RuntimeError(f"gateway error: {data}")


async def smoke(base: str, username: str, password: str, room: str) -> None:
    timeout = aiohttp.ClientTimeout(total=TIMEOUT)
    jar = aiohttp.CookieJar(unsafe=True)  # cookies for 127.0.0.1, as a browser keeps them
    async with aiohttp.ClientSession(cookie_jar=jar, timeout=timeout) as session:
        async with session.get(f"{base}/login/") as response:
            page = await response.text()
        csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
        if csrf is None:
            raise RuntimeError("no CSRF token on the login page")
        form = {"username": username, "password": password, "csrfmiddlewaretoken": csrf[1]}
        async with session.post(f"{base}/login/", data=form, headers={"Referer": base}) as response:
            if "/login/" in str(response.url):
                raise RuntimeError("login failed")
        async with session.get(f"{base}/room/{room}/") as response:
            page = await response.text()
        config = websocket_config(page)
        websocket_url = config.get("url")
        if not websocket_url:
            raise RuntimeError("the room page has no WebSocket URL: is the gateway running?")
        headers = {"X-CSRFToken": config["csrfToken"], "Referer": base}
        async with session.post(f"{base}{config['tokenUrl']}", headers=headers) as response:
            token = (await response.json())["token"]
        print(f"connecting to {websocket_url}")
        async with session.ws_connect(
            f"{websocket_url}&ws_token={token}", origin=base, compress=15, timeout=timeout
        ) as ws:
            route = {config["routeSelectionKey"]: config["routeKey"]}  # {"action": "chat"}
            await ws.send_str(json.dumps({**route, "handler": "whoami"}))
            me = await receive(ws, "whoami")
            print(f"connected as {me['user']} ({me['connectionId']}) in #{me['room']}")
            # the room's chat channel, from the position the page was rendered at
            (channel,) = config["channels"]
            since = config["positions"][channel]
            item = {"channel": channel, "since": since}
            await ws.send_str(json.dumps({**route, "handler": "subscribe", "channels": [item]}))
            (entry,) = (await receive(ws, "subscribed"))["channels"]
            assert entry["recovered"] is True and entry["epoch"] == since["epoch"], entry
            members = [m["info"]["name"] for m in entry["presence"]["members"]]
            assert me["user"] in members, entry
            print(f"subscribed to {channel} at offset {entry['offset']}; online: {members}")
            await ws.send_str(json.dumps({**route, "handler": "say", "text": "hello"}))
            publication = await receive(ws, "publication")
            line = publication["data"]
            assert line["text"] == "hello" and publication["offset"] > since["offset"], publication
            print(f"room publication {publication['offset']}: {line['user']}: {line['text']}")
            for scope in ("connection", "user", "channel", "everyone"):
                form = {"scope": scope, "channel": room, "connection_id": me["connectionId"]}
                async with session.post(f"{base}/push/", data=form, headers=headers) as response:
                    sent = (await response.json())["sent"]
                push = await receive(ws, "push")
                assert push["scope"] == scope and sent >= 1, (push, sent)
                print(f"push to {scope} received")
    print("smoke OK")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--username", default="demo")
    parser.add_argument("--password", default="demo")
    parser.add_argument("--room", default="lobby")
    args = parser.parse_args()
    try:
        asyncio.run(smoke(args.url.rstrip("/"), args.username, args.password, args.room))
    except Exception as error:
        print(f"smoke FAILED: {type(error).__name__}: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
