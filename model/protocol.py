"""The judging protocol: what each setting exposes, and how a trained judge expects to be run.

A *setting* fixes what a judge sees. Two questions make the 2x2 grid every comparison uses:

                       fair inputs (visible text only)   operational inputs (+ the sample's resources)
    direct judge       baseline                          baseline_operational (resources as text, no tools)
    skill judge        skill_fair                        skill_operational (resources through the tools)

The sample's resources are its reference answer, checklist, constraints and tests. A direct judge and a
skill judge in the same column see the same inputs; only the way of judging differs.

A `JudgeProtocol` is how a trained judge judges: the settings it learned, its prompt style, tie policy
and limits. data.render writes it (judge_config.json) next to the rendered data, train.sft / train.rl
carry it into their checkpoints, train.export into the exported folder, and every judging entry point
(eval.run, model.judge, JudgeReward, verl's compute_score, model.reward.server, the in-training eval)
reads it from the model folder. An explicit setting that differs from the trained one warns once, naming both.

This is the only module that spells a setting name.
"""
from __future__ import annotations

import dataclasses
import json
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BASELINE = "baseline"
BASELINE_OPERATIONAL = "baseline_operational"
SKILL_FAIR = "skill_fair"
SKILL_OPERATIONAL = "skill_operational"


@dataclass(frozen=True)
class Setting:
    name: str
    tools: bool             # the judge executes the skill: skill catalog, tools, several turns
    sample_resources: bool  # the sample's own reference / checklist / constraints / tests are in its input
    description: str

    @property
    def direct(self) -> bool:
        return not self.tools

    @property
    def max_steps(self) -> int | None:
        """A direct judge answers in one turn; None: the agent config's limit."""
        return None if self.tools else 1


SETTINGS: dict[str, Setting] = {s.name: s for s in (
    Setting(BASELINE, tools=False, sample_resources=False,
            description="direct judge on the visible text (prompt and responses)"),
    Setting(BASELINE_OPERATIONAL, tools=False, sample_resources=True,
            description="direct judge that also reads the sample's resources as text"),
    Setting(SKILL_FAIR, tools=True, sample_resources=False,
            description="skill judge with tools over the visible text only"),
    Setting(SKILL_OPERATIONAL, tools=True, sample_resources=True,
            description="skill judge with tools and the sample's resources"),
)}
SETTING_NAMES = tuple(SETTINGS)
TOOL_SETTINGS = tuple(n for n, s in SETTINGS.items() if s.tools)
DIRECT_SETTINGS = tuple(n for n, s in SETTINGS.items() if not s.tools)
PROMPT_STYLES = ("full", "compact")


