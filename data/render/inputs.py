"""Reads a data.generate output folder for data.render, validating every row.

Malformed rows (bad JSON, bad record, unknown task, an order that is not a permutation, messages a
chat template cannot take) go to the rejects file with file, row and reason; they never abort.
Held-out tasks are never used: trajectories of a held-out task are skipped (and counted), a task
listed in both tasks.jsonl and heldout.jsonl is treated as held out, and the held-out prompts are kept
so the filters can drop train tasks that repeat one.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from model.jsonl import Rejects, load_records
from model.protocol import SETTING_NAMES
from model.records import JudgeTask, Trajectory

ROLES = ("system", "user", "assistant", "tool")


@dataclass
class RenderInputs:
    tasks: dict[str, JudgeTask]                        # train tasks in tasks.jsonl order
    trajectories: list[Trajectory]
    rows: dict[int, int] = field(default_factory=dict)  # id(trajectory) -> its 1-based row in the file
    heldout_ids: set[str] = field(default_factory=set)
    heldout_prompts: list[str] = field(default_factory=list)
    heldout_trajectories: int = 0                       # rows skipped because their task is held out
    tasks_also_heldout: int = 0                         # train tasks dropped because heldout.jsonl has them
    trajectory_rows: int = 0
    generate_report: dict[str, Any] | None = None
    trajectories_path: Path | None = None


def check_messages(messages: Any) -> None:
    if not isinstance(messages, list) or not messages:
        raise ValueError("messages must be a non-empty list")
    for i, m in enumerate(messages):
        if not isinstance(m, dict) or m.get("role") not in ROLES:
            raise ValueError(f"messages[{i}]: needs a role in {ROLES}")
        content = m.get("content")
        if not (isinstance(content, str) or (content is None and m["role"] == "assistant")):
            raise ValueError(f"messages[{i}]: content must be a string")
        calls = m.get("tool_calls")
        if calls is None:
            continue
        if m["role"] != "assistant" or not isinstance(calls, list):
            raise ValueError(f"messages[{i}]: tool_calls must be a list on an assistant message")
        for tc in calls:
            fn = tc.get("function", tc) if isinstance(tc, dict) else None
            if not isinstance(fn, dict) or not isinstance(fn.get("name"), str) \
                    or not isinstance(fn.get("arguments"), (dict, str)):
                raise ValueError(f"messages[{i}]: each tool call needs a name and dict/str arguments")
    if not any(m["role"] == "assistant" for m in messages):
        raise ValueError("messages: no assistant turn")


def parse_trajectory(row: dict[str, Any], tasks: dict[str, JudgeTask]) -> Trajectory:
    """A validated Trajectory whose task is a train task; raises ValueError naming the problem."""
    if not isinstance(row, dict):
        raise ValueError("row must be a JSON object")
    t = Trajectory.from_dict(row)
    if not isinstance(t.task_id, str) or t.task_id not in tasks:
        raise ValueError(f"task_id {t.task_id!r} is not in tasks.jsonl")
    if t.setting not in SETTING_NAMES:
        raise ValueError(f"setting {t.setting!r} is not one of {SETTING_NAMES}")
    n = len(tasks[t.task_id].candidates)
    if not isinstance(t.order, list) or sorted(t.order) != list(range(n)) \
            or not all(type(x) is int for x in t.order):
        raise ValueError(f"order {t.order!r} is not a permutation of the task's {n} candidates")
    if t.verdict is not None and not isinstance(t.verdict, str):
        raise ValueError(f"verdict must be a string or null, got {t.verdict!r}")
    if not isinstance(t.meta, dict):
        raise ValueError("meta must be an object")
    check_messages(t.messages)
    return t


def _read_heldout(path: Path) -> tuple[set[str], list[str]]:
    """Ids and prompt texts of the held-out tasks (lenient: only what can be read is used)."""
    ids: set[str] = set()
    prompts: list[str] = []
    if not path.exists():
        return ids, prompts
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            row = json.loads(line)
            ids.add(str(row["id"]))
            prompts.append(JudgeTask.from_dict(row).prompt_text)
        except (ValueError, KeyError, TypeError):
            continue
    return ids, prompts


def load_inputs(input_dir: str | Path, rejects: Rejects) -> RenderInputs:
    d = Path(input_dir)
    for name in ("tasks.jsonl", "trajectories.jsonl"):
        if not (d / name).exists():
            raise FileNotFoundError(f"{d / name} not found: input_dir must be a data.generate output folder")
    heldout_ids, heldout_prompts = _read_heldout(d / "heldout.jsonl")
    tasks: dict[str, JudgeTask] = {}

    def parse_task(row: dict[str, Any]) -> JudgeTask:
        task = JudgeTask.from_dict(row)
        if task.id in tasks:
            raise ValueError(f"duplicate task id {task.id!r}")
        tasks[task.id] = task
        return task

    load_records(d / "tasks.jsonl", parse_task, rejects)
    also = [tid for tid in tasks if tid in heldout_ids]
    for tid in also:
        del tasks[tid]

    inputs = RenderInputs(tasks=tasks, trajectories=[], heldout_ids=heldout_ids,
                          heldout_prompts=heldout_prompts, tasks_also_heldout=len(also),
                          trajectories_path=d / "trajectories.jsonl")
    with open(d / "trajectories.jsonl", encoding="utf-8") as f:
        for row_no, line in enumerate(f, 1):
            if not line.strip():
                continue
            inputs.trajectory_rows += 1
            try:
                row = json.loads(line)
            except json.JSONDecodeError as e:
                rejects.add(inputs.trajectories_path, row_no, f"invalid JSON: {e}", line)
                continue
            task_id = row.get("task_id") if isinstance(row, dict) else None
            if isinstance(task_id, str) and task_id in heldout_ids:
                inputs.heldout_trajectories += 1
                continue
            try:
                t = parse_trajectory(row, tasks)
            except (ValueError, TypeError, KeyError, AttributeError) as e:
                rejects.add(inputs.trajectories_path, row_no, f"{type(e).__name__}: {e}", row)
                continue
            inputs.trajectories.append(t)
            inputs.rows[id(t)] = row_no
    report = d / "generate_report.json"
    if report.exists():
        try:
            inputs.generate_report = json.loads(report.read_text(encoding="utf-8"))
        except json.JSONDecodeError:
            rejects.add(report, 0, "generate_report.json is not valid JSON (ignored)")
    return inputs
