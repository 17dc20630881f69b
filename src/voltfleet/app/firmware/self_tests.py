"""The self-test results a commissioning report shows: each inverter's latest answered
``self_test`` command (the gateway's reply carries the results, ``domain.firmware.self_test``).
A reply whose results cannot be read is shown as such, with the reason, not dropped."""

from __future__ import annotations

from collections.abc import Sequence
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from voltfleet.app.firmware.report_pdf import SelfTestRow
from voltfleet.domain.commands import CommandKind, CommandState
from voltfleet.domain.firmware.self_test import SelfTestError, read_results, verdict
from voltfleet.store.command_models import Command
from voltfleet.store.fleet_models import Device


def _ms(value: float | None) -> str:
    return f"{value:g} ms" if value is not None else "-"


def rows(session: Session, devices: Sequence[Device], zone: ZoneInfo) -> list[SelfTestRow]:
    """One row per test of each device's latest self-test, oldest device first."""
    out: list[SelfTestRow] = []
    for d in devices:
        if d.kind != "inverter":
            continue
        c = session.scalars(
            select(Command)
            .where(
                Command.device_id == d.id,
                Command.kind == CommandKind.SELF_TEST.value,
                Command.state == CommandState.ACKNOWLEDGED.value,
            )
            .order_by(Command.replied_at.desc())
            .limit(1)
        ).first()
        if c is None:
            continue
        when = c.replied_at.astimezone(zone).strftime("%Y-%m-%d %H:%M") if c.replied_at else ""
        try:
            items = read_results(c.result)
        except SelfTestError as exc:
            out.append(SelfTestRow(d.serial, when, "-", "-", "-", "-", f"unreadable: {exc}"))
            continue
        overall = verdict(items)
        for item in items:
            trip = _ms(item.trip_time_ms)
            if item.limit_ms is not None:
                trip += f" (max {_ms(item.limit_ms)})"
            out.append(
                SelfTestRow(
                    d.serial,
                    when,
                    item.name,
                    item.threshold or "-",
                    item.measured or "-",
                    trip,
                    "pass" if item.passed else "FAIL",
                )
            )
        out.append(SelfTestRow(d.serial, when, "overall", "", "", "", overall))
    return out
