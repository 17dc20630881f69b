"""A simulated home as SunSpec devices: the home model's (simulator/model.py) powers, counters and
state of charge written into the registers of three Modbus devices, as a real installation shows
them to a gateway on its RS485 bus:

- the hybrid inverter: common model 1, inverter 103 (AC ``W`` is what it feeds to the house, PV
  less what went into the battery; ``DCW`` is the PV array's power; ``WH`` its lifetime PV yield)
  and storage control 124 (writable: ``WChaMax``, ``StorCtl_Mod``, ``InWRte``, ``OutWRte`` ...),
  with ``controls`` also immediate controls 123 (``Conn`` starts and stops it, ``WMaxLimPct``
  with ``WMaxLim_Ena`` caps its AC output at a percentage of its rated power, curtailing PV);
  or, with ``der``, the newer DER information model instead of 103/123: DER AC measurement 701
  (``W``, ``TotWhInj`` the lifetime counter, ``LNV``/``VL1``, ``Hz``, ``TmpCab``), DER capacity
  702 (``WMaxRtg``, ``WMax`` ...), DER DC measurement 714 (``DCW``: the PV array's power; no
  ports listed), enter service 703 (``ES`` starts and stops it) and DER AC controls 704
  (``WMaxLimPct`` with
  ``WMaxLimPctEna`` caps its AC output at a percentage of ``WMax``), storage control 124 kept;
- the battery: common 1 and lithium-ion battery 802 (``SoC`` %, ``W`` > 0 discharging as a DER
  counts power out of the device, ``V``, ``A``);
- the house meter at the grid connection: common 1 and three-phase meter 203 (``W`` > 0 import,
  ``TotWhImp`` / ``TotWhExp``).

Scale factors are those a real device would choose (``ChaState`` in 0.1 %, ``Hz`` in 0.01 Hz,
``PhVphA`` in 0.1 V ...), so a reader that ignores them reads nonsense.

Writes to 124 steer the battery, as SunSpec describes it: ``StorCtl_Mod`` bit 0 set charges at
``InWRte`` % of ``WChaMax``, bit 1 set discharges at ``OutWRte`` % of it, neither returns the
inverter to self-consumption; both bits set run self-consumption with charging capped at
``InWRte`` % and discharging at ``OutWRte`` % (0/0 holds the battery: PV mode). ``ChaGriSet`` 0
lets a charging setpoint take surplus PV only. A value out of range (a rate beyond +-100 %, a
``WChaMax`` above the battery's rating) is refused with Modbus exception 3, a write to a
read-only register with exception 2 (protocols/modbus/server.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime

from voltfleet.protocols.modbus.server import RegisterBank
from voltfleet.protocols.sunspec import models as ss
from voltfleet.simulator.model import (
    Command,
    HomeSpec,
    HomeState,
    Mode,
    Step,
    StepInput,
    command,
    initial_state,
    step,
)

BASE = 40000
MANUFACTURER = "Voltfleet Simulated"
FIRMWARE = "2.4.1"
# Lifetime counters start here, as on a device that has run for a while (an acc32 of 0 reads as
# "not implemented" in SunSpec).
PV_START_WH = 1_250_000.0
IMPORT_START_WH = 3_400_000.0
EXPORT_START_WH = 980_000.0
NOMINAL_V = 230.0
BATTERY_V = 51.2


@dataclass
class Device:
    """One unit on the bus: its models (in order), the raw point values, its register bank."""

    unit_id: int
    serial: str
    models: list[tuple[int, dict[str, ss.Value]]]
    bank: RegisterBank = field(init=False)
    _at: dict[int, int] = field(init=False, default_factory=dict)  # model id -> index in regs

    def __post_init__(self) -> None:
        regs = ss.device_image(self.models)
        writable: set[int] = set()
        i = 2
        for model_id, _ in self.models:
            self._at[model_id] = i
            lay = ss.layout(model_id)
            for p in lay.points.values():
                if p.writable:
                    writable.update(range(BASE + i + p.offset, BASE + i + p.offset + p.size))
            i += 2 + lay.length
        self.bank = RegisterBank(BASE, regs, frozenset(writable))

    def set(self, model_id: int, raw: Mapping[str, ss.Value]) -> None:
        """Write raw point values into the registers."""
        at = self._at[model_id]
        lay = ss.layout(model_id)
        for name, v in raw.items():
            p = lay.point(name)
            words = ss.encode_raw(p, v)
            self.bank.regs[at + p.offset : at + p.offset + p.size] = words

    def get(self, model_id: int, name: str, regs: list[int] | None = None) -> ss.Value:
        """A point's scaled value (from ``regs``, a copy of the bank, when given)."""
        return ss.value(ss.layout(model_id), regs or self.bank.regs, name, self._at[model_id])

    def address(self, model_id: int, name: str) -> int:
        return BASE + self._at[model_id] + ss.layout(model_id).point(name).offset


