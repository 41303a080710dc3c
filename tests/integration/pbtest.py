"""Shared harness for the integration tests: runs the real pulsebotd with a generated
configuration in a temporary directory, waits for READY=1 on a notify socket the test owns
(never by polling a port), and talks to the web chat with a websocket client from Python's
`websockets` package, an implementation independent of the daemon's libwebsockets.

Run with Debian's /usr/bin/python3 (python3-websockets). ctest sets PULSEBOTD, PULSEBOTCTL,
PB_PLUGIN_DIR and PB_SOURCE_DIR; PB_VALGRIND=1 runs the daemon under valgrind.
"""

import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

import websockets

PULSEBOTD = os.environ.get("PULSEBOTD", "build/pulsebotd")
PULSEBOTCTL = os.environ.get("PULSEBOTCTL", "build/pulsebotctl")
PLUGIN_DIR = os.environ.get("PB_PLUGIN_DIR", "build/plugins")
SOURCE_DIR = os.environ.get("PB_SOURCE_DIR", ".")

BASE_CONFIG = """
daemon = {{
  state_dir = "{state}";
  plugin_dir = "{plugins}";
  log_level = "debug";
  http = {{ listen = "127.0.0.1"; port = 0; max_body = 65536; }};
  public_url = "http://127.0.0.1";
}};
connectors = ( {{ name = "web"; type = "webchat"; implicit_handles = true; demo_login = {demo};
                  max_message = 4096; }} );
teams = (
  {{ id = "support"; name = "Support"; manager = "mia"; }},
  {{ id = "support-leads"; name = "Support leads"; parent = "support";
     channel = "web:support-leads"; }}
);
people = (
  {{ id = "alice"; name = "Alice Andersen"; team = "support"; }},
  {{ id = "bob"; name = "Bob <b>Berg</b> @everyone"; team = "support"; }},
  {{ id = "mia"; name = "Mia Lead"; team = "support-leads"; }}
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


class TestFailure(Exception):
    pass


def check(condition, message):
    if not condition:
        raise TestFailure(message)


class NotifySocket:
    """A datagram socket standing in for systemd's notify socket."""

    def __init__(self, directory):
        self.path = os.path.join(directory, "notify.sock")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.messages = []

    def wait_for(self, needle, timeout=30):
        deadline = time.monotonic() + timeout
        while True:
            for i, m in enumerate(self.messages):
                if needle in m:
                    del self.messages[: i + 1]
                    return m
            left = deadline - time.monotonic()
            if left <= 0:
                raise TestFailure(f"no {needle!r} on the notify socket within {timeout}s")
            self.sock.settimeout(left)
            try:
                data = self.sock.recv(4096)
            except socket.timeout:
                continue
            self.messages.append(data.decode())

    def close(self):
        self.sock.close()


