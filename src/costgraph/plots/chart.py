"""A chart: the data behind a plot, and how to draw it with matplotlib.

The data is computed when the chart is made; matplotlib is imported only when a figure is
drawn, so ``chart.to_csv()`` works without the ``plot`` extra. Figures are drawn on the Agg
canvas directly (no pyplot, no global backend switch), so plotting never changes the
backend of a caller's session and works without a display.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..errors import MissingExtraError, QueryError
from ..files import writing
from ..table import Table
from ..units import format_unit

FIGSIZE = (7.5, 4.6)  # inches; at DPI a README image stays well under 150 KB
DPI = 110
IMAGE_SUFFIXES = (".png", ".svg", ".pdf")
DATA_SUFFIXES = (".csv", ".json")


def require_matplotlib():
    """The matplotlib module; MissingExtraError with the install command when it is absent.

    Callers that will draw ask first, so the error comes before the work, not after it.
    """
    try:
        import matplotlib
    except ImportError:
        raise MissingExtraError("plotting", "plot", "matplotlib") from None
    return matplotlib


def matplotlib_figure():
    """A new matplotlib Figure on the Agg canvas; fails with the fix when matplotlib is absent."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise MissingExtraError("plotting", "plot", "matplotlib") from None
    figure = Figure(figsize=FIGSIZE, dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


@dataclass(frozen=True)
class Chart:
    """A plot's data and the function that draws it.

    Attributes
    ----------
    kind : str
        Which plot (``context``, ``batch``, ``roofline``, ``stack``, ``regions``,
        ``tornado``, ``uncertainty``, ``pareto``).
    title : str
        The title drawn on the figure; it names the scenario.
    data : Table
        What is drawn, with units; ``to_csv`` writes it.
    painter : callable
        ``painter(figure)`` draws the chart into a matplotlib Figure.
    """

    kind: str
    title: str
    data: Table
    painter: Callable

    def figure(self):
        """Draw and return a matplotlib Figure (needs the ``plot`` extra)."""
        figure = matplotlib_figure()
        self.painter(figure)
        figure.suptitle(self.title, fontsize=10)
        return figure

    def save(self, path: str | Path) -> Path:
        """Write the chart to ``path``: an image (.png, .svg, .pdf) or its data (.csv, .json)."""
        path = Path(path)
        suffix = path.suffix.lower()
        if suffix == ".csv":
            self.data.to_csv(path)
        elif suffix == ".json":
            self.data.to_json(path)
        elif suffix in IMAGE_SUFFIXES:
            matplotlib = require_matplotlib()
            # a fixed hash salt and no date keep SVG output identical run to run
            with matplotlib.rc_context({"svg.hashsalt": "costgraph"}):
                metadata = {"Date": None} if suffix in (".svg", ".pdf") else {}
                figure = self.figure()
                with writing(path):
                    figure.savefig(path, metadata=metadata)
        else:
            raise QueryError(f"cannot write a chart to {path.name}",
                             f"use one of {', '.join(IMAGE_SUFFIXES + DATA_SUFFIXES)}")
        return path

    def to_csv(self, path=None):
        return self.data.to_csv(path)


def label(model, name: str, words: str | None = None) -> str:
    """An axis label with the unit: ``context_len [token]``."""
    unit = format_unit(model.ruleset.quantities[name].unit)
    text = words or name
    return f"{text} [{unit}]" if unit else text
