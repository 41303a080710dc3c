"""Alert webhooks against the real daemon: a receiver on loopback (Python's http.server, an
independent HTTP implementation) checks every post's signature exactly as docs/alerts.md
documents it (`X-Pulsebot-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`,
the secret read from the same file the daemon reads) and refuses anything forged, unsigned or
stale with 401; the test then asserts that every post the daemon made passed.

- A low score answered in the web chat, acknowledged and resolved from the alert's buttons,
  reaches the receiver as raised, commented, acknowledged, resolved, in that order; a 503 on
  the first post is retried with the same Idempotency-Key and holds the later events back.
- 429 with Retry-After is retried no sooner than asked; a 400 fails the event for good and
  the alert's next event goes on.
- A stop while a slow receiver holds a post is quick and clean; the event is posted again
  under the same key after the restart.
- An anonymous survey raises no alert and queues nothing; an alert whose survey is made
  anonymous by a reload posts its later events without naming the person.
- kill -9 after a post was leased (crash point `webhook-leased`): after the restart the event
  reaches the receiver under the same key, and no key the receiver answered 2xx before the
  crash is ever posted again.

The lease is 60 s in the daemon. To keep the test short, the crash test ends the lease by
moving the leased row's next attempt to now in the store while the daemon is down, as a fake
clock would; PB_WEBHOOK_REAL_LEASE=1 waits for the real lease instead.
"""

import asyncio
import hashlib
import hmac
import json
import os
import signal
import sqlite3
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from pbtest import BASE_CONFIG, Chat, Daemon, TestFailure, button, check, history, run

SECRET = "alert-webhook-secret-\u00e9"  # non-ASCII: the secret is bytes in the file, as given
MAX_AGE = 300

# Two surveys, each sent to one person at once; the webhook on both rules.
CONFIG = BASE_CONFIG.replace(
    '{{ id = "alice"; name = "Alice Andersen"; team = "support"; }},',
    '{{ id = "alice"; name = "Alice Andersen"; team = "support"; email = "alice@example.com"; }},'
).replace(
    """     ); }}
);
schedules = (""",
    """     ); }},
  {{ id = "team-pulse"; kind = "employee"; title = "Team pulse"; window = "{window}";
     anonymous = true; thanks = "Thanks.";
     questions = (
       {{ id = "team"; type = "scale"; text = "How is your team doing?"; min = 1; max = 5; }}
     ); }}
);
schedules = (""").replace(
    'audience = {{ teams = [ "support" ]; exclude = [ "mia" ]; }}; }}',
    """audience = {{ people = [ "alice" ]; }}; }},
  {{ id = "team"; survey = "team-pulse"; every = "7d"; first = "{first}";
     audience = {{ people = [ "bob" ]; }}; }}""").replace(
    """     alert = "support-leads"; }}
);""",
    """     alert = "support-leads"; webhook = "http://127.0.0.1:@PORT@/hooks/alerts";
     webhook_secret_file = "@SECRET@"; }},
  {{ id = "team-low"; survey = "team-pulse"; max_score = 2; alert = "support-leads";
     webhook = "http://127.0.0.1:@PORT@/hooks/alerts"; webhook_secret_file = "@SECRET@"; }}
);""")
# Each replacement above took (BASE_CONFIG may change under it).
assert all(part in CONFIG for part in ("alice@example.com", "team-pulse", '[ "bob" ]',
                                       "team-low")), "test_alert_webhooks: CONFIG was not built"


