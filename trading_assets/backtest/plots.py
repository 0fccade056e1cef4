"""The equity-curve PNG of a backtest: the strategy beside its baselines, drawdown below."""

from __future__ import annotations

import io
from collections.abc import Mapping

import numpy as np

from trading_assets.backtest.engine import BacktestResult
from trading_assets.core.time import US_PER_DAY

_MAX_POINTS = 2_000


def _thin(length: int) -> np.ndarray:
    """Indices of at most about ``_MAX_POINTS`` evenly spaced bars, the last included: a PNG of 900
    pixels shows no more, and plotting 10M points would take seconds."""
    step = max(1, length // _MAX_POINTS)
    index = np.arange(0, length, step)
    if length and index[-1] != length - 1:
        index = np.append(index, length - 1)
    return index


def equity_curve_png(
    result: BacktestResult, *, baselines: Mapping[str, BacktestResult] | None = None, title: str
) -> bytes:
    """A 900x500 PNG: equity (capital = 100) of ``result`` and of each baseline over days, drawdown below.

    The baselines must be backtests over the same bars (e.g. of
    :func:`trading_assets.backtest.baselines.baseline_signal`). Renders through matplotlib's Agg canvas
    directly: no pyplot, no global backend switch, so it is safe in servers and threads.
    """
    # Imported here: matplotlib costs about 0.3 s to import, and most users of backtests never draw.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(9, 5), dpi=100)
    FigureCanvasAgg(figure)
    equity_ax, drawdown_ax = figure.subplots(
        2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1], "hspace": 0.08}
    )
    equity_ax.set_title(title, fontsize=11)
    n = len(result.equity)
    if n == 0:
        equity_ax.text(0.5, 0.5, "no bars", ha="center", va="center", transform=equity_ax.transAxes)
    else:
        index = _thin(n)
        start = int(result.minute_us[0])
        days = (result.minute_us[index] - start) / US_PER_DAY
        curves = {"strategy": result, **(baselines or {})}
        for label, curve in curves.items():
            if len(curve.equity) != n:
                raise ValueError(f"baseline {label!r} has {len(curve.equity)} bars, the strategy {n}")
            width = 1.2 if label == "strategy" else 0.8
            equity_ax.plot(days, curve.equity[index] / curve.capital * 100.0, linewidth=width, label=label)
        # Drawdown from the running peak over all bars, then thinned (thinning first would miss troughs
        # only between the plotted points; the minimum per step would be exact but cost a reduceat).
        peak = np.maximum(np.maximum.accumulate(result.equity), result.capital)
        drawdown = (result.equity / peak - 1.0) * 100.0
        drawdown_ax.fill_between(days, drawdown[index], 0.0, step="post", color="tab:red", alpha=0.4)
        equity_ax.legend(loc="upper left", fontsize=8, frameon=False)
        day0 = np.datetime64(start, "us").astype("datetime64[m]")
        drawdown_ax.set_xlabel(f"days since {day0} UTC")
        metrics = result.metrics
        equity_ax.text(
            0.99,
            0.02,
            f"return {metrics.total_return:+.2%}  Sharpe {metrics.sharpe:.2f}  "
            f"max DD {metrics.max_drawdown:.2%}  fills {metrics.trades}",
            ha="right",
            va="bottom",
            fontsize=8,
            transform=equity_ax.transAxes,
        )
    equity_ax.set_ylabel("equity (capital = 100)")
    drawdown_ax.set_ylabel("drawdown %", fontsize=9)
    equity_ax.grid(True, linewidth=0.3)
    drawdown_ax.grid(True, linewidth=0.3)
    figure.subplots_adjust(left=0.1, right=0.98, top=0.93, bottom=0.11)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()
