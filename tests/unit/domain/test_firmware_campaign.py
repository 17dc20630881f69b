"""The campaign core: waves, thresholds, rate, window, timeouts, offline retries, and a
200-device fleet with injected failures that pauses itself."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from voltfleet.domain.firmware import campaign as fc
from voltfleet.domain.firmware.campaign import CampaignState, Policy, Run, RunState

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
TARGET = "10.00"


def make(n: int, policy: Policy, start_at: datetime = T0) -> tuple[fc.Campaign, list[Run]]:
    waves = fc.waves_of(n, policy.check())
    runs = [Run(f"d{i:03d}", waves[i]) for i in range(n)]
    return fc.Campaign(CampaignState.SCHEDULED, policy, start_at), runs


@pytest.mark.parametrize(
    ("total", "policy", "sizes"),
    [
        (10, Policy(first_wave=1, wave_growth=2), [1, 2, 4, 3]),
        (200, Policy(first_wave=None, first_wave_percent=5, wave_growth=3), [10, 30, 90, 70]),
        (3, Policy(first_wave=5), [3]),
        (0, Policy(), []),
        (5, Policy(first_wave=2, wave_growth=1), [2, 2, 1]),
    ],
)
def test_wave_sizes(total: int, policy: Policy, sizes: list[int]) -> None:
    assert fc.wave_sizes(total, policy) == sizes
    assert sum(sizes) == total


@pytest.mark.parametrize(
    ("policy", "field"),
    [
        (Policy(first_wave=0), "first_wave"),
        (Policy(first_wave_percent=0), "first_wave_percent"),
        (Policy(error_threshold=1.5), "error_threshold"),
        (Policy(window_start_hour=2), "window_start_hour"),
        (Policy(window_start_hour=2, window_end_hour=2), "window_start_hour"),
        (Policy(device_timeout=timedelta(seconds=1)), "device_timeout_s"),
        (Policy(max_starts_per_minute=0), "max_starts_per_minute"),
    ],
)
def test_bad_policy_names_its_knob(policy: Policy, field: str) -> None:
    with pytest.raises(fc.CampaignError) as err:
        policy.check()
    assert err.value.field == field


def test_reserved_campaign_starts_at_its_time_not_before() -> None:
    c, runs = make(3, Policy(first_wave=3), start_at=T0 + timedelta(hours=5))
    step = fc.advance(c, runs, T0 + timedelta(hours=5) - timedelta(seconds=1), lambda _: True)
    assert step.started == [] and step.campaign.state is CampaignState.SCHEDULED
    step = fc.advance(c, runs, T0 + timedelta(hours=5), lambda _: True)
    assert step.campaign.state is CampaignState.RUNNING
    assert step.started == ["d000", "d001", "d002"]


def test_next_wave_waits_for_the_success_threshold() -> None:
    c, runs = make(7, Policy(first_wave=1, success_threshold=1.0))
    step = fc.advance(c, runs, T0, lambda _: True)
    assert step.started == ["d000"]
    step = fc.advance(step.campaign, step.runs, T0 + timedelta(minutes=1), lambda _: True)
    assert step.started == []  # wave 1 has not succeeded yet
    runs = list(step.runs)
    runs[0] = fc.report(runs[0], "running", TARGET, TARGET, T0 + timedelta(minutes=2))
    assert runs[0].state is RunState.SUCCEEDED
    step = fc.advance(step.campaign, runs, T0 + timedelta(minutes=3), lambda _: True)
    assert step.started == ["d001", "d002"]


def test_stalled_wave_pauses_and_resume_releases_the_next() -> None:
    policy = Policy(first_wave=2, success_threshold=1.0, error_threshold=1.0, min_finished=10)
    c, runs = make(6, policy)
    step = fc.advance(c, runs, T0, lambda _: True)
    runs = list(step.runs)
    runs[0] = fc.report(runs[0], "running", TARGET, TARGET, T0)
    runs[1] = fc.report(runs[1], "failed", "", TARGET, T0, "install failed")
    step = fc.advance(step.campaign, runs, T0 + timedelta(minutes=1), lambda _: True)
    assert step.campaign.state is CampaignState.PAUSED and "wave 1" in step.campaign.reason
    assert step.started == []
    resumed = fc.resume(step.campaign, step.runs)
    step = fc.advance(resumed, step.runs, T0 + timedelta(minutes=2), lambda _: True)
    assert step.started == ["d002", "d003", "d004", "d005"]


def test_rate_limit_and_maintenance_window_in_local_hours() -> None:
    policy = Policy(first_wave=50, max_starts_per_minute=3, window_start_hour=22, window_end_hour=4)
    c, runs = make(10, policy)
    runs = [replace(r, zone="Europe/Berlin") for r in runs]
    # 10:00 UTC is 11:00 in Berlin: outside 22..04
    assert fc.advance(c, runs, T0, lambda _: True).started == []
    night = datetime(2026, 3, 2, 21, 30, tzinfo=UTC)  # 22:30 in Berlin
    step = fc.advance(c, runs, night, lambda _: True)
    assert len(step.started) == 3
    step = fc.advance(step.campaign, step.runs, night + timedelta(seconds=30), lambda _: True)
    assert step.started == []
    step = fc.advance(step.campaign, step.runs, night + timedelta(seconds=61), lambda _: True)
    assert len(step.started) == 3


def test_offline_devices_are_retried_later_not_failed() -> None:
    policy = Policy(first_wave=2, offline_retry=timedelta(minutes=10), max_offline_attempts=3)
    c, runs = make(2, policy)
    online = {"d000"}
    step = fc.advance(c, runs, T0, lambda d: d in online)
    assert step.started == ["d000"]
    off = step.runs[1]
    assert off.state is RunState.PENDING and off.next_try_at == T0 + timedelta(minutes=10)
    step = fc.advance(step.campaign, step.runs, T0 + timedelta(minutes=5), lambda d: d in online)
    assert step.started == []
    online.add("d001")
    step = fc.advance(step.campaign, step.runs, T0 + timedelta(minutes=10), lambda d: d in online)
    assert step.started == ["d001"]
    assert fc.stats(step.runs).failed == 0


def test_a_device_offline_at_every_turn_is_skipped() -> None:
    policy = Policy(first_wave=1, offline_retry=timedelta(minutes=1), max_offline_attempts=2)
    c, runs = make(1, policy)
    step = fc.advance(c, runs, T0, lambda _: False)
    step = fc.advance(step.campaign, step.runs, T0 + timedelta(minutes=1), lambda _: False)
    assert step.runs[0].state is RunState.SKIPPED
    assert step.campaign.state is CampaignState.FINISHED


def test_timeout_fails_a_device_that_never_returns() -> None:
    c, runs = make(1, Policy(device_timeout=timedelta(minutes=30)))
    step = fc.advance(c, runs, T0, lambda _: True)
    run = fc.report(step.runs[0], "rebooting", "", TARGET, T0 + timedelta(minutes=5))
    step = fc.advance(step.campaign, [run], T0 + timedelta(minutes=30), lambda _: True)
    assert step.runs[0].state is RunState.FAILED
    assert "timeout" in step.runs[0].message


def test_progress_never_goes_back_and_late_reports_change_nothing() -> None:
    run = Run("d", 0, state=RunState.SENT, started_at=T0)
    run = fc.report(run, "installing", "", TARGET, T0)
    assert fc.report(run, "downloading", "", TARGET, T0).state is RunState.INSTALLING
    done = fc.report(run, "running", TARGET, TARGET, T0)
    assert fc.report(done, "failed", "", TARGET, T0) == done
    rolled_back = fc.report(run, "running", "9.02", TARGET, T0)
    assert rolled_back.state is RunState.FAILED and "9.02" in rolled_back.message


def test_cancel_skips_what_has_not_started() -> None:
    c, runs = make(4, Policy(first_wave=1))
    step = fc.advance(c, runs, T0, lambda _: True)
    c2, runs2 = fc.cancel(step.campaign, step.runs, T0)
    assert c2.state is CampaignState.CANCELLED
    assert [r.state for r in runs2] == [RunState.SENT] + [RunState.SKIPPED] * 3
    assert fc.advance(c2, runs2, T0 + timedelta(hours=1), lambda _: True).started == []


# ---- 200 simulated devices ----------------------------------------------------------------------


class Fleet:
    """Simulated devices: each started device walks downloading -> installing -> rebooting ->
    running the new version one step per tick, unless a failure was injected into it."""

    def __init__(self, n: int, seed: int) -> None:
        rng = random.Random(seed)
        kinds = ["ok"] * 6 + ["corrupt", "install", "never"]
        self.fault = {f"d{i:03d}": rng.choice(kinds) for i in range(n)}
        self.fault["d000"] = "ok"  # the first wave is healthy
        self.steps: dict[str, int] = {}
        self.started_log: list[tuple[datetime, str]] = []

    def start(self, device: str, now: datetime) -> None:
        self.steps[device] = 0
        self.started_log.append((now, device))

    def tick(self, runs: list[Run], now: datetime) -> list[Run]:
        out = []
        for run in runs:
            if run.state in fc.ACTIVE and run.device_id in self.steps:
                k = self.steps[run.device_id] = self.steps[run.device_id] + 1
                fault = self.fault[run.device_id]
                if fault == "corrupt" and k == 1:
                    run = fc.report(run, "failed", "", TARGET, now, "sha256 mismatch")
                elif fault == "install" and k == 2:
                    run = fc.report(run, "failed", "", TARGET, now, "install failed")
                elif fault == "never" and k >= 2:
                    run = fc.report(run, "rebooting", "", TARGET, now) if k == 2 else run
                else:
                    state = ["downloading", "installing", "rebooting", "running"][min(k, 4) - 1]
                    version = TARGET if state == "running" else ""
                    run = fc.report(run, state, version, TARGET, now)
            out.append(run)
        return out


def test_200_devices_with_injected_failures_pause_at_the_error_threshold() -> None:
    policy = Policy(
        first_wave=1,
        wave_growth=2,
        success_threshold=0.5,
        error_threshold=0.25,
        min_finished=10,
        device_timeout=timedelta(minutes=20),
    )
    c, runs = make(200, policy)
    fleet = Fleet(200, seed=7)
    now = T0
    paused_at: datetime | None = None
    for _ in range(500):
        step = fc.advance(c, runs, now, lambda _: True)
        c, runs = step.campaign, step.runs
        for device in step.started:
            fleet.start(device, now)
        if c.state is CampaignState.PAUSED:
            paused_at = now
            break
        runs = fleet.tick(runs, now)
        now += timedelta(minutes=1)
    assert paused_at is not None, "the campaign never paused"
    assert "error threshold" in c.reason
    s = fc.stats(runs)
    assert s.failed / s.finished >= 0.25 and s.finished >= 10
    assert s.pending > 0  # it stopped before the whole fleet was touched
    started_before = len(fleet.started_log)
    # Time goes on while paused: running devices finish or time out, nothing new starts.
    for _ in range(120):
        now += timedelta(minutes=1)
        runs = fleet.tick(runs, now)
        step = fc.advance(c, runs, now, lambda _: True)
        c, runs = step.campaign, step.runs
        assert step.started == []
    assert c.state is CampaignState.PAUSED
    assert len(fleet.started_log) == started_before
    assert all(t <= paused_at for t, _ in fleet.started_log)
    assert fc.stats(runs).running == 0  # those under way finished or timed out

    # The operator decides: the faults were in the devices, go on.
    c = fc.resume(c, runs)
    step = fc.advance(c, runs, now, lambda _: True)
    assert step.started, "resuming starts the next devices"
    assert step.campaign.state is CampaignState.RUNNING


def test_a_step_starts_at_most_its_batch_and_the_rest_at_the_next() -> None:
    c, runs = make(7, Policy(first_wave=7))
    step = fc.advance(c, runs, T0, lambda _: True, max_starts=5)
    assert len(step.started) == 5
    step = fc.advance(step.campaign, step.runs, T0 + timedelta(seconds=15), lambda _: True, 5)
    assert step.started == ["d005", "d006"]
