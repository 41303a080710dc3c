"""The Slack connector end to end: the real pulsebotd against a fake Slack (tests/fakes/
slack_fake.py) over Socket Mode and the Web API.

  * a full pulse: the question as Block Kit in alice's DM, her click acknowledged after the
    commit, the buttons replaced by her answer, the follow-up answered in a DM (message.im),
    the low-score alert in the leads' channel with Acknowledge/Resolve, the comment in it with
    every mention neutralised, mia's acknowledgement shown on the alert;
  * a refresh (disconnect: refresh_requested) with a click on the old link in between: a new
    ticket, the old link closed only after the new hello, the answer recorded once;
  * link_disabled: the connector stops, logs a configuration error, no reconnect loop;
  * a 429 storm on chat.postMessage: every question still arrives, exactly once;
  * a click whose commit fails (the database locked by another writer) is not acknowledged,
    and the same click later is;
  * every request checked against Slack's OpenAPI description.
"""

import os
import sqlite3
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "fakes"))

from pbtest import check, run  # noqa: E402
from slack_daemon import SlackEnv  # noqa: E402
from slack_fake import block_texts, buttons, check_openapi  # noqa: E402


def question(fake, channel, text="How was your week?", after=0):
    """The first open question with `text` posted to `channel` (waits for it)."""
    def find():
        for m in fake.posts_to(channel)[after:]:
            if text in block_texts(m.get("blocks", [])) and buttons(m):
                return m
        return None
    return fake.wait_for(find, what=f"question {text!r} in {channel}")


def button(message, label):
    for b in buttons(message):
        if b["text"]["text"] == label:
            return b
    raise AssertionError(f"no button {label!r}")


def click(fake, user, name, message, label, link=None):
    b = button(message, label)
    payload = fake.block_action(user, name, message["channel"], message["ts"], b["action_id"],
                                b["value"], label)
    return fake.deliver("interactive", payload, link)


def update_of(fake, message, predicate, what):
    def find():
        for ch, ts, m in fake.updates:
            if ch == message["channel"] and ts == message["ts"] and predicate(m):
                return m
        return None
    return fake.wait_for(find, what=what)


def no_problems(fake):
    problems = check_openapi(fake.requests)
    check(not problems, "requests that do not match Slack's API: " + "; ".join(problems[:10]))


