"""Provision the demo's Home Assistant over its HTTP and websocket APIs.

Run by scripts/demo with the demo virtualenv's Python (it needs aiohttp, which Home Assistant
brings). Idempotent: on a warm start it only checks the saved token and the config entry.

    python -m demo.provision --url http://127.0.0.1:8123 --state .demo \
        --networks 127.0.1.0/24 --web-port 8080

Steps on a fresh configuration:
1. wait until Home Assistant answers,
2. onboarding: create the admin user (POST /api/onboarding/users gives an auth code), trade the
   code for tokens (POST /auth/token, grant_type=authorization_code, client_id = the base URL),
   finish the core_config, analytics and integration steps,
3. create a long-lived access token over the websocket (auth/long_lived_access_token) and write
   it to <state>/token, the base URL to <state>/url,
4. wait until Home Assistant is RUNNING,
5. create the Net Stabilization config entry through the config-flow REST API unless one exists,
   and wait until it is loaded and /api/status answers,
6. with --strategy or --site-limit-entity: set them through the options flow (every other option
   as the form shows it) unless they are set already, and wait until the entry is loaded again.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import sys
import time
from pathlib import Path
from typing import Any, cast

import aiohttp

DOMAIN = "net_stabilization"
DEMO_USER = "demo"
DEMO_NAME = "Demo Admin"
SUGGESTED_BY_ONBOARDING = ("google_translate", "met", "radio_browser")
# What a strategy reads, per strategy the demo sets up: option key -> the demo's entity.
FLEET_ENERGY = "sensor.mining_fleet_energy"  # the fleet's kWh, a device in the Energy panel
STRATEGY_INPUTS = {"pv_surplus": {"grid_import_entity": "sensor.demo_grid_import"}}


def log(message: str) -> None:
    """Progress to stderr (stdout is for the final JSON)."""
    print(f"provision: {message}", file=sys.stderr, flush=True)


class Provisioner:
    """One Home Assistant instance and the demo's state folder."""

    def __init__(self, session: aiohttp.ClientSession, args: argparse.Namespace) -> None:
        self.session = session
        self.args = args
        self.url = args.url.rstrip("/")
        self.client_id = f"{self.url}/"
        self.state = Path(args.state)
        self.token: str | None = None

    # -- helpers ------------------------------------------------------------------------------

    def _headers(self, token: str | None = None) -> dict[str, str]:
        token = token or self.token
        return {"Authorization": f"Bearer {token}"} if token else {}

    async def _json(
        self,
        method: str,
        path: str,
        *,
        token: str | None = None,
        expect: tuple[int, ...] = (200,),
        **kwargs: Any,
    ) -> Any:
        async with self.session.request(
            method, f"{self.url}{path}", headers=self._headers(token), **kwargs
        ) as resp:
            text = await resp.text()
            if resp.status not in expect:
                raise RuntimeError(f"{method} {path}: HTTP {resp.status}: {text[:300]}")
            return json.loads(text) if text else None

    def credentials(self) -> tuple[str, str]:
        """The demo admin's login, made up once and kept in <state>/credentials."""
        path = self.state / "credentials"
        if path.exists():
            data = json.loads(path.read_text())
            return data["username"], data["password"]
        password = f"demo-password-{secrets.token_hex(4)}"
        path.write_text(json.dumps({"username": DEMO_USER, "password": password}) + "\n")
        path.chmod(0o600)
        return DEMO_USER, password

    # -- steps --------------------------------------------------------------------------------

    async def wait_http(self, limit_s: float) -> None:
        """Until the HTTP server answers at all."""
        deadline = time.monotonic() + limit_s
        while True:
            try:
                async with self.session.get(f"{self.url}/manifest.json") as resp:
                    if resp.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"Home Assistant did not answer on {self.url} in {limit_s:.0f} s"
                )
            await asyncio.sleep(0.5)

    async def onboarding_steps(self) -> dict[str, bool] | None:
        """Steps and whether they are done; None once onboarding is over (the view is gone)."""
        async with self.session.get(f"{self.url}/api/onboarding") as resp:
            if resp.status == 404:
                return None
            resp.raise_for_status()
            return {step["step"]: step["done"] for step in await resp.json()}

    async def tokens_from_code(self, code: str) -> dict[str, Any]:
        """authorization_code grant: access and refresh token."""
        async with self.session.post(
            f"{self.url}/auth/token",
            data={"grant_type": "authorization_code", "code": code, "client_id": self.client_id},
        ) as resp:
            body = await resp.json()
            if resp.status != 200:
                raise RuntimeError(f"/auth/token: HTTP {resp.status}: {body}")
            return cast(dict[str, Any], body)

    async def login(self, username: str, password: str) -> dict[str, Any]:
        """The login flow the frontend uses; returns access and refresh token."""
        flow = await self._json(
            "POST",
            "/auth/login_flow",
            json={
                "client_id": self.client_id,
                "handler": ["homeassistant", None],
                "redirect_uri": f"{self.client_id}?auth_callback=1",
            },
        )
        result = await self._json(
            "POST",
            f"/auth/login_flow/{flow['flow_id']}",
            json={"username": username, "password": password, "client_id": self.client_id},
        )
        if result.get("type") != "create_entry":
            raise RuntimeError(f"login refused: {result.get('errors') or result}")
        return await self.tokens_from_code(result["result"])

    async def onboard(self, username: str, password: str) -> str | None:
        """Finish whatever onboarding step is open; returns a short-lived access token or None."""
        steps = await self.onboarding_steps()
        if steps is None:
            return None
        access: str | None = None
        if not steps.get("user"):
            log("onboarding: creating the admin user")
            body = await self._json(
                "POST",
                "/api/onboarding/users",
                json={
                    "client_id": self.client_id,
                    "name": DEMO_NAME,
                    "username": username,
                    "password": password,
                    "language": "en",
                },
            )
            tokens = await self.tokens_from_code(body["auth_code"])
            access = tokens["access_token"]
        else:
            access = (await self.login(username, password))["access_token"]
        if not steps.get("core_config"):
            log("onboarding: core_config")
            await self._json("POST", "/api/onboarding/core_config", token=access)
        if not steps.get("analytics"):
            log("onboarding: analytics")
            await self._json("POST", "/api/onboarding/analytics", token=access)
        if not steps.get("integration"):
            log("onboarding: integration")
            await self._json(
                "POST",
                "/api/onboarding/integration",
                token=access,
                json={
                    "client_id": self.client_id,
                    "redirect_uri": f"{self.client_id}?auth_callback=1",
                },
            )
        return access

    async def ws_call(self, access: str, message: dict[str, Any]) -> Any:
        """One websocket command with an access token."""
        async with self.session.ws_connect(f"{self.url}/api/websocket") as ws:
            hello = await ws.receive_json()
            if hello.get("type") != "auth_required":
                raise RuntimeError(f"websocket: unexpected {hello}")
            await ws.send_json({"type": "auth", "access_token": access})
            auth = await ws.receive_json()
            if auth.get("type") != "auth_ok":
                raise RuntimeError(f"websocket auth failed: {auth}")
            await ws.send_json({"id": 1, **message})
            while True:
                reply = await ws.receive_json()
                if reply.get("id") == 1 and reply.get("type") == "result":
                    if not reply.get("success"):
                        raise RuntimeError(f"websocket {message['type']}: {reply.get('error')}")
                    return reply.get("result")

    async def token_works(self, token: str) -> bool:
        """Whether a saved token is still accepted."""
        async with self.session.get(f"{self.url}/api/", headers=self._headers(token)) as resp:
            return resp.status == 200

    async def ensure_token(self, username: str, password: str, access: str | None) -> None:
        """A long-lived token in <state>/token."""
        path = self.state / "token"
        if path.exists():
            saved = path.read_text().strip()
            if saved and await self.token_works(saved):
                self.token = saved
                return
        if access is None:
            access = (await self.login(username, password))["access_token"]
        log("creating a long-lived access token")
        token = await self.ws_call(
            access,
            {
                "type": "auth/long_lived_access_token",
                "client_name": f"Net Stabilization demo {int(time.time())}",
                "lifespan": 3650,
            },
        )
        path.write_text(f"{token}\n")
        path.chmod(0o600)
        self.token = token

    async def configure_energy(self) -> None:
        """Show the fleet's energy in the Energy panel (once; later changes are kept)."""
        assert self.token is not None
        try:
            prefs = await self.ws_call(self.token, {"type": "energy/get_prefs"})
        except RuntimeError:  # nothing saved yet
            prefs = None
        wanted = energy_prefs_with_fleet(prefs)
        if wanted is not None:
            log("adding the fleet to the Energy panel")
            await self.ws_call(self.token, {"type": "energy/save_prefs", **wanted})

    async def wait_running(self, limit_s: float) -> None:
        """Until Home Assistant has finished starting."""
        deadline = time.monotonic() + limit_s
        while True:
            config = await self._json("GET", "/api/config")
            if config.get("state") == "RUNNING":
                return
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"Home Assistant still {config.get('state')} after {limit_s:.0f} s"
                )
            await asyncio.sleep(0.5)

    async def entries(self) -> list[dict[str, Any]]:
        """Config entries of the integration."""
        entries = await self._json("GET", f"/api/config/config_entries/entry?domain={DOMAIN}")
        return cast(list[dict[str, Any]], entries)

    async def create_entry(self) -> None:
        """Run the config flow: user step, scan progress, scan_result."""
        args = self.args
        log(f"config flow: scanning {args.networks} (web port {args.web_port})")
        flow = await self._json(
            "POST",
            "/api/config/config_entries/flow",
            json={"handler": DOMAIN, "show_advanced_options": False},
        )
        flow_id = flow["flow_id"]
        if flow.get("type") == "abort":
            raise RuntimeError(f"config flow aborted: {flow.get('reason')}")
        result = await self._json(
            "POST",
            f"/api/config/config_entries/flow/{flow_id}",
            json={
                "networks": args.networks,
                "hosts": args.hosts,
                "username": args.miner_username,
                "password": args.miner_password,
                "api_port": args.api_port,
                "web_port": args.web_port,
            },
        )
        deadline = time.monotonic() + args.scan_timeout
        while result.get("type") in ("progress", "progress_done"):
            if time.monotonic() > deadline:
                raise RuntimeError(f"scan still running after {args.scan_timeout:.0f} s")
            await asyncio.sleep(0.5)
            result = await self._json("GET", f"/api/config/config_entries/flow/{flow_id}")
        if result.get("type") != "form" or result.get("step_id") != "scan_result":
            raise RuntimeError(
                f"scan did not find miners: step {result.get('step_id')}, "
                f"errors {result.get('errors')}, type {result.get('type')}"
            )
        placeholders = result.get("description_placeholders") or {}
        log(
            f"scan: {placeholders.get('miners')} miners, {placeholders.get('auth_failed')} "
            f"rejected the login, {placeholders.get('unsupported')} unsupported, "
            f"{placeholders.get('scanned')} addresses in {placeholders.get('seconds')} s"
        )
        result = await self._json(
            "POST",
            f"/api/config/config_entries/flow/{flow_id}",
            json={"power_mode": args.power_mode, "miner_entities": args.miner_entities},
        )
        if result.get("type") != "create_entry":
            raise RuntimeError(f"config flow did not create the entry: {result}")
        log(f"config entry created: {result.get('title')}")

    @staticmethod
    def form_values(form: dict[str, Any]) -> dict[str, Any]:
        """What a form would send untouched: each field's default or suggested value."""
        values: dict[str, Any] = {}
        for field in form.get("data_schema") or []:
            suggested = (field.get("description") or {}).get("suggested_value")
            if suggested is not None:
                values[field["name"]] = suggested
            elif "default" in field:
                values[field["name"]] = field["default"]
        return values

    async def configure_options(self, entry_id: str) -> bool:
        """Set the strategy and the site-limit entity in the options; False when they were set."""
        args = self.args
        base = "/api/config/config_entries/options/flow"
        form = await self._json("POST", base, json={"handler": entry_id})
        flow_id = form["flow_id"]
        try:
            if form.get("type") != "form" or form.get("step_id") != "init":
                raise RuntimeError(f"options flow: unexpected {form}")
            values = self.form_values(form)
            wanted: dict[str, Any] = {}
            if args.strategy:
                wanted["strategy"] = args.strategy
            if args.site_limit_entity:
                wanted["site_limit_entity"] = args.site_limit_entity
            changed = any(values.get(k) != v for k, v in wanted.items())
            result = await self._json("POST", f"{base}/{flow_id}", json={**values, **wanted})
            if result.get("type") == "form" and result.get("step_id") == "strategy":
                inputs = STRATEGY_INPUTS.get(str(args.strategy), {})
                values = self.form_values(result)
                changed = changed or any(values.get(k) != v for k, v in inputs.items())
                if not changed:
                    await self._json("DELETE", f"{base}/{flow_id}")
                    return False
                result = await self._json("POST", f"{base}/{flow_id}", json={**values, **inputs})
            elif not changed and result.get("type") == "create_entry":
                return False  # nothing new: the same options again
            if result.get("type") != "create_entry":
                raise RuntimeError(
                    f"options flow: step {result.get('step_id')}, errors {result.get('errors')}"
                )
        except BaseException:
            await self._json("DELETE", f"{base}/{flow_id}", expect=(200, 404))
            raise
        log(f"options: {', '.join(f'{k} {v}' for k, v in wanted.items())}")
        return True

    async def wait_loaded(self, limit_s: float) -> dict[str, Any]:
        """Until the entry is loaded and the EMS status answers; returns the status."""
        deadline = time.monotonic() + limit_s
        last = ""
        while True:
            entries = await self.entries()
            state = entries[0]["state"] if entries else "missing"
            if state == "loaded":
                async with self.session.get(
                    f"{self.url}/api/status", headers=self._headers()
                ) as resp:
                    if resp.status == 200:
                        return cast(dict[str, Any], await resp.json())
                    last = f"/api/status HTTP {resp.status}"
            elif state in ("setup_error", "not_loaded", "failed_unload", "missing"):
                last = f"entry {state}"
                if state != "missing" and time.monotonic() > deadline - limit_s / 2:
                    raise RuntimeError(f"the integration did not load: {state}")
            else:
                last = f"entry {state}"
            if time.monotonic() > deadline:
                raise RuntimeError(f"the integration is not ready after {limit_s:.0f} s ({last})")
            await asyncio.sleep(0.5)

    async def remove_onboarding_leftovers(self) -> None:
        """Drop entries that onboarding's core_config step suggests but that cannot load here.

        Finishing core_config starts flows for google_translate, met, radio_browser and
        shopping_list. The demo runs offline with --skip-pip: the first three fail to load, and
        google_translate still leaves an entry in setup_error. Remove such entries (only those).
        """
        for entry in await self._json("GET", "/api/config/config_entries/entry"):
            if entry["domain"] in SUGGESTED_BY_ONBOARDING and entry["state"] in (
                "setup_error",
                "setup_retry",
                "not_loaded",
            ):
                log(f"removing onboarding's {entry['domain']} entry ({entry['state']})")
                await self._json("DELETE", f"/api/config/config_entries/entry/{entry['entry_id']}")

    async def run(self) -> dict[str, Any]:
        """All steps; returns what the banner needs."""
        self.state.mkdir(parents=True, exist_ok=True)
        username, password = self.credentials()
        await self.wait_http(self.args.timeout)
        access = await self.onboard(username, password)
        await self.ensure_token(username, password, access)
        (self.state / "url").write_text(f"{self.url}\n")
        await self.wait_running(self.args.timeout)
        created = False
        if not await self.entries():
            await self.create_entry()
            created = True
        else:
            log("config entry exists: keeping it")
        status = await self.wait_loaded(self.args.timeout)
        if self.args.strategy or self.args.site_limit_entity:
            entry_id = (await self.entries())[0]["entry_id"]
            if await self.configure_options(entry_id):
                await asyncio.sleep(1.0)  # the entry reloads with the new options
                status = await self.wait_loaded(self.args.timeout)
        await self.configure_energy()
        await self.remove_onboarding_leftovers()
        return {
            "url": self.url,
            "username": username,
            "password": password,
            "token_file": str(self.state / "token"),
            "entry_created": created,
            "status": status,
        }


