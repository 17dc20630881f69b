"""The power-management use case's repository (usecases.power_management.PowerRepository) on
SQLAlchemy: a location's tree from its tables, the cars from the charging tables (connector
status, open sessions), the meters from telemetry, the hysteresis and what was sent."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Update, bindparam, select, update
from sqlalchemy.orm import Session

from voltfleet.domain.charging import ConnectorStatus
from voltfleet.domain.fleet import zone
from voltfleet.domain.power.allocate import Demand, MeterReading
from voltfleet.domain.power.hysteresis import Held
from voltfleet.domain.power.modes import Mode, PowerSettings
from voltfleet.domain.power.phase_switch import PhaseState
from voltfleet.domain.power.tree import (
    PHASES,
    Connector,
    GridType,
    Group,
    PeakLimit,
    Rotation,
    Tree,
    watts_per_a,
)
from voltfleet.ports import TimeSeriesStore
from voltfleet.store.charging_models import ChargingSession
from voltfleet.store.ev_modes_repository import needs_of, phases_of, save_phase_states
from voltfleet.store.fleet_models import Connector as ConnectorRow
from voltfleet.store.fleet_models import Device
from voltfleet.store.models import Site
from voltfleet.store.power_models import PowerConnector, PowerGroup, PowerLocation
from voltfleet.store.timeseries import store_for
from voltfleet.usecases.power_management import Outlet, Sent, Snapshot

# A car is plugged in and may want current (a paused one reports suspended_evse).
WANTS_CURRENT = frozenset(
    {
        ConnectorStatus.PREPARING,
        ConnectorStatus.CHARGING,
        ConnectorStatus.SUSPENDED_EV,
        ConnectorStatus.SUSPENDED_EVSE,
    }
)
LINE_POINTS = ("grid_current_l1_a", "grid_current_l2_a", "grid_current_l3_a")
EV_LINE_POINTS = ("ev_current_l1_a", "ev_current_l2_a", "ev_current_l3_a")
METER_POINTS = (*LINE_POINTS, "grid_power_w")
PHASE_SEEN_S = 120.0  # a charger's per-line currents newer than this tell a car's phases
ONE_PHASE_IDLE_A = 0.5  # a line below this while L1 carries current is unused


def rotation_of(text: str) -> Rotation:
    """ "231" -> (1, 2, 0): the grid phases (1-based in words) of the charger's L1 L2 L3."""
    a, b, c = (int(ch) - 1 for ch in text)
    return (a, b, c)


def rotation_text(r: Rotation) -> str:
    return "".join(str(p + 1) for p in r)


def _epoch(t: datetime | None) -> float | None:
    return None if t is None else t.timestamp()


def _at(s: float | None) -> datetime | None:
    return None if s is None else datetime.fromtimestamp(s, UTC)


def peak_of(g: Any) -> PeakLimit | None:
    if g.peak_current_a is None and g.peak_power_kw is None:
        return None
    return PeakLimit(g.peak_current_a, g.peak_power_kw, g.peak_start_min, g.peak_end_min)


def tree_of(grid: GridType, groups: Sequence[Any], placed: Sequence[tuple[Any, float]]) -> Tree:
    """The tree from group and connector rows (ORM objects or plain rows with their names)."""
    return Tree(
        grid,
        tuple(
            Group(
                g.id,
                g.parent_id,
                g.fuse_a,
                peak=peak_of(g),
                fallback_a=g.fallback_a,
                has_meter=g.meter_device_id is not None,
            )
            for g in groups
        ),
        tuple(
            Connector(pc.id, pc.group_id, max_a, rotation_of(pc.rotation), pc.priority)
            for pc, max_a in placed
        ),
    )


def settings_of(loc: Any) -> PowerSettings:
    return PowerSettings(
        mode=Mode(loc.mode),
        solar_backup_s=loc.solar_backup_s,
        min_solar_share=loc.min_solar_share,
        meter_stale_s=loc.meter_stale_s,
        raise_hold_s=loc.raise_hold_s,
    )


