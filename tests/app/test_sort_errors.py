"""A sort key a list does not have answers like every other invalid query parameter: 422, code
``invalid``, the ``sort`` field named with the keys there are (it was a 400 without a field)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.support.world import build_world
from voltfleet.app.runtime import Runtime


@pytest.mark.parametrize(
    ("path", "a_key"), [("/api/v1/sites", "yield_today"), ("/api/v1/devices", "last_seen")]
)
def test_an_unknown_sort_key_is_a_422_naming_the_field(
    client: TestClient, runtime: Runtime, path: str, a_key: str
) -> None:
    h = build_world(runtime).accounts["admin@I1"].headers()
    for sort in ("colour", "-colour"):
        r = client.get(path, params={"sort": sort}, headers=h)
        assert r.status_code == 422, r.text
        body = r.json()
        assert body["code"] == "invalid"
        assert "cannot sort by 'colour'" in body["detail"] and a_key in body["detail"]
        assert [e["field"] for e in body["errors"]] == ["sort"]
    # the same status as a parameter FastAPI refuses itself
    assert client.get(path, params={"page": "first"}, headers=h).status_code == 422
    assert client.get(path, params={"sort": f"-{a_key}"}, headers=h).status_code == 200
