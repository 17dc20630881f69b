"""The portal's router: the home page and every feature's pages, in the order their paths need.

Each feature keeps its page handlers in its own folder (``app/<feature>/pages.py``); the portal
package holds only what all pages share (rendering, the session, the navigation, the home page).
"""

from __future__ import annotations

from fastapi import APIRouter

from voltfleet.app.alarms import pages as alarm_pages
from voltfleet.app.auth import pages as auth_pages
from voltfleet.app.device_lists import pages as device_list_pages
from voltfleet.app.devices import pages as device_pages
from voltfleet.app.firmware import pages as firmware_pages
from voltfleet.app.firmware import report_pages as commissioning_pages
from voltfleet.app.me import pages as self_service_pages
from voltfleet.app.me import preferences_pages
from voltfleet.app.orgs import pages as company_pages
from voltfleet.app.portal import home_pages
from voltfleet.app.sites import detail_pages as site_detail_pages
from voltfleet.app.sites import pages as site_pages
from voltfleet.app.siteview import pages as siteview_pages
from voltfleet.app.tariffs import pages as tariff_pages
from voltfleet.app.tariffs import savings_pages
from voltfleet.app.telemetry import energy_pages, quarantine_pages
from voltfleet.app.telemetry import pages as telemetry_pages
from voltfleet.app.users import edit_pages as user_edit_pages
from voltfleet.app.users import pages as account_pages
from voltfleet.app.virtual_battery import pages as virtual_battery_pages

router = APIRouter(include_in_schema=False)
for pages in (
    home_pages,
    account_pages,
    company_pages,
    self_service_pages,
    user_edit_pages,
    preferences_pages,
    # The site list and /site/new, then the device lists (/site/gateways, /site/inverters), then
    # /site/{site_id} and its forms: a fixed path must come before the pattern that would match it.
    site_pages,
    device_list_pages,
    device_pages,
    site_detail_pages,
    siteview_pages,
    tariff_pages,
    savings_pages,
    telemetry_pages,
    energy_pages,
    alarm_pages,
    quarantine_pages,
    virtual_battery_pages,
    firmware_pages,
    commissioning_pages,
    auth_pages,
):
    router.include_router(pages.router)
