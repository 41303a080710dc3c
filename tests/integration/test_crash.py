"""kill -9 at the worst moments. The daemon kills itself with SIGKILL at a named crash point
(PULSEBOT_CRASH_POINT), so the test does not depend on timing: after the answer is committed
but before its alert is sent, and after the alert reached the web chat but before the outbox
recorded that. After a restart the answer is there and the alert arrives exactly once. A last
test kills the daemon from outside, again and again, while answers arrive."""

import asyncio

from pbtest import Chat, Daemon, button, check, history, run


async def answer_low(d, comment=None):
    alice = await Chat.connect(d, user="alice")
    q = await alice.question("How was your week?")
    try:
        result = await alice.request({"type": "choice", "ref": q["ref"],
                                      "token": button(q, "1")["token"]}, timeout=10)
    except Exception:  # the daemon died before it could answer: that is the point
        result = None
    await alice.ws.close()
    return result


async def one_alert_after_restart(d):
    d.start()
    mia = await Chat.connect(d, user="mia")
    alerts = [m for m in history(mia.welcome, "room:support-leads") if m["kind"] == "alert"]
    if not alerts:
        m = await mia.expect(lambda f: f["type"] == "message" and f.get("kind") == "alert",
                             what="the alert after restart")
        alerts = [m]
    await asyncio.sleep(0.5)  # anything more that was coming would have come by now
    extra = [m for m in mia.inbox if m.get("type") == "message" and m.get("kind") == "alert"]
    check(len(alerts) + len(extra) == 1, f"alert arrived {len(alerts) + len(extra)} times")
    check(d.sql("select count(*) as n from alerts") == [{"n": 1}], "one alert row")
    check(d.sql("select count(*) as n from answers where question = 'week'") == [{"n": 1}],
          "the answer was kept")
    pending = d.sql("select count(*) as n from outbox where state = 0")
    await mia.close()
    return pending


async def test_crash_after_answer_committed():
    d = Daemon(first="1s", env={"PULSEBOT_CRASH_POINT": "answer-committed"}).start()
    try:
        await answer_low(d)
        d.proc.wait(timeout=10)
        check(d.proc.returncode == -9, f"the daemon died of SIGKILL, not {d.proc.returncode}")
        d.env = {}
        await one_alert_after_restart(d)
        # alice's question was closed and the follow-up asked, once.
        alice = await Chat.connect(d, user="alice")
        follow = [m for m in history(alice.welcome, "dm:alice")
                  if m.get("text") == "What made it hard?"]
        check(len(follow) == 1, f"follow-up asked {len(follow)} times")
        await alice.close()
        check(d.stop() == 0, "clean stop")
    finally:
        d.cleanup()


async def test_crash_after_alert_sent_before_confirmed():
    d = Daemon(first="1s", env={"PULSEBOT_CRASH_POINT": "alert-sent-unconfirmed"}).start()
    try:
        result = await answer_low(d)
        d.proc.wait(timeout=10)
        check(d.proc.returncode == -9, f"the daemon died of SIGKILL, not {d.proc.returncode}")
        check(d.sql("select count(*) as n from outbox where state = 0 and target = "
                    "'support-leads'") == [{"n": 1}], "the alert's row was still pending")
        d.env = {}
        await one_alert_after_restart(d)
        check(d.sql("select count(*) as n from outbox where state = 0") == [{"n": 0}],
              "nothing left pending after the restart")
        check(d.stop() == 0, "clean stop")
    finally:
        d.cleanup()


async def close_quietly(chat):
    try:
        await chat.ws.close()
    except Exception:  # the daemon was killed under it
        pass


async def test_repeated_kill9_loses_nothing():
    """Answers arrive while the daemon is killed from outside, ten times over."""
    d = Daemon(first="1s").start()
    try:
        for _ in range(10):
            alice = await Chat.connect(d, user="alice")
            open_q = [m for m in history(alice.welcome, "dm:alice")
                      if m.get("kind") == "question" and not m.get("closed")]
            if open_q and open_q[-1].get("buttons"):
                q = open_q[-1]
                await alice.send({"type": "choice", "ref": q["ref"], "id": 1,
                                  "token": button(q, "4")["token"]})
            d.kill9()
            await close_quietly(alice)
            d.start()
        answers = d.sql("select count(*) as n from answers")[0]["n"]
        check(answers <= 1, f"one delivery can have at most one scale answer, got {answers}")
        alice = await Chat.connect(d, user="alice")
        thanks = [m for m in history(alice.welcome, "dm:alice") if m.get("text") == "Thank you!"]
        if answers and not thanks:  # committed before the last kill, sent after the restart
            thanks = [await alice.expect(lambda m: m.get("text") == "Thank you!",
                                         what="the thank-you after the restart")]
        check(len(thanks) == answers, f"thank-you sent {len(thanks)} times for {answers} answers")
        await alice.close()
        check(d.stop() == 0, "clean stop")
        print(f"  answers kept across 10 kills: {answers}")
    finally:
        d.cleanup()


if __name__ == "__main__":
    run([test_crash_after_answer_committed, test_crash_after_alert_sent_before_confirmed,
         test_repeated_kill9_loses_nothing])
