#!/usr/bin/python3
"""Drives the daemon's HTTP server from Python for tests/unit/test_net_http_server.c.

Usage: net_http_client.py PORT SCENARIO [ARG]. Each scenario checks what the server answers and
exits 0, or prints what went wrong and exits 1. The C test owns the routes (see there).
"""
import asyncio
import http.client
import json
import socket
import sys
import urllib.error
import urllib.parse
import urllib.request

import websockets

PORT = int(sys.argv[1])
BASE = "http://127.0.0.1:%d" % PORT
WS = "ws://127.0.0.1:%d" % PORT


def check(cond, what):
    if not cond:
        print("FAIL: " + what, file=sys.stderr, flush=True)
        sys.exit(1)


def get(path, data=None, headers=None, method=None):
    req = urllib.request.Request(BASE + path, data=data, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


def raw(data, read=True):
    """Sends bytes on a fresh connection and returns whatever comes back before it closes."""
    s = socket.create_connection(("127.0.0.1", PORT), timeout=10)
    s.sendall(data)
    out = b""
    if read:
        try:
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                out += chunk
        except (ConnectionResetError, socket.timeout):
            pass
    s.close()
    return out


def routes():
    st, h, body = get("/hello")
    check(st == 200 and body == b"hi", "GET /hello: %r %r" % (st, body))
    check(h.get("X-Extra") == "1", "extra header: %r" % h.items())
    check(h.get("Bad Header") is None, "malformed extra header passed: %r" % h.items())
    check(h.get("Content-Type", "").startswith("text/plain"), "content type: %r" % h.items())

    st, h, body = get("/nope")
    check(st == 404, "404 status: %r" % st)
    check(json.loads(body) == {"error": "not found"}, "404 body: %r" % body)
    check(h.get("Content-Type") == "application/json", "404 type: %r" % h.items())

    st, _, body = get("/api/special")
    check(st == 200 and body == b"special", "longest match: %r %r" % (st, body))
    st, _, body = get("/hello/")
    check(st == 404, "exact route must not match below it: %r" % st)
    st, _, body = get("/api")
    check(st == 404, "prefix route must not match its parent: %r" % st)

    st, _, body = get("/api/x/y?a=1&b=two%26three&c=sp+ace&d=%2B")
    check(st == 200, "GET /api/x/y: %r" % st)
    j = json.loads(body)
    check(j["method"] == "GET" and j["path"] == "/api/x/y", "reflected: %r" % j)
    q = urllib.parse.parse_qs(j["query"])
    check(q.get("a") == ["1"] and q.get("b") == ["two&three"], "query: %r" % j["query"])
    check(q.get("c") == ["sp ace"] and q.get("d") == ["+"], "query encoding: %r" % j["query"])
    check(j["peer"] == "127.0.0.1", "peer: %r" % j["peer"])
    check(j["host"] == "127.0.0.1:%d" % PORT, "host header: %r" % j)
    st, _, body = get("/api/q?a=1&&b=&=c&d")
    check(json.loads(body)["query"] == "a=1&b=&=c&d", "empty query parts: %r" % body)

    payload = b'{"k": "v", "n": [1, 2, 3]}' * 4
    st, _, body = get("/api/echo", data=payload, headers={
        "Content-Type": "application/json", "X-Custom-Thing": "42", "Origin": "http://o.example",
        "Cookie": "a=b", "Authorization": "Bearer t", "User-Agent": "net-test"})
    check(st == 200, "POST: %r" % st)
    j = json.loads(body)
    check(j["method"] == "POST" and j["body_len"] == len(payload), "POST body: %r" % j)
    check(j["body"] == payload.decode(), "POST body bytes: %r" % j)
    check(j["ctype"] == "application/json", "content-type: %r" % j)
    check(j["custom"] == "42", "custom header: %r" % j)
    check(j["origin"] == "http://o.example", "origin: %r" % j)
    check(j["cookie"] == "a=b", "cookie: %r" % j)
    check(j["auth"] == "Bearer t", "authorization: %r" % j)
    check(j["ua"] == "net-test", "user-agent: %r" % j)
    check(j["missing"] is None, "missing header: %r" % j)

    st, _, body = get("/api/put", data=b"xyz", method="PUT")
    j = json.loads(body)
    check(st == 200 and j["method"] == "PUT" and j["body"] == "xyz", "PUT: %r" % j)

    st, _, body = get("/api/fail")
    check(st == 500 and json.loads(body) == {"error": "internal error"}, "failing route: %r" % st)

    # several requests on one keep-alive connection
    c = http.client.HTTPConnection("127.0.0.1", PORT, timeout=10)
    for i in range(3):
        c.request("POST", "/api/ka", body=b"n%d" % i)
        r = c.getresponse()
        j = json.loads(r.read())
        check(r.status == 200 and j["body"] == "n%d" % i, "keep-alive %d: %r" % (i, j))
    c.request("GET", "/hello")
    r = c.getresponse()
    check(r.read() == b"hi", "keep-alive GET")
    c.close()

    # a big response goes out in chunks
    st, _, body = get("/big")
    check(st == 200 and body == bytes(range(256)) * 4096, "big response: %r" % len(body))


def too_big():
    st, h, body = get("/api/echo", data=b"x" * 2048)
    check(st == 413, "413 status: %r" % st)
    check(json.loads(body)["error"] == "request body too large", "413 body: %r" % body)
    # a body far beyond the limit: refused without reading it all
    out = raw(b"POST /api/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100000000\r\n\r\n" +
              b"y" * 1000)
    check(out == b"" or b" 413 " in out.split(b"\r\n")[0], "huge body: %r" % out[:80])
    # the limit itself is fine
    st, _, body = get("/api/echo", data=b"x" * 1024)
    check(st == 200 and json.loads(body)["body_len"] == 1024, "body at the limit: %r" % st)


def malformed():
    out = raw(b"GARBAGE\r\n\r\n")
    check(not out.startswith(b"HTTP/1.1 200"), "garbage request line answered 200")
    raw(bytes((i * 37) & 0xFF for i in range(4096)))
    raw(b"GET /hello HTTP/1.1\r\nHost: x\r\n" + b"X-Long: " + b"a" * 20000 + b"\r\n\r\n")
    for cl in (b"-5", b"12abc"):
        out = raw(b"GET /hello HTTP/1.1\r\nHost: x\r\nContent-Length: " + cl + b"\r\n\r\n")
        check(out.startswith(b"HTTP/1.1 400 "), "bad content-length %r: %r" % (cl, out[:40]))
    out = raw(b"POST /api/echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
              b"5\r\nhello\r\n0\r\n\r\n")
    check(out.startswith(b"HTTP/1.1 411 "), "chunked body: %r" % out[:40])
    out = raw(b"GET /hello HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nConnection: close\r\n\r\n"
              b"abcde")
    check(out.startswith(b"HTTP/1.1 200 ") and out.endswith(b"\r\n\r\nhi"), "GET with a body")
    raw(b"GET /hello HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc", read=False)
    raw(b"GET /hello HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
    raw(b"GET /ws/chat HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Version: 13\r\n\r\n")
    raw(b"\r\n\r\n\r\n")
    raw(b"GET /%%%00zz HTTP/1.1\r\nHost: x\r\n\r\n")
    # and it still serves
    st, _, body = get("/hello")
    check(st == 200 and body == b"hi", "server after garbage: %r" % st)


async def ws_main():
    async with websockets.connect(WS + "/ws/chat?token=ok", origin="http://good.example",
                                  max_size=None) as ws:
        await ws.send("hello")
        check(await ws.recv() == "echo:hello", "ws echo")
        await ws.send(["ab", "cd", "ef"])  # one message in three fragments
        check(await ws.recv() == "echo:abcdef", "ws fragments")
        await ws.send("push")
        got = [await ws.recv() for _ in range(3)]
        check(got == ["push 0", "push 1", "push 2"], "server push: %r" % got)
        await ws.send("x" * 1024)  # exactly max_message
        check(await ws.recv() == "echo:" + "x" * 1024, "ws message at the limit")
        await ws.send("x" * 5000)
        try:
            await asyncio.wait_for(ws.recv(), 10)
            check(False, "oversized message was answered")
        except websockets.ConnectionClosed:
            pass
        check(ws.close_code == 1009, "oversize close code: %r" % ws.close_code)
        check(ws.close_reason == "message too big", "oversize reason: %r" % ws.close_reason)

    async with websockets.connect(WS + "/ws/chat?token=ok", origin="http://good.example") as ws:
        await ws.send(["x" * 600, "y" * 600])  # fragments that add up over the limit
        try:
            await asyncio.wait_for(ws.recv(), 10)
            check(False, "oversized fragmented message was answered")
        except websockets.ConnectionClosed:
            pass
        check(ws.close_code == 1009, "fragmented oversize close code: %r" % ws.close_code)

    async with websockets.connect(WS + "/ws/chat?token=ok", origin="http://good.example") as ws:
        await ws.send("close")
        try:
            await asyncio.wait_for(ws.recv(), 10)
            check(False, "expected a close")
        except websockets.ConnectionClosed:
            pass
        check(ws.close_code == 4000 and ws.close_reason == "bye", "server close: %r %r" %
              (ws.close_code, ws.close_reason))

    async with websockets.connect(WS + "/ws/chat?token=ok", origin="http://good.example") as ws:
        await ws.send("hello")
        check(await ws.recv() == "echo:hello", "second ws echo")
    # client-initiated close above; the route's on_close runs (counted by the C side)

    for origin, path, want in (("http://evil.example", "/ws/chat?token=ok", 403),
                               ("http://good.example", "/ws/chat?token=no", 401),
                               ("http://good.example", "/nowhere", 404)):
        try:
            async with websockets.connect(WS + path, origin=origin):
                check(False, "upgrade should be refused: " + path)
        except websockets.InvalidStatusCode as e:
            check(e.status_code == want, "refusal status %r for %s" % (e.status_code, path))

    # plain HTTP to a websocket-only path
    st, _, _ = get("/ws/chat")
    check(st == 426, "GET on a websocket route: %r" % st)


def ws():
    asyncio.run(ws_main())


async def hold_main(want):
    async with websockets.connect(WS + "/ws/chat?token=ok", origin="http://good.example") as ws:
        await ws.send("hello")
        check(await ws.recv() == "echo:hello", "held ws echo")
        await ws.send("ready")  # the C side now ends the connection (server stop or unroute)
        try:
            while True:
                await asyncio.wait_for(ws.recv(), 20)
        except websockets.ConnectionClosed:
            pass
        check(want == "any" or ws.close_code == int(want), "close code %r" % ws.close_code)


def hold():
    asyncio.run(hold_main(sys.argv[3]))


def gone():
    for path in ("/hello", "/api/x", "/big"):
        st, _, body = get(path)
        check(st == 404 and json.loads(body) == {"error": "not found"}, "unrouted %s: %r" %
              (path, st))


SCENARIOS = {"routes": routes, "too_big": too_big, "malformed": malformed, "ws": ws,
             "gone": gone, "hold": hold}

if __name__ == "__main__":
    SCENARIOS[sys.argv[2]]()
    sys.exit(0)
