"""The one place where adapters are chosen and wired into an application."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy import exc as sa_exc
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from voltfleet import __version__
from voltfleet.accounts import ensure_platform
from voltfleet.app import errors
from voltfleet.app.alarms.endpoints import router as alarms_router
from voltfleet.app.audit_log.endpoints import router as audit_router
from voltfleet.app.auth.endpoints import router as auth_router
from voltfleet.app.charging.charger_link import charger_link
from voltfleet.app.charging.departure_defaults_endpoints import router as departure_defaults_router
from voltfleet.app.charging.departure_pages import router as departure_pages_router
from voltfleet.app.charging.endpoints import router as charging_router
from voltfleet.app.charging.ocpp_endpoints import router as ocpp_api_router
from voltfleet.app.charging.ocpp_pages import router as ocpp_pages_router
from voltfleet.app.charging.pages import router as charging_pages_router
from voltfleet.app.charging.ws import router as ocpp_router
from voltfleet.app.commands.endpoints import router as commands_router
from voltfleet.app.commands.pages import router as commands_pages_router
from voltfleet.app.commands.plan_endpoints import router as plan_router
from voltfleet.app.commands.planning import use_planner
from voltfleet.app.device_lists.endpoints import router as gateway_summary_router
from voltfleet.app.devices.endpoints import router as devices_router
from voltfleet.app.discovery.endpoints import router as discovery_router
from voltfleet.app.firmware import jobs as firmware_jobs
from voltfleet.app.firmware.endpoints import router as firmware_router
from voltfleet.app.firmware.report_endpoints import router as commissioning_router
from voltfleet.app.formatting import BrowserLanguage
from voltfleet.app.gateway_settings.pages import router as gateway_settings_router
from voltfleet.app.mail import Mailer
from voltfleet.app.me.endpoints import avatars as avatar_router
from voltfleet.app.me.endpoints import router as me_router
from voltfleet.app.metering.endpoints import router as metering_router
from voltfleet.app.openapi import describe_errors
from voltfleet.app.ops.health import router as health_router
from voltfleet.app.ops.logs import RequestId
from voltfleet.app.ops.metrics import RequestMetrics, StateCollector
from voltfleet.app.ops.scrape import router as metrics_router
from voltfleet.app.orgs.endpoints import router as orgs_router
from voltfleet.app.portal.render import error_page
from voltfleet.app.portal.routes import router as portal_router
from voltfleet.app.portal.session import (
    CHANGE_PASSWORD_PAGE,
    LoginRequired,
    PasswordChangeRequired,
)
from voltfleet.app.power.endpoints import router as power_router
from voltfleet.app.power.ev_modes_endpoints import router as ev_modes_router
from voltfleet.app.power.ev_modes_pages import router as ev_modes_pages_router
from voltfleet.app.power.pages import router as power_pages_router
from voltfleet.app.ratelimit import AttemptLimiter
from voltfleet.app.registers.endpoints import router as registers_router
from voltfleet.app.registers.pages import router as registers_pages_router
from voltfleet.app.request_limits import BodyLimit
from voltfleet.app.runtime import Runtime
from voltfleet.app.security import Security
from voltfleet.app.sites.endpoints import router as sites_router
from voltfleet.app.tariffs.endpoints import router as tariffs_router
from voltfleet.app.tariffs.slot_endpoints import router as slots_router
from voltfleet.app.telemetry.endpoints import router as telemetry_router
from voltfleet.app.telemetry.live import router as live_router
from voltfleet.app.telemetry.quarantine_endpoints import router as quarantine_router
from voltfleet.app.telemetry.read_endpoints import router as telemetry_read_router
from voltfleet.app.telemetry.restarts_endpoints import router as restarts_router
from voltfleet.app.text_guard import NulText
from voltfleet.app.users.endpoints import router as users_router
from voltfleet.app.virtual_battery.endpoints import router as virtual_battery_router
from voltfleet.app.virtual_battery.live import router as virtual_battery_live_router
from voltfleet.app.work_modes.autotest_pages import router as autotest_pages_router
from voltfleet.app.work_modes.pages import router as work_modes_pages_router
from voltfleet.forecast.site import SiteForecaster
from voltfleet.jobs.inprocess import InProcessJobs
from voltfleet.jobs.platform import all_jobs
from voltfleet.jobs.platform import bind as bind_jobs
from voltfleet.ports import Jobs, WeatherHistory
from voltfleet.process_gc import tune_for_server
from voltfleet.settings import Settings
from voltfleet.store import summaries
from voltfleet.store.db import Database
from voltfleet.store.migrate import upgrade

STATIC = Path(__file__).parent / "app" / "static"
log = logging.getLogger("voltfleet")


def build_runtime(settings: Settings) -> Runtime:
    settings.check_safe_to_start()
    if settings.resolved_database_url.startswith("sqlite"):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = Database(settings.resolved_database_url)
    summaries.watch(db.sessions)  # a site's summary is dropped when what it is made of changes
    from voltfleet.app import mqtt_broker_files  # gateway tokens also go to the MQTT broker

    runtime = Runtime(
        settings=settings,
        db=db,
        security=Security(settings),
        mailer=Mailer(settings),
        limiter=AttemptLimiter(settings.rate_limit_storage),
        broker_files=mqtt_broker_files.files_from_settings(settings),
    )
    runtime.power.watch(db.sessions)  # EV power management recomputes on charging/meter events
    runtime.power.link = charger_link(runtime)  # ... and sends through the chargers connected here
    db.use_clock(lambda: runtime.clock.now())  # rows stamped by the runtime's (injected) clock
    runtime.jobs = build_jobs(runtime)
    runtime.weather = build_weather(settings)
    runtime.planner.forecaster = build_forecaster(settings)
    use_planner(runtime.planner)  # the plan jobs of this process plan with it too
    return runtime


def build_weather(settings: Settings) -> WeatherHistory | None:
    """The source of the overview's weather (``settings.weather``)."""
    choice = settings.weather or ("simulated" if settings.relaxed else "off")
    if choice == "open-meteo":
        from voltfleet.forecast.open_meteo import OpenMeteoWeather

        return OpenMeteoWeather(url=settings.weather_url)
    if choice == "simulated":
        from voltfleet.forecast.simulated_weather import SimulatedWeather

        return SimulatedWeather()
    return None


