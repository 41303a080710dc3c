"""The Discord connector end to end: the real daemon against the fake Discord in
tests/fakes/discord_fake.py (gateway on python3-websockets, REST on http.server, every request
body checked against Discord's OpenAPI description).

Covered: a pulse asked by DM with buttons, answered by a click (committed, then the
UPDATE_MESSAGE callback), the follow-up answered by a DM, a low-score alert posted to the
team channel and acknowledged from a server click, the core's edits of both messages;
mention injection in a comment; a daemon restart resuming the session; a zombie link resumed
with a click sent meanwhile not lost; op 9 false re-identifying; a fatal close stopping the
connector without a loop; a 429 storm losing nothing and posting nothing twice; a person with
closed DMs.
"""

import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "fakes"))

from discord_fake import FakeDiscord, custom_id  # noqa: E402
from pbtest import Daemon, check, run  # noqa: E402

ALICE, BOB, MIA, CARL = "111111111111111111", "222222222222222222", "333333333333333333", \
    "444444444444444444"
ALERTS = "555555555555555555"

CONFIG = """
daemon = {{
  state_dir = "{state}";
  plugin_dir = "{plugins}";
  log_level = "debug";
  http = {{ listen = "127.0.0.1"; port = 0; max_body = 65536; }};
  public_url = "http://127.0.0.1";
}};
connectors = ( {{ name = "discord"; type = "discord"; bot_token_file = "@TOKEN@";
                  api_base = "@API@"; }} );
teams = (
  {{ id = "support"; name = "Support"; manager = "mia"; }},
  {{ id = "support-leads"; name = "Support leads"; parent = "support";
     channel = "discord:@ALERTS@"; }}
);
people = (
  {{ id = "alice"; name = "Alice Andersen"; team = "support";
     handles = {{ discord = "@ALICE@"; }}; }},
  {{ id = "mia"; name = "Mia Lead"; team = "support-leads"; handles = {{ discord = "@MIA@"; }}; }}
  @MORE@
);
surveys = (
  {{ id = "weekly-pulse"; kind = "employee"; title = "Weekly pulse"; window = "3d";
     thanks = "Thank you!";
     questions = (
       {{ id = "week"; type = "scale"; text = "How was your week?"; min = 1; max = 5;
          low_label = "Rough"; high_label = "Great";
          branches = ( {{ min = 1; max = 2; next = "hard"; }} ); next = "end"; }},
       {{ id = "hard"; type = "text"; text = "What made it hard?"; max_length = 500; }}
     ); }}
);
schedules = (
  {{ id = "weekly"; survey = "weekly-pulse"; every = "7d"; first = "1s";
     audience = {{ teams = [ "support" ]; exclude = [ "mia" ]; }}; }}
);
routing = (
  {{ id = "support-low"; survey = "weekly-pulse"; team = "support"; max_score = 2;
     alert = "support-leads"; }}
);
"""


def make_daemon(fake, more_people=()):
    d = Daemon(config="", env={"PULSEBOT_ALLOW_PLAIN": "1"})
    token = os.path.join(d.dir, "token")
    with open(token, "w") as f:
        f.write(fake.token + "\n")
    os.chmod(token, 0o600)
    more = "".join(f', {{{{ id = "{pid}"; name = "{pid}"; team = "support"; '
                   f'handles = {{{{ discord = "{uid}"; }}}}; }}}}' for pid, uid in more_people)
    text = (CONFIG.replace("@TOKEN@", token).replace("@API@", fake.api_base)
            .replace("@ALERTS@", ALERTS).replace("@ALICE@", ALICE).replace("@MIA@", MIA)
            .replace("@MORE@", more))
    with open(d.config_path, "w") as f:
        f.write(text.format(state=d.state, plugins=os.path.abspath(
            os.environ.get("PB_PLUGIN_DIR", "build/plugins"))))
    return d


def question(fake, user, text, timeout=30, buttons=True):
    """The message asking `text` in `user`'s DM channel (opened by the daemon)."""
    def find():
        channel = fake.dm_channels.get(user)
        return channel and next((m for m in fake.posts(channel) if text in m["content"]
                                 and bool(m["components"]) == buttons), None)
    return fake.wait_for(find, timeout, f"the question {text!r} to {user}")


def no_schema_errors(fake):
    check(not fake.schema_errors, f"requests off Discord's OpenAPI description: "
                                  f"{fake.schema_errors[:3]}")
    check(not fake.violations, f"gateway limits broken: {fake.violations}")


