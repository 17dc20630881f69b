"""Talking to a running voltfleet, only through its public HTTP API (httpx, async).

A person's credential (email and password, signed in for a bearer token) creates the sites and
their devices and issues a token per gateway; from then on each home's telemetry goes to
``POST /api/v1/ingest`` with *its gateway's own* token, as a real gateway would. Transient
failures (connection errors, 5xx, 429) are retried with exponential backoff; resending a batch is
safe (the platform stores each reading once), so a retry after a lost answer cannot double-count.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any

import httpx

log = logging.getLogger(__name__)

RETRY_STATUS = frozenset({429, 500, 502, 503, 504})


class SimulatorError(RuntimeError):
    """The platform refused something the simulator cannot work around."""


@dataclass
class HomeAccount:
    """What the platform gave a simulated home: ids, serials and the gateway's token."""

    index: int
    site_id: str
    gateway_serial: str
    inverter_serial: str
    battery_serial: str
    meter_serial: str
    device_ids: dict[str, str]  # serial -> id
    token: str


@dataclass
class Stats:
    batches: int = 0
    sent: int = 0  # readings sent (each counted once, however often retried)
    accepted: int = 0
    duplicates: int = 0
    quarantined: int = 0
    retries: int = 0
    failed_batches: int = 0
    failed_readings: int = 0
    rejections: list[dict[str, Any]] = field(default_factory=list)

    @property
    def acknowledged(self) -> int:
        """Readings the platform has stored (now, or before as a duplicate)."""
        return self.accepted + self.duplicates


class VoltfleetClient:
    def __init__(
        self,
        url: str,
        *,
        timeout_s: float = 30.0,
        retries: int = 6,
        backoff_s: float = 0.2,
        max_connections: int = 32,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self.retries = retries
        self.backoff_s = backoff_s
        self.stats = Stats()
        self._access: str | None = None
        self._http = httpx.AsyncClient(
            base_url=self.url,
            timeout=timeout_s,
            transport=transport,
            limits=httpx.Limits(max_connections=max_connections),
            trust_env=False,
        )

    async def __aenter__(self) -> VoltfleetClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    # ---- plumbing -------------------------------------------------------------------------------

    async def _request(self, method: str, path: str, **kw: Any) -> httpx.Response:
        delay = self.backoff_s
        for attempt in range(self.retries + 1):
            try:
                r = await self._http.request(method, path, **kw)
            except httpx.TransportError as exc:
                if attempt == self.retries:
                    raise SimulatorError(f"{method} {path}: {exc!r}") from exc
                log.debug("retrying %s %s after %r", method, path, exc)
            else:
                if r.status_code not in RETRY_STATUS or attempt == self.retries:
                    return r
                log.debug("retrying %s %s after HTTP %s", method, path, r.status_code)
            self.stats.retries += 1
            await asyncio.sleep(delay)
            delay = min(delay * 2, 10.0)
        raise AssertionError("unreachable")  # pragma: no cover

    def _user(self) -> dict[str, str]:
        if self._access is None:
            raise SimulatorError("sign in first")
        return {"Authorization": f"Bearer {self._access}"}

    async def _json(self, method: str, path: str, expect: int, **kw: Any) -> Any:
        r = await self._request(method, path, headers=self._user(), **kw)
        if r.status_code != expect:
            raise SimulatorError(f"{method} {path}: HTTP {r.status_code}: {r.text[:300]}")
        return r.json()

    # ---- a person's calls -----------------------------------------------------------------------

    async def sign_in(self, email: str, password: str) -> None:
        r = await self._request(
            "POST", "/api/v1/auth/token", data={"username": email, "password": password}
        )
        if r.status_code != 200:
            raise SimulatorError(f"sign-in as {email} failed: HTTP {r.status_code}: {r.text[:200]}")
        self._access = str(r.json()["access_token"])

    async def create_home(
        self,
        index: int,
        tag: str,
        *,
        name: str,
        latitude: float,
        longitude: float,
        timezone: str,
        country: str,
        capacity_kwp: float,
        inverter_w: float,
        battery_wh: float,
    ) -> HomeAccount:
        """A site with a gateway, a hybrid inverter, a battery and a grid meter below it, and a
        fresh token for the gateway."""
        serial = f"SIM{tag}{index:05d}"
        gw, inv, bat, mtr = (f"{serial}-GW", f"{serial}-INV", f"{serial}-BAT", f"{serial}-MTR")
        site = await self._json(
            "POST",
            "/api/v1/sites",
            201,
            json={
                "name": name,
                "country": country,
                "timezone": timezone,
                "capacity_kwp": round(capacity_kwp, 3),
                "latitude": round(latitude, 5),
                "longitude": round(longitude, 5),
                "address": f"simulated home {index}",
                "gateway": {"serial": gw, "subtype": "wifi", "model": "voltfleet simulator"},
            },
        )
        site_id = str(site["id"])
        ids: dict[str, str] = {}
        for kind, subtype, sn, extra in (
            ("inverter", "hybrid", inv, {"rated_power_w": inverter_w}),
            ("battery", "lfp", bat, {"name": f"{battery_wh / 1000:.1f} kWh"}),
            ("meter", "grid", mtr, {}),
        ):
            dev = await self._json(
                "POST",
                f"/api/v1/sites/{site_id}/devices",
                201,
                json={
                    "kind": kind,
                    "subtype": subtype,
                    "serial": sn,
                    "parent_serial": gw,
                    "model": "voltfleet simulator",
                    **extra,
                },
            )
            ids[sn] = str(dev["id"])
        page = await self._json("GET", "/api/v1/devices", 200, params={"site_id": site_id})
        for d in page["items"]:
            ids[str(d["serial"])] = str(d["id"])
        if gw not in ids:
            raise SimulatorError(f"gateway {gw} not listed on site {site_id}")
        tok = await self._json("POST", f"/api/v1/devices/{ids[gw]}/token", 201)
        return HomeAccount(index, site_id, gw, inv, bat, mtr, ids, str(tok["token"]))

    # ---- a gateway's calls ----------------------------------------------------------------------

    async def send(self, home: HomeAccount, readings: list[dict[str, Any]]) -> bool:
        """Send one batch with the home's gateway token; True when the platform acknowledged it
        (every reading stored or already stored, or quarantined with a reason)."""
        if not readings:
            return True
        self.stats.batches += 1
        self.stats.sent += len(readings)
        try:
            r = await self._request(
                "POST",
                "/api/v1/ingest",
                json={"readings": readings},
                headers={"Authorization": f"Bearer {home.token}"},
            )
        except SimulatorError as exc:
            log.warning("home %s: batch lost after retries: %s", home.index, exc)
            self._failed(len(readings))
            return False
        if r.status_code != 200:
            log.warning("home %s: ingest HTTP %s: %s", home.index, r.status_code, r.text[:200])
            self._failed(len(readings))
            return False
        body = r.json()
        self.stats.accepted += int(body["accepted"])
        self.stats.duplicates += int(body["duplicates"])
        self.stats.quarantined += int(body["quarantined"])
        if body["rejections"] and len(self.stats.rejections) < 50:
            self.stats.rejections.extend(body["rejections"][:10])
        return True

    def _failed(self, n: int) -> None:
        self.stats.failed_batches += 1
        self.stats.failed_readings += n
