"""Test helper: measure a page in headless Chromium under print media (DevTools protocol over a pipe).

``--remote-debugging-pipe`` makes Chromium read DevTools commands from file descriptor 3 and
write replies to 4, each a JSON message ended by a NUL byte, so no WebSocket client is needed.
The page is laid out under ``Emulation.setEmulatedMedia(print)`` in a viewport exactly as wide
as the printable width of the page, which is how Chromium lays out a printed page.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pytest

#: A4 landscape, less the print stylesheet's 12 mm left and right margins, in CSS px (96 per inch).
PRINTABLE_WIDTH_PX = round((297 - 2 * 12) / 25.4 * 96)
PRINTABLE_HEIGHT_PX = round((210 - 12 - 15) / 25.4 * 96)

#: Every table wider than the printable width: scrollWidth (its full content) and its first header.
WIDE_TABLES_JS = """
(() => { const limit = document.documentElement.clientWidth;
  return Array.from(document.querySelectorAll('table')).map(t => ({
      width: Math.max(t.scrollWidth, Math.ceil(t.getBoundingClientRect().right)),
      head: (t.querySelector('th') || {}).textContent || '' , limit: limit }))
    .filter(t => t.width > limit); })()
"""


#: Words of table cells (``td`` and the headers, ``th``) that a printed table cut across lines:
#: each run of characters between spaces and hyphens (a cell may wrap after a hyphen) must sit on
#: one line; URLs, which no column is wide enough for, may break anywhere. ``words``: how many were
#: measured.
BROKEN_WORDS_JS = r"""
(() => { const broken = []; let words = 0;
  for (const td of document.querySelectorAll('table td, table th')) {
    const walker = document.createTreeWalker(td, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      const tokens = /\S+/g; let token;
      while ((token = tokens.exec(node.data)) !== null) {
        if (/^https?:/.test(token[0])) continue;
        const parts = /[^-]+/g; let part;
        while ((part = parts.exec(token[0])) !== null) {
          words++;
          const range = document.createRange();
          range.setStart(node, token.index + part.index);
          range.setEnd(node, token.index + part.index + part[0].length);
          const lines = new Set(Array.from(range.getClientRects()).filter(r => r.width > 0).map(r => Math.round(r.top)));
          if (lines.size > 1) broken.push(part[0]);
        }
      }
    }
  }
  return {words: words, broken: broken}; })()
"""


def chromium() -> str:
    exe = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if exe is None:
        pytest.fail("Chromium is not installed: apt-get install chromium (the print tests need it)")
    return exe


class _Pipe:
    def __init__(self, proc: subprocess.Popen, write_fd: int, read_fd: int) -> None:
        self.proc, self.w, self.r, self.next_id, self.buffer = proc, write_fd, read_fd, 0, b""

    def _read(self) -> dict[str, Any]:
        while b"\0" not in self.buffer:
            chunk = os.read(self.r, 1 << 16)
            if not chunk:
                raise RuntimeError("Chromium closed the DevTools pipe")
            self.buffer += chunk
        message, self.buffer = self.buffer.split(b"\0", 1)
        return json.loads(message)

    def send(self, method: str, params: dict | None = None, session: str | None = None) -> dict[str, Any]:
        self.next_id += 1
        msg: dict[str, Any] = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self.w, json.dumps(msg).encode() + b"\0")
        while True:
            reply = self._read()
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})

    def wait_event(self, name: str, session: str) -> None:
        while True:
            event = self._read()
            if event.get("method") == name and event.get("sessionId") == session:
                return


def evaluate_in_print_layout(html: Path, expression: str) -> Any:
    """Load ``html``, lay it out as printed (print media, printable width) and evaluate ``expression``."""
    to_chrome_r, to_chrome_w = os.pipe()
    from_chrome_r, from_chrome_w = os.pipe()
    profile = tempfile.mkdtemp(prefix="af-test-chromium-")

    def child() -> None:  # Chromium reads commands on fd 3 and writes replies on fd 4
        # copy first: a pipe end may already be fd 3 or 4 (and dup2 onto itself keeps close-on-exec)
        inbound, outbound = os.dup(to_chrome_r), os.dup(from_chrome_w)
        os.dup2(inbound, 3)
        os.dup2(outbound, 4)

    proc = subprocess.Popen(
        [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--no-first-run", f"--user-data-dir={profile}", "--remote-debugging-pipe", "about:blank"],
        preexec_fn=child, close_fds=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(to_chrome_r)
    os.close(from_chrome_w)
    pipe = _Pipe(proc, to_chrome_w, from_chrome_r)
    try:
        target = pipe.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = pipe.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        pipe.send("Page.enable", session=session)
        pipe.send("Emulation.setDeviceMetricsOverride", {"width": PRINTABLE_WIDTH_PX, "height": PRINTABLE_HEIGHT_PX,
                                                          "deviceScaleFactor": 1, "mobile": False}, session)
        pipe.send("Emulation.setEmulatedMedia", {"media": "print"}, session)
        pipe.send("Page.navigate", {"url": html.resolve().as_uri()}, session)
        pipe.wait_event("Page.loadEventFired", session)
        result = pipe.send("Runtime.evaluate", {"expression": expression, "returnByValue": True}, session)
        return result["result"].get("value")
    finally:
        os.close(to_chrome_w)
        os.close(from_chrome_r)
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(profile, ignore_errors=True)


def print_to_pdf(html: Path, pdf: Path, timeout: float = 180) -> Path:
    """Print ``html`` to ``pdf`` as a user's headless Chromium does: no stylesheet added, default header and footer."""
    profile = tempfile.mkdtemp(prefix="af-test-chromium-")
    try:
        subprocess.run([chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                        "--no-first-run", f"--user-data-dir={profile}", f"--print-to-pdf={pdf}",
                        html.resolve().as_uri()],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=timeout, check=False)
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    if not pdf.is_file() or pdf.stat().st_size == 0:
        pytest.fail(f"Chromium wrote no PDF of {html}")
    return pdf
