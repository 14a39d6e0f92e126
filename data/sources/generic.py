"""The generic pairwise JSONL that every loader and the eval CLI accept (DESIGN.md):

    {"id", "prompt", "chosen", "rejected", "reference"?, "source"?}   one object per line

prompt: text or chat messages; chosen / rejected: text. reference -> resources.reference.
Optional extras understood: "subset" (per-subset metrics), "domain" (one of the project domains).
Any other field is ignored (never copied into the task).
Task: id = the row id, source = row source or "generic", candidates [chosen, rejected], gold 0,
meta {benchmark: source, subset: subset or source}.
"""

from __future__ import annotations

from pathlib import Path

from data.sources._common import (
    Row,
    as_messages,
    check_domain,
    collect,
    fail,
    iter_json_rows,
    req,
)
from model.jsonl import Rejects
from model.records import JudgeTask, task_from_pair

DEFAULT_SOURCE = "generic"


def load_generic(
    path: str | Path,
    domain: str = "general",
    rejects: Rejects | None = None,
    limit: int | None = None,
) -> list[JudgeTask]:
    check_domain(domain)
    path = Path(path)

    def parse(row: Row, rownum: int) -> list[JudgeTask]:
        return [_task(row, domain)]

    return collect(path, iter_json_rows(path), parse, rejects, limit)


def _task(row: Row, default_domain: str) -> JudgeTask:
    prompt = req(row, "prompt")
    if isinstance(prompt, list):  # clean {role, content} copies, with per-message errors
        row = {**row, "prompt": as_messages(prompt, "prompt")}
    elif not isinstance(prompt, str) or not prompt.strip():
        fail("prompt", "must be non-empty text or chat messages")
    check_domain(row.get("domain") or default_domain)
    return task_from_pair(row, DEFAULT_SOURCE, default_domain)
