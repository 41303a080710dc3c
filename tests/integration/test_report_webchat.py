"""Reports end to end: nine people are asked an anonymous pulse over the web chat, eight answer
with a score and a comment, one does not; `pulsebotctl report` reads the daemon's database
beside the running daemon and again after it stopped. The whole survey's figures are exact;
ops (2 answers) is hidden, and so is eng (6), since org (8) less eng would give ops away; the
comments are listed under org with no name, in every format."""

import asyncio
import csv
import io
import json
import subprocess

from pbtest import PULSEBOTCTL, Chat, Daemon, button, check, history, run

CONFIG = """
daemon = {{
  state_dir = "{state}";
  plugin_dir = "{plugins}";
  log_level = "debug";
  http = {{ listen = "127.0.0.1"; port = 0; }};
}};
connectors = ( {{ name = "web"; type = "webchat"; implicit_handles = true; demo_login = {demo}; }} );
teams = (
  {{ id = "org"; name = "Org"; }},
  {{ id = "eng"; name = "Engineering"; parent = "org"; }},
  {{ id = "ops"; name = "Operations"; parent = "org"; }}
);
people = (
  {{ id = "e1"; name = "Eng One"; team = "eng"; }},
  {{ id = "e2"; name = "Eng Two"; team = "eng"; }},
  {{ id = "e3"; name = "Eng Three"; team = "eng"; }},
  {{ id = "e4"; name = "Eng Four"; team = "eng"; }},
  {{ id = "e5"; name = "Eng Five"; team = "eng"; }},
  {{ id = "e6"; name = "Eng Six"; team = "eng"; }},
  {{ id = "e7"; name = "Eng Seven"; team = "eng"; }},
  {{ id = "o1"; name = "Ops One"; team = "ops"; }},
  {{ id = "o2"; name = "Ops Two"; team = "ops"; }}
);
surveys = (
  {{ id = "pulse"; kind = "employee"; title = "Pulse"; anonymous = true; window = "{window}";
     thanks = "Thanks!";
     questions = (
       {{ id = "mood"; type = "scale"; text = "How do you feel?"; min = 1; max = 5; next = "why"; }},
       {{ id = "why"; type = "text"; text = "Why?"; }}
     ); }}
);
schedules = (
  {{ id = "weekly"; survey = "pulse"; every = "7d"; first = "{first}";
     audience = {{ teams = [ "org" ]; }}; }}
);
reports = {{ min_group = 5; min_comments = 5; }};
"""

ANSWERS = {"e1": 4, "e2": 4, "e3": 5, "e4": 3, "e5": 4, "e6": 5, "o1": 2, "o2": 1}


async def first_question(d, person):
    """The question, from the history when it was sent before the person connected."""
    chat = await Chat.connect(d, user=person)
    for m in history(chat.welcome, f"dm:{person}"):
        if m.get("text") == "How do you feel?" and not m.get("closed"):
            return chat, m
    return chat, await chat.question("How do you feel?")


async def answer(d, person, score):
    chat, q = await first_question(d, person)
    result = await chat.request({"type": "choice", "ref": q["ref"],
                                 "token": button(q, str(score))["token"]})
    check(result["ok"], f"{person}'s answer: {result}")
    await chat.question("Why?")
    result = await chat.request({"type": "text", "text": f"{person} feels {score}"})
    check(result["ok"], f"{person}'s comment: {result}")
    await chat.expect(lambda m: m.get("text") == "Thanks!", what="the thank-you")
    await chat.close()


def report(d, *args):
    out = subprocess.run([PULSEBOTCTL, "-c", d.config_path, "report", "pulse", *args],
                         capture_output=True, text=True, timeout=30)
    check(out.returncode == 0, f"report {args} failed ({out.returncode}): {out.stderr}")
    return out.stdout


def group(doc, team):
    for g in doc["groups"]:
        if g["team"] == team:
            return g
    raise AssertionError(f"no group {team} in {doc}")


