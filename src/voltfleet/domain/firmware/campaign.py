"""An upgrade campaign over many devices, advanced one pure step at a time.

The knobs are those of the rollout systems fleet operators trust (learnt from Eclipse hawkBit's
rollout groups with success and error conditions, and AWS IoT Jobs' rollout rate, abort criteria
and timeouts), fitted to home energy devices:

- **waves**: the devices, in the order given, fall into waves; the first holds ``first_wave``
  devices (or ``first_wave_percent`` of them), each later one ``wave_growth`` times the one
  before. A wave may start once the wave before it reached ``success_threshold`` (the fraction
  of its devices that succeeded).
- **error threshold**: when at least ``min_finished`` devices finished (succeeded or failed) and
  the fraction that failed reaches ``error_threshold``, the campaign pauses; nothing starts while
  it is paused. After the operator resumes it, the threshold applies afresh to the devices that
  finish from then on (the operator has seen and accepted the failures before).
- **rate**: at most ``max_starts_per_minute`` devices start in any minute.
- **maintenance window**: devices start only while their site's local hour is in
  ``[window_start_hour, window_end_hour)`` (it may wrap midnight; ``None`` = any time).
- **per-device timeout**: a device that started and has not succeeded ``device_timeout`` later
  failed ("never returned").
- **offline at its turn**: a device that is offline when it would start is tried again
  ``offline_retry`` later, not failed; after ``max_offline_attempts`` it is skipped.

A device's progress: ``pending`` -> ``sent`` (the command was queued for it) -> ``downloading``
-> ``installing`` -> ``rebooting`` -> ``succeeded`` once it reports the target version (a device
may skip steps; it may also report the version directly). ``failed`` with a reason, or
``skipped`` (offline too long, cancelled before it started, already on the version).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo


class RunState(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    DOWNLOADING = "downloading"
    INSTALLING = "installing"
    REBOOTING = "rebooting"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    SKIPPED = "skipped"


ACTIVE = frozenset({RunState.SENT, RunState.DOWNLOADING, RunState.INSTALLING, RunState.REBOOTING})
FINAL = frozenset({RunState.SUCCEEDED, RunState.FAILED, RunState.SKIPPED})
# The order progress moves in: a report never moves a device back.
_ORDER = {
    RunState.PENDING: 0,
    RunState.SENT: 1,
    RunState.DOWNLOADING: 2,
    RunState.INSTALLING: 3,
    RunState.REBOOTING: 4,
}


class CampaignState(StrEnum):
    SCHEDULED = "scheduled"  # waiting for its start time
    RUNNING = "running"
    PAUSED = "paused"  # by the error threshold, a stalled wave, or the operator
    FINISHED = "finished"  # every device succeeded, failed or was skipped
    CANCELLED = "cancelled"


class CampaignError(ValueError):
    """A policy or an operation that is not allowed; ``field`` names the input at fault."""

    def __init__(self, message: str, field: str = "policy") -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Policy:
    first_wave: int | None = 1
    first_wave_percent: float | None = None  # 0 < p <= 100; instead of first_wave
    wave_growth: float = 2.0
    success_threshold: float = 0.9  # 0..1 of a wave's devices succeeded before the next starts
    error_threshold: float = 0.2  # 0..1 of finished devices failed -> pause
    min_finished: int = 5  # finished devices before the error threshold may pause
    max_starts_per_minute: int | None = None
    window_start_hour: int | None = None  # local hour 0..23, with window_end_hour
    window_end_hour: int | None = None
    device_timeout: timedelta = timedelta(hours=2)
    offline_retry: timedelta = timedelta(minutes=30)
    max_offline_attempts: int = 48

    def check(self) -> Policy:
        """The policy itself, or ``CampaignError`` naming the knob at fault."""
        if self.first_wave_percent is not None:
            if not 0 < self.first_wave_percent <= 100:
                raise CampaignError("first_wave_percent must be in (0, 100]", "first_wave_percent")
        elif self.first_wave is None or self.first_wave < 1:
            raise CampaignError("first_wave must be at least 1 device", "first_wave")
        if not (math.isfinite(self.wave_growth) and 1 <= self.wave_growth <= 100):
            raise CampaignError("wave_growth must be 1..100", "wave_growth")
        for name in ("success_threshold", "error_threshold"):
            value = getattr(self, name)
            if not (math.isfinite(value) and 0 <= value <= 1):
                raise CampaignError(f"{name} must be a fraction 0..1", name)
        if self.min_finished < 1:
            raise CampaignError("min_finished must be at least 1", "min_finished")
        if self.max_starts_per_minute is not None and self.max_starts_per_minute < 1:
            raise CampaignError("max_starts_per_minute must be at least 1", "max_starts_per_minute")
        hours = (self.window_start_hour, self.window_end_hour)
        if (hours[0] is None) != (hours[1] is None):
            raise CampaignError("give both window hours or neither", "window_start_hour")
        if (
            hours[0] is not None
            and hours[1] is not None
            and not (0 <= hours[0] <= 23 and 0 <= hours[1] <= 24 and hours[0] != hours[1])
        ):
            raise CampaignError(
                "window hours must be 0..23 (start) and 0..24 (end), not equal",
                "window_start_hour",
            )
        if not timedelta(minutes=1) <= self.device_timeout <= timedelta(days=7):
            raise CampaignError("device_timeout must be 1 minute to 7 days", "device_timeout_s")
        if not timedelta(seconds=10) <= self.offline_retry <= timedelta(days=1):
            raise CampaignError("offline_retry must be 10 s to 1 day", "offline_retry_s")
        if self.max_offline_attempts < 1:
            raise CampaignError("max_offline_attempts must be at least 1", "max_offline_attempts")
        return self


def wave_sizes(total: int, policy: Policy) -> list[int]:
    """How many devices each wave holds (they add up to ``total``)."""
    if total <= 0:
        return []
    if policy.first_wave_percent is not None:
        first = max(1, math.ceil(total * policy.first_wave_percent / 100))
    else:
        first = max(1, policy.first_wave or 1)
    sizes: list[int] = []
    size = float(first)
    left = total
    while left > 0:
        n = min(left, max(1, math.ceil(size)))
        sizes.append(n)
        left -= n
        size *= policy.wave_growth
    return sizes


def waves_of(total: int, policy: Policy) -> list[int]:
    """The wave index of each of ``total`` devices, in order."""
    out: list[int] = []
    for i, n in enumerate(wave_sizes(total, policy)):
        out += [i] * n
    return out


@dataclass(frozen=True)
class Run:
    """One device's part in a campaign."""

    device_id: str
    wave: int
    zone: str = "UTC"  # the device's site zone (for the maintenance window)
    state: RunState = RunState.PENDING
    started_at: datetime | None = None
    updated_at: datetime | None = None
    next_try_at: datetime | None = None  # an offline device's next turn
    offline_attempts: int = 0
    message: str = ""


