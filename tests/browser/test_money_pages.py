"""The money pages in headless Chromium: a TOU weekday + weekend import tariff set in the editor
(two date periods, a validation error shown at the overlapping slot, then fixed), the preview
chart, and a site's savings page over metering written to the database."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from tests.browser import PASSWORD, DemoServer
from tests.browser.conftest import sign_in
from voltfleet.app.orgs.service import build_org
from voltfleet.app.users.service import new_user
from voltfleet.domain.access import OrgType
from voltfleet.domain.tariffs import to_us
from voltfleet.store.models import Org, Site
from voltfleet.store.money_models import MeterIntervalRow, TariffVersion

pytestmark = pytest.mark.browser

DISTRIBUTOR = "Sunrise Distribution"
INSTALLER_ORG = f"Money Test Installers {uuid.uuid4().hex[:6]}"


@pytest.fixture(scope="module")
def money_admin(live_server: DemoServer) -> str:
    """An administrator of an installer made for this module, below the demo distributor: its
    own sign-in limit, and sites that leave the demo installer's counts alone."""
    email = f"money-{uuid.uuid4().hex[:8]}@example.org"
    runtime = live_server.runtime
    with runtime.db.session() as s:
        parent = s.scalar(select(Org).where(Org.name == DISTRIBUTOR))
        assert parent is not None
        org = build_org(parent, INSTALLER_ORG, OrgType.INSTALLER, "DE")
        s.add(org)
        s.flush()
        new_user(
            s, runtime, email=email, username="Mona Money", password=PASSWORD, org_id=org.id,
            role="admin", country="DE",
        )  # fmt: skip
    return email


@pytest.fixture(scope="module")
def money_state(chromium: Any, live_server: DemoServer, money_admin: str) -> dict[str, Any]:
    """Signed in once for the module (sign-ins are limited to 5 a minute per account)."""
    ctx = chromium.new_context(base_url=live_server.url)
    try:
        page = ctx.new_page()
        sign_in(page, money_admin)
        page.wait_for_url("**/home")
        return dict(ctx.storage_state())
    finally:
        ctx.close()


@pytest.fixture
def money_page(new_context: Callable[..., Any], money_state: dict[str, Any]) -> Iterator[Any]:
    yield new_context(storage_state=money_state).new_page()


def new_site(live_server: DemoServer, name: str) -> str:
    with live_server.runtime.db.session() as s:
        org = s.scalar(select(Org).where(Org.name == INSTALLER_ORG))
        assert org is not None
        site = Site(
            org_id=org.id, name=name, country="DE", timezone="Europe/Berlin", currency="EUR"
        )
        s.add(site)
        s.flush()
        return site.id


