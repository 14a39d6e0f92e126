"""The trajectory filters of data.render, one small function each, and the pipeline that runs them.

Every filter takes the surviving trajectories and returns `(kept, removed)` where `removed` counts the
dropped trajectories by reason; `apply_filters` records one `FilterStep` per filter for the report.
Choices (which sample, which task of an over-represented source, ...) sort by `seeded_key`, a hash of
(seed, identity): the result depends on the seed and the data, never on the input order or on
Python's salted hashes.

Units: correctness, sample choice, direct share and positions act on trajectories; order consistency
and length act on a (task, setting) group so that both orders of a task stay together; held-out
overlap, dedup and source balance act on tasks (every trajectory of a dropped task goes).
"""
from __future__ import annotations

import hashlib
import json
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from data.config import FilterConfig
from model.protocol import TOOL_SETTINGS
from model.records import LABELS, JudgeTask, Trajectory

Tasks = dict[str, JudgeTask]
Result = tuple[list[Trajectory], Counter]


@dataclass
class FilterStep:
    name: str
    removed: int
    kept: int
    reasons: dict[str, int]
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        d = {"name": self.name, "removed": self.removed, "kept": self.kept, "reasons": self.reasons}
        return d | ({"details": self.details} if self.details else {})


def seeded_key(seed: int, *parts: Any) -> str:
    return hashlib.sha256(json.dumps([seed, *parts], default=str).encode("utf-8")).hexdigest()


def group_key(t: Trajectory) -> tuple[str, str]:
    return (t.task_id, t.setting)


def sample_index(t: Trajectory) -> int:
    return int((t.meta or {}).get("sample_index", 0) or 0)


def traj_id(t: Trajectory) -> tuple:
    return (t.task_id, t.setting, tuple(t.order), sample_index(t))


def verdict_label(t: Trajectory, task: JudgeTask) -> str | None:
    """The display label the trajectory chose, if it is one of the task's labels (not tie / score)."""
    labels = LABELS[: len(task.candidates)]
    return t.verdict if task.kind != "pointwise" and t.verdict in labels else None


def is_direct(t: Trajectory) -> bool:
    """Decided without evidence: no tool call other than final_answer."""
    for m in t.messages:
        for tc in m.get("tool_calls") or []:
            if (tc.get("function") or tc).get("name") != "final_answer":
                return False
    return True


def _split(trajs: Iterable[Trajectory], drop: Callable[[Trajectory], str | None]) -> Result:
    kept, removed = [], Counter()
    for t in trajs:
        reason = drop(t)
        if reason:
            removed[reason] += 1
        else:
            kept.append(t)
    return kept, removed


# ------------------------------------------------------------------------------------------ filters

def skill_settings(trajs: list[Trajectory], settings: Iterable[str] = TOOL_SETTINGS) -> Result:
    """Keeps skill-execution trajectories (a baseline teacher run is not skill data)."""
    allowed = set(settings)
    return _split(trajs, lambda t: None if t.setting in allowed else f"setting_{t.setting}")


def correctness(trajs: list[Trajectory], tasks: Tasks, require_correct: bool = True,
                drop_forced: bool = True) -> Result:
    """Drops unparsed verdicts (always: they have no label to train), and when `require_correct`
    wrong ones, forced finalizations, unverifiable ones (no gold, pointwise) and rows whose recorded
    `correct` flag disagrees with the verdict recomputed from order and gold."""
    def drop(t: Trajectory) -> str | None:
        task = tasks[t.task_id]
        label = verdict_label(t, task)
        if not t.parse_ok or t.verdict is None:
            return "unparsed"
        if not require_correct:
            return None if label or task.kind == "pointwise" else "no_label"
        if drop_forced and t.forced_final:
            return "forced_final"
        if task.gold is None or task.kind == "pointwise":
            return "unverifiable"
        if label is None:
            return "tie" if t.verdict == "tie" else "wrong"
        right = t.order[LABELS.index(label)] == task.gold
        if right != bool(t.correct):
            return "inconsistent_record"
        return None if right else "wrong"
    return _split(trajs, drop)


def order_consistency(trajs: list[Trajectory], tasks: Tasks) -> Result:
    """Keeps a (task, setting) only if a correct trajectory exists for every order the task is judged
    in (both orders for pairwise); then all of them stay, which also balances positions."""
    right: dict[tuple, set] = defaultdict(set)
    for t in trajs:
        task = tasks[t.task_id]
        label = verdict_label(t, task)
        if label is not None and t.parse_ok and t.order[LABELS.index(label)] == task.gold:
            right[group_key(t)].add(tuple(t.order))

    def drop(t: Trajectory) -> str | None:
        need = {tuple(o) for o in tasks[t.task_id].orders(both=True)}
        return None if need <= right[group_key(t)] else "not_right_in_all_orders"
    return _split(trajs, drop)


