"""What the platform keeps of a reading (or a message, or an alarm event) it received but did not
store: the text as sent, the reason, and the device it was about when known. Every path into the
platform (HTTP, MQTT, OCPP, releasing the quarantine) makes its entries here and hands them to
the one quarantine writer (usecases.ingest.quarantine).

Pure: no I/O, no clock.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

# Field widths of the quarantine (as stored): longer text is cut.
REF_CHARS, POINT_CHARS, TS_CHARS, VALUE_CHARS, UNIT_CHARS = 64, 64, 64, 64, 16

BAD_PAYLOAD = "bad_payload"  # the message, or a reading in it, is not readable
PROCESSING_ERROR = "processing_error"  # the platform failed on the message


@dataclass(frozen=True, slots=True)
class IncomingReading:
    """A reading as received on any path, before it is checked: the device as the sender names
    it (serial or id below its credential; "" for the sender itself), a data point, its instant
    (text as sent, or an instant a wire engine parsed already), value and unit as sent."""

    device: str
    point: str
    ts: str | datetime
    value: float | str | None
    unit: str


@dataclass(frozen=True, slots=True)
class QuarantineEntry:
    """One quarantined item: the text as sent (cut to the stored widths), why, and the device
    and instant when they are known."""

    device_ref: str
    point: str
    ts_text: str
    value_text: str
    unit: str
    reason: str
    detail: str
    device_id: str | None = None
    ts: datetime | None = None


def _ts_text(ts: object) -> str:
    if isinstance(ts, datetime):
        return ts.isoformat()
    return str(ts)


def of_reading(
    device: str,
    point: str,
    ts: object,
    value: object,
    unit: str,
    reason: str,
    detail: str,
    device_id: str | None = None,
    at: datetime | None = None,
) -> QuarantineEntry:
    """The entry of a reading that was read (its fields are known) but refused."""
    return QuarantineEntry(
        device_ref=device[:REF_CHARS],
        point=point[:POINT_CHARS],
        ts_text=_ts_text(ts)[:TS_CHARS],
        value_text=str(value)[:VALUE_CHARS],
        unit=unit[:UNIT_CHARS],
        reason=reason,
        detail=detail,
        device_id=device_id,
        ts=at,
    )


def of_raw(raw: object, reason: str, detail: str) -> QuarantineEntry:
    """The entry of something that could not be read as a reading: a JSON object's fields when
    it is one, otherwise its text as the value."""
    d: Mapping[str, object] = raw if isinstance(raw, dict) else {}
    return QuarantineEntry(
        device_ref=str(d.get("device", ""))[:REF_CHARS],
        point=str(d.get("point", ""))[:POINT_CHARS],
        ts_text=str(d.get("ts", ""))[:TS_CHARS],
        value_text=str(d.get("value", raw if not d else ""))[:VALUE_CHARS],
        unit=str(d.get("unit", ""))[:UNIT_CHARS],
        reason=reason,
        detail=detail,
    )
