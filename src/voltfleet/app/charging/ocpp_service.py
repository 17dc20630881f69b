"""O&M's side of a connected charger: send it a command and read its answer (audited), its
message log, and a site's id tags. Never commits (the request does)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from voltfleet.app import audit
from voltfleet.app.charging import id_tags, service
from voltfleet.app.charging.charger_link import OcppChargerLink
from voltfleet.app.charging.connections import Connections
from voltfleet.app.charging.ocpp_schemas import IdTagIn, IdTagOut, OcppCommandOut
from voltfleet.app.deps import Caller
from voltfleet.app.devices.repository import DeviceRepository
from voltfleet.app.sites.repository import SiteRepository
from voltfleet.domain.access import Action
from voltfleet.domain.fleet import DeviceKind
from voltfleet.store.fleet_models import Device
from voltfleet.store.models import Site
from voltfleet.store.ocpp_models import IdTag
from voltfleet.usecases.errors import Conflict, Invalid, NotFound, Unavailable


def charger_for(session: Session, caller: Caller, device_id: str, action: Action) -> Device:
    device = DeviceRepository(session, caller).get_for(device_id, action)
    if device.kind != DeviceKind.CHARGER:
        raise Invalid("this device is not a charger")
    return device


def resolve_params(
    session: Session, device: Device, version: str, action: str, params: dict[str, Any]
) -> dict[str, Any]:
    """Fill in what O&M need not know: a remote stop or a TxProfile on a connector is for the
    session running there (its 1.6 transaction id, or the 2.0.1 charger's own)."""
    out = dict(params)
    wants_tx = action == "remote_stop" or (
        action == "set_charging_profile" and out.get("purpose") == "tx"
    )
    if wants_tx and "transaction_id" not in out and "transaction_ref" not in out:
        connector = out.get("connector_id")
        if not isinstance(connector, int) or isinstance(connector, bool):
            raise Invalid("connector_id is required (the connector whose session is meant)")
        row = service.open_session(session, device, connector)
        if row is None:
            raise Conflict(f"no session is running on connector {connector}")
        out["transaction_id"] = row.transaction_id
        if version == "2.0.1":
            out["transaction_ref"] = row.transaction_ref
    return out


def record_command(
    session: Session,
    caller: Caller,
    device: Device,
    action: str,
    params: dict[str, Any],
    answer: OcppCommandOut | None,
    error: str | None,
) -> None:
    site = session.get(Site, device.site_id)
    detail: dict[str, Any] = {"action": action, "params": params}
    if answer is not None:
        detail["status"] = answer.status
    if error is not None:
        detail["error"] = error[:300]
    audit.record(
        session,
        actor=caller.user,
        action="ocpp.command",
        object_type="device",
        object_id=device.id,
        org_id=site.org_id if site else None,
        address=caller.address,
        detail=detail,
    )


async def send(
    link: OcppChargerLink, device: Device, action: str, params: dict[str, Any]
) -> OcppCommandOut:
    version = link.version_of(device.id)
    if version is None:
        raise Unavailable("the charger is not connected to the platform now")
    answer = await link.remote(device.serial, action, params)
    return OcppCommandOut(
        action=action, version=version, status=str(answer["status"]), result=answer["result"]
    )


def version_of(connections: Connections, device_id: str) -> str | None:
    cp = connections.get(device_id)
    return cp.version if cp is not None else None


# ---- id tags ------------------------------------------------------------------------------------


def tag_out(row: IdTag) -> IdTagOut:
    return IdTagOut(
        id=row.id,
        site_id=row.site_id,
        tag=row.tag,
        label=row.label,
        active=row.active,
        created_at=row.created_at,
    )


def list_tags(session: Session, caller: Caller, site_id: str) -> list[IdTagOut]:
    site = SiteRepository(session, caller).get_for(site_id, Action.READ)
    return [tag_out(r) for r in id_tags.of_site(session, site.id)]


def put_tag(session: Session, caller: Caller, site_id: str, body: IdTagIn) -> IdTagOut:
    """Add a tag, or change the label and state of one the site has."""
    site = SiteRepository(session, caller).get_for(site_id, Action.UPDATE)
    tag = body.tag.strip()
    if not tag or not tag.isprintable():
        raise Invalid("an id tag is printable text", [{"field": "tag", "message": "printable"}])
    row = next((r for r in id_tags.of_site(session, site.id) if r.tag == tag), None)
    if row is None:
        row = IdTag(site_id=site.id, tag=tag, label=body.label, active=body.active)
        session.add(row)
    else:
        row.label, row.active = body.label, body.active
    session.flush()
    audit.on_site(session, caller, site, "id_tag.saved", {"tag": tag, "active": body.active})
    return tag_out(row)


def delete_tag(session: Session, caller: Caller, site_id: str, tag_id: str) -> None:
    site = SiteRepository(session, caller).get_for(site_id, Action.UPDATE)
    row = session.get(IdTag, tag_id)
    if row is None or row.site_id != site.id:
        raise NotFound("id tag")
    session.delete(row)
    audit.on_site(session, caller, site, "id_tag.deleted", {"tag": row.tag})