def conversation_chars(t: Trajectory) -> int:
    return len(json.dumps(t.messages, ensure_ascii=False, sort_keys=True))


def pick_sample(trajs: list[Trajectory], seed: int, how: str = "shortest") -> Result:
    """One trajectory per (task, setting, order): the shortest conversation (ties: seeded), or a
    seeded random one (`how="random"`, which does not favour short, tool-free runs)."""
    if how not in ("shortest", "random"):
        raise ValueError(f"pick_sample must be 'shortest' or 'random', got {how!r}")
    best: dict[tuple, tuple[tuple, Trajectory]] = {}
    for t in trajs:
        k = (t.task_id, t.setting, tuple(t.order))
        rank = (conversation_chars(t) if how == "shortest" else 0, seeded_key(seed, "pick", *traj_id(t)))
        if k not in best or rank < best[k][0]:
            best[k] = (rank, t)
    chosen = {id(t) for _, t in best.values()}
    return _split(trajs, lambda t: None if id(t) in chosen else "extra_sample")


def heldout_overlap(trajs: list[Trajectory], tasks: Tasks, heldout_prompts: Sequence[str], threshold: float,
                    seed: int = 0) -> tuple[list[Trajectory], Counter, dict[str, Any]]:
    """Drops train tasks whose prompt is an exact or near duplicate of a held-out prompt: the same
    problem under another upstream id (so on the train side of an id-hashed split) would leak the
    held-out evaluation into training."""
    from data.near_dup import first_of_duplicates

    present = {t.task_id for t in trajs}
    refs = [(("heldout", i), text) for i, text in enumerate(heldout_prompts)]
    texts = refs + [(tid, task.prompt_text) for tid, task in tasks.items() if tid in present]
    dropped = first_of_duplicates(texts, threshold, seed)
    hits = {k: (f"heldout_{reason}", kept) for k, (reason, kept) in dropped.items()
            if isinstance(k, str) and isinstance(kept, tuple)}  # a train task shadowed by a held-out one
    kept, removed = _split(trajs, lambda t: hits[t.task_id][0] if t.task_id in hits else None)
    return kept, removed, {"tasks_removed": len(hits), "examples": sorted(hits)[:10]}


def dedup(trajs: list[Trajectory], tasks: Tasks, threshold: float, seed: int = 0, near: bool = True
          ) -> tuple[list[Trajectory], Counter, dict[str, Any]]:
    """Exact and near-duplicate prompts among the tasks that still have trajectories, in tasks.jsonl
    order: the first task is kept; later duplicates go with all their trajectories."""
    from data.near_dup import first_of_duplicates

    present = {t.task_id for t in trajs}
    texts = [(tid, task.prompt_text) for tid, task in tasks.items() if tid in present]
    dropped = first_of_duplicates(texts, threshold, seed=seed, near=near)
    kept, removed = _split(trajs, lambda t: dropped[t.task_id][0] if t.task_id in dropped else None)
    examples = [{"dropped": k, "kept": v[1], "reason": v[0]} for k, v in list(dropped.items())[:10]]
    return kept, removed, {"tasks_removed": len(dropped), "examples": examples}


def length(trajs: list[Trajectory], n_tokens: dict[int, int | None], max_tokens: int,
           keep_pairs: bool = True) -> Result:
    """Drops rendered examples longer than `max_tokens` (`n_tokens` by id(trajectory); None = could not
    be rendered). With `keep_pairs`, the other orders of that (task, setting) go too."""
    def own(t: Trajectory) -> str | None:
        n = n_tokens.get(id(t))
        return "render_failed" if n is None else ("too_long" if n > max_tokens else None)

    bad_groups = {group_key(t) for t in trajs if own(t)} if keep_pairs else set()
    return _split(trajs, lambda t: own(t) or ("pair_too_long" if group_key(t) in bad_groups else None))


def capped_counts(counts: dict[str, int], share: float) -> dict[str, int]:
    """Largest counts <= the input such that no key exceeds `share` of the total (fixed point).
    With k keys a share below 1/k cannot be met; 1/k is used then."""
    if not counts:
        return {}
    share = max(share, 1.0 / len(counts))
    cur = dict(counts)
    while True:
        cap = int(share * sum(cur.values()) + 1e-9)
        nxt = {k: min(v, cap) for k, v in cur.items()}
        if nxt == cur:
            return cur
        cur = nxt


