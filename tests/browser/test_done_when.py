"""Issue 19's "Done when", in headless Chromium: the points no other browser test walked through
(docs/portal-coverage.md maps every point to its test).

Everything here happens in companies of its own, made below the platform (never below the demo
installer, whose counts the other browser tests check): a distributor with an administrator, an
O&M engineer and a viewer whose own zone is New York, one site in Berlin (a Wi-Fi gateway on
firmware 3.2, a hybrid inverter and a battery), a company with only a deleted site and a last
administrator, and an outside company the site is shared with by its access code.
"""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from tests.browser import OWNER, PASSWORD, DemoServer
from tests.browser.conftest import sign_in
from tests.browser.mail import outbox_mails
from voltfleet.app.alarms.delivery import deliver_due
from voltfleet.app.devices.service import refresh_live_data
from voltfleet.app.orgs.service import build_org
from voltfleet.app.users.service import new_user
from voltfleet.demo import TOU_IMPORT
from voltfleet.domain.access import OrgType
from voltfleet.domain.alarm_notifications import verify
from voltfleet.simulator.live_data import Reporting
from voltfleet.store.alarm_models import Alarm
from voltfleet.store.charging_models import ChargingSession
from voltfleet.store.fleet_models import Connector, Device
from voltfleet.store.models import Org, Site, User

pytestmark = pytest.mark.browser

TAG = uuid.uuid4().hex[:6].upper()
ORG = f"Done Roofs {TAG}"
OUTSIDE = f"Outside Roofs {TAG}"
SOLO = f"Solo Roofs {TAG}"
EMPTIED = f"Emptied Roofs {TAG}"
ADMIN = f"done-admin-{TAG.lower()}@example.org"
OM = f"done-om-{TAG.lower()}@example.org"
VIEWER = f"done-viewer-{TAG.lower()}@example.org"
OUTSIDE_ADMIN = f"outside-admin-{TAG.lower()}@example.org"
SOLO_ADMIN = f"solo-admin-{TAG.lower()}@example.org"
SITE = f"Done Home {TAG}"
GATEWAY, INVERTER, BATTERY = f"DGW{TAG}", f"DINV{TAG}", f"DBAT{TAG}"
# 13:05 UTC on 15 January: 14:05 in Berlin (+01:00), 08:05 in New York (-05:00).
WINTER = datetime(2026, 1, 15, 13, 5, tzinfo=UTC)


@pytest.fixture(scope="module")
def world(live_server: DemoServer) -> dict[str, str]:
    runtime = live_server.runtime
    now = datetime.now(UTC)
    with runtime.db.session() as s:
        platform = s.scalar(select(Org).where(Org.type == "platform"))
        assert platform is not None
        org = build_org(platform, ORG, OrgType.DISTRIBUTOR, "DE")
        outside = build_org(platform, OUTSIDE, OrgType.DISTRIBUTOR, "AT")
        s.add_all([org, outside])
        s.flush()
        solo = build_org(org, SOLO, OrgType.INSTALLER, "DE")
        emptied = build_org(org, EMPTIED, OrgType.INSTALLER, "DE")
        s.add_all([solo, emptied])
        s.flush()
        for email, name, org_id, role in (
            (ADMIN, "Dora Done", org.id, "admin"),
            (OM, "Otto Om", org.id, "om"),
            (VIEWER, "Vera Viewer", org.id, "om"),
            (OUTSIDE_ADMIN, "Olaf Outside", outside.id, "admin"),
            (SOLO_ADMIN, "Sol Solo", solo.id, "admin"),
        ):
            new_user(
                s,
                runtime,
                email=email,
                username=name,
                password=PASSWORD,
                org_id=org_id,
                role=role,
                country="DE",
            )
        viewer = s.scalar(select(User).where(User.email == VIEWER))
        assert viewer is not None
        viewer.timezone, viewer.formats = "America/New_York", "en-GB"
        # the solo and the emptied companies hold only a deleted (retained) site each
        for org_id in (solo.id, emptied.id):
            s.add(
                Site(
                    org_id=org_id,
                    name=f"Gone {TAG}",
                    deleted_at=now - timedelta(days=1),
                    purge_after=now + timedelta(days=29),
                )
            )
        site = Site(
            org_id=org.id, name=SITE, country="DE", timezone="Europe/Berlin", capacity_kwp=7.5
        )
        s.add(site)
        s.flush()
        gw = Device(site_id=site.id, kind="gateway", subtype="wifi", serial=GATEWAY, fw_arm="3.2.0")
        s.add(gw)
        s.flush()
        inv = Device(
            site_id=site.id, kind="inverter", subtype="hybrid", serial=INVERTER, parent_id=gw.id
        )
        s.add(inv)
        s.flush()
        bat = Device(
            site_id=site.id, kind="battery", subtype="lfp", serial=BATTERY, parent_id=inv.id
        )
        s.add(bat)
        s.flush()
        refresh_live_data(s, site.id)  # as binding them through the portal does
        ids = {
            "org": org.id,
            "outside_code": outside.access_code,
            "solo": solo.id,
            "emptied": emptied.id,
            "site": site.id,
            "gw": gw.id,
            "inv": inv.id,
            "bat": bat.id,
        }
    with httpx.Client(base_url=live_server.url, timeout=10) as api:
        r = api.post("/api/v1/auth/token", data={"username": ADMIN, "password": PASSWORD})
        assert r.status_code == 200, r.text
        ids["bearer"] = r.json()["access_token"]
        r = api.post(f"/api/v1/devices/{ids['gw']}/token", headers=_bearer(ids["bearer"]))
        assert r.status_code == 201, r.text
        ids["gw_token"] = r.json()["token"]
    return ids


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def states(chromium: Any, live_server: DemoServer, world: dict[str, str]) -> dict[str, Any]:
    """Each person's signed-in session, captured once (sign-ins are rate-limited)."""
    got = {}
    for email in (ADMIN, OM, VIEWER, OUTSIDE_ADMIN, OWNER):
        ctx = chromium.new_context(base_url=live_server.url)
        page = ctx.new_page()
        sign_in(page, email)
        page.wait_for_url("**/home")
        got[email] = ctx.storage_state()
        ctx.close()
    return got


