"""Screenshot a Home Assistant page of the running demo with headless Chromium.

    .demo/venv/bin/python -m demo.screenshot \
        --path /net-stabilization/fleet --out docs/dashboard.png

Needs `chromium` (Debian: apt-get install chromium) and the demo running (scripts/demo). It logs
in with the demo admin from .demo/credentials through Home Assistant's login flow, writes the
tokens into the page's localStorage (`hassTokens`, as the frontend stores them after a login),
opens the page, waits until the dashboard's cards and charts have rendered and saves a PNG.
Talks to Chromium over the DevTools protocol (--remote-debugging-port) with aiohttp, which the
demo's virtualenv already has; nothing else to install.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, cast

import aiohttp

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--hide-scrollbars",
    "--mute-audio",
    "--remote-debugging-address=127.0.0.1",
    "--remote-debugging-port=0",
]

# Finds an element by tag name through every shadow root (the frontend is all web components).
DEEP_QUERY = """
(tag) => {
  const stack = [document];
  while (stack.length) {
    const root = stack.pop();
    const hit = root.querySelector(tag);
    if (hit) return hit;
    for (const el of root.querySelectorAll('*')) if (el.shadowRoot) stack.push(el.shadowRoot);
  }
  return null;
}
"""


def stop_browser(proc: subprocess.Popen[bytes]) -> None:
    """End Chromium and its helper processes (its own process group)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    # Helpers may outlive the browser by a moment; give them that moment.
    for _ in range(20):
        try:
            os.killpg(proc.pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)


def log(message: str) -> None:
    """Progress to stderr."""
    print(f"screenshot: {message}", file=sys.stderr, flush=True)


async def login(
    session: aiohttp.ClientSession, url: str, username: str, password: str
) -> dict[str, Any]:
    """Home Assistant's login flow, as the frontend runs it: access and refresh token."""
    client_id = f"{url}/"
    async with session.post(
        f"{url}/auth/login_flow",
        json={
            "client_id": client_id,
            "handler": ["homeassistant", None],
            "redirect_uri": f"{client_id}?auth_callback=1",
        },
    ) as resp:
        flow = await resp.json()
    async with session.post(
        f"{url}/auth/login_flow/{flow['flow_id']}",
        json={"username": username, "password": password, "client_id": client_id},
    ) as resp:
        result = await resp.json()
    if result.get("type") != "create_entry":
        raise RuntimeError(f"login refused: {result}")
    async with session.post(
        f"{url}/auth/token",
        data={"grant_type": "authorization_code", "code": result["result"], "client_id": client_id},
    ) as resp:
        tokens = await resp.json()
    return {
        "access_token": tokens["access_token"],
        "token_type": "Bearer",
        "expires_in": tokens["expires_in"],
        "hassUrl": url,
        "clientId": client_id,
        "expires": int(time.time() * 1000) + tokens["expires_in"] * 1000,
        "refresh_token": tokens["refresh_token"],
    }


