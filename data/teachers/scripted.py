"""Scripted teacher: a programmatic executor of the reward-judging skill.

It plays the judge's side of the conversation through the real runtime (ScriptedBackend + agent
loop), so every tool call is executed for real and every result it reasons about is the one the
runtime returned. Evidence selection follows the skill: decide easy cases directly; otherwise pick
the verifier that fits the domain and what the setting makes available (reference -> math_answer or
reference_match, tests -> code_tests, constraints -> instruction_checks, no resources -> answer
extraction and an arithmetic step check in the sandbox, examples from the prompt as tests), read the
result, and answer with the final_answer contract.

The teacher never looks at the gold label. When the evidence does not separate the candidates it
says so and answers "tie" with low confidence; the render filters drop such trajectories (wrong
verdict), which is how a programmatic teacher does rejection sampling.
"""
from __future__ import annotations

import json
import random
import re
from typing import Any

from model.agent import Episode, tool_call
from model.backends.base import GenerationRequest
from model.backends.scripted import ScriptedBackend
from model.sandbox import SandboxResult
from model.verifiers import VerifierResult

# Arithmetic step check run in the sandbox (the judge's own code: it sees only the visible text).
STEP_CHECK_CODE = r'''import json, re
num = r"-?\d[\d,]*(?:\.\d+)?"
step = re.compile("(" + num + r")\s*([-+x*/\u00d7\u00f7])\s*(" + num + r")\s*=\s*(" + num + ")")
ops = {"+": lambda a, b: a + b, "-": lambda a, b: a - b, "x": lambda a, b: a * b, "*": lambda a, b: a * b,
       "\u00d7": lambda a, b: a * b, "/": lambda a, b: a / b if b else float("nan"),
       "\u00f7": lambda a, b: a / b if b else float("nan")}
report = {}
for label, text in candidates.items():
    checked, wrong = 0, []
    for a, op, b, c in step.findall(text):
        a, b, c = (float(v.replace(",", "")) for v in (a, b, c))
        checked += 1
        if abs(ops[op](a, b) - c) > 1e-6 * max(1.0, abs(c)):
            wrong.append(f"{a:g} {op} {b:g} = {c:g}")
    report[label] = {"steps_checked": checked, "wrong_steps": wrong}
print(json.dumps(report))
'''

_EXAMPLE = re.compile(r">>>\s*(?P<call>[A-Za-z_]\w*\(.*\))\s*\n\s*(?P<out>[^\n>][^\n]*)")
_ARGS = r"[^\n()]*(?:\([^\n()]*\)[^\n()]*)*"  # call arguments with one level of nested parentheses
_ARROW = re.compile(r"(?P<call>[A-Za-z_]\w*\(" + _ARGS + r"\))\s*(?:==|->|returns|should return)\s*(?P<out>[^\n]+)")

# The final_answer reason: one short clause (the evidence was spelled out just before the call).
SHORT_REASONS = {
    "verifier.math_answer": "{w} matches the reference answer",
    "verifier.code_tests": "{w} passes the tests",
    "verifier.instruction_checks": "{w} meets more constraints",
    "verifier.reference_match": "{w} agrees with the reference",
    "python_sandbox": "{w} has no arithmetic slips",
}

