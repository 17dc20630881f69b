"""Issue 3 "done when", in headless Chromium: the demo installer administrator creates a site with
the wizard and a new owner account, binds a gateway and inverters, imports 500 devices from a CSV
file (bad rows reported one by one), sets the statistical range, switches live data, shares the
site with another organisation through the picker (whose administrator removes it from its list),
and finds the site again by every search key.

The module runs its own demo server, so the sites and organisations it adds do not change what
the other browser tests count. The tests walk through one installer's work in order: the site and
its bound devices are module fixtures, made through the pages like everything else.
"""

from __future__ import annotations

import re
import struct
import uuid
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from tests.browser import INSTALLER_ORG, PASSWORD, DemoServer
from tests.browser.conftest import sign_in
from tests.browser.mail import outbox_mails
from voltfleet.app.orgs.service import build_org
from voltfleet.app.users.service import new_user
from voltfleet.domain.access import OrgType
from voltfleet.store.models import Org

pytestmark = pytest.mark.browser

TAG = uuid.uuid4().hex[:6].upper()
SITE_NAME = f"Sonnenhof {TAG}"
OWNER_EMAIL = f"hanna-{TAG.lower()}@example.org"
GATEWAY = f"GW-{TAG}"
REGISTRATION = f"REG-{TAG}"
PARTNER_ORG = f"Roofline Partners {TAG}"
PARTNER_ADMIN = f"partner-{TAG.lower()}@example.org"
IMPORTED = 500


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoServer]:
    """This module's own demo server (fresh SQLite): overrides the session-wide one."""
    server = DemoServer(tmp_path_factory.mktemp("browser-sites")).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def installer(chromium: Any, live_server: DemoServer, installer_state: dict[str, Any]) -> Any:
    """One page signed in as the installer administrator, shared by the module's steps."""
    ctx = chromium.new_context(
        base_url=live_server.url,
        storage_state=installer_state,
        viewport={"width": 1280, "height": 900},
    )
    ctx.set_default_timeout(15_000)
    yield ctx.new_page()
    ctx.close()


@pytest.fixture(scope="module")
def site(installer: Any) -> dict[str, str]:
    """The wizard: gateway, site details, and a new owner account."""
    page = installer
    page.goto("/site")
    page.click("#create-site")
    expect(page.locator("h1")).to_have_text("Create site")
    form = page.locator("#create-site-form")
    form.locator("input[name=gateway_serial]").fill(GATEWAY)
    form.locator("select[name=gateway_type]").select_option("wifi")
    form.locator("input[name=registration_no]").fill(REGISTRATION)
    form.locator("input[name=gateway_fw]").fill("3.2.0")
    form.locator("input[name=name]").fill(SITE_NAME)
    form.locator("input[name=address]").fill("Sonnenweg 5, 79098 Freiburg")
    form.locator("input[name=country]").fill("de")
    form.locator("input[name=capacity_kwp]").fill("9.8")
    form.locator("input[name=account_mode][value=new]").check()
    form.locator("input[name=owner_email]").fill(OWNER_EMAIL)
    form.locator("input[name=owner_name]").fill("Hanna Sonnenhof")
    form.get_by_role("button", name="Create site").click()
    expect(page.locator("#notice")).to_have_text("Site created")
    match = re.search(r"/site/([^/?]+)", page.url)
    assert match, page.url
    return {"id": match.group(1), "url": f"/site/{match.group(1)}"}


@pytest.fixture(scope="module")
def partner(live_server: DemoServer) -> dict[str, str]:
    """A partner installer below Bright Roofs, with its own administrator (the share's receiver)."""
    runtime = live_server.runtime
    with runtime.db.session() as s:
        parent = s.scalar(select(Org).where(Org.name == INSTALLER_ORG))
        assert parent is not None
        org = build_org(parent, PARTNER_ORG, OrgType.INSTALLER, "DE")
        s.add(org)
        s.flush()
        new_user(
            s,
            runtime,
            email=PARTNER_ADMIN,
            username="Paula Partner",
            password=PASSWORD,
            org_id=org.id,
            role="admin",
            country="DE",
        )
        return {"id": org.id, "name": org.name}


