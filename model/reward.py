"""The judge as a reward for policy RL: one `JudgeReward`, three front ends (DESIGN.md "One runtime, four users").

    from model.reward import JudgeReward
    reward = JudgeReward(model="smollm2-135m", setting="skill_operational", mode="pointwise")
    trainer = GRPOTrainer(model=..., reward_funcs=reward, train_dataset=ds)   # TRL, as-is

    # verl: custom_reward_function.path=model/reward.py custom_reward_function.name=compute_score
    # OpenRLHF: python -m model.serve_reward --model ... --port 5000; --remote_rm_url http://host:5000/get_reward

Every judgment runs through the runtime's batched agent loop (`model.agent.run_agent`): the same skill
loader, tools, verifiers, sandbox and verdict parsing as the teachers, eval and judge RL. Nothing here
re-implements a step of it; this module only turns (prompt, completion, resources) into `JudgeTask`s
and verdicts into numbers.

Reward definitions
- pointwise: the judge rates the completion 1-10 against the sample's resources (reference,
  checklist, constraints, tests; visible to the judge in `skill_operational` only) -> (rating - 1) / 9.
- pairwise: the judge compares the completion with the sample's baseline response (column `baseline`,
  alias `reference_response` / `baseline_response`) in BOTH candidate orders; each order scores
  1 (completion wins), 0.5 (tie), 0 (baseline wins) and the reward is the mean over the two orders,
  which cancels the judge's position bias. Both orders must parse (`require_both_orders=True`); a
  single-order verdict carries the position bias the second order exists to remove.
All rewards lie in [0, 1].

Failures are never mapped to a label. A judgment that yields no parseable verdict (parse failure, the
backend's generation error, or no verdict within `agent.max_steps`), or that has not finished when the
per-call wall-clock budget `timeout_s` runs out, gives its sample `failure_reward` and is counted in
`last_stats` / `total_stats` (and in the per-sample `last_results`).
The default `failure_reward` is 0.0, the floor of the reward range, in both modes: a policy must never
gain by derailing its judge (prompt injection, output that breaks the judge's format), which any
"neutral" value above the floor would reward whenever the policy's typical reward is below it. In GRPO a
constant for a whole group carries no advantage, so 0 only costs the completions whose judge failed.
`failure_reward=None` returns None for failed samples (TRL only: GRPOTrainer turns None into NaN and
leaves that reward function out of the sample's total, "reward not applicable"); the verl and HTTP
front ends need a number.

Timeouts: with `timeout_s` set, a call's judgments run in a worker thread. At each step boundary past
the deadline, the unfinished episodes are stopped; if one backend step itself overruns, the call
returns at the deadline anyway with failure rewards for every judgment not finished by then (the
worker is told to stop at its next step boundary, and the next call first waits for it: a backend
is never driven by two calls at once). Which judgments count as finished is decided by their finish
time against the deadline, so the outcome does not depend on thread timing.

Front ends (the formats were checked against the frameworks' source):
- TRL `GRPOTrainer(reward_funcs=reward)`: trl 1.16.0 `GRPOTrainer._calculate_rewards` calls
  `reward_func(prompts=prompts, completions=completions, completion_ids=completion_ids_list,
  **reward_kwargs)` where reward_kwargs holds every dataset column but prompt/completion/completion_ids
  (one list entry per completion) plus `trainer_state`, `log_extra`, `log_metric` (and `environments`);
  prompts/completions are strings, or message lists for conversational data. Its return must be one
  float (or None -> NaN) per completion. The logged name is `get_callable_name(func)`, i.e. the
  instance's `__name__`. Unknown keyword arguments are ignored here; `log_metric` / `log_extra` are used
  for the judge's counters when TRL passes them.
- verl `custom_reward_function` (path + name, optional `reward_kwargs` merged into each call): the
  `naive` reward manager calls `compute_score(data_source=, solution_str=, ground_truth=, extra_info=)`
  per sample with the decoded response only (no prompt) and accepts a float or a dict with a "score"
  key; the `batch` manager calls `compute_score(data_sources=, solution_strs=, ground_truths=,
  extra_infos=, **reward_kwargs)` once per batch -> `compute_score_batch` here. verl loads the file with
  `importlib.util.spec_from_file_location("custom_module", path)`, so this module also works when it
  is not imported as `model.reward` (it puts the repo root on sys.path).
- OpenRLHF `--remote_rm_url`: see `model/serve_reward.py`.
"""
# No `from __future__ import annotations`: verl may exec this file without registering it in sys.modules,
# where dataclasses cannot resolve string annotations. The annotations below are valid at runtime.
import json
import math
import os
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

