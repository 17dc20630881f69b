"""The tariff editor's state: a tariff as the form shows it (periods, slots, their faults), read
back from a posted form and turned into the body the money API takes; a refusal is placed next to
the period and slot at fault."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from pydantic import ValidationError

from voltfleet.app.i18n import gettext_noop as N_
from voltfleet.app.tariffs.page_text import (
    clock_text,
    decimal_text,
    num_text,
)
from voltfleet.app.tariffs.schemas import SlotIn, TariffIn
from voltfleet.market import market_area
from voltfleet.store.models import Site

SLOT_LISTS = {"all": "slots", "weekday": "weekday_slots", "weekend": "weekend_slots"}
KINDS = {  # labels, translated where shown (the tariff page's templates)
    "fixed": N_("Fixed tariff"),
    "tou": N_("Time of use (TOU)"),
    "tou_weekday_weekend": N_("TOU (weekday + weekend)"),
    "market": N_("Automatic (market price)"),
}
DAY_KIND_LIST = {"ALL": "all", "WEEKDAY": "weekday", "WEEKEND": "weekend"}


@dataclass
class SlotForm:
    start: str = ""
    end: str = ""
    price: str = ""
    error: str | None = None
    fault: bool = False


@dataclass
class PeriodForm:
    name: str = ""
    start: str = ""
    end: str = ""
    lists: dict[str, list[SlotForm]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)


@dataclass
class TariffForm:
    """What the editor shows: a stored version, a new one, or what was posted (with its errors)."""

    direction: str
    valid_from: str
    kind: str = "fixed"
    currency: str = "EUR"
    price: str = ""
    periods: list[PeriodForm] = field(default_factory=list)
    holiday_country: str = ""
    holiday_subdivision: str = ""
    source: str = ""
    area: str = ""
    multiplier: str = "1"
    markup: str = "0"
    grid_fee: str = "0"
    vat_percent: str = "0"
    errors: list[str] = field(default_factory=list)

    @property
    def manner(self) -> str:
        return "automatic" if self.kind == "market" else "customised"


def whole_day() -> list[SlotForm]:
    return [SlotForm("00:00", "00:00", "")]


def _default_period() -> PeriodForm:
    return PeriodForm("All year", "01-01", "12-31", {name: whole_day() for name in SLOT_LISTS}, [])


def _slot_forms(slots: list[SlotIn] | None) -> list[SlotForm]:
    return [
        SlotForm(clock_text(s.start), clock_text(s.end), num_text(s.price_per_kwh))
        for s in slots or []
    ]


def form_from_tariff(direction: str, body: TariffIn, valid_from: date) -> TariffForm:
    """The editor filled with a stored version. The slot lists the kind does not use are filled
    from the ones it does, so switching between TOU and TOU weekday+weekend keeps the prices."""
    form = TariffForm(direction, valid_from.isoformat(), body.kind, body.currency)
    form.price = num_text(body.price_per_kwh)
    for p in body.periods or []:
        lists = {
            "all": _slot_forms(p.slots),
            "weekday": _slot_forms(p.weekday_slots),
            "weekend": _slot_forms(p.weekend_slots),
        }
        if not lists["all"]:
            lists["all"] = [SlotForm(s.start, s.end, s.price) for s in lists["weekday"]]
        for name in ("weekday", "weekend"):
            if not lists[name]:
                lists[name] = [SlotForm(s.start, s.end, s.price) for s in lists["all"]]
        form.periods.append(PeriodForm(p.name, p.start, p.end, lists))
    form.holiday_country = body.holiday_country or ""
    form.holiday_subdivision = body.holiday_subdivision or ""
    form.source = body.source or ""
    form.area = body.area or ""
    if body.formula is not None:
        form.multiplier = num_text(body.formula.multiplier)
        form.markup = num_text(body.formula.markup_per_kwh)
        form.grid_fee = num_text(body.formula.grid_fee_per_kwh)
        form.vat_percent = num_text(round(body.formula.vat_rate * 100, 8))
    return form


def new_form(site: Site, direction: str, today: date) -> TariffForm:
    return TariffForm(
        direction,
        today.isoformat(),
        currency=site.currency or "EUR",
        periods=[_default_period()],
        holiday_country=site.country or "",
        source="",
        area=site_area(site) or "",
    )


_PERIOD_FIELD = re.compile(r"^p(\d+)_(name|start|end)$")
_SLOT_FIELD = re.compile(r"^p(\d+)_(all|weekday|weekend)_(\d+)_(start|end|price)$")


def form_from_post(direction: str, data: Mapping[str, str]) -> TariffForm:
    """The editor's state from a posted form. Periods and slots are named ``p{i}_...`` and
    ``p{i}_{list}_{j}_...``; the browser may leave gaps in the numbers (removed rows)."""
    manner = data.get("manner", "customised")
    kind = "market" if manner == "automatic" else data.get("kind", "fixed")
    form = TariffForm(
        direction,
        data.get("valid_from", "").strip(),
        kind if kind in KINDS else "fixed",
        data.get("currency", "").strip().upper(),
        decimal_text(data.get("price", "")),
        holiday_country=data.get("holiday_country", "").strip().upper(),
        holiday_subdivision=data.get("holiday_subdivision", "").strip().upper(),
        source=data.get("source", "").strip(),
        area=data.get("area", "").strip().upper(),
        multiplier=decimal_text(data.get("multiplier", "1")) or "1",
        markup=decimal_text(data.get("markup", "0")) or "0",
        grid_fee=decimal_text(data.get("grid_fee", "0")) or "0",
        vat_percent=decimal_text(data.get("vat_percent", "0")) or "0",
    )
    periods: dict[int, dict[str, str]] = {}
    slots: dict[tuple[int, str, int], dict[str, str]] = {}
    for key, value in data.items():
        if m := _PERIOD_FIELD.match(key):
            periods.setdefault(int(m[1]), {})[m[2]] = value.strip()
        elif m := _SLOT_FIELD.match(key):
            slots.setdefault((int(m[1]), m[2], int(m[3])), {})[m[4]] = value.strip()
    for i in sorted(periods):
        p = periods[i]
        lists: dict[str, list[SlotForm]] = {name: [] for name in SLOT_LISTS}
        for (pi, name, _), s in sorted(slots.items()):
            if pi == i:
                lists[name].append(
                    SlotForm(s.get("start", ""), s.get("end", ""), decimal_text(s.get("price", "")))
                )
        form.periods.append(
            PeriodForm(p.get("name", ""), p.get("start", ""), p.get("end", ""), lists)
        )
    return form


def _vat_rate(percent: str) -> float | str:
    try:
        return float(percent) / 100
    except ValueError:
        return percent  # refused by the schema with the field named


def body_of(form: TariffForm) -> dict[str, Any]:
    """The API body (``TariffIn``) the form stands for; only the fields of its kind."""
    body: dict[str, Any] = {
        "valid_from": form.valid_from,
        "kind": form.kind,
        "currency": form.currency,
    }
    if form.kind == "fixed":
        body["price_per_kwh"] = form.price or None
    elif form.kind == "market":
        body.update(
            source=form.source or None,
            area=form.area or None,
            formula={
                "multiplier": form.multiplier,
                "markup_per_kwh": form.markup,
                "grid_fee_per_kwh": form.grid_fee,
                "vat_rate": _vat_rate(form.vat_percent),
            },
        )
    else:
        names = ["all"] if form.kind == "tou" else ["weekday", "weekend"]
        body["periods"] = [
            {
                "name": p.name,
                "start": p.start,
                "end": p.end,
                **{
                    SLOT_LISTS[name]: [
                        {"start": s.start, "end": s.end, "price_per_kwh": s.price}
                        for s in p.lists.get(name, [])
                    ]
                    for name in names
                },
            }
            for p in form.periods
        ]
        if form.kind == "tou_weekday_weekend":
            body["holiday_country"] = form.holiday_country or None
            body["holiday_subdivision"] = form.holiday_subdivision or None
    return body


_FIELD_LABELS = {
    "price_per_kwh": "price",
    "valid_from": "valid from",
    "markup_per_kwh": "markup",
    "grid_fee_per_kwh": "grid fee",
    "vat_rate": "VAT",
    "multiplier": "multiplier",
    "currency": "currency",
}


def place_schema_errors(form: TariffForm, exc: ValidationError) -> None:
    """Put each field error of the schema next to the period or slot it is about."""
    list_of = {v: k for k, v in SLOT_LISTS.items()}
    for e in exc.errors():
        loc = list(e.get("loc", ()))
        what = str(loc[-1]) if loc else "tariff"
        message = f"{_FIELD_LABELS.get(what, what)}: {e.get('msg', 'invalid')}"
        if len(loc) >= 2 and loc[0] == "periods" and isinstance(loc[1], int):
            if loc[1] >= len(form.periods):
                form.errors.append(message)
                continue
            period = form.periods[loc[1]]
            if len(loc) >= 4 and loc[2] in list_of and isinstance(loc[3], int):
                slot_list = period.lists.get(list_of[str(loc[2])], [])
                if loc[3] < len(slot_list):
                    slot = slot_list[loc[3]]
                    slot.error = f"{slot.error}; {message}" if slot.error else message
                    slot.fault = True
                    continue
            period.errors.append(message)
        else:
            form.errors.append(message)


def place_tariff_issues(form: TariffForm, issues: list[dict[str, Any]]) -> None:
    """Put each validation issue of the service next to its period and slot."""
    positions: dict[str, int] = {}
    for i, p in enumerate(form.periods):
        positions.setdefault(p.name, i)
    for issue in issues:
        message = str(issue.get("message", ""))
        index = positions.get(str(issue.get("period")))
        if index is None:
            form.errors.append(message)
            continue
        period = form.periods[index]
        slot_index = issue.get("slot_index")
        name = DAY_KIND_LIST.get(str(issue.get("day_kind")), "all")
        slot_list = period.lists.get(name, [])
        if isinstance(slot_index, int) and slot_index < len(slot_list):
            slot = slot_list[slot_index]
            slot.error = f"{slot.error}; {message}" if slot.error else message
            slot.fault = True
            other = issue.get("other_slot_index")
            if isinstance(other, int) and other < len(slot_list):
                slot_list[other].fault = True
        else:
            period.errors.append(message)


def site_area(site: Site) -> str | None:
    """The day-ahead market area of the site, if any source covers it."""
    try:
        return market_area(site.country or "", site.region or None).code
    except Exception:
        return None
