"""`JudgeReward`: the skill judge as a reward function, and its per-call wall-clock budget.

Every judgment runs through the runtime's batched agent loop (`model.agent.run_agent`): the same skill
loader, tools, verifiers, sandbox and verdict parsing as the teachers, eval and judge RL. Nothing here
re-implements a step of it; this module turns samples into `JudgeTask`s and verdicts into numbers.

Reward definitions (all rewards lie in [0, 1])
- pointwise: the judge rates the completion 1-10 against the sample's resources (reference,
  checklist, constraints, tests; visible to the judge in the operational settings only) -> (rating - 1) / 9.
- pairwise: the judge compares the completion with the sample's baseline response in BOTH candidate
  orders; each order scores 1 (completion wins), 0.5 (tie), 0 (baseline wins) and the reward is the
  mean over the two orders, which cancels the judge's position bias. Both orders must parse
  (`require_both_orders=True`): a single-order verdict carries the bias the second order removes.

Failures are never mapped to a label. A judgment that yields no parseable verdict (parse failure, the
backend's generation error, no verdict within `max_steps`), or that has not finished when the call's
time budget runs out, gives its sample `failure_reward` and is counted in `last_stats` / `total_stats`
(and per sample in `last_results`). The default `failure_reward` is 0.0, the floor of the reward range:
a policy must never gain by derailing its judge (prompt injection, output that breaks the judge's
format), which any "neutral" value above the floor would reward whenever its typical reward is below
it. In GRPO a constant for a whole group carries no advantage, so 0 only costs the completions whose
judge failed. `failure_reward=None` returns None for failed samples (TRL only: GRPOTrainer turns None
into NaN, "reward not applicable"); the verl and HTTP front ends need a number.

Time budget: with `timeout_s` (or a call's `budget_s`, or a `cancel` event) the judgments run in a
worker thread. At each step boundary past the deadline (or once cancelled) the unfinished episodes are
stopped; if one backend step itself overruns, the call returns at the deadline anyway with failure
rewards for every judgment not finished by then (the worker stops at its next step boundary, and the
next call first waits for it: a backend is never driven by two calls at once). Whether a judgment
finished is decided by its finish time against the deadline, so the outcome does not depend on
thread timing.
"""
from __future__ import annotations

import math
import threading
import time
from collections.abc import Sequence
from typing import Any

from model.agent import AgentConfig, Episode, load_skills, run_agent, to_trajectory
from model.backends import Backend, BackendConfig, LazyBackend
from model.loading import DEFAULT_MODEL, protocol_for_model
from model.protocol import JudgeProtocol, resolve_settings
from model.records import JudgeTask, RecordError, Trajectory
from model.reward.inputs import BASELINE_COLUMNS, RewardResult, RewardSample, trl_samples
from model.reward.stats import StatsBook
from model.verdict import TIE, Verdict

MODES = ("pointwise", "pairwise")
TIMEOUT_ERROR = "judge timeout: the call's wall-clock budget ran out before this judgment finished"
FROM_MODEL = "model"  # protocol=FROM_MODEL: the judge's trained protocol, read from its model folder
WHO = "JudgeReward"   # how the protocol warnings name this entry point


def backend_for(model: str, backend: Backend | BackendConfig | str | None = None,
                base_url: str | Sequence[str] | None = None, batch_size: int | None = None) -> Backend:
    """The judge's backend. A Backend is used as it is; a BackendConfig, or a kind (hf | openai | vllm |
    scripted:MODULE:FUNCTION) with the shorthand `base_url` / `batch_size`, is built by make_backend on
    first use (a LazyBackend)."""
    if isinstance(backend, (Backend, BackendConfig)) and (base_url or batch_size):
        raise ValueError("base_url / batch_size only go with a backend kind; put them in the BackendConfig "
                         "(base_urls, batch_size), or configure the Backend instance itself")
    if isinstance(backend, Backend):
        return backend
    if isinstance(backend, BackendConfig):
        return LazyBackend(model, backend)
    if backend is not None and not isinstance(backend, str):
        raise TypeError(f"backend must be a Backend, a BackendConfig or a kind, got {type(backend).__name__}")
    cfg = BackendConfig(kind=backend or "hf")
    if base_url:
        cfg.base_urls = [base_url] if isinstance(base_url, str) else list(base_url)
    if batch_size:
        cfg.batch_size = int(batch_size)
    return LazyBackend(model, cfg)


