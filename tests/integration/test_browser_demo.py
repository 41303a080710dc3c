"""The demo path in a real browser (headless Chromium driven over the DevTools protocol, see
cdp.py) against the real daemon: alice picks herself, answers 2 with the mouse, types a comment
full of markup and mentions; mia, in another browser context, opens the Support leads room,
sees the alert with the comment as literal text and acknowledges it. After a daemon restart
both still see what happened. A personal link signs alice in and leaves the address bar
without its token; without a link (demo off) nobody gets a picker. Every tab must run without
an exception, a console error or a Content-Security-Policy violation.

Screenshots of the tabs go to $PB_ARTIFACT_DIR, else to test-artifacts/ beside pulsebotd in
the build tree, else to a temporary directory; their paths are printed."""

import json
import os
import re
import subprocess
import tempfile
import time
import urllib.parse

from cdp import Browser
from pbtest import PULSEBOTCTL, PULSEBOTD, Daemon, check, run

COMMENT = '<img src=x onerror="window.pwned=1"> @everyone & <b>bold</b>'
BOB = "Bob <b>Berg</b> @everyone"

# A message element as plain data, for assertions in Python.
INFO_JS = """(m) => {
  const text = (sel, none) => { const n = m.querySelector(sel); return n ? n.textContent : none; };
  return {
    ref: m.dataset.ref, kind: m.dataset.kind, closed: m.dataset.closed, from: m.dataset.from,
    text: text(".text", null), note: text(".note", ""),
    fields: Object.fromEntries([...m.querySelectorAll(".fields tr")].map(
      (tr) => [tr.querySelector("th").textContent, tr.querySelector("td").textContent])),
    buttons: [...m.querySelectorAll("button.choice")].map((b) => b.textContent),
    enabled: [...m.querySelectorAll("button.choice")].filter((b) => !b.disabled).length,
    low: text(".scale-labels .low", null), high: text(".scale-labels .high", null),
    all: m.textContent
  };
}"""


def messages_js(pred="true"):
    """An expression: the info of the first message element for which pred(m, i) holds,
    i being its info."""
    return (f"(() => {{ const info = {INFO_JS}; "
            f"for (const m of document.querySelectorAll('[data-testid=message]')) {{ "
            f"const i = info(m); if ({pred}) return i; }} return null; }})()")


def with_text(text, extra="true"):
    return messages_js(f"i.text === {json.dumps(text)} && ({extra})")


def artifact_dir():
    d = os.environ.get("PB_ARTIFACT_DIR")
    if not d and os.environ.get("PULSEBOTD"):
        d = os.path.join(os.path.dirname(os.path.abspath(PULSEBOTD)), "test-artifacts")
    if not d:
        d = tempfile.mkdtemp(prefix="pb-browser-artifacts-")
    os.makedirs(d, exist_ok=True)
    return d


async def screenshots(pages, label, best_effort=False):
    out = artifact_dir()
    for page in pages:
        try:
            path = await page.screenshot(os.path.join(out, f"browser-{label}-{page.name}.png"))
            print(f"screenshot: {path}", flush=True)
        except Exception as e:  # noqa: BLE001 - after a failure, keep its message first
            if not best_effort:
                raise
            print(f"no screenshot of {page.name}: {e}", flush=True)


def no_errors(pages, allowed=None):
    """No exception, console error or CSP violation in any tab, but for `allowed(error)`."""
    bad = []
    for page in pages:
        bad += [f"{page.name}: {line}" for e, line in zip(page.errors, page.error_lines())
                if not (allowed and allowed(e))]
    check(not bad, "errors in the page:\n  " + "\n  ".join(bad))


def stop_cleanly(d):
    """SIGTERM with the tabs still connected, as when someone stops the demo with Ctrl-C."""
    rc = d.stop()
    if rc != 0:
        tail = "\n    ".join(d.logs().splitlines()[-12:])
        check(False, f"pulsebotd exited with {rc} on SIGTERM with tabs open; its log ends:\n"
                     f"    {tail}")


async def sign_in_demo(page, d, user, name):
    """Opens the page and picks `user` in the demo picker (the picker may be skipped if this
    tab already picked someone on this origin)."""
    await page.goto(d.url())
    state = await page.wait_until(
        "['picker', 'ready'].includes(document.body.dataset.state) && document.body.dataset.state",
        "the picker or the chat")
    if state == "picker":
        await page.click(f'[data-testid="person-{user}"]')
    await page.wait_until(
        f"document.body.dataset.state === 'ready' && "
        f"document.querySelector('[data-testid=me]').textContent === {json.dumps(name)} && "
        f"document.querySelector('[data-testid=connection-state]').dataset.state === 'open'",
        f"{user} signed in")