def energy_prefs_with_fleet(prefs: dict[str, Any] | None) -> dict[str, Any] | None:
    """The Energy panel's preferences with the fleet as an individual device, or None when it
    is one already (the operator's own sources and devices are kept)."""
    consumers = list((prefs or {}).get("device_consumption") or [])
    if any(c.get("stat_consumption") == FLEET_ENERGY for c in consumers):
        return None
    return {"device_consumption": [*consumers, {"stat_consumption": FLEET_ENERGY}]}


def build_parser() -> argparse.ArgumentParser:
    """CLI options."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--url", required=True, help="Home Assistant base URL")
    p.add_argument("--state", default=".demo", help="where token, url and credentials go")
    p.add_argument("--networks", default="127.0.1.0/24")
    p.add_argument("--hosts", default="")
    p.add_argument("--miner-username", default="root")
    p.add_argument("--miner-password", default="root")
    p.add_argument("--api-port", type=int, default=4028)
    p.add_argument("--web-port", type=int, default=8080)
    p.add_argument("--power-mode", default="on_off", choices=("on_off", "frequency"))
    p.add_argument(
        "--no-miner-entities",
        dest="miner_entities",
        action="store_false",
        help="create the fleet without per-miner devices and entities",
    )
    p.add_argument(
        "--strategy",
        choices=("none", *STRATEGY_INPUTS),
        help="set this local strategy in the options, reading the demo's inputs",
    )
    p.add_argument("--site-limit-entity", help="set this entity as the site limit in the options")
    p.add_argument("--timeout", type=float, default=300.0, help="per wait, seconds")
    p.add_argument("--scan-timeout", type=float, default=600.0)
    return p


async def amain(args: argparse.Namespace) -> int:
    """Provision and print one JSON line on stdout."""
    timeout = aiohttp.ClientTimeout(total=120)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        try:
            summary = await Provisioner(session, args).run()
        except (RuntimeError, aiohttp.ClientError, TimeoutError) as err:
            log(f"failed: {err}")
            return 1
    print(json.dumps(summary), flush=True)
    return 0


def main() -> int:
    """Entry point."""
    os.umask(0o077)
    return asyncio.run(amain(build_parser().parse_args()))


if __name__ == "__main__":
    sys.exit(main())