def tiny_png() -> bytes:
    """A 2 x 1 pixel PNG."""
    raw = b"\x00" + b"\xff\x80\x00" * 2

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 2, 1, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def device_row(page: Any, serial: str) -> Any:
    return page.locator(f"table.devices tr[data-serial='{serial}']")


def bind(page: Any, **fields: str) -> None:
    form = page.locator("#add-device")
    if not form.is_visible():
        page.locator("summary", has_text="Add device").click()
    for name, value in fields.items():
        if name == "kind":
            form.locator("select[name=kind]").select_option(value)
        else:
            form.locator(f"input[name={name}]").fill(value)
    form.get_by_role("button", name="Bind").click()


# --- the site, its gateway and inverters ---------------------------------------------------------


def test_wizard_creates_the_site_with_a_new_owner_and_its_gateway(
    installer: Any, site: dict[str, str]
) -> None:
    page = installer
    expect(page.locator("h1")).to_contain_text(SITE_NAME)
    info = page.locator("#site-info")
    expect(info).to_contain_text("Europe/Berlin")  # from the country
    expect(info).to_contain_text("9.8 kWp")
    expect(page.locator("#site-owner")).to_have_text(OWNER_EMAIL)
    expect(page.locator("#topology")).to_contain_text(GATEWAY)
    expect(device_row(page, GATEWAY)).to_contain_text("supported")
    # A picture of the house, shown on the overview.
    page.locator("summary", has_text="Upload the picture").click()
    form = page.locator("#site-picture-form")
    form.locator("input[type=file]").set_input_files(
        {"name": "house.png", "mimeType": "image/png", "buffer": tiny_png()}
    )
    form.get_by_role("button", name="Upload").click()
    expect(page.locator("#notice")).to_have_text("Picture saved.")
    picture = page.locator("#site-picture")
    expect(picture).to_be_visible()
    page.wait_for_function("() => document.querySelector('#site-picture').complete")
    assert picture.evaluate("img => img.naturalWidth") == 2
    # The new owner was mailed a temporary password (read from the demo outbox).
    mail = outbox_mails(page, OWNER_EMAIL, "")  # read by the superuser: nobody else may
    assert "temporary password" in mail
    assert SITE_NAME in mail


