"""Shared set-up for the Slack integration tests and benchmark: a fake Slack (slack_fake.py
here) and a pulsebotd (through tests/integration/pbtest.py) configured with the Slack
connector pointed at it."""

import os
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "integration"))

from pbtest import Daemon  # noqa: E402
from slack_fake import APP_TOKEN, BOT_TOKEN, FakeSlack  # noqa: E402

CONFIG = """
daemon = {{
  state_dir = "{state}";
  plugin_dir = "{plugins}";
  log_level = "@LOG@";
  http = {{ listen = "127.0.0.1"; port = 0; max_body = 65536; }};
  public_url = "http://127.0.0.1";
}};
connectors = ( {{ name = "slack"; type = "slack"; implicit_handles = false;
                  bot_token_file = "@BOT@"; app_token_file = "@APPT@"; api_url = "@API@";
                  @EXTRA@ }} );
teams = (
  {{ id = "support"; name = "Support"; manager = "mia"; }},
  {{ id = "support-leads"; name = "Support leads"; parent = "support";
     channel = "slack:CLEADS01"; }}
);
people = (
@PEOPLE@
);
surveys = (
  {{ id = "weekly-pulse"; kind = "employee"; title = "Weekly pulse"; window = "{window}";
     thanks = "Thank you!";
     questions = (
       {{ id = "week"; type = "scale"; text = "How was your week?"; min = 1; max = 5;
          low_label = "Rough"; high_label = "Great";
          branches = ( {{ min = 1; max = 2; next = "hard"; }} ); next = "end"; }},
       {{ id = "hard"; type = "text"; text = "What made it hard?"; max_length = 500; }}
     ); }}
);
schedules = (
  {{ id = "weekly"; survey = "weekly-pulse"; every = "7d"; first = "{first}";
     audience = {{ teams = [ "support" ]; exclude = [ "mia" ]; }}; }}
);
routing = (
  {{ id = "support-low"; survey = "weekly-pulse"; team = "support"; max_score = 2;
     alert = "support-leads"; }}
);
"""

BASE_PEOPLE = [("alice", "Alice Andersen", "UALICE01", "support"),
               ("bob", "Bob Berg", "UBOB0001", "support"),
               ("mia", "Mia Lead", "UMIA0001", "support-leads")]


def person_line(pid, name, uid, team):
    return (f'  {{{{ id = "{pid}"; name = "{name}"; team = "{team}"; '
            f'email = "{pid}@example.com"; handles = {{{{ slack = "{uid}"; }}}}; }}}}')


class SlackEnv:
    """A fake Slack and a daemon using it. `people` are (id, name, Slack id, team); `extra` is
    added to the connector's block; `transform` rewrites the configuration template."""

    def __init__(self, people=None, extra="", first="1s", log="debug", transform=None):
        self.people = people or BASE_PEOPLE
        self.fake = FakeSlack()
        for pid, name, uid, _ in self.people:
            self.fake.add_user(uid, f"{pid}@example.com", name)
        self.secrets = tempfile.mkdtemp(prefix="pb-slack-secrets-")
        bot = self._secret("bot", BOT_TOKEN)
        app = self._secret("app", APP_TOKEN)
        text = (CONFIG.replace("@BOT@", bot).replace("@APPT@", app)
                .replace("@API@", self.fake.api_url()).replace("@EXTRA@", extra)
                .replace("@LOG@", log)
                .replace("@PEOPLE@", ",\n".join(person_line(*p) for p in self.people)))
        if transform:
            text = transform(text)  # on the template: literal braces are doubled
        self.daemon = Daemon(config=text, first=first, env={"PULSEBOT_ALLOW_PLAIN": "1"})

    def _secret(self, name, value):
        path = os.path.join(self.secrets, name)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
        os.write(fd, (value + "\n").encode())
        os.close(fd)
        return path

    def start(self):
        self.daemon.start()
        return self

    def cleanup(self):
        try:
            self.daemon.cleanup()
        finally:
            self.fake.close()
