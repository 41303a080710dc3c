"""The Discord forum-thread trigger end to end: the real daemon against the fake Discord
(tests/fakes/discord_fake.py). A support thread in a configured forum that is given a
"resolved" tag, archived or locked arrives as THREAD_UPDATE over the gateway; the connector
reports INTERACTION_CLOSED with the thread's author as the customer; the `checkins` source
for the discord connector takes it; after the policy's delay the customer gets the check-in
by DM and answers it with a click.

Covered: the GUILDS intent asked for because support_forums is set; threads that are not
closed, or in another forum, ignored; one interaction per thread however often it is
archived again; a second thread, locked, taken too; the check-in's question, answer and
thank-you on Discord; every REST body checked against Discord's OpenAPI description.
"""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "fakes"))

from discord_fake import FakeDiscord, custom_id  # noqa: E402
from pbtest import Daemon, check, run  # noqa: E402

MIA = "333333333333333333"
ALERTS = "555555555555555555"
FORUM = "777777777777777777"
OTHER_FORUM = "777777777777777778"
RESOLVED = "888888888888888888"
OPEN_TAG = "888888888888888889"
CUSTOMER = "999999999999999991"
CUSTOMER2 = "999999999999999992"
THREAD = "1200000000000000001"
THREAD2 = "1200000000000000002"
ELSEWHERE = "1200000000000000003"

CONFIG = """
daemon = {{
  state_dir = "{state}";
  plugin_dir = "{plugins}";
  log_level = "debug";
  http = {{ listen = "127.0.0.1"; port = 0; max_body = 65536; }};
  public_url = "http://127.0.0.1";
}};
connectors = ( {{ name = "discord"; type = "discord"; bot_token_file = "@TOKEN@";
                  api_base = "@API@"; support_forums = [ "@FORUM@" ];
                  resolved_tags = [ "@RESOLVED@" ]; }} );
teams = (
  {{ id = "support"; name = "Support"; channel = "discord:@ALERTS@"; }}
);
people = (
  {{ id = "mia"; name = "Mia Lead"; team = "support"; handles = {{ discord = "@MIA@"; }}; }}
);
surveys = (
  {{ id = "csat"; kind = "customer"; title = "How did we do?"; window = "48h";
     thanks = "Thanks for telling us!";
     questions = (
       {{ id = "csat"; type = "scale"; text = "How satisfied are you with the help you got?";
          min = 1; max = 5; }}
     ); }}
);
checkins = {{
  contact_cap = "7d";
  sources = (
    {{ id = "discord-forum"; connector = "discord";
       fields = {{ team = "support"; touchpoint = "support"; }}; }}
  );
  policies = ( {{ survey = "csat"; delay = "1s"; }} );
}};
"""


def make_daemon(fake):
    d = Daemon(config="", env={"PULSEBOT_ALLOW_PLAIN": "1"})
    token = os.path.join(d.dir, "token")
    with open(token, "w") as f:
        f.write(fake.token + "\n")
    os.chmod(token, 0o600)
    text = (CONFIG.replace("@TOKEN@", token).replace("@API@", fake.api_base)
            .replace("@ALERTS@", ALERTS).replace("@MIA@", MIA).replace("@FORUM@", FORUM)
            .replace("@RESOLVED@", RESOLVED))
    with open(d.config_path, "w") as f:
        f.write(text.format(state=d.state, plugins=os.path.abspath(
            os.environ.get("PB_PLUGIN_DIR", "build/plugins"))))
    return d


def interactions(d):
    return d.sql("select source, ext_id, customer, connector, user, touchpoint, team "
                 "from interactions order by id")


def question(fake, user, text, timeout=30):
    def find():
        channel = fake.dm_channels.get(user)
        return channel and next((m for m in fake.posts(channel) if text in m["content"]
                                 and m["components"]), None)
    return fake.wait_for(find, timeout, f"the question {text!r} to {user}")


async def test_resolved_forum_thread_asks_the_customer():
    fake = FakeDiscord()
    d = make_daemon(fake)
    try:
        d.start()
        conn = fake.wait_ready()
        identify = next(f for f in conn.frames if f["op"] == 2)
        check(identify["d"]["intents"] == 4096 | 1,
              f"GUILDS asked for with support_forums: {identify['d']['intents']}")

        # Not closed (an ordinary tag, still open), and a closed thread in another forum.
        fake.thread_update(THREAD, FORUM, CUSTOMER, tags=[OPEN_TAG])
        fake.thread_update(ELSEWHERE, OTHER_FORUM, CUSTOMER2, archived=True)
        # The agent tags the thread resolved: a closed interaction with its author.
        fake.thread_update(THREAD, FORUM, CUSTOMER, tags=[OPEN_TAG, RESOLVED])
        rows = fake.wait_for(lambda: interactions(d) or None, what="the interaction",
                             poll=0.1)
        check(len(rows) == 1, f"one interaction (the others ignored): {rows}")
        row = rows[0]
        check(row["source"] == "discord-forum" and row["ext_id"] == THREAD
              and row["customer"] == f"customer:discord:{CUSTOMER}"
              and row["connector"] == "discord" and row["user"] == CUSTOMER
              and row["team"] == "support", f"the interaction as reported: {row}")
        check(d.sql("select count(*) as n from checkins")[0]["n"] == 1, "a check-in scheduled")

        # The customer gets the check-in in their DM after the delay and answers it.
        q = question(fake, CUSTOMER, "How satisfied are you")
        check(q["allowed_mentions"] == {"parse": []}, f"no mentions: {q['allowed_mentions']}")
        labels = [c["label"] for row in q["components"] for c in row["components"]]
        check(labels == ["1", "2", "3", "4", "5"], f"the scale: {labels}")
        iid = fake.click(CUSTOMER, q["id"], custom_id(q, "4"))
        _, _, body = fake.callback(iid)
        check(body["type"] == 7 and body["data"]["components"] == [],
              f"answered and closed: {body}")
        answers = fake.wait_for(lambda: d.sql("select person, score from answers") or None,
                                what="the answer stored", poll=0.1)
        check(answers[0]["person"] == f"customer:discord:{CUSTOMER}" and answers[0]["score"] == 4,
              f"the customer's answer: {answers}")

        # Archived afterwards: the same thread is not a second interaction. A second thread,
        # locked, is one; it comes after, so once it is in, the first was handled.
        fake.thread_update(THREAD, FORUM, CUSTOMER, archived=True, tags=[RESOLVED])
        fake.thread_update(THREAD2, FORUM, CUSTOMER2, locked=True)
        rows = fake.wait_for(lambda: len(interactions(d)) >= 2 and interactions(d),
                             what="the second thread's interaction", poll=0.1)
        check([r["ext_id"] for r in rows] == [THREAD, THREAD2],
              f"one interaction per thread: {[r['ext_id'] for r in rows]}")
        question(fake, CUSTOMER2, "How satisfied are you")
        check(not fake.schema_errors, f"requests off Discord's OpenAPI description: "
                                      f"{fake.schema_errors[:3]}")
        check(not fake.violations, f"gateway limits broken: {fake.violations}")
    finally:
        d.cleanup()
        fake.close()


if __name__ == "__main__":
    run([test_resolved_forum_thread_asks_the_customer])
