"""A small Chrome DevTools Protocol client for the browser tests: starts Debian's headless
Chromium on a fresh profile, talks to it over its browser websocket (Debian's python3-websockets,
no Node, no downloaded browser), and gives each tab its own browser context so two people in one
test never share cookies or sessionStorage.

Waiting happens in the page: a promise that re-checks a condition on every DOM mutation and
gives up after a timeout, so a test waits for what it expects to see, never for a fixed time.
Clicks are real mouse events at the element's centre (after a hit test, so a covered or moved
element fails loudly instead of being clicked through script), and text goes in through
Input.insertText as if typed.

Each tab records exceptions, console errors and Log entries of level error (where Chromium
reports Content-Security-Policy violations and failed requests), so a test can assert the page
ran clean. Chromium and its profile are removed at the end, on failure too, at interpreter exit
and on SIGTERM (ctest's timeout); PR_SET_PDEATHSIG covers the test being killed outright.
"""

import asyncio
import atexit
import base64
import ctypes
import itertools
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import websockets

CHROMIUM = os.environ.get("PB_CHROMIUM", "/usr/bin/chromium")
DEFAULT_TIMEOUT = float(os.environ.get("PB_BROWSER_TIMEOUT", "30"))

# Browsers still running, for the exit and SIGTERM handlers.
_live = set()


class BrowserError(Exception):
    """Chromium could not be started, or a protocol command failed."""


class PageError(AssertionError):
    """A wait timed out, an element could not be clicked, or script in the page threw."""


def _cleanup_all():
    for browser in list(_live):
        browser.kill()


def _on_sigterm(signo, frame):
    # Turn ctest's timeout kill into an exit, so atexit removes Chromium and its profile.
    sys.exit(128 + signo)


atexit.register(_cleanup_all)


