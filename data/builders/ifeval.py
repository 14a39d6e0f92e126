"""Verifiable instruction-following pairs from IFEval prompts joined with model responses.

Inputs: IFEval `input_data.jsonl` rows (`key, prompt, instruction_id_list, kwargs`) and one or more
response files (`input_response_data_*.jsonl`, rows `prompt, response`), joined on the prompt text.
good = a response that passes every constraint of its prompt (by `model.verifiers.ifeval.check`);
bad = a minimal edit of it (`ifeval_edits`) that violates one named constraint while, where possible,
still passing the others. A response that fails its own constraints is repaired when a mechanical fix
exists (remove commas, change case, wrap quotes, append the end phrase), else the row is rejected.

Resources: constraints = [{"id", "kwargs"}]. meta: violated (the targeted constraint), also_violated
(collateral failures, [] when the edit is clean), response_source (the response file), repaired.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from data.builders import ifeval_edits
from data.builders._common import PairFactory, build_rows, fail_proof, row_rng, slug
from data.sources._common import BadJSON, fail, iter_json_rows, req_id, req_str, req_str_list
from model.jsonl import Rejects
from model.records import JudgeTask, Resources
from model.verifiers import ifeval

INPUT_FILE = "input_data.jsonl"
RESPONSE_GLOB = "input_response_data*.jsonl"


def build_ifeval(
    path: str | Path,
    *,
    responses: str | Path | list[str | Path] | None = None,
    limit: int | None = None,
    seed: int = 0,
    split: str | None = None,
    heldout_fraction: float = 0.1,
    rejects: Rejects | None = None,
    max_pairs_per_row: int = 1,
    repair: bool = True,
) -> list[JudgeTask]:
    """IFEval pairs. `path`: input_data.jsonl or its folder; `responses`: response file(s), default every
    `input_response_data*.jsonl` next to the input file. `max_pairs_per_row` counts per response file."""
    input_file, response_files = _locate(Path(path), responses)
    factory = PairFactory(
        source="ifeval",
        builder="ifeval",
        domain="instruction_following",
        split=split,
        heldout_fraction=heldout_fraction,
    )
    tables = [(_tag(f), load_responses(f, rejects)) for f in response_files]

    def parse(row: dict[str, Any], rownum: int) -> list[JudgeTask]:
        return ifeval_pairs(row, rownum, tables, factory, seed, max_pairs_per_row, repair)

    return build_rows(str(input_file), iter_json_rows(input_file), parse, rejects, limit)


def _locate(path: Path, responses: Any) -> tuple[Path, list[Path]]:
    input_file = path / INPUT_FILE if path.is_dir() else path
    if not input_file.is_file():
        raise FileNotFoundError(f"{input_file}: IFEval input file not found")
    if responses is None:
        files = sorted(input_file.parent.glob(RESPONSE_GLOB))
    else:
        files = [Path(p) for p in (responses if isinstance(responses, (list, tuple)) else [responses])]
    if not files:
        raise FileNotFoundError(f"{input_file.parent}: no response files ({RESPONSE_GLOB}); pass responses=")
    return input_file, files


def _tag(path: Path) -> str:
    stem = path.stem.removeprefix("input_response_data").strip("_")
    return slug(stem or path.stem)


def load_responses(path: Path, rejects: Rejects | None) -> dict[str, str]:
    """prompt (whitespace-normalized) -> response; malformed rows go to `rejects`."""
    table: dict[str, str] = {}
    for rownum, row in iter_json_rows(path):
        reason = None
        if isinstance(row, BadJSON):
            reason = f"field '<json>': {row.message}"
        elif not isinstance(row, dict):
            reason = "field '<row>': must be a JSON object"
        elif not isinstance(row.get("prompt"), str) or not row["prompt"].strip():
            reason = "field 'prompt': missing or not a string"
        elif not isinstance(row.get("response"), str) or not row["response"].strip():
            reason = "field 'response': missing, empty or not a string"
        if reason:
            if rejects is None:
                raise ValueError(f"{path}: row {rownum}: {reason}")
            rejects.add(path, rownum, reason, row.text if isinstance(row, BadJSON) else row)
            continue
        table.setdefault(_norm(row["prompt"]), row["response"])
    return table


def _norm(prompt: str) -> str:
    return " ".join(prompt.split())


# --------------------------------------------------------------------------- rows


def constraints_of(row: dict[str, Any]) -> list[dict[str, Any]]:
    ids = req_str_list(row, "instruction_id_list")
    kwargs = row.get("kwargs")
    if kwargs is None:
        kwargs = [{}] * len(ids)
    if not isinstance(kwargs, list) or len(kwargs) != len(ids):
        fail("kwargs", f"must be a list with one object per instruction ({len(ids)})")
    out = []
    for k, (iid, kw) in enumerate(zip(ids, kwargs)):
        if iid not in ifeval.INSTRUCTIONS:
            fail(f"instruction_id_list[{k}]", f"unknown instruction id {iid!r}")
        if kw is not None and not isinstance(kw, dict):
            fail(f"kwargs[{k}]", "must be an object")
        out.append({"id": iid, "kwargs": {a: v for a, v in (kw or {}).items() if v is not None}})
    return out


def ifeval_pairs(
    row: dict[str, Any],
    rownum: int,
    tables: list[tuple[str, dict[str, str]]],
    factory: PairFactory,
    seed: int,
    max_pairs: int = 1,
    repair: bool = True,
) -> list[JudgeTask]:
    key = req_id(row, "key")
    prompt = req_str(row, "prompt")
    constraints = constraints_of(row)
    uid = f"ifeval:{key}"
    if not factory.wanted(uid):
        return []
    found = [(tag, table[_norm(prompt)]) for tag, table in tables if _norm(prompt) in table]
    if not found:
        fail_proof("prompt", "no response with this prompt in the response file(s)")
    tasks, why = [], []
    for tag, response in found:
        rng = row_rng(seed, uid, tag)
        good, repaired, failing = _passing(response, constraints, prompt, repair)
        if good is None:
            why.append(f"{tag}: the response fails its own constraints {failing}")
            continue
        made = _pairs_for(good, constraints, prompt, rng, max_pairs)
        if not made:
            why.append(f"{tag}: no minimal edit violates any of {[c['id'] for c in constraints]}")
        for k, (desc, bad, also) in made:
            meta = {
                "row": rownum,
                "key": key,
                "response_source": tag,
                "violated": [constraints[k]["id"]],
                "also_violated": also,
                "repaired": repaired,
            }
            tasks.append(
                factory.pair(
                    upstream_id=uid,
                    variant=f"{tag}-c{k}-{slug(constraints[k]['id'])}",
                    prompt=prompt,
                    good=good,
                    bad=bad,
                    perturbation=f"{constraints[k]['id']}: {desc}",
                    resources=Resources(constraints=constraints),
                    extra_meta=meta,
                )
            )
    if not tasks:
        fail_proof("response", "; ".join(why))
    return tasks


def failing_ids(text: str, constraints: list[dict[str, Any]], prompt: str) -> list[str]:
    out = []
    for k, c in enumerate(constraints):
        try:
            ok = ifeval.check(c["id"], c["kwargs"], text, prompt)
        except ValueError as e:
            fail(f"kwargs[{k}]", str(e))
        if not ok:
            out.append(c["id"])
    return out


def _passing(
    response: str, constraints: list[dict[str, Any]], prompt: str, repair: bool
) -> tuple[str | None, list[str], list[str]]:
    """(a response passing every constraint or None, the repairs applied, the ids it failed)."""
    failing = failing_ids(response, constraints, prompt)
    if not failing:
        return response, [], []
    if not repair or not all(i in ifeval_edits.REPAIRS for i in failing):
        return None, [], failing
    fixed = response
    for c in constraints:
        if c["id"] in failing:
            fixed = ifeval_edits.REPAIRS[c["id"]](fixed, c["kwargs"])
    if failing_ids(fixed, constraints, prompt):
        return None, [], failing
    return fixed, failing, failing


def _pairs_for(
    good: str, constraints: list[dict[str, Any]], prompt: str, rng: random.Random, max_pairs: int
) -> list[tuple[int, tuple[str, str, list[str]]]]:
    """Up to `max_pairs` (constraint index, (description, bad, collateral ids)), clean edits first."""
    order = list(range(len(constraints)))
    rng.shuffle(order)
    clean, dirty = [], []
    for k in order:
        best = _best_edit(good, constraints, k, prompt, rng)
        if best is None:
            continue
        (clean if not best[2] else dirty).append((k, best))
    return (clean + dirty)[:max_pairs]


def _best_edit(
    good: str, constraints: list[dict[str, Any]], k: int, prompt: str, rng: random.Random
) -> tuple[str, str, list[str]] | None:
    target = constraints[k]
    fallback = None
    for desc, bad in ifeval_edits.violations(target["id"], good, target["kwargs"], prompt, rng):
        failing = failing_ids(bad, constraints, prompt)
        if target["id"] not in failing:
            continue
        also = [i for i in failing if i != target["id"]]
        if not also:
            return desc, bad, []
        fallback = fallback or (desc, bad, also)
    return fallback
