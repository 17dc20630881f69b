"""The device lists and the inverter's pages in headless Chromium (issue 15): an O&M engineer
opens the gateway dashboard and follows a count into the filtered gateway list, filters it, hides
a column (kept after a reload), finds an inverter in the inverter list and walks its function
bar; on the Mode page sends a TOU table, sees it waiting and then what the simulated gateway
acknowledged without a reload; sets the intelligent load (refused without a hysteresis band,
then sent and acknowledged); runs AutoTest at an Italian site and sees the page refuse it at a
German one.

This module runs its own demo server with its own installer, so the other modules' counts stay."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from tests.browser import PASSWORD, DemoServer
from tests.browser.conftest import sign_in
from voltfleet.app.orgs.service import build_org
from voltfleet.app.users.service import new_user
from voltfleet.domain.access import OrgType
from voltfleet.simulator import commands as sim
from voltfleet.simulator.model import BatterySpec
from voltfleet.store.fleet_models import Device
from voltfleet.store.models import Org, Site

pytestmark = pytest.mark.browser
BATTERY = BatterySpec(10_000.0, 5000.0, 5000.0, 0.9, 0.1, 0.95)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoServer]:
    demo = DemoServer(tmp_path_factory.mktemp("device-lists-demo")).start()
    try:
        yield demo
    finally:
        demo.stop()


@pytest.fixture(scope="module")
def fleet(server: DemoServer) -> dict[str, str]:
    """An installer with an O&M engineer, a German home (Wi-Fi gateway 3.1 with a hybrid
    inverter), an Italian home (4G gateway 1.0 with one) and a faulty Ethernet gateway."""
    runtime = server.runtime
    tag = uuid.uuid4().hex[:6].upper()
    email = f"om-{tag.lower()}@example.org"
    ids: dict[str, str] = {"email": email, "tag": tag}
    with runtime.db.session() as s:
        parent = s.scalar(select(Org).where(Org.name == "Sunrise Distribution"))
        assert parent is not None
        org = build_org(parent, f"List Installers {tag}", OrgType.INSTALLER, "DE")
        s.add(org)
        s.flush()
        for who, role in ((email, "om"), (f"admin-{tag.lower()}@example.org", "admin")):
            new_user(
                s, runtime, email=who, username=role, password=PASSWORD, org_id=org.id,
                role=role, country="DE",
            )  # fmt: skip
        homes = (
            ("de", "DE", "Europe/Berlin", "wifi", "3.1", "online"),
            ("it", "IT", "Europe/Rome", "4g", "1.0", "offline"),
            ("x", "DE", "Europe/Berlin", "ethernet", "", "fault"),
        )
        for key, country, tz, gw_type, fw, status in homes:
            site = Site(org_id=org.id, name=f"{key.upper()} home {tag}", country=country,
                        timezone=tz)  # fmt: skip
            s.add(site)
            s.flush()
            gw = Device(site_id=site.id, kind="gateway", subtype=gw_type, fw_arm=fw,
                        serial=f"{key.upper()}GW{tag}", status=status)  # fmt: skip
            s.add(gw)
            s.flush()
            ids[f"{key}_gw"] = gw.id
            if key == "x":
                continue
            inv = Device(site_id=site.id, kind="inverter", subtype="hybrid", parent_id=gw.id,
                         serial=f"{key.upper()}INV{tag}", name=f"{key} roof", model="HY-5K",
                         comm_address=1, status="online")  # fmt: skip
            s.add(inv)
            s.flush()
            ids[f"{key}_inv"] = inv.id
    with httpx.Client(base_url=server.url, timeout=10) as api:
        admin = f"admin-{tag.lower()}@example.org"
        r = api.post("/api/v1/auth/token", data={"username": admin, "password": PASSWORD})
        assert r.status_code == 200, r.text
        bearer = {"Authorization": f"Bearer {r.json()['access_token']}"}
        for key in ("de", "it"):
            r = api.post(f"/api/v1/devices/{ids[f'{key}_gw']}/token", headers=bearer)
            assert r.status_code == 201, r.text
            ids[f"{key}_token"] = r.json()["token"]
    return ids


@pytest.fixture(scope="module")
def om_state(chromium: Any, server: DemoServer, fleet: dict[str, str]) -> dict[str, Any]:
    ctx = chromium.new_context(base_url=server.url)
    try:
        page = ctx.new_page()
        sign_in(page, fleet["email"])
        page.wait_for_url("**/home")
        return dict(ctx.storage_state())
    finally:
        ctx.close()


@pytest.fixture
def om(chromium: Any, server: DemoServer, om_state: dict[str, Any]) -> Iterator[Any]:
    ctx = chromium.new_context(
        base_url=server.url, storage_state=om_state, viewport={"width": 1400, "height": 900}
    )
    ctx.set_default_timeout(10_000)
    try:
        yield ctx.new_page()
    finally:
        ctx.close()


def answer(server: DemoServer, token: str, serials: set[str]) -> list[str]:
    """The simulated gateway's HTTP poll: each command answered as the simulated inverter does."""
    auth = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=server.url, timeout=10, headers=auth) as api:
        got = api.get("/api/v1/gateway/commands").json()["commands"]
        for c in got:
            r = api.post(
                f"/api/v1/gateway/commands/{c['id']}/reply",
                json=sim.interpret(c, BATTERY, serials).reply(),
            )
            assert r.status_code == 200, r.text
    return [c["kind"] for c in got]


