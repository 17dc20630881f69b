"""Upgrade and Commissioning in headless Chromium, as an installer uses them: upload a release
(it becomes NEW), make a reserved batch task with the device picker and read its details (the
reservation in the site's zone with its offset), and make a commissioning report whose PDF
(generated in the background) names the site and its devices."""

from __future__ import annotations

import io
from typing import Any

import pytest
from playwright.sync_api import expect
from pypdf import PdfReader
from sqlalchemy import select

from tests.browser import DemoServer
from voltfleet.store.fleet_models import Device
from voltfleet.store.models import Site

pytestmark = pytest.mark.browser


def test_release_upload_and_a_reserved_batch_task(installer_page: Any) -> None:
    page = installer_page
    page.goto("/upgrade/releases")
    rows = page.locator("#release-rows tbody tr")
    expect(rows.filter(has_text="3.1.0")).to_contain_text("NEW")  # the demo's newest
    form = page.locator("#release-upload")
    form.locator("input[name=model]").fill("voltfleet simulator")
    form.locator("input[name=version]").fill("3.2.0")
    form.locator("input[name=description]").fill("browser test release")
    form.locator("input[name=file]").set_input_files(
        {"name": "gw-3.2.0.bin", "mimeType": "application/octet-stream", "buffer": b"FW" * 500}
    )
    form.locator("button[type=submit]").click()
    expect(page.locator("#release-notice")).to_contain_text("3.2.0 uploaded")
    expect(rows.filter(has_text="3.2.0")).to_contain_text("NEW")
    expect(rows.filter(has_text="3.1.0")).not_to_contain_text("NEW")

    rows.filter(has_text="3.2.0").get_by_role("link", name="Upgrade devices").click()
    picker = page.locator("#device-picker tbody tr[data-serial]")
    expect(picker.first).to_be_visible()
    assert picker.count() >= 2
    picker.nth(0).locator("input[type=checkbox]").check()
    picker.nth(1).locator("input[type=checkbox]").check()
    page.check("#reserve-yes")
    page.fill("#start-at", "2031-07-10T00:00")
    page.click("#task-confirm")
    expect(page.locator("h1")).to_contain_text("Upgrade task")
    expect(page.locator("#task-state")).to_contain_text("scheduled")
    expect(page.locator("#task-reservation")).to_have_text("2031-07-10 00:00:00 +02:00")
    expect(page.locator("#run-rows tbody tr[data-state=pending]")).to_have_count(2)
    expect(page.locator("#task-stats")).to_contain_text("2 pending")
    page.goto("/upgrade/tasks")
    expect(page.locator("#task-rows tbody tr").first).to_contain_text("2031-07-10 00:00:00 +02:00")


def test_a_commissioning_report_is_generated_and_reads_as_a_pdf(
    installer_page: Any, live_server: DemoServer
) -> None:
    with live_server.runtime.db.session() as s:
        site = s.scalars(select(Site).where(Site.name == "Haus am See Potsdam")).one()
        site_id = site.id
        serial = s.scalars(
            select(Device.serial).where(Device.site_id == site_id, Device.kind == "gateway")
        ).first()
    page = installer_page
    page.goto(f"/site/{site_id}/commissioning")
    page.fill("#report-form input[name=name]", "Handover Potsdam")
    page.click("#report-confirm")
    row = page.locator("#report-rows tbody tr").filter(has_text="Handover Potsdam")
    expect(row).to_have_attribute("data-status", "finished", timeout=20_000)
    expect(row).to_contain_text("100%")
    link = row.locator("a.report-pdf")
    response = page.request.get(str(link.get_attribute("href")))
    assert response.status == 200 and response.headers["content-type"] == "application/pdf"
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(response.body())).pages)
    for expected in ("Handover Potsdam", "Haus am See Potsdam", str(serial), "Devices"):
        assert expected in text, f"{expected!r} not in the PDF:\n{text}"