@pytest.fixture
def as_user(new_context: Callable[..., Any], states: dict[str, Any]) -> Callable[[str], Any]:
    def page_of(email: str) -> Any:
        return new_context(
            storage_state=states[email], viewport={"width": 1366, "height": 768}
        ).new_page()

    return page_of


# --- accounts and roles --------------------------------------------------------------------------


def test_om_engineer_adds_and_edits_a_company_but_only_the_administrator_deletes_it(
    as_user: Callable[[str], Any], world: dict[str, str]
) -> None:
    name = f"Om Added {TAG}"
    om = as_user(OM)
    om.goto("/account/companies")
    form = om.locator("#add-company")
    form.locator("input[name=name]").fill(name)
    form.locator("select[name=type]").select_option("installer")
    form.locator("select[name=parent_id]").select_option(label=ORG)
    form.locator("input[name=description]").fill("added by O&M")
    form.get_by_role("button", name="Add company").click()
    # The tree: the new company under the O&M engineer's own, as a nested list.
    om.goto("/account/companies")
    children = om.locator(f"#company-tree li[data-id='{world['org']}'] > ul > li > a")
    expect(children.filter(has_text=name)).to_be_visible()
    expect(children.filter(has_text=SOLO)).to_be_visible()
    # No delete anywhere for the O&M engineer.
    expect(om.locator("form[action$='/delete']")).to_have_count(0)
    children.filter(has_text=name).click()
    expect(om.locator("#company-name")).to_have_text(name)
    expect(om.locator("#delete-company")).to_have_count(0)
    company = om.locator("#company-form")
    company.locator("select[name=country]").select_option("AT")
    company.locator("textarea[name=address]").fill("Ring 1, 1010 Wien")
    company.locator("textarea[name=description]").fill("installs in Vienna")
    company.get_by_role("button", name="Save").click()
    expect(om.locator("main")).to_contain_text("Company saved.")
    company_url = om.url
    om.goto(company_url)
    expect(om.locator("#company-form textarea[name=address]")).to_have_value("Ring 1, 1010 Wien")
    expect(om.locator("#company-form select[name=country]")).to_have_value("AT")
    om.locator("#logo-form input[type=file]").set_input_files(
        {"name": "logo.png", "mimeType": "image/png", "buffer": _tiny_png()}
    )
    om.locator("#logo-form button").click()
    expect(om.locator("#company-logo")).to_be_visible()

    # The administrator deletes it (a company with no users nor sites).
    admin = as_user(ADMIN)
    admin.goto(company_url)
    expect(admin.locator("#delete-company")).to_be_visible()
    admin.locator("#delete-company button").click()
    admin.goto("/account/companies")
    expect(admin.locator("#company-tree")).not_to_contain_text(name)
    response = admin.goto(company_url)
    assert response is not None and response.status == 404


