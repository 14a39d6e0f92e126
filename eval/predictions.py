"""One run's predictions file: every judgment of every (benchmark, setting), append-only and resumable.

`predictions.jsonl` holds model.judging.judgment_row rows with `benchmark` set to the run's benchmark
label. Its key adds (benchmark, setting) to model.judging.judgment_key, so one file holds them all.
`BenchmarkView` gives judge_tasks the `done` / `write_many` of one (benchmark, setting): a rerun skips
what is there, and a kill loses at most the chunk in flight (ResumableWriter truncates a partial line).
`timing.jsonl` appends the wall time of every finished chunk (judgments per second over a run that was
killed and resumed are then the sum over its finished chunks).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from model.jsonl import ResumableWriter
from model.judging import judgment_key

PREDICTIONS = "predictions.jsonl"
TIMING = "timing.jsonl"


def prediction_key(row: dict[str, Any]) -> tuple:
    return (row["benchmark"], row["setting"], *judgment_key(row))


def open_predictions(out_dir: str | Path) -> ResumableWriter:
    return ResumableWriter(Path(out_dir) / PREDICTIONS, prediction_key)


class BenchmarkView:
    """The slice of the predictions writer for one (benchmark label, setting): what judge_tasks needs."""

    def __init__(self, writer: ResumableWriter, benchmark: str, setting: str):
        self.writer, self.benchmark, self.setting = writer, benchmark, setting
        self.done = {judgment_key(r) for r in self.rows()}

    def rows(self) -> list[dict[str, Any]]:
        return [
            r for r in self.writer.rows if r["benchmark"] == self.benchmark and r["setting"] == self.setting
        ]

    def write_many(self, rows: Iterable[dict[str, Any]]) -> None:
        rows = [{**r, "benchmark": self.benchmark} for r in rows]
        for r in rows:
            if r["setting"] != self.setting:
                raise ValueError(f"row of setting {r['setting']!r} written to the {self.setting!r} view")
        self.writer.write_many(rows)
        self.done.update(judgment_key(r) for r in rows)


def log_timing(out_dir: str | Path, benchmark: str, setting: str, stats: dict[str, Any]) -> None:
    """Appends one finished chunk's throughput numbers (from judge_tasks)."""
    if not stats.get("judgments"):
        return
    row = {
        "benchmark": benchmark,
        "setting": setting,
        "judgments": stats["judgments"],
        "wall_s": stats["wall_s"],
        "generated_tokens": stats.get("generated_tokens", 0),
        "time": round(time.time(), 3),
    }
    with open(Path(out_dir) / TIMING, "a", encoding="utf-8") as f:
        f.write(json.dumps(row) + "\n")


def read_timing(out_dir: str | Path) -> dict[tuple[str, str], dict[str, float]]:
    """(benchmark, setting) -> summed judgments, wall_s, generated_tokens (a torn last line is ignored)."""
    path = Path(out_dir) / TIMING
    out: dict[tuple[str, str], dict[str, float]] = {}
    if not path.exists():
        return out
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            continue
        acc = out.setdefault(
            (row["benchmark"], row["setting"]), {"judgments": 0, "wall_s": 0.0, "generated_tokens": 0}
        )
        for k in acc:
            acc[k] += row.get(k, 0)
    return out


def read_predictions(out_dir: str | Path) -> list[dict[str, Any]]:
    """All complete rows (for reports made after the run)."""
    path = Path(out_dir) / PREDICTIONS
    if not path.exists():
        return []
    rows = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.endswith("\n"):
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError:
                    break
    return rows


__all__ = [
    "BenchmarkView",
    "open_predictions",
    "prediction_key",
    "log_timing",
    "read_timing",
    "read_predictions",
    "PREDICTIONS",
    "TIMING",
]
