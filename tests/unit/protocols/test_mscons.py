"""MSCONS of a virtual battery (issue 17): written with pydifact, parsed back into the same
numbers, UNT and UNZ counted right, 92 and 100 quarter hours on DST days, and the message's
segment order and qualifiers checked against the MIG 2.4c tree (protocols/edifact/mig.py)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from voltfleet.domain.virtual_battery import calendar
from voltfleet.protocols.edifact import mig, mscons

BERLIN = ZoneInfo("Europe/Berlin")
P = mscons.Partners("9900000000001", "9900000000002")
CREATED = datetime(2026, 11, 2, 1, 30, tzinfo=UTC)


def quarter_hours(day: date) -> list[datetime]:
    start = calendar.local_midnight(day, BERLIN)
    end = calendar.local_midnight(day + timedelta(days=1), BERLIN)
    return calendar.interval_starts(start, end)


def profile(day: date) -> tuple[mscons.Document, list[float], list[float]]:
    starts = quarter_hours(day)
    # whole watt-hours: the file holds kWh with three decimals
    discharged = [float(k * 12_345 % 4_001) for k in range(len(starts))]
    charged = [float((len(starts) - k) * 75) for k in range(len(starts))]
    doc = mscons.load_profile(
        P,
        "V" + "A" * 32,
        starts,
        discharged,
        charged,
        "REF00000000001",
        CREATED,
        datetime(day.year, day.month, day.day),
    )
    return doc, discharged, charged


@pytest.mark.parametrize(
    ("day", "n"), [(date(2026, 3, 29), 92), (date(2026, 10, 25), 100), (date(2026, 6, 1), 96)]
)
def test_a_load_profile_parses_back_into_the_same_numbers(day: date, n: int) -> None:
    doc, discharged, charged = profile(day)
    got = mscons.parse(doc.text)
    assert got.sender_id == P.sender_id and got.receiver_id == P.receiver_id
    assert got.application == "TL" and got.message_version == "2.4c"
    out = got.lines["1-1:1.29.0"]
    into = got.lines["1-1:2.29.0"]
    assert len(out) == len(into) == n
    assert [float(v.kwh * 1000) for v in out] == discharged
    assert [float(v.kwh * 1000) for v in into] == charged
    assert {v.qualifier for v in out + into} == {"220"}
    starts = quarter_hours(day)
    assert [v.start for v in out] == starts
    assert [v.end for v in out] == [s + timedelta(minutes=15) for s in starts]
    # the first quarter hour begins at local midnight, in UTC
    assert out[0].start == calendar.local_midnight(day, BERLIN)
    assert "?+00:303'" in doc.text  # UTC, format 303, the plus sign escaped


def test_unt_counts_the_message_and_unz_the_messages() -> None:
    doc, _, _ = profile(date(2026, 3, 29))
    got = mscons.parse(doc.text)
    assert got.unt_count == got.segments_in_message
    # UNH BGM DTM RFF NAD NAD UNS NAD LOC DTM DTM (11), LIN and PIA per flow (2 x 2),
    # QTY DTM DTM per quarter hour and flow (2 x 92 x 3), UNT
    assert got.unt_count == 11 + 2 * 2 + 2 * 92 * 3 + 1
    assert got.unz_count == got.messages == 1
    assert doc.text.endswith("UNZ+1+REF00000000001'")


def test_readings_of_the_level_carry_dtm_7() -> None:
    ends = [calendar.local_midnight(date(2026, 10, d), BERLIN) for d in (25, 26)]
    doc = mscons.readings(
        P, "V" + "B" * 32, ends, [1234.0, 5678.9], "REF2", CREATED, datetime(2026, 10, 25)
    )
    got = mscons.parse(doc.text)
    values = got.lines["1-1:1.8.0"]
    assert [v.kwh for v in values] == [Decimal("1.234"), Decimal("5.679")]
    assert [v.at for v in values] == ends
    assert got.application == "VL"
    assert mig.check(got.structure) == []


def test_file_names_follow_the_convention() -> None:
    doc, _, _ = profile(date(2026, 3, 29))
    assert doc.filename == "MSCONS_TL_9900000000001_9900000000002_20260329_REF00000000001.txt"


def test_the_message_fits_the_mig_tree_and_the_check_finds_faults() -> None:
    doc, _, _ = profile(date(2026, 6, 1))
    structure = mscons.parse(doc.text).structure
    assert mig.check(structure) == []
    S = mig.Segment
    # a missing mandatory segment, a wrong qualifier, a segment out of order
    no_uns = [s for s in structure if s.tag != "UNS"]
    assert any("UNS" in e for e in mig.check(no_uns))
    bad_qty = [S("QTY", "999") if s.tag == "QTY" else s for s in structure]
    assert mig.check(bad_qty)
    swapped = list(structure)
    swapped[1], swapped[2] = swapped[2], swapped[1]  # DTM+137 before BGM
    assert mig.check(swapped)
    assert mig.check([*structure[:-1], S("BGM", "7"), structure[-1]])


def test_the_format_version_is_configurable() -> None:
    p = mscons.Partners("9900000000001", "9900000000002", format_version="2.5")
    doc = mscons.readings(p, "V" + "C" * 32, [CREATED], [1.0], "R", CREATED, CREATED)
    assert "UNH+R+MSCONS:D:04B:UN:2.5'" in doc.text
    assert mscons.parse(doc.text).message_version == "2.5"


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError):
        mscons.load_profile(P, "L", [], [], [], "R", CREATED, CREATED)
    with pytest.raises(ValueError):
        mscons.readings(P, "L", [CREATED], [], "R", CREATED, CREATED)
