"""Power management over HTTP: what comes in and what goes out."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from voltfleet.domain.power.modes import Mode
from voltfleet.domain.power.tree import GridType

HHMM = r"^([01]\d|2[0-3]):[0-5]\d$"
ROTATION = r"^(123|231|312|132|213|321)$"


class SetupIn(BaseModel):
    """The setup flow: a meter (or none), the grid connection, the main fuse."""

    model_config = ConfigDict(extra="forbid")
    grid_type: GridType
    main_fuse_a: float = Field(gt=0, le=4000, description="the building's main fuse, per phase")
    meter_device_id: str | None = Field(
        default=None, description="a device of the site that measures the main connection"
    )


class SettingsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    mode: Mode | None = None
    solar_backup_s: float | None = Field(default=None, ge=0, le=86400)
    min_solar_share: float | None = Field(
        default=None, ge=0, le=1, description="smart solar: minimum charge threshold, 0..1"
    )
    meter_stale_s: float | None = Field(default=None, ge=5, le=3600)
    raise_hold_s: float | None = Field(default=None, ge=0, le=3600)


class GroupIn(BaseModel):
    """A group. ``peak_start``/``peak_end`` (local "HH:MM") limit peak shaving to a window."""

    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(default=None, max_length=100)
    parent_id: str | None = None
    fuse_a: float | None = Field(default=None, gt=0, le=4000)
    meter_device_id: str | None = None
    fallback_a: float | None = Field(default=None, ge=0, le=4000)
    peak_current_a: float | None = Field(default=None, ge=0, le=4000)
    peak_power_kw: float | None = Field(default=None, ge=0, le=10000)
    peak_start: str | None = Field(default=None, pattern=HHMM)
    peak_end: str | None = Field(default=None, pattern=HHMM)


class ConnectorIn(BaseModel):
    """A connector placed in a group: its phase rotation (grid phases of its L1 L2 L3, e.g.
    "231"), maximum current and priority."""

    model_config = ConfigDict(extra="forbid")
    group_id: str
    rotation: str = Field(default="123", pattern=ROTATION)
    max_current_a: float | None = Field(default=None, ge=0, le=1000)
    priority: int = Field(default=0, ge=0, le=10)


class GroupOut(BaseModel):
    id: str
    name: str
    parent_id: str | None
    fuse_a: float
    meter_device_id: str | None
    fallback_a: float | None
    peak_current_a: float | None
    peak_power_kw: float | None
    peak_start: str | None
    peak_end: str | None
    cap_a: list[float] = Field(description="what its chargers may draw now, per grid phase")
    allocated_a: list[float] = Field(description="what they were given, per grid phase")
    measured_a: list[float] | None = Field(description="its meter's newest current per phase")
    others_a: list[float] | None = Field(description="consumers other than the chargers")
    meter_stale: bool


class ConnectorOut(BaseModel):
    connector_id: str
    charger_id: str
    charger_serial: str
    connector_no: int
    group_id: str | None
    rotation: str | None
    max_current_a: float
    priority: int
    status: str
    wants_current: bool
    phases: int | None
    target_a: float | None = Field(description="the allocation's current per phase")
    applied_a: float | None = Field(description="after the hold time on raises")
    sent_a: float | None = Field(description="what the charger accepted last")
    fallback_a: float | None


class PowerOut(BaseModel):
    site_id: str
    configured: bool
    grid_type: GridType | None = None
    mode: Mode | None = None
    solar_backup_s: float | None = None
    min_solar_share: float | None = None
    meter_stale_s: float | None = None
    raise_hold_s: float | None = None
    surplus_w: float | None = None
    paused: list[str] = []
    groups: list[GroupOut] = []
    connectors: list[ConnectorOut] = []