def test_owners_see_no_upgrade_nor_quarantine_and_the_outbox_is_the_superusers(
    as_user: Callable[[str], Any],
) -> None:
    owner = as_user(OWNER)
    owner.goto("/home")
    nav = owner.locator("nav.main")
    expect(nav.get_by_role("link", name="Site")).to_be_visible()
    expect(nav.get_by_role("link", name="Upgrade")).to_have_count(0)
    owner.goto("/maintenance/alarms")
    expect(owner.locator("h1")).to_be_visible()
    expect(owner.locator("a[href='/maintenance/quarantine']")).to_have_count(0)
    expect(owner.locator("a[href^='/upgrade']")).to_have_count(0)
    response = owner.goto("/outbox")
    assert response is not None and response.status == 403
    # An O&M engineer sees both menus, and still not the outbox.
    om = as_user(OM)
    om.goto("/maintenance/alarms")
    expect(om.locator("nav.main").get_by_role("link", name="Upgrade")).to_be_visible()
    expect(om.locator("a[href='/maintenance/quarantine']").first).to_be_visible()
    response = om.goto("/outbox")
    assert response is not None and response.status == 403


def test_the_last_administrator_changes_email_then_deregisters_despite_a_deleted_site(
    new_context: Callable[..., Any], as_user: Callable[[str], Any], world: dict[str, str]
) -> None:
    page = new_context(viewport={"width": 1366, "height": 768}).new_page()
    sign_in(page, SOLO_ADMIN)
    page.wait_for_url("**/home")
    page.goto("/account/profile")
    page.locator("#email-start-form button").click()
    old_code = _code(page, SOLO_ADMIN)
    new_email = f"solo-new-{TAG.lower()}@example.org"
    form = page.locator("#email-new-form")
    form.locator("input[name=old_code]").fill(old_code)
    form.locator("input[name=new_email]").fill(new_email)
    form.locator("button").click()
    form = page.locator("#email-confirm-form")
    form.locator("input[name=code]").fill(_code(page, new_email))
    form.locator("button").click()
    expect(page.locator("main")).to_contain_text(f"Your email is now {new_email}.")

    # The bug: the company's only site is deleted (retained), so it is no linked asset.
    page.locator("#deregister-link").click()
    expect(page.locator("#linked-assets")).to_have_count(0)
    page.locator("#deregister-form input[name=password]").fill(PASSWORD)
    page.locator("#deregister-form button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/login$"))
    sign_in(page, new_email)
    expect(page.locator("#error")).to_have_text("wrong email or password")

    # A company whose sites are all deleted can be deleted by its superior's administrator.
    admin = as_user(ADMIN)
    admin.goto(f"/account/companies/{world['emptied']}")
    admin.locator("#delete-company button").click()
    expect(admin.locator("#error")).to_have_count(0)
    response = admin.goto(f"/account/companies/{world['emptied']}")
    assert response is not None and response.status == 404


# --- sharing -------------------------------------------------------------------------------------


def test_share_outside_the_subtree_by_the_access_code_only(
    as_user: Callable[[str], Any], world: dict[str, str]
) -> None:
    admin = as_user(ADMIN)
    admin.goto(f"/site/{world['site']}/settings")
    # The outside company is not offered for browsing.
    expect(admin.locator("#share-site select[name=org_id]")).not_to_contain_text(OUTSIDE)
    form = admin.locator("#share-outside")
    form.locator("input[name=org]").fill("Outside Roofs")  # a guess: not its exact name
    form.get_by_role("button", name="Share").click()
    expect(admin.locator("main")).to_contain_text(
        "no organisation has exactly this name or access code"
    )
    form = admin.locator("#share-outside")
    form.locator("input[name=org]").fill(world["outside_code"])
    form.get_by_role("button", name="Share").click()
    expect(admin.locator("main")).to_contain_text(f"Site shared with {OUTSIDE}.")

    outside = as_user(OUTSIDE_ADMIN)
    outside.goto(f"/site?q={TAG}")
    row = outside.locator("#sites tbody tr").filter(has_text=SITE)
    expect(row.locator(".badge.shared")).to_be_visible()


# --- the site list --------------------------------------------------------------------------------


