"""Paging for list endpoints: ``?page=1&page_size=50``, answered with the total.

``page`` is at most ``MAX_PAGE`` and ``page_size`` at most ``MAX_PAGE_SIZE``: the API refuses more
(422, saying the limit); ``paginate`` clamps whatever it is given (the portal's pages pass the
number from the address), so the offset it sends the database always fits a 64-bit integer."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated, Generic, TypeVar

from fastapi import Depends, Query
from pydantic import BaseModel
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from voltfleet.usecases.errors import Rejected

T = TypeVar("T")

MAX_PAGE = 1_000_000
MAX_PAGE_SIZE = 500


class PageParams(BaseModel):
    page: int = 1
    page_size: int = 50


def _page_params(
    page: Annotated[
        int, Query(ge=1, le=MAX_PAGE, description=f"1-based page number (at most {MAX_PAGE:,})")
    ] = 1,
    page_size: Annotated[
        int, Query(ge=1, le=MAX_PAGE_SIZE, description=f"rows per page (at most {MAX_PAGE_SIZE})")
    ] = 50,
) -> PageParams:
    return PageParams(page=page, page_size=page_size)


Paging = Annotated[PageParams, Depends(_page_params)]


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    page: int
    page_size: int


def window(params: PageParams) -> tuple[int, int]:
    """(offset, limit) of the page, clamped (for a use case that pages through a repository)."""
    size = min(max(params.page_size, 1), MAX_PAGE_SIZE)
    page = min(max(params.page, 1), MAX_PAGE)
    return (page - 1) * size, size


def paginate(session: Session, stmt: Select[tuple[T]], params: PageParams) -> tuple[list[T], int]:
    total = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    offset, size = window(params)
    rows = session.scalars(stmt.limit(size).offset(offset)).all()
    return list(rows), total


def bad_sort(sort: str, keys: Iterable[str]) -> Rejected:
    """The answer to a sort key a list does not have: a 422 naming the ``sort`` field, like
    every other invalid query parameter (code ``invalid``), with the keys there are."""
    key = sort.lstrip("-")
    message = f"cannot sort by '{key}': use one of {', '.join(keys)} (prefix - for descending)"
    return Rejected(message, [{"field": "sort", "message": message}], code="invalid")
