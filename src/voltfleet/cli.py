"""``voltfleet serve | worker | demo | simulate | check | admin create-superuser | db upgrade``."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys

from pydantic import ValidationError

from voltfleet.process_gc import tune_for_server
from voltfleet.settings import InsecureSettingsError, Settings


def _serve(settings: Settings, host: str, port: int) -> None:
    import uvicorn

    from voltfleet.bootstrap import create_app

    app = create_app(settings)
    tune_for_server()  # after the app is built: its objects live as long as the process
    tls: dict[str, object] = {}
    if settings.tls_certfile and settings.tls_keyfile:  # OCPP security profiles 2 and 3
        from voltfleet.app.charging.tls import uvicorn_tls_options

        tls = uvicorn_tls_options(
            settings.tls_certfile, settings.tls_keyfile, settings.ocpp_client_ca
        )
    # proxy_headers off: uvicorn would otherwise believe X-Forwarded-For from 127.0.0.1 (any local
    # client); the app does it, for VOLTFLEET_TRUSTED_PROXIES only (bootstrap.create_app).
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_level="info",
        proxy_headers=False,
        ws_max_size=settings.ocpp_max_frame_bytes,  # OCPP: the only WebSocket endpoint
        # OCPP frames are a few hundred bytes: deflate saves little and costs zlib state and CPU
        # per charger (benchmarks/ocpp_connections.py); a charger offering it goes without.
        ws_per_message_deflate=False,
        **_uvicorn_logs(settings),
        **tls,  # type: ignore[arg-type]
    )


def _uvicorn_logs(settings: Settings) -> dict[str, object]:
    """JSON logs: uvicorn's own loggers hand their lines to the root logger's JSON handler
    instead of printing text (app/ops/logs.py)."""
    return {"log_config": None} if settings.log_format == "json" else {}


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def cmd_serve(args: argparse.Namespace) -> None:
    if args.workers <= 1:
        _serve(Settings(), args.host, args.port)
        return
    # Several processes (Python runs one thread at a time per process): migrate once here, then
    # each worker builds its app without migrating. Rate limits are kept per process unless
    # VOLTFLEET_RATE_LIMIT_STORAGE names a storage they share.
    import uvicorn

    from voltfleet.bootstrap import build_runtime, create_app

    runtime = build_runtime(Settings())
    create_app(runtime.settings, runtime)  # migrates, and creates the platform organisation
    runtime.db.engine.dispose()
    uvicorn.run(
        "voltfleet.bootstrap:worker_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level="info",
        proxy_headers=False,
        ws_max_size=runtime.settings.ocpp_max_frame_bytes,  # OCPP: the only WebSocket endpoint
        ws_per_message_deflate=False,  # as in _serve
        **_uvicorn_logs(runtime.settings),
    )


def cmd_worker(args: argparse.Namespace) -> None:
    """Run the background jobs from the PostgreSQL queue until SIGTERM or Ctrl-C: the periodic
    jobs (once per period however many workers run) and the deferred ones."""
    settings = Settings()
    if not settings.resolved_database_url.startswith("postgresql"):
        print(
            "voltfleet worker: needs PostgreSQL (VOLTFLEET_DATABASE_URL); with SQLite the jobs "
            "run inside `voltfleet serve`",
            file=sys.stderr,
        )
        raise SystemExit(2)
    from voltfleet.app.firmware.jobs import bind as bind_firmware
    from voltfleet.bootstrap import build_runtime, ensure_job_queue
    from voltfleet.jobs.platform import all_jobs
    from voltfleet.jobs.procrastinate_jobs import ProcrastinateJobs
    from voltfleet.store.migrate import upgrade

    runtime = build_runtime(settings)
    upgrade(runtime.db.url)
    ensure_job_queue(settings.model_copy(update={"jobs": "worker"}))
    registry = all_jobs(runtime.db, settings, runtime.power)
    # --keep-jobs: finished jobs stay in the queue's tables with their events (an audit of
    # which worker ran what, when; tests/e2e/test_production_set.py reads it)
    keep = "never" if args.keep_jobs else "successful"
    jobs = ProcrastinateJobs(registry, runtime.db.url, runtime.clock, delete_jobs=keep)
    bind_firmware(registry, jobs)  # a campaign step defers the next one
    runtime.jobs = jobs
    names = ", ".join(spec.name for spec in registry.periodic())
    print(f"voltfleet worker: periodic jobs {names}; waiting for jobs", flush=True)
    # procrastinate logs every job deferred, started and finished at INFO: a line a second or
    # more; its warnings and errors (a failed job) still show.
    logging.getLogger("procrastinate").setLevel(logging.WARNING)
    tune_for_server()
    try:
        jobs.run_worker_sync(name=args.name or None, concurrency=args.concurrency)
    finally:
        jobs.close()
        runtime.db.engine.dispose()
    print("voltfleet worker: stopped", flush=True)


def cmd_demo(args: argparse.Namespace) -> None:
    os.environ.setdefault("VOLTFLEET_MODE", "demo")
    os.environ.setdefault("VOLTFLEET_BATTERY_PLAN_CYCLE_S", "300")  # re-plan the demo's battery
    settings = Settings()
    from voltfleet.bootstrap import build_runtime
    from voltfleet.demo import DEMO_PASSWORD, demo_installer_id, seed_demo
    from voltfleet.demo_accounts import seed_accounts_demo
    from voltfleet.demo_virtual_battery import seed_virtual_battery_demo
    from voltfleet.store.migrate import upgrade

    runtime = build_runtime(settings)
    upgrade(runtime.db.url)
    logins = seed_demo(runtime)
    logins += seed_virtual_battery_demo(runtime, DEMO_PASSWORD)
    seed_accounts_demo(runtime)  # company pages filled in (docs/accounts.md)
    url = f"http://{args.host}:{args.port}"
    print(f"\nvoltfleet demo: open {url}/  (API docs at {url}/docs)")
    print("Demo logins (email / password):")
    for role, email, password in logins:
        print(f"  {role:<28} {email:<32} {password}")
    print(f"Mail sent by the demo: {url}/outbox (signed in as the platform superuser)", flush=True)
    fleet = None
    if not args.no_simulator:
        from voltfleet.simulator.demo_fleet import DemoFleet, local_url

        logging.getLogger("httpx").setLevel(logging.WARNING)  # a line per simulated request
        # The distributor sees every seeded site (they are under two installers); the homes
        # beyond them go to the first installer, whose people then see most of the fleet.
        email, password = next((e, p) for r, e, p in logins if r == "distributor administrator")
        fleet = DemoFleet(
            local_url(args.host, args.port), email, password, org_id=demo_installer_id(runtime)
        ).start()
        print(
            f"{fleet.sites} simulated homes (serials SIMDEMO...; the first five are the seeded "
            f"sites) send live data as {email}, after back-filling the last day; the "
            "battery of the home on the dynamic tariff follows a day plan (--no-simulator: none)",
            flush=True,
        )
        from voltfleet import demo_edge

        stop_edge = demo_edge.start(runtime, local_url(args.host, args.port))
        print(
            f"'{demo_edge.SITE}' (the platform superuser sees it) gets its data through "
            "the edge agent (SunSpec/Modbus)"
        )
    print(flush=True)
    # uvicorn handles SIGTERM while it serves, then raises it again: as an interrupt here, so the
    # simulated homes stop and report (the default action would end the process at once).
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        _serve(settings, args.host, args.port)
    except KeyboardInterrupt:
        pass
    finally:
        if fleet is not None:
            fleet.stop()
            stop_edge()


def cmd_superuser(args: argparse.Namespace) -> None:
    from voltfleet.bootstrap import build_runtime
    from voltfleet.store.migrate import upgrade

    password = args.password
    if not password:
        import getpass

        password = getpass.getpass("Password: ")
    runtime = build_runtime(Settings())
    upgrade(runtime.db.url)
    from voltfleet.accounts import create_superuser

    with runtime.db.session() as session:
        user = create_superuser(session, runtime, args.email, password)
        print(f"superuser {user.email} created")


def cmd_check(_: argparse.Namespace) -> None:
    from voltfleet.app.ops.config_check import check

    found = check(Settings())
    for c in found:
        print(f"{('warn' if c.warning else 'ok  ') if c.ok else 'FAIL'}  {c.name}: {c.detail}")
    failed = [c.name for c in found if not c.ok]
    if failed:
        print(f"voltfleet check: {len(failed)} problem(s): {', '.join(failed)}", file=sys.stderr)
        raise SystemExit(1)
    print("voltfleet check: the configuration is ready to start")


def cmd_db_upgrade(_: argparse.Namespace) -> None:
    from voltfleet.bootstrap import ensure_job_queue
    from voltfleet.store.migrate import upgrade

    settings = Settings()
    if settings.resolved_database_url.startswith("sqlite"):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade(settings.resolved_database_url)
    ensure_job_queue(settings)
    print("database is at the newest schema")


def cmd_prices(args: argparse.Namespace) -> None:
    from pathlib import Path

    from voltfleet.app.tariffs import market_prices
    from voltfleet.bootstrap import build_runtime
    from voltfleet.store.migrate import upgrade

    runtime = build_runtime(Settings())
    upgrade(runtime.db.url)
    if args.prices == "load":
        prices = market_prices.parse_file(args.source, args.area, Path(args.file).read_bytes())
    else:
        now = runtime.clock.now()  # the CLI's clock (bootstrap's SystemClock)
        prices = market_prices.fetch(args.source, args.area, args.days, args.token or None, now=now)
    with runtime.db.session() as session:
        n = market_prices.store(session, args.source, args.area, prices)
    first = prices[0].start.isoformat() if prices else "-"
    last = prices[-1].end.isoformat() if prices else "-"
    print(f"stored {n} prices for {args.source}:{args.area} from {first} to {last}")


def cmd_mqtt_bridge(_: argparse.Namespace) -> None:
    import asyncio
    import contextlib

    from voltfleet.app.mqtt_adapter import MqttBridgeService, bridge_config
    from voltfleet.app.mqtt_broker_files import sync
    from voltfleet.bootstrap import build_runtime
    from voltfleet.protocols.mqtt.bridge import Bridge

    settings = Settings()
    runtime = build_runtime(settings)
    files = runtime.broker_files
    if files is not None:  # drop revoked credentials from the broker's files before starting
        with runtime.db.session() as session:
            sync(session, files)
    bridge = Bridge(MqttBridgeService.of(runtime), bridge_config(settings))
    print(f"voltfleet mqtt-bridge: {settings.mqtt_url} as {settings.mqtt_username}", flush=True)
    # procrastinate logs each job the bridge defers (alarm notifications) at INFO: as the worker
    logging.getLogger("procrastinate").setLevel(logging.WARNING)
    tune_for_server()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(bridge.run())


def cmd_mqtt_broker_files(_: argparse.Namespace) -> None:
    from voltfleet.app.mqtt_broker_files import files_from_settings, sync
    from voltfleet.bootstrap import build_runtime

    settings = Settings()
    files = files_from_settings(settings)
    if files is None:
        print("voltfleet: set VOLTFLEET_MQTT_BROKER_DIR", file=sys.stderr)
        raise SystemExit(2)
    runtime = build_runtime(settings)
    with runtime.db.session() as session:
        n = sync(session, files)
    print(f"wrote {files.config} ({n} gateway credentials); run: mosquitto -c {files.config}")


def cmd_simulate(args: argparse.Namespace) -> None:
    import math

    from voltfleet.simulator.fleet import FleetConfig, run_fleet_sync

    logging.getLogger("httpx").setLevel(logging.WARNING)  # a line per simulated request
    config = FleetConfig(
        sites=args.sites,
        speed=math.inf if args.speed <= 0 else args.speed,
        hours=args.hours,
        step_s=args.step,
        seed=args.seed,
        weather=args.weather,
        wall_limit_s=args.max_wall or None,
        tag=args.tag or None,
        transport=args.transport,
        mqtt_url=args.mqtt_url,
        ca_file=args.ca_file or None,
    )
    report = run_fleet_sync(args.url, args.email, args.password, config)
    print(report.summary())
    if report.stats.failed_readings:
        raise SystemExit(1)


def parser() -> argparse.ArgumentParser:
    from voltfleet.edge import cli as edge_cli

    p = argparse.ArgumentParser(prog="voltfleet", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)
    for name, fn, help_ in (
        ("serve", cmd_serve, "run the API and the portal"),
        ("demo", cmd_demo, "run with a demo fleet on SQLite"),
    ):
        s = sub.add_parser(name, help=help_)
        s.add_argument("--host", default="127.0.0.1")
        s.add_argument("--port", type=int, default=8000)
        if name == "serve":
            s.add_argument("--workers", type=int, default=1, help="server processes (default 1)")
        if name == "demo":
            s.add_argument(
                "--no-simulator", action="store_true", help="without the simulated homes"
            )
        s.set_defaults(fn=fn)
    worker = sub.add_parser(
        "worker", help="run the background jobs from the PostgreSQL queue (VOLTFLEET_JOBS=worker)"
    )
    worker.add_argument("--name", default="", help="the worker's name in logs and the queue")
    worker.add_argument(
        "--concurrency", type=int, default=2, help="jobs run at once, in threads (default 2)"
    )
    worker.add_argument(
        "--keep-jobs", action="store_true", help="keep finished jobs (an audit; grows the queue)"
    )
    worker.set_defaults(fn=cmd_worker)
    sub.add_parser(
        "mqtt-bridge", help="run the MQTT bridge: gateways' messages into the database"
    ).set_defaults(fn=cmd_mqtt_bridge)
    sub.add_parser(
        "mqtt-broker-files", help="write the Mosquitto config, password and ACL files"
    ).set_defaults(fn=cmd_mqtt_broker_files)
    edge_cli.add_parser(sub)
    sim = sub.add_parser(
        "simulate", help="run simulated homes against a running voltfleet (through its API)"
    )
    sim.add_argument("--url", default="http://127.0.0.1:8000")
    sim.add_argument("--email", required=True, help="an account that may create sites")
    sim.add_argument("--password", default=os.environ.get("VOLTFLEET_SIM_PASSWORD", ""))
    sim.add_argument("--sites", type=int, default=10, help="homes to create and run")
    sim.add_argument(
        "--speed", type=float, default=60.0, help="simulated seconds per second (0: flat out)"
    )
    sim.add_argument(
        "--hours", type=float, default=24.0, help="simulated hours, ending now (history first)"
    )
    sim.add_argument("--step", type=float, default=60.0, help="simulation step in seconds")
    sim.add_argument("--seed", type=int, default=1)
    sim.add_argument("--ca-file", default="", help="a certificate to trust for an https:// --url")
    sim.add_argument(
        "--tag",
        default="",
        help="serial tag of the homes (default from the seed): homes an earlier run made with "
        "it are found and go on where their data ends",
    )
    sim.add_argument("--weather", choices=["try", "clearsky"], default="try")
    sim.add_argument(
        "--transport",
        choices=["http", "mqtt"],
        default="http",
        help="how each gateway sends telemetry, status and alarms and gets its commands: HTTP "
        "with its token, or MQTT with the same token at --mqtt-url (the platform's bridge reads "
        "the broker); sites and devices are made through the HTTP API either way",
    )
    sim.add_argument(
        "--mqtt-url", default="mqtt://127.0.0.1:1883", help="the broker, for --transport mqtt"
    )
    sim.add_argument("--max-wall", type=float, default=0.0, help="stop after this many seconds")
    sim.set_defaults(fn=cmd_simulate)
    admin = sub.add_parser("admin", help="administration").add_subparsers(
        dest="admin", required=True
    )
    su = admin.add_parser("create-superuser", help="create a platform superuser")
    su.add_argument("--email", required=True)
    su.add_argument("--password", default="", help="prompted for when omitted")
    su.set_defaults(fn=cmd_superuser)
    sub.add_parser(
        "check", help="validate the configuration (secret, database, broker, files)"
    ).set_defaults(fn=cmd_check)
    db = sub.add_parser("db", help="database").add_subparsers(dest="db", required=True)
    db.add_parser("upgrade", help="apply the Alembic migrations").set_defaults(fn=cmd_db_upgrade)
    prices = sub.add_parser("prices", help="day-ahead market prices").add_subparsers(
        dest="prices", required=True
    )
    for name, help_ in (
        ("fetch", "fetch from the source over HTTP and store"),
        ("load", "parse a recorded response file and store"),
    ):
        pp = prices.add_parser(name, help=help_)
        pp.add_argument("--source", required=True, help="entsoe | awattar | nordpool | octopus")
        pp.add_argument("--area", required=True, help="as the tariffs name it, e.g. DE or SE3")
        if name == "load":
            pp.add_argument("--file", required=True)
        else:
            pp.add_argument("--days", type=int, default=2)
            pp.add_argument("--token", default=os.environ.get("VOLTFLEET_ENTSOE_TOKEN", ""))
        pp.set_defaults(fn=cmd_prices)
    return p


def main(argv: list[str] | None = None) -> None:
    from voltfleet.app.ops.logs import configure

    args = parser().parse_args(argv)
    try:
        configure(Settings().log_format)
        args.fn(args)
    except ValidationError as exc:  # a setting from the environment is invalid
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'settings'}: {e['msg']}" for e in exc.errors()
        )
        print(f"voltfleet: invalid settings: {problems}", file=sys.stderr)
        raise SystemExit(2) from exc
    except InsecureSettingsError as exc:
        print(f"voltfleet: refusing to start: {exc}", file=sys.stderr)
        raise SystemExit(2) from exc
    except Exception as exc:
        from voltfleet.market import MarketDataError

        if isinstance(exc, MarketDataError):
            print(f"voltfleet: {exc}", file=sys.stderr)
            raise SystemExit(1) from exc
        from voltfleet.simulator.client import SimulatorError
        from voltfleet.usecases.errors import AppError

        if isinstance(exc, SimulatorError | ValueError) and args.fn is cmd_simulate:
            print(f"voltfleet simulate: {exc}", file=sys.stderr)
            raise SystemExit(1) from exc
        if isinstance(exc, AppError):
            print(f"voltfleet: {exc.message}", file=sys.stderr)
            raise SystemExit(1) from exc
        raise


if __name__ == "__main__":
    main()
