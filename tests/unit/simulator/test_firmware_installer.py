"""The simulated gateway's installer: fetch, check size and SHA-256, install, report."""

from __future__ import annotations

import asyncio
import hashlib
from typing import Any

import pytest

from voltfleet.simulator.firmware import Installer

FILE = b"firmware image" * 100


def command(**params: Any) -> dict[str, Any]:
    base = {
        "release_id": "r1",
        "version": "2.0",
        "firmware_type": "gateway",
        "url": "http://127.0.0.1:1/f",
        "sha256": hashlib.sha256(FILE).hexdigest(),
        "size_bytes": len(FILE),
    }
    return {"id": "c1", "kind": "firmware_update", "device": "GW1", "params": {**base, **params}}


def install(installer: Installer, body: dict[str, Any]) -> tuple[bool, list[dict[str, Any]]]:
    reports: list[dict[str, Any]] = []

    async def report(r: dict[str, Any]) -> None:
        reports.append(r)

    ok = asyncio.run(installer.run(body, report))
    return ok, reports


async def fetch(_url: str) -> bytes:
    return FILE


def test_a_good_file_is_installed_step_by_step() -> None:
    inst = Installer(fetch=fetch, versions={("GW1", "gateway"): "1.0"}, step_s=0)
    ok, reports = install(inst, command())
    assert ok and [r["state"] for r in reports] == [
        "downloading",
        "installing",
        "rebooting",
        "running",
    ]
    assert reports[-1]["version"] == "2.0" and inst.versions[("GW1", "gateway")] == "2.0"
    assert all(r["device"] == "GW1" and r["release_id"] == "r1" for r in reports)


@pytest.mark.parametrize(
    ("installer", "body", "why"),
    [
        (Installer(fetch=fetch, corrupt=True, step_s=0), command(), "sha256 mismatch"),
        (Installer(fetch=fetch, step_s=0), command(size_bytes=3), "sha256 mismatch"),
        (Installer(fetch=fetch, step_s=0, fail_install=True), command(), "install failed"),
        (Installer(step_s=0), command(), "download failed"),  # nothing listens on port 1
    ],
)
def test_faults_are_reported_failed_and_leave_the_version(
    installer: Installer, body: dict[str, Any], why: str
) -> None:
    ok, reports = install(installer, body)
    assert not ok and reports[-1]["state"] == "failed" and why in reports[-1]["message"]
    assert installer.versions == {} and installer.installed == []


def test_a_device_that_never_returns_reports_no_version() -> None:
    inst = Installer(fetch=fetch, never_return=True, step_s=0)
    ok, reports = install(inst, command())
    assert not ok and reports[-1]["state"] == "rebooting"
    assert Installer().check({"params": {"url": "x"}}) == "release_id missing"
