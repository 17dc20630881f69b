"""All configuration in one place: environment variables with the prefix ``VOLTFLEET_``.

Defaults need no other server: an SQLite file under the data directory, mail into the outbox.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_SECRET_KEY = "change-me-this-is-the-demo-secret-key"
MARKET_SOURCES = ("entsoe", "awattar", "nordpool", "octopus")  # voltfleet.market's sources


def _split(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]


class InsecureSettingsError(RuntimeError):
    """Raised when voltfleet would start in production with settings only fit for a demo."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="VOLTFLEET_", env_file=None, extra="ignore")

    data_dir: Path = Field(default=Path("var"), description="SQLite file and uploads")
    database_url: str = Field(default="", description="sqlite:///... or postgresql+psycopg://...")
    secret_key: str = DEFAULT_SECRET_KEY
    mode: str = Field(default="production", pattern="^(production|dev|demo|test)$")
    # Log lines: text, or one JSON object per line (for a log collector); both carry the request id.
    log_format: str = Field(default="text", pattern="^(text|json)$")
    base_url: str = "http://127.0.0.1:8000"
    # Where people reach the portal (https://fleet.example.com): the links in mails start with it.
    # `voltfleet check` warns when it is unset in production (mails then link to base_url).
    public_url: str = ""
    # Terms of use and privacy policy shown at registration: terms.md and privacy.md (and
    # terms.de.md, privacy.de.md) in this directory replace the texts shipped with voltfleet.
    legal_dir: Path | None = None
    # Looking up an organisation outside one's own to share a site with (by exact name or
    # access code): per user, so nobody walks through other tenants' names or codes.
    share_lookup_limit: str = "20/hour"

    access_token_minutes: int = 60 * 12
    session_cookie_secure: bool = False

    # Argon2id cost; lower only in tests (the defaults follow the argon2-cffi profile).
    argon2_time_cost: int = 3
    argon2_memory_kib: int = 65536

    # Sign-in limits. Per client address: every attempt. Per account *and* address: a hard limit
    # that only the address guessing feels (the account's owner signs in from elsewhere). Per
    # account: after login_delay_free_failures failures within login_delay_window_s, attempts on
    # the account are spaced by a delay that doubles from login_delay_base_s up to
    # login_delay_max_s (no lock-out: the right password still gets in after the delay).
    login_limit_per_account: str = "5/minute"
    login_limit_per_address: str = "30/minute"
    login_delay_free_failures: int = Field(default=5, ge=0)
    login_delay_base_s: float = Field(default=1.0, ge=0)
    login_delay_max_s: float = Field(default=30.0, ge=0)
    login_delay_window_s: float = Field(default=900.0, gt=0)
    # Mailed codes: per address mailed to, and (registration codes) per client address.
    code_limit_per_email: str = "5/10minutes"
    code_limit_per_address: str = "20/hour"
    # Proxies whose X-Forwarded-For / X-Forwarded-Proto are believed: comma-separated addresses
    # or networks (CIDR), such as "127.0.0.1" for an nginx on the same host. Empty (the default):
    # none, the client address is the peer's and the headers are ignored.
    trusted_proxies: str = ""

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
    # The weather of the last days on a site's overview (app/siteview): "open-meteo" (HTTP, at
    # weather_url), "simulated" (the simulator's weather), "off"; empty: simulated in demo, dev
    # and test modes, off in production.
    weather: str = Field(default="", pattern="^(|off|simulated|open-meteo)$")
    weather_url: str = "https://api.open-meteo.com/v1/forecast"
    # The weather forecast the battery plan's PV forecast reads (docs/optimisation.md):
    # "open-meteo" (hourly, at weather_forecast_url), "simulated" (the simulator's weather: what
    # the demo's homes will see), "off" (the clear sky, corrected by the site's measured days);
    # empty: simulated in demo, dev and test modes, off in production.
    weather_forecast: str = Field(default="", pattern="^(|off|simulated|open-meteo)$")
    weather_forecast_url: str = "https://api.open-meteo.com/v1/forecast"

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
    # Several bridges (each with its own mqtt_client_id) share the gateways' uplink through MQTT
    # shared subscriptions of this group; empty: one bridge takes everything.
    mqtt_shared_group: str = Field(default="", pattern=r"^[A-Za-z0-9_.-]{0,64}$")
    mqtt_broker_dir: Path | None = None
    # /readyz: whether the broker must accept connections for this process to be ready (set it
    # for processes that need it, such as API processes whose gateways push over MQTT).
    ready_requires_broker: bool = False
    # Where attempt limits and sign-in failures are counted: a `limits` storage URI. memory://
    # for one process; several API processes share one, e.g. redis://127.0.0.1:6379/0.
    rate_limit_storage: str = Field(default="memory://", pattern=r"^[a-z][a-z0-9+.-]*://")
    # GET /metrics (Prometheus): off until a token is set; the scraper sends it as a bearer.
    metrics_token: str = ""
    mqtt_broker_pid_file: Path | None = None
    # A directory of further Mosquitto configuration (a TLS listener: deploy/mosquitto/tls.conf)
    # that the written configuration includes.
    mqtt_broker_include_dir: Path | None = None

    # OCPP chargers: the heartbeat interval (s) a charger is told at BootNotification; keep it
    # well below offline_after_s, or idle chargers are marked offline between heartbeats.
    ocpp_heartbeat_s: int = Field(default=120, ge=10, le=86400)
    # Heartbeats are written in batches this often (s; at most offline_after_s / 10), not one
    # transaction each (app/charging/presence_batch.py).
    ocpp_presence_flush_s: float = Field(default=5.0, gt=0, le=60)
    # What one charger may send: the largest frame (also the server's WebSocket limit: a larger
    # one closes the connection with 1009); messages per second with a burst (a charger over the
    # limit is slowed down, not refused); and frames refused or dropped (malformed, unsolicited
    # results) per second with a burst (a charger past it is flooding and disconnected).
    ocpp_max_frame_bytes: int = Field(default=64 * 1024, ge=4096, le=16 * 1024 * 1024)
    ocpp_frames_per_s: float = Field(default=50.0, gt=0, le=100_000)
    # (the burst holds a day of one-minute meter values, stored by a charger while offline)
    ocpp_frame_burst: int = Field(default=2000, ge=1, le=1_000_000)
    ocpp_bad_frames_per_s: float = Field(default=1.0, gt=0, le=100_000)
    ocpp_bad_frame_burst: int = Field(default=200, ge=1, le=1_000_000)
    # Connector ids a charger may use (1..N; 0 is the charger as a whole).
    ocpp_max_connector_id: int = Field(default=8, ge=1, le=1000)
    # How often (s) connected chargers' credentials are checked: a rotated or revoked token, or a
    # removed charger, ends the connection within this time (and at the charger's next message).
    ocpp_credential_check_s: float = Field(default=5.0, gt=0, le=3600)
    # TLS served by `voltfleet serve` itself (OCPP security profile 2), and the CA that signs the
    # chargers' client certificates (profile 3: the certificate's common name is the charge point
    # id). Unset: plain HTTP, TLS left to a proxy.
    tls_certfile: str | None = None
    tls_keyfile: str | None = None
    ocpp_client_ca: str | None = None

    # Background jobs (the offline sweep, command expiry, the price fetch): "inprocess" runs them
    # in the serving process; "worker" queues them in PostgreSQL for `voltfleet worker` processes
    # (procrastinate), and `voltfleet serve` then runs none itself. Empty: inprocess on SQLite,
    # worker on PostgreSQL.
    jobs: str = Field(default="", pattern="^(|inprocess|worker)$")
    # Day-ahead prices fetched every market_fetch_interval_s for each "source:area" listed
    # (comma-separated, e.g. "entsoe:DE,nordpool:SE3"; sources entsoe, awattar, nordpool,
    # octopus); empty: no periodic fetch. ENTSO-E needs entsoe_token; market_base_url sends the
    # requests to a proxy or mirror instead of the vendors' hosts.
    market_sources: str = ""
    market_fetch_interval_s: int = Field(default=3600, ge=60)
    market_fetch_days: int = Field(default=2, ge=1, le=14)
    entsoe_token: str = ""
    market_base_url: str = Field(default="", description="replaces the sources' scheme and host")
    # An operator alarm when tomorrow's prices of a configured area are still missing at this
    # hour (UTC; the day-ahead auction publishes around 12:45 CET).
    market_missing_alarm_hour_utc: int = Field(default=15, ge=0, le=23)
    # The ECB's euro reference rates, fetched daily (revenue in each user's currency); empty: off.
    exchange_rates_url: str = "https://www.ecb.europa.eu/stats/eurofxref/eurofxref-daily.xml"
    # Re-planning of every site with a battery plan (app/commands/plan_cycle), checked this
    # often (seconds; a plan is made again when 15 minutes old or drifted); 0: off. On by default:
    # a site whose owner or installer asked for a plan keeps being re-planned (issue 14)
    battery_plan_cycle_s: int = Field(default=900, ge=0)

    # Firmware: an Ed25519 public key (base64 or hex of the 32 raw bytes, or PEM) that every
    # uploaded release's signature must verify against; empty: releases are not signed.
    firmware_signing_key: str = ""
    firmware_url_ttl_s: int = Field(default=900, ge=30, le=86_400)  # gateways' download links

    smtp_host: str = ""
    # Alarm webhooks to loopback/private addresses (always allowed in dev, demo and test modes).
    webhook_allow_private: bool = False
    smtp_port: int = 587
    smtp_user: str = ""
    smtp_password: str = ""
    smtp_from: str = "voltfleet <no-reply@localhost>"
    smtp_starttls: bool = True

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies_parse(cls, value: str) -> str:
        for item in _split(value):
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError:
                raise ValueError(
                    f"VOLTFLEET_TRUSTED_PROXIES: {item!r} is not an address or network (CIDR)"
                ) from None
        return value

    @property
    def trusted_proxy_list(self) -> list[str]:
        return _split(self.trusted_proxies)

    @property
    def public_base_url(self) -> str:
        """The start of every link in a mail (no trailing slash)."""
        return (self.public_url or self.base_url).rstrip("/")

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'voltfleet.db').resolve()}"

    @property
    def jobs_mode(self) -> str:
        """Where background jobs run: "inprocess" or "worker" (see ``jobs``)."""
        if self.jobs:
            return self.jobs
        return "inprocess" if self.resolved_database_url.startswith("sqlite") else "worker"

    @property
    def market_source_pairs(self) -> list[tuple[str, str]]:
        """``market_sources`` as (source, area) pairs."""
        pairs = []
        for item in self.market_sources.split(","):
            if item.strip():
                source, _, area = item.strip().partition(":")
                pairs.append((source.strip(), area.strip()))
        return pairs

    @field_validator("market_sources")
    @classmethod
    def _known_sources(cls, value: str) -> str:
        for item in value.split(","):
            if not item.strip():
                continue
            source, sep, area = item.strip().partition(":")
            if not sep or not area.strip():
                raise ValueError(f"{item.strip()!r}: write source:area, e.g. entsoe:DE")
            if source.strip() not in MARKET_SOURCES:
                known = ", ".join(MARKET_SOURCES)
                raise ValueError(f"unknown price source {source.strip()!r} (known: {known})")
        return value

    @model_validator(mode="after")
    def _worker_needs_postgresql(self) -> Settings:
        if self.jobs == "worker" and not self.resolved_database_url.startswith("postgresql"):
            raise ValueError("VOLTFLEET_JOBS=worker needs PostgreSQL (VOLTFLEET_DATABASE_URL)")
        return self

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