OPENERS = {
    "math_answer": [
        "Both responses end in a final answer and the task has a reference answer, so the fastest hard "
        "evidence is to compare each final answer with it.",
        "This is a math question with a reference answer. I will let the math verifier compare the final answers.",
        "The sample comes with a reference answer; checking each final answer against it settles correctness.",
    ],
    "math_extract": [
        "No reference answer is available, so I first extract each response's final answer to see whether they differ.",
        "The responses may reach different results. I will extract the final answers first.",
    ],
    "step_check": [
        "The final answers differ. I will recheck every arithmetic step of both solutions in the sandbox.",
        "Different final answers: checking each written calculation in the sandbox shows which solution slips.",
    ],
    "code_tests": [
        "This is a coding task with unit tests. Running each response's code against them is decisive.",
        "The task provides tests, so I will run both implementations against them instead of reading the code.",
        "Code correctness is best settled by execution: I will run the task's tests on each response.",
    ],
    "code_examples": [
        "The prompt gives input/output examples. I will turn them into tests and run each response's code.",
        "No tests are given, but the examples in the prompt make good tests; I will run them on both responses.",
    ],
    "instruction_checks": [
        "The prompt sets explicit constraints. I will check each response against every one of them.",
        "The responses must follow the stated constraints, so I will verify each constraint on both.",
        "Explicit, checkable instructions decide this task; the constraint checker will count and verify them.",
    ],
    "reference_match": [
        "A reference answer is available, so I will compare both responses with it.",
        "I will check which response agrees with the task's reference answer.",
    ],
}


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
        # Seeded by what the judge sees (not by the stored candidate order): the teacher's output is a
        # function of the visible episode alone.
        shown = json.dumps(ep.env.candidates, sort_keys=True)
        rng = random.Random(f"{self.seed}:{ep.task.id}:{ep.setting}:{shown}:{ep.sample_index}:{ep.steps}")
        if ep.setting == "baseline":
            return "I cannot decide without evidence. [[tie]]"
        history = ep.env.history
        loaded = bool(ep.env.stats.loaded_skills)
        first_turn = ep.steps == 0
        if first_turn:
            easy = self._easy(ep)
            if easy:
                return easy
            if rng.random() < self.load_skill_prob:
                return ("Loading the judging skill to pick the right evidence.\n"
                        + tool_call("use_skill", skill_name=self._skill_for(ep), reason="select evidence"))
        if not history:
            plan = self._first_evidence(ep, rng, loaded)
            return plan if plan else self._undecided(ep, "No verifier applies to this task in this setting.")
        name, result = history[-1]
        if name == "verifier.math_extract":
            answers = {lab: f.get("final_answer") for lab, f in result.per_candidate.items()}
            if len({str(a) for a in answers.values()}) > 1 and all(answers.values()):
                return rng.choice(OPENERS["step_check"]) + "\n" + tool_call(
                    "python_sandbox", code=STEP_CHECK_CODE, reason="verify the arithmetic steps")
            return self._undecided(ep, "The final answers agree (or could not be extracted), so extraction "
                                       "does not separate the responses.")
        return self._conclude(ep, name, result, rng)

    # -- evidence selection ------------------------------------------------------------------------
    def _first_evidence(self, ep: Episode, rng: random.Random, loaded: bool) -> str | None:
        avail = set(ep.env.resources.available())
        domain = ep.task.domain
        if domain == "math":
            if "reference" in avail:
                return self._run(rng, "verifier.math_answer", "math_answer")
            return self._run(rng, "verifier.math_extract", "math_extract")
        if domain == "code":
            if "tests" in avail:
                return self._run(rng, "verifier.code_tests", "code_tests")
            tests = asserts_from_examples(ep.env.prompt)
            if tests:
                return self._run(rng, "verifier.code_tests", "code_examples", args={"tests": tests})
            return None
        if domain == "instruction_following" and ep.task.resources.constraints:
            if "constraints" in avail:
                return self._run(rng, "verifier.instruction_checks", "instruction_checks")
            # The constraints are stated in the prompt; the judge writes them as checker arguments.
            return self._run(rng, "verifier.instruction_checks", "instruction_checks",
                             args={"constraints": ep.task.resources.constraints})
        if "reference" in avail:
            return self._run(rng, "verifier.reference_match", "reference_match")
        return None

    @staticmethod
    def _run(rng: random.Random, resource_id: str, opener: str, args: dict | None = None) -> str:
        reason = {"math_answer": "compare final answers with the reference",
                  "math_extract": "see whether the final answers differ",
                  "code_tests": "run the tests", "code_examples": "run the prompt's examples as tests",
                  "instruction_checks": "verify each explicit constraint",
                  "reference_match": "compare with the reference"}[opener]
        call_args: dict[str, Any] = {"resource_id": resource_id, "reason": reason}
        if args:
            call_args["args"] = args
        return rng.choice(OPENERS[opener]) + "\n" + tool_call("run_resource", **call_args)

    @staticmethod
    def _skill_for(ep: Episode) -> str:
        names = ep.env.skills.names()
        if ep.task.domain == "instruction_following" and "instruction_following" in names:
            return "instruction_following"
        return "reward_judge" if "reward_judge" in names else names[0]

    # -- decisions ---------------------------------------------------------------------------------
    def _easy(self, ep: Episode) -> str | None:
        """Empty candidates are decided directly, as the skill's easy-case rule says."""
        cands = ep.env.candidates
        empty = [lab for lab, text in cands.items() if not text.strip()]
        if ep.task.kind != "pairwise" or len(empty) != 1:
            return None
        winner = next(lab for lab in cands if lab not in empty)
        reason = f"Response {empty[0]} is empty, so {winner} wins without further checks."
        return reason + "\n" + tool_call("final_answer", verdict=winner, confidence=0.97, used_resources=[],
                                         reason=reason)

    def _conclude(self, ep: Episode, name: str, result: Any, rng: random.Random) -> str:
        winners, detail = evidence_winners(name, result)
        if winners is None or len(winners) != 1:
            return self._undecided(ep, detail or "The evidence does not separate the responses.")
        winner = winners[0]
        used = [rid for rid in ep.env.stats.used_resources if not rid.startswith(("skill:", "sample."))]
        confidence = round(rng.uniform(0.88, 0.97), 2)
        return f"{detail} So {winner} is better.\n" + tool_call(
            "final_answer", verdict=winner, confidence=confidence, used_resources=used,
            reason=SHORT_REASONS.get(name, "decisive hard evidence").format(w=winner))

    @staticmethod
    def _undecided(ep: Episode, why: str) -> str:
        verdict = "tie" if ep.task.kind == "pairwise" else ep.env.labels[0]
        return why + "\n" + tool_call("final_answer", verdict=verdict, confidence=0.3,
                                      used_resources=list(ep.env.stats.used_resources), reason=why)


