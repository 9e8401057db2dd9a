"""Find out what answers at an address: which miner and firmware, something else, or nothing.

Both first probes run at once: the API `version` (model and firmware) and the Antminer web's
`get_system_info.cgi` (model, firmware and the MAC, which is the miner's identity). A sleeping Vnish
S9 has its API closed, so the web alone is enough for it.

When the API names a firmware with a control driver (Braiins OS+, LuxOS, Vnish's REST firmware),
that driver's own identification confirms it; a device it does not confirm, and any other miner
on the cgminer API, is monitored read-only. Only a device that answers as a miner and tells its
MAC joins the fleet.

A claim is not a firmware: before the fleet's login goes to a REST firmware (in plain text), the
device must serve that firmware's unauthenticated endpoints (`fingerprint`). The Vnish REST
firmware's factory password is tried only where the operator allows it. Whether the API's
`version` names Vnish or not, the `stats` Type and the web root are read too: the decision is
made from every sign, never from which answer came first.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from dataclasses import dataclass, replace
from enum import StrEnum

import aiohttp

from .antminer_s9 import AntminerS9Driver, identity_from_system_info
from .base import (
    MinerAuthError,
    MinerDriver,
    MinerError,
    MinerIdentity,
    MinerTimeoutError,
    MinerUnreachableError,
)
from .cgminer import CgminerClient, JsonDict
from .drivers import build_driver
from .endpoint import SCAN_TIMEOUTS, Credentials, MinerEndpoint, Timeouts
from .fingerprint import (
    braiins_rest_version,
    page_text,
    public_get,
    vnish_info,
)
from .firmware import (
    CONTROL_KINDS,
    FirmwareInfo,
    FirmwareKind,
    classify_version_reply,
    split_vnish_rest_type,
)
from .vnish_rest_client import DEFAULT_PASSWORD as VNISH_REST_FACTORY_PASSWORD
from .vnish_rest_detect import is_anthill_web_root
from .vnish_web import VnishWebClient

# Firmwares whose factory login differs from the S9s': tried when the fleet's login is refused
# and the operator allows it.
_FACTORY_PASSWORDS = {FirmwareKind.VNISH_REST: VNISH_REST_FACTORY_PASSWORD}
# Firmwares that take the login in plain text: confirmed by what they serve without one first.
_PLAIN_TEXT_LOGIN = frozenset({FirmwareKind.BRAIINS, FirmwareKind.VNISH_REST})
NEEDS_REST_API = (
    "Braiins OS without its REST API (a release serving only gRPC): update to a release "
    "with the REST API to control it; monitored read-only meanwhile"
)


class ProbeOutcome(StrEnum):
    """What an address turned out to be."""

    MINER = "miner"  # a supported miner, with identity and driver
    AUTH_FAILED = "auth_failed"  # an Antminer web interface that rejected the credentials
    UNSUPPORTED = "unsupported"  # something answers, but not a miner we can drive
    NOTHING = "nothing"  # neither port answers


@dataclass(frozen=True, slots=True)
class Identification:
    """The result of probing one address."""

    endpoint: MinerEndpoint
    outcome: ProbeOutcome
    identity: MinerIdentity | None = None
    driver: MinerDriver | None = None
    detail: str = ""
    # Logins sent to this device in plain text ("braiins", "vnish_rest (factory password)").
    logins: tuple[str, ...] = ()
    advice: str = ""  # what the operator could do, e.g. update a firmware


async def identify_miner(
    endpoint: MinerEndpoint,
    session: aiohttp.ClientSession,
    *,
    credentials: Credentials | None = None,
    probe_timeouts: Timeouts = SCAN_TIMEOUTS,
    driver_timeouts: Timeouts | None = None,
    allow_factory_password: bool = False,
) -> Identification:
    """Probe one address. Never raises for anything the device does.

    `probe_timeouts` bound the probes (short, for scans); the driver returned for a miner uses
    `driver_timeouts` (the normal polling limits). `allow_factory_password`: where the fleet's
    login is refused, a firmware's factory password may be tried (off unless the operator
    allows it).
    """
    api = CgminerClient(
        endpoint.host,
        endpoint.api_port,
        connect_timeout_s=probe_timeouts.connect_s,
        read_timeout_s=probe_timeouts.api_read_s,
    )
    web = VnishWebClient(
        session,
        endpoint.host,
        endpoint.web_port,
        credentials,
        connect_timeout_s=probe_timeouts.connect_s,
        timeout_s=probe_timeouts.web_s,
    )
    version, system_info = await asyncio.gather(
        _attempt_json(api.command("version")),
        _attempt_json(web.get_json("get_system_info.cgi")),
    )
    api_info = classify_version_reply(version) if isinstance(version, dict) else None
    if (
        api_info is not None
        and api_info.kind is FirmwareKind.MONITOR
        and not isinstance(system_info, dict)
        and api_info.model.lower().startswith("antminer")
    ):
        # The version reply need not carry Vnish's suffix: look at the other signs too.
        api_info = await _vnish_rest_signs(api, endpoint, session, api_info, probe_timeouts)
    not_confirmed = ""
    advice = ""
    logins: tuple[str, ...] = ()
    if api_info is not None and api_info.kind in CONTROL_KINDS:
        shown = await _firmware_shown(api_info.kind, endpoint, session, probe_timeouts)
        if shown:
            confirmed = await _confirm(
                api_info.kind,
                endpoint,
                session,
                credentials=credentials,
                probe_timeouts=probe_timeouts,
                driver_timeouts=driver_timeouts,
                allow_factory_password=allow_factory_password,
            )
            if confirmed.outcome is not ProbeOutcome.UNSUPPORTED:
                return confirmed
            not_confirmed = confirmed.detail
            logins = confirmed.logins
        else:
            not_confirmed = f"{api_info.kind.value}: {_NOT_SHOWN[api_info.kind]}"
            if api_info.kind is FirmwareKind.BRAIINS:
                advice = NEEDS_REST_API
        api_info = replace(api_info, kind=FirmwareKind.MONITOR)
    if isinstance(system_info, dict):
        found = _from_system_info(
            endpoint,
            session,
            system_info,
            api_info,
            credentials=credentials,
            driver_timeouts=driver_timeouts,
        )
    else:
        found = _without_system_info(endpoint, version, system_info, api_info)
    if (
        found.outcome is ProbeOutcome.UNSUPPORTED
        and api_info is not None
        and api_info.kind is FirmwareKind.MONITOR
    ):
        # A miner on the cgminer API without a control driver: read it, never dispatch it.
        monitored = await _confirm(
            FirmwareKind.MONITOR,
            endpoint,
            session,
            credentials=credentials,
            probe_timeouts=probe_timeouts,
            driver_timeouts=driver_timeouts,
        )
        if monitored.outcome is ProbeOutcome.UNSUPPORTED:
            tried = "; ".join(d for d in (not_confirmed, monitored.detail) if d)
            found = _unsupported(endpoint, f"{_describe(api_info)}: {tried}")
        else:
            found = monitored
            if advice:
                found = replace(found, detail=f"{found.detail}; {advice}")
    return replace(found, logins=logins + found.logins, advice=advice)


# What a claimed firmware failed to serve without a login.
_NOT_SHOWN = {
    FirmwareKind.BRAIINS: "no REST API answers its version without a login",
    FirmwareKind.VNISH_REST: "no public info names the firmware; no login sent",
}


async def _firmware_shown(
    kind: FirmwareKind, endpoint: MinerEndpoint, session: aiohttp.ClientSession, timeouts: Timeouts
) -> bool:
    """Whether the device serves what `kind` serves to anyone: asked before a login goes out."""
    if kind not in _PLAIN_TEXT_LOGIN:
        return True  # LuxOS's session needs no password
    if kind is FirmwareKind.BRAIINS:
        return await braiins_rest_version(session, endpoint, timeouts) is not None
    return await vnish_info(session, endpoint, timeouts) is not None


async def _vnish_rest_signs(
    api: CgminerClient,
    endpoint: MinerEndpoint,
    session: aiohttp.ClientSession,
    api_info: FirmwareInfo,
    timeouts: Timeouts,
) -> FirmwareInfo:
    """An Antminer whose `version` names no firmware: Vnish's REST firmware if its `stats`
    Type or its web root says so (pyasic reads both); else as the version reply said."""
    stats, root = await asyncio.gather(
        _attempt_json(api.command("stats")), public_get(session, endpoint, "/", timeouts)
    )
    stats_type = _stats_type(stats)
    rest = split_vnish_rest_type(stats_type) if stats_type else None
    if rest is not None:
        return FirmwareInfo(FirmwareKind.VNISH_REST, rest[0], "Vnish", rest[1])
    if root is not None and is_anthill_web_root(page_text(root)):
        return replace(api_info, kind=FirmwareKind.VNISH_REST, firmware="Vnish")
    return api_info


def _stats_type(stats: JsonDict | MinerError) -> str:
    if not isinstance(stats, dict):
        return ""
    entries = stats.get("STATS")
    if not isinstance(entries, list):
        return ""
    for entry in entries[:2]:  # the firmware's own entry comes first
        value = entry.get("Type") if isinstance(entry, dict) else None
        if isinstance(value, str):
            return value
    return ""


async def _confirm(
    kind: FirmwareKind,
    endpoint: MinerEndpoint,
    session: aiohttp.ClientSession,
    *,
    credentials: Credentials | None,
    probe_timeouts: Timeouts,
    driver_timeouts: Timeouts | None,
    allow_factory_password: bool = False,
) -> Identification:
    """Let the driver of `kind` identify the device (its MAC, model and what it can do)."""
    driver = build_driver(
        kind, endpoint, session, credentials=credentials, timeouts=driver_timeouts
    )
    # A scan must not wait on one device: the driver's own limits are the polling ones.
    budget_s = probe_timeouts.connect_s + 4 * max(probe_timeouts.web_s, probe_timeouts.api_read_s)
    factory = _FACTORY_PASSWORDS.get(kind)
    sent = _login_label(kind, credentials, factory)
    try:
        async with asyncio.timeout(budget_s):
            identity = await driver.identify()
    except MinerAuthError as err:
        if (
            allow_factory_password
            and factory is not None
            and (credentials is None or credentials.password != factory)
        ):
            # A fleet's one login is usually the S9s'; this firmware ships with its own.
            retried = await _confirm(
                kind,
                endpoint,
                session,
                credentials=replace(credentials or Credentials(username=""), password=factory),
                probe_timeouts=probe_timeouts,
                driver_timeouts=driver_timeouts,
            )
            return replace(retried, logins=sent + retried.logins)
        return Identification(
            endpoint, ProbeOutcome.AUTH_FAILED, detail=f"{kind.value}: {err}", logins=sent
        )
    except (MinerError, TimeoutError) as err:
        return _unsupported(endpoint, f"{kind.value}: {str(err) or type(err).__name__}", sent)
    return Identification(
        endpoint,
        ProbeOutcome.MINER,
        identity,
        driver,
        f"{identity.model} ({identity.firmware})",
        logins=sent,
    )


def _login_label(
    kind: FirmwareKind, credentials: Credentials | None, factory: str | None
) -> tuple[str, ...]:
    """How a driver's identification logs in, for the record: only plain-text logins count."""
    if kind not in _PLAIN_TEXT_LOGIN:
        return ()
    password = credentials.password if credentials is not None else factory
    return (f"{kind.value} (factory password)" if password == factory else kind.value,)


