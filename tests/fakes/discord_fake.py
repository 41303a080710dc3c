"""A fake Discord for the connector's integration tests: the gateway (python3-websockets, not
libwebsockets) and the REST routes the connector uses (http.server), on ephemeral loopback
ports, each in its own thread, behaving as docs/discord.md and shared/protocols/discord.md say
Discord does.

Gateway: HELLO with a short interval; ACKs that can be withheld (a zombie link); IDENTIFY
checked (token, privileged intents) and answered with READY whose resume_gateway_url points
back here; numbered dispatches kept per session and replayed on RESUME, then RESUMED; op 7,
op 9 true/false and any close code on demand; the 120-per-60-s send limit (close 4008) and
the 4096-byte frame limit (close 4002) enforced and recorded as violations.

REST: bot authorization and the DiscordBot User-Agent required; every JSON body checked
against Discord's OpenAPI description (discord_openapi.py); rate-limit headers with a bucket
shared by message create and edit per channel; route and global 429s on demand; 50007 for a
person whose DMs are closed; nonces honoured (enforce_nonce returns the first message).

Canned payloads come from shared/protocols/fixtures/discord/ (kord/...), loaded from there
and changed only where a value must be ours (ids, session, URLs): gateway/hello.json,
gateway/ready.json, gateway/resumed.json, gateway/invalid.json, gateway/reconnect.json,
rest/dmchannel.json, rest/message.json, rest/interaction_selectmenu.json.
"""

import asyncio
import copy
import itertools
import json
import os
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import websockets

from discord_openapi import Spec

FIXTURES = os.path.join(os.environ.get("PB_SOURCE_DIR", os.path.join(os.path.dirname(__file__),
                                                                     "..", "..")),
                        "..", "shared", "protocols", "fixtures", "discord", "kord")

BOT_ID = "845027738276462632"  # the author of the bot message in interaction_selectmenu.json
APP_ID = "845027738276462632"
PRIVILEGED = (1 << 1) | (1 << 8) | (1 << 15)


def fixture(name):
    with open(os.path.join(FIXTURES, name)) as f:
        return json.load(f)


class Conn:
    def __init__(self, ws, path, number):
        self.ws = ws
        self.path = path
        self.number = number
        self.frames = []       # what the client sent, parsed
        self.sent_times = []
        self.session = None
        self.ready = False
        self.client_close = None  # the code the client closed with
        self.server_close = None
        self.closed = False


class Session:
    def __init__(self, sid):
        self.id = sid
        self.seq = 0
        self.buffer = []  # every dispatch, for replay
        self.conn = None


