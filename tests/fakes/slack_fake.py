"""A fake Slack for the Slack connector's integration tests and benchmark: the Web API over
HTTP and Socket Mode over a websocket, both on ephemeral ports of 127.0.0.1, written on
Python's asyncio and Debian's python3-websockets (not on libwebsockets, which the daemon uses).

It behaves as the real service does where the connector depends on it:
  * apps.connections.open (app-level xapp- token only) hands out single-use
    ws://127.0.0.1 tickets; a reused ticket is refused.
  * On a websocket: `hello` first; envelopes with a 3 s acknowledgement timer; an `events_api`
    envelope not acknowledged in time is redelivered with a new envelope_id, the same
    event_id and retry_attempt + 1 (retry_reason "timeout"), up to 3 times; an `interactive`
    one is not (the person sees an error marker: recorded in `unacked_clicks`).
  * `disconnect` of any reason, abrupt closes, links that go silent, and `debug_reconnects`.
  * Web API methods with JSON, form or query bodies, the bot token in the Authorization header;
    {ok:false, error} errors and HTTP 429 with Retry-After, both injectable per method.

Canned payloads are built from the fixtures in shared/protocols/fixtures/slack (anonymised
skeletons from slackapi/java-slack-sdk json-logs/samples; see SOURCES.md there): every key
Slack has been seen to send is kept, and the values the connector reads are filled in:
  * interactive/BlockActionPayload.json -> block_actions clicks      (block_action())
  * events/MessagePayload.json          -> message.im events          (message_event())
  * api/users.info.json, api/users.lookupByEmail.json -> users.*      (user replies)
  * api/auth.test.json, api/apps.connections.open.json -> those replies
Socket Mode frames (hello, disconnect, envelopes) have no public data files; they are
written from the shapes in shared/protocols/slack.md section 1.

Every request is recorded (`requests`) and can be checked against Slack's published OpenAPI
description (fixtures/slack/slack-api-specs/slack_web_openapi_v2.json) with check_openapi().

The fake runs its own event loop in a thread; the test calls its methods from the main thread
and waits with wait_for(predicate), never with sleeps.
"""

import asyncio
import copy
import itertools
import json
import os
import threading
import time
import urllib.parse

import websockets

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_DIR = os.environ.get("PB_SOURCE_DIR", os.path.join(HERE, "..", ".."))
FIXTURES = os.path.join(os.path.dirname(os.path.abspath(SOURCE_DIR)), "shared", "protocols",
                        "fixtures", "slack")
if not os.path.isdir(FIXTURES):
    FIXTURES = "/work/shared/protocols/fixtures/slack"

BOT_TOKEN = "xoxb-fake-bot-token"
APP_TOKEN = "xapp-fake-app-token"
BOT_USER = "UBOT0001"
BOT_ID = "BBOT0001"
TEAM = "T0FAKE01"
APP = "A0FAKE01"


def fixture(path):
    with open(os.path.join(FIXTURES, path)) as f:
        return json.load(f)


class Envelope:
    def __init__(self, envelope_id, kind, payload, retry_attempt=0, event_id=None):
        self.id = envelope_id
        self.kind = kind
        self.payload = payload
        self.retry_attempt = retry_attempt
        self.event_id = event_id
        self.delivered = None  # monotonic time it went out
        self.acked = None
        self.link = None
        self.timer = None


class Link:
    def __init__(self, ws, ticket, serial):
        self.ws = ws
        self.ticket = ticket
        self.serial = serial
        self.open = True
        self.silent = False
        self.received = []  # frames from the connector