def _common(name: str, serial: str, unit_id: int) -> tuple[int, dict[str, ss.Value]]:
    return 1, {
        "Mn": MANUFACTURER,
        "Md": name,
        "Opt": "",
        "Vr": FIRMWARE,
        "SN": serial,
        "DA": unit_id,
    }


def _controls() -> tuple[int, dict[str, ss.Value]]:
    """Immediate controls (123): connected, no output limit."""
    return 123, {
        "Conn": 1,
        "WMaxLimPct": 100,
        "WMaxLim_Ena": 0,
        "OutPFSet_Ena": 0,
        "VArPct_Ena": 0,
        "WMaxLimPct_SF": 0,
        "OutPFSet_SF": -3,
        "VArPct_SF": 0,
    }


def _inverter_103() -> tuple[int, dict[str, ss.Value]]:
    """Three-phase inverter (103): scale factors and what does not move."""
    values: dict[str, ss.Value] = {
        "A_SF": -2,
        "V_SF": -1,
        "W_SF": 0,
        "Hz_SF": -2,
        "VA_SF": 0,
        "VAr_SF": 0,
        "PF_SF": 0,
        "WH_SF": 0,
        "DCA_SF": -2,
        "DCV_SF": -1,
        "DCW_SF": 0,
        "Tmp_SF": -1,
        "St": 2,
        "Evt1": 0,
        "PF": 100,
        "VAr": 0,
    }
    return 103, values


def _der_capacity(
    wmax_w: float, charge_w: float, discharge_w: float
) -> tuple[int, dict[str, ss.Value]]:
    """DER capacity (702): the ratings and the settings (``WMax`` writable, = the rating)."""
    return 702, {
        "W_SF": 0,
        "PF_SF": -3,
        "VA_SF": 0,
        "Var_SF": 0,
        "V_SF": -1,
        "A_SF": -2,
        "S_SF": 0,
        "WMaxRtg": round(wmax_w),
        "VAMaxRtg": round(wmax_w),
        "WChaRteMaxRtg": round(charge_w),
        "WDisChaRteMaxRtg": round(discharge_w),
        "VNomRtg": _r(NOMINAL_V, -1),
        "VMaxRtg": _r(NOMINAL_V * 1.1, -1),
        "VMinRtg": _r(NOMINAL_V * 0.9, -1),
        "AMaxRtg": _r(wmax_w / NOMINAL_V, -2),
        "WMax": round(wmax_w),
        "VAMax": round(wmax_w),
        "VNom": _r(NOMINAL_V, -1),
    }


def _der_controls() -> list[tuple[int, dict[str, ss.Value]]]:
    """Enter service (703: ``ES`` 1, in service; 0 stops the inverter) and DER AC controls (704:
    no output limit, no power setpoint, no reactive power function; ``WMaxLimPct`` in 0.1 %, so
    a feed-in limit of 2.5 kW on 6 kW is 41.7 %)."""
    enter: dict[str, ss.Value] = {
        "ES": 1,
        "ESVHi": _r(NOMINAL_V * 1.1, -1),
        "ESVLo": _r(NOMINAL_V * 0.88, -1),
        "ESHzHi": _r(50.1, -2),
        "ESHzLo": _r(49.5, -2),
        "ESDlyTms": 300,
        "ESRndTms": 0,
        "ESRmpTms": 300,
        "ESDlyRemTms": 0,
        "V_SF": -1,
        "Hz_SF": -2,
    }
    return [(703, enter), (704, _DER_AC_CONTROLS)]


