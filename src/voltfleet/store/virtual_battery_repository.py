"""The virtual batteries' persistence for the settle use case (usecases.virtual_battery), and
the mark ingest and the counter restarts leave on the batteries of a meter."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

import numpy as np
from sqlalchemy import and_, case, delete, insert, or_, select, update
from sqlalchemy.orm import Session

from voltfleet.domain.fleet import zone
from voltfleet.domain.telemetry.batch import from_us
from voltfleet.domain.virtual_battery.ledger import Ledger
from voltfleet.ports import TimeSeriesStore
from voltfleet.store.models import Site
from voltfleet.store.timeseries import store_for
from voltfleet.store.virtual_battery_models import VirtualBattery, VirtualBatteryInterval
from voltfleet.usecases.virtual_battery import METER_POINTS, BatteryConfig, dirty_mark

LEDGER_FIELDS = (
    "level_wh",
    "charged_wh",
    "discharged_wh",
    "spilled_wh",
    "grid_import_wh",
    "forfeited_wh",
)


def mark_dirty(session: Session, meter_id: str, since: datetime) -> None:
    """The ledgers over ``meter_id`` are wrong from ``since`` on (kept when already earlier)."""
    col = VirtualBattery.dirty_from
    session.execute(
        update(VirtualBattery)
        .where(VirtualBattery.meter_id == meter_id)
        .values(dirty_from=case((or_(col.is_(None), col > since), since), else_=col))
        .execution_options(synchronize_session=False)
    )


def counters_changed(session: Session, first_us: Mapping[tuple[str, str], int]) -> None:
    """After ingest stored counter readings (series -> its earliest new instant): mark the
    virtual batteries over those meters. One statement per meter whose import or export
    counter changed; nothing for any other series."""
    earliest: dict[str, int] = {}
    for (device_id, point), us in first_us.items():
        if point in METER_POINTS:
            earliest[device_id] = min(us, earliest.get(device_id, us))
    if not earliest:
        return
    watched = set(
        session.scalars(
            select(VirtualBattery.meter_id).where(VirtualBattery.meter_id.in_(earliest))
        )
    )
    for meter_id in watched:
        mark_dirty(session, meter_id, dirty_mark(from_us(earliest[meter_id])))


class SqlVirtualBatteryRepository:
    def __init__(self, session: Session) -> None:
        self.session = session
        self._store: TimeSeriesStore | None = None

    def config(self, battery_id: str) -> BatteryConfig | None:
        row = self.session.get(VirtualBattery, battery_id)
        if row is None:
            return None
        site = self.session.get(Site, row.site_id)
        return BatteryConfig(
            id=row.id,
            meter_id=row.meter_id,
            capacity_wh=row.capacity_wh,
            start_date=row.start_date,
            reset_on=row.reset_on,
            reset_yearly=row.reset_yearly,
            zone=zone(site.timezone if site else "UTC"),
            dirty_from=row.dirty_from,
        )

    def dirty(self, limit: int) -> list[str]:
        return list(
            self.session.scalars(
                select(VirtualBattery.id)
                .where(VirtualBattery.dirty_from.is_not(None))
                .order_by(VirtualBattery.dirty_from)
                .limit(limit)
            )
        )

    def series(self) -> TimeSeriesStore:
        if self._store is None:
            self._store = store_for(self.session.connection())
        return self._store

    def level_before(self, battery_id: str, start_us: int) -> float:
        level = self.session.scalar(
            select(VirtualBatteryInterval.level_wh)
            .where(
                VirtualBatteryInterval.battery_id == battery_id,
                VirtualBatteryInterval.start_us < start_us,
            )
            .order_by(VirtualBatteryInterval.start_us.desc())
            .limit(1)
        )
        return float(level or 0.0)

    def replace_from(
        self,
        battery_id: str,
        start_us: int,
        starts_us: Sequence[int],
        imp: np.ndarray,
        exp: np.ndarray,
        ledger: Ledger,
    ) -> None:
        self.session.execute(
            delete(VirtualBatteryInterval).where(
                and_(
                    VirtualBatteryInterval.battery_id == battery_id,
                    VirtualBatteryInterval.start_us >= start_us,
                )
            )
        )
        if not len(starts_us):
            return
        columns = {name: getattr(ledger, name).tolist() for name in LEDGER_FIELDS}
        imports, exports = imp.tolist(), exp.tolist()
        rows = [
            {
                "battery_id": battery_id,
                "start_us": us,
                "import_wh": imports[k],
                "export_wh": exports[k],
                **{name: columns[name][k] for name in LEDGER_FIELDS},
            }
            for k, us in enumerate(starts_us)
        ]
        for k in range(0, len(rows), 5000):
            self.session.execute(insert(VirtualBatteryInterval), rows[k : k + 5000])

    def settled(
        self, battery_id: str, seen: datetime | None, level_wh: float, level_at: datetime | None
    ) -> None:
        values: dict[str, object] = {"level_wh": level_wh}
        if level_at is not None:
            values["level_at"] = level_at
        self.session.execute(
            update(VirtualBattery).where(VirtualBattery.id == battery_id).values(**values)
        )
        self.session.execute(
            update(VirtualBattery)
            .where(VirtualBattery.id == battery_id, VirtualBattery.dirty_from == seen)
            .values(dirty_from=None)
            .execution_options(synchronize_session=False)
        )
        self.session.expire_all()
