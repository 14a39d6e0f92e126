"""What a reward scores and what it returns: `RewardSample`, `RewardResult`, and the coercion of the
loosely typed inputs of TRL (dataset columns), verl (solution_str / ground_truth / extra_info) and HTTP
JSON into samples. Numpy values (verl's non-tensor batch, pandas-read parquet) become plain Python;
JSON strings of lists and mappings are parsed; a bad value raises ValueError naming its field.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from model.records import DOMAINS, RecordError, Resources

RESOURCE_COLUMNS = ("reference", "checklist", "constraints", "tests", "metadata")
BASELINE_COLUMNS = ("baseline", "reference_response", "baseline_response")
SAMPLE_FIELDS = (*RESOURCE_COLUMNS, *BASELINE_COLUMNS, "domain", "resources")  # what a sample's fields may hold
PROMPT_KEYS = ("prompt", "question", "query")  # where verl's extra_info holds the policy prompt


@dataclass
class RewardSample:
    """One (prompt, completion) to score, with what the judge may use.

    error: set when the sample could not be built from its input (e.g. an OpenRLHF query that could
    not be split into prompt and response); such a sample is not judged, gets the failure reward and
    is counted as an input error.
    """

    prompt: str | list[dict[str, Any]]
    completion: str
    resources: Resources = field(default_factory=Resources)
    baseline: str | None = None
    domain: str = "general"
    error: str | None = None


@dataclass
class RewardResult:
    """The reward of one sample and how it came about.

    judge_scores: pointwise -> [rating 1-10]; pairwise -> [outcome in order (completion, baseline),
    outcome in order (baseline, completion)] with 1 = completion wins; None where that judgment failed.
    timed_out: a judgment of it did not finish within the call's (or the request's) time budget.
    """

    reward: float | None
    ok: bool
    error: str | None = None
    judge_scores: list[float | None] = field(default_factory=list)
    verdicts: list[str | None] = field(default_factory=list)
    tool_calls: int = 0
    invalid_tool_calls: int = 0
    steps: int = 0
    latency_s: float = 0.0
    timed_out: bool = False
    used_resources: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# --- text --------------------------------------------------------------------------------------------

def content_text(content: Any) -> str:
    """A message's content as text: strings as they are, content blocks joined by their text parts."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for block in content:
            if isinstance(block, str):
                parts.append(block)
            elif isinstance(block, dict) and isinstance(block.get("text"), str):
                parts.append(block["text"])
        return "".join(parts)
    return str(content)


def completion_text(completion: Any) -> str:
    """A completion as text: a string, or a conversational completion (list of messages, usually one
    assistant message). Several messages are joined; non-assistant turns (tool results of an agentic
    rollout) keep a role header, and assistant tool calls are kept as JSON."""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, dict):
        completion = [completion]
    if not isinstance(completion, (list, tuple)):
        raise ValueError(f"a completion must be a string or a list of messages, got {type(completion).__name__}")
    msgs = [m for m in completion if isinstance(m, dict)]
    only_assistant = all(m.get("role", "assistant") == "assistant" for m in msgs)
    parts = []
    for m in msgs:
        text = content_text(m.get("content"))
        if m.get("tool_calls"):
            text = (text + "\n" if text else "") + json.dumps(m["tool_calls"], ensure_ascii=False, default=str)
        parts.append(text if only_assistant else f"[{m.get('role', 'assistant')}]\n{text}")
    return "\n\n".join(parts)


def prompt_value(prompt: Any) -> str | list[dict[str, Any]]:
    """A prompt as the judge's task prompt: text, or chat messages with text content."""
    if isinstance(prompt, str):
        return prompt
    if isinstance(prompt, dict):
        prompt = [prompt]
    if isinstance(prompt, (list, tuple)) and all(isinstance(m, dict) for m in prompt):
        return [{"role": str(m.get("role", "user")), "content": content_text(m.get("content"))} for m in prompt]
    raise ValueError(f"a prompt must be text or a list of chat messages, got {type(prompt).__name__}")


def to_plain(value: Any) -> Any:
    """numpy arrays / scalars -> plain Python."""
    if hasattr(value, "tolist") and not isinstance(value, (str, bytes)):
        return value.tolist()
    return value


def maybe_json(value: Any) -> Any:
    """A string holding a JSON list or object, parsed; anything else as it is."""
    if isinstance(value, str) and value.strip()[:1] in ("[", "{"):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


# --- resources -----------------------------------------------------------------------------------------

def _reference(value: Any) -> str | None:
    value = to_plain(value)
    if value is None or value == "":
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return f"{value:g}" if isinstance(value, float) else str(value)
    return json.dumps(value, ensure_ascii=False, default=str)


def _checklist(value: Any) -> list[str] | None:
    value = maybe_json(to_plain(value))
    if value in (None, "", []):
        return None
    if isinstance(value, str):
        return [line.strip() for line in value.splitlines() if line.strip()]
    if isinstance(value, (list, tuple)):
        return [str(to_plain(v)) for v in value]
    raise ValueError(f"checklist must be a list of strings (or JSON / lines of text), got {type(value).__name__}")


def _constraints(value: Any) -> list[dict[str, Any]] | None:
    value = maybe_json(to_plain(value))
    if value in (None, "", []):
        return None
    if isinstance(value, dict):
        value = [value]
    if isinstance(value, (list, tuple)):
        return [dict(to_plain(v)) if isinstance(v, dict) else v for v in value]
    raise ValueError(f"constraints must be a list of {{id, kwargs}} (or its JSON), got {type(value).__name__}")


