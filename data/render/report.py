"""What data.render measured: token statistics, length histogram, composition counts, summary table.

Everything here is a pure function of the rendered rows, so render_report.json is as deterministic as
the data (no timings: those go to the console).
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

from data.filters import FilterStep, is_direct, verdict_label
from model.records import JudgeTask, Trajectory


def histogram(lengths: Iterable[int], first_edge: int = 128) -> dict[str, int]:
    """Counts per power-of-two bucket: "1-128", "129-256", ... (only up to the longest example)."""
    lengths = sorted(lengths)
    if not lengths:
        return {}
    out: dict[str, int] = {}
    lo, hi = 1, first_edge
    i = 0
    while i < len(lengths):
        n = 0
        while i < len(lengths) and lengths[i] <= hi:
            n += 1
            i += 1
        out[f"{lo}-{hi}"] = n
        lo, hi = hi + 1, hi * 2
    return out


def _percentile(sorted_values: Sequence[int], q: float) -> int:
    if not sorted_values:
        return 0
    return sorted_values[min(len(sorted_values) - 1, int(q * (len(sorted_values) - 1) + 0.5))]


def token_stats(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    lengths = sorted(r["n_tokens"] for r in rows)
    tokens = sum(lengths)
    trained = sum(r["n_trained"] for r in rows)
    return {
        "examples": len(rows), "tokens": tokens, "trained_tokens": trained,
        "trained_fraction": round(trained / tokens, 4) if tokens else 0.0,
        "mean_tokens": round(tokens / len(rows), 1) if rows else 0.0,
        "p50_tokens": _percentile(lengths, 0.5), "p95_tokens": _percentile(lengths, 0.95),
        "max_tokens": lengths[-1] if lengths else 0,
        "length_histogram": histogram(lengths),
    }


def composition(kept: Sequence[Trajectory], tasks: dict[str, JudgeTask]) -> dict[str, dict[str, int]]:
    """Counts of the kept skill trajectories by source, setting, domain, verdict position, decision."""
    def count(key) -> dict[str, int]:
        return dict(sorted(Counter(key(t) for t in kept).items()))
    return {
        "source": count(lambda t: tasks[t.task_id].source),
        "setting": count(lambda t: t.setting),
        "domain": count(lambda t: tasks[t.task_id].domain),
        "verdict_position": count(lambda t: verdict_label(t, tasks[t.task_id]) or str(t.verdict)),
        "decision": count(lambda t: "direct" if is_direct(t) else "tool_use"),
        "tool_calls": count(lambda t: str(sum(len(m.get("tool_calls") or []) for m in t.messages))),
    }


def summary_table(report: dict[str, Any]) -> str:
    """A short plain-text table of the formats and the filters."""
    lines = [f"{'format':<11} {'examples':>9} {'tokens':>11} {'mean':>7} {'max':>6} {'trained':>8}"]
    for name, st in report["formats"].items():
        if "tokens" in st:
            lines.append(f"{name:<11} {st['examples']:>9} {st['tokens']:>11} {st['mean_tokens']:>7} "
                         f"{st['max_tokens']:>6} {st['trained_fraction']:>8.1%}")
        else:
            lines.append(f"{name:<11} {st['rows']:>9}")
    lines.append("")
    lines.append(f"{'filter':<18} {'removed':>8} {'kept':>8}  reasons")
    for s in report["filters"]:
        reasons = ", ".join(f"{k}={v}" for k, v in s["reasons"].items())
        lines.append(f"{s['name']:<18} {s['removed']:>8} {s['kept']:>8}  {reasons}")
    return "\n".join(lines)


def build_report(*, input_summary: dict[str, Any], steps: Sequence[FilterStep], kept: Sequence[Trajectory],
                 tasks: dict[str, JudgeTask], formats: dict[str, Any], tokenizer: dict[str, Any],
                 seed: int, eot_untrained: dict[str, int]) -> dict[str, Any]:
    return {
        "input": input_summary,
        "filters": [s.to_dict() for s in steps],
        "kept": {"trajectories": len(kept), "tasks": len({t.task_id for t in kept}),
                 "task_settings": len({(t.task_id, t.setting) for t in kept})},
        "formats": formats,
        "composition": composition(kept, tasks),
        "end_of_turn_untrained": eot_untrained,
        "tokenizer": tokenizer,
        "seed": seed,
    }