def test_bind_inverters_see_the_topology_and_switch_live_data(
    installer: Any, site: dict[str, str]
) -> None:
    page = installer
    page.goto(site["url"])
    bind(page, kind="inverter", serial=f"INV-{TAG}-1", subtype="hybrid", parent_serial=GATEWAY)
    expect(page.locator("#notice")).to_have_text(f"Inverter INV-{TAG}-1 bound.")
    bind(page, kind="inverter", serial=f"MIC-{TAG}-1", subtype="micro", parent_serial=GATEWAY)
    expect(page.locator("#notice")).to_have_text(f"Inverter MIC-{TAG}-1 bound.")
    bind(page, kind="meter", serial=f"MTR-{TAG}-1", subtype="grid", parent_serial=GATEWAY)
    expect(page.locator("#notice")).to_have_text(f"Meter MTR-{TAG}-1 bound.")
    # A refusal is shown with its reason, and nothing is bound.
    bind(page, kind="inverter", serial=f"ORPHAN-{TAG}", parent_serial="NO-SUCH-GW")
    expect(page.locator("#error")).to_have_text("parent NO-SUCH-GW is not a device of this site")

    # The tree: gateway > inverters and meter; a click opens the device.
    gateway_node = page.locator("#topology ul.tree > li").filter(has_text=GATEWAY)
    for serial in (f"INV-{TAG}-1", f"MIC-{TAG}-1", f"MTR-{TAG}-1"):
        expect(gateway_node.locator("ul a.node", has_text=serial)).to_be_visible()
    gateway_node.locator("ul a.node", has_text=f"INV-{TAG}-1").click()
    expect(page.locator("h1")).to_contain_text(f"Inverter INV-{TAG}-1")

    # Live data: supported through the Wi-Fi gateway on firmware 3.2; switch it on and off.
    expect(page.locator("#live-data")).to_contain_text("supported")
    page.get_by_role("button", name="Enable live data").click()
    expect(page.locator("#notice")).to_have_text("Live data enabled.")
    expect(page.locator("#live-data")).to_contain_text("enabled")
    page.get_by_role("button", name="Switch live data off").click()
    expect(page.locator("#notice")).to_have_text("Live data switched off.")
    # Rename it.
    page.locator("#rename-form input[name=name]").fill("Roof east")
    page.locator("#rename-form").get_by_role("button", name="Rename").click()
    expect(page.locator("#notice")).to_have_text("Renamed to Roof east.")
    expect(page.locator("#device-info")).to_contain_text("Roof east")

    # A micro inverter never streams live data: the reason is shown, the switch is off.
    page.goto(site["url"])
    device_row(page, f"MIC-{TAG}-1").get_by_role("link", name=f"MIC-{TAG}-1").click()
    expect(page.locator("#live-data")).to_contain_text("not supported")
    expect(page.locator("#live-data-reason")).to_have_text(
        "micro inverters do not support live data"
    )
    expect(page.get_by_role("button", name="Enable live data")).to_be_disabled()

    # The inverter list finds both by their live-data capability.
    page.goto(f"/site/inverters?serial={TAG}&live_data=not_supported")
    expect(page.locator("table.devices tbody tr")).to_have_count(1)
    expect(device_row(page, f"MIC-{TAG}-1")).to_be_visible()


def test_statistical_range(installer: Any, site: dict[str, str]) -> None:
    page = installer
    page.goto(site["url"])
    card = page.locator("#statistical-range")
    expect(card).to_contain_text("3 of 3 inverters and meters counted")
    # Meters out; the micro inverter out by its own switch.
    card.locator("input[name=meters]").uncheck()
    card.locator(f"input[aria-label='count MIC-{TAG}-1']").uncheck()
    card.get_by_role("button", name="Save").click()
    expect(page.locator("#notice")).to_have_text("Statistical range saved.")
    card = page.locator("#statistical-range")
    expect(card).to_contain_text("1 of 3 inverters and meters counted")
    expect(card.locator("input[name=meters]")).not_to_be_checked()
    expect(card.locator("input[name=inverters]")).to_be_checked()
    rows = card.locator("#statistics-devices")
    expect(rows.locator(f"tr[data-serial='INV-{TAG}-1'] td.counted")).to_have_text("yes")
    expect(rows.locator(f"tr[data-serial='MIC-{TAG}-1'] td.counted")).to_have_text("no")
    expect(rows.locator(f"tr[data-serial='MTR-{TAG}-1'] td.counted")).to_have_text("no")


def test_status_for_a_chosen_day(installer: Any, site: dict[str, str]) -> None:
    page = installer
    page.goto(site["url"])
    card = page.locator("#day-status")
    expect(card.locator("#day-status-value")).to_have_text("offline")  # nothing reported yet
    card.locator("input[name=day]").fill("2020-06-01")
    card.get_by_role("button", name="Show").click()  # htmx swaps the card in place
    expect(page.locator("#day-status")).to_contain_text("2020-06-01")
    expect(page.locator("#day-status")).to_contain_text("No device was bound that day.")
    expect(page.locator("#day-status-value")).to_have_text("no device")


# --- import --------------------------------------------------------------------------------------


