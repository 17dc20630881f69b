"""Issue 19: tables wrap between words, and long tokens still never push a table past its box.

At 1366 px the site list's "Residential storage" used to read "Residenti|al storage": every cell
could break anywhere, so the browser squeezed text columns to a few letters. Now words break
only between words; a token with no spaces (a 40-character serial, a site name written as one
word, an e-mail) still must not widen the table beyond its box, at 1366 px nor on a phone.

Everything happens in a company of its own below the platform (the demo installer's counts,
which other browser tests check, stay as they are).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select

from tests.browser import PASSWORD, DemoServer
from tests.browser.conftest import sign_in
from tests.browser.test_table_overflow import OVERFLOWING, WIDTHS
from voltfleet.app.orgs.service import build_org
from voltfleet.app.users.service import new_user
from voltfleet.domain.access import OrgType
from voltfleet.store.fleet_models import Device
from voltfleet.store.models import Org, Site

pytestmark = pytest.mark.browser

TAG = uuid.uuid4().hex[:6].upper()
ADMIN = f"words-admin-{TAG.lower()}@a-rather-long-company-domain-for-testing.example.org"
LONG_NAME = f"Buergerenergiegenossenschaft-Ostholstein-Photovoltaik-Nord-{TAG}"
LONG_SERIAL = f"SN{TAG}0123456789ABCDEFGHIJKLMNOPQRSTUVWX"[:40]

# How many lines each word of the cells in a column takes (a word on two lines was broken).
BROKEN_WORDS = """(column) => {
  const out = [];
  document.querySelectorAll(`#sites td[data-col=${column}]`).forEach(cell => {
    const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
    for (let text = walker.nextNode(); text; text = walker.nextNode()) {
      const re = /\\S+/g; let m;
      while ((m = re.exec(text.data))) {
        const range = document.createRange();
        range.setStart(text, m.index); range.setEnd(text, m.index + m[0].length);
        const tops = new Set(Array.from(range.getClientRects()).map(r => Math.round(r.top)));
        if (tops.size > 1) out.push(m[0]);
      }
    }
  });
  return out;
}"""


@pytest.fixture(scope="module")
def company(live_server: DemoServer) -> None:
    runtime = live_server.runtime
    with runtime.db.session() as s:
        platform = s.scalar(select(Org).where(Org.type == "platform"))
        assert platform is not None
        org = build_org(platform, f"Words Roofs {TAG}", OrgType.INSTALLER, "DE")
        s.add(org)
        s.flush()
        new_user(
            s, runtime, email=ADMIN, username="Wanda Words", password=PASSWORD,
            org_id=org.id, role="admin", country="DE",
        )  # fmt: skip
        for name in (LONG_NAME, f"Short home {TAG}"):
            site = Site(org_id=org.id, name=name, country="DE", timezone="Europe/Berlin")
            s.add(site)
            s.flush()
        s.add(Device(site_id=site.id, kind="gateway", serial=LONG_SERIAL, name=LONG_SERIAL))
        s.commit()


@pytest.mark.parametrize("width", list(WIDTHS))
def test_long_tokens_stay_inside_their_tables(
    new_context: Callable[..., Any], company: None, width: str
) -> None:
    w, h = WIDTHS[width]
    page = new_context(viewport={"width": w, "height": h}).new_page()
    sign_in(page, ADMIN)
    page.wait_for_url("**/home")
    problems = []
    for path in ("/site", "/site/gateways", "/account/users"):
        response = page.goto(path)
        assert response is not None and response.status < 400, path
        problems += [f"{path}: {p}" for p in page.evaluate(OVERFLOWING)]
    assert not problems, f"tables overflow at {w}x{h}:\n" + "\n".join(problems)


def test_words_in_the_site_list_break_only_between_words(
    new_context: Callable[..., Any], company: None
) -> None:
    page = new_context(viewport={"width": 1366, "height": 768}).new_page()
    sign_in(page, ADMIN)
    page.wait_for_url("**/home")
    page.goto("/site")
    page.wait_for_selector("#sites tbody tr")
    kind = page.locator("#sites td[data-col=site_type]").first
    assert kind.text_content() == "Residential storage"
    assert page.evaluate(BROKEN_WORDS, "site_type") == []
    assert page.evaluate(BROKEN_WORDS, "company") == []