class FakeSlack:
    ack_timeout = 3.0
    max_retries = 3

    def __init__(self):
        self.loop = asyncio.new_event_loop()
        self.cond = threading.Condition()
        self.requests = []  # dicts: method, verb, content_type, auth, params, raw
        self.links = []
        self.tickets = {}  # ticket -> used
        self.envelopes = {}
        self.unacked_clicks = []
        self.late_acks = []
        self.messages = {}  # (channel, ts) -> message dict
        self.posts = []  # (channel, ts) in order, chat.postMessage only
        self.post_times = {}  # (channel, ts) -> monotonic time the post arrived
        self.updates = []  # (channel, ts, body)
        self.ephemeral = []
        self.response_urls = {}  # path -> {key: (channel, ts), uses, at}
        self.responses = []  # requests to response_urls
        self.threads = {}  # (channel, thread ts) -> [messages], for conversations.replies
        self.users = {}  # id -> user dict
        self.channels = {"CLEADS01"}  # channels the app is a member of
        self.limits = {}  # method -> [count, retry_after]
        self.errors = {}  # method -> [count, error]
        self.debug_refresh_after = 2.0
        self._ts = itertools.count(1)
        self._env = itertools.count(1)
        self._ticket = itertools.count(1)
        self._serial = itertools.count(1)
        self.http_port = None
        self.ws_port = None
        self._thread = threading.Thread(target=self._run, daemon=True)
        ready = threading.Event()
        self._ready = ready
        self._thread.start()
        ready.wait(10)

    # ---- lifecycle ----

    def _run(self):
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(self._start())
        self._ready.set()
        self.loop.run_forever()

    async def _start(self):
        self.http = await asyncio.start_server(self._http_conn, "127.0.0.1", 0)
        self.http_port = self.http.sockets[0].getsockname()[1]
        # No pings of our own: a silent link must be found by the connector, not by us.
        self.ws = await websockets.serve(self._ws_conn, "127.0.0.1", 0, ping_interval=None,
                                         max_size=2**20)
        self.ws_port = self.ws.sockets[0].getsockname()[1]

    def api_url(self):
        return f"http://127.0.0.1:{self.http_port}/api/"

    def close(self):
        async def stop():
            self.http.close()
            for link in self.links:
                if link.open:
                    link.ws.transport.abort()
            self.ws.close()
            try:
                await asyncio.wait_for(self.ws.wait_closed(), 3)
            except asyncio.TimeoutError:
                pass
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        asyncio.run_coroutine_threadsafe(stop(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5)

    def _changed(self):
        with self.cond:
            self.cond.notify_all()

    def wait_for(self, predicate, timeout=20, what="a condition"):
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                result = predicate()
                if result:
                    return result
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"fake Slack: timed out waiting for {what}")
                self.cond.wait(min(left, 0.5))

    def call(self, fn, *args):
        """Runs fn(*args) on the fake's loop and returns its result."""
        async def run():
            r = fn(*args)
            if asyncio.iscoroutine(r):
                r = await r
            return r
        return asyncio.run_coroutine_threadsafe(run(), self.loop).result(10)

    # ---- users ----

    def add_user(self, uid, email, name, tz="Europe/Oslo", locale="en-US", is_bot=False,
                 deleted=False):
        u = copy.deepcopy(fixture("java-slack-sdk-samples/api/users.info.json")["user"])
        u.update(id=uid, team_id=TEAM, name=name.lower(), real_name=name, tz=tz,
                 tz_label="Central European Time", tz_offset=3600, deleted=deleted,
                 is_bot=is_bot, locale=locale)
        u["profile"].update(email=email, display_name=name, real_name=name)
        self.users[uid] = u

    # ---- Web API ----

    async def _http_conn(self, reader, writer):
        try:
            while True:
                line = await reader.readline()
                if not line:
                    break
                verb, target, _ = line.decode().split(" ", 2)
                headers = {}
                while True:
                    h = await reader.readline()
                    if h in (b"\r\n", b"\n", b""):
                        break
                    k, v = h.decode().split(":", 1)
                    headers[k.strip().lower()] = v.strip()
                if headers.get("expect", "").lower() == "100-continue":
                    writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                status, extra, reply = self._api(verb, target, headers, body)
                text = isinstance(reply, str)
                data = reply.encode() if text else json.dumps(reply).encode()
                head = [f"HTTP/1.1 {status} {'OK' if status == 200 else 'Error'}",
                        "Content-Type: " + ("text/plain" if text else
                                            "application/json; charset=utf-8"),
                        f"Content-Length: {len(data)}"] + extra
                writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + data)
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError, ValueError):
            pass
        finally:
            writer.close()

    def _api(self, verb, target, headers, body):
        url = urllib.parse.urlsplit(target)
        if url.path.startswith("/actions/"):
            return self._response_url(verb, url.path, headers, body)
        method = url.path.rsplit("/", 1)[-1]
        ctype = headers.get("content-type", "")
        params = dict(urllib.parse.parse_qsl(url.query, keep_blank_values=True))
        if body:
            if ctype.startswith("application/json"):
                params.update(json.loads(body))
            else:
                params.update(urllib.parse.parse_qsl(body.decode(), keep_blank_values=True))
        req = {"method": method, "verb": verb, "content_type": ctype,
               "auth": headers.get("authorization", ""), "params": params,
               "raw": body.decode(errors="replace"), "at": time.monotonic()}
        self.requests.append(req)
        try:
            if method in self.limits and self.limits[method][0] > 0:
                self.limits[method][0] -= 1
                return 429, [f"Retry-After: {self.limits[method][1]}"], \
                    {"ok": False, "error": "ratelimited"}
            if method in self.errors and self.errors[method][0] > 0:
                self.errors[method][0] -= 1
                return 200, [], {"ok": False, "error": self.errors[method][1]}
            want = APP_TOKEN if method == "apps.connections.open" else BOT_TOKEN
            if req["auth"] != f"Bearer {want}":
                return 200, [], {"ok": False, "error": "not_allowed_token_type"
                                 if req["auth"].startswith("Bearer x") else "invalid_auth"}
            handler = getattr(self, "_m_" + method.replace(".", "_"), None)
            if not handler:
                return 200, [], {"ok": False, "error": "unknown_method"}
            return 200, [], handler(params)
        finally:
            self._changed()

    def _m_apps_connections_open(self, p):
        ticket = f"tk{next(self._ticket)}"
        self.tickets[ticket] = False
        r = fixture("java-slack-sdk-samples/api/apps.connections.open.json")
        r = {k: v for k, v in r.items() if k in ("ok", "url")}
        r.update(ok=True, url=f"ws://127.0.0.1:{self.ws_port}/link/?ticket={ticket}&app_id={APP}")
        return r

    def _m_auth_test(self, p):
        r = fixture("java-slack-sdk-samples/api/auth.test.json")
        r = {k: v for k, v in r.items() if k not in ("error", "warning", "needed", "provided")}
        r.update(ok=True, url="https://fake.slack.test/", team="Fake", user="pulsebot",
                 team_id=TEAM, user_id=BOT_USER, bot_id=BOT_ID, app_id=APP)
        return r

    def _m_conversations_open(self, p):
        user = p.get("users", "")
        if user not in self.users:
            return {"ok": False, "error": "user_not_found"}
        if self.users[user]["is_bot"]:
            return {"ok": False, "error": "cannot_dm_bot"}
        return {"ok": True, "channel": {"id": "D" + user[1:]}, "already_open": True}

    def _channel_ok(self, channel):
        if channel.startswith("D"):
            return None if "U" + channel[1:] in self.users else "channel_not_found"
        if channel.startswith("C"):
            return None if channel in self.channels else "not_in_channel"
        return "channel_not_found"

    def _next_ts(self):
        return f"1700000000.{next(self._ts):06d}"

    def _m_chat_postMessage(self, p):
        channel = p.get("channel", "")
        err = self._channel_ok(channel)
        if err:
            return {"ok": False, "error": err}
        ts = self._next_ts()
        msg = {"type": "message", "text": p.get("text", ""), "blocks": p.get("blocks", []),
               "bot_id": BOT_ID, "user": BOT_USER, "ts": ts, "team": TEAM}
        if p.get("thread_ts"):
            msg["thread_ts"] = p["thread_ts"]
        self.messages[(channel, ts)] = msg
        self.post_times[(channel, ts)] = time.monotonic()
        self.posts.append((channel, ts))  # last: a reader of `posts` finds the rest set
        return {"ok": True, "channel": channel, "ts": ts, "message": msg}

    def _m_chat_update(self, p):
        key = (p.get("channel", ""), p.get("ts", ""))
        if key not in self.messages:
            return {"ok": False, "error": "message_not_found"}
        msg = self.messages[key]
        msg.update(text=p.get("text", ""), blocks=p.get("blocks", []))
        self.updates.append((key[0], key[1], copy.deepcopy(msg)))
        return {"ok": True, "channel": key[0], "ts": key[1], "text": msg["text"], "message": msg}

    def _response_url(self, verb, path, headers, body):
        """A click's response_url (shared/protocols/slack.md 2.5): no token, JSON with
        replace_original; usable 5 times within 30 minutes; answers a bare "ok"."""
        try:
            entry = self.response_urls.get(path)
            req = {"path": path, "verb": verb, "auth": headers.get("authorization", ""),
                   "content_type": headers.get("content-type", ""),
                   "body": json.loads(body or b"null")}
            self.responses.append(req)
            if verb != "POST" or entry is None:
                return 404, [], "no_such_url"
            if entry["uses"] >= 5 or time.monotonic() - entry["at"] > 1800:
                return 404, [], "used_url"
            entry["uses"] += 1
            b = req["body"] or {}
            if b.get("replace_original"):
                msg = self.messages[entry["key"]]
                msg.update(text=b.get("text", ""), blocks=b.get("blocks", []))
                self.updates.append((entry["key"][0], entry["key"][1], copy.deepcopy(msg)))
            return 200, [], "ok"
        finally:
            self._changed()

    def _m_conversations_replies(self, p):
        """The thread holding message `ts`, parent first (the OpenAPI description's example
        reply of conversations.replies: messages with user, ts, thread_ts, reply_count)."""
        channel, ts = p.get("channel", ""), p.get("ts", "")
        if channel not in self.channels:
            return {"ok": False, "error": "not_in_channel"}
        for (ch, _), msgs in self.threads.items():
            if ch == channel and any(m["ts"] == ts for m in msgs):
                limit = int(p.get("limit", "1000") or 1000)
                return {"ok": True, "messages": copy.deepcopy(msgs[:max(limit, 1)]),
                        "has_more": len(msgs) > limit,
                        "response_metadata": {"next_cursor": ""}}
        return {"ok": False, "error": "thread_not_found"}

    def add_thread(self, channel, author, replies):
        """A support thread in `channel` started by `author`, with (user, text) replies;
        returns the messages' ts, parent first."""
        def make():
            parent_ts = self._next_ts()
            msgs = [{"type": "message", "user": author, "text": "Help, my invoice is wrong",
                     "ts": parent_ts, "thread_ts": parent_ts, "reply_count": len(replies),
                     "team": TEAM}]
            for user, text in replies:
                msgs.append({"type": "message", "user": user, "text": text,
                             "ts": self._next_ts(), "thread_ts": parent_ts,
                             "parent_user_id": author, "team": TEAM})
            self.threads[(channel, parent_ts)] = msgs
            return [m["ts"] for m in msgs]
        return self.call(make)

    def _m_chat_postEphemeral(self, p):
        self.ephemeral.append(p)
        return {"ok": True, "message_ts": self._next_ts()}

    def _user_reply(self, u, fixture_name):
        r = fixture(fixture_name)
        return {"ok": True, "user": u} if "user" in r else {"ok": True, "user": u}

    def _m_users_lookupByEmail(self, p):
        for u in self.users.values():
            if u["profile"].get("email", "").lower() == p.get("email", "").lower():
                return self._user_reply(u, "java-slack-sdk-samples/api/users.lookupByEmail.json")
        return {"ok": False, "error": "users_not_found"}

    def _m_users_info(self, p):
        u = self.users.get(p.get("user", ""))
        if not u:
            return {"ok": False, "error": "user_not_found"}
        return self._user_reply(u, "java-slack-sdk-samples/api/users.info.json")

    def limit(self, method, count, retry_after=1):
        """The next `count` calls of `method` get HTTP 429 with Retry-After."""
        self.call(lambda: self.limits.__setitem__(method, [count, retry_after]))

    def fail(self, method, error, count=1):
        self.call(lambda: self.errors.__setitem__(method, [count, error]))

    # ---- Socket Mode ----

    async def _ws_conn(self, ws, path=None):
        path = path or ws.path
        query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(path).query))
        ticket = query.get("ticket")
        if ticket not in self.tickets or self.tickets[ticket]:
            await ws.close(4001, "invalid or reused ticket")
            self.requests.append({"method": "ws-refused", "ticket": ticket})
            self._changed()
            return
        self.tickets[ticket] = True
        link = Link(ws, ticket, next(self._serial))
        self.links.append(link)
        await ws.send(json.dumps({
            "type": "hello", "num_connections": sum(1 for x in self.links if x.open),
            "connection_info": {"app_id": APP},
            "debug_info": {"host": "fake-slack", "build_number": 1,
                           "approximate_connection_time": 18060}}))
        self._changed()
        if query.get("debug_reconnects") == "true":
            self.loop.call_later(self.debug_refresh_after,
                                 lambda: asyncio.ensure_future(
                                     self._disconnect(link, "refresh_requested")))
        try:
            async for frame in ws:
                link.received.append(frame)
                try:
                    msg = json.loads(frame)
                except ValueError:
                    continue
                env = self.envelopes.get(msg.get("envelope_id"))
                if env and env.acked is None:
                    if env.link is not link:
                        env.wrong_link = True
                    env.acked = time.monotonic()
                    if env.timer:
                        env.timer.cancel()
                elif env:
                    self.late_acks.append(env.id)
                self._changed()
        except websockets.ConnectionClosed:
            pass
        finally:
            link.open = False
            self._changed()

    def open_links(self):
        return [x for x in self.links if x.open]

    async def _send_envelope(self, env, link=None):
        candidates = [x for x in self.links if x.open and not x.silent]
        link = link if link is not None else (candidates[-1] if candidates else None)
        if link is None or not link.open:
            # Nobody connected: Slack keeps events a while; try again shortly.
            self.loop.call_later(0.2, lambda: asyncio.ensure_future(self._send_envelope(env)))
            return
        env.link = link
        env.delivered = time.monotonic()
        frame = {"envelope_id": env.id, "type": env.kind, "payload": env.payload,
                 "accepts_response_payload": False}
        if env.kind == "events_api":
            frame["retry_attempt"] = env.retry_attempt
            frame["retry_reason"] = "timeout" if env.retry_attempt else ""
        env.timer = self.loop.call_later(self.ack_timeout, self._ack_expired, env)
        await link.ws.send(json.dumps(frame))
        self._changed()

    def _ack_expired(self, env):
        if env.acked is not None:
            return
        if env.kind == "interactive":
            self.unacked_clicks.append(env.id)
        elif env.kind == "events_api" and env.retry_attempt < self.max_retries:
            again = Envelope(self._new_env_id(), env.kind, env.payload, env.retry_attempt + 1,
                             env.event_id)
            env.redelivered_as = again.id
            self.envelopes[again.id] = again
            asyncio.ensure_future(self._send_envelope(again))
        self._changed()

    def _new_env_id(self):
        return f"env-{next(self._env):06d}"

    def deliver(self, kind, payload, link=None):
        """Sends an envelope (on the newest open link unless one is given); returns it."""
        env = Envelope(self._new_env_id(), kind, payload,
                       event_id=payload.get("event_id") if kind == "events_api" else None)
        self.envelopes[env.id] = env
        self.call(self._send_envelope, env, link)
        return env

    def acked(self, env):
        """The envelope (or the redelivery that replaced it) was acknowledged in time."""
        while env is not None:
            if env.acked is not None:
                return env
            env = self.envelopes.get(getattr(env, "redelivered_as", None))
        return None

    async def _disconnect(self, link, reason):
        if link.open:
            await link.ws.send(json.dumps({"type": "disconnect", "reason": reason,
                                           "debug_info": {"host": "fake-slack"}}))
            self._changed()

    def disconnect(self, link, reason):
        self.call(self._disconnect, link, reason)

    def drop(self, link):
        """An abrupt close: TCP goes away without a close handshake."""
        self.call(lambda: link.ws.transport.abort())

    def silence(self, link):
        """The link stays open but nothing more is sent on it (a half-open link)."""
        link.silent = True

    def hello_count(self):
        return len(self.links)

    # ---- payloads from the fixtures ----

    def _new_response_url(self, channel, message_ts):
        path = f"/actions/{TEAM}/{next(self._env)}/fake-secret"
        self.response_urls[path] = {"key": (channel, message_ts), "uses": 0,
                                    "at": time.monotonic()}
        return f"http://127.0.0.1:{self.http_port}{path}"

    def block_action(self, user, name, channel, message_ts, action_id, value, label,
                     select=False):
        """A click on a button (or, with select, an option picked in a static_select: the
        token in selected_option.value), with a response_url served by this fake."""
        p = copy.deepcopy(fixture("java-slack-sdk-samples/interactive/BlockActionPayload.json"))
        p.update(type="block_actions", api_app_id=APP, token="legacy-verification-token",
                 trigger_id="1.2.3", response_url=self._new_response_url(channel, message_ts),
                 is_enterprise_install=False, enterprise=None)
        p.pop("view", None)  # a click in a message, not in a modal
        p["team"].update(id=TEAM, domain="fake")
        p["user"].update(id=user, username=name, name=name, team_id=TEAM)
        p["container"].update(type="message", message_ts=message_ts, channel_id=channel,
                              is_ephemeral=False)
        p["channel"].update(id=channel, name="directmessage" if channel[0] == "D" else "leads")
        msg = self.messages.get((channel, message_ts), {})
        p["message"].update(type="message", ts=message_ts, text=msg.get("text", ""),
                            blocks=msg.get("blocks", []), bot_id=BOT_ID, user=BOT_USER)
        a = p["actions"][0]
        if select:
            # The fixture's action has every sub-field Slack has sent; a static_select's
            # carries selected_option and placeholder, not value, text or style.
            a = {"type": "static_select", "action_id": action_id, "block_id": action_id,
                 "selected_option": a["selected_option"], "placeholder": a["placeholder"],
                 "action_ts": f"{time.time():.6f}"}
            a["selected_option"]["text"].update(type="plain_text", text=label, emoji=True)
            a["selected_option"]["value"] = value
            a["placeholder"]["text"] = "Choose an answer"
        else:
            a.update(type="button", action_id=action_id,
                     block_id=action_id.split(":")[0] + ":row0", value=value, style="",
                     action_ts=f"{time.time():.6f}")
            a["text"].update(type="plain_text", text=label, emoji=True)
        p["actions"] = [a]
        p["state"] = {"values": {}}
        return p

    def message_event(self, user, channel, text, event_id):
        p = copy.deepcopy(fixture("java-slack-sdk-samples/events/MessagePayload.json"))
        p.update(token="legacy", team_id=TEAM, api_app_id=APP, type="event_callback",
                 event_id=event_id, event_time=int(time.time()), is_ext_shared_channel=False)
        p["authorizations"] = [{"enterprise_id": None, "team_id": TEAM, "user_id": BOT_USER,
                                "is_bot": True, "is_enterprise_install": False}]
        e = p["event"]
        ts = self._next_ts()
        for k in ("bot_id", "bot_profile", "parent_user_id", "thread_ts", "edited", "metadata"):
            e.pop(k, None)
        e.update(type="message", channel=channel, channel_type="im", user=user,
                 text=text, ts=ts, event_ts=ts, client_msg_id="c-" + event_id, team=TEAM)
        return p

    def reaction_event(self, agent, channel, ts, item_user, reaction, event_id):
        """reaction_added as an events_api payload. The event_callback wrapper is
        events/MessagePayload.json's; no fixture holds a reaction_added event itself, so its
        fields are those of Slack's event documentation: user, reaction, item_user,
        item {type, channel, ts}, event_ts."""
        p = copy.deepcopy(fixture("java-slack-sdk-samples/events/MessagePayload.json"))
        p.update(token="legacy", team_id=TEAM, api_app_id=APP, type="event_callback",
                 event_id=event_id, event_time=int(time.time()), is_ext_shared_channel=False)
        p["authorizations"] = [{"enterprise_id": None, "team_id": TEAM, "user_id": BOT_USER,
                                "is_bot": True, "is_enterprise_install": False}]
        p["event"] = {"type": "reaction_added", "user": agent, "reaction": reaction,
                      "item_user": item_user,
                      "item": {"type": "message", "channel": channel, "ts": ts},
                      "event_ts": f"{time.time():.6f}"}
        return p

    # ---- helpers for tests ----

    def posts_to(self, channel):
        return [self.messages[k] | {"channel": k[0]} for k in self.posts if k[0] == channel]

    def requests_for(self, method):
        return [r for r in self.requests if r.get("method") == method]


