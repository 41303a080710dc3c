"""The tools for the people who run schedules, run as built: `pulsebotd --check-config` lists
each schedule's audience and next times per zone, and `pulsebotctl plan` lists who would be
asked when, in local time, moved by calendars and spread, without creating any state."""

import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
from pbtest import PLUGIN_DIR, PULSEBOTCTL, PULSEBOTD, check, run  # noqa: E402

ICS = (
    "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDTSTART;VALUE=DATE:{day}\r\nEND:VEVENT\r\n"
    "END:VCALENDAR\r\n"
)


def write_config(d, ics_day="20300101"):
    with open(os.path.join(d, "days-off.ics"), "w") as f:
        f.write(ICS.format(day=ics_day))
    people = ",\n".join(
        f'  {{ id = "b{i}"; team = "dev"; timezone = "Europe/Berlin"; }}' for i in range(4)
    )
    text = f"""
daemon = {{ plugin_dir = "{PLUGIN_DIR}"; state_dir = "{d}/state"; }};
connectors = ( {{ name = "web"; type = "webchat"; implicit_handles = true; }} );
calendars = ( {{ id = "office"; weekdays = "MO-FR"; hours = "09:00-17:00";
  days_off_file = "days-off.ics"; }} );
teams = ( {{ id = "emea"; calendar = "office"; }}, {{ id = "dev"; parent = "emea"; }},
  {{ id = "us"; }} );
people = (
{people},
  {{ id = "ny"; team = "us"; timezone = "America/New_York"; }}
);
surveys = ( {{ id = "pulse"; questions = ( {{ id = "mood"; type = "scale"; text = "?"; }} ); }} );
schedules = ( {{ id = "sat"; survey = "pulse"; rule = "FREQ=WEEKLY;BYDAY=SA;BYHOUR=10";
  spread = "20m"; audience = {{ teams = [ "emea", "us" ]; }}; }} );
"""
    path = os.path.join(d, "pulsebot.conf")
    with open(path, "w") as f:
        f.write(text)
    return path


async def test_check_config_lists_next_times():
    with tempfile.TemporaryDirectory() as d:
        path = write_config(d)
        out = subprocess.run([PULSEBOTD, "--check-config", path], capture_output=True,
                             text=True, timeout=60)
        check(out.returncode == 0, out.stderr)
        text = out.stdout
        check("schedule sat: survey pulse to 5 people" in text, text)
        check("(2 zones)" in text, text)
        check(re.search(r"in Europe/Berlin \(4\): Sat \S+ 10:00 CES?T, Sat", text), text)
        check(re.search(r"in America/New_York \(1\): Sat \S+ 10:00 E[SD]T", text), text)
        check("each wave spread over 20m" in text, text)
        check("4 of them asked only when their calendar allows" in text, text)


async def test_plan_is_a_dry_run():
    with tempfile.TemporaryDirectory() as d:
        path = write_config(d)
        out = subprocess.run([PULSEBOTCTL, "-c", path, "plan", "pulse", "--days", "10"],
                             capture_output=True, text=True, timeout=60)
        check(out.returncode == 0, out.stderr + out.stdout)
        # The first wave only: ten days may hold a second Saturday.
        lines = [l for l in out.stdout.splitlines()
                 if re.match(r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun) ", l) and l.endswith("round 1")]
        berlin = [l for l in lines if " b" in l]
        ny = [l for l in lines if " ny " in l]
        # Saturday's wave is moved to Monday 09:00 for Berlin's office calendar, inherited by
        # the sub-team, and spread: 0, 5, 10 and 15 minutes for four people.
        check(len(berlin) == 4, out.stdout)
        check([l[:3] for l in berlin] == ["Mon"] * 4, out.stdout)
        mins = sorted(re.search(r" 09:(\d\d):00 CES?T", l).group(1) for l in berlin)
        check(mins == ["00", "05", "10", "15"], out.stdout)
        # New York has no calendar: Saturday 10:00 local, alone in its zone's wave.
        check(len(ny) == 1 and ny[0].startswith("Sat") and " 10:00:00 E" in ny[0], out.stdout)
        check("mood" in berlin[0], out.stdout)
        check(re.search(r"\d+ questions to ask, 0 away", out.stdout), out.stdout)
        # Nothing was created: no state directory, no database.
        check(not os.path.exists(os.path.join(d, "state")), os.listdir(d))
        bad = subprocess.run([PULSEBOTCTL, "-c", path, "plan", "nosuch"], capture_output=True,
                             text=True, timeout=60)
        check(bad.returncode == 1 and "no survey nosuch" in bad.stderr, bad.stderr)


async def test_ics_error_names_both_lines():
    with tempfile.TemporaryDirectory() as d:
        path = write_config(d, ics_day="20300230")
        out = subprocess.run([PULSEBOTD, "--check-config", path], capture_output=True,
                             text=True, timeout=60)
        check(out.returncode == 1, out.stdout)
        check(re.search(r"pulsebot.conf:5: calendar \"office\": days_off_file: \S*days-off.ics:3: ",
                        out.stderr), out.stderr)


run([test_check_config_lists_next_times, test_plan_is_a_dry_run, test_ics_error_names_both_lines])
