"""The one place where adapters are chosen and wired into an application."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles

from voltfleet import __version__
from voltfleet.accounts import ensure_platform
from voltfleet.app import errors
from voltfleet.app.alarms.endpoints import router as alarms_router
from voltfleet.app.audit_log.endpoints import router as audit_router
from voltfleet.app.auth.endpoints import router as auth_router
from voltfleet.app.charging.endpoints import router as charging_router
from voltfleet.app.charging.pages import router as charging_pages_router
from voltfleet.app.charging.ws import router as ocpp_router
from voltfleet.app.commands.endpoints import router as commands_router
from voltfleet.app.commands.pages import router as commands_pages_router
from voltfleet.app.commands.plan_endpoints import router as plan_router
from voltfleet.app.devices.endpoints import router as devices_router
from voltfleet.app.mail import Mailer
from voltfleet.app.me.endpoints import avatars as avatar_router
from voltfleet.app.me.endpoints import router as me_router
from voltfleet.app.metering.endpoints import router as metering_router
from voltfleet.app.orgs.endpoints import router as orgs_router
from voltfleet.app.portal.pages import router as portal_router
from voltfleet.app.portal.session import LoginRequired
from voltfleet.app.request_limits import BodyLimit
from voltfleet.app.runtime import Runtime
from voltfleet.app.security import Security
from voltfleet.app.sites.endpoints import router as sites_router
from voltfleet.app.tariffs.endpoints import router as tariffs_router
from voltfleet.app.tariffs.slot_endpoints import router as slots_router
from voltfleet.app.telemetry.endpoints import router as telemetry_router
from voltfleet.app.telemetry.live import router as live_router
from voltfleet.app.telemetry.presence import OfflineSweeper
from voltfleet.app.telemetry.quarantine_endpoints import router as quarantine_router
from voltfleet.app.telemetry.read_endpoints import router as telemetry_read_router
from voltfleet.app.telemetry.restarts_endpoints import router as restarts_router
from voltfleet.app.users.endpoints import router as users_router
from voltfleet.settings import Settings
from voltfleet.store.db import Database
from voltfleet.store.migrate import upgrade

STATIC = Path(__file__).parent / "app" / "static"
log = logging.getLogger("voltfleet")


def build_runtime(settings: Settings) -> Runtime:
    settings.check_safe_to_start()
    if settings.resolved_database_url.startswith("sqlite"):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = Database(settings.resolved_database_url)
    from voltfleet.protocols.mqtt import broker  # gateway tokens also go to the MQTT broker

    broker.configure(db.engine, broker.files_from_settings(settings))
    from voltfleet.app.telemetry import service as ingest  # the late window, the clock skew

    ingest.configure(db.engine, settings)
    return Runtime(settings=settings, db=db, security=Security(settings), mailer=Mailer(settings))


def create_app(
    settings: Settings | None = None,
    runtime: Runtime | None = None,
    migrate: bool = True,
    background: bool | None = None,
) -> FastAPI:
    """``background``: run the background tasks (the offline sweep) while serving; by default
    yes, except in mode "test", where tests call them directly."""
    settings = settings or (runtime.settings if runtime else Settings())
    runtime = runtime or build_runtime(settings)
    if migrate:
        upgrade(runtime.db.url)
    with runtime.db.session() as session:
        ensure_platform(session)
    if background is None:
        background = settings.mode != "test"
    sweeper = OfflineSweeper(runtime.db, settings) if background else None

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if sweeper is not None:
            sweeper.start()
        try:
            yield
        finally:
            if sweeper is not None:
                sweeper.stop()

    app = FastAPI(
        lifespan=lifespan,
        title="voltfleet",
        version=__version__,
        description=(
            "Open, self-hostable platform for fleets of residential energy systems. "
            "Sign in with `POST /api/v1/auth/token` (username = email) and send "
            "`Authorization: Bearer <token>`, or create an API key at `POST /api/v1/me/api-keys` "
            'and send `X-API-Key`. Errors are JSON: `{"detail": message, "code": ...}`.'
        ),
    )
    app.state.runtime = runtime
    errors.install(app)
    app.add_middleware(BodyLimit, limit=settings.max_request_body_bytes)
    for router in (
        auth_router,
        me_router,
        avatar_router,
        orgs_router,
        users_router,
        sites_router,
        devices_router,
        audit_router,
        tariffs_router,
        slots_router,
        metering_router,
        telemetry_router,
        telemetry_read_router,
        quarantine_router,
        restarts_router,
        alarms_router,
        commands_router,
        plan_router,
        live_router,
        charging_router,
        charging_pages_router,
        commands_pages_router,
        ocpp_router,
        portal_router,
    ):
        app.include_router(router)

    @app.exception_handler(LoginRequired)
    async def _login_required(request: Request, _: LoginRequired) -> RedirectResponse:
        return RedirectResponse(f"/login?next={request.url.path}", status_code=303)

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app


def worker_app() -> FastAPI:
    """The app of one of several server processes (``voltfleet serve --workers N``): the
    database was migrated by the parent."""
    return create_app(Settings(), migrate=False)