class Daemon:
    """One pulsebotd process on a generated configuration in its own directory."""

    def __init__(self, demo=True, window="3d", first="1s", config=None, env=None):
        self.dir = tempfile.mkdtemp(prefix="pb-it-")
        self.state = os.path.join(self.dir, "state")
        self.config_path = os.path.join(self.dir, "pulsebot.conf")
        text = config or BASE_CONFIG
        with open(self.config_path, "w") as f:
            f.write(text.format(state=self.state, plugins=os.path.abspath(PLUGIN_DIR),
                                demo="true" if demo else "false", window=window, first=first))
        self.notify = NotifySocket(self.dir)
        self.proc = None
        self.port = None
        self.env = env or {}
        self.log_path = os.path.join(self.dir, "daemon.log")

    def start(self, extra_env=None):
        env = dict(os.environ)
        env["NOTIFY_SOCKET"] = self.notify.path
        env.update(self.env)
        env.update(extra_env or {})
        cmd = [os.path.abspath(PULSEBOTD), "-c", self.config_path]
        if os.environ.get("PB_VALGRIND") == "1":
            cmd = ["valgrind", "--error-exitcode=99", "--leak-check=full", "-q"] + cmd
        self.log = open(self.log_path, "a")
        self.proc = subprocess.Popen(cmd, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        ready = self.notify.wait_for("READY=1", timeout=60)
        for part in ready.split("\n"):
            if part.startswith("STATUS=") and "port " in part:
                self.port = int(part.rsplit("port ", 1)[1])
        check(self.port, f"READY without a port in STATUS: {ready!r}")
        return self

    def url(self, path="/"):
        return f"http://127.0.0.1:{self.port}{path}"

    def ws_url(self):
        return f"ws://127.0.0.1:{self.port}/ws"

    def origin(self):
        return f"http://127.0.0.1:{self.port}"

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def signal(self, signo):
        self.proc.send_signal(signo)

    def stop(self, timeout=10):
        """SIGTERM; returns the exit code. A clean stop must be quick."""
        if not self.alive():
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise TestFailure(f"pulsebotd did not stop within {timeout}s of SIGTERM")
        self.log.close()
        return rc

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self.log.close()

    def logs(self):
        with open(self.log_path) as f:
            return f.read()

    def sql(self, query):
        """Reads the store with the sqlite3 shell (a second, independent reader)."""
        out = subprocess.run(["sqlite3", "-json", os.path.join(self.state, "pulsebot.db"), query],
                             capture_output=True, text=True, check=True).stdout
        return json.loads(out) if out.strip() else []

    def cleanup(self):
        if self.alive():
            self.proc.kill()
            self.proc.wait()
        self.notify.close()
        if os.environ.get("PB_KEEP") != "1":
            shutil.rmtree(self.dir, ignore_errors=True)


class Chat:
    """A web chat client: one websocket, frames as dicts, results matched by id."""

    def __init__(self, ws):
        self.ws = ws
        self.inbox = []
        self.next_id = 1

    @classmethod
    async def connect(cls, daemon, user=None, token=None, origin=None):
        ws = await websockets.connect(daemon.ws_url(), origin=origin or daemon.origin(),
                                      max_size=2**20, open_timeout=10)
        chat = cls(ws)
        if user or token:
            hello = {"type": "hello"}
            if token:
                hello["token"] = token
            else:
                hello["user"] = user
            await chat.send(hello)
            chat.welcome = await chat.expect(lambda m: m["type"] in ("welcome", "error"))
        return chat

    async def send(self, frame):
        await self.ws.send(json.dumps(frame))

    async def recv(self, timeout=15):
        raw = await asyncio.wait_for(self.ws.recv(), timeout)
        return json.loads(raw)

    async def expect(self, predicate, timeout=20, what="a matching frame"):
        """The first frame (already received or arriving) that matches."""
        for i, m in enumerate(self.inbox):
            if predicate(m):
                return self.inbox.pop(i)
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TestFailure(f"timed out waiting for {what}; got {self.inbox[-5:]}")
            m = await self.recv(left)
            if predicate(m):
                return m
            self.inbox.append(m)

    async def request(self, frame, timeout=15):
        frame = dict(frame, id=self.next_id)
        self.next_id += 1
        await self.send(frame)
        return await self.expect(lambda m: m.get("type") == "result" and m.get("id") == frame["id"],
                                 timeout, what=f"the result of {frame['type']}")

    async def question(self, text, timeout=30):
        return await self.expect(
            lambda m: m.get("type") == "message" and m.get("text") == text
            and m.get("kind") == "question" and not m.get("closed"),
            timeout, what=f"the question {text!r}")

    async def close(self):
        await self.ws.close()


def history(welcome, conversation):
    return welcome.get("history", {}).get(conversation, [])


def button(message, label):
    for b in message.get("buttons", []):
        if b["label"] == label:
            return b
    raise TestFailure(f"no button {label!r} in {message}")


def run(tests):
    """Runs async test functions in order; prints a summary line ctest's log can show."""
    failed = 0
    for test in tests:
        name = test.__name__
        try:
            asyncio.run(test())
            print(f"ok: {name}", flush=True)
        except Exception as e:  # noqa: BLE001 - report every failure, then go on
            failed += 1
            print(f"FAILED: {name}: {type(e).__name__}: {e}", flush=True)
    print(f"{len(tests) - failed} passed, {failed} failed")
    sys.exit(1 if failed else 0)
