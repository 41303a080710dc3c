#!/usr/bin/python3
"""A fake websocket server for the ws_client tests (tests/unit/test_net_ws_client.c).

Binds 127.0.0.1 on an ephemeral port and prints the port on stdout. Echoes every message,
except these commands:
  close:<code>:<reason>   closes the connection with that code and reason
  frag:<a>,<b>,...        sends one text message in fragments a, b, ...
  big:<n>                 sends one message of n bytes of 'x'
"""
import asyncio

import websockets


async def handler(ws, path=None):
    try:
        async for msg in ws:
            if isinstance(msg, str) and msg.startswith("close:"):
                _, code, reason = msg.split(":", 2)
                await ws.close(int(code), reason)
                return
            if isinstance(msg, str) and msg.startswith("frag:"):
                await ws.send(msg[5:].split(","))
            elif isinstance(msg, str) and msg.startswith("big:"):
                await ws.send("x" * int(msg[4:]))
            else:
                await ws.send(msg)
    except websockets.ConnectionClosed:
        pass


async def main():
    async with websockets.serve(handler, "127.0.0.1", 0, max_size=None) as server:
        print(server.sockets[0].getsockname()[1], flush=True)
        await asyncio.Future()


if __name__ == "__main__":
    asyncio.run(main())
