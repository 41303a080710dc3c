#!/usr/bin/python3
"""Checks systemd/pulsebot.service offline: `systemd-analyze verify` must have nothing to say
about it, and `systemd-analyze security --offline=true` must score it at or under
EXPOSURE_LIMIT. Nothing is started: a container rarely runs systemd as PID 1, and the
checks need no running manager.

Environment (set by ctest): PULSEBOTD, the built daemon (verify checks that ExecStart= and
friends are executable, so the unit's /usr/sbin/pulsebotd is rewritten to it; /bin/true
stands in until the daemon is built), and PB_SOURCE_DIR, the repository root.
"""

import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

# The score measured for the shipped unit (systemd 252), rounded up to one decimal. Raise it
# only with a reason written in docs/deployment.md; never above 2.0.
EXPOSURE_LIMIT = 1.1
INSTALLED_DAEMON = "/usr/sbin/pulsebotd"
UNIT_NAME = "pulsebot.service"

SOURCE_DIR = os.environ.get("PB_SOURCE_DIR") or os.path.normpath(
    os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
UNIT_PATH = os.path.join(SOURCE_DIR, "systemd", UNIT_NAME)


def find_analyze():
    path = shutil.which("systemd-analyze") or "/usr/bin/systemd-analyze"
    if not os.access(path, os.X_OK):
        raise AssertionError(
            "systemd-analyze not found: install the 'systemd' package (the project's setup "
            "script does); this test checks the unit offline and cannot run without it")
    return path


def daemon_path():
    path = os.environ.get("PULSEBOTD", "")
    if path and os.access(path, os.X_OK):
        return path, None
    return "/bin/true", ("PULSEBOTD %s: using /bin/true as a stand-in for %s in verify" %
                         ("is not set" if not path else "(%s) is not executable" % path,
                          INSTALLED_DAEMON))


def unit_exec_path(path):
    # '%' starts a specifier and blanks split a command line in unit files.
    path = path.replace("%", "%%")
    return '"%s"' % path if re.search(r"\s", path) else path


def run(args):
    return subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          timeout=120, check=False)


def active_settings(text):
    """Every uncommented Key=value line, as a list of (key, value)."""
    out = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line[0] in "#;[" or "=" not in line:
            continue
        key, value = line.split("=", 1)
        out.append((key.strip(), value.strip()))
    return out


class SystemdUnitTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.analyze = find_analyze()
        with open(UNIT_PATH, encoding="utf-8") as f:
            cls.unit_text = f.read()
        cls.daemon, note = daemon_path()
        if note:
            print("note: " + note, flush=True)
        cls.tmp = tempfile.TemporaryDirectory(prefix="pb-unit-")
        cls.unit_copy = cls.write_copy(cls.unit_text, "checked")

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    @classmethod
    def write_copy(cls, text, subdir):
        # The file name must stay pulsebot.service: verify names the unit after it.
        d = os.path.join(cls.tmp.name, subdir)
        os.makedirs(d, exist_ok=True)
        path = os.path.join(d, UNIT_NAME)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text.replace(INSTALLED_DAEMON, unit_exec_path(cls.daemon)))
        return path

    def verify(self, path):
        # --man=no: containers often ship without man pages, and Documentation= is not what
        # this test is about. --recursive-errors=no: judge this unit, not the host's units.
        res = run([self.analyze, "verify", "--man=no", "--recursive-errors=no", path])
        about_unit = [l for l in res.stdout.splitlines() if UNIT_NAME in l or path in l]
        return res, about_unit

    def security(self, path, limit):
        # systemd 252 takes the threshold as an integer on the 0-100 scale that the table
        # shows divided by ten, so 1.1 is passed as 11.
        res = run([self.analyze, "security", "--offline=true",
                   "--threshold=%d" % round(limit * 10), path])
        m = re.search(r"Overall exposure level for \S+: (\d+(?:\.\d+)?)", res.stdout)
        return res, (float(m.group(1)) if m else None)

    def test_verify_has_no_warnings(self):
        res, about_unit = self.verify(self.unit_copy)
        for line in res.stdout.splitlines():
            print("verify: " + line)
        self.assertEqual(about_unit, [], "systemd-analyze verify warned about the unit")
        self.assertEqual(res.returncode, 0, "systemd-analyze verify failed:\n" + res.stdout)

    def test_verify_would_catch_a_bad_key(self):
        # Proves the filter above sees warnings: a misspelt option must be reported.
        bad = self.write_copy(self.unit_text.replace("UMask=0077", "UMask=0077\nProtectSistem=yes"),
                              "broken")
        res, about_unit = self.verify(bad)
        self.assertTrue(any("ProtectSistem" in l for l in about_unit),
                        "verify did not report an unknown key:\n" + res.stdout)

    def test_exposure_score_within_limit(self):
        self.assertLessEqual(EXPOSURE_LIMIT, 2.0)
        res, score = self.security(self.unit_copy, EXPOSURE_LIMIT)
        self.assertIsNotNone(score, "no overall exposure level in:\n" + res.stdout)
        print("exposure score: %.1f (limit %.1f; systemd-analyze security --offline=true "
              "--threshold=%d %s)" % (score, EXPOSURE_LIMIT, round(EXPOSURE_LIMIT * 10),
                                      UNIT_NAME), flush=True)
        for line in res.stdout.splitlines():
            if line.startswith("\u2717"):  # the settings that still cost exposure
                print("  " + line.rstrip())
        self.assertLessEqual(score, EXPOSURE_LIMIT)
        self.assertEqual(res.returncode, 0, "--threshold gate failed:\n" + res.stdout)

    def test_threshold_gate_fails_a_bare_unit(self):
        # Without this, a systemd-analyze that ignored --threshold would pass everything.
        bare = self.write_copy("[Service]\nType=notify\nExecStart=%s\n" % INSTALLED_DAEMON,
                               "bare")
        res, score = self.security(bare, EXPOSURE_LIMIT)
        self.assertIsNotNone(score, res.stdout)
        self.assertGreater(score, EXPOSURE_LIMIT)
        self.assertNotEqual(res.returncode, 0, "--threshold did not fail a bare unit")

    def test_settings_the_daemon_relies_on(self):
        settings = active_settings(self.unit_text)
        values = {}
        for key, value in settings:
            values.setdefault(key, []).append(value)
        self.assertEqual(values.get("Type"), ["notify"])
        self.assertEqual(values.get("NotifyAccess"), ["main"])
        self.assertIn("WatchdogSec", values)
        self.assertEqual(values.get("Restart"), ["on-failure"])
        self.assertTrue(any("--check-config" in v for v in values.get("ExecStartPre", [])))
        self.assertTrue(any(re.search(r"kill -HUP \$MAINPID", v)
                            for v in values.get("ExecReload", [])))
        self.assertEqual(values.get("MemoryDenyWriteExecute"), ["yes"])
        self.assertEqual(values.get("StateDirectory"), ["pulsebot"])
        self.assertEqual(values.get("StateDirectoryMode"), ["0700"])
        # lws 4.1.6 scans an RLIMIT_NOFILE-sized table on every close: keep it modest.
        nofile = values.get("LimitNOFILE", ["unset"])[-1].split(":")[0]
        self.assertTrue(nofile.isdigit() and int(nofile) <= 8192, "LimitNOFILE=" + nofile)
        # lws 4.1.6 binds every interface when getifaddrs() (netlink) fails.
        families = " ".join(values.get("RestrictAddressFamilies", [])).split()
        self.assertIn("AF_NETLINK", families)
        # The shipped unit cannot know which connectors are configured, and a missing
        # credential file fails the start: the examples stay commented out.
        self.assertNotIn("LoadCredential", values)
        self.assertRegex(self.unit_text, r"(?m)^#LoadCredential=\S+:/etc/pulsebot/secrets/")


if __name__ == "__main__":
    sys.exit(0 if unittest.main(verbosity=2, exit=False).result.wasSuccessful() else 1)