def check_json(doc):
    check(doc["anonymous"] and doc["min_group"] == 5, f"header: {doc}")
    whole = group(doc, None)
    part = whole["participation"]
    check(part["respondents"] == 8 and part["asked"] == 9 and part["open"] == 1
          and part["did_not_answer"] == 0, f"participation: {part}")
    mood = whole["questions"][0]
    check(mood["shown"] and mood["answers"] == 8 and abs(mood["mean"] - 3.5) < 1e-9,
          f"mood of all: {mood}")
    check(mood["distribution"] == {"1": 1, "2": 1, "3": 1, "4": 3, "5": 2},
          f"distribution: {mood['distribution']}")
    for team in ("eng", "ops"):
        g = group(doc, team)
        q = g["questions"][0]
        check(not q["shown"] and "answers" not in q and "mean" not in q,
              f"{team} must be hidden: {q}")
        check("respondents" not in g["participation"], f"{team} respondents: {g}")
        check(not g["questions"][1]["comments"]["shown"], f"{team} comments: {g}")
    org = group(doc, "org")
    check(org["questions"][0]["answers"] == 8, f"org: {org}")
    comments = org["questions"][1]["comments"]
    texts = [c["text"] for c in comments["list"]]
    check(sorted(texts) == sorted(f"{p} feels {s}" for p, s in ANSWERS.items()),
          f"org's comments: {texts}")
    check(texts == sorted(texts), "comments are in text order, not answer order")
    check(all("author" not in c for c in comments["list"]), "no author on an anonymous comment")


async def test_report_beside_daemon_and_after():
    d = Daemon(config=CONFIG, first="1s").start()
    try:
        for person, score in ANSWERS.items():
            await answer(d, person, score)
        # e7 is asked and does not answer: the question stays open.
        e7, _ = await first_question(d, "e7")
        await e7.close()

        # Beside the running daemon: the database is read, not locked or changed.
        check_json(json.loads(report(d, "--by", "team", "--format", "json")))
        check(d.alive(), "the daemon still runs after a report")
        check(d.stop() == 0, "clean stop")

        check_json(json.loads(report(d, "--by", "team", "--format", "json")))
        by_question = json.loads(report(d, "--format", "json"))
        check([g["team"] for g in by_question["groups"]] == [None], "by question: the whole")
        check(len(by_question["groups"][0]["questions"][1]["comments"]["list"]) == 8,
              "by question, all eight comments under the whole survey")

        rows = list(csv.DictReader(io.StringIO(report(d, "--by", "team", "--format", "csv"))))
        scores = {r["team"]: r for r in rows if r["record"] == "scores"}
        check(scores[""]["count"] == "8" and scores[""]["mean"] == "3.50", f"csv all: {scores['']}")
        check(scores["eng"]["shown"] == "hidden" and scores["eng"]["count"] == ""
              and scores["eng"]["mean"] == "", f"csv eng: {scores['eng']}")
        check(scores["ops"]["shown"] == "hidden", f"csv ops: {scores['ops']}")
        comment_teams = {r["team"] for r in rows if r["record"] == "comment"}
        check(comment_teams == {"org"}, f"comments only under org: {comment_teams}")
        check(all(r["author"] == "" for r in rows if r["record"] == "comment"), "no authors")

        text = report(d, "--by", "team")
        check("8 answers, mean 3.50" in text, f"text report: {text}")
        check("Eng One" not in text and "e1 feels" in text, "comments without names")

        # A range that holds no round shows nothing, hidden as too small.
        empty = json.loads(report(d, "--since", "2001-01-01", "--until", "2001-01-31",
                                  "--format", "json"))
        whole = empty["groups"][0]
        check(whole["participation"]["asked"] == 0 and not whole["questions"][0]["shown"],
              f"empty range: {whole}")

        bad = subprocess.run([PULSEBOTCTL, "-c", d.config_path, "report", "pulse", "--since",
                              "2027-02-30"], capture_output=True, text=True)
        check(bad.returncode == 2 and "--since" in bad.stderr, f"bad date: {bad.stderr}")
    finally:
        d.cleanup()


if __name__ == "__main__":
    run([test_report_beside_daemon_and_after])