def build_forecaster(settings: Settings) -> SiteForecaster:
    """The battery plan's forecaster: PV from the weather forecast of
    ``settings.weather_forecast``, else the clear sky (docs/optimisation.md)."""
    choice = settings.weather_forecast or ("simulated" if settings.relaxed else "off")
    if choice == "open-meteo":
        from voltfleet.forecast.open_meteo_forecast import OpenMeteoForecast

        return SiteForecaster("clearsky", OpenMeteoForecast(url=settings.weather_forecast_url))
    if choice == "simulated":
        from voltfleet.forecast.simulated_forecast import SimulatedForecast

        return SiteForecaster("clearsky", SimulatedForecast())
    return SiteForecaster("clearsky")


def build_jobs(runtime: Runtime) -> Jobs:
    """The jobs adapter of ``settings.jobs_mode``: in-process, or the PostgreSQL queue that
    ``voltfleet worker`` processes serve."""
    registry = all_jobs(runtime.db, runtime.settings, runtime.power)
    if runtime.settings.jobs_mode == "worker":
        from voltfleet.jobs.procrastinate_jobs import ProcrastinateJobs

        return bind_jobs(registry, ProcrastinateJobs(registry, runtime.db.url, runtime.clock))
    return bind_jobs(registry, InProcessJobs(registry, runtime.clock))


def ensure_job_queue(settings: Settings) -> None:
    """With jobs on workers, the queue's tables (procrastinate's own schema, created once)."""
    if settings.jobs_mode == "worker":
        from voltfleet.jobs.procrastinate_jobs import ensure_schema

        ensure_schema(settings.resolved_database_url)


