"""Scores of one run: per benchmark x setting, the official metric and the judge-behaviour columns.

Rows are the run's predictions restricted to the units the manifest lists (a predictions file may also
hold judgments of a larger earlier selection). Extra columns, over all judgments of the cell:
parse-failure rate, position-A rate, order consistency, tie rate, a constant answer (model.judgment_stats), tool
calls / invalid tool calls / resources used / steps per judgment, forced finalizations, prompt and
generated tokens, and judgments and generated tokens per second (from timing.jsonl: wall time of the
chunks that finished).
"""

from __future__ import annotations

import inspect
from typing import Any

from eval.metrics import METRICS
from model.judgment_stats import behaviour, safe_div

Row = dict[str, Any]


def extra_columns(rows: list[Row], timing: dict[str, float] | None = None) -> dict[str, Any]:
    stats = behaviour(rows)
    timing = timing or {}
    wall = float(timing.get("wall_s", 0.0))
    generated = stats["generated_tokens"]
    return {
        **{k: v for k, v in stats.items() if k not in ("pairs", "pair_accuracy", "single_order_accuracy")},
        "generated_tokens_per_judgment": safe_div(generated, len(rows)),
        "timed_judgments": int(timing.get("judgments", 0)),
        "wall_s": round(wall, 3),
        "judgments_per_s": safe_div(timing.get("judgments", 0), wall),
        "generated_tokens_per_s": safe_div(timing.get("generated_tokens", 0), wall),
    }


def official_metrics(metric: str, rows: list[Row], seed: int) -> dict[str, Any]:
    """The registry metric; `seed` is passed to those that bootstrap (the others keep official seeds)."""
    fn = METRICS[metric]
    if "seed" in inspect.signature(fn).parameters and metric != "if_rewardbench":
        return fn(rows, seed=seed)
    return fn(rows)


def selected_rows(rows: list[Row], label: str, setting: str, entry: dict[str, Any]) -> list[Row]:
    """The cell's rows whose task (or best-of-N set) is in the manifest's selection."""
    if entry.get("kind") == "bon":
        keep = set(entry.get("set_ids") or [])
        return [
            r
            for r in rows
            if r["benchmark"] == label
            and r["setting"] == setting
            and (r.get("meta") or {}).get("set_id") in keep
        ]
    keep = set(entry.get("task_ids") or [])
    return [r for r in rows if r["benchmark"] == label and r["setting"] == setting and r["task_id"] in keep]


def compute_results(
    manifest: dict[str, Any],
    rows: list[Row],
    timing: dict[tuple[str, str], dict[str, float]],
    bon_groups: dict[tuple[str, str], list[dict[str, Any]]],
    seed: int = 0,
) -> dict[str, Any]:
    """results[label][setting] = {headline, metric, metrics, extra} for every judged cell."""
    from eval.bon import knockout_summary

    results: dict[str, Any] = {}
    for label, entry in manifest["benchmarks"].items():
        for setting in manifest["settings"]:
            cell_rows = selected_rows(rows, label, setting, entry)
            if entry.get("kind") == "bon":
                groups = bon_groups.get((label, setting))
                if groups is None:
                    continue
                metrics = knockout_summary(groups)
            elif not cell_rows:
                continue
            else:
                metrics = official_metrics(entry["metric"], cell_rows, seed)
            results.setdefault(label, {})[setting] = {
                "headline": metrics.get("headline"),
                "metric": entry["metric"],
                "complete": entry.get("kind") == "bon"
                or len(cell_rows) >= entry.get("judgments_expected", 0),
                "metrics": metrics,
                "extra": extra_columns(cell_rows, timing.get((label, setting))),
            }
    return results