if __name__ != "model.reward":  # loaded by file path (verl's custom_reward_function): make `model` importable
    _ROOT = str(Path(__file__).resolve().parent.parent)
    if _ROOT not in sys.path:
        sys.path.insert(0, _ROOT)

from model.agent import AgentConfig, load_skills, run_agent, to_trajectory  # noqa: E402
from model.backends import Backend, make_backend  # noqa: E402
from model.backends.scripted import ScriptedBackend  # noqa: E402
from model.prompts import SETTINGS  # noqa: E402
from model.records import DOMAINS, JudgeTask, RecordError, Resources, Trajectory  # noqa: E402
from model.verdict import TIE, Verdict  # noqa: E402

MODES = ("pointwise", "pairwise")
TIMEOUT_ERROR = "judge timeout: the call's wall-clock budget ran out before this judgment finished"
RESOURCE_COLUMNS = ("reference", "checklist", "constraints", "tests", "metadata")
BASELINE_COLUMNS = ("baseline", "reference_response", "baseline_response")
RESOURCE_FIELDS_AND_EXTRAS = (*RESOURCE_COLUMNS, *BASELINE_COLUMNS, "domain")


# --- inputs and outputs ----------------------------------------------------------------------------


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


# --- input normalisation (TRL / verl / HTTP all come through here) --------------------------------


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
    """numpy arrays / scalars (verl's non-tensor batch, pandas-read parquet) -> plain Python."""
    if hasattr(value, "tolist") and not isinstance(value, (str, bytes)):
        return value.tolist()
    return value


def maybe_json(value: Any) -> Any:
    if isinstance(value, str) and value.strip()[:1] in ("[", "{"):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


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


def _columns(kwargs: dict[str, Any], n: int) -> list[dict[str, Any]]:
    """Per-sample field dicts from TRL-style column kwargs (lists aligned with the completions).

    Only the known columns are read; every other keyword (completion_ids, trainer_state, log_extra, ...)
    is ignored. A known column must hold one entry per completion.
    """
    rows: list[dict[str, Any]] = [{} for _ in range(n)]
    for key in (*RESOURCE_COLUMNS, *BASELINE_COLUMNS, "resources", "domain"):
        if key not in kwargs or kwargs[key] is None:
            continue
        values = to_plain(kwargs[key])
        if not isinstance(values, (list, tuple)) or len(values) != n:
            got = f"{len(values)} entries" if isinstance(values, (list, tuple)) else type(values).__name__
            raise ValueError(f"column '{key}' must hold one entry per completion ({n}), got {got}")
        for row, value in zip(rows, values):
            row[key] = value
    return rows


# --- backends ----------------------------------------------------------------------------------------


def scripted_backend(spec: str) -> ScriptedBackend:
    """`scripted:MODULE:FUNCTION` -> a ScriptedBackend running that policy (tests, programmatic judges).

    FUNCTION may also be a zero-argument factory returning a Backend (marked by `make_backend = True`
    on the function)."""
    import importlib

    try:
        _, module_name, attr = spec.split(":", 2)
    except ValueError:
        raise ValueError(f"scripted backend spec must be 'scripted:MODULE:FUNCTION', got {spec!r}") from None
    fn = getattr(importlib.import_module(module_name), attr)
    if getattr(fn, "make_backend", False):
        return fn()
    return ScriptedBackend(fn, name=f"scripted:{attr}")


def build_backend(kind: str, model: str, base_url: str | Sequence[str] | None = None,
                  batch_size: int | None = None, **options: Any) -> Backend:
    """The judge backend for a kind: hf | openai | vllm (via `make_backend`) or scripted:MODULE:FUNCTION."""
    if kind.startswith("scripted:"):
        return scripted_backend(kind)
    if kind == "hf":
        return make_backend("hf", model, batch_size=batch_size, **options)
    if kind == "openai":
        urls = [base_url] if isinstance(base_url, str) else list(base_url or [])
        return make_backend("openai", model, base_urls=[u for s in urls for u in s.split(",") if u], **options)
    return make_backend(kind, model, **options)