_DER_AC_CONTROLS: dict[str, ss.Value] = {
    "WMaxLimPctEna": 0,
    "WMaxLimPct": 1000,
    "WMaxLimPctRvrt": 1000,
    "WMaxLimPctEnaRvrt": 0,
    "WMaxLimPctRvrtTms": 0,
    "WSetEna": 0,
    "WSetMod": 0,
    "WSet": 0,
    "WSetPct": 0,
    "VarSetEna": 0,
    "PFWInjEna": 0,
    "PFWAbsEna": 0,
    "AntiIslEna": 1,
    "PF_SF": -3,
    "WMaxLimPct_SF": -1,
    "WSet_SF": 0,
    "WSetPct_SF": 0,
    "VarSet_SF": 0,
    "VarSetPct_SF": 0,
}


# DER AC measurement (701): scale factors and what does not move (a single-phase inverter)
_DER_AC_SF: dict[str, ss.Value] = {
    "A_SF": -2,
    "V_SF": -1,
    "Hz_SF": -2,
    "W_SF": 0,
    "PF_SF": -3,
    "VA_SF": 0,
    "Var_SF": 0,
    "TotWh_SF": 0,
    "TotVarh_SF": 0,
    "Tmp_SF": -1,
    "ACType": 0,
    "ConnSt": 1,
    "Alrm": 0,
    "PF": 1000,
    "Var": 0,
    "TotWhAbs": 0,
}

# DER DC measurement (714): the PV array's side, its ports not listed (NPrt 0)
_DER_DC_SF: dict[str, ss.Value] = {
    "NPrt": 0,
    "PrtAlrms": 0,
    "DCA_SF": -2,
    "DCV_SF": -1,
    "DCW_SF": 0,
    "DCWH_SF": 0,
    "Tmp_SF": -1,
}

# 704's functions this inverter does not have: enabling one is refused
_DER_UNSUPPORTED = ("WSetEna", "VarSetEna", "PFWInjEna", "PFWAbsEna")


def _r(x: float, sf: int) -> int:
    """A value as its raw register number at scale factor ``sf``."""
    return round(x / 10.0**sf)


