"""Finding the organisation a site is shared with when it is outside the caller's own subtree.

Only an exact name (letter case aside) or the organisation's access code finds one: nothing lists
other tenants' names, a prefix or a part of a name finds nothing, and each user's look-ups are
rate-limited (``Settings.share_lookup_limit``), so nobody walks through the names or the codes.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from voltfleet.app.deps import Caller
from voltfleet.app.i18n import _
from voltfleet.app.orgs.repository import org_by_access_code
from voltfleet.app.runtime import Runtime
from voltfleet.domain.access import Action, Kind
from voltfleet.store.models import Org
from voltfleet.usecases.errors import Conflict, Invalid, NotFound


def find_receiver(session: Session, runtime: Runtime, caller: Caller, name_or_code: str) -> Org:
    """The organisation whose access code or exact name is ``name_or_code``."""
    caller.require(Kind.SITE, Action.SHARE)
    text = " ".join(name_or_code.split())
    if not text:
        raise Invalid(_("give the exact name or the access code of the organisation"))
    runtime.limiter.hit(
        runtime.settings.share_lookup_limit,
        "share-lookup",
        caller.user.id,
        message=_("Too many look-ups of organisations."),
    )
    org = org_by_access_code(session, text) if len(text) <= 16 else None
    if org is not None:
        return org
    found = list(session.scalars(select(Org).where(func.lower(Org.name) == text.lower()).limit(2)))
    if len(found) > 1:
        raise Conflict(_("several organisations have this name: ask for its access code"))
    if not found:
        raise NotFound(
            "organisation",
            _("no organisation has exactly this name or access code"),
        )
    return found[0]