def test_set_a_weekday_weekend_import_tariff(
    money_page: Any, live_server: DemoServer, artifacts: Path
) -> None:
    page = money_page
    site = new_site(live_server, f"Tariff test home {uuid.uuid4().hex[:4]}")
    page.goto(f"/sites/{site}/tariff")
    expect(page.locator("h1")).to_contain_text("Tariff setting")
    expect(page.locator("#direction-tabs a.active")).to_have_text("Export price")
    page.locator("#direction-tabs").get_by_role("tab", name="Import price").click()
    expect(page.locator("#direction-tabs a.active")).to_have_text("Import price")
    expect(page.locator("#current-tariff")).to_contain_text("No import price is in force")

    form = page.locator("#tariff-form")
    expect(form.locator("input[name=manner][value=customised]")).to_be_checked()
    form.locator("select[name=kind]").select_option("tou_weekday_weekend")
    periods = form.locator("#period-list fieldset.period")
    expect(periods).to_have_count(1)
    expect(periods.nth(0).locator(".slots[data-list=all]")).to_be_hidden()
    expect(form.locator("input[name=price]")).to_be_hidden()

    def slots(period: int, which: str) -> Any:
        return periods.nth(period).locator(f".slots[data-list={which}]")

    # Winter: weekdays cheap at night, dearer from 07:00; one weekend price.
    winter = periods.nth(0)
    winter.locator(".period-head input[name$=_name]").fill("Winter")
    winter.locator(".period-head input[name$=_start]").fill("10-01")
    winter.locator(".period-head input[name$=_end]").fill("03-31")
    weekday = slots(0, "weekday")
    weekday.locator("[data-slot] input[name$=_end]").fill("07:00")
    weekday.locator("[data-slot] input[name$=_price]").fill("0.22")
    weekday.get_by_role("button", name="Add time slot").click()
    added = weekday.locator("[data-slot]").nth(1)
    expect(added.locator("input[name$=_start]")).to_have_value("07:00")  # follows the last slot
    expect(added.locator("input[name$=_end]")).to_have_value("00:00")
    added.locator("input[name$=_price]").fill("0.38")
    slots(0, "weekend").locator("input[name$=_price]").fill("0.25")

    # Summer, added in the browser: it starts the day after winter ends.
    form.get_by_role("button", name="Add date period").click()
    expect(periods).to_have_count(2)
    summer = periods.nth(1)
    expect(summer.locator(".period-head input[name$=_start]")).to_have_value("04-01")
    summer.locator(".period-head input[name$=_name]").fill("Summer")
    summer.locator(".period-head input[name$=_end]").fill("09-30")
    weekday = slots(1, "weekday")
    weekday.locator("[data-slot] input[name$=_end]").fill("08:00")
    weekday.locator("[data-slot] input[name$=_price]").fill("0.20")
    weekday.get_by_role("button", name="Add time slot").click()
    overlapping = weekday.locator("[data-slot]").nth(1)
    overlapping.locator("input[name$=_start]").fill("07:00")  # overlaps 00:00-08:00
    overlapping.locator("input[name$=_price]").fill("0.34")
    slots(1, "weekend").locator("input[name$=_price]").fill("0.21")
    # A slot added by mistake and removed again.
    slots(1, "weekend").get_by_role("button", name="Add time slot").click()
    expect(slots(1, "weekend").locator("[data-slot]")).to_have_count(2)
    slots(1, "weekend").locator("[data-slot]").nth(1).get_by_role("button", name="Remove").click()
    expect(slots(1, "weekend").locator("[data-slot]")).to_have_count(1)
    form.get_by_role("button", name="Save").click()

    # Refused: the error is next to summer's second weekday slot, and what was typed is kept.
    expect(page.locator("#error")).to_contain_text("Not saved")
    at_fault = page.locator(".slot.fault", has=page.locator(".field-error"))
    expect(at_fault).to_have_count(1)
    expect(at_fault.locator(".field-error")).to_contain_text(
        "period 'Summer', weekday slot 2 (07:00-00:00) overlaps slot 1 (00:00-08:00)"
    )
    expect(at_fault.locator("input[name$=_price]")).to_have_value("0.34")
    expect(page.locator("fieldset.period").nth(1).locator("input[name$=_name]")).to_have_value(
        "Summer"
    )
    expect(page.locator("select[name=kind]")).to_have_value("tou_weekday_weekend")

    at_fault.locator("input[name$=_start]").fill("08:00")
    page.locator("#tariff-form").get_by_role("button", name="Save").click()
    expect(page.locator("#notice")).to_have_text("Tariff saved.")
    expect(page).to_have_url(re.compile(r"direction=IMPORT"))
    expect(page.locator("#current-tariff")).to_contain_text("TOU (weekday + weekend)")
    expect(page.locator("#current-tariff")).to_contain_text("2 periods, 0.20 to 0.38 EUR/kWh")
    expect(page.locator("#versions tbody tr")).to_have_count(1)
    expect(page.locator("#versions tbody tr .badge")).to_have_text("in force")

    # The preview chart is drawn (uPlot's canvas), with its legend.
    canvas = page.locator("#preview-chart canvas")
    expect(canvas).to_be_visible()
    box = canvas.bounding_box()
    assert box and box["width"] > 300 and box["height"] > 100
    expect(page.locator("#preview-chart .u-legend")).to_contain_text("Import price")
    page.locator("#tariff-editor").scroll_into_view_if_needed()
    page.screenshot(path=str(artifacts / "tariff-page.png"), full_page=True)

    with live_server.runtime.db.session() as s:
        rows = s.scalars(select(TariffVersion).where(TariffVersion.site_id == site)).all()
        assert [(r.direction, r.kind) for r in rows] == [("IMPORT", "tou_weekday_weekend")]
        names = [p["name"] for p in rows[0].definition["periods"]]
        assert names == ["Winter", "Summer"]


