"""The limit a charger keeps when it loses its connection to the platform (sent ahead, as the
charger's default profile): safe even when every connector falls back at once and every meter is
silent, so it is each connector's equal share of the tightest group above it, counting every
connector of that group as charging on every phase."""

from __future__ import annotations

from voltfleet.domain.power.tree import Tree


def fallback_limits(tree: Tree, min_charge_a: float = 6.0) -> dict[str, float]:
    """Per connector: its fallback current per phase (0 when an equal share is below the
    minimum a car charges with)."""
    counts: dict[str, int] = {g.id: 0 for g in tree.groups}
    for c in tree.connectors:
        for g in tree.ancestors(c.group_id):
            counts[g] += 1
    safe = {g.id: (g.safe_a if g.has_meter else g.fuse_a) for g in tree.groups}
    out: dict[str, float] = {}
    for c in tree.connectors:
        share = min(safe[g] / counts[g] for g in tree.ancestors(c.group_id))
        share = min(share, c.max_a)
        share = int(share * 10) / 10
        out[c.id] = share if share >= min_charge_a else 0.0
    return out
