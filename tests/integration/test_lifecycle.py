"""The daemon as systemd sees it: READY on the notify socket, RELOADING then READY on SIGHUP,
a broken configuration refused at reload while the old one keeps running, the watchdog pinged
from the loop, STOPPING and a quick clean exit on SIGTERM; and configurations that must not
start at all: --check-config errors as file:line, a connector option typo, a module built for
another ABI."""

import os
import re
import signal
import subprocess
import time
import urllib.request

from pbtest import PULSEBOTD, Chat, Daemon, check, run


def get(url):
    with urllib.request.urlopen(url, timeout=10) as r:
        return r.status, r.read().decode()


async def test_ready_reload_stop():
    d = Daemon(first="1h").start()
    try:
        status, body = get(d.url("/healthz"))
        check(status == 200 and '"status":"ok"' in body, f"healthz: {status} {body}")

        d.signal(signal.SIGHUP)
        reloading = d.notify.wait_for("RELOADING=1")
        check(re.search(r"MONOTONIC_USEC=\d+", reloading), f"no MONOTONIC_USEC: {reloading!r}")
        d.notify.wait_for("READY=1")

        # A broken configuration at reload is refused; the daemon keeps serving the old one.
        with open(d.config_path) as f:
            good = f.read()
        with open(d.config_path, "w") as f:
            f.write(good.replace('team = "support"; }', 'tem = "support"; }', 1))
        d.signal(signal.SIGHUP)
        d.notify.wait_for("RELOADING=1")
        d.notify.wait_for("READY=1")
        check(d.alive(), "the daemon died on a bad reload")
        logs = d.logs()
        check(re.search(r"pulsebot\.conf:\d+: .*unknown key \"tem\"", logs),
              "the reload error names file:line and the key")
        check("was not applied" in logs, "the log says the old configuration stays")
        alice = await Chat.connect(d, user="alice")
        check(alice.welcome["type"] == "welcome", "still serving after a refused reload")
        await alice.close()
        with open(d.config_path, "w") as f:
            f.write(good)

        started = time.monotonic()
        rc = d.stop()
        took = time.monotonic() - started
        check(rc == 0, f"exit code {rc}")
        d.notify.wait_for("STOPPING=1", timeout=1)
        print(f"  stopped in {took * 1000:.0f} ms")
        check(took < 5, f"SIGTERM took {took:.1f}s")
    finally:
        d.cleanup()


async def test_second_daemon_on_one_store_refused():
    d = Daemon(first="1h").start()
    try:
        p = subprocess.run([PULSEBOTD, "-c", d.config_path], capture_output=True, text=True,
                           timeout=30)
        check(p.returncode != 0 and "in use by another pulsebotd" in p.stderr,
              f"a second daemon on the same state: {p.returncode} {p.stderr[-300:]}")
        check(d.alive(), "the first daemon is unaffected")
    finally:
        d.cleanup()


async def test_watchdog_pings():
    d = Daemon(first="1h", env={"WATCHDOG_USEC": "400000"}).start()
    try:
        first = time.monotonic()
        d.notify.wait_for("WATCHDOG=1", timeout=2)
        d.notify.wait_for("WATCHDOG=1", timeout=2)
        check(time.monotonic() - first < 2, "two pings within two seconds")
    finally:
        d.cleanup()


def check_config(text, plugin_dir=None):
    d = Daemon(config=text)
    try:
        if plugin_dir:
            with open(d.config_path) as f:
                body = f.read()
            body = re.sub(r'plugin_dir = "[^"]*"', f'plugin_dir = "{plugin_dir}"', body)
            with open(d.config_path, "w") as f:
                f.write(body)
        p = subprocess.run([PULSEBOTD, "--check-config", d.config_path], capture_output=True,
                           text=True, timeout=30)
        return p.returncode, p.stdout + p.stderr, d.config_path
    finally:
        d.cleanup()


async def test_check_config_reports_file_line():
    from pbtest import BASE_CONFIG
    rc, out, path = check_config(BASE_CONFIG)
    check(rc == 0, f"the base config is valid: {out}")
    check("schedule weekly: survey weekly-pulse to 2 people, first 1s after it is new, then "
          "every 1w" in out, f"the schedule's preview: {out}")
    broken = (BASE_CONFIG.replace("max_message = 4096;", "max_mesage = 4096;")
              .replace('alert = "support-leads";', 'alert = "nobody";'))
    rc, out, path = check_config(broken)
    check(rc != 0, "a broken config exits non-zero")
    lines = [l for l in out.splitlines() if l.strip()]
    check(any(re.match(re.escape(path) + r":\d+: .*max_mesage", l) for l in lines),
          f"connector option typo with file:line: {out}")
    check(any(re.match(re.escape(path) + r":\d+: .*nobody", l) for l in lines),
          f"unknown alert team with file:line: {out}")

    # A daemon started on it refuses to start and says why.
    d = Daemon(config=broken)
    try:
        p = subprocess.run([PULSEBOTD, "-c", d.config_path], capture_output=True, text=True,
                           timeout=30)
        check(p.returncode != 0 and "max_mesage" in p.stderr, f"start refused: {p.stderr}")
    finally:
        d.cleanup()


async def test_module_for_another_abi_is_refused():
    from pbtest import BASE_CONFIG
    fake_dir = os.environ.get("PB_FAKE_PLUGIN_DIR", "build/tests/fake-plugins")
    text = BASE_CONFIG.replace('type = "webchat"; implicit_handles = true; demo_login = {demo};\n'
                               '                  max_message = 4096;', 'type = "wrongabi";')
    rc, out, _ = check_config(text, plugin_dir=fake_dir)
    check(rc != 0, "a module for another ABI is refused")
    check("built for connector ABI version 99" in out and "speaks version 1" in out,
          f"the message says which versions: {out}")


if __name__ == "__main__":
    run([test_ready_reload_stop, test_second_daemon_on_one_store_refused, test_watchdog_pings, test_check_config_reports_file_line,
         test_module_for_another_abi_is_refused])
