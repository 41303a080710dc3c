"""The Slack connector's newer interaction paths end to end: the real pulsebotd against the
fake Slack (tests/fakes/slack_fake.py).

  * an NPS 0 to 10 shown as one static_select (its options' values are the core's tokens,
    within Slack's 75 characters), answered by picking an option; chat.update then fails
    (message_not_found) and the question is closed through the click's response_url instead,
    without the token;
  * the check-in reaction on a reply inside a support thread: traced to the thread's author
    with conversations.replies, reported as a closed interaction, taken by the `checkins`
    source for the slack connector, and the customer asked by DM after the policy's delay;
  * every Web API request checked against Slack's OpenAPI description.
"""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "fakes"))

from pbtest import check, run  # noqa: E402
from slack_daemon import SlackEnv  # noqa: E402
from slack_fake import block_texts, buttons, check_openapi, select_of  # noqa: E402


def nps(text):
    return text.replace("min = 1; max = 5;", "min = 0; max = 10;")


def no_problems(fake):
    problems = check_openapi(fake.requests)
    check(not problems, "requests that do not match Slack's API: " + "; ".join(problems[:10]))


async def test_nps_select_and_response_url():
    env = SlackEnv(transform=nps).start()
    fake = env.fake
    try:
        q = fake.wait_for(lambda: next((m for m in fake.posts_to("DALICE01")
                                        if select_of(m)), None), what="the NPS question")
        sel = select_of(q)
        check(not buttons(q) or all(b.get("type") == "static_select" for b in buttons(q)),
              "no row of eleven buttons")
        opts = sel["options"]
        check([o["text"]["text"].split(" ")[0] for o in opts] == [str(i) for i in range(11)],
              f"options 0 to 10 in order: {[o['text']['text'] for o in opts]}")
        check(opts[0]["text"]["text"].endswith("Rough") and opts[10]["text"]["text"]
              .endswith("Great"), "the ends say what they mean")
        check(all(len(o["value"]) <= 75 for o in opts), "option values within Slack's limit")
        check(len({o["value"] for o in opts}) == 11, "one token per option")

        # chat.update will not find the message: the click's response_url closes it instead.
        fake.fail("chat.update", "message_not_found")
        payload = fake.block_action("UALICE01", "alice", q["channel"], q["ts"],
                                    sel["action_id"], opts[9]["value"], opts[9]["text"]["text"],
                                    select=True)
        click = fake.deliver("interactive", payload)
        fake.wait_for(lambda: click.acked, what="the choice acknowledged")
        resp = fake.wait_for(lambda: next((r for r in fake.responses
                                           if (r["body"] or {}).get("replace_original")), None),
                             what="the response_url used")
        check(resp["auth"] == "", "no token sent to a response_url")
        check(resp["content_type"].startswith("application/json"), "JSON to the response_url")
        closed = fake.messages[(q["channel"], q["ts"])]
        check(select_of(closed) is None and not buttons(closed), "the menu is gone")
        check("Your answer: 9" in block_texts(closed["blocks"]), f"the answer shown: {closed}")
        rows = env.daemon.sql("select score from answers where person = 'alice'")
        check(rows == [{"score": 9}], f"the answer recorded: {rows}")
        fake.wait_for(lambda: "response_url" in env.daemon.logs(), what="the fallback logged")
        check("fake-secret" not in env.daemon.logs(), "a response_url never reaches the log")
        # The update is confirmed to the core (DONE), not failed; the thank-you follows it.
        fake.wait_for(lambda: env.daemon.sql("select count(*) as n from outbox "
                                             "where state != 1")[0]["n"] == 0,
                      what="every send and update confirmed")
        check(any(m["text"] == "Thanks!" or m["text"] == "Thank you!"
                  for m in fake.posts_to("DALICE01")), "the thank-you sent")
        no_problems(fake)
    finally:
        env.cleanup()


CHECKINS = """
surveys = (
  {{ id = "csat"; kind = "customer"; title = "How did we do?"; window = "48h";
     thanks = "Thanks!";
     questions = ( {{ id = "csat"; type = "scale"; text = "How satisfied are you?";
                      min = 1; max = 5; }} ); }}
);
checkins = {{
  contact_cap = "7d";
  sources = ( {{ id = "slack-threads"; connector = "slack";
                 fields = {{ team = "support"; touchpoint = "support"; }}; }} );
  policies = ( {{ survey = "csat"; delay = "1s"; }} );
}};
"""


def with_checkins(text):
    # The pulse is not needed here: the check-in survey replaces it.
    head = text.split("surveys = (", 1)[0]
    return head + CHECKINS


async def test_reaction_on_thread_reply():
    extra = ('checkin_reaction = ":white_check_mark:"; checkin_channels = [ "CSUPPORT1" ]; '
             'checkin_agents = [ "UMIA0001" ];')
    env = SlackEnv(extra=extra, transform=with_checkins)
    fake = env.fake
    fake.channels.add("CSUPPORT1")
    fake.add_user("UCUST0001", "cust@example.org", "Carla Customer")
    env.start()
    try:
        fake.wait_for(lambda: "is up" in env.daemon.logs(), what="the connector up")
        parent, _, agent_reply = fake.add_thread(
            "CSUPPORT1", "UCUST0001", [("UCUST0001", "any news?"), ("UMIA0001", "fixed!")])
        # Someone who is not an agent: ignored. Then mia marks her own reply in the thread.
        ignored = fake.deliver("events_api", fake.reaction_event(
            "UBOB0001", "CSUPPORT1", agent_reply, "UMIA0001", "white_check_mark", "EvX1"))
        ev = fake.deliver("events_api", fake.reaction_event(
            "UMIA0001", "CSUPPORT1", agent_reply, "UMIA0001", "white_check_mark", "EvX2"))
        fake.wait_for(lambda: ignored.acked and fake.acked(ev), what="both acknowledged")
        rows = env.daemon.sql("select source, ext_id, customer, user, agent from interactions")
        check(len(rows) == 1, f"one interaction: {rows}")
        check(rows[0]["ext_id"] == f"CSUPPORT1:{parent}" and rows[0]["user"] == "UCUST0001"
              and rows[0]["agent"] == "UMIA0001" and rows[0]["source"] == "slack-threads",
              f"the thread and its author, not the reply's: {rows[0]}")
        replies = fake.requests_for("conversations.replies")
        check(replies and replies[-1]["params"].get("ts") == agent_reply,
              f"the thread looked up from the reply: {replies}")
        q = fake.wait_for(lambda: next((m for m in fake.posts_to("DCUST0001")
                                        if buttons(m)), None), what="the check-in question")
        check("How satisfied are you?" in block_texts(q["blocks"]), "the check-in asked")
        no_problems(fake)
    finally:
        env.cleanup()


if __name__ == "__main__":
    run([test_nps_select_and_response_url, test_reaction_on_thread_reply])