def verify(secret, header, body, now=None):
    """None when the signature holds, else why not: the receiver's side of the contract."""
    if not header:
        return "unsigned"
    t, v1 = None, []
    for part in header.split(","):
        name, _, value = part.strip().partition("=")
        if name == "t" and value.isdigit():
            t = int(value)
        elif name == "v1":
            v1.append(value)
    if t is None or not v1:
        return "malformed"
    now = time.time() if now is None else now
    if abs(now - t) > MAX_AGE:
        return "stale"
    expected = hmac.new(secret, f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    if not any(hmac.compare_digest(expected, v) for v in v1):
        return "mismatch"
    return None


class Receiver:
    """A webhook receiver in a thread. Every request is kept, with when it came; `fail` is a
    list of statuses (or (status, headers)) to answer to the next verified posts before
    answering 200; while `hold` is set, answers wait for `release` (a slow receiver)."""

    def __init__(self, secret):
        self.secret = secret
        self.lock = threading.Lock()
        self.requests = []
        self.fail = []
        self.hold = False
        self.release = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                why = verify(receiver.secret, self.headers.get("X-Pulsebot-Signature"), body)
                with receiver.lock:
                    answer = 401 if why else (receiver.fail.pop(0) if receiver.fail else 200)
                    status, headers = answer if isinstance(answer, tuple) else (answer, {})
                    receiver.requests.append({
                        "path": self.path, "key": self.headers.get("Idempotency-Key"),
                        "event": self.headers.get("X-Pulsebot-Event"),
                        "type": self.headers.get("Content-Type"), "raw": body,
                        "refused": why, "status": status, "at": time.monotonic()})
                    hold = receiver.hold
                if hold:
                    receiver.release.wait(30)
                try:
                    self.send_response(status)
                    for name, value in headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                except OSError:  # the daemon gave up on this post meanwhile
                    pass

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def snapshot(self):
        with self.lock:
            return list(self.requests)

    def accepted(self):
        return [r for r in self.snapshot() if r["status"] == 200]

    async def wait(self, predicate, what, timeout=20):
        deadline = time.monotonic() + timeout
        while True:
            got = self.snapshot()
            if predicate(got):
                return got
            if time.monotonic() > deadline:
                raise TestFailure(f"receiver: timed out waiting for {what}; got "
                                  f"{[(r['event'], r['key'], r['status']) for r in got]}")
            await asyncio.sleep(0.05)

    def close(self):
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


def body(r):
    return json.loads(r["raw"])


def events(requests):
    return [r["event"] for r in requests]


def make(receiver, text=CONFIG):
    d = Daemon(first="1s", config=text.replace("@PORT@", str(receiver.port)),
               env={"PULSEBOT_ALLOW_PLAIN": "1"})
    path = os.path.join(d.dir, "webhook.secret")
    with open(path, "w", encoding="utf-8") as f:
        f.write(SECRET + "\n")
    os.chmod(path, 0o600)
    with open(d.config_path) as f:
        conf = f.read()
    with open(d.config_path, "w") as f:
        f.write(conf.replace("@SECRET@", path))
    return d


def all_signed(receiver):
    bad = [(r["event"], r["refused"]) for r in receiver.snapshot() if r["refused"]]
    check(not bad, f"posts that failed the receiver's signature check: {bad}")


async def question(chat, user, text):
    """The open question with this text: already in the welcome's history, or arriving."""
    for m in history(chat.welcome, "dm:" + user):
        if m.get("kind") == "question" and m.get("text") == text and not m.get("closed"):
            return m
    return await chat.question(text)


async def low_score(d, user="alice", comment=None):
    who = await Chat.connect(d, user=user)
    q = await question(who, user, "How was your week?")
    result = await who.request({"type": "choice", "ref": q["ref"],
                                "token": button(q, "1")["token"]})
    check(result["ok"], f"{user}'s answer: {result}")
    if comment is not None:
        await who.question("What made it hard?")
        result = await who.request({"type": "text", "text": comment})
        check(result["ok"], f"{user}'s comment: {result}")
    await who.close()


async def the_alert(mia):
    alerts = [m for m in history(mia.welcome, "room:support-leads") if m["kind"] == "alert"]
    if not alerts:
        alerts = [await mia.expect(lambda m: m.get("type") == "message"
                                   and m.get("kind") == "alert", what="the alert")]
    check(len(alerts) == 1, f"one alert in the room, got {len(alerts)}")
    return alerts[0]


async def press(mia, alert, label):
    result = await mia.request({"type": "action", "ref": alert["ref"],
                                "token": button(alert, label)["token"]})
    check(result["ok"], f"{label} refused: {result}")
    return await mia.expect(lambda m: m["type"] == "update" and m["ref"] == alert["ref"],
                            what=f"the alert after {label}")


async def test_receiver_refuses_forgeries():
    """The receiver's check is the assertion of the other tests, so it must be able to fail."""
    rx = Receiver(SECRET.encode())
    try:
        payload = b'{"id": 1, "event": "raised"}'
        now = int(time.time())
        good = hmac.new(SECRET.encode(), f"{now}.".encode() + payload, hashlib.sha256).hexdigest()
        wrong = hmac.new(b"not-the-secret", f"{now}.".encode() + payload,
                         hashlib.sha256).hexdigest()
        stale_t = now - MAX_AGE - 60
        stale = hmac.new(SECRET.encode(), f"{stale_t}.".encode() + payload,
                         hashlib.sha256).hexdigest()
        cases = [("unsigned", None, payload), ("forged", f"t={now},v1={wrong}", payload),
                 ("tampered", f"t={now},v1={good}", payload + b" "),
                 ("other t", f"t={now + 1},v1={good}", payload),
                 ("stale", f"t={stale_t},v1={stale}", payload),
                 ("genuine", f"t={now},v1={good}", payload)]
        for what, sig, data in cases:
            headers = {"Content-Type": "application/json"}
            if sig:
                headers["X-Pulsebot-Signature"] = sig
            req = urllib.request.Request(f"http://127.0.0.1:{rx.port}/hooks/alerts", data=data,
                                         headers=headers, method="POST")
            try:
                with urllib.request.urlopen(req, timeout=10) as r:
                    status = r.status
            except urllib.error.HTTPError as e:
                status = e.code
            check(status == (200 if what == "genuine" else 401), f"{what}: status {status}")
        check([r["refused"] for r in rx.snapshot()] ==
              ["unsigned", "mismatch", "mismatch", "mismatch", "stale", None],
              f"why each was refused: {[r['refused'] for r in rx.snapshot()]}")
    finally:
        rx.close()


async def test_signed_events_in_order_with_a_retry():
    rx = Receiver(SECRET.encode())
    rx.fail = [503]  # the first post fails once
    d = make(rx).start()
    try:
        await low_score(d, comment="Night shifts again")
        await rx.wait(lambda got: len(got) >= 2 and events(got)[:2] == ["raised", "raised"],
                      "the raised event and its retry")
        mia = await Chat.connect(d, user="mia")
        alert = await the_alert(mia)
        await press(mia, alert, "Acknowledge")
        done = await press(mia, alert, "Resolve")
        check(done.get("closed"), f"resolved at once without reasons: {done}")
        await mia.close()
        got = await rx.wait(lambda got: len(got) >= 5, "five posts")
        all_signed(rx)
        check([(r["event"], r["status"]) for r in got] ==
              [("raised", 503), ("raised", 200), ("commented", 200), ("acknowledged", 200),
               ("resolved", 200)], f"posts in order: {[(r['event'], r['status']) for r in got]}")
        check(got[0]["key"] == got[1]["key"], "the retry carries the same Idempotency-Key")
        check(got[0]["raw"] == got[1]["raw"], "the retry carries the same body")
        keys = [int(r["key"]) for r in got[1:]]
        check(keys == sorted(set(keys)), f"one key per event, in order: {keys}")
        check(all(r["path"] == "/hooks/alerts" and r["type"] == "application/json" for r in got),
              "posted as JSON to the configured path")
        check(all(body(r)["event"] == r["event"] for r in got), "X-Pulsebot-Event names the event")
        raised, resolved = body(got[1]), body(got[4])
        a = raised["alert"]
        check(a["rule"] == "support-low" and a["team"] == "support-leads" and a["score"] == 1
              and a["scale_min"] == 1 and a["scale_max"] == 5 and a["state"] == "open"
              and a["subject"] == "alice" and a["survey"] == "weekly-pulse"
              and a["question"] == "How was your week?" and a["channel"] == "support-leads",
              f"the raised event's alert: {a}")
        check(raised["at"].endswith("Z") and raised["id"] > 0, f"raised: {raised}")
        check(body(got[2])["alert"]["comment"] == "Night shifts again",
              f"the comment: {body(got[2])}")
        r = resolved["alert"]
        check(resolved["actor"] == "mia" and r["state"] == "resolved" and r["resolved_by"] == "mia"
              and r["acknowledged_by"] == "mia" and r["resolved_at"] and r["acknowledged_at"],
              f"the resolved event: {resolved}")
        rows = [{k: r[k] for k in ("event", "state", "attempts", "last_status")}
                for r in await settled(d, 4)]
        check(rows == [{"event": "raised", "state": 1, "attempts": 2, "last_status": 200}]
              + [{"event": e, "state": 1, "attempts": 1, "last_status": 200}
                 for e in ("commented", "acknowledged", "resolved")], f"queue rows: {rows}")
        with urllib.request.urlopen(d.url("/metrics"), timeout=10) as m:
            metrics = m.read().decode()
        check("pulsebot_alert_webhooks_sent 4" in metrics
              and "pulsebot_alert_webhooks_retried 1" in metrics, "webhook metrics")
        check(d.stop() == 0, "clean stop")
    finally:
        d.cleanup()
        rx.close()


async def test_anonymous_names_nobody():
    rx = Receiver(SECRET.encode())
    d = make(rx).start()
    try:
        # The anonymous survey's low score: its rule matches, yet nothing is raised or queued.
        bob = await Chat.connect(d, user="bob")
        q = await question(bob, "bob", "How is your team doing?")
        result = await bob.request({"type": "choice", "ref": q["ref"],
                                    "token": button(q, "1")["token"]})
        check(result["ok"], f"bob's answer: {result}")
        await bob.close()
        check(d.sql("select count(*) as n from answers where survey = 'team-pulse'")
              == [{"n": 1}], "the anonymous answer was committed")
        check(d.sql("select count(*) as n from alerts") == [{"n": 0}]
              and d.sql("select count(*) as n from alert_webhooks") == [{"n": 0}],
              "no alert and no webhook for an anonymous survey")

        # A named alert, then its survey made anonymous: later events name nobody.
        await low_score(d, comment="Alice Andersen here: alice@example.com")
        got = await rx.wait(lambda got: events(got) == ["raised", "commented"], "two events")
        check(body(got[0])["alert"].get("subject") == "alice",
              "the named survey's event says whose answer it is")
        with open(d.config_path) as f:
            conf = f.read()
        anon = conf.replace('title = "Weekly pulse";', 'title = "Weekly pulse"; anonymous = true;')
        check(anon != conf, "the reload makes the survey anonymous")
        with open(d.config_path, "w") as f:
            f.write(anon)
        d.signal(signal.SIGHUP)
        d.notify.wait_for("RELOADING=1")
        d.notify.wait_for("READY=1")
        check("configuration reloaded" in d.logs(), "the new configuration was taken")
        mia = await Chat.connect(d, user="mia")
        alert = await the_alert(mia)
        await press(mia, alert, "Acknowledge")
        await press(mia, alert, "Resolve")
        await mia.close()
        got = await rx.wait(lambda got: len(got) >= 4, "four events")
        all_signed(rx)
        check(events(got) == ["raised", "commented", "acknowledged", "resolved"], events(got))
        for r in got[2:]:
            raw = r["raw"].decode().lower()
            for who in ("alice", "andersen", "alice@example.com"):
                check(who not in raw, f"{r['event']} names {who!r}: {r['raw']}")
            a = body(r)["alert"]
            check("subject" not in a and "comment" not in a, f"{r['event']}: {a}")
        check(d.stop() == 0, "clean stop")
    finally:
        d.cleanup()
        rx.close()


async def settled(d, n, timeout=10):
    """The store's queue once `n` rows are settled (the receiver answers before the daemon
    records it)."""
    deadline = time.monotonic() + timeout
    while True:
        rows = d.sql("select event, state, attempts, last_status, error from alert_webhooks"
                     " order by id")
        if len(rows) >= n and all(r["state"] != 0 for r in rows[:n]):
            return rows
        if time.monotonic() > deadline:
            raise TestFailure(f"{n} webhook rows not settled within {timeout}s: {rows}")
        await asyncio.sleep(0.05)


async def test_retry_after_and_a_refusal():
    """429 with Retry-After waits as the receiver asked; a 400 is not retried, is kept as
    failed, and does not hold back the alert's later events."""
    rx = Receiver(SECRET.encode())
    rx.fail = [(429, {"Retry-After": "2"}), 200, 400]
    d = make(rx).start()
    try:
        await low_score(d, comment="Too many tickets")
        got = await rx.wait(lambda got: len(got) >= 3, "three posts")
        mia = await Chat.connect(d, user="mia")
        await press(mia, await the_alert(mia), "Acknowledge")
        await mia.close()
        got = await rx.wait(lambda got: len(got) >= 4, "the acknowledged event")
        all_signed(rx)
        check([(r["event"], r["status"]) for r in got] ==
              [("raised", 429), ("raised", 200), ("commented", 400), ("acknowledged", 200)],
              f"posts: {[(r['event'], r['status']) for r in got]}")
        check(got[1]["at"] - got[0]["at"] >= 1.9,
              f"Retry-After: 2 was honoured ({got[1]['at'] - got[0]['at']:.2f} s)")
        check(got[0]["key"] == got[1]["key"] and got[2]["key"] != got[1]["key"], "keys")
        rows = await settled(d, 3)
        check([(r["event"], r["state"], r["attempts"], r["last_status"]) for r in rows] ==
              [("raised", 1, 2, 200), ("commented", 2, 1, 400), ("acknowledged", 1, 1, 200)],
              f"queue rows: {rows}")
        check(rows[1]["error"] == "HTTP 400", f"the refusal is kept: {rows[1]}")
        check("given up after 1 attempt" in d.logs(), "the refusal is logged")
        with urllib.request.urlopen(d.url("/metrics"), timeout=10) as m:
            metrics = m.read().decode()
        check("pulsebot_alert_webhooks_failed 1" in metrics, "failure counted")
        check(d.stop() == 0, "clean stop")
    finally:
        d.cleanup()
        rx.close()


async def test_stop_during_a_post():
    """SIGTERM while a slow receiver holds a post: the daemon stops at once and cleanly, and
    after the restart the event is posted again under the same key."""
    rx = Receiver(SECRET.encode())
    rx.hold = True
    d = make(rx).start()
    try:
        await low_score(d)
        got = await rx.wait(lambda got: len(got) == 1, "the raised event, held")
        started = time.monotonic()
        check(d.stop(timeout=10) == 0, "a clean stop with a post in flight")
        check(time.monotonic() - started < 5, "the stop did not wait for the receiver")
        rows = d.sql("select state, attempts, error from alert_webhooks")
        check(len(rows) == 1 and rows[0]["state"] == 0, f"still pending: {rows}")
        with rx.lock:
            rx.hold = False
        rx.release.set()
        d.start()
        got = await rx.wait(lambda got: len(got) >= 2, "the event again after the restart")
        all_signed(rx)
        check(got[1]["key"] == got[0]["key"] and got[1]["event"] == "raised",
              f"the same key again: {[(r['event'], r['key']) for r in got]}")
        rows = await settled(d, 1)
        check(rows[0]["state"] == 1, f"settled after the restart: {rows}")
        check(d.stop() == 0, "clean stop")
    finally:
        d.cleanup()
        rx.close()


def edit_store(d, query, args=()):
    """Writes to the store while the daemon is down (the crash test's stand-in for time)."""
    db = sqlite3.connect(os.path.join(d.state, "pulsebot.db"))
    try:
        db.execute(query, args)
        db.commit()
    finally:
        db.close()


async def test_crash_after_lease_posts_again_with_the_same_key():
    rx = Receiver(SECRET.encode())
    d = make(rx).start()
    try:
        await low_score(d)
        await rx.wait(lambda got: events(got) == ["raised"], "the raised event")
        rows = await settled(d, 1)
        check(len(rows) == 1 and rows[0]["state"] == 1, f"the raised event was settled: {rows}")
        check(d.stop() == 0, "clean stop")
        confirmed = {r["key"] for r in rx.accepted()}
        before = len(rx.snapshot())

        # Now kill -9 right after the next post is leased, before it leaves.
        d.start(extra_env={"PULSEBOT_CRASH_POINT": "webhook-leased"})
        mia = await Chat.connect(d, user="mia")
        alert = await the_alert(mia)
        try:
            await mia.request({"type": "action", "ref": alert["ref"],
                               "token": button(alert, "Acknowledge")["token"]}, timeout=10)
        except Exception:  # the daemon died under the click: that is the point
            pass
        try:
            await mia.ws.close()
        except Exception:
            pass
        d.proc.wait(timeout=20)
        check(d.proc.returncode == -9, f"the daemon died of SIGKILL, not {d.proc.returncode}")
        crashed_ms = time.time() * 1000
        check("crash point webhook-leased reached" in d.logs(), "died at the crash point")
        rows = d.sql("select id, event, state, attempts, next_attempt_ms from alert_webhooks"
                     " order by id")
        check(len(rows) == 2 and rows[1]["event"] == "acknowledged" and rows[1]["state"] == 0
              and rows[1]["attempts"] == 1 and rows[1]["next_attempt_ms"] > crashed_ms + 30000,
              f"the lease was committed before the post: {rows}")
        check(len(rx.snapshot()) == before, "nothing left before the crash")
        leased = str(rows[1]["id"])

        real = os.environ.get("PB_WEBHOOK_REAL_LEASE") == "1"
        if not real:
            edit_store(d, "update alert_webhooks set next_attempt_ms = 0 where id = ?",
                       (rows[1]["id"],))
        d.start()
        await rx.wait(lambda got: len(got) > before, "the leased event after the restart",
                      timeout=120 if real else 20)
        check(d.sql("select state, ack_by from alerts") == [{"state": 1, "ack_by": "mia"}],
              "the acknowledgement was kept")
        mia = await Chat.connect(d, user="mia")
        alert = await the_alert(mia)
        await press(mia, alert, "Resolve")
        await mia.close()
        got = await rx.wait(lambda got: len(got) >= before + 2, "the resolved event")
        all_signed(rx)
        after = got[before:]
        check([(r["event"], r["key"]) for r in after][0] == ("acknowledged", leased),
              f"the leased event came with its key {leased}: {after}")
        check(events(after) == ["acknowledged", "resolved"], f"after the restart: {events(after)}")
        again = [r["key"] for r in after if r["key"] in confirmed]
        check(not again, f"keys confirmed before the crash were posted again: {again}")
        keys = [r["key"] for r in got]
        check(len(keys) == len(set(keys)), f"every key once: {keys}")
        check(d.stop() == 0, "clean stop")
    finally:
        d.cleanup()
        rx.close()


if __name__ == "__main__":
    run([test_receiver_refuses_forgeries, test_signed_events_in_order_with_a_retry,
         test_retry_after_and_a_refusal, test_stop_during_a_post, test_anonymous_names_nobody,
         test_crash_after_lease_posts_again_with_the_same_key])
