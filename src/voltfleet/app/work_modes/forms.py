"""The Mode and Intelligent-load forms turned into command parameters (domain/work_modes.py checks
them), and parameters back into form values. A TOU slot list is typed as text, one slot per
comma: ``00:00-06:00 grid_charge, 17:00-21:00 full_feed_in``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from voltfleet.domain.work_modes import MAX_SEASONS, WorkModeError

SEASON_FIELDS = ("name", "from", "to", "weekday", "weekend")


def parse_slots(text: str, field: str) -> list[dict[str, str]]:
    """``"00:00-06:00 grid_charge, 17:00-21:00 full_feed_in"`` as slot objects."""
    slots = []
    for n, part in enumerate(p.strip() for p in text.replace(";", ",").split(",")):
        if not part:
            continue
        span, _, mode = part.partition(" ")
        start, dash, end = span.partition("-")
        if not dash or not mode.strip():
            raise WorkModeError(
                f"{field}: slot {n + 1} must look like 00:00-06:00 grid_charge, got {part!r}",
                field,
            )
        slots.append({"start": start.strip(), "end": end.strip(), "mode": mode.strip()})
    return slots


def slots_text(slots: list[dict[str, str]]) -> str:
    return ", ".join(f"{s['start']}-{s['end']} {s['mode']}" for s in slots)


def _kw_to_w(value: str, field: str) -> float:
    try:
        return round(float(value.replace(",", ".") or 0) * 1000, 3)
    except ValueError:
        raise WorkModeError(f"{field} must be a number of kW, got {value!r}", field) from None


def work_mode_params(form: Mapping[str, str]) -> dict[str, Any]:
    """The ``work_mode`` parameters of the Mode form."""
    mode = form.get("mode", "")
    if mode != "tou":
        return {"mode": mode}
    seasons = []
    for i in range(MAX_SEASONS):
        values = {f: form.get(f"season{i}_{f}", "").strip() for f in SEASON_FIELDS}
        if not any(values[f] for f in ("from", "to", "weekday", "weekend")):
            continue
        seasons.append(
            {
                "name": values["name"] or f"Season {i + 1}",
                "from": values["from"] or "01-01",
                "to": values["to"] or "12-31",
                "weekday": parse_slots(values["weekday"], f"season {i + 1} weekdays"),
                "weekend": parse_slots(values["weekend"], f"season {i + 1} weekends"),
            }
        )
    return {
        "mode": "tou",
        "tou": {
            "grid_charge": form.get("grid_charge") == "on",
            "grid_charge_power_w": _kw_to_w(form.get("grid_charge_kw", "0"), "grid charging power"),
            "grid_charge_start": form.get("grid_charge_start", "00:00") or "00:00",
            "grid_charge_end": form.get("grid_charge_end", "00:00") or "00:00",
            "anti_feedback": form.get("anti_feedback") == "on",
            "feed_in_limit_w": _kw_to_w(form.get("feed_in_limit_kw", "12"), "feed-in limit"),
            "holidays": form.get("holidays", "weekend"),
            "seasons": seasons,
        },
    }


def _number(value: str, field: str) -> float:
    try:
        return float(value.replace(",", "."))
    except ValueError:
        raise WorkModeError(f"{field} must be a number, got {value!r}", field) from None


def load_form_params(form: Mapping[str, str]) -> dict[str, Any]:
    """The ``intelligent_load`` parameters of the Intelligent-load form."""
    mode = form.get("load_mode", "")
    if mode == "manual":
        return {"mode": mode, "on": form.get("manual_on") == "on"}
    if mode == "battery":
        return {
            "mode": mode,
            "on_above_soc_pct": _number(form.get("on_above_soc_pct", ""), "on above (%)"),
            "off_below_soc_pct": _number(form.get("off_below_soc_pct", ""), "off below (%)"),
        }
    if mode == "time":
        return {"mode": mode, "start": form.get("start", ""), "end": form.get("end", "")}
    if mode == "surplus":
        return {
            "mode": mode,
            "on_above_w": _number(form.get("on_above_w", ""), "on above (W)"),
            "off_below_w": _number(form.get("off_below_w", ""), "off below (W)"),
            "min_on_minutes": _number(form.get("min_on_minutes", "0") or "0", "minimum on-time"),
        }
    return {"mode": mode}