def balance_sources(trajs: list[Trajectory], tasks: Tasks, max_share: float, seed: int
                    ) -> tuple[list[Trajectory], Counter, dict[str, Any]]:
    """Caps every source at `max_share` of the trajectories by dropping whole tasks (seeded choice)."""
    per_task: dict[str, int] = Counter(t.task_id for t in trajs)
    counts = Counter()
    for tid, n in per_task.items():
        counts[tasks[tid].source] += n
    if len(counts) < 2:
        return list(trajs), Counter(), {"skipped": "fewer than two sources"}
    caps = capped_counts(dict(counts), max_share)
    dropped: set[str] = set()
    for source, cap in caps.items():
        have = counts[source]
        for tid in sorted((t for t in per_task if tasks[t].source == source),
                          key=lambda t: seeded_key(seed, "source", t)):
            if have <= cap:
                break
            dropped.add(tid)
            have -= per_task[tid]
    kept, removed = _split(trajs, lambda t: f"source_{tasks[t.task_id].source}" if t.task_id in dropped
                           else None)
    return kept, removed, {"caps": {k: v for k, v in caps.items() if v < counts[k]}}


def direct_share(trajs: list[Trajectory], max_share: float, seed: int) -> Result:
    """Caps the share of trajectories decided without tools (besides final_answer) at `max_share`."""
    direct = [t for t in trajs if is_direct(t)]
    tool = len(trajs) - len(direct)
    if max_share >= 1.0 or not direct:
        return list(trajs), Counter()
    allowed = int(max_share * tool / (1.0 - max_share) + 1e-9)  # direct / (direct + tool) <= max_share
    if len(direct) <= allowed:
        return list(trajs), Counter()
    ranked = sorted(direct, key=lambda t: seeded_key(seed, "direct", *traj_id(t)))
    drop = {id(t) for t in ranked[allowed:]}
    return _split(trajs, lambda t: "direct_over_cap" if id(t) in drop else None)


def balance_positions(trajs: list[Trajectory], tasks: Tasks, seed: int) -> Result:
    """Equal counts of each verdict label among tasks with the same number of candidates (A = B for
    pairs): the majority labels are cut down to the rarest present label (seeded choice)."""
    by_n: dict[int, dict[str, list[Trajectory]]] = defaultdict(lambda: defaultdict(list))
    for t in trajs:
        task = tasks[t.task_id]
        label = verdict_label(t, task)
        if label is not None:
            by_n[len(task.candidates)][label].append(t)
    drop: dict[int, str] = {}
    for groups in by_n.values():
        target = min(len(v) for v in groups.values())
        for label, items in groups.items():
            ranked = sorted(items, key=lambda t: seeded_key(seed, "position", *traj_id(t)))
            drop.update({id(t): f"excess_{label}" for t in ranked[target:]})
    return _split(trajs, lambda t: drop.get(id(t)))


# ------------------------------------------------------------------------------------------ pipeline

def apply_filters(trajs: list[Trajectory], tasks: Tasks, cfg: FilterConfig, seed: int,
                  n_tokens: Callable[[list[Trajectory]], dict[int, int | None]] | None = None,
                  heldout_prompts: Sequence[str] = ()) -> tuple[list[Trajectory], list[FilterStep]]:
    """Runs the filters in order. `n_tokens` renders the survivors at the length step (the only
    expensive one) and returns {id(trajectory): token count or None}; without it that step is skipped.
    `heldout_prompts` are the held-out tasks' prompts (train tasks duplicating one are dropped)."""
    steps: list[FilterStep] = []
    cur = list(trajs)

    def record(name: str, result: tuple, details: dict[str, Any] | None = None) -> None:
        nonlocal cur
        kept, removed = result[0], result[1]
        details = details if details is not None else (result[2] if len(result) > 2 else {})
        cur = kept
        reasons = dict(sorted(removed.items()))
        steps.append(FilterStep(name, sum(removed.values()), len(kept), reasons, details))

    record("skill_setting", skill_settings(cur))
    if heldout_prompts:
        record("heldout_overlap", heldout_overlap(cur, tasks, heldout_prompts, cfg.near_dup_threshold, seed))
    record("correctness", correctness(cur, tasks, cfg.require_correct, cfg.drop_forced))
    if cfg.require_order_consistent:
        record("order_consistency", order_consistency(cur, tasks))
    record("one_sample", pick_sample(cur, seed, cfg.pick_sample))
    if cfg.dedup:
        record("dedup", dedup(cur, tasks, cfg.near_dup_threshold, seed))
    if n_tokens is not None:
        record("length", length(cur, n_tokens(cur), cfg.max_tokens, keep_pairs=cfg.require_order_consistent),
               {"max_tokens": cfg.max_tokens})
    if cfg.balance_sources:
        record("source_balance", balance_sources(cur, tasks, cfg.max_source_share, seed))
    if cfg.max_direct_share < 1.0:
        record("direct_share", direct_share(cur, cfg.max_direct_share, seed),
               {"max_direct_share": cfg.max_direct_share})
    if cfg.balance_positions:
        record("position_balance", balance_positions(cur, tasks, seed))
    return cur, steps
