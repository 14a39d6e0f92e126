"""The run's PNGs (matplotlib, Agg): headline bars, the RM-Bench 3x3 heatmaps, position bias per setting."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

STYLES = ("concise", "detailed", "markdown")


def grouped_bars(ax: Any, groups: list[str], series: dict[str, list[float | None]], ylabel: str) -> None:
    """Bars of each series side by side within each group (None = no bar)."""
    n = max(len(series), 1)
    width = 0.8 / n
    x = np.arange(len(groups))
    for k, (name, values) in enumerate(series.items()):
        vals = [np.nan if v is None else 100 * float(v) for v in values]
        bars = ax.bar(x + (k - (n - 1) / 2) * width, vals, width, label=name)
        for b, v in zip(bars, vals, strict=True):
            if not np.isnan(v):
                ax.annotate(
                    f"{v:.0f}", (b.get_x() + b.get_width() / 2, v), ha="center", va="bottom", fontsize=7
                )
    ax.set_xticks(
        x, groups, rotation=20 if len(groups) > 4 else 0, ha="right" if len(groups) > 4 else "center"
    )
    ax.set_ylabel(ylabel)
    finite = [100 * float(v) for values in series.values() for v in values if v is not None]
    ax.set_ylim(min([0.0, *finite]) - (5 if min([0.0, *finite]) < 0 else 0), 105)  # tau-b can be negative
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)


def plot_headlines(metrics: dict[str, Any], path: Path) -> None:
    labels = list(metrics["results"])
    settings = metrics["run"]["settings"]
    series = {s: [metrics["results"][b].get(s, {}).get("headline") for b in labels] for s in settings}
    fig, ax = plt.subplots(figsize=(max(5, 1.6 * len(labels) + 2), 4))
    grouped_bars(ax, labels, series, "headline (%)")
    ax.set_title(f"{metrics['run']['model']}: settings x benchmarks")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_rmbench(metrics: dict[str, Any], path: Path, label: str = "rmbench") -> bool:
    cells = metrics["results"].get(label)
    if not cells:
        return False
    settings = list(cells)
    domains = sorted({d for c in cells.values() for d in c["metrics"]["per_domain"]})
    fig, axes = plt.subplots(
        len(domains), len(settings), figsize=(3.2 * len(settings), 2.9 * len(domains)), squeeze=False
    )
    for j, s in enumerate(settings):
        for i, d in enumerate(domains):
            ax = axes[i][j]
            dm = cells[s]["metrics"]["per_domain"].get(d)
            mat = (
                np.array([[np.nan if v is None else 100 * v for v in row] for row in dm["matrix"]])
                if dm
                else np.full((3, 3), np.nan)
            )
            ax.imshow(mat, vmin=0, vmax=100, cmap="viridis")
            for (r, c), v in np.ndenumerate(mat):
                if not np.isnan(v):
                    ax.text(
                        c, r, f"{v:.0f}", ha="center", va="center", color="w" if v < 60 else "k", fontsize=8
                    )
            ax.set_xticks(range(3), STYLES, fontsize=7)
            ax.set_yticks(range(3), STYLES, fontsize=7)
            ax.set_title(f"{s} / {d}", fontsize=8)
            if j == 0:
                ax.set_ylabel("chosen style", fontsize=7)
            if i == len(domains) - 1:
                ax.set_xlabel("rejected style", fontsize=7)
    fig.suptitle("RM-Bench accuracy (%) per (chosen style, rejected style); upper right = hard", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return True


def plot_position_bias(metrics: dict[str, Any], path: Path) -> None:
    labels = list(metrics["results"])
    settings = metrics["run"]["settings"]
    fig, axes = plt.subplots(1, 2, figsize=(max(8, 2.4 * len(settings) + 4), 4))
    for ax, key, title in (
        (axes[0], "position_a_rate", "position-A rate (%)"),
        (axes[1], "order_consistency", "order consistency (%)"),
    ):
        series = {b: [_extra(metrics, b, s, key) for s in settings] for b in labels}
        grouped_bars(ax, settings, series, title)
        ax.set_title(title)
    axes[0].axhline(50, color="gray", lw=0.8, ls="--")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _extra(metrics: dict[str, Any], label: str, setting: str, key: str) -> float | None:
    cell = metrics["results"][label].get(setting)
    if cell is None:
        return None
    if key == "order_consistency" and not cell["extra"]["order_consistency_tasks"]:
        return None
    return cell["extra"][key]


def make_plots(metrics: dict[str, Any], out: Path) -> list[str]:
    """Writes the PNGs that have data; returns their file names."""
    if not metrics["results"]:
        return []
    made = []
    plot_headlines(metrics, out / "headlines.png")
    made.append("headlines.png")
    if plot_rmbench(metrics, out / "rmbench_heatmap.png"):
        made.append("rmbench_heatmap.png")
    plot_position_bias(metrics, out / "position_bias.png")
    made.append("position_bias.png")
    return made
