"""Tariffs without limits (issue 12, defect 5): a 35 MB tariff of 525,600 one-minute slots is
refused quickly (413 for its size, before it is parsed), one that fits the body limit but has too
many slots or periods gets a 400 naming the limit, as do prices of +-1.7e308 and valid_from
0001-01-01 or 9999-12-31; and a stored tariff version is parsed once, not on every money call."""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.app.test_tariffs_api import TOU, make_site
from tests.support.world import build_world
from voltfleet.app.runtime import Runtime
from voltfleet.app.tariffs import repository
from voltfleet.domain.tariffs.limits import MAX_PERIODS, MAX_SLOTS_PER_DAY


def minute_slots(n: int) -> list[dict[str, Any]]:
    """``n`` one-minute slots covering the day round and round (prices differ)."""
    base = datetime(2026, 1, 1)
    out = []
    for i in range(n):
        a = base + timedelta(minutes=i % 1440)
        b = a + timedelta(minutes=1)
        out.append({"start": a.strftime("%H:%M"), "end": b.strftime("%H:%M"),
                    "price_per_kwh": 0.2 + i * 1e-9})  # fmt: skip
    return out


def tou(slots: list[dict[str, Any]], periods: int = 1, **extra: Any) -> dict[str, Any]:
    if periods == 1:
        spans = [("01-01", "12-31")]
    else:
        spans = [(f"{m:02d}-01", f"{m:02d}-28") for m in range(1, 13)] * (periods // 12 + 1)
        spans = spans[:periods]
    return {
        **TOU,
        "periods": [
            {"name": f"p{i}", "start": a, "end": b, "slots": slots}
            for i, (a, b) in enumerate(spans)
        ],
        **extra,
    }


@pytest.fixture
def setup(client: TestClient, runtime: Runtime) -> tuple[str, dict[str, str]]:
    world = build_world(runtime)
    return make_site(runtime, world), world.accounts["admin@I1"].headers()


def test_a_year_of_minute_slots_is_refused_quickly(
    client: TestClient, setup: tuple[str, dict[str, str]]
) -> None:
    site, headers = setup
    body = json.dumps(tou(minute_slots(525_600))).encode()
    assert len(body) > 30_000_000
    t0 = time.perf_counter()
    r = client.put(f"/api/v1/sites/{site}/tariffs/IMPORT", content=body,
                   headers={**headers, "Content-Type": "application/json"})  # fmt: skip
    elapsed = time.perf_counter() - t0
    assert r.status_code == 413, r.text[:300]
    assert "larger than 4,194,304 bytes" in r.json()["detail"]
    assert elapsed < 3.0, elapsed


@pytest.mark.parametrize(
    ("body", "limit"),
    [
        (tou(minute_slots(1440)), f"at most {MAX_SLOTS_PER_DAY} slots, not 1440"),
        (tou(minute_slots(4), periods=MAX_PERIODS + 1), f"at most {MAX_PERIODS} periods"),
        ({**TOU, "kind": "fixed", "price_per_kwh": 1.7e308}, "within +-10,000 per kWh"),
        ({**TOU, "kind": "fixed", "price_per_kwh": -1.7e308}, "within +-10,000 per kWh"),
        (
            tou([{"start": "00:00", "end": "00:00", "price_per_kwh": -1.7e308}]),
            "within +-10,000 per kWh",
        ),
        (
            {
                **TOU,
                "kind": "market",
                "source": "awattar",
                "area": "DE",
                "formula": {"markup_per_kwh": 1e300},
            },
            "within +-10,000 per kWh",
        ),
        ({**TOU, "valid_from": "0001-01-01"}, "outside 2000-01-01 .. 2100-12-31"),
        ({**TOU, "valid_from": "9999-12-31"}, "outside 2000-01-01 .. 2100-12-31"),
    ],
)
def test_tariffs_beyond_a_limit_get_a_400_naming_it(
    client: TestClient, setup: tuple[str, dict[str, str]], body: dict[str, Any], limit: str
) -> None:
    site, headers = setup
    t0 = time.perf_counter()
    r = client.put(f"/api/v1/sites/{site}/tariffs/IMPORT", json=body, headers=headers)
    assert r.status_code == 400, r.text[:300]
    assert limit in r.json()["detail"], r.json()["detail"]
    assert time.perf_counter() - t0 < 3.0
    assert client.get(f"/api/v1/sites/{site}/tariffs", headers=headers).json() == []


def test_a_stored_version_is_parsed_once_not_per_request(
    client: TestClient, setup: tuple[str, dict[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    site, headers = setup
    for valid_from in ("2026-01-01", "2026-02-01"):
        r = client.put(f"/api/v1/sites/{site}/tariffs/IMPORT",
                       json={**TOU, "valid_from": valid_from}, headers=headers)  # fmt: skip
        assert r.status_code == 200, r.text
    calls: list[str] = []
    real = repository.to_domain

    def counting(*args: Any, **kwargs: Any) -> Any:
        calls.append("parse")
        return real(*args, **kwargs)

    monkeypatch.setattr(repository, "to_domain", counting)
    params = {"start_time": "2026-01-20T00:00:00Z", "end_time": "2026-02-10T00:00:00Z"}
    for _ in range(5):
        r = client.get(f"/api/v1/sites/{site}/rates", params=params, headers=headers)
        assert r.status_code == 200, r.text
    assert len(calls) == 2  # one per version, whatever the number of requests
    # a new version (another row) is parsed once more; the others stay cached
    r = client.put(f"/api/v1/sites/{site}/tariffs/IMPORT",
                   json={**TOU, "valid_from": "2026-02-01"}, headers=headers)  # fmt: skip
    for _ in range(3):
        client.get(f"/api/v1/sites/{site}/rates", params=params, headers=headers)
    assert len(calls) == 3


def test_the_cache_is_bounded_and_evicts_the_least_recently_used(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    parses: list[str] = []
    monkeypatch.setattr(
        repository, "to_domain", lambda body, country: parses.append(country) or object()
    )
    monkeypatch.setattr(repository, "from_definition", lambda valid_from, data: data)
    cache = repository.ParsedTariffs(maxsize=2)
    rows = [
        SimpleNamespace(id=f"v{i}", created_at=datetime(2026, 1, 1), valid_from=None, definition={})
        for i in range(3)
    ]
    for row in (rows[0], rows[1], rows[0], rows[2], rows[0], rows[1]):
        cache.get(row, "DE")  # type: ignore[arg-type]
    # v0 v1 parsed; v0 hit; v2 parsed (evicts v1); v0 hit; v1 parsed again
    assert len(parses) == 4
