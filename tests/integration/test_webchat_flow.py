"""The demo path over the web chat's websocket, against the real daemon: alice is asked by the
schedule, answers 2, is asked the follow-up and writes a comment; mia sees the alert in the
support-leads room with score, question and comment, acknowledges it and sees who did and when.
A restart in the middle keeps the pending question answerable and the alert's state."""

import re

from pbtest import Chat, Daemon, button, check, history, run


async def test_demo_path_with_restarts():
    d = Daemon(first="1s").start()
    try:
        alice = await Chat.connect(d, user="alice")
        check(alice.welcome["type"] == "welcome", f"alice was not welcomed: {alice.welcome}")
        q = await alice.question("How was your week?")
        check([b["label"] for b in q["buttons"]] == ["1", "2", "3", "4", "5"],
              f"scale buttons: {q['buttons']}")
        check(q.get("low_label") == "Rough" and q.get("high_label") == "Great", "scale labels")
        await alice.close()

        # Restart before answering: the question is still there and still answerable.
        check(d.stop() == 0, "clean stop")
        d.start()
        alice = await Chat.connect(d, user="alice")
        pending = [m for m in history(alice.welcome, "dm:alice")
                   if m.get("text") == "How was your week?"]
        check(len(pending) == 1, f"the question once in alice's history, got {len(pending)}")
        result = await alice.request({"type": "choice", "ref": pending[0]["ref"],
                                      "token": button(pending[0], "2")["token"]})
        check(result["ok"], f"answer refused: {result}")
        closed = await alice.expect(lambda m: m["type"] == "update"
                                    and m.get("ref") == pending[0]["ref"], what="closed question")
        check(closed.get("closed") and not closed.get("buttons"), f"question not closed: {closed}")
        check("2" in closed.get("note", ""), f"answer not shown: {closed}")
        follow = await alice.question("What made it hard?")
        check(follow.get("expects_text"), "the follow-up wants text")

        # The same click again is refused, and says so.
        again = await alice.request({"type": "choice", "ref": pending[0]["ref"],
                                     "token": button(pending[0], "2")["token"]})
        check(not again["ok"] and "already" in again.get("error", ""), f"replay: {again}")

        comment = "Two outages & a <script>alert(1)</script> @channel day"
        result = await alice.request({"type": "text", "text": comment})
        check(result["ok"], f"comment refused: {result}")
        await alice.expect(lambda m: m["type"] == "message" and m.get("text") == "Thank you!",
                           what="thank-you")

        mia = await Chat.connect(d, user="mia")
        rooms = [c["id"] for c in mia.welcome["conversations"]]
        check("room:support-leads" in rooms, f"mia's rooms: {rooms}")
        alerts = [m for m in history(mia.welcome, "room:support-leads") if m["kind"] == "alert"]
        check(len(alerts) == 1, f"one alert in the room, got {len(alerts)}")
        alert = alerts[0]
        fields = {f["label"]: f["value"] for f in alert["fields"]}
        check(alert["text"] == "How was your week?", f"alert question: {alert['text']}")
        check(fields.get("Score", "").startswith("2"), f"alert score: {fields}")
        check(fields.get("Comment") == comment, f"comment carried as given: {fields}")
        check(fields.get("From", "").startswith("Alice Andersen"), f"alert subject: {fields}")

        # alice may not act on the leads' alert.
        refused = await alice.request({"type": "action", "ref": alert["ref"],
                                       "token": button(alert, "Acknowledge")["token"]})
        check(not refused["ok"], f"alice acknowledged an alert of another team: {refused}")

        result = await mia.request({"type": "action", "ref": alert["ref"],
                                    "token": button(alert, "Acknowledge")["token"]})
        check(result["ok"], f"acknowledge refused: {result}")
        updated = await mia.expect(lambda m: m["type"] == "update" and m["ref"] == alert["ref"],
                                   what="alert update")
        check(re.search(r"Acknowledged by Mia Lead at \d{4}-\d\d-\d\d \d\d:\d\d UTC",
                        updated.get("note", "")), f"acknowledgement shown: {updated.get('note')}")
        check([b["label"] for b in updated["buttons"]] == ["Resolve"], "only Resolve is left")
        await mia.close()
        await alice.close()

        # After a restart the alert keeps its state.
        check(d.stop() == 0, "clean stop")
        d.start()
        mia = await Chat.connect(d, user="mia")
        alerts = [m for m in history(mia.welcome, "room:support-leads") if m["kind"] == "alert"]
        check(len(alerts) == 1 and "Acknowledged by Mia Lead" in alerts[0].get("note", ""),
              f"alert after restart: {alerts}")
        rows = d.sql("select state, ack_by from alerts")
        check(rows == [{"state": 1, "ack_by": "mia"}], f"alert row: {rows}")
        answers = d.sql("select question, score, text, person from answers order by id")
        check([a["question"] for a in answers] == ["week", "hard"], f"answers: {answers}")
        check(answers[1]["text"] == comment, "the comment is stored as given")
        await mia.close()
        check(d.stop() == 0, "clean stop")
    finally:
        d.cleanup()


async def test_rooms_are_private_to_their_team():
    d = Daemon(first="1s").start()
    try:
        bob = await Chat.connect(d, user="bob")
        rooms = [c["id"] for c in bob.welcome["conversations"]]
        check("room:support-leads" not in rooms, f"bob sees the leads' room: {rooms}")
        q = await bob.question("How was your week?")
        result = await bob.request({"type": "choice", "ref": q["ref"],
                                    "token": button(q, "1")["token"]})
        check(result["ok"], f"bob's answer: {result}")
        await bob.question("What made it hard?")
        # bob never receives the alert about himself.
        await bob.request({"type": "text", "text": "meh"})
        check(not any(m.get("kind") == "alert" for m in bob.inbox), "bob got an alert frame")
        await bob.close()
    finally:
        d.cleanup()


if __name__ == "__main__":
    run([test_demo_path_with_restarts, test_rooms_are_private_to_their_team])