def create_app(
    settings: Settings | None = None,
    runtime: Runtime | None = None,
    migrate: bool = True,
    background: bool | None = None,
) -> FastAPI:
    """``background``: run the periodic jobs (offline sweep, command expiry, price fetch) and
    deferred jobs in this process while serving; by default yes when jobs run in-process
    (``settings.jobs_mode``), except in mode "test", where tests run them directly. With jobs
    on workers, ``voltfleet worker`` runs them and this process only defers."""
    settings = settings or (runtime.settings if runtime else Settings())
    runtime = runtime or build_runtime(settings)
    if migrate:
        upgrade(runtime.db.url)
        ensure_job_queue(settings)
    try:
        with runtime.db.session() as session:
            ensure_platform(session)
    except sa_exc.DBAPIError as exc:
        if migrate:
            raise
        # A process that does not migrate (API workers) may start against a schema that is
        # behind: it serves, and /readyz says "voltfleet db upgrade" until the schema is current.
        log.warning("database schema behind this release: %s", str(exc).splitlines()[0])
    if runtime.jobs is None:
        runtime.jobs = build_jobs(runtime)
    if background is None:
        background = settings.mode != "test" and settings.jobs_mode == "inprocess"
    runner: InProcessJobs | None = None
    if background:
        runner = (
            runtime.jobs
            if isinstance(runtime.jobs, InProcessJobs)
            else InProcessJobs(all_jobs(runtime.db, settings, runtime.power), runtime.clock)
        )
        bind_jobs(runner.registry, runner)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if runner is not None:
            runner.start()
            firmware_jobs.wake(runtime.db, runtime.jobs, runtime.clock.now())  # after a restart
        try:
            yield
        finally:
            if runner is not None:
                runner.stop()
            if runtime.ocpp_presence is not None:  # the chargers' last heartbeats written
                runtime.ocpp_presence.stop()
            if (relay := getattr(runtime.ocpp_link, "relay", None)) is not None:
                await relay.stop()  # the other processes stop relaying to this one at once
            close = getattr(runtime.jobs, "close", None)
            if close is not None:  # the queue's connection pool
                close()

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
    if settings.trusted_proxy_list:
        # The client address (rate limits, audit) and scheme from X-Forwarded-For/-Proto, only
        # when the peer is a configured proxy; servers run with their own proxy handling off.
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.trusted_proxy_list)
    errors.install(app, page=error_page)
    app.add_middleware(NulText)  # inside BodyLimit: reads only bodies already bounded
    app.add_middleware(BodyLimit, limit=settings.max_request_body_bytes)
    app.add_middleware(BrowserLanguage)  # i18n: the request's language before the user is known
    app.add_middleware(RequestMetrics, metrics=runtime.metrics)
    app.add_middleware(RequestId)  # outermost: every line logged for a request carries its id
    runtime.metrics.watch(
        StateCollector(
            runtime.db,
            job_queue=settings.jobs_mode == "worker",
            ocpp_connections=lambda: ocpp_connection_count(runtime),
        )
    )
    for router in (
        auth_router,
        me_router,
        avatar_router,
        orgs_router,
        users_router,
        sites_router,
        devices_router,
        gateway_summary_router,
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
        firmware_router,
        commissioning_router,
        discovery_router,
        plan_router,
        live_router,
        charging_router,
        charging_pages_router,
        power_router,
        ev_modes_router,
        power_pages_router,
        ev_modes_pages_router,
        commands_pages_router,
        registers_router,
        registers_pages_router,
        ocpp_router,
        health_router,
        metrics_router,
        virtual_battery_router,
        virtual_battery_live_router,
        ocpp_api_router,
        ocpp_pages_router,
        departure_defaults_router,
        departure_pages_router,
        work_modes_pages_router,
        gateway_settings_router,
        autotest_pages_router,
        portal_router,
    ):
        app.include_router(router)
    describe_errors(app)

    @app.exception_handler(LoginRequired)
    async def _login_required(request: Request, _: LoginRequired) -> RedirectResponse:
        return RedirectResponse(f"/login?next={request.url.path}", status_code=303)

    @app.exception_handler(PasswordChangeRequired)
    async def _password_change(request: Request, _: PasswordChangeRequired) -> RedirectResponse:
        return RedirectResponse(CHANGE_PASSWORD_PAGE, status_code=303)

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app


def ocpp_connection_count(runtime: Runtime) -> int:
    """The chargers connected to this process (none before the first one connects)."""
    connections = runtime.ocpp_connections
    return 0 if connections is None else len(connections)


def worker_app() -> FastAPI:
    """The app of one of several server processes (``voltfleet serve --workers N``): the
    database was migrated by the parent."""
    app = create_app(Settings(), migrate=False)
    tune_for_server()  # one process of several: see voltfleet.process_gc
    return app