class Page:
    """A minimal DevTools protocol client for one page target."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self._id = 0

    async def call(self, method: str, **params: Any) -> dict[str, Any]:
        """Send a command and wait for its result (events in between are skipped)."""
        self._id += 1
        await self.ws.send_json({"id": self._id, "method": method, "params": params})
        while True:
            msg = await self.ws.receive_json()
            if msg.get("id") == self._id:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return cast(dict[str, Any], msg.get("result", {}))

    async def evaluate(self, expression: str) -> Any:
        """Run JavaScript in the page; returns its value (promises are awaited)."""
        result = await self.call(
            "Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True
        )
        if "exceptionDetails" in result:
            raise RuntimeError(f"page script failed: {result['exceptionDetails']}")
        return result.get("result", {}).get("value")

    async def goto(self, url: str) -> None:
        """Navigate and wait for the load event."""
        await self.call("Page.enable")
        self._id += 1
        await self.ws.send_json({"id": self._id, "method": "Page.navigate", "params": {"url": url}})
        while True:
            msg = await self.ws.receive_json()
            if msg.get("method") == "Page.loadEventFired":
                return

    async def wait_for(self, condition: str, limit_s: float) -> bool:
        """Poll a JavaScript condition until it is true."""
        deadline = time.monotonic() + limit_s
        while time.monotonic() < deadline:
            if await self.evaluate(condition):
                return True
            await asyncio.sleep(0.5)
        return False


def devtools_port(profile: Path, proc: subprocess.Popen[bytes]) -> int:
    """The port Chromium chose for the DevTools protocol (it writes it into the profile)."""
    port_file = profile / "DevToolsActivePort"
    for _ in range(200):
        if port_file.exists() and port_file.read_text().strip():
            return int(port_file.read_text().split()[0])
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    raise RuntimeError("chromium did not open its DevTools port")


async def capture(args: argparse.Namespace, url: str, creds: dict[str, str], port: int) -> bytes:
    """Log in, load the page in the running Chromium, return the PNG."""
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as session:
        tokens = await login(session, url, creds["username"], creds["password"])
        async with session.get(f"http://127.0.0.1:{port}/json/list") as resp:
            targets = await resp.json()
        ws_url = next(t["webSocketDebuggerUrl"] for t in targets if t["type"] == "page")
        async with session.ws_connect(ws_url, max_msg_size=0) as ws:
            page = Page(ws)
            await page.call(
                "Emulation.setDeviceMetricsOverride",
                width=args.width,
                height=args.height,
                deviceScaleFactor=args.scale,
                mobile=False,
            )
            # Same origin first, so that localStorage belongs to Home Assistant's origin.
            await page.goto(f"{url}/manifest.json")
            await page.evaluate(
                f"localStorage.setItem('hassTokens', {json.dumps(json.dumps(tokens))}); true"
            )
            await page.goto(f"{url}{args.path}")
            selector = json.dumps(args.wait_for)
            if not await page.wait_for(f"!!({DEEP_QUERY})({selector})", args.timeout):
                log(f"<{args.wait_for}> not there after {args.timeout:.0f} s; saving anyway")
            # Let charts fetch their history and finish animating.
            await asyncio.sleep(args.settle)
            shot = await page.call("Page.captureScreenshot", format="png")
            return base64.b64decode(shot["data"])


def run(args: argparse.Namespace) -> int:
    """Start Chromium, capture, save the PNG, stop Chromium."""
    state = Path(args.state)
    url = (args.url or (state / "url").read_text()).strip().rstrip("/")
    creds = json.loads((state / "credentials").read_text())
    chromium = args.chromium or shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        log("chromium not found (Debian: apt-get install chromium)")
        return 1
    with tempfile.TemporaryDirectory(prefix="demo-chromium-", ignore_cleanup_errors=True) as tmp:
        proc = subprocess.Popen(
            [
                chromium,
                *CHROMIUM_FLAGS,
                f"--user-data-dir={tmp}",
                f"--window-size={args.width},{args.height}",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # its own process group: the helpers go with it
        )
        try:
            png = asyncio.run(capture(args, url, creds, devtools_port(Path(tmp), proc)))
        finally:
            stop_browser(proc)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(png)
    log(f"saved {out} ({len(png)} bytes, {args.width}x{args.height} at {args.scale}x)")
    return 0


def main() -> int:
    """Entry point."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--state", default=".demo", help="the demo's state folder (url, credentials)")
    p.add_argument("--url", help="Home Assistant base URL (default: .demo/url)")
    p.add_argument("--path", default="/net-stabilization/fleet", help="page to open")
    p.add_argument("--out", default="docs/dashboard.png")
    p.add_argument("--width", type=int, default=1440)
    p.add_argument("--height", type=int, default=1400)
    p.add_argument("--scale", type=float, default=1.0, help="device pixel ratio")
    p.add_argument("--wait-for", default="ha-chart-base", help="element that means 'rendered'")
    p.add_argument("--timeout", type=float, default=60.0)
    p.add_argument("--settle", type=float, default=4.0, help="seconds to wait after it appears")
    p.add_argument("--chromium", help="browser binary (default: chromium on PATH)")
    return run(p.parse_args())


if __name__ == "__main__":
    sys.exit(main())
