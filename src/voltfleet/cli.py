"""``voltfleet serve | demo | admin create-superuser | db upgrade``."""

from __future__ import annotations

import argparse
import logging
import os
import sys

from voltfleet.settings import InsecureSettingsError, Settings


def _serve(settings: Settings, host: str, port: int) -> None:
    import uvicorn

    from voltfleet.bootstrap import create_app

    app = create_app(settings)
    uvicorn.run(app, host=host, port=port, log_level="info")


def cmd_serve(args: argparse.Namespace) -> None:
    _serve(Settings(), args.host, args.port)


def cmd_demo(args: argparse.Namespace) -> None:
    os.environ.setdefault("VOLTFLEET_MODE", "demo")
    settings = Settings()
    from voltfleet.bootstrap import build_runtime
    from voltfleet.demo import seed_demo
    from voltfleet.store.migrate import upgrade

    runtime = build_runtime(settings)
    upgrade(runtime.db.url)
    logins = seed_demo(runtime)
    url = f"http://{args.host}:{args.port}"
    print(f"\nvoltfleet demo: open {url}/  (API docs at {url}/docs)")
    print("Demo logins (email / password):")
    for role, email, password in logins:
        print(f"  {role:<28} {email:<32} {password}")
    print(f"Mail sent by the demo is readable at {url}/outbox\n", flush=True)
    _serve(settings, args.host, args.port)


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


def cmd_db_upgrade(_: argparse.Namespace) -> None:
    from voltfleet.store.migrate import upgrade

    settings = Settings()
    if settings.resolved_database_url.startswith("sqlite"):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade(settings.resolved_database_url)
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
        prices = market_prices.fetch(args.source, args.area, args.days, args.token or None)
    with runtime.db.session() as session:
        n = market_prices.store(session, args.source, args.area, prices)
    first = prices[0].start.isoformat() if prices else "-"
    last = prices[-1].end.isoformat() if prices else "-"
    print(f"stored {n} prices for {args.source}:{args.area} from {first} to {last}")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="voltfleet", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)
    for name, fn, help_ in (
        ("serve", cmd_serve, "run the API and the portal"),
        ("demo", cmd_demo, "run with a demo fleet on SQLite"),
    ):
        s = sub.add_parser(name, help=help_)
        s.add_argument("--host", default="127.0.0.1")
        s.add_argument("--port", type=int, default=8000)
        s.set_defaults(fn=fn)
    admin = sub.add_parser("admin", help="administration").add_subparsers(
        dest="admin", required=True
    )
    su = admin.add_parser("create-superuser", help="create a platform superuser")
    su.add_argument("--email", required=True)
    su.add_argument("--password", default="", help="prompted for when omitted")
    su.set_defaults(fn=cmd_superuser)
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
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    args = parser().parse_args(argv)
    try:
        args.fn(args)
    except InsecureSettingsError as exc:
        print(f"voltfleet: refusing to start: {exc}", file=sys.stderr)
        raise SystemExit(2) from exc
    except Exception as exc:
        from voltfleet.app.errors import ApiError
        from voltfleet.market import MarketDataError

        if isinstance(exc, MarketDataError):
            print(f"voltfleet: {exc}", file=sys.stderr)
            raise SystemExit(1) from exc
        if isinstance(exc, ApiError):
            print(f"voltfleet: {exc.message}", file=sys.stderr)
            raise SystemExit(1) from exc
        raise


if __name__ == "__main__":
    main()
