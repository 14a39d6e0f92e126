"""JudgeBench (ScalerLab/JudgeBench) pairs -> pairwise JudgeTasks.

Two upstream schemas, detected per row:
- official: `pair_id, original_id, source, question, response_model, response_A, response_B, label`
  with label "A>B" / "B>A" (files `judgebench_<response model>.jsonl`, 350 GPT-4o + 270 Claude pairs);
- OpenRS reformat (Qwen-Applications/OpenRS data/judgebench/): `question_id, query_type, prompt, chosen,
  rejected, original_id, response_model, check_list, ground_truth`.

Task: id = pair_id, candidates = [correct response, wrong response], gold = 0 (the judge sees both
orders; the upstream A/B order and label stay in meta). meta: benchmark, pair_id, subset (source prefix:
mmlu-pro | livebench-reasoning | livebench-math | livecodebench), source_full (e.g. "mmlu-pro-law"),
file (the response model), original_id, label (official rows only).

Domain: math for livebench-math and mmlu-pro-math, code for livecodebench, factuality for the other
MMLU-Pro subjects (knowledge questions with one correct option; JudgeBench calls them "knowledge"),
general for livebench-reasoning.

OpenRS resources (the resource-available setting): `check_list` -> resources.checklist and
`ground_truth` -> resources.reference, as a *final answer* only: `$...$` and a whole-string `\\boxed{}`
are stripped, a list of letters becomes "one of: D, J", and label-like values are dropped. The OpenRS
ground_truth of livecodebench rows is NOT used: it is written from the chosen solution (code excerpts of
it, or "The provided solution correctly ..."), so it would identify the chosen candidate rather than
give an independent reference; it is kept in meta["openrs_ground_truth"] only.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from data.sources._common import LABEL_TEXTS, Row, collect, fail, iter_json_rows, req, req_str
from model.jsonl import Rejects
from model.records import JudgeTask, Resources

BENCHMARK = "judgebench"
SUBSETS = ("mmlu-pro", "livebench-reasoning", "livebench-math", "livecodebench")
OFFICIAL_GLOB = "judgebench_*.jsonl"


def subset_of(source: str) -> str:
    """Source prefix used for per-subset metrics: 'mmlu-pro-law' -> 'mmlu-pro'."""
    for prefix in SUBSETS:
        if source == prefix or source.startswith(prefix + "-"):
            return prefix
    return source


def domain_of(source: str) -> str:
    if source in ("livebench-math", "mmlu-pro-math"):
        return "math"
    if source.startswith("livecodebench"):
        return "code"
    if source.startswith("mmlu-pro"):
        return "factuality"
    return "general"


def load_judgebench(
    path: str | Path,
    rejects: Rejects | None = None,
    limit: int | None = None,
) -> list[JudgeTask]:
    """One JudgeBench file (official or OpenRS schema), or a folder (-> `load_judgebench_dir`)."""
    path = Path(path)
    if path.is_dir():
        return load_judgebench_dir(path, rejects=rejects, limit=limit)
    return collect(path, iter_json_rows(path), _parse_row, rejects, limit)


def load_judgebench_dir(
    path: str | Path,
    rejects: Rejects | None = None,
    limit: int | None = None,
) -> list[JudgeTask]:
    """Both official files of a folder (`judgebench_*.jsonl`); `limit` applies per file."""
    files = sorted(Path(path).glob(OFFICIAL_GLOB))
    if not files:
        raise FileNotFoundError(f"{path}: no {OFFICIAL_GLOB} files")
    seen: set[str] = set()
    out: list[JudgeTask] = []
    for f in files:
        out.extend(collect(f, iter_json_rows(f), _parse_row, rejects, limit, seen_ids=seen))
    return out


def _parse_row(row: Row, rownum: int) -> list[JudgeTask]:
    if "pair_id" in row:
        return [_official(row)]
    if "question_id" in row:
        return [_openrs(row)]
    fail("pair_id", "missing (neither the official nor the OpenRS JudgeBench schema)")


def _official(row: Row) -> JudgeTask:
    pair_id = req_str(row, "pair_id")
    source = req_str(row, "source")
    label = req(row, "label")
    a, b = req_str(row, "response_A"), req_str(row, "response_B")
    if label == "A>B":
        chosen, rejected = a, b
    elif label == "B>A":
        chosen, rejected = b, a
    else:
        fail("label", f"must be 'A>B' or 'B>A', got {label!r}")
    meta = _meta(pair_id, source, req_str(row, "response_model"), row.get("original_id"))
    meta["label"] = label
    return JudgeTask(
        id=pair_id,
        source=BENCHMARK,
        kind="pairwise",
        prompt=req_str(row, "question"),
        candidates=[chosen, rejected],
        gold=0,
        domain=domain_of(source),
        meta=meta,
    )


def _openrs(row: Row) -> JudgeTask:
    pair_id = req_str(row, "question_id")
    source = req_str(row, "query_type")
    meta = _meta(pair_id, source, req_str(row, "response_model"), row.get("original_id"))
    resources = Resources(checklist=_checklist(row.get("check_list")))
    gt = row.get("ground_truth")
    if source.startswith("livecodebench"):
        if gt not in (None, "", []):
            meta["openrs_ground_truth"] = gt
    else:
        resources.reference = reference_answer(gt)
    return JudgeTask(
        id=pair_id,
        source=BENCHMARK,
        kind="pairwise",
        prompt=req_str(row, "prompt"),
        candidates=[req_str(row, "chosen"), req_str(row, "rejected")],
        gold=0,
        domain=domain_of(source),
        resources=resources,
        meta=meta,
    )


def _meta(pair_id: str, source: str, response_model: str, original_id: Any) -> dict[str, Any]:
    return {
        "benchmark": BENCHMARK,
        "pair_id": pair_id,
        "subset": subset_of(source),
        "source_full": source,
        "file": response_model,
        "original_id": original_id,
    }


def _checklist(value: Any) -> list[str] | None:
    if value in (None, "", []):
        return None
    if not isinstance(value, list) or not all(isinstance(x, str) for x in value):
        fail("check_list", "must be a list of strings")
    items = [x for x in value if x.strip()]
    return items or None


_BOXED = re.compile(r"^\\boxed\{(.*)\}$", re.S)


def reference_answer(value: Any) -> str | None:
    """A clean final-answer reference from an OpenRS ground_truth (None when unusable)."""
    if value is None:
        return None
    if isinstance(value, list):
        items = [str(x).strip() for x in value if str(x).strip()]
        if not items:
            return None
        return items[0] if len(items) == 1 else "one of: " + ", ".join(items)
    if not isinstance(value, (str, int, float)) or isinstance(value, bool):
        fail("ground_truth", f"must be a string or a list, got {type(value).__name__}")
    text = str(value).strip()
    if len(text) >= 2 and text.startswith("$") and text.endswith("$"):
        text = text.strip("$").strip()
    m = _BOXED.match(text)
    if m:
        text = m.group(1).strip()
    if not text or text in LABEL_TEXTS or text.lower() in ("chosen", "rejected"):
        return None
    return text
