"""Customer check-ins against the real daemon: a signed webhook for a closed interaction is
taken (202, committed), and after the policy's delay the customer, who is not on the roster,
gets the survey's question in the web chat. A retry creates nothing new. Bad bodies, bad or
stale or replayed signatures, wrong tokens and wrong methods are each refused with a JSON
error, and the daemon keeps running.

The customer cannot sign in to the web chat (it admits roster people only), so the question is
read from the web chat's own history in the store, which is where the page would load it."""

import hashlib
import hmac
import json
import os
import time
import urllib.error
import urllib.request

from pbtest import BASE_CONFIG, Daemon, check, run

SECRET = b"whsec-integration-test"
TOKEN = "bearer-integration-test"

CHECKINS = """
surveys = (
  {{ id = "csat"; kind = "customer"; title = "How did we do?"; window = "48h";
     thanks = "Thanks!";
     questions = (
       {{ id = "csat"; type = "scale"; text = "How satisfied are you?"; min = 1; max = 5; }}
     ); }}
);
checkins = {{
  secret_file = "{secret}";
  token_file = "{token}";
  contact_cap = "7d";
  max_depth = 16;
  policies = ( {{ survey = "csat"; delay = "1s"; touchpoints = [ "support" ]; }} );
}};
"""


def config(d):
    base = BASE_CONFIG.split("surveys = (", 1)[0]  # keep the daemon, connector, teams, people
    return base + CHECKINS


def interaction(ext_id, user, touchpoint="support"):
    return {
        "id": ext_id,
        "customer": {"id": f"c-{user}", "name": "Ana Ruiz", "email": f"{user}@example.com",
                     "locale": "es", "timezone": "Europe/Madrid",
                     "reach": {"connector": "web", "user": user}},
        "team": "support", "agent": "mia", "channel": "email", "touchpoint": touchpoint,
        "closed_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "tags": {"tier": "gold"},
    }


