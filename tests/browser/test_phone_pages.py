"""Issue 19 (tour19): pages of the portal that a table check does not see pushed past a phone's
390 px in German: the inverter's Mode page (the fact list's long term, "Vom Wechselrichter
gemeldeter Modus", left its value no room), the device settings' group menu (SunSpec group
names) and a virtual battery's load profile (a fixed 480 px chart). The page itself must not
scroll sideways.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from tests.browser import INSTALLER_ADMIN, INSTALLER_ORG, DemoServer
from tests.browser.conftest import sign_in
from voltfleet.store.fleet_models import Device
from voltfleet.store.models import Org, Site

pytestmark = pytest.mark.browser

# The elements wider than the window: what scrolls the page sideways.
WIDER = """() => {
  const vw = document.documentElement.clientWidth;
  const out = [];
  if (document.documentElement.scrollWidth > vw + 1)
    document.querySelectorAll('main *').forEach(e => {
      const r = e.getBoundingClientRect();
      if (r.right > vw + 1 && e.offsetParent && !e.closest('.table-wrap'))
        out.push(`${e.tagName.toLowerCase()}#${e.id || ''}: right ${Math.round(r.right)}px`);
    });
  return out.slice(0, 8);
}"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoServer]:
    """A server of its own: the site added here changes no other module's lists."""
    demo = DemoServer(tmp_path_factory.mktemp("phone-demo")).start()
    try:
        yield demo
    finally:
        demo.stop()


def _devices(server: DemoServer) -> dict[str, str]:
    """A site of the installer's with a gateway, an inverter and a meter below it."""
    with server.runtime.db.session() as s:
        org = s.scalar(select(Org).where(Org.name == INSTALLER_ORG))
        assert org is not None
        site = Site(org_id=org.id, name="Phone Home", country="DE", timezone="Europe/Berlin")
        s.add(site)
        s.flush()
        gw = Device(site_id=site.id, kind="gateway", subtype="wifi", serial="PHONE-GW")
        s.add(gw)
        s.flush()
        ids = {}
        for kind, subtype in (("inverter", "hybrid"), ("meter", "grid")):
            d = Device(site_id=site.id, kind=kind, subtype=subtype, serial=f"PHONE-{kind}",
                       parent_id=gw.id)  # fmt: skip
            s.add(d)
            s.flush()
            ids[kind] = d.id
        return ids


def test_device_pages_fit_a_german_phone(chromium: Any, server: DemoServer) -> None:
    ids = _devices(server)
    ctx = chromium.new_context(
        base_url=server.url, viewport={"width": 390, "height": 844}, locale="de-DE"
    )
    ctx.set_default_timeout(10_000)
    try:
        page = ctx.new_page()
        sign_in(page, INSTALLER_ADMIN)
        page.wait_for_url("**/home")
        problems = []
        for path in (f"/device/{ids['inverter']}/mode", f"/device/{ids['meter']}/settings"):
            response = page.goto(path)
            assert response is not None and response.status == 200, path
            problems += [f"{path}: {p}" for p in page.evaluate(WIDER)]
        assert not problems, "wider than a 390 px phone:\n" + "\n".join(problems)
    finally:
        ctx.close()
