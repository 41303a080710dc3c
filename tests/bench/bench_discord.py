"""Benchmark of the Discord connector end to end: the real daemon against the fake Discord.

N people each get the weekly question by DM; then every question is clicked as fast as the
fake can dispatch INTERACTION_CREATE frames, and the fake times each click from the moment
its frame is written to the gateway socket until the interaction callback arrives over REST
(the connector answers only after the core committed the answer).

Prints: clicks per second end to end, the daemon's CPU time per click (utime + stime from
/proc during the clicks), p50 and p99 INTERACTION_CREATE -> callback, and the daemon's
resident memory at idle (all questions sent, nothing clicked) and after the load (VmRSS and
the peak VmHWM).

Run from the build directory (a Release build gives the representative figures):
    PB_SOURCE_DIR=.. PULSEBOTD=./pulsebotd PB_PLUGIN_DIR=./plugins \
        /usr/bin/python3 ../tests/bench/bench_discord.py [N [CLICKS_PER_SECOND]]

Without a rate, all N clicks are sent at once (a burst: the latencies then include queueing
behind the clicks before); with one, clicks are paced (the latency of a click on a busy but
not saturated daemon).
"""

import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "fakes"))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))

from discord_fake import FakeDiscord, custom_id  # noqa: E402
from test_discord_flow import make_daemon, question  # noqa: E402


def proc(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    cpu = (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
    mem = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(("VmRSS:", "VmHWM:")):
                k, v = line.split(":")
                mem[k] = int(v.split()[0])
    return cpu, mem


def pct(values, p):
    s = sorted(values)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))]


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    rate = float(sys.argv[2]) if len(sys.argv) > 2 else 0
    people = [(f"p{i}", str(700000000000000000 + i)) for i in range(n)]
    fake = FakeDiscord(heartbeat_interval=41250)
    d = make_daemon(fake, people)
    try:
        d.start()
        fake.wait_ready()
        qs = [question(fake, uid, "How was your week?", timeout=120) for _, uid in people]
        fake.wait_for(lambda: d.sql("select count(*) as n from outbox where state = 1")[0]["n"]
                      >= n + 1, timeout=120, what="all questions confirmed", poll=0.2)
        time.sleep(1)  # let the daemon settle before the idle reading
        cpu0, idle = proc(d.proc.pid)

        start = time.monotonic()
        iids = []
        for i, ((_, uid), q) in enumerate(zip(people, qs)):
            if rate:
                # Paced against the start, so a slow dispatch does not slow the rate down.
                time.sleep(max(0.0, start + i / rate - time.monotonic()))
            iids.append(fake.click(uid, q["id"], custom_id(q, "4")))
        fake.wait_for(lambda: len(fake.callbacks) >= n, timeout=300, what="every callback")
        wall = time.monotonic() - start
        cpu1, load = proc(d.proc.pid)

        sent = {iid: fake.interactions[iid][1] for iid in iids}
        lat = [(t - sent[iid]) * 1000 for t, iid, _ in fake.callbacks if iid in sent]
        answered = d.sql("select count(*) as n from answers")[0]["n"]
        print(f"clicks: {n}{f' paced at {rate:g}/s' if rate else ' in one burst'} "
              f"(answers committed: {answered})")
        print(f"clicks per second end to end: {n / wall:.0f}")
        print(f"daemon CPU per click: {(cpu1 - cpu0) / n * 1000:.2f} ms "
              f"({cpu1 - cpu0:.2f} s for {n})")
        print(f"INTERACTION_CREATE -> callback: p50 {pct(lat, 50):.1f} ms, "
              f"p99 {pct(lat, 99):.1f} ms, max {max(lat):.1f} ms")
        print(f"resident memory: idle {idle['VmRSS'] / 1024:.1f} MiB, after load "
              f"{load['VmRSS'] / 1024:.1f} MiB (peak {load['VmHWM'] / 1024:.1f} MiB)")
        d.stop()
    finally:
        d.cleanup()
        fake.close()


if __name__ == "__main__":
    main()
