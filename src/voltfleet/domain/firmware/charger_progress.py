"""What a charger's firmware status means for its run in an upgrade campaign. Pure.

A charger tells its progress with the firmware statuses of OCPP (1.6: Downloading, Downloaded,
Installing, Installed, DownloadFailed, InstallationFailed, Idle; 2.0.1 adds DownloadScheduled,
DownloadPaused, SignatureVerified, InvalidSignature, InstallScheduled, InstallRebooting,
InstallVerificationFailed). The status names are the charger's words for the upgrade's steps,
the same in both versions where they exist in both; each becomes one of the campaign's report
states (``campaign.REPORT_STATES``) with a message a person reads, or nothing (a status that
moves nothing: Idle, DownloadScheduled).

Success is never a status: a charger runs the new firmware when its next BootNotification says
so (``confirms``), as a gateway's report of the version it runs does.
"""

from __future__ import annotations

from dataclasses import dataclass

from voltfleet.domain.firmware.campaign import RunState


@dataclass(frozen=True)
class Progress:
    state: str  # a campaign report state: downloading, installing, rebooting, failed
    message: str


_PROGRESS: dict[str, Progress] = {
    "DownloadPaused": Progress("downloading", "download paused by the charger"),
    "Downloading": Progress("downloading", "downloading the firmware"),
    "Downloaded": Progress("downloading", "firmware downloaded"),
    "SignatureVerified": Progress("installing", "the firmware's signature verified"),
    "InstallScheduled": Progress("installing", "install scheduled by the charger"),
    "Installing": Progress("installing", "installing the firmware"),
    "InstallRebooting": Progress("rebooting", "rebooting to install the firmware"),
    "Installed": Progress("rebooting", "installed: waiting for the charger to boot on it"),
    "DownloadFailed": Progress("failed", "the charger could not download the firmware"),
    "InvalidSignature": Progress(
        "failed", "the charger refused the firmware: its signature does not verify"
    ),
    "InstallVerificationFailed": Progress(
        "failed", "the charger refused the firmware: it did not pass the charger's checks"
    ),
    "InstallationFailed": Progress("failed", "the charger could not install the firmware"),
}

# Statuses that tell nothing about a run: the charger is idle, or will download later.
QUIET = frozenset({"Idle", "DownloadScheduled"})


def progress_of(status: str) -> Progress | None:
    """The run's progress for a charger's firmware status; None for a status that moves
    nothing. ``ValueError`` for a status no OCPP version has."""
    found = _PROGRESS.get(status)
    if found is None and status not in QUIET:
        known = ", ".join(sorted((*_PROGRESS, *QUIET)))
        raise ValueError(f"unknown firmware status {status!r}: one of {known}")
    return found


def confirms(run_state: RunState, booted_version: str, target_version: str) -> bool:
    """Whether a charger's BootNotification settles its run: it boots on the target version,
    or it boots after it said it was rebooting to install (then on any other version the
    upgrade did not take). A boot before that (a charger that lost its connection while it
    downloads) settles nothing."""
    if not booted_version:
        return False
    return booted_version == target_version or run_state is RunState.REBOOTING
