"""Bad input never takes the daemon down and never loses anything: malformed frames and JSON,
oversized messages and bodies, raw garbage on the port, a wrong Origin, forged and replayed
tokens, unknown people, bad personal links. Each gets a clear error; afterwards the daemon
still serves and the answers already given are intact."""

import asyncio
import json
import socket
import subprocess
import urllib.error
import urllib.request

import websockets

from pbtest import PULSEBOTCTL, Chat, Daemon, button, check, history, run


async def expect_error(chat, what):
    m = await chat.expect(lambda f: f["type"] in ("error", "result"), what=what)
    check(m["type"] == "error" or not m.get("ok"), f"{what}: accepted: {m}")
    return m


async def test_frames_and_tokens():
    d = Daemon(first="1s").start()
    try:
        alice = await Chat.connect(d, user="alice")
        q = await alice.question("How was your week?")

        for bad in ["{not json", "[]", '"x"', json.dumps({"type": "nonsense"}),
                    json.dumps({"type": "choice"}), json.dumps({"type": "choice", "token": 5}),
                    json.dumps({"type": "text", "text": ""})]:
            await alice.ws.send(bad)
            await expect_error(alice, f"frame {bad!r}")

        token = button(q, "3")["token"]
        forged = token[:-2] + ("AA" if token[-2:] != "AA" else "BA")
        r = await alice.request({"type": "choice", "ref": q["ref"], "token": forged})
        check(not r["ok"] and "not valid" in r.get("error", ""), f"forged token: {r}")

        # bob replays alice's button.
        bob = await Chat.connect(d, user="bob")
        r = await bob.request({"type": "choice", "ref": q["ref"], "token": token})
        check(not r["ok"], f"bob used alice's token: {r}")
        await bob.close()

        r = await alice.request({"type": "choice", "ref": q["ref"], "token": token})
        check(r["ok"], f"alice's own answer: {r}")
        r = await alice.request({"type": "choice", "ref": q["ref"], "token": token})
        check(not r["ok"], f"replayed token accepted: {r}")

        # A message over max_message (4096) closes that connection with 1009, and only it.
        try:
            await alice.ws.send(json.dumps({"type": "text", "text": "x" * 10000}))
            await asyncio.wait_for(alice.ws.recv(), 10)
            while True:
                await asyncio.wait_for(alice.ws.recv(), 10)
        except websockets.ConnectionClosed as e:
            check(e.code == 1009, f"oversized frame closed with {e.code}")
        check(d.alive(), "the daemon survived")
        check(d.sql("select count(*) as n from answers") == [{"n": 1}], "the answer is intact")
    finally:
        d.cleanup()


async def test_hello_refusals():
    d = Daemon(first="1h", demo=False).start()
    try:
        # demo login is off: a bare user name is refused.
        c = await Chat.connect(d)
        await c.send({"type": "hello", "user": "alice"})
        m = await c.expect(lambda f: f["type"] == "error", what="refusal of a bare user")
        check(m["text"], "the refusal says why")
        # Forged, expired and unknown-person links are refused.
        link = subprocess.run([PULSEBOTCTL, "-c", d.config_path, "link", "alice"],
                              capture_output=True, text=True, check=True).stdout.strip()
        token = link.split("?t=", 1)[1]
        for bad in [token[:-1] + ("A" if token[-1] != "A" else "B"), "garbage", ""]:
            c = await Chat.connect(d)
            await c.send({"type": "hello", "token": bad})
            await c.expect(lambda f: f["type"] == "error", what=f"refusal of {bad!r}")
        # The real link works, and the page it names is served.
        c = await Chat.connect(d, token=token)
        check(c.welcome["type"] == "welcome" and c.welcome["user"] == "alice",
              f"the link's welcome: {c.welcome}")
        await c.close()
        missing = subprocess.run([PULSEBOTCTL, "-c", d.config_path, "link", "nobody"],
                                 capture_output=True, text=True)
        check(missing.returncode != 0 and "not on the roster" in missing.stderr,
              "pulsebotctl refuses an unknown person")
    finally:
        d.cleanup()


async def test_origin_and_http():
    d = Daemon(first="1h").start()
    try:
        try:
            await websockets.connect(d.ws_url(), origin="http://evil.example")
            check(False, "a foreign Origin was accepted")
        except websockets.InvalidStatusCode as e:
            check(e.status_code == 403, f"foreign Origin got {e.status_code}")

        req = urllib.request.Request(d.url("/healthz"), data=b"x" * 200000, method="POST")
        try:
            urllib.request.urlopen(req, timeout=10)
            check(False, "an oversized body was accepted")
        except urllib.error.HTTPError as e:
            check(e.code == 413, f"oversized body got {e.code}")
        except (ConnectionError, urllib.error.URLError):
            pass  # the server may close the connection instead of reading 200 kB

        for garbage in [b"\x00\x01\x02garbage\r\n\r\n", b"GET /" + b"a" * 20000 + b" HTTP/1.1\r\n\r\n",
                        b"POST /healthz HTTP/1.1\r\nContent-Length: 99999999999\r\n\r\n"]:
            s = socket.create_connection(("127.0.0.1", d.port), timeout=10)
            s.sendall(garbage)
            try:
                s.recv(1024)
            except OSError:
                pass
            s.close()
        with urllib.request.urlopen(d.url("/healthz"), timeout=10) as r:
            check(r.status == 200, "healthz after garbage")
        with urllib.request.urlopen(d.url("/nope"), timeout=10) as r:
            check(False, "404 expected")
    except urllib.error.HTTPError as e:
        check(e.code == 404, f"unknown path got {e.code}")
    finally:
        check(d.alive(), "the daemon survived")
        d.cleanup()


if __name__ == "__main__":
    run([test_frames_and_tokens, test_hello_refusals, test_origin_and_http])
