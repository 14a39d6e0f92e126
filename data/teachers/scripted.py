"""Scripted teacher: a programmatic executor of the reward-judging skill.

It plays the judge's side of the conversation through the real runtime (ScriptedBackend + agent
loop), so every tool call is executed for real and every result it reasons about is the one the
runtime returned.

It sees only what the judge sees. Its inputs are the episode's `JudgeEnv` (the prompt, the candidates
under their display labels, the sample resources *this setting* exposes, the skill library) and the
tool results so far; never the task's domain, gold, meta, id or stored order. tests/test_leakage.py
changes every hidden field and checks that the trajectories stay byte-identical.

Evidence selection follows the skill (skills/reward_judge/SKILL.md, step 3), from visible cues:
- the prompt states checkable constraints -> the task's constraints if exposed
  (`verifier.instruction_checks`), else the ones the prompt states (`verifier.stated_constraints`);
- the candidates are code -> the task's tests if exposed (`verifier.code_tests`), else the prompt's
  examples (`verifier.prompt_examples`);
- the candidates are worked math solutions -> the reference if exposed (`verifier.math_answer`), else
  recompute every written calculation (`verifier.arithmetic_steps`);
- other text with a reference -> `verifier.reference_match`; with a checklist -> `verifier.checklist_score`.
A task that needs two kinds of evidence (a math answer under a stated format constraint) gets both, and
the aggregation is the skill's: a candidate with a hard failure loses to one without. Where no hard
evidence applies the teacher reads the rubric that fits and says it cannot separate the candidates.

When the evidence does not separate the candidates it answers "tie" with low confidence; the render
filters drop such trajectories (wrong verdict), which is how a programmatic teacher does rejection
sampling.
"""
from __future__ import annotations

import hashlib
import json
import random
import re
from typing import Any

from model.agent import Episode, tool_call
from model.backends.base import GenerationRequest
from model.backends.scripted import ScriptedBackend
from model.protocol import get_setting
from model.verifiers import VerifierResult
from model.verifiers.examples import asserts_from_examples
from model.verifiers.math import states_final_answer
from model.verifiers.stated import stated_constraints

_CODE = re.compile(r"```(?:python|py)?\s*\n|^\s*def \w+\(", re.MULTILINE)

# (opener key, reason) per verifier
PLANS = {
    "verifier.instruction_checks": ("instruction_checks", "verify each of the task's constraints"),
    "verifier.stated_constraints": ("stated_constraints", "check the constraints the prompt states"),
    "verifier.code_tests": ("code_tests", "run the task's tests"),
    "verifier.prompt_examples": ("prompt_examples", "run the prompt's examples as tests"),
    "verifier.math_answer": ("math_answer", "compare final answers with the reference"),
    "verifier.arithmetic_steps": ("arithmetic_steps", "recompute every written calculation"),
    "verifier.reference_match": ("reference_match", "compare with the reference"),
    "verifier.checklist_score": ("checklist_score", "score the task's checklist"),
}
OPENERS = {
    "math_answer": [
        "Both responses end in a final answer and the task has a reference answer, so the fastest hard "
        "evidence is to compare each final answer with it.",
        "This is a math question with a reference answer. I will let the math verifier compare the final answers.",
        "The sample comes with a reference answer; checking each final answer against it settles correctness.",
    ],
    "arithmetic_steps": [
        "There is no answer key, but both solutions write out their calculations. I will recompute every "
        "step and check that each quantity of the question is used.",
        "Without a reference I check the work itself: every written calculation, and whether a step was "
        "dropped or repeated.",
    ],
    "code_tests": [
        "This is a coding task with unit tests. Running each response's code against them is decisive.",
        "The task provides tests, so I will run both implementations against them instead of reading the code.",
    ],
    "prompt_examples": [
        "No tests are given, but the prompt states examples; I will run them on both responses.",
        "The prompt's input/output examples make good tests. I will run each response's code on them.",
    ],
    "instruction_checks": [
        "The task lists explicit constraints. I will check each response against every one of them.",
        "The sample comes with its constraint list; the checker will verify each on both responses.",
    ],
    "stated_constraints": [
        "The prompt states explicit, checkable constraints. I will check each response against them.",
        "The request sets countable rules; the constraint checker can read them from the prompt and verify them.",
    ],
    "reference_match": [
        "A reference answer is available, so I will compare both responses with it.",
        "I will check which response agrees with the task's reference answer.",
    ],
    "checklist_score": ["The task has a checklist; I will score both responses on it."],
    "second": [
        "That settles one requirement; the task also has another, so I check it too.",
        "One check is done. The request asks for more than one thing, so I verify the other as well.",
    ],
}
SHORT_REASONS = {
    "math_answer": "{w} matches the reference answer",
    "arithmetic_steps": "{w}'s calculations and use of the question's numbers check out",
    "code_tests": "{w} passes the tests",
    "prompt_examples": "{w} passes the prompt's examples",
    "instruction_checks": "{w} meets more of the constraints",
    "stated_constraints": "{w} meets more of the stated constraints",
    "reference_match": "{w} agrees with the reference",
    "checklist_score": "{w} covers more of the checklist",
}
OPEN_ENDED_RUBRICS = ("rubric.chat", "rubric.generic")


