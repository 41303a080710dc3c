"""The roster CSV against the real daemon: people from the CSV are asked by the schedule; a bad
row is logged as people.csv:LINE and skipped while the rest loads (and `--check-config` prints
it and still passes); after the CSV is edited and SIGHUP sent, the new person is on the roster
(the web chat lets them in and the bot confirms their "away" command; before the reload it did
not know them); a CSV that goes missing makes the reload refused and the running roster stays."""

import datetime
import os
import re
import signal
import subprocess

import websockets

from pbtest import PLUGIN_DIR, PULSEBOTD, Chat, Daemon, check, run

CONFIG = """
daemon = {{
  state_dir = "{state}";
  plugin_dir = "{plugins}";
  log_level = "debug";
  http = {{ listen = "127.0.0.1"; port = 0; }};
}};
connectors = ( {{ name = "web"; type = "webchat"; implicit_handles = true; demo_login = {demo}; }} );
teams = ( {{ id = "support"; name = "Support"; manager = "mia"; }} );
people = ( {{ id = "mia"; name = "Mia Lead"; team = "support"; }} );
roster = {{ csv = "people.csv"; }};
surveys = (
  {{ id = "pulse"; kind = "employee"; window = "{window}"; thanks = "Thanks!";
     questions = ( {{ id = "week"; type = "scale"; text = "How was your week?"; }} ); }}
);
schedules = (
  {{ id = "weekly"; survey = "pulse"; every = "7d"; first = "{first}";
     audience = {{ teams = [ "support" ]; exclude = [ "mia" ]; }}; }}
);
"""

CSV = ('\ufeffid,name,email,team,timezone,locale\r\n'
       'alice,"Andersen, Alice",alice@example.com,support,UTC,en\r\n'
       'carl,Carl,carl@example.com,suport,UTC,en\r\n')


def write_csv(d, text):
    with open(os.path.join(d.dir, "people.csv"), "w", encoding="utf-8", newline="") as f:
        f.write(text)


async def test_csv_people_and_reload():
    d = Daemon(config=CONFIG, first="1s")
    write_csv(d, CSV)
    try:
        # --check-config: the bad row is printed as file:line, and the file is still valid.
        out = subprocess.run([os.path.abspath(PULSEBOTD), "--check-config", d.config_path],
                             capture_output=True, text=True,
                             env=dict(os.environ, PB_PLUGIN_DIR=PLUGIN_DIR))
        check(out.returncode == 0, f"check-config failed: {out.stdout} {out.stderr}")
        check(re.search(r"people\.csv:3: team \"suport\" is not a team of the configuration "
                        r"\(did you mean \"support\"\?\); the row is skipped", out.stderr),
              f"check-config did not print the bad row: {out.stderr!r}")
        check("survey pulse to 1 person" in out.stdout, f"audience size: {out.stdout!r}")

        d.start()
        check(re.search(r"people\.csv:3: team \"suport\"", d.logs()), "the start logs the row")
        alice = await Chat.connect(d, user="alice")
        q = await alice.question("How was your week?")
        check(q["kind"] == "question", "alice from the CSV is asked")

        # bob is not on the roster yet: the web chat does not let him in.
        try:
            bob = await Chat.connect(d, user="bob")
            known = bob.welcome.get("type") == "welcome"
            await bob.close()
        except websockets.exceptions.ConnectionClosed:
            known = False
        check(not known, "bob was known before the reload")

        write_csv(d, CSV + 'bob,Bob Berg,bob@example.com,support,Europe/Oslo,nb\r\n')
        d.signal(signal.SIGHUP)
        d.notify.wait_for("RELOADING=1")
        d.notify.wait_for("READY=1")
        logs = d.logs()
        check("configuration reloaded" in logs, "the reload was applied")
        check(len(re.findall(r"people\.csv:3: team \"suport\"", logs)) == 2,
              "the reload logs the bad row again")

        today = datetime.datetime.now(datetime.timezone.utc).date()
        until = (today + datetime.timedelta(days=3)).isoformat()
        bob = await Chat.connect(d, user="bob")
        check(bob.welcome.get("type") == "welcome", f"bob after the reload: {bob.welcome}")
        result = await bob.request({"type": "text", "text": f"away until {until}"})
        check(result["ok"], f"bob's command after the reload: {result}")
        confirmation = await bob.expect(
            lambda m: m.get("type") == "message" and "You are marked away" in m.get("text", ""),
            what="the away confirmation")
        check(f"to {until} (Europe/Oslo time)" in confirmation["text"], confirmation["text"])
        rows = d.sql("SELECT person, last_day FROM away_spans")
        check([r["person"] for r in rows] == ["bob"], f"away span kept: {rows}")

        # A missing CSV refuses the reload; the running roster (with bob) stays.
        os.remove(os.path.join(d.dir, "people.csv"))
        d.signal(signal.SIGHUP)
        d.notify.wait_for("RELOADING=1")
        d.notify.wait_for("READY=1")
        logs = d.logs()
        check(re.search(r"pulsebot\.conf:\d+: roster: csv: cannot read .*people\.csv: No such "
                        r"file or directory", logs), "the missing file is named")
        check("was not applied" in logs, "the old configuration stays")
        result = await bob.request({"type": "text", "text": "back"})
        check(result["ok"], f"bob is still on the roster: {result}")
        await bob.close()
        await alice.close()
        check(d.stop() == 0, "clean stop")
    finally:
        d.cleanup()


if __name__ == "__main__":
    run([test_csv_people_and_reload])