def slack_escape(s):
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def block_texts(blocks):
    """Every text in a message's blocks, as one string."""
    out = []

    def walk(x):
        if isinstance(x, dict):
            for k, v in x.items():
                if k == "text" and isinstance(v, str):
                    out.append(v)
                else:
                    walk(v)
        elif isinstance(x, list):
            for v in x:
                walk(v)
    walk(blocks)
    return "\n".join(out)


def buttons(message):
    return [e for b in message.get("blocks", []) if b.get("type") == "actions"
            for e in b["elements"]]


def select_of(message):
    """The static_select of a message (a long scale), or None."""
    for b in message.get("blocks", []):
        if b.get("type") == "actions":
            for e in b["elements"]:
                if e.get("type") == "static_select":
                    return e
    return None


def check_openapi(requests):
    """Checks recorded Web API requests against Slack's OpenAPI description: the method
    exists, with that HTTP verb and content type; every field sent is a declared parameter;
    required ones are there (the token travels in the Authorization header); `parse` and
    `link_names` are never sent. apps.connections.open, newer than the description, is checked
    against the protocol notes instead. Returns a list of problems."""
    spec = fixture("slack-api-specs/slack_web_openapi_v2.json")
    problems = []
    for r in requests:
        m = r.get("method")
        if m in (None, "ws-refused"):
            continue
        if m == "apps.connections.open":
            if r["verb"] != "POST" or not r["auth"].startswith("Bearer xapp-") or r["params"]:
                problems.append(f"apps.connections.open: {r['verb']} {r['auth'][:12]} "
                                f"{r['params']}")
            continue
        path = spec["paths"].get("/" + m)
        if not path:
            problems.append(f"{m}: not in Slack's OpenAPI description")
            continue
        op = path.get(r["verb"].lower())
        if not op:
            problems.append(f"{m}: {r['verb']} not allowed (spec: {list(path)})")
            continue
        ctype = r["content_type"].split(";")[0].strip()
        if r["verb"] == "POST" and ctype not in op.get("consumes", []):
            problems.append(f"{m}: content type {ctype!r} not in {op.get('consumes')}")
        declared = {p["name"]: p for p in op.get("parameters", [])}
        for k in r["params"]:
            if k not in declared:
                problems.append(f"{m}: parameter {k!r} is not declared")
            if k in ("parse", "link_names"):
                problems.append(f"{m}: {k} must never be set")
        for name, p in declared.items():
            if name == "token":
                if not r["auth"].startswith("Bearer xoxb-"):
                    problems.append(f"{m}: no bot token in the Authorization header")
            elif p.get("required") and name not in r["params"]:
                problems.append(f"{m}: required parameter {name!r} missing")
        if "token" in r["params"]:
            problems.append(f"{m}: token sent in the body")
    return problems
