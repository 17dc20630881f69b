"""Firmware upgrade campaigns: create a task, advance it as time passes, take the devices'
progress reports, and the operator's decisions (pause, resume, cancel, delete).

The rules are pure (``domain.firmware.campaign``); this module loads a task through the
``FirmwareRepository`` it declares (``store/firmware_repository.py``), applies a step and hands
the devices to start to the ``FirmwareDelivery`` (``app/firmware/delivery.py`` queues a
``firmware_update`` command on the command channel). Callers check permissions and scope;
nothing here commits (the caller's unit of work does).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from voltfleet.domain.firmware import campaign as fc
from voltfleet.domain.firmware.campaign import Campaign, CampaignError, CampaignState, Policy, Run
from voltfleet.usecases.errors import Conflict, Invalid, NotFound

# The delayed job that steps one task; each step defers the next (at the reserved start, or
# every ADVANCE_EVERY_S while devices are under way), so no periodic job polls idle tasks.
ADVANCE_TASK_JOB = "firmware-task"
ADVANCE_EVERY_S = 15.0
# Devices started in one step at most (each queues a command in the step's transaction); a
# larger wave goes on at the next step (benchmarks/bench_firmware.py).
MAX_STARTS_PER_STEP = 500


@dataclass(frozen=True)
class Target:
    """What a task installs."""

    release_id: str
    version: str
    firmware_type: str
    sha256: str
    size_bytes: int


@dataclass(frozen=True)
class Snapshot:
    task_id: str
    campaign: Campaign
    runs: list[Run]
    target: Target


class FirmwareRepository(Protocol):
    def movable_tasks(self, now: datetime) -> list[str]:
        """Ids of tasks that a step may change now (scheduled and due, running, or paused with
        devices under way)."""
        ...

    def load(self, task_id: str, *, lock: bool = False) -> Snapshot | None: ...

    def save(self, task_id: str, campaign: Campaign, runs: Sequence[Run]) -> None:
        """Store the campaign and these runs (matched by device id)."""
        ...

    def online(self, device_ids: Sequence[str]) -> set[str]: ...

    def set_commands(self, task_id: str, commands: dict[str, str]) -> None:
        """Remember each started device's command (device id -> command id)."""
        ...

    def refused_commands(self, task_id: str) -> dict[str, str]:
        """Devices under way whose firmware_update command failed or expired: the reason by
        device id (the gateway refused it, or it never reached the gateway)."""
        ...

    def active_run(self, device_id: str, release_id: str) -> str | None:
        """The task in which this device is upgrading to this release (or None)."""
        ...

    def record_version(
        self, device_id: str, firmware_type: str, version: str, now: datetime
    ) -> None: ...


class FirmwareDelivery(Protocol):
    def send(
        self, device_ids: Sequence[str], target: Target, now: datetime, ttl: timedelta
    ) -> dict[str, str]:
        """Queue the ``firmware_update`` command for each device: command ids by device id (a
        device it cannot reach, with no gateway above it, is left out)."""
        ...


def policy_from(data: dict[str, Any]) -> Policy:
    """A policy from its stored/JSON form (seconds for durations), checked."""
    known = {
        "first_wave",
        "first_wave_percent",
        "wave_growth",
        "success_threshold",
        "error_threshold",
        "min_finished",
        "max_starts_per_minute",
        "window_start_hour",
        "window_end_hour",
        "device_timeout_s",
        "offline_retry_s",
        "max_offline_attempts",
    }
    extra = sorted(set(data) - known)
    if extra:
        raise Invalid(
            f"unknown campaign setting(s): {', '.join(extra)}",
            [{"field": extra[0], "message": f"known: {', '.join(sorted(known))}"}],
        )
    args: dict[str, Any] = {k: v for k, v in data.items() if not k.endswith("_s") and v is not None}
    if data.get("first_wave_percent") is not None:
        args["first_wave"] = None
    try:
        if data.get("device_timeout_s") is not None:
            args["device_timeout"] = timedelta(seconds=float(data["device_timeout_s"]))
        if data.get("offline_retry_s") is not None:
            args["offline_retry"] = timedelta(seconds=float(data["offline_retry_s"]))
        return Policy(**args).check()
    except CampaignError as exc:
        raise Invalid(str(exc), [{"field": exc.field, "message": str(exc)}]) from exc
    except (TypeError, ValueError, OverflowError) as exc:
        raise Invalid(f"campaign settings: {exc}") from exc


def policy_json(p: Policy) -> dict[str, Any]:
    return {
        "first_wave": p.first_wave,
        "first_wave_percent": p.first_wave_percent,
        "wave_growth": p.wave_growth,
        "success_threshold": p.success_threshold,
        "error_threshold": p.error_threshold,
        "min_finished": p.min_finished,
        "max_starts_per_minute": p.max_starts_per_minute,
        "window_start_hour": p.window_start_hour,
        "window_end_hour": p.window_end_hour,
        "device_timeout_s": p.device_timeout.total_seconds(),
        "offline_retry_s": p.offline_retry.total_seconds(),
        "max_offline_attempts": p.max_offline_attempts,
    }


@dataclass(frozen=True)
class StepResult:
    started: list[str]
    next_at: datetime | None  # when the task wants its next step (None: it is done)