def sign(body, t=None):
    t = int(time.time()) if t is None else t
    mac = hmac.new(SECRET, f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def post(d, body, headers=None, path="/v1/interactions", method="POST"):
    if isinstance(body, (dict, list)):
        body = json.dumps(body).encode()
    req = urllib.request.Request(d.url(path), data=body if method == "POST" else None,
                                 method=method, headers=dict({"Content-Type": "application/json"},
                                                             **(headers or {})))
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        raw = e.read()
        try:
            return e.code, json.loads(raw)
        except ValueError:
            return e.code, {"raw": raw.decode(errors="replace")}


def write_secret(directory, name, value):
    path = os.path.join(directory, name)
    with open(path, "w") as f:
        f.write(value + "\n")
    os.chmod(path, 0o600)
    return path


def make_daemon():
    d = Daemon(first="7d")
    secret = write_secret(d.dir, "secret", SECRET.decode())
    token = write_secret(d.dir, "token", TOKEN)
    text = config(d).replace("{secret}", secret).replace("{token}", token)
    with open(d.config_path, "w") as f:
        f.write(text.format(state=d.state, plugins=os.path.abspath(
            os.environ.get("PB_PLUGIN_DIR", "build/plugins")), demo="true", window="3d",
            first="7d"))
    return d


def wait_for_question(d, user, timeout=30):
    """The web chat keeps each message under m/dm:<user>/<id> in its state."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rows = d.sql(f"SELECT value FROM kv WHERE ns = 'web' AND key LIKE 'm/dm:{user}/%'")
        if rows:
            return [json.loads(r["value"]) for r in rows]
        time.sleep(0.1)
    raise AssertionError(f"no message to {user} in the web chat within {timeout}s")


async def test_signed_webhook_asks_the_customer():
    d = make_daemon().start()
    try:
        body = json.dumps(interaction("T-100", "ana")).encode()
        first_t = int(time.time())
        status, r = post(d, body, {"X-Pulsebot-Signature": sign(body, first_t)})
        check(status == 202 and r == {"interaction": "T-100", "checkin": "scheduled"},
              f"signed webhook: {status} {r}")
        # Committed before the 202: the rows are there now.
        rows = d.sql("SELECT state, customer, team FROM checkins")
        check(rows == [{"state": rows[0]["state"], "customer": "customer:c-ana", "team": "support"}],
              f"check-in rows: {rows}")
        msgs = wait_for_question(d, "ana")
        check(msgs[0]["text"] == "How satisfied are you?" and len(msgs[0]["buttons"]) == 5,
              f"the question in the web chat: {msgs}")
        check(d.sql("SELECT person FROM deliveries") == [{"person": "customer:c-ana"}],
              "the delivery is for the customer key")
        # A retry (signed anew) is the same interaction: same answer, nothing new.
        status, r = post(d, body, {"X-Pulsebot-Signature": sign(body, first_t - 1)})
        check(status == 202 and r.get("duplicate") is True and r["checkin"] == "scheduled",
              f"retry: {status} {r}")
        check(len(d.sql("SELECT id FROM checkins")) == 1, "one check-in after the retry")
        # The bearer token works too; the contact cap holds for the same customer.
        status, r = post(d, interaction("T-101", "ana"), {"Authorization": f"Bearer {TOKEN}"})
        check(status == 202 and r["checkin"].startswith("skipped: contact cap"),
              f"bearer, capped: {status} {r}")
        check(d.alive(), "daemon running")
        check(d.stop() == 0, "clean stop")
    finally:
        d.cleanup()


async def test_bad_requests_are_refused():
    d = make_daemon().start()
    try:
        good = json.dumps(interaction("T-200", "bo")).encode()
        cases = []

        def expect(what, status, needle, body, headers=None, **kw):
            got, r = post(d, body, headers, **kw)
            cases.append(what)
            check(got == status, f"{what}: status {got}, expected {status}: {r}")
            err = r.get("error", "") if isinstance(r, dict) else ""
            if needle:
                check(needle in err, f"{what}: error {err!r} lacks {needle!r}")

        expect("no credentials", 401, "missing X-Pulsebot-Signature", good)
        expect("wrong signature", 401, "does not match", good,
               {"X-Pulsebot-Signature": sign(good + b" ")})
        expect("malformed signature", 401, "malformed", good, {"X-Pulsebot-Signature": "v1=00"})
        expect("stale signature", 401, "old", good,
               {"X-Pulsebot-Signature": sign(good, int(time.time()) - 600)})
        expect("wrong token", 401, "wrong", good, {"Authorization": "Bearer nope"})
        sig = sign(good)
        expect("first use", 202, None, good, {"X-Pulsebot-Signature": sig})
        expect("replayed signature", 401, "used before", good, {"X-Pulsebot-Signature": sig})

        def signed(what, status, needle, body):
            expect(what, status, needle, body, {"X-Pulsebot-Signature": sign(body)})

        signed("malformed JSON", 400, "not valid JSON", b'{"id": "x",')
        signed("not an object", 400, "must be a JSON object", b"[1,2,3]")
        signed("too deep", 400, "deeper than 16", b'{"a":' + b"[" * 40 + b"]" * 40 + b"}")
        wrong = interaction("T-201", "cy")
        wrong["customer"] = "cy"
        signed("wrong type", 422, "customer: expected an object", json.dumps(wrong).encode())
        missing = interaction("T-202", "cy")
        del missing["id"]
        signed("missing id", 422, "id: missing", json.dumps(missing).encode())
        expect("unknown source", 404, "no check-in source", good,
               {"X-Pulsebot-Signature": sign(good)}, path="/v1/interactions/zendesk")
        expect("GET", 405, "use POST", b"", method="GET")
        # Bigger than daemon.http.max_body: refused by the server before the route sees it.
        huge = b'{"id": "' + b"x" * 70000 + b'"}'
        got, _ = post(d, huge, {"X-Pulsebot-Signature": sign(huge)})
        check(got == 413, f"huge body: {got}")
        check(d.alive(), f"daemon running after {len(cases)} bad requests")
        status, _ = post(d, b"", method="GET", path="/healthz")
        check(status == 200, "healthz after the bad requests")
        check(len(d.sql("SELECT id FROM interactions")) == 1, "only the good one was kept")
        check(d.stop() == 0, "clean stop")
    finally:
        d.cleanup()


if __name__ == "__main__":
    run([test_signed_webhook_asks_the_customer, test_bad_requests_are_refused])