def devices_csv() -> tuple[bytes, list[tuple[int, str, str]]]:
    """500 good rows (50 Ethernet gateways with 9 inverters each) and a few bad ones; returns the
    file and the bad rows as (line, serial, part of the reason)."""
    lines = ["kind,serial,subtype,parent_serial,comm_address,fw_arm,model"]
    for g in range(1, 51):
        gw = f"IMP-{TAG}-G{g:02d}"
        lines.append(f"gateway,{gw},ethernet,,,2.1,EG-100")
        lines.extend(f"inverter,{gw}-I{i},hybrid,{gw},{i},,H10K" for i in range(1, 10))
    bad = [
        ("toaster,IMP-{t}-X1,,,,,", f"IMP-{TAG}-X1", "kind: Input should be"),
        ("inverter,IMP-{t}-X2,hybrid,NO-SUCH-GW,1,,", f"IMP-{TAG}-X2", "is not a device of"),
        (f"gateway,{GATEWAY},wifi,,,,", GATEWAY, "already bound to this site"),
        (f"inverter,IMP-{TAG}-X4,hybrid,IMP-{TAG}-G01,1,,", f"IMP-{TAG}-X4", "address 1"),
        ("inverter,IMP {t} X5,hybrid,,,,", f"IMP {TAG} X5", "serial: String should match"),
        (f"gateway,IMP-{TAG}-X6,wifi,IMP-{TAG}-G02,,,", f"IMP-{TAG}-X6", "cannot hang below"),
        (f"charger,IMP-{TAG}-X7,ac,,abc,,", f"IMP-{TAG}-X7", "comm_address: Input should be"),
    ]
    report = []
    for row, serial, reason in bad:
        lines.append(row.replace("{t}", TAG))
        report.append((len(lines), serial, reason))
    return ("\n".join(lines) + "\n").encode(), report


def test_import_500_devices_with_a_report_of_the_bad_rows(
    installer: Any, site: dict[str, str], tmp_path: Path
) -> None:
    content, bad = devices_csv()
    page = installer
    page.goto(site["url"])
    page.locator("summary", has_text="Import devices from CSV").click()
    form = page.locator("#import-devices")
    form.locator("input[type=file]").set_input_files(
        {"name": "devices.csv", "mimeType": "text/csv", "buffer": content}
    )
    form.get_by_role("button", name="Import").click()
    expect(page.locator("#notice")).to_have_text(f"{IMPORTED} added, {len(bad)} refused.")
    report = page.locator("#import-report")
    expect(report).to_contain_text(f"{IMPORTED} added, {len(bad)} refused.")
    rows = report.locator("tbody tr.refused")
    expect(rows).to_have_count(len(bad))
    for i, (line, serial, reason) in enumerate(bad):
        cells = rows.nth(i).locator("td")
        expect(cells.nth(0)).to_have_text(str(line))
        expect(cells.nth(1)).to_have_text(serial.upper())
        expect(cells.nth(3)).to_contain_text(reason)
    # The good rows are bound under their gateways.
    expect(page.locator("table.devices tbody tr")).to_have_count(4 + IMPORTED)
    page.goto(f"/site/gateways?serial=IMP-{TAG}")
    expect(page.locator("main p.muted").last).to_contain_text("50 gateways")


def test_move_a_gateway_with_its_inverters_to_another_site(
    installer: Any, site: dict[str, str]
) -> None:
    page = installer
    gateway = f"IMP-{TAG}-G50"
    page.goto(f"/site/gateways?serial={gateway}")
    device_row(page, gateway).get_by_role("link", name=gateway).click()
    move = page.locator("#move-form")
    move.locator("input[name=q]").fill("potsdam")  # htmx narrows the picker as one types
    expect(move.locator("select[name=site_id] option")).to_have_count(1)
    expect(move.locator("select[name=site_id]")).to_contain_text("Haus am See Potsdam")
    page.once("dialog", lambda dialog: dialog.accept())
    move.get_by_role("button", name="Move").click()
    expect(page.locator("#notice")).to_have_text(
        f"{gateway} moved to Haus am See Potsdam, with the devices below it."
    )
    page.get_by_role("link", name="Haus am See Potsdam").click()
    # the gateway and its nine inverters (the demo site has its own simulated gateway too)
    expect(page.locator("table.devices tbody tr", has_text=gateway)).to_have_count(10)
    expect(page.locator("#topology")).to_contain_text(f"{gateway}-I9")


