"""Statistics of judgments, computed once for every stage: votes and pair accuracy (the JudgeBench rule),
parse failures, position bias, order consistency, constant answers, tool use.

A judgment row is what model.judging.judgment_row writes (eval predictions, model.judge output): it
carries `task_id`, `kind`, `order` (`order[k]` = candidate index shown at label k), `verdict`, `choice`
(candidate index picked, None for a tie or an unparseable answer), `parse_ok`, `gold`, `tool_calls`,
`invalid_tool_calls`, `steps`, `forced_final`, `used_resources`, `completion_tokens`. Everything here is
pure: rows in, plain dicts of ints/floats out (fractions in [0, 1]).
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from typing import Any

Row = dict[str, Any]

TIE = "tie"


def is_tie(row: Row) -> bool:
    """A parsed judgment that declares a tie."""
    return bool(row.get("parse_ok")) and str(row.get("verdict") or "").strip().lower() == TIE


def vote(row: Row) -> int | None:
    """Vote of one pairwise judgment (JudgeBench convention, ScalerLab/JudgeBench utils/metrics.py).

    +1 if the judge picked the gold candidate, -1 if it picked the other one, 0 for a tie,
    None (no vote) when the answer did not parse or named no candidate.
    """
    if not row.get("parse_ok"):
        return None
    if is_tie(row):
        return 0
    choice = row.get("choice")
    if choice is None or row.get("gold") is None:
        return None
    return 1 if choice == row["gold"] else -1


def is_correct(row: Row) -> bool:
    """The judgment picked the gold candidate (unparseable, tie and wrong are all False)."""
    return vote(row) == 1


def group_by(rows: Iterable[Row], key: Callable[[Row], Any]) -> dict[Any, list[Row]]:
    """Rows grouped by `key(row)`, groups and rows in first-seen order."""
    groups: dict[Any, list[Row]] = defaultdict(list)
    for row in rows:
        groups[key(row)].append(row)
    return dict(groups)


def group_by_task(rows: Iterable[Row]) -> dict[str, list[Row]]:
    """Judgments of the same task (e.g. the two orders of one pair) grouped by `task_id`."""
    return group_by(rows, lambda r: r["task_id"])


def meta(row: Row, key: str, default: Any = None) -> Any:
    return (row.get("meta") or {}).get(key, default)


def one_per_order(rows: Sequence[Row]) -> list[Row]:
    """The first judgment of each distinct shown order, in first-seen order."""
    seen: set[tuple[int, ...]] = set()
    out = []
    for row in rows:
        order = tuple(row.get("order") or ())
        if order not in seen:
            seen.add(order)
            out.append(row)
    return out


def vote_sum(rows: Sequence[Row]) -> int:
    """Sum of the votes of one task's judgments (no vote counts as 0)."""
    return sum(v for v in (vote(r) for r in rows) if v is not None)


def pair_correct(rows: Sequence[Row]) -> bool:
    """Both-orders pair accuracy (JudgeBench compute_final_metrics): correct iff vote sum > 0.

    right+wrong -> 0 -> not correct; right+tie -> 1 -> correct; tie+tie -> 0 -> not correct;
    all judgments unparseable -> 0 -> not correct.
    """
    return vote_sum(rows) > 0


def pair_outcomes(rows: Iterable[Row]) -> dict[str, float]:
    """task_id -> 1.0 / 0.0: pair_correct of each task's judgments (the units a paired bootstrap resamples)."""
    return {tid: float(pair_correct(t)) for tid, t in group_by_task(rows).items()}


def safe_div(num: float, den: float) -> float:
    return float(num) / float(den) if den else 0.0


def mean_or_none(values: Iterable[float | None]) -> float | None:
    vals = [float(v) for v in values if v is not None]
    return sum(vals) / len(vals) if vals else None