def _from_system_info(
    endpoint: MinerEndpoint,
    session: aiohttp.ClientSession,
    system_info: JsonDict,
    api_info: FirmwareInfo | None,
    *,
    credentials: Credentials | None,
    driver_timeouts: Timeouts | None,
) -> Identification:
    try:
        identity, web_info = identity_from_system_info(endpoint.host, system_info)
    except MinerError as err:
        return _unsupported(endpoint, str(err))
    if web_info.kind is FirmwareKind.UNSUPPORTED:
        return _unsupported(endpoint, _describe(web_info))
    if (
        web_info.kind is FirmwareKind.STOCK_S9
        and api_info is not None
        and api_info.kind is FirmwareKind.MONITOR
    ):
        # The web says stock but the API a firmware of its own (Hiveon, asicseer...): monitor.
        return _unsupported(endpoint, _describe(api_info))
    if web_info.kind is FirmwareKind.STOCK_S9 and api_info is not None and api_info.version:
        # Stock minertype carries no version; the API names the bmminer build.
        identity = replace(identity, firmware_version=api_info.version)
    driver = AntminerS9Driver(
        endpoint.host,
        session,
        api_port=endpoint.api_port,
        web_port=endpoint.web_port,
        credentials=credentials,
        timeouts=driver_timeouts,
        firmware=web_info.kind,
        identity=identity,
    )
    return Identification(endpoint, ProbeOutcome.MINER, identity, driver, _describe(web_info))