class JudgeReward:
    """A skill-executing LLM judge as a reward function (TRL-callable; see the module docstring).

    model:          the judge's model spec (embedded name, Hub id, folder; the served name for openai).
    backend:        a Backend, a BackendConfig, or a kind ("hf" default, "openai", "vllm",
                    "scripted:MOD:FN"); base_url / batch_size are shorthand for a kind's BackendConfig.
                    A config is built on first use (`warmup()` builds it now).
    setting:        None: the judge's trained setting (the protocol's first), else skill_operational.
    protocol:       how the judge was trained (model.protocol.JudgeProtocol). Default: read from the
                    model folder (judge_config.json); None: the project defaults. It fills the agent
                    fields left None; an explicit setting or field that differs from it warns once.
    mode:           pointwise | pairwise.
    agent:          AgentConfig (steps, tokens, temperature, tool budget, skills).
    timeout_s:      wall-clock budget per call (None: no limit).
    failure_reward: reward of a sample whose judgment failed or timed out (default 0.0; None for TRL's
                    "not applicable"); see the module docstring.
    require_both_orders: pairwise: a sample needs both orders' verdicts (else failure_reward).
    name:           `__name__` (TRL logs rewards under it); default `skillrm_judge_<mode>`.
    """

    def __init__(self, model: str = DEFAULT_MODEL, *, backend: Backend | BackendConfig | str | None = None,
                 base_url: str | Sequence[str] | None = None, batch_size: int | None = None,
                 setting: str | None = None, protocol: JudgeProtocol | str | None = FROM_MODEL,
                 mode: str = "pointwise", agent: AgentConfig | None = None, timeout_s: float | None = None,
                 failure_reward: float | None = 0.0, require_both_orders: bool = True, name: str | None = None,
                 skills: Any = None):
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}; expected one of {MODES}")
        if failure_reward is not None and not math.isfinite(float(failure_reward)):
            raise ValueError("failure_reward must be a finite number or None")
        if timeout_s is not None and timeout_s <= 0:
            raise ValueError("timeout_s must be positive (or None for no limit)")
        if isinstance(protocol, str) and protocol != FROM_MODEL:
            raise ValueError(f"protocol must be a JudgeProtocol, None or {FROM_MODEL!r}, got {protocol!r}")
        self.model = model
        self.protocol = protocol_for_model(model) if protocol == FROM_MODEL else protocol
        self.setting = resolve_settings([setting] if setting else None, self.protocol, WHO)[0]
        self.agent = (agent or AgentConfig()).resolved(self.protocol, WHO)
        self.mode = mode
        self.backend = backend_for(model, backend, base_url, batch_size)
        self.timeout_s = timeout_s
        self.failure_reward = None if failure_reward is None else float(failure_reward)
        self.require_both_orders = require_both_orders
        self.__name__ = name or f"skillrm_judge_{mode}"
        self._skills = skills
        self._lock = threading.Lock()
        self._worker: threading.Thread | None = None
        self._calls = 0
        self.stats = StatsBook()

    def __repr__(self) -> str:
        return (f"JudgeReward(name={self.__name__!r}, model={self.model!r}, backend={self.describe_backend()!r}, "
                f"setting={self.setting!r}, mode={self.mode!r}, prompt_style={self.agent.prompt_style!r}, "
                f"timeout_s={self.timeout_s})")

    # -- lifecycle ------------------------------------------------------------------------------------
    @property
    def skills(self) -> Any:
        if self._skills is None:
            self._skills = load_skills(self.agent)
        return self._skills

    @property
    def last_stats(self) -> dict[str, Any]:
        return self.stats.last

    @property
    def last_results(self) -> list[RewardResult]:
        return self.stats.last_results

    @property
    def total_stats(self) -> dict[str, Any]:
        return self.stats.total

    def describe_backend(self) -> str:
        return self.backend.describe()

    def warmup(self) -> JudgeReward:
        """Builds the backend and loads the skills now (servers call this before accepting requests)."""
        if isinstance(self.backend, LazyBackend):
            _ = self.backend.inner
        _ = self.skills
        return self

    def close(self) -> None:
        if self._worker is not None:
            self._worker.join(timeout=self.timeout_s)
        self.backend.close()

    # -- TRL ------------------------------------------------------------------------------------------
    def __call__(self, prompts: Sequence[Any] | None = None, completions: Sequence[Any] | None = None,
                 **kwargs: Any) -> list[float | None]:
        """TRL's reward-function contract (trl 1.16 `GRPOTrainer._calculate_rewards`): called with
        prompts, completions, completion_ids and every other dataset column as keyword lists (plus
        trainer_state, log_metric, log_extra); returns one float (or None -> NaN) per completion.
        Prompts / completions are strings, or message lists for conversational data. The judge's
        counters go to `log_metric` / `log_extra` when TRL passes them."""
        results = self.score(trl_samples(prompts, completions, kwargs))
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
    def score(self, samples: Sequence[RewardSample], *, budget_s: float | None = None,
              cancel: threading.Event | None = None) -> list[RewardResult]:
        """Judges every sample in one batched run of the agent loop; fills last_stats / last_results.

        budget_s: this call's wall-clock budget (the smaller of it and timeout_s applies). cancel: once
        set, the call stops its judgments at the next step boundary and returns; unfinished ones count
        as timeouts (a server abandoning a batch nobody waits for any more)."""
        with self._lock:
            return self._score(list(samples), budget_s, cancel)

    def _score(self, samples: list[RewardSample], budget_s: float | None,
               cancel: threading.Event | None) -> list[RewardResult]:
        t0 = time.perf_counter()
        self._calls += 1
        items: list[tuple[JudgeTask, list[int]]] = []
        owners: list[int] = []  # items[k] judges samples[owners[k]]
        input_errors: dict[int, str] = {}
        for i, s in enumerate(samples):
            if s.error is not None:
                input_errors[i] = s.error
                continue
            if self.mode == "pairwise" and s.baseline is None:
                raise ValueError(f"sample {i}: pairwise mode needs a baseline response per sample "
                                 f"(column/field one of {BASELINE_COLUMNS})")
            task = self._task(i, s)
            for order in task.orders(both=True):
                items.append((task, order))
                owners.append(i)
        budgets = [b for b in (self.timeout_s, budget_s) if b is not None]
        if budgets or cancel is not None:
            trajs, late = self._judge_until(items, t0 + min(budgets, default=math.inf), cancel or threading.Event())
        else:
            trajs, late = self._judge(items)
        per_sample: list[list[tuple[Trajectory | None, bool]]] = [[] for _ in samples]
        for traj, timed_out, owner in zip(trajs, late, owners):
            per_sample[owner].append((traj, timed_out))
        results = [self._result(per_sample[i], input_errors.get(i)) for i in range(len(samples))]
        self.stats.record(results, trajs, late, len(input_errors), time.perf_counter() - t0)
        return results

    def _task(self, i: int, s: RewardSample) -> JudgeTask:
        candidates = [s.completion] if self.mode == "pointwise" else [s.completion, s.baseline or ""]
        try:
            return JudgeTask(id=f"reward-{self._calls}-{i}", source="reward", kind=self.mode, prompt=s.prompt,
                             candidates=candidates, domain=s.domain, resources=s.resources)
        except RecordError as e:
            raise ValueError(f"sample {i}: {e}") from e

    def _run(self, items: list[tuple[JudgeTask, list[int]]], on_step: Any = None) -> list[Trajectory]:
        return run_agent(self.backend, items, self.setting, self.agent, skills=self.skills,
                         teacher=self.backend.describe(), on_step=on_step)

    def _judge(self, items: list[tuple[JudgeTask, list[int]]]) -> tuple[list[Trajectory | None], list[bool]]:
        """Without a budget: the agent loop in this thread (after any overrunning step of an earlier call)."""
        if not items:
            return [], []
        if self._worker is not None:
            self._worker.join()
        return list(self._run(items)), [False] * len(items)

    def _judge_until(self, items: list[tuple[JudgeTask, list[int]]], deadline: float,
                     cancel: threading.Event) -> tuple[list[Trajectory | None], list[bool]]:
        """The agent loop in a worker thread, returned from at `deadline` or once `cancel` is set:
        (trajectory or None, timed out) per item."""
        n = len(items)
        if not items:
            return [], []
        if self._worker is not None and not _wait(self._worker, deadline, cancel):
            return [None] * n, [True] * n  # an earlier call's overrunning step still holds the backend
        captured: list[Episode] = []
        stop = threading.Event()
        failure: list[BaseException] = []

        def on_step(active: list[Episode]) -> None:
            if not captured:  # the first step runs every episode, in item order
                captured.extend(active)
            if stop.is_set() or cancel.is_set() or time.perf_counter() > deadline:
                now = time.perf_counter()
                for ep in captured:
                    if not ep.done:
                        ep.verdict, ep.done, ep.ended = Verdict(error=TIMEOUT_ERROR), True, now

        def work() -> None:
            try:
                self._run(items, on_step)
            except BaseException as e:  # re-raised in the calling thread when it finished in time
                failure.append(e)

        worker = threading.Thread(target=work, name="judge-reward", daemon=True)
        self._worker = worker
        worker.start()
        finished = _wait(worker, deadline, cancel)
        cutoff = deadline if finished else min(deadline, time.perf_counter())
        if not finished:
            stop.set()
        elif failure:
            raise failure[0]
        if len(captured) != n:  # the first step never finished
            return [None] * n, [True] * n
        trajs: list[Trajectory | None] = []
        late: list[bool] = []
        for ep in captured:
            ended = ep.ended
            done = ep.done and 0 < ended <= cutoff and not (ep.verdict and ep.verdict.error == TIMEOUT_ERROR)
            trajs.append(to_trajectory(ep, self.backend.describe()) if done else None)
            late.append(not done)
        return trajs, late

    # -- verdicts -> rewards --------------------------------------------------------------------------
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


def _wait(thread: threading.Thread, deadline: float, cancel: threading.Event, poll_s: float = 0.02) -> bool:
    """Waits for `thread` until `deadline` or until `cancel` is set; True when the thread finished."""
    while thread.is_alive():
        left = deadline - time.perf_counter()
        if left <= 0 or cancel.is_set():
            return False
        thread.join(timeout=min(poll_s, left))
    return True
