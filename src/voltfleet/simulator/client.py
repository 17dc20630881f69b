"""Talking to a running voltfleet, only through its public HTTP API (httpx, async).

A person's credential (email and password, signed in for a bearer token) creates the sites and
their devices and issues a token per gateway; from then on each home's telemetry goes to
``POST /api/v1/ingest`` with *its gateway's own* token, as a real gateway would. Transient
failures (connection errors, 5xx, 429) are retried with exponential backoff (longer when the
server's ``Retry-After`` asks, up to 10 s), a bounded number of times; resending a batch is
safe (the platform stores each reading once), so a retry after a lost answer cannot double-count.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx

log = logging.getLogger(__name__)

RETRY_STATUS = frozenset({429, 500, 502, 503, 504})


MAX_RETRY_AFTER_S = 10.0


def _retry_after(r: httpx.Response) -> float:
    """The seconds of a ``Retry-After`` header (0 when absent, an HTTP date, or odd), at most
    ``MAX_RETRY_AFTER_S``."""
    try:
        return min(max(float(r.headers.get("retry-after", "")), 0.0), MAX_RETRY_AFTER_S)
    except ValueError:
        return 0.0


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
    reattached: bool = False  # found on the platform (made by an earlier run), not created now
    charger_serial: str | None = None  # the EV charger, which speaks OCPP with its own token
    charger_token: str | None = None


@dataclass(frozen=True)
class LastReading:
    """Where a home's stored telemetry ends: the newest counter instant, the lifetime counter
    values then (by point name, Wh) and the battery's state of charge (%, when stored)."""

    ts: datetime
    counters: dict[str, float]
    soc_pct: float | None


COUNTER_POINTS = {
    "inverter": ("pv_energy_wh", "load_energy_wh"),
    "battery": ("battery_charge_energy_wh", "battery_discharge_energy_wh"),
    "meter": ("grid_import_energy_wh", "grid_export_energy_wh"),
}


def home_serials(index: int, tag: str) -> tuple[str, str, str, str]:
    """The serial numbers of home ``index`` (gateway, inverter, battery, meter): stable for a
    tag, so a later run finds the homes an earlier one made."""
    serial = f"SIM{tag}{index:05d}"
    return f"{serial}-GW", f"{serial}-INV", f"{serial}-BAT", f"{serial}-MTR"


# The firmware versions the simulated gateways run (the demo's releases are 3.0.0 and 3.1.0;
# every one streams live data, which a Wi-Fi gateway does from 3.0): a home's is stable, so the
# gateway dashboard's counts by firmware have three groups and Upgrade has gateways to take along.
GATEWAY_FIRMWARE = ("3.1.0", "3.0.2", "3.0.0")


def gateway_firmware(index: int) -> str:
    """The firmware version home ``index``'s gateway runs (and reports when it is registered)."""
    return GATEWAY_FIRMWARE[index % len(GATEWAY_FIRMWARE)]


def charger_serial(index: int, tag: str) -> str:
    """The serial number (OCPP charge point id) of home ``index``'s EV charger."""
    return f"SIM{tag}{index:05d}-EVC"