def test_the_site_list_has_the_manuals_columns(as_user: Callable[[str], Any]) -> None:
    page = as_user(ADMIN)
    page.goto("/site")
    heads = [t.strip() for t in page.locator("#sites thead th").all_text_contents()]
    for heading in (
        "Status",
        "Name",
        "Type",
        "Country / region",
        "Online rate",
        "Capacity",
        "Power now",
        "Yield today",
        "Active alarms",
        "Superior",
    ):
        assert heading in heads, (heading, heads)
    row = page.locator("#sites tbody tr").filter(has_text=SITE)
    expect(row.locator("td[data-col=site_type]")).to_have_text("Residential storage")
    expect(row.locator("td[data-col=capacity]")).to_have_text(re.compile(r"^7\.5\s?kWp$"))
    expect(row.locator("td[data-col=region]")).to_contain_text("DE")


# --- one clock -----------------------------------------------------------------------------------


def test_an_alarm_a_session_and_a_plan_are_on_the_sites_clock(
    live_server: DemoServer, as_user: Callable[[str], Any], world: dict[str, str]
) -> None:
    runtime = live_server.runtime
    with runtime.db.session() as s:
        s.add(
            Alarm(
                site_id=world["site"],
                device_id=world["inv"],
                code="E001",
                severity="major",
                level="important",
                message=f"clock {TAG}",
                raised_at=WINTER,
            )
        )
        charger = Device(site_id=world["site"], kind="charger", serial=f"DEVC{TAG}")
        s.add(charger)
        s.flush()
        s.add(Connector(charger_id=charger.id, connector_no=1, status="charging"))
        s.add(
            ChargingSession(
                site_id=world["site"],
                device_id=charger.id,
                connector_id=1,
                transaction_id=4711,
                started_at=WINTER,
                meter_start_wh=0,
                meter_last_wh=1000,
                energy_wh=1000,
            )
        )
    api = httpx.Client(base_url=live_server.url, timeout=10, headers=_bearer(world["bearer"]))
    with api:
        r = api.put(
            f"/api/v1/sites/{world['site']}/tariffs/IMPORT",
            json={"valid_from": "2020-01-01", **TOU_IMPORT},
        )
        assert r.status_code in (200, 201), r.text
        r = api.post(
            f"/api/v1/sites/{world['site']}/battery-plan",
            json={
                "capacity_kwh": 10,
                "soc_now": 0.2,
                "max_charge_w": 3000,
                "max_discharge_w": 3000,
            },
        )
        assert r.status_code == 201, r.text
        first = datetime.fromisoformat(r.json()["commands"][0]["not_before"])

    berlin = re.compile(r"15/01/2026\s*14:05\s\+01:00")
    page = as_user(VIEWER)  # their own zone is New York
    page.goto(f"/site/{world['site']}/alarms?status=all")
    row = page.locator("#alarm-rows tbody tr[data-code=E001]")
    expect(row).to_contain_text(berlin)
    expect(row).not_to_contain_text("08:05")
    page.goto(f"/site/{world['site']}")  # the overview loads its chargers' card
    session = page.locator("#chargers tbody tr").filter(has_text="charging")
    expect(session).to_contain_text(berlin)
    expect(session).not_to_contain_text("08:05")
    page.goto(f"/site/{world['site']}/battery-plan")
    expect(page.locator("main")).to_contain_text("From (Europe/Berlin)")
    local = first.astimezone(ZoneInfo("Europe/Berlin"))
    offset = local.strftime("%z")
    expect(page.locator("main")).to_contain_text(
        f"{local:%d/%m/%Y} {local:%H:%M} {offset[:3]}:{offset[3:]}"
    )


# --- the live-data switch ------------------------------------------------------------------------


def _gateway_obeys(server: DemoServer, token: str, reporting: Reporting, now: float) -> list[Any]:
    """The gateway fetches its commands and obeys each live_data request as the simulator's
    gateway does; returns the params it got."""
    got = []
    with httpx.Client(base_url=server.url, timeout=10, headers=_bearer(token)) as api:
        for c in api.get("/api/v1/gateway/commands").json()["commands"]:
            if c["kind"] != "live_data":  # e.g. the battery plan's steps: not this test's
                continue
            got.append(c["params"])
            r = api.post(
                f"/api/v1/gateway/commands/{c['id']}/reply", json=reporting.apply(c["params"], now)
            )
            assert r.status_code == 200, r.text
    return got