AHEAD_US = 300_000_000  # a reading up to 5 min ahead of the clock is a current one (device skew)
Latest = dict[tuple[str, str], tuple[float, float]]  # (device, point) -> (age s, value)


def latest_many(series: TimeSeriesStore, keys: set[tuple[str, str]], now: datetime) -> Latest:
    """The newest sample of each series (one a device's clock put slightly ahead included),
    with its age (0 for one ahead): one round trip."""
    if not keys:
        return {}
    now_us = int(now.timestamp() * 1_000_000)
    hi_us = now_us + AHEAD_US
    found = series.around_us([(d, p, now_us, hi_us) for d, p in sorted(keys)])
    out: Latest = {}
    for key, rows in found.items():
        known = [r for r in rows if r[0] <= hi_us]
        if known:
            ts_us, value = known[-1]
            out[key] = (max(0, now_us - ts_us) / 1_000_000, value)
    return out


def meter_reading(latest: Latest, device_id: str, grid: GridType) -> MeterReading | None:
    """A meter's newest current per line, or its grid power spread evenly over the lines."""
    lines = [latest.get((device_id, p)) for p in LINE_POINTS[: grid.phases]]
    if all(x is not None for x in lines):
        age = max(x[0] for x in lines if x is not None)
        return MeterReading(tuple(x[1] for x in lines if x is not None), age)
    power = latest.get((device_id, "grid_power_w"))
    if power is None:
        return None
    per_line = power[1] / (grid.volts_per_line_a * grid.phases)
    return MeterReading((per_line,) * grid.phases, power[0])


def _status(text: str) -> ConnectorStatus:
    try:
        return ConnectorStatus(text)
    except ValueError:
        return ConnectorStatus.UNKNOWN


def car_phases(latest: Latest, charger_id: str, sent_phases: int | None = None) -> int:
    """1 when the charger's newest per-line currents show the car on L1 only, else 3.

    A car that draws nothing now (paused, or resting) shows no phases: if its last limit was
    sent for one phase (so it was seen on L1 only), it is still the one-phase car it was. (Taken
    for three phases, a paused one-phase car could never fit again where three would not.)"""
    lines = [latest.get((charger_id, p)) for p in EV_LINE_POINTS]
    if any(x is None or x[0] > PHASE_SEEN_S for x in lines):
        return PHASES
    l1, l2, l3 = (x[1] for x in lines if x is not None)
    if l1 > ONE_PHASE_IDLE_A and l2 < ONE_PHASE_IDLE_A and l3 < ONE_PHASE_IDLE_A:
        return 1
    if sent_phases == 1 and max(l1, l2, l3) < ONE_PHASE_IDLE_A:
        return 1
    return PHASES


# A cycle's queries, built once (a statement made per cycle costs its construction and its
# cache key each time); run on the session's connection.
_LOCATION = (
    select(
        PowerLocation.id,
        PowerLocation.grid_type,
        PowerLocation.mode,
        PowerLocation.solar_backup_s,
        PowerLocation.min_solar_share,
        PowerLocation.meter_stale_s,
        PowerLocation.raise_hold_s,
        PowerLocation.surplus_seen_at,
        Site.timezone,
    )
    .outerjoin(Site, Site.id == PowerLocation.site_id)
    .where(PowerLocation.id == bindparam("location_id"))
)
_GROUPS = (
    select(
        PowerGroup.id,
        PowerGroup.parent_id,
        PowerGroup.fuse_a,
        PowerGroup.fallback_a,
        PowerGroup.meter_device_id,
        PowerGroup.peak_current_a,
        PowerGroup.peak_power_kw,
        PowerGroup.peak_start_min,
        PowerGroup.peak_end_min,
    )
    .where(PowerGroup.location_id == bindparam("location_id"))
    .order_by(PowerGroup.position)
)
_CONNECTORS = (
    select(
        PowerConnector.id,
        PowerConnector.group_id,
        PowerConnector.rotation,
        PowerConnector.priority,
        PowerConnector.applied_a,
        PowerConnector.raise_since,
        PowerConnector.sent_a,
        PowerConnector.sent_phases,
        PowerConnector.fallback_sent_a,
        ConnectorRow.max_current_a,
        ConnectorRow.connector_no,
        ConnectorRow.status,
        Device.id.label("device_id"),
        Device.serial,
    )
    .join(ConnectorRow, ConnectorRow.id == PowerConnector.connector_id)
    .join(Device, Device.id == ConnectorRow.charger_id)
    .where(PowerConnector.location_id == bindparam("location_id"), Device.deleted_at.is_(None))
)
_OPEN_SESSIONS = select(
    ChargingSession.id,
    ChargingSession.device_id,
    ChargingSession.connector_id,
    ChargingSession.started_at,
    ChargingSession.power_w,
    ChargingSession.meter_start_wh,
    ChargingSession.meter_last_wh,
).where(
    ChargingSession.device_id.in_(bindparam("devices", expanding=True)),
    ChargingSession.stopped_at.is_(None),
)


