"""The one place that hands firmware to devices: a ``firmware_update`` command on the command
channel (MQTT or HTTP poll, whichever the gateway uses), with a short-lived signed link to the
file (``usecases.firmware.FirmwareDelivery``)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from voltfleet.app.commands import service as commands
from voltfleet.app.firmware import signing
from voltfleet.domain import commands as dc
from voltfleet.store.fleet_models import Device
from voltfleet.usecases.errors import Conflict
from voltfleet.usecases.firmware import Target


class CommandDelivery:
    def __init__(self, session: Session, base_url: str, secret: str, url_ttl: timedelta) -> None:
        self.session = session
        self.base_url = base_url
        self.secret = secret
        self.url_ttl = url_ttl

    def send(self, device_id: str, target: Target, now: datetime, ttl: timedelta) -> str:
        device = self.session.get(Device, device_id)
        if device is None:
            return ""
        # The link outlives the command's delivery window a little: a gateway that gets the
        # command late still has time to fetch.
        url = signing.download_url(
            self.base_url, self.secret, target.release_id, now, max(self.url_ttl, ttl)
        )
        request = dc.validate(
            dc.CommandKind.FIRMWARE_UPDATE.value,
            {
                "release_id": target.release_id,
                "version": target.version,
                "firmware_type": target.firmware_type,
                "url": url,
                "sha256": target.sha256,
                "size_bytes": target.size_bytes,
            },
            dc.DeviceLimits(device.kind),
        )
        try:
            row = commands.enqueue(
                self.session, device, request, now=now, ttl=ttl, source="firmware"
            )
        except Conflict:
            return ""  # no gateway above it: the run times out and counts as failed
        return row.id