# --- sharing -------------------------------------------------------------------------------------


def test_share_with_the_picker_and_the_receiver_removes_it(
    installer: Any, site: dict[str, str], partner: dict[str, str], new_context: Any
) -> None:
    page = installer
    page.goto(site["url"])
    page.click("#nav-settings")  # the site's actions are on its Settings tab
    share = page.locator("#share-site")
    share.locator("select[name=org_id]").select_option(label=f"{PARTNER_ORG} (installer, DE)")
    share.get_by_role("button", name="Share").click()
    expect(page.locator("#notice")).to_have_text(f"Site shared with {PARTNER_ORG}.")
    expect(page.locator(f"#shares li[data-org='{partner['id']}']")).to_contain_text(PARTNER_ORG)

    # The partner's administrator sees the site marked as shared, and removes it from its list.
    other = new_context().new_page()
    sign_in(other, PARTNER_ADMIN)
    other.wait_for_url("**/home")
    other.goto(f"/site?q={TAG}")
    row = other.locator("#sites tbody tr").filter(has_text=SITE_NAME)
    expect(row.locator(".badge.shared")).to_be_visible()
    row.get_by_role("link", name=SITE_NAME).click()
    expect(other.locator("#share-site")).to_have_count(0)  # cannot share it on
    expect(other.locator("#delete-site")).to_have_count(0)
    other.once("dialog", lambda dialog: dialog.accept())
    other.get_by_role("button", name="Remove from my list").click()
    expect(other.locator("#notice")).to_have_text("Site removed from your list")
    other.goto(f"/site?q={TAG}")
    expect(other.locator("#sites tbody")).to_contain_text("No site matches.")

    # The sharer sees the share gone, and shares it again for good.
    page.goto(site["url"])
    page.click("#nav-settings")
    expect(page.locator("#shares")).to_have_count(0)
    share = page.locator("#share-site")
    share.locator("select[name=org_id]").select_option(partner["id"])
    share.get_by_role("button", name="Share").click()
    expect(page.locator("#notice")).to_have_text(f"Site shared with {PARTNER_ORG}.")


# --- finding it again ----------------------------------------------------------------------------


def test_find_the_site_by_every_search_key(installer: Any, site: dict[str, str]) -> None:
    page = installer
    page.goto("/site")
    search = page.locator("#site-search")

    def find(**fields: str) -> Any:
        page.goto("/site")
        for name, value in fields.items():
            field = search.locator(f"[name={name}]")
            if name == "org_id":  # the option's label is indented by the organisation's depth
                field.select_option(field.locator("option", has_text=value).get_attribute("value"))
            elif name == "status":
                field.select_option(value)
            else:
                field.fill(value)
        search.get_by_role("button", name="Search").click()
        expect(page).to_have_url(re.compile(r"/site\?"))
        return page.locator("#sites tbody tr").filter(has_text=SITE_NAME)

    expect(find(q=f"sonnenhof {TAG.lower()}")).to_have_count(1)
    expect(find(serial=f"inv-{TAG.lower()}-1")).to_have_count(1)  # a device's serial number
    expect(find(registration_no=REGISTRATION.lower())).to_have_count(1)
    expect(find(account=OWNER_EMAIL)).to_have_count(1)
    expect(find(country="DE")).to_have_count(1)
    expect(page.locator("#sites tbody tr").filter(has_text="Casa Verde Graz")).to_have_count(0)
    expect(find(status="offline")).to_have_count(1)
    expect(page.locator("#sites tbody tr").filter(has_text="Musterhaus Freiburg")).to_have_count(0)
    expect(find(org_id=INSTALLER_ORG)).to_have_count(1)
    # A key that matches nothing finds nothing.
    expect(find(serial="NO-SUCH-SERIAL")).to_have_count(0)
    expect(page.locator("#sites tbody")).to_contain_text("No site matches.")