class SqlPowerRepository:
    def __init__(self, session: Session, series: TimeSeriesStore | None = None) -> None:
        self.session = session
        self._series = series

    @property
    def series(self) -> TimeSeriesStore:
        if self._series is None:
            self._series = store_for(self.session.connection())
        return self._series

    def location_ids(self) -> list[str]:
        return list(self.session.scalars(select(PowerLocation.id).order_by(PowerLocation.id)))

    def snapshot(self, location_id: str, now: datetime) -> Snapshot | None:
        s = self.session
        s.flush()  # the queries below go to the connection: what the session holds first
        conn = s.connection()  # plain rows, not ORM objects or ORM execution (each costs more)
        loc = conn.execute(_LOCATION, {"location_id": location_id}).first()
        if loc is None:
            return None
        grid = GridType(loc.grid_type)
        groups: list[Any] = list(conn.execute(_GROUPS, {"location_id": loc.id}))
        rows = conn.execute(_CONNECTORS, {"location_id": loc.id}).all()
        tree = tree_of(grid, groups, [(r, r.max_current_a) for r in rows])
        chargers = {r.device_id for r in rows}
        open_sessions = (
            {
                (cs.device_id, cs.connector_id): cs
                for cs in conn.execute(_OPEN_SESSIONS, {"devices": sorted(chargers)})
            }
            if chargers
            else {}
        )
        per_charger: dict[str, int] = {}
        for r in rows:
            per_charger[r.device_id] = per_charger.get(r.device_id, 0) + 1
        wanting = [
            r.device_id
            for r in rows
            if per_charger[r.device_id] == 1
            and (
                (r.device_id, r.connector_no) in open_sessions or _status(r.status) in WANTS_CURRENT
            )
        ]
        keys = {(g.meter_device_id, p) for g in groups if g.meter_device_id for p in METER_POINTS}
        keys |= {(d, p) for d in wanting for p in EV_LINE_POINTS}
        latest = latest_many(self.series, keys, now)
        demands: list[Demand] = []
        outlets: dict[str, Outlet] = {}
        held: dict[str, Held] = {}
        sent: dict[str, Sent] = {}
        for r in rows:
            outlets[r.id] = Outlet(r.serial, r.connector_no)
            sent[r.id] = Sent(r.sent_a, r.sent_phases, r.fallback_sent_a)
            if r.applied_a is not None:
                held[r.id] = Held(r.applied_a, _epoch(r.raise_since))
            session = open_sessions.get((r.device_id, r.connector_no))
            if session is None and _status(r.status) not in WANTS_CURRENT:
                continue
            phases = (
                car_phases(latest, r.device_id, r.sent_phases)
                if per_charger[r.device_id] == 1
                else PHASES
            )
            drawn = None
            if session is not None and session.power_w is not None:
                drawn = max(0.0, session.power_w) / watts_per_a(grid, phases)
            arrived = session.started_at.timestamp() if session is not None else now.timestamp()
            demands.append(Demand(r.id, phases, arrived, drawn))
        meters = {}
        for g in groups:
            if g.meter_device_id is not None:
                m = meter_reading(latest, g.meter_device_id, grid)
                if m is not None:
                    meters[g.id] = m
        local = now.astimezone(zone(loc.timezone or "UTC"))
        session_of = {
            r.id: open_sessions[(r.device_id, r.connector_no)]
            for r in rows
            if (r.device_id, r.connector_no) in open_sessions
        }
        phase_states, phase_timers = phases_of(s, loc.id)
        return Snapshot(
            location_id=loc.id,
            tree=tree,
            settings=settings_of(loc),
            demands=demands,
            meters=meters,
            minute_of_day=local.hour * 60 + local.minute,
            outlets=outlets,
            held=held,
            sent=sent,
            surplus_seen_s=_epoch(loc.surplus_seen_at),
            needs=needs_of(s, session_of),
            phase_states=phase_states,
            phase_timers=phase_timers,
        )

    def save(
        self, location_id: str, held: Mapping[str, Held], surplus_seen_s: float | None
    ) -> None:
        conn = self.session.connection()
        table = PowerLocation.__table__
        seen_at = _at(surplus_seen_s)
        found = conn.execute(
            select(table.c.surplus_seen_at).where(table.c.id == location_id)
        ).first()
        if found is None:
            return
        if found[0] != seen_at:
            conn.execute(
                update(table).where(table.c.id == location_id).values(surplus_seen_at=seen_at)
            )
        # only the rows whose state changes, in one executemany (not an ORM object per row)
        changes: list[dict[str, object]] = []
        for pc_id, applied, since, sent_a in self.session.execute(
            select(
                PowerConnector.id,
                PowerConnector.applied_a,
                PowerConnector.raise_since,
                PowerConnector.sent_a,
            ).where(PowerConnector.location_id == location_id)
        ):
            h = held.get(pc_id)
            if h is None:  # no car: the next one starts afresh, and gets its limit sent
                if applied is not None or since is not None or sent_a is not None:
                    changes.append(dict(NO_CAR, pc_id=pc_id))
                continue
            raise_since = _at(h.raise_since_s)
            if applied != h.applied_a or since != raise_since:
                changes.append(
                    {"pc_id": pc_id, "applied_a": h.applied_a, "raise_since": raise_since}
                )
        for cols, batch in _by_columns(changes):
            self.session.connection().execute(_update(cols), batch)

    def save_phases(self, location_id: str, states: Mapping[str, PhaseState]) -> None:
        save_phase_states(self.session, states)

    def record_sent(
        self,
        location_id: str,
        limits: Mapping[str, tuple[float, int]],
        fallbacks: Mapping[str, float],
        now: datetime,
    ) -> None:
        changes: list[dict[str, object]] = []
        for pc_id in set(limits) | set(fallbacks):
            row: dict[str, object] = {"pc_id": pc_id}
            if pc_id in limits:
                row["sent_a"], row["sent_phases"] = limits[pc_id]
                row["sent_at"] = now
            if pc_id in fallbacks:
                row["fallback_sent_a"] = fallbacks[pc_id]
            changes.append(row)
        for cols, batch in _by_columns(changes):
            self.session.connection().execute(_update(cols), batch)


def _update(cols: tuple[str, ...]) -> Update:
    table = PowerConnector.__table__
    return (
        update(table)
        .where(table.c.id == bindparam("pc_id"))
        .values({c: bindparam(c) for c in cols})
    )


NO_CAR: dict[str, object] = {
    "applied_a": None,
    "raise_since": None,
    "sent_a": None,
    "sent_phases": None,
}


def _by_columns(
    changes: list[dict[str, object]],
) -> list[tuple[tuple[str, ...], list[dict[str, object]]]]:
    """Row changes grouped by the columns they set (one executemany per group)."""
    groups: dict[tuple[str, ...], list[dict[str, object]]] = {}
    for row in changes:
        cols = tuple(sorted(k for k in row if k != "pc_id"))
        groups.setdefault(cols, []).append(row)
    return list(groups.items())