def evidence_winners(name: str, result: Any) -> tuple[list[str] | None, str]:
    """The labels the evidence favours, and a one-sentence reading of it (None: not decisive)."""
    if isinstance(result, SandboxResult):
        return _step_check_winners(result)
    if not isinstance(result, VerifierResult):
        return None, ""
    per = result.per_candidate
    if result.runner == "math_answer":
        good = [lab for lab, f in per.items() if f.get("matches_reference")]
        bad = [f"{lab} ({per[lab].get('final_answer')})" for lab in per if lab not in good]
        detail = (f"{_join(good)} reach{'es' if len(good) == 1 else ''} the reference answer while "
                  f"{_join(bad)} do{'es' if len(bad) == 1 else ''} not.") if good and bad else ""
        return (good if result.decisive else None), detail
    if result.runner == "code_tests":
        good = [lab for lab, f in per.items() if f.get("passed")]
        bad = [lab for lab in per if lab not in good]
        detail = (f"{_join(good)} pass{'es' if len(good) == 1 else ''} all tests; {_join(bad)} "
                  f"fail{'s' if len(bad) == 1 else ''}.") if good and bad else ""
        return (good if result.decisive else None), detail
    if result.runner == "instruction_checks":
        counts = {lab: int(str(f.get("passed", "0/1")).split("/")[0]) for lab, f in per.items()}
        best = max(counts.values())
        good = [lab for lab, n in counts.items() if n == best]
        failed = {lab: f.get("failed") or [] for lab, f in per.items() if lab not in good}
        detail = "; ".join(f"{lab} violates {', '.join(x.split(' (')[0] for x in v)}" for lab, v in failed.items())
        detail = (f"{_join(good)} satisfies every checked constraint" if all(per[g].get("all_passed") for g in good)
                  else f"{_join(good)} satisfies the most constraints") + (f", while {detail}." if detail else ".")
        return (good if result.decisive else None), detail
    if result.runner == "reference_match":
        good = [lab for lab, f in per.items() if f.get("matches")]
        bad = [lab for lab in per if lab not in good]
        detail = f"{_join(good)} agrees with the reference and {_join(bad)} does not." if good and bad else ""
        return (good if result.decisive else None), detail
    return None, ""


def _step_check_winners(result: SandboxResult) -> tuple[list[str] | None, str]:
    try:
        report = json.loads(result.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return None, "The step check did not run."
    wrong = {lab: r["wrong_steps"] for lab, r in report.items() if r["wrong_steps"]}
    clean = [lab for lab, r in report.items() if not r["wrong_steps"] and r["steps_checked"]]
    if not wrong or not clean:
        return None, "Every written calculation checks out, so the step check does not separate them."
    bad = "; ".join(f"{lab} has {_short(', '.join(w))}" for lab, w in wrong.items())
    return clean, f"All arithmetic steps of {_join(clean)} are right, while {bad}."


def asserts_from_examples(prompt: str) -> str | None:
    """Asserts from doctest-style (`>>> f(1)` then `2`) or `f(1) == 2` examples in a prompt."""
    asserts = [f"assert {m['call']} == {m['out'].strip()}" for m in _EXAMPLE.finditer(prompt)]
    if not asserts:
        asserts = [f"assert {m['call']} == {m['out'].strip().rstrip('.')}" for m in _ARROW.finditer(prompt)]
    valid = []
    for line in asserts:
        try:
            compile(line, "<example>", "exec")
            valid.append(line)
        except SyntaxError:
            continue
    return "\n".join(valid) + "\n" if valid else None


def _join(labels: list[str]) -> str:
    return labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + " and " + labels[-1]


def _short(text: str, limit: int = 120) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."
