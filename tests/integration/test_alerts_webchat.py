"""Closing the loop over the web chat, against the real daemon: an alert with a short
acknowledge SLA reminds its room once even when the daemon restarts in the middle of the SLA;
Resolve offers the configured reasons as buttons and a reason with a note resolves it, with
its history, times and metrics kept; Reassign moves the alert to another team's room, where
that team acts on it."""

import urllib.request

from pbtest import BASE_CONFIG, Chat, Daemon, button, check, history, run

# The base configuration with an ops team, reasons, reassignment and a short SLA.
CONFIG = BASE_CONFIG.replace(
    """  {{ id = "support-leads"; name = "Support leads"; parent = "support";
     channel = "web:support-leads"; }}
);""",
    """  {{ id = "support-leads"; name = "Support leads"; parent = "support";
     channel = "web:support-leads"; }},
  {{ id = "ops"; name = "Ops"; manager = "oscar"; channel = "web:ops"; }}
);""").replace(
    """  {{ id = "mia"; name = "Mia Lead"; team = "support-leads"; }}
);""",
    """  {{ id = "mia"; name = "Mia Lead"; team = "support-leads"; }},
  {{ id = "oscar"; name = "Oscar Ops"; team = "ops"; }}
);""").replace(
    """     alert = "support-leads"; }}
);""",
    """     alert = "support-leads"; ack_sla = "3s"; }}
);
alerts = {{
  reasons = [ "fixed", "explained" ];
  reassign = [ "ops", "support-leads" ];
  escalation = ( {{ to = "reminder"; after = "0"; }} );
}};""")


def room(welcome, name):
    return history(welcome, "room:" + name)


def titled(messages, title):
    return [m for m in messages if m.get("title") == title]


async def low_score(d, user, comment):
    who = await Chat.connect(d, user=user)
    q = await who.question("How was your week?")
    result = await who.request({"type": "choice", "ref": q["ref"],
                                "token": button(q, "1")["token"]})
    check(result["ok"], f"{user}'s answer: {result}")
    await who.question("What made it hard?")
    result = await who.request({"type": "text", "text": comment})
    check(result["ok"], f"{user}'s comment: {result}")
    await who.close()


async def test_reminder_once_across_restart_then_resolve_with_reason():
    check("ack_sla" in CONFIG and "reasons" in CONFIG, "the test configuration was built")
    d = Daemon(first="1s", config=CONFIG).start()
    try:
        await low_score(d, "alice", "Too much on-call")
        # Stop at once, inside the 3 s SLA, and start again: the reminder still comes, once.
        check(d.stop() == 0, "clean stop")
        d.start()
        mia = await Chat.connect(d, user="mia")
        if not titled(room(mia.welcome, "support-leads"), "Reminder"):
            await mia.expect(lambda m: m.get("type") == "message"
                             and m.get("title") == "Reminder", timeout=30, what="the reminder")
        await mia.close()
        check(d.stop() == 0, "clean stop")
        d.start()
        mia = await Chat.connect(d, user="mia")
        msgs = room(mia.welcome, "support-leads")
        reminders = titled(msgs, "Reminder")
        check(len(reminders) == 1, f"one reminder after two restarts, got {len(reminders)}")
        check("within its SLA of 3 s" in reminders[0].get("text", ""), f"reminder: {reminders}")
        alerts = [m for m in msgs if m["kind"] == "alert"]
        check(len(alerts) == 1, f"one alert, got {len(alerts)}")
        alert = alerts[0]
        check([b["label"] for b in alert["buttons"]] == ["Acknowledge", "Resolve", "Reassign: Ops"],
              f"alert buttons: {alert['buttons']}")
        check("escalated" in alert.get("note", ""), f"the alert shows it escalated: {alert}")

        result = await mia.request({"type": "action", "ref": alert["ref"],
                                    "token": button(alert, "Resolve")["token"]})
        check(result["ok"], f"Resolve refused: {result}")
        menu = await mia.expect(lambda m: m["type"] == "update" and m["ref"] == alert["ref"],
                                what="the reasons")
        check([b["label"] for b in menu["buttons"]] == ["Fixed", "Explained", "Back"],
              f"reason buttons: {menu['buttons']}")
        result = await mia.request({"type": "action", "ref": alert["ref"],
                                    "token": button(menu, "Explained")["token"],
                                    "text": "Moved Alice off nights <b>now</b>"})
        check(result["ok"], f"the reason refused: {result}")
        done = await mia.expect(lambda m: m["type"] == "update" and m["ref"] == alert["ref"]
                                and m.get("closed"), what="the resolved alert")
        fields = {f["label"]: f["value"] for f in done["fields"]}
        check(fields.get("Reason") == "Explained", f"reason shown: {fields}")
        check(fields.get("Resolution note") == "Moved Alice off nights <b>now</b>",
              f"note shown as given: {fields}")
        check(not done.get("buttons"), "no buttons on a resolved alert")
        await mia.close()

        rows = d.sql("select state, resolve_reason, resolve_note, esc_level from alerts")
        check(rows == [{"state": 2, "resolve_reason": "explained",
                        "resolve_note": "Moved Alice off nights <b>now</b>", "esc_level": 1}],
              f"alert row: {rows}")
        kinds = [r["kind"] for r in d.sql("select kind from alert_events order by id")]
        check(kinds == ["raised", "commented", "escalated", "resolved"], f"history: {kinds}")
        times = d.sql("select ack_time_ms, resolve_time_ms from alert_times")
        check(len(times) == 1 and times[0]["ack_time_ms"] is not None
              and times[0]["resolve_time_ms"] >= times[0]["ack_time_ms"] >= 0,
              f"times kept: {times}")
        with urllib.request.urlopen(d.url("/metrics"), timeout=10) as r:
            metrics = r.read().decode()
        check("pulsebot_alert_resolve_seconds_count 1" in metrics, "resolve time counted")
        check("pulsebot_alerts_resolved 1" in metrics, "resolution counted")
        check(d.stop() == 0, "clean stop")
    finally:
        d.cleanup()


