"""The "connect" step in headless Chromium (issue 19): a home's owner signs in, sets an automatic
(dynamic) import tariff for their own home, is asked first because no market prices cover
tomorrow and saves anyway; the installer then sees who set the version and when."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
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
from voltfleet.store.models import Org, Site
from voltfleet.store.money_models import TariffVersion

pytestmark = pytest.mark.browser


def test_an_owner_sets_the_tariff_of_their_home(
    new_context: Callable[..., Any], live_server: DemoServer, artifacts: Path
) -> None:
    runtime = live_server.runtime
    tag = uuid.uuid4().hex[:8]
    email, installer = f"owner-{tag}@example.org", f"installer-{tag}@example.org"
    with runtime.db.session() as s:  # an installer of its own, its administrator, a home owner
        parent = s.scalar(select(Org).where(Org.name == "Sunrise Distribution"))
        assert parent is not None
        org = build_org(parent, f"Connect Test Installers {tag}", OrgType.INSTALLER, "DE")
        s.add(org)
        s.flush()
        new_user(
            s, runtime, email=installer, username="Ingo Installer", password=PASSWORD,
            org_id=org.id, role="admin", country="DE",
        )  # fmt: skip
        owner = new_user(
            s, runtime, email=email, username="Olga Owner", password=PASSWORD, org_id=org.id,
            role="owner", country="DE",
        )  # fmt: skip
        s.flush()
        row = Site(
            org_id=org.id, name=f"Owner tariff home {tag[:4]}", country="DE",
            timezone="Europe/Berlin", currency="EUR", owner_id=owner.id,
        )  # fmt: skip
        s.add(row)
        s.flush()
        site = row.id

    page = new_context().new_page()
    sign_in(page, email)
    page.wait_for_url("**/home")
    page.goto(f"/sites/{site}/tariff?direction=IMPORT")
    form = page.locator("#tariff-form")
    expect(form).to_be_visible()
    form.locator("input[name=manner][value=automatic]").check()
    form.locator("select[name=source]").select_option("awattar")
    form.locator("input[name=area]").fill("DE")
    form.locator("input[name=markup]").fill("0.12")
    form.get_by_role("button", name="Save", exact=True).click()

    # No prices for tomorrow from aWATTar: asked first, nothing saved yet.
    confirm = page.locator("#confirm-missing")
    expect(confirm).to_be_visible()
    expect(confirm).to_contain_text("No market prices cover")
    with runtime.db.session() as s:
        assert s.scalars(select(TariffVersion).where(TariffVersion.site_id == site)).all() == []
    confirm.get_by_role("button", name="Save anyway").click()
    expect(page.locator("#notice")).to_have_text("Tariff saved.")
    expect(page.locator("#current-tariff")).to_contain_text("aWATTar DE + 0.12 markup")
    page.screenshot(path=str(artifacts / "owner-tariff.png"), full_page=True)

    # The installer sees who set it, and when (in the site's zone).
    staff = new_context().new_page()
    sign_in(staff, installer)
    staff.wait_for_url("**/home")
    staff.goto(f"/sites/{site}/tariff?direction=IMPORT")
    row = staff.locator("#versions tbody tr").first
    expect(row.locator(".set-by")).to_contain_text("Olga Owner")
    expect(row.locator(".set-by")).to_contain_text("home owner")
    expect(row.locator(".set-by")).to_have_attribute("data-role", "owner")
    expect(row.locator(".saved-at")).to_contain_text(re.compile(r"\+0[12]:00$"))
