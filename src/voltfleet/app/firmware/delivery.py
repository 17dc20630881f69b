"""The one place that hands firmware to devices: a ``firmware_update`` command on the command
channel (MQTT or HTTP poll, whichever the gateway uses), with a short-lived signed link to the
file (``usecases.firmware.FirmwareDelivery``); chargers get OCPP UpdateFirmware with the same
link (``chargers.ChargerSender``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from voltfleet.app.commands import service as commands
from voltfleet.app.firmware import signing
from voltfleet.app.firmware.chargers import ChargerSender
from voltfleet.domain import commands as dc
from voltfleet.store.fleet_models import Device
from voltfleet.usecases.errors import Conflict
from voltfleet.usecases.firmware import Target


class CommandDelivery:
    def __init__(
        self,
        session: Session,
        base_url: str,
        secret: str,
        url_ttl: timedelta,
        chargers: ChargerSender | None = None,
    ) -> None:
        self.session = session
        self.base_url = base_url
        self.secret = secret
        self.url_ttl = url_ttl
        self.chargers = chargers or ChargerSender(None)
        self.refusals = self.chargers.refusals  # why a device was not reached, by device id

    def send(
        self, device_ids: Sequence[str], target: Target, now: datetime, ttl: timedelta
    ) -> dict[str, str]:
        # One link for the whole batch; it outlives the command's delivery window a little, so
        # a gateway that gets the command late still has time to fetch.
        url = signing.download_url(
            self.base_url, self.secret, target.release_id, now, max(self.url_ttl, ttl)
        )
        params = {
            "release_id": target.release_id,
            "version": target.version,
            "firmware_type": target.firmware_type,
            "url": url,
            "sha256": target.sha256,
            "size_bytes": target.size_bytes,
        }
        devices = list(self.session.scalars(select(Device).where(Device.id.in_(list(device_ids)))))
        chargers = [d for d in devices if d.kind == "charger"]
        out: dict[str, str] = {}
        if chargers:
            out.update(self.chargers.send(self.session, chargers, target, url, now))
        for device in devices:
            if device.kind == "charger":
                continue
            request = dc.validate(
                dc.CommandKind.FIRMWARE_UPDATE.value, params, dc.DeviceLimits(device.kind)
            )
            try:
                row = commands.enqueue(
                    self.session, device, request, now=now, ttl=ttl, source="firmware"
                )
            except Conflict:
                continue  # no gateway above it: the use case fails its run with the reason
            out[device.id] = row.id
        return out
