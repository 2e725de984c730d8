"""A small client of the Chrome DevTools Protocol for the browser checks (Debian's headless Chromium).

:func:`chromium_page` starts Chromium with a DevTools port and yields a :class:`Page`: ``send``
a protocol command, ``evaluate`` JavaScript, ``wait_for`` a JavaScript condition, ``press`` a
key, ``screenshot``; ``requests`` lists every URL the page asked for (Network domain), so a
check can assert that nothing left the machine.  Used by tests/test_playground_browser.py and
tools/bookcheck.py (the book's static explorer).
"""
from __future__ import annotations

import base64
import contextlib
import json
import re
import shutil
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-default-apps", "--disable-extensions", "--hide-scrollbars", "--window-size=1400,1000"]
#: URLs a page may ask for without leaving the machine.
LOCAL = re.compile(r"^(https?://(127\.0\.0\.1|localhost)(:\d+)?/|wss?://(127\.0\.0\.1|localhost)(:\d+)?/|data:|blob:|about:|chrome:|chrome-error:|devtools:)")


def find_chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    raise RuntimeError("Chromium not found (Debian: apt-get install chromium)")


class Page:
    """One browser tab over a DevTools websocket."""

    def __init__(self, ws):
        self._ws, self._id = ws, 0
        self.requests: list[str] = []
        self.console: list[str] = []

    def send(self, method: str, params: dict | None = None, timeout_s: float = 60.0) -> dict:
        self._id += 1
        ident = self._id
        self._ws.send(json.dumps({"id": ident, "method": method, "params": params or {}}))
        deadline = time.monotonic() + timeout_s
        while True:
            message = json.loads(self._ws.recv(timeout=max(deadline - time.monotonic(), 0.01)))
            if message.get("id") == ident:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})
            self._event(message)

    def _event(self, message: dict) -> None:
        method = message.get("method")
        if method == "Network.requestWillBeSent":
            self.requests.append(message["params"]["request"]["url"])
        elif method == "Runtime.consoleAPICalled":
            self.console.append(" ".join(str(a.get("value", "")) for a in message["params"].get("args", [])))

    def pump(self, seconds: float) -> None:
        """Read events for ``seconds`` (requests made meanwhile are recorded)."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                self._event(json.loads(self._ws.recv(timeout=max(deadline - time.monotonic(), 0.01))))
            except TimeoutError:
                return

    def evaluate(self, expression: str, await_promise: bool = False):
        result = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True,
                                                "awaitPromise": await_promise})
        if "exceptionDetails" in result:
            raise RuntimeError(f"JavaScript failed: {result['exceptionDetails'].get('text')} in {expression[:80]}")
        return result.get("result", {}).get("value")

    def wait_for(self, expression: str, timeout_s: float = 60.0, what: str = "", poll_s: float = 0.2):
        """Poll ``expression`` every ``poll_s`` until it is truthy; returns its value."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            value = self.evaluate(expression)
            if value:
                return value
            self.pump(poll_s)
        raise TimeoutError(f"waited {timeout_s:g} s for {what or expression[:80]}")

    def press(self, key: str, code: str, key_code: int) -> None:
        for kind in ("rawKeyDown", "keyUp"):
            self.send("Input.dispatchKeyEvent", {"type": kind, "key": key, "code": code,
                                                 "windowsVirtualKeyCode": key_code})

    def screenshot(self, path: Path) -> Path:
        data = self.send("Page.captureScreenshot", {"format": "png"})["data"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(data))
        return path

    def outside_requests(self) -> list[str]:
        return [url for url in self.requests if not LOCAL.match(url)]


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def chromium_page(timeout_s: float = 30.0):
    """Start headless Chromium on a free DevTools port and yield a :class:`Page` with the Page,
    Runtime and Network domains on."""
    from websockets.sync.client import connect

    port = _free_port()
    profile = tempfile.mkdtemp(prefix="tnm-chromium-")
    process = subprocess.Popen([find_chromium(), *FLAGS, f"--remote-debugging-port={port}", f"--user-data-dir={profile}",
                                "about:blank"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + timeout_s
        targets = None
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=2) as response:
                    targets = [t for t in json.load(response) if t.get("type") == "page"]
                if targets:
                    break
            except OSError:
                pass
            time.sleep(0.2)
        if not targets:
            raise RuntimeError("Chromium did not open its DevTools port")
        with connect(targets[0]["webSocketDebuggerUrl"], max_size=2**26) as ws:
            page = Page(ws)
            for domain in ("Page", "Runtime", "Network"):
                page.send(f"{domain}.enable")
            yield page
    finally:
        stop(process)
        shutil.rmtree(profile, ignore_errors=True)


def stop(process: subprocess.Popen, timeout_s: float = 20.0) -> None:
    """Terminate a child process, killing it if it does not end within ``timeout_s``."""
    process.terminate()
    try:
        process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        process.kill()