def test_savings_page_shows_the_metered_numbers(
    money_page: Any, live_server: DemoServer, artifacts: Path
) -> None:
    page = money_page
    site = new_site(live_server, f"Savings test home {uuid.uuid4().hex[:4]}")
    tou = {
        "kind": "tou",
        "currency": "EUR",
        "periods": [
            {
                "name": "all year",
                "start": "01-01",
                "end": "12-31",
                "slots": [
                    {"start": "00:00", "end": "06:00", "price_per_kwh": 0.10},
                    {"start": "06:00", "end": "17:00", "price_per_kwh": 0.16},
                    {"start": "17:00", "end": "21:00", "price_per_kwh": 0.36875},
                    {"start": "21:00", "end": "00:00", "price_per_kwh": 0.10},
                ],
            }
        ],
    }
    with live_server.runtime.db.session() as s:
        for direction, kind, definition in (
            ("IMPORT", "tou", tou),
            ("EXPORT", "fixed", {"kind": "fixed", "currency": "EUR", "price_per_kwh": 0.08}),
        ):
            s.add(
                TariffVersion(
                    site_id=site,
                    direction=direction,
                    valid_from=date(2026, 1, 1),
                    kind=kind,
                    currency="EUR",
                    definition=definition,
                )
            )
        # Berlin is UTC+1 in March. 5.5 kWh charged for 0.64 EUR, 3.2 kWh supplied worth 1.18.
        for n, (start, hours, kwh, direction) in enumerate(
            [
                ("2026-03-02T00:00:00+00:00", 2, 2.0, "IMPORT"),
                ("2026-03-02T17:00:00+00:00", 1, 1.2, "EXPORT"),
                ("2026-03-03T00:00:00+00:00", 2, 2.0, "IMPORT"),
                ("2026-03-03T09:00:00+00:00", 1, 1.5, "IMPORT"),
                ("2026-03-03T17:00:00+00:00", 2, 2.0, "EXPORT"),
            ]
        ):
            a = datetime.fromisoformat(start)
            b = a + timedelta(hours=hours)
            s.add(
                MeterIntervalRow(
                    site_id=site,
                    start=a,
                    end=b,
                    start_us=to_us(a),
                    end_us=to_us(b),
                    energy_wh=kwh * 1000,
                    direction=direction,
                    tariff_rate="IMPORT",
                    record_reference_id=f"browser-{site}-{n}",
                )
            )

    page.goto(f"/sites/{site}/tariff")
    page.locator("nav.sub").get_by_role("link", name="Savings").click()
    expect(page).to_have_url(re.compile(rf"/sites/{site}/savings$"))
    form = page.locator("#savings-filter")
    form.locator("input[name=start]").fill("2026-03-02")
    form.locator("input[name=end]").fill("2026-03-03")
    form.locator("select[name=aggregation]").select_option("DAY")
    form.get_by_role("button", name="Show").click()

    def cells(bucket: str) -> list[str]:
        row = page.locator(f"#savings-table tr[data-bucket='{bucket}'] td")
        return [t.strip() for t in row.all_inner_texts()]

    expect(page.locator("#savings-table tbody tr")).to_have_count(2)
    assert cells("2026-03-02") == [
        "2026-03-02", "2.00", "0.20", "1.20", "0.44", "0.00", "0.00", "0.24", "54.8",
    ]  # fmt: skip
    assert cells("2026-03-03") == [
        "2026-03-03", "3.50", "0.44", "2.00", "0.74", "0.00", "0.00", "0.30", "40.3",
    ]  # fmt: skip
    assert cells("total") == [
        "Total (EUR)", "5.50", "0.64", "3.20", "1.18", "0.00", "0.00", "0.54", "45.8",
    ]  # fmt: skip
    expect(page.locator("#total-savings")).to_have_text("0.54")
    expect(page.locator("#savings-chart canvas")).to_be_visible()
    expect(page.locator("#savings-chart .u-legend")).to_contain_text("Supplied value")
    href = page.locator("#download-csv").get_attribute("href")
    assert href and "start=2026-03-02" in href and "aggregation=DAY" in href
    page.screenshot(path=str(artifacts / "savings-page.png"), full_page=True)

    # Per week, with the battery's energy at the edges: the honest extra lines appear.
    form = page.locator("#savings-filter")
    form.locator("select[name=aggregation]").select_option("WEEK")
    form.locator("summary").click()
    form.locator("input[name=stored_start]").fill("1")
    form.locator("input[name=stored_end]").fill("2.5")
    form.get_by_role("button", name="Show").click()
    expect(page.locator("#savings-table tbody tr")).to_have_count(1)
    assert cells("2026-W10")[2] == "0.64"
    expect(page.locator("#round-trip-losses")).to_have_text("0.80 kWh")

    # The fleet view lists the site with the same totals.
    page.goto("/savings?start=2026-03-01&end=2026-03-31")
    row = page.locator(f"#fleet-savings tr[data-site='{site}']")
    expect(row).to_contain_text("0.54")
    expect(row).to_contain_text("45.8")