def judgment_stats(rows: Sequence[Row]) -> dict[str, Any]:
    """Parse failures, position bias, order consistency and ties over all judgments.

    position_a_rate: share of parsed pairwise/listwise judgments whose verdict is "A" (pointwise
      ratings have no slot and are left out). position_rates gives every slot.
    order_consistency: over pairwise tasks judged in two distinct orders with both judgments parsed,
      the share where the same candidate was chosen (tie+tie counts as consistent, as JudgeBench's
      `decision1 != decision2` inconsistency count does).
    tie_rate: share of parsed judgments that declare a tie.
    """
    n = len(rows)
    parsed = [r for r in rows if r.get("parse_ok")]
    labeled = [r for r in parsed if r.get("kind") in ("pairwise", "listwise")]
    slot_counts: dict[str, int] = defaultdict(int)
    for r in labeled:
        slot_counts[str(r.get("verdict"))] += 1
    position_rates = {k: safe_div(v, len(labeled)) for k, v in sorted(slot_counts.items())}

    consistent = compared = 0
    pairwise = [r for r in rows if r.get("kind") == "pairwise"]
    for task_rows in group_by_task(pairwise).values():
        both = one_per_order([r for r in task_rows if r.get("parse_ok")])
        if len(both) >= 2:
            compared += 1
            consistent += both[0].get("choice") == both[1].get("choice")

    return {
        "judgments": n,
        "parse_failures": n - len(parsed),
        "parse_failure_rate": safe_div(n - len(parsed), n),
        "position_a_rate": safe_div(slot_counts.get("A", 0), len(labeled)),
        "position_rates": position_rates,
        "order_consistency": safe_div(consistent, compared),
        "order_consistency_tasks": compared,
        "tie_rate": safe_div(sum(is_tie(r) for r in parsed), len(parsed)),
    }


def _mean(rows: Sequence[Row], fn: Callable[[Row], float]) -> float:
    return safe_div(sum(fn(r) for r in rows), len(rows))


def constant_answer(rows: Sequence[Row]) -> str | None:
    """The label a judge gave to every parsed pairwise judgment, when it gave only one (a collapsed judge:
    its accuracy says nothing about judging); None otherwise."""
    labels = {str(r.get("verdict")) for r in rows if r.get("parse_ok") and r.get("kind", "pairwise") == "pairwise"}
    n = sum(1 for r in rows if r.get("parse_ok"))
    return next(iter(labels)) if len(labels) == 1 and n >= 4 else None


def behaviour(rows: Sequence[Row]) -> dict[str, Any]:
    """judgment_stats plus pair accuracy, single-order accuracy and tool use per judgment."""
    pairwise = [r for r in rows if r.get("kind", "pairwise") == "pairwise" and r.get("gold") is not None]
    pairs = [pair_correct(t) for t in group_by_task(pairwise).values()]
    graded = [r for r in rows if r.get("gold") is not None]
    return {
        **judgment_stats(rows),
        "pairs": len(pairs),
        "pair_accuracy": safe_div(sum(pairs), len(pairs)),
        "single_order_accuracy": safe_div(sum(is_correct(r) for r in graded), len(graded)),
        "constant_answer": constant_answer(rows),
        "tool_calls_per_judgment": _mean(rows, lambda r: r.get("tool_calls") or 0),
        "invalid_tool_calls_per_judgment": _mean(rows, lambda r: r.get("invalid_tool_calls") or 0),
        "resources_per_judgment": _mean(rows, lambda r: len(r.get("used_resources") or [])),
        "resource_use_rate": _mean(rows, lambda r: bool(r.get("used_resources"))),
        "steps_per_judgment": _mean(rows, lambda r: r.get("steps") or 0),
        "forced_final_rate": _mean(rows, lambda r: bool(r.get("forced_final"))),
        "prompt_tokens_per_judgment": _mean(rows, lambda r: r.get("prompt_tokens") or 0),
        "generated_tokens": sum(int(r.get("completion_tokens") or 0) for r in rows),
        "sandbox_isolation": sorted({lvl for r in rows for lvl in str(r.get("isolation") or "").split(",") if lvl}),
    }
