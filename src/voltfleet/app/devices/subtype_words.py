"""The words a device page shows for a device's variant (domain/fleet.SUBTYPES, issue 19 "two
languages"): the page's type read "inverter · hybrid", codes on a German page. Abbreviations
(PV, LFP, AC) are written as people write them; an unknown code is shown as it is."""

from __future__ import annotations

from voltfleet.app import i18n

N_ = i18n.gettext_noop

SUBTYPE_WORDS = {
    # gateways
    "wifi": N_("Wi-Fi"),
    "4g": N_("4G"),
    "ethernet": N_("Ethernet"),
    "datahub": N_("data hub"),
    # inverters
    "hybrid": N_("hybrid (with battery)"),
    "pv": N_("PV"),
    "micro": N_("micro inverter"),
    # batteries
    "lfp": N_("LFP (lithium iron phosphate)"),
    "nmc": N_("NMC (lithium nickel manganese cobalt)"),
    # meters
    "grid": N_("grid connection"),
    "load": N_("consumption"),
    # chargers
    "ac": N_("AC"),
    "dc": N_("DC"),
    "other": N_("other"),
}


def subtype_word(subtype: str | None) -> str:
    """A device's variant in the reader's language ("Hybrid (mit Batterie)")."""
    return i18n.word(SUBTYPE_WORDS, subtype, unknown="—")