async def test_pulse_and_alert_end_to_end():
    env = SlackEnv().start()
    fake = env.fake
    try:
        q = question(fake, "DALICE01")
        check(q["text"] == "Weekly pulse: How was your week?", f"notification text: {q['text']}")
        check([b["text"]["text"] for b in buttons(q)] == ["1", "2", "3", "4", "5"],
              "scale buttons in order")
        check("1 = Rough" in block_texts(q["blocks"]), "scale labels shown")
        check(fake.requests_for("conversations.open"), "DM opened with conversations.open")

        env_click = click(fake, "UALICE01", "alice", q, "2")
        fake.wait_for(lambda: env_click.acked, what="the click acknowledged")
        check(env_click.acked - env_click.delivered < 3.0, "acknowledged within 3 s")
        closed = update_of(fake, q, lambda m: not buttons(m), "the question closed")
        check("Your answer: 2" in block_texts(closed["blocks"]), f"answer shown: {closed}")
        check("Thank you" in block_texts(closed["blocks"]), "a thank-you shown")

        question_text = fake.wait_for(
            lambda: next((m for m in fake.posts_to("DALICE01")
                          if "What made it hard?" in m["text"]), None), what="the follow-up")
        check(not buttons(question_text), "a text question has no buttons")
        alert = fake.wait_for(lambda: next((m for m in fake.posts_to("CLEADS01")
                                            if "Low score" in m["text"]), None),
                              what="the alert in the leads' channel")
        check([b["text"]["text"] for b in buttons(alert)] == ["Acknowledge", "Resolve"],
              f"alert buttons: {buttons(alert)}")
        check("Alice Andersen" in block_texts(alert["blocks"]), "who answered is shown")

        # The follow-up, as Slack sends a DM: literal &, <, > escaped, mentions as <...>.
        typed = ("Two outages &amp; a &lt;script&gt; day <!channel> <!here> <@UMIA0001> "
                 "<https://evil.example|click> @everyone")
        ev = fake.deliver("events_api", fake.message_event("UALICE01", "DALICE01", typed,
                                                           "Ev0001"))
        fake.wait_for(lambda: ev.acked, what="the DM acknowledged")
        commented = update_of(fake, alert, lambda m: "Two outages" in block_texts(m["blocks"]),
                              "the comment on the alert")
        shown = block_texts(commented["blocks"]) + commented["text"]
        check("<" not in shown and ">" not in shown, f"raw brackets in the alert: {shown!r}")
        check("&lt;!channel&gt;" in shown and "&amp; a &lt;script&gt;" in shown,
              f"comment escaped as given: {shown!r}")
        rows = env.daemon.sql("select text from answers where question = 'hard'")
        check(rows and rows[0]["text"].startswith("Two outages & a <script> day <!channel>"),
              f"the comment stored as typed: {rows}")
        fake.wait_for(lambda: any(m["text"] == "Thank you!" for m in fake.posts_to("DALICE01")),
                      what="the thank-you")

        ack = click(fake, "UMIA0001", "mia", alert, "Acknowledge")
        fake.wait_for(lambda: ack.acked, what="acknowledge acknowledged")
        acked = update_of(fake, alert, lambda m: "Acknowledged by Mia Lead"
                          in block_texts(m["blocks"]), "the alert acknowledged")
        check([b["text"]["text"] for b in buttons(acked)] == ["Resolve"], "only Resolve left")

        # bob answers 5: no alert; an answered question cannot be answered again.
        qb = question(fake, "DBOB0001")
        first = click(fake, "UBOB0001", "bob", qb, "5")
        fake.wait_for(lambda: first.acked, what="bob's click")
        again = click(fake, "UBOB0001", "bob", qb, "4")
        fake.wait_for(lambda: again.acked, what="the second click acknowledged (refused)")
        fake.wait_for(lambda: any("already" in e.get("text", "") for e in fake.ephemeral),
                      what="an ephemeral notice of the refusal")
        check(env.daemon.sql("select count(*) n from answers where person = 'bob'")[0]["n"] == 1,
              "bob's second click not recorded")
        check(not fake.unacked_clicks, f"clicks left unacknowledged: {fake.unacked_clicks}")
        no_problems(fake)
        check(env.daemon.stop() == 0, "clean stop")
    finally:
        env.cleanup()


async def test_refresh_without_lost_answer():
    env = SlackEnv().start()
    fake = env.fake
    try:
        q = question(fake, "DALICE01")
        old = fake.wait_for(lambda: fake.open_links() and fake.open_links()[0], what="a link")
        fake.disconnect(old, "refresh_requested")
        # Slack may still deliver on the old link until it is closed: the click goes there.
        c = click(fake, "UALICE01", "alice", q, "4", link=old)
        fake.wait_for(lambda: c.acked, what="the click on the old link acknowledged")
        fake.wait_for(lambda: len(fake.links) >= 2 and not old.open,
                      what="a new link and the old one closed")
        check(len(fake.requests_for("apps.connections.open")) >= 2, "a fresh ticket per link")
        check(len(set(link.ticket for link in fake.links)) == len(fake.links), "tickets reused")
        check(not [r for r in fake.requests if r.get("method") == "ws-refused"],
              "a ticket was refused")
        update_of(fake, q, lambda m: "Your answer: 4" in block_texts(m["blocks"]),
                  "the answer shown")
        rows = env.daemon.sql("select score from answers where person = 'alice'")
        check(rows == [{"score": 4}], f"answer recorded once: {rows}")
        check("is down" not in env.daemon.logs(), "the connector went down during a refresh")
        no_problems(fake)
    finally:
        env.cleanup()