class FakeDiscord:
    def __init__(self, token="bot-token-1", heartbeat_interval=1000, rate_limit=50,
                 rate_window=1.0):
        self.token = token
        self.heartbeat_interval = heartbeat_interval
        self.rate_limit = rate_limit      # per bucket and channel, per window
        self.rate_window = rate_window
        self.spec = Spec()
        self.cond = threading.Condition()
        self.ids = itertools.count(int(time.time() * 1000) << 22)
        # gateway state
        self.conns = []
        self.sessions = {}
        self.identifies = 0
        self.resumes = 0
        self.withhold_acks = False
        self.close_on_identify = None
        self.allow_privileged = False
        self.violations = []
        # REST state
        self.requests = []        # (method, path, body, status)
        self.schema_errors = []
        self.messages = {}        # id -> message
        self.nonces = {}          # (channel, nonce) -> message id
        self.dm_channels = {}     # user -> channel id
        self.closed_dms = set()   # users whose DMs are closed
        self.callbacks = []       # (time, interaction id, body)
        self.interactions = {}    # id -> (token, dispatched at)
        self.global_429 = 0       # the next N calls get a global 429
        self.route_429 = 0        # the next N message posts get a route 429
        self.buckets = {}         # (bucket, channel) -> [window start, count]
        self.rate_429s = 0        # 429s the client caused by exceeding a limit we announced
        self._start()

    # ---- threads -------------------------------------------------------------------------

    def _start(self):
        self.loop = asyncio.new_event_loop()
        started = threading.Event()

        async def serve():
            self.server = await websockets.serve(self._gateway, "127.0.0.1", 0,
                                                 max_size=2**20, ping_interval=None)
            self.ws_port = self.server.sockets[0].getsockname()[1]
            started.set()

        def run():
            asyncio.set_event_loop(self.loop)
            self.loop.run_until_complete(serve())
            self.loop.run_forever()

        self.ws_thread = threading.Thread(target=run, daemon=True)
        self.ws_thread.start()
        started.wait(10)
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                fake._rest(self, "GET")

            def do_POST(self):
                fake._rest(self, "POST")

            def do_PATCH(self):
                fake._rest(self, "PATCH")

        class Server(ThreadingHTTPServer):
            def handle_error(self, request, client_address):
                pass  # a daemon killed mid-request resets its connection; not news

        self.http = Server(("127.0.0.1", 0), Handler)
        self.http.daemon_threads = True
        self.http_port = self.http.server_address[1]
        self.http_thread = threading.Thread(target=self.http.serve_forever, daemon=True)
        self.http_thread.start()

    def close(self):
        self.http.shutdown()
        self.http.server_close()

        async def stop():
            self.server.close()
            await self.server.wait_closed()

        asyncio.run_coroutine_threadsafe(stop(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.ws_thread.join(10)

    @property
    def api_base(self):
        return f"http://127.0.0.1:{self.http_port}/api/v10"

    @property
    def gateway_url(self):
        return f"ws://127.0.0.1:{self.ws_port}"

    def wait_for(self, predicate, timeout=20, what="a condition", poll=None):
        """Waits until predicate() holds: woken by the fake's own state changes, or every
        `poll` seconds for a condition outside the fake (the daemon's store)."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                result = predicate()
                if result:
                    return result
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"fake Discord: timed out waiting for {what}")
                self.cond.wait(min(left, poll) if poll else left)

    def _changed(self):
        with self.cond:
            self.cond.notify_all()

    def _call(self, coro, timeout=10):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    # ---- gateway -------------------------------------------------------------------------

    async def _send(self, conn, frame):
        try:
            await conn.ws.send(json.dumps(frame))
        except websockets.ConnectionClosed:
            pass

    async def _close(self, conn, code, reason=""):
        conn.server_close = code
        try:
            await conn.ws.close(code, reason)
        except websockets.ConnectionClosed:
            pass

    async def _gateway(self, ws, path):
        with self.cond:
            conn = Conn(ws, path, len(self.conns))
            self.conns.append(conn)
            self.cond.notify_all()
        hello = fixture("gateway/hello.json")
        hello["d"]["heartbeat_interval"] = self.heartbeat_interval
        await self._send(conn, hello)
        try:
            async for raw in ws:
                await self._frame(conn, raw)
        except websockets.ConnectionClosed:
            pass
        with self.cond:
            conn.closed = True
            if ws.close_code is not None and conn.server_close is None:
                conn.client_close = ws.close_code
            if conn.session and conn.session.conn is conn:
                conn.session.conn = None
            self.cond.notify_all()

    async def _frame(self, conn, raw):
        now = time.monotonic()
        conn.sent_times = [t for t in conn.sent_times if t > now - 60] + [now]
        if len(conn.sent_times) > 120:
            self.violations.append(f"connection {conn.number}: more than 120 sends in 60 s")
            await self._close(conn, 4008, "rate limited")
            return
        if len(raw) > 4096:
            self.violations.append(f"connection {conn.number}: a frame over 4096 bytes")
            await self._close(conn, 4002, "decode error")
            return
        frame = json.loads(raw)
        with self.cond:
            conn.frames.append(frame)
            self.cond.notify_all()
        op = frame.get("op")
        if op == 1:
            if not self.withhold_acks:
                await self._send(conn, {"op": 11})
        elif op == 2:
            await self._identify(conn, frame["d"])
        elif op == 6:
            await self._resume(conn, frame["d"])

    async def _identify(self, conn, d):
        if d.get("token") != self.token:
            await self._close(conn, 4004, "Authentication failed.")
            return
        if self.close_on_identify:
            await self._close(conn, self.close_on_identify, "closed on identify")
            return
        if d.get("intents", 0) & PRIVILEGED and not self.allow_privileged:
            await self._close(conn, 4014, "Disallowed intent(s).")
            return
        with self.cond:
            self.identifies += 1
            sid = f"session-{self.identifies}"
            session = Session(sid)
            self.sessions[sid] = session
        ready = fixture("gateway/ready.json")
        ready["d"].update({
            "v": 10,
            "session_id": sid,
            "resume_gateway_url": f"ws://127.0.0.1:{self.ws_port}/resume",
            "application": {"id": APP_ID, "flags": 0},
        })
        ready["d"]["user"].update({"id": BOT_ID, "bot": True})
        ready["d"]["shard"] = [0, 1]
        await self._attach(conn, session, ready)

    async def _attach(self, conn, session, first):
        session.seq += 1
        first["s"] = session.seq
        session.buffer.append(first)
        with self.cond:
            session.conn = conn
            conn.session = session
        await self._send(conn, first)
        with self.cond:
            conn.ready = True
            self.cond.notify_all()

    async def _resume(self, conn, d):
        session = self.sessions.get(d.get("session_id"))
        if d.get("token") != self.token or not session:
            await self._send(conn, fixture("gateway/invalid.json"))
            return
        with self.cond:
            self.resumes += 1
        for frame in session.buffer:
            if frame["s"] > d.get("seq", 0):
                await self._send(conn, frame)
        resumed = fixture("gateway/resumed.json")
        resumed["d"] = None
        await self._attach(conn, session, resumed)

    async def _dispatch(self, t, d):
        session = self.current_session()
        if not session:
            raise AssertionError("no gateway session to dispatch on")
        session.seq += 1
        frame = {"op": 0, "t": t, "s": session.seq, "d": d}
        session.buffer.append(frame)
        conn = session.conn
        if conn and conn.ready and not conn.closed:
            await self._send(conn, frame)  # else it waits for a RESUME

    def current_session(self):
        return self.sessions.get(f"session-{self.identifies}")

    def live(self):
        """The connection that is up and ready, or None."""
        for conn in reversed(self.conns):
            if conn.ready and not conn.closed:
                return conn
        return None

    def wait_ready(self, after=0, timeout=30):
        return self.wait_for(lambda: next((c for c in self.conns[after:]
                                           if c.ready and not c.closed), None),
                             timeout, f"a ready gateway connection (after #{after})")

    def send_op(self, frame):
        conn = self.live()
        self._call(self._send(conn, frame))

    def close_live(self, code):
        conn = self.live()
        self._call(self._close(conn, code, "test"))

    def dispatch(self, t, d):
        self._call(self._dispatch(t, d))

    # ---- what people do ------------------------------------------------------------------

    def click(self, user, message_id, custom_id, guild=False):
        """A button click on a message we hold, as INTERACTION_CREATE. Built from the recorded
        select-menu interaction (fixture rest/interaction_selectmenu.json) per discord.md 3."""
        msg = self.messages[message_id]
        it = fixture("rest/interaction_selectmenu.json")
        iid = str(next(self.ids))
        token = f"itoken-{iid}"
        it.update({"id": iid, "token": token, "application_id": APP_ID,
                   "channel_id": msg["channel_id"], "message": copy.deepcopy(msg),
                   "data": {"custom_id": custom_id, "component_type": 2}})
        if guild:
            it["member"]["user"].update({"id": user, "username": f"user{user}"})
            it["context"] = 0
        else:
            for key in ("member", "guild_id", "guild_locale"):
                it.pop(key, None)
            it["user"] = {"id": user, "username": f"user{user}", "global_name": None}
            it["context"] = 1
        with self.cond:
            self.interactions[iid] = (token, time.monotonic())
        self.dispatch("INTERACTION_CREATE", it)
        return iid

    def dm(self, user, content):
        channel = self.dm_channels.get(user) or self._dm_channel(user)
        msg = fixture("rest/message.json")
        msg.update({"id": str(next(self.ids)), "channel_id": channel, "content": content,
                    "author": {"id": user, "username": f"user{user}"}})
        msg.pop("reactions", None)
        self.dispatch("MESSAGE_CREATE", msg)

    def thread_update(self, thread_id, forum, owner, archived=False, locked=False, tags=()):
        """THREAD_UPDATE for a thread in a forum channel. No recorded gateway frame of this event
        exists in the fixtures; its `d` is a channel object, built here to Discord's own
        ThreadResponse schema (discord-api-spec openapi.json, which describes the same thread
        object as GET /channels/{id}) and checked against it before it is sent, inside the
        gateway envelope of gateway/eventWithUnknownData.json ({t, s, op: 0, d})."""
        now = time.strftime("%Y-%m-%dT%H:%M:%S.000000+00:00", time.gmtime())
        d = {"id": thread_id, "type": 11, "flags": 0, "guild_id": "197038439483310086",
             "name": "Invoice shows the wrong VAT", "parent_id": forum, "owner_id": owner,
             "last_message_id": str(next(self.ids)), "rate_limit_per_user": 0,
             "message_count": 4, "member_count": 2, "total_message_sent": 4,
             "applied_tags": list(tags),
             "thread_metadata": {"archived": archived, "locked": locked,
                                 "auto_archive_duration": 1440, "archive_timestamp": now,
                                 "create_timestamp": now}}
        errors = []
        self.spec._check(d, {"$ref": "#/components/schemas/ThreadResponse"}, "$", errors)
        if errors:
            raise AssertionError(f"THREAD_UPDATE off Discord's ThreadResponse schema: {errors}")
        frame = fixture("gateway/eventWithUnknownData.json")
        assert set(frame) == {"t", "s", "op", "d"} and frame["op"] == 0
        self.dispatch("THREAD_UPDATE", d)
        return d

    def _dm_channel(self, user):
        with self.cond:
            if user not in self.dm_channels:
                self.dm_channels[user] = str(next(self.ids))
            return self.dm_channels[user]

    # ---- REST ----------------------------------------------------------------------------

    def posts(self, channel=None):
        with self.cond:
            return [m for m in self.messages.values()
                    if channel is None or m["channel_id"] == channel]

    def _reply(self, h, status, body=None, headers=None):
        data = b"" if body is None else json.dumps(body).encode()
        h.send_response(status)
        for k, v in (headers or {}).items():
            h.send_header(k, str(v))
        if body is not None:
            h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        h.wfile.write(data)

    def _error(self, h, status, code, message, headers=None):
        self._reply(h, status, {"code": code, "message": message}, headers)

    def _rest(self, h, method):
        length = int(h.headers.get("Content-Length") or 0)
        raw = h.rfile.read(length) if length else b""
        path = h.path.split("?")[0]
        if not path.startswith("/api/v10/"):
            return self._error(h, 404, 0, "404: Not Found")
        path = path[len("/api/v10"):]
        body = json.loads(raw) if raw else None
        status = self._route(h, method, path, body, raw)
        with self.cond:
            self.requests.append((method, path, body, status))
            self.cond.notify_all()

    def _limited(self, h, key):
        """Rate-limit headers for bucket `key`; a 429 when the client ignored them."""
        now = time.monotonic()
        with self.cond:
            start, count = self.buckets.get(key, (now, 0))
            if now - start >= self.rate_window:
                start, count = now, 0
            count += 1
            self.buckets[key] = (start, count)
        reset_after = max(0.001, self.rate_window - (now - start))
        headers = {"X-RateLimit-Limit": self.rate_limit,
                   "X-RateLimit-Remaining": max(0, self.rate_limit - count),
                   "X-RateLimit-Reset": f"{time.time() + reset_after:.3f}",
                   "X-RateLimit-Reset-After": f"{reset_after:.3f}",
                   "X-RateLimit-Bucket": key[0]}
        if count > self.rate_limit:
            self.rate_429s += 1
            self._reply(h, 429, {"message": "You are being rate limited.",
                                 "retry_after": round(reset_after, 3), "global": False},
                        dict(headers, **{"Retry-After": int(reset_after + 0.999),
                                         "X-RateLimit-Scope": "user"}))
            return None
        return headers

    def _route(self, h, method, path, body, raw):
        callback = re.fullmatch(r"/interactions/(\d+)/([^/]+)/callback", path)
        if not h.headers.get("User-Agent", "").startswith("DiscordBot ("):
            return self._error(h, 400, 0, "a DiscordBot User-Agent is required") or 400
        if not callback and h.headers.get("Authorization") != f"Bot {self.token}":
            self._error(h, 401, 0, "401: Unauthorized")
            return 401
        if raw and h.headers.get("Content-Type") != "application/json":
            self._error(h, 400, 50035, "Invalid Form Body")
            return 400
        problems = self.spec.check_request(method, path, body)
        if problems:
            with self.cond:
                self.schema_errors.extend(problems)
            self._error(h, 400, 50035, "Invalid Form Body: " + "; ".join(problems)[:300])
            return 400
        if not callback and self.global_429 > 0:
            with self.cond:
                self.global_429 -= 1
            self._reply(h, 429, {"message": "You are being rate limited.", "retry_after": 0.2,
                                 "global": True},
                        {"Retry-After": 1, "X-RateLimit-Global": "true",
                         "X-RateLimit-Scope": "global"})
            return 429
        if callback:
            return self._callback(h, callback.group(1), callback.group(2), body)
        if method == "GET" and path == "/gateway/bot":
            self._reply(h, 200, {"url": self.gateway_url, "shards": 1,
                                 "session_start_limit": {"total": 1000,
                                                         "remaining": 1000 - self.identifies,
                                                         "reset_after": 14400000,
                                                         "max_concurrency": 1}})
            return 200
        if method == "POST" and path == "/users/@me/channels":
            user = body["recipient_id"]
            ch = fixture("rest/dmchannel.json")
            ch["id"] = self._dm_channel(user)
            ch["recipients"][0]["id"] = user
            self._reply(h, 200, ch)
            return 200
        m = re.fullmatch(r"/channels/(\d+)/messages(?:/(\d+))?", path)
        if m:
            return self._message(h, method, m.group(1), m.group(2), body)
        m = re.fullmatch(r"/channels/(\d+)/messages/(\d+)/threads", path)
        if m and method == "POST":
            self._reply(h, 201, {"id": m.group(2), "type": 11, "parent_id": m.group(1),
                                 "name": body["name"]})
            return 201
        self._error(h, 404, 0, "404: Not Found")
        return 404

    def _message(self, h, method, channel, message_id, body):
        headers = self._limited(h, ("messages-bucket", channel))
        if headers is None:
            return 429
        if method == "POST" and self.route_429 > 0:
            with self.cond:
                self.route_429 -= 1
            self._reply(h, 429, {"message": "You are being rate limited.", "retry_after": 0.3,
                                 "global": False},
                        dict(headers, **{"Retry-After": 1, "X-RateLimit-Scope": "user",
                                         "X-RateLimit-Remaining": 0}))
            return 429
        user = next((u for u, c in self.dm_channels.items() if c == channel), None)
        if method == "POST":
            if user in self.closed_dms:
                self._error(h, 403, 50007, "Cannot send messages to this user", headers)
                return 403
            nonce = body.get("nonce")
            with self.cond:
                if nonce and body.get("enforce_nonce") and (channel, nonce) in self.nonces:
                    msg = self.messages[self.nonces[(channel, nonce)]]
                    msg["duplicates"] = msg.get("duplicates", 0) + 1
                else:
                    msg = fixture("rest/message.json")
                    msg.pop("reactions", None)
                    msg.update({"id": str(next(self.ids)), "channel_id": channel,
                                "content": body.get("content", ""),
                                "components": body.get("components", []),
                                "allowed_mentions": body.get("allowed_mentions"),
                                "nonce": nonce,
                                "author": {"id": BOT_ID, "username": "pulsebot", "bot": True},
                                "edits": []})
                    self.messages[msg["id"]] = msg
                    if nonce:
                        self.nonces[(channel, nonce)] = msg["id"]
                self.cond.notify_all()
            self._reply(h, 200, {k: v for k, v in msg.items()
                                 if k not in ("edits", "duplicates", "allowed_mentions")},
                        headers)
            return 200
        with self.cond:
            msg = self.messages.get(message_id)
            if not msg or msg["channel_id"] != channel:
                self._error(h, 404, 10008, "Unknown Message", headers)
                return 404
            msg["edits"].append(body)
            for key in ("content", "components"):
                if key in body:
                    msg[key] = body[key]
            self.cond.notify_all()
        self._reply(h, 200, {k: v for k, v in msg.items()
                             if k not in ("edits", "duplicates", "allowed_mentions")}, headers)
        return 200

    def _callback(self, h, iid, token, body):
        with self.cond:
            known = self.interactions.get(iid)
            if not known or known[0] != token:
                self._error(h, 404, 10062, "Unknown interaction")
                return 404
            if any(c[1] == iid for c in self.callbacks):
                self._error(h, 400, 40060, "Interaction has already been acknowledged.")
                return 400
            self.callbacks.append((time.monotonic(), iid, body))
            msg = next((m for m in self.messages.values()
                        if m["id"] == self._interaction_message(iid)), None)
            if msg and body.get("type") == 7:
                msg["edits"].append(body["data"])
                msg.update({k: v for k, v in body["data"].items()
                            if k in ("content", "components")})
            self.cond.notify_all()
        self._reply(h, 204)
        return 204

    def _interaction_message(self, iid):
        for session in self.sessions.values():
            for f in session.buffer:
                if f.get("t") == "INTERACTION_CREATE" and f["d"]["id"] == iid:
                    return f["d"]["message"]["id"]
        return None

    def callback(self, iid, timeout=20):
        return self.wait_for(lambda: next((c for c in self.callbacks if c[1] == iid), None),
                             timeout, f"the callback of interaction {iid}")


def custom_id(message, label):
    for row in message.get("components", []):
        for c in row.get("components", []):
            if c.get("label") == label:
                return c["custom_id"]
    raise AssertionError(f"no button {label!r} in {message.get('components')}")