# --- the reward ----------------------------------------------------------------------------------------


class JudgeReward:
    """A skill-executing LLM judge as a reward function (TRL-callable; see the module docstring).

    model:          model spec for the judge (embedded name, Hub id, folder; served name for openai).
    backend:        a Backend instance, or a kind: "hf" (default), "openai", "vllm", "scripted:MOD:FN".
                    A kind is built on first use (`warmup()` builds it now).
    base_url:       OpenAI-compatible server URL(s) for backend "openai" (comma-separated or a list).
    setting:        baseline | skill_fair | skill_operational (per-sample resources visible only here).
    mode:           pointwise | pairwise.
    agent:          AgentConfig for the judge (steps, tokens, temperature, tool budget, skills).
    batch_size:     generation batch size of a backend built here (hf); all samples of a call are
                    judged in one batched run of the agent loop either way.
    timeout_s:      wall-clock budget per call (None: no limit).
    failure_reward: reward of a sample whose judgment failed or timed out (default 0.0; None for TRL's
                    "not applicable"); see the module docstring.
    require_both_orders: pairwise: a sample needs both orders' verdicts (else failure_reward).
    name:           `__name__` (TRL logs rewards under it); default `skillrm_judge_<mode>`.
    """

    def __init__(self, model: str = "smollm2-135m", *, backend: Backend | str | None = None,
                 base_url: str | Sequence[str] | None = None, setting: str = "skill_operational",
                 mode: str = "pointwise", agent: AgentConfig | None = None, batch_size: int | None = None,
                 timeout_s: float | None = None, failure_reward: float | None = 0.0,
                 require_both_orders: bool = True, name: str | None = None, skills: Any = None,
                 backend_options: dict[str, Any] | None = None):
        if setting not in SETTINGS:
            raise ValueError(f"unknown setting {setting!r}; expected one of {SETTINGS}")
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}; expected one of {MODES}")
        if failure_reward is not None and not math.isfinite(float(failure_reward)):
            raise ValueError("failure_reward must be a finite number or None")
        if timeout_s is not None and timeout_s <= 0:
            raise ValueError("timeout_s must be positive (or None for no limit)")
        self.model = model
        self.setting = setting
        self.mode = mode
        self.agent = agent or AgentConfig()
        self.batch_size = batch_size
        self.timeout_s = timeout_s
        self.failure_reward = None if failure_reward is None else float(failure_reward)
        self.require_both_orders = require_both_orders
        self.__name__ = name or f"skillrm_judge_{mode}"
        self._backend = backend if isinstance(backend, Backend) else None
        self._backend_kind = backend if isinstance(backend, str) else "hf"
        self._base_url = base_url
        self._backend_options = dict(backend_options or {})
        self._skills = skills
        self._lock = threading.Lock()
        self._worker: threading.Thread | None = None
        self._calls = 0
        self.last_stats: dict[str, Any] = {}
        self.last_results: list[RewardResult] = []
        self.total_stats: dict[str, Any] = {k: 0 for k in (
            "calls", "samples", "judgments", "failed_samples", "parse_failures", "generation_errors",
            "timeouts", "input_errors", "tool_calls")}
        self.total_stats["latency_s"] = 0.0

    def __repr__(self) -> str:
        return (f"JudgeReward(name={self.__name__!r}, model={self.model!r}, backend={self.describe_backend()!r}, "
                f"setting={self.setting!r}, mode={self.mode!r}, timeout_s={self.timeout_s})")

    # -- lifecycle ------------------------------------------------------------------------------------
    @property
    def backend(self) -> Backend:
        if self._backend is None:
            self._backend = build_backend(self._backend_kind, self.model, self._base_url, self.batch_size,
                                          **self._backend_options)
        return self._backend

    @property
    def skills(self) -> Any:
        if self._skills is None:
            self._skills = load_skills(self.agent)
        return self._skills

    def describe_backend(self) -> str:
        return self._backend.describe() if self._backend is not None else f"{self._backend_kind}:{self.model}"

    def warmup(self) -> "JudgeReward":
        """Builds the backend and loads the skills now (servers call this before accepting requests)."""
        _ = self.backend, self.skills
        return self

    def close(self) -> None:
        if self._worker is not None:
            self._worker.join(timeout=self.timeout_s)
        if self._backend is not None:
            self._backend.close()

    # -- TRL ------------------------------------------------------------------------------------------
    def __call__(self, prompts: Sequence[Any] | None = None, completions: Sequence[Any] | None = None,
                 **kwargs: Any) -> list[float | None]:
        """TRL's reward-function contract: one reward per completion (see the module docstring)."""
        if completions is None:
            raise TypeError("JudgeReward needs `completions` (and `prompts`)")
        completions = list(to_plain(completions))
        n = len(completions)
        prompts = list(to_plain(prompts)) if prompts is not None else None
        if prompts is None or len(prompts) != n:
            raise ValueError(f"JudgeReward needs one prompt per completion; got "
                             f"{'no prompts' if prompts is None else len(prompts)} for {n} completions")
        rows = _columns(kwargs, n)
        samples = []
        for i, (p, c, row) in enumerate(zip(prompts, completions, rows)):
            try:
                samples.append(sample_from_fields(p, c, row))
            except ValueError as e:
                raise ValueError(f"sample {i}: {e}") from e
        results = self.score(samples)
        log_metric, log_extra = kwargs.get("log_metric"), kwargs.get("log_extra")
        if callable(log_metric):
            for key in ("failure_rate", "parse_failures", "timeouts", "mean_tool_calls", "latency_s"):
                value = self.last_stats.get(key)
                if value is not None:
                    log_metric(f"{self.__name__}/{key}", float(value))
        if callable(log_extra):
            log_extra(f"{self.__name__}_verdicts", [",".join(str(v) for v in r.verdicts) for r in results])
        return [r.reward for r in results]

    # -- the core -------------------------------------------------------------------------------------
    def score(self, samples: Sequence[RewardSample]) -> list[RewardResult]:
        """Judges every sample in one batched run of the agent loop; fills last_stats / last_results."""
        with self._lock:
            return self._score(list(samples))

    def _score(self, samples: list[RewardSample]) -> list[RewardResult]:
        t0 = time.perf_counter()
        self._calls += 1
        items: list[tuple[JudgeTask, list[int]]] = []
        owners: list[int] = []  # items[k] judges samples[owners[k]]
        input_errors: dict[int, str] = {}
        for i, s in enumerate(samples):
            if s.error is None and self.mode == "pairwise" and s.baseline is None:
                raise ValueError(f"sample {i}: pairwise mode needs a baseline response per sample "
                                 f"(column/field one of {BASELINE_COLUMNS})")
            if s.error is not None:
                input_errors[i] = s.error
                continue
            task = self._task(i, s)
            for order in task.orders(both=True):
                items.append((task, order))
                owners.append(i)
        trajs, timed_out = self._judge(items, t0)
        per_sample: list[list[tuple[Trajectory | None, bool]]] = [[] for _ in samples]
        for (traj, late), owner in zip(zip(trajs, timed_out), owners):
            per_sample[owner].append((traj, late))
        results = [self._result(per_sample[i], input_errors.get(i)) for i in range(len(samples))]
        self._record(samples, results, trajs, timed_out, len(input_errors), time.perf_counter() - t0)
        return results

    def _task(self, i: int, s: RewardSample) -> JudgeTask:
        candidates = [s.completion] if self.mode == "pointwise" else [s.completion, s.baseline or ""]
        try:
            return JudgeTask(id=f"reward-{self._calls}-{i}", source="reward", kind=self.mode, prompt=s.prompt,
                             candidates=candidates, domain=s.domain, resources=s.resources)
        except RecordError as e:
            raise ValueError(f"sample {i}: {e}") from e

    def _judge(self, items: list[tuple[JudgeTask, list[int]]],
               t0: float) -> tuple[list[Trajectory | None], list[bool]]:
        """Runs the agent loop over all items; returns (trajectory or None, timed out) per item."""
        if not items:
            return [], []
        backend, skills, cfg = self.backend, self.skills, self.agent
        if self.timeout_s is None:
            trajs = run_agent(backend, items, self.setting, cfg, skills=skills, teacher=backend.describe())
            return list(trajs), [False] * len(items)

        deadline = t0 + self.timeout_s
        if self._worker is not None and self._worker.is_alive():  # a previous call's overrunning step
            self._worker.join(timeout=max(0.0, deadline - time.perf_counter()))
            if self._worker.is_alive():
                return [None] * len(items), [True] * len(items)
        captured: list[Any] = []
        cancel = threading.Event()
        failure: list[BaseException] = []

        def on_step(active: list[Any]) -> None:
            if not captured:  # the first step runs every episode, in item order
                captured.extend(active)
            if cancel.is_set() or time.perf_counter() > deadline:
                now = time.perf_counter()
                for ep in captured:
                    if not ep.done:
                        ep.verdict, ep.done, ep.ended = Verdict(error=TIMEOUT_ERROR), True, now

        def work() -> None:
            try:
                run_agent(backend, items, self.setting, cfg, skills=skills, teacher=backend.describe(),
                          on_step=on_step)
            except BaseException as e:  # re-raised in the calling thread when it finished in time
                failure.append(e)

        worker = threading.Thread(target=work, name="judge-reward", daemon=True)
        self._worker = worker
        worker.start()
        worker.join(timeout=max(0.0, deadline - time.perf_counter()))
        if worker.is_alive():
            cancel.set()
        elif failure:
            raise failure[0]
        if len(captured) != len(items):  # the first step never finished
            return [None] * len(items), [True] * len(items)
        trajs: list[Trajectory | None] = []
        late: list[bool] = []
        for ep in captured:
            ended = ep.ended
            finished = ep.done and 0 < ended <= deadline and not (ep.verdict and ep.verdict.error == TIMEOUT_ERROR)
            trajs.append(to_trajectory(ep, backend.describe()) if finished else None)
            late.append(not finished)
        return trajs, late

    def _result(self, judged: list[tuple[Trajectory | None, bool]], input_error: str | None) -> RewardResult:
        if input_error is not None:
            return RewardResult(reward=self.failure_reward, ok=False, error=f"input error: {input_error}")
        scores: list[float | None] = []
        verdicts: list[str | None] = []
        errors: list[str] = []
        timed_out = False
        tool_calls = invalid = steps = 0
        latency = 0.0
        used: list[str] = []
        for traj, late in judged:
            if late or traj is None:
                timed_out = True
                scores.append(None)
                verdicts.append(None)
                errors.append("timeout")
                continue
            tool_calls += traj.tool_calls
            invalid += traj.invalid_tool_calls
            steps += traj.steps
            latency = max(latency, traj.latency_s)
            used += [r for r in traj.used_resources if r not in used]
            verdicts.append(traj.verdict)
            value = self._judgment_value(traj)
            scores.append(value)
            if value is None:
                errors.append(f"parse failure: {traj.meta.get('parse_error') or 'no verdict'}")
        valid = [v for v in scores if v is not None]
        if self.mode == "pointwise":
            ok = len(valid) == 1
            reward = min(1.0, max(0.0, (valid[0] - 1.0) / 9.0)) if ok else None
        else:
            ok = len(valid) == len(scores) if self.require_both_orders else bool(valid)
            reward = sum(valid) / len(valid) if ok else None
        return RewardResult(reward=reward if ok else self.failure_reward, ok=ok,
                            error=None if ok else "; ".join(errors) or "no verdict",
                            judge_scores=scores, verdicts=verdicts, tool_calls=tool_calls,
                            invalid_tool_calls=invalid, steps=steps, latency_s=round(latency, 4),
                            timed_out=timed_out, used_resources=used)

    def _judgment_value(self, traj: Trajectory) -> float | None:
        """Pointwise: the 1-10 rating. Pairwise: 1 / 0.5 / 0 for completion win / tie / loss (candidate 0
        is the completion in every order). None when the judgment has no verdict."""
        if not traj.parse_ok:
            return None
        if self.mode == "pointwise":
            return traj.score
        if traj.verdict == TIE:
            return 0.5
        if traj.choice is None:
            return None
        return 1.0 if traj.choice == 0 else 0.0

    def _record(self, samples: list[RewardSample], results: list[RewardResult], trajs: list[Trajectory | None],
                timed_out: list[bool], input_errors: int, wall: float) -> None:
        done = [t for t in trajs if t is not None]
        timeouts = sum(timed_out)
        parse_failures = sum(1 for t in done if not t.parse_ok)
        generation_errors = sum(1 for t in done if not t.parse_ok and t.meta.get("errors"))
        failed = sum(1 for r in results if not r.ok)
        ok_rewards = [r.reward for r in results if r.ok and r.reward is not None]
        n = len(samples)
        self.last_results = results
        self.last_stats = {
            "samples": n, "judgments": len(trajs), "failed_samples": failed,
            "failure_rate": failed / n if n else 0.0,
            "parse_failures": parse_failures, "generation_errors": generation_errors,
            "timeouts": timeouts, "input_errors": input_errors,
            "mean_tool_calls": sum(t.tool_calls for t in done) / len(done) if done else 0.0,
            "mean_invalid_tool_calls": sum(t.invalid_tool_calls for t in done) / len(done) if done else 0.0,
            "mean_steps": sum(t.steps for t in done) / len(done) if done else 0.0,
            "mean_judgment_latency_s": sum(t.latency_s for t in done) / len(done) if done else 0.0,
            "latency_s": round(wall, 4),
            "reward_mean": sum(ok_rewards) / len(ok_rewards) if ok_rewards else None,
        }
        tot = self.total_stats
        tot["calls"] += 1
        for key in ("samples", "judgments", "failed_samples", "parse_failures", "generation_errors", "timeouts",
                    "input_errors"):
            tot[key] += self.last_stats[key]
        tot["tool_calls"] += sum(t.tool_calls for t in done)
        tot["latency_s"] = round(tot["latency_s"] + wall, 4)