async def open_conversation(page, conv, title):
    await page.click(f'[data-testid="conv-{conv}"]')
    await page.wait_until(
        f"document.querySelector('[data-testid=\"conv-{conv}\"]')"
        f".getAttribute('aria-current') === 'true' && "
        f"document.querySelector('[data-testid=conversation-title]').textContent === "
        f"{json.dumps(title)}", f"{conv} open")


async def no_markup_from_people(page):
    """Nothing people typed became an element, and no handler in it ran."""
    found = await page.evaluate(
        "({img: document.querySelectorAll('img').length, b: document.querySelectorAll('b').length,"
        " inline: document.querySelectorAll('script:not([src])').length,"
        " pwned: typeof window.pwned})")
    check(found == {"img": 0, "b": 0, "inline": 0, "pwned": "undefined"},
          f"{page.name}: markup from a person's text became elements: {found}")


async def test_demo_path_in_the_browser():
    started = time.monotonic()
    d = Daemon(first="1s").start()
    try:
        async with Browser() as b:
            alice = await b.new_page("alice")
            mia = await b.new_page("mia")
            pages = [alice, mia]
            try:
                await demo_path(d, alice, mia)
            except Exception:
                await screenshots(pages, "failed", best_effort=True)
                raise
            await screenshots(pages, "demo")
        stop_cleanly(d)
    finally:
        d.cleanup()
    print(f"demo path in the browser took {time.monotonic() - started:.1f} s", flush=True)


