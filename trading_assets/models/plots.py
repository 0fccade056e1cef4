"""Pictures of a trained model for MLflow and the Dagster UI: feature importance as a PNG."""

from __future__ import annotations

import io
from collections.abc import Mapping


def importance_png(importance: Mapping[str, float], *, title: str) -> bytes:
    """A horizontal bar chart of gain importance per feature, largest on top, as PNG bytes.

    Renders through matplotlib's Agg canvas directly (no pyplot): safe in servers and threads.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    ordered = sorted(importance.items(), key=lambda item: item[1])
    figure = Figure(figsize=(7, max(2.5, 0.28 * len(ordered) + 1.0)), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.subplots()
    axes.barh([name for name, _ in ordered], [value for _, value in ordered], color="#4c72b0")
    axes.set_xlabel("share of total gain")
    axes.set_title(title, fontsize=11)
    axes.grid(True, axis="x", linewidth=0.3)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()