# --- verl ----------------------------------------------------------------------------------------------

ENV_VARS = {
    "model": "SKILLRM_REWARD_MODEL",
    "setting": "SKILLRM_REWARD_SETTING",
    "mode": "SKILLRM_REWARD_MODE",
    "backend": "SKILLRM_REWARD_BACKEND",
    "base_url": "SKILLRM_REWARD_BASE_URL",
    "timeout_s": "SKILLRM_REWARD_TIMEOUT",
    "failure_reward": "SKILLRM_REWARD_FAILURE",
    "batch_size": "SKILLRM_REWARD_BATCH_SIZE",
    "return_dict": "SKILLRM_REWARD_RETURN_DICT",
}
_DEFAULTS: dict[str, Any] = {"model": "smollm2-135m", "setting": "skill_operational", "mode": "pointwise",
                             "backend": "hf", "base_url": None, "timeout_s": None, "failure_reward": 0.0,
                             "batch_size": None, "return_dict": False}
_SHARED: dict[tuple, JudgeReward] = {}
_SHARED_LOCK = threading.Lock()


def reward_config(**overrides: Any) -> dict[str, Any]:
    """The process-wide reward's configuration: defaults <- SKILLRM_REWARD_* env vars <- overrides
    (verl's `custom_reward_function.reward_kwargs`). Unknown override keys are ignored."""
    cfg = dict(_DEFAULTS)
    for key, var in ENV_VARS.items():
        if os.environ.get(var, "") != "":
            cfg[key] = os.environ[var]
    cfg.update({k: v for k, v in overrides.items() if k in _DEFAULTS and v is not None})
    cfg["timeout_s"] = None if cfg["timeout_s"] in (None, "", "0", 0) else float(cfg["timeout_s"])
    cfg["failure_reward"] = float(cfg["failure_reward"])
    cfg["batch_size"] = None if cfg["batch_size"] in (None, "") else int(cfg["batch_size"])
    rd = cfg["return_dict"]
    cfg["return_dict"] = rd if isinstance(rd, bool) else str(rd).lower() in ("1", "true", "yes")
    return cfg


