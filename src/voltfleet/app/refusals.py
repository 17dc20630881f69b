"""Refusals that read differently in the API and in the portal (issue 19).

The API tells an integrator which endpoint to call next (its detail names the path); a person in
the portal gets the way on the page instead (a button, a form, the profile page), never an API
path. A service raises one of these subclasses (same HTTP status and ``code`` as its base, so an
API client sees no change); a portal page that runs the service with ``portal.render.attempt``
shows the portal's words.
"""

from __future__ import annotations

from voltfleet.app.i18n import gettext as _
from voltfleet.usecases.errors import AppError, Forbidden, Invalid


class SharedInRefusal(Forbidden):
    """Sharing on, distributing or deleting a site that was only shared to the caller."""

    def for_person(self) -> str:
        return _(
            "This site is shared with your organisation by another company: you can view and "
            "edit it, or take it off your list with “Remove from my list” on its overview page, "
            "but only its own company can share, distribute or delete it."
        )


class DeletionCodeNeeded(Invalid):
    """Deleting a site with bound devices without its owner's code."""

    def for_person(self) -> str:
        return _(
            "Devices are bound to this site, so its owner must agree: press “Mail the owner a "
            "code” below, ask the owner for the code and enter it as “Owner's code”."
        )


class OwnAccountDelete(Forbidden):
    """Deleting one's own account from the user list (deregistering is the way)."""

    def for_person(self) -> str:
        return _(
            "You cannot delete your own account from the user list: use “Deregister my "
            "account” on your profile page."
        )


class OwnPasswordReset(Forbidden):
    """Resetting one's own password from the user list (changing it is the way)."""

    def for_person(self) -> str:
        return _(
            "You cannot reset your own password here: change it with your current password on "
            "your profile page, or use “Forgot password?” on the sign-in page when signed out."
        )


def for_person(exc: AppError) -> str:
    """The message a person in the portal reads for a refusal."""
    words = getattr(exc, "for_person", None)
    return words() if callable(words) else exc.message
