"""Issue 19: no table clips its right-hand columns or actions, at the manual's minimum desktop
width (1366x768) nor at phone width (390x844), for every demo role.

Each list page of the portal is visited at both widths; a table fails when it is wider than the
box that holds it (``scrollWidth`` beyond the container's ``clientWidth``: the right-hand columns
are hidden behind a scroll bar) or when its right edge lies beyond the viewport.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select

from tests.browser import INSTALLER_ADMIN, OM_ENGINEER, OWNER, DemoServer
from tests.browser.conftest import sign_in
from voltfleet.store.fleet_models import Device
from voltfleet.store.models import Site, User

pytestmark = pytest.mark.browser

WIDTHS = {"desktop": (1366, 768), "phone": (390, 844)}

# Every table on the page that is drawn (not inside a closed <details>) and wider than its box
# or the window: its id or position, and the widths.
OVERFLOWING = """() => {
  const out = [];
  const vw = document.documentElement.clientWidth;
  document.querySelectorAll('table').forEach((t, i) => {
    if (!t.offsetParent) return;
    const box = t.parentElement;
    const right = t.getBoundingClientRect().right;
    if (t.scrollWidth > box.clientWidth + 1 || right > vw + 1) {
      out.push(`${t.id || 'table#' + i}: table ${t.scrollWidth}px, box ${box.clientWidth}px,`
        + ` right edge ${Math.round(right)}px of ${vw}px`);
    }
  });
  return out;
}"""


def _ids(server: DemoServer, email: str) -> dict[str, str]:
    """The first site of the user's (owned or organisation's) fleet and its devices by kind."""
    with server.runtime.db.session() as s:
        user = s.scalar(select(User).where(User.email == email))
        assert user is not None
        stmt = select(Site).where(Site.deleted_at.is_(None)).order_by(Site.name)
        if user.role == "owner":
            stmt = stmt.where(Site.owner_id == user.id)
        else:
            stmt = stmt.where(Site.org_id == user.org_id)
        site = s.scalars(stmt).first()
        assert site is not None
        ids = {"site": site.id}
        for d in s.scalars(select(Device).where(Device.site_id == site.id)):
            ids.setdefault(d.kind, d.id)
        return ids


def _pages(ids: dict[str, str], role: str) -> list[str]:
    site = ids["site"]
    device = ids.get("inverter") or next(v for k, v in ids.items() if k != "site")
    pages = [
        "/home",
        "/site",
        f"/site/{site}",
        f"/site/{site}/alarms",
        f"/site/{site}/energy",
        f"/site/{site}/chart",
        f"/sites/{site}/savings",
        f"/device/{device}",
        f"/device/{device}/commands",
        f"/device/{device}/data",
        f"/device/{device}/energy",
        "/maintenance/alarms",
    ]
    if role != "owner":
        pages += [
            "/site/gateways",
            "/site/inverters",
            "/account/users",
            "/account/companies",
            "/maintenance/quarantine",
            "/upgrade/releases",
            "/upgrade/tasks",
        ]
    return pages


@pytest.mark.parametrize("width", list(WIDTHS))
@pytest.mark.parametrize(
    ("role", "email"),
    [("installer", INSTALLER_ADMIN), ("om", OM_ENGINEER), ("owner", OWNER)],
)
def test_no_table_overflows(
    new_context: Callable[..., Any], live_server: DemoServer, role: str, email: str, width: str
) -> None:
    w, h = WIDTHS[width]
    page = new_context(viewport={"width": w, "height": h}).new_page()
    sign_in(page, email)
    page.wait_for_url("**/home")
    problems = []
    for path in _pages(_ids(live_server, email), role):
        response = page.goto(path)
        assert response is not None
        if response.status >= 400:  # a page this role may not open has no table to check
            continue
        problems += [f"{path}: {p}" for p in page.evaluate(OVERFLOWING)]
    assert not problems, f"tables overflow at {w}x{h} for {role}:\n" + "\n".join(problems)