def test_the_live_data_switch_changes_the_gateways_interval(
    live_server: DemoServer, as_user: Callable[[str], Any], world: dict[str, str]
) -> None:
    reporting = Reporting(normal_s=300.0)
    page = as_user(ADMIN)
    page.goto(f"/device/{world['inv']}")
    expect(page.locator("#live-data")).to_contain_text("supported")
    page.get_by_role("button", name="Enable live data").click()
    expect(page.locator("#notice")).to_have_text("Live data enabled.")
    got = _gateway_obeys(live_server, world["gw_token"], reporting, now=0.0)
    # the switch's request (and the page's own live panel, being watched, asks for a while)
    assert {"enabled": True, "interval_s": 10, "duration_s": 900} in got, got
    assert {p["interval_s"] for p in got} == {10}, got
    assert reporting.interval_s(1.0) == 10.0

    page.get_by_role("button", name="Switch live data off").click()
    expect(page.locator("#notice")).to_have_text("Live data switched off.")
    page.close()  # nobody watches any more
    got = _gateway_obeys(live_server, world["gw_token"], reporting, now=2.0)
    assert got and got[-1] == {"enabled": False}, got
    assert reporting.interval_s(3.0) == 300.0


# --- a webhook -----------------------------------------------------------------------------------


class Receiver:
    """A webhook receiver on 127.0.0.1 that answers 200 and keeps what it got."""

    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, str], bytes]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                outer.requests.append(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(200)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/{TAG}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    r.thread.start()
    try:
        yield r
    finally:
        r.server.shutdown()
        r.server.server_close()


def test_a_webhook_subscribed_in_the_portal_is_received_signed(
    live_server: DemoServer,
    as_user: Callable[[str], Any],
    world: dict[str, str],
    receiver: Receiver,
) -> None:
    page = as_user(ADMIN)
    page.goto("/maintenance/alarm-subscriptions")
    form = page.locator("#new-subscription form")
    if not form.is_visible():
        page.locator("#new-subscription summary").click()
    form.locator("input[name=name]").fill(f"Hook {TAG}")
    form.locator("select[name=channel]").select_option("webhook")
    form.locator("input[name=target]").fill(receiver.url)
    form.locator("input[name=levels][value=important]").uncheck()
    form.locator("select[name=site_ids]").select_option(label=SITE)
    form.get_by_role("button", name="Subscribe").click()
    secret = page.locator("#webhook-secret code").inner_text().strip()
    assert secret.startswith("whsec_")

    # The gateway reports an urgent alarm (and a prompt one nobody asked for).
    ts = (datetime.now(UTC) - timedelta(minutes=1)).replace(microsecond=0).isoformat()
    r = httpx.post(
        f"{live_server.url}/api/v1/ingest",
        json={
            "alarms": [
                {
                    "device": BATTERY,
                    "code": "BAT_COMM_LOST",
                    "action": "raise",
                    "ts": ts,
                    "message": f"BMS silent {TAG}",
                },
                {
                    "device": INVERTER,
                    "code": "INV_EXPORT_LIMITED",
                    "action": "raise",
                    "ts": ts,
                    "message": "",
                },
            ]
        },
        headers=_bearer(world["gw_token"]),
        timeout=10,
    )
    assert r.status_code == 200, r.text
    # The platform's job delivers every few seconds; if it has not yet, deliver now.
    deadline = time.monotonic() + 8
    while not receiver.requests and time.monotonic() < deadline:
        time.sleep(0.2)
    if not receiver.requests:
        deliver_due(live_server.runtime.db, live_server.runtime.settings, datetime.now(UTC))
    assert len(receiver.requests) == 1, receiver.requests
    headers, body = receiver.requests[0]
    assert verify(secret, headers, body, datetime.now(UTC))
    payload = json.loads(body)
    assert payload["alarm"]["code"] == "BAT_COMM_LOST" and payload["site"]["id"] == world["site"]

    page.goto("/maintenance/alarm-subscriptions")
    expect(page.locator("#delivery-rows tr[data-status=delivered]")).to_have_count(1)


# --- helpers -------------------------------------------------------------------------------------


def _code(page: Any, to: str) -> str:
    found = re.search(r"\b(\d{6})\b", outbox_mails(page, to, ""))
    assert found, to
    return found.group(1)


def _tiny_png() -> bytes:
    """A 1 x 1 pixel PNG."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00\xff\x80\x00")
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    )