@dataclass(frozen=True)
class Campaign:
    state: CampaignState
    policy: Policy
    start_at: datetime  # reserved time (or creation time for "now")
    unlocked_wave: int = 0  # highest wave that may start
    failed_baseline: int = 0  # failed count when the operator last resumed
    finished_baseline: int = 0
    reason: str = ""  # why it paused


@dataclass(frozen=True)
class Stats:
    pending: int = 0
    running: int = 0
    succeeded: int = 0
    failed: int = 0
    skipped: int = 0

    @property
    def finished(self) -> int:
        return self.succeeded + self.failed


def stats(runs: Iterable[Run]) -> Stats:
    p = r = s = f = k = 0
    for run in runs:
        if run.state is RunState.PENDING:
            p += 1
        elif run.state in ACTIVE:
            r += 1
        elif run.state is RunState.SUCCEEDED:
            s += 1
        elif run.state is RunState.FAILED:
            f += 1
        else:
            k += 1
    return Stats(p, r, s, f, k)


@dataclass(frozen=True)
class Step:
    """What ``advance`` decided: the campaign and runs after it, and the devices to start now
    (their runs are already ``sent``: the caller queues their commands)."""

    campaign: Campaign
    runs: list[Run]
    started: list[str]
    changed: list[Run]


def in_window(policy: Policy, zone: str, now: datetime) -> bool:
    start, end = policy.window_start_hour, policy.window_end_hour
    if start is None or end is None:
        return True
    try:
        hour = now.astimezone(ZoneInfo(zone)).hour
    except (KeyError, ValueError):
        hour = now.hour  # an unknown zone: UTC hours (the zone was checked when the site was made)
    return start <= hour < end if start < end else hour >= start or hour < end


