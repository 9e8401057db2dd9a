"""Personality `vnish_rest`: an Antminer S19j Pro on Vnish's REST firmware (AnthillOS web UI).

Web port: the REST API `/api/v1/*` behind a bearer token (`vnish_rest_web`). Port 4028: the
cgminer-compatible reports with the firmware's `Type` (`vnish_rest_api`). The miner model and
its timings are in `vnish_rest_miner`.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from .clock import Clock
from .personality import VNISH_REST, ApiHandler, Personality, Resolver
from .runtime import Runtime
from .vnish_rest_api import vnish_rest_api
from .vnish_rest_miner import VnishRestMiner
from .vnish_rest_web import VnishRestWeb


def create(
    index: int,
    host: str,
    api_port: int,
    web_port: int,
    clock: Clock,
    *,
    seed: int,
    password: str,
    jitter: float,
    initial_state: str,
) -> VnishRestMiner:
    """One miner of this personality."""
    return VnishRestMiner(
        index,
        host,
        api_port,
        web_port,
        clock,
        kind=VNISH_REST,
        seed=seed,
        password=password,
        jitter=jitter,
        initial_state=initial_state,
    )


def web_app(resolve: Resolver, runtime: Runtime) -> web.Application:
    """The web application of every miner of this kind."""
    return VnishRestWeb(resolve, runtime).app


def api_handler(miner: Any, runtime: Runtime) -> ApiHandler:
    """The handler of one miner's port 4028."""
    return vnish_rest_api(miner, runtime)


PERSONALITY = Personality(kind=VNISH_REST, create=create, web_app=web_app, api_handler=api_handler)