async def test_pulse_alert_end_to_end():
    fake = FakeDiscord()
    d = make_daemon(fake)
    try:
        d.start()
        conn = fake.wait_ready()
        identify = next(f for f in conn.frames if f["op"] == 2)
        check(identify["d"]["intents"] == 4096, f"intents: {identify['d']['intents']}")
        check(conn.path.startswith("/?v=10&encoding=json"), f"gateway path {conn.path}")

        q = question(fake, ALICE, "How was your week?")
        check(q["allowed_mentions"] == {"parse": []}, f"allowed_mentions {q['allowed_mentions']}")
        check(q["nonce"] and q["nonce"].startswith("pb"), f"nonce {q['nonce']}")
        labels = [c["label"] for row in q["components"] for c in row["components"]]
        check(labels == ["1", "2", "3", "4", "5"], f"buttons {labels}")
        check("Rough" in q["content"] and "Great" in q["content"], "scale labels shown")

        iid = fake.click(ALICE, q["id"], custom_id(q, "2"))
        _, _, body = fake.callback(iid)
        check(body["type"] == 7 and body["data"]["components"] == [],
              f"the click is answered with UPDATE_MESSAGE and no buttons: {body}")
        check("Your answer: 2" in body["data"]["content"], f"answer shown: {body}")
        # The core's own edit of the question follows, on the same message.
        fake.wait_for(lambda: len(q["edits"]) >= 2, what="the core's edit of the question")
        check(q["components"] == [] and "Your answer: 2" in q["content"].replace("\\", "")
              and q["edits"][1]["allowed_mentions"] == {"parse": []},
              f"the core's edit keeps the answer shown and no buttons: {q['edits'][1]}")
        rows = d.sql("select score from answers")
        check(rows == [{"score": 2}], f"the answer is committed: {rows}")

        follow = question(fake, ALICE, "What made it hard?", buttons=False)
        check("Reply with a message" in follow["content"], f"asks for text: {follow}")
        comment = "Two outages @everyone <@&42> <@333333333333333333> **bold** [x](http://e.vil)"
        fake.dm(ALICE, comment)
        fake.wait_for(lambda: any(m["content"] == "Thank you!" for m in fake.posts()),
                      what="the thank-you")

        alert = fake.wait_for(lambda: next((m for m in fake.posts(ALERTS)), None),
                              what="the alert in the team channel")
        check(alert["allowed_mentions"] == {"parse": []}, "the alert mentions nobody")
        check("@everyone" not in alert["content"].replace("\\@everyone", ""),
              f"@everyone escaped: {alert['content']}")
        check("<@&42>" not in alert["content"] and "\\<\\@&42\\>" in alert["content"],
              f"role mention escaped: {alert['content']}")
        check("](http" not in alert["content"], f"masked link escaped: {alert['content']}")
        check([c["label"] for row in alert["components"] for c in row["components"]]
              == ["Acknowledge", "Resolve"], f"alert buttons: {alert['components']}")

        iid = fake.click(MIA, alert["id"], custom_id(alert, "Acknowledge"), guild=True)
        _, _, body = fake.callback(iid)
        check(body["type"] == 6, f"an alert action is acknowledged with type 6: {body}")
        fake.wait_for(lambda: "Acknowledged by Mia Lead" in alert["content"],
                      what="the alert edited to its new state")
        check([c["label"] for row in alert["components"] for c in row["components"]]
              == ["Resolve"], f"only Resolve is left: {alert['components']}")
        rows = d.sql("select state, ack_by from alerts")
        check(rows == [{"state": 1, "ack_by": "mia"}], f"alert row: {rows}")
        check(all(m.get("duplicates", 0) == 0 for m in fake.posts()), "nothing posted twice")
        no_schema_errors(fake)

        # A restart resumes the session kept in the connector's state.
        check(d.stop() == 0, "clean stop")
        check(fake.conns[-1].client_close not in (1000, 1001),
              f"closed with {fake.conns[-1].client_close}, which would end the session")
        n = len(fake.conns)
        d.start()
        conn = fake.wait_ready(after=n)
        check(conn.path.startswith("/resume"), f"restart resumed at {conn.path}")
        check(any(f["op"] == 6 for f in conn.frames) and fake.identifies == 1,
              f"RESUME, not IDENTIFY, after a restart (identifies {fake.identifies})")
        check(d.stop() == 0, "clean stop")
    finally:
        d.cleanup()
        fake.close()


async def test_zombie_resume_keeps_click():
    fake = FakeDiscord(heartbeat_interval=500)
    d = make_daemon(fake)
    try:
        d.start()
        fake.wait_ready()
        q = question(fake, ALICE, "How was your week?")
        fake.withhold_acks = True
        # The click comes while the link is a zombie: Discord keeps it for the resume.
        iid = fake.click(ALICE, q["id"], custom_id(q, "4"))
        first = fake.conns[0]
        fake.wait_for(lambda: first.closed, what="the zombie link closed")
        check(first.client_close not in (None, 1000, 1001),
              f"zombie closed with {first.client_close}")
        fake.withhold_acks = False
        conn = fake.wait_ready(after=1)
        check(any(f["op"] == 6 for f in conn.frames), "resumed")
        check(fake.identifies == 1, "no second identify")
        _, _, body = fake.callback(iid)
        check(body["type"] in (4, 7), f"the click was answered after the resume: {body}")
        fake.wait_for(lambda: d.sql("select score from answers") == [{"score": 4}],
                      what="the answer committed", poll=0.1)
        check("zombie" in d.logs(), "the zombie was logged")
        no_schema_errors(fake)
    finally:
        d.cleanup()
        fake.close()


