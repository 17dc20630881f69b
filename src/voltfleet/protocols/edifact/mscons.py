"""MSCONS (EDI@Energy, MIG 2.4c by default) for a virtual battery: a load profile of quarter
hours and daily meter readings, written and read back with pydifact.

* **Load profile** (UNB application reference ``TL``): one LIN per flow, PIA+5 with its OBIS
  code (1-1:1.29.0: energy the battery delivered to the customer, i.e. discharged; 1-1:2.29.0:
  energy the customer delivered into it, i.e. charged), one SG10 per quarter hour:
  ``QTY+220:<kWh>:KWH``, ``DTM+163`` (start) and ``DTM+164`` (end), in UTC (format 303,
  ``?+00``). A local day has 96 quarter hours, 92 on the spring DST day and 100 in autumn.
* **Meter readings** (``VL``): one LIN with the level's OBIS code and one SG10 per day:
  ``QTY+220:<kWh>:KWH`` and ``DTM+7`` (the instant the reading holds for: the end of the day).

Each file is one interchange (UNA, UNB .. UNZ) with one message (UNH .. UNT); ``UNT`` counts
the message's segments from UNH to UNT, ``UNZ`` the messages. File names follow the EDI@Energy
convention ``MSCONS_<application reference>_<sender>_<receiver>_<yyyymmdd>_<reference>.txt``.
The codes that depend on the market process (BGM document code, the Prüfidentifikator in
RFF+Z13, the OBIS codes) are data in ``Codes`` so a partner or a newer MIG can change them.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal

from pydifact.control.characters import Characters
from pydifact.segmentcollection import Interchange, Message, RawSegmentCollection
from pydifact.segments import Segment

from voltfleet.protocols.edifact import mig

QUARTER = timedelta(minutes=15)


@dataclass(frozen=True)
class Codes:
    """Process codes as data (check them in the AHB of the format version in force)."""

    load_profile_bgm: str = "7"  # Prozessdatenbericht
    load_profile_check_id: str = "13025"  # Prüfidentifikator: Lastgang
    readings_bgm: str = "7"
    readings_check_id: str = "13002"  # Prüfidentifikator: Zählerstand
    obis_discharged: str = "1-1:1.29.0"  # delivered to the customer, per quarter hour
    obis_charged: str = "1-1:2.29.0"  # taken from the customer, per quarter hour
    obis_level: str = "1-1:1.8.0"  # the battery's level as a register reading
    party_code: str = "500"  # BDEW code list (293 in NAD)


@dataclass(frozen=True)
class Partners:
    sender_id: str
    receiver_id: str
    format_version: str = "2.4c"
    codes: Codes = field(default_factory=Codes)


@dataclass(frozen=True)
class Document:
    filename: str
    text: str


@dataclass(frozen=True)
class Value:
    """One SG10: the quantity (kWh), its qualifier, and its instants (UTC)."""

    kwh: Decimal
    qualifier: str
    start: datetime | None = None  # DTM+163
    end: datetime | None = None  # DTM+164
    at: datetime | None = None  # DTM+7


@dataclass(frozen=True)
class Parsed:
    sender_id: str
    receiver_id: str
    reference: str
    application: str
    message_version: str
    unt_count: int
    segments_in_message: int
    unz_count: int
    messages: int
    location: str
    lines: dict[str, list[Value]]  # OBIS code -> values
    structure: list[mig.Segment]


def _ts(t: datetime) -> list[str]:
    u = t.astimezone(UTC)
    return [f"{u:%Y%m%d%H%M}+00", "303"]


def _kwh(wh: float) -> str:
    return str(Decimal(repr(wh)).scaleb(-3).quantize(Decimal("0.001"), ROUND_HALF_EVEN))


def filename(application: str, p: Partners, day: datetime, reference: str) -> str:
    return f"MSCONS_{application}_{p.sender_id}_{p.receiver_id}_{day:%Y%m%d}_{reference}.txt"


def _interchange(
    p: Partners, reference: str, created: datetime, application: str, message: Message
) -> str:
    c = p.codes
    inter = Interchange(
        [p.sender_id, c.party_code],
        [p.receiver_id, c.party_code],
        reference,
        ("UNOC", 3),
        created.astimezone(UTC).replace(tzinfo=None),
        extra_header_elements=["", application],
        # UNA:+.? " : decimals written with a point (pydifact defaults to a comma)
        characters=Characters(decimal_point="."),  # type: ignore[no-untyped-call]
    )
    inter.has_una_segment = True
    inter.add_message(message)
    return inter.serialize()


def _head(
    p: Partners,
    reference: str,
    created: datetime,
    bgm: str,
    check_id: str,
    location: str,
    period: tuple[datetime, datetime] | None,
) -> Message:
    m = Message(reference, ["MSCONS", "D", "04B", "UN", p.format_version])
    m.add_segment(Segment("BGM", bgm, reference, "9"))
    m.add_segment(Segment("DTM", ["137", *_ts(created)]))
    m.add_segment(Segment("RFF", ["Z13", check_id]))
    m.add_segment(Segment("NAD", "MS", [p.sender_id, "", "293"]))
    m.add_segment(Segment("NAD", "MR", [p.receiver_id, "", "293"]))
    m.add_segment(Segment("UNS", "D"))
    m.add_segment(Segment("NAD", "DP"))
    m.add_segment(Segment("LOC", "172", location))
    if period is not None:
        m.add_segment(Segment("DTM", ["163", *_ts(period[0])]))
        m.add_segment(Segment("DTM", ["164", *_ts(period[1])]))
    return m


def load_profile(
    p: Partners,
    location: str,
    starts: Sequence[datetime],
    discharged_wh: Sequence[float],
    charged_wh: Sequence[float],
    reference: str,
    created: datetime,
    day: datetime,
) -> Document:
    """The quarter hours starting at ``starts`` (UTC, one local day: 92, 96 or 100 of them)."""
    if not (len(starts) == len(discharged_wh) == len(charged_wh)) or not starts:
        raise ValueError("one value per quarter hour of each flow, at least one")
    c = p.codes
    period = (starts[0], starts[-1] + QUARTER)
    m = _head(p, reference, created, c.load_profile_bgm, c.load_profile_check_id, location, period)
    for n, (obis, values) in enumerate(
        ((c.obis_discharged, discharged_wh), (c.obis_charged, charged_wh)), start=1
    ):
        m.add_segment(Segment("LIN", str(n)))
        m.add_segment(Segment("PIA", "5", [obis, "SRW"]))
        for start, wh in zip(starts, values, strict=True):
            m.add_segment(Segment("QTY", ["220", _kwh(wh), "KWH"]))
            m.add_segment(Segment("DTM", ["163", *_ts(start)]))
            m.add_segment(Segment("DTM", ["164", *_ts(start + QUARTER)]))
    text = _interchange(p, reference, created, "TL", m)
    return Document(filename("TL", p, day, reference), text)


def readings(
    p: Partners,
    location: str,
    at: Sequence[datetime],
    level_wh: Sequence[float],
    reference: str,
    created: datetime,
    day: datetime,
) -> Document:
    """The level at each instant of ``at`` (UTC: the ends of the days) as register readings."""
    if len(at) != len(level_wh) or not at:
        raise ValueError("one level per instant, at least one")
    c = p.codes
    m = _head(p, reference, created, c.readings_bgm, c.readings_check_id, location, None)
    m.add_segment(Segment("LIN", "1"))
    m.add_segment(Segment("PIA", "5", [c.obis_level, "SRW"]))
    for t, wh in zip(at, level_wh, strict=True):
        m.add_segment(Segment("QTY", ["220", _kwh(wh), "KWH"]))
        m.add_segment(Segment("DTM", ["7", *_ts(t)]))
    text = _interchange(p, reference, created, "VL", m)
    return Document(filename("VL", p, day, reference), text)


def _first(element: object) -> str:
    if isinstance(element, list):
        return str(element[0]) if element else ""
    return str(element) if element is not None else ""


def _instant(element: object) -> datetime:
    assert isinstance(element, list)
    value, fmt = str(element[1]), str(element[2])
    if fmt != "303" or not value.endswith("+00"):
        raise ValueError(f"expected a UTC time in format 303, got {value}:{fmt}")
    return datetime.strptime(value[:12], "%Y%m%d%H%M").replace(tzinfo=UTC)


def parse(text: str) -> Parsed:
    """Read an MSCONS interchange of one message back (pydifact) into numbers."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pydifact has no service-segment XML for v3
        segs = RawSegmentCollection.from_str(text).segments
    unb = next(s for s in segs if s.tag == "UNB")
    unz = next(s for s in segs if s.tag == "UNZ")
    start = next(i for i, s in enumerate(segs) if s.tag == "UNH")
    end = next(i for i, s in enumerate(segs) if s.tag == "UNT")
    message = segs[start : end + 1]
    unh, unt = message[0], message[-1]
    lines: dict[str, list[Value]] = {}
    current: list[Value] | None = None
    location = ""
    pending: dict[str, object] | None = None

    def flush() -> None:
        if pending is not None and current is not None:
            current.append(Value(**pending))  # type: ignore[arg-type]

    for s in message:
        if s.tag == "LOC":
            location = _first(s.elements[1])
        elif s.tag == "PIA":
            flush()
            pending = None
            current = lines.setdefault(_first(s.elements[1]), [])
        elif s.tag == "QTY":
            flush()
            q = s.elements[0]
            assert isinstance(q, list)
            pending = {"kwh": Decimal(str(q[1])), "qualifier": str(q[0])}
        elif s.tag == "DTM" and pending is not None:
            key = {"163": "start", "164": "end", "7": "at"}.get(_first(s.elements[0]))
            if key:
                pending[key] = _instant(s.elements[0])
    flush()
    structure = [mig.Segment(s.tag, _first(s.elements[0]) if s.elements else "") for s in message]
    return Parsed(
        sender_id=_first(unb.elements[1]),
        receiver_id=_first(unb.elements[2]),
        reference=str(unb.elements[4]),
        application=str(unb.elements[6]) if len(unb.elements) > 6 else "",
        message_version=str(unh.elements[1][4]) if isinstance(unh.elements[1], list) else "",
        unt_count=int(str(unt.elements[0])),
        segments_in_message=len(message),
        unz_count=int(str(unz.elements[0])),
        messages=sum(1 for s in segs if s.tag == "UNH"),
        location=location,
        lines=lines,
        structure=structure,
    )
