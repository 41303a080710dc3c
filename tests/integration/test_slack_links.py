"""Socket Mode links of the Slack connector against the fake Slack, with the real daemon: an
abrupt close (TCP gone, no close frame) is followed by a reconnect on a fresh ticket, and a
click on the new link is taken; a link that goes silent (half-open) is replaced after
idle_timeout by a new one before it is closed; with connections = 2 both links serve."""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "fakes"))

from pbtest import check, run  # noqa: E402
from slack_daemon import SlackEnv  # noqa: E402
from slack_fake import buttons, check_openapi  # noqa: E402


def first_question(fake, channel):
    return fake.wait_for(lambda: next((m for m in fake.posts_to(channel) if buttons(m)), None),
                         what=f"a question in {channel}")


def click(fake, message, label, link=None):
    b = next(b for b in buttons(message) if b["text"]["text"] == label)
    return fake.deliver("interactive", fake.block_action("UALICE01", "alice", message["channel"],
                                                         message["ts"], b["action_id"],
                                                         b["value"], label), link)


async def test_abrupt_close_and_silence():
    env = SlackEnv(extra="idle_timeout = 10;").start()
    fake = env.fake
    try:
        q = first_question(fake, "DALICE01")
        first = fake.wait_for(lambda: fake.open_links() and fake.open_links()[0], what="a link")
        fake.drop(first)
        second = fake.wait_for(lambda: next((x for x in fake.open_links() if x is not first),
                                            None), what="a reconnect")
        check(second.ticket != first.ticket, "a fresh ticket after an abrupt close")
        # The half-open case: the link stays open but nothing comes any more.
        fake.silence(second)
        third = fake.wait_for(lambda: next((x for x in fake.open_links()
                                            if x not in (first, second)), None), timeout=30,
                              what="a successor for the silent link")
        fake.wait_for(lambda: not second.open, what="the silent link closed after the new hello")
        c = click(fake, q, "5", third)
        fake.wait_for(lambda: c.acked, what="a click on the new link acknowledged")
        check(env.daemon.sql("select score from answers") == [{"score": 5}], "answer recorded")
        check(not check_openapi(fake.requests), "requests match the OpenAPI description")
    finally:
        env.cleanup()


async def test_two_connections():
    env = SlackEnv(extra="connections = 2;").start()
    fake = env.fake
    try:
        q = first_question(fake, "DALICE01")
        links = fake.wait_for(lambda: len(fake.open_links()) == 2 and fake.open_links(),
                              what="two links")
        c = click(fake, q, "4", links[0])
        fake.wait_for(lambda: c.acked, what="the click on the first link")
        check(c.link is links[0], "delivered where asked")
        fake.drop(links[1])
        check("is down" not in env.daemon.logs(), "down while a second link served")
        fake.wait_for(lambda: len(fake.open_links()) == 2, what="the second link back")
    finally:
        env.cleanup()


if __name__ == "__main__":
    run([test_abrupt_close_and_silence, test_two_connections])
