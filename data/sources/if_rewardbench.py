"""IF-RewardBench (thu-coai/IF-RewardBench) -> one pairwise JudgeTask per unordered response pair.

Rows: `id, response_generation_model, instruction_type (Single_Turn | Multi_Turn | System_Prompt),
messages (system / history / final user turn), checklist, constraint_type, responses
[{response_id, response, labels, (critique)}], preference_graph [{pair_id, chosen: {response_id,
response, label}, rejected: {...}}]`, plus `position_maps.json`: id -> {"i_j": 0 | 1} for i < j.

Candidate order (upstream inference/overall_assessment_inference_vllm.py and
metrics/analysis_overall_assessment.py): the ordered pair (u, v) is judged with Response A = responses[u],
Response B = responses[v] iff (flag == 0 and u < v) or (flag == 1 and u > v). So flag 0 -> [i, j],
flag 1 -> [j, i].

Task: id f"if_rewardbench-{id}-{i}_{j}" (i < j), candidates = the two response texts in that order,
gold = the index of the preferred one when the graph has an edge between them, else None.
meta: benchmark, prompt_id, instruction_type, pair ([first, second] response indices in candidate
order), n_responses, preference_graph (the upstream edges as {pair_id, chosen: {response_id},
rejected: {response_id}}; texts and per-constraint labels dropped), response_generation_model.
resources.checklist = the checklist (a sample resource). The per-response `labels` and any judge
`critique` (the sample file carries QwQ-32B critiques) are NOT used: only the response text is a candidate.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from data.sources._common import Row, as_messages, collect, fail, iter_json_rows, req, req_id, req_str
from model.jsonl import Rejects
from model.records import JudgeTask, Resources

BENCHMARK = "if_rewardbench"
POSITION_MAPS = "position_maps.json"


def load_if_rewardbench(
    path: str | Path,
    position_maps: str | Path | dict[str, Any] | None = None,
    rejects: Rejects | None = None,
    limit: int | None = None,
) -> list[JudgeTask]:
    """A data file (JSON array); `position_maps` defaults to `position_maps.json` next to it."""
    path = Path(path)
    maps = _position_maps(path, position_maps)

    def parse(row: Row, rownum: int) -> list[JudgeTask]:
        return _tasks(row, maps)

    return collect(path, iter_json_rows(path), parse, rejects, limit)


def _position_maps(path: Path, given: str | Path | dict[str, Any] | None) -> dict[str, Any]:
    if isinstance(given, dict):
        return given
    maps_path = Path(given) if given is not None else path.parent / POSITION_MAPS
    if not maps_path.exists():
        raise FileNotFoundError(f"{maps_path}: IF-RewardBench position maps not found (pass position_maps=)")
    maps = json.loads(maps_path.read_text(encoding="utf-8"))
    if not isinstance(maps, dict):
        raise ValueError(f"{maps_path}: expected an object id -> {{'i_j': 0|1}}")
    return maps


def _tasks(row: Row, maps: dict[str, Any]) -> list[JudgeTask]:
    prompt_id = req_id(row, "id")
    instruction_type = req_str(row, "instruction_type")
    messages = as_messages(req(row, "messages"), "messages")
    if messages[-1]["role"] != "user":
        fail("messages[-1].role", f"the final turn must be 'user', got {messages[-1]['role']!r}")
    texts = _response_texts(req(row, "responses"))
    edges = _edges(req(row, "preference_graph"), len(texts))
    checklist = _checklist(row.get("checklist"))
    flags = maps.get(prompt_id)
    if not isinstance(flags, dict):
        fail(f"position_maps[{prompt_id}]", "missing for this id")
    prompt: str | list[dict[str, str]] = messages
    if len(messages) == 1:
        prompt = messages[0]["content"]
    graph = [
        {"pair_id": pid, "chosen": {"response_id": w}, "rejected": {"response_id": lo}}
        for pid, w, lo in edges
    ]
    winner = {frozenset((w, lo)): w for _, w, lo in edges}
    tasks = []
    n = len(texts)
    for i in range(n):
        for j in range(i + 1, n):
            flag = flags.get(f"{i}_{j}")
            if flag not in (0, 1) or isinstance(flag, bool):
                fail(f"position_maps[{prompt_id}][{i}_{j}]", f"must be 0 or 1, got {flag!r}")
            order = [i, j] if flag == 0 else [j, i]
            w = winner.get(frozenset((i, j)))
            tasks.append(
                JudgeTask(
                    id=f"{BENCHMARK}-{prompt_id}-{i}_{j}",
                    source=BENCHMARK,
                    kind="pairwise",
                    prompt=prompt,
                    candidates=[texts[order[0]], texts[order[1]]],
                    gold=None if w is None else order.index(w),
                    domain="instruction_following",
                    resources=Resources(checklist=checklist),
                    meta={
                        "benchmark": BENCHMARK,
                        "prompt_id": prompt_id,
                        "instruction_type": instruction_type,
                        "pair": order,
                        "n_responses": n,
                        "preference_graph": graph,
                        "response_generation_model": row.get("response_generation_model"),
                    },
                )
            )
    return tasks


def _response_texts(responses: Any) -> list[str]:
    """Response texts by list position (upstream indexes responses by position == response_id)."""
    if not isinstance(responses, list) or len(responses) < 2:
        fail("responses", "must be a list of at least 2 responses")
    texts = []
    for k, r in enumerate(responses):
        if not isinstance(r, dict):
            fail(f"responses[{k}]", "must be an object with 'response'")
        rid = r.get("response_id", k)
        if rid != k:
            fail(f"responses[{k}].response_id", f"must equal its position {k}, got {rid!r}")
        text = r.get("response")
        if not isinstance(text, str) or not text.strip():
            fail(f"responses[{k}].response", "must be a non-empty string")
        texts.append(text)
    return texts


def _edges(graph: Any, n: int) -> list[tuple[Any, int, int]]:
    if not isinstance(graph, list):
        fail("preference_graph", "must be a list of {chosen, rejected} edges")
    edges = []
    seen: dict[frozenset[int], int] = {}
    for k, e in enumerate(graph):
        try:
            w, lo = e["chosen"]["response_id"], e["rejected"]["response_id"]
        except (KeyError, TypeError):
            fail(f"preference_graph[{k}]", "needs chosen.response_id and rejected.response_id")
        for side, rid in (("chosen", w), ("rejected", lo)):
            if not isinstance(rid, int) or isinstance(rid, bool) or not 0 <= rid < n:
                fail(f"preference_graph[{k}].{side}.response_id", f"must be in [0, {n}), got {rid!r}")
        key = frozenset((w, lo))
        if w == lo or (key in seen and seen[key] != w):
            fail(f"preference_graph[{k}]", f"inconsistent edge {w} > {lo}")
        seen[key] = w
        edges.append((e.get("pair_id", k), w, lo))
    return edges


def _checklist(value: Any) -> list[str] | None:
    if value in (None, []):
        return None
    if not isinstance(value, list) or not all(isinstance(x, str) for x in value):
        fail("checklist", "must be a list of strings")
    return list(value)
