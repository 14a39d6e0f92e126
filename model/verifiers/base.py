"""The runner protocol: what a `run_resource` call hands a verifier and what it gets back.

A runner sees only a `VerifierInput`: the prompt, the candidates under their display labels, the
resources visible in this setting and the judge's call arguments. It never sees the gold label,
which candidate was "chosen", or the dataset's order.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from model.records import Resources


class VerifierError(ValueError):
    """Missing inputs, bad arguments or an unknown runner; the message is shown to the judge."""


@dataclass
class VerifierInput:
    prompt: str
    candidates: dict[str, str]
    resources: Resources = field(default_factory=Resources)
    args: dict[str, Any] = field(default_factory=dict)
    allow_weak_isolation: bool = False  # code runners: let the sandbox run without namespaces (opt-in)

    def get(self, name: str, from_args: bool = True) -> Any:
        """A resource field: the sample's resource first, else (when allowed) the judge's argument."""
        value = getattr(self.resources, name, None)
        if value in (None, "", []) and from_args:
            value = (self.args or {}).get(name)
        return None if value in (None, "", []) else value

    def require(self, name: str, runner: str, from_args: bool = True) -> Any:
        value = self.get(name, from_args)
        if value is None:
            where = f"resources.{name}" + (f" or the '{name}' argument" if from_args else "")
            raise VerifierError(f"{runner}: needs {where}; none is available for this sample")
        return value


@dataclass
class VerifierResult:
    runner: str
    per_candidate: dict[str, dict[str, Any]]
    summary: str
    decisive: bool = False
    favours: list[str] = field(default_factory=list)  # decisive: the labels without the failure found

    def __post_init__(self) -> None:
        if self.decisive and not self.favours:
            raise ValueError(f"{self.runner}: a decisive result must say which candidates it favours")
        if not self.decisive:
            self.favours = []

    def to_text(self, max_value_chars: int = 160) -> str:
        """Summary line, one `label: key=value; ...` line per candidate, then what the evidence decides."""
        lines = [f"[{self.runner}] {self.summary}"]
        for label, findings in self.per_candidate.items():
            parts = [f"{k}={_short(v, max_value_chars)}" for k, v in findings.items()]
            lines.append(f"{label}: " + "; ".join(parts))
        lines.append(f"decisive: yes, favours {', '.join(self.favours)}" if self.decisive else "decisive: no")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {
            "runner": self.runner,
            "per_candidate": self.per_candidate,
            "summary": self.summary,
            "decisive": self.decisive,
            "favours": list(self.favours),
        }


def _short(value: Any, limit: int) -> str:
    if isinstance(value, float):
        text = f"{value:.3g}"
    elif isinstance(value, (dict, list)):
        text = json.dumps(value, ensure_ascii=False)
    else:
        text = str(value)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


Runner = Callable[[VerifierInput], VerifierResult]
VERIFIERS: dict[str, Runner] = {}


def register(name: str) -> Callable[[Runner], Runner]:
    def deco(fn: Runner) -> Runner:
        VERIFIERS[name] = fn
        return fn

    return deco


def run_verifier(name: str, inp: VerifierInput) -> VerifierResult:
    runner = VERIFIERS.get(name)
    if runner is None:
        raise VerifierError(f"unknown runner {name!r}; available: {', '.join(sorted(VERIFIERS))}")
    if not inp.candidates:
        raise VerifierError(f"{name}: no candidates to check")
    return runner(inp)


def mixed(values: list[bool]) -> bool:
    """True when some candidates pass and some fail: the evidence separates them."""
    return any(values) and not all(values)


def separating(passed: dict[str, bool]) -> tuple[bool, list[str]]:
    """(decisive, favoured labels) for a pass/fail finding per label."""
    good = [lab for lab, ok in passed.items() if ok]
    return mixed(list(passed.values())), good
