"""Keeping ``sites.name_key``, the site name in natural order (domain.natural), with its name.

A new row gets it from the column's default (also for a Core ``insert`` that gives a name); a
renamed site through the ORM gets it from the attribute event ``install_name_key`` registers
(store/models.py, below the model), so no service has to remember it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event

from voltfleet.domain.natural import natural_key


def site_name_key(context: Any) -> str:
    """The column default: the natural key of the inserted row's name."""
    return natural_key(str(context.get_current_parameters().get("name") or ""))


def install_name_key(site_name: Any) -> None:
    """Keep the key of ``site_name`` (the ``Site.name`` attribute) when a site is renamed."""
    event.listen(site_name, "set", _renamed)


def _renamed(target: Any, value: Any, _old: Any, _initiator: Any) -> Any:
    target.name_key = natural_key(str(value or ""))
    return value
