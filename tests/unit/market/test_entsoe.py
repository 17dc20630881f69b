"""ENTSO-E A44 parser on recorded-style documents, and its request builder."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.unit.market.helpers import assert_series, fixture, utc
from voltfleet.market import EntsoeSource, MarketDataError, NoDataError, SourceSettings
from voltfleet.market.entsoe import parse_entsoe

DE_LU = "10Y1001A1001A82H"
NL = "10YNL----------L"
BERLIN = ZoneInfo("Europe/Berlin")


def test_dst_day_has_23_hours() -> None:
    prices = parse_entsoe(fixture("entsoe_a44_de_lu_2025-03-30_dst_pt60m.xml"), DE_LU)

    assert len(prices) == 23
    assert_series(prices, timedelta(hours=1), "EUR")
    assert prices[0].start == utc(2025, 3, 29, 23)
    assert prices[-1].end == utc(2025, 3, 30, 22)
    assert prices[-1].end - prices[0].start == timedelta(hours=23)
    local = [p.start.astimezone(BERLIN) for p in prices]
    assert {t.date().isoformat() for t in local} == {"2025-03-30"}
    assert [t.hour for t in local] == [0, 1, *range(3, 24)]  # 02:00 local never happens
    # EUR/MWh -> EUR/kWh
    assert prices[0].price_per_kwh == pytest.approx(0.0913)
    assert prices[-1].price_per_kwh == pytest.approx(0.09815)
    assert min(p.price_per_kwh for p in prices) == pytest.approx(-0.01247)
    assert prices[15].price_per_kwh == 0.0  # a price of exactly zero is a price, not a gap


def test_quarter_hour_document() -> None:
    prices = parse_entsoe(fixture("entsoe_a44_de_lu_2025-10-02_pt15m.xml"), DE_LU)

    assert len(prices) == 96
    assert_series(prices, timedelta(minutes=15), "EUR")
    assert prices[0].start == utc(2025, 10, 1, 22)
    assert prices[-1].start == utc(2025, 10, 2, 21, 45)
    assert prices[0].price_per_kwh == pytest.approx(0.07383)
    assert prices[-1].price_per_kwh == pytest.approx(0.07052)
    assert max(p.price_per_kwh for p in prices) == pytest.approx(0.14092)


def test_a03_missing_positions_repeat_the_price_before() -> None:
    prices = parse_entsoe(fixture("entsoe_a44_nl_2024-11-05_a03_gaps.xml"), NL)

    assert len(prices) == 48  # two delivery days, two TimeSeries
    assert_series(prices, timedelta(hours=1), "EUR")
    assert prices[0].start == utc(2024, 11, 4, 23)
    assert prices[-1].end == utc(2024, 11, 6, 23)
    hourly = [round(p.price_per_kwh * 1000, 2) for p in prices]
    assert hourly[1:4] == [94.0, 94.0, 94.0]  # positions 3 and 4 left out
    assert hourly[11:13] == [94.92, 94.92]  # position 13 left out
    assert hourly[21:24] == [117.77, 117.77, 117.77]  # trailing 23 and 24 run to the period end
    assert hourly[24] == 104.91  # the next day starts afresh
    assert hourly[16] == 472.99


def test_area_filter() -> None:
    payload = fixture("entsoe_a44_nl_2024-11-05_a03_gaps.xml")
    assert len(parse_entsoe(payload, "")) == 48
    with pytest.raises(MarketDataError, match="no TimeSeries for area 10Y1001A1001A82H"):
        parse_entsoe(payload, DE_LU)


def test_acknowledgement_surfaces_its_reason() -> None:
    with pytest.raises(NoDataError, match="No matching data found for Data item Energy Prices"):
        parse_entsoe(fixture("entsoe_ack_no_matching_data.xml"), DE_LU)


def _document(series: str, root: str = "Publication_MarketDocument", ns: str = "7:3") -> bytes:
    xmlns = f' xmlns="urn:iec62325.351:tc57wg16:451-3:publicationdocument:{ns}"' if ns else ""
    return f"<?xml version='1.0'?><{root}{xmlns}><type>A44</type>{series}</{root}>".encode()


def _series(
    points: list[tuple[int, float | str]],
    *,
    start: str = "2025-01-01T23:00Z",
    end: str = "2025-01-02T01:00Z",
    resolution: str = "PT60M",
    curve: str = "A03",
    unit: str = "MWH",
    mrid: str = "1",
) -> str:
    body = "".join(
        f"<Point><position>{pos}</position><price.amount>{price}</price.amount></Point>"
        for pos, price in points
    )
    return (
        f"<TimeSeries><mRID>{mrid}</mRID><in_Domain.mRID>{DE_LU}</in_Domain.mRID>"
        f"<currency_Unit.name>EUR</currency_Unit.name>"
        f"<price_Measure_Unit.name>{unit}</price_Measure_Unit.name><curveType>{curve}</curveType>"
        f"<Period><timeInterval><start>{start}</start><end>{end}</end></timeInterval>"
        f"<resolution>{resolution}</resolution>{body}</Period></TimeSeries>"
    )


def test_namespace_free_and_other_versions_parse_alike() -> None:
    series = _series([(1, 50.0), (2, 60.0)])
    expected = parse_entsoe(_document(series), DE_LU)
    assert parse_entsoe(_document(series, ns=""), DE_LU) == expected
    assert parse_entsoe(_document(series, ns="7:9"), DE_LU) == expected
    assert [p.price_per_kwh for p in expected] == [0.05, 0.06]


def test_finer_resolution_wins_where_series_overlap() -> None:
    hourly = _series([(1, 80.0), (2, 90.0)], mrid="1")
    quarters = _series(
        [(1, 70.0), (2, 75.0), (3, 85.0), (4, 90.0)],
        end="2025-01-02T00:00Z",
        resolution="PT15M",
        mrid="2",
    )
    prices = parse_entsoe(_document(hourly + quarters), DE_LU)
    assert [(p.start.hour, p.start.minute, p.duration) for p in prices] == [
        (23, 0, timedelta(minutes=15)),
        (23, 15, timedelta(minutes=15)),
        (23, 30, timedelta(minutes=15)),
        (23, 45, timedelta(minutes=15)),
        (0, 0, timedelta(hours=1)),  # the hour no quarter covers
    ]
    assert prices[-1].price_per_kwh == pytest.approx(0.09)


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b"", "payload is empty"),
        (b"<html><body>Bad Gateway", "not well-formed XML"),
        (b'<!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>', "DOCTYPE"),
        (_document(""), "document has no TimeSeries"),
        (_document(_series([(1, 1.0)]), root="GL_MarketDocument"), "is a GL_MarketDocument"),
        (_document(_series([(1, 1.0)], curve="A01")), r"curve A01\) misses positions \[2\]"),
        (_document(_series([(1, 1.0), (2, 2.0)], unit="MAW")), "prices per MAW"),
        (_document(_series([(1, 1.0)], resolution="P1D")), "unsupported resolution 'P1D'"),
        (_document(_series([(1, 1.0), (3, 2.0)])), "position 3 is outside 1..2"),
        (_document(_series([(1, 1.0), (1, 2.0)])), "position 1 repeats"),
        (_document(_series([(2, 1.0)])), "no Point at position 1"),
        (_document(_series([(1, 1.0)], end="2025-01-02T00:30Z")), "not a whole number"),
        (_document(_series([(1, 1.0)], start="yesterday")), "bad time 'yesterday'"),
        (_document(_series([(1, "n/a")])), "bad Point '1': 'n/a'"),
        (
            _document(_series([(1, 1.0)]).replace("<Period>", "<X>").replace("</Period>", "</X>")),
            "has no Period",
        ),
    ],
)
def test_malformed_documents_are_refused_with_the_reason(payload: bytes, message: str) -> None:
    with pytest.raises(MarketDataError, match=message):
        parse_entsoe(payload, DE_LU)


def test_acknowledgement_other_than_no_data_is_a_plain_error() -> None:
    ack = (
        b"<Acknowledgement_MarketDocument xmlns='urn:iec62325.351:tc57wg16:451-1:"
        b"acknowledgementdocument:7:0'><Reason><code>999</code></Reason><Reason><code>B11</code>"
        b"<text>The amount of requested data exceeds allowed limit.</text></Reason>"
        b"</Acknowledgement_MarketDocument>"
    )
    with pytest.raises(NoDataError):  # code 999 is "no data", whatever the text
        parse_entsoe(ack, DE_LU)
    other = ack.replace(b"<Reason><code>999</code></Reason>", b"")
    with pytest.raises(MarketDataError, match="exceeds allowed limit") as caught:
        parse_entsoe(other, DE_LU)
    assert not isinstance(caught.value, NoDataError)


def test_request_needs_a_token_and_carries_it_only_as_given() -> None:
    source = EntsoeSource()
    start, end = utc(2025, 3, 29, 23), utc(2025, 3, 30, 22)
    with pytest.raises(MarketDataError, match="security token"):
        source.request(DE_LU, start, end, SourceSettings())

    url, params, headers = source.request(DE_LU, start, end, SourceSettings(token="t0ken"))
    assert url == "https://web-api.tp.entsoe.eu/api"
    assert params == {
        "securityToken": "t0ken",
        "documentType": "A44",
        "in_Domain": DE_LU,
        "out_Domain": DE_LU,
        "contract_MarketAgreement.type": "A01",
        "periodStart": "202503292300",
        "periodEnd": "202503302200",
    }
    assert headers["Accept"] == "application/xml"


def test_request_window_is_capped_at_a_year_and_converted_to_utc() -> None:
    source = EntsoeSource()
    settings = SourceSettings(token="t", base_url="http://127.0.0.1:9/")
    start = datetime(2024, 1, 1, tzinfo=BERLIN)
    url, params, _ = source.request(DE_LU, start, start + timedelta(days=800), settings)
    assert url == "http://127.0.0.1:9/api"
    assert params["periodStart"] == "202312312300"
    assert params["periodEnd"] == "202412302300"  # 365 days later


def test_request_refuses_bad_areas_and_naive_times() -> None:
    source = EntsoeSource()
    settings = SourceSettings(token="t")
    with pytest.raises(MarketDataError, match="EIC code"):
        source.request("DE", utc(2025, 1, 1), utc(2025, 1, 2), settings)
    with pytest.raises(MarketDataError, match="timezone-aware"):
        source.request(DE_LU, datetime(2025, 1, 1), utc(2025, 1, 2), settings)