def is_code(text: str) -> bool:
    return bool(_CODE.search(text))


def evidence_plan(env: Any) -> list[str]:
    """The verifiers to run, in order, from what the judge sees (prompt, candidates, exposed resources)."""
    avail = set(env.resources.available())
    cands = list(env.candidates.values())
    plan = []
    if "constraints" in avail:
        plan.append("verifier.instruction_checks")
    elif stated_constraints(env.prompt):
        plan.append("verifier.stated_constraints")
    if all(is_code(c) for c in cands):
        if "tests" in avail:
            plan.append("verifier.code_tests")
        elif asserts_from_examples(env.prompt):
            plan.append("verifier.prompt_examples")
    elif all(states_final_answer(c) for c in cands) and re.search(r"\d", env.prompt):
        plan.append("verifier.math_answer" if "reference" in avail else "verifier.arithmetic_steps")
    elif "reference" in avail:
        plan.append("verifier.reference_match")
    if not plan and "checklist" in avail:
        plan.append("verifier.checklist_score")
    return plan


class ScriptedTeacher:
    """`backend()` gives the ScriptedBackend to hand to `model.agent.run_agent`."""

    def __init__(self, seed: int = 0, load_skill_prob: float = 0.0):
        self.seed = seed
        self.load_skill_prob = load_skill_prob

    def backend(self) -> ScriptedBackend:
        return ScriptedBackend(self.act, name="scripted-teacher")

    # -- the policy --------------------------------------------------------------------------------
    def act(self, req: GenerationRequest) -> str:
        ep: Episode = req.context
        env = ep.env  # what the judge sees; the teacher never reads ep.task
        rng = self._rng(ep)
        if not get_setting(env.setting).tools:
            return "I cannot decide without evidence. [[tie]]"
        if ep.steps == 0:
            easy = self._easy(env)
            if easy:
                return easy
            if rng.random() < self.load_skill_prob:
                return ("Loading the judging skill to pick the right evidence.\n"
                        + tool_call("use_skill", skill_name=self._skill_for(env), reason="select evidence"))
        ran = [name for name, _ in env.history]
        plan = evidence_plan(env)
        todo = [rid for rid in plan if rid not in ran]
        if todo:
            return self._run(rng, todo[0], second=bool(ran))
        if not plan:
            return self._open_ended(env, rng)
        return self._conclude(env, rng)

    def _rng(self, ep: Episode) -> random.Random:
        """Seeded by what the judge sees, so the teacher's wording is a function of the visible episode."""
        seen = json.dumps([ep.env.setting, ep.env.prompt, ep.env.candidates, ep.env.sample_view(),
                           ep.sample_index, ep.steps], sort_keys=True)
        return random.Random(f"{self.seed}:" + hashlib.sha256(seen.encode()).hexdigest())

    @staticmethod
    def _run(rng: random.Random, resource_id: str, second: bool = False) -> str:
        opener, reason = PLANS[resource_id]
        text = rng.choice(OPENERS["second" if second else opener])
        return text + "\n" + tool_call("run_resource", resource_id=resource_id, reason=reason)

    @staticmethod
    def _skill_for(env: Any) -> str:
        names = env.skills.names()
        constraints = "constraints" in env.resources.available() or stated_constraints(env.prompt)
        if constraints and "instruction_following" in names:
            return "instruction_following"
        return "reward_judge" if "reward_judge" in names else names[0]

    # -- decisions ---------------------------------------------------------------------------------
    @staticmethod
    def _easy(env: Any) -> str | None:
        """Empty candidates are decided directly, as the skill's easy-case rule says."""
        cands = env.candidates
        empty = [lab for lab, text in cands.items() if not text.strip()]
        if env.kind != "pairwise" or len(empty) != 1:
            return None
        winner = next(lab for lab in cands if lab not in empty)
        reason = f"Response {empty[0]} is empty, so {winner} wins without further checks."
        return reason + "\n" + tool_call("final_answer", verdict=winner, confidence=0.97, used_resources=[],
                                         reason=reason)

    def _open_ended(self, env: Any, rng: random.Random) -> str:
        """No hard evidence applies: read the rubric that fits (once), then say the evidence is not enough."""
        viewed = set(env.stats.used_resources)
        rubric = next((r for r in OPEN_ENDED_RUBRICS if r in self._known(env)), None)
        if rubric and rubric not in viewed:
            return ("No verifier applies to this request, so the rubric is the only evidence.\n"
                    + tool_call("view_resource", path=rubric, reason="criteria for an open-ended request"))
        return self._undecided(env, "No hard evidence applies, and the rubric alone does not separate the responses.")

    @staticmethod
    def _known(env: Any) -> set[str]:
        return {r.id for name in env.skills.names() for r in env.skills.get(name).resources}

    def _conclude(self, env: Any, rng: random.Random) -> str:
        results = [(name, r) for name, r in env.history if isinstance(r, VerifierResult)]
        decisive = [(name, r) for name, r in results if r.decisive]
        if not decisive:
            why = " ".join(_undecided_detail(r) for _, r in results) or "The evidence does not separate the responses."
            return self._undecided(env, why)
        winners = set(env.labels)
        for _, r in decisive:  # a candidate with a hard failure loses to one without
            winners &= set(r.favours)
        if len(winners) != 1:
            return self._undecided(env, "The checks favour different responses, so the evidence is mixed.")
        winner = winners.pop()
        detail = " ".join(_detail(r, winner) for _, r in decisive)
        used = [rid for rid in env.stats.used_resources if not rid.startswith(("skill:", "sample."))]
        confidence = round(rng.uniform(0.88, 0.97), 2)
        runner = decisive[-1][1].runner
        return f"{detail} So {winner} is better.\n" + tool_call(
            "final_answer", verdict=winner, confidence=confidence, used_resources=used,
            reason=SHORT_REASONS.get(runner, "{w} is favoured by the hard evidence").format(w=winner))

    @staticmethod
    def _undecided(env: Any, why: str) -> str:
        verdict = "tie" if env.kind == "pairwise" else env.labels[0]
        return why + "\n" + tool_call("final_answer", verdict=verdict, confidence=0.3,
                                      used_resources=list(env.stats.used_resources), reason=why)