async def demo_path(d, alice, mia):
    # The picker lists the roster; a name with markup in it is shown as text.
    await alice.goto(d.url())
    await alice.wait_for("body[data-state=picker] [data-testid=person-mia]", "the picker")
    names = await alice.evaluate(
        "Object.fromEntries([...document.querySelectorAll('[data-testid^=person-]')]"
        ".map((b) => [b.dataset.testid, b.textContent]))")
    check(names == {"person-alice": "Alice Andersen", "person-bob": BOB,
                    "person-mia": "Mia Lead"}, f"the picker: {names}")
    await no_markup_from_people(alice)
    await sign_in_demo(alice, d, "alice", "Alice Andersen")

    # The schedule asks alice; she answers 2 with the mouse.
    q = await alice.wait_until(with_text("How was your week?", "i.closed === 'false'"),
                               "the question")
    check(q["kind"] == "question" and q["buttons"] == ["1", "2", "3", "4", "5"]
          and q["enabled"] == 5, f"the scale: {q}")
    check(q["low"] == "Rough" and q["high"] == "Great", f"the scale's labels: {q}")
    check(await alice.evaluate("document.querySelector('[data-testid=reply-input]').disabled"),
          "the reply box is closed while no question asks for text")
    await alice.click(f'[data-ref="{q["ref"]}"] [data-testid="button-2"]')
    answered = await alice.wait_until(
        messages_js(f"i.ref === {json.dumps(q['ref'])} && i.closed === 'true'"),
        "the question closed")
    check("2" in answered["note"] and answered["enabled"] == 0, f"the answer shown: {answered}")
    follow = await alice.wait_until(with_text("What made it hard?", "i.closed === 'false'"),
                                    "the follow-up")
    check(follow["kind"] == "question" and not follow["buttons"], f"the follow-up: {follow}")

    # The comment is typed into the reply box and sent with the Send button.
    await alice.wait_until("!document.querySelector('[data-testid=reply-input]').disabled",
                           "the reply box open")
    await alice.type("[data-testid=reply-input]", COMMENT)
    typed = await alice.evaluate("document.querySelector('[data-testid=reply-input]').value")
    check(typed == COMMENT, f"the reply box holds {typed!r}")
    await alice.click("[data-testid=reply-send]")
    thanks = await alice.wait_until(with_text("Thank you!"), "the thank-you")
    check(thanks["from"] == "bot", f"the thank-you: {thanks}")
    await alice.wait_until(
        with_text("What made it hard?", "i.closed === 'true'") + " && "
        "document.querySelector('[data-testid=reply-input]').value === '' && "
        "document.querySelector('[data-testid=reply-input]').disabled",
        "the follow-up closed and the reply box emptied and closed")
    await no_markup_from_people(alice)

    # mia, in her own browser context, finds the alert in the leads' room.
    await sign_in_demo(mia, d, "mia", "Mia Lead")
    convs = await mia.evaluate("[...document.querySelectorAll('[data-testid^=conv-]')]"
                               ".map((b) => b.dataset.testid)")
    check(convs == ["conv-dm:mia", "conv-room:support-leads"], f"mia's conversations: {convs}")
    await open_conversation(mia, "room:support-leads", "Support leads")
    alert = await mia.wait_until(messages_js("i.kind === 'alert'"), "the alert")
    check(alert["text"] == "How was your week?", f"the alert's question: {alert}")
    check(alert["fields"].get("Score", "").startswith("2"), f"the alert's score: {alert}")
    check(alert["fields"].get("Comment") == COMMENT, f"the comment as given: {alert}")
    check(alert["fields"].get("From", "").startswith("Alice Andersen"), f"about whom: {alert}")
    check(COMMENT in alert["all"], "the comment is in the alert's text")
    check(alert["buttons"] == ["Acknowledge", "Resolve"] and alert["enabled"] == 2,
          f"the alert's actions: {alert}")
    await no_markup_from_people(mia)
    count = await mia.evaluate("document.querySelectorAll('[data-kind=alert]').length")
    check(count == 1, f"one alert in the room, found {count}")

    await mia.click(f'[data-ref="{alert["ref"]}"] [data-testid="button-Acknowledge"]')
    acked = await mia.wait_until(
        messages_js(f"i.ref === {json.dumps(alert['ref'])} && /Acknowledged by/.test(i.note)"),
        "the alert acknowledged")
    check(re.search(r"Acknowledged by Mia Lead\b", acked["note"]), f"by mia: {acked['note']}")
    check(acked["buttons"] == ["Resolve"], f"only Resolve is left: {acked}")
    check(acked["fields"].get("Comment") == COMMENT, f"the comment kept: {acked}")
    no_errors([alice, mia])

    # A restart: both tabs notice, and after it both see what happened.
    old_port = d.port
    stop_cleanly(d)
    stopped = time.monotonic()
    for page in (alice, mia):
        await page.wait_until(
            "document.body.dataset.state === 'offline' && document.querySelector("
            "'[data-testid=connection-state]').dataset.state === 'closed'",
            "the tab to show it is offline")
    d.start()
    # The tabs may have tried the old port while it was closed; that is all they may log.
    refused = re.compile(
        rf"WebSocket connection to 'ws://127\.0\.0\.1:{old_port}/ws' failed")

    def reconnect_attempt(e):
        return e["at"] >= stopped and e["kind"] == "log.network" and refused.search(e["text"])

    # The test config listens on port 0, so the page moved: open it again.
    await sign_in_demo(mia, d, "mia", "Mia Lead")
    await open_conversation(mia, "room:support-leads", "Support leads")
    kept = await mia.wait_until(messages_js("i.kind === 'alert'"), "the alert after a restart")
    check("Acknowledged by Mia Lead" in kept["note"] and kept["buttons"] == ["Resolve"],
          f"the alert after a restart: {kept}")
    check(kept["fields"].get("Comment") == COMMENT, f"the comment after a restart: {kept}")
    check(await mia.evaluate("document.querySelectorAll('[data-kind=alert]').length") == 1,
          "still one alert")

    await sign_in_demo(alice, d, "alice", "Alice Andersen")
    await open_conversation(alice, "dm:alice", "Direct messages")
    week = await alice.wait_until(with_text("How was your week?"), "the answered question")
    check(week["closed"] == "true" and "2" in week["note"] and week["enabled"] == 0,
          f"the answered question after a restart: {week}")
    hard = await alice.wait_until(with_text("What made it hard?"), "the follow-up")
    check(hard["closed"] == "true", f"the follow-up after a restart: {hard}")
    await alice.wait_until(with_text("Thank you!"), "the thank-you after a restart")
    check(await alice.evaluate("document.querySelector('[data-testid=reply-input]').disabled"),
          "no question is open after a restart")
    await no_markup_from_people(alice)
    await no_markup_from_people(mia)
    no_errors([alice, mia], allowed=reconnect_attempt)