def rows(page: Any) -> Any:
    return page.locator("table.devices tbody tr")


def test_gateway_dashboard_list_filters_and_columns(om: Any, fleet: dict[str, str]) -> None:
    page, tag = om, fleet["tag"]
    page.goto("/site/gateways")
    expect(rows(page)).to_have_count(3)
    page.get_by_role("link", name="Gateway dashboard").click()
    expect(page.locator("#by-status [data-status=fault]")).to_contain_text("1")
    expect(page.locator("#by-type [data-type='4g']")).to_contain_text("1")
    page.locator("#by-firmware [data-firmware='3.1']").click()
    expect(rows(page)).to_have_count(1)
    expect(page.locator(f"tr[data-serial='DEGW{tag}']")).to_be_visible()

    # The filters: type and status, then a keyword; the CSV link carries them.
    page.goto("/site/gateways")
    form = page.locator("#device-filters")
    form.locator("select[name=type]").select_option("4g")
    form.get_by_role("button", name="Search").click()
    expect(rows(page)).to_have_count(1)
    expect(page.locator(f"tr[data-serial='ITGW{tag}']")).to_be_visible()
    expect(page.locator("#csv-download")).to_have_attribute("href", re.compile(r"type=4g"))
    page.goto("/site/gateways")
    form.locator("select[name=status]").select_option("fault")
    form.get_by_role("button", name="Search").click()
    expect(rows(page)).to_have_count(1)
    expect(page.locator(f"tr[data-serial='XGW{tag}']")).to_be_visible()
    page.goto("/site/gateways")
    form.locator("input[name=q]").fill(f"itgw{tag}".lower())
    form.get_by_role("button", name="Search").click()
    expect(rows(page)).to_have_count(1)

    # The column chooser hides the firmware column, and the choice survives a reload.
    page.goto("/site/gateways")
    firmware_head = page.locator("#gateway-list th[data-col=firmware]")
    expect(firmware_head).to_be_visible()
    page.locator("#column-chooser summary").click()
    page.locator("#column-chooser input[value=firmware]").uncheck()
    expect(firmware_head).to_be_hidden()
    page.reload()
    expect(page.locator("#gateway-list th[data-col=firmware]")).to_be_hidden()
    expect(page.locator("#column-chooser input[value=firmware]")).not_to_be_checked()
    # Rename and distribute lead to the gateway's forms.
    row = page.locator(f"tr[data-serial='DEGW{tag}']")
    row.locator("a.act-distribute").click()
    expect(page.locator("#move-device")).to_be_visible()
    expect(page.locator("text=Connected devices")).to_be_visible()


def test_inverter_list_and_function_bar(om: Any, fleet: dict[str, str]) -> None:
    page, tag = om, fleet["tag"]
    page.goto("/site/inverters")
    page.locator("#device-filters input[name=q]").fill("it roof")
    page.locator("#device-filters").get_by_role("button", name="Search").click()
    expect(rows(page)).to_have_count(1)
    row = page.locator(f"tr[data-serial='ITINV{tag}']")
    expect(row.locator("td[data-col=gateway]")).to_have_text(f"ITGW{tag}")
    row.get_by_role("link", name=f"ITINV{tag}").click()
    bar = page.locator("#device-tabs")
    expect(bar.locator("a")).to_have_text(
        [
            "Details",
            "Chart",
            "Energy",
            "Alarm",
            "Data",
            "Settings",
            "AutoTest",
            "Mode",
            "Intelligent load",
            "Upgrade",
        ]
    )
    expect(bar.locator("a[aria-current=page]")).to_have_text("Details")
    for label in ("Chart", "Energy", "Alarm", "Data", "Upgrade", "Mode"):
        page.locator("#device-tabs").get_by_role("link", name=label, exact=True).click()
        expect(page.locator("#device-tabs a[aria-current=page]")).to_have_text(label)
    # A German site's inverter has no AutoTest tab.
    page.goto(f"/device/{fleet['de_inv']}")
    expect(page.locator("#device-tabs a[data-tab=autotest]")).to_have_count(0)


