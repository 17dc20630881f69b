"""The words the charger's OCPP card shows for the commands O&M can send (issue 19, "two
languages"): the command menu listed the wire codes ("set charging profile") on a German page.
The option's value stays the code the endpoint reads; only the label is translated.
"""

from __future__ import annotations

from voltfleet.app import i18n

N_ = i18n.gettext_noop

ACTION_WORDS = {
    "set_charging_profile": N_("Set charging profile"),
    "clear_charging_profile": N_("Clear charging profile"),
    "get_composite_schedule": N_("Get composite schedule"),
    "remote_start": N_("Remote start"),
    "remote_stop": N_("Remote stop"),
    "reset": N_("Reset"),
    "unlock": N_("Unlock connector"),
    "change_availability": N_("Change availability"),
    "get_configuration": N_("Get configuration (OCPP 1.6)"),
    "change_configuration": N_("Change configuration (OCPP 1.6)"),
    "get_variables": N_("Get variables (OCPP 2.0.1)"),
    "set_variables": N_("Set variables (OCPP 2.0.1)"),
    "trigger_message": N_("Trigger message"),
    "update_firmware": N_("Update firmware"),
}


def action_word(action: str) -> str:
    """The command in the reader's language; an unknown code as it is."""
    return i18n.word(ACTION_WORDS, action)
