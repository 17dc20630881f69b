"""The words a page shows for the states of commands, firmware campaigns and their devices, and
notification deliveries (issue 19, "two languages"): the states are codes in the database and the
API ("acknowledged", "finished"), and a German page showed them in English.

``{{ c.state|state_word }}`` in a template: the state in the reader's language, or the code
itself for a state this table does not know. Device and site statuses have their own words
(``statuses`` on the list pages); a campaign's "running" is "in progress" here, not a device's
"running" (in operation).
"""

from __future__ import annotations

from voltfleet.app import i18n

N_ = i18n.gettext_noop

STATE_WORDS = {
    # commands (domain/commands.CommandState)
    "queued": N_("queued"),
    "sent": N_("sent"),
    "acknowledged": N_("acknowledged"),
    "failed": N_("failed"),
    "expired": N_("expired"),
    # a device in a firmware campaign (domain/firmware/campaign.RunState)
    "pending": N_("pending"),
    "downloading": N_("downloading"),
    "installing": N_("installing"),
    "rebooting": N_("rebooting"),
    "succeeded": N_("succeeded"),
    "skipped": N_("skipped"),
    # a firmware campaign (CampaignState)
    "scheduled": N_("scheduled"),
    "running": N_("in progress"),
    "paused": N_("paused"),
    "finished": N_("finished"),
    "cancelled": N_("cancelled"),
    # an alarm notification's delivery (domain/alarm_notifications.DeliveryStatus)
    "delivered": N_("delivered"),
}


def state_word(code: object) -> str:
    """The state ``code`` in the reader's language (the code itself when unknown)."""
    text = str(code or "")
    word = STATE_WORDS.get(text)
    return i18n.gettext(word) if word else text