async def test_invalid_session_false_identifies():
    fake = FakeDiscord()
    d = make_daemon(fake)
    try:
        d.start()
        fake.wait_ready()
        fake.send_op({"op": 9, "d": False})
        conn = fake.wait_ready(after=1, timeout=30)
        check(fake.identifies == 2, f"a new IDENTIFY after op 9 false ({fake.identifies})")
        check(not conn.path.startswith("/resume"), "the cached gateway URL, not the resume URL")
        # op 7 resumes.
        fake.send_op({"op": 7})
        conn = fake.wait_ready(after=len(fake.conns))
        check(conn.path.startswith("/resume") and fake.resumes == 1, "op 7 resumed")
        no_schema_errors(fake)
    finally:
        d.cleanup()
        fake.close()


async def test_fatal_close_stops():
    fake = FakeDiscord()
    d = make_daemon(fake)
    try:
        d.start()
        fake.wait_ready()
        fake.close_on_identify = 4014
        fake.send_op({"op": 9, "d": False})  # forces a new IDENTIFY, which is refused
        fake.wait_for(lambda: len(fake.conns) >= 2 and fake.conns[1].closed,
                      what="the refused identify")
        check(d.alive(), "the daemon keeps running")
        # A loop would reconnect within a second or two (the backoff's first steps); this is
        # the one place a test waits on the clock, because it checks that nothing happens.
        time.sleep(3)
        check(len(fake.conns) == 2, f"no reconnect loop after 4014 ({len(fake.conns)} links)")
        logs = d.logs()
        check("4014" in logs and "will not reconnect" in logs, "a clear log line")
    finally:
        d.cleanup()
        fake.close()


async def test_429_storm_nothing_lost():
    people = [(f"p{i}", str(600000000000000000 + i)) for i in range(8)]
    fake = FakeDiscord(rate_limit=3, rate_window=0.5)
    fake.global_429 = 6
    fake.route_429 = 3
    d = make_daemon(fake, people)
    try:
        d.start()
        fake.wait_ready()
        for _, uid in people + [("alice", ALICE)]:
            question(fake, uid, "How was your week?", timeout=60)
        posts = fake.posts()
        check(len(posts) == len(people) + 1, f"one question each: {len(posts)}")
        check(all(m.get("duplicates", 0) == 0 for m in posts), "nothing posted twice")
        statuses = [r[3] for r in fake.requests]
        check(statuses.count(429) >= 9, f"the storm happened: {statuses.count(429)} 429s")
        # The daemon hears of the last post a moment after the fake recorded it.
        fake.wait_for(lambda: d.sql("select count(*) as n from outbox where state = 1")[0]["n"]
                      == len(people) + 1, what="every send confirmed in the outbox", poll=0.1)
        rows = d.sql("select count(*) as n from outbox where state != 1")
        check(rows[0]["n"] == 0, f"nothing failed or pending: {rows}")
        no_schema_errors(fake)
    finally:
        d.cleanup()
        fake.close()


async def test_closed_dm_unreachable():
    fake = FakeDiscord()
    fake.closed_dms.add(CARL)
    d = make_daemon(fake, [("carl", CARL)])
    try:
        d.start()
        fake.wait_ready()
        question(fake, ALICE, "How was your week?")
        fake.wait_for(lambda: any(r[3] == 403 for r in fake.requests), what="the 403")
        rows = fake.wait_for(lambda: d.sql("select state, error from outbox where target = '"
                                           + CARL + "' and state = 2") or None,
                             what="carl's message failed", poll=0.1)
        check("50007" in rows[0]["error"], f"the error says why: {rows}")
        posts_to_carl = [r for r in fake.requests if r[3] == 403]
        check(len(posts_to_carl) == 1, f"not retried: {len(posts_to_carl)}")
    finally:
        d.cleanup()
        fake.close()


async def test_example_config_checks():
    """config/discord-example.conf passes --check-config (with the build's plugin_dir)."""
    import subprocess
    import tempfile
    src = os.path.join(os.environ.get("PB_SOURCE_DIR", "."), "config", "discord-example.conf")
    with open(src) as f:
        text = f.read()
    plugins = os.path.abspath(os.environ.get("PB_PLUGIN_DIR", "build/plugins"))
    text = text.replace("daemon = {", f'daemon = {{\n  plugin_dir = "{plugins}";', 1)
    with tempfile.NamedTemporaryFile("w", suffix=".conf", delete=False) as f:
        f.write(text)
    try:
        p = subprocess.run([os.environ.get("PULSEBOTD", "build/pulsebotd"), "--check-config",
                            f.name], capture_output=True, text=True, timeout=30)
        check(p.returncode == 0, f"--check-config failed: {p.stdout} {p.stderr}")
    finally:
        os.unlink(f.name)


if __name__ == "__main__":
    run([test_example_config_checks, test_pulse_alert_end_to_end, test_zombie_resume_keeps_click,
         test_invalid_session_false_identifies, test_fatal_close_stops,
         test_429_storm_nothing_lost, test_closed_dm_unreachable])
