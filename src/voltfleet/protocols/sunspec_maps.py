"""Register maps of SunSpec devices, built from the model definitions that ``pysunspec2`` ships
(``sunspec2/models/json/model_<id>.json``, read through ``sunspec2.device.get_model_def``).

Each point of a model becomes a ``domain.registers.Parameter`` named by its point path
(``WMaxLimPct``; ``PFWInj.PF`` inside a group), grouped by the model's label, writable when the
model says ``"access": "RW"`` (SunSpec registers are all holding registers). Scale factors stay
on the device: the gateway applies them. Points that only frame the model (``ID``, ``L``,
padding, the scale factors themselves) and repeating groups (curves, strings) are left out.
The definitions give no ranges: percentages take -100..100 (signed) or 0..100, unscaled points
their register type's range, scaled unsigned points >= 0 (the scale factor is the device's).
"""

from __future__ import annotations

from functools import cache
from typing import Any

import sunspec2.device as sunspec_device  # type: ignore[import-untyped]

from voltfleet.domain.registers import (
    RAW_RANGE,
    TYPES,
    Parameter,
    RegisterMap,
    RegisterType,
    Symbol,
)

# The models the platform offers (issue 15): common, inverters, DER measurement and controls,
# storage and battery, meters.
COMMON = (1,)
INVERTER = (101, 102, 103, 701, 704, 705)
STORAGE = (124, 802, 803)
METER = (201, 202, 203, 204)
MODELS = COMMON + INVERTER + STORAGE + METER
# Which models a device of each kind may hold (a hybrid inverter carries its storage models).
BY_KIND: dict[str, tuple[int, ...]] = {
    "inverter": COMMON + INVERTER + STORAGE,
    "battery": COMMON + STORAGE,
    "meter": COMMON + METER,
}
_FRAME = {"ID", "L"}


def _range(point: dict[str, Any]) -> tuple[float | None, float | None]:
    unit, dtype = str(point.get("units") or ""), str(point.get("type", ""))
    if "%" in unit or "Pct" in unit:
        return (-100.0 if dtype.startswith("int") else 0.0), 100.0
    if not point.get("sf") and dtype in RAW_RANGE:
        return RAW_RANGE[dtype]  # unscaled: the register's own range
    return (0.0 if dtype.startswith("uint") else None), None


def _points(model_id: int, group_label: str, group: dict[str, Any], prefix: str) -> list[Parameter]:
    out: list[Parameter] = []
    for point in group.get("points", []):
        name, dtype = str(point["name"]), str(point.get("type", ""))
        if (not prefix and name in _FRAME) or dtype in ("pad", "sunssf") or dtype not in TYPES:
            continue
        lo, hi = _range(point)
        symbols = tuple(
            Symbol(str(s["name"]), int(s["value"]), str(s.get("label", "")))
            for s in point.get("symbols", [])
            if dtype.startswith("enum")
        )
        out.append(
            Parameter(
                group=group_label,
                name=prefix + name,
                label=str(point.get("label") or name).strip(),
                unit=str(point.get("units") or "").strip(),
                model=model_id,
                data_type=dtype,
                count=int(point.get("size", TYPES[dtype] or 1)),
                minimum=lo,
                maximum=hi,
                register_type=RegisterType.HOLDING,
                writable=point.get("access") == "RW",
                scale_factor=str(point.get("sf") or ""),
                symbols=symbols,
                description=str(point.get("desc") or "")[:500],
            )
        )
    for sub in group.get("groups", []):
        if sub.get("count") not in (None, 1):
            continue  # repeating groups (curves, strings) are not offered here
        out += _points(model_id, group_label, sub, f"{prefix}{sub['name']}.")
    return out


@cache
def model_map(model_id: int) -> RegisterMap:
    """One SunSpec model as a register map (its points grouped under the model's label)."""
    definition = sunspec_device.get_model_def(model_id)
    top = definition["group"]
    label = f"{top.get('label') or top['name']} ({model_id})"
    return RegisterMap(f"SunSpec {model_id}", tuple(_points(model_id, label, top, "")))


@cache
def sunspec_map(models: tuple[int, ...]) -> RegisterMap:
    """The register map of a device holding these SunSpec models."""
    params: tuple[Parameter, ...] = ()
    for m in models:
        params += model_map(m).parameters
    return RegisterMap("SunSpec " + ", ".join(str(m) for m in models), params)


def map_for_kind(kind: str) -> RegisterMap | None:
    """The SunSpec map offered for a device kind (None: the kind has no SunSpec registers)."""
    models = BY_KIND.get(kind)
    return sunspec_map(models) if models else None
