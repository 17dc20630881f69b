"""The words the chart scripts write themselves (legend titles of charts.js and telemetry.js), in
the reader's language (issue 19, "two languages").

The scripts have no catalogue: base.html hands them these, translated for the page being
rendered, as JSON in ``data-words`` on <html>; clock.js's ``VF.word(key, english)`` reads them.
Every text is already in a catalogue (the pages' tables use the same words).
"""

from __future__ import annotations

from voltfleet.app import i18n

N_ = i18n.gettext_noop

CHART_WORDS = {
    "time": N_("Time"),
    "period": N_("Period"),
    "month": N_("Month"),
    "pv_yield": N_("PV yield"),
    "revenue": N_("Revenue"),
    "import_price": N_("Import price"),
    "export_price": N_("Export price"),
    "import_cost": N_("Import cost"),
    "supplied_value": N_("Supplied value"),
    "export_earnings": N_("Export earnings"),
    "savings": N_("Savings"),
}


def chart_words() -> dict[str, str]:
    """The chart words in the language of the page being rendered."""
    return {key: i18n.gettext(text) for key, text in CHART_WORDS.items()}
