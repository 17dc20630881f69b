"""The tariffs use case's repository for a request (store/tariff_repository.py, with this
deployment's parse cache), and the parse cache itself. The site is already scope-checked."""

from __future__ import annotations

from collections import OrderedDict
from datetime import datetime
from threading import Lock

from sqlalchemy.orm import Session

from voltfleet.app.deps import Caller
from voltfleet.app.tariffs.convert import from_definition, to_domain
from voltfleet.domain.tariffs import Tariff
from voltfleet.store.money_models import TariffVersion as TariffRow
from voltfleet.store.tariff_repository import SqlTariffRepository, tariff_rows

__all__ = [
    "ParsedTariffs",
    "parsed",
    "tariff_repository",
    "tariff_rows",
]


class ParsedTariffs:
    """The domain tariff of each stored version, parsed once (a bounded LRU). A version is never
    changed in place (setting one with the same date replaces its row), so its id and creation
    time, with the site's country (the default holiday calendar), name one parse."""

    def __init__(self, maxsize: int = 1024) -> None:
        self.maxsize = maxsize
        self._cache: OrderedDict[tuple[str, datetime, str], Tariff] = OrderedDict()
        self._lock = Lock()

    def get(self, row: TariffRow, country: str) -> Tariff:
        key = (row.id, row.created_at, country)
        with self._lock:
            tariff = self._cache.get(key)
            if tariff is not None:
                self._cache.move_to_end(key)
                return tariff
        tariff = to_domain(from_definition(row.valid_from, row.definition), country)
        with self._lock:
            self._cache[key] = tariff
            while len(self._cache) > self.maxsize:
                self._cache.popitem(last=False)
        return tariff


parsed = ParsedTariffs()


def tariff_repository(session: Session, caller: Caller | None = None) -> SqlTariffRepository:
    """The repository acting for ``caller`` (None: no person, e.g. a job or a report)."""
    return SqlTariffRepository(
        session,
        parsed.get,
        caller.user if caller else None,
        caller.address if caller else "",
    )
