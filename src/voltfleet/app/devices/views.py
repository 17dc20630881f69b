"""Devices as the API shows them (a fixed number of queries for a page of devices)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from voltfleet.app.devices.schemas import ConnectorOut, DeviceOut, Topology, TopologyNode
from voltfleet.domain.fleet import LIVE_DATA_REASONS, DeviceKind, LiveData
from voltfleet.store.fleet_models import Connector, Device
from voltfleet.store.models import Site


def _connectors(session: Session, devices: Sequence[Device]) -> dict[str, list[ConnectorOut]]:
    chargers = [d.id for d in devices if d.kind == DeviceKind.CHARGER]
    found: dict[str, list[ConnectorOut]] = {}
    if chargers:
        for c in session.scalars(
            select(Connector)
            .where(Connector.charger_id.in_(chargers))
            .order_by(Connector.connector_no)
        ):
            found.setdefault(c.charger_id, []).append(ConnectorOut.model_validate(c))
    return found


def device_views(session: Session, devices: Sequence[Device]) -> list[DeviceOut]:
    if not devices:
        return []
    sites = dict(
        session.execute(
            select(Site.id, Site.name).where(Site.id.in_({d.site_id for d in devices}))
        ).all()
    )
    parent_ids = {d.parent_id for d in devices if d.parent_id}
    parents = (
        dict(
            session.execute(select(Device.id, Device.serial).where(Device.id.in_(parent_ids))).all()
        )
        if parent_ids
        else {}
    )
    connectors = _connectors(session, devices)
    out = []
    for d in devices:
        view = DeviceOut.model_validate(d)
        view.site_name = sites.get(d.site_id, "")
        view.parent_serial = parents.get(d.parent_id) if d.parent_id else None
        view.live_data_reason = LIVE_DATA_REASONS[LiveData(d.live_data)]
        view.connectors = connectors.get(d.id, [])
        out.append(view)
    return out


def topology(session: Session, site: Site, devices: Sequence[Device]) -> Topology:
    connectors = _connectors(session, devices)
    nodes = {
        d.id: TopologyNode(
            id=d.id,
            kind=d.kind,
            subtype=d.subtype,
            serial=d.serial,
            name=d.name,
            model=d.model,
            status=d.status,
            comm_address=d.comm_address,
            live_data=d.live_data,
            connectors=connectors.get(d.id, []),
        )
        for d in devices
    }
    roots = []
    for d in devices:
        parent = nodes.get(d.parent_id) if d.parent_id else None
        (parent.children if parent else roots).append(nodes[d.id])
    order = {k.value: i for i, k in enumerate(DeviceKind)}
    roots.sort(key=lambda n: (order.get(n.kind, 9), n.serial))
    return Topology(site_id=site.id, site_name=site.name, nodes=roots)
