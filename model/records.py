"""The two records every stage exchanges: JudgeTask (what is judged) and Trajectory (how it was judged).

Both are JSON-lines friendly (`to_dict` / `from_dict`). `from_dict` validates and raises
`RecordError(field, message)` so that loaders can name the file, row and field of a bad row.

Display labels (A, B, C, ...) are assigned at render time from an `order`: `order[k]` is the index
of the candidate shown with label `LABELS[k]`. The gold never leaves the task: prompts, tools and
resources are built from `JudgeTask.visible()` only.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Literal

TaskKind = Literal["pairwise", "listwise", "pointwise"]
KINDS = ("pairwise", "listwise", "pointwise")
DOMAINS = ("math", "code", "instruction_following", "safety", "factuality", "chat", "general")
LABELS = tuple("ABCDEFGHIJ")
RESOURCE_FIELDS = ("reference", "checklist", "constraints", "tests", "metadata")


class RecordError(ValueError):
    """A record field is missing or malformed. `field` names it."""

    def __init__(self, field_name: str, message: str):
        super().__init__(f"field '{field_name}': {message}")
        self.field = field_name


def label_of(position: int) -> str:
    return LABELS[position]


def position_of(label: str) -> int:
    return LABELS.index(label)


@dataclass
class Resources:
    """Per-sample evidence for the resource-available (`skill_operational`) setting.

    reference:   a reference answer or solution (text).
    checklist:   list of check items (text).
    constraints: IFEval-style constraints, `[{"id": "length_constraints:number_words", "kwargs": {...}}]`.
    tests:       python test code run after the candidate's code (asserts; raises on failure).
    metadata:    anything else a verifier may use (e.g. `entry_point`, `language`).
    """

    reference: str | None = None
    checklist: list[str] | None = None
    constraints: list[dict[str, Any]] | None = None
    tests: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)

    def available(self) -> list[str]:
        """Names of the resource fields that are present."""
        return [f for f in RESOURCE_FIELDS if f != "metadata" and getattr(self, f)]

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in dataclasses.asdict(self).items() if v not in (None, {}, [])}

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None) -> Resources:
        d = dict(d or {})
        unknown = set(d) - set(RESOURCE_FIELDS)
        if unknown:
            raise RecordError("resources", f"unknown keys {sorted(unknown)}")
        if d.get("checklist") is not None and not isinstance(d["checklist"], list):
            raise RecordError("resources.checklist", "must be a list of strings")
        if d.get("constraints") is not None:
            cons = d["constraints"]
            if not isinstance(cons, list) or not all(isinstance(c, dict) and "id" in c for c in cons):
                raise RecordError("resources.constraints", "must be a list of {id, kwargs}")
        for key in ("reference", "tests"):
            if d.get(key) is not None and not isinstance(d[key], str):
                raise RecordError(f"resources.{key}", "must be a string")
        return cls(
            reference=d.get("reference"),
            checklist=d.get("checklist"),
            constraints=d.get("constraints"),
            tests=d.get("tests"),
            metadata=dict(d.get("metadata") or {}),
        )


@dataclass
class JudgeTask:
    """One judging problem.

    gold: pairwise/listwise -> index of the best candidate; pointwise -> a score (or one score per
    candidate, list[float]). None for unlabeled tasks. Never shown to a judge.
    domain: what kind of content this is (math, code, ...); it picks rubrics and verifiers.
    meta: bookkeeping for metrics (subset, styles, prompt groups, source file/row); never shown.
    """

    id: str
    source: str
    kind: TaskKind
    prompt: str | list[dict[str, Any]]
    candidates: list[str]
    gold: Any = None
    domain: str = "general"
    resources: Resources = field(default_factory=Resources)
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        if not isinstance(self.id, str) or not self.id:
            raise RecordError("id", "must be a non-empty string")
        if self.kind not in KINDS:
            raise RecordError("kind", f"must be one of {KINDS}, got {self.kind!r}")
        if not isinstance(self.prompt, (str, list)) or not self.prompt:
            raise RecordError("prompt", "must be non-empty text or a list of chat messages")
        if isinstance(self.prompt, list) and not all(
            isinstance(m, dict) and "role" in m and "content" in m for m in self.prompt
        ):
            raise RecordError("prompt", "chat messages need 'role' and 'content'")
        if not isinstance(self.candidates, list) or not all(isinstance(c, str) for c in self.candidates):
            raise RecordError("candidates", "must be a list of strings")
        n = len(self.candidates)
        if self.kind == "pairwise" and n != 2:
            raise RecordError("candidates", f"pairwise needs 2 candidates, got {n}")
        if self.kind == "listwise" and not 2 <= n <= len(LABELS):
            raise RecordError("candidates", f"listwise needs 2..{len(LABELS)} candidates, got {n}")
        if self.kind == "pointwise" and n < 1:
            raise RecordError("candidates", "pointwise needs at least one candidate")
        if self.kind in ("pairwise", "listwise") and self.gold is not None:
            if not isinstance(self.gold, int) or isinstance(self.gold, bool) or not 0 <= self.gold < n:
                raise RecordError("gold", f"must be a candidate index in [0, {n}), got {self.gold!r}")
        if self.domain not in DOMAINS:
            raise RecordError("domain", f"must be one of {DOMAINS}, got {self.domain!r}")
        if not isinstance(self.resources, Resources):
            raise RecordError("resources", "must be a Resources")

    @property
    def prompt_text(self) -> str:
        """The prompt as one text (chat prompts are flattened with role headers)."""
        if isinstance(self.prompt, str):
            return self.prompt
        if len(self.prompt) == 1:
            return str(self.prompt[0]["content"])
        return "\n\n".join(f"[{m['role']}]\n{m['content']}" for m in self.prompt)

    def orders(self, both: bool = True) -> list[list[int]]:
        """Candidate orders to judge. Pairwise: identity and swapped when `both`."""
        ident = list(range(len(self.candidates)))
        if self.kind == "pairwise" and both:
            return [ident, ident[::-1]]
        return [ident]

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["resources"] = self.resources.to_dict()
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> JudgeTask:
        if not isinstance(d, dict):
            raise RecordError("<row>", "must be a JSON object")
        missing = [k for k in ("id", "source", "kind", "prompt", "candidates") if k not in d]
        if missing:
            raise RecordError(missing[0], "missing")
        unknown = set(d) - {f.name for f in dataclasses.fields(cls)}
        if unknown:
            raise RecordError(sorted(unknown)[0], "unknown field")
        if isinstance(d["id"], bool) or not isinstance(d["id"], (str, int)) or not str(d["id"]).strip():
            raise RecordError("id", f"must be a non-empty string or an integer, got {d['id']!r}")
        return cls(
            id=str(d["id"]),
            source=str(d["source"]),
            kind=d["kind"],
            prompt=d["prompt"],
            candidates=d["candidates"],
            gold=d.get("gold"),
            domain=d.get("domain", "general"),
            resources=Resources.from_dict(d.get("resources")),
            meta=dict(d.get("meta") or {}),
        )


@dataclass
class Trajectory:
    """One judgment of one task in one candidate order: the full conversation and its outcome.

    verdict: the display label the judge chose ("A", "B", ..., "tie"), or a score string for
    pointwise; None when unparseable. choice: the candidate index it maps to (None for tie/none).
    """

    task_id: str
    setting: str
    order: list[int]
    messages: list[dict[str, Any]]
    verdict: str | None = None
    choice: int | None = None
    score: float | None = None
    parse_ok: bool = False
    correct: bool | None = None
    used_resources: list[str] = field(default_factory=list)
    tool_calls: int = 0
    invalid_tool_calls: int = 0
    steps: int = 0
    forced_final: bool = False
    teacher: str = ""
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency_s: float = 0.0
    confidence: float | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Trajectory:
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(d) - names
        if unknown:
            raise RecordError(sorted(unknown)[0], "unknown field")
        for k in ("task_id", "setting", "order", "messages"):
            if k not in d:
                raise RecordError(k, "missing")
        return cls(**d)


def task_from_pair(row: dict[str, Any], source: str = "generic", domain: str = "general") -> JudgeTask:
    """The generic pairwise row `{"id", "prompt", "chosen", "rejected", "reference"?, "source"?}`
    (optional "subset" and "domain" too). prompt: text or chat messages.

    candidates = [chosen, rejected], gold = 0: every judgment is run in both orders, so the stored
    order carries no signal. Other fields are ignored (never copied into the task).
    """
    for key in ("id", "prompt", "chosen", "rejected"):
        if row.get(key) in (None, ""):
            raise RecordError(key, "missing")
    if isinstance(row["id"], bool) or not isinstance(row["id"], (str, int)):
        raise RecordError("id", "must be a string or an integer")
    for key in ("chosen", "rejected"):
        if not isinstance(row[key], str) or not row[key].strip():
            raise RecordError(key, "must be a non-empty string")
    opt = {}
    for key in ("reference", "source", "subset", "domain"):
        value = row.get(key)
        if value not in (None, "") and not isinstance(value, str):
            raise RecordError(key, f"must be a string, got {type(value).__name__}")
        opt[key] = value or None
    src = opt["source"] or source
    return JudgeTask(
        id=str(row["id"]), source=src, kind="pairwise", prompt=row["prompt"],
        candidates=[row["chosen"], row["rejected"]], gold=0, domain=opt["domain"] or domain,
        resources=Resources(reference=opt["reference"]),
        meta={"benchmark": src, "subset": opt["subset"] or src},
    )


def task_from_any(row: dict[str, Any], source: str = "generic") -> JudgeTask:
    """A JudgeTask row (has `candidates`) or a generic pairwise row."""
    return JudgeTask.from_dict(row) if "candidates" in row else task_from_pair(row, source)
