"""A commissioning report as a PDF (ReportLab): the site, its devices with model, serial,
firmware and status, key settings, the inverters' self-test results when they reported them,
and the last day's PV power as a small chart. Data in, bytes out: the caller gathers the data."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import datetime

from reportlab.graphics.charts.lineplots import LinePlot
from reportlab.graphics.shapes import Drawing, String
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle


@dataclass(frozen=True)
class DeviceRow:
    kind: str
    model: str
    serial: str
    firmware: str
    status: str
    settings: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SelfTestRow:
    serial: str
    when: str  # the reply's time, in the site's zone
    test: str
    threshold: str
    measured: str
    trip_time: str
    result: str


@dataclass(frozen=True)
class ReportData:
    title: str
    site_name: str
    address: str
    timezone: str
    capacity_kwp: float
    generated_at: datetime  # in the site's zone
    devices: list[DeviceRow]
    # (hours since the window's start, PV power in W) over the last day
    pv_series: list[tuple[float, float]]
    window: str  # the day the chart covers, as people read it
    self_tests: list[SelfTestRow] = field(default_factory=list)


def _table(rows: list[list[str]], widths: list[float]) -> Table:
    t = Table(rows, colWidths=widths, repeatRows=1)
    t.setStyle(
        TableStyle(
            [
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8eef5")),
                ("FONTNAME", (0, 0), (-1, 0), "Helvetica-Bold"),
                ("FONTSIZE", (0, 0), (-1, -1), 8.5),
                ("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )
    return t


def _chart(series: list[tuple[float, float]]) -> Drawing:
    d = Drawing(170 * mm, 60 * mm)
    if not series:
        d.add(String(10, 80, "No PV power readings in the last day.", fontSize=9))
        return d
    plot = LinePlot()
    plot.x, plot.y = 40, 25
    plot.width, plot.height = 170 * mm - 60, 60 * mm - 45
    plot.data = [series]
    plot.lines[0].strokeColor = colors.HexColor("#d98a00")
    plot.xValueAxis.valueMin, plot.xValueAxis.valueMax = 0, 24
    plot.xValueAxis.valueSteps = [0, 3, 6, 9, 12, 15, 18, 21, 24]
    plot.yValueAxis.valueMin = 0
    plot.xValueAxis.labels.fontSize = plot.yValueAxis.labels.fontSize = 7
    d.add(plot)
    d.add(String(0, 2, "hours (site time) -> PV power (W)", fontSize=7))
    return d


def render(data: ReportData) -> bytes:
    buf = io.BytesIO()
    doc = SimpleDocTemplate(
        buf, pagesize=A4, title=data.title, leftMargin=18 * mm, rightMargin=18 * mm
    )
    styles = getSampleStyleSheet()
    story: list[object] = [
        Paragraph(data.title, styles["Title"]),
        Paragraph("Commissioning report", styles["Heading2"]),
        _table(
            [
                ["Site", data.site_name],
                ["Address", data.address or "-"],
                ["Time zone", data.timezone],
                ["PV capacity", f"{data.capacity_kwp:g} kWp"],
                ["Generated", data.generated_at.strftime("%Y-%m-%d %H:%M %z")],
            ],
            [40 * mm, 130 * mm],
        ),
        Spacer(1, 6 * mm),
        Paragraph("Devices", styles["Heading2"]),
        _table(
            [["Kind", "Model", "Serial", "Firmware", "Status"]]
            + [
                [d.kind, d.model or "-", d.serial, d.firmware or "-", d.status]
                for d in data.devices
            ],
            [22 * mm, 40 * mm, 45 * mm, 40 * mm, 23 * mm],
        ),
        Spacer(1, 6 * mm),
        Paragraph("Key settings", styles["Heading2"]),
    ]
    settings = [[d.serial, name, value] for d in data.devices for name, value in d.settings.items()]
    story.append(
        _table([["Device", "Setting", "Value"], *settings], [50 * mm, 60 * mm, 60 * mm])
        if settings
        else Paragraph("No settings were read from the devices.", styles["Normal"])
    )
    story += [Spacer(1, 6 * mm), Paragraph("Self-test results", styles["Heading2"])]
    story.append(
        _table(
            [
                ["Device", "Run", "Test", "Threshold", "Measured", "Trip time", "Result"],
                *[
                    [t.serial, t.when, t.test, t.threshold, t.measured, t.trip_time, t.result]
                    for t in data.self_tests
                ],
            ],
            [30 * mm, 26 * mm, 18 * mm, 22 * mm, 22 * mm, 32 * mm, 20 * mm],
        )
        if data.self_tests
        else Paragraph(
            "No self-test results were reported by the devices (an inverter reports them in "
            "its answer to a self_test command).",
            styles["Normal"],
        )
    )
    story += [
        Spacer(1, 6 * mm),
        Paragraph(f"Last day's PV power ({data.window})", styles["Heading2"]),
        _chart(data.pv_series),
    ]
    doc.build(story)  # type: ignore[arg-type]
    return buf.getvalue()
