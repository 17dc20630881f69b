"""The tariffs and metering use cases against in-memory fakes of their repositories: version
replacement, audit instants, the rules' errors, a batch's refusals, duplicates and races."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import pytest

from voltfleet.domain.access import Action, Kind
from voltfleet.domain.accounting import MeterColumns, MeterInterval, MeterRecord
from voltfleet.domain.tariffs import FixedTariff, PriceInterval, TariffHistory, TariffVersion
from voltfleet.usecases import metering, slots, tariffs
from voltfleet.usecases.errors import Conflict, Forbidden, Invalid, NotFound, Rejected, TooLarge

NOW = datetime(2031, 5, 6, 7, 8, tzinfo=UTC)


@dataclass
class Site:
    id: str = "S1"
    org_id: str = "O1"
    country: str = "DE"
    currency: str = "EUR"
    timezone: str = "Europe/Berlin"


@dataclass
class Version:
    id: str
    direction: str
    valid_from: date
    currency: str
    tariff: Any
    created_at: datetime


@dataclass
class FakeTariffs:
    rows: list[Version] = field(default_factory=list)
    audits: list[tuple[str, Mapping[str, Any], datetime]] = field(default_factory=list)

    def versions(self, site_id: str, direction: str | None = None) -> list[Version]:
        return [r for r in self.rows if direction in (None, r.direction)]

    def history(self, site: tariffs.SiteLike, direction: str) -> TariffHistory | None:
        found = [TariffVersion(r.valid_from, r.tariff) for r in self.versions(site.id, direction)]
        return TariffHistory(tuple(found)) if found else None

    def market_prices(
        self, source: str, area: str, start: datetime, end: datetime
    ) -> list[PriceInterval]:
        return []

    def add(
        self, site: tariffs.SiteLike, direction: str, draft: tariffs.Draft, now: datetime
    ) -> Version:
        row = Version(f"V{len(self.rows)}", direction, draft.valid_from, draft.currency,
                      draft.tariff, now)  # fmt: skip
        self.rows.append(row)
        return row

    def remove(self, version: Version) -> None:
        self.rows.remove(version)

    def store_market_prices(
        self, source: str, area: str, prices: Sequence[tariffs.MarketPriceLike]
    ) -> int:
        return len(prices)

    def audit(
        self,
        action: str,
        object_type: str,
        object_id: str,
        org_id: str | None,
        detail: Mapping[str, Any],
        now: datetime,
    ) -> None:
        self.audits.append((action, detail, now))


def draft(valid_from: date, price: float, currency: str = "EUR") -> tariffs.Draft:
    return tariffs.Draft(valid_from, "fixed", currency, FixedTariff(currency, price), {})


def test_a_version_of_the_same_day_replaces_the_other_and_each_change_is_audited_at_now() -> None:
    repo, site = FakeTariffs(), Site()
    tariffs.set_tariff(repo, site, "IMPORT", draft(date(2031, 1, 1), 0.30), NOW)
    later = NOW + timedelta(hours=1)
    row = tariffs.set_tariff(repo, site, "IMPORT", draft(date(2031, 1, 1), 0.25), later)
    assert [(r.id, r.created_at) for r in repo.rows] == [(row.id, later)]
    with pytest.raises(Invalid, match="currency CHF differs"):
        tariffs.set_tariff(repo, site, "IMPORT", draft(date(2031, 2, 1), 0.2, "CHF"), later)
    with pytest.raises(NotFound):
        tariffs.delete_tariff(repo, site, "nope", later)
    tariffs.delete_tariff(repo, site, row.id, later)
    assert repo.rows == []
    assert [(a, at) for a, _, at in repo.audits] == [
        ("tariff.set", NOW),
        ("tariff.set", later),
        ("tariff.delete", later),
    ]


def test_rates_need_a_tariff_and_a_sane_window() -> None:
    repo, site = FakeTariffs(), Site()
    start = datetime(2031, 3, 1, tzinfo=UTC)
    with pytest.raises(Conflict, match="no IMPORT tariff"):
        tariffs.rates(repo, site, "IMPORT", start, start + timedelta(days=1))
    tariffs.set_tariff(repo, site, "IMPORT", draft(date(2031, 1, 1), 0.30), NOW)
    series = tariffs.rates(repo, site, "IMPORT", start, start + timedelta(hours=1))
    assert list(series.prices_per_kwh) == [0.30] * 4  # four quarters of an hour
    for a, b, words in [
        (start, start, "end_time must be after start_time"),
        (start.replace(tzinfo=None), start, "start_time needs a UTC offset"),
        (start, start + timedelta(days=401), "at most 400 days"),
    ]:
        with pytest.raises(Invalid, match=words):
            tariffs.rates(repo, site, "IMPORT", a, b)


@dataclass
class FakeMeters:
    sites: set[str]
    known: set[str] = field(default_factory=set)
    stored: list[tuple[MeterInterval, datetime]] = field(default_factory=list)
    lose_race: bool = False  # another request stores the same references first

    def visible(self, site_ids: set[str]) -> set[str]:
        return site_ids & self.sites

    def known_references(self, site_ids: set[str], references: set[str]) -> set[str]:
        return references & self.known

    def store(self, intervals: Sequence[MeterInterval], now: datetime) -> int:
        if self.lose_race:
            return 0
        self.stored += [(i, now) for i in intervals]
        return len(intervals)

    def columns(
        self, site_id: str, start: datetime, end: datetime, device_id: str | None
    ) -> MeterColumns:
        e = np.zeros(0, dtype=np.int64)
        return MeterColumns(e, e, np.zeros(0), e, e)


@dataclass
class Actor:
    may: bool = True

    def require(self, kind: Kind, action: Action) -> None:
        if not (self.may and (kind, action) == (Kind.SITE, Action.UPDATE)):
            raise Forbidden("no")


def record(site: str, ref: str | None, value: float = 0.5) -> MeterRecord:
    start = datetime(2031, 5, 6, 6, tzinfo=UTC)
    return MeterRecord(site, start, start + timedelta(minutes=15), value, "KWH", "IMPORT",
                       "IMPORT", record_reference_id=ref)  # fmt: skip


def test_a_batch_refuses_alone_what_is_bad_and_stores_a_reference_once() -> None:
    repo = FakeMeters({"S1"}, known={"old"})
    batch = [
        record("S1", "a"),
        record("S2", "b"),  # not a site the person sees
        record("S1", "old"),  # stored before
        record("S1", "c", value=-1),
        record("S1", "a"),  # repeated in the batch
    ]
    out = metering.submit(repo, Actor(), batch, NOW)
    assert (out.accepted, out.duplicates) == (1, 2)
    assert [(x.index, x.code) for x in out.refused] == [(1, "unknown_site"), (3, "negative_value")]
    assert [(i.record_reference_id, i.energy_wh, at) for i, at in repo.stored] == [
        ("a", 500.0, NOW)
    ]
    raced = metering.submit(FakeMeters({"S1"}, lose_race=True), Actor(), batch[:1], NOW)
    assert (raced.accepted, raced.duplicates) == (0, 1)  # what a re-send would be told
    with pytest.raises(Forbidden):
        metering.submit(repo, Actor(may=False), [], NOW)
    with pytest.raises(TooLarge):
        metering.submit(repo, Actor(), [record("S1", None)] * (metering.MAX_BATCH + 1), NOW)


def test_costs_without_records_need_no_import_tariff() -> None:
    report = metering.costs(FakeMeters({"S1"}), FakeTariffs(), Site(),
                            datetime(2031, 3, 1, tzinfo=UTC), datetime(2031, 3, 2, tzinfo=UTC),
                            "DAY", None, None, None)  # fmt: skip
    assert report.currency == "EUR"


def test_slots_and_schedules_read_the_prices_through_the_tariffs_use_case() -> None:
    repo, site = FakeTariffs(), Site()
    start = datetime(2031, 3, 1, tzinfo=UTC)
    tariffs.set_tariff(repo, site, "IMPORT", draft(date(2031, 1, 1), 0.30), NOW)
    with pytest.raises(Invalid, match="exactly one of relative"):
        slots.threshold_slots(repo, site, "IMPORT", start, start + timedelta(hours=2), "LOW",
                              relative=0.5, absolute=0.2)  # fmt: skip
    sel, currency = slots.time_slots(repo, site, "IMPORT", start, start + timedelta(hours=2),
                                     "LOW", timedelta(minutes=30), continuous=True)  # fmt: skip
    assert currency == "EUR" and sel.duration == timedelta(minutes=30)
    with pytest.raises(Rejected) as caught:  # 2 h at 1 kW cannot take 5 kWh
        slots.schedule(repo, site, "IMPORT", start, start + timedelta(hours=2), 5.0, 1.0,
                       continuous=False)  # fmt: skip
    assert caught.value.code == "does_not_fit"
    assert caught.value.errors[0]["max_fit_kwh"] == pytest.approx(2.0)