def _error_pause(c: Campaign, s: Stats) -> str | None:
    failed = s.failed - c.failed_baseline
    finished = s.finished - c.finished_baseline
    if finished >= max(1, c.policy.min_finished) and failed > 0:  # noqa: SIM102
        if failed / finished >= c.policy.error_threshold:
            return (
                f"paused: {failed} of {finished} finished devices failed, at or above the error "
                f"threshold of {c.policy.error_threshold:.0%}"
            )
    return None


def _wave_done(runs: Sequence[Run], wave: int, policy: Policy) -> tuple[bool, bool]:
    """(reached the success threshold, every device of the wave is final)."""
    members = [r for r in runs if r.wave == wave]
    if not members:
        return True, True
    ok = sum(1 for r in members if r.state is RunState.SUCCEEDED)
    final = all(r.state in FINAL for r in members)
    return ok >= policy.success_threshold * len(members), final


def advance(
    c: Campaign,
    runs: Sequence[Run],
    now: datetime,
    online: Callable[[str], bool],
    max_starts: int | None = None,
) -> Step:
    """One step of the campaign as of ``now``: time-outs, the pause rules, then as many starts
    as the waves, the window and the rate allow (and at most ``max_starts``: the caller's batch;
    the rest start at the next step). ``online(device_id)`` says whether a device is reachable
    now."""
    out = list(runs)
    changed: dict[int, Run] = {}

    def put(i: int, run: Run) -> None:
        out[i] = run
        changed[i] = run

    if c.state in (CampaignState.FINISHED, CampaignState.CANCELLED):
        return Step(c, out, [], [])
    # Devices that never came back fail whatever the campaign's state (their time ran out).
    for i, run in enumerate(out):
        timed_out = run.started_at is not None and now >= run.started_at + c.policy.device_timeout
        if run.state in ACTIVE and timed_out:
            put(i, _fail(run, now, "no success report within the per-device timeout"))
    if c.state is CampaignState.SCHEDULED:
        if now < c.start_at:
            return Step(c, out, [], list(changed.values()))
        c = replace(c, state=CampaignState.RUNNING)
    s = stats(out)
    if c.state is CampaignState.RUNNING:
        why = _error_pause(c, s)
        if why:
            c = replace(c, state=CampaignState.PAUSED, reason=why)
    if c.state is CampaignState.RUNNING:
        last_wave = max((r.wave for r in out), default=0)
        while c.unlocked_wave < last_wave:
            ok, final = _wave_done(out, c.unlocked_wave, c.policy)
            if ok:
                c = replace(c, unlocked_wave=c.unlocked_wave + 1)
                continue
            if final:
                c = replace(
                    c,
                    state=CampaignState.PAUSED,
                    reason=(
                        f"paused: wave {c.unlocked_wave + 1} finished below the success "
                        f"threshold of {c.policy.success_threshold:.0%}"
                    ),
                )
            break
    started: list[str] = []
    if c.state is CampaignState.RUNNING:
        budget = _rate_budget(c.policy, out, now)
        if max_starts is not None:
            budget = min(budget, max_starts)
        for i, run in enumerate(out):
            if budget <= 0:
                break
            if run.state is not RunState.PENDING or run.wave > c.unlocked_wave:
                continue
            if run.next_try_at is not None and now < run.next_try_at:
                continue
            if not in_window(c.policy, run.zone, now):
                continue
            if not online(run.device_id):
                attempts = run.offline_attempts + 1
                if attempts >= c.policy.max_offline_attempts:
                    put(
                        i,
                        replace(
                            run,
                            state=RunState.SKIPPED,
                            offline_attempts=attempts,
                            updated_at=now,
                            message=f"offline at each of its {attempts} turns",
                        ),
                    )
                else:
                    put(
                        i,
                        replace(
                            run,
                            offline_attempts=attempts,
                            next_try_at=now + c.policy.offline_retry,
                            updated_at=now,
                            message="offline at its turn: tried again later",
                        ),
                    )
                continue
            put(
                i,
                replace(
                    run,
                    state=RunState.SENT,
                    started_at=now,
                    updated_at=now,
                    next_try_at=None,
                    message="",
                ),
            )
            started.append(run.device_id)
            budget -= 1
    if c.state in (CampaignState.RUNNING, CampaignState.PAUSED) and all(
        r.state in FINAL for r in out
    ):
        c = replace(c, state=CampaignState.FINISHED, reason="")
    return Step(c, out, started, list(changed.values()))