def get_setting(name: str) -> Setting:
    try:
        return SETTINGS[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown setting {name!r}; expected one of {', '.join(SETTING_NAMES)}") from None


def check_settings(names: list[str] | tuple[str, ...], what: str = "settings") -> list[str]:
    """The names, validated (non-empty, known, no repeats)."""
    names = list(names)
    if not names:
        raise ValueError(f"{what} must name at least one of {', '.join(SETTING_NAMES)}")
    for n in names:
        get_setting(n)
    if len(set(names)) != len(names):
        raise ValueError(f"{what} repeats a setting: {names}")
    return names


def twin(name: str, tools: bool) -> str:
    """The setting with the same inputs as `name` and the other way of judging (e.g. skill_fair -> baseline)."""
    s = get_setting(name)
    return next(o.name for o in SETTINGS.values() if o.tools == tools and o.sample_resources == s.sample_resources)


def grid_cell(name: str) -> tuple[str, str]:
    """(row, column) of a setting in the 2x2 grid: ('direct' | 'skill', 'fair' | 'operational')."""
    s = get_setting(name)
    return ("skill" if s.tools else "direct", "operational" if s.sample_resources else "fair")


# ------------------------------------------------------------------------------------------- protocol

PROTOCOL_FILE = "judge_config.json"
# The agent-config fields a protocol fixes (model.agent.AgentConfig has the same names).
PROTOCOL_FIELDS = ("prompt_style", "allow_tie", "max_candidate_chars", "max_steps", "max_new_tokens")
DEFAULTS: dict[str, Any] = {"prompt_style": "full", "allow_tie": True, "max_candidate_chars": None,
                            "max_steps": 8, "max_new_tokens": 512}


@dataclass
class JudgeProtocol:
    """How a judge was trained to judge. `settings`: the settings of its training data, in order."""

    settings: list[str] = field(default_factory=lambda: [SKILL_OPERATIONAL])
    prompt_style: str = DEFAULTS["prompt_style"]
    allow_tie: bool = DEFAULTS["allow_tie"]
    max_candidate_chars: int | None = DEFAULTS["max_candidate_chars"]
    max_steps: int = DEFAULTS["max_steps"]
    max_new_tokens: int = DEFAULTS["max_new_tokens"]
    source: str | None = None  # provenance: the data folder it was rendered with (not part of the behaviour)

    def __post_init__(self) -> None:
        check_settings(self.settings, "protocol settings")
        if self.prompt_style not in PROMPT_STYLES:
            raise ValueError(f"unknown prompt style {self.prompt_style!r}; expected one of {PROMPT_STYLES}")

    @classmethod
    def from_agent(cls, agent: Any, settings: list[str], source: str | None = None) -> JudgeProtocol:
        """The protocol of trajectories made with `agent` (an AgentConfig) in `settings`."""
        values = {k: getattr(agent, k) for k in PROTOCOL_FIELDS if getattr(agent, k, None) is not None}
        return cls(settings=list(settings), source=source, **values)

    def same_behaviour(self, other: JudgeProtocol) -> bool:
        return {**self.to_dict(), "source": None} == {**other.to_dict(), "source": None}

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any], where: str = "protocol") -> JudgeProtocol:
        if not isinstance(d, dict):
            raise ValueError(f"{where}: a judge protocol must be a JSON object")
        unknown = set(d) - {f.name for f in dataclasses.fields(cls)}
        if unknown:
            raise ValueError(f"{where}: unknown protocol keys {sorted(unknown)}")
        try:
            return cls(**d)
        except (TypeError, ValueError) as e:
            raise ValueError(f"{where}: {e}") from None

    def save(self, folder: str | Path) -> Path:
        path = Path(folder) / PROTOCOL_FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_dict(), indent=1) + "\n", encoding="utf-8")
        return path

    @classmethod
    def for_data(cls, data_path: str | Path) -> JudgeProtocol | None:
        """The protocol data.render wrote for a rendered format: in the format folder, or next to a
        `<format>.jsonl` in the folder `<format>/`."""
        p = Path(data_path)
        for folder in (p, p.parent / p.stem, p.parent):
            found = cls.load(folder) if folder.is_dir() else None
            if found is not None:
                return found
        return None

    @classmethod
    def load(cls, folder: str | Path) -> JudgeProtocol | None:
        """The protocol saved in `folder` (a model or data folder), or None when it has none."""
        path = Path(folder).expanduser() / PROTOCOL_FILE
        if not path.is_file():
            return None
        return cls.from_dict(json.loads(path.read_text(encoding="utf-8")), str(path))


_WARNED: set[tuple] = set()


def _warn_once(key: tuple, message: str) -> None:
    if key not in _WARNED:
        _WARNED.add(key)
        warnings.warn(message, stacklevel=3)


def resolve_agent(agent: Any, protocol: JudgeProtocol | None, who: str = "judge") -> Any:
    """A copy of `agent` (an AgentConfig) with every protocol field that is None filled in: from the
    judge's trained protocol when it has one, else the defaults. An explicit value that differs from
    the trained one is kept, with a warning naming both."""
    values = {}
    for name in PROTOCOL_FIELDS:
        explicit = getattr(agent, name)
        trained = getattr(protocol, name) if protocol is not None else DEFAULTS[name]
        if explicit is None:
            values[name] = trained
            continue
        if protocol is not None and explicit != trained:
            _warn_once((who, name, explicit, trained),
                       f"{who}: {name}={explicit!r} differs from the judge's trained protocol ({name}={trained!r}); "
                       "the judge may lose accuracy with a prompt it was not trained on")
        values[name] = explicit
    return dataclasses.replace(agent, **values)


def resolve_settings(settings: list[str] | None, protocol: JudgeProtocol | None, who: str = "judge",
                     default: str = SKILL_OPERATIONAL) -> list[str]:
    """The settings to judge in: the explicit ones (warning for any the judge was not trained on), else
    the trained ones, else `default`."""
    if not settings:
        return list(protocol.settings) if protocol is not None else [default]
    check_settings(settings)
    if protocol is not None:
        untrained = [s for s in settings if s not in protocol.settings]
        if untrained:
            _warn_once((who, "settings", tuple(untrained)),
                       f"{who}: judging in {untrained}, but the judge was trained on {protocol.settings}")
    return list(settings)
