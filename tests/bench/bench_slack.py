"""Benchmark: answers per second pulsebotd takes end to end through the Slack connector, against
the fake Slack (tests/fakes/slack_fake.py) on this machine.

One answer = a block_actions envelope in over Socket Mode -> the core commits it -> the envelope
is acknowledged -> the question is updated in place, the follow-up is posted, and (the score
being low) an alert is posted to the leads' channel. The benchmark keeps `--window` answers in
flight and reports:
  * answers per second, first click to last alert;
  * the daemon's CPU time (user + system, from /proc) per answer;
  * p50 / p99 of envelope -> acknowledgement and of click -> alert posted;
  * the daemon's resident memory at idle (all questions sent, nothing happening) and its peak
    under load (VmHWM).

The connector runs with rate_pacing = false and channel_interval = 0: the fake has no limits,
and Slack's real ones (about one post a second per channel) would measure Slack, not pulsebot.

--count-syncs adds the number of fdatasync calls (one per durable SQLite commit in WAL mode)
per answer, counted with strace; the other figures of such a run are slowed by the tracing.

Usage (from a Release build directory):
    PULSEBOTD=$PWD/pulsebotd PB_PLUGIN_DIR=$PWD/plugins PB_SOURCE_DIR=/work/main \
        /usr/bin/python3 ../tests/bench/bench_slack.py --people 300 --window 32
"""

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "fakes"))

from slack_daemon import SlackEnv  # noqa: E402
from slack_fake import buttons  # noqa: E402


def proc_cpu_s(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks  # utime + stime


def proc_mem_kb(pid, key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--people", type=int, default=300)
    ap.add_argument("--window", type=int, default=32)
    ap.add_argument("--count-syncs", action="store_true",
                    help="count the daemon's fdatasync calls (durable commits) while answers "
                         "are taken, with strace (slows the daemon: use for counts, not speed)")
    args = ap.parse_args()

    people = [(f"p{i}", f"Person {i:05d}", f"UP{i:07d}", "support") for i in range(args.people)]
    people.append(("mia", "Mia Lead", "UMIA0001", "support-leads"))
    env = SlackEnv(people=people, log="warning",
                   extra="rate_pacing = false; channel_interval = 0;")
    fake = env.fake
    fake.ack_timeout = 3.0
    env.start()
    pid = env.daemon.proc.pid
    try:
        questions = {}
        t0 = time.monotonic()
        for _, name, uid, team in people:
            if team != "support":
                continue
            ch = "D" + uid[1:]
            questions[name] = fake.wait_for(
                lambda c=ch: next((m for m in fake.posts_to(c) if buttons(m)), None),
                timeout=300, what=f"the question to {uid}")
        sent_s = time.monotonic() - t0
        time.sleep(2)  # settle: nothing in flight
        idle_kb = proc_mem_kb(pid, "VmRSS")
        tracer = trace_out = None
        if args.count_syncs and shutil.which("strace"):
            trace_out = tempfile.NamedTemporaryFile(prefix="pb-bench-syncs-", delete=False).name
            tracer = subprocess.Popen(["strace", "-f", "-c", "-e", "trace=fdatasync,fsync",
                                       "-o", trace_out, "-p", str(pid)],
                                      stderr=subprocess.DEVNULL)
            time.sleep(0.5)  # attached before the first click
        cpu0 = proc_cpu_s(pid)

        order = list(questions.items())
        envs = {}
        start = time.monotonic()
        next_i = 0
        alerts = {}  # name -> time the alert post arrived

        def scan_alerts():
            # `posts` only grows, from the fake's thread: read it up to its current length.
            posts = fake.posts
            while scan_alerts.cursor < len(posts):
                ch, ts = posts[scan_alerts.cursor]
                scan_alerts.cursor += 1
                if ch != "CLEADS01":
                    continue
                text = str(fake.messages[(ch, ts)].get("blocks"))
                name = text[text.find("Person "):text.find("Person ") + 12]
                if name in questions:
                    alerts[name] = fake.post_times[(ch, ts)]
        scan_alerts.cursor = 0

        while len(alerts) < len(order):
            in_flight = sum(1 for n in envs if n not in alerts)
            while next_i < len(order) and in_flight < args.window:
                name, q = order[next_i]
                uid = next(p[2] for p in people if p[1] == name)
                b = next(b for b in buttons(q) if b["text"]["text"] == "1")
                envs[name] = fake.deliver("interactive", fake.block_action(
                    uid, name, q["channel"], q["ts"], b["action_id"], b["value"], "1"))
                next_i += 1
                in_flight += 1
            with fake.cond:
                fake.cond.wait(0.05)
            scan_alerts()
            if time.monotonic() - start > 600:
                raise SystemExit(f"only {len(alerts)} of {len(order)} alerts after 600 s")
        end = max(alerts.values())
        cpu1 = proc_cpu_s(pid)
        syncs = None
        if tracer:
            time.sleep(1)  # the last updates and thank-yous land
            tracer.send_signal(signal.SIGINT)
            tracer.wait(10)
            with open(trace_out) as f:
                syncs = sum(int(line.split()[3]) for line in f
                            if line.split()[-1:] in (["fdatasync"], ["fsync"]))
            os.unlink(trace_out)
        peak_kb = proc_mem_kb(pid, "VmHWM")
        load_kb = proc_mem_kb(pid, "VmRSS")

        acks = [(e.acked - e.delivered) * 1000 for e in envs.values() if e.acked]
        e2a = [(alerts[n] - envs[n].delivered) * 1000 for n in envs]
        n = len(order)
        print(f"answers: {n} (window {args.window}); questions sent in {sent_s:.1f} s")
        print(f"throughput: {n / (end - start):.0f} answers/s end to end "
              f"(envelope in, committed, acknowledged, alert posted)")
        print(f"daemon CPU: {(cpu1 - cpu0) * 1000 / n:.3f} ms per answer "
              f"({cpu1 - cpu0:.2f} s for {n})")
        print(f"envelope -> ack: p50 {pct(acks, 50):.1f} ms, p99 {pct(acks, 99):.1f} ms "
              f"({len(acks)} acknowledged, {len(fake.unacked_clicks)} not)")
        print(f"click -> alert posted: p50 {pct(e2a, 50):.1f} ms, p99 {pct(e2a, 99):.1f} ms")
        print(f"daemon RSS: idle {idle_kb / 1024:.1f} MB, under load {load_kb / 1024:.1f} MB, "
              f"peak {peak_kb / 1024:.1f} MB")
        if syncs is not None:
            print(f"durable commits (fdatasync): {syncs} for {n} answers, "
                  f"{syncs / n:.2f} per answer")
    finally:
        env.cleanup()


if __name__ == "__main__":
    main()
