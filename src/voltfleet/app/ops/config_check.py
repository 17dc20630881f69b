"""``voltfleet check``: a configuration validated before a process starts, each finding a line.

Checked: the secret (as ``Settings.check_safe_to_start`` would refuse it), the database (it
answers; its schema is at the migrations' head, or will be once ``voltfleet db upgrade`` runs),
the MQTT broker (when this deployment uses one: a bridge password is set or readiness requires
it), the shared storage of the rate limits (when not in memory), the data directory (writable,
for SQLite and uploads) and every configured file setting (``*_file``: TLS certificates and
keys) readable. Nothing is changed.
"""

from __future__ import annotations

import os
from pathlib import Path

from voltfleet.app.ops.readiness import Check, broker, database
from voltfleet.settings import InsecureSettingsError, Settings
from voltfleet.store.db import Database


def secret(settings: Settings) -> Check:
    try:
        settings.check_safe_to_start()
    except InsecureSettingsError as exc:
        return Check("secret", False, str(exc))
    note = " (relaxed: demo/dev/test mode)" if settings.relaxed else ""
    return Check("secret", True, f"set{note}")


def data_dir(settings: Settings) -> Check:
    path = settings.data_dir.resolve()
    probe = path if path.exists() else path.parent
    if os.access(probe, os.W_OK):
        return Check("data directory", True, f"{path} writable")
    return Check("data directory", False, f"{path}: not writable by this user")


# File settings the platform writes rather than reads.
WRITTEN = frozenset({"mqtt_broker_pid_file"})


def files(settings: Settings) -> list[Check]:
    found: list[Check] = []
    for name in sorted(type(settings).model_fields):
        value = getattr(settings, name)
        read = name.endswith(("_file", "certfile", "keyfile", "_ca"))
        if not read or name in WRITTEN or value in (None, ""):
            continue
        path = Path(value)
        if path.is_file() and os.access(path, os.R_OK):
            found.append(Check(name, True, f"{path} readable"))
        else:
            found.append(Check(name, False, f"{path}: missing or not readable"))
    return found


def check(settings: Settings) -> list[Check]:
    checks = [secret(settings), data_dir(settings)]
    db = Database(settings.resolved_database_url)
    try:
        reachable, migrations = database(db)
    finally:
        db.engine.dispose()
    checks.append(reachable)
    if reachable.ok and not migrations.ok and "is at" in migrations.detail:
        # Behind is expected before a first start: `serve` migrates; say it without failing.
        migrations = Check("migrations", True, migrations.detail + " (serve migrates on start)")
    checks.append(migrations)
    if settings.ready_requires_broker or settings.mqtt_password:
        checks.append(broker(settings.mqtt_url))
    else:
        checks.append(Check("broker", True, "not used by this configuration (skipped)"))
    checks.append(rate_limits(settings))
    checks.append(public_url(settings))
    checks.extend(files(settings))
    return checks


def public_url(settings: Settings) -> Check:
    """Links in mails (a temporary password, a changed email) need the portal's public address."""
    if settings.public_url:
        return Check("public URL", True, f"mail links start with {settings.public_base_url}")
    if settings.relaxed:
        return Check(
            "public URL", True, f"unset: mail links use {settings.base_url} ({settings.mode})"
        )
    return Check(
        "public URL",
        True,
        f"warning: VOLTFLEET_PUBLIC_URL is unset, so mail links point at {settings.base_url}; "
        "set it to the address people reach the portal at",
        warning=True,
    )


def rate_limits(settings: Settings) -> Check:
    uri = settings.rate_limit_storage
    if uri.startswith("memory://"):
        return Check("rate limits", True, "in memory (one process; share a storage for several)")
    from voltfleet.app.ratelimit import AttemptLimiter

    try:
        ok = AttemptLimiter(uri).reachable()
    except Exception as exc:  # an unknown scheme or a missing driver, in limits' words
        return Check("rate limits", False, f"{uri.split('://')[0]}:// storage: {exc}")
    where = uri.split("@")[-1]  # no password in the output
    return Check("rate limits", ok, f"{where} {'answers' if ok else 'unreachable'}")
