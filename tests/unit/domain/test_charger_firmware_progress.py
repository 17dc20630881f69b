"""A charger's firmware statuses (OCPP 1.6 and 2.0.1) as campaign progress, table by table."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from voltfleet.domain.firmware.campaign import Run, RunState, report
from voltfleet.domain.firmware.charger_progress import confirms, progress_of

OCPP16 = [
    ("Downloading", "downloading"),
    ("Downloaded", "downloading"),
    ("Installing", "installing"),
    ("Installed", "rebooting"),
    ("DownloadFailed", "failed"),
    ("InstallationFailed", "failed"),
    ("Idle", None),
]
OCPP201_MORE = [
    ("DownloadScheduled", None),
    ("DownloadPaused", "downloading"),
    ("SignatureVerified", "installing"),
    ("InvalidSignature", "failed"),
    ("InstallScheduled", "installing"),
    ("InstallRebooting", "rebooting"),
    ("InstallVerificationFailed", "failed"),
]


@pytest.mark.parametrize(("status", "state"), OCPP16 + OCPP201_MORE)
def test_each_status_moves_the_run_as_its_word_says(status: str, state: str | None) -> None:
    got = progress_of(status)
    assert (got.state if got else None) == state
    if got is not None:
        assert got.message  # a person reads why


def test_a_failure_says_which_step_failed() -> None:
    assert "download" in progress_of("DownloadFailed").message  # type: ignore[union-attr]
    assert "signature" in progress_of("InvalidSignature").message  # type: ignore[union-attr]
    assert "install" in progress_of("InstallationFailed").message  # type: ignore[union-attr]


def test_an_unknown_status_is_an_error_naming_the_known_ones() -> None:
    with pytest.raises(ValueError, match="Downloading"):
        progress_of("Flashing")


NOW = datetime(2026, 12, 6, 12, tzinfo=UTC)


def _run(state: RunState) -> Run:
    return Run(device_id="d", wave=0, state=state, started_at=NOW)


def test_the_walk_downloading_to_installed_never_moves_back_and_ends_rebooting() -> None:
    run = _run(RunState.SENT)
    for status in ("Downloading", "Downloaded", "Installing", "Downloading", "Installed"):
        p = progress_of(status)
        assert p is not None
        run = report(run, p.state, "", "2.0", NOW, p.message)
    assert run.state is RunState.REBOOTING


@pytest.mark.parametrize(
    ("state", "booted", "settles"),
    [
        (RunState.REBOOTING, "2.0", True),  # on the new version: success
        (RunState.REBOOTING, "1.0", True),  # back on the old one after installing: failed
        (RunState.DOWNLOADING, "1.0", False),  # a reconnection while downloading
        (RunState.DOWNLOADING, "2.0", True),  # it already runs the target
        (RunState.REBOOTING, "", False),  # a boot that names no version
    ],
)
def test_which_boot_settles_the_run(state: RunState, booted: str, settles: bool) -> None:
    assert confirms(state, booted, "2.0") is settles
