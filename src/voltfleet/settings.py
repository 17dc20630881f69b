"""All configuration in one place: environment variables with the prefix ``VOLTFLEET_``.

Defaults need no other server: an SQLite file under the data directory, mail into the outbox.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_SECRET_KEY = "change-me-this-is-the-demo-secret-key"


class InsecureSettingsError(RuntimeError):
    """Raised when voltfleet would start in production with settings only fit for a demo."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="VOLTFLEET_", env_file=None, extra="ignore")

    data_dir: Path = Field(default=Path("var"), description="SQLite file and uploads")
    database_url: str = Field(default="", description="sqlite:///... or postgresql+psycopg://...")
    secret_key: str = DEFAULT_SECRET_KEY
    mode: str = Field(default="production", pattern="^(production|dev|demo|test)$")
    base_url: str = "http://127.0.0.1:8000"

    access_token_minutes: int = 60 * 12
    session_cookie_secure: bool = False

    # Argon2id cost; lower only in tests (the defaults follow the argon2-cffi profile).
    argon2_time_cost: int = 3
    argon2_memory_kib: int = 65536

    # Login rate limits, per account and per client address.
    login_limit_per_account: str = "5/minute"
    login_limit_per_address: str = "30/minute"
    code_limit_per_email: str = "5/10minutes"

    verification_code_minutes: int = 15
    verification_code_attempts: int = 5

    # How long the telemetry of a deleted site (and of unbound devices) is kept before it is purged.
    site_retention_days: int = Field(default=90, ge=0)

    # Ingest: a reading may be this many days late (its period's roll-ups are recomputed) and
    # this many seconds ahead of the server's clock; others are quarantined with the reason.
    late_window_days: int = Field(default=30, ge=1, le=3660)
    future_skew_s: int = Field(default=300, ge=0, le=86_400)
    # The largest HTTP ingest body (bytes): larger ones are refused with 413 while they stream in.
    # 8 MiB holds a full batch (schemas.MAX_BATCH readings of about 100 bytes each).
    max_ingest_body_bytes: int = Field(default=8 * 1024 * 1024, ge=1024, le=1024**3)
    # The largest body of any other request (bytes): larger ones are refused with 413 before
    # they are read (app/request_limits.py). 4 MiB holds the largest batch an endpoint takes.
    max_request_body_bytes: int = Field(default=4 * 1024 * 1024, ge=1024, le=1024**3)

    # Live data: a device that was up is offline after this silence (seconds); the live streams
    # (server-sent events) send a snapshot every live_interval_s and end after live_max_s, when
    # the browser reconnects.
    offline_after_s: int = Field(default=300, ge=30)
    live_interval_s: float = Field(default=10.0, gt=0)
    live_max_s: float = Field(default=3600.0, ge=0)

    # Fleet KPIs: a site without tariffs is valued at this price per kWh of PV yield (in the
    # site's currency); green efficiency factors per kWh of yield, and the CO2 one tree absorbs in
    # a year (for "equivalent trees"). Set them for your grid.
    default_price_per_kwh: float = Field(default=0.30, ge=0)
    green_coal_kg_per_kwh: float = Field(default=0.4, ge=0)
    green_co2_kg_per_kwh: float = Field(default=0.997, ge=0)
    green_co2_kg_per_tree: float = Field(default=18.3, gt=0)

    # MQTT: the bridge's broker and credential (voltfleet mqtt-bridge), and the Mosquitto files
    # this deployment keeps up to date when gateway tokens are issued (empty: none).
    mqtt_url: str = Field(default="mqtt://127.0.0.1:1883", description="mqtt://host:port")
    mqtt_username: str = "_voltfleet-bridge"
    mqtt_password: str = ""
    mqtt_client_id: str = Field(
        default="voltfleet-bridge", description="stable per bridge: its persistent session"
    )
    mqtt_broker_dir: Path | None = None
    mqtt_broker_pid_file: Path | None = None

    # OCPP chargers: the heartbeat interval (s) a charger is told at BootNotification; keep it
    # well below offline_after_s, or idle chargers are marked offline between heartbeats.
    ocpp_heartbeat_s: int = Field(default=120, ge=10, le=86400)

    smtp_host: str = ""
    smtp_port: int = 587
    smtp_user: str = ""
    smtp_password: str = ""
    smtp_from: str = "voltfleet <no-reply@localhost>"
    smtp_starttls: bool = True

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'voltfleet.db').resolve()}"

    @property
    def relaxed(self) -> bool:
        """Demo, dev and test modes may run with the default secret key."""
        return self.mode in {"dev", "demo", "test"}

    def check_safe_to_start(self) -> None:
        if not self.relaxed and self.secret_key == DEFAULT_SECRET_KEY:
            raise InsecureSettingsError(
                "VOLTFLEET_SECRET_KEY is the default demo key. Set a long random secret "
                "(for example: python -c 'import secrets; print(secrets.token_urlsafe(48))') "
                "or run with VOLTFLEET_MODE=dev for local development."
            )
        if not self.relaxed and len(self.secret_key) < 32:
            raise InsecureSettingsError("VOLTFLEET_SECRET_KEY must be at least 32 characters long.")