def test_mode_tou_is_pending_then_acknowledged(
    om: Any, server: DemoServer, fleet: dict[str, str]
) -> None:
    page, tag = om, fleet["tag"]
    page.goto(f"/device/{fleet['de_inv']}/mode")
    expect(page.locator("#mode-reported")).to_contain_text("not reported yet")
    form = page.locator("#mode-form")
    form.locator("input[name=mode][value=tou]").check()
    form.locator("#tou-settings summary").click()
    form.locator("input[name=grid_charge]").check()
    form.locator("input[name=grid_charge_kw]").fill("2.5")
    form.locator("input[name=grid_charge_start]").fill("23:00")
    form.locator("input[name=grid_charge_end]").fill("05:00")
    form.locator("input[name=season0_from]").fill("01-01")
    form.locator("input[name=season0_to]").fill("12-31")
    form.locator("input[name=season0_weekday]").fill("17:00-21:00 full_feed_in")
    form.get_by_role("button", name="Send mode").click()
    expect(page.locator("#mode-notice")).to_be_visible()
    expect(page.locator("#mode-pending")).to_contain_text("TOU")
    assert answer(server, fleet["de_token"], {f"DEINV{tag}"}) == ["work_mode"]
    # The page polls while a command waits: the reported mode appears without a reload.
    expect(page.locator("#mode-pending")).to_have_count(0, timeout=8_000)
    expect(page.locator("#mode-reported")).to_contain_text("TOU mode")
    expect(page.locator("#mode-reported")).to_contain_text("+01:00")  # the site's clock


def test_intelligent_load_refused_out_of_band_then_sent_and_acknowledged(
    om: Any, server: DemoServer, fleet: dict[str, str]
) -> None:
    page, tag = om, fleet["tag"]
    page.goto(f"/device/{fleet['de_inv']}")
    page.locator("#device-tabs").get_by_role("link", name="Intelligent load").click()
    form = page.locator("#load-form")
    form.locator("input[name=load_mode][value=battery]").check()
    form.locator("input[name=on_above_soc_pct]").fill("40")
    form.locator("input[name=off_below_soc_pct]").fill("60")  # no hysteresis band: refused
    form.get_by_role("button", name="Send load settings").click()
    expect(page.locator("#mode-error")).to_contain_text("off_below_soc_pct must be below")
    expect(page.locator("#load-state")).to_have_text("Intelligent load off")
    form.locator("input[name=load_mode][value=battery]").check()
    form.locator("input[name=on_above_soc_pct]").fill("85")
    form.locator("input[name=off_below_soc_pct]").fill("55")
    form.get_by_role("button", name="Send load settings").click()
    expect(page.locator("#mode-notice")).to_be_visible()
    expect(page.locator("#load-state")).to_have_text("Battery energy control (queued)")
    assert answer(server, fleet["de_token"], {f"DEINV{tag}"}) == ["intelligent_load"]
    page.reload()
    expect(page.locator("#load-state")).to_have_text("Battery energy control")
    form = page.locator("#load-form")  # the form shows the settings now in force
    expect(form.locator("input[name=load_mode][value=battery]")).to_be_checked()
    expect(form.locator("input[name=on_above_soc_pct]")).to_have_value("85")


def test_autotest_at_an_italian_site_and_refused_elsewhere(
    om: Any, server: DemoServer, fleet: dict[str, str]
) -> None:
    page, tag = om, fleet["tag"]
    page.goto(f"/device/{fleet['de_inv']}/autotest")
    expect(page.locator("#autotest-unavailable")).to_contain_text("only available")
    expect(page.locator("#autotest-form")).to_have_count(0)

    page.goto(f"/device/{fleet['it_inv']}")
    page.locator("#device-tabs").get_by_role("link", name="AutoTest").click()
    form = page.locator("#autotest-form")
    for box in form.locator("input[name=condition]").all():
        box.check()
    form.locator("input[name=agreement]").check()
    form.get_by_role("button", name="Start test").click()
    expect(page.locator("#autotest-running")).to_be_visible()
    assert answer(server, fleet["it_token"], {f"ITINV{tag}"}) == ["autotest"]
    expect(page.locator("#autotest-running")).to_have_count(0, timeout=8_000)
    expect(page.locator("#device-autotest")).to_contain_text("59.S1")
