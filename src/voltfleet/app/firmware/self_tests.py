"""The self-test results a commissioning report shows: each inverter's latest answered
``autotest`` (the CEI 0-21 AutoTest started from the inverter's AutoTest page; the platform
judges each protection from the trip values, ``domain.autotest``) or ``self_test`` command (an
inverter that judges its own run; the gateway's reply carries the verdicts,
``domain.firmware.self_test``), whichever is newer. A reply whose results cannot be read is
shown as such, with the reason, not dropped."""

from __future__ import annotations

from collections.abc import Sequence
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from voltfleet.app.firmware.report_pdf import SelfTestRow
from voltfleet.app.formatting import document_time
from voltfleet.domain import autotest
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
                Command.kind.in_([CommandKind.SELF_TEST.value, CommandKind.AUTOTEST.value]),
                Command.state == CommandState.ACKNOWLEDGED.value,
            )
            .order_by(Command.replied_at.desc())
            .limit(1)
        ).first()
        if c is None:
            continue
        # on the site's clock with its offset (one clock), the offset on a line of its own to
        # fit the report's narrow column
        when = ""
        if c.replied_at:
            day_and_clock, offset = document_time(c.replied_at, zone.key).rsplit(" ", 1)
            when = f"{day_and_clock}\n{offset}"
        if c.kind == CommandKind.AUTOTEST.value:
            out.extend(_judged(d.serial, when, c.result))
            continue
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


def _judged(serial: str, when: str, details: object) -> list[SelfTestRow]:
    """An AutoTest run's rows, each protection judged by the platform against CEI 0-21."""
    results = autotest.judge_report(details)
    out = [
        SelfTestRow(
            serial,
            when,
            r.step.code,
            f"{r.step.threshold:.2f} {r.step.unit}",
            f"{r.value:g} {r.step.unit}" if r.value is not None else "-",
            (f"{r.time_s * 1000:g} ms" if r.time_s is not None else "-")
            + f" (max {r.step.max_time_s * 1000:g} ms)",
            "pass" if r.passed else f"FAIL: {r.reason}",
        )
        for r in results
    ]
    overall = "pass" if all(r.passed for r in results) else "FAIL"
    out.append(SelfTestRow(serial, when, "overall", "", "", "", overall))
    return out
