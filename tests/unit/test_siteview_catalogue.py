"""Every text the site page's bar, power flow, weather and telemetry savings show (app/siteview
and its templates) has its German translation in locale/de/LC_MESSAGES/siteview.po."""

from __future__ import annotations

import re
from pathlib import Path

from voltfleet.app import i18n

APP = Path(i18n.__file__).parent
SOURCES = [
    *sorted((APP / "siteview").glob("*.py")),
    *(
        APP / "templates" / "portal" / name
        for name in (
            "_site_tabs.html",
            "_power_flow.html",
            "_site_weather.html",
            "_telemetry_savings.html",
            "battery_plan.html",
        )
    ),
]
MESSAGE = re.compile(r"""_\((["'])(.+?)\1""")
SAME_IN_GERMAN = {"Alarm", "PV", "SoC", "Min. °%(unit)s", "Max. °%(unit)s"}


def test_every_siteview_text_is_in_german() -> None:
    texts = {m.group(2) for path in SOURCES for m in MESSAGE.finditer(path.read_text())}
    assert len(texts) > 40
    i18n.translations.cache_clear()
    i18n.use_language("de")
    try:
        missing = sorted(t for t in texts if t not in SAME_IN_GERMAN and i18n.gettext(t) == t)
    finally:
        i18n.use_language("en")
    assert missing == []