def _detail(r: VerifierResult, winner: str) -> str:
    """One sentence reading a decisive result for the winner."""
    per = r.per_candidate
    losers = [lab for lab in per if lab not in r.favours]
    lost = _join(losers)
    if r.runner == "math_answer":
        return (f"{winner} reaches the reference answer while {lost} "
                f"({', '.join(str(per[x].get('final_answer')) for x in losers)}) does not.")
    if r.runner == "arithmetic_steps":
        parts = []
        for x in losers:
            f = per[x]
            if f["wrong_steps"]:
                parts.append(f"{x} writes {_short(f['wrong_steps'][0])}")
            elif f["unused_quantities"]:
                parts.append(f"{x} never uses the question's {f['unused_quantities'][0]} (a dropped step)")
            elif f["reused_quantities"]:
                parts.append(f"{x} uses the question's {f['reused_quantities'][0]} twice (a repeated step)")
        return f"{'; '.join(parts)}, while every calculation of {winner} checks out."
    if r.runner in ("code_tests", "prompt_examples"):
        what = "the tests" if r.runner == "code_tests" else "the prompt's examples"
        return f"{winner} passes {what}; {lost} fails."
    if r.runner in ("instruction_checks", "stated_constraints"):
        failed = "; ".join(f"{x} violates {', '.join(v.split(' (')[0] for v in per[x].get('failed') or [])}"
                           for x in losers)
        return f"{winner} satisfies the checked constraints, while {failed}."
    if r.runner == "reference_match":
        return f"{winner} agrees with the reference and {lost} does not."
    return f"{r.summary}."


def _undecided_detail(r: VerifierResult) -> str:
    if r.runner == "arithmetic_steps":
        answers = {str(f.get("final_answer")) for f in r.per_candidate.values()}
        if len(answers) == 1:
            return "Both reach the same final answer and every calculation checks out."
        return "Every written calculation checks out, so the difference lies in a step I cannot verify."
    return f"{r.summary[:1].upper()}{r.summary[1:]}."


def _join(labels: list[str]) -> str:
    return labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + " and " + labels[-1]


def _short(text: str, limit: int = 120) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."