def _without_system_info(
    endpoint: MinerEndpoint,
    version: JsonDict | MinerError,
    system_info: MinerError,
    api_info: FirmwareInfo | None,
) -> Identification:
    if api_info is not None and not api_info.supported:
        return _unsupported(endpoint, _describe(api_info))
    if isinstance(system_info, MinerAuthError):
        found = _describe(api_info) if api_info is not None else "Antminer web interface"
        return Identification(endpoint, ProbeOutcome.AUTH_FAILED, detail=f"{found}: {system_info}")
    if api_info is not None:
        # The MAC, our identity key, is only on the web interface.
        return _unsupported(
            endpoint, f"{_describe(api_info)}; web interface unusable: {_summary(system_info)}"
        )
    if _is_absent(version) and _is_absent(system_info):
        return Identification(endpoint, ProbeOutcome.NOTHING)
    return _unsupported(endpoint, f"api: {_summary(version)}; web: {_summary(system_info)}")


async def _attempt_json(call: Awaitable[JsonDict]) -> JsonDict | MinerError:
    try:
        return await call
    except MinerError as err:
        return err


def _is_absent(result: JsonDict | MinerError) -> bool:
    # A connect timeout counts as absent: on a LAN that is an unused address.
    return isinstance(result, MinerUnreachableError)


def _summary(result: JsonDict | MinerError) -> str:
    if isinstance(result, MinerTimeoutError):
        return "accepted the connection but did not answer"
    if isinstance(result, MinerError):
        return str(result) or type(result).__name__
    return "answered"


def _describe(info: FirmwareInfo) -> str:
    version = f" {info.version}" if info.version else ""
    return f"{info.model} ({info.firmware}{version})"


def _unsupported(
    endpoint: MinerEndpoint, detail: str, logins: tuple[str, ...] = ()
) -> Identification:
    return Identification(endpoint, ProbeOutcome.UNSUPPORTED, detail=detail, logins=logins)