async def test_link_disabled():
    env = SlackEnv().start()
    fake = env.fake
    try:
        link = fake.wait_for(lambda: fake.open_links() and fake.open_links()[0], what="a link")
        fake.wait_for(lambda: "is up" in env.daemon.logs(), what="the connector up")
        fake.disconnect(link, "link_disabled")
        fake.wait_for(lambda: not link.open, what="the link closed")
        opens = len(fake.requests_for("apps.connections.open"))
        fake.wait_for(lambda: "link_disabled" in env.daemon.logs(), what="the error logged")
        # A negative check needs a wait: far longer than the first retry (1 s) would take.
        time.sleep(4)
        check(len(fake.requests_for("apps.connections.open")) == opens, "it tried to reconnect")
        check(env.daemon.alive(), "the daemon keeps running")
        logs = env.daemon.logs()
        check("Socket Mode" in logs and "is down" in logs, "down and why, in the log")
    finally:
        env.cleanup()


async def test_429_storm_loses_nothing():
    people = [(f"p{i}", f"Person {i}", f"UP{i:06d}", "support") for i in range(6)]
    people.append(("mia", "Mia Lead", "UMIA0001", "support-leads"))
    env = SlackEnv(people=people, extra="channel_interval = 0;")
    env.fake.limit("chat.postMessage", 8, retry_after=1)
    env.fake.limit("conversations.open", 3, retry_after=1)
    env.start()
    fake = env.fake
    try:
        for _, _, uid, team in people:
            if team == "support":
                fake.wait_for(lambda c="D" + uid[1:]: fake.posts_to(c), timeout=60,
                              what=f"the question to {uid}")
        time.sleep(0.5)  # let any duplicate land before counting
        for _, _, uid, team in people:
            if team == "support":
                n = len(fake.posts_to("D" + uid[1:]))
                check(n == 1, f"{uid} got {n} questions")
        n429 = sum(1 for r in fake.requests if r.get("method") == "chat.postMessage")
        check(n429 >= 6 + 8, f"the storm happened ({n429} posts)")
        check("rate limited" in env.daemon.logs(), "429s seen by the connector")
        no_problems(fake)
    finally:
        env.cleanup()


async def test_unacknowledged_click():
    env = SlackEnv().start()
    fake = env.fake
    try:
        q = question(fake, "DALICE01")
        db = sqlite3.connect(os.path.join(env.daemon.state, "pulsebot.db"), isolation_level=None,
                             timeout=10)
        db.execute("BEGIN IMMEDIATE")  # another writer holds the database
        try:
            c = click(fake, "UALICE01", "alice", q, "3")
            # Hold the lock until the daemon has tried and given up: under a sanitizer its
            # loop may reach the click only after Slack's 3 s have passed.
            fake.wait_for(lambda: "was not acknowledged" in env.daemon.logs(), timeout=30,
                          what="the daemon's refusal to acknowledge")
            fake.wait_for(lambda: c.id in fake.unacked_clicks, what="the error marker")
            check(c.acked is None, "a click whose commit failed was acknowledged")
        finally:
            db.execute("ROLLBACK")
            db.close()
        check(not env.daemon.sql("select * from answers"), "nothing recorded")
        again = click(fake, "UALICE01", "alice", q, "3")
        fake.wait_for(lambda: again.acked, what="the second click acknowledged")
        rows = env.daemon.sql("select score from answers")
        check(rows == [{"score": 3}], f"the second click recorded: {rows}")
    finally:
        env.cleanup()


if __name__ == "__main__":
    run([test_pulse_and_alert_end_to_end, test_refresh_without_lost_answer, test_link_disabled,
         test_429_storm_loses_nothing, test_unacknowledged_click])