def _rate_budget(policy: Policy, runs: Sequence[Run], now: datetime) -> int:
    if policy.max_starts_per_minute is None:
        return len(runs)
    minute_ago = now - timedelta(minutes=1)
    recent = sum(1 for r in runs if r.started_at is not None and r.started_at > minute_ago)
    return max(0, policy.max_starts_per_minute - recent)


def _fail(run: Run, now: datetime, message: str) -> Run:
    return replace(run, state=RunState.FAILED, updated_at=now, message=message[:500])


def report(
    run: Run, state: str, version: str, target_version: str, now: datetime, message: str = ""
) -> Run:
    """A device's progress report. ``state`` is one of downloading, installing, rebooting,
    running (the device runs ``version``) or failed. Reporting the target version is success
    whatever the state; a report after the run is final changes nothing (a late duplicate)."""
    if run.state in FINAL:
        return run
    if version and version == target_version and state != "failed":
        return replace(run, state=RunState.SUCCEEDED, updated_at=now, message=message[:500])
    if state == "failed":
        return _fail(run, now, message or "the device reported a failure")
    try:
        to = RunState(state)
    except ValueError:
        to = None
    if to in (RunState.DOWNLOADING, RunState.INSTALLING, RunState.REBOOTING):
        assert to is not None
        if _ORDER[to] >= _ORDER[run.state]:
            return replace(
                run,
                state=to,
                started_at=run.started_at or now,
                updated_at=now,
                message=message[:500],
            )
        return run
    if state == "running" and version:
        # Back on a version that is not the target (for example a rollback after a failed
        # install): the upgrade did not take.
        return _fail(
            run, now, message or f"the device came back on {version}, not {target_version}"
        )
    return run


REPORT_STATES = frozenset({"downloading", "installing", "rebooting", "running", "failed"})


# ---- operator decisions -------------------------------------------------------------------------


def pause(c: Campaign, reason: str = "paused by the operator") -> Campaign:
    if c.state not in (CampaignState.RUNNING, CampaignState.SCHEDULED):
        raise CampaignError(f"a {c.state.value} campaign cannot be paused", "state")
    return replace(c, state=CampaignState.PAUSED, reason=reason)


def resume(c: Campaign, runs: Sequence[Run]) -> Campaign:
    """The operator's decision to go on: the failures so far are accepted (the error threshold
    counts afresh), and the wave that stalled releases the next one."""
    if c.state is not CampaignState.PAUSED:
        raise CampaignError(f"a {c.state.value} campaign cannot be resumed", "state")
    s = stats(runs)
    started_waves = [r.wave for r in runs if r.state is not RunState.PENDING]
    unlocked = c.unlocked_wave
    if started_waves and max(started_waves) >= unlocked:
        ok, final = _wave_done(runs, unlocked, c.policy)
        if not ok and final:
            unlocked += 1
    return replace(
        c,
        state=CampaignState.RUNNING,
        failed_baseline=s.failed,
        finished_baseline=s.finished,
        unlocked_wave=unlocked,
        reason="",
    )


def cancel(c: Campaign, runs: Sequence[Run], now: datetime) -> tuple[Campaign, list[Run]]:
    """Stop: devices not started are skipped; those under way finish on their own (an upgrade
    cannot be called back from a device) and still report."""
    if c.state in (CampaignState.FINISHED, CampaignState.CANCELLED):
        raise CampaignError(f"a {c.state.value} campaign cannot be cancelled", "state")
    out = [
        replace(r, state=RunState.SKIPPED, updated_at=now, message="cancelled before it started")
        if r.state is RunState.PENDING
        else r
        for r in runs
    ]
    return replace(c, state=CampaignState.CANCELLED, reason="cancelled by the operator"), out


def deletable(c: Campaign, runs: Sequence[Run]) -> bool:
    """A task may be deleted while no device has started."""
    return all(
        r.state is RunState.PENDING or r.state is RunState.SKIPPED for r in runs
    ) and not any(r.started_at for r in runs)