async def test_reassign_moves_to_the_other_room():
    d = Daemon(first="1s", config=CONFIG.replace('ack_sla = "3s"; ', "")).start()
    try:
        await low_score(d, "bob", "meh")
        mia = await Chat.connect(d, user="mia")
        alert = [m for m in room(mia.welcome, "support-leads") if m["kind"] == "alert"][0]
        result = await mia.request({"type": "action", "ref": alert["ref"],
                                    "token": button(alert, "Reassign: Ops")["token"]})
        check(result["ok"], f"reassign refused: {result}")
        moved = await mia.expect(lambda m: m["type"] == "update" and m["ref"] == alert["ref"],
                                 what="the moved note")
        check(moved.get("closed") and moved.get("note", "").startswith("Moved to Ops by Mia Lead"),
              f"old message: {moved}")
        await mia.close()

        oscar = await Chat.connect(d, user="oscar")
        theirs = [m for m in room(oscar.welcome, "ops") if m["kind"] == "alert"]
        if not theirs:
            theirs = [await oscar.expect(lambda m: m.get("type") == "message"
                                         and m.get("kind") == "alert", what="the alert in ops")]
        new = theirs[0]
        fields = {f["label"]: f["value"] for f in new["fields"]}
        check(fields.get("Team") == "Ops" and fields.get("Comment") == "meh", f"moved: {fields}")
        result = await oscar.request({"type": "action", "ref": new["ref"],
                                      "token": button(new, "Acknowledge")["token"]})
        check(result["ok"], f"oscar's acknowledgement: {result}")
        await oscar.close()
        rows = d.sql("select team, channel, state, ack_by from alerts")
        check(rows == [{"team": "ops", "channel": "ops", "state": 1, "ack_by": "oscar"}],
              f"alert row: {rows}")
        events = d.sql("select kind, actor, detail from alert_events where kind = 'reassigned'")
        check(events == [{"kind": "reassigned", "actor": "mia",
                          "detail": "from support-leads to ops"}], f"history: {events}")
        check(d.stop() == 0, "clean stop")
    finally:
        d.cleanup()


if __name__ == "__main__":
    run([test_reminder_once_across_restart_then_resolve_with_reason,
         test_reassign_moves_to_the_other_room])
