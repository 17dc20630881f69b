"""The words a page shows for the states of commands, firmware campaigns and their devices,
notification deliveries, battery modes and site types (issue 19, "two languages"): they are
codes in the database and the API ("acknowledged", "finished", "self_consumption"), and a
German page showed them in English.

``{{ c.state|state_word }}``, ``battery_mode_word(m)``, ``site_type_word(t)`` in a template:
the word in the reader's language, or the code itself for one these tables do not know. Device
and site statuses have their own words (``statuses`` on the list pages); a campaign's
"running" is "in progress" here, not a device's "running" (in operation).
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


# a battery's mode in a command or a plan (domain/commands.BatteryMode)
BATTERY_MODE_WORDS = {
    "self_consumption": N_("self-consumption"),
    "charge": N_("charge"),
    "discharge": N_("discharge"),
    "idle": N_("idle"),
}

# a site's type (store/models.Site.site_type), as the site list and the overview name it
SITE_TYPE_WORDS = {
    "residential_ess": N_("Residential storage"),
    "pv": N_("PV"),
    "ci": N_("Commercial"),
}


def state_word(code: object) -> str:
    """The state ``code`` in the reader's language (the code itself when unknown)."""
    return i18n.word(STATE_WORDS, code)


def battery_mode_word(mode: object) -> str:
    """A battery mode in the reader's language ("Eigenverbrauch" for self_consumption)."""
    return i18n.word(BATTERY_MODE_WORDS, mode)


def site_type_word(site_type: object) -> str:
    """A site's type in the reader's language ("Residential storage", not residential_ess)."""
    return i18n.word(SITE_TYPE_WORDS, site_type)