def next_step_at(c: Campaign, runs: Sequence[Run], now: datetime) -> datetime | None:
    """A scheduled task at its start; a running one, or one with devices under way (their
    timeouts), shortly; a finished, cancelled or paused one with nothing under way never."""
    if c.state is CampaignState.SCHEDULED:
        return c.start_at
    if c.state is CampaignState.RUNNING or any(r.state in fc.ACTIVE for r in runs):
        return now + timedelta(seconds=ADVANCE_EVERY_S)
    return None


def step(
    repo: FirmwareRepository, delivery: FirmwareDelivery, task_id: str, now: datetime
) -> StepResult:
    """Advance one task as of ``now``: the devices started and when to step again."""
    snap = repo.load(task_id, lock=True)
    if snap is None:
        return StepResult([], None)
    refused = repo.refused_commands(task_id)
    runs = [
        fc.report(r, "failed", "", snap.target.version, now, refused[r.device_id])
        if r.state in fc.ACTIVE and r.device_id in refused
        else r
        for r in snap.runs
    ]
    if refused:
        repo.save(task_id, snap.campaign, [r for r in runs if r.device_id in refused])
    online = repo.online([r.device_id for r in runs if r.state is fc.RunState.PENDING])
    result = fc.advance(snap.campaign, runs, now, lambda d: d in online, MAX_STARTS_PER_STEP)
    if result.campaign != snap.campaign or result.changed:
        repo.save(task_id, result.campaign, result.changed)
    # The command lives as long as the device may take (it is refused by the gateway later).
    ttl = min(max(result.campaign.policy.device_timeout, timedelta(minutes=5)), timedelta(days=2))
    sent = delivery.send(result.started, snap.target, now, ttl) if result.started else {}
    unreachable = [d for d in result.started if d not in sent]
    repo.set_commands(task_id, sent)
    if unreachable:
        gone = set(unreachable)
        why: dict[str, str] = getattr(delivery, "refusals", {})  # a delivery may say why
        failed = [
            fc.report(
                r,
                "failed",
                "",
                snap.target.version,
                now,
                why.get(r.device_id, "no gateway above the device"),
            )
            for r in result.runs
            if r.device_id in gone
        ]
        repo.save(task_id, result.campaign, failed)
    return StepResult(result.started, next_step_at(result.campaign, result.runs, now))


def advance_all(repo: FirmwareRepository, delivery: FirmwareDelivery, now: datetime) -> int:
    """The periodic job: step every task that may move. Returns the devices started."""
    return sum(len(step(repo, delivery, t, now).started) for t in repo.movable_tasks(now))


def report_progress(
    repo: FirmwareRepository,
    device_id: str,
    release_id: str,
    state: str,
    version: str,
    message: str,
    now: datetime,
    firmware_type: str | None = None,
) -> str | None:
    """A device's progress report (already tied to a device under the reporting gateway).
    Records a reported version; moves the device's run in the task upgrading it to this
    release. Returns the task id, or None when no task was waiting for this report (the version
    is still recorded)."""
    if state not in fc.REPORT_STATES:
        known = ", ".join(sorted(fc.REPORT_STATES))
        raise Invalid(f"state must be one of {known}", [{"field": "state", "message": known}])
    task_id = repo.active_run(device_id, release_id) if release_id else None
    snap = repo.load(task_id, lock=True) if task_id else None
    if version and state in ("running", "installing", "rebooting", "downloading"):
        ftype = firmware_type or (snap.target.firmware_type if snap else None)
        if ftype and state == "running":
            repo.record_version(device_id, ftype, version, now)
    if snap is None or task_id is None:
        return None
    for run in snap.runs:
        if run.device_id == device_id:
            after = fc.report(run, state, version, snap.target.version, now, message)
            if after != run:
                repo.save(task_id, snap.campaign, [after])
            break
    return task_id


def _snapshot(repo: FirmwareRepository, task_id: str) -> Snapshot:
    snap = repo.load(task_id, lock=True)
    if snap is None:
        raise NotFound("firmware task")
    return snap


def pause(repo: FirmwareRepository, task_id: str) -> Campaign:
    snap = _snapshot(repo, task_id)
    try:
        c = fc.pause(snap.campaign)
    except CampaignError as exc:
        raise Conflict(str(exc)) from exc
    repo.save(task_id, c, [])
    return c


def resume(repo: FirmwareRepository, task_id: str) -> Campaign:
    snap = _snapshot(repo, task_id)
    try:
        c = fc.resume(snap.campaign, snap.runs)
    except CampaignError as exc:
        raise Conflict(str(exc)) from exc
    repo.save(task_id, c, [])
    return c


def cancel(repo: FirmwareRepository, task_id: str, now: datetime) -> Campaign:
    snap = _snapshot(repo, task_id)
    try:
        c, runs = fc.cancel(snap.campaign, snap.runs, now)
    except CampaignError as exc:
        raise Conflict(str(exc)) from exc
    repo.save(task_id, c, runs)
    return c


def check_deletable(repo: FirmwareRepository, task_id: str) -> None:
    snap = _snapshot(repo, task_id)
    if snap.campaign.state is CampaignState.RUNNING or not fc.deletable(snap.campaign, snap.runs):
        raise Conflict(
            "the task has started: cancel it instead (devices under way finish on their own)"
        )
