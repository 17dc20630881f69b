"""The simulated gateway obeys its settings (simulator/gateway_settings.py): it acknowledges
with the values applied, the upload interval paces its reports, a reset reboots it, and it
refuses what the platform would have refused."""

from __future__ import annotations

from voltfleet.simulator.gateway_settings import GatewaySettings
from voltfleet.simulator.live_data import Reporting


def test_upload_interval_paces_the_reports_and_reset_reboots() -> None:
    gw, reporting = GatewaySettings(), Reporting()
    reply = gw.apply(
        {"kind": "upload_interval", "params": {"interval_s": 600, "safe_restart": True}},
        reporting,
    )
    assert reply["status"] == "acknowledged"
    assert reply["details"]["applied"] == {"interval_s": 600, "safe_restart": True}
    assert reporting.interval_s(0.0) == 600
    reporting.apply({"enabled": True, "interval_s": 10, "duration_s": 900}, 0.0)
    assert reporting.interval_s(1.0) == 10
    reply = gw.apply({"kind": "gateway_reset", "params": {"confirm": True}}, reporting)
    assert reply["status"] == "acknowledged" and gw.reboots == 1
    assert reporting.interval_s(1.0) == 600  # back at its own interval after the reboot


def test_a_wrong_value_is_refused_with_its_field() -> None:
    gw, reporting = GatewaySettings(), Reporting()
    reply = gw.apply({"kind": "upload_interval", "params": {"interval_s": 5}}, reporting)
    assert reply["status"] == "failed" and reply["message"].startswith("interval_s:")
    assert reporting.normal_s == 300 and gw.applied == {}
