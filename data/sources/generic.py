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
    req_id,
    req_str,
)
from model.jsonl import Rejects
from model.records import JudgeTask, Resources

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
    if isinstance(prompt, list):
        prompt = as_messages(prompt, "prompt")
    elif not isinstance(prompt, str) or not prompt.strip():
        fail("prompt", "must be non-empty text or chat messages")
    source = _opt_text(row, "source") or DEFAULT_SOURCE
    subset = _opt_text(row, "subset") or source
    domain = _opt_text(row, "domain") or default_domain
    check_domain(domain)
    return JudgeTask(
        id=req_id(row, "id"),
        source=source,
        kind="pairwise",
        prompt=prompt,
        candidates=[req_str(row, "chosen"), req_str(row, "rejected")],
        gold=0,
        domain=domain,
        resources=Resources(reference=_opt_text(row, "reference")),
        meta={"benchmark": source, "subset": subset},
    )


def _opt_text(row: Row, key: str) -> str | None:
    value = row.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        fail(key, f"must be a string, got {type(value).__name__}")
    return value
