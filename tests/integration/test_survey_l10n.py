"""Survey types, languages and banks over the web chat, against the real daemon: jonas
(de-CH) is asked in German with choice buttons in German, picks one, gets the yes/no follow-up
its branch leads to and the built-in German thank-you; alice sees the same survey in English;
the answers keep the configured option and yes/no word; a bank asks jonas a different
question in each of two rounds of a short schedule."""

from pbtest import Chat, Daemon, button, check, history, run

CONFIG = """
daemon = {{
  state_dir = "{state}";
  plugin_dir = "{plugins}";
  log_level = "debug";
  http = {{ listen = "127.0.0.1"; port = 0; }};
}};
connectors = ( {{ name = "web"; type = "webchat"; implicit_handles = true; demo_login = true; }} );
teams = ( {{ id = "support"; name = "Support"; channel = "web:leads"; }} );
people = (
  {{ id = "jonas"; name = "Jonas Keller"; team = "support"; locale = "de-CH"; }},
  {{ id = "alice"; name = "Alice Andersen"; team = "support"; locale = "en"; }}
);
surveys = (
  {{ id = "pulse"; title = "Team pulse"; title_de = "Teampuls"; window = "1d";
     questions = (
       {{ id = "driver"; type = "choice"; text = "What matters most to you?";
          text_de = "Was ist dir am wichtigsten?";
          options = [ "Workload", "Team", "Tools" ];
          options_de = [ "Arbeitslast", "Team", "Werkzeuge" ];
          branches = ( {{ choice = "Workload"; next = "load"; }} ); next = "end"; }},
       {{ id = "load"; type = "yesno"; text = "Is it manageable?";
          text_de = "Ist sie zu bewältigen?"; }}
     ); }},
  {{ id = "drivers"; window = "3s"; thanks = ""; bank = [ "a", "b" ];
     questions = (
       {{ id = "a"; type = "emoji"; text = "Question A?"; text_de = "Frage A?"; }},
       {{ id = "b"; type = "yesno"; text = "Question B?"; text_de = "Frage B?"; }}
     ); }}
);
schedules = (
  {{ id = "weekly"; survey = "pulse"; every = "7d"; first = "1s";
     audience = {{ people = [ "jonas", "alice" ]; }}; }},
  {{ id = "rotation"; survey = "drivers"; every = "4s"; first = "2s";
     audience = {{ people = [ "jonas" ]; }}; }}
);
"""


async def asked(chat, conversation, text, timeout=30):
    """The open question `text`: from the history sent at login, or when it arrives."""
    for m in history(chat.welcome, conversation):
        if m.get("text") == text and m.get("kind") == "question" and not m.get("closed"):
            return m
    return await chat.question(text, timeout)


async def test_german_choice_yes_no_and_bank():
    d = Daemon(config=CONFIG).start()
    try:
        jonas = await Chat.connect(d, user="jonas")
        check(jonas.welcome["type"] == "welcome", f"jonas was not welcomed: {jonas.welcome}")
        q = await asked(jonas, "dm:jonas", "Was ist dir am wichtigsten?")
        check(q.get("title") == "Teampuls", f"German title: {q.get('title')}")
        check([b["label"] for b in q["buttons"]] == ["Arbeitslast", "Team", "Werkzeuge"],
              f"German choice buttons: {q['buttons']}")
        result = await jonas.request({"type": "choice", "ref": q["ref"],
                                      "token": button(q, "Arbeitslast")["token"]})
        check(result["ok"], f"choice refused: {result}")
        closed = await jonas.expect(lambda m: m["type"] == "update" and m.get("ref") == q["ref"],
                                    what="the closed choice")
        check(closed.get("note") == "Deine Antwort: Arbeitslast", f"note: {closed.get('note')}")

        yn = await asked(jonas, "dm:jonas", "Ist sie zu bewältigen?")
        check([b["label"] for b in yn["buttons"]] == ["Ja", "Nein"], f"yes/no: {yn['buttons']}")
        result = await jonas.request({"type": "choice", "ref": yn["ref"],
                                      "token": button(yn, "Nein")["token"]})
        check(result["ok"], f"yes/no refused: {result}")
        await jonas.expect(lambda m: m["type"] == "message" and m.get("text") == "Danke!",
                           what="the German thank-you")

        answers = d.sql("SELECT question, score, text FROM answers WHERE person = 'jonas' "
                        "AND survey = 'pulse' ORDER BY id")
        check([(a["question"], a["score"], a["text"]) for a in answers]
              == [("driver", 0, "Workload"), ("load", 0, "no")], f"stored answers: {answers}")

        # The bank: round 1 asks A, round 2 asks B.
        first = await asked(jonas, "dm:jonas", "Frage A?")
        check([b["label"] for b in first["buttons"]] == ["😞", "🙁", "😐", "🙂", "😄"],
              f"emoji buttons: {first['buttons']}")
        second = await asked(jonas, "dm:jonas", "Frage B?")
        check([b["label"] for b in second["buttons"]] == ["Ja", "Nein"], f"B: {second}")
        rounds = d.sql("SELECT round, step FROM deliveries WHERE survey = 'drivers' "
                       "ORDER BY round LIMIT 2")
        check([r["round"] for r in rounds] == [1, 2], f"rounds: {rounds}")
        await jonas.close()

        alice = await Chat.connect(d, user="alice")
        q = await asked(alice, "dm:alice", "What matters most to you?")
        check(q.get("title") == "Team pulse", f"English title: {q.get('title')}")
        check([b["label"] for b in q["buttons"]] == ["Workload", "Team", "Tools"],
              f"English options: {q['buttons']}")
        result = await alice.request({"type": "text", "text": "tools"})
        check(result["ok"], f"a typed option refused: {result}")
        await alice.expect(lambda m: m["type"] == "message" and m.get("text") == "Thank you!",
                           what="the English thank-you")
        answers = d.sql("SELECT score, text FROM answers WHERE person = 'alice'")
        check(answers == [{"score": 2, "text": "Tools"}], f"alice's answer: {answers}")
        await alice.close()
        check(d.stop() == 0, "clean stop")
    finally:
        d.cleanup()


if __name__ == "__main__":
    run([test_german_choice_yes_no_and_bank])
