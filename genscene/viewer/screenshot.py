"""A headless Chromium's picture of a viewer page: the browser check of ``genscene view`` and the figure in
``docs/``. Chromium is not a Python dependency: Debian's ``chromium`` package, found on the PATH or named by
``$GENSCENE_CHROMIUM``; WebGL runs on its software rasterizer (SwiftShader), so no GPU is needed."""

from __future__ import annotations

import base64
import io
import json
import os
import shutil
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np

CHROMIUM_ENV = "GENSCENE_CHROMIUM"
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "chrome")
SETTLE_S = 5.0
"""Seconds the page gets after the viewer's panel shows its text: the frusta's images decode after the points."""


def find_chromium() -> str | None:
    """The Chromium executable: ``$GENSCENE_CHROMIUM`` if set, else the first of :data:`CHROMIUM_NAMES` on the PATH."""
    named = os.environ.get(CHROMIUM_ENV)
    if named:
        return named if Path(named).is_file() else None
    return next((found for name in CHROMIUM_NAMES if (found := shutil.which(name))), None)


def screenshot(url: str, width: int = 800, height: int = 600, chromium: str | None = None,
               ready_text: str = "", settle_s: float = SETTLE_S, timeout_s: float = 120.0) -> np.ndarray:
    """``uint8 [height, width, 3]``: the page at ``url`` as headless Chromium draws it.

    Drives Chromium over its DevTools protocol (local port, this machine only): open the page, wait until
    its text holds ``ready_text`` (the scene has arrived), wait ``settle_s`` more in real time, capture.

    Raises:
        FileNotFoundError: no Chromium found.
        TimeoutError: Chromium did not start, or the page never showed ``ready_text``.
    """
    chromium = chromium or find_chromium()
    if chromium is None:
        raise FileNotFoundError(f"no Chromium found (install Debian's chromium or set {CHROMIUM_ENV})")
    deadline = time.monotonic() + timeout_s
    with tempfile.TemporaryDirectory(prefix="genscene-chromium-") as tmp:
        command = [chromium, "--headless=new", "--no-sandbox", "--no-first-run", "--hide-scrollbars",
                   "--use-angle=swiftshader", "--enable-unsafe-swiftshader", "--remote-debugging-address=127.0.0.1",
                   "--remote-debugging-port=0", f"--user-data-dir={tmp}", f"--window-size={width},{height}",
                   "about:blank"]
        browser = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=tmp)
        try:
            page = _Page(_page_socket(Path(tmp) / "DevToolsActivePort", deadline))
            with page:
                return page.capture(url, width, height, ready_text, settle_s, deadline)
        finally:
            browser.terminate()
            try:
                browser.wait(timeout=10)
            except subprocess.TimeoutExpired:
                browser.kill()
                browser.wait()


def _page_socket(port_file: Path, deadline: float) -> str:
    """The DevTools websocket URL of Chromium's first page, once it is listening."""
    while time.monotonic() < deadline:
        if port_file.exists() and port_file.read_text().strip():
            port = int(port_file.read_text().split()[0])
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as answer:
                targets = json.load(answer)
            pages = [t for t in targets if t.get("type") == "page"]
            if pages:
                return pages[0]["webSocketDebuggerUrl"]
        time.sleep(0.1)
    raise TimeoutError("chromium did not open its DevTools port")


class _Page:
    """A minimal DevTools client: one command at a time, events ignored."""

    def __init__(self, socket_url: str):
        from websockets.sync.client import connect

        self._socket = connect(socket_url, max_size=64 * 1024 * 1024, open_timeout=30)
        self._next_id = 0

    def __enter__(self) -> "_Page":
        return self

    def __exit__(self, *exc) -> None:
        self._socket.close()

    def call(self, method: str, **params):
        self._next_id += 1
        self._socket.send(json.dumps({"id": self._next_id, "method": method, "params": params}))
        while True:
            message = json.loads(self._socket.recv(timeout=60))
            if message.get("id") == self._next_id:
                if "error" in message:
                    raise RuntimeError(f"chromium: {method}: {message['error']}")
                return message.get("result", {})

    def capture(self, url: str, width: int, height: int, ready_text: str, settle_s: float,
                deadline: float) -> np.ndarray:
        from PIL import Image

        self.call("Emulation.setDeviceMetricsOverride", width=width, height=height, deviceScaleFactor=1,
                  mobile=False)
        self.call("Page.navigate", url=url)
        while True:
            text = self.call("Runtime.evaluate", expression="document.body ? document.body.innerText : ''",
                             returnByValue=True)["result"].get("value", "")
            if ready_text in text and text:
                break
            if time.monotonic() > deadline:
                raise TimeoutError(f"the page never showed {ready_text!r}")
            time.sleep(0.25)
        time.sleep(settle_s)
        png = base64.b64decode(self.call("Page.captureScreenshot", format="png")["data"])
        with Image.open(io.BytesIO(png)) as image:
            return np.asarray(image.convert("RGB"))