async def test_personal_link():
    d = Daemon(demo=False, first="1s").start()
    try:
        link = subprocess.run([PULSEBOTCTL, "-c", d.config_path, "link", "alice"],
                              capture_output=True, text=True, check=True, timeout=60).stdout.strip()
        u = urllib.parse.urlsplit(link)
        token = urllib.parse.parse_qs(u.query).get("t", [""])[0]
        check(u.scheme == "http" and u.netloc == "127.0.0.1" and u.path == "/" and token,
              f"the link names the public URL with a token: {link}")
        # The link's host is the configured public_url; the test daemon listens elsewhere.
        url = d.origin() + u.path + "?" + u.query

        async with Browser() as b:
            alice = await b.new_page("alice-link")
            stranger = await b.new_page("no-link")
            forged = await b.new_page("forged-link")
            pages = [alice, stranger, forged]
            try:
                await alice.goto(url)
                await alice.wait_until(
                    "document.body.dataset.state === 'ready' && "
                    "document.querySelector('[data-testid=me]').textContent === 'Alice Andersen'",
                    "alice signed in by her link")
                where = await alice.evaluate("({search: location.search, href: location.href})")
                check("t=" not in where["search"] and where["href"] == d.url(),
                      f"the token is still in the address bar: {where}")
                check(await alice.evaluate(
                    "document.querySelector('[data-testid=switch-person]').hidden && "
                    "document.querySelector('[data-testid=picker]').hidden"),
                    "a link sign-in offers no switching person")
                await alice.wait_for('[data-testid="conv-dm:alice"]', "alice's messages")
                await alice.wait_until(with_text("How was your week?"), "alice's question")

                # The same tab opened again without the token stays signed in.
                await alice.goto(d.url())
                await alice.wait_until(
                    "document.body.dataset.state === 'ready' && "
                    "document.querySelector('[data-testid=me]').textContent === 'Alice Andersen'",
                    "alice still signed in after a reload")

                # No link, demo off: no picker, no roster, a reason.
                await stranger.goto(d.url())
                state = await stranger.wait_until(
                    "!['loading', 'offline'].includes(document.body.dataset.state) && "
                    "document.body.dataset.state", "the page to settle")
                check(state == "refused", f"without a link the page is {state!r}")
                seen = await stranger.evaluate(
                    "({picker: !document.querySelector('[data-testid=picker]').hidden,"
                    " people: document.querySelectorAll('[data-testid^=person-]').length,"
                    " chat: !document.getElementById('chat').hidden,"
                    " notice: document.querySelector('[data-testid=notice-text]').textContent})")
                check(seen == {"picker": False, "people": 0, "chat": False,
                               "notice": "Sign in with your personal link."},
                      f"without a link: {seen}")

                # A link with a changed token is refused, and forgotten.
                bad = token[:12] + ("A" if token[12] != "A" else "B") + token[13:]
                await forged.goto(d.origin() + "/?t=" + urllib.parse.quote(bad, safe=""))
                await forged.wait_until("document.body.dataset.state === 'refused'",
                                        "the forged link refused")
                seen = await forged.evaluate(
                    "({search: location.search, stored: sessionStorage.getItem('pulsebot.token'),"
                    " notice: document.querySelector('[data-testid=notice-text]').textContent,"
                    " chat: !document.getElementById('chat').hidden})")
                check(seen == {"search": "", "stored": None, "notice": "This link is not valid.",
                               "chat": False}, f"the forged link: {seen}")
                no_errors(pages)
            except Exception:
                await screenshots(pages, "failed", best_effort=True)
                raise
            await screenshots(pages, "link")
        stop_cleanly(d)
    finally:
        d.cleanup()


async def test_errors_are_caught():
    """The error collection the other tests rely on sees a CSP violation, and the page's policy
    blocks inline script: were either not so, "no errors" above would prove nothing."""
    d = Daemon(first="1h").start()
    try:
        async with Browser() as b:
            page = await b.new_page("csp")
            await page.goto(d.url())
            await page.wait_for("body[data-state=picker]", "the picker")
            check(page.errors == [], f"errors before the probe: {page.error_lines()}")
            directive = await page.evaluate("""new Promise((resolve) => {
                document.addEventListener('securitypolicyviolation',
                                          (e) => resolve(e.effectiveDirective), {once: true});
                const s = document.createElement('script');
                s.textContent = 'window.inlineRan = 1';
                document.body.appendChild(s);
              })""")
            check(directive == "script-src-elem", f"the violated directive: {directive}")
            check(await page.evaluate("typeof window.inlineRan") == "undefined",
                  "an inline script ran despite the Content-Security-Policy")
            line = await page.wait_error(lambda e: "Content Security Policy" in e["text"])
            check(line["kind"] == "log.security", f"the violation was reported as {line}")
            await page.evaluate("setTimeout(() => { throw new Error('probe'); }, 0); 1")
            line = await page.wait_error(lambda e: "probe" in e["text"])
            check(line["kind"] == "exception", f"the exception was reported as {line}")
        stop_cleanly(d)
    finally:
        d.cleanup()


if __name__ == "__main__":
    run([test_errors_are_caught, test_demo_path_in_the_browser, test_personal_link])
