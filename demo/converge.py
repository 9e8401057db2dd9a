"""Measure how the simulated fleet's ground-truth power follows an EMS command.

    .demo/venv/bin/python -m demo.converge --activate 2.0 --seconds 40
    .demo/venv/bin/python -m demo.converge --deactivate --seconds 15

Sends the command to the demo's Home Assistant (token and URL from .demo/), then samples every
--interval seconds: ground truth from the simulator's admin endpoint (total W and the miners'
states) next to the EMS status (activePowerInKw, runningStatus). Prints one line per sample.
"""

from __future__ import annotations

import argparse
import json
import time
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any


def request(url: str, token: str | None = None, body: dict[str, Any] | None = None) -> Any:
    """GET, or POST a JSON body; returns the decoded answer."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    req = urllib.request.Request(url, data=data, headers=headers, method="POST" if data else "GET")
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as err:
        return {"http": err.code, "body": err.read().decode()[:200]}


def main() -> None:
    """Command, then samples."""
    p = argparse.ArgumentParser()
    p.add_argument("--state", default=".demo")
    action = p.add_mutually_exclusive_group()
    action.add_argument("--activate", type=float, metavar="KW")
    action.add_argument("--deactivate", action="store_true")
    p.add_argument("--seconds", type=float, default=30.0)
    p.add_argument("--interval", type=float, default=1.0)
    args = p.parse_args()
    state = Path(args.state)
    token = (state / "token").read_text().strip()
    url = (state / "url").read_text().strip()
    admin = (state / "admin_url").read_text().strip()
    start = time.monotonic()
    if args.activate is not None:
        answer = request(f"{url}/api/activate", token, {"activationPowerInKw": args.activate})
        print(f"activate {args.activate} kW -> {answer}")
    elif args.deactivate:
        answer = request(f"{url}/api/deactivate", token, {})
        print(f"deactivate -> {answer}")
    while (elapsed := time.monotonic() - start) <= args.seconds:
        truth = request(admin)
        status = request(f"{url}/api/status", token)
        states = Counter(m["state"] for m in truth["miners"])
        print(
            f"t={elapsed:5.1f}s truth={truth['power_w'] / 1000:6.3f} kW "
            f"ems.active={status.get('activePowerInKw')} kW running={status.get('runningStatus')} "
            f"miners={dict(sorted(states.items()))}",
            flush=True,
        )
        time.sleep(max(0.0, args.interval - (time.monotonic() - start - elapsed)))


if __name__ == "__main__":
    main()