def _die_with_parent():
    """Runs in the child before exec: Chromium gets SIGKILL if the test process dies."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


# The wait, run in the page. The condition is an expression; an exception from it counts as
# "not yet" (an element not there yet), and the last one is reported if time runs out. A
# MutationObserver on the whole document re-checks after every change, so the promise settles
# in the same task as the change that satisfied it.
_WAIT_JS = """
new Promise((resolve, reject) => {
  const check = () => (%(condition)s);
  let observer = null, timer = null, last = "";
  const finish = (ok, value) => {
    if (observer) observer.disconnect();
    clearTimeout(timer);
    if (ok) resolve(value); else reject(value);
  };
  const test = () => {
    let v;
    try { v = check(); } catch (e) { last = " (last error: " + e + ")"; return false; }
    if (!v) return false;
    finish(true, v instanceof Node ? true : v);
    return true;
  };
  if (test()) return;
  observer = new MutationObserver(test);
  observer.observe(document, {subtree: true, childList: true, attributes: true,
                              characterData: true});
  timer = setTimeout(() => finish(false, new Error("not within %(ms)d ms" + last)), %(ms)d);
})
"""

# Scrolls the element into view and says where its centre is and whether a click there
# would reach it (or something in it) rather than whatever covers it.
_AIM_JS = """
(() => {
  const e = document.querySelector(%(selector)s);
  if (!e) return {found: false};
  e.scrollIntoView({block: "center", inline: "center"});
  const r = e.getBoundingClientRect();
  const x = r.left + r.width / 2, y = r.top + r.height / 2;
  const hit = document.elementFromPoint(x, y);
  return {found: true, x: x, y: y, hit: !!hit && (hit === e || e.contains(hit)),
          covered_by: hit ? hit.outerHTML.slice(0, 160) : null};
})()
"""

_CLICKABLE_JS = """
(() => {
  const e = document.querySelector(%(selector)s);
  if (!e || e.disabled) return false;
  const r = e.getBoundingClientRect();
  return r.width > 0 && r.height > 0 && getComputedStyle(e).visibility !== "hidden";
})()
"""


class Page:
    """One tab in its own browser context, attached with a flattened session."""

    def __init__(self, browser, context_id, target_id, session_id, name):
        self.browser = browser
        self.context_id = context_id
        self.target_id = target_id
        self.session_id = session_id
        self.name = name
        self.errors = []  # dicts: kind, text, url, at (monotonic)
        self.console = []  # every console line, for diagnostics
        self.gone = False
        self._error_waiters = []
        self._loads = {}  # loaderId -> future
        self._loaded = set()  # loaderIds whose load came before navigate answered

    async def send(self, method, params=None, timeout=None):
        return await self.browser.send(method, params, self.session_id, timeout)

    async def _enable(self):
        await self.send("Page.enable")
        await self.send("Page.setLifecycleEventsEnabled", {"enabled": True})
        await self.send("Runtime.enable")
        await self.send("Log.enable")

    def _error(self, kind, text, url=""):
        self.errors.append({"kind": kind, "text": text, "url": url, "at": time.monotonic()})
        for waiter in self._error_waiters:
            waiter.set()

    def _event(self, method, params):
        if method == "Page.lifecycleEvent" and params.get("name") == "load":
            loader = params.get("loaderId")
            fut = self._loads.pop(loader, None)
            if fut and not fut.done():
                fut.set_result(True)
            else:
                self._loaded.add(loader)
        elif method == "Runtime.exceptionThrown":
            d = params.get("exceptionDetails", {})
            text = (d.get("exception") or {}).get("description") or d.get("text", "")
            self._error("exception", text, d.get("url", ""))
        elif method == "Runtime.consoleAPICalled":
            text = " ".join(str(a.get("value", a.get("description", "")))
                            for a in params.get("args", []))
            self.console.append(f"console.{params.get('type')}: {text}")
            if params.get("type") in ("error", "assert"):
                self._error("console." + params["type"], text)
        elif method == "Log.entryAdded":
            e = params.get("entry", {})
            self.console.append(f"log.{e.get('level')} [{e.get('source')}]: {e.get('text')}")
            if e.get("level") == "error":
                self._error("log." + str(e.get("source")), e.get("text", ""), e.get("url", ""))
        elif method in ("Inspector.targetCrashed", "Target.detachedFromTarget"):
            if method == "Inspector.targetCrashed":
                self._error("crash", "the tab crashed")
            self.gone = True
            for fut in self._loads.values():
                if not fut.done():
                    fut.set_exception(PageError(f"{self.name}: tab gone ({method})"))

    async def wait_error(self, predicate, timeout=None):
        """The first recorded error for which predicate(error) holds, waiting for it to be
        reported if need be (errors come as events, apart from any page state)."""
        timeout = timeout or self.browser.timeout
        deadline = time.monotonic() + timeout
        while True:
            for e in self.errors:
                if predicate(e):
                    return e
            left = deadline - time.monotonic()
            if left <= 0:
                raise PageError(f"{self.name}: no such error within {timeout} s; "
                                f"got {self.error_lines()}")
            waiter = asyncio.Event()
            self._error_waiters.append(waiter)
            try:
                await asyncio.wait_for(waiter.wait(), left)
            except asyncio.TimeoutError:
                pass
            finally:
                self._error_waiters.remove(waiter)

    def error_lines(self, since=None):
        return [f"{e['kind']}: {e['text']} {e['url']}".strip() for e in self.errors
                if since is None or e["at"] >= since]

    async def goto(self, url, timeout=None):
        """Navigates and waits for the load event of that navigation."""
        timeout = timeout or self.browser.timeout
        r = await self.send("Page.navigate", {"url": url}, timeout)
        if r.get("errorText"):
            raise PageError(f"{self.name}: navigating to {url}: {r['errorText']}")
        loader = r.get("loaderId")
        if loader in self._loaded:
            self._loaded.discard(loader)
            return
        fut = asyncio.get_running_loop().create_future()
        self._loads[loader] = fut
        try:
            await asyncio.wait_for(fut, timeout)
        except asyncio.TimeoutError:
            raise PageError(f"{self.name}: {url} did not load within {timeout} s") from None
        finally:
            self._loads.pop(loader, None)

    async def evaluate(self, expression, timeout=None):
        """The value of an expression (a promise is awaited), as JSON."""
        r = await self.send("Runtime.evaluate",
                            {"expression": expression, "awaitPromise": True,
                             "returnByValue": True}, timeout)
        if "exceptionDetails" in r:
            d = r["exceptionDetails"]
            text = (d.get("exception") or {}).get("description") or d.get("text", "")
            raise PageError(f"{self.name}: script threw: {text}")
        return r.get("result", {}).get("value")

    async def snapshot(self):
        """A short description of the page for failure messages."""
        try:
            return await self.evaluate(
                "JSON.stringify({url: location.href, body: document.body && "
                "Object.assign({}, document.body.dataset), text: document.body ? "
                "document.body.innerText.slice(0, 1200) : null})", timeout=10)
        except Exception as e:  # noqa: BLE001 - best effort, for a message only
            return f"(no snapshot: {e})"

    async def wait_until(self, condition, what=None, timeout=None):
        """Waits in the page until a JS expression is truthy; returns its value (an element
        becomes true). The expression should depend on the DOM: it is re-checked on
        mutations."""
        timeout = timeout or self.browser.timeout
        deadline = time.monotonic() + timeout
        while True:
            left = max(0.1, deadline - time.monotonic())
            expr = _WAIT_JS % {"condition": condition, "ms": int(left * 1000)}
            try:
                return await self.evaluate(expr, timeout=left + 15)
            except PageError as e:
                # A navigation in the middle destroys the context the promise lived in.
                gone = "context was destroyed" in str(e) or "navigated or closed" in str(e)
                if gone and time.monotonic() < deadline:
                    continue
                raise PageError(f"{self.name}: waiting for {what or condition}: {e}; "
                                f"page: {await self.snapshot()}") from None
            except asyncio.TimeoutError:
                raise PageError(f"{self.name}: waiting for {what or condition}: no answer "
                                f"from the tab; page: {await self.snapshot()}") from None

    async def wait_for(self, selector, what=None, timeout=None):
        return await self.wait_until(f"document.querySelector({json.dumps(selector)})",
                                     what or f"an element {selector}", timeout)

    async def click(self, selector, timeout=None):
        """Waits until the element is there, enabled and visible, then clicks its centre
        with the mouse."""
        timeout = timeout or self.browser.timeout
        deadline = time.monotonic() + timeout
        s = json.dumps(selector)
        aim = None
        for _ in range(50):
            await self.wait_until(_CLICKABLE_JS % {"selector": s},
                                  f"{selector} to be clickable",
                                  max(0.1, deadline - time.monotonic()))
            aim = await self.evaluate(_AIM_JS % {"selector": s})
            if aim.get("found") and aim.get("hit"):
                break
            if time.monotonic() >= deadline:
                break
        if not (aim and aim.get("hit")):
            raise PageError(f"{self.name}: cannot click {selector}: {aim}")
        x, y = aim["x"], aim["y"]
        await self.send("Input.dispatchMouseEvent",
                        {"type": "mouseMoved", "x": x, "y": y, "button": "none"})
        for kind, buttons in (("mousePressed", 1), ("mouseReleased", 0)):
            await self.send("Input.dispatchMouseEvent",
                            {"type": kind, "x": x, "y": y, "button": "left",
                             "buttons": buttons, "clickCount": 1})

    async def type(self, selector, text, timeout=None):
        """Clicks into the element and inserts the text as typed input."""
        await self.click(selector, timeout)
        focused = await self.evaluate(
            f"document.activeElement === document.querySelector({json.dumps(selector)})")
        if not focused:
            raise PageError(f"{self.name}: clicking {selector} did not focus it")
        await self.send("Input.insertText", {"text": text})

    async def screenshot(self, path):
        r = await self.send("Page.captureScreenshot", {"format": "png"})
        data = base64.b64decode(r["data"])
        if not data.startswith(b"\x89PNG\r\n\x1a\n"):
            raise BrowserError(f"{self.name}: the screenshot is not a PNG")
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        with open(path, "wb") as f:
            f.write(data)
        return path


class Browser:
    """One headless Chromium with its own profile; use as `async with Browser() as b`."""

    def __init__(self, width=1280, height=860, timeout=DEFAULT_TIMEOUT):
        self.width = width
        self.height = height
        self.timeout = timeout
        self.root = None
        self.proc = None
        self.ws = None
        self.reader = None
        self.pages = {}
        self._pending = {}
        self._ids = itertools.count(1)
        self._closed = None

    async def __aenter__(self):
        await self.start()
        return self

    async def __aexit__(self, *exc):
        await self.close()

    async def start(self):
        if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
            signal.signal(signal.SIGTERM, _on_sigterm)
        self.root = tempfile.mkdtemp(prefix="pb-chromium-")
        profile = os.path.join(self.root, "profile")
        os.mkdir(profile)
        self.log_path = os.path.join(self.root, "chromium.log")
        cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
               "--no-first-run", "--disable-background-networking", "--disable-component-update",
               "--disable-sync", "--remote-debugging-port=0", f"--user-data-dir={profile}",
               f"--window-size={self.width},{self.height}", "about:blank"]
        # Debian's build runs a crash handler that keeps its database under XDG_CONFIG_HOME:
        # point that (and the caches) into our directory, so nothing lands in $HOME.
        env = dict(os.environ, XDG_CONFIG_HOME=os.path.join(self.root, "config"),
                   XDG_CACHE_HOME=os.path.join(self.root, "cache"))
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=subprocess.STDOUT, start_new_session=True,
                                         preexec_fn=_die_with_parent, env=env)
        _live.add(self)
        try:
            port, path = await self._devtools_address(os.path.join(profile, "DevToolsActivePort"))
            self.ws = await websockets.connect(f"ws://127.0.0.1:{port}{path}", max_size=None,
                                               ping_interval=None, compression=None,
                                               open_timeout=self.timeout)
            self.reader = asyncio.create_task(self._read())
        except BaseException:
            self.kill()
            raise
        return self

    def _log_tail(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return "".join(f.readlines()[-15:])
        except OSError:
            return ""

    async def _devtools_address(self, path):
        # Chromium writes the port it picked (line 1) and the browser target's path (line 2)
        # once it listens. There is nothing to be notified by, so look for it with a deadline.
        deadline = time.monotonic() + max(60, self.timeout)
        while True:
            try:
                with open(path) as f:
                    lines = f.read().split("\n")
                if len(lines) >= 2 and lines[0].isdigit() and lines[1].startswith("/devtools/"):
                    return int(lines[0]), lines[1]
            except FileNotFoundError:
                pass
            if self.proc.poll() is not None:
                raise BrowserError(f"{CHROMIUM} exited with {self.proc.returncode}:\n"
                                   f"{self._log_tail()}")
            if time.monotonic() > deadline:
                raise BrowserError(f"no DevToolsActivePort from {CHROMIUM}:\n{self._log_tail()}")
            await asyncio.sleep(0.05)

    async def _read(self):
        try:
            async for raw in self.ws:
                msg = json.loads(raw)
                if "id" in msg:
                    fut = self._pending.pop(msg["id"], None)
                    if fut is None or fut.done():
                        continue
                    if "error" in msg:
                        fut.set_exception(BrowserError(f"{fut.method}: {msg['error']}"))
                    else:
                        fut.set_result(msg.get("result", {}))
                    continue
                # A tab's own events carry its session; its detaching comes on the browser's.
                params = msg.get("params", {})
                page = self.pages.get(msg.get("sessionId") or params.get("sessionId"))
                if page is not None:
                    page._event(msg.get("method"), params)
        except websockets.ConnectionClosed as e:
            self._closed = f"the DevTools connection closed: {e}"
        finally:
            self._closed = self._closed or "the DevTools connection closed"
            for fut in self._pending.values():
                if not fut.done():
                    fut.set_exception(BrowserError(self._closed))
            self._pending.clear()

    async def send(self, method, params=None, session_id=None, timeout=None):
        if self._closed:
            raise BrowserError(f"{method}: {self._closed}")
        msg = {"id": next(self._ids), "method": method, "params": params or {}}
        if session_id:
            msg["sessionId"] = session_id
        fut = asyncio.get_running_loop().create_future()
        fut.method = method
        self._pending[msg["id"]] = fut
        await self.ws.send(json.dumps(msg))
        try:
            return await asyncio.wait_for(fut, (timeout or self.timeout) + 15)
        finally:
            self._pending.pop(msg["id"], None)

    async def new_page(self, name="tab"):
        """A blank tab in a new browser context (its own cookies and storage)."""
        ctx = (await self.send("Target.createBrowserContext",
                               {"disposeOnDetach": True}))["browserContextId"]
        target = (await self.send("Target.createTarget",
                                  {"url": "about:blank", "browserContextId": ctx}))["targetId"]
        session = (await self.send("Target.attachToTarget",
                                   {"targetId": target, "flatten": True}))["sessionId"]
        page = Page(self, ctx, target, session, name)
        self.pages[session] = page
        await page._enable()
        return page

    async def close(self):
        """Asks Chromium to quit, then makes sure it and its profile are gone."""
        if self.ws is not None and not self._closed:
            try:
                await asyncio.wait_for(self.send("Browser.close"), 10)
            except Exception:  # noqa: BLE001 - killed below anyway
                pass
        if self.proc is not None:
            try:
                await asyncio.get_running_loop().run_in_executor(None, self.proc.wait, 10)
            except subprocess.TimeoutExpired:
                pass
        if self.ws is not None:
            await self.ws.close()
        if self.reader is not None:
            self.reader.cancel()
            try:
                await self.reader
            except (asyncio.CancelledError, Exception):  # noqa: BLE001
                pass
        self.kill()

    def _stragglers(self):
        """Our processes outside the process group: the crash handler detaches into its own
        session. They are found by our temporary directory in their command line."""
        found = []
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    if self.root.encode() in f.read():
                        found.append(int(pid))
            except OSError:
                pass
        return found

    def _end_stragglers(self):
        # They leave by themselves once the browser is gone; give them a moment, then kill.
        deadline = time.monotonic() + 5
        while (left := self._stragglers()) and time.monotonic() < deadline:
            time.sleep(0.05)
        for pid in left:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def kill(self):
        """Synchronous last resort: kills Chromium's process group, removes the profile."""
        if self.proc is not None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)  # its own session: the renderers too
            except (ProcessLookupError, PermissionError):
                pass
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        if self.root is not None:
            self._end_stragglers()
            for _ in range(3):
                shutil.rmtree(self.root, ignore_errors=True)
                if not os.path.exists(self.root):
                    break
            self.root = None
        _live.discard(self)
