"""A vital sign's trend over time, drawn with matplotlib's Qt backend (FigureCanvasQTAgg).

Blood pressure draws systolic and diastolic together. The normal band is shaded and abnormal
points are red, so a rise stands out without reading numbers.

Drawn when shown: a chart opens on its timeline, and plotting a trend nobody sees cost about a
third of opening one. While hidden, new data empties the figure (nothing of a previous patient
stays in it) and the plot is made when the chart is next shown.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import matplotlib.dates as mdates
from matplotlib.backends.backend_qtagg import FigureCanvasQTAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from ...domain import vitals as V
from ..widgets.dates import day_text
from .chart_format import ACCENT, ALERT_RED, MUTED, ClinicClock

BP = "bp"
CHOICES: tuple[tuple[str, str], ...] = (
    (BP, "Blood pressure"), ("8867-4", "Heart rate"), ("9279-1", "Respiratory rate"),
    ("8310-5", "Temperature"), ("59408-5", "SpO2"), ("29463-7", "Weight"),
    ("39156-5", "BMI"), ("8302-2", "Height"),
)
LINE_COLOURS = {"8480-6": ACCENT, "8462-4": "#7b4fc4"}


class VitalsTrendChart(QWidget):
    def __init__(self, clock: ClinicClock, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.clock = clock
        self.series: dict[str, Any] = {}
        self.stale = False  # new data not plotted yet (hidden since it came)
        self.picker = QComboBox()
        self.picker.setObjectName("trendPicker")
        self.picker.setAccessibleName(self.tr("Measurement to chart"))
        for key, label in CHOICES:
            self.picker.addItem(self.tr(label), key)
        self.picker.currentIndexChanged.connect(lambda _i: self.redraw())
        self.figure = Figure(figsize=(5.5, 3.2), dpi=100, layout="tight")
        self.figure.patch.set_facecolor("white")
        self.canvas = FigureCanvasQTAgg(self.figure)
        self.canvas.setObjectName("trendCanvas")
        self.canvas.setMinimumHeight(240)
        head = QHBoxLayout()
        title = QLabel(self.tr("Trend"))
        title.setStyleSheet("font-weight: 600;")
        head.addWidget(title)
        head.addStretch(1)
        head.addWidget(self.picker)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(head)
        layout.addWidget(self.canvas, 1)

    def set_series(self, series: list[Any]) -> None:
        self.series = {s.code: s for s in series}
        self.redraw()

    def select(self, key: str) -> None:
        index = self.picker.findData(key)
        if index >= 0:
            self.picker.setCurrentIndex(index)

    def plotted_codes(self) -> list[str]:
        key = self.picker.currentData()
        codes = ["8480-6", "8462-4"] if key == BP else [key]
        return [c for c in codes if c in self.series]

    def showEvent(self, event: QShowEvent) -> None:
        if self.stale:
            self.redraw()
        super().showEvent(event)

    def redraw(self) -> None:
        self.figure.clear()
        if not self.isVisible():
            self.stale = True
            return
        self.stale = False
        ax = self.figure.add_subplot(111)
        codes = self.plotted_codes()
        for spine in ("top", "right"):
            ax.spines[spine].set_visible(False)
        ax.tick_params(colors=MUTED, labelsize=8)
        ax.grid(True, axis="y", color="#e3e8ee", linewidth=0.8)
        if not codes:
            ax.set_xticks([])
            ax.set_yticks([])
            ax.text(0.5, 0.5, self.tr("No measurements yet"), ha="center", va="center",
                    color=MUTED, transform=ax.transAxes)
            self.canvas.draw_idle()
            return
        for code in codes:
            self._plot(ax, self.series[code])
        times = [p.at for c in codes for p in self.series[c].points]
        if max(times) - min(times) < timedelta(days=2):  # one visit: give the axis some room
            ax.set_xlim(min(times) - timedelta(days=3), max(times) + timedelta(days=3))
        unit = V.BY_CODE[codes[0]].unit
        ax.set_ylabel(V.UNIT_LABELS.get(unit, unit), color=MUTED, fontsize=8)
        zone = self.clock.zone  # '4 Jan 2026', as every date in the chart (was 04/01/26)
        ax.xaxis.set_major_formatter(
            FuncFormatter(lambda x, _pos: day_text(mdates.num2date(x, tz=zone))))
        ax.xaxis.set_major_locator(mdates.AutoDateLocator(maxticks=6))
        if len(codes) > 1:
            ax.legend(frameon=False, fontsize=8, loc="lower left", bbox_to_anchor=(0.0, 1.0),
                      ncol=len(codes), borderaxespad=0.2)
        self.canvas.draw_idle()

    def _plot(self, ax: Any, series: Any) -> None:
        spec = V.BY_CODE[series.code]
        xs = [p.at for p in series.points]
        ys = [float(p.value) for p in series.points]  # drawing only: values stay Decimal
        colour = LINE_COLOURS.get(series.code, ACCENT)
        low, high = spec.reference
        if low is not None or high is not None:
            lo = float(low) if low is not None else min(ys + [float(high or 0)]) - 5
            hi = float(high) if high is not None else max(ys + [float(low or 0)]) + 1
            ax.axhspan(lo, hi, color=colour, alpha=0.07, linewidth=0)
        ax.plot(xs, ys, color=colour, linewidth=1.8, marker="o", markersize=4,
                label=spec.label.replace(" BP", ""))
        bad = [(x, y) for x, y, p in zip(xs, ys, series.points, strict=True)
               if p.interpretation not in (None, "N")]
        if bad:
            ax.scatter([b[0] for b in bad], [b[1] for b in bad], color=ALERT_RED, s=30,
                       zorder=3)
