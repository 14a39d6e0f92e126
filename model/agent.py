"""The judge's agent loop: one implementation for teachers, eval, RL rollouts and the reward server.

Many episodes (task x candidate order) step together, so each step is one batched backend call. An
episode ends when final_answer records a valid verdict, when a reply without tool calls contains a
parseable verdict, or at `max_steps`; one step before that limit the judge is told to finalize
(forced finalization). Malformed tool calls are answered with an error and counted, never guessed.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from model.backends.base import Backend, Generation, GenerationRequest, SamplingParams
from model.ledger import TokenLedger, continuation_ids
from model.prompts import PromptOptions, initial_messages
from model.protocol import JudgeProtocol, get_setting, resolve_agent
from model.records import LABELS, JudgeTask, Trajectory
from model.toolcall import ToolCall, parse_text_tool_calls
from model.tools import JudgeEnv, tool_specs
from model.verdict import TIE, Verdict, parse_verdict_text

FORCE_FINAL_MESSAGE = "You have reached the step limit. Call final_answer now with your verdict."
NUDGE_MESSAGE = "Continue: call a tool, or call final_answer with your verdict."
MALFORMED_HINT = ('Write each call as <tool_call>{"name": "<tool>", "arguments": {...}}</tool_call> '
                  "with valid JSON.")


@dataclass
class AgentConfig:
    """How a judgment runs. Also the `agent` section of the data/eval/RL configs."""

    # The judging protocol's fields (model.protocol): None = the judge's trained protocol
    # (judge_config.json in its model folder), else model.protocol.DEFAULTS.
    max_steps: int | None = None       # assistant turns per episode (direct settings always use 1)
    max_new_tokens: int | None = None
    allow_tie: bool | None = None
    max_candidate_chars: int | None = None  # truncate very long candidates (marked) for small contexts
    prompt_style: str | None = None    # full | compact (short system prompt, tools named inline)
    temperature: float = 0.0
    top_p: float = 1.0
    seed: int = 0
    tool_budget: int | None = None     # None: the loaded skill's tool_budget
    sandbox_timeout_s: float = 5.0
    allow_weak_isolation: bool = False  # let python_sandbox and code verifiers run without namespaces (opt-in)
    track_tokens: bool = False         # keep a TokenLedger per episode (RL): needs a token-level backend
    skills_dir: str = "skills"         # where skill packages live (relative to the repo root)
    skills: list[str] = field(default_factory=list)  # which packages the judge may load; [] = all

    def resolved(self, protocol: JudgeProtocol | None = None, who: str = "judge") -> AgentConfig:
        """Every protocol field set: from `protocol` where this config leaves it None (see resolve_agent)."""
        return resolve_agent(self, protocol, who)

    def sampling(self) -> SamplingParams:
        return SamplingParams(max_new_tokens=self.max_new_tokens, temperature=self.temperature,
                              top_p=self.top_p, seed=self.seed)


@dataclass
class Episode:
    task: JudgeTask
    order: list[int]
    setting: str
    env: JudgeEnv
    messages: list[dict[str, Any]]
    sample_index: int = 0              # the k-th sample of this (task, order) when sampling several
    prompt_style: str = "full"
    steps: int = 0
    done: bool = False
    forced: bool = False
    verdict: Verdict | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    errors: list[str] = field(default_factory=list)
    generations: list[Generation] = field(default_factory=list)
    ledger: TokenLedger | None = None
    started: float = field(default_factory=time.perf_counter)
    ended: float = 0.0


def load_skills(cfg: AgentConfig) -> Any:
    from model.config import resolve_path
    from model.skills import SkillLibrary

    return SkillLibrary(resolve_path(cfg.skills_dir), names=cfg.skills or None)


def new_episode(task: JudgeTask, order: list[int], setting: str, skills: Any, cfg: AgentConfig,
                sample_index: int = 0) -> Episode:
    cfg = cfg.resolved()
    env = JudgeEnv(task, order, setting, skills, tool_budget=cfg.tool_budget, allow_tie=cfg.allow_tie,
                   sandbox_timeout_s=cfg.sandbox_timeout_s, compact=cfg.prompt_style == "compact",
                   allow_weak_isolation=cfg.allow_weak_isolation)
    catalog = skills.catalog_text() if get_setting(setting).tools else ""
    msgs = initial_messages(task, order, setting, catalog,
                            PromptOptions(max_candidate_chars=cfg.max_candidate_chars, allow_tie=cfg.allow_tie,
                                          style=cfg.prompt_style))
    return Episode(task=task, order=list(order), setting=setting, env=env, messages=msgs, sample_index=sample_index,
                   prompt_style=cfg.prompt_style)


def run_agent(backend: Backend, items: Sequence[tuple[JudgeTask, list[int]]], setting: str,
              cfg: AgentConfig | None = None, skills: Any = None, teacher: str = "",
              on_step: Callable[[list[Episode]], None] | None = None,
              samples_per_item: int = 1) -> list[Trajectory]:
    """Judges every (task, order) item (`samples_per_item` times each); returns trajectories in order."""
    cfg = cfg or AgentConfig()
    skills = skills if skills is not None else load_skills(cfg)
    episodes = [new_episode(t, o, setting, skills, cfg, k) for t, o in items for k in range(samples_per_item)]
    run_episodes(backend, episodes, cfg, on_step)
    return [to_trajectory(ep, teacher or backend.describe()) for ep in episodes]


def run_episodes(backend: Backend, episodes: list[Episode], cfg: AgentConfig,
                 on_step: Callable[[list[Episode]], None] | None = None) -> None:
    cfg = cfg.resolved()
    max_steps = cfg.max_steps if any(get_setting(ep.setting).tools for ep in episodes) else 1
    if cfg.track_tokens and backend.tokenizer is None:
        raise ValueError(f"track_tokens needs a token-level backend (hf, vllm), not {backend.describe()}")
    for step in range(max_steps):
        active = [ep for ep in episodes if not ep.done]
        if not active:
            break
        sampling = cfg.sampling()
        sampling.seed = cfg.seed + step
        requests = [_request(ep, backend, cfg) for ep in active]
        gens = backend.generate(requests, sampling)
        last = step == max_steps - 1
        for ep, gen in zip(active, gens):
            n_before = len(ep.messages)
            step_episode(ep, gen, backend.native_tools, last)
            if not ep.done and step == max_steps - 2:
                if ep.messages[-1] == {"role": "user", "content": NUDGE_MESSAGE}:
                    ep.messages.pop()
                ep.messages.append({"role": "user", "content": FORCE_FINAL_MESSAGE})
                ep.forced = True
            if ep.ledger is not None:
                _extend_ledger(ep, gen, backend, n_before)
        if on_step:
            on_step(active)
    for ep in episodes:
        if not ep.done:
            _finish(ep, Verdict(error=f"no verdict after {ep.steps} steps"))


def _request(ep: Episode, backend: Backend, cfg: AgentConfig) -> GenerationRequest:
    req = GenerationRequest(ep.messages, tools=tool_specs(ep.setting, ep.prompt_style) or None, context=ep)
    if cfg.track_tokens:
        if ep.ledger is None:
            ep.ledger = TokenLedger.start(backend.encode(req))
        req.prompt_ids = list(ep.ledger.ids)
    return req


def _extend_ledger(ep: Episode, gen: Generation, backend: Backend, n_before: int) -> None:
    """Appends the policy's completion, then (if the episode goes on) the template's tokens up to the
    next generation prompt. The assistant message of this step sits at index n_before."""
    from model.chat_template import end_of_turn_token

    tok = backend.tokenizer
    eot_id = tok.convert_tokens_to_ids(end_of_turn_token(tok))
    ep.ledger.add_generated(list(gen.completion_ids or []), getattr(backend, "stop_ids", [eot_id]), eot_id)
    if not ep.done:
        tools = tool_specs(ep.setting, ep.prompt_style) or None
        ep.ledger.add_context(continuation_ids(tok, ep.messages, n_before, tools))


def step_episode(ep: Episode, gen: Generation, native_tools: bool, last: bool) -> None:
    """Consumes one assistant reply: records it, runs its tool calls, decides whether the episode ends."""
    ep.steps += 1
    ep.prompt_tokens += gen.prompt_tokens
    ep.completion_tokens += gen.completion_tokens
    ep.generations.append(gen)
    if gen.error:
        ep.errors.append(gen.error)
        _finish(ep, Verdict(error=f"generation failed: {gen.error}"))
        return
    if not get_setting(ep.setting).tools:
        ep.messages.append({"role": "assistant", "content": gen.text})
        _finish(ep, _text_verdict(ep, gen.text))
        return
    if native_tools:
        content, calls, errors = gen.text, list(gen.tool_calls or []), list(gen.tool_errors)
    else:
        parsed = parse_text_tool_calls(gen.text, id_prefix=f"call_{ep.steps}")
        content, calls, errors = parsed.content, parsed.tool_calls, parsed.errors
    msg: dict[str, Any] = {"role": "assistant", "content": content}
    if calls:
        msg["tool_calls"] = [c.to_openai() for c in calls]
    ep.messages.append(msg)
    for call in calls:
        result = ep.env.call(call)
        ep.messages.append({"role": "tool", "tool_call_id": call.id, "name": call.name, "content": result.content})
        if result.final:
            _finish(ep, ep.env.final)
            return
    for err in errors:
        ep.env.invalid_call(err)
    if errors:
        ep.messages.append({"role": "user", "content": "Error: malformed tool call: " + "; ".join(errors)
                            + ". " + MALFORMED_HINT})
    elif not calls:
        verdict = _text_verdict(ep, content)
        if verdict.ok or last:
            _finish(ep, verdict)
            return
        ep.messages.append({"role": "user", "content": NUDGE_MESSAGE})


def _text_verdict(ep: Episode, text: str) -> Verdict:
    return parse_verdict_text(text, ep.env.labels, ep.env.allow_tie, pointwise=ep.task.kind == "pointwise")


def _finish(ep: Episode, verdict: Verdict | None) -> None:
    ep.verdict = verdict or Verdict(error="no verdict")
    ep.done = True
    ep.ended = time.perf_counter()


def to_trajectory(ep: Episode, teacher: str) -> Trajectory:
    v = ep.verdict or Verdict(error="no verdict")
    choice = None
    if v.ok and v.label and v.label != TIE:
        choice = ep.order[LABELS.index(v.label)]
    correct = None
    if ep.task.gold is not None and ep.task.kind != "pointwise":
        correct = bool(v.ok and choice == ep.task.gold)
    stats = ep.env.stats
    return Trajectory(
        task_id=ep.task.id, setting=ep.setting, order=ep.order, messages=ep.messages,
        verdict=v.label if v.label else (None if v.score is None else f"{v.score:g}"),
        choice=choice, score=v.score, parse_ok=v.ok, correct=correct,
        used_resources=list(stats.used_resources), tool_calls=stats.tool_calls,
        invalid_tool_calls=stats.invalid_tool_calls, steps=ep.steps, forced_final=ep.forced, teacher=teacher,
        prompt_tokens=ep.prompt_tokens, completion_tokens=ep.completion_tokens,
        latency_s=round((ep.ended or time.perf_counter()) - ep.started, 4),
        confidence=_float(ep.env.final_args.get("confidence")),
        meta={"parse": v.how or None, "parse_error": v.error, "sample_index": ep.sample_index,
              "prompt_style": ep.prompt_style, "isolation": ",".join(sorted(stats.isolation)) or None,
              "errors": ep.errors or None, "finish_reasons": [g.finish_reason for g in ep.generations]},
    )


def _float(x: Any) -> float | None:
    try:
        return float(x)
    except (TypeError, ValueError):
        return None


def tool_call(name: str, **arguments: Any) -> str:
    """The Hermes text of one tool call (for scripted policies and tests)."""
    from model.chat_template import tool_call_text

    return tool_call_text(name, arguments)


__all__ = ["AgentConfig", "Episode", "run_agent", "run_episodes", "new_episode", "step_episode",
           "to_trajectory", "load_skills", "tool_call", "ToolCall"]
