"""Best-of-N selection by sequential knockout (JETTS style), batched across prompts.

Per prompt: the set's candidates in a seeded order (first `n`); the incumbent starts as candidate 0 and is
challenged by candidates 1, 2, ... in one pairwise judgment each; the side on which the incumbent is
shown is seeded per (prompt, round). The winner stays. A tie or an unparseable judgment keeps the
incumbent, and both are counted. Round k judges (incumbent, candidate k) for every prompt in one
`run_agent` call (judge_tasks with chunk_size = the round's size).

Resumable: every judgment is a row of the predictions file (task id f"{set id}#r{k}"); a rerun replays
stored rounds without judging them again, so a kill in round k loses at most round k.
"""

from __future__ import annotations

import random
import sys
from typing import Any

from eval.bon_sets import CandidateSet
from eval.predictions import BenchmarkView
from model.agent import AgentConfig
from model.judging import judge_tasks
from model.records import JudgeTask


def knockout_order(set_id: str, n_candidates: int, n: int, seed: int) -> list[int]:
    """Candidate indices in the seeded order the knockout visits them (the first `n` of a permutation)."""
    idx = list(range(n_candidates))
    random.Random(f"{seed}\x00bon-order\x00{set_id}").shuffle(idx)
    return idx[:n]


def incumbent_side(set_id: str, round_k: int, seed: int) -> int:
    """0: the incumbent is shown as A; 1: as B."""
    return random.Random(f"{seed}\x00bon-side\x00{set_id}\x00{round_k}").randrange(2)


def round_task(
    cs: CandidateSet, incumbent: int, challenger: int, round_k: int, side: int, label: str
) -> JudgeTask:
    """candidates = [incumbent, challenger]; gold = the higher ground-truth score (None if equal)."""
    s_inc, s_ch = cs.scores[incumbent], cs.scores[challenger]
    gold = 0 if s_inc > s_ch else 1 if s_ch > s_inc else None
    return JudgeTask(
        id=f"{cs.id}#r{round_k}",
        source="bon",
        kind="pairwise",
        prompt=cs.prompt,
        candidates=[cs.candidates[incumbent], cs.candidates[challenger]],
        gold=gold,
        domain=cs.domain,
        resources=cs.resources(),
        meta={
            "benchmark": label,
            "set_id": cs.id,
            "round": round_k,
            "incumbent": incumbent,
            "challenger": challenger,
            "incumbent_side": side,
        },
    )


def outcome(row: dict[str, Any]) -> str:
    """challenger | incumbent | tie | unparseable."""
    if not row.get("parse_ok"):
        return "unparseable"
    if str(row.get("verdict") or "").lower() == "tie":
        return "tie"
    return "challenger" if row.get("choice") == 1 else "incumbent"


def run_knockout(
    backend: Any,
    sets: list[CandidateSet],
    setting: str,
    view: BenchmarkView,
    cfg: AgentConfig,
    n: int,
    seed: int,
    model_name: str = "",
    progress: bool = True,
    on_round: Any = None,
) -> list[dict[str, Any]]:
    """Plays every set's knockout; returns bon_metrics groups (+ per-prompt counts)."""
    from tqdm import tqdm

    orders = {cs.id: knockout_order(cs.id, len(cs.candidates), n, seed) for cs in sets}
    pos = {cs.id: 0 for cs in sets}  # incumbent's position in the seeded order
    counts = {cs.id: {"judgments": 0, "unparseable": 0, "ties": 0, "switches": 0} for cs in sets}
    rounds = max((len(o) for o in orders.values()), default=0)
    bar = tqdm(
        range(1, rounds),
        desc=f"bon:{view.benchmark}[{setting}]",
        unit="round",
        disable=not progress,
        file=sys.stderr,
    )
    for k in bar:
        active = [cs for cs in sets if len(orders[cs.id]) > k]
        tasks, shown = [], {}
        for cs in active:
            o = orders[cs.id]
            side = incumbent_side(cs.id, k, seed)
            t = round_task(cs, o[pos[cs.id]], o[k], k, side, view.benchmark)
            tasks.append(t)
            shown[t.id] = [0, 1] if side == 0 else [1, 0]
        stats = judge_tasks(
            backend,
            tasks,
            setting,
            view,
            cfg,
            order_fn=lambda t, shown=shown: [shown[t.id]],
            chunk_size=max(1, len(tasks)),
            progress=False,
            model_name=model_name,
        )
        if on_round:
            on_round(stats)
        stored = {r["task_id"]: r for r in view.rows()}
        for cs, t in zip(active, tasks, strict=True):
            row = stored[t.id]
            _check_replay(row, t)
            c = counts[cs.id]
            c["judgments"] += 1
            result = outcome(row)
            if result == "challenger":
                pos[cs.id] = k
                c["switches"] += 1
            elif result == "tie":
                c["ties"] += 1
            elif result == "unparseable":
                c["unparseable"] += 1
    bar.close()
    return [_group(cs, orders[cs.id], pos[cs.id], counts[cs.id]) for cs in sets]


def _check_replay(row: dict[str, Any], task: JudgeTask) -> None:
    m = row.get("meta") or {}
    if (m.get("incumbent"), m.get("challenger")) != (task.meta["incumbent"], task.meta["challenger"]):
        raise RuntimeError(
            f"{task.id}: the stored judgment compared candidates {m.get('incumbent')} vs "
            f"{m.get('challenger')}, the replay {task.meta['incumbent']} vs {task.meta['challenger']}: "
            "the candidate sets changed since the run started; use a new output_dir"
        )


def _group(cs: CandidateSet, order: list[int], winner_pos: int, counts: dict[str, int]) -> dict[str, Any]:
    return {
        "id": cs.id,
        "order": order,
        "scores": [cs.scores[i] for i in order],
        "winner": winner_pos,
        "winner_candidate": order[winner_pos],
        "answers": [cs.answers[i] for i in order] if cs.answers is not None else None,
        **counts,
    }


def knockout_summary(groups: list[dict[str, Any]]) -> dict[str, Any]:
    """bon_metrics plus the knockout's own counts (ties and unparseable judgments keep the incumbent)."""
    from eval.metrics import bon_metrics
    from eval.metrics.common import safe_div

    out = bon_metrics(groups) if groups else {"groups": 0, "headline": 0.0}
    judgments = sum(g["judgments"] for g in groups)
    for key in ("unparseable", "ties", "switches"):
        total = sum(g[key] for g in groups)
        out[f"{key}_kept" if key != "switches" else key] = total
        out[f"{key}_rate"] = safe_div(total, judgments)
    out["judgments"] = judgments
    return out