def shared_reward(**overrides: Any) -> JudgeReward:
    """One JudgeReward per process (per distinct configuration), built lazily on first use."""
    cfg = reward_config(**overrides)
    key = tuple(sorted((k, v) for k, v in cfg.items() if k != "return_dict"))
    with _SHARED_LOCK:
        reward = _SHARED.get(key)
        if reward is None:
            reward = JudgeReward(cfg["model"], backend=build_backend(cfg["backend"], cfg["model"], cfg["base_url"],
                                                                     cfg["batch_size"]),
                                 setting=cfg["setting"], mode=cfg["mode"], timeout_s=cfg["timeout_s"],
                                 failure_reward=cfg["failure_reward"], batch_size=cfg["batch_size"])
            _SHARED[key] = reward
    return reward


def _verl_sample(solution_str: Any, ground_truth: Any, extra_info: Any) -> RewardSample:
    """verl passes the decoded response only; the prompt must be in extra_info (prompt | question | query,
    as verl's own data_preprocess scripts store `question`). ground_truth -> resources.reference, or,
    when it is a mapping of resource fields, the resources themselves."""
    info = to_plain(extra_info)
    info = dict(info) if isinstance(info, dict) else {}
    prompt = next((info[k] for k in ("prompt", "question", "query") if to_plain(info.get(k)) not in (None, "", [])),
                  None)
    if prompt is None:
        raise ValueError("compute_score needs the policy prompt in extra_info['prompt'] (or 'question' / 'query'): "
                         "verl passes only the response to custom reward functions")
    fields = {k: v for k, v in info.items() if k in (*RESOURCE_COLUMNS, *BASELINE_COLUMNS, "resources", "domain")}
    gt = maybe_json(to_plain(ground_truth))
    if isinstance(gt, dict) and gt and set(gt) <= set(RESOURCE_FIELDS_AND_EXTRAS):
        fields = {**gt, **fields}
    elif gt not in (None, "") and "reference" not in fields:
        fields["reference"] = gt
    return sample_from_fields(to_plain(prompt), completion_text(to_plain(solution_str)), fields)