class SunSpecHome:
    """The home model behind three SunSpec devices (unit ids ``first_unit`` .. +2)."""

    def __init__(
        self,
        spec: HomeSpec,
        serial_prefix: str,
        first_unit: int = 1,
        soc: float = 0.5,
        *,
        controls: bool = False,
        grid_charge_allowed: bool = True,
        der: bool = False,
    ):
        """``controls``: the inverter has immediate controls (model 123: ``Conn``,
        ``WMaxLimPct``); ``grid_charge_allowed`` False: it refuses ``ChaGriSet`` 1 (exception 3),
        as an inverter whose grid code forbids charging from the grid; ``der``: the inverter
        speaks the DER information model (701, 702, 714, 703, 704 in place of 103 and 123)."""
        if spec.battery is None:
            raise ValueError("a SunSpec home here has a battery (a hybrid inverter)")
        self.spec = spec
        self.battery = spec.battery
        self.state: HomeState = initial_state(spec, soc)
        self.last: Step | None = None
        b = self.battery
        kw = round(spec.pv.capacity_wp / 1000)
        self.wmax_w = float(spec.pv.inverter_ac_w or spec.pv.capacity_wp)
        self.der = der
        self.inverter = Device(
            first_unit,
            f"{serial_prefix}-INV",
            [
                _common(f"SIM-{'DER' if der else 'HYB'}-{kw}K", f"{serial_prefix}-INV", first_unit),
                *(
                    [
                        (701, _DER_AC_SF),
                        _der_capacity(self.wmax_w, b.max_charge_w, b.max_discharge_w),
                        (714, _DER_DC_SF),
                    ]
                    if der
                    else [_inverter_103()]
                ),
                (
                    124,
                    {
                        "WChaMax_SF": 0,
                        "WChaDisChaGra_SF": 0,
                        "VAChaMax_SF": 0,
                        "MinRsvPct_SF": 0,
                        "ChaState_SF": -1,
                        "StorAval_SF": -1,
                        "InBatV_SF": -1,
                        "InOutWRte_SF": -1,
                        "WChaMax": round(b.max_charge_w),
                        "WChaGra": 100,
                        "WDisChaGra": 100,
                        "StorCtl_Mod": 0,
                        "VAChaMax": round(b.max_charge_w),
                        "MinRsvPct": round(b.soc_min * 100),
                        "InWRte": 0,
                        "OutWRte": 0,
                        "InOutWRte_WinTms": 0,
                        "InOutWRte_RvrtTms": 0,
                        "InOutWRte_RmpTms": 0,
                        "ChaGriSet": 1 if grid_charge_allowed else 0,
                    },
                ),
                *(_der_controls() if der else [_controls()] if controls else []),
            ],
        )
        self.grid_charge_allowed = grid_charge_allowed
        kwh = round(b.capacity_wh / 1000, 1)
        self.battery_device = Device(
            first_unit + 1,
            f"{serial_prefix}-BAT",
            [
                _common(f"SIM-BAT-{kwh:g}", f"{serial_prefix}-BAT", first_unit + 1),
                (
                    802,
                    {
                        "AHRtg_SF": 0,
                        "WHRtg_SF": 0,
                        "WChaDisChaMax_SF": 0,
                        "DisChaRte_SF": 0,
                        "SoC_SF": -1,
                        "DoD_SF": 0,
                        "SoH_SF": 0,
                        "V_SF": -1,
                        "CellV_SF": -3,
                        "A_SF": -1,
                        "AMax_SF": 0,
                        "W_SF": 0,
                        "AHRtg": round(b.capacity_wh / BATTERY_V),
                        "WHRtg": round(b.capacity_wh),
                        "WChaRteMax": round(b.max_charge_w),
                        "WDisChaRteMax": round(b.max_discharge_w),
                        "SoCMax": _r(b.soc_max * 100, -1),
                        "SoCMin": _r(b.soc_min * 100, -1),
                        "SocRsvMax": _r(b.soc_max * 100, -1),
                        "SoCRsvMin": _r(b.soc_min * 100, -1),
                        "SoH": 98,
                        "NCyc": 212,
                        "ChaSt": 6,
                        "LocRemCtl": 1,
                        "Hb": 0,
                        "CtrlHb": 0,
                        "AlmRst": 0,
                        "Typ": 4,
                        "State": 3,
                        "SetOp": 1,
                        "SetInvState": 2,
                        "V": _r(BATTERY_V, -1),
                        "A": 0,
                        "W": 0,
                    },
                ),
            ],
        )
        self.meter = Device(
            first_unit + 2,
            f"{serial_prefix}-MTR",
            [
                _common("SIM-MTR-3P", f"{serial_prefix}-MTR", first_unit + 2),
                (
                    203,
                    {
                        "A_SF": -2,
                        "V_SF": -1,
                        "Hz_SF": -2,
                        "W_SF": 0,
                        "VA_SF": 0,
                        "VAR_SF": 0,
                        "PF_SF": 0,
                        "TotWh_SF": 0,
                        "TotVAh_SF": 0,
                        "TotVArh_SF": 0,
                        "Evt": 0,
                    },
                ),
            ],
        )
        self.inverter.bank.on_write = self._inverter_write
        self.battery_device.bank.on_write = self._battery_write
        self.meter.bank.on_write = lambda address, words: None  # only common DA is writable
        self._show(None)

    @property
    def devices(self) -> list[Device]:
        return [self.inverter, self.battery_device, self.meter]

    # ---- the model moves on -------------------------------------------------------------------

    def advance(self, inp: StepInput, ts: datetime, dt_s: float) -> Step:
        self.state, s = step(self.spec, self.state, inp, ts, dt_s)
        self.last = s
        self._show(s)
        return s

    def _show(self, s: Step | None) -> None:
        c = self.state.counters
        soc = self.state.stored_wh / self.battery.capacity_wh
        pv = s.pv_w if s else 0.0
        ac = s.ac_w if s else 0.0
        grid = s.grid_w if s else 0.0
        bat = s.battery_w if s else 0.0
        hz = 50.0 + (0.01 if int(c.pv_wh) % 3 == 0 else -0.01)
        a_ac = ac / NOMINAL_V
        if self.der:
            self._show_der(pv, ac, hz, PV_START_WH + c.pv_wh)
        else:
            self._show_10x(pv, ac, hz, a_ac, PV_START_WH + c.pv_wh)
        self._show_storage(soc, bat, grid, hz)

    def _show_der(self, pv: float, ac: float, hz: float, lifetime_wh: float) -> None:
        """701 with the values 103 would show (``TotWhInj`` is 103's ``WH``)."""
        a_ac = abs(ac) / NOMINAL_V
        throttled = self.state.ac_limit_w is not None and pv > 0
        self.inverter.set(
            701,
            {
                "St": 1 if pv > 0 else 0,
                "InvSt": (4 if throttled else 3) if pv > 0 else 1,
                "W": _r(ac, 0),
                "VA": _r(abs(ac), 0),
                "A": _r(a_ac, -2),
                "LNV": _r(NOMINAL_V, -1),
                "Hz": _r(hz, -2),
                "TotWhInj": _r(lifetime_wh, 0),
                "TmpCab": _r(30.0 + pv / 1000.0, -1),
                "WL1": _r(ac, 0),
                "VAL1": _r(abs(ac), 0),
                "AL1": _r(a_ac, -2),
                "VL1": _r(NOMINAL_V, -1),
                "TotWhInjL1": _r(lifetime_wh, 0),
                "ThrotPct": round(self._limit_pct()) if throttled else 0,
            },
        )
        self.inverter.set(714, {"DCW": _r(pv, 0), "DCA": _r(pv / 380.0, -2)})

    def _limit_pct(self) -> float:
        limit = self.state.ac_limit_w
        return 100.0 if limit is None else min(limit / self.wmax_w * 100, 100.0)

    def _show_10x(self, pv: float, ac: float, hz: float, a_ac: float, lifetime_wh: float) -> None:
        self.inverter.set(
            103,
            {
                "A": _r(abs(a_ac), -2),
                "AphA": _r(abs(a_ac), -2),
                "PhVphA": _r(NOMINAL_V, -1),
                "W": _r(ac, 0),
                "Hz": _r(hz, -2),
                "VA": _r(abs(ac), 0),
                "WH": _r(lifetime_wh, 0),
                "DCW": _r(pv, 0),
                "DCV": _r(380.0 if pv > 0 else 0.0, -1),
                "DCA": _r(pv / 380.0, -2),
                "TmpCab": _r(30.0 + pv / 1000.0, -1),
                "St": 4 if pv > 0 else 2,
            },
        )

    def _show_storage(self, soc: float, bat: float, grid: float, hz: float) -> None:
        c = self.state.counters
        self.inverter.set(
            124,
            {
                "ChaState": _r(soc * 100, -1),
                "InBatV": _r(BATTERY_V, -1),
                "StorAval": _r(max(self.state.stored_wh - self.battery.min_wh, 0) / BATTERY_V, -1),
                "ChaSt": 4 if bat > 0 else 3 if bat < 0 else 6,
            },
        )
        self.battery_device.set(
            802,
            {
                "SoC": _r(soc * 100, -1),
                "W": _r(-bat, 0),
                "A": _r(-bat / BATTERY_V, -1),
                "ChaSt": 4 if bat > 0 else 3 if bat < 0 else 6,
                "DoD": round((1 - soc) * 100),
            },
        )
        per = grid / 3
        self.meter.set(
            203,
            {
                "W": _r(grid, 0),
                "WphA": _r(per, 0),
                "WphB": _r(per, 0),
                "WphC": _r(per, 0),
                "A": _r(abs(grid) / NOMINAL_V, -2),
                "PhV": _r(NOMINAL_V, -1),
                "PhVphA": _r(NOMINAL_V, -1),
                "PhVphB": _r(NOMINAL_V, -1),
                "PhVphC": _r(NOMINAL_V, -1),
                "Hz": _r(hz, -2),
                "VA": _r(abs(grid), 0),
                "VAR": 0,
                "PF": 100,
                "TotWhImp": _r(IMPORT_START_WH + c.import_wh, 0),
                "TotWhExp": _r(EXPORT_START_WH + c.export_wh, 0),
            },
        )

    # ---- writes from a client -----------------------------------------------------------------

    def _inverter_write(self, address: int, words: list[int]) -> str | None:
        regs = list(self.inverter.bank.regs)
        lo = address - BASE
        regs[lo : lo + len(words)] = words

        def get(name: str) -> float:
            v = self.inverter.get(124, name, regs)
            return float(v) if isinstance(v, int | float) else 0.0

        if not 0 <= get("WChaMax") <= self.battery.max_charge_w:
            return f"WChaMax must be 0..{self.battery.max_charge_w:g} W"
        for name in ("InWRte", "OutWRte"):
            if not -100.0 <= get(name) <= 100.0:
                return f"{name} must be -100..100 %"
        mode = int(get("StorCtl_Mod"))
        if mode > 3:
            return "StorCtl_Mod takes bits 0 (charge) and 1 (discharge)"
        if not 0 <= get("MinRsvPct") <= 100:
            return "MinRsvPct must be 0..100 %"
        grid = int(get("ChaGriSet"))
        if grid not in (0, 1):
            return "ChaGriSet takes 0 (PV) or 1 (grid)"
        if grid == 1 and not self.grid_charge_allowed:
            return "grid charging is not permitted on this inverter (ChaGriSet must be 0)"
        state = replace(self.state, grid_charge=grid == 1)
        if 123 in self.inverter._at:
            why = self._controls_write(regs)
            if why is not None:
                return why
            on = self.inverter.get(123, "Conn", regs) == 1
            ena = self.inverter.get(123, "WMaxLim_Ena", regs) == 1
            pct = self.inverter.get(123, "WMaxLimPct", regs)
            capped = ena and isinstance(pct, int | float)
            limit_w = self.wmax_w * float(pct or 0) / 100 if capped else None
            state = replace(state, inverter_on=on, ac_limit_w=limit_w)
        if 704 in self.inverter._at:
            why = self._der_write(regs)
            if why is not None:
                return why
            ena = self.inverter.get(704, "WMaxLimPctEna", regs) == 1
            pct = self.inverter.get(704, "WMaxLimPct", regs)
            wmax = self.inverter.get(702, "WMax", regs)
            der_limit_w = None
            if ena and isinstance(pct, int | float) and isinstance(wmax, int | float):
                der_limit_w = float(wmax) * float(pct) / 100
            on = self.inverter.get(703, "ES", regs) == 1
            state = replace(state, inverter_on=on, ac_limit_w=der_limit_w)
        self.state = state
        limit = get("WChaMax")
        if mode == 3:  # both limits: self-consumption within InWRte / OutWRte % of WChaMax
            cmd = Command(
                Mode.SELF_CONSUMPTION,
                charge_cap_w=limit * get("InWRte") / 100.0,
                discharge_cap_w=limit * get("OutWRte") / 100.0,
            )
        elif mode & 1:
            cmd = Command(Mode.SETPOINT, limit * get("InWRte") / 100.0)
        elif mode & 2:
            cmd = Command(Mode.SETPOINT, -limit * get("OutWRte") / 100.0)
        else:
            cmd = Command(Mode.SELF_CONSUMPTION)
        self.state = command(self.state, cmd)
        return None

    def _controls_write(self, regs: list[int]) -> str | None:
        """Model 123's points checked (None: acceptable)."""
        for name in ("Conn", "WMaxLim_Ena"):
            if self.inverter.get(123, name, regs) not in (0, 1):
                return f"{name} takes 0 or 1"
        pct = self.inverter.get(123, "WMaxLimPct", regs)
        if not isinstance(pct, float | int) or not 0 <= pct <= 100:
            return "WMaxLimPct must be 0..100 %"
        return None

    def _der_write(self, regs: list[int]) -> str | None:
        """Models 702, 703 and 704's points checked (None: acceptable)."""
        if self.inverter.get(703, "ES", regs) not in (0, 1):
            return "ES takes 0 (cease to energize) or 1 (enter service)"
        if self.inverter.get(704, "WMaxLimPctEna", regs) not in (0, 1):
            return "WMaxLimPctEna takes 0 or 1"
        pct = self.inverter.get(704, "WMaxLimPct", regs)
        if not isinstance(pct, float | int) or not 0 <= pct <= 100:
            return "WMaxLimPct must be 0..100 %"
        for name in _DER_UNSUPPORTED:
            if self.inverter.get(704, name, regs) != 0:
                return f"{name}: this inverter has no such function (it takes 0)"
        wmax = self.inverter.get(702, "WMax", regs)
        if not isinstance(wmax, float | int) or not 0 < wmax <= self.wmax_w:
            return f"WMax must be 1..{self.wmax_w:g} W (WMaxRtg)"
        return None

    def _battery_write(self, address: int, words: list[int]) -> str | None:
        regs = list(self.battery_device.bank.regs)
        lo = address - BASE
        regs[lo : lo + len(words)] = words
        for name in ("SocRsvMax", "SoCRsvMin"):
            v = self.battery_device.get(802, name, regs)
            if isinstance(v, int | float) and not 0 <= v <= 100:
                return f"{name} must be 0..100 %"
        return None
