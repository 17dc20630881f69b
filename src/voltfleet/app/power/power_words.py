"""The words the power-management and chargers pages show for a connector's status and the
site's charging mode (issue 19, "two languages"): both are codes ("suspended_evse",
"solar_balancing") and a German page showed them as "suspended evse", "solar balancing".

The templates get ``connector_word`` and ``mode_word``; an unknown code is shown as it is.
"""

from __future__ import annotations

from voltfleet.app import i18n

N_ = i18n.gettext_noop

# domain/charging.ConnectorStatus (OCPP 1.6's ChargePointStatus)
CONNECTOR_WORDS = {
    "available": N_("available"),
    "preparing": N_("preparing"),
    "charging": N_("charging"),
    "suspended_evse": N_("paused by the charger"),
    "suspended_ev": N_("paused by the vehicle"),
    "finishing": N_("finishing"),
    "reserved": N_("reserved"),
    "unavailable": N_("unavailable"),
    "faulted": N_("faulted"),
    "unknown": N_("unknown"),
}

# domain/power/modes.Mode (the labels of the mode menu)
MODE_WORDS = {
    "sharing": N_("Load balancing / power sharing"),
    "fast": N_("Fast mode (first come, first served)"),
    "solar_balancing": N_("Solar balancing"),
    "solar_only": N_("Solar only"),
    "smart_solar": N_("Smart solar"),
}

# domain/power/tree.GridType
GRID_WORDS = {
    "1x230": N_("Single phase, 230 V"),
    "3x400": N_("Three phase, 400 V (with neutral)"),
    "3x230": N_("Three phase, 230 V (without neutral)"),
}


def connector_word(status: object) -> str:
    """A connector's status in the reader's language ("lädt" for "charging")."""
    return i18n.word(CONNECTOR_WORDS, status)


def mode_word(mode: object) -> str:
    """A site's charging mode in the reader's language."""
    return i18n.word(MODE_WORDS, mode)


def grid_word(grid_type: object) -> str:
    """A grid connection type in the reader's language."""
    return i18n.word(GRID_WORDS, grid_type)