def _verl_output(result: RewardResult, return_dict: bool) -> float | dict[str, Any]:
    score = float(result.reward) if result.reward is not None else 0.0
    if not return_dict:
        return score
    return {"score": score, "judge_ok": float(result.ok), "judge_timeout": float(result.timed_out),
            "judge_tool_calls": float(result.tool_calls)}


def compute_score(data_source: Any, solution_str: Any, ground_truth: Any, extra_info: Any = None,
                  **kwargs: Any) -> float | dict[str, Any]:
    """verl custom reward function (naive / prime reward managers): one sample -> a float in [0, 1].

    With SKILLRM_REWARD_RETURN_DICT=1 (or reward_kwargs return_dict: true) it returns
    {"score", "judge_ok", "judge_timeout", "judge_tool_calls"}, which verl logs as reward_extra_info.
    data_source is not used: every source is judged the same way.
    """
    reward = shared_reward(**kwargs)
    [result] = reward.score([_verl_sample(solution_str, ground_truth, extra_info)])
    return _verl_output(result, reward_config(**kwargs)["return_dict"])


def compute_score_batch(data_sources: Sequence[Any], solution_strs: Sequence[Any], ground_truths: Sequence[Any],
                        extra_infos: Sequence[Any] | None = None, **kwargs: Any) -> list[float | dict[str, Any]]:
    """verl custom reward function for `reward_model.reward_manager=batch`: the whole batch in one judge call."""
    reward = shared_reward(**kwargs)
    n = len(solution_strs)
    infos = list(to_plain(extra_infos)) if extra_infos is not None else [None] * n
    samples = [_verl_sample(s, g, e) for s, g, e in zip(solution_strs, ground_truths, infos)]
    return_dict = reward_config(**kwargs)["return_dict"]
    return [_verl_output(r, return_dict) for r in reward.score(samples)]


__all__ = ["JudgeReward", "RewardSample", "RewardResult", "compute_score", "compute_score_batch", "shared_reward",
           "reward_config", "build_backend", "sample_from_fields", "resources_from", "completion_text",
           "content_text", "prompt_value", "MODES", "TIMEOUT_ERROR"]
