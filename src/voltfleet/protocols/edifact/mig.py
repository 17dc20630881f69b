"""The structure of an MSCONS message after the EDI@Energy MIG 2.4c (UN D.04B S3), as data,
and a check of a message's segments against it.

pydifact reads and writes EDIFACT syntax but knows no MIG, and the BDEW's machine-readable MIG
files are sold, not published; so the tree below is written by hand from the MIG's
"Nachrichtenstruktur" (segment groups, their order, how often each may repeat, the qualifiers
this platform uses). It is the part of the MIG the virtual battery's exports touch: a load
profile (SG10 QTY+220 with DTM+163/164) and meter readings (DTM+7). Only data: a newer MIG
(2.5 ...) gets its own tree beside this one.

A tree node is a segment (tag, status M/C, max repetitions, the allowed qualifiers of its first
data element, None for any) or a segment group (its name, status, max repetitions, its nodes;
the first node is the trigger segment that opens each repetition).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Seg:
    tag: str
    status: str = "M"  # M mandatory, C conditional
    max: int = 1
    qualifiers: frozenset[str] | None = None


@dataclass(frozen=True)
class Group:
    name: str
    status: str
    max: int
    nodes: tuple[Seg | Group, ...]


def _q(*codes: str) -> frozenset[str]:
    return frozenset(codes)


# QTY qualifiers: 220 true value, 67 substitute, 201 proposed, 20 unusable, 187 forecast,
# 79 sum, Z18 provisional, Z30 missing.
QTY_QUALIFIERS = _q("220", "67", "201", "20", "187", "79", "Z18", "Z30")

MSCONS_2_4C = Group(
    "message",
    "M",
    1,
    (
        Seg("UNH", "M", 1),
        Seg("BGM", "M", 1, _q("7", "Z48", "Z83", "Z27", "Z28", "270")),
        Seg("DTM", "M", 1, _q("137")),
        Group(
            "SG1", "C", 9, (Seg("RFF", "M", 1, _q("Z13", "AGI", "ACW", "Z30")), Seg("DTM", "C", 9))
        ),
        Group(
            "SG2",
            "C",
            99,
            (
                Seg("NAD", "M", 1, _q("MS", "MR")),
                Group("SG4", "C", 9, (Seg("CTA", "M", 1), Seg("COM", "C", 5))),
            ),
        ),
        Seg("UNS", "M", 1, _q("D")),
        Group(
            "SG5",
            "M",
            99999,
            (
                Seg("NAD", "M", 1, _q("DP")),
                Group(
                    "SG6",
                    "M",
                    99999,
                    (
                        Seg("LOC", "M", 1, _q("172", "237", "Z04", "Z15")),
                        Seg("DTM", "C", 9, _q("163", "164", "9", "Z34", "293")),
                        Group("SG7", "C", 99, (Seg("RFF", "M", 1), Seg("DTM", "C", 9))),
                        Group("SG8", "C", 99, (Seg("CCI", "M", 1), Seg("MEA", "C", 99))),
                        Group(
                            "SG9",
                            "C",
                            99999,
                            (
                                Seg("LIN", "M", 1),
                                Seg("PIA", "C", 9, _q("5")),
                                Group(
                                    "SG10",
                                    "M",
                                    9999,
                                    (
                                        Seg("QTY", "M", 1, QTY_QUALIFIERS),
                                        Seg("DTM", "C", 9, _q("163", "164", "7", "9", "60")),
                                        Seg("STS", "C", 9),
                                    ),
                                ),
                            ),
                        ),
                    ),
                ),
            ),
        ),
        Seg("UNT", "M", 1),
    ),
)

TREES = {"2.4c": MSCONS_2_4C}


@dataclass(frozen=True)
class Segment:
    """What the check needs of a segment: its tag and the qualifier (the first component of its
    first data element)."""

    tag: str
    qualifier: str


def _opens(node: Seg | Group, seg: Segment) -> bool:
    first = node if isinstance(node, Seg) else _trigger(node)
    return seg.tag == first.tag and (first.qualifiers is None or seg.qualifier in first.qualifiers)


def _trigger(group: Group) -> Seg:
    node = group.nodes[0]
    return node if isinstance(node, Seg) else _trigger(node)


def _match(
    nodes: Sequence[Seg | Group], segs: Sequence[Segment], pos: int, path: str, errors: list[str]
) -> int:
    for node in nodes:
        count = 0
        while pos < len(segs) and count < node.max and _opens(node, segs[pos]):
            if isinstance(node, Seg):
                pos += 1
            else:
                pos = _match(node.nodes, segs, pos, f"{path}/{node.name}", errors)
            count += 1
        name = node.tag if isinstance(node, Seg) else node.name
        if node.status == "M" and count == 0:
            at = f"{segs[pos].tag}+{segs[pos].qualifier}" if pos < len(segs) else "the end"
            errors.append(f"{path}: mandatory {name} missing at segment {pos + 1} ({at})")
    return pos


def check(segments: Sequence[Segment], tree: Group = MSCONS_2_4C) -> list[str]:
    """The deviations of one message (UNH..UNT) from the tree: a mandatory segment or group
    missing, a segment out of order, a qualifier the MIG does not allow there, too many
    repetitions. Empty when the message fits."""
    errors: list[str] = []
    pos = _match(tree.nodes, segments, 0, "MSCONS", errors)
    if pos < len(segments):
        s = segments[pos]
        errors.append(f"segment {pos + 1} ({s.tag}+{s.qualifier}) is not allowed there")
    return errors