def _metadata(value: Any) -> dict[str, Any]:
    value = maybe_json(to_plain(value))
    if value in (None, ""):
        return {}
    if not isinstance(value, dict):
        raise ValueError(f"metadata must be a mapping, got {type(value).__name__}")
    return dict(value)


def resources_from(fields: dict[str, Any]) -> Resources:
    """Resources from loosely typed per-sample fields (dataset columns, verl extra_info, HTTP JSON).

    reference: text (numbers and structures are rendered as text); checklist: list of strings, a JSON
    list, or lines of text; constraints: `[{"id", "kwargs"}]` or its JSON; tests: code text;
    metadata: a mapping or its JSON. Invalid values raise ValueError naming the field.
    """
    try:
        tests = to_plain(fields.get("tests"))
        return Resources.from_dict({k: v for k, v in {
            "reference": _reference(fields.get("reference")),
            "checklist": _checklist(fields.get("checklist")),
            "constraints": _constraints(fields.get("constraints")),
            "tests": tests if tests not in (None, "") else None,
            "metadata": _metadata(fields.get("metadata")),
        }.items() if v not in (None, {})})
    except RecordError as e:
        raise ValueError(str(e)) from e


def _domain(value: Any) -> str:
    value = to_plain(value)
    return value if isinstance(value, str) and value in DOMAINS else "general"


def _baseline(fields: dict[str, Any]) -> str | None:
    for key in BASELINE_COLUMNS:
        value = to_plain(fields.get(key))
        if value not in (None, ""):
            return completion_text(value)
    return None


# --- samples -------------------------------------------------------------------------------------------

def sample_from_fields(prompt: Any, completion: Any, fields: dict[str, Any]) -> RewardSample:
    """One RewardSample from a prompt, a completion and per-sample fields (resource columns,
    `resources` (a mapping of the same), `baseline` / `reference_response`, `domain`)."""
    merged: dict[str, Any] = {}
    nested = maybe_json(to_plain(fields.get("resources")))
    if isinstance(nested, dict):
        merged.update(nested)
    merged.update({k: v for k, v in fields.items() if k != "resources" and to_plain(v) not in (None, "")})
    return RewardSample(prompt=prompt_value(prompt), completion=completion_text(completion),
                        resources=resources_from(merged), baseline=_baseline(merged),
                        domain=_domain(merged.get("domain")))


def trl_samples(prompts: Any, completions: Any, columns: dict[str, Any]) -> list[RewardSample]:
    """TRL's reward-function arguments -> samples. `columns` holds the dataset columns as lists aligned
    with the completions; only the known ones (SAMPLE_FIELDS) are read, every other keyword
    (completion_ids, trainer_state, log_extra, ...) is ignored. A known column must hold one entry per
    completion."""
    if completions is None:
        raise TypeError("JudgeReward needs `completions` (and `prompts`)")
    completions = list(to_plain(completions))
    n = len(completions)
    prompts = list(to_plain(prompts)) if prompts is not None else None
    if prompts is None or len(prompts) != n:
        raise ValueError(f"JudgeReward needs one prompt per completion; got "
                         f"{'no prompts' if prompts is None else len(prompts)} for {n} completions")
    rows: list[dict[str, Any]] = [{} for _ in range(n)]
    for key in SAMPLE_FIELDS:
        if columns.get(key) is None:
            continue
        values = to_plain(columns[key])
        if not isinstance(values, (list, tuple)) or len(values) != n:
            got = f"{len(values)} entries" if isinstance(values, (list, tuple)) else type(values).__name__
            raise ValueError(f"column '{key}' must hold one entry per completion ({n}), got {got}")
        for row, value in zip(rows, values):
            row[key] = value
    samples = []
    for i, (p, c, row) in enumerate(zip(prompts, completions, rows)):
        try:
            samples.append(sample_from_fields(p, c, row))
        except ValueError as e:
            raise ValueError(f"sample {i}: {e}") from e
    return samples


def verl_sample(solution_str: Any, ground_truth: Any, extra_info: Any) -> RewardSample:
    """verl passes the decoded response only; the prompt must be in extra_info (prompt | question | query,
    as verl's own data_preprocess scripts store `question`). ground_truth -> resources.reference, or,
    when it is a mapping of resource fields, the resources themselves."""
    info = to_plain(extra_info)
    info = dict(info) if isinstance(info, dict) else {}
    prompt = next((info[k] for k in PROMPT_KEYS if to_plain(info.get(k)) not in (None, "", [])), None)
    if prompt is None:
        raise ValueError("compute_score needs the policy prompt in extra_info['prompt'] (or 'question' / 'query'): "
                         "verl passes only the response to custom reward functions")
    fields = {k: v for k, v in info.items() if k in SAMPLE_FIELDS}
    gt = maybe_json(to_plain(ground_truth))
    if isinstance(gt, dict) and gt and set(gt) <= set(SAMPLE_FIELDS) - {"resources"}:
        fields = {**gt, **fields}
    elif gt not in (None, "") and "reference" not in fields:
        fields["reference"] = gt
    return sample_from_fields(to_plain(prompt), completion_text(to_plain(solution_str)), fields)