@dataclass
class Stats:
    batches: int = 0
    sent: int = 0  # readings sent (each counted once, however often retried)
    accepted: int = 0
    duplicates: int = 0
    delivered: int = 0  # readings the MQTT broker acknowledged (PUBACK); the bridge stores them
    quarantined: int = 0
    retries: int = 0  # requests (HTTP) or messages (MQTT) sent again
    failed_batches: int = 0
    failed_readings: int = 0
    rejections: list[dict[str, Any]] = field(default_factory=list)
    alarm_events: int = 0  # raise / clear events sent
    alarms_refused: int = 0
    commands_received: int = 0  # distinct commands the homes' gateways received (HTTP or MQTT)
    commands_acknowledged: int = 0
    commands_failed: int = 0

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
        stop: threading.Event | None = None,
        ca_file: str | None = None,
    ) -> None:
        """``ca_file``: trust this certificate (a platform behind TLS with a private CA)
        besides the system's."""
        self.url = url.rstrip("/")
        self.stop = stop  # once set, failed requests are not retried (the run is ending)
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
            verify=ssl.create_default_context(cafile=ca_file) if ca_file else True,
        )

    async def __aenter__(self) -> VoltfleetClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    # ---- plumbing -------------------------------------------------------------------------------

    async def _request(self, method: str, path: str, **kw: Any) -> httpx.Response:
        delay = wait = self.backoff_s
        for attempt in range(self.retries + 1):
            try:
                r = await self._http.request(method, path, **kw)
            except httpx.TransportError as exc:
                if attempt == self.retries or self._stopping():
                    raise SimulatorError(f"{method} {path}: {exc!r}") from exc
                log.debug("retrying %s %s after %r", method, path, exc)
            else:
                if r.status_code not in RETRY_STATUS or attempt == self.retries or self._stopping():
                    return r
                log.debug("retrying %s %s after HTTP %s", method, path, r.status_code)
                # the server's hint (503 while its database is away, 429), within our own bound
                wait = max(_retry_after(r), wait)
            self.stats.retries += 1
            await asyncio.sleep(wait)
            delay = min(delay * 2, 10.0)
            wait = delay
        raise AssertionError("unreachable")  # pragma: no cover

    def _stopping(self) -> bool:
        return self.stop is not None and self.stop.is_set()

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
        charger: bool = False,
        org_id: str | None = None,
    ) -> HomeAccount:
        """A site (in ``org_id``, by default the signed-in person's organisation) with a
        gateway, a hybrid inverter, a battery and a grid meter below it, and a fresh token for
        the gateway; with ``charger``, an EV charger at the site too (with a token of its own,
        for OCPP)."""
        gw = home_serials(index, tag)[0]
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
                "gateway": {
                    "serial": gw,
                    "subtype": "wifi",
                    "model": "voltfleet simulator",
                    "fw_arm": gateway_firmware(index),  # what the gateway reports it runs
                },
                **({"org_id": org_id} if org_id else {}),
            },
        )
        return await self._complete_home(
            index,
            tag,
            str(site["id"]),
            {},
            inverter_w=inverter_w,
            battery_wh=battery_wh,
            charger=charger,
        )

    async def find_home(
        self, index: int, tag: str, *, inverter_w: float, battery_wh: float, charger: bool = False
    ) -> HomeAccount | None:
        """The home an earlier run made for ``index`` and ``tag`` (found by its gateway's serial
        number), with any device it lacks added and its gateway's token re-issued (rotating the
        old one); None when there is no such home."""
        gw = home_serials(index, tag)[0]
        page = await self._json("GET", "/api/v1/devices", 200, params={"serial": gw})
        found = [d for d in page["items"] if d["serial"] == gw]
        if not found:
            return None
        site_id = str(found[0]["site_id"])
        if not found[0].get("fw_arm"):  # made by a run whose gateways reported no firmware
            await self._json(
                "PATCH",
                f"/api/v1/devices/{found[0]['id']}",
                200,
                json={"fw_arm": gateway_firmware(index)},
            )
        page = await self._json(
            "GET", "/api/v1/devices", 200, params={"site_id": site_id, "page_size": 500}
        )
        ids = {str(d["serial"]): str(d["id"]) for d in page["items"]}
        acc = await self._complete_home(
            index, tag, site_id, ids, inverter_w=inverter_w, battery_wh=battery_wh, charger=charger
        )
        acc.reattached = True
        return acc

    async def _complete_home(
        self,
        index: int,
        tag: str,
        site_id: str,
        ids: dict[str, str],
        *,
        inverter_w: float,
        battery_wh: float,
        charger: bool = False,
    ) -> HomeAccount:
        """Add the devices below the gateway that ``ids`` (serial -> id) lacks and issue the
        gateway a fresh token (and the charger one, with ``charger``)."""
        gw, inv, bat, mtr = home_serials(index, tag)
        for kind, subtype, sn, extra in (
            ("inverter", "hybrid", inv, {"rated_power_w": inverter_w}),
            ("battery", "lfp", bat, {"name": f"{battery_wh / 1000:.1f} kWh"}),
            ("meter", "grid", mtr, {}),
        ):
            if sn in ids:
                continue
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
        if gw not in ids:
            page = await self._json(
                "GET", "/api/v1/devices", 200, params={"site_id": site_id, "page_size": 500}
            )
            for d in page["items"]:
                ids[str(d["serial"])] = str(d["id"])
        if gw not in ids:
            raise SimulatorError(f"gateway {gw} not listed on site {site_id}")
        tok = await self._json("POST", f"/api/v1/devices/{ids[gw]}/token", 201)
        acc = HomeAccount(index, site_id, gw, inv, bat, mtr, ids, str(tok["token"]))
        if charger:
            evc = charger_serial(index, tag)
            if evc not in ids:
                dev = await self._json(
                    "POST",
                    f"/api/v1/sites/{site_id}/devices",
                    201,
                    json={"kind": "charger", "subtype": "ac", "serial": evc, "name": "Wallbox"},
                )
                ids[evc] = str(dev["id"])
            tok = await self._json("POST", f"/api/v1/devices/{ids[evc]}/token", 201)
            acc.charger_serial, acc.charger_token = evc, str(tok["token"])
        return acc

    async def last_reading(
        self, home: HomeAccount, *, now: datetime, lookback: timedelta
    ) -> LastReading | None:
        """Where the home's stored telemetry ends (within ``lookback`` before ``now``): the
        hourly roll-ups of the meter's import counter find the last hour with data, and the raw
        readings of that hour the instant and the counters. None when nothing is stored."""
        meter = home.device_ids[home.meter_serial]
        end = now + timedelta(hours=1)
        series = await self._json(
            "GET",
            f"/api/v1/devices/{meter}/series",
            200,
            params={
                "points": "grid_import_energy_wh",
                "resolution": "hour",
                "start_time": (now - lookback).isoformat(),
                "end_time": end.isoformat(),
            },
        )
        hours = [
            datetime.fromisoformat(row["start_time"])
            for s in series["series"]
            for row in s["rows"]
            if row.get("samples")
        ]
        if not hours:
            return None
        # the raw readings of that hour (and the instant that ends it): few enough for one answer
        lo = max(hours)
        hi = min(end, lo + timedelta(hours=1, minutes=1))
        serials = {
            "inverter": home.inverter_serial,
            "battery": home.battery_serial,
            "meter": home.meter_serial,
        }
        latest: dict[str, tuple[datetime, float]] = {}
        for role, points in COUNTER_POINTS.items():
            names = points + (("soc",) if role == "battery" else ())
            got = await self._json(
                "GET",
                f"/api/v1/devices/{home.device_ids[serials[role]]}/readings",
                200,
                params={
                    "points": ",".join(names),
                    "start_time": lo.isoformat(),
                    "end_time": hi.isoformat(),
                },
            )
            for r in got["readings"]:
                ts = datetime.fromisoformat(r["ts"])
                if r["point"] not in latest or ts >= latest[r["point"]][0]:
                    latest[r["point"]] = (ts, float(r["value"]))
        if "grid_import_energy_wh" not in latest:
            return None
        ts = latest["grid_import_energy_wh"][0]
        counters = {p: latest[p][1] for ps in COUNTER_POINTS.values() for p in ps if p in latest}
        soc = latest["soc"][1] if "soc" in latest else None
        return LastReading(ts, counters, soc)

    async def charger_register_wh(
        self, home: HomeAccount, *, now: datetime, lookback: timedelta
    ) -> float | None:
        """The charger's energy register as last stored (within ``lookback`` before ``now``), so
        a reattached charger goes on counting from there; None when nothing is stored."""
        if home.charger_serial is None:
            return None
        charger = home.device_ids[home.charger_serial]
        end = now + timedelta(hours=1)
        series = await self._json(
            "GET",
            f"/api/v1/devices/{charger}/series",
            200,
            params={
                "points": "ev_energy_wh",
                "resolution": "hour",
                "start_time": (now - lookback).isoformat(),
                "end_time": end.isoformat(),
            },
        )
        hours = [
            datetime.fromisoformat(row["start_time"])
            for s in series["series"]
            for row in s["rows"]
            if row.get("samples")
        ]
        if not hours:
            return None
        lo = max(hours)
        got = await self._json(
            "GET",
            f"/api/v1/devices/{charger}/readings",
            200,
            params={
                "points": "ev_energy_wh",
                "start_time": lo.isoformat(),
                "end_time": min(end, lo + timedelta(hours=1, minutes=1)).isoformat(),
            },
        )
        values = [float(r["value"]) for r in got["readings"]]
        return max(values) if values else None

    # ---- a gateway's calls ----------------------------------------------------------------------

    async def send(
        self,
        home: HomeAccount,
        readings: list[dict[str, Any]],
        alarms: list[dict[str, Any]] | None = None,
    ) -> bool:
        """Send one batch (readings, and alarm events when given) with the home's gateway token;
        True when the platform acknowledged it (every reading stored or already stored, or
        quarantined with a reason)."""
        if not readings and not alarms:
            return True
        self.stats.batches += 1
        self.stats.sent += len(readings)
        self.stats.alarm_events += len(alarms or [])
        try:
            r = await self._request(
                "POST",
                "/api/v1/ingest",
                json={"readings": readings, "alarms": alarms or []},
                headers={"Authorization": f"Bearer {home.token}"},
            )
        except SimulatorError as exc:
            if not self._stopping():
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
        self.stats.alarms_refused += int(body.get("alarms", {}).get("refused", 0))
        if body["rejections"] and len(self.stats.rejections) < 50:
            self.stats.rejections.extend(body["rejections"][:10])
        return True

    async def poll_commands(self, home: HomeAccount) -> list[dict[str, Any]]:
        """The commands waiting for the home's gateway (``GET /api/v1/gateway/commands``, with
        its token); none when the platform cannot be reached."""
        try:
            r = await self._request(
                "GET", "/api/v1/gateway/commands", headers={"Authorization": f"Bearer {home.token}"}
            )
        except SimulatorError as exc:
            if not self._stopping():
                log.warning("home %s: command poll failed: %s", home.index, exc)
            return []
        if r.status_code != 200:
            log.warning(
                "home %s: command poll HTTP %s: %s", home.index, r.status_code, r.text[:200]
            )
            return []
        return list(r.json().get("commands", []))

    async def firmware_status(self, home: HomeAccount, report: dict[str, Any]) -> bool:
        """A firmware progress report (``POST /api/v1/gateway/firmware-status``)."""
        try:
            r = await self._request(
                "POST",
                "/api/v1/gateway/firmware-status",
                json=report,
                headers={"Authorization": f"Bearer {home.token}"},
            )
        except SimulatorError as exc:
            log.warning("home %s: firmware report lost: %s", home.index, exc)
            return False
        return r.status_code == 200

    async def reply_command(
        self, home: HomeAccount, command_id: str, reply: dict[str, Any]
    ) -> bool:
        """Answer a command with the home's gateway token; True when the platform took it."""
        try:
            r = await self._request(
                "POST",
                f"/api/v1/gateway/commands/{command_id}/reply",
                json=reply,
                headers={"Authorization": f"Bearer {home.token}"},
            )
        except SimulatorError as exc:
            log.warning("home %s: reply to %s lost: %s", home.index, command_id, exc)
            return False
        if r.status_code != 200:
            log.warning("home %s: reply HTTP %s: %s", home.index, r.status_code, r.text[:200])
            return False
        return True

    async def request_plan(self, home: HomeAccount, body: dict[str, Any]) -> Any:
        """Ask the platform for the battery's day plan of the home's site (as the signed-in
        person): ``POST /api/v1/sites/{id}/battery-plan``."""
        return await self._json(
            "POST", f"/api/v1/sites/{home.site_id}/battery-plan", 201, json=body
        )

    async def plan_commands(
        self, home: HomeAccount, start: datetime, end: datetime
    ) -> list[dict[str, Any]]:
        """The day plans' commands for the home's battery due in [start, end), oldest first,
        whatever their state (as the signed-in person): ``GET /api/v1/sites/{id}/battery-plan``
        (at most three days at once)."""
        got = await self._json(
            "GET",
            f"/api/v1/sites/{home.site_id}/battery-plan",
            200,
            params={"start_time": start.isoformat(), "end_time": end.isoformat()},
        )
        return list(got.get("commands", []))

    def _failed(self, n: int) -> None:
        self.stats.failed_batches += 1
        self.stats.failed_readings += n
